"""Exceptions raised by hardstore, one class per family of ``hardstore_result`` codes.

Every exception derives from :class:`HardstoreError`, which carries the numeric
``code`` (the C ``hardstore_result`` value), its C name (``code_name``), the library's
``message`` for the failed call and the C ``function`` that failed (when known).
"""

from __future__ import annotations

import enum
from typing import Any, Dict, Optional, Tuple, Type


class Result(enum.IntEnum):
    """The C ``enum hardstore_result`` (values are stable, never renumbered)."""

    OK = 0
    NULL_ARGUMENT = 1
    INVALID_ARGUMENT = 2
    INVALID_UTF8 = 3
    TOO_LONG = 4
    NOT_FOUND = 5
    NOT_A_STORE = 6
    FORMAT_TOO_NEW = 7
    ALREADY_OPEN = 8
    READ_ONLY = 9
    POISONED = 10
    CLOSED = 11
    CORRUPTED = 12
    PROOF_INVALID = 13
    CHECKPOINT_INVALID = 14
    IO = 15
    STORAGE = 16
    PANIC = 17
    BUFFER_TOO_SMALL = 18
    UNKNOWN_RECORD_VERSION = 19
    FENCED = 20
    LIMIT_REACHED = 21
    WRONG_KEY = 22
    CONFIRMATION_REQUIRED = 23
    SHREDDED = 24
    KEY_UNAVAILABLE = 25
    SEALED_INVALID = 26
    SIGNATURE_INVALID = 27


class HardstoreError(Exception):
    """Base class of every hardstore error.

    Attributes:
        code: the ``hardstore_result`` value (an ``int``; see :class:`Result`).
        message: the library's message for the failure (may be empty).
        function: the C function that failed, when the error came from one.
    """

    code: int = -1

    def __init__(self, code: int, message: str = "", function: Optional[str] = None) -> None:
        super().__init__(code, message, function)
        self.code = int(code)
        self.message = message
        self.function = function

    @property
    def code_name(self) -> str:
        """The C name of :attr:`code`, such as ``"HARDSTORE_NOT_FOUND"``."""
        try:
            return "HARDSTORE_" + Result(self.code).name
        except ValueError:
            return "HARDSTORE_UNKNOWN_RESULT"

    def __str__(self) -> str:
        where = f" (in {self.function})" if self.function else ""
        text = f": {self.message}" if self.message else ""
        return f"{self.code_name}{text}{where}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, {self.function!r})"

    def __reduce__(self) -> Tuple[Any, ...]:  # keeps the subclass and fields when pickled
        return (type(self), (self.code, self.message, self.function))


class InvalidArgument(HardstoreError, ValueError):
    """An argument was rejected: empty where required, out of range or malformed
    (``HARDSTORE_INVALID_ARGUMENT``; also the base of the argument errors below)."""


class NullArgument(InvalidArgument):
    """A required pointer was NULL (``HARDSTORE_NULL_ARGUMENT``); a binding bug."""


class InvalidUtf8(InvalidArgument):
    """A string argument was not valid UTF-8 (``HARDSTORE_INVALID_UTF8``)."""


class TooLong(InvalidArgument):
    """A field exceeded its documented limit (``HARDSTORE_TOO_LONG``)."""


class NotFound(HardstoreError, LookupError):
    """The record does not exist (``HARDSTORE_NOT_FOUND``)."""


class NotAStore(HardstoreError):
    """The file is not a hardstore store; it was left untouched (``HARDSTORE_NOT_A_STORE``)."""


class FormatTooNew(HardstoreError):
    """The store was written by a newer format version (``HARDSTORE_FORMAT_TOO_NEW``)."""


class AlreadyOpen(HardstoreError):
    """Another process or handle has the file open (``HARDSTORE_ALREADY_OPEN``)."""


class ReadOnly(HardstoreError):
    """The store is read-only (``HARDSTORE_READ_ONLY``)."""


class Poisoned(HardstoreError):
    """An earlier I/O failure poisoned the store; reopen it (``HARDSTORE_POISONED``)."""


class StoreClosed(HardstoreError):
    """The store (or the object that needed it) was closed (``HARDSTORE_CLOSED``)."""


class Corrupted(HardstoreError):
    """The file's contents are damaged (``HARDSTORE_CORRUPTED``)."""


class ProofInvalid(HardstoreError):
    """A proof did not verify or was malformed (``HARDSTORE_PROOF_INVALID``)."""


class CheckpointInvalid(HardstoreError):
    """A checkpoint was malformed or its MAC did not match (``HARDSTORE_CHECKPOINT_INVALID``)."""


class IoError(HardstoreError):
    """An I/O error (``HARDSTORE_IO``)."""


class StorageError(HardstoreError):
    """Another storage-layer error (``HARDSTORE_STORAGE``)."""


class Panic(HardstoreError):
    """Rust code panicked; the call had no acknowledged effect (``HARDSTORE_PANIC``)."""


