//! The one error type of the crate.
//!
//! Every fallible function returns [`Result`]. Variants are grouped so a caller
//! can match on the family (bad input, not found, storage, proof) without
//! parsing messages; the C ABI maps each variant to a stable result code.

use std::path::PathBuf;

/// Everything that can go wrong in hardstore.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before anything was written.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A field exceeded its documented limit. Nothing was written.
    #[error("{field} is {len} bytes; the limit is {max}")]
    TooLong {
        /// The name of the field that was too long.
        field: &'static str,
        /// The length that was given.
        len: usize,
        /// The documented limit.
        max: usize,
    },

    /// A string argument was not valid UTF-8 (C callers only; Rust strings always are).
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),

    /// The requested record does not exist.
    #[error("not found: {0}")]
    NotFound(String),

    /// The file exists but is not a hardstore store; it was left untouched.
    #[error("{path} is not a hardstore store: {reason}")]
    NotAStore {
        /// The file that was refused.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },

    /// The store was written by a newer format version; it was left untouched.
    #[error("store format version {found} is newer than this library supports ({supported})")]
    FormatTooNew {
        /// The version recorded in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },

    /// A record's encoding version is not one this build can read.
    #[error("unknown record format version {0}")]
    UnknownRecordVersion(u8),

    /// Another process (or another `Store` in this process) holds the file open for writing.
    #[error("{0} is already open by another process or handle")]
    AlreadyOpen(PathBuf),

    /// The store is read-only; writes are refused.
    #[error("the store was opened read-only")]
    ReadOnly,

    /// A write failed part-way at the storage layer. Every later write fails with this
    /// error until the store is reopened, so no write is acknowledged on a store whose
    /// on-disk state is uncertain.
    #[error("the store is poisoned after an earlier I/O failure; reopen it")]
    Poisoned,

    /// The store was closed.
    #[error("the store is closed")]
    Closed,

    /// The file's contents are damaged (a decode or integrity failure).
    #[error("corrupted: {0}")]
    Corrupted(String),

    /// A lease holder was fenced off: an idempotency token whose lease ran out and
    /// another caller took over (or whose key was released, completed or expired), or a
    /// dead-letter claim whose lease ran out or was claimed again. Nothing changed.
    #[error("fenced: {0}")]
    Fenced(String),

    /// A proof did not verify against the given root, or was malformed.
    #[error("proof does not verify: {0}")]
    ProofInvalid(String),

    /// A checkpoint's MAC did not match, or the checkpoint was malformed.
    #[error("checkpoint invalid: {0}")]
    CheckpointInvalid(String),

    /// A documented cap was reached (e.g. the number of restore points). Nothing changed.
    #[error("{what}: the limit of {max} is reached")]
    LimitReached {
        /// What is capped.
        what: &'static str,
        /// The cap.
        max: usize,
    },

    /// A change would delete stored data (such as log entries a smaller ring evicts) and
    /// the caller did not confirm that much. Nothing changed.
    #[error("confirmation required: {what}; confirm {deletes} to proceed")]
    ConfirmationRequired {
        /// What the change would delete.
        what: String,
        /// How many entries it would delete: the count to confirm.
        deletes: u64,
    },

    /// A backup is encrypted and no key, or another key than its own, was given.
    /// Nothing was read past the file's header.
    #[error("wrong key: {0}")]
    WrongKey(String),

    /// A sealed field's subject was shredded: its data key is gone, so nobody can read
    /// the field again.
    #[error("shredded: {0}")]
    Shredded(String),

    /// A sealing key is not available: not given to the store (by bytes or callback),
    /// disabled or destroyed, or the bytes given are not the key the store knows by that
    /// id. Nothing changed.
    #[error("key unavailable: {0}")]
    KeyUnavailable(String),

    /// Bytes given as a sealed field are not one: cut, edited, of another store, or not
    /// a sealed blob at all.
    #[error("sealed field invalid: {0}")]
    SealedInvalid(String),

    /// A webhook's signature headers did not verify: missing or malformed, a timestamp
    /// outside the tolerance, or no signature matching a secret.
    #[error("webhook signature invalid: {0}")]
    SignatureInvalid(String),

    /// Caller-supplied code (a write closure) panicked; its write was discarded.
    #[error("panicked: {0}")]
    Panicked(String),

    /// An I/O error outside redb (export files, the store path).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// An error reported by redb that is none of the above.
    #[error("storage error: {0}")]
    Storage(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether this error came from the storage layer during a write, which poisons the store.
    pub(crate) fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            Error::Io(_) | Error::Storage(_) | Error::Corrupted(_) | Error::Poisoned
        )
    }
}

impl From<redb::StorageError> for Error {
    fn from(e: redb::StorageError) -> Self {
        match e {
            redb::StorageError::Corrupted(msg) => Error::Corrupted(msg),
            redb::StorageError::Io(io) => Error::Io(io),
            redb::StorageError::PreviousIo => Error::Poisoned,
            redb::StorageError::DatabaseClosed => Error::Closed,
            other => Error::Storage(other.to_string()),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                redb::Error::from(e).into()
            }
        }
    )*};
}
from_redb!(
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::DatabaseError
);

impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Self {
        match e {
            redb::Error::Corrupted(msg) => Error::Corrupted(msg),
            redb::Error::Io(io) => Error::Io(io),
            redb::Error::PreviousIo | redb::Error::TransactionPoisoned => Error::Poisoned,
            redb::Error::DatabaseClosed => Error::Closed,
            redb::Error::DatabaseAlreadyOpen => Error::AlreadyOpen(PathBuf::new()),
            redb::Error::UpgradeRequired(v) => Error::NotAStore {
                path: PathBuf::new(),
                reason: format!("redb file format {v} needs an upgrade this build does not do"),
            },
            other => Error::Storage(other.to_string()),
        }
    }
}

impl From<postcard::Error> for Error {
    fn from(e: postcard::Error) -> Self {
        Error::Corrupted(format!("record decode: {e}"))
    }
}
