#!/usr/bin/env python3
"""Generates tests/hostile/hostile.c, a hostile-input test of hardstore's C ABI.

Usage: python3 tests/hostile/gen_hostile.py [HEADER [OUTPUT]]
       (defaults: include/hardstore.h and tests/hostile/hostile.c, next to this script)

The generator parses every prototype of the header and, for each function, emits calls
that pass one hostile argument at a time while every other argument is valid (real
handles made by the library, real out-buffers, valid strings):

  * every pointer argument NULL (a ptr+len input as NULL with a nonzero length);
  * every text input as invalid UTF-8 ("\\xff\\xfe");
  * every ptr+len input with a length of SIZE_MAX and of PTRDIFF_MAX + 1 (just past
    isize::MAX) over a 4-byte heap buffer, and NULL with SIZE_MAX;
  * the path arrays of the chain functions with a NULL element, a non-UTF-8 element, an
    element length of SIZE_MAX, and a count of 0 and of SIZE_MAX;
  * out-buffers with their capacity NULL and SIZE_MAX;
  * required inputs empty, file paths empty and with a NUL byte inside;
  * out-of-range scalars (enums, limits, indexes, ids) and bad structs (HOSTILE_VALUES);
  * every getter (returns a number or a pointer) and every _free/_stop with NULL.

It checks the documented result code of each call and that every error sets this
thread's last error message. Hand-written C (the fixture that makes the valid handles,
the panic boundary, a hostile retry callback, use-after-close through clones of a closed
store) sits in the templates at the end; everything per function comes from the tables
(HANDLE, SCALAR, STR, BYTES_ARGS, OPTIONAL, EMPTY, PATHS, HOSTILE_VALUES, ...). A new
function in the header whose arguments the tables cannot fill, or a pointer its comment
calls optional that OPTIONAL lacks, stops the generator with an error naming it, so the
test never silently skips a function.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------

# A valid handle of each opaque type (fields of the fixture `F`, made in setup()).
HANDLE = {
    "hardstore_store": "F.store",
    "hardstore_options": "F.opts",
    "hardstore_clock": "F.clock",
    "hardstore_audit_event": "F.event",
    "hardstore_audit_entry": "F.entry",
    "hardstore_audit_query": "F.aquery",
    "hardstore_audit_iter": "F.aiter",
    "hardstore_bytes": "F.proof",
    "hardstore_backup_records": "F.records",
    "hardstore_dlq_claims": "F.claims",
    "hardstore_dlq_claim": "F.claim",
    "hardstore_dlq_item": "F.dlq_item",
    "hardstore_dlq_query": "F.dquery",
    "hardstore_dlq_iter": "F.diter",
    "hardstore_idem_token": "F.token",
    "hardstore_idem_response": "F.response",
    "hardstore_log_record": "F.lrecord",
    "hardstore_logs_query": "F.lquery",
    "hardstore_logs_iter": "F.liter",
    "hardstore_log_entry": "F.lentry",
    "hardstore_log_stats": "F.lstats",
    "hardstore_tx": "F.tx",
}

# Per-function handle overrides: (function, parameter) -> expression.
HANDLE_OVERRIDE = {
    # These read a committed transaction; an open one would be refused for its state.
    ("hardstore_tx_audit_seq", "tx"): "F.tx_done",
    ("hardstore_tx_dead_letter_id", "tx"): "F.tx_done",
}

# Plain structs passed by pointer as inputs.
STRUCT_IN = {
    "hardstore_backup_key": "&F.bkey",
    "hardstore_retention": "&F.retention",
    "hardstore_schedule": "&F.sched",
    "hardstore_retry_policy": "&F.policy",
}

# Function pointers and user data.
FNPTR = {
    "hardstore_progress_cb": "on_progress",
    "hardstore_dlq_op": "op_ok",
}
USERPTR = {"user": "&F.progress_calls", "userdata": "&F.op_calls"}

# 32-byte hashes read by the library (no length argument).
HASH_IN = {
    ("hardstore_verify_inclusion", "leaf_hash"): "F.leaf",
    ("hardstore_verify_inclusion", "root"): "F.root",
    ("hardstore_verify_consistency", "old_root"): "F.root_old",
    ("hardstore_verify_consistency", "new_root"): "F.root",
}

# Scalars: by (function, parameter) first, then by parameter.
SCALAR_FN = {
    ("hardstore_audit_get", "seq"): "F.seq0",
    ("hardstore_audit_root", "size"): "F.size",
    ("hardstore_audit_inclusion_proof", "seq"): "F.seq0",
    ("hardstore_audit_inclusion_proof", "tree_size"): "F.size",
    ("hardstore_audit_consistency_proof", "old_size"): "1",
    ("hardstore_audit_consistency_proof", "new_size"): "F.size",
    ("hardstore_verify_inclusion", "index"): "F.seq0",
    ("hardstore_verify_inclusion", "tree_size"): "F.size",
    ("hardstore_verify_consistency", "old_size"): "1",
    ("hardstore_verify_consistency", "new_size"): "F.size",
    ("hardstore_inclusion_proof_len", "index"): "0",
    ("hardstore_inclusion_proof_len", "tree_size"): "F.size",
    ("hardstore_backup_run", "kind"): "HARDSTORE_BACKUP_FULL",
    ("hardstore_backup_chain", "id"): "F.backup_id",
    ("hardstore_dlq_redrive", "id"): "F.dlq_id",
    ("hardstore_dlq_get", "id"): "F.dlq_id",
    ("hardstore_dlq_claim_due", "limit"): "10",
    ("hardstore_dlq_claim_due", "lease_us"): "60000000u",
    ("hardstore_dlq_query_set_state", "state"): "HARDSTORE_DLQ_DEAD",
    ("hardstore_dlq_query_set_limit", "limit"): "10",
    ("hardstore_dlq_purge", "limit"): "0",
    ("hardstore_idem_purge_expired", "limit"): "10",
    ("hardstore_clock_set", "now_us"): "F.now_us",
    ("hardstore_backup_run_due", "now_us"): "F.now_us",
    ("hardstore_backup_prune", "now_us"): "F.now_us",
    ("hardstore_backup_success_rate", "since_us"): "0",
    ("hardstore_backup_schedule_start", "check_every_ms"): "1000",
    ("hardstore_backup_prune", "dry_run"): "true",
    ("hardstore_audit_query_set_limit", "limit"): "10",
    ("hardstore_logs_query_set_limit", "limit"): "10",
    ("hardstore_logs_query_set_min_level", "level"): "HARDSTORE_LEVEL_INFO",
    ("hardstore_log_record_new", "level"): "HARDSTORE_LEVEL_INFO",
    ("hardstore_restore_point_get", "id"): "F.rp_id",
    ("hardstore_restore_point_label", "id"): "F.rp_id",
    ("hardstore_restore_point_delete", "id"): "F.rp_id",
    ("hardstore_restore_point_verify", "id"): "F.rp_id",
    ("hardstore_restore_point_restore", "id"): "F.rp_id",
    ("hardstore_restore_point_export", "id"): "F.rp_id",
}
SCALAR = {
    "durability": "HARDSTORE_DURABLE",
    "field": "0",
    "index": "0",
    "i": "0",
    "from": "0",
    "until": "UINT64_MAX",
    "newest_first": "true",
    "oldest_first": "true",
    "permanent": "false",
    "has_status": "true",
    "status": "200",
    "retryable": "true",
    "redact": "true",
    "max_attempts": "0",
    "first_attempt_at": "0",
    "lease_ms": "60000",
    "start_us": "1000000",
    "us": "1",
    "millis": "100",
    "max_batch": "8",
    "capacity": "1000",
    "micros": "1000",
    "ttl_ms": "3600000",
    "max_points": "8",
    "duration_us": "5",
    "confirm_evict": "UINT64_MAX",
    "ttl_us": "3600000000u",
    "age_us": "1000000",
}

# ptr+len inputs that are bytes, not text: no UTF-8 check applies to them.
BYTES_ARGS = {
    ("hardstore_audit_prove_since", "checkpoint"),
    ("hardstore_checkpoint_parse", "checkpoint"),
    ("hardstore_checkpoint_verify_mac", "checkpoint"),
    ("hardstore_checkpoint_verify_mac", "key"),
    ("hardstore_verify_inclusion", "proof"),
    ("hardstore_verify_consistency", "proof"),
    ("hardstore_audit_query_set_cursor", "cursor"),
    ("hardstore_dlq_query_set_cursor", "cursor"),
    ("hardstore_logs_query_set_cursor", "cursor"),
    ("hardstore_options_set_audit_key", "key"),
    ("hardstore_dlq_record", "payload"),
    ("hardstore_tx_dlq_record", "payload"),
    ("hardstore_dlq_retry", "payload"),
    ("hardstore_idem_begin", "request"),
    ("hardstore_idem_complete", "body"),
    ("hardstore_idem_fail", "body"),
    ("hardstore_tx_idem_complete", "body"),
    ("hardstore_tx_idem_fail", "body"),
    ("hardstore_idem_save_recovery", "data"),
    ("hardstore_tx_idem_save_recovery", "data"),
    ("hardstore_tx_kv_put", "key"),
    ("hardstore_tx_kv_put", "value"),
    ("hardstore_tx_kv_delete", "key"),
    ("hardstore_kv_put", "key"),
    ("hardstore_kv_put", "value"),
    ("hardstore_kv_delete", "key"),
    ("hardstore_kv_get", "key"),
}

# Extra codes a bytes input may answer a length past isize::MAX with, beyond the
# generic refusal (INVALID_ARGUMENT or TOO_LONG): the function's own malformed-input code.
BYTES_HUGE_EXTRA = {
    ("hardstore_verify_inclusion", "proof"): ["HARDSTORE_PROOF_INVALID"],
    ("hardstore_verify_consistency", "proof"): ["HARDSTORE_PROOF_INVALID"],
    ("hardstore_audit_prove_since", "checkpoint"): ["HARDSTORE_CHECKPOINT_INVALID"],
    ("hardstore_checkpoint_parse", "checkpoint"): ["HARDSTORE_CHECKPOINT_INVALID"],
    ("hardstore_checkpoint_verify_mac", "checkpoint"): ["HARDSTORE_CHECKPOINT_INVALID"],
    ("hardstore_checkpoint_verify_mac", "key"): ["HARDSTORE_CHECKPOINT_INVALID"],
}

# Valid values of ptr+len inputs. ("s", C expression of a NUL-terminated string) or
# ("b", pointer expression, length expression) for binary data.
# By (function, parameter) first, then by parameter.
STR_FN = {
    ("hardstore_audit_event_set_ip", "value"): ("s", '"192.0.2.1"'),
    ("hardstore_audit_event_add_detail", "key"): ("s", '"ip"'),
    ("hardstore_audit_event_add_detail", "value"): ("s", '"x"'),
    ("hardstore_log_record_add_field", "key"): ("s", '"fk"'),
    ("hardstore_log_record_add_field", "value"): ("s", '"fv"'),
    ("hardstore_idem_begin", "key"): ("s", '"k-hostile"'),
    ("hardstore_idem_get", "key"): ("s", '"k-hostile"'),
    ("hardstore_store_open", "path"): ("s", 'fresh("open")'),
    ("hardstore_audit_export_jsonl", "path"): ("s", "F.export_path"),
    ("hardstore_backup_full", "path"): ("s", 'fresh("full")'),
    ("hardstore_backup_verify", "path"): ("s", "F.full_backup"),
    ("hardstore_backup_verify_with_key", "path"): ("s", "F.full_backup"),
    ("hardstore_restore_point_export", "path"): ("s", 'fresh("rp-export")'),
    ("hardstore_backup_restore", "backup"): ("s", "F.full_backup"),
    ("hardstore_backup_restore", "new_path"): ("s", 'fresh("restored")'),
    ("hardstore_backup_restore_chain", "new_path"): ("s", 'fresh("restored-chain")'),
    ("hardstore_checkpoint_verify_mac", "key"): ("s", "AUDIT_KEY"),
    ("hardstore_options_set_audit_key", "key"): ("s", "AUDIT_KEY"),
    ("hardstore_verify_inclusion", "proof"):
        ("b", "hardstore_bytes_data(F.proof)", "hardstore_bytes_len(F.proof)"),
    ("hardstore_verify_consistency", "proof"):
        ("b", "hardstore_bytes_data(F.cproof)", "hardstore_bytes_len(F.cproof)"),
    ("hardstore_audit_query_set_cursor", "cursor"):
        ("b", "hardstore_bytes_data(F.acursor)", "hardstore_bytes_len(F.acursor)"),
    ("hardstore_dlq_query_set_cursor", "cursor"):
        ("b", "hardstore_bytes_data(F.dcursor)", "hardstore_bytes_len(F.dcursor)"),
    ("hardstore_logs_query_set_cursor", "cursor"):
        ("b", "hardstore_bytes_data(F.lcursor)", "hardstore_bytes_len(F.lcursor)"),
}
STR = {
    "tenant": ("s", '"acme"'),
    "action": ("s", '"order.create"'),
    "actor": ("s", '"alice"'),
    "value": ("s", '"v"'),
    "key": ("s", '"k"'),
    "folder": ("s", "F.folder"),
    "label": ("s", '"rp-hostile"'),
    "kind": ("s", '"email"'),
    "payload": ("s", '"payload"'),
    "error": ("s", '"boom"'),
    "message": ("s", '"hello"'),
    "cause": ("s", '"cause"'),
    "user": ("s", '"bob"'),
    "endpoint": ("s", '"/orders"'),
    "text": ("s", '"hel"'),
    "namespace_": ("s", '"app"'),
    "name": ("s", '"step"'),
    "data": ("s", '"state"'),
    "body": ("s", '"{}"'),
    "request": ("s", '"POST /orders"'),
    "checkpoint": ("b", "hardstore_bytes_data(F.checkpoint)", "hardstore_bytes_len(F.checkpoint)"),
}

# Pointer arguments documented as optional (NULL = default / none), with the codes a
# call that passes NULL there (every other argument valid) may return.
OK = ["HARDSTORE_OK"]
OPTIONAL = {
    "hardstore_audit_append": {"out_leaf_hash": OK},
    "hardstore_backup_run": {"key": OK, "progress": OK, "user": OK},
    "hardstore_backup_verify_with_key": {"key": OK},
    "hardstore_backup_verify_chain": {"key": OK},
    "hardstore_backup_restore": {"options": OK},
    "hardstore_backup_restore_chain": {"options": OK, "key": OK},
    "hardstore_backup_prune": {"policy": OK},
    "hardstore_backup_run_due": {"sched": OK, "key": OK, "progress": OK, "user": OK},
    "hardstore_backup_schedule_start": {"sched": OK, "key": OK},
    "hardstore_dlq_retry": {"policy": OK, "userdata": OK},
    "hardstore_store_open": {"options": OK},
    "hardstore_store_close": {"store": OK},
}

IA = ["HARDSTORE_INVALID_ARGUMENT"]
NF = ["HARDSTORE_NOT_FOUND"]
PI = ["HARDSTORE_PROOF_INVALID"]
CI = ["HARDSTORE_CHECKPOINT_INVALID"]

# ptr+len inputs that must not be empty: (NULL, 0), the empty string, and its answer.
# From the header: "1..=N bytes", "(required)", a checkpoint's or proof's fixed length.
EMPTY = {
    ("hardstore_audit_event_new", "tenant"): IA,
    ("hardstore_audit_event_new", "action"): IA,
    ("hardstore_audit_event_add_detail", "key"): IA,
    ("hardstore_audit_query_new", "tenant"): IA,
    ("hardstore_audit_query_set_cursor", "cursor"): IA,
    ("hardstore_dlq_query_set_cursor", "cursor"): IA,
    ("hardstore_logs_query_set_cursor", "cursor"): IA,
    ("hardstore_verify_inclusion", "proof"): PI,
    ("hardstore_verify_consistency", "proof"): PI,
    ("hardstore_audit_prove_since", "checkpoint"): CI,
    ("hardstore_checkpoint_parse", "checkpoint"): CI,
    ("hardstore_checkpoint_verify_mac", "checkpoint"): CI,
    ("hardstore_dlq_record", "kind"): IA,
    ("hardstore_tx_dlq_record", "kind"): IA,
    ("hardstore_dlq_retry", "kind"): IA,
    ("hardstore_idem_begin", "tenant"): IA,
    ("hardstore_idem_begin", "key"): IA,
    ("hardstore_idem_get", "tenant"): IA,
    ("hardstore_idem_get", "key"): IA,
    ("hardstore_log_record_add_field", "key"): IA,
    ("hardstore_restore_point_create", "label"): IA,
    ("hardstore_options_set_audit_key", "key"): IA,
    ("hardstore_tx_kv_put", "namespace_"): IA,
    ("hardstore_tx_kv_put", "key"): IA,
    ("hardstore_tx_kv_delete", "namespace_"): IA,
    ("hardstore_tx_kv_delete", "key"): IA,
    ("hardstore_kv_put", "namespace_"): IA,
    ("hardstore_kv_put", "key"): IA,
    ("hardstore_kv_delete", "namespace_"): IA,
    ("hardstore_kv_delete", "key"): IA,
    ("hardstore_kv_get", "namespace_"): IA,
    ("hardstore_kv_get", "key"): IA,
}

# File and folder paths: also tried empty and with a NUL byte inside ("DIR/a\0b"); any
# refusal is accepted (see README: the functions differ in which one they give).
PATH_REFUSED = ["HARDSTORE_INVALID_ARGUMENT", "HARDSTORE_IO", "HARDSTORE_NOT_FOUND"]
# hardstore_backup_run_due uses its folder only when a backup is due (none is, here).
PATH_EXTRA = {("hardstore_backup_run_due", "folder"): OK}
PATHS = {
    ("hardstore_store_open", "path"),
    ("hardstore_audit_export_jsonl", "path"),
    ("hardstore_backup_full", "path"),
    ("hardstore_backup_run", "folder"),
    ("hardstore_backup_verify", "path"),
    ("hardstore_backup_verify_with_key", "path"),
    ("hardstore_backup_restore", "backup"),
    ("hardstore_backup_restore", "new_path"),
    ("hardstore_backup_restore_chain", "new_path"),
    ("hardstore_backup_run_due", "folder"),
    ("hardstore_backup_schedule_start", "folder"),
    ("hardstore_restore_point_export", "path"),
}

# Out-of-range scalars and bad structs: (function, parameter, value, expected codes).
# Each call passes that one value and valid values for everything else.
HOSTILE_VALUES = [
    ("hardstore_settings_set_log_capacity", "capacity", "0", IA),
    ("hardstore_settings_set_idempotency_ttl_us", "ttl_us", "0", IA),
    ("hardstore_settings_set_max_restore_points", "max_points", "0", IA),
    ("hardstore_settings_set_max_restore_points", "max_points", "UINT64_MAX", IA),
    ("hardstore_audit_append", "durability", "2", IA),
    ("hardstore_audit_append", "durability", "UINT32_MAX", IA),
    ("hardstore_logs_append", "durability", "2", IA),
    ("hardstore_dlq_record", "durability", "2", IA),
    ("hardstore_tx_begin", "durability", "2", IA),
    ("hardstore_kv_put", "durability", "2", IA),
    ("hardstore_kv_delete", "durability", "2", IA),
    ("hardstore_audit_get", "seq", "UINT64_MAX", NF),
    ("hardstore_audit_entry_field", "field", "7", IA),
    ("hardstore_audit_entry_field", "field", "UINT32_MAX", IA),
    ("hardstore_audit_entry_detail", "index", "SIZE_MAX", NF),
    ("hardstore_audit_root", "size", "UINT64_MAX", IA),
    ("hardstore_audit_inclusion_proof", "seq", "UINT64_MAX", IA),
    ("hardstore_audit_inclusion_proof", "tree_size", "UINT64_MAX", IA),
    ("hardstore_audit_consistency_proof", "old_size", "UINT64_MAX", IA),
    ("hardstore_audit_consistency_proof", "new_size", "UINT64_MAX", IA),
    ("hardstore_verify_inclusion", "index", "UINT64_MAX", PI),
    ("hardstore_verify_inclusion", "tree_size", "UINT64_MAX", PI),
    ("hardstore_verify_inclusion", "tree_size", "0", PI),
    ("hardstore_verify_consistency", "old_size", "UINT64_MAX", PI),
    ("hardstore_verify_consistency", "new_size", "UINT64_MAX", PI),
    ("hardstore_inclusion_proof_len", "index", "UINT64_MAX", IA),
    ("hardstore_inclusion_proof_len", "tree_size", "0", IA),
    ("hardstore_audit_query_set_limit", "limit", "0", IA),
    ("hardstore_audit_query_set_limit", "limit", "10001", IA),
    ("hardstore_audit_query_set_limit", "limit", "SIZE_MAX", IA),
    ("hardstore_backup_run", "kind", "0", IA),
    ("hardstore_backup_run", "kind", "4", IA),
    ("hardstore_backup_run", "kind", "UINT32_MAX", IA),
    ("hardstore_backup_chain", "id", "UINT64_MAX", NF),
    ("hardstore_backup_records_get", "i", "SIZE_MAX", NF),
    ("hardstore_backup_run_due", "sched", "&F.bad_sched", IA),
    ("hardstore_backup_schedule_start", "sched", "&F.bad_sched", IA),
    ("hardstore_backup_schedule_start", "check_every_ms", "0", IA),
    ("hardstore_options_set_dlq_policy", "policy", "&F.bad_policy[0]", IA),
    ("hardstore_options_set_dlq_policy", "policy", "&F.bad_policy[1]", IA),
    ("hardstore_options_set_dlq_policy", "policy", "&F.bad_policy[2]", IA),
    ("hardstore_options_set_dlq_policy", "policy", "&F.bad_policy[3]", IA),
    ("hardstore_options_set_dlq_policy", "policy", "&F.bad_policy[4]", IA),
    ("hardstore_dlq_retry", "policy", "&F.bad_policy[0]", IA),
    ("hardstore_dlq_retry", "policy", "&F.bad_policy[3]", IA),
    ("hardstore_dlq_record", "max_attempts", "1001", IA),
    ("hardstore_dlq_record", "max_attempts", "UINT32_MAX", IA),
    ("hardstore_tx_dlq_record", "max_attempts", "1001", IA),
    ("hardstore_dlq_claim_due", "limit", "0", IA),
    ("hardstore_dlq_claim_due", "limit", "10001", IA),
    ("hardstore_dlq_claim_due", "limit", "SIZE_MAX", IA),
    ("hardstore_dlq_claim_due", "lease_us", "0", IA),
    ("hardstore_dlq_claims_get", "index", "SIZE_MAX", NF),
    ("hardstore_dlq_claim_field", "field", "HARDSTORE_DLQ_LAST_ERROR", IA),
    ("hardstore_dlq_claim_field", "field", "UINT32_MAX", IA),
    ("hardstore_dlq_redrive", "id", "UINT64_MAX", NF),
    ("hardstore_dlq_get", "id", "UINT64_MAX", NF),
    ("hardstore_dlq_item_field", "field", "4", IA),
    ("hardstore_dlq_item_history", "index", "SIZE_MAX", NF),
    ("hardstore_dlq_query_set_state", "state", "4", IA),
    ("hardstore_dlq_query_set_state", "state", "UINT32_MAX", IA),
    ("hardstore_dlq_query_set_limit", "limit", "0", IA),
    ("hardstore_dlq_query_set_limit", "limit", "10001", IA),
    ("hardstore_idem_begin", "lease_ms", "0", IA),
    ("hardstore_idem_renew", "lease_ms", "0", IA),
    ("hardstore_options_set_idempotency_ttl_ms", "ttl_ms", "0", IA),
    ("hardstore_log_record_new", "level", "6", IA),
    ("hardstore_log_record_new", "level", "UINT32_MAX", IA),
    ("hardstore_logs_query_set_min_level", "level", "6", IA),
    ("hardstore_logs_query_set_limit", "limit", "0", IA),
    ("hardstore_logs_query_set_limit", "limit", "10001", IA),
    ("hardstore_log_entry_field", "field", "6", IA),
    ("hardstore_log_entry_cause", "index", "SIZE_MAX", NF),
    ("hardstore_log_entry_kv", "index", "SIZE_MAX", NF),
    ("hardstore_log_stats_endpoint", "index", "SIZE_MAX", NF),
    ("hardstore_options_set_max_batch", "max_batch", "0", IA),
    ("hardstore_options_set_log_capacity", "capacity", "0", IA),
    ("hardstore_options_set_max_restore_points", "max_points", "0", IA),
    ("hardstore_restore_point_get", "id", "UINT64_MAX", OK),
    ("hardstore_restore_point_label", "id", "UINT64_MAX", NF),
    ("hardstore_restore_point_delete", "id", "UINT64_MAX", OK),
    ("hardstore_restore_point_verify", "id", "UINT64_MAX", NF),
    ("hardstore_restore_point_restore", "id", "UINT64_MAX", NF),
    ("hardstore_restore_point_export", "id", "UINT64_MAX", NF),
    ("hardstore_tx_audit_seq", "index", "SIZE_MAX", NF),
    ("hardstore_tx_dead_letter_id", "index", "SIZE_MAX", NF),
]

# Out-buffers given as (pointer, capacity): the buffer declared for the valid call.
OUTBUF = {
    ("hardstore_last_error_message", "buf"): ("char", 4096),
    ("hardstore_bytes_copy", "buf"): ("uint8_t", 4096),
    ("hardstore_restore_point_list", "ids"): ("uint64_t", 64),
}

# Non-text, fixed-size outputs written through a `uint8_t *` (32 bytes or less).
FIXED_OUT_BYTES = 64

# Functions without pointer arguments, checked by the hand-written C below.
NO_POINTER_BY_HAND = {"hardstore_result_name", "hardstore_test_force_panic", "hardstore_version"}

# Functions that do not set the last error message (documented: they read it).
NO_MESSAGE = {"hardstore_last_error_message"}

# Functions whose NULL-argument calls return a number or pointer: the documented value.
GETTER_NULL = {"const uint8_t *": "NULL", "const char *": "NULL"}

# --------------------------------------------------------------------------------------
# Header parsing
# --------------------------------------------------------------------------------------


class Param:
    def __init__(self, text):
        text = " ".join(text.split())
        m = re.match(r"^(.*?)(\w+)$", text)
        if not m:
            raise SystemExit(f"cannot parse parameter {text!r}")
        self.type = m.group(1).strip()
        self.name = m.group(2)
        self.text = text

    @property
    def is_pointer(self):
        return "*" in self.type or self.type in FNPTR or self.type == "void *"


class Func:
    def __init__(self, ret, name, params, doc):
        self.ret = " ".join(ret.split())
        self.name = name
        self.params = params
        self.doc = doc


def parse_header(path):
    text = open(path, encoding="utf-8").read()
    opaque = set(re.findall(r"typedef struct (hardstore_\w+) \1;", text))
    body = text[text.index('extern "C" {'):]
    funcs = []
    for m in re.finditer(
        r"/\*((?:(?!\*/).)*)\*/\s*\n([A-Za-z][^;{}()]*?)\b(hardstore_\w+)\s*\(([^;]*?)\);",
        body,
        re.S,
    ):
        doc, ret, name, params = m.group(1), m.group(2), m.group(3), m.group(4)
        doc = " ".join(doc.split())
        params = params.strip()
        plist = [] if params in ("", "void") else [Param(p) for p in params.split(",")]
        funcs.append(Func(ret, name, plist, doc))
    return funcs, opaque


def free_fns(funcs):
    """Maps each opaque type to the function that frees (or closes, or stops) it."""
    out = {}
    for f in funcs:
        if len(f.params) == 1 and re.search(r"_(free|close|stop)$", f.name):
            m = re.match(r"^struct (hardstore_\w+) \*$", f.params[0].type)
            if m:
                out[m.group(1)] = f.name
    return out


# --------------------------------------------------------------------------------------
# Argument slots: one or more parameters filled together
# --------------------------------------------------------------------------------------


class Slot:
    """kind: handle, struct_in, fnptr, userptr, hash_in, out_fixed, out_handle,
    out_borrowed, out_ptr, out_struct, out_scalar, scalar, pair, outbuf, paths."""

    def __init__(self, kind, params, **kw):
        self.kind = kind
        self.params = params
        self.__dict__.update(kw)

    @property
    def name(self):
        return self.params[0].name


def classify(f, opaque):
    slots = []
    ps = f.params
    i = 0
    while i < len(ps):
        p = ps[i]
        nxt = ps[i + 1] if i + 1 < len(ps) else None
        t = p.type
        if t == "const uint8_t *const *":
            lens, n = ps[i + 1], ps[i + 2]
            assert lens.type == "const size_t *" and n.name == "n", f.name
            slots.append(Slot("paths", [p, lens, n]))
            i += 3
            continue
        if (
            t == "const uint8_t *"
            and nxt is not None
            and nxt.type == "size_t"
            and nxt.name in (p.name + "_len", p.name.rstrip("_") + "_len")
        ):
            cls = "bytes" if (f.name, p.name) in BYTES_ARGS else "text"
            slots.append(Slot("pair", [p, nxt], cls=cls))
            i += 2
            continue
        if (f.name, p.name) in OUTBUF:
            assert nxt is not None and nxt.type == "size_t", f.name
            ctype, cap = OUTBUF[(f.name, p.name)]
            slots.append(Slot("outbuf", [p, nxt], ctype=ctype, cap=cap))
            i += 2
            continue
        i += 1
        m_out_handle = re.match(r"^struct (hardstore_\w+) \*\*$", t)
        m_out_borrowed = re.match(r"^const struct (hardstore_\w+) \*\*$", t)
        m_in = re.match(r"^(?:const )?struct (hardstore_\w+) \*$", t)
        if m_out_handle:
            slots.append(Slot("out_handle", [p], ctype=m_out_handle.group(1)))
        elif m_out_borrowed:
            slots.append(Slot("out_borrowed", [p], ctype=m_out_borrowed.group(1)))
        elif t == "const uint8_t **":
            slots.append(Slot("out_ptr", [p]))
        elif m_in and m_in.group(1) in opaque:
            ty = m_in.group(1)
            expr = HANDLE_OVERRIDE.get((f.name, p.name), HANDLE.get(ty))
            if ty == "hardstore_options" and f.name.startswith("hardstore_options_set_"):
                # Setters get options of their own, so that a value they accept by
                # mistake cannot break the options the fixture opens stores with.
                expr = "F.opts_scratch"
            if expr is None:
                raise SystemExit(f"{f.name}: no valid handle of type {ty} in HANDLE")
            slots.append(Slot("handle", [p], expr=expr, ctype=ty))
        elif m_in and t.startswith("const ") and m_in.group(1) in STRUCT_IN:
            slots.append(Slot("struct_in", [p], expr=STRUCT_IN[m_in.group(1)]))
        elif m_in and not t.startswith("const "):
            slots.append(Slot("out_struct", [p], ctype="struct " + m_in.group(1)))
        elif t in FNPTR:
            slots.append(Slot("fnptr", [p], expr=FNPTR[t]))
        elif t == "void *":
            if p.name not in USERPTR:
                raise SystemExit(f"{f.name}: no user pointer for {p.name}")
            slots.append(Slot("userptr", [p], expr=USERPTR[p.name]))
        elif t == "const uint8_t *":
            expr = HASH_IN.get((f.name, p.name))
            if expr is None:
                raise SystemExit(f"{f.name}: unknown input pointer {p.name} (add to HASH_IN)")
            slots.append(Slot("hash_in", [p], expr=expr))
        elif t == "uint8_t *":
            slots.append(Slot("out_fixed", [p]))
        elif t.endswith("*"):
            base = t[:-1].strip()
            if base.startswith("const"):
                raise SystemExit(f"{f.name}: unknown const pointer {p.text}")
            slots.append(Slot("out_scalar", [p], ctype=base))
        else:
            expr = SCALAR_FN.get((f.name, p.name), SCALAR.get(p.name))
            if expr is None:
                raise SystemExit(f"{f.name}: no value for scalar {p.text} (add to SCALAR)")
            slots.append(Slot("scalar", [p], expr=expr))
    return slots


# --------------------------------------------------------------------------------------
# Code generation
# --------------------------------------------------------------------------------------


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Case:
    """One call: which slot is hostile, how, and what is expected."""

    def __init__(self, slot, variant, expected, what):
        self.slot = slot
        self.variant = variant
        self.expected = expected
        self.what = what


NULLARG = ["HARDSTORE_NULL_ARGUMENT"]
UTF8 = ["HARDSTORE_INVALID_UTF8"]
TOOLONG = ["HARDSTORE_TOO_LONG"]
REFUSED = ["HARDSTORE_INVALID_ARGUMENT", "HARDSTORE_TOO_LONG"]
REFUSED_NULL = ["HARDSTORE_NULL_ARGUMENT", "HARDSTORE_INVALID_ARGUMENT", "HARDSTORE_TOO_LONG"]
CAPACITY_HUGE = ["HARDSTORE_OK", "HARDSTORE_INVALID_ARGUMENT"]


def cases_for(f, slots):
    out = []
    opt = OPTIONAL.get(f.name, {})
    for s in slots:
        if s.kind == "scalar":
            continue
        if s.kind == "pair":
            p = s.params[0]
            out.append(Case(s, "null", NULLARG, f"{p.name}=NULL,{s.params[1].name}=4"))
            if s.cls == "text":
                out.append(Case(s, "utf8", UTF8, f'{p.name}="\\xff\\xfe"'))
                out.append(Case(s, "huge", TOOLONG, f"{s.params[1].name}=SIZE_MAX"))
                out.append(Case(s, "isize", TOOLONG, f"{s.params[1].name}=PTRDIFF_MAX+1"))
            else:
                extra = BYTES_HUGE_EXTRA.get((f.name, p.name), [])
                out.append(Case(s, "huge", REFUSED + extra, f"{s.params[1].name}=SIZE_MAX"))
                out.append(Case(s, "isize", REFUSED + extra, f"{s.params[1].name}=PTRDIFF_MAX+1"))
            out.append(Case(s, "null_huge", REFUSED_NULL,
                            f"{p.name}=NULL,{s.params[1].name}=SIZE_MAX"))
            if (f.name, p.name) in EMPTY:
                out.append(Case(s, "empty", EMPTY[(f.name, p.name)], f"{p.name}=NULL,len=0"))
            if (f.name, p.name) in PATHS:
                refused = PATH_REFUSED + PATH_EXTRA.get((f.name, p.name), [])
                out.append(Case(s, "path_empty", refused, f"{p.name}=NULL,len=0"))
                out.append(Case(s, "nul", refused, f'{p.name}="DIR/a\\0b"'))
            continue
        if s.kind == "outbuf":
            p, cap = s.params
            out.append(Case(s, "null", NULLARG, f"{p.name}=NULL,{cap.name}={s.cap}"))
            out.append(Case(s, "huge", CAPACITY_HUGE, f"{cap.name}=SIZE_MAX"))
            continue
        if s.kind == "paths":
            paths, lens, n = s.params
            out.append(Case(s, "null_paths", NULLARG, "paths=NULL"))
            out.append(Case(s, "null_lens", NULLARG, "path_lens=NULL"))
            out.append(Case(s, "null_elem", NULLARG, "paths[0]=NULL,path_lens[0]=4"))
            out.append(Case(s, "utf8_elem", UTF8, 'paths[0]="\\xff\\xfe"'))
            out.append(Case(s, "huge_elem", TOOLONG, "path_lens[0]=SIZE_MAX"))
            out.append(Case(s, "zero_n", ["HARDSTORE_INVALID_ARGUMENT"], "n=0"))
            out.append(Case(s, "huge_n", REFUSED, "n=SIZE_MAX"))
            continue
        name = s.name
        if name in opt:
            out.append(Case(s, "null", opt[name], f"{name}=NULL (optional)"))
        else:
            out.append(Case(s, "null", NULLARG, f"{name}=NULL"))
    for fn, pname, value, expected in HOSTILE_VALUES:
        if fn != f.name:
            continue
        slot = next((s for s in slots if s.name == pname), None)
        if slot is None or slot.kind not in ("scalar", "struct_in"):
            raise SystemExit(f"HOSTILE_VALUES: {fn} has no scalar or struct {pname}")
        c = Case(slot, "value", expected, f"{pname}={value}")
        c.value = value
        out.append(c)
    for name in opt:
        if not any(s.name == name for s in slots):
            raise SystemExit(f"OPTIONAL names {f.name}.{name}, which it does not have")
    return out


def gen_call(f, slots, case, free_of):
    """Returns C lines for one checked call."""
    decls, args, post = [], [], []
    for k, s in enumerate(slots):
        hostile = case is not None and s is case.slot
        v = case.variant if hostile else None
        p = s.params[0]
        var = f"a{k}"
        if v == "value":
            args.append(case.value)
        elif s.kind == "scalar":
            args.append(s.expr)
        elif v == "null" and s.kind.startswith("out_"):
            args.append("NULL")
        elif s.kind in ("handle", "struct_in", "fnptr", "userptr", "hash_in"):
            args.append("NULL" if v == "null" else s.expr)
        elif s.kind == "out_fixed":
            decls.append(f"uint8_t {var}[{FIXED_OUT_BYTES}];")
            decls.append(f"memset({var}, 0, sizeof {var});")
            args.append("NULL" if v == "null" else var)
        elif s.kind == "out_handle":
            decls.append(f"{s.ctype} *{var} = NULL;")
            args.append("NULL" if v == "null" else f"&{var}")
            fr = free_of.get(s.ctype)
            if fr is None:
                raise SystemExit(f"no free function for {s.ctype}")
            if fr == "hardstore_store_close":
                post.append(f"if ({var}) (void){fr}({var});")
            else:
                post.append(f"if ({var}) {fr}({var});")
        elif s.kind == "out_borrowed":
            decls.append(f"const {s.ctype} *{var} = NULL;")
            args.append("NULL" if v == "null" else f"&{var}")
        elif s.kind == "out_ptr":
            decls.append(f"const uint8_t *{var} = NULL;")
            args.append("NULL" if v == "null" else f"&{var}")
        elif s.kind == "out_struct":
            decls.append(f"{s.ctype} {var};")
            decls.append(f"memset(&{var}, 0, sizeof {var});")
            args.append("NULL" if v == "null" else f"&{var}")
        elif s.kind == "out_scalar":
            decls.append(f"{s.ctype} {var};")
            decls.append(f"memset(&{var}, 0, sizeof {var});")
            args.append("NULL" if v == "null" else f"&{var}")
        elif s.kind == "outbuf":
            decls.append(f"{s.ctype} {var}[{s.cap}];")
            decls.append(f"memset({var}, 0, sizeof {var});")
            if v == "null":
                args += ["NULL", str(s.cap)]
            elif v == "huge":
                args += [var, "SIZE_MAX"]
            else:
                args += [var, str(s.cap)]
        elif s.kind == "pair":
            val = STR_FN.get((f.name, p.name), STR.get(p.name))
            if val is None:
                raise SystemExit(f"{f.name}: no value for {p.name} (add to STR)")
            if v == "null":
                args += ["NULL", "4"]
            elif v == "utf8":
                args += ["H.bad_utf8", "2"]
            elif v == "huge":
                args += ["H.small", "SIZE_MAX"]
            elif v == "isize":
                args += ["H.small", "(size_t)PTRDIFF_MAX + 1"]
            elif v == "null_huge":
                args += ["NULL", "SIZE_MAX"]
            elif v in ("empty", "path_empty"):
                args += ["NULL", "0"]
            elif v == "nul":
                args += ["H.nul_path", "H.nul_path_len"]
            elif val[0] == "s":
                decls.append(f"const char *{var} = {val[1]};")
                args += [f"(const uint8_t *){var}", f"strlen({var})"]
            else:
                args += [val[1], val[2]]
        elif s.kind == "paths":
            paths, lens, n = s.params
            if v is None:
                args += ["F.chain_paths", "F.chain_lens", "F.chain_n"]
            else:
                decls.append(f"const uint8_t *{var}p[8];")
                decls.append(f"size_t {var}l[8];")
                decls.append(f"memcpy({var}p, F.chain_paths, sizeof {var}p);")
                decls.append(f"memcpy({var}l, F.chain_lens, sizeof {var}l);")
                pe, le, ne = f"{var}p", f"{var}l", "F.chain_n"
                if v == "null_paths":
                    pe = "NULL"
                elif v == "null_lens":
                    le = "NULL"
                elif v == "null_elem":
                    decls.append(f"{var}p[0] = NULL; {var}l[0] = 4;")
                elif v == "utf8_elem":
                    decls.append(f"{var}p[0] = H.bad_utf8; {var}l[0] = 2;")
                elif v == "huge_elem":
                    decls.append(f"{var}l[0] = SIZE_MAX;")
                elif v == "zero_n":
                    ne = "0"
                elif v == "huge_n":
                    ne = "SIZE_MAX"
                args += [pe, le, ne]
        else:
            raise SystemExit(f"unhandled slot kind {s.kind}")
    call = f"{f.name}({', '.join(args)})"
    lines = ["{"] + ["  " + d for d in decls]
    mask = " | ".join(f"BIT({c})" for c in case.expected)
    msg = "0" if f.name in NO_MESSAGE else "1"
    lines.append("  before_call();")
    lines.append(f"  hardstore_result r = {call};")
    lines.append(
        f"  check({FID[f.name]}, {c_str(f.name)}, {c_str(case.what)}, r, {mask}, {msg});"
    )
    lines += ["  " + x for x in post]
    lines.append("}")
    return lines


FID = {}
STATS = {}
NOTES = []
CATEGORY = {
    "null": "pointer argument NULL",
    "utf8": "text as invalid UTF-8",
    "huge": "length or capacity SIZE_MAX",
    "isize": "length PTRDIFF_MAX+1",
    "null_huge": "NULL with length SIZE_MAX",
    "empty": "required input empty",
    "nul": "path with a NUL byte",
    "path_empty": "path empty",
    "value": "out-of-range scalar or bad struct",
    "null_paths": "path array cases",
    "null_lens": "path array cases",
    "null_elem": "path array cases",
    "utf8_elem": "path array cases",
    "huge_elem": "path array cases",
    "zero_n": "path array cases",
    "huge_n": "path array cases",
}


def gen_getter(f):
    """A function that returns a number or a pointer: NULL in, the documented 0/NULL out."""
    ret = f.ret
    args = ", ".join("NULL" for _ in f.params)
    lines = ["{"]
    if ret in GETTER_NULL:
        lines.append(f"  const void *v = (const void *){f.name}({args});")
        lines.append(
            f"  check_value({FID[f.name]}, {c_str(f.name)}, {c_str(f.params[0].name + '=NULL')}, "
            "v == NULL, \"NULL\");"
        )
    else:
        lines.append(f"  uint64_t v = (uint64_t){f.name}({args});")
        lines.append(
            f"  check_value({FID[f.name]}, {c_str(f.name)}, {c_str(f.params[0].name + '=NULL')}, "
            "v == 0, \"0\");"
        )
    lines.append("}")
    return lines


# Optional pointers the header does not state in the function's own comment, with why
# they are optional; the generator prints the comparison so the table is reviewed.
OPTIONAL_WHY = {
    ("hardstore_backup_run", "user"): "opaque user data, only passed to `progress`",
    ("hardstore_backup_run_due", "user"): "opaque user data, only passed to `progress`",
    ("hardstore_backup_run_due", "key"): "\"`key` and `progress` as for hardstore_backup_run\"",
    ("hardstore_backup_run_due", "progress"): "\"`key` and `progress` as for hardstore_backup_run\"",
    ("hardstore_backup_verify_chain", "key"): "as for hardstore_backup_restore_chain (tests/c pass NULL)",
    ("hardstore_backup_schedule_start", "sched"): "runs hardstore_backup_run_due, whose `sched` may be NULL",
    ("hardstore_backup_schedule_start", "key"): "runs hardstore_backup_run_due, whose `key` may be NULL",
    ("hardstore_dlq_retry", "userdata"): "opaque user data, only passed to `op`",
}

DOC_NULL = [
    r"`(\w+)` \(NULL",
    r"`(\w+)` may be NULL",
    r"`(\w+)` NULL takes",
    r"If `(\w+)` is not NULL",
]


def check_optional_docs(funcs):
    """Prints how OPTIONAL compares with the header's own words."""
    notes = []
    for f in funcs:
        documented = set()
        for pat in DOC_NULL:
            documented |= set(re.findall(pat, f.doc))
        if f.name == "hardstore_store_close" and "NULL is allowed" in f.doc:
            documented.add("store")
        pnames = {p.name for p in f.params}
        documented &= pnames
        table = set(OPTIONAL.get(f.name, {}))
        if f.name == "hardstore_restore_point_list":
            documented.discard("ids")  # only with cap 0: tested by hand
        for name in sorted(documented - table):
            raise SystemExit(f"{f.name}: the header makes {name} optional; add it to OPTIONAL")
        for name in sorted(table - documented):
            why = OPTIONAL_WHY.get((f.name, name))
            if why is None:
                raise SystemExit(f"{f.name}.{name} is in OPTIONAL but the header does not say "
                                 "so: add the reason to OPTIONAL_WHY")
            notes.append(f"  {f.name}.{name}: {why}")
    return notes


