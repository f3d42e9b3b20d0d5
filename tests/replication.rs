//! Replication to object storage: a store ships its batches to a `file://` target (and,
//! when `.ci/run` starts moto, to `s3://` on it: HARDSTORE_TEST_S3 names the bucket
//! URL), and a restore on a fresh path gets the same app state and audit root, at the
//! newest batch, at a change and at a time; a failing target never fails a write and
//! catches up; corrupt or foreign objects in the bucket are refused and named; a second
//! writer is fenced.

mod common;

use std::time::Duration;

use common::TempDir;
use hardstore::replication::restore;
use hardstore::{
    AuditEvent, Durability, Error, ManualClock, Options, ReplicateOptions, RestoreTo, Store,
};

fn lag() -> ReplicateOptions {
    ReplicateOptions {
        lag: Duration::from_millis(50),
    }
}

fn write(store: &Store, from: u64, n: u64) {
    for i in from..from + n {
        store
            .write(Durability::Durable, move |tx| {
                tx.kv_put(
                    "orders",
                    format!("o{i}").as_bytes(),
                    format!("v{i}").as_bytes(),
                )?;
                tx.audit_append(&AuditEvent::new("acme", "order.put").resource(format!("o{i}")))?;
                Ok(())
            })
            .unwrap();
    }
}

fn targets(dir: &TempDir) -> Vec<String> {
    let mut t = vec![format!("file://{}", dir.file("bucket").display())];
    if let Ok(s3) = std::env::var("HARDSTORE_TEST_S3") {
        // A prefix of this run's own: a bucket outlives a run.
        let own = dir.file("x");
        let own = own.parent().unwrap().file_name().unwrap().to_string_lossy();
        t.push(format!("{s3}/{own}"));
    }
    t
}

#[test]
fn a_replica_restores_elsewhere_at_the_newest_batch_a_change_and_a_time() {
    let dir = TempDir::new("repl-basic");
    for (n, url) in targets(&dir).into_iter().enumerate() {
        std::fs::create_dir_all(dir.file("bucket")).unwrap();
        let clock = ManualClock::new(1_767_225_600_000_000);
        let path = dir.file(&format!("src{n}.hs"));
        let store = Store::open(&path, Options::new().clock(clock.clone())).unwrap();
        write(&store, 0, 20);
        store.replicate(&url, lag()).unwrap();
        assert!(matches!(
            store.replicate(&url, lag()),
            Err(Error::InvalidArgument(_))
        ));
        write(&store, 20, 30);
        assert!(
            store.wait_replicated(Duration::from_secs(30)).unwrap(),
            "{:?}",
            store.replication_status()
        );
        let st = store.replication_status().unwrap();
        assert_eq!(st.lag_batches, 0, "{st:?}");
        assert!(st.last_error.is_none() && st.snapshots == 1, "{st:?}");
        let mid_change = st.shipped_seq.unwrap();
        let mid_root = store.audit().root(store.audit().size().unwrap()).unwrap();
        let mid_size = store.audit().size().unwrap();
        clock.advance(60_000_000);
        let mid_time = hardstore::Clock::now(&clock) - 1;
        write(&store, 50, 10);
        assert!(store.wait_replicated(Duration::from_secs(30)).unwrap());
        let size = store.audit().size().unwrap();
        let root = store.audit().root(size).unwrap();
        store.close().unwrap();

        let out = dir.file(&format!("restored{n}.hs"));
        let r = restore(&url, &out, RestoreTo::Latest, &Options::new()).unwrap();
        assert_eq!((r.audit_size, r.audit_root), (size, root));
        let s = Store::open(&out, Options::new()).unwrap();
        assert_eq!(s.kv_get("orders", b"o59").unwrap().unwrap(), b"v59");
        assert!(s.audit().verify().unwrap().is_ok());
        s.close().unwrap();
        assert!(matches!(
            restore(&url, &out, RestoreTo::Latest, &Options::new()),
            Err(Error::InvalidArgument(_)) | Err(Error::Io(_))
        ));

        for (name, to) in [
            ("change", RestoreTo::Change(mid_change)),
            ("time", RestoreTo::Time(mid_time)),
        ] {
            let out = dir.file(&format!("at-{name}{n}.hs"));
            let r = restore(&url, &out, to, &Options::new()).unwrap();
            assert_eq!((r.audit_size, r.audit_root), (mid_size, mid_root), "{name}");
            let s = Store::open(&out, Options::new()).unwrap();
            assert_eq!(s.kv_get("orders", b"o49").unwrap().unwrap(), b"v49");
            assert!(s.kv_get("orders", b"o50").unwrap().is_none(), "{name}");
            s.close().unwrap();
        }
        assert!(matches!(
            restore(
                &url,
                dir.file(&format!("early{n}.hs")),
                RestoreTo::Change(1),
                &Options::new()
            ),
            Err(Error::InvalidArgument(_))
        ));
    }
}

