//! Proof values and their byte form.
//!
//! A proof's bytes are its hashes concatenated, nothing else: 32 bytes per hash
//! ([`merkle::inclusion_proof_len`] and [`merkle::consistency_proof_len`] say how many). The indices and sizes travel beside the bytes (a
//! verifier knows which entry and which checkpoints it is checking), and parsing checks
//! the length against them, so a truncated or padded proof is refused up front.

use crate::audit::merkle::{self, AuditHash, Hash};
use crate::error::{Error, Result};

/// Proof that one leaf is in the tree of a given size (RFC 9162 2.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf's index (the entry's seq).
    pub leaf_index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// The audit path, deepest sibling first.
    pub hashes: Vec<Hash>,
    /// The tree's hash function ([`InclusionProof::from_bytes`] assumes BLAKE3).
    pub hash: AuditHash,
}

/// Proof that the tree of `new_size` leaves extends the tree of `old_size` leaves
/// (RFC 9162 2.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The earlier size.
    pub old_size: u64,
    /// The later size.
    pub new_size: u64,
    /// The proof's hashes.
    pub hashes: Vec<Hash>,
    /// The tree's hash function ([`ConsistencyProof::from_bytes`] assumes BLAKE3).
    pub hash: AuditHash,
}

fn to_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

fn parse_hashes(bytes: &[u8], expected: usize) -> Result<Vec<Hash>> {
    if bytes.len() != expected * 32 {
        return Err(Error::ProofInvalid(format!(
            "proof is {} bytes; {} are expected ({} hashes)",
            bytes.len(),
            expected * 32,
            expected
        )));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("chunks_exact(32) yields 32 bytes"))
        .collect())
}

impl InclusionProof {
    /// The proof's hashes, concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_bytes(&self.hashes)
    }

    /// Parses proof bytes for (`leaf_index`, `tree_size`), checking their length.
    pub fn from_bytes(leaf_index: u64, tree_size: u64, bytes: &[u8]) -> Result<Self> {
        let expected = merkle::inclusion_proof_len(leaf_index, tree_size).ok_or_else(|| {
            Error::ProofInvalid(format!(
                "leaf {leaf_index} is not in a tree of size {tree_size}"
            ))
        })?;
        Ok(Self {
            leaf_index,
            tree_size,
            hashes: parse_hashes(bytes, expected)?,
            hash: AuditHash::Blake3,
        })
    }

    /// The same proof, for a tree of `hash`.
    pub fn with_hash(self, hash: AuditHash) -> Self {
        Self { hash, ..self }
    }

    /// Checks that `leaf_hash` is leaf `leaf_index` of the tree whose root is `root`.
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> Result<()> {
        self.hash.verify_inclusion(
            leaf_hash,
            self.leaf_index,
            self.tree_size,
            &self.hashes,
            root,
        )
    }
}

impl ConsistencyProof {
    /// The proof's hashes, concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_bytes(&self.hashes)
    }

    /// Parses proof bytes for (`old_size`, `new_size`), checking their length.
    pub fn from_bytes(old_size: u64, new_size: u64, bytes: &[u8]) -> Result<Self> {
        let expected = merkle::consistency_proof_len(old_size, new_size).ok_or_else(|| {
            Error::ProofInvalid(format!(
                "old size {old_size} is larger than new size {new_size}"
            ))
        })?;
        Ok(Self {
            old_size,
            new_size,
            hashes: parse_hashes(bytes, expected)?,
            hash: AuditHash::Blake3,
        })
    }

    /// The same proof, for a tree of `hash`.
    pub fn with_hash(self, hash: AuditHash) -> Self {
        Self { hash, ..self }
    }

    /// Checks that the tree with `new_root` extends the tree with `old_root`.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<()> {
        self.hash.verify_consistency(
            self.old_size,
            self.new_size,
            old_root,
            new_root,
            &self.hashes,
        )
    }
}
