//! The record queries (`agentrace_store::TraceReader`): traces, spans, sessions, users and
//! events, from the newest version of each span (`FINAL`).

mod list_page;
mod people;
mod records;
mod run_costs;
pub(crate) mod traces;

use agentrace_core::{TokenUsage, Usd};
use clickhouse::Row;
use serde::Deserialize;

/// The sums over some spans: counts, tokens and cost as the API counts them (an aggregate's
/// usage and cost are its steps', not counted again), selected by [`TOTALS`].
#[derive(Debug, Clone, Row, Deserialize)]
pub(crate) struct Totals {
    pub(crate) span_count: u64,
    pub(crate) error_count: u64,
    pub(crate) sum_input: u64,
    pub(crate) sum_output: u64,
    pub(crate) sum_cache_read: u64,
    pub(crate) sum_cache_write: u64,
    pub(crate) sum_reasoning: u64,
    pub(crate) cost_nanos: i64,
    pub(crate) priced: u64,
    pub(crate) unpriced: u64,
}

/// The columns of [`Totals`], as aggregates over `spans`.
pub(crate) const TOTALS: &str = "count() AS span_count, countIf(status_code = 2) AS error_count, \
     sumIf(input_tokens, aggregate = 0) AS sum_input, \
     sumIf(output_tokens, aggregate = 0) AS sum_output, \
     sumIf(cache_read_tokens, aggregate = 0) AS sum_cache_read, \
     sumIf(cache_write_tokens, aggregate = 0) AS sum_cache_write, \
     sumIf(ifNull(reasoning_tokens, 0), aggregate = 0) AS sum_reasoning, \
     toInt64(sumIf(toDecimal128(assumeNotNull(cost_total), 9), \
        aggregate = 0 AND isNotNull(cost_total)) * 1000000000) AS cost_nanos, \
     countIf(aggregate = 0 AND isNotNull(cost_total)) AS priced, \
     countIf(cost_total IS NULL AND aggregate = 0 \
        AND (kind IN ('llm', 'embedding') OR input_tokens <> 0 OR output_tokens <> 0)) \
        AS unpriced";

impl Totals {
    /// The tokens (a total's one-hour cache writes are kept per span only; reasoning is
    /// unknown when no span reported any).
    pub(crate) fn usage(&self) -> TokenUsage {
        TokenUsage {
            input_tokens: self.sum_input,
            output_tokens: self.sum_output,
            cache_read_tokens: self.sum_cache_read,
            cache_write_tokens: self.sum_cache_write,
            cache_write_1h_tokens: 0,
            reasoning_tokens: (self.sum_reasoning > 0).then_some(self.sum_reasoning),
        }
    }

    /// The cost of the priced spans; `None` when none is priced.
    pub(crate) fn cost(&self) -> Option<Usd> {
        (self.priced > 0).then(|| Usd::from_nanos(self.cost_nanos))
    }
}
