//! Log entries: what a caller gives ([`LogRecord`]), what the ring keeps
//! ([`LogEntry`]), the documented limits, and the stored encoding.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{Error, Result};

/// The documented limits on a log entry, in bytes of UTF-8.
pub mod limits {
    /// Message: at most 8 KiB.
    pub const MESSAGE: usize = 8 * 1024;
    /// Target (module path, logger name): at most 256 bytes.
    pub const TARGET: usize = 256;
    /// Tenant: at most 128 bytes.
    pub const TENANT: usize = 128;
    /// User: at most 256 bytes.
    pub const USER: usize = 256;
    /// Endpoint (for example "POST /checkout"): at most 256 bytes.
    pub const ENDPOINT: usize = 256;
    /// Error message: at most 4 KiB.
    pub const ERROR: usize = 4 * 1024;
    /// Error cause chain (or stack trace lines): at most 32 links of 1 KiB each.
    pub const CAUSES: usize = 32;
    /// One cause or stack line.
    pub const CAUSE: usize = 1024;
    /// Fields: at most 32 pairs.
    pub const FIELDS: usize = 32;
    /// A field key: 1..=128 bytes.
    pub const FIELD_KEY: usize = 128;
    /// A field value: at most 2 KiB.
    pub const FIELD_VALUE: usize = 2 * 1024;
    /// The whole entry, all strings together: at most 32 KiB.
    pub const ENTRY: usize = 32 * 1024;
}

/// Severity, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Level {
    /// Very fine detail.
    Trace = 0,
    /// Debugging detail.
    Debug = 1,
    /// Normal operation.
    Info = 2,
    /// Something unexpected that was handled.
    Warn = 3,
    /// An operation failed.
    Error = 4,
    /// The service cannot go on.
    Fatal = 5,
}

impl Level {
    /// All levels, lowest first.
    pub const ALL: [Level; 6] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// The level with this number (0 = trace .. 5 = fatal).
    pub fn from_u8(v: u8) -> Option<Level> {
        Level::ALL.get(v as usize).copied()
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        ["trace", "debug", "info", "warn", "error", "fatal"][self as usize]
    }

    /// Whether this level counts as an error in stats (error or fatal).
    pub fn is_error(self) -> bool {
        self >= Level::Error
    }
}

/// An error attached to a log entry: its message and its cause chain (or stack lines).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogError {
    /// The error's own message.
    pub message: String,
    /// Its causes, outermost first (or the lines of a stack trace).
    pub causes: Vec<String>,
}

/// A log entry to append. The ring assigns its seq and time.
///
/// ```
/// use hardstore::logs::{Level, LogRecord};
/// let r = LogRecord::new(Level::Error, "payment declined")
///     .tenant("acme")
///     .endpoint("POST /checkout")
///     .status(502)
///     .duration_us(12_500)
///     .field("order", "1001");
/// assert!(r.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Severity.
    pub level: Level,
    /// The message.
    pub message: String,
    /// Where it came from (module path, logger name).
    pub target: String,
    /// The tenant the request was for.
    pub tenant: String,
    /// The user the request was for.
    pub user: String,
    /// The endpoint served (for example "POST /checkout").
    pub endpoint: String,
    /// The response status code, if any.
    pub status: Option<u16>,
    /// How long the operation took, in microseconds, if known.
    pub duration_us: Option<u64>,
    /// The error, if any.
    pub error: Option<LogError>,
    /// Further key/value pairs, in the order given.
    pub fields: Vec<(String, String)>,
}

impl LogRecord {
    /// A record with a level and a message.
    pub fn new(level: Level, message: impl Into<String>) -> Self {
        Self {
            level,
            message: message.into(),
            target: String::new(),
            tenant: String::new(),
            user: String::new(),
            endpoint: String::new(),
            status: None,
            duration_us: None,
            error: None,
            fields: Vec::new(),
        }
    }

    /// Sets the target.
    pub fn target(mut self, v: impl Into<String>) -> Self {
        self.target = v.into();
        self
    }

