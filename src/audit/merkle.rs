//! The Merkle tree of RFC 9162 section 2.1, over BLAKE3 with domain separation.
//!
//! `MTH({}) = BLAKE3()`, `MTH({d}) = BLAKE3(0x00 || d)`, and for n > 1 with k the
//! largest power of two below n, `MTH(D[n]) = BLAKE3(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`.
//!
//! Stored layout: node `(level, index)` is the root of the perfect subtree over leaves
//! `[index << level, (index + 1) << level)`. Only perfect subtrees are stored; every
//! range the RFC recursion asks for is either such a subtree or split into them, so a
//! root or proof needs O(log n) node reads.
//!
//! The verifiers here need nothing but their arguments: a third party runs them
//! without a store.

use crate::error::{Error, Result};

/// A 32-byte BLAKE3 hash.
pub type Hash = [u8; 32];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// `BLAKE3(0x00 || data)`: the hash of one leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(&[LEAF_PREFIX]);
    h.update(data);
    *h.finalize().as_bytes()
}

/// `BLAKE3(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(&[NODE_PREFIX]);
    h.update(left);
    h.update(right);
    *h.finalize().as_bytes()
}

/// The root of the empty tree, `BLAKE3()`.
pub fn empty_root() -> Hash {
    *blake3::hash(&[]).as_bytes()
}

/// Where stored perfect-subtree hashes come from.
pub(crate) trait NodeSource {
    /// The hash of node `(level, index)`; it must exist.
    fn node(&self, level: u8, index: u64) -> Result<Hash>;
}

/// The largest power of two strictly below `n` (n >= 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[lo : lo + n])`, n >= 1.
pub(crate) fn subtree_root(src: &impl NodeSource, lo: u64, n: u64) -> Result<Hash> {
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return src.node(n.trailing_zeros() as u8, lo >> n.trailing_zeros());
    }
    let k = split(n);
    let left = subtree_root(src, lo, k)?;
    let right = subtree_root(src, lo + k, n - k)?;
    Ok(node_hash(&left, &right))
}

/// `MTH(D[0 : size])`.
pub(crate) fn root(src: &impl NodeSource, size: u64) -> Result<Hash> {
    if size == 0 {
        return Ok(empty_root());
    }
    subtree_root(src, 0, size)
}

/// `PATH(m, D[lo : lo + n])` of RFC 9162 2.1.3.1, deepest sibling first.
fn path(src: &impl NodeSource, m: u64, lo: u64, n: u64, out: &mut Vec<Hash>) -> Result<()> {
    if n == 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(src, m, lo, k, out)?;
        out.push(subtree_root(src, lo + k, n - k)?);
    } else {
        path(src, m - k, lo + k, n - k, out)?;
        out.push(subtree_root(src, lo, k)?);
    }
    Ok(())
}

/// The audit path of leaf `index` in the tree of `size` leaves.
pub(crate) fn inclusion_path(src: &impl NodeSource, index: u64, size: u64) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(Error::InvalidArgument(format!(
            "leaf {index} is not in a tree of size {size}"
        )));
    }
    let mut out = Vec::with_capacity(64);
    path(src, index, 0, size, &mut out)?;
    Ok(out)
}

/// `SUBPROOF(m, D[lo : lo + n], b)` of RFC 9162 2.1.4.1.
fn subproof(
    src: &impl NodeSource,
    m: u64,
    lo: u64,
    n: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<()> {
    if m == n {
        if !complete {
            out.push(subtree_root(src, lo, n)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, lo, k, complete, out)?;
        out.push(subtree_root(src, lo + k, n - k)?);
    } else {
        subproof(src, m - k, lo + k, n - k, false, out)?;
        out.push(subtree_root(src, lo, k)?);
    }
    Ok(())
}

/// The consistency proof between the trees of `old` and `new` leaves. Empty when
/// `old == new` or `old == 0` (every tree extends the empty one).
pub(crate) fn consistency_path(src: &impl NodeSource, old: u64, new: u64) -> Result<Vec<Hash>> {
    if old > new {
        return Err(Error::InvalidArgument(format!(
            "old size {old} is larger than new size {new}"
        )));
    }
    let mut out = Vec::with_capacity(64);
    if old > 0 && old < new {
        subproof(src, old, 0, new, true, &mut out)?;
    }
    Ok(out)
}

/// How many hashes an inclusion proof for (`index`, `size`) holds; `None` if index >= size.
pub fn inclusion_proof_len(index: u64, size: u64) -> Option<usize> {
    if index >= size {
        return None;
    }
    let (mut m, mut n, mut len) = (index, size, 0);
    while n > 1 {
        let k = split(n);
        if m < k {
            n = k;
        } else {
            m -= k;
            n -= k;
        }
        len += 1;
    }
    Some(len)
}

/// How many hashes a consistency proof from `old` to `new` holds; `None` if old > new.
pub fn consistency_proof_len(old: u64, new: u64) -> Option<usize> {
    if old > new {
        return None;
    }
    if old == 0 || old == new {
        return Some(0);
    }
    let (mut m, mut n, mut complete, mut len) = (old, new, true, 0);
    while m != n {
        let k = split(n);
        if m <= k {
            n = k;
        } else {
            m -= k;
            n -= k;
            complete = false;
        }
        len += 1;
    }
    Some(len + usize::from(!complete))
}

/// Verifies that `leaf` is leaf `index` of the tree of `size` leaves whose root is
/// `root` (RFC 9162 2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    if index >= size {
        return Err(Error::ProofInvalid(format!(
            "leaf {index} is not in a tree of size {size}"
        )));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(Error::ProofInvalid("proof is longer than the tree".into()));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(Error::ProofInvalid("proof is shorter than the tree".into()));
    }
    if &r != root {
        return Err(Error::ProofInvalid(
            "the computed root differs from the given root".into(),
        ));
    }
    Ok(())
}

