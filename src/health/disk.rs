//! Free space on the file system a store lives on: `statvfs(3)` on Unix (through
//! `libc`, as std has no call for it); other platforms report it as not measured.

use std::path::Path;

use crate::error::Result;

/// Bytes available to an unprivileged process on the file system holding `dir`;
/// `None` where this build does not measure it.
#[cfg(unix)]
pub(crate) fn free_bytes(dir: &Path) -> Result<Option<u64>> {
    use std::os::unix::ffi::OsStrExt;
    let mut c = dir.as_os_str().as_bytes().to_vec();
    if c.contains(&0) {
        return Err(crate::Error::InvalidArgument(format!(
            "{} holds a NUL byte",
            dir.display()
        )));
    }
    c.push(0);
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c` is NUL-terminated and outlives the call; `st` is writable memory of the
    // struct's size, which statvfs fills on success (checked before it is read).
    let rc = unsafe { libc::statvfs(c.as_ptr().cast(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: statvfs returned 0, so it initialised `st`.
    let st = unsafe { st.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Ok(Some(
        (st.f_bavail as u64).saturating_mul(st.f_frsize as u64),
    ))
}

#[cfg(not(unix))]
pub(crate) fn free_bytes(_dir: &Path) -> Result<Option<u64>> {
    Ok(None)
}
