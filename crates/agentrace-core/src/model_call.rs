//! A model call as a framework adapter records it: the budget check before anything is sent,
//! one LLM span (`chat {model}`) for the call, and what came back — usage by token type, the
//! responding model, finish reasons, the time to the first chunk of a stream — or the error.
//!
//! Every adapter crate (`agentrace-async-openai`, `agentrace-rig`, `agentrace-genai`) records
//! its calls through this module, so that a call looks the same whichever framework made it;
//! an adapter for another framework should too (docs/writing-an-adapter.md). The adapter's part
//! is to read its framework's request and response into a [`ModelRequest`] and a
//! [`ModelResponse`], and to turn a refusal into its framework's error.
//!
//! **Budgets.** With a [`BudgetGate`], [`ModelCall::start`] estimates the call's cost from its
//! prompt (exact token counts with the `tiktoken` feature) and an output allowance, and reserves
//! it in every budget the call belongs to — its model and the agent, session, user and framework
//! it inherits from the spans around it — or refuses it with [`BudgetExceeded`] before any
//! request leaves the process (a `budget.exceeded` event says so). The estimate is reconciled
//! with the actual cost afterwards: by the span's priced record when an agentrace layer records
//! the span (the [`BudgetProcessor`](crate::budget::BudgetProcessor) settles it), by hand from
//! the usage otherwise; a call that failed settles at zero, one whose usage is unknown (a stream
//! without a usage chunk) at its estimate.
//!
//! **Content** (prompts and replies) is recorded only when [`crate::capture::message_content`]
//! says so (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`), as `gen_ai.input.messages`
//! and `gen_ai.output.messages`.
//!
//! ```
//! use agentrace_core::model_call::{ModelCall, ModelRequest, ModelResponse};
//! use agentrace_core::tokenize::ChatMessage;
//! use agentrace_core::TokenUsage;
//!
//! let messages = [ChatMessage::new("user", "Hello")];
//! let request = ModelRequest::chat("openai", "gpt-4o-mini", &messages);
//! let call = ModelCall::start(&request, None)?;
//! // ... send the request; for a stream, call `call.chunk_received()` on each chunk ...
//! call.finish(&ModelResponse {
//!     model: Some("gpt-4o-mini-2024-07-18"),
//!     usage: Some(TokenUsage::new(8, 2)),
//!     finish_reasons: vec!["stop"],
//!     ..ModelResponse::default()
//! });
//! # Ok::<(), agentrace_core::budget::BudgetExceeded>(())
//! ```

use std::sync::Arc;
use std::time::Instant;

use tracing::Span;

use crate::budget::{BudgetExceeded, Budgets, CallContext, ReservationId};
use crate::cost::{PriceBook, PriceTable, compute_cost, estimate_cost};
use crate::model::{TokenUsage, Usd};
use crate::semconv::gen_ai;
use crate::tokenize::ChatMessage;
use crate::{capture, now_unix_nano, spans};

/// The `error.type` of a call refused for a budget.
pub const BUDGET_EXCEEDED: &str = "budget_exceeded";

/// Output tokens assumed for a call that does not cap them, when estimating its cost.
pub const DEFAULT_OUTPUT_ALLOWANCE: u64 = 1_024;

/// What a call asks for, as the budget check and the span need it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ModelRequest<'a> {
    /// The provider, as OTel GenAI names it (`openai`, `anthropic`, `gcp.vertex_ai`, …).
    pub provider: &'a str,
    /// The model requested.
    pub model: &'a str,
    /// The messages sent (the estimate counts their tokens; content capture records them).
    pub messages: &'a [ChatMessage<'a>],
    /// The output cap the request sets (`max_tokens`, `max_completion_tokens`), if any.
    pub max_output_tokens: Option<u64>,
    /// What the call does: a chat completion or embeddings.
    pub operation: Operation,
}

/// What a model call does, as OTel GenAI's `gen_ai.operation.name` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Operation {
    /// `chat`: messages in, a reply out (an LLM span).
    #[default]
    Chat,
    /// `embeddings`: texts in, vectors out, billed for the input only (an embedding span).
    Embeddings,
}

