//! Rate limits: GCRA answers, keys kept across a close, a flush and a reopen, idle rows
//! dropped, redefinition and removal (audited, old handles refused), bounded memory, and
//! bad input refused unchanged.

mod common;

use std::time::Duration;

use common::TempDir;
use hardstore::rate_limits::Limit;
use hardstore::{AuditQuery, Error, ManualClock, Options, Store};

const T0: u64 = 1_700_000_000_000_000;
const SEC: u64 = 1_000_000;

fn actions(store: &Store, tenant: &str) -> Vec<String> {
    let page = store
        .audit()
        .query(&AuditQuery::new(tenant).limit(1000))
        .unwrap();
    page.entries.into_iter().map(|e| e.action).collect()
}

#[test]
fn sixty_a_minute_allows_sixty_then_one_a_second() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(Options::new().clock(clock.clone())).unwrap();
    let rl = store.rate_limits();
    rl.define("acme", "login", Limit::per_minute(60)).unwrap();
    for i in 0..60 {
        let d = rl.check("acme", "login", b"203.0.113.9", 1).unwrap();
        assert!(d.allowed, "request {i}");
        assert_eq!((d.limit, d.remaining), (60, 59 - i));
    }
    let d = rl.check("acme", "login", b"203.0.113.9", 1).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.retry_after, Some(Duration::from_secs(1)));
    assert_eq!(d.reset_after, Duration::from_secs(60));
    // Another key has its own allowance; another tenant's limit is another limit.
    assert!(
        rl.check("acme", "login", b"198.51.100.1", 1)
            .unwrap()
            .allowed
    );
    assert!(matches!(
        rl.check("other", "login", b"203.0.113.9", 1),
        Err(Error::NotFound(_))
    ));
    clock.advance(SEC);
    let d = rl.check("acme", "login", b"203.0.113.9", 1).unwrap();
    assert!(d.allowed, "one second refills one");
    assert_eq!(d.remaining, 0);
    // A cost above the burst never conforms; cost 0 reads without consuming.
    let d = rl.check("acme", "login", b"fresh", 61).unwrap();
    assert!(!d.allowed && d.retry_after.is_none());
    assert_eq!(
        rl.check("acme", "login", b"fresh", 0).unwrap().remaining,
        60
    );
    assert_eq!(actions(&store, "acme"), ["rate_limit.define"]);
}

#[test]
fn keys_survive_a_clean_close_and_a_flush_and_idle_rows_go() {
    let dir = TempDir::new("rate-limits-reopen");
    let path = dir.file("s.hs");
    let clock = ManualClock::new(T0);
    let opts = || {
        Options::new()
            .clock(clock.clone())
            .rate_limit_flush(Duration::from_secs(3600))
    };
    let store = Store::open(&path, opts()).unwrap();
    store
        .rate_limits()
        .define("t", "api", Limit::per_minute(10))
        .unwrap();
    for _ in 0..7 {
        store.rate_limits().check("t", "api", b"k1", 1).unwrap();
    }
    store.rate_limits().check("t", "api", b"k2", 10).unwrap();
    store.close().unwrap();

    let store = Store::open(&path, opts()).unwrap();
    let rl = store.rate_limits();
    assert_eq!(rl.get("t", "api").unwrap(), Some(Limit::per_minute(10)));
    assert_eq!(rl.check("t", "api", b"k1", 0).unwrap().remaining, 3);
    assert!(!rl.check("t", "api", b"k2", 1).unwrap().allowed);
    assert_eq!(rl.stats("t", "api").unwrap().keys, 2);
    // A flush writes what checks changed: a reopen after it sees them.
    rl.check("t", "api", b"k3", 4).unwrap();
    assert!(rl.flush().unwrap() >= 1);
    assert_eq!(rl.flush().unwrap(), 0, "nothing changed since");
    drop(store);

    // Two minutes later every key is idle: they come back as new keys, their rows are
    // deleted by the next flush.
    clock.advance(120 * SEC);
    let store = Store::open(&path, opts()).unwrap();
    let rl = store.rate_limits();
    assert_eq!(rl.stats("t", "api").unwrap().keys, 0);
    assert_eq!(rl.check("t", "api", b"k3", 0).unwrap().remaining, 10);
    assert_eq!(rl.flush().unwrap(), 3, "three idle rows deleted");
    store.close().unwrap();
}

