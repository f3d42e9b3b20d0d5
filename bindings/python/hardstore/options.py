"""Store options, turned into a ``hardstore_options`` handle for the calls that take one."""

from __future__ import annotations

import ctypes
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Union

from ._lib import lib, to_bytes, to_path, to_u64
from ._structs import hardstore_options
from .errors import InvalidArgument, Result
from .sealing import KeyBytes, KeySource, keyset_arg, make_key_callback

if TYPE_CHECKING:  # pragma: no cover
    from .clock import ManualClock
    from .dead_letters import RetryPolicy
    from .health import HealthThresholds


#: The library's default for :attr:`Options.rate_limit_max_keys`.
DEFAULT_RATE_LIMIT_MAX_KEYS = 1_000_000
#: The library's default for :attr:`Options.rate_limit_flush_us` (1 s).
DEFAULT_RATE_LIMIT_FLUSH_US = 1_000_000


@dataclass
class Options:
    """Options for opening (or restoring into) a store. ``None`` keeps the library's
    default.

    Attributes:
        audit_key: the secret the checkpoint MAC key is derived from (1..=1024 bytes).
        audit_hash: for a new store, the audit tree's hash: 1 BLAKE3 (the default) or 2
            SHA-256 (RFC 6962's tree; ``hardstore.AUDIT_HASH_*``). An existing store
            keeps its own.
        flush_interval_ms: the longest a buffered write stays unsynced (0: every batch).
        max_batch: the most writes gathered into one transaction (at least 1).
        log_capacity: how many log entries the ring keeps (default 100,000).
        redact_logs: PII redaction of log messages and field values (default on).
        redact_audit: audit appends redact e-mail addresses and phone numbers in actors
            and detail values before they are hashed and stored (default off).
        idempotency_ttl_ms: how long an idempotency key lives (default 24 h).
        max_restore_points: how many restore points may exist (default 32).
        dlq_policy: the retry policy failed dead letters are rescheduled with.
        dlq_purge_after_us: how long Done and Dead items are kept (default 7 days).
        clock: a :class:`~hardstore.ManualClock` to read instead of the system clock.
        health_thresholds: a new store's :class:`~hardstore.HealthThresholds` (an
            existing store keeps its own; change them with
            ``store.settings.set_health_thresholds``).
        metrics_max_series: the most app metric series (all families together) this open
            accepts (default 10,000); past it a new series raises ``LimitReached``.
        alert_retention_us: for a new store, how long resolved alerts are kept before
            maintenance deletes them (default 30 days; an existing store keeps its own,
            change it with ``store.settings.set_alert_retention_us``).
        janitor_interval_us: runs maintenance every this many microseconds (above 0) on
            a thread of the store's own, from the open until the store is closed
            (default: no janitor). :meth:`janitor` sets it with the folder below.
        janitor_backups_into: a folder the janitor also runs the backups the store's
            schedule has due into (only with ``janitor_interval_us``).
        rate_limit_max_keys: the most keys each rate limit keeps in memory (above 0;
            default 1,000,000): past it idle keys are dropped first (nothing is lost),
            then the keys closest to idle. :meth:`rate_limits` sets it with the next.
        rate_limit_flush_us: how often keys changed by rate-limit checks are written to
            the store, in microseconds (above 0; default 1 s): a crash forgets at most
            that much consumption (a clean close writes the rest).
        sealing_keyset: the sealing keys as ``{id: 32 bytes}`` (ids are ``uint32_t``),
            copied into the options; the store never writes them to its file. Left out
            of ``repr``. :meth:`sealing_keys` sets it.
        sealing_key_callback: a key source instead: a callable taking a key id and
            returning its 32 bytes, or ``None`` when it does not have that key.
            :meth:`sealing_key_source` sets it (see there for its rules). Give one of
            the two, not both.
    """

    audit_key: Optional[Union[bytes, str]] = None
    audit_hash: Optional[int] = None
    flush_interval_ms: Optional[int] = None
    max_batch: Optional[int] = None
    log_capacity: Optional[int] = None
    redact_logs: Optional[bool] = None
    redact_audit: Optional[bool] = None
    idempotency_ttl_ms: Optional[int] = None
    max_restore_points: Optional[int] = None
    dlq_policy: Optional["RetryPolicy"] = None
    dlq_purge_after_us: Optional[int] = None
    clock: Optional["ManualClock"] = None
    health_thresholds: Optional["HealthThresholds"] = None
    alert_retention_us: Optional[int] = None
    metrics_max_series: Optional[int] = None
    janitor_interval_us: Optional[int] = None
    janitor_backups_into: Optional[Any] = None
    rate_limit_max_keys: Optional[int] = None
    rate_limit_flush_us: Optional[int] = None
    sealing_keyset: Optional[Mapping[int, KeyBytes]] = field(default=None, repr=False)
    sealing_key_callback: Optional[KeySource] = None

    def janitor(self, interval_us: int, backups_into: Optional[Any] = None) -> "Options":
        """Sets the janitor: maintenance every ``interval_us`` (above 0; 0 raises
        :class:`~hardstore.InvalidArgument` at the open) on a thread of the store's own,
        also running the backups the schedule has due into ``backups_into`` when given.
        Returns these options, to chain: ``hardstore.open(path, Options().janitor(60_000_000))``."""
        self.janitor_interval_us = int(interval_us)
        self.janitor_backups_into = backups_into
        return self

    def rate_limits(self, max_keys: Optional[int] = None,
                    flush_us: Optional[int] = None) -> "Options":
        """Sets how rate limits keep their keys: at most ``max_keys`` per limit in
        memory, written to the store every ``flush_us`` microseconds (either ``None``:
        the library's default, 1,000,000 keys and 1 s; 0 raises
        :class:`~hardstore.InvalidArgument` at the open). Returns these options, to
        chain: ``Options().rate_limits(flush_us=100_000)``."""
        self.rate_limit_max_keys = None if max_keys is None else int(max_keys)
        self.rate_limit_flush_us = None if flush_us is None else int(flush_us)
        return self

    def sealing_keys(self, keys: Mapping[int, KeyBytes]) -> "Options":
        """Gives the store its sealing keys: ``{id: key}``, each key 32 bytes
        (``bytes``, ``bytearray`` or ``memoryview``; another length raises
        :class:`~hardstore.InvalidArgument` at the open). The store never writes them to
        its file, so give the same keys at every open (from your secrets manager). It
        replaces a key source given by :meth:`sealing_key_source`. Returns these
        options, to chain: ``Options().sealing_keys({1: key})``."""
        keyset_arg(keys)  # checked now: TypeError or InvalidArgument
        self.sealing_keyset = dict(keys)
        self.sealing_key_callback = None
        return self

    def sealing_key_source(self, source: KeySource) -> "Options":
        """Makes ``source(key_id)`` the store's key source: it returns the 32 bytes of
        key ``key_id``, or ``None`` when it does not have that key. It replaces keys
        given by :meth:`sealing_keys`. The store calls it when it first needs a key (and
        after a key's status changed), from any thread it runs on, possibly at once, so
        it must be thread-safe, and it must not call the store. An exception it raises
        never reaches the library: it counts as "no such key" (the call that needed the
        key raises :class:`~hardstore.KeyUnavailable`), as does a value that is not 32
        bytes. The options and every store opened with them keep it alive. Returns these
        options, to chain."""
        if not callable(source):
            raise TypeError(
                f"a sealing key source must be callable, not {type(source).__name__}")
        self.sealing_key_callback = source
        self.sealing_keyset = None
        return self

    def _key_callback(self) -> Any:
        """The C callback of :attr:`sealing_key_callback`, made once per callable and
        kept on these options (a store opened with them keeps its own reference)."""
        source = self.sealing_key_callback
        cached = self.__dict__.get("_sealing_trampoline")
        if cached is not None and cached[0] is source:
            return cached[1]
        cb = make_key_callback(source)  # type: ignore[arg-type]
        self.__dict__["_sealing_trampoline"] = (source, cb)
        return cb

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "Options":
        """Options from keyword arguments, refusing unknown names with ``TypeError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown store option(s): {', '.join(unknown)}")
        return cls(**kwargs)

    @contextmanager
    def _handle(self, keep: Optional[List[Any]] = None) -> Iterator[Any]:
        """A new ``hardstore_options`` with these settings, freed on exit. What a store
        opened with it must keep alive (the sealing key callback) is appended to
        ``keep``."""
        ptr = ctypes.POINTER(hardstore_options)()
        lib.hardstore_options_new(ctypes.byref(ptr))
        try:
            if self.audit_key is not None:
                key = to_bytes(self.audit_key, "audit_key")
                lib.hardstore_options_set_audit_key(ptr, key, len(key))
            if self.audit_hash is not None:
                lib.hardstore_options_set_audit_hash(ptr, int(self.audit_hash))
            if self.flush_interval_ms is not None:
                lib.hardstore_options_set_flush_interval_ms(ptr, int(self.flush_interval_ms))
            if self.max_batch is not None:
                lib.hardstore_options_set_max_batch(ptr, int(self.max_batch))
            if self.log_capacity is not None:
                lib.hardstore_options_set_log_capacity(ptr, int(self.log_capacity))
            if self.redact_logs is not None:
                lib.hardstore_options_set_redact_logs(ptr, bool(self.redact_logs))
            if self.redact_audit is not None:
                lib.hardstore_options_set_redact_audit(ptr, bool(self.redact_audit))
            if self.idempotency_ttl_ms is not None:
                lib.hardstore_options_set_idempotency_ttl_ms(ptr, int(self.idempotency_ttl_ms))
            if self.max_restore_points is not None:
                lib.hardstore_options_set_max_restore_points(ptr, int(self.max_restore_points))
            if self.dlq_policy is not None:
                policy = self.dlq_policy._to_c()
                lib.hardstore_options_set_dlq_policy(ptr, ctypes.byref(policy))
            if self.dlq_purge_after_us is not None:
                lib.hardstore_options_set_dlq_purge_after_us(ptr, int(self.dlq_purge_after_us))
            if self.clock is not None:
                lib.hardstore_options_set_clock(ptr, self.clock._live())
            if self.health_thresholds is not None:
                thresholds = self.health_thresholds._to_c()
                lib.hardstore_options_set_health_thresholds(ptr, ctypes.byref(thresholds))
            if self.alert_retention_us is not None:
                lib.hardstore_options_set_alert_retention_us(ptr, int(self.alert_retention_us))
            if self.metrics_max_series is not None:
                lib.hardstore_options_set_metrics_max_series(ptr, int(self.metrics_max_series))
            if self.rate_limit_max_keys is not None or self.rate_limit_flush_us is not None:
                # One C setter takes both: the one not given keeps the library's default.
                max_keys = (DEFAULT_RATE_LIMIT_MAX_KEYS if self.rate_limit_max_keys is None
                            else to_u64(self.rate_limit_max_keys, "rate_limit_max_keys"))
                flush_us = (DEFAULT_RATE_LIMIT_FLUSH_US if self.rate_limit_flush_us is None
                            else to_u64(self.rate_limit_flush_us, "rate_limit_flush_us"))
                lib.hardstore_options_set_rate_limits(ptr, max_keys, flush_us)
            if self.janitor_interval_us is not None:
                folder = (b"" if self.janitor_backups_into is None
                          else to_path(self.janitor_backups_into))
                lib.hardstore_options_set_janitor(ptr, int(self.janitor_interval_us), folder,
                                                  len(folder))
            elif self.janitor_backups_into is not None:
                raise InvalidArgument(
                    Result.INVALID_ARGUMENT,
                    "janitor_backups_into needs janitor_interval_us (the janitor runs them)",
                    None,
                )
            if self.sealing_keyset is not None and self.sealing_key_callback is not None:
                raise InvalidArgument(
                    Result.INVALID_ARGUMENT,
                    "give sealing keys as bytes (sealing_keyset) or a key source "
                    "(sealing_key_callback), not both",
                    None,
                )
            if self.sealing_keyset is not None:
                for key_id, key in keyset_arg(self.sealing_keyset):
                    lib.hardstore_options_set_sealing_key(ptr, key_id, key, len(key))
            if self.sealing_key_callback is not None:
                cb = self._key_callback()
                lib.hardstore_options_set_sealing_key_callback(ptr, cb, None)
                if keep is not None:
                    keep.append(cb)
            yield ptr
        finally:
            lib.hardstore_options_free(ptr)


def options_from(options: Optional[Options], kwargs: Dict[str, Any]) -> Options:
    """An :class:`Options` from either an instance or keyword arguments (not both)."""
    if options is not None and kwargs:
        raise TypeError("pass either options= or keyword options, not both")
    return options if options is not None else Options.from_kwargs(**kwargs)