def generate(header_path):
    funcs, opaque = parse_header(header_path)
    if not funcs:
        raise SystemExit("no prototypes found")
    for k, f in enumerate(funcs):
        FID[f.name] = k
    free_of = free_fns(funcs)
    NOTES.extend(check_optional_docs(funcs))
    bodies = []
    names = []
    for f in funcs:
        lines = [f"/* {f.name} */", f"static void test_{f.name}(void) {{"]
        body = []
        if not any(p.is_pointer for p in f.params):
            # No pointer to make hostile: each is checked by hand (test_no_pointer_functions,
            # test_panic_boundary); a new one must be added there.
            if f.name not in NO_POINTER_BY_HAND:
                raise SystemExit(f"{f.name} takes no pointer: add a hand-written check")
            continue
        if f.ret == "void":
            assert len(f.params) == 1, f.name
            body += ["{", f"  {f.name}(NULL);", f"  note_void({FID[f.name]});", "}"]
            STATS["void function with NULL"] = STATS.get("void function with NULL", 0) + 1
        elif f.ret != "enum hardstore_result":
            assert len(f.params) == 1, f.name
            body += gen_getter(f)
            STATS["getter with NULL"] = STATS.get("getter with NULL", 0) + 1
        else:
            slots = classify(f, opaque)
            for c in cases_for(f, slots):
                body += gen_call(f, slots, c, free_of)
                STATS[CATEGORY.get(c.variant, c.variant)] = (
                    STATS.get(CATEGORY.get(c.variant, c.variant), 0) + 1)
        lines += ["  " + x for x in body]
        lines.append("}")
        bodies.append("\n".join(lines))
        names.append(f.name)
    table = ",\n".join(f"  {c_str(f.name)}" for f in funcs)
    runs = "\n".join(f"  test_{n}();" for n in names)
    src = TEMPLATE_HEAD.replace("@NFUNCS@", str(len(funcs))).replace("@NAMES@", table)
    src += "\n\n".join(bodies)
    src += TEMPLATE_TAIL.replace("@RUNS@", runs)
    for fname in re.findall(r"@FID:(\w+)@", src):
        src = src.replace(f"@FID:{fname}@", str(FID[fname]))
    return src, len(funcs)


