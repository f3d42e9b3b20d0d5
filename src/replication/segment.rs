//! Segment files: a run of consecutive committed batches, as the redo log records them.
//!
//! Layout (integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `HSSEG\0\0\x01` (version 1) |
//! | 8..24 | the source store's id |
//! | 24..32 | first batch seq |
//! | 32..40 | last batch seq |
//! | then, per batch | seq (8), time µs (8), ops length (4), ops |
//! | last 32 | BLAKE3 of everything before |
//!
//! Invariants: batches are consecutive, `first..=last`, each exactly once; the ops are
//! the redo log's (physical puts and deletes of whole rows, by catalog table id), so
//! applying a run in order is idempotent over a state that already holds some of it.

use crate::clock::Timestamp;
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"HSSEG\0\0\x01";
const HEAD: usize = 40;

/// One committed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) seq: u64,
    pub(crate) time: Timestamp,
    pub(crate) ops: Vec<u8>,
}

/// Encodes `batches` (consecutive, non-empty) of store `id`.
pub(crate) fn encode(id: &[u8; 16], batches: &[Batch]) -> Vec<u8> {
    let first = batches.first().map_or(0, |b| b.seq);
    let last = batches.last().map_or(0, |b| b.seq);
    let body: usize = batches.iter().map(|b| 20 + b.ops.len()).sum();
    let mut out = Vec::with_capacity(HEAD + body + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(id);
    out.extend_from_slice(&first.to_le_bytes());
    out.extend_from_slice(&last.to_le_bytes());
    for b in batches {
        out.extend_from_slice(&b.seq.to_le_bytes());
        out.extend_from_slice(&b.time.to_le_bytes());
        out.extend_from_slice(&(b.ops.len() as u32).to_le_bytes());
        out.extend_from_slice(&b.ops);
    }
    let h = blake3::hash(&out);
    out.extend_from_slice(h.as_bytes());
    out
}

/// Decodes a segment named `name` of store `id`, checking everything. Never panics.
pub(crate) fn decode(name: &str, id: &[u8; 16], bytes: &[u8]) -> Result<Vec<Batch>> {
    let bad = |why: &str| Error::Corrupted(format!("replica segment {name}: {why}"));
    if bytes.len() < HEAD + 32 || &bytes[..8] != MAGIC {
        return Err(bad("not a hardstore segment"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if blake3::hash(body).as_bytes() != sum {
        return Err(bad("its checksum does not match (cut or edited)"));
    }
    if &body[8..24] != id {
        return Err(bad("it is of another store"));
    }
    let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8"));
    let (first, last) = (u64_at(body, 24), u64_at(body, 32));
    let mut out = Vec::new();
    let mut at = HEAD;
    while at < body.len() {
        if body.len() - at < 20 {
            return Err(bad("a batch header is cut"));
        }
        let seq = u64_at(body, at);
        let time = u64_at(body, at + 8);
        let len = u32::from_le_bytes(body[at + 16..at + 20].try_into().expect("4")) as usize;
        at += 20;
        if body.len() - at < len {
            return Err(bad("a batch is cut"));
        }
        let want = out.last().map_or(first, |b: &Batch| b.seq + 1);
        if seq != want {
            return Err(bad(&format!("batch {seq} where {want} was expected")));
        }
        out.push(Batch {
            seq,
            time,
            ops: body[at..at + len].to_vec(),
        });
        at += len;
    }
    if out.last().map(|b| b.seq) != Some(last) {
        return Err(bad("its batches do not end at its last seq"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_and_refuse_damage() {
        let id = [3; 16];
        let batches: Vec<Batch> = (5..9)
            .map(|s| Batch {
                seq: s,
                time: 1000 + s,
                ops: vec![s as u8; s as usize],
            })
            .collect();
        let bytes = encode(&id, &batches);
        assert_eq!(decode("s", &id, &bytes).unwrap(), batches);
        assert!(decode("s", &[4; 16], &bytes).is_err());
        for cut in [0, 10, bytes.len() - 1] {
            assert!(decode("s", &id, &bytes[..cut]).is_err());
        }
        let mut edited = bytes.clone();
        edited[50] ^= 1;
        assert!(matches!(
            decode("s", &id, &edited),
            Err(Error::Corrupted(_))
        ));
    }
}
