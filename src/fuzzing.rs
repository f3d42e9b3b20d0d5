//! The bodies of the cargo-fuzz targets in `fuzz/`. They live in the library so that
//! `cargo test` replays each target's corpus through the very same code
//! (`tests/fuzz_corpus.rs`). Each panics only when it finds a bug.

mod alerts_model;
mod health_model;
mod ip_rules_model;
mod maintenance_model;
mod metrics_model;
mod rate_limits_model;
mod replica_segment;
mod sealed_blob;
mod signed_note;
mod webhook_headers;

pub use alerts_model::alerts_model;
pub use health_model::health_model;
pub use ip_rules_model::ip_rules_model;
pub use maintenance_model::maintenance_model;
pub use metrics_model::metrics_model;
pub use rate_limits_model::rate_limits_model;
pub use replica_segment::replica_segment;
pub use sealed_blob::sealed_blob;
pub use signed_note::signed_note;
pub use webhook_headers::webhook_headers;

use crate::audit::merkle::{self, MemoryTree, NodeSource};
use crate::audit::{leaf_hash, AuditEntry, AuditEvent, Checkpoint, Cursor};
use crate::{ConsistencyProof, Durability, InclusionProof, Options, Store};

/// (a) Arbitrary bytes decoded as a stored audit record (and as a checkpoint and a
/// cursor) never panic; whatever decodes re-encodes to a record that decodes the same.
pub fn audit_record_decode(data: &[u8]) {
    if let Ok(entry) = AuditEntry::from_record(data) {
        let again = entry.to_record().expect("a decoded entry encodes");
        assert_eq!(AuditEntry::from_record(&again).expect("re-decodes"), entry);
        let _ = entry.leaf_hash();
    }
    if let Ok(cp) = Checkpoint::from_bytes(data) {
        assert_eq!(
            Checkpoint::from_bytes(&cp.to_bytes()).expect("round trip"),
            cp
        );
        let _ = cp.verify_mac(b"key");
    }
    if let Ok(c) = Cursor::from_bytes(data) {
        assert_eq!(Cursor::from_bytes(&c.to_bytes()).expect("round trip"), c);
    }
}

/// A tiny byte reader that yields zeros once the input runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from(self.u8()) << 8 | u16::from(self.u8())
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// (b) A sequence of appends, proofs, checkpoints and verifies against an in-memory model
/// (a [`MemoryTree`] over the same leaves): roots agree, proofs always verify, and
/// verify never reports tampering on an untouched log.
pub fn audit_model(data: &[u8]) {
    let mut input = Bytes(data);
    // The first byte's top bit picks the tree's hash (it also picks the first step).
    let hash = match data.first() {
        Some(b) if b & 0x80 != 0 => crate::AuditHash::Sha256,
        _ => crate::AuditHash::Blake3,
    };
    let store = Store::in_memory(Options::new().audit_hash(hash)).expect("in-memory store opens");
    let mut model = MemoryTree::default();
    model.frontier.hash = hash;
    let mut steps = 0;
    while !input.done() && steps < 200 {
        steps += 1;
        let size = model.frontier.size;
        match input.u8() % 6 {
            0 | 1 => {
                let n = 1 + input.u8() % 8;
                for _ in 0..n {
                    let tag = input.u8();
                    let ev = AuditEvent::new(format!("t{}", tag % 3), format!("a{tag}"))
                        .actor(format!("u{}", tag % 5))
                        .detail("k", tag.to_string());
                    let d = if tag % 2 == 0 {
                        Durability::Buffered
                    } else {
                        Durability::Durable
                    };
                    let r = store.audit().append(ev, d).expect("valid append succeeds");
                    assert_eq!(r.seq, model.frontier.size, "seqs are gap-free");
                    model.push(r.leaf_hash);
                }
            }
            2 if size > 0 => {
                let n = 1 + u64::from(input.u16()) % size;
                let m = u64::from(input.u16()) % n;
                let p = store.audit().inclusion_proof(m, n).expect("in-range proof");
                let root = merkle::root(&model, n).expect("model root");
                assert_eq!(store.audit().root(n).expect("root"), root);
                let leaf = model.node(0, m).expect("model leaf");
                p.verify(&leaf, &root).expect("inclusion proof verifies");
                let again = InclusionProof::from_bytes(m, n, &p.to_bytes())
                    .expect("parses")
                    .with_hash(hash);
                again.verify(&leaf, &root).expect("parsed proof verifies");
            }
            3 if size > 0 => {
                let n = 1 + u64::from(input.u16()) % size;
                let m = u64::from(input.u16()) % (n + 1);
                let p = store
                    .audit()
                    .consistency_proof(m, n)
                    .expect("in-range proof");
                let (old, new) = (
                    merkle::root(&model, m).expect("model root"),
                    merkle::root(&model, n).expect("model root"),
                );
                p.verify(&old, &new).expect("consistency proof verifies");
                let again = ConsistencyProof::from_bytes(m, n, &p.to_bytes())
                    .expect("parses")
                    .with_hash(hash);
                again.verify(&old, &new).expect("parsed proof verifies");
            }
            4 => {
                let r = store.audit().verify().expect("verify runs");
                assert!(r.is_ok(), "untouched log verifies: {r:?}");
                assert_eq!(r.size, size);
                assert_eq!(r.root, model.frontier.root());
            }
            _ => {
                // Out-of-range requests are refused, not answered.
                assert!(store.audit().root(size + 1).is_err());
                assert!(store.audit().inclusion_proof(size, size).is_err());
                assert!(store.audit().consistency_proof(size + 1, size).is_err());
                store.flush().expect("flush");
                let cp = store.audit().checkpoint().expect("checkpoint");
                assert_eq!(cp.size, size);
                assert_eq!(cp.root, model.frontier.root());
            }
        }
    }
    assert_eq!(store.audit().size().expect("size"), model.frontier.size);
    store.close().expect("close");
}

