//! The redo log: a durable write costs one `fdatasync` of a sequential append.
//!
//! A durable redb commit writes every page it dirtied, scattered over the file (each
//! touched table's path to its root, and redb's own trees), then syncs: ~0.5 ms on the
//! machines we measured, where syncing a small sequential append costs ~0.15 ms. So for a
//! store in a file, every batch commits to redb *without* a sync, and its changes, as
//! physical puts and deletes, are appended to `<store>.redo`; a durable batch then syncs
//! that file alone. A checkpoint (a durable redb commit, at most every second and on
//! close) lets the log be emptied.
//!
//! Invariants:
//! - Every batch gets the next sequence number. Every synced commit the writer makes (a
//!   checkpoint, an exclusive job) and recovery's own write its batch's number into
//!   `hardstore.redo` (`APPLIED`) inside the same transaction, so the commit redb
//!   recovers to after a crash (the last synced one: an unsynced commit never survives
//!   alone) says which batches it holds; unsynced commits skip the write. The open's own
//!   commits come after recovery has emptied the log and before any batch, so they hold
//!   no batch it lists. One synced commit does not write it: redb's own, when a poisoned
//!   store's database is dropped, which may make unsynced batches durable under an older
//!   `APPLIED`. Replaying their records again is harmless: records are physical puts and
//!   deletes (of whole rows: digest, counters and journal rows included), applied in
//!   order through the last one, so every row ends at its last write; and the log is
//!   emptied only right after a commit that wrote `APPLIED`, so its records always
//!   follow on from it.
//! - A batch's record is appended before its redb commit (write-ahead), in sequence
//!   order, and synced before the commit when the batch is durable: no reader sees a
//!   durable batch before it is on disk, and every acknowledged durable batch is either
//!   in redb's durable state or in the synced log.
//! - The log starts with a header naming its store; a log of another store, or one
//!   found next to a store being created, is never applied.
//! - The log is emptied only after a durable redb commit that holds every batch in it.
//! - At open, records with a sequence above `APPLIED` are applied in order, stopping at
//!   the first torn or corrupt one (a write that was never acknowledged as durable).
//!
//! Every table a batch may write is in the catalog (`catalog.rs`): its id is what
//! records carry.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};

use redb::{
    AccessGuard, Key, ReadableTable, Table, TableDefinition, TableHandle, Value, WriteTransaction,
};

use crate::engine::digest::StateDigest;
use crate::error::{Error, Result};

/// The batch sequence number held by the redb state.
const REDO_META: TableDefinition<&str, u64> = TableDefinition::new("hardstore.redo");
const APPLIED: &str = "applied";

const PUT: u8 = 1;
const DEL: u8 = 2;
/// Record header: body length (u64), CRC32 of the body (u32).
const HEADER: usize = 12;
/// The log's own header: magic, then the 16-byte store id.
const MAGIC: &[u8; 8] = b"hsredo\x00\x01";
const LOG_HEADER: usize = 8 + 16;

/// Row changes as key bytes and the new value's bytes (`None`: the row is deleted).
pub(crate) type RowOps = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Receives one row's key and value bytes.
pub(crate) type RowFn<'f> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'f;

/// The changes of one batch, as they are made.
#[derive(Debug, Default)]
pub(crate) struct RedoBuf {
    ops: RefCell<Vec<u8>>,
    /// What the batch's changes did to the mutable state's digest (`restore_points::digest`).
    digest: RefCell<StateDigest>,
    /// While a restore point is alive: every digested row's value before each change, in
    /// the order made (`restore_points::before` keeps the first per row).
    before: RefCell<Option<Vec<BeforeImage>>>,
}

/// A digested row's table id, key, and value before a change (`None`: it was absent).
pub(crate) type BeforeImage = (u16, Vec<u8>, Option<Vec<u8>>);

impl RedoBuf {
    /// A buffer with room for `bytes` of changes before it grows.
    pub(crate) fn with_capacity(bytes: usize) -> RedoBuf {
        RedoBuf {
            ops: RefCell::new(Vec::with_capacity(bytes)),
            digest: Default::default(),
            before: Default::default(),
        }
    }

    /// Starts (or stops) keeping the old value of every digested row changed from here on.
    pub(crate) fn keep_before_images(&self, on: bool) {
        *self.before.borrow_mut() = on.then(Vec::new);
    }

