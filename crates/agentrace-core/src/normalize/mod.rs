//! Lifting GenAI attributes of any dialect into [`SpanRecord`]'s typed fields.
//!
//! [`SpanNormalizer`] is fed attributes one at a time (by the `tracing` layer as fields arrive,
//! by an OTLP receiver as it decodes) and applies the mapping table of docs/conventions.md, "Dialects":
//!
//! - **Precedence** when several dialects name the same concept: agentrace's own field, then
//!   current OTel GenAI, legacy OTel, OpenInference, Vercel AI SDK, OpenLLMetry/Traceloop,
//!   Langfuse. A lower-ranked name never overwrites a higher-ranked one, whatever the order the
//!   attributes arrive in.
//! - **Span kind** is inferred in [`finish`](SpanNormalizer::finish), in the same precedence:
//!   explicit `agentrace.kind`, then `gen_ai.operation.name`, `openinference.span.kind`,
//!   `ai.operationId`, `traceloop.span.kind`, `llm.request.type`, `langfuse.observation.type`,
//!   then the shape of the span (a model and usage make an LLM call).
//! - **Provider names** are canonicalized to OTel v1.37+ values (`az.ai.openai` →
//!   `azure.ai.openai`, `vertex_ai` → `gcp.vertex_ai`, `openai.chat` → `openai`, …).
//! - Token counts are made consistent with [`reconcile_usage`] (cache-inclusive input,
//!   reasoning inside output) on every route: [`dialect::complete`], which the `tracing` layer
//!   and the OTLP ingest both run after [`finish`](SpanNormalizer::finish), reconciles them
//!   whatever each emitter's idea of them was.
//! - **Aggregates**: a span that reports usage or is a model call, with such a span beneath
//!   it, repeats what is reported below; [`mark_aggregate`] moves its usage out of every total
//!   ([`is_step`], [`is_aggregate`]).
//!
//! The `tracing` layer keeps in [`SpanRecord::attributes`] only the attributes that were not
//! lifted; the OTLP ingest keeps every raw attribute alongside the typed fields.

pub mod dialect;

use crate::model::{
    AttributeValue, SpanKind, SpanRecord, SpanStatus, StatusCode, Text, TokenUsage,
};
use crate::semconv::{
    agentrace, gen_ai, gen_ai_legacy, langfuse, openinference, otel, pydantic_ai, traceloop,
    vercel_ai,
};

/// A typed destination of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Operation,
    Provider,
    RequestModel,
    ResponseModel,
    InputTokens,
    OutputTokens,
    CacheReadTokens,
    CacheWriteTokens,
    CacheWrite1hTokens,
    ReasoningTokens,
    SessionId,
    UserId,
    CorrelationId,
    AgentName,
    AgentId,
    ToolName,
    ToolCallId,
    Framework,
    KindExplicit,
    KindOpenInference,
    KindTraceloop,
    LlmRequestType,
    VercelOperationId,
    LangfuseType,
    EntityName,
    Name,
    StatusCode,
    StatusMessage,
}

const FIELD_COUNT: usize = Field::StatusMessage as usize + 1;

/// Precedence ranks, lower wins. Spaced so that a dialect's fallback names (`rank + 1`, …)
/// stay below the next dialect: a tie would let the attribute order decide.
mod rank {
    pub(super) const OWN: u8 = 0;
    pub(super) const OTEL: u8 = 10;
    pub(super) const LEGACY: u8 = 20;
    pub(super) const OPENINFERENCE: u8 = 30;
    pub(super) const VERCEL: u8 = 40;
    pub(super) const TRACELOOP: u8 = 50;
    pub(super) const LANGFUSE: u8 = 60;
    pub(super) const UNSET: u8 = u8::MAX;
}

