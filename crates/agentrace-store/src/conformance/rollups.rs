//! The fast analytics: rollups, the overview and tools (counts, tokens and costs exact,
//! duration percentiles within 3.2 %), over ranges widened to whole minutes; and received
//! metrics.

use std::collections::BTreeMap;

use crate::{
    AggregateQuery, AggregateRow, ErrorCount, ErrorPattern, GroupBy, GroupKey, MetricInfo,
    MetricPoint, MetricQuery, MetricSeries, OverviewQuery, Percentiles, RollupSource, SpanFilter,
    Store, Summary, TimeRange, ToolStats,
};
use agentrace_core::{InstrumentKind, TokenUsage, Usd};

use super::analytics::{RowExt, row, row_of_all, rows_by_agent, rows_by_kind, rows_by_model};
use super::fixtures::{MINUTE, SEC, T0, five_traces, measurement, span};
use super::{CheckResult, ensure, expect_eq, key, keyed_counts};

/// `Ok` if `got` is within 3.2 % of the exact `expected`.
fn expect_close(what: &str, expected: u64, got: u64) -> CheckResult {
    let tolerance = expected as f64 * 0.032;
    ensure(
        (got as f64 - expected as f64).abs() <= tolerance,
        format!("{what}: expected {expected} ns within 3.2 %, got {got} ns"),
    )
}

/// `Ok` if every percentile of `got` is within 3.2 % of `expected`'s.
fn expect_close_percentiles(what: &str, expected: &Percentiles, got: &Percentiles) -> CheckResult {
    expect_close(&format!("{what}: p50"), expected.p50_ns, got.p50_ns)?;
    expect_close(&format!("{what}: p95"), expected.p95_ns, got.p95_ns)?;
    expect_close(&format!("{what}: p99"), expected.p99_ns, got.p99_ns)
}

/// Compares rows exactly but for their durations, which must be within 3.2 %.
fn expect_rows_close(what: &str, expected: &[AggregateRow], got: &[AggregateRow]) -> CheckResult {
    let keys = |rows: &[AggregateRow]| rows.iter().map(|r| r.keys.clone()).collect::<Vec<_>>();
    expect_eq(format!("{what}: keys"), &keys(expected), &keys(got))?;
    for (e, g) in expected.iter().zip(got) {
        let what = format!("{what}: row {:?}", e.keys);
        let mut same = g.clone();
        same.duration = e.duration;
        // The histograms: `analytics::latency_within`.
        same.durations = e.durations.clone();
        expect_eq(format!("{what} (durations aside)"), e, &same)?;
        expect_close_percentiles(&what, &e.duration, &g.duration)?;
    }
    Ok(())
}

