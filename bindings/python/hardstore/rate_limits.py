"""Rate limits: "60 requests a minute per IP", checked in memory, kept across restarts.

A limit is defined under a (tenant, name) as a count per period with a burst (the most
cost allowed at once; the count unless given), stored in the store and audited
(actions ``rate_limit.define``, ``rate_limit.remove``). Checks run the GCRA (one
timestamp per key, as ``governor`` and redis-cell do) against a key such as an IP or a
user id, and answer as redis-cell does (:class:`RateDecision`): allowed or denied, the
cost still allowed, when to retry, when the key is full again. An allowed request
consumes its cost; a denied one consumes nothing; a cost of 0 only reads.

Durability: checks change memory only. The keys changed since the last flush are
written every ``Options.rate_limit_flush_us`` (1 s by default) as one durable write,
and a clean close writes the rest; :meth:`RateLimits.flush` writes them now. A crash
forgets at most the consumption of the last flush interval.

Memory is bounded: each limit keeps at most ``Options.rate_limit_max_keys`` keys
(1,000,000 by default). A new key past that first drops idle keys (a key whose
allowance is full again is the same as a key never seen: nothing is lost), and only
when none is idle evicts the keys closest to idle, counted in
:attr:`RateLimitStats.evicted_active` (such a key gets its allowance back early; it is
never denied wrongly).

For repeated checks of one limit, :meth:`RateLimits.limiter` gives a :class:`Limiter`
that skips the lookup by name.

Durations come back as seconds (``float``); periods go in as seconds (``int`` or
``float``) or a :class:`datetime.timedelta`, kept to the microsecond.
"""

from __future__ import annotations

import ctypes
import math
from ctypes import byref, c_bool, c_size_t, c_uint64
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, List, Optional, Union

from ._common import Owned, StoreBound
from ._lib import borrowed, lib, to_bytes, to_text, to_u64
from ._structs import (
    hardstore_limiter,
    hardstore_rate_decision,
    hardstore_rate_limit,
    hardstore_rate_limit_keys,
    hardstore_rate_limits,
    u8p,
)
from .errors import InvalidArgument, Result

Text = Union[str, bytes]
Key = Union[bytes, bytearray, memoryview, str]
Period = Union[int, float, timedelta]

#: ``retry_after_us`` of a denial whose cost exceeds the burst (``HARDSTORE_RETRY_NEVER``):
#: it never conforms. :attr:`RateDecision.retry_after` is ``None`` then.
RETRY_NEVER = 0xFFFF_FFFF_FFFF_FFFF
#: Longest tenant and limit name, in bytes (``HARDSTORE_LIMIT_RATE_LIMIT_NAME``).
MAX_NAME = 128
#: Longest key, in bytes (``HARDSTORE_LIMIT_RATE_LIMIT_KEY``).
MAX_KEY = 256

_US = timedelta(microseconds=1)


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(Result.INVALID_ARGUMENT, message, None)


def _period_us(period: Period) -> int:
    """A period (seconds, or a timedelta) in whole microseconds."""
    if isinstance(period, timedelta):
        us = period // _US
    elif isinstance(period, (int, float)) and not isinstance(period, bool):
        if not math.isfinite(period):
            raise _invalid(f"a limit's period must be finite, not {period!r}")
        us = round(period * 1_000_000)
    else:
        raise TypeError(
            f"period must be seconds (int or float) or a timedelta, not {type(period).__name__}")
    if us < 0:
        raise _invalid(f"a limit's period must not be negative, not {period!r}")
    return to_u64(us, "period")


def _seconds(us: int) -> float:
    return us / 1_000_000


@dataclass(frozen=True)
class RateLimit:
    """What a limit allows: ``count`` per ``period`` sustained, at most ``burst`` at
    once. ``period`` is a :class:`~datetime.timedelta` (microsecond precision, as
    stored), so a limit read back passes to :meth:`RateLimits.define` unchanged."""

    count: int
    period: timedelta
    burst: int

    @property
    def period_us(self) -> int:
        """The period in microseconds."""
        return self.period // _US

    @property
    def period_seconds(self) -> float:
        """The period in seconds."""
        return self.period.total_seconds()

    @classmethod
    def _from_c(cls, c: hardstore_rate_limit) -> "RateLimit":
        return cls(c.count, timedelta(microseconds=c.period_us), c.burst)


