//! Real GenAI instrumentations from PyPI — OpenInference, OpenLLMetry (alone and through
//! traceloop-sdk) and OpenLIT — tracing the `openai` Python client against a local fake OpenAI
//! server (`agentrace-fake-openai`), exported over OTLP/HTTP to `agentrace serve`. One agent
//! run each (`tests/integration/python/instrumented_app.py`): every LLM span must land with its
//! kind, provider, model, tokens by type, cost, session, user and agent, tool spans as tool
//! spans, and what an instrumentation does not report (a stream's usage without
//! `include_usage`) as unknown, never a made-up number.

use agentrace_core::cost::{PriceBook, PriceTable, compute_cost};
use agentrace_core::{SpanKind, SpanRecord, TokenUsage};
use agentrace_fake_openai::{FakeOpenAi, Reply, Usage};
use agentrace_integration::instrumentation_python;
use agentrace_integration::serve::{
    assert_attributed, dump, installed, one_cost_group, run_python, start, trace_spans,
};
use agentrace_server::RunningServer;

/// An LLM call of the run, in the order `instrumented_app.py` makes them.
struct Call {
    what: &'static str,
    model: &'static str,
    kind: SpanKind,
    reply: Reply,
    /// Whether the instrumentation can know the usage (a stream without `include_usage`
    /// reports none).
    reported: bool,
    /// Whether the reply streams.
    streams: bool,
}

fn calls() -> Vec<Call> {
    let chat = |what: &'static str, model, reply, reported| Call {
        what,
        model,
        kind: SpanKind::Llm,
        reply,
        reported,
        streams: what.starts_with("stream"),
    };
    vec![
        chat(
            "chat",
            "gpt-4o-mini",
            Reply::text(
                "Light layers.",
                Usage::new(1_200, 40).with_cache_read(1_024),
            ),
            true,
        ),
        chat(
            "reasoning",
            "o3-mini",
            Reply::text("An umbrella.", Usage::new(200, 500).with_reasoning(448)),
            true,
        ),
        chat(
            "stream_usage",
            "gpt-4o-mini",
            Reply::text("A light jacket and comfortable shoes.", Usage::new(30, 12)),
            true,
        ),
        chat(
            "stream_bare",
            "gpt-4o-mini",
            Reply::text("Sunglasses.", Usage::new(31, 3)),
            false,
        ),
        chat(
            "tool_request",
            "gpt-4o-mini",
            Reply::tool_call(
                "call_weather_1",
                "get_weather",
                r#"{"city":"Paris"}"#,
                Usage::new(80, 16),
            ),
            true,
        ),
        chat(
            "tool_answer",
            "gpt-4o-mini",
            Reply::text("Sunny and 21 °C: pack light.", Usage::new(140, 20)),
            true,
        ),
        Call {
            what: "embeddings",
            model: "text-embedding-3-small",
            kind: SpanKind::Embedding,
            reply: Reply::embedding(9),
            reported: true,
            streams: false,
        },
    ]
}

/// What an instrumentation reports of OpenAI's usage, beyond input and output tokens (and what
/// docs/ingest.md lists for each).
#[derive(Clone, Copy)]
struct Reports {
    /// `completion_tokens_details.reasoning_tokens` of a chat completion.
    reasoning: bool,
    /// The same of a streamed one (in the stream's usage chunk).
    stream_reasoning: bool,
}

/// The usage agentrace stores for the reply to `call`: OpenAI's counts are cache- and
/// reasoning-inclusive, as agentrace's are; a reasoning count the instrumentation does not
/// report (none does for embeddings) stays unknown.
fn stored_usage(call: &Call, reports: Reports) -> TokenUsage {
    let usage = call.reply.usage();
    let reports_reasoning = call.kind == SpanKind::Llm
        && if call.streams {
            reports.stream_reasoning
        } else {
            reports.reasoning
        };
    TokenUsage {
        cache_read_tokens: usage.cache_read,
        reasoning_tokens: reports_reasoning.then_some(usage.reasoning),
        ..TokenUsage::new(usage.input, usage.output)
    }
}

/// What every run needs: the server, the fake OpenAI server, and OpenLIT's price file.
struct Setup<'a> {
    server: &'a RunningServer,
    fake: &'a FakeOpenAi,
    openlit_prices: &'a str,
}

