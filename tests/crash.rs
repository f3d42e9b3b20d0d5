//! Kill -9: a child process appends durably from 4 threads (each append with a row of app
//! state) and reports each acknowledged seq on stdout; the parent kills it at a random
//! moment, reopens the store and checks that every acknowledged entry is there, the log
//! verifies, and a restore point taken then verifies (the state digest is the state's). 20 cycles by default
//! (HARDSTORE_CRASH_CYCLES to change).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hardstore::logs::{Level, LogQuery, LogRecord};
use hardstore::{AuditEvent, Durability, Options, Store};

const CHILD_ENV: &str = "HARDSTORE_CRASH_CHILD";
const LOG_CHILD_ENV: &str = "HARDSTORE_CRASH_LOG_CHILD";
const RING: u64 = 50;

/// The child's body; a no-op unless the parent started this binary as the child.
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = Store::open(&path, Options::new()).unwrap();
    let out = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = store.clone();
            let out = &out;
            s.spawn(move || loop {
                let ev = AuditEvent::new("crash", "append")
                    .actor(format!("thread-{t}"))
                    .resource("r");
                // With a row of app state (digested: restore points roll it back), so the
                // state digest has batches to recover too.
                let seq = store
                    .write(Durability::Durable, move |tx| {
                        let r = tx.audit_append(&ev)?;
                        tx.kv_put("crash", &(t as u64).to_le_bytes(), &r.seq.to_le_bytes())?;
                        Ok(r.seq)
                    })
                    .unwrap();
                let mut o = out.lock().unwrap();
                writeln!(o, "ACK {seq}").unwrap();
                o.flush().unwrap();
            });
        }
    });
}

/// The log child: appends to a small ring durably from 2 threads (and buffered from a
/// third), so the ring wraps many times per cycle.
#[test]
fn crash_log_child() {
    let Some(path) = std::env::var_os(LOG_CHILD_ENV) else {
        return;
    };
    let store = Store::open(&path, Options::new().log_capacity(RING)).unwrap();
    let out = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for t in 0..3 {
            let store = store.clone();
            let out = &out;
            s.spawn(move || loop {
                let rec = LogRecord::new(Level::Info, format!("t{t}")).field("t", t.to_string());
                if t == 2 {
                    store.logs().append(rec, Durability::Buffered).unwrap();
                    continue;
                }
                let seq = store.logs().append(rec, Durability::Durable).unwrap();
                let mut o = out.lock().unwrap();
                writeln!(o, "ACK {seq}").unwrap();
                o.flush().unwrap();
            });
        }
    });
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

fn cycles() -> usize {
    std::env::var("HARDSTORE_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some() || std::env::var_os(LOG_CHILD_ENV).is_some()
}

/// Starts the child test `name` on `path`, kills it at a random moment after its first
/// acknowledgement, and returns the seqs it acknowledged.
fn run_and_kill(
    name: &str,
    env: &str,
    path: &std::path::Path,
    rng: &mut Rng,
    cycle: usize,
) -> Vec<u64> {
    {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(env, path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<u64>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(seq) = line.strip_prefix("ACK ") {
                    let _ = tx.send(seq.parse().unwrap());
                }
            }
        });
        // Wait for the child to start appending, then kill it at a random moment.
        let first = rx.recv_timeout(Duration::from_secs(30));
        assert!(first.is_ok(), "cycle {cycle}: the child never appended");
        let mut acked = vec![first.unwrap()];
        let deadline = Instant::now() + Duration::from_millis(5 + rng.next() % 150);
        while Instant::now() < deadline {
            if let Ok(s) = rx.recv_timeout(Duration::from_millis(1)) {
                acked.push(s);
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        acked.extend(rx.try_iter());
        acked
    }
}

/// Whether the redo log holds a record: after its 24-byte header, the first record's
/// 12-byte header is not zeros (an emptied log has zeros there).
fn holds_a_record(redo: &std::ffi::OsStr) -> bool {
    let bytes = std::fs::read(redo).unwrap_or_default();
    bytes.iter().skip(24).take(12).any(|b| *b != 0)
}

#[test]
fn kill_9_never_loses_an_acknowledged_durable_append() {
    if in_child() {
        return;
    }
    let cycles = cycles();
    let dir = common::TempDir::new("crash");
    let path = dir.file("crash.hs");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ std::process::id() as u64);
    let mut acked_total = 0usize;
    let mut max_acked: Option<u64> = None;
    let mut recovered_from_redo = 0;
    for cycle in 0..cycles {
        let acked = run_and_kill("crash_child", CHILD_ENV, &path, &mut rng, cycle);
        // Durable appends acknowledged since the last checkpoint live in the redo log
        // only, until this open applies them.
        let mut redo = path.clone().into_os_string();
        redo.push(".redo");
        if holds_a_record(&redo) {
            recovered_from_redo += 1;
        }
        let store = Store::open(&path, Options::new()).unwrap();
        assert!(
            !holds_a_record(&redo),
            "open applies and empties the redo log"
        );
        let audit = store.audit();
        let size = audit.size().unwrap();
        for &seq in &acked {
            assert!(
                seq < size,
                "cycle {cycle}: acknowledged seq {seq} lost (size {size})"
            );
            let e = audit.get(seq).unwrap();
            assert_eq!((e.seq, e.tenant.as_str()), (seq, "crash"));
        }
        let report = audit.verify().unwrap();
        assert!(report.is_ok(), "cycle {cycle}: {report:?}");
        // The state digest a point records is the recovered state's: the digest is kept
        // at checkpoints only, so batches replayed from the redo log must be rescanned.
        let points = store.restore_points();
        let p = points.create("after a crash").unwrap();
        points
            .verify(p.id)
            .unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
        points.delete(p.id).unwrap();
        store.close().unwrap();
        acked_total += acked.len();
        max_acked = acked.iter().copied().max().max(max_acked);
    }
    assert!(
        recovered_from_redo > 0,
        "no cycle left work in the redo log: recovery was never exercised"
    );
    println!(
        "{cycles} kill -9 cycles ({recovered_from_redo} recovered from the redo log), {acked_total} acknowledged durable appends, none lost; highest seq {max_acked:?}"
    );
}

#[test]
fn kill_9_while_the_ring_wraps() {
    if in_child() {
        return;
    }
    let cycles = cycles();
    let dir = common::TempDir::new("crash-logs");
    let path = dir.file("ring.hs");
    let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ std::process::id() as u64);
    let mut acked_total = 0;
    for cycle in 0..cycles {
        let acked = run_and_kill("crash_log_child", LOG_CHILD_ENV, &path, &mut rng, cycle);
        let store = Store::open(&path, Options::new().log_capacity(RING)).unwrap();
        let (head, next) = store.logs().range().unwrap();
        assert!(
            next - head <= RING,
            "cycle {cycle}: {head}..{next} holds more than {RING}"
        );
        let page = store
            .logs()
            .query(&LogQuery::new().oldest_first(true).limit(1_000))
            .unwrap();
        let seqs: Vec<u64> = page.entries.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (head..next).collect::<Vec<_>>(),
            "cycle {cycle}: one contiguous run"
        );
        for e in &page.entries {
            assert_eq!(
                e.message,
                format!("t{}", e.fields[0].1),
                "cycle {cycle}: torn entry"
            );
        }
        for &seq in &acked {
            assert!(
                seq < next,
                "cycle {cycle}: acknowledged seq {seq} lost (next {next})"
            );
        }
        store.close().unwrap();
        acked_total += acked.len();
    }
    println!("{cycles} kill -9 cycles while a ring of {RING} wrapped: {acked_total} durable log appends acknowledged, none lost");
}
