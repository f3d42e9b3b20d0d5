"""Dead letters: failed work kept and retried on a backoff schedule until it succeeds
or is declared dead."""

from __future__ import annotations

import ctypes
import enum
from contextlib import contextmanager
from ctypes import byref, c_uint32, c_uint64
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, NamedTuple, Optional, Tuple, Union

from ._common import Durability, Owned, PagedQuery, StoreBound, closed_error
from ._lib import UINT64_MAX, borrowed, borrowed_field, lib, take_bytes, to_bytes, to_text
from ._structs import (
    hardstore_bytes,
    hardstore_dlq_attempt,
    hardstore_dlq_claim,
    hardstore_dlq_claims,
    hardstore_dlq_item,
    hardstore_dlq_iter,
    hardstore_dlq_op,
    hardstore_dlq_query,
    hardstore_dlq_state_counts,
    hardstore_retry_policy,
)

Text = Union[str, bytes]
Data = Union[bytes, bytearray, memoryview, str]

DLQ_TENANT = 0
DLQ_KIND = 1
DLQ_PAYLOAD = 2
DLQ_LAST_ERROR = 3

OP_OK = 0
OP_RETRY = 1
OP_PERMANENT = 2


class DlqState(enum.IntEnum):
    """A dead letter's state (``HARDSTORE_DLQ_*``)."""

    PENDING = 0
    LEASED = 1
    DONE = 2
    DEAD = 3


class Jitter(enum.IntEnum):
    """Backoff jitter: ``FULL`` is uniform in [0, min(cap, base * 2^attempt)];
    ``DECORRELATED`` is uniform in [base, min(cap, 3 * previous delay)]."""

    FULL = 0
    DECORRELATED = 1


class RetryOutcome(enum.IntEnum):
    """How :meth:`DeadLetters.retry` ended."""

    SUCCEEDED = 0
    DEAD_LETTERED = 1


@dataclass
class RetryPolicy:
    """A retry policy. The defaults are the library's: full jitter, base 1 s, cap 1 h,
    5 attempts, seeded from the OS (``seed=None``)."""

    jitter: Jitter = Jitter.FULL
    base_us: int = 1_000_000
    cap_us: int = 3_600_000_000
    max_attempts: int = 5
    seed: Optional[int] = None

    @classmethod
    def default(cls) -> "RetryPolicy":
        """The library's default policy, read from the library."""
        p = hardstore_retry_policy()
        lib.hardstore_retry_policy_default(byref(p))
        return cls(Jitter(p.jitter), p.base_us, p.cap_us, p.max_attempts, p.seed if p.seeded else None)

    def _to_c(self) -> hardstore_retry_policy:
        return hardstore_retry_policy(
            jitter=int(self.jitter),
            base_us=int(self.base_us),
            cap_us=int(self.cap_us),
            max_attempts=int(self.max_attempts),
            seeded=self.seed is not None,
            seed=int(self.seed or 0),
        )


class PermanentFailure(Exception):
    """Raise it from a :meth:`DeadLetters.retry` operation when no retry will help."""


class Claims(Owned):
    """The items one :meth:`DeadLetters.claim_due` leased: a sequence of
    :class:`Claim`. Close it (or leave its ``with`` block) when done; a claim cannot be
    acked or failed after its list is closed."""

    _free = staticmethod(lambda p: lib.hardstore_dlq_claims_free(p))

    def __init__(self, ptr: Any) -> None:
        super().__init__(ptr)
        self._claims: List[Claim] = []
        for i in range(lib.hardstore_dlq_claims_len(ptr)):
            c = ctypes.POINTER(hardstore_dlq_claim)()
            lib.hardstore_dlq_claims_get(ptr, i, byref(c))
            self._claims.append(Claim(self, c))

    def __len__(self) -> int:
        return len(self._claims)

    def __getitem__(self, i: int) -> "Claim":
        return self._claims[i]

    def __iter__(self) -> Iterator["Claim"]:
        return iter(self._claims)

    def __repr__(self) -> str:
        return f"Claims({self._claims!r})"


