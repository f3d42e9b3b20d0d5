"""Backups end to end: standalone full, verify, restore, damage, cataloged runs of every
kind with progress and encryption, chains, wrong keys, prune, run_due, success rate and
the schedule thread."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import hardstore
from hardstore import BackupKey, BackupKind, BackupStatus, Retention, Schedule, backups

KEY = BackupKey(9, b"\x42" * 32)


def test_standalone_full_verify_restore_and_damage(tmp_path: Path) -> None:
    src, file = tmp_path / "src.hs", tmp_path / "full.hsb"
    with hardstore.open(src) as s:
        s.kv.put("app", b"balance", b"100")
        s.audit.append("acme", "order.create")
        size, root = s.audit.size(), s.audit.root()
        info = s.backups.full(file)
        assert info.audit_size == size and info.audit_root == root
        assert info.frames > 0 and info.bytes > 0 and info.kind == BackupKind.FULL
        assert info.store_id == s.id and not info.encrypted and info.backup_id == 0
        with pytest.raises(hardstore.InvalidArgument):
            s.backups.full(file)  # exists

    checked = backups.verify(file)
    assert checked.bytes == info.bytes and checked.digest == info.digest
    with pytest.raises(hardstore.InvalidUtf8):
        backups.verify(b"\xff")

    copy = tmp_path / "copy.hs"
    restored = backups.restore(file, copy, log_capacity=50)
    assert restored.audit_root == root
    with hardstore.open(copy) as c:
        assert c.kv.get("app", b"balance") == b"100"
        assert c.audit.root(size) == root

    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0x04
    file.write_bytes(bytes(data))
    with pytest.raises(hardstore.Corrupted) as err:
        backups.verify(file)
    assert err.value.code == 12
    bad_copy = tmp_path / "bad-copy.hs"
    with pytest.raises(hardstore.Corrupted):
        backups.restore(file, bad_copy)
    assert not bad_copy.exists()


def test_catalog_chain_keys_and_restore(tmp_path: Path) -> None:
    src, folder = tmp_path / "cat.hs", tmp_path / "backups"
    with hardstore.open(src) as s:
        s.kv.put("app", b"a", b"1")
        s.kv.put("app", b"b", b"2")
        with pytest.raises(hardstore.InvalidArgument):
            s.backups.run(folder, 7)
        calls = []
        full = s.backups.run(folder, BackupKind.INCREMENTAL, key=KEY, progress=lambda d, t: calls.append((d, t)))
        assert full.kind == BackupKind.FULL  # nothing to build on: promoted
        assert calls and calls[-1][0] == calls[-1][1] > 0
        s.kv.put("app", b"a", b"10")
        assert s.kv.delete("app", b"b")
        diff = s.backups.run(folder, BackupKind.DIFFERENTIAL, key=KEY)
        assert diff.kind == BackupKind.DIFFERENTIAL
        s.kv.put("app", b"c", b"3")
        inc = s.backups.run(folder, BackupKind.INCREMENTAL, key=KEY)
        assert inc.kind == BackupKind.INCREMENTAL and full.id < diff.id < inc.id

        records = s.backups.list()
        assert [r.id for r in records] == [full.id, diff.id, inc.id]
        r = records[1]
        assert r.base_id == full.id and r.result == BackupStatus.OK and r.error is None
        assert r.encrypted and r.key_id == 9 and Path(r.file).is_file() and r.ended_us >= r.started_us

        chain = s.backups.chain(inc.id)
        assert [c.id for c in chain] == [full.id, diff.id, inc.id]
        with pytest.raises(hardstore.NotFound):
            s.backups.chain(999)

        with pytest.raises(hardstore.WrongKey) as err:
            backups.verify_chain(chain)
        assert err.value.code == 22
        other = BackupKey(9, b"\x43" + b"\x42" * 31)
        with pytest.raises(hardstore.WrongKey):
            backups.verify_chain(chain, other)
        with pytest.raises(hardstore.WrongKey):
            backups.verify(chain[0].file)
        with pytest.raises(hardstore.WrongKey):
            backups.verify(chain[0].file, other)
        info = backups.verify(chain[0].file, KEY)
        assert info.encrypted and info.key_id == 9 and info.kind == BackupKind.FULL
        last = backups.verify_chain(chain, KEY)
        assert last.backup_id == inc.id and last.kind == BackupKind.INCREMENTAL and last.base_id == diff.id
        with pytest.raises(hardstore.InvalidArgument):
            backups.verify_chain([chain[0], chain[2], chain[1]], KEY)  # out of order
        with pytest.raises(hardstore.InvalidArgument):
            backups.verify_chain([], KEY)
        with pytest.raises(hardstore.InvalidArgument):
            BackupKey(1, b"short")._to_c()

        wrong = tmp_path / "wrong.hs"
        with pytest.raises(hardstore.WrongKey):
            backups.restore_chain(chain, wrong, key=other)
        assert not wrong.exists()
        restored = tmp_path / "restored.hs"
        got = s.backups.restore_chain([c.file for c in chain], restored, key=KEY)
        assert got.backup_id == inc.id
    with hardstore.open(restored) as c:
        assert c.kv.get("app", b"a") == b"10"
        assert c.kv.get("app", b"b") is None
        assert c.kv.get("app", b"c") == b"3"


def test_prune_run_due_success_rate_and_schedule(tmp_path: Path) -> None:
    src, folder = tmp_path / "p.hs", tmp_path / "backups"
    with hardstore.open(src) as s:
        s.kv.put("app", b"a", b"1")
        s.backups.run(folder)
        s.kv.put("app", b"a", b"2")
        s.backups.run(folder, BackupKind.INCREMENTAL)
        s.backups.run(folder, BackupKind.DIFFERENTIAL)
        newest = s.backups.run(folder, BackupKind.FULL)
        keep_one = Retention(max_age_secs=0, keep_fulls=1)
        dry = s.backups.prune(keep_one, now_us=0, dry_run=True)
        assert len(dry) == 3 and len(s.backups.list()) == 4
        gone = s.backups.prune(keep_one, now_us=0)
        assert [g.id for g in gone] == [g.id for g in dry]
        assert all(not Path(g.file).exists() for g in gone)
        assert [r.id for r in s.backups.list()] == [newest.id]
        assert s.backups.prune() == []  # the default keeps 30 days

        started = s.backups.list()[0].started_us
        sched = Schedule(prune=False)
        assert s.backups.run_due(folder, now_us=started, schedule=sched) is None
        later = s.backups.run_due(folder, now_us=started + 2 * 3600 * 1_000_000, schedule=sched)
        assert later is not None and s.backups.list()[-1].kind == BackupKind.DIFFERENTIAL
        with pytest.raises(hardstore.InvalidArgument):
            s.backups.run_due(folder, now_us=0, schedule=Schedule(differential_every_secs=0))
        rate = s.backups.success_rate()  # pruned runs left the catalog
        assert rate.ok == 2 and rate.failed == 0 and rate.rate == 1.0
        assert s.backups.success_rate(since_us=2**63).rate is None

        with pytest.raises(hardstore.InvalidArgument):
            s.backups.start_schedule(folder, check_every_ms=0)
        fast = Schedule(differential_every_secs=1, prune=True, retention=Retention(0, 1))
        with s.backups.start_schedule(folder, schedule=fast, check_every_ms=20) as thread:
            deadline = time.monotonic() + 10
            while s.backups.success_rate().ok < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
        assert thread.closed
        assert s.backups.success_rate().ok >= 3 and s.backups.success_rate().failed == 0


def test_closing_the_store_stops_a_schedule(tmp_path: Path) -> None:
    s = hardstore.open(tmp_path / "s.hs")
    handle = s.backups.start_schedule(tmp_path / "b", check_every_ms=10)
    del handle  # the store keeps it running until it closes
    s.close()
    assert s.closed
    with hardstore.open(tmp_path / "s.hs") as again:  # the file is free again
        assert again.backups.success_rate().failed == 0


def test_progress_exception_is_reraised_after_the_run(tmp_path: Path) -> None:
    with hardstore.open(tmp_path / "s.hs") as s:
        def boom(done: int, total: int) -> None:
            raise ValueError("progress failed")

        with pytest.raises(ValueError, match="progress failed"):
            s.backups.run(tmp_path / "b", progress=boom)
        assert [r.result for r in s.backups.list()] == [BackupStatus.OK]


def test_run_into_an_unusable_folder_fails_and_leaves_no_backup(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with hardstore.open(tmp_path / "s.hs") as s:
        s.kv.put("app", b"k", b"v")
        with pytest.raises(hardstore.IoError) as info:
            s.backups.run(blocker / "sub")
        assert info.value.function == "hardstore_backup_run" and info.value.message
        assert [r for r in s.backups.list() if r.result == BackupStatus.OK] == []
        assert blocker.read_text() == "x"


def test_run_due_with_key_and_progress(tmp_path: Path) -> None:
    with hardstore.open(tmp_path / "s.hs") as s:
        s.kv.put("app", b"k", b"v")
        seen = []
        ran = s.backups.run_due(tmp_path / "b", now_us=10**15, key=KEY, progress=lambda d, t: seen.append(d))
        assert ran is not None and seen and seen[-1] > 0
        (record,) = s.backups.list()
        assert record.id == ran and record.kind == BackupKind.FULL and record.encrypted
        assert backups.verify(record, KEY).backup_id == ran
