//! The C ABI for sealed fields: keys (as bytes or a callback, never stored), seal and
//! open, shred, rotation (add, make primary, re-wrap in steps, disable, enable,
//! destroy) and the keyset's listing.

use std::ffi::c_void;

use super::bytes::{give_bytes, hardstore_bytes};
use super::store::{hardstore_options, hardstore_store};
use super::{arg, arg_mut, bytes_arg, free_box, guard, hardstore_result, out, str_arg};
use crate::error::Error;
use crate::sealing::{limits, KeyFn, KeyInfo, KeyStatus};

/// Key status: wraps and unwraps data keys.
pub const HARDSTORE_KEY_ENABLED: u32 = 0;
/// Key status: refused until enabled again.
pub const HARDSTORE_KEY_DISABLED: u32 = 1;
/// Key status: refused for ever.
pub const HARDSTORE_KEY_DESTROYED: u32 = 2;
/// Longest sealing subject, in bytes.
pub const HARDSTORE_LIMIT_SEAL_SUBJECT: usize = 128;
/// Longest sealed plaintext, in bytes (16 MiB).
pub const HARDSTORE_LIMIT_SEAL_PLAINTEXT: usize = 16 << 20;
/// Bytes of a sealing key.
pub const HARDSTORE_SEALING_KEY_LEN: usize = 32;

const _: () = assert!(HARDSTORE_LIMIT_SEAL_SUBJECT == limits::SUBJECT);
const _: () = assert!(HARDSTORE_LIMIT_SEAL_PLAINTEXT == limits::PLAINTEXT);

/// A key source callback: writes the 32 bytes of key `key_id` to `out_key` and returns
/// true, or returns false when it does not have that key. Called from any thread the
/// store runs on, possibly at once: it and `user_data` must be thread-safe. It must not
/// call back into the store.
pub type hardstore_key_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, key_id: u32, out_key: *mut u8) -> bool>;

/// A key of the store's keyset, from `hardstore_sealing_key_list_get`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_sealing_key {
    /// Its id.
    pub id: u32,
    /// `HARDSTORE_KEY_ENABLED`, `_DISABLED` or `_DESTROYED`.
    pub status: u32,
    /// Whether new data keys are wrapped by it.
    pub primary: bool,
    /// Whether the key source gives the right bytes for it now.
    pub available: bool,
    /// When it was added (microseconds since the epoch).
    pub added_at: u64,
    /// Live subjects whose data key it wraps.
    pub subjects: u64,
}

/// The store's keyset (from `hardstore_sealing_key_list`, free with
/// `hardstore_sealing_key_list_free`).
pub struct hardstore_sealing_keys {
    items: Vec<KeyInfo>,
}

/// What a re-wrap step did.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_rewrap_report {
    /// Data keys re-wrapped by the primary in this step.
    pub rewrapped: u64,
    /// Live subjects still wrapped by another key.
    pub remaining: u64,
}

/// The C callback and its user data, called from any thread (the caller promised).
struct CallbackSource {
    cb: unsafe extern "C" fn(*mut c_void, u32, *mut u8) -> bool,
    user_data: usize,
}

impl CallbackSource {
    fn get(&self, id: u32) -> Option<[u8; 32]> {
        let mut k = [0u8; 32];
        // SAFETY: the caller's contract on hardstore_key_callback: it writes 32 bytes.
        let ok = unsafe { (self.cb)(self.user_data as *mut c_void, id, k.as_mut_ptr()) };
        ok.then_some(k)
    }
}

/// Adds sealing key `key_id` with its 32 bytes at `key` to the options (copied; the
/// store never writes it to its file). Call once per key. Replaces a callback set
/// before.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_sealing_key(
    options: *mut hardstore_options,
    key_id: u32,
    key: *const u8,
    key_len: usize,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        let b = bytes_arg(key, key_len, "key")?;
        let k: [u8; HARDSTORE_SEALING_KEY_LEN] = b.try_into().map_err(|_| {
            Error::InvalidArgument(format!("a sealing key is 32 bytes, not {}", b.len()))
        })?;
        o.sealing_keys = o.sealing_keys.clone().with(key_id, k);
        o.inner = o.inner.clone().sealing_keys(o.sealing_keys.clone());
        Ok(())
    })
}

/// Makes `callback` the options' key source (see `hardstore_key_callback`); it replaces
/// keys given by `hardstore_options_set_sealing_key`. `user_data` must stay valid until
/// every store opened with these options is closed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_sealing_key_callback(
    options: *mut hardstore_options,
    callback: hardstore_key_callback,
    user_data: *mut c_void,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        let cb = callback.ok_or(super::FfiError::Null("callback"))?;
        let src = CallbackSource {
            cb,
            user_data: user_data as usize,
        };
        o.sealing_keys = crate::sealing::Keyset::new();
        o.inner = o.inner.clone().sealing_keys(KeyFn(move |id| src.get(id)));
        Ok(())
    })
}

/// Adds key `key_id` (its bytes must come from the key source) to the store's keyset,
/// durably, with an audit entry; the first key added becomes the primary.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_add_key(
    store: *const hardstore_store,
    key_id: u32,
) -> hardstore_result {
    guard(|| {
        arg(store, "store")?.store.sealing().add_key(key_id)?;
        Ok(())
    })
}

/// Makes key `key_id` (enabled and available) the primary, durably, with an audit entry.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_set_primary(
    store: *const hardstore_store,
    key_id: u32,
) -> hardstore_result {
    guard(|| {
        arg(store, "store")?.store.sealing().set_primary(key_id)?;
        Ok(())
    })
}