class Claim:
    """A leased item: its id, this attempt's number (from 1), the attempts allowed,
    when the lease ends (store clock, µs), tenant, kind and payload."""

    def __init__(self, owner: Claims, ptr: Any) -> None:
        self._owner = owner
        self._ptr = ptr
        self.id: int = lib.hardstore_dlq_claim_id(ptr)
        self.attempt: int = lib.hardstore_dlq_claim_attempt(ptr)
        self.max_attempts: int = lib.hardstore_dlq_claim_max_attempts(ptr)
        self.lease_until_us: int = lib.hardstore_dlq_claim_lease_until(ptr)
        self.tenant: str = borrowed_field(lib.hardstore_dlq_claim_field, ptr, DLQ_TENANT).decode("utf-8")
        self.kind: str = borrowed_field(lib.hardstore_dlq_claim_field, ptr, DLQ_KIND).decode("utf-8")
        self.payload: bytes = borrowed_field(lib.hardstore_dlq_claim_field, ptr, DLQ_PAYLOAD)

    def _live(self) -> Any:
        if self._owner.closed:
            raise closed_error("the Claims list this claim came from was closed")
        return self._ptr

    def __repr__(self) -> str:
        return f"Claim(id={self.id}, kind={self.kind!r}, attempt={self.attempt}/{self.max_attempts})"


@dataclass(frozen=True)
class Attempt:
    """One failure in an item's history (``attempt`` 0: the failure that made it a
    dead letter)."""

    attempt: int
    at_us: int
    retryable: bool
    error: str


@dataclass(frozen=True)
class DeadLetter:
    """A dead letter with its history. ``time_us`` is when it is due (Pending), when
    its lease ends (Leased) or when it finished (Done, Dead)."""

    id: int
    state: DlqState
    attempts: int
    max_attempts: int
    redrives: int
    created_us: int
    time_us: int
    tenant: str
    kind: str
    payload: bytes
    last_error: Optional[str]
    history: Tuple[Attempt, ...]


def _item(p: Any) -> DeadLetter:
    t = c_uint64(0)
    lib.hardstore_dlq_item_time(p, byref(t))
    history = []
    for i in range(lib.hardstore_dlq_item_history_len(p)):
        a = hardstore_dlq_attempt()
        lib.hardstore_dlq_item_history(p, i, byref(a))
        history.append(Attempt(a.attempt, a.at, bool(a.retryable), borrowed(a.error, a.error_len).decode("utf-8")))
    last_error = borrowed_field(lib.hardstore_dlq_item_field, p, DLQ_LAST_ERROR).decode("utf-8")
    return DeadLetter(
        id=lib.hardstore_dlq_item_id(p),
        state=DlqState(lib.hardstore_dlq_item_state(p)),
        attempts=lib.hardstore_dlq_item_attempts(p),
        max_attempts=lib.hardstore_dlq_item_max_attempts(p),
        redrives=lib.hardstore_dlq_item_redrives(p),
        created_us=lib.hardstore_dlq_item_created(p),
        time_us=t.value,
        tenant=borrowed_field(lib.hardstore_dlq_item_field, p, DLQ_TENANT).decode("utf-8"),
        kind=borrowed_field(lib.hardstore_dlq_item_field, p, DLQ_KIND).decode("utf-8"),
        payload=borrowed_field(lib.hardstore_dlq_item_field, p, DLQ_PAYLOAD),
        last_error=last_error or None,
        history=tuple(history),
    )


class FailOutcome(NamedTuple):
    """After :meth:`DeadLetters.fail`: the new state (``PENDING`` or ``DEAD``) and when
    the item is next due (``None`` when dead)."""

    state: DlqState
    next_attempt_at: Optional[int]


class DlqCounts(NamedTuple):
    """Items per state."""

    pending: int
    leased: int
    done: int
    dead: int


class RetryResult(NamedTuple):
    """What :meth:`DeadLetters.retry` did: the outcome, the tries made and the dead
    letter's id (``None`` when it succeeded)."""

    outcome: RetryOutcome
    attempts: int
    id: Optional[int]


