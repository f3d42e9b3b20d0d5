"""Maintenance: every cleanup the store's own settings say is due, in bounded steps, with
a report of what it did; and the janitor, a thread of the store's own that runs it on an
interval.

One run (:meth:`Store.maintenance <hardstore.Store.maintenance>`) does, in this order,
at most ``step`` items of each task:

1. deletes expired idempotency keys (their TTL passed);
2. deletes Done and Dead dead letters older than the ``dead_letter_purge_after``
   setting;
3. deletes resolved alerts older than the ``alert_retention`` setting (default 30 days;
   read it with ``store.settings.alert_retention_us()``, change it with
   ``store.settings.set_alert_retention_us(...)``, seed a new store with the
   ``alert_retention_us`` option);
4. runs the backup the store's schedule says is due, when given ``backups_into``;
5. deletes the backups the store's retention setting drops.

What it deletes is what the store's settings (changed only by audited calls) say has
expired. A task that fails is reported in :attr:`MaintenanceReport.errors` and the
others still run; :attr:`MaintenanceReport.more_due` says a task stopped at its step:
run again.

The janitor (the ``janitor_interval_us`` option, or :meth:`Options.janitor
<hardstore.Options.janitor>`) runs maintenance every interval on a thread of the store's
own, from the open until the store is closed; :meth:`Store.janitor_status
<hardstore.Store.janitor_status>` says what it did.
"""

from __future__ import annotations

import ctypes
from ctypes import byref
from dataclasses import dataclass
from typing import Any, List, Optional

from ._lib import borrowed, lib, take_bytes, to_path
from ._structs import (
    hardstore_bytes,
    hardstore_janitor_status,
    hardstore_maintenance_report,
    hardstore_maintenance_summary,
    u8p,
)
from .errors import InvalidArgument, Result

#: Items per task per run when ``step`` is 0 (the library's default).
DEFAULT_STEP = 10_000


@dataclass(frozen=True)
class TaskError:
    """A task that failed in a run: its name (``idempotency``, ``dead_letters``,
    ``alerts``, ``backup`` or ``backup_retention``) and the error, for a person."""

    task: str
    error: str


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance run did: the expired idempotency keys, dead letters and
    resolved alerts it deleted; whether it ran a due backup (``backup_run``) and that
    backup's catalog id (``backup_id``, ``None`` when none ran); the backups the
    retention setting dropped; whether a task stopped at its step with more left
    (``more_due``: run again); and the tasks that failed (the others ran)."""

    idempotency_expired: int
    dead_letters_purged: int
    alerts_purged: int
    backup_run: bool
    backup_id: Optional[int]
    backups_pruned: int
    #: Sealed fields' data keys re-wrapped by the primary key (a rotation's step).
    keys_rewrapped: int
    #: Audit entries whose payloads were pruned past the audit retention.
    audit_pruned: int
    more_due: bool
    errors: List[TaskError]


@dataclass(frozen=True)
class JanitorStatus:
    """What the janitor did since the store was opened: the runs it finished, whether
    its last run as a whole failed, how many tasks failed in its last run, and the last
    error (the run's, else the first failed task's as ``task: error``; ``None``: none)."""

    runs: int
    last_run_failed: bool
    last_task_errors: int
    last_error: Optional[str] = None


def _text(ptr: Any, n: int) -> str:
    return borrowed(ptr, n).decode("utf-8", "replace")


def run_maintenance(store_handle: Any, step: int, backups_into: Any) -> MaintenanceReport:
    """Runs maintenance on a live store handle and copies the report out (every string
    copied before the report is freed)."""
    if int(step) < 0:
        raise InvalidArgument(Result.INVALID_ARGUMENT,
                              f"maintenance: step must be 0 (the default) or above, not {step}",
                              None)
    folder = b"" if backups_into is None else to_path(backups_into)
    report = ctypes.POINTER(hardstore_maintenance_report)()
    lib.hardstore_store_maintenance(store_handle, int(step), folder, len(folder), byref(report))
    try:
        s = hardstore_maintenance_summary()
        lib.hardstore_maintenance_report_summary(report, byref(s))
        errors = []
        for i in range(s.errors):
            task, task_len = u8p(), ctypes.c_size_t(0)
            err, err_len = u8p(), ctypes.c_size_t(0)
            lib.hardstore_maintenance_report_error(report, i, byref(task), byref(task_len),
                                                   byref(err), byref(err_len))
            errors.append(TaskError(_text(task, task_len.value), _text(err, err_len.value)))
        return MaintenanceReport(
            idempotency_expired=s.idempotency_expired,
            dead_letters_purged=s.dead_letters_purged,
            alerts_purged=s.alerts_purged,
            backup_run=bool(s.backup_run),
            backup_id=s.backup_id if s.backup_run else None,
            backups_pruned=s.backups_pruned,
            keys_rewrapped=s.keys_rewrapped,
            audit_pruned=s.audit_pruned,
            more_due=bool(s.more_due),
            errors=errors,
        )
    finally:
        lib.hardstore_maintenance_report_free(report)


def janitor_status(store_handle: Any) -> Optional[JanitorStatus]:
    """The janitor's status on a live store handle; ``None`` without a janitor."""
    st = hardstore_janitor_status()
    lib.hardstore_store_janitor_status(store_handle, byref(st))
    if not st.present:
        return None
    err = ctypes.POINTER(hardstore_bytes)()
    lib.hardstore_store_janitor_last_error(store_handle, byref(err))
    text = take_bytes(err)
    return JanitorStatus(runs=st.runs, last_run_failed=bool(st.last_run_failed),
                         last_task_errors=st.last_task_errors,
                         last_error=None if text is None else text.decode("utf-8", "replace"))
