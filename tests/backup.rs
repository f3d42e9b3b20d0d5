//! Backups: full ones taken while writers run; incremental and differential chains that
//! capture overwrites and deletes; encryption; the catalog, retention and the schedule;
//! kill -9 during backup runs. Every restore is compared, row for row, with the source.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hardstore::dead_letters::NewDeadLetter;
use hardstore::fuzzing::{backed_up_digest, backed_up_digest_of_file};
use hardstore::logs::{Level, LogRecord};
use hardstore::{
    backup, BackupKey, BackupKind, BackupOptions, BackupResult, Begin, Durability, Error,
    ManualClock, Options, Retention, Schedule, Store,
};

fn fill(store: &Store, n: u64) -> u64 {
    for i in 0..n {
        common::audit_and_log(store, i, Level::Info, format!("line {i}"));
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
/// It runs cataloged backups into `<dir>/backups` (full, incremental, differential in
/// turn) while writing, one after another, reporting each finished one.
#[test]
fn backup_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let store = Store::open(dir.join("src.hs"), Options::new()).unwrap();
    let kinds = [
        BackupKind::Full,
        BackupKind::Incremental,
        BackupKind::Differential,
    ];
    for n in 0u64.. {
        store
            .kv_put(
                "app",
                &(n % 3_000).to_le_bytes(),
                &[n as u8; 1_000],
                Durability::Durable,
            )
            .unwrap();
        let rec = store
            .backups()
            .run(
                kinds[n as usize % 3],
                dir.join("backups"),
                &BackupOptions::default(),
            )
            .unwrap();
        println!("DONE {}", rec.file);
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
    std::fs::create_dir_all(dir.file("backups")).unwrap();
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
        for entry in std::fs::read_dir(dir.file("backups")).unwrap() {
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
        let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
        // No run the catalog calls complete lacks its file, and a killed run is not
        // listed as complete.
        let listed = store.backups().list().unwrap();
        for r in &listed {
            match r.result {
                BackupResult::Ok => {
                    let info = backup::verify(r.path()).unwrap();
                    assert_eq!((info.backup_id, Some(info.digest)), (r.id, r.digest));
                }
                BackupResult::Interrupted => {}
                other => panic!("cycle {cycle}: run {} is {other:?}", r.id),
            }
        }
        // Every complete run restores, through its chain.
        let last_ok = listed
            .iter()
            .rev()
            .find(|r| r.result == BackupResult::Ok)
            .unwrap();
        let chain = store.backups().chain(last_ok.id).unwrap();
        backup::verify_chain(&chain, None).unwrap();
        // The next run succeeds on the same store.
        let next = store
            .backups()
            .run(
                BackupKind::Incremental,
                dir.file("backups"),
                &BackupOptions::default(),
            )
            .unwrap();
        assert_eq!(next.result, BackupResult::Ok);
        // The killed run's file (even one renamed into place before the kill) is gone.
        for r in store.backups().list().unwrap() {
            if r.result == BackupResult::Interrupted {
                assert!(!r.path().exists(), "cycle {cycle}: {}", r.file);
                assert!(!std::path::Path::new(&format!("{}.partial", r.file)).exists());
            }
        }
        let before = backed_up_digest(&store).unwrap();
        store.close().unwrap();
        let out = dir.file(&format!("restored-{cycle}.hs"));
        backup::restore_chain(&store_chain(&dir, next.id), &out, &Options::new(), None).unwrap();
        assert_eq!(
            backed_up_digest_of_file(&out).unwrap(),
            before,
            "cycle {cycle}"
        );
    }
    eprintln!("{} backups were killed mid-write", killed_mid_write.len());
}

/// The chain of backup `id`, read from the catalog of the (closed) store in `dir`.
fn store_chain(dir: &common::TempDir, id: u64) -> Vec<std::path::PathBuf> {
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    let chain = store.backups().chain(id).unwrap();
    store.close().unwrap();
    chain
}

/// Overwrites, deletes and appends in every area: what an incremental must capture.
fn churn(store: &Store, round: u64) {
    store
        .write(Durability::Durable, move |tx| {
            for i in 0..50u64 {
                tx.kv_put("app", &(i * 3 + round).to_le_bytes(), &round.to_le_bytes())?;
            }
            for i in 0..10u64 {
                tx.kv_delete("app", &(i * 7 + round).to_le_bytes())?;
            }
            Ok(())
        })
        .unwrap();
    for i in 0..20 {
        store
            .audit()
            .append(common::event(10_000 * round + i), Durability::Buffered)
            .unwrap();
        store
            .logs()
            .append(
                LogRecord::new(Level::Warn, format!("round {round} line {i}")),
                Durability::Buffered,
            )
            .unwrap();
    }
    let id = store
        .dead_letters()
        .record(
            NewDeadLetter::new("acme", "webhook", round.to_le_bytes().to_vec()),
            Durability::Durable,
        )
        .unwrap();
    store.dead_letters().purge(None).unwrap();
    let _ = id;
    store.flush().unwrap();
}

#[test]
fn incremental_and_differential_chains_restore_the_source_row_for_row() {
    let dir = common::TempDir::new("backup-chains");
    let folder = dir.file("backups");
    let opts = BackupOptions::default();
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    fill(&store, 300);
    let b = store.backups();
    let mut expect = Vec::new();
    let mut run = |kind, round: u64| {
        if round > 0 {
            churn(&store, round);
        }
        let r = b.run(kind, &folder, &opts).unwrap();
        assert_eq!((r.kind, r.result), (kind, BackupResult::Ok));
        expect.push((r.clone(), backed_up_digest(&store).unwrap()));
        r
    };
    let full = run(BackupKind::Full, 0);
    let inc1 = run(BackupKind::Incremental, 1);
    let diff = run(BackupKind::Differential, 2);
    let inc2 = run(BackupKind::Incremental, 3);
    assert_eq!(
        (inc1.base, diff.base, inc2.base),
        (Some(full.id), Some(full.id), Some(diff.id))
    );
    assert!(
        inc1.bytes * 5 < full.bytes,
        "{} vs {}",
        inc1.bytes,
        full.bytes
    );
    // A reopen changes the idempotency epoch outside any batch: still captured.
    store.close().unwrap();
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    let inc3 = store
        .backups()
        .run(BackupKind::Incremental, &folder, &opts)
        .unwrap();
    assert_eq!(inc3.base, Some(inc2.id));
    expect.push((inc3.clone(), backed_up_digest(&store).unwrap()));

    for (i, (rec, digest)) in expect.iter().enumerate() {
        let chain = store.backups().chain(rec.id).unwrap();
        let infos = backup::verify_chain(&chain, None).unwrap();
        assert_eq!(infos.last().unwrap().backup_id, rec.id);
        let out = dir.file(&format!("restored-{i}.hs"));
        let info = backup::restore_chain(&chain, &out, &Options::new(), None).unwrap();
        assert_eq!(info.audit_size, rec.audit_size);
        assert_eq!(
            &backed_up_digest_of_file(&out).unwrap(),
            digest,
            "chain of {}",
            rec.id
        );
        let copy = Store::open(&out, Options::new()).unwrap();
        assert_eq!(copy.audit().verify().unwrap().size, rec.audit_size);
        copy.close().unwrap();
    }
    assert_eq!(
        store.backups().chain(inc3.id).unwrap(),
        [&full, &diff, &inc2, &inc3].map(|r| r.path().to_path_buf())
    );

    // Wrong order, a missing link, a chain not starting with a full backup, a
    // differential after an incremental: each named, nothing restored.
    let p = |r: &hardstore::BackupRecord| r.path().to_path_buf();
    let out = dir.file("never.hs");
    for bad in [
        vec![p(&full), p(&inc2)],
        vec![p(&inc1)],
        vec![p(&full), p(&inc1), p(&diff)],
        vec![p(&full), p(&diff), p(&inc3)],
        vec![p(&diff), p(&full)],
    ] {
        let err = backup::verify_chain(&bad, None).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(err.to_string().contains("link"), "{err}");
        assert!(backup::restore_chain(&bad, &out, &Options::new(), None).is_err());
        assert!(!out.exists() && !dir.file("never.hs.partial").exists());
    }
    store.close().unwrap();
}

#[test]
fn an_encrypted_backup_needs_its_key() {
    let dir = common::TempDir::new("backup-key");
    let folder = dir.file("backups");
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    fill(&store, 50);
    let key = BackupKey::new(3, [0x5a; 32]);
    let opts = BackupOptions {
        key: Some(key.clone()),
        progress: None,
    };
    let full = store
        .backups()
        .run(BackupKind::Full, &folder, &opts)
        .unwrap();
    churn(&store, 1);
    let inc = store
        .backups()
        .run(BackupKind::Incremental, &folder, &opts)
        .unwrap();
    assert_eq!(inc.key_id, Some(3));
    let digest = backed_up_digest(&store).unwrap();
    // No plaintext row leaks into the file.
    let raw = std::fs::read(full.path()).unwrap();
    assert!(!raw
        .windows(9)
        .any(|w| w == b"line 1234" || w == b"HSBACKUP\x02"));

    let chain = store.backups().chain(inc.id).unwrap();
    let out = dir.file("new.hs");
    for wrong in [
        None,
        Some(BackupKey::new(3, [0x5b; 32])),
        Some(BackupKey::new(4, [0x5a; 32])),
    ] {
        let err = backup::verify_with(full.path(), wrong.as_ref()).unwrap_err();
        assert!(matches!(err, Error::WrongKey(_)), "{err}");
        let err = backup::restore_chain(&chain, &out, &Options::new(), wrong.as_ref()).unwrap_err();
        assert!(matches!(err, Error::WrongKey(_)), "{err}");
        assert!(!out.exists());
    }
    let info = backup::restore_chain(&chain, &out, &Options::new(), Some(&key)).unwrap();
    assert_eq!(info.key_id, Some(3));
    assert_eq!(backed_up_digest_of_file(&out).unwrap(), digest);
    // A flipped bit in an encrypted file is damage, not a wrong key.
    let mut bytes = std::fs::read(inc.path()).unwrap();
    let at = bytes.len() - 40;
    bytes[at] ^= 1;
    std::fs::write(inc.path(), &bytes).unwrap();
    let err = backup::verify_with(inc.path(), Some(&key)).unwrap_err();
    assert!(matches!(err, Error::Corrupted(_)), "{err}");
    store.close().unwrap();
}

#[test]
fn a_restore_point_restore_is_journaled_so_the_next_incremental_builds_on_the_full() {
    let dir = common::TempDir::new("backup-rp");
    let folder = dir.file("backups");
    let opts = BackupOptions::default();
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    fill(&store, 20);
    let point = store.restore_points().create("before").unwrap();
    let full = store
        .backups()
        .run(BackupKind::Full, &folder, &opts)
        .unwrap();
    churn(&store, 1);
    // The restore writes its rows through the write path: the change journal lists
    // them like any write, so an incremental copies just those.
    store.restore_points().restore(point.id, "ops").unwrap();
    assert_eq!(store.backups().list().unwrap().len(), 1);
    let next = store
        .backups()
        .run(BackupKind::Incremental, &folder, &opts)
        .unwrap();
    assert_eq!(
        (next.kind, next.base),
        (BackupKind::Incremental, Some(full.id))
    );
    let out = dir.file("after-restore.hs");
    let chain = store.backups().chain(next.id).unwrap();
    backup::restore_chain(&chain, &out, &Options::new(), None).unwrap();
    assert_eq!(
        backed_up_digest_of_file(&out).unwrap(),
        backed_up_digest(&store).unwrap()
    );
    churn(&store, 2);
    let inc = store
        .backups()
        .run(BackupKind::Incremental, &folder, &opts)
        .unwrap();
    assert_eq!(
        (inc.kind, inc.base),
        (BackupKind::Incremental, Some(next.id))
    );
    let out = dir.file("new.hs");
    let chain = store.backups().chain(inc.id).unwrap();
    backup::restore_chain(&chain, &out, &Options::new(), None).unwrap();
    assert_eq!(
        backed_up_digest_of_file(&out).unwrap(),
        backed_up_digest(&store).unwrap()
    );
    store.close().unwrap();
}

#[test]
fn retention_schedule_progress_and_success_rate() {
    let dir = common::TempDir::new("backup-schedule");
    let folder = dir.file("backups");
    let clock = ManualClock::new(1_000_000);
    let store = Store::open(dir.file("src.hs"), Options::new().clock(clock.clone())).unwrap();
    fill(&store, 30);
    let seen = Arc::new(parking_lot_free::Seen::default());
    let opts = BackupOptions {
        key: None,
        progress: Some({
            let seen = seen.clone();
            Arc::new(move |done, total| seen.push(done, total))
        }),
    };
    let b = store.backups();
    let sched = Schedule::default();
    let hour = 3_600_000_000u64;
    let mut kinds = Vec::new();
    // Three days of hourly checks.
    for _ in 0..72 {
        clock.advance(3_600_000_000);
        churn(&store, 1);
        if let Some(r) = b
            .run_due(store_now(&clock), &folder, &sched, &opts)
            .unwrap()
        {
            kinds.push(r.kind);
        }
        assert_eq!(
            b.run_due(store_now(&clock), &folder, &sched, &opts)
                .unwrap(),
            None
        );
    }
    let count = |k| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(count(BackupKind::Full), 3);
    assert_eq!(count(BackupKind::Incremental), 9);
    assert_eq!(count(BackupKind::Differential), 60);
    let (last_done, last_total) = seen.last();
    assert!(last_done == last_total && last_total > 0);

    // Forty days on: the default retention drops the fulls older than 30 days with
    // their chains, keeping the newest full's.
    clock.advance(40 * 24 * 3_600_000_000);
    let now = store_now(&clock);
    let all = b.list().unwrap();
    let would = b.prune(&Retention::default(), now, true).unwrap();
    assert_eq!(b.list().unwrap(), all, "a dry run deletes nothing");
    let newest_full = all
        .iter()
        .rev()
        .find(|r| r.kind == BackupKind::Full)
        .unwrap()
        .id;
    assert!(would.iter().all(|r| r.id < newest_full));
    assert_eq!(
        would.len(),
        all.iter().filter(|r| r.id < newest_full).count()
    );
    let gone = b.prune(&Retention::default(), now, false).unwrap();
    assert_eq!(gone, would);
    assert!(gone.iter().all(|r| !r.path().exists()));
    let left = b.list().unwrap();
    assert_eq!(left.len(), all.len() - gone.len());
    let last = left.last().unwrap();
    let chain = b.chain(last.id).unwrap();
    backup::restore_chain(&chain, dir.file("new.hs"), &Options::new(), None).unwrap();
    let rate = b.success_rate(0).unwrap();
    assert_eq!(
        (rate.ok as usize, rate.failed, rate.rate),
        (left.len(), 0, 1.0)
    );
    let _ = hour;
    store.close().unwrap();
}

fn store_now(clock: &ManualClock) -> u64 {
    use hardstore::Clock;
    clock.now()
}

#[test]
fn a_failed_run_is_cataloged_and_leaves_no_file() {
    let dir = common::TempDir::new("backup-fail");
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    fill(&store, 5);
    let folder = dir.file("backups");
    let opts = BackupOptions::default();
    // A folder that cannot be made: refused before anything is cataloged.
    std::fs::write(dir.file("not-a-folder"), b"x").unwrap();
    let err = store
        .backups()
        .run(BackupKind::Full, dir.file("not-a-folder"), &opts)
        .unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
    let full = store
        .backups()
        .run(BackupKind::Full, &folder, &opts)
        .unwrap();
    // Something already sits where the next run's file goes: that run fails.
    let taken = full.file.replace("00000001-full", "00000002-incremental");
    std::fs::create_dir(&taken).unwrap();
    let err = store
        .backups()
        .run(BackupKind::Incremental, &folder, &opts)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    let all = store.backups().list().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].result, BackupResult::Failed);
    assert!(all[1].error.as_deref().unwrap().contains("exists"));
    assert!(!std::path::Path::new(&format!("{taken}.partial")).exists());
    let rate = store.backups().success_rate(0).unwrap();
    assert_eq!((rate.ok, rate.failed, rate.rate), (1, 1, 0.5));
    // The next run builds on the last good one.
    let next = store
        .backups()
        .run(BackupKind::Incremental, &folder, &opts)
        .unwrap();
    assert_eq!(
        (next.kind, next.base),
        (BackupKind::Incremental, Some(full.id))
    );
    store.close().unwrap();
}

#[test]
fn the_schedule_thread_runs_backups_until_stopped() {
    let dir = common::TempDir::new("backup-thread");
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    fill(&store, 5);
    let handle = hardstore::ScheduleHandle::spawn(
        store.clone(),
        dir.file("backups"),
        Schedule::default(),
        BackupOptions::default(),
        Duration::from_millis(5),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while store.backups().list().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled backup ran"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    handle.stop();
    let all = store.backups().list().unwrap();
    assert_eq!(all.len(), 1, "one full is due, then nothing for an hour");
    assert_eq!(
        (all[0].kind, all[0].result),
        (BackupKind::Full, BackupResult::Ok)
    );
    store.close().unwrap();
}

/// Progress reports, recorded.
mod parking_lot_free {
    #[derive(Default)]
    pub struct Seen(std::sync::Mutex<Vec<(u64, u64)>>);

    impl Seen {
        pub fn push(&self, done: u64, total: u64) {
            self.0.lock().unwrap().push((done, total));
        }

        pub fn last(&self) -> (u64, u64) {
            *self.0.lock().unwrap().last().unwrap()
        }
    }
}
