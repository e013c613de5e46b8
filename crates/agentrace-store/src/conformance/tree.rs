//! One trace: its tree (depth first, orphans, subtree totals), its outline, single spans, the
//! spans of a conversation turn, and the LLM call before a tool call.

use crate::{Store, SubtreeTotals, TraceNode, TraceSummary, TraceTree};
use agentrace_core::{Attributes, SpanEvent, SpanKind, SpanRecord, TokenUsage, Usd};

use super::fixtures::{MS, SEC, T0, span, span_id, trace_id};
use super::{CheckResult, expect_eq};

/// The ids of trace 8's spans.
mod ids {
    /// The root (an agent span without attribution fields).
    pub(super) const ROOT: u16 = 801;
    /// An LLM call under the root, with an attribute and a span event.
    pub(super) const A: u16 = 802;
    /// A tool call under the root.
    pub(super) const B: u16 = 803;
    /// A failed LLM call under B.
    pub(super) const C: u16 = 804;
    /// An unpriced LLM call under the root.
    pub(super) const D: u16 = 805;
    /// A span whose parent (`MISSING`) was never received.
    pub(super) const ORPHAN: u16 = 806;
    /// The orphan's parent, never written.
    pub(super) const MISSING: u16 = 899;
}
use ids::*;

/// Trace 8 (times from T0):
///
/// ```text
/// ROOT  agent  0–10 s
/// ├─ A  llm gpt-4o        1–2 s      10/5 tokens, 100 n$  (attribute, span event)
/// ├─ B  tool fetch        3–4 s
/// │  └─ C  llm gpt-4o     3.5–3.8 s  20/4 tokens, 200 n$, failed
/// └─ D  llm mystery-model 5–8 s      30/6 tokens, unpriced
/// ORPHAN tool             2.5–2.7 s  parent MISSING
/// ```
///
/// No span carries an agent, session or user, so every span is stored as written.
fn tree_trace() -> Vec<SpanRecord> {
    let mut a = span(8, A, "chat gpt-4o", T0 + SEC, T0 + 2 * SEC)
        .parent(ROOT)
        .llm("openai", "gpt-4o")
        .tokens(10, 5)
        .cost(100)
        .attribute("gen_ai.request.temperature", 0.25)
        .build();
    a.events.push(SpanEvent {
        name: "gen_ai.choice".to_owned(),
        time_unix_nano: T0 + 1500 * MS,
        attributes: Attributes::new(),
    });
    vec![
        span(8, ROOT, "run", T0, T0 + 10 * SEC)
            .kind(SpanKind::Agent)
            .build(),
        a,
        span(8, B, "execute_tool fetch", T0 + 3 * SEC, T0 + 4 * SEC)
            .parent(ROOT)
            .tool("fetch")
            .build(),
        span(8, C, "chat gpt-4o", T0 + 3500 * MS, T0 + 3800 * MS)
            .parent(B)
            .llm("openai", "gpt-4o")
            .tokens(20, 4)
            .cost(200)
            .error("rate limited", Some("RateLimit"))
            .build(),
        span(8, D, "chat mystery-model", T0 + 5 * SEC, T0 + 8 * SEC)
            .parent(ROOT)
            .llm("acme", "mystery-model")
            .tokens(30, 6)
            .build(),
        span(
            8,
            ORPHAN,
            "execute_tool orphan",
            T0 + 2500 * MS,
            T0 + 2700 * MS,
        )
        .parent(MISSING)
        .tool("orphan")
        .build(),
    ]
}

/// Span `id` of [`tree_trace`].
fn tree_span(id: u16) -> Result<SpanRecord, Box<dyn std::error::Error>> {
    tree_trace()
        .into_iter()
        .find(|s| s.span_id == span_id(id))
        .ok_or_else(|| format!("trace 8 has no span {id}").into())
}

/// Writes trace 8 in an order that is neither by start nor parents first.
fn write_tree(store: &dyn Store) -> CheckResult {
    let spans = tree_trace();
    let order = [D, ORPHAN, C, ROOT, B, A];
    let scrambled: Vec<SpanRecord> = order
        .iter()
        .filter_map(|id| spans.iter().find(|s| s.span_id == span_id(*id)).cloned())
        .collect();
    store.write_spans(&scrambled)?;
    Ok(())
}

/// Totals of a subtree.
fn totals(
    spans: u64,
    errors: u64,
    tokens: (u64, u64),
    cost: Option<i64>,
    unpriced: u64,
) -> SubtreeTotals {
    SubtreeTotals {
        spans,
        errors,
        usage: TokenUsage::new(tokens.0, tokens.1),
        cost: cost.map(Usd::from_nanos),
        unpriced,
    }
}