    /// Takes the old values kept so far (empty when none are kept).
    pub(crate) fn take_before_images(&self) -> Vec<BeforeImage> {
        self.before
            .borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// What the digest would be with the batch's changes so far added to `d`.
    pub(crate) fn peek_digest(&self, d: &StateDigest) -> StateDigest {
        let mut out = *d;
        out.merge(&self.digest.borrow());
        out
    }

    fn push(&self, id: u16, op: u8, key: &[u8], value: &[u8]) {
        let mut b = self.ops.borrow_mut();
        b.extend_from_slice(&id.to_le_bytes());
        b.push(op);
        b.extend_from_slice(&(key.len() as u32).to_le_bytes());
        b.extend_from_slice(key);
        b.extend_from_slice(&(value.len() as u32).to_le_bytes());
        b.extend_from_slice(value);
    }

    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.ops.borrow_mut())
    }

    /// Takes what the batch did to the state digest so far.
    pub(crate) fn take_digest(&self) -> StateDigest {
        std::mem::take(&mut self.digest.borrow_mut())
    }

    /// Notes a row of a digested table `id` going from `old` to `new`.
    fn note(&self, id: u16, key: &[u8], old: Option<&[u8]>, new: Option<&[u8]>) {
        if let Some(images) = self.before.borrow_mut().as_mut() {
            images.push((id, key.to_vec(), old.map(<[u8]>::to_vec)));
        }
        let mut d = self.digest.borrow_mut();
        if let Some(v) = old {
            d.sub_row(id, key, v);
        }
        if let Some(v) = new {
            d.add_row(id, key, v);
        }
    }

    /// Calls `f` with the table id and key of every change recorded so far, in order.
    pub(crate) fn for_each_key(&self, mut f: impl FnMut(u16, &[u8])) {
        let b = self.ops.borrow();
        let mut at = 0;
        // Records are written by `push` alone, so their lengths are always in bounds.
        while at + 7 <= b.len() {
            let id = u16::from_le_bytes([b[at], b[at + 1]]);
            let klen = u32::from_le_bytes([b[at + 3], b[at + 4], b[at + 5], b[at + 6]]) as usize;
            let key = &b[at + 7..at + 7 + klen];
            let v = at + 7 + klen;
            let vlen = u32::from_le_bytes([b[v], b[v + 1], b[v + 2], b[v + 3]]) as usize;
            f(id, key);
            at = v + 4 + vlen;
        }
    }
}

/// A table whose every change is also recorded for the redo log. Reads go straight to
/// the table (`Deref`); `insert` and `remove` are the only ways to change it.
pub(crate) struct Tracked<'t, K: Key + 'static, V: Value + 'static> {
    table: Table<'t, K, V>,
    id: u16,
    /// Whether its rows are in the mutable state's digest.
    digested: bool,
    redo: &'t RedoBuf,
}

impl<'t, K: Key + 'static, V: Value + 'static> Tracked<'t, K, V> {
    pub(crate) fn open(
        txn: &'t WriteTransaction,
        def: TableDefinition<K, V>,
        redo: &'t RedoBuf,
    ) -> Result<Self> {
        let (id, flags) = crate::engine::catalog::by_name(def.name())?;
        Ok(Self {
            table: txn.open_table(def)?,
            id,
            digested: flags.digested,
            redo,
        })
    }

    /// Inserts, recording the change once redb accepted it.
    pub(crate) fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> std::result::Result<Option<AccessGuard<'_, V>>, redb::StorageError> {
        let (k, v) = (key.borrow(), value.borrow());
        let old = self.table.insert(k, v)?;
        let (kb, vb) = (K::as_bytes(k), V::as_bytes(v));
        self.redo.push(self.id, PUT, kb.as_ref(), vb.as_ref());
        if self.digested {
            note_change(
                self.redo,
                self.id,
                kb.as_ref(),
                old.as_ref(),
                Some(vb.as_ref()),
            );
        }
        Ok(old)
    }

    /// Removes, recording the change once redb accepted it.
    pub(crate) fn remove<'k>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> std::result::Result<Option<AccessGuard<'_, V>>, redb::StorageError> {
        let k = key.borrow();
        let old = self.table.remove(k)?;
        let kb = K::as_bytes(k);
        self.redo.push(self.id, DEL, kb.as_ref(), &[]);
        if self.digested {
            note_change(self.redo, self.id, kb.as_ref(), old.as_ref(), None);
        }
        Ok(old)
    }
}

