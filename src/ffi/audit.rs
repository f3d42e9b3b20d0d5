//! The C ABI for the audit log: events, appends, entries, proofs, checkpoints,
//! verification and queries.

use std::fs::File;
use std::io::BufWriter;

use super::bytes::{give_bytes, hardstore_bytes};
use super::store::{durability_arg, hardstore_store, HARDSTORE_MAX_PATH};
use super::{
    arg, arg_mut, bytes_arg, free_box, guard, hardstore_result, hash_arg, out, str_arg, FfiError,
    FfiResult,
};
use crate::audit::{limits, merkle, AuditEntry, AuditEvent, AuditQuery, Checkpoint, Cursor, Order};
use crate::error::Error;

/// An audit event being built: `hardstore_audit_event_new`, setters, then
/// `hardstore_audit_append`. Free with `hardstore_audit_event_free`.
pub struct hardstore_audit_event {
    pub(crate) inner: AuditEvent,
}

/// An audit entry read from the store. Owned ones (from `hardstore_audit_get`) are freed
/// with `hardstore_audit_entry_free`; borrowed ones (from `hardstore_audit_iter_next`)
/// belong to their iterator.
pub struct hardstore_audit_entry {
    pub(crate) inner: AuditEntry,
}

/// A query being built: `hardstore_audit_query_new`, setters, then
/// `hardstore_audit_query_run`. Free with `hardstore_audit_query_free`.
pub struct hardstore_audit_query {
    inner: AuditQuery,
}

/// One page of query results. Free with `hardstore_audit_iter_free`.
pub struct hardstore_audit_iter {
    entries: Vec<hardstore_audit_entry>,
    pos: usize,
    next: Option<Cursor>,
}

/// Longest tenant, in bytes (at least 1 byte is required).
pub const HARDSTORE_LIMIT_TENANT: usize = 128;
/// Longest actor, in bytes.
pub const HARDSTORE_LIMIT_ACTOR: usize = 256;
/// Longest action, in bytes (at least 1 byte is required).
pub const HARDSTORE_LIMIT_ACTION: usize = 128;
/// Longest resource, in bytes.
pub const HARDSTORE_LIMIT_RESOURCE: usize = 1024;
/// Longest outcome, in bytes.
pub const HARDSTORE_LIMIT_OUTCOME: usize = 64;
/// Longest IP address text, in bytes.
pub const HARDSTORE_LIMIT_IP: usize = 45;
/// Longest user agent, in bytes.
pub const HARDSTORE_LIMIT_USER_AGENT: usize = 512;
/// Most detail pairs in one entry.
pub const HARDSTORE_LIMIT_DETAILS: usize = 64;
/// Longest detail key, in bytes.
pub const HARDSTORE_LIMIT_DETAIL_KEY: usize = 128;
/// Longest detail value, in bytes.
pub const HARDSTORE_LIMIT_DETAIL_VALUE: usize = 4096;
/// Most entries one query page returns.
pub const HARDSTORE_LIMIT_PAGE: usize = 10000;
/// The length of a checkpoint, in bytes.
pub const HARDSTORE_CHECKPOINT_LEN: usize = 102;
/// The length of a hash (root, leaf hash), in bytes.
pub const HARDSTORE_HASH_LEN: usize = 32;

// The C constants are literals (cbindgen reads only literals); keep them equal to Rust's.
const _: () = {
    assert!(HARDSTORE_LIMIT_TENANT == limits::TENANT);
    assert!(HARDSTORE_LIMIT_ACTOR == limits::ACTOR);
    assert!(HARDSTORE_LIMIT_ACTION == limits::ACTION);
    assert!(HARDSTORE_LIMIT_RESOURCE == limits::RESOURCE);
    assert!(HARDSTORE_LIMIT_OUTCOME == limits::OUTCOME);
    assert!(HARDSTORE_LIMIT_IP == limits::IP);
    assert!(HARDSTORE_LIMIT_USER_AGENT == limits::USER_AGENT);
    assert!(HARDSTORE_LIMIT_DETAILS == limits::DETAILS);
    assert!(HARDSTORE_LIMIT_DETAIL_KEY == limits::DETAIL_KEY);
    assert!(HARDSTORE_LIMIT_DETAIL_VALUE == limits::DETAIL_VALUE);
    assert!(HARDSTORE_LIMIT_PAGE == crate::audit::MAX_PAGE);
    assert!(HARDSTORE_CHECKPOINT_LEN == crate::audit::CHECKPOINT_LEN);
};

