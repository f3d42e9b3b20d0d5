"""The store's own settings: written into the store when it is created, read back at
every open (opening with other options never changes them), changed only by an
explicit, audited call."""

from __future__ import annotations

from ctypes import byref, c_uint64
from dataclasses import dataclass

from ._common import StoreBound
from ._lib import lib, to_text, to_u64
from ._structs import hardstore_health_thresholds, hardstore_setting_change, hardstore_settings
from .backups import Retention, Schedule
from .dead_letters import Jitter, RetryPolicy
from .health import HealthThresholds


@dataclass(frozen=True)
class Settings:
    """A store's settings: the values that shape what it keeps."""

    log_capacity: int
    idempotency_ttl_us: int
    dead_letter_policy: RetryPolicy
    dead_letter_purge_after_us: int
    max_restore_points: int
    backup_retention: Retention
    backup_schedule: Schedule


@dataclass(frozen=True)
class SettingChange:
    """What a change did: the seq of its audit entry, and the entries it deleted."""

    audit_seq: int
    deleted: int


def _retention(r) -> Retention:
    return Retention(r.max_age_secs, r.keep_fulls)


class StoreSettings(StoreBound):
    """``store.settings``: read the store's settings, or change one. Every change is a
    durable write with an audit entry (tenant ``hardstore``, action ``settings.set``,
    the given ``actor``)."""

    def get(self) -> Settings:
        """The store's current settings."""
        s = hardstore_settings()
        lib.hardstore_settings_get(self._h, byref(s))
        p = s.dead_letter_policy
        sch = s.backup_schedule
        return Settings(
            log_capacity=s.log_capacity,
            idempotency_ttl_us=s.idempotency_ttl_us,
            dead_letter_policy=RetryPolicy(Jitter(p.jitter), p.base_us, p.cap_us, p.max_attempts,
                                           p.seed if p.seeded else None),
            dead_letter_purge_after_us=s.dead_letter_purge_after_us,
            max_restore_points=s.max_restore_points,
            backup_retention=_retention(s.backup_retention),
            backup_schedule=Schedule(sch.full_every_secs, sch.incremental_every_secs,
                                     sch.differential_every_secs, bool(sch.prune),
                                     _retention(sch.retention)),
        )

    def _change(self, fn, actor: str, *args) -> SettingChange:
        a = to_text(actor, "actor")
        out = hardstore_setting_change()
        fn(self._h, a, len(a), *args, byref(out))
        return SettingChange(out.audit_seq, out.deleted)

    def set_log_capacity(self, capacity: int, *, confirm_evict: int = 0,
                         actor: str = "") -> SettingChange:
        """Sets the ring's capacity. One below the entries the ring holds evicts the
        oldest surplus, and raises :class:`~hardstore.ConfirmationRequired` (naming the
        count, changing nothing) unless ``confirm_evict`` is at least that count."""
        return self._change(lib.hardstore_settings_set_log_capacity, actor, int(capacity),
                            int(confirm_evict))

    def set_idempotency_ttl_us(self, ttl_us: int, *, actor: str = "") -> SettingChange:
        """Sets how long idempotency keys begun from now on live, in microseconds."""
        return self._change(lib.hardstore_settings_set_idempotency_ttl_us, actor, int(ttl_us))

    def set_dead_letter_policy(self, policy: RetryPolicy, *, actor: str = "") -> SettingChange:
        """Sets how failed dead letters are rescheduled from now on."""
        p = policy._to_c()
        return self._change(lib.hardstore_settings_set_dead_letter_policy, actor, byref(p))

    def set_dead_letter_purge_after_us(self, age_us: int, *, actor: str = "") -> SettingChange:
        """Sets how long Done and Dead dead letters are kept before a purge."""
        return self._change(lib.hardstore_settings_set_dead_letter_purge_after_us, actor,
                            int(age_us))

    def set_max_restore_points(self, max_points: int, *, actor: str = "") -> SettingChange:
        """Sets the most restore points that may exist at once (1..=1024; not below the
        points that exist)."""
        return self._change(lib.hardstore_settings_set_max_restore_points, actor, int(max_points))

    def set_backup_retention(self, retention: Retention, *, actor: str = "") -> SettingChange:
        """Sets what a backup prune by the store's settings keeps."""
        r = retention._to_c()
        return self._change(lib.hardstore_settings_set_backup_retention, actor, byref(r))

    def set_backup_schedule(self, schedule: Schedule, *, actor: str = "") -> SettingChange:
        """Sets when backups are due."""
        s = schedule._to_c()
        return self._change(lib.hardstore_settings_set_backup_schedule, actor, byref(s))

    def health_thresholds(self) -> HealthThresholds:
        """The store's health thresholds (where :meth:`Store.health
        <hardstore.Store.health>` grades degraded and critical)."""
        t = hardstore_health_thresholds()
        lib.hardstore_settings_get_health_thresholds(self._h, byref(t))
        return HealthThresholds._from_c(t)

    def set_health_thresholds(self, thresholds: HealthThresholds, *,
                              actor: str = "") -> SettingChange:
        """Sets the store's health thresholds. Thresholds that grade nothing sensibly
        (a critical line before the degraded one, a zero window, a file size limit of
        0) raise :class:`~hardstore.InvalidArgument` and change nothing."""
        t = thresholds._to_c()
        return self._change(lib.hardstore_settings_set_health_thresholds, actor, byref(t))

    def alert_retention_us(self) -> int:
        """How long resolved alerts are kept before maintenance deletes them,
        microseconds (default 30 days)."""
        out = c_uint64(0)
        lib.hardstore_settings_get_alert_retention_us(self._h, byref(out))
        return out.value

    def set_alert_retention_us(self, us: int, *, actor: str = "") -> SettingChange:
        """Sets how long resolved alerts are kept, in microseconds. Nothing is deleted
        until maintenance runs (:meth:`Store.maintenance <hardstore.Store.maintenance>`
        or the janitor)."""
        return self._change(lib.hardstore_settings_set_alert_retention_us, actor, int(us))

    def audit_retention_us(self) -> int:
        """How long audit entries keep their payloads before maintenance prunes them
        (keeping their leaf hashes), microseconds; 0 (the default): for ever."""
        out = c_uint64(0)
        lib.hardstore_settings_get_audit_retention_us(self._h, byref(out))
        return out.value

    def set_audit_retention_us(self, age_us: int, *, actor: str = "") -> SettingChange:
        """Sets how long audit entries keep their payloads, in microseconds: 0 keeps
        them for ever, else at least one day (less raises
        :class:`~hardstore.InvalidArgument`). Setting it is the confirmation
        maintenance's prunes run under; nothing is pruned until maintenance runs
        (:meth:`Store.maintenance <hardstore.Store.maintenance>` or the janitor; its
        report's ``audit_pruned``)."""
        return self._change(lib.hardstore_settings_set_audit_retention_us, actor,
                            to_u64(age_us, "age_us"))
