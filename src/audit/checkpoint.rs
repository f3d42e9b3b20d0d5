//! Checkpoints: a signed-off (size, root) of the log that a client keeps, to later ask
//! for a consistency proof that the log only grew since.
//!
//! Byte layout (102 bytes, integers little-endian):
//!
//! | bytes  | field                                  |
//! |--------|----------------------------------------|
//! | 0..4   | magic `HSCP`                           |
//! | 4      | layout version, 1                      |
//! | 5..21  | store id                               |
//! | 21..29 | size (entries)                         |
//! | 29..37 | time (µs since the Unix epoch)         |
//! | 37..69 | root                                   |
//! | 69     | 1 if a MAC follows, else 0             |
//! | 70..102| keyed BLAKE3 of bytes 0..69, or zeros  |

use crate::audit::merkle::Hash;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::StoreId;

const MAGIC: &[u8; 4] = b"HSCP";
const LAYOUT_V1: u8 = 1;
const SIGNED_LEN: usize = 69;
/// The length of a checkpoint in bytes.
pub const CHECKPOINT_LEN: usize = 102;

/// The context string for deriving the checkpoint MAC key (never change it).
const MAC_CONTEXT: &str = "hardstore 2026-11-22 audit checkpoint MAC v1";

/// Derives the checkpoint MAC key from a caller's secret.
pub fn derive_mac_key(secret: &[u8]) -> [u8; 32] {
    blake3::derive_key(MAC_CONTEXT, secret)
}

/// The log's size and root at a moment, optionally MAC'd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The store it was taken from.
    pub store_id: StoreId,
    /// How many entries the log held.
    pub size: u64,
    /// The Merkle root at that size.
    pub root: Hash,
    /// When it was taken.
    pub time: Timestamp,
    /// Keyed BLAKE3 over the other fields, when the store has an audit key.
    pub mac: Option<Hash>,
}

impl Checkpoint {
    pub(crate) fn new(
        store_id: StoreId,
        size: u64,
        root: Hash,
        time: Timestamp,
        mac_key: Option<&[u8; 32]>,
    ) -> Checkpoint {
        let mut cp = Checkpoint {
            store_id,
            size,
            root,
            time,
            mac: None,
        };
        cp.mac = mac_key.map(|k| cp.compute_mac(k));
        cp
    }

    fn signed_bytes(&self) -> [u8; SIGNED_LEN] {
        let mut b = [0u8; SIGNED_LEN];
        b[0..4].copy_from_slice(MAGIC);
        b[4] = LAYOUT_V1;
        b[5..21].copy_from_slice(&self.store_id.0);
        b[21..29].copy_from_slice(&self.size.to_le_bytes());
        b[29..37].copy_from_slice(&self.time.to_le_bytes());
        b[37..69].copy_from_slice(&self.root);
        b
    }

    fn compute_mac(&self, key: &[u8; 32]) -> Hash {
        *blake3::keyed_hash(key, &self.signed_bytes()).as_bytes()
    }

    /// The 102-byte form (see the module docs).
    pub fn to_bytes(&self) -> [u8; CHECKPOINT_LEN] {
        let mut b = [0u8; CHECKPOINT_LEN];
        b[..SIGNED_LEN].copy_from_slice(&self.signed_bytes());
        if let Some(mac) = &self.mac {
            b[SIGNED_LEN] = 1;
            b[SIGNED_LEN + 1..].copy_from_slice(mac);
        }
        b
    }

    /// Parses the 102-byte form. Does not check the MAC: see [`Checkpoint::verify_mac`].
    pub fn from_bytes(b: &[u8]) -> Result<Checkpoint> {
        let bad = |why: String| Error::CheckpointInvalid(why);
        if b.len() != CHECKPOINT_LEN {
            return Err(bad(format!(
                "checkpoint is {} bytes; {CHECKPOINT_LEN} are expected",
                b.len()
            )));
        }
        if &b[0..4] != MAGIC {
            return Err(bad("bad magic".into()));
        }
        if b[4] != LAYOUT_V1 {
            return Err(bad(format!("unknown checkpoint layout {}", b[4])));
        }
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let mac = match b[SIGNED_LEN] {
            0 if b[SIGNED_LEN + 1..].iter().all(|&x| x == 0) => None,
            0 => return Err(bad("MAC bytes present but MAC flag is 0".into())),
            1 => Some(b[SIGNED_LEN + 1..].try_into().expect("32 bytes")),
            f => return Err(bad(format!("bad MAC flag {f}"))),
        };
        Ok(Checkpoint {
            store_id: StoreId(b[5..21].try_into().expect("16 bytes")),
            size: u64_at(21),
            time: u64_at(29),
            root: b[37..69].try_into().expect("32 bytes"),
            mac,
        })
    }

    /// Checks the MAC with the caller's secret (the same secret given to
    /// [`Options::audit_key`](crate::Options::audit_key)). A checkpoint without a MAC fails.
    pub fn verify_mac(&self, secret: &[u8]) -> Result<()> {
        let mac = self
            .mac
            .ok_or_else(|| Error::CheckpointInvalid("checkpoint carries no MAC".into()))?;
        let expected = self.compute_mac(&derive_mac_key(secret));
        // Constant-time comparison: blake3::Hash's PartialEq is constant-time.
        if blake3::Hash::from(expected) == blake3::Hash::from(mac) {
            Ok(())
        } else {
            Err(Error::CheckpointInvalid("MAC does not match".into()))
        }
    }
}
