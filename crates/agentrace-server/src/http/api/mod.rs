//! The REST API under `/api/v1`, its OpenAPI document, and the WebSocket live feed.
//!
//! Reads answer `GET` with JSON, and so do the writes (`POST /budgets/check`, `POST /scores`,
//! `DELETE /scores/{id}`, `POST /evaluations/runs`, `PUT` and `DELETE /evaluators/{name}`);
//! `docs/api.md` has each one with examples, and the OpenAPI 3.1 document is served at
//! `/api/v1/openapi.json`:
//!
//! | route | what |
//! |---|---|
//! | `/traces` | the trace list, newest first: time range, service, kind, model, agent, session, user, status, minimum duration, text in a span name; cursor pages |
//! | `/traces/{trace_id}` | a trace as a tree (orphans and re-attached spans marked, totals per subtree) |
//! | `/traces/{trace_id}/spans/{span_id}` | one span, with its captured prompts, responses and tool calls as messages |
//! | `/traces/{trace_id}/graph` | the trace's agents, tools and models as a graph, aggregated or call by call |
//! | `/sessions`, `/sessions/{session_id}` | sessions, most recently active (or costliest) first; one session with its traces, as a conversation |
//! | `/users` | end users, most recently active (or costliest) first |
//! | `/cost` | billable calls grouped by provider, model, agent, framework, session, user, day, … |
//! | `/tools` | tool calls, success rate, duration percentiles, top error types and patterns |
//! | `/events` | log search: minimum level, type, session, trace, text; cursor pages |
//! | `/overview` | the dashboard's numbers and a time series |
//! | `/metrics`, `/metrics/{name}` | the metrics received over OTLP; one metric's series, a point per step |
//! | `/budgets`, `/status` | budget accounts; the pipeline's counters |
//! | `POST /budgets/check` | an agent elsewhere asks whether its call fits its budgets, and may hold the estimate until the call's span arrives |
//! | `/guardrails` | guardrail checks against violations over time, violations by rule, blocks by type, data masked by kind |
//! | `/alerts` | alert rules, every alert's state, the channels' figures, and the history of notifications |
//! | `/report` | the report of a period: SLOs, cost against the period before, top failures, slowest tools, budget overruns, alerts fired, tool health changes; JSON, self-contained HTML or Markdown |
//! | `/slos`, `/slos/{name}` | the service level objectives: attainment, error budget left, burn rates, burn-rate alerts; one with its burn-down and the runs that spent its budget |
//! | `/scores`, `POST /scores`, `DELETE /scores/{id}` | scores of traces, spans and sessions: read by target, name, source, value and time; written (one or many, replacing under their id); deleted |
//! | `/scores/names`, `/scores/stats` | the score names given in a range; one score's statistics (mean, range, distribution, labels, trend) split by model, agent, service, prompt, source or annotator |
//! | `/evaluators` | the online evaluations: rules, judges, their budgets and figures |
//! | `/evaluations/runs`, `POST /evaluations/runs`, `/evaluations/runs/{id}` | re-runs of a rule on a past time range, and their progress |
//! | `/settings`, `/settings/{kind}` | the project's settings: budgets, prices, retention, capture (`PUT` and `DELETE` need `admin`) |
//! | `/openapi.json` | the OpenAPI document |
//! | `/live` | WebSocket: committed spans and events, summary numbers every second |
//!
//! Queries run on blocking threads (the store blocks on file I/O). Errors are JSON,
//! `{"error": {"code", "message"}}` (see [`ApiError`]); a query parameter an endpoint does not
//! take is refused, so a typo never silently widens a query.

pub mod access;
mod alerts;
mod analytics;
mod audit;
mod budget_check;
mod budgets;
mod evaluators;
mod graph;
mod guardrails;
mod live_feed;
mod me;
mod openapi;
mod otlp_metrics;
mod params;
mod people;
mod projects;
mod records;
mod report;
pub(crate) mod scores;
mod settings;
mod slos;
mod status;

use agentrace_store::KeyScope;
use axum::Router;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use tower_http::compression::predicate::SizeAbove;
use tower_http::compression::{CompressionLayer, CompressionLevel};

pub(crate) use crate::http::api_base::blocking;
pub use crate::http::api_base::{ApiError, PREFIX};
pub(crate) use params::parse_time;

use crate::http::state::AppState;

