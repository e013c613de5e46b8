//! Langfuse's public API, as far as the Langfuse Python SDK (v3 and later, built on
//! OpenTelemetry) uses it with agentrace as its host (`LANGFUSE_BASE_URL`):
//!
//! | route | what agentrace does |
//! |---|---|
//! | `POST /api/public/otel/v1/traces` | the OTLP/HTTP receiver: spans normalized (the Langfuse dialect), priced, stored before the answer |
//! | `POST /api/public/scores` | scores: v5's array (202, or 207 naming the scores refused), or one score (200 `{"id"}`) |
//! | `POST /api/public/ingestion` | v3 and v4's batches: each `score-create` a score; other event types refused by event (207) |
//! | `GET /api/public/projects` | one project, `agentrace` (the SDK's `auth_check`) |
//! | any other `/api/public/…` | 404 in Langfuse's shape, `{"message", "error": "LangfuseNotFoundError"}`: what the SDK takes for a missing thing (`get_prompt(…, fallback=…)` falls back) |
//!
//! The SDK authenticates with `Authorization: Basic base64(public_key:secret_key)`: with an API
//! token configured, the secret key is the token (the public key is not checked).
//!
//! A Langfuse score names its target by `traceId` and `observationId` (a span), `traceId` (a
//! trace) or `sessionId`; its `dataType` (`NUMERIC`, `BOOLEAN`, `CATEGORICAL`, `TEXT`,
//! `CORRECTION`; absent: from the value) and `value` (a number, or text for the categorical
//! and text ones), `comment` (the explanation), `metadata`, `environment`, `configId`,
//! `timestamp` and `id` (the idempotency key) carry over; dataset runs are not kept.

use agentrace_core::ScoreConfigs;
use agentrace_core::{
    Score, ScoreKind, ScoreSource, ScoreTarget, ScoreValue, SpanId, TraceId, now_unix_nano,
};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::http::api::{ApiError, parse_time, scores};
use crate::http::auth::needing;
use crate::http::scope::Scope;
use crate::http::state::AppState;
use agentrace_store::KeyScope::{Read, Write};

/// The Langfuse routes (the OTLP one apart: [`super::router`] nests the receiver's).
/// Each needs the scope of the API route doing the same (scores: `write`); the OTLP route, as
/// OTLP/HTTP, any key that may send.
pub(super) fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/api/public/scores", needing(post(write_scores), Write))
        .route("/api/public/ingestion", needing(post(ingestion), Write))
        .route("/api/public/projects", needing(get(projects), Read))
        // Answered 404 to any credential.
        .route("/api/public/{*rest}", any(not_served));
    crate::http::audit::audited(routes, state.recorder()).with_state(state)
}

/// axum middleware: `Authorization: Basic base64(public:secret)` passed on as
/// `Bearer secret`, so that the API token is checked as everywhere else.
pub(super) async fn basic_as_bearer(mut request: Request, next: Next) -> Response {
    let secret = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(basic_secret);
    if let Some(bearer) = secret.and_then(|s| HeaderValue::from_str(&format!("Bearer {s}")).ok()) {
        request.headers_mut().insert(header::AUTHORIZATION, bearer);
    }
    next.run(request).await
}

/// The password of a `Basic` credential.
fn basic_secret(authorization: &str) -> Option<String> {
    let (scheme, encoded) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(_, secret)| secret.to_owned())
}

/// Any other route of Langfuse's public API: a 404 as Langfuse answers for a thing it does not
/// have, so that the SDK handles it as such (a prompt's fallback is used).
async fn not_served(method: Method, uri: axum::http::Uri) -> Response {
    let message = format!(
        "{method} {} is not served by agentrace: it takes Langfuse's OpenTelemetry spans \
         (/api/public/otel/v1/traces), scores (/api/public/scores) and score-create ingestion \
         (docs/migrating.md)",
        uri.path()
    );
    (
        StatusCode::NOT_FOUND,
        Json(json!({"message": message, "error": "LangfuseNotFoundError"})),
    )
        .into_response()
}