/// (c) Arbitrary proofs never panic the verifiers, and a genuine proof with any change to
/// the proof, the leaf, the index, the sizes or the roots never verifies.
pub fn proof_verify(data: &[u8]) {
    let mut input = Bytes(data);
    // Raw verifier calls on arbitrary input: no panic, whatever the answer.
    let n = u64::from(input.u16()) + 1;
    let m = u64::from(input.u16());
    let mut hash = [0u8; 32];
    for b in hash.iter_mut() {
        *b = input.u8();
    }
    let raw: Vec<[u8; 32]> = input
        .0
        .chunks_exact(32)
        .map(|c| c.try_into().unwrap_or([0; 32]))
        .collect();
    let _ = merkle::verify_inclusion(&hash, m, n, &raw, &hash);
    let _ = merkle::verify_consistency(m, n, &hash, &hash, &raw);
    let _ = InclusionProof::from_bytes(m, n, input.0);
    let _ = ConsistencyProof::from_bytes(m, n, input.0);

    // A genuine tree, proofs from it, then one mutation each.
    let size = (n % 300).max(1);
    let mut tree = MemoryTree::default();
    for i in 0..size {
        tree.push(leaf_hash(&i.to_le_bytes()));
    }
    let root = tree.frontier.root();
    let idx = m % size;
    let leaf = tree.node(0, idx).expect("leaf");
    let path = merkle::inclusion_path(&tree, idx, size).expect("path");
    merkle::verify_inclusion(&leaf, idx, size, &path, &root).expect("genuine proof verifies");
    let flip = hash[0] | 1; // a non-zero mask
    let pos = usize::from(hash[1]);
    let mut bad_root = root;
    bad_root[pos % 32] ^= flip;
    assert!(merkle::verify_inclusion(&leaf, idx, size, &path, &bad_root).is_err());
    let mut bad_leaf = leaf;
    bad_leaf[pos % 32] ^= flip;
    assert!(merkle::verify_inclusion(&bad_leaf, idx, size, &path, &root).is_err());
    if !path.is_empty() {
        let mut bad_path = path.clone();
        bad_path[pos % path.len()][usize::from(hash[2]) % 32] ^= flip;
        assert!(merkle::verify_inclusion(&leaf, idx, size, &bad_path, &root).is_err());
        assert!(merkle::verify_inclusion(&leaf, idx, size, &path[1..], &root).is_err());
    }
    let other = (idx + 1 + u64::from(hash[3])) % size;
    if other != idx {
        assert!(merkle::verify_inclusion(&leaf, other, size, &path, &root).is_err());
    }

    let old = (u64::from(hash[4]) % size).max(1);
    let old_root = merkle::root(&tree, old).expect("old root");
    let proof = merkle::consistency_path(&tree, old, size).expect("consistency path");
    merkle::verify_consistency(old, size, &old_root, &root, &proof).expect("genuine verifies");
    let mut bad_old = old_root;
    bad_old[pos % 32] ^= flip;
    assert!(merkle::verify_consistency(old, size, &bad_old, &root, &proof).is_err());
    assert!(merkle::verify_consistency(old, size, &old_root, &bad_root, &proof).is_err());
    if !proof.is_empty() {
        let mut bad = proof.clone();
        bad[pos % proof.len()][usize::from(hash[2]) % 32] ^= flip;
        assert!(merkle::verify_consistency(old, size, &old_root, &root, &bad).is_err());
    }
}

use redb::BackendError;
use std::ops::Bound;

/// An in-memory redb backend that survives a close: clones share the same bytes, so a
/// model can reopen a store without touching the disk.
#[derive(Debug, Clone, Default)]
pub struct SharedMemoryBackend(std::sync::Arc<redb::backends::InMemoryBackend>);

impl redb::StorageBackend for SharedMemoryBackend {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.0.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.0.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.0.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.0.write(offset, data)
    }
    fn close(&self) -> Result<(), std::io::Error> {
        self.0.close()
    }
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.0.try_lock_range(start, end)
    }
    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.0.try_lock_shared_range(start, end)
    }
    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.lock_range(start, end)
    }
    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.lock_shared_range(start, end)
    }
    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.unlock_range(start, end)
    }
}

