//! Orphan repair: the rule the server applies to the stored spans of a trace.
//!
//! Async agent runs (LangGraph, LangChain callbacks on other tasks, fire-and-forget tool calls)
//! emit spans whose parent arrives late, never, or that lost their context and start a tree of
//! their own in the same trace. [`plan`] looks at the spans of one trace as stored and says
//! what to change:
//!
//! 1. **Late parent: nothing to do.** A span names its parent by id; once the parent is stored,
//!    the tree links them. A span marked as an orphan whose parent has now arrived is unmarked
//!    ([`Repair::ClearOrphan`]).
//! 2. **True orphan.** A span whose parent is still missing once the grace period has passed
//!    since it was received is marked as an orphan ([`Repair::MarkOrphan`]): shown at the top
//!    level, flagged. Its parent id is kept, so rule 1 links it if the parent ever arrives.
//! 3. **Detached root.** When a trace has several roots, the *primary* root is the one that
//!    starts first (on a tie, the one that ends last; if still tied there is no primary and
//!    nothing is re-attached). Every other root, once the grace period has passed, is
//!    re-attached ([`Repair::Reattach`]) to the span of the primary root's tree that contains
//!    it in time (`start ≤ its start` and `its end ≤ end`) **only when that is unambiguous**:
//!    the deepest containing span is unique and every other containing span is one of its
//!    ancestors. Containing spans on two branches (parallel steps that both cover it), or
//!    none at all, leave the root alone. agentrace never invents a parent it cannot justify.
//!
//! The plan is idempotent: applied repairs change the shapes (a re-attached root is no longer
//! a root, a marked orphan is marked), so planning again returns nothing new. Pass each span's
//! current parent ([`SpanShape::parent_span_id`]: the reported one, or the one a re-attach
//! gave it) and its orphan mark.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use agentrace_core::SpanId;

use crate::shape::SpanShape;

/// How long a span may wait for its parent before it is marked as an orphan, and a detached
/// root before it is re-attached: long enough for a parent that ends after a long agent run
/// to be exported and received.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10 * 60);

/// A change to the stored spans of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repair {
    /// The span's parent is still missing after the grace period: mark it as an orphan.
    MarkOrphan {
        /// The span.
        span: SpanId,
    },
    /// The span was marked as an orphan and its parent has arrived: unmark it.
    ClearOrphan {
        /// The span.
        span: SpanId,
    },
    /// The span is a detached root: give it `parent` (keep the fact that it was repaired, e.g.
    /// as an attribute, since the emitter did not report this link).
    Reattach {
        /// The detached root.
        span: SpanId,
        /// The span of the trace that contains it in time, unambiguously.
        parent: SpanId,
    },
}

/// The repairs of one trace's spans at `now_unix_nano` (see the module docs for the rule).
/// Spans of other traces must not be mixed in; duplicate span ids count once.
pub fn plan(spans: &[SpanShape], now_unix_nano: u64, grace: Duration) -> Vec<Repair> {
    let grace = u64::try_from(grace.as_nanos()).unwrap_or(u64::MAX);
    let waited = |s: &SpanShape| now_unix_nano >= s.received_unix_nano.saturating_add(grace);
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_id).collect();
    let mut repairs = Vec::new();
    let mut roots = Vec::new();
    for span in spans {
        match span.parent_span_id {
            Some(parent) if ids.contains(&parent) && parent != span.span_id => {
                if span.orphan {
                    repairs.push(Repair::ClearOrphan { span: span.span_id });
                }
            }
            Some(_) => {
                if !span.orphan && waited(span) {
                    repairs.push(Repair::MarkOrphan { span: span.span_id });
                }
            }
            None => roots.push(span),
        }
    }
    if roots.len() < 2 {
        return repairs;
    }
    let Some(primary) = primary_root(&roots) else {
        return repairs;
    };
    let tree = Tree::of(spans, primary);
    for root in roots {
        if root.span_id == primary.span_id || !waited(root) {
            continue;
        }
        if let Some(parent) = tree.unambiguous_container(root) {
            repairs.push(Repair::Reattach {
                span: root.span_id,
                parent,
            });
        }
    }
    repairs
}

