//! Sealed fields: a user's email and card number sealed for the user (in app state, an
//! audit detail and a dead letter's payload), read back; then the user asks to be
//! forgotten: one shred, and every copy is unreadable while the audit log still
//! verifies. Then a key rotation: a new primary key, the data keys re-wrapped in steps,
//! the old key destroyed.
//!
//!     cargo run --example sealing

use hardstore::dead_letters::NewDeadLetter;
use hardstore::sealing::Keyset;
use hardstore::{AuditEvent, AuditQuery, Durability, Error, Options, Result, Store};

fn main() -> Result<()> {
    let dir =
        std::env::temp_dir().join(format!("hardstore-sealing-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // In production these bytes come from a secrets manager (or a KeyFn callback to a
    // KMS); the store never writes them to its file.
    let keys = Keyset::new().with(1, [0x11; 32]).with(2, [0x22; 32]);
    let store = Store::open(
        dir.join("sealing.hardstore"),
        Options::new().sealing_keys(keys),
    )?;
    let sealing = store.sealing();
    sealing.add_key(1)?;

    // One write: the sealed email in app state, a sealed card in the audit entry's
    // details, a sealed payload in a dead letter.
    store.write(Durability::Durable, |tx| {
        let email = tx.seal("user:42", b"ana@example.com")?;
        tx.kv_put("users", b"42/email", &email)?;
        let card = tx.seal_text("user:42", "4111 1111 1111 1111")?;
        tx.audit_append(
            &AuditEvent::new("shop", "card.add")
                .actor("user:42")
                .detail("card", card),
        )?;
        let payload = tx.seal("user:42", b"{\"to\":\"ana@example.com\"}")?;
        tx.dlq_record(&NewDeadLetter::new("shop", "welcome-email", payload))?;
        Ok(())
    })?;
    let email = store.kv_get("users", b"42/email")?.expect("stored");
    println!(
        "stored email: {} bytes sealed, opens to {:?}",
        email.len(),
        String::from_utf8_lossy(&sealing.open(&email)?)
    );
    let entry = store
        .audit()
        .query(&AuditQuery::new("shop").limit(1))?
        .entries
        .remove(0);
    let card = &entry.details[0].1;
    println!(
        "audit detail: {}... opens to {:?}",
        &card[..24],
        sealing.open_text(card)?
    );

    // The user asks to be forgotten.
    let sealed_other = sealing.seal("user:7", b"someone else")?;
    sealing.shred("user:42")?;
    for (what, r) in [
        ("app state", sealing.open(&email)),
        (
            "audit detail",
            sealing.open_text(card).map(String::into_bytes),
        ),
    ] {
        match r {
            Err(Error::Shredded(_)) => println!("after the shred, {what}: shredded"),
            other => panic!("{what}: {other:?}"),
        }
    }
    let report = store.audit().verify()?;
    println!(
        "the audit log still verifies: {} entries, first bad {:?}",
        report.size, report.first_bad_seq
    );
    println!(
        "user:7 still reads: {:?}",
        String::from_utf8_lossy(&sealing.open(&sealed_other)?)
    );

    // Rotation: key 2 becomes primary, data keys move in steps, key 1 is destroyed.
    for i in 0..250 {
        sealing.seal(&format!("user:{i}"), b"data")?;
    }
    sealing.add_key(2)?;
    sealing.set_primary(2)?;
    let mut steps = 0;
    loop {
        steps += 1;
        if sealing.rewrap(100)?.remaining == 0 {
            break;
        }
    }
    let lost = sealing.destroy_key(1, 0)?;
    println!("rotated to key 2 in {steps} steps; key 1 destroyed, {lost} subjects lost");
    println!(
        "user:7 after the rotation: {:?}",
        String::from_utf8_lossy(&sealing.open(&sealed_other)?)
    );
    store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
