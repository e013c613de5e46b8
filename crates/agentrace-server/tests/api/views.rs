//! What the dashboard's views ask beyond the lists: the trace list in other orders, subtree
//! totals, one span with its captured content, the agent graph, users, sessions as
//! conversations, tool trends, cost as CSV.

use std::collections::HashSet;
use std::sync::Arc;

use agentrace_core::semconv::agentrace;
use agentrace_core::{Cost, Resource, SpanId, SpanKind, SpanRecord, SpanStatus, TokenUsage, Usd};
use serde_json::{Value, json};

use crate::support::{Api, Error, SEC, T0, TestResult, all_pages, trace_id};

fn key(t: &Value, sort: &str) -> i64 {
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    match sort {
        "duration" => n(&t["duration_ns"]),
        "cost" => t["cost"].as_f64().map_or(-1, |c| (c * 1e9).round() as i64),
        "tokens" => n(&t["usage"]["input_tokens"]) + n(&t["usage"]["output_tokens"]),
        "spans" => n(&t["span_count"]),
        _ => n(&t["error_count"]),
    }
}

#[tokio::test]
async fn the_trace_list_pages_in_every_order_without_duplicates_or_gaps() -> TestResult {
    let api = Api::start().await?;
    for sort in ["duration", "cost", "tokens", "spans", "errors"] {
        for order in ["desc", "asc"] {
            let path = format!("/traces?sort={sort}&order={order}&limit=13");
            let all = all_pages(&api, &path, "TracePage", "traces").await?;
            let ids: Vec<&str> = all.iter().filter_map(|t| t["trace_id"].as_str()).collect();
            let unique: HashSet<String> = ids.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(ids.len(), unique.len(), "{sort} {order}: no duplicates");
            assert_eq!(unique, api.all_traces(), "{sort} {order}: no gaps");
            let keys: Vec<i64> = all.iter().map(|t| key(t, sort)).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            if order == "desc" {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "{sort} {order}");
        }
    }
    // A cursor of one order is refused by another.
    let page = api.ok("/traces?sort=cost&limit=5", "TracePage").await?;
    let cursor = page["next_cursor"].as_str().ok_or("a next page")?;
    api.fails(
        &format!("/traces?sort=duration&cursor={cursor}"),
        400,
        "bad_parameter",
        "cursor",
    )
    .await?;
    api.fails("/traces?sort=size", 400, "bad_parameter", "sort")
        .await?;
    api.fails("/traces?order=up", 400, "bad_parameter", "order")
        .await?;
    Ok(())
}

#[tokio::test]
async fn tree_nodes_carry_the_totals_of_their_subtree() -> TestResult {
    let api = Api::start().await?;
    let sample = &api.samples[1];
    let tree = api
        .ok(&format!("/traces/{}", sample[0].trace_id), "TraceTree")
        .await?;
    let nodes = tree["nodes"].as_array().ok_or("nodes")?;
    let root = &nodes[tree["roots"][0].as_u64().ok_or("a root")? as usize];
    let summary = &tree["summary"];
    assert_eq!(root["subtree"]["spans"], summary["span_count"]);
    assert_eq!(root["subtree"]["errors"], summary["error_count"]);
    assert_eq!(
        root["subtree"]["usage"]["input_tokens"],
        summary["usage"]["input_tokens"]
    );
    assert_eq!(root["subtree"]["cost"], summary["cost"]);
    assert_eq!(root["subtree"]["unpriced"], summary["unpriced_count"]);
    for n in nodes
        .iter()
        .filter(|n| n["children"].as_array().is_some_and(Vec::is_empty))
    {
        assert_eq!(n["subtree"]["spans"], 1, "a leaf is its own subtree");
        assert_eq!(n["reattached"], false);
    }
    Ok(())
}

fn span(
    trace: u64,
    id: u64,
    parent: Option<u64>,
    kind: SpanKind,
    name: &str,
    start: u64,
) -> SpanRecord {
    let sid = |n: u64| SpanId::from_bytes((0x6c00_0000_0000_0000 | n).to_be_bytes());
    let mut s = SpanRecord::new(
        trace_id(trace),
        sid(id),
        name,
        start,
        start + SEC,
        Arc::new(Resource::new("graph-app")),
    );
    s.parent_span_id = parent.map(sid);
    s.kind = kind;
    s.session_id = Some("conversation-7".into());
    s.user_id = Some("ada".into());
    s
}

