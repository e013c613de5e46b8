//! # agentrace-genai
//!
//! The agentrace adapter for [genai](https://docs.rs/genai): [`TracedClient`] wraps a
//! `genai::Client` with the same `exec_chat`, `exec_chat_stream` and `exec_embed` (`embed`,
//! `embed_batch`), and turns every chat into an LLM span (every embeddings call into an
//! embedding span, billed for its input) — the provider genai resolves the model to (OTel GenAI names: `openai`,
//! `anthropic`, `gcp.gemini`, …), requested and responding model, usage by token type (input,
//! output, cache reads and writes, reasoning), finish reason, the time to the first chunk of a
//! stream, errors with their type — priced by agentrace. A call that would push a budget over its
//! limit is refused **before genai builds its request**, with [`Error::BudgetExceeded`].
//!
//! It records through [`agentrace_core::model_call`], so its spans are those of every other
//! adapter: recorded, priced and settled under `agentrace::init()`, visible under any plain
//! `tracing` subscriber. Prompts and replies are recorded only when content capture is on
//! (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`). genai's own `otel` feature is
//! not needed (with it on, genai's `genai.chat` span would nest under the adapter's as a second
//! record of the same call).
//!
//! ## Turning it on
//!
//! ```no_run
//! use agentrace_genai::TracedClient;
//! use genai::chat::{ChatMessage, ChatRequest};
//! # async fn run(budgets: std::sync::Arc<agentrace_core::budget::Budgets>) -> Result<(), agentrace_genai::Error> {
//!
//! let client = TracedClient::new(genai::Client::builder().build()?).budgets(budgets);
//! let request = ChatRequest::new(vec![ChatMessage::user("Name three sights in Lisbon.")]);
//! let answer = client.exec_chat("gpt-4o-mini", request, None).await?;
//! # Ok(()) }
//! ```
//!
//! A stream reports its usage only when asked (`ChatOptions::with_capture_usage(true)`);
//! without it the span's usage is unknown, never guessed. genai reports no responding model for
//! streams: the span then names the requested one only.

mod response;
mod stream;

use std::sync::Arc;

use agentrace_core::budget::Budgets;
use agentrace_core::model_call::{BudgetGate, ModelCall, ModelRequest};
use agentrace_core::tokenize::ChatMessage as PromptMessage;
use genai::adapter::AdapterKind;
use genai::chat::{ChatOptions, ChatRequest, ChatResponse, ChatRole};
use genai::embed::{EmbedOptions, EmbedRequest, EmbedResponse};
use tracing::Instrument;

pub use agentrace_core::budget::BudgetExceeded;
pub use stream::TracedChatStream;

/// Why a traced call did not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Refused before anything was sent: the call would cross a budget.
    #[error(transparent)]
    BudgetExceeded(BudgetExceeded),
    /// genai failed (resolving the model, the provider's answer, the network).
    #[error(transparent)]
    Genai(#[from] genai::Error),
}

/// A `genai::Client` whose calls are traced, priced and held to budgets.
#[derive(Debug, Clone)]
pub struct TracedClient {
    inner: genai::Client,
    gate: Option<BudgetGate>,
}

impl TracedClient {
    /// Traces the calls of `inner`, with no budget.
    pub fn new(inner: genai::Client) -> Self {
        Self { inner, gate: None }
    }

    /// Refuses calls that would cross one of `budgets` (pass the same to
    /// `agentrace::init().budgets(…)`), estimating with the built-in prices.
    #[must_use]
    pub fn budgets(self, budgets: Arc<Budgets>) -> Self {
        self.gate(BudgetGate::new(budgets))
    }

