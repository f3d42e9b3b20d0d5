mod common;

use common::TempDir;
use hardstore::logs::{Level, LogQuery, LogRecord};
use hardstore::{Durability, Error, ManualClock, Options, Store};

fn rec(i: u64) -> LogRecord {
    LogRecord::new(Level::ALL[(i % 6) as usize], format!("message {i}"))
        .target("app::module")
        .tenant(format!("tenant-{}", i % 2))
        .user(format!("user-{}", i % 3))
        .endpoint(["GET /a", "POST /b", "GET /c"][(i % 3) as usize])
        .status(if i % 6 >= 4 { 500 } else { 200 })
        .duration_us(100 + i)
        .field("i", i.to_string())
}

/// Every live entry, oldest first, checked to be exactly seqs `lo..hi` of `rec`.
fn assert_ring(store: &Store, lo: u64, hi: u64) {
    let logs = store.logs();
    assert_eq!(logs.range().unwrap(), (lo, hi));
    assert_eq!(logs.len().unwrap(), hi - lo);
    let mut seen = Vec::new();
    let mut q = LogQuery::new().oldest_first(true).limit(37);
    loop {
        let page = logs.query(&q).unwrap();
        for e in &page.entries {
            assert_eq!(e.message, format!("message {}", e.seq));
            assert_eq!(e.fields, vec![("i".to_string(), e.seq.to_string())]);
            seen.push(e.seq);
        }
        match page.next {
            Some(c) => q = q.after(c),
            None => break,
        }
    }
    assert_eq!(seen, (lo..hi).collect::<Vec<_>>());
    // Newest first gives the same, reversed.
    let newest = logs.query(&LogQuery::new().limit(10_000)).unwrap();
    let rev: Vec<u64> = newest.entries.iter().map(|e| e.seq).collect();
    assert_eq!(rev, (lo..hi).rev().collect::<Vec<_>>());
}

#[test]
fn wraps_exactly_at_every_boundary_and_across_reopen() {
    for n in [1u64, 10, 64, 100] {
        for k in [0, 1, n - 1, n, n + 1, 2 * n + 1] {
            let dir = TempDir::new("wrap");
            let path = dir.file("s.hs");
            let store = Store::open(&path, Options::new().log_capacity(n)).unwrap();
            for i in 0..k {
                assert_eq!(
                    store.logs().append(rec(i), Durability::Buffered).unwrap(),
                    i
                );
            }
            assert_ring(&store, k.saturating_sub(n), k);
            store.close().unwrap();
            let store = Store::open(&path, Options::new().log_capacity(n)).unwrap();
            assert_ring(&store, k.saturating_sub(n), k);
            // Seq continues across the reopen.
            for i in k..k + n + 3 {
                assert_eq!(
                    store.logs().append(rec(i), Durability::Buffered).unwrap(),
                    i
                );
            }
            assert_ring(&store, (k + n + 3).saturating_sub(n), k + n + 3);
            store.close().unwrap();
        }
    }
}

