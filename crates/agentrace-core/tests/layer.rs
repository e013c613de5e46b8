//! The tracing layer: ids and parentage across awaits and threads, GenAI extraction in every
//! dialect, inheritance, errors, events, sampling and propagation.

use std::time::Duration;

use agentrace_core::propagation::{self, TraceContext};
use agentrace_core::testing::MemorySink;
use agentrace_core::{
    AgentraceLayer, AnnotatorKind, Evaluation, EventKind, Level, Pipeline, Resource, Sampler,
    SpanKind, SpanRecord, StatusCode, TokenUsage, events, spans,
};
use tracing::Instrument;
use tracing_subscriber::prelude::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Harness {
    memory: MemorySink,
    pipeline: Pipeline,
    dispatch: tracing::Dispatch,
}

fn harness_with(
    configure: impl FnOnce(AgentraceLayer) -> AgentraceLayer,
) -> Result<Harness, Box<dyn std::error::Error>> {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder().with_sink(memory.clone()).build()?;
    let layer = configure(AgentraceLayer::new(
        pipeline.clone(),
        Resource::new("layer-test"),
    ));
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    Ok(Harness {
        memory,
        pipeline,
        dispatch,
    })
}

fn harness() -> Result<Harness, Box<dyn std::error::Error>> {
    harness_with(|l| l)
}

impl Harness {
    fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        tracing::dispatcher::with_default(&self.dispatch, f)
    }

    fn spans(&self) -> Result<Vec<SpanRecord>, Box<dyn std::error::Error>> {
        self.pipeline.flush()?;
        Ok(self.memory.spans())
    }
}

fn find<'a>(spans: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!(
            "no span {name:?} in {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    })
}

#[test]
fn agent_llm_tool_tree_with_usage_and_inheritance() -> TestResult {
    let h = harness()?;
    h.run(|| {
        let agent = spans::agent("researcher");
        spans::set_session(&agent, "session-1");
        spans::set_user(&agent, "user-9");
        spans::set_correlation_id(&agent, "corr-5");
        spans::set_framework(&agent, "langgraph");
        let _a = agent.enter();
        let llm = spans::llm("openai", "gpt-4o");
        {
            let _l = llm.enter();
            spans::record_usage_on_current(&TokenUsage {
                input_tokens: 1_000,
                output_tokens: 200,
                cache_read_tokens: 800,
                cache_write_tokens: 0,
                cache_write_1h_tokens: 0,
                reasoning_tokens: Some(50),
            });
            spans::record_response_model(&llm, "gpt-4o-2024-08-06");
        }
        drop(llm);
        let _t = spans::tool("web_search").entered();
    });
    let spans = h.spans()?;
    assert_eq!(spans.len(), 3);
    let agent = find(&spans, "invoke_agent researcher");
    let llm = find(&spans, "chat gpt-4o");
    let tool = find(&spans, "execute_tool web_search");
    assert_eq!(agent.kind, SpanKind::Agent);
    assert_eq!(agent.parent_span_id, None);
    assert_eq!(llm.kind, SpanKind::Llm);
    assert_eq!(tool.kind, SpanKind::Tool);
    for child in [llm, tool] {
        assert_eq!(child.trace_id, agent.trace_id);
        assert_eq!(child.parent_span_id, Some(agent.span_id));
        assert_eq!(child.session_id.as_deref(), Some("session-1"));
        assert_eq!(child.user_id.as_deref(), Some("user-9"));
        assert_eq!(child.correlation_id.as_deref(), Some("corr-5"));
        assert_eq!(child.agent_name.as_deref(), Some("researcher"));
        assert_eq!(child.framework.as_deref(), Some("langgraph"));
    }
    assert_eq!(llm.provider.as_deref(), Some("openai"));
    assert_eq!(llm.request_model.as_deref(), Some("gpt-4o"));
    assert_eq!(llm.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(llm.usage.input_tokens, 1_000);
    assert_eq!(llm.usage.cache_read_tokens, 800);
    assert_eq!(llm.usage.reasoning_tokens, Some(50));
    assert_eq!(
        llm.cost, None,
        "no price processor: cost stays unknown, never a silent 0"
    );
    assert_eq!(tool.tool_name.as_deref(), Some("web_search"));
    assert!(llm.end_time_unix_nano >= llm.start_time_unix_nano);
    assert!(agent.end_time_unix_nano >= llm.end_time_unix_nano);
    assert_eq!(agent.resource.service_name, "layer-test");
    Ok(())
}

#[test]
fn parentage_survives_awaits_and_threads() -> TestResult {
    let h = harness()?;
    // The subscriber is the default on every runtime thread, as a global subscriber would be
    // (closing a span notifies its parent through the thread's default dispatcher).
    let dispatch = h.dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || std::mem::forget(tracing::dispatcher::set_default(&dispatch)))
        .build()?;
    h.run(|| {
        runtime.block_on(async {
            let root = tracing::info_span!("workflow", gen_ai.operation.name = "invoke_workflow");
            async {
                let mut handles = Vec::new();
                for i in 0..4 {
                    let child = tracing::info_span!("step", index = i);
                    handles.push(tokio::spawn(
                        async move {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            let _leaf = tracing::info_span!("leaf").entered();
                        }
                        .instrument(child),
                    ));
                }
                for handle in handles {
                    let _ = handle.await;
                }
            }
            .instrument(root)
            .await;
        });
        drop(runtime);
    });
    let spans = h.spans()?;
    let root = find(&spans, "workflow");
    assert_eq!(root.kind, SpanKind::Workflow);
    let steps: Vec<_> = spans.iter().filter(|s| s.name == "step").collect();
    let leaves: Vec<_> = spans.iter().filter(|s| s.name == "leaf").collect();
    assert_eq!((steps.len(), leaves.len()), (4, 4));
    for step in &steps {
        assert_eq!(step.trace_id, root.trace_id);
        assert_eq!(step.parent_span_id, Some(root.span_id));
    }
    for leaf in &leaves {
        assert_eq!(leaf.trace_id, root.trace_id);
        assert!(steps.iter().any(|s| Some(s.span_id) == leaf.parent_span_id));
    }
    Ok(())
}

