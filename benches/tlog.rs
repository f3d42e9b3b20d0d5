//! Signed checkpoints benchmark, side by side in one run: signing the log's current
//! checkpoint (read the root, sign a C2SP note) and verifying a cosigned one (parse,
//! the log's signature, one witness cosignature), against what a hand-rolled log does
//! to sign its head: read the newest hash of a SQLite hash chain or a raw redb table and
//! sign it with the same Ed25519. Also the cost of the SHA-256 tree against BLAKE3 on
//! appends and on a full verify. Targets: sign <= 100 us; verify cosigned <= 100 us.
//!
//!     cargo bench --bench tlog

mod common;

use std::time::Instant;

use common::{env_or, fill_audit, fresh, scratch};
use ed25519_dalek::{Signer, SigningKey};
use hardstore::audit::ProofBundle;
use hardstore::{AuditHash, NoteKeyKind, NoteSigner, Options, SignedCheckpoint, Store};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

fn per_op_us(n: u64, f: impl FnMut(u64)) -> f64 {
    let mut f = f;
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let entries = env_or("HARDSTORE_BENCH_ENTRIES", 200_000);
    let n = env_or("HARDSTORE_BENCH_OPS", 5_000);
    let dir = scratch("tlog");
    let log = NoteSigner::generate("bench.example/log", NoteKeyKind::Ed25519).unwrap();
    let w = NoteSigner::generate("bench.example/w", NoteKeyKind::Cosignature).unwrap();

    let mut append = Vec::new();
    let mut verify = Vec::new();
    for hash in [AuditHash::Blake3, AuditHash::Sha256] {
        let path = fresh(&dir, &format!("{}.hs", hash.name()));
        let store = Store::open(&path, Options::new().audit_hash(hash)).unwrap();
        let t = Instant::now();
        fill_audit(&store, entries);
        append.push(entries as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        assert!(store.audit().verify().unwrap().is_ok());
        verify.push(entries as f64 / t.elapsed().as_secs_f64());
        store.close().unwrap();
    }

    let store = Store::open(
        fresh(&dir, "sha256.hs"),
        Options::new().audit_hash(AuditHash::Sha256),
    )
    .unwrap();
    fill_audit(&store, entries);
    let sign = per_op_us(n, |_| {
        std::hint::black_box(store.audit().sign_checkpoint(&log).unwrap());
    });
    let mut cp = store.audit().sign_checkpoint(&log).unwrap();
    cp.cosign(&w, 1_767_225_600).unwrap();
    let note = cp.to_note();
    let (lv, wv) = (log.verifier(), w.verifier());
    let check = per_op_us(n, |_| {
        let c = SignedCheckpoint::parse(note.as_bytes()).unwrap();
        c.verify(&lv).unwrap();
        c.verify_cosignatures(std::slice::from_ref(&wv), 1).unwrap();
    });
    // The ceiling: the two Ed25519 verifications the format requires, alone.
    let body = cp.note.text.clone();
    let cosigned_msg = format!("cosignature/v1\ntime 1767225600\n{body}");
    let sigs: Vec<ed25519_dalek::Signature> = cp
        .note
        .signatures
        .iter()
        .map(|s| {
            let b = &s.bytes[s.bytes.len() - 64..];
            ed25519_dalek::Signature::from_bytes(b.try_into().unwrap())
        })
        .collect();
    let (lk, wk) = (
        ed25519_dalek::VerifyingKey::from_bytes(&lv.public_key()).unwrap(),
        ed25519_dalek::VerifyingKey::from_bytes(&wv.public_key()).unwrap(),
    );
    let raw_verify = per_op_us(n, |_| {
        lk.verify_strict(body.as_bytes(), &sigs[0]).unwrap();
        wk.verify_strict(cosigned_msg.as_bytes(), &sigs[1]).unwrap();
    });
    let bundle = store
        .audit()
        .proof_bundle(entries / 3, &cp)
        .unwrap()
        .to_text();
    let bundle_us = per_op_us(n, |_| {
        let b = ProofBundle::parse(bundle.as_bytes()).unwrap();
        b.verify(&lv, std::slice::from_ref(&wv), 1, AuditHash::Sha256)
            .unwrap();
    });
    store.close().unwrap();

    // Hand-rolled: the newest hash of a chain, signed with the same Ed25519.
    let key = SigningKey::from_bytes(&[7; 32]);
    let sq = rusqlite::Connection::open(fresh(&dir, "chain.sqlite")).unwrap();
    sq.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE chain(id INTEGER PRIMARY KEY, hash BLOB NOT NULL);",
    )
    .unwrap();
    {
        let tx = sq.unchecked_transaction().unwrap();
        let mut ins = tx.prepare("INSERT INTO chain(hash) VALUES (?1)").unwrap();
        for i in 0..entries {
            ins.execute([blake3::hash(&i.to_le_bytes()).as_bytes().to_vec()])
                .unwrap();
        }
        drop(ins);
        tx.commit().unwrap();
    }
    let mut head = sq
        .prepare("SELECT id, hash FROM chain ORDER BY id DESC LIMIT 1")
        .unwrap();
    let sqlite_sign = per_op_us(n, |_| {
        let (id, h): (i64, Vec<u8>) = head.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        let msg = format!("bench\n{id}\n{h:?}\n");
        std::hint::black_box(key.sign(msg.as_bytes()));
    });
    const T: TableDefinition<u64, &[u8]> = TableDefinition::new("chain");
    let rdb = redb::Database::create(fresh(&dir, "chain.redb")).unwrap();
    let wtx = rdb.begin_write().unwrap();
    {
        let mut t = wtx.open_table(T).unwrap();
        for i in 0..entries {
            t.insert(i, blake3::hash(&i.to_le_bytes()).as_bytes().as_slice())
                .unwrap();
        }
    }
    wtx.commit().unwrap();
    let redb_sign = per_op_us(n, |_| {
        let r = rdb.begin_read().unwrap();
        let t = r.open_table(T).unwrap();
        let (k, v) = t.last().unwrap().unwrap();
        let msg = format!("bench\n{}\n{:?}\n", k.value(), v.value());
        std::hint::black_box(key.sign(msg.as_bytes()));
    });

    println!("\n== Signed checkpoints (C2SP), {entries} entries, SHA-256 tree ==");
    println!("sign the current checkpoint     {sign:>8.1} us   (target <= 100)");
    println!(
        "verify a cosigned checkpoint    {check:>8.1} us   (target <= 100; its two Ed25519 \
         verifications alone {raw_verify:.1} us: {:.2}x)",
        check / raw_verify
    );
    println!("verify a proof bundle           {bundle_us:>8.1} us");
    println!(
        "SQLite chain head + sign        {sqlite_sign:>8.1} us   (hardstore {:.2}x the time)",
        sign / sqlite_sign
    );
    println!(
        "raw redb head + sign            {redb_sign:>8.1} us   (hardstore {:.2}x the time)",
        sign / redb_sign
    );
    println!("\n== The tree's hash: SHA-256 against BLAKE3 ==");
    println!(
        "buffered appends/s   BLAKE3 {:>10.0}   SHA-256 {:>10.0}   ({:.2}x)",
        append[0],
        append[1],
        append[1] / append[0]
    );
    println!(
        "verify entries/s     BLAKE3 {:>10.0}   SHA-256 {:>10.0}   ({:.2}x)",
        verify[0],
        verify[1],
        verify[1] / verify[0]
    );
}