impl<'a> ModelRequest<'a> {
    /// A chat completion of `model` from `provider` with `messages`.
    pub const fn chat(provider: &'a str, model: &'a str, messages: &'a [ChatMessage<'a>]) -> Self {
        Self {
            provider,
            model,
            messages,
            max_output_tokens: None,
            operation: Operation::Chat,
        }
    }

    /// Embeddings of `inputs` by `model` from `provider`: estimated for their tokens, no
    /// output.
    pub const fn embeddings(
        provider: &'a str,
        model: &'a str,
        inputs: &'a [ChatMessage<'a>],
    ) -> Self {
        Self {
            provider,
            model,
            messages: inputs,
            max_output_tokens: Some(0),
            operation: Operation::Embeddings,
        }
    }

    /// The same request with an output cap.
    #[must_use]
    pub const fn max_output_tokens(mut self, tokens: Option<u64>) -> Self {
        self.max_output_tokens = tokens;
        self
    }
}

/// What came back from a call that succeeded (fill what the provider said, `..Default::default()`
/// for the rest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelResponse<'a> {
    /// The model that answered.
    pub model: Option<&'a str>,
    /// The provider's response id.
    pub id: Option<&'a str>,
    /// Usage by token type; `None` when the provider did not report it (never guessed).
    pub usage: Option<TokenUsage>,
    /// Why the model stopped, one per choice.
    pub finish_reasons: Vec<&'a str>,
    /// The reply's text, recorded only when content capture is on.
    pub text: Option<&'a str>,
}

/// Refuses calls that would cross a budget: the budgets, the prices to estimate with, and the
/// output tokens to assume when a request sets no cap.
#[derive(Debug, Clone)]
pub struct BudgetGate {
    budgets: Arc<Budgets>,
    prices: Arc<dyn PriceBook>,
    output_allowance: u64,
}

impl BudgetGate {
    /// A gate over `budgets`, estimating with the built-in price table. Pass the same budgets
    /// to `agentrace::init().budgets(…)` so that recorded spans settle the reservations.
    pub fn new(budgets: Arc<Budgets>) -> Self {
        Self {
            budgets,
            prices: Arc::new(PriceTable::builtin()),
            output_allowance: DEFAULT_OUTPUT_ALLOWANCE,
        }
    }

    /// Estimates with `prices` (e.g. a layered book with your own prices).
    #[must_use]
    pub fn with_prices(mut self, prices: Arc<dyn PriceBook>) -> Self {
        self.prices = prices;
        self
    }

    /// Assumes `tokens` of output for requests that set no cap (default
    /// [`DEFAULT_OUTPUT_ALLOWANCE`]).
    #[must_use]
    pub fn with_output_allowance(mut self, tokens: u64) -> Self {
        self.output_allowance = tokens;
        self
    }

    /// The budgets.
    pub fn budgets(&self) -> &Arc<Budgets> {
        &self.budgets
    }

    /// The estimated cost of `request`; `None` when its model has no price (it is then admitted
    /// at zero: an unpriced call cannot be counted, and is not refused for it).
    pub fn estimate(&self, request: &ModelRequest<'_>) -> Option<Usd> {
        let output = request.max_output_tokens.unwrap_or(self.output_allowance);
        estimate_cost(
            self.prices.as_ref(),
            Some(request.provider),
            request.model,
            request.messages,
            output,
            now_unix_nano(),
        )
        .map(|e| e.cost.total)
    }

    /// The cost of `usage` at `model`'s price now; `None` when unpriced.
    fn cost(&self, provider: &str, model: &str, usage: &TokenUsage) -> Option<Usd> {
        let found = self.prices.price(Some(provider), model, now_unix_nano())?;
        Some(compute_cost(usage, found.price).total)
    }
}

/// The reservation a call holds until it is settled.
#[derive(Debug)]
struct Held {
    gate: BudgetGate,
    reservation: ReservationId,
    estimate: Usd,
}

