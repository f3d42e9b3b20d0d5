//! Audit queries: by tenant, optionally actor, action and time range, in either order,
//! a page at a time with an opaque cursor.
//!
//! One index serves them all: `(tenant, time, seq) -> (actor, action)`. A query scans
//! the tenant's rows in the time range, filters actor and action on the index row, and
//! reads only the entries it returns. One index row per append keeps appends cheap; an
//! actor or action that is rare within a large tenant costs a longer index scan.

use std::io::Write;
use std::ops::Bound;

use redb::ReadTransaction;

use crate::audit::entry::AuditEntry;
use crate::audit::tables::{BY_TENANT, ENTRIES};
use crate::clock::Timestamp;
use crate::error::{Error, Result};

/// The most entries one page may hold.
pub const MAX_PAGE: usize = 10_000;

/// Which end a query starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Oldest (smallest time, then seq) first.
    #[default]
    OldestFirst,
    /// Newest first.
    NewestFirst,
}

/// A query over the audit log. Tenant is required; every other filter is optional.
///
/// ```
/// use hardstore::{AuditQuery, Order};
/// let q = AuditQuery::new("acme").actor("user:42").order(Order::NewestFirst).limit(50);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub(crate) tenant: String,
    pub(crate) actor: Option<String>,
    pub(crate) action: Option<String>,
    pub(crate) from: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
    pub(crate) order: Order,
    pub(crate) limit: usize,
    pub(crate) cursor: Option<Cursor>,
}

