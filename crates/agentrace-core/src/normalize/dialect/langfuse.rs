//! Langfuse OTLP attributes (`langfuse.*`).
//!
//! Core's normalizer maps `langfuse.observation.type` (generation → LLM, agent, tool, chain,
//! retriever, embedding, guardrail/evaluator), `langfuse.observation.model.name`,
//! `langfuse.session.id` and `langfuse.user.id`, each below every other dialect. Particular to
//! the dialect:
//!
//! - `langfuse.observation.usage_details`, a JSON object (or kvlist) of **disjoint** parts
//!   that Langfuse sums: `input` (uncached), cache reads (`input_cached_tokens`,
//!   `input_cache_read`, `cache_read_input_tokens`), cache writes (`input_cache_creation`, else
//!   `input_cache_creation_5m` + `input_cache_creation_1h`; `input_cache_write`,
//!   `cache_creation_input_tokens`), `output` (without reasoning) and reasoning
//!   (`output_reasoning_tokens`, `output_reasoning`, `reasoning_tokens`). It is read only when
//!   no other dialect reported usage, and summed into agentrace's inclusive counts: input =
//!   `input` + reads + writes, output = `output` + reasoning;
//! - `langfuse.observation.level = ERROR` is an error, with
//!   `langfuse.observation.status_message` as its message;
//! - an observation's name is its agent or tool name when nothing else names it.

use crate::semconv::langfuse;
use crate::{AttributeValue, SpanRecord, SpanStatus, StatusCode, TokenUsage};

use super::{name_from, text};

const CACHE_READ: [&str; 3] = [
    "input_cached_tokens",
    "input_cache_read",
    "cache_read_input_tokens",
];
const CACHE_WRITE: [&str; 3] = [
    "input_cache_creation",
    "input_cache_write",
    "cache_creation_input_tokens",
];
const REASONING: [&str; 3] = [
    "output_reasoning_tokens",
    "output_reasoning",
    "reasoning_tokens",
];

/// `observation_type`: whether the span had a `langfuse.observation.type`.
pub(crate) fn apply(record: &mut SpanRecord, observation_type: bool) {
    if record.usage.is_empty()
        && let Some(usage) = record
            .attributes
            .get(langfuse::USAGE_DETAILS)
            .and_then(usage)
    {
        record.usage = usage;
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

/// The usage of a `usage_details` value: a JSON object as text, or a map.
fn usage(details: &AttributeValue) -> Option<TokenUsage> {
    let parsed;
    let map = match details {
        AttributeValue::Map(map) => map,
        AttributeValue::String(json) => {
            parsed = serde_json::from_str::<AttributeValue>(json).ok()?;
            match &parsed {
                AttributeValue::Map(map) => map,
                _ => return None,
            }
        }
        _ => return None,
    };
    let count = |key: &str| {
        map.get(key)
            .and_then(AttributeValue::as_i64)
            .and_then(|n| u64::try_from(n).ok())
    };
    let first = |keys: &[&str]| keys.iter().find_map(|k| count(k)).unwrap_or(0);
    let split_1h = count("input_cache_creation_1h").unwrap_or(0);
    let cache_write = CACHE_WRITE
        .iter()
        .find_map(|k| count(k))
        .unwrap_or_else(|| {
            count("input_cache_creation_5m")
                .unwrap_or(0)
                .saturating_add(split_1h)
        });
    let cache_read = first(&CACHE_READ);
    let reasoning = REASONING.iter().find_map(|k| count(k));
    let usage = TokenUsage {
        input_tokens: first(&["input"])
            .saturating_add(cache_read)
            .saturating_add(cache_write),
        output_tokens: first(&["output"]).saturating_add(reasoning.unwrap_or(0)),
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        cache_write_1h_tokens: split_1h,
        reasoning_tokens: reasoning,
    };
    (!usage.is_empty()).then_some(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_details_are_disjoint_parts() {
        let details = AttributeValue::String(
            r#"{"input":2,"input_cached_tokens":47105,"input_cache_creation_5m":0,"input_cache_creation_1h":1076,"output":100,"output_reasoning_tokens":500,"total":48783}"#.into(),
        );
        assert_eq!(
            usage(&details),
            Some(TokenUsage {
                input_tokens: 48_183,
                output_tokens: 600,
                cache_read_tokens: 47_105,
                cache_write_tokens: 1_076,
                cache_write_1h_tokens: 1_076,
                reasoning_tokens: Some(500),
            })
        );
        assert_eq!(usage(&AttributeValue::String("not json".into())), None);
        assert_eq!(usage(&AttributeValue::String("[1]".into())), None);
        assert_eq!(usage(&AttributeValue::String("{}".into())), None);
        assert_eq!(usage(&AttributeValue::I64(3)), None);
    }
}
