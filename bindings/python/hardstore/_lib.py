"""Finding and loading ``libhardstore``, and the ctypes signature of every C function.

The library is found, in order:

1. ``HARDSTORE_LIB``: a path to the shared library (``libhardstore.so``,
   ``libhardstore.dylib`` or ``hardstore.dll``);
2. a cargo ``target/release`` then ``target/debug`` folder holding it, searched upward
   from this package's folder, then upward from the current directory.

If neither finds it, importing :mod:`hardstore` raises an :class:`ImportError` that
says how to fix it.
"""

from __future__ import annotations

import ctypes
import operator
import os
import sys
from ctypes import (
    POINTER,
    c_bool,
    c_char_p,
    c_double,
    c_int,
    c_int64,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from . import _structs as st
from .errors import Result, make_error

ENV_VAR = "HARDSTORE_LIB"


def library_file_name() -> str:
    """The shared library's file name on this platform."""
    if sys.platform == "darwin":
        return "libhardstore.dylib"
    if sys.platform.startswith("win"):
        return "hardstore.dll"
    return "libhardstore.so"


def _search_upward(start: Path, name: str) -> Iterator[Path]:
    for folder in (start, *start.parents):
        for profile in ("release", "debug"):
            yield folder / "target" / profile / name


def find_library() -> Path:
    """The path of the shared library to load (see the module docstring).

    Raises:
        ImportError: when ``HARDSTORE_LIB`` names a missing file, or nothing is found.
    """
    name = library_file_name()
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if path.is_dir():
            path = path / name
        if not path.is_file():
            raise ImportError(
                f"{ENV_VAR}={env!r} does not name an existing file; set it to the path "
                f"of {name} (built by `cargo build --release` into target/release/)"
            )
        return path
    tried: List[Path] = []
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for candidate in _search_upward(start, name):
            if candidate in tried:
                continue
            tried.append(candidate)
            if candidate.is_file():
                return candidate
    raise ImportError(
        f"cannot find {name}: build it with `cargo build --release` in the hardstore "
        f"repository (it lands in target/release/), then set {ENV_VAR} to its path, "
        f"e.g. `export {ENV_VAR}=/path/to/hardstore/target/release/{name}`. "
        f"Searched {ENV_VAR} (unset) and target/release, target/debug upward from "
        f"{Path(__file__).resolve().parent} and {Path.cwd()}."
    )


# --- Signatures --------------------------------------------------------------------------

P = POINTER
R = "result"  # marks a function returning enum hardstore_result (errcheck raises)
S = c_char_p  # const uint8_t * input (bytes or None)
Z = c_size_t
U8P = st.u8p
PU8P = P(st.u8p)  # const uint8_t ** out-parameter

STORE = P(st.hardstore_store)
ALERT = P(st.hardstore_alert)
ALITER = P(st.hardstore_alert_iter)
OPTS = P(st.hardstore_options)
EVENT = P(st.hardstore_audit_event)
ENTRY = P(st.hardstore_audit_entry)
AQUERY = P(st.hardstore_audit_query)
AITER = P(st.hardstore_audit_iter)
BYTES = P(st.hardstore_bytes)
RECORDS = P(st.hardstore_backup_records)
BSCHED = P(st.hardstore_backup_schedule)
CLOCK = P(st.hardstore_clock)
CLAIM = P(st.hardstore_dlq_claim)
CLAIMS = P(st.hardstore_dlq_claims)
ITEM = P(st.hardstore_dlq_item)
DITER = P(st.hardstore_dlq_iter)
DQUERY = P(st.hardstore_dlq_query)
HREPORT = P(st.hardstore_health_report)
THRESH = P(st.hardstore_health_thresholds)
RESP = P(st.hardstore_idem_response)
TOKEN = P(st.hardstore_idem_token)
LENTRY = P(st.hardstore_log_entry)
LREC = P(st.hardstore_log_record)
LSTATS = P(st.hardstore_log_stats)
LITER = P(st.hardstore_logs_iter)
LQUERY = P(st.hardstore_logs_query)
MREPORT = P(st.hardstore_maintenance_report)
LABELS = P(st.hardstore_label)
TX = P(st.hardstore_tx)
KEY = P(st.hardstore_backup_key)
RLIMIT = P(st.hardstore_rate_limit)
RDECISION = P(st.hardstore_rate_decision)
RLIST = P(st.hardstore_rate_limits)
LIMITER = P(st.hardstore_limiter)
IPLIST = P(st.hardstore_ip_rules)
VERDICT = P(st.hardstore_ip_verdict)
INFO = P(st.hardstore_backup_info)
SKEYS = P(st.hardstore_sealing_keys)
WHCLAIM = P(st.hardstore_webhook_deliveries)
SIGNER = P(st.hardstore_note_signer)

SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    # Errors and version
    "hardstore_last_error_message": (c_uint32, [c_char_p, Z, P(Z)]),
    "hardstore_result_name": (c_char_p, [c_uint32]),
    "hardstore_version": (c_char_p, []),
    # Alerts
    "hardstore_alert_raise": (
        R,
        [STORE, S, Z, S, Z, S, Z, c_uint32, S, Z, c_uint32, P(st.hardstore_alert_raised)],
    ),
    "hardstore_alert_acknowledge": (R, [STORE, c_uint64, S, Z]),
    "hardstore_alert_resolve": (R, [STORE, c_uint64, S, Z, S, Z]),
    "hardstore_alert_resolve_key": (R, [STORE, S, Z, S, Z, S, Z, S, Z, P(c_bool), P(c_uint64)]),
    "hardstore_alert_get": (R, [STORE, c_uint64, P(ALERT)]),
    "hardstore_alert_free": (None, [ALERT]),
    "hardstore_alert_get_info": (R, [ALERT, P(st.hardstore_alert_info)]),
    "hardstore_alert_field": (R, [ALERT, c_uint32, PU8P, P(Z)]),
    "hardstore_alert_list": (R, [STORE, c_uint32, S, Z, S, Z, c_uint32, Z, S, Z, P(ALITER)]),
    "hardstore_alert_iter_next": (R, [ALITER, P(ALERT)]),
    "hardstore_alert_iter_cursor": (R, [ALITER, P(BYTES)]),
    "hardstore_alert_iter_free": (None, [ALITER]),
    "hardstore_alert_counts": (R, [STORE, P(c_uint64), P(c_uint64)]),
    "hardstore_alert_purgeable": (R, [STORE, c_uint64, P(c_uint64)]),
    "hardstore_alert_purge_resolved": (R, [STORE, c_uint64, c_uint64, P(c_uint64)]),
    # Audit events
    "hardstore_audit_event_new": (R, [S, Z, S, Z, P(EVENT)]),
    "hardstore_audit_event_set_actor": (R, [EVENT, S, Z]),
    "hardstore_audit_event_set_resource": (R, [EVENT, S, Z]),
    "hardstore_audit_event_set_outcome": (R, [EVENT, S, Z]),
    "hardstore_audit_event_set_user_agent": (R, [EVENT, S, Z]),
    "hardstore_audit_event_set_ip": (R, [EVENT, S, Z]),
    "hardstore_audit_event_add_detail": (R, [EVENT, S, Z, S, Z]),
    "hardstore_audit_event_free": (None, [EVENT]),
    # Audit log
    "hardstore_audit_append": (R, [STORE, EVENT, c_uint32, P(c_uint64), U8P]),
    "hardstore_audit_size": (R, [STORE, P(c_uint64)]),
    "hardstore_audit_get": (R, [STORE, c_uint64, P(ENTRY)]),
    "hardstore_audit_entry_free": (None, [ENTRY]),
    "hardstore_audit_entry_seq": (c_uint64, [ENTRY]),
    "hardstore_audit_entry_time": (c_uint64, [ENTRY]),
    "hardstore_audit_entry_field": (R, [ENTRY, c_uint32, PU8P, P(Z)]),
    "hardstore_audit_entry_detail_count": (Z, [ENTRY]),
    "hardstore_audit_entry_detail": (R, [ENTRY, Z, PU8P, P(Z), PU8P, P(Z)]),
    "hardstore_audit_entry_leaf_hash": (R, [ENTRY, U8P]),
    "hardstore_audit_root": (R, [STORE, c_uint64, U8P]),
    "hardstore_audit_inclusion_proof": (R, [STORE, c_uint64, c_uint64, P(BYTES)]),
    "hardstore_audit_consistency_proof": (R, [STORE, c_uint64, c_uint64, P(BYTES)]),
    "hardstore_verify_inclusion": (R, [S, c_uint64, c_uint64, S, Z, S]),
    "hardstore_verify_consistency": (R, [c_uint64, c_uint64, S, S, S, Z]),
    "hardstore_audit_checkpoint": (R, [STORE, P(BYTES)]),
    "hardstore_audit_prove_since": (R, [STORE, S, Z, P(BYTES), P(BYTES)]),
    "hardstore_checkpoint_parse": (R, [S, Z, P(st.hardstore_checkpoint_info)]),
    "hardstore_checkpoint_verify_mac": (R, [S, Z, S, Z]),
    "hardstore_audit_verify": (R, [STORE, P(st.hardstore_verify_report)]),
    "hardstore_audit_query_new": (R, [S, Z, P(AQUERY)]),
    "hardstore_audit_query_set_actor": (R, [AQUERY, S, Z]),
    "hardstore_audit_query_set_action": (R, [AQUERY, S, Z]),
    "hardstore_audit_query_set_time_range": (R, [AQUERY, c_uint64, c_uint64]),
    "hardstore_audit_query_set_newest_first": (R, [AQUERY, c_bool]),
    "hardstore_audit_query_set_limit": (R, [AQUERY, Z]),
    "hardstore_audit_query_set_cursor": (R, [AQUERY, S, Z]),
    "hardstore_audit_query_free": (None, [AQUERY]),
    "hardstore_audit_query_run": (R, [STORE, AQUERY, P(AITER)]),
    "hardstore_audit_iter_next": (R, [AITER, P(ENTRY)]),
    "hardstore_audit_iter_cursor": (R, [AITER, P(BYTES)]),
    "hardstore_audit_iter_free": (None, [AITER]),
    "hardstore_audit_export_jsonl": (R, [STORE, AQUERY, S, Z, P(c_uint64)]),
    "hardstore_inclusion_proof_len": (R, [c_uint64, c_uint64, P(Z)]),
    # Audit retention
    "hardstore_audit_prunable": (R, [STORE, c_uint32, c_uint64, P(c_uint64), P(c_uint64)]),
    "hardstore_audit_prune": (R, [STORE, c_uint32, c_uint64, c_uint64, P(c_uint64)]),
    "hardstore_audit_pruned_below": (R, [STORE, P(c_uint64)]),
    "hardstore_audit_export_archive": (R, [STORE, c_uint64, c_uint64, S, Z, P(c_uint64)]),
    "hardstore_audit_entry_pruned": (c_bool, [ENTRY]),
    "hardstore_options_set_redact_audit": (R, [OPTS, c_bool]),
    "hardstore_settings_get_audit_retention_us": (R, [STORE, P(c_uint64)]),
    "hardstore_settings_set_audit_retention_us": (
        R, [STORE, S, Z, c_uint64, P(st.hardstore_setting_change)]),
    # Backups
    "hardstore_backup_full": (R, [STORE, S, Z, INFO]),
    "hardstore_backup_run": (
        R,
        [STORE, c_uint32, S, Z, KEY, st.hardstore_progress_cb, c_void_p, P(c_uint64), P(c_uint32)],
    ),
    "hardstore_backup_verify": (R, [S, Z, INFO]),
    "hardstore_backup_verify_with_key": (R, [S, Z, KEY, INFO]),
    "hardstore_backup_verify_chain": (R, [P(c_char_p), P(Z), Z, KEY, INFO]),
    "hardstore_backup_restore": (R, [S, Z, S, Z, OPTS, INFO]),
    "hardstore_backup_restore_chain": (R, [P(c_char_p), P(Z), Z, S, Z, OPTS, KEY, INFO]),
    "hardstore_backup_list": (R, [STORE, P(RECORDS)]),
    "hardstore_backup_chain": (R, [STORE, c_uint64, P(RECORDS)]),
    "hardstore_backup_records_len": (Z, [RECORDS]),
    "hardstore_backup_records_get": (R, [RECORDS, Z, P(st.hardstore_backup_record)]),
    "hardstore_backup_records_free": (None, [RECORDS]),
    "hardstore_backup_prune": (R, [STORE, P(st.hardstore_retention), c_uint64, c_bool, P(RECORDS)]),
    "hardstore_backup_run_due": (
        R,
        [
            STORE, c_uint64, S, Z, P(st.hardstore_schedule), KEY,
            st.hardstore_progress_cb, c_void_p, P(c_bool), P(c_uint64),
        ],
    ),
    "hardstore_backup_success_rate": (R, [STORE, c_uint64, P(c_uint64), P(c_uint64)]),
    "hardstore_backup_schedule_start": (
        R,
        [STORE, S, Z, P(st.hardstore_schedule), KEY, c_uint64, P(BSCHED)],
    ),
    "hardstore_backup_schedule_stop": (None, [BSCHED]),
    # Byte buffers
    "hardstore_bytes_data": (U8P, [BYTES]),
    "hardstore_bytes_len": (Z, [BYTES]),
    "hardstore_bytes_copy": (R, [BYTES, U8P, Z, P(Z)]),
    "hardstore_bytes_free": (None, [BYTES]),
    # Clock
    "hardstore_clock_new_manual": (R, [c_uint64, P(CLOCK)]),
    "hardstore_clock_set": (R, [CLOCK, c_uint64]),
    "hardstore_clock_advance": (R, [CLOCK, c_uint64]),
    "hardstore_options_set_clock": (R, [OPTS, CLOCK]),
    "hardstore_clock_free": (None, [CLOCK]),
    # Dead letters
    "hardstore_retry_policy_default": (R, [P(st.hardstore_retry_policy)]),
    "hardstore_options_set_dlq_policy": (R, [OPTS, P(st.hardstore_retry_policy)]),
    "hardstore_options_set_dlq_purge_after_us": (R, [OPTS, c_uint64]),
    "hardstore_dlq_record": (
        R,
        [STORE, S, Z, S, Z, S, Z, S, Z, c_uint32, c_uint64, c_bool, c_uint32, P(c_uint64)],
    ),
    "hardstore_dlq_claim_due": (R, [STORE, Z, c_uint64, P(CLAIMS)]),
    "hardstore_dlq_claims_len": (Z, [CLAIMS]),
    "hardstore_dlq_claims_get": (R, [CLAIMS, Z, P(CLAIM)]),
    "hardstore_dlq_claims_free": (None, [CLAIMS]),
    "hardstore_dlq_claim_id": (c_uint64, [CLAIM]),
    "hardstore_dlq_claim_attempt": (c_uint32, [CLAIM]),
    "hardstore_dlq_claim_max_attempts": (c_uint32, [CLAIM]),
    "hardstore_dlq_claim_lease_until": (c_uint64, [CLAIM]),
    "hardstore_dlq_claim_field": (R, [CLAIM, c_uint32, PU8P, P(Z)]),
    "hardstore_dlq_ack": (R, [STORE, CLAIM]),
    "hardstore_dlq_fail": (R, [STORE, CLAIM, S, Z, c_bool, P(c_uint32), P(c_uint64)]),
    "hardstore_dlq_redrive": (R, [STORE, c_uint64]),
    "hardstore_dlq_redrive_where": (R, [STORE, DQUERY, P(c_uint64)]),
    "hardstore_dlq_counts": (R, [STORE, P(st.hardstore_dlq_state_counts)]),
    "hardstore_dlq_purge": (R, [STORE, Z, P(c_uint64)]),
    "hardstore_dlq_get": (R, [STORE, c_uint64, P(ITEM)]),
    "hardstore_dlq_item_free": (None, [ITEM]),
    "hardstore_dlq_item_id": (c_uint64, [ITEM]),
    "hardstore_dlq_item_state": (c_uint32, [ITEM]),
    "hardstore_dlq_item_attempts": (c_uint32, [ITEM]),
    "hardstore_dlq_item_max_attempts": (c_uint32, [ITEM]),
    "hardstore_dlq_item_redrives": (c_uint32, [ITEM]),
    "hardstore_dlq_item_created": (c_uint64, [ITEM]),
    "hardstore_dlq_item_time": (R, [ITEM, P(c_uint64)]),
    "hardstore_dlq_item_field": (R, [ITEM, c_uint32, PU8P, P(Z)]),
    "hardstore_dlq_item_history_len": (Z, [ITEM]),
    "hardstore_dlq_item_history": (R, [ITEM, Z, P(st.hardstore_dlq_attempt)]),
    "hardstore_dlq_query_new": (R, [P(DQUERY)]),
    "hardstore_dlq_query_set_state": (R, [DQUERY, c_uint32]),
    "hardstore_dlq_query_set_kind": (R, [DQUERY, S, Z]),
    "hardstore_dlq_query_set_tenant": (R, [DQUERY, S, Z]),
    "hardstore_dlq_query_set_time_range": (R, [DQUERY, c_uint64, c_uint64]),
    "hardstore_dlq_query_set_limit": (R, [DQUERY, Z]),
    "hardstore_dlq_query_set_cursor": (R, [DQUERY, S, Z]),
    "hardstore_dlq_query_free": (None, [DQUERY]),
    "hardstore_dlq_list": (R, [STORE, DQUERY, P(DITER)]),
    "hardstore_dlq_iter_next": (R, [DITER, P(ITEM)]),
    "hardstore_dlq_iter_cursor": (R, [DITER, P(BYTES)]),
    "hardstore_dlq_iter_free": (None, [DITER]),
    "hardstore_dlq_retry": (
        R,
        [
            STORE, P(st.hardstore_retry_policy), S, Z, S, Z, S, Z,
            st.hardstore_dlq_op, c_void_p, P(c_uint32), P(c_uint32), P(c_uint64),
        ],
    ),
    # Health
    "hardstore_health_thresholds_default": (R, [THRESH]),
    "hardstore_options_set_health_thresholds": (R, [OPTS, THRESH]),
    "hardstore_settings_get_health_thresholds": (R, [STORE, THRESH]),
    "hardstore_settings_set_health_thresholds": (
        R, [STORE, S, Z, THRESH, P(st.hardstore_setting_change)]),
    "hardstore_store_health": (R, [STORE, c_bool, c_bool, P(HREPORT)]),
    "hardstore_health_report_summary": (R, [HREPORT, P(st.hardstore_health_summary)]),
    "hardstore_health_report_component": (R, [HREPORT, Z, P(st.hardstore_health_component)]),
    "hardstore_health_report_free": (None, [HREPORT]),
    # Idempotency
    "hardstore_idem_begin": (
        R,
        [STORE, S, Z, S, Z, S, Z, c_uint64, P(c_int), P(TOKEN), P(RESP), P(c_uint64)],
    ),
    "hardstore_idem_token_fence": (c_uint64, [TOKEN]),
    "hardstore_idem_token_recovery": (R, [TOKEN, P(c_bool), PU8P, P(Z), PU8P, P(Z)]),
    "hardstore_idem_token_free": (None, [TOKEN]),
    "hardstore_idem_response_get": (R, [RESP, PU8P, P(Z), P(c_bool), P(c_uint16), P(c_bool)]),
    "hardstore_idem_response_free": (None, [RESP]),
    "hardstore_idem_complete": (R, [STORE, TOKEN, c_bool, c_uint16, S, Z]),
    "hardstore_idem_fail": (R, [STORE, TOKEN, c_bool, c_uint16, S, Z]),
    "hardstore_idem_release": (R, [STORE, TOKEN]),
    "hardstore_idem_abandon": (R, [STORE, TOKEN]),
    "hardstore_idem_renew": (R, [STORE, TOKEN, c_uint64]),
    "hardstore_idem_save_recovery": (R, [STORE, TOKEN, S, Z, S, Z]),
    "hardstore_idem_purge_expired": (R, [STORE, Z, P(Z)]),
    "hardstore_idem_get": (R, [STORE, S, Z, S, Z, P(c_bool), P(st.hardstore_idem_info)]),
    "hardstore_options_set_idempotency_ttl_ms": (R, [OPTS, c_uint64]),
    # IP rules
    "hardstore_ip_rule_put": (R, [STORE, S, Z, S, Z, c_uint32, c_uint64, S, Z, P(c_bool)]),
    "hardstore_ip_rule_remove": (R, [STORE, S, Z, S, Z]),
    "hardstore_ip_check": (R, [STORE, S, Z, S, Z, VERDICT]),
    "hardstore_ip_check_bytes": (R, [STORE, S, Z, S, Z, VERDICT]),
    "hardstore_ip_rule_list": (R, [STORE, S, Z, P(IPLIST)]),
    "hardstore_ip_rule_list_len": (Z, [IPLIST]),
    "hardstore_ip_rule_list_get": (
        R, [IPLIST, Z, PU8P, P(Z), PU8P, P(Z), P(st.hardstore_ip_rule_info)]),
    "hardstore_ip_rule_list_free": (None, [IPLIST]),
    "hardstore_ip_rules_expired": (R, [STORE, P(c_uint64)]),
    "hardstore_ip_rules_purge_expired": (R, [STORE, c_uint64, P(c_uint64)]),
    # Log ring
    "hardstore_log_record_new": (R, [c_uint32, S, Z, P(LREC)]),
    "hardstore_log_record_set_target": (R, [LREC, S, Z]),
    "hardstore_log_record_set_tenant": (R, [LREC, S, Z]),
    "hardstore_log_record_set_user": (R, [LREC, S, Z]),
    "hardstore_log_record_set_endpoint": (R, [LREC, S, Z]),
    "hardstore_log_record_set_status": (R, [LREC, c_uint16]),
    "hardstore_log_record_set_duration_us": (R, [LREC, c_uint64]),
    "hardstore_log_record_set_error": (R, [LREC, S, Z]),
    "hardstore_log_record_add_cause": (R, [LREC, S, Z]),
    "hardstore_log_record_add_field": (R, [LREC, S, Z, S, Z]),
    "hardstore_log_record_free": (None, [LREC]),
    "hardstore_logs_append": (R, [STORE, LREC, c_uint32, P(c_uint64)]),
    "hardstore_logs_range": (R, [STORE, P(c_uint64), P(c_uint64)]),
    "hardstore_logs_query_new": (R, [P(LQUERY)]),
    "hardstore_logs_query_set_min_level": (R, [LQUERY, c_uint32]),
    "hardstore_logs_query_set_tenant": (R, [LQUERY, S, Z]),
    "hardstore_logs_query_set_user": (R, [LQUERY, S, Z]),
    "hardstore_logs_query_set_endpoint": (R, [LQUERY, S, Z]),
    "hardstore_logs_query_set_text": (R, [LQUERY, S, Z]),
    "hardstore_logs_query_set_time_range": (R, [LQUERY, c_uint64, c_uint64]),
    "hardstore_logs_query_set_oldest_first": (R, [LQUERY, c_bool]),
    "hardstore_logs_query_set_limit": (R, [LQUERY, Z]),
    "hardstore_logs_query_set_cursor": (R, [LQUERY, S, Z]),
    "hardstore_logs_query_free": (None, [LQUERY]),
    "hardstore_logs_query_run": (R, [STORE, LQUERY, P(LITER)]),
    "hardstore_logs_iter_next": (R, [LITER, P(LENTRY)]),
    "hardstore_logs_iter_cursor": (R, [LITER, P(BYTES)]),
    "hardstore_logs_iter_free": (None, [LITER]),
    "hardstore_log_entry_seq": (c_uint64, [LENTRY]),
    "hardstore_log_entry_time": (c_uint64, [LENTRY]),
    "hardstore_log_entry_level": (c_uint32, [LENTRY]),
    "hardstore_log_entry_status": (R, [LENTRY, P(c_uint16)]),
    "hardstore_log_entry_duration_us": (R, [LENTRY, P(c_uint64)]),
    "hardstore_log_entry_field": (R, [LENTRY, c_uint32, PU8P, P(Z)]),
    "hardstore_log_entry_cause_count": (Z, [LENTRY]),
    "hardstore_log_entry_cause": (R, [LENTRY, Z, PU8P, P(Z)]),
    "hardstore_log_entry_field_count": (Z, [LENTRY]),
    "hardstore_log_entry_kv": (R, [LENTRY, Z, PU8P, P(Z), PU8P, P(Z)]),
    "hardstore_logs_stats": (R, [STORE, c_uint64, c_uint64, P(LSTATS)]),
    "hardstore_log_stats_totals": (R, [LSTATS, P(st.hardstore_log_totals)]),
    "hardstore_log_stats_endpoint": (R, [LSTATS, Z, P(st.hardstore_endpoint_stats)]),
    "hardstore_log_stats_free": (None, [LSTATS]),
    # Maintenance
    "hardstore_store_maintenance": (R, [STORE, Z, S, Z, P(MREPORT)]),
    "hardstore_maintenance_report_summary": (
        R, [MREPORT, P(st.hardstore_maintenance_summary)]),
    "hardstore_maintenance_report_error": (R, [MREPORT, Z, PU8P, P(Z), PU8P, P(Z)]),
    "hardstore_maintenance_report_free": (None, [MREPORT]),
    "hardstore_options_set_janitor": (R, [OPTS, c_uint64, S, Z]),
    "hardstore_store_janitor_status": (R, [STORE, P(st.hardstore_janitor_status)]),
    "hardstore_store_janitor_last_error": (R, [STORE, P(BYTES)]),
    "hardstore_options_set_alert_retention_us": (R, [OPTS, c_uint64]),
    "hardstore_settings_get_alert_retention_us": (R, [STORE, P(c_uint64)]),
    "hardstore_settings_set_alert_retention_us": (
        R, [STORE, S, Z, c_uint64, P(st.hardstore_setting_change)]),
    # Metrics
    "hardstore_metrics_get": (R, [STORE, P(st.hardstore_metrics_snapshot)]),
    "hardstore_metrics_encode": (R, [STORE, c_uint32, P(BYTES)]),
    "hardstore_metrics_counter_add": (R, [STORE, S, Z, S, Z, LABELS, Z, c_uint64]),
    "hardstore_metrics_gauge_set": (R, [STORE, S, Z, S, Z, LABELS, Z, c_int64]),
    "hardstore_metrics_histogram_observe": (
        R, [STORE, S, Z, S, Z, LABELS, Z, P(c_double), Z, c_double]),
    "hardstore_metrics_persist": (R, [STORE, P(c_uint64)]),
    "hardstore_metrics_refused": (R, [STORE, P(c_uint64)]),
    "hardstore_options_set_metrics_max_series": (R, [OPTS, Z]),
    # Rate limits
    "hardstore_options_set_rate_limits": (R, [OPTS, c_uint64, c_uint64]),
    "hardstore_rate_limit_define": (R, [STORE, S, Z, S, Z, RLIMIT]),
    "hardstore_rate_limit_remove": (R, [STORE, S, Z, S, Z, P(c_uint64)]),
    "hardstore_rate_limit_get": (R, [STORE, S, Z, S, Z, P(c_bool), RLIMIT]),
    "hardstore_rate_limit_check": (R, [STORE, S, Z, S, Z, S, Z, c_uint64, RDECISION]),
    "hardstore_limiter_new": (R, [STORE, S, Z, S, Z, P(LIMITER)]),
    "hardstore_limiter_check": (R, [LIMITER, S, Z, c_uint64, RDECISION]),
    "hardstore_limiter_free": (None, [LIMITER]),
    "hardstore_rate_limit_stats": (R, [STORE, S, Z, S, Z, P(st.hardstore_rate_limit_keys)]),
    "hardstore_rate_limit_flush": (R, [STORE, P(c_uint64)]),
    "hardstore_rate_limit_list": (R, [STORE, P(RLIST)]),
    "hardstore_rate_limit_list_len": (Z, [RLIST]),
    "hardstore_rate_limit_list_get": (R, [RLIST, Z, PU8P, P(Z), PU8P, P(Z), RLIMIT]),
    "hardstore_rate_limit_list_free": (None, [RLIST]),
    # Restore points
    "hardstore_options_set_max_restore_points": (R, [OPTS, Z]),
    "hardstore_restore_point_create": (R, [STORE, S, Z, P(st.hardstore_restore_point_info)]),
    "hardstore_restore_point_list": (R, [STORE, P(c_uint64), Z, P(Z)]),
    "hardstore_restore_point_get": (
        R,
        [STORE, c_uint64, P(c_bool), P(st.hardstore_restore_point_info)],
    ),
    "hardstore_restore_point_label": (R, [STORE, c_uint64, P(BYTES)]),
    "hardstore_restore_point_delete": (R, [STORE, c_uint64, P(c_bool)]),
    "hardstore_restore_point_verify": (R, [STORE, c_uint64]),
    "hardstore_restore_point_restore": (R, [STORE, c_uint64, S, Z, P(c_uint64)]),
    "hardstore_restore_point_export": (R, [STORE, c_uint64, S, Z, P(c_uint64)]),
    "hardstore_restore_point_space": (R, [STORE, P(st.hardstore_space_report)]),
    "hardstore_settings_get": (R, [STORE, P(st.hardstore_settings)]),
    "hardstore_settings_set_log_capacity": (
        R, [STORE, S, Z, c_uint64, c_uint64, P(st.hardstore_setting_change)]),
    "hardstore_settings_set_idempotency_ttl_us": (
        R, [STORE, S, Z, c_uint64, P(st.hardstore_setting_change)]),
    "hardstore_settings_set_dead_letter_policy": (
        R, [STORE, S, Z, P(st.hardstore_retry_policy), P(st.hardstore_setting_change)]),
    "hardstore_settings_set_dead_letter_purge_after_us": (
        R, [STORE, S, Z, c_uint64, P(st.hardstore_setting_change)]),
    "hardstore_settings_set_max_restore_points": (
        R, [STORE, S, Z, c_uint64, P(st.hardstore_setting_change)]),
    "hardstore_settings_set_backup_retention": (
        R, [STORE, S, Z, P(st.hardstore_retention), P(st.hardstore_setting_change)]),
    "hardstore_settings_set_backup_schedule": (
        R, [STORE, S, Z, P(st.hardstore_schedule), P(st.hardstore_setting_change)]),
    # Sealed fields
    "hardstore_options_set_sealing_key": (R, [OPTS, c_uint32, S, Z]),
    "hardstore_options_set_sealing_key_callback": (
        R, [OPTS, st.hardstore_key_callback, c_void_p]),
    "hardstore_sealing_add_key": (R, [STORE, c_uint32]),
    "hardstore_sealing_set_primary": (R, [STORE, c_uint32]),
    "hardstore_sealing_disable_key": (R, [STORE, c_uint32]),
    "hardstore_sealing_enable_key": (R, [STORE, c_uint32]),
    "hardstore_sealing_destroy_key": (R, [STORE, c_uint32, c_uint64, P(c_uint64)]),
    "hardstore_sealing_seal": (R, [STORE, S, Z, S, Z, P(BYTES)]),
    "hardstore_sealing_open": (R, [STORE, S, Z, P(BYTES)]),
    "hardstore_sealing_shred": (R, [STORE, S, Z, P(c_bool)]),
    "hardstore_sealing_rewrap": (R, [STORE, c_uint64, P(st.hardstore_rewrap_report)]),
    "hardstore_sealing_key_list": (R, [STORE, P(SKEYS)]),
    "hardstore_sealing_key_list_len": (Z, [SKEYS]),
    "hardstore_sealing_key_list_get": (R, [SKEYS, Z, P(st.hardstore_sealing_key)]),
    "hardstore_sealing_key_list_free": (None, [SKEYS]),
    # The audit tree's hash, leaf bytes, signed checkpoints (C2SP)
    "hardstore_options_set_audit_hash": (R, [OPTS, c_uint32]),
    "hardstore_audit_hash": (R, [STORE, P(c_uint32)]),
    "hardstore_audit_entry_leaf_bytes": (R, [ENTRY, P(BYTES)]),
    "hardstore_verify_inclusion_with_hash": (R, [c_uint32, S, c_uint64, c_uint64, S, Z, S]),
    "hardstore_verify_consistency_with_hash": (R, [c_uint32, c_uint64, c_uint64, S, S, S, Z]),
    "hardstore_note_signer_generate": (R, [S, Z, c_bool, P(SIGNER)]),
    "hardstore_note_signer_from_skey": (R, [S, Z, P(SIGNER)]),
    "hardstore_note_signer_skey": (R, [SIGNER, P(BYTES)]),
    "hardstore_note_signer_vkey": (R, [SIGNER, P(BYTES)]),
    "hardstore_note_signer_free": (None, [SIGNER]),
    "hardstore_audit_checkpoint_sign": (R, [STORE, SIGNER, P(BYTES)]),
    "hardstore_checkpoint_note_cosign": (R, [S, Z, SIGNER, c_uint64, P(BYTES)]),
    "hardstore_checkpoint_note_verify": (
        R, [S, Z, S, Z, S, Z, Z, P(c_uint64), U8P, P(Z)]),
    "hardstore_audit_proof_bundle": (R, [STORE, c_uint64, S, Z, P(BYTES)]),
    "hardstore_proof_bundle_verify": (
        R, [S, Z, S, Z, S, Z, Z, c_uint32, P(c_uint64), P(BYTES)]),
    # Replication
    "hardstore_store_replicate": (R, [STORE, S, Z, c_uint64]),
    "hardstore_store_replication_status": (R, [STORE, P(st.hardstore_replication_status)]),
    "hardstore_replication_last_error": (R, [STORE, P(BYTES)]),
    "hardstore_store_wait_replicated": (R, [STORE, c_uint64, P(c_bool)]),
    "hardstore_replica_restore": (
        R, [S, Z, S, Z, c_uint32, c_uint64, OPTS, P(st.hardstore_replica_restore_info)]),
    # Webhook outbox
    "hardstore_webhook_secret_generate": (R, [P(BYTES)]),
    "hardstore_webhook_endpoint_put": (R, [STORE, S, Z, S, Z, S, Z, P(c_char_p), P(Z), Z]),
    "hardstore_webhook_endpoint_get": (
        R, [STORE, S, Z, S, Z, P(c_bool), P(st.hardstore_webhook_endpoint)]),
    "hardstore_webhook_endpoint_enable": (R, [STORE, S, Z, S, Z]),
    "hardstore_webhook_endpoint_remove": (R, [STORE, S, Z, S, Z, c_uint64, P(c_uint64)]),
    "hardstore_webhook_enqueue": (R, [STORE, S, Z, S, Z, S, Z, S, Z, c_uint32, P(c_uint64)]),
    "hardstore_webhook_claim": (R, [STORE, Z, c_uint64, P(WHCLAIM)]),
    "hardstore_webhook_claim_len": (Z, [WHCLAIM]),
    "hardstore_webhook_delivery_get": (R, [WHCLAIM, Z, P(st.hardstore_webhook_delivery)]),
    "hardstore_webhook_ack": (R, [STORE, WHCLAIM, Z]),
    "hardstore_webhook_fail": (
        R, [STORE, WHCLAIM, Z, S, Z, P(st.hardstore_webhook_fail_outcome)]),
    "hardstore_webhook_claim_free": (None, [WHCLAIM]),
    "hardstore_webhook_verify": (
        R, [P(c_char_p), P(Z), Z, S, Z, S, Z, S, Z, S, Z, c_uint64, c_uint64]),
    "hardstore_webhook_counts": (R, [STORE, P(c_uint64), P(c_uint64)]),
    # Options and the store
    "hardstore_options_new": (R, [P(OPTS)]),
    "hardstore_options_set_flush_interval_ms": (R, [OPTS, c_uint64]),
    "hardstore_options_set_max_batch": (R, [OPTS, Z]),
    "hardstore_options_set_audit_key": (R, [OPTS, S, Z]),
    "hardstore_options_set_log_capacity": (R, [OPTS, c_uint64]),
    "hardstore_options_set_redact_logs": (R, [OPTS, c_bool]),
    "hardstore_options_free": (None, [OPTS]),
    "hardstore_store_open": (R, [S, Z, OPTS, P(STORE)]),
    "hardstore_store_flush": (R, [STORE]),
    "hardstore_store_id": (R, [STORE, U8P]),
    "hardstore_store_close": (R, [STORE]),
    # Transactions and app state
    "hardstore_tx_begin": (R, [STORE, c_uint32, P(TX)]),
    "hardstore_tx_kv_put": (R, [TX, S, Z, S, Z, S, Z]),
    "hardstore_tx_kv_put_sealed": (R, [TX, S, Z, S, Z, S, Z, S, Z]),
    "hardstore_tx_kv_delete": (R, [TX, S, Z, S, Z]),
    "hardstore_tx_audit_append": (R, [TX, EVENT, P(Z)]),
    "hardstore_tx_idem_complete": (R, [TX, TOKEN, c_bool, c_uint16, S, Z]),
    "hardstore_tx_idem_fail": (R, [TX, TOKEN, c_bool, c_uint16, S, Z]),
    "hardstore_tx_idem_release": (R, [TX, TOKEN]),
    "hardstore_tx_idem_save_recovery": (R, [TX, TOKEN, S, Z, S, Z]),
    "hardstore_tx_dlq_ack": (R, [TX, CLAIM]),
    "hardstore_tx_dlq_fail": (R, [TX, CLAIM, S, Z, c_bool]),
    "hardstore_tx_commit": (R, [TX]),
    "hardstore_tx_audit_seq": (R, [TX, Z, P(c_uint64)]),
    "hardstore_tx_dlq_record": (
        R,
        [TX, S, Z, S, Z, S, Z, S, Z, c_uint32, c_uint64, c_bool, P(Z)],
    ),
    "hardstore_tx_dead_letter_id": (R, [TX, Z, P(c_uint64)]),
    "hardstore_tx_outbox_enqueue": (R, [TX, S, Z, S, Z, S, Z, S, Z]),
    "hardstore_tx_free": (None, [TX]),
    "hardstore_kv_put": (R, [STORE, S, Z, S, Z, S, Z, c_uint32]),
    "hardstore_kv_delete": (R, [STORE, S, Z, S, Z, c_uint32, P(c_bool)]),
    "hardstore_kv_get": (R, [STORE, S, Z, S, Z, P(c_bool), P(BYTES)]),
}

