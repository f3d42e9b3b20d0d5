"""The audit log end to end: append, get, query pages, proofs, checkpoints, verify, export."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import hardstore
from hardstore import AuditEvent, Durability

KEY = b"a secret audit key for the python test"


@pytest.fixture
def audit_store(store_path: Path):
    with hardstore.open(store_path, audit_key=KEY, flush_interval_ms=20) as s:
        yield s


def fill(store: hardstore.Store, n: int = 40) -> None:
    for i in range(n):
        store.audit.append(
            f"tenant-{i % 2}", "doc.update" if i % 3 else "doc.create",
            actor=f"actor-{i % 4}", resource="doc/7", outcome="success", ip="192.0.2.1",
            user_agent="py-test", details=[("i", str(i)), ("k", "v")],
            durability=Durability.BUFFERED if i % 5 else Durability.DURABLE,
        )


def test_append_and_get(audit_store: hardstore.Store) -> None:
    a = audit_store.audit
    assert a.size() == 0 and len(a) == 0
    r = a.append(AuditEvent("acme", "invoice.paid", actor="user:42", resource="invoice/1001",
                            outcome="success", ip="2001:db8::1", user_agent="curl",
                            details={"amount": "120.00", "currency": "EUR"}))
    assert r.seq == 0 and len(r.leaf_hash) == 32
    r2 = a.append("acme", "invoice.sent")
    assert r2.seq == 1 and r2.leaf_hash != r.leaf_hash
    e = a.get(0)
    assert (e.seq, e.tenant, e.action, e.actor, e.resource) == (0, "acme", "invoice.paid", "user:42", "invoice/1001")
    assert (e.outcome, e.ip, e.user_agent) == ("success", "2001:db8::1", "curl")
    assert e.details == (("amount", "120.00"), ("currency", "EUR"))
    assert e.details_dict == {"amount": "120.00", "currency": "EUR"}
    assert e.leaf_hash == r.leaf_hash and e.time_us > 0
    e1 = a[1]
    assert e1.actor == "" and e1.details == ()
    assert a.size() == 2


def test_get_past_the_end_raises_not_found(audit_store: hardstore.Store) -> None:
    audit_store.audit.append("acme", "a")
    with pytest.raises(hardstore.NotFound) as info:
        audit_store.audit.get(1)
    assert info.value.code == hardstore.Result.NOT_FOUND
    with pytest.raises(hardstore.NotFound):
        audit_store.audit.get(2**40)


def test_query_pages_lazily_with_filters(audit_store: hardstore.Store) -> None:
    fill(audit_store, 40)
    q = audit_store.audit.query("tenant-1", actor="actor-3", newest_first=True, page_size=3)
    entries = list(q)
    expected = [i for i in range(40) if i % 2 == 1 and i % 4 == 3]
    assert [e.seq for e in entries] == sorted(expected, reverse=True)
    assert all(e.actor == "actor-3" and e.tenant == "tenant-1" for e in entries)
    pages = list(q.pages())
    assert [len(p.items) for p in pages][:3] == [3, 3, 3]
    assert pages[-1].next_cursor is None
    assert all(p.next_cursor is not None for p in pages[:-1])
    assert sum(len(p.items) for p in pages) == len(expected)
    # Resuming from a cursor gives the rest.
    first = q.first_page()
    rest = list(audit_store.audit.query("tenant-1", actor="actor-3", newest_first=True, page_size=3,
                                        cursor=first.next_cursor))
    assert [e.seq for e in first.items + rest] == [e.seq for e in entries]
    # Action filter and oldest first.
    created = list(audit_store.audit.query("tenant-0", action="doc.create"))
    assert [e.seq for e in created] == [i for i in range(0, 40, 2) if i % 3 == 0]
    # Time range: everything is before "until = now + 1 h", nothing from then on.
    last = audit_store.audit.get(39).time_us
    assert len(list(audit_store.audit.query("tenant-0", until=last + 3_600_000_000))) == 20
    assert list(audit_store.audit.query("tenant-0", since=last + 1)) == []
    assert list(audit_store.audit.query("nobody")) == []


def test_query_is_lazy(audit_store: hardstore.Store) -> None:
    fill(audit_store, 10)
    it = iter(audit_store.audit.query("tenant-0", page_size=2))
    assert next(it).seq == 0
    audit_store.audit.append("tenant-0", "late")  # appended after the first page was read
    assert [e.seq for e in it][-1] == 10


def test_query_bad_arguments(audit_store: hardstore.Store) -> None:
    with pytest.raises(hardstore.InvalidArgument):
        audit_store.audit.query("")
    with pytest.raises(hardstore.InvalidArgument):
        audit_store.audit.query("acme", page_size=0)
    with pytest.raises(hardstore.InvalidArgument):
        audit_store.audit.query("acme", page_size=10001)
    with pytest.raises(hardstore.InvalidArgument):
        audit_store.audit.query("acme", since=10, until=5)
    with pytest.raises(hardstore.InvalidArgument):
        audit_store.audit.query("acme", cursor=b"nonsense")


def test_inclusion_and_consistency_proofs(audit_store: hardstore.Store) -> None:
    fill(audit_store, 40)
    a = audit_store.audit
    size = a.size()
    root = a.root()
    assert root == a.root(size) and len(root) == 32
    entry = a.get(17)
    proof = a.inclusion_proof(17)
    assert proof.tree_size == size and len(proof.hashes) == hardstore.inclusion_proof_len(17, size)
    assert len(proof.hashes) % 32 == 0 and 0 < len(proof.hashes) <= 32 * 6
    proof.verify(entry.leaf_hash, root)
    hardstore.verify_inclusion(entry.leaf_hash, 17, size, bytes(proof), root)
    with pytest.raises(hardstore.ProofInvalid):
        hardstore.verify_inclusion(entry.leaf_hash, 18, size, proof.hashes, root)
    bad_root = bytes([root[0] ^ 1]) + root[1:]
    with pytest.raises(hardstore.ProofInvalid):
        proof.verify(entry.leaf_hash, bad_root)
    with pytest.raises(hardstore.ProofInvalid):
        hardstore.verify_inclusion(entry.leaf_hash, 17, size, proof.hashes[:-1], root)
    with pytest.raises(hardstore.InvalidArgument):
        hardstore.verify_inclusion(entry.leaf_hash[:31], 17, size, proof.hashes, root)

    old_root = a.root(13)
    cons = a.consistency_proof(13)
    assert (cons.old_size, cons.new_size) == (13, size)
    cons.verify(old_root, root)
    hardstore.verify_consistency(13, size, old_root, root, cons.hashes)
    with pytest.raises(hardstore.ProofInvalid):
        hardstore.verify_consistency(12, size, old_root, root, cons.hashes)
    with pytest.raises(hardstore.ProofInvalid):
        cons.verify(root, root)

    with pytest.raises(hardstore.InvalidArgument):
        a.inclusion_proof(size, size)
    with pytest.raises(hardstore.InvalidArgument):
        a.root(size + 1)
    with pytest.raises(hardstore.InvalidArgument):
        a.consistency_proof(5, 4)


def test_checkpoints_and_prove_since(audit_store: hardstore.Store) -> None:
    fill(audit_store, 12)
    a = audit_store.audit
    cp = a.checkpoint()
    assert len(cp.raw) == hardstore.audit.CHECKPOINT_LEN == len(bytes(cp))
    assert cp.size == 12 and cp.has_mac and cp.root == a.root(12)
    assert cp.store_id == audit_store.id and cp.time_us > 0
    cp.verify_mac(KEY)
    with pytest.raises(hardstore.CheckpointInvalid):
        cp.verify_mac(b"wrong key")
    with pytest.raises(hardstore.CheckpointInvalid):
        hardstore.Checkpoint.parse(cp.raw[:50])
    assert hardstore.Checkpoint.parse(cp.raw) == cp

    a.append("tenant-0", "late")
    new, proof = a.prove_since(cp)
    assert new.size == 13 and (proof.old_size, proof.new_size) == (12, 13)
    proof.verify(cp.root, new.root)
    hardstore.verify_consistency(cp.size, new.size, cp.root, new.root, proof.hashes)
    new.verify_mac(KEY)
    _, proof2 = a.prove_since(cp.raw)  # raw bytes work too
    assert proof2.hashes == proof.hashes


def test_checkpoint_without_key_has_no_mac(store: hardstore.Store) -> None:
    store.audit.append("acme", "a")
    cp = store.audit.checkpoint()
    assert not cp.has_mac
    with pytest.raises(hardstore.CheckpointInvalid):
        cp.verify_mac(KEY)


def test_verify_report(audit_store: hardstore.Store) -> None:
    fill(audit_store, 9)
    report = audit_store.audit.verify()
    assert report and report.ok
    assert report.size == 9 and report.checked == 9 and report.first_bad_seq is None
    assert report.root == audit_store.audit.root()


def test_export_jsonl(audit_store: hardstore.Store, tmp_path: Path) -> None:
    fill(audit_store, 10)
    out = tmp_path / "export.jsonl"
    n = audit_store.audit.export_jsonl(out, "tenant-0")
    assert n == 5
    lines = out.read_text().splitlines()
    assert len(lines) == 5
    rows = [json.loads(line) for line in lines]
    assert all("doc." in json.dumps(r) for r in rows)
    assert audit_store.audit.export_jsonl(out, "tenant-1", actor="actor-1") == 3


def test_bad_events_change_nothing(audit_store: hardstore.Store) -> None:
    a = audit_store.audit
    a.append("acme", "first")
    with pytest.raises(hardstore.InvalidArgument):
        a.append("", "x")
    with pytest.raises(hardstore.InvalidArgument):
        a.append("acme", "")
    with pytest.raises(hardstore.InvalidUtf8):
        a.append(b"ok\xc3\x28", "x")
    with pytest.raises(hardstore.InvalidUtf8):
        a.append("acme", "x", actor=b"\xff\xfe")
    with pytest.raises(hardstore.TooLong):
        a.append("acme", "x", actor="a" * 257)
    with pytest.raises(hardstore.TooLong):
        a.append("acme", "x", resource="r" * 1025)
    with pytest.raises(hardstore.TooLong):
        a.append("acme", "x", outcome="o" * 65)
    with pytest.raises(hardstore.TooLong):
        a.append("acme", "x", user_agent="u" * 513)
    with pytest.raises(hardstore.TooLong):
        a.append("t" * 129, "x")
    with pytest.raises(hardstore.InvalidArgument):
        a.append("acme", "x", ip="999.1.1.1")
    with pytest.raises(hardstore.TooLong):
        a.append("acme", "x", details={"k": "v" * 4097})
    with pytest.raises(hardstore.InvalidArgument):
        a.append("acme", "x", details={"": "v"})
    with pytest.raises(hardstore.TooLong):
        a.append("acme", "x", details=[("k", "v")] * 65)
    a.append("acme", "x", details=[("k", "v")] * 64)
    with pytest.raises(hardstore.InvalidArgument):
        a.append("acme", "x", durability=7)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a.append(AuditEvent("acme", "x"), "y")
    with pytest.raises(TypeError):
        a.append("acme")
    assert a.size() == 2


def test_appends_from_threads(audit_store: hardstore.Store) -> None:
    seqs: list = []
    lock = threading.Lock()

    def worker(t: int) -> None:
        mine = []
        for i in range(25):
            mine.append(audit_store.audit.append(f"t{t}", "op", durability=Durability.BUFFERED).seq)
        with lock:
            seqs.extend(mine)
        assert mine == sorted(mine)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(100))
    audit_store.flush()
    assert audit_store.audit.verify().ok


def test_entries_survive_reopen(store_path: Path) -> None:
    with hardstore.open(store_path, audit_key=KEY) as s:
        fill(s, 5)
        root = s.audit.root()
    with hardstore.open(store_path) as s:
        assert s.audit.size() == 5 and s.audit.root() == root
        assert s.audit.get(4).details_dict == {"i": "4", "k": "v"}
