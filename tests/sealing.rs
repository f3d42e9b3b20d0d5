//! Sealed fields: seal and open, shred (every copy unreadable, the audit log still
//! verifies, a later seal starts a new generation), rotation with bounded re-wrap steps,
//! key states, keys by callback, wrong or missing keys, cut and edited blobs, and sealed
//! values in app state, dead letters, idempotency bodies and audit details.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use common::TempDir;
use hardstore::dead_letters::NewDeadLetter;
use hardstore::sealing::{from_text, KeyFn, KeyStatus, Keyset};
use hardstore::{AuditEvent, AuditQuery, Begin, Durability, Error, Options, Store};

fn keyset() -> Keyset {
    Keyset::new().with(1, [1; 32]).with(2, [2; 32])
}

fn store_with(keys: Keyset) -> Store {
    let s = Store::in_memory(Options::new().sealing_keys(keys)).unwrap();
    s.sealing().add_key(1).unwrap();
    s
}

#[test]
fn seal_open_and_shred_make_every_copy_unreadable_and_the_log_still_verifies() {
    let store = store_with(keyset());
    let sealing = store.sealing();
    let card = sealing.seal("user:42", b"4111 1111 1111 1111").unwrap();
    assert_eq!(sealing.open(&card).unwrap(), b"4111 1111 1111 1111");
    assert!(
        !card.windows(4).any(|w| w == b"4111"),
        "no plaintext in the blob"
    );
    let other = sealing.seal("user:7", b"kept").unwrap();

    // Copies in app state, a dead letter, an idempotency body and an audit detail.
    let name = store
        .write(Durability::Durable, |tx| {
            let email = tx.seal("user:42", b"ana@example.com")?;
            tx.kv_put("users", b"42", &email)?;
            tx.dlq_record(&NewDeadLetter::new("acme", "email", email.clone()))?;
            let name = tx.seal_text("user:42", "Ana Lima")?;
            tx.audit_append(&AuditEvent::new("acme", "user.update").detail("name", name.clone()))?;
            Ok(name)
        })
        .unwrap();
    let idem = store.idempotency();
    let Begin::Started(t) = idem
        .begin(
            "acme",
            "req-1",
            b"POST /users",
            std::time::Duration::from_secs(60),
        )
        .unwrap()
    else {
        panic!("a new key starts")
    };
    let body = sealing.seal("user:42", b"{\"card\":\"4111\"}").unwrap();
    idem.complete(&t, Some(201), &body).unwrap();
    assert_eq!(sealing.open_text(&name).unwrap(), "Ana Lima");

    assert!(sealing.shred("user:42").unwrap());
    assert!(!sealing.shred("user:42").unwrap(), "nothing left to shred");
    let stored = store.kv_get("users", b"42").unwrap().unwrap();
    let claimed = store
        .dead_letters()
        .claim_due(1, std::time::Duration::from_secs(30))
        .unwrap();
    let cached = match idem
        .begin(
            "acme",
            "req-1",
            b"POST /users",
            std::time::Duration::from_secs(60),
        )
        .unwrap()
    {
        Begin::Replay(r) => r.body,
        other => panic!("{other:?}"),
    };
    let copies: [Vec<u8>; 5] = [
        card.clone(),
        stored,
        claimed[0].payload.clone(),
        cached,
        from_text(&name).unwrap(),
    ];
    for blob in copies {
        assert!(
            matches!(sealing.open(&blob), Err(Error::Shredded(_))),
            "every copy"
        );
    }
    assert_eq!(
        sealing.open(&other).unwrap(),
        b"kept",
        "other subjects are untouched"
    );
    let report = store.audit().verify().unwrap();
    assert_eq!(report.first_bad_seq, None, "the log commits to ciphertext");
    let page = store
        .audit()
        .query(&AuditQuery::new("hardstore").limit(100))
        .unwrap();
    assert!(page.entries.iter().any(|e| e.action == "sealing.shred"));

    // A later seal for the same subject starts a new generation; old fields stay dead.
    let again = sealing.seal("user:42", b"new data").unwrap();
    assert_eq!(sealing.open(&again).unwrap(), b"new data");
    assert!(matches!(sealing.open(&card), Err(Error::Shredded(_))));
}

