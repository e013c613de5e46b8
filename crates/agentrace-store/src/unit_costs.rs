//! The provided cost tallies of [`Analytics`](crate::Analytics): traces and sessions judged
//! from the trace list, agent runs from the spans of the traces that hold them (by
//! [`AgentRunTallies`]), the same rules a store applies in place.

use std::collections::{BTreeMap, BTreeSet};

use agentrace_core::normalize::is_aggregate;
use agentrace_core::{SpanId, SpanKind, TraceId, Usd};

use crate::error::QueryError;
use crate::model::{SpanFilter, SpanQuery, TraceSummary};
use crate::read::{PAGE, TraceReader, each_trace, spans_of};
use crate::run_cost::{AgentRunTallies, RunCost, RunCostSpan};
use crate::tally::{CostTally, CostTallyQuery, SessionCost};
use agentrace_core::cost::CostUnit;

/// `q`'s tallies by bucket of `width_ns`.
pub(crate) fn tallies<R: TraceReader + ?Sized>(
    reader: &R,
    q: &CostTallyQuery,
    width_ns: u64,
) -> Result<Vec<(u64, CostTally)>, QueryError> {
    let mut tallies: BTreeMap<u64, CostTally> = BTreeMap::new();
    match q.of {
        CostUnit::Sessions => {
            for part in session_costs(reader, q, width_ns)? {
                tallies.entry(part.bucket).or_default().count(
                    part.cost,
                    part.unpriced > 0,
                    q.threshold,
                );
            }
        }
        CostUnit::AgentRuns => return agent_runs(reader, q, width_ns),
        CostUnit::Traces => each_trace(reader, q.range, |t| {
            if in_scope(q, t) {
                tallies
                    .entry(t.start_unix_nano / width_ns * width_ns)
                    .or_default()
                    .count(
                        t.cost.unwrap_or(Usd::ZERO),
                        t.unpriced_count > 0,
                        q.threshold,
                    );
            }
        })?,
        unit => {
            return Err(QueryError::Invalid(format!(
                "no tally of {unit:?} in the provided cost tallies"
            )));
        }
    }
    Ok(tallies.into_iter().collect())
}

/// Each session's cost in each bucket of `width_ns` of its traces' start, within `q`'s
/// range and scope, by bucket then session.
pub(crate) fn session_costs<R: TraceReader + ?Sized>(
    reader: &R,
    q: &CostTallyQuery,
    width_ns: u64,
) -> Result<Vec<SessionCost>, QueryError> {
    let mut parts: BTreeMap<(u64, String), (Usd, u64)> = BTreeMap::new();
    each_trace(reader, q.range, |t| {
        let Some(session) = t.session_id.as_ref().filter(|_| in_scope(q, t)) else {
            return;
        };
        let bucket = t.start_unix_nano / width_ns * width_ns;
        let part = parts.entry((bucket, session.clone())).or_default();
        part.0 += t.cost.unwrap_or(Usd::ZERO);
        part.1 += t.unpriced_count;
    })?;
    Ok(parts
        .into_iter()
        .map(|((bucket, session), (cost, unpriced))| {
            SessionCost::new(bucket, session, cost, unpriced)
        })
        .collect())
}

/// Whether the trace is within `q`'s scope (its service, agent and user).
fn in_scope(q: &CostTallyQuery, t: &TraceSummary) -> bool {
    q.service.as_ref().is_none_or(|s| *s == t.service_name)
        && q.agent
            .as_ref()
            .is_none_or(|a| t.agent_name.as_ref() == Some(a))
        && q.user
            .as_ref()
            .is_none_or(|u| t.user_id.as_ref() == Some(u))
}

/// The tallies of agent runs: the agent spans of `q`'s range and scope, each judged with its
/// trace's spans.
fn agent_runs<R: TraceReader + ?Sized>(
    reader: &R,
    q: &CostTallyQuery,
    width_ns: u64,
) -> Result<Vec<(u64, CostTally)>, QueryError> {
    let mut filter = SpanFilter::new().range(q.range).kind(SpanKind::Agent);
    filter.service.clone_from(&q.service);
    filter.agent.clone_from(&q.agent);
    filter.user.clone_from(&q.user);
    let mut runs: BTreeMap<TraceId, BTreeSet<SpanId>> = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = reader.spans(&SpanQuery::new(filter.clone()).limit(PAGE).cursor(cursor))?;
        for span in &page.spans {
            runs.entry(span.trace_id).or_default().insert(span.span_id);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut tallies = AgentRunTallies::new(q.threshold, Some(width_ns));
    for (trace_id, counted) in runs {
        for span in spans_of(reader, trace_id)? {
            tallies.push(RunCostSpan {
                trace_id,
                span_id: span.span_id,
                parent_span_id: span.parent_span_id,
                run_start: counted
                    .contains(&span.span_id)
                    .then_some(span.start_time_unix_nano),
                adds: RunCost::of(
                    span.kind,
                    &span.usage,
                    span.cost.as_ref().map(|c| c.total),
                    is_aggregate(&span),
                ),
            });
        }
    }
    Ok(tallies.finish())
}
