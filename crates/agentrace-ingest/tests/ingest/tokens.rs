//! Token arithmetic (docs/conventions.md, "Token arithmetic"): input includes cache, output includes
//! reasoning; an emitter that left them out is recognised and repaired; counts never go
//! negative.

use agentrace_core::cost::{PriceBook, PriceTable, compute_cost};
use agentrace_core::{AttributeValue, TokenUsage};
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};

use crate::common::{T0, TestResult, int, kv, one, string, strings, usage};

fn tokens(pairs: &[(&str, i64)]) -> TokenUsage {
    let mut attributes = strings(&[("gen_ai.operation.name", "chat")]);
    attributes.extend(pairs.iter().map(|(k, v)| kv(k, int(*v))));
    one(attributes).usage
}

#[test]
fn cache_inclusive_input_is_kept() {
    assert_eq!(
        tokens(&[
            ("gen_ai.usage.input_tokens", 1_200),
            ("gen_ai.usage.cache_read.input_tokens", 1_000),
            ("gen_ai.usage.cache_creation.input_tokens", 200),
            ("gen_ai.usage.output_tokens", 10),
        ]),
        usage(1_200, 10, 1_000, 200, None)
    );
}

#[test]
fn input_that_left_the_cache_out_gets_it_added() {
    // Anthropic's raw `input_tokens` through a hand-written emitter.
    assert_eq!(
        tokens(&[
            ("gen_ai.usage.input_tokens", 20),
            ("gen_ai.usage.cache_read.input_tokens", 3_000),
            ("gen_ai.usage.cache_write.input_tokens", 400),
            ("gen_ai.usage.output_tokens", 5),
        ]),
        usage(3_420, 5, 3_000, 400, None)
    );
    // AI SDK before v6 with Anthropic: `promptTokens` without the cache.
    let record = one(vec![
        kv("ai.operationId", string("ai.streamText.doStream")),
        kv("ai.usage.promptTokens", int(50)),
        kv("ai.usage.cachedInputTokens", int(2_000)),
        kv("ai.usage.completionTokens", int(7)),
    ]);
    assert_eq!(record.usage, usage(2_050, 7, 2_000, 0, None));
    // Only cache reported: the input is the cache.
    assert_eq!(
        tokens(&[("llm.token_count.prompt_details.cache_read", 64)]),
        usage(64, 0, 64, 0, None)
    );
}

#[test]
fn reasoning_is_inside_output() {
    assert_eq!(
        tokens(&[
            ("gen_ai.usage.output_tokens", 600),
            ("gen_ai.usage.reasoning.output_tokens", 500),
        ]),
        usage(0, 600, 0, 0, Some(500))
    );
    // An emitter reporting output without reasoning (Langfuse-style split).
    assert_eq!(
        tokens(&[
            ("gen_ai.usage.output_tokens", 100),
            ("gen_ai.usage.reasoning_tokens", 500),
        ]),
        usage(0, 600, 0, 0, Some(500))
    );
}

#[test]
fn counts_are_clamped_and_read_leniently() {
    // Negative counts are not reported counts.
    assert_eq!(
        tokens(&[
            ("gen_ai.usage.input_tokens", -5),
            ("gen_ai.usage.output_tokens", 3),
        ]),
        usage(0, 3, 0, 0, None)
    );
    // One-hour writes cannot exceed the writes.
    let u = tokens(&[
        ("gen_ai.usage.input_tokens", 100),
        ("gen_ai.usage.cache_creation.input_tokens", 10),
        ("agentrace.usage.cache_write_1h.input_tokens", 40),
    ]);
    assert_eq!((u.cache_write_tokens, u.cache_write_1h_tokens), (10, 10));
    // Counts sent as strings or integral doubles.
    let record = one(vec![
        kv("gen_ai.usage.input_tokens", string(" 42 ")),
        kv(
            "gen_ai.usage.output_tokens",
            AnyValue {
                value: Some(any_value::Value::DoubleValue(7.0)),
            },
        ),
        kv("gen_ai.usage.cache_read.input_tokens", string("n/a")),
    ]);
    assert_eq!(record.usage, usage(42, 7, 0, 0, None));
    assert_eq!(
        record
            .attributes
            .get("gen_ai.usage.cache_read.input_tokens"),
        Some(&AttributeValue::from("n/a"))
    );
}

#[test]
fn reconciling_never_changes_the_price() -> TestResult {
    let book = PriceTable::builtin();
    let price = book
        .price(Some("anthropic"), "claude-sonnet-4-5", T0)
        .ok_or("claude-sonnet-4-5 is priced")?
        .price;
    let reported = usage(20, 5, 3_000, 400, None);
    let record = one(vec![
        kv("gen_ai.operation.name", string("chat")),
        kv("gen_ai.usage.input_tokens", int(20)),
        kv("gen_ai.usage.output_tokens", int(5)),
        kv("gen_ai.usage.cache_read.input_tokens", int(3_000)),
        kv("gen_ai.usage.cache_creation.input_tokens", int(400)),
    ]);
    assert_ne!(record.usage, reported);
    assert_eq!(
        compute_cost(&record.usage, price),
        compute_cost(&reported, price)
    );
    Ok(())
}
