"""Health: the store grades itself healthy, degraded or critical from checks it runs or
reads, each a :class:`Component` with its status, the reason and the figure it measured.

:meth:`Store.health <hardstore.Store.health>` runs the fast checks (``writer``,
``audit``, ``dead_letters``, ``backups``, ``restore_points``, ``requests``,
``file_size``, ``disk_free``, in that order); ``deep=True`` adds ``integrity``, which
reads the whole store. It writes nothing unless ``raise_alerts=True``: then a component
that turned degraded or critical raises an alert (tenant ``hardstore``, source
``health``, dedup key the component's name; severity ``WARNING`` or ``CRITICAL``) and
one that turned healthy again resolves it. A grade that did not change writes nothing,
so calling it on a timer raises each alert once.

Where the grades fall is a setting of the store, :class:`HealthThresholds`: read it with
``store.settings.health_thresholds()``, change it with
``store.settings.set_health_thresholds(...)`` (audited), or seed a new store with the
``health_thresholds`` option.
"""

from __future__ import annotations

import ctypes
import enum
from ctypes import byref
from dataclasses import dataclass
from typing import Any, List, Optional

from ._lib import borrowed, lib
from ._structs import (
    hardstore_health_component,
    hardstore_health_report,
    hardstore_health_summary,
    hardstore_health_thresholds,
)
from .errors import InvalidArgument, Result


class Grade(enum.IntEnum):
    """A grade, of one component or of the store (its worst component's):
    ``HARDSTORE_HEALTHY``, ``_DEGRADED``, ``_CRITICAL``. Ordered:
    ``HEALTHY < DEGRADED < CRITICAL``."""

    HEALTHY = 0
    DEGRADED = 1
    CRITICAL = 2


@dataclass
class HealthThresholds:
    """Where health grades healthy, degraded and critical, as the C struct
    ``hardstore_health_thresholds`` has it. Durations are microseconds. The defaults are
    the library's (:meth:`default` reads them from it).

    Attributes:
        window_us: the window of the request figures, counted back from now (5 min).
        error_permille_degraded: errors per thousand requests that degrade (50).
        error_permille_critical: errors per thousand requests that are critical (250).
        p95_degraded_us: a p95 request duration that degrades (500 ms).
        p95_critical_us: a p95 request duration that is critical (2 s).
        dead_letters_degraded: dead letters (dead, not purged) that degrade (1).
        dead_letters_critical: dead letters that are critical (1000).
        file_size_limit: the file size (with its redo log) that is critical, 90% of it
            degrades; ``None``: no limit (the default). ``0`` is refused.
        disk_free_degraded: free bytes below which it is degraded (1 GiB).
        disk_free_critical: free bytes below which it is critical (256 MiB).
        backups_expected: whether a store with no successful backup is degraded.

    Thresholds that grade nothing sensibly (a critical line before the degraded one, a
    zero window) raise :class:`~hardstore.InvalidArgument` where they are used.
    """

    window_us: int = 300_000_000
    error_permille_degraded: int = 50
    error_permille_critical: int = 250
    p95_degraded_us: int = 500_000
    p95_critical_us: int = 2_000_000
    dead_letters_degraded: int = 1
    dead_letters_critical: int = 1000
    file_size_limit: Optional[int] = None
    disk_free_degraded: int = 1 << 30
    disk_free_critical: int = 256 << 20
    backups_expected: bool = False

    @classmethod
    def default(cls) -> "HealthThresholds":
        """The library's default thresholds, read from the library."""
        t = hardstore_health_thresholds()
        lib.hardstore_health_thresholds_default(byref(t))
        return cls._from_c(t)

    @classmethod
    def _from_c(cls, t: hardstore_health_thresholds) -> "HealthThresholds":
        return cls(
            window_us=t.window_us,
            error_permille_degraded=t.error_permille_degraded,
            error_permille_critical=t.error_permille_critical,
            p95_degraded_us=t.p95_degraded_us,
            p95_critical_us=t.p95_critical_us,
            dead_letters_degraded=t.dead_letters_degraded,
            dead_letters_critical=t.dead_letters_critical,
            file_size_limit=t.file_size_limit or None,
            disk_free_degraded=t.disk_free_degraded,
            disk_free_critical=t.disk_free_critical,
            backups_expected=bool(t.backups_expected),
        )

    def _to_c(self) -> hardstore_health_thresholds:
        if self.file_size_limit is not None and int(self.file_size_limit) == 0:
            # The C struct spells "no limit" as 0: refuse a limit of zero rather than
            # silently turning it into none (the Rust API refuses it too).
            raise InvalidArgument(
                Result.INVALID_ARGUMENT,
                "health thresholds: a file size limit must be above zero (None: no limit)",
                None,
            )
        return hardstore_health_thresholds(
            window_us=int(self.window_us),
            error_permille_degraded=int(self.error_permille_degraded),
            error_permille_critical=int(self.error_permille_critical),
            p95_degraded_us=int(self.p95_degraded_us),
            p95_critical_us=int(self.p95_critical_us),
            dead_letters_degraded=int(self.dead_letters_degraded),
            dead_letters_critical=int(self.dead_letters_critical),
            file_size_limit=int(self.file_size_limit or 0),
            disk_free_degraded=int(self.disk_free_degraded),
            disk_free_critical=int(self.disk_free_critical),
            backups_expected=bool(self.backups_expected),
        )


