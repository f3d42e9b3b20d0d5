//! The C ABI for atomic multi-area writes (`hardstore_tx`) and app state (`hardstore_kv_*`).
//!
//! A C transaction collects operations, checking each one's arguments as it is added, and
//! applies them all in one group-committed write at `hardstore_tx_commit`: all of them
//! commit or none does. (The Rust API's closure runs inside the shared redb transaction;
//! C cannot hand the library a closure that is safe to re-run, so its operations are
//! recorded and replayed instead, with the same all-or-nothing result.)

use super::audit::hardstore_audit_event;
use super::bytes::{give_bytes, hardstore_bytes};
use super::dead_letters::{hardstore_dlq_claim, new_dead_letter};
use super::idempotency::hardstore_idem_token;
use super::store::{durability_arg, hardstore_store};
use super::{arg, arg_mut, bytes_arg, free_box, guard, hardstore_result, out, str_arg, FfiResult};
use crate::audit::AuditEvent;
use crate::dead_letters::{limits as dlq_limits, Claimed, NewDeadLetter};
use crate::error::Error;
use crate::idempotency::IdemToken;
use crate::kv;
use crate::options::Durability;
use crate::store::Store;

/// One recorded operation.
#[derive(Clone)]
enum Op {
    KvPut(String, Vec<u8>, Vec<u8>),
    /// Namespace, key, subject, plaintext: sealed in the transaction, then put.
    KvPutSealed(String, Vec<u8>, String, Vec<u8>),
    /// Tenant, endpoint, event type, payload.
    Outbox(String, String, String, Vec<u8>),
    KvDelete(String, Vec<u8>),
    Audit(AuditEvent),
    IdemFinish {
        token: IdemToken,
        status: Option<u16>,
        body: Vec<u8>,
        failed: bool,
    },
    IdemRelease(IdemToken),
    IdemRecovery(IdemToken, String, Vec<u8>),
    DeadLetter(NewDeadLetter),
    DlqAck(Claimed),
    DlqFail(Claimed, String, bool),
}

enum TxState {
    Open,
    /// Committed; the seqs of its audit entries and the ids of its dead letters, in the
    /// order they were added.
    Committed(Vec<u64>, Vec<u64>),
    /// A commit was attempted and failed; nothing was written.
    Failed,
}

/// A multi-area write being built. Create with `hardstore_tx_begin`, add operations,
/// then `hardstore_tx_commit`; free with `hardstore_tx_free` (freeing an uncommitted
/// transaction discards it). Not thread-safe: use one transaction from one thread.
pub struct hardstore_tx {
    store: Store,
    durability: Durability,
    ops: Vec<Op>,
    audits: usize,
    dead_letters: usize,
    state: TxState,
}

impl hardstore_tx {
    fn push(&mut self, op: Op) -> FfiResult {
        if !matches!(self.state, TxState::Open) {
            return Err(Error::InvalidArgument(
                "the transaction was already committed (or its commit failed)".into(),
            )
            .into());
        }
        self.ops.push(op);
        Ok(())
    }
}

/// Starts a transaction on `store` that commits with `durability` (`HARDSTORE_DURABLE`
/// or `HARDSTORE_BUFFERED`). The caller owns `*out_tx`; the store must outlive it.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_begin(
    store: *const hardstore_store,
    durability: u32,
    out_tx: *mut *mut hardstore_tx,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let d = durability_arg(durability)?;
        let o = out(out_tx, "out_tx")?;
        *o = Box::into_raw(Box::new(hardstore_tx {
            store: s.store.clone(),
            durability: d,
            ops: Vec::new(),
            audits: 0,
            dead_letters: 0,
            state: TxState::Open,
        }));
        Ok(())
    })
}

unsafe fn kv_args<'a>(
    namespace: *const u8,
    namespace_len: usize,
    key: *const u8,
    key_len: usize,
) -> FfiResult<(&'a str, &'a [u8])> {
    let ns = str_arg(namespace, namespace_len, "namespace", kv::MAX_NAMESPACE)?;
    let key = bytes_arg(key, key_len, "key")?;
    Ok((ns, key))
}

