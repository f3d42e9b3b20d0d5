"""ctypes mirrors of the structs in ``hardstore.h``: same field order, same types.

Opaque handle types are empty ``Structure`` subclasses used only through pointers,
so that ctypes refuses a handle of one kind where another is expected.
"""

from __future__ import annotations

from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_double,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)

u8p = POINTER(c_uint8)


# --- Opaque handles -------------------------------------------------------------------


class _Opaque(Structure):
    """Never instantiated: the library owns the memory behind these pointers."""


class hardstore_alert(_Opaque): pass
class hardstore_alert_iter(_Opaque): pass
class hardstore_audit_entry(_Opaque): pass
class hardstore_audit_event(_Opaque): pass
class hardstore_audit_iter(_Opaque): pass
class hardstore_audit_query(_Opaque): pass
class hardstore_backup_records(_Opaque): pass
class hardstore_backup_schedule(_Opaque): pass
class hardstore_bytes(_Opaque): pass
class hardstore_clock(_Opaque): pass
class hardstore_dlq_claim(_Opaque): pass
class hardstore_dlq_claims(_Opaque): pass
class hardstore_dlq_item(_Opaque): pass
class hardstore_dlq_iter(_Opaque): pass
class hardstore_dlq_query(_Opaque): pass
class hardstore_health_report(_Opaque): pass
class hardstore_idem_response(_Opaque): pass
class hardstore_idem_token(_Opaque): pass
class hardstore_ip_rules(_Opaque): pass
class hardstore_limiter(_Opaque): pass
class hardstore_log_entry(_Opaque): pass
class hardstore_log_record(_Opaque): pass
class hardstore_log_stats(_Opaque): pass
class hardstore_logs_iter(_Opaque): pass
class hardstore_logs_query(_Opaque): pass
class hardstore_maintenance_report(_Opaque): pass
class hardstore_options(_Opaque): pass
class hardstore_rate_limits(_Opaque): pass
class hardstore_note_signer(_Opaque): pass
class hardstore_sealing_keys(_Opaque): pass
class hardstore_store(_Opaque): pass
class hardstore_tx(_Opaque): pass
class hardstore_webhook_deliveries(_Opaque): pass


# --- Structs passed by pointer or value ----------------------------------------------


class hardstore_alert_raised(Structure):
    _fields_ = [
        ("id", c_uint64),
        ("count", c_uint64),
        ("created", c_bool),
        ("state", c_uint32),
    ]


class hardstore_alert_info(Structure):
    _fields_ = [
        ("id", c_uint64),
        ("severity", c_uint32),
        ("state", c_uint32),
        ("count", c_uint64),
        ("first_seen", c_uint64),
        ("last_seen", c_uint64),
        ("acknowledged_at", c_uint64),
        ("resolved_at", c_uint64),
    ]


class hardstore_checkpoint_info(Structure):
    _fields_ = [
        ("store_id", c_uint8 * 16),
        ("size", c_uint64),
        ("time", c_uint64),
        ("root", c_uint8 * 32),
        ("has_mac", c_bool),
    ]


class hardstore_verify_report(Structure):
    _fields_ = [
        ("size", c_uint64),
        ("checked", c_uint64),
        ("ok", c_bool),
        ("first_bad_seq", c_uint64),
        ("root", c_uint8 * 32),
    ]


class hardstore_replication_status(Structure):
    _fields_ = [
        ("replicating", c_bool),
        ("has_shipped", c_bool),
        ("shipped_seq", c_uint64),
        ("committed_seq", c_uint64),
        ("lag_batches", c_uint64),
        ("oldest_unshipped", c_uint64),
        ("snapshots", c_uint64),
        ("segments", c_uint64),
        ("failing", c_bool),
        ("fenced", c_bool),
        ("stopped", c_bool),
    ]


class hardstore_replica_restore_info(Structure):
    _fields_ = [
        ("manifest_version", c_uint64),
        ("last_seq", c_uint64),
        ("segments", c_uint64),
        ("audit_size", c_uint64),
        ("audit_root", c_uint8 * 32),
    ]


class hardstore_backup_info(Structure):
    _fields_ = [
        ("store_id", c_uint8 * 16),
        ("created_us", c_uint64),
        ("audit_size", c_uint64),
        ("audit_root", c_uint8 * 32),
        ("frames", c_uint64),
        ("bytes", c_uint64),
        ("digest", c_uint8 * 32),
        ("kind", c_uint32),
        ("encrypted", c_bool),
        ("key_id", c_uint32),
        ("backup_id", c_uint64),
        ("base_id", c_uint64),
        ("base_digest", c_uint8 * 32),
        ("covered_from", c_uint64),
        ("covered_to", c_uint64),
    ]


