//! Sealed-fields benchmark, side by side in one run: seal and open of a 1 KiB field
//! (MB/s) against raw AES-256-GCM of the same bytes with a key already set up (the
//! ceiling); then shredding a subject that has 100,000 sealed fields, against what a
//! hand-rolled store must do to forget a subject's data: delete its 100,000 rows, in
//! SQLite (one DELETE by an indexed subject, synchronous=FULL) and in raw redb (one
//! durable transaction). Targets: >= 500 MB/s; shred < 1 ms.
//!
//!     cargo bench --bench sealing

mod common;

use std::time::Instant;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use common::{env_or, fresh, scratch};
use hardstore::sealing::Keyset;
use hardstore::{Durability, Options, Store};
use redb::TableDefinition;

const FIELDS: u64 = 100_000;

fn mb_s(bytes: usize, n: u64, secs: f64) -> f64 {
    (bytes as f64 * n as f64) / secs / 1e6
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env_or("HARDSTORE_BENCH_OPS", 200_000);
    let dir = scratch("sealing");
    let keys = Keyset::new().with(1, [7; 32]);
    let store = Store::open(fresh(&dir, "seal.hs"), Options::new().sealing_keys(keys)).unwrap();
    let s = store.sealing();
    s.add_key(1).unwrap();
    let field = vec![0x5au8; 1024];
    let blob = s.seal("user:1", &field).unwrap();

    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(s.seal("user:1", &field).unwrap());
    }
    let seal = mb_s(1024, n, t.elapsed().as_secs_f64());
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(s.open(&blob).unwrap());
    }
    let open = mb_s(1024, n, t.elapsed().as_secs_f64());

    let raw = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&[7; 32]));
    let nonce = [1u8; 12];
    let t = Instant::now();
    let mut ct = Vec::new();
    for _ in 0..n {
        ct = raw
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &field,
                    aad: b"hdr",
                },
            )
            .unwrap();
    }
    let raw_seal = mb_s(1024, n, t.elapsed().as_secs_f64());
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            raw.decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: b"hdr",
                },
            )
            .unwrap(),
        );
    }
    let raw_open = mb_s(1024, n, t.elapsed().as_secs_f64());

    // 100,000 fields of one subject in app state, then the shred.
    let victim: Vec<Vec<u8>> = (0..FIELDS)
        .map(|_| {
            s.seal(
                "user:9",
                b"a 64-byte field of the subject to forget .......",
            )
            .unwrap()
        })
        .collect();
    for chunk in victim.chunks(10_000) {
        let rows = chunk.to_vec();
        let base = chunk.as_ptr() as usize;
        store
            .write(Durability::Durable, move |tx| {
                for (i, b) in rows.iter().enumerate() {
                    tx.kv_put("fields", &(base as u64 + i as u64).to_be_bytes(), b)?;
                }
                Ok(())
            })
            .unwrap();
    }
    let t = Instant::now();
    assert!(s.shred("user:9").unwrap());
    let shred = t.elapsed();
    assert!(s.open(&victim[0]).is_err());

    // SQLite: the subject's rows deleted.
    let path = fresh(&dir, "fields.sqlite");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE fields(id INTEGER PRIMARY KEY, subject TEXT, value BLOB);
         CREATE INDEX fields_subject ON fields(subject);",
    )
    .unwrap();
    {
        let tx = db.unchecked_transaction().unwrap();
        let mut ins = tx
            .prepare("INSERT INTO fields(subject, value) VALUES ('user:9', ?1)")
            .unwrap();
        for b in &victim {
            ins.execute([b]).unwrap();
        }
        drop(ins);
        tx.commit().unwrap();
    }
    let t = Instant::now();
    let deleted = db
        .execute("DELETE FROM fields WHERE subject = 'user:9'", [])
        .unwrap();
    let sqlite_delete = t.elapsed();
    assert_eq!(deleted as u64, FIELDS);

    // raw redb: the same rows deleted in one durable transaction.
    const T: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("fields");
    let rdb = redb::Database::create(fresh(&dir, "fields.redb")).unwrap();
    let w = rdb.begin_write().unwrap();
    {
        let mut t = w.open_table(T).unwrap();
        for (i, b) in victim.iter().enumerate() {
            t.insert(("user:9", i as u64), b.as_slice()).unwrap();
        }
    }
    w.commit().unwrap();
    let t0 = Instant::now();
    let w = rdb.begin_write().unwrap();
    {
        let mut t = w.open_table(T).unwrap();
        t.retain_in(("user:9", 0)..=("user:9", u64::MAX), |_, _| false)
            .unwrap();
    }
    w.commit().unwrap();
    let redb_delete = t0.elapsed();

    println!("\n== Sealed fields: seal and open of a 1 KiB field, MB/s ==");
    println!("hardstore seal {seal:>8.0}   open {open:>8.0}   (target >= 500)");
    println!(
        "raw AES-256-GCM seal {raw_seal:>8.0}   open {raw_open:>8.0}   (hardstore {:.2}x / {:.2}x)",
        seal / raw_seal,
        open / raw_open
    );
    println!("\n== Forgetting a subject with 100,000 sealed fields ==");
    println!(
        "hardstore shred (one key destroyed, durable)   {:>9.3} ms   (target < 1 ms)",
        shred.as_secs_f64() * 1e3
    );
    println!(
        "SQLite DELETE of its 100,000 rows (FULL)       {:>9.3} ms   hardstore {:.0}x",
        sqlite_delete.as_secs_f64() * 1e3,
        sqlite_delete.as_secs_f64() / shred.as_secs_f64()
    );
    println!(
        "raw redb delete of its 100,000 rows (durable)  {:>9.3} ms   hardstore {:.0}x",
        redb_delete.as_secs_f64() * 1e3,
        redb_delete.as_secs_f64() / shred.as_secs_f64()
    );
    store.close().unwrap();
}
