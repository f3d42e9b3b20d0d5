//! Sealed fields: values encrypted for a subject (a user, a customer) with AES-256-GCM,
//! so that shredding the subject makes every one of them unreadable, everywhere.
//!
//! **Envelope encryption** (Tink's model). The caller gives the store a keyset: key ids
//! and their 32 bytes, as [`Keyset`] bytes or a [`KeyFn`] callback
//! ([`Options::sealing_keys`](crate::Options::sealing_keys)); the store never writes a
//! key to its file, only each key's status (enabled, disabled, destroyed) and a check
//! value. One key is the primary. Each subject gets its own random data key, stored
//! wrapped (encrypted) by the primary; fields are sealed with the subject's data key.
//!
//! - **Shred** ([`Sealing::shred`]) destroys one row, the subject's wrapped data key: a
//!   millisecond whatever the number of fields, and every field sealed for the subject,
//!   wherever it was copied (app tables, dead letters, idempotency bodies, audit
//!   details, exports, backups taken after the shred), reads as [`Error::Shredded`].
//!   Backups taken before the shred still hold the wrapped key; destroying the key of
//!   the keyset that wrapped it (after a rotation) ends those too.
//! - **The audit log stays verifiable**: a sealed audit detail is its ciphertext (text
//!   form, [`to_text`]), and the leaf hash commits to that, so a shred changes no hash.
//! - **Rotation**: [`Sealing::add_key`] a new key, [`Sealing::set_primary`] it (new data
//!   keys are wrapped by it), then [`Sealing::rewrap`] re-wraps existing data keys in
//!   bounded steps (maintenance, and so the janitor, runs them too); then the old key can be disabled or
//!   destroyed.
//! - A seal creates the subject's data key on first use, in the same transaction
//!   ([`WriteTx::seal`]) or, outside one, with a durable write of its own.
//!
//! ```
//! use hardstore::sealing::Keyset;
//! use hardstore::{Options, Store};
//! let keys = Keyset::new().with(1, [7; 32]); // from your secrets manager, never the store
//! let store = Store::in_memory(Options::new().sealing_keys(keys))?;
//! store.sealing().add_key(1)?;
//! let card = store.sealing().seal("user:42", b"4111 1111 1111 1111")?;
//! assert_eq!(store.sealing().open(&card)?, b"4111 1111 1111 1111");
//! store.sealing().shred("user:42")?;
//! assert!(matches!(store.sealing().open(&card), Err(hardstore::Error::Shredded(_))));
//! # Ok::<(), hardstore::Error>(())
//! ```

mod blob;
mod keys;
pub(crate) mod tables;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use parking_lot::{Mutex, RwLock};
use redb::ReadableTable;

pub use blob::{from_text, to_text, TEXT_PREFIX};
pub use keys::{KeyFn, KeySource, Keyset};

use crate::audit::AuditEvent;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::Store;
use crate::WriteTx;
use tables::{KeyRecord, SubjectRecord};

/// Field limits, in bytes.
pub mod limits {
    /// A subject: 1..=128 bytes of UTF-8.
    pub const SUBJECT: usize = 128;
    /// A sealed value: at most 16 MiB.
    pub const PLAINTEXT: usize = 16 << 20;
}

/// The tenant sealing's audit entries are under.
const AUDIT_TENANT: &str = "hardstore";
/// Data keys kept unwrapped in memory, at most.
const DEK_CACHE: usize = 65_536;

/// A key's state in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum KeyStatus {
    /// Wraps (if primary) and unwraps data keys.
    Enabled = 0,
    /// Refused until enabled again (the subjects it wraps cannot be read meanwhile).
    Disabled = 1,
    /// Refused for ever: the subjects it still wrapped are unreadable.
    Destroyed = 2,
}

impl KeyStatus {
    fn from_u8(v: u8) -> Option<KeyStatus> {
        [
            KeyStatus::Enabled,
            KeyStatus::Disabled,
            KeyStatus::Destroyed,
        ]
        .get(usize::from(v))
        .copied()
    }

    /// "enabled", "disabled" or "destroyed".
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Enabled => "enabled",
            KeyStatus::Disabled => "disabled",
            KeyStatus::Destroyed => "destroyed",
        }
    }
}

