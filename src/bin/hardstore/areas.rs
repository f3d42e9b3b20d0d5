//! `audit`, `logs`, `idem` and `dlq`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use hardstore::audit::{Checkpoint, Cursor as AuditCursor, Order};
use hardstore::dead_letters::{DlqFilter, DlqQuery, DlqState};
use hardstore::logs::LogCursor;
use hardstore::{AuditQuery, Error, KeyState, Level, LogQuery, Options, Result, Timestamp};
use serde_json::json;

use crate::{emit, hex, open, open_with, time, unhex};

/// A time bound on the command line: RFC 3339 or microseconds since the epoch.
fn time_arg(s: &str) -> std::result::Result<Timestamp, String> {
    time::parse(s).map_err(|e| e.to_string())
}

/// A page cursor's bytes (a newtype: clap would read a bare `Vec<u8>` as many values).
#[derive(Clone)]
pub(crate) struct CursorBytes(Vec<u8>);

/// A page cursor printed by an earlier page, as hex.
fn cursor_arg(s: &str) -> std::result::Result<CursorBytes, String> {
    unhex(s).map(CursorBytes).map_err(|e| e.to_string())
}

/// `--since` and `--until`: a time range, its end excluded.
#[derive(clap::Args)]
pub(crate) struct TimeRange {
    /// Only entries at or after this time (RFC 3339 or microseconds since the epoch).
    #[arg(long, value_parser = time_arg)]
    since: Option<Timestamp>,
    /// Only entries before this time (RFC 3339 or microseconds since the epoch).
    #[arg(long, value_parser = time_arg)]
    until: Option<Timestamp>,
}

/// The secret checkpoint MACs are keyed with (`Options::audit_key`), read from a file so
/// it never appears on a command line.
#[derive(clap::Args)]
pub(crate) struct AuditKeyArgs {
    /// A file holding the application's audit key (its bytes as they are; one trailing
    /// newline is ignored).
    #[arg(long)]
    audit_key_file: Option<PathBuf>,
}

impl AuditKeyArgs {
    fn secret(&self) -> Result<Option<Vec<u8>>> {
        let Some(f) = &self.audit_key_file else {
            return Ok(None);
        };
        let mut key = std::fs::read(f)?;
        // Editors end a file with a newline; the key the app passes has none.
        if key.ends_with(b"\n") {
            key.pop();
            if key.ends_with(b"\r") {
                key.pop();
            }
        }
        if key.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{} holds no audit key",
                f.display()
            )));
        }
        Ok(Some(key))
    }

    fn options(&self) -> Result<Options> {
        Ok(match self.secret()? {
            Some(k) => Options::new().audit_key(&k),
            None => Options::new(),
        })
    }
}

