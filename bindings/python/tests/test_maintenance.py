"""Maintenance end to end: one run deletes what the store's settings say expired (expired
idempotency keys, dead letters past the purge age, resolved alerts past the alert
retention) and nothing younger, in bounded steps (``more_due`` until drained); it runs
the due backup into a folder (and not again until the schedule says so) and applies the
backup retention; a failed task is reported by name with the others still run; the alert
retention is an audited setting seeded by the options; the janitor runs on its own
thread until close; bad input raises the right exception."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

import hardstore
from hardstore import JanitorStatus, MaintenanceReport, Options, Retention, TaskError

from conftest import SEC

DAY = 86_400 * SEC

NOTHING = MaintenanceReport(idempotency_expired=0, dead_letters_purged=0, alerts_purged=0,
                            backup_run=False, backup_id=None, backups_pruned=0, keys_rewrapped=0, audit_pruned=0,
                            more_due=False,
                            errors=[])


@pytest.fixture
def mstore(store_path: Path, clock: hardstore.ManualClock) -> Iterator[hardstore.Store]:
    """Keys live 1 h, dead letters are kept 2 days, resolved alerts 7 days."""
    with hardstore.open(store_path, clock=clock, idempotency_ttl_ms=3600 * 1000,
                        dlq_purge_after_us=2 * DAY, alert_retention_us=7 * DAY) as s:
        yield s


def _fill(store: hardstore.Store, tag: str, n: int) -> None:
    """``n`` completed idempotency keys, ``n`` permanent (dead) dead letters and ``n``
    resolved alerts, all made now."""
    for i in range(n):
        key = f"{tag}-{i}"
        with store.idem.begin("acme", key, b"POST /x") as started:
            assert isinstance(started, hardstore.Started)
            store.idem.complete(started.token, b"ok", status=200)
        store.dlq.record("acme", "email", b"x", error="550", permanent=True)
        a = store.alerts.raise_("acme", "app", key, hardstore.Severity.INFO, "")
        store.alerts.resolve(a.id, "bot")


def _runs(store: hardstore.Store) -> int:
    status = store.janitor_status()
    assert status is not None, "the store has no janitor"
    return status.runs


def _wait_for(cond: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_run_deletes_only_what_expired_and_says_how_much(mstore: hardstore.Store,
                                                           clock: hardstore.ManualClock) -> None:
    store = mstore
    assert store.maintenance() == NOTHING  # nothing yet
    _fill(store, "old", 4)
    clock.advance(3 * DAY)  # keys (1 h) and dead letters (2 days) expired; alerts (7 days) not
    r = store.maintenance()
    assert isinstance(r, MaintenanceReport)
    assert (r.idempotency_expired, r.dead_letters_purged, r.alerts_purged) == (4, 4, 0), r
    assert (r.backup_run, r.backup_id, r.backups_pruned, r.more_due, r.errors) == (
        False, None, 0, False, [])
    # (Made after the run: a completion also purges a few expired keys in passing.)
    _fill(store, "young", 1)
    assert store.dlq.counts().dead == 1  # the young one stays
    assert store.alerts.counts() == (0, 5)
    assert store.idem.get("acme", "old-0") is None
    assert store.idem.get("acme", "young-0") is not None

    clock.advance(5 * DAY)  # the old alerts are 8 days resolved, the young one 5
    r = store.maintenance()
    assert (r.alerts_purged, r.dead_letters_purged, r.idempotency_expired) == (4, 1, 1), r
    assert not r.more_due and r.errors == []
    assert store.alerts.counts() == (0, 1)
    assert store.dlq.counts().dead == 0
    assert store.maintenance() == NOTHING

    # The report is a plain copy: it outlives the store.
    store.close()
    assert r.alerts_purged == 4
    with pytest.raises(hardstore.StoreClosed) as info:
        store.maintenance()
    assert info.value.function == "Store.maintenance"
    with pytest.raises(hardstore.StoreClosed):
        store.janitor_status()


def test_a_step_bounds_each_task_and_more_due_says_run_again(mstore: hardstore.Store,
                                                             clock: hardstore.ManualClock) -> None:
    store = mstore
    n = 4
    _fill(store, "k", n)
    clock.advance(30 * DAY)
    first = store.maintenance(step=1)
    assert (first.idempotency_expired, first.dead_letters_purged, first.alerts_purged) == (1, 1, 1)
    assert first.more_due
    totals = [1, 1, 1]
    runs = 1
    while True:
        r = store.maintenance(step=1)
        runs += 1
        assert max(r.idempotency_expired, r.dead_letters_purged, r.alerts_purged) <= 1
        totals[0] += r.idempotency_expired
        totals[1] += r.dead_letters_purged
        totals[2] += r.alerts_purged
        if not r.more_due:
            break
        assert runs <= n + 1, "never drained"
    assert totals == [n, n, n]
    assert store.dlq.counts().dead == 0 and store.alerts.counts() == (0, 0)
    assert store.maintenance(step=1) == NOTHING

    # A larger step takes several at once; step 0 is the library's default (10,000).
    _fill(store, "j", 3)
    clock.advance(30 * DAY)
    r = store.maintenance(step=2)
    assert (r.dead_letters_purged, r.alerts_purged, r.more_due) == (2, 2, True)
    r = store.maintenance(step=0)
    assert (r.dead_letters_purged, r.alerts_purged, r.more_due) == (1, 1, False)


def test_a_run_takes_the_due_backup_and_applies_the_retention(mstore: hardstore.Store,
                                                              clock: hardstore.ManualClock,
                                                              tmp_path: Path) -> None:
    store = mstore
    folder = tmp_path / "backups"
    store.settings.set_backup_retention(Retention(max_age_secs=0, keep_fulls=1))
    store.kv.put("orders", b"o/1", b"paid")
    r = store.maintenance(backups_into=folder)
    assert r.backup_run and r.backup_id is not None and r.backup_id > 0, r
    assert r.errors == [] and r.backups_pruned == 0
    first = store.backups.list()
    assert [b.id for b in first] == [r.backup_id]
    assert first[0].kind == hardstore.BackupKind.FULL
    assert Path(first[0].file).is_file() and Path(first[0].file).parent == folder

    # Not due again at once, nor without a folder.
    again = store.maintenance(backups_into=str(folder))
    assert (again.backup_run, again.backup_id) == (False, None)
    clock.advance(2 * DAY)
    assert store.maintenance().backup_run is False

    # Two days on a full is due; the retention keeps one full, so the first goes.
    r2 = store.maintenance(backups_into=folder)
    assert r2.backup_run and r2.backup_id not in (None, r.backup_id)
    assert r2.backups_pruned == 1, r2
    assert [b.id for b in store.backups.list()] == [r2.backup_id]
    assert not Path(first[0].file).exists()


def test_a_failed_task_is_reported_and_the_others_run(mstore: hardstore.Store,
                                                      clock: hardstore.ManualClock,
                                                      tmp_path: Path) -> None:
    store = mstore
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_bytes(b"in the way")
    _fill(store, "k", 2)
    clock.advance(3 * DAY)
    r = store.maintenance(backups_into=not_a_folder)
    assert not r.backup_run and r.backup_id is None
    assert r.dead_letters_purged == 2 and r.idempotency_expired == 2  # the others ran
    assert len(r.errors) == 1, r
    err = r.errors[0]
    assert isinstance(err, TaskError) and err.task == "backup"
    assert err.error  # the I/O error, for a person
    assert store.backups.list() == []
    # Fixed: the next run takes the backup.
    not_a_folder.unlink()
    r = store.maintenance(backups_into=not_a_folder)
    assert r.backup_run and r.errors == []


def test_the_alert_retention_is_a_setting(store_path: Path, tmp_path: Path,
                                          clock: hardstore.ManualClock) -> None:
    with hardstore.open(tmp_path / "default.hardstore") as s:
        assert s.settings.alert_retention_us() == 30 * DAY  # the library's default
    with hardstore.open(store_path, clock=clock, alert_retention_us=7 * DAY) as s:
        assert s.settings.alert_retention_us() == 7 * DAY
        change = s.settings.set_alert_retention_us(60 * SEC, actor="ops:ana")
        assert s.settings.alert_retention_us() == 60 * SEC
        entry = s.audit.get(change.audit_seq)
        assert (entry.action, entry.actor) == ("settings.set", "ops:ana")
        assert change.deleted == 0  # nothing is deleted until maintenance runs
        a = s.alerts.raise_("acme", "app", "k", hardstore.Severity.INFO)
        s.alerts.resolve(a.id)
        clock.advance(59 * SEC)
        assert s.maintenance().alerts_purged == 0
        clock.advance(2 * SEC)
        assert s.maintenance().alerts_purged == 1
    # Kept across an open with another option; the default actor is "".
    with hardstore.open(store_path, clock=clock, alert_retention_us=DAY) as s:
        assert s.settings.alert_retention_us() == 60 * SEC
        change = s.settings.set_alert_retention_us(2 * DAY)
        assert s.audit.get(change.audit_seq).actor == ""
        assert s.settings.alert_retention_us() == 2 * DAY
    opts = Options(alert_retention_us=5 * SEC)
    with hardstore.open(tmp_path / "seeded.hardstore", opts) as s:
        assert s.settings.alert_retention_us() == 5 * SEC
    s.close()
    with pytest.raises(hardstore.StoreClosed):
        s.settings.alert_retention_us()
    with pytest.raises(hardstore.StoreClosed):
        s.settings.set_alert_retention_us(SEC)


def test_the_janitor_runs_on_its_own_until_close(store_path: Path,
                                                 clock: hardstore.ManualClock) -> None:
    opts = Options(clock=clock, dlq_purge_after_us=2 * DAY, alert_retention_us=7 * DAY)
    assert opts.janitor(5000) is opts  # chains
    store = hardstore.open(store_path, opts)
    try:
        _wait_for(lambda: _runs(store) >= 1)
        st = store.janitor_status()
        assert isinstance(st, JanitorStatus)
        assert st.runs >= 1 and not st.last_run_failed and st.last_task_errors == 0
        assert st.last_error is None
        # It deletes what expired, on its own.
        _fill(store, "k", 3)
        clock.advance(8 * DAY)
        _wait_for(lambda: store.dlq.counts().dead == 0 and store.alerts.counts() == (0, 0))
        later = store.janitor_status()
        assert later is not None and later.runs >= st.runs
    finally:
        store.close()
    with pytest.raises(hardstore.StoreClosed):
        store.janitor_status()
    # The file is let go at close: an open without a janitor works and has none.
    with hardstore.open(store_path) as again:
        assert again.janitor_status() is None


def test_the_janitor_runs_due_backups_into_its_folder(store_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "janitor-backups"
    with hardstore.open(store_path, janitor_interval_us=5000,
                        janitor_backups_into=folder) as store:
        # Its first run finds a full due (the store has none) and takes it.
        _wait_for(lambda: _runs(store) >= 1)
        backups = store.backups.list()
        assert len(backups) >= 1
        assert backups[0].kind == hardstore.BackupKind.FULL
        assert backups[0].result == hardstore.BackupStatus.OK
        assert Path(backups[0].file).parent == folder and Path(backups[0].file).is_file()
        status = store.janitor_status()
        assert status is not None and status.runs >= 1 and status.last_task_errors == 0


def test_a_store_without_a_janitor_has_no_status(store: hardstore.Store) -> None:
    assert store.janitor_status() is None
    assert Options().janitor_interval_us is None


def test_bad_input_is_refused(store_path: Path, store: hardstore.Store) -> None:
    other = store_path.with_name("refused.hardstore")
    with pytest.raises(hardstore.InvalidArgument) as info:
        hardstore.open(other, Options().janitor(0))
    assert type(info.value) is hardstore.InvalidArgument
    assert info.value.code == hardstore.Result.INVALID_ARGUMENT
    assert info.value.function == "hardstore_options_set_janitor"
    assert "interval" in info.value.message
    with pytest.raises(hardstore.InvalidArgument):
        hardstore.open(other, janitor_interval_us=0)
    # A folder without an interval would silently do nothing: refused.
    with pytest.raises(hardstore.InvalidArgument) as info:
        hardstore.open(other, janitor_backups_into="backups")
    assert "janitor_interval_us" in info.value.message
    assert not other.exists()
    with pytest.raises(TypeError):
        hardstore.open(other, janitor=5000)  # not an option name
    # Bad folder text, a negative step.
    with pytest.raises(hardstore.InvalidUtf8) as utf8:
        store.maintenance(backups_into=b"\xff")
    assert utf8.value.function == "hardstore_store_maintenance"
    with pytest.raises(hardstore.InvalidUtf8):
        hardstore.open(other, Options().janitor(5000, backups_into=b"\xff"))
    with pytest.raises(hardstore.InvalidArgument):
        store.maintenance(step=-1)
    assert store.maintenance() == NOTHING
