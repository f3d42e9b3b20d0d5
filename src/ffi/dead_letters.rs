//! The C ABI for dead letters: record, claim, ack, fail, redrive, list through an
//! iterator, counts, purge, options, and the in-process retry helper with a callback.
//!
//! Times are microseconds since the epoch from the store's clock; durations are
//! microseconds too.

use std::ffi::c_void;
use std::time::Duration;

use super::bytes::{give_bytes, hardstore_bytes};
use super::store::{durability_arg, hardstore_options, hardstore_store};
use super::{arg, arg_mut, bytes_arg, free_box, guard, hardstore_result, out, str_arg, FfiResult};
use crate::dead_letters::{
    limits, retry, Claimed, DeadLetter, DlqCursor, DlqQuery, DlqState, Failure, Jitter,
    NewDeadLetter, Outcome, RetryOutcome, RetryPolicy,
};
use crate::error::Error;

/// Dead-letter state: waiting until due.
pub const HARDSTORE_DLQ_PENDING: u32 = 0;
/// Dead-letter state: claimed by a worker until its lease ends.
pub const HARDSTORE_DLQ_LEASED: u32 = 1;
/// Dead-letter state: acked.
pub const HARDSTORE_DLQ_DONE: u32 = 2;
/// Dead-letter state: declared dead.
pub const HARDSTORE_DLQ_DEAD: u32 = 3;

/// String and byte fields for `hardstore_dlq_claim_field` and `hardstore_dlq_item_field`:
/// the tenant.
pub const HARDSTORE_DLQ_TENANT: u32 = 0;
/// The kind.
pub const HARDSTORE_DLQ_KIND: u32 = 1;
/// The payload (bytes).
pub const HARDSTORE_DLQ_PAYLOAD: u32 = 2;
/// The latest error (items only; empty when there is none).
pub const HARDSTORE_DLQ_LAST_ERROR: u32 = 3;

/// `hardstore_retry_policy.jitter`: uniform in [0, min(cap, base * 2^attempt)].
pub const HARDSTORE_JITTER_FULL: u32 = 0;
/// `hardstore_retry_policy.jitter`: uniform in [base, min(cap, 3 * previous delay)].
pub const HARDSTORE_JITTER_DECORRELATED: u32 = 1;

/// What a `hardstore_dlq_op` returns: the try succeeded.
pub const HARDSTORE_DLQ_OP_OK: u32 = 0;
/// The try failed and another may succeed.
pub const HARDSTORE_DLQ_OP_RETRY: u32 = 1;
/// The try failed and no retry will help (any other value counts as this too).
pub const HARDSTORE_DLQ_OP_PERMANENT: u32 = 2;

/// `hardstore_dlq_retry` outcome: a try succeeded.
pub const HARDSTORE_DLQ_RETRY_SUCCEEDED: u32 = 0;
/// Every try failed (or one failed permanently); a dead letter was recorded.
pub const HARDSTORE_DLQ_RETRY_DEAD_LETTERED: u32 = 1;

/// Longest dead-letter tenant and kind, in bytes.
pub const HARDSTORE_LIMIT_DLQ_TENANT: usize = 128;
/// Longest dead-letter payload, in bytes.
pub const HARDSTORE_LIMIT_DLQ_PAYLOAD: usize = 1 << 20;
/// Longest dead-letter error message, in bytes.
pub const HARDSTORE_LIMIT_DLQ_ERROR: usize = 4096;

const _: () = assert!(HARDSTORE_LIMIT_DLQ_TENANT == limits::TENANT);
const _: () = assert!(HARDSTORE_LIMIT_DLQ_TENANT == limits::KIND);
const _: () = assert!(HARDSTORE_LIMIT_DLQ_PAYLOAD == limits::PAYLOAD);
const _: () = assert!(HARDSTORE_LIMIT_DLQ_ERROR == limits::ERROR);

/// A retry policy, passed by value. Fill it with `hardstore_retry_policy_default`, then
/// change fields.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_retry_policy {
    /// `HARDSTORE_JITTER_FULL` or `HARDSTORE_JITTER_DECORRELATED`.
    pub jitter: u32,
    /// The first delay's ceiling (full) or floor (decorrelated), microseconds, at least 1.
    pub base_us: u64,
    /// No delay is longer, microseconds, at least `base_us`.
    pub cap_us: u64,
    /// Attempts before an item is declared dead, 1..=1000.
    pub max_attempts: u32,
    /// Whether `seed` is used; otherwise the seed comes from the OS.
    pub seeded: bool,
    /// The random source's seed (for repeatable delays in tests).
    pub seed: u64,
}

