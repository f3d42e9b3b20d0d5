//! The transparency-log text formats of C2SP: signed checkpoints (`tlog-checkpoint`),
//! witness cosignatures (`tlog-cosignature` v1, Ed25519) and offline proofs
//! (`tlog-proof`).
//!
//! A checkpoint's body is `<origin>\n<size>\n<base64 root>\n` plus optional extension
//! lines, signed as a note by the log's key, whose name is the origin. The formats are
//! of RFC 6962 trees, so only a SHA-256 store ([`AuditHash::Sha256`]) makes them; they
//! verify with the ecosystem's tools too.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::audit::merkle::{AuditHash, Hash};
use crate::audit::note::{NoteKeyKind, NoteSigner, NoteVerifier, SignedNote};
use crate::error::{Error, Result};

/// A checkpoint: the log's origin, size and root, with its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The log's identity (the signing key's name).
    pub origin: String,
    /// How many entries the tree holds.
    pub size: u64,
    /// The tree's root.
    pub root: Hash,
    /// Lines after the root, signed with it (none are written here).
    pub extensions: Vec<String>,
    /// The note: its text is the body above, its signatures the log's and witnesses'.
    pub note: SignedNote,
}

/// A witness's cosignature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's key name.
    pub name: String,
    /// When it cosigned, in seconds since the Unix epoch.
    pub time: u64,
}

fn body(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root))
}

fn cosigned_message(time: u64, body: &str) -> String {
    format!("cosignature/v1\ntime {time}\n{body}")
}

fn parse_decimal(s: &str, what: &str) -> Result<u64> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    let v = if ok { s.parse::<u64>().ok() } else { None };
    v.ok_or_else(|| Error::CheckpointInvalid(format!("{what} {s:?} is not a decimal number")))
}

impl SignedCheckpoint {
    /// Signs (`size`, `root`) with the log's key (an Ed25519 note key; its name is the
    /// origin).
    pub fn sign(signer: &NoteSigner, size: u64, root: &Hash) -> Result<SignedCheckpoint> {
        if signer.kind() != NoteKeyKind::Ed25519 {
            return Err(Error::InvalidArgument(
                "a checkpoint is signed with a log key (Ed25519), not a cosignature key".into(),
            ));
        }
        let text = body(signer.name(), size, root);
        let sig = signer.sign_line(&[], text.as_bytes());
        Ok(SignedCheckpoint {
            origin: signer.name().to_string(),
            size,
            root: *root,
            extensions: Vec::new(),
            note: SignedNote {
                text,
                signatures: vec![sig],
            },
        })
    }

    /// Parses a checkpoint note. Checks its form only: see [`SignedCheckpoint::verify`].
    pub fn parse(note: &[u8]) -> Result<SignedCheckpoint> {
        let note = SignedNote::parse(note)?;
        let bad = |why: &str| Error::CheckpointInvalid(format!("checkpoint: {why}"));
        let mut lines = note.text.split_terminator('\n');
        let origin = lines.next().filter(|o| !o.is_empty());
        let origin = origin.ok_or_else(|| bad("no origin line"))?.to_string();
        let size = parse_decimal(lines.next().ok_or_else(|| bad("no size line"))?, "size")?;
        let root = B64
            .decode(lines.next().ok_or_else(|| bad("no root line"))?)
            .map_err(|_| bad("the root is not base64"))?;
        let root: Hash = root
            .try_into()
            .map_err(|_| bad("the root is not 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("an empty extension line"));
        }
        Ok(SignedCheckpoint {
            origin,
            size,
            root,
            extensions,
            note,
        })
    }

    /// The note's text form.
    pub fn to_note(&self) -> String {
        self.note.to_text()
    }

    /// Checks the log's signature: `log` must be an Ed25519 key named as the origin
    /// (tlog-checkpoint's SHOULD, required here: a key of another name is not this
    /// log's), with a signature line that verifies. `SignatureInvalid` otherwise.
    pub fn verify(&self, log: &NoteVerifier) -> Result<()> {
        if log.kind() != NoteKeyKind::Ed25519 {
            return Err(Error::InvalidArgument(
                "a log's signature is checked with an Ed25519 key, not a cosignature key".into(),
            ));
        }
        if log.name() != self.origin {
            return Err(Error::SignatureInvalid(format!(
                "the checkpoint's origin is {:?}, not the key's name {:?}",
                self.origin,
                log.name()
            )));
        }
        let mut found = false;
        for s in self.note.signatures.iter().filter(|s| log.owns(s)) {
            log.check(self.note.text.as_bytes(), &s.bytes)?;
            found = true;
        }
        if !found {
            return Err(Error::SignatureInvalid(format!(
                "no signature by {} (key id {:08x})",
                log.name(),
                log.key_id()
            )));
        }
        Ok(())
    }

    /// Checks the witnesses' cosignatures: every line of a listed witness must verify
    /// (one that does not fails the call), and at least `quorum` distinct witnesses
    /// must have cosigned. Lines of unlisted keys are ignored, as signed-note says. A
    /// public key listed twice (under any name) is refused: it would count twice.
    /// Returns the cosignatures that verified.
    pub fn verify_cosignatures(
        &self,
        witnesses: &[NoteVerifier],
        quorum: usize,
    ) -> Result<Vec<Cosignature>> {
        let mut keys = std::collections::HashSet::new();
        for w in witnesses {
            if !keys.insert(w.public_key()) {
                return Err(Error::InvalidArgument(format!(
                    "witness key {} is listed twice (a key counts once toward a quorum)",
                    w.name()
                )));
            }
        }
        let mut ok = Vec::new();
        for w in witnesses {
            if w.kind() != NoteKeyKind::Cosignature {
                return Err(Error::InvalidArgument(format!(
                    "witness key {} is not a cosignature key (type 0x04)",
                    w.name()
                )));
            }
            let mut seen = false;
            for s in self.note.signatures.iter().filter(|s| w.owns(s)) {
                if s.bytes.len() != 8 + 64 {
                    return Err(Error::SignatureInvalid(format!(
                        "{}: a cosignature is 72 bytes, not {}",
                        w.name(),
                        s.bytes.len()
                    )));
                }
                let time = u64::from_be_bytes(s.bytes[..8].try_into().expect("8 bytes"));
                if time > i64::MAX as u64 {
                    return Err(Error::SignatureInvalid(format!(
                        "{}: cosignature time {time} is past 2^63 - 1",
                        w.name()
                    )));
                }
                w.check(
                    cosigned_message(time, &self.note.text).as_bytes(),
                    &s.bytes[8..],
                )?;
                if !seen {
                    ok.push(Cosignature {
                        name: w.name().to_string(),
                        time,
                    });
                    seen = true;
                }
            }
        }
        if ok.len() < quorum {
            return Err(Error::SignatureInvalid(format!(
                "{} of the {} witnesses cosigned; {quorum} are required",
                ok.len(),
                witnesses.len()
            )));
        }
        Ok(ok)
    }

    /// Adds a witness's cosignature at `time` (seconds since the epoch): what a witness
    /// does once it has checked the checkpoint's consistency with the last it saw.
    pub fn cosign(&mut self, witness: &NoteSigner, time: u64) -> Result<()> {
        if witness.kind() != NoteKeyKind::Cosignature {
            return Err(Error::InvalidArgument(
                "a cosignature is made with a cosignature key (type 0x04)".into(),
            ));
        }
        if time > i64::MAX as u64 {
            return Err(Error::InvalidArgument(format!(
                "cosignature time {time} is past 2^63 - 1"
            )));
        }
        let msg = cosigned_message(time, &self.note.text);
        let line = witness.sign_line(&time.to_be_bytes(), msg.as_bytes());
        self.note.signatures.push(line);
        Ok(())
    }
}

/// An offline proof (C2SP `tlog-proof@v1`) that an entry is in a signed checkpoint's
/// tree. Its `extra` carries the entry's leaf bytes, so a verifier recomputes the leaf
/// hash itself (see `docs/audit-entry-encoding.md`). Bundles from other writers may
/// lack it; [`ProofBundle::verify`] then refuses them (it proves a leaf's bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofBundle {
    /// Opaque extra data; here the entry's leaf bytes (absent for a pruned entry).
    pub extra: Option<Vec<u8>>,
    /// The entry's seq.
    pub index: u64,
    /// The inclusion proof in the checkpoint's tree, leaf's sibling first.
    pub proof: Vec<Hash>,
    /// The checkpoint, with its cosignatures.
    pub checkpoint: SignedCheckpoint,
}

