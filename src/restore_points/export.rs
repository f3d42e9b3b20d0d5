//! Writing a restore point's state as a standalone store file.
//!
//! From one read snapshot: the rows of every table the catalog marks exported are copied
//! into a new file, the audit log only up to the point's size, and the mutable tables
//! then get the old values kept for the point written back. The new store gets its own id (it is another store from then
//! on: checkpoints signed by the source name the source's id) and no restore points; its
//! audit log is the source's as of the point, with the same root, and it keeps the
//! source's settings.

use std::path::Path;

use redb::{ReadTransaction, WriteTransaction};

use super::before;
use super::RestorePoint;
use crate::error::Result;

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
    let size = point.audit_size;
    let db = redb::Database::create(tmp)?;
    // The source's row (copied below) sets the hash; BLAKE3 for a source without one.
    let opts = opts.clone().audit_hash(crate::audit::AuditHash::Blake3);
    crate::store::init_store(&db, &opts)?;
    let dst = db.begin_write()?;
    // Every exported table of the catalog; the audit log then cut to the point's size.
    let mut n = 0;
    for t in crate::engine::catalog::with(|f| f.exported) {
        n += t.copy_to(src, &dst)?;
    }
    n -= cut_audit(&dst, size)?;
    let images = before::resolve(&src.open_table(before::BEFORE)?, point.id)?;
    for (table, rows) in before::by_table(images) {
        crate::engine::catalog::apply_rows(&dst, table, &rows)?;
    }
    dst.commit()?;
    drop(db);
    Ok(n)
}
