//! Dead letters: work that failed (an e-mail, a webhook), kept and retried on a schedule
//! until it succeeds or is declared dead.
//!
//! An item is recorded Pending, due at once (or at a given time). Workers
//! [`claim_due`](DeadLetters::claim_due) it: the claim leases it for a while and counts
//! an attempt. The worker then [`ack`](DeadLetters::ack)s it (Done) or
//! [`fail`](DeadLetters::fail)s it: Pending again after a backoff delay from the
//! store's [`RetryPolicy`], or Dead when the error is permanent or no attempts are left.
//! A worker that crashes never answers; its lease runs out, the lapse is written to the
//! item's history, and the item is claimable again, or Dead if that was its last
//! attempt. Dead items stay for inspection until [`redrive`](DeadLetters::redrive)n
//! (attempts reset) or purged; Done and Dead items are purged once they have been so
//! for [`Options::dead_letter_purge_after`](crate::Options::dead_letter_purge_after).
//!
//! ```text
//!   record ──> Pending ──claim──> Leased ──ack──> Done ──purge──> (gone)
//!                ^  ^               │ │
//!                │  └──fail, retry──┘ └──fail (permanent or last) / lease lapse──> Dead
//!                └─────────────────────────redrive──────────────────────────────────┘
//! ```
//!
//! Time is the store's [`Clock`](crate::Clock): due times, leases, backoff and purge all
//! read it, so tests move a [`ManualClock`](crate::ManualClock) instead of sleeping.
//!
//! Durability. [`record`](DeadLetters::record) takes the caller's choice (a dead letter
//! recorded with the app's own state belongs in that write). A claim is always durable
//! before it returns: the attempt it counts must survive a crash, or a job that crashes
//! its worker would be claimed forever, never reaching Dead. Ack, fail and redrive are
//! durable too: an acked item must not be redone after a crash, and a failure's history
//! and schedule must not be lost.
//!
//! Fencing. A [`Claimed`] carries a token (the item's claim count). Ack and fail succeed
//! only while that claim's lease is held: once it ran out (or the item was claimed
//! again) they fail with [`Error::Fenced`] and change nothing.

mod policy;
mod query;
mod retry;
pub(crate) mod tables;

pub use policy::{Jitter, RetryPolicy, SplitMix64, MAX_ATTEMPTS_LIMIT};
pub use query::{DlqCursor, DlqFilter, DlqPage, DlqQuery, MAX_DLQ_PAGE};
pub use retry::{retry, Failure, RetryOutcome};
pub use tables::LEASE_EXPIRED;

pub(crate) use tables::DlqTables;

use std::time::Duration;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::Store;
use crate::tx::WriteTx;

/// The documented limits on a dead letter, in bytes.
pub mod limits {
    /// Tenant: at most 128 bytes of UTF-8 (may be empty).
    pub const TENANT: usize = 128;
    /// Kind ("email", "webhook", …): 1..=128 bytes of UTF-8.
    pub const KIND: usize = 128;
    /// Payload: at most 1 MiB.
    pub const PAYLOAD: usize = 1 << 20;
    /// One error message: at most 4 KiB of UTF-8.
    pub const ERROR: usize = 4 * 1024;
    /// Items one claim may lease.
    pub const CLAIM: usize = 10_000;
}

/// Rows a redrive by filter or a purge handles per transaction.
const BATCH: usize = 1000;

/// Where an item is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DlqState {
    /// Waiting until it is due, then claimable.
    Pending = 0,
    /// Claimed by a worker until its lease ends.
    Leased = 1,
    /// Acked: the work succeeded.
    Done = 2,
    /// Declared dead: permanent error or attempts used up.
    Dead = 3,
}

impl DlqState {
    /// All states, in number order.
    pub const ALL: [DlqState; 4] = [
        DlqState::Pending,
        DlqState::Leased,
        DlqState::Done,
        DlqState::Dead,
    ];

