//! Phoenix's span reads: agentrace's spans as Phoenix shows them, in the project they arrived
//! with, a page at a time.
//!
//! A Phoenix project is the `openinference.project.name` resource attribute spans arrive with
//! (what `phoenix.otel.register(project_name=…)` sets); spans naming none are in `default`,
//! as in Phoenix. A project is named by its name or by the id `GET /v1/projects/{name}` gives
//! (`base64("Project:" + name)`).
//!
//! A span's `attributes` are its own, flat with dotted keys (nested values flattened, lists of
//! objects indexed), with OpenInference's names of what agentrace normalized laid over them:
//! `llm.model_name`, `llm.provider`, `llm.token_count.*` (the cache and reasoning counts as
//! `prompt_details.cache_read`, `prompt_details.cache_write`, `completion_details.reasoning`),
//! `llm.cost.total` (agentrace's price), `session.id`, `user.id`, `agent.name`, `tool.name`,
//! and `input.value` / `output.value` from the content the span captured in any dialect. So a
//! span from the Langfuse SDK or an OTel GenAI instrumentation reads as one from OpenInference.

use crate::http::api_base::ApiError;
use crate::http::scope::Scope;
use crate::http::state::AppState;
use crate::store::SharedStore;
use agentrace_core::civil::{Precision, rfc3339};
use agentrace_core::content::SpanContent;
use agentrace_core::{AttributeValue, SpanKind, SpanRecord, StatusCode};
use agentrace_store::{Cursor, Order, ResourceAttribute, SpanFilter, SpanQuery, Store};
use base64::Engine as _;
use serde_json::{Map, Value, json};

/// The resource attribute naming a span's Phoenix project.
pub(super) const PROJECT_ATTRIBUTE: &str = "openinference.project.name";
/// The project of spans that name none.
pub(super) const DEFAULT_PROJECT: &str = "default";

/// The project a path names: a name, or Phoenix's id of one (`base64("Project:" + name)`).
pub(super) fn project_name(identifier: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(identifier)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("Project:").map(str::to_owned))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| identifier.to_owned())
}

/// Where the spans of Phoenix's project `name` are, for `scope`'s credential: the agentrace
/// project of that name when there is one it may act on (OTLP with `openinference.project.name`
/// is routed there too) — its spans of that Phoenix project or of none — else `scope`'s
/// project, its spans of that Phoenix project. A project the credential may not act on is
/// never read.
pub(in crate::http::compat) async fn spans_of(
    state: &AppState,
    scope: &Scope,
    name: &str,
) -> Result<(SharedStore, ResourceAttribute), ApiError> {
    let named = state
        .directory
        .project_for(&scope.principal, Some(name))
        .await
        .ok()
        .filter(|p| p.id != scope.project.id);
    match named {
        Some(project) => {
            let store = state.directory.store(project.id).await?;
            Ok((
                store,
                ResourceAttribute::new(PROJECT_ATTRIBUTE, name).or_absent(),
            ))
        }
        None => Ok((scope.store.clone(), in_project(name))),
    }
}

/// Phoenix's id of the project `name`.
pub(super) fn project_id(name: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("Project:{name}"))
}

/// The spans of project `name`, for a store filter.
pub(super) fn in_project(name: &str) -> ResourceAttribute {
    let project = ResourceAttribute::new(PROJECT_ATTRIBUTE, name);
    if name == DEFAULT_PROJECT {
        project.or_absent()
    } else {
        project
    }
}

/// Phoenix's span kind of an agentrace kind.
pub(super) fn span_kind(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Agent => "AGENT",
        SpanKind::Llm => "LLM",
        SpanKind::Tool => "TOOL",
        SpanKind::Chain | SpanKind::Workflow | SpanKind::Task => "CHAIN",
        SpanKind::Retriever => "RETRIEVER",
        SpanKind::Embedding => "EMBEDDING",
        SpanKind::Guardrail => "GUARDRAIL",
        _ => "UNKNOWN",
    }
}

/// Phoenix's status code of a span.
pub(super) fn status_code(span: &SpanRecord) -> &'static str {
    match span.status.code {
        StatusCode::Unset => "UNSET",
        StatusCode::Ok => "OK",
        StatusCode::Error => "ERROR",
    }
}

/// A time as Phoenix writes one (`2026-11-27T10:00:00.123456789+00:00`).
pub(super) fn time(unix_nano: u64) -> String {
    let text = rfc3339(unix_nano, Precision::Nanos);
    match text.strip_suffix('Z') {
        Some(local) => format!("{local}+00:00"),
        None => text,
    }
}

/// `value` flattened into `out` under `key`: maps by dotted keys, arrays of maps by index,
/// other arrays whole.
fn flatten(key: &str, value: &AttributeValue, out: &mut Map<String, Value>) {
    match value {
        AttributeValue::Map(map) => {
            for (k, v) in map {
                flatten(&format!("{key}.{k}"), v, out);
            }
        }
        AttributeValue::Array(items)
            if items.iter().any(|i| matches!(i, AttributeValue::Map(_))) =>
        {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{key}.{i}"), item, out);
            }
        }
        other => {
            out.insert(
                key.to_owned(),
                serde_json::to_value(other).unwrap_or(Value::Null),
            );
        }
    }
}

