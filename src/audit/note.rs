//! Signed notes (C2SP `signed-note`): text signed by Ed25519 keys, and the keys' text
//! forms (`vkey`, `skey`) the Go `note` package and every C2SP tool read.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one or more lines
//! `— <key name> base64(key id (4 bytes, big-endian) || signature)`. A key id is
//! `SHA-256(name || 0x0A || type || public key)[:4]`; the type byte is 0x01 for a log's
//! Ed25519 key and 0x04 for a witness's timestamped cosignature key (C2SP
//! `tlog-cosignature`). The key names are the same in both; only the type differs.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Verifiers must accept at least 16 signatures; past this many a note is refused
/// (a bound on work, not a limit anyone meets).
pub const MAX_SIGNATURES: usize = 64;
/// The largest note parsed (a checkpoint with every signature is under 8 KiB).
pub const MAX_NOTE: usize = 64 * 1024;

/// What a note key signs: a log's own signature, or a witness's cosignature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoteKeyKind {
    /// Ed25519 over the note text (type 0x01): the log's signature on its checkpoint.
    Ed25519,
    /// Timestamped Ed25519 cosignature (type 0x04), C2SP `tlog-cosignature` v1.
    Cosignature,
}

impl NoteKeyKind {
    fn type_byte(self) -> u8 {
        match self {
            NoteKeyKind::Ed25519 => 0x01,
            NoteKeyKind::Cosignature => 0x04,
        }
    }

    fn from_type_byte(b: u8) -> Result<Self> {
        match b {
            0x01 => Ok(NoteKeyKind::Ed25519),
            0x04 => Ok(NoteKeyKind::Cosignature),
            t => Err(Error::InvalidArgument(format!(
                "note key type 0x{t:02x} is neither Ed25519 (0x01) nor a cosignature (0x04)"
            ))),
        }
    }
}

/// Checks a key name: non-empty, no spaces, no `+` (signed-note's rule).
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 256 {
        return Err(Error::InvalidArgument(format!(
            "note key name {name:?} must be 1..=256 bytes"
        )));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(Error::InvalidArgument(format!(
            "note key name {name:?} must not hold spaces, control characters or '+'"
        )));
    }
    Ok(())
}

fn key_id(name: &str, kind: NoteKeyKind, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', kind.type_byte()]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// An Ed25519 private key with its note name: signs checkpoints (a log) or cosigns
/// them (a witness). The key lives only in memory; [`NoteSigner::to_skey`] gives its
/// text form for the caller to keep in a secret store.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    kind: NoteKeyKind,
    key: SigningKey,
    id: u32,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("key_id", &format_args!("{:08x}", self.id))
            .finish()
    }
}