# --------------------------------------------------------------------------------------
# Hand-written C
# --------------------------------------------------------------------------------------

TEMPLATE_HEAD = r"""/* GENERATED by tests/hostile/gen_hostile.py from include/hardstore.h: do not edit.
 * Regenerate with: python3 tests/hostile/gen_hostile.py
 *
 * A hostile-input test of the hardstore C ABI: every pointer argument of every
 * function NULL, non-UTF-8 text, lengths past isize::MAX, NULL to every getter and
 * _free, the panic boundary and use-after-close through a clone of a closed store.
 * Each call passes one hostile argument and valid values for all the others.
 *
 * Usage: hostile DIR   (DIR an empty scratch folder)
 * Prints every mismatch, then "hostile: N calls, M functions, F failures"; exits 1
 * on any failure. See tests/hostile/README.md. */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "hardstore.h"

#define BIT(c) (1ull << (unsigned)(c))
#define NFUNCS @NFUNCS@
#define AUDIT_KEY "audit-secret-for-hostile"

static const char *const FUNC_NAMES[NFUNCS] = {
@NAMES@
};

static unsigned long calls = 0, failures = 0;
static bool called[NFUNCS];
static char sentinel_msg[1024];

/* Heap buffers of the exact size of their content, so that a read past them is an
 * error under AddressSanitizer and valgrind. */
static struct {
  uint8_t *bad_utf8; /* "\xff\xfe", 2 bytes */
  uint8_t *small;    /* "abcd", 4 bytes: what a length of SIZE_MAX points at */
  uint8_t *nul_path; /* "DIR/a\0b": a path with a NUL byte inside */
  size_t nul_path_len;
} H;

static void fatal(const char *what, hardstore_result r) {
  char msg[1024];
  size_t n = 0;
  msg[0] = 0;
  hardstore_last_error_message(msg, sizeof msg, &n);
  fprintf(stderr, "hostile: setup failed: %s gave %s (%s)\n", what,
          hardstore_result_name((uint32_t)r), msg);
  exit(2);
}

#define MUST(call)                               \
  do {                                           \
    hardstore_result r_ = (call);                \
    if (r_ != HARDSTORE_OK) fatal(#call, r_);    \
  } while (0)

static void last_message(char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = 0;
  if (hardstore_last_error_message(buf, cap, &n) != HARDSTORE_OK) buf[0] = 0;
}

/* Sets a known last error message, so that a later error that sets none shows. */
static void before_call(void) {
  size_t n = 0;
  (void)hardstore_inclusion_proof_len(1, 0, &n);
}

static void mask_names(unsigned long long mask, char *out, size_t cap) {
  out[0] = 0;
  for (unsigned c = 0; c < 64; c++) {
    if (!(mask & BIT(c))) continue;
    size_t used = strlen(out);
    snprintf(out + used, cap - used, "%s%s", used ? " or " : "", hardstore_result_name(c));
  }
}

/* The process runs in DIR/cwd, which stays empty: a file that appears there was
 * written through a relative path the caller never gave (reported, then removed). */
static bool stray_files(const char *fn, const char *what) {
  DIR *d = opendir(".");
  if (!d) return false;
  bool found = false;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    fprintf(stderr, "MISMATCH %s(%s): left \"%s\" in the working directory\n", fn, what,
            e->d_name);
    (void)unlink(e->d_name);
    found = true;
  }
  closedir(d);
  return found;
}

static void check(int fid, const char *fn, const char *what, hardstore_result r,
                  unsigned long long expected, int wants_message) {
  calls++;
  called[fid] = true;
  if (stray_files(fn, what)) {
    failures++;
    return;
  }
  if (!(expected & BIT(r)) || (unsigned)r > 63) {
    char want[512];
    char msg[1024];
    mask_names(expected, want, sizeof want);
    if (r == HARDSTORE_OK || !wants_message) {
      msg[0] = 0;
    } else {
      last_message(msg, sizeof msg);
    }
    fprintf(stderr, "MISMATCH %s(%s): got %s (%u), expected %s%s%s%s\n", fn, what,
            hardstore_result_name((uint32_t)r), (unsigned)r, want, msg[0] ? " [" : "", msg,
            msg[0] ? "]" : "");
    failures++;
    return;
  }
  if (wants_message && r != HARDSTORE_OK) {
    char msg[1024];
    last_message(msg, sizeof msg);
    if (msg[0] == 0 || strcmp(msg, sentinel_msg) == 0) {
      fprintf(stderr, "MISMATCH %s(%s): returned %s but set no last error message\n", fn,
              what, hardstore_result_name((uint32_t)r));
      failures++;
    }
  }
}

static void check_value(int fid, const char *fn, const char *what, bool ok,
                        const char *expected) {
  calls++;
  called[fid] = true;
  if (!ok) {
    fprintf(stderr, "MISMATCH %s(%s): expected %s\n", fn, what, expected);
    failures++;
  }
}

static void note_void(int fid) {
  calls++;
  called[fid] = true;
}

static void on_progress(void *user, uint64_t done, uint64_t total) {
  (void)done;
  (void)total;
  if (user) (*(uint64_t *)user)++;
}

static uint32_t op_ok(void *userdata, uint32_t attempt, uint8_t *buf, size_t cap,
                      size_t *out_len) {
  (void)attempt;
  (void)buf;
  (void)cap;
  (void)out_len;
  if (userdata) (*(uint64_t *)userdata)++;
  return HARDSTORE_DLQ_OP_OK;
}

/* The fixture: one valid object of every kind. */
static struct {
  char dir[1024];
  char main_path[1200], folder[1200], export_path[1200], full_backup[1200];
  hardstore_options *opts, *opts_scratch;
  hardstore_clock *clock;
  hardstore_store *store;
  hardstore_audit_event *event;
  hardstore_audit_entry *entry;
  hardstore_audit_query *aquery;
  hardstore_audit_iter *aiter;
  hardstore_bytes *acursor, *proof, *cproof, *checkpoint;
  uint8_t leaf[32], root[32], root_old[32];
  uint64_t seq0, size;
  hardstore_backup_key bkey;
  hardstore_retention retention;
  hardstore_schedule sched;
  hardstore_retry_policy policy, bad_policy[5];
  hardstore_schedule bad_sched;
  uint64_t backup_id, now_us;
  hardstore_backup_records *records, *chain;
  const uint8_t *chain_paths[8];
  size_t chain_lens[8];
  size_t chain_n;
  hardstore_dlq_claims *claims;
  const hardstore_dlq_claim *claim;
  uint64_t dlq_id;
  hardstore_dlq_item *dlq_item;
  hardstore_dlq_query *dquery;
  hardstore_dlq_iter *diter;
  hardstore_bytes *dcursor;
  hardstore_idem_token *token;
  hardstore_idem_response *response;
  hardstore_log_record *lrecord;
  hardstore_logs_query *lquery;
  hardstore_logs_iter *liter;
  const hardstore_log_entry *lentry;
  hardstore_bytes *lcursor;
  hardstore_log_stats *lstats;
  uint64_t rp_id;
  hardstore_tx *tx, *tx_done;
  uint64_t progress_calls, op_calls;
} F;

static char fresh_pool[16][1200];
static unsigned fresh_next = 0;

/* A path in DIR that does not exist yet. */
static const char *fresh(const char *tag) {
  static unsigned serial = 0;
  char *p = fresh_pool[fresh_next++ % 16];
  snprintf(p, sizeof fresh_pool[0], "%s/%s-%u.hs", F.dir, tag, serial++);
  return p;
}

#define S(str) (const uint8_t *)(str), strlen(str)

static void path_in(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", F.dir, name);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void setup(const char *dir) {
  char here[512];
  if (dir[0] == '/') {
    snprintf(F.dir, sizeof F.dir, "%s", dir);
  } else if (getcwd(here, sizeof here) != NULL) {
    snprintf(F.dir, sizeof F.dir, "%s/%s", here, dir);
  } else {
    exit(2);
  }
  char cwd[1200];
  path_in(cwd, sizeof cwd, "cwd");
  if (mkdir(cwd, 0700) != 0 || chdir(cwd) != 0) {
    fprintf(stderr, "hostile: cannot make %s: DIR must be an empty folder\n", cwd);
    exit(2);
  }
  path_in(F.main_path, sizeof F.main_path, "main.hs");
  path_in(F.folder, sizeof F.folder, "backups");
  path_in(F.export_path, sizeof F.export_path, "export.jsonl");
  path_in(F.full_backup, sizeof F.full_backup, "full.hsb");

  H.bad_utf8 = malloc(2);
  H.small = malloc(4);
  if (!H.bad_utf8 || !H.small) exit(2);
  memcpy(H.bad_utf8, "\xff\xfe", 2);
  memcpy(H.small, "abcd", 4);
  H.nul_path_len = strlen(F.dir) + 4;
  H.nul_path = malloc(H.nul_path_len);
  if (!H.nul_path) exit(2);
  memcpy(H.nul_path, F.dir, strlen(F.dir));
  memcpy(H.nul_path + strlen(F.dir), "/a\0b", 4);

  size_t n = 0;
  if (hardstore_inclusion_proof_len(1, 0, &n) != HARDSTORE_INVALID_ARGUMENT) {
    fprintf(stderr, "hostile: the sentinel error did not happen\n");
    exit(2);
  }
  last_message(sentinel_msg, sizeof sentinel_msg);

  /* Options, clock, retry policy, and the store. */
  MUST(hardstore_options_new(&F.opts));
  MUST(hardstore_options_new(&F.opts_scratch));
  MUST(hardstore_options_set_audit_key(F.opts, S(AUDIT_KEY)));
  MUST(hardstore_options_set_max_restore_points(F.opts, 16));
  MUST(hardstore_clock_new_manual(1000000, &F.clock));
  MUST(hardstore_retry_policy_default(&F.policy));
  MUST(hardstore_options_set_dlq_policy(F.opts, &F.policy));
  /* Retry policies the header calls bad: unknown jitter, base 0, cap below base,
   * max_attempts 0 and 1001. */
  for (int i = 0; i < 5; i++) F.bad_policy[i] = F.policy;
  F.bad_policy[0].jitter = 7;
  F.bad_policy[1].base_us = 0;
  F.bad_policy[2].cap_us = F.policy.base_us - 1;
  F.bad_policy[3].max_attempts = 0;
  F.bad_policy[4].max_attempts = 1001;
  MUST(hardstore_store_open(S(F.main_path), F.opts, &F.store));

  /* Audit: three entries, one with a detail; an owned entry, proofs, a checkpoint. */
  MUST(hardstore_audit_event_new(S("acme"), S("order.create"), &F.event));
  MUST(hardstore_audit_event_set_actor(F.event, S("alice")));
  MUST(hardstore_audit_event_add_detail(F.event, S("ip"), S("x")));
  uint64_t seq = 0;
  MUST(hardstore_audit_append(F.store, F.event, HARDSTORE_DURABLE, &F.seq0, NULL));
  MUST(hardstore_audit_size(F.store, &F.size));
  MUST(hardstore_audit_root(F.store, 1, F.root_old));
  MUST(hardstore_audit_append(F.store, F.event, HARDSTORE_DURABLE, &seq, NULL));
  MUST(hardstore_audit_append(F.store, F.event, HARDSTORE_DURABLE, &seq, NULL));
  MUST(hardstore_audit_size(F.store, &F.size));
  MUST(hardstore_audit_root(F.store, F.size, F.root));
  MUST(hardstore_audit_get(F.store, F.seq0, &F.entry));
  MUST(hardstore_audit_entry_leaf_hash(F.entry, F.leaf));
  MUST(hardstore_audit_inclusion_proof(F.store, F.seq0, F.size, &F.proof));
  MUST(hardstore_audit_consistency_proof(F.store, 1, F.size, &F.cproof));
  MUST(hardstore_audit_checkpoint(F.store, &F.checkpoint));
  MUST(hardstore_audit_query_new(S("acme"), &F.aquery));
  MUST(hardstore_audit_query_set_limit(F.aquery, 1));
  MUST(hardstore_audit_query_run(F.store, F.aquery, &F.aiter));
  MUST(hardstore_audit_iter_cursor(F.aiter, &F.acursor));
  MUST(hardstore_audit_query_set_limit(F.aquery, 10));

  /* App state. */
  MUST(hardstore_kv_put(F.store, S("app"), S("k"), S("v"), HARDSTORE_DURABLE));

  /* Backups: a standalone full one, and a cataloged chain (full, incremental). */
  hardstore_backup_info info;
  MUST(hardstore_backup_full(F.store, S(F.full_backup), &info));
  uint32_t kind = 0;
  uint64_t first = 0;
  MUST(hardstore_backup_run(F.store, HARDSTORE_BACKUP_FULL, S(F.folder), NULL, NULL, NULL,
                            &first, &kind));
  MUST(hardstore_kv_put(F.store, S("app"), S("k2"), S("v2"), HARDSTORE_DURABLE));
  MUST(hardstore_backup_run(F.store, HARDSTORE_BACKUP_INCREMENTAL, S(F.folder), NULL, NULL,
                            NULL, &F.backup_id, &kind));
  MUST(hardstore_backup_list(F.store, &F.records));
  MUST(hardstore_backup_chain(F.store, F.backup_id, &F.chain));
  F.chain_n = hardstore_backup_records_len(F.chain);
  if (F.chain_n == 0 || F.chain_n > 8) {
    fprintf(stderr, "hostile: unexpected chain of %zu backups\n", F.chain_n);
    exit(2);
  }
  for (size_t i = 0; i < F.chain_n; i++) {
    hardstore_backup_record rec;
    MUST(hardstore_backup_records_get(F.chain, i, &rec));
    F.chain_paths[i] = rec.file;
    F.chain_lens[i] = rec.file_len;
    F.now_us = rec.started_us + 1000000;
  }
  F.bkey.id = 7;
  memset(F.bkey.key, 0x42, sizeof F.bkey.key);
  F.retention.max_age_secs = 0;
  F.retention.keep_fulls = 100;
  F.sched.full_every_secs = 86400;
  F.sched.incremental_every_secs = 21600;
  F.sched.differential_every_secs = 3600;
  F.sched.prune = false;
  F.bad_sched = F.sched;
  F.bad_sched.differential_every_secs = 0; /* intervals must be above zero */

  /* Dead letters: recorded, one claimed, one read back, a list page and its cursor. */
  MUST(hardstore_dlq_record(F.store, S("acme"), S("email"), S("p1"), S("first failure"), 0, 0,
                            false, HARDSTORE_DURABLE, &F.dlq_id));
  uint64_t id2 = 0;
  MUST(hardstore_dlq_record(F.store, S("acme"), S("email"), S("p2"), S("first failure"), 0, 0,
                            false, HARDSTORE_DURABLE, &id2));
  MUST(hardstore_dlq_record(F.store, S("acme"), S("email"), S("p3"), S(""), 0, 0, true,
                            HARDSTORE_DURABLE, &id2));
  MUST(hardstore_dlq_claim_due(F.store, 1, 600000000ull, &F.claims));
  MUST(hardstore_dlq_claims_get(F.claims, 0, &F.claim));
  MUST(hardstore_dlq_get(F.store, F.dlq_id, &F.dlq_item));
  MUST(hardstore_dlq_query_new(&F.dquery));
  MUST(hardstore_dlq_query_set_limit(F.dquery, 1));
  MUST(hardstore_dlq_list(F.store, F.dquery, &F.diter));
  MUST(hardstore_dlq_iter_cursor(F.diter, &F.dcursor));
  MUST(hardstore_dlq_query_set_limit(F.dquery, 10));

  /* Idempotency: a live token, and a cached response. */
  hardstore_idem_outcome outcome = HARDSTORE_IDEM_MISMATCH;
  hardstore_idem_token *t = NULL;
  hardstore_idem_response *resp = NULL;
  uint64_t retry = 0;
  MUST(hardstore_idem_begin(F.store, S("acme"), S("k-live"), S("POST /orders"), 600000,
                            &outcome, &F.token, &resp, &retry));
  if (outcome != HARDSTORE_IDEM_STARTED || !F.token) fatal("idem_begin k-live", 0);
  MUST(hardstore_idem_begin(F.store, S("acme"), S("k-done"), S("POST /orders"), 600000,
                            &outcome, &t, &resp, &retry));
  MUST(hardstore_idem_complete(F.store, t, true, 201, S("{\"id\":1}")));
  hardstore_idem_token_free(t);
  t = NULL;
  MUST(hardstore_idem_begin(F.store, S("acme"), S("k-done"), S("POST /orders"), 600000,
                            &outcome, &t, &F.response, &retry));
  if (outcome != HARDSTORE_IDEM_REPLAY || !F.response || t) fatal("idem_begin replay", 0);

  /* Logs: two records with every field; a page of one, its cursor, stats. */
  MUST(hardstore_log_record_new(HARDSTORE_LEVEL_ERROR, S("hello"), &F.lrecord));
  MUST(hardstore_log_record_set_endpoint(F.lrecord, S("/orders")));
  MUST(hardstore_log_record_set_status(F.lrecord, 500));
  MUST(hardstore_log_record_set_duration_us(F.lrecord, 1500));
  MUST(hardstore_log_record_set_error(F.lrecord, S("boom")));
  MUST(hardstore_log_record_add_cause(F.lrecord, S("cause")));
  MUST(hardstore_log_record_add_field(F.lrecord, S("fk"), S("fv")));
  MUST(hardstore_logs_append(F.store, F.lrecord, HARDSTORE_DURABLE, &seq));
  MUST(hardstore_logs_append(F.store, F.lrecord, HARDSTORE_DURABLE, &seq));
  MUST(hardstore_logs_query_new(&F.lquery));
  MUST(hardstore_logs_query_set_limit(F.lquery, 1));
  MUST(hardstore_logs_query_run(F.store, F.lquery, &F.liter));
  MUST(hardstore_logs_iter_cursor(F.liter, &F.lcursor));
  MUST(hardstore_logs_iter_next(F.liter, &F.lentry));
  MUST(hardstore_logs_query_set_limit(F.lquery, 10));
  MUST(hardstore_logs_stats(F.store, 0, UINT64_MAX, &F.lstats));

  /* A restore point. */
  hardstore_restore_point_info rp;
  MUST(hardstore_restore_point_create(F.store, S("rp-fixture"), &rp));
  F.rp_id = rp.id;

  /* Transactions: an open one, and a committed one with an audit append and a dead
   * letter (for tx_audit_seq and tx_dead_letter_id). */
  MUST(hardstore_tx_begin(F.store, HARDSTORE_DURABLE, &F.tx));
  MUST(hardstore_tx_begin(F.store, HARDSTORE_DURABLE, &F.tx_done));
  size_t idx = 0;
  MUST(hardstore_tx_audit_append(F.tx_done, F.event, &idx));
  MUST(hardstore_tx_dlq_record(F.tx_done, S("acme"), S("email"), S("p"), S(""), 0, 0, false,
                               &idx));
  MUST(hardstore_tx_commit(F.tx_done));

  if (!F.acursor || !F.dcursor || !F.lcursor || !F.claim || !F.lentry || !F.aiter ||
      !F.diter || !F.liter || hardstore_bytes_len(F.proof) == 0) {
    fprintf(stderr, "hostile: the fixture is incomplete\n");
    exit(2);
  }
}

static void teardown(void) {
  hardstore_tx_free(F.tx);
  hardstore_tx_free(F.tx_done);
  hardstore_audit_event_free(F.event);
  hardstore_audit_entry_free(F.entry);
  hardstore_audit_query_free(F.aquery);
  hardstore_audit_iter_free(F.aiter);
  hardstore_bytes_free(F.acursor);
  hardstore_bytes_free(F.proof);
  hardstore_bytes_free(F.cproof);
  hardstore_bytes_free(F.checkpoint);
  hardstore_backup_records_free(F.records);
  hardstore_backup_records_free(F.chain);
  hardstore_dlq_claims_free(F.claims);
  hardstore_dlq_item_free(F.dlq_item);
  hardstore_dlq_query_free(F.dquery);
  hardstore_dlq_iter_free(F.diter);
  hardstore_bytes_free(F.dcursor);
  hardstore_idem_token_free(F.token);
  hardstore_idem_response_free(F.response);
  hardstore_log_record_free(F.lrecord);
  hardstore_logs_query_free(F.lquery);
  hardstore_logs_iter_free(F.liter);
  hardstore_bytes_free(F.lcursor);
  hardstore_log_stats_free(F.lstats);
  if (hardstore_store_close(F.store) != HARDSTORE_OK) fatal("closing the store", 0);
  hardstore_options_free(F.opts);
  hardstore_options_free(F.opts_scratch);
  hardstore_clock_free(F.clock);
  free(H.bad_utf8);
  free(H.small);
  free(H.nul_path);
}

/* ---- Generated: one function per exported function with pointer arguments. ---- */

"""

