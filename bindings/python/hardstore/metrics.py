"""Metrics: the store's own figures, for a Prometheus scrape, and the app's counters,
gauges and histograms beside them.

:meth:`Metrics.snapshot` gives the store's figures as a :class:`MetricsSnapshot`;
:meth:`Metrics.prometheus_text` and :meth:`Metrics.openmetrics_text` give them, with the
app's metrics, as an exposition text (the Prometheus text format 0.0.4, or OpenMetrics
1.0 ending in ``# EOF``) to serve with :data:`PROMETHEUS_CONTENT_TYPE` or
:data:`OPENMETRICS_CONTENT_TYPE`.

The store's series (``hardstore_`` names are the store's own):

- ``hardstore_audit_entries_total`` (counter): audit entries appended, ever;
- ``hardstore_log_entries_appended_total`` (counter): log entries appended to the ring,
  ever;
- ``hardstore_log_ring_entries`` (gauge): entries the ring holds now;
- ``hardstore_dead_letters{state}`` (gauge): dead letters per state (``pending``,
  ``leased``, ``done``, ``dead``);
- ``hardstore_alerts{state}`` (gauge): alerts ``unresolved``, and ``resolved`` ones kept;
- ``hardstore_restore_points`` (gauge): restore points held;
- ``hardstore_backups{result}`` (gauge): cataloged backup runs, ``ok`` and ``failed``;
- ``hardstore_file_bytes`` (gauge): the store file with its redo log;
- ``hardstore_write_batches_total``, ``hardstore_writes_total``,
  ``hardstore_write_syncs_total`` (counters): group commits, writes and syncs since the
  open;
- ``hardstore_uptime_seconds`` (gauge): time since the open;
- ``hardstore_metrics_refused_total`` (counter): app series refused (over the cap, or a
  malformed label set) since the open.

App metrics are registered on first use (:meth:`Metrics.counter_add`,
:meth:`Metrics.gauge_set`, :meth:`Metrics.histogram_observe`) under a name of
``[a-zA-Z_:][a-zA-Z0-9_:]*`` (at most 128 bytes, not starting ``hardstore_``, which is
the store's own), a help text (at most 1024 bytes) and up to 16 labels. The labels are a
``dict`` of name to value, in its insertion order: the first use fixes the label names
(``[a-zA-Z_][a-zA-Z0-9_]*``) and their order, and every later use must give the same
names in the same order. Values are at most 256 bytes, without NUL. A name used again as
another kind, with other label names, or (a histogram) with other buckets raises
:class:`~hardstore.InvalidArgument`; a new series past the store's cap raises
:class:`~hardstore.LimitReached` (and is counted in ``hardstore_metrics_refused_total``).

Counters are durable: a scrape (either text) first writes every changed counter, as do
checkpoints, close and :meth:`Metrics.persist`, and an exposition shows each counter as
last written, so a value a scrape saw is on disk and a reopen (even after a crash)
starts from at least it: a counter never goes back. After a reopen a stored counter is
shown again once its name is used (``counter_add(name, 0, labels)`` registers it
without counting). Gauges and histograms live in memory and start empty at every open.
"""

from __future__ import annotations

import ctypes
import operator
from ctypes import byref, c_double, c_uint64
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from ._common import StoreBound
from ._lib import lib, take_bytes, to_text
from ._structs import hardstore_bytes, hardstore_label, hardstore_metrics_snapshot, u8p
from .errors import InvalidArgument, Result

Text = Union[str, bytes]
Labels = Optional[Mapping[Text, Text]]

#: ``hardstore_metrics_encode`` format: the Prometheus text format, version 0.0.4.
METRICS_PROMETHEUS = 0
#: ``hardstore_metrics_encode`` format: OpenMetrics 1.0 text.
METRICS_OPENMETRICS = 1

#: The HTTP ``Content-Type`` of :meth:`Metrics.prometheus_text`.
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: The HTTP ``Content-Type`` of :meth:`Metrics.openmetrics_text`.
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

#: Longest app metric or label name, in bytes (``HARDSTORE_LIMIT_METRIC_NAME``).
MAX_NAME = 128
#: Longest label value, in bytes (``HARDSTORE_LIMIT_METRIC_LABEL_VALUE``).
MAX_LABEL_VALUE = 256
#: Longest help text, in bytes (``HARDSTORE_LIMIT_METRIC_HELP``).
MAX_HELP = 1024
#: The most labels an app metric may have (``HARDSTORE_LIMIT_METRIC_LABELS``).
MAX_LABELS = 16

_U64_MAX = (1 << 64) - 1
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


@dataclass(frozen=True)
class MetricsSnapshot:
    """The store's figures at one moment (the C struct ``hardstore_metrics_snapshot``).

    Attributes:
        audit_entries: audit entries appended, ever.
        log_entries_appended: log entries appended to the ring, ever.
        log_ring_entries: entries the ring holds now.
        dead_letters_pending: dead letters pending.
        dead_letters_leased: dead letters leased.
        dead_letters_done: dead letters done (not purged).
        dead_letters_dead: dead letters dead (not purged).
        alerts_unresolved: alerts not resolved.
        alerts_resolved: resolved alerts kept.
        restore_points: restore points held.
        backups_ok: cataloged backup runs that succeeded.
        backups_failed: cataloged backup runs that failed or were interrupted.
        file_bytes: the store file with its redo log, bytes (0 for a store not in a file).
        write_batches: group commits since the open.
        writes: writes since the open.
        write_syncs: synced commits since the open.
        uptime_seconds: seconds since the open.
    """

    audit_entries: int
    log_entries_appended: int
    log_ring_entries: int
    dead_letters_pending: int
    dead_letters_leased: int
    dead_letters_done: int
    dead_letters_dead: int
    alerts_unresolved: int
    alerts_resolved: int
    restore_points: int
    backups_ok: int
    backups_failed: int
    file_bytes: int
    write_batches: int
    writes: int
    write_syncs: int
    uptime_seconds: float


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(Result.INVALID_ARGUMENT, message, None)


