//! `hardstore metrics`: the store's figures in the Prometheus text format (or
//! OpenMetrics, or JSON).

use std::path::Path;

use hardstore::metrics::Format;
use hardstore::Result;
use serde_json::json;

use crate::open;

pub(crate) fn metrics(store: &Path, openmetrics: bool, json: bool) -> Result<()> {
    let s = open(store)?;
    if json {
        let m = s.metrics().snapshot()?;
        let v = json!({
            "audit_entries": m.audit_entries,
            "log_entries_appended": m.log_entries_appended,
            "log_ring_entries": m.log_ring_entries,
            "dead_letters": {"pending": m.dead_letters_pending, "leased": m.dead_letters_leased,
                             "done": m.dead_letters_done, "dead": m.dead_letters_dead},
            "alerts": {"unresolved": m.alerts_unresolved, "resolved": m.alerts_resolved},
            "restore_points": m.restore_points,
            "backups": {"ok": m.backups_ok, "failed": m.backups_failed},
            "file_bytes": m.file_bytes,
        });
        println!("{v}");
    } else {
        let f = if openmetrics {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        };
        print!("{}", s.metrics().encode(f)?);
    }
    s.close()
}