#: Functions in the header that a given build may lack; bound when present.
OPTIONAL: Dict[str, Tuple[Any, List[Any]]] = {
    "hardstore_test_force_panic": (R, []),
}


# --- Loading --------------------------------------------------------------------------


def last_error_message() -> str:
    """This thread's last error message from the library ("" when there is none)."""
    fn = lib.hardstore_last_error_message
    n = c_size_t(0)
    size = 512
    for _ in range(4):
        buf = ctypes.create_string_buffer(size)
        rc = fn(buf, size, ctypes.byref(n))
        if rc == Result.OK:
            return buf.raw[: n.value].decode("utf-8", "replace")
        if rc != Result.BUFFER_TOO_SMALL:
            return ""
        size = max(n.value, size * 2)
    return ""


def _errcheck(result: int, func: Any, args: Tuple[Any, ...]) -> int:
    if result != Result.OK:
        raise make_error(result, last_error_message(), func.__name__)
    return result


def _bind(dll: ctypes.CDLL, name: str, restype: Any, argtypes: Sequence[Any]) -> None:
    fn = getattr(dll, name)
    if restype is R:
        fn.restype = c_uint32
        fn.errcheck = _errcheck
    else:
        fn.restype = restype
    fn.argtypes = list(argtypes)


def load(path: Optional[Path] = None) -> ctypes.CDLL:
    """Loads the library (found with :func:`find_library` unless given) and declares
    every function's signature."""
    path = path or find_library()
    try:
        dll = ctypes.CDLL(str(path))
    except OSError as e:
        raise ImportError(f"cannot load {path}: {e} (set {ENV_VAR} to a working build)") from e
    missing = [name for name in SIGNATURES if not hasattr(dll, name)]
    if missing:
        raise ImportError(
            f"{path} lacks {len(missing)} function(s) this binding needs "
            f"(first: {missing[0]}); rebuild it from the same checkout"
        )
    for name, (restype, argtypes) in SIGNATURES.items():
        _bind(dll, name, restype, argtypes)
    for name, (restype, argtypes) in OPTIONAL.items():
        if hasattr(dll, name):
            _bind(dll, name, restype, argtypes)
    return dll


