//! # agentrace-async-openai
//!
//! The agentrace adapter for [async-openai](https://docs.rs/async-openai): a tower layer for its
//! `middleware` feature that turns every chat completion into an LLM span — provider, requested
//! and responding model, usage by token type (input, output, cache reads, reasoning), finish
//! reasons, the time to the first chunk of a stream (usage from its final chunk), errors (429,
//! 5xx, timeouts) with their type — priced by agentrace, and that refuses a call **before any
//! request is sent** when it would push a budget over its limit: the call fails with
//! `OpenAIError::Boxed` holding a [`BudgetExceeded`] ([`budget_exceeded`] finds it).
//!
//! It records through [`agentrace_core::model_call`], so its spans are those of every other
//! adapter: they work under `agentrace::init()` (recorded, priced, settled against budgets)
//! and under any plain `tracing` subscriber. Prompts and replies are recorded only when
//! content capture is on (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`).
//!
//! ## Turning it on
//!
//! ```no_run
//! use async_openai::{Client, config::OpenAIConfig};
//! # fn run(budgets: std::sync::Arc<agentrace_core::budget::Budgets>) {
//!
//! let http = agentrace_async_openai::traced(reqwest::Client::new()).budgets(budgets);
//! let client = Client::with_config(OpenAIConfig::new()).with_http_service(http);
//! # }
//! ```
//!
//! [`traced`] is async-openai's default stack (its `OpenAIRetryLayer` over a `ReqwestService`)
//! under the [`TraceLayer`], so one span covers a call with its retries, as the OTel GenAI
//! conventions ask. Compose your own stack with [`TraceLayer`] (outside the retry layer).
//! Note that `Client::with_http_client` after `with_http_service` replaces the whole stack.
//!
//! ## What is traced
//!
//! `POST …/chat/completions` (plain and streamed), and `POST …/embeddings` as an embedding
//! span (`embeddings {model}`, billed for its input tokens, estimated from its text inputs);
//! other requests pass through untouched. A stream reports its usage only when the request asks for it
//! (`stream_options.include_usage`); without it the span's usage is unknown, never guessed.
//! The estimate a budget reserves (the prompt's tokens, counted exactly with the `tiktoken`
//! feature of `agentrace`, and `max_completion_tokens` or an allowance of output) is settled
//! with the actual cost once the call ends.

mod request;
mod response;
mod stream;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use agentrace_core::budget::Budgets;
use agentrace_core::model_call::{BudgetGate, ModelCall};
use async_openai::error::OpenAIError;
use async_openai::middleware::retry::{OpenAIRetry, OpenAIRetryLayer};
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use http_body_util::BodyExt;
use tracing::Instrument;

pub use agentrace_core::budget::BudgetExceeded;

use self::request::ModelCallRequest;

/// The provider recorded when none is set: OpenAI's API.
pub const DEFAULT_PROVIDER: &str = "openai";

/// async-openai's default HTTP stack (retries over reqwest) under a [`TraceLayer`].
pub type TracedReqwest = TraceService<OpenAIRetry<ReqwestService>>;

/// async-openai's default HTTP stack over `client`, traced: pass it to
/// `Client::with_http_service`.
pub fn traced(client: reqwest::Client) -> TracedReqwest {
    use tower::Layer;
    TraceLayer::new().layer(OpenAIRetryLayer::default().layer(ReqwestService::new(client)))
}

/// The budget refusal inside an error of a call made through a [`TraceService`], if that is
/// what it is (also when an outer layer boxed the error again).
pub fn budget_exceeded(error: &OpenAIError) -> Option<&BudgetExceeded> {
    let OpenAIError::Boxed(boxed) = error else {
        return None;
    };
    boxed.downcast_ref::<BudgetExceeded>().or_else(|| {
        boxed
            .downcast_ref::<OpenAIError>()
            .and_then(budget_exceeded)
    })
}

