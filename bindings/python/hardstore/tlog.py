"""C2SP signed checkpoints of the audit log: Ed25519 note keys (``vkey`` / ``skey``
text), checkpoints signed by the log, cosigned by witnesses, verified offline, and
offline proof bundles (``tlog-proof``) that carry an entry's leaf bytes.

A SHA-256 store (``Options(audit_hash=AUDIT_HASH_SHA256)``) builds RFC 6962's tree, so
its checkpoints and proofs verify with the transparency-log ecosystem's tools too."""

from __future__ import annotations

import ctypes
from ctypes import byref, c_size_t, c_uint64
from dataclasses import dataclass
from typing import Any, Iterable, Union

from ._lib import lib, take_bytes, to_bytes, to_text
from ._structs import hardstore_bytes, hardstore_note_signer

#: The BLAKE3 audit tree (the default; ``HARDSTORE_AUDIT_HASH_BLAKE3``).
AUDIT_HASH_BLAKE3 = 1
#: The SHA-256 audit tree, RFC 6962's (``HARDSTORE_AUDIT_HASH_SHA256``).
AUDIT_HASH_SHA256 = 2

_BytesPtr = ctypes.POINTER(hardstore_bytes)
Text = Union[str, bytes]


def _witnesses(witnesses: Iterable[Text]) -> bytes:
    return b"\n".join(to_bytes(w, "witness") for w in witnesses)


class NoteSigner:
    """An Ed25519 note key: a log's (signs checkpoints) or, with ``witness=True``, a
    witness's (cosigns them). Its private key text (:attr:`skey`) is a secret; its
    public key text (:attr:`vkey`) is what verifiers are given."""

    def __init__(self, handle: Any) -> None:
        self._ptr = handle

    @classmethod
    def generate(cls, name: Text, *, witness: bool = False) -> "NoteSigner":
        """A new key named ``name`` (no spaces, no ``+``; a schema-less URL is
        recommended) from the OS's CSPRNG."""
        n = to_text(name, "name")
        ptr = ctypes.POINTER(hardstore_note_signer)()
        lib.hardstore_note_signer_generate(n, len(n), bool(witness), byref(ptr))
        return cls(ptr)

    @classmethod
    def from_skey(cls, skey: Text) -> "NoteSigner":
        """The key of a ``PRIVATE+KEY+...`` text."""
        k = to_text(skey, "skey")
        ptr = ctypes.POINTER(hardstore_note_signer)()
        lib.hardstore_note_signer_from_skey(k, len(k), byref(ptr))
        return cls(ptr)

    def _live(self) -> Any:
        if not self._ptr:
            raise ValueError("this NoteSigner was closed")
        return self._ptr

    @property
    def skey(self) -> str:
        """The private key text (``PRIVATE+KEY+<name>+<id>+<key>``): a secret."""
        out = _BytesPtr()
        lib.hardstore_note_signer_skey(self._live(), byref(out))
        return (take_bytes(out) or b"").decode()

    @property
    def vkey(self) -> str:
        """The public key text (``<name>+<id>+<key>``)."""
        out = _BytesPtr()
        lib.hardstore_note_signer_vkey(self._live(), byref(out))
        return (take_bytes(out) or b"").decode()

    def close(self) -> None:
        """Frees the key now (it is freed when collected otherwise)."""
        if self._ptr:
            lib.hardstore_note_signer_free(self._ptr)
            self._ptr = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # the library may already be unloaded at exit
            pass

    def __repr__(self) -> str:
        return f"NoteSigner({self.vkey.split('+')[0]!r})"


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """What :func:`verify_checkpoint` proved: the tree's size and root, and how many of
    the given witnesses cosigned."""

    size: int
    root: bytes
    cosigned: int


def cosign(note: Text, witness: NoteSigner, time: int) -> str:
    """The checkpoint note with ``witness``'s cosignature at ``time`` (seconds since the
    epoch) added. The caller, as the witness, has checked its consistency first."""
    n = to_bytes(note, "note")
    out = _BytesPtr()
    lib.hardstore_checkpoint_note_cosign(n, len(n), witness._live(), int(time), byref(out))
    return (take_bytes(out) or b"").decode()


def verify_checkpoint(note: Text, log_vkey: Text, witnesses: Iterable[Text] = (),
                      quorum: int = 0) -> VerifiedCheckpoint:
    """Checks a checkpoint note's log signature and at least ``quorum`` cosignatures of
    ``witnesses`` (their vkeys). Raises :class:`~hardstore.SignatureInvalid` or
    :class:`~hardstore.CheckpointInvalid`."""
    n = to_bytes(note, "note")
    v = to_text(log_vkey, "log_vkey")
    w = _witnesses(witnesses)
    size, cos = c_uint64(0), c_size_t(0)
    root = (ctypes.c_uint8 * 32)()
    lib.hardstore_checkpoint_note_verify(n, len(n), v, len(v), w, len(w), int(quorum),
                                         byref(size), root, byref(cos))
    return VerifiedCheckpoint(size.value, bytes(root), cos.value)


@dataclass(frozen=True)
class VerifiedBundle:
    """What :func:`verify_bundle` proved: entry ``index`` has these leaf bytes."""

    index: int
    leaf_bytes: bytes


def verify_bundle(bundle: Text, log_vkey: Text, witnesses: Iterable[Text] = (),
                  quorum: int = 0, hash: int = AUDIT_HASH_SHA256) -> VerifiedBundle:
    """Verifies a ``tlog-proof`` bundle offline: the log's signature, a quorum of
    cosignatures, and the entry's inclusion in the tree of ``hash``."""
    b = to_bytes(bundle, "bundle")
    v = to_text(log_vkey, "log_vkey")
    w = _witnesses(witnesses)
    index = c_uint64(0)
    out = _BytesPtr()
    lib.hardstore_proof_bundle_verify(b, len(b), v, len(v), w, len(w), int(quorum), int(hash),
                                      byref(index), byref(out))
    return VerifiedBundle(index.value, take_bytes(out) or b"")


def sign_checkpoint(store_handle: Any, signer: NoteSigner) -> str:
    out = _BytesPtr()
    lib.hardstore_audit_checkpoint_sign(store_handle, signer._live(), byref(out))
    return (take_bytes(out) or b"").decode()


def proof_bundle(store_handle: Any, seq: int, note: Text) -> str:
    n = to_bytes(note, "note")
    out = _BytesPtr()
    lib.hardstore_audit_proof_bundle(store_handle, int(seq), n, len(n), byref(out))
    return (take_bytes(out) or b"").decode()


def store_hash(store_handle: Any) -> int:
    h = ctypes.c_uint32(0)
    lib.hardstore_audit_hash(store_handle, byref(h))
    return h.value


__all__ = [
    "AUDIT_HASH_BLAKE3",
    "AUDIT_HASH_SHA256",
    "NoteSigner",
    "VerifiedBundle",
    "VerifiedCheckpoint",
    "cosign",
    "verify_bundle",
    "verify_checkpoint",
]

