//! The C ABI for backups: files, chains, the catalog, retention and the schedule.

use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

use super::store::{hardstore_options, hardstore_store, HARDSTORE_MAX_PATH};
use super::{arg, free_box, guard, hardstore_result, out, str_arg, FfiError, FfiResult};
use crate::backup::{
    BackupInfo, BackupKey, BackupKind, BackupOptions, BackupRecord, BackupResult, Retention,
    Schedule, ScheduleHandle,
};
use crate::error::Error;

/// `hardstore_backup_info.kind` and `hardstore_backup_record.kind`, and the kind asked of
/// `hardstore_backup_run`.
pub const HARDSTORE_BACKUP_FULL: u32 = 1;
/// See `HARDSTORE_BACKUP_FULL`.
pub const HARDSTORE_BACKUP_INCREMENTAL: u32 = 2;
/// See `HARDSTORE_BACKUP_FULL`.
pub const HARDSTORE_BACKUP_DIFFERENTIAL: u32 = 3;

/// `hardstore_backup_record.result`: the run is in progress.
pub const HARDSTORE_BACKUP_RUNNING: u32 = 0;
/// The file was written, synced and renamed into place.
pub const HARDSTORE_BACKUP_OK: u32 = 1;
/// The run failed (`error` says why); no file was left.
pub const HARDSTORE_BACKUP_FAILED: u32 = 2;
/// The process stopped during the run; no file was left.
pub const HARDSTORE_BACKUP_INTERRUPTED: u32 = 3;

/// A backup encryption key: 32 secret bytes and the id that names it (the id is written
/// in the file, the key never is).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct hardstore_backup_key {
    /// Any number the caller uses to name its keys.
    pub id: u32,
    /// The AES-256 key material.
    pub key: [u8; 32],
}

/// Called with (`user`, bytes done, bytes total) on the calling thread while a backup
/// file is written. The total is an estimate; the last call has done == total.
pub type hardstore_progress_cb =
    Option<unsafe extern "C" fn(user: *mut c_void, done: u64, total: u64)>;

/// What a verified backup file holds.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_backup_info {
    /// The id of the store it was taken from.
    pub store_id: [u8; 16],
    /// When the snapshot was taken, microseconds since the Unix epoch.
    pub created_us: u64,
    /// The audit log's size in the snapshot.
    pub audit_size: u64,
    /// The audit log's root at that size.
    pub audit_root: [u8; 32],
    /// Frames written (rows put or deleted).
    pub frames: u64,
    /// The plain stream's length in bytes (the file's, unless encrypted).
    pub bytes: u64,
    /// BLAKE3 of the plain stream before its trailer.
    pub digest: [u8; 32],
    /// `HARDSTORE_BACKUP_FULL`, `_INCREMENTAL` or `_DIFFERENTIAL`.
    pub kind: u32,
    /// Whether the file is encrypted (then `key_id` names its key).
    pub encrypted: bool,
    /// The id of the key it is encrypted with.
    pub key_id: u32,
    /// Its catalog id (0 for a standalone full backup).
    pub backup_id: u64,
    /// The catalog id of the backup it builds on (0 for a full one).
    pub base_id: u64,
    /// That backup's digest (zeros for a full one).
    pub base_digest: [u8; 32],
    /// The change numbers it holds: `covered_from..covered_to`.
    pub covered_from: u64,
    /// See `covered_from`.
    pub covered_to: u64,
}

fn kind_code(k: BackupKind) -> u32 {
    u32::from(k.code())
}

fn info(b: &BackupInfo) -> hardstore_backup_info {
    hardstore_backup_info {
        store_id: b.store_id.0,
        created_us: b.created,
        audit_size: b.audit_size,
        audit_root: b.audit_root,
        frames: b.frames,
        bytes: b.bytes,
        digest: b.digest,
        kind: kind_code(b.kind),
        encrypted: b.key_id.is_some(),
        key_id: b.key_id.unwrap_or(0),
        backup_id: b.backup_id,
        base_id: b.base_id.unwrap_or(0),
        base_digest: b.base_digest.unwrap_or_default(),
        covered_from: b.covered_from,
        covered_to: b.covered_to,
    }
}

