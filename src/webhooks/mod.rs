//! The webhook outbox: events committed with the app's own state (the transactional
//! outbox pattern), delivered by the app's HTTP client with Standard Webhooks headers,
//! retried on the Standard Webhooks schedule, and handed to the dead-letter area when
//! every attempt failed.
//!
//! - **Endpoints** are (tenant, endpoint id) with a URL and one or more secrets
//!   (`whsec_...`; during a rotation every secret signs, so receivers holding either
//!   verify). Kept in the store, audited (`webhook.endpoint_put`, `_remove`, `_enable`,
//!   `_disable`).
//! - **Enqueue** inside `store.write` ([`WriteTx::outbox_enqueue`]): the message commits
//!   with the app's state or not at all. Each message gets an id that is never reused;
//!   its `webhook-id` (`msg_` and the id) stays the same across retries, so receivers
//!   can drop duplicates.
//! - **Delivery**: [`Webhooks::claim_due`] leases due messages and gives each with its
//!   headers (`webhook-id`, `webhook-timestamp` of this attempt, `webhook-signature`:
//!   `v1,<base64 HMAC-SHA256 of id.timestamp.payload>` per secret); the app POSTs them
//!   and calls [`Webhooks::ack`] or [`Webhooks::fail`]. A lease that lapses (the app
//!   died) makes the message due again: at-least-once.
//! - **Retries** follow the Standard Webhooks schedule: at once, then 5 s, 5 min, 30 min,
//!   2 h, 5 h, 10 h and 10 h after each failure. After the 8th failed attempt the message
//!   becomes a dead letter (kind `webhook`, Dead, a JSON envelope of the message: see
//!   [`DeadWebhook`]), where it can be inspected and redriven.
//! - **Endpoints are disabled** after [`DISABLE_AFTER`] failed attempts in a row without
//!   a delivery; their messages wait (not claimed) until [`Webhooks::enable_endpoint`].
//! - Receivers check with [`verify_webhook`] (constant-time, with a timestamp
//!   tolerance).
//!
//! ```
//! use std::time::Duration;
//! use hardstore::webhooks::Secret;
//! use hardstore::{Durability, Options, Store};
//! let store = Store::in_memory(Options::new())?;
//! let secret = Secret::generate()?;
//! store.webhooks().put_endpoint("acme", "orders", "https://acme.example/hooks", std::slice::from_ref(&secret))?;
//! store.write(Durability::Durable, |tx| {
//!     tx.kv_put("orders", b"1001", b"paid")?;
//!     tx.outbox_enqueue("acme", "orders", "order.paid", br#"{"id":1001}"#)?;
//!     Ok(())
//! })?;
//! let d = store.webhooks().claim_due(10, Duration::from_secs(30))?.remove(0);
//! // POST d.payload to d.url with d.headers, then:
//! store.webhooks().ack(&d)?;
//! # Ok::<(), hardstore::Error>(())
//! ```

mod signature;
pub(crate) mod tables;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

pub use signature::{
    signature_header, verify_webhook, Secret, WebhookHeaders, DEFAULT_TOLERANCE_SECS, SECRET_PREFIX,
};

use crate::audit::AuditEvent;
use crate::clock::Timestamp;
use crate::codec;
use crate::dead_letters::NewDeadLetter;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::Store;
use crate::WriteTx;
use tables::{StoredEndpoint, StoredMessage};

/// Field limits, in bytes.
pub mod limits {
    /// Tenant, endpoint id and event type: 1..=128 bytes.
    pub const NAME: usize = 128;
    /// An endpoint's URL: 1..=2048 bytes.
    pub const URL: usize = 2048;
    /// A message's payload: at most 512 KiB (its dead letter, base64 in JSON, must fit
    /// the dead-letter payload limit).
    pub const PAYLOAD: usize = 512 << 10;
    /// Secrets per endpoint: 1..=8.
    pub const SECRETS: usize = 8;
}