/// The rollups of the five traces answer like the exact aggregates: the rows by model, agent
/// and kind of the fixture table, and the total; for every other grouping the rows of
/// `aggregate`. A range is widened to whole minutes: [T0+61 s, T0+179 s) covers the spans
/// starting in [T0+60 s, T0+180 s).
pub fn rollup_matches_aggregate(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let q = |g: Vec<GroupBy>| AggregateQuery::new(SpanFilter::new(), g);
    for (by, expected) in [
        (GroupBy::Model, rows_by_model()),
        (GroupBy::Agent, rows_by_agent()),
        (GroupBy::Kind, rows_by_kind()),
    ] {
        let answer = store.aggregate(&q(vec![by]))?;
        expect_rows_close(&format!("rollup by {by:?}"), &expected, &answer.rows)?;
        expect_rows_close(
            &format!("rollup by {by:?}: total"),
            &[row_of_all()],
            &[answer.total],
        )?;
        expect_eq(
            format!("rollup by {by:?}: range"),
            &TimeRange::ALL,
            &answer.range,
        )?;
    }
    let groupings = [
        vec![],
        vec![GroupBy::Provider],
        vec![GroupBy::Service],
        vec![GroupBy::Tool],
        vec![GroupBy::Operation],
        vec![GroupBy::Framework],
        vec![GroupBy::Session],
        vec![GroupBy::User],
        vec![GroupBy::TimeBucket { width_ns: MINUTE }],
        vec![GroupBy::Model, GroupBy::Agent],
        vec![GroupBy::Kind, GroupBy::Service],
    ];
    for g in groupings {
        let exact = store.aggregate_exact(&q(g.clone()))?;
        let answer = store.aggregate(&q(g.clone()))?;
        expect_rows_close(&format!("rollup by {g:?}"), &exact, &answer.rows)?;
    }
    let filtered = AggregateQuery::new(
        SpanFilter::new()
            .model("gpt-4o")
            .range(TimeRange::new(T0, T0 + 5 * MINUTE)),
        [GroupBy::Agent],
    );
    let exact = store.aggregate_exact(&filtered)?;
    expect_eq("gpt-4o calls by agent: rows", &2, &exact.len())?;
    expect_rows_close(
        "rollup of gpt-4o calls by agent",
        &exact,
        &store.aggregate(&filtered)?.rows,
    )?;

    let widened = TimeRange::new(T0 + MINUTE, T0 + 3 * MINUTE);
    let narrow = AggregateQuery::new(
        SpanFilter::new().range(TimeRange::new(T0 + 61 * SEC, T0 + 179 * SEC)),
        [GroupBy::Model],
    );
    let answer = store.aggregate(&narrow)?;
    expect_eq(
        "the range of a rollup, widened to minutes",
        &widened,
        &answer.range,
    )?;
    // R2 40 s, X2 2 s (failed) without model; L2, M2; L3.
    let expected = vec![
        row(vec![key("claude-3-5-sonnet-20241022")])
            .spans(2, 0)
            .secs(4, 5, 5)
            .tokens(600, 150)
            .cost(13_000, 2),
        row(vec![key("local-llama")])
            .spans(1, 0)
            .secs(20, 20, 20)
            .tokens(50, 10)
            .unpriced(1, 50, 10),
        row(vec![crate::GroupKey::None]).spans(2, 1).secs(2, 40, 40),
    ];
    expect_rows_close(
        "rollup of [T0+61 s, T0+179 s) by model",
        &expected,
        &answer.rows,
    )?;
    Ok(())
}

/// Compares an overview's numbers with an exact summary's: counts, tokens and costs exact,
/// latency within 3.2 %, the rows by model and agent as [`expect_rows_close`].
fn expect_summary_close(what: &str, expected: &Summary, got: &Summary) -> CheckResult {
    expect_eq(format!("{what}: range"), &expected.range, &got.range)?;
    let counts = |s: &Summary| {
        (
            s.traces,
            s.spans,
            s.span_errors,
            s.requests,
            s.errors,
            s.priced,
            s.unpriced,
        )
    };
    expect_eq(
        format!("{what}: (traces, spans, span errors, requests, errors, priced, unpriced)"),
        &counts(expected),
        &counts(got),
    )?;
    expect_eq(
        format!("{what}: error rate"),
        &expected.error_rate,
        &got.error_rate,
    )?;
    match (&expected.latency, &got.latency) {
        (Some(e), Some(g)) => expect_close_percentiles(&format!("{what}: latency"), e, g)?,
        (e, g) => expect_eq(format!("{what}: latency"), e, g)?,
    }
    expect_eq(format!("{what}: tokens"), &expected.usage, &got.usage)?;
    expect_eq(format!("{what}: cost"), &expected.cost, &got.cost)?;
    expect_eq(
        format!("{what}: unpriced tokens"),
        &expected.unpriced_usage,
        &got.unpriced_usage,
    )?;
    expect_rows_close(
        &format!("{what}: by model"),
        &expected.by_model,
        &got.by_model,
    )?;
    expect_rows_close(
        &format!("{what}: by agent"),
        &expected.by_agent,
        &got.by_agent,
    )
}