/// One cataloged run. `file` and `error` are borrowed from the list they came from and
/// stay valid until it is freed; they are not NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_backup_record {
    /// The run's id.
    pub id: u64,
    /// `HARDSTORE_BACKUP_FULL`, `_INCREMENTAL` or `_DIFFERENTIAL`.
    pub kind: u32,
    /// `HARDSTORE_BACKUP_OK`, `_FAILED`, `_INTERRUPTED` or `_RUNNING`.
    pub result: u32,
    /// The backup it builds on (0 for a full one).
    pub base_id: u64,
    /// The backup file's path (UTF-8).
    pub file: *const u8,
    /// Its length in bytes.
    pub file_len: usize,
    /// Why the run failed (empty when it did not).
    pub error: *const u8,
    /// Its length in bytes.
    pub error_len: usize,
    /// When the run started, microseconds since the Unix epoch.
    pub started_us: u64,
    /// When it ended (0 while running).
    pub ended_us: u64,
    /// The file's length.
    pub bytes: u64,
    /// Frames written.
    pub entries: u64,
    /// BLAKE3 of the file before its trailer (zeros unless `result` is OK).
    pub digest: [u8; 32],
    /// The change numbers it holds: `covered_from..covered_to`.
    pub covered_from: u64,
    /// See `covered_from`.
    pub covered_to: u64,
    /// The audit log's size in the backup.
    pub audit_size: u64,
    /// Whether the file is encrypted (then `key_id` names its key).
    pub encrypted: bool,
    /// The id of the key it is encrypted with.
    pub key_id: u32,
}

/// Catalog records, owned by the library; free with `hardstore_backup_records_free`.
pub struct hardstore_backup_records {
    records: Vec<BackupRecord>,
}

/// Which backups `hardstore_backup_prune` keeps (see `Retention` in the Rust docs).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_retention {
    /// Full backups older than this many seconds go (0: no age limit).
    pub max_age_secs: u64,
    /// At most this many full backups are kept, the newest (0: no limit).
    pub keep_fulls: u64,
}

/// When backups are due (`hardstore_backup_run_due`, `hardstore_backup_schedule_start`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_schedule {
    /// A full backup when the last one started this many seconds ago (default 86400).
    pub full_every_secs: u64,
    /// An incremental when the last full or incremental started this long ago (21600).
    pub incremental_every_secs: u64,
    /// A differential when the last backup started this long ago (3600).
    pub differential_every_secs: u64,
    /// Whether to prune with `retention` after each scheduled run.
    pub prune: bool,
    /// The retention applied when `prune` is set.
    pub retention: hardstore_retention,
}

/// A background thread running due backups; stop it with `hardstore_backup_schedule_stop`.
pub struct hardstore_backup_schedule {
    // Held for its drop, which stops the thread.
    _running: ScheduleHandle,
}

unsafe fn key_arg(key: *const hardstore_backup_key) -> Option<BackupKey> {
    key.as_ref().map(|k| BackupKey::new(k.id, k.key))
}

/// A C callback and its user pointer, called on the thread that passed them.
struct CProgress {
    cb: unsafe extern "C" fn(*mut c_void, u64, u64),
    user: *mut c_void,
}

// The callback runs only during the call that received it, on that caller's thread
// (`Backups::run` and `full_with` report from the calling thread); the caller owns
// whatever `user` points to for that long.
unsafe impl Send for CProgress {}
unsafe impl Sync for CProgress {}

impl CProgress {
    fn call(&self, done: u64, total: u64) {
        // SAFETY: the caller of the function that took `cb` vouched for it and `user`.
        unsafe { (self.cb)(self.user, done, total) }
    }
}

unsafe fn backup_opts(
    key: *const hardstore_backup_key,
    cb: hardstore_progress_cb,
    user: *mut c_void,
) -> BackupOptions {
    BackupOptions {
        key: key_arg(key),
        progress: cb.map(|cb| {
            let p = CProgress { cb, user };
            Arc::new(move |done, total| p.call(done, total)) as crate::backup::Progress
        }),
    }
}

