//! Writing a restore point's state as a standalone store file.
//!
//! The point is restored inside a transaction that is never committed, every area's table
//! is copied from it into a new file, and the transaction is aborted. The new store gets
//! its own id (it is another store from then on: checkpoints signed by the source name
//! the source's id) and no restore points; its audit log is the source's as of the point,
//! with the same root.

use std::path::Path;

use redb::{Key, TableDefinition, Value, WriteTransaction};

use crate::error::Result;

fn copy<K: Key + 'static, V: Value + 'static>(
    src: &WriteTransaction,
    dst: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64> {
    let from = src.open_table(def)?;
    let mut to = dst.open_table(def)?;
    let mut n = 0;
    for row in redb::ReadableTable::range::<K::SelfType<'_>>(&from, ..)? {
        let (k, v) = row?;
        to.insert(k.value(), v.value())?;
        n += 1;
    }
    Ok(n)
}

/// Copies every area's rows from `src` (a transaction restored to the point) into a new
/// store created at `path` (through `<path>.partial`); returns the rows copied. `path`
/// must not exist.
pub(crate) fn write_store(
    src: &WriteTransaction,
    path: &Path,
    opts: &crate::Options,
) -> Result<u64> {
    crate::backup::file::refuse_existing(path, "an export")?;
    // Written under a temporary name and renamed when complete, so a crash midway never
    // leaves a file that could be taken for a finished export; a failure leaves nothing.
    let tmp = crate::backup::file::partial(path);
    let _ = std::fs::remove_file(&tmp);
    let n = copy_all(src, &tmp, opts).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    crate::backup::file::publish(&tmp, path)?;
    Ok(n)
}

fn copy_all(src: &WriteTransaction, tmp: &Path, opts: &crate::Options) -> Result<u64> {
    use crate::audit::tables as audit;
    use crate::dead_letters::tables as dlq;
    use crate::idempotency::tables as idem;
    use crate::logs::ring;
    let db = redb::Database::create(tmp)?;
    crate::store::init_store(&db, opts)?;
    let dst = db.begin_write()?;
    let mut n = 0;
    n += copy(src, &dst, audit::ENTRIES)?;
    n += copy(src, &dst, audit::NODES)?;
    n += copy(src, &dst, audit::BY_TENANT)?;
    n += copy(src, &dst, ring::CHUNKS)?;
    n += copy(src, &dst, ring::META)?;
    n += copy(src, &dst, crate::kv::KV)?;
    n += copy(src, &dst, idem::KEYS)?;
    n += copy(src, &dst, idem::EXPIRY)?;
    n += copy(src, &dst, dlq::ITEMS)?;
    n += copy(src, &dst, dlq::PAYLOADS)?;
    n += copy(src, &dst, dlq::DUE)?;
    n += copy(src, &dst, dlq::FINISHED)?;
    n += copy(src, &dst, dlq::BY_STATE)?;
    n += copy(src, &dst, dlq::COUNTS)?;
    n += copy(src, &dst, dlq::META)?;
    dst.commit()?;
    drop(db);
    Ok(n)
}
