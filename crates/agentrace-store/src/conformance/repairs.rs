//! Rewriting stored spans, and what is rebuilt from them: new costs, a detached root
//! re-attached, an aggregate marked late, budget spend replayed after a restart.

use std::collections::BTreeSet;

use crate::{
    AggregateQuery, CostUpdate, GroupBy, GroupKey, SessionSort, SpanFilter, Store, TimeRange,
    TraceFilter, restore_budgets,
};
use agentrace_core::budget::{Budget, Budgets, Period, Scope};
use agentrace_core::normalize::{is_aggregate, mark_aggregate};
use agentrace_core::semconv::agentrace::REATTACHED;
use agentrace_core::{Attribution, SpanRecord, TokenUsage, Usd};

use super::analytics::{RowExt, expect_rows, row, rows_by_model};
use super::fixtures::{
    HOUR, MS, SEC, T0, attributed, cost, five, five_traces, span, span_id, trace_id,
};
use super::{CheckResult, all_spans, ensure, expect_eq, key, keyed_counts};

/// New costs: L1 2000 → 5000 n$, L3 unpriced → 700 n$, M4 300 n$ → unpriced, and a span not
/// stored: 3 changed; the spans, the trace summaries, the aggregate and rollup by model and
/// the session follow; the same updates again change nothing.
pub fn update_costs(store: &dyn Store) -> CheckResult {
    use five::*;
    store.write_spans(&five_traces())?;
    let update = |trace, span, nanos: Option<i64>| CostUpdate {
        trace_id: trace_id(trace),
        span_id: span_id(span),
        cost: nanos.map(cost),
    };
    let updates = [
        update(1, L1, Some(5000)),
        update(3, L3, Some(700)),
        update(4, M4, None),
        update(1, 999, Some(1)),
    ];
    expect_eq("costs changed", &3, &store.update_costs(&updates)?)?;
    for (trace, id, want) in [
        (1, L1, Some(cost(5000))),
        (3, L3, Some(cost(700))),
        (4, M4, None),
    ] {
        let got = store
            .span(trace_id(trace), span_id(id))?
            .ok_or("a repriced span is missing")?;
        expect_eq(format!("the cost of span {id}"), &want, &got.cost)?;
    }
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    let costs: Vec<_> = page
        .traces
        .iter()
        .map(|t| (t.trace_id, t.cost, t.unpriced_count))
        .collect();
    let n = |v: i64| Some(Usd::from_nanos(v));
    // Traces 5 … 1: 20010; 600 (L4), M4 unpriced; 700; 13000; 5000.
    let want = vec![
        (trace_id(5), n(20_010), 0),
        (trace_id(4), n(600), 1),
        (trace_id(3), n(700), 0),
        (trace_id(2), n(13_000), 0),
        (trace_id(1), n(5000), 0),
    ];
    expect_eq("the traces' (cost, unpriced)", &want, &costs)?;
    let mut expected = rows_by_model();
    for r in &mut expected {
        match r.keys.first().and_then(GroupKey::as_str) {
            Some("gpt-4o") => r.cost = n(25_000),
            Some("local-llama") => {
                *r = row(r.keys.clone())
                    .spans(1, 0)
                    .secs(20, 20, 20)
                    .tokens(50, 10)
                    .cost(700, 1);
            }
            Some("gpt-4o-mini") => {
                *r = row(r.keys.clone())
                    .spans(2, 0)
                    .secs(2, 4, 4)
                    .tokens(1500, 300)
                    .cost(600, 1)
                    .unpriced(1, 500, 100);
            }
            _ => {}
        }
    }
    let by_model = AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]);
    expect_rows("by model", &expected, &store.aggregate_exact(&by_model)?)?;
    let mut rolled = store.aggregate(&by_model)?.rows;
    for (r, e) in rolled.iter_mut().zip(&expected) {
        r.duration = e.duration;
    }
    expect_rows("rollup by model (durations aside)", &expected, &rolled)?;
    let s1 = store.session("s-1")?.ok_or("session s-1 is missing")?;
    expect_eq(
        "session s-1's (cost, unpriced)",
        &(n(5700), 0),
        &(s1.cost, s1.unpriced),
    )?;
    let users = store.users(TimeRange::ALL, SessionSort::Cost, 10)?;
    let u1 = users
        .iter()
        .find(|u| u.user_id == "u-1")
        .ok_or("user u-1 is missing")?;
    // 5000 + 700 + 600.
    expect_eq("user u-1's cost", &n(6300), &u1.cost)?;
    expect_eq("costs changed again", &0, &store.update_costs(&updates)?)?;
    Ok(())
}