/// The attributes of `span` as Phoenix shows them (the module's docs), with
/// `openinference.span.kind` when `with_kind`.
pub(super) fn attributes(span: &SpanRecord, with_kind: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in span.attributes.iter() {
        flatten(key, value, &mut out);
    }
    let mut set = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            out.insert(key.to_owned(), value);
        }
    };
    set("llm.model_name", span.model().map(Value::from));
    set("llm.provider", span.provider.as_deref().map(Value::from));
    let u = &span.usage;
    if !u.is_empty() {
        set("llm.token_count.prompt", Some(u.input_tokens.into()));
        set("llm.token_count.completion", Some(u.output_tokens.into()));
        set(
            "llm.token_count.total",
            Some(u.input_tokens.saturating_add(u.output_tokens).into()),
        );
        if u.cache_read_tokens > 0 {
            set(
                "llm.token_count.prompt_details.cache_read",
                Some(u.cache_read_tokens.into()),
            );
        }
        if u.cache_write_tokens > 0 {
            set(
                "llm.token_count.prompt_details.cache_write",
                Some(u.cache_write_tokens.into()),
            );
        }
        set(
            "llm.token_count.completion_details.reasoning",
            u.reasoning_tokens.map(Value::from),
        );
    }
    set(
        "llm.cost.total",
        span.cost.map(|c| c.total.dollars().into()),
    );
    set("session.id", span.session_id.as_deref().map(Value::from));
    set("user.id", span.user_id.as_deref().map(Value::from));
    set("agent.name", span.agent_name.as_deref().map(Value::from));
    set("tool.name", span.tool_name.as_deref().map(Value::from));
    let content = SpanContent::of(span);
    let tool = content.tool.as_ref();
    let input = content
        .last_user_text()
        .or_else(|| tool.and_then(|t| t.arguments.clone()));
    let output = content
        .last_output_text()
        .or_else(|| tool.and_then(|t| t.result.clone()));
    for (key, value) in [("input.value", input), ("output.value", output)] {
        if let Some(value) = value {
            out.entry(key).or_insert_with(|| value.into());
        }
    }
    if with_kind {
        out.insert(
            "openinference.span.kind".into(),
            span_kind(span.kind).into(),
        );
    } else {
        out.remove("openinference.span.kind");
    }
    out
}

/// Phoenix's id of a span (its trace and span ids).
fn span_global_id(span: &SpanRecord) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(format!("Span:{}:{}", span.trace_id, span.span_id))
}

/// The span events of `span` as Phoenix shows them.
pub(super) fn events(span: &SpanRecord) -> Vec<Value> {
    span.events
        .iter()
        .map(|e| {
            let mut attributes = Map::new();
            for (k, v) in e.attributes.iter() {
                flatten(k, v, &mut attributes);
            }
            json!({"name": e.name, "timestamp": time(e.time_unix_nano), "attributes": attributes})
        })
        .collect()
}

/// `span` as `GET /v1/projects/{project}/spans` returns it.
pub(super) fn as_phoenix(span: &SpanRecord) -> Value {
    json!({
        "id": span_global_id(span),
        "name": span.name.as_str(),
        "context": {"trace_id": span.trace_id.to_string(), "span_id": span.span_id.to_string()},
        "span_kind": span_kind(span.kind),
        "parent_id": span.parent_span_id.map(|p| p.to_string()),
        "start_time": time(span.start_time_unix_nano),
        "end_time": time(span.end_time_unix_nano),
        "status_code": status_code(span),
        "status_message": span.status.message.clone().unwrap_or_default(),
        "attributes": attributes(span, false),
        "events": events(span),
    })
}

/// Where a read of matching spans continues: after the store's cursor `after`, past the
/// first `skip` matches. A page of matches may end inside one of the store's pages; this
/// names that place whatever the size of the store's pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Resume {
    after: Option<Cursor>,
    skip: usize,
}

