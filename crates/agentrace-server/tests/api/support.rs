//! A store filled with realistic traces and events, the API served over it on a real
//! listener, an HTTP client, and a validator checking answers against the OpenAPI document.

use std::collections::HashSet;
use std::sync::Arc;

use agentrace_core::testing::fixtures;
use agentrace_core::{
    Cost, Event, EventKind, Level, Resource, SpanId, SpanKind, SpanRecord, SpanStatus, TokenUsage,
    TraceId, Usd,
};
use std::str::FromStr;

use agentrace_server::config::StoreLocation;
use agentrace_server::{AppState, ServerConfig, SharedOrganization};
use serde_json::Value;
use tempfile::TempDir;

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The ClickHouse server the suite runs on instead of SQLite, if set (its HTTP interface,
/// e.g. `http://127.0.0.1:8123`: `cargo xtask integration` runs the suite on both).
pub(crate) const CLICKHOUSE_ENV: &str = "AGENTRACE_TEST_CLICKHOUSE";

/// Which store the suite runs on.
pub(crate) fn on_clickhouse() -> bool {
    std::env::var_os(CLICKHOUSE_ENV).is_some()
}

/// A fresh store, opened as `serve` opens it (`agentrace_server::store::open`): a database of
/// its own on the ClickHouse server of [`CLICKHOUSE_ENV`] (spans awaiting their parent held in
/// the data directory's spool), else a SQLite file in the data directory; and the ClickHouse
/// client on its database.
/// and the configuration naming the store (what another node over it opens).
fn open_store(
    config: &ServerConfig,
) -> Result<(SharedOrganization, Option<clickhouse::Client>, ServerConfig), Error> {
    match std::env::var(CLICKHOUSE_ENV) {
        Ok(url) => {
            let database = format!("api_{}", &TraceId::random().to_string()[..16]);
            let location = StoreLocation::from_str(&format!(
                "clickhouse://{}/{database}",
                url.trim_start_matches("http://")
            ))?;
            let mut config = config.clone();
            config.store = location;
            let store = agentrace_server::store::open(&config)?;
            let client = clickhouse::Client::default()
                .with_url(&url)
                .with_database(&database);
            Ok((store, Some(client), config))
        }
        Err(_) => Ok((agentrace_server::store::open(config)?, None, config.clone())),
    }
}
pub(crate) type Error = Box<dyn std::error::Error>;

/// The evaluators of the API's state: a code check (no workers run: re-runs stay queued).
const EVALUATORS: &str = r#"
[[evaluator]]
name = "answer_is_json"
filter = { kind = "llm" }
check = { type = "json_valid" }
"#;

/// One SLO: the generated runs' tool calls, every fifth of which fails.
pub(crate) const ALERTS: &str = r#"
[[slos]]
name = "tools work"
objective = 0.99
window = "28d"
indicator = { type = "success", of = "tool_calls" }
"#;

pub(crate) const SEC: u64 = 1_000_000_000;
pub(crate) const MIN: u64 = 60 * SEC;
/// 2025-11-21T08:00:00Z.
pub(crate) const T0: u64 = 1_763_712_000_000_000_000;
/// Generated agent traces.
pub(crate) const TRACES: u64 = 120;
/// Generated events.
pub(crate) const EVENTS: u64 = 200;

pub(crate) const AGENTS: [&str; 3] = ["planner", "coder", "critic"];
pub(crate) const MODELS: [&str; 2] = ["gpt-4o", "claude-sonnet-4"];

/// One generated trace: an agent run with an LLM call and a tool call.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) i: u64,
    pub(crate) trace_id: TraceId,
    pub(crate) start: u64,
    pub(crate) agent: &'static str,
    pub(crate) model: &'static str,
    pub(crate) session: String,
    pub(crate) user: String,
    pub(crate) tool: &'static str,
    /// The tool call failed.
    pub(crate) failed: bool,
    pub(crate) spans: Vec<SpanRecord>,
}

pub(crate) fn trace_id(n: u64) -> TraceId {
    let mut b = [0u8; 16];
    b[0] = 0x7a;
    b[8..].copy_from_slice(&n.to_be_bytes());
    TraceId::from_bytes(b)
}

fn span_id(n: u64) -> SpanId {
    let mut b = n.to_be_bytes();
    b[0] = 0x5b;
    SpanId::from_bytes(b)
}

