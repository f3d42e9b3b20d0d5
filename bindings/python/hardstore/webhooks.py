"""The webhook outbox: events committed with the app's own state (the transactional
outbox pattern), handed to the app's HTTP client with `Standard Webhooks
<https://www.standardwebhooks.com>`_ headers, retried on the standard's schedule, and
made dead letters when every attempt failed.

- **Endpoints** are (tenant, endpoint id) with a URL (``http://`` or ``https://``) and
  1..=8 secrets (``whsec_`` and base64 of 24..=64 bytes; :func:`generate_secret` makes
  one), newest first. Every secret signs each delivery, so during a rotation receivers
  holding either secret verify. Stored in the store and audited (actions
  ``webhook.endpoint_put``, ``webhook.endpoint_remove``, ``webhook.endpoint_enable``,
  ``webhook.endpoint_disable``; the secrets are never in the audit log).
- **Enqueue** inside a transaction (:meth:`Transaction.outbox_enqueue
  <hardstore.Transaction.outbox_enqueue>`): the message commits with the app's state or
  not at all. :meth:`Webhooks.enqueue` is the same in a write of its own. Each message
  gets an id that is never reused; its ``webhook-id`` header (``msg_`` and 16 hex
  digits) is the same on every attempt, so receivers can drop duplicates.
- **Delivery**: :meth:`Webhooks.claim` leases due messages and returns a
  :class:`WebhookClaim` of :class:`WebhookDelivery` objects, each with the URL, the
  payload (the exact bytes to POST: they are what is signed) and the three headers to
  send (``webhook-id``, ``webhook-timestamp`` of this attempt, ``webhook-signature``:
  ``v1,<base64 HMAC-SHA256>`` per secret, space-separated). POST it, then
  :meth:`WebhookDelivery.ack` on a 2xx or :meth:`WebhookDelivery.fail`. A lease that
  lapses (the app died) makes the message due again: delivery is at least once. An ack
  or fail by a holder whose lease lapsed and was claimed again raises
  :class:`~hardstore.Fenced`.
- **Retries** follow the Standard Webhooks schedule: at once, then 5 s, 5 min, 30 min,
  2 h, 5 h, 10 h and 10 h after each failure (:data:`SCHEDULE_SECS`). The 8th failed
  attempt makes the message a dead letter (kind ``webhook``, Dead, its payload a JSON
  envelope: ``webhook_id``, ``endpoint``, ``event_type``, ``payload`` in base64,
  ``attempts``), to inspect and redrive in ``store.dead_letters``.
- **Endpoints are disabled** after :data:`DISABLE_AFTER` failed attempts in a row
  without a delivery; their messages wait, not claimed, until
  :meth:`Webhooks.enable_endpoint`.
- **Receivers** check a request with :func:`verify_webhook` (constant-time, with a
  timestamp tolerance), which needs no store.

Times from the store (``lease_until``, ``retry_at``) are microseconds since the Unix
epoch on the store's clock; ``webhook-timestamp`` is seconds, as the standard has it.
Tenant, endpoint id and event type are 1..=128 bytes of UTF-8, the URL at most 2048
bytes, a payload at most 512 KiB. Empty ones raise :class:`~hardstore.InvalidArgument`,
longer ones :class:`~hardstore.TooLong`, bad UTF-8 :class:`~hardstore.InvalidUtf8`.
"""

from __future__ import annotations

import ctypes
import math
import time
from collections.abc import Mapping
from ctypes import byref, c_bool, c_char_p, c_size_t, c_uint64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from ._common import Durability, Owned, StoreBound, closed_error
from ._lib import borrowed, lib, take_bytes, to_bytes, to_text, to_u64
from ._structs import (
    hardstore_bytes,
    hardstore_webhook_deliveries,
    hardstore_webhook_delivery,
    hardstore_webhook_endpoint,
    hardstore_webhook_fail_outcome,
)
from .errors import InvalidArgument, Result, SignatureInvalid

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