/// The overview of [T0, T0+5 min) by minute: the summary's numbers (checked against the
/// exact `summary` of the same range, itself checked by hand in `summary`) and one point per
/// minute, trace i in minute i − 1 (spans 2, 4, 1, 5, 3; failed 0, 1, 0, 2, 0; LLM calls 1,
/// 2, 1, 2, 1; costs 2000, 13000, —, 900, 20010). By 5 minutes over [T0, T0+10 min): two
/// points, the second empty.
pub fn overview(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let range = TimeRange::new(T0, T0 + 5 * MINUTE);
    let overview = store.overview(&OverviewQuery::new(range).bucket_ns(MINUTE))?;
    expect_summary_close(
        "the overview",
        &store.overview_exact(range)?,
        &overview.summary,
    )?;
    expect_eq("the overview's bucket width", &MINUTE, &overview.bucket_ns)?;
    type Point = (u64, u64, u64, u64, u64, TokenUsage, Option<Usd>, u64);
    let point = |i: u64,
                 spans,
                 span_errors,
                 requests,
                 tokens: (u64, u64),
                 cost: Option<i64>,
                 unpriced|
     -> Point {
        (
            T0 + i * MINUTE,
            spans,
            span_errors,
            requests,
            0,
            TokenUsage::new(tokens.0, tokens.1),
            cost.map(Usd::from_nanos),
            unpriced,
        )
    };
    let expected = vec![
        point(0, 2, 0, 1, (1000, 200), Some(2000), 0),
        point(1, 4, 1, 2, (600, 150), Some(13_000), 0),
        point(2, 1, 0, 1, (50, 10), None, 1),
        point(3, 5, 2, 2, (1500, 300), Some(900), 0),
        point(4, 3, 0, 1, (130, 25), Some(20_010), 0),
    ];
    let got: Vec<Point> = overview
        .series
        .iter()
        .map(|p| {
            (
                p.start_unix_nano,
                p.spans,
                p.span_errors,
                p.requests,
                p.errors,
                p.usage,
                p.cost,
                p.unpriced,
            )
        })
        .collect();
    expect_eq(
        "the series (start, spans, span errors, requests, errors, tokens, cost, unpriced)",
        &expected,
        &got,
    )?;
    // LLM latency by minute: L1 2 s; L2 4, M2 5 (p50 4 s); L3 20 s; L4 2, M4 4 (p50 2 s);
    // L5 5 s.
    let p50s = [2, 4, 20, 2, 5];
    for (p, want) in overview.series.iter().zip(p50s) {
        let latency = p.latency.ok_or("a minute with LLM calls has no latency")?;
        expect_close("the series' LLM latency p50", want * SEC, latency.p50_ns)?;
    }
    let wide = store.overview(
        &OverviewQuery::new(TimeRange::new(T0, T0 + 10 * MINUTE)).bucket_ns(5 * MINUTE),
    )?;
    let got: Vec<_> = wide
        .series
        .iter()
        .map(|p| (p.start_unix_nano, p.spans, p.latency.is_some(), p.cost))
        .collect();
    let expected = vec![
        (T0, 15, true, Some(Usd::from_nanos(35_910))),
        (T0 + 5 * MINUTE, 0, false, None),
    ];
    expect_eq(
        "the series by 5 minutes (start, spans, has latency, cost)",
        &expected,
        &got,
    )?;
    Ok(())
}

/// A tool's stats without the durations, for exact comparison: its name, calls, failures,
/// success rate, error types, error patterns, and trend as `(bucket start, calls, failures)`.
type ToolCounts = (
    Option<String>,
    u64,
    u64,
    f64,
    Vec<ErrorCount>,
    Vec<ErrorPattern>,
    Vec<(u64, u64, u64)>,
);

/// [`ToolCounts`] of a tool's stats.
fn tool_counts(t: &ToolStats) -> ToolCounts {
    (
        t.tool.clone(),
        t.calls,
        t.errors,
        t.success_rate,
        t.error_types.clone(),
        t.top_errors.clone(),
        t.trend
            .iter()
            .map(|p| (p.start_unix_nano, p.calls, p.errors))
            .collect(),
    )
}

