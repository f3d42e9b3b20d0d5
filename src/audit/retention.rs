//! Audit retention: pruning the payloads of old entries while keeping their leaf hashes,
//! and the archive to export first.
//!
//! A pruned entry keeps its seq, time, tenant and action and its leaf hash (a tombstone
//! record); actor, resource, outcome, IP, user agent and details are gone. The Merkle
//! nodes are never touched, so the root, every checkpoint, every inclusion and
//! consistency proof and verify stay valid, and a pruned entry reads as pruned
//! ([`AuditEntry::pruned`]), never as missing. Pruning always takes the oldest entries:
//! everything below a bound.
//!
//! The archive ([`Audit::export_archive`]) is JSON Lines: a header line with the log's
//! size, root and checkpoint, then one line per entry with its leaf hash and its
//! inclusion proof against that size, so the archive proves, on its own, that each entry
//! is the one the log committed to.

use std::io::Write;
use std::time::Duration;

use super::tables::AuditTables;
use super::tables::{ReadTables, PRUNED_BELOW, RETENTION};
use super::{merkle, Audit, AuditEntry, AuditEvent, AuditPart};
use crate::error::{Error, Result};
use crate::options::Durability;

/// Entries one prune transaction rewrites at most.
const PRUNE_BATCH: u64 = 1000;

/// What to prune: entries below a seq, or entries at least an age old (the oldest ones up
/// to the first entry newer than that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneBefore {
    /// Entries with a seq below this.
    Seq(u64),
    /// Entries appended at least this long ago (by the store's clock).
    Age(Duration),
}

/// The entries a prune would take: `from..to` (`from` is where pruning stopped before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneRange {
    /// The first entry not pruned yet.
    pub from: u64,
    /// The bound: entries below it would be pruned.
    pub to: u64,
}

impl PruneRange {
    /// How many entries that is.
    pub fn count(&self) -> u64 {
        self.to.saturating_sub(self.from)
    }
}

fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

impl Audit<'_> {
    /// Entries below this seq are pruned.
    pub fn pruned_below(&self) -> Result<u64> {
        let read = self.store.begin_read()?;
        match read.open_table(RETENTION) {
            Ok(t) => Ok(t.get(PRUNED_BELOW)?.map_or(0, |g| g.value())),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// What a [`Audit::prune`] with `before` would take now. Changes nothing.
    pub fn prunable(&self, before: PruneBefore) -> Result<PruneRange> {
        let from = self.pruned_below()?;
        let t = ReadTables::open(&self.store.begin_read()?)?;
        let size = t.size()?;
        let to = match before {
            PruneBefore::Seq(s) => s.min(size),
            PruneBefore::Age(age) => {
                let age = u64::try_from(age.as_micros()).unwrap_or(u64::MAX);
                let Some(cut) = self.store.clock_now().checked_sub(age) else {
                    return Ok(PruneRange { from, to: from });
                };
                // The oldest entries up to the first newer than the cut.
                let mut to = from;
                for row in t.entries.range(from..size)? {
                    let e = AuditEntry::decode(row?.1.value(), t.hash)?;
                    if e.time > cut {
                        break;
                    }
                    to = e.seq + 1;
                }
                to
            }
        };
        Ok(PruneRange {
            from,
            to: to.max(from),
        })
    }

    /// Prunes the payloads of the entries `before` takes (see the module docs), durably,
    /// in transactions of up to 1,000 entries, each with an audit entry (`audit.prune`,
    /// tenant `hardstore`). Refused with [`Error::ConfirmationRequired`] (changing
    /// nothing) when that is more than `confirm` entries; export them first
    /// ([`Audit::export_archive`]) to keep them. Returns how many it pruned.
    pub fn prune(&self, before: PruneBefore, confirm: u64) -> Result<u64> {
        let r = self.prunable(before)?;
        if r.count() > confirm {
            return Err(Error::ConfirmationRequired {
                what: format!(
                    "pruning audit entries {}..{} deletes the payloads of {} entries",
                    r.from,
                    r.to,
                    r.count()
                ),
                deletes: r.count(),
            });
        }
        let mut done = 0;
        let mut lo = r.from;
        while lo < r.to {
            let hi = (lo + PRUNE_BATCH).min(r.to);
            done += self.store.write(Durability::Durable, move |tx| {
                let hash = tx.audit_hash()?;
                let n = tx
                    .part::<AuditPart>(AuditTables::open)?
                    .prune_range(lo, hi, hash)?;
                tx.tracked(RETENTION)?.insert(PRUNED_BELOW, hi)?;
                let ev = AuditEvent::new("hardstore", "audit.prune")
                    .detail("from", lo.to_string())
                    .detail("to", hi.to_string())
                    .detail("pruned", n.to_string());
                tx.audit_append(&ev)?;
                Ok(n)
            })?;
            lo = hi;
        }
        Ok(done)
    }

    /// Writes entries `from..to` as a JSON Lines archive to `out` (see the module docs):
    /// a header line (`archive`, `store_id`, `size`, `root`, `checkpoint` as hex), then
    /// one line per entry (the entry's fields) with `leaf_hash` and `inclusion_proof`
    /// (hashes, hex) against `size`; an entry pruned already has only its kept fields and
    /// `pruned` (its leaf hash, hex). Returns the entries written. Changes nothing.
    pub fn export_archive(&self, from: u64, to: u64, out: &mut dyn Write) -> Result<u64> {
        let cp = self.checkpoint()?;
        let t = ReadTables::open(&self.store.begin_read()?)?;
        if from > to || to > cp.size {
            return Err(Error::InvalidArgument(format!(
                "range {from}..{to} is not within the log's {} entries",
                cp.size
            )));
        }
        let header = serde_json::json!({
            "archive": "hardstore audit archive v1",
            "store_id": cp.store_id.to_string(),
            "size": cp.size,
            "root": hex(&cp.root),
            "hash": t.hash.name(),
            "checkpoint": hex(&cp.to_bytes()),
            "from": from,
            "to": to,
        });
        writeln!(out, "{header}")?;
        let nodes = t.node_source();
        let mut n = 0;
        for row in t.entries.range(from..to)? {
            let e = AuditEntry::decode(row?.1.value(), t.hash)?;
            let proof = merkle::inclusion_path(&nodes, e.seq, cp.size)?;
            let mut v = serde_json::to_value(&e)
                .map_err(|x| Error::InvalidArgument(format!("an entry as JSON: {x}")))?;
            v["leaf_hash"] = hex(&e.leaf_hash()?).into();
            v["inclusion_proof"] = proof.iter().map(|h| hex(h)).collect::<Vec<_>>().into();
            writeln!(out, "{v}")?;
            n += 1;
        }
        out.flush()?;
        Ok(n)
    }
}