/// Run `i`: starts at `T0 + 10 min + 7 s · i`; agent, model, session (`s-0`…`s-9`), user
/// (`u-0`…`u-2`) and tool cycle; every fifth tool call times out; every tenth LLM call is
/// unpriced.
pub(crate) fn run(i: u64) -> Run {
    let resource = Arc::new(Resource::new("agents"));
    let start = T0 + 10 * MIN + i * 7 * SEC;
    let agent = AGENTS[(i % 3) as usize];
    let model = MODELS[(i % 2) as usize];
    let session = format!("s-{}", i % 10);
    let user = format!("u-{}", i % 3);
    let tool = if i % 4 < 2 {
        "web_search"
    } else {
        "calculator"
    };
    let failed = i.is_multiple_of(5);
    let tid = trace_id(i);
    let with_who = |mut s: SpanRecord| {
        s.agent_name = Some(agent.into());
        s.session_id = Some(session.as_str().into());
        s.user_id = Some(user.as_str().into());
        s.framework = Some("rig".into());
        s
    };
    let mut root = with_who(SpanRecord::new(
        tid,
        span_id(i * 10),
        format!("invoke_agent {agent}"),
        start,
        start + 3 * SEC,
        resource.clone(),
    ));
    root.kind = SpanKind::Agent;
    let mut llm = with_who(SpanRecord::new(
        tid,
        span_id(i * 10 + 1),
        format!("chat {model}"),
        start + SEC / 10,
        start + SEC / 10 + (200 + i) * 1_000_000,
        resource.clone(),
    ));
    llm.parent_span_id = Some(root.span_id);
    llm.kind = SpanKind::Llm;
    llm.provider = Some(
        if i.is_multiple_of(2) {
            "openai"
        } else {
            "anthropic"
        }
        .into(),
    );
    llm.request_model = Some(model.into());
    llm.usage = TokenUsage::new(1_000 + i, 100);
    if i % 10 != 9 {
        llm.cost = Some(Cost::from_parts(
            Usd::from_nanos(1_000 * i as i64),
            Usd::ZERO,
            Usd::ZERO,
            Usd::from_nanos(500),
        ));
    }
    let mut tool_span = with_who(SpanRecord::new(
        tid,
        span_id(i * 10 + 2),
        format!("execute_tool {tool}"),
        start + SEC,
        start + SEC + (10 + i) * 1_000_000,
        resource,
    ));
    tool_span.parent_span_id = Some(root.span_id);
    tool_span.kind = SpanKind::Tool;
    tool_span.tool_name = Some(tool.into());
    if failed {
        tool_span.status = SpanStatus::error(format!("timeout after {}s", 30 + i % 3));
        tool_span.attributes.insert("error.type", "timeout");
    }
    Run {
        i,
        trace_id: tid,
        start,
        agent,
        model,
        session,
        user,
        tool,
        failed,
        spans: vec![llm, tool_span, root],
    }
}

/// Event `j`: every level in turn, `tool.call` or `log`, in session `s-(j % 10)` and run
/// `j % 120`'s trace; errors and worse say "timeout after <j>s".
pub(crate) fn event(j: u64) -> Event {
    let level = Level::ALL[(j % 7) as usize];
    let message = if level >= Level::Error {
        format!("timeout after {j}s")
    } else {
        format!("step {j} done")
    };
    let kind = if j.is_multiple_of(2) {
        EventKind::ToolCall
    } else {
        EventKind::Log
    };
    let mut e = Event::new(
        T0 + 10 * MIN + j * 3 * SEC,
        level,
        kind,
        message,
        Arc::new(Resource::new("agents")),
    );
    e.session_id = Some(format!("s-{}", j % 10).into());
    e.trace_id = Some(trace_id(j % TRACES));
    e.agent_id = Some(format!("agent-{}", j % 3).into());
    e
}

/// The API over a filled store.
pub(crate) struct Api {
    _dir: TempDir,
    pub(crate) state: AppState,
    /// `http://127.0.0.1:port/api/v1`.
    pub(crate) base: String,
    /// `ws://127.0.0.1:port/api/v1`.
    pub(crate) ws: String,
    pub(crate) runs: Vec<Run>,
    /// The three fixture traces (core's sample spans), at T0, T0 + 1 min, T0 + 2 min.
    pub(crate) samples: Vec<Vec<SpanRecord>>,
    pub(crate) events: Vec<Event>,
    client: reqwest::Client,
    doc: Value,
    /// The ClickHouse database the store is, when on ClickHouse.
    pub(crate) clickhouse: Option<clickhouse::Client>,
    /// The configuration naming the store.
    config: ServerConfig,
}