    /// Sets the tenant.
    pub fn tenant(mut self, v: impl Into<String>) -> Self {
        self.tenant = v.into();
        self
    }

    /// Sets the user.
    pub fn user(mut self, v: impl Into<String>) -> Self {
        self.user = v.into();
        self
    }

    /// Sets the endpoint.
    pub fn endpoint(mut self, v: impl Into<String>) -> Self {
        self.endpoint = v.into();
        self
    }

    /// Sets the status code.
    pub fn status(mut self, v: u16) -> Self {
        self.status = Some(v);
        self
    }

    /// Sets the duration in microseconds.
    pub fn duration_us(mut self, v: u64) -> Self {
        self.duration_us = Some(v);
        self
    }

    /// Sets the error and its causes.
    pub fn error(mut self, message: impl Into<String>, causes: Vec<String>) -> Self {
        self.error = Some(LogError {
            message: message.into(),
            causes,
        });
        self
    }

    /// Adds a field after the ones already present.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// Checks every documented limit. An over-long message is refused, never cut.
    pub fn validate(&self) -> Result<()> {
        let mut total = 0;
        for (field, v, max) in [
            ("message", &self.message, limits::MESSAGE),
            ("target", &self.target, limits::TARGET),
            ("tenant", &self.tenant, limits::TENANT),
            ("user", &self.user, limits::USER),
            ("endpoint", &self.endpoint, limits::ENDPOINT),
        ] {
            check_len(field, v, max)?;
            total += v.len();
        }
        if let Some(e) = &self.error {
            check_len("error message", &e.message, limits::ERROR)?;
            total += e.message.len();
            if e.causes.len() > limits::CAUSES {
                return Err(Error::TooLong {
                    field: "error causes",
                    len: e.causes.len(),
                    max: limits::CAUSES,
                });
            }
            for c in &e.causes {
                check_len("error cause", c, limits::CAUSE)?;
                total += c.len();
            }
        }
        if self.fields.len() > limits::FIELDS {
            return Err(Error::TooLong {
                field: "fields (pairs)",
                len: self.fields.len(),
                max: limits::FIELDS,
            });
        }
        for (k, v) in &self.fields {
            if k.is_empty() {
                return Err(Error::InvalidArgument("field key must not be empty".into()));
            }
            check_len("field key", k, limits::FIELD_KEY)?;
            check_len("field value", v, limits::FIELD_VALUE)?;
            total += k.len() + v.len();
        }
        if total > limits::ENTRY {
            return Err(Error::TooLong {
                field: "log entry",
                len: total,
                max: limits::ENTRY,
            });
        }
        Ok(())
    }
}

fn check_len(field: &'static str, v: &str, max: usize) -> Result<()> {
    if v.len() > max {
        return Err(Error::TooLong {
            field,
            len: v.len(),
            max,
        });
    }
    Ok(())
}

/// A log entry as kept by the ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    /// Position in the ring's history, from 0; monotonic across restarts.
    pub seq: u64,
    /// When it was appended, microseconds since the Unix epoch.
    pub time: Timestamp,
    /// See [`LogRecord::level`].
    pub level: Level,
    /// See [`LogRecord::message`] (after redaction).
    pub message: String,
    /// See [`LogRecord::target`].
    pub target: String,
    /// See [`LogRecord::tenant`].
    pub tenant: String,
    /// See [`LogRecord::user`].
    pub user: String,
    /// See [`LogRecord::endpoint`].
    pub endpoint: String,
    /// See [`LogRecord::status`].
    pub status: Option<u16>,
    /// See [`LogRecord::duration_us`].
    pub duration_us: Option<u64>,
    /// See [`LogRecord::error`].
    pub error: Option<LogError>,
    /// See [`LogRecord::fields`] (values after redaction).
    pub fields: Vec<(String, String)>,
}

impl LogEntry {
    pub(crate) fn from_record(r: LogRecord, seq: u64, time: Timestamp) -> LogEntry {
        LogEntry {
            seq,
            time,
            level: r.level,
            message: r.message,
            target: r.target,
            tenant: r.tenant,
            user: r.user,
            endpoint: r.endpoint,
            status: r.status,
            duration_us: r.duration_us,
            error: r.error,
            fields: r.fields,
        }
    }
}

