"""Python bindings of hardstore, an embedded store for the records a service must never
lose or fake: a tamper-evident audit log, a log ring, idempotency keys, app state,
atomic multi-area writes, dead letters, alerts, restore points, backups, health,
maintenance, metrics, rate limits, IP rules, sealed fields (encrypted per subject,
shredded per subject) and a webhook outbox (Standard Webhooks signatures, retries).

Pure Python over ctypes: the shared library ``libhardstore`` is found through the
``HARDSTORE_LIB`` environment variable, else in a cargo ``target/release`` or
``target/debug`` folder above this package (or the current directory).

    import hardstore

    with hardstore.open("app.hardstore", audit_key=b"secret kept elsewhere") as store:
        receipt = store.audit.append("acme", "invoice.paid", actor="user:42")
        store.audit.inclusion_proof(receipt.seq).verify(receipt.leaf_hash, store.audit.root())
"""

from __future__ import annotations

from . import _lib
from ._common import Durability, Page, PagedQuery
from .alerts import Alert, AlertCounts, AlertScope, AlertState, Raised, Severity
from .audit import (
    AppendReceipt,
    AuditEntry,
    AuditEvent,
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    PruneRange,
    VerifyReport,
    inclusion_proof_len,
    verify_consistency,
    verify_inclusion,
)
from .backups import (
    BackupInfo,
    BackupKey,
    BackupKind,
    BackupRecord,
    BackupRun,
    BackupStatus,
    Retention,
    Schedule,
    ScheduleHandle,
    SuccessRate,
)
from .clock import ManualClock
from .dead_letters import (
    Attempt,
    Claim,
    Claims,
    DeadLetter,
    DlqCounts,
    DlqState,
    FailOutcome,
    Jitter,
    PermanentFailure,
    RetryOutcome,
    RetryPolicy,
    RetryResult,
)
from .errors import (
    AlreadyOpen,
    BufferTooSmall,
    CheckpointInvalid,
    ConfirmationRequired,
    Corrupted,
    Fenced,
    FormatTooNew,
    HardstoreError,
    InvalidArgument,
    InvalidUtf8,
    IoError,
    KeyUnavailable,
    LimitReached,
    NotAStore,
    NotFound,
    NullArgument,
    Panic,
    Poisoned,
    ProofInvalid,
    ReadOnly,
    Result,
    SealedInvalid,
    Shredded,
    SignatureInvalid,
    StorageError,
    StoreClosed,
    TooLong,
    UnknownRecordVersion,
    WrongKey,
)
from .health import Component, Grade, HealthReport, HealthThresholds
from .idempotency import (
    BeginResult,
    IdemInfo,
    IdemOutcome,
    IdemResponse,
    IdemState,
    InProgress,
    Mismatch,
    Recovery,
    Replay,
    Started,
    Token,
)
from .ip_rules import IpAction, IpRule, IpRules, IpVerdict
from .logs import EndpointStats, Level, LogEntry, LogRange, LogRecord, LogStats
from .maintenance import JanitorStatus, MaintenanceReport, TaskError
from .metrics import (
    OPENMETRICS_CONTENT_TYPE,
    PROMETHEUS_CONTENT_TYPE,
    Metrics,
    MetricsSnapshot,
)
from .options import Options
from .rate_limits import (
    RETRY_NEVER,
    Limiter,
    RateDecision,
    RateLimit,
    RateLimitInfo,
    RateLimits,
    RateLimitStats,
)
from .restore_points import RestorePoint, SpaceReport
from .sealing import KeyInfo, KeyStatus, RewrapReport, Sealing
from .settings import SettingChange, Settings
from .store import Store, open
from .tlog import (
    AUDIT_HASH_BLAKE3,
    AUDIT_HASH_SHA256,
    NoteSigner,
    VerifiedBundle,
    VerifiedCheckpoint,
    cosign,
    verify_bundle,
    verify_checkpoint,
)
from .replication import ReplicaRestore, ReplicationStatus, restore_replica
from .tx import Transaction
from .webhooks import (
    OutboxCounts,
    WebhookClaim,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookFailOutcome,
    Webhooks,
    verify_webhook,
)
from .webhooks import generate_secret as generate_webhook_secret
from . import backups, webhooks

__version__ = "0.1.0"

#: The path of the shared library in use.
LIBRARY_PATH = _lib.LIBRARY_PATH

