//! The tamper-evident, append-only audit log.
//!
//! Every entry is a leaf of a Merkle tree built as RFC 9162 section 2.1 builds it, over
//! BLAKE3 with domain separation (leaf `0x00`, node `0x01`). The API has no update and
//! no delete. Anyone holding a [`Checkpoint`] can later demand a [`ConsistencyProof`]
//! that the log only grew since, and anyone holding an entry can demand an
//! [`InclusionProof`]; both verify with the free functions here, without a store.

mod checkpoint;
mod entry;
pub(crate) mod merkle;
mod note;
mod proof;
mod query;
mod retention;
pub(crate) mod tables;
mod tlog;
mod verify;

use std::io::Write;

pub use checkpoint::{derive_mac_key, Checkpoint, CHECKPOINT_LEN};
pub use entry::{limits, AuditEntry, AuditEvent};
pub use merkle::{
    consistency_proof_len, empty_root, inclusion_proof_len, leaf_hash, node_hash,
    verify_consistency, verify_inclusion, AuditHash, Hash,
};
pub(crate) use note::MAX_NOTE;
pub use note::{NoteKeyKind, NoteSignature, NoteSigner, NoteVerifier, SignedNote};
pub use proof::{ConsistencyProof, InclusionProof};
pub use query::{AuditPage, AuditQuery, Cursor, Order, MAX_PAGE};
pub use retention::{PruneBefore, PruneRange};
pub use tlog::{Cosignature, ProofBundle, SignedCheckpoint};
pub use verify::VerifyReport;

pub(crate) use tables::{AuditState, AuditTables};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::Store;
use tables::ReadTables;

/// What an append tells its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditReceipt {
    /// The entry's seq.
    pub seq: u64,
    /// The time it was stamped with.
    pub time: Timestamp,
    /// Its Merkle leaf hash.
    pub leaf_hash: Hash,
}

/// The audit log of a [`Store`]: `store.audit()`.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'s> {
    store: &'s Store,
}

