//! Real agent stacks that report usage at more than one level — the Vercel AI SDK 6 and 7
//! (npm, `tests/integration/node`) and PydanticAI (PyPI), each traced by its own OpenTelemetry
//! instrumentation as docs/frameworks.md sets it up — run against a local fake OpenAI server
//! (`agentrace-fake-openai`) and exported over OTLP/HTTP to `agentrace serve`.
//!
//! Each runs a tool loop (two calls), a streamed call and an embedding, and wraps them in
//! spans that repeat their usage (`ai.generateText`, `invoke_agent` with run totals, an
//! `embeddings` span over the call). Through the API: every call lands once, with its exact
//! tokens (cache reads and reasoning where the stack reports them, unknown where it does not)
//! and cost; the trace, the session, the user and `/cost` add up to the sum of the calls; no
//! wrapper counts as a call, priced or not; agent, framework, session and user are as the docs
//! say.

use agentrace_core::cost::{PriceBook, PriceTable, compute_cost};
use agentrace_core::normalize::is_aggregate;
use agentrace_core::{Cost, SpanKind, SpanRecord, TokenUsage, Usd};
use agentrace_fake_openai::{FakeOpenAi, Reply, Usage};
use agentrace_integration::serve::{
    PATIENCE, api, assert_attributed, dump, get_json, installed, one_cost_group, run_node,
    run_python, start, trace_spans,
};
use agentrace_integration::{framework_python, node_client};
use agentrace_server::RunningServer;
use serde_json::Value as Json;

const MODEL: &str = "gpt-4o-mini";
const EMBEDDING_MODEL: &str = "text-embedding-3-small";
const EMBEDDING_TOKENS: u64 = 8;

/// The usage of the chat calls of one run, in the order the stacks make them: the tool loop
/// (the model asks for the tool, its prompt mostly read from the cache; then it answers), then
/// the streamed answer (partly reasoning).
const CHAT_USAGE: [Usage; 3] = [
    Usage::new(1_200, 16).with_cache_read(1_024),
    Usage::new(1_260, 12),
    Usage::new(300, 40).with_reasoning(25),
];

/// The fake's replies of one run: the chat calls', then the embedding's.
fn replies() -> Vec<Reply> {
    let [tool_request, answer, streamed] = CHAT_USAGE;
    vec![
        Reply::tool_call(
            "call_weather_1",
            "get_weather",
            r#"{"city":"Paris"}"#,
            tool_request,
        ),
        Reply::text("It is sunny and 21 °C in Paris.", answer),
        Reply::text("Bonjour !", streamed),
        Reply::embedding(EMBEDDING_TOKENS),
    ]
}

/// One call as agentrace must store it.
struct Call {
    kind: SpanKind,
    model: &'static str,
    usage: TokenUsage,
    /// Whether it is attributed to the run's agent.
    by_agent: bool,
}

/// The calls of one run of `stack`.
fn calls(stack: &Stack) -> Vec<Call> {
    let reports_reasoning = stack.reports_reasoning;
    let chat = CHAT_USAGE.map(|usage| Call {
        by_agent: true,
        kind: SpanKind::Llm,
        model: MODEL,
        usage: TokenUsage {
            cache_read_tokens: usage.cache_read,
            reasoning_tokens: reports_reasoning.then_some(usage.reasoning),
            ..TokenUsage::new(usage.input, usage.output)
        },
    });
    let embedding = Call {
        by_agent: stack.embeds_by_agent,
        kind: SpanKind::Embedding,
        model: EMBEDDING_MODEL,
        usage: TokenUsage::new(EMBEDDING_TOKENS, 0),
    };
    chat.into_iter().chain([embedding]).collect()
}

/// A stack under test: how to run it, and what of it agentrace must show.
struct Stack {
    /// Its name in messages.
    name: String,
    /// The framework agentrace must recognize on its spans.
    framework: &'static str,
    /// Whether it reports reasoning token counts (if not, they must stay unknown).
    reports_reasoning: bool,
    /// Whether its embedding, made outside an agent run, carries the agent's name.
    embeds_by_agent: bool,
    /// Whether spans above its calls repeat their usage under the names of usage (rather than
    /// names of their own, as PydanticAI's `gen_ai.aggregated_usage.*`).
    repeats_usage: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stacks_count_every_call_once_and_their_totals_add_up() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    let fake = FakeOpenAi::start()
        .await
        .expect("the fake OpenAI server starts");
    let endpoint = format!("http://{}", server.otlp_http_addr());
    let base_url = fake.base_url();

    // The AI SDK 6 reports reasoning (`ai.usage.reasoningTokens`); AI SDK 7's default
    // telemetry does not.
    for (major, node, reports_reasoning) in [("6", 20, true), ("7", 22, false)] {
        let Some(node) = installed(
            node_client(node),
            &format!(
                "Node {node} and tests/integration/node's packages (scripts/install-test-deps.sh)"
            ),
        ) else {
            continue;
        };
        let stack = Stack {
            name: format!("the Vercel AI SDK {major}"),
            framework: "vercel-ai",
            reports_reasoning,
            // AI SDK 7 names the agent (its function id) on `invoke_agent` only.
            embeds_by_agent: major == "6",
            repeats_usage: true,
        };
        let args = [
            "--major",
            major,
            "--endpoint",
            &endpoint,
            "--openai-base-url",
            &base_url,
        ];
        let run = scripted(&fake, run_node(&node, "vercel_ai.mjs", &args)).await;
        check(&server, &stack, &run).await;
    }

