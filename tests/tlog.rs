//! The audit tree's hash option, leaf bytes, and C2SP signed checkpoints: a SHA-256
//! store's tree is RFC 6962's (checked against an independent SHA-256 tree here), its
//! hash survives a reopen and a restore; checkpoints sign and verify, witnesses cosign,
//! tampering and wrong keys are refused with typed errors; proof bundles verify offline.

mod common;

use common::TempDir;
use hardstore::audit::ProofBundle;
use hardstore::{
    AuditEvent, AuditHash, Durability, Error, Hash, NoteKeyKind, NoteSigner, NoteVerifier, Options,
    SignedCheckpoint, Store,
};
use sha2::{Digest, Sha256};

fn sha(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RFC 6962's MTH, written out independently of the crate.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sha(&[]),
        1 => leaves[0],
        n => {
            let k = 1 << (63 - (n as u64 - 1).leading_zeros());
            sha(&[&[1], &mth(&leaves[..k]), &mth(&leaves[k..])])
        }
    }
}

fn fill(store: &Store, n: u64) {
    for i in 0..n {
        store
            .audit()
            .append(
                AuditEvent::new("acme", "invoice.paid")
                    .actor(format!("user:{i}"))
                    .detail("amount", format!("{i}.00")),
                Durability::Buffered,
            )
            .unwrap();
    }
    store.flush().unwrap();
}

fn sha_store(dir: &TempDir, name: &str) -> Store {
    Store::open(dir.file(name), Options::new().audit_hash(AuditHash::Sha256)).unwrap()
}

#[test]
fn a_sha256_store_builds_rfc6962s_tree_and_keeps_its_hash() {
    let dir = TempDir::new("tlog-sha");
    let path = dir.file("s.hs");
    let store = sha_store(&dir, "s.hs");
    fill(&store, 13);
    let audit = store.audit();
    assert_eq!(audit.hash().unwrap(), AuditHash::Sha256);
    let leaves: Vec<Hash> = (0..13)
        .map(|i| sha(&[&[0], &audit.leaf_bytes(i).unwrap()]))
        .collect();
    for (i, l) in leaves.iter().enumerate() {
        assert_eq!(&audit.get(i as u64).unwrap().leaf_hash().unwrap(), l);
    }
    for n in 0..=13 {
        assert_eq!(
            audit.root(n).unwrap(),
            mth(&leaves[..n as usize]),
            "size {n}"
        );
    }
    let p = audit.consistency_proof(5, 13).unwrap();
    p.verify(&mth(&leaves[..5]), &mth(&leaves)).unwrap();
    assert!(matches!(
        hardstore::audit::verify_consistency(5, 13, &mth(&leaves[..5]), &mth(&leaves), &p.hashes),
        Err(Error::ProofInvalid(_))
    ));
    assert!(audit.verify().unwrap().is_ok());

    // A backup restores into a SHA-256 store, whatever the restore's options say.
    store.backups().full(dir.file("b.hsb")).unwrap();
    store.close().unwrap();
    let restored = dir.file("r.hs");
    hardstore::backup::restore(dir.file("b.hsb"), &restored, &Options::new()).unwrap();
    let r = Store::open(&restored, Options::new()).unwrap();
    assert_eq!(r.audit().hash().unwrap(), AuditHash::Sha256);
    assert_eq!(r.audit().root(13).unwrap(), mth(&leaves));
    assert!(r.audit().verify().unwrap().is_ok());
    r.close().unwrap();

    // Reopened with the default option, it stays SHA-256 and keeps appending so.
    let store = Store::open(&path, Options::new()).unwrap();
    assert_eq!(store.audit().hash().unwrap(), AuditHash::Sha256);
    fill(&store, 1);
    let mut all = leaves.clone();
    all.push(sha(&[&[0], &store.audit().leaf_bytes(13).unwrap()]));
    assert_eq!(store.audit().root(14).unwrap(), mth(&all));
    assert!(store.audit().verify().unwrap().is_ok());
}

#[test]
fn a_blake3_store_stays_the_default() {
    let dir = TempDir::new("tlog-b3");
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    fill(&store, 3);
    assert_eq!(store.audit().hash().unwrap(), AuditHash::Blake3);
    // C2SP checkpoints are of RFC 6962 trees: a BLAKE3 store makes none.
    let log = NoteSigner::generate("example.com/b3", NoteKeyKind::Ed25519).unwrap();
    assert!(matches!(
        store.audit().sign_checkpoint(&log),
        Err(Error::InvalidArgument(_))
    ));
    let e = store.audit().get(1).unwrap();
    assert_eq!(
        e.leaf_hash().unwrap(),
        hardstore::audit::leaf_hash(&e.leaf_bytes().unwrap())
    );
}

