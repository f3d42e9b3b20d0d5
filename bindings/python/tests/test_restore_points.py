"""Restore points end to end: create, list, get, label, verify, restore, export, space,
delete, the cap and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

import hardstore


@pytest.fixture
def rp_store(store_path: Path):
    with hardstore.open(store_path, max_restore_points=2) as s:
        yield s


def test_zero_max_points_is_refused_at_open(store_path: Path) -> None:
    with pytest.raises(hardstore.InvalidArgument):
        hardstore.open(store_path, max_restore_points=0)


def test_create_list_get_restore(rp_store: hardstore.Store, tmp_path: Path) -> None:
    s = rp_store
    s.kv.put("app", b"balance", b"100")
    a = s.restore_points.create("before migration")
    assert a.label == "before migration" and a.audit_size == s.audit.size()
    assert len(a.digest) == 32 and len(a.audit_root) == 32 and a.created_us > 0
    s.restore_points.verify(a.id)

    s.kv.put("app", b"balance", b"0")
    s.kv.put("app", b"extra", b"x")
    b = s.restore_points.create("after")
    assert b.id > a.id and b.digest != a.digest
    with pytest.raises(hardstore.LimitReached) as info:
        s.restore_points.create("one too many")
    assert info.value.code == 21

    assert s.restore_points.ids() == [a.id, b.id]
    assert len(s.restore_points) == 2
    assert s.restore_points.list() == [a, b] == list(s.restore_points)
    assert s.restore_points.get(a.id) == a
    assert s.restore_points.find(999) is None
    with pytest.raises(hardstore.NotFound):
        s.restore_points.get(999)
    assert s.restore_points.label(b.id) == "after"
    with pytest.raises(hardstore.NotFound):
        s.restore_points.label(999)

    before = s.audit.size()
    seq = s.restore_points.restore(a.id, actor="ops@example.com")
    assert seq == before and s.audit.size() == before + 1
    entry = s.audit.get(seq)
    assert (entry.tenant, entry.action, entry.actor) == ("hardstore", "restore_point.restore", "ops@example.com")
    assert entry.resource == f"restore_point/{a.id}"
    assert s.kv.get("app", b"balance") == b"100" and s.kv.get("app", b"extra") is None
    assert s.restore_points.ids() == [a.id]  # b was taken after a
    assert s.audit.verify().ok
    with pytest.raises(hardstore.NotFound):
        s.restore_points.restore(999)
    with pytest.raises(hardstore.NotFound):
        s.restore_points.verify(999)

    exported = tmp_path / "exported.hardstore"
    rows = s.restore_points.export(a.id, exported)
    assert rows > 0
    with pytest.raises(hardstore.InvalidArgument):
        s.restore_points.export(a.id, exported)  # exists
    with pytest.raises(hardstore.NotFound):
        s.restore_points.export(999, tmp_path / "x.hardstore")
    with hardstore.open(exported) as e:
        assert e.kv.get("app", b"balance") == b"100"
        assert e.audit.size() == a.audit_size and e.id != s.id

    space = s.restore_points.space()
    assert space.points == 1 and space.max_points == 2 and space.allocated_bytes > 0

    assert s.restore_points.delete(a.id) is True
    assert s.restore_points.delete(a.id) is False
    assert s.restore_points.ids() == [] and s.restore_points.list() == []


def test_bad_labels(rp_store: hardstore.Store) -> None:
    with pytest.raises(hardstore.InvalidArgument):
        rp_store.restore_points.create("")
    with pytest.raises(hardstore.InvalidUtf8):
        rp_store.restore_points.create(b"\xff\xfe")
    with pytest.raises(hardstore.TooLong):
        rp_store.restore_points.create("l" * 257)
    rp_store.restore_points.create("l" * 256)
    assert len(rp_store.restore_points) == 1


def test_restore_fences_keys_in_flight(rp_store: hardstore.Store) -> None:
    s = rp_store
    p = s.restore_points.create("p")
    with s.idem.begin("acme", "k", b"req") as begun:
        s.restore_points.restore(p.id)
        with pytest.raises(hardstore.Fenced):
            s.idem.complete(begun.token, b"late")
