//! Idempotency keys: make every POST safe to retry.
//!
//! Per (tenant, key) the store keeps a BLAKE3 fingerprint of the request, a state (in
//! progress under a lease, or completed / failed with the cached response), a fencing
//! number, and the creation and expiry times. [`Idempotency::begin`] answers exactly one
//! of [`Begin::Started`] (you own it), [`Begin::Replay`] (the cached response),
//! [`Begin::InProgress`] (someone holds a live lease: HTTP 409) or [`Begin::Mismatch`]
//! (same key, another request: HTTP 422).
//!
//! What to fingerprint: the bytes that make two requests "the same" — typically the
//! method, the path and the body (`b"POST /orders\n" ++ body`); not headers that change
//! between retries.
//!
//! Which writes must reach disk before the caller goes on:
//! - `begin` is committed before it answers, so concurrent callers see it (exactly one
//!   starts), but it need not be durable: if the machine dies before it is synced, the key
//!   is simply absent after restart and the retry starts afresh — nothing that depended
//!   on it can have been made durable either, because `complete` is durable and syncs
//!   everything committed before it. So `begin` uses the caller's durability, `Buffered`
//!   being the right default.
//! - `complete` / `fail` must be durable before the response leaves: a response that
//!   was sent but whose key is lost would let a retry do the work twice. Commit the
//!   app's state change, its audit entry and the completion in one `Store::write` with
//!   `Durability::Durable` ([`WriteTx::idem_complete`](crate::WriteTx::idem_complete)).
//!
//! Fencing: each `Started` carries a fencing number. When a lease runs out (the holder
//! crashed or stalled) the next `begin` takes over with a higher number, and a
//! `complete`, `fail`, `release`, `renew` or `save_recovery` from the old holder fails
//! with [`Error::Fenced`] and changes nothing.
//!
//! Expiry: a key behaves as absent from its expiry time on (creation + TTL, default
//! 24 h). Expired keys are purged in bounded batches: up to 8 by every `begin`, and on
//! demand with [`Idempotency::purge_expired`].

use std::time::Duration;

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::codec;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::Store;
use crate::tx::WriteTx;

/// (tenant, key) -> record.
const KEYS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("idem.keys");
/// (expires, tenant, key), for purging in expiry order.
const EXPIRY: TableDefinition<(u64, &str, &str), ()> = TableDefinition::new("idem.expiry");
/// One row, `LAST_FENCE`: the highest fencing number handed out. Fences are unique across
/// all keys and never reused, so a holder fenced off by a release or an expiry can never
/// match a later holder of the same key, even after the key's row was deleted.
const META: TableDefinition<&str, u64> = TableDefinition::new("idem.meta");
const LAST_FENCE: &str = "last_fence";

/// Longest key, in bytes.
pub const MAX_KEY: usize = 255;
/// Longest tenant, in bytes.
pub const MAX_TENANT: usize = 128;
/// Largest cached response body, in bytes.
pub const MAX_RESPONSE: usize = 1 << 20;
/// Largest recovery point (name and bytes), in bytes.
pub const MAX_RECOVERY: usize = 1 << 20;
/// The lease to give `begin` when in doubt: long enough for a request's work, short
/// enough that a crashed holder does not block retries for long.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// Expired keys each `begin` purges in passing.
const PURGE_IN_PASSING: usize = 8;

const IN_PROGRESS: u8 = 0;
const COMPLETED: u8 = 1;
const FAILED: u8 = 2;

pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<()> {
    txn.open_table(KEYS)?;
    txn.open_table(EXPIRY)?;
    txn.open_table(META)?;
    Ok(())
}

/// The stored record (record version 1). Never change it: add a version instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyRecordV1 {
    fingerprint: [u8; 32],
    state: u8,
    fence: u64,
    lease_until: u64,
    created: u64,
    expires: u64,
    status: Option<u16>,
    body: Vec<u8>,
    recovery: Option<(String, Vec<u8>)>,
}

/// Proof that the caller owns a key, from [`Begin::Started`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemToken {
    /// The tenant.
    pub tenant: String,
    /// The key.
    pub key: String,
    /// The fencing number of this holder.
    pub fence: u64,
    /// The recovery point the previous holder saved, if it crashed after saving one.
    pub recovery: Option<(String, Vec<u8>)>,
}

