"""IP rules end to end (the ground of tests/c/ip_rules_test.c): the longest prefix
decides, deny beats allow at equal length, the tenant's rule over a global one, no rule
allows, addresses as text, as ipaddress objects and as packed bytes (IPv4, IPv6, mapped
IPv4), expiry, a purge that raises ConfirmationRequired until its count is confirmed,
replace and remove, rules kept across a reopen, the list, audit entries, and bad input
refused with the right exception."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import List

import pytest

import hardstore
from hardstore import IpAction, IpRule, IpVerdict

from conftest import SEC

T0 = 1_000 * SEC  # the manual clock's start (conftest)


def _rules(store: hardstore.Store) -> None:
    ip = store.ip_rules
    ip.put("10.0.0.0/8", "deny", reason="test")
    ip.put("10.1.0.0/16", IpAction.ALLOW, "acme", reason="test")
    ip.put("192.0.2.0/24", "allow", tenant="acme", reason="test")
    ip.put("192.0.2.0/24", IpAction.DENY, reason="test")
    ip.put(ipaddress.ip_network("2001:db8::/32"), "DENY", reason="test")
    ip.put("10.9.9.9/32", "allow", expires_at=T0 + 10 * SEC, reason="test")


def _actions(store: hardstore.Store, tenant: str) -> List[str]:
    return [e.action for e in store.audit.query(tenant)]


def test_which_rule_decides(clocked_store: hardstore.Store) -> None:
    _rules(clocked_store)
    check = clocked_store.ip_rules.check
    # The tenant's longer allow beats the global /8 deny.
    v = check("acme", "10.1.2.3")
    assert v == IpVerdict(allowed=True, cidr="10.1.0.0/16", action=IpAction.ALLOW,
                          global_=False, prefix_len=16)
    assert v.matched and v.network == ipaddress.ip_network("10.1.0.0/16")
    assert isinstance(v.action, IpAction)
    # Another tenant only has the global rule.
    assert check("other", "10.1.2.3") == IpVerdict(False, "10.0.0.0/8", IpAction.DENY, True, 8)
    # At equal length deny beats allow, even the tenant's allow.
    v = check("acme", "192.0.2.1")
    assert not v.allowed and v.global_ and v.prefix_len == 24 and v.action == IpAction.DENY
    # No rule: allowed, nothing matched.
    v = check("acme", "203.0.113.1")
    assert v == IpVerdict(True, None, None, False, None)
    assert not v.matched and v.network is None
    assert check("acme", "2001:db8::1") == IpVerdict(False, "2001:db8::/32", IpAction.DENY,
                                                     True, 32)
    # A mapped IPv4 address is checked as the IPv4 address.
    v = check("acme", "::ffff:10.1.0.1")
    assert v.allowed and v.prefix_len == 16 and v.cidr == "10.1.0.0/16"


def test_equal_rules_report_the_tenants(clocked_store: hardstore.Store) -> None:
    ip = clocked_store.ip_rules
    ip.put("198.51.100.0/24", "deny")
    ip.put("198.51.100.0/24", "deny", "acme")
    assert ip.check("acme", "198.51.100.7") == IpVerdict(False, "198.51.100.0/24",
                                                         IpAction.DENY, False, 24)
    assert ip.check("globex", "198.51.100.7").global_


def test_addresses_as_objects_and_bytes(clocked_store: hardstore.Store) -> None:
    _rules(clocked_store)
    check = clocked_store.ip_rules.check
    v = check("acme", ipaddress.IPv4Address("10.200.0.1"))
    assert not v.allowed and v.prefix_len == 8
    v = check("acme", ipaddress.ip_address("2001:db8::"))
    assert not v.allowed and v.prefix_len == 32
    v = check("acme", ipaddress.IPv6Address("::ffff:10.1.0.1"))  # mapped, as bytes
    assert v.allowed and v.prefix_len == 16
    assert check("acme", ipaddress.ip_address("10.1.2.3")) == check("acme", "10.1.2.3")
    # Packed bytes in network order, as in sin_addr / sin6_addr.
    assert not check("acme", bytes([10, 200, 0, 1])).allowed
    assert check("acme", socket.inet_pton(socket.AF_INET6, "2001:db8::1")).prefix_len == 32
    assert check("acme", bytearray([192, 0, 2, 9])).prefix_len == 24
    assert check("acme", memoryview(bytes([203, 0, 113, 1]))).allowed
    with pytest.raises(hardstore.InvalidArgument) as info:
        check("acme", bytes(5))
    assert info.value.function == "hardstore_ip_check_bytes" and "5" in info.value.message
    with pytest.raises(hardstore.InvalidArgument):
        check("acme", b"10.1.2.3")  # bytes are packed, not text
    with pytest.raises(TypeError):
        check("acme", 167772161)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        check("acme", ipaddress.ip_network("10.0.0.0/8"))  # type: ignore[arg-type]


def test_expiry_and_a_purge_that_asks_for_its_count(clocked_store: hardstore.Store,
                                                    clock: hardstore.ManualClock) -> None:
    _rules(clocked_store)
    ip = clocked_store.ip_rules
    v = ip.check("acme", "10.9.9.9")
    assert v.allowed and v.prefix_len == 32 and v.global_
    assert ip.expired() == 0
    assert ip.purge_expired() == 0  # nothing expired: nothing to confirm
    clock.advance(11 * SEC)
    # The /32 allow stopped deciding: its parent does.
    v = ip.check("acme", "10.9.9.9")
    assert not v.allowed and v.prefix_len == 8
    assert ip.expired() == 1
    # Expired rules are still listed until purged.
    assert [r.cidr for r in ip.list() if r.expires_at] == ["10.9.9.9/32"]

    audit_size = clocked_store.audit.size()
    with pytest.raises(hardstore.ConfirmationRequired) as info:
        ip.purge_expired()
    assert info.value.code == hardstore.Result.CONFIRMATION_REQUIRED
    assert info.value.function == "hardstore_ip_rules_purge_expired"
    assert "1" in info.value.message
    with pytest.raises(hardstore.ConfirmationRequired):
        ip.purge_expired(0)
    assert ip.expired() == 1 and clocked_store.audit.size() == audit_size  # nothing done
    assert ip.purge_expired(confirm=ip.expired()) == 1
    assert ip.expired() == 0
    assert "10.9.9.9/32" not in [r.cidr for r in ip.list()]
    assert _actions(clocked_store, "hardstore")[-1] == "ip_rule.purge"
    with pytest.raises(hardstore.InvalidArgument):
        ip.purge_expired(-1)


def test_replace_remove_list_and_reopen(store_path: Path,
                                        clock: hardstore.ManualClock) -> None:
    with hardstore.open(store_path, clock=clock) as s:
        _rules(s)
        ip = s.ip_rules
        clock.advance(2 * SEC)
        assert ip.put("10.1.0.0/16", "deny", "acme", None, "abuse") is True
        assert ip.put("172.16.0.0/12", "deny", "acme") is False
        ip.remove("192.0.2.0/24", "acme")
        ip.remove(ipaddress.ip_network("172.16.0.0/12"), tenant="acme")
        with pytest.raises(hardstore.NotFound) as info:
            ip.remove("192.0.2.0/24", "acme")
        assert info.value.function == "hardstore_ip_rule_remove"
        with pytest.raises(hardstore.NotFound):
            ip.remove("10.1.0.0/16")  # that network's rule is the tenant's, not global
        assert _actions(s, "acme") == ["ip_rule.put", "ip_rule.put", "ip_rule.put",
                                       "ip_rule.put", "ip_rule.remove", "ip_rule.remove"]
        assert _actions(s, "hardstore") == ["ip_rule.put"] * 4  # the global ones
    with hardstore.open(store_path, clock=clock) as s:
        ip = s.ip_rules
        v = ip.check("acme", "10.1.2.3")
        assert not v.allowed and not v.global_ and v.cidr == "10.1.0.0/16"
        acme = ip.list("acme")
        assert acme == [IpRule(cidr="10.1.0.0/16", action=IpAction.DENY, tenant="acme",
                               expires_at=None, reason="abuse", updated_at=T0 + 2 * SEC,
                               prefix_len=16)]
        assert acme[0].network == ipaddress.ip_network("10.1.0.0/16")
        every = ip.list()
        assert ip.list("") == every
        # Network order, expired ones included; global rules have no tenant.
        assert [(r.cidr, r.action, r.prefix_len) for r in every] == [
            ("10.0.0.0/8", IpAction.DENY, 8),
            ("10.9.9.9/32", IpAction.ALLOW, 32),
            ("192.0.2.0/24", IpAction.DENY, 24),
            ("2001:db8::/32", IpAction.DENY, 32),
        ]
        assert all(r.tenant is None and r.reason == "test" and r.updated_at == T0
                   for r in every)
        assert every[1].expires_at == T0 + 10 * SEC and every[0].expires_at is None
        assert ip.list("nobody") == []


def test_a_bare_address_is_a_host_rule(clocked_store: hardstore.Store) -> None:
    ip = clocked_store.ip_rules
    ip.put("192.0.2.7", "deny")
    ip.put(ipaddress.ip_address("2001:db8::9"), "deny")
    assert [(r.cidr, r.prefix_len) for r in ip.list()] == [("192.0.2.7/32", 32),
                                                           ("2001:db8::9/128", 128)]
    assert not ip.check("acme", "192.0.2.7").allowed
    assert ip.check("acme", "192.0.2.8").allowed


def test_bad_input_is_refused_and_changes_nothing(clocked_store: hardstore.Store) -> None:
    _rules(clocked_store)
    ip = clocked_store.ip_rules
    size = clocked_store.audit.size()
    before = ip.list()

    for cidr in ("10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "/8", "", "nope", "2001:db8::1/32"):
        with pytest.raises(hardstore.InvalidArgument) as info:
            ip.put(cidr, "deny")
        assert type(info.value) is hardstore.InvalidArgument, cidr
        assert info.value.function == "hardstore_ip_rule_put" and info.value.message
    with pytest.raises(hardstore.InvalidArgument) as info:
        ip.put("10.0.0.0/8", 7)
    assert info.value.function == "hardstore_ip_rule_put" and "7" in info.value.message
    with pytest.raises(hardstore.InvalidArgument) as info:
        ip.put("10.0.0.0/8", 2**32)  # would wrap to 0 (allow) in a uint32_t
    assert info.value.function is None
    with pytest.raises(hardstore.InvalidArgument) as info:
        ip.put("10.0.0.0/8", "block")
    assert info.value.function is None and "block" in info.value.message
    with pytest.raises(TypeError):
        ip.put("10.0.0.0/8", None)  # type: ignore[arg-type]
    with pytest.raises(hardstore.InvalidArgument):
        ip.put("10.0.0.0/8", "deny", expires_at=-1)
    with pytest.raises(hardstore.TooLong):
        ip.put("1" * 50, "deny")
    with pytest.raises(hardstore.TooLong):
        ip.put("10.0.0.0/8", "deny", "t" * 129)
    with pytest.raises(hardstore.TooLong):
        ip.put("10.0.0.0/8", "deny", reason="r" * 1025)
    with pytest.raises(hardstore.InvalidUtf8):
        ip.put("10.0.0.0/8", "deny", reason=b"\xff")
    with pytest.raises(hardstore.InvalidUtf8):
        ip.put("10.0.0.0/8", "deny", b"\xfe")

    for bad in ("1.2.3", "1.2.3.4:80", "10.0.0.0/8", "", " 1.2.3.4", "fe80::1%eth0"):
        with pytest.raises(hardstore.InvalidArgument) as info:
            ip.check("acme", bad)
        assert type(info.value) is hardstore.InvalidArgument, bad
        assert info.value.function == "hardstore_ip_check"
    with pytest.raises(hardstore.TooLong):
        ip.check("acme", "1" * 80)
    with pytest.raises(hardstore.TooLong):
        ip.check("t" * 129, "10.1.2.3")
    with pytest.raises(hardstore.InvalidArgument):
        ip.remove("10.0.0.1/8")
    with pytest.raises(hardstore.TooLong):
        ip.list("t" * 129)

    assert ip.list() == before and clocked_store.audit.size() == size
    # The limits themselves are fine.
    ip.put("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "deny", "t" * 128, reason="r" * 1024)


def test_a_closed_store_raises_store_closed(store_path: Path) -> None:
    s = hardstore.open(store_path)
    ip = s.ip_rules
    s.close()
    with pytest.raises(hardstore.StoreClosed) as info:
        ip.check("acme", "10.1.2.3")
    assert info.value.function == "IpRules.check"
    with pytest.raises(hardstore.StoreClosed):
        ip.put("10.0.0.0/8", "deny")
