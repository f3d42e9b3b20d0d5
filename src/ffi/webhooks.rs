//! The C ABI for the webhook outbox: secrets, endpoints, enqueue (alone or in a
//! `hardstore_tx`), claim with signed headers, ack, fail, and the receiver's verify.
//!
//! Secrets cross the boundary as their `whsec_...` text. Times are microseconds since
//! the epoch, except `webhook-timestamp` values, which are seconds (the standard's).

use std::time::Duration;

use super::bytes::{give_bytes, hardstore_bytes};
use super::store::{durability_arg, hardstore_store};
use super::{arg, bytes_arg, free_box, guard, hardstore_result, out, str_arg, FfiResult};
use crate::error::Error;
use crate::webhooks::{limits, verify_webhook, Delivery, FailOutcome, Secret};

/// Longest webhook tenant, endpoint id and event type, in bytes.
pub const HARDSTORE_LIMIT_WEBHOOK_NAME: usize = 128;
/// Longest endpoint URL, in bytes.
pub const HARDSTORE_LIMIT_WEBHOOK_URL: usize = 2048;
/// Longest webhook payload, in bytes (512 KiB).
pub const HARDSTORE_LIMIT_WEBHOOK_PAYLOAD: usize = 512 << 10;
/// Most secrets per endpoint.
pub const HARDSTORE_LIMIT_WEBHOOK_SECRETS: usize = 8;

const _: () = assert!(HARDSTORE_LIMIT_WEBHOOK_NAME == limits::NAME);
const _: () = assert!(HARDSTORE_LIMIT_WEBHOOK_URL == limits::URL);
const _: () = assert!(HARDSTORE_LIMIT_WEBHOOK_PAYLOAD == limits::PAYLOAD);
const _: () = assert!(HARDSTORE_LIMIT_WEBHOOK_SECRETS == limits::SECRETS);

/// An endpoint's state, from `hardstore_webhook_endpoint_get`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_webhook_endpoint {
    /// Whether its messages are claimed.
    pub enabled: bool,
    /// Failed attempts since its last delivery.
    pub failing: u32,
    /// Its secrets.
    pub secrets: usize,
}

/// One delivery of a claim, from `hardstore_webhook_delivery_get`. Strings and bytes
/// are borrowed from the claim (not NUL-terminated), valid until it is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_webhook_delivery {
    /// The message's id.
    pub id: u64,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// When the lease ends.
    pub lease_until: u64,
    /// Where to POST it.
    pub url: *const u8,
    /// Its length.
    pub url_len: usize,
    /// The body to POST, exactly (it is what is signed).
    pub payload: *const u8,
    /// Its length.
    pub payload_len: usize,
    /// Its event type.
    pub event_type: *const u8,
    /// Its length.
    pub event_type_len: usize,
    /// The `webhook-id` header's value.
    pub webhook_id: *const u8,
    /// Its length.
    pub webhook_id_len: usize,
    /// The `webhook-timestamp` header's value.
    pub webhook_timestamp: *const u8,
    /// Its length.
    pub webhook_timestamp_len: usize,
    /// The `webhook-signature` header's value.
    pub webhook_signature: *const u8,
    /// Its length.
    pub webhook_signature_len: usize,
}

/// What `hardstore_webhook_fail` did.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_webhook_fail_outcome {
    /// True: every attempt failed and the message is now dead letter `dead_letter`.
    pub dead: bool,
    /// When it is due again (when not dead).
    pub retry_at: u64,
    /// The dead letter's id (when dead).
    pub dead_letter: u64,
}

/// Deliveries leased by `hardstore_webhook_claim`. Free with
/// `hardstore_webhook_claim_free` (acked or not: an unacked lease lapses).
pub struct hardstore_webhook_deliveries {
    items: Vec<Delivery>,
}

unsafe fn secrets_arg(
    texts: *const *const u8,
    lens: *const usize,
    n: usize,
) -> FfiResult<Vec<Secret>> {
    if n > limits::SECRETS {
        return Err(
            Error::InvalidArgument(format!("{n} secrets, more than {}", limits::SECRETS)).into(),
        );
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    if texts.is_null() {
        return Err(super::FfiError::Null("secrets"));
    }
    if lens.is_null() {
        return Err(super::FfiError::Null("secret_lens"));
    }
    let (ps, ls) = (
        std::slice::from_raw_parts(texts, n),
        std::slice::from_raw_parts(lens, n),
    );
    ps.iter()
        .zip(ls)
        .map(|(p, l)| Ok(Secret::parse(str_arg(*p, *l, "secret", 200)?)?))
        .collect()
}

/// Writes a new random secret's `whsec_...` text to a new `*out_secret` owned by the
/// caller (free with `hardstore_bytes_free`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_secret_generate(
    out_secret: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let o = out(out_secret, "out_secret")?;
        give_bytes(Secret::generate()?.to_text().into_bytes(), o);
        Ok(())
    })
}

