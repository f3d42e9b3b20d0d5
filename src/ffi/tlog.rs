//! The C ABI for the audit tree's hash, leaf bytes, and C2SP signed checkpoints:
//! note keys, signing, cosigning, verifying, and offline proof bundles.
//!
//! Notes, keys (`vkey`, `skey`) and bundles cross the boundary as their text (bytes
//! with a length). Witness keys are given as one text of `vkey` lines.

use super::audit::hardstore_audit_entry;
use super::bytes::{give_bytes, hardstore_bytes};
use super::store::{hardstore_options, hardstore_store};
use super::{
    arg, arg_mut, bytes_arg, free_box, guard, hardstore_result, hash_arg, out, str_arg, FfiResult,
};
use crate::audit::{
    AuditHash, ConsistencyProof, InclusionProof, NoteKeyKind, NoteSigner, NoteVerifier,
    ProofBundle, SignedCheckpoint,
};
use crate::error::Error;

/// The BLAKE3 audit tree (the default).
pub const HARDSTORE_AUDIT_HASH_BLAKE3: u32 = 1;
/// The SHA-256 audit tree (RFC 6962's, for C2SP tooling).
pub const HARDSTORE_AUDIT_HASH_SHA256: u32 = 2;
/// Longest note key name, in bytes.
pub const HARDSTORE_LIMIT_NOTE_NAME: usize = 256;
/// Longest note, bundle or key list given, in bytes (64 KiB).
pub const HARDSTORE_LIMIT_NOTE: usize = 64 << 10;

const _: () = assert!(HARDSTORE_AUDIT_HASH_BLAKE3 == 1 && HARDSTORE_AUDIT_HASH_SHA256 == 2);
const _: () = assert!(HARDSTORE_LIMIT_NOTE == crate::audit::MAX_NOTE);

/// An Ed25519 note key with its name: a log's (signs checkpoints) or a witness's
/// (cosigns them). Free with `hardstore_note_signer_free`.
pub struct hardstore_note_signer {
    inner: NoteSigner,
}

fn hash_code(code: u32) -> FfiResult<AuditHash> {
    Ok(AuditHash::from_code(code)?)
}

unsafe fn text_arg<'a>(p: *const u8, len: usize, name: &'static str) -> FfiResult<&'a str> {
    str_arg(p, len, name, HARDSTORE_LIMIT_NOTE)
}

unsafe fn witnesses_arg(p: *const u8, len: usize) -> FfiResult<Vec<NoteVerifier>> {
    let text = text_arg(p, len, "witness_vkeys")?;
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        out.push(NoteVerifier::from_vkey(line.trim())?);
    }
    Ok(out)
}

/// Sets the audit tree's hash for a store this open creates
/// (`HARDSTORE_AUDIT_HASH_BLAKE3`, the default, or `HARDSTORE_AUDIT_HASH_SHA256`). An
/// existing store keeps its own.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_audit_hash(
    options: *mut hardstore_options,
    hash: u32,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        let h = hash_code(hash)?;
        o.inner = o.inner.clone().audit_hash(h);
        Ok(())
    })
}

/// Writes the store's audit tree hash (`HARDSTORE_AUDIT_HASH_*`) to `*out_hash`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_hash(
    store: *const hardstore_store,
    out_hash: *mut u32,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_hash, "out_hash")?;
        *o = s.store.audit().hash()?.code();
        Ok(())
    })
}

/// Writes the bytes the entry's leaf hash covers (`H(0x00 || bytes)`; their layout is
/// `docs/audit-entry-encoding.md`) to a new `*out_bytes`, owned by the caller.
/// `HARDSTORE_NOT_FOUND` for a pruned entry (only its leaf hash is kept).
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_entry_leaf_bytes(
    entry: *const hardstore_audit_entry,
    out_bytes: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let e = arg(entry, "entry")?;
        let o = out(out_bytes, "out_bytes")?;
        give_bytes(e.inner.leaf_bytes()?, o);
        Ok(())
    })
}

/// `hardstore_verify_inclusion` for a tree of `hash` (`HARDSTORE_AUDIT_HASH_*`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_verify_inclusion_with_hash(
    hash: u32,
    leaf_hash: *const u8,
    index: u64,
    tree_size: u64,
    proof: *const u8,
    proof_len: usize,
    root: *const u8,
) -> hardstore_result {
    guard(|| {
        let h = hash_code(hash)?;
        let leaf = hash_arg(leaf_hash, "leaf_hash")?;
        let root = hash_arg(root, "root")?;
        let proof = bytes_arg(proof, proof_len, "proof")?;
        InclusionProof::from_bytes(index, tree_size, proof)?
            .with_hash(h)
            .verify(&leaf, &root)?;
        Ok(())
    })
}

