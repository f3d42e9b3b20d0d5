//! # hardstore
//!
//! An embedded storage engine for the records a production service must never lose or
//! fake, in one redb file, with a C ABI.
//!
//! ```
//! use hardstore::{AuditEvent, AuditQuery, Durability, Options, Store};
//! # let dir = std::env::temp_dir().join(format!("hs-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let store = Store::open(dir.join("app.hardstore"), Options::new())?;
//! let audit = store.audit();
//! let r = audit.append(AuditEvent::new("acme", "login").actor("alice"), Durability::Durable)?;
//! let size = audit.size()?;
//! let proof = audit.inclusion_proof(r.seq, size)?;
//! proof.verify(&r.leaf_hash, &audit.root(size)?)?;
//! assert!(audit.verify()?.is_ok());
//! let page = audit.query(&AuditQuery::new("acme"))?;
//! assert_eq!(page.entries.len(), 1);
//! store.close()?;
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), hardstore::Error>(())
//! ```
#![warn(missing_docs)]

pub mod alerts;
mod areas;
pub mod audit;
pub mod backup;
pub mod dead_letters;
mod engine;
pub mod ffi;
/// Fuzz targets' bodies and test digests (feature `fuzzing`): not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod health;
pub mod idempotency;
pub mod ip_rules;
pub mod kv;
pub mod logs;
pub mod maintenance;
pub mod metrics;
pub mod rate_limits;
pub mod replication;
pub mod restore_points;
pub mod sealing;
pub mod webhooks;

// The core's modules keep their crate paths (`crate::store`, ...).
pub use engine::clock;
pub(crate) use engine::{codec, error, options, redo, settings, store, tx, writer};

pub use audit::{
    Audit, AuditEntry, AuditEvent, AuditHash, AuditPage, AuditQuery, AuditReceipt, Checkpoint,
    ConsistencyProof, Cosignature, Cursor, Hash, InclusionProof, NoteKeyKind, NoteSigner,
    NoteVerifier, Order, ProofBundle, SignedCheckpoint, VerifyReport,
};
pub use backup::{
    BackupInfo, BackupKey, BackupKind, BackupOptions, BackupRecord, BackupResult, Backups,
    Retention, Schedule, ScheduleHandle,
};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use dead_letters::{
    Claimed, DeadLetter, DeadLetters, DlqCounts, DlqFilter, DlqQuery, DlqState, Jitter,
    NewDeadLetter, Outcome, RetryPolicy,
};
pub use engine::histogram::{HistogramSnapshot, WriteLatency};
pub use error::{Error, Result};
pub use idempotency::{Begin, CachedResponse, IdemToken, Idempotency, KeyInfo, KeyState};
pub use logs::{Level, LogEntry, LogQuery, LogRecord, LogStats, Logs};
pub use options::{Durability, Options};
pub use replication::{ReplicaRestore, ReplicateOptions, ReplicationStatus, RestoreTo};
pub use restore_points::{RestorePoint, RestorePointSpace, RestorePoints, RestoreReceipt};
pub use settings::{SettingChange, Settings, StoreSettings, MAX_RESTORE_POINTS_LIMIT};
pub use store::{Store, StoreId, FORMAT_VERSION};
pub use tx::WriteTx;
pub use writer::WriteStats;
