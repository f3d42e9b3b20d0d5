"""The log ring: the last N log entries, persistent and queryable, with stats."""

from __future__ import annotations

import ctypes
import enum
from contextlib import contextmanager
from ctypes import byref, c_size_t, c_uint16, c_uint64
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from ._common import Durability, PagedQuery, StoreBound
from ._lib import UINT64_MAX, borrowed, borrowed_field, lib, take_bytes, to_text
from ._structs import (
    hardstore_bytes,
    hardstore_endpoint_stats,
    hardstore_log_entry,
    hardstore_log_record,
    hardstore_log_stats,
    hardstore_log_totals,
    hardstore_logs_iter,
    hardstore_logs_query,
    u8p,
)
from .errors import NotFound

Text = Union[str, bytes]

LOG_MESSAGE = 0
LOG_TARGET = 1
LOG_TENANT = 2
LOG_USER = 3
LOG_ENDPOINT = 4
LOG_ERROR = 5


class Level(enum.IntEnum):
    """Log levels (``HARDSTORE_LEVEL_*``)."""

    TRACE = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4
    FATAL = 5


@dataclass
class LogRecord:
    """A log record to append: a level and a message (at most 8192 bytes, refused
    when longer, never cut), and optional target (256), tenant (128), user (256),
    endpoint (256), status, duration, error (4096) with up to 32 causes (1024 each),
    and up to 32 fields (key 1..=128 bytes, value at most 2048)."""

    level: Union[Level, int]
    message: Text
    target: Optional[Text] = None
    tenant: Optional[Text] = None
    user: Optional[Text] = None
    endpoint: Optional[Text] = None
    status: Optional[int] = None
    duration_us: Optional[int] = None
    error: Optional[Text] = None
    causes: Sequence[Text] = ()
    fields: Union[Mapping[Text, Text], Sequence[Tuple[Text, Text]]] = field(default_factory=tuple)

    @contextmanager
    def _handle(self) -> Iterator[Any]:
        msg = to_text(self.message, "message")
        r = ctypes.POINTER(hardstore_log_record)()
        lib.hardstore_log_record_new(int(self.level), msg, len(msg), byref(r))
        try:
            for value, setter in (
                (self.target, lib.hardstore_log_record_set_target),
                (self.tenant, lib.hardstore_log_record_set_tenant),
                (self.user, lib.hardstore_log_record_set_user),
                (self.endpoint, lib.hardstore_log_record_set_endpoint),
                (self.error, lib.hardstore_log_record_set_error),
            ):
                if value is not None:
                    data = to_text(value)
                    setter(r, data, len(data))
            if self.status is not None:
                lib.hardstore_log_record_set_status(r, int(self.status))
            if self.duration_us is not None:
                lib.hardstore_log_record_set_duration_us(r, int(self.duration_us))
            for cause in self.causes:
                c = to_text(cause, "cause")
                lib.hardstore_log_record_add_cause(r, c, len(c))
            pairs = self.fields.items() if isinstance(self.fields, Mapping) else self.fields
            for key, value in pairs:
                k, v = to_text(key, "field key"), to_text(value, "field value")
                lib.hardstore_log_record_add_field(r, k, len(k), v, len(v))
            yield r
        finally:
            lib.hardstore_log_record_free(r)


@dataclass(frozen=True)
class LogEntry:
    """An entry read from the ring (string fields are "" when unset)."""

    seq: int
    time_us: int
    level: Level
    message: str
    target: str
    tenant: str
    user: str
    endpoint: str
    status: Optional[int]
    duration_us: Optional[int]
    error: Optional[str]
    causes: Tuple[str, ...]
    fields: Tuple[Tuple[str, str], ...]


