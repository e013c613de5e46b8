//! Langfuse OTLP attributes (`langfuse.*`).
//!
//! Core's normalizer maps `langfuse.observation.type` (generation → LLM, agent, tool, chain,
//! retriever, embedding, guardrail/evaluator), `langfuse.observation.model.name`,
//! `langfuse.session.id` and `langfuse.user.id`, each below every other dialect. Particular to
//! the dialect:
//!
//! - `langfuse.observation.usage_details`, a JSON object (or kvlist) in whichever shape the
//!   integration wrote it, read only when no other dialect reported usage (see [`usage`]):
//!   - OpenAI's chat usage (`prompt_tokens`, `completion_tokens`, with
//!     `prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens`)
//!     as the `langfuse.openai` drop-in writes it, and its Responses usage (`input_tokens`,
//!     `output_tokens` with `input_tokens_details` and `output_tokens_details`): counts that
//!     include their details, as agentrace's do;
//!   - Anthropic's usage (`input_tokens` without its cache, `cache_read_input_tokens`,
//!     `cache_creation_input_tokens`, `cache_creation.ephemeral_1h_input_tokens`), and Amazon
//!     Bedrock's Converse usage alike (`inputTokens`, `cacheReadInputTokens`,
//!     `cacheWriteInputTokens`, `outputTokens`);
//!   - Gemini's (`promptTokenCount` with its cache, `cachedContentTokenCount`,
//!     `candidatesTokenCount` and `thoughtsTokenCount` the output and its reasoning; snake-cased
//!     too);
//!   - Langfuse's own keys, **disjoint** parts that Langfuse sums: `input` (the rest of the
//!     input), cache reads (`input_cached_tokens`, `input_cache_read`), cache writes
//!     (`input_cache_creation`, `input_cache_creation_5m`, `input_cache_creation_1h`,
//!     `input_cache_write`), `output` and reasoning (`output_reasoning_tokens`,
//!     `output_reasoning`), and any other `input_*` or `output_*` part (audio, predictions),
//!     each summed into agentrace's inclusive counts;
//! - `langfuse.observation.cost_details`, the cost the integration reported: its `total`, else
//!   the sum of its parts, is kept as [`COST_REPORTED`](crate::semconv::agentrace::COST_REPORTED)
//!   beside the cost agentrace computes from its own prices (never added to it);
//! - `langfuse.observation.level = ERROR` is an error, with
//!   `langfuse.observation.status_message` as its message;
//! - an observation's name is its agent or tool name when nothing else names it.

use std::collections::BTreeMap;

use crate::semconv::{agentrace::COST_REPORTED, langfuse};
use crate::{AttributeValue, SpanRecord, SpanStatus, StatusCode, TokenUsage};

use super::{name_from, text};

/// Langfuse's cache reads, by the names its integrations write.
const CACHE_READ: [&str; 2] = ["input_cached_tokens", "input_cache_read"];
/// Langfuse's cache writes: parts of the input beside each other (Langfuse sums them).
const CACHE_WRITE: [&str; 4] = [
    "input_cache_creation",
    "input_cache_creation_5m",
    "input_cache_creation_1h",
    "input_cache_write",
];
/// Langfuse's reasoning parts of the output.
const REASONING: [&str; 2] = ["output_reasoning_tokens", "output_reasoning"];

/// `observation_type`: whether the span had a `langfuse.observation.type`.
pub(crate) fn apply(record: &mut SpanRecord, observation_type: bool) {
    if record.usage.is_empty()
        && let Some(usage) = record
            .attributes
            .get(langfuse::USAGE_DETAILS)
            .and_then(|details| object(details).as_ref().and_then(usage))
    {
        record.usage = usage;
    }
    if let Some(total) = record
        .attributes
        .get(langfuse::COST_DETAILS)
        .and_then(|details| object(details).as_ref().and_then(reported_cost))
    {
        record
            .attributes
            .insert(COST_REPORTED, AttributeValue::F64(total));
    }
    if text(record, langfuse::OBSERVATION_LEVEL).is_some_and(|l| l.eq_ignore_ascii_case("ERROR")) {
        let message = text(record, langfuse::OBSERVATION_STATUS_MESSAGE).map(str::to_owned);
        if record.status.code != StatusCode::Error {
            record.status = SpanStatus::error(message.unwrap_or_else(|| "ERROR".to_owned()));
        } else if record.status.message.is_none() {
            record.status.message = message;
        }
    }
    if observation_type {
        let name = record.name.clone();
        name_from(record, Some(&name));
    }
}

