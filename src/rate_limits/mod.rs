//! Rate limits: "60 requests a minute per IP", checked in memory in tens of nanoseconds,
//! kept across restarts.
//!
//! A limit is defined under a (tenant, name) with a [`Limit`] (a count per period and a
//! burst) and stored in the store, audited (`rate_limit.define`, `rate_limit.remove`).
//! Checks run the GCRA (one timestamp per key, as `governor` and redis-cell do) against
//! a key such as an IP or a user id, and answer as redis-cell does: allowed or denied,
//! the remaining burst, when to retry, when the key is full again ([`RateDecision`]).
//!
//! Durability: checks change memory only. A flusher thread writes the keys changed since
//! its last run every [`Options::rate_limit_flush`](crate::Options::rate_limit_flush)
//! (1 s by default) as one durable write, and a clean close writes the rest. **A crash
//! forgets at most the consumption of the last flush interval**: keys come back at open
//! as of the last flush.
//!
//! Memory is bounded: each limit holds at most
//! [`Options::rate_limit_max_keys`](crate::Options::rate_limit_max_keys) keys (1,000,000
//! by default). A new key past that first removes idle keys (a key whose allowance is
//! full again is exactly a key never seen, so this loses nothing), and only when none is
//! idle evicts the keys closest to idle, counted in [`RateLimitStats::evicted_active`]
//! (such a key gets its allowance back early; it is never denied wrongly).
//!
//! ```
//! use std::time::Duration;
//! use hardstore::rate_limits::Limit;
//! use hardstore::{Options, Store};
//! let store = Store::in_memory(Options::new())?;
//! store.rate_limits().define("acme", "login", Limit::per_minute(60))?;
//! let d = store.rate_limits().check("acme", "login", b"203.0.113.9", 1)?;
//! assert!(d.allowed);
//! assert_eq!(d.remaining, 59);
//! # Ok::<(), hardstore::Error>(())
//! ```

mod gcra;
mod keys;
pub(crate) mod tables;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};
use redb::ReadableTable;

use crate::audit::AuditEvent;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::{Inner, Store};
use gcra::Gcra;
use keys::Keys;
use tables::StoredLimit;

/// Field limits, in bytes.
pub mod limits {
    /// Tenant and limit name: 1..=128 bytes each, no NUL.
    pub const NAME: usize = 128;
    /// A key (an IP, a user id): 1..=256 bytes.
    pub const KEY: usize = 256;
}

/// What a limit allows: `count` per `period` sustained, and at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests (units of cost) per period, at least 1.
    pub count: u64,
    /// The period, at least 1 µs and at most 366 days.
    pub period: Duration,
    /// The most cost allowed at once, at least 1 (`count` is the usual choice).
    pub burst: u64,
}

impl Limit {
    /// `count` per `period`, with a burst of `count`.
    pub fn new(count: u64, period: Duration) -> Limit {
        Limit {
            count,
            period,
            burst: count,
        }
    }

    /// `count` a second.
    pub fn per_second(count: u64) -> Limit {
        Limit::new(count, Duration::from_secs(1))
    }

    /// `count` a minute.
    pub fn per_minute(count: u64) -> Limit {
        Limit::new(count, Duration::from_secs(60))
    }

    /// `count` an hour.
    pub fn per_hour(count: u64) -> Limit {
        Limit::new(count, Duration::from_secs(3600))
    }

    /// The same rate with another burst.
    pub fn burst(mut self, burst: u64) -> Limit {
        self.burst = burst;
        self
    }

    fn validate(&self) -> Result<Gcra> {
        let period_ns = u64::try_from(self.period.as_nanos()).unwrap_or(u64::MAX);
        if self.count == 0 || self.burst == 0 {
            return Err(Error::InvalidArgument(
                "a limit's count and burst must be at least 1".into(),
            ));
        }
        if self.period < Duration::from_micros(1) || self.period > Duration::from_secs(366 * 86_400)
        {
            return Err(Error::InvalidArgument(format!(
                "a limit's period of {:?} is outside 1 µs ..= 366 days",
                self.period
            )));
        }
        if self.count > period_ns {
            return Err(Error::InvalidArgument(format!(
                "{} per {:?} is more than one a nanosecond",
                self.count, self.period
            )));
        }
        Ok(Gcra {
            interval: period_ns / self.count,
            burst: self.burst,
        })
    }

    fn stored(&self) -> StoredLimit {
        StoredLimit {
            count: self.count,
            period_ns: u64::try_from(self.period.as_nanos()).unwrap_or(u64::MAX),
            burst: self.burst,
        }
    }