    if let Some(python) = installed(
        framework_python("pydantic_ai"),
        "the pydantic_ai framework virtualenv (scripts/install-test-deps.sh)",
    ) {
        for aggregated_usage in ["on", "off"] {
            let stack = Stack {
                name: format!("PydanticAI, aggregated usage names {aggregated_usage}"),
                framework: "pydantic-ai",
                reports_reasoning: true,
                // An Embedder is no agent's.
                embeds_by_agent: false,
                repeats_usage: aggregated_usage == "off",
            };
            let args = [
                "--endpoint",
                &endpoint,
                "--openai-base-url",
                &base_url,
                "--aggregated-usage",
                aggregated_usage,
            ];
            let run = scripted(
                &fake,
                run_python(&python, "frameworks/pydantic_ai_app.py", &args),
            )
            .await;
            check(&server, &stack, &run).await;
        }
    }
    fake.shutdown().await;
    server.shutdown().await.expect("a clean shutdown");
}

/// Scripts one run's replies, runs it, and checks that it made exactly those requests.
async fn scripted(fake: &FakeOpenAi, run: impl Future<Output = Json>) -> Json {
    let replies = replies();
    fake.script(replies.iter().cloned());
    let before = fake.request_count();
    let run = run.await;
    assert_eq!(fake.unused_replies(), 0, "every reply taken: {run}");
    assert_eq!(
        fake.request_count() - before,
        replies.len(),
        "one request per reply: {:?}",
        fake.requests()
    );
    run
}