/// Items per state, from `hardstore_dlq_counts`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_dlq_state_counts {
    /// Pending items.
    pub pending: u64,
    /// Leased items (including ones whose lease ran out, until claimed again).
    pub leased: u64,
    /// Done items not yet purged.
    pub done: u64,
    /// Dead items not yet purged.
    pub dead: u64,
}

/// One failure of an item's history, from `hardstore_dlq_item_history`.
#[repr(C)]
pub struct hardstore_dlq_attempt {
    /// The attempt that failed (0: the failure that made it a dead letter).
    pub attempt: u32,
    /// When, microseconds since the epoch.
    pub at: u64,
    /// Whether it was reported as worth retrying.
    pub retryable: bool,
    /// The error (UTF-8, not NUL-terminated), valid as long as the item.
    pub error: *const u8,
    /// Its length in bytes.
    pub error_len: usize,
}

/// The operation `hardstore_dlq_retry` runs: it gets `userdata` and the try's number
/// (from 1), and returns `HARDSTORE_DLQ_OP_*`. On failure it may write a UTF-8 message
/// of at most `error_cap` bytes to `error_buf` and its length to `*out_error_len`
/// (left 0, the message is empty; invalid UTF-8 is replaced). It must not unwind.
pub type hardstore_dlq_op = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        attempt: u32,
        error_buf: *mut u8,
        error_cap: usize,
        out_error_len: *mut usize,
    ) -> u32,
>;

/// A claimed item, borrowed from a `hardstore_dlq_claims`.
pub struct hardstore_dlq_claim {
    pub(crate) inner: Claimed,
}

/// The items one `hardstore_dlq_claim_due` leased. Free with `hardstore_dlq_claims_free`.
pub struct hardstore_dlq_claims {
    claims: Vec<hardstore_dlq_claim>,
}

/// A dead letter with its history: owned (from `hardstore_dlq_get`, free with
/// `hardstore_dlq_item_free`) or borrowed from a `hardstore_dlq_iter`.
pub struct hardstore_dlq_item {
    inner: DeadLetter,
}

/// A list query being built. Free with `hardstore_dlq_query_free`.
pub struct hardstore_dlq_query {
    inner: DlqQuery,
}

/// One page of a list. Free with `hardstore_dlq_iter_free`.
pub struct hardstore_dlq_iter {
    items: Vec<hardstore_dlq_item>,
    pos: usize,
    next: Option<DlqCursor>,
}

pub(crate) fn policy_from_c(p: &hardstore_retry_policy) -> FfiResult<RetryPolicy> {
    let jitter = match p.jitter {
        HARDSTORE_JITTER_FULL => Jitter::Full,
        HARDSTORE_JITTER_DECORRELATED => Jitter::Decorrelated,
        other => {
            return Err(Error::InvalidArgument(format!("jitter {other} is not 0 or 1")).into())
        }
    };
    let policy = RetryPolicy {
        base: Duration::from_micros(p.base_us),
        cap: Duration::from_micros(p.cap_us),
        max_attempts: p.max_attempts,
        jitter,
        seed: p.seeded.then_some(p.seed),
    };
    policy.validate()?;
    Ok(policy)
}

pub(crate) fn policy_to_c(p: &RetryPolicy) -> hardstore_retry_policy {
    hardstore_retry_policy {
        jitter: match p.jitter {
            Jitter::Full => HARDSTORE_JITTER_FULL,
            Jitter::Decorrelated => HARDSTORE_JITTER_DECORRELATED,
        },
        base_us: p.base.as_micros() as u64,
        cap_us: p.cap.as_micros() as u64,
        max_attempts: p.max_attempts,
        seeded: p.seed.is_some(),
        seed: p.seed.unwrap_or(0),
    }
}

fn state_code(s: DlqState) -> u32 {
    s as u32
}

fn state_arg(state: u32) -> FfiResult<DlqState> {
    u8::try_from(state)
        .ok()
        .and_then(DlqState::from_u8)
        .ok_or_else(|| Error::InvalidArgument(format!("state {state} is not 0..=3")).into())
}

