//! The sealed blob: what `seal` returns and `open` reads.
//!
//! ```text
//! magic 0xA5 | version 1 | subject length u8 | subject | generation u32 LE
//!   | nonce [12] | ciphertext | tag [16]
//! ```
//!
//! - The header (magic through generation) is the AEAD's associated data: a blob whose
//!   subject or generation was edited fails authentication, as does one cut or extended.
//! - The generation names the subject's data key: a shred ends a generation, so a blob
//!   of an ended generation is reported as shredded, not as damaged.
//! - As text (an audit detail value, a JSON field) it is `hs-sealed:` followed by the
//!   blob in unpadded URL-safe base64.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::error::{Error, Result};

pub(crate) const MAGIC: u8 = 0xA5;
pub(crate) const VERSION: u8 = 1;
pub(crate) const NONCE: usize = 12;
pub(crate) const TAG: usize = 16;
/// The text form's prefix.
pub const TEXT_PREFIX: &str = "hs-sealed:";

/// A blob's parts, borrowed from it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Parsed<'a> {
    pub(crate) subject: &'a str,
    pub(crate) generation: u32,
    /// Magic through generation: the associated data.
    pub(crate) header: &'a [u8],
    pub(crate) nonce: &'a [u8; NONCE],
    /// Ciphertext and tag.
    pub(crate) sealed: &'a [u8],
}

fn invalid(why: impl Into<String>) -> Error {
    Error::SealedInvalid(why.into())
}

pub(crate) fn header(subject: &str, generation: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(3 + subject.len() + 4);
    h.extend_from_slice(&[MAGIC, VERSION, subject.len() as u8]);
    h.extend_from_slice(subject.as_bytes());
    h.extend_from_slice(&generation.to_le_bytes());
    h
}

/// Splits a blob, refusing anything that is not one (never panics).
pub(crate) fn parse(b: &[u8]) -> Result<Parsed<'_>> {
    let (&magic, rest) = b.split_first().ok_or_else(|| invalid("an empty blob"))?;
    if magic != MAGIC {
        return Err(invalid("not a sealed blob (its first byte)"));
    }
    let (&version, rest) = rest
        .split_first()
        .ok_or_else(|| invalid("cut in its header"))?;
    if version != VERSION {
        return Err(invalid(format!(
            "sealed blob version {version}; this build reads 1"
        )));
    }
    let (&len, rest) = rest
        .split_first()
        .ok_or_else(|| invalid("cut in its header"))?;
    let len = usize::from(len);
    if len == 0 || rest.len() < len + 4 + NONCE + TAG {
        return Err(invalid(format!("{} bytes: cut", b.len())));
    }
    let subject =
        std::str::from_utf8(&rest[..len]).map_err(|_| invalid("its subject is not UTF-8"))?;
    let generation = u32::from_le_bytes(rest[len..len + 4].try_into().expect("4 bytes"));
    let header_len = 3 + len + 4;
    let nonce = b[header_len..header_len + NONCE]
        .try_into()
        .expect("12 bytes");
    Ok(Parsed {
        subject,
        generation,
        header: &b[..header_len],
        nonce,
        sealed: &b[header_len + NONCE..],
    })
}

/// The text form of a blob.
pub fn to_text(blob: &[u8]) -> String {
    let mut s = String::with_capacity(TEXT_PREFIX.len() + blob.len() * 4 / 3 + 4);
    s.push_str(TEXT_PREFIX);
    URL_SAFE_NO_PAD.encode_string(blob, &mut s);
    s
}

/// The blob of a text form.
pub fn from_text(text: &str) -> Result<Vec<u8>> {
    let body = text
        .strip_prefix(TEXT_PREFIX)
        .ok_or_else(|| invalid("text without the hs-sealed: prefix"))?;
    URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|e| invalid(format!("its base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_builds_and_refuses_the_rest() {
        let mut b = header("user:42", 3);
        b.extend_from_slice(&[7; NONCE]);
        b.extend_from_slice(&[9; 20 + TAG]);
        let p = parse(&b).unwrap();
        assert_eq!(
            (p.subject, p.generation, p.sealed.len()),
            ("user:42", 3, 36)
        );
        assert_eq!(from_text(&to_text(&b)).unwrap(), b);
        for cut in 0..(3 + 7 + 4 + NONCE + TAG) {
            assert!(parse(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = b.clone();
        bad[0] = 0;
        assert!(parse(&bad).is_err());
        bad = b.clone();
        bad[1] = 2;
        assert!(parse(&bad).is_err());
        assert!(from_text("hs-sealed:***").is_err());
        assert!(from_text("sealed").is_err());
    }
}