TEMPLATE_TAIL = r"""

/* ---- Hand-written: functions without pointer arguments, the panic boundary. ---- */

static void test_no_pointer_functions(void) {
  const char *name = hardstore_result_name(9999);
  check_value(@FID:hardstore_result_name@, "hardstore_result_name", "code=9999",
              name != NULL && strcmp(name, "HARDSTORE_UNKNOWN_RESULT") == 0,
              "\"HARDSTORE_UNKNOWN_RESULT\"");
  name = hardstore_result_name(UINT32_MAX);
  check_value(@FID:hardstore_result_name@, "hardstore_result_name", "code=UINT32_MAX",
              name != NULL && strcmp(name, "HARDSTORE_UNKNOWN_RESULT") == 0,
              "\"HARDSTORE_UNKNOWN_RESULT\"");
  const char *v = hardstore_version();
  check_value(@FID:hardstore_version@, "hardstore_version", "()", v != NULL && v[0] != 0,
              "a non-empty string");
}

static void test_panic_boundary(void) {
  hardstore_result r = hardstore_test_force_panic();
  check(@FID:hardstore_test_force_panic@, "hardstore_test_force_panic", "()", r, BIT(HARDSTORE_PANIC), 1);
  char msg[1024];
  last_message(msg, sizeof msg);
  check_value(@FID:hardstore_test_force_panic@, "hardstore_test_force_panic", "last error message",
              strstr(msg, "panic") != NULL, "a message containing \"panic\"");
  /* The library still works after a panic was caught. */
  uint64_t size = 0;
  r = hardstore_audit_size(F.store, &size);
  check(@FID:hardstore_audit_size@, "hardstore_audit_size", "after a caught panic", r,
        BIT(HARDSTORE_OK), 1);
}

/* Output capacities of 0 where the documentation allows a NULL buffer. */
static void test_zero_capacity(void) {
  size_t n = 0;
  before_call();
  hardstore_result r = hardstore_restore_point_list(F.store, NULL, 0, &n);
  check(@FID:hardstore_restore_point_list@, "hardstore_restore_point_list",
        "ids=NULL,cap=0 (points exist)", r, BIT(HARDSTORE_BUFFER_TOO_SMALL), 1);
  check_value(@FID:hardstore_restore_point_list@, "hardstore_restore_point_list",
              "ids=NULL,cap=0: *out_n", n >= 1, "the number of points");
  char buf[8];
  n = 0;
  before_call();
  r = hardstore_last_error_message(buf, 0, &n);
  check(@FID:hardstore_last_error_message@, "hardstore_last_error_message", "len=0", r,
        BIT(HARDSTORE_BUFFER_TOO_SMALL), 0);
  check_value(@FID:hardstore_last_error_message@, "hardstore_last_error_message",
              "len=0: *out_n", n == strlen(sentinel_msg) + 1, "the length with the NUL");
  n = 0;
  before_call();
  r = hardstore_bytes_copy(F.proof, NULL, 0, &n);
  check(@FID:hardstore_bytes_copy@, "hardstore_bytes_copy", "buf=NULL,len=0 (non-empty)", r,
        BIT(HARDSTORE_BUFFER_TOO_SMALL), 1);
  check_value(@FID:hardstore_bytes_copy@, "hardstore_bytes_copy", "buf=NULL,len=0: *out_n",
              n == hardstore_bytes_len(F.proof), "the buffer's length");
}

/* ---- Hand-written: a hostile retry operation. ----
 * hardstore_dlq_op may return any value (unknown ones count as permanent), claim an
 * error length past the buffer it was given, and write invalid UTF-8 (replaced). */

struct hostile_op {
  uint32_t code;
  size_t claimed_len;
  const char *msg;
  size_t msg_len;
  uint32_t calls;
};

static uint32_t op_hostile(void *userdata, uint32_t attempt, uint8_t *buf, size_t cap,
                           size_t *out_len) {
  struct hostile_op *h = userdata;
  (void)attempt;
  h->calls++;
  if (h->msg_len <= cap) memcpy(buf, h->msg, h->msg_len);
  *out_len = h->claimed_len;
  return h->code;
}

/* The dead letter's error is "after N in-process attempts: " and the operation's
 * message: `want_end` is what it must end with (NULL: anything), within the limit. */
static void retry_hostile(struct hostile_op *h, const char *what, const char *want_end,
                          size_t want_end_len) {
  hardstore_retry_policy once = F.policy;
  once.max_attempts = 1;
  uint32_t outcome = 99, attempts = 0;
  uint64_t id = 0;
  before_call();
  hardstore_result r = hardstore_dlq_retry(F.store, &once, S("acme"), S("hostile-op"), S("p"),
                                           op_hostile, h, &outcome, &attempts, &id);
  check(@FID:hardstore_dlq_retry@, "hardstore_dlq_retry", what, r, BIT(HARDSTORE_OK), 1);
  if (r != HARDSTORE_OK) return;
  check_value(@FID:hardstore_dlq_retry@, "hardstore_dlq_retry", what,
              outcome == HARDSTORE_DLQ_RETRY_DEAD_LETTERED && attempts == 1 && id != 0 &&
                  h->calls == 1,
              "one try, dead-lettered");
  hardstore_dlq_item *item = NULL;
  r = hardstore_dlq_get(F.store, id, &item);
  check(@FID:hardstore_dlq_get@, "hardstore_dlq_get", what, r, BIT(HARDSTORE_OK), 1);
  if (!item) return;
  const uint8_t *p = NULL;
  size_t n = 0;
  r = hardstore_dlq_item_field(item, HARDSTORE_DLQ_LAST_ERROR, &p, &n);
  check(@FID:hardstore_dlq_item_field@, "hardstore_dlq_item_field", what, r,
        BIT(HARDSTORE_OK), 1);
  bool same = p != NULL && n <= HARDSTORE_LIMIT_DLQ_ERROR && n >= want_end_len &&
              (want_end == NULL || memcmp(p + n - want_end_len, want_end, want_end_len) == 0);
  check_value(@FID:hardstore_dlq_item_field@, "hardstore_dlq_item_field", what, same,
              "the operation's message, bounded by the limit, invalid UTF-8 replaced");
  hardstore_dlq_item_free(item);
}

static void test_hostile_callbacks(void) {
  /* An unknown code (permanent) with invalid UTF-8: recorded with U+FFFD. */
  struct hostile_op bad_utf8 = {77, 2, "\xff\xfe", 2, 0};
  retry_hostile(&bad_utf8, "op returns 77 with error \"\\xff\\xfe\"",
                "\xef\xbf\xbd\xef\xbf\xbd", 6);
  /* A length past the buffer: bounded by the buffer (4096 bytes), never read past. */
  struct hostile_op too_long = {HARDSTORE_DLQ_OP_PERMANENT, SIZE_MAX, "x", 1, 0};
  retry_hostile(&too_long, "op claims an error length of SIZE_MAX", NULL, 0);
}

/* ---- Hand-written: an ordinary I/O failure is HARDSTORE_IO wherever a new file is
 * made (a path in a folder that does not exist). ---- */

static void test_missing_folder_is_io(void) {
  char missing[1200];
  path_in(missing, sizeof missing, "no-such-folder/x.hs");
  hardstore_backup_info info;
  hardstore_store *s = NULL;
  uint64_t rows = 0;
  before_call();
  hardstore_result r = hardstore_store_open(S(missing), NULL, &s);
  check(@FID:hardstore_store_open@, "hardstore_store_open", "path in a missing folder", r,
        BIT(HARDSTORE_IO), 1);
  if (s) (void)hardstore_store_close(s);
  before_call();
  r = hardstore_backup_full(F.store, S(missing), &info);
  check(@FID:hardstore_backup_full@, "hardstore_backup_full", "path in a missing folder", r,
        BIT(HARDSTORE_IO), 1);
  before_call();
  r = hardstore_backup_restore(S(F.full_backup), S(missing), NULL, &info);
  check(@FID:hardstore_backup_restore@, "hardstore_backup_restore",
        "new_path in a missing folder", r, BIT(HARDSTORE_IO), 1);
  before_call();
  r = hardstore_backup_restore_chain(F.chain_paths, F.chain_lens, F.chain_n, S(missing), NULL,
                                     NULL, &info);
  check(@FID:hardstore_backup_restore_chain@, "hardstore_backup_restore_chain",
        "new_path in a missing folder", r, BIT(HARDSTORE_IO), 1);
  before_call();
  r = hardstore_restore_point_export(F.store, F.rp_id, S(missing), &rows);
  check(@FID:hardstore_restore_point_export@, "hardstore_restore_point_export",
        "path in a missing folder", r, BIT(HARDSTORE_IO), 1);
}

/* ---- Hand-written: use after close, through what the API can detect. ----
 * A hardstore_store handle is freed by hardstore_store_close, so using that handle
 * again is a use-after-free the API cannot detect; it is not tested. What is tested:
 * objects that keep their own clone of the store (a transaction, a backup schedule)
 * and objects that own copies of what they read (entries, iterators, buffers),
 * used after the handle they came from was closed. */

static void test_tx_after_close(void) {
  char path[1200];
  path_in(path, sizeof path, "uac-tx.hs");
  hardstore_store *s = NULL;
  MUST(hardstore_store_open(S(path), NULL, &s));
  hardstore_tx *tx = NULL;
  MUST(hardstore_tx_begin(s, HARDSTORE_DURABLE, &tx));
  MUST(hardstore_tx_kv_put(tx, S("app"), S("k"), S("v")));
  hardstore_result r = hardstore_store_close(s);
  check(@FID:hardstore_store_close@, "hardstore_store_close", "while a transaction is open",
        r, BIT(HARDSTORE_OK), 1);
  /* The handle is gone; the transaction's own clone sees a closed store. */
  before_call();
  r = hardstore_tx_commit(tx);
  check(@FID:hardstore_tx_commit@, "hardstore_tx_commit", "after its store was closed", r,
        BIT(HARDSTORE_CLOSED), 1);
  /* The file is still held by the transaction's clone: another open is refused or, if
   * the library released it, works; either way nothing crashes. */
  hardstore_store *again = NULL;
  before_call();
  r = hardstore_store_open(S(path), NULL, &again);
  check(@FID:hardstore_store_open@, "hardstore_store_open",
        "same path, closed handle's clone still alive", r,
        BIT(HARDSTORE_OK) | BIT(HARDSTORE_ALREADY_OPEN), 1);
  if (again) (void)hardstore_store_close(again);
  hardstore_tx_free(tx);
  /* With the last clone gone the file opens, and the failed commit wrote nothing. */
  again = NULL;
  r = hardstore_store_open(S(path), NULL, &again);
  check(@FID:hardstore_store_open@, "hardstore_store_open", "after the last clone was freed",
        r, BIT(HARDSTORE_OK), 1);
  if (again) {
    bool found = true;
    hardstore_bytes *v = NULL;
    r = hardstore_kv_get(again, S("app"), S("k"), &found, &v);
    check(@FID:hardstore_kv_get@, "hardstore_kv_get", "key of the refused commit", r,
          BIT(HARDSTORE_OK), 1);
    check_value(@FID:hardstore_kv_get@, "hardstore_kv_get", "key of the refused commit",
                !found && v == NULL, "not found");
    hardstore_bytes_free(v);
    r = hardstore_store_close(again);
    check(@FID:hardstore_store_close@, "hardstore_store_close", "reopened store", r,
          BIT(HARDSTORE_OK), 1);
  }
}

static void test_schedule_after_close(void) {
  char path[1200], folder[1200];
  path_in(path, sizeof path, "uac-sched.hs");
  path_in(folder, sizeof folder, "uac-sched-backups");
  hardstore_store *s = NULL;
  MUST(hardstore_store_open(S(path), NULL, &s));
  MUST(hardstore_kv_put(s, S("app"), S("k"), S("v"), HARDSTORE_DURABLE));
  hardstore_schedule fast = {.full_every_secs = 1,
                             .incremental_every_secs = 1,
                             .differential_every_secs = 1,
                             .prune = false};
  hardstore_backup_schedule *sched = NULL;
  MUST(hardstore_backup_schedule_start(s, S(folder), &fast, NULL, 5, &sched));
  /* Closed while the schedule thread still uses its clone (the header asks callers to
   * stop the schedule first): it must neither crash nor hang. */
  hardstore_result r = hardstore_store_close(s);
  check(@FID:hardstore_store_close@, "hardstore_store_close", "while a schedule runs", r,
        BIT(HARDSTORE_OK), 1);
  sleep_ms(50);
  hardstore_backup_schedule_stop(sched);
  note_void(@FID:hardstore_backup_schedule_stop@);
  hardstore_store *again = NULL;
  r = hardstore_store_open(S(path), NULL, &again);
  check(@FID:hardstore_store_open@, "hardstore_store_open", "after the schedule stopped", r,
        BIT(HARDSTORE_OK), 1);
  if (again) (void)hardstore_store_close(again);
}

static void test_owned_copies_after_close(void) {
  char path[1200];
  path_in(path, sizeof path, "uac-read.hs");
  hardstore_store *s = NULL;
  MUST(hardstore_store_open(S(path), NULL, &s));
  uint64_t seq = 0;
  MUST(hardstore_audit_append(s, F.event, HARDSTORE_DURABLE, &seq, NULL));
  MUST(hardstore_audit_append(s, F.event, HARDSTORE_DURABLE, &seq, NULL));
  hardstore_audit_entry *entry = NULL;
  MUST(hardstore_audit_get(s, 0, &entry));
  hardstore_audit_query *q = NULL;
  MUST(hardstore_audit_query_new(S("acme"), &q));
  hardstore_audit_iter *it = NULL;
  MUST(hardstore_audit_query_run(s, q, &it));
  hardstore_bytes *proof = NULL;
  MUST(hardstore_audit_inclusion_proof(s, 0, 2, &proof));
  MUST(hardstore_store_close(s));

  const uint8_t *p = NULL;
  size_t n = 0;
  hardstore_result r = hardstore_audit_entry_field(entry, HARDSTORE_FIELD_TENANT, &p, &n);
  check(@FID:hardstore_audit_entry_field@, "hardstore_audit_entry_field",
        "owned entry after its store was closed", r, BIT(HARDSTORE_OK), 1);
  check_value(@FID:hardstore_audit_entry_field@, "hardstore_audit_entry_field",
              "owned entry after close: value", n == 4 && p && memcmp(p, "acme", 4) == 0,
              "\"acme\"");
  const hardstore_audit_entry *e = NULL;
  int seen = 0;
  for (;;) {
    r = hardstore_audit_iter_next(it, &e);
    check(@FID:hardstore_audit_iter_next@, "hardstore_audit_iter_next",
          "iterator after its store was closed", r, BIT(HARDSTORE_OK), 1);
    if (r != HARDSTORE_OK || !e) break;
    r = hardstore_audit_entry_field(e, HARDSTORE_FIELD_ACTION, &p, &n);
    check(@FID:hardstore_audit_entry_field@, "hardstore_audit_entry_field",
          "borrowed entry after its store was closed", r, BIT(HARDSTORE_OK), 1);
    seen++;
  }
  check_value(@FID:hardstore_audit_iter_next@, "hardstore_audit_iter_next",
              "entries after close", seen == 2, "2 entries");
  check_value(@FID:hardstore_bytes_len@, "hardstore_bytes_len", "proof after close",
              hardstore_bytes_len(proof) == 32 && hardstore_bytes_data(proof) != NULL,
              "32 bytes");
  hardstore_bytes_free(proof);
  hardstore_audit_iter_free(it);
  hardstore_audit_query_free(q);
  hardstore_audit_entry_free(entry);
}

static void test_token_across_reopen(void) {
  char path[1200];
  path_in(path, sizeof path, "uac-idem.hs");
  hardstore_store *s = NULL;
  MUST(hardstore_store_open(S(path), NULL, &s));
  hardstore_idem_outcome outcome = HARDSTORE_IDEM_MISMATCH;
  hardstore_idem_token *token = NULL;
  hardstore_idem_response *resp = NULL;
  uint64_t retry = 0;
  MUST(hardstore_idem_begin(s, S("acme"), S("k"), S("req"), 600000, &outcome, &token, &resp,
                            &retry));
  MUST(hardstore_store_close(s));
  /* Begun keys live in memory: a token of a closed store is fenced off in the reopened
   * one, never accepted and never a crash. */
  s = NULL;
  MUST(hardstore_store_open(S(path), NULL, &s));
  before_call();
  hardstore_result r = hardstore_idem_complete(s, token, true, 200, S("{}"));
  check(@FID:hardstore_idem_complete@, "hardstore_idem_complete",
        "token of a closed store, on the reopened store", r, BIT(HARDSTORE_FENCED), 1);
  before_call();
  r = hardstore_idem_release(s, token);
  check(@FID:hardstore_idem_release@, "hardstore_idem_release",
        "token of a closed store, on the reopened store", r, BIT(HARDSTORE_FENCED), 1);
  hardstore_idem_token_free(token);
  hardstore_idem_response_free(resp);
  MUST(hardstore_store_close(s));
}

static void test_double_open(void) {
  hardstore_store *s = NULL;
  before_call();
  hardstore_result r = hardstore_store_open(S(F.main_path), NULL, &s);
  check(@FID:hardstore_store_open@, "hardstore_store_open", "path already open", r,
        BIT(HARDSTORE_ALREADY_OPEN), 1);
  if (s) (void)hardstore_store_close(s);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: hostile DIR\n");
    return 2;
  }
  setup(argv[1]);

@RUNS@

  test_no_pointer_functions();
  test_panic_boundary();
  test_zero_capacity();
  test_hostile_callbacks();
  test_missing_folder_is_io();
  test_double_open();
  test_owned_copies_after_close();
  test_tx_after_close();
  test_schedule_after_close();
  test_token_across_reopen();

  teardown();

  unsigned functions = 0;
  for (int i = 0; i < NFUNCS; i++) {
    if (called[i]) {
      functions++;
    } else {
      fprintf(stderr, "MISSED %s: no call was made\n", FUNC_NAMES[i]);
      failures++;
    }
  }
  printf("hostile: %lu calls, %u functions, %lu failures\n", calls, functions, failures);
  return failures == 0 ? 0 : 1;
}
"""


def main():
    header = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "include", "hardstore.h")
    output = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "hostile.c")
    src, nfuncs = generate(header)
    with open(output, "w", encoding="utf-8") as f:
        f.write(src)
    print(f"gen_hostile: {nfuncs} functions in {os.path.relpath(header)} -> {os.path.relpath(output)}")
    total = sum(STATS.values())
    print(f"gen_hostile: {total} generated calls (the hand-written checks add the rest):")
    for k in sorted(STATS, key=lambda k: -STATS[k]):
        print(f"  {STATS[k]:5}  {k}")
    if NOTES:
        print("gen_hostile: optional pointers the function's own comment does not state:")
        print("\n".join(NOTES))


if __name__ == "__main__":
    main()
