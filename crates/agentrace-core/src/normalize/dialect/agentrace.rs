//! agentrace's own export (`agentrace-otel`): the cost it computed travels as
//! `agentrace.cost.{input,cache_read,cache_write,output}` with the total in
//! `gen_ai.usage.cost`. When the parts are there the cost is taken as is (it was priced by the
//! emitting process's price book, overrides included), so a span exported by an agentrace
//! library reads back with the same cost.
//!
//! A cost that other emitters report (OpenInference `llm.cost.*`, OpenLIT `gen_ai.usage.cost`
//! alone, Langfuse `cost_details`) stays a raw attribute: agentrace prices those calls from
//! their tokens with its own book, so every stored cost comes from one table.

use crate::semconv::agentrace::{COST_CACHE_READ, COST_CACHE_WRITE, COST_INPUT, COST_OUTPUT};
use crate::{AttributeValue, Cost, SpanRecord, Usd};

pub(crate) fn apply(record: &mut SpanRecord) {
    let part = |key| {
        record
            .attributes
            .get(key)
            .and_then(AttributeValue::as_f64)
            .filter(|d| d.is_finite())
    };
    let parts = [COST_INPUT, COST_CACHE_READ, COST_CACHE_WRITE, COST_OUTPUT].map(part);
    if parts.iter().all(Option::is_none) {
        return;
    }
    let [input, cache_read, cache_write, output] =
        parts.map(|p| p.map_or(Usd::ZERO, Usd::from_dollars));
    record.cost = Some(Cost::from_parts(input, cache_read, cache_write, output));
}