/// Where an attribute key goes, and with which rank. Most keys have one destination.
fn classify(key: &str) -> &'static [(Field, u8)] {
    use Field as F;
    use rank::*;
    match key {
        gen_ai::OPERATION_NAME => &[(F::Operation, OTEL)],
        gen_ai::PROVIDER_NAME => &[(F::Provider, OTEL)],
        gen_ai_legacy::SYSTEM => &[(F::Provider, LEGACY)],
        openinference::LLM_PROVIDER => &[(F::Provider, OPENINFERENCE)],
        // The model family: the provider when the host is not named.
        openinference::LLM_SYSTEM => &[(F::Provider, OPENINFERENCE + 1)],
        vercel_ai::MODEL_PROVIDER => &[(F::Provider, VERCEL)],
        gen_ai::REQUEST_MODEL => &[(F::RequestModel, OTEL)],
        gen_ai::RESPONSE_MODEL => &[(F::ResponseModel, OTEL)],
        openinference::LLM_REQUEST_MODEL_NAME => &[(F::RequestModel, OPENINFERENCE)],
        openinference::LLM_RESPONSE_MODEL_NAME => &[(F::ResponseModel, OPENINFERENCE)],
        openinference::LLM_MODEL_NAME => &[
            (F::RequestModel, OPENINFERENCE + 1),
            (F::ResponseModel, OPENINFERENCE + 1),
        ],
        openinference::EMBEDDING_MODEL_NAME => &[(F::RequestModel, OPENINFERENCE + 1)],
        vercel_ai::MODEL_ID => &[(F::RequestModel, VERCEL)],
        vercel_ai::RESPONSE_MODEL => &[(F::ResponseModel, VERCEL)],
        langfuse::MODEL_NAME => &[(F::RequestModel, LANGFUSE)],
        gen_ai::USAGE_INPUT_TOKENS => &[(F::InputTokens, OTEL)],
        gen_ai_legacy::USAGE_PROMPT_TOKENS => &[(F::InputTokens, LEGACY)],
        openinference::TOKEN_COUNT_PROMPT => &[(F::InputTokens, OPENINFERENCE)],
        vercel_ai::USAGE_INPUT_TOKENS => &[(F::InputTokens, VERCEL)],
        vercel_ai::USAGE_PROMPT_TOKENS => &[(F::InputTokens, VERCEL + 1)],
        vercel_ai::USAGE_TOKENS => &[(F::InputTokens, VERCEL + 2)],
        gen_ai::USAGE_OUTPUT_TOKENS => &[(F::OutputTokens, OTEL)],
        gen_ai_legacy::USAGE_COMPLETION_TOKENS => &[(F::OutputTokens, LEGACY)],
        openinference::TOKEN_COUNT_COMPLETION => &[(F::OutputTokens, OPENINFERENCE)],
        vercel_ai::USAGE_OUTPUT_TOKENS => &[(F::OutputTokens, VERCEL)],
        vercel_ai::USAGE_COMPLETION_TOKENS => &[(F::OutputTokens, VERCEL + 1)],
        gen_ai::USAGE_CACHE_READ_INPUT_TOKENS => &[(F::CacheReadTokens, OTEL)],
        pydantic_ai::USAGE_DETAILS_CACHE_READ_TOKENS => &[(F::CacheReadTokens, OTEL + 1)],
        gen_ai_legacy::USAGE_CACHE_READ_INPUT_TOKENS => &[(F::CacheReadTokens, LEGACY)],
        openinference::TOKEN_COUNT_CACHE_READ => &[(F::CacheReadTokens, OPENINFERENCE)],
        vercel_ai::USAGE_CACHE_READ_TOKENS => &[(F::CacheReadTokens, VERCEL)],
        vercel_ai::USAGE_CACHED_INPUT_TOKENS => &[(F::CacheReadTokens, VERCEL + 1)],
        gen_ai::USAGE_CACHE_WRITE_INPUT_TOKENS => &[(F::CacheWriteTokens, OTEL)],
        gen_ai::USAGE_CACHE_CREATION_INPUT_TOKENS => &[(F::CacheWriteTokens, OTEL)],
        pydantic_ai::USAGE_DETAILS_CACHE_WRITE_TOKENS => &[(F::CacheWriteTokens, OTEL + 1)],
        gen_ai_legacy::USAGE_CACHE_CREATION_INPUT_TOKENS => &[(F::CacheWriteTokens, LEGACY)],
        openinference::TOKEN_COUNT_CACHE_WRITE => &[(F::CacheWriteTokens, OPENINFERENCE)],
        vercel_ai::USAGE_CACHE_WRITE_TOKENS => &[(F::CacheWriteTokens, VERCEL)],
        agentrace::USAGE_CACHE_WRITE_1H_TOKENS => &[(F::CacheWrite1hTokens, OWN)],
        gen_ai::USAGE_REASONING_OUTPUT_TOKENS => &[(F::ReasoningTokens, OTEL)],
        pydantic_ai::USAGE_DETAILS_REASONING_TOKENS => &[(F::ReasoningTokens, OTEL + 1)],
        gen_ai_legacy::USAGE_REASONING_TOKENS => &[(F::ReasoningTokens, LEGACY)],
        gen_ai_legacy::LLM_USAGE_REASONING_TOKENS => &[(F::ReasoningTokens, LEGACY + 1)],
        openinference::TOKEN_COUNT_REASONING => &[(F::ReasoningTokens, OPENINFERENCE)],
        vercel_ai::USAGE_REASONING_TOKENS => &[(F::ReasoningTokens, VERCEL)],
        vercel_ai::USAGE_OUTPUT_REASONING_TOKENS => &[(F::ReasoningTokens, VERCEL + 1)],
        agentrace::SESSION_ID => &[(F::SessionId, OWN)],
        gen_ai::CONVERSATION_ID => &[(F::SessionId, OTEL)],
        openinference::SESSION_ID => &[(F::SessionId, OPENINFERENCE)],
        vercel_ai::SESSION_ID => &[(F::SessionId, VERCEL)],
        vercel_ai::CONTEXT_SESSION_ID => &[(F::SessionId, VERCEL + 1)],
        traceloop::SESSION_ID => &[(F::SessionId, TRACELOOP)],
        langfuse::SESSION_ID => &[(F::SessionId, LANGFUSE)],
        openinference::USER_ID => &[(F::UserId, OPENINFERENCE)],
        otel::ENDUSER_ID => &[(F::UserId, OTEL)],
        vercel_ai::USER_ID => &[(F::UserId, VERCEL)],
        vercel_ai::CONTEXT_USER_ID => &[(F::UserId, VERCEL + 1)],
        traceloop::USER_ID => &[(F::UserId, TRACELOOP)],
        langfuse::USER_ID => &[(F::UserId, LANGFUSE)],
        agentrace::CORRELATION_ID => &[(F::CorrelationId, OWN)],
        gen_ai::AGENT_NAME => &[(F::AgentName, OTEL)],
        openinference::AGENT_NAME => &[(F::AgentName, OPENINFERENCE)],
        vercel_ai::FUNCTION_ID => &[(F::AgentName, VERCEL)],
        gen_ai::AGENT_ID => &[(F::AgentId, OTEL)],
        gen_ai::TOOL_NAME => &[(F::ToolName, OTEL)],
        openinference::TOOL_NAME => &[(F::ToolName, OPENINFERENCE)],
        vercel_ai::TOOL_CALL_NAME => &[(F::ToolName, VERCEL)],
        gen_ai::TOOL_CALL_ID => &[(F::ToolCallId, OTEL)],
        openinference::TOOL_CALL_ID => &[(F::ToolCallId, OPENINFERENCE)],
        vercel_ai::TOOL_CALL_ID => &[(F::ToolCallId, VERCEL)],
        agentrace::FRAMEWORK => &[(F::Framework, OWN)],
        agentrace::KIND => &[(F::KindExplicit, OWN)],
        openinference::SPAN_KIND => &[(F::KindOpenInference, OPENINFERENCE)],
        traceloop::SPAN_KIND => &[(F::KindTraceloop, TRACELOOP)],
        traceloop::LLM_REQUEST_TYPE => &[(F::LlmRequestType, TRACELOOP)],
        vercel_ai::OPERATION_ID => &[(F::VercelOperationId, VERCEL)],
        langfuse::OBSERVATION_TYPE => &[(F::LangfuseType, LANGFUSE)],
        traceloop::ENTITY_NAME => &[(F::EntityName, TRACELOOP)],
        otel::NAME => &[(F::Name, OWN)],
        otel::STATUS_CODE => &[(F::StatusCode, OWN)],
        otel::STATUS_MESSAGE => &[(F::StatusMessage, OWN)],
        _ => &[],
    }
}

