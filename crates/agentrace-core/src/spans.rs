//! One-line helpers for agent, LLM and tool spans, following OTel GenAI span names.
//!
//! Each returns a plain [`tracing::Span`] with every field agentrace may record later declared
//! up front, so [`record_usage`], [`set_session`] and friends reach every subscriber. On any
//! other span (`info_span!`, `#[instrument]`, a framework's) they record what the span did not
//! declare straight into agentrace's record ([`set_attribute`]): `tracing` itself ignores
//! `record` calls for undeclared fields.
//!
//! ```
//! use agentrace_core::{spans, TokenUsage};
//!
//! let agent = spans::agent("researcher");
//! spans::set_session(&agent, "session-42");
//! let _entered = agent.enter();
//! let llm = spans::llm("openai", "gpt-4o");
//! // ... call the model ...
//! spans::record_usage(&llm, &TokenUsage::new(1200, 300));
//! spans::record_response_model(&llm, "gpt-4o-2024-08-06");
//! ```

use tracing::Span;
use tracing::field::Empty;

use crate::model::{AttributeValue, TokenUsage};
use crate::semconv::{agentrace, gen_ai, openinference, otel};

/// An `invoke_agent {name}` span (kind agent).
pub fn agent(name: &str) -> Span {
    tracing::info_span!(
        target: "agentrace",
        "invoke_agent",
        otel.name = %format_args!("invoke_agent {name}"),
        gen_ai.operation.name = "invoke_agent",
        gen_ai.agent.name = name,
        gen_ai.agent.id = Empty,
        gen_ai.conversation.id = Empty,
        user.id = Empty,
        agentrace.correlation_id = Empty,
        agentrace.framework = Empty,
        error.type = Empty,
        otel.status_code = Empty,
        otel.status_message = Empty,
    )
}

/// A model call's span: operation `$operation` (a literal: span names are static), every field
/// a call may record declared.
macro_rules! model_span {
    ($operation:literal, $provider:expr, $model:expr) => {
        tracing::info_span!(
            target: "agentrace",
            $operation,
            otel.name = %format_args!("{} {}", $operation, $model),
            gen_ai.operation.name = $operation,
            gen_ai.provider.name = $provider,
            gen_ai.request.model = $model,
            gen_ai.response.model = Empty,
            gen_ai.response.id = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            gen_ai.usage.cache_read.input_tokens = Empty,
            gen_ai.usage.cache_creation.input_tokens = Empty,
            agentrace.usage.cache_write_1h.input_tokens = Empty,
            gen_ai.usage.reasoning.output_tokens = Empty,
            gen_ai.response.finish_reasons = Empty,
            gen_ai.response.time_to_first_chunk = Empty,
            gen_ai.input.messages = Empty,
            gen_ai.output.messages = Empty,
            gen_ai.conversation.id = Empty,
            user.id = Empty,
            agentrace.correlation_id = Empty,
            agentrace.framework = Empty,
            error.type = Empty,
            otel.status_code = Empty,
            otel.status_message = Empty,
        )
    };
}

/// A `chat {model}` span (kind llm): one model call, the billable unit.
pub fn llm(provider: &str, model: &str) -> Span {
    model_span!("chat", provider, model)
}

/// An `embeddings {model}` span (kind embedding): one embeddings call, billed for its input.
pub fn embeddings(provider: &str, model: &str) -> Span {
    model_span!("embeddings", provider, model)
}

/// An `execute_tool {name}` span (kind tool).
pub fn tool(name: &str) -> Span {
    tracing::info_span!(
        target: "agentrace",
        "execute_tool",
        otel.name = %format_args!("execute_tool {name}"),
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = name,
        gen_ai.tool.call.id = Empty,
        gen_ai.conversation.id = Empty,
        user.id = Empty,
        agentrace.correlation_id = Empty,
        agentrace.framework = Empty,
        error.type = Empty,
        otel.status_code = Empty,
        otel.status_message = Empty,
    )
}

/// Records token usage on an LLM span. Zero counts are not recorded.
pub fn record_usage(span: &Span, usage: &TokenUsage) {
    for (field, value) in usage.attributes() {
        set_attribute(span, field, i64::try_from(value).unwrap_or(i64::MAX));
    }
}

/// Records token usage on the current span (inside an LLM span).
pub fn record_usage_on_current(usage: &TokenUsage) {
    record_usage(&Span::current(), usage);
}

/// Records the model that answered.
pub fn record_response_model(span: &Span, model: &str) {
    set_attribute(span, gen_ai::RESPONSE_MODEL, model);
}

/// Sets the session (conversation) id; descendants and events inherit it.
pub fn set_session(span: &Span, session_id: &str) {
    set_attribute(span, gen_ai::CONVERSATION_ID, session_id);
}

/// Sets the end-user id; descendants inherit it.
pub fn set_user(span: &Span, user_id: &str) {
    set_attribute(span, openinference::USER_ID, user_id);
}

/// Sets the correlation id; descendants and events inherit it.
pub fn set_correlation_id(span: &Span, correlation_id: &str) {
    set_attribute(span, agentrace::CORRELATION_ID, correlation_id);
}

/// Sets the agent framework; descendants and events inherit it.
pub fn set_framework(span: &Span, framework: &str) {
    set_attribute(span, agentrace::FRAMEWORK, framework);
}

/// Marks the span failed with a low-cardinality error type and a message.
pub fn set_error(span: &Span, error_type: &str, message: &str) {
    set_attribute(span, gen_ai::ERROR_TYPE, error_type);
    set_attribute(span, otel::STATUS_CODE, "ERROR");
    set_attribute(span, otel::STATUS_MESSAGE, message);
}

/// Records `key` on `span`, declared or not: a field the span declared through `tracing` (every
/// subscriber sees it), any other straight into the record an agentrace layer keeps of the span
/// (normalized like a declared field of that name; other subscribers do not see it), as
/// tracing-opentelemetry's `set_attribute` does. Returns whether it was recorded: `false` for
/// an undeclared key on a span no agentrace layer records.
pub fn set_attribute(span: &Span, key: &str, value: impl Into<AttributeValue>) -> bool {
    let value = value.into();
    if span.field(key).is_some() {
        match &value {
            AttributeValue::String(text) => span.record(key, text.as_str()),
            AttributeValue::I64(n) => span.record(key, *n),
            AttributeValue::F64(x) => span.record(key, *x),
            AttributeValue::Bool(b) => span.record(key, *b),
            other => span.record(key, other.to_string().as_str()),
        };
        return true;
    }
    record_undeclared(span, key, value)
}

#[cfg(feature = "pipeline")]
fn record_undeclared(span: &Span, key: &str, value: AttributeValue) -> bool {
    let mut done = false;
    span.with_subscriber(|(id, dispatch)| {
        if let Some(with) = dispatch.downcast_ref::<crate::layer::WithContext>() {
            (with.apply)(dispatch, id, &mut |state| {
                state.set_attribute(key, value.clone());
                done = true;
            });
        }
    });
    done
}

#[cfg(not(feature = "pipeline"))]
fn record_undeclared(_: &Span, _: &str, _: AttributeValue) -> bool {
    false
}
