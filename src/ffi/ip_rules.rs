//! The C ABI for IP rules: put, remove, list, check (an address as text or as bytes),
//! and the purge of expired rules with confirmation.
//!
//! A tenant of length 0 means the global rules. Times are microseconds since the epoch.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::store::hardstore_store;
use super::{arg, bytes_arg, free_box, guard, hardstore_result, out, str_arg, FfiResult};
use crate::error::Error;
use crate::ip_rules::{limits, Cidr, IpAction, IpRule, IpVerdict, NewIpRule};

/// Rule action: let the addresses in.
pub const HARDSTORE_IP_ALLOW: u32 = 0;
/// Rule action: keep them out.
pub const HARDSTORE_IP_DENY: u32 = 1;
/// Longest IP-rule tenant, in bytes.
pub const HARDSTORE_LIMIT_IP_TENANT: usize = 128;
/// Longest IP-rule reason, in bytes.
pub const HARDSTORE_LIMIT_IP_REASON: usize = 1024;
/// Longest CIDR or address text, in bytes.
pub const HARDSTORE_LIMIT_IP_TEXT: usize = 49;
/// Room for a CIDR's text in `hardstore_ip_verdict`, NUL included.
pub const HARDSTORE_IP_CIDR_TEXT: usize = 52;

const _: () = assert!(HARDSTORE_LIMIT_IP_TENANT == limits::TENANT);
const _: () = assert!(HARDSTORE_LIMIT_IP_REASON == limits::REASON);
const _: () = assert!(HARDSTORE_IP_CIDR_TEXT > HARDSTORE_LIMIT_IP_TEXT);

/// A check's answer.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_ip_verdict {
    /// Whether the address may in.
    pub allowed: bool,
    /// Whether a rule decided (false: none covers the address; allowed).
    pub matched: bool,
    /// The deciding rule's action (`HARDSTORE_IP_ALLOW` or `_DENY`).
    pub action: u32,
    /// Whether the deciding rule is global (false: the tenant's).
    pub global: bool,
    /// The deciding rule's prefix length.
    pub prefix_len: u8,
    /// The deciding rule's network as text, NUL-terminated (empty when none decided).
    pub cidr: [u8; HARDSTORE_IP_CIDR_TEXT],
}

/// The numeric fields of a listed rule.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_ip_rule_info {
    /// `HARDSTORE_IP_ALLOW` or `_DENY`.
    pub action: u32,
    /// When it stops applying; 0: never.
    pub expires_at: u64,
    /// When it was put.
    pub updated_at: u64,
    /// Its prefix length.
    pub prefix_len: u8,
}

/// Rules of one scope (from `hardstore_ip_rule_list`, free with
/// `hardstore_ip_rule_list_free`).
pub struct hardstore_ip_rules {
    items: Vec<(IpRule, String)>,
}

unsafe fn tenant_arg<'a>(p: *const u8, len: usize) -> FfiResult<Option<&'a str>> {
    let t = str_arg(p, len, "tenant", limits::TENANT)?;
    Ok((!t.is_empty()).then_some(t))
}

unsafe fn cidr_arg(p: *const u8, len: usize) -> FfiResult<Cidr> {
    Ok(str_arg(p, len, "cidr", HARDSTORE_LIMIT_IP_TEXT)?.parse()?)
}

fn action_arg(a: u32) -> FfiResult<IpAction> {
    match a {
        HARDSTORE_IP_ALLOW => Ok(IpAction::Allow),
        HARDSTORE_IP_DENY => Ok(IpAction::Deny),
        _ => Err(Error::InvalidArgument(format!("IP rule action {a} is not 0 or 1")).into()),
    }
}

fn verdict_out(v: IpVerdict) -> hardstore_ip_verdict {
    let mut o = hardstore_ip_verdict {
        allowed: v.allowed,
        matched: v.rule.is_some(),
        action: HARDSTORE_IP_ALLOW,
        global: false,
        prefix_len: 0,
        cidr: [0; HARDSTORE_IP_CIDR_TEXT],
    };
    if let Some(m) = v.rule {
        o.action = m.action as u32;
        o.global = m.global;
        o.prefix_len = m.cidr.len();
        let text = m.cidr.to_string();
        // The longest CIDR text is 49 bytes (HARDSTORE_LIMIT_IP_TEXT): it always fits.
        let n = text.len().min(HARDSTORE_IP_CIDR_TEXT - 1);
        o.cidr[..n].copy_from_slice(&text.as_bytes()[..n]);
    }
    o
}

/// Puts a rule for `cidr` (text, `a.b.c.d/n` or `x::/n`; host bits set are refused) under
/// `tenant` (empty: global), durably, with an audit entry; it replaces the rule of the
/// same scope and network (`*out_replaced` says whether there was one). `action` is
/// `HARDSTORE_IP_ALLOW` or `_DENY`; `expires_at` 0 for never; `reason` at most 1024 bytes.
#[no_mangle]
pub unsafe extern "C" fn hardstore_ip_rule_put(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    cidr: *const u8,
    cidr_len: usize,
    action: u32,
    expires_at: u64,
    reason: *const u8,
    reason_len: usize,
    out_replaced: *mut bool,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = tenant_arg(tenant, tenant_len)?;
        let mut r = NewIpRule::new(cidr_arg(cidr, cidr_len)?, action_arg(action)?).reason(str_arg(
            reason,
            reason_len,
            "reason",
            limits::REASON,
        )?);
        if let Some(t) = t {
            r = r.tenant(t);
        }
        if expires_at != 0 {
            r = r.expires_at(expires_at);
        }
        let o = out(out_replaced, "out_replaced")?;
        *o = s.store.ip_rules().put(r)?.is_some();
        Ok(())
    })
}

