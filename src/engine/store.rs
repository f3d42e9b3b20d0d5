//! [`Store`]: opening and creating the file, its metadata, and the write entry points.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableDatabase, TableDefinition};

use crate::clock::Timestamp;
use crate::engine::area::{OpenCtx, Shared, States};
use crate::error::{Error, Result};
use crate::options::{Durability, Options};
use crate::redo::RedoLog;
use crate::tx::WriteTx;
use crate::writer::{Persistence, WriteStats, Writer, WriterState};

/// The store's metadata: format version, id, creation time. Owned by this module.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("hardstore.meta");
const KEY_FORMAT: &str = "format_version";
const KEY_ID: &str = "store_id";
const KEY_CREATED: &str = "created_us";

/// The store format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 4;
// Version 2 added the redo log (`<store>.redo`): a build that only knows version 1 would
// ignore acknowledged writes waiting in it, so it must refuse the file. Version 3 keeps
// settings in the store and restore points as before-images instead of redb savepoints:
// a version 2 build would take the points for savepoints it cannot find. Version 4
// stores the state digest at checkpoints only (`restore_points::digest`): a version 3
// build would trust a stale one after a crash. Versions 1 to 3 are upgraded in place at
// open (`upgrade.rs`; for 3, the digest's first load tags it).

/// The first bytes of every redb file (redb's header magic).
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// A store's random 128-bit identity, written once when the file is created.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreId(pub [u8; 16]);

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreId({self})")
    }
}

pub(crate) struct Inner {
    pub(crate) db: Arc<Database>,
    pub(crate) writer: Writer,
    pub(crate) opts: Options,
    /// The store's own settings (read at open, changed by `StoreSettings`).
    pub(crate) settings: parking_lot::RwLock<crate::settings::Settings>,
    pub(crate) id: StoreId,
    pub(crate) created: Timestamp,
    pub(crate) path: PathBuf,
    /// The areas' shared objects (keys in flight, the log queue, ...): `engine::area`.
    pub(crate) shared: Arc<Shared>,
    /// Replication to object storage, once started (dropped after the writer, which
    /// hands it the last batches).
    pub(crate) replication: parking_lot::Mutex<Option<crate::replication::Replication>>,
}

/// An open hardstore file. Cheap to clone; clones share one writer and one file.
///
/// Dropping the last clone flushes buffered writes and closes the file; [`Store::close`]
/// does the same and reports errors.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("id", &self.inner.id)
            .finish()
    }
}