class hardstore_backup_key(Structure):
    _fields_ = [
        ("id", c_uint32),
        ("key", c_uint8 * 32),
    ]


# void (*hardstore_progress_cb)(void *user, uint64_t done, uint64_t total)
hardstore_progress_cb = CFUNCTYPE(None, c_void_p, c_uint64, c_uint64)


class hardstore_backup_record(Structure):
    _fields_ = [
        ("id", c_uint64),
        ("kind", c_uint32),
        ("result", c_uint32),
        ("base_id", c_uint64),
        ("file", u8p),
        ("file_len", c_size_t),
        ("error", u8p),
        ("error_len", c_size_t),
        ("started_us", c_uint64),
        ("ended_us", c_uint64),
        ("bytes", c_uint64),
        ("entries", c_uint64),
        ("digest", c_uint8 * 32),
        ("covered_from", c_uint64),
        ("covered_to", c_uint64),
        ("audit_size", c_uint64),
        ("encrypted", c_bool),
        ("key_id", c_uint32),
    ]


class hardstore_retention(Structure):
    _fields_ = [
        ("max_age_secs", c_uint64),
        ("keep_fulls", c_uint64),
    ]


class hardstore_schedule(Structure):
    _fields_ = [
        ("full_every_secs", c_uint64),
        ("incremental_every_secs", c_uint64),
        ("differential_every_secs", c_uint64),
        ("prune", c_bool),
        ("retention", hardstore_retention),
    ]


class hardstore_retry_policy(Structure):
    _fields_ = [
        ("jitter", c_uint32),
        ("base_us", c_uint64),
        ("cap_us", c_uint64),
        ("max_attempts", c_uint32),
        ("seeded", c_bool),
        ("seed", c_uint64),
    ]


class hardstore_dlq_state_counts(Structure):
    _fields_ = [
        ("pending", c_uint64),
        ("leased", c_uint64),
        ("done", c_uint64),
        ("dead", c_uint64),
    ]


class hardstore_dlq_attempt(Structure):
    _fields_ = [
        ("attempt", c_uint32),
        ("at", c_uint64),
        ("retryable", c_bool),
        ("error", u8p),
        ("error_len", c_size_t),
    ]


# uint32_t (*hardstore_dlq_op)(void *userdata, uint32_t attempt, uint8_t *error_buf,
#                              size_t error_cap, size_t *out_error_len)
hardstore_dlq_op = CFUNCTYPE(c_uint32, c_void_p, c_uint32, c_void_p, c_size_t, POINTER(c_size_t))


class hardstore_idem_info(Structure):
    _fields_ = [
        ("state", c_uint32),
        ("fence", c_uint64),
        ("created_us", c_uint64),
        ("expires_us", c_uint64),
        ("lease_until_us", c_uint64),
    ]


class hardstore_log_totals(Structure):
    _fields_ = [
        ("total", c_uint64),
        ("per_level", c_uint64 * 6),
        ("error_rate", c_double),
        ("endpoints", c_size_t),
    ]


class hardstore_endpoint_stats(Structure):
    _fields_ = [
        ("endpoint", u8p),
        ("endpoint_len", c_size_t),
        ("count", c_uint64),
        ("errors", c_uint64),
        ("has_duration", c_bool),
        ("mean_duration_us", c_double),
        ("p95_duration_us", c_uint64),
    ]


class hardstore_restore_point_info(Structure):
    _fields_ = [
        ("id", c_uint64),
        ("created_us", c_uint64),
        ("audit_size", c_uint64),
        ("audit_root", c_uint8 * 32),
        ("digest", c_uint8 * 32),
    ]


class hardstore_space_report(Structure):
    _fields_ = [
        ("points", c_uint64),
        ("max_points", c_uint64),
        ("allocated_bytes", c_uint64),
        ("pinned_bytes", c_uint64),
    ]


class hardstore_settings(Structure):
    _fields_ = [
        ("log_capacity", c_uint64),
        ("idempotency_ttl_us", c_uint64),
        ("dead_letter_policy", hardstore_retry_policy),
        ("dead_letter_purge_after_us", c_uint64),
        ("max_restore_points", c_uint64),
        ("backup_retention", hardstore_retention),
        ("backup_schedule", hardstore_schedule),
    ]