Text = Union[str, bytes]
Data = Union[bytes, bytearray, memoryview, str]
Secrets = Union[Text, Sequence[Text]]
Seconds = Union[int, float, timedelta]
Headers = Union["Mapping[Any, Any]", Iterable[Tuple[Text, Text]]]

#: Longest tenant, endpoint id and event type, in bytes (``HARDSTORE_LIMIT_WEBHOOK_NAME``).
MAX_NAME = 128
#: Longest endpoint URL, in bytes (``HARDSTORE_LIMIT_WEBHOOK_URL``).
MAX_URL = 2048
#: Longest payload, in bytes (``HARDSTORE_LIMIT_WEBHOOK_PAYLOAD``, 512 KiB).
MAX_PAYLOAD = 512 << 10
#: Most secrets per endpoint (``HARDSTORE_LIMIT_WEBHOOK_SECRETS``).
MAX_SECRETS = 8
#: The receiver's default tolerance for ``webhook-timestamp``, in seconds.
DEFAULT_TOLERANCE = 300
#: Seconds after each failed attempt before the next (the first attempt is at once);
#: a message has one attempt more than this has entries, then it is a dead letter.
SCHEDULE_SECS = (5, 300, 1800, 7200, 18_000, 36_000, 36_000)
#: Attempts in all before a message becomes a dead letter.
MAX_ATTEMPTS = len(SCHEDULE_SECS) + 1
#: Failed attempts in a row, without a delivery, after which an endpoint is disabled.
DISABLE_AFTER = 24
#: The secrets' prefix.
SECRET_PREFIX = "whsec_"
#: The three header names, as deliveries give them.
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
#: Characters of a failure's error the store keeps (longer ones are cut to this).
MAX_ERROR_CHARS = 1024

_US = timedelta(microseconds=1)


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(Result.INVALID_ARGUMENT, message, None)


def _seconds_us(value: Seconds, what: str) -> int:
    """Seconds (``int``, ``float``) or a timedelta in whole microseconds."""
    if isinstance(value, timedelta):
        us = value // _US
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _invalid(f"{what} must be finite, not {value!r}")
        us = round(value * 1_000_000)
    else:
        raise TypeError(f"{what} must be seconds (int or float) or a timedelta, "
                        f"not {type(value).__name__}")
    return to_u64(us, what)


def _whole_seconds(value: Seconds, what: str) -> int:
    """Seconds (``int``, ``float``, cut to whole seconds) or a timedelta."""
    return _seconds_us(value, what) // 1_000_000