/// One model call in flight: its span (LLM, or embedding) and its budget reservation. Finish it with
/// [`ModelCall::finish`] or [`ModelCall::fail`]; dropped unfinished (a cancelled future), the
/// span closes as it is and the reservation is released.
#[derive(Debug)]
pub struct ModelCall {
    span: Span,
    provider: String,
    model: String,
    sent: Instant,
    first_chunk: bool,
    held: Option<Held>,
    /// The framework opened the span and records the call's usage on it itself.
    adopted: bool,
}

impl ModelCall {
    /// With a `gate`, admits the call or refuses it before anything is sent (no span is left
    /// for a refused call: a `budget.exceeded` event says what happened); then opens the call's
    /// span (`chat {model}`, or `embeddings {model}`), a child of the current span.
    pub fn start(
        request: &ModelRequest<'_>,
        gate: Option<&BudgetGate>,
    ) -> Result<Self, BudgetExceeded> {
        let held = match gate {
            None => None,
            Some(gate) => Some(admit(gate, request, &Span::current())?),
        };
        let span = match request.operation {
            Operation::Chat => spans::llm(request.provider, request.model),
            Operation::Embeddings => spans::embeddings(request.provider, request.model),
        };
        if capture::message_content() && request.operation == Operation::Chat {
            span.record(
                gen_ai::INPUT_MESSAGES,
                input_messages(request.messages).as_str(),
            );
        }
        Ok(Self::recording(span, request, held, false))
    }

    /// For a framework that opens its own span for each call and records the call's usage on it
    /// (rig's `chat` span): admits the call like [`ModelCall::start`], then records onto `span`
    /// — the provider, the time to first chunk, finish reasons, errors, the reservation —
    /// instead of opening a span. A refused call marks `span` failed with `error.type`
    /// `budget_exceeded` (nothing was sent, nothing is billed). Content is left to the
    /// framework's own capture switch.
    pub fn adopt(
        span: Span,
        request: &ModelRequest<'_>,
        gate: Option<&BudgetGate>,
    ) -> Result<Self, BudgetExceeded> {
        let held = match gate {
            None => None,
            Some(gate) => match admit(gate, request, &span) {
                Ok(held) => Some(held),
                Err(refused) => {
                    spans::set_error(&span, BUDGET_EXCEEDED, &refused.to_string());
                    return Err(refused);
                }
            },
        };
        spans::set_attribute(&span, gen_ai::PROVIDER_NAME, request.provider);
        Ok(Self::recording(span, request, held, true))
    }

    fn recording(
        span: Span,
        request: &ModelRequest<'_>,
        held: Option<Held>,
        adopted: bool,
    ) -> Self {
        if let Some(held) = &held
            && let Some(span_id) = recorded_span_id(&span)
        {
            // The span's priced record settles it.
            held.gate.budgets.attach(held.reservation, span_id);
        }
        Self {
            span,
            provider: request.provider.to_owned(),
            model: request.model.to_owned(),
            sent: Instant::now(),
            first_chunk: false,
            held,
            adopted,
        }
    }

    /// The call's span: run the request inside it (`.instrument(call.span().clone())`).
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// A chunk of a streamed reply arrived; the first one sets the time to first chunk.
    pub fn chunk_received(&mut self) {
        if !self.first_chunk {
            self.first_chunk = true;
            spans::set_attribute(
                &self.span,
                gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK,
                self.sent.elapsed().as_secs_f64(),
            );
        }
    }