/// Writes the default policy (full jitter, base 1 s, cap 1 h, 5 attempts, unseeded) to
/// `*out_policy`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_retry_policy_default(
    out_policy: *mut hardstore_retry_policy,
) -> hardstore_result {
    guard(|| {
        let o = out(out_policy, "out_policy")?;
        let d = RetryPolicy::default();
        *o = hardstore_retry_policy {
            jitter: HARDSTORE_JITTER_FULL,
            base_us: d.base.as_micros() as u64,
            cap_us: d.cap.as_micros() as u64,
            max_attempts: d.max_attempts,
            seeded: false,
            seed: 0,
        };
        Ok(())
    })
}

/// Sets the policy failed dead letters are rescheduled with, and their default max
/// attempts. `policy` is only read. A bad policy is refused, the options unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_dlq_policy(
    options: *mut hardstore_options,
    policy: *const hardstore_retry_policy,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        let p = policy_from_c(arg(policy, "policy")?)?;
        o.inner = o.inner.clone().dead_letter_policy(p);
        Ok(())
    })
}

/// Sets how long Done and Dead items are kept before `hardstore_dlq_purge` deletes them,
/// in microseconds from when they became so (default 7 days; 0 purges them at once).
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_dlq_purge_after_us(
    options: *mut hardstore_options,
    micros: u64,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        o.inner = o
            .inner
            .clone()
            .dead_letter_purge_after(Duration::from_micros(micros));
        Ok(())
    })
}

/// Records a dead letter and writes its id to `out_id`. `kind` is 1..=128 bytes, `tenant`
/// at most 128, `payload` at most 1 MiB, `error` at most 4096 (empty: none).
/// `max_attempts` 0 takes the store's default (5 unless configured), else 1..=1000.
/// `first_attempt_at` 0 means due now. `permanent` records it Dead at once.
/// `durability` is `HARDSTORE_DURABLE` or `HARDSTORE_BUFFERED`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_record(
    store: *const hardstore_store,
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
    durability: u32,
    out_id: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
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
        let d = durability_arg(durability)?;
        let o = out(out_id, "out_id")?;
        *o = s.store.dead_letters().record(new, d)?;
        Ok(())
    })
}

/// Checks the arguments of `hardstore_dlq_record` (and `hardstore_tx_dlq_record`) and
/// builds the dead letter.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn new_dead_letter(
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
) -> FfiResult<NewDeadLetter> {
    let tenant = str_arg(tenant, tenant_len, "tenant", limits::TENANT)?;
    let kind = str_arg(kind, kind_len, "kind", limits::KIND)?;
    if payload_len > limits::PAYLOAD {
        return Err(Error::TooLong {
            field: "payload",
            len: payload_len,
            max: limits::PAYLOAD,
        }
        .into());
    }
    let payload = bytes_arg(payload, payload_len, "payload")?;
    let error = str_arg(error, error_len, "error", limits::ERROR)?;
    let mut new = NewDeadLetter::new(tenant, kind, payload.to_vec()).permanent(permanent);
    if !error.is_empty() {
        new = new.error(error);
    }
    if max_attempts != 0 {
        new = new.max_attempts(max_attempts);
    }
    if first_attempt_at != 0 {
        new = new.first_attempt_at(first_attempt_at);
    }
    new.validate()?;
    Ok(new)
}

/// Leases up to `limit` (1..=10000) items due by the store's clock for `lease_us`
/// (at least 1) microseconds, counting an attempt on each, durably. `*out_claims` gets a
/// new list (possibly empty) owned by the caller: free it with `hardstore_dlq_claims_free`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_claim_due(
    store: *const hardstore_store,
    limit: usize,
    lease_us: u64,
    out_claims: *mut *mut hardstore_dlq_claims,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_claims, "out_claims")?;
        let claims = s
            .store
            .dead_letters()
            .claim_due(limit, Duration::from_micros(lease_us))?;
        *o = Box::into_raw(Box::new(hardstore_dlq_claims {
            claims: claims
                .into_iter()
                .map(|inner| hardstore_dlq_claim { inner })
                .collect(),
        }));
        Ok(())
    })
}

/// The number of claims in the list; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_claims_len(claims: *const hardstore_dlq_claims) -> usize {
    claims.as_ref().map_or(0, |c| c.claims.len())
}

