//! Log queries and stats over the ring.

use std::collections::HashMap;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::logs::entry::{Level, LogEntry, StoredLog};
use crate::logs::ring::{Full, ReadRing, Summaries};

/// The most entries one page may hold.
pub const MAX_LOG_PAGE: usize = 10_000;

/// A query over the ring. Every filter is optional; newest first by default.
///
/// ```
/// use hardstore::logs::{Level, LogQuery};
/// let q = LogQuery::new().min_level(Level::Error).tenant("acme").endpoint("POST /checkout").limit(50);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    pub(crate) min_level: Option<Level>,
    pub(crate) tenant: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) from: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
    pub(crate) text: Option<String>,
    pub(crate) oldest_first: bool,
    pub(crate) limit: usize,
    pub(crate) cursor: Option<LogCursor>,
}

impl Default for LogQuery {
    fn default() -> Self {
        Self::new()
    }
}

impl LogQuery {
    /// Every entry, newest first, 100 a page.
    pub fn new() -> Self {
        Self {
            min_level: None,
            tenant: None,
            user: None,
            endpoint: None,
            from: None,
            until: None,
            text: None,
            oldest_first: false,
            limit: 100,
            cursor: None,
        }
    }

    /// Only entries at this level or above.
    pub fn min_level(mut self, level: Level) -> Self {
        self.min_level = Some(level);
        self
    }

    /// Only entries of this tenant.
    pub fn tenant(mut self, v: impl Into<String>) -> Self {
        self.tenant = Some(v.into());
        self
    }

    /// Only entries of this user.
    pub fn user(mut self, v: impl Into<String>) -> Self {
        self.user = Some(v.into());
        self
    }

    /// Only entries of this endpoint.
    pub fn endpoint(mut self, v: impl Into<String>) -> Self {
        self.endpoint = Some(v.into());
        self
    }

    /// Only entries with `from <= time < until` (either bound optional).
    pub fn time_range(mut self, from: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        self.from = from;
        self.until = until;
        self
    }

    /// Only entries whose message contains `text` (case-sensitive, after redaction).
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Oldest first instead of newest first.
    pub fn oldest_first(mut self, yes: bool) -> Self {
        self.oldest_first = yes;
        self
    }

    /// The most entries a page returns, 1..=[`MAX_LOG_PAGE`].
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continue after the page that returned `cursor`.
    pub fn after(mut self, cursor: LogCursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_LOG_PAGE {
            return Err(Error::InvalidArgument(format!(
                "limit {} is outside 1..={MAX_LOG_PAGE}",
                self.limit
            )));
        }
        if let (Some(f), Some(u)) = (self.from, self.until) {
            if f > u {
                return Err(Error::InvalidArgument(format!(
                    "time range starts ({f}) after it ends ({u})"
                )));
            }
        }
        if let Some(c) = &self.cursor {
            if c.oldest_first != self.oldest_first {
                return Err(Error::InvalidArgument(
                    "the cursor was made for the other order".into(),
                ));
            }
        }
        Ok(())
    }

    fn matches(&self, e: &StoredLog<'_>) -> bool {
        if self.min_level.is_some_and(|m| e.level < m as u8) {
            return false;
        }
        if self.tenant.as_deref().is_some_and(|t| t != e.tenant)
            || self.user.as_deref().is_some_and(|u| u != e.user)
            || self.endpoint.as_deref().is_some_and(|x| x != e.endpoint)
        {
            return false;
        }
        if self.from.is_some_and(|f| e.time < f) || self.until.is_some_and(|u| e.time >= u) {
            return false;
        }
        if let Some(t) = &self.text {
            if !e.message.contains(t.as_str()) {
                return false;
            }
        }
        true
    }
}

/// Where a page ended: the seq to continue from. Round-trips through bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCursor {
    seq: u64,
    oldest_first: bool,
}

const LOG_CURSOR_V1: u8 = 2;

impl LogCursor {
    /// The cursor's 10 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![LOG_CURSOR_V1, u8::from(self.oldest_first)];
        b.extend_from_slice(&self.seq.to_le_bytes());
        b
    }

    /// Parses bytes from [`LogCursor::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<LogCursor> {
        if b.len() != 10 || b[0] != LOG_CURSOR_V1 || b[1] > 1 {
            return Err(Error::InvalidArgument("not a hardstore log cursor".into()));
        }
        Ok(LogCursor {
            oldest_first: b[1] == 1,
            seq: u64::from_le_bytes(b[2..10].try_into().expect("8 bytes")),
        })
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    /// The entries, in the query's order.
    pub entries: Vec<LogEntry>,
    /// Present when more entries may match: pass it to [`LogQuery::after`].
    pub next: Option<LogCursor>,
}

