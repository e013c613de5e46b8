//! The webhook channel: the notification (or report) as JSON, signed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{DeliveryError, REQUEST_TIMEOUT, check};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-agentrace-signature";
/// The header carrying the time the signature covers (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-agentrace-timestamp";

/// POSTs the JSON `body`, signed when a secret is set.
pub(super) async fn post(
    client: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    body: Vec<u8>,
) -> Result<(), DeliveryError> {
    let mut request = client
        .post(url)
        .timeout(REQUEST_TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if let Some(secret) = secret {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        request = request
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, sign(secret, timestamp, &body));
    }
    check(request.body(body).send().await?).await
}

/// `sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`: what a receiver recomputes
/// and compares (in constant time) before trusting a notification.
pub fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_rfc_4231_test_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" — here the
        // data is "<timestamp>.<body>", so split it as such.
        let sig = sign("Jefe", 0, b"what do ya want for nothing?");
        assert_eq!(sig.len(), 7 + 64);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap_or_else(|_| unreachable!());
        mac.update(b"0.what do ya want for nothing?");
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sig, format!("sha256={expected}"));
        let mut rfc = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap_or_else(|_| unreachable!());
        rfc.update(b"what do ya want for nothing?");
        let rfc: String = rfc
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            rfc,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
