"""The tamper-evident, append-only audit log: append, read, query, Merkle proofs,
checkpoints, verification, and retention (pruning old payloads, keeping their leaf
hashes, after exporting them to a self-proving archive)."""

from __future__ import annotations

import ctypes
import math
from contextlib import contextmanager
from ctypes import byref, c_size_t, c_uint64
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from ._common import Durability, PagedQuery, StoreBound
from ._lib import (
    UINT64_MAX,
    borrowed,
    borrowed_field,
    fixed,
    lib,
    take_bytes,
    to_path,
    to_text,
    to_u64,
    view_bytes,
)
from ._structs import (
    hardstore_audit_entry,
    hardstore_audit_event,
    hardstore_audit_iter,
    hardstore_audit_query,
    hardstore_bytes,
    hardstore_checkpoint_info,
    hardstore_verify_report,
    u8p,
)
from .errors import InvalidArgument, Result

Text = Union[str, bytes]

HASH_LEN = 32
CHECKPOINT_LEN = 102

FIELD_TENANT = 0
FIELD_ACTOR = 1
FIELD_ACTION = 2
FIELD_RESOURCE = 3
FIELD_OUTCOME = 4
FIELD_IP = 5
FIELD_USER_AGENT = 6

#: Prune mode: entries with a seq below the value (``HARDSTORE_PRUNE_BELOW_SEQ``).
PRUNE_BELOW_SEQ = 0
#: Prune mode: entries appended at least the value (microseconds) ago
#: (``HARDSTORE_PRUNE_OLDER_THAN``).
PRUNE_OLDER_THAN = 1

_US = timedelta(microseconds=1)

_BytesPtr = ctypes.POINTER(hardstore_bytes)


# --- Events and entries ---------------------------------------------------------------


@dataclass
class AuditEvent:
    """An audit event to append. ``tenant`` (1..=128 bytes) and ``action`` (1..=128
    bytes) are required; ``actor`` (256), ``resource`` (1024), ``outcome`` (64), ``ip``
    (an IPv4 or IPv6 address in text form), ``user_agent`` (512) and up to 64
    ``details`` pairs (key 1..=128 bytes, value up to 4096) are optional. Strings are
    UTF-8; ``bytes`` are passed through unchanged."""

    tenant: Text
    action: Text
    actor: Optional[Text] = None
    resource: Optional[Text] = None
    outcome: Optional[Text] = None
    ip: Optional[Text] = None
    user_agent: Optional[Text] = None
    details: Union[Mapping[Text, Text], Sequence[Tuple[Text, Text]]] = field(default_factory=tuple)

    @contextmanager
    def _handle(self) -> Iterator[Any]:
        """A new ``hardstore_audit_event`` with these fields, freed on exit."""
        tenant = to_text(self.tenant, "tenant")
        action = to_text(self.action, "action")
        ev = ctypes.POINTER(hardstore_audit_event)()
        lib.hardstore_audit_event_new(tenant, len(tenant), action, len(action), byref(ev))
        try:
            for value, setter in (
                (self.actor, lib.hardstore_audit_event_set_actor),
                (self.resource, lib.hardstore_audit_event_set_resource),
                (self.outcome, lib.hardstore_audit_event_set_outcome),
                (self.ip, lib.hardstore_audit_event_set_ip),
                (self.user_agent, lib.hardstore_audit_event_set_user_agent),
            ):
                if value is not None:
                    data = to_text(value)
                    setter(ev, data, len(data))
            pairs = self.details.items() if isinstance(self.details, Mapping) else self.details
            for key, value in pairs:
                k, v = to_text(key, "detail key"), to_text(value, "detail value")
                lib.hardstore_audit_event_add_detail(ev, k, len(k), v, len(v))
            yield ev
        finally:
            lib.hardstore_audit_event_free(ev)


def as_event(event: Union[AuditEvent, Text], action: Optional[Text], fields_: Dict[str, Any]) -> AuditEvent:
    """``event`` itself, or an :class:`AuditEvent` built from (tenant, action, fields)."""
    if isinstance(event, AuditEvent):
        if action is not None or fields_:
            raise TypeError("pass either an AuditEvent or tenant, action and fields")
        return event
    if action is None:
        raise TypeError("action is required with a tenant")
    return AuditEvent(event, action, **fields_)


