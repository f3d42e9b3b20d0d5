"""The log ring end to end: append, wrap-around, queries with paging, stats, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

import hardstore
from hardstore import Durability, Level, LogRecord

ENDPOINTS = ["GET /a", "POST /checkout", "GET /c"]


def append(store: hardstore.Store, i: int) -> int:
    failing = i % 6 >= 4
    return store.logs.append(
        Level(i % 6), f"request {i} done", target="py::test", tenant="acme" if i % 2 else "globex",
        user="u1", endpoint=ENDPOINTS[i % 3], status=500 if failing else 200, duration_us=1000 + i,
        error="upstream failed" if failing else None, causes=["connection reset"] if failing else (),
        fields={"i": "x"}, durability=Durability.DURABLE if i % 50 == 0 else Durability.BUFFERED,
    )


@pytest.fixture
def ring(store_path: Path):
    with hardstore.open(store_path, log_capacity=100) as s:
        for i in range(250):
            assert append(s, i) == i
        yield s


def test_range_after_wrap(ring: hardstore.Store) -> None:
    r = ring.logs.range()
    assert (r.oldest, r.next) == (150, 250)


def test_query_filters_and_pages(ring: hardstore.Store) -> None:
    q = ring.logs.query(min_level=Level.ERROR, endpoint="POST /checkout", page_size=4)
    entries = list(q)
    expected = [i for i in range(249, 149, -1) if i % 3 == 1 and i % 6 >= 4]
    assert [e.seq for e in entries] == expected
    pages = list(q.pages())
    assert len(pages) >= 2 and all(len(p.items) == 4 for p in pages[:-1]) and len(pages[-1].items) <= 4
    assert pages[-1].next_cursor is None and [x.seq for p in pages for x in p.items] == expected
    e = entries[0]
    assert e.level >= Level.ERROR and e.status == 500 and e.duration_us == 1000 + e.seq
    assert e.error == "upstream failed" and e.causes == ("connection reset",)
    assert e.fields == (("i", "x"),) and e.endpoint == "POST /checkout" and e.user == "u1"
    assert e.target == "py::test" and e.message == f"request {e.seq} done"
    assert e.tenant == ("acme" if e.seq % 2 else "globex")
    oldest = list(ring.logs.query(tenant="acme", oldest_first=True, page_size=7))
    assert [x.seq for x in oldest] == [i for i in range(150, 250) if i % 2]
    assert all(x.error is None for x in ring.logs.query(min_level=Level.TRACE) if x.level < Level.ERROR)
    assert list(ring.logs.query(user="nobody")) == []
    t = ring.logs.query(oldest_first=True).first_page().items[0].time_us
    assert list(ring.logs.query(until=t)) == []


def test_text_search_and_redaction(ring: hardstore.Store) -> None:
    seq = ring.logs.append(LogRecord(Level.WARN, "mail to alice@example.com failed"))
    hits = list(ring.logs.query(text="mail to"))
    assert len(hits) == 1 and hits[0].seq == seq
    assert hits[0].message == "mail to [email] failed"
    assert hits[0].status is None and hits[0].duration_us is None and hits[0].error is None


def test_redaction_can_be_turned_off(store_path: Path) -> None:
    with hardstore.open(store_path, redact_logs=False) as s:
        s.logs.append(Level.INFO, "mail to alice@example.com")
        assert [e.message for e in s.logs.query()] == ["mail to alice@example.com"]


def test_stats(ring: hardstore.Store) -> None:
    stats = ring.logs.stats()
    assert stats.total == 100
    assert sum(stats.per_level.values()) == 100
    assert stats.per_level[Level.FATAL] == sum(1 for i in range(150, 250) if i % 6 == 5)
    assert 0.0 < stats.error_rate < 1.0
    assert [ep.endpoint for ep in stats.endpoints] == sorted(ENDPOINTS)
    checkout = stats.endpoints[2]
    assert checkout.endpoint == "POST /checkout"
    assert checkout.count == sum(1 for i in range(150, 250) if i % 3 == 1)
    assert checkout.errors == sum(1 for i in range(150, 250) if i % 3 == 1 and i % 6 >= 4)
    assert checkout.mean_duration_us is not None and checkout.p95_duration_us >= checkout.mean_duration_us
    empty = ring.logs.stats(since=0, until=1)
    assert empty.total == 0 and empty.endpoints == [] and empty.error_rate == 0.0
    with pytest.raises(hardstore.InvalidArgument):
        ring.logs.stats(since=5, until=1)


def test_bad_input_changes_nothing(ring: hardstore.Store) -> None:
    before = ring.logs.range()
    with pytest.raises(hardstore.TooLong):
        ring.logs.append(Level.INFO, "x" * 8193)
    with pytest.raises(hardstore.InvalidArgument):
        ring.logs.append(9, "m")
    with pytest.raises(hardstore.InvalidUtf8):
        ring.logs.append(Level.INFO, b"\xff\xfe")
    with pytest.raises(hardstore.TooLong):
        ring.logs.append(Level.INFO, "ok", endpoint="e" * 257)
    with pytest.raises(hardstore.InvalidArgument):
        ring.logs.append(Level.INFO, "ok", fields={"": "v"})
    with pytest.raises(hardstore.InvalidArgument):
        ring.logs.append(Level.INFO, "ok", durability=3)  # type: ignore[arg-type]
    with pytest.raises(hardstore.InvalidArgument):
        ring.logs.query(page_size=0)
    with pytest.raises(hardstore.InvalidArgument):
        ring.logs.query(min_level=6)
    with pytest.raises(hardstore.InvalidArgument):
        ring.logs.query(cursor=b"junk")
    with pytest.raises(hardstore.InvalidArgument):
        ring.logs.query(since=9, until=1)
    assert ring.logs.range() == before


def test_ring_survives_reopen(store_path: Path) -> None:
    with hardstore.open(store_path, log_capacity=10) as s:
        for i in range(15):
            s.logs.append(Level.INFO, f"m{i}", durability=Durability.BUFFERED)
        r = s.logs.range()
    with hardstore.open(store_path, log_capacity=10) as s:
        assert s.logs.range() == r == (5, 15)
        assert [e.message for e in s.logs.query(oldest_first=True)] == [f"m{i}" for i in range(5, 15)]


def test_append_is_buffered_unless_asked(store: hardstore.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # The README, the Rust docs and the C header all call Buffered the logs' default.
    from hardstore._lib import lib

    real = lib.hardstore_logs_append
    seen = []

    def spy(handle, record, durability, out_seq):  # type: ignore[no-untyped-def]
        seen.append(durability)
        return real(handle, record, durability, out_seq)

    monkeypatch.setattr(lib, "hardstore_logs_append", spy)
    store.logs.append(Level.INFO, "default")
    store.logs.append(LogRecord(Level.INFO, "a record"))
    store.logs.append(Level.INFO, "asked", durability=Durability.DURABLE)
    assert seen == [Durability.BUFFERED, Durability.BUFFERED, Durability.DURABLE]
    assert [e.message for e in store.logs.query(oldest_first=True)] == ["default", "a record", "asked"]