@contextmanager
def _query(state: Optional[int], kind: Optional[Text], tenant: Optional[Text], since: Optional[int],
           until: Optional[int], page_size: Optional[int], cursor: Optional[bytes]) -> Iterator[Any]:
    q = ctypes.POINTER(hardstore_dlq_query)()
    lib.hardstore_dlq_query_new(byref(q))
    try:
        if state is not None:
            lib.hardstore_dlq_query_set_state(q, int(state))
        if kind is not None:
            k = to_text(kind)
            lib.hardstore_dlq_query_set_kind(q, k, len(k))
        if tenant is not None:
            t = to_text(tenant)
            lib.hardstore_dlq_query_set_tenant(q, t, len(t))
        if since is not None or until is not None:
            lib.hardstore_dlq_query_set_time_range(q, since or 0, UINT64_MAX if until is None else until)
        if page_size is not None:
            lib.hardstore_dlq_query_set_limit(q, int(page_size))
        if cursor is not None:
            lib.hardstore_dlq_query_set_cursor(q, bytes(cursor), len(cursor))
        yield q
    finally:
        lib.hardstore_dlq_query_free(q)


def _write_error(message: str, buf: Any, cap: int, out_len: Any) -> None:
    data = message.encode("utf-8", "replace")[:cap]
    data = data.decode("utf-8", "ignore").encode("utf-8")  # no cut character at the end
    if data and buf:
        ctypes.memmove(buf, data, len(data))
    out_len[0] = len(data)