/// A cached response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResponse {
    /// The status code, if one was given.
    pub status: Option<u16>,
    /// The body, as stored.
    pub body: Vec<u8>,
    /// Whether it was cached by `fail` (a terminal failure) rather than `complete`.
    pub failed: bool,
}

/// What [`Idempotency::begin`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// You own the key: do the work, then complete, fail or release.
    Started(IdemToken),
    /// Completed before: send this response again.
    Replay(CachedResponse),
    /// Someone holds a live lease: retry after this long (HTTP 409).
    InProgress {
        /// Until the lease runs out.
        retry_after: Duration,
    },
    /// The key was used for another request (HTTP 422).
    Mismatch,
}

/// A key's state, for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Whether it is completed, failed or in progress.
    pub state: KeyState,
    /// The current fencing number.
    pub fence: u64,
    /// When it was created.
    pub created: Timestamp,
    /// When it expires.
    pub expires: Timestamp,
    /// When the current lease ends (meaningful while in progress).
    pub lease_until: Timestamp,
}

/// A key's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Someone started it (the lease may have run out).
    InProgress,
    /// Completed; a response is cached.
    Completed,
    /// Failed terminally; a response is cached.
    Failed,
}

fn fingerprint(request: &[u8]) -> [u8; 32] {
    *blake3::hash(request).as_bytes()
}

fn check_ids(tenant: &str, key: &str) -> Result<()> {
    if tenant.is_empty() || key.is_empty() {
        return Err(Error::InvalidArgument(
            "tenant and idempotency key must not be empty".into(),
        ));
    }
    if tenant.len() > MAX_TENANT {
        return Err(Error::TooLong {
            field: "tenant",
            len: tenant.len(),
            max: MAX_TENANT,
        });
    }
    if key.len() > MAX_KEY {
        return Err(Error::TooLong {
            field: "idempotency key",
            len: key.len(),
            max: MAX_KEY,
        });
    }
    Ok(())
}

fn check_lease(lease: Duration) -> Result<()> {
    if lease.is_zero() {
        return Err(Error::InvalidArgument(
            "a lease must be longer than zero (DEFAULT_LEASE is 60 s)".into(),
        ));
    }
    Ok(())
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// What a live (unexpired) record answers without any write: `Mismatch`, `Replay` or
/// `InProgress`; or the record back when its lease ran out and the caller may take over.
///
/// Invariant: a live record only changes through a write holding its lease (or taking
/// over after it), so an answer given here from a read snapshot is one that a write
/// transaction at the same instant would have given too.
fn settled(rec: KeyRecordV1, fp: &[u8; 32], now: Timestamp) -> Result<Begin, Box<KeyRecordV1>> {
    if rec.fingerprint != *fp {
        return Ok(Begin::Mismatch);
    }
    match rec.state {
        COMPLETED | FAILED => Ok(Begin::Replay(CachedResponse {
            status: rec.status,
            failed: rec.state == FAILED,
            body: rec.body,
        })),
        _ if now < rec.lease_until => Ok(Begin::InProgress {
            retry_after: Duration::from_micros(rec.lease_until - now),
        }),
        _ => Err(Box::new(rec)),
    }
}

/// The idempotency tables inside one write transaction.
pub(crate) struct IdemTables<'t> {
    keys: Table<'t, (&'static str, &'static str), &'static [u8]>,
    expiry: Table<'t, (u64, &'static str, &'static str), ()>,
    meta: Table<'t, &'static str, u64>,
}

impl<'t> IdemTables<'t> {
    pub(crate) fn open(txn: &'t WriteTransaction) -> Result<Self> {
        Ok(Self {
            keys: txn.open_table(KEYS)?,
            expiry: txn.open_table(EXPIRY)?,
            meta: txn.open_table(META)?,
        })
    }

    /// Hands out the next fencing number (strictly greater than every earlier one).
    fn next_fence(&mut self) -> Result<u64> {
        let last = self.meta.get(LAST_FENCE)?.map_or(0, |v| v.value());
        let next = last
            .checked_add(1)
            .ok_or_else(|| Error::Corrupted("idempotency fencing numbers ran out".into()))?;
        self.meta.insert(LAST_FENCE, next)?;
        Ok(next)
    }

    fn load(&self, tenant: &str, key: &str) -> Result<Option<KeyRecordV1>> {
        match self.keys.get((tenant, key))? {
            Some(v) => Ok(Some(codec::decode(v.value())?)),
            None => Ok(None),
        }
    }