/// Puts (or replaces, enabling it again) endpoint `endpoint` of `tenant` with `url`
/// (http or https) and `n_secrets` (1..=8) secrets given as `whsec_...` texts, newest
/// first; durably, audited.
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_endpoint_put(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    endpoint: *const u8,
    endpoint_len: usize,
    url: *const u8,
    url_len: usize,
    secrets: *const *const u8,
    secret_lens: *const usize,
    n_secrets: usize,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = str_arg(tenant, tenant_len, "tenant", limits::NAME)?;
        let e = str_arg(endpoint, endpoint_len, "endpoint", limits::NAME)?;
        let u = str_arg(url, url_len, "url", limits::URL)?;
        let secs = secrets_arg(secrets, secret_lens, n_secrets)?;
        s.store.webhooks().put_endpoint(t, e, u, &secs)?;
        Ok(())
    })
}

/// Writes endpoint `endpoint` of `tenant` to `*out_endpoint` and true to `*out_found`,
/// or false when there is none.
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_endpoint_get(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    endpoint: *const u8,
    endpoint_len: usize,
    out_found: *mut bool,
    out_endpoint: *mut hardstore_webhook_endpoint,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = str_arg(tenant, tenant_len, "tenant", limits::NAME)?;
        let e = str_arg(endpoint, endpoint_len, "endpoint", limits::NAME)?;
        let (of, oe) = (
            out(out_found, "out_found")?,
            out(out_endpoint, "out_endpoint")?,
        );
        let got = s.store.webhooks().endpoint(t, e)?;
        *of = got.is_some();
        if let Some(ep) = got {
            *oe = hardstore_webhook_endpoint {
                enabled: ep.enabled,
                failing: ep.failing,
                secrets: ep.secrets.len(),
            };
        }
        Ok(())
    })
}

/// Enables a disabled endpoint (its failure count starts over), durably, audited.
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_endpoint_enable(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    endpoint: *const u8,
    endpoint_len: usize,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = str_arg(tenant, tenant_len, "tenant", limits::NAME)?;
        let e = str_arg(endpoint, endpoint_len, "endpoint", limits::NAME)?;
        s.store.webhooks().enable_endpoint(t, e)?;
        Ok(())
    })
}

/// Removes an endpoint and its pending messages, durably, audited;
/// `HARDSTORE_CONFIRMATION_REQUIRED` (changing nothing) when it has more than `confirm`.
/// Writes how many messages it deleted to `*out_deleted`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_endpoint_remove(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    endpoint: *const u8,
    endpoint_len: usize,
    confirm: u64,
    out_deleted: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = str_arg(tenant, tenant_len, "tenant", limits::NAME)?;
        let e = str_arg(endpoint, endpoint_len, "endpoint", limits::NAME)?;
        let o = out(out_deleted, "out_deleted")?;
        *o = s.store.webhooks().remove_endpoint(t, e, confirm)?;
        Ok(())
    })
}

/// Enqueues a message in a write of its own (`hardstore_tx_outbox_enqueue` commits one
/// with app state); writes its id to `*out_id`. The endpoint must exist.
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_enqueue(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    endpoint: *const u8,
    endpoint_len: usize,
    event_type: *const u8,
    event_type_len: usize,
    payload: *const u8,
    payload_len: usize,
    durability: u32,
    out_id: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = str_arg(tenant, tenant_len, "tenant", limits::NAME)?;
        let e = str_arg(endpoint, endpoint_len, "endpoint", limits::NAME)?;
        let ty = str_arg(event_type, event_type_len, "event_type", limits::NAME)?;
        let p = bytes_arg(payload, payload_len, "payload")?;
        let d = durability_arg(durability)?;
        let o = out(out_id, "out_id")?;
        *o = s.store.webhooks().enqueue(t, e, ty, p, d)?.id;
        Ok(())
    })
}

/// Leases up to `limit` (1..=10000) due messages for `lease_us` microseconds (above 0),
/// durably, and writes them to a new `*out_claim` owned by the caller (free with
/// `hardstore_webhook_claim_free`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_claim(
    store: *const hardstore_store,
    limit: usize,
    lease_us: u64,
    out_claim: *mut *mut hardstore_webhook_deliveries,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_claim, "out_claim")?;
        let items = s
            .store
            .webhooks()
            .claim_due(limit, Duration::from_micros(lease_us))?;
        *o = Box::into_raw(Box::new(hardstore_webhook_deliveries { items }));
        Ok(())
    })
}

/// How many deliveries a claim holds; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_claim_len(
    claim: *const hardstore_webhook_deliveries,
) -> usize {
    claim.as_ref().map_or(0, |c| c.items.len())
}

unsafe fn delivery<'a>(
    claim: *const hardstore_webhook_deliveries,
    index: usize,
) -> FfiResult<&'a Delivery> {
    let c = arg(claim, "claim")?;
    c.items.get(index).ok_or_else(|| {
        Error::InvalidArgument(format!("delivery {index} of a claim of {}", c.items.len())).into()
    })
}