pub(crate) fn retention(r: &hardstore_retention) -> Retention {
    Retention {
        max_age: (r.max_age_secs > 0).then(|| Duration::from_secs(r.max_age_secs)),
        keep_fulls: (r.keep_fulls > 0).then_some(r.keep_fulls as usize),
    }
}

pub(crate) fn retention_to_c(r: &Retention) -> hardstore_retention {
    hardstore_retention {
        max_age_secs: r.max_age.map_or(0, |a| a.as_secs().max(1)),
        keep_fulls: r.keep_fulls.map_or(0, |n| n as u64),
    }
}

pub(crate) fn schedule_to_c(s: &Schedule) -> hardstore_schedule {
    hardstore_schedule {
        full_every_secs: s.full_every.as_secs(),
        incremental_every_secs: s.incremental_every.as_secs(),
        differential_every_secs: s.differential_every.as_secs(),
        prune: s.retention.is_some(),
        retention: s
            .retention
            .as_ref()
            .map(retention_to_c)
            .unwrap_or(hardstore_retention {
                max_age_secs: 0,
                keep_fulls: 0,
            }),
    }
}

pub(crate) fn schedule(s: Option<&hardstore_schedule>) -> FfiResult<Schedule> {
    let Some(s) = s else {
        return Ok(Schedule::default());
    };
    if s.full_every_secs == 0 || s.incremental_every_secs == 0 || s.differential_every_secs == 0 {
        return Err(Error::InvalidArgument("schedule intervals must be above zero".into()).into());
    }
    Ok(Schedule {
        full_every: Duration::from_secs(s.full_every_secs),
        incremental_every: Duration::from_secs(s.incremental_every_secs),
        differential_every: Duration::from_secs(s.differential_every_secs),
        retention: s.prune.then(|| retention(&s.retention)),
    })
}

fn kind_arg(kind: u32) -> FfiResult<BackupKind> {
    match kind {
        HARDSTORE_BACKUP_FULL => Ok(BackupKind::Full),
        HARDSTORE_BACKUP_INCREMENTAL => Ok(BackupKind::Incremental),
        HARDSTORE_BACKUP_DIFFERENTIAL => Ok(BackupKind::Differential),
        k => Err(Error::InvalidArgument(format!("backup kind {k}")).into()),
    }
}

/// Borrows an array of `n` UTF-8 paths (`paths[i]` of `path_lens[i]` bytes).
unsafe fn paths_arg<'a>(
    paths: *const *const u8,
    path_lens: *const usize,
    n: usize,
) -> FfiResult<Vec<&'a str>> {
    if n == 0 {
        return Err(Error::InvalidArgument("the backup chain is empty".into()).into());
    }
    if paths.is_null() {
        return Err(FfiError::Null("paths"));
    }
    if path_lens.is_null() {
        return Err(FfiError::Null("path_lens"));
    }
    if n > 1 << 20 {
        return Err(Error::InvalidArgument(format!("{n} paths is impossible")).into());
    }
    let (ps, ls) = (
        std::slice::from_raw_parts(paths, n),
        std::slice::from_raw_parts(path_lens, n),
    );
    ps.iter()
        .zip(ls)
        .map(|(p, l)| str_arg(*p, *l, "paths[i]", HARDSTORE_MAX_PATH))
        .collect()
}

fn give_list(records: Vec<BackupRecord>, o: *mut *mut hardstore_backup_records) {
    unsafe { *o = Box::into_raw(Box::new(hardstore_backup_records { records })) };
}

/// Writes a standalone full backup of `store` (outside the catalog), as of one
/// snapshot, to `path` (UTF-8; it must not exist: `HARDSTORE_INVALID_ARGUMENT`
/// otherwise); writes what it holds to `*out_info`. Writers are not blocked.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_full(
    store: *const hardstore_store,
    path: *const u8,
    path_len: usize,
    out_info: *mut hardstore_backup_info,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let path = str_arg(path, path_len, "path", HARDSTORE_MAX_PATH)?;
        let o = out(out_info, "out_info")?;
        *o = info(&s.store.backups().full(path)?);
        Ok(())
    })
}

