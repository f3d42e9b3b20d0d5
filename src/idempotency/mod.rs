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
//! - `begin` must be seen at once by concurrent duplicates (exactly one starts), but it
//!   need not survive a crash: if the process dies, the work it started dies with it
//!   (nothing of it can have committed, because the app's state change commits together
//!   with the completion), and a retry should simply start afresh. So a begun key lives
//!   in memory (see `flights.rs`; one store file is open in one process at a time):
//!   `begin` costs no write at all, and a request pays a single durable commit.
//! - `complete` / `fail` must be durable before the response leaves: a response that was
//!   sent but whose key is lost would let a retry do the work twice. Commit the app's
//!   state change, its audit entry and the completion in one `Store::write` with
//!   `Durability::Durable` ([`WriteTx::idem_complete`](crate::WriteTx::idem_complete)).
//! - A recovery point (`save_recovery`) is durable, so that the holder that takes over
//!   after a crash, or after the store was reopened, resumes from it.
//!
//! Fencing: each `Started` carries a fencing number, unique for the life of the file.
//! When a lease runs out (the holder crashed or stalled) the next `begin` takes over
//! with a higher number, and a `complete`, `fail`, `release`, `renew`, `abandon` or
//! `save_recovery` from the old holder fails with [`Error::Fenced`] and changes nothing.
//! A key left in progress by an earlier open of the store (its holder is gone) is taken
//! over by the next `begin` at once; tokens from before a reopen are fenced off.
//!
//! Expiry: a key behaves as absent from its expiry time on (creation + TTL, default
//! 24 h). Expired keys are purged in bounded batches: up to 8 by every completion, and
//! on demand with [`Idempotency::purge_expired`].

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

mod flights;
mod snapshot;
pub(crate) mod tables;

pub(crate) use flights::Flights;
pub(crate) use tables::{bump_epoch, IdemTables};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::Store;
use crate::tx::WriteTx;
use tables::{COMPLETED, FAILED, IN_PROGRESS};

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
/// Expired records each completion purges in passing.
const PURGE_IN_PASSING: usize = 8;

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

/// The idempotency keys of a [`Store`]: `store.idempotency()`.
#[derive(Debug, Clone, Copy)]
pub struct Idempotency<'s> {
    store: &'s Store,
}

