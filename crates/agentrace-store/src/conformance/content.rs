//! Captured content: given back exactly as it arrived, in every dialect, whether a store keeps
//! it with the span or apart once ([`crate::content`]), and whatever retention deleted around
//! it.

use std::collections::HashMap;

use crate::{RecordKind, SpanFilter, Store};
use agentrace_core::{AttributeValue, Attributes, SpanId, SpanRecord};

use super::fixtures::{SEC, T0, span, trace_id};
use super::{CheckResult, all_spans, ensure, expect_eq};

/// A system prompt every call of a run sends again.
const SYSTEM: &str = "You are the billing assistant of Example Corp. Answer in two sentences, \
     cite the invoice number, never promise a refund, and escalate disputes over 500 EUR.";

/// The history of call `turn` of an agent run, as a JSON array in the separators `sep` (OTel
/// SDKs write `,`, Python's `json.dumps` writes `, `).
fn history(turn: usize, sep: &str) -> String {
    let mut messages = vec![format!(
        r#"{{"role": "system", "parts": [{{"type": "text", "content": "{SYSTEM}"}}]}}"#
    )];
    for t in 0..turn {
        messages.push(format!(
            r#"{{"role": "user", "parts": [{{"type": "text", "content": "Turn {t}: what about invoice INV-{t:04} — «ünïcode», \"quotes\", a ] and a [?"}}]}}"#
        ));
        messages.push(format!(
            r#"{{"role": "assistant", "parts": [{{"type": "text", "content": "Invoice INV-{t:04} was paid on day {t}."}}]}}"#
        ));
    }
    format!("[{}]", messages.join(sep))
}

/// Content attributes in every dialect agentrace reads, long and short, for call `turn`.
fn dialects(turn: usize) -> Vec<(&'static str, AttributeValue)> {
    let long = |what: &str| format!("{what} {}", "lorem ipsum dolor sit amet ".repeat(8));
    vec![
        (
            "gen_ai.system_instructions",
            format!(r#"[{{"type":"text","content":"{SYSTEM}"}}]"#).into(),
        ),
        ("gen_ai.input.messages", history(turn, ",").into()),
        ("gen_ai.input.messages_delta", history(turn, ", ").into()),
        ("gen_ai.output.messages", long("the answer").into()),
        (
            "gen_ai.tool.call.arguments",
            r#"{"invoice":"INV-0001"}"#.into(),
        ),
        (
            "gen_ai.tool.call.result",
            long("tool result with \"quotes\" and \\ backslashes").into(),
        ),
        ("gen_ai.prompt.0.content", long("OpenLLMetry prompt").into()),
        ("gen_ai.prompt.0.role", "user".into()),
        (
            "gen_ai.completion.0.content",
            long("OpenLLMetry completion").into(),
        ),
        ("llm.input_messages.0.message.content", SYSTEM.into()),
        ("llm.input_messages.0.message.role", "system".into()),
        ("input.value", history(turn, ",\n  ").into()),
        ("output.value", "ok".into()),
        (
            "retrieval.documents.0.document.content",
            long("a retrieved document").into(),
        ),
        ("ai.prompt.messages", history(turn, ",").into()),
        ("ai.response.text", long("Vercel").into()),
        (
            "traceloop.entity.input",
            long("{\"args\": [1, 2, 3]}").into(),
        ),
        ("langfuse.observation.input", long("[1,]").into()),
        ("gen_ai.request.model", "gpt-4o".into()),
        ("gen_ai.usage.input_tokens", AttributeValue::I64(1200)),
        (
            "ai.response.toolCalls",
            AttributeValue::Array(vec!["a".into(), "b".into()]),
        ),
    ]
}

/// A deterministic stream of hostile texts: brackets, quotes, escapes, separators, multi-byte
/// characters, in random order and length (a small xorshift, so every run writes the same).
fn hostile_texts(n: usize) -> Vec<String> {
    const ALPHABET: &[&str] = &[
        "[", "]", "{", "}", ",", ", ", "\"", "\\", "\\\"", " ", "\n", "a", "Z", "0", "é", "日本",
        "🦀", "\u{0}", "null", "[]", "{}",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let len = 100 + (next() % 400) as usize;
            let mut text = String::from(if next() % 2 == 0 { "[" } else { "" });
            while text.len() < len {
                text.push_str(ALPHABET[(next() % ALPHABET.len() as u64) as usize]);
            }
            text
        })
        .collect()
}

