"""Sealed fields: values encrypted for a subject (a user, a customer) with AES-256-GCM, so
that shredding the subject makes every one of them unreadable, wherever they were copied.

**Envelope encryption.** The app gives the store a keyset when it opens it: key ids and
their 32 bytes, as a ``{id: bytes}`` mapping (:meth:`Options.sealing_keys
<hardstore.Options.sealing_keys>`) or a callable that looks a key up by id
(:meth:`Options.sealing_key_source <hardstore.Options.sealing_key_source>`). The store
never writes a key to its file, only each key's status and a check value. One key of
the store's keyset is the primary. Each subject gets its own random data key, stored
wrapped (encrypted) by the primary; fields are sealed with the subject's data key.

- **Seal and open**: :meth:`Sealing.seal` returns an opaque blob (bytes) to keep
  anywhere: app state, a dead letter, an idempotency body, an export.
  :meth:`Transaction.kv_put_sealed <hardstore.Transaction.kv_put_sealed>` seals a value
  inside a commit (a new subject's data key commits with it).
- **Shred** (:meth:`Sealing.shred`) destroys the subject's wrapped data key, durably and
  audited: every field sealed for it, every copy, raises :class:`~hardstore.Shredded`
  from then on. The audit log still verifies (its hashes never covered a plaintext).
- **Rotation**: :meth:`Sealing.add_key` a new key (its bytes given to the options),
  :meth:`Sealing.set_primary` it (new data keys are wrapped by it), then
  :meth:`Sealing.rewrap` in bounded steps until ``remaining`` is 0 (maintenance does
  steps too); then disable or destroy the old key. :meth:`Sealing.destroy_key` raises
  :class:`~hardstore.ConfirmationRequired` while it would make more subjects unreadable
  than ``confirm``.

Errors: :class:`~hardstore.Shredded` (the subject was shredded),
:class:`~hardstore.KeyUnavailable` (the key wrapping a data key was not given, is
disabled or destroyed, or the bytes given are another key than the one the store knows
by that id), :class:`~hardstore.SealedInvalid` (bytes that are not an intact blob of
this store: cut, edited, foreign). Every key change and shred appends an audit entry
under tenant ``hardstore`` (actions ``sealing.key_add``, ``sealing.key_primary``,
``sealing.key_disable``, ``sealing.key_enable``, ``sealing.key_destroy``,
``sealing.shred``).
"""

from __future__ import annotations

import ctypes
import enum
import operator
from collections.abc import Mapping
from ctypes import byref, c_bool, c_uint64
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Union

from ._common import StoreBound
from ._lib import lib, take_bytes, to_bytes, to_text, to_u64
from ._structs import (
    hardstore_bytes,
    hardstore_key_callback,
    hardstore_rewrap_report,
    hardstore_sealing_key,
    hardstore_sealing_keys,
)
from .errors import InvalidArgument, Result

Text = Union[str, bytes]
Data = Union[bytes, bytearray, memoryview, str]
Blob = Union[bytes, bytearray, memoryview]
KeyBytes = Union[bytes, bytearray, memoryview]
#: A key source: called with a key id, returns its 32 bytes, or ``None`` when it does
#: not have that key.
KeySource = Callable[[int], Optional[KeyBytes]]

#: Longest subject, in bytes (``HARDSTORE_LIMIT_SEAL_SUBJECT``).
MAX_SUBJECT = 128
#: Longest plaintext, in bytes (``HARDSTORE_LIMIT_SEAL_PLAINTEXT``, 16 MiB).
MAX_PLAINTEXT = 16 << 20
#: Bytes of a sealing key (``HARDSTORE_SEALING_KEY_LEN``).
KEY_LEN = 32

_U32_MAX = 0xFFFF_FFFF


class KeyStatus(enum.IntEnum):
    """A key's state in the store's keyset (``HARDSTORE_KEY_ENABLED``, ``_DISABLED``,
    ``_DESTROYED``): ``ENABLED`` wraps (as the primary) and unwraps data keys,
    ``DISABLED`` is refused until enabled again, ``DESTROYED`` is refused for ever."""

    ENABLED = 0
    DISABLED = 1
    DESTROYED = 2


