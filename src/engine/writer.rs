//! The group-commit write path, leader/follower.
//!
//! Callers queue jobs. A caller that finds no leader becomes the leader and, on its own
//! thread, drains whatever is queued (up to `max_batch`), runs the jobs in one redb
//! transaction, takes into it the jobs queued meanwhile (briefly waiting for stragglers,
//! `Shared::take_more`), and commits once; N concurrent durable writers share one fsync,
//! and an uncontended caller pays no thread hand-off. When the leader's batch is done and more
//! jobs wait, leadership passes to the thread that queued the oldest of them.
//!
//! Invariants:
//! - At most one leader at a time (`Queue::leader`); only the leader opens a write
//!   transaction or touches `WriterState`.
//! - A job's caller is answered only after the transaction holding its write has
//!   committed (durably if any job in the batch asked for it), or with the error that
//!   kept it out.
//! - A job that fails with a non-storage error is removed and the batch re-run from a
//!   fresh transaction without it, so one bad job never half-applies nor sinks others.
//!   Jobs are therefore `FnMut` and must only write through the [`WriteTx`].
//! - A storage failure poisons the writer: every later job fails with `Error::Poisoned`.
//! - In-memory state derived from the tables (the Merkle frontier) is cloned per batch
//!   and published only after commit, so an aborted batch leaves it untouched.
//! - Within a batch, buffered jobs commit (unsynced) before durable ones, so they never
//!   wait for an fsync; a thread has at most one job queued, so this reorders only
//!   concurrent writes.
//! - A buffered (non-durable) commit is followed by a durable one within
//!   `flush_interval` (a flusher thread), and on shutdown.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use redb::{Database, ReadableDatabase};

use crate::clock::Clock;
use crate::engine::area::{Queued, Shared as AreaShared, States, WriteQueue};
use crate::engine::histogram::{Histogram, WriteLatency, BATCH_SIZES, LATENCY_US};
use crate::error::{Error, Result};
use crate::options::{Durability, Options};
use crate::redo::{self, RedoBuf, RedoLog};
use crate::tx::WriteTx;

type RunFn = Box<dyn FnMut(&mut WriteTx<'_>) -> Result<()> + Send>;

/// State derived from the tables that the leader keeps in memory between batches.
#[derive(Clone, Debug)]
pub(crate) struct WriterState {
    /// Every area's in-memory state (see `engine::area`).
    pub(crate) areas: States,
    /// The store's settings as batches see them.
    pub(crate) settings: crate::settings::Settings,
}

enum SlotState {
    Waiting,
    /// The previous leader handed leadership to this job's thread.
    Lead,
    /// The answer, and for a committed batch this slot's place in its wake tree.
    Done(Result<()>, Option<WakeTree>),
}

/// The callers of one committed batch, woken as a binary tree: the leader wakes the
/// first two, and each woken caller wakes two more before it returns.
///
/// Why: waking a thread is a syscall that can cost the waker its core (the woken thread
/// may preempt it). Woken one by one, 63 callers took over a quarter of the leader's
/// time, all of it on the path every later batch waits for; this way the leader pays two
/// and the rest is spread over the callers, off that path.
///
/// A slot's answer is set only after those of all its descendants (answers are set from
/// the last slot to the first; children come after their parent). A caller may find its
/// answer before any wakeup reaches it (it had not gone to sleep yet) and wake its
/// children at once, even while the leader is still answering: their answers are set
/// by then, so no wakeup is lost. (Set from the first slot on, a child woken that early
/// found no answer, slept again, and was never woken.)
struct WakeTree {
    slots: Arc<[Arc<Slot>]>,
    at: usize,
}

impl WakeTree {
    /// Sets every slot's answer to `Ok`, children first, then wakes the tree's roots.
    fn answer(slots: Vec<Arc<Slot>>) {
        let slots: Arc<[Arc<Slot>]> = slots.into();
        for (at, slot) in slots.iter().enumerate().rev() {
            let tree = WakeTree {
                slots: slots.clone(),
                at,
            };
            *slot.state.lock() = SlotState::Done(Ok(()), Some(tree));
        }
        for slot in slots.iter().take(2) {
            slot.cv.notify_one();
        }
    }

    /// Wakes this slot's children: slots `2 * at + 2` and `2 * at + 3`.
    fn wake_children(self) {
        let first = 2 * self.at + 2;
        for slot in self.slots.iter().skip(first).take(2) {
            slot.cv.notify_one();
        }
    }
}

/// What lets a running batch take jobs queued after it started (`Shared::take_more`).
struct Intake {
    /// The batch waits for more jobs while it holds fewer than this (the last batch's
    /// size)...
    target: usize,
    /// ...but not past this.
    deadline: Instant,
    /// The slot of every job taken into the batch: should the batch machinery panic,
    /// each is answered from here.
    slots: RefCell<Vec<Arc<Slot>>>,
}

/// Where a job's caller waits for its answer.
struct Slot {
    state: Mutex<SlotState>,
    cv: Condvar,
}

impl Slot {
    fn new() -> Arc<Slot> {
        Arc::new(Slot {
            state: Mutex::new(SlotState::Waiting),
            cv: Condvar::new(),
        })
    }

    fn set(&self, s: SlotState) {
        *self.state.lock() = s;
        self.cv.notify_one();
    }

    /// Waits for the answer (`Ok(None)`, or its error), having woken this slot's children
    /// in its wake tree, or for leadership (`Ok(Some(()))`; the slot waits again after).
    fn wait(&self) -> Result<Option<()>> {
        let mut st = self.state.lock();
        while matches!(*st, SlotState::Waiting) {
            self.cv.wait(&mut st);
        }
        match std::mem::replace(&mut *st, SlotState::Waiting) {
            SlotState::Done(res, tree) => {
                drop(st);
                if let Some(tree) = tree {
                    tree.wake_children();
                }
                res.map(|()| None)
            }
            SlotState::Lead | SlotState::Waiting => Ok(Some(())),
        }
    }
}

/// Counters of the write path since the store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteStats {
    /// Transactions committed (each holds one or more writes).
    pub batches: u64,
    /// Writes committed (including the empty ones `flush` and the flusher make).
    pub writes: u64,
    /// Commits that were fsynced (durable batches and flushes). An in-memory store counts
    /// its durable batches here too, though there is nothing to sync them to.
    pub syncs: u64,
    /// Bytes of redo records appended (a store in a file; 0 otherwise).
    pub redo_bytes: u64,
}

