//! Writing a restore point's state as a standalone store file.
//!
//! From one read snapshot: every area's rows are copied into a new file, the audit log
//! only up to the point's size, and the mutable tables then get the old values kept for
//! the point written back. The new store gets its own id (it is another store from then
//! on: checkpoints signed by the source name the source's id) and no restore points; its
//! audit log is the source's as of the point, with the same root, and it keeps the
//! source's settings.

use std::path::Path;

use redb::{Key, ReadTransaction, TableDefinition, Value, WriteTransaction};

use super::before;
use super::RestorePoint;
use crate::error::Result;

/// Copies the rows of `def`.
fn copy<K: Key + 'static, V: Value + 'static>(
    src: &ReadTransaction,
    dst: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64> {
    let from = src.open_table(def)?;
    let mut to = dst.open_table(def)?;
    let mut n = 0;
    for row in from.range::<K::SelfType<'_>>(..)? {
        let (k, v) = row?;
        to.insert(k.value(), v.value())?;
        n += 1;
    }
    Ok(n)
}

/// Cuts the copied audit log back to its first `size` entries; returns the rows cut.
fn cut_audit(dst: &WriteTransaction, size: u64) -> Result<u64> {
    use crate::audit::tables as audit;
    let mut n = 0;
    let mut entries = dst.open_table(audit::ENTRIES)?;
    let before = redb::ReadableTableMetadata::len(&entries)?;
    entries.retain_in(size.., |_, _| false)?;
    n += before - redb::ReadableTableMetadata::len(&entries)?;
    // A node's key starts with its last leaf: the point's tree holds those below `size`.
    let mut nodes = dst.open_table(audit::NODES)?;
    let before = redb::ReadableTableMetadata::len(&nodes)?;
    nodes.retain_in(size << 6.., |_, _| false)?;
    n += before - redb::ReadableTableMetadata::len(&nodes)?;
    let mut by_tenant = dst.open_table(audit::BY_TENANT)?;
    let before = redb::ReadableTableMetadata::len(&by_tenant)?;
    by_tenant.retain(|k, _| k.2 < size)?;
    n += before - redb::ReadableTableMetadata::len(&by_tenant)?;
    Ok(n)
}

/// Writes point `point`'s state, as `src` sees the store, into a new store created at
/// `path` (through `<path>.partial`); returns the rows copied. `path` must not exist.
pub(crate) fn write_store(
    src: &ReadTransaction,
    point: &RestorePoint,
    path: &Path,
    opts: &crate::Options,
) -> Result<u64> {
    crate::backup::file::refuse_existing(path, "an export")?;
    // Written under a temporary name and renamed when complete, so a crash midway never
    // leaves a file that could be taken for a finished export; a failure leaves nothing.
    let tmp = crate::backup::file::partial(path);
    let _ = std::fs::remove_file(&tmp);
    let n = copy_all(src, point, &tmp, opts).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    crate::backup::file::publish(&tmp, path)?;
    Ok(n)
}

fn copy_all(
    src: &ReadTransaction,
    point: &RestorePoint,
    tmp: &Path,
    opts: &crate::Options,
) -> Result<u64> {
    use crate::audit::tables as audit;
    use crate::dead_letters::tables as dlq;
    use crate::idempotency::tables as idem;
    use crate::logs::ring;
    let size = point.audit_size;
    let db = redb::Database::create(tmp)?;
    crate::store::init_store(&db, opts)?;
    let dst = db.begin_write()?;
    let mut n = 0;
    n += copy(src, &dst, audit::ENTRIES)?;
    n += copy(src, &dst, audit::NODES)?;
    n += copy(src, &dst, audit::BY_TENANT)?;
    n -= cut_audit(&dst, size)?;
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
    n += copy(src, &dst, crate::settings::SETTINGS)?;
    let images = before::resolve(&src.open_table(before::BEFORE)?, point.id)?;
    for (table, rows) in before::by_table(images) {
        crate::engine::catalog::apply_rows(&dst, table, &rows)?;
    }
    dst.commit()?;
    drop(db);
    Ok(n)
}
