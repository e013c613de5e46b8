//! Content kept once: a long agent run's histories stored as chains of messages, each message
//! once, compressed; a repair keeps them so. (That content reads back exactly is the
//! conformance suite's `content` checks.)

mod common;

use agentrace_core::{SpanKind, SpanRecord};
use agentrace_store::{RecordWriter, Repairs, Retention, TraceReader};
use common::{SEC, T0, TestResult, sid, span, tid};

const TURNS: u64 = 30;

/// Call `turn` of a run: the whole history so far (a system prompt, then a user message and an
/// answer per earlier turn), each message a few hundred bytes.
fn call(run: u64, turn: u64) -> SpanRecord {
    let mut messages = vec![format!(
        r#"{{"role":"system","parts":[{{"type":"text","content":"{}"}}]}}"#,
        "Follow the billing policy. ".repeat(20)
    )];
    for t in 0..turn {
        messages.push(format!(
            r#"{{"role":"user","parts":[{{"type":"text","content":"run {run} turn {t}: {}"}}]}}"#,
            "why was invoice 42 charged twice? ".repeat(6)
        ));
        messages.push(format!(
            r#"{{"role":"assistant","parts":[{{"type":"text","content":"run {run} turn {t}: {}"}}]}}"#,
            "it was a duplicate authorization. ".repeat(6)
        ));
    }
    let mut s = span(
        tid(run),
        sid(turn),
        None,
        "chat gpt-4o",
        T0 + turn * SEC,
        SEC / 2,
    );
    s.kind = SpanKind::Llm;
    s.attributes
        .insert("gen_ai.input.messages", format!("[{}]", messages.join(",")));
    s
}

fn content_bytes(spans: &[SpanRecord]) -> usize {
    spans
        .iter()
        .flat_map(|s| s.attributes.iter())
        .filter_map(|(_, v)| v.as_str())
        .map(str::len)
        .sum()
}

/// (pieces, nodes, bytes of the pieces as stored) of the store's file.
fn kept(dir: &tempfile::TempDir) -> Result<(i64, i64, i64), Box<dyn std::error::Error>> {
    let raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
    Ok(raw.query_row(
        "SELECT (SELECT count(*) FROM content_pieces), (SELECT count(*) FROM content_nodes), \
         (SELECT coalesce(sum(length(body)), 0) FROM content_pieces)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

#[test]
fn a_thirty_turn_run_keeps_each_message_once_compressed() -> TestResult {
    let (dir, store) = common::open()?;
    let spans: Vec<SpanRecord> = (0..TURNS).map(|turn| call(1, turn)).collect();
    // One call at a time, as an agent sends them.
    for s in &spans {
        store.write_spans(std::slice::from_ref(s))?;
    }
    let (pieces, nodes, bytes) = kept(&dir)?;
    // The system prompt, then a user message and an answer per turn but the last.
    let messages = 1 + 2 * (TURNS as i64 - 1);
    assert_eq!(pieces, messages, "each message once");
    assert_eq!(
        nodes, messages,
        "each history one node longer than the last"
    );
    let sent = content_bytes(&spans);
    let distinct = content_bytes(&spans[TURNS as usize - 1..]);
    assert!(
        (bytes as usize) < distinct,
        "{bytes} bytes stored for {distinct} bytes of distinct messages: not compressed"
    );
    assert!(
        (bytes as usize) * 20 < sent,
        "{bytes} bytes stored for {sent} bytes sent"
    );
    // What size-based retention measures of spans counts their content and its index.
    let raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
    let apart: f64 = raw.query_row(
        "SELECT TOTAL(pgsize) FROM dbstat('main', 1) WHERE name IN \
         (SELECT name FROM sqlite_schema WHERE tbl_name IN \
          ('spans', 'traces', 'content_pieces', 'content_nodes', 'content_refs', \
           'piece_words_data', 'piece_words_idx', 'span_words_data', 'span_words_idx'))",
        [],
        |r| r.get(0),
    )?;
    let spans_bytes = store.stored_bytes(Some(agentrace_store::RecordKind::Spans))?;
    assert!(
        spans_bytes as f64 >= apart,
        "spans measured at {spans_bytes} B, their content and index alone take {apart} B"
    );
    // Read back whole.
    let last = store
        .span(tid(1), sid(TURNS - 1))?
        .ok_or("the last call is missing")?;
    assert_eq!(last.attributes, spans[TURNS as usize - 1].attributes);
    Ok(())
}

#[test]
fn a_repair_keeps_content_apart() -> TestResult {
    let (dir, store) = common::open()?;
    let spans: Vec<SpanRecord> = (0..5).map(|turn| call(1, turn)).collect();
    store.write_spans(&spans)?;
    let before = kept(&dir)?;
    let mut repaired = store.span(tid(1), sid(4))?.ok_or("the span is missing")?;
    repaired.attributes.insert("agentrace.aggregate", true);
    store.repair_spans(&[repaired.clone()])?;
    assert_eq!(kept(&dir)?, before, "nothing stored twice");
    let raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
    let inline: i64 = raw.query_row(
        "SELECT count(*) FROM spans WHERE attributes LIKE '%gen_ai.input.messages%'",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(inline, 0, "no history kept inline after the repair");
    let back = store.span(tid(1), sid(4))?.ok_or("the span is missing")?;
    assert_eq!(back.attributes, repaired.attributes);
    Ok(())
}
