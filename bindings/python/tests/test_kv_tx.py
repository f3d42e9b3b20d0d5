"""App state and multi-area transactions end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

import hardstore
from hardstore import Durability, Started

from conftest import SEC

REQ = b"POST /orders\n{}"


def test_kv_put_get_delete(store: hardstore.Store) -> None:
    kv = store.kv
    assert kv.get("orders", b"o-1") is None
    assert kv.get("orders", b"o-1", default=b"none") == b"none"
    kv.put("orders", b"o-1", b"paid")
    kv.put("orders", "o-2", "caf\u00e9")  # str keys and values are UTF-8
    kv.put("orders", b"\x00\xff", b"")  # any key bytes; an empty value
    kv.put("other", b"o-1", b"elsewhere", durability=Durability.BUFFERED)
    assert kv.get("orders", b"o-1") == b"paid"
    assert kv.get("orders", b"o-2") == "caf\u00e9".encode()
    assert kv.get("orders", b"\x00\xff") == b"" and kv.contains("orders", b"\x00\xff")
    assert kv.get("other", b"o-1") == b"elsewhere"
    kv.put("orders", b"o-1", b"refunded")
    assert kv.get("orders", b"o-1") == b"refunded"
    assert kv.delete("orders", b"o-1") is True
    assert kv.delete("orders", b"o-1") is False
    assert kv.get("orders", b"o-1") is None and not kv.contains("orders", b"o-1")


def test_kv_limits(store: hardstore.Store) -> None:
    with pytest.raises(hardstore.InvalidArgument):
        store.kv.put("", b"k", b"v")
    with pytest.raises(hardstore.InvalidArgument):
        store.kv.put("ns", b"", b"v")
    with pytest.raises(hardstore.TooLong):
        store.kv.put("n" * 65, b"k", b"v")
    with pytest.raises(hardstore.TooLong):
        store.kv.put("ns", b"k" * 1025, b"v")
    with pytest.raises(hardstore.TooLong):
        store.kv.put("ns", b"k", b"v" * (1024 * 1024 + 1))
    with pytest.raises(hardstore.InvalidUtf8):
        store.kv.put(b"\xff", b"k", b"v")
    with pytest.raises(TypeError):
        store.kv.put("ns", 5, b"v")  # type: ignore[arg-type]
    with pytest.raises(hardstore.InvalidArgument):
        store.kv.put("ns", b"k", b"v", durability=9)  # type: ignore[arg-type]


def test_kv_survives_reopen(store_path: Path) -> None:
    with hardstore.open(store_path) as s:
        s.kv.put("app", b"k", b"v", durability=Durability.BUFFERED)
    with hardstore.open(store_path) as s:
        assert s.kv.get("app", b"k") == b"v"


def test_transaction_commits_every_area_together(store: hardstore.Store) -> None:
    audits = store.audit.size()
    begun = store.idem.begin("acme", "order-1", REQ)
    assert isinstance(begun, Started)
    with begun, store.transaction() as tx:
        tx.kv_put("orders", b"o-1", b"paid")
        tx.kv_put("orders", b"tmp", b"x")
        tx.kv_delete("orders", b"tmp")
        assert tx.audit_append("acme", "order.created", resource="order/1") == 0
        assert tx.audit_append(hardstore.AuditEvent("acme", "order.paid")) == 1
        tx.idem_complete(begun.token, b'{"id":1}', status=201)
        assert tx.dlq_record("acme", "email", b"receipt", error="not sent yet") == 0
        with pytest.raises(hardstore.InvalidArgument):
            tx.audit_seq(0)  # before the commit
    assert tx.committed and tx.closed
    assert tx.audit_seqs == [audits, audits + 1]
    assert tx.audit_seq(1) == audits + 1
    assert store.audit.get(audits + 1).action == "order.paid"
    assert store.audit.get(audits).resource == "order/1"
    assert store.kv.get("orders", b"o-1") == b"paid" and store.kv.get("orders", b"tmp") is None
    replay = store.idem.begin("acme", "order-1", REQ)
    assert isinstance(replay, hardstore.Replay) and replay.response.body == b'{"id":1}'
    assert len(tx.dead_letter_ids) == 1
    dl = store.dlq.get(tx.dead_letter_ids[0])
    assert (dl.kind, dl.payload, dl.last_error) == ("email", b"receipt", "not sent yet")


def test_explicit_commit_results_and_refusals(store: hardstore.Store) -> None:
    tx = store.transaction(Durability.BUFFERED)
    tx.kv_put("a", b"k", b"v")
    i = tx.audit_append("acme", "x")
    j = tx.audit_append("acme", "y")
    tx.commit()
    assert (i, j) == (0, 1)
    assert tx.audit_seq(1) == tx.audit_seq(0) + 1
    with pytest.raises(hardstore.NotFound):
        tx.audit_seq(2)
    with pytest.raises(hardstore.NotFound):
        tx.dead_letter_id(0)
    with pytest.raises(hardstore.InvalidArgument):
        tx.commit()  # a commit finishes the transaction
    with pytest.raises(hardstore.InvalidArgument):
        tx.kv_put("a", b"k", b"again")
    tx.close()
    assert tx.audit_seq(1) == tx.audit_seqs[1]  # kept after close
    store.flush()
    assert store.kv.get("a", b"k") == b"v"


def test_exception_in_block_discards_everything(store: hardstore.Store) -> None:
    audits = store.audit.size()
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.kv_put("orders", b"o-9", b"paid")
            tx.audit_append("acme", "order.paid")
            raise RuntimeError("handler failed")
    assert tx.closed and not tx.committed
    assert store.kv.get("orders", b"o-9") is None and store.audit.size() == audits
    tx2 = store.transaction()
    tx2.kv_put("orders", b"o-9", b"paid")
    tx2.abort()
    assert store.kv.get("orders", b"o-9") is None


def test_fenced_completion_writes_nothing(clocked_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    s = clocked_store
    old = s.idem.begin("acme", "k", REQ, lease_ms=10_000)
    clock.advance(11 * SEC)
    new = s.idem.begin("acme", "k", REQ, lease_ms=10_000)
    audits = s.audit.size()
    with pytest.raises(hardstore.Fenced):
        with s.transaction() as tx:
            tx.kv_put("orders", b"o-2", b"paid")
            tx.audit_append("acme", "order.paid")
            tx.idem_complete(old.token, b"late", status=200)
    assert tx.closed and not tx.committed
    assert s.audit.size() == audits and s.kv.get("orders", b"o-2") is None
    # The new holder's transaction goes through, including a recovery point and a release.
    other = s.idem.begin("acme", "k2", REQ)
    with s.transaction() as tx:
        tx.kv_put("orders", b"o-2", b"paid")
        tx.idem_complete(new.token, b"ok", status=200)
        tx.idem_save_recovery(other.token, "step", b"1")
    assert s.kv.get("orders", b"o-2") == b"paid"
    s.idem.abandon(other.token)
    taken = s.idem.begin("acme", "k2", REQ)
    assert taken.token.recovery == hardstore.Recovery("step", b"1")
    with s.transaction() as tx:
        tx.idem_fail(taken.token, b"declined", status=402)
    r = s.idem.begin("acme", "k2", REQ)
    assert isinstance(r, hardstore.Replay) and r.response.failed and r.response.status == 402
    third = s.idem.begin("acme", "k3", REQ)
    with s.transaction() as tx:
        tx.idem_release(third.token)
    assert s.idem.get("acme", "k3") is None
    for x in (old, new, other, taken, third):
        x.close()


def test_transaction_with_dead_letters(store: hardstore.Store) -> None:
    store.dlq.record("acme", "webhook", b'{"order":2}', error="503")
    store.dlq.record("acme", "webhook", b'{"order":3}', error="503")
    with store.dlq.claim_due(10, 60 * SEC) as claims:
        assert len(claims) == 2
        with store.transaction() as tx:
            tx.kv_put("webhooks", b"order/2", b"delivered")
            tx.dlq_ack(claims[0])
            tx.dlq_fail(claims[1], "still 503", retryable=False)
            with pytest.raises(hardstore.TooLong):
                tx.dlq_fail(claims[1], "e" * 5000)
        counts = store.dlq.counts()
        assert (counts.done, counts.dead, counts.leased) == (1, 1, 0)
        assert store.dlq.get(claims[1].id).last_error == "still 503"
        # Acking the same claim again: fenced, nothing of the transaction written.
        with pytest.raises(hardstore.Fenced):
            with store.transaction() as tx:
                tx.kv_put("webhooks", b"order/3", b"delivered")
                tx.dlq_ack(claims[0])
        assert store.kv.get("webhooks", b"order/3") is None


def test_transaction_bad_input(store: hardstore.Store) -> None:
    with pytest.raises(hardstore.InvalidArgument):
        store.transaction(9)  # type: ignore[arg-type]
    with store.transaction() as tx:
        with pytest.raises(hardstore.InvalidArgument):
            tx.kv_put("", b"k", b"v")
        with pytest.raises(hardstore.InvalidArgument):
            tx.audit_append("acme", "")
        with pytest.raises(hardstore.InvalidArgument):
            tx.dlq_record("acme", "", b"p")
        tx.kv_put("ok", b"k", b"v")  # the transaction is still usable
    assert store.kv.get("ok", b"k") == b"v"


def test_closing_the_store_discards_open_transactions(store_path: Path) -> None:
    s = hardstore.open(store_path)
    tx = s.transaction()
    tx.kv_put("a", b"k", b"v")
    s.close()
    assert tx.closed
    with pytest.raises(hardstore.StoreClosed):
        tx.kv_put("a", b"k2", b"v")
    with pytest.raises(hardstore.StoreClosed):
        tx.commit()
    with hardstore.open(store_path) as s2:
        assert s2.kv.get("a", b"k") is None
