//! The C ABI for audit retention: what a prune would take, the prune (asking for its
//! count), the archive to export first, whether an entry was pruned, and opt-in
//! redaction of actors and details.

use std::fs::OpenOptions;
use std::io::BufWriter;
use std::time::Duration;

use super::audit::hardstore_audit_entry;
use super::store::{hardstore_options, hardstore_store, HARDSTORE_MAX_PATH};
use super::{arg, arg_mut, guard, hardstore_result, out, str_arg, FfiResult};
use crate::audit::PruneBefore;
use crate::error::Error;

/// Prune mode: entries with a seq below `value`.
pub const HARDSTORE_PRUNE_BELOW_SEQ: u32 = 0;
/// Prune mode: entries appended at least `value` microseconds ago.
pub const HARDSTORE_PRUNE_OLDER_THAN: u32 = 1;

fn before_arg(mode: u32, value: u64) -> FfiResult<PruneBefore> {
    match mode {
        HARDSTORE_PRUNE_BELOW_SEQ => Ok(PruneBefore::Seq(value)),
        HARDSTORE_PRUNE_OLDER_THAN => Ok(PruneBefore::Age(Duration::from_micros(value))),
        m => Err(Error::InvalidArgument(format!("prune mode {m} is not 0 or 1")).into()),
    }
}

/// Writes the entries a prune (`mode` `HARDSTORE_PRUNE_*`, `value`) would take now:
/// `*out_from..*out_to`. Changes nothing.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_prunable(
    store: *const hardstore_store,
    mode: u32,
    value: u64,
    out_from: *mut u64,
    out_to: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let b = before_arg(mode, value)?;
        let (of, ot) = (out(out_from, "out_from")?, out(out_to, "out_to")?);
        let r = s.store.audit().prunable(b)?;
        (*of, *ot) = (r.from, r.to);
        Ok(())
    })
}

/// Prunes the payloads of the entries a prune (`mode`, `value`) takes, keeping their
/// leaf hashes (the root, proofs and verify are unchanged), durably, audited.
/// `HARDSTORE_CONFIRMATION_REQUIRED` (changing nothing) when that is more than `confirm`
/// entries. Writes how many it pruned to `*out_pruned`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_prune(
    store: *const hardstore_store,
    mode: u32,
    value: u64,
    confirm: u64,
    out_pruned: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let b = before_arg(mode, value)?;
        let o = out(out_pruned, "out_pruned")?;
        *o = s.store.audit().prune(b, confirm)?;
        Ok(())
    })
}

/// Writes the bound below which every entry is pruned to `*out_seq`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_pruned_below(
    store: *const hardstore_store,
    out_seq: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_seq, "out_seq")?;
        *o = s.store.audit().pruned_below()?;
        Ok(())
    })
}

/// Writes entries `from..to` as a JSON Lines archive (a header with the log's size,
/// root and checkpoint; each entry with its leaf hash and inclusion proof) to a new file
/// at the UTF-8 `path`: an existing file is refused (`HARDSTORE_IO`), never replaced.
/// Writes the entries written to `*out_count`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_export_archive(
    store: *const hardstore_store,
    from: u64,
    to: u64,
    path: *const u8,
    path_len: usize,
    out_count: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let path = str_arg(path, path_len, "path", HARDSTORE_MAX_PATH)?;
        let o = out(out_count, "out_count")?;
        if path.is_empty() {
            return Err(Error::InvalidArgument("path is empty".into()).into());
        }
        let size = s.store.audit().size()?;
        if from > to || to > size {
            return Err(Error::InvalidArgument(format!(
                "range {from}..{to} is not within the log's {size} entries"
            ))
            .into());
        }
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(Error::from)?;
        let mut w = BufWriter::new(f);
        match s.store.audit().export_archive(from, to, &mut w) {
            Ok(n) => {
                *o = n;
                Ok(())
            }
            Err(e) => {
                // Ours, and incomplete: an archive that is not whole is not kept.
                drop(w);
                let _ = std::fs::remove_file(path);
                Err(e.into())
            }
        }
    })
}

/// Whether retention pruned the entry (its payload fields are then empty and its leaf
/// hash, from `hardstore_audit_entry_leaf_hash`, is the one kept); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_entry_pruned(entry: *const hardstore_audit_entry) -> bool {
    entry.as_ref().is_some_and(|e| e.inner.pruned.is_some())
}

/// Whether audit appends redact e-mail addresses and phone numbers in actors and detail
/// values before they are hashed and stored (default false).
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_redact_audit(
    options: *mut hardstore_options,
    on: bool,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        o.inner = o.inner.clone().redact_audit(on);
        Ok(())
    })
}