def _epoch_seconds(now: Union[None, int, float, datetime]) -> int:
    """Seconds since the Unix epoch: the system clock's for ``None``; a naive datetime
    is taken as UTC (as the reference library does)."""
    if now is None:
        return int(time.time())
    if isinstance(now, datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return to_u64(math.floor(now.timestamp()), "now")
    if isinstance(now, (int, float)) and not isinstance(now, bool):
        if not math.isfinite(now):
            raise _invalid(f"now must be finite, not {now!r}")
        return to_u64(math.floor(now), "now")
    raise TypeError(f"now must be seconds since the epoch or a datetime, not {type(now).__name__}")


def _secrets(secrets: Secrets) -> Tuple[List[bytes], Any, Any, int]:
    """The C (pointers, lengths, count) of secrets given as ``whsec_...`` texts: a list
    (or other sequence) of them, or one as a plain ``str``. The encoded list is returned
    too and must stay alive for the call."""
    if isinstance(secrets, (str, bytes, bytearray, memoryview)):
        items: List[Any] = [secrets]
    else:
        try:
            items = list(secrets)
        except TypeError:
            raise TypeError("secrets must be a list of whsec_ texts, not "
                            f"{type(secrets).__name__}") from None
    encoded = [to_text(s, "secret") for s in items]
    n = len(encoded)
    ptrs = (c_char_p * max(n, 1))(*encoded)
    lens = (c_size_t * max(n, 1))(*[len(s) for s in encoded])
    return encoded, ptrs, lens, n


def _durability(durable: Union[bool, Durability]) -> int:
    if isinstance(durable, Durability):
        return int(durable)
    return int(Durability.DURABLE if durable else Durability.BUFFERED)


def _message(tenant: Text, endpoint: Text, event_type: Text,
             payload: Data) -> Tuple[bytes, bytes, bytes, bytes]:
    return (to_text(tenant, "tenant"), to_text(endpoint, "endpoint"),
            to_text(event_type, "event_type"), to_bytes(payload, "payload"))


def _error_text(error: Any) -> bytes:
    """A failure's error as UTF-8: a ``str`` (or an exception, as its text) is cut to the
    :data:`MAX_ERROR_CHARS` characters the store keeps; ``bytes`` pass unchanged."""
    if isinstance(error, BaseException):
        error = str(error) or type(error).__name__
    if isinstance(error, str):
        error = error[:MAX_ERROR_CHARS]
    return to_text(error, "error")


def generate_secret() -> str:
    """A new random secret (24 bytes from the OS), as its ``whsec_...`` text: give it to
    :meth:`Webhooks.put_endpoint` and to the receiver."""
    out = ctypes.POINTER(hardstore_bytes)()
    try:
        lib.hardstore_webhook_secret_generate(byref(out))
    finally:
        text = take_bytes(out)
    return (text or b"").decode("ascii")


def _header_values(headers: Headers) -> Tuple[bytes, bytes, bytes]:
    """The values of ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``,
    names matched case-insensitively; :class:`~hardstore.SignatureInvalid` when one is
    missing or given twice."""
    items = headers.items() if hasattr(headers, "items") else headers
    found: Dict[str, bytes] = {}
    for pair in items:
        try:
            name, value = pair
        except (TypeError, ValueError):
            raise TypeError("headers must be a mapping or (name, value) pairs") from None
        key = (bytes(name).decode("latin-1") if isinstance(name, (bytes, bytearray))
               else str(name)).lower()
        if key not in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE):
            continue
        if key in found:
            raise SignatureInvalid(Result.SIGNATURE_INVALID, f"header {key} given twice", None)
        found[key] = to_text(value, key)
    for key in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE):
        if key not in found:
            raise SignatureInvalid(Result.SIGNATURE_INVALID, f"no {key} header", None)
    return found[HEADER_ID], found[HEADER_TIMESTAMP], found[HEADER_SIGNATURE]


def verify_webhook(secrets: Secrets, headers: Headers, payload: Data,
                   tolerance: Seconds = DEFAULT_TOLERANCE,
                   now: Union[None, int, float, datetime] = None) -> None:
    """For receivers: checks a received webhook, and returns ``None`` when it is genuine.

    ``secrets`` are the endpoint's ``whsec_...`` texts (a list, or one ``str``);
    ``headers`` the request's headers (a mapping such as ``request.headers``, or
    ``(name, value)`` pairs; names match case-insensitively, other headers are ignored);
    ``payload`` the body exactly as received (``bytes``; a ``str`` is checked as its
    UTF-8). The ``webhook-timestamp`` must be within ``tolerance`` seconds (an ``int``
    or a :class:`~datetime.timedelta`) of ``now`` (seconds since the epoch or a
    datetime; ``None``: the system clock), either way, and a ``v1`` signature of
    ``webhook-signature`` must match one of the secrets (compared in constant time).

    Raises :class:`~hardstore.SignatureInvalid` when it does not verify (a header
    missing, given twice or malformed, a stale or future timestamp, no matching
    signature; the message says which), :class:`~hardstore.InvalidArgument` for a
    secret that is not a ``whsec_`` text or no secret at all."""
    wid, ts, sig = _header_values(headers)
    p = to_bytes(payload, "payload")
    tol = _whole_seconds(tolerance, "tolerance")
    now_s = _epoch_seconds(now)
    keep, ptrs, lens, n = _secrets(secrets)
    lib.hardstore_webhook_verify(ptrs, lens, n, wid, len(wid), ts, len(ts), sig, len(sig),
                                 p, len(p), tol, now_s)
    del keep