/// Entry field ids for `hardstore_audit_entry_field`.
pub const HARDSTORE_FIELD_TENANT: u32 = 0;
/// The actor field.
pub const HARDSTORE_FIELD_ACTOR: u32 = 1;
/// The action field.
pub const HARDSTORE_FIELD_ACTION: u32 = 2;
/// The resource field.
pub const HARDSTORE_FIELD_RESOURCE: u32 = 3;
/// The outcome field.
pub const HARDSTORE_FIELD_OUTCOME: u32 = 4;
/// The IP address field.
pub const HARDSTORE_FIELD_IP: u32 = 5;
/// The user agent field.
pub const HARDSTORE_FIELD_USER_AGENT: u32 = 6;

/// The outcome of `hardstore_audit_verify`.
#[repr(C)]
pub struct hardstore_verify_report {
    /// Entries in the log.
    pub size: u64,
    /// Entries checked before the first problem (equal to `size` when ok).
    pub checked: u64,
    /// True when every leaf and node matched.
    pub ok: bool,
    /// The first bad seq; meaningful only when `ok` is false.
    pub first_bad_seq: u64,
    /// The root recomputed from the entries.
    pub root: [u8; 32],
}

/// The fields of a checkpoint, from `hardstore_checkpoint_parse`.
#[repr(C)]
pub struct hardstore_checkpoint_info {
    /// The store it was taken from.
    pub store_id: [u8; 16],
    /// Entries in the log at the time.
    pub size: u64,
    /// When it was taken, microseconds since the Unix epoch.
    pub time: u64,
    /// The Merkle root at `size`.
    pub root: [u8; 32],
    /// Whether it carries a MAC.
    pub has_mac: bool,
}

/// Creates an event with its two required fields, tenant (1..=128 bytes) and action
/// (1..=128 bytes), UTF-8. The caller owns `*out_event`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_event_new(
    tenant: *const u8,
    tenant_len: usize,
    action: *const u8,
    action_len: usize,
    out_event: *mut *mut hardstore_audit_event,
) -> hardstore_result {
    guard(|| {
        let tenant = str_arg(tenant, tenant_len, "tenant", limits::TENANT)?;
        let action = str_arg(action, action_len, "action", limits::ACTION)?;
        let o = out(out_event, "out_event")?;
        if tenant.is_empty() || action.is_empty() {
            return Err(
                Error::InvalidArgument("tenant and action must not be empty".into()).into(),
            );
        }
        *o = Box::into_raw(Box::new(hardstore_audit_event {
            inner: AuditEvent::new(tenant, action),
        }));
        Ok(())
    })
}

/// Sets one string field of an event after checking its limit and UTF-8.
unsafe fn set_field(
    event: *mut hardstore_audit_event,
    value: *const u8,
    value_len: usize,
    name: &'static str,
    max: usize,
    field: fn(&mut AuditEvent) -> &mut String,
) -> hardstore_result {
    guard(|| {
        let e = arg_mut(event, "event")?;
        let v = str_arg(value, value_len, name, max)?;
        *field(&mut e.inner) = v.to_owned();
        Ok(())
    })
}

/// Sets the actor (UTF-8, at most 256 bytes). On error the event is unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_event_set_actor(
    event: *mut hardstore_audit_event,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    set_field(event, value, value_len, "actor", limits::ACTOR, |e| {
        &mut e.actor
    })
}