/// `GET /api/public/projects`: the project the key acts on.
async fn projects(scope: Scope) -> Json<Value> {
    let name = scope.project.name.as_str();
    Json(json!({"data": [{"id": name, "name": name, "metadata": {}}]}))
}

/// `POST /api/public/scores`: an array (the SDK's batches) or one score (the REST API).
async fn write_scores(
    State(state): State<AppState>,
    scope: Scope,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let now = now_unix_nano();
    match body {
        Value::Array(items) => {
            let (ok, refused) = sort(
                &state.score_configs_of(&scope),
                items.iter().map(|item| score(item, None, now)),
            );
            let accepted = ok.len();
            if !ok.is_empty() {
                scores::store(&state, &scope, ok).await?;
            }
            if refused.is_empty() {
                Ok((StatusCode::ACCEPTED, Json(json!({"message": "Accepted"}))).into_response())
            } else {
                let errors: Vec<Value> = refused
                    .into_iter()
                    .map(|(i, why)| json!({"message": format!("score {i}: {why}")}))
                    .collect();
                Ok((
                    StatusCode::MULTI_STATUS,
                    Json(json!({"accepted": accepted, "rejected": errors.len(), "errors": errors})),
                )
                    .into_response())
            }
        }
        one => {
            let score = checked(&state.score_configs_of(&scope), score(&one, None, now))
                .map_err(|why| ApiError::BadRequest(format!("the score: {why}")))?;
            let ids = scores::store(&state, &scope, vec![score]).await?;
            Ok(Json(json!({"id": ids.first()})).into_response())
        }
    }
}

/// `POST /api/public/ingestion`: `{"batch": [{"id", "type", "timestamp", "body"}]}`.
async fn ingestion(
    State(state): State<AppState>,
    scope: Scope,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let batch = body["batch"]
        .as_array()
        .ok_or_else(|| ApiError::BadRequest("the body has no `batch` array".into()))?;
    let now = now_unix_nano();
    let mut event_ids = Vec::with_capacity(batch.len());
    let made = batch.iter().map(|event| {
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        event_ids.push(id);
        match event["type"].as_str() {
            Some("score-create") => score(&event["body"], event["timestamp"].as_str(), now),
            Some(other) => Err(format!(
                "events of type {other:?} are not taken: agentrace reads traces over OpenTelemetry (/api/public/otel/v1/traces) and scores as score-create"
            )),
            None => Err("an event without a type".to_owned()),
        }
    });
    let made: Vec<_> = made.collect();
    let (ok, refused) = sort(&state.score_configs_of(&scope), made);
    let stored: Vec<usize> = (0..batch.len())
        .filter(|i| !refused.iter().any(|(r, _)| r == i))
        .collect();
    if !ok.is_empty() {
        scores::store(&state, &scope, ok).await?;
    }
    let successes: Vec<Value> = stored
        .iter()
        .map(|&i| json!({"id": event_ids[i], "status": 201}))
        .collect();
    let errors: Vec<Value> = refused
        .into_iter()
        .map(|(i, why)| json!({"id": event_ids[i], "status": 400, "message": why}))
        .collect();
    Ok((
        StatusCode::MULTI_STATUS,
        Json(json!({"successes": successes, "errors": errors})),
    )
        .into_response())
}

/// The scores made, each checked against its configuration, and the refused ones by index
/// with why.
fn sort(
    configs: &ScoreConfigs,
    made: impl IntoIterator<Item = Result<Score, String>>,
) -> (Vec<Score>, Vec<(usize, String)>) {
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for (i, score) in made.into_iter().enumerate() {
        match checked(configs, score) {
            Ok(score) => ok.push(score),
            Err(why) => refused.push((i, why)),
        }
    }
    (ok, refused)
}