#[test]
fn dialects_otel_fields_and_framework_from_target() -> TestResult {
    let h = harness()?;
    h.run(|| {
        let _oi = tracing::info_span!(
            "ChatOpenAI",
            openinference.span.kind = "LLM",
            llm.model_name = "gpt-4o-mini",
            llm.token_count.prompt = 10,
            llm.token_count.completion = 5,
            session.id = "s-oi",
        )
        .entered();
        let _rig = tracing::info_span!(
            target: "rig::completions",
            "chat",
            gen_ai.operation.name = "chat_streaming",
            gen_ai.provider.name = "anthropic",
            gen_ai.request.model = "claude-sonnet-4-5",
            otel.name = "chat claude-sonnet-4-5",
            otel.kind = "client",
            otel.status_code = "OK",
        )
        .entered();
    });
    let spans = h.spans()?;
    let oi = find(&spans, "ChatOpenAI");
    assert_eq!(oi.kind, SpanKind::Llm);
    assert_eq!(oi.request_model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(oi.usage, TokenUsage::new(10, 5));
    assert_eq!(oi.session_id.as_deref(), Some("s-oi"));
    let rig = find(&spans, "chat claude-sonnet-4-5");
    assert_eq!(rig.kind, SpanKind::Llm);
    assert_eq!(rig.operation.as_deref(), Some("chat"));
    assert_eq!(rig.status.code, StatusCode::Ok);
    assert_eq!(rig.framework.as_deref(), Some("rig"));
    assert_eq!(
        rig.session_id.as_deref(),
        Some("s-oi"),
        "inherited from the enclosing span"
    );
    assert_eq!(
        rig.attributes.get("otel.kind").and_then(|v| v.as_str()),
        Some("client")
    );
    Ok(())
}

#[derive(Debug)]
struct ToolError;

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("search backend unavailable")
    }
}

#[tracing::instrument(err)]
fn failing_tool() -> Result<(), ToolError> {
    Err(ToolError)
}

