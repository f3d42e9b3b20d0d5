//! The in-memory side of idempotency keys: keys in flight (begun, not yet completed,
//! failed or released), with their holder's fence and lease.
//!
//! Why in memory: a `begin` must be seen at once by concurrent duplicates, but it need
//! not survive a crash (see the module docs of `idempotency`). One store file is open in
//! one process at a time, so every holder that can present a token lives in this process
//! and its lease can live here too: `begin` then costs no write at all, and a request
//! pays one durable commit (its completion) instead of two.
//!
//! Invariants:
//! - A flight is the authority on its key while it exists: the persisted record of an
//!   in-flight key (written by `save_recovery`) is never read for decisions.
//! - `busy > 0` while a write of the holder (completion, release, recovery point) is
//!   between its check and its commit: no one takes the key over meanwhile, so a late
//!   commit can never land on top of a new holder's work. `finished` marks a completion
//!   or release in that window, so the holder cannot finish twice.
//! - Fences are `epoch << 32 | n` with a fresh epoch per open: unique for the life of the
//!   file and increasing within an open.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

use super::snapshot::KeysSnapshot;
use super::tables::{KeyRecordV1, COMPLETED, FAILED, IN_PROGRESS};
use super::{Begin, CachedResponse, IdemToken};
use crate::clock::Timestamp;
use crate::error::{Error, Result};

/// How long a caller is asked to wait while a holder's write is committing.
const COMMITTING_RETRY: Duration = Duration::from_millis(1);

#[derive(Debug, Clone)]
pub(crate) struct Flight {
    pub(crate) fingerprint: [u8; 32],
    pub(crate) fence: u64,
    pub(crate) lease_until: Timestamp,
    pub(crate) created: Timestamp,
    pub(crate) expires: Timestamp,
    pub(crate) recovery: Option<(String, Vec<u8>)>,
    busy: u32,
    finished: bool,
}

#[derive(Debug)]
pub(crate) struct Inner {
    epoch: u64,
    next: u64,
    pub(crate) map: HashMap<(String, String), Flight>,
}

impl Inner {
    fn next_fence(&mut self) -> Result<u64> {
        if self.next >= u64::from(u32::MAX) {
            return Err(Error::InvalidArgument(
                "this open of the store has handed out 2^32 fences; reopen it".into(),
            ));
        }
        self.next += 1;
        Ok(self.epoch << 32 | self.next)
    }

    /// The flight a token holds, for a write by its holder at `now`.
    pub(crate) fn held(&mut self, token: &IdemToken, now: Timestamp) -> Result<&mut Flight> {
        let id = (token.tenant.clone(), token.key.clone());
        match self.map.get_mut(&id) {
            Some(f) if f.fence == token.fence && now < f.expires && !f.finished => Ok(f),
            Some(f) if f.fence == token.fence && f.finished => Err(Error::Fenced(format!(
                "key {:?} was already completed or released by this holder",
                token.key
            ))),
            Some(f) if f.fence == token.fence => Err(Error::Fenced(format!(
                "key {:?} expired",
                token.key
            ))),
            Some(f) => Err(Error::Fenced(format!(
                "key {:?} is held by fence {}, not {}",
                token.key, f.fence, token.fence
            ))),
            None => Err(Error::Fenced(format!(
                "key {:?} is not in progress (completed, released, expired, or the store was reopened)",
                token.key
            ))),
        }
    }
}

/// The keys in flight of one open store, and its idempotency TTL.
#[derive(Debug)]
pub(crate) struct Flights {
    /// The store's idempotency TTL in µs (a setting: changed by `StoreSettings`).
    ttl_us: AtomicU64,
    inner: Mutex<Inner>,
    /// The persisted keys as of the last commit, for lookups outside a write.
    pub(crate) snapshot: KeysSnapshot,
    /// No persisted record expires before this time (a lower bound): a completion purges
    /// in passing only from then on. Lowered by every write of a record, raised by a
    /// purge scan; 0 (scan) at open. Only the writer touches it, so it needs no lock;
    /// should a purge be rolled back, expired records are purged later than they could
    /// be, never read (a record behaves as absent from its expiry on either way).
    pub(crate) purge_from: AtomicU64,
}

impl Flights {
    pub(crate) fn new(ttl: Duration, epoch: u64) -> Self {
        Self {
            ttl_us: AtomicU64::new(micros(ttl)),
            inner: Mutex::new(Inner {
                epoch,
                next: 0,
                map: HashMap::new(),
            }),
            snapshot: KeysSnapshot::default(),
            purge_from: AtomicU64::new(0),
        }
    }