def _entry(e: Any) -> LogEntry:
    def text(f: int) -> str:
        return borrowed_field(lib.hardstore_log_entry_field, e, f).decode("utf-8")

    status: Optional[int]
    duration: Optional[int]
    s = c_uint16(0)
    try:
        lib.hardstore_log_entry_status(e, byref(s))
        status = s.value
    except NotFound:
        status = None
    d = c_uint64(0)
    try:
        lib.hardstore_log_entry_duration_us(e, byref(d))
        duration = d.value
    except NotFound:
        duration = None
    causes = []
    for i in range(lib.hardstore_log_entry_cause_count(e)):
        p, n = u8p(), c_size_t(0)
        lib.hardstore_log_entry_cause(e, i, byref(p), byref(n))
        causes.append(borrowed(p, n.value).decode("utf-8"))
    kvs = []
    for i in range(lib.hardstore_log_entry_field_count(e)):
        kp, kn, vp, vn = u8p(), c_size_t(0), u8p(), c_size_t(0)
        lib.hardstore_log_entry_kv(e, i, byref(kp), byref(kn), byref(vp), byref(vn))
        kvs.append((borrowed(kp, kn.value).decode("utf-8"), borrowed(vp, vn.value).decode("utf-8")))
    error = text(LOG_ERROR)
    return LogEntry(
        seq=lib.hardstore_log_entry_seq(e),
        time_us=lib.hardstore_log_entry_time(e),
        level=Level(lib.hardstore_log_entry_level(e)),
        message=text(LOG_MESSAGE),
        target=text(LOG_TARGET),
        tenant=text(LOG_TENANT),
        user=text(LOG_USER),
        endpoint=text(LOG_ENDPOINT),
        status=status,
        duration_us=duration,
        error=error or None,
        causes=tuple(causes),
        fields=tuple(kvs),
    )


class LogRange(NamedTuple):
    """The live seq range: the ring holds ``[oldest, next)``."""

    oldest: int
    next: int


@dataclass(frozen=True)
class EndpointStats:
    """One endpoint's figures (durations are ``None`` when no entry had one)."""

    endpoint: str
    count: int
    errors: int
    mean_duration_us: Optional[float]
    p95_duration_us: Optional[int]


@dataclass(frozen=True)
class LogStats:
    """Stats over a window of the ring."""

    total: int
    per_level: Dict[Level, int]
    error_rate: float
    endpoints: List[EndpointStats]


@contextmanager
def _query(min_level: Optional[int], tenant: Optional[Text], user: Optional[Text],
           endpoint: Optional[Text], text: Optional[Text], since: Optional[int],
           until: Optional[int], oldest_first: bool, page_size: Optional[int],
           cursor: Optional[bytes]) -> Iterator[Any]:
    q = ctypes.POINTER(hardstore_logs_query)()
    lib.hardstore_logs_query_new(byref(q))
    try:
        if min_level is not None:
            lib.hardstore_logs_query_set_min_level(q, int(min_level))
        for value, setter in (
            (tenant, lib.hardstore_logs_query_set_tenant),
            (user, lib.hardstore_logs_query_set_user),
            (endpoint, lib.hardstore_logs_query_set_endpoint),
            (text, lib.hardstore_logs_query_set_text),
        ):
            if value is not None:
                data = to_text(value)
                setter(q, data, len(data))
        if since is not None or until is not None:
            lib.hardstore_logs_query_set_time_range(q, since or 0, UINT64_MAX if until is None else until)
        if oldest_first:
            lib.hardstore_logs_query_set_oldest_first(q, True)
        if page_size is not None:
            lib.hardstore_logs_query_set_limit(q, int(page_size))
        if cursor is not None:
            lib.hardstore_logs_query_set_cursor(q, bytes(cursor), len(cursor))
        yield q
    finally:
        lib.hardstore_logs_query_free(q)


