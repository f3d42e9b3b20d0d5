//! `hardstore alerts`: list, raise, acknowledge, resolve, purge.

use std::path::PathBuf;

use clap::Subcommand;
use hardstore::alerts::{Alert, AlertCursor, AlertQuery, AlertScope, NewAlert, Severity};
use hardstore::{Durability, Error, Result};
use serde_json::json;

use crate::settings::parse_duration;
use crate::time::rfc3339;
use crate::{emit, hex, open, unhex};

#[derive(Subcommand)]
pub(crate) enum AlertsCmd {
    /// Alerts, newest first: open ones (default), resolved ones, or all.
    List {
        store: PathBuf,
        /// open, resolved or all.
        #[arg(long, default_value = "open")]
        scope: String,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        source: Option<String>,
        /// info, warning or critical: only alerts at least this severe.
        #[arg(long, default_value = "info")]
        min_severity: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Continue after a page (the hex `next` of the page before).
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Raises an alert (a repeat of one not resolved counts on it).
    Raise {
        store: PathBuf,
        tenant: String,
        source: String,
        dedup_key: String,
        /// info, warning or critical.
        #[arg(long, default_value = "warning")]
        severity: String,
        #[arg(long, default_value = "")]
        message: String,
        #[arg(long)]
        json: bool,
    },
    /// Acknowledges an alert.
    Ack {
        store: PathBuf,
        id: u64,
        #[arg(long, default_value = "")]
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// Resolves an alert.
    Resolve {
        store: PathBuf,
        id: u64,
        #[arg(long, default_value = "")]
        by: String,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long)]
        json: bool,
    },
    /// Deletes alerts resolved longer ago than --older-than (e.g. 30d). Says how many and
    /// changes nothing unless --confirm-evict allows at least that many.
    Purge {
        store: PathBuf,
        #[arg(long)]
        older_than: String,
        #[arg(long)]
        confirm_evict: Option<u64>,
        #[arg(long)]
        json: bool,
    },
}

fn to_json(a: &Alert) -> serde_json::Value {
    json!({"id": a.id, "tenant": a.tenant, "source": a.source, "dedup_key": a.dedup_key,
           "severity": a.severity.as_str(), "state": a.state.as_str(), "message": a.message,
           "count": a.count, "first_seen_us": a.first_seen, "last_seen_us": a.last_seen,
           "acknowledged_us": a.acknowledged_at, "acknowledged_by": a.acknowledged_by,
           "resolved_us": a.resolved_at, "resolved_by": a.resolved_by,
           "resolution": a.resolution})
}

fn print_line(a: &Alert) {
    println!(
        "{:>6}  {:<8}  {:<12}  {}/{}  x{}  last {}  {}",
        a.id,
        a.severity.as_str(),
        a.state.as_str(),
        a.tenant,
        a.dedup_key,
        a.count,
        rfc3339(a.last_seen),
        a.message
    );
}

pub(crate) fn alerts(c: AlertsCmd) -> Result<()> {
    match c {
        AlertsCmd::List {
            store,
            scope,
            tenant,
            source,
            min_severity,
            limit,
            after,
            json,
        } => {
            let scope = match scope.as_str() {
                "open" => AlertScope::Open,
                "resolved" => AlertScope::Resolved,
                "all" => AlertScope::All,
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "--scope {other:?} is not open, resolved or all"
                    )))
                }
            };
            let mut q = AlertQuery::new(scope)
                .min_severity(Severity::parse(&min_severity)?)
                .limit(limit);
            if let Some(t) = tenant {
                q = q.tenant(t);
            }
            if let Some(s) = source {
                q = q.source(s);
            }
            if let Some(c) = after {
                q = q.after(AlertCursor::from_bytes(&unhex(&c)?)?);
            }
            let s = open(&store)?;
            let page = s.alerts().list(&q)?;
            let next = page.next.map(|c| hex(&c.to_bytes()));
            let alerts: Vec<_> = page.alerts.iter().map(to_json).collect();
            emit(json, json!({ "alerts": alerts, "next": next }), || {
                page.alerts.iter().for_each(print_line);
                if let Some(n) = &next {
                    println!("more: --after {n}");
                }
            });
            s.close()
        }
        AlertsCmd::Raise {
            store,
            tenant,
            source,
            dedup_key,
            severity,
            message,
            json,
        } => {
            let new = NewAlert::new(
                tenant,
                source,
                dedup_key,
                Severity::parse(&severity)?,
                message,
            );
            let s = open(&store)?;
            let r = s.alerts().raise(new, Durability::Durable)?;
            emit(
                json,
                json!({"id": r.id, "count": r.count, "created": r.created, "state": r.state.as_str()}),
                || {
                    let what = if r.created { "opened" } else { "repeated" };
                    println!("alert {} {what} (count {})", r.id, r.count);
                },
            );
            s.close()
        }
        AlertsCmd::Ack {
            store,
            id,
            by,
            json,
        } => {
            let s = open(&store)?;
            let a = s.alerts().acknowledge(id, &by)?;
            emit(json, to_json(&a), || print_line(&a));
            s.close()
        }
        AlertsCmd::Resolve {
            store,
            id,
            by,
            note,
            json,
        } => {
            let s = open(&store)?;
            let a = s.alerts().resolve(id, &by, &note)?;
            emit(json, to_json(&a), || print_line(&a));
            s.close()
        }
        AlertsCmd::Purge {
            store,
            older_than,
            confirm_evict,
            json,
        } => {
            let age = parse_duration(&older_than)?;
            let s = open(&store)?;
            let n = s.alerts().purge_resolved(age, confirm_evict.unwrap_or(0))?;
            emit(json, json!({ "purged": n }), || println!("{n} purged"));
            s.close()
        }
    }
}
