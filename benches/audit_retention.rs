//! Audit-retention benchmark, side by side in one run: pruning the payloads of the
//! oldest 100,000 of 200,000 entries (durable steps of 1,000, the root unchanged) and
//! exporting them first as an archive with inclusion proofs, against SQLite (WAL,
//! synchronous=FULL) blanking the same columns of the same rows in transactions of 1,000
//! and raw redb rewriting 100,000 rows in durable transactions of 1,000.
//!
//!     cargo bench --bench audit_retention

mod common;

use std::time::Instant;

use common::{env_or, fill_audit, fresh, scratch};
use hardstore::audit::PruneBefore;
use hardstore::{Options, Store};
use redb::{ReadableTable, TableDefinition};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let total = env_or("HARDSTORE_BENCH_ENTRIES", 200_000);
    let half = total / 2;
    let dir = scratch("bench-audit-retention");
    let store = Store::open(fresh(&dir, "hs.hardstore"), Options::new()).unwrap();
    fill_audit(&store, total);
    let root = store.audit().root(total).unwrap();
    let t = Instant::now();
    let mut sink =
        std::io::BufWriter::new(std::fs::File::create(fresh(&dir, "archive.jsonl")).unwrap());
    let archived = store.audit().export_archive(0, half, &mut sink).unwrap();
    drop(sink);
    let archive_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let pruned = store.audit().prune(PruneBefore::Seq(half), half).unwrap();
    let prune_s = t.elapsed().as_secs_f64();
    assert_eq!((archived, pruned), (half, half));
    assert_eq!(
        store.audit().root(total).unwrap(),
        root,
        "the root is unchanged"
    );
    store.close().unwrap();

    let db = rusqlite::Connection::open(fresh(&dir, "audit.sqlite")).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE audit(seq INTEGER PRIMARY KEY, tenant TEXT, actor TEXT, action TEXT,
                            resource TEXT, details TEXT, hash BLOB);",
    )
    .unwrap();
    {
        let tx = db.unchecked_transaction().unwrap();
        let mut ins = tx
            .prepare(
                "INSERT INTO audit VALUES (?1, 'acme', ?2, 'invoice.update', ?3, ?4, zeroblob(32))",
            )
            .unwrap();
        for i in 0..total {
            ins.execute(rusqlite::params![
                i as i64,
                format!("user:{}", i % 100),
                format!("invoice/{i}"),
                format!("{{\"amount\":\"{i}.00\"}}")
            ])
            .unwrap();
        }
        drop(ins);
        tx.commit().unwrap();
    }
    let t = Instant::now();
    for lo in (0..half).step_by(1000) {
        let tx = db.unchecked_transaction().unwrap();
        tx.execute(
            "UPDATE audit SET actor = '', resource = '', details = '' WHERE seq >= ?1 AND seq < ?2",
            [lo as i64, (lo + 1000).min(half) as i64],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let sqlite_s = t.elapsed().as_secs_f64();

    const T: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
    let rdb = redb::Database::create(fresh(&dir, "raw.redb")).unwrap();
    let w = rdb.begin_write().unwrap();
    {
        let mut t = w.open_table(T).unwrap();
        for i in 0..total {
            t.insert(i, [7u8; 120].as_slice()).unwrap();
        }
    }
    w.commit().unwrap();
    let t0 = Instant::now();
    for lo in (0..half).step_by(1000) {
        let w = rdb.begin_write().unwrap();
        {
            let mut t = w.open_table(T).unwrap();
            for i in lo..(lo + 1000).min(half) {
                let short = t.get(i).unwrap().map(|g| g.value()[..40].to_vec()).unwrap();
                t.insert(i, short.as_slice()).unwrap();
            }
        }
        w.commit().unwrap();
    }
    let redb_s = t0.elapsed().as_secs_f64();

    println!("\n== Pruning the oldest {half} of {total} audit entries, durable steps of 1,000 ==");
    println!(
        "hardstore archive first (with proofs)  {:>8.0} entries/s",
        half as f64 / archive_s
    );
    println!(
        "hardstore prune (root unchanged)       {:>8.0} entries/s",
        half as f64 / prune_s
    );
    println!(
        "SQLite UPDATE blanking the columns     {:>8.0} rows/s   hardstore {:.2}x",
        half as f64 / sqlite_s,
        sqlite_s / prune_s
    );
    println!(
        "raw redb rewrite of the rows           {:>8.0} rows/s   hardstore {:.2}x",
        half as f64 / redb_s,
        redb_s / prune_s
    );
}
