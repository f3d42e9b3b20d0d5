//! Full verification: recompute every leaf and node hash from the stored entries and
//! compare with what is stored.
//!
//! What it catches: an entry changed, deleted, moved or added out of place; a stored
//! node changed. What it cannot catch alone: a consistent rewrite of entries *and*
//! nodes, or a truncated tail. Those change the root, which a checkpoint held outside
//! the store detects through a consistency proof.
//!
//! The log is checked in chunks of `CHUNK` leaves, each a perfect subtree (the last may
//! be shorter), on every core: a chunk's entries and its own nodes (those whose last leaf
//! lies in it, up to the chunk's root) are one range of each table. The nodes above the
//! chunks are checked after, as the chunk roots are combined in order; problems are
//! reported as a scan from seq 0 would meet them first, so the outcome equals a
//! sequential check's.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::audit::entry::{record_leaf, record_seq};
use crate::audit::merkle::{Frontier, Hash};
use crate::audit::tables::{node_key, ReadTables};
use crate::error::{Error, Result};

/// Leaves per chunk: a perfect subtree of level `CHUNK_LEVEL`.
const CHUNK_LEVEL: u8 = 16;
const CHUNK: u64 = 1 << CHUNK_LEVEL;

/// The outcome of [`Audit::verify`](crate::Audit::verify).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The log's size (entries) according to its Merkle tree.
    pub size: u64,
    /// Entries whose leaf and covering nodes were recomputed and matched.
    pub checked: u64,
    /// The first seq at which the stored log disagrees with itself, if any.
    pub first_bad_seq: Option<u64>,
    /// What was wrong at `first_bad_seq`.
    pub problem: Option<String>,
    /// The root recomputed from the entries (equal to the stored root when ok).
    pub root: Hash,
}

impl VerifyReport {
    /// Whether the whole log verified.
    pub fn is_ok(&self) -> bool {
        self.first_bad_seq.is_none()
    }
}

/// What checking one chunk found: its frontier (one root when the chunk is whole and
/// sound) and its first problem.
struct Chunk {
    frontier: Frontier,
    bad: Option<(u64, String)>,
    /// The problem was the entry itself (missing, or of another seq), found before any
    /// node at its seq was read.
    early: bool,
}

pub(crate) fn verify(t: &ReadTables) -> Result<VerifyReport> {
    let size = t.size()?;
    let chunks = size.div_ceil(CHUNK) as usize;
    let results: Vec<Mutex<Option<Result<Chunk>>>> =
        (0..chunks).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    // Chunks past one found bad need not be checked: the report stops there.
    let first_bad = AtomicUsize::new(usize::MAX);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= chunks || i > first_bad.load(Ordering::Relaxed) {
            return;
        }
        let lo = i as u64 * CHUNK;
        let r = check_chunk(t, lo, (lo + CHUNK).min(size));
        if !matches!(&r, Ok(c) if c.bad.is_none()) {
            first_bad.fetch_min(i, Ordering::Relaxed);
        }
        *results[i].lock() = Some(r);
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(chunks);
    if threads <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
    }

    // Combine the chunks in order, checking the nodes above them as they complete.
    let mut top = Frontier {
        hash: t.hash,
        ..Frontier::default()
    };
    let mut bad: Option<(u64, String)> = None;
    let mut tail: Vec<Hash> = Vec::new();
    for i in 0..chunks {
        let chunk = results[i]
            .lock()
            .take()
            .ok_or_else(|| Error::Storage(format!("audit chunk {i} was not checked")))??;
        if chunk.bad.is_some() || chunk.frontier.size < CHUNK {
            // The last chunk, or the first bad one: its partial frontier ends the tree.
            tail = chunk.frontier.roots;
            bad = chunk.bad;
            break;
        }
        let Some(&root) = chunk.frontier.roots.first() else {
            return Err(Error::Storage("a whole chunk has no root".into()));
        };
        // Above the chunk's root, the nodes whose last leaf is the chunk's last leaf: the
        // nodes above the chunks that it completes, and nothing else.
        let last = (i as u64 + 1) * CHUNK - 1;
        let above = (last << 6) | u64::from(CHUNK_LEVEL + 1);
        let mut stored = t.nodes.range(above..(last + 1) << 6)?;
        let pushed = top.push(root, |level, index, h| {
            if level == 0 {
                return Ok(()); // the chunk's root, checked with the chunk
            }
            let level = level + CHUNK_LEVEL;
            match node_problem(stored.next(), level, index, h, None)? {
                None => Ok(()),
                Some(problem) => {
                    bad = Some((index << level, problem));
                    Err(Error::Corrupted(String::new()))
                }
            }
        });
        match pushed {
            Ok(()) => {}
            Err(_) if bad.is_some() => break,
            Err(e) => return Err(e),
        }
        // A row left over in that range is where a scan expects the next leaf's node,
        // which it reads after the next entry: a problem with that entry comes first.
        if i + 1 < chunks && stored.next().transpose()?.is_some() {
            let next_entry_bad = match &*results[i + 1].lock() {
                Some(Ok(c)) => c.early && c.bad.as_ref().is_some_and(|b| b.0 == last + 1),
                _ => false,
            };
            if !next_entry_bad {
                bad = Some((
                    last + 1,
                    format!("Merkle node (0, {}) is missing", last + 1),
                ));
                break;
            }
        }
    }
    if bad.is_none() {
        if let Some((k, _)) = t.entries.range(size..)?.next().transpose()? {
            bad = Some((
                size,
                format!("entry {} lies beyond the log's size {size}", k.value()),
            ));
        }
    }
    let mut all = top;
    all.roots.extend(tail);
    let checked = match &bad {
        Some((s, _)) => *s,
        None => size,
    };
    Ok(VerifyReport {
        size,
        checked,
        first_bad_seq: bad.as_ref().map(|b| b.0),
        problem: bad.map(|b| b.1),
        root: all.root(),
    })
}

