//! What protects the HTTP listeners from web pages in the user's own browser: the `Host`
//! allow-list (DNS rebinding) and the `Origin` check (cross-site WebSockets and requests).
//!
//! **Host.** A page of `evil.example` can make its name resolve to 127.0.0.1 and then read
//! the loopback port as its own origin. So when the server binds a loopback address (or
//! `allowed_hosts` is configured), a request must name the server by an IP address,
//! `localhost` (or a name under it), or one of `allowed_hosts`; any other `Host` is refused
//! with 403 before anything else runs. An IP address is safe: a page can only rebind a name.
//!
//! **Origin.** A WebSocket is not subject to CORS, and cookies do not tell ports apart, so a
//! page of another origin — another site, or another port of the same machine — could open
//! the live feed or use the dashboard's session. A request is refused with 403 when a browser
//! says it comes from another origin: its `Origin` header is neither this server's origin
//! (the `Host` it asked for) nor one of the configured CORS origins. The check applies to the
//! live feed, to every request that is not `GET`/`HEAD`/`OPTIONS`, and (in [`crate::http::auth`]) to
//! every request authenticated by the session cookie, which also must not be a cross-site or
//! same-site fetch (`Sec-Fetch-Site`). Clients that are not browsers send no `Origin` and are
//! not concerned.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::ServerConfig;
use crate::config::hosts::{Host, HostPattern};
use crate::telemetry::counters::add;
use crate::telemetry::stats::ServerStats;

/// Which `Host` names and which `Origin`s the server answers, and where refusals are counted.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    /// `None`: any `Host` (a non-loopback bind without `allowed_hosts`).
    hosts: Option<Arc<[HostPattern]>>,
    /// Configured CORS origins (`*`: any).
    origins: Arc<[String]>,
    stats: Arc<ServerStats>,
}

impl Guard {
    pub(crate) fn new(config: &ServerConfig, stats: Arc<ServerStats>) -> Self {
        // Checked names (`ServerConfig::validate`).
        let names: Vec<HostPattern> = config
            .allowed_hosts
            .iter()
            .filter_map(|h| HostPattern::parse(h).ok())
            .collect();
        let check = config.bind.is_loopback() || !names.is_empty();
        Self {
            hosts: check.then(|| names.into()),
            origins: config
                .cors_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            stats,
        }
    }

    /// Whether a request naming `host` (a `Host` header value, port included) is answered.
    pub(crate) fn allows_host(&self, host: &str) -> bool {
        let Some(names) = &self.hosts else {
            return true;
        };
        let name = host_name(host).trim_end_matches('.').to_ascii_lowercase();
        if name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        names
            .iter()
            .any(|allowed| allowed.matches(&Host::Name(&name)))
    }

    /// Whether a browser says the request comes from a page of another origin (see the module
    /// docs); requests without `Origin` do not.
    pub(crate) fn is_other_origin(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return false;
        };
        let Ok(origin) = origin.to_str() else {
            return true;
        };
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.origins.iter().any(|o| o == "*" || *o == origin) {
            return false;
        }
        let own = request_host(headers).map(str::to_ascii_lowercase);
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        !matches!((authority, own), (Some(a), Some(h)) if a == h)
    }

    /// Whether a fetch metadata header says the request was made by a page of another site
    /// or of the same site but another origin (e.g. another port).
    pub(crate) fn cross_origin_fetch(headers: &HeaderMap) -> bool {
        headers
            .get("sec-fetch-site")
            .is_some_and(|v| v == "cross-site" || v == "same-site")
    }

    /// A 403 answer, counted.
    pub(crate) fn forbid(&self, why: String) -> Response {
        add(&self.stats.requests_forbidden, 1);
        tracing::debug!(%why, "request refused");
        let mut response = (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({
                "error": { "code": "forbidden", "message": why }
            })),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The host a request asked for: HTTP/2's `:authority`, else the `Host` header.
fn request_host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|h| h.to_str().ok())
}