/// `hardstore_verify_consistency` for a tree of `hash` (`HARDSTORE_AUDIT_HASH_*`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_verify_consistency_with_hash(
    hash: u32,
    old_size: u64,
    new_size: u64,
    old_root: *const u8,
    new_root: *const u8,
    proof: *const u8,
    proof_len: usize,
) -> hardstore_result {
    guard(|| {
        let h = hash_code(hash)?;
        let old_root = hash_arg(old_root, "old_root")?;
        let new_root = hash_arg(new_root, "new_root")?;
        let proof = bytes_arg(proof, proof_len, "proof")?;
        ConsistencyProof::from_bytes(old_size, new_size, proof)?
            .with_hash(h)
            .verify(&old_root, &new_root)?;
        Ok(())
    })
}

/// Makes a new Ed25519 note key named `name` (no spaces, no `+`; a schema-less URL is
/// recommended) from the OS's CSPRNG: a witness's cosignature key when `cosigner`, else
/// a log's. `*out_signer` is owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn hardstore_note_signer_generate(
    name: *const u8,
    name_len: usize,
    cosigner: bool,
    out_signer: *mut *mut hardstore_note_signer,
) -> hardstore_result {
    guard(|| {
        let n = str_arg(name, name_len, "name", HARDSTORE_LIMIT_NOTE_NAME)?;
        let o = out(out_signer, "out_signer")?;
        let kind = if cosigner {
            NoteKeyKind::Cosignature
        } else {
            NoteKeyKind::Ed25519
        };
        let inner = NoteSigner::generate(n, kind)?;
        *o = Box::into_raw(Box::new(hardstore_note_signer { inner }));
        Ok(())
    })
}

/// Reads a signer key (`PRIVATE+KEY+<name>+<id>+<key>`) into a new `*out_signer`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_note_signer_from_skey(
    skey: *const u8,
    skey_len: usize,
    out_signer: *mut *mut hardstore_note_signer,
) -> hardstore_result {
    guard(|| {
        let k = text_arg(skey, skey_len, "skey")?;
        let o = out(out_signer, "out_signer")?;
        let inner = NoteSigner::from_skey(k)?;
        *o = Box::into_raw(Box::new(hardstore_note_signer { inner }));
        Ok(())
    })
}

/// Writes the signer's private key text (`PRIVATE+KEY+...`, a secret) to a new
/// `*out_skey`, owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn hardstore_note_signer_skey(
    signer: *const hardstore_note_signer,
    out_skey: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(signer, "signer")?;
        let o = out(out_skey, "out_skey")?;
        give_bytes(s.inner.to_skey().into_bytes(), o);
        Ok(())
    })
}

/// Writes the signer's public key text (`<name>+<id>+<key>`, a `vkey`) to a new
/// `*out_vkey`, owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn hardstore_note_signer_vkey(
    signer: *const hardstore_note_signer,
    out_vkey: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(signer, "signer")?;
        let o = out(out_vkey, "out_vkey")?;
        give_bytes(s.inner.verifier().to_vkey().into_bytes(), o);
        Ok(())
    })
}

/// Frees a signer (NULL is accepted).
#[no_mangle]
pub unsafe extern "C" fn hardstore_note_signer_free(signer: *mut hardstore_note_signer) {
    free_box(signer);
}

/// Signs the log's current size and root with `signer` (a log key; its name is the
/// origin) as a C2SP checkpoint note, written to a new `*out_note` owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_checkpoint_sign(
    store: *const hardstore_store,
    signer: *const hardstore_note_signer,
    out_note: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let k = arg(signer, "signer")?;
        let o = out(out_note, "out_note")?;
        let cp = s.store.audit().sign_checkpoint(&k.inner)?;
        give_bytes(cp.to_note().into_bytes(), o);
        Ok(())
    })
}