/// A key of the store's keyset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// Its id.
    pub id: u32,
    /// Its state.
    pub status: KeyStatus,
    /// Whether new data keys are wrapped by it.
    pub primary: bool,
    /// When it was added.
    pub added_at: Timestamp,
    /// Live subjects whose data key it wraps.
    pub subjects: u64,
    /// Whether the key source gives the right bytes for it now.
    pub available: bool,
}

/// What a [`Sealing::rewrap`] step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RewrapReport {
    /// Data keys re-wrapped by the primary in this step.
    pub rewrapped: u64,
    /// Live subjects still wrapped by another key.
    pub remaining: u64,
}

/// The store's keyset as committed (a mirror of `sealing.keys` and the primary).
#[derive(Debug, Clone, Default)]
struct KeyState {
    records: BTreeMap<u32, KeyRecord>,
    primary: Option<u32>,
}

/// What sealing shares with the write path (a shared object).
pub(crate) struct Shared {
    source: Option<Arc<dyn KeySource>>,
    keys: RwLock<KeyState>,
    /// Key ciphers whose bytes matched their check value.
    keks: Mutex<HashMap<u32, Arc<Aes256Gcm>>>,
    /// Data keys unwrapped: subject -> (generation, cipher).
    deks: RwLock<HashMap<String, (u32, Arc<Aes256Gcm>)>>,
}

/// The options' key source, printable without its keys.
#[derive(Clone)]
pub(crate) struct SourceHandle(pub(crate) Arc<dyn KeySource>);

impl std::fmt::Debug for SourceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySource(..)")
    }
}

fn check_subject(s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::InvalidArgument("subject must not be empty".into()));
    }
    if s.len() > limits::SUBJECT {
        return Err(Error::TooLong {
            field: "subject",
            len: s.len(),
            max: limits::SUBJECT,
        });
    }
    Ok(())
}

fn check_plaintext(p: &[u8]) -> Result<()> {
    if p.len() > limits::PLAINTEXT {
        return Err(Error::TooLong {
            field: "plaintext",
            len: p.len(),
            max: limits::PLAINTEXT,
        });
    }
    Ok(())
}

impl Shared {
    /// The verified cipher of key `id`, or why it is not available.
    fn kek(&self, id: u32) -> Result<Arc<Aes256Gcm>> {
        let rec = self.keys.read().records.get(&id).copied().ok_or_else(|| {
            Error::KeyUnavailable(format!("key {id} is not in the store's keyset"))
        })?;
        match KeyStatus::from_u8(rec.status) {
            Some(KeyStatus::Enabled) => {}
            Some(s) => return Err(Error::KeyUnavailable(format!("key {id} is {}", s.as_str()))),
            None => return Err(Error::Corrupted(format!("key {id} status {}", rec.status))),
        }
        if let Some(c) = self.keks.lock().get(&id) {
            return Ok(c.clone());
        }
        let bytes = self.bytes_of(id)?;
        if keys::check_value(&bytes) != rec.kcv {
            return Err(Error::KeyUnavailable(format!(
                "the bytes given for key {id} are not the key this store knows by that id"
            )));
        }
        let c = Arc::new(keys::cipher(&bytes));
        self.keks.lock().insert(id, c.clone());
        Ok(c)
    }

    fn bytes_of(&self, id: u32) -> Result<[u8; 32]> {
        self.source.as_ref().and_then(|s| s.key(id)).ok_or_else(|| {
            Error::KeyUnavailable(format!(
                "key {id} was not given to the store (Options::sealing_keys)"
            ))
        })
    }

    /// The enabled keys' ids, and the primary's: what a rotation's steps can move from.
    fn enabled_keys(&self) -> (Vec<u32>, Option<u32>) {
        let k = self.keys.read();
        let ids = k
            .records
            .iter()
            .filter(|(_, r)| r.status == KeyStatus::Enabled as u8)
            .map(|(id, _)| *id)
            .collect();
        (ids, k.primary)
    }

    fn primary(&self) -> Result<u32> {
        self.keys.read().primary.ok_or_else(|| {
            Error::KeyUnavailable("the store has no sealing key: add one (Sealing::add_key)".into())
        })
    }

