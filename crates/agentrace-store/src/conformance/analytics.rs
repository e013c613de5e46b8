//! The exact analytics: aggregates (grouped counts, errors, nearest-rank duration
//! percentiles, tokens, cost) and the summary, over the five traces; aggregate spans counted
//! as spans only.
//!
//! Percentiles are nearest-rank: the value at rank ⌈p·n/100⌉ of the sorted durations, so for
//! n ≤ 20 the p95 and p99 are the largest duration.

use crate::series::DurationHistogram;
use crate::{
    AggregateQuery, AggregateRow, GroupBy, GroupKey, OverviewQuery, Percentiles, SpanFilter, Store,
    Summary, TimeRange,
};
use agentrace_core::normalize::{is_aggregate, mark_aggregate};
use agentrace_core::{SpanKind, SpanRecord, TokenUsage, Usd};

use super::fixtures::{MINUTE, SEC, T0, five_traces, span, span_id, span_ids, trace_id};
use super::{CheckResult, all_spans, ensure, expect_eq, ids_of, key, keyed_counts};

/// An aggregate row of `keys` with nothing counted yet: fill it in with [`RowExt`].
pub fn row(keys: Vec<GroupKey>) -> AggregateRow {
    AggregateRow {
        keys,
        count: 0,
        errors: 0,
        duration: Percentiles::default(),
        durations: DurationHistogram::default(),
        usage: TokenUsage::default(),
        cost: None,
        priced: 0,
        unpriced: 0,
        unpriced_usage: TokenUsage::default(),
    }
}

/// The expected numbers of an aggregate row, step by step:
/// `row(keys).spans(2, 0).secs(4, 5, 5).tokens(600, 150).cost(13_000, 2)`.
pub trait RowExt {
    /// `count` spans, `errors` of them failed.
    #[must_use]
    fn spans(self, count: u64, errors: u64) -> Self;
    /// Duration percentiles p50, p95, p99, in whole seconds.
    #[must_use]
    fn secs(self, p50: u64, p95: u64, p99: u64) -> Self;
    /// Input and output tokens.
    #[must_use]
    fn tokens(self, input: u64, output: u64) -> Self;
    /// A cost of `nanos` nano-dollars over `priced` priced spans.
    #[must_use]
    fn cost(self, nanos: i64, priced: u64) -> Self;
    /// `count` unpriced billable spans, with `input` and `output` tokens.
    #[must_use]
    fn unpriced(self, count: u64, input: u64, output: u64) -> Self;
}

impl RowExt for AggregateRow {
    fn spans(mut self, count: u64, errors: u64) -> Self {
        self.count = count;
        self.errors = errors;
        self
    }

    fn secs(mut self, p50: u64, p95: u64, p99: u64) -> Self {
        self.duration = Percentiles {
            p50_ns: p50 * SEC,
            p95_ns: p95 * SEC,
            p99_ns: p99 * SEC,
        };
        self
    }

    fn tokens(mut self, input: u64, output: u64) -> Self {
        self.usage = TokenUsage::new(input, output);
        self
    }

    fn cost(mut self, nanos: i64, priced: u64) -> Self {
        self.cost = Some(Usd::from_nanos(nanos));
        self.priced = priced;
        self
    }

    fn unpriced(mut self, count: u64, input: u64, output: u64) -> Self {
        self.unpriced = count;
        self.unpriced_usage = TokenUsage::new(input, output);
        self
    }
}