/// Adds `(namespace, key) = value` to the transaction (namespace 1..=64 bytes of UTF-8,
/// key 1..=1024 bytes, value at most 1 MiB; checked now). The bytes are copied.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_kv_put(
    tx: *mut hardstore_tx,
    namespace: *const u8,
    namespace_len: usize,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let (ns, key) = kv_args(namespace, namespace_len, key, key_len)?;
        let value = bytes_arg(value, value_len, "value")?;
        kv::check(ns, key, Some(value))?;
        t.push(Op::KvPut(ns.to_owned(), key.to_vec(), value.to_vec()))
    })
}

/// Adds `(namespace, key) = plaintext sealed for subject` to the transaction: the value
/// is sealed inside the commit (a new subject's data key commits with it) and must fit
/// the value limit sealed (about 40 bytes more than the plaintext). Open it with
/// `hardstore_sealing_open`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_kv_put_sealed(
    tx: *mut hardstore_tx,
    namespace: *const u8,
    namespace_len: usize,
    key: *const u8,
    key_len: usize,
    subject: *const u8,
    subject_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let (ns, key) = kv_args(namespace, namespace_len, key, key_len)?;
        let subject = str_arg(
            subject,
            subject_len,
            "subject",
            crate::sealing::limits::SUBJECT,
        )?;
        if subject.is_empty() {
            return Err(Error::InvalidArgument("subject must not be empty".into()).into());
        }
        let p = bytes_arg(plaintext, plaintext_len, "plaintext")?;
        kv::check(ns, key, Some(p))?;
        // The sealed value must fit too: header (3 + subject + 4), nonce 12, tag 16.
        let sealed_len = p.len() + 3 + subject.len() + 4 + 12 + 16;
        if sealed_len > kv::MAX_VALUE {
            return Err(Error::TooLong {
                field: "value (sealed)",
                len: sealed_len,
                max: kv::MAX_VALUE,
            }
            .into());
        }
        t.push(Op::KvPutSealed(
            ns.to_owned(),
            key.to_vec(),
            subject.to_owned(),
            p.to_vec(),
        ))
    })
}

/// Adds a webhook message for endpoint `endpoint` of `tenant` to the transaction: it
/// commits with the rest or not at all (the transactional outbox). Checked now; the
/// endpoint must exist at commit.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_outbox_enqueue(
    tx: *mut hardstore_tx,
    tenant: *const u8,
    tenant_len: usize,
    endpoint: *const u8,
    endpoint_len: usize,
    event_type: *const u8,
    event_type_len: usize,
    payload: *const u8,
    payload_len: usize,
) -> hardstore_result {
    use crate::webhooks::limits as wl;
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let tenant = str_arg(tenant, tenant_len, "tenant", wl::NAME)?;
        let endpoint = str_arg(endpoint, endpoint_len, "endpoint", wl::NAME)?;
        let ty = str_arg(event_type, event_type_len, "event_type", wl::NAME)?;
        if tenant.is_empty() || endpoint.is_empty() || ty.is_empty() {
            return Err(Error::InvalidArgument(
                "tenant, endpoint and event type must not be empty".into(),
            )
            .into());
        }
        if payload_len > wl::PAYLOAD {
            return Err(Error::TooLong {
                field: "payload",
                len: payload_len,
                max: wl::PAYLOAD,
            }
            .into());
        }
        let p = bytes_arg(payload, payload_len, "payload")?;
        t.push(Op::Outbox(
            tenant.to_owned(),
            endpoint.to_owned(),
            ty.to_owned(),
            p.to_vec(),
        ))
    })
}

/// Adds the deletion of `(namespace, key)` to the transaction (absent keys are fine).
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_kv_delete(
    tx: *mut hardstore_tx,
    namespace: *const u8,
    namespace_len: usize,
    key: *const u8,
    key_len: usize,
) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let (ns, key) = kv_args(namespace, namespace_len, key, key_len)?;
        kv::check(ns, key, None)?;
        t.push(Op::KvDelete(ns.to_owned(), key.to_vec()))
    })
}

