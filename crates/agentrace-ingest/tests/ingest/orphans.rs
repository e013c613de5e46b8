//! Orphan repair over spans as the server stores them, request by request.

use std::time::Duration;

use agentrace_core::{SpanId, SpanRecord};
use agentrace_ingest::SpanShape;
use agentrace_ingest::orphans::{DEFAULT_GRACE, Repair, plan};

use crate::common::{NOW, SECOND, ingest, span, strings};

const GRACE: Duration = DEFAULT_GRACE;
const LATER: u64 = NOW + 11 * 60 * SECOND;

/// A stored span: decoded, received at `received`.
fn stored(spans: &[&SpanRecord], received: u64) -> Vec<SpanShape> {
    spans.iter().map(|s| SpanShape::of(s, received)).collect()
}

fn id(n: u8) -> SpanId {
    SpanId::from_bytes([n; 8])
}

/// A LangGraph-like run: root 1 (0–100 s) > agent 2 (1–99 s) > node 3 (10–50 s).
fn run() -> Vec<SpanRecord> {
    let attrs = strings(&[("openinference.span.kind", "CHAIN")]);
    ingest(vec![
        span(1, None, "LangGraph", 0, 100, attrs.clone()),
        span(2, Some(1), "agent", 1, 99, attrs.clone()),
        span(3, Some(2), "node", 10, 50, attrs),
    ])
    .records
}

#[test]
fn late_parent_then_true_orphan() {
    let spans = run();
    // The node arrives alone: its parent (2) is missing, within the grace period nothing
    // happens; after it, the node is an orphan.
    let node = stored(&[&spans[2]], NOW);
    assert!(plan(&node, NOW, GRACE).is_empty());
    assert_eq!(
        plan(&node, LATER, GRACE),
        vec![Repair::MarkOrphan { span: id(3) }]
    );
    // The late parent arrives after all: the mark is cleared, the tree links by id.
    let mut all = stored(&[&spans[0], &spans[1]], LATER);
    let mut marked = node;
    marked[0].orphan = true;
    all.extend(marked);
    assert_eq!(
        plan(&all, LATER, GRACE),
        vec![Repair::ClearOrphan { span: id(3) }]
    );
    // A parent that arrives within the grace period needs nothing at all.
    let in_time = stored(&[&spans[2], &spans[1], &spans[0]], NOW);
    assert!(plan(&in_time, LATER, GRACE).is_empty());
}

#[test]
fn detached_root_reattached_when_unambiguous() {
    let spans = run();
    // A callback on another task lost its context: a root of its own in the same trace,
    // 20–30 s, inside node 3.
    let detached = ingest(vec![span(7, None, "on_tool_end", 20, 30, Vec::new())]).records;
    let mut shapes = stored(&spans.iter().collect::<Vec<_>>(), NOW);
    shapes.extend(stored(&[&detached[0]], NOW));
    assert!(
        plan(&shapes, NOW, GRACE).is_empty(),
        "waits for the grace period"
    );
    assert_eq!(
        plan(&shapes, LATER, GRACE),
        vec![Repair::Reattach {
            span: id(7),
            parent: id(3)
        }]
    );
}

#[test]
fn ambiguous_detached_root_left_alone() {
    let mut spans = run();
    // A second node in parallel, 5–60 s: it contains the detached root too.
    spans.extend(ingest(vec![span(4, Some(2), "other node", 5, 60, Vec::new())]).records);
    let detached = ingest(vec![span(7, None, "on_tool_end", 20, 30, Vec::new())]).records;
    let mut shapes = stored(&spans.iter().collect::<Vec<_>>(), NOW);
    shapes.extend(stored(&[&detached[0]], NOW));
    assert!(plan(&shapes, LATER, GRACE).is_empty());
}
