//! The C ABI, in the style of rustls-ffi.
//!
//! Rules every function keeps (the header repeats them):
//! - It returns a `hardstore_result`; results go to out-parameters, written only on
//!   success. Inputs come before outputs.
//! - A NULL handle or out-pointer is `HARDSTORE_NULL_ARGUMENT`, never a crash. A string
//!   or byte input is a pointer and a length; NULL with length 0 is the empty string.
//! - A panic never crosses the boundary: it becomes `HARDSTORE_PANIC`.
//! - After an error, `hardstore_last_error_message` gives this thread's message.
//! - Whatever the library allocates has a `_free` (or `_close`) function, which accepts
//!   NULL. Borrowed pointers say how long they stay valid.
//! - Result codes are never renumbered.
//!
//! Safety contract, for every `unsafe` function here: a non-NULL pointer must be valid
//! for the length given (or the documented fixed length), and a handle must come from
//! this library and not have been freed.
#![allow(clippy::missing_safety_doc, non_camel_case_types)]

mod alerts;
mod audit;
mod audit_retention;
mod backup;
mod bytes;
mod clock;
mod dead_letters;
mod health;
mod idempotency;
mod ip_rules;
mod logs;
mod maintenance;
mod metrics;
mod rate_limits;
mod replication;
mod restore_points;
mod sealing;
mod settings;
mod store;
mod tlog;
mod tx;
mod webhooks;

pub use alerts::*;
pub use audit::*;
pub use bytes::*;
pub use clock::*;
pub use dead_letters::*;
pub use health::*;
pub use idempotency::*;
pub use logs::*;
pub use maintenance::*;
pub use metrics::*;
pub use settings::*;
pub use store::*;
pub use tx::*;

use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Error;

/// Every outcome of a hardstore C function. Values are stable: never renumbered.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum hardstore_result {
    /// Success.
    HARDSTORE_OK = 0,
    /// A required pointer argument was NULL.
    HARDSTORE_NULL_ARGUMENT = 1,
    /// An argument was rejected (empty where required, out of range, malformed).
    HARDSTORE_INVALID_ARGUMENT = 2,
    /// A string argument was not valid UTF-8.
    HARDSTORE_INVALID_UTF8 = 3,
    /// A field exceeded its documented limit.
    HARDSTORE_TOO_LONG = 4,
    /// The record does not exist.
    HARDSTORE_NOT_FOUND = 5,
    /// The file is not a hardstore store (left untouched).
    HARDSTORE_NOT_A_STORE = 6,
    /// The store was written by a newer format version (left untouched).
    HARDSTORE_FORMAT_TOO_NEW = 7,
    /// Another process or handle has the file open.
    HARDSTORE_ALREADY_OPEN = 8,
    /// The store is read-only.
    HARDSTORE_READ_ONLY = 9,
    /// An earlier I/O failure poisoned the store; reopen it.
    HARDSTORE_POISONED = 10,
    /// The store was closed.
    HARDSTORE_CLOSED = 11,
    /// The file's contents are damaged.
    HARDSTORE_CORRUPTED = 12,
    /// A proof did not verify, or was malformed (for example of the wrong length).
    HARDSTORE_PROOF_INVALID = 13,
    /// A checkpoint was malformed or its MAC did not match.
    HARDSTORE_CHECKPOINT_INVALID = 14,
    /// An I/O error.
    HARDSTORE_IO = 15,
    /// Another storage-layer error.
    HARDSTORE_STORAGE = 16,
    /// Rust code panicked; the call had no effect that was acknowledged.
    HARDSTORE_PANIC = 17,
    /// An output buffer was too small; the needed size was written.
    HARDSTORE_BUFFER_TOO_SMALL = 18,
    /// A stored record has a format version this build cannot read.
    HARDSTORE_UNKNOWN_RECORD_VERSION = 19,
    /// A lease holder was fenced off: an idempotency token (lease taken over, key gone)
    /// or a dead-letter claim (lease ran out, claimed again). Nothing changed.
    HARDSTORE_FENCED = 20,
    /// A documented cap was reached (such as the number of restore points). Nothing
    /// changed.
    HARDSTORE_LIMIT_REACHED = 21,
    /// A backup is encrypted and no key, or another key than its own, was given.
    HARDSTORE_WRONG_KEY = 22,
    /// A change would delete stored data and the count given to confirm it was too
    /// small; the message names the count. Nothing changed.
    HARDSTORE_CONFIRMATION_REQUIRED = 23,
    /// A sealed field's subject was shredded: it can never be read again.
    HARDSTORE_SHREDDED = 24,
    /// A sealing key is not available (not given, disabled, destroyed, or other bytes
    /// than the key the store knows by that id). Nothing changed.
    HARDSTORE_KEY_UNAVAILABLE = 25,
    /// Bytes given as a sealed field are not one (cut, edited, foreign). Nothing changed.
    HARDSTORE_SEALED_INVALID = 26,
    /// A webhook's signature headers did not verify (missing, malformed, stale, or no
    /// matching signature).
    HARDSTORE_SIGNATURE_INVALID = 27,
}