#[test]
fn shredding_survives_a_reopen_and_backups_after_it_cannot_read_the_field() {
    let dir = TempDir::new("sealing-reopen");
    let path = dir.file("s.hs");
    let store = Store::open(&path, Options::new().sealing_keys(keyset())).unwrap();
    store.sealing().add_key(1).unwrap();
    let f = store.sealing().seal("u", b"secret").unwrap();
    store.close().unwrap();
    let store = Store::open(&path, Options::new().sealing_keys(keyset())).unwrap();
    assert_eq!(
        store.sealing().open(&f).unwrap(),
        b"secret",
        "read after a reopen"
    );
    store.sealing().shred("u").unwrap();
    let backups = dir.file("backups");
    std::fs::create_dir_all(&backups).unwrap();
    store
        .backups()
        .run(
            hardstore::BackupKind::Full,
            &backups,
            &hardstore::BackupOptions::default(),
        )
        .unwrap();
    store.close().unwrap();
    let store = Store::open(&path, Options::new().sealing_keys(keyset())).unwrap();
    assert!(matches!(store.sealing().open(&f), Err(Error::Shredded(_))));
    store.close().unwrap();
    // The file holds no key: the key check value and wrapped keys only.
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        !bytes.windows(32).any(|w| w == [1u8; 32]),
        "a key in the file"
    );
}

#[test]
fn rotation_rewraps_in_bounded_steps_then_the_old_key_can_go() {
    let store = store_with(keyset());
    let s = store.sealing();
    let fields: Vec<_> = (0..25)
        .map(|i| {
            s.seal(&format!("user:{i}"), format!("v{i}").as_bytes())
                .unwrap()
        })
        .collect();
    s.add_key(2).unwrap();
    s.set_primary(2).unwrap();
    assert_eq!(s.pending_rewrap().unwrap(), 25);
    // Destroying the old key now would lose 25 subjects: it asks first.
    match s.destroy_key(1, 0) {
        Err(Error::ConfirmationRequired { deletes, .. }) => assert_eq!(deletes, 25),
        other => panic!("{other:?}"),
    }
    let r = s.rewrap(10).unwrap();
    assert_eq!((r.rewrapped, r.remaining), (10, 15));
    while s.rewrap(10).unwrap().remaining > 0 {}
    let keys = s.keys().unwrap();
    assert_eq!(
        keys.iter()
            .map(|k| (k.id, k.primary, k.subjects))
            .collect::<Vec<_>>(),
        [(1, false, 0), (2, true, 25)]
    );
    assert_eq!(s.destroy_key(1, 0).unwrap(), 0);
    for (i, f) in fields.iter().enumerate() {
        assert_eq!(
            s.open(f).unwrap(),
            format!("v{i}").as_bytes(),
            "after rotation"
        );
    }
    assert_eq!(s.keys().unwrap()[0].status, KeyStatus::Destroyed);
    assert!(matches!(s.enable_key(1), Err(Error::KeyUnavailable(_))));
    assert!(
        matches!(s.disable_key(2), Err(Error::InvalidArgument(_))),
        "not the primary"
    );
}

#[test]
fn a_disabled_key_refuses_until_enabled_and_a_destroyed_one_for_ever() {
    let store = store_with(keyset());
    let s = store.sealing();
    let f = s.seal("u", b"x").unwrap();
    s.add_key(2).unwrap();
    s.set_primary(2).unwrap();
    s.disable_key(1).unwrap();
    assert!(matches!(s.open(&f), Err(Error::KeyUnavailable(_))));
    s.enable_key(1).unwrap();
    assert_eq!(s.open(&f).unwrap(), b"x");
    assert_eq!(s.destroy_key(1, 1).unwrap(), 1);
    assert!(matches!(s.open(&f), Err(Error::KeyUnavailable(_))));
}