/// Trace 11: an agent span P (planner, sess-r, user-r) and a detached root Q (an LLM call
/// whose emitter lost its parent) with its tool call Q2; the repair re-attaches Q under P
/// (marked re-attached): one span changed; Q and Q2 then take P's attribution in the tree,
/// the records, the aggregate and the rollup; what the repair reports attributed, if
/// anything, is exactly Q and Q2.
pub fn repair_reattaches_a_detached_root(store: &dyn Store) -> CheckResult {
    let p = span(11, 1101, "plan", T0, T0 + 10 * SEC)
        .agent("planner")
        .session("sess-r")
        .user("user-r")
        .build();
    let q = span(11, 1102, "chat gpt-4o", T0 + 2 * SEC, T0 + 3 * SEC)
        .llm("openai", "gpt-4o")
        .tokens(10, 5)
        .cost(100)
        .build();
    let q2 = span(
        11,
        1103,
        "execute_tool fetch",
        T0 + 2200 * MS,
        T0 + 2500 * MS,
    )
    .parent(1102)
    .tool("fetch")
    .build();
    store.write_spans(&[p.clone(), q.clone(), q2.clone()])?;
    let before = store.trace(trace_id(11))?.ok_or("trace 11 is missing")?;
    expect_eq("roots before the repair", &2, &before.roots.len())?;
    let by_agent = AggregateQuery::new(SpanFilter::new(), [GroupBy::Agent]);
    let want = vec![(vec![key("planner")], 1), (vec![GroupKey::None], 2)];
    expect_eq(
        "spans by agent before the repair",
        &want,
        &keyed_counts(&store.aggregate_exact(&by_agent)?),
    )?;

    let mut reattached = q.clone();
    reattached.parent_span_id = Some(p.span_id);
    reattached.attributes.insert(REATTACHED, true);
    let repaired = store.repair_spans(std::slice::from_ref(&reattached))?;
    expect_eq("spans changed by the repair", &1, &repaired.changed)?;

    let expected = vec![p.clone(), attributed(reattached, &p), attributed(q2, &p)];
    let tree = store
        .trace(trace_id(11))?
        .ok_or("trace 11 is missing after the repair")?;
    let nodes: Vec<SpanRecord> = tree.nodes.iter().map(|n| n.span.clone()).collect();
    expect_eq("the tree's spans after the repair", &expected, &nodes)?;
    let shape: Vec<_> = tree
        .nodes
        .iter()
        .map(|n| (n.depth, n.parent, n.orphan, n.reattached))
        .collect();
    let want = vec![
        (0, None, false, false),
        (1, Some(0), false, true),
        (2, Some(1), false, false),
    ];
    expect_eq(
        "the tree's (depth, parent, orphan, re-attached)",
        &want,
        &shape,
    )?;
    expect_eq("roots after the repair", &vec![0], &tree.roots)?;
    expect_eq("the trace's span count", &3, &tree.summary.span_count)?;
    expect_eq(
        "the trace's head span",
        &p.span_id,
        &tree.summary.root_span_id,
    )?;
    expect_eq(
        "the spans of the trace",
        &expected,
        &all_spans(store, SpanFilter::new().trace_id(trace_id(11)))?,
    )?;
    let want = vec![(vec![key("planner")], 3)];
    expect_eq(
        "spans by agent after the repair",
        &want,
        &keyed_counts(&store.aggregate_exact(&by_agent)?),
    )?;
    expect_eq(
        "rollup by agent after the repair",
        &want,
        &keyed_counts(&store.aggregate(&by_agent)?.rows),
    )?;
    if !repaired.attributed.is_empty() {
        let got: BTreeSet<_> = repaired.attributed.iter().map(|r| r.span_id).collect();
        expect_eq(
            "spans reported attributed",
            &BTreeSet::from([q.span_id, span_id(1103)]),
            &got,
        )?;
        for r in &repaired.attributed {
            expect_eq(
                format!("the attribution reported of span {}", r.span_id),
                &Attribution::of(&p),
                &r.after,
            )?;
        }
    }
    let absent = span(11, 1199, "never written", T0, T0 + SEC)
        .parent(1101)
        .build();
    expect_eq(
        "spans changed by repairing a span not stored",
        &0,
        &store.repair_spans(&[absent])?.changed,
    )?;
    expect_eq(
        "spans awaiting their parent",
        &0,
        &store.spans_awaiting_parent(),
    )?;
    Ok(())
}