/// Points `*out_claim` at claim `index`, borrowed from the list (valid until it is
/// freed). `HARDSTORE_NOT_FOUND` past the last.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_claims_get(
    claims: *const hardstore_dlq_claims,
    index: usize,
    out_claim: *mut *const hardstore_dlq_claim,
) -> hardstore_result {
    guard(|| {
        let c = arg(claims, "claims")?;
        let o = out(out_claim, "out_claim")?;
        let claim = c
            .claims
            .get(index)
            .ok_or_else(|| Error::NotFound(format!("claim {index}")))?;
        *o = claim as *const hardstore_dlq_claim;
        Ok(())
    })
}

/// Frees a claim list and the claims borrowed from it. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_claims_free(claims: *mut hardstore_dlq_claims) {
    free_box(claims);
}

/// The claimed item's id; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_claim_id(claim: *const hardstore_dlq_claim) -> u64 {
    claim.as_ref().map_or(0, |c| c.inner.id)
}

/// This attempt's number, from 1; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_claim_attempt(claim: *const hardstore_dlq_claim) -> u32 {
    claim.as_ref().map_or(0, |c| c.inner.attempt)
}

/// The attempts allowed; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_claim_max_attempts(
    claim: *const hardstore_dlq_claim,
) -> u32 {
    claim.as_ref().map_or(0, |c| c.inner.max_attempts)
}

/// When the lease ends (store clock, microseconds); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_claim_lease_until(claim: *const hardstore_dlq_claim) -> u64 {
    claim.as_ref().map_or(0, |c| c.inner.lease_until)
}

/// Points the out-parameters at `HARDSTORE_DLQ_TENANT`, `_KIND` or `_PAYLOAD`, valid as
/// long as the claim.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_claim_field(
    claim: *const hardstore_dlq_claim,
    field: u32,
    out_ptr: *mut *const u8,
    out_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let c = &arg(claim, "claim")?.inner;
        let (p, l) = (out(out_ptr, "out_ptr")?, out(out_len, "out_len")?);
        let v: &[u8] = match field {
            HARDSTORE_DLQ_TENANT => c.tenant.as_bytes(),
            HARDSTORE_DLQ_KIND => c.kind.as_bytes(),
            HARDSTORE_DLQ_PAYLOAD => &c.payload,
            other => {
                return Err(Error::InvalidArgument(format!("unknown claim field {other}")).into())
            }
        };
        *p = v.as_ptr();
        *l = v.len();
        Ok(())
    })
}

/// Marks a claimed item Done, durably. `HARDSTORE_FENCED` (nothing changed)
/// when the claim's lease is no longer held: it ran out, or the item was claimed again.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_ack(
    store: *const hardstore_store,
    claim: *const hardstore_dlq_claim,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let c = arg(claim, "claim")?;
        s.store.dead_letters().ack(&c.inner)?;
        Ok(())
    })
}

/// Records a claimed item's failure (`error` at most 4096 bytes), durably. A retryable
/// error reschedules it unless that was its last attempt; a permanent one makes it Dead.
/// Writes the new state (`HARDSTORE_DLQ_PENDING` or `HARDSTORE_DLQ_DEAD`) to `out_state`
/// and when it is next due (0 when dead) to `out_next_attempt_at`.
/// `HARDSTORE_FENCED` (nothing changed) when the claim's lease is not held.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_fail(
    store: *const hardstore_store,
    claim: *const hardstore_dlq_claim,
    error: *const u8,
    error_len: usize,
    retryable: bool,
    out_state: *mut u32,
    out_next_attempt_at: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let c = arg(claim, "claim")?;
        let e = str_arg(error, error_len, "error", limits::ERROR)?;
        let os = out(out_state, "out_state")?;
        let on = out(out_next_attempt_at, "out_next_attempt_at")?;
        match s.store.dead_letters().fail(&c.inner, e, retryable)? {
            Outcome::Rescheduled { at } => {
                *os = HARDSTORE_DLQ_PENDING;
                *on = at;
            }
            Outcome::Dead => {
                *os = HARDSTORE_DLQ_DEAD;
                *on = 0;
            }
        }
        Ok(())
    })
}

/// Makes a Dead (or Pending) item Pending and due now, attempts reset, durably.
/// `HARDSTORE_NOT_FOUND` for an unknown id, `HARDSTORE_INVALID_ARGUMENT` for a Leased or
/// Done item (unchanged).
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_redrive(
    store: *const hardstore_store,
    id: u64,
) -> hardstore_result {
    guard(|| {
        arg(store, "store")?.store.dead_letters().redrive(id)?;
        Ok(())
    })
}

