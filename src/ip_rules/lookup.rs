//! The in-memory lookup of one scope's rules: the address space cut into intervals, each
//! naming the most specific rule that covers it, searched by binary search.
//!
//! CIDR networks are nested or disjoint (never overlapping otherwise), so sorting them
//! by (first address, length) and sweeping with a stack of the enclosing networks gives
//! every interval's innermost network. Each rule also names its parent (the next
//! enclosing network's rule), so an expired rule hands the decision to its parent
//! without a rebuild.
//!
//! Invariants:
//! - `starts` is strictly ascending and begins at 0; interval i covers
//!   `starts[i] ..= starts[i+1]-1` (the last one to the family's end).
//! - `rules[at[i]]` is the longest network covering interval i (`NONE`: none does).
//! - A rule's parent is strictly shorter and contains it.

use super::cidr::Cidr;

pub(crate) const NONE: u32 = u32::MAX;

/// One rule as the lookup needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub(crate) cidr: Cidr,
    pub(crate) len: u8,
    pub(crate) deny: bool,
    /// Microseconds since the epoch; `u64::MAX`: never.
    pub(crate) expires_at: u64,
    pub(crate) parent: u32,
}

/// One family's intervals, `T` its address integer (u32 for IPv4, u128 for IPv6: a
/// quarter of the bytes to search for IPv4).
#[derive(Debug, Default)]
pub(crate) struct Intervals<T> {
    starts: Vec<T>,
    at: Vec<u32>,
    /// With many intervals: `first[b]` counts the starts at or below bucket `b`'s first
    /// address (a bucket is the top 16 bits), so a search reads one bucket's starts.
    first: Vec<u32>,
}

/// Intervals past which a scope gets the bucket index (256 KiB a family).
const INDEX_FROM: usize = 4096;

pub(crate) trait Addr: Copy + Ord + Default {
    fn bucket(self) -> usize;
    fn bucket_start(b: usize) -> Self;
    fn from_bits(b: u128) -> Self;
}

impl Addr for u32 {
    fn bucket(self) -> usize {
        (self >> 16) as usize
    }
    fn bucket_start(b: usize) -> u32 {
        (b as u32) << 16
    }
    fn from_bits(b: u128) -> u32 {
        b as u32
    }
}

impl Addr for u128 {
    fn bucket(self) -> usize {
        (self >> 112) as usize
    }
    fn bucket_start(b: usize) -> u128 {
        (b as u128) << 112
    }
    fn from_bits(b: u128) -> u128 {
        b
    }
}