    fn from_stored(s: StoredLimit) -> Limit {
        Limit {
            count: s.count,
            period: Duration::from_nanos(s.period_ns),
            burst: s.burst,
        }
    }
}

/// A check's answer (redis-cell's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request conforms; a denied request consumed nothing.
    pub allowed: bool,
    /// The limit's burst (the most cost allowed at once).
    pub limit: u64,
    /// Cost that would still be allowed right now.
    pub remaining: u64,
    /// Denied: how long until the same cost would be allowed (`None`: never, the cost
    /// exceeds the burst). Allowed: `None`.
    pub retry_after: Option<Duration>,
    /// How long until the key's allowance is full again.
    pub reset_after: Duration,
}

/// A defined limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitInfo {
    /// Its tenant.
    pub tenant: String,
    /// Its name.
    pub name: String,
    /// What it allows.
    pub limit: Limit,
}

/// One limit's keys in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimitStats {
    /// Keys held (keys whose allowance is not full).
    pub keys: u64,
    /// Idle keys removed to make room (no information lost).
    pub evicted_idle: u64,
    /// Keys in use evicted because every key was in use (each got its allowance back
    /// early).
    pub evicted_active: u64,
}

/// One defined limit in memory.
pub(crate) struct Entry {
    limit: RwLock<Limit>,
    keys: Keys,
}

/// The limits of one open (a shared object).
pub(crate) struct Shared {
    limits: RwLock<BTreeMap<(String, String), Arc<Entry>>>,
    max_keys: usize,
    clock: Arc<dyn Clock>,
    flusher: Flusher,
    /// Set at the final sync of a close: its commit writes every dirty key.
    closing: AtomicBool,
    last_error: Mutex<Option<String>>,
}

struct Flusher {
    every: Duration,
    stop: Mutex<bool>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
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
    if v.contains('\0') {
        return Err(Error::InvalidArgument(format!("{field} holds a NUL byte")));
    }
    Ok(())
}

fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::InvalidArgument(
            "a rate-limit key must not be empty".into(),
        ));
    }
    if key.len() > limits::KEY {
        return Err(Error::TooLong {
            field: "key",
            len: key.len(),
            max: limits::KEY,
        });
    }
    Ok(())
}

fn now_ns(clock: &dyn Clock) -> u64 {
    clock.now().saturating_mul(1000)
}

fn decision(v: gcra::Verdict, burst: u64) -> RateDecision {
    RateDecision {
        allowed: v.allowed,
        limit: burst,
        remaining: v.remaining,
        retry_after: v.retry_after.map(Duration::from_nanos),
        reset_after: Duration::from_nanos(v.reset_after),
    }
}

/// A handle on one limit, for checks without the lookup by name (what a request path
/// keeps). It follows redefinitions; after the limit is removed its checks fail with
/// [`Error::NotFound`].
#[derive(Clone)]
pub struct Limiter {
    entry: Arc<Entry>,
    clock: Arc<dyn Clock>,
    what: Arc<str>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limit", &self.what)
            .finish()
    }
}

impl Limiter {
    /// Checks a request of `cost` for `key` now (see [`RateLimits::check`]).
    pub fn check(&self, key: &[u8], cost: u64) -> Result<RateDecision> {
        check_key(key)?;
        let now = now_ns(&*self.clock);
        match self.entry.keys.check(key, now, cost) {
            Some((v, burst)) => Ok(decision(v, burst)),
            None => Err(Error::NotFound(format!("rate limit {}", self.what))),
        }
    }
}

/// The rate limits of a [`Store`]: `store.rate_limits()`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits<'s> {
    store: &'s Store,
}

impl Store {
    /// The rate limits: GCRA checks in memory, limits and keys kept in the store.
    pub fn rate_limits(&self) -> RateLimits<'_> {
        RateLimits { store: self }
    }
}