/// Every route, relative to [`PREFIX`], with its method, handler and the scope a credential
/// needs for it ([`KeyScope`]: reads need `read`; writes of data (scores, budget checks,
/// evaluation runs) `write`; configuration (evaluator rules, projects, keys) `admin`, and
/// the handler checks whose).
pub(crate) fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>, KeyScope)> {
    use KeyScope::{Admin, Read, Write};
    let gets = vec![
        ("/traces", get(records::list)),
        ("/search", get(records::search)),
        ("/traces/{trace_id}", get(records::tree)),
        ("/traces/{trace_id}/spans/{span_id}", get(records::span)),
        ("/traces/{trace_id}/graph", get(records::trace_graph)),
        ("/sessions", get(records::sessions)),
        ("/sessions/{session_id}", get(records::session)),
        ("/users", get(records::users)),
        ("/events", get(records::events)),
        ("/cost", get(analytics::cost)),
        ("/tools", get(analytics::tools)),
        ("/overview", get(analytics::overview)),
        ("/metrics", get(otlp_metrics::list)),
        ("/metrics/{name}", get(otlp_metrics::series)),
        ("/budgets", get(budgets::budgets)),
        ("/alerts", get(alerts::alerts)),
        ("/slos", get(slos::list)),
        ("/slos/{name}", get(slos::one)),
        ("/report", get(report::report)),
        ("/guardrails", get(guardrails::guardrails)),
        ("/evaluators", get(evaluators::list)),
        ("/evaluators/{name}", get(evaluators::one)),
        ("/evaluations/runs", get(evaluators::runs)),
        ("/evaluations/runs/{id}", get(evaluators::run)),
        ("/status", get(status::status)),
        ("/openapi.json", get(openapi::openapi)),
        ("/live", get(live_feed::feed)),
        ("/scores", get(scores::list)),
        ("/scores/names", get(scores::names)),
        ("/scores/stats", get(scores::stats)),
        ("/projects", get(projects::list)),
        ("/settings", get(settings::list)),
        ("/settings/{kind}", get(settings::one)),
        ("/audit", get(audit::list)),
    ];
    gets.into_iter()
        .map(|(path, route)| (path, "get", route, Read))
        .chain([
            ("/budgets/check", "post", post(budget_check::check), Write),
            ("/scores", "post", post(scores::write), Write),
            ("/scores/{id}", "delete", delete(scores::delete), Write),
            (
                "/evaluations/runs",
                "post",
                post(evaluators::start_run),
                Write,
            ),
            ("/evaluators/{name}", "put", put(evaluators::put), Admin),
            (
                "/evaluators/{name}",
                "delete",
                delete(evaluators::remove),
                Admin,
            ),
            ("/settings/{kind}", "put", put(settings::put), Admin),
            (
                "/settings/{kind}",
                "delete",
                delete(settings::remove),
                Admin,
            ),
            ("/projects", "post", post(projects::create), Admin),
            ("/projects/{name}", "patch", patch(projects::rename), Admin),
            (
                "/projects/{name}",
                "delete",
                delete(projects::remove),
                Admin,
            ),
            ("/projects/{name}/keys", "get", get(projects::keys), Admin),
            (
                "/projects/{name}/keys",
                "post",
                post(projects::create_key),
                Admin,
            ),
            (
                "/projects/{name}/keys/{id}",
                "delete",
                delete(projects::revoke_key),
                Admin,
            ),
            // The organization's admins' (checked by the handlers, whatever the request's
            // project): people and their sessions.
            ("/people", "get", get(people::list), Read),
            ("/people/invitations", "post", post(people::invite), Read),
            (
                "/people/invitations/{id}",
                "delete",
                delete(people::withdraw),
                Read,
            ),
            ("/people/{id}", "patch", patch(people::change), Read),
            ("/people/{id}", "delete", delete(people::remove), Read),
            ("/people/{id}/sessions", "get", get(people::sessions), Read),
            (
                "/people/{id}/sessions",
                "delete",
                delete(people::end_all),
                Read,
            ),
            // The person signed in, about themselves.
            ("/me/sessions", "get", get(me::sessions), Read),
            ("/me/sessions/{id}", "delete", delete(me::end), Read),
            ("/me/password", "post", post(me::password), Read),
            ("/keys", "get", get(projects::organization_keys), Admin),
            (
                "/keys",
                "post",
                post(projects::create_organization_key),
                Admin,
            ),
            (
                "/keys/{id}",
                "delete",
                delete(projects::revoke_organization_key),
                Admin,
            ),
        ])
        .collect()
}

