//! Search: the spans of a range matching a query of the one filter syntax, newest first, a
//! page at a time, with snippets — the same answer whether a store scans or looks words up in
//! an index first.

use agentrace_core::search::Query;
use agentrace_core::{SpanId, SpanKind, SpanRecord};

use crate::search::{SearchPage, SearchQuery};
use crate::{Store, TimeRange, TraceFilter};

use super::fixtures::{SEC, T0, span, span_id, trace_ids};
use super::{CheckResult, ensure, expect_eq, listed};

/// Call `turn` of an agent run: its history holds every earlier turn's question, so the
/// question of turn 2 (invoice INV-7731) is in the content of every later call.
fn call(turn: u16) -> SpanRecord {
    let questions: Vec<String> = (0..=turn)
        .map(|t| {
            let about = if t == 2 { "invoice INV-7731 «Überfällig»" } else { "the weather" };
            format!(
                r#"{{"role":"user","parts":[{{"type":"text","content":"Turn {t}: tell me about {about}, in detail please, with sources and a short summary."}}]}}"#
            )
        })
        .collect();
    span(
        1,
        10 + turn,
        "chat gpt-4o",
        T0 + u64::from(turn) * SEC,
        T0 + u64::from(turn) * SEC + SEC / 2,
    )
    .kind(SpanKind::Llm)
    .agent_name("billing")
    .attribute(
        "gen_ai.input.messages",
        format!("[{}]", questions.join(",")),
    )
    .build()
}

/// Six calls of one run, then tool calls: one timing out, one refunding a gold customer, one
/// of a silver customer, and a span named `qz`.
fn searched() -> Vec<SpanRecord> {
    let mut spans: Vec<SpanRecord> = (0..6).map(call).collect();
    spans.push(
        span(2, 30, "refund", T0 + 10 * SEC, T0 + 11 * SEC)
            .kind(SpanKind::Tool)
            .tool("refund")
            .attribute("customer.tier", "gold")
            .attribute(
                "gen_ai.tool.call.arguments",
                r#"{"invoice":"INV-7731","amount":"12.00"}"#,
            )
            .build(),
    );
    spans.push(
        span(2, 31, "lookup", T0 + 12 * SEC, T0 + 15 * SEC)
            .kind(SpanKind::Tool)
            .tool("lookup")
            .error("upstream Timeout after 3 s", Some("timeout"))
            .build(),
    );
    spans.push(
        span(2, 32, "refund", T0 + 16 * SEC, T0 + 17 * SEC)
            .kind(SpanKind::Tool)
            .tool("refund")
            .attribute("customer.tier", "silver")
            .build(),
    );
    spans.push(span(3, 40, "qz", T0 + 20 * SEC, T0 + 21 * SEC).build());
    spans
}

fn search(
    store: &dyn Store,
    q: &str,
    limit: usize,
) -> Result<SearchPage, Box<dyn std::error::Error>> {
    let query = Query::parse(q)?;
    Ok(store.search(&SearchQuery::new(query, TimeRange::ALL, limit))?)
}

fn hit_ids(page: &SearchPage) -> Vec<SpanId> {
    page.hits.iter().map(|h| h.span_id).collect()
}

/// Every hit of `q`, following cursors with pages of `limit`.
fn every_hit(
    store: &dyn Store,
    q: &str,
    limit: usize,
) -> Result<Vec<SpanId>, Box<dyn std::error::Error>> {
    let query = Query::parse(q)?;
    let mut ids = Vec::new();
    let mut cursor = None;
    for _ in 0..100 {
        let page =
            store.search(&SearchQuery::new(query.clone(), TimeRange::ALL, limit).after(cursor))?;
        ids.extend(hit_ids(&page));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(ids),
        }
    }
    Err(format!("{q}: a search that never ends").into())
}

