//! CIDR prefixes: parsed strictly, stored as bytes, compared as integers.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::{Error, Result};

/// An IPv4 or IPv6 network: an address whose bits past `len` are zero, and the prefix
/// length. Parsed from `a.b.c.d/n` or `x:y::/n`; a bare address is a host (/32, /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

/// The longest text [`Cidr::from_str`] reads (an IPv6 address with an IPv4 tail and /128).
const MAX_TEXT: usize = 49;

impl Cidr {
    /// The network of `addr` with prefix `len`; refused when `len` is too long for the
    /// family or `addr` has bits set past it (say `10.0.0.1/8`: write `10.0.0.0/8`).
    pub fn new(addr: IpAddr, len: u8) -> Result<Cidr> {
        let max = max_len(&addr);
        if len > max {
            return Err(Error::InvalidArgument(format!(
                "prefix length /{len} is longer than /{max}"
            )));
        }
        let c = Cidr { addr, len };
        if c.bits() & !mask(len, max) != 0 {
            return Err(Error::InvalidArgument(format!(
                "{addr}/{len} has host bits set (the network is {})",
                Cidr {
                    addr: from_bits(&addr, c.bits() & mask(len, max)),
                    len
                }
            )));
        }
        Ok(c)
    }

    /// The network's first address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether this is /0 (every address of its family).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `ip` is in this network (an address of the other family never is).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let max = max_len(&self.addr);
        ip.is_ipv4() == self.addr.is_ipv4() && bits(&ip) & mask(self.len, max) == self.bits()
    }

    pub(crate) fn is_v4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// The address as an integer, IPv4 in the low 32 bits.
    pub(crate) fn bits(&self) -> u128 {
        bits(&self.addr)
    }

    /// The last address of the network, as an integer.
    pub(crate) fn last(&self) -> u128 {
        self.bits() | !mask(self.len, max_len(&self.addr)) & family_max(&self.addr)
    }

    /// Stored form: family (4 or 6), length, then the address bytes (4 or 16).
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        let mut out = vec![if self.is_v4() { 4 } else { 6 }, self.len];
        match self.addr {
            IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
        }
        out
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Result<Cidr> {
        let bad = || Error::Corrupted(format!("a stored CIDR of {} bytes", b.len()));
        let addr = match b {
            [4, _, rest @ ..] if rest.len() == 4 => IpAddr::V4(Ipv4Addr::from(
                <[u8; 4]>::try_from(rest).map_err(|_| bad())?,
            )),
            [6, _, rest @ ..] if rest.len() == 16 => IpAddr::V6(Ipv6Addr::from(
                <[u8; 16]>::try_from(rest).map_err(|_| bad())?,
            )),
            _ => return Err(bad()),
        };
        Cidr::new(addr, b[1]).map_err(|e| Error::Corrupted(format!("a stored CIDR: {e}")))
    }
}

fn max_len(a: &IpAddr) -> u8 {
    if a.is_ipv4() {
        32
    } else {
        128
    }
}

fn family_max(a: &IpAddr) -> u128 {
    if a.is_ipv4() {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    }
}

/// The first `len` of `max` bits set, as an integer of `max` bits.
fn mask(len: u8, max: u8) -> u128 {
    if len == 0 {
        0
    } else {
        (u128::MAX << (128 - u32::from(len))) >> (128 - u32::from(max))
    }
}

pub(crate) fn bits(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(*a)),
        IpAddr::V6(a) => u128::from(*a),
    }
}

fn from_bits(like: &IpAddr, b: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(b as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(b)),
    }
}

/// Parses an IP address strictly (no zone, no brackets, no port, no spaces).
pub fn parse_ip(s: &str) -> Result<IpAddr> {
    if s.len() > MAX_TEXT {
        return Err(Error::TooLong {
            field: "ip",
            len: s.len(),
            max: MAX_TEXT,
        });
    }
    IpAddr::from_str(s).map_err(|_| Error::InvalidArgument(format!("{s:?} is not an IP address")))
}

impl FromStr for Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Cidr> {
        if s.len() > MAX_TEXT {
            return Err(Error::TooLong {
                field: "cidr",
                len: s.len(),
                max: MAX_TEXT,
            });
        }
        let (ip, len) = match s.split_once('/') {
            Some((ip, len)) => {
                if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Error::InvalidArgument(format!(
                        "{s:?}: the prefix length is not a number"
                    )));
                }
                (
                    ip,
                    Some(len.parse::<u8>().map_err(|_| {
                        Error::InvalidArgument(format!("{s:?}: the prefix length is out of range"))
                    })?),
                )
            }
            None => (s, None),
        };
        let addr = IpAddr::from_str(ip)
            .map_err(|_| Error::InvalidArgument(format!("{s:?} is not a CIDR (a.b.c.d/n)")))?;
        Cidr::new(addr, len.unwrap_or_else(|| max_len(&addr)))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strictly() {
        for ok in [
            "10.0.0.0/8",
            "0.0.0.0/0",
            "192.0.2.7",
            "2001:db8::/32",
            "::/0",
            "::1",
        ] {
            let c: Cidr = ok.parse().unwrap();
            assert_eq!(Cidr::from_bytes(&c.to_bytes()).unwrap(), c);
        }
        assert_eq!("192.0.2.7".parse::<Cidr>().unwrap().len(), 32);
        for bad in [
            "",
            "/8",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "10.0.0.0/+8",
            "10.0.0.0/ 8",
            "10.0.0.0/8/8",
            "010.0.0.0/8",
            "10.0.0/8",
            "2001:db8::/129",
            "fe80::1%eth0",
            "[::1]",
            "10.0.0.0/0008",
            "1.2.3.4 ",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn contains_and_last() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains("10.1.255.255".parse().unwrap()));
        assert!(!c.contains("10.2.0.0".parse().unwrap()));
        assert!(!c.contains("::a01:0".parse().unwrap()));
        assert_eq!(
            c.last(),
            u128::from(u32::from(Ipv4Addr::new(10, 1, 255, 255)))
        );
        let all: Cidr = "::/0".parse().unwrap();
        assert_eq!(all.last(), u128::MAX);
        assert_eq!(
            "0.0.0.0/0".parse::<Cidr>().unwrap().last(),
            u128::from(u32::MAX)
        );
    }
}
