//! The ring's redb tables, its write path and eviction. Only this module writes them.
//!
//! Layout: entries live in chunks of [`CHUNK`] consecutive seqs, one redb row per chunk
//! (`chunk number = seq / CHUNK`), so an append rewrites one small row instead of adding
//! a row and an index entry per log line, and a scan decodes whole chunks.
//!
//! Invariants:
//! - `META` holds `head` (the oldest live seq) and `next` (the seq the next entry gets);
//!   `next - head <= capacity`. Entries below `head` are evicted: chunks wholly below it
//!   are deleted in the same transaction that moved `head`; the rest of a partly
//!   evicted chunk is skipped by every reader.
//! - Chunk `c` holds the entries with seqs in `[c * CHUNK, (c + 1) * CHUNK)` that were
//!   written, in seq order, with no gaps from its first to its last.
//! - A chunk's bytes are `[CHUNK_V1] ++ postcard(Vec<StoredLog>)`; appending to a chunk
//!   re-writes its length prefix and copies the existing elements' bytes unchanged.

use crate::engine::catalog::{CatalogTable, Flags, Table};
use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use crate::error::{Error, Result};
use crate::logs::entry::{LogEntry, LogSummary, StoredLog};
use crate::redo::{RedoBuf, Tracked};

/// Entries per chunk.
pub(crate) const CHUNK: u64 = 64;
const CHUNK_V1: u8 = 1;

pub(crate) const CHUNKS: TableDefinition<u64, &[u8]> = TableDefinition::new("logs.chunks");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("logs.meta");

/// The ring's tables in the catalog: never rolled back by a restore point.
pub(crate) static TABLES: [&dyn CatalogTable; 2] = [
    &Table::new(3, CHUNKS, Flags::KEPT),
    &Table::new(4, META, Flags::KEPT),
];
const HEAD: &str = "head";
const NEXT: &str = "next";

/// What the writer keeps in memory about the ring.
#[derive(Clone, Debug, Default)]
pub(crate) struct RingState {
    pub(crate) head: u64,
    pub(crate) next: u64,
    pub(crate) capacity: u64,
}

impl RingState {
    pub(crate) fn load(read: &ReadTransaction, capacity: u64) -> Result<RingState> {
        let meta = read.open_table(META)?;
        let get = |k: &str| -> Result<u64> { Ok(meta.get(k)?.map(|g| g.value()).unwrap_or(0)) };
        Ok(RingState {
            head: get(HEAD)?,
            next: get(NEXT)?,
            capacity,
        })
    }
}

/// The live range `[head, next)` as stored.
pub(crate) fn live_range(meta: &impl ReadableTable<&'static str, u64>) -> Result<(u64, u64)> {
    let get = |k: &str| -> Result<u64> { Ok(meta.get(k)?.map(|g| g.value()).unwrap_or(0)) };
    Ok((get(HEAD)?, get(NEXT)?))
}

/// Encodes a chunk from scratch.
fn encode_chunk(entries: &[StoredLog<'_>]) -> Result<Vec<u8>> {
    let mut out = vec![CHUNK_V1];
    postcard::to_io(entries, &mut out)
        .map_err(|e| Error::InvalidArgument(format!("log entry does not encode: {e}")))?;
    Ok(out)
}

/// Reads postcard's varint length prefix: (value, bytes used).
fn read_varint(b: &[u8]) -> Result<(u64, usize)> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    Err(Error::Corrupted("bad length in a log chunk".into()))
}

fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends encoded entries to an existing chunk without decoding its elements.
fn extend_chunk(old: &[u8], new: &[StoredLog<'_>]) -> Result<Vec<u8>> {
    let (&version, body) = old
        .split_first()
        .ok_or_else(|| Error::Corrupted("empty log chunk".into()))?;
    if version != CHUNK_V1 {
        return Err(Error::UnknownRecordVersion(version));
    }
    let (count, used) = read_varint(body)?;
    let fresh = encode_chunk(new)?;
    let (_, fresh_used) = read_varint(&fresh[1..])?;
    let mut out = Vec::with_capacity(old.len() + fresh.len());
    out.push(CHUNK_V1);
    write_varint(count + new.len() as u64, &mut out);
    out.extend_from_slice(&body[used..]);
    out.extend_from_slice(&fresh[1 + fresh_used..]);
    Ok(out)
}

/// How a scan decodes a chunk's entries: fully ([`StoredLog`]) or only the columns
/// stats need ([`LogSummary`], which skips the rest without allocating).
pub(crate) trait ChunkView {
    type Item<'a>: serde::Deserialize<'a> + HasSeq;
}

/// An entry view that knows its seq.
pub(crate) trait HasSeq {
    fn seq(&self) -> u64;
}

/// Full entries.
pub(crate) struct Full;
impl ChunkView for Full {
    type Item<'a> = StoredLog<'a>;
}
impl HasSeq for StoredLog<'_> {
    fn seq(&self) -> u64 {
        self.seq
    }
}

