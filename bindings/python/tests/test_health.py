"""Health end to end: a fresh store is healthy with every component, the deep check adds
integrity, thresholds are a setting (library defaults, audited changes, refused when they
grade nothing sensibly, seeded by the options of the open that creates the store), dead
letters past a threshold degrade the store, and with raise_alerts an alert is raised once
per grade change and resolved when the store is healthy again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import hardstore
from hardstore import (
    AlertScope,
    AlertState,
    Component,
    Grade,
    HealthReport,
    HealthThresholds,
    Severity,
)

from conftest import SEC

FAST = ["writer", "audit", "dead_letters", "backups", "restore_points", "requests",
        "file_size", "disk_free"]


def _dead(store: hardstore.Store, n: int) -> None:
    for i in range(n):
        store.dead_letters.record("acme", "email", f"message {i}", error="550 no such user",
                                  permanent=True)


def test_a_fresh_store_is_healthy_and_a_check_writes_nothing(clocked_store: hardstore.Store) -> None:
    store = clocked_store
    store.audit.append("acme", "order.paid", actor="user:1")
    size = store.audit.size()
    r = store.health()
    assert isinstance(r, HealthReport)
    assert r.grade == Grade.HEALTHY and isinstance(r.grade, Grade)
    assert [c.name for c in r.components] == FAST
    assert all(isinstance(c, Component) and c.status == Grade.HEALTHY for c in r.components), r
    assert all(isinstance(c.status, Grade) and c.reason for c in r.components)
    assert (r.alerts_raised, r.alerts_resolved) == (0, 0)
    assert r.checked_at == 1_000 * SEC  # the store's (manual) clock
    assert r.uptime_us >= 0
    assert r.component("audit") == r.components[1]
    assert r.component("audit").value == 1.0 and r.component("audit").unit == "entries"
    size_c = r.component("file_size")
    assert size_c.unit == "bytes" and size_c.value is not None and size_c.value > 0
    assert r.component("disk_free").value > 0
    # Nothing measured: no backup taken, no log entry in the window.
    assert r.component("backups").value is None and r.component("backups").unit == "us"
    assert r.component("requests").value is None
    assert r.component("integrity") is None and r.component("nope") is None
    # Reads only.
    assert store.audit.size() == size
    assert store.alerts.counts() == (0, 0)
    # The report is a plain copy: it outlives the store.
    store.close()
    assert r.component("writer").reason


def test_deep_adds_integrity(store: hardstore.Store) -> None:
    store.kv.put("orders", b"o/1", b"paid")
    r = store.health(deep=True)
    assert [c.name for c in r.components] == FAST + ["integrity"]
    integrity = r.components[-1]
    assert integrity.status == Grade.HEALTHY and integrity.value is not None
    assert integrity.unit == "count" and "verified" in integrity.reason
    assert r.grade == Grade.HEALTHY
    assert len(store.health().components) == 8


def test_thresholds_default_get_and_set_round_trip(store: hardstore.Store) -> None:
    default = HealthThresholds.default()
    assert default == HealthThresholds()  # the dataclass defaults are the library's
    assert default.window_us == 300 * SEC and default.dead_letters_degraded == 1
    assert default.file_size_limit is None and default.backups_expected is False
    assert store.settings.health_thresholds() == default

    t = HealthThresholds(window_us=60 * SEC, error_permille_degraded=10, error_permille_critical=900,
                         p95_degraded_us=100_000, p95_critical_us=900_000,
                         dead_letters_degraded=3, dead_letters_critical=30,
                         file_size_limit=1 << 40, disk_free_degraded=1 << 20,
                         disk_free_critical=1 << 10, backups_expected=True)
    change = store.settings.set_health_thresholds(t, actor="ops:ana")
    assert store.settings.health_thresholds() == t
    entry = store.audit.get(change.audit_seq)
    assert (entry.action, entry.actor) == ("settings.set", "ops:ana")
    assert change.deleted == 0
    # The new thresholds grade the store: backups are expected and none was taken.
    r = store.health()
    assert r.component("backups").status == Grade.DEGRADED and r.grade == Grade.DEGRADED
    assert "1099511627776" in r.component("file_size").reason  # the limit is in use
    # Back to no limit.
    store.settings.set_health_thresholds(dataclasses.replace(t, file_size_limit=None))
    assert store.settings.health_thresholds().file_size_limit is None


def test_bad_thresholds_are_refused_and_change_nothing(store: hardstore.Store) -> None:
    before = store.settings.health_thresholds()
    size = store.audit.size()
    ok = HealthThresholds()
    bad = [
        dataclasses.replace(ok, p95_degraded_us=ok.p95_critical_us + 1),
        dataclasses.replace(ok, window_us=0),
        dataclasses.replace(ok, error_permille_degraded=300, error_permille_critical=200),
        dataclasses.replace(ok, error_permille_critical=1001),
        dataclasses.replace(ok, dead_letters_degraded=10, dead_letters_critical=9),
        dataclasses.replace(ok, disk_free_critical=ok.disk_free_degraded + 1),
    ]
    for t in bad:
        with pytest.raises(hardstore.InvalidArgument) as info:
            store.settings.set_health_thresholds(t, actor="ops")
        assert type(info.value) is hardstore.InvalidArgument, t
        assert info.value.code == hardstore.Result.INVALID_ARGUMENT
        assert info.value.function == "hardstore_settings_set_health_thresholds"
        assert "health thresholds" in info.value.message
    # A limit of 0 would read as "no limit" in C: refused before the call.
    with pytest.raises(hardstore.InvalidArgument) as zero:
        store.settings.set_health_thresholds(dataclasses.replace(ok, file_size_limit=0))
    assert "file size limit" in zero.value.message
    assert store.settings.health_thresholds() == before
    assert store.audit.size() == size


def test_options_seed_a_new_store_and_an_existing_one_keeps_its_own(store_path: Path,
                                                                    tmp_path: Path) -> None:
    seeded = HealthThresholds(dead_letters_degraded=2, dead_letters_critical=5)
    with hardstore.open(store_path, health_thresholds=seeded) as s:
        assert s.settings.health_thresholds() == seeded
    with hardstore.open(store_path, health_thresholds=HealthThresholds()) as s:
        assert s.settings.health_thresholds() == seeded
    opts = hardstore.Options(health_thresholds=seeded)
    with hardstore.open(tmp_path / "other.hardstore", opts) as s:
        assert s.settings.health_thresholds() == seeded

    bad = dataclasses.replace(seeded, p95_degraded_us=seeded.p95_critical_us + 1)
    with pytest.raises(hardstore.InvalidArgument) as info:
        hardstore.open(tmp_path / "refused.hardstore", health_thresholds=bad)
    assert info.value.function == "hardstore_options_set_health_thresholds"
    assert not (tmp_path / "refused.hardstore").exists()


def test_dead_letters_degrade_and_raise_one_alert_until_healthy_again(store: hardstore.Store) -> None:
    store.settings.set_health_thresholds(
        HealthThresholds(dead_letters_degraded=2, dead_letters_critical=5))
    _dead(store, 1)
    assert store.health().grade == Grade.HEALTHY
    _dead(store, 1)
    r = store.health()
    dl = r.component("dead_letters")
    assert r.grade == Grade.DEGRADED
    assert (dl.status, dl.value, dl.unit) == (Grade.DEGRADED, 2.0, "count")
    assert "2 dead letters" in dl.reason
    assert all(c.status == Grade.HEALTHY for c in r.components if c.name != "dead_letters")
    assert r.alerts_raised == 0 and store.alerts.counts() == (0, 0)  # nothing written

    raised = store.health(raise_alerts=True)
    assert raised.grade == Grade.DEGRADED
    assert (raised.alerts_raised, raised.alerts_resolved) == (1, 0)
    again = store.health(raise_alerts=True)
    assert (again.alerts_raised, again.alerts_resolved) == (0, 0)  # the grade held
    alerts = store.alerts.list(source="health").to_list()
    assert len(alerts) == 1
    a = alerts[0]
    assert (a.tenant, a.source, a.dedup_key) == ("hardstore", "health", "dead_letters")
    assert (a.severity, a.state, a.count) == (Severity.WARNING, AlertState.OPEN, 1)
    assert "2 dead letters" in a.message
    assert store.alerts.counts() == (1, 0)

    # Worse: critical, and the alert repeats at the new severity.
    _dead(store, 3)
    worse = store.health(raise_alerts=True)
    assert worse.grade == Grade.CRITICAL and worse.alerts_raised == 1
    assert store.alerts.get(a.id).severity == Severity.CRITICAL
    assert store.alerts.get(a.id).count == 2

    # Thresholds raised: healthy again, and the alert is resolved.
    store.settings.set_health_thresholds(
        HealthThresholds(dead_letters_degraded=10, dead_letters_critical=20), actor="ops")
    healed = store.health(raise_alerts=True)
    assert healed.grade == Grade.HEALTHY
    assert (healed.alerts_raised, healed.alerts_resolved) == (0, 1)
    got = store.alerts.get(a.id)
    assert got.state == AlertState.RESOLVED and got.resolved_by == "health"
    assert got.resolution.startswith("healthy again")
    assert store.alerts.counts() == (0, 1)
    assert store.alerts.list(AlertScope.OPEN).to_list() == []
    assert store.health(raise_alerts=True).alerts_resolved == 0


def test_a_closed_store_raises_store_closed(store_path: Path) -> None:
    s = hardstore.open(store_path)
    s.close()
    with pytest.raises(hardstore.StoreClosed) as info:
        s.health()
    assert info.value.function == "Store.health"
    with pytest.raises(hardstore.StoreClosed):
        s.settings.health_thresholds()
    with pytest.raises(hardstore.StoreClosed):
        s.settings.set_health_thresholds(HealthThresholds())