    fn store(&mut self, tenant: &str, key: &str, rec: &KeyRecordV1) -> Result<()> {
        self.keys
            .insert((tenant, key), codec::encode(rec)?.as_slice())?;
        Ok(())
    }

    fn remove(&mut self, tenant: &str, key: &str, rec: &KeyRecordV1) -> Result<()> {
        self.keys.remove((tenant, key))?;
        self.expiry.remove((rec.expires, tenant, key))?;
        Ok(())
    }

    /// `begin` in this transaction; `fp` is the request's fingerprint.
    pub(crate) fn begin(
        &mut self,
        now: Timestamp,
        ttl: Duration,
        tenant: &str,
        key: &str,
        fp: [u8; 32],
        lease: Duration,
    ) -> Result<Begin> {
        check_ids(tenant, key)?;
        check_lease(lease)?;
        self.purge(now, PURGE_IN_PASSING)?;
        let lease_until = now.saturating_add(micros(lease));
        let mut rec = match self.load(tenant, key)? {
            Some(rec) if now < rec.expires => match settled(rec, &fp, now) {
                Ok(answer) => return Ok(answer),
                Err(rec) => *rec,
            },
            expired => {
                // Absent or expired: start afresh.
                if let Some(old) = expired {
                    self.remove(tenant, key, &old)?;
                }
                let rec = KeyRecordV1 {
                    fingerprint: fp,
                    state: IN_PROGRESS,
                    fence: self.next_fence()?,
                    lease_until,
                    created: now,
                    expires: now.saturating_add(micros(ttl)),
                    status: None,
                    body: Vec::new(),
                    recovery: None,
                };
                self.store(tenant, key, &rec)?;
                self.expiry.insert((rec.expires, tenant, key), ())?;
                return Ok(Begin::Started(IdemToken {
                    tenant: tenant.to_owned(),
                    key: key.to_owned(),
                    fence: rec.fence,
                    recovery: None,
                }));
            }
        };
        // The lease ran out: take over, fencing the old holder off.
        rec.fence = self.next_fence()?;
        rec.lease_until = lease_until;
        self.store(tenant, key, &rec)?;
        Ok(Begin::Started(IdemToken {
            tenant: tenant.to_owned(),
            key: key.to_owned(),
            fence: rec.fence,
            recovery: rec.recovery,
        }))
    }

    /// Loads the record a token refers to, failing with `Fenced` unless it still holds it.
    fn held(&self, now: Timestamp, token: &IdemToken) -> Result<KeyRecordV1> {
        check_ids(&token.tenant, &token.key)?;
        let rec = self
            .load(&token.tenant, &token.key)?
            .filter(|r| now < r.expires)
            .ok_or_else(|| {
                Error::Fenced(format!("key {:?} is gone (expired or released)", token.key))
            })?;
        if rec.state != IN_PROGRESS || rec.fence != token.fence {
            return Err(Error::Fenced(format!(
                "key {:?} is held by fence {} (state {}), not {}",
                token.key, rec.fence, rec.state, token.fence
            )));
        }
        Ok(rec)
    }

    pub(crate) fn finish(
        &mut self,
        now: Timestamp,
        token: &IdemToken,
        status: Option<u16>,
        body: &[u8],
        failed: bool,
    ) -> Result<()> {
        if body.len() > MAX_RESPONSE {
            return Err(Error::TooLong {
                field: "response",
                len: body.len(),
                max: MAX_RESPONSE,
            });
        }
        let mut rec = self.held(now, token)?;
        rec.state = if failed { FAILED } else { COMPLETED };
        rec.status = status;
        rec.body = body.to_vec();
        rec.recovery = None;
        self.store(&token.tenant, &token.key, &rec)
    }

    pub(crate) fn release(&mut self, now: Timestamp, token: &IdemToken) -> Result<()> {
        let rec = self.held(now, token)?;
        self.remove(&token.tenant, &token.key, &rec)
    }

    pub(crate) fn renew(
        &mut self,
        now: Timestamp,
        token: &IdemToken,
        lease: Duration,
    ) -> Result<()> {
        check_lease(lease)?;
        let mut rec = self.held(now, token)?;
        rec.lease_until = now.saturating_add(micros(lease));
        self.store(&token.tenant, &token.key, &rec)
    }