/// Seconds after each failed attempt before the next (Standard Webhooks' schedule; the
/// first attempt is at once). Attempts in all: one more than its length.
pub const SCHEDULE_SECS: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
/// Failed attempts in a row, without a delivery, after which an endpoint is disabled.
pub const DISABLE_AFTER: u32 = 24;
/// Due rows a claim reads at most (messages of disabled endpoints are skipped).
const CLAIM_SCAN: usize = 10_000;

/// An endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Its tenant.
    pub tenant: String,
    /// Its id.
    pub endpoint: String,
    /// Where deliveries go.
    pub url: String,
    /// Its secrets, newest first.
    pub secrets: Vec<Secret>,
    /// Whether its messages are claimed.
    pub enabled: bool,
    /// Failed attempts since its last delivery.
    pub failing: u32,
}

/// What an enqueue made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    /// The message's id.
    pub id: u64,
    /// Its `webhook-id` header (`msg_` and 16 hex digits), the same on every attempt.
    pub webhook_id: String,
}

/// A leased message to deliver now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message's id.
    pub id: u64,
    /// Its tenant.
    pub tenant: String,
    /// Its endpoint.
    pub endpoint: String,
    /// Where to POST it.
    pub url: String,
    /// Its event type.
    pub event_type: String,
    /// The body to POST, exactly these bytes (they are what is signed).
    pub payload: Vec<u8>,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// The headers to send: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    pub headers: Vec<(String, String)>,
    /// When the lease ends; after that the message is due again.
    pub lease_until: Timestamp,
    lease: u64,
}

/// What [`Webhooks::fail`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Due again at this time.
    Retry {
        /// When (store clock).
        at: Timestamp,
    },
    /// Every attempt failed: now the dead letter with this id.
    Dead {
        /// The dead letter's id.
        dead_letter: u64,
    },
}

/// The payload of a webhook's dead letter (JSON): what it takes to send it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadWebhook {
    /// Its `webhook-id`.
    pub webhook_id: String,
    /// Its endpoint.
    pub endpoint: String,
    /// Its event type.
    pub event_type: String,
    /// Its payload, base64.
    pub payload: String,
    /// Attempts made.
    pub attempts: u32,
}

/// Messages in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxCounts {
    /// Messages not delivered (waiting, due, or leased).
    pub pending: u64,
    /// Of them, leased now.
    pub leased: u64,
}

fn check_name(field: &'static str, v: &str) -> Result<()> {
    if v.is_empty() {
        return Err(Error::InvalidArgument(format!("{field} must not be empty")));
    }
    if v.len() > limits::NAME {
        return Err(Error::TooLong {
            field,
            len: v.len(),
            max: limits::NAME,
        });
    }
    Ok(())
}

fn webhook_id(id: u64) -> String {
    format!("msg_{id:016x}")
}

fn decode_endpoint(b: &[u8]) -> Result<StoredEndpoint> {
    codec::decode(b)
}

fn decode_message(b: &[u8]) -> Result<StoredMessage> {
    codec::decode(b)
}

/// The webhook outbox of a [`Store`]: `store.webhooks()`.
#[derive(Debug, Clone, Copy)]
pub struct Webhooks<'s> {
    store: &'s Store,
}

impl Store {
    /// The webhook outbox: endpoints, messages committed with app state, deliveries.
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { store: self }
    }
}