type Object = BTreeMap<String, AttributeValue>;

/// A details value as an object: a JSON object as text (what the SDKs write), or a map.
fn object(details: &AttributeValue) -> Option<Object> {
    match details {
        AttributeValue::Map(map) => Some(map.clone()),
        // Through `Value`: the SDKs write `null` for details they lack.
        AttributeValue::String(json) => match serde_json::from_str::<serde_json::Value>(json) {
            Ok(serde_json::Value::Object(map)) => Some(
                map.into_iter()
                    .filter_map(|(k, v)| Some((k, without_nulls(v)?)))
                    .collect(),
            ),
            _ => None,
        },
        _ => None,
    }
}

/// `value` as an attribute value, nulls left out (`None` for a null).
fn without_nulls(value: serde_json::Value) -> Option<AttributeValue> {
    use serde_json::Value;
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => AttributeValue::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AttributeValue::I64(i),
            None => AttributeValue::F64(n.as_f64()?),
        },
        Value::String(s) => AttributeValue::String(s),
        Value::Array(items) => {
            AttributeValue::Array(items.into_iter().filter_map(without_nulls).collect())
        }
        Value::Object(map) => AttributeValue::Map(
            map.into_iter()
                .filter_map(|(k, v)| Some((k, without_nulls(v)?)))
                .collect(),
        ),
    })
}

/// A non-negative count under `key` of `map`.
fn count(map: &Object, key: &str) -> Option<u64> {
    map.get(key)
        .and_then(AttributeValue::as_i64)
        .and_then(|n| u64::try_from(n).ok())
}

/// The count under `key` of the object under `parent` (OpenAI's `*_tokens_details`).
fn nested(map: &Object, parent: &str, key: &str) -> Option<u64> {
    match map.get(parent) {
        Some(AttributeValue::Map(details)) => count(details, key),
        _ => None,
    }
}

/// The token usage of a `usage_details` object, whichever shape it has (the module's list).
fn usage(map: &Object) -> Option<TokenUsage> {
    let usage = if map.contains_key("prompt_tokens") || map.contains_key("completion_tokens") {
        openai(
            map,
            "prompt_tokens",
            "completion_tokens",
            "prompt_tokens_details",
            "completion_tokens_details",
        )
    } else if map.contains_key("input_tokens_details") || map.contains_key("output_tokens_details")
    {
        openai(
            map,
            "input_tokens",
            "output_tokens",
            "input_tokens_details",
            "output_tokens_details",
        )
    } else if map.contains_key("input_tokens") || map.contains_key("output_tokens") {
        cache_apart(map, ANTHROPIC)
    } else if GEMINI
        .iter()
        .any(|(camel, snake)| map.contains_key(*camel) || map.contains_key(*snake))
    {
        gemini(map)
    } else if map.contains_key("inputTokens") || map.contains_key("outputTokens") {
        cache_apart(map, BEDROCK)
    } else {
        parts(map)
    };
    (!usage.is_empty()).then_some(usage)
}

/// OpenAI's usage, chat or Responses: counts that include their details.
fn openai(
    map: &Object,
    input: &str,
    output: &str,
    input_details: &str,
    output_details: &str,
) -> TokenUsage {
    let cache_read = nested(map, input_details, "cached_tokens").unwrap_or(0);
    TokenUsage {
        input_tokens: count(map, input).unwrap_or(0).max(cache_read),
        output_tokens: count(map, output).unwrap_or(0),
        cache_read_tokens: cache_read,
        reasoning_tokens: nested(map, output_details, "reasoning_tokens"),
        ..TokenUsage::default()
    }
}

