//! A trace's spans arranged as a tree: depth first, roots by start, orphans and parent
//! cycles made roots, subtree totals filled. Every store builds its trees here.

use std::collections::HashMap;

use agentrace_core::semconv::agentrace;
use agentrace_core::{AttributeValue, SpanRecord};

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
fn build_tree(mut spans: Vec<SpanRecord>) -> (Vec<TraceNode>, Vec<usize>) {
    spans.sort_by_key(|s| (s.start_time_unix_nano, s.span_id));
    let n = spans.len();
    let by_id: HashMap<_, _> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id, i))
        .collect();
    let parent_of: Vec<Option<usize>> = spans
        .iter()
        .map(|s| {
            s.parent_span_id
                .and_then(|p| by_id.get(&p).copied())
                .filter(|&p| spans[p].span_id != s.span_id)
        })
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    // Spans are sorted by start, so children lists come out sorted too.
    for (i, parent) in parent_of.iter().enumerate() {
        if let Some(p) = parent {
            children[*p].push(i);
        }
    }
    // Roots: spans without a (present) parent, and for each parent cycle (bad input, out of
    // reach of every root) its earliest span. Found by walking up parent links once per span,
    // stamping the walk: meeting the current stamp again means a cycle.
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
    // Depth-first order from the roots, by start: (span, depth, parent span, orphan).
    let mut order: Vec<(usize, usize, Option<usize>, bool)> = Vec::with_capacity(n);
    let mut visited = vec![false; n];
    let mut stack: Vec<(usize, usize, Option<usize>)> = Vec::new();
    for root in (0..n).filter(|&i| is_root[i]) {
        stack.push((root, 0, None));
        while let Some((i, depth, parent)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            let orphan = parent.is_none() && spans[i].parent_span_id.is_some();
            order.push((i, depth, parent, orphan));
            for &c in children[i].iter().rev() {
                if !visited[c] && !is_root[c] {
                    stack.push((c, depth + 1, Some(i)));
                }
            }
        }
    }
    let mut position = vec![0usize; n];
    let mut tree_parent = vec![None; n];
    for (pos, (i, _, parent, _)) in order.iter().enumerate() {
        position[*i] = pos;
        tree_parent[*i] = *parent;
    }
    let mut slots: Vec<Option<SpanRecord>> = spans.into_iter().map(Some).collect();
    let mut nodes = Vec::with_capacity(n);
    let mut roots = Vec::new();
    for (pos, (i, depth, parent, orphan)) in order.into_iter().enumerate() {
        if parent.is_none() {
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
            depth,
            parent: parent.map(|p| position[p]),
            children: children[i]
                .iter()
                // The span where a parent cycle was entered is a root, not a child.
                .filter(|&&c| tree_parent[c] == Some(i))
                .map(|&c| position[c])
                .collect(),
            orphan,
            reattached,
            subtree: SubtreeTotals::default(),
        });
    }
    SubtreeTotals::fill(&mut nodes);
    (nodes, roots)
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