def _ptr(data: bytes, keep: List[Any]) -> Any:
    """A ``const uint8_t *`` to a copy of ``data`` kept alive in ``keep``."""
    buf = ctypes.create_string_buffer(data, len(data))
    keep.append(buf)
    return ctypes.cast(buf, u8p)


def _labels(labels: Labels) -> Tuple[Any, int, List[Any]]:
    """The C label array for ``labels`` (in the mapping's order), its length, and the
    buffers it points into (keep them until the call returns)."""
    if labels is None:
        return None, 0, []
    if not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a dict of name to value, not {type(labels).__name__}")
    if not labels:
        return None, 0, []
    keep: List[Any] = []
    arr = (hardstore_label * len(labels))()
    for i, (name, value) in enumerate(labels.items()):
        n, v = to_text(name, "label name"), to_text(value, "label value")
        arr[i].name, arr[i].name_len = _ptr(n, keep), len(n)
        arr[i].value, arr[i].value_len = _ptr(v, keep), len(v)
    return arr, len(labels), keep


class Metrics(StoreBound):
    """The store's metrics (``store.metrics``): its figures as a snapshot or an
    exposition text, and the app's counters, gauges and histograms (see the module
    docs for names, labels and which survive a reopen)."""

    def snapshot(self) -> MetricsSnapshot:
        """The store's figures now (reads only)."""
        s = hardstore_metrics_snapshot()
        lib.hardstore_metrics_get(self._h, byref(s))
        return MetricsSnapshot(**{name: getattr(s, name) for name, _ in s._fields_})

    def _encode(self, fmt: int) -> str:
        out = ctypes.POINTER(hardstore_bytes)()
        lib.hardstore_metrics_encode(self._h, fmt, byref(out))
        data = take_bytes(out)
        return (data or b"").decode("utf-8")

    def prometheus_text(self) -> str:
        """Every figure, the store's then the app's, in the Prometheus text format
        0.0.4 (serve it as :data:`PROMETHEUS_CONTENT_TYPE`). Changed counters are made
        durable first, so what it shows never goes back."""
        return self._encode(METRICS_PROMETHEUS)

    def openmetrics_text(self) -> str:
        """The same figures in OpenMetrics 1.0 text, ending in ``# EOF`` (serve it as
        :data:`OPENMETRICS_CONTENT_TYPE`)."""
        return self._encode(METRICS_OPENMETRICS)

    def counter_add(self, name: Text, by: int = 1, labels: Labels = None, help: Text = "") -> None:
        """Adds ``by`` (an integer, 0 or more) to the app counter ``name`` for the
        ``labels``' values, registering it on first use with ``help`` and the labels'
        names in their order. Exposed as ``<name>_total``; durable (see the module
        docs). ``by=0`` registers it (bringing its stored series back after a reopen)
        without counting."""
        n = operator.index(by)
        if not 0 <= n <= _U64_MAX:
            raise _invalid(f"metric {name!r}: a counter adds 0 to 2**64-1, not {n}")
        nm, hp = to_text(name, "name"), to_text(help, "help")
        arr, count, _keep = _labels(labels)
        lib.hardstore_metrics_counter_add(self._h, nm, len(nm), hp, len(hp), arr, count, n)

    def gauge_set(self, name: Text, value: int, labels: Labels = None, help: Text = "") -> None:
        """Sets the app gauge ``name`` to ``value`` (an integer in the signed 64-bit
        range; gauges hold integers) for the ``labels``' values, registering it on first
        use. Gauges live in memory: 0 again at every open."""
        v = operator.index(value)
        if not _I64_MIN <= v <= _I64_MAX:
            raise _invalid(f"metric {name!r}: a gauge holds a signed 64-bit integer, not {v}")
        nm, hp = to_text(name, "name"), to_text(help, "help")
        arr, count, _keep = _labels(labels)
        lib.hardstore_metrics_gauge_set(self._h, nm, len(nm), hp, len(hp), arr, count, v)

    def histogram_observe(self, name: Text, value: float, buckets: Sequence[float],
                          labels: Labels = None, help: Text = "") -> None:
        """Counts one observation of ``value`` in the app histogram ``name`` for the
        ``labels``' values, registering it on first use with ``buckets``: the upper
        bounds, finite and strictly ascending, at least one (``+Inf`` is added). Every
        later use must give the same buckets. Histograms live in memory."""
        if isinstance(buckets, (str, bytes)):
            raise TypeError("buckets must be a sequence of numbers, not a string")
        bounds = [float(b) for b in buckets]
        arr_b = (c_double * len(bounds))(*bounds) if bounds else None
        nm, hp = to_text(name, "name"), to_text(help, "help")
        arr, count, _keep = _labels(labels)
        lib.hardstore_metrics_histogram_observe(self._h, nm, len(nm), hp, len(hp), arr, count,
                                                arr_b, len(bounds), float(value))

    def refused(self) -> int:
        """App series refused since the open (over the store's cap, or malformed labels)."""
        n = c_uint64(0)
        lib.hardstore_metrics_refused(self._h, byref(n))
        return n.value

    def persist(self) -> int:
        """Makes every app counter's current value durable (one durable write, when any
        changed) and returns how many series it wrote (0 when none changed since the
        last persist, scrape or checkpoint)."""
        n = c_uint64(0)
        lib.hardstore_metrics_persist(self._h, byref(n))
        return n.value
