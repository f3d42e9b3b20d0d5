//! The signed-note fuzz target's body: arbitrary bytes through the checkpoint-note and
//! proof-bundle parsers and verifiers.

use crate::audit::{AuditHash, NoteKeyKind, NoteSigner, ProofBundle, SignedCheckpoint};

/// Arbitrary notes and bundles never panic; what parses re-parses to the same value
/// from its canonical text; nothing verifies unless it is what the key signed; a
/// genuine note with one byte edited never verifies.
pub fn signed_note(data: &[u8]) {
    let log = NoteSigner::from_seed("fuzz.example/log", NoteKeyKind::Ed25519, &[7; 32])
        .expect("a valid name");
    let w = NoteSigner::from_seed("fuzz.example/w", NoteKeyKind::Cosignature, &[9; 32])
        .expect("a valid name");
    let (v, wv) = (log.verifier(), w.verifier());
    if let Ok(cp) = SignedCheckpoint::parse(data) {
        let again = SignedCheckpoint::parse(cp.to_note().as_bytes()).expect("re-parses");
        assert_eq!(again, cp);
        if cp.verify(&v).is_ok() {
            let genuine = SignedCheckpoint::sign(&log, cp.size, &cp.root).expect("signs");
            assert_eq!(
                genuine.note.text, cp.note.text,
                "a forged checkpoint verified"
            );
        }
        let _ = cp.verify_cosignatures(std::slice::from_ref(&wv), 1);
    }
    if let Ok(b) = ProofBundle::parse(data) {
        let again = ProofBundle::parse(b.to_text().as_bytes()).expect("re-parses");
        assert_eq!(again, b);
        let _ = b.verify(&v, &[], 0, AuditHash::Sha256);
    }
    if data.len() >= 2 {
        let mut cp = SignedCheckpoint::sign(&log, 10, &[1; 32]).expect("signs");
        cp.cosign(&w, 1_767_225_600).expect("cosigns");
        let mut note = cp.to_note().into_bytes();
        let i = usize::from(data[0]) * 256 % note.len() + usize::from(data[1]) % 256;
        let i = i % note.len();
        note[i] ^= data.get(2).copied().unwrap_or(1).max(1);
        if let Ok(edited) = SignedCheckpoint::parse(&note) {
            let both = edited.verify(&v).is_ok()
                && edited
                    .verify_cosignatures(std::slice::from_ref(&wv), 1)
                    .is_ok();
            assert!(!both, "a note edited at byte {i} still verified");
        }
    }
}
