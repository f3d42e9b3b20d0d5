"""Metrics end to end, read back through the reference parser (``prometheus_client``, the
official Python client, a required test dependency): the snapshot and both expositions
carry what was done (dead letters, alerts, the audit entry of a raise), app counters,
gauges and histograms with their labels in both formats, counters persisted by a scrape
and by persist() and back after a reopen, the series cap, and bad input refused with
the right exception."""

from __future__ import annotations

import dataclasses
import math
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional

import pytest

import hardstore
from hardstore import MetricsSnapshot, _structs

try:  # a required test dependency: without it these tests fail, never skip
    from prometheus_client.openmetrics.parser import (
        text_string_to_metric_families as _parse_openmetrics,
    )
    from prometheus_client.parser import text_string_to_metric_families as _parse_prometheus

    _MISSING: Optional[str] = None
except ImportError as e:  # pragma: no cover - the message is the point
    _MISSING = (f"prometheus_client is a required test dependency of the metrics tests "
                f"({e}); install it: pip install prometheus_client")

Families = Dict[str, Any]

BUCKETS = [0.1, 0.5, 1.0]
GET200 = {"method": "GET", "code": "200"}

# The store's own families: name -> type, as the module docs' table has them.
STORE_FAMILIES = {
    "hardstore_audit_entries": "counter",
    "hardstore_log_entries_appended": "counter",
    "hardstore_log_ring_entries": "gauge",
    "hardstore_dead_letters": "gauge",
    "hardstore_alerts": "gauge",
    "hardstore_restore_points": "gauge",
    "hardstore_backups": "gauge",
    "hardstore_file_bytes": "gauge",
    "hardstore_write_batches": "counter",
    "hardstore_writes": "counter",
    "hardstore_write_syncs": "counter",
    "hardstore_uptime_seconds": "gauge",
    "hardstore_metrics_refused": "counter",
}


@pytest.fixture
def parsers() -> Dict[str, Callable[[hardstore.Store], Families]]:
    """Both expositions of a store, each parsed by the reference parser into
    {family name: family}."""
    if _MISSING is not None:
        pytest.fail(_MISSING)

    def families(parse: Callable[[str], Iterable[Any]], text: str) -> Families:
        out: Families = {}
        for f in parse(text):
            assert f.name not in out, f"family {f.name} twice"
            out[f.name] = f
        return out

    return {
        "prometheus": lambda s: families(_parse_prometheus, s.metrics.prometheus_text()),
        "openmetrics": lambda s: families(_parse_openmetrics, s.metrics.openmetrics_text()),
    }


def _value(families: Families, family: str, sample: str, **labels: str) -> float:
    """The value of the one sample named ``sample`` of ``family`` with exactly ``labels``."""
    got = [s.value for s in families[family].samples if s.name == sample and s.labels == labels]
    assert len(got) == 1, (family, sample, labels, families[family].samples)
    return got[0]


def _buckets(families: Families, family: str, **labels: str) -> List[tuple]:
    """A histogram's (upper bound, cumulative count) pairs, in bound order."""
    rows = []
    for s in families[family].samples:
        if s.name == f"{family}_bucket":
            rest = {k: v for k, v in s.labels.items() if k != "le"}
            if rest == labels:
                rows.append((float(s.labels["le"]), s.value))
    return sorted(rows)


def _dead(store: hardstore.Store, n: int) -> None:
    for i in range(n):
        store.dead_letters.record("acme", "email", f"message {i}", error="550 no such user",
                                  permanent=True)


def test_prometheus_client_is_installed() -> None:
    # The reference parser is a required test dependency: missing, this fails.
    assert _MISSING is None, _MISSING