/// Verifies that the tree of `new` leaves with root `new_root` extends the tree of `old`
/// leaves with root `old_root` (RFC 9162 2.1.4.2).
///
/// With `old` = 0 the proof is empty and is accepted when `old_root` is the empty tree's
/// root, whatever `new_root` is: every tree extends the empty one, so this checks nothing
/// about `new_root` (RFC 9162's verification refuses `old` = 0 instead).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    let bad = |why: &str| Err(Error::ProofInvalid(why.into()));
    if old > new {
        return bad("old size is larger than new size");
    }
    if old == new {
        if !proof.is_empty() {
            return bad("a proof between equal sizes must be empty");
        }
        return if old_root == new_root {
            Ok(())
        } else {
            bad("equal sizes but different roots")
        };
    }
    if old == 0 {
        if !proof.is_empty() {
            return bad("a proof from the empty tree must be empty");
        }
        return if *old_root == empty_root() {
            Ok(())
        } else {
            bad("old root is not the empty tree's root")
        };
    }
    if proof.is_empty() {
        return bad("empty proof");
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return bad("proof is longer than the tree");
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return bad("proof is shorter than the tree");
    }
    if &fr != old_root {
        return bad("the computed old root differs from the given old root");
    }
    if &sr != new_root {
        return bad("the computed new root differs from the given new root");
    }
    Ok(())
}

/// The right edge of the tree: the roots of the perfect subtrees that make up the
/// first `size` leaves, largest first (one per set bit of `size`). Appending a leaf is
/// O(1) amortized: push it, then merge equal-sized neighbours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Frontier {
    pub(crate) size: u64,
    pub(crate) roots: Vec<Hash>,
}

impl Frontier {
    /// Rebuilds the frontier of a tree of `size` leaves from stored nodes.
    pub(crate) fn load(src: &impl NodeSource, size: u64) -> Result<Frontier> {
        let mut roots = Vec::new();
        let mut lo = 0u64;
        for level in (0..64u8).rev() {
            if size & (1 << level) != 0 {
                roots.push(src.node(level, lo >> level)?);
                lo += 1 << level;
            }
        }
        Ok(Frontier { size, roots })
    }

    /// Appends a leaf and calls `store(level, index, hash)` for every node it completes,
    /// the leaf itself first.
    pub(crate) fn push(
        &mut self,
        leaf: Hash,
        mut store: impl FnMut(u8, u64, &Hash) -> Result<()>,
    ) -> Result<()> {
        let mut index = self.size;
        let mut level = 0u8;
        let mut h = leaf;
        store(level, index, &h)?;
        while index & 1 == 1 {
            let left = self
                .roots
                .pop()
                .ok_or_else(|| Error::Corrupted("Merkle frontier shorter than its size".into()))?;
            h = node_hash(&left, &h);
            index >>= 1;
            level += 1;
            store(level, index, &h)?;
        }
        self.roots.push(h);
        self.size += 1;
        Ok(())
    }

    /// The root of the tree this frontier describes.
    pub(crate) fn root(&self) -> Hash {
        let mut it = self.roots.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

/// Nodes held in memory, for models and tests: `levels[l][i]` is node (l, i).
#[cfg(feature = "fuzzing")]
#[derive(Clone, Debug, Default)]
pub(crate) struct MemoryTree {
    pub(crate) levels: Vec<Vec<Hash>>,
    pub(crate) frontier: Frontier,
}

#[cfg(feature = "fuzzing")]
impl MemoryTree {
    pub(crate) fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.frontier
            .push(leaf, |level, index, h| {
                let l = level as usize;
                if levels.len() <= l {
                    levels.push(Vec::new());
                }
                debug_assert_eq!(levels[l].len() as u64, index);
                levels[l].push(*h);
                Ok(())
            })
            .expect("in-memory frontier never fails");
    }
}

#[cfg(feature = "fuzzing")]
impl NodeSource for MemoryTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .ok_or_else(|| Error::Corrupted(format!("node ({level}, {index}) is missing")))
    }
}