/// One caller's write.
struct Job {
    run: RunFn,
    slot: Arc<Slot>,
    durable: bool,
}

struct Queue {
    jobs: VecDeque<Job>,
    leader: bool,
    shutdown: bool,
    /// While the leader waits for stragglers, the queue length that wakes it
    /// (see `Shared::take_more`); 0 when it is not waiting.
    gather_target: usize,
}

struct Committed {
    state: WriterState,
    /// When the oldest commit not yet synced was made.
    unsynced_since: Option<Instant>,
    /// The next batch's sequence number (see `redo`).
    next_seq: u64,
    /// The redo log of a store in a file; `None` for other backends, whose durable
    /// batches are durable redb commits.
    redo: Option<RedoLog>,
    /// When the redb state was last made durable (a checkpoint).
    checkpointed: Instant,
    /// Whether a batch committed without a synced redb commit since the last checkpoint
    /// (what a volatile store's close still has to checkpoint).
    since_checkpoint: bool,
}

/// A checkpoint is due this long after the last one, or once the redo log holds this much.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
const CHECKPOINT_BYTES: u64 = 64 << 20;
/// Batches one leader runs in a row while jobs keep coming (see `Shared::lead`).
const LEAD_STREAK: usize = 8;

struct Shared {
    db: Arc<Database>,
    /// Log entries appended but not yet written; every batch writes them first.
    /// Work queued outside batches that every batch writes first (the log queue).
    pending: Option<Arc<dyn WriteQueue>>,
    clock: Arc<dyn Clock>,
    flush_interval: Duration,
    max_batch: usize,
    /// The areas' shared objects, for `WriteTx` and the batch hooks.
    areas: Arc<AreaShared>,
    queue: Mutex<Queue>,
    /// Signalled when the queue drains with no leader (shutdown waits for it).
    idle: Condvar,
    /// Signalled only to stop the flusher.
    stop_flusher: Condvar,
    /// Signalled when a job is queued while the leader is gathering.
    enqueued: Condvar,
    batches: AtomicU64,
    jobs_done: AtomicU64,
    syncs: AtomicU64,
    redo_bytes: AtomicU64,
    /// Batch start to commit, durable syncs, and writes per batch (`histogram`).
    commit_us: Histogram,
    sync_us: Histogram,
    batch_writes: Histogram,
    /// How many jobs the last batch held, and how long it took from its transaction's
    /// start to its commit (ns).
    last_batch: AtomicUsize,
    last_batch_ns: AtomicU64,
    committed: Mutex<Committed>,
    /// `Persistence::Volatile`.
    volatile: bool,
    /// Where committed batches' changes go besides the redo log (replication).
    sink: parking_lot::RwLock<Option<Arc<dyn BatchSink>>>,
    poisoned: AtomicBool,
    closed: AtomicBool,
}

/// How a store's durable batches become durable.
pub(crate) enum Persistence {
    /// A store in a file: batches are appended to its redo log (with the next batch's
    /// sequence number); a durable one syncs the log (see `redo`).
    Redo(RedoLog, u64),
    /// A caller-supplied backend: a durable batch is a synced redb commit.
    Synced,
    /// A backend whose contents die with the process (`Store::in_memory`): syncing
    /// makes nothing more durable, so a durable batch commits like a buffered one and
    /// a synced commit is made only as a checkpoint (at most every `CHECKPOINT_EVERY`,
    /// and on close), which lets redb reuse the pages the batches freed. The CPU a
    /// durable write costs is then what it costs a store in a file, without the fsync.
    Volatile,
}

