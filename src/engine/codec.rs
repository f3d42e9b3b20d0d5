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
    // Most records are under 128 bytes: one allocation instead of one per doubling.
    let mut out = Vec::with_capacity(128);
    out.push(RECORD_V1);
    postcard::to_extend(value, out)
        .map_err(|e| Error::InvalidArgument(format!("record does not encode: {e}")))
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

/// `#[serde(with = "codec::bytes")]` for a `Vec<u8>` field: postcard writes a byte
/// string exactly as it writes a sequence of `u8` (a varint length, then the bytes), so
/// records keep their encoding, but it is read in one copy instead of byte by byte.
pub(crate) mod bytes {
    use serde::de::{Deserializer, SeqAccess, Visitor};
    use serde::Serializer;

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Plain {
        body: Vec<u8>,
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct AsBytes {
        #[serde(with = "super::bytes")]
        body: Vec<u8>,
    }

    #[test]
    fn bytes_encode_like_a_sequence_of_u8() {
        for len in [0usize, 1, 127, 128, 300, 70_000] {
            let body: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let plain = super::encode(&Plain { body: body.clone() }).unwrap();
            let bytes = super::encode(&AsBytes { body: body.clone() }).unwrap();
            assert_eq!(plain, bytes, "len {len}");
            let back: AsBytes = super::decode(&plain).unwrap();
            assert_eq!(back.body, body);
        }
    }
}
