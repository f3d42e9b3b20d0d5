//! The C ABI for idempotency keys: begin, the four outcomes, the endings, inspection.

use std::time::Duration;

use super::store::{hardstore_options, hardstore_store};
use super::{arg, arg_mut, bytes_arg, free_box, guard, hardstore_result, out, str_arg, FfiResult};
use crate::error::Error;
use crate::idempotency::{Begin, CachedResponse, IdemToken, KeyState, MAX_KEY, MAX_TENANT};

/// What `hardstore_idem_begin` answered. Values are stable: a C caller switches on them.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum hardstore_idem_outcome {
    /// You own the key: `*out_token` holds your token. Do the work, then complete, fail
    /// or release it.
    HARDSTORE_IDEM_STARTED = 0,
    /// Completed (or failed terminally) before: `*out_response` holds the cached response.
    HARDSTORE_IDEM_REPLAY = 1,
    /// Someone holds a live lease: retry after `*out_retry_after_us` (HTTP 409).
    HARDSTORE_IDEM_IN_PROGRESS = 2,
    /// The key was used for a different request (HTTP 422).
    HARDSTORE_IDEM_MISMATCH = 3,
}

/// Proof of owning a key, from `hardstore_idem_begin`. Free with
/// `hardstore_idem_token_free` (freeing does not release the key).
pub struct hardstore_idem_token {
    pub(crate) inner: IdemToken,
}

/// A cached response, from `hardstore_idem_begin`. Free with `hardstore_idem_response_free`.
pub struct hardstore_idem_response {
    inner: CachedResponse,
}

/// A key's state, from `hardstore_idem_get`.
#[repr(C)]
pub struct hardstore_idem_info {
    /// 0 in progress (the lease may have run out), 1 completed, 2 failed terminally.
    pub state: u32,
    /// The current fencing number.
    pub fence: u64,
    /// When the key was created, microseconds since the Unix epoch.
    pub created_us: u64,
    /// When it expires.
    pub expires_us: u64,
    /// When the current lease ends (meaningful while in progress).
    pub lease_until_us: u64,
}

/// A lease to give `hardstore_idem_begin` when in doubt (60 s), in milliseconds.
pub const HARDSTORE_IDEM_DEFAULT_LEASE_MS: u64 = 60_000;
const _: () = assert!(
    HARDSTORE_IDEM_DEFAULT_LEASE_MS as u128 == crate::idempotency::DEFAULT_LEASE.as_millis()
);

/// Longest idempotency key, in bytes.
pub const HARDSTORE_LIMIT_IDEM_KEY: usize = 255;
const _: () = assert!(HARDSTORE_LIMIT_IDEM_KEY == MAX_KEY);

fn status_arg(has_status: bool, status: u16) -> Option<u16> {
    has_status.then_some(status)
}

unsafe fn ids<'a>(
    tenant: *const u8,
    tenant_len: usize,
    key: *const u8,
    key_len: usize,
) -> FfiResult<(&'a str, &'a str)> {
    Ok((
        str_arg(tenant, tenant_len, "tenant", MAX_TENANT)?,
        str_arg(key, key_len, "idempotency key", MAX_KEY)?,
    ))
}

/// Claims (tenant, key) for the request whose fingerprint input is `request` (hash the
/// method, the path and the body: the bytes that make two requests the same), with a
/// lease of `lease_ms` milliseconds (at least 1; `HARDSTORE_IDEM_DEFAULT_LEASE_MS` when in
/// doubt). It writes nothing to disk: a begun key lives in memory until it is completed,
/// failed or released (a crash only means a retry starts afresh).
///
/// On success `*out_outcome` says which of the four answers it is, and exactly the
/// matching output is set: `*out_token` (owned by the caller) for STARTED,
/// `*out_response` (owned) for REPLAY, `*out_retry_after_us` for IN_PROGRESS; the other
/// pointers get NULL or 0. All four out-pointers are required.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_begin(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    key: *const u8,
    key_len: usize,
    request: *const u8,
    request_len: usize,
    lease_ms: u64,
    out_outcome: *mut hardstore_idem_outcome,
    out_token: *mut *mut hardstore_idem_token,
    out_response: *mut *mut hardstore_idem_response,
    out_retry_after_us: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (tenant, key) = ids(tenant, tenant_len, key, key_len)?;
        let request = bytes_arg(request, request_len, "request")?;
        let o_outcome = out(out_outcome, "out_outcome")?;
        let o_token = out(out_token, "out_token")?;
        let o_response = out(out_response, "out_response")?;
        let o_retry = out(out_retry_after_us, "out_retry_after_us")?;
        let lease = Duration::from_millis(lease_ms);
        let answer = s.store.idempotency().begin(tenant, key, request, lease)?;
        *o_token = std::ptr::null_mut();
        *o_response = std::ptr::null_mut();
        *o_retry = 0;
        *o_outcome = match answer {
            Begin::Started(t) => {
                *o_token = Box::into_raw(Box::new(hardstore_idem_token { inner: t }));
                hardstore_idem_outcome::HARDSTORE_IDEM_STARTED
            }
            Begin::Replay(r) => {
                *o_response = Box::into_raw(Box::new(hardstore_idem_response { inner: r }));
                hardstore_idem_outcome::HARDSTORE_IDEM_REPLAY
            }
            Begin::InProgress { retry_after } => {
                *o_retry = u64::try_from(retry_after.as_micros()).unwrap_or(u64::MAX);
                hardstore_idem_outcome::HARDSTORE_IDEM_IN_PROGRESS
            }
            Begin::Mismatch => hardstore_idem_outcome::HARDSTORE_IDEM_MISMATCH,
        };
        Ok(())
    })
}