/// `score` if it fits its name's configuration.
fn checked(configs: &ScoreConfigs, score: Result<Score, String>) -> Result<Score, String> {
    let score = score?;
    configs.check(&score).map_err(|e| e.to_string())?;
    Ok(score)
}

/// A Langfuse score object as a [`Score`] (`timestamp`: an ingestion event's, when the body
/// has none; `now`: when neither has one).
fn score(body: &Value, timestamp: Option<&str>, now: u64) -> Result<Score, String> {
    let object = body.as_object().ok_or("a score is a JSON object")?;
    let text = |key: &str| -> Result<Option<String>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("`{key}` must be a string")),
        }
    };
    if text("datasetRunId")?.is_some() {
        return Err("scores of dataset runs are not kept by agentrace".into());
    }
    let name = text("name")?.ok_or("a score needs a `name`")?;
    let trace = text("traceId")?
        .map(|t| t.parse::<TraceId>().map_err(|e| format!("traceId: {e}")))
        .transpose()?;
    let observation = text("observationId")?
        .map(|s| {
            s.parse::<SpanId>()
                .map_err(|e| format!("observationId: {e}"))
        })
        .transpose()?;
    let target = match (observation, trace, text("sessionId")?) {
        (Some(span_id), trace_id, _) => ScoreTarget::Span { span_id, trace_id },
        (None, Some(trace), _) => ScoreTarget::Trace(trace),
        (None, None, Some(session)) => ScoreTarget::Session(session),
        (None, None, None) => {
            return Err("a score needs a traceId, an observationId or a sessionId".into());
        }
    };
    let data_type = text("dataType")?;
    let value = value_of(object.get("value"), data_type.as_deref())?;
    let mut score = Score::new(target, name, value).map_err(|e| e.to_string())?;
    score.id = text("id")?;
    score.explanation = text("comment")?;
    score.source = match text("source")?.as_deref() {
        None | Some("API") => ScoreSource::Api,
        Some("ANNOTATION") => ScoreSource::Annotation,
        Some("EVAL") => ScoreSource::Eval,
        Some(other) => return Err(format!("source {other:?} is not API, ANNOTATION or EVAL")),
    };
    score.metadata = match object.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => Map::from_iter([("metadata".to_owned(), other.clone())]),
    };
    for (key, field) in [
        ("environment", "environment"),
        ("langfuse.config_id", "configId"),
    ] {
        if let Some(v) = text(field)? {
            score.metadata.insert(key.to_owned(), v.into());
        }
    }
    if data_type.as_deref() == Some("CORRECTION") {
        score
            .metadata
            .insert("langfuse.data_type".into(), "CORRECTION".into());
    }
    let time = text("timestamp")?.or_else(|| timestamp.map(str::to_owned));
    score.time_unix_nano = match time {
        Some(t) => parse_time(&t, now).ok_or(format!("timestamp {t:?} is not an RFC 3339 time"))?,
        None => now,
    };
    score.check().map_err(|e| e.to_string())?;
    Ok(score)
}