@dataclass(frozen=True)
class Component:
    """One check's outcome: its ``name`` (``writer``, ``audit``, ...), its ``status``,
    the ``reason`` (for a person: what was measured against which threshold, or the
    error), the figure it measured (``value``; ``None`` when there was nothing to
    measure, such as the age of the last backup when none was taken) and its ``unit``
    (``bytes``, ``ratio``, ``us``, ``entries``, ``count``)."""

    name: str
    status: Grade
    reason: str
    value: Optional[float]
    unit: str


@dataclass(frozen=True)
class HealthReport:
    """A health report: the store's ``grade`` (the worst component's), the time since
    the store was opened (``uptime_us``), when the checks ran (``checked_at``, the
    store's clock, microseconds since the epoch), every component in the order they
    ran, and the alerts this check raised and resolved (with ``raise_alerts``)."""

    grade: Grade
    uptime_us: int
    checked_at: int
    components: List[Component]
    alerts_raised: int
    alerts_resolved: int

    def component(self, name: str) -> Optional[Component]:
        """The component named ``name``, ``None`` when the report has none."""
        for c in self.components:
            if c.name == name:
                return c
        return None


def _text(ptr: Any, n: int) -> str:
    return borrowed(ptr, n).decode("utf-8")


def run_health(store_handle: Any, deep: bool, raise_alerts: bool) -> HealthReport:
    """Runs the checks on a live store handle and copies the report out (every string
    copied before the report is freed)."""
    report = ctypes.POINTER(hardstore_health_report)()
    lib.hardstore_store_health(store_handle, bool(deep), bool(raise_alerts), byref(report))
    try:
        s = hardstore_health_summary()
        lib.hardstore_health_report_summary(report, byref(s))
        components = []
        for i in range(s.components):
            c = hardstore_health_component()
            lib.hardstore_health_report_component(report, i, byref(c))
            components.append(Component(
                name=_text(c.name, c.name_len),
                status=Grade(c.status),
                reason=_text(c.reason, c.reason_len),
                value=float(c.value) if c.has_value else None,
                unit=_text(c.unit, c.unit_len),
            ))
        return HealthReport(
            grade=Grade(s.grade),
            uptime_us=s.uptime_us,
            checked_at=s.checked_at,
            components=components,
            alerts_raised=s.alerts_raised,
            alerts_resolved=s.alerts_resolved,
        )
    finally:
        lib.hardstore_health_report_free(report)
