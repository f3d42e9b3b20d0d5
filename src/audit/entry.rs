//! Audit entries: what a caller gives ([`AuditEvent`]), what the store keeps
//! ([`AuditEntry`]), the documented limits, and the stored record encoding.

use serde::{Deserialize, Serialize};

use crate::audit::merkle::{AuditHash, Hash};
use crate::clock::Timestamp;
use crate::codec;
use crate::error::{Error, Result};

/// The documented limits on an audit entry, in bytes of UTF-8.
pub mod limits {
    /// Tenant: required, 1..=128 bytes.
    pub const TENANT: usize = 128;
    /// Actor (user or service id): 0..=256 bytes.
    pub const ACTOR: usize = 256;
    /// Action: required, 1..=128 bytes.
    pub const ACTION: usize = 128;
    /// Resource: 0..=1024 bytes.
    pub const RESOURCE: usize = 1024;
    /// Outcome (for example "success", "denied"): 0..=64 bytes.
    pub const OUTCOME: usize = 64;
    /// IP address: empty, or an IPv4 / IPv6 address in text form (at most 45 bytes).
    pub const IP: usize = 45;
    /// User agent: 0..=512 bytes.
    pub const USER_AGENT: usize = 512;
    /// Details: at most 64 key/value pairs.
    pub const DETAILS: usize = 64;
    /// A detail key: 1..=128 bytes.
    pub const DETAIL_KEY: usize = 128;
    /// A detail value: 0..=4096 bytes.
    pub const DETAIL_VALUE: usize = 4096;
    /// The whole encoded entry: at most 64 KiB.
    pub const ENTRY: usize = 64 * 1024;
}

/// An audit event to append. The store assigns its seq and time.
///
/// ```
/// let ev = hardstore::AuditEvent::new("acme", "invoice.paid")
///     .actor("user:42")
///     .resource("invoice/1001")
///     .outcome("success")
///     .detail("amount", "120.00");
/// assert!(ev.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEvent {
    /// The tenant (organisation, account); required.
    pub tenant: String,
    /// Who acted.
    pub actor: String,
    /// What was done; required.
    pub action: String,
    /// What it was done to.
    pub resource: String,
    /// How it ended.
    pub outcome: String,
    /// The client's IP address, if known.
    pub ip: String,
    /// The client's user agent, if known.
    pub user_agent: String,
    /// Further key/value pairs, in the order given.
    pub details: Vec<(String, String)>,
}

