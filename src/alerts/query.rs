//! Reading alerts: one by id, pages of open ones or of all, with filters and a cursor.

use redb::ReadTransaction;

use crate::alerts::tables::{decode_alert, StoredAlert, BY_STATE, ITEMS, OPEN, RESOLVED_BUCKET};
use crate::alerts::tables::{RESOLVED, UNRESOLVED};
use crate::alerts::{Alert, Severity};
use crate::clock::Timestamp;
use crate::error::{Error, Result};

/// The most alerts one page may hold.
pub const MAX_ALERT_PAGE: usize = 10_000;

/// Which alerts a list walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertScope {
    /// Alerts not resolved (open or acknowledged).
    #[default]
    Open,
    /// Resolved alerts not yet purged.
    Resolved,
    /// Every alert not yet purged: the history.
    All,
}

/// A list query: a scope, optional filters, a page size and a cursor. Alerts come
/// newest first (highest id first).
///
/// ```
/// use hardstore::alerts::{AlertQuery, AlertScope, Severity};
/// let q = AlertQuery::new(AlertScope::All).tenant("acme").min_severity(Severity::Warning);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertQuery {
    pub(crate) scope: AlertScope,
    pub(crate) tenant: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) min_severity: Severity,
    pub(crate) limit: usize,
    pub(crate) cursor: Option<AlertCursor>,
}

impl Default for AlertQuery {
    fn default() -> Self {
        Self::new(AlertScope::Open)
    }
}

impl AlertQuery {
    /// Every alert in `scope`, 100 a page.
    pub fn new(scope: AlertScope) -> Self {
        Self {
            scope,
            tenant: None,
            source: None,
            min_severity: Severity::Info,
            limit: 100,
            cursor: None,
        }
    }

    /// Only alerts of this tenant.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Only alerts raised by this source.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Only alerts of at least this severity.
    pub fn min_severity(mut self, s: Severity) -> Self {
        self.min_severity = s;
        self
    }

    /// The most alerts a page returns, 1..=[`MAX_ALERT_PAGE`].
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continue after the page that returned `cursor`.
    pub fn after(mut self, cursor: AlertCursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_ALERT_PAGE {
            return Err(Error::InvalidArgument(format!(
                "limit {} is outside 1..={MAX_ALERT_PAGE}",
                self.limit
            )));
        }
        Ok(())
    }

    fn matches(&self, a: &StoredAlert) -> bool {
        self.tenant.as_deref().is_none_or(|t| t == a.tenant)
            && self.source.as_deref().is_none_or(|s| s == a.source)
            && a.severity >= self.min_severity as u8
    }
}

/// Where a page ended. Round-trips through bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertCursor {
    last_id: u64,
}

const ALERT_CURSOR_V1: u8 = 5;

impl AlertCursor {
    /// The cursor's 9 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![ALERT_CURSOR_V1];
        b.extend_from_slice(&self.last_id.to_le_bytes());
        b
    }

    /// Parses bytes from [`AlertCursor::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<AlertCursor> {
        if b.len() != 9 || b[0] != ALERT_CURSOR_V1 {
            return Err(Error::InvalidArgument(
                "not a hardstore alert cursor".into(),
            ));
        }
        Ok(AlertCursor {
            last_id: u64::from_le_bytes(b[1..9].try_into().expect("8 bytes")),
        })
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertPage {
    /// The alerts, newest first.
    pub alerts: Vec<Alert>,
    /// Present when more alerts may match: pass it to [`AlertQuery::after`].
    pub next: Option<AlertCursor>,
}

/// Alerts not resolved and resolved ones, as counted from the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertCounts {
    /// Open or acknowledged.
    pub unresolved: u64,
    /// Resolved, not yet purged.
    pub resolved: u64,
}

pub(crate) fn to_alert(id: u64, a: StoredAlert) -> Result<Alert> {
    Ok(Alert {
        id,
        state: a.state()?,
        severity: a.severity()?,
        tenant: a.tenant,
        source: a.source,
        dedup_key: a.dedup_key,
        message: a.message,
        count: a.count,
        first_seen: a.first_seen,
        last_seen: a.last_seen,
        acknowledged_at: (a.acknowledged_at != 0).then_some(a.acknowledged_at),
        acknowledged_by: a.acknowledged_by,
        resolved_at: (a.resolved_at != 0).then_some(a.resolved_at),
        resolved_by: a.resolved_by,
        resolution: a.resolution,
    })
}