/// Sets the resource (UTF-8, at most 1024 bytes). On error the event is unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_event_set_resource(
    event: *mut hardstore_audit_event,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    set_field(event, value, value_len, "resource", limits::RESOURCE, |e| {
        &mut e.resource
    })
}

/// Sets the outcome (UTF-8, at most 64 bytes). On error the event is unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_event_set_outcome(
    event: *mut hardstore_audit_event,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    set_field(event, value, value_len, "outcome", limits::OUTCOME, |e| {
        &mut e.outcome
    })
}

/// Sets the user agent (UTF-8, at most 512 bytes). On error the event is unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_event_set_user_agent(
    event: *mut hardstore_audit_event,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    set_field(
        event,
        value,
        value_len,
        "user_agent",
        limits::USER_AGENT,
        |e| &mut e.user_agent,
    )
}

/// Sets the IP address: empty, or IPv4 / IPv6 in text form. On error the event is unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_event_set_ip(
    event: *mut hardstore_audit_event,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    guard(|| {
        let e = arg_mut(event, "event")?;
        let v = str_arg(value, value_len, "ip", limits::IP)?;
        if !v.is_empty() && v.parse::<std::net::IpAddr>().is_err() {
            return Err(Error::InvalidArgument(format!("ip {v:?} is not an IP address")).into());
        }
        e.inner.ip = v.to_owned();
        Ok(())
    })
}

/// Appends a detail pair: key 1..=128 bytes, value at most 4096 bytes, at most 64 pairs.
/// On error the event is unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_event_add_detail(
    event: *mut hardstore_audit_event,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    guard(|| {
        let e = arg_mut(event, "event")?;
        let k = str_arg(key, key_len, "detail key", limits::DETAIL_KEY)?;
        let v = str_arg(value, value_len, "detail value", limits::DETAIL_VALUE)?;
        if k.is_empty() {
            return Err(Error::InvalidArgument("detail key must not be empty".into()).into());
        }
        if e.inner.details.len() >= limits::DETAILS {
            return Err(Error::TooLong {
                field: "details (pairs)",
                len: e.inner.details.len() + 1,
                max: limits::DETAILS,
            }
            .into());
        }
        e.inner.details.push((k.to_owned(), v.to_owned()));
        Ok(())
    })
}

/// Frees an event. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_event_free(event: *mut hardstore_audit_event) {
    free_box(event);
}

/// Appends `event` (only read; the caller still owns it) and writes its seq to `out_seq`.
/// `durability` is `HARDSTORE_DURABLE` or `HARDSTORE_BUFFERED`. If `out_leaf_hash` is not
/// NULL, the entry's 32-byte Merkle leaf hash is written there.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_append(
    store: *const hardstore_store,
    event: *const hardstore_audit_event,
    durability: u32,
    out_seq: *mut u64,
    out_leaf_hash: *mut u8,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let e = arg(event, "event")?;
        let out_seq = out(out_seq, "out_seq")?;
        let d = durability_arg(durability)?;
        let r = s.store.audit().append(e.inner.clone(), d)?;
        *out_seq = r.seq;
        if !out_leaf_hash.is_null() {
            std::ptr::copy_nonoverlapping(r.leaf_hash.as_ptr(), out_leaf_hash, 32);
        }
        Ok(())
    })
}

/// Writes the number of entries to `out_size`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_size(
    store: *const hardstore_store,
    out_size: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_size, "out_size")?;
        *o = s.store.audit().size()?;
        Ok(())
    })
}

/// Reads entry `seq` into a new `*out_entry`, owned by the caller
/// (`hardstore_audit_entry_free`). `HARDSTORE_NOT_FOUND` past the end.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_get(
    store: *const hardstore_store,
    seq: u64,
    out_entry: *mut *mut hardstore_audit_entry,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_entry, "out_entry")?;
        let inner = s.store.audit().get(seq)?;
        *o = Box::into_raw(Box::new(hardstore_audit_entry { inner }));
        Ok(())
    })
}

/// Frees an entry from `hardstore_audit_get`. NULL is allowed. Never pass an entry
/// borrowed from an iterator.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_entry_free(entry: *mut hardstore_audit_entry) {
    free_box(entry);
}

