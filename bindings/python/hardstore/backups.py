"""Backups: self-verifying full, incremental and differential backup files, optionally
encrypted, cataloged in the store, pruned by retention and run on a schedule."""

from __future__ import annotations

import builtins
import ctypes
import enum
import time
from contextlib import contextmanager
from ctypes import byref, c_bool, c_char_p, c_size_t, c_uint32, c_uint64
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, List, NamedTuple, Optional, Sequence, Union

from ._common import Owned, StoreBound
from ._lib import borrowed, fixed, lib, to_path
from ._structs import (
    hardstore_backup_info,
    hardstore_backup_key,
    hardstore_backup_record,
    hardstore_backup_records,
    hardstore_backup_schedule,
    hardstore_progress_cb,
    hardstore_retention,
    hardstore_schedule,
)
from .options import Options, options_from

Progress = Callable[[int, int], Any]


class BackupKind(enum.IntEnum):
    """What a backup holds: every row, the rows changed since the previous backup of
    any kind, or the rows changed since the last full."""

    FULL = 1
    INCREMENTAL = 2
    DIFFERENTIAL = 3


class BackupStatus(enum.IntEnum):
    """A cataloged run's result (``hardstore_backup_record.result``)."""

    RUNNING = 0
    OK = 1
    FAILED = 2
    INTERRUPTED = 3


@dataclass(frozen=True)
class BackupKey:
    """A backup encryption key: 32 secret bytes and the id that names it (the id is
    written in the file, the key never is)."""

    id: int
    key: bytes = field(repr=False)

    def _to_c(self) -> hardstore_backup_key:
        material = fixed(self.key, 32, "backup key")
        k = hardstore_backup_key(id=int(self.id))
        ctypes.memmove(k.key, material, 32)
        return k


def _key_arg(key: Optional[BackupKey]) -> Any:
    return None if key is None else byref(key._to_c())


@dataclass(frozen=True)
class BackupInfo:
    """What a verified backup file holds."""

    store_id: bytes
    created_us: int
    audit_size: int
    audit_root: bytes
    frames: int
    bytes: int
    digest: builtins.bytes
    kind: BackupKind
    encrypted: bool
    key_id: int
    backup_id: int
    base_id: int
    base_digest: builtins.bytes
    covered_from: int
    covered_to: int

    @classmethod
    def _from_c(cls, i: hardstore_backup_info) -> "BackupInfo":
        return cls(bytes(i.store_id), i.created_us, i.audit_size, bytes(i.audit_root), i.frames, i.bytes,
                   bytes(i.digest), BackupKind(i.kind), bool(i.encrypted), i.key_id, i.backup_id, i.base_id,
                   bytes(i.base_digest), i.covered_from, i.covered_to)


@dataclass(frozen=True)
class BackupRecord:
    """One cataloged run."""

    id: int
    kind: BackupKind
    result: BackupStatus
    base_id: int
    file: str
    error: Optional[str]
    started_us: int
    ended_us: int
    bytes: int
    entries: int
    digest: builtins.bytes
    covered_from: int
    covered_to: int
    audit_size: int
    encrypted: bool
    key_id: int

    def __fspath__(self) -> str:
        return self.file


@dataclass
class Retention:
    """Which backups pruning keeps: full backups older than ``max_age_secs`` go (0: no
    age limit); at most ``keep_fulls`` fulls are kept, the newest (0: no limit). The
    newest full, and every backup a kept one depends on, always stay."""

    max_age_secs: int = 30 * 86400
    keep_fulls: int = 0

    def _to_c(self) -> hardstore_retention:
        return hardstore_retention(int(self.max_age_secs), int(self.keep_fulls))


@dataclass
class Schedule:
    """When backups are due: a full when the last one started ``full_every_secs`` ago,
    an incremental after ``incremental_every_secs``, a differential after
    ``differential_every_secs``; then prune with ``retention`` if ``prune``."""

    full_every_secs: int = 86400
    incremental_every_secs: int = 21600
    differential_every_secs: int = 3600
    prune: bool = True
    retention: Retention = field(default_factory=Retention)

    def _to_c(self) -> hardstore_schedule:
        return hardstore_schedule(int(self.full_every_secs), int(self.incremental_every_secs),
                                  int(self.differential_every_secs), bool(self.prune), self.retention._to_c())


class BackupRun(NamedTuple):
    """A run's catalog id and the kind written (an incremental or differential with no
    usable base is promoted to full)."""

    id: int
    kind: BackupKind


class SuccessRate(NamedTuple):
    """Runs that succeeded and runs that failed or were interrupted."""

    ok: int
    failed: int

    @property
    def rate(self) -> Optional[float]:
        """ok / (ok + failed), or ``None`` when nothing ran."""
        total = self.ok + self.failed
        return self.ok / total if total else None


