"""IP rules: allow and deny lists of CIDR networks, per tenant and global, checked in
memory.

A rule is a network (IPv4 or IPv6), an action (allow or deny), an optional expiry and a
reason, under a tenant or global (``tenant=None``). Rules are stored in the store, and
every change is audited in its transaction (actions ``ip_rule.put``,
``ip_rule.remove``, ``ip_rule.purge``; global rules under tenant ``hardstore``).

**Which rule decides** a check of an address for a tenant:

1. Only rules not expired, of the tenant and global, whose network holds the address.
2. The longest prefix wins (the most specific network).
3. At equal length, deny beats allow.
4. At equal length and action, the tenant's rule is the one reported.
5. No rule: allowed. (For an allow list, deny ``0.0.0.0/0`` and ``::/0`` and allow
   what may in.)

An IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) is checked as the IPv4 address.
Networks are strict: ``10.0.0.1/8`` (host bits set) is refused; a bare address is a
host rule (``/32`` or ``/128``). Times are microseconds since the Unix epoch, from the
store's clock.
"""

from __future__ import annotations

import ctypes
import enum
import ipaddress
import operator
from ctypes import byref, c_bool, c_size_t, c_uint64
from dataclasses import dataclass
from typing import List, Optional, Union

from ._common import StoreBound
from ._lib import borrowed, lib, to_bytes, to_text, to_u64
from ._structs import hardstore_ip_rule_info, hardstore_ip_rules, hardstore_ip_verdict, u8p
from .errors import InvalidArgument, Result

Text = Union[str, bytes]
Address = Union[str, ipaddress.IPv4Address, ipaddress.IPv6Address, bytes, bytearray,
                memoryview]
Network = Union[str, bytes, ipaddress.IPv4Network, ipaddress.IPv6Network,
                ipaddress.IPv4Address, ipaddress.IPv6Address]

#: Longest tenant, in bytes (``HARDSTORE_LIMIT_IP_TENANT``).
MAX_TENANT = 128
#: Longest reason, in bytes (``HARDSTORE_LIMIT_IP_REASON``).
MAX_REASON = 1024
#: Longest CIDR or address text, in bytes (``HARDSTORE_LIMIT_IP_TEXT``).
MAX_TEXT = 49


class IpAction(enum.IntEnum):
    """What a rule does to the addresses it covers (``HARDSTORE_IP_ALLOW``, ``_DENY``)."""

    ALLOW = 0
    DENY = 1


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(Result.INVALID_ARGUMENT, message, None)


def _action(action: Union[IpAction, int, str]) -> int:
    """The C action: ``"allow"`` / ``"deny"`` (any case), an :class:`IpAction`, or an int
    the library judges (checked to fit a ``uint32_t``, which ctypes would wrap)."""
    if isinstance(action, str):
        try:
            return int(IpAction[action.upper()])
        except KeyError:
            raise _invalid(f"IP rule action {action!r} is not 'allow' or 'deny'") from None
    try:
        n = operator.index(action)
    except TypeError:
        raise TypeError("action must be 'allow', 'deny' or an IpAction, not "
                        f"{type(action).__name__}") from None
    if not 0 <= n <= 0xFFFF_FFFF:
        raise _invalid(f"IP rule action {n} is not 0 or 1")
    return n