#[test]
fn errors_mark_spans_failed() -> TestResult {
    let h = harness()?;
    h.run(|| {
        let _ = failing_tool();
        let tool = spans::tool("deploy");
        spans::set_error(&tool, "timeout", "deploy timed out after 30s");
        drop(tool);
        let _ok = tracing::info_span!("fine").entered();
    });
    let spans = h.spans()?;
    let failed = find(&spans, "failing_tool");
    assert_eq!(failed.status.code, StatusCode::Error);
    assert_eq!(
        failed.status.message.as_deref(),
        Some("search backend unavailable")
    );
    let deploy = find(&spans, "execute_tool deploy");
    assert_eq!(deploy.status.code, StatusCode::Error);
    assert_eq!(
        deploy.status.message.as_deref(),
        Some("deploy timed out after 30s")
    );
    assert_eq!(
        deploy.attributes.get("error.type").and_then(|v| v.as_str()),
        Some("timeout")
    );
    assert_eq!(find(&spans, "fine").status.code, StatusCode::Unset);
    Ok(())
}

#[test]
fn events_are_typed_stamped_and_inherit_context() -> TestResult {
    let h = harness()?;
    let (trace_id, span_id) = h.run(|| {
        let agent = spans::agent("coder");
        spans::set_session(&agent, "session-2");
        spans::set_correlation_id(&agent, "corr-2");
        let _a = agent.enter();
        events::agent_start("coder-1", "starting");
        events::task_complete("t-1", "tests pass");
        events::safety_violation("pii", Level::Critical, "email in prompt");
        events::custom("deploy.finished", "shipped");
        tracing::info!(answer = 42, "plain log line");
        tracing::debug!("below the event level");
        let cx = propagation::current().unwrap_or_else(|| panic!("the current span has a context"));
        (cx.trace_id, cx.span_id)
    });
    h.pipeline.flush()?;
    let events = h.memory.events();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::AgentStart,
            EventKind::TaskComplete,
            EventKind::SafetyViolation,
            EventKind::Custom("deploy.finished".into()),
            EventKind::Log
        ]
    );
    for e in &events {
        assert_eq!(e.trace_id, Some(trace_id));
        assert_eq!(e.span_id, Some(span_id));
        assert_eq!(e.session_id.as_deref(), Some("session-2"));
        assert_eq!(e.correlation_id.as_deref(), Some("corr-2"));
    }
    assert_eq!(events[0].agent_id.as_deref(), Some("coder-1"));
    assert_eq!(events[0].message, "starting");
    assert_eq!(events[1].level, Level::Success);
    assert_eq!(events[2].level, Level::Critical);
    assert_eq!(
        events[4].attributes.get("answer").and_then(|v| v.as_i64()),
        Some(42)
    );
    // The critical event was an ERROR-level tracing event inside the agent span.
    let spans = h.spans()?;
    assert_eq!(
        find(&spans, "invoke_agent coder").status.code,
        StatusCode::Error
    );
    Ok(())
}

/// `events::evaluation` records a `gen_ai.evaluation.result` of the current span whose
/// attributes read back as the evaluation, a failed one included.
#[test]
fn evaluations_are_results_of_the_current_span() -> TestResult {
    let h = harness()?;
    let judged = Evaluation::new("relevance")
        .value(0.5)
        .label("partial")
        .explanation("half of it")
        .response_id("chatcmpl-7")
        .annotator(AnnotatorKind::Llm);
    let failed = Evaluation::new("faithfulness").failed("judge_timeout");
    let span_id = h.run(|| {
        let call = spans::llm("openai", "gpt-4o");
        let _c = call.enter();
        events::evaluation(&judged);
        events::evaluation(&failed);
        propagation::current().map(|cx| cx.span_id)
    });
    h.pipeline.flush()?;
    let events = h.memory.events();
    assert_eq!(events.len(), 2);
    for (event, evaluation) in events.iter().zip([&judged, &failed]) {
        assert_eq!(event.kind, EventKind::Custom(Evaluation::EVENT.into()));
        assert_eq!(event.span_id, span_id);
        assert_eq!(&Evaluation::from_attributes(&event.attributes)?, evaluation);
    }
    assert_eq!(events[1].level, Level::Warning);
    Ok(())
}

#[test]
fn event_level_is_configurable() -> TestResult {
    let h = harness_with(|l| l.with_event_level(Level::Warning))?;
    h.run(|| {
        events::agent_start("a", "info: dropped");
        events::task_complete("t", "success: dropped");
        tracing::warn!("kept");
        events::task_fail("t", "kept too");
    });
    h.pipeline.flush()?;
    let messages: Vec<_> = h.memory.events().into_iter().map(|e| e.message).collect();
    assert_eq!(messages, vec!["kept", "kept too"]);
    Ok(())
}

