"""Alerts: conditions that need a person, raised by the app or by the store's own health
checks.

An alert is raised under a (tenant, dedup key): raising it again while it is not
resolved counts a repeat on the same alert (``count`` and ``last_seen`` go up; severity
and message become the latest raise's) instead of adding one. It is acknowledged
(someone is on it), then resolved; a raise after it was resolved opens a new alert.
Resolved alerts stay as history until :meth:`Alerts.purge_resolved` deletes those past
a retention, which asks for the count it deletes. Every change appends an audit entry
in the same transaction (actions ``alert.raise``, ``alert.acknowledge``,
``alert.resolve``, ``alert.purge``).

Times are microseconds since the Unix epoch, from the store's clock.

``raise`` is a Python keyword, so the call that raises an alert is
:meth:`Alerts.raise_` (PEP 8's trailing underscore; ``hardstore_alert_raise`` in C,
``Alerts::raise`` in Rust and C++).
"""

from __future__ import annotations

import ctypes
import enum
from ctypes import byref, c_bool, c_uint64
from dataclasses import dataclass
from typing import Any, List, NamedTuple, Optional, Tuple, Union

from ._common import Durability, PagedQuery, StoreBound
from ._lib import borrowed_field, lib, take_bytes, to_text
from ._structs import (
    hardstore_alert,
    hardstore_alert_info,
    hardstore_alert_iter,
    hardstore_alert_raised,
    hardstore_bytes,
)

Text = Union[str, bytes]

ALERT_TENANT = 0
ALERT_SOURCE = 1
ALERT_DEDUP_KEY = 2
ALERT_MESSAGE = 3
ALERT_ACKNOWLEDGED_BY = 4
ALERT_RESOLVED_BY = 5
ALERT_RESOLUTION = 6

#: Alerts a page holds unless ``page_size`` says otherwise (the library's default).
DEFAULT_PAGE = 100
#: The most alerts one page may hold.
MAX_PAGE = 10_000