/// The entry's seq; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_entry_seq(entry: *const hardstore_audit_entry) -> u64 {
    entry.as_ref().map_or(0, |e| e.inner.seq)
}

/// The entry's time, microseconds since the Unix epoch; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_entry_time(entry: *const hardstore_audit_entry) -> u64 {
    entry.as_ref().map_or(0, |e| e.inner.time)
}

fn field_of(e: &AuditEntry, field: u32) -> FfiResult<&str> {
    Ok(match field {
        HARDSTORE_FIELD_TENANT => &e.tenant,
        HARDSTORE_FIELD_ACTOR => &e.actor,
        HARDSTORE_FIELD_ACTION => &e.action,
        HARDSTORE_FIELD_RESOURCE => &e.resource,
        HARDSTORE_FIELD_OUTCOME => &e.outcome,
        HARDSTORE_FIELD_IP => &e.ip,
        HARDSTORE_FIELD_USER_AGENT => &e.user_agent,
        other => return Err(Error::InvalidArgument(format!("unknown field id {other}")).into()),
    })
}

/// Points `*out_ptr` / `*out_len` at a string field (`HARDSTORE_FIELD_*`) of the entry:
/// UTF-8, not NUL-terminated, valid as long as the entry.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_entry_field(
    entry: *const hardstore_audit_entry,
    field: u32,
    out_ptr: *mut *const u8,
    out_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let e = arg(entry, "entry")?;
        let p = out(out_ptr, "out_ptr")?;
        let l = out(out_len, "out_len")?;
        let v = field_of(&e.inner, field)?;
        *p = v.as_ptr();
        *l = v.len();
        Ok(())
    })
}

/// The number of detail pairs; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_entry_detail_count(
    entry: *const hardstore_audit_entry,
) -> usize {
    entry.as_ref().map_or(0, |e| e.inner.details.len())
}

/// Points the out-parameters at detail pair `index` (UTF-8, not NUL-terminated, valid as
/// long as the entry). `HARDSTORE_NOT_FOUND` past the last pair.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_entry_detail(
    entry: *const hardstore_audit_entry,
    index: usize,
    out_key: *mut *const u8,
    out_key_len: *mut usize,
    out_value: *mut *const u8,
    out_value_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let e = arg(entry, "entry")?;
        let (kp, kl) = (out(out_key, "out_key")?, out(out_key_len, "out_key_len")?);
        let (vp, vl) = (
            out(out_value, "out_value")?,
            out(out_value_len, "out_value_len")?,
        );
        let (k, v) = e
            .inner
            .details
            .get(index)
            .ok_or_else(|| Error::NotFound(format!("detail {index}")))?;
        *kp = k.as_ptr();
        *kl = k.len();
        *vp = v.as_ptr();
        *vl = v.len();
        Ok(())
    })
}

/// Writes the entry's 32-byte Merkle leaf hash to `out_hash`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_entry_leaf_hash(
    entry: *const hardstore_audit_entry,
    out_hash: *mut u8,
) -> hardstore_result {
    guard(|| {
        let e = arg(entry, "entry")?;
        let o = out(out_hash, "out_hash")?;
        let h = e.inner.leaf_hash()?;
        std::ptr::copy_nonoverlapping(h.as_ptr(), o, 32);
        Ok(())
    })
}

/// Writes the 32-byte Merkle root of the first `size` entries to `out_root`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_root(
    store: *const hardstore_store,
    size: u64,
    out_root: *mut u8,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_root, "out_root")?;
        let r = s.store.audit().root(size)?;
        std::ptr::copy_nonoverlapping(r.as_ptr(), o, 32);
        Ok(())
    })
}

/// Writes the inclusion proof of entry `seq` in the tree of `tree_size` entries to a new
/// `*out_proof` (its hashes concatenated), owned by the caller (`hardstore_bytes_free`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_inclusion_proof(
    store: *const hardstore_store,
    seq: u64,
    tree_size: u64,
    out_proof: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_proof, "out_proof")?;
        let p = s.store.audit().inclusion_proof(seq, tree_size)?;
        give_bytes(p.to_bytes(), o);
        Ok(())
    })
}