def test_the_snapshot_mirrors_the_c_struct_and_what_was_done(store: hardstore.Store) -> None:
    fields = [f.name for f in dataclasses.fields(MetricsSnapshot)]
    assert fields == [name for name, _ in _structs.hardstore_metrics_snapshot._fields_]
    fresh = store.metrics.snapshot()
    assert isinstance(fresh, MetricsSnapshot)
    assert fresh.audit_entries == fresh.dead_letters_dead == fresh.alerts_unresolved == 0
    assert fresh.uptime_seconds >= 0 and isinstance(fresh.uptime_seconds, float)

    _dead(store, 3)
    store.alerts.raise_("acme", "app", "disk", hardstore.Severity.WARNING, "disk at 90%")
    store.audit.append("acme", "order.paid", actor="user:1")
    store.logs.append(hardstore.Level.INFO, "hello", tenant="acme")
    store.restore_points.create("before")
    s = store.metrics.snapshot()
    assert (s.dead_letters_pending, s.dead_letters_leased, s.dead_letters_done,
            s.dead_letters_dead) == (0, 0, 0, 3)
    assert (s.alerts_unresolved, s.alerts_resolved) == (1, 0)
    assert s.audit_entries == 2  # the raise's entry and the append
    assert s.log_entries_appended == 1 and s.log_ring_entries == 1
    assert s.restore_points == 1 and (s.backups_ok, s.backups_failed) == (0, 0)
    assert s.file_bytes > 0 and s.writes >= 6 and s.write_batches >= 1
    assert s.uptime_seconds >= fresh.uptime_seconds
    # A plain copy: it outlives the store.
    store.close()
    assert s.dead_letters_dead == 3


def test_the_store_series_parse_and_carry_what_was_done(store: hardstore.Store,
                                                        parsers: Dict[str, Any]) -> None:
    _dead(store, 3)
    store.alerts.raise_("acme", "app", "disk", hardstore.Severity.WARNING)
    for fmt, parse in parsers.items():
        fams = parse(store)
        for name, kind in STORE_FAMILIES.items():
            assert name in fams, (fmt, name)
            assert fams[name].type == kind, (fmt, name, fams[name].type)
            assert fams[name].documentation, (fmt, name)
        assert _value(fams, "hardstore_dead_letters", "hardstore_dead_letters", state="dead") == 3
        for state in ("pending", "leased", "done"):
            assert _value(fams, "hardstore_dead_letters", "hardstore_dead_letters",
                          state=state) == 0, (fmt, state)
        assert _value(fams, "hardstore_alerts", "hardstore_alerts", state="unresolved") == 1
        assert _value(fams, "hardstore_alerts", "hardstore_alerts", state="resolved") == 0
        # The raise is audited: one entry.
        assert _value(fams, "hardstore_audit_entries", "hardstore_audit_entries_total") == 1
        assert _value(fams, "hardstore_backups", "hardstore_backups", result="ok") == 0
        assert _value(fams, "hardstore_file_bytes", "hardstore_file_bytes") > 0
        assert _value(fams, "hardstore_metrics_refused", "hardstore_metrics_refused_total") == 0
        assert _value(fams, "hardstore_uptime_seconds", "hardstore_uptime_seconds") >= 0
    # The texts themselves: OpenMetrics ends in its EOF line, 0.0.4 has none.
    om = store.metrics.openmetrics_text()
    assert om.endswith("# EOF\n")
    assert "# EOF" not in store.metrics.prometheus_text()
    assert hardstore.PROMETHEUS_CONTENT_TYPE.startswith("text/plain; version=0.0.4")
    assert hardstore.OPENMETRICS_CONTENT_TYPE.startswith("application/openmetrics-text")


def test_an_app_counter_with_labels_in_both_formats(store: hardstore.Store,
                                                    parsers: Dict[str, Any]) -> None:
    m = store.metrics
    for _ in range(10):
        m.counter_add("http_requests", labels=GET200, help='Requests "served", by \\ route.')
    m.counter_add("http_requests", 3, {"method": "POST", "code": "201"})
    m.counter_add("jobs_done", 0)  # registered, nothing counted
    for fmt, parse in parsers.items():
        fams = parse(store)
        f = fams["http_requests"]
        assert f.type == "counter" and f.documentation == 'Requests "served", by \\ route.'
        assert _value(fams, "http_requests", "http_requests_total", **GET200) == 10, fmt
        assert _value(fams, "http_requests", "http_requests_total",
                      method="POST", code="201") == 3, fmt
        assert _value(fams, "jobs_done", "jobs_done_total") == 0, fmt
    # The labels keep the dict's order: the first registration's.
    assert 'http_requests_total{method="GET",code="200"} 10\n' in m.prometheus_text()


