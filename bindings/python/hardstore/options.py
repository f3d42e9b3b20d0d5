"""Store options, turned into a ``hardstore_options`` handle for the calls that take one."""

from __future__ import annotations

import ctypes
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, Union

from ._lib import lib, to_bytes, to_path
from ._structs import hardstore_options
from .errors import InvalidArgument, Result

if TYPE_CHECKING:  # pragma: no cover
    from .clock import ManualClock
    from .dead_letters import RetryPolicy
    from .health import HealthThresholds


@dataclass
class Options:
    """Options for opening (or restoring into) a store. ``None`` keeps the library's
    default.

    Attributes:
        audit_key: the secret the checkpoint MAC key is derived from (1..=1024 bytes).
        flush_interval_ms: the longest a buffered write stays unsynced (0: every batch).
        max_batch: the most writes gathered into one transaction (at least 1).
        log_capacity: how many log entries the ring keeps (default 100,000).
        redact_logs: PII redaction of log messages and field values (default on).
        idempotency_ttl_ms: how long an idempotency key lives (default 24 h).
        max_restore_points: how many restore points may exist (default 32).
        dlq_policy: the retry policy failed dead letters are rescheduled with.
        dlq_purge_after_us: how long Done and Dead items are kept (default 7 days).
        clock: a :class:`~hardstore.ManualClock` to read instead of the system clock.
        health_thresholds: a new store's :class:`~hardstore.HealthThresholds` (an
            existing store keeps its own; change them with
            ``store.settings.set_health_thresholds``).
        metrics_max_series: the most app metric series (all families together) this open
            accepts (default 10,000); past it a new series raises ``LimitReached``.
        alert_retention_us: for a new store, how long resolved alerts are kept before
            maintenance deletes them (default 30 days; an existing store keeps its own,
            change it with ``store.settings.set_alert_retention_us``).
        janitor_interval_us: runs maintenance every this many microseconds (above 0) on
            a thread of the store's own, from the open until the store is closed
            (default: no janitor). :meth:`janitor` sets it with the folder below.
        janitor_backups_into: a folder the janitor also runs the backups the store's
            schedule has due into (only with ``janitor_interval_us``).
    """

    audit_key: Optional[Union[bytes, str]] = None
    flush_interval_ms: Optional[int] = None
    max_batch: Optional[int] = None
    log_capacity: Optional[int] = None
    redact_logs: Optional[bool] = None
    idempotency_ttl_ms: Optional[int] = None
    max_restore_points: Optional[int] = None
    dlq_policy: Optional["RetryPolicy"] = None
    dlq_purge_after_us: Optional[int] = None
    clock: Optional["ManualClock"] = None
    health_thresholds: Optional["HealthThresholds"] = None
    alert_retention_us: Optional[int] = None
    metrics_max_series: Optional[int] = None
    janitor_interval_us: Optional[int] = None
    janitor_backups_into: Optional[Any] = None

    def janitor(self, interval_us: int, backups_into: Optional[Any] = None) -> "Options":
        """Sets the janitor: maintenance every ``interval_us`` (above 0; 0 raises
        :class:`~hardstore.InvalidArgument` at the open) on a thread of the store's own,
        also running the backups the schedule has due into ``backups_into`` when given.
        Returns these options, to chain: ``hardstore.open(path, Options().janitor(60_000_000))``."""
        self.janitor_interval_us = int(interval_us)
        self.janitor_backups_into = backups_into
        return self

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "Options":
        """Options from keyword arguments, refusing unknown names with ``TypeError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown store option(s): {', '.join(unknown)}")
        return cls(**kwargs)

    @contextmanager
    def _handle(self) -> Iterator[Any]:
        """A new ``hardstore_options`` with these settings, freed on exit."""
        ptr = ctypes.POINTER(hardstore_options)()
        lib.hardstore_options_new(ctypes.byref(ptr))
        try:
            if self.audit_key is not None:
                key = to_bytes(self.audit_key, "audit_key")
                lib.hardstore_options_set_audit_key(ptr, key, len(key))
            if self.flush_interval_ms is not None:
                lib.hardstore_options_set_flush_interval_ms(ptr, int(self.flush_interval_ms))
            if self.max_batch is not None:
                lib.hardstore_options_set_max_batch(ptr, int(self.max_batch))
            if self.log_capacity is not None:
                lib.hardstore_options_set_log_capacity(ptr, int(self.log_capacity))
            if self.redact_logs is not None:
                lib.hardstore_options_set_redact_logs(ptr, bool(self.redact_logs))
            if self.idempotency_ttl_ms is not None:
                lib.hardstore_options_set_idempotency_ttl_ms(ptr, int(self.idempotency_ttl_ms))
            if self.max_restore_points is not None:
                lib.hardstore_options_set_max_restore_points(ptr, int(self.max_restore_points))
            if self.dlq_policy is not None:
                policy = self.dlq_policy._to_c()
                lib.hardstore_options_set_dlq_policy(ptr, ctypes.byref(policy))
            if self.dlq_purge_after_us is not None:
                lib.hardstore_options_set_dlq_purge_after_us(ptr, int(self.dlq_purge_after_us))
            if self.clock is not None:
                lib.hardstore_options_set_clock(ptr, self.clock._live())
            if self.health_thresholds is not None:
                thresholds = self.health_thresholds._to_c()
                lib.hardstore_options_set_health_thresholds(ptr, ctypes.byref(thresholds))
            if self.alert_retention_us is not None:
                lib.hardstore_options_set_alert_retention_us(ptr, int(self.alert_retention_us))
            if self.metrics_max_series is not None:
                lib.hardstore_options_set_metrics_max_series(ptr, int(self.metrics_max_series))
            if self.janitor_interval_us is not None:
                folder = (b"" if self.janitor_backups_into is None
                          else to_path(self.janitor_backups_into))
                lib.hardstore_options_set_janitor(ptr, int(self.janitor_interval_us), folder,
                                                  len(folder))
            elif self.janitor_backups_into is not None:
                raise InvalidArgument(
                    Result.INVALID_ARGUMENT,
                    "janitor_backups_into needs janitor_interval_us (the janitor runs them)",
                    None,
                )
            yield ptr
        finally:
            lib.hardstore_options_free(ptr)


def options_from(options: Optional[Options], kwargs: Dict[str, Any]) -> Options:
    """An :class:`Options` from either an instance or keyword arguments (not both)."""
    if options is not None and kwargs:
        raise TypeError("pass either options= or keyword options, not both")
    return options if options is not None else Options.from_kwargs(**kwargs)
