//! Replication to object storage and restore anywhere: a primary ships to a bucket (here
//! a local folder, `file://`; `s3://bucket/prefix` with AWS_* settings works the same),
//! keeps writing, and a second machine restores from the bucket alone, at the newest
//! batch and at an earlier change; the restored audit logs verify with the primary's
//! roots.
//!
//!     cargo run --example replication

use std::time::Duration;

use hardstore::replication::{inspect, restore};
use hardstore::{AuditEvent, Durability, Options, ReplicateOptions, RestoreTo, Result, Store};

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("hardstore-replication-{}", std::process::id()));
    let bucket = dir.join("bucket");
    std::fs::create_dir_all(&bucket)?;
    let url = format!("file://{}", bucket.display());

    let primary = Store::open(dir.join("primary.hardstore"), Options::new())?;
    primary.replicate(
        &url,
        ReplicateOptions {
            lag: Duration::from_millis(200),
        },
    )?;
    let order = |i: u64| -> Result<()> {
        primary.write(Durability::Durable, move |tx| {
            tx.kv_put("orders", format!("order/{i}").as_bytes(), b"placed")?;
            tx.audit_append(
                &AuditEvent::new("acme", "order.placed").resource(format!("order/{i}")),
            )?;
            Ok(())
        })
    };
    for i in 0..100 {
        order(i)?;
    }
    // A write that must survive the machine: wait until it is in the replica.
    primary.wait_replicated(Duration::from_secs(30))?;
    let status = primary.replication_status().expect("replicating");
    let change = status.shipped_seq.expect("shipped");
    let root_then = primary.audit().root(primary.audit().size()?)?;
    for i in 100..150 {
        order(i)?;
    }
    primary.wait_replicated(Duration::from_secs(30))?;
    let root_now = primary.audit().root(primary.audit().size()?)?;
    let st = primary.replication_status().expect("replicating");
    println!(
        "primary: {} batches in the replica ({} snapshot, {} segments), lag {} batches",
        st.shipped_seq.unwrap_or(0),
        st.snapshots,
        st.segments,
        st.lag_batches
    );
    primary.close()?;

    // Elsewhere: only the bucket.
    let m = inspect(&url)?.expect("a replica");
    println!(
        "replica: manifest version {}, {} segments",
        m.version,
        m.segments.len()
    );
    let now = restore(
        &url,
        dir.join("restored.hardstore"),
        RestoreTo::Latest,
        &Options::new(),
    )?;
    let then = restore(
        &url,
        dir.join("at-change.hardstore"),
        RestoreTo::Change(change),
        &Options::new(),
    )?;
    assert_eq!(now.audit_root, root_now);
    assert_eq!(then.audit_root, root_then);
    let s = Store::open(dir.join("at-change.hardstore"), Options::new())?;
    assert!(s.kv_get("orders", b"order/99")?.is_some());
    assert!(s.kv_get("orders", b"order/100")?.is_none());
    s.close()?;
    println!(
        "restored: newest ({} audit entries) and at change {change} ({} entries); both verify with the primary's roots",
        now.audit_size, then.audit_size
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
