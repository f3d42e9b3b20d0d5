"""Rate limits end to end (the ground of tests/c/rate_limits_test.c): 60 a minute allows
60 then refills one a second, a denial's retry-after, a cost above the burst never
conforms, a limiter handle (and its close), keys kept across a close and a reopen, a
flush, stats and eviction, list, redefinition keeping keys, removal (old handles then
raise NotFound), audit entries, the options, and bad input refused with the right
exception."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Iterator, List

import pytest

import hardstore
from hardstore import Limiter, RateDecision, RateLimit, RateLimitInfo, RateLimitStats

from conftest import SEC

HOUR = 3600 * SEC


@pytest.fixture
def opts(clock: hardstore.ManualClock) -> hardstore.Options:
    # As the C test: no flush during the test (only close and flush() write keys).
    return hardstore.Options(clock=clock).rate_limits(max_keys=100_000, flush_us=HOUR)


@pytest.fixture
def rl_store(store_path: Path, opts: hardstore.Options) -> Iterator[hardstore.Store]:
    with hardstore.open(store_path, opts) as s:
        yield s


def _actions(store: hardstore.Store, tenant: str) -> List[str]:
    return [e.action for e in store.audit.query(tenant)]


def test_sixty_a_minute_then_one_a_second(rl_store: hardstore.Store,
                                          clock: hardstore.ManualClock) -> None:
    rl = rl_store.rate_limits
    rl.define("acme", "login", 60, 60)
    for i in range(60):
        d = rl.check("acme", "login", "203.0.113.9")
        assert d == RateDecision(allowed=True, limit=60, remaining=59 - i, retry_after=None,
                                 reset_after=d.reset_after)
        assert not d.never
    d = rl.check("acme", "login", "203.0.113.9")
    assert d == RateDecision(False, 60, 0, 1.0, 60.0)
    assert not d.never
    # A cost above the burst never conforms, and consumes nothing.
    d = rl.check("acme", "login", b"fresh", cost=61)
    assert not d.allowed and d.retry_after is None and d.never
    assert d.remaining == 60
    # A denied request consumed nothing: the key is still full.
    assert rl.check("acme", "login", b"fresh", 0).remaining == 60

    clock.advance(SEC)
    d = rl.check("acme", "login", "203.0.113.9")
    assert d.allowed and d.remaining == 0 and d.retry_after is None
    assert not rl.check("acme", "login", "203.0.113.9").allowed
    # str keys are their UTF-8 bytes.
    assert rl.check("acme", "login", b"203.0.113.9", 0).remaining == 0
    assert rl.check("acme", "login", bytearray(b"203.0.113.9"), 0).remaining == 0


def test_a_limiter_checks_through_a_handle_and_frees_it(rl_store: hardstore.Store,
                                                        clock: hardstore.ManualClock) -> None:
    rl = rl_store.rate_limits
    rl.define("acme", "login", 60, timedelta(minutes=1))
    for _ in range(60):
        rl.check("acme", "login", "203.0.113.9")
    clock.advance(SEC)
    with rl.limiter("acme", "login") as h:
        assert isinstance(h, Limiter) and (h.tenant, h.name) == ("acme", "login")
        assert repr(h) == "Limiter('acme', 'login')"
        d = h.check("203.0.113.9")
        assert d.allowed and d.remaining == 0 and d.retry_after is None
        d = h.check(b"198.51.100.1", cost=10)
        assert d.allowed and d.remaining == 50
        # The handle and the store see the same keys.
        assert rl.check("acme", "login", "198.51.100.1", 0).remaining == 50
        assert rl.stats("acme", "login") == RateLimitStats(keys=2, evicted_idle=0,
                                                          evicted_active=0)
    assert h.closed and "closed" in repr(h)
    with pytest.raises(hardstore.StoreClosed) as info:
        h.check("k")
    assert info.value.function == "Limiter.check"
    h.close()  # idempotent


def test_many_threads_share_one_limiter(rl_store: hardstore.Store) -> None:
    rl_store.rate_limits.define("acme", "api", 100, HOUR // SEC)
    allowed: List[bool] = []
    lock = threading.Lock()
    with rl_store.rate_limits.limiter("acme", "api") as h:
        def work() -> None:
            got = [h.check("shared").allowed for _ in range(50)]
            with lock:
                allowed.extend(got)
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(allowed) == 200 and sum(allowed) == 100  # the clock did not move


def test_keys_survive_a_close_and_a_reopen(store_path: Path, opts: hardstore.Options,
                                           clock: hardstore.ManualClock) -> None:
    with hardstore.open(store_path, opts) as s:
        s.rate_limits.define("acme", "login", 60, 60)
        for _ in range(60):
            s.rate_limits.check("acme", "login", "203.0.113.9")
        clock.advance(SEC)
        with s.rate_limits.limiter("acme", "login") as h:
            h.check("203.0.113.9")
            h.check("198.51.100.1", 10)
    # The close's last commit wrote the keys (no flush ran: its interval is an hour).
    with hardstore.open(store_path, opts) as s:
        rl = s.rate_limits
        assert rl.check("acme", "login", "198.51.100.1", 0) == RateDecision(
            True, 60, 50, None, 10.0)
        assert rl.check("acme", "login", "203.0.113.9", 0).remaining == 0
        assert rl.get("acme", "login") == RateLimit(60, timedelta(seconds=60), 60)
        assert rl.get("acme", "nope") is None
        # A flush writes what checks changed since (a read with cost 0 changes nothing).
        rl.check("acme", "login", "k3", 5)
        assert rl.flush() == 1
        assert rl.flush() == 0


def test_a_flush_makes_keys_durable_before_the_close(store_path: Path,
                                                     opts: hardstore.Options) -> None:
    with hardstore.open(store_path, opts) as s:
        s.rate_limits.define("acme", "login", 10, 60)
        s.rate_limits.check("acme", "login", "k", 4)
        assert s.rate_limits.flush() == 1
        s.rate_limits.check("acme", "login", "k", 0)
        assert s.rate_limits.flush() == 0


def test_redefine_list_and_remove(rl_store: hardstore.Store) -> None:
    rl = rl_store.rate_limits
    rl.define("acme", "login", 60, 60)
    for key, cost in (("a", 1), ("b", 2), ("k3", 5)):
        rl.check("acme", "login", key, cost)
    rl.flush()
    # Redefinition keeps every key's state.
    rl.define("acme", "login", 60, 60, burst=100)
    d = rl.check("acme", "login", "k3", 0)
    assert d.limit == 100 and d.remaining == 95
    assert rl.get("acme", "login") == RateLimit(60, timedelta(seconds=60), 100)
    per_hour = RateLimit(1000, timedelta(hours=1), 1000)
    rl.define("beta", "api", per_hour.count, per_hour.period)
    rl.define("acme", "export", 5, 0.5, burst=1)  # half a second, as a float
    got = rl.list()
    assert got == [
        RateLimitInfo("acme", "export", RateLimit(5, timedelta(milliseconds=500), 1)),
        RateLimitInfo("acme", "login", RateLimit(60, timedelta(seconds=60), 100)),
        RateLimitInfo("beta", "api", per_hour),
    ]
    assert got[0].limit.period_us == 500_000 and got[0].limit.period_seconds == 0.5
    # A limit read back defines the same limit again.
    lim = rl.get("beta", "api")
    assert lim is not None
    rl.define("beta", "api", lim.count, lim.period, lim.burst)
    assert rl.get("beta", "api") == lim

    # Removal deletes the stored keys and refuses the handles on it.
    h = rl.limiter("acme", "login")
    assert rl.remove("acme", "login") == 3
    with pytest.raises(hardstore.NotFound) as info:
        h.check("k")
    assert info.value.function == "hardstore_limiter_check"
    h.close()
    with pytest.raises(hardstore.NotFound) as info:
        rl.remove("acme", "login")
    assert isinstance(info.value, LookupError) and info.value.message
    with pytest.raises(hardstore.NotFound):
        rl.check("acme", "login", "k")
    with pytest.raises(hardstore.NotFound):
        rl.limiter("acme", "login")
    with pytest.raises(hardstore.NotFound):
        rl.stats("acme", "login")
    assert rl.get("acme", "login") is None
    assert [i.name for i in rl.list()] == ["export", "api"]
    assert rl.remove("acme", "export") == 0  # no key was ever stored

    # Every define and remove is audited under the limit's tenant.
    assert _actions(rl_store, "acme") == [
        "rate_limit.define", "rate_limit.define", "rate_limit.define", "rate_limit.remove",
        "rate_limit.remove"]
    assert _actions(rl_store, "beta") == ["rate_limit.define", "rate_limit.define"]


def test_keys_are_bounded(store_path: Path, clock: hardstore.ManualClock) -> None:
    # One key per shard: 65 keys in use over 64 shards evict at least one.
    with hardstore.open(store_path, clock=clock, rate_limit_max_keys=1) as s:
        s.rate_limits.define("acme", "api", 10, 10)
        for i in range(65):
            assert s.rate_limits.check("acme", "api", f"k{i}").allowed
        st = s.rate_limits.stats("acme", "api")
        assert st.keys <= 64 and st.evicted_active >= 1
        assert st.keys + st.evicted_active == 65 and st.evicted_idle == 0


def test_a_limiter_may_outlive_its_store(store_path: Path, opts: hardstore.Options) -> None:
    s = hardstore.open(store_path, opts)
    s.rate_limits.define("acme", "login", 60, 60)
    h = s.rate_limits.limiter("acme", "login")
    s.close()  # the open limiter does not hold the close up
    with h:
        assert h.check("k").remaining == 59  # memory only from now on
        assert h.check("k").remaining == 58
    with hardstore.open(store_path, opts) as s:
        assert s.rate_limits.check("acme", "login", "k", 0).remaining == 60


def test_options(store_path: Path, clock: hardstore.ManualClock) -> None:
    o = hardstore.Options()
    assert o.rate_limits(max_keys=5) is o
    assert (o.rate_limit_max_keys, o.rate_limit_flush_us) == (5, None)
    o.rate_limits(flush_us=10)
    assert (o.rate_limit_max_keys, o.rate_limit_flush_us) == (None, 10)
    for bad in (dict(rate_limit_max_keys=0), dict(rate_limit_flush_us=0)):
        with pytest.raises(hardstore.InvalidArgument) as info:
            hardstore.open(store_path, **bad)
        assert type(info.value) is hardstore.InvalidArgument, bad
        assert info.value.function == "hardstore_options_set_rate_limits"
    with pytest.raises(hardstore.InvalidArgument) as info:
        hardstore.open(store_path, rate_limit_flush_us=-1)
    assert info.value.function is None and "rate_limit_flush_us" in info.value.message
    with pytest.raises(TypeError):
        hardstore.open(store_path, rate_limit_max_keys="many")
    # Either alone keeps the other's default.
    with hardstore.open(store_path, clock=clock, rate_limit_flush_us=HOUR) as s:
        s.rate_limits.define("acme", "login", 1, 1)
        assert s.rate_limits.check("acme", "login", "k").allowed


def test_bad_input_is_refused_and_changes_nothing(rl_store: hardstore.Store) -> None:
    rl = rl_store.rate_limits
    rl.define("beta", "api", 1000, 3600)
    size = rl_store.audit.size()

    for args in (("t", "x", 0, 1), ("t", "x", 1, 0), ("", "x", 1, 1), ("t", "", 1, 1),
                 ("t", "x", 1, 1, 0), ("t", "x", 1, 367 * 86400)):
        with pytest.raises(hardstore.InvalidArgument) as info:
            rl.define(*args)
        assert type(info.value) is hardstore.InvalidArgument, args
        assert info.value.function == "hardstore_rate_limit_define" and info.value.message
    with pytest.raises(hardstore.InvalidArgument):
        rl.define("t", "x", 1, 1e-9)  # rounds to 0 us
    with pytest.raises(hardstore.InvalidUtf8):
        rl.define(b"\xff", "x", 1, 1)
    with pytest.raises(hardstore.TooLong):
        rl.define("t" * 129, "x", 1, 1)
    with pytest.raises(hardstore.TooLong):
        rl.define("t", "x" * 129, 1, 1)
    rl.define("t" * 128, "x" * 128, 1, 1)  # the limits themselves are fine
    size += 1
    # Checked by the binding before the call (ctypes would wrap them).
    for args in (("t", "x", -1, 1), ("t", "x", 1, -1), ("t", "x", 2**64, 1),
                 ("t", "x", 1, 1, -5), ("t", "x", 1, timedelta(seconds=-1)),
                 ("t", "x", 1, float("inf")), ("t", "x", 1, float("nan"))):
        with pytest.raises(hardstore.InvalidArgument) as info:
            rl.define(*args)
        assert info.value.function is None, args
    for args in (("t", "x", 1, "60"), ("t", "x", 1.5, 1), ("t", 42, 1, 1)):
        with pytest.raises(TypeError):
            rl.define(*args)  # type: ignore[arg-type]

    with pytest.raises(hardstore.InvalidArgument) as info:
        rl.check("beta", "api", b"")
    assert info.value.function == "hardstore_rate_limit_check"
    with pytest.raises(hardstore.TooLong) as too_long:
        rl.check("beta", "api", b"k" * 300)
    assert too_long.value.code == hardstore.Result.TOO_LONG
    assert rl.check("beta", "api", b"k" * 256).allowed
    with pytest.raises(hardstore.InvalidArgument):
        rl.check("beta", "api", "k", cost=-1)
    with pytest.raises(TypeError):
        rl.check("beta", "api", 42)  # type: ignore[arg-type]
    with pytest.raises(hardstore.NotFound):
        rl.check("beta", "nope", "k")
    # An empty tenant or name is refused by every call, lookups included.
    with pytest.raises(hardstore.InvalidArgument):
        rl.get("", "api")
    with pytest.raises(hardstore.InvalidArgument):
        rl.limiter("beta", "")
    with pytest.raises(hardstore.InvalidArgument):
        rl.check("", "api", "k")
    with pytest.raises(hardstore.InvalidArgument) as info:
        rl.remove("", "api")
    assert type(info.value) is hardstore.InvalidArgument
    with pytest.raises(hardstore.TooLong):
        rl.get("t" * 129, "api")
    with rl.limiter("beta", "api") as h:
        with pytest.raises(hardstore.InvalidArgument) as info:
            h.check(b"")
        assert info.value.function == "hardstore_limiter_check"
        with pytest.raises(hardstore.TooLong):
            h.check(b"k" * 257)
    assert [(i.tenant, i.name) for i in rl.list()] == [("beta", "api"), ("t" * 128, "x" * 128)]
    assert rl_store.audit.size() == size


def test_a_closed_store_raises_store_closed(store_path: Path) -> None:
    s = hardstore.open(store_path)
    rl = s.rate_limits
    s.close()
    with pytest.raises(hardstore.StoreClosed) as info:
        rl.check("acme", "login", "k")
    assert info.value.function == "RateLimits.check"
    with pytest.raises(hardstore.StoreClosed):
        rl.define("acme", "login", 1, 1)
    with pytest.raises(hardstore.StoreClosed):
        rl.limiter("acme", "login")