def test_label_values_round_trip_escaped(store: hardstore.Store,
                                         parsers: Dict[str, Any]) -> None:
    odd = 'a "quoted" \\ back\nslash, é'
    store.metrics.counter_add("odd_values", 2, {"path": odd})
    store.metrics.gauge_set("odd_gauge", 1, {"path": odd, "empty": ""})
    for fmt, parse in parsers.items():
        fams = parse(store)
        assert _value(fams, "odd_values", "odd_values_total", path=odd) == 2, fmt
        assert _value(fams, "odd_gauge", "odd_gauge", path=odd, empty="") == 1, fmt


def test_a_gauge_can_go_negative_and_be_set_again(store: hardstore.Store,
                                                  parsers: Dict[str, Any]) -> None:
    m = store.metrics
    m.gauge_set("queue_depth", 12, help="Jobs waiting.")
    m.gauge_set("queue_depth", -4)
    m.gauge_set("pool_size", 9, {"pool": "db"})
    m.gauge_set("pool_size", -(2 ** 63), {"pool": "min"})
    m.gauge_set("pool_size", 2 ** 63 - 1, {"pool": "max"})
    for fmt, parse in parsers.items():
        fams = parse(store)
        assert fams["queue_depth"].type == "gauge"
        assert fams["queue_depth"].documentation == "Jobs waiting."  # the first use's help
        assert _value(fams, "queue_depth", "queue_depth") == -4, fmt
        assert _value(fams, "pool_size", "pool_size", pool="db") == 9, fmt
        assert _value(fams, "pool_size", "pool_size", pool="min") == -(2 ** 63), fmt
        assert _value(fams, "pool_size", "pool_size", pool="max") == 2 ** 63 - 1, fmt


def test_a_histogram_counts_cumulative_buckets(store: hardstore.Store,
                                               parsers: Dict[str, Any]) -> None:
    m = store.metrics
    for v in (0.05, 0.3, 3.0):
        m.histogram_observe("latency_seconds", v, BUCKETS, {"route": "/orders"}, help="Latency.")
    m.histogram_observe("latency_seconds", 0.1, BUCKETS, {"route": "/health"})  # le is <=
    m.histogram_observe("plain_seconds", 0.7, (1, 2))  # any sequence of numbers
    for fmt, parse in parsers.items():
        fams = parse(store)
        f = fams["latency_seconds"]
        assert f.type == "histogram" and f.documentation == "Latency."
        assert _buckets(fams, "latency_seconds", route="/orders") == [
            (0.1, 1), (0.5, 2), (1.0, 2), (math.inf, 3)], fmt
        assert _value(fams, "latency_seconds", "latency_seconds_count", route="/orders") == 3
        assert _value(fams, "latency_seconds", "latency_seconds_sum",
                      route="/orders") == pytest.approx(3.35)
        assert _buckets(fams, "latency_seconds", route="/health") == [
            (0.1, 1), (0.5, 1), (1.0, 1), (math.inf, 1)], fmt
        assert _buckets(fams, "plain_seconds") == [(1.0, 1), (2.0, 1), (math.inf, 1)], fmt


def test_persist_and_a_reopen_keep_the_counters(store_path: Path,
                                                parsers: Dict[str, Any]) -> None:
    with hardstore.open(store_path) as s:
        m = s.metrics
        assert m.persist() == 0  # nothing registered yet
        for _ in range(10):
            m.counter_add("http_requests", labels=GET200)
        scraped = _value(parsers["prometheus"](s), "http_requests", "http_requests_total",
                         **GET200)
        assert scraped == 10
        assert m.persist() == 0  # the scrape wrote it
        m.counter_add("http_requests", labels=GET200)
        assert m.persist() == 1
        assert m.persist() == 0
        m.counter_add("http_requests", labels=GET200)
        m.counter_add("http_requests", labels={"method": "PUT", "code": "204"})
        assert m.persist() == 2  # two series changed
        m.counter_add("http_requests", 5, GET200)  # neither scraped nor persisted
        m.gauge_set("queue_depth", 7)
        persisted = 12

    with hardstore.open(store_path) as s:
        # The name used again brings its stored series back, without counting.
        s.metrics.counter_add("http_requests", 0, GET200)
        for fmt, parse in parsers.items():
            fams = parse(s)
            back = _value(fams, "http_requests", "http_requests_total", **GET200)
            assert persisted <= back <= persisted + 5, (fmt, back)
            assert back >= scraped
            assert _value(fams, "http_requests", "http_requests_total",
                          method="PUT", code="204") == 1, fmt
            assert "queue_depth" not in fams  # gauges live in memory
        # It counts on from there.
        s.metrics.counter_add("http_requests", 2, GET200)
        again = _value(parsers["openmetrics"](s), "http_requests", "http_requests_total", **GET200)
        assert again == back + 2