LIBRARY_PATH: Path = find_library()
lib: Any = load(LIBRARY_PATH)


def has(name: str) -> bool:
    """Whether the loaded library exports ``name`` (for the optional functions)."""
    return hasattr(lib, name)


# --- Helpers shared by the area modules ------------------------------------------------


def to_bytes(value: Any, what: str = "value") -> bytes:
    """Bytes for a byte argument: ``bytes``, ``bytearray``, ``memoryview`` or ``str``
    (encoded as UTF-8)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes or str, not {type(value).__name__}")


def to_text(value: Any, what: str = "value") -> bytes:
    """Bytes for a UTF-8 string argument. ``str`` is encoded; ``bytes`` pass through
    unchanged (so the library, not Python, judges their UTF-8)."""
    if value is None:
        return b""
    return to_bytes(value, what)


def to_path(value: Any) -> bytes:
    """The UTF-8 bytes of a path (``str``, ``bytes`` or ``os.PathLike``)."""
    fs = os.fspath(value)
    if isinstance(fs, bytes):
        return fs
    return str(fs).encode("utf-8", "surrogateescape")


def fixed(value: Any, length: int, what: str) -> bytes:
    """Bytes of exactly ``length`` (a hash, a key), else :class:`InvalidArgument`."""
    from .errors import InvalidArgument

    data = to_bytes(value, what)
    if len(data) != length:
        raise InvalidArgument(
            Result.INVALID_ARGUMENT, f"{what} must be {length} bytes, not {len(data)}", None
        )
    return data


def to_u64(value: Any, what: str) -> int:
    """An unsigned 64-bit integer argument, else :class:`InvalidArgument` (ctypes would
    wrap a negative or too large number silently); ``TypeError`` for a non-integer."""
    from .errors import InvalidArgument

    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None
    if not 0 <= n <= UINT64_MAX:
        raise InvalidArgument(
            Result.INVALID_ARGUMENT, f"{what} must be 0 to 2**64-1, not {n}", None
        )
    return n


def borrowed(ptr: Any, n: int) -> bytes:
    """A copy of ``n`` bytes at a borrowed pointer."""
    if n == 0 or not ptr:
        return b""
    return ctypes.string_at(ptr, n)


def borrowed_field(fn: Callable[..., int], handle: Any, field: int) -> bytes:
    """Copies a (pointer, length) field out through ``fn(handle, field, &ptr, &len)``."""
    ptr = st.u8p()
    n = c_size_t(0)
    fn(handle, field, ctypes.byref(ptr), ctypes.byref(n))
    return borrowed(ptr, n.value)


def take_bytes(handle: Any) -> Optional[bytes]:
    """Copies a library-allocated ``hardstore_bytes`` out and frees it (``None`` for NULL)."""
    if not handle:
        return None
    try:
        n = lib.hardstore_bytes_len(handle)
        buf = (ctypes.c_uint8 * max(n, 1))()
        written = c_size_t(0)
        lib.hardstore_bytes_copy(handle, buf, n, ctypes.byref(written))
        return bytes(buf)[: written.value]
    finally:
        lib.hardstore_bytes_free(handle)


def view_bytes(handle: Any) -> bytes:
    """Copies a ``hardstore_bytes`` out through its data pointer (not freeing it)."""
    if not handle:
        return b""
    return borrowed(lib.hardstore_bytes_data(handle), lib.hardstore_bytes_len(handle))


def u64_max_if_none(value: Optional[int]) -> int:
    """``UINT64_MAX`` for an open upper bound."""
    return 0xFFFF_FFFF_FFFF_FFFF if value is None else int(value)


UINT64_MAX = 0xFFFF_FFFF_FFFF_FFFF
