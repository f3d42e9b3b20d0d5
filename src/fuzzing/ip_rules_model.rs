//! The IP-rules fuzz target's body: CIDR and address text parsed from raw bytes, then
//! puts, removes, checks and reopens against a model of the deciding rule.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Bytes, SharedMemoryBackend};
use crate::ip_rules::{parse_ip, Cidr, IpAction, NewIpRule};
use crate::{Clock, ManualClock, Options, Store};

/// (scope, network) -> (deny, expires_at or u64::MAX)
type Model = BTreeMap<(Option<&'static str>, Cidr), (bool, u64)>;

/// The model's answer: the longest live network containing `ip` among the tenant's and
/// the global rules; at equal length deny, then the tenant's. (allowed, network, global)
fn decide(m: &Model, tenant: &'static str, ip: IpAddr, now: u64) -> (bool, Option<(Cidr, bool)>) {
    let ip = match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let best = m
        .iter()
        .filter(|((scope, c), (_, exp))| {
            (scope.is_none() || *scope == Some(tenant)) && c.contains(ip) && *exp > now
        })
        .max_by_key(|((scope, c), (deny, _))| (c.len(), *deny, scope.is_some()));
    match best {
        Some(((scope, c), (deny, _))) => (!deny, Some((*c, scope.is_none()))),
        None => (true, None),
    }
}

/// An address near the model's networks (so checks land inside rules often).
fn address(input: &mut Bytes<'_>, nets: &[Cidr]) -> IpAddr {
    let pick = input.u8();
    let noise = u128::from(input.u16()) | (u128::from(input.u8()) << 16);
    match nets.get(usize::from(pick) % (nets.len() + 2)) {
        Some(c) => match c.addr() {
            IpAddr::V4(a) => {
                IpAddr::V4(Ipv4Addr::from(u32::from(a) ^ (noise as u32 >> (pick % 32))))
            }
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) ^ (noise << (pick % 100)))),
        },
        None if pick.is_multiple_of(2) => IpAddr::V4(Ipv4Addr::from(noise as u32)),
        None => IpAddr::V6(Ipv6Addr::from(noise << 100)),
    }
}

/// Raw text never panics the parsers, and what parses prints back to itself; then a
/// sequence of rule changes and checks agrees with the model after every step and across
/// reopens (the lookup rebuilt from the table); bad removes are `NotFound`.
pub fn ip_rules_model(data: &[u8]) {
    let (text, rest) = data.split_at(
        data.len()
            .min(usize::from(data.first().copied().unwrap_or(0) % 64)),
    );
    if let Ok(s) = std::str::from_utf8(text) {
        if let Ok(c) = s.parse::<Cidr>() {
            assert_eq!(c.to_string().parse::<Cidr>().expect("prints back"), c);
        }
        if let Ok(ip) = parse_ip(s) {
            assert_eq!(parse_ip(&ip.to_string()).expect("prints back"), ip);
        }
    }
    const TENANTS: [&str; 2] = ["a", "b"];
    let mut input = Bytes(rest);
    let clock = ManualClock::new(1_000_000);
    let opts = || Options::new().clock(clock.clone());
    let backend = SharedMemoryBackend::default();
    let mut store = Store::open_with_backend(backend.clone(), opts()).expect("opens");
    let mut model: Model = BTreeMap::new();
    let mut nets: Vec<Cidr> = Vec::new();
    let mut steps = 0;
    while !input.done() && steps < 300 {
        steps += 1;
        let now = Clock::now(&clock);
        match input.u8() % 8 {
            0..=2 => {
                // A network: near one already used (nesting), or fresh.
                let v4 = input.u8() % 3 != 0;
                let len = if v4 {
                    input.u8() % 33
                } else {
                    input.u8() % 129
                };
                let base = address(&mut input, &nets);
                let bits = match (v4, base) {
                    (true, IpAddr::V4(a)) => u128::from(u32::from(a)),
                    (true, IpAddr::V6(a)) => u128::from(a) as u32 as u128,
                    (false, IpAddr::V4(a)) => u128::from(u32::from(a)) << 96,
                    (false, IpAddr::V6(a)) => u128::from(a),
                };
                let (max, addr_of) = if v4 { (32u32, 0) } else { (128u32, 1) };
                let mask = if len == 0 {
                    0
                } else {
                    (u128::MAX << (128 - u32::from(len))) >> (128 - max)
                };
                let addr = if addr_of == 0 {
                    IpAddr::V4(Ipv4Addr::from((bits & mask) as u32))
                } else {
                    IpAddr::V6(Ipv6Addr::from(bits & mask))
                };
                let c = Cidr::new(addr, len).expect("masked");
                let scope = match input.u8() % 3 {
                    0 => None,
                    n => Some(TENANTS[usize::from(n - 1)]),
                };
                let deny = input.u8() % 2 == 0;
                let exp = match input.u8() % 4 {
                    0 => now + u64::from(input.u8()) * 1000,
                    _ => u64::MAX,
                };
                let mut r = NewIpRule::new(
                    c,
                    if deny {
                        IpAction::Deny
                    } else {
                        IpAction::Allow
                    },
                );
                if let Some(t) = scope {
                    r = r.tenant(t);
                }
                if exp != u64::MAX {
                    r = r.expires_at(exp);
                }
                let old = store.ip_rules().put(r).expect("put");
                assert_eq!(
                    old.is_some(),
                    model.insert((scope, c), (deny, exp)).is_some()
                );
                nets.push(c);
            }
            3 => {
                if let Some(c) = nets
                    .get(usize::from(input.u8()) % nets.len().max(1))
                    .copied()
                {
                    let scope = if input.u8() % 2 == 0 {
                        None
                    } else {
                        Some(TENANTS[0])
                    };
                    let got = store.ip_rules().remove(scope, c);
                    match model.remove(&(scope, c)) {
                        Some(_) => assert!(got.is_ok(), "{got:?}"),
                        None => assert!(matches!(got, Err(crate::Error::NotFound(_))), "{got:?}"),
                    }
                }
            }
            4 => clock.advance(u64::from(input.u8()) * 500),
            5 if input.u8() % 4 == 0 => {
                store.close().expect("closes");
                store = Store::open_with_backend(backend.clone(), opts()).expect("reopens");
            }
            _ => {
                let tenant = TENANTS[usize::from(input.u8() % 2)];
                for _ in 0..4 {
                    let ip = address(&mut input, &nets);
                    let v = store.ip_rules().check(tenant, ip).expect("checks");
                    let (allowed, rule) = decide(&model, tenant, ip, Clock::now(&clock));
                    assert_eq!(v.allowed, allowed, "{ip} for {tenant}");
                    assert_eq!(
                        v.rule.map(|m| (m.cidr, m.global)),
                        rule,
                        "{ip} for {tenant}"
                    );
                }
            }
        }
    }
    assert_eq!(
        store.ip_rules().list(None).expect("lists").len(),
        model.keys().filter(|(s, _)| s.is_none()).count()
    );
    store.close().expect("closes");
}
