//! Exactly once under kill -9. A child process serves a stream of requests from 4
//! threads; each request is `begin`, then one durable write holding an app-state
//! increment, an audit entry and the completion. The parent kills the child at random
//! moments and resends every request whose answer it did not see. At the end every
//! request's increment was applied exactly once, every answer to a request was the same
//! bytes, and the audit log verifies. 20 kill cycles by default (HARDSTORE_CRASH_CYCLES).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use hardstore::{AuditEvent, Begin, Durability, Options, Store};

const CHILD_ENV: &str = "HARDSTORE_EXACTLY_ONCE_CHILD";
const REQUESTS: u64 = 5_000;
/// Short, so a request begun by a killed child is taken over quickly after a restart.
const LEASE: Duration = Duration::from_millis(150);

fn handle(store: &Store, i: u64) -> String {
    let key = format!("req-{i}");
    let request = format!("POST /orders/{i}");
    loop {
        match store
            .idempotency()
            .begin("shop", &key, request.as_bytes(), LEASE)
            .unwrap()
        {
            Begin::Replay(r) => return String::from_utf8(r.body).unwrap(),
            Begin::InProgress { retry_after } => std::thread::sleep(retry_after),
            Begin::Mismatch => panic!("request {i}: mismatch"),
            Begin::Started(token) => {
                let res = store.write(Durability::Durable, move |tx| {
                    let ik = i.to_be_bytes();
                    let n = tx.kv_get("applied", &ik)?.map_or(0, |v| v[0]) + 1;
                    tx.kv_put("applied", &ik, &[n])?;
                    let total = tx
                        .kv_get("shop", b"total")?
                        .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()))
                        + 1;
                    tx.kv_put("shop", b"total", &total.to_be_bytes())?;
                    tx.audit_append(
                        &AuditEvent::new("shop", "order.placed").resource(format!("order/{i}")),
                    )?;
                    let body = format!("order {i} is number {total}");
                    tx.idem_complete(&token, Some(201), body.as_bytes())?;
                    Ok(body)
                });
                match res {
                    Ok(body) => return body,
                    // Our lease ran out and another thread took over: ask again.
                    Err(hardstore::Error::Fenced(_)) => continue,
                    Err(e) => panic!("request {i}: {e}"),
                }
            }
        }
    }
}

/// The child's body; a no-op unless the parent started this binary as the child.
#[test]
fn exactly_once_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = Store::open(&path, Options::new()).unwrap();
    let (tx, rx) = mpsc::channel::<u64>();
    let rx = Arc::new(Mutex::new(rx));
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (store, rx, out) = (store.clone(), rx.clone(), out.clone());
            std::thread::spawn(move || loop {
                let next = rx.lock().unwrap().recv();
                let Ok(i) = next else { return };
                let body = handle(&store, i);
                let mut o = out.lock().unwrap();
                writeln!(o, "ANS {i} {body}").unwrap();
                o.flush().unwrap();
            })
        })
        .collect();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        tx.send(line.trim().parse().unwrap()).unwrap();
    }
    drop(tx);
    for w in workers {
        w.join().unwrap();
    }
    store.close().unwrap();
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Sends every unanswered request to a new child and collects answers; with `kill`, kills
/// it at a random moment after its first answer, else waits for all answers.
fn serve(
    path: &std::path::Path,
    answers: &mut BTreeMap<u64, Vec<String>>,
    rng: &mut Rng,
    kill: bool,
) -> usize {
    let mut pending: Vec<u64> = (0..REQUESTS).filter(|i| !answers.contains_key(i)).collect();
    // A few requests already answered are resent too: their answers must replay.
    let answered: Vec<u64> = answers.keys().copied().collect();
    for _ in 0..answered.len().min(20) {
        pending.insert(0, answered[rng.next() as usize % answered.len()]);
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "exactly_once_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if kill {
            Stdio::null()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Some requests are sent twice at once: a client retrying before its first answer.
    let mut lines = String::new();
    for &i in &pending {
        lines.push_str(&format!("{i}\n"));
        if rng.next().is_multiple_of(8) {
            lines.push_str(&format!("{i}\n"));
        }
    }
    stdin.write_all(lines.as_bytes()).unwrap();
    let stdin = if kill {
        Some(stdin)
    } else {
        drop(stdin);
        None
    };
    let (tx, rx) = mpsc::channel::<(u64, String)>();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest may print "test exactly_once_child ... " on the same line first.
            if let Some(rest) = line.find("ANS ").map(|at| &line[at + 4..]) {
                let (i, body) = rest.split_once(' ').unwrap();
                let _ = tx.send((i.parse().unwrap(), body.to_string()));
            }
        }
    });
    let mut got = 0;
    let mut record = |(i, body): (u64, String)| {
        answers.entry(i).or_default().push(body);
        got += 1;
    };
    if kill {
        if let Ok(a) = rx.recv_timeout(Duration::from_secs(30)) {
            record(a);
        }
        let deadline = Instant::now() + Duration::from_millis(5 + rng.next() % 120);
        while Instant::now() < deadline {
            if let Ok(a) = rx.recv_timeout(Duration::from_millis(1)) {
                record(a);
            }
        }
        child.kill().unwrap(); // SIGKILL
    }
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    rx.try_iter().for_each(&mut record);
    assert!(kill || status.success(), "the last child failed: {status}");
    got
}

#[test]
fn every_request_is_applied_exactly_once_across_kill_9() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let cycles: usize = std::env::var("HARDSTORE_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = common::TempDir::new("exactly-once");
    let path = dir.file("shop.hs");
    let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ std::process::id() as u64);
    let mut answers: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut killed_answers = 0;
    // Once every request has an answer, later cycles resend answered ones only: they
    // are killed while replaying.
    for _ in 0..cycles {
        killed_answers += serve(&path, &mut answers, &mut rng, true);
    }
    let before_last = answers.len();
    serve(&path, &mut answers, &mut rng, false);
    assert_eq!(answers.len() as u64, REQUESTS, "every request answered");

    let store = Store::open(&path, Options::new()).unwrap();
    for i in 0..REQUESTS {
        let applied = store.kv_get("applied", &i.to_be_bytes()).unwrap();
        assert_eq!(applied, Some(vec![1]), "request {i} applied once");
        let seen = &answers[&i];
        assert!(
            seen.iter().all(|b| b == &seen[0]),
            "request {i}: answers differ: {seen:?}"
        );
    }
    let total = store.kv_get("shop", b"total").unwrap().unwrap();
    assert_eq!(u64::from_be_bytes(total.try_into().unwrap()), REQUESTS);
    assert_eq!(store.audit().size().unwrap(), REQUESTS);
    let report = store.audit().verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    println!(
        "{cycles} kill -9 cycles: {killed_answers} answers before kills, {before_last} requests answered before the last run; all {REQUESTS} applied exactly once"
    );
}