/// Summaries.
pub(crate) struct Summaries;
impl ChunkView for Summaries {
    type Item<'a> = LogSummary<'a>;
}
impl HasSeq for LogSummary<'_> {
    fn seq(&self) -> u64 {
        self.seq
    }
}

/// Decodes a chunk, borrowing its strings.
pub(crate) fn decode_chunk<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<Vec<T>> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| Error::Corrupted("empty log chunk".into()))?;
    if version != CHUNK_V1 {
        return Err(Error::UnknownRecordVersion(version));
    }
    let (v, rest): (Vec<T>, _) = postcard::take_from_bytes(body)?;
    if !rest.is_empty() {
        return Err(Error::Corrupted("trailing bytes in a log chunk".into()));
    }
    Ok(v)
}

/// The ring's tables opened inside one write transaction.
pub(crate) struct RingTables<'t> {
    chunks: Tracked<'t, u64, &'static [u8]>,
    meta: Tracked<'t, &'static str, u64>,
}

impl<'t> RingTables<'t> {
    pub(crate) fn open(txn: &'t WriteTransaction, redo: &'t RedoBuf) -> Result<Self> {
        Ok(Self {
            chunks: Tracked::open(txn, CHUNKS, redo)?,
            meta: Tracked::open(txn, META, redo)?,
        })
    }

    /// Writes `entries` (consecutive seqs starting at `state.next`) and evicts past the
    /// capacity, all in this transaction.
    pub(crate) fn append(&mut self, state: &mut RingState, entries: &[LogEntry]) -> Result<()> {
        if let Some(first) = entries.first() {
            if first.seq != state.next {
                return Err(Error::Corrupted(format!(
                    "log seq {} queued where {} was expected",
                    first.seq, state.next
                )));
            }
        }
        let stored: Vec<StoredLog<'_>> = entries.iter().map(StoredLog::of).collect();
        let mut i = 0;
        while i < stored.len() {
            let chunk_no = stored[i].seq / CHUNK;
            let mut j = i;
            while j < stored.len() && stored[j].seq / CHUNK == chunk_no {
                j += 1;
            }
            let part = &stored[i..j];
            let bytes = match self.chunks.get(chunk_no)? {
                Some(old) => extend_chunk(old.value(), part)?,
                None => encode_chunk(part)?,
            };
            self.chunks.insert(chunk_no, bytes.as_slice())?;
            i = j;
        }
        state.next += entries.len() as u64;
        self.evict(state)?;
        self.meta.insert(NEXT, state.next)?;
        Ok(())
    }

    /// Moves `head` up to `next - capacity`, deleting chunks that fall wholly below it.
    pub(crate) fn evict(&mut self, state: &mut RingState) -> Result<()> {
        let new_head = state.next.saturating_sub(state.capacity).max(state.head);
        if new_head == state.head {
            return Ok(());
        }
        // Chunks [head / CHUNK, new_head / CHUNK) lie wholly below the new head.
        for chunk_no in state.head / CHUNK..new_head / CHUNK {
            self.chunks.remove(chunk_no)?;
        }
        state.head = new_head;
        self.meta.insert(HEAD, state.head)?;
        Ok(())
    }
}

/// The ring's tables opened for reading.
pub(crate) struct ReadRing {
    pub(crate) chunks: ReadOnlyTable<u64, &'static [u8]>,
    pub(crate) head: u64,
    pub(crate) next: u64,
}

impl ReadRing {
    pub(crate) fn open(read: &ReadTransaction) -> Result<Self> {
        let meta = read.open_table(META)?;
        let (head, next) = live_range(&meta)?;
        Ok(Self {
            chunks: read.open_table(CHUNKS)?,
            head,
            next,
        })
    }

    /// Calls `f` on every live entry in seq order (or reverse), chunk by chunk, until it
    /// returns `false`. `upto` bounds the seqs visited from above (exclusive) and `from`
    /// from below (inclusive).
    pub(crate) fn scan<V: ChunkView>(
        &self,
        from: u64,
        upto: u64,
        newest_first: bool,
        mut f: impl FnMut(&V::Item<'_>) -> Result<bool>,
    ) -> Result<()> {
        let lo = from.max(self.head);
        let hi = upto.min(self.next);
        if lo >= hi {
            return Ok(());
        }
        let range = self.chunks.range(lo / CHUNK..=(hi - 1) / CHUNK)?;
        let mut visit = |bytes: &[u8]| -> Result<bool> {
            let entries: Vec<V::Item<'_>> = decode_chunk(bytes)?;
            let mut go = |e: &V::Item<'_>| -> Result<bool> {
                if e.seq() < lo || e.seq() >= hi {
                    return Ok(true);
                }
                f(e)
            };
            if newest_first {
                for e in entries.iter().rev() {
                    if !go(e)? {
                        return Ok(false);
                    }
                }
            } else {
                for e in &entries {
                    if !go(e)? {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        };
        if newest_first {
            for row in range.rev() {
                let (_, v) = row?;
                if !visit(v.value())? {
                    break;
                }
            }
        } else {
            for row in range {
                let (_, v) = row?;
                if !visit(v.value())? {
                    break;
                }
            }
        }
        Ok(())
    }
}