/// The five traces by model (responding, else requested), by key, no model last:
/// claude (L2 4 s, M2 5 s), gpt-4o (L1 2 s, L5 5 s), gpt-4o-mini (L4 2 s, M4 4 s),
/// local-llama (L3, unpriced), text-embedding-3-small (E5), and the 7 spans without a model
/// (R1 10, R2 40, X2 2, R4 50, X4 1, Y4 1, R5 30 s; X2, R4, X4 failed).
pub fn rows_by_model() -> Vec<AggregateRow> {
    let k = |m: &str| vec![key(m)];
    vec![
        row(k("claude-3-5-sonnet-20241022"))
            .spans(2, 0)
            .secs(4, 5, 5)
            .tokens(600, 150)
            .cost(13_000, 2),
        row(k("gpt-4o"))
            .spans(2, 0)
            .secs(2, 5, 5)
            .tokens(1050, 225)
            .cost(22_000, 2),
        row(k("gpt-4o-mini"))
            .spans(2, 0)
            .secs(2, 4, 4)
            .tokens(1500, 300)
            .cost(900, 2),
        row(k("local-llama"))
            .spans(1, 0)
            .secs(20, 20, 20)
            .tokens(50, 10)
            .unpriced(1, 50, 10),
        row(k("text-embedding-3-small"))
            .spans(1, 0)
            .secs(1, 1, 1)
            .tokens(80, 0)
            .cost(10, 1),
        // Sorted 1, 1, 2, 10, 30, 40, 50: rank 4 is 10 s.
        row(vec![GroupKey::None]).spans(7, 3).secs(10, 50, 50),
    ]
}

/// The five traces by agent: research (R2, L2, X2, M2, R5, L5, E5; sorted 1, 2, 4, 5, 5, 30,
/// 40 s), support (R1, L1, R4, L4, X4, Y4, M4; sorted 1, 1, 2, 2, 4, 10, 50 s), none (L3).
pub fn rows_by_agent() -> Vec<AggregateRow> {
    vec![
        row(vec![key("research")])
            .spans(7, 1)
            .secs(5, 40, 40)
            .tokens(730, 175)
            .cost(33_010, 4),
        row(vec![key("support")])
            .spans(7, 2)
            .secs(2, 50, 50)
            .tokens(2500, 500)
            .cost(2900, 3),
        row(vec![GroupKey::None])
            .spans(1, 0)
            .secs(20, 20, 20)
            .tokens(50, 10)
            .unpriced(1, 50, 10),
    ]
}

/// The five traces by kind: agent (10, 30, 40, 50 s; R4 failed), embedding (E5), llm (sorted
/// 2, 2, 4, 4, 5, 5, 20 s; 3200/685 tokens; 35900 n$ over 6 priced; L3 unpriced), tool (1, 1,
/// 2 s; X2, X4 failed).
pub fn rows_by_kind() -> Vec<AggregateRow> {
    vec![
        row(vec![key("agent")]).spans(4, 1).secs(30, 50, 50),
        row(vec![key("embedding")])
            .spans(1, 0)
            .secs(1, 1, 1)
            .tokens(80, 0)
            .cost(10, 1),
        row(vec![key("llm")])
            .spans(7, 0)
            .secs(4, 20, 20)
            .tokens(3200, 685)
            .cost(35_900, 6)
            .unpriced(1, 50, 10),
        row(vec![key("tool")]).spans(3, 2).secs(1, 2, 2),
    ]
}

/// The 15 spans in one row: 3 failed (X2, R4, X4); 3280/685 tokens; 35910 n$ over 7 priced;
/// L3 unpriced; sorted durations 1, 1, 1, 2, 2, 2, 4, 4, 5, 5, 10, 20, 30, 40, 50 s (rank 8
/// is 4 s, rank 15 is 50 s).
pub fn row_of_all() -> AggregateRow {
    row(Vec::new())
        .spans(15, 3)
        .secs(4, 50, 50)
        .tokens(3280, 685)
        .cost(35_910, 7)
        .unpriced(1, 50, 10)
}

/// Compares rows one by one, so that a difference names its keys; their durations by their
/// percentiles (the rows written by hand have no histogram; [`latency_within`] checks it).
pub fn expect_rows(what: &str, expected: &[AggregateRow], got: &[AggregateRow]) -> CheckResult {
    let keys = |rows: &[AggregateRow]| rows.iter().map(|r| r.keys.clone()).collect::<Vec<_>>();
    expect_eq(format!("{what}: keys"), &keys(expected), &keys(got))?;
    for (e, g) in expected.iter().zip(got) {
        let mut e = e.clone();
        e.durations = g.durations.clone();
        expect_eq(format!("{what}: row {:?}", e.keys), &e, g)?;
    }
    Ok(())
}