/// Checks what the server stored of one run of `stack` (`run` is the app's report).
async fn check(server: &RunningServer, stack: &Stack, run: &Json) {
    let name = stack.name.as_str();
    let trace_id = run["trace_id"].as_str().expect("a trace id");
    let want = calls(stack);
    let spans = settled(server, trace_id, want.len()).await;

    // Every span of the stack (all but the app's own root) is recognized.
    for span in spans.iter().filter(|s| s.name != "weather-run") {
        assert_eq!(
            span.framework.as_deref(),
            Some(stack.framework),
            "{name}: {span:?}"
        );
    }

    // Each call once, with its tokens and cost; the wrappers keep theirs aside.
    let prices = PriceTable::builtin();
    let mut total = TokenUsage::default();
    let mut cost = Cost::default();
    for kind in [SpanKind::Llm, SpanKind::Embedding] {
        let mut stored: Vec<&SpanRecord> = calls_of(&spans, kind);
        stored.sort_by_key(|s| s.start_time_unix_nano);
        let wanted: Vec<&Call> = want.iter().filter(|c| c.kind == kind).collect();
        assert_eq!(
            stored.len(),
            wanted.len(),
            "{name}: one {kind:?} span per call, no phantom:\n{}",
            dump(&spans)
        );
        for (call, span) in wanted.iter().zip(stored) {
            let what = format!("{name}: {span:?}");
            assert_eq!(span.provider.as_deref(), Some("openai"), "{what}");
            assert_eq!(span.request_model.as_deref(), Some(call.model), "{what}");
            assert_eq!(span.usage, call.usage, "{what}");
            let price = prices
                .price(Some("openai"), call.model, span.end_time_unix_nano)
                .unwrap_or_else(|| panic!("{what}: a built-in price"));
            let call_cost = compute_cost(&call.usage, price.price);
            assert_eq!(span.cost, Some(call_cost), "{what}");
            if call.by_agent {
                assert_attributed(span, run, &what);
            } else {
                assert_eq!(span.agent_name, None, "{what}");
                assert_eq!(
                    span.session_id.as_deref(),
                    run["session"].as_str(),
                    "{what}"
                );
                assert_eq!(span.user_id.as_deref(), run["user"].as_str(), "{what}");
            }
            total += call.usage;
            cost += call_cost;
        }
    }
    for span in spans.iter().filter(|s| is_aggregate(s)) {
        assert!(span.usage.is_empty(), "{name}: {span:?}");
        assert_eq!(span.cost, None, "{name}: {span:?}");
    }
    assert_eq!(
        spans.iter().any(is_aggregate),
        stack.repeats_usage,
        "{name}: wrappers that repeat usage are marked so:\n{}",
        dump(&spans)
    );
    let agents: Vec<&SpanRecord> = spans.iter().filter(|s| s.kind == SpanKind::Agent).collect();
    assert!(
        !agents.is_empty(),
        "{name}: an agent span:\n{}",
        dump(&spans)
    );
    for agent in agents {
        assert_attributed(agent, run, &format!("{name}: {agent:?}"));
    }
    let tools: Vec<&SpanRecord> = spans.iter().filter(|s| s.kind == SpanKind::Tool).collect();
    assert_eq!(tools.len(), 1, "{name}: one tool span:\n{}", dump(&spans));
    assert_eq!(tools[0].tool_name.as_deref(), Some("get_weather"), "{name}");

    // The totals are the sum of the calls: the trace's, the session's, the user's, /cost's.
    let calls = want.len();
    let (status, tree) = get_json(&api(server, &format!("/traces/{trace_id}"))).await;
    assert_eq!(status, 200, "{tree}");
    let summary = &tree["summary"];
    assert_totals(&summary["usage"], &summary["cost"], total, cost.total, name);
    assert_eq!(summary["unpriced_count"], 0, "{name}: {summary}");

    let session_id = run["session"].as_str().expect("a session");
    let (status, page) = get_json(&api(server, &format!("/sessions/{session_id}"))).await;
    assert_eq!(status, 200, "{page}");
    let session = &page["session"];
    assert_totals(&session["usage"], &session["cost"], total, cost.total, name);
    assert_eq!(session["unpriced"], 0, "{name}: {session}");
    assert_eq!(session["user_id"], run["user"], "{name}: {session}");

    let (status, users) = get_json(&api(server, "/users?limit=1000")).await;
    assert_eq!(status, 200, "{users}");
    let user = users["users"]
        .as_array()
        .and_then(|all| all.iter().find(|u| u["user_id"] == run["user"]))
        .unwrap_or_else(|| panic!("{name}: the user in /users: {users}"));
    assert_totals(&user["usage"], &user["cost"], total, cost.total, name);
    assert_eq!(user["unpriced"], 0, "{name}: {user}");

    let service = run["service"].as_str().expect("a service");
    let group = one_cost_group(server, "framework,session,user", service).await;
    let keys = &group["keys"];
    assert_eq!(keys["framework"], stack.framework, "{name}: {group}");
    assert_eq!(keys["session"], run["session"], "{name}: {group}");
    assert_eq!(keys["user"], run["user"], "{name}: {group}");
    assert_eq!(group["calls"], calls, "{name}: {group}");
    assert_eq!(group["priced"], calls, "{name}: {group}");
    assert_eq!(group["unpriced"], 0, "{name}: {group}");
    assert_totals(&group["usage"], &group["cost"], total, cost.total, name);
    let (status, by_agent) = get_json(&api(
        server,
        &format!("/cost?group_by=agent&service={service}"),
    ))
    .await;
    assert_eq!(status, 200, "{by_agent}");
    let agent_calls = |agent: &Json| {
        by_agent["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["keys"]["agent"] == *agent))
            .map_or(Json::from(0), |r| r["calls"].clone())
    };
    let by_run_agent = want.iter().filter(|c| c.by_agent).count();
    assert_eq!(
        agent_calls(&run["agent"]),
        by_run_agent,
        "{name}: {by_agent}"
    );
    assert_eq!(
        agent_calls(&Json::Null),
        calls - by_run_agent,
        "{name}: {by_agent}"
    );
}

/// The spans of `kind` that are calls (not aggregates).
fn calls_of(spans: &[SpanRecord], kind: SpanKind) -> Vec<&SpanRecord> {
    spans
        .iter()
        .filter(|s| s.kind == kind && !is_aggregate(s))
        .collect()
}

/// The trace's spans once exactly its calls are counted as calls: the exporters batch, and a
/// wrapper that arrives before its steps counts as a call until they arrive. At the deadline,
/// what there is.
async fn settled(server: &RunningServer, trace_id: &str, calls: usize) -> Vec<SpanRecord> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, _) = get_json(&api(server, &format!("/traces/{trace_id}"))).await;
        if status == 200 {
            let spans = trace_spans(server, trace_id).await;
            let counted: usize = [SpanKind::Llm, SpanKind::Embedding]
                .into_iter()
                .map(|kind| calls_of(&spans, kind).len())
                .sum();
            if counted == calls || tokio::time::Instant::now() > deadline {
                return spans;
            }
        }
        assert!(
            tokio::time::Instant::now() <= deadline,
            "trace {trace_id} never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Asserts that an API answer's `usage` and `cost` are `total` and `cost`.
fn assert_totals(usage: &Json, got_cost: &Json, total: TokenUsage, cost: Usd, what: &str) {
    let usage: TokenUsage = serde_json::from_value(usage.clone())
        .unwrap_or_else(|e| panic!("{what}: a usage ({e}): {usage}"));
    // A total's reasoning count is unknown when no call reported any spent
    // (docs/conventions.md, "Reasoning").
    let total = TokenUsage {
        reasoning_tokens: total.reasoning_tokens.filter(|n| *n > 0),
        ..total
    };
    assert_eq!(usage, total, "{what}");
    let got: Usd = serde_json::from_value(got_cost.clone())
        .unwrap_or_else(|e| panic!("{what}: a cost ({e}): {got_cost}"));
    assert_eq!(got, cost, "{what}");
}