/// Adds an audit append of `event` (validated now and copied; the caller still owns it)
/// and writes its index among this transaction's audit appends (0, 1, ...) to
/// `out_index`, for `hardstore_tx_audit_seq` after the commit.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_audit_append(
    tx: *mut hardstore_tx,
    event: *const hardstore_audit_event,
    out_index: *mut usize,
) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let e = arg(event, "event")?;
        let o = out(out_index, "out_index")?;
        e.inner.validate()?;
        t.push(Op::Audit(e.inner.clone()))?;
        *o = t.audits;
        t.audits += 1;
        Ok(())
    })
}

unsafe fn idem_finish(
    tx: *mut hardstore_tx,
    token: *const hardstore_idem_token,
    has_status: bool,
    status: u16,
    body: *const u8,
    body_len: usize,
    failed: bool,
) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let token = arg(token, "token")?;
        let body = bytes_arg(body, body_len, "body")?;
        if body.len() > crate::idempotency::MAX_RESPONSE {
            return Err(Error::TooLong {
                field: "response",
                len: body.len(),
                max: crate::idempotency::MAX_RESPONSE,
            }
            .into());
        }
        t.push(Op::IdemFinish {
            token: token.inner.clone(),
            status: has_status.then_some(status),
            body: body.to_vec(),
            failed,
        })
    })
}

/// Adds the completion of `token`'s key with a cached response (as
/// `hardstore_idem_complete`). If the holder was fenced off by the time of the commit,
/// the commit fails with `HARDSTORE_FENCED` and nothing in the transaction is written.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_idem_complete(
    tx: *mut hardstore_tx,
    token: *const hardstore_idem_token,
    has_status: bool,
    status: u16,
    body: *const u8,
    body_len: usize,
) -> hardstore_result {
    idem_finish(tx, token, has_status, status, body, body_len, false)
}

/// Adds a terminal failure of `token`'s key (as `hardstore_idem_fail`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_idem_fail(
    tx: *mut hardstore_tx,
    token: *const hardstore_idem_token,
    has_status: bool,
    status: u16,
    body: *const u8,
    body_len: usize,
) -> hardstore_result {
    idem_finish(tx, token, has_status, status, body, body_len, true)
}

/// Adds the release of `token`'s key (as `hardstore_idem_release`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_idem_release(
    tx: *mut hardstore_tx,
    token: *const hardstore_idem_token,
) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let token = arg(token, "token")?;
        t.push(Op::IdemRelease(token.inner.clone()))
    })
}

/// Adds the saving of a recovery point on `token`'s key (as
/// `hardstore_idem_save_recovery`), so that it commits with the app state of the step it
/// records.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_idem_save_recovery(
    tx: *mut hardstore_tx,
    token: *const hardstore_idem_token,
    name: *const u8,
    name_len: usize,
    data: *const u8,
    data_len: usize,
) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let token = arg(token, "token")?;
        let max = crate::idempotency::MAX_RECOVERY;
        let name = str_arg(name, name_len, "name", max)?;
        let data = bytes_arg(data, data_len, "data")?;
        if name.len() + data.len() > max {
            return Err(Error::TooLong {
                field: "recovery point",
                len: name.len() + data.len(),
                max,
            }
            .into());
        }
        t.push(Op::IdemRecovery(
            token.inner.clone(),
            name.to_owned(),
            data.to_vec(),
        ))
    })
}

/// Adds the ack of a claimed dead letter (as `hardstore_dlq_ack`): the delivery is marked
/// done in the same commit as, say, the app state it changed. A stale claim makes the
/// commit fail with `HARDSTORE_FENCED`, writing nothing.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_dlq_ack(
    tx: *mut hardstore_tx,
    claim: *const hardstore_dlq_claim,
) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let c = arg(claim, "claim")?;
        t.push(Op::DlqAck(c.inner.clone()))
    })
}