    /// The call succeeded with `response`.
    pub fn finish(mut self, response: &ModelResponse<'_>) {
        let span = &self.span;
        if let Some(model) = response.model {
            spans::record_response_model(span, model);
        }
        if let Some(id) = response.id {
            spans::set_attribute(span, gen_ai::RESPONSE_ID, id);
        }
        if let Some(usage) = &response.usage {
            spans::record_usage(span, usage);
        }
        if !response.finish_reasons.is_empty() {
            let reasons = serde_json::to_string(&response.finish_reasons).unwrap_or_default();
            spans::set_attribute(span, gen_ai::RESPONSE_FINISH_REASONS, reasons);
        }
        if capture::message_content()
            && let Some(text) = response.text
        {
            let output = output_messages(text, response.finish_reasons.first().copied());
            spans::set_attribute(span, gen_ai::OUTPUT_MESSAGES, output);
        }
        if let Some(held) = self.held.take() {
            let model = response.model.unwrap_or(&self.model);
            let actual = response
                .usage
                .as_ref()
                .and_then(|usage| held.gate.cost(&self.provider, model, usage));
            let recorded = recorded_span_id(&self.span).is_some();
            match actual {
                // The recorded span's price settles it (a framework that records its own
                // usage has put it there).
                Some(_) if recorded => {}
                None if recorded && self.adopted => {}
                Some(cost) => held.gate.budgets.settle(held.reservation, cost),
                // Unknown usage: the estimate is the best figure there is.
                None => held.gate.budgets.settle(held.reservation, held.estimate),
            }
        }
    }

    /// The call failed: `error_type` is low-cardinality (`429`, `500`, `timeout`,
    /// `stream_error`, …), `message` says what happened. Nothing is billed: the reservation is
    /// released.
    pub fn fail(mut self, error_type: &str, message: &str) {
        spans::set_error(&self.span, error_type, message);
        self.release();
    }

    fn release(&mut self) {
        if let Some(held) = self.held.take() {
            held.gate.budgets.settle(held.reservation, Usd::ZERO);
        }
    }
}

impl Drop for ModelCall {
    fn drop(&mut self) {
        self.release();
    }
}

/// Checks `request` against the gate's budgets, as part of the work of `around` (its agent,
/// session, user and framework, its own or inherited).
fn admit(
    gate: &BudgetGate,
    request: &ModelRequest<'_>,
    around: &Span,
) -> Result<Held, BudgetExceeded> {
    let estimate = gate.estimate(request).unwrap_or(Usd::ZERO);
    let attribution = attributes_around(around);
    let cx = CallContext {
        session: attribution.as_ref().and_then(|a| a.session_id.as_deref()),
        agent: attribution.as_ref().and_then(|a| a.agent_name.as_deref()),
        framework: attribution.as_ref().and_then(|a| a.framework.as_deref()),
        model: Some(request.model),
        user: attribution.as_ref().and_then(|a| a.user_id.as_deref()),
    };
    match gate.budgets.reserve(&cx, estimate) {
        Ok(reservation) => Ok(Held {
            gate: gate.clone(),
            reservation,
            estimate,
        }),
        Err(refused) => {
            crate::events::budget_exceeded(&refused, request.model);
            Err(refused)
        }
    }
}

#[cfg(feature = "pipeline")]
fn attributes_around(span: &Span) -> Option<crate::model::Attribution> {
    crate::propagation::attribution_of(span)
}

#[cfg(not(feature = "pipeline"))]
fn attributes_around(_: &Span) -> Option<crate::model::Attribution> {
    None
}

/// The id of `span` when an agentrace layer records it (sampled), whose priced record then
/// reaches the budgets.
#[cfg(feature = "pipeline")]
fn recorded_span_id(span: &Span) -> Option<crate::model::SpanId> {
    crate::propagation::context_of(span)
        .filter(|cx| cx.sampled)
        .map(|cx| cx.span_id)
}

#[cfg(not(feature = "pipeline"))]
fn recorded_span_id(_: &Span) -> Option<crate::model::SpanId> {
    None
}

/// `gen_ai.input.messages`: OTel GenAI's JSON form of `messages`.
fn input_messages(messages: &[ChatMessage<'_>]) -> String {
    let list: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            serde_json::json!({
                "role": m.role,
                "parts": [{ "type": "text", "content": m.content }],
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// `gen_ai.output.messages`: OTel GenAI's JSON form of a reply.
fn output_messages(text: &str, finish_reason: Option<&str>) -> String {
    let mut message = serde_json::json!({
        "role": "assistant",
        "parts": [{ "type": "text", "content": text }],
    });
    if let Some(reason) = finish_reason {
        message["finish_reason"] = reason.into();
    }
    serde_json::Value::Array(vec![message]).to_string()
}
