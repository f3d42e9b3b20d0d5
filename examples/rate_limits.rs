//! Rate limits: "60 requests a minute per IP" for a login endpoint. A burst from one IP
//! is cut off at 60 with a retry-after, another IP is unaffected, a second later one more
//! request is allowed; the keys survive a restart; a redefinition (a bigger burst) keeps
//! every key's state. Time is a manual clock.
//!
//!     cargo run --example rate_limits

use hardstore::rate_limits::Limit;
use hardstore::{ManualClock, Options, Result, Store};

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("hardstore-rl-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("rate_limits.hardstore");
    let clock = ManualClock::new(1_714_564_800_000_000); // 2024-05-01 12:00 UTC
    let opts = || Options::new().clock(clock.clone());
    let store = Store::open(&path, opts())?;
    store
        .rate_limits()
        .define("acme", "login", Limit::per_minute(60))?;
    // A request path keeps a handle: no lookup by name per check.
    let login = store.rate_limits().limiter("acme", "login")?;

    let mut allowed = 0;
    let mut first_denial = None;
    for _ in 0..75 {
        let d = login.check(b"203.0.113.9", 1)?;
        if d.allowed {
            allowed += 1;
        } else if first_denial.is_none() {
            first_denial = Some(d);
        }
    }
    let denied = first_denial.expect("the 61st is denied");
    println!(
        "203.0.113.9: {allowed} of 75 allowed; then denied, retry after {:?}, full again after {:?}",
        denied.retry_after.expect("a retry time"),
        denied.reset_after
    );
    let other = login.check(b"198.51.100.4", 1)?;
    println!(
        "198.51.100.4: allowed {}, {} left",
        other.allowed, other.remaining
    );
    clock.advance(1_000_000);
    let again = login.check(b"203.0.113.9", 1)?;
    println!("a second later, 203.0.113.9: allowed {}", again.allowed);

    // A restart (close writes the keys; a crash would forget at most one flush interval).
    store.close()?;
    let store = Store::open(&path, opts())?;
    let peek = store
        .rate_limits()
        .check("acme", "login", b"203.0.113.9", 0)?;
    println!("after a restart: {} left for 203.0.113.9", peek.remaining);

    // A bigger burst for the same rate: keys keep their state.
    store
        .rate_limits()
        .define("acme", "login", Limit::per_minute(60).burst(100))?;
    let peek = store
        .rate_limits()
        .check("acme", "login", b"203.0.113.9", 0)?;
    println!(
        "burst 100: {} left now, full again after {:?}",
        peek.remaining, peek.reset_after
    );
    let stats = store.rate_limits().stats("acme", "login")?;
    println!(
        "{} keys held, {} evicted while in use",
        stats.keys, stats.evicted_active
    );
    store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