class ScheduleHandle(Owned):
    """A background thread running due backups. :meth:`stop` (or ``close``, or leaving
    the ``with`` block) stops it, waiting for a run in progress. The store stops it
    when it closes."""

    _free = staticmethod(lambda p: lib.hardstore_backup_schedule_stop(p))

    def stop(self) -> None:
        """Stops the thread (idempotent)."""
        self.close()


def _records(ptr: Any) -> List[BackupRecord]:
    try:
        out = []
        for i in range(lib.hardstore_backup_records_len(ptr)):
            r = hardstore_backup_record()
            lib.hardstore_backup_records_get(ptr, i, byref(r))
            error = borrowed(r.error, r.error_len).decode("utf-8", "replace")
            out.append(BackupRecord(
                id=r.id, kind=BackupKind(r.kind), result=BackupStatus(r.result), base_id=r.base_id,
                file=borrowed(r.file, r.file_len).decode("utf-8", "surrogateescape"), error=error or None,
                started_us=r.started_us, ended_us=r.ended_us, bytes=r.bytes, entries=r.entries,
                digest=bytes(r.digest), covered_from=r.covered_from, covered_to=r.covered_to,
                audit_size=r.audit_size, encrypted=bool(r.encrypted), key_id=r.key_id,
            ))
        return out
    finally:
        lib.hardstore_backup_records_free(ptr)


@contextmanager
def _progress(progress: Optional[Progress]) -> Iterator[Any]:
    """A C progress callback calling ``progress(done, total)``; an exception it raises
    is re-raised once the backup call has returned."""
    if progress is None:
        yield hardstore_progress_cb()  # a NULL function pointer: no progress
        return
    errors: List[BaseException] = []

    def cb(_user: Any, done: int, total: int) -> None:
        if errors:
            return
        try:
            progress(int(done), int(total))
        except BaseException as e:  # never unwind into the library
            errors.append(e)

    yield hardstore_progress_cb(cb)
    if errors:
        raise errors[0]


def _paths(paths: Sequence[Any]) -> Any:
    encoded = [to_path(p) for p in paths]
    n = len(encoded)
    ptrs = (c_char_p * max(n, 1))(*encoded)
    lens = (c_size_t * max(n, 1))(*[len(p) for p in encoded])
    return encoded, ptrs, lens, n


def system_time_us() -> int:
    """The system time in microseconds since the Unix epoch."""
    return time.time_ns() // 1000


# --- Store-free functions ------------------------------------------------------------------


def verify(path: Any, key: Optional[BackupKey] = None) -> BackupInfo:
    """Reads the backup at ``path`` end to end: :class:`~hardstore.Corrupted` names what
    failed, :class:`~hardstore.WrongKey` when it is encrypted and ``key`` is missing or
    another."""
    p = to_path(path)
    info = hardstore_backup_info()
    if key is None:
        lib.hardstore_backup_verify(p, len(p), byref(info))
    else:
        lib.hardstore_backup_verify_with_key(p, len(p), _key_arg(key), byref(info))
    return BackupInfo._from_c(info)


def verify_chain(paths: Sequence[Any], key: Optional[BackupKey] = None) -> BackupInfo:
    """Verifies a chain (a full backup first, then each backup built on the one before:
    paths or :class:`BackupRecord` objects, such as :meth:`Backups.chain` returns);
    returns what the last holds."""
    _keep, ptrs, lens, n = _paths(paths)
    info = hardstore_backup_info()
    lib.hardstore_backup_verify_chain(ptrs, lens, n, _key_arg(key), byref(info))
    return BackupInfo._from_c(info)


def restore(backup: Any, new_path: Any, *, options: Optional[Options] = None, **kwargs: Any) -> BackupInfo:
    """Writes a new store at ``new_path`` (which must not exist) from the backup file,
    created with ``options`` (or keyword options as for :func:`hardstore.open`).
    Nothing is left at ``new_path`` unless the whole backup verified."""
    b, p = to_path(backup), to_path(new_path)
    info = hardstore_backup_info()
    with options_from(options, kwargs)._handle() as o:
        lib.hardstore_backup_restore(b, len(b), p, len(p), o, byref(info))
    return BackupInfo._from_c(info)


def restore_chain(paths: Sequence[Any], new_path: Any, *, key: Optional[BackupKey] = None,
                  options: Optional[Options] = None, **kwargs: Any) -> BackupInfo:
    """Writes a new store at ``new_path`` equal to the source as of the chain's last
    backup; ``key`` decrypts encrypted files. Nothing is left at ``new_path`` unless
    every file verified and the audit root matches."""
    _keep, ptrs, lens, n = _paths(paths)
    p = to_path(new_path)
    info = hardstore_backup_info()
    with options_from(options, kwargs)._handle() as o:
        lib.hardstore_backup_restore_chain(ptrs, lens, n, p, len(p), o, _key_arg(key), byref(info))
    return BackupInfo._from_c(info)


