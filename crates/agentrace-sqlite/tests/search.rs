//! Search from the trigram indexes: a word reads only its candidates, however many spans the
//! file holds; a word of every resource, of a frequent line, or one too short, scans;
//! retention and repairs keep the indexes right. (What a search answers is the conformance
//! suite's `search` check.)

mod common;

use agentrace_core::search::Query;
use agentrace_core::{SpanKind, SpanRecord};
use agentrace_store::search::{SearchPage, SearchQuery};
use agentrace_store::{RecordKind, RecordWriter, Repairs, Retention, TimeRange, TraceReader};
use common::{SEC, T0, TestResult, sid, span, tid};

/// `n` tool spans, the `every`-th of which (from the first) returned the order number
/// ORD-5521 in a long result (kept apart as content), the others about the weather.
fn spans(n: u64, every: u64) -> Vec<SpanRecord> {
    (0..n)
        .map(|i| {
            let mut s = span(tid(i / 10), sid(i), None, "lookup", T0 + i * SEC, SEC / 10);
            s.kind = SpanKind::Tool;
            let result = if i % every == 0 {
                format!(
                    "found order ORD-5521 for customer {i}: {}",
                    "details ".repeat(30)
                )
            } else {
                format!(
                    "sunny, 21 degrees at station {i}: {}",
                    "details ".repeat(30)
                )
            };
            s.attributes.insert("gen_ai.tool.call.result", result);
            s
        })
        .collect()
}

fn search(store: &impl TraceReader, q: &str) -> Result<SearchPage, Box<dyn std::error::Error>> {
    Ok(store.search(&SearchQuery::new(Query::parse(q)?, TimeRange::ALL, 100))?)
}

#[test]
fn a_word_reads_only_its_candidates() -> TestResult {
    let (_dir, store) = common::open()?;
    store.write_spans(&spans(3_000, 1_000))?;
    let page = search(&store, "ord-5521")?;
    assert_eq!(page.hits.len(), 3);
    assert_eq!(page.judged, 3, "only the three candidates were read");
    assert!(page.next_cursor.is_none());
    // A word too short for a trigram scans every span.
    let page = search(&store, "or")?;
    assert_eq!(page.judged, 3_000);
    // A word of the service's resource is every span's: alone, it scans, and finds them all;
    // beside a word the index finds, that word's candidates are read.
    let page = search(&store, "1.0")?;
    assert_eq!(page.hits.len(), 100);
    assert!(page.next_cursor.is_some());
    let page = search(&store, "ord-5521 1.0")?;
    assert_eq!(page.hits.len(), 3);
    assert_eq!(page.judged, 3);
    Ok(())
}

/// The span words' entries holding every trigram of "frankfurt".
fn entries_with_frankfurt(path: &std::path::Path) -> Result<i64, Box<dyn std::error::Error>> {
    let raw = rusqlite::Connection::open(path)?;
    let fts = ["fra", "ran", "ank", "nkf", "kfu", "fur", "urt"].map(|g| format!("\"{g}\""));
    Ok(raw.query_row(
        "SELECT count(*) FROM span_words WHERE span_words MATCH ?1",
        [fts.join(" AND ")],
        |r| r.get(0),
    )?)
}

#[test]
fn a_frequent_line_is_left_out_of_the_index_and_still_found() -> TestResult {
    let (dir, store) = common::open()?;
    let path = dir.path().join("store.db");
    // Every span was served in Frankfurt; each has an order number of its own.
    let batch = |from: u64| -> Vec<SpanRecord> {
        (from..from + 1_000)
            .map(|i| {
                let mut s = span(tid(i / 10), sid(i), None, "lookup", T0 + i * SEC, SEC / 10);
                s.attributes.insert("region", "eu-west-frankfurt");
                s.attributes.insert("order", format!("ord-{i:06}"));
                s
            })
            .collect()
    };
    // The line is seen its 20,000th time in the 20th batch: spans after it leave it out.
    for b in 0..25 {
        store.write_spans(&batch(b * 1_000))?;
    }
    // 20 batches of 1,000 spans, up to 32 spans an entry: 32 entries a batch.
    assert_eq!(entries_with_frankfurt(&path)?, 640);
    // A word of the frequent line scans, newest first, and finds the spans that left it out.
    let page = search(&store, "frankfurt")?;
    assert_eq!(page.hits.len(), 100);
    assert_eq!(page.hits[0].span_id, sid(24_999));
    // Beside it, a word the index finds drives, whether its span left the line out or not:
    // the 32 spans of its entry are judged.
    for i in [24_321, 123] {
        let page = search(&store, &format!("frankfurt ord-{i:06}"))?;
        let ids: Vec<_> = page.hits.iter().map(|h| h.span_id).collect();
        assert_eq!(ids, [sid(i)]);
        assert_eq!(page.judged, 32);
    }
    // A store opened again knows the line from the file.
    drop(store);
    let store = agentrace_sqlite::SqliteStore::open(&path)?;
    store.write_spans(&batch(25_000))?;
    assert_eq!(entries_with_frankfurt(&path)?, 640);
    let page = search(&store, "frankfurt ord-025500")?;
    assert_eq!(page.hits.len(), 1);
    Ok(())
}