impl<'s> Audit<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Appends an entry; the store assigns its seq (gap-free from 0) and time.
    /// With [`Durability::Durable`] it returns once the entry is on disk.
    pub fn append(&self, event: AuditEvent, durability: Durability) -> Result<AuditReceipt> {
        crate::metrics::count(
            self.store,
            "audit",
            "append",
            (|| {
                // Validate here so a bad entry is refused without touching the writer.
                event.validate()?;
                self.store
                    .write(durability, move |tx| tx.audit_append_validated(&event))
            })(),
        )
    }

    /// The number of entries.
    pub fn size(&self) -> Result<u64> {
        self.tables()?.size()
    }

    /// The entry at `seq`.
    pub fn get(&self, seq: u64) -> Result<AuditEntry> {
        let t = self.tables()?;
        let bytes = t
            .entries
            .get(seq)?
            .ok_or_else(|| Error::NotFound(format!("audit entry {seq}")))?;
        AuditEntry::decode(bytes.value(), t.hash)
    }

    /// The bytes entry `seq`'s leaf hash covers (see [`AuditEntry::leaf_bytes`]).
    pub fn leaf_bytes(&self, seq: u64) -> Result<Vec<u8>> {
        self.get(seq)?.leaf_bytes()
    }

    /// The hash function of this store's tree (chosen at creation).
    pub fn hash(&self) -> Result<AuditHash> {
        Ok(self.tables()?.hash)
    }

    /// The Merkle root of the first `size` entries (`size` at most the log's size).
    pub fn root(&self, size: u64) -> Result<Hash> {
        let t = self.tables()?;
        check_size(size, t.size()?)?;
        merkle::root(&t.node_source(), size)
    }

    /// Proof that entry `seq` is in the tree of the first `tree_size` entries.
    pub fn inclusion_proof(&self, seq: u64, tree_size: u64) -> Result<InclusionProof> {
        let t = self.tables()?;
        check_size(tree_size, t.size()?)?;
        Ok(InclusionProof {
            leaf_index: seq,
            tree_size,
            hashes: merkle::inclusion_path(&t.node_source(), seq, tree_size)?,
            hash: t.hash,
        })
    }

    /// Proof that the tree of `new_size` entries extends the tree of `old_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof> {
        let t = self.tables()?;
        check_size(new_size, t.size()?)?;
        Ok(ConsistencyProof {
            old_size,
            new_size,
            hashes: merkle::consistency_path(&t.node_source(), old_size, new_size)?,
            hash: t.hash,
        })
    }

    /// The log's current size and root, stamped with the time and MAC'd when the store
    /// has an audit key.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        let t = self.tables()?;
        let size = t.size()?;
        let root = merkle::root(&t.node_source(), size)?;
        Ok(Checkpoint::new(
            self.store.id(),
            size,
            root,
            self.store.clock_now(),
            self.store.shared::<MacKey>()?.0.as_ref(),
        ))
    }

    /// A fresh checkpoint and the proof that it extends `old`, read from one snapshot.
    pub fn prove_since(&self, old: &Checkpoint) -> Result<(Checkpoint, ConsistencyProof)> {
        if old.store_id != self.store.id() {
            return Err(Error::InvalidArgument(format!(
                "checkpoint is of store {}, not {}",
                old.store_id,
                self.store.id()
            )));
        }
        let t = self.tables()?;
        let size = t.size()?;
        check_size(old.size, size)?;
        let src = t.node_source();
        let new = Checkpoint::new(
            self.store.id(),
            size,
            merkle::root(&src, size)?,
            self.store.clock_now(),
            self.store.shared::<MacKey>()?.0.as_ref(),
        );
        let proof = ConsistencyProof {
            old_size: old.size,
            new_size: size,
            hashes: merkle::consistency_path(&src, old.size, size)?,
            hash: t.hash,
        };
        Ok((new, proof))
    }

    /// The log's current size and root as a C2SP checkpoint signed by `signer` (the
    /// log's Ed25519 note key; its name is the origin). Witnesses add cosignatures
    /// ([`SignedCheckpoint::cosign`]); clients check them offline.
    ///
    /// Only a SHA-256 store signs them (`InvalidArgument` otherwise): a C2SP checkpoint's
    /// root is an RFC 6962 root, and the format has no field to say it is not.
    pub fn sign_checkpoint(&self, signer: &NoteSigner) -> Result<SignedCheckpoint> {
        let t = self.tables()?;
        c2sp_tree(t.hash)?;
        let size = t.size()?;
        SignedCheckpoint::sign(signer, size, &merkle::root(&t.node_source(), size)?)
    }

    /// An offline proof (C2SP `tlog-proof`) that entry `seq` is in the tree of a signed
    /// checkpoint of this log (with whatever cosignatures it carries), with the entry's
    /// leaf bytes as its extra data. Refused when the checkpoint is not of this log
    /// (its root is not this log's root at its size), for a pruned entry (`NotFound`: its
    /// leaf bytes are gone) and in a BLAKE3 store (see [`Audit::sign_checkpoint`]).
    pub fn proof_bundle(&self, seq: u64, checkpoint: &SignedCheckpoint) -> Result<ProofBundle> {
        let t = self.tables()?;
        c2sp_tree(t.hash)?;
        check_size(checkpoint.size, t.size()?)?;
        let src = t.node_source();
        if merkle::root(&src, checkpoint.size)? != checkpoint.root {
            return Err(Error::CheckpointInvalid(format!(
                "the checkpoint's root is not this log's root at size {}",
                checkpoint.size
            )));
        }
        let bytes = t
            .entries
            .get(seq)?
            .ok_or_else(|| Error::NotFound(format!("audit entry {seq}")))?;
        let entry = AuditEntry::decode(bytes.value(), t.hash)?;
        Ok(ProofBundle {
            extra: Some(entry.leaf_bytes()?),
            index: seq,
            proof: merkle::inclusion_path(&src, seq, checkpoint.size)?,
            checkpoint: checkpoint.clone(),
        })
    }

    /// Recomputes every leaf and node hash from the stored entries.
    pub fn verify(&self) -> Result<VerifyReport> {
        verify_read(&self.store.begin_read()?)
    }

    /// Checks the entries appended since a verified prefix (its frontier `from`): see
    /// `verify::verify_new`. Returns the log's size, the frontier checked and the first
    /// problem.
    pub(crate) fn verify_since(&self, from: &merkle::Frontier) -> Result<verify::Since> {
        let t = self.tables()?;
        if from.size == 0 {
            // Nothing checked yet: the whole log, on every core, then the frontier of
            // what that read (the same snapshot).
            let report = verify::verify(&t)?;
            if let (Some(seq), Some(problem)) = (report.first_bad_seq, report.problem) {
                return Ok((
                    report.size,
                    merkle::Frontier::default(),
                    Some((seq, problem)),
                ));
            }
            let f = merkle::Frontier::load(&t.node_source(), report.size)?;
            return Ok((report.size, f, None));
        }
        let size = t.size()?;
        let (f, bad) = verify::verify_new(&t, from, size)?;
        Ok((size, f, bad))
    }

    /// One page of entries matching `q`.
    pub fn query(&self, q: &AuditQuery) -> Result<AuditPage> {
        query::run(&self.store.begin_read()?, q)
    }

    /// Writes every entry matching `q` (from its cursor on, in pages of its limit) to `w`
    /// as JSON Lines; returns how many.
    pub fn export_jsonl(&self, q: &AuditQuery, w: impl Write) -> Result<u64> {
        query::export_jsonl(|q| self.query(q), q, w)
    }

    fn tables(&self) -> Result<ReadTables> {
        ReadTables::open(&self.store.begin_read()?)
    }
}

