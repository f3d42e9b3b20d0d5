//! `restore-point` and `backup`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Subcommand, ValueEnum};
use hardstore::{
    backup, BackupKey, BackupKind, BackupOptions, BackupRecord, Clock, Error, Options, Result,
    Retention, Schedule, SystemClock,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::{emit, hex, open, unhex};

#[derive(Subcommand)]
pub(crate) enum RestorePointCmd {
    /// Takes a restore point labelled LABEL.
    Create {
        store: PathBuf,
        label: String,
        #[arg(long)]
        json: bool,
    },
    /// Every restore point, oldest first.
    List {
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Recomputes a point's digest; exit code 4 if it differs.
    Verify { store: PathBuf, id: u64 },
    /// Rolls the mutable state back to point ID (the audit log and log ring are kept).
    Restore {
        store: PathBuf,
        id: u64,
        #[arg(long, default_value = "hardstore-cli")]
        actor: String,
    },
    /// Writes point ID's state as a new store file at PATH.
    Export {
        store: PathBuf,
        id: u64,
        path: PathBuf,
    },
}

pub(crate) fn restore_point(c: RestorePointCmd) -> Result<()> {
    match c {
        RestorePointCmd::Create { store, label, json } => {
            let s = open(&store)?;
            let p = s.restore_points().create(&label)?;
            emit(
                json,
                json!({"id": p.id, "label": p.label, "audit_size": p.audit_size}),
                || println!("restore point {} ({:?}) created", p.id, p.label),
            );
            s.close()
        }
        RestorePointCmd::List { store, json } => {
            let s = open(&store)?;
            let all = s.restore_points().list()?;
            let v: Vec<_> = all
                .iter()
                .map(|p| {
                    json!({"id": p.id, "label": p.label, "created_us": p.created,
                           "audit_size": p.audit_size, "audit_root": hex(&p.audit_root),
                           "digest": hex(&p.digest)})
                })
                .collect();
            emit(json, json!({ "restore_points": v }), || {
                for p in &all {
                    println!(
                        "{:>4}  {}  audit {}  {:?}",
                        p.id,
                        crate::time::rfc3339(p.created),
                        p.audit_size,
                        p.label
                    );
                }
            });
            s.close()
        }
        RestorePointCmd::Verify { store, id } => {
            let s = open(&store)?;
            s.restore_points().verify(id)?;
            println!("restore point {id}: digest matches");
            s.close()
        }
        RestorePointCmd::Restore { store, id, actor } => {
            let s = open(&store)?;
            let r = s.restore_points().restore(id, &actor)?;
            println!(
                "restored to point {id}; recorded as audit entry {}",
                r.audit_seq
            );
            s.close()
        }
        RestorePointCmd::Export { store, id, path } => {
            let s = open(&store)?;
            let n = s.restore_points().export(id, &path)?;
            println!("point {id}: {n} rows written to {}", path.display());
            s.close()
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Kind {
    Full,
    Incremental,
    Differential,
}

/// How a key is given: a file of 64 hex digits (the key never appears on a command line).
#[derive(clap::Args)]
pub(crate) struct KeyArgs {
    /// A file holding the 32-byte key as 64 hex digits.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// The key's id (written in the file).
    #[arg(long, default_value_t = 1)]
    key_id: u32,
}

impl KeyArgs {
    fn key(&self) -> Result<Option<BackupKey>> {
        let Some(f) = &self.key_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(f)?;
        let bytes = unhex(text.trim())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::InvalidArgument(format!("{} must hold 64 hex digits", f.display()))
        })?;
        Ok(Some(BackupKey::new(self.key_id, key)))
    }
}

#[derive(Subcommand)]
pub(crate) enum BackupCmd {
    /// Takes a backup into FOLDER and catalogs it.
    Create {
        store: PathBuf,
        #[arg(long, value_enum, default_value = "full")]
        kind: Kind,
        #[arg(long)]
        folder: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        #[arg(long)]
        json: bool,
    },
    /// Verifies backup files: one file, or a chain (a full backup first).
    Verify {
        files: Vec<PathBuf>,
        #[command(flatten)]
        key: KeyArgs,
        #[arg(long)]
        json: bool,
    },
    /// Restores a chain of backup files (a full backup first) into a new store at --to.
    Restore {
        files: Vec<PathBuf>,
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        #[arg(long)]
        json: bool,
    },
    /// The catalog: every run, oldest first.
    List {
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Deletes backups past retention (never one a kept backup depends on): the store's
    /// backup-retention settings (`settings show`), a flag given replacing its one.
    Prune {
        store: PathBuf,
        /// Full backups older than this many days go (default: the store's
        /// backup-retention-max-age).
        #[arg(long)]
        max_age_days: Option<u64>,
        /// Keep at most this many full backups (default: the store's
        /// backup-retention-keep-fulls).
        #[arg(long)]
        keep_fulls: Option<usize>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Runs the backup due now under the store's schedule (backup-full-every,
    /// backup-incremental-every, backup-differential-every in `settings show`), then
    /// prunes by the store's backup-retention, as `backup prune` does.
    RunDue {
        store: PathBuf,
        #[arg(long)]
        folder: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        #[arg(long)]
        json: bool,
    },
}

fn bar() -> ProgressBar {
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

fn options(key: Option<BackupKey>, pb: &ProgressBar) -> BackupOptions {
    let pb = pb.clone();
    BackupOptions {
        key,
        progress: Some(Arc::new(move |done, total| {
            pb.set_length(total);
            pb.set_position(done);
        })),
    }
}

fn record_json(r: &BackupRecord) -> serde_json::Value {
    json!({
        "id": r.id, "kind": r.kind.name(), "base": r.base, "file": r.file,
        "started_us": r.started, "ended_us": r.ended, "bytes": r.bytes, "entries": r.entries,
        "digest": r.digest.map(|d| hex(&d)), "result": format!("{:?}", r.result).to_lowercase(),
        "error": r.error, "covered_from": r.covered_from, "covered_to": r.covered_to,
        "audit_size": r.audit_size, "key_id": r.key_id,
    })
}

fn print_record(r: &BackupRecord) {
    println!(
        "{:>5}  {:<12}  {:<11}  base {:<5}  {:>12} bytes  {}",
        r.id,
        r.kind.name(),
        format!("{:?}", r.result).to_lowercase(),
        r.base.map_or("-".into(), |b| b.to_string()),
        r.bytes,
        r.file
    );
}

fn info_json(i: &hardstore::BackupInfo) -> serde_json::Value {
    json!({
        "kind": i.kind.name(), "backup_id": i.backup_id, "base_id": i.base_id,
        "store_id": i.store_id.to_string(), "created_us": i.created, "frames": i.frames,
        "bytes": i.bytes, "digest": hex(&i.digest), "audit_size": i.audit_size,
        "audit_root": hex(&i.audit_root), "covered_from": i.covered_from,
        "covered_to": i.covered_to, "key_id": i.key_id,
    })
}

fn need_files(files: &[PathBuf]) -> Result<()> {
    if files.is_empty() {
        return Err(Error::InvalidArgument(
            "name at least one backup file".into(),
        ));
    }
    Ok(())
}

pub(crate) fn backup(c: BackupCmd) -> Result<()> {
    match c {
        BackupCmd::Create {
            store,
            kind,
            folder,
            key,
            json,
        } => {
            let s = open(&store)?;
            let kind = match kind {
                Kind::Full => BackupKind::Full,
                Kind::Incremental => BackupKind::Incremental,
                Kind::Differential => BackupKind::Differential,
            };
            let pb = bar();
            pb.set_message(format!("{} backup", kind.name()));
            let res = s.backups().run(kind, &folder, &options(key.key()?, &pb));
            pb.finish_and_clear();
            let r = res?;
            emit(json, record_json(&r), || print_record(&r));
            s.close()
        }
        BackupCmd::Verify { files, key, json } => {
            need_files(&files)?;
            let all = backup::verify_chain(&files, key.key()?.as_ref())?;
            let v: Vec<_> = all.iter().map(info_json).collect();
            emit(json, json!({ "files": v }), || {
                for (f, i) in files.iter().zip(&all) {
                    println!(
                        "ok  {}  {} backup {}, {} frames, audit {}",
                        f.display(),
                        i.kind.name(),
                        i.backup_id,
                        i.frames,
                        i.audit_size
                    );
                }
            });
            Ok(())
        }
        BackupCmd::Restore {
            files,
            to,
            key,
            json,
        } => {
            need_files(&files)?;
            let pb = ProgressBar::new_spinner();
            pb.set_message(format!("restoring {} file(s)", files.len()));
            pb.enable_steady_tick(Duration::from_millis(100));
            let res = backup::restore_chain(&files, &to, &Options::new(), key.key()?.as_ref());
            pb.finish_and_clear();
            let i = res?;
            emit(json, info_json(&i), || {
                println!(
                    "restored into {}: audit log of {} entries, root {}",
                    to.display(),
                    i.audit_size,
                    hex(&i.audit_root)
                )
            });
            Ok(())
        }
        BackupCmd::List { store, json } => {
            let s = open(&store)?;
            let all = s.backups().list()?;
            let v: Vec<_> = all.iter().map(record_json).collect();
            emit(json, json!({ "backups": v }), || {
                all.iter().for_each(print_record)
            });
            s.close()
        }
        BackupCmd::Prune {
            store,
            max_age_days,
            keep_fulls,
            dry_run,
            json,
        } => {
            let s = open(&store)?;
            // The store's own retention; a flag replaces its part.
            let mut policy: Retention = s.settings().get().backup_retention;
            if let Some(d) = max_age_days {
                let secs = d.checked_mul(86_400).ok_or_else(|| {
                    Error::InvalidArgument(format!("--max-age-days {d} is too long"))
                })?;
                policy.max_age = Some(Duration::from_secs(secs));
            }
            if keep_fulls.is_some() {
                policy.keep_fulls = keep_fulls;
            }
            let gone = s.backups().prune(&policy, SystemClock.now(), dry_run)?;
            let v: Vec<_> = gone.iter().map(record_json).collect();
            let retention = json!({
                "max_age_us": policy.max_age.map(|d| d.as_micros() as u64),
                "keep_fulls": policy.keep_fulls,
            });
            let out = json!({"dry_run": dry_run, "retention": retention, "pruned": v});
            emit(json, out, || {
                let verb = if dry_run { "would delete" } else { "deleted" };
                println!("retention: {}", crate::settings::retention_text(&policy));
                println!("{verb} {} backup(s)", gone.len());
                gone.iter().for_each(print_record);
            });
            s.close()
        }
        BackupCmd::RunDue {
            store,
            folder,
            key,
            json,
        } => {
            let s = open(&store)?;
            let settings = s.settings().get();
            let mut schedule: Schedule = settings.backup_schedule;
            // One retention for the operator: the one `backup prune` and
            // `settings set backup-retention-*` use (a schedule without one prunes nothing).
            if schedule.retention.is_some() {
                schedule.retention = Some(settings.backup_retention);
            }
            let pb = bar();
            pb.set_message("scheduled backup");
            let res = s.backups().run_due(
                SystemClock.now(),
                &folder,
                &schedule,
                &options(key.key()?, &pb),
            );
            pb.finish_and_clear();
            match res? {
                Some(r) => emit(json, record_json(&r), || print_record(&r)),
                None => emit(json, json!(null), || println!("nothing is due")),
            }
            s.close()
        }
    }
}