DURABLE = Durability.DURABLE
BUFFERED = Durability.BUFFERED


def version() -> str:
    """The loaded library's version."""
    return str(_lib.lib.hardstore_version().decode("utf-8"))


def result_name(code: int) -> str:
    """The C name of a result code, such as ``"HARDSTORE_NOT_FOUND"``
    (``"HARDSTORE_UNKNOWN_RESULT"`` for an unknown one)."""
    return str(_lib.lib.hardstore_result_name(int(code)).decode("utf-8"))


def last_error_message() -> str:
    """This thread's last error message from the library."""
    return _lib.last_error_message()


def force_panic() -> None:
    """Makes the library panic on purpose, to test handling of :class:`Panic` (which
    it always raises). Only in builds that export ``hardstore_test_force_panic``;
    others raise ``NotImplementedError``."""
    if not _lib.has("hardstore_test_force_panic"):
        raise NotImplementedError("this libhardstore build lacks hardstore_test_force_panic")
    _lib.lib.hardstore_test_force_panic()


__all__ = [
    "open", "Store", "Options", "Durability", "DURABLE", "BUFFERED", "ManualClock",
    "Transaction", "Page", "PagedQuery", "version", "result_name", "last_error_message",
    "force_panic", "LIBRARY_PATH", "backups",
    # audit
    "AuditEvent", "AuditEntry", "AppendReceipt", "Checkpoint", "InclusionProof", "PruneRange",
    "ConsistencyProof", "VerifyReport", "verify_inclusion", "verify_consistency",
    "inclusion_proof_len",
    # signed checkpoints (C2SP)
    "AUDIT_HASH_BLAKE3", "AUDIT_HASH_SHA256", "NoteSigner", "VerifiedCheckpoint",
    "VerifiedBundle", "cosign", "verify_checkpoint", "verify_bundle",
    # replication
    "ReplicationStatus", "ReplicaRestore", "restore_replica",
    # logs
    "Level", "LogRecord", "LogEntry", "LogRange", "LogStats", "EndpointStats",
    # idempotency
    "IdemOutcome", "IdemState", "IdemInfo", "IdemResponse", "BeginResult", "Started",
    "Replay", "InProgress", "Mismatch", "Token", "Recovery",
    # dead letters
    "DlqState", "Jitter", "RetryPolicy", "RetryOutcome", "RetryResult", "PermanentFailure",
    "Claims", "Claim", "DeadLetter", "Attempt", "FailOutcome", "DlqCounts",
    # alerts
    "Severity", "AlertState", "AlertScope", "Alert", "Raised", "AlertCounts",
    # health
    "Grade", "Component", "HealthReport", "HealthThresholds",
    # maintenance
    "MaintenanceReport", "TaskError", "JanitorStatus",
    # metrics
    "Metrics", "MetricsSnapshot", "PROMETHEUS_CONTENT_TYPE", "OPENMETRICS_CONTENT_TYPE",
    # rate limits
    "RateLimits", "RateLimit", "RateLimitInfo", "RateDecision", "RateLimitStats", "Limiter",
    "RETRY_NEVER",
    # IP rules
    "IpRules", "IpAction", "IpRule", "IpVerdict",
    # sealed fields
    "Sealing", "KeyStatus", "KeyInfo", "RewrapReport",
    # webhook outbox
    "webhooks", "Webhooks", "WebhookEndpoint", "WebhookClaim", "WebhookDelivery",
    "WebhookFailOutcome", "OutboxCounts", "verify_webhook", "generate_webhook_secret",
    # restore points
    "RestorePoint", "SpaceReport", "Settings", "SettingChange", "ConfirmationRequired",
    # backups
    "BackupKind", "BackupStatus", "BackupKey", "BackupInfo", "BackupRecord", "BackupRun",
    "Retention", "Schedule", "ScheduleHandle", "SuccessRate",
    # errors
    "Result", "HardstoreError", "InvalidArgument", "NullArgument", "InvalidUtf8", "TooLong",
    "NotFound", "NotAStore", "FormatTooNew", "AlreadyOpen", "ReadOnly", "Poisoned",
    "StoreClosed", "Corrupted", "ProofInvalid", "CheckpointInvalid", "IoError",
    "StorageError", "Panic", "BufferTooSmall", "UnknownRecordVersion", "Fenced",
    "LimitReached", "WrongKey", "Shredded", "KeyUnavailable", "SealedInvalid",
    "SignatureInvalid",
]