/// Tool calls of the five traces, most called first: `lookup` (X4 failed `record 4521 not
/// found`, NotFound; Y4), then `search` (X2 failed `timeout after 30s`, TimeoutError), error
/// messages with their numbers as `<n>`; by minute, each tool's minute. A range is widened to
/// whole minutes: [T0+30 s, T0+61 s) covers X2 at T0+66 s.
pub fn tools(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let error = |t: &str, n| ErrorCount {
        error_type: Some(t.to_owned()),
        count: n,
    };
    let pattern = |t: &str, p: &str, n| ErrorPattern {
        error_type: Some(t.to_owned()),
        pattern: Some(p.to_owned()),
        count: n,
    };
    let lookup = (
        Some("lookup".to_owned()),
        2,
        1,
        0.5,
        vec![error("NotFound", 1)],
        vec![pattern("NotFound", "record <n> not found", 1)],
        Vec::new(),
    );
    let search = (
        Some("search".to_owned()),
        1,
        1,
        0.0,
        vec![error("TimeoutError", 1)],
        vec![pattern("TimeoutError", "timeout after <n>s", 1)],
        Vec::new(),
    );
    let answer = store.tools(TimeRange::ALL, 5, None)?;
    let got: Vec<_> = answer.tools.iter().map(tool_counts).collect();
    expect_eq(
        "tools (name, calls, errors, success, error types, patterns, trend)",
        &vec![lookup.clone(), search.clone()],
        &got,
    )?;
    let durations: Vec<_> = answer.tools.iter().map(|t| t.duration).collect();
    let exact = [
        Percentiles {
            p50_ns: SEC,
            p95_ns: SEC,
            p99_ns: SEC,
        },
        Percentiles {
            p50_ns: 2 * SEC,
            p95_ns: 2 * SEC,
            p99_ns: 2 * SEC,
        },
    ];
    for (e, g) in exact.iter().zip(&durations) {
        expect_close_percentiles("a tool's durations", e, g)?;
    }

    let by_minute = store.tools(TimeRange::ALL, 5, Some(MINUTE))?;
    let mut lookup_trend = lookup;
    lookup_trend.6 = vec![(T0 + 3 * MINUTE, 2, 1)];
    let mut search_trend = search.clone();
    search_trend.6 = vec![(T0 + MINUTE, 1, 1)];
    let got: Vec<_> = by_minute.tools.iter().map(tool_counts).collect();
    expect_eq("tools by minute", &vec![lookup_trend, search_trend], &got)?;

    let narrow = store.tools(TimeRange::new(T0 + 30 * SEC, T0 + 61 * SEC), 5, None)?;
    expect_eq(
        "the range of tools, widened to minutes",
        &TimeRange::new(T0, T0 + 2 * MINUTE),
        &narrow.range,
    )?;
    let got: Vec<_> = narrow.tools.iter().map(tool_counts).collect();
    expect_eq("tools of [T0+30 s, T0+61 s)", &vec![search], &got)?;
    Ok(())
}