use hardstore_result::*;

/// Errors at the boundary: the crate's own, plus those only C can commit.
pub(crate) enum FfiError {
    Null(&'static str),
    BufferTooSmall { need: usize },
    Core(Error),
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        FfiError::Core(e)
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

fn code_of(e: &Error) -> hardstore_result {
    match e {
        Error::InvalidArgument(_) => HARDSTORE_INVALID_ARGUMENT,
        Error::TooLong { .. } => HARDSTORE_TOO_LONG,
        Error::InvalidUtf8(_) => HARDSTORE_INVALID_UTF8,
        Error::NotFound(_) => HARDSTORE_NOT_FOUND,
        Error::NotAStore { .. } => HARDSTORE_NOT_A_STORE,
        Error::FormatTooNew { .. } => HARDSTORE_FORMAT_TOO_NEW,
        Error::UnknownRecordVersion(_) => HARDSTORE_UNKNOWN_RECORD_VERSION,
        Error::AlreadyOpen(_) => HARDSTORE_ALREADY_OPEN,
        Error::ReadOnly => HARDSTORE_READ_ONLY,
        Error::Poisoned => HARDSTORE_POISONED,
        Error::Closed => HARDSTORE_CLOSED,
        Error::Corrupted(_) => HARDSTORE_CORRUPTED,
        Error::ProofInvalid(_) => HARDSTORE_PROOF_INVALID,
        Error::CheckpointInvalid(_) => HARDSTORE_CHECKPOINT_INVALID,
        Error::Panicked(_) => HARDSTORE_PANIC,
        Error::Fenced(_) => HARDSTORE_FENCED,
        Error::LimitReached { .. } => HARDSTORE_LIMIT_REACHED,
        Error::WrongKey(_) => HARDSTORE_WRONG_KEY,
        Error::ConfirmationRequired { .. } => HARDSTORE_CONFIRMATION_REQUIRED,
        Error::Shredded(_) => HARDSTORE_SHREDDED,
        Error::KeyUnavailable(_) => HARDSTORE_KEY_UNAVAILABLE,
        Error::SealedInvalid(_) => HARDSTORE_SEALED_INVALID,
        Error::SignatureInvalid(_) => HARDSTORE_SIGNATURE_INVALID,
        Error::Io(_) => HARDSTORE_IO,
        Error::Storage(_) => HARDSTORE_STORAGE,
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(msg: String) {
    LAST_ERROR.with(|e| *e.borrow_mut() = msg);
}

/// Runs `f` behind the panic boundary and turns its outcome into a result code.
pub(crate) fn guard(f: impl FnOnce() -> FfiResult) -> hardstore_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => HARDSTORE_OK,
        Ok(Err(FfiError::Null(name))) => {
            set_last_error(format!("{name} is NULL"));
            HARDSTORE_NULL_ARGUMENT
        }
        Ok(Err(FfiError::BufferTooSmall { need })) => {
            set_last_error(format!("the buffer is too small; {need} bytes are needed"));
            HARDSTORE_BUFFER_TOO_SMALL
        }
        Ok(Err(FfiError::Core(e))) => {
            set_last_error(e.to_string());
            code_of(&e)
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(format!("panic inside hardstore: {msg}"));
            HARDSTORE_PANIC
        }
    }
}

/// Runs a function that returns nothing (the `_free`s) behind the panic boundary.
pub(crate) fn guard_void(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// Frees a `Box`-allocated handle; NULL does nothing.
pub(crate) unsafe fn free_box<T>(p: *mut T) {
    if !p.is_null() {
        guard_void(|| drop(Box::from_raw(p)));
    }
}

/// Borrows a handle; NULL is an error.
pub(crate) unsafe fn arg<'a, T>(p: *const T, name: &'static str) -> FfiResult<&'a T> {
    p.as_ref().ok_or(FfiError::Null(name))
}

/// Borrows a handle mutably; NULL is an error.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &'static str) -> FfiResult<&'a mut T> {
    p.as_mut().ok_or(FfiError::Null(name))
}

