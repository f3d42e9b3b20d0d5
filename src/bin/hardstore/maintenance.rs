//! `hardstore maintenance`: one run of every cleanup the store's settings say is due.

use std::path::{Path, PathBuf};

use hardstore::maintenance::MaintenanceOptions;
use hardstore::Result;
use serde_json::json;

use crate::{emit, open};

pub(crate) fn maintenance(
    store: &Path,
    step: Option<usize>,
    backups_into: Option<PathBuf>,
    json: bool,
) -> Result<()> {
    let mut opts = MaintenanceOptions::new();
    if let Some(n) = step {
        opts = opts.step(n);
    }
    if let Some(f) = backups_into {
        opts = opts.backups_into(f);
    }
    let s = open(store)?;
    let r = s.maintenance(&opts)?;
    let errors: Vec<_> = r
        .errors
        .iter()
        .map(|e| json!({"task": e.task, "error": e.error}))
        .collect();
    let v = json!({
        "idempotency_expired": r.idempotency_expired,
        "dead_letters_purged": r.dead_letters_purged,
        "alerts_purged": r.alerts_purged,
        "backup": r.backup.as_ref().map(|b| json!({"id": b.id, "kind": b.kind.name(), "file": b.file})),
        "backups_pruned": r.backups_pruned,
        "keys_rewrapped": r.keys_rewrapped,
        "audit_pruned": r.audit_pruned,
        "more_due": r.more_due,
        "errors": errors,
    });
    emit(json, v, || {
        println!("idempotency keys expired  {}", r.idempotency_expired);
        println!("dead letters purged       {}", r.dead_letters_purged);
        println!("resolved alerts purged    {}", r.alerts_purged);
        match &r.backup {
            Some(b) => println!(
                "backup run                {} #{} ({})",
                b.kind.name(),
                b.id,
                b.file
            ),
            None => println!("backup run                none due (or no --backups-into)"),
        }
        println!("backups pruned            {}", r.backups_pruned);
        println!("sealing keys re-wrapped   {}", r.keys_rewrapped);
        println!("audit entries pruned      {}", r.audit_pruned);
        if r.more_due {
            println!("more is due: run again");
        }
        for e in &r.errors {
            println!("failed: {}: {}", e.task, e.error);
        }
    });
    s.close()?;
    if let Some(e) = r.errors.first() {
        return Err(hardstore::Error::Storage(format!(
            "maintenance task {} failed: {}",
            e.task, e.error
        )));
    }
    Ok(())
}