class Severity(enum.IntEnum):
    """How urgent an alert is (``HARDSTORE_ALERT_INFO``, ``_WARNING``, ``_CRITICAL``).
    Ordered: ``INFO < WARNING < CRITICAL``."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2


class AlertState(enum.IntEnum):
    """Where an alert is in its life (``HARDSTORE_ALERT_OPEN``, ``_ACKNOWLEDGED``,
    ``_RESOLVED``). A raise counts on an ``OPEN`` or ``ACKNOWLEDGED`` alert; after
    ``RESOLVED`` it opens a new one."""

    OPEN = 0
    ACKNOWLEDGED = 1
    RESOLVED = 2


class AlertScope(enum.IntEnum):
    """Which alerts :meth:`Alerts.list` walks (``HARDSTORE_ALERT_SCOPE_*``): ``OPEN``
    the ones not resolved (open or acknowledged), ``RESOLVED`` the resolved ones not yet
    purged, ``ALL`` every one not yet purged (the history)."""

    OPEN = 0
    RESOLVED = 1
    ALL = 2


@dataclass(frozen=True)
class Alert:
    """A stored alert. ``id`` grows in the order alerts were opened and is never
    reused; ``severity`` and ``message`` are the latest raise's; ``count`` is the raises
    counted on it; ``first_seen`` is when it was opened, ``last_seen`` when it was last
    raised; ``acknowledged_at`` and ``resolved_at`` are ``None`` until it was
    acknowledged or resolved; ``acknowledged_by``, ``resolved_by`` and ``resolution``
    are empty until then (or when given empty)."""

    id: int
    tenant: str
    source: str
    dedup_key: str
    severity: Severity
    message: str
    state: AlertState
    count: int
    first_seen: int
    last_seen: int
    acknowledged_at: Optional[int]
    acknowledged_by: str
    resolved_at: Optional[int]
    resolved_by: str
    resolution: str


class Raised(NamedTuple):
    """What :meth:`Alerts.raise_` did: the alert's id, the raises counted on it (this
    one included), whether this raise opened it (``False``: it repeated one not
    resolved) and its state after the raise (``OPEN``, or ``ACKNOWLEDGED`` when it
    repeated an acknowledged one)."""

    id: int
    count: int
    created: bool
    state: AlertState


class AlertCounts(NamedTuple):
    """Alerts not resolved (open or acknowledged), and resolved ones not yet purged."""

    unresolved: int
    resolved: int


def _text(p: Any, field: int) -> str:
    return borrowed_field(lib.hardstore_alert_field, p, field).decode("utf-8")


def _alert(p: Any) -> Alert:
    info = hardstore_alert_info()
    lib.hardstore_alert_get_info(p, byref(info))
    return Alert(
        id=info.id,
        tenant=_text(p, ALERT_TENANT),
        source=_text(p, ALERT_SOURCE),
        dedup_key=_text(p, ALERT_DEDUP_KEY),
        severity=Severity(info.severity),
        message=_text(p, ALERT_MESSAGE),
        state=AlertState(info.state),
        count=info.count,
        first_seen=info.first_seen,
        last_seen=info.last_seen,
        acknowledged_at=info.acknowledged_at or None,
        acknowledged_by=_text(p, ALERT_ACKNOWLEDGED_BY),
        resolved_at=info.resolved_at or None,
        resolved_by=_text(p, ALERT_RESOLVED_BY),
        resolution=_text(p, ALERT_RESOLUTION),
    )


class Alerts(StoreBound):
    """The store's alerts (``store.alerts``): raise (:meth:`raise_`), acknowledge,
    resolve by id or by dedup key, get, list newest first, counts, purge.

    Limits, in bytes of UTF-8: tenant and source 1..=128, dedup key 1..=256, message
    and resolution note at most 4096, ``by`` (who acknowledged or resolved) at most 256.
    Longer text raises :class:`~hardstore.TooLong`, empty required text
    :class:`~hardstore.InvalidArgument`, bad UTF-8 :class:`~hardstore.InvalidUtf8`;
    nothing is written then."""

    def raise_(self, tenant: Text, source: Text, dedup_key: Text, severity: Union[Severity, int],
               message: Text = "", *, durability: Durability = Durability.DURABLE) -> Raised:
        """Raises an alert of ``tenant`` from ``source`` (the component that raised it)
        under ``dedup_key``: a repeat counts on the alert not resolved under the same
        tenant and dedup key (taking this raise's severity and message), otherwise a new
        alert is opened. Named with a trailing underscore because ``raise`` is a Python
        keyword. A severity outside :class:`Severity` raises
        :class:`~hardstore.InvalidArgument`."""
        t, s, k, m = (to_text(tenant, "tenant"), to_text(source, "source"),
                      to_text(dedup_key, "dedup_key"), to_text(message, "message"))
        out = hardstore_alert_raised()
        lib.hardstore_alert_raise(self._h, t, len(t), s, len(s), k, len(k), int(severity),
                                  m, len(m), int(durability), byref(out))
        return Raised(out.id, out.count, bool(out.created), AlertState(out.state))

    def acknowledge(self, id: int, by: Text = "") -> None:
        """Acknowledges alert ``id`` on behalf of ``by``, durably. Acknowledging an
        acknowledged alert changes nothing; a resolved one raises
        :class:`~hardstore.InvalidArgument`, an unknown (or purged) id
        :class:`~hardstore.NotFound`."""
        b = to_text(by, "by")
        lib.hardstore_alert_acknowledge(self._h, int(id), b, len(b))

    def resolve(self, id: int, by: Text = "", resolution: Text = "") -> None:
        """Resolves alert ``id`` on behalf of ``by`` with a ``resolution`` note,
        durably. Resolving a resolved alert changes nothing; an unknown (or purged) id
        raises :class:`~hardstore.NotFound`."""
        b, r = to_text(by, "by"), to_text(resolution, "resolution")
        lib.hardstore_alert_resolve(self._h, int(id), b, len(b), r, len(r))

    def resolve_key(self, tenant: Text, dedup_key: Text, by: Text = "",
                    resolution: Text = "") -> Optional[int]:
        """Resolves the alert not resolved under (``tenant``, ``dedup_key``), durably,
        and returns its id; ``None`` when there is none (nothing changes then)."""
        t, k = to_text(tenant, "tenant"), to_text(dedup_key, "dedup_key")
        b, r = to_text(by, "by"), to_text(resolution, "resolution")
        resolved, rid = c_bool(False), c_uint64(0)
        lib.hardstore_alert_resolve_key(self._h, t, len(t), k, len(k), b, len(b), r, len(r),
                                        byref(resolved), byref(rid))
        return rid.value if resolved.value else None

    def get(self, id: int) -> Alert:
        """Alert ``id``. :class:`~hardstore.NotFound` when unknown or purged."""
        p = ctypes.POINTER(hardstore_alert)()
        lib.hardstore_alert_get(self._h, int(id), byref(p))
        try:
            return _alert(p)
        finally:
            lib.hardstore_alert_free(p)

    def _page(self, scope: int, tenant: bytes, source: bytes, min_severity: int, limit: int,
              cursor: Optional[bytes]) -> Tuple[List[Alert], Optional[bytes]]:
        cur = bytes(cursor) if cursor is not None else b""
        it = ctypes.POINTER(hardstore_alert_iter)()
        lib.hardstore_alert_list(self._h, scope, tenant, len(tenant), source, len(source),
                                 min_severity, limit, cur, len(cur), byref(it))
        if not it:
            return [], None
        try:
            alerts = []
            p = ctypes.POINTER(hardstore_alert)()
            while True:
                lib.hardstore_alert_iter_next(it, byref(p))
                if not p:
                    break
                alerts.append(_alert(p))
            c = ctypes.POINTER(hardstore_bytes)()
            lib.hardstore_alert_iter_cursor(it, byref(c))
            return alerts, take_bytes(c)
        finally:
            lib.hardstore_alert_iter_free(it)

    def list(self, scope: Union[AlertScope, int] = AlertScope.OPEN, *, tenant: Optional[Text] = None,
             source: Optional[Text] = None, min_severity: Union[Severity, int] = Severity.INFO,
             page_size: Optional[int] = None, cursor: Optional[bytes] = None) -> PagedQuery[Alert]:
        """Alerts in ``scope`` (default: the ones not resolved), newest first (highest id
        first), of ``tenant`` and raised by ``source`` when given (``None`` or empty: any),
        of at least ``min_severity``. Pages of ``page_size`` (1..=10000, default 100):
        iterate for every match, pages fetched lazily, or take
        ``.first_page()`` for one :class:`~hardstore.Page` and pass its ``next_cursor``
        as ``cursor=`` to continue. The first page is read at once, so bad arguments
        (scope, severity, page size, cursor) raise :class:`~hardstore.InvalidArgument`
        here; the first iteration uses that page, later ones read again."""
        args = (int(scope), to_text(tenant, "tenant"), to_text(source, "source"), int(min_severity),
                DEFAULT_PAGE if page_size is None else int(page_size))
        first = [self._page(*args, cursor)]

        def fetch(cur: Optional[bytes]) -> Tuple[List[Alert], Optional[bytes]]:
            if first and cur == cursor:
                return first.pop()
            return self._page(*args, cur)

        return PagedQuery(fetch, cursor)

    def counts(self) -> AlertCounts:
        """How many alerts are not resolved, and how many resolved ones are kept."""
        unresolved, resolved = c_uint64(0), c_uint64(0)
        lib.hardstore_alert_counts(self._h, byref(unresolved), byref(resolved))
        return AlertCounts(unresolved.value, resolved.value)

    def purgeable(self, older_than_us: int) -> int:
        """How many alerts resolved at least ``older_than_us`` microseconds ago (by the
        store's clock) :meth:`purge_resolved` would delete now. Changes nothing."""
        n = c_uint64(0)
        lib.hardstore_alert_purgeable(self._h, int(older_than_us), byref(n))
        return n.value

    def purge_resolved(self, older_than_us: int, confirm: int = 0) -> int:
        """Deletes the alerts resolved at least ``older_than_us`` microseconds ago,
        durably (each batch with an audit entry, tenant ``hardstore``, action
        ``alert.purge``), and returns how many. When that is more than ``confirm`` it
        deletes nothing and raises :class:`~hardstore.ConfirmationRequired`, whose
        message names the count: get it first with :meth:`purgeable`."""
        n = c_uint64(0)
        lib.hardstore_alert_purge_resolved(self._h, int(older_than_us), int(confirm), byref(n))
        return n.value
