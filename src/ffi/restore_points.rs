//! The C ABI for restore points.

use super::bytes::{give_bytes, hardstore_bytes};
use super::store::hardstore_store;
use super::{arg, arg_mut, guard, hardstore_result, out, str_arg, FfiError, FfiResult};
use crate::restore_points::{RestorePoint, MAX_LABEL};

/// A restore point, without its label (read that with `hardstore_restore_point_label`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_restore_point_info {
    /// Its id: increasing, never reused.
    pub id: u64,
    /// When it was created, microseconds since the Unix epoch.
    pub created_us: u64,
    /// The audit log's size at that moment.
    pub audit_size: u64,
    /// The audit log's root at that size.
    pub audit_root: [u8; 32],
    /// The BLAKE3 digest of the mutable state at that moment.
    pub digest: [u8; 32],
}

/// The space the file holds, and what restore points keep.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_space_report {
    /// Restore points that exist.
    pub points: u64,
    /// The most that may exist: the store's setting (`hardstore_settings_get`).
    pub max_points: u64,
    /// Bytes in pages the file has allocated.
    pub allocated_bytes: u64,
    /// Bytes the old values kept for restore points hold (0 without points).
    pub pinned_bytes: u64,
}

fn info(p: &RestorePoint) -> hardstore_restore_point_info {
    hardstore_restore_point_info {
        id: p.id,
        created_us: p.created,
        audit_size: p.audit_size,
        audit_root: p.audit_root,
        digest: p.digest,
    }
}

/// Sets the most restore points that may exist at once (default 32, at least 1: 0 is
/// `HARDSTORE_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_max_restore_points(
    options: *mut super::store::hardstore_options,
    max_points: usize,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        if max_points == 0 {
            return Err(crate::Error::InvalidArgument(
                "max_restore_points must be at least 1".into(),
            )
            .into());
        }
        o.inner = o.inner.clone().max_restore_points(max_points);
        Ok(())
    })
}

/// Creates a restore point labelled `label` (1..=256 bytes of UTF-8) and writes it to
/// `*out_point`. `HARDSTORE_LIMIT_REACHED` when the maximum number exist.
#[no_mangle]
pub unsafe extern "C" fn hardstore_restore_point_create(
    store: *const hardstore_store,
    label: *const u8,
    label_len: usize,
    out_point: *mut hardstore_restore_point_info,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let label = str_arg(label, label_len, "label", MAX_LABEL)?;
        let o = out(out_point, "out_point")?;
        let p = s.store.restore_points().create(label)?;
        *o = info(&p);
        Ok(())
    })
}

/// Writes the ids of every restore point, oldest first, into `ids` (room for `cap`), and
/// their number to `*out_n`. When `cap` is too small, nothing is copied, `*out_n` gets the
/// number and the result is `HARDSTORE_BUFFER_TOO_SMALL`. `ids` may be NULL when `cap` is 0.
#[no_mangle]
pub unsafe extern "C" fn hardstore_restore_point_list(
    store: *const hardstore_store,
    ids: *mut u64,
    cap: usize,
    out_n: *mut usize,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_n, "out_n")?;
        let points = s.store.restore_points().list()?;
        if points.len() > cap {
            *o = points.len();
            return Err(FfiError::BufferTooSmall { need: points.len() });
        }
        if !points.is_empty() {
            let dst = out(ids, "ids")?;
            for (i, p) in points.iter().enumerate() {
                *dst.add(i) = p.id;
            }
        }
        *o = points.len();
        Ok(())
    })
}

/// Looks up restore point `id`: writes whether it exists to `*out_found` and, if so, the
/// point to `*out_point`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_restore_point_get(
    store: *const hardstore_store,
    id: u64,
    out_found: *mut bool,
    out_point: *mut hardstore_restore_point_info,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let found = out(out_found, "out_found")?;
        let o = out(out_point, "out_point")?;
        match s.store.restore_points().get(id)? {
            Some(p) => {
                *o = info(&p);
                *found = true;
            }
            None => *found = false,
        }
        Ok(())
    })
}

/// Writes restore point `id`'s label to a new buffer `*out_label` (owned by the caller:
/// `hardstore_bytes_free`). `HARDSTORE_NOT_FOUND` if there is no such point.
#[no_mangle]
pub unsafe extern "C" fn hardstore_restore_point_label(
    store: *const hardstore_store,
    id: u64,
    out_label: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_label, "out_label")?;
        let p = s
            .store
            .restore_points()
            .get(id)?
            .ok_or_else(|| crate::Error::NotFound(format!("restore point {id}")))?;
        give_bytes(p.label.into_bytes(), o);
        Ok(())
    })
}

/// Deletes restore point `id`; writes whether it existed to `*out_existed`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_restore_point_delete(
    store: *const hardstore_store,
    id: u64,
    out_existed: *mut bool,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_existed, "out_existed")?;
        *o = s.store.restore_points().delete(id)?;
        Ok(())
    })
}

/// Checks that restore point `id`'s state still has its recorded digest:
/// `HARDSTORE_OK`, `HARDSTORE_CORRUPTED` when it does not, `HARDSTORE_NOT_FOUND`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_restore_point_verify(
    store: *const hardstore_store,
    id: u64,
) -> hardstore_result {
    guard(|| {
        arg(store, "store")?.store.restore_points().verify(id)?;
        Ok(())
    })
}

/// Rolls the mutable state back to restore point `id`, keeping the audit log and the
/// log ring, and appends an audit entry by `actor` (UTF-8, may be empty) naming the
/// point; writes that entry's seq to `*out_audit_seq`. Durable.
#[no_mangle]
pub unsafe extern "C" fn hardstore_restore_point_restore(
    store: *const hardstore_store,
    id: u64,
    actor: *const u8,
    actor_len: usize,
    out_audit_seq: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let actor = str_arg(actor, actor_len, "actor", crate::audit::limits::ACTOR)?;
        let o = out(out_audit_seq, "out_audit_seq")?;
        *o = s.store.restore_points().restore(id, actor)?.audit_seq;
        Ok(())
    })
}

/// Writes restore point `id`'s state as a new standalone store file at `path` (UTF-8,
/// which must not exist: `HARDSTORE_INVALID_ARGUMENT` otherwise), with its own store id;
/// writes the rows copied to `*out_rows`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_restore_point_export(
    store: *const hardstore_store,
    id: u64,
    path: *const u8,
    path_len: usize,
    out_rows: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let path = str_arg(path, path_len, "path", super::store::HARDSTORE_MAX_PATH)?;
        let o = out(out_rows, "out_rows")?;
        *o = s.store.restore_points().export(id, path)?;
        Ok(())
    })
}

/// Writes the space the file holds, and what restore points keep, to `*out_space`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_restore_point_space(
    store: *const hardstore_store,
    out_space: *mut hardstore_space_report,
) -> hardstore_result {
    guard(|| -> FfiResult {
        let s = arg(store, "store")?;
        let o = out(out_space, "out_space")?;
        let sp = s.store.restore_points().space()?;
        *o = hardstore_space_report {
            points: sp.points as u64,
            max_points: sp.max_points as u64,
            allocated_bytes: sp.allocated_bytes,
            pinned_bytes: sp.pinned_bytes,
        };
        Ok(())
    })
}