#[test]
fn a_word_in_histories_finds_every_call_that_repeats_it() -> TestResult {
    let (_dir, store) = common::open()?;
    // A conversation of 8 calls: call k sends the messages of calls 0..=k; call 3 asked about
    // the refund REF-8812.
    let calls: Vec<SpanRecord> = (0..8u64)
        .map(|k| {
            let messages: Vec<String> = (0..=k)
                .map(|t| {
                    let about = if t == 3 {
                        "the refund REF-8812"
                    } else {
                        "an invoice"
                    };
                    format!(
                        r#"{{"role":"user","content":"question {t} about {about}, {}"}}"#,
                        "please ".repeat(20)
                    )
                })
                .collect();
            let mut s = span(tid(1), sid(k), None, "chat", T0 + k * SEC, SEC / 2);
            s.kind = SpanKind::Llm;
            s.attributes
                .insert("gen_ai.input.messages", format!("[{}]", messages.join(",")));
            s
        })
        .collect();
    store.write_spans(&calls)?;
    let page = search(&store, "ref-8812")?;
    let ids: Vec<_> = page.hits.iter().map(|h| h.span_id).collect();
    assert_eq!(ids, [sid(7), sid(6), sid(5), sid(4), sid(3)]);
    assert_eq!(page.judged, 5);
    Ok(())
}

#[test]
fn retention_and_repairs_keep_the_indexes_right() -> TestResult {
    let (_dir, store) = common::open()?;
    store.write_spans(&spans(100, 10))?;
    store.delete_before(RecordKind::Spans, T0 + 50 * SEC)?;
    let page = search(&store, "ord-5521")?;
    assert_eq!(page.hits.len(), 5, "the five of the 50 spans left");
    assert_eq!(page.judged, 5, "the deleted spans' words are gone");
    // A repair that renames nothing but adds an attribute: found by it.
    let mut s = store.span(tid(9), sid(90))?.ok_or("span 90 is missing")?;
    s.attributes.insert("ticket", "TCK-3391");
    store.repair_spans(std::slice::from_ref(&s))?;
    let page = search(&store, "tck-3391")?;
    assert_eq!(page.hits.len(), 1);
    assert_eq!(page.judged, 1);
    let page = search(&store, "ord-5521")?;
    assert_eq!(page.hits.len(), 5, "its content found still");
    Ok(())
}

/// The rows of `table` in the file at `path`.
fn rows(path: &std::path::Path, table: &str) -> Result<i64, Box<dyn std::error::Error>> {
    let raw = rusqlite::Connection::open(path)?;
    Ok(raw.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
}

#[test]
fn a_batch_shares_its_span_words_entries_until_their_last_span_is_deleted() -> TestResult {
    let (dir, store) = common::open()?;
    let path = dir.path().join("store.db");
    // 100 spans in one batch, a ticket each: entries of spans 0-31, 32-63, 64-95, 96-99.
    let tickets: Vec<SpanRecord> = (0..100u64)
        .map(|i| {
            let mut s = span(tid(i), sid(i), None, "lookup", T0 + i * SEC, SEC / 10);
            s.attributes.insert("ticket", format!("TCK-{i:04}"));
            s
        })
        .collect();
    store.write_spans(&tickets)?;
    assert_eq!(rows(&path, "span_words_docsize")?, 4);
    assert_eq!(rows(&path, "span_word_groups")?, 4);
    let page = search(&store, "tck-0040")?;
    assert_eq!(page.hits.len(), 1);
    assert_eq!(page.judged, 32, "the spans of its entry, 32 to 63");
    // Spans 0-39 deleted: the first entry goes, the second stays for spans 40-63.
    store.delete_before(RecordKind::Spans, T0 + 40 * SEC)?;
    assert_eq!(rows(&path, "span_words_docsize")?, 3);
    assert_eq!(rows(&path, "span_word_groups")?, 3);
    let page = search(&store, "tck-0040")?;
    assert_eq!(page.hits.len(), 1);
    assert_eq!(page.judged, 24, "spans 40 to 63");
    // A repair's new words are an entry of the span's own, replaced by the next repair.
    for ticket in ["RPR-7777", "RPR-8888"] {
        let mut s = store.span(tid(50), sid(50))?.ok_or("span 50 is missing")?;
        s.attributes.insert("repair", ticket);
        store.repair_spans(std::slice::from_ref(&s))?;
        let page = search(&store, ticket)?;
        assert_eq!(page.hits.len(), 1);
        assert_eq!(page.judged, 1);
    }
    assert_eq!(rows(&path, "span_words_docsize")?, 4);
    // Every span deleted: no entry is left.
    store.delete_before(RecordKind::Spans, T0 + 100 * SEC)?;
    assert_eq!(rows(&path, "span_words_docsize")?, 0);
    assert_eq!(rows(&path, "span_word_groups")?, 0);
    Ok(())
}

#[test]
fn a_version_14_store_gets_its_spans_indexed_when_opened() -> TestResult {
    let (dir, store) = common::open()?;
    let named: Vec<SpanRecord> = (0..200u64)
        .map(|i| {
            let name = if i % 50 == 0 { "refund-zeta" } else { "lookup" };
            span(tid(i), sid(i), None, name, T0 + i * SEC, SEC)
        })
        .collect();
    store.write_spans(&named)?;
    drop(store);
    let path = dir.path().join("store.db");
    {
        let raw = rusqlite::Connection::open(&path)?;
        raw.execute_batch(common::BACK_TO_VERSION_15)?;
        raw.execute_batch(
            "DROP TABLE span_words; DROP TABLE piece_words; DROP TABLE content_refs;
             DROP TABLE content_nodes; DROP TABLE content_pieces;
             ALTER TABLE spans DROP COLUMN content;
             PRAGMA user_version = 14;",
        )?;
    }
    let store = agentrace_sqlite::SqliteStore::open(&path)?;
    let page = search(&store, "zeta")?;
    assert_eq!(page.hits.len(), 4);
    assert_eq!(page.judged, 4, "found from the index the migration built");
    Ok(())
}