/// The root that starts first, ending last on a tie; none if still tied.
fn primary_root<'a>(roots: &[&'a SpanShape]) -> Option<&'a SpanShape> {
    let key = |s: &SpanShape| (s.start_time_unix_nano, u64::MAX - s.end_time_unix_nano);
    let best = roots.iter().map(|s| key(s)).min()?;
    let mut first = roots.iter().filter(|s| key(s) == best);
    let primary = first.next()?;
    first
        .all(|other| other.span_id == primary.span_id)
        .then_some(*primary)
}

/// The spans connected to the primary root, with their depth and parent in that tree.
struct Tree<'a> {
    /// (span, depth, index of its parent in `members`).
    members: Vec<(&'a SpanShape, usize, Option<usize>)>,
}

impl<'a> Tree<'a> {
    fn of(spans: &'a [SpanShape], root: &'a SpanShape) -> Self {
        let mut children: HashMap<SpanId, Vec<&SpanShape>> = HashMap::new();
        for span in spans {
            if let Some(parent) = span.parent_span_id {
                children.entry(parent).or_default().push(span);
            }
        }
        let mut seen = HashSet::from([root.span_id]);
        let mut members = vec![(root, 0, None)];
        let mut next = 0;
        while let Some(&(span, depth, _)) = members.get(next) {
            for &child in children.get(&span.span_id).into_iter().flatten() {
                if seen.insert(child.span_id) {
                    members.push((child, depth + 1, Some(next)));
                }
            }
            next += 1;
        }
        Self { members }
    }