# --- The area --------------------------------------------------------------------------------


class Backups(StoreBound):
    """The store's backups and their catalog (``store.backups``)."""

    verify = staticmethod(verify)
    verify_chain = staticmethod(verify_chain)
    restore = staticmethod(restore)
    restore_chain = staticmethod(restore_chain)

    def full(self, path: Any) -> BackupInfo:
        """Writes a standalone full backup (outside the catalog) to ``path``, which must
        not exist. Writers are not blocked."""
        p = to_path(path)
        info = hardstore_backup_info()
        lib.hardstore_backup_full(self._h, p, len(p), byref(info))
        return BackupInfo._from_c(info)

    def run(self, folder: Any, kind: Union[BackupKind, int] = BackupKind.FULL, *,
            key: Optional[BackupKey] = None, progress: Optional[Progress] = None) -> BackupRun:
        """Takes a cataloged backup of ``kind`` into ``folder`` (created if missing),
        encrypted with ``key`` if given; ``progress(done, total)`` is called on this
        thread while the file is written (an exception it raises is re-raised after
        the run, which is complete and cataloged)."""
        f = to_path(folder)
        out_id, out_kind = c_uint64(0), c_uint32(0)
        with _progress(progress) as cb:
            lib.hardstore_backup_run(self._h, int(kind), f, len(f), _key_arg(key), cb, None,
                                     byref(out_id), byref(out_kind))
        return BackupRun(out_id.value, BackupKind(out_kind.value))

    def list(self) -> List[BackupRecord]:
        """Every cataloged run, oldest first."""
        out = ctypes.POINTER(hardstore_backup_records)()
        lib.hardstore_backup_list(self._h, byref(out))
        return _records(out)

    def chain(self, id: int) -> List[BackupRecord]:
        """The runs whose files restore backup ``id``: its full first, ``id`` last.
        :class:`~hardstore.NotFound` for an unknown id."""
        out = ctypes.POINTER(hardstore_backup_records)()
        lib.hardstore_backup_chain(self._h, int(id), byref(out))
        return _records(out)

    def prune(self, retention: Optional[Retention] = None, *, now_us: Optional[int] = None,
              dry_run: bool = False) -> List[BackupRecord]:
        """Deletes the backups ``retention`` (default: fulls kept 30 days) drops as of
        ``now_us`` (default: the system time), never one a kept backup depends on;
        returns them. With ``dry_run`` nothing is deleted."""
        r = retention._to_c() if retention is not None else None
        out = ctypes.POINTER(hardstore_backup_records)()
        lib.hardstore_backup_prune(self._h, byref(r) if r is not None else None,
                                   system_time_us() if now_us is None else int(now_us),
                                   bool(dry_run), byref(out))
        return _records(out)

    def run_due(self, folder: Any, *, now_us: Optional[int] = None, schedule: Optional[Schedule] = None,
                key: Optional[BackupKey] = None, progress: Optional[Progress] = None) -> Optional[int]:
        """Runs the backup ``schedule`` (default: the library's, with pruning) says is
        due at ``now_us`` (default: the system time), then prunes. Returns the run's
        catalog id, or ``None`` when nothing was due."""
        f = to_path(folder)
        s = schedule._to_c() if schedule is not None else None
        ran, out_id = c_bool(False), c_uint64(0)
        when = system_time_us() if now_us is None else int(now_us)
        with _progress(progress) as cb:
            lib.hardstore_backup_run_due(self._h, when, f, len(f), byref(s) if s is not None else None,
                                         _key_arg(key), cb, None, byref(ran), byref(out_id))
        return out_id.value if ran.value else None

    def success_rate(self, since_us: int = 0) -> SuccessRate:
        """Runs started at or after ``since_us`` that succeeded, and that failed or
        were interrupted."""
        ok, failed = c_uint64(0), c_uint64(0)
        lib.hardstore_backup_success_rate(self._h, int(since_us), byref(ok), byref(failed))
        return SuccessRate(ok.value, failed.value)

    def start_schedule(self, folder: Any, *, schedule: Optional[Schedule] = None,
                       key: Optional[BackupKey] = None, check_every_ms: int = 60_000) -> ScheduleHandle:
        """Starts a thread that runs :meth:`run_due` into ``folder`` every
        ``check_every_ms`` (above 0), by the store's clock. Stop it with
        :meth:`ScheduleHandle.stop`; closing the store stops it too."""
        f = to_path(folder)
        s = schedule._to_c() if schedule is not None else None
        out = ctypes.POINTER(hardstore_backup_schedule)()
        lib.hardstore_backup_schedule_start(self._h, f, len(f), byref(s) if s is not None else None,
                                            _key_arg(key), int(check_every_ms), byref(out))
        handle = ScheduleHandle(out)
        self._store._adopt(handle, keep=True)
        return handle