/// (d) Appends, reopens (with a new capacity), queries and stats on the log ring against
/// an in-memory model, a `VecDeque` of capacity N: they must agree exactly.
pub fn logs_model(data: &[u8]) {
    use crate::logs::{Level, LogQuery, LogRecord};
    use std::collections::VecDeque;

    let mut input = Bytes(data);
    let backend = SharedMemoryBackend::default();
    let mut capacity = 1 + u64::from(input.u8() % 100);
    let opts = |cap: u64| Options::new().log_capacity(cap).redact_logs(false);
    let mut store = Store::open_with_backend(backend.clone(), opts(capacity)).expect("opens");
    // The model: (seq, level, endpoint, message) of every live entry.
    let mut model: VecDeque<(u64, u8, u8, String)> = VecDeque::new();
    let mut next = 0u64;
    let mut steps = 0;
    while !input.done() && steps < 150 {
        steps += 1;
        match input.u8() % 5 {
            0 | 1 => {
                let n = 1 + input.u8() % 40;
                let durable = input.u8() % 4 == 0;
                for _ in 0..n {
                    let tag = input.u8();
                    let (level, ep) = (tag % 6, tag % 3);
                    let msg = format!("m{} {}", tag, next);
                    let rec = LogRecord::new(Level::ALL[level as usize], msg.clone())
                        .endpoint(format!("/e{ep}"))
                        .duration_us(u64::from(tag));
                    let d = if durable {
                        Durability::Durable
                    } else {
                        Durability::Buffered
                    };
                    let seq = store.logs().append(rec, d).expect("valid append");
                    assert_eq!(seq, next, "seqs are consecutive");
                    next += 1;
                    model.push_back((seq, level, ep, msg));
                    while model.len() as u64 > capacity {
                        model.pop_front();
                    }
                }
            }
            2 => {
                // Reopening with another capacity changes nothing: the store keeps its own.
                store.close().expect("close");
                let asked = 1 + u64::from(input.u8() % 100);
                store = Store::open_with_backend(backend.clone(), opts(asked)).expect("reopen");
                assert_eq!(store.logs().capacity(), capacity, "the stored capacity");
                assert_eq!(store.logs().len().expect("len"), model.len() as u64);
                // Changing it is explicit, and asks before it evicts.
                let new = 1 + u64::from(input.u8() % 100);
                let surplus = (model.len() as u64).saturating_sub(new);
                let settings = store.settings();
                if surplus > 0 {
                    match settings.set_log_capacity(new, surplus - 1) {
                        Err(crate::Error::ConfirmationRequired { deletes, .. }) => {
                            assert_eq!(deletes, surplus)
                        }
                        other => panic!("an unconfirmed eviction: {other:?}"),
                    }
                    assert_eq!(store.logs().len().expect("len"), model.len() as u64);
                }
                let change = settings.set_log_capacity(new, surplus).expect("set");
                assert_eq!(change.deleted, surplus);
                capacity = new;
                while model.len() as u64 > capacity {
                    model.pop_front();
                }
            }
            3 => {
                let min = input.u8() % 7; // 6 means no level filter
                let ep = input.u8() % 4; // 3 means no endpoint filter
                let oldest_first = input.u8() % 2 == 0;
                let limit = 1 + usize::from(input.u8() % 50);
                let mut q = LogQuery::new().oldest_first(oldest_first).limit(limit);
                if min < 6 {
                    q = q.min_level(Level::ALL[min as usize]);
                }
                if ep < 3 {
                    q = q.endpoint(format!("/e{ep}"));
                }
                let mut want: Vec<u64> = model
                    .iter()
                    .filter(|(_, l, e, _)| (min >= 6 || *l >= min) && (ep >= 3 || *e == ep))
                    .map(|(s, ..)| *s)
                    .collect();
                if !oldest_first {
                    want.reverse();
                }
                let mut got = Vec::new();
                loop {
                    let page = store.logs().query(&q).expect("query");
                    assert!(page.entries.len() <= limit);
                    for e in &page.entries {
                        let m = model.iter().find(|x| x.0 == e.seq).expect("in model");
                        assert_eq!(e.message, m.3);
                        got.push(e.seq);
                    }
                    match page.next {
                        Some(c) => q = q.after(c),
                        None => break,
                    }
                }
                assert_eq!(got, want, "query agrees with the model");
            }
            _ => {
                let (head, end) = store.logs().range().expect("range");
                assert_eq!(end, next);
                assert_eq!(end - head, model.len() as u64);
                let s = store.logs().stats(None, None).expect("stats");
                assert_eq!(s.total, model.len() as u64);
                for (lvl, count) in s.per_level.iter().enumerate() {
                    let m = model.iter().filter(|x| x.1 as usize == lvl).count() as u64;
                    assert_eq!(*count, m, "level {lvl}");
                }
            }
        }
    }
    store.close().expect("close");
}

