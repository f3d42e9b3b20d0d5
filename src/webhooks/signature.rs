//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): secrets, signing,
//! and the receiver's verification.
//!
//! - A secret is `whsec_` followed by base64 of 24..=64 random bytes.
//! - The signed content is `{webhook-id}.{webhook-timestamp}.{payload}`; the signature
//!   is `v1,` and base64 of its HMAC-SHA256 under the secret's bytes.
//! - `webhook-signature` holds one or more signatures separated by spaces (one per
//!   secret during a rotation); a receiver accepts when any `v1` one matches a secret.
//! - `webhook-timestamp` is seconds since the epoch; a receiver refuses it outside its
//!   tolerance (5 minutes by default) either way, against replays.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// A secret's prefix.
pub const SECRET_PREFIX: &str = "whsec_";
/// The receiver's default tolerance for `webhook-timestamp`, in seconds.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// The most signatures (and header bytes) a verification reads.
const MAX_SIGNATURES: usize = 16;
const MAX_HEADER: usize = 4096;

/// A webhook signing secret (`whsec_...`). Its bytes print as `whsec_<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("whsec_<redacted>")
    }
}

impl Secret {
    /// A new random secret of 24 bytes (as the reference libraries make them).
    pub fn generate() -> Result<Secret> {
        let mut bytes = vec![0u8; 24];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Storage(format!("the OS random source: {e}")))?;
        Ok(Secret { bytes })
    }

    /// Parses `whsec_<base64>` (24..=64 bytes once decoded).
    pub fn parse(s: &str) -> Result<Secret> {
        let body = s
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| Error::InvalidArgument("a webhook secret starts with whsec_".into()))?;
        let bytes = STANDARD
            .decode(body)
            .map_err(|e| Error::InvalidArgument(format!("a webhook secret's base64: {e}")))?;
        Secret::from_bytes(bytes)
    }

    /// A secret of these bytes (24..=64).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Secret> {
        if !(24..=64).contains(&bytes.len()) {
            return Err(Error::InvalidArgument(format!(
                "a webhook secret is 24..=64 bytes, not {}",
                bytes.len()
            )));
        }
        Ok(Secret { bytes })
    }

    /// The `whsec_...` text (what the receiver is given).
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn mac(&self, id: &str, timestamp: u64, payload: &[u8]) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&self.bytes).expect("HMAC takes any key length");
        m.update(id.as_bytes());
        m.update(b".");
        m.update(timestamp.to_string().as_bytes());
        m.update(b".");
        m.update(payload);
        m
    }

    /// `v1,<base64 signature>` of a message.
    pub fn sign(&self, id: &str, timestamp: u64, payload: &[u8]) -> String {
        let tag = self.mac(id, timestamp, payload).finalize().into_bytes();
        format!("v1,{}", STANDARD.encode(tag))
    }
}

/// The `webhook-signature` value under every secret, space-separated.
pub fn signature_header(secrets: &[Secret], id: &str, timestamp: u64, payload: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, payload))
        .collect::<Vec<_>>()
        .join(" ")
}

fn bad(why: impl Into<String>) -> Error {
    Error::SignatureInvalid(why.into())
}

/// The three headers of a received webhook, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeaders {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`, seconds since the epoch.
    pub timestamp: u64,
    /// The `v1` signatures of `webhook-signature` (decoded), others skipped.
    pub signatures: Vec<Vec<u8>>,
}

impl WebhookHeaders {
    /// Parses the headers from (name, value) pairs; names match case-insensitively.
    pub fn parse<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<WebhookHeaders> {
        let (mut id, mut ts, mut sig) = (None, None, None);
        for (name, value) in headers {
            if value.len() > MAX_HEADER {
                return Err(bad(format!("header {name} of {} bytes", value.len())));
            }
            let slot = if name.eq_ignore_ascii_case("webhook-id") {
                &mut id
            } else if name.eq_ignore_ascii_case("webhook-timestamp") {
                &mut ts
            } else if name.eq_ignore_ascii_case("webhook-signature") {
                &mut sig
            } else {
                continue;
            };
            if slot.replace(value).is_some() {
                return Err(bad(format!("header {name} given twice")));
            }
        }
        let id = id.ok_or_else(|| bad("no webhook-id header"))?;
        if id.is_empty() {
            return Err(bad("an empty webhook-id"));
        }
        let ts = ts.ok_or_else(|| bad("no webhook-timestamp header"))?;
        if ts.is_empty() || ts.len() > 20 || !ts.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!(
                "webhook-timestamp {ts:?} is not seconds since the epoch"
            )));
        }
        let timestamp = ts
            .parse::<u64>()
            .map_err(|_| bad("webhook-timestamp out of range"))?;
        let sig = sig.ok_or_else(|| bad("no webhook-signature header"))?;
        let mut signatures = Vec::new();
        for part in sig.split(' ').filter(|p| !p.is_empty()) {
            if signatures.len() == MAX_SIGNATURES {
                return Err(bad(format!("more than {MAX_SIGNATURES} signatures")));
            }
            let Some((version, b64)) = part.split_once(',') else {
                return Err(bad(format!("signature {part:?} is not version,base64")));
            };
            if version != "v1" {
                // Other schemes (v1a: asymmetric) are not ours to check: skipped.
                continue;
            }
            signatures.push(
                STANDARD
                    .decode(b64)
                    .map_err(|_| bad("a v1 signature is not base64"))?,
            );
        }
        if signatures.is_empty() {
            return Err(bad("no v1 signature"));
        }
        Ok(WebhookHeaders {
            id: id.to_owned(),
            timestamp,
            signatures,
        })
    }
}

/// Verifies a received webhook: the headers parse, the timestamp is within `tolerance`
/// seconds of `now` (seconds since the epoch), and a `v1` signature matches one of
/// `secrets` (compared in constant time). Returns the parsed headers.
pub fn verify_webhook<'a>(
    secrets: &[Secret],
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    payload: &[u8],
    tolerance: u64,
    now: u64,
) -> Result<WebhookHeaders> {
    if secrets.is_empty() {
        return Err(Error::InvalidArgument("no secret to verify with".into()));
    }
    let h = WebhookHeaders::parse(headers)?;
    if h.timestamp.abs_diff(now) > tolerance {
        return Err(bad(format!(
            "webhook-timestamp {} is {} s from now, outside the tolerance of {tolerance} s",
            h.timestamp,
            h.timestamp.abs_diff(now)
        )));
    }
    for secret in secrets {
        for sig in &h.signatures {
            if secret
                .mac(&h.id, h.timestamp, payload)
                .verify_slice(sig)
                .is_ok()
            {
                return Ok(h);
            }
        }
    }
    Err(bad("no signature matches a secret"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's test vectors.
    #[test]
    fn matches_the_reference_vector() {
        let s = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = s.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let hs = [
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("Webhook-Timestamp", "1614265330"),
            (
                "webhook-signature",
                "v1a,xxx v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
        ];
        verify_webhook(
            std::slice::from_ref(&s),
            hs,
            br#"{"test": 2432232314}"#,
            300,
            1614265330 + 10,
        )
        .unwrap();
        assert!(verify_webhook(
            std::slice::from_ref(&s),
            hs,
            br#"{"test": 2432232315}"#,
            300,
            1614265330
        )
        .is_err());
        assert!(
            verify_webhook(&[s], hs, br#"{"test": 2432232314}"#, 300, 1614265330 + 301).is_err()
        );
    }
}
