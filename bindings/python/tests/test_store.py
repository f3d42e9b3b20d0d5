"""Opening and closing stores, options, the manual clock, and a closed store's errors."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import hardstore


def test_open_close_context_manager(store_path: Path) -> None:
    with hardstore.open(store_path) as s:
        assert not s.closed and isinstance(s, hardstore.Store)
        assert len(s.id) == 16 and s.id == s.id
        s.flush()
        store_id = s.id
        assert "open" in repr(s)
    assert s.closed and "closed" in repr(s)
    s.close()  # idempotent
    with hardstore.open(str(store_path)) as again:
        assert again.id == store_id


def test_closed_store_raises_store_closed(store_path: Path) -> None:
    s = hardstore.open(store_path)
    audit, kv, logs, idem, dlq, rp, bk = (s.audit, s.kv, s.logs, s.idem, s.dlq, s.restore_points, s.backups)
    s.close()
    calls = [
        lambda: s.id, s.flush, lambda: s.transaction(),
        lambda: audit.append("acme", "x"), audit.size, lambda: audit.get(0),
        lambda: list(audit.query("acme")), audit.checkpoint, audit.verify,
        lambda: kv.put("a", b"k", b"v"), lambda: kv.get("a", b"k"), lambda: kv.delete("a", b"k"),
        lambda: logs.append(hardstore.Level.INFO, "m"), logs.range, lambda: logs.stats(),
        lambda: idem.begin("acme", "k", b"r"), lambda: idem.get("acme", "k"),
        lambda: dlq.record("acme", "email", b"p"), dlq.counts, lambda: dlq.claim_due(),
        lambda: rp.create("x"), rp.ids, rp.space,
        bk.list, lambda: bk.success_rate(),
    ]
    for call in calls:
        with pytest.raises(hardstore.StoreClosed) as info:
            call()
        assert info.value.code == hardstore.Result.CLOSED
        # Like every other error, it names the call that failed.
        assert info.value.function, call
        assert str(info.value).endswith(f"(in {info.value.function})")


def test_store_closed_names_the_call(store_path: Path) -> None:
    s = hardstore.open(store_path)
    audit, logs = s.audit, s.logs
    begun = s.idem.begin("acme", "k", b"r")
    assert isinstance(begun, hardstore.Started)
    token = begun.token
    token.close()  # a freed object names the call too
    s.close()
    expected = [
        (lambda: audit.append("acme", "x"), "Audit.append"),
        (lambda: list(audit.query("acme")), "Audit.query"),
        (lambda: logs.append(hardstore.Level.INFO, "m"), "Logs.append"),
        (lambda: s.id, "Store.id"),
        (s.flush, "Store.flush"),
        (lambda: s.transaction(), "Store.transaction"),
        (lambda: token.fence, "Token.fence"),
    ]
    for call, name in expected:
        with pytest.raises(hardstore.StoreClosed) as info:
            call()
        assert info.value.function == name
        assert str(info.value) == f"HARDSTORE_CLOSED: {info.value.message} (in {name})"


def test_query_iterator_after_close(store_path: Path) -> None:
    s = hardstore.open(store_path)
    for i in range(5):
        s.audit.append("acme", f"a{i}")
    it = iter(s.audit.query("acme", page_size=2))
    assert next(it).action == "a0"
    s.close()
    assert next(it).action == "a1"  # the first page was already read
    with pytest.raises(hardstore.StoreClosed):
        next(it)


def test_already_open(store_path: Path) -> None:
    with hardstore.open(store_path):
        with pytest.raises(hardstore.AlreadyOpen) as info:
            hardstore.open(store_path)
        assert info.value.code == 8


def test_not_a_store_is_left_untouched(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"definitely not a database")
    with pytest.raises(hardstore.NotAStore):
        hardstore.open(junk)
    assert junk.read_bytes() == b"definitely not a database"


def test_bad_paths_and_options(tmp_path: Path) -> None:
    with pytest.raises(hardstore.InvalidArgument):
        hardstore.open("")
    with pytest.raises(hardstore.InvalidArgument):
        hardstore.open(tmp_path / "a.hs", audit_key=b"")
    with pytest.raises(hardstore.InvalidArgument):
        hardstore.open(tmp_path / "a.hs", max_batch=0)
    with pytest.raises(hardstore.InvalidArgument):
        hardstore.open(tmp_path / "a.hs", log_capacity=0)
    with pytest.raises(TypeError):
        hardstore.open(tmp_path / "a.hs", no_such_option=1)
    with pytest.raises(TypeError):
        hardstore.open(tmp_path / "a.hs", hardstore.Options(), max_batch=3)
    with hardstore.open(tmp_path / "b.hs", hardstore.Options(max_batch=3, flush_interval_ms=0,
                                                            redact_logs=True)) as s:
        s.kv.put("a", b"k", b"v")


def test_store_closed_by_garbage_collection(store_path: Path) -> None:
    s = hardstore.open(store_path)
    s.kv.put("a", b"k", b"v", durability=hardstore.BUFFERED)
    del s
    gc.collect()
    with hardstore.open(store_path) as again:  # the file was released and the write kept
        assert again.kv.get("a", b"k") == b"v"


def test_manual_clock_drives_store_time(store_path: Path) -> None:
    with hardstore.ManualClock(5_000_000) as clock:
        with hardstore.open(store_path, clock=clock) as s:
            assert s.audit.get(s.audit.append("acme", "a").seq).time_us == 5_000_000
            clock.advance(7)
            assert s.audit.get(s.audit.append("acme", "b").seq).time_us == 5_000_007
            clock.set(9_000_000)
            clock.advance_ms(1)
            clock.advance_secs(1)
            assert clock.now_us == 10_001_000
            assert s.audit.get(s.audit.append("acme", "c").seq).time_us == 10_001_000
    assert clock.closed
    with pytest.raises(hardstore.StoreClosed):
        clock.advance(1)


def test_clock_freed_early_is_safe(store_path: Path) -> None:
    clock = hardstore.ManualClock(42_000_000)
    with hardstore.open(store_path, clock=clock) as s:
        clock.close()
        assert s.audit.get(s.audit.append("acme", "a").seq).time_us == 42_000_000
