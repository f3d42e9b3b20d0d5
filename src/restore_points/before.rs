//! Before-images: the old values of rows changed since a restore point, which is all a
//! restore needs, so the file grows with the rows changed, not with the commits made.
//!
//! Every live point has a generation (its id). While any point is alive, the first
//! change in a generation to a row of a digested table (the mutable state:
//! digested in the catalog) keeps the row's value from before that change under
//! `(generation, table id, key)`, where the generation is the newest point's.
//!
//! Invariants:
//! - For a live point `g` and any digested row, the row's value at `g` is the image of
//!   the lowest generation `>= g` that holds the row, or, when none does, its current
//!   value (the row has not changed since `g`, or changed and came back).
//! - Images are written by the batch whose change they precede, in the same commit,
//!   through the redo log (`redo::Tracked`), so a crash recovers them with that change.
//! - Deleting point `g` moves its images to the next older live point where that point
//!   has none for the row (the value at the older point is then the one at `g`), and
//!   drops the rest; deleting the oldest drops them all. Restoring `g` drops every
//!   generation above `g` (those points go) and keeps `g`'s.
//! - At most one image per row and live point exists: the space is bounded by the bytes
//!   of rows changed since the oldest point, times the points alive.

use std::collections::{BTreeMap, HashSet};

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::error::{Error, Result};
use crate::redo::{BeforeImage, RedoBuf, RowOps, Tracked};

/// `generation (u64 BE) ++ table id (u16 BE) ++ key` -> `0` (the row was absent) or
/// `1 ++ value`.
pub(crate) const BEFORE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("restore.before");

/// A row's value at a point: `None` when the row did not exist.
pub(crate) type Images = BTreeMap<(u16, Vec<u8>), Option<Vec<u8>>>;

fn row_key(generation: u64, id: u16, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(10 + key.len());
    k.extend_from_slice(&generation.to_be_bytes());
    k.extend_from_slice(&id.to_be_bytes());
    k.extend_from_slice(key);
    k
}

fn split_key(k: &[u8]) -> Result<(u64, u16, &[u8])> {
    if k.len() < 10 {
        return Err(Error::Corrupted(format!(
            "a restore-point image key is {} bytes",
            k.len()
        )));
    }
    let generation = u64::from_be_bytes(k[..8].try_into().unwrap_or_default());
    let id = u16::from_be_bytes([k[8], k[9]]);
    Ok((generation, id, &k[10..]))
}

fn encode_value(v: Option<&[u8]>) -> Vec<u8> {
    match v {
        None => vec![0],
        Some(v) => {
            let mut out = Vec::with_capacity(1 + v.len());
            out.push(1);
            out.extend_from_slice(v);
            out
        }
    }
}

fn decode_value(v: &[u8]) -> Result<Option<Vec<u8>>> {
    match v.split_first() {
        Some((0, [])) => Ok(None),
        Some((1, rest)) => Ok(Some(rest.to_vec())),
        _ => Err(Error::Corrupted(
            "a restore-point image is malformed".into(),
        )),
    }
}

/// Keeps, under `generation`, the first old value of each row in `images` (a batch's
/// changes in order) that the generation holds none for yet.
pub(crate) fn record(
    txn: &WriteTransaction,
    redo: &RedoBuf,
    generation: u64,
    images: Vec<BeforeImage>,
) -> Result<()> {
    let mut t = Tracked::open(txn, BEFORE, redo)?;
    let mut seen = HashSet::with_capacity(images.len());
    for (id, key, old) in images {
        let k = row_key(generation, id, &key);
        if !seen.insert(k.clone()) {
            continue;
        }
        if t.get(k.as_slice())?.is_none() {
            t.insert(k.as_slice(), encode_value(old.as_deref()).as_slice())?;
        }
    }
    Ok(())
}

/// Commit observer: keeps the old values of the rows the batch changed, while a restore
/// point needs them.
pub(crate) fn record_observer(tx: &mut crate::WriteTx<'_>) -> Result<()> {
    let Some(generation) = tx.points()? else {
        return Ok(());
    };
    let images = tx.redo().take_before_images();
    if images.is_empty() {
        return Ok(());
    }
    tx.with_txn(|txn, redo| record(txn, redo, generation, images))
}