/// A repair rewrites a span's kind, status and attributes with its counts: the client side of
/// an MCP call completed from its server side (`agentrace_ingest::mcp_calls`) names its server
/// and fails with the tool, the framework's tool span around it becomes a step; the tool's
/// calls (one), the rollups and the trace follow.
pub fn repair_completes_an_mcp_call(store: &dyn Store) -> CheckResult {
    use agentrace_core::semconv::{agentrace, gen_ai};
    use agentrace_core::{SpanKind, SpanStatus};
    let framework = span(13, 1300, "execute_tool outage", T0, T0 + 3 * SEC)
        .tool("outage")
        .build();
    let call = span(13, 1301, "MCP send tools/call outage", T0, T0 + 2 * SEC)
        .parent(1300)
        .tool("outage")
        .attribute(agentrace::MCP_SIDE, "client")
        .build();
    let served = span(13, 1302, "tools/call outage", T0 + MS, T0 + SEC)
        .parent(1301)
        .kind(agentrace_core::SpanKind::Mcp)
        .service("weather-mcp")
        .attribute(agentrace::MCP_SIDE, "server")
        .attribute(agentrace::MCP_SERVER, "weather-mcp")
        .error("the weather service is down", Some("tool_error"))
        .build();
    store.write_spans(&[framework.clone(), call.clone(), served])?;
    let mut step = framework;
    step.kind = SpanKind::Chain;
    step.attributes.insert(agentrace::MCP_WRAPPER, true);
    let mut completed = call;
    completed
        .attributes
        .insert(agentrace::MCP_SERVER, "weather-mcp");
    completed
        .attributes
        .insert(gen_ai::ERROR_TYPE, "tool_error");
    completed.status = SpanStatus::error("the weather service is down");
    expect_eq(
        "spans changed by the repair",
        &2,
        &store.repair_spans(&[step, completed])?.changed,
    )?;
    let tools = store.tools(TimeRange::ALL, 5, None)?;
    let got: Vec<_> = tools
        .tools
        .iter()
        .map(|t| (t.mcp_server.clone(), t.tool.clone(), t.calls, t.errors))
        .collect();
    expect_eq(
        "the tool (server, name, calls, errors)",
        &vec![(
            Some("weather-mcp".to_owned()),
            Some("outage".to_owned()),
            1,
            1,
        )],
        &got,
    )?;
    expect_eq(
        "its failure's type",
        &Some("tool_error".to_owned()),
        &tools.tools[0]
            .error_types
            .first()
            .and_then(|e| e.error_type.clone()),
    )?;
    let by_server = AggregateQuery::new(SpanFilter::new(), [GroupBy::McpServer, GroupBy::Kind]);
    let rolled = store.aggregate(&by_server)?.rows;
    expect_eq(
        "the rollups by server and kind (keys, calls, errors)",
        &store
            .aggregate_exact(&by_server)?
            .iter()
            .map(|r| (r.keys.clone(), r.count, r.errors))
            .collect::<Vec<_>>(),
        &rolled
            .iter()
            .map(|r| (r.keys.clone(), r.count, r.errors))
            .collect::<Vec<_>>(),
    )?;
    let tree = store.trace(trace_id(13))?.ok_or("trace 13 is missing")?;
    expect_eq("the trace's errors", &2, &tree.summary.error_count)?;
    expect_eq(
        "the framework's span, a step",
        &Some(SpanKind::Chain),
        &tree
            .nodes
            .iter()
            .find(|n| n.span.span_id == span_id(1300))
            .map(|n| n.span.kind),
    )?;
    let stored = tree
        .nodes
        .iter()
        .find(|n| n.span.span_id == span_id(1301))
        .ok_or("the call is missing")?;
    expect_eq(
        "the call's status message",
        &Some("the weather service is down"),
        &stored.span.status.message.as_deref(),
    )
}

