//! A trace's spans arranged as a tree: depth first, roots by start, orphans and parent
//! cycles made roots, subtree totals filled. Every store builds its trees here.

use std::collections::HashMap;

use agentrace_core::semconv::agentrace;
use agentrace_core::{AttributeValue, SpanId, SpanRecord};

use crate::model::{SubtreeTotals, TraceNode, TraceSummary, TraceTree};

/// The attributes a trace outline ([`TraceReader::trace_outline`](crate::TraceReader::trace_outline))
/// keeps of each span: the re-attach mark, and the MCP side and server (the agent graph draws
/// MCP servers).
pub const OUTLINE_ATTRIBUTES: [&str; 3] = [
    agentrace::REATTACHED,
    agentrace::MCP_SIDE,
    agentrace::MCP_SERVER,
];

impl TraceTree {
    /// The tree of `spans` (every span of the trace, in any order), with its summary.
    pub fn build(summary: TraceSummary, spans: Vec<SpanRecord>) -> Self {
        let (nodes, roots) = build_tree(spans);
        Self {
            summary,
            nodes,
            roots,
        }
    }
}

/// Arranges spans depth first, without recursion (any depth is safe).
fn build_tree(spans: Vec<SpanRecord>) -> (Vec<TraceNode>, Vec<usize>) {
    // Sorted by start through their indexes: a span is hundreds of bytes, which a sort of the
    // spans themselves moved at every step (a third of reading a 10,000-span trace's outline).
    let mut by_start: Vec<usize> = (0..spans.len()).collect();
    by_start.sort_by_key(|&i| (spans[i].start_time_unix_nano, spans[i].span_id));
    let mut unsorted: Vec<Option<SpanRecord>> = spans.into_iter().map(Some).collect();
    let spans: Vec<SpanRecord> = by_start
        .into_iter()
        .filter_map(|i| unsorted[i].take())
        .collect();
    let Shape { order, children } = Shape::of(
        &spans
            .iter()
            .map(|s| (s.span_id, s.parent_span_id))
            .collect::<Vec<_>>(),
    );
    let n = spans.len();
    let mut position = vec![0usize; n];
    let mut tree_parent = vec![None; n];
    for (pos, placed) in order.iter().enumerate() {
        position[placed.span] = pos;
        tree_parent[placed.span] = placed.parent;
    }
    let mut slots: Vec<Option<SpanRecord>> = spans.into_iter().map(Some).collect();
    let mut nodes = Vec::with_capacity(n);
    let mut roots = Vec::new();
    for (pos, placed) in order.into_iter().enumerate() {
        let i = placed.span;
        if placed.parent.is_none() {
            roots.push(pos);
        }
        let Some(span) = slots[i].take() else {
            continue;
        };
        let reattached = matches!(
            span.attributes.get(agentrace::REATTACHED),
            Some(AttributeValue::Bool(true))
        );
        nodes.push(TraceNode {
            span,
            depth: placed.depth,
            parent: placed.parent.map(|p| position[p]),
            children: children[i]
                .iter()
                // The span where a parent cycle was entered is a root, not a child.
                .filter(|&&c| tree_parent[c] == Some(i))
                .map(|&c| position[c])
                .collect(),
            orphan: placed.orphan,
            reattached,
            subtree: SubtreeTotals::default(),
        });
    }
    SubtreeTotals::fill(&mut nodes);
    (nodes, roots)
}

/// One span's place in a [`Shape`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placed {
    /// The span, by its index among those given.
    pub(crate) span: usize,
    /// How deep: 0 for a root.
    pub(crate) depth: usize,
    /// Its parent in the tree, by index; `None` for a root.
    pub(crate) parent: Option<usize>,
    /// A root whose parent is not among the spans.
    pub(crate) orphan: bool,
}

/// The arrangement of a trace's spans, given as `(span id, parent id)` with siblings in the
/// order they should come: each span once, depth first, every parent before its children.
/// The roots are the spans without a parent among them, and, for each parent cycle (bad
/// input, out of reach of every root), its earliest span. Of spans sharing an id, children
/// hang under the last.
#[derive(Debug)]
pub(crate) struct Shape {
    pub(crate) order: Vec<Placed>,
    /// Each span's children, by index, as given (a cycle's entry among them).
    pub(crate) children: Vec<Vec<usize>>,
}

impl Shape {
    pub(crate) fn of(links: &[(SpanId, Option<SpanId>)]) -> Self {
        let n = links.len();
        let by_id: HashMap<SpanId, usize> = links
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, i))
            .collect();
        let parent_of: Vec<Option<usize>> = links
            .iter()
            .map(|(id, parent)| {
                parent
                    .and_then(|p| by_id.get(&p).copied())
                    .filter(|&p| links[p].0 != *id)
            })
            .collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, parent) in parent_of.iter().enumerate() {
            if let Some(p) = parent {
                children[*p].push(i);
            }
        }
        // Found by walking up parent links once per span, stamping the walk: meeting the
        // current stamp again means a cycle.
        let mut is_root: Vec<bool> = parent_of.iter().map(Option::is_none).collect();
        let mut stamp = vec![0usize; n];
        for i in 0..n {
            if stamp[i] != 0 {
                continue;
            }
            let walk = i + 1;
            let mut j = i;
            loop {
                stamp[j] = walk;
                match parent_of[j] {
                    Some(p) if stamp[p] == 0 => j = p,
                    Some(p) if stamp[p] == walk => {
                        is_root[cycle_entry(&parent_of, p)] = true;
                        break;
                    }
                    // A root, or a span an earlier walk explored.
                    _ => break,
                }
            }
        }
        let mut order = Vec::with_capacity(n);
        let mut visited = vec![false; n];
        let mut stack: Vec<(usize, usize, Option<usize>)> = Vec::new();
        for root in (0..n).filter(|&i| is_root[i]) {
            stack.push((root, 0, None));
            while let Some((i, depth, parent)) = stack.pop() {
                if std::mem::replace(&mut visited[i], true) {
                    continue;
                }
                order.push(Placed {
                    span: i,
                    depth,
                    parent,
                    orphan: parent.is_none() && links[i].1.is_some(),
                });
                for &c in children[i].iter().rev() {
                    if !visited[c] && !is_root[c] {
                        stack.push((c, depth + 1, Some(i)));
                    }
                }
            }
        }
        Self { order, children }
    }
}

/// The earliest span (lowest index) on the parent cycle through `start`.
fn cycle_entry(parent_of: &[Option<usize>], start: usize) -> usize {
    let mut best = start;
    let mut j = start;
    while let Some(p) = parent_of[j] {
        if p == start {
            break;
        }
        best = best.min(p);
        j = p;
    }
    best
}