/// Redrives every Dead item matching `query`'s kind, tenant and time range (its limit
/// and cursor are ignored; a state other than `HARDSTORE_DLQ_DEAD` is refused) and
/// writes how many to `out_count`. Durable, in transactions of up to 1000 items.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_redrive_where(
    store: *const hardstore_store,
    query: *const hardstore_dlq_query,
    out_count: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let q = &arg(query, "query")?.inner;
        let o = out(out_count, "out_count")?;
        if q.state.is_some_and(|st| st != DlqState::Dead) {
            return Err(
                Error::InvalidArgument("only dead items can be redriven by filter".into()).into(),
            );
        }
        *o = s.store.dead_letters().redrive_where(&q.filter)?;
        Ok(())
    })
}

/// Writes the number of items in each state (from counters, no scan) to `*out_counts`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_counts(
    store: *const hardstore_store,
    out_counts: *mut hardstore_dlq_state_counts,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_counts, "out_counts")?;
        let c = s.store.dead_letters().counts()?;
        *o = hardstore_dlq_state_counts {
            pending: c.pending,
            leased: c.leased,
            done: c.done,
            dead: c.dead,
        };
        Ok(())
    })
}

/// Deletes up to `limit` (0: no limit) Done and Dead items that have been so for the
/// configured age (default 7 days), durably, and writes how many to `out_count`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_purge(
    store: *const hardstore_store,
    limit: usize,
    out_count: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_count, "out_count")?;
        *o = s.store.dead_letters().purge((limit > 0).then_some(limit))?;
        Ok(())
    })
}

/// Reads the item with `id` into a new `*out_item`, owned by the caller (free with
/// `hardstore_dlq_item_free`). `HARDSTORE_NOT_FOUND` for an unknown (or purged) id.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_get(
    store: *const hardstore_store,
    id: u64,
    out_item: *mut *mut hardstore_dlq_item,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_item, "out_item")?;
        let inner = s.store.dead_letters().get(id)?;
        *o = Box::into_raw(Box::new(hardstore_dlq_item { inner }));
        Ok(())
    })
}

/// Frees an item from `hardstore_dlq_get` (never one borrowed from an iterator). NULL
/// is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_free(item: *mut hardstore_dlq_item) {
    free_box(item);
}

/// The item's id; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_id(item: *const hardstore_dlq_item) -> u64 {
    item.as_ref().map_or(0, |i| i.inner.id)
}

/// The item's state (`HARDSTORE_DLQ_*`); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_state(item: *const hardstore_dlq_item) -> u32 {
    item.as_ref().map_or(0, |i| state_code(i.inner.state))
}

/// Attempts claimed since it was recorded or last redriven; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_attempts(item: *const hardstore_dlq_item) -> u32 {
    item.as_ref().map_or(0, |i| i.inner.attempts)
}

/// Attempts allowed; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_max_attempts(item: *const hardstore_dlq_item) -> u32 {
    item.as_ref().map_or(0, |i| i.inner.max_attempts)
}

/// How many times it was redriven; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_redrives(item: *const hardstore_dlq_item) -> u32 {
    item.as_ref().map_or(0, |i| i.inner.redrives)
}

/// When it was recorded; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_created(item: *const hardstore_dlq_item) -> u64 {
    item.as_ref().map_or(0, |i| i.inner.created)
}

/// Writes the item's next time to `out_time`: when it is due (Pending), when its lease
/// ends (Leased), or when it finished (Done, Dead).
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_time(
    item: *const hardstore_dlq_item,
    out_time: *mut u64,
) -> hardstore_result {
    guard(|| {
        let i = &arg(item, "item")?.inner;
        let o = out(out_time, "out_time")?;
        *o = i
            .next_attempt_at
            .or(i.lease_until)
            .or(i.finished_at)
            .ok_or_else(|| Error::Corrupted(format!("dead letter {} has no time", i.id)))?;
        Ok(())
    })
}

/// Points the out-parameters at `HARDSTORE_DLQ_TENANT`, `_KIND`, `_PAYLOAD` or
/// `_LAST_ERROR`, valid as long as the item.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_field(
    item: *const hardstore_dlq_item,
    field: u32,
    out_ptr: *mut *const u8,
    out_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let i = &arg(item, "item")?.inner;
        let (p, l) = (out(out_ptr, "out_ptr")?, out(out_len, "out_len")?);
        let v: &[u8] = match field {
            HARDSTORE_DLQ_TENANT => i.tenant.as_bytes(),
            HARDSTORE_DLQ_KIND => i.kind.as_bytes(),
            HARDSTORE_DLQ_PAYLOAD => &i.payload,
            HARDSTORE_DLQ_LAST_ERROR => i.last_error().unwrap_or("").as_bytes(),
            other => {
                return Err(Error::InvalidArgument(format!("unknown item field {other}")).into())
            }
        };
        *p = v.as_ptr();
        *l = v.len();
        Ok(())
    })
}