/// A [`Tracked`] table opened on first use, so an operation pays only for the tables it
/// touches (opening one costs about a microsecond: a lookup in redb's table tree).
pub(crate) struct LazyTracked<'t, K: Key + 'static, V: Value + 'static> {
    txn: &'t WriteTransaction,
    def: TableDefinition<'static, K, V>,
    redo: &'t RedoBuf,
    table: Option<Tracked<'t, K, V>>,
}

impl<'t, K: Key + 'static, V: Value + 'static> LazyTracked<'t, K, V> {
    pub(crate) fn new(
        txn: &'t WriteTransaction,
        def: TableDefinition<'static, K, V>,
        redo: &'t RedoBuf,
    ) -> Self {
        Self {
            txn,
            def,
            redo,
            table: None,
        }
    }

    /// The table, opened now if this is its first use.
    pub(crate) fn table(&mut self) -> Result<&mut Tracked<'t, K, V>> {
        let t = match self.table.take() {
            Some(t) => t,
            None => Tracked::open(self.txn, self.def, self.redo)?,
        };
        Ok(self.table.insert(t))
    }
}

/// Reports a row of a digested table going from `old` to `new`. The old value is hashed
/// straight from redb's guard, never copied.
fn note_change<V: Value + 'static>(
    redo: &RedoBuf,
    id: u16,
    key: &[u8],
    old: Option<&AccessGuard<'_, V>>,
    new: Option<&[u8]>,
) {
    let old_value = old.map(|g| g.value());
    let old_bytes = old_value.as_ref().map(V::as_bytes);
    redo.note(id, key, old_bytes.as_ref().map(|b| b.as_ref()), new);
}

impl<'t, K: Key + 'static, V: Value + 'static> Deref for Tracked<'t, K, V> {
    type Target = Table<'t, K, V>;
    fn deref(&self) -> &Self::Target {
        &self.table
    }
}

/// Writes the batch sequence number the transaction's state holds.
pub(crate) fn set_applied(txn: &WriteTransaction, seq: u64) -> Result<()> {
    txn.open_table(REDO_META)?.insert(APPLIED, seq)?;
    Ok(())
}