@dataclass(frozen=True)
class KeyInfo:
    """A key of the store's keyset (:meth:`Sealing.keys`): its ``id``, ``status``,
    whether it is the ``primary`` (new data keys are wrapped by it), whether the key
    source gives the right bytes for it now (``available``), when it was added
    (``added_at``, µs since the epoch, the store's clock) and how many live subjects'
    data keys it wraps (``subjects``)."""

    id: int
    status: KeyStatus
    primary: bool
    available: bool
    added_at: int
    subjects: int


@dataclass(frozen=True)
class RewrapReport:
    """What one :meth:`Sealing.rewrap` step did: data keys it re-wrapped by the primary
    (``rewrapped``) and live subjects still wrapped by another key (``remaining``; run
    again until it is 0)."""

    rewrapped: int
    remaining: int


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(Result.INVALID_ARGUMENT, message, None)


def key_id_arg(value: Any, what: str = "key id") -> int:
    """A key id (a ``uint32_t``), else :class:`~hardstore.InvalidArgument` (ctypes would
    wrap a negative or too large number silently); ``TypeError`` for a non-integer."""
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None
    if not 0 <= n <= _U32_MAX:
        raise _invalid(f"{what} must be 0 to 2**32-1, not {n}")
    return n


def key_bytes_arg(value: Any, what: str = "sealing key") -> bytes:
    """A key's bytes (``bytes``, ``bytearray`` or ``memoryview``; the library judges the
    length). A ``str`` is refused with ``TypeError``: a key is bytes, not text."""
    if isinstance(value, str) or not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be {KEY_LEN} bytes, not {type(value).__name__}")
    return bytes(value)


def keyset_arg(keys: Any) -> List[Any]:
    """``(id, bytes)`` pairs of a ``{id: bytes}`` mapping, each checked."""
    if not isinstance(keys, Mapping):
        raise TypeError(f"sealing keys must be a mapping of id to bytes, not {type(keys).__name__}")
    return [(key_id_arg(k), key_bytes_arg(v, f"sealing key {k}")) for k, v in keys.items()]


def make_key_callback(source: KeySource) -> Any:
    """A C ``hardstore_key_callback`` calling ``source(key_id)``. It never raises into
    the library: an exception, ``None``, or anything but 32 bytes means "no such key"
    (the call needing the key then raises :class:`~hardstore.KeyUnavailable`).

    The returned ctypes object must stay alive while any store opened with it is open.
    """
    if not callable(source):
        raise TypeError(f"a sealing key source must be callable, not {type(source).__name__}")

    def trampoline(_user: Any, key_id: int, out_key: Any) -> bool:
        try:
            key = source(int(key_id))
            if not isinstance(key, (bytes, bytearray, memoryview)) or not out_key:
                return False
            data = bytes(key)
            if len(data) != KEY_LEN:
                return False
            ctypes.memmove(out_key, data, KEY_LEN)
            return True
        except BaseException:  # never unwind into the library
            return False

    return hardstore_key_callback(trampoline)


