//! Metrics: the store's figures in the Prometheus text format 0.0.4 and OpenMetrics,
//! matching the operations done; the durable counters survive a reopen without close.
//! (The Python suite parses the same expositions with the reference parser.)

mod common;

use common::TempDir;
use hardstore::alerts::{NewAlert, Severity};
use hardstore::dead_letters::NewDeadLetter;
use hardstore::metrics::Format;
use hardstore::{AuditEvent, Durability, Level, LogRecord, Options, Store};

/// The value of the exposition line for `series` (its name and labels, as printed).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

fn work(store: &Store) {
    for i in 0..7 {
        store
            .audit()
            .append(
                AuditEvent::new("acme", "x").resource(format!("r/{i}")),
                Durability::Durable,
            )
            .unwrap();
    }
    for _ in 0..5 {
        store
            .logs()
            .append(LogRecord::new(Level::Info, "hi"), Durability::Buffered)
            .unwrap();
    }
    for i in 0..3 {
        let d = NewDeadLetter::new("acme", "email", b"x".to_vec()).permanent(i < 2);
        store.dead_letters().record(d, Durability::Durable).unwrap();
    }
    let a = store
        .alerts()
        .raise(
            NewAlert::new("acme", "s", "k", Severity::Info, ""),
            Durability::Durable,
        )
        .unwrap();
    store.alerts().resolve(a.id, "x", "").unwrap();
}

#[test]
fn both_formats_carry_the_figures_of_what_was_done() {
    let dir = TempDir::new("metrics");
    let store = Store::open(dir.file("m.hs"), Options::new()).unwrap();
    work(&store);
    let s = store.metrics().snapshot().unwrap();
    // 7 entries, plus the alert's raise and resolve.
    assert_eq!(s.audit_entries, 9);
    assert_eq!((s.log_entries_appended, s.log_ring_entries), (5, 5));
    assert_eq!((s.dead_letters_dead, s.dead_letters_pending), (2, 1));
    assert_eq!((s.alerts_unresolved, s.alerts_resolved), (0, 1));
    assert!(s.file_bytes > 0 && s.writes >= 12, "{s:?}");

    let p = store.metrics().encode(Format::Prometheus).unwrap();
    assert!(
        p.contains("# TYPE hardstore_audit_entries_total counter"),
        "{p}"
    );
    assert_eq!(value(&p, "hardstore_audit_entries_total"), 9.0);
    assert_eq!(value(&p, "hardstore_log_entries_appended_total"), 5.0);
    assert_eq!(value(&p, "hardstore_dead_letters{state=\"dead\"}"), 2.0);
    assert_eq!(value(&p, "hardstore_dead_letters{state=\"pending\"}"), 1.0);
    assert_eq!(value(&p, "hardstore_alerts{state=\"resolved\"}"), 1.0);
    assert_eq!(value(&p, "hardstore_restore_points"), 0.0);
    assert!(value(&p, "hardstore_file_bytes") > 0.0);
    assert!(!p.contains("# EOF"));

    let o = store.metrics().encode(Format::OpenMetrics).unwrap();
    assert!(o.ends_with("# EOF\n"), "{o}");
    assert!(o.contains("# TYPE hardstore_audit_entries counter"));
    assert_eq!(value(&o, "hardstore_audit_entries_total"), 9.0);
    assert_eq!(value(&o, "hardstore_backups{result=\"ok\"}"), 0.0);
    assert!(Format::OpenMetrics
        .content_type()
        .starts_with("application/openmetrics-text"));
    assert!(Format::Prometheus.content_type().contains("version=0.0.4"));
}

#[test]
fn stored_counters_never_go_back_across_a_reopen_without_close() {
    let dir = TempDir::new("metrics-crash");
    let path = dir.file("m.hs");
    let before = {
        let store = Store::open(&path, Options::new()).unwrap();
        work(&store);
        store.flush().unwrap();
        store.metrics().snapshot().unwrap()
    }; // dropped, not closed: the redo log carries the tail
    let store = Store::open(&path, Options::new()).unwrap();
    let after = store.metrics().snapshot().unwrap();
    assert_eq!(after.audit_entries, before.audit_entries);
    assert_eq!(after.log_entries_appended, before.log_entries_appended);
    // The write-path counters are per open (process counters).
    assert!(after.writes < before.writes);
    let mem = Store::in_memory(Options::new()).unwrap();
    assert_eq!(mem.metrics().snapshot().unwrap().file_bytes, 0);
}