@dataclass(frozen=True)
class WebhookEndpoint:
    """An endpoint's state (:meth:`Webhooks.endpoint`): whether its messages are claimed
    (``enabled``: ``False`` once :data:`DISABLE_AFTER` attempts failed in a row),
    failed attempts since its last delivery (``failing``) and how many secrets it has
    (``secrets``; the secrets themselves are not read back)."""

    tenant: str
    endpoint: str
    enabled: bool
    failing: int
    secrets: int


class WebhookFailOutcome(NamedTuple):
    """What :meth:`WebhookDelivery.fail` did: the message is due again at ``retry_at``
    (µs, the store's clock; ``dead`` is ``False``, ``dead_letter`` ``None``), or every
    attempt failed and it is now the dead letter ``dead_letter`` (``dead`` is ``True``,
    ``retry_at`` ``None``)."""

    dead: bool
    retry_at: Optional[int]
    dead_letter: Optional[int]


class OutboxCounts(NamedTuple):
    """Messages not delivered yet (waiting, due or leased: ``pending``) and, of them,
    the ones leased now (``leased``)."""

    pending: int
    leased: int


class WebhookDelivery:
    """One leased message of a :class:`WebhookClaim`, copied out of it: POST
    :attr:`payload` to :attr:`url` with :attr:`headers`, then :meth:`ack` on a 2xx or
    :meth:`fail`.

    Attributes: ``id`` (the message's), ``attempt`` (from 1), ``url``, ``event_type``,
    ``payload`` (``bytes``: send exactly these), ``headers`` (a new ``dict`` of
    ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``: add your own, such as
    ``Content-Type``, to it), ``lease_until`` (µs, the store's clock: after it the
    message is due again and this delivery is fenced)."""

    def __init__(self, claim: "WebhookClaim", index: int, d: hardstore_webhook_delivery) -> None:
        self._claim = claim
        self._index = index
        self.id: int = d.id
        self.attempt: int = d.attempt
        self.lease_until: int = d.lease_until
        self.url: str = borrowed(d.url, d.url_len).decode("utf-8")
        self.event_type: str = borrowed(d.event_type, d.event_type_len).decode("utf-8")
        self.payload: bytes = borrowed(d.payload, d.payload_len)
        self.headers: Dict[str, str] = {
            HEADER_ID: borrowed(d.webhook_id, d.webhook_id_len).decode("ascii"),
            HEADER_TIMESTAMP:
                borrowed(d.webhook_timestamp, d.webhook_timestamp_len).decode("ascii"),
            HEADER_SIGNATURE:
                borrowed(d.webhook_signature, d.webhook_signature_len).decode("ascii"),
        }
        self._webhook_id = self.headers[HEADER_ID]
        self._timestamp = int(self.headers[HEADER_TIMESTAMP])

    @property
    def webhook_id(self) -> str:
        """Its ``webhook-id`` (``msg_`` and 16 hex digits), the same on every attempt."""
        return self._webhook_id

    @property
    def timestamp(self) -> int:
        """This attempt's ``webhook-timestamp``, seconds since the epoch."""
        return self._timestamp

    def _live(self) -> Tuple[Any, Any, int]:
        return self._claim._store._handle, self._claim._live(), self._index

    def ack(self) -> None:
        """The endpoint answered 2xx: the message is done (deleted), the endpoint's
        failure count starts over. :class:`~hardstore.Fenced` when this lease lapsed and
        the message was claimed again (or was acked or failed already)."""
        lib.hardstore_webhook_ack(*self._live())

    def fail(self, error: Any) -> WebhookFailOutcome:
        """Records a failed attempt with ``error`` (text such as ``"HTTP 503"``, or an
        exception; a ``str`` is cut to the 1024 characters the store keeps): the message
        is due again on the schedule, or after the last attempt becomes a dead letter.
        :class:`~hardstore.Fenced` as for :meth:`ack`."""
        e = _error_text(error)
        out = hardstore_webhook_fail_outcome()
        store, claim, index = self._live()
        lib.hardstore_webhook_fail(store, claim, index, e, len(e), byref(out))
        if out.dead:
            return WebhookFailOutcome(True, None, out.dead_letter)
        return WebhookFailOutcome(False, out.retry_at, None)

    def __repr__(self) -> str:
        return (f"WebhookDelivery(id={self.id}, event_type={self.event_type!r}, "
                f"attempt={self.attempt}, url={self.url!r})")


