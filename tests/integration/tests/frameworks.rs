//! Real Python agent frameworks from PyPI — LangGraph, the OpenAI Agents SDK and CrewAI —
//! traced by their OpenInference instrumentations as docs/frameworks.md sets them up, run
//! against a local fake OpenAI server (`agentrace-fake-openai`) and exported over OTLP/HTTP to
//! `agentrace serve`. One run of a weather agent with one tool each
//! (`tests/integration/python/frameworks/agent_app.py`): the framework must be recognized, every
//! LLM span land with its kind, provider, model, tokens by type, cost, session, user and agent,
//! the tool span as a tool span with its name, and the framework's agent as an agent span.

use agentrace_core::cost::{PriceBook, PriceTable, compute_cost};
use agentrace_core::{SpanKind, SpanRecord, TokenUsage};
use agentrace_fake_openai::{FakeOpenAi, Reply, Usage};
use agentrace_integration::framework_python;
use agentrace_integration::serve::{
    assert_attributed, dump, installed, one_cost_group, run_python, start, trace_spans,
};
use agentrace_server::RunningServer;

const MODEL: &str = "gpt-4o-mini";
const TOOL: &str = "get_weather";

/// The model's replies of one run, in order: it asks for the tool (its prompt mostly read
/// from the cache), then answers with the tool's result.
fn replies() -> Vec<Reply> {
    vec![
        Reply::tool_call(
            "call_weather_1",
            TOOL,
            r#"{"city":"Paris"}"#,
            Usage::new(1_200, 16).with_cache_read(1_024),
        ),
        Reply::text("It is sunny and 21 °C in Paris.", Usage::new(1_260, 12)),
    ]
}

/// The usage agentrace stores for a reply: OpenAI's counts are cache-inclusive, as
/// agentrace's are; cached and reasoning tokens the instrumentation does not report stay
/// unknown (zero, and `None` for reasoning).
fn stored_usage(usage: Usage, reports_details: bool) -> TokenUsage {
    if !reports_details {
        return TokenUsage::new(usage.input, usage.output);
    }
    TokenUsage {
        cache_read_tokens: usage.cache_read,
        reasoning_tokens: Some(usage.reasoning),
        ..TokenUsage::new(usage.input, usage.output)
    }
}

/// Runs `framework` (from the virtualenv `venv`) once and checks what the server stored of it.
async fn check(
    server: &RunningServer,
    fake: &FakeOpenAi,
    framework: &str,
    venv: &str,
    reports_details: bool,
) {
    let Some(python) = installed(
        framework_python(venv),
        &format!("the {venv} framework virtualenv (scripts/install-test-deps.sh)"),
    ) else {
        return;
    };
    let replies = replies();
    fake.script(replies.iter().cloned());
    let requests_before = fake.request_count();
    let endpoint = format!("http://{}", server.otlp_http_addr());
    let base_url = fake.base_url();
    let run = run_python(
        &python,
        "frameworks/agent_app.py",
        &[
            "--framework",
            framework,
            "--endpoint",
            &endpoint,
            "--openai-base-url",
            &base_url,
        ],
    )
    .await;
    assert_eq!(fake.unused_replies(), 0, "{framework}: every reply taken");
    assert_eq!(
        fake.request_count() - requests_before,
        replies.len(),
        "{framework}: one request per reply: {:?}",
        fake.requests()
    );
    assert_eq!(
        run["answer"].as_str(),
        Some("It is sunny and 21 °C in Paris."),
        "{framework}: {run}"
    );
    let trace_id = run["trace_id"].as_str().expect("trace id");
    let spans = trace_spans(server, trace_id).await;
    // Recognized on every span: the framework's own and the model client's beneath them.
    for span in &spans {
        assert_eq!(
            span.framework.as_deref(),
            Some(framework),
            "{framework}: {span:?}"
        );
    }

    let mut llm: Vec<&SpanRecord> = spans.iter().filter(|s| s.kind == SpanKind::Llm).collect();
    llm.sort_by_key(|s| s.start_time_unix_nano);
    assert_eq!(
        llm.len(),
        replies.len(),
        "{framework}: one LLM span per call:\n{}",
        dump(&spans)
    );
    let prices = PriceTable::builtin();
    for (reply, span) in replies.iter().zip(&llm) {
        let what = format!("{framework}: {span:?}");
        assert_eq!(span.provider.as_deref(), Some("openai"), "{what}");
        assert_eq!(span.request_model.as_deref(), Some(MODEL), "{what}");
        assert_attributed(span, &run, &what);
        let usage = stored_usage(reply.usage(), reports_details);
        assert_eq!(span.usage, usage, "{what}");
        let price = prices
            .price(Some("openai"), MODEL, span.end_time_unix_nano)
            .unwrap_or_else(|| panic!("{what}: a built-in price"));
        assert_eq!(span.cost, Some(compute_cost(&usage, price.price)), "{what}");
    }

    let tools: Vec<&SpanRecord> = spans.iter().filter(|s| s.kind == SpanKind::Tool).collect();
    assert_eq!(
        tools.len(),
        1,
        "{framework}: one tool span:\n{}",
        dump(&spans)
    );
    let what = format!("{framework}: {:?}", tools[0]);
    assert_eq!(tools[0].tool_name.as_deref(), Some(TOOL), "{what}");
    assert_attributed(tools[0], &run, &what);
    assert_eq!(tools[0].cost, None, "{what}");

    let agents: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Agent && s.agent_name.as_deref() == run["agent"].as_str())
        .collect();
    assert!(
        !agents.is_empty(),
        "{framework}: an agent span of the agent:\n{}",
        dump(&spans)
    );
    for agent in agents {
        assert_attributed(agent, &run, &format!("{framework}: {agent:?}"));
    }

    // Only the calls are billed, all to the agent, the framework, the session and the user.
    let billed = spans.iter().filter(|s| s.cost.is_some()).count();
    assert_eq!(
        billed,
        replies.len(),
        "{framework}: billed spans:\n{}",
        dump(&spans)
    );
    let service = run["service"].as_str().expect("service");
    let group = one_cost_group(server, "agent,framework,session,user", service).await;
    let keys = &group["keys"];
    assert_eq!(keys["agent"], run["agent"], "{framework}: {group}");
    assert_eq!(keys["framework"], framework, "{group}");
    assert_eq!(keys["session"], run["session"], "{group}");
    assert_eq!(keys["user"], run["user"], "{group}");
    assert_eq!(group["calls"], replies.len(), "{group}");
    assert_eq!(group["priced"], replies.len(), "{group}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_frameworks_land_with_agent_tool_tokens_and_cost() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    let fake = FakeOpenAi::start()
        .await
        .expect("the fake OpenAI server starts");
    for (framework, venv, reports_details) in [
        ("langgraph", "langgraph", true),
        // openinference-instrumentation-openai-agents reports only input and output tokens of
        // the chat completions model: no cached or reasoning tokens.
        ("openai-agents", "openai_agents", false),
        ("crewai", "crewai", true),
    ] {
        check(&server, &fake, framework, venv, reports_details).await;
    }
    fake.shutdown().await;
    server.shutdown().await.expect("a clean shutdown");
}
