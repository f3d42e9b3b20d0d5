"""Audit retention: what a prune would take, a prune refused until its count is
confirmed, pruned entries read as pruned with their leaf hash kept, the root and verify
unchanged, the archive written to a new file (an existing one refused) and proving its
entries on its own, pruning by age, opt-in redaction, and the retention setting that
maintenance prunes past."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest

import hardstore
from hardstore import PruneRange

T0 = 1_700_000_000_000_000
DAY = 86_400_000_000
N = 20


@pytest.fixture
def clock() -> Iterator[hardstore.ManualClock]:
    with hardstore.ManualClock(T0) as c:
        yield c


def _fill(s: hardstore.Store, clock: hardstore.ManualClock, n: int = N) -> None:
    """``n`` entries, one a day: entry i is appended at T0 + i days; now is T0 + n days."""
    for i in range(n):
        s.audit.append("acme", "login", actor="ana@example.com", details={"n": str(i)})
        clock.advance(DAY)


@pytest.fixture
def filled(store_path: Path, clock: hardstore.ManualClock) -> Iterator[hardstore.Store]:
    with hardstore.open(store_path, clock=clock, redact_audit=True) as s:
        _fill(s, clock)
        yield s


def test_pruned_entries_keep_their_leaf_hash_the_root_and_verify(filled: hardstore.Store) -> None:
    audit = filled.audit
    before = audit.get(0)
    assert not before.pruned and before.actor and before.details
    root = audit.root(N)
    assert audit.pruned_below() == 0

    r = audit.prunable(below_seq=8)
    assert r == (0, 8) and r == PruneRange(0, 8) and r.count == 8
    assert (r.from_, r.to) == (0, 8)
    assert audit.prunable(8) == (0, 8)                  # below_seq positionally
    assert audit.prunable(below_seq=10 ** 6) == (0, N)  # capped at the log's size
    assert audit.get(0) == before                       # prunable changes nothing

    assert audit.prune(below_seq=8, confirm=8) == 8
    assert audit.pruned_below() == 8
    after = audit.get(0)
    assert after.pruned and after.leaf_hash == before.leaf_hash
    assert (after.seq, after.time_us, after.tenant, after.action) == (
        before.seq, before.time_us, before.tenant, before.action)
    assert (after.actor, after.resource, after.outcome, after.ip, after.user_agent,
            after.details) == ("", "", "", "", "", ())
    assert not audit.get(8).pruned and audit.get(8).actor
    assert audit.root(N) == root
    report = audit.verify()
    assert report.ok and report.first_bad_seq is None

    # Proofs made before still hold; new ones verify against the pruned leaf hash.
    audit.inclusion_proof(0, N).verify(after.leaf_hash, root)
    audit.inclusion_proof(3).verify(audit.get(3).leaf_hash, audit.root())

    # The prune itself is audited (tenant hardstore, action audit.prune).
    last = audit.get(audit.size() - 1)
    assert (last.tenant, last.action) == ("hardstore", "audit.prune")
    assert last.details_dict == {"from": "0", "to": "8", "pruned": "8"}

    # Pruning again below the bound takes nothing.
    assert audit.prunable(below_seq=5) == (8, 8)
    assert audit.prune(below_seq=5) == 0

    # Entries read through a query carry the flag too.
    flags = [e.pruned for e in audit.query("acme")]
    assert flags == [True] * 8 + [False] * (N - 8)


def test_a_prune_needs_its_count_confirmed(filled: hardstore.Store) -> None:
    audit = filled.audit
    size = audit.size()
    with pytest.raises(hardstore.ConfirmationRequired) as info:
        audit.prune(below_seq=8)
    assert info.value.code == 23 and "8" in str(info.value)
    with pytest.raises(hardstore.ConfirmationRequired):
        audit.prune(below_seq=8, confirm=7)
    assert audit.pruned_below() == 0 and not audit.get(0).pruned
    assert audit.size() == size                         # no audit.prune entry either
    assert audit.prune(below_seq=8, confirm=100) == 8   # more than enough is fine


def test_the_archive_proves_its_entries_and_is_never_replaced(filled: hardstore.Store,
                                                             tmp_path: Path) -> None:
    audit = filled.audit
    frm, to = audit.prunable(below_seq=8)
    path = tmp_path / "archive.jsonl"
    assert audit.export_archive(frm, to, path) == 8

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    header, entries = lines[0], lines[1:]
    size = audit.size()
    assert header["archive"] == "hardstore audit archive v1"
    assert header["size"] == size and (header["from"], header["to"]) == (0, 8)
    root = bytes.fromhex(header["root"])
    assert root == audit.root(size)
    cp = hardstore.Checkpoint.parse(bytes.fromhex(header["checkpoint"]))
    assert (cp.size, cp.root) == (size, root)
    assert header["store_id"]

    assert len(entries) == 8
    for i, e in enumerate(entries):
        live = audit.get(i)
        assert e["seq"] == i
        assert bytes.fromhex(e["leaf_hash"]) == live.leaf_hash
        proof = b"".join(bytes.fromhex(h) for h in e["inclusion_proof"])
        assert len(proof) == hardstore.inclusion_proof_len(i, size)
        # The archive proves each entry on its own, no store needed.
        hardstore.verify_inclusion(bytes.fromhex(e["leaf_hash"]), e["seq"], size, proof, root)
    with pytest.raises(hardstore.ProofInvalid):
        bad = b"".join(bytes.fromhex(h) for h in entries[1]["inclusion_proof"])
        hardstore.verify_inclusion(bytes.fromhex(entries[0]["leaf_hash"]), 1, size, bad, root)

    # An existing file is refused, never replaced.
    written = path.read_bytes()
    with pytest.raises(hardstore.IoError):
        audit.export_archive(frm, to, path)
    assert path.read_bytes() == written

    # Archive, then prune: the archive still proves against the unchanged root.
    assert audit.prune(below_seq=to, confirm=to - frm) == 8
    assert audit.root(size) == root
    # An archive of pruned entries marks them and still proves them.
    again = tmp_path / "pruned.jsonl"
    assert audit.export_archive(0, 2, str(again)) == 2
    head, first = [json.loads(x) for x in again.read_text(encoding="utf-8").splitlines()[:2]]
    assert bytes.fromhex(first["leaf_hash"]) == audit.get(0).leaf_hash
    assert first["pruned"] == first["leaf_hash"] and first["actor"] == ""
    assert all("pruned" not in e for e in entries)      # the first archive: none pruned
    proof = b"".join(bytes.fromhex(h) for h in first["inclusion_proof"])
    hardstore.verify_inclusion(bytes.fromhex(first["leaf_hash"]), 0, head["size"], proof,
                               bytes.fromhex(head["root"]))


def test_prune_by_age_with_the_manual_clock(filled: hardstore.Store,
                                            clock: hardstore.ManualClock) -> None:
    audit = filled.audit
    # Now is day 20; entry i is 20 - i days old.
    assert audit.prunable(older_than=15 * 86_400) == (0, 6)          # seconds
    assert audit.prunable(older_than=timedelta(days=15)) == (0, 6)   # a timedelta
    assert audit.prunable(older_than=15.5 * 86_400) == (0, 5)        # a float
    assert audit.prunable(older_than=timedelta(days=10_000)) == (0, 0)
    assert audit.prune(below_seq=8, confirm=8) == 8
    # Entries at least 15 days old are 0..=5, pruned already.
    assert audit.prunable(older_than=timedelta(days=15)) == (8, 8)
    assert audit.prunable(older_than=timedelta(days=5)) == (8, 16)
    with pytest.raises(hardstore.ConfirmationRequired):
        audit.prune(older_than=timedelta(days=5), confirm=7)
    assert audit.prune(older_than=timedelta(days=5), confirm=8) == 8
    assert audit.pruned_below() == 16 and audit.get(15).pruned and not audit.get(16).pruned
    clock.advance(3 * DAY)              # time moves: two more are 5 days old now
    assert audit.prunable(older_than=timedelta(days=5)).count == 3
    assert audit.verify().ok


def test_redaction_is_opt_in(tmp_path: Path, clock: hardstore.ManualClock) -> None:
    event = dict(actor="ana@example.com", details={"phone": "+1 415 555 0100",
                                                   "note": "mail bob@example.org"})
    with hardstore.open(tmp_path / "on.hs", clock=clock, redact_audit=True) as s:
        e = s.audit.get(s.audit.append("acme", "login", **event).seq)
        assert e.actor and "@" not in e.actor and "ana@example.com" not in e.actor
        assert "bob@example.org" not in e.details_dict["note"]
        assert "555 0100" not in e.details_dict["phone"]
        assert s.audit.verify().ok
    for name, opts in (("off.hs", {"redact_audit": False}), ("default.hs", {})):
        with hardstore.open(tmp_path / name, clock=clock, **opts) as s:
            e = s.audit.get(s.audit.append("acme", "login", **event).seq)
            assert e.actor == "ana@example.com"
            assert e.details_dict == event["details"]
    assert hardstore.Options(redact_audit=True).redact_audit is True


def test_the_retention_setting_and_maintenance(filled: hardstore.Store) -> None:
    st, audit = filled.settings, filled.audit
    assert st.audit_retention_us() == 0                 # for ever
    assert filled.maintenance().audit_pruned == 0       # for ever prunes nothing
    with pytest.raises(hardstore.InvalidArgument):
        st.set_audit_retention_us(3_600_000_000)        # an hour: below one day
    with pytest.raises(hardstore.InvalidArgument):
        st.set_audit_retention_us(-1)
    assert st.audit_retention_us() == 0
    size = audit.size()
    change = st.set_audit_retention_us(5 * DAY, actor="ops")
    entry = audit.get(change.audit_seq)
    assert change.audit_seq == size
    assert (entry.tenant, entry.action, entry.actor) == ("hardstore", "settings.set", "ops")
    assert st.audit_retention_us() == 5 * DAY
    assert audit.pruned_below() == 0                    # nothing until maintenance runs

    report = filled.maintenance(step=100)
    assert report.audit_pruned == N - 4 and not report.errors
    assert audit.pruned_below() == N - 4
    assert audit.verify().ok
    assert filled.maintenance().audit_pruned == 0

    st.set_audit_retention_us(0, actor="ops")           # back to for ever
    assert st.audit_retention_us() == 0


def test_the_setting_survives_a_reopen(store_path: Path) -> None:
    with hardstore.open(store_path) as s:
        s.settings.set_audit_retention_us(30 * DAY)
    with hardstore.open(store_path) as s:
        assert s.settings.audit_retention_us() == 30 * DAY


def test_bad_input(filled: hardstore.Store, tmp_path: Path) -> None:
    audit = filled.audit
    with pytest.raises(TypeError):
        audit.prunable()
    with pytest.raises(TypeError):
        audit.prune(below_seq=1, older_than=1)
    with pytest.raises(TypeError):
        audit.prune(older_than="a day")
    with pytest.raises(TypeError):
        audit.prune(below_seq=1.5)
    with pytest.raises(hardstore.InvalidArgument):
        audit.prune(below_seq=-1)
    with pytest.raises(hardstore.InvalidArgument):
        audit.prunable(older_than=-5)
    with pytest.raises(hardstore.InvalidArgument):
        audit.prunable(older_than=float("nan"))
    with pytest.raises(hardstore.InvalidArgument):
        audit.prune(below_seq=1, confirm=-1)

    never = tmp_path / "never-written.jsonl"
    with pytest.raises(hardstore.InvalidArgument):
        audit.export_archive(5, 1000, never)            # past the log's end
    with pytest.raises(hardstore.InvalidArgument):
        audit.export_archive(5, 1, never)               # from after to
    assert not never.exists()                           # nothing created
    with pytest.raises(hardstore.InvalidArgument):
        audit.export_archive(0, 1, "")
    with pytest.raises(hardstore.InvalidArgument):
        audit.export_archive(-1, 1, never)
    assert audit.pruned_below() == 0 and audit.verify().ok