/// (e) Records, claims, acks, fails (some by stale workers), clock moves, reopens,
/// redrives and purges of dead letters against an in-memory model of the state machine:
/// every answer, every item's state, attempts and history length, and the counts must
/// agree exactly; every backoff delay must lie within the policy's bounds.
pub fn dead_letters_model(data: &[u8]) {
    use crate::dead_letters::{Claimed, DlqQuery, DlqState, Jitter, NewDeadLetter, Outcome};
    use crate::{Error, ManualClock, RetryPolicy};
    use std::collections::BTreeMap;
    use std::time::Duration;

    #[derive(Debug, Clone)]
    struct M {
        state: DlqState,
        attempts: u32,
        max: u32,
        /// Pending: due; Leased: lease end; Done/Dead: when finished.
        at: u64,
        claims: u64,
        history: usize,
    }

    const AGE: u64 = 500;
    let mut input = Bytes(data);
    let flags = input.u8();
    let jitter = if flags & 1 == 0 {
        Jitter::Full
    } else {
        Jitter::Decorrelated
    };
    let policy = RetryPolicy::new(Duration::from_micros(10), Duration::from_micros(1000))
        .jitter(jitter)
        .max_attempts(3)
        .seed(u64::from(flags));
    let clock = ManualClock::new(1_000_000);
    let opts = || {
        Options::new()
            .clock(clock.clone())
            .dead_letter_policy(policy)
            .dead_letter_purge_after(Duration::from_micros(AGE))
    };
    let backend = SharedMemoryBackend::default();
    let mut store = Store::open_with_backend(backend.clone(), opts()).expect("opens");
    let mut model: BTreeMap<u64, M> = BTreeMap::new();
    let mut next_id = 0u64;
    let mut held: Vec<Claimed> = Vec::new();
    let now = |c: &ManualClock| crate::Clock::now(c);
    // Whether a claim's lease is still held, in the model.
    let holds = |model: &BTreeMap<u64, M>, c: &Claimed, t: u64| {
        model
            .get(&c.id)
            .is_some_and(|m| m.state == DlqState::Leased && m.claims == c.token && t < m.at)
    };
    let mut steps = 0;
    while !input.done() && steps < 200 {
        steps += 1;
        let dl = store.dead_letters();
        let t = now(&clock);
        match input.u8() % 9 {
            0 => {
                let b = input.u8();
                let max = 1 + u32::from(b % 4);
                let delay = u64::from(input.u8() % 4) * 50;
                let permanent = b & 0x80 != 0 && b & 0x40 != 0;
                let new = NewDeadLetter::new(
                    ["a", "b"][usize::from(b & 1)],
                    ["email", "webhook", "sms"][usize::from(b % 3)],
                    vec![b; usize::from(b % 5)],
                )
                .error("e")
                .max_attempts(max)
                .first_attempt_at(t + delay)
                .permanent(permanent);
                let d = if b & 0x20 != 0 {
                    Durability::Buffered
                } else {
                    Durability::Durable
                };
                let id = dl.record(new, d).expect("valid record");
                assert_eq!(id, next_id, "ids are consecutive");
                next_id += 1;
                let (state, at) = if permanent {
                    (DlqState::Dead, t)
                } else {
                    (DlqState::Pending, t + delay)
                };
                model.insert(
                    id,
                    M {
                        state,
                        attempts: 0,
                        max,
                        at,
                        claims: 0,
                        history: 1,
                    },
                );
            }
            1 => {
                let limit = 1 + usize::from(input.u8() % 5);
                let lease = 1 + u64::from(input.u8()) * 2;
                let mut due: Vec<(u64, u64)> = model
                    .iter()
                    .filter(|(_, m)| {
                        matches!(m.state, DlqState::Pending | DlqState::Leased) && m.at <= t
                    })
                    .map(|(id, m)| (m.at, *id))
                    .collect();
                due.sort_unstable();
                let mut want = Vec::new();
                for (_, id) in due {
                    if want.len() == limit {
                        break;
                    }
                    let m = model.get_mut(&id).expect("in model");
                    if m.state == DlqState::Leased {
                        m.history += 1;
                        if m.attempts >= m.max {
                            m.state = DlqState::Dead;
                            m.at = t;
                            continue;
                        }
                    }
                    m.attempts += 1;
                    m.claims += 1;
                    m.state = DlqState::Leased;
                    m.at = t + lease;
                    want.push((id, m.attempts, m.claims));
                }
                let got = dl
                    .claim_due(limit, Duration::from_micros(lease))
                    .expect("claim");
                let got_ids: Vec<(u64, u32, u64)> =
                    got.iter().map(|c| (c.id, c.attempt, c.token)).collect();
                assert_eq!(got_ids, want, "claims agree with the model");
                for c in got {
                    assert_eq!(c.lease_until, t + lease);
                    held.push(c);
                }
            }
            2 | 3 if !held.is_empty() => {
                let op = input.u8();
                let c = held.remove(usize::from(op) % held.len());
                let ok = holds(&model, &c, t);
                let res = if op & 1 == 0 {
                    dl.ack(&c).map(|()| None)
                } else {
                    dl.fail(&c, "boom", op & 2 == 0).map(Some)
                };
                if !ok {
                    match res {
                        Err(Error::Fenced(_)) => {
                            assert!(model.contains_key(&c.id), "refused as stale")
                        }
                        Err(Error::NotFound(_)) => assert!(!model.contains_key(&c.id)),
                        other => panic!("a stale claim was answered {other:?}"),
                    }
                    continue;
                }
                let m = model.get_mut(&c.id).expect("held");
                match res.expect("a held claim is answered") {
                    None => {
                        m.state = DlqState::Done;
                        m.at = t;
                    }
                    Some(outcome) => {
                        m.history += 1;
                        let retryable = op & 2 == 0;
                        if !retryable || m.attempts >= m.max {
                            assert_eq!(outcome, Outcome::Dead);
                            m.state = DlqState::Dead;
                            m.at = t;
                        } else {
                            let Outcome::Rescheduled { at } = outcome else {
                                panic!("expected a reschedule, got {outcome:?}");
                            };
                            let (lo, hi) = match jitter {
                                Jitter::Full => (0, policy.ceiling(m.attempts - 1)),
                                Jitter::Decorrelated => (10, policy.cap),
                            };
                            let hi = hi.as_micros() as u64;
                            assert!(
                                at >= t + lo && at <= t + hi,
                                "delay {} out of bounds",
                                at - t
                            );
                            m.state = DlqState::Pending;
                            m.at = at;
                        }
                    }
                }
            }
            4 => clock.advance(u64::from(input.u8()) * 4),
            5 => {
                store.close().expect("close");
                store = Store::open_with_backend(backend.clone(), opts()).expect("reopen");
            }
            6 => {
                let id = u64::from(input.u8()) % (next_id + 2);
                let res = dl.redrive(id);
                match model.get_mut(&id) {
                    None => assert!(matches!(res, Err(Error::NotFound(_))), "{res:?}"),
                    Some(m) if matches!(m.state, DlqState::Dead | DlqState::Pending) => {
                        res.expect("redrive");
                        m.state = DlqState::Pending;
                        m.attempts = 0;
                        m.at = t;
                    }
                    Some(_) => assert!(matches!(res, Err(Error::InvalidArgument(_)))),
                }
            }
            7 => {
                let n = dl.purge(None).expect("purge");
                let before = model.len();
                model.retain(|_, m| {
                    !(matches!(m.state, DlqState::Done | DlqState::Dead) && m.at + AGE <= t)
                });
                assert_eq!(n as usize, before - model.len(), "purge count");
            }
            _ => {
                for (id, m) in &model {
                    let d = dl.get(*id).expect("in the store");
                    assert_eq!(d.state, m.state, "item {id}");
                    assert_eq!(d.attempts, m.attempts, "item {id}");
                    assert_eq!(d.history.len(), m.history, "item {id}");
                    let at = d.next_attempt_at.or(d.lease_until).or(d.finished_at);
                    assert_eq!(at, Some(m.at), "item {id}");
                }
                let mut ids = Vec::new();
                let mut q = DlqQuery::new().limit(7);
                loop {
                    let page = dl.list(&q).expect("list");
                    ids.extend(page.items.iter().map(|d| d.id));
                    match page.next {
                        Some(c) => q = q.after(c),
                        None => break,
                    }
                }
                assert_eq!(ids, model.keys().copied().collect::<Vec<_>>());
            }
        }
        let c = store.dead_letters().counts().expect("counts");
        let count = |s: DlqState| model.values().filter(|m| m.state == s).count() as u64;
        assert_eq!(
            (c.pending, c.leased, c.done, c.dead),
            (
                count(DlqState::Pending),
                count(DlqState::Leased),
                count(DlqState::Done),
                count(DlqState::Dead)
            ),
            "counts agree with the model"
        );
    }
    store.close().expect("close");
}