/// What is wrong with `next`, the stored row a scan meets where node (`level`, `index`)
/// with hash `h` belongs (`None`: nothing). A leaf's mismatch is its entry's, `seq`.
fn node_problem(
    next: Option<std::result::Result<NodeRow, redb::StorageError>>,
    level: u8,
    index: u64,
    h: &Hash,
    seq: Option<u64>,
) -> Result<Option<String>> {
    let expected_key = node_key(level, index);
    Ok(match next.transpose()? {
        Some((k, v)) if k.value() == expected_key && v.value() == h.as_slice() => None,
        Some((k, _)) if k.value() != expected_key => {
            Some(format!("Merkle node ({level}, {index}) is missing"))
        }
        Some(_) => Some(match (level, seq) {
            (0, Some(seq)) => format!("entry {seq} does not match its leaf hash"),
            _ => format!("Merkle node ({level}, {index}) does not match"),
        }),
        None => Some(format!("Merkle node ({level}, {index}) is missing")),
    })
}

/// A row of the nodes table, as a range yields it.
type NodeRow = (
    redb::AccessGuard<'static, u64>,
    redb::AccessGuard<'static, &'static [u8]>,
);

/// Checks the entries `lo..hi` (`lo` a multiple of `CHUNK`, at most `CHUNK` of them)
/// and the nodes within them.
fn check_chunk(t: &ReadTables, lo: u64, hi: u64) -> Result<Chunk> {
    let mut entries = t.entries.range(lo..)?;
    // Nodes are keyed (last leaf, level): one in-order scan meets them exactly in the
    // order the frontier below recomputes them.
    let mut nodes = t.nodes.range((lo << 6)..)?;
    let mut frontier = Frontier {
        hash: t.hash,
        ..Frontier::default()
    };
    let mut bad: Option<(u64, String)> = None;
    let mut early = false;
    for seq in lo..hi {
        let record = match entries.next().transpose()? {
            Some((k, v)) if k.value() == seq => v,
            Some((k, _)) => {
                bad = Some((
                    seq,
                    format!("entry {seq} is missing (next is {})", k.value()),
                ));
                early = true;
                break;
            }
            None => {
                bad = Some((seq, format!("entry {seq} is missing")));
                early = true;
                break;
            }
        };
        let record = record.value();
        if record_seq(record) != Some(seq) {
            bad = Some((seq, format!("entry {seq} holds a record of another seq")));
            early = true;
            break;
        }
        let leaf = record_leaf(record, t.hash);
        let pushed = frontier.push(leaf, |level, index, h| {
            // The chunk's frontier counts from `lo`, a multiple of every subtree in it.
            let index = index + (lo >> level);
            match node_problem(nodes.next(), level, index, h, Some(seq))? {
                None => Ok(()),
                Some(problem) => {
                    bad = Some((index << level, problem));
                    Err(Error::Corrupted(String::new()))
                }
            }
        });
        match pushed {
            Ok(()) => {}
            Err(_) if bad.is_some() => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Chunk {
        frontier,
        bad,
        early,
    })
}

/// What [`Audit::verify_since`](crate::Audit) found: the log's size, the frontier of
/// what was checked, and the first problem (seq, what).
pub(crate) type Since = (u64, Frontier, Option<(u64, String)>);

/// Checks only the entries appended after a prefix already checked (`from` is that
/// prefix's frontier), up to `size`: each new entry's leaf and every node it completes
/// are recomputed and compared with the stored ones. Returns the frontier of what was
/// checked (up to the first problem) and that problem. A full [`verify`] also looks for
/// rows no entry accounts for; this looks only at what the new entries cover, so its
/// cost is that of the new entries (health's incremental check).
pub(crate) fn verify_new(
    t: &ReadTables,
    from: &Frontier,
    size: u64,
) -> Result<(Frontier, Option<(u64, String)>)> {
    let mut frontier = from.clone();
    let mut entries = t.entries.range(from.size..size)?;
    for seq in from.size..size {
        let record = match entries.next().transpose()? {
            Some((k, v)) if k.value() == seq => v,
            _ => return Ok((frontier, Some((seq, format!("entry {seq} is missing"))))),
        };
        let record = record.value();
        if record_seq(record) != Some(seq) {
            let why = format!("entry {seq} holds a record of another seq");
            return Ok((frontier, Some((seq, why))));
        }
        let mut bad = None;
        let mut next = frontier.clone();
        let pushed = next.push(record_leaf(record, t.hash), |level, index, h| {
            let stored = t.nodes.get(node_key(level, index))?;
            let problem = match stored {
                Some(v) if v.value() == h.as_slice() => return Ok(()),
                Some(_) if level == 0 => format!("entry {seq} does not match its leaf hash"),
                Some(_) => format!("Merkle node ({level}, {index}) does not match"),
                None => format!("Merkle node ({level}, {index}) is missing"),
            };
            bad = Some((index << level, problem));
            Err(Error::Corrupted(String::new()))
        });
        match (pushed, bad) {
            (Ok(()), _) => frontier = next,
            (Err(_), Some(b)) => return Ok((frontier, Some(b))),
            (Err(e), None) => return Err(e),
        }
    }
    Ok((frontier, None))
}