impl<'s> Idempotency<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Claims (tenant, key) for the request whose fingerprint input is `request` (see the
    /// module docs for what to include), with a lease of `lease` (not zero;
    /// [`DEFAULT_LEASE`] when in doubt). Writes nothing: see the module docs.
    pub fn begin(&self, tenant: &str, key: &str, request: &[u8], lease: Duration) -> Result<Begin> {
        let r = (|| {
            check_ids(tenant, key)?;
            check_lease(lease)?;
            let fp = fingerprint(request);
            let now = self.store.clock_now();
            // A completed key answers from a read snapshot without the lock: its record is
            // final until it expires.
            let flights = self.store.flights()?;
            let db = &self.store.inner.db;
            let seen = flights.snapshot.get(db)?;
            let found = match tables::load_live(&*seen, tenant, key, now)? {
                Some(rec) => match flights::settled(rec, &fp) {
                    Ok(answer) => return Ok(answer),
                    Err(rec) => Some(rec),
                },
                None => None,
            };
            let mut inner = flights.lock();
            // Read again under the lock: a completion that committed since the snapshot
            // above has removed its flight, and must be seen here. While the snapshot is
            // still the current one (no commit since), the answer is the one read above.
            flights::begin(
                &mut inner,
                now,
                flights.ttl(),
                tenant,
                key,
                fp,
                lease,
                || {
                    let now_seen = flights.snapshot.get(db)?;
                    if Arc::ptr_eq(&seen, &now_seen) {
                        return Ok(found.map(|rec| *rec));
                    }
                    tables::load_live(&*now_seen, tenant, key, now)
                },
            )
        })();
        let outcome = match &r {
            Ok(Begin::Started(_)) => "started",
            Ok(Begin::Replay(_)) => "replay",
            Ok(Begin::InProgress { .. }) => "in_progress",
            Ok(Begin::Mismatch) => "mismatch",
            Err(_) => crate::metrics::outcome(&r),
        };
        crate::metrics::count_as(self.store, "idempotency", "begin", outcome);
        r
    }

    /// Caches `body` (and `status`) as the response, durably. A holder whose lease ran out
    /// may still complete as long as nobody took the key over; once someone did, this
    /// fails with [`Error::Fenced`] and changes nothing. To commit the response with the
    /// app's state change and audit entry, use [`WriteTx::idem_complete`] in one
    /// [`Store::write`] instead.
    pub fn complete(&self, token: &IdemToken, status: Option<u16>, body: &[u8]) -> Result<()> {
        crate::metrics::count(self.store, "idempotency", "complete", {
            let (t, b) = (token.clone(), body.to_vec());
            self.store.write(Durability::Durable, move |tx| {
                tx.idem_complete(&t, status, &b)
            })
        })
    }

    /// Caches a terminal failure, durably: retries replay it.
    pub fn fail(&self, token: &IdemToken, status: Option<u16>, body: &[u8]) -> Result<()> {
        crate::metrics::count(self.store, "idempotency", "fail", {
            let (t, b) = (token.clone(), body.to_vec());
            self.store
                .write(Durability::Durable, move |tx| tx.idem_fail(&t, status, &b))
        })
    }

    /// Frees the key so a retry starts afresh (for retryable failures), forgetting any
    /// recovery point.
    pub fn release(&self, token: &IdemToken) -> Result<()> {
        crate::metrics::count(self.store, "idempotency", "release", {
            let t = token.clone();
            self.store
                .write(Durability::Durable, move |tx| tx.idem_release(&t))
        })
    }

    /// Extends the lease to `lease` (not zero) from now.
    pub fn renew(&self, token: &IdemToken, lease: Duration) -> Result<()> {
        check_lease(lease)?;
        let now = self.store.clock_now();
        let flights = self.store.flights()?;
        let mut inner = flights.lock();
        inner.held(token, now)?.lease_until = now.saturating_add(micros(lease));
        Ok(())
    }

    /// Ends the lease now but keeps the key, its fingerprint and its recovery point: the
    /// next `begin` takes over at once (with the recovery point) instead of waiting for the
    /// lease to run out. For a holder that must stop after a side effect it cannot undo
    /// (a card was charged), where `release` would forget the recovery point.
    pub fn abandon(&self, token: &IdemToken) -> Result<()> {
        let now = self.store.clock_now();
        let flights = self.store.flights()?;
        let mut inner = flights.lock();
        inner.held(token, now)?.lease_until = now;
        Ok(())
    }

    /// Saves a recovery point (name and bytes, together at most 1 MiB) between steps of
    /// multi-step work, durably; a holder that takes over (after a crash too) gets it in
    /// its token.
    pub fn save_recovery(&self, token: &IdemToken, name: &str, bytes: &[u8]) -> Result<()> {
        let (t, n, b) = (token.clone(), name.to_owned(), bytes.to_vec());
        self.store.write(Durability::Durable, move |tx| {
            tx.idem_save_recovery(&t, &n, &b)
        })
    }

    /// Whether a record has expired (a read: maintenance skips the write when none has).
    pub(crate) fn purge_due(&self) -> Result<bool> {
        let now = self.store.clock_now();
        let read = self.store.begin_read()?;
        let t = match read.open_table(tables::EXPIRY) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let first = redb::ReadableTable::first(&t)?;
        Ok(first.is_some_and(|(k, _)| k.value().0 <= now))
    }

    /// Deletes up to `limit` expired records; returns how many.
    pub fn purge_expired(&self, limit: usize) -> Result<usize> {
        self.store
            .write(Durability::Durable, move |tx| tx.idem_purge(limit))
    }

    /// A key's state, or `None` if absent or expired.
    pub fn get(&self, tenant: &str, key: &str) -> Result<Option<KeyInfo>> {
        check_ids(tenant, key)?;
        let now = self.store.clock_now();
        {
            let inner = self.store.flights()?.lock();
            let id = (tenant.to_owned(), key.to_owned());
            if let Some(f) = inner.map.get(&id).filter(|f| now < f.expires) {
                return Ok(Some(KeyInfo {
                    state: KeyState::InProgress,
                    fence: f.fence,
                    created: f.created,
                    expires: f.expires,
                    lease_until: f.lease_until,
                }));
            }
        }
        let keys = self.store.flights()?.snapshot.get(&self.store.inner.db)?;
        let Some(rec) = tables::load_live(&*keys, tenant, key, now)? else {
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
    /// [`Idempotency::begin`] inside a multi-area write: if the write does not commit,
    /// the key is not begun.
    pub fn idem_begin(
        &mut self,
        tenant: &str,
        key: &str,
        request: &[u8],
        lease: Duration,
    ) -> Result<Begin> {
        check_ids(tenant, key)?;
        check_lease(lease)?;
        let fp = fingerprint(request);
        let now = self.now();
        let flights = self.flights()?;
        let id = (tenant.to_owned(), key.to_owned());
        let (answer, before) = {
            let tables = self.idem()?;
            let mut inner = flights.lock();
            // What a Started replaces (a lease that ran out), to put back if this write
            // does not commit: the old holder then still holds it.
            let before = inner.map.get(&id).cloned();
            let answer = flights::begin(
                &mut inner,
                now,
                flights.ttl(),
                tenant,
                key,
                fp,
                lease,
                || tables.load_live(tenant, key, now),
            )?;
            (answer, before)
        };
        if let Begin::Started(t) = &answer {
            let fence = t.fence;
            let flights = flights.clone();
            self.after(Box::new(move |committed| {
                if committed {
                    return;
                }
                let mut inner = flights.lock();
                if inner.map.get(&id).is_some_and(|f| f.fence == fence) {
                    match before {
                        Some(f) => inner.map.insert(id, f),
                        None => inner.map.remove(&id),
                    };
                }
            }));
        }
        Ok(answer)
    }

    /// Completes `token` with a cached response, atomically with everything else in this
    /// write. Fails with [`Error::Fenced`] if the token's holder was fenced off.
    pub fn idem_complete(
        &mut self,
        token: &IdemToken,
        status: Option<u16>,
        body: &[u8],
    ) -> Result<()> {
        self.idem_finish(token, status, body, COMPLETED)
    }

    /// Caches a terminal failure for `token`, atomically with this write.
    pub fn idem_fail(&mut self, token: &IdemToken, status: Option<u16>, body: &[u8]) -> Result<()> {
        self.idem_finish(token, status, body, FAILED)
    }

    fn idem_finish(
        &mut self,
        token: &IdemToken,
        status: Option<u16>,
        body: &[u8],
        state: u8,
    ) -> Result<()> {
        if body.len() > MAX_RESPONSE {
            return Err(Error::TooLong {
                field: "response",
                len: body.len(),
                max: MAX_RESPONSE,
            });
        }
        check_ids(&token.tenant, &token.key)?;
        let now = self.now();
        let rec = self.holder_write(
            token,
            true,
            |f| f.record(state, status, body.to_vec(), None),
            |_| {},
        )?;
        let purge_from = &self.flights()?.purge_from;
        let tables = self.idem()?;
        if now >= purge_from.load(Relaxed) {
            let (_, earliest_left) = tables.purge(now, PURGE_IN_PASSING)?;
            purge_from.store(earliest_left, Relaxed);
        }
        purge_from.fetch_min(rec.expires, Relaxed);
        tables.put(&token.tenant, &token.key, &rec)
    }

    /// Frees `token`'s key, atomically with this write.
    pub fn idem_release(&mut self, token: &IdemToken) -> Result<()> {
        check_ids(&token.tenant, &token.key)?;
        self.holder_write(token, true, |_| (), |_| {})?;
        self.idem()?.remove(&token.tenant, &token.key)
    }

    /// Saves a recovery point on `token`'s key, atomically with this write.
    pub fn idem_save_recovery(
        &mut self,
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
        check_ids(&token.tenant, &token.key)?;
        let point = (name.to_owned(), bytes.to_vec());
        let saved = point.clone();
        let rec = self.holder_write(
            token,
            false,
            |f| f.record(IN_PROGRESS, None, Vec::new(), Some(point)),
            move |f| f.recovery = Some(saved),
        )?;
        self.flights()?.purge_from.fetch_min(rec.expires, Relaxed);
        self.idem()?.put(&token.tenant, &token.key, &rec)
    }

    /// Purges up to `limit` expired records (and forgets expired keys in flight).
    pub fn idem_purge(&mut self, limit: usize) -> Result<usize> {
        let now = self.now();
        self.flights()?
            .lock()
            .map
            .retain(|_, f| now < f.expires || f.busy() > 0);
        let (n, earliest_left) = self.idem()?.purge(now, limit)?;
        self.flights()?.purge_from.store(earliest_left, Relaxed);
        Ok(n)
    }

    /// Checks that `token` holds its key, marks the holder's write as committing (so no
    /// one takes the key over before it lands), and arranges for the mark to end with the
    /// transaction, applying `on_commit` to the flight if it commits. Returns what `make`
    /// builds from the flight.
    fn holder_write<T>(
        &mut self,
        token: &IdemToken,
        finishing: bool,
        make: impl FnOnce(&flights::Flight) -> T,
        on_commit: impl FnOnce(&mut flights::Flight) + 'static,
    ) -> Result<T> {
        let now = self.now();
        let flights = self.flights()?;
        let out = {
            let mut inner = flights.lock();
            let f = inner.held(token, now)?;
            f.start_write(finishing);
            make(f)
        };
        let (tenant, key, fence) = (token.tenant.clone(), token.key.clone(), token.fence);
        let flights = flights.clone();
        self.after(Box::new(move |committed| {
            let mut inner = flights.lock();
            flights::end_write(
                &mut inner, &tenant, &key, fence, finishing, committed, on_commit,
            );
        }));
        Ok(out)
    }
}

impl Store {
    /// Idempotency keys.
    pub fn idempotency(&self) -> Idempotency<'_> {
        Idempotency::new(self)
    }

    pub(crate) fn flights(&self) -> Result<&std::sync::Arc<Flights>> {
        self.shared::<std::sync::Arc<Flights>>()
    }
}