/// (f) Idempotency keys: begin / complete / fail / release / renew / abandon / recovery
/// points / clock moves / purges / reopens against a model of the two places a key lives
/// (in flight in memory, persisted in the table). Every answer (the four outcomes, fences,
/// cached bytes, retry-after, fenced refusals, purge counts, `get`) must agree exactly.
pub fn idempotency_model(data: &[u8]) {
    use crate::idempotency::{Begin, CachedResponse, IdemToken, KeyState};
    use crate::{Error, ManualClock};
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Duration;

    /// A key in flight.
    #[derive(Debug, Clone)]
    struct F {
        request: u8,
        fence: u64,
        lease_until: u64,
        created: u64,
        expires: u64,
        recovery: Option<(String, Vec<u8>)>,
    }
    /// A persisted record.
    #[derive(Debug, Clone)]
    struct R {
        request: u8,
        state: KeyState,
        fence: u64,
        lease_until: u64,
        created: u64,
        expires: u64,
        response: Option<u16>,
        body: Vec<u8>,
        recovery: Option<(String, Vec<u8>)>,
    }
    type Id = (String, String);

    const TTL: u64 = 1_000;
    let mut input = Bytes(data);
    let clock = ManualClock::new(1_000_000);
    let opts = || {
        Options::new()
            .clock(clock.clone())
            .idempotency_ttl(Duration::from_micros(TTL))
    };
    let backend = SharedMemoryBackend::default();
    let mut store = Store::open_with_backend(backend.clone(), opts()).expect("opens");
    let mut flights: BTreeMap<Id, F> = BTreeMap::new();
    let mut table: BTreeMap<Id, R> = BTreeMap::new();
    let (mut epoch, mut counter) = (1u64, 0u64);
    let mut held: Vec<IdemToken> = Vec::new();
    // Removes up to `limit` records expired at `now`, in (expires, tenant, key) order.
    let purge = |table: &mut BTreeMap<Id, R>, now: u64, limit: usize| {
        let due: BTreeSet<(u64, Id)> = table
            .iter()
            .filter(|(_, r)| r.expires <= now)
            .map(|(id, r)| (r.expires, id.clone()))
            .collect();
        let n = due.len().min(limit);
        for (_, id) in due.into_iter().take(limit) {
            table.remove(&id);
        }
        n
    };
    let mut steps = 0;
    while !input.done() && steps < 200 {
        steps += 1;
        let now = now_of(&clock);
        let idem = store.idempotency();
        match input.u8() % 9 {
            0 | 1 => {
                let (t, k, r) = (input.u8() % 2, input.u8() % 4, input.u8() % 3);
                let lease = 1 + u64::from(input.u8()) * 4;
                let id: Id = (format!("t{t}"), format!("k{k}"));
                let got = idem
                    .begin(&id.0, &id.1, &[r], Duration::from_micros(lease))
                    .expect("valid begin");
                let rec = table.get(&id).filter(|r| now < r.expires).cloned();
                let mut fresh_fence = || {
                    counter += 1;
                    epoch << 32 | counter
                };
                let started = |fence, recovery| {
                    Begin::Started(IdemToken {
                        tenant: id.0.clone(),
                        key: id.1.clone(),
                        fence,
                        recovery,
                    })
                };
                let settled = match &rec {
                    Some(rec) if rec.request != r => Some(Begin::Mismatch),
                    Some(rec) if rec.state != KeyState::InProgress => {
                        Some(Begin::Replay(CachedResponse {
                            status: rec.response,
                            body: rec.body.clone(),
                            failed: rec.state == KeyState::Failed,
                        }))
                    }
                    _ => None,
                };
                let flight = flights.get(&id).filter(|f| now < f.expires).cloned();
                let want = match (settled, flight) {
                    (Some(answer), _) => answer,
                    (None, Some(f)) if f.request != r => Begin::Mismatch,
                    (None, Some(f)) if now < f.lease_until => Begin::InProgress {
                        retry_after: Duration::from_micros(f.lease_until - now),
                    },
                    (None, Some(f)) => {
                        let fence = fresh_fence();
                        let m = flights.get_mut(&id).expect("in flight");
                        m.fence = fence;
                        m.lease_until = now + lease;
                        started(fence, f.recovery)
                    }
                    (None, None) => {
                        let fence = fresh_fence();
                        // A record in progress is a leftover of an earlier open.
                        let (created, expires, recovery) = match rec {
                            Some(rec) => (rec.created, rec.expires, rec.recovery),
                            None => (now, now + TTL, None),
                        };
                        flights.insert(
                            id.clone(),
                            F {
                                request: r,
                                fence,
                                lease_until: now + lease,
                                created,
                                expires,
                                recovery: recovery.clone(),
                            },
                        );
                        started(fence, recovery)
                    }
                };
                assert_eq!(got, want);
                if let Begin::Started(tok) = got {
                    held.push(tok);
                }
            }
            2..=5 if !held.is_empty() => {
                let op = input.u8();
                let tok = held[usize::from(op) % held.len()].clone();
                let id: Id = (tok.tenant.clone(), tok.key.clone());
                let holds = flights
                    .get(&id)
                    .is_some_and(|f| f.fence == tok.fence && now < f.expires);
                let body = vec![op; usize::from(op % 5)];
                let status = (op % 3 != 0).then_some(200 + u16::from(op));
                let kind = op % 5;
                let res = match kind {
                    0 => idem.complete(&tok, status, &body),
                    1 => idem.fail(&tok, status, &body),
                    2 => idem.release(&tok),
                    3 if op & 0x10 == 0 => idem.renew(&tok, Duration::from_micros(u64::from(op))),
                    3 => idem.save_recovery(&tok, "step", &body),
                    _ => idem.abandon(&tok),
                };
                if !holds {
                    assert!(matches!(res, Err(Error::Fenced(_))), "{res:?}");
                    continue;
                }
                res.expect("the holder's call succeeds");
                let f = flights.get(&id).expect("held").clone();
                let record = |state, response, body, recovery| R {
                    request: f.request,
                    state,
                    fence: f.fence,
                    lease_until: f.lease_until,
                    created: f.created,
                    expires: f.expires,
                    response,
                    body,
                    recovery,
                };
                match kind {
                    0 | 1 => {
                        let state = if kind == 0 {
                            KeyState::Completed
                        } else {
                            KeyState::Failed
                        };
                        purge(&mut table, now, 8);
                        table.insert(id.clone(), record(state, status, body, None));
                        flights.remove(&id);
                    }
                    2 => {
                        table.remove(&id);
                        flights.remove(&id);
                    }
                    3 if op & 0x10 == 0 => {
                        flights.get_mut(&id).expect("held").lease_until = now + u64::from(op)
                    }
                    3 => {
                        let point = Some(("step".to_string(), body));
                        table.insert(
                            id.clone(),
                            record(KeyState::InProgress, None, Vec::new(), point.clone()),
                        );
                        flights.get_mut(&id).expect("held").recovery = point;
                    }
                    _ => flights.get_mut(&id).expect("held").lease_until = now,
                }
            }
            6 => clock.advance(u64::from(input.u8()) * 3),
            7 => {
                let limit = usize::from(input.u8() % 6);
                let n = idem.purge_expired(limit).expect("purge");
                assert_eq!(n, purge(&mut table, now, limit));
                flights.retain(|_, f| now < f.expires);
            }
            _ => {
                store.close().expect("close");
                store = Store::open_with_backend(backend.clone(), opts()).expect("reopen");
                flights.clear();
                epoch += 1;
                counter = 0;
            }
        }
        // Every key reads as the model says.
        let now = now_of(&clock);
        for t in 0..2 {
            for k in 0..4 {
                let id: Id = (format!("t{t}"), format!("k{k}"));
                let got = store.idempotency().get(&id.0, &id.1).expect("get");
                let want = match (
                    flights.get(&id).filter(|f| now < f.expires),
                    table.get(&id).filter(|r| now < r.expires),
                ) {
                    (Some(f), _) => Some((
                        KeyState::InProgress,
                        f.fence,
                        f.created,
                        f.expires,
                        f.lease_until,
                    )),
                    (None, Some(r)) => {
                        Some((r.state, r.fence, r.created, r.expires, r.lease_until))
                    }
                    (None, None) => None,
                };
                let got = got.map(|g| (g.state, g.fence, g.created, g.expires, g.lease_until));
                assert_eq!(got, want, "get {id:?}");
            }
        }
    }
}

