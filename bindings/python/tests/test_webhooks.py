"""The webhook outbox end to end, checked against the Standard Webhooks reference library
(PyPI ``standardwebhooks``, a required test dependency):

- deliveries' headers verify with the reference's ``Webhook(secret).verify`` (a store on
  the system clock, as the reference checks the timestamp against the real one), and
  edited bodies or other secrets are refused by it;
- signatures the reference makes (``Webhook(secret).sign``) verify with our
  ``verify_webhook``, and an edited payload, another secret or a stale timestamp is
  refused with SignatureInvalid by ours and by the reference;
- during a rotation (two secrets) the reference verifies with either secret;

and the ground of tests/c/webhooks_test.c with a manual clock: the retry schedule (a
failure is due again 5 s later, then on the standard's schedule, a dead letter after the
8th), a lapsed lease fencing the old holder, the message and app state committed in one
transaction (or neither), an endpoint disabled after 24 failures in a row until enabled,
removal asking for its message count, and bad input refused with the right exception."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List, Optional

import pytest

import hardstore
from hardstore import (
    OutboxCounts,
    WebhookClaim,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookFailOutcome,
    Webhooks,
    verify_webhook,
)
from hardstore import webhooks as wh

from conftest import SEC

try:  # a required test dependency: without it the interoperability tests fail, never skip
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    _MISSING: Optional[str] = None
except ImportError as e:  # pragma: no cover - the message is the point
    Webhook = WebhookVerificationError = None  # type: ignore[assignment,misc]
    _MISSING = (f"standardwebhooks (the Standard Webhooks reference library) is a required "
                f"test dependency of the webhook tests ({e}); install it: "
                f"pip install standardwebhooks")

T0 = 1_000 * SEC  # the manual clock's start (conftest)
URL = "https://acme.example/hooks"
# The Standard Webhooks specification's test vector.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(msg_id: str, ts: int, sig: str) -> dict:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


def _claim_one(store: hardstore.Store, **kw: object) -> WebhookDelivery:
    claim = store.webhooks.claim(**kw)  # type: ignore[arg-type]
    assert len(claim) == 1, list(claim)
    return claim[0]


def _actions(store: hardstore.Store, tenant: str = "acme") -> List[str]:
    return [e.action for e in store.audit.query(tenant)]


# --- Interoperability with the reference library ---------------------------------------


@pytest.fixture
def reference() -> None:
    if _MISSING is not None:
        pytest.fail(_MISSING)


def test_the_reference_library_is_installed() -> None:
    assert _MISSING is None, _MISSING


def test_deliveries_verify_with_the_reference_library(store: hardstore.Store,
                                                      reference: None) -> None:
    secret = store.webhooks.generate_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    assert wh.generate_secret() != hardstore.generate_webhook_secret() != secret
    hooks = store.webhooks
    assert isinstance(hooks, Webhooks)
    hooks.put_endpoint("acme", "orders", URL, [secret])

    with store.transaction() as tx:
        tx.kv_put("orders", b"1001", b"paid")
        tx.outbox_enqueue("acme", "orders", "order.paid", b'{"id":1001}')
    binary = bytes(range(256))  # not UTF-8: signed and verified byte for byte
    second = hooks.enqueue("acme", "orders", "blob.made", binary)
    third = hooks.enqueue("acme", "orders", "note", "caf\u00e9 \u2603")  # str: sent as UTF-8
    assert (second, third) == (2, 3)

    before = int(time.time())
    with hooks.claim(limit=10, lease_seconds=30) as claim:
        after = int(time.time())
        assert isinstance(claim, WebhookClaim) and len(claim) == 3 and claim
        first, blob, note = claim
        assert isinstance(first, WebhookDelivery)
        assert (first.id, first.attempt, first.url, first.event_type) == (1, 1, URL, "order.paid")
        assert first.payload == b'{"id":1001}' and isinstance(first.payload, bytes)
        assert blob.payload == binary and note.payload == "caf\u00e9 \u2603".encode()
        assert list(first.headers) == ["webhook-id", "webhook-timestamp", "webhook-signature"]
        assert first.headers["webhook-id"] == first.webhook_id == "msg_0000000000000001"
        assert before <= first.timestamp <= after
        assert first.headers["webhook-timestamp"] == str(first.timestamp)
        assert first.headers["webhook-signature"].startswith("v1,")
        assert abs(first.lease_until - (first.timestamp + 30) * SEC) <= 2 * SEC
        assert "order.paid" in repr(first)

        # The reference verifies every delivery as it is sent (JSON parsed on request).
        ref = Webhook(secret)
        assert ref.verify(first.payload, first.headers) == {"id": 1001}
        assert ref.verify(blob.payload, blob.headers, json_parse=False) is None
        assert ref.verify(note.payload, note.headers, json_parse=False) is None
        # As an HTTP framework would hand the headers over: other case, other headers.
        received = {k.title(): v for k, v in first.headers.items()}
        received["Content-Type"] = "application/json"
        assert ref.verify(first.payload, received) == {"id": 1001}
        for d in claim:
            verify_webhook([secret], d.headers, d.payload)
            verify_webhook(secret, d.headers, d.payload)  # one secret as a str
        verify_webhook([secret], received, first.payload)

        # An edited body or another secret: the reference refuses, as ours does.
        with pytest.raises(WebhookVerificationError):
            ref.verify(b'{"id":1002}', first.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(wh.generate_secret()).verify(first.payload, first.headers)
        with pytest.raises(hardstore.SignatureInvalid):
            verify_webhook([secret], first.headers, b'{"id":1002}')

        for d in claim:
            d.ack()
    assert claim.closed
    assert store.kv.get("orders", b"1001") == b"paid"
    assert hooks.counts() == OutboxCounts(0, 0)


def test_reference_signatures_verify_with_ours(reference: None) -> None:
    # The specification's vector, with a timestamp of its own (now given).
    verify_webhook([SPEC_SECRET], _headers(SPEC_ID, SPEC_TS, SPEC_SIG), SPEC_BODY, now=SPEC_TS + 10)
    ref = Webhook(SPEC_SECRET)
    assert ref.sign(SPEC_ID, datetime.fromtimestamp(SPEC_TS, timezone.utc), SPEC_BODY) == SPEC_SIG
    # Unknown schemes and other signatures are skipped; one matching v1 is enough.
    mixed = f"v1a,xxx v1,bm9wZQ== {SPEC_SIG}"
    verify_webhook([SPEC_SECRET], _headers(SPEC_ID, SPEC_TS, mixed), SPEC_BODY, now=SPEC_TS)

    # Signed by the reference now, for random secrets of 24 and 64 bytes.
    for secret in (wh.generate_secret(), "whsec_" + base64.b64encode(bytes(range(64))).decode()):
        ref = Webhook(secret)
        now = datetime.now(timezone.utc)
        body = json.dumps({"order": 1001, "note": "caf\u00e9"}).encode()
        msg_id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
        headers = _headers(msg_id, int(now.timestamp()), ref.sign(msg_id, now, body))
        assert ref.verify(body, headers) == json.loads(body)  # the reference agrees
        verify_webhook([secret], headers, body)  # the system clock
        verify_webhook([secret], headers, body.decode())  # a str body, as its UTF-8
        verify_webhook([secret], headers, body, now=now)  # a datetime
        verify_webhook([secret], headers, body, now=now.timestamp() + 299.9)
        verify_webhook([wh.generate_secret(), secret], headers, body)  # any secret matches

        # An edited payload, another secret, a stale or future timestamp: refused by both.
        with pytest.raises(hardstore.SignatureInvalid) as info:
            verify_webhook([secret], headers, body + b" ")
        assert info.value.code == hardstore.Result.SIGNATURE_INVALID == 27
        assert info.value.code_name == "HARDSTORE_SIGNATURE_INVALID"
        assert info.value.function == "hardstore_webhook_verify"
        assert "no signature matches" in info.value.message
        with pytest.raises(WebhookVerificationError):
            ref.verify(body + b" ", headers)
        other = wh.generate_secret()
        with pytest.raises(hardstore.SignatureInvalid):
            verify_webhook([other], headers, body)
        with pytest.raises(WebhookVerificationError):
            Webhook(other).verify(body, headers)

        for skew in (-600, 600):
            at = now + timedelta(seconds=skew)
            moved = _headers(msg_id, int(at.timestamp()), ref.sign(msg_id, at, body))
            with pytest.raises(hardstore.SignatureInvalid) as info:
                verify_webhook([secret], moved, body)
            assert "outside the tolerance of 300 s" in info.value.message
            with pytest.raises(WebhookVerificationError):
                ref.verify(body, moved)
            # A wider tolerance (or the time it was sent) accepts it.
            verify_webhook([secret], moved, body, tolerance=900)
            verify_webhook([secret], moved, body, tolerance=timedelta(minutes=15))
            verify_webhook([secret], moved, body, now=at)
        # The boundary: 300 s either way is in, 301 s out.
        ts = int(now.timestamp())
        signed = ref.sign(msg_id, datetime.fromtimestamp(ts, timezone.utc), body)
        exact = _headers(msg_id, ts, signed)
        verify_webhook([secret], exact, body, now=ts + 300)
        verify_webhook([secret], exact, body, now=ts - 300)
        with pytest.raises(hardstore.SignatureInvalid):
            verify_webhook([secret], exact, body, now=ts + 301)
        with pytest.raises(hardstore.SignatureInvalid):
            verify_webhook([secret], exact, body, tolerance=0, now=ts + 1)


def test_rotation_either_secret_verifies(store: hardstore.Store, reference: None) -> None:
    old, new = wh.generate_secret(), wh.generate_secret()
    hooks = store.webhooks
    hooks.put_endpoint("acme", "orders", URL, [old])
    hooks.enqueue("acme", "orders", "order.paid", b'{"id":1}')
    with hooks.claim() as claim:
        d = claim[0]
        assert len(d.headers["webhook-signature"].split(" ")) == 1
        Webhook(old).verify(d.payload, d.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(new).verify(d.payload, d.headers)
        d.ack()

    # The rotation: the new secret first, the old one still signing.
    hooks.put_endpoint("acme", "orders", URL, [new, old])
    assert hooks.endpoint("acme", "orders") == WebhookEndpoint("acme", "orders", True, 0, 2)
    hooks.enqueue("acme", "orders", "order.paid", b'{"id":2}')
    with hooks.claim() as claim:
        d = claim[0]
        sigs = d.headers["webhook-signature"].split(" ")
        assert len(sigs) == 2 and all(s.startswith("v1,") for s in sigs)
        for secret in (new, old):  # a receiver holding either verifies
            assert Webhook(secret).verify(d.payload, d.headers) == {"id": 2}
            verify_webhook([secret], d.headers, d.payload)
        # The newest secret's signature comes first.
        ts = datetime.fromtimestamp(d.timestamp, timezone.utc)
        assert sigs == [Webhook(s).sign(d.webhook_id, ts, d.payload) for s in (new, old)]
        with pytest.raises(WebhookVerificationError):
            Webhook(wh.generate_secret()).verify(d.payload, d.headers)
        d.ack()

    # Rotation done: the old secret no longer signs.
    hooks.put_endpoint("acme", "orders", URL, [new])
    hooks.enqueue("acme", "orders", "order.paid", b'{"id":3}')
    with hooks.claim() as claim:
        d = claim[0]
        Webhook(new).verify(d.payload, d.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(d.payload, d.headers)
        with pytest.raises(hardstore.SignatureInvalid):
            verify_webhook([old], d.headers, d.payload)
        d.ack()
    puts = list(store.audit.query("acme", action="webhook.endpoint_put"))
    assert [(e.outcome, e.details_dict["secrets"]) for e in puts] == [
        ("added", "1"), ("replaced", "2"), ("replaced", "1")]
    assert all(old not in str(e) and new not in str(e) for e in puts)  # never the secrets


# --- The ground of the C test (a manual clock) -----------------------------------------


def test_retry_schedule_and_a_lapsed_lease_fencing_the_old_holder(
        clocked_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    s = clocked_store
    secret = wh.generate_secret()
    s.webhooks.put_endpoint("acme", "orders", URL, [secret])
    with s.transaction() as tx:
        tx.kv_put("orders", b"1001", b"paid")
        tx.outbox_enqueue("acme", "orders", "order.paid", '{"id":1001}')
    assert s.webhooks.counts() == (1, 0)

    claim = s.webhooks.claim(10, 30)
    d = claim[0]
    assert (d.id, d.attempt, d.payload) == (1, 1, b'{"id":1001}')
    assert d.timestamp == T0 // SEC and d.lease_until == T0 + 30 * SEC
    assert len(d.webhook_id) == 20 and d.webhook_id.startswith("msg_")
    assert s.webhooks.counts() == OutboxCounts(pending=1, leased=1)
    now_s = T0 // SEC
    verify_webhook([secret], d.headers, d.payload, now=now_s)
    with pytest.raises(hardstore.SignatureInvalid):
        verify_webhook([secret], d.headers, b'{"id":1002}', now=now_s)
    with pytest.raises(hardstore.SignatureInvalid):
        verify_webhook([secret], d.headers, d.payload, now=now_s + 301)
    with pytest.raises(hardstore.SignatureInvalid):
        verify_webhook([secret], {**d.headers, "webhook-signature": "v1,AAAA"}, d.payload,
                       now=now_s)

    # A failure: due again in 5 s; this holder is done with it.
    outcome = d.fail("HTTP 503")
    assert outcome == WebhookFailOutcome(dead=False, retry_at=T0 + 5 * SEC, dead_letter=None)
    with pytest.raises(hardstore.Fenced) as info:
        d.ack()
    assert info.value.function == "hardstore_webhook_ack"
    with pytest.raises(hardstore.Fenced):
        d.fail("again")
    claim.close()
    assert s.webhooks.counts() == (1, 0)
    assert len(s.webhooks.claim(10, 30)) == 0  # not due yet
    clock.advance(5 * SEC - 1)
    assert not s.webhooks.claim(10, 30)
    clock.advance(1)

    # A lapsed lease: claimed again, the old holder fenced.
    with s.webhooks.claim(10, timedelta(seconds=30)) as first:
        d1 = first[0]
        assert d1.attempt == 2 and d1.webhook_id == d.webhook_id  # the same id on retries
        assert d1.timestamp == now_s + 5  # this attempt's time
        clock.advance(31 * SEC)
        with s.webhooks.claim(10, 30) as second:
            d2 = second[0]
            assert (d2.id, d2.attempt, d2.webhook_id) == (1, 3, d.webhook_id)
            assert d2.lease_until == T0 + 36 * SEC + 30 * SEC
            with pytest.raises(hardstore.Fenced):
                d1.ack()
            with pytest.raises(hardstore.Fenced):
                s.webhooks.fail(d1, "late")
            s.webhooks.ack(d2)
            with pytest.raises(hardstore.Fenced):  # acked already
                d2.ack()
    assert s.webhooks.counts() == OutboxCounts(0, 0)
    ep = s.webhooks.endpoint("acme", "orders")
    assert ep == WebhookEndpoint("acme", "orders", enabled=True, failing=0, secrets=1)


def test_every_attempt_failing_makes_a_dead_letter(
        clocked_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    s = clocked_store
    s.webhooks.put_endpoint("acme", "orders", URL, [wh.generate_secret()])
    mid = s.webhooks.enqueue("acme", "orders", "order.paid", b'{"id":7}')
    assert wh.SCHEDULE_SECS == (5, 300, 1800, 7200, 18_000, 36_000, 36_000)
    assert wh.MAX_ATTEMPTS == 8
    for attempt in range(1, wh.MAX_ATTEMPTS + 1):
        with s.webhooks.claim() as claim:
            assert [(d.id, d.attempt) for d in claim] == [(mid, attempt)]
            outcome = claim[0].fail(ConnectionError(f"refused {attempt}"))
        if attempt < wh.MAX_ATTEMPTS:
            wait = wh.SCHEDULE_SECS[attempt - 1] * SEC
            assert outcome == (False, clock.now_us + wait, None)
            clock.advance(wait - 1)
            assert not s.webhooks.claim()  # a microsecond early
            clock.advance(1)
    assert outcome.dead and outcome.retry_at is None and outcome.dead_letter is not None
    assert s.webhooks.counts() == (0, 0)
    clock.advance(86_400 * SEC)
    assert not s.webhooks.claim()

    dl = s.dead_letters.get(outcome.dead_letter)
    assert (dl.tenant, dl.kind, dl.state) == ("acme", "webhook", hardstore.DlqState.DEAD)
    envelope = json.loads(dl.payload)
    assert envelope == {"webhook_id": "msg_%016x" % mid, "endpoint": "orders",
                        "event_type": "order.paid",
                        "payload": base64.b64encode(b'{"id":7}').decode(), "attempts": 8}
    assert dl.last_error is not None and "8 attempts failed" in dl.last_error
    assert "refused 8" in dl.last_error
    # The endpoint counts the failures (8 of the 24 that disable it).
    ep = s.webhooks.endpoint("acme", "orders")
    assert ep is not None and ep.enabled and ep.failing == 8


def test_an_endpoint_is_disabled_after_24_failures_until_enabled(
        clocked_store: hardstore.Store, clock: hardstore.ManualClock) -> None:
    s = clocked_store
    hooks = s.webhooks
    hooks.put_endpoint("acme", "orders", URL, [wh.generate_secret()])
    hooks.put_endpoint("acme", "billing", "http://billing.example/in", [wh.generate_secret()])
    for i in range(3):
        hooks.enqueue("acme", "orders", "order.paid", f'{{"id":{i}}}')
    for _ in range(wh.MAX_ATTEMPTS):
        with hooks.claim() as claim:
            assert len(claim) == 3
            for d in claim:
                d.fail("HTTP 500")
        clock.advance(11 * 3600 * SEC)
    assert wh.DISABLE_AFTER == 24
    assert hooks.endpoint("acme", "orders") == WebhookEndpoint("acme", "orders", False, 24, 1)
    assert "webhook.endpoint_disable" in _actions(s)
    disable = list(s.audit.query("acme", action="webhook.endpoint_disable"))[0]
    assert disable.resource == "webhook_endpoint/orders"
    assert disable.details_dict == {"failed_in_a_row": "24"}

    # Its messages wait; other endpoints are delivered.
    waiting = hooks.enqueue("acme", "orders", "order.paid", b"{}")
    other = hooks.enqueue("acme", "billing", "invoice.sent", b"{}")
    with hooks.claim() as claim:
        assert [d.id for d in claim] == [other]
        claim[0].ack()
    assert hooks.counts() == (1, 0)

    hooks.enable_endpoint("acme", "orders")
    assert hooks.endpoint("acme", "orders") == WebhookEndpoint("acme", "orders", True, 0, 1)
    with hooks.claim() as claim:
        assert [(d.id, d.attempt) for d in claim] == [(waiting, 1)]
        claim[0].ack()
    assert _actions(s).count("webhook.endpoint_enable") == 1
    assert s.dead_letters.counts().dead == 3


def test_the_message_and_app_state_commit_together_or_not_at_all(store: hardstore.Store) -> None:
    store.webhooks.put_endpoint("acme", "orders", URL, [wh.generate_secret()])
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.kv_put("orders", b"1", b"paid")
            tx.outbox_enqueue("acme", "orders", "order.paid", b'{"id":1}')
            raise RuntimeError("payment failed")
    assert store.kv.get("orders", b"1") is None and store.webhooks.counts() == (0, 0)

    # An endpoint that does not exist at the commit: nothing is written.
    tx = store.transaction()
    tx.kv_put("orders", b"2", b"paid")
    tx.outbox_enqueue("acme", "nowhere", "order.paid", b'{"id":2}')
    with pytest.raises(hardstore.NotFound) as info:
        tx.commit()
    assert "acme/nowhere" in info.value.message
    tx.close()
    assert store.kv.get("orders", b"2") is None and store.webhooks.counts() == (0, 0)

    # Bad arguments are refused as they are added.
    with store.transaction() as tx:
        with pytest.raises(hardstore.InvalidArgument):
            tx.outbox_enqueue("acme", "orders", "", b"{}")
        with pytest.raises(hardstore.TooLong):
            tx.outbox_enqueue("acme", "orders", "t" * 129, b"{}")
        with pytest.raises(hardstore.TooLong):
            tx.outbox_enqueue("acme", "orders", "t", b"x" * (wh.MAX_PAYLOAD + 1))
        with pytest.raises(hardstore.InvalidUtf8):
            tx.outbox_enqueue(b"\xff", "orders", "t", b"{}")
        tx.kv_put("orders", b"3", b"paid")
        tx.outbox_enqueue("acme", "orders", "order.paid", b"x" * wh.MAX_PAYLOAD)
    assert tx.committed and store.kv.get("orders", b"3") == b"paid"
    with store.webhooks.claim() as claim:
        assert len(claim) == 1 and len(claim[0].payload) == wh.MAX_PAYLOAD


def test_endpoints_and_removal_asking_for_its_count(store_path: Path) -> None:
    with hardstore.open(store_path) as s:
        hooks = s.webhooks
        assert hooks.endpoint("acme", "orders") is None
        secrets = [wh.generate_secret() for _ in range(wh.MAX_SECRETS)]
        hooks.put_endpoint("acme", "orders", URL, secrets)
        assert hooks.endpoint("acme", "orders") == WebhookEndpoint("acme", "orders", True, 0, 8)
        hooks.put_endpoint(b"acme", b"orders", URL.encode(), (secrets[0].encode(),))  # bytes
        assert hooks.endpoint("acme", "orders").secrets == 1  # type: ignore[union-attr]
        ids = [hooks.enqueue("acme", "orders", "t", b"{}") for _ in range(2)]
        ids.append(hooks.enqueue("acme", "orders", "t", b"{}", durable=False))
        ids.append(hooks.enqueue("acme", "orders", "t", b"{}", durable=hardstore.DURABLE))
        assert ids == [1, 2, 3, 4]
        with hooks.claim(limit=1) as claim:  # one leased, three fresh: all pending
            assert [d.id for d in claim] == [1]
        assert hooks.counts() == OutboxCounts(4, 1)
    with hardstore.open(store_path) as s:  # durable across a reopen (the buffered one too)
        hooks = s.webhooks
        assert hooks.counts() == OutboxCounts(4, 1)
        with pytest.raises(hardstore.ConfirmationRequired) as info:
            hooks.remove_endpoint("acme", "orders")
        assert "4" in info.value.message
        with pytest.raises(hardstore.ConfirmationRequired):
            hooks.remove_endpoint("acme", "orders", confirm=3)
        assert hooks.counts() == (4, 1) and hooks.endpoint("acme", "orders") is not None
        assert hooks.remove_endpoint("acme", "orders", confirm=4) == 4
        assert hooks.endpoint("acme", "orders") is None and hooks.counts() == (0, 0)
        with pytest.raises(hardstore.NotFound):
            hooks.remove_endpoint("acme", "orders", confirm=10)
        with pytest.raises(hardstore.NotFound):
            hooks.enable_endpoint("acme", "orders")
        with pytest.raises(hardstore.NotFound):
            hooks.enqueue("acme", "orders", "t", b"{}")
        # Ids are never reused, across the reopen and the removal.
        hooks.put_endpoint("acme", "orders", URL, secrets[:1])
        assert hooks.enqueue("acme", "orders", "t", b"{}") > 4
        assert hooks.remove_endpoint("acme", "orders", confirm=1) == 1
        remove = list(s.audit.query("acme", action="webhook.endpoint_remove"))
        assert [e.details_dict["messages_deleted"] for e in remove] == ["4", "1"]
        assert _actions(s).count("webhook.endpoint_put") == 3


def test_a_claim_owns_its_deliveries(clocked_store: hardstore.Store,
                                     clock: hardstore.ManualClock) -> None:
    s = clocked_store
    s.webhooks.put_endpoint("acme", "orders", URL, [wh.generate_secret()])
    for i in range(5):
        s.webhooks.enqueue("acme", "orders", "t", f"{i}")
    with s.webhooks.claim(limit=2, lease_seconds=1.5) as claim:
        assert [d.payload for d in claim] == [b"0", b"1"]
        assert claim[0].lease_until == T0 + 1_500_000
        kept = claim[1]
    assert claim.closed and kept.payload == b"1"  # a copy: readable after the close
    with pytest.raises(hardstore.StoreClosed) as info:
        kept.ack()
    assert "WebhookClaim" in info.value.message and info.value.function is not None
    claim.close()  # idempotent
    # Not acked: due again once the lease ends, the next attempt.
    with s.webhooks.claim() as claim:
        assert [(d.payload, d.attempt) for d in claim] == [(b"2", 1), (b"3", 1), (b"4", 1)]
    clock.advance(31 * SEC)
    with s.webhooks.claim() as claim:
        assert sorted((d.payload, d.attempt) for d in claim) == [
            (b"0", 2), (b"1", 2), (b"2", 2), (b"3", 2), (b"4", 2)]
        # A long error text is cut to the characters the store keeps.
        assert not claim[0].fail("x" * 5000).dead
        with pytest.raises(hardstore.TooLong):  # bytes go through as they are
            claim[1].fail(b"x" * 5000)
        with pytest.raises(hardstore.InvalidUtf8):
            claim[1].fail(b"\xff")
        for d in claim[1:]:
            d.ack()
    s.close()
    with pytest.raises(hardstore.StoreClosed):
        s.webhooks.counts()
    with pytest.raises(hardstore.StoreClosed):
        claim[0].ack()


def test_verify_reads_the_headers_it_needs() -> None:
    sig = _headers(SPEC_ID, SPEC_TS, SPEC_SIG)
    ok = dict(now=SPEC_TS)
    verify_webhook([SPEC_SECRET], list(sig.items()), SPEC_BODY, **ok)  # (name, value) pairs
    verify_webhook([SPEC_SECRET], {k.upper(): v for k, v in sig.items()}, SPEC_BODY, **ok)
    verify_webhook([SPEC_SECRET], [(k.encode(), v.encode()) for k, v in sig.items()],
                   SPEC_BODY, **ok)
    verify_webhook((SPEC_SECRET,), {**sig, "user-agent": "x"}, bytearray(SPEC_BODY), **ok)
    for name in sig:
        missing = {k: v for k, v in sig.items() if k != name}
        with pytest.raises(hardstore.SignatureInvalid) as info:
            verify_webhook([SPEC_SECRET], missing, SPEC_BODY, **ok)
        assert info.value.message == f"no {name} header"
    with pytest.raises(hardstore.SignatureInvalid) as info:
        verify_webhook([SPEC_SECRET], {**sig, "Webhook-Id": SPEC_ID}, SPEC_BODY, **ok)
    assert "given twice" in info.value.message
    for field, value in (("webhook-timestamp", "12x"), ("webhook-timestamp", ""),
                         ("webhook-signature", "v1,AAAA"), ("webhook-signature", "v1,!!"),
                         ("webhook-signature", "nonsense"), ("webhook-signature", "v1a,xxx"),
                         ("webhook-id", "")):
        with pytest.raises(hardstore.SignatureInvalid):
            verify_webhook([SPEC_SECRET], {**sig, field: value}, SPEC_BODY, **ok)
    with pytest.raises(hardstore.InvalidArgument):
        verify_webhook(["nope"], sig, SPEC_BODY, **ok)
    with pytest.raises(hardstore.InvalidArgument):
        verify_webhook(["whsec_" + base64.b64encode(b"short").decode()], sig, SPEC_BODY, **ok)
    with pytest.raises(hardstore.InvalidArgument):
        verify_webhook([], sig, SPEC_BODY, **ok)
    with pytest.raises(hardstore.InvalidArgument):
        verify_webhook([SPEC_SECRET] * 9, sig, SPEC_BODY, **ok)
    with pytest.raises(hardstore.InvalidArgument):
        verify_webhook([SPEC_SECRET], sig, SPEC_BODY, tolerance=-1, now=SPEC_TS)
    with pytest.raises(hardstore.InvalidArgument):
        verify_webhook([SPEC_SECRET], sig, SPEC_BODY, now=-1)
    with pytest.raises(TypeError):
        verify_webhook([SPEC_SECRET], "webhook-id: x", SPEC_BODY, **ok)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_webhook([SPEC_SECRET], sig, 42, **ok)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_webhook(42, sig, SPEC_BODY, **ok)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_webhook([SPEC_SECRET], sig, SPEC_BODY, now="now")  # type: ignore[arg-type]


def test_bad_input_is_refused_with_the_right_exception(store: hardstore.Store) -> None:
    hooks = store.webhooks
    secret = wh.generate_secret()
    put = hooks.put_endpoint
    with pytest.raises(hardstore.InvalidArgument):
        put("", "orders", URL, [secret])
    with pytest.raises(hardstore.TooLong):
        put("acme", "o" * (wh.MAX_NAME + 1), URL, [secret])
    with pytest.raises(hardstore.InvalidUtf8):
        put("acme", b"\xff", URL, [secret])
    for url in ("", "ftp://acme.example/x", "acme.example/hooks"):
        with pytest.raises(hardstore.InvalidArgument):
            put("acme", "orders", url, [secret])
    with pytest.raises(hardstore.TooLong):
        put("acme", "orders", "https://a.example/" + "p" * wh.MAX_URL, [secret])
    for bad in (["nope"], [secret[6:]], ["whsec_!!!"], [], [secret] * (wh.MAX_SECRETS + 1)):
        with pytest.raises(hardstore.InvalidArgument):
            put("acme", "orders", URL, bad)
    with pytest.raises(TypeError):
        put("acme", "orders", URL, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        put("acme", "orders", URL, [42])  # type: ignore[list-item]
    assert hooks.endpoint("acme", "orders") is None  # nothing was put
    assert "webhook.endpoint_put" not in _actions(store)

    put("acme", "orders", URL, secret)  # one secret as a str
    with pytest.raises(hardstore.InvalidArgument):
        hooks.enqueue("acme", "orders", "", b"{}")
    with pytest.raises(hardstore.TooLong):
        hooks.enqueue("acme", "orders", "t", b"x" * (wh.MAX_PAYLOAD + 1))
    with pytest.raises(TypeError):
        hooks.enqueue("acme", "orders", "t", 42)  # type: ignore[arg-type]
    with pytest.raises(hardstore.NotFound):
        hooks.enqueue("acme", "other", "t", b"{}")
    for limit, lease in ((0, 30), (10_001, 30), (-1, 30), (1, 0), (1, -1), (1, timedelta(0))):
        with pytest.raises(hardstore.InvalidArgument):
            hooks.claim(limit, lease)
    with pytest.raises(TypeError):
        hooks.claim(1, "30")  # type: ignore[arg-type]
    with pytest.raises(hardstore.InvalidArgument):
        hooks.remove_endpoint("acme", "orders", confirm=-1)
    assert hooks.counts() == (0, 0)