class hardstore_setting_change(Structure):
    _fields_ = [
        ("audit_seq", c_uint64),
        ("deleted", c_uint64),
    ]


class hardstore_health_thresholds(Structure):
    _fields_ = [
        ("window_us", c_uint64),
        ("error_permille_degraded", c_uint32),
        ("error_permille_critical", c_uint32),
        ("p95_degraded_us", c_uint64),
        ("p95_critical_us", c_uint64),
        ("dead_letters_degraded", c_uint64),
        ("dead_letters_critical", c_uint64),
        ("file_size_limit", c_uint64),
        ("disk_free_degraded", c_uint64),
        ("disk_free_critical", c_uint64),
        ("backups_expected", c_bool),
    ]


class hardstore_health_summary(Structure):
    _fields_ = [
        ("grade", c_uint32),
        ("uptime_us", c_uint64),
        ("checked_at", c_uint64),
        ("components", c_size_t),
        ("alerts_raised", c_uint64),
        ("alerts_resolved", c_uint64),
    ]


class hardstore_health_component(Structure):
    _fields_ = [
        ("name", u8p),
        ("name_len", c_size_t),
        ("status", c_uint32),
        ("reason", u8p),
        ("reason_len", c_size_t),
        ("has_value", c_bool),
        ("value", c_double),
        ("unit", u8p),
        ("unit_len", c_size_t),
    ]


class hardstore_maintenance_summary(Structure):
    _fields_ = [
        ("idempotency_expired", c_uint64),
        ("dead_letters_purged", c_uint64),
        ("alerts_purged", c_uint64),
        ("backup_run", c_bool),
        ("backup_id", c_uint64),
        ("backups_pruned", c_uint64),
        ("more_due", c_bool),
        ("errors", c_size_t),
        ("keys_rewrapped", c_uint64),
        ("audit_pruned", c_uint64),
    ]


class hardstore_janitor_status(Structure):
    _fields_ = [
        ("present", c_bool),
        ("runs", c_uint64),
        ("last_run_failed", c_bool),
        ("last_task_errors", c_size_t),
    ]


class hardstore_metrics_snapshot(Structure):
    _fields_ = [
        ("audit_entries", c_uint64),
        ("log_entries_appended", c_uint64),
        ("log_ring_entries", c_uint64),
        ("dead_letters_pending", c_uint64),
        ("dead_letters_leased", c_uint64),
        ("dead_letters_done", c_uint64),
        ("dead_letters_dead", c_uint64),
        ("alerts_unresolved", c_uint64),
        ("alerts_resolved", c_uint64),
        ("restore_points", c_uint64),
        ("backups_ok", c_uint64),
        ("backups_failed", c_uint64),
        ("file_bytes", c_uint64),
        ("write_batches", c_uint64),
        ("writes", c_uint64),
        ("write_syncs", c_uint64),
        ("uptime_seconds", c_double),
    ]


class hardstore_label(Structure):
    _fields_ = [
        ("name", u8p),
        ("name_len", c_size_t),
        ("value", u8p),
        ("value_len", c_size_t),
    ]


class hardstore_rate_limit(Structure):
    _fields_ = [
        ("count", c_uint64),
        ("period_us", c_uint64),
        ("burst", c_uint64),
    ]


class hardstore_rate_decision(Structure):
    _fields_ = [
        ("allowed", c_bool),
        ("limit", c_uint64),
        ("remaining", c_uint64),
        ("retry_after_us", c_uint64),
        ("reset_after_us", c_uint64),
    ]


class hardstore_rate_limit_keys(Structure):
    _fields_ = [
        ("keys", c_uint64),
        ("evicted_idle", c_uint64),
        ("evicted_active", c_uint64),
    ]


#: ``HARDSTORE_IP_CIDR_TEXT``: room for a CIDR's text in a verdict, NUL included.
IP_CIDR_TEXT = 52


class hardstore_ip_verdict(Structure):
    # ``global`` is a Python keyword: read it with ``getattr(v, "global")``.
    _fields_ = [
        ("allowed", c_bool),
        ("matched", c_bool),
        ("action", c_uint32),
        ("global", c_bool),
        ("prefix_len", c_uint8),
        ("cidr", c_uint8 * IP_CIDR_TEXT),
    ]


