//! The webhook-headers fuzz target's body: arbitrary header values and bodies through
//! the receiver's verification.

use crate::webhooks::{signature_header, verify_webhook, Secret, WebhookHeaders};
use crate::Error;

/// Arbitrary header values never panic the parser or the verification and never verify
/// (unless they are the real signature of what they claim); a real signature verifies,
/// and with any byte of the body or of a header edited it does not.
pub fn webhook_headers(data: &[u8]) {
    let secret = Secret::from_bytes(vec![0x42; 32]).expect("32 bytes");
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let (id, ts, sig, body) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let hs = [
        ("webhook-id", id),
        ("webhook-timestamp", ts),
        ("webhook-signature", sig),
    ];
    let _ = WebhookHeaders::parse(hs);
    match verify_webhook(
        std::slice::from_ref(&secret),
        hs,
        body.as_bytes(),
        u64::MAX,
        0,
    ) {
        Ok(h) => {
            // Only a genuine signature can pass: recompute it.
            let want = secret.sign(&h.id, h.timestamp, body.as_bytes());
            assert!(
                sig.split(' ').any(|s| s == want),
                "a forged signature verified"
            );
        }
        Err(Error::SignatureInvalid(_)) => {}
        Err(e) => panic!("an unexpected error: {e}"),
    }
    let _ = Secret::parse(id);
    // A real signature of the fuzzed body and id, then edits.
    let id = if id.is_empty() { "msg_1" } else { id };
    let sig = signature_header(
        std::slice::from_ref(&secret),
        id,
        1_700_000_000,
        body.as_bytes(),
    );
    let good = [
        ("webhook-id", id),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", sig.as_str()),
    ];
    if id.len() <= 4096 && !id.is_empty() {
        verify_webhook(
            std::slice::from_ref(&secret),
            good,
            body.as_bytes(),
            10,
            1_700_000_000,
        )
        .expect("a genuine signature verifies");
    }
    let mut edited = body.as_bytes().to_vec();
    if let Some(b) = data.first() {
        let at = usize::from(*b) % (edited.len() + 1);
        if at < edited.len() {
            edited[at] ^= 1;
        } else {
            edited.push(b'!');
        }
        assert!(
            verify_webhook(
                std::slice::from_ref(&secret),
                good,
                &edited,
                10,
                1_700_000_000
            )
            .is_err(),
            "an edited body verified"
        );
    }
}