/// The token's fencing number (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_token_fence(token: *const hardstore_idem_token) -> u64 {
    token.as_ref().map_or(0, |t| t.inner.fence)
}

/// The recovery point a crashed earlier holder saved, if any. Writes whether there is
/// one to `out_has`; if so, the name and bytes (borrowed, valid until the token is freed)
/// go to the other out-pointers, which are all required.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_token_recovery(
    token: *const hardstore_idem_token,
    out_has: *mut bool,
    out_name: *mut *const u8,
    out_name_len: *mut usize,
    out_data: *mut *const u8,
    out_data_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let t = arg(token, "token")?;
        let o_has = out(out_has, "out_has")?;
        let o_name = out(out_name, "out_name")?;
        let o_name_len = out(out_name_len, "out_name_len")?;
        let o_data = out(out_data, "out_data")?;
        let o_data_len = out(out_data_len, "out_data_len")?;
        match &t.inner.recovery {
            Some((name, data)) => {
                *o_has = true;
                (*o_name, *o_name_len) = (name.as_ptr(), name.len());
                (*o_data, *o_data_len) = (data.as_ptr(), data.len());
            }
            None => {
                *o_has = false;
                (*o_name, *o_name_len) = (std::ptr::null(), 0);
                (*o_data, *o_data_len) = (std::ptr::null(), 0);
            }
        }
        Ok(())
    })
}

/// Frees a token. It does not release the key (use `hardstore_idem_release`). NULL is
/// allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_token_free(token: *mut hardstore_idem_token) {
    free_box(token);
}

/// The cached response: the body (borrowed, valid until the response is freed), whether a
/// status code was stored and which, and whether it was cached by a terminal failure
/// (`hardstore_idem_fail`) rather than a completion. Every out-pointer is required.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_response_get(
    response: *const hardstore_idem_response,
    out_body: *mut *const u8,
    out_body_len: *mut usize,
    out_has_status: *mut bool,
    out_status: *mut u16,
    out_failed: *mut bool,
) -> hardstore_result {
    guard(|| {
        let r = &arg(response, "response")?.inner;
        let o_body = out(out_body, "out_body")?;
        let o_len = out(out_body_len, "out_body_len")?;
        let o_has = out(out_has_status, "out_has_status")?;
        let o_status = out(out_status, "out_status")?;
        let o_failed = out(out_failed, "out_failed")?;
        (*o_body, *o_len) = (r.body.as_ptr(), r.body.len());
        *o_has = r.status.is_some();
        *o_status = r.status.unwrap_or(0);
        *o_failed = r.failed;
        Ok(())
    })
}

/// Frees a response. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_response_free(response: *mut hardstore_idem_response) {
    free_box(response);
}

/// Caches `body` (at most 1 MiB) and, if `has_status`, `status` as the key's response,
/// durably. Fails with `HARDSTORE_FENCED` if the token's holder was fenced off (its lease
/// ran out and another took over, or the key was released or expired); nothing changes
/// then. The caller still owns `token`. To commit the response with app state and an
/// audit entry, use `hardstore_tx_idem_complete` instead.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_complete(
    store: *const hardstore_store,
    token: *const hardstore_idem_token,
    has_status: bool,
    status: u16,
    body: *const u8,
    body_len: usize,
) -> hardstore_result {
    finish(store, token, has_status, status, body, body_len, false)
}

