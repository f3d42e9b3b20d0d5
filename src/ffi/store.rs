//! The C ABI for options and the store handle.

use std::time::Duration;

use super::{arg, arg_mut, bytes_arg, free_box, guard, hardstore_result, out, str_arg, FfiResult};
use crate::options::{Durability, Options};
use crate::store::Store;

/// Options for `hardstore_store_open`. Create with `hardstore_options_new`, free with
/// `hardstore_options_free`.
pub struct hardstore_options {
    pub(crate) inner: Options,
    /// Sealing keys given as bytes, one call each (`hardstore_options_set_sealing_key`).
    pub(crate) sealing_keys: crate::sealing::Keyset,
}

/// An open store. Thread-safe: one handle may be used from many threads at once.
/// Close (and free) it with `hardstore_store_close`.
pub struct hardstore_store {
    pub(crate) store: Store,
}

/// `durability` value: return once the write is on disk.
pub const HARDSTORE_DURABLE: u32 = 0;
/// `durability` value: return once the write is committed in memory and visible; it is
/// synced within the flush interval (default 100 ms), on the next durable write, or on
/// close.
pub const HARDSTORE_BUFFERED: u32 = 1;

/// The longest path `hardstore_store_open` accepts, in bytes.
pub const HARDSTORE_MAX_PATH: usize = 4096;

pub(crate) fn durability_arg(d: u32) -> FfiResult<Durability> {
    match d {
        HARDSTORE_DURABLE => Ok(Durability::Durable),
        HARDSTORE_BUFFERED => Ok(Durability::Buffered),
        other => Err(crate::Error::InvalidArgument(format!(
            "durability {other} is neither HARDSTORE_DURABLE nor HARDSTORE_BUFFERED"
        ))
        .into()),
    }
}

/// Creates default options (system clock, 100 ms flush interval, no audit key) into
/// `*out_options`. The caller owns them: free with `hardstore_options_free`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_new(
    out_options: *mut *mut hardstore_options,
) -> hardstore_result {
    guard(|| {
        let o = out(out_options, "out_options")?;
        *o = Box::into_raw(Box::new(hardstore_options {
            inner: Options::new(),
            sealing_keys: crate::sealing::Keyset::new(),
        }));
        Ok(())
    })
}

/// Sets the longest a buffered write stays unsynced, in milliseconds (0: sync every batch).
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_flush_interval_ms(
    options: *mut hardstore_options,
    millis: u64,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        o.inner = o
            .inner
            .clone()
            .flush_interval(Duration::from_millis(millis));
        Ok(())
    })
}

/// Sets the most writes gathered into one transaction (at least 1).
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_max_batch(
    options: *mut hardstore_options,
    max_batch: usize,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        if max_batch == 0 {
            return Err(
                crate::Error::InvalidArgument("max_batch must be at least 1".into()).into(),
            );
        }
        o.inner = o.inner.clone().max_batch(max_batch);
        Ok(())
    })
}

/// Sets the secret from which the checkpoint MAC key is derived (1..=1024 bytes). The
/// bytes are copied.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_audit_key(
    options: *mut hardstore_options,
    key: *const u8,
    key_len: usize,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        if key_len == 0 || key_len > 1024 {
            return Err(crate::Error::InvalidArgument(format!(
                "audit key is {key_len} bytes; 1..=1024 are accepted"
            ))
            .into());
        }
        let k = bytes_arg(key, key_len, "key")?;
        o.inner = o.inner.clone().audit_key(k);
        Ok(())
    })
}

/// Sets how many log entries the ring keeps (at least 1; default 100,000).
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_log_capacity(
    options: *mut hardstore_options,
    capacity: u64,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        if capacity == 0 {
            return Err(
                crate::Error::InvalidArgument("log capacity must be at least 1".into()).into(),
            );
        }
        o.inner = o.inner.clone().log_capacity(capacity);
        Ok(())
    })
}

/// Turns PII redaction of log messages and field values on (default) or off.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_redact_logs(
    options: *mut hardstore_options,
    redact: bool,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        o.inner = o.inner.clone().redact_logs(redact);
        Ok(())
    })
}

/// Frees options. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_free(options: *mut hardstore_options) {
    free_box(options);
}

/// Opens (or creates, if absent or empty) the store at the UTF-8 path `path` of
/// `path_len` bytes. `options` may be NULL for the defaults; it is only read, and the
/// caller still owns it. On success `*out_store` owns the new handle: close it with
/// `hardstore_store_close`.
///
/// Errors: `HARDSTORE_NOT_A_STORE`, `HARDSTORE_FORMAT_TOO_NEW` (file untouched),
/// `HARDSTORE_ALREADY_OPEN`, `HARDSTORE_IO`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_open(
    path: *const u8,
    path_len: usize,
    options: *const hardstore_options,
    out_store: *mut *mut hardstore_store,
) -> hardstore_result {
    guard(|| {
        let path = str_arg(path, path_len, "path", HARDSTORE_MAX_PATH)?;
        let out_store = out(out_store, "out_store")?;
        if path.is_empty() {
            return Err(crate::Error::InvalidArgument("path is empty".into()).into());
        }
        let opts = match options.as_ref() {
            Some(o) => o.inner.clone(),
            None => Options::new(),
        };
        let store = Store::open(path, opts)?;
        *out_store = Box::into_raw(Box::new(hardstore_store { store }));
        Ok(())
    })
}

/// Makes every write acknowledged so far durable.
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_flush(store: *const hardstore_store) -> hardstore_result {
    guard(|| {
        arg(store, "store")?.store.flush()?;
        Ok(())
    })
}

/// Writes the store's 16-byte id to `out_id` (16 bytes).
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_id(
    store: *const hardstore_store,
    out_id: *mut u8,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_id, "out_id")?;
        std::ptr::copy_nonoverlapping(s.store.id().0.as_ptr(), o, 16);
        Ok(())
    })
}

/// Flushes buffered writes, closes the store and frees the handle, which must not be
/// used again, whatever the result. NULL is allowed and returns `HARDSTORE_OK`.
/// Another thread must not be using the handle during or after this call.
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_close(store: *mut hardstore_store) -> hardstore_result {
    if store.is_null() {
        return hardstore_result::HARDSTORE_OK;
    }
    let handle = Box::from_raw(store);
    guard(move || {
        handle.store.close()?;
        Ok(())
    })
}
