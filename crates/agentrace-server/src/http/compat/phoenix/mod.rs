//! Arize Phoenix's annotation API and span reads, as `arize-phoenix-client` calls them with
//! agentrace's app address as its `base_url` (its `api_key` is agentrace's API token):
//!
//! | route | what agentrace does |
//! |---|---|
//! | `POST /v1/span_annotations`, `/v1/trace_annotations`, `/v1/session_annotations` | each annotation a score (source `annotation`) of its span, trace or session; upserted on name + target + `identifier`, as Phoenix does |
//! | `POST /v1/span_notes` | a note: a text score named `note` of the span, a new one each time |
//! | `GET /v1/projects/{project}/span_annotations` | the scores of the spans named (`span_ids`), in Phoenix's form, a page at a time |
//! | `GET /v1/projects/{project}/spans` | the project's spans in Phoenix's shape, newest first, with its filters and cursor ([`list`]) |
//! | `POST /v1/spans` (and its older `GET`) | the project's spans as the pandas frame `get_spans_dataframe` decodes ([`frame`]) |
//! | `GET /v1/projects/{project}` | the project of that name ([`spans`] says what a project is) |
//! | `GET /arize_phoenix_version` | the Phoenix version whose annotation and span APIs this is |
//! | `POST /v1/document_annotations` | refused (400): agentrace keeps no retrieved documents apart |
//!
//! An annotation's `result` gives the score: `score` its value, `label` its label,
//! `explanation` its explanation (an explanation alone makes a text score of that text);
//! `annotator_kind` (`LLM`, `CODE`, `HUMAN`) who gave it; `metadata` carries over, the
//! `identifier` kept in it as `phoenix.identifier`. Every annotation of a request is checked
//! before any is stored (422 and why, as Phoenix does). A target need not be stored yet
//! (Phoenix answers 404 for a span it does not have). The project of an annotation read is
//! not checked: a span id names its span.

use agentrace_core::civil::{Precision, rfc3339};
use std::collections::HashSet;

use agentrace_core::{
    AnnotatorKind, Score, ScoreKind, ScoreSource, ScoreTarget, ScoreValue, SpanId, TraceId,
};
use agentrace_store::{ScoreFilter, ScoreQuery};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::http::api::{ApiError, blocking, scores};
use crate::http::scope::Scope;

mod frame;
mod list;
mod spans;
use crate::http::auth::needing;
use crate::http::state::AppState;
use agentrace_store::KeyScope::{Read, Write};

/// The Phoenix release whose annotation and span APIs this answers as: the client checks it
/// before it uses a filter of `get_spans` (20.8.0 is the newest any check of client 3.5 asks).
const VERSION: &str = "20.8.0";

/// Where an annotation's identifier is kept in its score's metadata.
const IDENTIFIER: &str = "phoenix.identifier";

/// Spans a read names at most, and annotations it returns at most.
const MAX_SPANS: usize = 1_000;
const MAX_LIMIT: usize = 10_000;

/// Each needs the scope of the API route doing the same (annotations are scores: `write`;
/// reads `read`).
pub(super) fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/arize_phoenix_version", needing(get(version), Read))
        .route(
            "/v1/span_annotations",
            needing(post(annotate::<Span>), Write),
        )
        .route(
            "/v1/trace_annotations",
            needing(post(annotate::<Trace>), Write),
        )
        .route(
            "/v1/session_annotations",
            needing(post(annotate::<Session>), Write),
        )
        .route("/v1/document_annotations", needing(post(documents), Write))
        .route("/v1/span_notes", needing(post(note), Write))
        .route(
            "/v1/projects/{project}/span_annotations",
            needing(get(span_annotations), Read),
        )
        .route("/v1/projects/{project}", needing(get(project), Read))
        .route(
            "/v1/projects/{project}/spans",
            needing(get(list::list), Read),
        )
        .route(
            "/v1/spans",
            needing(post(frame::query).get(frame::query), Read),
        );
    crate::http::audit::audited(routes, state.recorder()).with_state(state)
}

/// A request's query parameters, a repeated key's values all kept (Phoenix's filters repeat
/// them).
struct Pairs(Vec<(String, String)>);

