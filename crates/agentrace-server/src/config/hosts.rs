//! Host patterns, written the same way wherever the configuration lists hosts: a name
//! (`hooks.slack.com`), any name under a domain (`*.example.com`), an IP address
//! (`10.0.0.7`, `::1`) or a network (`10.0.0.0/8`, `fd00::/8`). Used by `allowed_hosts` (the
//! names the server answers to: names only) and `outbound_hosts` (where settings written
//! through the API may send).

use std::net::IpAddr;

/// One pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostPattern {
    /// A name, lowercase, without a trailing dot.
    Name(String),
    /// Any name under this domain (written `*.<domain>`), not the domain itself.
    Under(String),
    /// An address within a network: an address and its prefix length.
    Network(IpAddr, u8),
}

impl HostPattern {
    /// `text` as a pattern, or why it is none.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('.').to_ascii_lowercase();
        let invalid = || {
            format!(
                "{text:?} is not a host pattern; write a name (hooks.example.com), *.example.com, \
                 an address (10.0.0.7) or a network (10.0.0.0/8), without scheme or port"
            )
        };
        if let Some((address, bits)) = text.split_once('/') {
            let address: IpAddr = address.parse().map_err(|_| invalid())?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            let bits: u8 = bits
                .parse()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(invalid)?;
            return Ok(Self::Network(address, bits));
        }
        if let Ok(address) = text.parse::<IpAddr>() {
            let bits = if address.is_ipv4() { 32 } else { 128 };
            return Ok(Self::Network(address, bits));
        }
        let (under, name) = match text.strip_prefix("*.") {
            Some(domain) => (true, domain),
            None => (false, text.as_str()),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(invalid());
        }
        Ok(if under {
            Self::Under(name.to_owned())
        } else {
            Self::Name(name.to_owned())
        })
    }

    /// Whether the pattern names no address: a name or a domain.
    pub(crate) fn is_name(&self) -> bool {
        !matches!(self, Self::Network(..))
    }

    /// Whether `host` (a name, any case, or an address) matches.
    pub(crate) fn matches(&self, host: &Host<'_>) -> bool {
        match (self, host) {
            (Self::Name(n), Host::Name(name)) => n == name,
            (Self::Under(domain), Host::Name(name)) => name
                .strip_suffix(domain.as_str())
                .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
            (Self::Network(net, bits), Host::Address(address)) => within(*address, *net, *bits),
            _ => false,
        }
    }
}

/// A host as a request or a URL names it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Host<'a> {
    /// A name, lowercase, without a trailing dot.
    Name(&'a str),
    /// An address.
    Address(IpAddr),
}

/// Whether `address` is in the network `net`/`bits` (an IPv4 address is not in an IPv6
/// network, nor the reverse).
fn within(address: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (a, n, width) = match (address, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        _ => return false,
    };
    let shift = width - u32::from(bits);
    if shift >= 128 {
        return true;
    }
    a >> shift == n >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> Host<'_> {
        match text.parse::<IpAddr>() {
            Ok(a) => Host::Address(a),
            Err(_) => Host::Name(text),
        }
    }

    fn pattern(text: &str) -> HostPattern {
        HostPattern::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn names_domains_addresses_and_networks_match_as_written() {
        let cases = [
            ("hooks.slack.com", "hooks.slack.com", true),
            ("Hooks.Slack.com.", "hooks.slack.com", true),
            ("hooks.slack.com", "evil-hooks.slack.com", false),
            ("*.example.com", "a.example.com", true),
            ("*.example.com", "a.b.example.com", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", "badexample.com", false),
            ("10.0.0.0/8", "10.200.3.4", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.0.0.7", "10.0.0.7", true),
            ("10.0.0.7", "10.0.0.8", false),
            ("0.0.0.0/0", "192.0.2.1", true),
            ("fd00::/8", "fd12::1", true),
            ("fd00::/8", "10.0.0.1", false),
            ("::/0", "2001:db8::1", true),
            ("10.0.0.0/8", "ten.example.com", false),
        ];
        for (p, h, expected) in cases {
            assert_eq!(pattern(p).matches(&host(h)), expected, "{p} against {h}");
        }
    }

    #[test]
    fn a_pattern_that_is_none_says_how_to_write_one() {
        for bad in [
            "",
            "http://hooks.slack.com",
            "hooks.slack.com:443",
            "10.0.0.0/33",
            "::/129",
            "*.",
            "a..b",
            "under_score.example.com",
        ] {
            let e = HostPattern::parse(bad).err().unwrap_or_default();
            assert!(e.contains("is not a host pattern"), "{bad:?}: {e}");
        }
        assert!(pattern("*.example.com").is_name());
        assert!(!pattern("10.0.0.0/8").is_name());
    }
}