/// Takes a backup of `kind` (`HARDSTORE_BACKUP_FULL`, `_INCREMENTAL`, `_DIFFERENTIAL`)
/// into `folder` (created if missing) and catalogs it. An incremental or differential
/// with no usable base is promoted to full: `*out_kind` says what was written, and
/// `*out_id` is its catalog id. `key` (NULL: not encrypted) is copied; `progress` (NULL:
/// none) is called with `user` on this thread before this returns. A failed run is
/// cataloged as failed and leaves no file.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_run(
    store: *const hardstore_store,
    kind: u32,
    folder: *const u8,
    folder_len: usize,
    key: *const hardstore_backup_key,
    progress: hardstore_progress_cb,
    user: *mut c_void,
    out_id: *mut u64,
    out_kind: *mut u32,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let kind = kind_arg(kind)?;
        let folder = str_arg(folder, folder_len, "folder", HARDSTORE_MAX_PATH)?;
        let (oi, ok) = (out(out_id, "out_id")?, out(out_kind, "out_kind")?);
        let rec = s
            .store
            .backups()
            .run(kind, folder, &backup_opts(key, progress, user))?;
        *oi = rec.id;
        *ok = kind_code(rec.kind);
        Ok(())
    })
}

/// Reads the backup at `path` end to end; `HARDSTORE_CORRUPTED` names what failed (a
/// flipped bit, a cut, appended bytes). An encrypted file needs
/// `hardstore_backup_verify_with_key`. On success writes what it holds to `*out_info`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_verify(
    path: *const u8,
    path_len: usize,
    out_info: *mut hardstore_backup_info,
) -> hardstore_result {
    hardstore_backup_verify_with_key(path, path_len, std::ptr::null(), out_info)
}

/// `hardstore_backup_verify`, decrypting with `key` (NULL: none) when the file is
/// encrypted. `HARDSTORE_WRONG_KEY` when it is encrypted and `key` is NULL or not its key.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_verify_with_key(
    path: *const u8,
    path_len: usize,
    key: *const hardstore_backup_key,
    out_info: *mut hardstore_backup_info,
) -> hardstore_result {
    guard(|| {
        let path = str_arg(path, path_len, "path", HARDSTORE_MAX_PATH)?;
        let o = out(out_info, "out_info")?;
        *o = info(&crate::backup::verify_with(path, key_arg(key).as_ref())?);
        Ok(())
    })
}

/// Verifies a chain of `n` files, a full backup first, then each backup built on the
/// one before: every file end to end, and every link (`HARDSTORE_INVALID_ARGUMENT`
/// naming the link when one is missing or out of order). Writes what the last holds to
/// `*out_last`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_verify_chain(
    paths: *const *const u8,
    path_lens: *const usize,
    n: usize,
    key: *const hardstore_backup_key,
    out_last: *mut hardstore_backup_info,
) -> hardstore_result {
    guard(|| {
        let ps = paths_arg(paths, path_lens, n)?;
        let o = out(out_last, "out_last")?;
        let all = crate::backup::verify_chain(&ps, key_arg(key).as_ref())?;
        let last = all.last().ok_or(FfiError::Null("paths"))?;
        *o = info(last);
        Ok(())
    })
}

/// Writes a new store at `new_path` (which must not exist) from the backup at `backup`,
/// created with `options` (NULL for the defaults; not consumed). Nothing is left at
/// `new_path` unless the whole backup verified. Writes what it held to `*out_info`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_restore(
    backup: *const u8,
    backup_len: usize,
    new_path: *const u8,
    new_path_len: usize,
    options: *const hardstore_options,
    out_info: *mut hardstore_backup_info,
) -> hardstore_result {
    let lens = [backup_len];
    let paths = [backup];
    hardstore_backup_restore_chain(
        paths.as_ptr(),
        lens.as_ptr(),
        1,
        new_path,
        new_path_len,
        options,
        std::ptr::null(),
        out_info,
    )
}

