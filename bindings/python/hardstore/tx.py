"""Atomic multi-area writes: app state (sealed values too), audit entries, idempotency
completions, dead letters and webhook messages that become durable together or not at
all."""

from __future__ import annotations

import ctypes
from ctypes import byref, c_size_t, c_uint64
from typing import TYPE_CHECKING, Any, List, Optional, Union

from ._common import Durability, Owned
from ._lib import lib, to_bytes, to_text
from ._structs import hardstore_tx
from .audit import AuditEvent, as_event
from .dead_letters import Claim
from .idempotency import Token, status_arg
from .webhooks import _message

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

Text = Union[str, bytes]
Data = Union[bytes, bytearray, memoryview, str]


class Transaction(Owned):
    """A multi-area write being built (``store.transaction()``). Each operation checks
    and copies its arguments as it is added (bad input is refused at once); checks
    that need the store's state (a fenced token, a stale claim) are made at
    :meth:`commit`, which writes everything or nothing. A commit, successful or not,
    finishes the transaction.

    As a context manager it commits when the block ends normally and discards
    everything when it raises::

        with store.transaction() as tx:
            tx.kv_put("orders", b"o-1", b"paid")
            tx.audit_append("acme", "order.paid")
            tx.idem_complete(token, b"ok", status=200)
        tx.audit_seqs  # the seqs of the audit appends, in order

    Use one transaction from one thread. The store must stay open until it is closed
    (closing the store discards a transaction still open).
    """

    _free = staticmethod(lambda p: lib.hardstore_tx_free(p))

    def __init__(self, store: "Store", durability: Durability = Durability.DURABLE) -> None:
        ptr = ctypes.POINTER(hardstore_tx)()
        lib.hardstore_tx_begin(store._handle, int(durability), byref(ptr))
        super().__init__(ptr)
        self._store = store
        self._audit_appends = 0
        self._dead_letters = 0
        self._keep: List[Any] = []  # tokens and claims the operations refer to
        self.committed = False
        self._finished = False
        #: After a successful commit, the seq of each audit append, in order.
        self.audit_seqs: List[int] = []
        #: After a successful commit, the id of each dead letter recorded, in order.
        self.dead_letter_ids: List[int] = []
        store._adopt(self)

    def _tx(self) -> Any:
        self._store._handle  # StoreClosed once the store is closed
        return self._live()

    # App state
    def kv_put(self, namespace: Text, key: Data, value: Data) -> None:
        """Adds ``(namespace, key) = value``."""
        ns, k, v = to_text(namespace, "namespace"), to_bytes(key, "key"), to_bytes(value, "value")
        lib.hardstore_tx_kv_put(self._tx(), ns, len(ns), k, len(k), v, len(v))

    def kv_put_sealed(self, namespace: Text, key: Data, subject: Text, plaintext: Data) -> None:
        """Adds ``(namespace, key) = plaintext`` sealed for ``subject``: the value is
        sealed inside the commit (a new subject's data key commits with it) and must fit
        the value limit once sealed (about 40 bytes more than the plaintext). Read it
        back with ``store.kv.get`` and open it with ``store.sealing.open``."""
        ns, k = to_text(namespace, "namespace"), to_bytes(key, "key")
        s, p = to_text(subject, "subject"), to_bytes(plaintext, "plaintext")
        lib.hardstore_tx_kv_put_sealed(self._tx(), ns, len(ns), k, len(k), s, len(s), p, len(p))

    def kv_delete(self, namespace: Text, key: Data) -> None:
        """Adds the deletion of ``(namespace, key)`` (absent keys are fine)."""
        ns, k = to_text(namespace, "namespace"), to_bytes(key, "key")
        lib.hardstore_tx_kv_delete(self._tx(), ns, len(ns), k, len(k))

    # Audit
    def audit_append(self, event: Union[AuditEvent, Text], action: Optional[Text] = None, **fields: Any) -> int:
        """Adds an audit append (an :class:`~hardstore.AuditEvent`, or tenant, action
        and keyword fields); returns its index among this transaction's appends, for
        :meth:`audit_seq` after the commit."""
        ev = as_event(event, action, fields)
        idx = c_size_t(0)
        with ev._handle() as h:
            lib.hardstore_tx_audit_append(self._tx(), h, byref(idx))
        self._audit_appends += 1
        return idx.value

    # Idempotency
    def idem_complete(self, token: Token, body: Data = b"", *, status: Optional[int] = None) -> None:
        """Adds the completion of ``token``'s key with a cached response."""
        has, st = status_arg(status)
        b = to_bytes(body, "body")
        lib.hardstore_tx_idem_complete(self._tx(), token._live(), has, st, b, len(b))
        self._keep.append(token)

    def idem_fail(self, token: Token, body: Data = b"", *, status: Optional[int] = None) -> None:
        """Adds a terminal failure of ``token``'s key."""
        has, st = status_arg(status)
        b = to_bytes(body, "body")
        lib.hardstore_tx_idem_fail(self._tx(), token._live(), has, st, b, len(b))
        self._keep.append(token)

    def idem_release(self, token: Token) -> None:
        """Adds the release of ``token``'s key."""
        lib.hardstore_tx_idem_release(self._tx(), token._live())
        self._keep.append(token)

    def idem_save_recovery(self, token: Token, name: Text, data: Data) -> None:
        """Adds the saving of a recovery point on ``token``'s key."""
        n, d = to_text(name, "name"), to_bytes(data, "data")
        lib.hardstore_tx_idem_save_recovery(self._tx(), token._live(), n, len(n), d, len(d))
        self._keep.append(token)

    # Dead letters
    def dlq_ack(self, claim: Claim) -> None:
        """Adds the ack of a claimed dead letter."""
        lib.hardstore_tx_dlq_ack(self._tx(), claim._live())
        self._keep.append(claim)

    def dlq_fail(self, claim: Claim, error: Text, *, retryable: bool = True) -> None:
        """Adds the failure of a claimed dead letter (read the outcome afterwards with
        ``store.dead_letters.get``)."""
        e = to_text(error)
        lib.hardstore_tx_dlq_fail(self._tx(), claim._live(), e, len(e), bool(retryable))
        self._keep.append(claim)

    def dlq_record(self, tenant: Text, kind: Text, payload: Data, *, error: Optional[Text] = None,
                   max_attempts: int = 0, first_attempt_at: int = 0, permanent: bool = False) -> int:
        """Adds the recording of a dead letter (arguments as
        :meth:`~hardstore.dead_letters.DeadLetters.record`); returns its index among this
        transaction's dead letters, for :meth:`dead_letter_id` after the commit."""
        t, k, p, e = to_text(tenant), to_text(kind), to_bytes(payload, "payload"), to_text(error)
        idx = c_size_t(0)
        lib.hardstore_tx_dlq_record(self._tx(), t, len(t), k, len(k), p, len(p), e, len(e), int(max_attempts),
                                    int(first_attempt_at), bool(permanent), byref(idx))
        self._dead_letters += 1
        return idx.value

    # Webhook outbox
    def outbox_enqueue(self, tenant: Text, endpoint: Text, event_type: Text, payload: Data) -> None:
        """Adds a webhook message for endpoint ``endpoint`` of ``tenant`` (the
        transactional outbox): it commits with the rest of the transaction, the app's
        state, or not at all, and is due at once (``store.webhooks.claim`` delivers it).
        ``payload`` is the body to POST (``bytes``; a ``str`` as UTF-8), at most 512 KiB.
        Its arguments are checked now; the endpoint must exist at :meth:`commit`
        (:class:`~hardstore.NotFound` then, and nothing is written)."""
        t, e, ty, p = _message(tenant, endpoint, event_type, payload)
        lib.hardstore_tx_outbox_enqueue(self._tx(), t, len(t), e, len(e), ty, len(ty), p, len(p))

    # Commit
    def commit(self) -> None:
        """Commits every operation atomically. On an error (such as
        :class:`~hardstore.Fenced`) nothing is written. Either way the transaction is
        finished."""
        tx = self._tx()
        try:
            lib.hardstore_tx_commit(tx)
        finally:
            self._finished = True
        self.committed = True
        self.audit_seqs = [self.audit_seq(i) for i in range(self._audit_appends)]
        self.dead_letter_ids = [self.dead_letter_id(i) for i in range(self._dead_letters)]

    def audit_seq(self, index: int) -> int:
        """After a successful commit, the seq of the ``index``-th audit append."""
        if self.closed and self.committed and 0 <= index < len(self.audit_seqs):
            return self.audit_seqs[index]
        out = c_uint64(0)
        lib.hardstore_tx_audit_seq(self._live(), int(index), byref(out))
        return out.value

    def dead_letter_id(self, index: int) -> int:
        """After a successful commit, the id of the ``index``-th dead letter recorded."""
        if self.closed and self.committed and 0 <= index < len(self.dead_letter_ids):
            return self.dead_letter_ids[index]
        out = c_uint64(0)
        lib.hardstore_tx_dead_letter_id(self._live(), int(index), byref(out))
        return out.value

    def abort(self) -> None:
        """Discards the transaction (nothing of an uncommitted one is written)."""
        self.close()

    def close(self) -> None:
        """Frees the transaction; an uncommitted one is discarded."""
        super().close()
        self._keep.clear()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None and not self.closed and not self._finished:
                self.commit()
        finally:
            self.close()
