//! Replays every committed fuzz corpus file through its target's body, so a crash the
//! fuzzer once found (and whose input was added to the corpus) stays fixed.

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        body(&data);
        n += 1;
    }
    assert!(n > 0, "corpus {} is empty", dir.display());
}

#[test]
fn audit_record_decode_corpus() {
    replay(
        "audit_record_decode",
        hardstore::fuzzing::audit_record_decode,
    );
}

#[test]
fn audit_model_corpus() {
    replay("audit_model", hardstore::fuzzing::audit_model);
}

#[test]
fn proof_verify_corpus() {
    replay("proof_verify", hardstore::fuzzing::proof_verify);
}

#[test]
fn logs_model_corpus() {
    replay("logs_model", hardstore::fuzzing::logs_model);
}

#[test]
fn dead_letters_model_corpus() {
    replay("dead_letters_model", hardstore::fuzzing::dead_letters_model);
}

#[test]
fn idempotency_model_corpus() {
    replay("idempotency_model", hardstore::fuzzing::idempotency_model);
}

#[test]
fn restore_points_model_corpus() {
    replay(
        "restore_points_model",
        hardstore::fuzzing::restore_points_model,
    );
}

#[test]
fn backup_reader_corpus() {
    replay("backup_reader", hardstore::fuzzing::backup_reader);
}

#[test]
fn alerts_model_corpus() {
    replay("alerts_model", hardstore::fuzzing::alerts_model);
}

#[test]
fn health_model_corpus() {
    replay("health_model", hardstore::fuzzing::health_model);
}

#[test]
fn maintenance_model_corpus() {
    replay("maintenance_model", hardstore::fuzzing::maintenance_model);
}

#[test]
fn metrics_model_corpus() {
    replay("metrics_model", hardstore::fuzzing::metrics_model);
}

#[test]
fn ip_rules_model_corpus() {
    replay("ip_rules_model", hardstore::fuzzing::ip_rules_model);
}

#[test]
fn rate_limits_model_corpus() {
    replay("rate_limits_model", hardstore::fuzzing::rate_limits_model);
}

#[test]
fn sealed_blob_corpus() {
    replay("sealed_blob", hardstore::fuzzing::sealed_blob);
}

#[test]
fn webhook_headers_corpus() {
    replay("webhook_headers", hardstore::fuzzing::webhook_headers);
}

#[test]
fn signed_note_corpus() {
    replay("signed_note", hardstore::fuzzing::signed_note);
}

#[test]
fn replica_segment_corpus() {
    replay("replica_segment", hardstore::fuzzing::replica_segment);
}