#[test]
fn sampling_keeps_whole_traces_and_errors() -> TestResult {
    let h = harness_with(|l| l.with_sampler(Sampler::ratio(0.0)))?;
    h.run(|| {
        for _ in 0..20 {
            let _root = tracing::info_span!("root").entered();
            let _child = tracing::info_span!("child").entered();
        }
        let _ = failing_tool();
    });
    let spans = h.spans()?;
    assert_eq!(
        spans.len(),
        1,
        "only the error span of an unsampled trace is kept"
    );
    assert_eq!(spans[0].name, "failing_tool");

    let h = harness_with(|l| l.with_sampler(Sampler::ratio(0.5)))?;
    h.run(|| {
        for _ in 0..400 {
            let _root = tracing::info_span!("root").entered();
            let _child = tracing::info_span!("child").entered();
        }
    });
    let spans = h.spans()?;
    let roots = spans.iter().filter(|s| s.name == "root").count();
    let children = spans.iter().filter(|s| s.name == "child").count();
    assert_eq!(roots, children, "children follow their parent's decision");
    assert!(
        (120..280).contains(&roots),
        "about half of 400 traces kept, got {roots}"
    );
    Ok(())
}

#[test]
fn traceparent_extract_and_inject() -> TestResult {
    let h = harness_with(|l| l.with_sampler(Sampler::ratio(0.0)))?;
    let incoming =
        TraceContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
    let outgoing = h.run(|| {
        let span = tracing::info_span!("handle_request");
        assert!(propagation::set_parent(&span, incoming));
        let _e = span.enter();
        let _child = tracing::info_span!("child").entered();
        propagation::inject(&tracing::Span::current())
    });
    let spans = h.spans()?;
    assert_eq!(
        spans.len(),
        2,
        "the remote parent was sampled, so ratio 0 does not apply"
    );
    let handler = find(&spans, "handle_request");
    let child = find(&spans, "child");
    assert_eq!(handler.trace_id, incoming.trace_id);
    assert_eq!(handler.parent_span_id, Some(incoming.span_id));
    assert_eq!(child.trace_id, incoming.trace_id);
    assert_eq!(
        outgoing,
        Some(format!("00-{}-{}-01", incoming.trace_id, child.span_id))
    );
    // Outside any agentrace layer there is nothing to inject.
    assert_eq!(propagation::inject(&tracing::info_span!("untracked")), None);
    Ok(())
}

#[test]
fn record_usage_records_every_count_the_llm_span_declares() -> TestResult {
    let h = harness()?;
    let usage = TokenUsage {
        input_tokens: 12_000,
        output_tokens: 800,
        cache_read_tokens: 8_000,
        cache_write_tokens: 2_000,
        cache_write_1h_tokens: 1_500,
        reasoning_tokens: Some(300),
    };
    h.run(|| {
        let llm = spans::llm("anthropic", "claude-sonnet-4-5");
        spans::record_usage(&llm, &usage);
    });
    let spans = h.spans()?;
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].usage, usage);
    Ok(())
}

