//! The cost of agent runs ([`CostUnit::AgentRuns`](crate::CostUnit::AgentRuns)): each agent
//! span's own cost and that of every span beneath it, its sub-agents' included, as the trace
//! view's subtree totals give it. A store reads the spans of the traces that hold a run it
//! counts ([`RunCostSpan`]), ordered by trace; the runs are judged here ([`AgentRunTallies`]),
//! the same for every store.

use std::collections::BTreeMap;

use agentrace_core::{SpanId, SpanKind, TokenUsage, TraceId, Usd};

use crate::model::is_unpriced;
use crate::tally::CostTally;
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
    /// What it adds to its runs.
    pub adds: RunCost,
}

/// What a span adds to the cost of the runs above it: its own cost (nothing for an unpriced
/// span or an aggregate, whose cost is its steps'), or that it is a billable span without a
/// price, which leaves their cost unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCost {
    cost: Usd,
    unpriced: bool,
}

impl RunCost {
    /// A span of `kind` with `usage` (its input and output tokens are enough), priced at
    /// `cost` (`None`: no price), an aggregate or not — as the trace summaries count it.
    pub fn of(kind: SpanKind, usage: &TokenUsage, cost: Option<Usd>, aggregate: bool) -> Self {
        Self {
            cost: cost.filter(|_| !aggregate).unwrap_or(Usd::ZERO),
            unpriced: is_unpriced(kind, usage, cost.is_some(), aggregate),
        }
    }
}

/// The tallies of agent runs, judged one trace at a time as a store streams the spans of the
/// traces that hold them, ordered by trace ([`push`](Self::push)): what a window's read holds
/// in memory is one trace, not the window.
///
/// Each run's cost is its own and that of every span beneath it (a span whose parent is not
/// among its trace's counts from where it is; a parent cycle, bad input, is entered at one of
/// its spans, so that each span counts once). A run with an unpriced span beneath it has no
/// known cost; the others are within at the threshold or less. By bucket of the run's start.
#[derive(Debug)]
pub struct AgentRunTallies {
    threshold: Usd,
    width_ns: Option<u64>,
    trace: Vec<RunCostSpan>,
    tallies: BTreeMap<u64, CostTally>,
}

impl AgentRunTallies {
    /// Runs at most `threshold` within, by bucket of `width_ns` of their start (all in one,
    /// keyed 0, without).
    pub fn new(threshold: Usd, width_ns: Option<u64>) -> Self {
        Self {
            threshold,
            width_ns,
            trace: Vec::new(),
            tallies: BTreeMap::new(),
        }
    }

    /// The next span: a trace's spans come together (a store orders them by trace). A span of
    /// another trace than the last judges the last.
    pub fn push(&mut self, span: RunCostSpan) {
        if self
            .trace
            .last()
            .is_some_and(|s| s.trace_id != span.trace_id)
        {
            self.judge_trace();
        }
        self.trace.push(span);
    }

    /// The tallies, oldest bucket first, a bucket without a run left out.
    pub fn finish(mut self) -> Vec<(u64, CostTally)> {
        self.judge_trace();
        self.tallies.into_iter().collect()
    }

    /// Counts the runs of the trace pushed last, and forgets its spans.
    fn judge_trace(&mut self) {
        let mut trace = std::mem::take(&mut self.trace);
        if !trace.iter().any(|s| s.run_start.is_some()) {
            return;
        }
        // One order whatever the store's.
        trace.sort_by_key(|s| s.span_id);
        let links: Vec<(SpanId, Option<SpanId>)> = trace
            .iter()
            .map(|s| (s.span_id, s.parent_span_id))
            .collect();
        let shape = Shape::of(&links);
        let mut cost: Vec<Usd> = trace.iter().map(|s| s.adds.cost).collect();
        let mut unpriced: Vec<u64> = trace.iter().map(|s| u64::from(s.adds.unpriced)).collect();
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
            let bucket = self.width_ns.map_or(0, |width| start / width * width);
            self.tallies.entry(bucket).or_default().count(
                cost[placed.span],
                unpriced[placed.span] > 0,
                self.threshold,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent_run_tallies(
        spans: Vec<RunCostSpan>,
        threshold: Usd,
        width_ns: Option<u64>,
    ) -> Vec<(u64, CostTally)> {
        let mut tallies = AgentRunTallies::new(threshold, width_ns);
        for span in spans {
            tallies.push(span);
        }
        tallies.finish()
    }

    fn span(id: u8, parent: Option<u8>, run_start: Option<u64>, cost: i64) -> RunCostSpan {
        RunCostSpan {
            trace_id: TraceId::from_bytes([1; 16]),
            span_id: SpanId::from_bytes([id; 8]),
            parent_span_id: parent.map(|p| SpanId::from_bytes([p; 8])),
            run_start,
            adds: RunCost {
                cost: Usd::from_nanos(cost),
                unpriced: false,
            },
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
        unpriced.adds = RunCost::of(SpanKind::Llm, &TokenUsage::new(50, 10), None, false);
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
    fn each_trace_is_judged_on_its_own_spans() {
        let mut other = span(2, Some(1), None, 700);
        other.trace_id = TraceId::from_bytes([2; 16]);
        let mut other_run = span(1, None, Some(10), 0);
        other_run.trace_id = other.trace_id;
        let spans = vec![
            span(1, None, Some(10), 0),
            span(2, Some(1), None, 100),
            other_run,
            other,
        ];
        assert_eq!(
            agent_run_tallies(spans, Usd::from_nanos(500), None),
            [(0, CostTally::new(2, 1, 0))],
            "the same ids in two traces are two runs: 100 and 700"
        );
    }

    #[test]
    fn traces_without_a_run_count_nothing() {
        assert!(agent_run_tallies(vec![span(1, None, None, 5)], Usd::ZERO, None).is_empty());
    }
}