/// Tools on MCP servers: `search` on servers `docs` and `web` and a local `search` are three
/// tools; the MCP server is a dimension of the rollups (grouped and filtered as the exact
/// aggregates are), and an MCP operation (`resources/read`, kind `mcp`) is not a tool call.
/// One trace at T0: `search` on `docs` twice (one failed with `tool_error`), on `web` once,
/// locally once; a `resources/read` on `docs`.
pub fn tools_of_mcp_servers(store: &dyn Store) -> CheckResult {
    use agentrace_core::SpanKind;
    use agentrace_core::semconv::agentrace::MCP_SERVER;
    let call = |id: u16, at: u64, server: Option<&str>| {
        let s = span(
            9,
            id,
            "tools/call search",
            T0 + at * SEC,
            T0 + at * SEC + SEC,
        )
        .parent(1)
        .tool("search");
        match server {
            Some(name) => s.attribute(MCP_SERVER, name),
            None => s,
        }
    };
    store.write_spans(&[
        span(9, 1, "invoke_agent helper", T0, T0 + 30 * SEC)
            .agent("helper")
            .build(),
        call(2, 1, Some("docs")).build(),
        call(3, 3, Some("docs"))
            .error("no such page", Some("tool_error"))
            .build(),
        call(4, 5, Some("web")).build(),
        call(5, 7, None).build(),
        span(
            9,
            6,
            "resources/read file:///a",
            T0 + 9 * SEC,
            T0 + 10 * SEC,
        )
        .parent(1)
        .kind(SpanKind::Mcp)
        .attribute(MCP_SERVER, "docs")
        .build(),
    ])?;
    let answer = store.tools(TimeRange::ALL, 5, None)?;
    let got: Vec<_> = answer
        .tools
        .iter()
        .map(|t| (t.mcp_server.clone(), t.tool.clone(), t.calls, t.errors))
        .collect();
    let search = |server: Option<&str>, calls, errors| {
        (
            server.map(str::to_owned),
            Some("search".to_owned()),
            calls,
            errors,
        )
    };
    expect_eq(
        "tools (server, name, calls, errors), busiest first, then by server",
        &vec![
            search(Some("docs"), 2, 1),
            search(None, 1, 0),
            search(Some("web"), 1, 0),
        ],
        &got,
    )?;
    expect_eq(
        "the failure on docs",
        &vec![ErrorCount {
            error_type: Some("tool_error".to_owned()),
            count: 1,
        }],
        &answer.tools[0].error_types,
    )?;
    let by_server = AggregateQuery::new(SpanFilter::new(), vec![GroupBy::McpServer, GroupBy::Kind]);
    let rolled = store.aggregate(&by_server)?;
    expect_rows_close(
        "spans by MCP server and kind, rollups against the spans",
        &store.aggregate_exact(&by_server)?,
        &rolled.rows,
    )?;
    expect_eq(
        "spans by MCP server and kind",
        &vec![
            (vec![key("docs"), key("mcp")], 1),
            (vec![key("docs"), key("tool")], 2),
            (vec![key("web"), key("tool")], 1),
            (vec![GroupKey::None, key("agent")], 1),
            (vec![GroupKey::None, key("tool")], 1),
        ],
        &keyed_counts(&rolled.rows),
    )?;
    let mut on_docs = SpanFilter::new();
    on_docs.mcp_server = Some("docs".to_owned());
    let q = AggregateQuery::new(on_docs, vec![GroupBy::Operation]);
    let rolled = store.aggregate(&q)?;
    expect_eq(
        "spans on docs: from the rollups",
        &RollupSource::Rollups,
        &rolled.source,
    )?;
    expect_rows_close("spans on docs", &store.aggregate_exact(&q)?, &rolled.rows)?;
    expect_eq("spans on docs", &3, &rolled.total.count)
}