impl Store {
    /// `Store::open` (defined with the registry, `crate::areas`), once it is installed.
    pub(crate) fn open_file(path: impl AsRef<Path>, opts: Options) -> Result<Store> {
        opts.validate()?;
        let path = path.as_ref().to_path_buf();
        let existing = match std::fs::metadata(&path) {
            Ok(m) => m.len() > 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e.into()),
        };
        if existing {
            check_magic(&path)?;
        }
        // An existing file is checked through a read-only handle first: redb writes to a
        // file it opens for writing, and a refused file must be left byte-for-byte as it was.
        // A file that was not closed cleanly (a crash) cannot be read before redb repairs
        // it, which needs the writable open; its metadata is then checked right after.
        if existing {
            match redb::Builder::new().open_read_only(&path) {
                Ok(ro) => {
                    read_meta(&ro, &path)?;
                    ro.close().map_err(|e| open_error(e, &path))?;
                }
                Err(redb::DatabaseError::RepairAborted) => {}
                Err(e) => return Err(open_error(e, &path)),
            }
        }
        let mut builder = Database::builder();
        builder.set_cache_size(opts.cache_bytes);
        builder.set_check_integrity_on_open(opts.check_integrity);
        let opened = if existing {
            builder.open(&path)
        } else {
            builder.create(&path)
        };
        let db = opened.map_err(|e| open_error(e, &path))?;
        let (id, created, redo) = if existing {
            // Re-read under the write lock: the file may have changed between the two opens.
            let (id, created) = read_meta(&db, &path)?;
            // Batches acknowledged as durable may live only in the redo log: apply them
            // before anything else writes.
            let redo = RedoLog::recover(&db, &path, id.0, false)?;
            begin_open(&db)?;
            (id, created, redo)
        } else {
            let (id, created) = init_store(&db, &opts)?;
            (id, created, RedoLog::recover(&db, &path, id.0, true)?)
        };
        let (log, seq) = redo;
        Self::start(db, opts, path, id, created, Persistence::Redo(log, seq))
    }

    /// `Store::open_with_backend` (defined with the registry), once it is installed.
    /// `volatile`: the backend's contents die with the process (see `Persistence`).
    pub(crate) fn open_backend(
        backend: impl redb::StorageBackend,
        opts: Options,
        volatile: bool,
    ) -> Result<Store> {
        opts.validate()?;
        let existing = backend.len().map_err(|e| Error::Storage(e.to_string()))? > 0;
        let mut builder = Database::builder();
        builder.set_cache_size(opts.cache_bytes);
        builder.set_check_integrity_on_open(opts.check_integrity);
        let path = PathBuf::from(":backend:");
        let db = builder
            .create_with_backend(backend)
            .map_err(|e| open_error(e, &path))?;
        let (id, created) = if existing {
            let (id, created) = read_meta(&db, &path)?;
            begin_open(&db)?;
            (id, created)
        } else {
            init_store(&db, &opts)?
        };
        // Without a file there is no redo log: durable batches are synced redb commits,
        // unless syncing is moot.
        let persistence = if volatile {
            Persistence::Volatile
        } else {
            Persistence::Synced
        };
        Self::start(db, opts, path, id, created, persistence)
    }

    fn start(
        db: Database,
        opts: Options,
        path: PathBuf,
        id: StoreId,
        created: Timestamp,
        persistence: Persistence,
    ) -> Result<Store> {
        let db = Arc::new(db);
        let settings = load_settings(&db, &opts)?;
        // Every area builds its state and shared objects (upgrading what earlier builds
        // wrote) before anything writes.
        let (mut states, mut shared, mut queue) = (States::default(), Shared::default(), None);
        let replayed = match &persistence {
            Persistence::Redo(log, _) => log.replayed(),
            Persistence::Synced | Persistence::Volatile => 0,
        };
        {
            let mut ctx = OpenCtx {
                db: &db,
                opts: &opts,
                settings: &settings,
                states: &mut states,
                shared: &mut shared,
                queue: &mut queue,
                replayed,
            };
            for area in crate::engine::registry::get().areas {
                area.open(&mut ctx)?;
            }
        }
        let shared = Arc::new(shared);
        let state = WriterState {
            areas: states,
            settings: settings.clone(),
        };
        let writer = Writer::start(db.clone(), queue, state, &opts, shared.clone(), persistence)?;
        let store = Store {
            inner: Arc::new(Inner {
                db,
                writer,
                opts,
                settings: parking_lot::RwLock::new(settings),
                id,
                created,
                path,
                shared,
                replication: parking_lot::Mutex::new(None),
            }),
        };
        for area in crate::engine::registry::get().areas {
            area.after_open(&store)?;
        }
        Ok(store)
    }

    /// An area's shared object `T` (see `engine::area`).
    pub(crate) fn shared<T: std::any::Any + Send + Sync>(&self) -> Result<&T> {
        self.inner.shared.get::<T>()
    }

    /// The store's random 128-bit id.
    pub fn id(&self) -> StoreId {
        self.inner.id
    }

    /// When the store file was created (from the clock of the process that created it).
    pub fn created(&self) -> Timestamp {
        self.inner.created
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The store's own settings (ring capacity, TTLs, retention, caps, schedules): read
    /// them, or change one with an audited call.
    pub fn settings(&self) -> crate::settings::StoreSettings<'_> {
        crate::settings::StoreSettings::new(self)
    }

    /// Runs `f` in a transaction shared with concurrent writers (group commit) and returns
    /// its output once committed with `durability`. If `f` returns an error, nothing it
    /// did is kept. `f` may run more than once (see [`WriteTx`]).
    pub fn write<R, F>(&self, durability: Durability, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnMut(&mut WriteTx<'_>) -> Result<R> + Send + 'static,
    {
        self.inner.writer.submit(durability, f)
    }

    /// Makes every write acknowledged so far durable.
    pub fn flush(&self) -> Result<()> {
        self.inner.writer.flush()
    }

    /// Counters of the group-commit write path: `writes / batches` is the mean batch
    /// size, `syncs` the fsyncs paid.
    pub fn write_stats(&self) -> WriteStats {
        self.inner.writer.stats()
    }

    /// The write path's histograms since the open: batch commit time, durable sync
    /// time, writes per batch.
    pub fn write_latency(&self) -> crate::WriteLatency {
        self.inner.writer.latency()
    }

    /// Whether an I/O failure mid-write has poisoned the store (reopen to recover).
    pub fn is_poisoned(&self) -> bool {
        self.inner.writer.is_poisoned()
    }

    /// Flushes buffered writes and stops the writer. Later writes through any clone
    /// fail with [`Error::Closed`]; reads keep working until the last clone is dropped.
    /// Closing the last clone also closes the file, reporting a failure of its final
    /// write (which a drop could only ignore: the next open would then repair the file).
    pub fn close(self) -> Result<()> {
        for area in crate::engine::registry::get().areas {
            area.close(&self.inner.shared);
        }
        let shut = self.inner.writer.shutdown();
        // The writer has handed over its last batches: ship them, then stop.
        let replication = self.inner.replication.lock().take();
        if let Some(mut r) = replication {
            r.stop();
        }
        shut?;
        if let Ok(inner) = Arc::try_unwrap(self.inner) {
            let Inner { db, writer, .. } = inner;
            // The writer holds the database too.
            drop(writer);
            if let Ok(db) = Arc::try_unwrap(db) {
                db.close()?;
            }
        }
        Ok(())
    }

    pub(crate) fn begin_read(&self) -> Result<ReadTransaction> {
        Ok(self.inner.db.begin_read()?)
    }

    pub(crate) fn clock_now(&self) -> Timestamp {
        self.inner.opts.clock.now()
    }
}

fn check_magic(path: &Path) -> Result<()> {
    let mut head = [0u8; REDB_MAGIC.len()];
    let mut f = File::open(path)?;
    let n = read_up_to(&mut f, &mut head)?;
    if n < head.len() || head != REDB_MAGIC {
        return Err(Error::NotAStore {
            path: path.to_path_buf(),
            reason: "it is not a redb database file".into(),
        });
    }
    Ok(())
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The error of an open redb refused. The file starts with redb's magic (checked
/// before), so damage redb reports is corruption of a store, not a foreign file.
fn open_error(e: redb::DatabaseError, path: &Path) -> Error {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => Error::AlreadyOpen(path.to_path_buf()),
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(msg)) => {
            Error::Corrupted(format!("{}: {msg}", path.display()))
        }
        other => other.into(),
    }
}