impl<'s> Webhooks<'s> {
    /// Puts (or replaces) endpoint `endpoint` of `tenant`, durably, with an audit entry
    /// (the secrets are not in it). `secrets`, newest first, all sign each delivery.
    /// Putting an endpoint enables it again.
    pub fn put_endpoint(
        &self,
        tenant: &str,
        endpoint: &str,
        url: &str,
        secrets: &[Secret],
    ) -> Result<()> {
        check_name("tenant", tenant)?;
        check_name("endpoint", endpoint)?;
        if url.is_empty() || url.len() > limits::URL {
            return Err(Error::InvalidArgument(format!(
                "an endpoint URL is 1..={} bytes, not {}",
                limits::URL,
                url.len()
            )));
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(Error::InvalidArgument(format!(
                "{url:?} is not an http(s) URL"
            )));
        }
        if secrets.is_empty() || secrets.len() > limits::SECRETS {
            return Err(Error::InvalidArgument(format!(
                "an endpoint has 1..={} secrets, not {}",
                limits::SECRETS,
                secrets.len()
            )));
        }
        let rec = StoredEndpoint {
            url: url.to_owned(),
            secrets: secrets.iter().map(|s| s.bytes().to_vec()).collect(),
            enabled: true,
            failing: 0,
            disabled_at: 0,
        };
        let (t, e) = (tenant.to_owned(), endpoint.to_owned());
        self.store.write(Durability::Durable, move |tx| {
            let old = tx
                .tracked(tables::ENDPOINTS)?
                .insert((t.as_str(), e.as_str()), codec::encode(&rec)?.as_slice())?
                .is_some();
            // The URL's scheme and host only: some webhook URLs carry a token in
            // their path or query, which the audit log must not keep.
            let origin: String = {
                let rest = rec.url.split_once("://").map_or("", |(_, r)| r);
                let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                let host = host.rsplit('@').next().unwrap_or(host);
                let scheme = rec.url.split("://").next().unwrap_or("");
                format!("{scheme}://{host}")
            };
            let ev = AuditEvent::new(t.clone(), "webhook.endpoint_put")
                .resource(format!("webhook_endpoint/{e}"))
                .outcome(if old { "replaced" } else { "added" })
                .detail("origin", origin)
                .detail("secrets", rec.secrets.len().to_string());
            tx.audit_append(&ev)?;
            Ok(())
        })
    }