#[test]
fn the_helpers_record_on_spans_that_declared_nothing() -> TestResult {
    let h = harness()?;
    let usage = TokenUsage::new(1_200, 300);
    let recorded = h.run(|| {
        // A framework's own span: none of the fields below declared.
        let call = tracing::info_span!("completion", gen_ai.operation.name = "chat");
        spans::set_session(&call, "s-7");
        spans::set_user(&call, "u-3");
        spans::record_usage(&call, &usage);
        spans::record_response_model(&call, "gpt-4o-2024-08-06");
        spans::set_error(&call, "429", "rate limited");
        spans::set_attribute(&call, "gen_ai.response.time_to_first_chunk", 0.25)
            && spans::set_attribute(&call, "app.retries", 2_i64)
    });
    // Outside any agentrace layer an undeclared key is not recorded.
    let outside = spans::set_attribute(&tracing::info_span!("elsewhere"), "app.retries", 1_i64);
    let spans = h.spans()?;
    let call = find(&spans, "completion");
    assert!(recorded && !outside);
    assert_eq!(call.kind, SpanKind::Llm);
    assert_eq!(call.usage, usage);
    assert_eq!(call.session_id.as_deref(), Some("s-7"));
    assert_eq!(call.user_id.as_deref(), Some("u-3"));
    assert_eq!(call.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(call.status.code, StatusCode::Error);
    assert_eq!(
        call.attributes.get("error.type").and_then(|v| v.as_str()),
        Some("429")
    );
    assert_eq!(
        call.attributes
            .get("gen_ai.response.time_to_first_chunk")
            .and_then(|v| v.as_f64()),
        Some(0.25)
    );
    assert_eq!(
        call.attributes.get("app.retries").and_then(|v| v.as_i64()),
        Some(2)
    );
    Ok(())
}

#[test]
fn a_call_around_a_recorded_call_is_an_aggregate_and_not_billed() -> TestResult {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_processor(agentrace_core::cost::PriceProcessor::new(
            std::sync::Arc::new(agentrace_core::cost::PriceTable::builtin()),
        ))
        .with_sink(memory.clone())
        .build()?;
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(AgentraceLayer::new(pipeline.clone(), Resource::new("t"))),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        let agent = spans::agent("a").entered();
        // A framework's call span around the client's call span, both with the call's usage.
        let framework = spans::llm("openai", "gpt-4o").entered();
        let client = spans::llm("openai", "gpt-4o");
        spans::record_usage(&client, &TokenUsage::new(1_000, 100));
        drop(client);
        spans::record_usage(&framework, &TokenUsage::new(1_000, 100));
        drop(framework);
        // A sibling call of its own stays billed.
        let alone = spans::llm("openai", "gpt-4o");
        spans::record_usage(&alone, &TokenUsage::new(10, 1));
        drop(alone);
        drop(agent);
    });
    pipeline.shutdown()?;
    let calls: Vec<SpanRecord> = memory
        .spans()
        .into_iter()
        .filter(|s| s.kind == SpanKind::Llm)
        .collect();
    assert_eq!(calls.len(), 3);
    let billed: Vec<_> = calls.iter().filter(|s| s.cost.is_some()).collect();
    assert_eq!(billed.len(), 2, "{calls:#?}");
    let aggregate = calls
        .iter()
        .find(|s| s.cost.is_none())
        .ok_or("the framework's span")?;
    assert!(agentrace_core::normalize::is_aggregate(aggregate));
    assert!(
        calls
            .iter()
            .any(|s| s.parent_span_id == Some(aggregate.span_id) && s.cost.is_some()),
        "the inner call is billed"
    );
    Ok(())
}

#[test]
fn a_frameworks_tool_span_around_an_mcp_clients_call_of_it_is_a_step() -> TestResult {
    let h = harness()?;
    h.run(|| {
        let agent = spans::agent("a").entered();
        // The framework's tool span, then the MCP client's call of the same tool inside it.
        let framework = spans::tool("search").entered();
        let call = tracing::info_span!(
            "mcp.client",
            otel.name = "tools/call search",
            otel.kind = "client",
            mcp.method.name = "tools/call",
            gen_ai.tool.name = "search",
        );
        drop(call.entered());
        drop(framework);
        // A tool of the agent's own, and one around an MCP call of another tool, stay calls.
        drop(spans::tool("local").entered());
        let other = spans::tool("fetch").entered();
        drop(
            tracing::info_span!(
                "mcp.client",
                otel.name = "tools/call crawl",
                otel.kind = "client",
                mcp.method.name = "tools/call",
                gen_ai.tool.name = "crawl",
            )
            .entered(),
        );
        drop(other);
        drop(agent);
    });
    let spans = h.spans()?;
    let tools: Vec<(&str, SpanKind)> = spans
        .iter()
        .filter(|s| s.kind != SpanKind::Agent)
        .map(|s| (s.name.as_str(), s.kind))
        .collect();
    let kind_of = |name: &str| {
        tools
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kind_of("execute_tool search"),
        [SpanKind::Chain],
        "{tools:?}"
    );
    assert_eq!(kind_of("tools/call search"), [SpanKind::Tool]);
    assert_eq!(kind_of("execute_tool local"), [SpanKind::Tool]);
    assert_eq!(kind_of("execute_tool fetch"), [SpanKind::Tool]);
    assert_eq!(kind_of("tools/call crawl"), [SpanKind::Tool]);
    Ok(())
}
