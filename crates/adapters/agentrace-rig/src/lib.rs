//! # agentrace-rig
//!
//! The agentrace adapter for [rig](https://docs.rs/rig-core) 0.44. rig already traces itself
//! with OpenTelemetry GenAI spans: `invoke_agent` for an agent's run, `chat` for each model call
//! (with the provider, the requested and responding model, usage by token type — cache reads
//! and writes, reasoning), `execute_tool` for each tool call. agentrace records those as agent,
//! LLM and tool spans and prices them. This crate adds what rig does not record, and the budget
//! stop: [`traced`] wraps a rig model's transport, so that each call
//!
//! - is checked against budgets **before any request leaves the process** — refused with rig's
//!   own error, a denied `ErrorReport` (code `budget_exceeded`) that reaches the caller of a
//!   model call as a `ProviderError` and of an agent run as a `PromptError`, from which
//!   [`Refusal::budget_exceeded`] reads the [`BudgetExceeded`] back; the call's `chat` span
//!   fails with `error.type` `budget_exceeded`, nothing billed;
//! - records on rig's `chat` span the provider in OTel GenAI's names (`gcp.gemini`,
//!   `mistral_ai`, …), the finish reasons, the time to the first chunk of a stream, and a
//!   failure as error status with its type (the HTTP status, `429`, `500`, … or rig's class of
//!   the failure, `http` for a refused connection or a timeout).
//!
//! The estimate counts the text the request's JSON body sends (exact token counts with
//! agentrace's `tiktoken` feature) plus its output cap or the gate's allowance; the priced
//! record of the span settles it with the actual cost.
//!
//! ## Turning it on
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn run(budgets: Arc<agentrace_core::budget::Budgets>) -> Result<(), Box<dyn std::error::Error>> {
//! use rig_core::providers::openai::OpenAI;
//!
//! use agentrace_rig::{Refusal, WithBudgets};
//!
//! let model = agentrace_rig::traced(OpenAI::from_env()?.chat("gpt-4o-mini")).budgets(budgets);
//! let agent = rig_agent::AgentBuilder::new(model).name("planner").build();
//! # async fn run(agent: rig_agent::Agent) {
//! match agent.prompt("Plan a day in Lisbon.").await {
//!     Err(error) if error.budget_exceeded().is_some() => { /* stopped before spending */ }
//!     _ => {}
//! }
//! # }
//! # Ok(()) }
//! ```
//!
//! It works under any `tracing` subscriber; what it adds to rig's spans beyond rig's declared
//! fields, and the settlement of reservations by priced records, need an agentrace layer
//! (`agentrace::init()`). Without one, a reservation settles at its estimate.
//!
//! **Content.** Prompts and replies are recorded by rig itself, following rig's own switch,
//! off by default; this adapter records no content of its own. To follow agentrace's capture
//! setting (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`), build agents with
//! `.record_content_telemetry(agentrace_core::capture::message_content())`.
//!
//! Only HTTP wires are traced (every rig provider: the transport speaks `Encoded` requests and
//! `WireFrame` replies). Embeddings pass through it too, estimated for their inputs alone;
//! reranking and the other operations are checked with a chat's estimate when their model has a
//! price (an unpriced call is admitted).

mod refusal;
mod reply;
mod request;

use std::sync::Arc;

use agentrace_core::budget::Budgets;
use agentrace_core::model_call::{BudgetGate, ModelCall, ModelRequest};
use agentrace_core::tokenize::ChatMessage;
use rig_core::driver::{Exchange, Model, Opening, Transport};
use rig_core::wire::{Body, Encoded, Wire, WireFrame};

pub use agentrace_core::budget::BudgetExceeded;
pub use refusal::Refusal;

/// A rig transport whose calls are traced, priced and held to budgets: what [`traced`] puts
/// under a model.
#[derive(Clone)]
pub struct Traced<T> {
    inner: T,
    provider: Arc<str>,
    model: Option<Arc<str>>,
    gate: Option<BudgetGate>,
}

impl<T> std::fmt::Debug for Traced<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traced")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

/// `model` with its transport traced: same wire, same requests, each call recorded and, with
/// budgets, admitted or refused before it is sent.
pub fn traced<W: Wire, T>(model: Model<W, T>) -> Model<W, Traced<T>> {
    let describe = model.wire.describe();
    let transport = Traced {
        inner: model.transport,
        provider: provider_name(describe.name).into(),
        model: describe.model.map(Arc::from),
        gate: None,
    };
    Model::new(model.wire, transport)
}

/// Turning budgets on for a [`traced`] model.
pub trait WithBudgets: Sized {
    /// Refuses calls that would cross one of `budgets` (pass the same to
    /// `agentrace::init().budgets(…)`), estimating with the built-in prices.
    #[must_use]
    fn budgets(self, budgets: Arc<Budgets>) -> Self {
        self.gate(BudgetGate::new(budgets))
    }

    /// Refuses calls that would cross a budget of `gate` (your prices, your output allowance).
    #[must_use]
    fn gate(self, gate: BudgetGate) -> Self;
}

impl<W, T> WithBudgets for Model<W, Traced<T>> {
    fn gate(mut self, gate: BudgetGate) -> Self {
        self.transport.gate = Some(gate);
        self
    }
}

impl<W, T> Transport<W> for Traced<T>
where
    W: Wire<Payload = Encoded, Frame = WireFrame>,
    T: Transport<W>,
{
    fn send(&self, payload: Encoded, exchange: Exchange) -> Opening<WireFrame> {
        let this = self.clone();
        // rig polls the opening inside its `chat` span: that span is current below.
        Opening::new(async move {
            let mode = exchange.mode;
            let call = this
                .admit(&payload)
                .map_err(|refused| refusal::refused(&refused))?;
            match this.inner.send(payload, exchange).await {
                Ok(opened) => {
                    Ok(opened.map_frames(|frames| reply::Observed::new(frames, call, mode)))
                }
                Err(error) => {
                    call.fail(&reply::error_type(&error), &error.to_string());
                    Err(error)
                }
            }
        })
    }
}

impl<T> Traced<T> {
    /// Admits the call (or refuses it) and adopts rig's span for it.
    fn admit(&self, payload: &Encoded) -> Result<ModelCall, BudgetExceeded> {
        let sent = match payload.request.body() {
            Body::Bytes(bytes) => request::Sent::read(bytes),
            Body::Multipart(_) => request::Sent::default(),
        };
        let model = sent
            .model
            .as_deref()
            .or(self.model.as_deref())
            .unwrap_or_default();
        let messages: Vec<ChatMessage<'_>> = sent
            .texts
            .iter()
            .map(|(role, text)| ChatMessage::new(role, text))
            .collect();
        let request = if payload.request.uri().path().ends_with("/embeddings") {
            ModelRequest::embeddings(&self.provider, model, &messages)
        } else {
            ModelRequest::chat(&self.provider, model, &messages)
                .max_output_tokens(sent.max_output_tokens)
        };
        ModelCall::adopt(tracing::Span::current(), &request, self.gate.as_ref())
    }
}

/// The OTel GenAI `gen_ai.provider.name` of a rig provider (well-known names where the
/// conventions have one, rig's own name otherwise).
pub fn provider_name(rig_name: &str) -> &str {
    match rig_name {
        "azure.openai" => "azure.ai.openai",
        "mistral" => "mistral_ai",
        "xai" => "x_ai",
        "moonshot" => "moonshot_ai",
        other => other,
    }
}