@dataclass(frozen=True)
class AuditEntry:
    """An entry read from the audit log (every string field; "" when unset). A
    ``pruned`` entry (see :meth:`Audit.prune`) keeps its seq, time, tenant, action and
    leaf hash; its actor, resource, outcome, IP, user agent and details are empty."""

    seq: int
    time_us: int
    tenant: str
    actor: str
    action: str
    resource: str
    outcome: str
    ip: str
    user_agent: str
    details: Tuple[Tuple[str, str], ...]
    leaf_hash: bytes
    pruned: bool = False
    #: The bytes the leaf hash covers, ``H(0x00 || leaf_bytes)``, laid out as
    #: ``docs/audit-entry-encoding.md`` says (empty for a pruned entry).
    leaf_bytes: bytes = b""

    @property
    def details_dict(self) -> Dict[str, str]:
        """The details as a dict (a later duplicate key wins)."""
        return dict(self.details)


def _entry(ptr: Any) -> AuditEntry:
    def text(f: int) -> str:
        return borrowed_field(lib.hardstore_audit_entry_field, ptr, f).decode("utf-8")

    details = []
    for i in range(lib.hardstore_audit_entry_detail_count(ptr)):
        kp, kn, vp, vn = u8p(), c_size_t(0), u8p(), c_size_t(0)
        lib.hardstore_audit_entry_detail(ptr, i, byref(kp), byref(kn), byref(vp), byref(vn))
        details.append((borrowed(kp, kn.value).decode("utf-8"), borrowed(vp, vn.value).decode("utf-8")))
    leaf = (ctypes.c_uint8 * HASH_LEN)()
    lib.hardstore_audit_entry_leaf_hash(ptr, leaf)
    pruned = bool(lib.hardstore_audit_entry_pruned(ptr))
    leaf_bytes = b""
    if not pruned:
        out = _BytesPtr()
        lib.hardstore_audit_entry_leaf_bytes(ptr, byref(out))
        leaf_bytes = take_bytes(out) or b""
    return AuditEntry(
        seq=lib.hardstore_audit_entry_seq(ptr),
        time_us=lib.hardstore_audit_entry_time(ptr),
        tenant=text(FIELD_TENANT),
        actor=text(FIELD_ACTOR),
        action=text(FIELD_ACTION),
        resource=text(FIELD_RESOURCE),
        outcome=text(FIELD_OUTCOME),
        ip=text(FIELD_IP),
        user_agent=text(FIELD_USER_AGENT),
        details=tuple(details),
        leaf_hash=bytes(leaf),
        pruned=pruned,
        leaf_bytes=leaf_bytes,
    )


class PruneRange(NamedTuple):
    """The entries a prune would take: ``from_`` (inclusive; where pruning stopped
    before) to ``to`` (exclusive)."""

    from_: int
    to: int

    @property
    def count(self) -> int:
        """How many entries that is."""
        return max(self.to - self.from_, 0)


Age = Union[int, float, timedelta]


def _age_us(value: Age) -> int:
    """An age (seconds as ``int`` or ``float``, or a timedelta) in whole microseconds."""
    if isinstance(value, timedelta):
        us = value // _US
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise InvalidArgument(Result.INVALID_ARGUMENT,
                                  f"older_than must be finite, not {value!r}", None)
        us = round(value * 1_000_000)
    else:
        raise TypeError("older_than must be seconds (int or float) or a timedelta, "
                        f"not {type(value).__name__}")
    return to_u64(us, "older_than")


def _prune_mode(below_seq: Optional[int], older_than: Optional[Age]) -> Tuple[int, int]:
    """(mode, value) for the C prune calls: exactly one of the two must be given."""
    if (below_seq is None) == (older_than is None):
        raise TypeError("give exactly one of below_seq= or older_than=")
    if below_seq is not None:
        return PRUNE_BELOW_SEQ, to_u64(below_seq, "below_seq")
    return PRUNE_OLDER_THAN, _age_us(older_than)  # type: ignore[arg-type]