/// The number of failures in the item's history; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_history_len(item: *const hardstore_dlq_item) -> usize {
    item.as_ref().map_or(0, |i| i.inner.history.len())
}

/// Writes history entry `index` (oldest first) to `*out_attempt`; its error points into
/// the item. `HARDSTORE_NOT_FOUND` past the last.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_item_history(
    item: *const hardstore_dlq_item,
    index: usize,
    out_attempt: *mut hardstore_dlq_attempt,
) -> hardstore_result {
    guard(|| {
        let i = &arg(item, "item")?.inner;
        let o = out(out_attempt, "out_attempt")?;
        let a = i
            .history
            .get(index)
            .ok_or_else(|| Error::NotFound(format!("history entry {index}")))?;
        *o = hardstore_dlq_attempt {
            attempt: a.attempt,
            at: a.at,
            retryable: a.retryable,
            error: a.error.as_ptr(),
            error_len: a.error.len(),
        };
        Ok(())
    })
}

/// Creates a query matching every item, 100 a page, in id order. Caller owns it.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_query_new(
    out_query: *mut *mut hardstore_dlq_query,
) -> hardstore_result {
    guard(|| {
        let o = out(out_query, "out_query")?;
        *o = Box::into_raw(Box::new(hardstore_dlq_query {
            inner: DlqQuery::new(),
        }));
        Ok(())
    })
}

/// Only items in `state` (`HARDSTORE_DLQ_*`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_query_set_state(
    query: *mut hardstore_dlq_query,
    state: u32,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        q.inner.state = Some(state_arg(state)?);
        Ok(())
    })
}

/// Only items of this kind.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_query_set_kind(
    query: *mut hardstore_dlq_query,
    kind: *const u8,
    kind_len: usize,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        let k = str_arg(kind, kind_len, "kind", limits::KIND)?;
        q.inner.filter.kind = Some(k.to_owned());
        Ok(())
    })
}

/// Only items of this tenant.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_query_set_tenant(
    query: *mut hardstore_dlq_query,
    tenant: *const u8,
    tenant_len: usize,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        let t = str_arg(tenant, tenant_len, "tenant", limits::TENANT)?;
        q.inner.filter.tenant = Some(t.to_owned());
        Ok(())
    })
}

/// Only items recorded at `from <= time < until` (0 and `UINT64_MAX` for no bound).
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_query_set_time_range(
    query: *mut hardstore_dlq_query,
    from: u64,
    until: u64,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        if from > until {
            return Err(Error::InvalidArgument("time range starts after it ends".into()).into());
        }
        q.inner.filter.from = (from > 0).then_some(from);
        q.inner.filter.until = (until < u64::MAX).then_some(until);
        Ok(())
    })
}

/// The most items a page returns, 1..=10000.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_query_set_limit(
    query: *mut hardstore_dlq_query,
    limit: usize,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        if limit == 0 || limit > crate::dead_letters::MAX_DLQ_PAGE {
            return Err(
                Error::InvalidArgument(format!("limit {limit} is outside 1..=10000")).into(),
            );
        }
        q.inner.limit = limit;
        Ok(())
    })
}

/// Continue after the page whose cursor is given (from `hardstore_dlq_iter_cursor`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_query_set_cursor(
    query: *mut hardstore_dlq_query,
    cursor: *const u8,
    cursor_len: usize,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        let c = DlqCursor::from_bytes(bytes_arg(cursor, cursor_len, "cursor")?)?;
        q.inner.cursor = Some(c);
        Ok(())
    })
}

/// Frees a query. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_query_free(query: *mut hardstore_dlq_query) {
    free_box(query);
}