    /// Refuses calls that would cross a budget of `gate` (your prices, your output allowance).
    #[must_use]
    pub fn gate(mut self, gate: BudgetGate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The wrapped client, for what the adapter does not trace (model lists, resolution).
    pub fn inner(&self) -> &genai::Client {
        &self.inner
    }

    /// genai's `exec_chat`, traced.
    pub async fn exec_chat(
        &self,
        model: &str,
        request: ChatRequest,
        options: Option<&ChatOptions>,
    ) -> Result<ChatResponse, Error> {
        let call = self.start(model, &request, options).await?;
        let span = call.span().clone();
        match self
            .inner
            .exec_chat(model, request, options)
            .instrument(span)
            .await
        {
            Ok(answer) => {
                call.finish(&response::of_chat(&answer));
                Ok(answer)
            }
            Err(error) => {
                call.fail(&response::error_type(&error), &error.to_string());
                Err(Error::Genai(error))
            }
        }
    }

    /// genai's `exec_chat_stream`, traced: the call ends when the stream ends, fails or is
    /// dropped.
    pub async fn exec_chat_stream(
        &self,
        model: &str,
        request: ChatRequest,
        options: Option<&ChatOptions>,
    ) -> Result<TracedChatStream, Error> {
        let call = self.start(model, &request, options).await?;
        let span = call.span().clone();
        match self
            .inner
            .exec_chat_stream(model, request, options)
            .instrument(span)
            .await
        {
            Ok(answer) => Ok(TracedChatStream::new(answer.stream, call)),
            Err(error) => {
                call.fail(&response::error_type(&error), &error.to_string());
                Err(Error::Genai(error))
            }
        }
    }

    /// genai's `embed`, traced: an embeddings span billed for its input tokens.
    pub async fn embed(
        &self,
        model: &str,
        input: impl Into<String>,
        options: Option<&EmbedOptions>,
    ) -> Result<EmbedResponse, Error> {
        self.exec_embed(model, EmbedRequest::new(input), options)
            .await
    }

    /// genai's `embed_batch`, traced.
    pub async fn embed_batch(
        &self,
        model: &str,
        inputs: Vec<String>,
        options: Option<&EmbedOptions>,
    ) -> Result<EmbedResponse, Error> {
        self.exec_embed(model, EmbedRequest::new_batch(inputs), options)
            .await
    }

    /// genai's `exec_embed`, traced: admitted (or refused before genai builds its request) for
    /// the tokens of its inputs, then recorded as an `embeddings {model}` span.
    pub async fn exec_embed(
        &self,
        model: &str,
        request: EmbedRequest,
        options: Option<&EmbedOptions>,
    ) -> Result<EmbedResponse, Error> {
        let target = self.inner.resolve_service_target(model).await?;
        let provider = provider_name(target.model.adapter_kind);
        let inputs: Vec<PromptMessage<'_>> = request
            .inputs()
            .into_iter()
            .map(|text| PromptMessage::new("user", text))
            .collect();
        let model_request =
            ModelRequest::embeddings(provider, target.model.model_name.as_str(), &inputs);
        let call =
            ModelCall::start(&model_request, self.gate.as_ref()).map_err(Error::BudgetExceeded)?;
        let span = call.span().clone();
        match self
            .inner
            .exec_embed(model, request, options)
            .instrument(span)
            .await
        {
            Ok(answer) => {
                call.finish(&response::of_embed(&answer));
                Ok(answer)
            }
            Err(error) => {
                call.fail(&response::error_type(&error), &error.to_string());
                Err(Error::Genai(error))
            }
        }
    }

    /// Resolves the model's provider, then admits the call (or refuses it) and opens its span.
    async fn start(
        &self,
        model: &str,
        request: &ChatRequest,
        options: Option<&ChatOptions>,
    ) -> Result<ModelCall, Error> {
        let target = self.inner.resolve_service_target(model).await?;
        let provider = provider_name(target.model.adapter_kind);
        let texts = prompt(request);
        let messages: Vec<PromptMessage<'_>> = texts
            .iter()
            .map(|(role, text)| PromptMessage::new(role, text))
            .collect();
        let max_output = options.and_then(|o| o.max_tokens).map(u64::from);
        let model_request =
            ModelRequest::chat(provider, target.model.model_name.as_str(), &messages)
                .max_output_tokens(max_output);
        ModelCall::start(&model_request, self.gate.as_ref()).map_err(Error::BudgetExceeded)
    }
}

/// The request's system text and messages as `(role, text)`, for the estimate and capture.
fn prompt(request: &ChatRequest) -> Vec<(&'static str, String)> {
    let system = request.system.iter().map(|s| ("system", s.clone()));
    let messages = request.messages.iter().map(|m| {
        let role = match m.role {
            ChatRole::System => "system",
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
            ChatRole::Tool => "tool",
        };
        (role, m.content.texts().join("\n"))
    });
    system.chain(messages).collect()
}

/// The OTel GenAI `gen_ai.provider.name` of a genai adapter (well-known names where the
/// conventions have one, genai's own lower-case name otherwise).
pub fn provider_name(kind: AdapterKind) -> &'static str {
    match kind {
        AdapterKind::OpenAI | AdapterKind::OpenAIResp => "openai",
        AdapterKind::Anthropic => "anthropic",
        AdapterKind::Gemini | AdapterKind::GeminiIx => "gcp.gemini",
        AdapterKind::Vertex => "gcp.vertex_ai",
        AdapterKind::BedrockApi => "aws.bedrock",
        AdapterKind::Groq => "groq",
        AdapterKind::Cohere => "cohere",
        AdapterKind::DeepSeek => "deepseek",
        AdapterKind::Mistral => "mistral_ai",
        AdapterKind::Xai => "x_ai",
        AdapterKind::Moonshot => "moonshot_ai",
        other => other.as_lower_str(),
    }
}