impl Pairs {
    fn of(query: Option<String>) -> Self {
        Self(
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// Every value of `key`, in order.
    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of `key`.
    fn one(&self, key: &str) -> Option<&str> {
        self.all(key).first().copied()
    }
}

async fn version() -> &'static str {
    VERSION
}

/// `GET /v1/projects/{project}`: the project of that name or id (every name is a project:
/// one holds the spans that arrived with it).
async fn project(Path(identifier): Path<String>) -> Json<Value> {
    let name = spans::project_name(&identifier);
    Json(json!({"data": {"id": spans::project_id(&name), "name": name, "description": null}}))
}

async fn documents() -> ApiError {
    ApiError::BadRequest(
        "document annotations are not kept by agentrace: annotate the retriever's span instead"
            .into(),
    )
}

/// What an annotation targets, by its route.
trait Target {
    /// The field naming it.
    const FIELD: &'static str;
    /// The target a field's value names.
    fn parse(id: &str) -> Result<ScoreTarget, String>;
}

struct Span;
struct Trace;
struct Session;

impl Target for Span {
    const FIELD: &'static str = "span_id";
    fn parse(id: &str) -> Result<ScoreTarget, String> {
        let span_id = id.parse::<SpanId>().map_err(|e| format!("span_id: {e}"))?;
        Ok(ScoreTarget::Span {
            span_id,
            trace_id: None,
        })
    }
}

impl Target for Trace {
    const FIELD: &'static str = "trace_id";
    fn parse(id: &str) -> Result<ScoreTarget, String> {
        id.parse::<TraceId>()
            .map(ScoreTarget::Trace)
            .map_err(|e| format!("trace_id: {e}"))
    }
}

impl Target for Session {
    const FIELD: &'static str = "session_id";
    fn parse(id: &str) -> Result<ScoreTarget, String> {
        Ok(ScoreTarget::Session(id.to_owned()))
    }
}

#[derive(Deserialize)]
struct Sync {
    #[serde(default)]
    sync: bool,
}

/// A 422, as Phoenix answers an annotation it cannot take.
fn unprocessable(why: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"error": {"code": "bad_request", "message": why}})),
    )
        .into_response()
}

/// `POST /v1/{span,trace,session}_annotations`: `{"data": [annotation, …]}`.
async fn annotate<T: Target>(
    State(state): State<AppState>,
    scope: Scope,
    Query(Sync { sync }): Query<Sync>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let Some(data) = body["data"].as_array() else {
        return Ok(unprocessable("the body has no `data` array".into()));
    };
    if data.is_empty() {
        return Ok(unprocessable("`data` is empty".into()));
    }
    let configs = state.score_configs_of(&scope);
    let made: Result<Vec<Score>, String> = data
        .iter()
        .enumerate()
        .map(|(i, a)| {
            annotation::<T>(a)
                .and_then(|s| configs.check(&s).map(|()| s).map_err(|e| e.to_string()))
                .map_err(|why| format!("annotation {i}: {why}"))
        })
        .collect();
    let made = match made {
        Ok(made) => made,
        Err(why) => return Ok(unprocessable(why)),
    };
    let ids = scores::store(&state, &scope, made).await?;
    let data: Vec<Value> = if sync {
        ids.into_iter().map(|id| json!({"id": id})).collect()
    } else {
        Vec::new()
    };
    Ok(Json(json!({"data": data})).into_response())
}

