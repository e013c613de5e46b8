//! The rule applied to a set of spans at once: every route that sees more than one span of a
//! trace (OTLP ingest within a request, each store across requests) completes them here, so
//! that "which agent, session and user a span belongs to" is decided in one place.

use std::collections::HashMap;

use super::Attribution;
use crate::model::{SpanId, SpanRecord, TraceId};

/// A span as attribution sees it: where it hangs and its values (its own, and what it
/// inherited so far).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributionNode {
    /// Its trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
    /// Its parent, if it has one.
    pub parent_span_id: Option<SpanId>,
    /// Its values.
    pub values: Attribution,
}

impl AttributionNode {
    /// `span` as it is.
    pub fn of(span: &SpanRecord) -> Self {
        Self {
            trace_id: span.trace_id,
            span_id: span.span_id,
            parent_span_id: span.parent_span_id,
            values: Attribution::of(span),
        }
    }
}

/// What [`complete_attribution`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// The nodes whose values it filled, by index, in order.
    pub filled: Vec<usize>,
    /// The nodes that still lack a value and whose parent is not among the nodes: they await
    /// it (a store keeps them to complete when it arrives), by index, in order.
    pub awaiting: Vec<usize>,
}

/// Where a node stands while its values are resolved.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Todo,
    Climbing,
    Done,
}

/// Completes `nodes` by the rule: each takes the values it lacks from its nearest ancestor
/// among `nodes` that has them (spans of several traces may be mixed; a parent is looked up in
/// the span's own trace). A node's own values are never overwritten; a parent cycle ends where
/// it closes. Linear in the number of nodes.
///
/// A store gives it the spans arriving together with what it holds of their traces (the
/// stored spans' values complete as far as the stored tree goes): filled stored nodes are
/// those an arriving ancestor completes, filled arriving ones those a stored or arriving
/// ancestor completes.
///
/// ```
/// use std::sync::Arc;
/// use agentrace_core::{AttributionNode, Resource, SpanId, SpanRecord, TraceId, complete_attribution};
///
/// let trace = TraceId::random();
/// let mut agent = SpanRecord::new(trace, SpanId::random(), "agent", 0, 9, Arc::new(Resource::new("svc")));
/// agent.agent_name = Some("planner".into());
/// let mut call = SpanRecord::new(trace, SpanId::random(), "chat", 1, 2, agent.resource.clone());
/// call.parent_span_id = Some(agent.span_id);
///
/// // The call arrived first; the agent arrives with it now.
/// let mut nodes = vec![AttributionNode::of(&call), AttributionNode::of(&agent)];
/// let done = complete_attribution(&mut nodes);
/// assert_eq!(done.filled, vec![0]);
/// assert_eq!(nodes[0].values.agent_name.as_deref(), Some("planner"));
/// ```
pub fn complete_attribution(nodes: &mut [AttributionNode]) -> Completion {
    let index: HashMap<(TraceId, SpanId), usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ((n.trace_id, n.span_id), i))
        .collect();
    let parent = |nodes: &[AttributionNode], i: usize| {
        let n = &nodes[i];
        n.parent_span_id
            .and_then(|p| index.get(&(n.trace_id, p)).copied())
    };
    let mut states = vec![State::Todo; nodes.len()];
    let mut filled = vec![false; nodes.len()];
    let mut chain = Vec::new();
    for start in 0..nodes.len() {
        if states[start] != State::Todo {
            continue;
        }
        // Climb to the first ancestor already resolved (or the top, or a node that lacks
        // nothing), then come back down giving each its parent's values.
        chain.push(start);
        states[start] = State::Climbing;
        let mut above: Option<usize> = None;
        while let Some(&top) = chain.last() {
            if nodes[top].values.is_complete() {
                break;
            }
            match parent(nodes, top) {
                Some(p) if states[p] == State::Todo => {
                    states[p] = State::Climbing;
                    chain.push(p);
                }
                Some(p) if states[p] == State::Done => {
                    above = Some(p);
                    break;
                }
                // The top, or a cycle closing.
                _ => break,
            }
        }
        while let Some(i) = chain.pop() {
            if let Some(a) = above
                && a != i
            {
                let from = nodes[a].values.clone();
                filled[i] = nodes[i].values.inherit_from(&from);
            }
            states[i] = State::Done;
            above = Some(i);
        }
    }
    let awaiting = (0..nodes.len())
        .filter(|&i| {
            let n = &nodes[i];
            n.parent_span_id.is_some() && parent(nodes, i).is_none() && !n.values.is_complete()
        })
        .collect();
    Completion {
        filled: (0..nodes.len()).filter(|&i| filled[i]).collect(),
        awaiting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InheritedField;

    fn node(id: u8, parent: Option<u8>) -> AttributionNode {
        AttributionNode {
            trace_id: TraceId::from_bytes([1; 16]),
            span_id: SpanId::from_bytes([id; 8]),
            parent_span_id: parent.map(|p| SpanId::from_bytes([p; 8])),
            values: Attribution::default(),
        }
    }

    #[test]
    fn values_flow_down_from_the_nearest_ancestor_that_has_them() {
        // agent(1) ─ step(2, own agent) ─ call(3); agent(1) ─ tool(4); call 3 listed first.
        let mut agent = node(1, None);
        agent.values.agent_name = Some("planner".into());
        agent.values.session_id = Some("s".into());
        let mut step = node(2, Some(1));
        step.values.agent_name = Some("coder".into());
        let mut nodes = vec![node(3, Some(2)), step, agent, node(4, Some(1))];
        let done = complete_attribution(&mut nodes);
        assert_eq!(done.filled, vec![0, 1, 3]);
        assert!(done.awaiting.is_empty());
        assert_eq!(nodes[0].values.agent_name.as_deref(), Some("coder"));
        assert_eq!(nodes[0].values.session_id.as_deref(), Some("s"));
        assert_eq!(nodes[1].values.agent_name.as_deref(), Some("coder"));
        assert_eq!(nodes[3].values.agent_name.as_deref(), Some("planner"));
    }

    #[test]
    fn spans_whose_parent_is_absent_await_it_unless_they_lack_nothing() {
        let mut whole = node(5, Some(9));
        for f in InheritedField::ALL {
            whole.values.set(f, Some("x".into()));
        }
        let mut nodes = vec![node(2, Some(1)), node(3, Some(2)), whole, node(7, None)];
        let done = complete_attribution(&mut nodes);
        assert!(done.filled.is_empty());
        assert_eq!(done.awaiting, vec![0], "only the top of the chain awaits");
    }

    #[test]
    fn traces_do_not_mix_and_cycles_end() {
        let mut other = node(1, None);
        other.trace_id = TraceId::from_bytes([2; 16]);
        other.values.user_id = Some("u".into());
        let mut a = node(2, Some(3));
        a.values.framework = Some("f".into());
        let mut nodes = vec![node(4, Some(1)), other, a, node(3, Some(2))];
        let done = complete_attribution(&mut nodes);
        assert_eq!(done.awaiting, vec![0], "its parent is in another trace");
        assert_eq!(nodes[0].values.user_id, None);
        assert!(
            done.filled.is_empty(),
            "the cycle closes above node 2: nothing to give"
        );
        assert_eq!(
            nodes[2].values.framework.as_deref(),
            Some("f"),
            "its own value kept"
        );
    }
}