class BufferTooSmall(HardstoreError):
    """An output buffer was too small (``HARDSTORE_BUFFER_TOO_SMALL``); handled inside
    the binding, normally never seen by callers."""


class UnknownRecordVersion(HardstoreError):
    """A stored record has a format version this build cannot read
    (``HARDSTORE_UNKNOWN_RECORD_VERSION``)."""


class Fenced(HardstoreError):
    """A lease holder was fenced off: an idempotency token whose lease was taken over
    or whose key is gone, a stale dead-letter claim, or a webhook delivery whose lease
    lapsed (claimed again) or that was acked or failed already. Nothing changed
    (``HARDSTORE_FENCED``)."""


class LimitReached(HardstoreError):
    """A documented cap was reached, such as the number of restore points. Nothing
    changed (``HARDSTORE_LIMIT_REACHED``)."""


class WrongKey(HardstoreError):
    """A backup is encrypted and no key, or another key than its own, was given
    (``HARDSTORE_WRONG_KEY``)."""


class ConfirmationRequired(HardstoreError):
    """A change would delete stored data and the count given to confirm it was too
    small; the message names the count. Nothing changed
    (``HARDSTORE_CONFIRMATION_REQUIRED``)."""


class Shredded(HardstoreError):
    """A sealed field's subject was shredded: the field can never be read again
    (``HARDSTORE_SHREDDED``)."""


class KeyUnavailable(HardstoreError):
    """A sealing key is not available: not given to the store, disabled, destroyed, or
    other bytes than the key the store knows by that id. Nothing changed
    (``HARDSTORE_KEY_UNAVAILABLE``)."""


class SealedInvalid(HardstoreError):
    """Bytes given as a sealed field are not one: cut, edited, or of another store.
    Nothing changed (``HARDSTORE_SEALED_INVALID``)."""


class SignatureInvalid(HardstoreError):
    """A webhook's signature headers did not verify: a header missing, given twice or
    malformed, a timestamp outside the tolerance, or no signature matching a secret; the
    message says which (``HARDSTORE_SIGNATURE_INVALID``)."""


_BY_CODE: Dict[int, Type[HardstoreError]] = {
    Result.NULL_ARGUMENT: NullArgument,
    Result.INVALID_ARGUMENT: InvalidArgument,
    Result.INVALID_UTF8: InvalidUtf8,
    Result.TOO_LONG: TooLong,
    Result.NOT_FOUND: NotFound,
    Result.NOT_A_STORE: NotAStore,
    Result.FORMAT_TOO_NEW: FormatTooNew,
    Result.ALREADY_OPEN: AlreadyOpen,
    Result.READ_ONLY: ReadOnly,
    Result.POISONED: Poisoned,
    Result.CLOSED: StoreClosed,
    Result.CORRUPTED: Corrupted,
    Result.PROOF_INVALID: ProofInvalid,
    Result.CHECKPOINT_INVALID: CheckpointInvalid,
    Result.IO: IoError,
    Result.STORAGE: StorageError,
    Result.PANIC: Panic,
    Result.BUFFER_TOO_SMALL: BufferTooSmall,
    Result.UNKNOWN_RECORD_VERSION: UnknownRecordVersion,
    Result.FENCED: Fenced,
    Result.LIMIT_REACHED: LimitReached,
    Result.WRONG_KEY: WrongKey,
    Result.CONFIRMATION_REQUIRED: ConfirmationRequired,
    Result.SHREDDED: Shredded,
    Result.KEY_UNAVAILABLE: KeyUnavailable,
    Result.SEALED_INVALID: SealedInvalid,
    Result.SIGNATURE_INVALID: SignatureInvalid,
}


def error_class(code: int) -> Type[HardstoreError]:
    """The exception class for a ``hardstore_result`` code (``HardstoreError`` for an
    unknown one)."""
    return _BY_CODE.get(int(code), HardstoreError)


def make_error(code: int, message: str = "", function: Optional[str] = None) -> HardstoreError:
    """An exception instance of the right class for ``code``."""
    return error_class(code)(code, message, function)


__all__ = [
    "Result",
    "HardstoreError",
    "InvalidArgument",
    "NullArgument",
    "InvalidUtf8",
    "TooLong",
    "NotFound",
    "NotAStore",
    "FormatTooNew",
    "AlreadyOpen",
    "ReadOnly",
    "Poisoned",
    "StoreClosed",
    "Corrupted",
    "ProofInvalid",
    "CheckpointInvalid",
    "IoError",
    "StorageError",
    "Panic",
    "BufferTooSmall",
    "UnknownRecordVersion",
    "Fenced",
    "LimitReached",
    "WrongKey",
    "ConfirmationRequired",
    "Shredded",
    "KeyUnavailable",
    "SealedInvalid",
    "SignatureInvalid",
    "error_class",
    "make_error",
]