impl<'s> RateLimits<'s> {
    fn shared(&self) -> Result<&'s Arc<Shared>> {
        self.store.shared::<Arc<Shared>>()
    }

    /// Defines (or redefines) the limit `name` of `tenant`, durably, with an audit entry.
    /// A redefinition keeps every key's state: a key's next check runs under the new
    /// rate.
    pub fn define(&self, tenant: &str, name: &str, limit: Limit) -> Result<()> {
        check_name("tenant", tenant)?;
        check_name("limit name", name)?;
        let gcra = limit.validate()?;
        let shared = self.shared()?.clone();
        let (t, n) = (tenant.to_owned(), name.to_owned());
        self.store.write(Durability::Durable, move |tx| {
            let rec = tables::encode(&limit.stored())?;
            tx.tracked(tables::LIMITS)?
                .insert((t.as_str(), n.as_str()), rec.as_slice())?;
            let ev = AuditEvent::new(t.clone(), "rate_limit.define")
                .resource(format!("rate_limit/{n}"))
                .detail("count", limit.count.to_string())
                .detail("period_ns", limit.stored().period_ns.to_string())
                .detail("burst", limit.burst.to_string());
            tx.audit_append(&ev)?;
            let (shared, t, n) = (shared.clone(), t.clone(), n.clone());
            tx.after(Box::new(move |committed| {
                if committed {
                    shared.install(t, n, limit, gcra);
                }
            }));
            Ok(())
        })?;
        start_flusher(self.shared()?, self.store)
    }

    /// Removes the limit `name` of `tenant` and its keys, durably, with an audit entry;
    /// returns how many stored keys it deleted. [`Error::NotFound`] when there is no
    /// such limit.
    pub fn remove(&self, tenant: &str, name: &str) -> Result<u64> {
        check_name("tenant", tenant)?;
        check_name("limit name", name)?;
        let shared = self.shared()?.clone();
        let (t, n) = (tenant.to_owned(), name.to_owned());
        self.store.write(Durability::Durable, move |tx| {
            if tx
                .tracked(tables::LIMITS)?
                .remove((t.as_str(), n.as_str()))?
                .is_none()
            {
                return Err(Error::NotFound(format!("rate limit {t}/{n}")));
            }
            let mut state = tx.tracked(tables::STATE)?;
            let mut keys: Vec<Vec<u8>> = Vec::new();
            for row in state.range((t.as_str(), n.as_str(), &[][..])..)? {
                let (k, _) = row?;
                let (kt, kn, key) = k.value();
                if kt != t || kn != n {
                    break;
                }
                keys.push(key.to_vec());
            }
            for k in &keys {
                state.remove((t.as_str(), n.as_str(), k.as_slice()))?;
            }
            drop(state);
            let deleted = keys.len() as u64;
            let ev = AuditEvent::new(t.clone(), "rate_limit.remove")
                .resource(format!("rate_limit/{n}"))
                .detail("keys_deleted", deleted.to_string());
            tx.audit_append(&ev)?;
            let (shared, t, n) = (shared.clone(), t.clone(), n.clone());
            tx.after(Box::new(move |committed| {
                if committed {
                    shared.uninstall(&t, &n);
                }
            }));
            Ok(deleted)
        })
    }

    /// The limit `name` of `tenant`, if defined.
    pub fn get(&self, tenant: &str, name: &str) -> Result<Option<Limit>> {
        check_name("tenant", tenant)?;
        check_name("limit name", name)?;
        Ok(self.shared()?.entry(tenant, name).map(|e| *e.limit.read()))
    }

    /// Every defined limit, in (tenant, name) order.
    pub fn list(&self) -> Result<Vec<RateLimitInfo>> {
        Ok(self
            .shared()?
            .limits
            .read()
            .iter()
            .map(|((t, n), e)| RateLimitInfo {
                tenant: t.clone(),
                name: n.clone(),
                limit: *e.limit.read(),
            })
            .collect())
    }

    /// Checks a request of `cost` (usually 1; 0 only reads) for `key` under the limit
    /// `name` of `tenant`, now. An allowed request consumes its cost; a denied one
    /// consumes nothing. [`Error::NotFound`] when the limit is not defined.
    pub fn check(&self, tenant: &str, name: &str, key: &[u8], cost: u64) -> Result<RateDecision> {
        self.limiter(tenant, name)?.check(key, cost)
    }

    /// A handle on the limit `name` of `tenant`, for checks without the lookup.
    pub fn limiter(&self, tenant: &str, name: &str) -> Result<Limiter> {
        check_name("tenant", tenant)?;
        check_name("limit name", name)?;
        let shared = self.shared()?;
        let entry = shared
            .entry(tenant, name)
            .ok_or_else(|| Error::NotFound(format!("rate limit {tenant}/{name}")))?;
        Ok(Limiter {
            entry,
            clock: shared.clock.clone(),
            what: format!("{tenant}/{name}").into(),
        })
    }

    /// The keys of limit `name` of `tenant` in memory, and what eviction did.
    pub fn stats(&self, tenant: &str, name: &str) -> Result<RateLimitStats> {
        check_name("tenant", tenant)?;
        check_name("limit name", name)?;
        let e = self
            .shared()?
            .entry(tenant, name)
            .ok_or_else(|| Error::NotFound(format!("rate limit {tenant}/{name}")))?;
        Ok(RateLimitStats {
            keys: e.keys.len(),
            evicted_idle: e.keys.evictions.idle.load(Relaxed),
            evicted_active: e.keys.evictions.active.load(Relaxed),
        })
    }

    /// Writes every key changed since the last flush now, durably; returns how many rows
    /// it wrote or deleted.
    pub fn flush(&self) -> Result<u64> {
        self.store.write(Durability::Durable, persist)
    }

    /// Whether checks changed keys that no flush has written yet.
    pub fn flush_pending(&self) -> bool {
        self.shared().is_ok_and(|s| s.any_dirty())
    }

    /// The flusher's last error, if its last flush failed.
    pub fn last_error(&self) -> Result<Option<String>> {
        Ok(self.shared()?.last_error.lock().clone())
    }
}

