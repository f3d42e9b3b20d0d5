"""Idempotency keys end to end: the four begin answers, fencing, recovery points,
abandon/renew/release, expiry with a manual clock, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

import hardstore
from hardstore import IdemOutcome, IdemState, InProgress, Mismatch, Replay, Started

from conftest import SEC

REQ = b'POST /orders\n{"sku":1}'


def test_started_in_progress_mismatch_replay(clocked_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    idem = clocked_store.idem
    with idem.begin("acme", "k1", REQ, lease_ms=60_000) as a:
        assert isinstance(a, Started) and a.outcome == IdemOutcome.STARTED
        fence = a.token.fence
        assert fence >= 1 and a.token.recovery is None
        clock.advance(5 * SEC)
        b = idem.begin("acme", "k1", REQ)
        assert isinstance(b, InProgress) and b.outcome == IdemOutcome.IN_PROGRESS
        assert b.retry_after_us == 55 * SEC
        m = idem.begin("acme", "k1", b'POST /orders\n{"sku":2}')
        assert isinstance(m, Mismatch) and m.outcome == IdemOutcome.MISMATCH
        idem.complete(a.token, b'{"id":7}', status=201)
        with pytest.raises(hardstore.Fenced) as info:
            idem.complete(a.token, b"again", status=201)
        assert info.value.code == 20
    assert a.token.closed
    r = idem.begin("acme", "k1", REQ)
    assert isinstance(r, Replay) and r.outcome == IdemOutcome.REPLAY
    assert r.response == hardstore.IdemResponse(b'{"id":7}', 201, False)
    info2 = idem.get("acme", "k1")
    assert info2 is not None and info2.state == IdemState.COMPLETED and info2.fence == fence
    assert info2.created_us == 1000 * SEC and info2.expires_us == info2.created_us + 3600 * SEC
    assert idem.get("acme", "never") is None


def test_lease_runs_out_and_old_holder_is_fenced(clocked_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    idem = clocked_store.idem
    old = idem.begin("acme", "k2", REQ, lease_ms=10_000)
    assert isinstance(old, Started)
    idem.save_recovery(old.token, "charged", b"ch_123")
    clock.advance(11 * SEC)
    new = idem.begin("acme", "k2", REQ, lease_ms=10_000)
    assert isinstance(new, Started)
    assert new.token.fence > old.token.fence
    assert new.token.recovery == hardstore.Recovery("charged", b"ch_123")
    for call in (lambda: idem.release(old.token), lambda: idem.abandon(old.token),
                 lambda: idem.renew(old.token, 1000), lambda: idem.fail(old.token, b"x"),
                 lambda: idem.save_recovery(old.token, "n", b"d")):
        with pytest.raises(hardstore.Fenced):
            call()
    idem.complete(new.token, b"ok")
    r = idem.begin("acme", "k2", REQ)
    assert isinstance(r, Replay) and r.response.status is None and r.response.body == b"ok"
    old.close()
    new.close()
    assert repr(old.token) == "Token(closed)"
    with pytest.raises(hardstore.StoreClosed):
        idem.complete(old.token, b"x")  # a freed token is refused before reaching C


def test_fail_release_abandon_renew(clocked_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    idem = clocked_store.idem
    f = idem.begin("acme", "k3", REQ)
    idem.fail(f.token, b"card declined", status=402)
    fr = idem.begin("acme", "k3", REQ)
    assert isinstance(fr, Replay) and fr.response == hardstore.IdemResponse(b"card declined", 402, True)
    assert idem.get("acme", "k3").state == IdemState.FAILED

    rl = idem.begin("acme", "k4", REQ, lease_ms=10_000)
    idem.renew(rl.token, 20_000)
    assert idem.get("acme", "k4").lease_until_us == clock.now_us + 20_000_000
    idem.release(rl.token)
    again = idem.begin("acme", "k4", b"a different request is fine now")
    assert isinstance(again, Started) and again.token.fence > rl.token.fence

    ab = idem.begin("acme", "k5", REQ)
    idem.save_recovery(ab.token, "step", b"2")
    idem.abandon(ab.token)
    ab2 = idem.begin("acme", "k5", REQ)
    assert isinstance(ab2, Started) and ab2.token.recovery == hardstore.Recovery("step", b"2")
    with pytest.raises(hardstore.Fenced):
        idem.complete(ab.token, b"late")
    idem.complete(ab2.token, b"ok")
    for r in (f, fr, rl, again, ab, ab2):
        r.close()


def test_expiry_and_purge(clocked_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    idem = clocked_store.idem
    for k in ("a", "b", "c"):
        with idem.begin("acme", k, REQ) as s:
            idem.complete(s.token, b"done")
    assert idem.get("acme", "a") is not None
    clock.advance(3600 * SEC)
    assert idem.get("acme", "a") is None
    assert idem.purge_expired(1000) == 3
    assert idem.purge_expired(1000) == 0
    with idem.begin("acme", "a", b"anything") as fresh:
        assert isinstance(fresh, Started)


def test_fenced_after_reopen(store_path: Path) -> None:
    with hardstore.open(store_path) as s:
        before = s.idem.begin("acme", "k", REQ)
        assert isinstance(before, Started)
    with hardstore.open(store_path) as s:
        after = s.idem.begin("acme", "k", REQ)
        assert isinstance(after, Started) and after.token.fence > before.token.fence
        with pytest.raises(hardstore.Fenced):
            s.idem.complete(before.token, b"late")
        s.idem.complete(after.token, b"done")
    before.close()
    after.close()


def test_bad_input(clocked_store: hardstore.Store) -> None:
    idem = clocked_store.idem
    with pytest.raises(hardstore.TooLong):
        idem.begin("acme", "k" * 256, REQ)
    with pytest.raises(hardstore.InvalidArgument):
        idem.begin("", "k", REQ)
    with pytest.raises(hardstore.InvalidUtf8):
        idem.begin("acme", b"\xff\xfe", REQ)
    with pytest.raises(hardstore.InvalidArgument):
        idem.begin("acme", "k", REQ, lease_ms=0)
    assert idem.get("acme", "k") is None
    s = idem.begin("acme", "k", REQ)
    with pytest.raises(hardstore.InvalidArgument):
        idem.complete(s.token, b"x", status=70000)
    with pytest.raises(hardstore.TooLong):
        idem.complete(s.token, b"x" * (1024 * 1024 + 1))
    idem.complete(s.token, b"x" * (1024 * 1024))
    s.close()


def test_ttl_option_is_checked(store_path: Path) -> None:
    with pytest.raises(hardstore.InvalidArgument):
        hardstore.open(store_path, idempotency_ttl_ms=0)
