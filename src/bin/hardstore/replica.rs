//! `hardstore replica`: what a replica in object storage holds, and restores from it.

use std::path::PathBuf;

use clap::Subcommand;
use hardstore::replication::{inspect, restore};
use hardstore::{Error, Options, RestoreTo, Result};
use serde_json::json;

use crate::{emit, hex, time};

#[derive(Subcommand)]
pub(crate) enum ReplicaCmd {
    /// What the replica at URL holds: its manifest's version, snapshot and segments, and
    /// the earliest and newest points a restore can reach. Reads only.
    Show {
        url: String,
        #[arg(long)]
        json: bool,
    },
    /// Writes a new store at --to (which must not exist) from the replica at URL: its
    /// newest batch, or --to-change N, or --to-time T (RFC 3339 or µs). The restored
    /// audit log is verified before the file appears.
    Restore {
        url: String,
        #[arg(long)]
        to: PathBuf,
        #[arg(long)]
        to_change: Option<u64>,
        #[arg(long)]
        to_time: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn replica(c: ReplicaCmd) -> Result<()> {
    match c {
        ReplicaCmd::Show { url, json } => {
            let m = inspect(&url)?
                .ok_or_else(|| Error::NotFound(format!("a replica at {url} (no manifest)")))?;
            let newest = m
                .segments
                .last()
                .map_or(m.snapshot.first_seq.saturating_sub(1), |s| s.last);
            let bytes: u64 = m.snapshot.bytes + m.segments.iter().map(|s| s.bytes).sum::<u64>();
            let v = json!({
                "version": m.version, "store_id": m.store_id,
                "snapshot": {"key": m.snapshot.key, "first_seq": m.snapshot.first_seq,
                             "time": m.snapshot.time, "bytes": m.snapshot.bytes},
                "segments": m.segments.len(),
                "earliest_change": m.snapshot.first_seq.saturating_sub(1),
                "newest_change": newest, "bytes": bytes,
            });
            emit(json, v, || {
                println!(
                    "replica of store {} (manifest version {})",
                    m.store_id, m.version
                );
                println!(
                    "snapshot    {} ({} bytes, {})",
                    m.snapshot.key,
                    m.snapshot.bytes,
                    time::rfc3339(m.snapshot.time)
                );
                println!("segments    {}", m.segments.len());
                println!(
                    "restorable  changes {}..={newest}",
                    m.snapshot.first_seq.saturating_sub(1)
                );
            });
            Ok(())
        }
        ReplicaCmd::Restore {
            url,
            to,
            to_change,
            to_time,
            json,
        } => {
            let target = match (to_change, to_time) {
                (Some(_), Some(_)) => {
                    return Err(Error::InvalidArgument(
                        "give --to-change or --to-time, not both".into(),
                    ))
                }
                (Some(n), None) => RestoreTo::Change(n),
                (None, Some(t)) => RestoreTo::Time(time::parse(&t)?),
                (None, None) => RestoreTo::Latest,
            };
            let r = restore(&url, &to, target, &Options::new())?;
            let v = json!({
                "path": to.display().to_string(), "manifest_version": r.manifest_version,
                "last_seq": r.last_seq, "segments": r.segments,
                "audit": {"size": r.audit_size, "root": hex(&r.audit_root)},
            });
            emit(json, v, || {
                println!(
                    "restored {} through change {} ({} segments); audit log verified: {} entries, root {}",
                    to.display(),
                    r.last_seq,
                    r.segments,
                    r.audit_size,
                    hex(&r.audit_root)
                )
            });
            Ok(())
        }
    }
}
