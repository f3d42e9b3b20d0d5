//! `hardstore_bytes`: a byte buffer the library allocated (proofs, checkpoints, cursors).

use super::{arg, guard, hardstore_result, out, FfiResult};

/// An owned byte buffer. Read it with `hardstore_bytes_data` and `hardstore_bytes_len`;
/// free it with `hardstore_bytes_free`.
pub struct hardstore_bytes {
    data: Vec<u8>,
}

/// Moves `data` into a new buffer written to `out_bytes`.
pub(crate) unsafe fn give_bytes(data: Vec<u8>, out_bytes: *mut *mut hardstore_bytes) {
    *out_bytes = Box::into_raw(Box::new(hardstore_bytes { data }));
}

/// The buffer's bytes, valid until `hardstore_bytes_free`. NULL for a NULL buffer; a
/// non-NULL pointer for an empty one.
#[no_mangle]
pub unsafe extern "C" fn hardstore_bytes_data(bytes: *const hardstore_bytes) -> *const u8 {
    match bytes.as_ref() {
        Some(b) => b.data.as_ptr(),
        None => std::ptr::null(),
    }
}

/// The buffer's length in bytes; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_bytes_len(bytes: *const hardstore_bytes) -> usize {
    bytes.as_ref().map_or(0, |b| b.data.len())
}

/// Copies the buffer into `buf` of `len` bytes and writes the count to `out_n`. If `len`
/// is too small, nothing is copied, `out_n` gets the size needed and the result is
/// `HARDSTORE_BUFFER_TOO_SMALL`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_bytes_copy(
    bytes: *const hardstore_bytes,
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> hardstore_result {
    guard(|| -> FfiResult {
        let b = arg(bytes, "bytes")?;
        let out_n = out(out_n, "out_n")?;
        if len < b.data.len() {
            *out_n = b.data.len();
            return Err(super::FfiError::BufferTooSmall { need: b.data.len() });
        }
        if !b.data.is_empty() {
            let buf = out(buf, "buf")?;
            std::ptr::copy_nonoverlapping(b.data.as_ptr(), buf, b.data.len());
        }
        *out_n = b.data.len();
        Ok(())
    })
}

/// Frees a buffer. NULL is allowed and does nothing.
#[no_mangle]
pub unsafe extern "C" fn hardstore_bytes_free(bytes: *mut hardstore_bytes) {
    super::free_box(bytes);
}