/// Adds a witness's cosignature made at `time` (seconds since the epoch) to a
/// checkpoint note; the cosigned note goes to a new `*out_note`. The caller, as the
/// witness, has checked the checkpoint's consistency with the last one it saw.
#[no_mangle]
pub unsafe extern "C" fn hardstore_checkpoint_note_cosign(
    note: *const u8,
    note_len: usize,
    witness: *const hardstore_note_signer,
    time: u64,
    out_note: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let mut cp = SignedCheckpoint::parse(bytes_arg(note, note_len, "note")?)?;
        let w = arg(witness, "witness")?;
        let o = out(out_note, "out_note")?;
        cp.cosign(&w.inner, time)?;
        give_bytes(cp.to_note().into_bytes(), o);
        Ok(())
    })
}

/// Verifies a checkpoint note: the log's signature (`log_vkey`), and cosignatures from
/// at least `quorum` of the witnesses (`witness_vkeys`: `vkey` lines; empty for none).
/// On success writes its size, its 32-byte root and how many witnesses cosigned.
/// `HARDSTORE_SIGNATURE_INVALID` when a signature fails or the quorum is not met,
/// `HARDSTORE_CHECKPOINT_INVALID` when the note is malformed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_checkpoint_note_verify(
    note: *const u8,
    note_len: usize,
    log_vkey: *const u8,
    log_vkey_len: usize,
    witness_vkeys: *const u8,
    witness_vkeys_len: usize,
    quorum: usize,
    out_size: *mut u64,
    out_root: *mut u8,
    out_cosigned: *mut usize,
) -> hardstore_result {
    guard(|| {
        let cp = SignedCheckpoint::parse(bytes_arg(note, note_len, "note")?)?;
        let log = NoteVerifier::from_vkey(text_arg(log_vkey, log_vkey_len, "log_vkey")?)?;
        let witnesses = witnesses_arg(witness_vkeys, witness_vkeys_len)?;
        let os = out(out_size, "out_size")?;
        let or = out(out_root, "out_root")?;
        let oc = out(out_cosigned, "out_cosigned")?;
        cp.verify(&log)?;
        let cosigned = cp.verify_cosignatures(&witnesses, quorum)?;
        *os = cp.size;
        std::ptr::copy_nonoverlapping(cp.root.as_ptr(), or, 32);
        *oc = cosigned.len();
        Ok(())
    })
}

/// Writes an offline proof (C2SP `tlog-proof`) that entry `seq` is in the tree of a
/// checkpoint note of this log (cosignatures kept) to a new `*out_bundle`, owned by the
/// caller. `HARDSTORE_CHECKPOINT_INVALID` when the note is not of this log.
#[no_mangle]
pub unsafe extern "C" fn hardstore_audit_proof_bundle(
    store: *const hardstore_store,
    seq: u64,
    note: *const u8,
    note_len: usize,
    out_bundle: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let cp = SignedCheckpoint::parse(bytes_arg(note, note_len, "note")?)?;
        let o = out(out_bundle, "out_bundle")?;
        let b = s.store.audit().proof_bundle(seq, &cp)?;
        give_bytes(b.to_text().into_bytes(), o);
        Ok(())
    })
}

/// Verifies a `tlog-proof` bundle offline, without a store: the log's signature, a
/// quorum of witness cosignatures, and the inclusion of `hash(0x00 || leaf bytes)` in
/// the checkpoint's tree of `hash` (`HARDSTORE_AUDIT_HASH_*`). On success writes the
/// entry's index and its leaf bytes (a new `*out_leaf_bytes`, owned by the caller).
#[no_mangle]
pub unsafe extern "C" fn hardstore_proof_bundle_verify(
    bundle: *const u8,
    bundle_len: usize,
    log_vkey: *const u8,
    log_vkey_len: usize,
    witness_vkeys: *const u8,
    witness_vkeys_len: usize,
    quorum: usize,
    hash: u32,
    out_index: *mut u64,
    out_leaf_bytes: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        if bundle_len > HARDSTORE_LIMIT_NOTE {
            return Err(Error::TooLong {
                field: "bundle",
                len: bundle_len,
                max: HARDSTORE_LIMIT_NOTE,
            }
            .into());
        }
        let b = ProofBundle::parse(bytes_arg(bundle, bundle_len, "bundle")?)?;
        let log = NoteVerifier::from_vkey(text_arg(log_vkey, log_vkey_len, "log_vkey")?)?;
        let witnesses = witnesses_arg(witness_vkeys, witness_vkeys_len)?;
        let h = hash_code(hash)?;
        let oi = out(out_index, "out_index")?;
        let ol = out(out_leaf_bytes, "out_leaf_bytes")?;
        let leaf = b.verify(&log, &witnesses, quorum, h)?;
        *oi = b.index;
        give_bytes(leaf, ol);
        Ok(())
    })
}
