"""Alerts end to end: dedup of repeats, acknowledge and resolve (by id and by dedup key),
a raise after resolve opening a new alert, lists newest first with filters and cursors,
counts, a purge refused until its count is confirmed, audit entries for every change,
alerts kept across a reopen, and bad input refused with the right exception."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

import hardstore
from hardstore import Alert, AlertCounts, AlertScope, AlertState, Raised, Severity

from conftest import SEC

T0 = 1_000 * SEC  # the manual clock's start (conftest)


def _actions(store: hardstore.Store, tenant: str) -> List[str]:
    return [e.action for e in store.audit.query(tenant)]


def test_a_repeat_counts_on_the_open_alert(clocked_store: hardstore.Store,
                                           clock: hardstore.ManualClock) -> None:
    alerts = clocked_store.alerts
    a = alerts.raise_("acme", "health", "disk", Severity.WARNING, "disk at 85%")
    assert a == Raised(a.id, 1, True, AlertState.OPEN)
    clock.advance(5 * SEC)
    b = alerts.raise_("acme", "health", "disk", Severity.CRITICAL, "disk at 97%",
                      durability=hardstore.BUFFERED)
    assert (b.id, b.count, b.created, b.state) == (a.id, 2, False, AlertState.OPEN)
    # The same key in another tenant is another alert.
    other = alerts.raise_("globex", "health", "disk", Severity.INFO)
    assert other.created and other.id != a.id

    got = alerts.get(a.id)
    assert got == Alert(
        id=a.id, tenant="acme", source="health", dedup_key="disk",
        severity=Severity.CRITICAL, message="disk at 97%",  # the latest raise's
        state=AlertState.OPEN, count=2, first_seen=T0, last_seen=T0 + 5 * SEC,
        acknowledged_at=None, acknowledged_by="", resolved_at=None, resolved_by="",
        resolution="",
    )
    assert isinstance(got.severity, Severity) and isinstance(got.state, AlertState)
    assert alerts.get(other.id).message == ""
    assert alerts.counts() == AlertCounts(2, 0) == (2, 0)
    entries = list(clocked_store.audit.query("acme"))
    assert [(e.action, e.outcome) for e in entries] == [
        ("alert.raise", "opened"), ("alert.raise", "repeated")]
    assert entries[1].resource == f"alert/{a.id}" and entries[1].actor == "health"
    assert entries[1].details_dict["count"] == "2"
    assert entries[1].details_dict["severity"] == "critical"


def test_acknowledge_resolve_and_a_raise_after_resolve(clocked_store: hardstore.Store,
                                                       clock: hardstore.ManualClock) -> None:
    alerts = clocked_store.alerts
    a = alerts.raise_("acme", "health", "disk", Severity.WARNING, "disk at 85%")
    clock.advance(6 * SEC)
    alerts.acknowledge(a.id, "oncall:ana")
    got = alerts.get(a.id)
    assert got.state == AlertState.ACKNOWLEDGED
    assert (got.acknowledged_at, got.acknowledged_by) == (T0 + 6 * SEC, "oncall:ana")
    # A repeat while acknowledged still counts on it, and it stays acknowledged.
    again = alerts.raise_("acme", "health", "disk", Severity.CRITICAL, "disk at 97%")
    assert again == Raised(a.id, 2, False, AlertState.ACKNOWLEDGED)
    # Acknowledging twice changes nothing.
    before = alerts.get(a.id)
    clock.advance(SEC)
    alerts.acknowledge(a.id, "someone:else")
    assert alerts.get(a.id) == before

    clock.advance(SEC)
    alerts.resolve(a.id, "oncall:ana", "freed 20 GB")
    r = alerts.get(a.id)
    assert r.state == AlertState.RESOLVED
    assert (r.resolved_at, r.resolved_by, r.resolution) == (T0 + 8 * SEC, "oncall:ana", "freed 20 GB")
    assert r.acknowledged_at == T0 + 6 * SEC and r.count == 2
    # Resolving twice changes nothing; acknowledging a resolved alert is refused.
    alerts.resolve(a.id, "x", "y")
    assert alerts.get(a.id) == r
    with pytest.raises(hardstore.InvalidArgument) as info:
        alerts.acknowledge(a.id, "x")
    assert type(info.value) is hardstore.InvalidArgument
    assert info.value.function == "hardstore_alert_acknowledge" and info.value.message
    assert alerts.counts() == (0, 1)

    # A raise after the resolve opens a new alert; the resolved one stays history.
    new = alerts.raise_("acme", "health", "disk", Severity.WARNING, "disk at 85% again")
    assert new.created and new.id > a.id and new.count == 1 and new.state == AlertState.OPEN
    assert alerts.get(a.id) == r
    assert alerts.counts() == (1, 1)
    # Every change is audited, in order; the calls that changed nothing are not.
    assert _actions(clocked_store, "acme") == [
        "alert.raise", "alert.acknowledge", "alert.raise", "alert.resolve", "alert.raise"]
    assert clocked_store.audit.verify().ok


def test_resolve_key_resolves_only_the_open_alert_of_that_tenant(clocked_store: hardstore.Store) -> None:
    alerts = clocked_store.alerts
    a = alerts.raise_("acme", "backup", "nightly", Severity.CRITICAL, "no backup for 2 days")
    b = alerts.raise_("globex", "backup", "nightly", Severity.CRITICAL, "no backup for 2 days")
    assert alerts.resolve_key("acme", "nightly", "health", "a backup succeeded") == a.id
    got = alerts.get(a.id)
    assert got.state == AlertState.RESOLVED
    assert (got.resolved_by, got.resolution) == ("health", "a backup succeeded")
    assert alerts.resolve_key("acme", "nightly") is None  # nothing open under that key
    assert alerts.resolve_key("acme", "never-raised") is None
    assert alerts.get(b.id).state == AlertState.OPEN
    assert alerts.counts() == (1, 1)
    # After it, the key raises a new alert.
    c = alerts.raise_("acme", "backup", "nightly", Severity.WARNING)
    assert c.created and c.id > b.id


def test_lists_walk_newest_first_with_filters_and_cursors(clocked_store: hardstore.Store) -> None:
    alerts = clocked_store.alerts
    severities = [Severity.INFO, Severity.WARNING, Severity.CRITICAL]
    ids = []
    for i in range(25):
        r = alerts.raise_("acme" if i % 2 else "globex", "health" if i < 20 else "billing",
                          f"k{i}", severities[i % 3], f"alert {i}", durability=hardstore.BUFFERED)
        ids.append(r.id)
    for id in ids[::5]:
        alerts.resolve(id, "bot")
    every = {id: alerts.get(id) for id in ids}
    newest_first = ids[::-1]

    def model(keep) -> List[int]:
        return [id for id in newest_first if keep(every[id])]

    # One page and its cursor, then the next pages from that cursor.
    page = alerts.list(AlertScope.ALL, page_size=7).first_page()
    assert [a.id for a in page.items] == newest_first[:7]
    assert page.next_cursor is not None
    walked = [a.id for a in page.items]
    cursor = page.next_cursor
    pages = 1
    while cursor is not None:
        page = alerts.list(AlertScope.ALL, page_size=7, cursor=cursor).first_page()
        assert len(page.items) <= 7
        walked += [a.id for a in page.items]
        cursor = page.next_cursor
        pages += 1
    assert walked == newest_first and pages == 4
    # Or iterate: every page fetched lazily, the same alerts.
    q = alerts.list(AlertScope.ALL, page_size=7)
    assert [a.id for a in q] == newest_first
    assert [len(p.items) for p in q.pages()] == [7, 7, 7, 4]
    assert [a.id for a in q] == newest_first  # iterating again reads again
    assert alerts.list(AlertScope.ALL).to_list() == [every[id] for id in newest_first]
    full = alerts.list(AlertScope.ALL).first_page()
    assert len(full.items) == 25 and full.next_cursor is None  # the default page is 100

    # Scopes and filters.
    assert [a.id for a in alerts.list(page_size=3)] == model(lambda a: a.state != AlertState.RESOLVED)
    assert [a.id for a in alerts.list(AlertScope.RESOLVED, tenant="globex", page_size=2)] == model(
        lambda a: a.state == AlertState.RESOLVED and a.tenant == "globex")
    assert [a.id for a in alerts.list(AlertScope.ALL, min_severity=Severity.CRITICAL, source="health")] == model(
        lambda a: a.severity == Severity.CRITICAL and a.source == "health")
    assert [a.id for a in alerts.list(AlertScope.OPEN, min_severity=Severity.WARNING, tenant="acme")] == model(
        lambda a: a.state != AlertState.RESOLVED and a.severity >= Severity.WARNING and a.tenant == "acme")
    assert [a.id for a in alerts.list(AlertScope.ALL, source="billing")] == newest_first[:5]
    assert alerts.list(AlertScope.ALL, source="nobody").to_list() == []
    assert alerts.list(AlertScope.ALL, tenant="", source="").to_list() == alerts.list(AlertScope.ALL).to_list()

    # Bad arguments raise at the call, before any iteration.
    for bad in (dict(page_size=0), dict(page_size=10_001), dict(scope=9), dict(min_severity=7),
                dict(cursor=b"junk")):
        with pytest.raises(hardstore.InvalidArgument) as info:
            alerts.list(**bad)  # type: ignore[arg-type]
        assert type(info.value) is hardstore.InvalidArgument, bad
        assert info.value.function == "hardstore_alert_list"
    with pytest.raises(hardstore.TooLong):
        alerts.list(tenant="t" * 129)


def test_counts(clocked_store: hardstore.Store) -> None:
    alerts = clocked_store.alerts
    assert alerts.counts() == AlertCounts(0, 0)
    a = alerts.raise_("acme", "health", "a", Severity.INFO)
    alerts.raise_("acme", "health", "a", Severity.INFO)  # a repeat is not another alert
    b = alerts.raise_("acme", "health", "b", Severity.WARNING)
    alerts.raise_("globex", "health", "a", Severity.CRITICAL)
    assert alerts.counts() == AlertCounts(unresolved=3, resolved=0)
    alerts.acknowledge(a.id, "ops")
    assert alerts.counts() == (3, 0)  # acknowledged is still not resolved
    alerts.resolve(a.id, "ops")
    alerts.resolve(b.id, "ops")
    c = alerts.counts()
    assert (c.unresolved, c.resolved) == (1, 2)


def test_a_purge_says_how_many_it_deletes_and_asks_for_that_count(
        clocked_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    alerts = clocked_store.alerts
    ids = [alerts.raise_("acme", "health", f"k{i}", Severity.INFO).id for i in range(6)]
    for id in ids[:3]:
        alerts.resolve(id, "bot")
    clock.advance(100 * SEC)
    alerts.resolve(ids[3], "bot")
    clock.advance(30 * SEC)
    keep = 60 * SEC
    assert alerts.purgeable(keep) == 3
    assert alerts.counts() == (2, 4)

    audit_size = clocked_store.audit.size()
    for confirm in (0, 2):
        with pytest.raises(hardstore.ConfirmationRequired) as info:
            alerts.purge_resolved(keep, confirm)
        assert info.value.code == hardstore.Result.CONFIRMATION_REQUIRED == 23
        assert info.value.code_name == "HARDSTORE_CONFIRMATION_REQUIRED"
        assert info.value.function == "hardstore_alert_purge_resolved"
        assert "3" in info.value.message
    with pytest.raises(hardstore.ConfirmationRequired):
        alerts.purge_resolved(keep)  # confirm defaults to 0
    # Refused: nothing deleted, nothing audited.
    assert alerts.counts() == (2, 4)
    assert clocked_store.audit.size() == audit_size
    assert all(alerts.get(id).state == AlertState.RESOLVED for id in ids[:4])

    assert alerts.purge_resolved(keep, confirm=alerts.purgeable(keep)) == 3
    assert alerts.counts() == (2, 1)
    for id in ids[:3]:
        with pytest.raises(hardstore.NotFound):
            alerts.get(id)
    assert alerts.get(ids[3]).state == AlertState.RESOLVED  # resolved 30 s ago: kept
    assert [a.id for a in alerts.list(AlertScope.ALL)] == ids[3:][::-1]
    assert _actions(clocked_store, "hardstore") == ["alert.purge"]
    assert clocked_store.audit.size() == audit_size + 1
    assert alerts.purgeable(keep) == 0
    assert alerts.purge_resolved(keep) == 0  # nothing to delete needs no confirmation
    assert alerts.purgeable(0) == 1
    assert alerts.purgeable(2**64 - 1) == 0  # older than the clock: nothing is that old


def test_bad_input_is_refused_and_changes_nothing(store: hardstore.Store) -> None:
    alerts = store.alerts
    for args in (("", "s", "k"), ("t", "", "k"), ("t", "s", "")):
        with pytest.raises(hardstore.InvalidArgument) as info:
            alerts.raise_(*args, Severity.INFO)
        assert type(info.value) is hardstore.InvalidArgument, args
        assert info.value.function == "hardstore_alert_raise" and info.value.message
    with pytest.raises(hardstore.TooLong):
        alerts.raise_("t" * 129, "s", "k", Severity.INFO)
    with pytest.raises(hardstore.TooLong):
        alerts.raise_("t", "s" * 129, "k", Severity.INFO)
    alerts.raise_("t", "s", "k" * 256, Severity.INFO, "m" * 4096)  # the limits themselves are fine
    with pytest.raises(hardstore.TooLong) as too_long:
        alerts.raise_("t", "s", "k" * 257, Severity.INFO)
    assert too_long.value.code == hardstore.Result.TOO_LONG and isinstance(too_long.value, ValueError)
    with pytest.raises(hardstore.TooLong):
        alerts.raise_("t", "s", "k", Severity.INFO, "m" * 4097)
    with pytest.raises(hardstore.InvalidArgument) as info:
        alerts.raise_("t", "s", "k", 7)
    assert type(info.value) is hardstore.InvalidArgument and "severity" in info.value.message
    with pytest.raises(hardstore.InvalidUtf8):
        alerts.raise_("t", "s", b"\xff\xfe", Severity.INFO)
    with pytest.raises(hardstore.InvalidArgument):
        alerts.raise_("t", "s", "k", Severity.INFO, durability=9)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        alerts.raise_("t", "s", 42, Severity.INFO)  # type: ignore[arg-type]
    assert alerts.counts() == (1, 0)
    size = store.audit.size()

    # Unknown ids.
    with pytest.raises(hardstore.NotFound) as missing:
        alerts.get(123456)
    assert isinstance(missing.value, LookupError) and missing.value.function == "hardstore_alert_get"
    with pytest.raises(hardstore.NotFound):
        alerts.acknowledge(123456, "x")
    with pytest.raises(hardstore.NotFound):
        alerts.resolve(123456, "x", "y")
    # Too long "by" and notes, an empty key to resolve.
    with pytest.raises(hardstore.TooLong):
        alerts.acknowledge(0, "b" * 257)
    with pytest.raises(hardstore.TooLong):
        alerts.resolve(0, "b" * 257)
    with pytest.raises(hardstore.TooLong):
        alerts.resolve(0, "x", "r" * 4097)
    with pytest.raises(hardstore.InvalidArgument):
        alerts.resolve_key("t", "")
    with pytest.raises(hardstore.TooLong):
        alerts.resolve_key("t", "k" * 257)
    assert alerts.counts() == (1, 0)
    assert store.audit.size() == size


def test_alerts_survive_a_reopen(store_path: Path) -> None:
    with hardstore.open(store_path) as s:
        a = s.alerts.raise_("acme", "health", "disk", Severity.CRITICAL, "disk full")
        s.alerts.acknowledge(a.id, "oncall")
        b = s.alerts.raise_("acme", "health", "cpu", Severity.INFO, durability=hardstore.BUFFERED)
        kept = s.alerts.list(AlertScope.ALL).to_list()
    with hardstore.open(store_path) as s:
        assert s.alerts.list(AlertScope.ALL).to_list() == kept
        assert [x.id for x in kept] == [b.id, a.id]
        assert s.alerts.get(a.id).state == AlertState.ACKNOWLEDGED
        assert s.alerts.raise_("acme", "health", "disk", Severity.CRITICAL).count == 2


def test_a_closed_store_raises_store_closed(store_path: Path) -> None:
    s = hardstore.open(store_path)
    alerts = s.alerts
    s.close()
    with pytest.raises(hardstore.StoreClosed) as info:
        alerts.counts()
    assert info.value.function == "Alerts.counts"
    with pytest.raises(hardstore.StoreClosed):
        alerts.raise_("acme", "health", "disk", Severity.INFO)
