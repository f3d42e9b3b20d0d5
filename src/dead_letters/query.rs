//! Reading dead letters: one by id, lists with filters and a cursor, per-state counts.

use redb::{ReadTransaction, ReadableTable};

use crate::clock::Timestamp;
use crate::dead_letters::tables::{
    bucket, decode_item, StoredItem, BY_STATE, COUNTS, ITEMS, PAYLOADS,
};
use crate::dead_letters::{Attempt, DeadLetter, DlqCounts, DlqState};
use crate::error::{Error, Result};

/// The most items one page may hold.
pub const MAX_DLQ_PAGE: usize = 10_000;

/// Which items a list or a redrive selects. Every filter is optional.
///
/// ```
/// use hardstore::dead_letters::DlqFilter;
/// let f = DlqFilter::new().kind("webhook").tenant("acme").time_range(Some(1_000), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DlqFilter {
    pub(crate) kind: Option<String>,
    pub(crate) tenant: Option<String>,
    pub(crate) from: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
}

impl DlqFilter {
    /// Every item.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only items of this kind.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only items of this tenant.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Only items recorded at `from <= time < until` (either bound optional).
    pub fn time_range(mut self, from: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        self.from = from;
        self.until = until;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if let (Some(f), Some(u)) = (self.from, self.until) {
            if f > u {
                return Err(Error::InvalidArgument(format!(
                    "time range starts ({f}) after it ends ({u})"
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn matches(&self, tenant: &str, kind: &str, created: Timestamp) -> bool {
        self.kind.as_deref().is_none_or(|k| k == kind)
            && self.tenant.as_deref().is_none_or(|t| t == tenant)
            && self.from.is_none_or(|f| created >= f)
            && self.until.is_none_or(|u| created < u)
    }
}

/// A list query: a filter, an optional state, a page size and a cursor. Items come in
/// id order (the order they were recorded).
///
/// ```
/// use hardstore::dead_letters::{DlqQuery, DlqState};
/// let q = DlqQuery::new().state(DlqState::Dead).kind("email").limit(50);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlqQuery {
    pub(crate) filter: DlqFilter,
    pub(crate) state: Option<DlqState>,
    pub(crate) limit: usize,
    pub(crate) cursor: Option<DlqCursor>,
}

impl Default for DlqQuery {
    fn default() -> Self {
        Self::new()
    }
}

impl DlqQuery {
    /// Every item, 100 a page.
    pub fn new() -> Self {
        Self {
            filter: DlqFilter::new(),
            state: None,
            limit: 100,
            cursor: None,
        }
    }

    /// Only items selected by `filter` (replaces the kind, tenant and time filters).
    pub fn filter(mut self, filter: DlqFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Only items in this state.
    pub fn state(mut self, state: DlqState) -> Self {
        self.state = Some(state);
        self
    }

    /// Only items of this kind.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.filter.kind = Some(kind.into());
        self
    }

    /// Only items of this tenant.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.filter.tenant = Some(tenant.into());
        self
    }

    /// Only items recorded at `from <= time < until` (either bound optional).
    pub fn time_range(mut self, from: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        self.filter.from = from;
        self.filter.until = until;
        self
    }

    /// The most items a page returns, 1..=[`MAX_DLQ_PAGE`].
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continue after the page that returned `cursor`.
    pub fn after(mut self, cursor: DlqCursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_DLQ_PAGE {
            return Err(Error::InvalidArgument(format!(
                "limit {} is outside 1..={MAX_DLQ_PAGE}",
                self.limit
            )));
        }
        self.filter.validate()
    }
}

/// Where a page ended. Round-trips through bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlqCursor {
    last_id: u64,
}

const DLQ_CURSOR_V1: u8 = 3;

impl DlqCursor {
    /// The cursor's 9 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![DLQ_CURSOR_V1];
        b.extend_from_slice(&self.last_id.to_le_bytes());
        b
    }

    /// Parses bytes from [`DlqCursor::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<DlqCursor> {
        if b.len() != 9 || b[0] != DLQ_CURSOR_V1 {
            return Err(Error::InvalidArgument(
                "not a hardstore dead-letter cursor".into(),
            ));
        }
        Ok(DlqCursor {
            last_id: u64::from_le_bytes(b[1..9].try_into().expect("8 bytes")),
        })
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlqPage {
    /// The items, in id order.
    pub items: Vec<DeadLetter>,
    /// Present when more items may match: pass it to [`DlqQuery::after`].
    pub next: Option<DlqCursor>,
}

/// Whether the dead-letter tables exist (a store created before them has none until
/// its first dead-letter write).
fn exists(read: &ReadTransaction) -> Result<bool> {
    match read.open_table(COUNTS) {
        Ok(_) => Ok(true),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn to_view(id: u64, item: StoredItem, payload: Vec<u8>) -> Result<DeadLetter> {
    let state = item.state()?;
    Ok(DeadLetter {
        id,
        tenant: item.tenant,
        kind: item.kind,
        payload,
        state,
        attempts: item.attempts,
        max_attempts: item.max_attempts,
        created: item.created,
        next_attempt_at: (state == DlqState::Pending).then_some(item.at),
        lease_until: (state == DlqState::Leased).then_some(item.at),
        finished_at: matches!(state, DlqState::Done | DlqState::Dead).then_some(item.finished),
        redrives: item.redrives,
        history: item
            .history
            .into_iter()
            .map(|a| Attempt {
                attempt: a.attempt,
                at: a.at,
                error: a.error,
                retryable: a.retryable,
            })
            .collect(),
    })
}

fn read_one(
    items: &impl ReadableTable<u64, &'static [u8]>,
    payloads: &impl ReadableTable<u64, &'static [u8]>,
    id: u64,
) -> Result<Option<DeadLetter>> {
    let Some(g) = items.get(id)? else {
        return Ok(None);
    };
    let item = decode_item(g.value())?;
    let payload = payloads
        .get(id)?
        .ok_or_else(|| Error::Corrupted(format!("dead letter {id} has no payload")))?
        .value()
        .to_vec();
    to_view(id, item, payload).map(Some)
}

pub(crate) fn get(read: &ReadTransaction, id: u64) -> Result<DeadLetter> {
    let missing = || Error::NotFound(format!("dead letter {id}"));
    if !exists(read)? {
        return Err(missing());
    }
    let items = read.open_table(ITEMS)?;
    let payloads = read.open_table(PAYLOADS)?;
    read_one(&items, &payloads, id)?.ok_or_else(missing)
}

pub(crate) fn counts(read: &ReadTransaction) -> Result<DlqCounts> {
    if !exists(read)? {
        return Ok(DlqCounts::default());
    }
    let t = read.open_table(COUNTS)?;
    let get = |s: DlqState| -> Result<u64> { Ok(t.get(s as u8)?.map(|g| g.value()).unwrap_or(0)) };
    Ok(DlqCounts {
        pending: get(DlqState::Pending)?,
        leased: get(DlqState::Leased)?,
        done: get(DlqState::Done)?,
        dead: get(DlqState::Dead)?,
    })
}

pub(crate) fn list(read: &ReadTransaction, q: &DlqQuery) -> Result<DlqPage> {
    q.validate()?;
    let empty = DlqPage {
        items: Vec::new(),
        next: None,
    };
    if !exists(read)? {
        return Ok(empty);
    }
    let start = match q.cursor {
        Some(c) if c.last_id == u64::MAX => return Ok(empty),
        Some(c) => c.last_id + 1,
        None => 0,
    };
    let items = read.open_table(ITEMS)?;
    let payloads = read.open_table(PAYLOADS)?;
    let mut out = Vec::new();
    let mut more = false;
    match q.state {
        // A state filter walks that state's bucket of index rows, which carry what the
        // filter needs. Pending and Leased items share a bucket: each one's state is checked.
        Some(state) => {
            let by_state = read.open_table(BY_STATE)?;
            let b = bucket(state as u8);
            let shared = b == bucket(DlqState::Leased as u8);
            for row in by_state.range((b, start)..=(b, u64::MAX))? {
                let (k, v) = row?;
                let (tenant, kind, created) = v.value();
                if !q.filter.matches(tenant, kind, created) {
                    continue;
                }
                let id = k.value().1;
                let item = match items.get(id)? {
                    Some(g) => decode_item(g.value())?,
                    None => {
                        return Err(Error::Corrupted(format!(
                            "dead letter {id} is indexed but missing"
                        )))
                    }
                };
                if shared && item.state != state as u8 {
                    continue;
                }
                if out.len() == q.limit {
                    more = true;
                    break;
                }
                // The payload (up to 1 MiB) is read only for an item the page keeps.
                let payload = payloads
                    .get(id)?
                    .ok_or_else(|| Error::Corrupted(format!("dead letter {id} has no payload")))?
                    .value()
                    .to_vec();
                out.push(to_view(id, item, payload)?);
            }
        }
        None => {
            for row in items.range(start..)? {
                let (k, v) = row?;
                let item = decode_item(v.value())?;
                if !q.filter.matches(&item.tenant, &item.kind, item.created) {
                    continue;
                }
                if out.len() == q.limit {
                    more = true;
                    break;
                }
                let id = k.value();
                let payload = payloads
                    .get(id)?
                    .ok_or_else(|| Error::Corrupted(format!("dead letter {id} has no payload")))?
                    .value()
                    .to_vec();
                out.push(to_view(id, item, payload)?);
            }
        }
    }
    let next = if more {
        out.last().map(|d| DlqCursor { last_id: d.id })
    } else {
        None
    };
    Ok(DlqPage { items: out, next })
}