    /// The state with this number (0 = pending .. 3 = dead).
    pub fn from_u8(v: u8) -> Option<DlqState> {
        DlqState::ALL.get(v as usize).copied()
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        ["pending", "leased", "done", "dead"][self as usize]
    }
}

/// A dead letter to record: `NewDeadLetter::new(tenant, kind, payload)` and setters.
///
/// ```
/// use hardstore::dead_letters::NewDeadLetter;
/// let n = NewDeadLetter::new("acme", "webhook", b"{\"order\":42}".to_vec())
///     .error("POST https://hooks.acme.test: 503")
///     .max_attempts(8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeadLetter {
    pub(crate) tenant: String,
    pub(crate) kind: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) error: Option<String>,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) first_attempt_at: Option<Timestamp>,
    pub(crate) permanent: bool,
}

impl NewDeadLetter {
    /// An item of `kind` for `tenant` carrying `payload`, due at once, with the store's
    /// default max attempts.
    pub fn new(tenant: impl Into<String>, kind: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            tenant: tenant.into(),
            kind: kind.into(),
            payload,
            error: None,
            max_attempts: None,
            first_attempt_at: None,
            permanent: false,
        }
    }

    /// The error that made the work a dead letter (history entry for attempt 0).
    pub fn error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// Attempts before it is declared dead, 1..=[`MAX_ATTEMPTS_LIMIT`] (default: the
    /// store's [`RetryPolicy::max_attempts`], 5 unless configured).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// When it is first due (default: when recorded).
    pub fn first_attempt_at(mut self, at: Timestamp) -> Self {
        self.first_attempt_at = Some(at);
        self
    }

    /// The error is permanent: the item is recorded Dead (kept for inspection and
    /// redrive), never claimed.
    pub fn permanent(mut self, yes: bool) -> Self {
        self.permanent = yes;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_len("tenant", self.tenant.len(), limits::TENANT)?;
        check_len("kind", self.kind.len(), limits::KIND)?;
        check_len("payload", self.payload.len(), limits::PAYLOAD)?;
        if let Some(e) = &self.error {
            check_len("error", e.len(), limits::ERROR)?;
        }
        if self.kind.is_empty() {
            return Err(Error::InvalidArgument("kind must not be empty".into()));
        }
        if let Some(n) = self.max_attempts {
            policy::check_max_attempts(n)?;
        }
        Ok(())
    }
}

fn check_len(field: &'static str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(Error::TooLong { field, len, max });
    }
    Ok(())
}

/// The error ack and fail give when the claim's lease is no longer held.
pub(crate) fn lease_lost(id: u64) -> Error {
    Error::Fenced(format!(
        "dead letter {id}: this claim's lease is no longer held (it ran out, or the item was claimed again or finished)"
    ))
}

/// An item leased to a worker by [`DeadLetters::claim_due`]. Pass it back to
/// [`DeadLetters::ack`] or [`DeadLetters::fail`] before `lease_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The item's id.
    pub id: u64,
    /// The claim's fence token: only this claim's holder can ack or fail it.
    pub token: u64,
    /// This attempt's number, from 1 (counted at claim).
    pub attempt: u32,
    /// The attempts allowed before the item is dead.
    pub max_attempts: u32,
    /// The tenant.
    pub tenant: String,
    /// The kind.
    pub kind: String,
    /// The payload.
    pub payload: Vec<u8>,
    /// When the lease ends (store clock).
    pub lease_until: Timestamp,
}

/// What [`DeadLetters::fail`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Pending again, due at `at`.
    Rescheduled {
        /// When it is due.
        at: Timestamp,
    },
    /// Declared dead.
    Dead,
}

/// One failure in an item's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The attempt that failed (0: the failure that made it a dead letter).
    pub attempt: u32,
    /// When (for a lapsed lease, when the lease ended).
    pub at: Timestamp,
    /// The error ([`LEASE_EXPIRED`] for a lapsed lease).
    pub error: String,
    /// Whether it was reported as worth retrying.
    pub retryable: bool,
}