impl Shared {
    fn entry(&self, tenant: &str, name: &str) -> Option<Arc<Entry>> {
        // The map is small (limits, not keys); a read lock and a string compare per
        // lookup is what a `Limiter` handle saves.
        self.limits
            .read()
            .iter()
            .find(|((t, n), _)| t == tenant && n == name)
            .map(|(_, e)| e.clone())
    }

    fn install(&self, tenant: String, name: String, limit: Limit, gcra: Gcra) {
        let mut map = self.limits.write();
        match map.get(&(tenant.clone(), name.clone())) {
            Some(e) => {
                *e.limit.write() = limit;
                e.keys.set(gcra, false);
            }
            None => {
                map.insert(
                    (tenant, name),
                    Arc::new(Entry {
                        limit: RwLock::new(limit),
                        keys: Keys::new(gcra, self.max_keys),
                    }),
                );
            }
        }
    }

    fn uninstall(&self, tenant: &str, name: &str) {
        if let Some(e) = self
            .limits
            .write()
            .remove(&(tenant.to_owned(), name.to_owned()))
        {
            let gcra = e.keys.shards[0].lock().gcra;
            e.keys.set(gcra, true);
        }
    }

    fn any_dirty(&self) -> bool {
        self.limits.read().values().any(|e| {
            e.keys.shards.iter().any(|s| {
                let s = s.lock();
                s.any_dirty || !s.gone.is_empty()
            })
        })
    }

    fn stop_flusher(&self) {
        *self.flusher.stop.lock() = true;
        self.flusher.wake.notify_all();
        let t = self.flusher.thread.lock().take();
        if let Some(t) = t {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

fn flusher_run(shared: Weak<Shared>, store: Weak<Inner>) {
    loop {
        let Some(sh) = shared.upgrade() else { return };
        {
            let mut stop = sh.flusher.stop.lock();
            if !*stop {
                sh.flusher.wake.wait_for(&mut stop, sh.flusher.every);
            }
            if *stop {
                return;
            }
        }
        if !sh.any_dirty() {
            continue;
        }
        // A strong reference for one flush only: the store closes when its users drop it.
        let Some(inner) = store.upgrade() else { return };
        let store = Store { inner };
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.write(Durability::Durable, persist)
        }));
        *sh.last_error.lock() = match res {
            Ok(Ok(_)) => None,
            Ok(Err(Error::Closed)) => return,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("a rate-limit flush panicked".into()),
        };
        drop(store);
    }
}

/// Starts the flusher thread of this open, once.
fn start_flusher(shared: &Arc<Shared>, store: &Store) -> Result<()> {
    let mut t = shared.flusher.thread.lock();
    if t.is_some() || *shared.flusher.stop.lock() {
        return Ok(());
    }
    let (weak, inner) = (Arc::downgrade(shared), Arc::downgrade(&store.inner));
    *t = Some(
        std::thread::Builder::new()
            .name("hardstore-rate-limits".into())
            .spawn(move || flusher_run(weak, inner))?,
    );
    Ok(())
}

/// What a flush wrote for one limit: its keys written, its keys deleted (marked again if
/// the batch fails).
type Undo = (Arc<Entry>, Vec<Box<[u8]>>, Vec<Box<[u8]>>);