/// Where one attribute key goes. Computing it costs a string match over every known name, so
/// hot paths compute it once per key and reuse it (the `tracing` layer caches the plans of every
/// callsite's fields).
#[derive(Debug, Clone, Copy)]
pub struct KeyPlan(&'static [(Field, u8)]);

impl KeyPlan {
    /// The plan of `key`.
    pub fn of(key: &str) -> Self {
        Self(classify(key))
    }

    /// Whether the key is lifted into a typed field (else it stays a plain attribute).
    pub fn is_lifted(&self) -> bool {
        !self.0.is_empty()
    }
}

/// Accumulates the typed fields of one span from its attributes, honouring precedence.
#[derive(Debug, Clone)]
pub struct SpanNormalizer {
    ranks: [u8; FIELD_COUNT],
    /// Rarely present (dialect kind attributes, status fields): boxed so the common span
    /// carries 8 bytes instead of ~220 through every move.
    hints: Option<Box<KindHints>>,
}

/// The marks of the dialects a span carried (their kind attributes), which the normalizer
/// lifts away from the `tracing` layer's records: what the dialects' own rules
/// ([`dialect::complete`]) go by on both routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DialectMarks {
    /// `openinference.span.kind` was present.
    pub openinference: bool,
    /// `traceloop.span.kind`'s value.
    pub traceloop_kind: Option<Text>,
    /// `ai.operationId` (Vercel AI SDK) was present.
    pub vercel: bool,
    /// `langfuse.observation.type` was present.
    pub langfuse: bool,
}

#[derive(Debug, Clone, Default)]
struct KindHints {
    explicit: Option<Text>,
    openinference: Option<Text>,
    traceloop: Option<Text>,
    llm_request_type: Option<Text>,
    vercel_operation: Option<Text>,
    langfuse_type: Option<Text>,
    entity_name: Option<Text>,
    status_code: Option<Text>,
    status_message: Option<Text>,
}

impl Default for SpanNormalizer {
    fn default() -> Self {
        Self {
            ranks: [rank::UNSET; FIELD_COUNT],
            hints: None,
        }
    }
}