impl<T: Addr> Intervals<T> {
    fn from_bits(starts: Vec<u128>, at: Vec<u32>) -> Intervals<T> {
        let starts: Vec<T> = starts.into_iter().map(T::from_bits).collect();
        let first = if starts.len() >= INDEX_FROM {
            (0..=1usize << 16)
                .map(|b| {
                    if b == 1 << 16 {
                        starts.len() as u32
                    } else {
                        starts.partition_point(|&s| s <= T::bucket_start(b)) as u32
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        Intervals { starts, at, first }
    }

    /// The node of the interval holding `a`.
    fn node(&self, a: T) -> u32 {
        let n = if self.first.is_empty() {
            self.starts.partition_point(|&s| s <= a)
        } else {
            let b = a.bucket();
            let (lo, hi) = (self.first[b] as usize, self.first[b + 1] as usize);
            lo + self.starts[lo..hi].partition_point(|&s| s <= a)
        };
        // starts[0] is 0, so n >= 1 once built.
        n.checked_sub(1).map_or(NONE, |i| self.at[i])
    }
}

/// One scope's lookup.
#[derive(Debug, Default)]
pub(crate) struct Lookup {
    v4: Intervals<u32>,
    v6: Intervals<u128>,
    nodes: Vec<Node>,
}

impl Lookup {
    /// Builds it from (network, deny, expires_at) of each rule.
    pub(crate) fn build(rules: &[(Cidr, bool, u64)]) -> Lookup {
        let mut l = Lookup::default();
        for v4 in [true, false] {
            let mut order: Vec<u32> = (0..rules.len() as u32)
                .filter(|&i| rules[i as usize].0.is_v4() == v4)
                .collect();
            order.sort_by_key(|&i| {
                let c = rules[i as usize].0;
                (c.bits(), c.len())
            });
            let family_max = if v4 { u128::from(u32::MAX) } else { u128::MAX };
            let mut iv = Raw::default();
            let push = |iv: &mut Raw, start: u128, node: u32| {
                if iv.starts.last() == Some(&start) {
                    *iv.at.last_mut().expect("parallel vectors") = node;
                    if iv.at.len() >= 2 && iv.at[iv.at.len() - 2] == node {
                        iv.starts.pop();
                        iv.at.pop();
                    }
                } else if iv.at.last() != Some(&node) {
                    iv.starts.push(start);
                    iv.at.push(node);
                }
            };
            push(&mut iv, 0, NONE);
            // (last address, node) of the networks enclosing the sweep's position.
            let mut stack: Vec<(u128, u32)> = Vec::new();
            for &i in &order {
                let (c, deny, expires_at) = rules[i as usize];
                while let Some(&(end, _)) = stack.last() {
                    if end >= c.bits() {
                        break;
                    }
                    stack.pop();
                    let next = stack.last().map_or(NONE, |s| s.1);
                    push(&mut iv, end + 1, next);
                }
                let node = l.nodes.len() as u32;
                l.nodes.push(Node {
                    cidr: c,
                    len: c.len(),
                    deny,
                    expires_at,
                    parent: stack.last().map_or(NONE, |s| s.1),
                });
                push(&mut iv, c.bits(), node);
                stack.push((c.last(), node));
            }
            while let Some((end, _)) = stack.pop() {
                if end < family_max {
                    let next = stack.last().map_or(NONE, |s| s.1);
                    push(&mut iv, end + 1, next);
                }
            }
            if v4 {
                l.v4 = Intervals::from_bits(iv.starts, iv.at);
            } else {
                l.v6 = Intervals::from_bits(iv.starts, iv.at);
            }
        }
        l
    }

    /// The innermost rule covering `bits` (an IPv4 address in the low 32 bits when `v4`)
    /// that has not expired at `now`, as a node.
    pub(crate) fn find(
        &self,
        v4: bool,
        bits: u128,
        now: &mut impl FnMut() -> u64,
    ) -> Option<&Node> {
        let mut n = if v4 {
            self.v4.node(bits as u32)
        } else {
            self.v6.node(bits)
        };
        while n != NONE {
            let node = &self.nodes[n as usize];
            if node.expires_at == u64::MAX || node.expires_at > now() {
                return Some(node);
            }
            n = node.parent;
        }
        None
    }
}

/// Intervals as the sweep makes them.
#[derive(Default)]
struct Raw {
    starts: Vec<u128>,
    at: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[(&str, bool, u64)]) -> Vec<(Cidr, bool, u64)> {
        list.iter()
            .map(|(c, d, e)| (c.parse().unwrap(), *d, *e))
            .collect()
    }

    /// The model: the longest network containing the address, not expired.
    fn model(rules: &[(Cidr, bool, u64)], ip: std::net::IpAddr, now: u64) -> Option<Cidr> {
        rules
            .iter()
            .filter(|(c, _, e)| c.contains(ip) && *e > now)
            .max_by_key(|(c, _, _)| c.len())
            .map(|(c, _, _)| *c)
    }

    #[test]
    fn the_innermost_live_network_decides() {
        let r = rules(&[
            ("10.0.0.0/8", true, u64::MAX),
            ("10.1.0.0/16", false, u64::MAX),
            ("10.1.2.0/24", true, 50),
            ("10.255.255.255/32", false, u64::MAX),
            ("0.0.0.0/0", true, u64::MAX),
            ("2001:db8::/32", true, u64::MAX),
            ("::/0", false, u64::MAX),
            (
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
                true,
                u64::MAX,
            ),
        ]);
        let l = Lookup::build(&r);
        let mut rng = 0x1234_5678_9abc_def0u64;
        let probes = [
            "10.1.2.3",
            "10.1.3.3",
            "10.2.0.0",
            "10.255.255.255",
            "11.0.0.0",
            "0.0.0.0",
            "255.255.255.255",
            "9.255.255.255",
            "2001:db8::1",
            "2001:db9::",
            "::",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
        ];
        for now in [10u64, 60] {
            for p in probes {
                let ip: std::net::IpAddr = p.parse().unwrap();
                let got = l
                    .find(ip.is_ipv4(), super::super::cidr::bits(&ip), &mut || now)
                    .map(|n| n.cidr);
                assert_eq!(got, model(&r, ip, now), "{p} at {now}");
            }
            for _ in 0..2000 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::from(
                    (rng as u32 & 0x00ff_ffff) | 0x0a00_0000,
                ));
                let got = l
                    .find(true, super::super::cidr::bits(&ip), &mut || now)
                    .map(|n| n.cidr);
                assert_eq!(got, model(&r, ip, now), "{ip} at {now}");
            }
        }
    }

    #[test]
    fn the_bucket_index_answers_as_the_plain_search() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut list = Vec::new();
        let mut seen = std::collections::HashSet::new();
        while list.len() < 5000 {
            let len = 8 + (next() % 25) as u8;
            let a = (next() as u32) & (u32::MAX << (32 - len));
            if seen.insert((a, len)) {
                let c = Cidr::new(std::net::Ipv4Addr::from(a).into(), len).unwrap();
                list.push((c, next() % 2 == 0, u64::MAX));
            }
        }
        let l = Lookup::build(&list);
        assert!(!l.v4.first.is_empty(), "indexed");
        for _ in 0..3000 {
            let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::from(next() as u32));
            let got = l
                .find(true, super::super::cidr::bits(&ip), &mut || 0)
                .map(|n| n.cidr);
            assert_eq!(got, model(&list, ip, 0), "{ip}");
        }
    }
}
