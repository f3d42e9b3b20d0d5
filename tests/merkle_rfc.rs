//! The store's roots and proofs against RFC 9162 section 2.1, written out naively
//! from the RFC's recursive definitions, for every tree size 1..=300 and every leaf.

mod common;

use hardstore::audit::{
    consistency_proof_len, inclusion_proof_len, leaf_hash, node_hash, verify_consistency,
    verify_inclusion,
};
use hardstore::{ConsistencyProof, Durability, Hash, InclusionProof, Options, Store};

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

thread_local! {
    static MEMO: std::cell::RefCell<std::collections::HashMap<(usize, usize), Hash>> =
        Default::default();
}

/// MTH(D[n]) over leaf hashes (the leaf hashing is already applied), memoized by the
/// slice's position so the naive recursion stays cheap.
fn mth(leaves: &[Hash]) -> Hash {
    let key = (leaves.as_ptr() as usize, leaves.len());
    if let Some(h) = MEMO.with(|m| m.borrow().get(&key).copied()) {
        return h;
    }
    let h = mth_uncached(leaves);
    MEMO.with(|m| m.borrow_mut().insert(key, h));
    h
}

fn mth_uncached(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => *blake3::hash(&[]).as_bytes(),
        1 => leaves[0],
        n => {
            let k = k_of(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]).
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n == 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b).
fn subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { vec![] } else { vec![mth(leaves)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], b);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

#[test]
fn proofs_match_rfc_9162_for_every_size_to_300() {
    let dir = common::TempDir::new("rfc");
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    let audit = store.audit();
    let mut leaves = Vec::new();
    for i in 0..300u64 {
        let r = audit
            .append(common::event(i), Durability::Buffered)
            .unwrap();
        assert_eq!(r.seq, i);
        let entry = audit.get(i).unwrap();
        assert_eq!(entry.leaf_hash().unwrap(), r.leaf_hash);
        assert_eq!(leaf_hash(&entry.to_record().unwrap()), r.leaf_hash);
        leaves.push(r.leaf_hash);
    }
    let roots: Vec<Hash> = (0..=300).map(|n| mth(&leaves[..n])).collect();
    for n in 1..=300usize {
        let root = audit.root(n as u64).unwrap();
        assert_eq!(root, roots[n], "root of size {n}");
        for m in 0..n {
            let proof = audit.inclusion_proof(m as u64, n as u64).unwrap();
            let expected = path(m, &leaves[..n]);
            assert_eq!(proof.hashes, expected, "PATH({m}, D[{n}])");
            assert_eq!(
                Some(expected.len()),
                inclusion_proof_len(m as u64, n as u64)
            );
            verify_inclusion(&leaves[m], m as u64, n as u64, &proof.hashes, &root).unwrap();
            // Wrong leaf, wrong index and wrong root all fail.
            let other = leaves[(m + 1) % n];
            if other != leaves[m] {
                assert!(proof.verify(&other, &root).is_err());
            }
            if n > 1 {
                let wrong_index = (m as u64 + 1) % n as u64;
                assert!(
                    verify_inclusion(&leaves[m], wrong_index, n as u64, &proof.hashes, &root)
                        .is_err()
                );
            }
            assert!(proof.verify(&leaves[m], &roots[n - 1]).is_err());
            // Byte round trip, and a wrong length is refused.
            let bytes = proof.to_bytes();
            assert!(bytes.len() <= 32 * (n as f64).log2().ceil() as usize);
            assert_eq!(
                InclusionProof::from_bytes(m as u64, n as u64, &bytes).unwrap(),
                proof
            );
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(InclusionProof::from_bytes(m as u64, n as u64, &longer).is_err());
            if !bytes.is_empty() {
                assert!(InclusionProof::from_bytes(m as u64, n as u64, &bytes[1..]).is_err());
            }
        }
        for m in 1..n {
            let proof = audit.consistency_proof(m as u64, n as u64).unwrap();
            let expected = subproof(m, &leaves[..n], true);
            assert_eq!(proof.hashes, expected, "PROOF({m}, D[{n}])");
            assert_eq!(
                Some(expected.len()),
                consistency_proof_len(m as u64, n as u64)
            );
            verify_consistency(m as u64, n as u64, &roots[m], &roots[n], &proof.hashes).unwrap();
            assert!(proof.verify(&roots[m - 1], &roots[n]).is_err());
            assert!(proof.verify(&roots[m], &roots[n - 1]).is_err());
            let bytes = proof.to_bytes();
            assert_eq!(
                ConsistencyProof::from_bytes(m as u64, n as u64, &bytes).unwrap(),
                proof
            );
            assert!(ConsistencyProof::from_bytes(m as u64, n as u64, &[0u8; 31]).is_err());
        }
        // Equal sizes and the empty tree.
        let same = audit.consistency_proof(n as u64, n as u64).unwrap();
        assert!(same.hashes.is_empty());
        same.verify(&roots[n], &roots[n]).unwrap();
        let from_empty = audit.consistency_proof(0, n as u64).unwrap();
        from_empty.verify(&roots[0], &roots[n]).unwrap();
    }
    assert!(audit.root(301).is_err());
    assert!(audit.inclusion_proof(300, 300).is_err());
    assert!(audit.consistency_proof(5, 4).is_err());
    store.close().unwrap();
}