/// Writes a new store at `new_path` (which must not exist) equal to the source as of
/// the last backup of the chain of `n` files (as for `hardstore_backup_verify_chain`),
/// created with `options` (NULL for the defaults). `key` (NULL: none) decrypts encrypted
/// files. Nothing is left at `new_path` unless every file verified and the new store's
/// audit root equals the last backup's. Writes what the last backup held to `*out_info`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_restore_chain(
    paths: *const *const u8,
    path_lens: *const usize,
    n: usize,
    new_path: *const u8,
    new_path_len: usize,
    options: *const hardstore_options,
    key: *const hardstore_backup_key,
    out_info: *mut hardstore_backup_info,
) -> hardstore_result {
    guard(|| {
        let ps = paths_arg(paths, path_lens, n)?;
        let new_path = str_arg(new_path, new_path_len, "new_path", HARDSTORE_MAX_PATH)?;
        let o = out(out_info, "out_info")?;
        let defaults = crate::Options::new();
        let opts = if options.is_null() {
            &defaults
        } else {
            &arg(options, "options")?.inner
        };
        *o = info(&crate::backup::restore_chain(
            &ps,
            new_path,
            opts,
            key_arg(key).as_ref(),
        )?);
        Ok(())
    })
}

/// Writes every cataloged run, oldest first, to a new list at `*out_list` (free it with
/// `hardstore_backup_records_free`). A run left running by a process that stopped is
/// reported as interrupted.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_list(
    store: *const hardstore_store,
    out_list: *mut *mut hardstore_backup_records,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_list, "out_list")?;
        give_list(s.store.backups().list()?, o);
        Ok(())
    })
}

/// Writes the runs whose files restore backup `id`, in order (its full backup first,
/// `id` last), to a new list at `*out_list`. `HARDSTORE_NOT_FOUND` for an unknown id.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_chain(
    store: *const hardstore_store,
    id: u64,
    out_list: *mut *mut hardstore_backup_records,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_list, "out_list")?;
        let b = s.store.backups();
        let files = b.chain(id)?;
        let all = b.list()?;
        let chain = files
            .iter()
            .filter_map(|f| all.iter().find(|r| r.path() == f.as_path()).cloned())
            .collect();
        give_list(chain, o);
        Ok(())
    })
}

/// The number of records in `list` (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_records_len(
    list: *const hardstore_backup_records,
) -> usize {
    list.as_ref().map_or(0, |l| l.records.len())
}

/// Writes record `i` of `list` to `*out_record`; its strings are borrowed from `list`.
/// `HARDSTORE_NOT_FOUND` when `i` is past the end.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_records_get(
    list: *const hardstore_backup_records,
    i: usize,
    out_record: *mut hardstore_backup_record,
) -> hardstore_result {
    guard(|| {
        let l = arg(list, "list")?;
        let o = out(out_record, "out_record")?;
        let r = l
            .records
            .get(i)
            .ok_or_else(|| Error::NotFound(format!("record {i} of {}", l.records.len())))?;
        let error = r.error.as_deref().unwrap_or("");
        *o = hardstore_backup_record {
            id: r.id,
            kind: kind_code(r.kind),
            result: match r.result {
                BackupResult::Running => HARDSTORE_BACKUP_RUNNING,
                BackupResult::Ok => HARDSTORE_BACKUP_OK,
                BackupResult::Failed => HARDSTORE_BACKUP_FAILED,
                BackupResult::Interrupted => HARDSTORE_BACKUP_INTERRUPTED,
            },
            base_id: r.base.unwrap_or(0),
            file: r.file.as_ptr(),
            file_len: r.file.len(),
            error: error.as_ptr(),
            error_len: error.len(),
            started_us: r.started,
            ended_us: r.ended.unwrap_or(0),
            bytes: r.bytes,
            entries: r.entries,
            digest: r.digest.unwrap_or_default(),
            covered_from: r.covered_from,
            covered_to: r.covered_to,
            audit_size: r.audit_size,
            encrypted: r.key_id.is_some(),
            key_id: r.key_id.unwrap_or(0),
        };
        Ok(())
    })
}