pub(crate) fn get(read: &ReadTransaction, id: u64) -> Result<Alert> {
    let t = read.open_table(ITEMS)?;
    let a = match t.get(id)? {
        Some(g) => decode_alert(g.value())?,
        None => return Err(Error::NotFound(format!("alert {id}"))),
    };
    to_alert(id, a)
}

/// The alert not resolved under (`tenant`, `dedup_key`), if any.
pub(crate) fn open_by_key(
    read: &ReadTransaction,
    tenant: &str,
    dedup_key: &str,
) -> Result<Option<Alert>> {
    let t = read.open_table(OPEN)?;
    let id = match t.get((tenant, dedup_key))? {
        Some(g) => g.value(),
        None => return Ok(None),
    };
    get(read, id).map(Some)
}

pub(crate) fn list(read: &ReadTransaction, q: &AlertQuery) -> Result<AlertPage> {
    q.validate()?;
    let items = read.open_table(ITEMS)?;
    let before = q.cursor.map_or(u64::MAX, |c| c.last_id);
    let mut alerts = Vec::new();
    let mut last = None;
    let mut take = |id: u64, alerts: &mut Vec<Alert>| -> Result<bool> {
        let a = match items.get(id)? {
            Some(g) => decode_alert(g.value())?,
            None => {
                return Err(Error::Corrupted(format!(
                    "alert {id} is indexed but absent"
                )))
            }
        };
        last = Some(id);
        if q.matches(&a) {
            alerts.push(to_alert(id, a)?);
        }
        Ok(alerts.len() >= q.limit)
    };
    let mut full = false;
    let mut scanned_out = false;
    match q.scope {
        AlertScope::Open | AlertScope::Resolved => {
            let b = if q.scope == AlertScope::Open {
                UNRESOLVED
            } else {
                RESOLVED_BUCKET
            };
            let idx = read.open_table(BY_STATE)?;
            for row in idx.range((b, 0)..(b, before))?.rev() {
                if take(row?.0.value().1, &mut alerts)? {
                    full = true;
                    break;
                }
            }
        }
        AlertScope::All => {
            // The history walks `ITEMS` itself; a filter that matches little stops the
            // walk at this many rows and hands back a cursor, so a page is bounded work.
            let bound = q.limit.saturating_mul(64);
            let ids: Vec<u64> = items
                .range(..before)?
                .rev()
                .map(|r| r.map(|(k, _)| k.value()))
                .take(bound)
                .collect::<std::result::Result<_, _>>()?;
            scanned_out = ids.len() == bound;
            for id in ids {
                if take(id, &mut alerts)? {
                    full = true;
                    break;
                }
            }
        }
    }
    // A full page, or a history page that stopped at its scan bound, may have more after it.
    let next = if full || scanned_out {
        last.map(|last_id| AlertCursor { last_id })
    } else {
        None
    };
    Ok(AlertPage { alerts, next })
}

pub(crate) fn counts(read: &ReadTransaction) -> Result<AlertCounts> {
    let idx = read.open_table(BY_STATE)?;
    let n = |b: u8| -> Result<u64> {
        let mut n = 0;
        for row in idx.range((b, 0)..=(b, u64::MAX))? {
            row?;
            n += 1;
        }
        Ok(n)
    };
    Ok(AlertCounts {
        unresolved: n(UNRESOLVED)?,
        resolved: n(RESOLVED_BUCKET)?,
    })
}

/// How many alerts were resolved at or before `cutoff`.
pub(crate) fn purgeable(read: &ReadTransaction, cutoff: Timestamp) -> Result<u64> {
    let t = read.open_table(RESOLVED)?;
    let mut n = 0;
    for row in t.range(..=(cutoff, u64::MAX))? {
        row?;
        n += 1;
    }
    Ok(n)
}

/// Whether any alert was resolved at or before `cutoff`.
pub(crate) fn any_resolved_by(read: &ReadTransaction, cutoff: Timestamp) -> Result<bool> {
    let t = read.open_table(RESOLVED)?;
    let mut rows = t.range(..=(cutoff, u64::MAX))?;
    let any = rows.next().transpose()?.is_some();
    Ok(any)
}