/// A stored dead letter with its full history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id (assigned in record order from 0, never reused).
    pub id: u64,
    /// The tenant.
    pub tenant: String,
    /// The kind.
    pub kind: String,
    /// The payload.
    pub payload: Vec<u8>,
    /// Where it is in its life.
    pub state: DlqState,
    /// Attempts claimed since it was recorded or last redriven.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When it was recorded.
    pub created: Timestamp,
    /// When it is due (Pending only).
    pub next_attempt_at: Option<Timestamp>,
    /// When its lease ends (Leased only).
    pub lease_until: Option<Timestamp>,
    /// When it became Done or Dead.
    pub finished_at: Option<Timestamp>,
    /// How many times it was redriven.
    pub redrives: u32,
    /// Every failure, oldest first (across redrives).
    pub history: Vec<Attempt>,
}

impl DeadLetter {
    /// The latest error, if any.
    pub fn last_error(&self) -> Option<&str> {
        self.history.last().map(|a| a.error.as_str())
    }
}

/// How many items are in each state (read from counters, never a scan). A Leased item
/// whose lease ran out counts as Leased until it is claimed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DlqCounts {
    /// Pending items.
    pub pending: u64,
    /// Leased items.
    pub leased: u64,
    /// Done items not yet purged.
    pub done: u64,
    /// Dead items not yet purged.
    pub dead: u64,
}

impl DlqCounts {
    /// All items.
    pub fn total(&self) -> u64 {
        self.pending + self.leased + self.done + self.dead
    }
}

/// What the write path needs from the settings: the retry policy and its seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DlqConfig {
    pub(crate) policy: RetryPolicy,
    /// The policy's seed, or one drawn from the OS when the store opened.
    pub(crate) seed: u64,
}

impl DlqConfig {
    pub(crate) fn from_policy(policy: RetryPolicy) -> Result<Self> {
        let seed = match policy.seed {
            Some(s) => s,
            None => policy::entropy_seed()?,
        };
        Ok(Self { policy, seed })
    }

    /// The same source of randomness, with a new policy (its own seed, if it has one).
    pub(crate) fn with_policy(self, policy: RetryPolicy) -> Self {
        Self {
            policy,
            seed: policy.seed.unwrap_or(self.seed),
        }
    }
}

/// The dead letters of a [`Store`]: `store.dead_letters()`.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetters<'s> {
    store: &'s Store,
}

