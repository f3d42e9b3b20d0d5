"""Dead letters end to end: record, claim, ack, fail, fencing, crash loops, redrive,
lists with paging, counts, history, purge and the retry helper."""

from __future__ import annotations

from pathlib import Path

import pytest

import hardstore
from hardstore import DlqState, PermanentFailure, RetryOutcome, RetryPolicy

from conftest import SEC

MINUTE = 60 * SEC


@pytest.fixture
def dlq_store(store_path: Path, clock: hardstore.ManualClock):
    policy = RetryPolicy(base_us=1, cap_us=1, seed=42)
    with hardstore.open(store_path, clock=clock, dlq_policy=policy) as s:
        yield s


def test_default_policy_matches_the_library() -> None:
    p = RetryPolicy.default()
    assert p == RetryPolicy()
    assert (p.jitter, p.base_us, p.cap_us, p.max_attempts, p.seed) == (
        hardstore.Jitter.FULL, 1_000_000, 3600 * 1_000_000, 5, None)


def test_bad_policies_are_refused(store_path: Path) -> None:
    with pytest.raises(hardstore.InvalidArgument):
        hardstore.open(store_path, dlq_policy=RetryPolicy(base_us=10, cap_us=9))
    with pytest.raises(hardstore.InvalidArgument):
        hardstore.open(store_path, dlq_policy=RetryPolicy(jitter=7))  # type: ignore[arg-type]