/// Removes the rule of `tenant` (empty: global) for `cidr`, durably, with an audit
/// entry. None: `HARDSTORE_NOT_FOUND`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_ip_rule_remove(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    cidr: *const u8,
    cidr_len: usize,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = tenant_arg(tenant, tenant_len)?;
        s.store.ip_rules().remove(t, cidr_arg(cidr, cidr_len)?)?;
        Ok(())
    })
}

/// Checks the address `ip` (text: a plain IPv4 or IPv6 address) for `tenant` (at most
/// 128 bytes; empty: the global rules only) now, and writes the answer to `*out_verdict`. Which rule decides: the README's
/// IP rules section (longest prefix, then deny, then the tenant's; none: allowed).
#[no_mangle]
pub unsafe extern "C" fn hardstore_ip_check(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    ip: *const u8,
    ip_len: usize,
    out_verdict: *mut hardstore_ip_verdict,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = str_arg(tenant, tenant_len, "tenant", limits::TENANT)?;
        let ip = str_arg(ip, ip_len, "ip", HARDSTORE_LIMIT_IP_TEXT)?;
        let o = out(out_verdict, "out_verdict")?;
        *o = verdict_out(s.store.ip_rules().check_str(t, ip)?);
        Ok(())
    })
}

/// `hardstore_ip_check` of an address as bytes in network order: 4 bytes (IPv4) or 16
/// (IPv6), as in `sin_addr` / `sin6_addr`. Any other length: `HARDSTORE_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_ip_check_bytes(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    addr: *const u8,
    addr_len: usize,
    out_verdict: *mut hardstore_ip_verdict,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = str_arg(tenant, tenant_len, "tenant", limits::TENANT)?;
        let b = bytes_arg(addr, addr_len, "addr")?;
        let ip = match b.len() {
            4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b).expect("4 bytes"))),
            16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).expect("16 bytes"))),
            n => {
                return Err(
                    Error::InvalidArgument(format!("an address of {n} bytes (4 or 16)")).into(),
                )
            }
        };
        let o = out(out_verdict, "out_verdict")?;
        *o = verdict_out(s.store.ip_rules().check(t, ip)?);
        Ok(())
    })
}

/// Writes the rules of `tenant` (empty: the global ones), in network order, expired ones
/// included, to a new `*out_list` owned by the caller (free with
/// `hardstore_ip_rule_list_free`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_ip_rule_list(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    out_list: *mut *mut hardstore_ip_rules,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let t = tenant_arg(tenant, tenant_len)?;
        let o = out(out_list, "out_list")?;
        let items = s
            .store
            .ip_rules()
            .list(t)?
            .into_iter()
            .map(|r| {
                let text = r.cidr.to_string();
                (r, text)
            })
            .collect();
        *o = Box::into_raw(Box::new(hardstore_ip_rules { items }));
        Ok(())
    })
}

/// How many rules a list holds; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_ip_rule_list_len(list: *const hardstore_ip_rules) -> usize {
    list.as_ref().map_or(0, |l| l.items.len())
}

/// Writes rule `index` of a list: its network and reason as text (borrowed from the
/// list, not NUL-terminated) and its numeric fields. An index past the end is
/// `HARDSTORE_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_ip_rule_list_get(
    list: *const hardstore_ip_rules,
    index: usize,
    out_cidr: *mut *const u8,
    out_cidr_len: *mut usize,
    out_reason: *mut *const u8,
    out_reason_len: *mut usize,
    out_info: *mut hardstore_ip_rule_info,
) -> hardstore_result {
    guard(|| {
        let l = arg(list, "list")?;
        let (oc, ocl) = (
            out(out_cidr, "out_cidr")?,
            out(out_cidr_len, "out_cidr_len")?,
        );
        let (or, orl) = (
            out(out_reason, "out_reason")?,
            out(out_reason_len, "out_reason_len")?,
        );
        let oi = out(out_info, "out_info")?;
        let (r, text) = l.items.get(index).ok_or_else(|| {
            Error::InvalidArgument(format!("rule {index} of a list of {}", l.items.len()))
        })?;
        (*oc, *ocl) = (text.as_ptr(), text.len());
        (*or, *orl) = (r.reason.as_ptr(), r.reason.len());
        *oi = hardstore_ip_rule_info {
            action: r.action as u32,
            expires_at: r.expires_at.unwrap_or(0),
            updated_at: r.updated_at,
            prefix_len: r.cidr.len(),
        };
        Ok(())
    })
}

/// Frees a list (and the strings it lent). NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_ip_rule_list_free(list: *mut hardstore_ip_rules) {
    free_box(list);
}

/// Writes how many rules (every scope) have expired now to `*out_count`. Changes
/// nothing.
#[no_mangle]
pub unsafe extern "C" fn hardstore_ip_rules_expired(
    store: *const hardstore_store,
    out_count: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_count, "out_count")?;
        *o = s.store.ip_rules().expired()?;
        Ok(())
    })
}

/// Deletes every expired rule, durably, with audit entries; refused with
/// `HARDSTORE_CONFIRMATION_REQUIRED` (deleting nothing) when more than `confirm` have
/// expired. Writes how many it deleted to `*out_deleted`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_ip_rules_purge_expired(
    store: *const hardstore_store,
    confirm: u64,
    out_deleted: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_deleted, "out_deleted")?;
        *o = s.store.ip_rules().purge_expired(confirm)?;
        Ok(())
    })
}