    fn cached(&self, subject: &str, generation: u32) -> Option<Arc<Aes256Gcm>> {
        self.deks
            .read()
            .get(subject)
            .filter(|(g, _)| *g == generation)
            .map(|(_, c)| c.clone())
    }

    fn cache(&self, subject: &str, generation: u32, c: Arc<Aes256Gcm>) {
        let mut m = self.deks.write();
        if m.len() >= DEK_CACHE && !m.contains_key(subject) {
            // Bounded: start over rather than track recency (a miss costs one unwrap).
            m.clear();
        }
        m.insert(subject.to_owned(), (generation, c));
    }

    /// The data key cipher of a live subject record.
    fn dek_of(&self, subject: &str, rec: &SubjectRecord) -> Result<Arc<Aes256Gcm>> {
        if let Some(c) = self.cached(subject, rec.generation) {
            return Ok(c);
        }
        let kek = self.kek(rec.kek_id)?;
        let dek = keys::unwrap(&kek, rec.kek_id, subject, rec.generation, &rec.wrapped)?;
        let c = Arc::new(keys::cipher(&dek));
        self.cache(subject, rec.generation, c.clone());
        Ok(c)
    }
}

fn seal_with(dek: &Aes256Gcm, subject: &str, generation: u32, plaintext: &[u8]) -> Result<Vec<u8>> {
    let mut out = blob::header(subject, generation);
    let nonce = keys::random::<{ blob::NONCE }>()?;
    let sealed = dek
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &out,
            },
        )
        .map_err(|_| Error::Storage("AES-GCM refused to seal".into()))?;
    out.reserve(nonce.len() + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open_with(dek: &Aes256Gcm, p: &blob::Parsed<'_>) -> Result<Vec<u8>> {
    dek.decrypt(
        Nonce::from_slice(p.nonce),
        Payload {
            msg: p.sealed,
            aad: p.header,
        },
    )
    .map_err(|_| {
        Error::SealedInvalid(format!(
            "a field of {:?} does not authenticate (edited, cut, or of another store)",
            p.subject
        ))
    })
}

/// Why a blob of `generation` cannot be read under the subject's `rec`.
fn not_live(subject: &str, generation: u32, rec: Option<&SubjectRecord>) -> Option<Error> {
    match rec {
        None => Some(Error::SealedInvalid(format!(
            "no data key for {subject:?} in this store (a field of another store?)"
        ))),
        // Generations start at 1: a 0 is an edited header, not a shredded subject.
        Some(_) if generation == 0 => Some(Error::SealedInvalid(format!(
            "a field of {subject:?} with generation 0 (edited)"
        ))),
        Some(r)
            if generation < r.generation
                || (generation == r.generation && r.wrapped.is_empty()) =>
        {
            Some(Error::Shredded(format!("{subject:?} was shredded")))
        }
        Some(r) if generation > r.generation => Some(Error::SealedInvalid(format!(
            "a field of {subject:?} from a generation this store never had"
        ))),
        Some(_) => None,
    }
}

/// The sealed fields of a [`Store`]: `store.sealing()`.
#[derive(Debug, Clone, Copy)]
pub struct Sealing<'s> {
    store: &'s Store,
}

impl Store {
    /// Sealed fields: encrypt values per subject, shred a subject, rotate keys.
    pub fn sealing(&self) -> Sealing<'_> {
        Sealing { store: self }
    }
}

