//! A Langfuse or Phoenix user switching to agentrace with their code unchanged, one variable
//! changed (docs/migrating.md): the Langfuse integrations users run (the `langfuse.openai`
//! drop-in, `@observe` and `start_as_current_observation` with their own usage and cost, the
//! LangChain handler) against a real `agentrace serve` with an API token, the model calls
//! answered by the local fake OpenAI server; and Phoenix's client reading a run's spans back,
//! judging them and logging its annotations. Every check reads back through agentrace's API,
//! tokens and costs exactly.

use agentrace_core::cost::{PriceBook, PriceTable, compute_cost};
use agentrace_core::{AttributeValue, SpanKind, SpanRecord, TokenUsage, Usd};
use agentrace_fake_openai::{FakeOpenAi, Reply, Usage};
use agentrace_integration::serve::{
    assert_attributed, dump, installed, run_node, run_python, trace_spans_as,
};
use agentrace_integration::{node_client, python_client};
use agentrace_server::{RunningServer, Server, ServerConfig};
use serde_json::Value as Json;

const TOKEN: &str = "migrating-token";

async fn start(dir: &std::path::Path) -> RunningServer {
    let mut config = ServerConfig::new(dir).with_any_free_ports();
    config.api_token = Some(TOKEN.into());
    Server::start(config).await.expect("the server starts")
}

/// A model call the app makes, in order, and what agentrace must store of it.
struct Call {
    what: &'static str,
    model: &'static str,
    kind: SpanKind,
    /// The usage stored; empty when the integration reports none.
    usage: TokenUsage,
}

/// The chat reply of `usage`, as OpenAI reports it (reasoning reported, zero or not).
fn chat(what: &'static str, model: &'static str, usage: Usage) -> (Call, Reply) {
    let call = Call {
        what,
        model,
        kind: SpanKind::Llm,
        usage: TokenUsage {
            cache_read_tokens: usage.cache_read,
            reasoning_tokens: Some(usage.reasoning),
            ..TokenUsage::new(usage.input, usage.output)
        },
    };
    (call, Reply::text(format!("answer to {what}"), usage))
}

/// The call asking for `get_weather` (Paris) with `usage`, and its reply.
fn tool_request(usage: Usage) -> (Call, Reply) {
    let (call, _) = chat("tool_request", "gpt-4o-mini", usage);
    let reply = Reply::tool_call(
        "call_weather_1",
        "get_weather",
        r#"{"city":"Paris"}"#,
        usage,
    );
    (call, reply)
}

/// Which of Langfuse's SDKs runs the app.
#[derive(Clone, Copy)]
enum Sdk {
    /// `langfuse_integrations.py --integration NAME` (Python SDK 5).
    Python(&'static str),
    /// `langfuse_js.mjs` (the JS/TS SDK 4, on the machine's Node.js).
    Js,
}

/// One app's run against a fresh server with an API token (and the fake OpenAI server
/// scripted with the replies, when it calls a model): what the app printed, the spans of its
/// trace as agentrace's API gives them.
struct LangfuseRun {
    server: RunningServer,
    fake: FakeOpenAi,
    run: Json,
    spans: Vec<SpanRecord>,
    _dir: tempfile::TempDir,
}

impl LangfuseRun {
    /// `None` when the SDK is not installed (outside CI; under CI it fails).
    async fn of(sdk: Sdk, replies: Vec<Reply>) -> Option<Self> {
        let (program, what) = match sdk {
            Sdk::Python(_) => (
                python_client(),
                "the Langfuse Python SDK (integration venv)",
            ),
            Sdk::Js => (
                node_client(20),
                "Langfuse's JS SDK (tests/integration/node)",
            ),
        };
        let program = installed(program, what)?;
        let dir = tempfile::tempdir().expect("a temp dir");
        let server = start(dir.path()).await;
        let fake = FakeOpenAi::start()
            .await
            .expect("the fake OpenAI server starts");
        fake.script(replies);
        let base = format!("http://{}", server.app_addr());
        let mut args = vec!["--base-url", &base, "--secret-key", TOKEN];
        let run = match sdk {
            Sdk::Python(integration) => {
                let openai = fake.base_url();
                args.extend(["--integration", integration, "--openai-base-url", &openai]);
                run_python(&program, "langfuse_integrations.py", &args).await
            }
            Sdk::Js => run_node(&program, "langfuse_js.mjs", &args).await,
        };
        assert_eq!(fake.unused_replies(), 0, "every call made: {run}");
        let trace_id = run["trace_id"].as_str().expect("a trace id");
        let spans = trace_spans_as(&server, trace_id, Some(TOKEN)).await;
        Some(Self {
            server,
            fake,
            run,
            spans,
            _dir: dir,
        })
    }