/// Writes every key changed since the last flush in `tx` and deletes the rows of keys no
/// longer held; a batch that fails marks them changed again. Returns the rows touched.
pub(crate) fn persist(tx: &mut crate::WriteTx<'_>) -> Result<u64> {
    let Ok(shared) = tx.shared::<Arc<Shared>>() else {
        return Ok(0);
    };
    let entries: Vec<((String, String), Arc<Entry>)> = shared
        .limits
        .read()
        .iter()
        .map(|(k, e)| (k.clone(), e.clone()))
        .collect();
    let mut touched = 0u64;
    let mut undo: Vec<Undo> = Vec::new();
    let mut state = tx.tracked(tables::STATE)?;
    for ((t, n), e) in &entries {
        let mut written = Vec::new();
        let mut deleted = Vec::new();
        for s in e.keys.shards.iter() {
            let (rows, gone) = {
                let mut s = s.lock();
                if !s.any_dirty && s.gone.is_empty() {
                    continue;
                }
                s.any_dirty = false;
                let mut rows = Vec::new();
                for (k, slot) in s.map.iter_mut().filter(|(_, v)| v.dirty) {
                    slot.dirty = false;
                    slot.stored = true;
                    rows.push((k.clone(), slot.tat));
                }
                (rows, std::mem::take(&mut s.gone))
            };
            // Deletes first: a key that went (idle, evicted) and came back since is in
            // both lists, and its new row must stay.
            for k in &gone {
                state.remove((t.as_str(), n.as_str(), &k[..]))?;
            }
            for (k, tat) in &rows {
                state.insert((t.as_str(), n.as_str(), &k[..]), *tat)?;
            }
            touched += (rows.len() + gone.len()) as u64;
            written.extend(rows.into_iter().map(|(k, _)| k));
            deleted.extend(gone);
        }
        if !written.is_empty() || !deleted.is_empty() {
            undo.push((e.clone(), written, deleted));
        }
    }
    drop(state);
    if !undo.is_empty() {
        tx.after(Box::new(move |committed| {
            if committed {
                return;
            }
            for (e, written, deleted) in undo {
                for k in written {
                    let mut s = e.keys.shard_of(&k).lock();
                    if let Some(slot) = s.map.get_mut(&k) {
                        slot.dirty = true;
                        s.any_dirty = true;
                    }
                }
                for k in deleted {
                    e.keys.shard_of(&k).lock().gone.push(k);
                }
            }
        }));
    }
    Ok(touched)
}

/// The commit observer: the close's final synced commit writes every dirty key.
pub(crate) fn close_observer(tx: &mut crate::WriteTx<'_>) -> Result<()> {
    let closing = tx
        .shared::<Arc<Shared>>()
        .is_ok_and(|s| s.closing.load(Relaxed));
    if closing && tx.commit_kind().1 {
        persist(tx)?;
    }
    Ok(())
}

/// Rate limits' hooks: load at open, the flusher while open, a last flush at close.
pub(crate) struct RateLimitsArea;

impl crate::engine::area::Area for RateLimitsArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        let read = redb::ReadableDatabase::begin_read(ctx.db)?;
        let shared = Shared {
            limits: RwLock::new(BTreeMap::new()),
            max_keys: ctx.opts.rate_limit_max_keys,
            clock: ctx.opts.clock.clone(),
            flusher: Flusher {
                every: ctx.opts.rate_limit_flush,
                stop: Mutex::new(false),
                wake: Condvar::new(),
                thread: Mutex::new(None),
            },
            closing: AtomicBool::new(false),
            last_error: Mutex::new(None),
        };
        for (t, n, s) in tables::read_limits(&read)? {
            let limit = Limit::from_stored(s);
            let gcra = limit
                .validate()
                .map_err(|e| Error::Corrupted(format!("rate limit {t}/{n}: {e}")))?;
            shared.install(t, n, limit, gcra);
        }
        let now = now_ns(&*ctx.opts.clock);
        {
            let map = shared.limits.read();
            tables::read_state(&read, |t, n, key, tat| {
                if let Some(e) = map.get(&(t.to_owned(), n.to_owned())) {
                    if tat > now {
                        e.keys.restore(key, tat);
                    } else {
                        // Idle since: a new key's state. The next flush deletes the row.
                        e.keys.shard_of(key).lock().gone.push(key.into());
                    }
                }
            })?;
        }
        ctx.shared.insert(Arc::new(Arc::new(shared)));
        Ok(())
    }

    fn after_open(&self, store: &Store) -> Result<()> {
        let shared = store.shared::<Arc<Shared>>()?;
        if !shared.limits.read().is_empty() {
            start_flusher(shared, store)?;
        }
        Ok(())
    }

    fn close(&self, shared: &crate::engine::area::Shared) {
        if let Ok(s) = shared.get::<Arc<Shared>>() {
            s.stop_flusher();
        }
    }

    fn pending_at_close(&self, shared: &crate::engine::area::Shared) -> bool {
        shared.get::<Arc<Shared>>().is_ok_and(|s| {
            s.closing.store(true, Relaxed);
            s.any_dirty()
        })
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop_flusher();
    }
}
