//! Where a project's settings may send (`outbound_hosts`): the alert channels' URLs, the
//! judges' endpoints and the forwarding endpoint that a project's admin writes through the API
//! (docs/projects.md, "Where settings may send"). A project's admin is not the operator: a
//! deployment shared by many teams lists the hosts they may reach, so that nobody points the
//! server at an internal service. Without a list any host is allowed but a link-local address
//! (`169.254.0.0/16`, `fe80::/10`: where clouds serve their instance metadata and credentials),
//! which a list must name to allow.
//!
//! The check reads the host a URL names as written: a name is not resolved (a name that
//! resolves to an internal address is the network's to refuse — the Kubernetes manifests'
//! NetworkPolicy, an egress proxy).

use std::net::IpAddr;

use super::hosts::{Host, HostPattern};
use super::project::Setting;

/// The hosts a project's settings may send to.
#[derive(Debug, Clone, Default)]
pub struct OutboundHosts {
    /// `None`: any host but a link-local address.
    allowed: Option<Vec<HostPattern>>,
}

impl OutboundHosts {
    /// The configured `outbound_hosts` (empty: no list).
    ///
    /// # Errors
    /// The first pattern that is none, and how to write one.
    pub fn new(patterns: &[String]) -> Result<Self, String> {
        if patterns.is_empty() {
            return Ok(Self::default());
        }
        let allowed = patterns
            .iter()
            .map(|p| HostPattern::parse(p))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            allowed: Some(allowed),
        })
    }

    /// Whether `setting` sends only where it may: each URL it holds.
    ///
    /// # Errors
    /// The first URL that may not be reached, and why.
    pub fn admit(&self, setting: &Setting) -> Result<(), String> {
        setting
            .destinations()
            .into_iter()
            .try_for_each(|url| self.admit_url(url))
    }

    /// Whether `url` may be reached.
    fn admit_url(&self, url: &str) -> Result<(), String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let lowercase;
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => {
                lowercase = name.trim_end_matches('.').to_ascii_lowercase();
                Host::Name(&lowercase)
            }
            Some(url::Host::Ipv4(a)) => Host::Address(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Host::Address(IpAddr::V6(a)),
            None => return Err(format!("{url:?} names no host")),
        };
        let shown = parsed.host_str().unwrap_or_default();
        match &self.allowed {
            Some(allowed) if allowed.iter().any(|p| p.matches(&host)) => Ok(()),
            Some(_) => Err(format!(
                "{shown} is not among the hosts this server's settings may send to \
                 (`outbound_hosts`); ask its operator to add it"
            )),
            None if link_local(&host) => Err(format!(
                "{shown} is a link-local address (where clouds serve instance metadata): a \
                 setting may send there only when the server's `outbound_hosts` lists it"
            )),
            None => Ok(()),
        }
    }
}

/// Whether `host` is a link-local address (IPv4-mapped IPv6 included).
fn link_local(host: &Host<'_>) -> bool {
    match host {
        Host::Address(IpAddr::V4(a)) => a.is_link_local(),
        Host::Address(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(v4) => v4.is_link_local(),
            None => a.segments()[0] & 0xffc0 == 0xfe80,
        },
        Host::Name(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::project::SettingKind;
    use serde_json::json;

    fn forwarding(endpoint: &str) -> Setting {
        Setting::read(SettingKind::Forwarding, json!({ "endpoint": endpoint }))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn without_a_list_anything_but_link_local_addresses() {
        let open = OutboundHosts::default();
        for ok in [
            "http://collector:4318",
            "http://10.0.0.7:4318",
            "http://[::1]:4318",
        ] {
            assert_eq!(open.admit(&forwarding(ok)), Ok(()), "{ok}");
        }
        for refused in [
            "http://169.254.169.254/latest/meta-data",
            "http://[fe80::1]:80",
            "http://[::ffff:169.254.169.254]/",
        ] {
            let e = open.admit(&forwarding(refused)).err().unwrap_or_default();
            assert!(e.contains("link-local"), "{refused}: {e}");
        }
    }

    #[test]
    fn a_list_admits_what_it_names_only() -> Result<(), String> {
        let list = OutboundHosts::new(&[
            "*.example.com".into(),
            "10.0.0.0/8".into(),
            "169.254.169.254".into(),
        ])?;
        for ok in [
            "http://otel.example.com:4318",
            "http://10.1.2.3:4318",
            "http://169.254.169.254/",
        ] {
            assert_eq!(list.admit(&forwarding(ok)), Ok(()), "{ok}");
        }
        for refused in [
            "http://example.com:4318",
            "http://collector:4318",
            "http://[::1]:1",
        ] {
            let e = list.admit(&forwarding(refused)).err().unwrap_or_default();
            assert!(e.contains("outbound_hosts"), "{refused}: {e}");
        }
        // Every URL of a setting: a judge's endpoint, an alert channel's.
        let alerts = Setting::read(
            SettingKind::Alerts,
            json!({"channels": [
                {"name": "ok", "type": "webhook", "url": "http://hooks.example.com/a"},
                {"name": "internal", "type": "slack", "url": "http://vault.internal/x"}
            ]}),
        )?;
        let e = list.admit(&alerts).err().unwrap_or_default();
        assert!(e.starts_with("vault.internal is not among"), "{e}");
        assert!(OutboundHosts::new(&["http://x".into()]).is_err());
        Ok(())
    }
}
