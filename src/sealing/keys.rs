//! Key material: where the caller's keys come from, and the two uses of AES-256-GCM
//! (wrapping a subject's data key with a key of the keyset, sealing a field with a data
//! key). No key is ever written to the store; only its check value is.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use super::blob::{NONCE, TAG};
use crate::error::{Error, Result};

/// Where the store gets the bytes of its sealing keys: from the caller, by id, whenever
/// it needs one (keys are never stored in the file).
pub trait KeySource: Send + Sync {
    /// The 32 bytes of key `id`, or `None` when the caller does not have it.
    fn key(&self, id: u32) -> Option<[u8; 32]>;
}

/// Keys given as bytes.
#[derive(Clone, Default)]
pub struct Keyset {
    keys: BTreeMap<u32, [u8; 32]>,
}

impl Keyset {
    /// An empty keyset.
    pub fn new() -> Keyset {
        Keyset::default()
    }

    /// The keyset with key `id` (replacing one of the same id).
    pub fn with(mut self, id: u32, key: [u8; 32]) -> Keyset {
        self.keys.insert(id, key);
        self
    }

    /// The ids it holds.
    pub fn ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }
}

impl fmt::Debug for Keyset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the bytes.
        f.debug_struct("Keyset").field("ids", &self.ids()).finish()
    }
}

impl KeySource for Keyset {
    fn key(&self, id: u32) -> Option<[u8; 32]> {
        self.keys.get(&id).copied()
    }
}

/// Keys given by a callback (a KMS client, a secrets manager).
pub struct KeyFn<F>(pub F);

impl<F: Fn(u32) -> Option<[u8; 32]> + Send + Sync> KeySource for KeyFn<F> {
    fn key(&self, id: u32) -> Option<[u8; 32]> {
        (self.0)(id)
    }
}

/// The check value of a key: tells the right bytes for an id from other bytes, so a
/// wrong key is reported as such instead of as damaged data.
pub(crate) fn check_value(key: &[u8; 32]) -> [u8; 16] {
    let h = blake3::keyed_hash(key, b"hardstore sealing key check v1");
    h.as_bytes()[..16].try_into().expect("16 bytes")
}

pub(crate) fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
}

pub(crate) fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Storage(format!("the OS random source: {e}")))?;
    Ok(b)
}

fn wrap_aad(subject: &str, generation: u32, kek_id: u32) -> Vec<u8> {
    let mut a = b"hardstore data key v1\0".to_vec();
    a.extend_from_slice(subject.as_bytes());
    a.extend_from_slice(&generation.to_le_bytes());
    a.extend_from_slice(&kek_id.to_le_bytes());
    a
}

/// Wraps a data key: nonce, then the sealed key and tag (60 bytes).
pub(crate) fn wrap(
    kek: &Aes256Gcm,
    kek_id: u32,
    subject: &str,
    generation: u32,
    dek: &[u8; 32],
) -> Result<Vec<u8>> {
    let nonce = random::<NONCE>()?;
    let aad = wrap_aad(subject, generation, kek_id);
    let sealed = kek
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: dek,
                aad: &aad,
            },
        )
        .map_err(|_| Error::Storage("AES-GCM refused to wrap a key".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Unwraps a data key wrapped by [`wrap`].
pub(crate) fn unwrap(
    kek: &Aes256Gcm,
    kek_id: u32,
    subject: &str,
    generation: u32,
    wrapped: &[u8],
) -> Result<[u8; 32]> {
    if wrapped.len() != NONCE + 32 + TAG {
        return Err(Error::Corrupted(format!(
            "the wrapped data key of {subject:?} is {} bytes",
            wrapped.len()
        )));
    }
    let aad = wrap_aad(subject, generation, kek_id);
    let dek = kek
        .decrypt(
            Nonce::from_slice(&wrapped[..NONCE]),
            Payload {
                msg: &wrapped[NONCE..],
                aad: &aad,
            },
        )
        .map_err(|_| {
            Error::Corrupted(format!(
                "the wrapped data key of {subject:?} does not authenticate under key {kek_id}"
            ))
        })?;
    dek.try_into()
        .map_err(|_| Error::Corrupted("a data key of the wrong length".into()))
}