impl AuditEvent {
    /// An event with the two required fields.
    pub fn new(tenant: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            action: action.into(),
            ..Self::default()
        }
    }

    /// Sets the actor.
    pub fn actor(mut self, v: impl Into<String>) -> Self {
        self.actor = v.into();
        self
    }

    /// Sets the resource.
    pub fn resource(mut self, v: impl Into<String>) -> Self {
        self.resource = v.into();
        self
    }

    /// Sets the outcome.
    pub fn outcome(mut self, v: impl Into<String>) -> Self {
        self.outcome = v.into();
        self
    }

    /// Sets the IP address.
    pub fn ip(mut self, v: impl Into<String>) -> Self {
        self.ip = v.into();
        self
    }

    /// Sets the user agent.
    pub fn user_agent(mut self, v: impl Into<String>) -> Self {
        self.user_agent = v.into();
        self
    }

    /// Adds a detail pair after the ones already present.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.push((key.into(), value.into()));
        self
    }

    /// Checks every documented limit. Appends call this; nothing is written on error.
    pub fn validate(&self) -> Result<()> {
        if self.tenant.is_empty() {
            return Err(Error::InvalidArgument("tenant must not be empty".into()));
        }
        if self.action.is_empty() {
            return Err(Error::InvalidArgument("action must not be empty".into()));
        }
        check_len("tenant", &self.tenant, limits::TENANT)?;
        check_len("actor", &self.actor, limits::ACTOR)?;
        check_len("action", &self.action, limits::ACTION)?;
        check_len("resource", &self.resource, limits::RESOURCE)?;
        check_len("outcome", &self.outcome, limits::OUTCOME)?;
        check_len("ip", &self.ip, limits::IP)?;
        check_len("user_agent", &self.user_agent, limits::USER_AGENT)?;
        if !self.ip.is_empty() && self.ip.parse::<std::net::IpAddr>().is_err() {
            return Err(Error::InvalidArgument(format!(
                "ip {:?} is not an IPv4 or IPv6 address",
                self.ip
            )));
        }
        if self.details.len() > limits::DETAILS {
            return Err(Error::TooLong {
                field: "details (pairs)",
                len: self.details.len(),
                max: limits::DETAILS,
            });
        }
        let mut total = 0usize;
        for (k, v) in &self.details {
            if k.is_empty() {
                return Err(Error::InvalidArgument(
                    "detail key must not be empty".into(),
                ));
            }
            check_len("detail key", k, limits::DETAIL_KEY)?;
            check_len("detail value", v, limits::DETAIL_VALUE)?;
            total += k.len() + v.len();
        }
        total += self.tenant.len()
            + self.actor.len()
            + self.action.len()
            + self.resource.len()
            + self.outcome.len()
            + self.ip.len()
            + self.user_agent.len();
        // Strings plus postcard's length prefixes and the fixed fields stay well inside
        // this bound; checking the sum keeps validation free of an encode.
        let encoded_upper_bound = total + 5 * (9 + 2 * self.details.len()) + 32;
        if encoded_upper_bound > limits::ENTRY {
            return Err(Error::TooLong {
                field: "entry",
                len: encoded_upper_bound,
                max: limits::ENTRY,
            });
        }
        Ok(())
    }
}

fn check_len(field: &'static str, v: &str, max: usize) -> Result<()> {
    if v.len() > max {
        return Err(Error::TooLong {
            field,
            len: v.len(),
            max,
        });
    }
    Ok(())
}

/// An entry as stored: the event plus the seq and time the store assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the log, from 0, gap-free.
    pub seq: u64,
    /// When it was appended, microseconds since the Unix epoch.
    pub time: Timestamp,
    /// See [`AuditEvent::tenant`].
    pub tenant: String,
    /// See [`AuditEvent::actor`].
    pub actor: String,
    /// See [`AuditEvent::action`].
    pub action: String,
    /// See [`AuditEvent::resource`].
    pub resource: String,
    /// See [`AuditEvent::outcome`].
    pub outcome: String,
    /// See [`AuditEvent::ip`].
    pub ip: String,
    /// See [`AuditEvent::user_agent`].
    pub user_agent: String,
    /// See [`AuditEvent::details`].
    pub details: Vec<(String, String)>,
    /// `Some(leaf hash)` when retention pruned the entry: its payload is gone (only seq,
    /// time, tenant and action remain), its leaf hash is kept, so the log's root,
    /// proofs and verify are unchanged.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hex_leaf")]
    pub pruned: Option<Hash>,
    /// The hash of the tree it was read from (what [`AuditEntry::leaf_hash`] uses).
    #[serde(skip)]
    pub hash: AuditHash,
}

fn hex_leaf<S: serde::Serializer>(
    leaf: &Option<Hash>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match leaf {
        Some(h) => s.serialize_str(&h.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        None => s.serialize_none(),
    }
}

/// The record version byte of a pruned entry (a tombstone).
pub(crate) const RECORD_PRUNED: u8 = 0x50;

/// A pruned entry as stored: what retention keeps. Never change it: add a version.
#[derive(Serialize, Deserialize)]
struct PrunedV1 {
    seq: u64,
    time: u64,
    tenant: String,
    action: String,
    leaf: Hash,
}

/// The stored layout under record version 1, borrowed for encoding. It must serialize
/// exactly as [`RecordV1`] does. Never change either: add a version instead.
#[derive(Serialize)]
pub(crate) struct RecordV1Ref<'a> {
    pub(crate) seq: u64,
    pub(crate) time: u64,
    pub(crate) tenant: &'a str,
    pub(crate) actor: &'a str,
    pub(crate) action: &'a str,
    pub(crate) resource: &'a str,
    pub(crate) outcome: &'a str,
    pub(crate) ip: &'a str,
    pub(crate) user_agent: &'a str,
    pub(crate) details: &'a [(String, String)],
}

