//! `/report`: the report of a period (`crate::jobs::report`) as JSON, HTML or Markdown.

use agentrace_core::now_unix_nano;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::params::Params;
use crate::http::api_base::{ApiError, blocking};
use crate::http::scope::Scope;
use crate::http::state::AppState;
use crate::jobs::report::{Section, gather, html, markdown};

/// The longest period a report covers (the period before is read too).
const MAX_PERIOD_NS: u64 = 366 * 86_400 * 1_000_000_000;

/// The report's page may style itself inline and show nothing it did not bring.
const HTML_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// `GET /report`: the report of `from`..`to` (default: the last 7 days up to now), every
/// section or those named in `section` (comma-separated), as `format` `json` (default),
/// `html` or `markdown`.
pub(super) async fn report(
    State(state): State<AppState>,
    scope: Scope,
    mut p: Params,
) -> Result<Response, ApiError> {
    let now = now_unix_nano();
    let range = p.range()?;
    let to = range.end_unix_nano.unwrap_or(now);
    let from = range
        .start_unix_nano
        .unwrap_or_else(|| to.saturating_sub(7 * 86_400 * 1_000_000_000));
    if from >= to {
        return Err(ApiError::bad(
            "to",
            "must be after `from` (`to` defaults to now)",
        ));
    }
    if to - from > MAX_PERIOD_NS {
        return Err(ApiError::bad("from", "a report covers at most 366 days"));
    }
    let sections = match p.text("section")? {
        None => Section::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|name| {
                Section::parse(name.trim()).ok_or_else(|| {
                    ApiError::bad(
                        "section",
                        format!(
                            "{name:?}: expected {}",
                            Section::ALL.map(Section::name).join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let format = p.text("format")?;
    if !matches!(format.as_deref(), None | Some("json" | "html" | "markdown")) {
        return Err(ApiError::bad(
            "format",
            "expected `json`, `html` or `markdown`",
        ));
    }
    p.finish()?;
    let slos = state
        .alerts_of(&scope)
        .map(|a| a.slos().to_vec())
        .unwrap_or_default();
    let report = blocking(&scope.store, move |s| {
        gather(s, &slos, (from, to), &sections, now)
    })
    .await?;
    Ok(match format.as_deref() {
        Some("html") => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, HTML_POLICY),
            ],
            html::render(&report, ""),
        )
            .into_response(),
        Some("markdown") => (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            markdown::render(&report, ""),
        )
            .into_response(),
        _ => Json(report).into_response(),
    })
}