    async fn stop(self) {
        self.fake.shutdown().await;
        self.server.shutdown().await.expect("a clean stop");
    }
}

/// The trace's model calls (LLM and embedding spans) in the order they were made.
fn calls_of(spans: &[SpanRecord]) -> Vec<&SpanRecord> {
    let mut calls: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| matches!(s.kind, SpanKind::Llm | SpanKind::Embedding))
        .collect();
    // Then by end: the JS SDK's starts are whole milliseconds, which calls made one after
    // another can share.
    calls.sort_by_key(|s| (s.start_time_unix_nano, s.end_time_unix_nano));
    calls
}

/// agentrace's price of `usage` of `model` for `span`, from the built-in table.
fn priced(span: &SpanRecord, model: &str, usage: &TokenUsage) -> agentrace_core::Cost {
    let price = PriceTable::builtin()
        .price(span.provider.as_deref(), model, span.end_time_unix_nano)
        .unwrap_or_else(|| panic!("{model}: a built-in price"));
    compute_cost(usage, price.price)
}

/// Checks each call of `spans` against `calls`: kind, model, tokens exactly, agentrace's own
/// cost exactly (unknown where no usage was reported), attributed to the run's agent, session
/// and user, tagged with its tags.
fn check_calls(spans: &[SpanRecord], calls: &[Call], run: &Json, what: &str) {
    let stored = calls_of(spans);
    assert_eq!(
        stored.len(),
        calls.len(),
        "{what}: one span a call:\n{}",
        dump(spans)
    );
    for (call, span) in calls.iter().zip(stored) {
        let what = format!("{what} {}: {span:?}", call.what);
        assert_eq!(span.kind, call.kind, "{what}");
        assert_eq!(span.model(), Some(call.model), "{what}");
        assert_attributed(span, run, &what);
        assert_eq!(span.usage, call.usage, "{what}");
        if call.usage.is_empty() {
            assert_eq!(span.cost, None, "{what}: unknown, not $0");
        } else {
            assert_eq!(
                span.cost,
                Some(priced(span, call.model, &call.usage)),
                "{what}"
            );
        }
        assert_tagged(span, run, &what);
    }
}

/// The trace's tags (`langfuse.trace.tags`) are on `span` as they were given.
fn assert_tagged(span: &SpanRecord, run: &Json, what: &str) {
    let mut tags: Vec<&str> = match span.attributes.get("langfuse.trace.tags") {
        Some(AttributeValue::Array(tags)) => {
            tags.iter().filter_map(AttributeValue::as_str).collect()
        }
        other => panic!("{what}: tags {other:?}"),
    };
    let mut want: Vec<&str> = run["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    // A set: LangChain's handler merges them in an order of its own.
    tags.sort_unstable();
    want.sort_unstable();
    assert_eq!(tags, want, "{what}");
}

/// The one span of `kind` named `name`, with the run's attribution.
fn one<'a>(spans: &'a [SpanRecord], kind: SpanKind, name: &str) -> &'a SpanRecord {
    let found: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.kind == kind && s.name.as_str() == name)
        .collect();
    assert_eq!(found.len(), 1, "one {kind:?} {name}:\n{}", dump(spans));
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langfuse_openai_drop_in_calls_land_with_tokens_cache_and_cost() {
    let (calls, replies): (Vec<Call>, Vec<Reply>) = [
        chat(
            "chat",
            "gpt-4o-mini",
            Usage::new(1_200, 40).with_cache_read(1_024),
        ),
        chat(
            "reasoning",
            "o3-mini",
            Usage::new(200, 500).with_reasoning(448),
        ),
        chat(
            "async_chat",
            "gpt-4o-mini",
            Usage::new(300, 30).with_cache_read(256),
        ),
        chat("stream_usage", "gpt-4o-mini", Usage::new(30, 12)),
        {
            let (mut call, reply) = chat("stream_bare", "gpt-4o-mini", Usage::new(31, 3));
            call.usage = TokenUsage::default();
            (call, reply)
        },
        tool_request(Usage::new(80, 16)),
        chat("tool_answer", "gpt-4o-mini", Usage::new(140, 20)),
        (
            Call {
                what: "embeddings",
                model: "text-embedding-3-small",
                kind: SpanKind::Embedding,
                usage: TokenUsage::new(9, 0),
            },
            Reply::embedding(9),
        ),
    ]
    .into_iter()
    .unzip();
    let Some(lf) = LangfuseRun::of(Sdk::Python("openai"), replies).await else {
        return;
    };
    let (spans, run) = (&lf.spans, &lf.run);
    check_calls(spans, &calls, run, "langfuse.openai");

    // The cached input at its cached rate: 1,024 of the first call's 1,200 tokens.
    let first = calls_of(spans)[0];
    let cost = first.cost.expect("priced");
    assert!(cost.cache_read > Usd::ZERO, "{cost:?}");
    let uncached = priced(first, "gpt-4o-mini", &TokenUsage::new(1_200, 40));
    assert!(cost.total < uncached.total, "{cost:?} against {uncached:?}");

    let agent = one(spans, SpanKind::Agent, "travel_agent");
    assert_eq!(agent.agent_name.as_deref(), Some("travel_agent"));
    let tool = one(spans, SpanKind::Tool, "get_weather");
    assert_eq!(tool.tool_name.as_deref(), Some("get_weather"));
    assert_eq!(tool.parent_span_id, Some(agent.span_id));
    assert_attributed(tool, run, "the tool");
    assert_eq!(tool.cost, None);
    lf.stop().await;
}