class DeadLetters(StoreBound):
    """The store's dead letters (``store.dead_letters``, also ``store.dlq``)."""

    def record(self, tenant: Text, kind: Text, payload: Data, *, error: Optional[Text] = None,
               max_attempts: int = 0, first_attempt_at: int = 0, permanent: bool = False,
               durability: Durability = Durability.DURABLE) -> int:
        """Records a dead letter and returns its id. ``kind`` is 1..=128 bytes,
        ``tenant`` at most 128, ``payload`` at most 1 MiB, ``error`` at most 4096.
        ``max_attempts`` 0 takes the store's default; ``first_attempt_at`` 0 means due
        now; ``permanent`` records it Dead at once."""
        t, k, p, e = to_text(tenant), to_text(kind), to_bytes(payload, "payload"), to_text(error)
        out = c_uint64(0)
        lib.hardstore_dlq_record(self._h, t, len(t), k, len(k), p, len(p), e, len(e), int(max_attempts),
                                 int(first_attempt_at), bool(permanent), int(durability), byref(out))
        return out.value

    def claim_due(self, limit: int = 16, lease_us: int = 60_000_000) -> Claims:
        """Leases up to ``limit`` (1..=10000) items due by the store's clock for
        ``lease_us`` microseconds, counting an attempt on each, durably."""
        c = ctypes.POINTER(hardstore_dlq_claims)()
        lib.hardstore_dlq_claim_due(self._h, int(limit), int(lease_us), byref(c))
        return Claims(c)

    def ack(self, claim: Claim) -> None:
        """Marks a claimed item Done. Raises :class:`~hardstore.Fenced` when the lease
        is no longer held (it ran out, or the item was claimed again)."""
        lib.hardstore_dlq_ack(self._h, claim._live())

    def fail(self, claim: Claim, error: Text, *, retryable: bool = True) -> FailOutcome:
        """Records a claimed item's failure: a retryable one reschedules it unless it
        was its last attempt; a permanent one makes it Dead. Raises
        :class:`~hardstore.Fenced` when the lease is not held."""
        e = to_text(error)
        state, nxt = c_uint32(0), c_uint64(0)
        lib.hardstore_dlq_fail(self._h, claim._live(), e, len(e), bool(retryable), byref(state), byref(nxt))
        s = DlqState(state.value)
        return FailOutcome(s, None if s == DlqState.DEAD else nxt.value)

    def redrive(self, id: int) -> None:
        """Makes a Dead (or Pending) item Pending and due now, attempts reset.
        :class:`~hardstore.NotFound` for an unknown id; :class:`~hardstore.InvalidArgument`
        for a Leased or Done one."""
        lib.hardstore_dlq_redrive(self._h, int(id))

    def redrive_where(self, *, kind: Optional[Text] = None, tenant: Optional[Text] = None,
                      since: Optional[int] = None, until: Optional[int] = None) -> int:
        """Redrives every Dead item of ``kind`` and ``tenant`` recorded in
        ``[since, until)``; returns how many."""
        n = c_uint64(0)
        with _query(None, kind, tenant, since, until, None, None) as q:
            lib.hardstore_dlq_redrive_where(self._h, q, byref(n))
        return n.value

    def counts(self) -> DlqCounts:
        """Items per state (from counters, no scan)."""
        c = hardstore_dlq_state_counts()
        lib.hardstore_dlq_counts(self._h, byref(c))
        return DlqCounts(c.pending, c.leased, c.done, c.dead)

    def purge(self, limit: int = 0) -> int:
        """Deletes up to ``limit`` (0: no limit) Done and Dead items older than the
        configured age; returns how many."""
        n = c_uint64(0)
        lib.hardstore_dlq_purge(self._h, int(limit), byref(n))
        return n.value

    def get(self, id: int) -> DeadLetter:
        """The item ``id`` with its history. :class:`~hardstore.NotFound` when unknown
        or purged."""
        p = ctypes.POINTER(hardstore_dlq_item)()
        lib.hardstore_dlq_get(self._h, int(id), byref(p))
        try:
            return _item(p)
        finally:
            lib.hardstore_dlq_item_free(p)

    def list(self, *, state: Optional[Union[DlqState, int]] = None, kind: Optional[Text] = None,
             tenant: Optional[Text] = None, since: Optional[int] = None, until: Optional[int] = None,
             page_size: Optional[int] = None, cursor: Optional[bytes] = None) -> PagedQuery[DeadLetter]:
        """Items in id order, filtered by state, kind, tenant and record time; pages
        fetched lazily."""
        args = (state, kind, tenant, since, until, page_size)
        with _query(*args, cursor):
            pass

        def fetch(cur: Optional[bytes]) -> Tuple[List[DeadLetter], Optional[bytes]]:
            with _query(*args, cur) as q:
                it = ctypes.POINTER(hardstore_dlq_iter)()
                lib.hardstore_dlq_list(self._h, q, byref(it))
                if not it:
                    return [], None
                try:
                    items = []
                    p = ctypes.POINTER(hardstore_dlq_item)()
                    while True:
                        lib.hardstore_dlq_iter_next(it, byref(p))
                        if not p:
                            break
                        items.append(_item(p))
                    c = ctypes.POINTER(hardstore_bytes)()
                    lib.hardstore_dlq_iter_cursor(it, byref(c))
                    return items, take_bytes(c)
                finally:
                    lib.hardstore_dlq_iter_free(it)

        return PagedQuery(fetch, cursor)

    def retry(self, tenant: Text, kind: Text, payload: Data, op: Callable[[int], Any], *,
              policy: Optional[RetryPolicy] = None) -> RetryResult:
        """Runs ``op(attempt)`` (attempt from 1) up to ``policy.max_attempts`` times in
        this thread, sleeping a backoff delay between tries. ``op`` succeeds by
        returning; it fails by raising (:class:`PermanentFailure` when no retry will
        help; any other exception is retryable), the exception's text becoming the
        error. When every try failed, or one failed permanently, a dead letter is
        recorded durably. A ``BaseException`` such as ``KeyboardInterrupt`` stops the
        tries (counted as permanent) and is re-raised once the call returns."""
        t, k, p = to_text(tenant), to_text(kind), to_bytes(payload, "payload")
        pending: List[BaseException] = []

        def trampoline(_user: Any, attempt: int, buf: Any, cap: int, out_len: Any) -> int:
            try:
                op(int(attempt))
                return OP_OK
            except PermanentFailure as e:
                _write_error(str(e) or type(e).__name__, buf, cap, out_len)
                return OP_PERMANENT
            except Exception as e:
                _write_error(str(e) or type(e).__name__, buf, cap, out_len)
                return OP_RETRY
            except BaseException as e:  # never unwind into the library
                pending.append(e)
                _write_error(type(e).__name__, buf, cap, out_len)
                return OP_PERMANENT

        cb = hardstore_dlq_op(trampoline)
        c_policy = policy._to_c() if policy is not None else None
        outcome, attempts, rid = c_uint32(0), c_uint32(0), c_uint64(0)
        lib.hardstore_dlq_retry(self._h, byref(c_policy) if c_policy is not None else None,
                                t, len(t), k, len(k), p, len(p), cb, None,
                                byref(outcome), byref(attempts), byref(rid))
        if pending:
            raise pending[0]
        o = RetryOutcome(outcome.value)
        return RetryResult(o, attempts.value, rid.value if o == RetryOutcome.DEAD_LETTERED else None)
