//! The `hardstore` command line, run as a process against a store made through the
//! library: every command group, `--json` output, exit codes.
#![cfg(all(feature = "cli", feature = "fuzzing"))]

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use hardstore::dead_letters::NewDeadLetter;
use hardstore::logs::Level;
use hardstore::{
    AuditEvent, BackupKind, BackupOptions, Checkpoint, Durability, LogRecord, ManualClock, Options,
    Retention, Settings, Store,
};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hardstore"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs a command that must succeed and print one JSON document.
fn json(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn code(args: &[&str]) -> i32 {
    run(args).status.code().unwrap()
}

/// Runs a command that must succeed; its human output.
fn text(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// 2099-12-03T09:31:52.123456Z in microseconds since the epoch: far enough ahead that
/// the CLI (on the system clock) finds the test's 24-hour idempotency key live.
const T0: u64 = 4_099_973_512_123_456;
const SEC: u64 = 1_000_000;

/// A store whose clock reads T0 until the test moves it.
fn clocked_store(path: &std::path::Path) -> (Store, ManualClock) {
    let clock = ManualClock::new(T0);
    let store = Store::open(path, Options::new().clock(clock.clone())).unwrap();
    (store, clock)
}

fn seqs(v: &serde_json::Value) -> Vec<u64> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

/// Every area of `store` gets something: `lines` audit entries and log lines (every
/// tenth an error), an app row, a dead letter (permanent), a completed idempotency key.
fn fill(store: &Store, lines: u64) {
    for i in 0..lines {
        let level = if i % 10 == 0 {
            Level::Error
        } else {
            Level::Info
        };
        common::audit_and_log(store, i, level, format!("line {i}"));
    }
    store
        .kv_put("app", b"k", b"v", Durability::Durable)
        .unwrap();
    store
        .dead_letters()
        .record(
            NewDeadLetter::new("acme", "email", b"x".to_vec()).permanent(true),
            Durability::Durable,
        )
        .unwrap();
    complete_order_1(store);
}

/// Begins and completes idempotency key `order-1` of tenant `acme` (201, `ok`).
fn complete_order_1(store: &Store) {
    let hardstore::Begin::Started(t) = store
        .idempotency()
        .begin("acme", "order-1", b"POST", Duration::from_secs(60))
        .unwrap()
    else {
        panic!("starts")
    };
    store.idempotency().complete(&t, Some(201), b"ok").unwrap();
}

#[test]
fn every_command_group_answers_in_json_with_exit_codes() {
    let dir = common::TempDir::new("cli");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    {
        let store = Store::open(&path, Options::new()).unwrap();
        fill(&store, 30);
        store.close().unwrap();
    }

    let info = json(&["info", p, "--json"]);
    assert_eq!(info["audit"]["size"], 30);
    assert_eq!(info["audit"]["hash"], "blake3");
    assert_eq!(info["logs"]["len"], 30);

    assert_eq!(
        json(&["audit", "verify", p, "--json"])["first_bad_seq"],
        serde_json::Value::Null
    );
    let tenant = common::event(0).tenant;
    let q = json(&[
        "audit", "query", p, "--tenant", &tenant, "--limit", "5", "--json",
    ]);
    assert!(!q["entries"].as_array().unwrap().is_empty());
    let proof = json(&["audit", "prove", p, "3", "--json"]);
    assert_eq!(proof["tree_size"], 30);
    let cp = json(&["audit", "checkpoint", p, "--json"]);
    assert_eq!(cp["size"], 30);
    let export = run(&["audit", "export", p, "--tenant", &tenant]);
    assert!(export.status.success());
    assert!(String::from_utf8_lossy(&export.stdout).lines().count() > 0);

    assert_eq!(
        json(&["logs", "tail", p, "-n", "5", "--json"])["entries"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let errors = json(&["logs", "query", p, "--level", "error", "--json"]);
    assert_eq!(errors["entries"].as_array().unwrap().len(), 3);
    assert_eq!(
        json(&["logs", "stats", p, "--json"])["per_level"]["error"],
        3
    );

    assert_eq!(
        json(&["idem", "get", p, "order-1", "--tenant", "acme", "--json"])["state"],
        "completed"
    );
    assert_eq!(code(&["idem", "get", p, "nope", "--tenant", "acme"]), 5);
    assert_eq!(json(&["idem", "purge", p, "--json"])["purged"], 0);

    let dead = json(&["dlq", "list", p, "--state", "dead", "--json"]);
    assert_eq!(dead["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        json(&["dlq", "redrive", p, "--kind", "email", "--json"])["redriven"],
        1
    );
    assert_eq!(
        json(&["dlq", "list", p, "--state", "pending", "--json"])["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(run(&["dlq", "purge", p]).status.success());

    let rp = json(&["restore-point", "create", p, "before", "--json"]);
    let id = rp["id"].to_string();
    assert_eq!(
        json(&["restore-point", "list", p, "--json"])["restore_points"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(run(&["restore-point", "verify", p, &id]).status.success());
    let exported = dir.file("point.hs");
    assert!(run(&[
        "restore-point",
        "export",
        p,
        &id,
        exported.to_str().unwrap()
    ])
    .status
    .success());
    assert!(run(&["restore-point", "restore", p, &id]).status.success());

    // Backups: an encrypted full and incremental, listed, verified, restored.
    let folder = dir.file("backups");
    let f = folder.to_str().unwrap();
    let key = dir.file("key.hex");
    std::fs::write(&key, "ab".repeat(32)).unwrap();
    let k = key.to_str().unwrap();
    let full = json(&[
        "backup",
        "create",
        p,
        "--kind",
        "full",
        "--folder",
        f,
        "--key-file",
        k,
        "--json",
    ]);
    assert_eq!(
        (full["kind"].as_str(), full["result"].as_str()),
        (Some("full"), Some("ok"))
    );
    let inc = json(&[
        "backup",
        "create",
        p,
        "--kind",
        "incremental",
        "--folder",
        f,
        "--key-file",
        k,
        "--json",
    ]);
    assert_eq!(inc["kind"], "incremental");
    let listed = json(&["backup", "list", p, "--json"]);
    assert_eq!(listed["backups"].as_array().unwrap().len(), 2);
    let (ff, fi) = (
        full["file"].as_str().unwrap(),
        inc["file"].as_str().unwrap(),
    );
    assert_eq!(
        json(&["backup", "verify", ff, fi, "--key-file", k, "--json"])["files"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(code(&["backup", "verify", ff, fi]), 4, "no key: wrong key");
    assert_eq!(
        code(&["backup", "verify", fi, ff, "--key-file", k]),
        2,
        "wrong order"
    );
    let to = dir.file("restored.hs");
    let restored = json(&[
        "backup",
        "restore",
        ff,
        fi,
        "--to",
        to.to_str().unwrap(),
        "--key-file",
        k,
        "--json",
    ]);
    assert_eq!(restored["audit_size"], inc["audit_size"]);
    let pruned = json(&[
        "backup",
        "prune",
        p,
        "--keep-fulls",
        "1",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(pruned["pruned"].as_array().unwrap().len(), 0);
    // The backups just taken: nothing is due for an hour. The restored store has none:
    // a full is due.
    assert_eq!(
        json(&["backup", "run-due", p, "--folder", f, "--json"]),
        serde_json::Value::Null
    );
    let other = dir.file("other-backups");
    let due = json(&[
        "backup",
        "run-due",
        to.to_str().unwrap(),
        "--folder",
        other.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(due["kind"], "full");

    // Exit codes: a missing store, a store held by another handle, bad usage.
    assert_eq!(code(&["info", dir.file("none.hs").to_str().unwrap()]), 5);
    let held = Store::open(&path, Options::new()).unwrap();
    let out = run(&["info", p]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("open in another process"));
    held.close().unwrap();
    assert_eq!(code(&["logs", "query", p, "--level", "loud"]), 2);
    assert_eq!(code(&["nonsense"]), 2);
}

#[test]
fn tenant_is_a_flag_everywhere() {
    let dir = common::TempDir::new("cli-tenant");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    {
        let store = Store::open(&path, Options::new()).unwrap();
        complete_order_1(&store);
        store.close().unwrap();
    }
    let got = json(&["idem", "get", p, "order-1", "--tenant", "acme", "--json"]);
    assert_eq!(got["state"], "completed");
    // The tenant is never positional: the old form is bad usage.
    assert_eq!(code(&["idem", "get", p, "acme", "order-1"]), 2);
    for args in [
        &["audit", "query", p, "--tenant", "acme"][..],
        &["audit", "export", p, "--tenant", "acme"],
        &["logs", "query", p, "--tenant", "acme"],
        &["idem", "get", p, "order-1", "--tenant", "acme"],
        &["dlq", "list", p, "--tenant", "acme"],
        &["dlq", "redrive", p, "--tenant", "acme"],
    ] {
        assert_eq!(code(args), 0, "{args:?}");
    }
}

#[test]
fn times_print_as_rfc3339_and_json_keeps_microseconds() {
    let dir = common::TempDir::new("cli-times");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    {
        let (store, _clock) = clocked_store(&path);
        complete_order_1(&store);
        let e = AuditEvent::new("acme", "order.paid").actor("user:1");
        store.audit().append(e, Durability::Durable).unwrap();
        let r = LogRecord::new(Level::Info, "request done");
        store.logs().append(r, Durability::Durable).unwrap();
        store.restore_points().create("before").unwrap();
        store.close().unwrap();
    }
    let t0 = "2099-12-03T09:31:52.123456Z";
    let idem = text(&["idem", "get", p, "order-1", "--tenant", "acme"]);
    assert!(
        idem.contains(&format!(
            "created {t0}, expires 2099-12-04T09:31:52.123456Z"
        )),
        "{idem}"
    );
    assert!(
        !idem.contains("lease until"),
        "a completed key has no lease: {idem}"
    );
    let audit = text(&["audit", "query", p, "--tenant", "acme"]);
    assert!(
        audit.contains(&format!("{t0}  user:1  order.paid")),
        "{audit}"
    );
    let tail = text(&["logs", "tail", p]);
    assert!(
        tail.contains(&format!("{t0}  info   request done")),
        "{tail}"
    );
    let points = text(&["restore-point", "list", p]);
    assert!(points.contains(t0), "{points}");
    for out in [&idem, &audit, &tail, &points] {
        assert!(!out.contains(&T0.to_string()), "raw microseconds: {out}");
    }
    // --json keeps microseconds.
    let raw = json(&["idem", "get", p, "order-1", "--tenant", "acme", "--json"]);
    assert_eq!(raw["created_us"], T0);
    let raw = json(&["logs", "tail", p, "--json"]);
    assert_eq!(raw["entries"][0]["time"], T0);
}

/// Five audit entries of tenant acme, entry i written at T0 + i s.
fn five_audit_entries(path: &std::path::Path) {
    let (store, clock) = clocked_store(path);
    for i in 0..5 {
        let e = AuditEvent::new("acme", format!("a{i}")).actor("user:1");
        store.audit().append(e, Durability::Durable).unwrap();
        clock.advance(SEC);
    }
    store.close().unwrap();
}

fn audit_query(p: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["audit", "query", p, "--tenant", "acme", "--json"];
    args.extend_from_slice(extra);
    json(&args)
}

#[test]
fn audit_query_is_newest_first_unless_asked() {
    let dir = common::TempDir::new("cli-audit-order");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    five_audit_entries(&path);
    assert_eq!(
        seqs(&audit_query(p, &[])),
        [4, 3, 2, 1, 0],
        "newest first, as the help says"
    );
    assert_eq!(seqs(&audit_query(p, &["--oldest-first"])), [0, 1, 2, 3, 4]);
    assert_eq!(seqs(&audit_query(p, &["--limit", "2"])), [4, 3]);
    let help = text(&["audit", "query", "--help"]);
    assert!(help.contains("newest first"), "{help}");
}

#[test]
fn audit_query_takes_a_time_range_and_a_cursor() {
    let dir = common::TempDir::new("cli-audit-query");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    five_audit_entries(&path);

    // [T0 + 1 s, T0 + 4 s): RFC 3339 and raw microseconds both work as bounds.
    let since = "2099-12-03T09:31:53.123456Z";
    let until = (T0 + 4 * SEC).to_string();
    let range = audit_query(p, &["--since", since, "--until", &until]);
    assert_eq!(seqs(&range), [3, 2, 1]);
    let shifted = audit_query(p, &["--since", "2099-12-03T10:31:53.123456+01:00"]);
    assert_eq!(seqs(&shifted), [4, 3, 2, 1]);
    assert_eq!(
        code(&[
            "audit",
            "query",
            p,
            "--tenant",
            "acme",
            "--since",
            "yesterday"
        ]),
        2
    );

    // Pages: the cursor each page prints continues the query.
    let first = audit_query(p, &["--limit", "2"]);
    assert_eq!(seqs(&first), [4, 3]);
    let c1 = first["next_cursor"].as_str().unwrap().to_string();
    let second = audit_query(p, &["--limit", "2", "--cursor", &c1]);
    assert_eq!(seqs(&second), [2, 1]);
    let c2 = second["next_cursor"].as_str().unwrap().to_string();
    let last = audit_query(p, &["--limit", "2", "--cursor", &c2]);
    assert_eq!(seqs(&last), [0]);
    assert_eq!(last["next_cursor"], serde_json::Value::Null);
    // A cursor of one order is refused by the other; a cursor must be hex.
    assert_eq!(
        code(&[
            "audit",
            "query",
            p,
            "--tenant",
            "acme",
            "--oldest-first",
            "--cursor",
            &c1
        ]),
        2
    );
    assert_eq!(
        code(&["audit", "query", p, "--tenant", "acme", "--cursor", "zz"]),
        2
    );

    // Human output prints the next page's cursor after the page.
    let out = text(&["audit", "query", p, "--tenant", "acme", "--limit", "2"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[2], format!("more: --cursor {c1}"));
}

#[test]
fn audit_checkpoint_with_the_audit_key_carries_a_mac_that_verifies() {
    let dir = common::TempDir::new("cli-audit-key");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    let secret = b"a secret of at least 32 bytes....";
    let add = |n: u64| {
        let store = Store::open(&path, Options::new().audit_key(secret)).unwrap();
        for i in 0..n {
            store
                .audit()
                .append(common::event(i), Durability::Durable)
                .unwrap();
        }
        store.close().unwrap();
    };
    add(3);
    let key = dir.file("audit.key");
    let mut file = secret.to_vec();
    file.push(b'\n'); // as an editor saves it
    std::fs::write(&key, file).unwrap();
    let k = key.to_str().unwrap();
    let wrong = dir.file("wrong.key");
    std::fs::write(&wrong, "another secret entirely, 32 bytes").unwrap();
    let w = wrong.to_str().unwrap();

    let cp = json(&["audit", "checkpoint", p, "--audit-key-file", k, "--json"]);
    assert_eq!(cp["signed"], true);
    let hex = cp["bytes"].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let parsed = Checkpoint::from_bytes(&bytes).unwrap();
    parsed.verify_mac(secret).unwrap();
    assert!(parsed.verify_mac(b"another secret").is_err());
    // Without the key, no MAC (as before).
    assert_eq!(json(&["audit", "checkpoint", p, "--json"])["signed"], false);

    // The CLI checks it too: MAC and growth, after the log grew.
    add(2);
    let v = json(&[
        "audit",
        "verify-checkpoint",
        p,
        hex,
        "--audit-key-file",
        k,
        "--json",
    ]);
    assert_eq!(
        (
            v["mac_checked"].as_bool(),
            v["old_size"].as_u64(),
            v["size"].as_u64()
        ),
        (Some(true), Some(3), Some(5))
    );
    let human = text(&["audit", "verify-checkpoint", p, hex]);
    assert!(human.contains("MAC not checked"), "{human}");
    assert_eq!(
        code(&["audit", "verify-checkpoint", p, hex, "--audit-key-file", w]),
        4,
        "wrong key"
    );
    let mut forged = bytes.clone();
    forged[21] ^= 1; // the size
    let forged: String = forged.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        code(&[
            "audit",
            "verify-checkpoint",
            p,
            &forged,
            "--audit-key-file",
            k
        ]),
        4,
        "tampered"
    );
    // A checkpoint from further along than the log: entries were lost.
    let longer = dir.file("longer.hs");
    std::fs::copy(&path, &longer).unwrap();
    {
        let store = Store::open(&longer, Options::new()).unwrap();
        store
            .audit()
            .append(common::event(9), Durability::Durable)
            .unwrap();
        store.close().unwrap();
    }
    let l = longer.to_str().unwrap();
    let ahead = json(&["audit", "checkpoint", l, "--json"]);
    let ahead = ahead["bytes"].as_str().unwrap();
    assert_eq!(
        code(&["audit", "verify-checkpoint", p, ahead]),
        4,
        "the log lost entries"
    );
}

/// 20 requests of GET /a taking 1..=20 ms, every fourth by user u2; request i was
/// written at T0 + (i - 1) s.
fn twenty_requests(path: &std::path::Path) {
    let (store, clock) = clocked_store(path);
    for i in 1..=20u64 {
        let user = if i % 4 == 0 { "u2" } else { "u1" };
        let r = LogRecord::new(Level::Info, format!("request {i}"))
            .tenant("acme")
            .user(user)
            .endpoint("GET /a")
            .duration_us(i * 1_000);
        store.logs().append(r, Durability::Durable).unwrap();
        clock.advance(SEC);
    }
    store.close().unwrap();
}

#[test]
fn logs_query_filters_by_user_and_time() {
    let dir = common::TempDir::new("cli-logs-query");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    twenty_requests(&path);
    let count = |args: &[&str]| json(args)["entries"].as_array().unwrap().len();
    assert_eq!(count(&["logs", "query", p, "--user", "u2", "--json"]), 5);
    // [T0 + 2 s, T0 + 5 s) holds requests 3, 4 and 5 (seqs 2, 3, 4).
    let since = "2099-12-03T09:31:54.123456Z";
    let until = (T0 + 5 * SEC).to_string();
    let range = json(&[
        "logs", "query", p, "--since", since, "--until", &until, "--json",
    ]);
    assert_eq!(seqs(&range), [4, 3, 2]);
    assert_eq!(
        count(&[
            "logs", "query", p, "--user", "u2", "--since", since, "--until", &until, "--json",
        ]),
        1
    );
    assert_eq!(code(&["logs", "query", p, "--until", "noon"]), 2);
    // Pages of logs continue with --cursor too, in either order.
    let page = json(&["logs", "query", p, "--limit", "15", "--json"]);
    let c = page["next_cursor"].as_str().unwrap();
    let rest = json(&["logs", "query", p, "--limit", "15", "--cursor", c, "--json"]);
    assert_eq!(seqs(&rest), [4, 3, 2, 1, 0]);
    let oldest = json(&[
        "logs",
        "query",
        p,
        "--oldest-first",
        "--limit",
        "2",
        "--json",
    ]);
    assert_eq!(seqs(&oldest), [0, 1]);
}

#[test]
fn logs_stats_show_mean_and_p95() {
    let dir = common::TempDir::new("cli-logs-stats");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    twenty_requests(&path);
    // Mean 10.5 ms; p95 by nearest rank is the 19th of 20 sorted, 19 ms.
    let stats = text(&["logs", "stats", p]);
    assert!(
        stats.contains("GET /a  20 requests, 0 errors, mean 10.500 ms, p95 19.000 ms"),
        "{stats}"
    );
    // Over a window: requests 3..=20, mean 11.5 ms, p95 rank 18 of 18, 20 ms.
    let since = "2099-12-03T09:31:54.123456Z";
    let windowed = text(&["logs", "stats", p, "--since", since]);
    assert!(
        windowed.contains("GET /a  18 requests, 0 errors, mean 11.500 ms, p95 20.000 ms"),
        "{windowed}"
    );
    assert_eq!(
        json(&["logs", "stats", p, "--since", since, "--json"])["total"],
        18
    );
}

/// Microseconds since the epoch now, as the CLI's clock reads it.
fn wall_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

const DAY: u64 = 86_400 * SEC;

/// The settings the tests below give their stores: none of them the default.
fn own_settings() -> Options {
    Options::new()
        .log_capacity(150)
        .idempotency_ttl(Duration::from_secs(3600))
        .dead_letter_purge_after(Duration::from_secs(2 * 86_400))
        .max_restore_points(4)
        .backup_retention(Retention {
            max_age: None,
            keep_fulls: Some(2),
        })
}

/// What a read-only command must leave as it was, read through the library.
#[derive(Debug, PartialEq)]
struct Snapshot {
    digest: [u8; 32],
    settings: Settings,
    ring: (u64, u64),
    capacity: u64,
    audit: (u64, [u8; 32]),
    points: Vec<(u64, [u8; 32])>,
    backups: Vec<(u64, String)>,
    dlq: (u64, u64, u64, u64),
    file_names: Vec<String>,
}

fn snapshot(path: &std::path::Path, dir: &std::path::Path) -> Snapshot {
    // Opened with the default options, as the CLI does: that too must change nothing.
    let s = Store::open(path, Options::new()).unwrap();
    let size = s.audit().size().unwrap();
    let c = s.dead_letters().counts().unwrap();
    let mut file_names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    file_names.sort();
    let snap = Snapshot {
        digest: hardstore::fuzzing::backed_up_digest_across_opens(&s).unwrap(),
        settings: s.settings().get(),
        ring: s.logs().range().unwrap(),
        capacity: s.logs().capacity(),
        audit: (size, s.audit().root(size).unwrap()),
        points: s
            .restore_points()
            .list()
            .unwrap()
            .iter()
            .map(|p| (p.id, p.digest))
            .collect(),
        backups: s
            .backups()
            .list()
            .unwrap()
            .iter()
            .map(|r| (r.id, format!("{}:{:?}", r.file, r.result)))
            .collect(),
        dlq: (c.pending, c.leased, c.done, c.dead),
        file_names,
    };
    s.close().unwrap();
    snap
}

#[test]
fn read_only_commands_use_and_keep_the_stores_own_settings() {
    let dir = common::TempDir::new("cli-own-settings");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    let folder = dir.file("backups");
    let point;
    {
        let store = Store::open(&path, own_settings()).unwrap();
        fill(&store, 120);
        point = store.restore_points().create("alive").unwrap().id;
        // A change after the point, so that it keeps an old value.
        store
            .kv_put("app", b"k", b"v2", Durability::Durable)
            .unwrap();
        for _ in 0..3 {
            store
                .backups()
                .run(BackupKind::Full, &folder, &BackupOptions::default())
                .unwrap();
        }
        store.close().unwrap();
    }
    let before = snapshot(&path, &dir.file(""));
    assert_eq!(before.ring.1 - before.ring.0, 120);

    let cp = json(&["audit", "checkpoint", p, "--json"]);
    let cp_hex = cp["bytes"].as_str().unwrap().to_string();
    let backups = json(&["backup", "list", p, "--json"]);
    let first_full = backups["backups"][0]["file"].as_str().unwrap().to_string();
    let point_s = point.to_string();
    let export_to = dir.file("exported.hs");
    let restore_to = dir.file("restored.hs");

    // Every command of main.rs that only reads the store (the writes are create,
    // restore, redrive, purge, prune without --dry-run, run-due and settings set). The
    // last field: whether it takes --json.
    let tenant = common::event(0).tenant;
    let commands: Vec<(Vec<&str>, bool)> = vec![
        (vec!["info", p], true),
        (vec!["audit", "query", p, "--tenant", &tenant], true),
        (vec!["audit", "verify", p], true),
        (vec!["audit", "prove", p, "3"], true),
        (vec!["audit", "checkpoint", p], true),
        (vec!["audit", "verify-checkpoint", p, &cp_hex], true),
        (vec!["audit", "export", p, "--tenant", &tenant], false),
        (vec!["logs", "tail", p], true),
        (vec!["logs", "query", p, "--level", "error"], true),
        (vec!["logs", "stats", p], true),
        (vec!["idem", "get", p, "order-1", "--tenant", "acme"], true),
        (vec!["dlq", "list", p], true),
        (vec!["restore-point", "list", p], true),
        (vec!["restore-point", "verify", p, &point_s], false),
        (vec!["backup", "list", p], true),
        (vec!["backup", "verify", &first_full], true),
        (vec!["backup", "prune", p, "--dry-run"], true),
        (vec!["settings", "show", p], true),
    ];
    for (args, takes_json) in &commands {
        text(args);
        if *takes_json {
            json(&[&args[..], &["--json"]].concat());
        }
    }
    // Those that write a new file elsewhere, and one that fails (not found).
    text(&[
        "restore-point",
        "export",
        p,
        &point_s,
        export_to.to_str().unwrap(),
    ]);
    let out = run(&[
        "backup",
        "restore",
        &first_full,
        "--to",
        restore_to.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    // A backup carries the settings: the restored store has the source's.
    let restored = json(&["settings", "show", restore_to.to_str().unwrap(), "--json"]);
    assert_eq!(restored["log_capacity"], 150, "{restored}");
    assert_eq!(code(&["idem", "get", p, "nope", "--tenant", "acme"]), 5);

    // What they showed is the store's own settings.
    let info = json(&["info", p, "--json"]);
    assert_eq!(info["logs"]["len"], 120);
    assert_eq!(info["logs"]["capacity"], 150);
    assert_eq!(info["restore_points"]["count"], 1);
    assert_eq!(info["restore_points"]["max"], 4);
    assert!(info["restore_points"]["pinned_bytes"].as_u64().unwrap() > 0);
    let info_text = text(&["info", p]);
    assert!(
        info_text.contains("log ring    120 of 150 entries"),
        "{info_text}"
    );
    assert!(
        info_text.contains("restore points 1 of 4 (keeping "),
        "{info_text}"
    );
    let shown = json(&["settings", "show", p, "--json"]);
    assert_eq!(shown["log_capacity"], 150);
    assert_eq!(shown["idempotency_ttl"], "1h");
    assert_eq!(shown["idempotency_ttl_us"], 3600 * SEC);
    assert_eq!(shown["dead_letter_purge_after"], "2d");
    assert_eq!(shown["dead_letter_purge_after_us"], 2 * DAY);
    assert_eq!(shown["max_restore_points"], 4);
    assert_eq!(shown["backup_retention"]["keep_fulls"], 2);
    assert_eq!(shown["backup_retention"]["max_age"], "none");
    assert_eq!(shown["backup_schedule"]["full_every"], "24h");
    let shown_text = text(&["settings", "show", p]);
    for line in [
        "log-capacity                 150",
        "idempotency-ttl              1h",
        "dead-letter-purge-after      2d",
        "max-restore-points           4",
        "backup-retention-max-age     none",
        "backup-retention-keep-fulls  2",
    ] {
        assert!(shown_text.contains(line), "{line:?} in\n{shown_text}");
    }
    let key = json(&["idem", "get", p, "order-1", "--tenant", "acme", "--json"]);
    assert_eq!(
        key["expires_us"].as_u64().unwrap() - key["created_us"].as_u64().unwrap(),
        3600 * SEC
    );
    // The dry run prunes by the store's keep-fulls of 2: the oldest of three would go.
    let pruned = json(&["backup", "prune", p, "--dry-run", "--json"]);
    assert_eq!(pruned["pruned"].as_array().unwrap().len(), 1);
    assert_eq!(
        pruned["pruned"][0]["file"].as_str(),
        Some(first_full.as_str())
    );
    assert_eq!(pruned["retention"]["keep_fulls"], 2);
    // A flag replaces its part of the store's retention only.
    let flagged = json(&[
        "backup",
        "prune",
        p,
        "--keep-fulls",
        "3",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(flagged["pruned"].as_array().unwrap().len(), 0);
    assert_eq!(flagged["retention"]["max_age_us"], serde_json::Value::Null);

    // And nothing changed: rows, settings, ring, audit log, points, catalog, files
    // beside the store (but the two written on purpose).
    let mut after = snapshot(&path, &dir.file(""));
    after
        .file_names
        .retain(|n| n != "exported.hs" && n != "restored.hs" && n != "restored.hs.redo");
    assert_eq!(after, before);
    let s = Store::open(&path, Options::new()).unwrap();
    s.restore_points().verify(point).unwrap();
    assert_eq!(s.logs().len().unwrap(), 120);
    assert_eq!(s.settings().get(), own_settings_values());
    s.close().unwrap();
    assert!(std::path::Path::new(&first_full).exists());
}

/// The settings [`own_settings`] gives a new store.
fn own_settings_values() -> Settings {
    Settings {
        log_capacity: 150,
        idempotency_ttl: Duration::from_secs(3600),
        dead_letter_purge_after: Duration::from_secs(2 * 86_400),
        max_restore_points: 4,
        backup_retention: Retention {
            max_age: None,
            keep_fulls: Some(2),
        },
        ..Settings::default()
    }
}

#[test]
fn dlq_purge_keeps_items_inside_the_stores_window() {
    let dir = common::TempDir::new("cli-dlq-window");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    let now = wall_now();
    // Items that became Done or Dead 3 days and 1 day ago, by the store's clock. The
    // store keeps them 2 days (the default would keep them all 7).
    let clock = ManualClock::new(now - 3 * DAY);
    let store = Store::open(&path, own_settings().clock(clock.clone())).unwrap();
    let dlq = store.dead_letters();
    let finish = |kind: &str| {
        let dead =
            NewDeadLetter::new("acme", format!("{kind}-dead"), b"x".to_vec()).permanent(true);
        dlq.record(dead, Durability::Durable).unwrap();
        dlq.record(
            NewDeadLetter::new("acme", format!("{kind}-done"), b"x".to_vec()),
            Durability::Durable,
        )
        .unwrap();
        for c in dlq.claim_due(10, Duration::from_secs(60)).unwrap() {
            dlq.ack(&c).unwrap();
        }
    };
    finish("old");
    clock.set(now - DAY);
    finish("young");
    assert_eq!(
        (dlq.counts().unwrap().done, dlq.counts().unwrap().dead),
        (2, 2)
    );
    store.close().unwrap();

    assert_eq!(json(&["dlq", "purge", p, "--json"])["purged"], 2);
    let left = json(&["dlq", "list", p, "--json"]);
    let mut kinds: Vec<&str> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["young-dead", "young-done"]);
    // The window is the store's: the open with default options did not change it.
    assert_eq!(
        json(&["settings", "show", p, "--json"])["dead_letter_purge_after"],
        "2d"
    );
}

#[test]
fn settings_set_asks_before_it_evicts_and_every_change_is_audited() {
    let dir = common::TempDir::new("cli-settings-set");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    {
        let store = Store::open(&path, own_settings()).unwrap();
        for i in 0..120 {
            common::audit_and_log(&store, i, Level::Info, format!("line {i}"));
        }
        store.close().unwrap();
    }

    // A ring of 100 would evict 20: refused, exit 1, nothing changed.
    for confirm in [None, Some("19")] {
        let mut args = vec!["settings", "set", p, "log-capacity", "100"];
        if let Some(n) = confirm {
            args.extend(["--confirm-evict", n]);
        }
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("evicts the oldest 20 entries"), "{err}");
        assert!(err.contains("--confirm-evict 20"), "{err}");
        assert!(out.stdout.is_empty());
    }
    let info = json(&["info", p, "--json"]);
    assert_eq!(
        (
            &info["logs"]["len"],
            &info["logs"]["capacity"],
            &info["audit"]["size"]
        ),
        (&120.into(), &150.into(), &120.into())
    );

    // Confirmed: it says what it deleted and which audit entry records it.
    let out = text(&[
        "settings",
        "set",
        p,
        "log-capacity",
        "100",
        "--confirm-evict",
        "20",
        "--actor",
        "ops:ann",
    ]);
    assert_eq!(
        out,
        "log-capacity: 150 -> 100 (audit entry 120)\ndeleted the oldest 20 log entries\n"
    );
    let info = json(&["info", p, "--json"]);
    assert_eq!(
        (&info["logs"]["len"], &info["logs"]["capacity"]),
        (&100.into(), &100.into())
    );
    let entry = json(&[
        "audit",
        "query",
        p,
        "--tenant",
        "hardstore",
        "--limit",
        "1",
        "--json",
    ]);
    let e = &entry["entries"][0];
    assert_eq!(
        (e["seq"].as_u64(), e["actor"].as_str()),
        (Some(120), Some("ops:ann"))
    );
    assert_eq!(e["action"], "settings.set");

    // Every other setting, from the command line to the stored value and back.
    let changes = [
        ("log-capacity", "300", "300"),
        ("idempotency-ttl", "90m", "90m"),
        ("dead-letter-max-attempts", "9", "9"),
        ("dead-letter-retry-base", "2s", "2s"),
        ("dead-letter-retry-cap", "7200000000", "2h"),
        ("dead-letter-purge-after", "0", "0s"),
        ("max-restore-points", "8", "8"),
        ("backup-retention-max-age", "14d", "14d"),
        ("backup-retention-keep-fulls", "none", "none"),
        ("backup-full-every", "12h", "12h"),
        ("backup-incremental-every", "3h", "3h"),
        ("backup-differential-every", "15m", "15m"),
    ];
    for (i, (name, value, shown)) in changes.iter().enumerate() {
        let v = json(&["settings", "set", p, name, value, "--json"]);
        assert_eq!(v["new"], *shown, "{name}");
        assert_eq!(v["deleted"], 0);
        assert_eq!(v["audit_seq"], 121 + i as u64, "{name}");
    }
    let s = Store::open(&path, Options::new()).unwrap();
    let got = s.settings().get();
    s.close().unwrap();
    let h = Duration::from_secs(3600);
    assert_eq!(got.log_capacity, 300);
    assert_eq!(got.idempotency_ttl, Duration::from_secs(90 * 60));
    assert_eq!(
        (
            got.dead_letter_policy.max_attempts,
            got.dead_letter_policy.base,
            got.dead_letter_policy.cap
        ),
        (9, Duration::from_secs(2), 2 * h)
    );
    assert_eq!(got.dead_letter_purge_after, Duration::ZERO);
    assert_eq!(got.max_restore_points, 8);
    assert_eq!(
        got.backup_retention,
        Retention {
            max_age: Some(14 * 24 * h),
            keep_fulls: None
        }
    );
    let sch = &got.backup_schedule;
    assert_eq!(
        (
            sch.full_every,
            sch.incremental_every,
            sch.differential_every
        ),
        (12 * h, 3 * h, Duration::from_secs(900))
    );

    // Bad usage: exit 2, nothing recorded.
    for args in [
        &["settings", "set", p, "ring-size", "5"][..],
        &["settings", "set", p, "idempotency-ttl", "1w"],
        &["settings", "set", p, "idempotency-ttl", "0"],
        &["settings", "set", p, "log-capacity", "many"],
        &["settings", "set", p, "max-restore-points", "5000"],
        &["settings", "set", p, "dead-letter-purge-after", "none"],
        &[
            "settings",
            "set",
            p,
            "idempotency-ttl",
            "2h",
            "--confirm-evict",
            "1",
        ],
    ] {
        assert_eq!(code(args), 2, "{args:?}");
    }
    assert_eq!(json(&["info", p, "--json"])["audit"]["size"], 133);
    // The cap as set, and no kept bytes to speak of without points.
    let info = text(&["info", p]);
    assert!(info.contains("restore points 0 of 8\n"), "{info}");
    assert!(info.contains("log ring    100 of 300 entries"), "{info}");
}

#[test]
fn backup_run_due_and_prune_follow_the_stores_schedule_and_retention() {
    let dir = common::TempDir::new("cli-backup-settings");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    let folder = dir.file("backups");
    let f = folder.to_str().unwrap();
    {
        // A full is always due; two fulls are kept (the defaults: a full a day, 30 days).
        let schedule = hardstore::Schedule {
            full_every: Duration::ZERO,
            ..hardstore::Schedule::default()
        };
        let store = Store::open(&path, own_settings().backup_schedule(schedule)).unwrap();
        common::audit_and_log(&store, 0, Level::Info, "one".into());
        store.close().unwrap();
    }
    for _ in 0..3 {
        assert_eq!(
            json(&["backup", "run-due", p, "--folder", f, "--json"])["kind"],
            "full"
        );
    }
    let listed = json(&["backup", "list", p, "--json"]);
    let ids: Vec<u64> = listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3], "the run-due prune kept the newest 2 fulls");
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 2);

    // The schedule as set: a full a day, just taken, and nothing else due for an hour.
    text(&["settings", "set", p, "backup-full-every", "24h"]);
    assert_eq!(
        json(&["backup", "run-due", p, "--folder", f, "--json"]),
        serde_json::Value::Null
    );
    // `backup prune` keeps 2 by the store's settings; keep 1 when set so.
    assert_eq!(
        json(&["backup", "prune", p, "--dry-run", "--json"])["pruned"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    text(&["settings", "set", p, "backup-retention-keep-fulls", "1"]);
    let gone = json(&["backup", "prune", p, "--json"]);
    assert_eq!(gone["pruned"][0]["id"], 2);
    assert_eq!(gone["pruned"].as_array().unwrap().len(), 1);
}

#[test]
fn alerts_raise_list_ack_resolve_and_a_purge_that_asks_first() {
    let dir = common::TempDir::new("cli-alerts");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    drop(Store::open(&path, Options::new()).unwrap());
    let raise = |key: &str, sev: &str| {
        json(&[
            "alerts",
            "raise",
            p,
            "acme",
            "billing",
            key,
            "--severity",
            sev,
            "--message",
            "declines up",
            "--json",
        ])
    };
    let a = raise("declines", "warning");
    assert_eq!(
        (a["count"].as_u64(), a["created"].as_bool()),
        (Some(1), Some(true))
    );
    let b = raise("declines", "critical");
    assert_eq!(
        (b["id"].clone(), b["count"].as_u64()),
        (a["id"].clone(), Some(2))
    );
    raise("latency", "info");
    let id = a["id"].as_u64().unwrap().to_string();
    let acked = json(&["alerts", "ack", p, &id, "--by", "oncall:ana", "--json"]);
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "oncall:ana");
    let list = json(&["alerts", "list", p, "--min-severity", "warning", "--json"]);
    let alerts = list["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{list}");
    assert_eq!(alerts[0]["severity"], "critical");
    // Paging: one a page, the cursor continues newest first.
    let first = json(&["alerts", "list", p, "--limit", "1", "--json"]);
    let next = first["next"].as_str().unwrap().to_string();
    let second = json(&[
        "alerts", "list", p, "--limit", "1", "--after", &next, "--json",
    ]);
    assert!(second["alerts"][0]["id"].as_u64() < first["alerts"][0]["id"].as_u64());
    assert!(text(&["alerts", "list", p]).contains("declines up"));
    let resolved = json(&[
        "alerts", "resolve", p, &id, "--by", "ana", "--note", "fixed", "--json",
    ]);
    assert_eq!(resolved["state"], "resolved");
    let all = json(&["alerts", "list", p, "--scope", "resolved", "--json"]);
    assert_eq!(all["alerts"].as_array().unwrap().len(), 1);
    // A purge of alerts resolved more than 0 s ago: one, refused until confirmed.
    let out = run(&["alerts", "purge", p, "--older-than", "0s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--confirm-evict 1"));
    assert_eq!(json(&["info", p, "--json"])["alerts"]["resolved"], 1);
    let purged = json(&[
        "alerts",
        "purge",
        p,
        "--older-than",
        "0s",
        "--confirm-evict",
        "1",
        "--json",
    ]);
    assert_eq!(purged["purged"], 1);
    assert_eq!(json(&["info", p, "--json"])["alerts"]["resolved"], 0);
    // Bad input: usage errors, not found.
    assert_eq!(code(&["alerts", "list", p, "--scope", "some"]), 2);
    assert_eq!(
        code(&[
            "alerts",
            "raise",
            p,
            "acme",
            "s",
            "k",
            "--severity",
            "fatal"
        ]),
        2
    );
    assert_eq!(code(&["alerts", "ack", p, "999"]), 5);
    assert_eq!(code(&["alerts", "list", p, "--after", "zz"]), 2);
}

#[test]
fn health_prints_every_component_and_exits_with_the_grade() {
    let dir = common::TempDir::new("cli-health");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    drop(Store::open(&path, Options::new()).unwrap());
    let v = json(&["health", p, "--json"]);
    assert_eq!(v["grade"], "healthy");
    let names: Vec<&str> = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(text(&["health", p, "--deep"]).contains("integrity"));
    // One dead letter degrades it (the default threshold): exit code 1, and with
    // --raise-alerts one alert.
    {
        let store = Store::open(&path, Options::new()).unwrap();
        let d = NewDeadLetter::new("acme", "email", b"x".to_vec()).permanent(true);
        store.dead_letters().record(d, Durability::Durable).unwrap();
        store.close().unwrap();
    }
    assert_eq!(code(&["health", p]), 1);
    let out = run(&["health", p, "--raise-alerts", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["grade"].as_str(), v["alerts_raised"].as_u64()),
        (Some("degraded"), Some(1))
    );
    let open = json(&["alerts", "list", p, "--tenant", "hardstore", "--json"]);
    assert_eq!(open["alerts"][0]["dedup_key"], "dead_letters");
    // A thousand dead letters: critical, exit code 2.
    {
        let store = Store::open(&path, Options::new()).unwrap();
        store
            .write(Durability::Durable, |tx| {
                for _ in 0..999 {
                    let d = NewDeadLetter::new("acme", "email", b"x".to_vec()).permanent(true);
                    tx.dlq_record(&d)?;
                }
                Ok(())
            })
            .unwrap();
        store.close().unwrap();
    }
    assert_eq!(code(&["health", p]), 2);
    // A store that cannot be checked: the usual codes.
    assert_eq!(code(&["health", dir.file("none.hs").to_str().unwrap()]), 5);
}

#[test]
fn maintenance_deletes_what_the_stores_settings_say_expired_and_runs_the_due_backup() {
    let dir = common::TempDir::new("cli-maintenance");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    let now = wall_now();
    {
        let clock = ManualClock::new(now - 3 * DAY);
        let store = Store::open(&path, own_settings().clock(clock.clone())).unwrap();
        for kind in ["a", "b", "c"] {
            let d = NewDeadLetter::new("acme", kind, b"x".to_vec()).permanent(true);
            store.dead_letters().record(d, Durability::Durable).unwrap();
        }
        clock.set(now);
        let d = NewDeadLetter::new("acme", "young", b"x".to_vec()).permanent(true);
        store.dead_letters().record(d, Durability::Durable).unwrap();
        store.close().unwrap();
    }
    let backups = dir.file("backups");
    let v = json(&[
        "maintenance",
        p,
        "--backups-into",
        backups.to_str().unwrap(),
        "--json",
    ]);
    // The store keeps dead letters 2 days (its own setting, not the default 7).
    assert_eq!(v["dead_letters_purged"], 3, "{v}");
    assert_eq!(v["backup"]["kind"], "full");
    assert_eq!(v["more_due"], false);
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);
    let again = json(&["maintenance", p, "--json"]);
    assert_eq!(
        (
            again["dead_letters_purged"].as_u64(),
            again["backup"].is_null()
        ),
        (Some(0), true)
    );
    assert!(text(&["maintenance", p]).contains("dead letters purged"));
    assert_eq!(
        code(&["maintenance", dir.file("none.hs").to_str().unwrap()]),
        5
    );
}

#[test]
fn metrics_print_the_stores_figures_in_three_forms() {
    let dir = common::TempDir::new("cli-metrics");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    {
        let store = Store::open(&path, Options::new()).unwrap();
        for i in 0..4 {
            store
                .audit()
                .append(
                    AuditEvent::new("acme", "x").resource(format!("r/{i}")),
                    Durability::Durable,
                )
                .unwrap();
        }
        store.close().unwrap();
    }
    let prom = text(&["metrics", p]);
    assert!(prom.contains("hardstore_audit_entries_total 4\n"), "{prom}");
    assert!(!prom.contains("# EOF"));
    assert!(text(&["metrics", p, "--openmetrics"]).ends_with("# EOF\n"));
    assert_eq!(json(&["metrics", p, "--json"])["audit_entries"], 4);
    assert_eq!(code(&["metrics", dir.file("none.hs").to_str().unwrap()]), 5);
}

#[test]
fn settings_show_and_set_the_alert_retention_and_healths_thresholds() {
    let dir = common::TempDir::new("cli-settings-health");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    drop(Store::open(&path, Options::new()).unwrap());
    let shown = text(&["settings", "show", p]);
    assert!(shown.contains("alert-retention"), "{shown}");
    assert!(shown.contains("health-dead-letters-degraded"));
    for (name, value) in [
        ("alert-retention", "7d"),
        ("health-dead-letters-degraded", "5"),
        ("health-dead-letters-critical", "50"),
        ("health-file-size-limit", "1000000000"),
        ("health-backups-expected", "yes"),
        ("health-p95-degraded", "250ms"),
    ] {
        json(&["settings", "set", p, name, value, "--json"]);
    }
    let v = json(&["settings", "show", p, "--json"]);
    assert_eq!(v["alert_retention_us"], 7 * DAY);
    assert_eq!(v["health"]["dead_letters_degraded"], 5);
    assert_eq!(v["health"]["file_size_limit"], 1_000_000_000u64);
    assert_eq!(v["health"]["backups_expected"], true);
    assert_eq!(v["health"]["p95_degraded_us"], 250_000);
    // Lines that grade nothing sensibly are refused, and change nothing.
    assert_eq!(
        code(&["settings", "set", p, "health-dead-letters-degraded", "99"]),
        2
    );
    assert_eq!(
        code(&["settings", "set", p, "health-backups-expected", "maybe"]),
        2
    );
    assert_eq!(
        json(&["settings", "show", p, "--json"])["health"]["dead_letters_degraded"],
        5
    );
    // With one dead letter and a threshold of 5, health is healthy; at 1, degraded.
    {
        let store = Store::open(&path, Options::new()).unwrap();
        let d = NewDeadLetter::new("acme", "email", b"x".to_vec()).permanent(true);
        store.dead_letters().record(d, Durability::Durable).unwrap();
        store.close().unwrap();
    }
    let healthy_but_backups = run(&["health", p, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&healthy_but_backups.stdout).unwrap();
    let dl = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dead_letters")
        .unwrap()
        .clone();
    assert_eq!(dl["status"], "healthy");
    json(&[
        "settings",
        "set",
        p,
        "health-dead-letters-degraded",
        "1",
        "--json",
    ]);
    let v: serde_json::Value =
        serde_json::from_slice(&run(&["health", p, "--json"]).stdout).unwrap();
    let dl = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dead_letters")
        .unwrap()
        .clone();
    assert_eq!(dl["status"], "degraded");
}

#[test]
fn rate_limits_define_check_list_and_remove() {
    let dir = common::TempDir::new("cli-rate-limits");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    drop(Store::open(&path, Options::new()).unwrap());
    let d = json(&[
        "rate-limits",
        "define",
        p,
        "acme",
        "login",
        "--count",
        "3",
        "--period",
        "1m",
        "--json",
    ]);
    assert_eq!(d["burst"], 3);
    for left in [2, 1, 0] {
        let c = json(&[
            "rate-limits",
            "check",
            p,
            "acme",
            "login",
            "1.2.3.4",
            "--cost",
            "1",
            "--json",
        ]);
        assert_eq!(
            (c["allowed"].as_bool(), c["remaining"].as_u64()),
            (Some(true), Some(left))
        );
    }
    // Each run was its own open: the keys lived across closes.
    let c = json(&[
        "rate-limits",
        "check",
        p,
        "acme",
        "login",
        "1.2.3.4",
        "--cost",
        "1",
        "--json",
    ]);
    assert_eq!(c["allowed"], false);
    assert!(c["retry_after_us"].as_u64().unwrap() > 0);
    let peek = json(&[
        "rate-limits",
        "check",
        p,
        "acme",
        "login",
        "1.2.3.4",
        "--json",
    ]);
    assert_eq!(peek["remaining"], 0, "cost 0 reads");
    let l = json(&["rate-limits", "list", p, "--json"]);
    assert_eq!(l[0]["name"], "login");
    let r = json(&["rate-limits", "remove", p, "acme", "login", "--json"]);
    assert_eq!(r["keys_deleted"], 1);
    assert_ne!(code(&["rate-limits", "check", p, "acme", "login", "k"]), 0);
    assert_ne!(
        code(&[
            "rate-limits",
            "define",
            p,
            "acme",
            "x",
            "--count",
            "0",
            "--period",
            "1m"
        ]),
        0
    );
}

#[test]
fn ip_rules_put_check_list_remove_and_a_purge_that_asks_first() {
    let dir = common::TempDir::new("cli-ip-rules");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    drop(Store::open(&path, Options::new()).unwrap());
    json(&[
        "ip-rules",
        "put",
        p,
        "10.0.0.0/8",
        "--action",
        "deny",
        "--reason",
        "internal",
        "--json",
    ]);
    let put = json(&[
        "ip-rules",
        "put",
        p,
        "10.1.0.0/16",
        "--action",
        "allow",
        "--tenant",
        "acme",
        "--json",
    ]);
    assert_eq!(put["replaced"], false);
    let v = json(&["ip-rules", "check", p, "acme", "10.1.2.3", "--json"]);
    assert_eq!(
        (v["allowed"].as_bool(), v["rule"]["cidr"].as_str()),
        (Some(true), Some("10.1.0.0/16"))
    );
    let v = json(&["ip-rules", "check", p, "other", "10.1.2.3", "--json"]);
    assert_eq!(
        (v["allowed"].as_bool(), v["rule"]["global"].as_bool()),
        (Some(false), Some(true))
    );
    let l = json(&["ip-rules", "list", p, "--json"]);
    assert_eq!(
        (l[0]["cidr"].as_str(), l[0]["reason"].as_str()),
        (Some("10.0.0.0/8"), Some("internal"))
    );
    json(&[
        "ip-rules",
        "remove",
        p,
        "10.1.0.0/16",
        "--tenant",
        "acme",
        "--json",
    ]);
    let v = json(&["ip-rules", "check", p, "acme", "10.1.2.3", "--json"]);
    assert_eq!(v["allowed"], false);
    assert_ne!(
        code(&["ip-rules", "put", p, "10.0.0.1/8", "--action", "deny"]),
        0
    );
    assert_ne!(code(&["ip-rules", "check", p, "acme", "10.0.0"]), 0);
    let none = json(&["ip-rules", "purge-expired", p, "--json"]);
    assert_eq!(none["purged"], 0);
}

#[test]
fn sealing_keys_and_a_shred_that_asks_first() {
    let dir = common::TempDir::new("cli-sealing");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    let keys = hardstore::sealing::Keyset::new().with(1, [4; 32]);
    let store = Store::open(&path, Options::new().sealing_keys(keys.clone())).unwrap();
    store.sealing().add_key(1).unwrap();
    let f = store.sealing().seal("user:1", b"x").unwrap();
    store.close().unwrap();
    let k = json(&["sealing", "keys", p, "--json"]);
    assert_eq!(
        (
            k[0]["id"].as_u64(),
            k[0]["primary"].as_bool(),
            k[0]["subjects"].as_u64()
        ),
        (Some(1), Some(true), Some(1))
    );
    assert_ne!(code(&["sealing", "shred", p, "user:1"]), 0, "asks first");
    let store = Store::open(&path, Options::new().sealing_keys(keys.clone())).unwrap();
    assert_eq!(store.sealing().open(&f).unwrap(), b"x", "nothing changed");
    store.close().unwrap();
    let s = json(&[
        "sealing",
        "shred",
        p,
        "user:1",
        "--confirm-evict",
        "1",
        "--json",
    ]);
    assert_eq!(s["shredded"], true);
    let store = Store::open(&path, Options::new().sealing_keys(keys)).unwrap();
    assert!(matches!(
        store.sealing().open(&f),
        Err(hardstore::Error::Shredded(_))
    ));
}

#[test]
fn webhooks_counts_endpoint_remove_and_verify() {
    let dir = common::TempDir::new("cli-webhooks");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    let secret = hardstore::webhooks::Secret::generate().unwrap();
    let store = Store::open(&path, Options::new()).unwrap();
    store
        .webhooks()
        .put_endpoint(
            "acme",
            "orders",
            "https://acme.example/h",
            std::slice::from_ref(&secret),
        )
        .unwrap();
    store
        .webhooks()
        .enqueue(
            "acme",
            "orders",
            "t",
            b"{\"a\":1}",
            hardstore::Durability::Durable,
        )
        .unwrap();
    let d = store
        .webhooks()
        .claim_due(1, std::time::Duration::from_secs(1))
        .unwrap()
        .remove(0);
    store.close().unwrap();
    let c = json(&["webhooks", "counts", p, "--json"]);
    assert_eq!(c["pending"], 1);
    let e = json(&["webhooks", "endpoint", p, "acme", "orders", "--json"]);
    assert_eq!(
        (e["enabled"].as_bool(), e["secrets"].as_u64()),
        (Some(true), Some(1))
    );
    assert!(
        !String::from_utf8_lossy(&run(&["webhooks", "endpoint", p, "acme", "orders"]).stdout)
            .contains("whsec_")
    );
    assert_ne!(
        code(&["webhooks", "remove", p, "acme", "orders"]),
        0,
        "asks first"
    );
    let body = dir.file("body.json");
    std::fs::write(&body, &d.payload).unwrap();
    let verify = |payload: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_hardstore"))
            .args([
                "webhooks",
                "verify",
                "--id",
                &d.headers[0].1,
                "--timestamp",
                &d.headers[1].1,
                "--signature",
                &d.headers[2].1,
                "--payload-file",
            ])
            .arg(payload)
            .env("WEBHOOK_SECRET", secret.to_text())
            .output()
            .unwrap()
            .status
            .code()
            .unwrap()
    };
    assert_eq!(verify(&body), 0);
    let edited = dir.file("edited.json");
    std::fs::write(&edited, b"{\"a\":2}").unwrap();
    assert_ne!(verify(&edited), 0);
    let r = json(&[
        "webhooks",
        "remove",
        p,
        "acme",
        "orders",
        "--confirm-evict",
        "1",
        "--json",
    ]);
    assert_eq!(r["messages_deleted"], 1);
}

#[test]
fn audit_archive_then_a_prune_that_asks_first() {
    let dir = common::TempDir::new("cli-audit-prune");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    let store = Store::open(&path, Options::new()).unwrap();
    for i in 0..10 {
        store
            .audit()
            .append(
                hardstore::AuditEvent::new("acme", "x").actor(format!("u{i}")),
                hardstore::Durability::Durable,
            )
            .unwrap();
    }
    store.close().unwrap();
    let archive = dir.file("a.jsonl");
    let a = archive.to_str().unwrap();
    assert_eq!(code(&["audit", "archive", p, "--out", a, "--to", "4"]), 0);
    assert_eq!(
        std::fs::read_to_string(&archive).unwrap().lines().count(),
        5,
        "header + 4"
    );
    assert_ne!(
        code(&["audit", "archive", p, "--out", a, "--to", "4"]),
        0,
        "never replaces"
    );
    assert_ne!(
        code(&["audit", "prune", p, "--below-seq", "4"]),
        0,
        "asks first"
    );
    assert_ne!(
        code(&["audit", "prune", p, "--confirm-evict", "9"]),
        0,
        "a bound is needed"
    );
    let r = json(&[
        "audit",
        "prune",
        p,
        "--below-seq",
        "4",
        "--confirm-evict",
        "4",
        "--json",
    ]);
    assert_eq!(r["pruned"], 4);
    assert_eq!(code(&["audit", "verify", p]), 0);
    let store = Store::open(&path, Options::new()).unwrap();
    assert!(store.audit().get(3).unwrap().pruned.is_some());
}

#[test]
fn tlog_keygen_sign_cosign_verify_and_bundle() {
    let dir = common::TempDir::new("cli-tlog");
    let path = dir.file("s.hs");
    let store = Store::open(
        &path,
        Options::new().audit_hash(hardstore::AuditHash::Sha256),
    )
    .unwrap();
    for i in 0..5 {
        store
            .audit()
            .append(
                hardstore::AuditEvent::new("acme", format!("a{i}")),
                Durability::Durable,
            )
            .unwrap();
    }
    store.close().unwrap();
    let p = path.to_str().unwrap();
    let (lk, wk) = (dir.file("log.key"), dir.file("w.key"));
    let (lk, wk) = (lk.to_str().unwrap(), wk.to_str().unwrap());
    assert_eq!(json(&["info", p, "--json"])["audit"]["hash"], "sha256");
    let vkey = text(&["tlog", "keygen", "example.com/log", "--out", lk]);
    let vkey = vkey.trim();
    let wvkey = text(&["tlog", "keygen", "w.example/1", "--witness", "--out", wk]);
    let wvkey = wvkey.trim();
    // keygen never replaces a key file.
    assert_ne!(code(&["tlog", "keygen", "example.com/log", "--out", lk]), 0);
    let note = dir.file("cp.note");
    std::fs::write(&note, text(&["tlog", "sign", p, "--key", lk])).unwrap();
    let n = note.to_str().unwrap();
    let cosigned = dir.file("cp2.note");
    std::fs::write(
        &cosigned,
        text(&["tlog", "cosign", n, "--key", wk, "--time", "1767225600"]),
    )
    .unwrap();
    let c = cosigned.to_str().unwrap();
    let v = json(&[
        "tlog",
        "verify",
        c,
        "--vkey",
        vkey,
        "--witness",
        wvkey,
        "--quorum",
        "1",
        "--json",
    ]);
    assert_eq!(v["size"], 5);
    assert_eq!(v["cosigned_by"][0]["time"], 1767225600u64);
    assert_eq!(
        code(&[
            "tlog",
            "verify",
            n,
            "--vkey",
            vkey,
            "--witness",
            wvkey,
            "--quorum",
            "1"
        ]),
        4,
        "no cosignature: quorum not met"
    );
    assert_eq!(
        code(&["tlog", "verify", c, "--vkey", wvkey]),
        2,
        "a witness key"
    );
    let bundle = dir.file("e.tlog-proof");
    std::fs::write(
        &bundle,
        text(&["tlog", "bundle", p, "3", "--checkpoint", c]),
    )
    .unwrap();
    let b = bundle.to_str().unwrap();
    let v = json(&[
        "tlog",
        "verify-bundle",
        b,
        "--vkey",
        vkey,
        "--witness",
        wvkey,
        "--quorum",
        "1",
        "--json",
    ]);
    assert_eq!(v["index"], 3);
    assert_eq!(
        code(&[
            "tlog",
            "verify-bundle",
            b,
            "--vkey",
            vkey,
            "--hash",
            "blake3"
        ]),
        4
    );
}

#[test]
fn replica_show_and_restore() {
    let dir = common::TempDir::new("cli-replica");
    let bucket = dir.file("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    let url = format!("file://{}", bucket.display());
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    store
        .replicate(
            &url,
            hardstore::ReplicateOptions {
                lag: Duration::from_millis(50),
            },
        )
        .unwrap();
    for i in 0..7 {
        store
            .audit()
            .append(
                AuditEvent::new("acme", format!("a{i}")),
                Durability::Durable,
            )
            .unwrap();
    }
    assert!(store.wait_replicated(Duration::from_secs(30)).unwrap());
    store.close().unwrap();
    let v = json(&["replica", "show", &url, "--json"]);
    assert!(v["segments"].as_u64().unwrap() >= 1, "{v}");
    let out = dir.file("r.hs");
    let o = out.to_str().unwrap();
    let r = json(&["replica", "restore", &url, "--to", o, "--json"]);
    assert_eq!(r["audit"]["size"], 7);
    assert_ne!(
        code(&["replica", "restore", &url, "--to", o]),
        0,
        "never over a file"
    );
    assert_eq!(json(&["info", o, "--json"])["audit"]["size"], 7);
    let empty = dir.file("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = format!("file://{}", empty.display());
    assert_eq!(code(&["replica", "show", &e]), 5);
}
