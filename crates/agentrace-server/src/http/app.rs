//! The app port: the dashboard at `/`, `/api/v1/**` (the REST API, its OpenAPI document, the
//! live feed and the dashboard's login), `/metrics`, `/healthz` and `/readyz`, the APIs of
//! other products agentrace speaks ([`crate::http::compat`]: Phoenix's annotations, Langfuse's
//! ingest); and the layers the HTTP listeners share (the `Host` and `Origin` guards, the API
//! token, CORS).

use std::sync::Arc;
use std::time::Duration;

use agentrace_prometheus::{CONTENT_TYPE_TEXT, METRICS_PATH, PrometheusSink};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::http::auth::{Auth, require_scope, scoped};
use crate::http::dashboard::{self, Assets};
use crate::http::guard::{Guard, check_host, check_origin};
use crate::http::scope::Scope;
use crate::http::state::AppState;
use crate::telemetry::self_metrics::{render, render_alerts, render_held, render_slo_counts};

/// The app router. The API, `/metrics` and `compat` (its routes already behind the
/// credentials) need a credential (a token, a key, or the dashboard's session cookie) when a
/// token is configured, and act on one project; the health checks, the dashboard's files and
/// its login never do.
/// Requests from pages of other origins are refused where they could do harm (see
/// [`crate::http::guard`]).
pub(crate) fn router(
    state: AppState,
    metrics: Router,
    compat: Router,
    auth: Auth,
    guard: Guard,
    assets: Arc<Assets>,
) -> Router {
    let protected = crate::http::api::scoped_router(state.clone()).merge(metrics);
    let fallback = assets.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .merge(dashboard::router(assets))
        .merge(crate::http::auth::router(auth.clone()))
        .merge(scoped(protected, auth))
        .merge(compat)
        .fallback(move |request: Request| dashboard::page(fallback.clone(), request))
        .layer(axum::middleware::map_response(no_sniff))
        .layer(axum::middleware::from_fn_with_state(guard, check_origin))
}

/// `GET /metrics`: the metrics of the request's project — its span metrics and the metrics
/// it received (the configured project's: the server's sink), its alerts' states and its
/// SLOs' counts — and, for a credential of the organization, the server's own
/// ([`crate::telemetry::self_metrics`]: [`render`]'s and [`render_held`]'s) and the scores
/// stored. A project's key sees its project's only.
pub(crate) fn metrics(sink: PrometheusSink, state: &AppState) -> Router {
    let state = state.clone();
    Router::new().route(
        METRICS_PATH,
        get(move |scope: Scope| {
            let (sink, state) = (sink.clone(), state.clone());
            async move {
                let project = scope.project.id;
                let mut text = if scope.is(state.configured_project) {
                    sink.render()
                } else {
                    state
                        .runtimes
                        .metrics_of(project)
                        .map(|s| s.render())
                        .unwrap_or_default()
                };
                if scope.principal.is_organization_wide() {
                    let held = state.configured_store.held();
                    text.push_str(&render(&state.stats.snapshot().with_held(held)));
                    text.push_str(&render_held(held));
                    text.push_str(&state.stats.scores.render());
                }
                if let Some(alerting) = state.runtimes.of(project).alerting() {
                    text.push_str(&render_alerts(&alerting.current(), &alerting.channels()));
                    text.push_str(&render_slo_counts(&alerting.slo_counts()));
                }
                ([(header::CONTENT_TYPE, CONTENT_TYPE_TEXT)], text).into_response()
            }
        })
        .route_layer(axum::middleware::from_fn(|request, next| {
            require_scope(agentrace_store::KeyScope::Read, request, next)
        })),
    )
}

/// `router` answering only the host names `guard` allows (every HTTP listener; the outermost
/// layer, so nothing else runs for a refused host).
pub(crate) fn with_host_check(router: Router, guard: Guard) -> Router {
    router.layer(axum::middleware::from_fn_with_state(guard, check_host))
}

/// Every answer of the app port says what it is: browsers must not guess another type.
async fn no_sniff(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `router` answering CORS for `origins` (`*`: any); unchanged (CORS off) when there are none.
pub(crate) fn with_cors(router: Router, origins: &[String]) -> Router {
    if origins.is_empty() {
        return router;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        )
    };
    router.layer(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::CONTENT_ENCODING,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// The process is up.
async fn healthz() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// The store answers, the writer runs and its last commit did not fail for the store's sake:
/// acknowledged writes are possible.
async fn readyz(State(state): State<AppState>) -> Response {
    let not_ready = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "status": "not ready", "reason": reason })),
        )
            .into_response()
    };
    if !state.stats.writer_alive() {
        return not_ready("the writer is not running".into());
    }
    let store = state.configured_store.clone();
    let health = match tokio::task::spawn_blocking(move || store.health()).await {
        Ok(health) => health,
        Err(e) => return not_ready(format!("the store check failed: {e}")),
    };
    if health.as_ref().is_ok_and(|h| h.shut_down) {
        return not_ready("the store is closed".into());
    }
    let writer = state.stats.snapshot().writer;
    if let Some(since) = writer.failing_since_unix_nano {
        return not_ready(format!(
            "storing has failed since {} (unix ns): {}",
            since,
            writer.last_error.unwrap_or_default()
        ));
    }
    match health {
        Ok(_) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(e) => not_ready(format!("the store does not answer: {e}")),
    }
}
