//! The checks of a configuration, wherever it came from: ranges, tokens, origins, host names,
//! the forward endpoint, and the security rule — a non-loopback `bind` needs an API token.

use super::MIN_PASSWORD_CHARS;
use super::hosts::HostPattern;
use super::{ConfigError, OutboundHosts, ServerConfig};

impl ServerConfig {
    /// Checks ranges and the security rule: a non-loopback `bind` needs an API token.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.limits.max_body_bytes == 0 {
            return invalid("limits.max_body", "must be at least 1 byte");
        }
        if self.limits.max_decompressed_bytes < self.limits.max_body_bytes {
            return invalid(
                "limits.max_decompressed_body",
                "must be at least limits.max_body",
            );
        }
        if self.limits.queue_requests == 0 {
            return invalid("limits.queue_requests", "must be at least 1");
        }
        if self.limits.queue_records == 0 {
            return invalid("limits.queue_records", "must be at least 1");
        }
        if self.limits.max_records_per_request == 0 {
            return invalid("limits.max_records_per_request", "must be at least 1");
        }
        if self.limits.decode_budget == 0 || self.limits.decode_budget > u64::from(u32::MAX) {
            return invalid(
                "limits.decode_budget",
                "must be between 1 and 4,294,967,295",
            );
        }
        if self.limits.max_connections == 0 {
            return invalid("limits.max_connections", "must be at least 1");
        }
        if self.limits.max_in_flight == 0 {
            return invalid("limits.max_in_flight", "must be at least 1");
        }
        if self.limits.header_timeout.is_zero() {
            return invalid("limits.header_timeout", "must be longer than 0");
        }
        if self.limits.body_min_rate == 0 {
            return invalid("limits.body_min_rate", "must be at least 1 byte a second");
        }
        if self.limits.wal_ceiling_bytes < agentrace_sqlite::MIN_WAL_CEILING {
            return invalid("limits.wal_ceiling", "must be at least 4MiB");
        }
        if self.orphan_grace.is_zero() {
            return invalid("orphan_grace", "must be longer than 0");
        }
        if self.retention.interval.is_zero() {
            return invalid("retention.interval", "must be longer than 0");
        }
        for (key, rule) in [
            ("retention.spans", &self.retention.spans),
            ("retention.events", &self.retention.events),
            ("retention.metrics", &self.retention.metrics),
            ("retention.scores", &self.retention.scores),
        ] {
            if rule.max_age.is_some_and(|a| a.is_zero()) || rule.max_bytes == Some(0) {
                return invalid(
                    key,
                    "max_age and max_size must be larger than 0 (leave them out to keep everything)",
                );
            }
        }
        for (key, token) in [
            ("api_token", &self.api_token),
            ("read_token", &self.read_token),
        ] {
            if let Some(token) = token
                && !token.bytes().all(|b| b.is_ascii_graphic())
            {
                return invalid(
                    key,
                    "must be printable ASCII without spaces (it travels in an HTTP header)",
                );
            }
        }
        match (&self.api_token, &self.read_token) {
            (None, Some(_)) => {
                return invalid(
                    "read_token",
                    "needs api_token: without it the server takes no token at all",
                );
            }
            (Some(admin), Some(read)) if admin == read => {
                return invalid("read_token", "must differ from api_token");
            }
            _ => {}
        }
        for origin in &self.cors_origins {
            let ok = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.trim_end_matches('/').contains(['?', '#'])
                    && origin.bytes().all(|b| b.is_ascii_graphic()));
            if !ok {
                return Err(ConfigError::Invalid {
                    key: "cors_origins",
                    reason: format!(
                        "{origin:?} is not an origin; write scheme://host[:port], e.g. http://localhost:3000, or *"
                    ),
                });
            }
        }
        for host in &self.allowed_hosts {
            let is_name = HostPattern::parse(host).is_ok_and(|p| p.is_name());
            if !is_name {
                return Err(ConfigError::Invalid {
                    key: "allowed_hosts",
                    reason: format!(
                        "{host:?} is not a host name; write a name such as agentrace.example.com or *.example.com, without scheme or port"
                    ),
                });
            }
        }
        OutboundHosts::new(&self.outbound_hosts).map_err(|reason| ConfigError::Invalid {
            key: "outbound_hosts",
            reason,
        })?;
        for proxy in &self.trusted_proxies {
            let network = HostPattern::parse(proxy).is_ok_and(|p| !p.is_name());
            if !network {
                return Err(ConfigError::Invalid {
                    key: "trusted_proxies",
                    reason: format!(
                        "{proxy:?} is not an address or a network; write 10.0.0.7 or 10.0.0.0/8"
                    ),
                });
            }
        }
        if let Some(forward) = &self.forward {
            forward.check().map_err(|reason| ConfigError::Invalid {
                key: "forward.endpoint",
                reason,
            })?;
        }
        match (&self.admin_email, &self.admin_password) {
            (None, Some(_)) => return invalid("admin_password", "needs admin_email"),
            (Some(_), None) => {
                return invalid(
                    "admin_email",
                    "needs admin_password: the first owner logs in with it",
                );
            }
            (Some(email), Some(password)) => {
                if !email.contains('@') || email.trim() != email {
                    return invalid("admin_email", "must be an e-mail address");
                }
                if password.chars().count() < MIN_PASSWORD_CHARS {
                    return invalid(
                        "admin_password",
                        &format!("must be {MIN_PASSWORD_CHARS} characters at least"),
                    );
                }
            }
            (None, None) => {}
        }
        let people = self.admin_email.is_some() || self.sso.is_some();
        if !self.bind.is_loopback() && self.api_token.is_none() && !people {
            return Err(ConfigError::TokenRequired { bind: self.bind });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    #[test]
    fn a_public_bind_needs_a_token() {
        let mut config = ServerConfig::new("/tmp/x");
        config.bind = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        assert!(matches!(
            config.validate(),
            Err(ConfigError::TokenRequired { .. })
        ));
        config.api_token = Some("s3cret-token".into());
        assert!(config.validate().is_ok());
        config.bind = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
        config.api_token = None;
        assert!(config.validate().is_ok(), "::1 is loopback");
    }
}