impl SpanNormalizer {
    /// A normalizer with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn claim(&mut self, field: Field, rank: u8) -> bool {
        let slot = &mut self.ranks[field as usize];
        if rank <= *slot {
            *slot = rank;
            true
        } else {
            false
        }
    }

    /// Offers a string attribute. Returns `true` if it was lifted into a typed field (or lost
    /// to a higher-ranked name for the same concept), `false` if the caller should keep it as
    /// a plain attribute.
    pub fn offer_str(&mut self, record: &mut SpanRecord, key: &str, value: &str) -> bool {
        self.offer_str_planned(record, KeyPlan::of(key), value)
    }

    /// [`offer_str`](Self::offer_str) with the key's plan computed beforehand.
    pub fn offer_str_planned(
        &mut self,
        record: &mut SpanRecord,
        plan: KeyPlan,
        value: &str,
    ) -> bool {
        let targets = plan.0;
        for &(field, rank) in targets {
            if !self.claim(field, rank) {
                continue;
            }
            let owned = || Some(Text::new(value));
            match field {
                Field::Operation => record.operation = Some(Text::new(normalize_operation(value))),
                Field::Provider => record.provider = Some(canonical_provider(value)),
                Field::RequestModel => record.request_model = owned(),
                Field::ResponseModel => record.response_model = owned(),
                Field::SessionId => record.session_id = owned(),
                Field::UserId => record.user_id = owned(),
                Field::CorrelationId => record.correlation_id = owned(),
                Field::AgentName => record.agent_name = owned(),
                Field::AgentId => record.agent_id = owned(),
                Field::ToolName => record.tool_name = owned(),
                Field::ToolCallId => record.tool_call_id = owned(),
                Field::Framework => record.framework = owned(),
                Field::KindExplicit => self.hints.get_or_insert_default().explicit = owned(),
                Field::KindOpenInference => {
                    self.hints.get_or_insert_default().openinference = owned()
                }
                Field::KindTraceloop => self.hints.get_or_insert_default().traceloop = owned(),
                Field::LlmRequestType => {
                    self.hints.get_or_insert_default().llm_request_type = owned()
                }
                Field::VercelOperationId => {
                    self.hints.get_or_insert_default().vercel_operation = owned()
                }
                Field::LangfuseType => self.hints.get_or_insert_default().langfuse_type = owned(),
                Field::EntityName => self.hints.get_or_insert_default().entity_name = owned(),
                Field::Name => record.name = Text::new(value),
                Field::StatusCode => self.hints.get_or_insert_default().status_code = owned(),
                Field::StatusMessage => self.hints.get_or_insert_default().status_message = owned(),
                Field::InputTokens
                | Field::OutputTokens
                | Field::CacheReadTokens
                | Field::CacheWriteTokens
                | Field::CacheWrite1hTokens
                | Field::ReasoningTokens => match value.trim().parse::<i64>() {
                    Ok(n) => set_tokens(record, field, n),
                    // Not a number: give the slot back and keep the raw attribute.
                    Err(_) => {
                        self.ranks[field as usize] = rank::UNSET;
                        return false;
                    }
                },
            }
        }
        !targets.is_empty()
    }

    /// Offers an integer attribute; see [`offer_str`](Self::offer_str).
    pub fn offer_i64(&mut self, record: &mut SpanRecord, key: &str, value: i64) -> bool {
        self.offer_i64_planned(record, KeyPlan::of(key), value)
    }

    /// [`offer_i64`](Self::offer_i64) with the key's plan computed beforehand.
    pub fn offer_i64_planned(
        &mut self,
        record: &mut SpanRecord,
        plan: KeyPlan,
        value: i64,
    ) -> bool {
        let targets = plan.0;
        let mut lifted = false;
        for &(field, rank) in targets {
            let is_tokens = matches!(
                field,
                Field::InputTokens
                    | Field::OutputTokens
                    | Field::CacheReadTokens
                    | Field::CacheWriteTokens
                    | Field::CacheWrite1hTokens
                    | Field::ReasoningTokens
            );
            if is_tokens {
                lifted = true;
                if self.claim(field, rank) {
                    set_tokens(record, field, value);
                }
            }
        }
        if !lifted && !targets.is_empty() {
            // An id or name sent as a number (`session.id = 42`).
            return self.offer_str_planned(record, plan, &value.to_string());
        }
        lifted
    }

    /// Offers any attribute value; see [`offer_str`](Self::offer_str).
    pub fn offer_value(
        &mut self,
        record: &mut SpanRecord,
        key: &str,
        value: &AttributeValue,
    ) -> bool {
        match value {
            AttributeValue::String(s) => self.offer_str(record, key, s),
            AttributeValue::I64(n) => self.offer_i64(record, key, *n),
            other => match other.as_i64() {
                Some(n) => self.offer_i64(record, key, n),
                None => false,
            },
        }
    }

    /// Completes the record: span name override, status, kind, entity names.
    pub fn finish(self, record: &mut SpanRecord) -> DialectMarks {
        let hints = self.hints.map(|h| *h).unwrap_or_default();
        let marks = DialectMarks {
            openinference: hints.openinference.is_some(),
            traceloop_kind: hints.traceloop.clone(),
            vercel: hints.vercel_operation.is_some(),
            langfuse: hints.langfuse_type.is_some(),
        };
        match hints
            .status_code
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("error") => {
                record.status.code = StatusCode::Error;
            }
            Some("ok") => record.status.code = StatusCode::Ok,
            _ => {}
        }
        if hints.status_message.is_some() {
            record.status.message = hints.status_message.map(String::from);
        }
        if record.status.code == StatusCode::Unset
            && let Some(error_type) = record.attributes.get(gen_ai::ERROR_TYPE)
        {
            record.status = SpanStatus::error(error_type.to_string());
        }
        record.kind = hints
            .explicit
            .as_deref()
            .and_then(|k| k.parse().ok())
            .or_else(|| record.operation.as_deref().and_then(kind_of_operation))
            .or_else(|| {
                hints
                    .openinference
                    .as_deref()
                    .and_then(kind_of_openinference)
            })
            .or_else(|| {
                hints
                    .vercel_operation
                    .as_deref()
                    .map(kind_of_vercel_operation)
            })
            .or_else(|| hints.traceloop.as_deref().and_then(kind_of_traceloop))
            .or_else(|| {
                hints
                    .llm_request_type
                    .as_deref()
                    .and_then(kind_of_llm_request_type)
            })
            .or_else(|| hints.langfuse_type.as_deref().and_then(kind_of_langfuse))
            .unwrap_or_else(|| kind_of_shape(record));
        if let Some(entity) = hints.entity_name {
            match record.kind {
                SpanKind::Agent if record.agent_name.is_none() => record.agent_name = Some(entity),
                SpanKind::Tool if record.tool_name.is_none() => record.tool_name = Some(entity),
                _ => {}
            }
        }
        marks
    }
}

