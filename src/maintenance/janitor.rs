//! The janitor: a thread that runs maintenance every interval while the store is open.
//!
//! It holds the store weakly (a `Weak` of its inner state), so it never keeps a store
//! open that every user has dropped; it takes a strong reference only for one run.
//! `Store::close` stops it first (waiting for a run in progress), before the writer
//! stops; dropping the last clone stops it too.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::{MaintenanceOptions, MaintenanceReport};
use crate::error::Result;
use crate::store::{Inner, Store};

/// What the janitor has done since the store was opened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JanitorStatus {
    /// Runs finished.
    pub runs: u64,
    /// The last run's report (`None` before the first).
    pub last: Option<MaintenanceReport>,
    /// The last run's error, when the run as a whole failed (a task's error is in its
    /// report).
    pub last_error: Option<String>,
}

#[derive(Default)]
struct State {
    stop: bool,
    status: JanitorStatus,
}

/// What the janitor's thread shares with the store: its stop flag and status.
struct Control {
    interval: Duration,
    opts: MaintenanceOptions,
    state: Mutex<State>,
    wake: Condvar,
}

/// The janitor of one open (a shared object, present when `Options::janitor` was set).
/// Dropped with the store's state, it stops its thread.
pub(crate) struct Janitor {
    control: Arc<Control>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Janitor {
    fn start(&self, store: Weak<Inner>) -> Result<()> {
        let c = self.control.clone();
        let t = std::thread::Builder::new()
            .name("hardstore-janitor".into())
            .spawn(move || c.run(store))?;
        *self.thread.lock() = Some(t);
        Ok(())
    }

    /// Stops the thread, waiting for a run in progress (unless called from it).
    fn stop(&self) {
        self.control.state.lock().stop = true;
        self.control.wake.notify_all();
        let t = self.thread.lock().take();
        if let Some(t) = t {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }

    pub(crate) fn status(&self) -> JanitorStatus {
        self.control.state.lock().status.clone()
    }
}

impl Control {
    fn run(&self, store: Weak<Inner>) {
        loop {
            {
                let mut st = self.state.lock();
                if !st.stop {
                    self.wake.wait_for(&mut st, self.interval);
                }
                if st.stop {
                    return;
                }
            }
            let Some(inner) = store.upgrade() else { return };
            let store = Store { inner };
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                store.maintenance(&self.opts)
            }));
            let mut st = self.state.lock();
            st.status.runs += 1;
            match res {
                Ok(Ok(r)) => {
                    st.status.last = Some(r);
                    st.status.last_error = None;
                }
                Ok(Err(e)) => st.status.last_error = Some(e.to_string()),
                Err(_) => st.status.last_error = Some("a maintenance run panicked".into()),
            }
            drop(st);
            // The last strong reference may be this one: the store then closes here,
            // on this thread, and `Drop` below sees it is the janitor's own.
            drop(store);
        }
    }
}

impl Drop for Janitor {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Store {
    /// What the janitor did (`None` when the store was opened without
    /// `Options::janitor`).
    pub fn janitor_status(&self) -> Option<JanitorStatus> {
        self.shared::<Janitor>().ok().map(|j| j.status())
    }
}

/// Maintenance's hooks: the janitor starts once the store runs and stops at close.
pub(crate) struct MaintenanceArea;

impl crate::engine::area::Area for MaintenanceArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        if let Some(interval) = ctx.opts.janitor {
            let mut opts = MaintenanceOptions::new();
            if let Some(f) = &ctx.opts.janitor_backups {
                opts = opts.backups_into(f.clone());
            }
            ctx.shared.insert(Arc::new(Janitor {
                control: Arc::new(Control {
                    interval,
                    opts,
                    state: Mutex::new(State::default()),
                    wake: Condvar::new(),
                }),
                thread: Mutex::new(None),
            }));
        }
        Ok(())
    }

    fn after_open(&self, store: &Store) -> Result<()> {
        if let Ok(j) = store.shared::<Janitor>() {
            j.start(Arc::downgrade(&store.inner))?;
        }
        Ok(())
    }

    fn close(&self, shared: &crate::engine::area::Shared) {
        if let Ok(j) = shared.get::<Janitor>() {
            j.stop();
        }
    }
}
