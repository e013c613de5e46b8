//! Attribution across writes, for a store that reads a trace's stored spans when it writes
//! more of them: the rule of `agentrace_core::Attribution` (each inherited field flows from
//! the nearest ancestor that has it to every descendant that lacks it) applied to the spans
//! stored and the spans arriving together, whatever order they came in.

use std::collections::HashMap;

use agentrace_core::{Attribution, SpanId, SpanRecord};

/// Ancestors followed at most: a parent chain longer than this (or a cycle) stops there.
const MAX_DEPTH: usize = 10_000;

/// A stored span, as attribution sees it: its parent and its stored values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNode {
    /// The span.
    pub span_id: SpanId,
    /// Its parent, if it has one.
    pub parent_span_id: Option<SpanId>,
    /// Its values as stored (its own, and what it inherited so far).
    pub attribution: Attribution,
}

/// A stored span whose values the arriving spans complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The span.
    pub span_id: SpanId,
    /// Its values as stored.
    pub before: Attribution,
    /// Its values now.
    pub after: Attribution,
}

/// Completes the attribution of one trace: fills the fields each of `arriving` lacks from its
/// ancestors (stored or arriving), and returns the stored spans to which the arriving ones
/// bring values they lacked. `arriving` holds no span that is stored.
pub fn complete(stored: &[StoredNode], arriving: &mut [SpanRecord]) -> Vec<Completed> {
    let mut nodes: HashMap<SpanId, (Option<SpanId>, Attribution)> =
        HashMap::with_capacity(stored.len() + arriving.len());
    for s in stored {
        nodes.insert(s.span_id, (s.parent_span_id, s.attribution.clone()));
    }
    for s in arriving.iter() {
        nodes.insert(s.span_id, (s.parent_span_id, Attribution::of(s)));
    }
    let mut resolved: HashMap<SpanId, Attribution> = HashMap::with_capacity(nodes.len());
    for s in arriving.iter_mut() {
        let values = resolve(s.span_id, &nodes, &mut resolved);
        values.fill_missing(s);
    }
    stored
        .iter()
        .filter_map(|s| {
            let after = resolve(s.span_id, &nodes, &mut resolved);
            (after != s.attribution).then(|| Completed {
                span_id: s.span_id,
                before: s.attribution.clone(),
                after,
            })
        })
        .collect()
}

/// The values of `span_id`: its own, completed from its ancestors (memoized in `resolved`).
fn resolve(
    span_id: SpanId,
    nodes: &HashMap<SpanId, (Option<SpanId>, Attribution)>,
    resolved: &mut HashMap<SpanId, Attribution>,
) -> Attribution {
    // The chain up to the first ancestor already resolved (or the top).
    let mut chain = Vec::new();
    let mut at = Some(span_id);
    let mut above = Attribution::default();
    while let Some(id) = at {
        if let Some(done) = resolved.get(&id) {
            above = done.clone();
            break;
        }
        let Some((parent, _)) = nodes.get(&id) else {
            break;
        };
        if chain.len() >= MAX_DEPTH || chain.contains(&id) {
            break;
        }
        chain.push(id);
        at = *parent;
    }
    for id in chain.into_iter().rev() {
        let mut values = nodes.get(&id).map(|(_, a)| a.clone()).unwrap_or_default();
        values.inherit_from(&above);
        resolved.insert(id, values.clone());
        above = values;
    }
    resolved.get(&span_id).cloned().unwrap_or(above)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use agentrace_core::{Resource, TraceId};

    use super::*;

    fn span(id: u64, parent: Option<u64>) -> SpanRecord {
        let mut s = SpanRecord::new(
            TraceId::from_bytes([1; 16]),
            SpanId::from_bytes(id.to_be_bytes()),
            "s",
            id,
            id + 1,
            Arc::new(Resource::new("svc")),
        );
        s.parent_span_id = parent.map(|p| SpanId::from_bytes(p.to_be_bytes()));
        s
    }

    fn stored(s: &SpanRecord) -> StoredNode {
        StoredNode {
            span_id: s.span_id,
            parent_span_id: s.parent_span_id,
            attribution: Attribution::of(s),
        }
    }

    #[test]
    fn a_late_agent_completes_its_stored_descendants() {
        // Grandchild and child stored first; the agent arrives.
        let grandchild = span(3, Some(2));
        let child = span(2, Some(1));
        let mut agent = span(1, None);
        agent.agent_name = Some("planner".into());
        agent.session_id = Some("s-1".into());
        let completed = complete(&[stored(&grandchild), stored(&child)], &mut [agent]);
        assert_eq!(completed.len(), 2);
        for c in &completed {
            assert_eq!(c.after.agent_name.as_deref(), Some("planner"));
            assert_eq!(c.after.session_id.as_deref(), Some("s-1"));
            assert_eq!(c.before, Attribution::default());
        }
    }

    #[test]
    fn arriving_spans_take_from_stored_ancestors_and_keep_their_own() {
        let mut agent = span(1, None);
        agent.agent_name = Some("planner".into());
        agent.user_id = Some("u".into());
        let mut tool = span(2, Some(1));
        tool.agent_name = Some("coder".into());
        let mut arriving = [tool];
        let completed = complete(&[stored(&agent)], &mut arriving);
        assert!(completed.is_empty());
        assert_eq!(arriving[0].agent_name.as_deref(), Some("coder"));
        assert_eq!(arriving[0].user_id.as_deref(), Some("u"));
    }

    #[test]
    fn a_parent_cycle_ends_and_keeps_own_values() {
        let a = span(1, Some(2));
        let mut b = span(2, Some(1));
        b.framework = Some("f".into());
        let mut arriving = [b];
        complete(&[stored(&a)], &mut arriving);
        assert_eq!(arriving[0].framework.as_deref(), Some("f"));
    }
}