class hardstore_ip_rule_info(Structure):
    _fields_ = [
        ("action", c_uint32),
        ("expires_at", c_uint64),
        ("updated_at", c_uint64),
        ("prefix_len", c_uint8),
    ]


# bool (*hardstore_key_callback)(void *user_data, uint32_t key_id, uint8_t *out_key)
hardstore_key_callback = CFUNCTYPE(c_bool, c_void_p, c_uint32, c_void_p)


class hardstore_rewrap_report(Structure):
    _fields_ = [
        ("rewrapped", c_uint64),
        ("remaining", c_uint64),
    ]


class hardstore_sealing_key(Structure):
    _fields_ = [
        ("id", c_uint32),
        ("status", c_uint32),
        ("primary", c_bool),
        ("available", c_bool),
        ("added_at", c_uint64),
        ("subjects", c_uint64),
    ]


class hardstore_webhook_endpoint(Structure):
    _fields_ = [
        ("enabled", c_bool),
        ("failing", c_uint32),
        ("secrets", c_size_t),
    ]


class hardstore_webhook_delivery(Structure):
    # The pointers borrow from the claim (hardstore_webhook_deliveries).
    _fields_ = [
        ("id", c_uint64),
        ("attempt", c_uint32),
        ("lease_until", c_uint64),
        ("url", u8p),
        ("url_len", c_size_t),
        ("payload", u8p),
        ("payload_len", c_size_t),
        ("event_type", u8p),
        ("event_type_len", c_size_t),
        ("webhook_id", u8p),
        ("webhook_id_len", c_size_t),
        ("webhook_timestamp", u8p),
        ("webhook_timestamp_len", c_size_t),
        ("webhook_signature", u8p),
        ("webhook_signature_len", c_size_t),
    ]


class hardstore_webhook_fail_outcome(Structure):
    _fields_ = [
        ("dead", c_bool),
        ("retry_at", c_uint64),
        ("dead_letter", c_uint64),
    ]


#: Every struct that mirrors one in the header (checked against a C compiler by the tests).
STRUCTS = {
    "hardstore_alert_raised": hardstore_alert_raised,
    "hardstore_alert_info": hardstore_alert_info,
    "hardstore_checkpoint_info": hardstore_checkpoint_info,
    "hardstore_verify_report": hardstore_verify_report,
    "hardstore_backup_info": hardstore_backup_info,
    "hardstore_backup_key": hardstore_backup_key,
    "hardstore_backup_record": hardstore_backup_record,
    "hardstore_retention": hardstore_retention,
    "hardstore_schedule": hardstore_schedule,
    "hardstore_retry_policy": hardstore_retry_policy,
    "hardstore_dlq_state_counts": hardstore_dlq_state_counts,
    "hardstore_dlq_attempt": hardstore_dlq_attempt,
    "hardstore_idem_info": hardstore_idem_info,
    "hardstore_log_totals": hardstore_log_totals,
    "hardstore_endpoint_stats": hardstore_endpoint_stats,
    "hardstore_restore_point_info": hardstore_restore_point_info,
    "hardstore_space_report": hardstore_space_report,
    "hardstore_settings": hardstore_settings,
    "hardstore_setting_change": hardstore_setting_change,
    "hardstore_health_thresholds": hardstore_health_thresholds,
    "hardstore_health_summary": hardstore_health_summary,
    "hardstore_health_component": hardstore_health_component,
    "hardstore_maintenance_summary": hardstore_maintenance_summary,
    "hardstore_janitor_status": hardstore_janitor_status,
    "hardstore_metrics_snapshot": hardstore_metrics_snapshot,
    "hardstore_label": hardstore_label,
    "hardstore_rate_limit": hardstore_rate_limit,
    "hardstore_rate_decision": hardstore_rate_decision,
    "hardstore_rate_limit_keys": hardstore_rate_limit_keys,
    "hardstore_ip_verdict": hardstore_ip_verdict,
    "hardstore_ip_rule_info": hardstore_ip_rule_info,
    "hardstore_rewrap_report": hardstore_rewrap_report,
    "hardstore_sealing_key": hardstore_sealing_key,
    "hardstore_webhook_endpoint": hardstore_webhook_endpoint,
    "hardstore_webhook_delivery": hardstore_webhook_delivery,
    "hardstore_webhook_fail_outcome": hardstore_webhook_fail_outcome,
}