fn now_of(clock: &crate::ManualClock) -> u64 {
    use crate::Clock;
    clock.now()
}

/// (g) A sequence of app-state writes, restore point creates, restores, deletes,
/// verifies and reopens against a model (a map, and a snapshot of it per point): the
/// state after a restore is the point's, later points are gone, the cap holds, and the
/// audit log only ever grows and always verifies.
pub fn restore_points_model(data: &[u8]) {
    use std::collections::BTreeMap;

    let mut input = Bytes(data);
    let backend = SharedMemoryBackend::default();
    let max = 1 + usize::from(input.u8() % 4);
    let opts = || Options::new().max_restore_points(max);
    let mut store = Store::open_with_backend(backend.clone(), opts()).expect("opens");
    let mut model: BTreeMap<u8, u8> = BTreeMap::new();
    let mut points: Vec<(u64, BTreeMap<u8, u8>)> = Vec::new();
    let mut audit_size = 0u64;
    let mut steps = 0;
    while !input.done() && steps < 60 {
        steps += 1;
        let (op, k, v) = (input.u8() % 8, input.u8() % 6, input.u8());
        match op {
            0 | 1 => {
                store
                    .kv_put("ns", &[k], &[v], Durability::Buffered)
                    .expect("put");
                model.insert(k, v);
            }
            2 => {
                let existed = store
                    .kv_delete("ns", &[k], Durability::Durable)
                    .expect("delete");
                assert_eq!(existed, model.remove(&k).is_some());
            }
            3 => match store.restore_points().create("p") {
                Ok(p) => {
                    assert!(points.len() < max, "created past the cap");
                    assert_eq!(p.audit_size, audit_size);
                    assert!(points.last().is_none_or(|(id, _)| *id < p.id));
                    points.push((p.id, model.clone()));
                }
                Err(crate::Error::LimitReached { .. }) => assert_eq!(points.len(), max),
                Err(e) => panic!("create: {e}"),
            },
            4 if !points.is_empty() => {
                let i = usize::from(k) % points.len();
                let (id, snap) = points[i].clone();
                let r = store.restore_points().restore(id, "fuzz").expect("restore");
                assert_eq!(r.audit_seq, audit_size);
                audit_size += 1;
                model = snap;
                points.truncate(i + 1);
            }
            5 if !points.is_empty() => {
                let i = usize::from(k) % points.len();
                assert!(store.restore_points().delete(points[i].0).expect("delete"));
                points.remove(i);
            }
            6 if !points.is_empty() => {
                let i = usize::from(k) % points.len();
                store.restore_points().verify(points[i].0).expect("verify");
            }
            7 => {
                store.close().expect("close");
                store = Store::open_with_backend(backend.clone(), opts()).expect("reopen");
            }
            _ => {}
        }
        for key in 0..6u8 {
            let got = store.kv_get("ns", &[key]).expect("get");
            assert_eq!(got, model.get(&key).map(|v| vec![*v]), "key {key}");
        }
        let ids: Vec<u64> = store
            .restore_points()
            .list()
            .expect("list")
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, points.iter().map(|(id, _)| *id).collect::<Vec<_>>());
    }
    let report = store.audit().verify().expect("verify");
    assert_eq!((report.size, report.first_bad_seq), (audit_size, None));
    store.close().expect("close");
}