/// A repair reaches the tools' failures: of three failed calls of `fetch` (`IOError` twice,
/// `TimeoutError` once), one repaired to success and one repaired to another failure; the
/// tool's error types and patterns are the repaired ones, not the stored ones.
pub fn repair_reaches_the_tools_failures(store: &dyn Store) -> CheckResult {
    use agentrace_core::semconv::gen_ai::ERROR_TYPE;
    use agentrace_core::{SpanStatus, StatusCode};
    let call = |id, at, message: &str, error_type| {
        span(14, id, "execute_tool fetch", T0 + at, T0 + at + SEC)
            .tool("fetch")
            .error(message, Some(error_type))
            .build()
    };
    let first = call(1400, 0, "connection reset by peer 104", "IOError");
    let second = call(1401, 2 * SEC, "connection reset by peer 104", "IOError");
    let third = call(1402, 4 * SEC, "timeout after 30s", "TimeoutError");
    store.write_spans(&[first.clone(), second.clone(), third])?;
    let failures = |store: &dyn Store| -> Result<_, Box<dyn std::error::Error>> {
        let answer = store.tools(TimeRange::ALL, 5, None)?;
        Ok(answer
            .tools
            .iter()
            .map(|t| {
                let types: Vec<_> = t
                    .error_types
                    .iter()
                    .map(|e| (e.error_type.clone(), e.count))
                    .collect();
                let patterns: Vec<_> = t
                    .top_errors
                    .iter()
                    .map(|e| (e.pattern.clone(), e.count))
                    .collect();
                (t.tool.clone(), t.calls, t.errors, types, patterns)
            })
            .collect::<Vec<_>>())
    };
    let named = |s: &str| Some(s.to_owned());
    expect_eq(
        "stored: the tool (name, calls, errors, error types, patterns)",
        &vec![(
            named("fetch"),
            3,
            3,
            vec![(named("IOError"), 2), (named("TimeoutError"), 1)],
            vec![
                (named("connection reset by peer <n>"), 2),
                (named("timeout after <n>s"), 1),
            ],
        )],
        &failures(store)?,
    )?;
    let mut succeeded = first;
    succeeded.status = SpanStatus {
        code: StatusCode::Ok,
        message: None,
    };
    succeeded.attributes.remove(ERROR_TYPE);
    let mut refused = second;
    refused.status = SpanStatus::error("403 forbidden");
    refused.attributes.insert(ERROR_TYPE, "PermissionError");
    expect_eq(
        "spans changed by the repair",
        &2,
        &store.repair_spans(&[succeeded, refused])?.changed,
    )?;
    expect_eq(
        "repaired: the tool (name, calls, errors, error types, patterns)",
        &vec![(
            named("fetch"),
            3,
            2,
            vec![(named("PermissionError"), 1), (named("TimeoutError"), 1)],
            vec![
                (named("<n> forbidden"), 1),
                (named("timeout after <n>s"), 1),
            ],
        )],
        &failures(store)?,
    )
}

/// Trace 12: a model call W (300/60 tokens, 5000 n$) wrapping its step S (the same): counted
/// twice until the repair marks W as an aggregate; then every total is S's alone.
pub fn repair_marks_an_aggregate(store: &dyn Store) -> CheckResult {
    let w = span(12, 1201, "ai.generateText", T0, T0 + 4 * SEC)
        .llm("openai", "gpt-4o")
        .tokens(300, 60)
        .cost(5000)
        .build();
    let s = span(
        12,
        1202,
        "ai.generateText.doGenerate",
        T0 + SEC,
        T0 + 4 * SEC,
    )
    .parent(1201)
    .llm("openai", "gpt-4o")
    .tokens(300, 60)
    .cost(5000)
    .build();
    store.write_spans(&[w.clone(), s])?;
    let before = store.trace(trace_id(12))?.ok_or("trace 12 is missing")?;
    expect_eq(
        "the trace's cost before the repair",
        &Some(Usd::from_nanos(10_000)),
        &before.summary.cost,
    )?;
    let mut marked = w;
    mark_aggregate(&mut marked);
    expect_eq(
        "spans changed by the repair",
        &1,
        &store.repair_spans(std::slice::from_ref(&marked))?.changed,
    )?;

    let tree = store
        .trace(trace_id(12))?
        .ok_or("trace 12 is missing after the repair")?;
    let t = &tree.summary;
    expect_eq(
        "the trace's (spans, tokens, cost, unpriced)",
        &(2, TokenUsage::new(300, 60), Some(Usd::from_nanos(5000)), 0),
        &(t.span_count, t.usage, t.cost, t.unpriced_count),
    )?;
    // Durations 4 s and 3 s.
    let total = row(Vec::new())
        .spans(2, 0)
        .secs(3, 4, 4)
        .tokens(300, 60)
        .cost(5000, 1);
    let all = AggregateQuery::new(SpanFilter::new(), []);
    expect_rows(
        "all spans",
        std::slice::from_ref(&total),
        &store.aggregate_exact(&all)?,
    )?;
    let mut rolled = store.aggregate(&all)?.total;
    rolled.duration = total.duration;
    expect_rows("the rollup's total (durations aside)", &[total], &[rolled])?;
    let summary = store.overview_exact(TimeRange::ALL)?;
    expect_eq(
        "the summary's (cost, unpriced)",
        &(Some(Usd::from_nanos(5000)), 0),
        &(summary.cost, summary.unpriced),
    )?;
    let got = store
        .span(trace_id(12), span_id(1201))?
        .ok_or("W is missing")?;
    ensure(
        is_aggregate(&got),
        "W is not marked as an aggregate after the repair",
    )?;
    expect_eq("W after the repair", &marked, &got)?;
    Ok(())
}