class Logs(StoreBound):
    """The store's log ring (``store.logs``)."""

    def append(self, record: Union[LogRecord, Level, int], message: Optional[Text] = None, *,
               durability: Durability = Durability.BUFFERED, **fields_: Any) -> int:
        """Appends a :class:`LogRecord`, or ``level, message`` plus keyword fields
        (``target=``, ``tenant=``, ``user=``, ``endpoint=``, ``status=``,
        ``duration_us=``, ``error=``, ``causes=``, ``fields=``). Returns its seq.

        ``BUFFERED`` by default, as for logs everywhere in hardstore: it returns at
        once and is synced within the flush interval; pass ``durability=DURABLE`` to
        wait until the entry is on disk."""
        if isinstance(record, LogRecord):
            if message is not None or fields_:
                raise TypeError("pass either a LogRecord or level, message and fields")
            rec = record
        else:
            if message is None:
                raise TypeError("message is required with a level")
            rec = LogRecord(record, message, **fields_)
        seq = c_uint64(0)
        with rec._handle() as r:
            lib.hardstore_logs_append(self._h, r, int(durability), byref(seq))
        return seq.value

    def range(self) -> LogRange:
        """The seqs the ring holds now."""
        oldest, nxt = c_uint64(0), c_uint64(0)
        lib.hardstore_logs_range(self._h, byref(oldest), byref(nxt))
        return LogRange(oldest.value, nxt.value)

    def query(self, *, min_level: Optional[Union[Level, int]] = None, tenant: Optional[Text] = None,
              user: Optional[Text] = None, endpoint: Optional[Text] = None, text: Optional[Text] = None,
              since: Optional[int] = None, until: Optional[int] = None, oldest_first: bool = False,
              page_size: Optional[int] = None, cursor: Optional[bytes] = None) -> PagedQuery[LogEntry]:
        """Entries at ``min_level`` or above, of a tenant, user, endpoint, whose message
        contains ``text`` (case-sensitive), with ``since <= time_us < until``; newest
        first unless ``oldest_first``. Pages are fetched lazily."""
        args = (min_level, tenant, user, endpoint, text, since, until, oldest_first, page_size)
        with _query(*args, cursor):
            pass

        def fetch(cur: Optional[bytes]) -> Tuple[List[LogEntry], Optional[bytes]]:
            with _query(*args, cur) as q:
                it = ctypes.POINTER(hardstore_logs_iter)()
                lib.hardstore_logs_query_run(self._h, q, byref(it))
                if not it:
                    return [], None
                try:
                    items = []
                    e = ctypes.POINTER(hardstore_log_entry)()
                    while True:
                        lib.hardstore_logs_iter_next(it, byref(e))
                        if not e:
                            break
                        items.append(_entry(e))
                    c = ctypes.POINTER(hardstore_bytes)()
                    lib.hardstore_logs_iter_cursor(it, byref(c))
                    return items, take_bytes(c)
                finally:
                    lib.hardstore_logs_iter_free(it)

        return PagedQuery(fetch, cursor)

    def stats(self, since: Optional[int] = None, until: Optional[int] = None) -> LogStats:
        """Totals and per-endpoint figures over entries with ``since <= time_us < until``."""
        s = ctypes.POINTER(hardstore_log_stats)()
        lib.hardstore_logs_stats(self._h, since or 0, UINT64_MAX if until is None else until, byref(s))
        try:
            t = hardstore_log_totals()
            lib.hardstore_log_stats_totals(s, byref(t))
            endpoints = []
            for i in range(t.endpoints):
                ep = hardstore_endpoint_stats()
                lib.hardstore_log_stats_endpoint(s, i, byref(ep))
                endpoints.append(EndpointStats(
                    endpoint=borrowed(ep.endpoint, ep.endpoint_len).decode("utf-8"),
                    count=ep.count,
                    errors=ep.errors,
                    mean_duration_us=ep.mean_duration_us if ep.has_duration else None,
                    p95_duration_us=ep.p95_duration_us if ep.has_duration else None,
                ))
            return LogStats(
                total=t.total,
                per_level={Level(i): t.per_level[i] for i in range(6)},
                error_rate=t.error_rate,
                endpoints=endpoints,
            )
        finally:
            lib.hardstore_log_stats_free(s)