impl NoteSigner {
    /// A new key from the OS's CSPRNG.
    pub fn generate(name: &str, kind: NoteKeyKind) -> Result<NoteSigner> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| Error::Storage(format!("no OS randomness for a note key: {e}")))?;
        Self::from_seed(name, kind, &seed)
    }

    /// The key of a 32-byte Ed25519 seed (RFC 8032's private key).
    pub fn from_seed(name: &str, kind: NoteKeyKind, seed: &[u8; 32]) -> Result<NoteSigner> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let id = key_id(name, kind, key.verifying_key().as_bytes());
        Ok(NoteSigner {
            name: name.to_string(),
            kind,
            key,
            id,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(type || seed)>`.
    pub fn from_skey(skey: &str) -> Result<NoteSigner> {
        let bad = |why: &str| Error::InvalidArgument(format!("signer key: {why}"));
        let rest = skey
            .trim_end_matches('\n')
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("it does not start with PRIVATE+KEY+"))?;
        let (name, id, data) = split_key(rest).ok_or_else(|| bad("it is not name+id+key"))?;
        let data = B64.decode(data).map_err(|_| bad("its key is not base64"))?;
        let (&t, seed) = data.split_first().ok_or_else(|| bad("its key is empty"))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| bad("its Ed25519 seed is not 32 bytes"))?;
        let s = Self::from_seed(name, NoteKeyKind::from_type_byte(t)?, &seed)?;
        if s.id != id {
            return Err(bad("its key id does not match its name and key"));
        }
        Ok(s)
    }

    /// The text form [`NoteSigner::from_skey`] reads. A secret: keep it as one.
    pub fn to_skey(&self) -> String {
        let mut data = vec![self.kind.type_byte()];
        data.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            B64.encode(data)
        )
    }

    /// The matching public key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            kind: self.kind,
            key: self.key.verifying_key(),
            id: self.id,
        }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the key signs.
    pub fn kind(&self) -> NoteKeyKind {
        self.kind
    }

    /// The 32-bit key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// A signature line's payload over `message`: key id, then `prefix`, then the
    /// Ed25519 signature (a cosignature's prefix is its 8-byte timestamp).
    pub(crate) fn sign_line(&self, prefix: &[u8], message: &[u8]) -> NoteSignature {
        let sig = self.key.sign(message);
        let mut bytes = Vec::with_capacity(prefix.len() + 64);
        bytes.extend_from_slice(prefix);
        bytes.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.id,
            bytes,
        }
    }
}

fn split_key(s: &str) -> Option<(&str, u32, &str)> {
    let mut it = s.splitn(3, '+');
    let name = it.next()?;
    let id = it.next()?;
    let data = it.next()?;
    if id.len() != 8 {
        return None;
    }
    Some((name, u32::from_str_radix(id, 16).ok()?, data))
}

/// An Ed25519 public key with its note name: checks a log's signature or a witness's
/// cosignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    kind: NoteKeyKind,
    key: VerifyingKey,
    id: u32,
}

impl NoteVerifier {
    /// Parses `<name>+<key id, 8 hex>+<base64(type || public key)>` (a `vkey`).
    pub fn from_vkey(vkey: &str) -> Result<NoteVerifier> {
        let bad = |why: &str| Error::InvalidArgument(format!("verifier key {vkey:?}: {why}"));
        let (name, id, data) =
            split_key(vkey.trim_end_matches('\n')).ok_or_else(|| bad("it is not name+id+key"))?;
        check_name(name)?;
        let data = B64.decode(data).map_err(|_| bad("its key is not base64"))?;
        let (&t, public) = data.split_first().ok_or_else(|| bad("its key is empty"))?;
        let kind = NoteKeyKind::from_type_byte(t)?;
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| bad("its Ed25519 key is not 32 bytes"))?;
        let key =
            VerifyingKey::from_bytes(&public).map_err(|_| bad("it is not an Ed25519 point"))?;
        if key_id(name, kind, &public) != id {
            return Err(bad("its key id does not match its name and key"));
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            kind,
            key,
            id,
        })
    }

    /// The text form [`NoteVerifier::from_vkey`] reads.
    pub fn to_vkey(&self) -> String {
        let mut data = vec![self.kind.type_byte()];
        data.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(data))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the key checks.
    pub fn kind(&self) -> NoteKeyKind {
        self.kind
    }

    /// The 32-bit key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Whether a signature line is this key's (name and id both match).
    pub(crate) fn owns(&self, s: &NoteSignature) -> bool {
        s.name == self.name && s.key_id == self.id
    }

    /// Checks an Ed25519 signature (64 bytes) over `message`, strictly (no malleable
    /// or small-order forms).
    pub(crate) fn check(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let sig: [u8; 64] = signature.try_into().map_err(|_| {
            Error::SignatureInvalid(format!(
                "{}: an Ed25519 signature is 64 bytes, not {}",
                self.name,
                signature.len()
            ))
        })?;
        self.key
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|_| {
                Error::SignatureInvalid(format!("{}: signature does not verify", self.name))
            })
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    /// What follows the key id: the signature (for a cosignature, timestamp first).
    pub bytes: Vec<u8>,
}

impl NoteSignature {
    fn line(&self) -> String {
        let mut data = self.key_id.to_be_bytes().to_vec();
        data.extend_from_slice(&self.bytes);
        format!("\u{2014} {} {}\n", self.name, B64.encode(data))
    }
}

/// A signed note: its text (ending in a newline) and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, final newline included.
    pub text: String,
    /// The signatures, in the order they appear.
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// The note's text form.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.text.len() + 1 + 100 * self.signatures.len());
        s.push_str(&self.text);
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.line());
        }
        s
    }

    /// Parses a note, strictly: UTF-8, no control characters but newlines, a text
    /// ending in a newline, a blank line, 1..=[`MAX_SIGNATURES`] well-formed signature
    /// lines. Never panics, whatever the input. Checks no signature: see the callers.
    pub fn parse(note: &[u8]) -> Result<SignedNote> {
        let bad = |why: String| Error::CheckpointInvalid(format!("signed note: {why}"));
        if note.len() > MAX_NOTE {
            return Err(bad(format!("{} bytes; at most {MAX_NOTE}", note.len())));
        }
        let note = std::str::from_utf8(note).map_err(|_| bad("not UTF-8".into()))?;
        if note.chars().any(|c| c < '\u{20}' && c != '\n') {
            return Err(bad("a control character other than newline".into()));
        }
        if !note.ends_with('\n') {
            return Err(bad("it does not end in a newline".into()));
        }
        // The text ends at the last blank line; everything after is signatures.
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| bad("no blank line before the signatures".into()))?;
        let text = &note[..split + 1];
        let mut signatures = Vec::new();
        for line in note[split + 2..].split_terminator('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(bad(format!("more than {MAX_SIGNATURES} signatures")));
            }
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or_else(|| bad(format!("line {line:?} is not a signature")))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad(format!("signature line {line:?} has no signature")))?;
            // Any name a signer could use, however long: an unknown signer's line is
            // ignored by the verifiers, never a reason to refuse the note.
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
                return Err(bad(format!("signature key name {name:?} is malformed")));
            }
            let data = B64
                .decode(b64)
                .map_err(|_| bad(format!("signature of {name} is not base64")))?;
            if data.len() < 5 {
                return Err(bad(format!("signature of {name} is too short")));
            }
            signatures.push(NoteSignature {
                name: name.to_string(),
                key_id: u32::from_be_bytes([data[0], data[1], data[2], data[3]]),
                bytes: data[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(bad("no signature".into()));
        }
        Ok(SignedNote {
            text: text.to_string(),
            signatures,
        })
    }
}