/// A multi-agent trace: planner → researcher → planner again (a loop), each calling a model
/// and tools, one tool call failing; content captured on the first model call and the root.
fn multi_agent(trace: u64, start: u64) -> Vec<SpanRecord> {
    let agent = |id, parent, name: &str, at| {
        let mut s = span(
            trace,
            id,
            parent,
            SpanKind::Agent,
            &format!("invoke_agent {name}"),
            at,
        );
        s.agent_name = Some(name.into());
        s
    };
    let llm = |id, parent, at, cost: i64| {
        let mut s = span(trace, id, Some(parent), SpanKind::Llm, "chat gpt-4o", at);
        s.provider = Some("openai".into());
        s.request_model = Some("gpt-4o".into());
        s.usage = TokenUsage::new(1_000, 100);
        s.cost = Some(Cost::from_parts(
            Usd::from_nanos(cost),
            Usd::ZERO,
            Usd::ZERO,
            Usd::ZERO,
        ));
        s
    };
    let tool = |id, parent, name: &str, at| {
        let mut s = span(
            trace,
            id,
            Some(parent),
            SpanKind::Tool,
            &format!("execute_tool {name}"),
            at,
        );
        s.tool_name = Some(name.into());
        s
    };
    let mut first_call = llm(2, 1, start + 10, 1_000);
    first_call.attributes.insert(
        "gen_ai.input.messages",
        r#"[{"role": "user", "parts": [{"type": "text", "content": "Find <b>sources</b> on RAG"}]}]"#,
    );
    first_call.attributes.insert(
        "gen_ai.output.messages",
        r#"[{"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "search", "arguments": "{\"q\": \"RAG\"}"}], "finish_reason": "tool_calls"}]"#,
    );
    let mut failed = tool(6, 4, "fetch", start + 50);
    failed.status = SpanStatus::error("HTTP 503");
    let mut last_call = llm(9, 1, start + 90, 4_000);
    last_call.attributes.insert(
        "gen_ai.output.messages",
        r#"[{"role": "assistant", "parts": [{"type": "text", "content": "Three sources found."}]}]"#,
    );
    vec![
        agent(1, None, "planner", start),
        first_call,
        tool(3, 1, "search", start + 20),
        agent(4, Some(1), "researcher", start + 30),
        llm(5, 4, start + 40, 2_000),
        failed,
        agent(7, Some(4), "planner", start + 60),
        llm(8, 7, start + 70, 3_000),
        last_call,
    ]
}

async fn with_multi_agent() -> Result<(Api, String), Error> {
    let api = Api::start().await?;
    api.state
        .configured_store
        .write_spans(&multi_agent(5_000, T0 + 3 * SEC))?;
    Ok((api, trace_id(5_000).to_string()))
}

fn find<'a>(list: &'a Value, field: &str, value: &str) -> Result<&'a Value, Error> {
    list.as_array()
        .into_iter()
        .flatten()
        .find(|v| v[field] == value)
        .ok_or_else(|| format!("no {field} = {value} in {list}").into())
}

#[tokio::test]
async fn the_aggregated_graph_shows_agents_their_calls_and_delegation_loops() -> TestResult {
    let (api, trace) = with_multi_agent().await?;
    let g = api.ok(&format!("/traces/{trace}/graph"), "Graph").await?;
    assert_eq!(g["agents"], 3);
    let ids: HashSet<&str> = g["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        HashSet::from([
            "agent:planner",
            "agent:researcher",
            "model:openai/gpt-4o",
            "tool:search",
            "tool:fetch"
        ])
    );
    let planner = find(&g["nodes"], "id", "agent:planner")?;
    assert_eq!(planner["calls"], 2, "two invocations, one node");
    let edge = |from: &str, to: &str| -> Result<Value, Error> {
        g["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["from"] == from && e["to"] == to)
            .cloned()
            .ok_or_else(|| format!("no edge {from} -> {to}").into())
    };
    assert_eq!(
        edge("agent:planner", "agent:researcher")?["kind"],
        "delegates"
    );
    assert_eq!(
        edge("agent:researcher", "agent:planner")?["kind"],
        "delegates",
        "the loop is a cycle"
    );
    let to_model = edge("agent:planner", "model:openai/gpt-4o")?;
    assert_eq!(to_model["calls"], 3, "the calls of both planner runs");
    assert_eq!(to_model["totals"]["cost"].as_f64(), Some(8e-6));
    assert_eq!(to_model["totals"]["usage"]["input_tokens"], 3_000);
    let fetch = edge("agent:researcher", "tool:fetch")?;
    assert_eq!(
        (fetch["calls"].as_u64(), fetch["errors"].as_u64()),
        (Some(1), Some(1))
    );
    // A delegation carries what the delegated run cost, its own calls included.
    let delegation = edge("agent:planner", "agent:researcher")?;
    assert_eq!(delegation["totals"]["cost"].as_f64(), Some(5e-6));
    assert_eq!(delegation["totals"]["spans"], 5);
    Ok(())
}