/// Runs `query` (only read) into a new `*out_iter` holding one page, owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_list(
    store: *const hardstore_store,
    query: *const hardstore_dlq_query,
    out_iter: *mut *mut hardstore_dlq_iter,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let q = arg(query, "query")?;
        let o = out(out_iter, "out_iter")?;
        let page = s.store.dead_letters().list(&q.inner)?;
        *o = Box::into_raw(Box::new(hardstore_dlq_iter {
            items: page
                .items
                .into_iter()
                .map(|inner| hardstore_dlq_item { inner })
                .collect(),
            pos: 0,
            next: page.next,
        }));
        Ok(())
    })
}

/// Writes the next item to `*out_item`, or NULL at the end of the page. The item is
/// borrowed from the iterator (do not free it).
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_iter_next(
    iter: *mut hardstore_dlq_iter,
    out_item: *mut *const hardstore_dlq_item,
) -> hardstore_result {
    guard(|| {
        let it = arg_mut(iter, "iter")?;
        let o = out(out_item, "out_item")?;
        *o = match it.items.get(it.pos) {
            Some(i) => {
                it.pos += 1;
                i as *const hardstore_dlq_item
            }
            None => std::ptr::null(),
        };
        Ok(())
    })
}

/// Writes the next page's cursor to a new `*out_cursor` (owned by the caller), or NULL
/// when nothing more matches.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_iter_cursor(
    iter: *const hardstore_dlq_iter,
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

/// Frees an iterator and the items borrowed from it. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_iter_free(iter: *mut hardstore_dlq_iter) {
    free_box(iter);
}

/// Runs `op` up to `policy->max_attempts` times in this thread, sleeping a backoff delay
/// between tries (real time, not the store clock). `policy` NULL takes the defaults.
/// When every try failed, or one returned `HARDSTORE_DLQ_OP_PERMANENT`, a dead letter
/// with `tenant`, `kind` and `payload` is recorded durably: Pending for scheduled
/// retries, or Dead after a permanent failure; its error is the last message.
///
/// Writes `HARDSTORE_DLQ_RETRY_SUCCEEDED` or `_DEAD_LETTERED` to `out_outcome`, the
/// tries made to `out_attempts`, and the dead letter's id to `out_id` (0 when none).
/// Arguments are checked before `op` first runs.
#[no_mangle]
pub unsafe extern "C" fn hardstore_dlq_retry(
    store: *const hardstore_store,
    policy: *const hardstore_retry_policy,
    tenant: *const u8,
    tenant_len: usize,
    kind: *const u8,
    kind_len: usize,
    payload: *const u8,
    payload_len: usize,
    op: hardstore_dlq_op,
    userdata: *mut c_void,
    out_outcome: *mut u32,
    out_attempts: *mut u32,
    out_id: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let policy = match policy.as_ref() {
            Some(p) => policy_from_c(p)?,
            None => RetryPolicy::default(),
        };
        let tenant = str_arg(tenant, tenant_len, "tenant", limits::TENANT)?;
        let kind = str_arg(kind, kind_len, "kind", limits::KIND)?;
        if payload_len > limits::PAYLOAD {
            return Err(Error::TooLong {
                field: "payload",
                len: payload_len,
                max: limits::PAYLOAD,
            }
            .into());
        }
        let payload = bytes_arg(payload, payload_len, "payload")?;
        let op = op.ok_or(super::FfiError::Null("op"))?;
        let (oo, oa, oi) = (
            out(out_outcome, "out_outcome")?,
            out(out_attempts, "out_attempts")?,
            out(out_id, "out_id")?,
        );
        let mut buf = vec![0u8; limits::ERROR];
        let outcome = retry(&s.store, &policy, tenant, kind, payload, |attempt| {
            let mut len = 0usize;
            let code = op(userdata, attempt, buf.as_mut_ptr(), buf.len(), &mut len);
            if code == HARDSTORE_DLQ_OP_OK {
                return Ok(());
            }
            let message = String::from_utf8_lossy(&buf[..len.min(buf.len())]).into_owned();
            Err(if code == HARDSTORE_DLQ_OP_RETRY {
                Failure::retryable(message)
            } else {
                Failure::permanent(message)
            })
        })?;
        match outcome {
            RetryOutcome::Succeeded { attempts, .. } => {
                *oo = HARDSTORE_DLQ_RETRY_SUCCEEDED;
                *oa = attempts;
                *oi = 0;
            }
            RetryOutcome::DeadLettered { id, attempts, .. } => {
                *oo = HARDSTORE_DLQ_RETRY_DEAD_LETTERED;
                *oa = attempts;
                *oi = id;
            }
        }
        Ok(())
    })
}
