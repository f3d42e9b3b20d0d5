//! Full backups: taken while writers run, verified end to end, restored into a new store
//! whose every area equals the snapshot and whose audit log verifies with the same root.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hardstore::dead_letters::NewDeadLetter;
use hardstore::logs::{Level, LogRecord};
use hardstore::{backup, Begin, Durability, Error, Options, Store};

fn fill(store: &Store, n: u64) -> u64 {
    for i in 0..n {
        store
            .audit()
            .append(common::event(i), Durability::Buffered)
            .unwrap();
        store
            .logs()
            .append(
                LogRecord::new(Level::Info, format!("line {i}")),
                Durability::Buffered,
            )
            .unwrap();
        store
            .kv_put("app", &i.to_le_bytes(), b"value", Durability::Buffered)
            .unwrap();
    }
    let Begin::Started(t) = store
        .idempotency()
        .begin("acme", "order-1", b"POST /orders", Duration::from_secs(60))
        .unwrap()
    else {
        panic!("a fresh key starts")
    };
    store
        .idempotency()
        .complete(&t, Some(201), b"created")
        .unwrap();
    store
        .dead_letters()
        .record(
            NewDeadLetter::new("acme", "email", b"payload".to_vec()),
            Durability::Durable,
        )
        .unwrap()
}

#[test]
fn a_full_backup_taken_under_writes_restores_every_area() {
    let dir = common::TempDir::new("backup-full");
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    let dlq_id = fill(&store, 200);
    // A writer keeps going while the backup runs: the snapshot is one consistent state.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                store
                    .audit()
                    .append(common::event(1000 + i), Durability::Buffered)
                    .unwrap();
                i += 1;
            }
        })
    };
    let info = store.backups().full(dir.file("full.hsb")).unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(info.audit_size >= 200);
    assert_eq!(info.store_id, store.id());
    assert_eq!(
        store.audit().root(info.audit_size).unwrap(),
        info.audit_root
    );
    assert!(!dir.file("full.hsb.partial").exists());
    assert_eq!(backup::verify(dir.file("full.hsb")).unwrap(), info);

    let restored =
        backup::restore(dir.file("full.hsb"), dir.file("new.hs"), &Options::new()).unwrap();
    assert_eq!(restored, info);
    let copy = Store::open(dir.file("new.hs"), Options::new()).unwrap();
    assert_ne!(copy.id(), store.id(), "a restored store is another store");
    assert_eq!(copy.audit().size().unwrap(), info.audit_size);
    let report = copy.audit().verify().unwrap();
    assert_eq!(report.root, info.audit_root);
    assert_eq!(
        copy.kv_get("app", &7u64.to_le_bytes()).unwrap().as_deref(),
        Some(&b"value"[..])
    );
    assert_eq!(copy.logs().len().unwrap(), store.logs().len().unwrap());
    match copy
        .idempotency()
        .begin("acme", "order-1", b"POST /orders", Duration::from_secs(60))
        .unwrap()
    {
        Begin::Replay(r) => assert_eq!(r.body, b"created"),
        other => panic!("the completed key replays, got {other:?}"),
    }
    assert_eq!(copy.dead_letters().get(dlq_id).unwrap().payload, b"payload");
    // The restored store takes new writes.
    copy.kv_put("app", b"after", b"1", Durability::Durable)
        .unwrap();
}

#[test]
fn a_damaged_backup_is_refused_and_restores_nothing() {
    let dir = common::TempDir::new("backup-bad");
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    fill(&store, 20);
    let path = dir.file("full.hsb");
    store.backups().full(&path).unwrap();
    assert!(matches!(
        store.backups().full(&path),
        Err(Error::InvalidArgument(_))
    ));
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(backup::verify(&path), Err(Error::Corrupted(_))));
    let out = dir.file("new.hs");
    assert!(matches!(
        backup::restore(&path, &out, &Options::new()),
        Err(Error::Corrupted(_))
    ));
    assert!(!out.exists());
    assert!(!dir.file("new.hs.partial").exists());
    bytes[mid] ^= 0x10;
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let err = backup::verify(&path).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

const CHILD_ENV: &str = "HARDSTORE_BACKUP_CHILD";

/// The child's body; a no-op unless the kill -9 test started this binary as the child.
/// It takes full backups of its store, one after another, reporting each finished one.
#[test]
fn backup_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let store = Store::open(dir.join("src.hs"), Options::new()).unwrap();
    for n in 0.. {
        let path = dir.join(format!("b-{}-{n}.hsb", std::process::id()));
        store.backups().full(&path).unwrap();
        println!("DONE {}", path.display());
    }
}

#[test]
fn kill_9_during_backups_leaves_only_complete_verified_files() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let dir = common::TempDir::new("backup-kill");
    {
        let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
        store
            .write(Durability::Durable, |tx| {
                for i in 0..3_000u64 {
                    tx.kv_put("app", &i.to_le_bytes(), &[7u8; 1_000])?;
                }
                Ok(())
            })
            .unwrap();
        fill(&store, 50);
        store.close().unwrap();
    }
    let mut killed_mid_write = std::collections::HashSet::new();
    for cycle in 0..6u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "backup_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait for the first finished backup, then kill at a moment that moves each cycle.
        let done = lines.any(|l| l.is_ok_and(|l| l.starts_with("DONE ")));
        assert!(done, "cycle {cycle}: the child never finished a backup");
        std::thread::sleep(Duration::from_millis(3 + cycle * 7));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let mut complete = 0;
        for entry in std::fs::read_dir(&dir.0).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".hsb") {
                backup::verify(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
                complete += 1;
            } else if name.ends_with(".hsb.partial") {
                // A killed backup stays under its temporary name (it may be whole if the
                // kill came between its sync and its rename).
                if backup::verify(&path).is_err() {
                    killed_mid_write.insert(name);
                }
            }
        }
        assert!(complete > 0, "cycle {cycle}");
        // The next run succeeds on the same store.
        let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
        let next = dir.file(&format!("next-{cycle}.hsb"));
        store.backups().full(&next).unwrap();
        store.close().unwrap();
        backup::verify(&next).unwrap();
    }
    eprintln!("{} backups were killed mid-write", killed_mid_write.len());
}
