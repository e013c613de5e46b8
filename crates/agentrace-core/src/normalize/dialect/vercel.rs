//! Vercel AI SDK (`ai.*`).
//!
//! Core's normalizer maps `ai.operationId` (`*.doGenerate`, `*.doStream` → LLM, `*.doEmbed` →
//! embedding, `ai.toolCall` → tool, `ai.generateText`, `ai.streamText`, `ai.generateObject`,
//! `ai.streamObject` → agent, as AI SDK 7 calls the same runs, `ai.embed` & co. → chain;
//! the usage these repeat from their provider calls is an aggregate's, counted nowhere:
//! `agentrace_ingest::billing`), `ai.model.provider` (`openai.chat` → `openai`),
//! `ai.model.id`, `ai.response.model`, the usage names of every SDK version (`ai.usage.tokens`
//! of embeddings included), `ai.toolCall.*`, `ai.telemetry.functionId` (the agent's name) and
//! the session and user conventions (`ai.telemetry.metadata.*`; v7's runtime context
//! `ai.settings.context.*`). AI SDK 7 (`@ai-sdk/otel`) writes OTel GenAI names, recognized by
//! its scope `gen_ai`. Particular to the dialect:
//!
//! - v6 splits input into `ai.usage.inputTokenDetails.{noCacheTokens,cacheReadTokens,
//!   cacheWriteTokens}`: the input is at least their sum (earlier versions reported input
//!   without Anthropic's cache, which the same rule repairs);
//! - its spans are the framework `vercel-ai`.

use crate::SpanRecord;
use crate::semconv::vercel_ai;

/// For spans with an `ai.operationId`.
pub(crate) fn apply(record: &mut SpanRecord) {
    if let Some(uncached) = record
        .attributes
        .get(vercel_ai::USAGE_NO_CACHE_TOKENS)
        .and_then(|v| v.as_i64())
        .and_then(|n| u64::try_from(n).ok())
    {
        let usage = &mut record.usage;
        let total = uncached
            .saturating_add(usage.cache_read_tokens)
            .saturating_add(usage.cache_write_tokens);
        usage.input_tokens = usage.input_tokens.max(total);
    }
    if record.framework.is_none() {
        record.framework = Some(super::VERCEL_AI.into());
    }
}
