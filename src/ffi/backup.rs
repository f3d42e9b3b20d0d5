//! The C ABI for full backups.

use super::store::{hardstore_options, hardstore_store, HARDSTORE_MAX_PATH};
use super::{arg, guard, hardstore_result, out, str_arg};
use crate::backup::BackupInfo;

/// What a verified backup file holds.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_backup_info {
    /// The id of the store it was taken from.
    pub store_id: [u8; 16],
    /// When the snapshot was taken, microseconds since the Unix epoch.
    pub created_us: u64,
    /// The audit log's size in the snapshot.
    pub audit_size: u64,
    /// The audit log's root at that size.
    pub audit_root: [u8; 32],
    /// Rows written (one frame each).
    pub frames: u64,
    /// The file's length in bytes.
    pub bytes: u64,
    /// BLAKE3 of the file before its trailer.
    pub digest: [u8; 32],
}

fn info(b: &BackupInfo) -> hardstore_backup_info {
    hardstore_backup_info {
        store_id: b.store_id.0,
        created_us: b.created,
        audit_size: b.audit_size,
        audit_root: b.audit_root,
        frames: b.frames,
        bytes: b.bytes,
        digest: b.digest,
    }
}

/// Writes a full backup of `store`, as of one snapshot, to `path` (UTF-8; it must not
/// exist: `HARDSTORE_INVALID_ARGUMENT` otherwise); writes what it holds to `*out_info`.
/// Writers are not blocked while it runs.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_full(
    store: *const hardstore_store,
    path: *const u8,
    path_len: usize,
    out_info: *mut hardstore_backup_info,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let path = str_arg(path, path_len, "path", HARDSTORE_MAX_PATH)?;
        let o = out(out_info, "out_info")?;
        *o = info(&s.store.backups().full(path)?);
        Ok(())
    })
}

/// Reads the backup at `path` end to end; `HARDSTORE_CORRUPTED` names what failed (a
/// flipped bit, a cut, appended bytes). On success writes what it holds to `*out_info`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_verify(
    path: *const u8,
    path_len: usize,
    out_info: *mut hardstore_backup_info,
) -> hardstore_result {
    guard(|| {
        let path = str_arg(path, path_len, "path", HARDSTORE_MAX_PATH)?;
        let o = out(out_info, "out_info")?;
        *o = info(&crate::backup::verify(path)?);
        Ok(())
    })
}

/// Writes a new store at `new_path` (which must not exist) from the backup at `backup`,
/// created with `options` (NULL for the defaults; not consumed). Nothing is left at
/// `new_path` unless the whole backup verified. Writes what it held to `*out_info`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_restore(
    backup: *const u8,
    backup_len: usize,
    new_path: *const u8,
    new_path_len: usize,
    options: *const hardstore_options,
    out_info: *mut hardstore_backup_info,
) -> hardstore_result {
    guard(|| {
        let backup = str_arg(backup, backup_len, "backup", HARDSTORE_MAX_PATH)?;
        let new_path = str_arg(new_path, new_path_len, "new_path", HARDSTORE_MAX_PATH)?;
        let o = out(out_info, "out_info")?;
        let defaults = crate::Options::new();
        let opts = if options.is_null() {
            &defaults
        } else {
            &arg(options, "options")?.inner
        };
        *o = info(&crate::backup::restore(backup, new_path, opts)?);
        Ok(())
    })
}
