//! Token detail: cache reads and writes, the one-hour share of cache writes, and reasoning
//! (unknown until reported: `None` is not reported, `Some(0)` none spent; a total is `None`
//! when its sum is zero), kept per span and summed everywhere (docs/conventions.md,
//! "Reasoning").

use crate::{
    AggregateQuery, GroupBy, OverviewQuery, SessionSort, SpanFilter, Store, TimeRange, TraceFilter,
};
use agentrace_core::{SpanRecord, TokenUsage};

use super::fixtures::{MINUTE, SEC, T0, span, span_id, trace_id};
use super::{CheckResult, expect_eq, key};

/// Token usage with every count.
fn usage(
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    cache_write_1h: u64,
    reasoning: Option<u64>,
) -> TokenUsage {
    TokenUsage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        cache_write_1h_tokens: cache_write_1h,
        reasoning_tokens: reasoning,
    }
}

/// K1's usage: 1000 in (600 read from cache, 300 written, 100 of them for an hour), 200 out
/// (50 reasoning).
fn k1_usage() -> TokenUsage {
    usage(1000, 200, 600, 300, 100, Some(50))
}

/// K2's usage: 500/100, reasoning reported as none spent.
fn k2_usage() -> TokenUsage {
    usage(500, 100, 0, 0, 0, Some(0))
}

/// K3's usage: 10/5, reasoning not reported.
fn k3_usage() -> TokenUsage {
    usage(10, 5, 0, 0, 0, None)
}

/// The three calls' sum: 1510/305, 600 read, 300 written (100 for an hour), 50 reasoning.
fn total_usage() -> TokenUsage {
    usage(1510, 305, 600, 300, 100, Some(50))
}

/// Trace 14: agent span K0 (agent `coder`, session `s-k`, user `u-k`) over three calls: K1
/// (claude-sonnet-4), K2 (claude-haiku), K3 (gpt-4o-mini), with the usages above.
fn token_trace() -> Vec<SpanRecord> {
    let call = |id: u16, model: &str, start: u64, u: TokenUsage, nanos: i64| {
        let mut s = span(14, id, "chat", T0 + start * SEC, T0 + (start + 1) * SEC)
            .parent(1400)
            .llm("acme", model)
            .cost(nanos)
            .build();
        s.usage = u;
        s
    };
    vec![
        span(14, 1400, "run", T0, T0 + 10 * SEC)
            .agent("coder")
            .session("s-k")
            .user("u-k")
            .build(),
        call(1401, "claude-sonnet-4", 1, k1_usage(), 4000),
        call(1402, "claude-haiku", 4, k2_usage(), 1000),
        call(1403, "gpt-4o-mini", 6, k3_usage(), 10),
    ]
}

/// The counts a trace summary keeps without the one-hour share: in, out, cache reads, cache
/// writes, reasoning.
fn without_1h(u: &TokenUsage) -> (u64, u64, u64, u64, Option<u64>) {
    (
        u.input_tokens,
        u.output_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens,
        u.reasoning_tokens,
    )
}

