//! The cost of agent runs ([`CostUnit::AgentRuns`](agentrace_store::CostUnit::AgentRuns)): the
//! newest version of every span of the traces holding an agent span of the query, streamed by
//! trace and judged as they come (`agentrace_store::AgentRunTallies`).

use agentrace_core::{SpanId, SpanKind, TokenUsage, TraceId, Usd};
use agentrace_store::{
    AgentRunTallies, CostTally, CostTallyQuery, QueryError, RunCost, RunCostSpan,
};
use clickhouse::Row;
use serde::Deserialize;

use super::traces::push_scope;
use crate::error;
use crate::store::ClickHouseStore;

/// A span as the cost of agent runs reads it.
#[derive(Debug, Row, Deserialize)]
struct RunCostRow {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_span_id: Option<[u8; 8]>,
    run_start: Option<i64>,
    kind: String,
    input_tokens: u64,
    output_tokens: u64,
    cost_nanos: Option<i64>,
    aggregate: u8,
}

impl RunCostRow {
    fn span(self) -> Result<RunCostSpan, QueryError> {
        let kind = self
            .kind
            .parse::<SpanKind>()
            .map_err(|e| QueryError::decode("span kind", e))?;
        Ok(RunCostSpan {
            trace_id: TraceId::from_bytes(self.trace_id),
            span_id: SpanId::from_bytes(self.span_id),
            parent_span_id: self.parent_span_id.map(SpanId::from_bytes),
            run_start: self.run_start.and_then(|t| u64::try_from(t).ok()),
            adds: RunCost::of(
                kind,
                &TokenUsage::new(self.input_tokens, self.output_tokens),
                self.cost_nanos.map(Usd::from_nanos),
                self.aggregate != 0,
            ),
        })
    }
}

impl ClickHouseStore {
    /// The tallies of agent runs: the agent spans of `q` (its range, its scope on the span's
    /// own columns) and every span of their traces, in one read, by trace.
    pub(crate) async fn agent_run_tallies(
        &self,
        q: &CostTallyQuery,
        width_ns: Option<u64>,
    ) -> Result<Vec<(u64, CostTally)>, QueryError> {
        let mut run = self.scoped();
        run.push("kind = 'agent'", []);
        run.range("start", &q.range);
        push_scope(&mut run, q, ["service_name", "agent_name", "user_id"]);
        let mut query = self.client().query(&format!(
            "SELECT trace_id, span_id, parent_span_id, \
             if({run}, toUnixTimestamp64Nano(start), NULL) AS run_start, \
             CAST(kind AS String) AS kind, input_tokens, output_tokens, \
             if(isNull(cost_total), NULL, \
                toInt64(toDecimal128(assumeNotNull(cost_total), 9) * 1000000000)) AS cost_nanos, \
             aggregate FROM spans FINAL \
             WHERE {scope} AND trace_id IN (SELECT trace_id FROM spans WHERE {run}) \
             ORDER BY trace_id",
            scope = self.scope(),
            run = run.sql()
        ));
        for p in run.params.iter().chain(&run.params) {
            query = query.bind(p.clone());
        }
        let mut rows = query.fetch::<RunCostRow>().map_err(error::query)?;
        let mut tallies = AgentRunTallies::new(q.threshold, width_ns);
        while let Some(row) = rows.next().await.map_err(error::query)? {
            tallies.push(row.span()?);
        }
        Ok(tallies.finish())
    }
}