/// Makes token counts consistent with [`TokenUsage`]'s meaning, whatever the emitter meant
/// (docs/conventions.md, "Token arithmetic"):
///
/// - input includes cache reads and writes; an input smaller than its own cached part means
///   the emitter left cache out, so the total input is `input + cache_read + cache_write`
///   (and the uncached part, `input − cache_read − cache_write`, is never negative);
/// - output includes reasoning; an output smaller than its reasoning part left it out, so
///   the total output is `output + reasoning`;
/// - one-hour cache writes are a subset of the cache writes (clamped to them).
///
/// Idempotent: reconciled usage stays as it is. Pricing gives the same cost before and after.
pub fn reconcile_usage(usage: &mut TokenUsage) {
    let cached = usage
        .cache_read_tokens
        .saturating_add(usage.cache_write_tokens);
    if usage.input_tokens < cached {
        usage.input_tokens = usage.input_tokens.saturating_add(cached);
    }
    let reasoning = usage.reasoning_or_zero();
    if usage.output_tokens < reasoning {
        usage.output_tokens = usage.output_tokens.saturating_add(reasoning);
    }
    usage.cache_write_1h_tokens = usage.cache_write_1h_tokens.min(usage.cache_write_tokens);
}

/// Whether a span reports token usage: counted, or kept as an aggregate's
/// (`agentrace.aggregate.*_tokens`).
pub fn reports_usage(record: &SpanRecord) -> bool {
    // The six names are looked for only on a marked aggregate: one attribute scan for the
    // spans without usage (most of a trace) rather than six.
    !record.usage.is_empty()
        || (is_aggregate(record)
            && AGGREGATE_USAGE_NAMES
                .iter()
                .any(|name| record.attributes.get(name).is_some()))
}

/// Whether a span takes part in the aggregate rule as a *step*: it reports usage, it is a
/// model call (LLM or embedding, with or without usage), or it is an aggregate already.
pub fn is_step(record: &SpanRecord) -> bool {
    reports_usage(record)
        || matches!(record.kind, SpanKind::Llm | SpanKind::Embedding)
        || is_aggregate(record)
}

/// The aggregate rule (docs/conventions.md, "Aggregates"), for a step given what is beneath
/// it: a span that reports usage is an aggregate when usage is reported beneath it (its
/// numbers are a copy; only the deepest reports count); a call that reports none is one when
/// a step is beneath it (it wraps the call). So a span whose usage has nothing reporting
/// usage beneath it counts — never both, never neither.
pub fn repeats_what_is_below(
    reports_usage: bool,
    is_step: bool,
    usage_below: bool,
    step_below: bool,
) -> bool {
    if reports_usage {
        usage_below
    } else {
        is_step && step_below
    }
}

/// Where [`mark_aggregate`] keeps an aggregate's usage counts, in [`TokenUsage`]'s field order.
const AGGREGATE_USAGE_NAMES: [&str; 6] = [
    "agentrace.aggregate.input_tokens",
    "agentrace.aggregate.output_tokens",
    "agentrace.aggregate.cache_read_tokens",
    "agentrace.aggregate.cache_write_tokens",
    "agentrace.aggregate.cache_write_1h_tokens",
    "agentrace.aggregate.reasoning_tokens",
];

/// Marks a span that repeats what is reported beneath it (a step with a step beneath it, see
/// [`is_step`]): sets [`agentrace::AGGREGATE`] to `true`, moves its usage out of
/// [`SpanRecord::usage`] into `agentrace.aggregate.*_tokens` attributes (non-zero counts) and
/// removes its cost. So its numbers stay on the span, to be read, and enter no token total,
/// call count, unpriced count, rollup, metric or budget. Idempotent.
pub fn mark_aggregate(record: &mut SpanRecord) {
    let usage = std::mem::take(&mut record.usage);
    let counts = [
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.cache_write_1h_tokens,
        usage.reasoning_or_zero(),
    ];
    for (name, n) in AGGREGATE_USAGE_NAMES.into_iter().zip(counts) {
        if n > 0 {
            record.attributes.insert(
                name,
                AttributeValue::I64(i64::try_from(n).unwrap_or(i64::MAX)),
            );
        }
    }
    record.cost = None;
    record
        .attributes
        .insert(agentrace::AGGREGATE, AttributeValue::Bool(true));
}

/// Whether a span was marked by [`mark_aggregate`]: what it reports counts on its descendants.
pub fn is_aggregate(record: &SpanRecord) -> bool {
    matches!(
        record.attributes.get(agentrace::AGGREGATE),
        Some(AttributeValue::Bool(true))
    )
}

/// Spans of no MCP side that may stand between the two sides of an MCP call, or between a
/// framework's tool span and the MCP client's call beneath it (OpenLLMetry writes a request in
/// a transport span of its own).
pub const MCP_MAX_BETWEEN: usize = 2;

/// The tool of a client-side MCP `tools/call` span (kind `tool`, `agentrace.mcp.side` =
/// `client`): what it tells the spans above it.
pub fn mcp_client_tool_call(record: &SpanRecord) -> Option<&str> {
    let client = matches!(
        record.attributes.get(agentrace::MCP_SIDE),
        Some(AttributeValue::String(side)) if side == "client"
    );
    (client && record.kind == SpanKind::Tool)
        .then_some(record.tool_name.as_deref())
        .flatten()
}

/// The MCP wrapper rule (docs/conventions.md, "MCP"): a tool span of no MCP side with the
/// client side of a `tools/call` of the same `tool` beneath it is the same call, reported by
/// the framework around the MCP client.
pub fn wraps_mcp_call(record: &SpanRecord, tool: &str) -> bool {
    record.kind == SpanKind::Tool
        && record.attributes.get(agentrace::MCP_SIDE).is_none()
        && record.tool_name.as_deref() == Some(tool)
}

/// Makes a span found by [`wraps_mcp_call`] a step: kind `chain`, [`agentrace::MCP_WRAPPER`]
/// set, so that the call counts once, as the MCP client's. Idempotent.
pub fn mark_mcp_wrapper(record: &mut SpanRecord) {
    record.kind = SpanKind::Chain;
    record
        .attributes
        .insert(agentrace::MCP_WRAPPER, AttributeValue::Bool(true));
}