/// Writes delivery `index` of a claim to `*out_delivery` (borrowing from the claim).
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_delivery_get(
    claim: *const hardstore_webhook_deliveries,
    index: usize,
    out_delivery: *mut hardstore_webhook_delivery,
) -> hardstore_result {
    guard(|| {
        let d = delivery(claim, index)?;
        let o = out(out_delivery, "out_delivery")?;
        let h = |i: usize| (d.headers[i].1.as_ptr(), d.headers[i].1.len());
        let ((idp, idl), (tsp, tsl), (sgp, sgl)) = (h(0), h(1), h(2));
        *o = hardstore_webhook_delivery {
            id: d.id,
            attempt: d.attempt,
            lease_until: d.lease_until,
            url: d.url.as_ptr(),
            url_len: d.url.len(),
            payload: d.payload.as_ptr(),
            payload_len: d.payload.len(),
            event_type: d.event_type.as_ptr(),
            event_type_len: d.event_type.len(),
            webhook_id: idp,
            webhook_id_len: idl,
            webhook_timestamp: tsp,
            webhook_timestamp_len: tsl,
            webhook_signature: sgp,
            webhook_signature_len: sgl,
        };
        Ok(())
    })
}

/// Acknowledges delivery `index` of a claim (the endpoint answered 2xx): the message is
/// done. `HARDSTORE_FENCED` when its lease lapsed and it was claimed again.
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_ack(
    store: *const hardstore_store,
    claim: *const hardstore_webhook_deliveries,
    index: usize,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        s.store.webhooks().ack(delivery(claim, index)?)?;
        Ok(())
    })
}

/// Records a failed attempt of delivery `index` with `error` (at most 4096 bytes of
/// UTF-8, of which the first 1024 characters are kept): due again on the schedule, or a
/// dead letter after the last attempt. Dead letter ids start at 0: read `dead`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_fail(
    store: *const hardstore_store,
    claim: *const hardstore_webhook_deliveries,
    index: usize,
    error: *const u8,
    error_len: usize,
    out_outcome: *mut hardstore_webhook_fail_outcome,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let d = delivery(claim, index)?;
        let err = str_arg(error, error_len, "error", 4096)?;
        let o = out(out_outcome, "out_outcome")?;
        *o = match s.store.webhooks().fail(d, err)? {
            FailOutcome::Retry { at } => hardstore_webhook_fail_outcome {
                dead: false,
                retry_at: at,
                dead_letter: 0,
            },
            FailOutcome::Dead { dead_letter } => hardstore_webhook_fail_outcome {
                dead: true,
                retry_at: 0,
                dead_letter,
            },
        };
        Ok(())
    })
}

/// Frees a claim. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_claim_free(claim: *mut hardstore_webhook_deliveries) {
    free_box(claim);
}

/// For receivers: verifies a webhook's three header values and body against
/// `n_secrets` secrets (`whsec_...` texts): the timestamp within `tolerance_s` seconds
/// of `now_s` (seconds since the epoch), and a `v1` signature matching a secret,
/// compared in constant time. `HARDSTORE_OK` or `HARDSTORE_SIGNATURE_INVALID` (the
/// message says why).
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_verify(
    secrets: *const *const u8,
    secret_lens: *const usize,
    n_secrets: usize,
    webhook_id: *const u8,
    webhook_id_len: usize,
    webhook_timestamp: *const u8,
    webhook_timestamp_len: usize,
    webhook_signature: *const u8,
    webhook_signature_len: usize,
    payload: *const u8,
    payload_len: usize,
    tolerance_s: u64,
    now_s: u64,
) -> hardstore_result {
    guard(|| {
        let secs = secrets_arg(secrets, secret_lens, n_secrets)?;
        let id = str_arg(webhook_id, webhook_id_len, "webhook_id", 4096)?;
        let ts = str_arg(
            webhook_timestamp,
            webhook_timestamp_len,
            "webhook_timestamp",
            4096,
        )?;
        let sig = str_arg(
            webhook_signature,
            webhook_signature_len,
            "webhook_signature",
            4096,
        )?;
        let p = bytes_arg(payload, payload_len, "payload")?;
        let headers = [
            ("webhook-id", id),
            ("webhook-timestamp", ts),
            ("webhook-signature", sig),
        ];
        verify_webhook(&secs, headers, p, tolerance_s, now_s)?;
        Ok(())
    })
}

/// Writes how many messages are pending, and how many of them are leased now.
#[no_mangle]
pub unsafe extern "C" fn hardstore_webhook_counts(
    store: *const hardstore_store,
    out_pending: *mut u64,
    out_leased: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (op, ol) = (
            out(out_pending, "out_pending")?,
            out(out_leased, "out_leased")?,
        );
        let c = s.store.webhooks().counts()?;
        (*op, *ol) = (c.pending, c.leased);
        Ok(())
    })
}