/// One annotation as a score of its target.
fn annotation<T: Target>(a: &Value) -> Result<Score, String> {
    let text = |v: &Value, key: &str| -> Result<Option<String>, String> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Some(_) => Err(format!("`{key}` must be a string")),
        }
    };
    let name = text(a, "name")?.ok_or("an annotation needs a `name`")?;
    if name == "note" {
        return Err("the name `note` is for notes: POST /v1/span_notes".into());
    }
    let target =
        T::parse(&text(a, T::FIELD)?.ok_or(format!("an annotation needs a `{}`", T::FIELD))?)?;
    let annotator = match text(a, "annotator_kind")?.as_deref() {
        Some("LLM") => AnnotatorKind::Llm,
        Some("CODE") => AnnotatorKind::Code,
        Some("HUMAN") => AnnotatorKind::Human,
        other => {
            return Err(format!(
                "annotator_kind {other:?} is not LLM, CODE or HUMAN"
            ));
        }
    };
    let result = a.get("result").unwrap_or(&Value::Null);
    let value = match result.get("score") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(_) => return Err("`result.score` must be a number".into()),
    };
    let label = text(result, "label")?;
    let explanation = text(result, "explanation")?;
    let given = match (value, label, &explanation) {
        (None, None, Some(text)) => ScoreValue {
            kind: Some(ScoreKind::Text),
            value: None,
            label: Some(text.clone()),
        },
        (None, None, None) => {
            return Err("an annotation needs a result: a score, a label or an explanation".into());
        }
        (value, label, _) => ScoreValue {
            kind: None,
            value,
            label,
        },
    };
    let mut score = Score::new(target, name, given).map_err(|e| e.to_string())?;
    score.explanation = explanation.filter(|_| score.kind != ScoreKind::Text);
    score.source = ScoreSource::Annotation;
    score.annotator = annotator;
    score.metadata = match a.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("`metadata` must be an object".into()),
    };
    let identifier = text(a, "identifier")?.unwrap_or_default();
    if !identifier.is_empty() {
        score
            .metadata
            .insert(IDENTIFIER.into(), identifier.clone().into());
    }
    score.id = Some(Score::stable_id(
        "px",
        &[
            score.target.key().as_bytes(),
            score.name.as_bytes(),
            identifier.as_bytes(),
        ],
    ));
    score.check().map_err(|e| e.to_string())?;
    Ok(score)
}

/// `POST /v1/span_notes`: `{"data": {"span_id", "note"}}`, a new text score named `note`.
async fn note(
    State(state): State<AppState>,
    scope: Scope,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let data = &body["data"];
    let (Some(span), Some(text)) = (data["span_id"].as_str(), data["note"].as_str()) else {
        return Ok(unprocessable(
            "a note needs `data.span_id` and `data.note`".into(),
        ));
    };
    let made = Span::parse(span).and_then(|target| {
        Score::new(
            target,
            "note",
            ScoreValue {
                kind: Some(ScoreKind::Text),
                value: None,
                label: Some(text.to_owned()),
            },
        )
        .map_err(|e| e.to_string())
    });
    let mut score = match made {
        Ok(score) => score,
        Err(why) => return Ok(unprocessable(why)),
    };
    score.source = ScoreSource::Annotation;
    let ids = scores::store(&state, &scope, vec![score]).await?;
    Ok(Json(json!({"data": {"id": ids.first()}})).into_response())
}

/// `GET /v1/projects/{project}/span_annotations?span_ids=…&span_ids=…`: their scores, newest
/// first, `limit` a page (default 1,000, at most 10,000), `include_annotation_names` and
/// `exclude_annotation_names` (repeated), `cursor` (the previous page's `next_cursor`).
async fn span_annotations(
    scope: Scope,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = Pairs::of(query);
    let all = |key: &str| pairs.all(key);
    let one = |key: &'static str| -> Result<Option<usize>, ApiError> {
        all(key)
            .first()
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| ApiError::bad(key, "not a whole number"))
            })
            .transpose()
    };
    let mut spans = Vec::new();
    for id in all("span_ids") {
        spans.push(
            id.parse::<SpanId>()
                .map_err(|e| ApiError::bad("span_ids", e))?,
        );
    }
    if spans.is_empty() || spans.len() > MAX_SPANS {
        return Err(ApiError::bad(
            "span_ids",
            format!("name 1 to {MAX_SPANS} spans"),
        ));
    }
    let limit = one("limit")?.unwrap_or(1_000);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad("limit", format!("1 to {MAX_LIMIT}")));
    }
    let offset = one("cursor")?.unwrap_or(0);
    let include: HashSet<String> = all("include_annotation_names")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let exclude: HashSet<String> = all("exclude_annotation_names")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let wanted = offset.saturating_add(limit).saturating_add(1);
    let mut found = blocking(&scope.store, move |store| {
        let mut found = Vec::new();
        for span in spans {
            let mut filter = ScoreFilter::new();
            filter.span_id = Some(span);
            found.extend(store.scores(&ScoreQuery::new(filter, wanted))?.scores);
        }
        Ok(found)
    })
    .await?;
    found.retain(|s| {
        (include.is_empty() || include.contains(&s.name)) && !exclude.contains(&s.name)
    });
    found.sort_by(|a, b| (b.time_unix_nano, &b.id).cmp(&(a.time_unix_nano, &a.id)));
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(limit)
        .map(as_phoenix)
        .collect();
    let next = (found.len() > offset + limit).then(|| (offset + limit).to_string());
    Ok(Json(json!({"data": page, "next_cursor": next})))
}