/// [`Audit::verify`] of the state `read` sees (a store not open as a `Store`).
pub(crate) fn verify_read(read: &redb::ReadTransaction) -> Result<VerifyReport> {
    verify::verify(&ReadTables::open(read)?)
}

/// C2SP's formats are of RFC 6962 trees: a SHA-256 store's.
fn c2sp_tree(hash: AuditHash) -> Result<()> {
    if hash != AuditHash::Sha256 {
        return Err(Error::InvalidArgument(
            "C2SP checkpoints and proofs are of RFC 6962 (SHA-256) trees: this store's tree \
             is BLAKE3 (create the store with Options::audit_hash(AuditHash::Sha256))"
                .into(),
        ));
    }
    Ok(())
}

fn check_size(asked: u64, size: u64) -> Result<()> {
    if asked > size {
        return Err(Error::InvalidArgument(format!(
            "tree size {asked} is larger than the log ({size} entries)"
        )));
    }
    Ok(())
}

impl Store {
    /// The tamper-evident audit log.
    pub fn audit(&self) -> Audit<'_> {
        Audit::new(self)
    }
}

/// The checkpoint MAC key derived from `Options::audit_key`, shared for the open.
pub(crate) struct MacKey(pub(crate) Option<[u8; 32]>);

/// Whether appends redact (`Options::redact_audit`), shared for the open.
pub(crate) struct Redact(pub(crate) bool);

/// The event with e-mail addresses and phone numbers in its actor and detail values
/// replaced, or `None` when there was nothing to replace.
fn redacted(event: &AuditEvent) -> Option<AuditEvent> {
    use crate::logs::redact::redact;
    let actor = redact(&event.actor);
    let details: Vec<Option<String>> = event.details.iter().map(|(_, v)| redact(v)).collect();
    if actor.is_none() && details.iter().all(Option::is_none) {
        return None;
    }
    let mut e = event.clone();
    if let Some(a) = actor {
        e.actor = a;
    }
    for ((_, v), r) in e.details.iter_mut().zip(details) {
        if let Some(r) = r {
            *v = r;
        }
    }
    Some(e)
}

/// The audit log's hooks: its Merkle frontier is kept by the writer.
pub(crate) struct AuditArea;

impl crate::engine::area::Area for AuditArea {
    fn begin_open(&self, txn: &redb::WriteTransaction) -> Result<()> {
        tables::fill_hash(txn)
    }

    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        let read = redb::ReadableDatabase::begin_read(ctx.db)?;
        ctx.states.insert(AuditState::load(&read)?);
        let key = ctx.opts.audit_key.as_deref().map(derive_mac_key);
        ctx.shared.insert(std::sync::Arc::new(MacKey(key)));
        ctx.shared
            .insert(std::sync::Arc::new(Redact(ctx.opts.redact_audit)));
        Ok(())
    }
}

/// The audit tables a transaction opened.
pub(crate) struct AuditPart;

impl crate::engine::area::Family for AuditPart {
    type Of<'a> = AuditTables<'a>;
}

impl<'a> crate::WriteTx<'a> {
    /// Appends an audit entry; its seq and time are assigned here.
    pub fn audit_append(&mut self, event: &AuditEvent) -> Result<AuditReceipt> {
        event.validate()?;
        self.audit_append_validated(event)
    }

    pub(crate) fn audit_append_validated(&mut self, event: &AuditEvent) -> Result<AuditReceipt> {
        if self.shared::<Redact>()?.0 {
            if let Some(e) = redacted(event) {
                return self.audit_append_raw(&e);
            }
        }
        self.audit_append_raw(event)
    }

    fn audit_append_raw(&mut self, event: &AuditEvent) -> Result<AuditReceipt> {
        let time = self.now();
        let (tables, state) = self.part_and_state::<AuditPart, AuditState>(AuditTables::open)?;
        tables.append(state, event, time)
    }

    /// The tree's hash function.
    pub(crate) fn audit_hash(&self) -> Result<AuditHash> {
        Ok(self.state::<AuditState>()?.frontier.hash)
    }

    /// The audit log's size and root, with this transaction's appends.
    pub(crate) fn audit_frontier(&self) -> Result<(u64, Hash)> {
        let f = &self.state::<AuditState>()?.frontier;
        Ok((f.size, f.root()))
    }
}