    pub(crate) fn abandon(&mut self, now: Timestamp, token: &IdemToken) -> Result<()> {
        let mut rec = self.held(now, token)?;
        rec.lease_until = now;
        self.store(&token.tenant, &token.key, &rec)
    }

    pub(crate) fn save_recovery(
        &mut self,
        now: Timestamp,
        token: &IdemToken,
        name: &str,
        bytes: &[u8],
    ) -> Result<()> {
        if name.len() + bytes.len() > MAX_RECOVERY {
            return Err(Error::TooLong {
                field: "recovery point",
                len: name.len() + bytes.len(),
                max: MAX_RECOVERY,
            });
        }
        let mut rec = self.held(now, token)?;
        rec.recovery = Some((name.to_owned(), bytes.to_vec()));
        self.store(&token.tenant, &token.key, &rec)
    }

    /// Deletes up to `limit` keys whose expiry is at or before `now`; returns how many.
    pub(crate) fn purge(&mut self, now: Timestamp, limit: usize) -> Result<usize> {
        let mut due: Vec<(u64, String, String)> = Vec::new();
        for row in self.expiry.range::<(u64, &str, &str)>(..)? {
            let (k, _) = row?;
            let (exp, t, k) = k.value();
            if exp > now || due.len() >= limit {
                break;
            }
            due.push((exp, t.to_owned(), k.to_owned()));
        }
        for (exp, t, k) in &due {
            self.expiry.remove((*exp, t.as_str(), k.as_str()))?;
            self.keys.remove((t.as_str(), k.as_str()))?;
        }
        Ok(due.len())
    }
}

/// The idempotency keys of a [`Store`]: `store.idempotency()`.
#[derive(Debug, Clone, Copy)]
pub struct Idempotency<'s> {
    store: &'s Store,
}

impl<'s> Idempotency<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Claims (tenant, key) for the request whose fingerprint input is `request` (see
    /// the module docs for what to include), with a lease of `lease`.
    pub fn begin(
        &self,
        tenant: &str,
        key: &str,
        request: &[u8],
        lease: Duration,
        durability: Durability,
    ) -> Result<Begin> {
        check_ids(tenant, key)?;
        check_lease(lease)?;
        let fp = fingerprint(request);
        // Replays, mismatches and live leases are answered from a read snapshot: no write,
        // no wait behind the group commit. Only a start goes through the write path,
        // which decides again under the write lock.
        if let Some(rec) = self.load_live(tenant, key)? {
            if let Ok(answer) = settled(rec, &fp, self.store.clock_now()) {
                return Ok(answer);
            }
        }
        let (t, k) = (tenant.to_owned(), key.to_owned());
        self.store.write(durability, move |tx| {
            let (now, ttl) = (tx.now(), tx.idem_ttl());
            tx.idem()?.begin(now, ttl, &t, &k, fp, lease)
        })
    }

    /// The record of (tenant, key) in a read snapshot, unless absent or expired.
    fn load_live(&self, tenant: &str, key: &str) -> Result<Option<KeyRecordV1>> {
        let read = self.store.begin_read()?;
        let t = read.open_table(KEYS)?;
        let Some(v) = t.get((tenant, key))? else {
            return Ok(None);
        };
        let rec: KeyRecordV1 = codec::decode(v.value())?;
        Ok((self.store.clock_now() < rec.expires).then_some(rec))
    }

    /// Caches `body` (and `status`) as the response, durably. A holder whose lease ran out
    /// may still complete as long as nobody took the key over; once someone did, this
    /// fails with [`Error::Fenced`] and changes nothing. To commit the response with the
    /// app's state change and audit entry, use [`WriteTx::idem_complete`] in one
    /// [`Store::write`] instead.
    pub fn complete(&self, token: &IdemToken, status: Option<u16>, body: &[u8]) -> Result<()> {
        let (t, b) = (token.clone(), body.to_vec());
        self.store.write(Durability::Durable, move |tx| {
            tx.idem_complete(&t, status, &b)
        })
    }

    /// Caches a terminal failure: retries replay it.
    pub fn fail(&self, token: &IdemToken, status: Option<u16>, body: &[u8]) -> Result<()> {
        let (t, b) = (token.clone(), body.to_vec());
        self.store
            .write(Durability::Durable, move |tx| tx.idem_fail(&t, status, &b))
    }

    /// Frees the key so a retry starts afresh (for retryable failures).
    pub fn release(&self, token: &IdemToken) -> Result<()> {
        let t = token.clone();
        self.store
            .write(Durability::Durable, move |tx| tx.idem_release(&t))
    }

    /// Ends the lease now but keeps the key, its fingerprint and its recovery point: the
    /// next `begin` takes over at once (with the recovery point) instead of waiting for the
    /// lease to run out. For a holder that must stop after a side effect it cannot undo
    /// (a card was charged), where `release` would forget the recovery point.
    pub fn abandon(&self, token: &IdemToken) -> Result<()> {
        let t = token.clone();
        self.store
            .write(Durability::Durable, move |tx| tx.idem_abandon(&t))
    }

    /// Extends the lease to `lease` from now.
    pub fn renew(&self, token: &IdemToken, lease: Duration) -> Result<()> {
        let t = token.clone();
        self.store
            .write(Durability::Durable, move |tx| tx.idem_renew(&t, lease))
    }

    /// Saves a recovery point between steps of multi-step work; a holder that takes over
    /// after a crash gets it in its token.
    pub fn save_recovery(&self, token: &IdemToken, name: &str, bytes: &[u8]) -> Result<()> {
        let (t, n, b) = (token.clone(), name.to_owned(), bytes.to_vec());
        self.store.write(Durability::Durable, move |tx| {
            tx.idem_save_recovery(&t, &n, &b)
        })
    }

    /// Deletes up to `limit` expired keys; returns how many.
    pub fn purge_expired(&self, limit: usize) -> Result<usize> {
        self.store
            .write(Durability::Durable, move |tx| tx.idem_purge(limit))
    }

    /// A key's state, or `None` if absent or expired.
    pub fn get(&self, tenant: &str, key: &str) -> Result<Option<KeyInfo>> {
        check_ids(tenant, key)?;
        let Some(rec) = self.load_live(tenant, key)? else {
            return Ok(None);
        };
        Ok(Some(KeyInfo {
            state: match rec.state {
                COMPLETED => KeyState::Completed,
                FAILED => KeyState::Failed,
                _ => KeyState::InProgress,
            },
            fence: rec.fence,
            created: rec.created,
            expires: rec.expires,
            lease_until: rec.lease_until,
        }))
    }
}