/// Frees a list; NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_records_free(list: *mut hardstore_backup_records) {
    free_box(list);
}

/// Deletes the backups `policy` (NULL: full backups kept 30 days) drops as of `now_us`,
/// never one a kept backup depends on, and writes them to a new list at `*out_pruned`.
/// With `dry_run`, deletes nothing and lists what would go.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_prune(
    store: *const hardstore_store,
    policy: *const hardstore_retention,
    now_us: u64,
    dry_run: bool,
    out_pruned: *mut *mut hardstore_backup_records,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_pruned, "out_pruned")?;
        let policy = policy.as_ref().map(retention).unwrap_or_default();
        give_list(s.store.backups().prune(&policy, now_us, dry_run)?, o);
        Ok(())
    })
}

/// Runs the backup `sched` (NULL: the defaults, with pruning) says is due at `now_us`
/// into `folder`, if any, then prunes. `*out_ran` says whether one ran; then `*out_id`
/// is its catalog id. `key` and `progress` as for `hardstore_backup_run`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_run_due(
    store: *const hardstore_store,
    now_us: u64,
    folder: *const u8,
    folder_len: usize,
    sched: *const hardstore_schedule,
    key: *const hardstore_backup_key,
    progress: hardstore_progress_cb,
    user: *mut c_void,
    out_ran: *mut bool,
    out_id: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let folder = str_arg(folder, folder_len, "folder", HARDSTORE_MAX_PATH)?;
        let sched = schedule(sched.as_ref())?;
        let (or, oi) = (out(out_ran, "out_ran")?, out(out_id, "out_id")?);
        let ran =
            s.store
                .backups()
                .run_due(now_us, folder, &sched, &backup_opts(key, progress, user))?;
        *or = ran.is_some();
        *oi = ran.map_or(0, |r| r.id);
        Ok(())
    })
}

/// Writes the runs started at or after `since_us` that succeeded to `*out_ok` and those
/// that failed or were interrupted to `*out_failed`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_success_rate(
    store: *const hardstore_store,
    since_us: u64,
    out_ok: *mut u64,
    out_failed: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (ook, ofail) = (out(out_ok, "out_ok")?, out(out_failed, "out_failed")?);
        let r = s.store.backups().success_rate(since_us)?;
        *ook = r.ok;
        *ofail = r.failed;
        Ok(())
    })
}

/// Starts a thread that runs `hardstore_backup_run_due` into `folder` every
/// `check_every_ms` (above 0), from the store's clock, and writes its handle to
/// `*out_schedule`. The thread keeps the store open: stop it with
/// `hardstore_backup_schedule_stop` before closing the store.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_schedule_start(
    store: *const hardstore_store,
    folder: *const u8,
    folder_len: usize,
    sched: *const hardstore_schedule,
    key: *const hardstore_backup_key,
    check_every_ms: u64,
    out_schedule: *mut *mut hardstore_backup_schedule,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let folder = str_arg(folder, folder_len, "folder", HARDSTORE_MAX_PATH)?;
        let sched = schedule(sched.as_ref())?;
        let o = out(out_schedule, "out_schedule")?;
        let opts = BackupOptions {
            key: key_arg(key),
            progress: None,
        };
        let handle = ScheduleHandle::spawn(
            s.store.clone(),
            folder,
            sched,
            opts,
            Duration::from_millis(check_every_ms),
        )?;
        *o = Box::into_raw(Box::new(hardstore_backup_schedule { _running: handle }));
        Ok(())
    })
}

/// Stops the schedule thread (waiting for a run in progress) and frees the handle; NULL
/// does nothing.
#[no_mangle]
pub unsafe extern "C" fn hardstore_backup_schedule_stop(schedule: *mut hardstore_backup_schedule) {
    free_box(schedule);
}