impl<'s> DeadLetters<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Records a dead letter and returns its id. Bad input is refused before anything
    /// is written.
    pub fn record(&self, new: NewDeadLetter, durability: Durability) -> Result<u64> {
        crate::metrics::count(
            self.store,
            "dead_letters",
            "record",
            (|| {
                new.validate()?;
                self.store
                    .write(durability, move |tx| tx.dlq_record_validated(&new))
            })(),
        )
    }

    /// Leases up to `limit` (1..=[`limits::CLAIM`]) items due by the store clock's now,
    /// oldest due first, for `lease` (at least 1 µs), and counts an attempt on each.
    /// Durable before it returns. An item whose lease ran out is claimed again, or made
    /// Dead (and not returned) when that was its last attempt.
    pub fn claim_due(&self, limit: usize, lease: Duration) -> Result<Vec<Claimed>> {
        let r = (|| {
            if limit == 0 || limit > limits::CLAIM {
                return Err(Error::InvalidArgument(format!(
                    "claim limit {limit} is outside 1..={}",
                    limits::CLAIM
                )));
            }
            let lease_us = policy::micros(lease);
            if lease_us == 0 {
                return Err(Error::InvalidArgument(
                    "a lease must be at least 1 µs".into(),
                ));
            }
            self.store.write(Durability::Durable, move |tx| {
                let now = tx.now();
                tx.dlq()?.claim(now, limit, lease_us)
            })
        })();
        if let Ok(c) = &r {
            crate::metrics::attempts(self.store, c.len() as u64);
        }
        crate::metrics::count(self.store, "dead_letters", "claim", r)
    }

    /// Marks a claimed item Done. Durable before it returns. Fails, changing nothing,
    /// when the claim's lease is no longer held.
    pub fn ack(&self, claim: &Claimed) -> Result<()> {
        crate::metrics::count(self.store, "dead_letters", "ack", {
            let (id, token) = (claim.id, claim.token);
            self.store.write(Durability::Durable, move |tx| {
                let now = tx.now();
                tx.dlq()?.ack(id, token, now)
            })
        })
    }

    /// Records a claimed item's failure with `error` (at most 4 KiB). A retryable error
    /// reschedules it after a backoff delay unless that was its last attempt; a permanent
    /// one (or the last attempt) makes it Dead. Durable before it returns. Fails,
    /// changing nothing, when the claim's lease is no longer held.
    pub fn fail(&self, claim: &Claimed, error: &str, retryable: bool) -> Result<Outcome> {
        crate::metrics::count(
            self.store,
            "dead_letters",
            "fail",
            (|| {
                check_len("error", error.len(), limits::ERROR)?;
                let (id, token, error) = (claim.id, claim.token, error.to_owned());
                self.store.write(Durability::Durable, move |tx| {
                    tx.dlq_fail_validated(id, token, &error, retryable)
                })
            })(),
        )
    }

    /// Makes a Dead (or Pending) item Pending and due now, with its attempts reset; its
    /// history is kept. A Leased or Done item is refused. Durable.
    pub fn redrive(&self, id: u64) -> Result<()> {
        crate::metrics::count(self.store, "dead_letters", "redrive", {
            self.store.write(Durability::Durable, move |tx| {
                let now = tx.now();
                tx.dlq()?.redrive(id, now)
            })
        })
    }

    /// Redrives every Dead item `filter` selects; returns how many. Runs in
    /// transactions of up to 1000 items, each durable: a crash midway leaves the ones
    /// done so far redriven.
    pub fn redrive_where(&self, filter: &DlqFilter) -> Result<u64> {
        filter.validate()?;
        let mut total = 0;
        let mut after = None;
        loop {
            let f = filter.clone();
            let (n, last) = self.store.write(Durability::Durable, move |tx| {
                let now = tx.now();
                tx.dlq()?.redrive_where(&f, after, BATCH, now)
            })?;
            total += n;
            match last {
                Some(id) => after = Some(id),
                None => return Ok(total),
            }
        }
    }

    /// The item with this id, with its history.
    pub fn get(&self, id: u64) -> Result<DeadLetter> {
        query::get(&self.store.begin_read()?, id)
    }

    /// One page of items matching `q`, in id order.
    pub fn list(&self, q: &DlqQuery) -> Result<DlqPage> {
        q.validate()?;
        query::list(&self.store.begin_read()?, q)
    }

    /// Items per state, from counters (no scan).
    pub fn counts(&self) -> Result<DlqCounts> {
        query::counts(&self.store.begin_read()?)
    }

    /// Whether a [`DeadLetters::purge`] now would delete anything (a read: maintenance
    /// skips the write when nothing is due).
    pub(crate) fn purge_due(&self) -> Result<bool> {
        let age = policy::micros(self.store.inner.settings.read().dead_letter_purge_after);
        let Some(cutoff) = self.store.clock_now().checked_sub(age) else {
            return Ok(false);
        };
        let read = self.store.begin_read()?;
        let t = match read.open_table(tables::FINISHED) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let mut rows = redb::ReadableTable::range(&t, ..=(cutoff, u64::MAX))?;
        let any = rows.next().transpose()?.is_some();
        Ok(any)
    }

    /// Deletes Done and Dead items that have been so for at least
    /// the store's `dead_letter_purge_after` setting ([`crate::Settings`]; 7 days by
    /// default), counted from when they became Done or Dead; at most `limit`
    /// of them (`None`: all). Returns how many. Durable, in transactions of up to 1000.
    pub fn purge(&self, limit: Option<usize>) -> Result<u64> {
        let age = policy::micros(self.store.inner.settings.read().dead_letter_purge_after);
        let mut left = limit.unwrap_or(usize::MAX);
        let mut total = 0;
        while left > 0 {
            let n = left.min(BATCH);
            let done = self.store.write(Durability::Durable, move |tx| {
                let now = tx.now();
                match now.checked_sub(age) {
                    Some(cutoff) => tx.dlq()?.purge(cutoff, n),
                    None => Ok(0),
                }
            })?;
            total += done;
            left -= done as usize;
            if (done as usize) < n {
                break;
            }
        }
        Ok(total)
    }

    /// The policy this store reschedules failures with.
    pub fn policy(&self) -> RetryPolicy {
        self.store.inner.settings.read().dead_letter_policy
    }
}