/// Writes the consistency proof from `old_size` to `new_size` entries to a new
/// `*out_proof`, owned by the caller (`hardstore_bytes_free`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_consistency_proof(
    store: *const hardstore_store,
    old_size: u64,
    new_size: u64,
    out_proof: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_proof, "out_proof")?;
        let p = s.store.audit().consistency_proof(old_size, new_size)?;
        give_bytes(p.to_bytes(), o);
        Ok(())
    })
}

/// Verifies, without a store, that `leaf_hash` (32 bytes) is leaf `index` of the tree of
/// `tree_size` leaves with root `root` (32 bytes). `HARDSTORE_OK` if it is;
/// `HARDSTORE_PROOF_INVALID` if not, or if `proof_len` is not the length such a proof has.
#[no_mangle]
pub unsafe extern "C" fn hardstore_verify_inclusion(
    leaf_hash: *const u8,
    index: u64,
    tree_size: u64,
    proof: *const u8,
    proof_len: usize,
    root: *const u8,
) -> hardstore_result {
    guard(|| {
        let leaf = hash_arg(leaf_hash, "leaf_hash")?;
        let root = hash_arg(root, "root")?;
        let proof = bytes_arg(proof, proof_len, "proof")?;
        crate::InclusionProof::from_bytes(index, tree_size, proof)?.verify(&leaf, &root)?;
        Ok(())
    })
}

/// Verifies, without a store, that the tree of `new_size` leaves with root `new_root`
/// extends the tree of `old_size` leaves with root `old_root` (32 bytes each). With
/// `old_size` 0 the proof is empty and any `new_root` is accepted (every tree extends the
/// empty one): it checks nothing about `new_root` (RFC 9162 refuses `old_size` 0).
#[no_mangle]
pub unsafe extern "C" fn hardstore_verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: *const u8,
    new_root: *const u8,
    proof: *const u8,
    proof_len: usize,
) -> hardstore_result {
    guard(|| {
        let old_root = hash_arg(old_root, "old_root")?;
        let new_root = hash_arg(new_root, "new_root")?;
        let proof = bytes_arg(proof, proof_len, "proof")?;
        crate::ConsistencyProof::from_bytes(old_size, new_size, proof)?
            .verify(&old_root, &new_root)?;
        Ok(())
    })
}

/// Takes a checkpoint (store id, size, root, time; MAC'd when the store has an audit key)
/// into a new `*out_checkpoint` of 102 bytes, owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_checkpoint(
    store: *const hardstore_store,
    out_checkpoint: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_checkpoint, "out_checkpoint")?;
        let cp = s.store.audit().checkpoint()?;
        give_bytes(cp.to_bytes().to_vec(), o);
        Ok(())
    })
}

/// Takes a new checkpoint and the consistency proof from the old one (`checkpoint`,
/// `checkpoint_len` bytes) to it, from one snapshot. Both outputs are owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_prove_since(
    store: *const hardstore_store,
    checkpoint: *const u8,
    checkpoint_len: usize,
    out_checkpoint: *mut *mut hardstore_bytes,
    out_proof: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let old = Checkpoint::from_bytes(bytes_arg(checkpoint, checkpoint_len, "checkpoint")?)?;
        let oc = out(out_checkpoint, "out_checkpoint")?;
        let op = out(out_proof, "out_proof")?;
        let (new, proof) = s.store.audit().prove_since(&old)?;
        give_bytes(new.to_bytes().to_vec(), oc);
        give_bytes(proof.to_bytes(), op);
        Ok(())
    })
}