def test_counting_from_many_threads_loses_nothing(store: hardstore.Store,
                                                  parsers: Dict[str, Any]) -> None:
    def work() -> None:
        for _ in range(500):
            store.metrics.counter_add("hits", labels={"shard": "a"})

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _value(parsers["prometheus"](store), "hits", "hits_total", shard="a") == 4000


def test_the_series_cap_is_refused_and_counted(store: hardstore.Store,
                                               parsers: Dict[str, Any]) -> None:
    cap = 10_000  # the library's default metrics_max_series
    for i in range(cap):
        store.metrics.gauge_set("per_user", i, {"user": str(i)})
    with pytest.raises(hardstore.LimitReached) as info:
        store.metrics.gauge_set("per_user", 1, {"user": "one too many"})
    assert info.value.function == "hardstore_metrics_gauge_set"
    with pytest.raises(hardstore.LimitReached):
        store.metrics.counter_add("other_total_series", 1)
    store.metrics.gauge_set("per_user", -1, {"user": "7"})  # a series it has is fine
    fams = parsers["prometheus"](store)
    assert _value(fams, "hardstore_metrics_refused", "hardstore_metrics_refused_total") == 2
    assert len(fams["per_user"].samples) == cap
    assert _value(fams, "per_user", "per_user", user="7") == -1