/// Disables key `key_id` (not the primary): the subjects it wraps cannot be read until
/// `hardstore_sealing_enable_key`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_disable_key(
    store: *const hardstore_store,
    key_id: u32,
) -> hardstore_result {
    guard(|| {
        arg(store, "store")?.store.sealing().disable_key(key_id)?;
        Ok(())
    })
}

/// Enables a disabled key again.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_enable_key(
    store: *const hardstore_store,
    key_id: u32,
) -> hardstore_result {
    guard(|| {
        arg(store, "store")?.store.sealing().enable_key(key_id)?;
        Ok(())
    })
}

/// Destroys key `key_id` (not the primary) for ever; the subjects it still wraps become
/// unreadable. `HARDSTORE_CONFIRMATION_REQUIRED` (changing nothing) when they are more
/// than `confirm`. Writes how many it made unreadable to `*out_lost`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_destroy_key(
    store: *const hardstore_store,
    key_id: u32,
    confirm: u64,
    out_lost: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_lost, "out_lost")?;
        *o = s.store.sealing().destroy_key(key_id, confirm)?;
        Ok(())
    })
}

/// Seals `plaintext` for `subject` (1..=128 bytes of UTF-8) and writes the blob to a new
/// `*out_sealed` owned by the caller (free with `hardstore_bytes_free`). A new subject's
/// data key is made durably first.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_seal(
    store: *const hardstore_store,
    subject: *const u8,
    subject_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    out_sealed: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let subj = str_arg(subject, subject_len, "subject", limits::SUBJECT)?;
        if plaintext_len > limits::PLAINTEXT {
            return Err(Error::TooLong {
                field: "plaintext",
                len: plaintext_len,
                max: limits::PLAINTEXT,
            }
            .into());
        }
        let p = bytes_arg(plaintext, plaintext_len, "plaintext")?;
        let o = out(out_sealed, "out_sealed")?;
        give_bytes(s.store.sealing().seal(subj, p)?, o);
        Ok(())
    })
}

/// Opens a blob from `hardstore_sealing_seal` into a new `*out_plaintext` owned by the
/// caller. `HARDSTORE_SHREDDED` once its subject was shredded, `HARDSTORE_SEALED_INVALID`
/// for bytes that are not an intact blob of this store, `HARDSTORE_KEY_UNAVAILABLE` when
/// its key is not available.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_open(
    store: *const hardstore_store,
    sealed: *const u8,
    sealed_len: usize,
    out_plaintext: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let b = bytes_arg(sealed, sealed_len, "sealed")?;
        let o = out(out_plaintext, "out_plaintext")?;
        give_bytes(s.store.sealing().open(b)?, o);
        Ok(())
    })
}

/// Shreds `subject`, durably, with an audit entry: every field sealed for it becomes
/// unreadable. `*out_shredded` says whether there was a live key to destroy.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_shred(
    store: *const hardstore_store,
    subject: *const u8,
    subject_len: usize,
    out_shredded: *mut bool,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let subj = str_arg(subject, subject_len, "subject", limits::SUBJECT)?;
        let o = out(out_shredded, "out_shredded")?;
        *o = s.store.sealing().shred(subj)?;
        Ok(())
    })
}

/// Re-wraps up to `step` data keys wrapped by keys other than the primary, durably, and
/// writes what it did to `*out_report`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_rewrap(
    store: *const hardstore_store,
    step: u64,
    out_report: *mut hardstore_rewrap_report,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_report, "out_report")?;
        let r = s.store.sealing().rewrap(step)?;
        *o = hardstore_rewrap_report {
            rewrapped: r.rewrapped,
            remaining: r.remaining,
        };
        Ok(())
    })
}

/// Writes the store's keyset to a new `*out_keys` owned by the caller (free with
/// `hardstore_sealing_key_list_free`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_key_list(
    store: *const hardstore_store,
    out_keys: *mut *mut hardstore_sealing_keys,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_keys, "out_keys")?;
        let items = s.store.sealing().keys()?;
        *o = Box::into_raw(Box::new(hardstore_sealing_keys { items }));
        Ok(())
    })
}

/// How many keys a list holds; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_key_list_len(
    keys: *const hardstore_sealing_keys,
) -> usize {
    keys.as_ref().map_or(0, |k| k.items.len())
}

/// Writes key `index` of a list to `*out_key`; an index past the end is
/// `HARDSTORE_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_key_list_get(
    keys: *const hardstore_sealing_keys,
    index: usize,
    out_key: *mut hardstore_sealing_key,
) -> hardstore_result {
    guard(|| {
        let k = arg(keys, "keys")?;
        let o = out(out_key, "out_key")?;
        let i = k.items.get(index).ok_or_else(|| {
            Error::InvalidArgument(format!("key {index} of a list of {}", k.items.len()))
        })?;
        *o = hardstore_sealing_key {
            id: i.id,
            status: match i.status {
                KeyStatus::Enabled => HARDSTORE_KEY_ENABLED,
                KeyStatus::Disabled => HARDSTORE_KEY_DISABLED,
                KeyStatus::Destroyed => HARDSTORE_KEY_DESTROYED,
            },
            primary: i.primary,
            available: i.available,
            added_at: i.added_at,
            subjects: i.subjects,
        };
        Ok(())
    })
}

/// Frees a key list. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_sealing_key_list_free(keys: *mut hardstore_sealing_keys) {
    free_box(keys);
}
