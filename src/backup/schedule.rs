//! The schedule: which backup is due, and an optional thread that runs them.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::catalog::{BackupKind, BackupRecord, BackupResult};
use super::{BackupOptions, Backups};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::Store;

pub use crate::engine::values::Schedule;

impl Schedule {
    /// The kind due at `now` given the catalog `all` (oldest first), if any: the
    /// largest kind due wins.
    pub(crate) fn due(&self, all: &[BackupRecord], now: Timestamp) -> Option<BackupKind> {
        let last = |f: &dyn Fn(BackupKind) -> bool| {
            all.iter()
                .filter(|r| r.result == BackupResult::Ok && f(r.kind))
                .map(|r| r.started)
                .max()
        };
        let older = |t: Option<Timestamp>, every: Duration| {
            t.is_none_or(|t| now.saturating_sub(t) >= every.as_micros() as u64)
        };
        if older(last(&|k| k == BackupKind::Full), self.full_every) {
            Some(BackupKind::Full)
        } else if older(
            last(&|k| k != BackupKind::Differential),
            self.incremental_every,
        ) {
            Some(BackupKind::Incremental)
        } else if older(last(&|_| true), self.differential_every) {
            Some(BackupKind::Differential)
        } else {
            None
        }
    }
}

impl Backups<'_> {
    /// Runs the backup `schedule` says is due at `now` into `folder`, if any, then
    /// applies its retention; returns the run.
    pub fn run_due(
        &self,
        now: Timestamp,
        folder: impl AsRef<std::path::Path>,
        schedule: &Schedule,
        opts: &BackupOptions,
    ) -> Result<Option<BackupRecord>> {
        let Some(kind) = schedule.due(&self.list()?, now) else {
            return Ok(None);
        };
        let rec = self.run(kind, folder, opts)?;
        if let Some(r) = &schedule.retention {
            self.prune(r, now, false)?;
        }
        Ok(Some(rec))
    }
}

struct Shared {
    stop: Mutex<bool>,
    wake: Condvar,
    last_error: Mutex<Option<String>>,
}

/// A thread running [`Backups::run_due`] every `check_every`; stopped by
/// [`ScheduleHandle::stop`] or on drop. It holds a clone of the store, which stays open
/// until the thread stops.
pub struct ScheduleHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl ScheduleHandle {
    /// Starts the thread.
    pub fn spawn(
        store: Store,
        folder: impl Into<PathBuf>,
        schedule: Schedule,
        opts: BackupOptions,
        check_every: Duration,
    ) -> Result<ScheduleHandle> {
        if check_every.is_zero() {
            return Err(Error::InvalidArgument(
                "check_every must be above zero".into(),
            ));
        }
        let folder = folder.into();
        super::file::check_path(&folder, "a backup schedule")?;
        let shared = Arc::new(Shared {
            stop: Mutex::new(false),
            wake: Condvar::new(),
            last_error: Mutex::new(None),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("hardstore-backups".into())
            .spawn(move || loop {
                let now = store.clock_now();
                // A failed run is in the catalog; the error is kept for the caller too.
                let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    store.backups().run_due(now, &folder, &schedule, &opts)
                }));
                *s.last_error.lock() = match res {
                    Ok(Ok(_)) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(_) => Some("a scheduled backup panicked".into()),
                };
                let mut stop = s.stop.lock();
                if !*stop {
                    s.wake.wait_for(&mut stop, check_every);
                }
                if *stop {
                    return;
                }
            })?;
        Ok(ScheduleHandle {
            shared,
            thread: Some(thread),
        })
    }

    /// The error of the last check, if it failed.
    pub fn last_error(&self) -> Option<String> {
        self.shared.last_error.lock().clone()
    }

    /// Stops the thread, waiting for a run in progress to finish.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        *self.shared.stop.lock() = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ScheduleHandle {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_kind_due_wins() {
        let h = 3600 * 1_000_000u64;
        let s = Schedule::default();
        let rec = |kind, started| BackupRecord {
            id: 0,
            kind,
            base: None,
            file: String::new(),
            started,
            ended: None,
            bytes: 0,
            entries: 0,
            digest: None,
            result: BackupResult::Ok,
            error: None,
            covered_from: 0,
            covered_to: 0,
            audit_size: 0,
            key_id: None,
        };
        assert_eq!(s.due(&[], 0), Some(BackupKind::Full));
        let all = vec![rec(BackupKind::Full, 0)];
        assert_eq!(s.due(&all, h / 2), None);
        assert_eq!(s.due(&all, h), Some(BackupKind::Differential));
        assert_eq!(s.due(&all, 6 * h), Some(BackupKind::Incremental));
        assert_eq!(s.due(&all, 24 * h), Some(BackupKind::Full));
    }
}
