//! Background repairs of traces that arrived in pieces: orphans, detached roots, LLM calls
//! billed twice.

use agentrace_store::Analytics;
use agentrace_store::TraceReader;
use std::time::Duration;

use agentrace_core::{AttributeValue, SpanId, SpanRecord, TraceId};
use agentrace_server::jobs::repair::{ORPHAN, REATTACHED};
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::common::*;

const SECOND: u64 = 1_000_000_000;

fn start(configure_grace_ms: u64) -> impl FnOnce(&mut agentrace_server::ServerConfig) {
    move |c| c.orphan_grace = Duration::from_millis(configure_grace_ms)
}

/// A span of trace 1 named `name`, from `start` to `end` seconds after `t0`.
fn span(id: u64, parent: Option<u64>, name: &str, t0: u64, start: u64, end: u64) -> Span {
    Span {
        trace_id: trace_id(1),
        span_id: span_id(id),
        parent_span_id: parent.map(span_id).unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: t0 + start * SECOND,
        end_time_unix_nano: t0 + end * SECOND,
        ..Span::default()
    }
}

fn id(n: u64) -> SpanId {
    let bytes: [u8; 8] = span_id(n).try_into().unwrap_or_default();
    SpanId::from_bytes(bytes)
}

fn stored_trace(t: &TestServer) -> Result<Vec<SpanRecord>> {
    let bytes: [u8; 16] = trace_id(1).try_into().unwrap_or_default();
    let tree = t.fresh_store()?.trace(TraceId::from_bytes(bytes))?;
    Ok(tree
        .map(|t| t.nodes.into_iter().map(|n| n.span).collect())
        .unwrap_or_default())
}

fn flag(span: Option<&SpanRecord>, key: &str) -> bool {
    span.and_then(|s| s.attributes.get(key)) == Some(&AttributeValue::Bool(true))
}

#[tokio::test]
async fn a_span_whose_parent_never_comes_is_marked_and_unmarked_when_it_does() -> Result {
    let t = TestServer::start(start(300)).await?;
    let t0 = now() - 60 * SECOND;
    t.export(&traces(vec![span(2, Some(1), "child", t0, 10, 20)]))
        .await?;
    let find = |spans: &[SpanRecord], n| spans.iter().find(|s| s.span_id == id(n)).cloned();
    let marked = eventually(Duration::from_secs(10), || {
        Ok(flag(find(&stored_trace(&t)?, 2).as_ref(), ORPHAN))
    })
    .await?;
    assert!(marked, "{:?}", stored_trace(&t)?);
    assert_eq!(t.server.stats().repairs.orphans_marked, 1);

    // The parent arrives after all: the mark goes, the tree links them.
    t.export(&traces(vec![span(1, None, "root", t0, 0, 30)]))
        .await?;
    let cleared = eventually(Duration::from_secs(10), || {
        let spans = stored_trace(&t)?;
        Ok(spans.len() == 2 && !flag(find(&spans, 2).as_ref(), ORPHAN))
    })
    .await?;
    assert!(cleared, "{:?}", stored_trace(&t)?);
    assert_eq!(t.server.stats().repairs.orphans_cleared, 1);
    Ok(())
}