/// The spans within a duration (a latency objective's good events) read the same from the
/// rollups, from the spans, and from the durations themselves, to the rollups' bucket.
pub fn latency_within(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let spans = all_spans(store, SpanFilter::new())?;
    let measured = DurationHistogram::from_durations(
        spans
            .iter()
            .map(|s| s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano)),
    );
    let exact = store
        .aggregate_exact(&AggregateQuery::new(SpanFilter::new(), []))?
        .pop()
        .ok_or("no aggregate row")?;
    let rolled = store.aggregate(&AggregateQuery::new(SpanFilter::new(), []))?;
    let by_kind = store.aggregate(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Kind]))?;
    let llm = by_kind
        .rows
        .iter()
        .find(|r| r.keys == [key("llm")])
        .ok_or("no llm row")?;
    let llm_spans = spans.iter().filter(|s| s.kind == SpanKind::Llm);
    for threshold in [0, SEC, 4 * SEC, 5 * SEC, 50 * SEC, 3_600 * SEC] {
        let what = format!("spans within {} s", threshold / SEC);
        let expected = measured.at_most(threshold);
        expect_eq(
            format!("{what}, from the spans' aggregate"),
            &expected,
            &exact.durations.at_most(threshold),
        )?;
        expect_eq(
            format!("{what}, from the rollups"),
            &expected,
            &rolled.total.durations.at_most(threshold),
        )?;
        let llm_expected = DurationHistogram::from_durations(
            llm_spans
                .clone()
                .map(|s| s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano)),
        )
        .at_most(threshold);
        expect_eq(
            format!("LLM calls {what}, by kind"),
            &llm_expected,
            &llm.durations.at_most(threshold),
        )?;
    }
    // By hand: 15 spans, half of them within the median's 4 s, all within the longest 50 s.
    expect_eq(
        "spans within 50 s",
        &15,
        &rolled.total.durations.at_most(50 * SEC),
    )?;
    ensure(
        rolled.total.durations.at_most(4 * SEC) >= 8,
        "at least 8 of 15 spans within the 4 s median",
    )
}

/// Aggregates of the five traces by model, with no grouping, and filtered: by model the rows
/// of [`rows_by_model`]; all spans in [`row_of_all`]; gpt-4o calls by agent (L1 of support,
/// L5 of research); nothing matched, no row.
pub fn aggregate_by_model(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let by_model =
        store.aggregate_exact(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]))?;
    expect_rows("by model", &rows_by_model(), &by_model)?;
    let all = store.aggregate_exact(&AggregateQuery::new(SpanFilter::new(), []))?;
    expect_rows("all spans", &[row_of_all()], &all)?;
    let gpt4o = AggregateQuery::new(SpanFilter::new().model("gpt-4o"), [GroupBy::Agent]);
    let expected = vec![
        row(vec![key("research")])
            .spans(1, 0)
            .secs(5, 5, 5)
            .tokens(50, 25)
            .cost(20_000, 1),
        row(vec![key("support")])
            .spans(1, 0)
            .secs(2, 2, 2)
            .tokens(1000, 200)
            .cost(2000, 1),
    ];
    expect_rows(
        "gpt-4o calls by agent",
        &expected,
        &store.aggregate_exact(&gpt4o)?,
    )?;
    let none = AggregateQuery::new(SpanFilter::new().agent("nobody"), [GroupBy::Model]);
    expect_rows("spans of no agent", &[], &store.aggregate_exact(&none)?)?;
    Ok(())
}