impl WriteTx<'_> {
    /// [`Idempotency::begin`] inside a multi-area write.
    pub fn idem_begin(
        &mut self,
        tenant: &str,
        key: &str,
        request: &[u8],
        lease: Duration,
    ) -> Result<Begin> {
        let (now, ttl) = (self.now(), self.idem_ttl());
        self.idem()?
            .begin(now, ttl, tenant, key, fingerprint(request), lease)
    }

    /// Completes `token` with a cached response, atomically with everything else in this
    /// write. Fails with [`Error::Fenced`] if the token's holder was fenced off.
    pub fn idem_complete(
        &mut self,
        token: &IdemToken,
        status: Option<u16>,
        body: &[u8],
    ) -> Result<()> {
        let now = self.now();
        self.idem()?.finish(now, token, status, body, false)
    }

    /// Caches a terminal failure for `token`.
    pub fn idem_fail(&mut self, token: &IdemToken, status: Option<u16>, body: &[u8]) -> Result<()> {
        let now = self.now();
        self.idem()?.finish(now, token, status, body, true)
    }

    /// Frees `token`'s key.
    pub fn idem_release(&mut self, token: &IdemToken) -> Result<()> {
        let now = self.now();
        self.idem()?.release(now, token)
    }

    /// Ends `token`'s lease now, keeping the key and its recovery point.
    pub fn idem_abandon(&mut self, token: &IdemToken) -> Result<()> {
        let now = self.now();
        self.idem()?.abandon(now, token)
    }

    /// Renews `token`'s lease.
    pub fn idem_renew(&mut self, token: &IdemToken, lease: Duration) -> Result<()> {
        let now = self.now();
        self.idem()?.renew(now, token, lease)
    }

    /// Saves a recovery point on `token`'s key.
    pub fn idem_save_recovery(
        &mut self,
        token: &IdemToken,
        name: &str,
        bytes: &[u8],
    ) -> Result<()> {
        let now = self.now();
        self.idem()?.save_recovery(now, token, name, bytes)
    }

    /// Purges up to `limit` expired keys.
    pub fn idem_purge(&mut self, limit: usize) -> Result<usize> {
        let now = self.now();
        self.idem()?.purge(now, limit)
    }
}