impl<'a> RecordV1Ref<'a> {
    pub(crate) fn from_event(event: &'a AuditEvent, seq: u64, time: Timestamp) -> Self {
        RecordV1Ref {
            seq,
            time,
            tenant: &event.tenant,
            actor: &event.actor,
            action: &event.action,
            resource: &event.resource,
            outcome: &event.outcome,
            ip: &event.ip,
            user_agent: &event.user_agent,
            details: &event.details,
        }
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        codec::encode(self)
    }
}

/// The stored layout under record version 1, owned for decoding.
#[derive(Deserialize)]
struct RecordV1 {
    seq: u64,
    time: u64,
    tenant: String,
    actor: String,
    action: String,
    resource: String,
    outcome: String,
    ip: String,
    user_agent: String,
    details: Vec<(String, String)>,
}

impl AuditEntry {
    /// The stored record bytes: the Merkle leaf data of this entry (for a pruned entry,
    /// its tombstone).
    pub fn to_record(&self) -> Result<Vec<u8>> {
        if let Some(leaf) = self.pruned {
            let t = PrunedV1 {
                seq: self.seq,
                time: self.time,
                tenant: self.tenant.clone(),
                action: self.action.clone(),
                leaf,
            };
            return postcard::to_extend(&t, vec![RECORD_PRUNED])
                .map_err(|e| Error::InvalidArgument(format!("record does not encode: {e}")));
        }
        RecordV1Ref {
            seq: self.seq,
            time: self.time,
            tenant: &self.tenant,
            actor: &self.actor,
            action: &self.action,
            resource: &self.resource,
            outcome: &self.outcome,
            ip: &self.ip,
            user_agent: &self.user_agent,
            details: &self.details,
        }
        .encode()
    }

    /// Decodes stored record bytes of a BLAKE3 store. Never panics, whatever the input.
    pub fn from_record(bytes: &[u8]) -> Result<AuditEntry> {
        Self::decode(bytes, AuditHash::Blake3)
    }

    /// Decodes stored record bytes of a store whose tree uses `hash`.
    pub fn decode(bytes: &[u8], hash: AuditHash) -> Result<AuditEntry> {
        if bytes.first() == Some(&RECORD_PRUNED) {
            let (t, rest): (PrunedV1, _) = postcard::take_from_bytes(&bytes[1..])?;
            if !rest.is_empty() {
                return Err(Error::Corrupted(format!(
                    "{} trailing bytes after a pruned record",
                    rest.len()
                )));
            }
            return Ok(AuditEntry {
                seq: t.seq,
                time: t.time,
                tenant: t.tenant,
                actor: String::new(),
                action: t.action,
                resource: String::new(),
                outcome: String::new(),
                ip: String::new(),
                user_agent: String::new(),
                details: Vec::new(),
                pruned: Some(t.leaf),
                hash,
            });
        }
        let r: RecordV1 = codec::decode(bytes)?;
        Ok(AuditEntry {
            seq: r.seq,
            time: r.time,
            tenant: r.tenant,
            actor: r.actor,
            action: r.action,
            resource: r.resource,
            outcome: r.outcome,
            ip: r.ip,
            user_agent: r.user_agent,
            details: r.details,
            pruned: None,
            hash,
        })
    }