    /// The TTL keys begun now get.
    pub(crate) fn ttl(&self) -> Duration {
        Duration::from_micros(self.ttl_us.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub(crate) fn set_ttl(&self, ttl: Duration) {
        self.ttl_us
            .store(micros(ttl), std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The answer a persisted record gives on its own: `Ok(Mismatch)` or `Ok(Replay)`; or
/// the record back when it is in progress (a leftover of an earlier open), which the
/// caller may take over.
pub(crate) fn settled(rec: KeyRecordV1, fp: &[u8; 32]) -> Result<Begin, Box<KeyRecordV1>> {
    if rec.fingerprint != *fp {
        return Ok(Begin::Mismatch);
    }
    match rec.state {
        COMPLETED | FAILED => Ok(Begin::Replay(CachedResponse {
            status: rec.status,
            failed: rec.state == FAILED,
            body: rec.body,
        })),
        _ => Err(Box::new(rec)),
    }
}

/// Decides `begin` under the flights lock. `persisted` reads the key's live record (only
/// called when no live flight decides); it must see every commit made before the lock
/// was taken.
#[allow(clippy::too_many_arguments)]
pub(crate) fn begin(
    inner: &mut Inner,
    now: Timestamp,
    ttl: Duration,
    tenant: &str,
    key: &str,
    fp: [u8; 32],
    lease: Duration,
    persisted: impl FnOnce() -> Result<Option<KeyRecordV1>>,
) -> Result<Begin> {
    let id = (tenant.to_owned(), key.to_owned());
    let lease_until = now.saturating_add(micros(lease));
    if let Some(f) = inner.map.get(&id) {
        if now >= f.expires && (f.busy > 0 || f.finished) {
            // Expired, but its holder's write is committing: wait for it to land rather
            // than start afresh on top of it.
            return Ok(Begin::InProgress {
                retry_after: COMMITTING_RETRY,
            });
        } else if now >= f.expires {
            inner.map.remove(&id); // expired: the key is absent
        } else if f.fingerprint != fp {
            return Ok(Begin::Mismatch);
        } else if f.busy > 0 || f.finished {
            return Ok(Begin::InProgress {
                retry_after: Duration::from_micros(f.lease_until.saturating_sub(now))
                    .max(COMMITTING_RETRY),
            });
        } else if now < f.lease_until {
            return Ok(Begin::InProgress {
                retry_after: Duration::from_micros(f.lease_until - now),
            });
        } else {
            // The lease ran out: take over, fencing the old holder off.
            let fence = inner.next_fence()?;
            let f = inner
                .map
                .get_mut(&id)
                .ok_or_else(|| Error::Storage("a flight vanished under its lock".into()))?;
            f.fence = fence;
            f.lease_until = lease_until;
            return Ok(Begin::Started(IdemToken {
                tenant: id.0,
                key: id.1,
                fence,
                recovery: f.recovery.clone(),
            }));
        }
    }
    let (created, expires, recovery) = match persisted()? {
        Some(rec) => match settled(rec, &fp) {
            Ok(answer) => return Ok(answer),
            // In progress in an earlier open of the store: its holder is gone, so the
            // key is taken over at once, with the recovery point it saved.
            Err(rec) if rec.state == IN_PROGRESS => (rec.created, rec.expires, rec.recovery),
            Err(rec) => {
                return Err(Error::Corrupted(format!(
                    "idempotency record of {key:?} has unknown state {}",
                    rec.state
                )))
            }
        },
        None => (now, now.saturating_add(micros(ttl)), None),
    };
    let fence = inner.next_fence()?;
    inner.map.insert(
        id.clone(),
        Flight {
            fingerprint: fp,
            fence,
            lease_until,
            created,
            expires,
            recovery: recovery.clone(),
            busy: 0,
            finished: false,
        },
    );
    Ok(Begin::Started(IdemToken {
        tenant: id.0,
        key: id.1,
        fence,
        recovery,
    }))
}

impl Flight {
    /// Writes of the holder now committing.
    pub(crate) fn busy(&self) -> u32 {
        self.busy
    }

    /// Marks a write of the holder as committing; `finishing` for a completion or release.
    pub(crate) fn start_write(&mut self, finishing: bool) {
        self.busy += 1;
        if finishing {
            self.finished = true;
        }
    }

    /// The record a completion (`state` COMPLETED or FAILED) or a recovery point
    /// (IN_PROGRESS) writes for this flight.
    pub(crate) fn record(
        &self,
        state: u8,
        status: Option<u16>,
        body: Vec<u8>,
        recovery: Option<(String, Vec<u8>)>,
    ) -> KeyRecordV1 {
        KeyRecordV1 {
            fingerprint: self.fingerprint,
            state,
            fence: self.fence,
            lease_until: self.lease_until,
            created: self.created,
            expires: self.expires,
            status,
            body,
            recovery,
        }
    }
}

/// Ends a holder's write once its transaction committed or not: undoes the marks of
/// `start_write`, and on commit applies `on_commit` to the flight (or, for a finishing
/// write, removes the flight). A flight taken over meanwhile is left alone.
pub(crate) fn end_write(
    inner: &mut Inner,
    tenant: &str,
    key: &str,
    fence: u64,
    finishing: bool,
    committed: bool,
    on_commit: impl FnOnce(&mut Flight),
) {
    let id = (tenant.to_owned(), key.to_owned());
    let Some(f) = inner.map.get_mut(&id) else {
        return;
    };
    if f.fence != fence {
        return;
    }
    f.busy = f.busy.saturating_sub(1);
    match (committed, finishing) {
        (true, true) => {
            inner.map.remove(&id);
        }
        (true, false) => on_commit(f),
        (false, true) => f.finished = false,
        (false, false) => {}
    }
}