#[test]
fn reopening_keeps_the_stored_capacity_and_a_change_shrinks_or_grows_it() {
    let dir = TempDir::new("capacity");
    let path = dir.file("s.hs");
    let store = Store::open(&path, Options::new().log_capacity(200)).unwrap();
    for i in 0..150 {
        store.logs().append(rec(i), Durability::Buffered).unwrap();
    }
    store.close().unwrap();
    // Other options never evict: the store keeps its own capacity.
    let store = Store::open(&path, Options::new().log_capacity(40)).unwrap();
    assert_ring(&store, 0, 150);
    assert_eq!(store.logs().capacity(), 200);
    // Shrinking is explicit and says what it evicts.
    assert!(matches!(
        store.settings().set_log_capacity(40, 0),
        Err(Error::ConfirmationRequired { deletes: 110, .. })
    ));
    assert_ring(&store, 0, 150);
    store.settings().set_log_capacity(40, 110).unwrap();
    assert_ring(&store, 110, 150);
    store.close().unwrap();
    let store = Store::open(&path, Options::new().log_capacity(500)).unwrap();
    assert_ring(&store, 110, 150);
    store.settings().set_log_capacity(500, 0).unwrap();
    for i in 150..400 {
        store.logs().append(rec(i), Durability::Buffered).unwrap();
    }
    assert_ring(&store, 110, 400);
    store.close().unwrap();
    assert!(matches!(
        Store::open(dir.file("zero.hs"), Options::new().log_capacity(0)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(!dir.file("zero.hs").exists(), "bad options touch nothing");
}

#[test]
fn bad_entries_are_refused_not_cut() {
    let dir = TempDir::new("logs-bad");
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    let logs = store.logs();
    let cases = vec![
        LogRecord::new(Level::Info, "x".repeat(8 * 1024 + 1)),
        LogRecord::new(Level::Info, "m").endpoint("e".repeat(257)),
        LogRecord::new(Level::Info, "m").field("", "v"),
        LogRecord::new(Level::Info, "m").error("e", vec!["c".into(); 33]),
        (0..33).fold(LogRecord::new(Level::Info, "m"), |r, i| {
            r.field(format!("k{i}"), "v")
        }),
        (0..20).fold(LogRecord::new(Level::Info, "m"), |r, i| {
            r.field(format!("k{i}"), "v".repeat(2000))
        }),
    ];
    for r in cases {
        let err = logs.append(r, Durability::Buffered).unwrap_err();
        assert!(
            matches!(err, Error::TooLong { .. } | Error::InvalidArgument(_)),
            "{err:?}"
        );
    }
    assert_eq!(logs.len().unwrap(), 0);
    assert_eq!(
        logs.append(
            LogRecord::new(Level::Info, "x".repeat(8 * 1024)),
            Durability::Durable
        )
        .unwrap(),
        0,
        "the limit itself is allowed, and seqs are not consumed by refusals"
    );
}

#[test]
fn pii_is_redacted_by_default_and_optionally_kept() {
    let dir = TempDir::new("redact");
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    store
        .logs()
        .append(
            LogRecord::new(
                Level::Warn,
                "reset sent to alice@example.com, call +1 415 555 2671",
            )
            .field("contact", "bob@example.org")
            .field("order", "123456789")
            .error("bounce for carol@example.net", vec![]),
            Durability::Buffered,
        )
        .unwrap();
    let e = store
        .logs()
        .query(&LogQuery::new())
        .unwrap()
        .entries
        .remove(0);
    assert_eq!(e.message, "reset sent to [email], call [phone]");
    assert_eq!(e.fields[0].1, "[email]");
    assert_eq!(e.fields[1].1, "123456789", "ids are not phone numbers");
    assert_eq!(e.error.unwrap().message, "bounce for [email]");
    store.close().unwrap();

    let store = Store::open(dir.file("t.hs"), Options::new().redact_logs(false)).unwrap();
    store
        .logs()
        .append(
            LogRecord::new(Level::Info, "alice@example.com"),
            Durability::Buffered,
        )
        .unwrap();
    let e = store
        .logs()
        .query(&LogQuery::new())
        .unwrap()
        .entries
        .remove(0);
    assert_eq!(e.message, "alice@example.com");
}

#[test]
fn queries_filter_and_stats_add_up() {
    let dir = TempDir::new("logs-query");
    let clock = ManualClock::new(1_000_000);
    let store = Store::open(dir.file("s.hs"), Options::new().clock(clock.clone())).unwrap();
    let logs = store.logs();
    for i in 0..600u64 {
        logs.append(rec(i), Durability::Buffered).unwrap();
        clock.advance(1_000);
    }
    let all = |q: LogQuery| -> Vec<u64> {
        let mut out = Vec::new();
        let mut q = q;
        loop {
            let page = logs.query(&q).unwrap();
            out.extend(page.entries.iter().map(|e| e.seq));
            match page.next {
                Some(c) => q = q.after(c),
                None => return out,
            }
        }
    };
    let model =
        |f: &dyn Fn(u64) -> bool| -> Vec<u64> { (0..600).rev().filter(|&i| f(i)).collect() };
    assert_eq!(
        all(LogQuery::new().min_level(Level::Error).limit(17)),
        model(&|i| i % 6 >= 4)
    );
    assert_eq!(
        all(LogQuery::new()
            .endpoint("POST /b")
            .tenant("tenant-1")
            .limit(5)),
        model(&|i| i % 3 == 1 && i % 2 == 1)
    );
    assert_eq!(
        all(LogQuery::new().user("user-2").min_level(Level::Warn)),
        model(&|i| i % 3 == 2 && i % 6 >= 3)
    );
    assert_eq!(
        all(LogQuery::new().text("message 59")),
        model(&|i| i.to_string().starts_with("59") && (i == 59 || (590..600).contains(&i)))
    );
    assert_eq!(
        all(LogQuery::new()
            .time_range(Some(1_000_000 + 100_000), Some(1_000_000 + 200_000))
            .limit(33)),
        model(&|i| (100..200).contains(&i))
    );
    assert!(logs.query(&LogQuery::new().limit(0)).is_err());
    assert!(logs
        .query(&LogQuery::new().time_range(Some(9), Some(3)))
        .is_err());
    let c = logs.query(&LogQuery::new().limit(2)).unwrap().next.unwrap();
    assert!(logs
        .query(&LogQuery::new().oldest_first(true).after(c))
        .is_err());

    // Stats over everything, and over a window.
    let s = logs.stats(None, None).unwrap();
    assert_eq!(s.total, 600);
    assert_eq!(s.per_level, [100; 6]);
    assert!((s.error_rate - 200.0 / 600.0).abs() < 1e-9);
    assert_eq!(s.endpoints.len(), 3);
    for ep in &s.endpoints {
        let idx = ["GET /a", "POST /b", "GET /c"]
            .iter()
            .position(|x| *x == ep.endpoint)
            .unwrap() as u64;
        let mut ds: Vec<u64> = (0..600).filter(|i| i % 3 == idx).map(|i| 100 + i).collect();
        assert_eq!(ep.count, 200);
        assert_eq!(
            ep.errors,
            (0..600).filter(|i| i % 3 == idx && i % 6 >= 4).count() as u64
        );
        let mean = ds.iter().sum::<u64>() as f64 / ds.len() as f64;
        assert!((ep.mean_duration_us.unwrap() - mean).abs() < 1e-6);
        ds.sort();
        assert_eq!(
            ep.p95_duration_us.unwrap(),
            ds[(200.0f64 * 0.95).ceil() as usize - 1]
        );
    }
    let w = logs
        .stats(Some(1_000_000), Some(1_000_000 + 60_000))
        .unwrap();
    assert_eq!(w.total, 60);
    assert!(logs.stats(Some(5), Some(1)).is_err());
    let empty = store.logs().stats(Some(1), Some(2)).unwrap();
    assert_eq!((empty.total, empty.error_rate), (0, 0.0));
}

#[test]
fn four_appenders_and_two_readers_see_consistent_pages() {
    let dir = TempDir::new("logs-concurrent");
    let store = Store::open(dir.file("s.hs"), Options::new().log_capacity(5_000)).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let store = &store;
                s.spawn(move || {
                    for i in 0..5_000u64 {
                        let d = if i % 500 == 0 {
                            Durability::Durable
                        } else {
                            Durability::Buffered
                        };
                        store
                            .logs()
                            .append(
                                LogRecord::new(Level::Info, format!("w{t} {i}"))
                                    .field("t", t.to_string()),
                                d,
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        let readers: Vec<_> = (0..2)
            .map(|r| {
                let (store, stop) = (&store, &stop);
                s.spawn(move || {
                    let mut pages = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let page = store
                            .logs()
                            .query(&LogQuery::new().oldest_first(r == 1).limit(500))
                            .unwrap();
                        let seqs: Vec<u64> = page.entries.iter().map(|e| e.seq).collect();
                        // One snapshot: strictly ordered, contiguous, no torn entry.
                        for w in seqs.windows(2) {
                            let step = if r == 1 {
                                w[1].wrapping_sub(w[0])
                            } else {
                                w[0].wrapping_sub(w[1])
                            };
                            assert_eq!(step, 1, "{seqs:?}");
                        }
                        for e in &page.entries {
                            let t = &e.fields[0].1;
                            assert!(e.message.starts_with(&format!("w{t} ")), "{e:?}");
                        }
                        let s = store.logs().stats(None, None).unwrap();
                        assert!(s.total <= 5_000);
                        pages += 1;
                    }
                    pages
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
    });
    assert_ring_len(&store, 5_000, 20_000);
}

fn assert_ring_len(store: &Store, n: u64, total: u64) {
    assert_eq!(store.logs().range().unwrap(), (total - n, total));
}