/// Parses a checkpoint's fields into `*out_info` (the MAC is not checked here).
#[no_mangle]
pub unsafe extern "C" fn hardstore_checkpoint_parse(
    checkpoint: *const u8,
    checkpoint_len: usize,
    out_info: *mut hardstore_checkpoint_info,
) -> hardstore_result {
    guard(|| {
        let cp = Checkpoint::from_bytes(bytes_arg(checkpoint, checkpoint_len, "checkpoint")?)?;
        let o = out(out_info, "out_info")?;
        *o = hardstore_checkpoint_info {
            store_id: cp.store_id.0,
            size: cp.size,
            time: cp.time,
            root: cp.root,
            has_mac: cp.mac.is_some(),
        };
        Ok(())
    })
}

/// Checks a checkpoint's MAC with the secret given as the store's audit key.
/// `HARDSTORE_CHECKPOINT_INVALID` when it does not match or there is no MAC.
#[no_mangle]
pub unsafe extern "C" fn hardstore_checkpoint_verify_mac(
    checkpoint: *const u8,
    checkpoint_len: usize,
    key: *const u8,
    key_len: usize,
) -> hardstore_result {
    guard(|| {
        let cp = Checkpoint::from_bytes(bytes_arg(checkpoint, checkpoint_len, "checkpoint")?)?;
        cp.verify_mac(bytes_arg(key, key_len, "key")?)?;
        Ok(())
    })
}

/// Recomputes every leaf and node hash and writes the outcome to `*out_report`. A log
/// that fails verification is `HARDSTORE_OK` with `ok` false: the call itself worked.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_verify(
    store: *const hardstore_store,
    out_report: *mut hardstore_verify_report,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_report, "out_report")?;
        let r = s.store.audit().verify()?;
        *o = hardstore_verify_report {
            size: r.size,
            checked: r.checked,
            ok: r.is_ok(),
            first_bad_seq: r.first_bad_seq.unwrap_or(0),
            root: r.root,
        };
        Ok(())
    })
}

/// Creates a query for `tenant` (required): oldest first, 100 a page. Owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_query_new(
    tenant: *const u8,
    tenant_len: usize,
    out_query: *mut *mut hardstore_audit_query,
) -> hardstore_result {
    guard(|| {
        let t = str_arg(tenant, tenant_len, "tenant", limits::TENANT)?;
        let o = out(out_query, "out_query")?;
        if t.is_empty() {
            return Err(Error::InvalidArgument("a query needs a tenant".into()).into());
        }
        *o = Box::into_raw(Box::new(hardstore_audit_query {
            inner: AuditQuery::new(t),
        }));
        Ok(())
    })
}

/// Only entries by this actor.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_query_set_actor(
    query: *mut hardstore_audit_query,
    actor: *const u8,
    actor_len: usize,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        let a = str_arg(actor, actor_len, "actor", limits::ACTOR)?;
        q.inner.actor = Some(a.to_owned());
        Ok(())
    })
}

/// Only entries with this action.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_query_set_action(
    query: *mut hardstore_audit_query,
    action: *const u8,
    action_len: usize,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        let a = str_arg(action, action_len, "action", limits::ACTION)?;
        q.inner.action = Some(a.to_owned());
        Ok(())
    })
}

/// Only entries with `from <= time < until` (microseconds since the epoch). Pass 0 and
/// `UINT64_MAX` for no bound.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_query_set_time_range(
    query: *mut hardstore_audit_query,
    from: u64,
    until: u64,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        if from > until {
            return Err(Error::InvalidArgument("time range starts after it ends".into()).into());
        }
        q.inner.from = (from > 0).then_some(from);
        q.inner.until = (until < u64::MAX).then_some(until);
        Ok(())
    })
}

/// Newest first when `newest_first` is true, else oldest first.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_query_set_newest_first(
    query: *mut hardstore_audit_query,
    newest_first: bool,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        q.inner.order = if newest_first {
            Order::NewestFirst
        } else {
            Order::OldestFirst
        };
        Ok(())
    })
}

/// The most entries a page returns, 1..=10000.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_query_set_limit(
    query: *mut hardstore_audit_query,
    limit: usize,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        if limit == 0 || limit > crate::audit::MAX_PAGE {
            return Err(
                Error::InvalidArgument(format!("limit {limit} is outside 1..=10000")).into(),
            );
        }
        q.inner.limit = limit;
        Ok(())
    })
}

