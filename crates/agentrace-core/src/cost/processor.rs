//! The price processor: stamps cost on every billable span.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{PriceBook, compute_batch_cost, compute_cost};
use crate::model::AttributeValue;
use crate::model::{Cost, InstrumentKind, Measurement, SpanKind, SpanRecord};
use crate::processor::{ProcessContext, Processor, Verdict};
use crate::semconv::agentrace;

/// The attribute naming why a billable span has no cost.
pub const UNPRICED_REASON: &str = "agentrace.cost.unpriced_reason";

/// The counter of billable spans left unpriced, by model.
pub const UNPRICED_METRIC: &str = "agentrace.cost.unpriced";

/// Stamps [`SpanRecord::cost`] on billable spans — LLM and embedding spans with token usage —
/// at the price in force at the span's start.
///
/// Only those leaf calls are billed: agent, chain and workflow spans carry no cost of their own,
/// so sums over a trace never count a call twice. A cost already present (an upstream
/// processor or a repricing) is kept. A span whose model the book does not know keeps
/// `cost: None` — unknown, never zero — gets an [`UNPRICED_REASON`] attribute, and is counted by
/// model (see [`unpriced`](Self::unpriced) and the [`UNPRICED_METRIC`] counter), so it is clear
/// which prices to add.
#[derive(Debug)]
pub struct PriceProcessor {
    book: Arc<dyn PriceBook>,
    unpriced: Mutex<BTreeMap<String, u64>>,
}

impl PriceProcessor {
    /// A processor pricing with `book`.
    pub fn new(book: Arc<dyn PriceBook>) -> Self {
        Self {
            book,
            unpriced: Mutex::default(),
        }
    }

    /// Billable spans left unpriced so far, by model (`(no model)` when none was reported).
    pub fn unpriced(&self) -> BTreeMap<String, u64> {
        self.unpriced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn count_unpriced(
        &self,
        span: &mut SpanRecord,
        model: &str,
        reason: &'static str,
        cx: &mut ProcessContext,
    ) {
        *self
            .unpriced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(model.to_owned())
            .or_default() += 1;
        span.attributes.insert(UNPRICED_REASON, reason);
        cx.emit(
            Measurement::new(UNPRICED_METRIC, InstrumentKind::Counter, 1.0)
                .with_label("gen_ai.request.model", model),
        );
    }
}

/// The cost of a billable span at the price in force at its start: the responding model is
/// tried first (a dated snapshot may have its own price), then the requested one. `None` when
/// the span is not billable or its model has no price. What the [`PriceProcessor`] stamps, and
/// what repricing recomputes.
pub fn price_span(book: &dyn PriceBook, span: &SpanRecord) -> Option<Cost> {
    if !is_billable(span) {
        return None;
    }
    let provider = span.provider.as_deref();
    let batch = matches!(
        span.attributes.get(agentrace::BATCH),
        Some(AttributeValue::Bool(true))
    );
    [
        span.response_model.as_deref(),
        span.request_model.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find_map(|m| {
        let price = book.price(provider, m, span.start_time_unix_nano)?.price;
        // A batch call of a model without batch rates is unpriced, not priced at the
        // standard rates (about twice the batch price).
        if batch {
            compute_batch_cost(&span.usage, price)
        } else {
            Some(compute_cost(&span.usage, price))
        }
    })
}

/// Whether a span is a Batch API call (`agentrace.batch = true`).
fn is_batch(span: &SpanRecord) -> bool {
    matches!(
        span.attributes.get(agentrace::BATCH),
        Some(AttributeValue::Bool(true))
    )
}

/// Whether a span is a billable call: an LLM or embedding call that reported tokens, and is
/// not an aggregate of the calls beneath it ([`is_aggregate`](crate::normalize::is_aggregate)).
pub fn is_billable(span: &SpanRecord) -> bool {
    matches!(span.kind, SpanKind::Llm | SpanKind::Embedding)
        && !span.usage.is_empty()
        && !crate::normalize::is_aggregate(span)
}

impl Processor for PriceProcessor {
    fn name(&self) -> &str {
        "price"
    }

    fn process_span(&self, span: &mut SpanRecord, cx: &mut ProcessContext) -> Verdict {
        if !is_billable(span) || span.cost.is_some() {
            return Verdict::Keep;
        }
        let found = price_span(&*self.book, span);
        match (found, span.model().map(str::to_owned)) {
            (Some(cost), _) => span.cost = Some(cost),
            (None, Some(model)) => {
                let known = self
                    .book
                    .price(span.provider.as_deref(), &model, span.start_time_unix_nano)
                    .is_some();
                let reason = if is_batch(span) && known {
                    "no batch price"
                } else {
                    "unknown model"
                };
                self.count_unpriced(span, &model, reason, cx);
            }
            (None, None) => self.count_unpriced(span, "(no model)", "no model reported", cx),
        }
        Verdict::Keep
    }
}