/// Every project is repaired in its own store: a span of alpha whose parent never comes there
/// is marked an orphan, though a span of that id arrives in `default` (two projects, two
/// traces), and default's trace is left alone.
#[tokio::test]
async fn each_project_is_repaired_in_its_own_store() -> Result {
    let t = TestServer::start(start(300)).await?;
    create_project(&t.app_url(""), "alpha").await?;
    let t0 = now() - 60 * SECOND;
    let child = || traces(vec![span(2, Some(1), "child", t0, 10, 20)]);
    t.send_to("/v1/traces", "alpha", &child()).await?;
    t.send_to("/v1/traces", "default", &child()).await?;
    t.send_to(
        "/v1/traces",
        "default",
        &traces(vec![span(1, None, "root", t0, 0, 30)]),
    )
    .await?;
    let trace = |project: &str| -> Result<Vec<SpanRecord>> {
        let bytes: [u8; 16] = trace_id(1).try_into().unwrap_or_default();
        let tree = t
            .project_store(project)?
            .trace(TraceId::from_bytes(bytes))?;
        Ok(tree
            .map(|t| t.nodes.into_iter().map(|n| n.span).collect())
            .unwrap_or_default())
    };
    let child_of = |spans: &[SpanRecord]| spans.iter().find(|s| s.span_id == id(2)).cloned();
    let marked = eventually(Duration::from_secs(10), || {
        Ok(flag(child_of(&trace("alpha")?).as_ref(), ORPHAN))
    })
    .await?;
    assert!(marked, "{:?}", trace("alpha")?);
    let default = trace("default")?;
    assert_eq!(default.len(), 2);
    assert!(!flag(child_of(&default).as_ref(), ORPHAN), "{default:?}");
    assert_eq!(t.server.stats().repairs.orphans_marked, 1);
    Ok(())
}

#[tokio::test]
async fn a_detached_root_is_reattached_only_when_unambiguous() -> Result {
    let t = TestServer::start(start(300)).await?;
    let t0 = now() - 600 * SECOND;
    // A run: an agent [0, 100] → step [10, 90]; and a second run with parallel steps.
    let agent = Span {
        attributes: vec![
            text("gen_ai.operation.name", "invoke_agent"),
            text("gen_ai.agent.name", "planner"),
            text("session.id", "s-7"),
        ],
        ..span(1, None, "invoke_agent planner", t0, 0, 100)
    };
    t.export(&traces(vec![
        agent,
        span(2, Some(1), "step", t0, 10, 90),
        span(10, None, "later root", t0, 200, 300),
        span(11, Some(10), "branch a", t0, 210, 260),
        span(12, Some(10), "branch b", t0, 215, 270),
    ]))
    .await?;
    // Two spans that lost their context: one inside "step" only, one inside both branches.
    t.export(&traces(vec![
        span(3, None, "detached", t0, 20, 30),
        span(13, None, "detached in parallel", t0, 220, 230),
    ]))
    .await?;
    let reattached = eventually(Duration::from_secs(10), || {
        let spans = stored_trace(&t)?;
        Ok(spans
            .iter()
            .any(|s| s.span_id == id(3) && s.parent_span_id == Some(id(2))))
    })
    .await?;
    assert!(reattached, "{:?}", stored_trace(&t)?);
    let spans = stored_trace(&t)?;
    let detached = spans.iter().find(|s| s.span_id == id(3));
    assert!(flag(detached, REATTACHED));
    // Re-attached, it belongs to the agent now, as a span sent with its parent would.
    let detached = detached.ok_or("lost")?;
    assert_eq!(detached.agent_name.as_deref(), Some("planner"));
    assert_eq!(detached.session_id.as_deref(), Some("s-7"));
    // Contained by two parallel branches: agentrace does not guess.
    let ambiguous = spans.iter().find(|s| s.span_id == id(13)).ok_or("lost")?;
    assert_eq!(ambiguous.parent_span_id, None);
    assert!(!flag(Some(ambiguous), REATTACHED));
    let repairs = t.server.stats().repairs;
    assert_eq!(repairs.reattached, 1);
    Ok(())
}