    /// The endpoint, if any.
    pub fn endpoint(&self, tenant: &str, endpoint: &str) -> Result<Option<Endpoint>> {
        let read = self.store.begin_read()?;
        let t = match read.open_table(tables::ENDPOINTS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(g) = t.get((tenant, endpoint))? else {
            return Ok(None);
        };
        let r = decode_endpoint(g.value())?;
        Ok(Some(Endpoint {
            tenant: tenant.to_owned(),
            endpoint: endpoint.to_owned(),
            url: r.url,
            secrets: r
                .secrets
                .into_iter()
                .map(Secret::from_bytes)
                .collect::<Result<_>>()?,
            enabled: r.enabled,
            failing: r.failing,
        }))
    }

    /// Enables a disabled endpoint (its failure count starts over), durably, audited.
    pub fn enable_endpoint(&self, tenant: &str, endpoint: &str) -> Result<()> {
        let (t, e) = (tenant.to_owned(), endpoint.to_owned());
        self.store.write(Durability::Durable, move |tx| {
            let mut tab = tx.tracked(tables::ENDPOINTS)?;
            let mut r = match tab.get((t.as_str(), e.as_str()))? {
                Some(g) => decode_endpoint(g.value())?,
                None => return Err(Error::NotFound(format!("webhook endpoint {t}/{e}"))),
            };
            r.enabled = true;
            r.failing = 0;
            r.disabled_at = 0;
            tab.insert((t.as_str(), e.as_str()), codec::encode(&r)?.as_slice())?;
            drop(tab);
            tx.audit_append(
                &AuditEvent::new(t.clone(), "webhook.endpoint_enable")
                    .resource(format!("webhook_endpoint/{e}")),
            )?;
            Ok(())
        })
    }

    /// Removes an endpoint and its pending messages, durably, audited. Refused with
    /// [`Error::ConfirmationRequired`] (changing nothing) when it has more than `confirm`
    /// pending messages; returns how many it deleted.
    pub fn remove_endpoint(&self, tenant: &str, endpoint: &str, confirm: u64) -> Result<u64> {
        let (t, e) = (tenant.to_owned(), endpoint.to_owned());
        self.store.write(Durability::Durable, move |tx| {
            if tx
                .tracked(tables::ENDPOINTS)?
                .get((t.as_str(), e.as_str()))?
                .is_none()
            {
                return Err(Error::NotFound(format!("webhook endpoint {t}/{e}")));
            }
            let mut doomed = Vec::new();
            let mut fresh = Vec::new();
            for row in tx.tracked(tables::MESSAGES)?.range::<u64>(..)? {
                let (k, v) = row?;
                let m = decode_message(v.value())?;
                if m.tenant == t && m.endpoint == e {
                    doomed.push((k.value(), m));
                }
            }
            for row in tx.tracked(tables::FRESH)?.range::<u64>(..)? {
                let (k, v) = row?;
                let m = decode_message(v.value())?;
                if m.tenant == t && m.endpoint == e {
                    fresh.push(k.value());
                }
            }
            let total = (doomed.len() + fresh.len()) as u64;
            if total > confirm {
                return Err(Error::ConfirmationRequired {
                    what: format!("removing endpoint {t}/{e} deletes its {total} pending messages"),
                    deletes: total,
                });
            }
            for (id, m) in &doomed {
                tx.tracked(tables::MESSAGES)?.remove(*id)?;
                tx.tracked(tables::DUE)?.remove((due_at(m), *id))?;
            }
            for id in &fresh {
                tx.tracked(tables::FRESH)?.remove(*id)?;
            }
            tx.tracked(tables::ENDPOINTS)?
                .remove((t.as_str(), e.as_str()))?;
            tx.audit_append(
                &AuditEvent::new(t.clone(), "webhook.endpoint_remove")
                    .resource(format!("webhook_endpoint/{e}"))
                    .detail("messages_deleted", total.to_string()),
            )?;
            Ok(total)
        })
    }

    /// Enqueues a message in a write of its own (see [`WriteTx::outbox_enqueue`] to
    /// commit it with app state).
    pub fn enqueue(
        &self,
        tenant: &str,
        endpoint: &str,
        event_type: &str,
        payload: &[u8],
        durability: Durability,
    ) -> Result<Enqueued> {
        check_message(tenant, endpoint, event_type, payload)?;
        let (t, e, ty, p) = (
            tenant.to_owned(),
            endpoint.to_owned(),
            event_type.to_owned(),
            payload.to_vec(),
        );
        self.store
            .write(durability, move |tx| tx.outbox_enqueue(&t, &e, &ty, &p))
    }

    /// Leases up to `limit` due messages of enabled endpoints for `lease`, durably, and
    /// returns them with their signed headers, oldest due first.
    pub fn claim_due(&self, limit: usize, lease: Duration) -> Result<Vec<Delivery>> {
        if limit == 0 || limit > 10_000 {
            return Err(Error::InvalidArgument(format!(
                "claim limit {limit} is not 1..=10000"
            )));
        }
        if lease.is_zero() {
            return Err(Error::InvalidArgument(
                "a lease must be longer than zero".into(),
            ));
        }
        let lease_us = u64::try_from(lease.as_micros()).unwrap_or(u64::MAX / 2);
        self.store.write(Durability::Durable, move |tx| {
            tx.outbox_claim(limit, lease_us)
        })
    }

    /// Acknowledges a delivery (the endpoint answered 2xx): the message is done and
    /// deleted, the endpoint's failure count starts over. [`Error::Fenced`] when the lease
    /// lapsed and the message was claimed again (or delivered) meanwhile.
    pub fn ack(&self, d: &Delivery) -> Result<()> {
        let d = d.clone();
        self.store
            .write(Durability::Durable, move |tx| tx.outbox_ack(&d))
    }

    /// Records a failed attempt: the message is due again on the schedule, or after the
    /// last attempt becomes a dead letter; the endpoint is disabled after
    /// [`DISABLE_AFTER`] failures in a row. [`Error::Fenced`] as for `ack`.
    pub fn fail(&self, d: &Delivery, error: &str) -> Result<FailOutcome> {
        let (d, err) = (d.clone(), error.to_owned());
        self.store
            .write(Durability::Durable, move |tx| tx.outbox_fail(&d, &err))
    }

    /// How many messages are pending, and how many of them are leased now.
    pub fn counts(&self) -> Result<OutboxCounts> {
        use redb::ReadableTableMetadata;
        let read = self.store.begin_read()?;
        let now = self.store.clock_now();
        let mut c = OutboxCounts::default();
        match read.open_table(tables::MESSAGES) {
            Ok(t) => {
                for row in t.range::<u64>(..)? {
                    let m = decode_message(row?.1.value())?;
                    c.pending += 1;
                    c.leased += u64::from(m.leased_until > now);
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
        match read.open_table(tables::FRESH) {
            Ok(f) => c.pending += f.len()?,
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(c)
    }
}

fn check_message(tenant: &str, endpoint: &str, event_type: &str, payload: &[u8]) -> Result<()> {
    check_name("tenant", tenant)?;
    check_name("endpoint", endpoint)?;
    check_name("event type", event_type)?;
    if payload.len() > limits::PAYLOAD {
        return Err(Error::TooLong {
            field: "payload",
            len: payload.len(),
            max: limits::PAYLOAD,
        });
    }
    Ok(())
}

/// Endpoints a claim has read, by (tenant, endpoint).
type Endpoints = std::collections::HashMap<(String, String), Option<StoredEndpoint>>;

fn due_at(m: &StoredMessage) -> Timestamp {
    if m.leased_until != 0 {
        m.leased_until
    } else {
        m.next_at
    }
}

impl WriteTx<'_> {
    /// Enqueues a webhook message in this transaction: it commits with the rest of the
    /// write (the app's state) or not at all, and is due at once. The endpoint must
    /// exist ([`Error::NotFound`]).
    pub fn outbox_enqueue(
        &mut self,
        tenant: &str,
        endpoint: &str,
        event_type: &str,
        payload: &[u8],
    ) -> Result<Enqueued> {
        check_message(tenant, endpoint, event_type, payload)?;
        if self
            .tracked(tables::ENDPOINTS)?
            .get((tenant, endpoint))?
            .is_none()
        {
            return Err(Error::NotFound(format!(
                "webhook endpoint {tenant}/{endpoint}"
            )));
        }
        let ids = *self.state::<NextId>()?;
        let id = ids.next;
        let mut next = NextId {
            next: id + 1,
            reserved: ids.reserved,
        };
        if next.next > next.reserved {
            // Past the committed bound: move it, in this transaction (see tables.rs).
            next.reserved = id + tables::ID_BLOCK;
            self.tracked(tables::META)?
                .insert(tables::NEXT_ID, next.reserved)?;
        }
        *self.state_mut::<NextId>()? = next;
        let now = self.now();
        let m = StoredMessage {
            tenant: tenant.to_owned(),
            endpoint: endpoint.to_owned(),
            event_type: event_type.to_owned(),
            payload: payload.to_vec(),
            created_at: now,
            attempts: 0,
            next_at: now,
            leased_until: 0,
            lease: 0,
            last_error: String::new(),
        };
        self.tracked(tables::FRESH)?
            .insert(id, codec::encode(&m)?.as_slice())?;
        Ok(Enqueued {
            id,
            webhook_id: webhook_id(id),
        })
    }

    fn outbox_claim(&mut self, limit: usize, lease_us: u64) -> Result<Vec<Delivery>> {
        let now = self.now();
        let mut out = Vec::new();
        let mut endpoints = Endpoints::default();
        // Retries and lapsed leases first (oldest due first), then messages never
        // claimed (in id order, their due order). Rows are read in chunks, so a claim
        // reads what it takes plus the rows of disabled endpoints it skips (at most
        // CLAIM_SCAN in all), not every due row.
        let mut scanned = 0usize;
        let mut after: Option<(u64, u64)> = None;
        while out.len() < limit && scanned < CLAIM_SCAN {
            let want = (limit - out.len()).max(16);
            let mut due = Vec::new();
            {
                let t = self.tracked(tables::DUE)?;
                let from = after.map_or((0, 0), |k| k);
                for row in t.range(from..=(now, u64::MAX))? {
                    let k = row?.0.value();
                    if Some(k) != after {
                        due.push(k);
                    }
                    if due.len() >= want {
                        break;
                    }
                }
            }
            let Some(&last) = due.last() else { break };
            after = Some(last);
            scanned += due.len();
            for (at, id) in due {
                if out.len() >= limit {
                    break;
                }
                let m = match self.tracked(tables::MESSAGES)?.get(id)? {
                    Some(g) => decode_message(g.value())?,
                    None => return Err(Error::Corrupted(format!("a due row for no message {id}"))),
                };
                if let Some(d) = self.outbox_lease(&mut endpoints, id, m, now, lease_us)? {
                    self.tracked(tables::DUE)?.remove((at, id))?;
                    out.push(d);
                }
            }
        }
        let mut after_id: Option<u64> = None;
        while out.len() < limit && scanned < CLAIM_SCAN {
            let want = (limit - out.len()).max(16);
            let mut fresh = Vec::new();
            {
                let t = self.tracked(tables::FRESH)?;
                let from = after_id.map_or(0, |i| i + 1);
                for row in t.range(from..)? {
                    let (k, v) = row?;
                    fresh.push((k.value(), decode_message(v.value())?));
                    if fresh.len() >= want {
                        break;
                    }
                }
            }
            let Some(&(last, _)) = fresh.last() else {
                break;
            };
            after_id = Some(last);
            scanned += fresh.len();
            for (id, m) in fresh {
                if out.len() >= limit {
                    break;
                }
                if let Some(d) = self.outbox_lease(&mut endpoints, id, m, now, lease_us)? {
                    self.tracked(tables::FRESH)?.remove(id)?;
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// Leases message `id` (writing it to `MESSAGES` with its lease's `DUE` row) and
    /// makes its delivery, or `None` when its endpoint is disabled or gone. The caller
    /// removes the row it came from.
    fn outbox_lease(
        &mut self,
        endpoints: &mut Endpoints,
        id: u64,
        mut m: StoredMessage,
        now: Timestamp,
        lease_us: u64,
    ) -> Result<Option<Delivery>> {
        let key = (m.tenant.clone(), m.endpoint.clone());
        if !endpoints.contains_key(&key) {
            let ep = self
                .tracked(tables::ENDPOINTS)?
                .get((key.0.as_str(), key.1.as_str()))?
                .map(|g| decode_endpoint(g.value()))
                .transpose()?;
            endpoints.insert(key.clone(), ep);
        }
        let Some(ep) = endpoints[&key].as_ref().filter(|e| e.enabled) else {
            return Ok(None);
        };
        let secrets: Vec<Secret> = ep
            .secrets
            .iter()
            .map(|s| Secret::from_bytes(s.clone()))
            .collect::<Result<_>>()?;
        m.attempts += 1;
        m.leased_until = now.saturating_add(lease_us);
        m.lease = m.lease.wrapping_add(1);
        self.tracked(tables::DUE)?
            .insert((m.leased_until, id), ())?;
        self.tracked(tables::MESSAGES)?
            .insert(id, codec::encode(&m)?.as_slice())?;
        let wid = webhook_id(id);
        let ts = now / 1_000_000;
        let sig = signature_header(&secrets, &wid, ts, &m.payload);
        Ok(Some(Delivery {
            id,
            tenant: m.tenant,
            endpoint: m.endpoint,
            url: ep.url.clone(),
            event_type: m.event_type,
            payload: m.payload,
            attempt: m.attempts,
            headers: vec![
                ("webhook-id".into(), wid),
                ("webhook-timestamp".into(), ts.to_string()),
                ("webhook-signature".into(), sig),
            ],
            lease_until: m.leased_until,
            lease: m.lease,
        }))
    }

    /// The message a delivery leased, if the lease is still its own.
    fn leased_message(&mut self, d: &Delivery) -> Result<StoredMessage> {
        let m = match self.tracked(tables::MESSAGES)?.get(d.id)? {
            Some(g) => decode_message(g.value())?,
            None => {
                return Err(Error::Fenced(format!(
                    "webhook message {} was delivered or given up already",
                    d.id
                )))
            }
        };
        if m.lease != d.lease || m.leased_until == 0 {
            return Err(Error::Fenced(format!(
                "webhook message {} is not leased by this delivery any more (it was failed, \
                 or its lease lapsed and it was claimed again)",
                d.id
            )));
        }
        Ok(m)
    }

    fn endpoint_outcome(&mut self, tenant: &str, endpoint: &str, ok: bool) -> Result<()> {
        let mut t = self.tracked(tables::ENDPOINTS)?;
        let Some(mut ep) = t
            .get((tenant, endpoint))?
            .map(|g| decode_endpoint(g.value()))
            .transpose()?
        else {
            return Ok(());
        };
        let was_enabled = ep.enabled;
        if ok {
            if ep.failing == 0 {
                return Ok(());
            }
            ep.failing = 0;
        } else {
            ep.failing = ep.failing.saturating_add(1);
            if ep.failing >= DISABLE_AFTER && ep.enabled {
                ep.enabled = false;
            }
        }
        let disabled_now = was_enabled && !ep.enabled;
        if disabled_now {
            ep.disabled_at = self.now();
        }
        t.insert((tenant, endpoint), codec::encode(&ep)?.as_slice())?;
        drop(t);
        if disabled_now {
            self.audit_append(
                &AuditEvent::new(tenant, "webhook.endpoint_disable")
                    .resource(format!("webhook_endpoint/{endpoint}"))
                    .detail("failed_in_a_row", ep.failing.to_string()),
            )?;
        }
        Ok(())
    }

    fn outbox_ack(&mut self, d: &Delivery) -> Result<()> {
        let m = self.leased_message(d)?;
        self.tracked(tables::MESSAGES)?.remove(d.id)?;
        self.tracked(tables::DUE)?.remove((m.leased_until, d.id))?;
        self.endpoint_outcome(&m.tenant, &m.endpoint, true)
    }

    fn outbox_fail(&mut self, d: &Delivery, error: &str) -> Result<FailOutcome> {
        let mut m = self.leased_message(d)?;
        let now = self.now();
        self.tracked(tables::DUE)?.remove((m.leased_until, d.id))?;
        self.endpoint_outcome(&m.tenant, &m.endpoint, false)?;
        let error: String = error.chars().take(1024).collect();
        match SCHEDULE_SECS.get(m.attempts as usize - 1) {
            Some(wait) => {
                m.next_at = now.saturating_add(wait * 1_000_000);
                m.leased_until = 0;
                m.last_error = error;
                self.tracked(tables::DUE)?.insert((m.next_at, d.id), ())?;
                self.tracked(tables::MESSAGES)?
                    .insert(d.id, codec::encode(&m)?.as_slice())?;
                Ok(FailOutcome::Retry { at: m.next_at })
            }
            None => {
                self.tracked(tables::MESSAGES)?.remove(d.id)?;
                let dead = DeadWebhook {
                    webhook_id: webhook_id(d.id),
                    endpoint: m.endpoint.clone(),
                    event_type: m.event_type.clone(),
                    payload: STANDARD.encode(&m.payload),
                    attempts: m.attempts,
                };
                let body = serde_json::to_vec(&dead)
                    .map_err(|e| Error::InvalidArgument(format!("a dead webhook: {e}")))?;
                // Within the dead-letter error limit (bytes), cut at a character.
                let mut why = format!("{} attempts failed; the last: {error}", m.attempts);
                let max = crate::dead_letters::limits::ERROR;
                if why.len() > max {
                    let mut cut = max;
                    while !why.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    why.truncate(cut);
                }
                let id = self.dlq_record(
                    &NewDeadLetter::new(m.tenant.clone(), "webhook", body)
                        .error(why)
                        .permanent(true),
                )?;
                Ok(FailOutcome::Dead { dead_letter: id })
            }
        }
    }
}

/// The next message id and the committed bound above it (`tables::META`), kept by the
/// writer (published only when a batch commits).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NextId {
    next: u64,
    reserved: u64,
}

/// The webhook outbox's hooks: the id counter starts at the committed bound.
pub(crate) struct WebhooksArea;

impl crate::engine::area::Area for WebhooksArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        let read = redb::ReadableDatabase::begin_read(ctx.db)?;
        let bound = match read.open_table(tables::META) {
            Ok(t) => t.get(tables::NEXT_ID)?.map_or(1, |g| g.value()),
            Err(redb::TableError::TableDoesNotExist(_)) => 1,
            Err(e) => return Err(e.into()),
        };
        // Every id handed out is below the bound: start there (the rest of the last
        // block stays unused).
        ctx.states.insert(NextId {
            next: bound,
            reserved: bound - 1,
        });
        Ok(())
    }
}
