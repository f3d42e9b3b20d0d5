"""The store's own settings: seeded by the options of the open that creates the store,
kept across opens with other options, changed only by explicit, audited calls."""

from __future__ import annotations

from pathlib import Path

import pytest

import hardstore
from hardstore.backups import Retention, Schedule
from hardstore.dead_letters import Jitter, RetryPolicy


def _held(s: hardstore.Store) -> int:
    r = s.logs.range()
    return r.next - r.oldest


def test_options_seed_a_new_store_and_never_change_it(store_path: Path) -> None:
    with hardstore.open(store_path, log_capacity=30, max_restore_points=4) as s:
        got = s.settings.get()
        assert (got.log_capacity, got.max_restore_points) == (30, 4)
        for i in range(25):
            s.logs.append(hardstore.Level.INFO, f"line {i}")
        s.flush()
    with hardstore.open(store_path, log_capacity=5, max_restore_points=1) as s:
        assert s.settings.get() == got
        assert _held(s) == 25


def test_a_smaller_ring_needs_its_evictions_confirmed(store_path: Path) -> None:
    with hardstore.open(store_path, log_capacity=30) as s:
        for i in range(25):
            s.logs.append(hardstore.Level.INFO, f"line {i}")
        s.flush()
        with pytest.raises(hardstore.ConfirmationRequired) as info:
            s.settings.set_log_capacity(10)
        assert info.value.code == 23 and "15" in str(info.value)
        assert _held(s) == 25
        change = s.settings.set_log_capacity(10, confirm_evict=15, actor="ops")
        assert change.deleted == 15 and _held(s) == 10
        entry = s.audit.get(change.audit_seq)
        assert entry.action == "settings.set" and entry.actor == "ops"


def test_every_setter_round_trips(store: hardstore.Store) -> None:
    st = store.settings
    st.set_idempotency_ttl_us(90_000_000)
    policy = RetryPolicy(Jitter.DECORRELATED, 2_000, 9_000_000, 7, 42)
    st.set_dead_letter_policy(policy)
    st.set_dead_letter_purge_after_us(5_000_000)
    st.set_max_restore_points(9)
    st.set_backup_retention(Retention(max_age_secs=0, keep_fulls=3))
    st.set_backup_schedule(Schedule(7200, 3600, 600, False, Retention(0, 0)))
    got = st.get()
    assert got.idempotency_ttl_us == 90_000_000
    assert got.dead_letter_policy == policy
    assert got.dead_letter_purge_after_us == 5_000_000
    assert got.max_restore_points == 9
    assert got.backup_retention == Retention(0, 3)
    assert (got.backup_schedule.full_every_secs, got.backup_schedule.prune) == (7200, False)
    with pytest.raises(hardstore.InvalidArgument):
        st.set_idempotency_ttl_us(0)
    with pytest.raises(hardstore.InvalidArgument):
        st.set_max_restore_points(0)
    assert st.get() == got