/// Trace 8's tree, by hand: depth first from the roots by start (ROOT at 0 s, then the
/// orphan at 2.5 s), children by start; subtree totals summed up the tree (ROOT: 5 spans,
/// C's error, 10+20+30 / 5+4+6 tokens, 100+200 n$, D unpriced).
fn expected_tree() -> Result<TraceTree, Box<dyn std::error::Error>> {
    // (span, depth, parent node, child nodes, orphan), depth first.
    type Shape = (u16, usize, Option<usize>, &'static [usize], bool);
    let shape: [Shape; 6] = [
        (ROOT, 0, None, &[1, 2, 4], false),
        (A, 1, Some(0), &[], false),
        (B, 1, Some(0), &[3], false),
        (C, 2, Some(2), &[], false),
        (D, 1, Some(0), &[], false),
        (ORPHAN, 0, None, &[], true),
    ];
    // Each node's subtree: (spans, errors, tokens in/out, cost, unpriced).
    let subtrees = [
        totals(5, 1, (60, 15), Some(300), 1),
        totals(1, 0, (10, 5), Some(100), 0),
        totals(2, 1, (20, 4), Some(200), 0),
        totals(1, 1, (20, 4), Some(200), 0),
        totals(1, 0, (30, 6), None, 1),
        totals(1, 0, (0, 0), None, 0),
    ];
    let mut nodes = Vec::new();
    for ((id, depth, parent, children, orphan), subtree) in shape.into_iter().zip(subtrees) {
        nodes.push(TraceNode {
            span: tree_span(id)?,
            depth,
            parent,
            children: children.to_vec(),
            orphan,
            reattached: false,
            subtree,
        });
    }
    let summary = TraceSummary {
        trace_id: trace_id(8),
        root_span_id: span_id(ROOT),
        root_name: "run".to_owned(),
        has_root: true,
        service_name: "svc-a".to_owned(),
        start_unix_nano: T0,
        end_unix_nano: T0 + 10 * SEC,
        duration_ns: 10 * SEC,
        span_count: 6,
        error_count: 1,
        usage: TokenUsage::new(60, 15),
        cost: Some(Usd::from_nanos(300)),
        unpriced_count: 1,
        session_id: None,
        agent_name: None,
        user_id: None,
        score_mean: None,
    };
    Ok(TraceTree {
        summary,
        nodes,
        roots: vec![0, 5],
    })
}

/// Compares two trees node by node, so that a difference names its node.
fn expect_tree(what: &str, expected: &TraceTree, got: &TraceTree) -> CheckResult {
    expect_eq(format!("{what}: summary"), &expected.summary, &got.summary)?;
    let ids = |t: &TraceTree| t.nodes.iter().map(|n| n.span.span_id).collect::<Vec<_>>();
    expect_eq(
        format!("{what}: spans depth first"),
        &ids(expected),
        &ids(got),
    )?;
    for (e, g) in expected.nodes.iter().zip(&got.nodes) {
        expect_eq(format!("{what}: node of span {}", e.span.span_id), e, g)?;
    }
    expect_eq(format!("{what}: roots"), &expected.roots, &got.roots)
}

/// Trace 8 as a tree: depth first, roots and children by start, the orphan an extra root
/// marked as such, spans as written, subtree totals and the summary as summed by hand; an
/// unknown trace is `None`.
pub fn trace_tree(store: &dyn Store) -> CheckResult {
    write_tree(store)?;
    let tree = store.trace(trace_id(8))?.ok_or("trace 8 is missing")?;
    expect_tree("trace 8", &expected_tree()?, &tree)?;
    let orphans: Vec<_> = tree.orphans().map(|n| n.span.span_id).collect();
    expect_eq("orphans", &vec![span_id(ORPHAN)], &orphans)?;
    expect_eq("an unknown trace", &None, &store.trace(trace_id(200))?)?;
    Ok(())
}

/// Trace 8's outline: the tree of [`trace_tree`] with every span's attributes and span events
/// left out; single spans in full; unknown traces and spans `None`.
pub fn trace_outline_and_single_spans(store: &dyn Store) -> CheckResult {
    write_tree(store)?;
    let mut expected = expected_tree()?;
    for node in &mut expected.nodes {
        node.span.attributes = Attributes::new();
        node.span.events.clear();
    }
    let outline = store
        .trace_outline(trace_id(8))?
        .ok_or("trace 8's outline is missing")?;
    expect_tree("trace 8's outline", &expected, &outline)?;
    expect_eq(
        "the outline of an unknown trace",
        &None,
        &store.trace_outline(trace_id(200))?,
    )?;
    for id in [ROOT, A, C, ORPHAN] {
        let got = store.span(trace_id(8), span_id(id))?;
        expect_eq(format!("span {id}"), &Some(tree_span(id)?), &got)?;
    }
    expect_eq(
        "a span never written",
        &None,
        &store.span(trace_id(8), span_id(MISSING))?,
    )?;
    expect_eq(
        "a span of another trace",
        &None,
        &store.span(trace_id(200), span_id(A))?,
    )?;
    Ok(())
}

/// The spans of trace 8's turn: its earliest root (ROOT), its first LLM call by start (A,
/// 1 s) and its last by end (D, 8 s). The LLM call under a span that ended last by a time:
/// under ROOT by 8 s D (inclusive), by 8 s − 1 ns A; under B C; under ROOT by 1 s none;
/// under the orphan none.
pub fn turn_spans_and_last_llm_call(store: &dyn Store) -> CheckResult {
    write_tree(store)?;
    let turn = store.turn_spans(trace_id(8))?;
    let expected = vec![tree_span(ROOT)?, tree_span(A)?, tree_span(D)?];
    expect_eq("the turn's spans", &expected, &turn)?;
    expect_eq(
        "the turn of an unknown trace",
        &Vec::<SpanRecord>::new(),
        &store.turn_spans(trace_id(200))?,
    )?;
    let cases: [(u16, u64, Option<u16>); 5] = [
        (ROOT, T0 + 8 * SEC, Some(D)),
        (ROOT, T0 + 8 * SEC - 1, Some(A)),
        (B, T0 + 10 * SEC, Some(C)),
        (ROOT, T0 + SEC, None),
        (ORPHAN, T0 + 10 * SEC, None),
    ];
    for (parent, by, want) in cases {
        let got = store.last_llm_call_before(trace_id(8), span_id(parent), by)?;
        let want = want.map(tree_span).transpose()?;
        expect_eq(
            format!(
                "the last LLM call under span {parent} by T0 + {} ns",
                by - T0
            ),
            &want,
            &got,
        )?;
    }
    Ok(())
}
