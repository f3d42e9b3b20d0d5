//! The group-commit write path.
//!
//! One writer thread owns every redb write transaction. Callers queue jobs; the
//! thread drains whatever is queued (up to `max_batch`), runs the jobs in one
//! transaction and commits once, so N concurrent durable writers share one fsync.
//!
//! Invariants:
//! - A job's caller is answered only after the transaction holding its write has
//!   committed (durably if any job in the batch asked for it), or with the error
//!   that kept it out.
//! - A job that fails with a non-storage error is removed and the batch re-run from a
//!   fresh transaction without it, so one bad job never half-applies nor sinks others.
//!   Jobs are therefore `FnMut` and must only write through the [`WriteTx`].
//! - A storage failure poisons the writer: every later job fails with `Error::Poisoned`.
//! - In-memory state derived from the tables (the Merkle frontier) is cloned per batch
//!   and published only after commit, so an aborted batch leaves it untouched.
//! - Buffered commits are followed by a durable (empty) commit within `flush_interval`,
//!   and on shutdown.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use redb::Database;

use crate::audit::AuditState;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::tx::WriteTx;

type RunFn = Box<dyn FnMut(&mut WriteTx<'_>) -> Result<()> + Send>;
type DoneFn = Box<dyn FnOnce(Result<()>) + Send>;

/// One caller's write, queued for the writer thread.
pub(crate) struct Job {
    run: RunFn,
    done: DoneFn,
    durable: bool,
}

/// State derived from the tables that the writer keeps in memory between batches.
#[derive(Clone, Debug)]
pub(crate) struct WriterState {
    pub(crate) audit: AuditState,
}

struct Queue {
    jobs: VecDeque<Job>,
    shutdown: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    poisoned: AtomicBool,
    closed: AtomicBool,
}

/// Handle to the writer thread. Dropping it flushes and joins.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(crate) fn start(
        db: Arc<Database>,
        clock: Arc<dyn Clock>,
        state: WriterState,
        flush_interval: Duration,
        max_batch: usize,
    ) -> Result<Writer> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                shutdown: false,
            }),
            wake: Condvar::new(),
            poisoned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        });
        let mut worker = Worker {
            db,
            clock,
            state,
            flush_interval,
            max_batch,
            shared: shared.clone(),
            unsynced_since: None,
        };
        let thread = std::thread::Builder::new()
            .name("hardstore-writer".into())
            .spawn(move || worker.run())?;
        Ok(Writer {
            shared,
            thread: Mutex::new(Some(thread)),
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
        let slot = out.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<()>>(1);
        let job = Job {
            run: Box::new(move |w| {
                let r = f(w)?;
                *slot.lock() = Some(r);
                Ok(())
            }),
            done: Box::new(move |res| {
                // The caller may have gone away; nothing to tell then.
                let _ = tx.send(res);
            }),
            durable: durability == Durability::Durable,
        };
        self.enqueue(job)?;
        rx.recv().map_err(|_| Error::Closed)??;
        let r = out.lock().take();
        r.ok_or_else(|| Error::Storage("writer finished a job without its output".into()))
    }

    /// Makes every write acknowledged so far durable.
    pub(crate) fn flush(&self) -> Result<()> {
        self.submit(Durability::Durable, |_| Ok(()))
    }

    fn enqueue(&self, job: Job) -> Result<()> {
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        let mut q = self.shared.queue.lock();
        if q.shutdown || self.shared.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        q.jobs.push_back(job);
        drop(q);
        self.shared.wake.notify_one();
        Ok(())
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.shared.poisoned.load(Ordering::Acquire)
    }

    /// Flushes, stops the thread and joins it. Idempotent.
    pub(crate) fn shutdown(&self) -> Result<()> {
        let flushed = if self.shared.closed.load(Ordering::Acquire) {
            Ok(())
        } else {
            self.flush()
        };
        self.shared.queue.lock().shutdown = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.lock().take() {
            if t.join().is_err() {
                return Err(Error::Storage("writer thread panicked".into()));
            }
        }
        match flushed {
            Err(Error::Closed) => Ok(()),
            other => other,
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

struct Worker {
    db: Arc<Database>,
    clock: Arc<dyn Clock>,
    state: WriterState,
    flush_interval: Duration,
    max_batch: usize,
    shared: Arc<Shared>,
    /// When the oldest commit not yet synced was made.
    unsynced_since: Option<Instant>,
}

enum BatchError {
    /// Job `i` failed on its own; re-run the batch without it.
    Job(usize, Error),
    /// The storage layer failed; the whole batch fails and the writer is poisoned.
    Storage(Error),
}

impl Worker {
    fn run(&mut self) {
        loop {
            let (jobs, shutdown) = self.next_jobs();
            if !jobs.is_empty() {
                self.run_batch(jobs);
            } else if self.unsynced_since.is_some() {
                // Flush deadline reached (or shutting down): sync with an empty commit.
                if self.commit_empty_durable().is_err() {
                    self.poison();
                }
            }
            if shutdown && self.shared.queue.lock().jobs.is_empty() {
                if self.unsynced_since.is_some() {
                    if self.commit_empty_durable().is_err() {
                        self.poison();
                    }
                }
                self.shared.closed.store(true, Ordering::Release);
                // Answer anything that raced in after the last drain.
                let left: Vec<Job> = self.shared.queue.lock().jobs.drain(..).collect();
                for job in left {
                    (job.done)(Err(Error::Closed));
                }
                return;
            }
        }
    }

    /// Waits for work, the flush deadline or shutdown; returns the jobs to run.
    fn next_jobs(&mut self) -> (Vec<Job>, bool) {
        let mut q = self.shared.queue.lock();
        loop {
            if !q.jobs.is_empty() || q.shutdown {
                break;
            }
            match self.unsynced_since {
                Some(since) => {
                    let deadline = since + self.flush_interval;
                    if Instant::now() >= deadline {
                        break;
                    }
                    self.shared.wake.wait_until(&mut q, deadline);
                }
                None => self.shared.wake.wait(&mut q),
            }
        }
        let n = q.jobs.len().min(self.max_batch);
        (q.jobs.drain(..n).collect(), q.shutdown)
    }

    fn run_batch(&mut self, mut jobs: Vec<Job>) {
        if self.shared.poisoned.load(Ordering::Acquire) {
            for job in jobs {
                (job.done)(Err(Error::Poisoned));
            }
            return;
        }
        let durable = self.flush_interval.is_zero() || jobs.iter().any(|j| j.durable);
        loop {
            match self.try_batch(&mut jobs, durable) {
                Ok(()) => {
                    if durable {
                        self.unsynced_since = None;
                    } else if self.unsynced_since.is_none() {
                        self.unsynced_since = Some(Instant::now());
                    }
                    for job in jobs {
                        (job.done)(Ok(()));
                    }
                    return;
                }
                Err(BatchError::Job(i, e)) => {
                    let job = jobs.remove(i);
                    (job.done)(Err(e));
                    if jobs.is_empty() {
                        return;
                    }
                }
                Err(BatchError::Storage(e)) => {
                    self.poison();
                    let mut first = Some(e);
                    for job in jobs {
                        (job.done)(Err(first.take().unwrap_or(Error::Poisoned)));
                    }
                    return;
                }
            }
        }
    }

    fn try_batch(&mut self, jobs: &mut [Job], durable: bool) -> Result<(), BatchError> {
        let storage = BatchError::Storage;
        let mut txn = self.db.begin_write().map_err(|e| storage(e.into()))?;
        let level = if durable {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        };
        txn.set_durability(level)
            .map_err(|e| storage(Error::Storage(e.to_string())))?;
        let mut state = self.state.clone();
        {
            let mut tx = WriteTx::new(&txn, &mut state, &*self.clock);
            for (i, job) in jobs.iter_mut().enumerate() {
                let res = catch_unwind(AssertUnwindSafe(|| (job.run)(&mut tx)))
                    .unwrap_or_else(|_| Err(Error::Panicked("a write closure panicked".into())));
                match res {
                    Ok(()) => {}
                    Err(e) if e.is_storage_failure() => return Err(storage(e)),
                    Err(e) => return Err(BatchError::Job(i, e)),
                }
            }
        }
        txn.commit().map_err(|e| storage(e.into()))?;
        self.state = state;
        Ok(())
    }

    fn commit_empty_durable(&mut self) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.commit()?;
        self.unsynced_since = None;
        Ok(())
    }

    fn poison(&self) {
        self.shared.poisoned.store(true, Ordering::Release);
    }
}