#[test]
fn checkpoints_sign_verify_and_carry_cosignatures() {
    let dir = TempDir::new("tlog-sign");
    let store = sha_store(&dir, "s.hs");
    fill(&store, 10);
    let log = NoteSigner::generate("example.com/hardstore-log", NoteKeyKind::Ed25519).unwrap();
    let w1 = NoteSigner::generate("witness.example/w1", NoteKeyKind::Cosignature).unwrap();
    let w2 = NoteSigner::generate("witness.example/w2", NoteKeyKind::Cosignature).unwrap();
    let mut cp = store.audit().sign_checkpoint(&log).unwrap();
    assert_eq!(cp.size, 10);
    assert_eq!(cp.root, store.audit().root(10).unwrap());
    let text = cp.to_note();
    assert!(
        text.starts_with("example.com/hardstore-log\n10\n"),
        "{text}"
    );
    assert!(
        text.contains("\n\n\u{2014} example.com/hardstore-log "),
        "{text}"
    );

    // Keys round-trip through their text forms.
    let vkey = log.verifier().to_vkey();
    let v = NoteVerifier::from_vkey(&vkey).unwrap();
    assert_eq!(v, log.verifier());
    let again = NoteSigner::from_skey(&log.to_skey()).unwrap();
    assert_eq!(again.verifier(), log.verifier());

    let parsed = SignedCheckpoint::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, cp);
    parsed.verify(&v).unwrap();

    cp.cosign(&w1, 1_767_225_600).unwrap();
    cp.cosign(&w2, 1_767_225_601).unwrap();
    let cp = SignedCheckpoint::parse(cp.to_note().as_bytes()).unwrap();
    cp.verify(&v).unwrap();
    let witnesses = [w1.verifier(), w2.verifier()];
    let got = cp.verify_cosignatures(&witnesses, 2).unwrap();
    // One witness listed twice never makes a quorum of two.
    assert!(matches!(
        cp.verify_cosignatures(&[w1.verifier(), w1.verifier()], 2),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].time, 1_767_225_600);
    assert!(matches!(
        cp.verify_cosignatures(&witnesses[..1], 2),
        Err(Error::SignatureInvalid(_))
    ));
    // An unknown witness's line is ignored; a known one that fails fails the call.
    let w3 = NoteSigner::generate("witness.example/w3", NoteKeyKind::Cosignature).unwrap();
    assert_eq!(
        cp.verify_cosignatures(&[w3.verifier()], 0).unwrap().len(),
        0
    );

    // Tampering: another size, another root, another key, a cut note.
    let edited = cp.to_note().replacen("\n10\n", "\n11\n", 1);
    let e = SignedCheckpoint::parse(edited.as_bytes()).unwrap();
    assert!(matches!(e.verify(&v), Err(Error::SignatureInvalid(_))));
    let other = NoteSigner::generate("example.com/hardstore-log", NoteKeyKind::Ed25519).unwrap();
    assert!(matches!(
        cp.verify(&other.verifier()),
        Err(Error::SignatureInvalid(_))
    ));
    let note = cp.to_note();
    for cut in [0, 5, note.len() / 2, note.len() - 1] {
        let r = SignedCheckpoint::parse(&note.as_bytes()[..cut]);
        assert!(
            matches!(r, Err(Error::CheckpointInvalid(_))) || r.unwrap().verify(&v).is_err(),
            "cut at {cut}"
        );
    }
    assert!(matches!(
        SignedCheckpoint::parse(b"origin\n1\nnot base64!\n\n\xe2\x80\x94 origin AAAAAAA=\n"),
        Err(Error::CheckpointInvalid(_))
    ));
    assert!(matches!(
        NoteVerifier::from_vkey("name+00000000+AQ=="),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        NoteSigner::generate("has space", NoteKeyKind::Ed25519),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn proof_bundles_verify_offline_and_refuse_edits() {
    let dir = TempDir::new("tlog-bundle");
    let store = sha_store(&dir, "s.hs");
    fill(&store, 21);
    let log = NoteSigner::generate("example.com/log", NoteKeyKind::Ed25519).unwrap();
    let w = NoteSigner::generate("witness.example/w", NoteKeyKind::Cosignature).unwrap();
    let mut cp = store.audit().sign_checkpoint(&log).unwrap();
    cp.cosign(&w, 1_767_225_600).unwrap();
    for seq in [0, 7, 20] {
        let text = store.audit().proof_bundle(seq, &cp).unwrap().to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
        let b = ProofBundle::parse(text.as_bytes()).unwrap();
        let leaf = b
            .verify(&log.verifier(), &[w.verifier()], 1, AuditHash::Sha256)
            .unwrap();
        assert_eq!(leaf, store.audit().leaf_bytes(seq).unwrap());
        assert!(matches!(
            b.verify(&log.verifier(), &[w.verifier()], 1, AuditHash::Blake3),
            Err(Error::ProofInvalid(_))
        ));
        let mut edited = b.clone();
        edited.extra.as_mut().unwrap()[3] ^= 1;
        assert!(matches!(
            edited.verify(&log.verifier(), &[w.verifier()], 1, AuditHash::Sha256),
            Err(Error::ProofInvalid(_))
        ));
        let mut moved = b.clone();
        moved.index += 1;
        assert!(moved
            .verify(&log.verifier(), &[w.verifier()], 1, AuditHash::Sha256)
            .is_err());
    }
    // A checkpoint of another log is refused.
    let other = sha_store(&dir, "o.hs");
    fill(&other, 21);
    other
        .audit()
        .append(AuditEvent::new("x", "y"), Durability::Durable)
        .unwrap();
    let foreign = other.audit().sign_checkpoint(&log).unwrap();
    assert!(matches!(
        store.audit().proof_bundle(3, &foreign),
        Err(Error::InvalidArgument(_))
    ));
    let older = SignedCheckpoint::sign(&log, 21, &[7; 32]).unwrap();
    assert!(matches!(
        store.audit().proof_bundle(3, &older),
        Err(Error::CheckpointInvalid(_))
    ));
    assert!(ProofBundle::parse(b"c2sp.org/tlog-proof@v1\nindex 01\n\n").is_err());
    // A pruned entry's leaf bytes are gone: no bundle can prove them.
    store
        .audit()
        .prune(hardstore::audit::PruneBefore::Seq(2), 2)
        .unwrap();
    let cp = store.audit().sign_checkpoint(&log).unwrap();
    assert!(matches!(
        store.audit().proof_bundle(1, &cp),
        Err(Error::NotFound(_))
    ));
    assert!(store.audit().proof_bundle(2, &cp).is_ok());
}
