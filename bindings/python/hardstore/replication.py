"""Continuous replication to object storage (``s3://``, ``gs://``, ``az://``,
``file://``) and restore anywhere from it: ``store.replicate(url)`` ships a snapshot
and then every committed batch; :func:`restore_replica` writes a new store from the
replica at its newest batch, at a change or at a time, and checks its audit log."""

from __future__ import annotations

import ctypes
from ctypes import byref
from dataclasses import dataclass
from typing import Any, Optional

from ._lib import lib, take_bytes, to_path, to_text
from ._structs import hardstore_bytes, hardstore_replica_restore_info, hardstore_replication_status
from .errors import InvalidArgument
from .options import Options, options_from

RESTORE_LATEST = 0
RESTORE_CHANGE = 1
RESTORE_TIME = 2


@dataclass(frozen=True)
class ReplicationStatus:
    """Where replication stands: the newest batch in the replica (``None`` before the
    first snapshot), the newest committed one, the lag, and the last upload's error."""

    shipped_seq: Optional[int]
    committed_seq: int
    lag_batches: int
    oldest_unshipped_us: Optional[int]
    snapshots: int
    segments: int
    last_error: Optional[str]
    fenced: bool
    stopped: bool


@dataclass(frozen=True)
class ReplicaRestore:
    """What :func:`restore_replica` wrote: the manifest version, the last batch applied,
    the segments applied, and the restored audit log's size and root (it verified)."""

    manifest_version: int
    last_seq: int
    segments: int
    audit_size: int
    audit_root: bytes


def replicate(handle: Any, url: str, lag_ms: int) -> None:
    u = to_text(url, "url")
    lib.hardstore_store_replicate(handle, u, len(u), int(lag_ms))


def status(handle: Any) -> Optional[ReplicationStatus]:
    st = hardstore_replication_status()
    lib.hardstore_store_replication_status(handle, byref(st))
    if not st.replicating:
        return None
    err = None
    if st.failing:
        out = ctypes.POINTER(hardstore_bytes)()
        lib.hardstore_replication_last_error(handle, byref(out))
        err = (take_bytes(out) or b"").decode("utf-8", "replace")
    return ReplicationStatus(
        shipped_seq=st.shipped_seq if st.has_shipped else None,
        committed_seq=st.committed_seq,
        lag_batches=st.lag_batches,
        oldest_unshipped_us=st.oldest_unshipped or None,
        snapshots=st.snapshots,
        segments=st.segments,
        last_error=err,
        fenced=st.fenced,
        stopped=st.stopped,
    )


def wait(handle: Any, timeout_s: float) -> bool:
    done = ctypes.c_bool(False)
    lib.hardstore_store_wait_replicated(handle, int(timeout_s * 1000), byref(done))
    return bool(done.value)


def restore_replica(url: str, new_path: Any, *, change: Optional[int] = None,
                    time_us: Optional[int] = None, options: Optional[Options] = None,
                    **kwargs: Any) -> ReplicaRestore:
    """Writes a new store at ``new_path`` (which must not exist) from the replica at
    ``url``: through batch ``change``, or the last batch at or before ``time_us``, or
    (neither given) every batch. Nothing is left at ``new_path`` unless every object
    verified and the restored audit log verified."""
    if change is not None and time_us is not None:
        raise InvalidArgument("give change or time_us, not both")
    to, value = RESTORE_LATEST, 0
    if change is not None:
        to, value = RESTORE_CHANGE, int(change)
    elif time_us is not None:
        to, value = RESTORE_TIME, int(time_us)
    u, p = to_text(url, "url"), to_path(new_path)
    info = hardstore_replica_restore_info()
    with options_from(options, kwargs)._handle() as o:
        lib.hardstore_replica_restore(u, len(u), p, len(p), to, value, o, byref(info))
    return ReplicaRestore(info.manifest_version, info.last_seq, info.segments, info.audit_size,
                          bytes(info.audit_root))