/// Words in content (a history repeated by every later call), names, error messages and
/// attribute values, whatever their case; combined with fields, attributes, NOT and OR;
/// newest first; a page at a time without a duplicate or a gap; snippets marking the words.
pub fn search_finds_words_wherever_they_are(store: &dyn Store) -> CheckResult {
    store.write_spans(&searched())?;
    let ids = |ns: &[u16]| ns.iter().map(|&n| span_id(n)).collect::<Vec<_>>();
    // (query, the hits newest first)
    let cases: &[(&str, &[u16])] = &[
        ("inv-7731", &[30, 15, 14, 13, 12]),
        ("\"invoice INV-7731\"", &[15, 14, 13, 12]),
        ("überfällig", &[15, 14, 13, 12]),
        ("inv-7731 kind:tool", &[30]),
        ("inv-7731 -kind:tool", &[15, 14, 13, 12]),
        ("timeout", &[31]),
        ("error:timeout", &[31]),
        ("status:error", &[31]),
        ("refund attr.customer.tier:gold", &[30]),
        ("tool:refund", &[32, 30]),
        ("weather agent:billing", &[15, 14, 13, 12, 11, 10]),
        ("(timeout OR gold) kind:tool", &[31, 30]),
        ("(überfällig OR Upstream)", &[31, 15, 14, 13, 12]),
        ("qz", &[40]),
        ("duration:>=3s", &[31]),
        ("nowhere-to-be-found", &[]),
    ];
    for (q, expected) in cases {
        let page = search(store, q, 50)?;
        expect_eq(format!("hits of {q}"), &ids(expected), &hit_ids(&page))?;
        ensure(
            page.next_cursor.is_none(),
            format!("{q}: a cursor after the last hit"),
        )?;
    }
    // Pages of two: the same hits, once each.
    expect_eq(
        "hits of inv-7731, two a page",
        &ids(&[30, 15, 14, 13, 12]),
        &every_hit(store, "inv-7731", 2)?,
    )?;
    expect_eq(
        "every span, one a page",
        &10,
        &every_hit(store, "", 1)?.len(),
    )?;
    // The time range.
    let query = Query::parse("inv-7731")?;
    let range = TimeRange::new(T0 + 3 * SEC, T0 + 5 * SEC);
    let page = store.search(&SearchQuery::new(query, range, 50))?;
    expect_eq("hits in a range", &ids(&[14, 13]), &hit_ids(&page))?;
    // The traces holding a match, by their newest one; a trace filter on top.
    let query = Query::parse("inv-7731")?;
    let all = store.search_traces(
        &SearchQuery::new(query.clone(), TimeRange::ALL, 10),
        &TraceFilter::new(),
    )?;
    expect_eq("traces of inv-7731", &trace_ids(&[2, 1]), &listed(&all))?;
    let first = store.search_traces(
        &SearchQuery::new(query.clone(), TimeRange::ALL, 1),
        &TraceFilter::new(),
    )?;
    expect_eq(
        "the first trace of inv-7731",
        &trace_ids(&[2]),
        &listed(&first),
    )?;
    let second = store.search_traces(
        &SearchQuery::new(query.clone(), TimeRange::ALL, 1).after(first.next_cursor),
        &TraceFilter::new(),
    )?;
    expect_eq(
        "the second trace of inv-7731",
        &trace_ids(&[1]),
        &listed(&second),
    )?;
    let tools = store.search_traces(
        &SearchQuery::new(query, TimeRange::ALL, 10),
        &TraceFilter::new().kind(SpanKind::Tool),
    )?;
    expect_eq(
        "traces of inv-7731 with a tool call",
        &trace_ids(&[2]),
        &listed(&tools),
    )?;
    // Snippets: where, and the word marked as written.
    let page = search(store, "timeout upstream", 50)?;
    let hit = page.hits.first().ok_or("no hit of timeout")?;
    let snippet = hit
        .snippets
        .iter()
        .find(|s| s.field == "status")
        .ok_or("no snippet of the error message")?;
    let marked: Vec<&str> = snippet
        .parts
        .iter()
        .filter(|p| p.matched)
        .map(|p| p.text.as_str())
        .collect();
    expect_eq("marked words", &vec!["upstream", "Timeout"], &marked)?;
    let page = search(store, "inv-7731", 1)?;
    let hit = page.hits.first().ok_or("no hit of inv-7731")?;
    expect_eq("the hit's name", &"refund".to_owned(), &hit.name)?;
    ensure(
        hit.snippets.iter().any(|s| {
            s.field == "attributes.gen_ai.tool.call.arguments"
                && s.parts.iter().any(|p| p.matched && p.text == "INV-7731")
        }),
        "the tool's arguments are the snippet of inv-7731",
    )
}