    /// The bytes this entry's Merkle leaf hash covers: `H(0x00 || leaf_bytes)`. Their
    /// layout is specified byte by byte in `docs/audit-entry-encoding.md`, so a third
    /// party can recompute a leaf from an entry's fields. A pruned entry has none left
    /// (`NotFound`); its kept leaf hash still proves it.
    pub fn leaf_bytes(&self) -> Result<Vec<u8>> {
        if self.pruned.is_some() {
            return Err(Error::NotFound(format!(
                "the leaf bytes of audit entry {}: it was pruned (its leaf hash is kept)",
                self.seq
            )));
        }
        self.to_record()
    }

    /// This entry's Merkle leaf hash, `H(0x00 || leaf_bytes)` with the store's hash:
    /// what an inclusion proof proves. A pruned entry gives the leaf hash it kept.
    pub fn leaf_hash(&self) -> Result<Hash> {
        match self.pruned {
            Some(h) => Ok(h),
            None => Ok(self.hash.leaf(&self.to_record()?)),
        }
    }

    /// This entry as retention keeps it: payload gone, leaf hash kept.
    pub(crate) fn to_pruned(&self) -> Result<AuditEntry> {
        Ok(AuditEntry {
            actor: String::new(),
            resource: String::new(),
            outcome: String::new(),
            ip: String::new(),
            user_agent: String::new(),
            details: Vec::new(),
            pruned: Some(self.leaf_hash()?),
            ..self.clone()
        })
    }
}

/// Reads the seq at the front of a stored record (an entry or a tombstone) without
/// decoding the rest.
pub(crate) fn record_seq(bytes: &[u8]) -> Option<u64> {
    let (&v, body) = bytes.split_first()?;
    if v != codec::RECORD_V1 && v != RECORD_PRUNED {
        return None;
    }
    postcard::take_from_bytes::<u64>(body).ok().map(|(s, _)| s)
}

/// The leaf hash a stored record stands for: computed from an entry, kept in a
/// tombstone (a tombstone that does not decode stands for no valid leaf: all zeros).
pub(crate) fn record_leaf(bytes: &[u8], hash: AuditHash) -> Hash {
    if bytes.first() == Some(&RECORD_PRUNED) {
        return AuditEntry::from_record(bytes)
            .ok()
            .and_then(|e| e.pruned)
            .unwrap_or([0; 32]);
    }
    hash.leaf(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of `docs/audit-entry-encoding.md`: if this fails, the spec
    /// and the code disagree.
    #[test]
    fn the_spec_example_encodes_and_hashes_as_documented() {
        let e = AuditEvent::new("acme", "invoice.paid")
            .actor("user:42")
            .resource("invoice/1001")
            .outcome("success")
            .ip("203.0.113.7")
            .detail("amount", "120.00");
        let bytes = RecordV1Ref::from_event(&e, 0, 1_767_225_600_000_000)
            .encode()
            .unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "0100808081b184e991030461636d6507757365723a34320c696e766f6963652e7061696\
             40c696e766f6963652f3130303107737563636573730b3230332e302e3131332e370001\
             06616d6f756e74063132302e3030"
        );
        let h = |x: Hash| x.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            h(AuditHash::Blake3.leaf(&bytes)),
            "351a6fa42f9bfc82882ffac557098eb8a98eb3067964a1fa55599b294b9a9651"
        );
        assert_eq!(
            h(AuditHash::Sha256.leaf(&bytes)),
            "7b970bb90eb9bdec22e968b996d949cd0d4ba993e1426f93d36e9c346a8974d9"
        );
        let entry = AuditEntry::decode(&bytes, AuditHash::Sha256).unwrap();
        assert_eq!(entry.leaf_bytes().unwrap(), bytes);
        assert_eq!(entry.leaf_hash().unwrap(), AuditHash::Sha256.leaf(&bytes));
        assert!(matches!(
            entry.to_pruned().unwrap().leaf_bytes(),
            Err(Error::NotFound(_))
        ));
    }
}