/// A span's score as Phoenix shows an annotation.
fn as_phoenix(score: &Score) -> Value {
    let ScoreTarget::Span { span_id, .. } = &score.target else {
        return Value::Null;
    };
    let mut metadata = score.metadata.clone();
    let identifier = metadata
        .remove(IDENTIFIER)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let (label, explanation) = match score.kind {
        ScoreKind::Text => (None, score.label.clone()),
        _ => (score.label.clone(), score.explanation.clone()),
    };
    let at = rfc3339(score.time_unix_nano, Precision::Seconds);
    json!({
        "id": score.id,
        "span_id": span_id.to_string(),
        "name": score.name,
        "annotator_kind": score.annotator.as_str().to_ascii_uppercase(),
        "result": {"label": label, "score": score.value, "explanation": explanation},
        "metadata": metadata,
        "identifier": identifier,
        "source": "API",
        "user_id": null,
        "created_at": at,
        "updated_at": at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_scores_upserted_on_name_target_and_identifier() -> Result<(), String> {
        let a = json!({"name": "quality", "annotator_kind": "LLM", "span_id": "00f067aa0ba902b7",
                       "result": {"label": "good", "score": 0.9, "explanation": "ok"},
                       "metadata": {"model": "gpt"}, "identifier": "run-1"});
        let score = annotation::<Span>(&a)?;
        assert_eq!(
            (
                score.kind,
                score.value,
                score.label.as_deref(),
                score.explanation.as_deref()
            ),
            (ScoreKind::Numeric, Some(0.9), Some("good"), Some("ok"))
        );
        assert_eq!(
            (score.source, score.annotator),
            (ScoreSource::Annotation, AnnotatorKind::Llm)
        );
        assert_eq!(score.metadata[IDENTIFIER], "run-1");
        let again = annotation::<Span>(&json!({"name": "quality", "annotator_kind": "HUMAN",
            "span_id": "00f067aa0ba902b7", "result": {"score": 0.1}, "identifier": "run-1"}))?;
        assert_eq!(
            again.id, score.id,
            "the same name, span and identifier: one score"
        );
        let other = annotation::<Span>(&json!({"name": "quality", "annotator_kind": "HUMAN",
            "span_id": "00f067aa0ba902b7", "result": {"score": 0.1}}))?;
        assert_ne!(other.id, score.id, "another identifier");
        let explained = annotation::<Trace>(&json!({"name": "why", "annotator_kind": "CODE",
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "result": {"explanation": "slow"}}))?;
        assert_eq!(
            (explained.kind, explained.label.as_deref()),
            (ScoreKind::Text, Some("slow"))
        );
        let shown = as_phoenix(&score);
        assert_eq!(shown["identifier"], "run-1");
        assert_eq!(shown["metadata"], json!({"model": "gpt"}));
        assert_eq!(shown["annotator_kind"], "LLM");
        assert_eq!(
            shown["result"],
            json!({"label": "good", "score": 0.9, "explanation": "ok"})
        );
        Ok(())
    }

    #[test]
    fn what_makes_no_annotation_says_why() {
        let why = |a: Value| annotation::<Session>(&a).err().unwrap_or_default();
        let ok = json!({"name": "n", "annotator_kind": "HUMAN", "session_id": "s", "result": {"score": 1}});
        assert_eq!(why(ok.clone()), "");
        let mut no_kind = ok.clone();
        no_kind["annotator_kind"] = json!("ROBOT");
        assert!(why(no_kind).contains("ROBOT"));
        let mut note = ok.clone();
        note["name"] = json!("note");
        assert!(why(note).contains("span_notes"));
        let mut empty = ok.clone();
        empty["result"] = json!({});
        assert!(why(empty).contains("result"));
        let mut no_target = ok;
        no_target.as_object_mut().map(|o| o.remove("session_id"));
        assert!(why(no_target).contains("session_id"));
    }
}
