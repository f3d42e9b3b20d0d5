"""The store: opening, closing, and the way into each area."""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from ctypes import byref
from typing import Any, List, Optional

from ._common import Durability, Owned, closed_error
from ._lib import lib, to_path
from ._structs import hardstore_store
from .alerts import Alerts
from .audit import Audit
from .backups import Backups
from .dead_letters import DeadLetters
from .health import HealthReport, run_health
from .idempotency import Idempotency
from .ip_rules import IpRules
from .kv import KV
from .logs import Logs
from .maintenance import JanitorStatus, MaintenanceReport, janitor_status, run_maintenance
from .metrics import Metrics
from .options import Options, options_from
from .rate_limits import RateLimits
from .restore_points import RestorePoints
from .sealing import Sealing
from .settings import StoreSettings
from .tx import Transaction
from .webhooks import Webhooks


class Store:
    """An open store. Thread-safe: one store may be used from many threads at once
    (but :meth:`close` must not race with other calls).

    Areas: :attr:`audit`, :attr:`logs`, :attr:`idempotency` (also :attr:`idem`),
    :attr:`kv` (app state), :attr:`dead_letters` (also :attr:`dlq`), :attr:`alerts`,
    :attr:`restore_points`, :attr:`backups`, :attr:`settings`, :attr:`metrics` (the
    store's figures for a Prometheus scrape, and the app's own), :attr:`rate_limits`,
    :attr:`ip_rules` (allow and deny lists of networks), :attr:`sealing` (sealed fields:
    values encrypted per subject, shredded per subject), :attr:`webhooks` (the webhook
    outbox: endpoints, signed deliveries, retries); its own health through
    :meth:`health`; its cleanups through :meth:`maintenance` (and the janitor, see
    :meth:`janitor_status`); multi-area writes through :meth:`transaction`. Use it as a
    context manager to close it on exit.
    """

    def __init__(self, path: Any, options: Optional[Options] = None, **kwargs: Any) -> None:
        """Opens (or creates, if absent or empty) the store at ``path``. Keyword
        arguments are :class:`Options` fields. Raises :class:`~hardstore.NotAStore`,
        :class:`~hardstore.FormatTooNew`, :class:`~hardstore.AlreadyOpen`,
        :class:`~hardstore.IoError`..."""
        self._ptr: Any = None
        self._lock = threading.Lock()
        self._children: "weakref.WeakSet[Owned]" = weakref.WeakSet()
        self._kept: List[Owned] = []  # children that live until stopped or the store closes
        # C callbacks the library may call until the store is closed (the sealing key
        # source): ctypes frees a callback's thunk with its Python object.
        self._callbacks: List[Any] = []
        self.path = os.fspath(path)
        p = to_path(path)
        ptr = ctypes.POINTER(hardstore_store)()
        with options_from(options, kwargs)._handle(self._callbacks) as o:
            lib.hardstore_store_open(p, len(p), o, byref(ptr))
        self._ptr = ptr
        self.audit = Audit(self)
        self.logs = Logs(self)
        self.idempotency = self.idem = Idempotency(self)
        self.kv = KV(self)
        self.dead_letters = self.dlq = DeadLetters(self)
        self.alerts = Alerts(self)
        self.restore_points = RestorePoints(self)
        self.settings = StoreSettings(self)
        self.backups = Backups(self)
        self.metrics = Metrics(self)
        self.rate_limits = RateLimits(self)
        self.ip_rules = IpRules(self)
        self.sealing = Sealing(self)
        self.webhooks = Webhooks(self)

    @property
    def _handle(self) -> Any:
        ptr = self._ptr
        if not ptr:
            raise closed_error("the store was closed")
        return ptr

    def _adopt(self, child: Owned, keep: bool = False) -> None:
        """Tracks an object that must be freed before the store closes; with ``keep``
        the store also keeps it alive (a background schedule runs until stopped)."""
        self._children.add(child)
        if keep:
            self._kept = [c for c in self._kept if not c.closed]
            self._kept.append(child)

    @property
    def closed(self) -> bool:
        """Whether the store was closed."""
        return not self._ptr

    @property
    def id(self) -> bytes:
        """The store's 16-byte random id."""
        out = (ctypes.c_uint8 * 16)()
        lib.hardstore_store_id(self._handle, out)
        return bytes(out)

    def flush(self) -> None:
        """Makes every write acknowledged so far durable."""
        lib.hardstore_store_flush(self._handle)

    def replicate(self, url: str, lag_ms: int = 1000) -> None:
        """Starts replicating to ``url`` (``s3://bucket/prefix``, ``gs://``, ``az://``,
        ``file:///path``; settings from ``AWS_*`` / ``GOOGLE_*`` / ``AZURE_*``
        environment variables): a snapshot, then every committed batch within
        ``lag_ms``, until the store is closed."""
        from .replication import replicate

        replicate(self._handle, url, lag_ms)

    def replication_status(self) -> "Optional[ReplicationStatus]":
        """Where replication stands (``None`` when this open does not replicate)."""
        from .replication import status

        return status(self._handle)

    def wait_replicated(self, timeout_s: float = 30.0) -> bool:
        """Waits until every batch committed so far is in the replica (at most
        ``timeout_s``); whether it is."""
        from .replication import wait

        return wait(self._handle, timeout_s)

    def health(self, deep: bool = False, raise_alerts: bool = False) -> HealthReport:
        """Runs the health checks and returns a :class:`~hardstore.HealthReport`: the
        fast checks, and with ``deep`` the ``integrity`` check too (it reads the whole
        store, so it takes time in proportion to its size). It writes nothing unless
        ``raise_alerts``: then each component whose grade changed raises (degraded or
        critical) or resolves (healthy again) its alert under tenant ``hardstore``,
        source ``health``, dedup key the component's name, durably and audited. The
        grades follow ``store.settings.health_thresholds()``."""
        return run_health(self._handle, deep, raise_alerts)

    def maintenance(self, step: int = 0, backups_into: Optional[Any] = None) -> MaintenanceReport:
        """Runs every cleanup that is due and returns a
        :class:`~hardstore.MaintenanceReport`: expired idempotency keys, dead letters
        past the purge age and resolved alerts past the alert retention are deleted, at
        most ``step`` items per task (0: the library's default, 10,000; ``more_due`` in
        the report says to run again); with ``backups_into`` (a folder) the backup the
        store's schedule has due is run into it; backups the retention setting drops are
        deleted; audit payloads past the audit retention are pruned (``audit_pruned``;
        see :meth:`Audit.prune <hardstore.audit.Audit.prune>`). A task that fails is in the report's ``errors`` and the others run."""
        return run_maintenance(self._handle, step, backups_into)

    def janitor_status(self) -> Optional[JanitorStatus]:
        """What the janitor did since the open (a :class:`~hardstore.JanitorStatus`),
        ``None`` when the store was opened without one (the ``janitor_interval_us``
        option)."""
        return janitor_status(self._handle)

    def transaction(self, durability: Durability = Durability.DURABLE) -> Transaction:
        """Starts a multi-area :class:`~hardstore.Transaction` that commits with
        ``durability``."""
        return Transaction(self, durability)

    def close(self) -> None:
        """Stops background schedules and the janitor, discards open transactions, flushes buffered
        writes and closes the store. Idempotent; using the store afterwards raises
        :class:`~hardstore.StoreClosed`."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
        if not ptr:
            return
        for child in list(self._children):
            child.close()
        self._kept.clear()
        lib.hardstore_store_close(ptr)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - best effort at collection
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<hardstore.Store {self.path!r} ({state})>"


def open(path: Any, options: Optional[Options] = None, **kwargs: Any) -> Store:  # noqa: A001
    """Opens (or creates) the store at ``path``; use it in a ``with`` block to close it::

        with hardstore.open("app.hardstore", audit_key=b"secret") as store:
            store.audit.append("acme", "invoice.paid", actor="user:42")

    Keyword options: ``audit_key``, ``audit_hash``, ``flush_interval_ms``, ``max_batch``,
    ``log_capacity``, ``redact_logs``, ``idempotency_ttl_ms``, ``max_restore_points``,
    ``dlq_policy``, ``dlq_purge_after_us``, ``clock``, ``health_thresholds``,
    ``alert_retention_us``, ``metrics_max_series``, ``janitor_interval_us``,
    ``janitor_backups_into``, ``rate_limit_max_keys``, ``rate_limit_flush_us``,
    ``sealing_keyset``, ``sealing_key_callback`` (see :class:`Options`).
    """
    return Store(path, options, **kwargs)