/// Every row's value at point `generation` that differs from (or may differ from) the
/// current one: the image of the lowest generation `>= generation` holding the row.
pub(crate) fn resolve(
    t: &impl ReadableTable<&'static [u8], &'static [u8]>,
    generation: u64,
) -> Result<Images> {
    let mut out = Images::new();
    let from = generation.to_be_bytes();
    for row in t.range::<&[u8]>(from.as_slice()..)? {
        let (k, v) = row?;
        let (_, id, key) = split_key(k.value())?;
        // Generations come in increasing order: the first one seen is the lowest.
        out.entry((id, key.to_vec()))
            .or_insert(decode_value(v.value())?);
    }
    Ok(out)
}

/// The images as row changes per table id, to apply them.
pub(crate) fn by_table(images: Images) -> BTreeMap<u16, RowOps> {
    let mut out: BTreeMap<u16, RowOps> = BTreeMap::new();
    for ((id, key), value) in images {
        out.entry(id).or_default().push((key, value));
    }
    out
}

/// Every image key of generation `generation` and above.
fn keys_from(
    t: &impl ReadableTable<&'static [u8], &'static [u8]>,
    generation: u64,
) -> Result<Vec<Vec<u8>>> {
    let from = generation.to_be_bytes();
    let mut out = Vec::new();
    for row in t.range::<&[u8]>(from.as_slice()..)? {
        out.push(row?.0.value().to_vec());
    }
    Ok(out)
}

/// Drops every image of generation `generation` and above (their points are gone).
pub(crate) fn drop_from(txn: &WriteTransaction, redo: &RedoBuf, generation: u64) -> Result<u64> {
    let mut t = Tracked::open(txn, BEFORE, redo)?;
    let keys = keys_from(&*t, generation)?;
    for k in &keys {
        t.remove(k.as_slice())?;
    }
    Ok(keys.len() as u64)
}

/// Point `generation` is deleted: its images move to the next older live point `older`
/// where that one holds none for the row; the rest are dropped.
pub(crate) fn fold_into(
    txn: &WriteTransaction,
    redo: &RedoBuf,
    generation: u64,
    older: Option<u64>,
) -> Result<()> {
    let mut t = Tracked::open(txn, BEFORE, redo)?;
    let mut rows = Vec::new();
    {
        let from = generation.to_be_bytes();
        let to = (generation + 1).to_be_bytes();
        for row in t.range::<&[u8]>(from.as_slice()..to.as_slice())? {
            let (k, v) = row?;
            rows.push((k.value().to_vec(), v.value().to_vec()));
        }
    }
    for (k, v) in rows {
        t.remove(k.as_slice())?;
        if let Some(older) = older {
            let (_, id, key) = split_key(&k)?;
            let into = row_key(older, id, key);
            if t.get(into.as_slice())?.is_none() {
                t.insert(into.as_slice(), v.as_slice())?;
            }
        }
    }
    Ok(())
}

/// Writes legacy images (converted from redb savepoints) for `generation`.
pub(crate) fn insert_raw(
    t: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    generation: u64,
    id: u16,
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<()> {
    let k = row_key(generation, id, key);
    t.insert(k.as_slice(), encode_value(value).as_slice())?;
    Ok(())
}

/// The bytes the images hold (keys and values).
pub(crate) fn stored_bytes(read: &redb::ReadTransaction) -> Result<u64> {
    use redb::ReadableTableMetadata;
    Ok(read.open_table(BEFORE)?.stats()?.stored_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip_and_bad_ones_are_refused() {
        let k = row_key(7, 12, b"abc");
        assert_eq!(split_key(&k).unwrap(), (7, 12, &b"abc"[..]));
        assert!(split_key(&k[..9]).is_err());
        assert_eq!(decode_value(&encode_value(None)).unwrap(), None);
        assert_eq!(
            decode_value(&encode_value(Some(b"v"))).unwrap(),
            Some(b"v".to_vec())
        );
        assert!(decode_value(&[]).is_err());
        assert!(decode_value(&[0, 1]).is_err());
        assert!(decode_value(&[2]).is_err());
        // Generations sort numerically under byte order.
        assert!(row_key(255, 0, b"") < row_key(256, 0, b""));
    }
}