fn read_meta(db: &impl ReadableDatabase, path: &Path) -> Result<(StoreId, Timestamp)> {
    let not_a_store = |reason: &str| Error::NotAStore {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    let read = db.begin_read()?;
    let meta = match read.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            return Err(not_a_store("it is a redb file without hardstore metadata"))
        }
        Err(e) => return Err(e.into()),
    };
    let get = |key: &str| -> Result<Vec<u8>> {
        meta.get(key)?
            .map(|v| v.value().to_vec())
            .ok_or_else(|| not_a_store(&format!("metadata key {key} is missing")))
    };
    let format = u32::from_le_bytes(
        get(KEY_FORMAT)?
            .try_into()
            .map_err(|_| not_a_store("format version is not 4 bytes"))?,
    );
    if format > FORMAT_VERSION {
        return Err(Error::FormatTooNew {
            found: format,
            supported: FORMAT_VERSION,
        });
    }
    if format == 0 {
        return Err(not_a_store("format version 0 was never written"));
    }
    let id: [u8; 16] = get(KEY_ID)?
        .try_into()
        .map_err(|_| not_a_store("store id is not 16 bytes"))?;
    let created = u64::from_le_bytes(
        get(KEY_CREATED)?
            .try_into()
            .map_err(|_| not_a_store("creation time is not 8 bytes"))?,
    );
    Ok((StoreId(id), created))
}

/// Writes the metadata and creates every area's tables, durably, in one transaction;
/// returns the id and the creation time.
pub(crate) fn init_store(db: &Database, opts: &Options) -> Result<(StoreId, Timestamp)> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id)
        .map_err(|e| Error::Storage(format!("no OS randomness for the store id: {e}")))?;
    let created = opts.clock.now();
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        meta.insert(KEY_FORMAT, FORMAT_VERSION.to_le_bytes().as_slice())?;
        meta.insert(KEY_ID, id.as_slice())?;
        meta.insert(KEY_CREATED, created.to_le_bytes().as_slice())?;
    }
    create_area_tables(&txn)?;
    crate::audit::tables::init_hash(&txn, opts.audit_hash)?;
    crate::settings::fill_missing(&txn, &opts.seed)?;
    areas_begin_open(&txn)?;
    txn.commit()?;
    Ok((StoreId(id), created))
}

/// Creates every cataloged table that does not exist yet (each area declares its own).
fn create_area_tables(txn: &redb::WriteTransaction) -> Result<()> {
    crate::engine::catalog::create_all(txn)
}

/// The store's settings; those a file written by an earlier build lacks are seeded from
/// `opts`, adjusted by the areas so that nothing stored is lost (the ring's capacity never
/// below what it holds), and written durably before anything else.
fn load_settings(db: &Database, opts: &Options) -> Result<crate::settings::Settings> {
    let read = db.begin_read()?;
    let table = read.open_table(crate::settings::SETTINGS)?;
    let (settings, missing) = crate::settings::load(&table, &opts.seed)?;
    if !missing {
        return Ok(settings);
    }
    let mut seed = opts.seed.clone();
    for area in crate::engine::registry::get().areas {
        area.seed_settings(&read, &mut seed)?;
    }
    let (settings, _) = crate::settings::load(&table, &seed)?;
    drop((table, read));
    let txn = db.begin_write()?;
    crate::settings::fill_missing(&txn, &settings)?;
    txn.commit()?;
    Ok(settings)
}

/// Starts an open of an existing store, durably: adds the tables of areas newer than the
/// file (a store created by an earlier release of this format), so that reads never meet
/// a missing table.
fn begin_open(db: &Database) -> Result<()> {
    let txn = db.begin_write()?;
    txn.open_table(META)?
        .insert(KEY_FORMAT, FORMAT_VERSION.to_le_bytes().as_slice())?;
    create_area_tables(&txn)?;
    areas_begin_open(&txn)?;
    txn.commit()?;
    Ok(())
}

/// Lets every area write what each open writes, in the open's own transaction.
fn areas_begin_open(txn: &redb::WriteTransaction) -> Result<()> {
    for area in crate::engine::registry::get().areas {
        area.begin_open(txn)?;
    }
    Ok(())
}