/// A tower layer tracing the chat completions and embeddings that go through it (see the
/// crate docs).
#[derive(Debug, Clone)]
pub struct TraceLayer {
    provider: Arc<str>,
    gate: Option<BudgetGate>,
}

impl Default for TraceLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl TraceLayer {
    /// Traces calls to OpenAI's API, with no budget.
    pub fn new() -> Self {
        Self {
            provider: DEFAULT_PROVIDER.into(),
            gate: None,
        }
    }

    /// Records calls as made to `provider` (OTel GenAI's name: `azure.ai.openai`,
    /// `deepseek`, …) for an OpenAI-compatible endpoint of another provider.
    #[must_use]
    pub fn provider(mut self, provider: &str) -> Self {
        self.provider = provider.into();
        self
    }

    /// Refuses calls that would cross one of `budgets` (pass the same to
    /// `agentrace::init().budgets(…)`), estimating with the built-in prices.
    #[must_use]
    pub fn budgets(self, budgets: Arc<Budgets>) -> Self {
        self.gate(BudgetGate::new(budgets))
    }

    /// Refuses calls that would cross a budget of `gate` (your prices, your output
    /// allowance).
    #[must_use]
    pub fn gate(mut self, gate: BudgetGate) -> Self {
        self.gate = Some(gate);
        self
    }
}

impl<S> tower::Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> TraceService<S> {
        TraceService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of a [`TraceLayer`].
#[derive(Debug, Clone)]
pub struct TraceService<S> {
    inner: S,
    layer: TraceLayer,
}

impl<S> TraceService<S> {
    /// The same service, recording calls as made to `provider`.
    #[must_use]
    pub fn provider(mut self, provider: &str) -> Self {
        self.layer = self.layer.provider(provider);
        self
    }

    /// The same service, refusing calls that would cross one of `budgets`.
    #[must_use]
    pub fn budgets(mut self, budgets: Arc<Budgets>) -> Self {
        self.layer = self.layer.budgets(budgets);
        self
    }

    /// The same service, refusing calls that would cross a budget of `gate`.
    #[must_use]
    pub fn gate(mut self, gate: BudgetGate) -> Self {
        self.layer = self.layer.gate(gate);
        self
    }
}

type Answer = Result<reqwest::Response, OpenAIError>;

impl<S> tower::Service<HttpRequestFactory> for TraceService<S>
where
    S: tower::Service<HttpRequestFactory, Response = reqwest::Response, Error = OpenAIError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Answer> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        // The clone that was made ready is the one to call (tower's rule).
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let layer = self.layer.clone();
        Box::pin(async move {
            let Some(sent) = ModelCallRequest::of(&factory.build().await?) else {
                return inner.call(factory).await;
            };
            let messages = sent.messages();
            let request = sent.model_request(&layer.provider, &messages);
            let call = ModelCall::start(&request, layer.gate.as_ref())
                .map_err(|refused| OpenAIError::Boxed(Box::new(refused)))?;
            let span = call.span().clone();
            let answer = inner.call(factory).instrument(span.clone()).await;
            observe(call, sent.stream, answer).instrument(span).await
        })
    }
}

/// Records what came back on `call` and hands it on unchanged.
async fn observe(call: ModelCall, stream: bool, answer: Answer) -> Answer {
    let response = match answer {
        Ok(response) => response,
        Err(error) => {
            call.fail(&response::error_type(&error), &error.to_string());
            return Err(error);
        }
    };
    let status = response.status();
    let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    if stream && status.is_success() {
        let observed = stream::Observed::new(body, call);
        return Ok(http::Response::from_parts(parts, reqwest::Body::wrap_stream(observed)).into());
    }
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            call.fail("body", &error.to_string());
            return Err(OpenAIError::Reqwest(error));
        }
    };
    if status.is_success() {
        let reply = response::Reply::of_body(&bytes);
        call.finish(&reply.as_model_response());
    } else {
        call.fail(status.as_str(), &response::error_message(status, &bytes));
    }
    Ok(http::Response::from_parts(parts, reqwest::Body::from(bytes)).into())
}
