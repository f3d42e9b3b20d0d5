//! The C ABI for clocks: a manual clock lets C tests move time instead of sleeping.

use super::store::hardstore_options;
use super::{arg, arg_mut, free_box, guard, hardstore_result, out};
use crate::clock::ManualClock;

/// A clock that only moves when told to. Create with `hardstore_clock_new_manual`, give
/// it to options with `hardstore_options_set_clock`, free with `hardstore_clock_free`
/// (a store opened with it keeps its own reference, so freeing early is safe).
pub struct hardstore_clock {
    inner: ManualClock,
}

/// Creates a manual clock reading `start_us` microseconds since the Unix epoch. The
/// caller owns `*out_clock`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_clock_new_manual(
    start_us: u64,
    out_clock: *mut *mut hardstore_clock,
) -> hardstore_result {
    guard(|| {
        let o = out(out_clock, "out_clock")?;
        *o = Box::into_raw(Box::new(hardstore_clock {
            inner: ManualClock::new(start_us),
        }));
        Ok(())
    })
}

/// Sets the clock to `now_us`; every store using it sees the new time at once.
#[no_mangle]
pub unsafe extern "C" fn hardstore_clock_set(
    clock: *const hardstore_clock,
    now_us: u64,
) -> hardstore_result {
    guard(|| {
        arg(clock, "clock")?.inner.set(now_us);
        Ok(())
    })
}

/// Moves the clock forward by `us` microseconds.
#[no_mangle]
pub unsafe extern "C" fn hardstore_clock_advance(
    clock: *const hardstore_clock,
    us: u64,
) -> hardstore_result {
    guard(|| {
        arg(clock, "clock")?.inner.advance(us);
        Ok(())
    })
}

/// Makes stores opened with `options` read `clock` instead of the system clock. The
/// options keep their own reference; the caller still owns `clock`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_clock(
    options: *mut hardstore_options,
    clock: *const hardstore_clock,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        let c = arg(clock, "clock")?;
        o.inner = o.inner.clone().clock(c.inner.clone());
        Ok(())
    })
}

/// Frees a clock. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_clock_free(clock: *mut hardstore_clock) {
    free_box(clock);
}