/// Aggregates of the five traces by agent, by kind, by minute (trace i in minute i − 1:
/// 2, 4, 1, 5, 3 spans), and by two dimensions (support's spans by kind and tool: R1 and R4;
/// L1, L4, M4; X4 and Y4 of `lookup`).
pub fn aggregate_by_agent_kind_and_minute(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let q = |g: Vec<GroupBy>| AggregateQuery::new(SpanFilter::new(), g);
    expect_rows(
        "by agent",
        &rows_by_agent(),
        &store.aggregate_exact(&q(vec![GroupBy::Agent]))?,
    )?;
    expect_rows(
        "by kind",
        &rows_by_kind(),
        &store.aggregate_exact(&q(vec![GroupBy::Kind]))?,
    )?;
    let minutes = store.aggregate_exact(&q(vec![GroupBy::TimeBucket { width_ns: MINUTE }]))?;
    let expected: Vec<_> = [2, 4, 1, 5, 3]
        .into_iter()
        .zip(0u64..)
        .map(|(n, i)| (vec![GroupKey::Bucket(T0 + i * MINUTE)], n))
        .collect();
    expect_eq("span counts by minute", &expected, &keyed_counts(&minutes))?;
    let support = AggregateQuery::new(
        SpanFilter::new().agent("support"),
        [GroupBy::Kind, GroupBy::Tool],
    );
    let expected = vec![
        row(vec![key("agent"), GroupKey::None])
            .spans(2, 1)
            .secs(10, 50, 50),
        row(vec![key("llm"), GroupKey::None])
            .spans(3, 0)
            .secs(2, 4, 4)
            .tokens(2500, 500)
            .cost(2900, 3),
        row(vec![key("tool"), key("lookup")])
            .spans(2, 1)
            .secs(1, 1, 1),
    ];
    expect_rows(
        "support's spans by kind and tool",
        &expected,
        &store.aggregate_exact(&support)?,
    )?;
    Ok(())
}

/// Trace 10, as the Vercel AI SDK reports a call (docs/conventions.md, "Aggregates"): an agent
/// span carrying its run's totals and an `ai.generateText` model call carrying its step's
/// usage and cost, both marked as aggregates (`mark_aggregate`), over the step
/// `ai.generateText.doGenerate` (gpt-4o, 300/60 tokens, 5000 n$).
fn aggregate_trace() -> Vec<SpanRecord> {
    let mut agent = span(10, 1001, "invoke_agent", T0, T0 + 5 * SEC)
        .kind(SpanKind::Agent)
        .tokens(300, 60)
        .build();
    mark_aggregate(&mut agent);
    let mut wrapper = span(10, 1002, "ai.generateText", T0 + SEC, T0 + 4 * SEC)
        .parent(1001)
        .llm("openai", "gpt-4o")
        .tokens(300, 60)
        .cost(5000)
        .build();
    mark_aggregate(&mut wrapper);
    let step = span(
        10,
        1003,
        "ai.generateText.doGenerate",
        T0 + 2 * SEC,
        T0 + 4 * SEC,
    )
    .parent(1002)
    .llm("openai", "gpt-4o")
    .tokens(300, 60)
    .cost(5000)
    .build();
    vec![agent, wrapper, step]
}