class AppendReceipt(NamedTuple):
    """What an append returns: the entry's seq and its Merkle leaf hash."""

    seq: int
    leaf_hash: bytes


# --- Proofs, checkpoints, verification ---------------------------------------------------


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: bytes, root: bytes,
                     hash: int = 1) -> None:
    """Checks, without a store, that ``leaf_hash`` is leaf ``index`` of the tree of
    ``tree_size`` leaves with ``root`` (a tree of ``hash``: 1 BLAKE3, the default, or 2
    SHA-256). Raises :class:`~hardstore.ProofInvalid` if not (or if the proof has the
    wrong length)."""
    leaf = fixed(leaf_hash, HASH_LEN, "leaf_hash")
    root_ = fixed(root, HASH_LEN, "root")
    proof = bytes(proof)
    lib.hardstore_verify_inclusion_with_hash(int(hash), leaf, int(index), int(tree_size), proof,
                                             len(proof), root_)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: bytes,
                       hash: int = 1) -> None:
    """Checks, without a store, that the tree of ``new_size`` leaves with ``new_root``
    extends the one of ``old_size`` leaves with ``old_root`` (a tree of ``hash``).
    Raises :class:`~hardstore.ProofInvalid` if not."""
    old = fixed(old_root, HASH_LEN, "old_root")
    new = fixed(new_root, HASH_LEN, "new_root")
    proof = bytes(proof)
    lib.hardstore_verify_consistency_with_hash(int(hash), int(old_size), int(new_size), old, new,
                                               proof, len(proof))


def inclusion_proof_len(index: int, tree_size: int) -> int:
    """The length in bytes of an inclusion proof for (``index``, ``tree_size``)."""
    n = c_size_t(0)
    lib.hardstore_inclusion_proof_len(int(index), int(tree_size), byref(n))
    return n.value


@dataclass(frozen=True)
class InclusionProof:
    """Proof that entry ``seq`` is in the tree of ``tree_size`` entries (``hashes``:
    the proof's hashes concatenated)."""

    seq: int
    tree_size: int
    hashes: bytes
    #: The tree's hash: 1 BLAKE3, 2 SHA-256 (a store's proofs carry its own).
    hash: int = 1

    def verify(self, leaf_hash: bytes, root: bytes) -> None:
        """Raises :class:`~hardstore.ProofInvalid` unless the proof holds for this leaf
        hash and root."""
        verify_inclusion(leaf_hash, self.seq, self.tree_size, self.hashes, root, self.hash)

    def __bytes__(self) -> bytes:
        return self.hashes


@dataclass(frozen=True)
class ConsistencyProof:
    """Proof that the tree of ``new_size`` entries extends the one of ``old_size``."""

    old_size: int
    new_size: int
    hashes: bytes
    #: The tree's hash: 1 BLAKE3, 2 SHA-256 (a store's proofs carry its own).
    hash: int = 1

    def verify(self, old_root: bytes, new_root: bytes) -> None:
        """Raises :class:`~hardstore.ProofInvalid` unless the proof holds for these roots."""
        verify_consistency(self.old_size, self.new_size, old_root, new_root, self.hashes,
                           self.hash)

    def __bytes__(self) -> bytes:
        return self.hashes


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of the log's size and root at a time (102 bytes in ``raw``)."""

    raw: bytes
    store_id: bytes
    size: int
    time_us: int
    root: bytes
    has_mac: bool

    @classmethod
    def parse(cls, raw: bytes) -> "Checkpoint":
        """Parses a checkpoint's fields (the MAC is not checked). Raises
        :class:`~hardstore.CheckpointInvalid` when malformed."""
        raw = bytes(raw)
        info = hardstore_checkpoint_info()
        lib.hardstore_checkpoint_parse(raw, len(raw), byref(info))
        return cls(raw, bytes(info.store_id), info.size, info.time, bytes(info.root), bool(info.has_mac))

    def verify_mac(self, key: Union[bytes, str]) -> None:
        """Checks the MAC with the secret given as the store's ``audit_key``. Raises
        :class:`~hardstore.CheckpointInvalid` when it does not match or is absent."""
        k = to_text(key, "key")
        lib.hardstore_checkpoint_verify_mac(self.raw, len(self.raw), k, len(k))

    def __bytes__(self) -> bytes:
        return self.raw