#[test]
fn keys_by_callback_and_wrong_or_missing_keys_are_refused_by_name() {
    let asked = Arc::new(AtomicU32::new(0));
    let a = asked.clone();
    let source = KeyFn(move |id| {
        a.fetch_add(1, Ordering::Relaxed);
        (id == 9).then_some([9u8; 32])
    });
    let dir = TempDir::new("sealing-callback");
    let path = dir.file("s.hs");
    let store = Store::open(&path, Options::new().sealing_keys(source)).unwrap();
    assert!(
        matches!(
            store.sealing().seal("u", b"x"),
            Err(Error::KeyUnavailable(_))
        ),
        "no key yet"
    );
    assert!(matches!(
        store.sealing().add_key(3),
        Err(Error::KeyUnavailable(_))
    ));
    store.sealing().add_key(9).unwrap();
    let f = store.sealing().seal("u", b"x").unwrap();
    assert!(asked.load(Ordering::Relaxed) >= 1);
    store.close().unwrap();
    // Other bytes under id 9: named as the wrong key, nothing read.
    let wrong = Store::open(
        &path,
        Options::new().sealing_keys(Keyset::new().with(9, [8; 32])),
    )
    .unwrap();
    match wrong.sealing().open(&f) {
        Err(Error::KeyUnavailable(m)) => assert!(m.contains("not the key"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(!wrong.sealing().keys().unwrap()[0].available);
    wrong.close().unwrap();
    let none = Store::open(&path, Options::new()).unwrap();
    assert!(matches!(
        none.sealing().open(&f),
        Err(Error::KeyUnavailable(_))
    ));
}

#[test]
fn cut_edited_and_foreign_blobs_are_refused_never_a_panic() {
    let store = store_with(keyset());
    let s = store.sealing();
    let f = s.seal("user:1", b"the plaintext").unwrap();
    for cut in 0..f.len() {
        assert!(s.open(&f[..cut]).is_err(), "cut at {cut}");
    }
    for i in 0..f.len() {
        let mut e = f.clone();
        e[i] ^= 0x40;
        match s.open(&e) {
            Err(Error::SealedInvalid(_)) | Err(Error::Shredded(_)) => {}
            other => panic!("byte {i} edited: {other:?}"),
        }
    }
    let foreign = store_with(keyset()).sealing().seal("user:1", b"x").unwrap();
    assert!(matches!(s.open(&foreign), Err(Error::SealedInvalid(_))));
    let unknown = store_with(keyset())
        .sealing()
        .seal("nobody-here", b"x")
        .unwrap();
    assert!(matches!(s.open(&unknown), Err(Error::SealedInvalid(_))));
    assert!(matches!(s.seal("", b"x"), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        s.seal(&"s".repeat(129), b"x"),
        Err(Error::TooLong { .. })
    ));
    assert!(matches!(s.open_text("plain"), Err(Error::SealedInvalid(_))));
    assert!(
        matches!(s.add_key(1), Err(Error::InvalidArgument(_))),
        "twice"
    );
}

#[test]
fn a_seal_inside_a_failed_write_leaves_no_key_behind() {
    let store = store_with(keyset());
    let r: hardstore::Result<Vec<u8>> = store.write(Durability::Durable, |tx| {
        let b = tx.seal("ghost", b"x")?;
        tx.kv_put("a", b"k", &b)?;
        Err(Error::InvalidArgument("the app's check failed".into()))
    });
    assert!(r.is_err());
    assert_eq!(store.sealing().keys().unwrap()[0].subjects, 0);
    assert!(store.kv_get("a", b"k").unwrap().is_none());
}

#[test]
fn maintenance_rewraps_in_its_steps_after_a_rotation() {
    let store = store_with(keyset());
    let s = store.sealing();
    for i in 0..15 {
        s.seal(&format!("u{i}"), b"x").unwrap();
    }
    let opts = hardstore::maintenance::MaintenanceOptions::new().step(10);
    assert_eq!(
        store.maintenance(&opts).unwrap().keys_rewrapped,
        0,
        "nothing to do"
    );
    s.add_key(2).unwrap();
    s.set_primary(2).unwrap();
    let r = store.maintenance(&opts).unwrap();
    assert_eq!((r.keys_rewrapped, r.more_due), (10, true));
    let r = store.maintenance(&opts).unwrap();
    assert_eq!((r.keys_rewrapped, r.more_due), (5, false));
    assert_eq!(s.pending_rewrap().unwrap(), 0);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn review_edges_generation_zero_disabled_keys_and_idempotent_status() {
    let store = store_with(keyset());
    let s = store.sealing();
    let mut f = s.seal("u", b"x").unwrap();
    // The generation is the 4 bytes after the header's subject ("u"): make it 0.
    f[4..8].copy_from_slice(&0u32.to_le_bytes());
    assert!(
        matches!(s.open(&f), Err(Error::SealedInvalid(_))),
        "not 'shredded'"
    );
    // A disabled old key's subjects are not counted as re-wrappable (no step moves them).
    s.add_key(2).unwrap();
    s.set_primary(2).unwrap();
    s.disable_key(1).unwrap();
    assert_eq!(s.pending_rewrap().unwrap(), 0);
    assert_eq!(s.rewrap(10).unwrap().remaining, 0);
    s.enable_key(1).unwrap();
    assert_eq!(s.pending_rewrap().unwrap(), 1);
    let before = store.audit().size().unwrap();
    s.enable_key(1).unwrap();
    assert_eq!(
        store.audit().size().unwrap(),
        before,
        "already enabled: nothing audited"
    );
    assert!(
        matches!(s.destroy_key(2, 100), Err(Error::InvalidArgument(_))),
        "the primary"
    );
}
