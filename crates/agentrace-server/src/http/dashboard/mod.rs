//! The web dashboard at `/` on the app port: a single-page app (the `dashboard/` folder of
//! this crate, see its README) embedded in the binary, reading the same `/api/v1` and live
//! feed as everyone else.
//!
//! - `/assets/<version>/<path>`: the app's files, cached forever (the version changes with
//!   any file), gzipped for browsers that take it.
//! - Any other `GET` a browser makes for a page (`Accept: text/html`) outside `/api/`: the app
//!   itself, which shows the view the URL names — so every view's URL can be shared, reloaded
//!   and bookmarked. Revalidated on each load (`ETag`).
//!
//! Every answer carries a strict Content-Security-Policy (scripts, styles and connections to
//! this origin only, no inline script, no frames) and the usual hardening headers. The app
//! never inserts telemetry as HTML: everything it shows is text.

mod assets;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use self::assets::Asset;
pub(crate) use self::assets::Assets;

/// The Content-Security-Policy of every dashboard answer.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The dashboard's routes (its page for other paths is [`page`], the app's fallback).
pub(crate) fn router(assets: Arc<Assets>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/{version}/{*path}", get(asset))
        .with_state(assets)
}

/// Headers on every answer of the dashboard.
fn harden(headers: &mut HeaderMap) {
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// Whether the client takes gzip (`Accept-Encoding`, a zero `q` refusing it).
fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// `asset` as an answer: gzipped when the client takes it, with its caching rule.
fn send(asset: &Asset, request: &HeaderMap, cache_control: &'static str) -> Response {
    let (body, gzipped) = match asset.gzipped().filter(|_| takes_gzip(request)) {
        Some(gz) => (gz, true),
        None => (asset.body.clone(), false),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    harden(headers);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// The app's page: revalidated on every load (its `ETag` is the assets' version).
async fn index(State(assets): State<Arc<Assets>>, request: Request) -> Response {
    let etag = format!("\"{}\"", assets.version());
    let fresh = assets.immutable()
        && request
            .headers()
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    if fresh {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        harden(response.headers_mut());
        return response;
    }
    let mut response = send(&assets.index(), request.headers(), "no-cache");
    if assets.immutable()
        && let Ok(value) = HeaderValue::from_str(&etag)
    {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

async fn asset(
    State(assets): State<Arc<Assets>>,
    Path((version, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let not_found = || {
        let mut response = (StatusCode::NOT_FOUND, "no such dashboard file").into_response();
        harden(response.headers_mut());
        response
    };
    if version != assets.version() {
        return not_found();
    }
    let cache = if assets.immutable() {
        "public, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    match assets.get(&path) {
        Some(asset) => send(&asset, &headers, cache),
        None => not_found(),
    }
}

/// The app's fallback: the page for a browser asking for a page outside `/api/` (every view
/// has its own URL), a plain 404 otherwise.
pub(crate) async fn page(assets: Arc<Assets>, request: Request) -> Response {
    let wants_page = matches!(*request.method(), Method::GET | Method::HEAD)
        && !request.uri().path().starts_with("/api/")
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if wants_page {
        return index(State(assets), request).await;
    }
    (StatusCode::NOT_FOUND, "not found").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_taken_unless_refused() {
        let with = |value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            takes_gzip(&h)
        };
        assert!(with("gzip, deflate, br, zstd"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br, deflate"));
        assert!(!takes_gzip(&HeaderMap::new()));
    }
}