@dataclass(frozen=True)
class VerifyReport:
    """What :meth:`Audit.verify` found. True in a boolean context when ``ok``."""

    size: int
    checked: int
    ok: bool
    first_bad_seq: Optional[int]
    root: bytes

    def __bool__(self) -> bool:
        return self.ok


# --- The area ---------------------------------------------------------------------------------


@contextmanager
def _query(tenant: Text, actor: Optional[Text], action: Optional[Text], since: Optional[int],
           until: Optional[int], newest_first: bool, page_size: Optional[int],
           cursor: Optional[bytes]) -> Iterator[Any]:
    t = to_text(tenant, "tenant")
    q = ctypes.POINTER(hardstore_audit_query)()
    lib.hardstore_audit_query_new(t, len(t), byref(q))
    try:
        if actor is not None:
            a = to_text(actor)
            lib.hardstore_audit_query_set_actor(q, a, len(a))
        if action is not None:
            a = to_text(action)
            lib.hardstore_audit_query_set_action(q, a, len(a))
        if since is not None or until is not None:
            lib.hardstore_audit_query_set_time_range(q, since or 0, UINT64_MAX if until is None else until)
        if newest_first:
            lib.hardstore_audit_query_set_newest_first(q, True)
        if page_size is not None:
            lib.hardstore_audit_query_set_limit(q, int(page_size))
        if cursor is not None:
            lib.hardstore_audit_query_set_cursor(q, bytes(cursor), len(cursor))
        yield q
    finally:
        lib.hardstore_audit_query_free(q)