def test_record_claim_ack_fail(dlq_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    dlq = dlq_store.dlq
    a = dlq.record("acme", "email", b"to: a", error="first failure")
    b = dlq.record("acme", "webhook", b'{"n":1}', error="first failure")
    c = dlq.record("globex", "webhook", b'{"n":2}', error="first failure")
    assert (a, b, c) == (0, 1, 2)
    assert dlq.counts() == hardstore.DlqCounts(3, 0, 0, 0)

    with dlq.claim_due(10, MINUTE) as claims:
        assert len(claims) == 3 and [x.id for x in claims] == [a, b, c]
        ca, cb, cc = claims
        assert (ca.attempt, ca.max_attempts, ca.lease_until_us) == (1, 5, clock.now_us + MINUTE)
        assert (cb.kind, cb.payload, cc.tenant) == ("webhook", b'{"n":1}', "globex")
        assert dlq.counts() == hardstore.DlqCounts(0, 3, 0, 0)
        dlq.ack(ca)
        with pytest.raises(hardstore.Fenced):
            dlq.ack(ca)
        with pytest.raises(hardstore.TooLong):
            dlq.fail(cb, "e" * 4097)
        out = dlq.fail(cb, "timeout", retryable=True)
        assert out.state == DlqState.PENDING and out.next_attempt_at is not None
        assert out.next_attempt_at >= clock.now_us
        out = dlq.fail(cc, "410 gone", retryable=False)
        assert out == hardstore.FailOutcome(DlqState.DEAD, None)
    assert dlq.counts() == hardstore.DlqCounts(1, 0, 1, 1)
    with pytest.raises(hardstore.StoreClosed):
        dlq.ack(ca)  # its list was closed

    item = dlq.get(c)
    assert item.state == DlqState.DEAD and item.attempts == 1 and item.max_attempts == 5
    assert item.last_error == "410 gone" and item.payload == b'{"n":2}' and item.kind == "webhook"
    assert [(h.attempt, h.retryable, h.error) for h in item.history] == [
        (0, True, "first failure"), (1, False, "410 gone")]
    assert item.time_us >= item.created_us == 1000 * SEC
    with pytest.raises(hardstore.NotFound):
        dlq.get(12345)


def test_crash_loop_ends_dead_and_stale_worker_is_fenced(dlq_store: hardstore.Store,
                                                        clock: hardstore.ManualClock) -> None:
    dlq = dlq_store.dlq
    d = dlq.record("acme", "email", b"to: d", max_attempts=2)
    claims_of_d = 0
    for _ in range(10):
        with dlq.claim_due(10, 1) as claims:  # workers that never answer
            claims_of_d += sum(1 for x in claims if x.id == d)
            empty = len(claims) == 0
        clock.advance(10)
        if empty:
            break
    assert claims_of_d == 2
    item = dlq.get(d)
    assert item.state == DlqState.DEAD and item.attempts == 2

    e = dlq.record("globex", "sms", b"hi")
    with dlq.claim_due(1, 1) as claims:
        assert claims[0].id == e
        clock.advance(2)
        with pytest.raises(hardstore.Fenced):
            dlq.ack(claims[0])
        with pytest.raises(hardstore.Fenced):
            dlq.fail(claims[0], "late")
    assert dlq.get(e).state == DlqState.LEASED


def test_redrive_lists_and_purge(dlq_store: hardstore.Store) -> None:
    dlq = dlq_store.dlq
    ids = [dlq.record("acme" if i % 2 else "globex", "webhook" if i < 3 else "email", f"p{i}".encode(),
                      permanent=i in (1, 2, 4)) for i in range(6)]
    assert dlq.counts() == hardstore.DlqCounts(3, 0, 0, 3)
    assert [x.id for x in dlq.list(page_size=2)] == ids
    assert len(list(dlq.list(page_size=2).pages())) == 3
    dead = list(dlq.list(state=DlqState.DEAD, page_size=1))
    assert [x.id for x in dead] == [1, 2, 4]
    assert [x.id for x in dlq.list(state=DlqState.DEAD, kind="email")] == [4]
    assert [x.id for x in dlq.list(tenant="acme", kind="webhook")] == [1]
    assert list(dlq.list(since=0, until=1)) == []

    dlq.redrive(4)
    item = dlq.get(4)
    assert item.state == DlqState.PENDING and item.attempts == 0 and item.redrives == 1
    with pytest.raises(hardstore.NotFound):
        dlq.redrive(999)
    with dlq.claim_due(1, MINUTE) as claims:
        dlq.ack(claims[0])
    with pytest.raises(hardstore.InvalidArgument):
        dlq.redrive(claims[0].id)  # Done
    assert dlq.redrive_where(kind="webhook") == 2
    assert dlq.get(1).state == DlqState.PENDING and dlq.get(2).state == DlqState.PENDING
    assert dlq.redrive_where(kind="webhook") == 0
    assert dlq.purge() == 0  # nothing is 7 days old

    with pytest.raises(hardstore.InvalidArgument):
        dlq.list(state=9)
    with pytest.raises(hardstore.InvalidArgument):
        dlq.list(page_size=0)
    with pytest.raises(hardstore.InvalidArgument):
        dlq.list(since=5, until=4)
    with pytest.raises(hardstore.InvalidArgument):
        dlq.list(cursor=b"junk")


def test_purge_with_zero_age(store_path: Path) -> None:
    with hardstore.open(store_path, dlq_purge_after_us=0) as s:
        x = s.dlq.record("acme", "email", b"x", permanent=True)
        y = s.dlq.record("acme", "email", b"y")
        assert s.dlq.purge() == 1
        with pytest.raises(hardstore.NotFound):
            s.dlq.get(x)
        assert s.dlq.get(y).state == DlqState.PENDING


def test_bad_records_change_nothing(dlq_store: hardstore.Store) -> None:
    dlq = dlq_store.dlq
    with pytest.raises(hardstore.InvalidArgument):
        dlq.record("acme", "", b"p")
    with pytest.raises(hardstore.TooLong):
        dlq.record("t" * 129, "email", b"p")
    with pytest.raises(hardstore.InvalidUtf8):
        dlq.record(b"\xff\xfe", "email", b"p")
    with pytest.raises(hardstore.InvalidArgument):
        dlq.record("acme", "email", b"p", max_attempts=1001)
    with pytest.raises(hardstore.InvalidArgument):
        dlq.record("acme", "email", b"p", durability=9)  # type: ignore[arg-type]
    with pytest.raises(hardstore.TooLong):
        dlq.record("acme", "email", b"p" * (1024 * 1024 + 1))
    with pytest.raises(hardstore.InvalidArgument):
        dlq.claim_due(0, MINUTE)
    with pytest.raises(hardstore.InvalidArgument):
        dlq.claim_due(10, 0)
    assert dlq.counts() == hardstore.DlqCounts(0, 0, 0, 0)


def test_retry_helper(store: hardstore.Store) -> None:
    fast = RetryPolicy(base_us=10, cap_us=100, max_attempts=3)
    calls = []

    def succeeds_second(attempt: int) -> None:
        calls.append(attempt)
        if attempt < 2:
            raise ConnectionError("503 unavailable")

    r = store.dlq.retry("acme", "email", b"x", succeeds_second, policy=fast)
    assert r == hardstore.RetryResult(RetryOutcome.SUCCEEDED, 2, None) and calls == [1, 2]

    def always_fails(attempt: int) -> None:
        raise ConnectionError("503 unavailable " + "\u00e9" * 3000)  # longer than the buffer

    r = store.dlq.retry("acme", "webhook", b"y", always_fails, policy=fast)
    assert r.outcome == RetryOutcome.DEAD_LETTERED and r.attempts == 3 and r.id is not None
    item = store.dlq.get(r.id)
    assert item.state == DlqState.PENDING and item.payload == b"y"
    assert item.last_error is not None and "503 unavailable" in item.last_error

    def permanent(attempt: int) -> None:
        raise PermanentFailure("400 bad request")

    r = store.dlq.retry("acme", "email", b"z", permanent)
    assert r.outcome == RetryOutcome.DEAD_LETTERED and r.attempts == 1
    item = store.dlq.get(r.id)
    assert item.state == DlqState.DEAD and item.last_error is not None and "400 bad request" in item.last_error

    never = []
    with pytest.raises(hardstore.InvalidArgument):
        store.dlq.retry("acme", "", b"z", lambda a: never.append(a), policy=fast)
    assert never == []


def test_retry_reraises_base_exceptions(store: hardstore.Store) -> None:
    def interrupted(attempt: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.dlq.retry("acme", "email", b"k", interrupted, policy=RetryPolicy(base_us=1, cap_us=1))


def test_counts_survive_reopen(store_path: Path) -> None:
    with hardstore.open(store_path) as s:
        s.dlq.record("acme", "email", b"a")
        s.dlq.record("acme", "email", b"b", permanent=True)
        counts = s.dlq.counts()
    with hardstore.open(store_path) as s:
        assert s.dlq.counts() == counts == (1, 0, 0, 1)


def test_first_attempt_in_the_future_is_not_due(dlq_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    dlq = dlq_store.dlq
    later = clock.now_us + MINUTE
    i = dlq.record("acme", "email", b"later", first_attempt_at=later)
    assert dlq.get(i).time_us == later
    with dlq.claim_due() as claims:
        assert len(claims) == 0
    clock.advance(MINUTE)
    with dlq.claim_due() as claims:
        assert [c.id for c in claims] == [i] and claims[0].payload == b"later"
