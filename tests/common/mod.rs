#![allow(dead_code)]

pub mod sim_disk;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh directory under the target's temp folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn event(i: u64) -> hardstore::AuditEvent {
    hardstore::AuditEvent::new(format!("tenant-{}", i % 3), format!("action-{}", i % 5))
        .actor(format!("actor-{}", i % 7))
        .resource(format!("res/{i}"))
        .outcome("success")
        .ip("10.0.0.1")
        .user_agent("test/1.0")
        .detail("i", i.to_string())
}

/// Appends audit entry `event(i)` and a log line, both buffered: filler for tests that
/// need every append-only area to hold something.
pub fn audit_and_log(store: &hardstore::Store, i: u64, level: hardstore::Level, line: String) {
    use hardstore::Durability::Buffered;
    store.audit().append(event(i), Buffered).unwrap();
    store
        .logs()
        .append(hardstore::LogRecord::new(level, line), Buffered)
        .unwrap();
}