class Sealing(StoreBound):
    """Sealed fields of a store (``store.sealing``): the keyset (add, make primary,
    disable, enable, destroy, list), seal and open, shred, and the re-wrap after a
    rotation. See the module docs.

    A subject is 1..=128 bytes of UTF-8 (``str`` or ``bytes``); a plaintext at most
    16 MiB (``bytes``, ``bytearray``, ``memoryview``, or ``str`` sealed as UTF-8). Empty
    subjects raise :class:`~hardstore.InvalidArgument`, longer ones
    :class:`~hardstore.TooLong`, bad UTF-8 :class:`~hardstore.InvalidUtf8`. Key ids are
    ``uint32_t``."""

    # The keyset
    def add_key(self, key_id: int) -> None:
        """Adds key ``key_id`` (its bytes must come from the options' key source) to the
        store's keyset, durably and audited; the first key added becomes the primary.
        :class:`~hardstore.KeyUnavailable` when the source does not give it,
        :class:`~hardstore.InvalidArgument` when it is in the keyset already."""
        lib.hardstore_sealing_add_key(self._h, key_id_arg(key_id))

    def set_primary(self, key_id: int) -> None:
        """Makes key ``key_id`` (enabled and available) the primary, durably and audited:
        new data keys are wrapped by it; :meth:`rewrap` moves the existing ones."""
        lib.hardstore_sealing_set_primary(self._h, key_id_arg(key_id))

    def disable_key(self, key_id: int) -> None:
        """Disables key ``key_id`` (not the primary: :class:`~hardstore.InvalidArgument`),
        durably and audited: the subjects it wraps cannot be read until
        :meth:`enable_key`. :class:`~hardstore.NotFound` when it is not in the keyset."""
        lib.hardstore_sealing_disable_key(self._h, key_id_arg(key_id))

    def enable_key(self, key_id: int) -> None:
        """Enables a disabled key again, durably and audited
        (:class:`~hardstore.KeyUnavailable` for a destroyed one)."""
        lib.hardstore_sealing_enable_key(self._h, key_id_arg(key_id))

    def destroy_key(self, key_id: int, confirm: int = 0) -> int:
        """Destroys key ``key_id`` (not the primary) for ever, durably and audited, and
        returns how many subjects it made unreadable. When that is more than
        ``confirm`` it changes nothing and raises
        :class:`~hardstore.ConfirmationRequired` (the message names the count);
        :meth:`rewrap` first to lose none."""
        lost = c_uint64(0)
        lib.hardstore_sealing_destroy_key(self._h, key_id_arg(key_id),
                                          to_u64(confirm, "confirm"), byref(lost))
        return lost.value

    def keys(self) -> List[KeyInfo]:
        """The store's keyset, in id order: each key's status, whether it is the primary
        and available, when it was added and the live subjects it wraps."""
        p = ctypes.POINTER(hardstore_sealing_keys)()
        lib.hardstore_sealing_key_list(self._h, byref(p))
        try:
            out = []
            k = hardstore_sealing_key()
            for i in range(lib.hardstore_sealing_key_list_len(p)):
                lib.hardstore_sealing_key_list_get(p, i, byref(k))
                out.append(KeyInfo(k.id, KeyStatus(k.status), bool(k.primary),
                                   bool(k.available), k.added_at, k.subjects))
            return out
        finally:
            lib.hardstore_sealing_key_list_free(p)

    def rewrap(self, step: int = 1000) -> RewrapReport:
        """Re-wraps up to ``step`` data keys wrapped by keys other than the primary (one
        durable write) and returns a :class:`RewrapReport`; run it until ``remaining``
        is 0 after a :meth:`set_primary`. :class:`~hardstore.KeyUnavailable` when the
        store has no key yet."""
        out = hardstore_rewrap_report()
        lib.hardstore_sealing_rewrap(self._h, to_u64(step, "step"), byref(out))
        return RewrapReport(out.rewrapped, out.remaining)

    # Fields
    def seal(self, subject: Text, data: Data) -> bytes:
        """Seals ``data`` for ``subject`` and returns the blob (about 40 bytes more than
        the plaintext). A new subject's data key is made durably first.
        :class:`~hardstore.KeyUnavailable` when the store has no primary key available."""
        s, d = to_text(subject, "subject"), to_bytes(data, "data")
        out = ctypes.POINTER(hardstore_bytes)()
        try:
            lib.hardstore_sealing_seal(self._h, s, len(s), d, len(d), byref(out))
        finally:
            blob = take_bytes(out)
        return blob if blob is not None else b""

    def open(self, blob: Blob) -> bytes:
        """The plaintext of a blob from :meth:`seal` (or
        :meth:`~hardstore.Transaction.kv_put_sealed`). :class:`~hardstore.Shredded` once
        its subject was shredded, :class:`~hardstore.SealedInvalid` for bytes that are
        not an intact blob of this store, :class:`~hardstore.KeyUnavailable` when the
        key wrapping its data key is not available."""
        if isinstance(blob, str) or not isinstance(blob, (bytes, bytearray, memoryview)):
            raise TypeError(f"a sealed blob is bytes, not {type(blob).__name__}")
        b = bytes(blob)
        out = ctypes.POINTER(hardstore_bytes)()
        try:
            lib.hardstore_sealing_open(self._h, b, len(b), byref(out))
        finally:
            plain = take_bytes(out)
        return plain if plain is not None else b""

    def shred(self, subject: Text) -> bool:
        """Shreds ``subject``, durably and audited: every field sealed for it, every
        copy, raises :class:`~hardstore.Shredded` from now on. Returns whether there was
        a live data key to destroy (``False``: never sealed for, or shredded already).
        A later seal for the subject starts afresh with a new data key."""
        s = to_text(subject, "subject")
        shredded = c_bool(False)
        lib.hardstore_sealing_shred(self._h, s, len(s), byref(shredded))
        return shredded.value