impl<'s> Sealing<'s> {
    fn shared(&self) -> Result<&'s Arc<Shared>> {
        self.store.shared::<Arc<Shared>>()
    }

    /// Seals `plaintext` for `subject`; returns the blob (see [`to_text`] for text).
    /// The subject's data key is made on first use, durably, before the blob is returned.
    pub fn seal(&self, subject: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        check_subject(subject)?;
        check_plaintext(plaintext)?;
        let shared = self.shared()?;
        // Fast path: a data key already in memory. (Cache entries are only of committed,
        // live generations; a seal racing a shred of the same subject may return a
        // field that shred made unreadable.)
        if let Some((g, c)) = shared.deks.read().get(subject).cloned() {
            return seal_with(&c, subject, g, plaintext);
        }
        let rec = tables::read_subject(&self.store.begin_read()?, subject)?;
        if let Some(rec) = rec.filter(|r| !r.wrapped.is_empty()) {
            let c = shared.dek_of(subject, &rec)?;
            return seal_with(&c, subject, rec.generation, plaintext);
        }
        let (s, p) = (subject.to_owned(), plaintext.to_vec());
        self.store
            .write(Durability::Durable, move |tx| tx.seal(&s, &p))
    }

    /// [`Sealing::seal`] in the text form (`hs-sealed:...`), for text fields.
    pub fn seal_text(&self, subject: &str, plaintext: &str) -> Result<String> {
        Ok(to_text(&self.seal(subject, plaintext.as_bytes())?))
    }

    /// Opens a blob from `seal`. [`Error::Shredded`] once its subject was shredded,
    /// [`Error::SealedInvalid`] for bytes that are not an intact blob of this store,
    /// [`Error::KeyUnavailable`] when the key wrapping its data key is not available.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        let p = blob::parse(sealed)?;
        let shared = self.shared()?;
        if let Some(c) = shared.cached(p.subject, p.generation) {
            return open_with(&c, &p);
        }
        let rec = tables::read_subject(&self.store.begin_read()?, p.subject)?;
        if let Some(e) = not_live(p.subject, p.generation, rec.as_ref()) {
            return Err(e);
        }
        let rec = rec.expect("live");
        let c = shared.dek_of(p.subject, &rec)?;
        open_with(&c, &p)
    }

    /// Opens a text form from [`Sealing::seal_text`] as UTF-8.
    pub fn open_text(&self, sealed: &str) -> Result<String> {
        String::from_utf8(self.open(&from_text(sealed)?)?)
            .map_err(|_| Error::InvalidUtf8("sealed text"))
    }

    /// Shreds `subject`, durably, with an audit entry: its data key is destroyed, so
    /// every field sealed for it is unreadable from now on. Returns whether there was a
    /// live key to destroy (false: never sealed for, or shredded already).
    pub fn shred(&self, subject: &str) -> Result<bool> {
        check_subject(subject)?;
        let s = subject.to_owned();
        self.store
            .write(Durability::Durable, move |tx| tx.sealing_shred(&s))
    }

    /// Adds key `id` (its bytes must come from the key source) to the store's keyset,
    /// durably, with an audit entry. The first key added becomes the primary.
    pub fn add_key(&self, id: u32) -> Result<()> {
        let shared = self.shared()?.clone();
        let bytes = shared.bytes_of(id)?;
        if shared.keys.read().records.contains_key(&id) {
            return Err(Error::InvalidArgument(format!(
                "key {id} is in the keyset already"
            )));
        }
        let rec = KeyRecord {
            status: KeyStatus::Enabled as u8,
            kcv: keys::check_value(&bytes),
            added_at: self.store.clock_now(),
        };
        self.store.write(Durability::Durable, move |tx| {
            let mut t = tx.tracked(tables::KEYS)?;
            if t.get(id)?.is_some() {
                return Err(Error::InvalidArgument(format!(
                    "key {id} is in the keyset already"
                )));
            }
            t.insert(id, tables::encode(&rec)?.as_slice())?;
            drop(t);
            let mut meta = tx.tracked(tables::META)?;
            let first = meta.get(tables::PRIMARY)?.is_none();
            if first {
                meta.insert(tables::PRIMARY, u64::from(id))?;
            }
            drop(meta);
            let ev = AuditEvent::new(AUDIT_TENANT, "sealing.key_add")
                .resource(format!("sealing_key/{id}"))
                .detail("primary", first.to_string());
            tx.audit_append(&ev)?;
            let shared = shared.clone();
            tx.after(Box::new(move |ok| {
                if ok {
                    let mut k = shared.keys.write();
                    k.records.insert(id, rec);
                    if first {
                        k.primary = Some(id);
                    }
                }
            }));
            Ok(())
        })
    }

    /// Makes key `id` the primary (it must be enabled and available), durably, with an
    /// audit entry: new data keys are wrapped by it; [`Sealing::rewrap`] moves the rest.
    pub fn set_primary(&self, id: u32) -> Result<()> {
        let shared = self.shared()?.clone();
        shared.kek(id)?;
        self.store.write(Durability::Durable, move |tx| {
            tx.tracked(tables::META)?
                .insert(tables::PRIMARY, u64::from(id))?;
            let ev = AuditEvent::new(AUDIT_TENANT, "sealing.key_primary")
                .resource(format!("sealing_key/{id}"));
            tx.audit_append(&ev)?;
            let shared = shared.clone();
            tx.after(Box::new(move |ok| {
                if ok {
                    shared.keys.write().primary = Some(id);
                }
            }));
            Ok(())
        })
    }

    /// Disables key `id` (not the primary), durably, with an audit entry: the subjects
    /// it wraps cannot be read until it is enabled again.
    pub fn disable_key(&self, id: u32) -> Result<()> {
        self.set_status(id, KeyStatus::Disabled, "sealing.key_disable")
    }

    /// Enables a disabled key again.
    pub fn enable_key(&self, id: u32) -> Result<()> {
        self.set_status(id, KeyStatus::Enabled, "sealing.key_enable")
    }

    /// Destroys key `id` (not the primary) for ever, durably, with an audit entry: the
    /// subjects it still wraps become unreadable. Refused with
    /// [`Error::ConfirmationRequired`] (changing nothing) when they are more than
    /// `confirm`; [`Sealing::rewrap`] first to lose none. Returns how many it made
    /// unreadable.
    pub fn destroy_key(&self, id: u32, confirm: u64) -> Result<u64> {
        if self.shared()?.keys.read().primary == Some(id) {
            return Err(Error::InvalidArgument(format!(
                "key {id} is the primary: make another key primary first"
            )));
        }
        let lost = tables::count_by_kek(&self.store.begin_read()?, id)?;
        if lost > confirm {
            return Err(Error::ConfirmationRequired {
                what: format!("destroying key {id} makes {lost} subjects' fields unreadable"),
                deletes: lost,
            });
        }
        self.set_status(id, KeyStatus::Destroyed, "sealing.key_destroy")?;
        Ok(lost)
    }

    fn set_status(&self, id: u32, status: KeyStatus, action: &'static str) -> Result<()> {
        let shared = self.shared()?.clone();
        let rec = {
            let k = shared.keys.read();
            let rec = *k
                .records
                .get(&id)
                .ok_or_else(|| Error::NotFound(format!("sealing key {id}")))?;
            if k.primary == Some(id) && status != KeyStatus::Enabled {
                return Err(Error::InvalidArgument(format!(
                    "key {id} is the primary: make another key primary first"
                )));
            }
            if rec.status == KeyStatus::Destroyed as u8 {
                return Err(Error::KeyUnavailable(format!("key {id} is destroyed")));
            }
            if rec.status == status as u8 {
                // Already so: nothing to write or audit.
                return Ok(());
            }
            KeyRecord {
                status: status as u8,
                ..rec
            }
        };
        self.store.write(Durability::Durable, move |tx| {
            tx.tracked(tables::KEYS)?
                .insert(id, tables::encode(&rec)?.as_slice())?;
            let ev = AuditEvent::new(AUDIT_TENANT, action).resource(format!("sealing_key/{id}"));
            tx.audit_append(&ev)?;
            let shared = shared.clone();
            tx.after(Box::new(move |ok| {
                if ok {
                    shared.keys.write().records.insert(id, rec);
                    shared.keks.lock().remove(&id);
                    if status != KeyStatus::Enabled {
                        // Data keys it unwrapped must not outlive it in memory.
                        shared.deks.write().clear();
                    }
                }
            }));
            Ok(())
        })
    }

    /// The store's keyset: every key with its status and the subjects it wraps.
    pub fn keys(&self) -> Result<Vec<KeyInfo>> {
        let shared = self.shared()?;
        let state = shared.keys.read().clone();
        let read = self.store.begin_read()?;
        state
            .records
            .iter()
            .map(|(id, r)| {
                Ok(KeyInfo {
                    id: *id,
                    status: KeyStatus::from_u8(r.status)
                        .ok_or_else(|| Error::Corrupted(format!("key {id} status {}", r.status)))?,
                    primary: state.primary == Some(*id),
                    added_at: r.added_at,
                    subjects: tables::count_by_kek(&read, *id)?,
                    available: shared
                        .bytes_of(*id)
                        .is_ok_and(|b| keys::check_value(&b) == r.kcv),
                })
            })
            .collect()
    }

    /// Re-wraps up to `step` data keys wrapped by keys other than the primary, durably
    /// (one transaction); says how many remain. Run it until `remaining` is 0 after a
    /// [`Sealing::set_primary`]; maintenance runs it too.
    pub fn rewrap(&self, step: u64) -> Result<RewrapReport> {
        Ok(RewrapReport {
            rewrapped: self.rewrap_step(step)?,
            remaining: self.pending_rewrap()?,
        })
    }

    /// One re-wrap step without the count of what remains (maintenance's task).
    pub(crate) fn rewrap_step(&self, step: u64) -> Result<u64> {
        let shared = self.shared()?.clone();
        let primary = shared.primary()?;
        let step = step.max(1);
        self.store.write(Durability::Durable, move |tx| {
            tx.sealing_rewrap(&shared, primary, step)
        })
    }

    /// Whether a live subject is wrapped by an enabled key other than the primary (a
    /// read of one row per key).
    pub(crate) fn rewrap_due(&self) -> Result<bool> {
        let shared = self.shared()?;
        let (ids, primary) = shared.enabled_keys();
        let Some(primary) = primary else {
            return Ok(false);
        };
        let read = self.store.begin_read()?;
        for id in ids.into_iter().filter(|id| *id != primary) {
            if tables::any_by_kek(&read, id)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Live subjects wrapped by an enabled key other than the primary: what rotation's
    /// steps have left. (Subjects under a disabled key are not counted: no step can move
    /// them until the key is enabled again.)
    pub fn pending_rewrap(&self) -> Result<u64> {
        let shared = self.shared()?;
        let (ids, primary) = shared.enabled_keys();
        let read = self.store.begin_read()?;
        let mut n = 0;
        for id in ids.into_iter().filter(|id| Some(*id) != primary) {
            n += tables::count_by_kek(&read, id)?;
        }
        Ok(n)
    }
}

impl WriteTx<'_> {
    /// Seals `plaintext` for `subject` in this transaction (its data key, when new, is
    /// made in it too, so the field and its key commit together).
    pub fn seal(&mut self, subject: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        check_subject(subject)?;
        check_plaintext(plaintext)?;
        let shared = self.shared::<Arc<Shared>>()?.clone();
        // This transaction's view of the subject (a shred earlier in the same batch
        // counts), then the cipher.
        let rec: Option<SubjectRecord> = self
            .tracked(tables::SUBJECTS)?
            .get(subject)?
            .map(|g| tables::decode(g.value()))
            .transpose()?;
        if let Some(rec) = rec.as_ref().filter(|r| !r.wrapped.is_empty()) {
            let c = shared.dek_of(subject, rec)?;
            return seal_with(&c, subject, rec.generation, plaintext);
        }
        let generation = rec.map_or(1, |r| r.generation + 1);
        let kek_id = shared.primary()?;
        let kek = shared.kek(kek_id)?;
        let dek = keys::random::<32>()?;
        let new = SubjectRecord {
            generation,
            kek_id,
            wrapped: keys::wrap(&kek, kek_id, subject, generation, &dek)?,
            created_at: self.now(),
            shredded_at: 0,
        };
        self.tracked(tables::SUBJECTS)?
            .insert(subject, tables::encode(&new)?.as_slice())?;
        self.tracked(tables::BY_KEK)?
            .insert((kek_id, subject), ())?;
        let c = Arc::new(keys::cipher(&dek));
        let out = seal_with(&c, subject, generation, plaintext)?;
        let s = subject.to_owned();
        self.after(Box::new(move |ok| {
            if ok {
                shared.cache(&s, generation, c);
            }
        }));
        Ok(out)
    }

    /// [`WriteTx::seal`] in the text form (`hs-sealed:...`): for an audit detail marked
    /// sensitive, say `.detail("card", tx.seal_text("user:42", card)?)`.
    pub fn seal_text(&mut self, subject: &str, plaintext: &str) -> Result<String> {
        Ok(to_text(&self.seal(subject, plaintext.as_bytes())?))
    }

    /// Shreds `subject` in this transaction (see [`Sealing::shred`]).
    pub fn sealing_shred(&mut self, subject: &str) -> Result<bool> {
        check_subject(subject)?;
        let shared = self.shared::<Arc<Shared>>()?.clone();
        let rec: Option<SubjectRecord> = self
            .tracked(tables::SUBJECTS)?
            .get(subject)?
            .map(|g| tables::decode(g.value()))
            .transpose()?;
        let Some(mut rec) = rec.filter(|r| !r.wrapped.is_empty()) else {
            return Ok(false);
        };
        self.tracked(tables::BY_KEK)?
            .remove((rec.kek_id, subject))?;
        rec.wrapped.clear();
        rec.shredded_at = self.now();
        self.tracked(tables::SUBJECTS)?
            .insert(subject, tables::encode(&rec)?.as_slice())?;
        let ev = AuditEvent::new(AUDIT_TENANT, "sealing.shred")
            .resource(format!("subject/{subject}"))
            .detail("generation", rec.generation.to_string());
        self.audit_append(&ev)?;
        let s = subject.to_owned();
        self.after(Box::new(move |_| {
            // Whether or not it committed: a cache entry is only ever a committed live
            // key, and dropping one costs one unwrap.
            shared.deks.write().remove(&s);
        }));
        Ok(true)
    }

    fn sealing_rewrap(&mut self, shared: &Arc<Shared>, primary: u32, step: u64) -> Result<u64> {
        let others: Vec<u32> = shared
            .enabled_keys()
            .0
            .into_iter()
            .filter(|id| *id != primary)
            .collect();
        let kek_new = shared.kek(primary)?;
        let mut todo: Vec<(u32, String)> = Vec::new();
        {
            let t = self.tracked(tables::BY_KEK)?;
            for id in others {
                for row in t.range((id, "")..)? {
                    let (k, _) = row?;
                    let (kid, s) = k.value();
                    if kid != id || todo.len() as u64 >= step {
                        break;
                    }
                    todo.push((kid, s.to_owned()));
                }
            }
        }
        for (old, subject) in &todo {
            let rec: SubjectRecord = match self.tracked(tables::SUBJECTS)?.get(subject.as_str())? {
                Some(g) => tables::decode(g.value())?,
                None => return Err(Error::Corrupted(format!("no subject row for {subject:?}"))),
            };
            let kek_old = shared.kek(*old)?;
            let dek = keys::unwrap(&kek_old, *old, subject, rec.generation, &rec.wrapped)?;
            let new = SubjectRecord {
                kek_id: primary,
                wrapped: keys::wrap(&kek_new, primary, subject, rec.generation, &dek)?,
                ..rec
            };
            self.tracked(tables::SUBJECTS)?
                .insert(subject.as_str(), tables::encode(&new)?.as_slice())?;
            let mut by = self.tracked(tables::BY_KEK)?;
            by.remove((*old, subject.as_str()))?;
            by.insert((primary, subject.as_str()), ())?;
        }
        let n = todo.len() as u64;
        if n > 0 {
            let ev = AuditEvent::new(AUDIT_TENANT, "sealing.rewrap")
                .resource(format!("sealing_key/{primary}"))
                .detail("rewrapped", n.to_string());
            self.audit_append(&ev)?;
        }
        Ok(n)
    }
}

/// Sealing's hooks: the keyset's records are read at open.
pub(crate) struct SealingArea;

impl crate::engine::area::Area for SealingArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        let read = redb::ReadableDatabase::begin_read(ctx.db)?;
        let (records, primary) = tables::read_keys(&read)?;
        ctx.shared.insert(Arc::new(Arc::new(Shared {
            source: ctx.opts.sealing.as_ref().map(|h| h.0.clone()),
            keys: RwLock::new(KeyState { records, primary }),
            keks: Mutex::new(HashMap::new()),
            deks: RwLock::new(HashMap::new()),
        })));
        Ok(())
    }
}