/// Receives every committed batch's changes, in sequence order, under the writer's lock
/// (so it must only queue them).
pub(crate) trait BatchSink: Send + Sync {
    /// Batch `seq` committed at `time` with these changes (redo-record ops).
    fn batch(&self, seq: u64, time: crate::clock::Timestamp, ops: Vec<u8>);
    /// Batch `seq` changed the store in a way ops cannot carry.
    fn reset(&self, seq: u64);
}

/// The write path of one store. Dropping it flushes and stops the flusher.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the write path.
    pub(crate) fn start(
        db: Arc<Database>,
        queue: Option<Arc<dyn WriteQueue>>,
        state: WriterState,
        opts: &Options,
        areas: Arc<AreaShared>,
        persistence: Persistence,
    ) -> Result<Writer> {
        let volatile = matches!(persistence, Persistence::Volatile);
        let redo = match persistence {
            Persistence::Redo(log, seq) => Some((log, seq)),
            Persistence::Synced | Persistence::Volatile => None,
        };
        let flush_interval = opts.flush_interval;
        let shared = Arc::new(Shared {
            db,
            pending: queue,
            clock: opts.clock.clone(),
            flush_interval,
            max_batch: opts.max_batch,
            areas,
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                leader: false,
                shutdown: false,
                gather_target: 0,
            }),
            idle: Condvar::new(),
            stop_flusher: Condvar::new(),
            enqueued: Condvar::new(),
            batches: AtomicU64::new(0),
            jobs_done: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            redo_bytes: AtomicU64::new(0),
            commit_us: Histogram::new(LATENCY_US),
            sync_us: Histogram::new(LATENCY_US),
            batch_writes: Histogram::new(BATCH_SIZES),
            last_batch: AtomicUsize::new(0),
            last_batch_ns: AtomicU64::new(0),
            committed: Mutex::new(Committed {
                state,
                unsynced_since: None,
                next_seq: redo.as_ref().map_or(1, |(_, seq)| *seq),
                redo: redo.map(|(log, _)| log),
                checkpointed: Instant::now(),
                since_checkpoint: false,
            }),
            volatile,
            sink: parking_lot::RwLock::new(None),
            poisoned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        });
        let flusher = if flush_interval.is_zero() {
            None // every batch is durable
        } else {
            let s = shared.clone();
            Some(
                std::thread::Builder::new()
                    .name("hardstore-flush".into())
                    .spawn(move || s.flush_loop())?,
            )
        };
        Ok(Writer {
            shared,
            flusher: Mutex::new(flusher),
        })
    }

    /// Runs `f` inside a group-committed transaction and returns its output once the
    /// transaction has committed with the requested durability.
    pub(crate) fn submit<R, F>(&self, durability: Durability, mut f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnMut(&mut WriteTx<'_>) -> Result<R> + Send + 'static,
    {
        let out: Arc<Mutex<Option<R>>> = Arc::new(Mutex::new(None));
        let out_in_job = out.clone();
        let run: RunFn = Box::new(move |w| {
            let r = f(w)?;
            *out_in_job.lock() = Some(r);
            Ok(())
        });
        self.shared
            .run_job(run, durability == Durability::Durable)?;
        let r = out.lock().take();
        r.ok_or_else(|| Error::Storage("a committed write left no output".into()))
    }

    /// Makes every write acknowledged so far durable.
    pub(crate) fn flush(&self) -> Result<()> {
        self.submit(Durability::Durable, |_| Ok(()))
    }

    pub(crate) fn stats(&self) -> WriteStats {
        let s = &self.shared;
        WriteStats {
            batches: s.batches.load(Ordering::Relaxed),
            writes: s.jobs_done.load(Ordering::Relaxed),
            syncs: s.syncs.load(Ordering::Relaxed),
            redo_bytes: s.redo_bytes.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn latency(&self) -> WriteLatency {
        let s = &self.shared;
        WriteLatency {
            commit_us: s.commit_us.snapshot(),
            sync_us: s.sync_us.snapshot(),
            batch_writes: s.batch_writes.snapshot(),
        }
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.shared.poisoned.load(Ordering::Acquire)
    }

    /// Installs (or with `None` removes) the batch sink; returns the sequence number of
    /// the first batch it will receive.
    pub(crate) fn set_sink(&self, sink: Option<Arc<dyn BatchSink>>) -> u64 {
        let committed = self.shared.committed.lock();
        *self.shared.sink.write() = sink;
        committed.next_seq
    }

    /// A read snapshot and the sequence number of the first batch it does not hold
    /// (every batch below it is in it), taken while no batch commits.
    pub(crate) fn read_at_seq(&self) -> Result<(redb::ReadTransaction, u64)> {
        let committed = self.shared.committed.lock();
        let read = self.shared.db.begin_read()?;
        Ok((read, committed.next_seq))
    }

    /// Runs `pre`, then `job`, in a transaction of their own while no other write runs,
    /// and commits it durably as a checkpoint (the redo log is emptied: what `pre` does,
    /// such as taking or restoring a redb savepoint, is not a put or a delete it could
    /// record).
    ///
    /// `pre` gets the transaction before any table is opened (redb's savepoint calls
    /// require that), a read snapshot of the state it starts from, and the writer's
    /// in-memory state.
    pub(crate) fn exclusive<P, R>(
        &self,
        pre: impl FnOnce(&mut redb::WriteTransaction, &redb::ReadTransaction, &WriterState) -> Result<P>,
        job: impl FnOnce(&mut WriteTx<'_>, P) -> Result<R>,
    ) -> Result<R> {
        self.shared.exclusive(pre, job)
    }

    /// Runs `f` on a write transaction while no other write runs, then aborts it: for
    /// reading a redb savepoint's state (restored inside the transaction, never committed).
    pub(crate) fn inspect<R>(
        &self,
        f: impl FnOnce(&mut redb::WriteTransaction) -> Result<R>,
    ) -> Result<R> {
        let s = &self.shared;
        let _committed = s.committed.lock();
        s.check_open()?;
        let mut txn = s.db.begin_write()?;
        txn.set_durability(redb::Durability::Immediate)
            .map_err(|e| Error::Storage(e.to_string()))?;
        let out = f(&mut txn);
        txn.abort()?;
        out
    }

    /// Refuses new writes, lets queued ones finish, syncs, and stops the flusher.
    /// Idempotent; reports a failure of the final sync.
    pub(crate) fn shutdown(&self) -> Result<()> {
        if let Some(q) = &self.shared.pending {
            q.close();
        }
        {
            let mut q = self.shared.queue.lock();
            q.shutdown = true;
            while q.leader || !q.jobs.is_empty() {
                self.shared.idle.wait(&mut q);
            }
            // Become the leader for the final sync, so nothing else writes meanwhile.
            q.leader = true;
            self.shared.stop_flusher.notify_all();
        }
        if let Some(t) = self.flusher.lock().take() {
            let _ = t.join();
        }
        let res = if self.shared.closed.swap(true, Ordering::AcqRel)
            || self.shared.poisoned.load(Ordering::Acquire)
        {
            Ok(())
        } else {
            self.shared.final_sync().and_then(|()| {
                // Everything is in a synced redb commit: the log holds nothing.
                match &mut self.shared.committed.lock().redo {
                    Some(log) if log.len() == 0 => log.truncate(),
                    _ => Ok(()),
                }
            })
        };
        self.shared.queue.lock().leader = false;
        res
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

enum BatchError {
    /// Job `i` failed on its own; re-run the batch without it.
    Job(usize, Error),
    /// The storage layer failed; the whole batch fails and the writer is poisoned.
    Storage(Error),
}

/// No queued work (a store whose areas queue nothing).
struct Nothing;

impl Queued for Nothing {
    fn is_empty(&self) -> bool {
        true
    }
    fn write(&self, _tx: &mut WriteTx<'_>) -> Result<()> {
        Ok(())
    }
    fn extend(&mut self, more: Box<dyn Queued>) -> Result<()> {
        if more.is_empty() {
            return Ok(());
        }
        Err(Error::Storage(
            "queued work taken without a queue to take it from".into(),
        ))
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

impl Shared {
    /// Takes the work queued outside batches (the log queue), in order.
    fn take_queued(&self) -> Box<dyn Queued> {
        match &self.pending {
            Some(q) => q.take(),
            None => Box::new(Nothing),
        }
    }

    /// Lets every area know a batch ended, before any caller is answered.
    fn end_batch(&self) {
        for area in crate::engine::registry::get().areas {
            area.end_batch(&self.areas);
        }
    }

    fn run_job(&self, run: RunFn, durable: bool) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        let slot = Slot::new();
        let lead_now = {
            let mut q = self.queue.lock();
            if q.shutdown {
                return Err(Error::Closed);
            }
            q.jobs.push_back(Job {
                run,
                slot: slot.clone(),
                durable,
            });
            if q.gather_target != 0 && q.jobs.len() == q.gather_target {
                self.enqueued.notify_one();
            }
            !std::mem::replace(&mut q.leader, true)
        };
        if lead_now {
            self.lead(&slot);
        }
        while let Some(()) = slot.wait()? {
            // Leadership was handed to this thread.
            self.lead(&slot);
        }
        Ok(())
    }

    /// Runs batches as the leader while jobs are queued (at most `LEAD_STREAK` in a
    /// row), then passes leadership on or gives it up.
    ///
    /// Why keep leading: this thread is running, while the thread of the next queued job
    /// is one of the dozens just woken by the last commit, and may wait for a core for
    /// longer than a batch takes. The streak is bounded so that the leader's own caller,
    /// whose job is already done, is not kept waiting long.
    fn lead(&self, own: &Arc<Slot>) {
        let mut streak = 0;
        loop {
            let started = Instant::now();
            let jobs: Vec<Job> = {
                let mut q = self.queue.lock();
                let n = q.jobs.len().min(self.max_batch);
                q.jobs.drain(..n).collect()
            };
            let window = Duration::from_nanos(self.last_batch_ns.load(Ordering::Relaxed) / 2)
                .min(Duration::from_micros(500));
            let intake = Intake {
                target: self.last_batch.load(Ordering::Relaxed).min(self.max_batch),
                deadline: started + window,
                slots: RefCell::new(jobs.iter().map(|j| j.slot.clone()).collect()),
            };
            let ran = catch_unwind(AssertUnwindSafe(|| self.run_batch(jobs, own, &intake)));
            let slots = intake.slots.into_inner();
            self.last_batch.store(slots.len(), Ordering::Relaxed);
            if ran.is_err() {
                // A bug in the batch machinery itself: never leave callers waiting.
                self.poisoned.store(true, Ordering::Release);
                for s in &slots {
                    let mut st = s.state.lock();
                    if matches!(*st, SlotState::Waiting) {
                        *st = SlotState::Done(Err(Error::Poisoned), None);
                        s.cv.notify_one();
                    }
                }
            }
            streak += 1;
            let mut q = self.queue.lock();
            match q.jobs.front() {
                Some(_) if streak < LEAD_STREAK && !q.shutdown => continue,
                Some(next) => next.slot.set(SlotState::Lead),
                None => {
                    q.leader = false;
                    self.idle.notify_all();
                }
            }
            return;
        }
    }

    /// Takes jobs queued since the batch started into it, once it has run the ones it
    /// holds; waits for more while it holds fewer than `intake.target`, until
    /// `intake.deadline`. Returns whether it took any. Only jobs of the group being run
    /// (`durable` or not) are taken, and none past the front job of the other group.
    ///
    /// Why: callers answered by the last commit come back at nearly the same moment, and
    /// the first one back leads. Committing its job alone would make the rest queue behind
    /// its fsync, halving the batch size; waiting for them before starting (as this writer
    /// once did) left the leader idle while they came. Running the jobs it has while the
    /// rest arrive does neither. A lone writer (last batch of one) never waits.
    fn take_more(&self, jobs: &mut Vec<Job>, intake: &Intake, durable: bool) -> bool {
        let mut q = self.queue.lock();
        loop {
            let before = jobs.len();
            let fits = |j: &Job| j.durable == durable || self.flush_interval.is_zero();
            while jobs.len() < self.max_batch && q.jobs.front().is_some_and(fits) {
                let Some(job) = q.jobs.pop_front() else { break };
                intake.slots.borrow_mut().push(job.slot.clone());
                jobs.push(job);
            }
            if jobs.len() > before {
                return true;
            }
            // The queue is empty, or what is next does not fit this batch.
            if jobs.len() >= intake.target
                || !q.jobs.is_empty()
                || q.shutdown
                || Instant::now() >= intake.deadline
            {
                return false;
            }
            q.gather_target = 1;
            self.enqueued.wait_until(&mut q, intake.deadline);
            q.gather_target = 0;
        }
    }

    /// `own` is the leader's own slot: its caller is not waiting, so it is answered
    /// outside the wake tree. The last group run takes more jobs as it goes (`intake`).
    fn run_batch(&self, jobs: Vec<Job>, own: &Arc<Slot>, intake: &Intake) {
        if self.poisoned.load(Ordering::Acquire) {
            for job in jobs {
                job.slot.set(SlotState::Done(Err(Error::Poisoned), None));
            }
            return;
        }
        // Buffered jobs do not wait for the fsync that a durable job in the same batch
        // pays: they commit first, unsynced, and are answered at once; the durable jobs
        // then commit with a sync, which makes the first commit durable too. The jobs of
        // one batch were queued concurrently by different threads (a thread waits for its
        // own job), so committing them in either order is a valid serial order.
        let (buffered, durable): (Vec<Job>, Vec<Job>) = if self.flush_interval.is_zero() {
            (Vec::new(), jobs) // every commit syncs anyway
        } else {
            jobs.into_iter().partition(|j| !j.durable)
        };
        let mut committed = self.committed.lock();
        // Taken under the `committed` lock, so queued logs are written in seq order; they
        // go into the first commit.
        let mut logs = Some(self.take_queued());
        let streams = !durable.is_empty();
        for (group, sync) in [(buffered, false), (durable, true)] {
            if group.is_empty() && logs.as_ref().is_none_or(|l| l.is_empty()) {
                continue;
            }
            if self.poisoned.load(Ordering::Acquire) {
                for job in group {
                    job.slot.set(SlotState::Done(Err(Error::Poisoned), None));
                }
                continue;
            }
            let mut logs = logs.take().unwrap_or_else(|| Box::new(Nothing));
            let intake = (sync == streams).then_some(intake);
            self.commit_group(&mut committed, &mut logs, group, sync, own, intake);
        }
    }

    /// Commits `jobs` (after `logs`) in one transaction, re-running it without any job
    /// that fails on its own, and answers every job. With an `intake`, the jobs and logs
    /// queued meanwhile join it.
    fn commit_group(
        &self,
        committed: &mut Committed,
        logs: &mut Box<dyn Queued>,
        mut jobs: Vec<Job>,
        durable: bool,
        own: &Arc<Slot>,
        mut intake: Option<&Intake>,
    ) {
        loop {
            // Only the first try takes more jobs: a re-run holds the ones it had.
            let first = intake.take();
            match self.try_batch(committed, logs, &mut jobs, durable, false, first) {
                Ok(()) => {
                    self.batches.fetch_add(1, Ordering::Relaxed);
                    self.jobs_done
                        .fetch_add(jobs.len() as u64, Ordering::Relaxed);
                    if durable {
                        self.syncs.fetch_add(1, Ordering::Relaxed);
                        committed.unsynced_since = None;
                    } else if committed.unsynced_since.is_none() {
                        committed.unsynced_since = Some(Instant::now());
                    }
                    let mut waiting = Vec::with_capacity(jobs.len());
                    for job in jobs {
                        if Arc::ptr_eq(&job.slot, own) {
                            job.slot.set(SlotState::Done(Ok(()), None));
                        } else {
                            waiting.push(job.slot);
                        }
                    }
                    WakeTree::answer(waiting);
                    return;
                }
                Err(BatchError::Job(i, e)) => {
                    let job = jobs.remove(i);
                    job.slot.set(SlotState::Done(Err(e), None));
                    if jobs.is_empty() && logs.is_empty() {
                        return;
                    }
                }
                Err(BatchError::Storage(e)) => {
                    self.poisoned.store(true, Ordering::Release);
                    let mut first = Some(e);
                    for job in jobs {
                        let err = first.take().unwrap_or(Error::Poisoned);
                        job.slot.set(SlotState::Done(Err(err), None));
                    }
                    return;
                }
            }
        }
    }

    /// Runs one batch in one transaction and commits it. Durable means: with a redo log,
    /// the batch's record is synced there (and the redb commit is not synced, unless a
    /// checkpoint is due or `force_checkpoint`); without one, a synced redb commit.
    fn try_batch(
        &self,
        committed: &mut Committed,
        logs: &mut Box<dyn Queued>,
        jobs: &mut Vec<Job>,
        durable: bool,
        force_checkpoint: bool,
        intake: Option<&Intake>,
    ) -> Result<(), BatchError> {
        let storage = BatchError::Storage;
        let checkpoint = match &committed.redo {
            Some(log) => {
                force_checkpoint
                    || (durable
                        && (committed.checkpointed.elapsed() >= CHECKPOINT_EVERY
                            || log.len() >= CHECKPOINT_BYTES))
            }
            None if self.volatile => {
                force_checkpoint
                    || (durable && committed.checkpointed.elapsed() >= CHECKPOINT_EVERY)
            }
            None => durable,
        };
        let started = Instant::now();
        let mut txn = self.db.begin_write().map_err(|e| storage(e.into()))?;
        let level = if checkpoint {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        };
        txn.set_durability(level)
            .map_err(|e| storage(Error::Storage(e.to_string())))?;
        let seq = committed.next_seq;
        if checkpoint {
            // Only a synced commit survives a crash, so only it needs to say which
            // batches it holds (see `redo`); a write to one more table is 2-3 µs a batch.
            redo::set_applied(&txn, seq).map_err(storage)?;
        }
        // A busy batch writes tens of KiB of changes: room for them up front, rather
        // than a copy at every doubling.
        let changes = RedoBuf::with_capacity(32 << 10);
        let mut next = committed.state.clone();
        for area in crate::engine::registry::get().areas {
            area.begin_batch(&next.areas, &changes);
        }
        let (ran, hooks) = {
            let kind = (seq, checkpoint);
            let mut tx = WriteTx::new(&txn, &changes, &mut next, &*self.clock, &self.areas, kind);
            let ran = self.run_jobs(&mut tx, logs, jobs, durable, intake);
            (ran, tx.take_hooks())
        };
        // The redo record is written ahead of the commit: a durable batch is on disk
        // before any reader can see it. Should the commit then fail, the store is
        // poisoned and the batch's outcome stays unknown until the next open applies it
        // (as with any storage failure mid-commit).
        let sink = self.sink.read().clone();
        let mut shipped = None;
        let outcome = ran.and_then(|()| {
            if let (Some(log), false) = (&mut committed.redo, checkpoint) {
                let ops = changes.take();
                let at = Instant::now();
                log.append(seq, &ops, durable).map_err(storage)?;
                self.redo_bytes
                    .fetch_add(ops.len() as u64, Ordering::Relaxed);
                if durable {
                    self.sync_us.record(at.elapsed().as_micros() as u64);
                }
                if sink.is_some() {
                    shipped = Some(ops);
                }
            } else if sink.is_some() {
                shipped = Some(changes.take());
            }
            let at = Instant::now();
            txn.commit().map_err(|e| storage(e.into()))?;
            if checkpoint || (durable && committed.redo.is_none() && !self.volatile) {
                self.sync_us.record(at.elapsed().as_micros() as u64);
            }
            let took = started.elapsed();
            self.last_batch_ns
                .store(took.as_nanos() as u64, Ordering::Relaxed);
            self.commit_us.record(took.as_micros() as u64);
            self.batch_writes.record(jobs.len() as u64);
            Ok(())
        });
        // Readers' shared snapshot is dropped, and hooks learn the outcome, before any
        // caller is answered.
        self.end_batch();
        let ok = outcome.is_ok();
        for hook in hooks {
            hook(ok);
        }
        outcome?;
        committed.state = next;
        committed.next_seq += 1;
        if let (Some(s), Some(ops)) = (sink, shipped) {
            // Under the writer's lock: batches reach the sink in sequence order.
            s.batch(seq, self.clock.now(), ops);
        }
        if checkpoint {
            if let Some(log) = &mut committed.redo {
                // The synced commit holds every batch in the log.
                log.clear().map_err(storage)?;
            }
            committed.checkpointed = Instant::now();
            committed.since_checkpoint = false;
        } else {
            committed.since_checkpoint = true;
        }
        Ok(())
    }

    /// Writes the queued logs, then runs every job, stopping at the first failure; with
    /// an `intake`, takes more jobs (`take_more`) until none come.
    fn run_jobs(
        &self,
        tx: &mut WriteTx<'_>,
        logs: &mut Box<dyn Queued>,
        jobs: &mut Vec<Job>,
        durable: bool,
        intake: Option<&Intake>,
    ) -> Result<(), BatchError> {
        if !logs.is_empty() {
            logs.write(tx).map_err(BatchError::Storage)?;
        }
        let mut i = 0;
        loop {
            while let Some(job) = jobs.get_mut(i) {
                let res = catch_unwind(AssertUnwindSafe(|| (job.run)(tx)))
                    .unwrap_or_else(|_| Err(Error::Panicked("a write closure panicked".into())));
                match res {
                    Ok(()) => {}
                    Err(e) if e.is_storage_failure() => return Err(BatchError::Storage(e)),
                    Err(e) => return Err(BatchError::Job(i, e)),
                }
                i += 1;
            }
            match intake {
                Some(intake) if self.take_more(jobs, intake, durable) => {
                    // A job taken may have queued logs before it (a durable log append
                    // is a log entry, then an empty durable job): they join this batch,
                    // so its answer covers them. Taken after the jobs, so every one of
                    // theirs is here; a re-run writes them with the rest.
                    let more = self.take_queued();
                    if !more.is_empty() {
                        more.write(tx).map_err(BatchError::Storage)?;
                        // Kept for a re-run. A group that started with nothing queued
                        // holds a placeholder: the work taken replaces it.
                        if logs.is_empty() {
                            *logs = more;
                        } else {
                            logs.extend(more).map_err(BatchError::Storage)?;
                        }
                    }
                }
                _ => break,
            }
        }
        // A failure here is the storage's (a counter out of range is corruption).
        tx.finish().map_err(BatchError::Storage)?;
        Ok(())
    }

    /// Writes queued logs and syncs, if anything is unsynced. The caller must hold
    /// leadership, and the log queue must be closed.
    fn check_open(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn exclusive<P, R>(
        &self,
        pre: impl FnOnce(&mut redb::WriteTransaction, &redb::ReadTransaction, &WriterState) -> Result<P>,
        job: impl FnOnce(&mut WriteTx<'_>, P) -> Result<R>,
    ) -> Result<R> {
        let mut committed = self.committed.lock();
        self.check_open()?;
        let committed = &mut *committed;
        // Taken under the lock: nothing commits between this snapshot and the transaction.
        let before = self.db.begin_read()?;
        let mut txn = self.db.begin_write()?;
        txn.set_durability(redb::Durability::Immediate)
            .map_err(|e| Error::Storage(e.to_string()))?;
        let seq = committed.next_seq;
        let changes = RedoBuf::default();
        let mut next = committed.state.clone();
        for area in crate::engine::registry::get().areas {
            area.begin_batch(&next.areas, &changes);
        }
        let mut hooks = Vec::new();
        let ran = (|| {
            let p = pre(&mut txn, &before, &committed.state)?;
            drop(before);
            redo::set_applied(&txn, seq)?;
            let kind = (seq, true);
            let mut tx = WriteTx::new(&txn, &changes, &mut next, &*self.clock, &self.areas, kind);
            let r = catch_unwind(AssertUnwindSafe(|| job(&mut tx, p)))
                .unwrap_or_else(|_| Err(Error::Panicked("a write closure panicked".into())));
            let r = r.and_then(|r| tx.finish().map(|()| r));
            hooks = tx.take_hooks();
            r
        })();
        let outcome = match ran {
            Ok(r) => match txn.commit() {
                Ok(()) => Ok(r),
                Err(e) => {
                    // The commit's outcome is unknown: as with any storage failure.
                    self.poisoned.store(true, Ordering::Release);
                    Err(e.into())
                }
            },
            Err(e) => {
                // Dropping the transaction aborts it (a restore that failed part-way
                // poisoned it, which only forbids its commit).
                drop(txn);
                if e.is_storage_failure() {
                    self.poisoned.store(true, Ordering::Release);
                }
                Err(e)
            }
        };
        self.end_batch();
        let ok = outcome.is_ok();
        for hook in hooks {
            hook(ok);
        }
        let r = outcome?;
        committed.state = next;
        committed.next_seq += 1;
        committed.unsynced_since = None;
        if let Some(s) = self.sink.read().as_ref() {
            // What `pre` did (a savepoint restored, say) is no put or delete a segment
            // could carry: the replica needs a new snapshot.
            s.reset(seq);
        }
        self.syncs.fetch_add(1, Ordering::Relaxed);
        if let Some(log) = &mut committed.redo {
            if let Err(e) = log.clear() {
                self.poisoned.store(true, Ordering::Release);
                return Err(e);
            }
        }
        // A synced commit: a checkpoint whatever the persistence.
        committed.checkpointed = Instant::now();
        committed.since_checkpoint = false;
        Ok(r)
    }

    fn final_sync(&self) -> Result<()> {
        let mut committed = self.committed.lock();
        let mut logs = self.take_queued();
        let redo_pending = committed.redo.as_ref().is_some_and(|l| l.len() > 0);
        // A volatile store's durable batches commit unsynced (see `Persistence`): one
        // since the last checkpoint still needs the checkpoint its close promises.
        let volatile_pending = self.volatile && committed.since_checkpoint;
        // Every area is asked (no short circuit): the call also tells each that the final
        // checkpoint follows, which its commit observer reads.
        let area_pending = crate::engine::registry::get()
            .areas
            .iter()
            .fold(false, |any, a| a.pending_at_close(&self.areas) | any);
        if committed.unsynced_since.is_none()
            && logs.is_empty()
            && !redo_pending
            && !volatile_pending
            && !area_pending
        {
            return Ok(());
        }
        // A checkpoint: a clean close leaves the redo log empty.
        let res = match self.try_batch(&mut committed, &mut logs, &mut Vec::new(), true, true, None)
        {
            Ok(()) => Ok(()),
            Err(BatchError::Job(_, e)) | Err(BatchError::Storage(e)) => Err(e),
        };
        match res {
            Ok(()) => {
                self.syncs.fetch_add(1, Ordering::Relaxed);
                committed.unsynced_since = None;
                Ok(())
            }
            Err(e) => {
                self.poisoned.store(true, Ordering::Release);
                Err(e)
            }
        }
    }

    /// The flusher: every `flush_interval`, makes pending buffered commits durable by
    /// queueing an empty durable job (it goes through the leader like any write).
    fn flush_loop(&self) {
        loop {
            {
                let deadline = Instant::now() + self.flush_interval;
                let mut q = self.queue.lock();
                while !q.shutdown && Instant::now() < deadline {
                    self.stop_flusher.wait_until(&mut q, deadline);
                }
                if q.shutdown {
                    return;
                }
            }
            // Any commit pending at a tick is at most one interval old.
            let pending = self.committed.lock().unsynced_since.is_some()
                || self.pending.as_ref().is_some_and(|q| !q.is_empty());
            if pending {
                // Errors reach the writers through poisoning; nothing to report here.
                let _ = self.run_job(Box::new(|_| Ok(())), true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A caller may look at its slot before it ever sleeps (it was preempted between
    /// queueing its job and waiting), find its answer already set, and wake its children
    /// while the leader is still setting answers. Each child must then find its own
    /// answer: a child woken before its answer is set sleeps again, and no wakeup comes.
    #[test]
    fn a_caller_that_finds_its_answer_early_wakes_no_child_before_its_answer() {
        for trial in 0..300 {
            let slots: Vec<Arc<Slot>> = (0..24).map(|_| Slot::new()).collect();
            let (done, finished) = std::sync::mpsc::channel();
            let started = Arc::new(std::sync::Barrier::new(slots.len()));
            // Slot 0's caller never sleeps: it polls, as one that has not reached its
            // wait yet would.
            let first = slots[0].clone();
            let (tx, go) = (done.clone(), started.clone());
            std::thread::spawn(move || {
                go.wait();
                loop {
                    let mut st = first.state.lock();
                    if let SlotState::Done(_, tree) =
                        std::mem::replace(&mut *st, SlotState::Waiting)
                    {
                        drop(st);
                        if let Some(tree) = tree {
                            tree.wake_children();
                        }
                        break;
                    }
                }
                let _ = tx.send(0);
            });
            for (i, slot) in slots.iter().enumerate().skip(1) {
                let (slot, tx, go) = (slot.clone(), done.clone(), started.clone());
                std::thread::spawn(move || {
                    let mut st = slot.state.lock();
                    go.wait();
                    while matches!(*st, SlotState::Waiting) {
                        slot.cv.wait(&mut st);
                    }
                    drop(st);
                    // Through the same path as a caller, now that its answer is set.
                    assert!(matches!(slot.wait(), Ok(None)));
                    let _ = tx.send(i);
                });
            }
            // The waiters hold their locks until every thread is at the barrier, so
            // the answers cannot land before they sleep.
            std::thread::sleep(Duration::from_millis(1));
            WakeTree::answer(slots.clone());
            for _ in 0..slots.len() {
                finished
                    .recv_timeout(Duration::from_secs(10))
                    .unwrap_or_else(|_| panic!("trial {trial}: a caller was never woken"));
            }
        }
    }
}