class Audit(StoreBound):
    """The store's audit log (``store.audit``). Entries get gap-free seqs from 0."""

    def append(self, event: Union[AuditEvent, Text], action: Optional[Text] = None, *,
               durability: Durability = Durability.DURABLE, **fields_: Any) -> AppendReceipt:
        """Appends an event, given as an :class:`AuditEvent` or as ``tenant, action``
        plus keyword fields (``actor=``, ``resource=``, ``outcome=``, ``ip=``,
        ``user_agent=``, ``details=``). Returns its seq and leaf hash."""
        ev = as_event(event, action, fields_)
        seq = c_uint64(0)
        leaf = (ctypes.c_uint8 * HASH_LEN)()
        with ev._handle() as h:
            lib.hardstore_audit_append(self._h, h, int(durability), byref(seq), leaf)
        return AppendReceipt(seq.value, bytes(leaf))

    def size(self) -> int:
        """The number of entries."""
        n = c_uint64(0)
        lib.hardstore_audit_size(self._h, byref(n))
        return n.value

    def __len__(self) -> int:
        return self.size()

    def root(self, size: Optional[int] = None) -> bytes:
        """The 32-byte Merkle root of the first ``size`` entries (default: all)."""
        out = (ctypes.c_uint8 * HASH_LEN)()
        lib.hardstore_audit_root(self._h, self.size() if size is None else int(size), out)
        return bytes(out)

    def get(self, seq: int) -> AuditEntry:
        """Entry ``seq``. Raises :class:`~hardstore.NotFound` past the end."""
        e = ctypes.POINTER(hardstore_audit_entry)()
        lib.hardstore_audit_get(self._h, int(seq), byref(e))
        try:
            return _entry(e)
        finally:
            lib.hardstore_audit_entry_free(e)

    def __getitem__(self, seq: int) -> AuditEntry:
        return self.get(seq)

    def query(self, tenant: Text, *, actor: Optional[Text] = None, action: Optional[Text] = None,
              since: Optional[int] = None, until: Optional[int] = None, newest_first: bool = False,
              page_size: Optional[int] = None, cursor: Optional[bytes] = None) -> PagedQuery[AuditEntry]:
        """Entries of ``tenant`` (required), optionally by ``actor`` and ``action`` and
        with ``since <= time_us < until``, oldest first unless ``newest_first``. Pages
        of ``page_size`` (1..=10000, default 100) are fetched lazily as you iterate."""
        # Arguments are checked at once by building (and dropping) the query.
        with _query(tenant, actor, action, since, until, newest_first, page_size, cursor):
            pass

        def fetch(cur: Optional[bytes]) -> Tuple[List[AuditEntry], Optional[bytes]]:
            with _query(tenant, actor, action, since, until, newest_first, page_size, cur) as q:
                it = ctypes.POINTER(hardstore_audit_iter)()
                lib.hardstore_audit_query_run(self._h, q, byref(it))
                if not it:
                    return [], None
                try:
                    items = []
                    e = ctypes.POINTER(hardstore_audit_entry)()
                    while True:
                        lib.hardstore_audit_iter_next(it, byref(e))
                        if not e:
                            break
                        items.append(_entry(e))
                    c = _BytesPtr()
                    lib.hardstore_audit_iter_cursor(it, byref(c))
                    return items, take_bytes(c)
                finally:
                    lib.hardstore_audit_iter_free(it)

        return PagedQuery(fetch, cursor)

    def export_jsonl(self, path: Any, tenant: Text, *, actor: Optional[Text] = None,
                     action: Optional[Text] = None, since: Optional[int] = None,
                     until: Optional[int] = None, newest_first: bool = False,
                     cursor: Optional[bytes] = None) -> int:
        """Writes every matching entry to ``path`` as JSON Lines (replacing the file);
        returns how many."""
        p = to_path(path)
        n = c_uint64(0)
        with _query(tenant, actor, action, since, until, newest_first, None, cursor) as q:
            lib.hardstore_audit_export_jsonl(self._h, q, p, len(p), byref(n))
        return n.value

    def inclusion_proof(self, seq: int, tree_size: Optional[int] = None) -> InclusionProof:
        """Proof that entry ``seq`` is in the tree of ``tree_size`` entries (default:
        the current size)."""
        size = self.size() if tree_size is None else int(tree_size)
        out = _BytesPtr()
        lib.hardstore_audit_inclusion_proof(self._h, int(seq), size, byref(out))
        return InclusionProof(int(seq), size, take_bytes(out) or b"", self.hash)

    def consistency_proof(self, old_size: int, new_size: Optional[int] = None) -> ConsistencyProof:
        """Proof that the log of ``new_size`` entries (default: now) extends the log of
        ``old_size``."""
        size = self.size() if new_size is None else int(new_size)
        out = _BytesPtr()
        lib.hardstore_audit_consistency_proof(self._h, int(old_size), size, byref(out))
        return ConsistencyProof(int(old_size), size, take_bytes(out) or b"", self.hash)

    @property
    def hash(self) -> int:
        """The tree's hash, fixed when the store was created: 1 BLAKE3 or 2 SHA-256
        (``hardstore.AUDIT_HASH_*``)."""
        from .tlog import store_hash

        return store_hash(self._h)

    def leaf_bytes(self, seq: int) -> bytes:
        """The bytes entry ``seq``'s leaf hash covers (see ``docs/audit-entry-encoding.md``)."""
        entry = self.get(seq)
        if entry.pruned:
            from .errors import NotFound

            raise NotFound(f"audit entry {seq} was pruned: its leaf bytes are gone")
        return entry.leaf_bytes

    def sign_checkpoint(self, signer: "NoteSigner") -> str:
        """The log's size and root as a C2SP checkpoint note signed by ``signer`` (a log
        key; its name is the origin)."""
        from .tlog import sign_checkpoint

        return sign_checkpoint(self._h, signer)

    def proof_bundle(self, seq: int, note: Union[str, bytes]) -> str:
        """An offline proof (``tlog-proof``) that entry ``seq`` is in the tree of the
        checkpoint ``note`` of this log, cosignatures kept, leaf bytes as its extra."""
        from .tlog import proof_bundle

        return proof_bundle(self._h, seq, note)

    def checkpoint(self) -> Checkpoint:
        """A checkpoint (store id, size, root, time; MAC'd when the store has an audit key)."""
        out = _BytesPtr()
        lib.hardstore_audit_checkpoint(self._h, byref(out))
        try:
            raw = view_bytes(out)
        finally:
            lib.hardstore_bytes_free(out)
        return Checkpoint.parse(raw)

    def prove_since(self, checkpoint: Union[Checkpoint, bytes]) -> Tuple[Checkpoint, ConsistencyProof]:
        """A new checkpoint and the consistency proof from ``checkpoint`` to it, taken
        from one snapshot."""
        old = Checkpoint.parse(bytes(checkpoint))
        cp, proof = _BytesPtr(), _BytesPtr()
        lib.hardstore_audit_prove_since(self._h, old.raw, len(old.raw), byref(cp), byref(proof))
        try:
            raw, hashes = view_bytes(cp), view_bytes(proof)
        finally:
            lib.hardstore_bytes_free(cp)
            lib.hardstore_bytes_free(proof)
        new = Checkpoint.parse(raw)
        return new, ConsistencyProof(old.size, new.size, hashes, self.hash)

    def verify(self) -> VerifyReport:
        """Recomputes every leaf and node hash. A log that fails has ``ok`` False (the
        call itself raises only when it could not run)."""
        r = hardstore_verify_report()
        lib.hardstore_audit_verify(self._h, byref(r))
        return VerifyReport(r.size, r.checked, bool(r.ok), None if r.ok else r.first_bad_seq, bytes(r.root))

    # --- Retention --------------------------------------------------------------------

    def pruned_below(self) -> int:
        """The bound below which every entry is pruned (0: none is)."""
        n = c_uint64(0)
        lib.hardstore_audit_pruned_below(self._h, byref(n))
        return n.value

    def prunable(self, below_seq: Optional[int] = None,
                 older_than: Optional[Age] = None) -> PruneRange:
        """The entries :meth:`prune` with the same argument would take now, as a
        :class:`PruneRange` ``(from_, to)``: give ``below_seq`` (entries with a lower
        seq) or ``older_than`` (entries appended at least that long ago by the store's
        clock, the oldest up to the first newer one; seconds or a timedelta). Pruning
        always takes the oldest entries, from where it stopped before. Changes nothing."""
        mode, value = _prune_mode(below_seq, older_than)
        lo, hi = c_uint64(0), c_uint64(0)
        lib.hardstore_audit_prunable(self._h, mode, value, byref(lo), byref(hi))
        return PruneRange(lo.value, hi.value)

    def prune(self, below_seq: Optional[int] = None, older_than: Optional[Age] = None,
              confirm: int = 0) -> int:
        """Prunes the payloads of the entries :meth:`prunable` names (``below_seq`` or
        ``older_than``, as there), durably and audited (``audit.prune``). Each keeps its
        seq, time, tenant, action and leaf hash, so the root, checkpoints, proofs and
        :meth:`verify` stay valid and it reads as ``pruned``. Raises
        :class:`~hardstore.ConfirmationRequired` (changing nothing) when that is more
        than ``confirm`` entries: :meth:`export_archive` them first to keep them.
        Returns how many it pruned."""
        mode, value = _prune_mode(below_seq, older_than)
        n = c_uint64(0)
        lib.hardstore_audit_prune(self._h, mode, value, to_u64(confirm, "confirm"), byref(n))
        return n.value

    def export_archive(self, from_: int, to: int, path: Any) -> int:
        """Writes entries ``from_..to`` (``to`` exclusive, within the log) to a NEW file
        at ``path`` as a JSON Lines archive: a header line (``archive``, ``store_id``,
        ``size``, ``root``, ``checkpoint``, ``from``, ``to``; hashes as hex), then one
        line per entry with its ``leaf_hash`` and ``inclusion_proof`` (a list of hex
        hashes) against ``size``, so the archive proves each entry on its own (a pruned
        entry's line also has ``pruned``: its leaf hash, as hex). An
        existing file is refused (:class:`~hardstore.IoError`), never replaced. Returns
        the entries written."""
        p = to_path(path)
        n = c_uint64(0)
        lib.hardstore_audit_export_archive(self._h, to_u64(from_, "from_"), to_u64(to, "to"),
                                           p, len(p), byref(n))
        return n.value