/// Continue after the page whose cursor is `cursor` (from `hardstore_audit_iter_cursor`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_query_set_cursor(
    query: *mut hardstore_audit_query,
    cursor: *const u8,
    cursor_len: usize,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        let c = Cursor::from_bytes(bytes_arg(cursor, cursor_len, "cursor")?)?;
        q.inner.cursor = Some(c);
        Ok(())
    })
}

/// Frees a query. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_query_free(query: *mut hardstore_audit_query) {
    free_box(query);
}

/// Runs `query` (only read) and writes one page of results to a new `*out_iter`, owned
/// by the caller (`hardstore_audit_iter_free`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_query_run(
    store: *const hardstore_store,
    query: *const hardstore_audit_query,
    out_iter: *mut *mut hardstore_audit_iter,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let q = arg(query, "query")?;
        let o = out(out_iter, "out_iter")?;
        let page = s.store.audit().query(&q.inner)?;
        *o = Box::into_raw(Box::new(hardstore_audit_iter {
            entries: page
                .entries
                .into_iter()
                .map(|inner| hardstore_audit_entry { inner })
                .collect(),
            pos: 0,
            next: page.next,
        }));
        Ok(())
    })
}

/// Writes the next entry to `*out_entry`, or NULL when the page is done. The entry is
/// borrowed from the iterator and valid until the iterator is freed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_iter_next(
    iter: *mut hardstore_audit_iter,
    out_entry: *mut *const hardstore_audit_entry,
) -> hardstore_result {
    guard(|| {
        let it = arg_mut(iter, "iter")?;
        let o = out(out_entry, "out_entry")?;
        *o = match it.entries.get(it.pos) {
            Some(e) => {
                it.pos += 1;
                e as *const hardstore_audit_entry
            }
            None => std::ptr::null(),
        };
        Ok(())
    })
}

/// Writes the cursor for the next page to a new `*out_cursor` (owned by the caller), or
/// NULL when no more entries match.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_iter_cursor(
    iter: *const hardstore_audit_iter,
    out_cursor: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let it = arg(iter, "iter")?;
        let o = out(out_cursor, "out_cursor")?;
        match &it.next {
            Some(c) => give_bytes(c.to_bytes(), o),
            None => *o = std::ptr::null_mut(),
        }
        Ok(())
    })
}

/// Frees an iterator and every entry borrowed from it. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_iter_free(iter: *mut hardstore_audit_iter) {
    free_box(iter);
}

/// Writes every entry `query` matches (from its cursor on) to the file at the UTF-8
/// `path` as JSON Lines, replacing the file, and the count to `out_count`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_export_jsonl(
    store: *const hardstore_store,
    query: *const hardstore_audit_query,
    path: *const u8,
    path_len: usize,
    out_count: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let q = arg(query, "query")?;
        let path = str_arg(path, path_len, "path", HARDSTORE_MAX_PATH)?;
        let o = out(out_count, "out_count")?;
        if path.is_empty() {
            return Err(Error::InvalidArgument("path is empty".into()).into());
        }
        let f = File::create(path).map_err(Error::from)?;
        let n = s.store.audit().export_jsonl(&q.inner, BufWriter::new(f))?;
        *o = n;
        Ok(())
    })
}

/// The number of bytes an inclusion proof for (`index`, `tree_size`) has, to
/// `out_len`. `HARDSTORE_INVALID_ARGUMENT` if `index >= tree_size`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_inclusion_proof_len(
    index: u64,
    tree_size: u64,
    out_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let o = out(out_len, "out_len")?;
        let n = merkle::inclusion_proof_len(index, tree_size).ok_or_else(|| {
            FfiError::Core(Error::InvalidArgument(format!(
                "leaf {index} is not in a tree of size {tree_size}"
            )))
        })?;
        *o = n * 32;
        Ok(())
    })
}
