//! The Merkle tree of RFC 9162 section 2.1, over BLAKE3 (the default) or SHA-256 (see
//! [`AuditHash`]) with domain separation.
//!
//! `MTH({}) = H()`, `MTH({d}) = H(0x00 || d)`, and for n > 1 with k the largest power
//! of two below n, `MTH(D[n]) = H(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`. With SHA-256 this
//! is RFC 6962's tree, so existing transparency-log tooling checks its roots and proofs.
//!
//! Stored layout: node `(level, index)` is the root of the perfect subtree over leaves
//! `[index << level, (index + 1) << level)`. Only perfect subtrees are stored; every
//! range the RFC recursion asks for is either such a subtree or split into them, so a
//! root or proof needs O(log n) node reads.
//!
//! The verifiers here need nothing but their arguments: a third party runs them
//! without a store.

use crate::error::{Error, Result};

/// A 32-byte hash (BLAKE3 or SHA-256, as the store's [`AuditHash`]).
pub type Hash = [u8; 32];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// The hash function of a store's audit tree, chosen when the store is created
/// ([`Options::audit_hash`](crate::Options::audit_hash)) and fixed for its life.
///
/// Both build the same RFC 9162 tree with the same prefixes; only `H` differs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AuditHash {
    /// BLAKE3: the default.
    #[default]
    Blake3,
    /// SHA-256: RFC 6962's tree, the one C2SP checkpoints and transparency-log tooling
    /// (witnesses, `tlog` verifiers) expect.
    Sha256,
}

impl AuditHash {
    /// The code stored in the file and used by the C ABI: 1 = BLAKE3, 2 = SHA-256.
    pub fn code(self) -> u32 {
        match self {
            AuditHash::Blake3 => 1,
            AuditHash::Sha256 => 2,
        }
    }

    /// The hash of a code from [`AuditHash::code`].
    pub fn from_code(code: u32) -> Result<AuditHash> {
        match code {
            1 => Ok(AuditHash::Blake3),
            2 => Ok(AuditHash::Sha256),
            c => Err(Error::InvalidArgument(format!(
                "audit hash code {c} is neither 1 (BLAKE3) nor 2 (SHA-256)"
            ))),
        }
    }

    /// "blake3" or "sha256".
    pub fn name(self) -> &'static str {
        match self {
            AuditHash::Blake3 => "blake3",
            AuditHash::Sha256 => "sha256",
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Hash {
        match self {
            AuditHash::Blake3 => {
                let mut h = blake3::Hasher::new();
                for p in parts {
                    h.update(p);
                }
                *h.finalize().as_bytes()
            }
            AuditHash::Sha256 => {
                use sha2::Digest;
                let mut h = sha2::Sha256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
        }
    }

    /// `H(0x00 || data)`: the hash of one leaf.
    pub fn leaf(self, data: &[u8]) -> Hash {
        self.digest(&[&[LEAF_PREFIX], data])
    }

    /// `H(0x01 || left || right)`: the hash of an interior node.
    pub fn node(self, left: &Hash, right: &Hash) -> Hash {
        self.digest(&[&[NODE_PREFIX], left, right])
    }

    /// The root of the empty tree, `H()`.
    pub fn empty_root(self) -> Hash {
        self.digest(&[])
    }

    /// [`verify_inclusion`] under this hash.
    pub fn verify_inclusion(
        self,
        leaf: &Hash,
        index: u64,
        size: u64,
        proof: &[Hash],
        root: &Hash,
    ) -> Result<()> {
        inclusion_with(self, leaf, index, size, proof, root)
    }

    /// [`verify_consistency`] under this hash.
    pub fn verify_consistency(
        self,
        old: u64,
        new: u64,
        old_root: &Hash,
        new_root: &Hash,
        proof: &[Hash],
    ) -> Result<()> {
        consistency_with(self, old, new, old_root, new_root, proof)
    }
}

impl std::str::FromStr for AuditHash {
    type Err = Error;

    fn from_str(s: &str) -> Result<AuditHash> {
        match s {
            "blake3" => Ok(AuditHash::Blake3),
            "sha256" => Ok(AuditHash::Sha256),
            other => Err(Error::InvalidArgument(format!(
                "audit hash {other:?} is neither blake3 nor sha256"
            ))),
        }
    }
}

/// `BLAKE3(0x00 || data)`: the hash of one leaf of a BLAKE3 store.
pub fn leaf_hash(data: &[u8]) -> Hash {
    AuditHash::Blake3.leaf(data)
}

/// `BLAKE3(0x01 || left || right)`: an interior node of a BLAKE3 store.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    AuditHash::Blake3.node(left, right)
}

/// The root of the empty BLAKE3 tree, `BLAKE3()`.
pub fn empty_root() -> Hash {
    AuditHash::Blake3.empty_root()
}

/// Where stored perfect-subtree hashes come from.
pub(crate) trait NodeSource {
    /// The hash of node `(level, index)`; it must exist.
    fn node(&self, level: u8, index: u64) -> Result<Hash>;
    /// The hash function the nodes were made with.
    fn hash(&self) -> AuditHash;
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
    Ok(src.hash().node(&left, &right))
}

/// `MTH(D[0 : size])`.
pub(crate) fn root(src: &impl NodeSource, size: u64) -> Result<Hash> {
    if size == 0 {
        return Ok(src.hash().empty_root());
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

/// Verifies that `leaf` is leaf `index` of the BLAKE3 tree of `size` leaves whose root
/// is `root` (RFC 9162 2.1.3.2). For a SHA-256 store: [`AuditHash::verify_inclusion`].
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    inclusion_with(AuditHash::Blake3, leaf, index, size, proof, root)
}

fn inclusion_with(
    alg: AuditHash,
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    let node_hash = |l: &Hash, r: &Hash| alg.node(l, r);
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

/// Verifies that the BLAKE3 tree of `new` leaves with root `new_root` extends the tree
/// of `old` leaves with root `old_root` (RFC 9162 2.1.4.2). For a SHA-256 store:
/// [`AuditHash::verify_consistency`].
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
    consistency_with(AuditHash::Blake3, old, new, old_root, new_root, proof)
}

fn consistency_with(
    alg: AuditHash,
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    let node_hash = |l: &Hash, r: &Hash| alg.node(l, r);
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
        return if *old_root == alg.empty_root() {
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
    pub(crate) hash: AuditHash,
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
        Ok(Frontier {
            size,
            roots,
            hash: src.hash(),
        })
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
            h = self.hash.node(&left, &h);
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
            None => self.hash.empty_root(),
            Some(last) => it.fold(*last, |acc, left| self.hash.node(left, &acc)),
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

    fn hash(&self) -> AuditHash {
        self.frontier.hash
    }
}
