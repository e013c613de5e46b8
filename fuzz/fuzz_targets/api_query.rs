//! The REST API's paths and query parameters (filters, times, cursors, group-bys), against a
//! store holding a few traces: any request is answered, and never with a 500 (an error of the
//! server's own, not of the request).
#![no_main]

use std::sync::LazyLock;

use agentrace_server::{RunningServer, Server, ServerConfig};
use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// The API's routes, to which the fuzzed path and query are appended.
const ROUTES: &[&str] = &[
    "/api/v1/traces",
    "/api/v1/traces/",
    "/api/v1/sessions",
    "/api/v1/sessions/",
    "/api/v1/users",
    "/api/v1/events",
    "/api/v1/cost",
    "/api/v1/tools",
    "/api/v1/overview",
    "/api/v1/metrics",
    "/api/v1/metrics/",
    "/api/v1/budgets",
    "/api/v1/status",
];

struct Api {
    runtime: Runtime,
    server: RunningServer,
    _dir: tempfile::TempDir,
}

static API: LazyLock<Api> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let config = ServerConfig::new(dir.path()).with_any_free_ports();
    let server = runtime
        .block_on(Server::start(config))
        .expect("the server starts");
    Api {
        runtime,
        server,
        _dir: dir,
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&route, rest)) = data.split_first() else {
        return;
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        return;
    };
    let uri = format!("{}{rest}", ROUTES[usize::from(route) % ROUTES.len()]);
    let Ok(request) = Request::get(uri.as_str()).body(Body::empty()) else {
        return;
    };
    let api = &*API;
    let router = agentrace_server::http::api::router(api.server.state().clone());
    let response = api
        .runtime
        .block_on(router.oneshot(request))
        .expect("the router answers");
    assert_ne!(response.status().as_u16(), 500, "{uri}");
});