/// Trace 10's aggregates count as spans, but neither their usage nor their cost (moved out),
/// nor as unpriced calls: every total is the step's (300/60 tokens, 5000 n$, 1 priced, 0
/// unpriced) over 3 spans, in the aggregate, the summary, the rollup, the overview, the
/// trace's summary and tree; only the step is billable.
pub fn aggregate_spans_count_as_spans_only(store: &dyn Store) -> CheckResult {
    let spans = aggregate_trace();
    store.write_spans(&spans)?;
    // Durations 5, 3, 2 s: sorted 2, 3, 5.
    let all = store.aggregate_exact(&AggregateQuery::new(SpanFilter::new(), []))?;
    let total = row(Vec::new())
        .spans(3, 0)
        .secs(3, 5, 5)
        .tokens(300, 60)
        .cost(5000, 1);
    expect_rows("all spans", std::slice::from_ref(&total), &all)?;
    let by_model =
        store.aggregate_exact(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]))?;
    let expected = vec![
        row(vec![key("gpt-4o")])
            .spans(2, 0)
            .secs(2, 3, 3)
            .tokens(300, 60)
            .cost(5000, 1),
        row(vec![GroupKey::None]).spans(1, 0).secs(5, 5, 5),
    ];
    expect_rows("by model", &expected, &by_model)?;

    let summary = store.overview_exact(TimeRange::ALL)?;
    expect_eq("the summary's spans", &3, &summary.spans)?;
    expect_eq(
        "the summary's tokens",
        &TokenUsage::new(300, 60),
        &summary.usage,
    )?;
    expect_eq(
        "the summary's cost",
        &Some(Usd::from_nanos(5000)),
        &summary.cost,
    )?;
    expect_eq("the summary's priced spans", &1, &summary.priced)?;
    expect_eq("the summary's unpriced spans", &0, &summary.unpriced)?;
    let rollup = store.aggregate(&AggregateQuery::new(SpanFilter::new(), []))?;
    let mut got = rollup.total.clone();
    got.duration = total.duration;
    got.durations = total.durations.clone();
    expect_eq("the rollup's total (durations aside)", &total, &got)?;
    let overview = store.overview(&OverviewQuery::new(TimeRange::new(T0, T0 + MINUTE)))?;
    expect_eq("the overview's spans", &3, &overview.summary.spans)?;
    expect_eq(
        "the overview's tokens",
        &TokenUsage::new(300, 60),
        &overview.summary.usage,
    )?;
    expect_eq(
        "the overview's cost",
        &Some(Usd::from_nanos(5000)),
        &overview.summary.cost,
    )?;
    expect_eq(
        "the overview's unpriced spans",
        &0,
        &overview.summary.unpriced,
    )?;

    let tree = store.trace(trace_id(10))?.ok_or("trace 10 is missing")?;
    expect_eq("the trace's span count", &3, &tree.summary.span_count)?;
    expect_eq(
        "the trace's tokens",
        &TokenUsage::new(300, 60),
        &tree.summary.usage,
    )?;
    expect_eq(
        "the trace's cost",
        &Some(Usd::from_nanos(5000)),
        &tree.summary.cost,
    )?;
    expect_eq(
        "the trace's unpriced spans",
        &0,
        &tree.summary.unpriced_count,
    )?;
    let root = tree.nodes.first().ok_or("trace 10 has no node")?;
    expect_eq("the root's subtree spans", &3, &root.subtree.spans)?;
    expect_eq(
        "the root's subtree tokens",
        &TokenUsage::new(300, 60),
        &root.subtree.usage,
    )?;
    expect_eq(
        "the root's subtree cost",
        &Some(Usd::from_nanos(5000)),
        &root.subtree.cost,
    )?;
    expect_eq("the root's subtree unpriced", &0, &root.subtree.unpriced)?;

    let billable = ids_of(&all_spans(store, SpanFilter::new().billable(true))?);
    expect_eq("billable spans", &span_ids(&[1003]), &billable)?;
    let others = ids_of(&all_spans(store, SpanFilter::new().billable(false))?);
    expect_eq("spans not billable", &span_ids(&[1001, 1002]), &others)?;
    let wrapper = store
        .span(trace_id(10), span_id(1002))?
        .ok_or("the wrapper is missing")?;
    ensure(
        is_aggregate(&wrapper),
        "the wrapper read back is not marked as an aggregate",
    )?;
    expect_eq("the wrapper read back", &spans[1], &wrapper)?;
    Ok(())
}