#[test]
fn the_flusher_writes_changed_keys_every_interval() {
    let dir = TempDir::new("rate-limits-flusher");
    let path = dir.file("s.hs");
    let clock = ManualClock::new(T0);
    let store = Store::open(
        &path,
        Options::new()
            .clock(clock.clone())
            .rate_limit_flush(Duration::from_millis(20)),
    )
    .unwrap();
    store
        .rate_limits()
        .define("t", "api", Limit::per_hour(100))
        .unwrap();
    store.rate_limits().check("t", "api", b"k", 40).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.rate_limits().flush_pending() {
        assert!(std::time::Instant::now() < deadline, "no flush within 10 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(store.rate_limits().last_error().unwrap(), None);
    // The flush was durable: the file holds the key. (close stops the flusher first.)
    store.close().unwrap();
    let store = Store::open(&path, Options::new().clock(clock.clone())).unwrap();
    assert_eq!(
        store
            .rate_limits()
            .check("t", "api", b"k", 0)
            .unwrap()
            .remaining,
        60
    );
}

#[test]
fn redefining_keeps_keys_and_removing_deletes_them_and_refuses_old_handles() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(Options::new().clock(clock.clone())).unwrap();
    let rl = store.rate_limits();
    rl.define("t", "api", Limit::per_minute(10)).unwrap();
    let handle = rl.limiter("t", "api").unwrap();
    for _ in 0..5 {
        assert!(handle.check(b"k", 1).unwrap().allowed);
    }
    rl.define("t", "api", Limit::per_minute(10).burst(20))
        .unwrap();
    let d = handle.check(b"k", 1).unwrap();
    assert_eq!(
        (d.limit, d.remaining),
        (20, 14),
        "the handle follows the new burst"
    );
    rl.flush().unwrap();
    assert_eq!(rl.remove("t", "api").unwrap(), 1, "one stored key deleted");
    assert!(matches!(handle.check(b"k", 1), Err(Error::NotFound(_))));
    assert!(matches!(rl.remove("t", "api"), Err(Error::NotFound(_))));
    assert!(rl.list().unwrap().is_empty());
    assert_eq!(
        actions(&store, "t"),
        [
            "rate_limit.define",
            "rate_limit.define",
            "rate_limit.remove"
        ]
    );
}

#[test]
fn memory_is_bounded_and_idle_keys_go_first() {
    let clock = ManualClock::new(T0);
    let store =
        Store::in_memory(Options::new().clock(clock.clone()).rate_limit_max_keys(640)).unwrap();
    let rl = store.rate_limits();
    rl.define("t", "ip", Limit::per_second(1)).unwrap();
    let h = rl.limiter("t", "ip").unwrap();
    for i in 0..5000u32 {
        assert!(h.check(&i.to_be_bytes(), 1).unwrap().allowed);
    }
    let s = rl.stats("t", "ip").unwrap();
    assert!(s.keys <= 640, "{s:?}");
    assert!(s.evicted_active > 0, "{s:?}");
    // A second later every key is idle: new keys take their place without evicting one
    // in use.
    clock.advance(2 * SEC);
    let before = rl.stats("t", "ip").unwrap().evicted_active;
    for i in 0..128u32 {
        h.check(&(1_000_000 + i).to_be_bytes(), 1).unwrap();
    }
    let s = rl.stats("t", "ip").unwrap();
    assert!(s.evicted_idle > 0, "{s:?}");
    assert_eq!(s.evicted_active, before, "{s:?}");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let store = Store::in_memory(Options::new()).unwrap();
    let rl = store.rate_limits();
    for bad in [
        Limit::per_minute(0),
        Limit::per_minute(5).burst(0),
        Limit::new(5, Duration::ZERO),
        Limit::new(5, Duration::from_secs(400 * 86_400)),
        Limit::new(2000, Duration::from_micros(1)),
    ] {
        assert!(
            matches!(rl.define("t", "x", bad), Err(Error::InvalidArgument(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        rl.define("", "x", Limit::per_minute(1)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        rl.define("t", "a\0b", Limit::per_minute(1)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        rl.define("t", &"n".repeat(129), Limit::per_minute(1)),
        Err(Error::TooLong { .. })
    ));
    assert!(rl.list().unwrap().is_empty());
    assert!(actions(&store, "t").is_empty());
    rl.define("t", "x", Limit::per_minute(1)).unwrap();
    assert!(matches!(
        rl.check("t", "x", b"", 1),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        rl.check("t", "x", &[7; 257], 1),
        Err(Error::TooLong { .. })
    ));
    assert_eq!(rl.stats("t", "x").unwrap().keys, 0);
    assert!(Store::in_memory(Options::new().rate_limit_max_keys(0)).is_err());
    assert!(Store::in_memory(Options::new().rate_limit_flush(Duration::ZERO)).is_err());
}

#[test]
fn checks_from_many_threads_never_allow_more_than_the_limit() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(Options::new().clock(clock)).unwrap();
    store
        .rate_limits()
        .define("t", "api", Limit::per_hour(1000))
        .unwrap();
    let allowed: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let h = store.rate_limits().limiter("t", "api").unwrap();
                s.spawn(move || {
                    (0..500)
                        .filter(|i| {
                            h.check(format!("k{}", i % 3).as_bytes(), 1)
                                .unwrap()
                                .allowed
                        })
                        .count() as u64
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(allowed, 3000, "1,000 per key, 3 keys, 4,000 asked");
}

/// A store over a shared in-memory backend (reopenable) with limit t/l of 10 a minute and
/// 5 of key k's 10 consumed; flushes only at close.
fn on_a_backend() -> (hardstore::fuzzing::SharedMemoryBackend, ManualClock, Store) {
    let backend = hardstore::fuzzing::SharedMemoryBackend::default();
    let clock = ManualClock::new(T0);
    let opts = Options::new()
        .clock(clock.clone())
        .rate_limit_flush(Duration::from_secs(3600));
    let store = Store::open_with_backend(backend.clone(), opts).unwrap();
    store
        .rate_limits()
        .define("t", "l", Limit::per_minute(10))
        .unwrap();
    store.rate_limits().check("t", "l", b"k", 5).unwrap();
    (backend, clock, store)
}

#[test]
fn keys_survive_a_close_over_a_backend() {
    let (backend, clock, store) = on_a_backend();
    let opts = || {
        Options::new()
            .clock(clock.clone())
            .rate_limit_flush(Duration::from_secs(3600))
    };
    store.close().unwrap();
    let store = Store::open_with_backend(backend.clone(), opts()).unwrap();
    assert_eq!(
        store
            .rate_limits()
            .check("t", "l", b"k", 0)
            .unwrap()
            .remaining,
        5
    );
    store.rate_limits().check("t", "l", b"k", 2).unwrap();
    store.close().unwrap();
    let store = Store::open_with_backend(backend, opts()).unwrap();
    assert_eq!(
        store
            .rate_limits()
            .check("t", "l", b"k", 0)
            .unwrap()
            .remaining,
        3
    );
}

/// Found by the fuzz model: a key idle at open (its row due for deletion) and used again
/// before the next flush kept its new row only if the flush deletes before it writes.
#[test]
fn a_key_idle_at_open_and_used_again_keeps_its_new_row() {
    let (backend, clock, store) = on_a_backend();
    let opts = || {
        Options::new()
            .clock(clock.clone())
            .rate_limit_flush(Duration::from_secs(3600))
    };
    store.close().unwrap();
    clock.advance(120 * SEC);
    let store = Store::open_with_backend(backend.clone(), opts()).unwrap();
    store.rate_limits().check("t", "l", b"k", 4).unwrap();
    store.rate_limits().flush().unwrap();
    store.close().unwrap();
    let store = Store::open_with_backend(backend, opts()).unwrap();
    assert_eq!(
        store
            .rate_limits()
            .check("t", "l", b"k", 0)
            .unwrap()
            .remaining,
        6
    );
}

/// The close's last commit writes the keys also when another area (the metrics' counters
/// of an audited call) has work for it too.
#[test]
fn keys_survive_a_close_beside_other_pending_work() {
    let (backend, clock, store) = on_a_backend();
    let opts = || {
        Options::new()
            .clock(clock.clone())
            .rate_limit_flush(Duration::from_secs(3600))
    };
    let c = store.metrics().counter("jobs", "Jobs.", &[]).unwrap();
    c.with(&[]).unwrap().inc();
    store.close().unwrap();
    let store = Store::open_with_backend(backend, opts()).unwrap();
    assert_eq!(
        store
            .rate_limits()
            .check("t", "l", b"k", 0)
            .unwrap()
            .remaining,
        5
    );
}