def _cidr(cidr: Network) -> bytes:
    if isinstance(cidr, (ipaddress.IPv4Network, ipaddress.IPv6Network,
                         ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(cidr).encode("ascii")
    return to_text(cidr, "cidr")


@dataclass(frozen=True)
class IpRule:
    """A stored rule: its network (as text, ``"10.0.0.0/8"``), action, tenant (``None``
    for a global rule), when it stops applying (``None``: never), reason, when it was
    last put, and its prefix length."""

    cidr: str
    action: IpAction
    tenant: Optional[str]
    expires_at: Optional[int]
    reason: str
    updated_at: int
    prefix_len: int

    @property
    def network(self) -> Union[ipaddress.IPv4Network, ipaddress.IPv6Network]:
        """:attr:`cidr` as an :mod:`ipaddress` network."""
        return ipaddress.ip_network(self.cidr)


@dataclass(frozen=True)
class IpVerdict:
    """A check's answer: whether the address may in, and the rule that decided, if any:
    its network as text (``cidr``), ``action``, whether it is global (``global_``, with
    a trailing underscore as ``global`` is a Python keyword; ``False`` when no rule
    decided) and its prefix length. No rule covering the address: allowed, and
    ``cidr``, ``action`` and ``prefix_len`` are ``None``."""

    allowed: bool
    cidr: Optional[str]
    action: Optional[IpAction]
    global_: bool
    prefix_len: Optional[int] = None

    @property
    def matched(self) -> bool:
        """Whether a rule decided (``False``: none covers the address)."""
        return self.cidr is not None

    @property
    def network(self) -> Optional[Union[ipaddress.IPv4Network, ipaddress.IPv6Network]]:
        """The deciding rule's network as an :mod:`ipaddress` network, if any."""
        return None if self.cidr is None else ipaddress.ip_network(self.cidr)

    @classmethod
    def _from_c(cls, v: hardstore_ip_verdict) -> "IpVerdict":
        if not v.matched:
            return cls(bool(v.allowed), None, None, False, None)
        text = bytes(v.cidr).split(b"\0", 1)[0].decode("ascii")
        return cls(bool(v.allowed), text, IpAction(v.action), bool(getattr(v, "global")),
                   v.prefix_len)


class IpRules(StoreBound):
    """The store's IP rules (``store.ip_rules``): put, remove, list, check, and the purge
    of expired rules.

    Limits, in bytes: tenant 1..=128 (``None`` or empty: the global rules, where a
    scope is asked for), reason at most 1024, CIDR or address text at most 49. A
    malformed network or address, host bits set, a prefix too long or an unknown action
    raise :class:`~hardstore.InvalidArgument`; longer text :class:`~hardstore.TooLong`;
    bad UTF-8 :class:`~hardstore.InvalidUtf8`. Nothing changes then."""

    def put(self, cidr: Network, action: Union[IpAction, int, str],
            tenant: Optional[Text] = None, expires_at: Optional[int] = None,
            reason: Text = "") -> bool:
        """Puts a rule for ``cidr`` (text such as ``"10.0.0.0/8"`` or ``"2001:db8::/32"``,
        or an :mod:`ipaddress` network or address) with ``action`` (``"allow"``,
        ``"deny"`` or an :class:`IpAction`) under ``tenant`` (``None``: global), applying
        until ``expires_at`` (µs since the epoch; ``None``: forever), durably and
        audited. It replaces the rule of the same scope and network; returns whether
        there was one."""
        t, c, r = to_text(tenant, "tenant"), _cidr(cidr), to_text(reason, "reason")
        expires = 0 if expires_at is None else to_u64(expires_at, "expires_at")
        replaced = c_bool(False)
        lib.hardstore_ip_rule_put(self._h, t, len(t), c, len(c), _action(action), expires,
                                  r, len(r), byref(replaced))
        return replaced.value

    def remove(self, cidr: Network, tenant: Optional[Text] = None) -> None:
        """Removes the rule of ``tenant`` (``None``: global) for ``cidr``, durably and
        audited. :class:`~hardstore.NotFound` when there is none."""
        t, c = to_text(tenant, "tenant"), _cidr(cidr)
        lib.hardstore_ip_rule_remove(self._h, t, len(t), c, len(c))

    def list(self, tenant: Optional[Text] = None) -> List[IpRule]:
        """The rules of ``tenant`` (``None``: the global ones), in network order, expired
        ones included."""
        t = to_text(tenant, "tenant")
        scope = t.decode("utf-8") if t else None
        p = ctypes.POINTER(hardstore_ip_rules)()
        lib.hardstore_ip_rule_list(self._h, t, len(t), byref(p))
        try:
            out = []
            cp, cl, rp, rl = u8p(), c_size_t(0), u8p(), c_size_t(0)
            info = hardstore_ip_rule_info()
            for i in range(lib.hardstore_ip_rule_list_len(p)):
                lib.hardstore_ip_rule_list_get(p, i, byref(cp), byref(cl), byref(rp), byref(rl),
                                               byref(info))
                out.append(IpRule(
                    cidr=borrowed(cp, cl.value).decode("ascii"),
                    action=IpAction(info.action),
                    tenant=scope,
                    expires_at=info.expires_at or None,
                    reason=borrowed(rp, rl.value).decode("utf-8"),
                    updated_at=info.updated_at,
                    prefix_len=info.prefix_len,
                ))
            return out
        finally:
            lib.hardstore_ip_rule_list_free(p)

    def check(self, tenant: Text, ip: Address) -> IpVerdict:
        """Checks ``ip`` for ``tenant`` (1..=128 bytes) now: see the module docs for
        which rule decides. ``ip`` is text (a plain IPv4 or IPv6 address, no port or
        zone), an :class:`ipaddress.IPv4Address` / :class:`~ipaddress.IPv6Address`, or
        the address's packed bytes in network order (4 or 16, as ``socket.inet_pton``
        gives them); those two go through ``hardstore_ip_check_bytes``, without
        parsing text."""
        t = to_text(tenant, "tenant")
        out = hardstore_ip_verdict()
        if isinstance(ip, str):
            a = ip.encode("utf-8", "surrogatepass")
            lib.hardstore_ip_check(self._h, t, len(t), a, len(a), byref(out))
        elif isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            a = ip.packed
            lib.hardstore_ip_check_bytes(self._h, t, len(t), a, len(a), byref(out))
        elif isinstance(ip, (bytes, bytearray, memoryview)):
            a = to_bytes(ip, "ip")
            lib.hardstore_ip_check_bytes(self._h, t, len(t), a, len(a), byref(out))
        else:
            raise TypeError(
                f"ip must be a str, an ipaddress address or packed bytes, not {type(ip).__name__}")
        return IpVerdict._from_c(out)

    def expired(self) -> int:
        """How many rules (every scope) have expired now. Changes nothing."""
        n = c_uint64(0)
        lib.hardstore_ip_rules_expired(self._h, byref(n))
        return n.value

    def purge_expired(self, confirm: int = 0) -> int:
        """Deletes every expired rule, durably and audited, and returns how many. When
        that is more than ``confirm`` it deletes nothing and raises
        :class:`~hardstore.ConfirmationRequired`, whose message names the count: get it
        first with :meth:`expired`."""
        n = c_uint64(0)
        lib.hardstore_ip_rules_purge_expired(self._h, to_u64(confirm, "confirm"), byref(n))
        return n.value