/// Dead letters inside a shared write: they commit with the rest of the closure.
impl WriteTx<'_> {
    /// Records a dead letter in this transaction and returns its id.
    pub fn dlq_record(&mut self, new: &NewDeadLetter) -> Result<u64> {
        new.validate()?;
        self.dlq_record_validated(new)
    }

    /// Acks a claim in this transaction (for example with the app state that shows the
    /// work was done). Fails when the claim's lease is no longer held.
    pub fn dlq_ack(&mut self, claim: &Claimed) -> Result<()> {
        let now = self.now();
        self.dlq()?.ack(claim.id, claim.token, now)
    }

    /// Fails a claim in this transaction; see [`DeadLetters::fail`].
    pub fn dlq_fail(&mut self, claim: &Claimed, error: &str, retryable: bool) -> Result<Outcome> {
        check_len("error", error.len(), limits::ERROR)?;
        self.dlq_fail_validated(claim.id, claim.token, error, retryable)
    }

    fn dlq_record_validated(&mut self, new: &NewDeadLetter) -> Result<u64> {
        let now = self.now();
        let cfg = self.dlq_config()?;
        self.dlq()?.record(new, now, &cfg)
    }

    fn dlq_fail_validated(
        &mut self,
        id: u64,
        token: u64,
        error: &str,
        retryable: bool,
    ) -> Result<Outcome> {
        let now = self.now();
        let cfg = self.dlq_config()?;
        self.dlq()?.fail(id, token, error, retryable, now, &cfg)
    }
}

impl Store {
    /// The dead letters: failed work kept and retried on a schedule.
    pub fn dead_letters(&self) -> DeadLetters<'_> {
        DeadLetters::new(self)
    }
}

/// The dead letters' hooks: the retry policy (a setting) is kept by the writer.
pub(crate) struct DeadLettersArea;

impl crate::engine::area::Area for DeadLettersArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        ctx.states
            .insert(DlqConfig::from_policy(ctx.settings.dead_letter_policy)?);
        Ok(())
    }

    fn after_open(&self, store: &Store) -> Result<()> {
        if tables::has_leased_bucket(&store.begin_read()?)? {
            // Written by an earlier build: moved like any write, so the redo log, the
            // state digest and the backup journal all see it.
            store.write(Durability::Durable, |tx| {
                tx.dlq()?.upgrade_index().map(drop)
            })?;
        }
        Ok(())
    }

    fn apply_settings(&self, tx: &mut WriteTx<'_>, s: &crate::settings::Settings) -> Result<u64> {
        let cfg = tx.state_mut::<DlqConfig>()?;
        *cfg = cfg.with_policy(s.dead_letter_policy);
        Ok(0)
    }
}

/// The dead-letter tables a transaction opened.
pub(crate) struct DlqPart;

impl crate::engine::area::Family for DlqPart {
    type Of<'a> = DlqTables<'a>;
}

impl<'a> WriteTx<'a> {
    /// The dead-letter tables, opened on first use.
    pub(crate) fn dlq(&mut self) -> Result<&mut DlqTables<'a>> {
        self.part::<DlqPart>(DlqTables::open)
    }

    pub(crate) fn dlq_config(&self) -> Result<DlqConfig> {
        self.state::<DlqConfig>().copied()
    }
}