#[tokio::test]
async fn an_llm_call_over_one_stored_earlier_is_billed_once() -> Result {
    let t = TestServer::start(start(2_000)).await?;
    let t0 = now() - 60 * SECOND;
    let llm = |id: u64, parent: Option<u64>| {
        let mut s = llm_span(1, id, t0);
        s.parent_span_id = parent.map(span_id).unwrap_or_default();
        s
    };
    // The instrumented client call ends first and is exported alone …
    t.export(&traces(vec![llm(2, Some(1))])).await?;
    // … then the framework's wrapper with the same usage.
    t.export(&traces(vec![llm(1, None)])).await?;
    let cost = |spans: &[SpanRecord], n| spans.iter().find(|s| s.span_id == id(n)).map(|s| s.cost);
    let billed_once = eventually(Duration::from_secs(10), || {
        let spans = stored_trace(&t)?;
        Ok(cost(&spans, 1) == Some(None) && cost(&spans, 2).is_some_and(|c| c.is_some()))
    })
    .await?;
    assert!(billed_once, "{:?}", stored_trace(&t)?);
    let spans = stored_trace(&t)?;
    let wrapper = spans.iter().find(|s| s.span_id == id(1));
    assert!(flag(wrapper, "agentrace.aggregate"));
    let bytes: [u8; 16] = trace_id(1).try_into().unwrap_or_default();
    let summary = t
        .fresh_store()?
        .trace(TraceId::from_bytes(bytes))?
        .ok_or("no trace")?
        .summary;
    assert_eq!(summary.cost, cost(&spans, 2).flatten().map(|c| c.total));
    assert_eq!(t.server.stats().repairs.aggregates_marked, 1);
    Ok(())
}

#[tokio::test]
async fn an_mcp_call_exported_by_two_processes_is_completed_by_its_server_side() -> Result {
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
    use opentelemetry_proto::tonic::trace::v1::{Status, status::StatusCode};
    let t = TestServer::start(start(2_000)).await?;
    let t0 = now() - 60 * SECOND;
    // The agent's process: the framework's tool span and under it the MCP Python SDK's
    // client span, OK (a tool's failure is a JSON-RPC success), naming no server.
    let mut framework = span(3, None, "execute_tool outage", t0, 0, 3);
    framework.attributes = vec![
        text("gen_ai.operation.name", "execute_tool"),
        text("gen_ai.tool.name", "outage"),
    ];
    let mut call = span(1, Some(3), "MCP send tools/call outage", t0, 0, 2);
    call.kind = SpanKind::Client as i32;
    call.attributes = vec![text("mcp.method.name", "tools/call")];
    t.export(&traces(vec![call, framework])).await?;
    // The server's process, another service: its span under the call, the tool failed.
    let mut served = span(2, Some(1), "tools/call outage", t0, 0, 1);
    served.kind = SpanKind::Server as i32;
    served.attributes = vec![
        text("mcp.method.name", "tools/call"),
        text("gen_ai.tool.name", "outage"),
        text("error.type", "tool_error"),
    ];
    served.status = Some(Status {
        code: StatusCode::Error as i32,
        message: "the weather service is down".into(),
    });
    let mut request = traces(vec![served]);
    for r in &mut request.resource_spans {
        if let Some(resource) = r.resource.as_mut() {
            resource.attributes = vec![text("service.name", "weather-mcp")];
        }
    }
    t.export(&request).await?;
    let server_of = |s: &SpanRecord| {
        s.attributes
            .get("agentrace.mcp.server")
            .and_then(AttributeValue::as_str)
            .map(str::to_owned)
    };
    let completed = eventually(Duration::from_secs(10), || {
        let spans = stored_trace(&t)?;
        Ok(spans
            .iter()
            .find(|s| s.span_id == id(1))
            .is_some_and(|c| server_of(c).as_deref() == Some("weather-mcp") && c.is_error()))
    })
    .await?;
    assert!(completed, "{:?}", stored_trace(&t)?);
    assert_eq!(t.server.stats().repairs.mcp_calls_completed, 1);
    let tools = t
        .fresh_store()?
        .tools(agentrace_store::TimeRange::ALL, 3, None)?;
    let counted: Vec<_> = tools
        .tools
        .iter()
        .map(|x| {
            (
                x.mcp_server.as_deref(),
                x.tool.as_deref(),
                x.calls,
                x.errors,
            )
        })
        .collect();
    assert_eq!(
        counted,
        [(Some("weather-mcp"), Some("outage"), 1, 1)],
        "one call, under its server, failed"
    );
    let wrapper = stored_trace(&t)?
        .into_iter()
        .find(|s| s.span_id == id(3))
        .ok_or("the framework's span")?;
    assert_eq!(wrapper.kind, agentrace_core::SpanKind::Chain);
    assert!(flag(Some(&wrapper), "agentrace.mcp.wrapper"));
    Ok(())
}