impl AuditQuery {
    /// All entries of `tenant`, oldest first, 100 a page.
    pub fn new(tenant: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            actor: None,
            action: None,
            from: None,
            until: None,
            order: Order::OldestFirst,
            limit: 100,
            cursor: None,
        }
    }

    /// Only entries by this actor.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Only entries with this action.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// Only entries with `from <= time < until` (either bound optional).
    pub fn time_range(mut self, from: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        self.from = from;
        self.until = until;
        self
    }

    /// The order of results.
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// The most entries a page returns, 1..=[`MAX_PAGE`].
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continue after the page that returned `cursor`.
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    fn fingerprint(&self) -> [u8; 8] {
        let mut h = blake3::Hasher::new();
        for part in [
            Some(self.tenant.as_str()),
            self.actor.as_deref(),
            self.action.as_deref(),
        ] {
            match part {
                Some(s) => {
                    h.update(&[1]);
                    h.update(&(s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
                None => {
                    h.update(&[0]);
                }
            }
        }
        h.update(&[self.order as u8]);
        h.finalize().as_bytes()[..8]
            .try_into()
            .expect("8 of 32 bytes")
    }

    fn validate(&self) -> Result<()> {
        if self.tenant.is_empty() {
            return Err(Error::InvalidArgument("a query needs a tenant".into()));
        }
        if self.limit == 0 || self.limit > MAX_PAGE {
            return Err(Error::InvalidArgument(format!(
                "limit {} is outside 1..={MAX_PAGE}",
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
            if c.fingerprint != self.fingerprint() {
                return Err(Error::InvalidArgument(
                    "the cursor belongs to a different query".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Where a page ended. Opaque; round-trips through [`Cursor::to_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    time: Timestamp,
    seq: u64,
    fingerprint: [u8; 8],
}

const CURSOR_V1: u8 = 1;
const CURSOR_LEN: usize = 25;

impl Cursor {
    /// The cursor's bytes, to hand to a client.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(CURSOR_LEN);
        b.push(CURSOR_V1);
        b.extend_from_slice(&self.time.to_le_bytes());
        b.extend_from_slice(&self.seq.to_le_bytes());
        b.extend_from_slice(&self.fingerprint);
        b
    }

    /// Parses bytes from [`Cursor::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Cursor> {
        if b.len() != CURSOR_LEN || b[0] != CURSOR_V1 {
            return Err(Error::InvalidArgument(
                "not a hardstore audit cursor".into(),
            ));
        }
        Ok(Cursor {
            time: u64::from_le_bytes(b[1..9].try_into().expect("8 bytes")),
            seq: u64::from_le_bytes(b[9..17].try_into().expect("8 bytes")),
            fingerprint: b[17..25].try_into().expect("8 bytes"),
        })
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The entries, in the query's order.
    pub entries: Vec<AuditEntry>,
    /// Present when more entries match: pass it to [`AuditQuery::after`].
    pub next: Option<Cursor>,
}

/// A bound on an index position, `(time, seq)`.
type Pos = Bound<(u64, u64)>;

/// (time, seq) bounds on an index, from the query's range and cursor.
fn bounds(q: &AuditQuery) -> (Pos, Pos) {
    let mut lo = Bound::Included((q.from.unwrap_or(0), 0));
    let mut hi = match q.until {
        Some(0) => Bound::Excluded((0, 0)),
        Some(u) => Bound::Included((u - 1, u64::MAX)),
        None => Bound::Included((u64::MAX, u64::MAX)),
    };
    if let Some(c) = &q.cursor {
        let at = (c.time, c.seq);
        match q.order {
            Order::OldestFirst => lo = tighter_lo(lo, Bound::Excluded(at)),
            Order::NewestFirst => hi = tighter_hi(hi, Bound::Excluded(at)),
        }
    }
    (lo, hi)
}

fn key_of(b: &Bound<(u64, u64)>) -> (u64, u64) {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => *k,
        Bound::Unbounded => (0, 0),
    }
}

fn tighter_lo(a: Bound<(u64, u64)>, b: Bound<(u64, u64)>) -> Bound<(u64, u64)> {
    if key_of(&b) >= key_of(&a) {
        b
    } else {
        a
    }
}

fn tighter_hi(a: Bound<(u64, u64)>, b: Bound<(u64, u64)>) -> Bound<(u64, u64)> {
    if key_of(&b) <= key_of(&a) {
        b
    } else {
        a
    }
}

fn map_bound<T>(b: Bound<(u64, u64)>, f: impl Fn(u64, u64) -> T) -> Bound<T> {
    match b {
        Bound::Included((t, s)) => Bound::Included(f(t, s)),
        Bound::Excluded((t, s)) => Bound::Excluded(f(t, s)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn empty_range(lo: &Bound<(u64, u64)>, hi: &Bound<(u64, u64)>) -> bool {
    let (l, h) = (key_of(lo), key_of(hi));
    l > h || (l == h && (matches!(lo, Bound::Excluded(_)) || matches!(hi, Bound::Excluded(_))))
}

pub(crate) fn run(read: &ReadTransaction, q: &AuditQuery) -> Result<AuditPage> {
    q.validate()?;
    let (lo, hi) = bounds(q);
    if empty_range(&lo, &hi) {
        return Ok(AuditPage {
            entries: Vec::new(),
            next: None,
        });
    }
    let tenant = q.tenant.as_str();
    let hash = crate::audit::tables::read_hash(read)?;
    let index = read.open_table(BY_TENANT)?;
    let range = index.range::<(&str, u64, u64)>((
        map_bound(lo, |t, s| (tenant, t, s)),
        map_bound(hi, |t, s| (tenant, t, s)),
    ))?;
    let rows: Box<dyn Iterator<Item = _>> = if q.order == Order::NewestFirst {
        Box::new(range.rev())
    } else {
        Box::new(range)
    };
    let entries_table = read.open_table(ENTRIES)?;
    let mut out = Vec::with_capacity(q.limit.min(1024));
    let mut next = None;
    for row in rows {
        let (k, v) = row?;
        let (_, time, seq) = k.value();
        let (actor, action) = v.value();
        if q.actor.as_deref().is_some_and(|a| a != actor)
            || q.action.as_deref().is_some_and(|a| a != action)
        {
            continue;
        }
        if out.len() == q.limit {
            // One more match exists: hand out a cursor at the last returned entry.
            next = out.last().map(|e: &AuditEntry| Cursor {
                time: e.time,
                seq: e.seq,
                fingerprint: q.fingerprint(),
            });
            break;
        }
        let bytes = entries_table.get(seq)?.ok_or_else(|| {
            Error::Corrupted(format!("index names entry {seq}, which is missing"))
        })?;
        let entry = AuditEntry::decode(bytes.value(), hash)?;
        debug_assert_eq!((entry.time, entry.seq), (time, seq));
        out.push(entry);
    }
    Ok(AuditPage { entries: out, next })
}

/// Writes every entry the query matches (from its cursor on) as JSON Lines.
pub(crate) fn export_jsonl(
    mut page_of: impl FnMut(&AuditQuery) -> Result<AuditPage>,
    q: &AuditQuery,
    mut w: impl Write,
) -> Result<u64> {
    let mut q = q.clone();
    let mut n = 0u64;
    loop {
        let page = page_of(&q)?;
        for e in &page.entries {
            serde_json::to_writer(&mut w, e).map_err(|e| Error::Io(std::io::Error::other(e)))?;
            w.write_all(b"\n")?;
            n += 1;
        }
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    w.flush()?;
    Ok(n)
}