/// Adds the failure of a claimed dead letter (as `hardstore_dlq_fail`; the error is at
/// most 4096 bytes). Whether it was rescheduled or is dead can be read afterwards with
/// `hardstore_dlq_get`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_dlq_fail(
    tx: *mut hardstore_tx,
    claim: *const hardstore_dlq_claim,
    error: *const u8,
    error_len: usize,
    retryable: bool,
) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let c = arg(claim, "claim")?;
        let e = str_arg(error, error_len, "error", dlq_limits::ERROR)?;
        t.push(Op::DlqFail(c.inner.clone(), e.to_owned(), retryable))
    })
}

/// Commits every operation added, atomically, with the durability given at begin. On
/// an error nothing is written (for example `HARDSTORE_FENCED` from an idempotency
/// completion). Either way the transaction is finished: further operations and commits
/// are refused. The caller still owns `tx` and frees it with `hardstore_tx_free`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_commit(tx: *mut hardstore_tx) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        if !matches!(t.state, TxState::Open) {
            return Err(
                Error::InvalidArgument("the transaction is already finished".into()).into(),
            );
        }
        t.state = TxState::Failed;
        let ops = std::mem::take(&mut t.ops);
        let (seqs, ids) = t.store.write(t.durability, move |w| {
            let (mut seqs, mut ids) = (Vec::new(), Vec::new());
            for op in &ops {
                match op {
                    Op::KvPut(ns, k, v) => w.kv_put(ns, k, v)?,
                    Op::Outbox(t, e, ty, p) => {
                        w.outbox_enqueue(t, e, ty, p)?;
                    }
                    Op::KvPutSealed(ns, k, subject, p) => {
                        let sealed = w.seal(subject, p)?;
                        w.kv_put(ns, k, &sealed)?
                    }
                    Op::KvDelete(ns, k) => {
                        w.kv_delete(ns, k)?;
                    }
                    Op::Audit(e) => seqs.push(w.audit_append(e)?.seq),
                    Op::IdemFinish {
                        token,
                        status,
                        body,
                        failed: false,
                    } => w.idem_complete(token, *status, body)?,
                    Op::IdemFinish {
                        token,
                        status,
                        body,
                        failed: true,
                    } => w.idem_fail(token, *status, body)?,
                    Op::IdemRelease(token) => w.idem_release(token)?,
                    Op::IdemRecovery(token, name, data) => {
                        w.idem_save_recovery(token, name, data)?
                    }
                    Op::DeadLetter(d) => ids.push(w.dlq_record(d)?),
                    Op::DlqAck(c) => w.dlq_ack(c)?,
                    Op::DlqFail(c, e, retryable) => {
                        w.dlq_fail(c, e, *retryable)?;
                    }
                }
            }
            Ok((seqs, ids))
        })?;
        t.state = TxState::Committed(seqs, ids);
        Ok(())
    })
}

/// After a successful commit, writes the seq of the transaction's `index`-th audit
/// append to `out_seq`. `HARDSTORE_NOT_FOUND` for an index past the appends,
/// `HARDSTORE_INVALID_ARGUMENT` before a successful commit.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_audit_seq(
    tx: *const hardstore_tx,
    index: usize,
    out_seq: *mut u64,
) -> hardstore_result {
    committed_result(
        tx,
        index,
        (out_seq, "out_seq"),
        "audit append",
        |seqs, _| seqs,
    )
}

/// Adds the recording of a dead letter (arguments as `hardstore_dlq_record`, checked
/// now) and writes its index among this transaction's dead letters (0, 1, ...) to
/// `out_index`, for `hardstore_tx_dead_letter_id` after the commit.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_dlq_record(
    tx: *mut hardstore_tx,
    tenant: *const u8,
    tenant_len: usize,
    kind: *const u8,
    kind_len: usize,
    payload: *const u8,
    payload_len: usize,
    error: *const u8,
    error_len: usize,
    max_attempts: u32,
    first_attempt_at: u64,
    permanent: bool,
    out_index: *mut usize,
) -> hardstore_result {
    guard(|| {
        let t = arg_mut(tx, "tx")?;
        let new = new_dead_letter(
            tenant,
            tenant_len,
            kind,
            kind_len,
            payload,
            payload_len,
            error,
            error_len,
            max_attempts,
            first_attempt_at,
            permanent,
        )?;
        let o = out(out_index, "out_index")?;
        t.push(Op::DeadLetter(new))?;
        *o = t.dead_letters;
        t.dead_letters += 1;
        Ok(())
    })
}

