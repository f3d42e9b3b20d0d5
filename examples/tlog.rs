//! Signed checkpoints a transparency-log witness can check: a SHA-256 store (its tree is
//! RFC 6962's), a checkpoint signed as a C2SP note by the log's Ed25519 key, a witness
//! that checks consistency with the last checkpoint it saw and cosigns, a client that
//! trusts the checkpoint only with a quorum of cosignatures, and an offline proof bundle
//! for one entry that a third party verifies with nothing but the keys.
//!
//!     cargo run --example tlog

use hardstore::audit::ProofBundle;
use hardstore::{
    AuditEvent, AuditHash, Durability, NoteKeyKind, NoteSigner, Options, Result, SignedCheckpoint,
    Store,
};

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("hardstore-tlog-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::open(
        dir.join("tlog.hardstore"),
        Options::new().audit_hash(AuditHash::Sha256),
    )?;
    let audit = store.audit();
    let append = |n: u64| -> Result<()> {
        for i in 0..n {
            audit.append(
                AuditEvent::new("acme", "invoice.paid").actor(format!("user:{i}")),
                Durability::Durable,
            )?;
        }
        Ok(())
    };

    // The log's key (kept in a secret store: its skey text) and a witness's.
    let log = NoteSigner::generate("example.com/acme-audit", NoteKeyKind::Ed25519)?;
    let witness = NoteSigner::generate("witness.example/w1", NoteKeyKind::Cosignature)?;
    println!("log key:     {}", log.verifier().to_vkey());
    println!("witness key: {}", witness.verifier().to_vkey());

    append(10)?;
    let first = audit.sign_checkpoint(&log)?;
    append(5)?;
    let mut second = audit.sign_checkpoint(&log)?;

    // The witness: checks the log's signature and that the new checkpoint extends the
    // last one it saw, then cosigns.
    second.verify(&log.verifier())?;
    audit
        .consistency_proof(first.size, second.size)?
        .with_hash(AuditHash::Sha256)
        .verify(&first.root, &second.root)?;
    second.cosign(&witness, 1_767_225_600)?;
    let note = second.to_note();
    println!("\n{note}");

    // A client: trusts the checkpoint with the log's signature and one cosignature.
    let cp = SignedCheckpoint::parse(note.as_bytes())?;
    cp.verify(&log.verifier())?;
    let cos = cp.verify_cosignatures(&[witness.verifier()], 1)?;
    println!(
        "checkpoint of {} entries verified, cosigned by {}",
        cp.size, cos[0].name
    );

    // An offline proof for entry 3, verified by a third party.
    let bundle = audit.proof_bundle(3, &cp)?.to_text();
    std::fs::write(dir.join("entry-3.tlog-proof"), &bundle)?;
    let leaf = ProofBundle::parse(bundle.as_bytes())?.verify(
        &log.verifier(),
        &[witness.verifier()],
        1,
        AuditHash::Sha256,
    )?;
    println!(
        "entry 3's proof bundle ({} bytes) verified: its {} leaf bytes are in the log",
        bundle.len(),
        leaf.len()
    );
    store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