/// Runs `instrumentation` (from the virtualenv `venv`) once and checks what the server
/// stored of it; returns its spans.
async fn check(
    setup: &Setup<'_>,
    instrumentation: &str,
    venv: &str,
    reports: Reports,
) -> Option<Vec<SpanRecord>> {
    let Setup {
        server,
        fake,
        openlit_prices,
    } = *setup;
    let python = installed(
        instrumentation_python(venv),
        &format!("the {venv} virtualenv (scripts/install-test-deps.sh)"),
    )?;
    let calls = calls();
    fake.script(calls.iter().map(|c| c.reply.clone()));
    let endpoint = format!("http://{}", server.otlp_http_addr());
    let base_url = fake.base_url();
    let run = run_python(
        &python,
        "instrumented_app.py",
        &[
            "--instrumentation",
            instrumentation,
            "--endpoint",
            &endpoint,
            "--openai-base-url",
            &base_url,
            "--pricing",
            openlit_prices,
        ],
    )
    .await;
    assert_eq!(
        fake.unused_replies(),
        0,
        "{instrumentation}: every call made"
    );
    let trace_id = run["trace_id"].as_str().expect("trace id");
    let spans = trace_spans(server, trace_id).await;

    let mut llm: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| matches!(s.kind, SpanKind::Llm | SpanKind::Embedding))
        .collect();
    llm.sort_by_key(|s| s.start_time_unix_nano);
    assert_eq!(
        llm.len(),
        calls.len(),
        "{instrumentation}: one LLM span per call:\n{}",
        dump(&spans)
    );
    let prices = PriceTable::builtin();
    for (call, span) in calls.iter().zip(&llm) {
        let what = format!("{instrumentation} {}: {span:?}", call.what);
        assert_eq!(span.kind, call.kind, "{what}");
        assert_eq!(span.provider.as_deref(), Some("openai"), "{what}");
        assert_eq!(span.request_model.as_deref(), Some(call.model), "{what}");
        assert_attributed(span, &run, &what);
        if call.reported {
            let usage = stored_usage(call, reports);
            assert_eq!(span.usage, usage, "{what}");
            let price = prices
                .price(Some("openai"), call.model, span.end_time_unix_nano)
                .unwrap_or_else(|| panic!("{what}: a built-in price"));
            assert_eq!(span.cost, Some(compute_cost(&usage, price.price)), "{what}");
        } else {
            assert!(span.usage.is_empty(), "{what}: no usage was reported");
            assert_eq!(span.cost, None, "{what}: unknown, not $0");
        }
    }

    let tools: Vec<&SpanRecord> = spans.iter().filter(|s| s.kind == SpanKind::Tool).collect();
    assert_eq!(
        tools.len(),
        1,
        "{instrumentation}: one tool span:\n{}",
        dump(&spans)
    );
    assert_eq!(tools[0].tool_name.as_deref(), Some("get_weather"));
    assert_eq!(tools[0].agent_name.as_deref(), run["agent"].as_str());
    assert_eq!(tools[0].cost, None);

    // Only the calls are billed: the trace's cost is theirs, by agent and in all.
    let billed: Vec<&SpanRecord> = spans.iter().filter(|s| s.cost.is_some()).collect();
    assert_eq!(
        billed.len(),
        calls.iter().filter(|c| c.reported).count(),
        "{instrumentation}: billed spans:\n{}",
        dump(&spans)
    );
    let service = run["service"].as_str().expect("service");
    let group = one_cost_group(server, "agent", service).await;
    assert_eq!(
        group["keys"]["agent"], run["agent"],
        "{instrumentation}: {group}"
    );
    Some(spans)
}

/// OpenLIT's price file (it fetches one from GitHub unless given a file), with prices of its
/// own so that its figure differs from agentrace's.
const OPENLIT_PRICES: &str = r#"{
  "chat": {
    "gpt-4o-mini": {"promptPrice": 0.001, "completionPrice": 0.002},
    "o3-mini": {"promptPrice": 0.001, "completionPrice": 0.002}
  },
  "embeddings": {"text-embedding-3-small": 0.001}
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_instrumentations_land_with_agent_tokens_and_cost() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    let fake = FakeOpenAi::start()
        .await
        .expect("the fake OpenAI server starts");
    let prices = dir.path().join("openlit-prices.json");
    std::fs::write(&prices, OPENLIT_PRICES).expect("OpenLIT's price file is written");
    let setup = Setup {
        server: &server,
        fake: &fake,
        openlit_prices: prices.to_str().expect("a UTF-8 temp dir"),
    };
    let all = Reports {
        reasoning: true,
        stream_reasoning: true,
    };
    check(&setup, "openinference", "openinference", all).await;
    // OpenLLMetry 0.62 reports no reasoning count of a stream.
    let no_stream_reasoning = Reports {
        reasoning: true,
        stream_reasoning: false,
    };
    for instrumentation in ["openllmetry", "traceloop"] {
        check(&setup, instrumentation, "traceloop", no_stream_reasoning).await;
    }
    // OpenLIT 1.45 reports reasoning tokens of the Responses API only, not of chat completions.
    let openlit = Reports {
        reasoning: false,
        stream_reasoning: false,
    };
    if let Some(spans) = check(&setup, "openlit", "openlit", openlit).await {
        // OpenLIT's own cost stays, as the client's figure, beside agentrace's.
        let llm = spans
            .iter()
            .find(|s| s.kind == SpanKind::Llm && s.cost.is_some())
            .expect("a priced call");
        assert!(
            llm.attributes.get("gen_ai.usage.cost").is_some(),
            "OpenLIT's figure kept: {llm:?}"
        );
    }
    fake.shutdown().await;
    server.shutdown().await.expect("a clean shutdown");
}