/// The backup reader over arbitrary bytes: it never panics, and a file it accepts is
/// exactly the file the writer produces for the header and frames it read (so no edit
/// of a real backup can verify: that would take a BLAKE3 collision). Bytes that start
/// as an encrypted backup are decrypted with the fuzzing key (id 1, 32 bytes of 0x11):
/// what decrypts must be the sealing of that plaintext under the same salt.
pub fn backup_reader(data: &[u8]) {
    use crate::backup::crypto::{self, BackupKey, DecryptReader, EncryptWriter};
    use std::io::{Read, Write};
    if data.len() >= 50 && &data[..8] == crypto::MAGIC {
        let key = BackupKey::new(1, [0x11; 32]);
        let Ok(mut r) = DecryptReader::new(&data[8..], Some(&key)) else {
            return;
        };
        let mut plain = Vec::new();
        if r.read_to_end(&mut plain).is_err() {
            return;
        }
        let mut salt = [0u8; 32];
        salt.copy_from_slice(&data[14..46]);
        let chunk = u32::from_le_bytes([data[46], data[47], data[48], data[49]]) as usize;
        let mut w = EncryptWriter::with_salt(Vec::new(), &key, salt, chunk).expect("header");
        w.write_all(&plain).expect("seal");
        assert_eq!(
            w.finish().expect("last chunk"),
            data,
            "an accepted file is the sealing of its plaintext"
        );
        return backup_reader(&plain);
    }
    use crate::backup::format;
    let mut frames = Vec::new();
    let Ok(summary) = format::read(data, &mut |_| Ok(()), &mut |t, k, v| {
        frames.push((t, k.to_vec(), v.map(<[u8]>::to_vec)));
        Ok(())
    }) else {
        return;
    };
    let mut w = format::FrameWriter::new(Vec::new(), &summary.header).expect("header");
    for (t, k, v) in &frames {
        w.frame(*t, k, v.as_deref()).expect("frame");
    }
    let (again, written) = w.finish().expect("trailer");
    assert_eq!(again, data, "an accepted backup is the writer's own output");
    assert_eq!(
        (written.frames, written.bytes, written.digest),
        (summary.frames, summary.bytes, summary.digest)
    );
}

