//! `hardstore`: the operator's command line (cargo feature `cli`).
//!
//! Every query command takes `--json` (one JSON document on stdout; times in it are
//! microseconds since the Unix epoch, printed as RFC 3339 in UTC otherwise). Exit codes: 0 done,
//! 1 failed (a change refused for want of `--confirm-evict` among them: nothing
//! changed), 2 bad usage, 3 the store is held by another process, 4 verification failed
//! (a damaged file or log, a wrong key or signature, a broken chain), 5 not found. `health` answers
//! with the grade instead when it ran: 0 healthy, 1 degraded, 2 critical.
//!
//! Every command reads the store's own settings (`store.settings()`): the default
//! `Options` it opens with only seed a new store, and never change an existing one.

mod alerts;
mod areas;
mod backups;
mod health;
mod limits;
mod maintenance;
mod metrics;
mod replica;
mod settings;
mod time;
mod tlog;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hardstore::{Error, Options, Store};

#[derive(Parser)]
#[command(
    name = "hardstore",
    version,
    about = "Inspect and operate a hardstore store file"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// What the store holds: ids, sizes, counts.
    Info {
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The store's health: its grade and every component. Exit code 0 healthy, 1
    /// degraded, 2 critical (or the usual codes when the store cannot be checked).
    Health {
        store: PathBuf,
        /// Also the deep check (reads the whole store).
        #[arg(long)]
        deep: bool,
        /// Raise or resolve each component's alert when its grade changed (writes).
        #[arg(long)]
        raise_alerts: bool,
        #[arg(long)]
        json: bool,
    },
    /// Runs every cleanup the store's settings say is due (expired idempotency keys, dead
    /// letters and resolved alerts past retention, backups past retention) and, with
    /// --backups-into, the backup the schedule has due.
    Maintenance {
        store: PathBuf,
        /// At most this many items per task (default 10,000).
        #[arg(long)]
        step: Option<usize>,
        #[arg(long)]
        backups_into: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The store's figures in the Prometheus text format 0.0.4 (--openmetrics:
    /// OpenMetrics; --json: a JSON object).
    Metrics {
        store: PathBuf,
        #[arg(long)]
        openmetrics: bool,
        #[arg(long)]
        json: bool,
    },
    /// The audit log: query, verify, prove, checkpoint, export.
    #[command(subcommand)]
    Audit(areas::AuditCmd),
    /// C2SP signed checkpoints of the audit log: keygen, sign, cosign, verify, bundle,
    /// verify-bundle.
    #[command(subcommand)]
    Tlog(tlog::TlogCmd),
    /// The log ring: tail, query, stats.
    #[command(subcommand)]
    Logs(areas::LogsCmd),
    /// Idempotency keys: get, purge.
    #[command(subcommand)]
    Idem(areas::IdemCmd),
    /// Dead letters: list, redrive, purge.
    #[command(subcommand)]
    Dlq(areas::DlqCmd),
    /// Alerts: list, raise, ack, resolve, purge.
    #[command(subcommand)]
    Alerts(alerts::AlertsCmd),
    /// Rate limits: list, define, remove, check.
    #[command(subcommand, name = "rate-limits")]
    RateLimits(limits::RateLimitsCmd),
    /// IP allow and deny rules: list, put, remove, check, purge-expired.
    #[command(subcommand, name = "ip-rules")]
    IpRules(limits::IpRulesCmd),
    /// Sealed fields: keys, shred.
    #[command(subcommand)]
    Sealing(limits::SealingCmd),
    /// The webhook outbox: counts, endpoint, enable, remove; verify a received webhook.
    #[command(subcommand)]
    Webhooks(limits::WebhooksCmd),
    /// Replicas in object storage: show, restore (anywhere, to a change or a time).
    #[command(subcommand)]
    Replica(replica::ReplicaCmd),
    /// Restore points: create, list, verify, restore, export.
    #[command(subcommand, name = "restore-point")]
    RestorePoint(backups::RestorePointCmd),
    /// Backups: create, verify, restore, list, prune, run-due.
    #[command(subcommand)]
    Backup(backups::BackupCmd),
    /// The store's own settings: show, set (audited).
    #[command(subcommand)]
    Settings(settings::SettingsCmd),
}

/// Opens a store for a command. A store held by a running app is refused with a clear
/// message: redb lets one process at a time open the file (and a read-only open beside
/// a writer is refused too, in the exclusive mode hardstore uses), and a read-only view
/// would miss acknowledged writes still waiting in the redo log.
pub(crate) fn open(path: &std::path::Path) -> Result<Store, Error> {
    open_with(path, Options::new())
}

/// [`open`] with options, for the commands that take some (an audit key).
pub(crate) fn open_with(path: &std::path::Path, opts: Options) -> Result<Store, Error> {
    if !path.exists() {
        return Err(Error::NotFound(format!("no store at {}", path.display())));
    }
    Store::open(path, opts).map_err(|e| match e {
        Error::AlreadyOpen(_) => Error::AlreadyOpen(path.to_path_buf()),
        e => e,
    })
}

/// Prints `value` as JSON when `json`, else calls `text`.
pub(crate) fn emit(json: bool, value: serde_json::Value, text: impl FnOnce()) {
    if json {
        println!("{value}");
    } else {
        text();
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> Result<Vec<u8>, Error> {
    if !s.is_ascii() || !s.len().is_multiple_of(2) {
        return Err(Error::InvalidArgument(format!("{s:?} is not hex")));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16)
                .map_err(|_| Error::InvalidArgument(format!("{s:?} is not hex")))
        })
        .collect()
}

fn info(store: &std::path::Path, json: bool) -> Result<(), Error> {
    let s = open(store)?;
    let size = s.audit().size()?;
    let root = s.audit().root(size)?;
    let hash = s.audit().hash()?;
    let (head, next) = s.logs().range()?;
    let dlq = s.dead_letters().counts()?;
    let space = s.restore_points().space()?;
    let backups = s.backups().list()?;
    let alerts = s.alerts().counts()?;
    let v = serde_json::json!({
        "path": store.display().to_string(),
        "store_id": s.id().to_string(),
        "created_us": s.created(),
        "format_version": hardstore::FORMAT_VERSION,
        "audit": {"size": size, "root": hex(&root), "hash": hash.name()},
        "logs": {"len": next - head, "first_seq": head, "next_seq": next, "capacity": s.logs().capacity()},
        "dead_letters": {"pending": dlq.pending, "leased": dlq.leased, "done": dlq.done, "dead": dlq.dead},
        "alerts": {"unresolved": alerts.unresolved, "resolved": alerts.resolved},
        "restore_points": {"count": space.points, "max": space.max_points, "pinned_bytes": space.pinned_bytes},
        "backups": backups.len(),
        "file_bytes": space.allocated_bytes,
    });
    emit(json, v, || {
        println!("store       {} ({})", s.id(), store.display());
        println!(
            "audit log   {size} entries, root {} ({})",
            hex(&root),
            hash.name()
        );
        println!(
            "log ring    {} of {} entries (seq {head}..{next})",
            next - head,
            s.logs().capacity()
        );
        println!(
            "dead letters pending {}, leased {}, done {}, dead {}",
            dlq.pending, dlq.leased, dlq.done, dlq.dead
        );
        println!(
            "alerts      {} not resolved, {} resolved kept",
            alerts.unresolved, alerts.resolved
        );
        // The old values kept for points: none without points.
        if space.points == 0 {
            println!("restore points 0 of {}", space.max_points);
        } else {
            println!(
                "restore points {} of {} (keeping {} bytes of old values)",
                space.points, space.max_points, space.pinned_bytes
            );
        }
        println!("backups     {} cataloged", backups.len());
    });
    s.close()
}

fn exit_code(e: &Error) -> u8 {
    match e {
        Error::AlreadyOpen(_) => 3,
        Error::Corrupted(_)
        | Error::ProofInvalid(_)
        | Error::CheckpointInvalid(_)
        | Error::SignatureInvalid(_)
        | Error::WrongKey(_) => 4,
        Error::NotFound(_) => 5,
        Error::InvalidArgument(_) | Error::TooLong { .. } => 2,
        // Refused, nothing changed: a failure, not bad usage (the command was well formed).
        Error::ConfirmationRequired { .. } => 1,
        _ => 1,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Health {
            store,
            deep,
            raise_alerts,
            json,
        } => match health::health(&store, deep, raise_alerts, json) {
            Ok(grade) => return ExitCode::from(grade as u8),
            Err(e) => Err(e),
        },
        Cmd::Maintenance {
            store,
            step,
            backups_into,
            json,
        } => maintenance::maintenance(&store, step, backups_into, json),
        Cmd::Metrics {
            store,
            openmetrics,
            json,
        } => metrics::metrics(&store, openmetrics, json),
        Cmd::Info { store, json } => info(&store, json),
        Cmd::Audit(c) => areas::audit(c),
        Cmd::Logs(c) => areas::logs(c),
        Cmd::Idem(c) => areas::idem(c),
        Cmd::Dlq(c) => areas::dlq(c),
        Cmd::Alerts(c) => alerts::alerts(c),
        Cmd::RateLimits(c) => limits::rate_limits(c),
        Cmd::IpRules(c) => limits::ip_rules(c),
        Cmd::Sealing(c) => limits::sealing(c),
        Cmd::Webhooks(c) => limits::webhooks(c),
        Cmd::Tlog(c) => tlog::tlog(c),
        Cmd::Replica(c) => replica::replica(c),
        Cmd::RestorePoint(c) => backups::restore_point(c),
        Cmd::Backup(c) => backups::backup(c),
        Cmd::Settings(c) => settings::settings(c),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                Error::AlreadyOpen(p) => eprintln!(
                    "hardstore: {} is open in another process. One process at a time may open \
                     a store (redb's exclusive-writer mode), and a read-only reader would miss \
                     acknowledged writes still in the redo log. Stop the application, or use \
                     its API.",
                    p.display()
                ),
                Error::ConfirmationRequired { what, deletes } => eprintln!(
                    "hardstore: refused, nothing changed: {what}. To delete them, run it again \
                     with --confirm-evict {deletes}."
                ),
                e => eprintln!("hardstore: {e}"),
            }
            ExitCode::from(exit_code(&e))
        }
    }
}