impl Api {
    /// A store with the fixture traces (one with an orphan), the generated runs (in one
    /// batch) and events, and the API served over it.
    pub(crate) async fn start() -> Result<Self, Error> {
        Self::start_with(|_| {}).await
    }

    /// [`start`](Self::start), with `configure` applied to the state first.
    pub(crate) async fn start_with(configure: impl FnOnce(&mut AppState)) -> Result<Self, Error> {
        let dir = tempfile::tempdir()?;
        let (organization, clickhouse, config) = open_store(&ServerConfig::new(dir.path()))?;
        let (_, store) = agentrace_server::http::state::configured(&organization)?;
        let mut samples = Vec::new();
        for k in 0..3u64 {
            let mut spans = fixtures::sample_spans(trace_id(1_000 + k), T0 + k * MIN);
            if k == 0 {
                // A span whose parent never arrived.
                let mut orphan = spans[1].clone();
                orphan.span_id = span_id(999_999);
                orphan.parent_span_id = Some(span_id(888_888));
                orphan.name = "late child".into();
                spans.push(orphan);
            }
            store.write_spans(&spans)?;
            samples.push(spans);
        }
        let runs: Vec<Run> = (0..TRACES).map(run).collect();
        // One batch, as the server's writer takes many traces at once (and on ClickHouse a
        // write a trace would be most of each test's time).
        let all: Vec<SpanRecord> = runs.iter().flat_map(|r| r.spans.iter().cloned()).collect();
        store.write_spans(&all)?;
        let mut events = fixtures::sample_events(trace_id(1_000), T0);
        events.extend((0..EVENTS).map(event));
        store.insert_events(&events)?;
        store.insert_measurements(&metrics())?;

        let mut state = Self::state(organization, &config, dir.path())?;
        configure(&mut state);
        let (base, ws) = Self::serve(&state).await?;
        let doc = serde_json::from_str(
            &reqwest::get(format!("{base}/openapi.json"))
                .await?
                .text()
                .await?,
        )?;
        Ok(Self {
            _dir: dir,
            state,
            base,
            ws,
            runs,
            samples,
            events,
            client: reqwest::Client::new(),
            doc,
            clickhouse,
            config,
        })
    }

    /// The API's state over `organization`: the evaluators and the alerts file (written in
    /// `dir`) of the suite.
    fn state(
        organization: SharedOrganization,
        config: &ServerConfig,
        dir: &std::path::Path,
    ) -> Result<AppState, Error> {
        let evaluators =
            agentrace_evaluators::Evaluators::new(toml::from_str(EVALUATORS)?, &|_| None)?;
        let alerts = dir.join("alerts.toml");
        std::fs::write(&alerts, ALERTS)?;
        Ok(AppState::new(organization, config.clone())?
            .with_evaluators(evaluators)?
            .with_alerts(&alerts)?)
    }

    /// Serves `state`'s API on a free port: its `http://…/api/v1` and `ws://…/api/v1`.
    async fn serve(state: &AppState) -> Result<(String, String), Error> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = agentrace_server::http::api::router(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((
            format!("http://{addr}/api/v1"),
            format!("ws://{addr}/api/v1"),
        ))
    }

    /// Another node over the same store: a state, key cache and listener of its own, the same
    /// fixtures. On SQLite it shares this API's data directory (which must outlive it); on
    /// ClickHouse it has its own (a node's spool of spans awaiting their parent is its own).
    pub(crate) async fn another_node(&self) -> Result<Self, Error> {
        let dir = tempfile::tempdir()?;
        let mut config = self.config.clone();
        if self.clickhouse.is_some() {
            config.data_dir = dir.path().to_owned();
        }
        let organization = agentrace_server::store::open(&config)?;
        let state = Self::state(organization, &config, dir.path())?;
        let (base, ws) = Self::serve(&state).await?;
        Ok(Self {
            _dir: dir,
            state,
            base,
            ws,
            runs: self.runs.clone(),
            samples: self.samples.clone(),
            events: self.events.clone(),
            client: reqwest::Client::new(),
            doc: self.doc.clone(),
            clickhouse: self.clickhouse.clone(),
            config,
        })
    }

    /// The OpenAPI document the server serves.
    pub(crate) fn doc(&self) -> &Value {
        &self.doc
    }