#[test]
fn a_target_of_another_store_and_damaged_objects_are_refused() {
    let dir = TempDir::new("repl-bad");
    let url = format!("file://{}", dir.file("bucket").display());
    std::fs::create_dir_all(dir.file("bucket")).unwrap();
    let a = Store::open(dir.file("a.hs"), Options::new()).unwrap();
    a.replicate(&url, lag()).unwrap();
    write(&a, 0, 5);
    assert!(a.wait_replicated(Duration::from_secs(30)).unwrap());
    a.close().unwrap();
    let b = Store::open(dir.file("b.hs"), Options::new()).unwrap();
    assert!(matches!(
        b.replicate(&url, lag()),
        Err(Error::InvalidArgument(_))
    ));
    b.close().unwrap();
    assert!(matches!(
        restore(
            "nope://x",
            dir.file("n.hs"),
            RestoreTo::Latest,
            &Options::new()
        ),
        Err(Error::InvalidArgument(_))
    ));
    let empty = format!("file://{}", dir.file("empty").display());
    std::fs::create_dir_all(dir.file("empty")).unwrap();
    assert!(matches!(
        restore(&empty, dir.file("e.hs"), RestoreTo::Latest, &Options::new()),
        Err(Error::NotFound(_))
    ));
    // Edit one byte of a segment: the restore names it and leaves nothing.
    let segs: Vec<_> = std::fs::read_dir(dir.file("bucket").join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let seg = &segs[0];
    let mut bytes = std::fs::read(seg).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(seg, bytes).unwrap();
    let out = dir.file("r.hs");
    match restore(&url, &out, RestoreTo::Latest, &Options::new()) {
        Err(Error::Corrupted(m)) => assert!(m.contains("segments/"), "{m}"),
        other => panic!("a damaged segment restored: {other:?}"),
    }
    assert!(!out.exists());
}

#[test]
fn a_failing_target_never_fails_a_write_and_catches_up() {
    let dir = TempDir::new("repl-fail");
    let bucket = dir.file("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    let url = format!("file://{}", bucket.display());
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    store.replicate(&url, lag()).unwrap();
    write(&store, 0, 5);
    assert!(store.wait_replicated(Duration::from_secs(30)).unwrap());
    // The target's folder is replaced by a file: uploads fail.
    std::fs::rename(&bucket, dir.file("moved")).unwrap();
    std::fs::write(&bucket, b"not a folder").unwrap();
    write(&store, 5, 10);
    std::thread::sleep(Duration::from_millis(300));
    let st = store.replication_status().unwrap();
    assert!(st.last_error.is_some() && st.lag_batches > 0, "{st:?}");
    assert!(!store.wait_replicated(Duration::from_millis(100)).unwrap());
    // Back: it catches up, nothing lost.
    std::fs::remove_file(&bucket).unwrap();
    std::fs::rename(dir.file("moved"), &bucket).unwrap();
    assert!(store.wait_replicated(Duration::from_secs(30)).unwrap());
    assert!(store.replication_status().unwrap().last_error.is_none());
    let size = store.audit().size().unwrap();
    store.close().unwrap();
    let r = restore(&url, dir.file("r.hs"), RestoreTo::Latest, &Options::new()).unwrap();
    assert_eq!(r.audit_size, size);
}

const CHILD_ENV: &str = "HARDSTORE_REPLICATION_CHILD";

/// The child's body (a no-op unless the parent started this binary as the child):
/// replicates, then writes and prints `ACK i` once write `i` is in the replica.
#[test]
fn replication_child() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let spec = spec.into_string().unwrap();
    let (path, url) = spec.split_once('|').unwrap();
    let store = Store::open(path, Options::new()).unwrap();
    store.replicate(url, lag()).unwrap();
    use std::io::Write;
    let mut out = std::io::stdout();
    for i in 0.. {
        write(&store, i, 1);
        if i % 3 == 0 {
            // Every third write waits for the replica, as a caller that needs it does.
            assert!(store.wait_replicated(Duration::from_secs(30)).unwrap());
            writeln!(out, "ACK {i}").unwrap();
            out.flush().unwrap();
        }
    }
}

#[test]
fn kill_9_mid_upload_loses_nothing_acknowledged_as_replicated() {
    use std::io::BufRead;
    let dir = TempDir::new("repl-kill");
    let bucket = dir.file("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    let url = format!("file://{}", bucket.display());
    let path = dir.file("s.hs");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "replication_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{}|{url}", path.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = None;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(i) = line.strip_prefix("ACK ") {
            acked = Some(i.parse::<u64>().unwrap());
            if acked.unwrap() >= 60 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-write and mid-upload
    child.wait().unwrap();
    let acked = acked.expect("the child acknowledged writes");
    let out = dir.file("restored.hs");
    let r = restore(&url, &out, RestoreTo::Latest, &Options::new()).unwrap();
    assert!(r.audit_size > acked, "{r:?} lacks write {acked}");
    let s = Store::open(&out, Options::new()).unwrap();
    for i in 0..=acked {
        assert!(
            s.kv_get("orders", format!("o{i}").as_bytes())
                .unwrap()
                .is_some(),
            "write {i} was acknowledged as replicated and is missing"
        );
    }
    assert!(s.audit().verify().unwrap().is_ok());
    s.close().unwrap();
}