fn set_tokens(record: &mut SpanRecord, field: Field, value: i64) {
    let n = u64::try_from(value).unwrap_or(0);
    let usage = &mut record.usage;
    match field {
        Field::InputTokens => usage.input_tokens = n,
        Field::OutputTokens => usage.output_tokens = n,
        Field::CacheReadTokens => usage.cache_read_tokens = n,
        Field::CacheWriteTokens => usage.cache_write_tokens = n,
        Field::CacheWrite1hTokens => usage.cache_write_1h_tokens = n,
        Field::ReasoningTokens => usage.reasoning_tokens = Some(n),
        _ => {}
    }
}

/// Normalizes operation names that emitters get wrong (rig's `chat_streaming`).
fn normalize_operation(op: &str) -> &str {
    match op {
        "chat_streaming" => "chat",
        other => other,
    }
}

/// OTel v1.41 provider names (plus common local and routing providers), kept as they are.
const CANONICAL_PROVIDERS: &[&str] = &[
    "openai",
    "anthropic",
    "gcp.gemini",
    "gcp.vertex_ai",
    "gcp.gen_ai",
    "aws.bedrock",
    "azure.ai.openai",
    "azure.ai.inference",
    "mistral_ai",
    "deepseek",
    "x_ai",
    "cohere",
    "groq",
    "ibm.watsonx.ai",
    "perplexity",
    "moonshot_ai",
    "ollama",
    "openrouter",
];

/// Legacy, OpenInference and Vercel spellings of providers, and their OTel v1.37+ names.
const PROVIDER_ALIASES: &[(&str, &str)] = &[
    ("az.ai.openai", "azure.ai.openai"),
    ("azure", "azure.ai.openai"),
    ("azure_openai", "azure.ai.openai"),
    ("azure-openai", "azure.ai.openai"),
    ("az.ai.inference", "azure.ai.inference"),
    ("vertex_ai", "gcp.vertex_ai"),
    ("vertexai", "gcp.vertex_ai"),
    ("google-vertex", "gcp.vertex_ai"),
    ("gemini", "gcp.gemini"),
    ("google", "gcp.gemini"),
    ("google-generative-ai", "gcp.gemini"),
    ("xai", "x_ai"),
    ("mistralai", "mistral_ai"),
    ("mistral", "mistral_ai"),
    ("bedrock", "aws.bedrock"),
    ("aws", "aws.bedrock"),
    ("amazon-bedrock", "aws.bedrock"),
    ("watsonx", "ibm.watsonx.ai"),
];

/// Canonical OTel v1.37+ provider names for the legacy, OpenInference and Vercel spellings
/// (`az.ai.openai` → `azure.ai.openai`, `vertex_ai` → `gcp.vertex_ai`, `openai.chat` →
/// `openai`); other names are lower-cased.
pub fn canonical_provider(raw: &str) -> Text {
    // Fast path: already a canonical name (the common case, on every LLM span).
    if let Some(canonical) = CANONICAL_PROVIDERS.iter().find(|c| **c == raw) {
        return Text::new(canonical);
    }
    let raw = raw.trim();
    if let Some((_, canonical)) = PROVIDER_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(raw))
    {
        return Text::new(canonical);
    }
    // Vercel AI SDK: `openai.chat`, `anthropic.messages`, `google.generative-ai`.
    let base = match raw.split_once('.') {
        Some((head, _))
            if !["azure", "aws", "gcp", "az", "ibm"]
                .iter()
                .any(|p| p.eq_ignore_ascii_case(head)) =>
        {
            head
        }
        _ => raw,
    };
    if let Some((_, canonical)) = PROVIDER_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(base))
    {
        return Text::new(canonical);
    }
    Text::from(base.to_ascii_lowercase())
}

fn kind_of_operation(op: &str) -> Option<SpanKind> {
    Some(match op {
        "chat" | "generate_content" | "text_completion" | "completion" => SpanKind::Llm,
        "embeddings" => SpanKind::Embedding,
        "retrieval" => SpanKind::Retriever,
        "invoke_agent" | "create_agent" => SpanKind::Agent,
        "execute_tool" => SpanKind::Tool,
        "invoke_workflow" => SpanKind::Workflow,
        // An agent's planning step: the model call that plans runs beneath it.
        "plan" => SpanKind::Chain,
        "execute_task" => SpanKind::Task,
        _ => return None,
    })
}

fn kind_of_openinference(kind: &str) -> Option<SpanKind> {
    Some(match kind.to_ascii_uppercase().as_str() {
        "LLM" => SpanKind::Llm,
        "EMBEDDING" => SpanKind::Embedding,
        "CHAIN" => SpanKind::Chain,
        "RETRIEVER" | "RERANKER" => SpanKind::Retriever,
        "TOOL" => SpanKind::Tool,
        "AGENT" => SpanKind::Agent,
        "GUARDRAIL" | "EVALUATOR" => SpanKind::Guardrail,
        "PROMPT" | "UNKNOWN" => SpanKind::Other,
        _ => return None,
    })
}

fn kind_of_traceloop(kind: &str) -> Option<SpanKind> {
    Some(match kind {
        "workflow" => SpanKind::Workflow,
        "task" => SpanKind::Task,
        "agent" => SpanKind::Agent,
        "tool" => SpanKind::Tool,
        _ => return None,
    })
}

