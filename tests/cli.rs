//! The `hardstore` command line, run as a process against a store made through the
//! library: every command group, `--json` output, exit codes.
#![cfg(feature = "cli")]

mod common;

use std::process::{Command, Output};

use hardstore::dead_letters::NewDeadLetter;
use hardstore::logs::Level;
use hardstore::{AuditEvent, Checkpoint, Durability, LogRecord, ManualClock, Options, Store};

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

/// 2026-12-03T09:31:52.123456Z in microseconds since the epoch.
const T0: u64 = 1_796_290_312_123_456;
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

#[test]
fn every_command_group_answers_in_json_with_exit_codes() {
    let dir = common::TempDir::new("cli");
    let path = dir.file("app.hs");
    let p = path.to_str().unwrap();
    {
        let store = Store::open(&path, Options::new()).unwrap();
        for i in 0..30 {
            let level = if i % 10 == 0 {
                Level::Error
            } else {
                Level::Info
            };
            common::audit_and_log(&store, i, level, format!("line {i}"));
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
        let hardstore::Begin::Started(t) = store
            .idempotency()
            .begin(
                "acme",
                "order-1",
                b"POST",
                std::time::Duration::from_secs(60),
            )
            .unwrap()
        else {
            panic!("starts")
        };
        store.idempotency().complete(&t, Some(201), b"ok").unwrap();
        store.close().unwrap();
    }

    let info = json(&["info", p, "--json"]);
    assert_eq!(info["audit"]["size"], 30);
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
        let hardstore::Begin::Started(t) = store
            .idempotency()
            .begin(
                "acme",
                "order-1",
                b"POST",
                std::time::Duration::from_secs(60),
            )
            .unwrap()
        else {
            panic!("starts")
        };
        store.idempotency().complete(&t, Some(201), b"ok").unwrap();
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
        let hardstore::Begin::Started(t) = store
            .idempotency()
            .begin(
                "acme",
                "order-1",
                b"POST",
                std::time::Duration::from_secs(60),
            )
            .unwrap()
        else {
            panic!("starts")
        };
        store.idempotency().complete(&t, Some(201), b"ok").unwrap();
        let e = AuditEvent::new("acme", "order.paid").actor("user:1");
        store.audit().append(e, Durability::Durable).unwrap();
        let r = LogRecord::new(Level::Info, "request done");
        store.logs().append(r, Durability::Durable).unwrap();
        store.restore_points().create("before").unwrap();
        store.close().unwrap();
    }
    let t0 = "2026-12-03T09:31:52.123456Z";
    let idem = text(&["idem", "get", p, "order-1", "--tenant", "acme"]);
    assert!(
        idem.contains(&format!(
            "created {t0}, expires 2026-12-04T09:31:52.123456Z"
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
    let since = "2026-12-03T09:31:53.123456Z";
    let until = (T0 + 4 * SEC).to_string();
    let range = audit_query(p, &["--since", since, "--until", &until]);
    assert_eq!(seqs(&range), [3, 2, 1]);
    let shifted = audit_query(p, &["--since", "2026-12-03T10:31:53.123456+01:00"]);
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
    let since = "2026-12-03T09:31:54.123456Z";
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
    let since = "2026-12-03T09:31:54.123456Z";
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