#[tokio::test]
async fn the_expanded_graph_has_a_node_per_call_numbered_in_order() -> TestResult {
    let (api, trace) = with_multi_agent().await?;
    let g = api
        .ok(&format!("/traces/{trace}/graph?mode=expanded"), "Graph")
        .await?;
    assert_eq!(g["mode"], "expanded");
    assert_eq!(
        g["nodes"].as_array().map(Vec::len),
        Some(9),
        "one node per span"
    );
    let root = multi_agent(5_000, 0)[0].span_id.to_string();
    let mut orders: Vec<u64> = g["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["from"] == root.as_str())
        .filter_map(|e| e["order"].as_u64())
        .collect();
    orders.sort_unstable();
    assert_eq!(orders, [1, 2, 3, 4], "the root agent's calls, in order");
    // A trace without agents hangs its calls off the root.
    let plain = api.runs[0].trace_id.to_string();
    let g = api.ok(&format!("/traces/{plain}/graph"), "Graph").await?;
    assert!(g["agents"].as_u64().is_some_and(|a| a > 0));
    api.fails(
        &format!("/traces/{trace}/graph?mode=flat"),
        400,
        "bad_parameter",
        "mode",
    )
    .await?;
    Ok(())
}

/// An agent calling `search` on MCP servers `docs` and `web` and a `search` of its own, and
/// reading a resource of `docs`; the `docs` server's side of its call is under the call.
fn mcp_calls(trace: u64, start: u64) -> Vec<SpanRecord> {
    let mcp = |mut s: SpanRecord, side: &str, server: &str| {
        s.attributes.insert(agentrace::MCP_SIDE, side.to_owned());
        s.attributes
            .insert(agentrace::MCP_SERVER, server.to_owned());
        s
    };
    let tool = |id, at| {
        let mut s = span(trace, id, Some(1), SpanKind::Tool, "tools/call search", at);
        s.tool_name = Some("search".into());
        s
    };
    let mut agent = span(
        trace,
        1,
        None,
        SpanKind::Agent,
        "invoke_agent helper",
        start,
    );
    agent.agent_name = Some("helper".into());
    let mut failed = mcp(tool(3, start + 30), "client", "web");
    failed.status = SpanStatus::error("no results");
    vec![
        agent,
        mcp(tool(2, start + 10), "client", "docs"),
        mcp(
            span(
                trace,
                20,
                Some(2),
                SpanKind::Mcp,
                "tools/call search",
                start + 11,
            ),
            "server",
            "docs",
        ),
        failed,
        tool(4, start + 50),
        mcp(
            span(
                trace,
                5,
                Some(1),
                SpanKind::Mcp,
                "resources/read file:///a",
                start + 70,
            ),
            "client",
            "docs",
        ),
    ]
}

#[tokio::test]
async fn the_graph_reaches_mcp_tools_through_their_server() -> TestResult {
    let api = Api::start().await?;
    api.state
        .configured_store
        .write_spans(&mcp_calls(6_000, T0 + 3 * SEC))?;
    let trace = trace_id(6_000).to_string();
    let g = api.ok(&format!("/traces/{trace}/graph"), "Graph").await?;
    let ids: HashSet<&str> = g["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        HashSet::from([
            "agent:helper",
            "mcp:docs",
            "mcp:web",
            "tool:docs/search",
            "tool:web/search",
            "tool:search"
        ]),
        "two servers' search are two tools, the agent's own a third"
    );
    let edge = |from: &str, to: &str| -> Result<(Value, Value, Value), Error> {
        g["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["from"] == from && e["to"] == to)
            .map(|e| (e["kind"].clone(), e["calls"].clone(), e["errors"].clone()))
            .ok_or_else(|| format!("no edge {from} -> {to} in {}", g["edges"]).into())
    };
    assert_eq!(
        edge("agent:helper", "mcp:docs")?,
        (json!("calls_mcp"), json!(2), json!(0)),
        "a tool call and a resource read; the server's side is no call of its own"
    );
    assert_eq!(
        edge("mcp:docs", "tool:docs/search")?,
        (json!("calls_tool"), json!(1), json!(0))
    );
    assert_eq!(
        edge("mcp:web", "tool:web/search")?,
        (json!("calls_tool"), json!(1), json!(1))
    );
    assert_eq!(
        edge("agent:helper", "tool:search")?,
        (json!("calls_tool"), json!(1), json!(0))
    );
    assert_eq!(find(&g["nodes"], "id", "mcp:docs")?["label"], "docs");
    let expanded = api
        .ok(&format!("/traces/{trace}/graph?mode=expanded"), "Graph")
        .await?;
    let servers = expanded["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == "mcp")
        .count();
    assert_eq!(servers, 2, "a server is one node call by call too");
    Ok(())
}

#[tokio::test]
async fn a_span_comes_with_its_captured_content_as_messages() -> TestResult {
    let (api, trace) = with_multi_agent().await?;
    let spans = multi_agent(5_000, 0);
    let view = api
        .ok(
            &format!("/traces/{trace}/spans/{}", spans[1].span_id),
            "SpanView",
        )
        .await?;
    assert_eq!(view["span"]["span_id"], spans[1].span_id.to_string());
    let content = &view["content"];
    assert_eq!(content["input"][0]["role"], "user");
    assert_eq!(
        content["input"][0]["parts"][0],
        serde_json::json!({"type": "text", "text": "Find <b>sources</b> on RAG"}),
        "verbatim: markup is the reader's to escape"
    );
    assert_eq!(content["output"][0]["parts"][0]["type"], "tool_call");
    assert_eq!(content["output"][0]["parts"][0]["name"], "search");
    assert_eq!(content["output"][0]["finish_reason"], "tool_calls");
    let plain = api
        .ok(
            &format!("/traces/{trace}/spans/{}", spans[2].span_id),
            "SpanView",
        )
        .await?;
    assert_eq!(plain["content"], serde_json::json!({}), "nothing captured");

    api.fails(
        &format!("/traces/{trace}/spans/00000000000000ff"),
        404,
        "not_found",
        "00000000000000ff",
    )
    .await?;
    api.fails(
        &format!("/traces/{trace}/spans/xyz"),
        400,
        "bad_parameter",
        "span_id",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_session_reads_as_a_conversation_in_order() -> TestResult {
    let (api, _) = with_multi_agent().await?;
    // A second turn, later.
    api.state
        .configured_store
        .write_spans(&multi_agent(5_001, T0 + 90 * SEC))?;
    let page = api
        .ok(
            "/sessions/conversation-7?order=asc&messages=true",
            "SessionPage",
        )
        .await?;
    let traces = page["traces"].as_array().ok_or("traces")?;
    assert_eq!(traces.len(), 2);
    assert_eq!(
        traces[0]["trace_id"],
        trace_id(5_000).to_string(),
        "oldest first"
    );
    assert_eq!(traces[0]["turn"]["input"], "Find <b>sources</b> on RAG");
    assert_eq!(
        traces[0]["turn"]["output"], "Three sources found.",
        "the last call's answer"
    );
    let newest = api.ok("/sessions/conversation-7", "SessionPage").await?;
    assert_eq!(newest["traces"][0]["trace_id"], trace_id(5_001).to_string());
    assert!(
        newest["traces"][0].get("turn").is_none(),
        "turns only when asked"
    );
    api.fails(
        "/sessions/conversation-7?messages=yes",
        400,
        "bad_parameter",
        "messages",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn users_and_sessions_rank_by_activity_or_cost() -> TestResult {
    let api = Api::start().await?;
    let users = api.ok("/users?sort=cost", "Users").await?;
    let list = users["users"].as_array().ok_or("users")?;
    let names: HashSet<&str> = list.iter().filter_map(|u| u["user_id"].as_str()).collect();
    assert!(
        ["u-0", "u-1", "u-2"].iter().all(|u| names.contains(u)),
        "{names:?}"
    );
    let costs: Vec<f64> = list
        .iter()
        .map(|u| u["cost"].as_f64().unwrap_or(-1.0))
        .collect();
    assert!(
        costs.windows(2).all(|w| w[0] >= w[1]),
        "costliest first: {costs:?}"
    );
    for u in list
        .iter()
        .filter(|u| u["user_id"].as_str().is_some_and(|n| n.starts_with("u-")))
    {
        let name = u["user_id"].as_str().ok_or("a user")?;
        let runs: Vec<_> = api.runs.iter().filter(|r| r.user == name).collect();
        assert_eq!(u["traces"].as_u64(), Some(runs.len() as u64), "{name}");
        let sessions: HashSet<&str> = runs.iter().map(|r| r.session.as_str()).collect();
        assert_eq!(
            u["sessions"].as_u64(),
            Some(sessions.len() as u64),
            "{name}"
        );
    }
    let sessions = api.ok("/sessions?sort=cost&limit=3", "Sessions").await?;
    let costs: Vec<f64> = sessions["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["cost"].as_f64().unwrap_or(-1.0))
        .collect();
    assert_eq!(costs.len(), 3);
    assert!(costs.windows(2).all(|w| w[0] >= w[1]), "{costs:?}");
    let recent = api.ok("/users?limit=1", "Users").await?;
    assert_eq!(recent["users"].as_array().map(Vec::len), Some(1));
    api.fails("/users?sort=name", 400, "bad_parameter", "sort")
        .await?;
    Ok(())
}

#[tokio::test]
async fn each_tool_has_its_trend_when_a_bucket_is_asked() -> TestResult {
    let api = Api::start().await?;
    let answer = api.ok("/tools?bucket=1m", "ToolsAnswer").await?;
    for tool in answer["tools"].as_array().into_iter().flatten() {
        let trend = tool["trend"].as_array().ok_or("a trend")?;
        let calls: u64 = trend.iter().filter_map(|p| p["calls"].as_u64()).sum();
        let errors: u64 = trend.iter().filter_map(|p| p["errors"].as_u64()).sum();
        assert_eq!(Some(calls), tool["calls"].as_u64(), "{tool}");
        assert_eq!(Some(errors), tool["errors"].as_u64(), "{tool}");
        let starts: Vec<u64> = trend
            .iter()
            .filter_map(|p| p["start_unix_nano"].as_u64())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] < w[1]), "oldest first");
        assert!(
            starts.iter().all(|s| s % 60_000_000_000 == 0),
            "whole minutes"
        );
    }
    let without = api.ok("/tools", "ToolsAnswer").await?;
    assert!(without["tools"][0].get("trend").is_none());
    api.fails("/tools?bucket=90s", 400, "bad_parameter", "bucket")
        .await?;
    Ok(())
}

#[tokio::test]
async fn cost_downloads_as_csv_with_the_json_numbers() -> TestResult {
    let api = Api::start().await?;
    let json = api.ok("/cost?group_by=model,user", "CostAnswer").await?;
    let response =
        reqwest::get(format!("{}/cost?group_by=model,user&format=csv", api.base)).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    assert!(
        response
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|d| d.contains("attachment"))
    );
    let text = response.text().await?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    assert_eq!(&header[..4], ["model", "user", "calls", "errors"]);
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let rows = json["rows"].as_array().ok_or("rows")?;
    assert_eq!(records.len(), rows.len() + 1, "every group and the total");
    let cost_at = header
        .iter()
        .position(|h| h == "cost_usd")
        .ok_or("cost column")?;
    for (record, row) in records.iter().zip(rows) {
        assert_eq!(
            record.get(0),
            Some(row["keys"]["model"].as_str().unwrap_or_default())
        );
        assert_eq!(
            record.get(2).and_then(|c| c.parse::<u64>().ok()),
            row["calls"].as_u64()
        );
        let csv_cost: Option<f64> = record.get(cost_at).and_then(|c| c.parse().ok());
        assert_eq!(csv_cost, row["cost"].as_f64(), "{record:?}");
    }
    let total = records.last().ok_or("a total row")?;
    assert_eq!(total.get(0), Some("(total)"));
    assert_eq!(
        total.get(2).and_then(|c| c.parse::<u64>().ok()),
        json["total"]["calls"].as_u64()
    );
    api.fails("/cost?format=xml", 400, "bad_parameter", "format")
        .await?;
    Ok(())
}