@dataclass(frozen=True)
class RateLimitInfo:
    """A defined limit, as :meth:`RateLimits.list` gives it."""

    tenant: str
    name: str
    limit: RateLimit


@dataclass(frozen=True)
class RateDecision:
    """A check's answer (redis-cell's).

    Attributes:
        allowed: whether the request conforms (a denied one consumed nothing).
        limit: the limit's burst, the most cost allowed at once.
        remaining: cost still allowed right now.
        retry_after: denied: seconds until the same cost would be allowed, ``None``
            when it never will (the cost exceeds the burst, see :attr:`never`).
            Allowed: ``None``. For an HTTP ``Retry-After``, round it up.
        reset_after: seconds until the key's allowance is full again.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after: Optional[float]
    reset_after: float

    @property
    def never(self) -> bool:
        """Denied for good: the cost exceeds the burst, no wait makes it conform."""
        return not self.allowed and self.retry_after is None

    @classmethod
    def _from_c(cls, d: hardstore_rate_decision) -> "RateDecision":
        allowed = bool(d.allowed)
        retry = None if allowed or d.retry_after_us == RETRY_NEVER else _seconds(d.retry_after_us)
        return cls(allowed, d.limit, d.remaining, retry, _seconds(d.reset_after_us))


@dataclass(frozen=True)
class RateLimitStats:
    """One limit's keys in memory: ``keys`` held (keys whose allowance is not full),
    ``evicted_idle`` idle keys dropped to make room (nothing lost), ``evicted_active``
    keys in use evicted because every key was in use (each got its allowance back
    early)."""

    keys: int
    evicted_idle: int
    evicted_active: int


def _check(fn: Any, *args: Any) -> RateDecision:
    out = hardstore_rate_decision()
    fn(*args, byref(out))
    return RateDecision._from_c(out)


class Limiter(Owned):
    """A handle on one limit (from :meth:`RateLimits.limiter`): checks without the lookup
    by name, safe from many threads at once. Close it (or leave its ``with`` block) to
    free it. After the limit is removed its checks raise :class:`~hardstore.NotFound`; it
    may outlive its store, whose close it does not hold up (its checks then change
    memory only)."""

    _free = staticmethod(lambda p: lib.hardstore_limiter_free(p))

    def __init__(self, ptr: Any, tenant: str, name: str) -> None:
        super().__init__(ptr)
        #: The limit's tenant.
        self.tenant = tenant
        #: The limit's name.
        self.name = name

    def check(self, key: Key, cost: int = 1) -> RateDecision:
        """:meth:`RateLimits.check` of ``key`` through this handle."""
        k = to_bytes(key, "key")
        return _check(lib.hardstore_limiter_check, self._live(), k, len(k),
                      to_u64(cost, "cost"))

    def __repr__(self) -> str:
        state = " (closed)" if self.closed else ""
        return f"Limiter({self.tenant!r}, {self.name!r}){state}"


class RateLimits(StoreBound):
    """The store's rate limits (``store.rate_limits``): define, remove, get, list,
    check (by name or through a :class:`Limiter`), stats, flush.

    Tenant and name are each 1..=128 bytes of UTF-8 without NUL; a key is 1..=256 bytes
    (``str`` keys are encoded as UTF-8). Empty text, a zero count, burst or period, or a
    period over 366 days raise :class:`~hardstore.InvalidArgument`; longer text
    :class:`~hardstore.TooLong`; bad UTF-8 :class:`~hardstore.InvalidUtf8`; a limit not
    defined :class:`~hardstore.NotFound`. Nothing changes then."""

    def define(self, tenant: Text, name: Text, count: int, period: Period,
               burst: Optional[int] = None) -> None:
        """Defines the limit ``name`` of ``tenant``: ``count`` per ``period`` (seconds,
        or a timedelta), at most ``burst`` at once (``None``: ``count``), durably and
        audited. Redefining a limit keeps every key's state."""
        t, n = to_text(tenant, "tenant"), to_text(name, "name")
        c = to_u64(count, "count")
        b = c if burst is None else to_u64(burst, "burst")
        limit = hardstore_rate_limit(c, _period_us(period), b)
        lib.hardstore_rate_limit_define(self._h, t, len(t), n, len(n), byref(limit))

    def remove(self, tenant: Text, name: Text) -> int:
        """Removes the limit ``name`` of ``tenant`` and its keys, durably and audited;
        returns how many stored keys it deleted. :class:`~hardstore.NotFound` when it is
        not defined. Limiters on it raise :class:`~hardstore.NotFound` from then on."""
        t, n = to_text(tenant, "tenant"), to_text(name, "name")
        deleted = c_uint64(0)
        lib.hardstore_rate_limit_remove(self._h, t, len(t), n, len(n), byref(deleted))
        return deleted.value

    def get(self, tenant: Text, name: Text) -> Optional[RateLimit]:
        """The limit ``name`` of ``tenant``, ``None`` when it is not defined."""
        t, n = to_text(tenant, "tenant"), to_text(name, "name")
        found, out = c_bool(False), hardstore_rate_limit()
        lib.hardstore_rate_limit_get(self._h, t, len(t), n, len(n), byref(found), byref(out))
        return RateLimit._from_c(out) if found.value else None

    def list(self) -> List[RateLimitInfo]:
        """Every defined limit, in (tenant, name) order."""
        p = ctypes.POINTER(hardstore_rate_limits)()
        lib.hardstore_rate_limit_list(self._h, byref(p))
        try:
            out = []
            tp, tl, np_, nl = u8p(), c_size_t(0), u8p(), c_size_t(0)
            limit = hardstore_rate_limit()
            for i in range(lib.hardstore_rate_limit_list_len(p)):
                lib.hardstore_rate_limit_list_get(p, i, byref(tp), byref(tl), byref(np_),
                                                  byref(nl), byref(limit))
                out.append(RateLimitInfo(borrowed(tp, tl.value).decode("utf-8"),
                                         borrowed(np_, nl.value).decode("utf-8"),
                                         RateLimit._from_c(limit)))
            return out
        finally:
            lib.hardstore_rate_limit_list_free(p)

    def check(self, tenant: Text, name: Text, key: Key, cost: int = 1) -> RateDecision:
        """Checks a request of ``cost`` (usually 1; 0 only reads) for ``key`` under the
        limit ``name`` of ``tenant``, now (by the store's clock). An allowed request
        consumes its cost, a denied one nothing."""
        t, n, k = to_text(tenant, "tenant"), to_text(name, "name"), to_bytes(key, "key")
        return _check(lib.hardstore_rate_limit_check, self._h, t, len(t), n, len(n), k, len(k),
                      to_u64(cost, "cost"))

    def limiter(self, tenant: Text, name: Text) -> Limiter:
        """A :class:`Limiter` on the limit ``name`` of ``tenant`` (use it in a ``with``
        block, or close it). :class:`~hardstore.NotFound` when it is not defined."""
        t, n = to_text(tenant, "tenant"), to_text(name, "name")
        p = ctypes.POINTER(hardstore_limiter)()
        lib.hardstore_limiter_new(self._h, t, len(t), n, len(n), byref(p))
        return Limiter(p, t.decode("utf-8"), n.decode("utf-8"))

    def stats(self, tenant: Text, name: Text) -> RateLimitStats:
        """The keys the limit ``name`` of ``tenant`` holds in memory, and what eviction
        did. :class:`~hardstore.NotFound` when it is not defined."""
        t, n = to_text(tenant, "tenant"), to_text(name, "name")
        out = hardstore_rate_limit_keys()
        lib.hardstore_rate_limit_stats(self._h, t, len(t), n, len(n), byref(out))
        return RateLimitStats(out.keys, out.evicted_idle, out.evicted_active)

    def flush(self) -> int:
        """Writes every key changed since the last flush now, durably; returns the rows
        it wrote or deleted (0 when nothing changed)."""
        rows = c_uint64(0)
        lib.hardstore_rate_limit_flush(self._h, byref(rows))
        return rows.value
