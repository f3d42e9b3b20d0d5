//! The replica-segment fuzz target's body: arbitrary bytes through the segment decoder.

use crate::replication::segment::{decode, encode, Batch};

/// Arbitrary bytes never panic the decoder and never decode unless they are a
/// well-formed segment of the store asked for (which then re-encodes to the same bytes);
/// a genuine segment with one byte edited never decodes.
pub fn replica_segment(data: &[u8]) {
    let id = [7u8; 16];
    if let Ok(batches) = decode("fuzz", &id, data) {
        assert_eq!(
            encode(&id, &batches),
            data,
            "a segment decoded to other bytes"
        );
    }
    let batches: Vec<Batch> = data
        .chunks(7)
        .enumerate()
        .map(|(i, c)| Batch {
            seq: 10 + i as u64,
            time: i as u64,
            ops: c.to_vec(),
        })
        .collect();
    if batches.is_empty() {
        return;
    }
    let mut bytes = encode(&id, &batches);
    assert_eq!(
        decode("fuzz", &id, &bytes).expect("a genuine segment"),
        batches
    );
    let at = usize::from(data[0]) * 31 % bytes.len();
    bytes[at] ^= data.get(1).copied().unwrap_or(1).max(1);
    assert!(
        decode("fuzz", &id, &bytes).is_err(),
        "an edited segment decoded"
    );
}