/// The spans of a 12-call agent run (`trace`), each carrying every dialect's content, plus 40
/// spans of hostile texts.
fn agent_run(trace: u8, start: u64) -> Vec<SpanRecord> {
    let mut spans: Vec<SpanRecord> = (0..12u16)
        .map(|turn| {
            let mut b = span(
                trace,
                turn + 1,
                "chat gpt-4o",
                start + u64::from(turn) * SEC,
                start + u64::from(turn) * SEC + SEC / 2,
            );
            for (key, value) in dialects(usize::from(turn)) {
                b = b.attribute(key, value);
            }
            b.build()
        })
        .collect();
    for (i, text) in hostile_texts(40).into_iter().enumerate() {
        let id = 100 + u16::try_from(i).unwrap_or(0);
        spans.push(
            span(trace, id, "tool", start + 20 * SEC, start + 21 * SEC)
                .attribute("gen_ai.tool.call.result", text.clone())
                .attribute("tool.parameters", text)
                .build(),
        );
    }
    spans
}

/// Every span of `written` is read back with the same attributes, in the same order.
fn same_attributes(store: &dyn Store, written: &[SpanRecord], what: &str) -> CheckResult {
    let read: HashMap<(u128, SpanId), Attributes> = all_spans(store, SpanFilter::new())?
        .into_iter()
        .map(|s| {
            (
                (u128::from_be_bytes(s.trace_id.to_bytes()), s.span_id),
                s.attributes,
            )
        })
        .collect();
    for s in written {
        let key = (u128::from_be_bytes(s.trace_id.to_bytes()), s.span_id);
        let Some(back) = read.get(&key) else {
            return Err(format!("{what}: span {} was not read back", s.span_id).into());
        };
        if *back != s.attributes {
            let differs = s
                .attributes
                .iter()
                .zip(back.iter())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("{:?} written, {:?} read", a.0, b.0))
                .unwrap_or_else(|| format!("{} written, {} read", s.attributes.len(), back.len()));
            return Err(format!("{what}: span {} content differs: {differs}", s.span_id).into());
        }
    }
    Ok(())
}

/// Two agent runs of every dialect's content and hostile texts, written in three batches (one
/// twice): every attribute read back byte for byte and in its place, through the span list,
/// one span, and the trace tree.
pub fn content_round_trips_in_every_dialect(store: &dyn Store) -> CheckResult {
    let first = agent_run(1, T0);
    let second = agent_run(2, T0 + 100 * SEC);
    store.write_spans(&first[..6])?;
    store.write_spans(&first[6..])?;
    store.write_spans(&second)?;
    let again = store.write_spans(&second)?;
    expect_eq("duplicates written again", &second.len(), &again.duplicates)?;
    let written: Vec<SpanRecord> = first.iter().chain(&second).cloned().collect();
    expect_eq(
        "spans stored",
        &(written.len() as u64),
        &store.count(RecordKind::Spans)?,
    )?;
    same_attributes(store, &written, "the span list")?;
    let one = &second[11];
    let back = store
        .span(one.trace_id, one.span_id)?
        .ok_or("the last call's span was not found")?;
    expect_eq("one span's attributes", &one.attributes, &back.attributes)?;
    let tree = store
        .trace(trace_id(1))?
        .ok_or("the first run's trace was not found")?;
    let by_id: HashMap<SpanId, &SpanRecord> = first.iter().map(|s| (s.span_id, s)).collect();
    for node in &tree.nodes {
        let written = by_id
            .get(&node.span.span_id)
            .ok_or("the trace tree holds a span never written")?;
        ensure(
            written.attributes == node.span.attributes,
            "a span of the trace tree differs from the span written",
        )?;
    }
    Ok(())
}

/// Retention deletes the first run; the second, which sends the same system prompt and begins
/// its history alike, reads back whole, and a third run written afterwards reuses nothing
/// deleted.
pub fn retention_keeps_the_content_of_the_spans_left(store: &dyn Store) -> CheckResult {
    let first = agent_run(1, T0);
    let second = agent_run(2, T0 + 100 * SEC);
    store.write_spans(&first)?;
    store.write_spans(&second)?;
    let deleted = store.delete_before(RecordKind::Spans, T0 + 50 * SEC)?;
    expect_eq("spans deleted", &first.len(), &deleted)?;
    same_attributes(store, &second, "the run left")?;
    let third = agent_run(3, T0 + 200 * SEC);
    store.write_spans(&third)?;
    let deleted = store.delete_before(RecordKind::Spans, T0 + 150 * SEC)?;
    expect_eq("spans deleted", &second.len(), &deleted)?;
    same_attributes(store, &third, "the run written after a purge")?;
    store.write_spans(&first)?;
    same_attributes(store, &first, "the deleted run written again")
}