/// The stored layout of one entry inside a chunk (record version 1), borrowed so that
/// scans decode without allocating strings. Never change it: add a version instead.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredLog<'a> {
    pub(crate) seq: u64,
    pub(crate) time: u64,
    pub(crate) level: u8,
    pub(crate) status: Option<u16>,
    pub(crate) duration_us: Option<u64>,
    #[serde(borrow)]
    pub(crate) tenant: &'a str,
    #[serde(borrow)]
    pub(crate) user: &'a str,
    #[serde(borrow)]
    pub(crate) endpoint: &'a str,
    #[serde(borrow)]
    pub(crate) target: &'a str,
    #[serde(borrow)]
    pub(crate) message: &'a str,
    pub(crate) error: Option<(&'a str, Vec<&'a str>)>,
    #[serde(borrow)]
    pub(crate) fields: Vec<(&'a str, &'a str)>,
}

/// The columns stats read, decoded from the same bytes as [`StoredLog`] (same field
/// order) while skipping the message, error and fields without allocating.
// Every field must be decoded to walk the bytes, even those stats do not read.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
pub(crate) struct LogSummary<'a> {
    pub(crate) seq: u64,
    pub(crate) time: u64,
    pub(crate) level: u8,
    pub(crate) status: Option<u16>,
    pub(crate) duration_us: Option<u64>,
    #[serde(borrow)]
    pub(crate) tenant: &'a str,
    #[serde(borrow)]
    pub(crate) user: &'a str,
    #[serde(borrow)]
    pub(crate) endpoint: &'a str,
    #[serde(borrow)]
    pub(crate) target: &'a str,
    #[serde(borrow)]
    pub(crate) message: &'a str,
    pub(crate) error: Option<(&'a str, Skip<&'a str>)>,
    pub(crate) fields: Skip<(&'a str, &'a str)>,
}

impl LogSummary<'_> {
    pub(crate) fn level(&self) -> Result<Level> {
        Level::from_u8(self.level)
            .ok_or_else(|| Error::Corrupted(format!("log level {} is unknown", self.level)))
    }
}

/// A sequence decoded element by element and thrown away.
#[derive(Debug)]
pub(crate) struct Skip<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Skip<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Skip<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Skip<T>, A::Error> {
                while seq.next_element::<T>()?.is_some() {}
                Ok(Skip(std::marker::PhantomData))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

impl<'a> StoredLog<'a> {
    pub(crate) fn of(e: &'a LogEntry) -> StoredLog<'a> {
        StoredLog {
            seq: e.seq,
            time: e.time,
            level: e.level as u8,
            status: e.status,
            duration_us: e.duration_us,
            tenant: &e.tenant,
            user: &e.user,
            endpoint: &e.endpoint,
            target: &e.target,
            message: &e.message,
            error: e.error.as_ref().map(|x| {
                (
                    x.message.as_str(),
                    x.causes.iter().map(|c| c.as_str()).collect(),
                )
            }),
            fields: e
                .fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
        }
    }

    pub(crate) fn level(&self) -> Result<Level> {
        Level::from_u8(self.level)
            .ok_or_else(|| Error::Corrupted(format!("log level {} is unknown", self.level)))
    }

    pub(crate) fn to_entry(&self) -> Result<LogEntry> {
        Ok(LogEntry {
            seq: self.seq,
            time: self.time,
            level: self.level()?,
            message: self.message.to_owned(),
            target: self.target.to_owned(),
            tenant: self.tenant.to_owned(),
            user: self.user.to_owned(),
            endpoint: self.endpoint.to_owned(),
            status: self.status,
            duration_us: self.duration_us,
            error: self.error.as_ref().map(|(m, c)| LogError {
                message: (*m).to_owned(),
                causes: c.iter().map(|s| (*s).to_owned()).collect(),
            }),
            fields: self
                .fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        })
    }
}