    /// GET `path` (under `/api/v1`): status and JSON body.
    pub(crate) async fn get(&self, path: &str) -> Result<(u16, Value), Error> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}: {text}"))?;
        Ok((status, body))
    }

    /// POST `body` as JSON to `path` (under `/api/v1`): status and JSON body.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), Error> {
        self.send(self.client.post(format!("{}{path}", self.base)), path, body)
            .await
    }

    /// PUT `body` (JSON) to `path` (under `/api/v1`): status and JSON body.
    pub(crate) async fn put(&self, path: &str, body: &Value) -> Result<(u16, Value), Error> {
        self.send(self.client.put(format!("{}{path}", self.base)), path, body)
            .await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        path: &str,
        body: &Value,
    ) -> Result<(u16, Value), Error> {
        let response = request
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}: {text}"))?;
        Ok((status, body))
    }

    /// Creates the project `name` as the organization (its status must be 201).
    pub(crate) async fn create_project(&self, name: &str) -> Result<(), Error> {
        let body = serde_json::json!({ "name": name });
        let (status, answer) = self
            .call(reqwest::Method::POST, "/projects", None, None, Some(&body))
            .await?;
        assert_eq!(status, 201, "creating {name}: {answer}");
        Ok(())
    }

    /// `method` `path` (under `/api/v1`) with `bearer` as the credential, `project` in the
    /// `x-agentrace-project` header and `body` as JSON, each if given: status, and the JSON
    /// body if there is one.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        project: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value), Error> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(secret) = bearer {
            request = request.bearer_auth(secret);
        }
        if let Some(project) = project {
            request = request.header("x-agentrace-project", project);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| format!("{path}: {e}: {text}"))?
        };
        Ok((status, body))
    }

    /// DELETE `path` (under `/api/v1`): status, and the JSON body if there is one.
    pub(crate) async fn delete(&self, path: &str) -> Result<(u16, Value), Error> {
        let response = self
            .client
            .delete(format!("{}{path}", self.base))
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| format!("{path}: {e}: {text}"))?
        };
        Ok((status, body))
    }

    /// GET `path`, expecting 200 and a body valid against the document's schema `schema`.
    pub(crate) async fn ok(&self, path: &str, schema: &str) -> Result<Value, Error> {
        let (status, body) = self.get(path).await?;
        if status != 200 {
            return Err(format!("{path}: {status} {body}").into());
        }
        self.check(&body, schema)
            .map_err(|e| format!("{path}: not a valid {schema}: {e}"))?;
        Ok(body)
    }

    /// GET `path`, expecting an error with `status`, `code`, and a message mentioning
    /// `mention` (e.g. the parameter's name).
    pub(crate) async fn fails(
        &self,
        path: &str,
        status: u16,
        code: &str,
        mention: &str,
    ) -> TestResult {
        let (got, body) = self.get(path).await?;
        assert_eq!(got, status, "{path}: {body}");
        self.check(&body, "Error")?;
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(mention),
            "{path}: {message:?} should mention {mention:?}"
        );
        Ok(())
    }

    /// Checks `value` against the document's schema `name`.
    pub(crate) fn check(&self, value: &Value, name: &str) -> Result<(), String> {
        let schema = &self.doc["components"]["schemas"][name];
        if schema.is_null() {
            return Err(format!("no schema {name}"));
        }
        validate(&self.doc, value, schema, "$")
    }

    /// Every trace id stored.
    pub(crate) fn all_traces(&self) -> HashSet<String> {
        self.runs
            .iter()
            .map(|r| r.trace_id.to_string())
            .chain(self.samples.iter().map(|s| s[0].trace_id.to_string()))
            .collect()
    }
}

/// Every page of `path` (which has a query string), following cursors.
pub(crate) async fn all_pages(
    api: &Api,
    path: &str,
    schema: &str,
    list: &str,
) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let url = match &next {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let page = api.ok(&url, schema).await?;
        out.extend(page[list].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => return Ok(out),
        }
    }
}