/// Checks an out-pointer before any work is done, so outputs are only written on success.
pub(crate) fn out<T>(p: *mut T, name: &'static str) -> FfiResult<*mut T> {
    if p.is_null() {
        Err(FfiError::Null(name))
    } else {
        Ok(p)
    }
}

/// Borrows `len` bytes. NULL with length 0 is empty; a length past `isize::MAX` is refused
/// before any memory is touched.
pub(crate) unsafe fn bytes_arg<'a>(
    p: *const u8,
    len: usize,
    name: &'static str,
) -> FfiResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(FfiError::Null(name));
    }
    if len > isize::MAX as usize {
        return Err(Error::InvalidArgument(format!("{name}: length {len} is impossible")).into());
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// Borrows a UTF-8 string of `len` bytes, refusing it unread when longer than `max`.
pub(crate) unsafe fn str_arg<'a>(
    p: *const u8,
    len: usize,
    name: &'static str,
    max: usize,
) -> FfiResult<&'a str> {
    if len > max {
        return Err(Error::TooLong {
            field: name,
            len,
            max,
        }
        .into());
    }
    let b = bytes_arg(p, len, name)?;
    std::str::from_utf8(b).map_err(|_| Error::InvalidUtf8(name).into())
}

/// Reads a 32-byte hash.
pub(crate) unsafe fn hash_arg(p: *const u8, name: &'static str) -> FfiResult<[u8; 32]> {
    if p.is_null() {
        return Err(FfiError::Null(name));
    }
    let mut h = [0u8; 32];
    std::ptr::copy_nonoverlapping(p, h.as_mut_ptr(), 32);
    Ok(h)
}

/// Copies this thread's last error message, NUL-terminated, into `buf` of `len` bytes,
/// and writes the message length (without the NUL) to `out_n`. When `len` is too small,
/// nothing is copied, `out_n` gets the length needed (with the NUL) and the result is
/// `HARDSTORE_BUFFER_TOO_SMALL`. The message is empty if no call on this thread failed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_last_error_message(
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> hardstore_result {
    // Run outside `guard`, which would overwrite the message being read.
    let msg = LAST_ERROR.with(|e| e.borrow().clone());
    if buf.is_null() || out_n.is_null() {
        return HARDSTORE_NULL_ARGUMENT;
    }
    if len < msg.len() + 1 {
        *out_n = msg.len() + 1;
        return HARDSTORE_BUFFER_TOO_SMALL;
    }
    std::ptr::copy_nonoverlapping(msg.as_ptr(), buf as *mut u8, msg.len());
    *buf.add(msg.len()) = 0;
    *out_n = msg.len();
    HARDSTORE_OK
}