/// Caches a terminal failure (retries replay it, flagged failed), durably. Same rules as
/// `hardstore_idem_complete`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_fail(
    store: *const hardstore_store,
    token: *const hardstore_idem_token,
    has_status: bool,
    status: u16,
    body: *const u8,
    body_len: usize,
) -> hardstore_result {
    finish(store, token, has_status, status, body, body_len, true)
}

/// `hardstore_idem_complete` (`failed` false) or `hardstore_idem_fail` (true).
unsafe fn finish(
    store: *const hardstore_store,
    token: *const hardstore_idem_token,
    has_status: bool,
    status: u16,
    body: *const u8,
    body_len: usize,
    failed: bool,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = arg(token, "token")?;
        let body = bytes_arg(body, body_len, "body")?;
        let status = status_arg(has_status, status);
        let idem = s.store.idempotency();
        if failed {
            idem.fail(&t.inner, status, body)?;
        } else {
            idem.complete(&t.inner, status, body)?;
        }
        Ok(())
    })
}

/// Frees the key so that a retry starts afresh (for retryable failures). A fenced-off
/// holder gets `HARDSTORE_FENCED`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_release(
    store: *const hardstore_store,
    token: *const hardstore_idem_token,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = arg(token, "token")?;
        s.store.idempotency().release(&t.inner)?;
        Ok(())
    })
}

/// Ends the token's lease now but keeps the key and its recovery point, so the next
/// `hardstore_idem_begin` takes over at once with the recovery point (for a holder that
/// must stop after a side effect it cannot undo). A fenced-off holder gets
/// `HARDSTORE_FENCED`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_abandon(
    store: *const hardstore_store,
    token: *const hardstore_idem_token,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = arg(token, "token")?;
        s.store.idempotency().abandon(&t.inner)?;
        Ok(())
    })
}

/// Extends the token's lease to `lease_ms` milliseconds from now.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_renew(
    store: *const hardstore_store,
    token: *const hardstore_idem_token,
    lease_ms: u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = arg(token, "token")?;
        s.store
            .idempotency()
            .renew(&t.inner, Duration::from_millis(lease_ms))?;
        Ok(())
    })
}

/// Saves a recovery point (a UTF-8 name and bytes, together at most 1 MiB) on the key
/// between steps of multi-step work. A holder that takes over after a crash finds it
/// with `hardstore_idem_token_recovery`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_save_recovery(
    store: *const hardstore_store,
    token: *const hardstore_idem_token,
    name: *const u8,
    name_len: usize,
    data: *const u8,
    data_len: usize,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = arg(token, "token")?;
        let name = str_arg(name, name_len, "name", crate::idempotency::MAX_RECOVERY)?;
        let data = bytes_arg(data, data_len, "data")?;
        s.store.idempotency().save_recovery(&t.inner, name, data)?;
        Ok(())
    })
}

/// Deletes up to `limit` expired keys and writes how many to `out_purged`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_purge_expired(
    store: *const hardstore_store,
    limit: usize,
    out_purged: *mut usize,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_purged, "out_purged")?;
        *o = s.store.idempotency().purge_expired(limit)?;
        Ok(())
    })
}

/// Looks a key up. Writes whether it exists (and has not expired) to `out_found` and,
/// if so, its state to `*out_info`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_idem_get(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    key: *const u8,
    key_len: usize,
    out_found: *mut bool,
    out_info: *mut hardstore_idem_info,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (tenant, key) = ids(tenant, tenant_len, key, key_len)?;
        let o_found = out(out_found, "out_found")?;
        let o_info = out(out_info, "out_info")?;
        match s.store.idempotency().get(tenant, key)? {
            Some(i) => {
                *o_found = true;
                *o_info = hardstore_idem_info {
                    state: match i.state {
                        KeyState::InProgress => 0,
                        KeyState::Completed => 1,
                        KeyState::Failed => 2,
                    },
                    fence: i.fence,
                    created_us: i.created,
                    expires_us: i.expires,
                    lease_until_us: i.lease_until,
                };
            }
            None => *o_found = false,
        }
        Ok(())
    })
}

/// Sets how long an idempotency key lives from its creation, in milliseconds (at least
/// 1; default 24 h).
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_idempotency_ttl_ms(
    options: *mut hardstore_options,
    ttl_ms: u64,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        if ttl_ms == 0 {
            return Err(
                Error::InvalidArgument("idempotency TTL must be at least 1 ms".into()).into(),
            );
        }
        o.inner = o
            .inner
            .clone()
            .idempotency_ttl(Duration::from_millis(ttl_ms));
        Ok(())
    })
}