/// The observations an app gave their own usage and cost (`langfuse_integrations.py
/// --integration manual`, `langfuse_js.mjs`: the same run), as stored.
fn check_observations(lf: &LangfuseRun, what: &str) {
    let (spans, run) = (&lf.spans, &lf.run);
    let calls = [
        // Anthropic's shape: the input without its cache.
        Call {
            what: "plan",
            model: "claude-sonnet-4-5",
            kind: SpanKind::Llm,
            usage: TokenUsage {
                cache_read_tokens: 1_000,
                cache_write_tokens: 200,
                ..TokenUsage::new(1_250, 30)
            },
        },
        // Langfuse's disjoint parts.
        Call {
            what: "summarize",
            model: "gpt-4o",
            kind: SpanKind::Llm,
            usage: TokenUsage {
                cache_read_tokens: 1_500,
                reasoning_tokens: Some(20),
                ..TokenUsage::new(2_000, 80)
            },
        },
        Call {
            what: "embed-query",
            model: "text-embedding-3-small",
            kind: SpanKind::Embedding,
            usage: TokenUsage::new(42, 0),
        },
    ];
    check_calls(spans, &calls, run, what);
    // The cost the app gave is kept apart, never added to agentrace's.
    let summarize = one(spans, SpanKind::Llm, "summarize");
    assert_eq!(
        summarize.attributes.get("agentrace.cost.reported"),
        Some(&AttributeValue::F64(0.0029)),
        "{summarize:?}"
    );
    assert_ne!(
        summarize.cost.map(|c| c.total),
        Some(Usd::from_dollars(0.0029))
    );
    let agent = one(spans, SpanKind::Agent, "trip_planner");
    let tool = one(spans, SpanKind::Tool, "search_flights");
    assert_eq!(
        (tool.tool_name.as_deref(), tool.agent_name.as_deref()),
        (Some("search_flights"), Some("trip_planner"))
    );
    assert_eq!(tool.parent_span_id, Some(agent.span_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langfuse_observations_given_their_usage_and_cost_land_priced() {
    if let Some(lf) = LangfuseRun::of(Sdk::Python("manual"), Vec::new()).await {
        check_observations(&lf, "Python observations");
        // get_prompt(…, fallback=…) of a prompt agentrace does not keep: the fallback.
        assert_eq!(
            lf.run["prompt"],
            serde_json::json!({"is_fallback": true, "text": "Answer this briefly."}),
            "{}",
            lf.run
        );
        lf.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langfuse_js_sdk_observations_land_priced() {
    if let Some(lf) = LangfuseRun::of(Sdk::Js, Vec::new()).await {
        check_observations(&lf, "JS observations");
        lf.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langfuse_langchain_handler_runs_land_with_agent_tool_tokens_and_cost() {
    let (calls, replies): (Vec<Call>, Vec<Reply>) = [
        tool_request(Usage::new(80, 16).with_cache_read(64)),
        chat("tool_answer", "gpt-4o-mini", Usage::new(140, 20)),
    ]
    .into_iter()
    .unzip();
    let Some(lf) = LangfuseRun::of(Sdk::Python("langchain"), replies).await else {
        return;
    };
    check_calls(&lf.spans, &calls, &lf.run, "langchain");
    let agent = one(&lf.spans, SpanKind::Agent, "weather_agent");
    assert_eq!(agent.agent_name.as_deref(), Some("weather_agent"));
    let tool = one(&lf.spans, SpanKind::Tool, "get_weather");
    assert_eq!(
        (tool.tool_name.as_deref(), tool.agent_name.as_deref()),
        (Some("get_weather"), Some("weather_agent"))
    );
    lf.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phoenix_client_reads_a_projects_spans_judges_them_and_annotates() {
    let Some(python) = installed(python_client(), "arize-phoenix-client and pandas") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    let base = format!("http://{}", server.app_addr());
    let otlp = format!("http://{}", server.otlp_http_addr());
    let said = run_python(
        &python,
        "phoenix_spans.py",
        &[
            "--base-url",
            &base,
            "--otlp-endpoint",
            &otlp,
            "--api-key",
            TOKEN,
        ],
    )
    .await;
    let trace_id = said["trace_id"].as_str().expect("a trace id");
    let spans = said["spans"].as_array().expect("spans");
    // The project's four spans, newest first, and no other project's.
    let names: Vec<&str> = spans.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "ChatCompletion",
            "get_weather",
            "ChatCompletion",
            "travel_agent"
        ],
        "{said}"
    );
    assert!(spans.iter().all(|s| s["trace_id"] == trace_id), "{said}");
    let kinds: Vec<&str> = spans
        .iter()
        .filter_map(|s| s["span_kind"].as_str())
        .collect();
    assert_eq!(kinds, ["LLM", "TOOL", "LLM", "AGENT"]);
    let first_call = &spans[2];
    let attributes = &first_call["attributes"];
    assert_eq!(attributes["llm.token_count.prompt"], 120, "{first_call}");
    assert_eq!(attributes["llm.token_count.completion"], 8);
    assert_eq!(attributes["llm.model_name"], "gpt-4o-mini");
    assert_eq!(attributes["input.value"], "What is the capital of France?");
    assert_eq!(attributes["session.id"], "sess-px-9");
    assert_eq!(
        attributes["agent.name"], "travel_agent",
        "attributed by agentrace"
    );
    assert!(
        attributes["llm.cost.total"]
            .as_f64()
            .is_some_and(|c| c > 0.0),
        "priced"
    );
    assert!(
        attributes.get("openinference.span.kind").is_none(),
        "moved to span_kind"
    );
    assert_eq!(first_call["parent_id"], spans[3]["span_id"]);
    // Filters: the trace's LLM calls; the roots.
    let llm_ids: Vec<&Json> = spans
        .iter()
        .filter(|s| s["span_kind"] == "LLM")
        .map(|s| &s["span_id"])
        .collect();
    assert_eq!(
        said["llm"].as_array().map(|l| l.iter().collect::<Vec<_>>()),
        Some(llm_ids.clone())
    );
    assert_eq!(said["roots"], serde_json::json!(["travel_agent"]));
    // `default`: the call that named no project, alone.
    assert_eq!(said["default"].as_array().map(Vec::len), Some(1), "{said}");
    assert_ne!(said["default"][0], trace_id);

    // The frame: the LLM calls, indexed by span id, with OpenInference's columns.
    let frame = &said["frame"];
    assert_eq!(frame["index_name"], "context.span_id");
    let index: Vec<&Json> = frame["index"]
        .as_array()
        .expect("an index")
        .iter()
        .collect();
    assert_eq!(index, llm_ids, "{frame}");
    let columns = frame["columns"].as_array().expect("columns");
    for column in [
        "name",
        "span_kind",
        "context.span_id",
        "attributes.input.value",
        "attributes.llm.token_count.prompt",
    ] {
        assert!(columns.iter().any(|c| c == column), "{column} in {frame}");
    }
    assert_eq!(frame["prompt_tokens"], serde_json::json!([95.0, 120.0]));
    assert_eq!(frame["start_time_dtype"], "datetime64[ns, UTC]");

    // The judgements, read back by Phoenix's client and by agentrace's API.
    let annotations = said["annotations"].as_array().expect("annotations");
    assert_eq!(annotations.len(), 2, "{said}");
    let url = format!(
        "http://{}/api/v1/scores?trace_id={trace_id}",
        server.app_addr()
    );
    let scores: Json = reqwest::Client::new()
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the API answers")
        .json()
        .await
        .expect("JSON");
    let mut labels: Vec<(String, String)> = scores["scores"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["name"] == "correctness")
        .map(|s| {
            (
                s["span_id"].as_str().unwrap_or_default().to_owned(),
                s["label"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    labels.sort();
    let mut expected = vec![
        (
            spans[2]["span_id"].as_str().unwrap_or_default().to_owned(),
            "correct".to_owned(),
        ),
        (
            spans[0]["span_id"].as_str().unwrap_or_default().to_owned(),
            "incorrect".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(labels, expected, "{scores}");
    server.shutdown().await.expect("a clean stop");
}