/// A static, NUL-terminated name for a result code (for example "HARDSTORE_NOT_FOUND").
/// Never NULL; unknown values give "HARDSTORE_UNKNOWN_RESULT". Do not free.
#[no_mangle]
pub extern "C" fn hardstore_result_name(code: u32) -> *const c_char {
    let name: &'static [u8] = match code {
        0 => b"HARDSTORE_OK\0",
        1 => b"HARDSTORE_NULL_ARGUMENT\0",
        2 => b"HARDSTORE_INVALID_ARGUMENT\0",
        3 => b"HARDSTORE_INVALID_UTF8\0",
        4 => b"HARDSTORE_TOO_LONG\0",
        5 => b"HARDSTORE_NOT_FOUND\0",
        6 => b"HARDSTORE_NOT_A_STORE\0",
        7 => b"HARDSTORE_FORMAT_TOO_NEW\0",
        8 => b"HARDSTORE_ALREADY_OPEN\0",
        9 => b"HARDSTORE_READ_ONLY\0",
        10 => b"HARDSTORE_POISONED\0",
        11 => b"HARDSTORE_CLOSED\0",
        12 => b"HARDSTORE_CORRUPTED\0",
        13 => b"HARDSTORE_PROOF_INVALID\0",
        14 => b"HARDSTORE_CHECKPOINT_INVALID\0",
        15 => b"HARDSTORE_IO\0",
        16 => b"HARDSTORE_STORAGE\0",
        17 => b"HARDSTORE_PANIC\0",
        18 => b"HARDSTORE_BUFFER_TOO_SMALL\0",
        19 => b"HARDSTORE_UNKNOWN_RECORD_VERSION\0",
        20 => b"HARDSTORE_FENCED\0",
        21 => b"HARDSTORE_LIMIT_REACHED\0",
        22 => b"HARDSTORE_WRONG_KEY\0",
        23 => b"HARDSTORE_CONFIRMATION_REQUIRED\0",
        24 => b"HARDSTORE_SHREDDED\0",
        25 => b"HARDSTORE_KEY_UNAVAILABLE\0",
        26 => b"HARDSTORE_SEALED_INVALID\0",
        27 => b"HARDSTORE_SIGNATURE_INVALID\0",
        _ => b"HARDSTORE_UNKNOWN_RESULT\0",
    };
    name.as_ptr() as *const c_char
}

/// Panics inside the library on purpose and returns what the panic boundary makes of
/// it: always `HARDSTORE_PANIC`, with the panic's message as the last error. For tests
/// of the boundary (and of callers' handling of `HARDSTORE_PANIC`).
#[no_mangle]
pub extern "C" fn hardstore_test_force_panic() -> hardstore_result {
    guard(|| panic!("hardstore_test_force_panic was called"))
}

/// The library's version, NUL-terminated and static. Do not free.
#[no_mangle]
pub extern "C" fn hardstore_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_result_code_and_a_message() {
        let r = guard(|| panic!("deliberate"));
        assert_eq!(r, HARDSTORE_PANIC);
        let mut buf = [0 as c_char; 128];
        let mut n = 0usize;
        let got = unsafe { hardstore_last_error_message(buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(got, HARDSTORE_OK);
        let msg = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
        assert!(msg.to_str().unwrap().contains("deliberate"), "{msg:?}");
        assert_eq!(guard(|| Ok(())), HARDSTORE_OK);
        assert_eq!(guard(|| Err(FfiError::Null("x"))), HARDSTORE_NULL_ARGUMENT);
    }

    #[test]
    fn every_error_variant_has_a_distinct_named_code() {
        for code in 0..=22u32 {
            let name = unsafe { std::ffi::CStr::from_ptr(hardstore_result_name(code)) };
            assert_ne!(name.to_str().unwrap(), "HARDSTORE_UNKNOWN_RESULT", "{code}");
        }
    }
}