def test_bad_input_raises_invalid_argument(store: hardstore.Store,
                                           parsers: Dict[str, Any]) -> None:
    m = store.metrics
    m.counter_add("http_requests", labels=GET200)
    m.histogram_observe("latency_seconds", 0.2, BUCKETS)

    def refused(call: Callable[[], Any], function: str,
                exc: type = hardstore.InvalidArgument) -> hardstore.HardstoreError:
        with pytest.raises(exc) as info:
            call()
        assert type(info.value) is exc, (function, info.value)
        assert info.value.function == function and info.value.message, info.value
        return info.value

    add, gauge, observe = ("hardstore_metrics_counter_add", "hardstore_metrics_gauge_set",
                           "hardstore_metrics_histogram_observe")
    e = refused(lambda: m.counter_add("hardstore_requests"), add)
    assert "hardstore_" in e.message
    refused(lambda: m.gauge_set("hardstore_queue", 1), gauge)
    # A counter used as a gauge or a histogram; with other label names, or another order.
    refused(lambda: m.gauge_set("http_requests", 1, GET200), gauge)
    refused(lambda: m.histogram_observe("http_requests", 1.0, BUCKETS, GET200), observe)
    refused(lambda: m.counter_add("http_requests"), add)
    refused(lambda: m.counter_add("http_requests", labels={"code": "200", "method": "GET"}), add)
    # Histograms: buckets missing, not ascending, not finite; other buckets than the first.
    refused(lambda: m.histogram_observe("sizes", 1.0, []), observe)
    refused(lambda: m.histogram_observe("sizes", 1.0, [1.0, 0.5]), observe)
    refused(lambda: m.histogram_observe("sizes", 1.0, [1.0, 1.0]), observe)
    refused(lambda: m.histogram_observe("sizes", 1.0, [0.5, math.inf]), observe)
    refused(lambda: m.histogram_observe("sizes", 1.0, [math.nan]), observe)
    refused(lambda: m.histogram_observe("latency_seconds", 0.2, [0.1, 0.5]), observe)
    refused(lambda: m.histogram_observe("by_le", 1.0, BUCKETS, {"le": "x"}), observe)
    # Names and labels.
    for bad in ("", "1st", "with-dash", "with space", "é"):
        refused(lambda: m.counter_add(bad), add)
    refused(lambda: m.counter_add("ok_name", labels={"__reserved": "x"}), add)
    refused(lambda: m.counter_add("ok_name", labels={"bad-label": "x"}), add)
    refused(lambda: m.counter_add("ok_name", labels={"colon:label": "x"}), add)
    refused(lambda: m.counter_add("ok_name", labels={f"l{i}": "x" for i in range(17)}), add)
    refused(lambda: m.counter_add("n" * 129), add, hardstore.TooLong)
    refused(lambda: m.counter_add("ok_name", labels={"l": "v" * 257}), add, hardstore.TooLong)
    refused(lambda: m.counter_add("ok_name", help="h" * 1025), add, hardstore.TooLong)
    refused(lambda: m.counter_add(b"bad\xff"), add, hardstore.InvalidUtf8)
    refused(lambda: m.gauge_set("ok_gauge", 1, {"l": b"\xfe"}), gauge, hardstore.InvalidUtf8)
    # A NUL in a label value is refused, and counted as a malformed label set.
    refused(lambda: m.gauge_set("nul_gauge", 1, {"l": "a\0b"}), gauge)
    # Out of the C types' range: refused here, never wrapped around.
    with pytest.raises(hardstore.InvalidArgument) as neg:
        m.counter_add("ok_name", -1)
    assert neg.value.code == hardstore.Result.INVALID_ARGUMENT and neg.value.function is None
    assert "counter" in neg.value.message
    with pytest.raises(hardstore.InvalidArgument):
        m.counter_add("ok_name", 2 ** 64)
    with pytest.raises(hardstore.InvalidArgument):
        m.gauge_set("ok_gauge", 2 ** 63)
    with pytest.raises(hardstore.InvalidArgument):
        m.gauge_set("ok_gauge", -(2 ** 63) - 1)
    with pytest.raises(TypeError):
        m.gauge_set("ok_gauge", 1.5)  # gauges hold integers
    with pytest.raises(TypeError):
        m.counter_add("ok_name", labels=[("a", "b")])  # labels are a dict
    with pytest.raises(TypeError):
        m.histogram_observe("sizes", 1.0, "0.1")  # buckets are numbers

    # What failed registered nothing; what was there is unchanged.
    for fmt, parse in parsers.items():
        fams = parse(store)
        for name in ("hardstore_requests", "sizes", "by_le", "ok_name", "ok_gauge"):
            assert name not in fams, (fmt, name)
        assert _value(fams, "http_requests", "http_requests_total", **GET200) == 1
        assert fams["http_requests"].type == "counter"
        assert _value(fams, "hardstore_metrics_refused", "hardstore_metrics_refused_total") == 1


def test_a_closed_store_raises_store_closed(store_path: Path) -> None:
    s = hardstore.open(store_path)
    m = s.metrics
    s.close()
    for call, name in ((m.snapshot, "snapshot"), (m.prometheus_text, "prometheus_text"),
                       (m.openmetrics_text, "openmetrics_text"), (m.persist, "persist"),
                       (lambda: m.counter_add("c"), "counter_add"),
                       (lambda: m.gauge_set("g", 1), "gauge_set"),
                       (lambda: m.histogram_observe("h", 1.0, BUCKETS), "histogram_observe")):
        with pytest.raises(hardstore.StoreClosed) as info:
            call()
        assert info.value.function == f"Metrics.{name}"


def test_the_series_cap_is_an_option_and_refusals_are_counted(tmp_path: Path) -> None:
    with hardstore.open(str(tmp_path / "cap.hs"), hardstore.Options(metrics_max_series=2)) as s:
        for v in ("a", "b"):
            s.metrics.counter_add("jobs", labels={"kind": v})
        with pytest.raises(hardstore.LimitReached):
            s.metrics.counter_add("jobs", labels={"kind": "c"})
        assert s.metrics.refused() == 1