    /// The deepest span containing `detached` in time, if it is unique and every other
    /// containing span is one of its ancestors.
    fn unambiguous_container(&self, detached: &SpanShape) -> Option<SpanId> {
        let contains = |s: &SpanShape| {
            s.start_time_unix_nano <= detached.start_time_unix_nano
                && detached.end_time_unix_nano <= s.end_time_unix_nano
        };
        let containing: Vec<usize> = (0..self.members.len())
            .filter(|&i| contains(self.members[i].0))
            .collect();
        let deepest = containing.iter().map(|&i| self.members[i].1).max()?;
        let mut at_deepest = containing.iter().filter(|&&i| self.members[i].1 == deepest);
        let innermost = *at_deepest.next()?;
        if at_deepest.next().is_some() {
            return None;
        }
        let mut chain = HashSet::new();
        let mut current = Some(innermost);
        while let Some(i) = current {
            chain.insert(i);
            current = self.members[i].2;
        }
        containing
            .iter()
            .all(|i| chain.contains(i))
            .then_some(self.members[innermost].0.span_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(60);
    const S: u64 = 1_000_000_000;
    const NOW: u64 = 10_000 * S;

    fn id(n: u8) -> SpanId {
        SpanId::from_bytes([n; 8])
    }

    /// A span received long enough ago.
    fn span(n: u8, parent: Option<u8>, start: u64, end: u64) -> SpanShape {
        SpanShape {
            span_id: id(n),
            parent_span_id: parent.map(id),
            start_time_unix_nano: start * S,
            end_time_unix_nano: end * S,
            received_unix_nano: NOW - 2 * GRACE.as_nanos() as u64,
            orphan: false,
            step: false,
            reports_usage: false,
            mcp: None,
            tool: false,
        }
    }

    fn fresh(mut s: SpanShape) -> SpanShape {
        s.received_unix_nano = NOW - 1;
        s
    }

    #[test]
    fn a_complete_tree_needs_nothing() {
        let spans = [span(1, None, 0, 10), span(2, Some(1), 1, 5)];
        assert!(plan(&spans, NOW, GRACE).is_empty());
    }

    #[test]
    fn a_late_parent_is_waited_for_then_linked() {
        // The child arrives first: within the grace period nothing happens.
        let child = fresh(span(2, Some(1), 1, 5));
        assert!(plan(&[child], NOW, GRACE).is_empty());
        // The parent arrives: the tree links by id, nothing to repair.
        assert!(plan(&[child, fresh(span(1, None, 0, 10))], NOW, GRACE).is_empty());
    }

    #[test]
    fn a_true_orphan_is_marked_once_and_cleared_if_its_parent_arrives() {
        let orphan = span(2, Some(9), 1, 5);
        assert_eq!(
            plan(&[span(1, None, 0, 10), orphan], NOW, GRACE),
            vec![Repair::MarkOrphan { span: id(2) }]
        );
        let marked = SpanShape {
            orphan: true,
            ..orphan
        };
        assert!(plan(&[span(1, None, 0, 10), marked], NOW, GRACE).is_empty());
        let parent = fresh(span(9, Some(1), 0, 6));
        assert_eq!(
            plan(&[span(1, None, 0, 10), marked, parent], NOW, GRACE),
            vec![Repair::ClearOrphan { span: id(2) }]
        );
    }

    #[test]
    fn a_detached_root_goes_under_the_deepest_span_containing_it() {
        // root(1) 0–100 > agent(2) 10–90 > step(3) 20–60; detached root(4) 30–40.
        let spans = [
            span(1, None, 0, 100),
            span(2, Some(1), 10, 90),
            span(3, Some(2), 20, 60),
            span(5, Some(2), 70, 80),
            span(4, None, 30, 40),
            span(6, Some(4), 31, 39),
        ];
        assert_eq!(
            plan(&spans, NOW, GRACE),
            vec![Repair::Reattach {
                span: id(4),
                parent: id(3)
            }]
        );
        // Applied, the plan is empty.
        let mut repaired = spans;
        repaired[4].parent_span_id = Some(id(3));
        assert!(plan(&repaired, NOW, GRACE).is_empty());
        // Not before the grace period has passed.
        let mut waiting = spans;
        waiting[4] = fresh(waiting[4]);
        assert!(plan(&waiting, NOW, GRACE).is_empty());
    }

    #[test]
    fn ambiguous_containment_is_left_alone() {
        // Two parallel branches both cover the detached root (4).
        let parallel = [
            span(1, None, 0, 100),
            span(2, Some(1), 10, 90),
            span(3, Some(1), 10, 90),
            span(4, None, 30, 40),
        ];
        assert!(plan(&parallel, NOW, GRACE).is_empty());
        // Branches at different depths still disagree: 3 (depth 2) vs 5 (depth 1).
        let uneven = [
            span(1, None, 0, 100),
            span(2, Some(1), 10, 90),
            span(3, Some(2), 20, 60),
            span(5, Some(1), 25, 70),
            span(4, None, 30, 40),
        ];
        assert!(plan(&uneven, NOW, GRACE).is_empty());
        // Nothing contains it.
        let outside = [span(1, None, 0, 100), span(4, None, 90, 120)];
        assert!(plan(&outside, NOW, GRACE).is_empty());
        // Two roots starting and ending together: no primary.
        let twins = [span(1, None, 0, 100), span(4, None, 0, 100)];
        assert!(plan(&twins, NOW, GRACE).is_empty());
    }

    #[test]
    fn cycles_and_self_parents_end() {
        let spans = [
            span(1, None, 0, 100),
            span(2, Some(3), 10, 20),
            span(3, Some(2), 10, 20),
            span(4, Some(4), 10, 20),
            span(5, None, 12, 18),
        ];
        // 4 names itself: its parent is missing. 2 and 3 form a cycle off the tree; 5 sits in
        // the root alone.
        assert_eq!(
            plan(&spans, NOW, GRACE),
            vec![
                Repair::MarkOrphan { span: id(4) },
                Repair::Reattach {
                    span: id(5),
                    parent: id(1)
                }
            ]
        );
    }
}