/// The batch sequence number the last synced commit `read` sees recorded (0 before any).
pub(crate) fn applied_seq(read: &redb::ReadTransaction) -> Result<u64> {
    match read.open_table(REDO_META) {
        Ok(t) => Ok(t.get(APPLIED)?.map_or(0, |v| v.value())),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn applied(txn: &WriteTransaction) -> Result<u64> {
    Ok(txn
        .open_table(REDO_META)?
        .get(APPLIED)?
        .map_or(0, |v| v.value()))
}

/// The redo log file of a store.
#[derive(Debug)]
pub(crate) struct RedoLog {
    file: File,
    /// The store's id, written at the head of the log.
    id: [u8; 16],
    /// Bytes appended since the log was last emptied; the next record goes at
    /// `LOG_HEADER + len`.
    len: u64,
    /// Bytes of the file already written (zeros past the records): appending inside
    /// them changes no file metadata, so a sync writes the record's blocks alone.
    allocated: u64,
    /// Batches the open's recovery applied (0 after a clean close).
    replayed: u64,
}

/// The log file grows by at least this much at a time (written as zeros).
const GROW_BY: u64 = 1 << 20;

impl RedoLog {
    pub(crate) fn path_for(store: &Path) -> PathBuf {
        let mut p = store.as_os_str().to_owned();
        p.push(".redo");
        PathBuf::from(p)
    }

    /// Opens the log of the store `db` lives in (whose id is `id`), applies the batches
    /// it holds that the redb state lacks (durably), empties it, and returns it with the
    /// next batch sequence number. For a store just `created`, any file found at the
    /// log's path is a leftover of another store and is discarded unread.
    pub(crate) fn recover(
        db: &redb::Database,
        store: &Path,
        id: [u8; 16],
        created: bool,
    ) -> Result<(RedoLog, u64)> {
        let path = Self::path_for(store);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut bytes = Vec::new();
        if !created {
            file.read_to_end(&mut bytes)?;
        }
        let txn = db.begin_write()?;
        let mut last = applied(&txn)?;
        let mut replayed = 0u64;
        // Shorter than its header: the log was being emptied after a synced commit.
        if bytes.len() >= LOG_HEADER {
            if &bytes[..8] != MAGIC {
                return Err(Error::Corrupted(format!(
                    "{} is not a hardstore redo log",
                    path.display()
                )));
            }
            if bytes[8..LOG_HEADER] != id {
                return Err(Error::Corrupted(format!(
                    "{} is the redo log of another store",
                    path.display()
                )));
            }
            let mut at = LOG_HEADER;
            while let Some((seq, ops, next)) = read_record(&bytes, at) {
                at = next;
                if seq <= last {
                    continue;
                }
                if seq != last + 1 {
                    return Err(Error::Corrupted(format!(
                        "{}: batch {seq} follows {last}; a batch is missing",
                        path.display()
                    )));
                }
                apply_ops(&txn, ops)?;
                last = seq;
                replayed += 1;
            }
        }
        set_applied(&txn, last)?;
        txn.commit()?;
        // Only now, with everything durable in redb, may the log be emptied; it is cut to
        // its header, so from here on every record past the header is of this open.
        file.set_len(0)?;
        let mut log = RedoLog {
            file,
            id,
            len: 0,
            allocated: 0,
            replayed,
        };
        log.clear()?;
        // Make the log's name durable too: a new file's name lives in its folder.
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        File::open(dir)?.sync_all()?;
        Ok((log, last + 1))
    }

    /// Appends the record of batch `seq`; syncs the log when `sync`.
    pub(crate) fn append(&mut self, seq: u64, ops: &[u8], sync: bool) -> Result<()> {
        let body_len = 8 + ops.len();
        let mut rec = Vec::with_capacity(HEADER + body_len);
        rec.extend_from_slice(&(body_len as u64).to_le_bytes());
        rec.extend_from_slice(&[0; 4]);
        rec.extend_from_slice(&seq.to_le_bytes());
        rec.extend_from_slice(ops);
        let crc = crc32fast::hash(&rec[HEADER..]);
        rec[8..HEADER].copy_from_slice(&crc.to_le_bytes());
        let at = LOG_HEADER as u64 + self.len;
        let end = at + rec.len() as u64;
        if end > self.allocated {
            self.grow(end)?;
        }
        self.file.seek(SeekFrom::Start(at))?;
        self.file.write_all(&rec)?;
        self.len += rec.len() as u64;
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Writes zeros from the allocated end to at least `end`. Zeros end the log: a
    /// record length of 0 is never valid.
    fn grow(&mut self, end: u64) -> Result<()> {
        let target = end.max(self.allocated + GROW_BY);
        self.file.seek(SeekFrom::Start(self.allocated))?;
        let zeros = vec![0u8; 64 << 10];
        let mut at = self.allocated;
        while at < target {
            let n = (target - at).min(zeros.len() as u64) as usize;
            self.file.write_all(&zeros[..n])?;
            at += n as u64;
        }
        self.allocated = target;
        Ok(())
    }

    /// Empties the log, after a durable redb commit that holds every batch in it: writes
    /// its header and zeros the first record's header, so recovery stops there. Records
    /// left further on are all of batches at or below `APPLIED`, which recovery skips
    /// (the log is cut to its header at every open, so they are all of this open's
    /// batches, and the redb state never goes back below a checkpoint).
    pub(crate) fn clear(&mut self) -> Result<()> {
        let mut head = [0u8; LOG_HEADER + HEADER];
        head[..8].copy_from_slice(MAGIC);
        head[8..LOG_HEADER].copy_from_slice(&self.id);
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&head)?;
        self.file.sync_data()?;
        self.allocated = self.allocated.max(head.len() as u64);
        self.len = 0;
        Ok(())
    }

    /// Cuts the emptied log to its header, at a clean close (after the final checkpoint):
    /// a closed store's `.redo` is its header alone, with no stale bytes.
    pub(crate) fn truncate(&mut self) -> Result<()> {
        debug_assert_eq!(self.len, 0, "only an emptied log is cut");
        self.file.set_len(LOG_HEADER as u64)?;
        self.file.sync_data()?;
        self.allocated = LOG_HEADER as u64;
        Ok(())
    }

    /// Batches the open's recovery applied from the log.
    pub(crate) fn replayed(&self) -> u64 {
        self.replayed
    }

    /// Bytes appended since the log was last emptied.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }
}

/// The record at `at`: its sequence number, its ops and where the next one starts; `None`
/// at the end, or at a torn or corrupt record (which ends the log).
fn read_record(bytes: &[u8], at: usize) -> Option<(u64, &[u8], usize)> {
    let header = bytes.get(at..at.checked_add(HEADER)?)?;
    let len = usize::try_from(u64::from_le_bytes(header[0..8].try_into().ok()?)).ok()?;
    let crc = u32::from_le_bytes(header[8..12].try_into().ok()?);
    let body = bytes.get(at + HEADER..(at + HEADER).checked_add(len)?)?;
    if len < 8 || crc32fast::hash(body) != crc {
        return None;
    }
    let seq = u64::from_le_bytes(body[0..8].try_into().ok()?);
    Some((seq, &body[8..], at + HEADER + len))
}

fn apply_ops(txn: &WriteTransaction, ops: &[u8]) -> Result<()> {
    apply_ops_where(txn, ops, |_| true)
}

/// Applies a record's ops to the tables `keep` accepts (by catalog id).
pub(crate) fn apply_ops_where(
    txn: &WriteTransaction,
    mut ops: &[u8],
    keep: impl Fn(u16) -> bool,
) -> Result<()> {
    let bad = || Error::Corrupted("a redo record's ops are malformed".into());
    let take = |n: usize, ops: &mut &[u8]| -> Result<Vec<u8>> {
        if ops.len() < n {
            return Err(bad());
        }
        let (a, b) = ops.split_at(n);
        *ops = b;
        Ok(a.to_vec())
    };
    while !ops.is_empty() {
        let id = u16::from_le_bytes(take(2, &mut ops)?.try_into().map_err(|_| bad())?);
        let op = take(1, &mut ops)?[0];
        let klen = u32::from_le_bytes(take(4, &mut ops)?.try_into().map_err(|_| bad())?);
        let key = take(klen as usize, &mut ops)?;
        let vlen = u32::from_le_bytes(take(4, &mut ops)?.try_into().map_err(|_| bad())?);
        let value = take(vlen as usize, &mut ops)?;
        let row = (key, (op == PUT).then_some(value));
        if op != PUT && op != DEL {
            return Err(Error::Corrupted(format!("redo op {op}")));
        }
        if keep(id) {
            crate::engine::catalog::table(id)?.apply_rows(txn, &vec![row])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::ReadableDatabase;

    const ID: [u8; 16] = [7; 16];

    fn scratch(name: &str) -> PathBuf {
        // Records are applied through the catalog, which the registry fills.
        crate::areas::install();
        let dir =
            std::env::temp_dir().join(format!("hardstore-redo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("s.redb")
    }

    fn kv_put(key: &[u8], value: &[u8]) -> Vec<u8> {
        let buf = RedoBuf::default();
        let k = <(&str, &[u8]) as Value>::as_bytes(&("ns", key));
        buf.push(7, PUT, k.as_ref(), value);
        buf.take()
    }

    fn kv_get(db: &redb::Database, key: &[u8]) -> Option<Vec<u8>> {
        let read = db.begin_read().unwrap();
        let Ok(t) = read.open_table(crate::kv::KV) else {
            return None;
        };
        let v = t.get(("ns", key)).unwrap().map(|v| v.value().to_vec());
        v
    }

    #[test]
    fn recovery_applies_synced_batches_and_stops_at_a_torn_tail() {
        let path = scratch("torn");
        let db = redb::Database::create(&path).unwrap();
        let (mut log, next) = RedoLog::recover(&db, &path, ID, false).unwrap();
        assert_eq!(next, 1);
        log.append(1, &kv_put(b"a", b"1"), false).unwrap();
        log.append(2, &kv_put(b"b", b"2"), true).unwrap();
        let end = LOG_HEADER as u64 + log.len();
        drop(log);
        // A torn third record: a header promising more bytes than there are.
        let mut f = OpenOptions::new()
            .write(true)
            .open(RedoLog::path_for(&path))
            .unwrap();
        f.seek(SeekFrom::Start(end)).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 9, 9]).unwrap();
        drop(f);
        let (log, next) = RedoLog::recover(&db, &path, ID, false).unwrap();
        assert_eq!(next, 3);
        assert_eq!(log.len(), 0);
        assert!(is_empty(&path));
        assert_eq!(kv_get(&db, b"a"), Some(b"1".to_vec()));
        assert_eq!(kv_get(&db, b"b"), Some(b"2".to_vec()));
        // Records the redb state already holds are skipped, not applied twice.
        let (mut log, _) = RedoLog::recover(&db, &path, ID, false).unwrap();
        log.append(2, &kv_put(b"b", b"stale"), true).unwrap();
        log.append(3, &kv_put(b"c", b"3"), true).unwrap();
        drop(log);
        let (_, next) = RedoLog::recover(&db, &path, ID, false).unwrap();
        assert_eq!(next, 4);
        assert_eq!(kv_get(&db, b"b"), Some(b"2".to_vec()));
        assert_eq!(kv_get(&db, b"c"), Some(b"3".to_vec()));
    }

    #[test]
    fn a_flipped_bit_ends_the_log_and_a_gap_is_refused() {
        let path = scratch("gap");
        let db = redb::Database::create(&path).unwrap();
        let (mut log, _) = RedoLog::recover(&db, &path, ID, false).unwrap();
        log.append(1, &kv_put(b"a", b"1"), true).unwrap();
        log.append(2, &kv_put(b"b", b"2"), true).unwrap();
        let last = LOG_HEADER + log.len() as usize - 1;
        drop(log);
        let redo = RedoLog::path_for(&path);
        let mut bytes = std::fs::read(&redo).unwrap();
        bytes[last] ^= 1; // inside record 2: its CRC no longer matches
        std::fs::write(&redo, &bytes).unwrap();
        let (_, next) = RedoLog::recover(&db, &path, ID, false).unwrap();
        assert_eq!(next, 2, "record 2 was corrupt: the log ends after record 1");
        assert_eq!(kv_get(&db, b"b"), None);
        // A record that skips a sequence number means a lost batch: refused.
        let (mut log, _) = RedoLog::recover(&db, &path, ID, false).unwrap();
        log.append(5, &kv_put(b"x", b"5"), true).unwrap();
        drop(log);
        assert!(matches!(
            RedoLog::recover(&db, &path, ID, false),
            Err(Error::Corrupted(_))
        ));
        assert_eq!(kv_get(&db, b"x"), None);
    }

    #[test]
    fn a_log_of_another_store_is_refused_and_a_new_store_ignores_a_leftover() {
        let path = scratch("other");
        let db = redb::Database::create(&path).unwrap();
        let (mut log, _) = RedoLog::recover(&db, &path, ID, false).unwrap();
        log.append(1, &kv_put(b"a", b"1"), true).unwrap();
        drop(log);
        assert!(matches!(
            RedoLog::recover(&db, &path, [8; 16], false),
            Err(Error::Corrupted(_))
        ));
        assert_eq!(kv_get(&db, b"a"), None);
        // A store being created never reads what lies at its log's path.
        let (_, next) = RedoLog::recover(&db, &path, [8; 16], true).unwrap();
        assert_eq!(next, 1);
        assert_eq!(kv_get(&db, b"a"), None);
        let bytes = std::fs::read(RedoLog::path_for(&path)).unwrap();
        assert_eq!(&bytes[8..LOG_HEADER], &[8u8; 16][..]);
        assert!(is_empty(&path));
    }

    /// The log holds no record: the first record's header is zeros (or missing).
    fn is_empty(store: &Path) -> bool {
        let bytes = std::fs::read(RedoLog::path_for(store)).unwrap();
        bytes.len() >= LOG_HEADER && bytes[LOG_HEADER..].iter().take(HEADER).all(|b| *b == 0)
    }

    #[test]
    fn records_left_past_an_emptied_log_are_never_applied() {
        let path = scratch("stale");
        let db = redb::Database::create(&path).unwrap();
        let (mut log, _) = RedoLog::recover(&db, &path, ID, false).unwrap();
        // A cycle of long records, checkpointed (applied 1..=3), then emptied.
        let long = vec![b'x'; 300];
        for seq in 1..=3 {
            log.append(seq, &kv_put(format!("k{seq}").as_bytes(), &long), true)
                .unwrap();
        }
        let txn = db.begin_write().unwrap();
        apply_ops(&txn, &kv_put(b"k1", &long)).unwrap();
        apply_ops(&txn, &kv_put(b"k2", &long)).unwrap();
        apply_ops(&txn, &kv_put(b"k3", &long)).unwrap();
        set_applied(&txn, 3).unwrap();
        txn.commit().unwrap();
        log.clear().unwrap();
        // The next cycle writes one short record over the start of the old ones.
        log.append(4, &kv_put(b"new", b"4"), true).unwrap();
        drop(log);
        let (_, next) = RedoLog::recover(&db, &path, ID, false).unwrap();
        assert_eq!(next, 5, "batch 4 applied, the stale 1..=3 skipped");
        assert_eq!(kv_get(&db, b"new"), Some(b"4".to_vec()));
        assert!(is_empty(&path));
        // An emptied log applies nothing.
        let (log, next) = RedoLog::recover(&db, &path, ID, false).unwrap();
        assert_eq!((next, log.len()), (5, 0));
    }
}