#[test]
fn app_counters_gauges_and_histograms_are_exposed_and_counters_persist() {
    let dir = TempDir::new("metrics-app");
    let path = dir.file("m.hs");
    {
        let store = Store::open(&path, Options::new()).unwrap();
        let m = store.metrics();
        let req = m
            .counter("http_requests", "Requests served.", &["method", "code"])
            .unwrap();
        let get = req.with(&["GET", "200"]).unwrap();
        for _ in 0..41 {
            get.inc();
        }
        req.with(&["POST", "500"]).unwrap().inc_by(3);
        // Registering again with the same labels gives the same family.
        let again = m
            .counter("http_requests", "Requests served.", &["method", "code"])
            .unwrap();
        again.with(&["GET", "200"]).unwrap().inc();
        let g = m
            .gauge("queue_depth", "Jobs waiting.", &[])
            .unwrap()
            .with(&[])
            .unwrap();
        g.set(17);
        g.add(-2);
        let h = m
            .histogram(
                "latency_seconds",
                "Request latency.",
                &["route"],
                &[0.1, 0.5, 1.0],
            )
            .unwrap()
            .with(&["/x"])
            .unwrap();
        for v in [0.05, 0.2, 0.3, 0.7, 3.0] {
            h.observe(v);
        }
        let p = m.encode(Format::Prometheus).unwrap();
        assert_eq!(
            value(&p, "http_requests_total{method=\"GET\",code=\"200\"}"),
            42.0,
            "{p}"
        );
        assert_eq!(
            value(&p, "http_requests_total{method=\"POST\",code=\"500\"}"),
            3.0
        );
        assert_eq!(value(&p, "queue_depth"), 15.0);
        assert_eq!(
            value(&p, "latency_seconds_bucket{route=\"/x\",le=\"0.1\"}"),
            1.0
        );
        assert_eq!(
            value(&p, "latency_seconds_bucket{route=\"/x\",le=\"0.5\"}"),
            3.0
        );
        assert_eq!(
            value(&p, "latency_seconds_bucket{route=\"/x\",le=\"+Inf\"}"),
            5.0
        );
        assert_eq!(value(&p, "latency_seconds_count{route=\"/x\"}"), 5.0);
        assert!((value(&p, "latency_seconds_sum{route=\"/x\"}") - 4.25).abs() < 1e-9);
        // Counted after the scrape: durable only at the next persist (or scrape).
        get.inc_by(8);
        assert_eq!(m.persist().unwrap(), 1);
        assert_eq!(m.persist().unwrap(), 0, "nothing changed since");
        get.inc_by(100); // persisted by the drop's final checkpoint
    } // dropped without close
    let store = Store::open(&path, Options::new()).unwrap();
    let m = store.metrics();
    let req = m
        .counter("http_requests", "Requests served.", &["method", "code"])
        .unwrap();
    // What the drop's checkpoint wrote: at least what any scrape saw (42), never below.
    assert_eq!(req.with(&["GET", "200"]).unwrap().get(), 150);
    let p = m.encode(Format::OpenMetrics).unwrap();
    assert_eq!(
        value(&p, "http_requests_total{method=\"GET\",code=\"200\"}"),
        150.0
    );
    assert_eq!(
        value(&p, "http_requests_total{method=\"POST\",code=\"500\"}"),
        3.0
    );
    store.close().unwrap();
}

#[test]
fn bad_names_labels_and_the_series_cap_are_refused_and_counted() {
    let store = Store::in_memory(Options::new().metrics_max_series(3)).unwrap();
    let m = store.metrics();
    for bad in ["", "9lives", "has space", "hardstore_mine", "a-b"] {
        assert!(m.counter(bad, "", &[]).is_err(), "{bad:?}");
    }
    assert!(matches!(
        m.counter(&"x".repeat(129), "", &[]),
        Err(hardstore::Error::TooLong { .. })
    ));
    assert!(m.counter("ok", "", &["__reserved"]).is_err());
    assert!(m.counter("ok", "", &["a", "a"]).is_err());
    assert!(m.histogram("h", "", &["le"], &[1.0]).is_err());
    assert!(m.histogram("h", "", &[], &[]).is_err());
    assert!(m.histogram("h", "", &[], &[2.0, 1.0]).is_err());
    assert!(m.histogram("h", "", &[], &[f64::NAN]).is_err());
    let c = m.counter("jobs", "", &["kind"]).unwrap();
    // Another kind or labels under a registered name: refused.
    assert!(m.gauge("jobs", "", &["kind"]).is_err());
    assert!(m.counter("jobs", "", &["other"]).is_err());
    assert!(c.with(&[]).is_err(), "label count");
    assert!(c.with(&["a\0b"]).is_err(), "NUL in a value");
    for k in ["a", "b", "c"] {
        c.with(&[k]).unwrap().inc();
    }
    match c.with(&["d"]) {
        Err(hardstore::Error::LimitReached { max, .. }) => assert_eq!(max, 3),
        other => panic!("{other:?}"),
    }
    // An existing series is still served at the cap.
    c.with(&["a"]).unwrap().inc();
    assert_eq!(m.refused().unwrap(), 3);
    let p = m.encode(Format::Prometheus).unwrap();
    assert_eq!(value(&p, "hardstore_metrics_refused_total"), 3.0);
    assert!(!p.contains("kind=\"d\""));
}

