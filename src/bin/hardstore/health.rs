//! `hardstore health`: the store's grade and every component; the exit code is the
//! grade (0 healthy, 1 degraded, 2 critical).

use std::path::Path;

use hardstore::health::{Grade, HealthOptions};
use hardstore::Result;
use serde_json::json;

use crate::{emit, open};

/// Runs the checks and prints them; returns the grade for the exit code.
pub(crate) fn health(store: &Path, deep: bool, raise_alerts: bool, json: bool) -> Result<Grade> {
    let s = open(store)?;
    let r = s.health_with(HealthOptions::new().deep(deep).raise_alerts(raise_alerts))?;
    let components: Vec<_> = r
        .components
        .iter()
        .map(|c| {
            json!({"name": c.name, "status": c.status.as_str(), "reason": c.reason,
                   "value": c.value, "unit": c.unit})
        })
        .collect();
    let v = json!({
        "grade": r.grade.as_str(),
        "uptime_us": r.uptime.as_micros() as u64,
        "checked_at_us": r.checked_at,
        "components": components,
        "alerts_raised": r.alerts_raised,
        "alerts_resolved": r.alerts_resolved,
    });
    emit(json, v, || {
        println!("{}", r.grade.as_str());
        for c in &r.components {
            println!("  {:<15} {:<9} {}", c.name, c.status.as_str(), c.reason);
        }
        if raise_alerts {
            println!(
                "alerts: {} raised, {} resolved",
                r.alerts_raised, r.alerts_resolved
            );
        }
    });
    s.close()?;
    Ok(r.grade)
}