/// The names of a usage whose input leaves its cache reads and writes apart: input, output,
/// cache reads, cache writes.
type CacheApart = [&'static str; 4];

/// Anthropic's names.
const ANTHROPIC: CacheApart = [
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
];

/// Amazon Bedrock Converse's names.
const BEDROCK: CacheApart = [
    "inputTokens",
    "outputTokens",
    "cacheReadInputTokens",
    "cacheWriteInputTokens",
];

/// A usage whose input leaves its cache apart (Anthropic's, Bedrock's): the cache added to
/// the input; Anthropic's one-hour writes (`cache_creation.ephemeral_1h_input_tokens`) kept.
fn cache_apart(map: &Object, [input, output, read, write]: CacheApart) -> TokenUsage {
    let cache_read = count(map, read).unwrap_or(0);
    let cache_write = count(map, write).unwrap_or(0);
    TokenUsage {
        input_tokens: count(map, input)
            .unwrap_or(0)
            .saturating_add(cache_read)
            .saturating_add(cache_write),
        output_tokens: count(map, output).unwrap_or(0),
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        cache_write_1h_tokens: nested(map, "cache_creation", "ephemeral_1h_input_tokens")
            .unwrap_or(0)
            .min(cache_write),
        reasoning_tokens: None,
    }
}

/// Gemini's `usageMetadata` names, camel-cased as its REST API and the JS SDK give them and
/// snake-cased as the Python SDK does: prompt (cache included), candidates, thoughts, cached.
const GEMINI: [(&str, &str); 4] = [
    ("promptTokenCount", "prompt_token_count"),
    ("candidatesTokenCount", "candidates_token_count"),
    ("thoughtsTokenCount", "thoughts_token_count"),
    ("cachedContentTokenCount", "cached_content_token_count"),
];

/// Gemini's usage: the prompt includes its cached part; the answer's candidates leave out
/// the thoughts, which are output too.
fn gemini(map: &Object) -> TokenUsage {
    let [prompt, candidates, thoughts, cached] =
        GEMINI.map(|(camel, snake)| count(map, camel).or_else(|| count(map, snake)));
    let cache_read = cached.unwrap_or(0);
    TokenUsage {
        input_tokens: prompt.unwrap_or(0).max(cache_read),
        output_tokens: candidates
            .unwrap_or(0)
            .saturating_add(thoughts.unwrap_or(0)),
        cache_read_tokens: cache_read,
        reasoning_tokens: thoughts,
        ..TokenUsage::default()
    }
}

/// Langfuse's disjoint parts, summed into inclusive counts. The raw Anthropic names that
/// LangChain's handler passes on beside Langfuse's count as the cache when Langfuse's names do
/// not say it.
fn parts(map: &Object) -> TokenUsage {
    let first = |keys: &[&str]| keys.iter().find_map(|k| count(map, k));
    let sum = |keys: &[&str]| {
        keys.iter()
            .filter_map(|k| count(map, k))
            .fold(0u64, u64::saturating_add)
    };
    let cache_read = first(&CACHE_READ)
        .or_else(|| count(map, "cache_read_input_tokens"))
        .unwrap_or(0);
    let cache_write = if CACHE_WRITE.iter().any(|k| map.contains_key(*k)) {
        sum(&CACHE_WRITE)
    } else {
        count(map, "cache_creation_input_tokens").unwrap_or(0)
    };
    let reasoning = first(&REASONING).or_else(|| count(map, "reasoning_tokens"));
    // Every other `input_*` and `output_*` part (audio, accepted predictions, …) is input or
    // output too, as in Langfuse's total.
    let other = |prefix: &str, known: &[&str]| {
        map.keys()
            .filter(|k| k.starts_with(prefix) && !known.contains(&k.as_str()))
            .filter_map(|k| count(map, k))
            .fold(0u64, u64::saturating_add)
    };
    let known_input: Vec<&str> = CACHE_READ.iter().chain(&CACHE_WRITE).copied().collect();
    TokenUsage {
        input_tokens: count(map, "input")
            .unwrap_or(0)
            .saturating_add(cache_read)
            .saturating_add(cache_write)
            .saturating_add(other("input_", &known_input)),
        output_tokens: count(map, "output")
            .unwrap_or(0)
            .saturating_add(reasoning.unwrap_or(0))
            .saturating_add(other("output_", &REASONING)),
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        cache_write_1h_tokens: count(map, "input_cache_creation_1h").unwrap_or(0),
        reasoning_tokens: reasoning,
    }
}

/// The cost a `cost_details` object reports in USD: its `total`, else the sum of its parts;
/// `None` when it has no finite, non-negative number.
fn reported_cost(map: &Object) -> Option<f64> {
    let usd = |v: &AttributeValue| v.as_f64().filter(|d| d.is_finite() && *d >= 0.0);
    map.get("total").and_then(usd).or_else(|| {
        let parts: Vec<f64> = map.values().filter_map(usd).collect();
        (!parts.is_empty()).then(|| parts.iter().sum())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The usage of `json`, a `usage_details` value.
    fn of(json: &str) -> Option<TokenUsage> {
        object(&AttributeValue::String(json.into()))
            .as_ref()
            .and_then(usage)
    }

    #[test]
    fn langfuse_parts_are_disjoint_and_summed() {
        assert_eq!(
            of(
                r#"{"input":2,"input_cached_tokens":47105,"input_cache_creation_5m":0,"input_cache_creation_1h":1076,"output":100,"output_reasoning_tokens":500,"total":48783}"#
            ),
            Some(TokenUsage {
                input_tokens: 48_183,
                output_tokens: 600,
                cache_read_tokens: 47_105,
                cache_write_tokens: 1_076,
                cache_write_1h_tokens: 1_076,
                reasoning_tokens: Some(500),
            })
        );
        // What Langfuse's server makes of OpenAI's usage: every detail a part of its own.
        assert_eq!(
            of(
                r#"{"input":80,"output":40,"total":150,"input_cached_tokens":20,"input_audio_tokens":0,"output_reasoning_tokens":10,"output_audio_tokens":0,"output_accepted_prediction_tokens":0,"output_rejected_prediction_tokens":0}"#
            ),
            Some(TokenUsage {
                cache_read_tokens: 20,
                reasoning_tokens: Some(10),
                ..TokenUsage::new(100, 50)
            })
        );
        // LangChain's handler: its own names, audio a part of the input.
        assert_eq!(
            of(
                r#"{"input":75,"output":40,"total":150,"input_audio":5,"input_cache_read":20,"output_audio":0,"output_reasoning":10}"#
            ),
            Some(TokenUsage {
                cache_read_tokens: 20,
                reasoning_tokens: Some(10),
                ..TokenUsage::new(100, 50)
            })
        );
        // A cache written in both lifetimes and the rest: three parts.
        let written = of(
            r#"{"input":10,"input_cache_creation":5,"input_cache_creation_5m":7,"input_cache_creation_1h":3,"output":1}"#,
        );
        assert_eq!(
            written.map(|u| (
                u.input_tokens,
                u.cache_write_tokens,
                u.cache_write_1h_tokens
            )),
            Some((25, 15, 3))
        );
        assert_eq!(of(r#"{"input":8}"#), Some(TokenUsage::new(8, 0)));
    }

    #[test]
    fn openai_usage_includes_its_details() {
        let chat = r#"{"completion_tokens": 50, "prompt_tokens": 100, "total_tokens": 150, "completion_tokens_details": {"accepted_prediction_tokens": 0, "audio_tokens": 0, "reasoning_tokens": 10, "rejected_prediction_tokens": 0}, "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 20}}"#;
        let expected = TokenUsage {
            cache_read_tokens: 20,
            reasoning_tokens: Some(10),
            ..TokenUsage::new(100, 50)
        };
        assert_eq!(of(chat), Some(expected));
        let responses = r#"{"input_tokens": 100, "input_tokens_details": {"cached_tokens": 20}, "output_tokens": 50, "output_tokens_details": {"reasoning_tokens": 10}, "total_tokens": 150}"#;
        assert_eq!(of(responses), Some(expected));
        // Details the SDK left null, and a count given as text.
        assert_eq!(
            of(
                r#"{"prompt_tokens": "12", "completion_tokens": 3, "total_tokens": 15, "prompt_tokens_details": null, "completion_tokens_details": null}"#
            ),
            Some(TokenUsage::new(12, 3))
        );
    }

    #[test]
    fn anthropic_usage_adds_its_cache_to_the_input() {
        assert_eq!(
            of(
                r#"{"input_tokens": 50, "output_tokens": 30, "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 200, "cache_creation": {"ephemeral_5m_input_tokens": 150, "ephemeral_1h_input_tokens": 50}}"#
            ),
            Some(TokenUsage {
                input_tokens: 1_250,
                output_tokens: 30,
                cache_read_tokens: 1_000,
                cache_write_tokens: 200,
                cache_write_1h_tokens: 50,
                reasoning_tokens: None,
            })
        );
        assert_eq!(
            of(r#"{"input_tokens": 7, "output_tokens": 2}"#),
            Some(TokenUsage::new(7, 2))
        );
    }

    #[test]
    fn gemini_and_bedrock_usage_are_read_in_their_own_names() {
        let expected = TokenUsage {
            cache_read_tokens: 300,
            reasoning_tokens: Some(40),
            ..TokenUsage::new(1_000, 90)
        };
        assert_eq!(
            of(
                r#"{"promptTokenCount": 1000, "candidatesTokenCount": 50, "thoughtsTokenCount": 40, "cachedContentTokenCount": 300, "totalTokenCount": 1090}"#
            ),
            Some(expected)
        );
        assert_eq!(
            of(
                r#"{"prompt_token_count": 1000, "candidates_token_count": 50, "thoughts_token_count": 40, "cached_content_token_count": 300}"#
            ),
            Some(expected)
        );
        assert_eq!(
            of(r#"{"prompt_token_count": 12, "candidates_token_count": 3}"#),
            Some(TokenUsage::new(12, 3))
        );
        assert_eq!(
            of(
                r#"{"inputTokens": 100, "outputTokens": 20, "totalTokens": 1420, "cacheReadInputTokens": 1000, "cacheWriteInputTokens": 300}"#
            ),
            Some(TokenUsage {
                cache_read_tokens: 1_000,
                cache_write_tokens: 300,
                ..TokenUsage::new(1_400, 20)
            })
        );
    }

    #[test]
    fn what_is_no_usage_is_none() {
        for json in [
            "not json",
            "[1]",
            "{}",
            r#"{"input": -3}"#,
            r#"{"total": 0}"#,
        ] {
            assert_eq!(of(json), None, "{json}");
        }
        assert_eq!(object(&AttributeValue::I64(3)), None);
    }

    #[test]
    fn the_reported_cost_is_its_total_else_its_parts() {
        let cost = |json: &str| {
            object(&AttributeValue::String(json.into()))
                .as_ref()
                .and_then(reported_cost)
        };
        assert_eq!(
            cost(r#"{"input": 0.001, "output": 0.002, "total": 0.0031}"#),
            Some(0.0031)
        );
        assert_eq!(cost(r#"{"input": 0.25, "output": 0.5}"#), Some(0.75));
        assert_eq!(cost(r#"{"total": -1}"#), None);
        assert_eq!(cost(r#"{"note": "free"}"#), None);
    }
}