/// The value of a score of `data_type` (absent: a number is numeric, text categorical).
fn value_of(value: Option<&Value>, data_type: Option<&str>) -> Result<ScoreValue, String> {
    let kind = match data_type {
        None => None,
        Some("NUMERIC") => Some(ScoreKind::Numeric),
        Some("BOOLEAN") => Some(ScoreKind::Boolean),
        Some("CATEGORICAL") => Some(ScoreKind::Categorical),
        Some("TEXT" | "CORRECTION") => Some(ScoreKind::Text),
        Some(other) => {
            return Err(format!(
                "dataType {other:?} is not NUMERIC, BOOLEAN, CATEGORICAL, TEXT or CORRECTION"
            ));
        }
    };
    let (number, label) = match value {
        Some(Value::Number(n)) => (n.as_f64(), None),
        Some(Value::Bool(b)) => (Some(if *b { 1.0 } else { 0.0 }), None),
        Some(Value::String(s)) => (None, Some(s.clone())),
        None | Some(Value::Null) => return Err("a score needs a `value`".into()),
        Some(_) => return Err("`value` must be a number or a string".into()),
    };
    let kind = kind.or(Some(if number.is_some() {
        ScoreKind::Numeric
    } else {
        ScoreKind::Categorical
    }));
    Ok(ScoreValue {
        kind,
        value: number,
        label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_795_000_000_000_000_000;

    #[test]
    fn the_sdks_scores_are_scores_of_their_target() -> Result<(), String> {
        let span = score(
            &json!({"id": "fa73cfda8570dfc4", "traceId": "8b73942a2a94d1443159262da443fc61",
                    "observationId": "5e9474631a9c5abb", "name": "relevance", "value": 0.9,
                    "comment": "ok", "environment": "staging",
                    "timestamp": "2026-11-25T18:44:53.532160Z"}),
            None,
            T,
        )?;
        assert!(matches!(
            span.target,
            ScoreTarget::Span {
                trace_id: Some(_),
                ..
            }
        ));
        assert_eq!(
            (
                span.kind,
                span.value,
                span.explanation.as_deref(),
                span.id.as_deref()
            ),
            (
                ScoreKind::Numeric,
                Some(0.9),
                Some("ok"),
                Some("fa73cfda8570dfc4")
            )
        );
        assert_eq!(span.metadata["environment"], "staging");
        assert_eq!(span.time_unix_nano, 1_795_632_293_532_160_000);
        let boolean = score(
            &json!({"traceId": "8b73942a2a94d1443159262da443fc61", "name": "helpful",
                    "value": 1.0, "dataType": "BOOLEAN"}),
            Some("2026-11-25T18:44:53Z"),
            T,
        )?;
        assert_eq!(
            (boolean.kind, boolean.label.as_deref()),
            (ScoreKind::Boolean, Some("true"))
        );
        assert_eq!(boolean.time_unix_nano, 1_795_632_293_000_000_000);
        let category = score(
            &json!({"sessionId": "sess-1", "name": "quality", "value": "good",
                    "dataType": "CATEGORICAL", "metadata": [1]}),
            None,
            T,
        )?;
        assert_eq!(category.target, ScoreTarget::Session("sess-1".into()));
        assert_eq!(category.label.as_deref(), Some("good"));
        assert_eq!(category.metadata["metadata"], json!([1]));
        assert_eq!(category.time_unix_nano, T);
        Ok(())
    }

    #[test]
    fn what_makes_no_score_says_why() {
        let why = |body: Value| score(&body, None, T).err().unwrap_or_default();
        assert!(why(json!({"name": "x", "value": 1})).contains("traceId"));
        assert!(
            why(json!({"traceId": "8b73942a2a94d1443159262da443fc61", "value": 1}))
                .contains("name")
        );
        assert!(why(json!({"sessionId": "s", "name": "x"})).contains("value"));
        assert!(
            why(json!({"sessionId": "s", "name": "x", "value": 1, "dataType": "SCALE"}))
                .contains("SCALE")
        );
        assert!(
            why(json!({"sessionId": "s", "name": "x", "value": 1, "datasetRunId": "r"}))
                .contains("dataset")
        );
        assert!(why(json!({"traceId": "nope", "name": "x", "value": 1})).contains("traceId"));
        assert!(
            why(json!({"sessionId": "s", "name": "x", "value": 1, "timestamp": "yesterday"}))
                .contains("RFC 3339")
        );
        assert!(why(json!([1])).contains("object"));
    }

    #[test]
    fn basic_credentials_give_their_secret() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("pk-lf-1:sk-lf-2");
        assert_eq!(
            basic_secret(&format!("Basic {encoded}")).as_deref(),
            Some("sk-lf-2")
        );
        assert_eq!(
            basic_secret(&format!("basic {encoded}")).as_deref(),
            Some("sk-lf-2")
        );
        assert_eq!(basic_secret("Bearer sk-lf-2"), None);
        assert_eq!(basic_secret("Basic !!!"), None);
    }
}