impl Resume {
    /// The cursor's text.
    pub(super) fn encode(&self) -> String {
        let text = format!(
            "{}.{}",
            self.skip,
            self.after.as_ref().map_or("", Cursor::as_str)
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    /// A cursor's text read back; `None` when it is not one.
    pub(super) fn decode(text: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (skip, after) = text.split_once('.')?;
        Some(Self {
            skip: skip.parse().ok()?,
            after: (!after.is_empty()).then(|| Cursor::from(after.to_owned())),
        })
    }
}

/// Spans the store reads a page at a time while matching in memory.
const STORE_PAGE: usize = 500;

/// Up to `limit` spans of `filter`, newest first, that `keep` keeps, from `resume` on; and
/// where to continue when more may match.
pub(super) fn read(
    store: &dyn Store,
    filter: &SpanFilter,
    keep: &dyn Fn(&SpanRecord) -> bool,
    resume: Resume,
    limit: usize,
) -> Result<(Vec<SpanRecord>, Option<Resume>), agentrace_store::QueryError> {
    let mut found = Vec::new();
    let mut page_start = resume.after;
    let mut skip = resume.skip;
    loop {
        let page = store.spans(
            &SpanQuery::new(filter.clone())
                .order(Order::Desc)
                .limit(STORE_PAGE)
                .cursor(page_start.clone()),
        )?;
        let mut matched_here = 0;
        for span in page.spans {
            if !keep(&span) {
                continue;
            }
            matched_here += 1;
            if matched_here <= skip {
                continue;
            }
            if found.len() == limit {
                // One more match: the page ends before it.
                let next = Resume {
                    after: page_start,
                    skip: matched_here - 1,
                };
                return Ok((found, Some(next)));
            }
            found.push(span);
        }
        match page.next_cursor {
            Some(next) => {
                page_start = Some(next);
                skip = 0;
            }
            None => return Ok((found, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_are_named_by_name_or_id() {
        assert_eq!(project_name("travel evals"), "travel evals");
        assert_eq!(project_name(&project_id("travel evals")), "travel evals");
        // Phoenix's own ids name no project here: their number is taken as a name.
        assert_eq!(project_name("UHJvamVjdDox"), "1");
        assert_eq!(project_name("default"), "default");
        assert_eq!(
            in_project("default"),
            ResourceAttribute::new(PROJECT_ATTRIBUTE, "default").or_absent()
        );
    }

    #[test]
    fn cursors_read_back_and_refuse_what_is_not_one() {
        for resume in [
            Resume::default(),
            Resume {
                after: Some(Cursor::from("a.b:c".to_owned())),
                skip: 17,
            },
        ] {
            assert_eq!(Resume::decode(&resume.encode()), Some(resume));
        }
        assert_eq!(Resume::decode("!!"), None);
        assert_eq!(Resume::decode("bm9wZQ"), None);
    }

    #[test]
    fn a_span_of_any_dialect_reads_as_openinference() {
        use agentrace_core::{Cost, Resource, SpanId, TokenUsage, TraceId, Usd};
        let mut span = SpanRecord::new(
            TraceId::from_bytes([1; 16]),
            SpanId::from_bytes([2; 8]),
            "llm-call",
            1,
            2,
            std::sync::Arc::new(Resource::new("svc")),
        );
        span.kind = SpanKind::Llm;
        span.request_model = Some("gpt-4o".into());
        span.provider = Some("openai".into());
        span.usage = TokenUsage {
            cache_read_tokens: 40,
            reasoning_tokens: Some(5),
            ..TokenUsage::new(100, 20)
        };
        span.cost = Some(Cost::from_parts(
            Usd::from_dollars(0.5),
            Usd::ZERO,
            Usd::ZERO,
            Usd::from_dollars(0.25),
        ));
        span.session_id = Some("s-1".into());
        span.agent_name = Some("planner".into());
        span.attributes.insert(
            "langfuse.observation.usage_details",
            AttributeValue::String("{}".into()),
        );
        span.attributes.insert(
            "gen_ai.input.messages",
            AttributeValue::String(
                r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"#.into(),
            ),
        );
        let mut nested = std::collections::BTreeMap::new();
        nested.insert("k".to_owned(), AttributeValue::I64(1));
        span.attributes.insert("meta", AttributeValue::Map(nested));
        let shown = attributes(&span, false);
        for (key, want) in [
            ("llm.model_name", json!("gpt-4o")),
            ("llm.provider", json!("openai")),
            ("llm.token_count.prompt", json!(100)),
            ("llm.token_count.completion", json!(20)),
            ("llm.token_count.total", json!(120)),
            ("llm.token_count.prompt_details.cache_read", json!(40)),
            ("llm.token_count.completion_details.reasoning", json!(5)),
            ("llm.cost.total", json!(0.75)),
            ("session.id", json!("s-1")),
            ("agent.name", json!("planner")),
            ("input.value", json!("hi")),
            ("meta.k", json!(1)),
            ("langfuse.observation.usage_details", json!("{}")),
        ] {
            assert_eq!(shown.get(key), Some(&want), "{key}: {shown:?}");
        }
        assert!(!shown.contains_key("openinference.span.kind"));
        assert!(!shown.contains_key("llm.token_count.prompt_details.cache_write"));
        assert_eq!(attributes(&span, true)["openinference.span.kind"], "LLM");
        let phoenix = as_phoenix(&span);
        assert_eq!(
            (
                &phoenix["span_kind"],
                &phoenix["status_code"],
                &phoenix["parent_id"]
            ),
            (&json!("LLM"), &json!("UNSET"), &Value::Null)
        );
    }

    #[test]
    fn times_are_written_as_phoenix_writes_them() {
        assert_eq!(
            time(1_795_632_293_532_160_001),
            "2026-11-25T18:44:53.532160001+00:00"
        );
    }
}
