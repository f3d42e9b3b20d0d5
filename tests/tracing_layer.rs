//! The tracing layer: field mapping, span fields, and an app that keeps running when the
//! store fails under it.
#![cfg(feature = "tracing")]

mod common;

use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hardstore::logs::{Level, LogQuery, RingLayer};
use hardstore::{Options, Store};
use redb::backends::InMemoryBackend;
use redb::{BackendError, StorageBackend};
use tracing_subscriber::prelude::*;

#[test]
fn events_and_span_fields_become_entries() {
    let dir = common::TempDir::new("tracing");
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    let layer = RingLayer::new(store.clone());
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", tenant = "acme", endpoint = "POST /checkout");
        let _g = span.enter();
        tracing::info!(
            status = 200u16,
            duration_us = 1500u64,
            order = 42,
            "order placed for bob@example.com"
        );
        tracing::error!(user = "u7", "payment failed");
        tracing::trace!("fine detail");
    });
    let page = store
        .logs()
        .query(&LogQuery::new().oldest_first(true))
        .unwrap();
    assert_eq!(page.entries.len(), 3);
    let e = &page.entries[0];
    assert_eq!(e.level, Level::Info);
    assert_eq!(e.message, "order placed for [email]");
    assert_eq!(
        (e.tenant.as_str(), e.endpoint.as_str()),
        ("acme", "POST /checkout")
    );
    assert_eq!((e.status, e.duration_us), (Some(200), Some(1500)));
    assert_eq!(e.fields, vec![("order".to_string(), "42".to_string())]);
    assert_eq!(e.target, module_path!());
    let e = &page.entries[1];
    assert_eq!(
        (e.level, e.user.as_str(), e.tenant.as_str()),
        (Level::Error, "u7", "acme")
    );
    assert_eq!(page.entries[2].level, Level::Trace);
    assert_eq!(layer.dropped(), 0);
}

/// An in-memory backend whose writes start failing on request.
#[derive(Debug, Clone, Default)]
struct Failing {
    mem: Arc<InMemoryBackend>,
    fail: Arc<AtomicBool>,
}

impl Failing {
    fn check(&self) -> Result<(), std::io::Error> {
        if self.fail.load(Ordering::SeqCst) {
            Err(std::io::Error::other("injected failure"))
        } else {
            Ok(())
        }
    }
}

impl StorageBackend for Failing {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.mem.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.mem.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.check()?;
        self.mem.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.check()?;
        self.mem.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.check()?;
        self.mem.write(offset, data)
    }
    fn try_lock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<bool, BackendError> {
        self.mem.try_lock_range(s, e)
    }
    fn try_lock_shared_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<bool, BackendError> {
        self.mem.try_lock_shared_range(s, e)
    }
    fn lock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<(), BackendError> {
        self.mem.lock_range(s, e)
    }
    fn lock_shared_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<(), BackendError> {
        self.mem.lock_shared_range(s, e)
    }
    fn unlock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<(), BackendError> {
        self.mem.unlock_range(s, e)
    }
}

#[test]
fn a_failing_store_never_stops_the_app() {
    let backend = Failing::default();
    let store = Store::open_with_backend(
        backend.clone(),
        Options::new().flush_interval(std::time::Duration::from_millis(5)),
    )
    .unwrap();
    let layer = RingLayer::new(store.clone());
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("before the failure");
        backend.fail.store(true, Ordering::SeqCst);
        // The flusher's commit fails and poisons the store; logging goes on regardless.
        let started = std::time::Instant::now();
        for i in 0..40_000 {
            tracing::info!(i, "while the disk fails");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        tracing::info!(message = %"x".repeat(9_000), "over-long entries are dropped, not cut");
    });
    // The queue is bounded: what did not fit was dropped and counted.
    assert!(layer.dropped() > 0, "drops are counted");
    store.close().ok();
    // After close, events are dropped and counted too; nothing panics.
    let before = layer.dropped();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        tracing::warn!("after close");
    });
    assert_eq!(layer.dropped(), before + 1);
}