pub(crate) fn run(ring: &ReadRing, q: &LogQuery) -> Result<LogPage> {
    q.validate()?;
    let (from, upto) = match (&q.cursor, q.oldest_first) {
        (Some(c), true) => (c.seq.saturating_add(1), u64::MAX),
        (Some(c), false) => (0, c.seq),
        (None, _) => (0, u64::MAX),
    };
    let mut out: Vec<LogEntry> = Vec::with_capacity(q.limit.min(1024));
    let mut more = false;
    ring.scan::<Full>(from, upto, !q.oldest_first, |e| {
        if !q.matches(e) {
            return Ok(true);
        }
        if out.len() == q.limit {
            more = true;
            return Ok(false);
        }
        out.push(e.to_entry()?);
        Ok(true)
    })?;
    let next = if more {
        out.last().map(|e| LogCursor {
            seq: e.seq,
            oldest_first: q.oldest_first,
        })
    } else {
        None
    };
    Ok(LogPage { entries: out, next })
}

/// Per-endpoint figures in [`LogStats`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointStats {
    /// The endpoint.
    pub endpoint: String,
    /// Entries for it in the window.
    pub count: u64,
    /// Of those, at level error or fatal.
    pub errors: u64,
    /// Mean duration in microseconds over the entries that have one.
    pub mean_duration_us: Option<f64>,
    /// 95th percentile duration (nearest rank) over the entries that have one.
    pub p95_duration_us: Option<u64>,
}

/// Figures over a time window of the ring.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogStats {
    /// Entries in the window.
    pub total: u64,
    /// Entries per level, trace first.
    pub per_level: [u64; 6],
    /// Errors (error and fatal) over total; 0 for an empty window.
    pub error_rate: f64,
    /// Per endpoint (entries with an empty endpoint are not listed), by endpoint name.
    pub endpoints: Vec<EndpointStats>,
}

use serde::Serialize;

pub(crate) fn stats(
    ring: &ReadRing,
    from: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<LogStats> {
    if let (Some(f), Some(u)) = (from, until) {
        if f > u {
            return Err(Error::InvalidArgument(format!(
                "time range starts ({f}) after it ends ({u})"
            )));
        }
    }
    let mut per_level = [0u64; 6];
    let mut eps: HashMap<String, (u64, u64, Vec<u64>)> = HashMap::new();
    ring.scan::<Summaries>(0, u64::MAX, false, |e| {
        if from.is_some_and(|f| e.time < f) || until.is_some_and(|u| e.time >= u) {
            return Ok(true);
        }
        let level = e.level()?;
        per_level[level as usize] += 1;
        if !e.endpoint.is_empty() {
            let slot = match eps.get_mut(e.endpoint) {
                Some(s) => s,
                None => eps.entry(e.endpoint.to_owned()).or_default(),
            };
            slot.0 += 1;
            if level.is_error() {
                slot.1 += 1;
            }
            if let Some(d) = e.duration_us {
                slot.2.push(d);
            }
        }
        Ok(true)
    })?;
    let total: u64 = per_level.iter().sum();
    let errors = per_level[Level::Error as usize] + per_level[Level::Fatal as usize];
    let mut eps: Vec<_> = eps.into_iter().collect();
    eps.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let endpoints = eps
        .into_iter()
        .map(|(endpoint, (count, errors, mut d))| {
            let mean =
                (!d.is_empty()).then(|| d.iter().map(|&x| x as f64).sum::<f64>() / d.len() as f64);
            let p95 = (!d.is_empty()).then(|| {
                // Nearest rank: the smallest value with at least 95% at or below it.
                let rank = ((d.len() as f64) * 0.95).ceil() as usize;
                let k = rank.clamp(1, d.len()) - 1;
                *d.select_nth_unstable(k).1
            });
            EndpointStats {
                endpoint,
                count,
                errors,
                mean_duration_us: mean,
                p95_duration_us: p95,
            }
        })
        .collect();
    Ok(LogStats {
        total,
        per_level,
        error_rate: if total == 0 {
            0.0
        } else {
            errors as f64 / total as f64
        },
        endpoints,
    })
}

/// The newest entries of a window, for health: how many, how many at error or above,
/// and the durations of those that have one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recent {
    pub(crate) total: u64,
    pub(crate) errors: u64,
    pub(crate) durations_us: Vec<u64>,
    /// Whether `cap` stopped the walk before the window's start.
    pub(crate) capped: bool,
}

/// The newest entries appended at or after `from`, at most `cap` of them. The ring is
/// walked newest first and stops at the first entry older than `from` (entries are
/// stamped by the store's clock as they are appended, so times do not go back).
pub(crate) fn recent(ring: &ReadRing, from: Timestamp, cap: usize) -> Result<Recent> {
    let mut r = Recent::default();
    ring.scan::<Summaries>(0, u64::MAX, true, |e| {
        if e.time < from {
            return Ok(false);
        }
        if r.total as usize >= cap {
            r.capped = true;
            return Ok(false);
        }
        r.total += 1;
        if e.level()?.is_error() {
            r.errors += 1;
        }
        if let Some(d) = e.duration_us {
            r.durations_us.push(d);
        }
        Ok(true)
    })?;
    Ok(r)
}