/// After a successful commit, writes the id of the transaction's `index`-th dead letter
/// to `out_id`. `HARDSTORE_NOT_FOUND` for an index past them, `HARDSTORE_INVALID_ARGUMENT`
/// before a successful commit.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_dead_letter_id(
    tx: *const hardstore_tx,
    index: usize,
    out_id: *mut u64,
) -> hardstore_result {
    committed_result(tx, index, (out_id, "out_id"), "dead letter", |_, ids| ids)
}

/// Writes the `index`-th number that `pick` chooses from a committed transaction's
/// results (audit seqs or dead-letter ids) to `out`.
unsafe fn committed_result(
    tx: *const hardstore_tx,
    index: usize,
    (out_value, out_name): (*mut u64, &'static str),
    what: &str,
    pick: impl for<'a> FnOnce(&'a [u64], &'a [u64]) -> &'a [u64],
) -> hardstore_result {
    guard(|| {
        let t = arg(tx, "tx")?;
        let o = out(out_value, out_name)?;
        let TxState::Committed(seqs, ids) = &t.state else {
            return Err(Error::InvalidArgument("the transaction has not committed".into()).into());
        };
        let value = pick(seqs, ids)
            .get(index)
            .ok_or_else(|| Error::NotFound(format!("{what} {index} of this transaction")))?;
        *o = *value;
        Ok(())
    })
}

/// Frees a transaction; an uncommitted one is discarded (nothing of it is written).
/// NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_tx_free(tx: *mut hardstore_tx) {
    free_box(tx);
}

/// Writes `(namespace, key) = value` on its own (same limits as `hardstore_tx_kv_put`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_kv_put(
    store: *const hardstore_store,
    namespace: *const u8,
    namespace_len: usize,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    durability: u32,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (ns, key) = kv_args(namespace, namespace_len, key, key_len)?;
        let value = bytes_arg(value, value_len, "value")?;
        let d = durability_arg(durability)?;
        s.store.kv_put(ns, key, value, d)?;
        Ok(())
    })
}

/// Deletes `(namespace, key)` on its own and writes whether it existed to `out_existed`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_kv_delete(
    store: *const hardstore_store,
    namespace: *const u8,
    namespace_len: usize,
    key: *const u8,
    key_len: usize,
    durability: u32,
    out_existed: *mut bool,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (ns, key) = kv_args(namespace, namespace_len, key, key_len)?;
        let d = durability_arg(durability)?;
        let o = out(out_existed, "out_existed")?;
        *o = s.store.kv_delete(ns, key, d)?;
        Ok(())
    })
}

/// Reads `(namespace, key)`. Writes whether it exists to `out_found` and, if so, a new
/// buffer with the value to `*out_value` (owned by the caller: `hardstore_bytes_free`);
/// otherwise `*out_value` gets NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_kv_get(
    store: *const hardstore_store,
    namespace: *const u8,
    namespace_len: usize,
    key: *const u8,
    key_len: usize,
    out_found: *mut bool,
    out_value: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (ns, key) = kv_args(namespace, namespace_len, key, key_len)?;
        let o_found = out(out_found, "out_found")?;
        let o_value = out(out_value, "out_value")?;
        match s.store.kv_get(ns, key)? {
            Some(v) => {
                *o_found = true;
                give_bytes(v, o_value);
            }
            None => {
                *o_found = false;
                *o_value = std::ptr::null_mut();
            }
        }
        Ok(())
    })
}