#[test]
fn the_stores_operation_counters_count_each_call_by_outcome_and_persist() {
    let dir = TempDir::new("metrics-ops");
    let path = dir.file("m.hs");
    {
        let store = Store::open(&path, Options::new()).unwrap();
        work(&store);
        // A refused append is counted as refused.
        assert!(store
            .audit()
            .append(AuditEvent::new("", "x"), Durability::Durable)
            .is_err());
        let claimed = store
            .dead_letters()
            .claim_due(10, std::time::Duration::from_secs(30))
            .unwrap();
        assert_eq!(claimed.len(), 1);
        let p = store.metrics().encode(Format::Prometheus).unwrap();
        let ops = |area: &str, op: &str, outcome: &str| {
            value(
                &p,
                &format!("hardstore_operations_total{{area=\"{area}\",op=\"{op}\",outcome=\"{outcome}\"}}"),
            )
        };
        assert_eq!(ops("audit", "append", "ok"), 7.0);
        assert_eq!(ops("audit", "append", "refused"), 1.0);
        assert_eq!(ops("logs", "append", "ok"), 5.0);
        assert_eq!(ops("dead_letters", "record", "ok"), 3.0);
        assert_eq!(ops("dead_letters", "claim", "ok"), 1.0);
        assert_eq!(ops("alerts", "raise", "ok"), 1.0);
        assert_eq!(value(&p, "hardstore_dead_letter_attempts_total"), 1.0);
        assert_eq!(value(&p, "hardstore_redo_replayed_batches_total"), 0.0);
        let l = store.write_latency();
        assert!(l.commit_us.counts.iter().sum::<u64>() >= 12);
        assert!(value(&p, "hardstore_commit_seconds_count") >= 12.0);
        assert!(value(&p, "hardstore_redo_bytes_total") > 0.0);
        assert!(
            !p.contains("hardstore_backup_last_duration_seconds{"),
            "no backup yet"
        );
        store
            .backups()
            .run(
                hardstore::BackupKind::Full,
                dir.file("b"),
                &hardstore::BackupOptions::default(),
            )
            .unwrap();
        let p = store.metrics().encode(Format::Prometheus).unwrap();
        assert!(value(&p, "hardstore_backup_last_duration_seconds{kind=\"full\"}") >= 0.0);
        assert_eq!(
            value(
                &p,
                "hardstore_operations_total{area=\"backups\",op=\"run\",outcome=\"ok\"}"
            ),
            1.0
        );
        // Nothing changed since the scrape: persisting writes nothing.
        let syncs = store.write_stats().syncs;
        assert_eq!(store.metrics().persist().unwrap(), 0);
        store.metrics().encode(Format::OpenMetrics).unwrap();
        assert_eq!(
            store.write_stats().syncs,
            syncs,
            "a scrape with nothing new wrote"
        );
        store.close().unwrap();
    }
    let store = Store::open(&path, Options::new()).unwrap();
    let p = store.metrics().encode(Format::Prometheus).unwrap();
    assert_eq!(
        value(
            &p,
            "hardstore_operations_total{area=\"audit\",op=\"append\",outcome=\"ok\"}"
        ),
        7.0,
        "kept across the reopen"
    );
    // A help text with a newline would break an OpenMetrics scrape: refused.
    assert!(store.metrics().counter("c", "a\nb", &[]).is_err());
    let h = store
        .metrics()
        .histogram("h", "", &[], &[1.0])
        .unwrap()
        .with(&[])
        .unwrap();
    h.observe(f64::NAN);
    let p = store.metrics().encode(Format::Prometheus).unwrap();
    assert_eq!(value(&p, "h_bucket{le=\"1\"}"), 0.0);
    assert_eq!(value(&p, "h_bucket{le=\"+Inf\"}"), 1.0);
    assert_eq!(value(&p, "h_sum"), 0.0);
}