/// The idempotency keys' hooks: the keys in flight live in memory for the open, under an
/// epoch every open raises.
pub(crate) struct IdempotencyArea;

impl crate::engine::area::Area for IdempotencyArea {
    fn begin_open(&self, txn: &redb::WriteTransaction) -> Result<()> {
        // Durable with the open's first commit, before any token of this open is handed
        // out.
        bump_epoch(txn).map(drop)
    }

    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        let epoch = tables::current_epoch(&redb::ReadableDatabase::begin_read(ctx.db)?)?;
        let flights = std::sync::Arc::new(Flights::new(ctx.settings.idempotency_ttl, epoch));
        ctx.shared.insert(std::sync::Arc::new(flights));
        Ok(())
    }

    fn end_batch(&self, shared: &crate::engine::area::Shared) {
        // Readers' shared snapshot of the keys is stale once a batch ends.
        if let Ok(flights) = shared.get::<std::sync::Arc<Flights>>() {
            flights.snapshot.invalidate();
        }
    }

    fn apply_settings(&self, tx: &mut WriteTx<'_>, s: &crate::settings::Settings) -> Result<u64> {
        let flights = tx.flights()?.clone();
        let ttl = s.idempotency_ttl;
        tx.after(Box::new(move |committed| {
            if committed {
                flights.set_ttl(ttl);
            }
        }));
        Ok(0)
    }
}

/// The idempotency tables a transaction opened.
struct IdemPart;

impl crate::engine::area::Family for IdemPart {
    type Of<'a> = IdemTables<'a>;
}

impl<'a> WriteTx<'a> {
    pub(crate) fn idem(&mut self) -> Result<&mut IdemTables<'a>> {
        self.part::<IdemPart>(IdemTables::open)
    }

    pub(crate) fn flights(&self) -> Result<&'a std::sync::Arc<Flights>> {
        self.shared::<std::sync::Arc<Flights>>()
    }
}