/// Trace 10's aggregates are not calls (docs/conventions.md, "Aggregates": an aggregate
/// enters no call count): the summary and the overview count one LLM call, the step (2 s),
/// and list gpt-4o among the billable models with the step alone.
pub fn aggregate_spans_are_not_calls(store: &dyn Store) -> CheckResult {
    store.write_spans(&aggregate_trace())?;
    let step = row(vec![key("gpt-4o")])
        .spans(1, 0)
        .secs(2, 2, 2)
        .tokens(300, 60)
        .cost(5000, 1);
    let summary = store.overview_exact(TimeRange::ALL)?;
    expect_rows(
        "the summary's billable models",
        std::slice::from_ref(&step),
        &summary.by_model,
    )?;
    expect_eq("the summary's LLM calls", &1, &summary.requests)?;
    let latency = Percentiles {
        p50_ns: 2 * SEC,
        p95_ns: 2 * SEC,
        p99_ns: 2 * SEC,
    };
    expect_eq(
        "the summary's LLM latency",
        &Some(latency),
        &summary.latency,
    )?;
    let overview = store.overview(&OverviewQuery::new(TimeRange::new(T0, T0 + MINUTE)))?;
    let models = keyed_counts(&overview.summary.by_model);
    expect_eq(
        "the overview's billable models",
        &vec![(vec![key("gpt-4o")], 1)],
        &models,
    )?;
    expect_eq("the overview's LLM calls", &1, &overview.summary.requests)?;
    let per_minute: Vec<u64> = overview.series.iter().map(|p| p.requests).collect();
    expect_eq("the overview's LLM calls by minute", &vec![1], &per_minute)?;
    Ok(())
}

/// The exact summary of the five traces: 5 traces, 15 spans, 3 failed; 7 LLM calls, none
/// failed, latency 4/20/20 s (sorted 2, 2, 4, 4, 5, 5, 20 s); the totals of [`row_of_all`];
/// billable spans by model costliest first (unpriced last) and by agent (research: L2, M2,
/// L5, E5 sorted 1, 4, 5, 5 s; support: L1, L4, M4 sorted 2, 2, 4 s; none: L3). Then over
/// [T0+60 s, T0+180 s): traces 2 and 3, spans R2, L2, X2, M2, L3.
pub fn summary(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let by_model = rows_by_model();
    let pick = |k: &str| by_model.iter().find(|r| r.keys == vec![key(k)]).cloned();
    let costliest: Vec<AggregateRow> = [
        "gpt-4o",
        "claude-3-5-sonnet-20241022",
        "gpt-4o-mini",
        "text-embedding-3-small",
        "local-llama",
    ]
    .into_iter()
    .filter_map(pick)
    .collect();
    let expected = Summary {
        range: TimeRange::ALL,
        traces: 5,
        spans: 15,
        span_errors: 3,
        requests: 7,
        errors: 0,
        error_rate: 0.0,
        latency: Some(Percentiles {
            p50_ns: 4 * SEC,
            p95_ns: 20 * SEC,
            p99_ns: 20 * SEC,
        }),
        usage: TokenUsage::new(3280, 685),
        cost: Some(Usd::from_nanos(35_910)),
        priced: 7,
        unpriced: 1,
        unpriced_usage: TokenUsage::new(50, 10),
        by_model: costliest,
        by_agent: vec![
            row(vec![key("research")])
                .spans(4, 0)
                .secs(4, 5, 5)
                .tokens(730, 175)
                .cost(33_010, 4),
            row(vec![key("support")])
                .spans(3, 0)
                .secs(2, 4, 4)
                .tokens(2500, 500)
                .cost(2900, 3),
            row(vec![GroupKey::None])
                .spans(1, 0)
                .secs(20, 20, 20)
                .tokens(50, 10)
                .unpriced(1, 50, 10),
        ],
    };
    expect_summary(
        "the summary of all time",
        &expected,
        &store.overview_exact(TimeRange::ALL)?,
    )?;

    // L2 4 s, M2 5 s, L3 20 s.
    let range = TimeRange::new(T0 + MINUTE, T0 + 3 * MINUTE);
    let claude = row(vec![key("claude-3-5-sonnet-20241022")])
        .spans(2, 0)
        .secs(4, 5, 5)
        .tokens(600, 150)
        .cost(13_000, 2);
    let local = row(vec![key("local-llama")])
        .spans(1, 0)
        .secs(20, 20, 20)
        .tokens(50, 10)
        .unpriced(1, 50, 10);
    let mut research = claude.clone();
    research.keys = vec![key("research")];
    let mut no_agent = local.clone();
    no_agent.keys = vec![GroupKey::None];
    let expected = Summary {
        range,
        traces: 2,
        spans: 5,
        span_errors: 1,
        requests: 3,
        errors: 0,
        error_rate: 0.0,
        latency: Some(Percentiles {
            p50_ns: 5 * SEC,
            p95_ns: 20 * SEC,
            p99_ns: 20 * SEC,
        }),
        usage: TokenUsage::new(650, 160),
        cost: Some(Usd::from_nanos(13_000)),
        priced: 2,
        unpriced: 1,
        unpriced_usage: TokenUsage::new(50, 10),
        by_model: vec![claude, local],
        by_agent: vec![research, no_agent],
    };
    expect_summary(
        "the summary of [T0+60 s, T0+180 s)",
        &expected,
        &store.overview_exact(range)?,
    )?;
    Ok(())
}