/// The API of an open server over `state`: every route under `/api/v1`, each request the
/// organization's admin acting on `default` unless it presents a key or names its project
/// (`x-agentrace-project`). What a test of the API serves; `serve` puts the routes behind its
/// configured tokens instead.
pub fn router(state: AppState) -> Router {
    let auth = crate::http::auth::Auth::new(None, state.directory.clone(), state.stats.clone());
    crate::http::auth::scoped(scoped_router(state), auth)
}

/// The API: every route under `/api/v1` (the prefix included, so the app merges this router
/// as is), each checking the scope of the request's credential; the request's project must be
/// resolved before ([`crate::http::auth::scope_request`]). Unknown paths under the prefix
/// answer a JSON 404, other methods a JSON 405.
pub(crate) fn scoped_router(state: AppState) -> Router {
    let api = crate::http::audit::audited(
        routes()
            .into_iter()
            .fold(Router::new(), |router, (path, _, route, needed)| {
                router.route(path, crate::http::auth::needing(route, needed))
            })
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed),
        // Inside the credentials' check: each change and sensitive read is recorded with who
        // made it.
        state.recorder(),
    )
    // Large answers (a trace of thousands of spans) travel gzipped to clients that take it,
    // at the fastest level.
    .layer(
        CompressionLayer::new()
            .gzip(true)
            .quality(CompressionLevel::Fastest)
            .compress_when(SizeAbove::new(2048)),
    );
    Router::new().nest(PREFIX, api).with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound(format!(
        "no such API route; see {PREFIX}/openapi.json for the routes"
    ))
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_every_route_and_only_them() -> Result<(), serde_json::Error> {
        let doc: serde_json::Value = serde_json::from_str(openapi::OPENAPI)?;
        let mut documented: Vec<String> = doc["paths"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let mut served: Vec<(String, &str)> = routes()
            .into_iter()
            .map(|(path, method, _, _)| (format!("{PREFIX}{path}"), method))
            .chain(
                crate::http::auth::ROUTES
                    .iter()
                    .map(|(path, method)| (format!("{PREFIX}{path}"), *method)),
            )
            .collect();
        documented.sort();
        served.sort();
        let mut served_paths: Vec<String> = served.iter().map(|(p, _)| p.clone()).collect();
        served_paths.dedup();
        assert_eq!(documented, served_paths);
        documented.dedup();
        let mut paths: Vec<String> = served.iter().map(|(p, _)| p.clone()).collect();
        paths.dedup();
        for path in paths {
            let operations = doc["paths"][&path].as_object().map(|o| {
                let mut methods = o.keys().cloned().collect::<Vec<_>>();
                methods.sort();
                methods
            });
            let mut methods: Vec<String> = served
                .iter()
                .filter(|(p, _)| *p == path)
                .map(|(_, m)| (*m).to_owned())
                .collect();
            methods.sort();
            assert_eq!(operations, Some(methods), "{path}: these methods only");
        }
        assert_eq!(doc["openapi"], "3.1.0");
        Ok(())
    }

    #[test]
    fn the_openapi_document_lists_every_error_code_and_only_them() -> Result<(), serde_json::Error>
    {
        let doc: serde_json::Value = serde_json::from_str(openapi::OPENAPI)?;
        let mut documented: Vec<&str> = doc["components"]["schemas"]["Error"]["properties"]
            ["error"]["properties"]["code"]["enum"]
            .as_array()
            .map(|codes| codes.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default();
        let every_error = [
            ApiError::bad("limit", "x"),
            ApiError::UnknownParameter {
                name: "x".into(),
                expected: "y".into(),
            },
            ApiError::BadRequest("x".into()),
            ApiError::UpgradeRequired,
            ApiError::Unauthorized("x".into()),
            ApiError::TooManyRequests {
                what: "x".into(),
                retry_after: std::time::Duration::from_secs(1),
            },
            ApiError::Forbidden("x".into()),
            ApiError::NotFound("x".into()),
            ApiError::Conflict("x".into()),
            ApiError::MethodNotAllowed,
            ApiError::Busy,
            ApiError::Unavailable("x".into()),
            ApiError::Internal("x".into()),
        ];
        let mut answered: Vec<&str> = every_error.iter().map(ApiError::code).collect();
        documented.sort_unstable();
        answered.sort_unstable();
        answered.dedup();
        assert_eq!(documented, answered);
        Ok(())
    }
}