/// Budget spend replayed from the store (`restore_budgets`), on a clock at T0+1 h: the five
/// traces written children first (the replay reads their attribution completed) and a
/// support call of yesterday (1,000,000 n$, session s-1, user u-1). A day budget counts
/// today's priced spans (35910 n$ in all; research L2+M2+L5+E5 33010, support L1+L4+M4 2900);
/// a total budget every one (u-1: 2900 + 1,000,000); a rolling hour the spans after T0 (all
/// of today's). Replaying again counts nothing twice.
pub fn budget_replay(store: &dyn Store) -> CheckResult {
    let spans = five_traces();
    let (roots, children): (Vec<_>, Vec<_>) =
        spans.into_iter().partition(|s| s.parent_span_id.is_none());
    store.write_spans(&children)?;
    store.write_spans(&roots)?;
    let yesterday = span(
        13,
        1301,
        "chat gpt-4o",
        T0 - 24 * HOUR,
        T0 - 24 * HOUR + SEC,
    )
    .llm("openai", "gpt-4o")
    .tokens(10, 10)
    .cost(1_000_000)
    .agent_name("support")
    .session("s-1")
    .user("u-1")
    .build();
    store.write_spans(&[yesterday])?;

    let dollar = Usd::from_dollars(1.0);
    let budgets = Budgets::new(vec![
        Budget::new("global-day", Scope::Global, Period::Day, dollar),
        Budget::new("agent-day", Scope::Agent, Period::Day, dollar),
        Budget::new("user-total", Scope::User, Period::Total, dollar),
        Budget::new("session-hour", Scope::Session, Period::Hour, dollar).rolling(),
    ])
    .with_clock(|| T0 + HOUR);
    restore_budgets(store, &budgets)?;
    let n = Usd::from_nanos;
    let expected: Vec<(String, String, Usd)> = [
        ("agent-day", "research", n(33_010)),
        ("agent-day", "support", n(2900)),
        ("global-day", "*", n(35_910)),
        ("session-hour", "s-1", n(2000)),
        ("session-hour", "s-2", n(13_000)),
        ("session-hour", "s-3", n(900)),
        ("session-hour", "s-4", n(20_010)),
        ("user-total", "u-1", n(1_002_900)),
        ("user-total", "u-2", n(13_000)),
        ("user-total", "u-3", n(20_010)),
    ]
    .into_iter()
    .map(|(b, s, spent)| (b.to_owned(), s.to_owned(), spent))
    .collect();
    let spent = |b: &Budgets| -> Vec<(String, String, Usd)> {
        b.status()
            .into_iter()
            .map(|s| (s.budget, s.scope, s.spent))
            .collect()
    };
    expect_eq(
        "spend replayed (budget, scope, spent)",
        &expected,
        &spent(&budgets),
    )?;
    restore_budgets(store, &budgets)?;
    expect_eq("spend after a second replay", &expected, &spent(&budgets))?;
    Ok(())
}