/// A JSON Schema validator for the subset the document uses: `$ref`, `type` (a name or a
/// list), `properties`, `required`, `additionalProperties` (`false` or a schema), `items`,
/// `enum`, `oneOf`, `minimum`, and `pattern` for the hex id patterns.
pub(crate) fn validate(doc: &Value, value: &Value, schema: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or_default();
        return validate(doc, value, &doc["components"]["schemas"][name], at);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let passing = options
            .iter()
            .filter(|o| validate(doc, value, o, at).is_ok())
            .count();
        return if passing == 1 {
            Ok(())
        } else {
            Err(format!("{at}: {value} matches {passing} of oneOf"))
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(|t| type_ok(t)) {
        return Err(format!("{at}: {value} is not {types:?}"));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(min), Some(v)) = (schema["minimum"].as_f64(), value.as_f64())
        && v < min
    {
        return Err(format!("{at}: {v} < {min}"));
    }
    if let (Some(pattern), Some(s)) = (schema["pattern"].as_str(), value.as_str()) {
        let len = match pattern {
            "^[0-9a-f]{32}$" => 32,
            "^[0-9a-f]{16}$" => 16,
            // A project name: the store's own rule.
            "^[a-z0-9][a-z0-9-]{0,63}$" => {
                return agentrace_store::ProjectName::new(s)
                    .map(|_| ())
                    .map_err(|e| format!("{at}: {e}"));
            }
            // A score statistics' dimension: the store's own parser.
            "^(none|model|agent|service|prompt|source|annotator|attr:[A-Za-z0-9_.:/-]{1,64})$" => {
                return s
                    .parse::<agentrace_store::ScoreDimension>()
                    .map(|_| ())
                    .map_err(|e| format!("{at}: {e}"));
            }
            other => return Err(format!("{at}: pattern {other} not supported by the test")),
        };
        if s.len() != len
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(format!("{at}: {s:?} does not match {pattern}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"].as_object();
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{at}: missing {name}"));
            }
        }
        for (key, v) in object {
            let here = format!("{at}.{key}");
            match properties.and_then(|p| p.get(key)) {
                Some(s) => validate(doc, v, s, &here)?,
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => return Err(format!("{here}: not documented")),
                    extra @ Value::Object(_) => validate(doc, v, extra, &here)?,
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            validate(doc, v, items, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Received metrics: token counts of two models over three minutes, and a gauge.
fn metrics() -> Vec<agentrace_core::Measurement> {
    use agentrace_core::{InstrumentKind, Measurement, Text};
    use std::borrow::Cow;
    let mut out = Vec::new();
    for minute in 0..3u64 {
        for (model, tokens) in [("gpt-4o", 100.0), ("claude-sonnet-4", 40.0)] {
            let mut m = Measurement::new(
                "gen_ai.client.token.usage.sum",
                InstrumentKind::Counter,
                tokens,
            );
            m.unit = Some(Cow::Borrowed("{token}"));
            m.labels = vec![(Cow::Borrowed("gen_ai.request.model"), Text::new(model))];
            m.time_unix_nano = T0 + minute * MIN;
            out.push(m);
        }
        let mut queue = Measurement::new("agent.queue.depth", InstrumentKind::Gauge, minute as f64);
        queue.time_unix_nano = T0 + minute * MIN;
        out.push(queue);
    }
    out
}

/// A parameter of an operation, its `$ref` (to the document's parameters) followed.
pub(crate) fn parameter<'a>(doc: &'a Value, p: &'a Value) -> &'a Value {
    match p["$ref"].as_str() {
        Some(r) => &doc["components"]["parameters"][r.rsplit('/').next().unwrap_or_default()],
        None => p,
    }
}

/// The query of an operation `op` with every documented query parameter at its example
/// (`name=value`, encoded; a list comma-separated); `cursor`, which has none, left out, and a
/// parameter that excludes others the operation documents (`x-agentrace-excludes`: the trace
/// list's `q` excludes `sort` and `order`), tested on its own.
pub(crate) fn example_query(doc: &Value, op: &Value) -> Result<Vec<String>, Error> {
    let mut query = Vec::new();
    let documented: Vec<&str> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| parameter(doc, p)["name"].as_str())
        .collect();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let p = parameter(doc, p);
        if p["in"].as_str() != Some("query") {
            continue;
        }
        let excludes = p["x-agentrace-excludes"].as_array().into_iter().flatten();
        if excludes
            .filter_map(Value::as_str)
            .any(|other| documented.contains(&other))
        {
            continue;
        }
        let name = p["name"].as_str().ok_or("parameter name")?;
        match &p["example"] {
            Value::Null => {
                if name != "cursor" {
                    return Err(format!("query parameter `{name}` has no example").into());
                }
            }
            Value::String(v) => query.push(format!(
                "{name}={}",
                v.replace('+', "%2B").replace(',', "%2C")
            )),
            // A list (`style: form`, `explode: false`): comma-separated.
            Value::Array(items) => query.push(format!(
                "{name}={}",
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            v => query.push(format!("{name}={v}")),
        }
    }
    Ok(query)
}
