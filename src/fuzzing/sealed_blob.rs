//! The sealed-blob fuzz target's body: arbitrary bytes opened as a sealed field, and
//! valid blobs edited where the input says.

use crate::sealing::{from_text, to_text, Keyset};
use crate::{Error, Options, Store};

/// Arbitrary bytes (as a blob and as text) never panic `open` and never open to
/// anything; a valid blob with any byte edited or cut never opens to a plaintext other
/// than its own; a shredded subject's blob reads as shredded.
pub fn sealed_blob(data: &[u8]) {
    thread_local! {
        static STORE: (Store, Vec<u8>, Vec<u8>) = {
            let store = Store::in_memory(Options::new().sealing_keys(Keyset::new().with(1, [3; 32])))
                .expect("opens");
            store.sealing().add_key(1).expect("a key");
            let live = store.sealing().seal("user:1", b"the plaintext").expect("seals");
            let dead = store.sealing().seal("user:2", b"gone").expect("seals");
            store.sealing().shred("user:2").expect("shreds");
            (store, live, dead)
        };
    }
    STORE.with(|(store, live, dead)| {
        let s = store.sealing();
        match s.open(data) {
            Ok(p) => assert!(
                data == live.as_slice() && p == b"the plaintext",
                "a forged blob opened"
            ),
            Err(Error::SealedInvalid(_) | Error::Shredded(_)) => {}
            Err(e) => panic!("an unexpected error for arbitrary bytes: {e}"),
        }
        if let Ok(text) = std::str::from_utf8(data) {
            if let Ok(b) = from_text(text) {
                assert_eq!(to_text(&b), text.trim_end_matches('='), "text round trip");
                let _ = s.open(&b);
            }
        }
        // Edit the live blob where the input says: it must never open to other bytes.
        let mut edited = live.clone();
        for pair in data.chunks(2) {
            let at = usize::from(pair[0]) % edited.len();
            edited[at] ^= pair.get(1).copied().unwrap_or(1).max(1);
        }
        let cut = data
            .first()
            .map_or(edited.len(), |b| edited.len() - usize::from(*b) % 4);
        match s.open(&edited[..cut]) {
            Ok(p) => assert_eq!(p, b"the plaintext", "an edited blob opened to other bytes"),
            Err(Error::SealedInvalid(_) | Error::Shredded(_)) => {}
            Err(e) => panic!("an unexpected error for an edited blob: {e}"),
        }
        assert!(matches!(s.open(dead), Err(Error::Shredded(_))));
    });
}