fn kind_of_llm_request_type(kind: &str) -> Option<SpanKind> {
    Some(match kind {
        "chat" | "completion" => SpanKind::Llm,
        "embedding" => SpanKind::Embedding,
        "rerank" => SpanKind::Retriever,
        _ => return None,
    })
}

/// The AI SDK's operations: its provider calls (`*.doGenerate`, `*.doStream`, `*.doEmbed`),
/// tool calls, and the calls of the application that run them: `ai.generateText`,
/// `ai.streamText`, `ai.generateObject`, `ai.streamObject` run a loop of model calls and tools
/// — an agent, as AI SDK 7 says of the same calls (`invoke_agent`) — and the rest
/// (`ai.embed`, `ai.embedMany`, …) wrap their provider calls.
fn kind_of_vercel_operation(op: &str) -> SpanKind {
    if op.ends_with(".doEmbed") {
        SpanKind::Embedding
    } else if op.ends_with(".doGenerate") || op.ends_with(".doStream") {
        SpanKind::Llm
    } else if op == "ai.toolCall" {
        SpanKind::Tool
    } else if matches!(
        op,
        "ai.generateText" | "ai.streamText" | "ai.generateObject" | "ai.streamObject"
    ) {
        SpanKind::Agent
    } else {
        SpanKind::Chain
    }
}

fn kind_of_langfuse(kind: &str) -> Option<SpanKind> {
    Some(match kind {
        "generation" => SpanKind::Llm,
        "agent" => SpanKind::Agent,
        "tool" => SpanKind::Tool,
        "chain" => SpanKind::Chain,
        "retriever" => SpanKind::Retriever,
        "embedding" => SpanKind::Embedding,
        "guardrail" | "evaluator" => SpanKind::Guardrail,
        _ => return None,
    })
}