/// Trace 14's usages read back as written, and summed with every count in the aggregate (by
/// model: K2's row alone has a reasoning sum of zero, so `None`), the rollup, the summary, the
/// overview and the tree; the trace's, session's and user's sums with every count but the
/// one-hour share (checked by [`trace_summaries_keep_one_hour_cache_writes_per_span`]).
pub fn token_details_are_summed(store: &dyn Store) -> CheckResult {
    store.write_spans(&token_trace())?;
    for (id, want) in [(1401, k1_usage()), (1402, k2_usage()), (1403, k3_usage())] {
        let got = store
            .span(trace_id(14), span_id(id))?
            .ok_or("a call is missing")?;
        expect_eq(
            format!("the usage of span {id} read back"),
            &want,
            &got.usage,
        )?;
    }
    let all = AggregateQuery::new(SpanFilter::new(), []);
    let rows = store.aggregate_exact(&all)?;
    let got: Vec<_> = rows.iter().map(|r| r.usage).collect();
    expect_eq("the aggregate's usage", &vec![total_usage()], &got)?;
    let by_model = AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]);
    let expected = vec![
        (vec![key("claude-haiku")], usage(500, 100, 0, 0, 0, None)),
        (vec![key("claude-sonnet-4")], k1_usage()),
        (vec![key("gpt-4o-mini")], k3_usage()),
        (vec![crate::GroupKey::None], TokenUsage::default()),
    ];
    let usages = |rows: &[crate::AggregateRow]| {
        rows.iter()
            .map(|r| (r.keys.clone(), r.usage))
            .collect::<Vec<_>>()
    };
    expect_eq(
        "usage by model",
        &expected,
        &usages(&store.aggregate_exact(&by_model)?),
    )?;
    expect_eq(
        "the rollup's usage by model",
        &expected,
        &usages(&store.aggregate(&by_model)?.rows),
    )?;
    expect_eq(
        "the rollup's total usage",
        &total_usage(),
        &store.aggregate(&all)?.total.usage,
    )?;
    expect_eq(
        "the summary's usage",
        &total_usage(),
        &store.overview_exact(TimeRange::ALL)?.usage,
    )?;
    let overview = store.overview(&OverviewQuery::new(TimeRange::new(T0, T0 + MINUTE)))?;
    expect_eq(
        "the overview's usage",
        &total_usage(),
        &overview.summary.usage,
    )?;
    let tree = store.trace(trace_id(14))?.ok_or("trace 14 is missing")?;
    let root = tree.nodes.first().ok_or("trace 14 has no node")?;
    expect_eq(
        "the root's subtree usage",
        &total_usage(),
        &root.subtree.usage,
    )?;

    let want = without_1h(&total_usage());
    expect_eq(
        "the trace's usage (one-hour share aside)",
        &want,
        &without_1h(&tree.summary.usage),
    )?;
    let session = store.session("s-k")?.ok_or("session s-k is missing")?;
    expect_eq(
        "the session's usage (one-hour share aside)",
        &want,
        &without_1h(&session.usage),
    )?;
    let users = store.users(TimeRange::ALL, SessionSort::Recent, 10)?;
    let user = users.first().ok_or("user u-k is missing")?;
    expect_eq(
        "the user's usage (one-hour share aside)",
        &want,
        &without_1h(&user.usage),
    )?;
    Ok(())
}

/// Trace 14's sums in the trace list, the tree's summary, the session and the user leave the
/// one-hour share of cache writes at 0 (it is kept per span only: `TraceSummary::usage`), and
/// hold every other count; the aggregate holds it (100, K1's).
pub fn trace_summaries_keep_one_hour_cache_writes_per_span(store: &dyn Store) -> CheckResult {
    store.write_spans(&token_trace())?;
    let mut want = total_usage();
    want.cache_write_1h_tokens = 0;
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    let listed = page.traces.first().ok_or("trace 14 is not listed")?;
    expect_eq("the listed trace's usage", &want, &listed.usage)?;
    let tree = store.trace(trace_id(14))?.ok_or("trace 14 is missing")?;
    expect_eq("the trace's usage", &want, &tree.summary.usage)?;
    let session = store.session("s-k")?.ok_or("session s-k is missing")?;
    expect_eq("the session's usage", &want, &session.usage)?;
    let users = store.users(TimeRange::ALL, SessionSort::Recent, 10)?;
    let user = users.first().ok_or("user u-k is missing")?;
    expect_eq("the user's usage", &want, &user.usage)?;
    let total = store
        .aggregate_exact(&AggregateQuery::new(SpanFilter::new(), []))?
        .pop()
        .ok_or("no aggregate row")?;
    expect_eq("the aggregate's usage", &total_usage(), &total.usage)?;
    Ok(())
}