#[derive(Subcommand)]
pub(crate) enum AuditCmd {
    /// Entries of a tenant, newest first (--oldest-first for the other order).
    Query {
        store: PathBuf,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[command(flatten)]
        range: TimeRange,
        /// Oldest first instead of newest first.
        #[arg(long)]
        oldest_first: bool,
        /// Continue after the page that printed this cursor (same filters and order).
        #[arg(long, value_parser = cursor_arg)]
        cursor: Option<CursorBytes>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Recomputes every entry's hash and the Merkle tree; exit code 4 if one is bad.
    Verify {
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// An inclusion proof of entry SEQ in the tree of SIZE entries (default: all).
    Prove {
        store: PathBuf,
        seq: u64,
        #[arg(long)]
        size: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// A checkpoint (size and root) to keep outside the store; MAC'd with --audit-key-file.
    Checkpoint {
        store: PathBuf,
        #[command(flatten)]
        key: AuditKeyArgs,
        #[arg(long)]
        json: bool,
    },
    /// Checks a checkpoint (hex, as `checkpoint` prints it) against the store: its MAC
    /// (with --audit-key-file) and that the log only grew since; exit code 4 if not.
    VerifyCheckpoint {
        store: PathBuf,
        checkpoint: String,
        #[command(flatten)]
        key: AuditKeyArgs,
        #[arg(long)]
        json: bool,
    },
    /// A tenant's entries as JSON Lines, oldest first, to stdout.
    Export {
        store: PathBuf,
        #[arg(long)]
        tenant: String,
    },
    /// Writes the entries a prune would take (or --from/--to) as a JSON Lines archive
    /// with the checkpoint and each entry's inclusion proof, to a new file (never
    /// replacing one).
    Archive {
        store: PathBuf,
        /// The archive file to create.
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        from: Option<u64>,
        #[arg(long)]
        to: Option<u64>,
    },
    /// Prunes the payloads of the oldest entries (--below-seq N or --older-than 365d),
    /// keeping their leaf hashes: says how many and changes nothing unless
    /// --confirm-evict allows at least that many.
    Prune {
        store: PathBuf,
        #[arg(long)]
        below_seq: Option<u64>,
        #[arg(long)]
        older_than: Option<String>,
        #[arg(long)]
        confirm_evict: Option<u64>,
        #[arg(long)]
        json: bool,
    },
}

fn prune_before(
    below_seq: Option<u64>,
    older_than: Option<String>,
) -> Result<hardstore::audit::PruneBefore> {
    use hardstore::audit::PruneBefore;
    match (below_seq, older_than) {
        (Some(s), None) => Ok(PruneBefore::Seq(s)),
        (None, Some(d)) => Ok(PruneBefore::Age(crate::settings::parse_duration(&d)?)),
        _ => Err(Error::InvalidArgument(
            "give one of --below-seq N or --older-than DURATION".into(),
        )),
    }
}

/// The options of `audit query`.
struct AuditFilter {
    tenant: String,
    actor: Option<String>,
    action: Option<String>,
    range: TimeRange,
    oldest_first: bool,
    cursor: Option<CursorBytes>,
    limit: usize,
}

impl AuditFilter {
    fn query(self) -> Result<AuditQuery> {
        // The library's default is oldest first; an operator looks for the latest.
        let order = if self.oldest_first {
            Order::OldestFirst
        } else {
            Order::NewestFirst
        };
        let mut q = AuditQuery::new(self.tenant)
            .order(order)
            .time_range(self.range.since, self.range.until)
            .limit(self.limit);
        if let Some(a) = self.actor {
            q = q.actor(a);
        }
        if let Some(a) = self.action {
            q = q.action(a);
        }
        if let Some(c) = self.cursor {
            q = q.after(AuditCursor::from_bytes(&c.0)?);
        }
        Ok(q)
    }
}

fn audit_query(store: &Path, filter: AuditFilter, json: bool) -> Result<()> {
    let q = filter.query()?;
    let s = open(store)?;
    let page = s.audit().query(&q)?;
    let next = page.next.as_ref().map(|c| hex(&c.to_bytes()));
    emit(
        json,
        json!({ "entries": page.entries, "next_cursor": next }),
        || {
            for e in &page.entries {
                println!(
                    "{:>8}  {}  {}  {}  {}  {}",
                    e.seq,
                    time::rfc3339(e.time),
                    e.actor,
                    e.action,
                    e.resource,
                    e.outcome
                );
            }
            print_next(next.as_deref());
        },
    );
    s.close()
}

/// After a page that has more: how to ask for the next one.
fn print_next(next: Option<&str>) {
    if let Some(c) = next {
        println!("more: --cursor {c}");
    }
}

fn checkpoint(store: &Path, key: &AuditKeyArgs, json: bool) -> Result<()> {
    let s = open_with(store, key.options()?)?;
    let c = s.audit().checkpoint()?;
    let v = json!({
        "store_id": c.store_id.to_string(), "size": c.size, "root": hex(&c.root),
        "time_us": c.time, "signed": c.mac.is_some(), "bytes": hex(&c.to_bytes()),
    });
    emit(json, v, || println!("{}", hex(&c.to_bytes())));
    s.close()
}

fn verify_checkpoint(store: &Path, text: &str, key: &AuditKeyArgs, json: bool) -> Result<()> {
    let old = Checkpoint::from_bytes(&unhex(text.trim())?)?;
    let secret = key.secret()?;
    // The MAC first: a forged checkpoint is refused before the store is even opened.
    if let Some(k) = &secret {
        old.verify_mac(k)?;
    }
    let s = open(store)?;
    // A log shorter than the checkpoint lost entries: a failed check, not bad usage.
    let size = s.audit().size()?;
    if old.size > size {
        s.close()?;
        return Err(Error::CheckpointInvalid(format!(
            "the checkpoint saw {} entries; the log now holds {size}",
            old.size
        )));
    }
    let (new, proof) = s.audit().prove_since(&old)?;
    s.close()?;
    proof.verify(&old.root, &new.root)?;
    let v = json!({
        "old_size": old.size, "old_time_us": old.time, "size": new.size,
        "root": hex(&new.root), "mac_checked": secret.is_some(),
        "signed": old.mac.is_some(),
    });
    emit(json, v, || {
        let mac = match (&secret, &old.mac) {
            (Some(_), _) => "MAC ok",
            (None, Some(_)) => "MAC not checked (no --audit-key-file)",
            (None, None) => "no MAC",
        };
        println!(
            "checkpoint ok: {mac}; the log of {} entries at {} grew to {}, root {}",
            old.size,
            time::rfc3339(old.time),
            new.size,
            hex(&new.root)
        );
    });
    Ok(())
}

pub(crate) fn audit(c: AuditCmd) -> Result<()> {
    match c {
        AuditCmd::Query {
            store,
            tenant,
            actor,
            action,
            range,
            oldest_first,
            cursor,
            limit,
            json,
        } => {
            let filter = AuditFilter {
                tenant,
                actor,
                action,
                range,
                oldest_first,
                cursor,
                limit,
            };
            audit_query(&store, filter, json)
        }
        AuditCmd::Verify { store, json } => {
            let s = open(&store)?;
            let r = s.audit().verify()?;
            let v = json!({
                "size": r.size, "checked": r.checked, "root": hex(&r.root),
                "first_bad_seq": r.first_bad_seq, "problem": r.problem,
            });
            emit(json, v, || match &r.first_bad_seq {
                None => println!(
                    "audit log ok: {} entries checked, root {}",
                    r.checked,
                    hex(&r.root)
                ),
                Some(seq) => println!(
                    "audit log DAMAGED at entry {seq}: {}",
                    r.problem.as_deref().unwrap_or("")
                ),
            });
            s.close()?;
            match r.first_bad_seq {
                None => Ok(()),
                Some(seq) => Err(Error::Corrupted(format!("audit entry {seq}"))),
            }
        }
        AuditCmd::Prove {
            store,
            seq,
            size,
            json,
        } => {
            let s = open(&store)?;
            let size = match size {
                Some(n) => n,
                None => s.audit().size()?,
            };
            let p = s.audit().inclusion_proof(seq, size)?;
            let root = s.audit().root(size)?;
            let leaf = s.audit().get(seq)?.leaf_hash()?;
            p.verify(&leaf, &root)?;
            let v = json!({
                "seq": seq, "tree_size": size, "root": hex(&root), "leaf_hash": hex(&leaf),
                "proof": p.hashes.iter().map(|h| hex(h)).collect::<Vec<_>>(),
            });
            emit(json, v, || {
                println!("entry {seq} of {size}: leaf {}", hex(&leaf));
                println!("root {}", hex(&root));
                for h in &p.hashes {
                    println!("  {}", hex(h));
                }
            });
            s.close()
        }
        AuditCmd::Checkpoint { store, key, json } => checkpoint(&store, &key, json),
        AuditCmd::VerifyCheckpoint {
            store,
            checkpoint,
            key,
            json,
        } => verify_checkpoint(&store, &checkpoint, &key, json),
        AuditCmd::Export { store, tenant } => {
            let s = open(&store)?;
            let q = AuditQuery::new(tenant).order(Order::OldestFirst);
            let n = s.audit().export_jsonl(&q, std::io::stdout().lock())?;
            eprintln!("{n} entries exported");
            s.close()
        }
        AuditCmd::Archive {
            store,
            out,
            from,
            to,
        } => {
            let s = open(&store)?;
            let from = match from {
                Some(f) => f,
                None => s.audit().pruned_below()?,
            };
            let to = match to {
                Some(t) => t,
                None => s.audit().size()?,
            };
            if from > to || to > s.audit().size()? {
                return Err(Error::InvalidArgument(format!(
                    "range {from}..{to} is not within the log"
                )));
            }
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)?;
            let mut w = std::io::BufWriter::new(f);
            let n = match s.audit().export_archive(from, to, &mut w) {
                Ok(n) => n,
                Err(e) => {
                    // Ours, and incomplete: not kept.
                    drop(w);
                    let _ = std::fs::remove_file(&out);
                    return Err(e);
                }
            };
            eprintln!("{n} entries archived to {}", out.display());
            s.close()
        }
        AuditCmd::Prune {
            store,
            below_seq,
            older_than,
            confirm_evict,
            json,
        } => {
            let before = prune_before(below_seq, older_than)?;
            let s = open(&store)?;
            let n = s.audit().prune(before, confirm_evict.unwrap_or(0))?;
            emit(json, serde_json::json!({ "pruned": n }), || {
                println!("{n} entries pruned (their leaf hashes kept)")
            });
            s.close()
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum LogsCmd {
    /// The last N entries, oldest of them first.
    Tail {
        store: PathBuf,
        #[arg(short, default_value_t = 20)]
        n: usize,
        #[arg(long)]
        json: bool,
    },
    /// Entries matching filters, newest first (--oldest-first for the other order).
    Query {
        store: PathBuf,
        /// trace, debug, info, warn, error or fatal: this level and above.
        #[arg(long)]
        level: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        endpoint: Option<String>,
        /// Words that must appear in the message.
        #[arg(long)]
        text: Option<String>,
        #[command(flatten)]
        range: TimeRange,
        /// Oldest first instead of newest first.
        #[arg(long)]
        oldest_first: bool,
        /// Continue after the page that printed this cursor (same order).
        #[arg(long, value_parser = cursor_arg)]
        cursor: Option<CursorBytes>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Counts per level, and per endpoint its requests, errors, mean and p95 duration.
    Stats {
        store: PathBuf,
        #[command(flatten)]
        range: TimeRange,
        #[arg(long)]
        json: bool,
    },
}

/// The filters of `logs query`.
struct LogFilter {
    level: Option<String>,
    tenant: Option<String>,
    user: Option<String>,
    endpoint: Option<String>,
    text: Option<String>,
    range: TimeRange,
    oldest_first: bool,
    cursor: Option<CursorBytes>,
    limit: usize,
}

impl LogFilter {
    fn query(self) -> Result<LogQuery> {
        let mut q = LogQuery::new()
            .time_range(self.range.since, self.range.until)
            .oldest_first(self.oldest_first)
            .limit(self.limit);
        if let Some(l) = self.level {
            q = q.min_level(level(&l)?);
        }
        if let Some(t) = self.tenant {
            q = q.tenant(t);
        }
        if let Some(u) = self.user {
            q = q.user(u);
        }
        if let Some(e) = self.endpoint {
            q = q.endpoint(e);
        }
        if let Some(t) = self.text {
            q = q.text(t);
        }
        if let Some(c) = self.cursor {
            q = q.after(LogCursor::from_bytes(&c.0)?);
        }
        Ok(q)
    }
}

fn level(s: &str) -> Result<Level> {
    Level::ALL
        .into_iter()
        .find(|l| l.as_str() == s)
        .ok_or_else(|| Error::InvalidArgument(format!("level {s:?}")))
}

fn print_logs(entries: &[hardstore::LogEntry]) {
    for e in entries {
        println!(
            "{:>8}  {}  {:<5}  {}",
            e.seq,
            time::rfc3339(e.time),
            e.level.as_str(),
            e.message
        );
    }
}

fn logs_query(store: &Path, filter: LogFilter, json: bool) -> Result<()> {
    let q = filter.query()?;
    let s = open(store)?;
    let page = s.logs().query(&q)?;
    let next = page.next.as_ref().map(|c| hex(&c.to_bytes()));
    emit(
        json,
        json!({ "entries": page.entries, "next_cursor": next }),
        || {
            print_logs(&page.entries);
            print_next(next.as_deref());
        },
    );
    s.close()
}

/// A duration in microseconds for people: ms with three decimals.
fn ms(us: f64) -> String {
    format!("{:.3} ms", us / 1_000.0)
}

fn logs_stats(store: &Path, range: TimeRange, json: bool) -> Result<()> {
    let s = open(store)?;
    let st = s.logs().stats(range.since, range.until)?;
    let per_level: serde_json::Map<String, serde_json::Value> = Level::ALL
        .iter()
        .map(|l| (l.as_str().to_string(), json!(st.per_level[*l as usize])))
        .collect();
    let endpoints: Vec<_> = st
        .endpoints
        .iter()
        .map(|e| {
            json!({"endpoint": e.endpoint, "count": e.count, "errors": e.errors,
                   "mean_duration_us": e.mean_duration_us, "p95_duration_us": e.p95_duration_us})
        })
        .collect();
    let v = json!({"total": st.total, "per_level": per_level,
                   "error_rate": st.error_rate, "endpoints": endpoints});
    emit(json, v, || {
        println!(
            "{} entries, error rate {:.2}%",
            st.total,
            st.error_rate * 100.0
        );
        for l in Level::ALL {
            println!("  {:<5} {}", l.as_str(), st.per_level[l as usize]);
        }
        for e in &st.endpoints {
            // Both are None when none of the endpoint's entries carried a duration.
            let mean = e.mean_duration_us.map_or("-".into(), ms);
            let p95 = e.p95_duration_us.map_or("-".into(), |d| ms(d as f64));
            println!(
                "  {}  {} requests, {} errors, mean {mean}, p95 {p95}",
                e.endpoint, e.count, e.errors
            );
        }
    });
    s.close()
}

pub(crate) fn logs(c: LogsCmd) -> Result<()> {
    match c {
        LogsCmd::Tail { store, n, json } => {
            let s = open(&store)?;
            let mut page = s.logs().query(&LogQuery::new().limit(n))?;
            page.entries.reverse();
            emit(json, json!({ "entries": page.entries }), || {
                print_logs(&page.entries)
            });
            s.close()
        }
        LogsCmd::Query {
            store,
            level,
            tenant,
            user,
            endpoint,
            text,
            range,
            oldest_first,
            cursor,
            limit,
            json,
        } => {
            let filter = LogFilter {
                level,
                tenant,
                user,
                endpoint,
                text,
                range,
                oldest_first,
                cursor,
                limit,
            };
            logs_query(&store, filter, json)
        }
        LogsCmd::Stats { store, range, json } => logs_stats(&store, range, json),
    }
}

#[derive(Subcommand)]
pub(crate) enum IdemCmd {
    /// The state of key KEY of --tenant (a flag, as in every other command).
    Get {
        store: PathBuf,
        key: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Removes expired keys (at most LIMIT).
    Purge {
        store: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn idem(c: IdemCmd) -> Result<()> {
    match c {
        IdemCmd::Get {
            store,
            tenant,
            key,
            json,
        } => {
            let s = open(&store)?;
            let info = s.idempotency().get(&tenant, &key)?;
            s.close()?;
            let Some(k) = info else {
                return Err(Error::NotFound(format!("key {key:?} of tenant {tenant:?}")));
            };
            let state = format!("{:?}", k.state).to_lowercase();
            let v = json!({"state": state, "fence": k.fence, "created_us": k.created,
                           "expires_us": k.expires, "lease_until_us": k.lease_until});
            emit(json, v, || {
                // A lease means something only while the key is in progress.
                let lease = match k.state {
                    KeyState::InProgress => {
                        format!(", lease until {}", time::rfc3339(k.lease_until))
                    }
                    _ => String::new(),
                };
                println!(
                    "{state}, fence {}, created {}, expires {}{lease}",
                    k.fence,
                    time::rfc3339(k.created),
                    time::rfc3339(k.expires),
                )
            });
            Ok(())
        }
        IdemCmd::Purge { store, limit, json } => {
            let s = open(&store)?;
            let n = s.idempotency().purge_expired(limit)?;
            emit(json, json!({ "purged": n }), || {
                println!("{n} expired keys purged")
            });
            s.close()
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum DlqCmd {
    /// Dead letters, by filters.
    List {
        store: PathBuf,
        /// pending, leased, done or dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Makes dead or done items due again, attempts reset: one by --id, or by filters.
    Redrive {
        store: PathBuf,
        #[arg(long)]
        id: Option<u64>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Removes done and dead items past their retention.
    Purge {
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

fn dlq_state(s: &str) -> Result<DlqState> {
    (0..4)
        .filter_map(DlqState::from_u8)
        .find(|d| d.as_str() == s)
        .ok_or_else(|| Error::InvalidArgument(format!("state {s:?}")))
}

pub(crate) fn dlq(c: DlqCmd) -> Result<()> {
    match c {
        DlqCmd::List {
            store,
            state,
            kind,
            tenant,
            limit,
            json,
        } => {
            let s = open(&store)?;
            let mut q = DlqQuery::new().limit(limit);
            if let Some(st) = state {
                q = q.state(dlq_state(&st)?);
            }
            if let Some(k) = kind {
                q = q.kind(k);
            }
            if let Some(t) = tenant {
                q = q.tenant(t);
            }
            let page = s.dead_letters().list(&q)?;
            let items: Vec<_> = page
                .items
                .iter()
                .map(|d| {
                    json!({"id": d.id, "tenant": d.tenant, "kind": d.kind, "state": d.state.as_str(),
                           "attempts": d.attempts, "max_attempts": d.max_attempts,
                           "created_us": d.created, "next_attempt_us": d.next_attempt_at,
                           "last_error": d.last_error(), "payload_bytes": d.payload.len()})
                })
                .collect();
            emit(json, json!({ "items": items }), || {
                for d in &page.items {
                    println!(
                        "{:>6}  {:<7}  {}/{}  attempts {}/{}  {}",
                        d.id,
                        d.state.as_str(),
                        d.tenant,
                        d.kind,
                        d.attempts,
                        d.max_attempts,
                        d.last_error().unwrap_or("")
                    );
                }
            });
            s.close()
        }
        DlqCmd::Redrive {
            store,
            id,
            kind,
            tenant,
            json,
        } => {
            let s = open(&store)?;
            let n = match id {
                Some(id) => {
                    s.dead_letters().redrive(id)?;
                    1
                }
                None => {
                    let mut f = DlqFilter::new();
                    if let Some(k) = kind {
                        f = f.kind(k);
                    }
                    if let Some(t) = tenant {
                        f = f.tenant(t);
                    }
                    s.dead_letters().redrive_where(&f)?
                }
            };
            emit(json, json!({ "redriven": n }), || println!("{n} redriven"));
            s.close()
        }
        DlqCmd::Purge { store, json } => {
            let s = open(&store)?;
            let n = s.dead_letters().purge(None)?;
            emit(json, json!({ "purged": n }), || println!("{n} purged"));
            s.close()
        }
    }
}
