//! Full verification: recompute every leaf and node hash from the stored entries and
//! compare with what is stored.
//!
//! What it catches: an entry changed, deleted, moved or added out of place; a stored
//! node changed. What it cannot catch alone: a consistent rewrite of entries *and*
//! nodes, or a truncated tail. Those change the root, which a checkpoint held outside
//! the store detects through a consistency proof.

use crate::audit::entry::record_seq;
use crate::audit::merkle::{leaf_hash, Frontier, Hash};
use crate::audit::tables::{node_key, ReadTables};
use crate::error::{Error, Result};

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

pub(crate) fn verify(t: &ReadTables) -> Result<VerifyReport> {
    let size = t.size()?;
    let mut entries = t.entries.range(0u64..)?;
    // Nodes are keyed (last leaf, level): one in-order scan meets them exactly in the
    // order the frontier below recomputes them.
    let mut nodes = t.nodes.range(0u64..)?;
    let mut frontier = Frontier::default();
    let mut bad: Option<(u64, String)> = None;

    for seq in 0..size {
        let record = match entries.next().transpose()? {
            Some((k, v)) if k.value() == seq => v,
            Some((k, _)) => {
                bad = Some((
                    seq,
                    format!("entry {seq} is missing (next is {})", k.value()),
                ));
                break;
            }
            None => {
                bad = Some((seq, format!("entry {seq} is missing")));
                break;
            }
        };
        let record = record.value();
        if record_seq(record) != Some(seq) {
            bad = Some((seq, format!("entry {seq} holds a record of another seq")));
            break;
        }
        let leaf = leaf_hash(record);
        let pushed = frontier.push(leaf, |level, index, h| {
            let expected_key = node_key(level, index);
            let problem = match nodes.next().transpose()? {
                Some((k, v)) if k.value() == expected_key && v.value() == h.as_slice() => {
                    return Ok(())
                }
                Some((k, _)) if k.value() != expected_key => {
                    format!("Merkle node ({level}, {index}) is missing")
                }
                Some(_) if level == 0 => format!("entry {seq} does not match its leaf hash"),
                Some(_) => format!("Merkle node ({level}, {index}) does not match"),
                None => format!("Merkle node ({level}, {index}) is missing"),
            };
            bad = Some((index << level, problem));
            Err(Error::Corrupted(String::new()))
        });
        match pushed {
            Ok(()) => {}
            Err(_) if bad.is_some() => break,
            Err(e) => return Err(e),
        }
    }
    if bad.is_none() {
        if let Some((k, _)) = entries.next().transpose()? {
            bad = Some((
                size,
                format!("entry {} lies beyond the log's size {size}", k.value()),
            ));
        }
    }
    let checked = match &bad {
        Some((s, _)) => *s,
        None => size,
    };
    Ok(VerifyReport {
        size,
        checked,
        first_bad_seq: bad.as_ref().map(|b| b.0),
        problem: bad.map(|b| b.1),
        root: frontier.root(),
    })
}