const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

impl ProofBundle {
    /// The `.tlog-proof` text.
    pub fn to_text(&self) -> String {
        let mut s = format!("{PROOF_HEADER}\n");
        if let Some(x) = &self.extra {
            s.push_str(&format!("extra {}\n", B64.encode(x)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint.to_note());
        s
    }

    /// Parses a `.tlog-proof` text. Checks its form only: see [`ProofBundle::verify`].
    pub fn parse(text: &[u8]) -> Result<ProofBundle> {
        let bad = |why: &str| Error::ProofInvalid(format!("tlog-proof: {why}"));
        let s = std::str::from_utf8(text).map_err(|_| bad("not UTF-8"))?;
        let s = s
            .strip_prefix(PROOF_HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or_else(|| bad("it does not start with c2sp.org/tlog-proof@v1"))?;
        let (head, checkpoint) = s
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n').peekable();
        let mut extra = None;
        if let Some(x) = lines.peek().and_then(|l| l.strip_prefix("extra ")) {
            extra = Some(B64.decode(x).map_err(|_| bad("extra is not base64"))?);
            lines.next();
        }
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .ok_or_else(|| bad("no index line"))?;
        let index = parse_decimal(index, "index").map_err(|e| bad(&e.to_string()))?;
        let mut proof = Vec::new();
        for l in lines {
            let h = B64
                .decode(l)
                .map_err(|_| bad("a proof line is not base64"))?;
            proof.push(
                h.try_into()
                    .map_err(|_| bad("a proof hash is not 32 bytes"))?,
            );
            if proof.len() > 64 {
                return Err(bad("more than 64 proof hashes"));
            }
        }
        Ok(ProofBundle {
            extra,
            index,
            proof,
            checkpoint: SignedCheckpoint::parse(checkpoint.as_bytes())?,
        })
    }

    /// Verifies the bundle offline: the log's signature, a quorum of the witnesses'
    /// cosignatures, and that `hash(0x00 || extra)` is leaf `index` of the
    /// checkpoint's tree. Returns the leaf bytes, now proven.
    pub fn verify(
        &self,
        log: &NoteVerifier,
        witnesses: &[NoteVerifier],
        quorum: usize,
        hash: AuditHash,
    ) -> Result<Vec<u8>> {
        self.checkpoint.verify(log)?;
        self.checkpoint.verify_cosignatures(witnesses, quorum)?;
        let leaf = self.extra.as_ref().ok_or_else(|| {
            Error::ProofInvalid("the bundle carries no leaf bytes (a pruned entry)".into())
        })?;
        hash.verify_inclusion(
            &hash.leaf(leaf),
            self.index,
            self.checkpoint.size,
            &self.proof,
            &self.checkpoint.root,
        )?;
        Ok(leaf.clone())
    }
}