/// BLAKE3 over every row a backup holds (every table with an id below
/// backed up in the catalog), as the store's latest commit has them: two stores with equal
/// digests hold equal data, whatever their ids.
pub fn backed_up_digest(store: &crate::Store) -> crate::Result<[u8; 32]> {
    digest_rows(&store.begin_read()?, &[])
}

/// [`backed_up_digest`] without the idempotency epoch (which every open bumps), to
/// compare the state of a store before and after a reopen.
pub fn backed_up_digest_across_opens(store: &crate::Store) -> crate::Result<[u8; 32]> {
    digest_rows(&store.begin_read()?, &[15])
}

/// BLAKE3 over the audit log's tables (entries, Merkle nodes, tenant index).
pub fn audit_digest(store: &crate::Store) -> crate::Result<[u8; 32]> {
    let skip: Vec<u16> = crate::engine::catalog::with(|f| f.backed_up)
        .map(|t| t.id())
        .filter(|id| *id >= 3)
        .collect();
    digest_rows(&store.begin_read()?, &skip)
}

/// [`backed_up_digest`] of a store file that is not open (read without opening it as a
/// store, so nothing is written, not even the epoch an open bumps).
pub fn backed_up_digest_of_file(path: impl AsRef<std::path::Path>) -> crate::Result<[u8; 32]> {
    crate::areas::install();
    let db = redb::Builder::new()
        .open_read_only(path.as_ref())
        .map_err(crate::Error::from)?;
    let read = redb::ReadableDatabase::begin_read(&db)?;
    digest_rows(&read, &[])
}

fn digest_rows(read: &redb::ReadTransaction, skip: &[u16]) -> crate::Result<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    for id in crate::engine::catalog::with(|f| f.backed_up)
        .map(|t| t.id())
        .filter(|id| !skip.contains(id))
    {
        h.update(&id.to_le_bytes());
        crate::engine::catalog::for_each_row(read, id, &mut |k, v| {
            h.update(&(k.len() as u64).to_le_bytes());
            h.update(k);
            h.update(&(v.len() as u64).to_le_bytes());
            h.update(v);
            Ok(())
        })?;
    }
    Ok(*h.finalize().as_bytes())
}