/// Compares summaries field by field, so that a difference names its field.
pub fn expect_summary(what: &str, expected: &Summary, got: &Summary) -> CheckResult {
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
    expect_eq(format!("{what}: latency"), &expected.latency, &got.latency)?;
    expect_eq(format!("{what}: tokens"), &expected.usage, &got.usage)?;
    expect_eq(format!("{what}: cost"), &expected.cost, &got.cost)?;
    expect_eq(
        format!("{what}: unpriced tokens"),
        &expected.unpriced_usage,
        &got.unpriced_usage,
    )?;
    expect_rows(
        &format!("{what}: by model"),
        &expected.by_model,
        &got.by_model,
    )?;
    expect_rows(
        &format!("{what}: by agent"),
        &expected.by_agent,
        &got.by_agent,
    )
}

/// Grouped by an attribute: the span's value, else its resource's (the span's wins), as text
/// (a number as its decimal), and spans with neither in the group without a value; the
/// rollups, which keep no attributes, answer it exactly too.
pub fn aggregate_by_an_attribute_of_the_span_or_its_resource(store: &dyn Store) -> CheckResult {
    use agentrace_core::{AttributeValue, Resource};
    use std::sync::Arc;
    const KEY: &str = "customer.id";
    let resource = |value: Option<AttributeValue>| {
        let mut resource = Resource::new("svc-a");
        if let Some(v) = value {
            resource.attributes.insert(KEY.to_owned(), v);
        }
        Arc::new(resource)
    };
    let text = |s: &str| AttributeValue::String(s.into());
    // (span attribute, resource attribute) of spans 1..=5.
    let cases = [
        (Some(text("acme")), None),
        (None, Some(text("globex"))),
        (Some(text("acme")), Some(text("globex"))),
        (None, None),
        (Some(AttributeValue::I64(42)), None),
    ];
    let spans: Vec<SpanRecord> = cases
        .into_iter()
        .enumerate()
        .map(|(i, (own, of_resource))| {
            let n = u16::try_from(i).unwrap_or_default() + 1;
            let mut s = span(40, n, "call", T0 + u64::from(n) * SEC, T0 + 100 * SEC).build();
            s.resource = resource(of_resource);
            if let Some(v) = own {
                s.attributes.insert(KEY, v);
            }
            s
        })
        .collect();
    store.write_spans(&spans)?;
    let by = GroupBy::Attribute(crate::AttributeKey::new(KEY)?);
    let q = AggregateQuery::new(SpanFilter::new(), [by]);
    let want = vec![
        (vec![key("42")], 1),
        (vec![key("acme")], 2),
        (vec![key("globex")], 1),
        (vec![GroupKey::None], 1),
    ];
    let sorted = |mut rows: Vec<(Vec<GroupKey>, u64)>| {
        rows.sort();
        rows
    };
    let mut want = want;
    want.sort();
    expect_eq(
        "spans by customer.id, exactly",
        &want,
        &sorted(keyed_counts(&store.aggregate_exact(&q)?)),
    )?;
    expect_eq(
        "spans by customer.id, from the rollups",
        &want,
        &sorted(keyed_counts(&store.aggregate(&q)?.rows)),
    )
}