class WebhookClaim(Owned):
    """The deliveries one :meth:`Webhooks.claim` leased: a sequence of
    :class:`WebhookDelivery` (oldest due first; empty when nothing is due). Close it, or
    leave its ``with`` block, when done: that frees the library's copy (deliveries not
    acked or failed by then are due again when their lease ends). A delivery cannot be
    acked or failed once its claim is closed."""

    _free = staticmethod(lambda p: lib.hardstore_webhook_claim_free(p))

    def __init__(self, store: "Store", ptr: Any) -> None:
        super().__init__(ptr)
        self._store = store
        self.deliveries: List[WebhookDelivery] = []
        d = hardstore_webhook_delivery()
        for i in range(lib.hardstore_webhook_claim_len(ptr)):
            lib.hardstore_webhook_delivery_get(ptr, i, byref(d))
            self.deliveries.append(WebhookDelivery(self, i, d))

    def _live(self) -> Any:
        if not self._ptr:
            raise closed_error("the WebhookClaim this delivery came from was closed")
        return self._ptr

    def __len__(self) -> int:
        return len(self.deliveries)

    def __getitem__(self, i: int) -> WebhookDelivery:
        return self.deliveries[i]

    def __iter__(self) -> Iterator[WebhookDelivery]:
        return iter(self.deliveries)

    def __bool__(self) -> bool:
        return bool(self.deliveries)

    def __repr__(self) -> str:
        return f"WebhookClaim({self.deliveries!r})"


