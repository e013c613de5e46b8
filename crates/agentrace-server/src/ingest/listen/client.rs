//! The address a request came from ([`ClientAddress`]): what the audit log records and failed
//! logins are counted by. It is the connection's peer, unless that peer is one of
//! `trusted_proxies` (nginx in front of a fleet, an ingress): then the last address of
//! `X-Forwarded-For` that is not a trusted proxy — the one the nearest untrusted hop gave, which
//! a client cannot forge by sending the header itself.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::config::hosts::{Host, HostPattern};

/// The address a request came from, set on every request of the HTTP listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub(crate) Option<IpAddr>);

impl ClientAddress {
    /// As the audit log shows it.
    pub(crate) fn text(self) -> Option<String> {
        self.0.map(|a| a.to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Self>()
            .copied()
            .unwrap_or(Self(None)))
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies(Arc<[HostPattern]>);

impl TrustedProxies {
    /// The configured patterns (checked with the configuration: those that are none are
    /// skipped).
    pub(crate) fn new(patterns: &[String]) -> Self {
        Self(
            patterns
                .iter()
                .filter_map(|p| HostPattern::parse(p).ok())
                .collect(),
        )
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|p| p.matches(&Host::Address(address)))
    }

    /// The client of a request from `peer` with `headers`.
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        forwarded
            .into_iter()
            .rev()
            .find(|a| !self.trusts(*a))
            .unwrap_or(peer)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_only() {
        let proxies = TrustedProxies::new(&["10.0.0.0/8".into()]);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.4, 10.0.0.3"),
        );
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        // Through two trusted hops: the last untrusted address (a client's own header before
        // it, 203.0.113.9, is not believed).
        assert_eq!(proxies.client(ip("10.0.0.2"), &headers), ip("198.51.100.4"));
        // From an untrusted peer: the peer, whatever it says.
        assert_eq!(proxies.client(ip("192.0.2.1"), &headers), ip("192.0.2.1"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.2"), &headers),
            ip("10.0.0.2")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
    }
}