/// Tools split by an attribute (`group_by=attr:customer.id`): the span's value, else its
/// resource's, as text (a number as its digits); calls without it together, after the others.
/// One trace at T0: `search` for `acme` twice (one failed, `tool_error`; minutes one and
/// three), for `globex` once (on the resource), for 42 once (an integer), without a customer
/// once; `fetch` for `acme` once. Each split keeps its own calls, failures and trend.
pub fn tools_by_attribute(store: &dyn Store) -> CheckResult {
    use agentrace_core::Resource;
    use std::sync::Arc;
    let customer = crate::AttributeKey::new("customer.id").map_err(|e| e.to_string())?;
    let call = |id: u16, at: u64, tool: &str| {
        span(10, id, "execute_tool", T0 + at * SEC, T0 + at * SEC + SEC)
            .parent(1)
            .tool(tool)
    };
    let mut globex = call(4, 100, "search").build();
    let mut resource = Resource::new("svc-a");
    resource.attributes.insert("customer.id", "globex");
    globex.resource = Arc::new(resource);
    store.write_spans(&[
        span(10, 1, "invoke_agent helper", T0, T0 + 300 * SEC)
            .agent("helper")
            .attribute("customer.id", "acme")
            .build(),
        call(2, 70, "search")
            .attribute("customer.id", "acme")
            .build(),
        call(3, 190, "search")
            .attribute("customer.id", "acme")
            .error("index 7 unavailable", Some("tool_error"))
            .build(),
        globex,
        call(5, 110, "search")
            .attribute("customer.id", 42_i64)
            .build(),
        call(6, 120, "search").build(),
        call(7, 130, "fetch")
            .attribute("customer.id", "acme")
            .build(),
    ])?;
    let answer = store.tools_by_attribute(TimeRange::ALL, customer, 5, Some(MINUTE))?;
    let got: Vec<_> = answer
        .tools
        .iter()
        .map(|t| {
            let split = t.attribute.as_ref();
            (
                t.tool.clone().unwrap_or_default(),
                split.map(|a| a.key.clone()),
                split.and_then(|a| a.value.clone()),
                (t.calls, t.errors),
                t.trend
                    .iter()
                    .map(|p| (p.start_unix_nano, p.calls))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let row = |tool: &str, value: Option<&str>, counts, minutes: &[u64]| {
        (
            tool.to_owned(),
            Some("customer.id".to_owned()),
            value.map(str::to_owned),
            counts,
            minutes
                .iter()
                .map(|m| (T0 + m * MINUTE, 1))
                .collect::<Vec<_>>(),
        )
    };
    expect_eq(
        "tools by customer.id (tool, key, value, calls and errors, trend), busiest first",
        &vec![
            row("search", Some("acme"), (2, 1), &[1, 3]),
            row("fetch", Some("acme"), (1, 0), &[2]),
            row("search", Some("42"), (1, 0), &[1]),
            row("search", Some("globex"), (1, 0), &[1]),
            row("search", None, (1, 0), &[2]),
        ],
        &got,
    )?;
    expect_eq(
        "the failure is acme's",
        &vec![ErrorPattern {
            error_type: Some("tool_error".to_owned()),
            pattern: Some("index <n> unavailable".to_owned()),
            count: 1,
        }],
        &answer.tools[0].top_errors,
    )?;
    let whole = store.tools(TimeRange::ALL, 5, None)?;
    expect_eq(
        "unsplit: search's five calls, no attribute",
        &Some((Some("search".to_owned()), 5, 1, None)),
        &whole
            .tools
            .first()
            .map(|t| (t.tool.clone(), t.calls, t.errors, t.attribute.clone())),
    )
}

/// Measurements of three metrics, and what is read back. Token usage (histogram, `{token}`):
/// input 100 at T0+5 s, 300 at T0+30 s, 50 at T0+65 s; output 20 at T0+10 s. Cost (counter,
/// `USD`, model gpt-4o): 0.5 at T0+1 s, 0.25 at T0+2 s. Queue depth (gauge): 3 at T0+5 s, 4
/// at T0+59 s, 7 at T0+50 s (written after the later one: the last value is 4).
pub fn metrics(store: &dyn Store) -> CheckResult {
    const TOKENS: &str = "gen_ai.client.token.usage";
    let input = [("gen_ai.token.type", "input")];
    let output = [("gen_ai.token.type", "output")];
    let h = InstrumentKind::Histogram;
    let batch = vec![
        measurement(TOKENS, h, Some("{token}"), &input, 100.0, T0 + 5 * SEC),
        measurement(TOKENS, h, Some("{token}"), &output, 20.0, T0 + 10 * SEC),
        measurement(TOKENS, h, Some("{token}"), &input, 300.0, T0 + 30 * SEC),
        measurement(TOKENS, h, Some("{token}"), &input, 50.0, T0 + 65 * SEC),
        measurement(
            "agentrace.cost",
            InstrumentKind::Counter,
            Some("USD"),
            &[("model", "gpt-4o")],
            0.5,
            T0 + SEC,
        ),
        measurement(
            "agentrace.cost",
            InstrumentKind::Counter,
            Some("USD"),
            &[("model", "gpt-4o")],
            0.25,
            T0 + 2 * SEC,
        ),
        measurement(
            "queue.depth",
            InstrumentKind::Gauge,
            None,
            &[],
            3.0,
            T0 + 5 * SEC,
        ),
        measurement(
            "queue.depth",
            InstrumentKind::Gauge,
            None,
            &[],
            4.0,
            T0 + 59 * SEC,
        ),
    ];
    let report = store.insert_measurements(&batch)?;
    expect_eq("measurements inserted", &8, &report.inserted)?;
    store.insert_measurements(&[measurement(
        "queue.depth",
        InstrumentKind::Gauge,
        None,
        &[],
        7.0,
        T0 + 50 * SEC,
    )])?;

    let info = |name: &str, kind: &str, unit: Option<&str>, series| MetricInfo {
        name: name.to_owned(),
        kind: kind.to_owned(),
        unit: unit.map(str::to_owned),
        series,
    };
    let mut names = store.metric_names(TimeRange::ALL)?;
    names.sort_by(|a, b| a.name.cmp(&b.name));
    let expected = vec![
        info("agentrace.cost", "counter", Some("USD"), 1),
        info(TOKENS, "histogram", Some("{token}"), 2),
        info("queue.depth", "gauge", None, 1),
    ];
    expect_eq("metric names", &expected, &names)?;
    // Only the input series has a point in the second minute.
    let second = store.metric_names(TimeRange::new(T0 + MINUTE, T0 + 2 * MINUTE))?;
    expect_eq(
        "metric names of the second minute",
        &vec![info(TOKENS, "histogram", Some("{token}"), 1)],
        &second,
    )?;

    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let p = |minute: u64, count, sum, min, max, last| MetricPoint {
        bucket_unix_nano: T0 + minute * MINUTE,
        count,
        sum,
        min,
        max,
        last,
    };
    let series = |kind: &str, unit: Option<&str>, l, points| MetricSeries {
        kind: kind.to_owned(),
        unit: unit.map(str::to_owned),
        labels: l,
        points,
    };
    // By minute, the busiest series (input, 3 measurements) first.
    let by_minute = store.metric(&MetricQuery::new(TOKENS))?;
    let expected = vec![
        series(
            "histogram",
            Some("{token}"),
            labels(&input),
            vec![
                p(0, 2, 400.0, 100.0, 300.0, 300.0),
                p(1, 1, 50.0, 50.0, 50.0, 50.0),
            ],
        ),
        series(
            "histogram",
            Some("{token}"),
            labels(&output),
            vec![p(0, 1, 20.0, 20.0, 20.0, 20.0)],
        ),
    ];
    expect_eq("token usage by minute", &expected, &by_minute)?;
    let two_minutes = store.metric(
        &MetricQuery::new(TOKENS)
            .range(TimeRange::new(T0, T0 + 4 * MINUTE))
            .step(2 * MINUTE),
    )?;
    let expected = vec![
        series(
            "histogram",
            Some("{token}"),
            labels(&input),
            vec![p(0, 3, 450.0, 50.0, 300.0, 50.0)],
        ),
        series(
            "histogram",
            Some("{token}"),
            labels(&output),
            vec![p(0, 1, 20.0, 20.0, 20.0, 20.0)],
        ),
    ];
    expect_eq("token usage by 2 minutes", &expected, &two_minutes)?;
    let cost = store.metric(&MetricQuery::new("agentrace.cost"))?;
    let expected = vec![series(
        "counter",
        Some("USD"),
        labels(&[("model", "gpt-4o")]),
        vec![p(0, 2, 0.75, 0.25, 0.5, 0.25)],
    )];
    expect_eq("cost by minute", &expected, &cost)?;
    let depth = store.metric(&MetricQuery::new("queue.depth"))?;
    let expected = vec![series(
        "gauge",
        None,
        labels(&[]),
        vec![p(0, 3, 14.0, 3.0, 7.0, 4.0)],
    )];
    expect_eq("queue depth by minute", &expected, &depth)?;
    expect_eq(
        "an unknown metric",
        &Vec::<MetricSeries>::new(),
        &store.metric(&MetricQuery::new("nope"))?,
    )?;
    Ok(())
}
