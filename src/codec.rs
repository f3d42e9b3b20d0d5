//! Record encoding: one format-version byte, then a postcard body.
//!
//! Invariant: an encoding never changes under an existing version byte. A new layout
//! gets a new byte, and decoding keeps reading every older one (audit records must
//! stay readable for years).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// The only record version written today.
pub(crate) const RECORD_V1: u8 = 1;

/// Encodes `value` as `[RECORD_V1] ++ postcard(value)`.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut out = vec![RECORD_V1];
    let body = postcard::to_stdvec(value)
        .map_err(|e| Error::InvalidArgument(format!("record does not encode: {e}")))?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a record written by [`encode`]. Trailing bytes are corruption, not ignored.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| Error::Corrupted("empty record".into()))?;
    if version != RECORD_V1 {
        return Err(Error::UnknownRecordVersion(version));
    }
    let (value, rest) = postcard::take_from_bytes(body)?;
    if !rest.is_empty() {
        return Err(Error::Corrupted(format!(
            "{} trailing bytes after record",
            rest.len()
        )));
    }
    Ok(value)
}