class Webhooks(StoreBound):
    """The webhook outbox of a store (``store.webhooks``): endpoints, messages (enqueue
    here or in a transaction with app state), claims of due deliveries, and counts. See
    the module docs."""

    generate_secret = staticmethod(generate_secret)

    # Endpoints
    def put_endpoint(self, tenant: Text, endpoint: Text, url: Text, secrets: Secrets) -> None:
        """Puts (or replaces) endpoint ``endpoint`` of ``tenant``: deliveries go to
        ``url`` (``http://`` or ``https://``, at most 2048 bytes) signed by every one of
        ``secrets`` (1..=8 ``whsec_...`` texts, newest first; one ``str`` is one secret),
        durably and audited (the secrets are not in the audit entry). Putting an
        endpoint enables it again. :class:`~hardstore.InvalidArgument` for a bad URL, a
        malformed secret, no secret or more than 8."""
        t, e, u = to_text(tenant, "tenant"), to_text(endpoint, "endpoint"), to_text(url, "url")
        keep, ptrs, lens, n = _secrets(secrets)
        lib.hardstore_webhook_endpoint_put(self._h, t, len(t), e, len(e), u, len(u), ptrs, lens, n)
        del keep

    def endpoint(self, tenant: Text, endpoint: Text) -> Optional[WebhookEndpoint]:
        """Endpoint ``endpoint`` of ``tenant`` (a :class:`WebhookEndpoint`), ``None``
        when there is none."""
        t, e = to_text(tenant, "tenant"), to_text(endpoint, "endpoint")
        found = c_bool(False)
        out = hardstore_webhook_endpoint()
        lib.hardstore_webhook_endpoint_get(self._h, t, len(t), e, len(e), byref(found), byref(out))
        if not found.value:
            return None
        return WebhookEndpoint(t.decode("utf-8"), e.decode("utf-8"), bool(out.enabled),
                               out.failing, out.secrets)

    def enable_endpoint(self, tenant: Text, endpoint: Text) -> None:
        """Enables a disabled endpoint (its failure count starts over; its waiting
        messages are claimed again), durably and audited. :class:`~hardstore.NotFound`
        when there is none."""
        t, e = to_text(tenant, "tenant"), to_text(endpoint, "endpoint")
        lib.hardstore_webhook_endpoint_enable(self._h, t, len(t), e, len(e))

    def remove_endpoint(self, tenant: Text, endpoint: Text, confirm: int = 0) -> int:
        """Removes an endpoint and its pending messages, durably and audited, and
        returns how many messages it deleted. When that is more than ``confirm`` it
        changes nothing and raises :class:`~hardstore.ConfirmationRequired` (the message
        names the count). :class:`~hardstore.NotFound` when there is no such endpoint."""
        t, e = to_text(tenant, "tenant"), to_text(endpoint, "endpoint")
        deleted = c_uint64(0)
        lib.hardstore_webhook_endpoint_remove(self._h, t, len(t), e, len(e),
                                              to_u64(confirm, "confirm"), byref(deleted))
        return deleted.value

    # Messages
    def enqueue(self, tenant: Text, endpoint: Text, event_type: Text, payload: Data,
                durable: Union[bool, Durability] = True) -> int:
        """Enqueues a message for endpoint ``endpoint`` of ``tenant`` in a write of its
        own, due at once, and returns its id. ``payload`` is the body to POST
        (``bytes``; a ``str`` is sent as UTF-8), at most 512 KiB. With ``durable=False``
        (or ``Durability.BUFFERED``) it returns once committed in memory. To commit the
        message with app state, use :meth:`Transaction.outbox_enqueue
        <hardstore.Transaction.outbox_enqueue>` instead. :class:`~hardstore.NotFound`
        when the endpoint does not exist."""
        t, e, ty, p = _message(tenant, endpoint, event_type, payload)
        out = c_uint64(0)
        lib.hardstore_webhook_enqueue(self._h, t, len(t), e, len(e), ty, len(ty), p, len(p),
                                      _durability(durable), byref(out))
        return out.value

    def claim(self, limit: int = 100, lease_seconds: Seconds = 30) -> WebhookClaim:
        """Leases up to ``limit`` (1..=10000) due messages of enabled endpoints for
        ``lease_seconds`` (seconds or a timedelta, above 0), durably, and returns them as
        a :class:`WebhookClaim` with their signed headers, oldest due first (retries and
        lapsed leases, then new messages in order). Each claim counts an attempt."""
        n = to_u64(limit, "limit")
        lease = _seconds_us(lease_seconds, "lease_seconds")
        p = ctypes.POINTER(hardstore_webhook_deliveries)()
        try:
            lib.hardstore_webhook_claim(self._h, n, lease, byref(p))
        except BaseException:
            if p:
                lib.hardstore_webhook_claim_free(p)
            raise
        return WebhookClaim(self._store, p)

    def ack(self, delivery: WebhookDelivery) -> None:
        """:meth:`WebhookDelivery.ack`."""
        delivery.ack()

    def fail(self, delivery: WebhookDelivery, error: Any) -> WebhookFailOutcome:
        """:meth:`WebhookDelivery.fail`."""
        return delivery.fail(error)

    def counts(self) -> OutboxCounts:
        """How many messages are pending (waiting, due or leased) and how many of them
        are leased now."""
        pending, leased = c_uint64(0), c_uint64(0)
        lib.hardstore_webhook_counts(self._h, byref(pending), byref(leased))
        return OutboxCounts(pending.value, leased.value)


# Short names inside this module: ``hardstore.webhooks.Delivery`` and so on (the package
# exports the Webhook-prefixed ones, as ``Claim`` and ``FailOutcome`` are dead letters').
Endpoint = WebhookEndpoint
Delivery = WebhookDelivery
Claim = WebhookClaim
FailOutcome = WebhookFailOutcome

__all__ = [
    "Webhooks", "WebhookEndpoint", "WebhookClaim", "WebhookDelivery", "WebhookFailOutcome",
    "OutboxCounts", "Endpoint", "Delivery", "Claim", "FailOutcome", "generate_secret",
    "verify_webhook", "MAX_NAME", "MAX_URL", "MAX_PAYLOAD", "MAX_SECRETS",
    "DEFAULT_TOLERANCE", "SCHEDULE_SECS", "MAX_ATTEMPTS", "DISABLE_AFTER", "SECRET_PREFIX",
    "HEADER_ID", "HEADER_TIMESTAMP", "HEADER_SIGNATURE", "MAX_ERROR_CHARS",
]