/// `host` without its port (`[::1]:4319` → `::1`, `localhost:4319` → `localhost`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// axum middleware for every HTTP listener: refuses a `Host` the server does not answer to.
pub(crate) async fn check_host(
    State(guard): State<Guard>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| request_host(request.headers()).map(str::to_owned));
    match host {
        Some(host) if !guard.allows_host(&host) => guard.forbid(format!(
            "this server does not answer to the host name {host:?}: use localhost or an IP \
             address, or add the name to allowed_hosts"
        )),
        _ => next.run(request).await,
    }
}

/// axum middleware for the app listener: refuses the live feed and state-changing requests
/// from pages of other origins.
pub(crate) async fn check_origin(
    State(guard): State<Guard>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // The live feed is always checked: a WebSocket is not subject to CORS.
    let live = request
        .uri()
        .path()
        .strip_prefix(crate::http::api_base::PREFIX)
        == Some("/live");
    let checked = !safe || live;
    if checked && guard.is_other_origin(request.headers()) {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .unwrap_or("(unreadable)");
        return guard.forbid(format!(
            "requests from pages of another origin ({origin}) are refused; add it to \
             cors_origins to allow it"
        ));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn guard(bind: IpAddr, allowed: &[&str], cors: &[&str]) -> Guard {
        let mut config = ServerConfig::new("/nonexistent");
        config.bind = bind;
        config.allowed_hosts = allowed.iter().map(|h| (*h).to_owned()).collect();
        config.cors_origins = cors.iter().map(|o| (*o).to_owned()).collect();
        Guard::new(&config, Arc::new(ServerStats::new(None)))
    }

    #[test]
    fn a_loopback_bind_answers_loopback_names_ip_addresses_and_allowed_hosts() {
        let g = guard(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            &["Agentrace.Internal", "*.corp.example"],
            &[],
        );
        for ok in [
            "localhost",
            "localhost:4319",
            "LOCALHOST.",
            "app.localhost:4319",
            "127.0.0.1:4319",
            "10.1.2.3",
            "[::1]:4319",
            "agentrace.internal:80",
            "a.corp.example",
            "x.y.corp.example",
        ] {
            assert!(g.allows_host(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:4319",
            "localhost.evil.example",
            "corp.example",
            "evilcorp.example",
            "127.0.0.1.nip.io",
            "",
        ] {
            assert!(!g.allows_host(refused), "{refused}");
        }
    }

    #[test]
    fn a_public_bind_checks_hosts_only_when_some_are_configured() {
        let open = guard(IpAddr::V4(Ipv4Addr::UNSPECIFIED), &[], &[]);
        assert!(open.allows_host("anything.example"));
        let closed = guard(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            &["agentrace.example"],
            &[],
        );
        assert!(closed.allows_host("agentrace.example:4319"));
        assert!(!closed.allows_host("evil.example"));
    }

    #[test]
    fn origins_are_this_server_or_configured() {
        let g = guard(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            &[],
            &["http://ui.example:3000"],
        );
        let headers = |origin: Option<&'static str>, host: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static(host));
            if let Some(o) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_static(o));
            }
            h
        };
        assert!(!g.is_other_origin(&headers(None, "127.0.0.1:4319")));
        assert!(!g.is_other_origin(&headers(Some("http://127.0.0.1:4319"), "127.0.0.1:4319")));
        assert!(!g.is_other_origin(&headers(Some("http://LOCALHOST:4319/"), "localhost:4319")));
        assert!(!g.is_other_origin(&headers(Some("http://ui.example:3000"), "127.0.0.1:4319")));
        assert!(g.is_other_origin(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:4319")));
        assert!(g.is_other_origin(&headers(Some("http://evil.example"), "127.0.0.1:4319")));
        assert!(g.is_other_origin(&headers(Some("null"), "127.0.0.1:4319")));
    }
}
