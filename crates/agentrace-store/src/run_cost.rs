//! The cost of agent runs ([`CostUnit::AgentRuns`](crate::CostUnit::AgentRuns)): each agent
//! span's own cost and that of every span beneath it, its sub-agents' included, as the trace
//! view's subtree totals give it. A store reads the spans of the traces that hold a run it
//! counts ([`RunCostSpan`]); the runs are judged here, the same for every store.

use std::collections::{BTreeMap, HashMap};

use agentrace_core::{SpanId, TraceId, Usd};

use crate::analytics::CostTally;
use crate::tree::Shape;

/// A span as the cost of agent runs reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCostSpan {
    /// Its trace.
    pub trace_id: TraceId,
    /// Its id.
    pub span_id: SpanId,
    /// Its parent's id.
    pub parent_span_id: Option<SpanId>,
    /// The start of an agent run counted (an agent span of the query's range and scope);
    /// `None` for every other span.
    pub run_start: Option<u64>,
    /// Its own cost (nothing for an unpriced span or an aggregate, whose cost is its steps').
    pub cost: Usd,
    /// A billable span without a price ([`is_unpriced`](crate::is_unpriced)).
    pub unpriced: bool,
}

/// The tallies of the agent runs among `spans` (every span of each trace that holds one):
/// each run's cost is its own and that of every span beneath it (a span whose parent is not
/// among them counts from where it is; a parent cycle, bad input, is entered at one of its
/// spans, so that each span counts once). A run with an unpriced span beneath it has no known cost; the others are
/// within at `threshold` or less. By bucket of `width_ns` of the run's start (all in one,
/// keyed 0, without), oldest first, a bucket without a run left out.
pub fn agent_run_tallies(
    spans: Vec<RunCostSpan>,
    threshold: Usd,
    width_ns: Option<u64>,
) -> Vec<(u64, CostTally)> {
    let mut by_trace: HashMap<TraceId, Vec<RunCostSpan>> = HashMap::new();
    for span in spans {
        by_trace.entry(span.trace_id).or_default().push(span);
    }
    let mut tallies: BTreeMap<u64, CostTally> = BTreeMap::new();
    for mut trace in by_trace.into_values() {
        if !trace.iter().any(|s| s.run_start.is_some()) {
            continue;
        }
        // One order whatever the store's.
        trace.sort_by_key(|s| s.span_id);
        let links: Vec<(SpanId, Option<SpanId>)> = trace
            .iter()
            .map(|s| (s.span_id, s.parent_span_id))
            .collect();
        let shape = Shape::of(&links);
        let mut cost: Vec<Usd> = trace.iter().map(|s| s.cost).collect();
        let mut unpriced: Vec<u64> = trace.iter().map(|s| u64::from(s.unpriced)).collect();
        // Children come after their parent: backwards, each is summed before its parent.
        for placed in shape.order.iter().rev() {
            if let Some(parent) = placed.parent {
                cost[parent] = cost[parent] + cost[placed.span];
                unpriced[parent] += unpriced[placed.span];
            }
        }
        for placed in &shape.order {
            let Some(start) = trace[placed.span].run_start else {
                continue;
            };
            let bucket = width_ns.map_or(0, |width| start / width * width);
            let tally = tallies.entry(bucket).or_default();
            tally.counted += 1;
            if unpriced[placed.span] > 0 {
                tally.unpriced += 1;
            } else if cost[placed.span] <= threshold {
                tally.within += 1;
            }
        }
    }
    tallies.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: u8, parent: Option<u8>, run_start: Option<u64>, cost: i64) -> RunCostSpan {
        RunCostSpan {
            trace_id: TraceId::from_bytes([1; 16]),
            span_id: SpanId::from_bytes([id; 8]),
            parent_span_id: parent.map(|p| SpanId::from_bytes([p; 8])),
            run_start,
            cost: Usd::from_nanos(cost),
            unpriced: false,
        }
    }

    #[test]
    fn a_run_costs_what_is_beneath_it_and_a_sub_agent_counts_on_its_own() {
        // 1 planner (run at 10) ─ 2 call 300 ─ 3 researcher (run at 70) ─ 4 call 500
        //                                    └ 5 tool ─ 6 call 100
        let spans = vec![
            span(1, None, Some(10), 0),
            span(2, Some(1), None, 300),
            span(3, Some(1), Some(70), 0),
            span(4, Some(3), None, 500),
            span(5, Some(3), None, 0),
            span(6, Some(5), None, 100),
        ];
        assert_eq!(
            agent_run_tallies(spans.clone(), Usd::from_nanos(600), None),
            [(0, CostTally::new(2, 1, 0))],
            "the planner 900, the researcher 600"
        );
        assert_eq!(
            agent_run_tallies(spans, Usd::from_nanos(900), Some(60)),
            [(0, CostTally::new(1, 1, 0)), (60, CostTally::new(1, 1, 0))],
            "by the run's start"
        );
    }

    #[test]
    fn an_unpriced_call_beneath_a_run_leaves_its_cost_unknown() {
        let mut unpriced = span(4, Some(3), None, 0);
        unpriced.unpriced = true;
        let spans = vec![
            span(1, None, Some(10), 0),
            span(2, Some(1), None, 300),
            span(3, Some(1), Some(20), 0),
            unpriced,
            // A run whose parent is not stored, and a cycle: each counted once.
            span(7, Some(99), Some(30), 50),
            span(8, Some(9), Some(40), 10),
            span(9, Some(8), None, 20),
        ];
        assert_eq!(
            agent_run_tallies(spans, Usd::from_nanos(1_000), None),
            [(0, CostTally::new(4, 2, 2))]
        );
    }

    #[test]
    fn traces_without_a_run_count_nothing() {
        assert!(agent_run_tallies(vec![span(1, None, None, 5)], Usd::ZERO, None).is_empty());
    }
}