/// No dialect said what the span is: a model with usage is an LLM call, a tool name a tool.
fn kind_of_shape(record: &SpanRecord) -> SpanKind {
    if record.request_model.is_some() && !record.usage.is_empty() {
        SpanKind::Llm
    } else if record.tool_name.is_some() {
        SpanKind::Tool
    } else if record.agent_name.is_some() {
        SpanKind::Agent
    } else {
        SpanKind::Other
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Resource, SpanId, TraceId};

    fn record() -> SpanRecord {
        SpanRecord::new(
            TraceId::random(),
            SpanId::random(),
            "s",
            0,
            1,
            Arc::new(Resource::new("t")),
        )
    }

    fn normalize(attrs: &[(&str, &str)]) -> SpanRecord {
        let mut rec = record();
        let mut n = SpanNormalizer::new();
        for (k, v) in attrs {
            if !n.offer_str(&mut rec, k, v) {
                rec.attributes.insert(k.to_string(), *v);
            }
        }
        n.finish(&mut rec);
        rec
    }

    #[test]
    fn current_otel_wins_over_legacy_in_any_order() {
        for attrs in [
            [
                ("gen_ai.system", "az.ai.openai"),
                ("gen_ai.provider.name", "openai"),
            ],
            [
                ("gen_ai.provider.name", "openai"),
                ("gen_ai.system", "az.ai.openai"),
            ],
        ] {
            assert_eq!(normalize(&attrs).provider.as_deref(), Some("openai"));
        }
        assert_eq!(
            normalize(&[("gen_ai.system", "az.ai.openai")])
                .provider
                .as_deref(),
            Some("azure.ai.openai")
        );
        assert_eq!(
            normalize(&[("ai.model.provider", "anthropic.messages")])
                .provider
                .as_deref(),
            Some("anthropic")
        );
    }

    #[test]
    fn kinds_from_every_dialect() {
        let cases: &[(&[(&str, &str)], SpanKind)] = &[
            (&[("gen_ai.operation.name", "chat")], SpanKind::Llm),
            (
                &[("gen_ai.operation.name", "chat_streaming")],
                SpanKind::Llm,
            ),
            (
                &[("gen_ai.operation.name", "invoke_agent")],
                SpanKind::Agent,
            ),
            (&[("gen_ai.operation.name", "execute_tool")], SpanKind::Tool),
            (
                &[("openinference.span.kind", "RETRIEVER")],
                SpanKind::Retriever,
            ),
            (&[("traceloop.span.kind", "workflow")], SpanKind::Workflow),
            (&[("llm.request.type", "chat")], SpanKind::Llm),
            (
                &[("ai.operationId", "ai.generateText.doGenerate")],
                SpanKind::Llm,
            ),
            (&[("ai.operationId", "ai.generateText")], SpanKind::Agent),
            (&[("ai.operationId", "ai.embed")], SpanKind::Chain),
            (
                &[("langfuse.observation.type", "generation")],
                SpanKind::Llm,
            ),
            (
                &[
                    ("agentrace.kind", "guardrail"),
                    ("gen_ai.operation.name", "chat"),
                ],
                SpanKind::Guardrail,
            ),
            (
                &[
                    ("gen_ai.request.model", "gpt-4o"),
                    ("gen_ai.usage.input_tokens", "3"),
                ],
                SpanKind::Llm,
            ),
            (&[], SpanKind::Other),
        ];
        for (attrs, kind) in cases {
            assert_eq!(normalize(attrs).kind, *kind, "{attrs:?}");
        }
    }

    #[test]
    fn tokens_and_raw_attributes() {
        let rec = normalize(&[
            ("llm.token_count.prompt", "100"),
            ("gen_ai.usage.input_tokens", "120"),
            ("llm.token_count.completion", "7"),
            ("gen_ai.usage.cache_read_input_tokens", "20"),
            ("gen_ai.usage.output_tokens", "n/a"),
            ("gen_ai.usage.cache_creation.input_tokens", "300"),
            ("agentrace.usage.cache_write_1h.input_tokens", "100"),
            ("custom", "kept"),
        ]);
        assert_eq!(
            (
                rec.usage.cache_write_tokens,
                rec.usage.cache_write_1h_tokens
            ),
            (300, 100)
        );
        assert_eq!(rec.usage.input_tokens, 120);
        assert_eq!(rec.usage.output_tokens, 7);
        assert_eq!(rec.usage.cache_read_tokens, 20);
        assert_eq!(
            rec.attributes
                .get("gen_ai.usage.output_tokens")
                .and_then(|v| v.as_str()),
            Some("n/a")
        );
        assert_eq!(
            rec.attributes.get("custom").and_then(|v| v.as_str()),
            Some("kept")
        );
        assert!(rec.attributes.get("llm.token_count.prompt").is_none());
    }

    #[test]
    fn openinference_family_embedding_model_and_vercel_v6_reasoning() {
        let rec = normalize(&[
            ("llm.system", "vertexai"),
            ("embedding.model_name", "text-embedding-3-small"),
            ("ai.usage.outputTokenDetails.reasoningTokens", "9"),
        ]);
        assert_eq!(rec.provider.as_deref(), Some("gcp.vertex_ai"));
        assert_eq!(rec.request_model.as_deref(), Some("text-embedding-3-small"));
        assert_eq!(rec.usage.reasoning_tokens, Some(9));
        // The host wins over the family, the OpenInference model over the embedding model.
        let rec = normalize(&[
            ("llm.system", "openai"),
            ("llm.provider", "azure"),
            ("embedding.model_name", "e"),
            ("llm.model_name", "m"),
        ]);
        assert_eq!(rec.provider.as_deref(), Some("azure.ai.openai"));
        assert_eq!(rec.request_model.as_deref(), Some("m"));
    }

    #[test]
    fn reconcile_usage_cases() {
        let usage = |input, output, read, write, write_1h, reasoning| TokenUsage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_write_tokens: write,
            cache_write_1h_tokens: write_1h,
            reasoning_tokens: Some(reasoning),
        };
        for (reported, expected) in [
            // Cache-inclusive input (OTel, OpenInference, OpenLLMetry): kept.
            (
                usage(1_200, 340, 1_000, 0, 0, 12),
                usage(1_200, 340, 1_000, 0, 0, 12),
            ),
            // Input exactly its cached part: kept (uncached is zero).
            (usage(300, 5, 200, 100, 0, 0), usage(300, 5, 200, 100, 0, 0)),
            // Input without cache (Anthropic raw, AI SDK < 6): cache added.
            (
                usage(2, 714, 47_105, 1_076, 1_076, 0),
                usage(48_183, 714, 47_105, 1_076, 1_076, 0),
            ),
            // No input reported, only cache: the input is the cache.
            (usage(0, 1, 50, 0, 0, 0), usage(50, 1, 50, 0, 0, 0)),
            // Output without reasoning: reasoning added.
            (usage(10, 100, 0, 0, 0, 500), usage(10, 600, 0, 0, 0, 500)),
            // One-hour writes beyond the writes: clamped.
            (usage(100, 1, 0, 10, 40, 0), usage(100, 1, 0, 10, 10, 0)),
            // Saturation, never overflow.
            (
                usage(1, 0, u64::MAX, 1, 0, 0),
                usage(u64::MAX, 0, u64::MAX, 1, 0, 0),
            ),
        ] {
            let mut reconciled = reported;
            reconcile_usage(&mut reconciled);
            assert_eq!(reconciled, expected, "{reported:?}");
            let mut again = reconciled;
            reconcile_usage(&mut again);
            assert_eq!(again, reconciled, "idempotent");
        }
    }

    #[test]
    fn aggregates_are_not_billable() {
        let mut rec = normalize(&[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.usage.input_tokens", "10"),
        ]);
        assert!(crate::cost::is_billable(&rec) && !is_aggregate(&rec));
        mark_aggregate(&mut rec);
        assert!(is_aggregate(&rec));
        assert!(!crate::cost::is_billable(&rec));
        assert!(
            rec.usage.is_empty() && rec.cost.is_none(),
            "counted nowhere"
        );
        assert_eq!(
            rec.attributes.get("agentrace.aggregate.input_tokens"),
            Some(&AttributeValue::I64(10)),
            "its numbers kept"
        );
        assert!(is_step(&rec));
        let kept = rec.clone();
        mark_aggregate(&mut rec);
        assert_eq!(rec, kept, "idempotent");
        rec.attributes.insert(agentrace::AGGREGATE, "true");
        assert!(!is_aggregate(&rec), "only the boolean marks");
    }

    #[test]
    fn status_name_and_entities() {
        let rec = normalize(&[
            ("otel.name", "execute_tool search"),
            ("traceloop.span.kind", "tool"),
            ("traceloop.entity.name", "search"),
            ("otel.status_code", "ERROR"),
            ("otel.status_message", "timeout"),
        ]);
        assert_eq!(rec.name, "execute_tool search");
        assert_eq!(rec.tool_name.as_deref(), Some("search"));
        assert_eq!(rec.status, SpanStatus::error("timeout"));
        let mut rec = record();
        rec.attributes.insert("error.type", "rate_limited");
        SpanNormalizer::new().finish(&mut rec);
        assert!(rec.is_error());
    }
}
