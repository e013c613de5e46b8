//! The trace tree and the trace list.

mod common;

use agentrace_store::RecordWriter;
use agentrace_store::Retention;
use agentrace_store::TraceReader;
use std::collections::HashSet;

use agentrace_core::{SpanKind, TokenUsage, TraceId, Usd};
use agentrace_sqlite::{Cursor, QueryError, SqliteStore, StatusFilter, TimeRange, TraceFilter};
use common::{MS, SEC, T0, TestResult, failed, llm, sid, span, tid};

#[test]
fn a_trace_is_a_tree_with_orphans_and_cycles_as_extra_roots() -> TestResult {
    let (_dir, store) = common::open()?;
    let t = tid(1);
    let root = span(t, sid(1), None, "root", T0, 100 * MS);
    let b = span(t, sid(3), Some(sid(1)), "b", T0 + 20 * MS, 10 * MS);
    let a = span(t, sid(2), Some(sid(1)), "a", T0 + 10 * MS, 50 * MS);
    let a1 = span(t, sid(4), Some(sid(2)), "a1", T0 + 11 * MS, MS);
    let orphan = span(t, sid(5), Some(sid(99)), "orphan", T0 + 5 * MS, MS);
    let orphan_child = span(t, sid(6), Some(sid(5)), "orphan child", T0 + 6 * MS, MS);
    // A parent cycle (bad input): c1 → c2 → c1.
    let c1 = span(t, sid(7), Some(sid(8)), "c1", T0 + 200 * MS, MS);
    let c2 = span(t, sid(8), Some(sid(7)), "c2", T0 + 201 * MS, MS);
    let selfish = span(t, sid(9), Some(sid(9)), "own parent", T0 + 300 * MS, MS);
    // Children arrive before their parents, across batches.
    store.write_spans(&[a1.clone(), orphan_child.clone(), c2.clone()])?;
    store.write_spans(&[b.clone(), a.clone(), c1.clone(), selfish.clone()])?;
    store.write_spans(&[orphan.clone(), root.clone()])?;

    let tree = store.trace(t)?.ok_or("trace missing")?;
    assert_eq!(tree.nodes.len(), 9, "no span is dropped");
    let shape: Vec<_> = tree
        .nodes
        .iter()
        .map(|n| (n.span.name.as_str(), n.depth, n.orphan))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("root", 0, false),
            ("a", 1, false),
            ("a1", 2, false),
            ("b", 1, false),
            ("orphan", 0, true),
            ("orphan child", 1, false),
            ("c1", 0, true),
            ("c2", 1, false),
            ("own parent", 0, true),
        ]
    );
    let names = |ix: &[usize]| -> Vec<&str> {
        ix.iter()
            .map(|&i| tree.nodes[i].span.name.as_str())
            .collect()
    };
    assert_eq!(
        names(&tree.roots),
        vec!["root", "orphan", "c1", "own parent"]
    );
    assert_eq!(names(&tree.nodes[0].children), vec!["a", "b"]);
    assert_eq!(tree.nodes[2].parent, Some(1));
    assert_eq!(
        tree.children(6)
            .map(|n| n.span.name.as_str())
            .collect::<Vec<_>>(),
        vec!["c2"]
    );
    assert!(
        tree.nodes[7].children.is_empty(),
        "the cycle is broken at its entry"
    );
    assert_eq!(tree.find(sid(4)).map(|n| &n.span), Some(&a1));
    assert_eq!(tree.orphans().count(), 3);
    // The summary knows the real root.
    assert!(tree.summary.has_root);
    assert_eq!(tree.summary.root_name, "root");
    assert_eq!(tree.summary.root_span_id, sid(1));
    assert_eq!(tree.summary.span_count, 9);
    assert_eq!(tree.summary.start_unix_nano, T0);
    assert_eq!(tree.summary.end_unix_nano, T0 + 301 * MS);
    assert!(store.trace(tid(2))?.is_none());
    Ok(())
}

#[test]
fn a_deep_chain_is_built_without_recursion() -> TestResult {
    let (_dir, store) = common::open()?;
    let t = tid(1);
    let spans: Vec<_> = (1..=20_000u64)
        .map(|i| span(t, sid(i), (i > 1).then(|| sid(i - 1)), "step", T0 + i, 1))
        .collect();
    store.write_spans(&spans)?;
    let tree = store.trace(t)?.ok_or("trace missing")?;
    assert_eq!(tree.nodes.len(), 20_000);
    assert_eq!(tree.nodes[19_999].depth, 19_999);
    assert_eq!(tree.roots, vec![0]);
    // Children starting before their parents (clock skew): the same shape.
    let t = tid(2);
    let spans: Vec<_> = (1..=20_000u64)
        .map(|i| span(t, sid(i), (i > 1).then(|| sid(i - 1)), "step", T0 - i, 1))
        .collect();
    store.write_spans(&spans)?;
    let tree = store.trace(t)?.ok_or("trace missing")?;
    assert_eq!(tree.roots.len(), 1);
    assert_eq!(tree.nodes[0].span.span_id, sid(1));
    assert_eq!(tree.nodes[19_999].depth, 19_999);
    Ok(())
}

#[test]
fn trace_rows_sum_their_spans_and_name_their_head() -> TestResult {
    let (_dir, store) = common::open()?;
    let t = tid(1);
    let mut root = span(t, sid(1), None, "invoke_agent planner", T0, 10 * SEC);
    root.kind = SpanKind::Agent;
    root.agent_name = Some("planner".into());
    root.session_id = Some("s-1".into());
    let mut call = llm(
        t,
        sid(2),
        "gpt-4o",
        T0 + SEC,
        SEC,
        TokenUsage::new(100, 20),
        Some(300),
    );
    call.parent_span_id = Some(sid(1));
    call.agent_name = Some("helper".into());
    let mut unpriced = llm(
        t,
        sid(3),
        "mystery",
        T0 + 2 * SEC,
        SEC,
        TokenUsage::new(7, 3),
        None,
    );
    unpriced.parent_span_id = Some(sid(1));
    let tool = failed(span(t, sid(4), Some(sid(1)), "tool", T0 + 3 * SEC, SEC));
    // The children first: until the root arrives, the head is the earliest span.
    store.write_spans(&[call.clone(), unpriced.clone(), tool])?;
    let before = &store.list_traces(&TraceFilter::new(), None, 10)?.traces[0];
    assert!(!before.has_root);
    assert_eq!(before.root_name, "chat gpt-4o");
    assert_eq!(before.agent_name.as_deref(), Some("helper"));
    store.write_spans(&[root])?;
    let t = &store.list_traces(&TraceFilter::new(), None, 10)?.traces[0];
    assert!(t.has_root);
    assert_eq!(t.root_name, "invoke_agent planner");
    assert_eq!(t.root_span_id, sid(1));
    assert_eq!(t.service_name, "svc");
    assert_eq!(
        (t.start_unix_nano, t.end_unix_nano, t.duration_ns),
        (T0, T0 + 10 * SEC, 10 * SEC)
    );
    assert_eq!((t.span_count, t.error_count), (4, 1));
    assert_eq!(t.usage, TokenUsage::new(107, 23));
    assert_eq!((t.cost, t.unpriced_count), (Some(Usd::from_nanos(300)), 1));
    assert_eq!(
        t.agent_name.as_deref(),
        Some("planner"),
        "the root's agent wins"
    );
    assert_eq!(t.session_id.as_deref(), Some("s-1"));
    Ok(())
}

#[test]
fn a_new_trace_counts_a_span_repeated_in_its_batch_once() -> TestResult {
    let (_dir, store) = common::open()?;
    let t = tid(7);
    let root = span(t, sid(1), None, "root", T0, 10 * SEC);
    let call = llm(
        t,
        sid(2),
        "gpt-4o",
        T0 + SEC,
        SEC,
        TokenUsage::new(10, 2),
        Some(50),
    );
    // The same span id again, other content: the first occurrence is the one stored.
    let mut again = call.clone();
    again.usage = TokenUsage::new(1000, 1000);
    again.end_time_unix_nano = T0 + 60 * SEC;
    let report = store.write_spans(&[root.clone(), call, again])?;
    assert_eq!((report.inserted, report.duplicates), (2, 1));
    let row = &store.list_traces(&TraceFilter::new(), None, 10)?.traces[0];
    assert_eq!((row.span_count, row.usage), (2, TokenUsage::new(10, 2)));
    assert_eq!(row.end_unix_nano, T0 + 10 * SEC);
    assert_eq!(row.cost, Some(Usd::from_nanos(50)));
    // Spans encoded ahead are stored the same way, existing trace or new.
    let mut encoded = agentrace_sqlite::EncodedSpans::new();
    encoded.push(span(t, sid(3), Some(sid(1)), "tool", T0 + 2 * SEC, SEC))?;
    encoded.push(root)?;
    encoded.push(span(tid(8), sid(9), None, "other", T0, SEC))?;
    let report = store.insert_spans(encoded.rows())?;
    assert_eq!((report.inserted, report.duplicates), (2, 1));
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    let counts: Vec<_> = page
        .traces
        .iter()
        .map(|t| (t.trace_id, t.span_count))
        .collect();
    assert!(
        counts.contains(&(t, 3)) && counts.contains(&(tid(8), 1)),
        "{counts:?}"
    );
    Ok(())
}

/// Trace `n`'s root, starting at `T0 + n` s, in `session`.
fn in_session(n: u64, session: &str) -> agentrace_core::SpanRecord {
    let mut s = span(tid(n), sid(n), None, "turn", T0 + n * SEC, SEC);
    s.session_id = Some(session.into());
    s
}

#[test]
fn traces_of_a_session_are_found_before_and_after_they_are_indexed() -> TestResult {
    let (dir, store) = common::open()?;
    let pending = || -> Result<i64, Box<dyn std::error::Error>> {
        let raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
        Ok(raw.query_row("SELECT count(*) FROM pending_traces", [], |r| r.get(0))?)
    };
    let find = |session: &str| -> Result<Vec<TraceId>, Box<dyn std::error::Error>> {
        let page = store.list_traces(&TraceFilter::new().session(session), None, 10)?;
        Ok(page.traces.iter().map(|t| t.trace_id).collect())
    };
    // The first write indexes at once; the next ones within a second leave their rows
    // pending.
    store.write_spans(&[in_session(1, "a")])?;
    store.write_spans(&[in_session(2, "a"), in_session(3, "b")])?;
    assert_eq!(pending()?, 2);
    assert_eq!(find("a")?, vec![tid(2), tid(1)], "one indexed, one pending");
    assert_eq!(store.session("a")?.map(|s| s.traces), Some(2));
    // An earlier root arrives for a pending trace and names another session: it moves.
    let mut root = span(tid(3), sid(30), None, "root", T0, SEC);
    root.session_id = Some("a".into());
    store.write_spans(&[root])?;
    assert_eq!(find("a")?, vec![tid(3), tid(2), tid(1)]);
    assert_eq!(find("b")?, Vec::<TraceId>::new());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    store.write_spans(&[in_session(4, "b")])?;
    assert_eq!(
        pending()?,
        0,
        "a write a second later indexes every pending row"
    );
    assert_eq!(find("a")?, vec![tid(3), tid(2), tid(1)]);
    assert_eq!(find("b")?, vec![tid(4)]);
    assert_eq!(store.session("a")?.map(|s| s.traces), Some(3));
    // An indexed trace moves too.
    let mut root = span(tid(4), sid(40), None, "root", T0, SEC);
    root.session_id = Some("a".into());
    store.write_spans(&[root])?;
    assert_eq!(find("b")?, Vec::<TraceId>::new());
    assert_eq!(store.session("a")?.map(|s| s.traces), Some(4));
    assert_eq!(find("nobody")?, Vec::<TraceId>::new());
    Ok(())
}

#[test]
fn a_version_7_store_keeps_its_pending_and_indexed_rows_findable_when_opened() -> TestResult {
    let (dir, store) = common::open()?;
    // Trace 1 indexed, traces 2 and 3 pending.
    store.write_spans(&[in_session(1, "a")])?;
    store.write_spans(&[in_session(2, "a"), in_session(3, "b")])?;
    drop(store);
    // Make it a version-7 file: a flag on each row, partial indexes by it.
    let path = dir.path().join("store.db");
    {
        let raw = rusqlite::Connection::open(&path)?;
        raw.execute_batch(common::BACK_TO_VERSION_15)?;
        raw.execute_batch(
            "DROP TRIGGER traces_forget; DROP TRIGGER traces_session_moved;
             UPDATE traces SET indexed = trace_no NOT IN (SELECT trace_no FROM pending_traces);
             DROP TABLE trace_sessions; DROP TABLE pending_traces;
             CREATE INDEX traces_session ON traces (session_id, start_ns)
                 WHERE session_id IS NOT NULL AND indexed = 1;
             CREATE INDEX traces_pending ON traces (trace_no) WHERE indexed = 0;
             CREATE TRIGGER traces_forget_id AFTER DELETE ON traces WHEN old.indexed = 1 BEGIN
                 DELETE FROM trace_ids WHERE trace_id = old.trace_id AND trace_no = old.trace_no;
                 DELETE FROM trace_ids_recent
                     WHERE trace_id = old.trace_id AND trace_no = old.trace_no;
             END;
             ALTER TABLE spans DROP COLUMN aggregate; ALTER TABLE spans DROP COLUMN reasoning_reported;
             DROP TABLE scores; DROP TABLE evaluator_rules;
             ALTER TABLE rollup_keys DROP COLUMN mcp_server; DROP TABLE past_changes;
             DROP TABLE content_nodes; DROP TABLE content_pieces; DROP TABLE content_refs;
             DROP TABLE span_words; DROP TABLE piece_words;
             ALTER TABLE spans DROP COLUMN content;
             PRAGMA user_version = 7;",
        )?;
        let flagged: i64 =
            raw.query_row("SELECT count(*) FROM traces WHERE indexed = 0", [], |r| {
                r.get(0)
            })?;
        assert_eq!(flagged, 2, "two rows pending in the version-7 file");
    }
    let store = SqliteStore::open(&path)?;
    assert_eq!(store.schema_version()?, agentrace_sqlite::SCHEMA_VERSION);
    let find = |session: &str| -> Result<Vec<TraceId>, Box<dyn std::error::Error>> {
        let page = store.list_traces(&TraceFilter::new().session(session), None, 10)?;
        Ok(page.traces.iter().map(|t| t.trace_id).collect())
    };
    assert_eq!(find("a")?, vec![tid(2), tid(1)]);
    assert_eq!(find("b")?, vec![tid(3)]);
    // The pending rows are found by id and join their traces; then indexed, still found. The
    // indexed one too.
    store.write_spans(&[span(tid(2), sid(20), Some(sid(2)), "step", T0, SEC)])?;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    store.write_spans(&[span(tid(3), sid(30), Some(sid(3)), "step", T0, SEC)])?;
    store.write_spans(&[span(tid(1), sid(10), Some(sid(1)), "step", T0, SEC)])?;
    let raw = rusqlite::Connection::open(&path)?;
    let pending: i64 = raw.query_row("SELECT count(*) FROM pending_traces", [], |r| r.get(0))?;
    assert_eq!(pending, 0);
    assert_eq!(span_count_of_one_row(&store, tid(2))?, 2);
    assert_eq!(span_count_of_one_row(&store, tid(3))?, 2);
    assert_eq!(span_count_of_one_row(&store, tid(1))?, 2);
    assert_eq!(find("a")?, vec![tid(2), tid(1)]);
    assert_eq!(find("b")?, vec![tid(3)]);
    // The earlier steps moved the traces' starts: their session entries moved with them.
    let entries: Vec<(String, bool)> = raw
        .prepare(
            "SELECT e.session_id, e.start_ns = t.start_ns AND e.session_id = t.session_id \
             FROM trace_sessions e JOIN traces t USING (trace_no) ORDER BY t.trace_no",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let same = |s: &str| (s.to_owned(), true);
    assert_eq!(entries, vec![same("a"), same("a"), same("b")]);
    Ok(())
}

#[test]
fn a_trace_written_by_two_stores_of_one_file_has_one_row() -> TestResult {
    let (_dir, a, b) = two_stores()?;
    let t = tid(5);
    // A store's first write indexes at once; the next ones within a second leave their rows
    // pending: trace 5 is pending, created by `a` after `b` last looked.
    a.write_spans(&[span(tid(1), sid(1), None, "other", T0, SEC)])?;
    b.write_spans(&[span(tid(2), sid(1), None, "other", T0, SEC)])?;
    a.write_spans(&[span(t, sid(1), None, "root", T0, 10 * SEC)])?;
    b.write_spans(&[span(t, sid(2), Some(sid(1)), "child", T0 + SEC, SEC)])?;
    a.write_spans(&[span(t, sid(3), Some(sid(1)), "child", T0 + 2 * SEC, SEC)])?;
    for store in [&a, &b] {
        assert_eq!(span_count_of_one_row(store, t)?, 3);
        let tree = store.trace(t)?.ok_or("trace 5 not found")?;
        assert_eq!(tree.nodes.len(), 3);
    }
    Ok(())
}

#[test]
fn a_trace_another_store_made_and_indexed_is_found_by_this_one() -> TestResult {
    let (_dir, a, b) = two_stores()?;
    let t = tid(6);
    // `b` knows the file's ids as of its first write; `a`'s first write then makes trace 6
    // and indexes it at once, so it is not among the pending rows `b` reloads.
    b.write_spans(&[span(tid(2), sid(1), None, "other", T0, SEC)])?;
    a.write_spans(&[span(t, sid(1), None, "root", T0, 10 * SEC)])?;
    b.write_spans(&[span(t, sid(2), Some(sid(1)), "child", T0 + SEC, SEC)])?;
    assert_eq!(span_count_of_one_row(&b, t)?, 2);
    Ok(())
}

#[test]
fn a_trace_made_where_another_store_deleted_the_newest_is_found_by_this_one() -> TestResult {
    let (_dir, a, b) = two_stores()?;
    let (old, new) = (tid(7), tid(8));
    b.write_spans(&[span(tid(2), sid(1), None, "other", T0 + 100 * SEC, SEC)])?;
    // `a` makes the newest row (an old trace), `b` learns of it (writing to a trace it has)...
    a.write_spans(&[span(old, sid(1), None, "old", T0, SEC)])?;
    let step = span(tid(2), sid(2), Some(sid(1)), "step", T0 + 100 * SEC, SEC);
    b.write_spans(&[step])?;
    // ...then `a` deletes it (retention), and a new trace takes its number.
    a.delete_before(agentrace_sqlite::RecordKind::Spans, T0 + 50 * SEC)?;
    a.write_spans(&[span(new, sid(1), None, "root", T0 + 100 * SEC, SEC)])?;
    // A second on, `a` indexes its rows: `new` is not among the pending rows `b` reloads.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    a.write_spans(&[span(tid(4), sid(1), None, "other", T0 + 100 * SEC, SEC)])?;
    b.write_spans(&[span(
        new,
        sid(2),
        Some(sid(1)),
        "child",
        T0 + 101 * SEC,
        SEC,
    )])?;
    assert_eq!(span_count_of_one_row(&b, new)?, 2);
    Ok(())
}

/// Two stores on one file.
fn two_stores() -> Result<(tempfile::TempDir, SqliteStore, SqliteStore), Box<dyn std::error::Error>>
{
    let (dir, a) = common::open()?;
    let b = SqliteStore::open(dir.path().join("store.db"))?;
    Ok((dir, a, b))
}

/// The span count of trace `t`'s row in `store`'s trace list, checking it has one row.
fn span_count_of_one_row(
    store: &SqliteStore,
    t: TraceId,
) -> Result<u64, Box<dyn std::error::Error>> {
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    let rows: Vec<_> = page.traces.iter().filter(|r| r.trace_id == t).collect();
    assert_eq!(rows.len(), 1, "one row for the trace");
    Ok(rows[0].span_count)
}

#[test]
fn rows_left_pending_when_writes_stop_are_indexed_in_the_background() -> TestResult {
    let (dir, store) = common::open()?;
    // The first write indexes at once, the second leaves its row pending; then nothing.
    store.write_spans(&[span(tid(1), sid(1), None, "a", T0, SEC)])?;
    store.write_spans(&[span(tid(2), sid(1), None, "b", T0, SEC)])?;
    let raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
    let pending = || -> Result<i64, rusqlite::Error> {
        raw.query_row("SELECT count(*) FROM pending_traces", [], |r| r.get(0))
    };
    assert_eq!(pending()?, 1);
    let started = std::time::Instant::now();
    while pending()? > 0 && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(pending()?, 0, "indexed without another write");
    // The writer learns of it (another connection committed) and finds the trace once.
    store.write_spans(&[span(tid(2), sid(2), Some(sid(1)), "c", T0, SEC)])?;
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    assert_eq!(page.traces.len(), 2);
    assert!(
        page.traces
            .iter()
            .any(|t| t.trace_id == tid(2) && t.span_count == 2)
    );
    Ok(())
}

/// Traces 0..n, one root span each, trace i starting at T0 + i s and lasting i ms.
fn traces(range: std::ops::Range<u64>) -> Vec<agentrace_core::SpanRecord> {
    range
        .map(|i| {
            span(
                tid(i),
                sid(i),
                None,
                &format!("run {i}"),
                T0 + i * SEC,
                i * MS,
            )
        })
        .collect()
}

fn ids(page: &agentrace_sqlite::TracePage) -> Vec<TraceId> {
    page.traces.iter().map(|t| t.trace_id).collect()
}

#[test]
fn pagination_is_stable_while_data_is_appended() -> TestResult {
    let (_dir, store) = common::open()?;
    store.write_spans(&traces(0..25))?;
    let filter = TraceFilter::new();
    let page1 = store.list_traces(&filter, None, 10)?;
    assert_eq!(
        ids(&page1),
        (15..25).rev().map(tid).collect::<Vec<_>>(),
        "newest first"
    );
    // Meanwhile: newer traces, and late spans of listed and unlisted traces, one starting
    // before everything else.
    store.write_spans(&traces(25..30))?;
    store.write_spans(&[
        span(
            tid(20),
            sid(1_020),
            Some(sid(20)),
            "late",
            T0 - 100 * SEC,
            MS,
        ),
        span(
            tid(3),
            sid(1_003),
            Some(sid(3)),
            "late",
            T0 + 1_000 * SEC,
            MS,
        ),
        span(tid(12), sid(1_012), None, "new root", T0 - 50 * SEC, MS),
    ])?;
    let page2 = store.list_traces(&filter, page1.next_cursor.as_ref(), 10)?;
    assert_eq!(ids(&page2), (5..15).rev().map(tid).collect::<Vec<_>>());
    let page3 = store.list_traces(&filter, page2.next_cursor.as_ref(), 10)?;
    assert_eq!(ids(&page3), (0..5).rev().map(tid).collect::<Vec<_>>());
    assert_eq!(page3.next_cursor, None, "the last page says so");
    // Every original trace exactly once.
    let all: Vec<_> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (25, 25));
    // The rows show the updated summaries.
    assert_eq!(page2.traces[2].trace_id, tid(12));
    assert_eq!(page2.traces[2].root_name, "new root");
    // A fresh first page shows the newcomers.
    assert_eq!(
        store.list_traces(&filter, None, 3)?.traces[0].trace_id,
        tid(29)
    );
    Ok(())
}

#[test]
fn an_exact_last_page_has_no_cursor_and_bad_cursors_are_refused() -> TestResult {
    let (_dir, store) = common::open()?;
    store.write_spans(&traces(0..10))?;
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    assert_eq!((page.traces.len(), page.next_cursor), (10, None));
    for bad in [
        "",
        "nonsense",
        "t12",
        "s00000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let err = store.list_traces(&TraceFilter::new(), Some(&Cursor::from(bad.to_owned())), 10);
        assert!(
            matches!(err, Err(QueryError::InvalidCursor(_))),
            "{bad:?}: {err:?}"
        );
    }
    Ok(())
}

#[test]
fn list_filters() -> TestResult {
    let (_dir, store) = common::open()?;
    let mut spans = traces(0..10);
    // Trace 3: an LLM call of gpt-4o by agent "writer" for user "u" in session "s".
    let mut call = llm(
        tid(3),
        sid(103),
        "gpt-4o",
        T0 + 3 * SEC,
        MS,
        TokenUsage::new(1, 1),
        None,
    );
    call.parent_span_id = Some(sid(3));
    call.agent_name = Some("writer".into());
    call.session_id = Some("s".into());
    call.user_id = Some("u".into());
    call.response_model = Some("gpt-4o-2024-08-06".into());
    spans.push(call);
    // Trace 4: a failed tool in another service.
    let mut tool = failed(span(
        tid(4),
        sid(104),
        Some(sid(4)),
        "web_search",
        T0 + 4 * SEC,
        MS,
    ));
    tool.kind = SpanKind::Tool;
    tool.resource = std::sync::Arc::new(agentrace_core::Resource::new("tools-svc"));
    spans.push(tool);
    store.write_spans(&spans)?;

    let find = |f: TraceFilter| -> Result<Vec<TraceId>, QueryError> {
        Ok(ids(&store.list_traces(&f, None, 100)?))
    };
    assert_eq!(find(TraceFilter::new().model("gpt-4o"))?, vec![tid(3)]);
    assert_eq!(
        find(TraceFilter::new().model("gpt-4o-2024-08-06"))?,
        vec![tid(3)]
    );
    assert_eq!(find(TraceFilter::new().agent("writer"))?, vec![tid(3)]);
    assert_eq!(find(TraceFilter::new().session("s"))?, vec![tid(3)]);
    assert_eq!(find(TraceFilter::new().user("u"))?, vec![tid(3)]);
    assert_eq!(find(TraceFilter::new().kind(SpanKind::Llm))?, vec![tid(3)]);
    assert_eq!(find(TraceFilter::new().kind(SpanKind::Tool))?, vec![tid(4)]);
    assert_eq!(find(TraceFilter::new().service("tools-svc"))?, vec![tid(4)]);
    assert_eq!(
        find(TraceFilter::new().status(StatusFilter::Error))?,
        vec![tid(4)]
    );
    assert_eq!(find(TraceFilter::new().status(StatusFilter::Ok))?.len(), 9);
    assert_eq!(
        find(TraceFilter::new().name_contains("WEB_"))?,
        vec![tid(4)]
    );
    assert_eq!(
        find(TraceFilter::new().name_contains("%"))?,
        Vec::<TraceId>::new()
    );
    assert_eq!(
        find(TraceFilter::new().name_contains("run 7"))?,
        vec![tid(7)]
    );
    assert_eq!(
        find(TraceFilter::new().min_duration_ns(8 * MS))?,
        vec![tid(9), tid(8)]
    );
    assert_eq!(
        find(TraceFilter::new().range(TimeRange::new(T0 + 2 * SEC, T0 + 4 * SEC)))?,
        vec![tid(3), tid(2)]
    );
    assert_eq!(
        find(
            TraceFilter::new()
                .model("gpt-4o")
                .agent("writer")
                .range(TimeRange::since(T0 + 4 * SEC))
        )?,
        Vec::<TraceId>::new()
    );
    // Filters and cursors together.
    let f = TraceFilter::new().status(StatusFilter::Ok);
    let p1 = store.list_traces(&f, None, 5)?;
    let p2 = store.list_traces(&f, p1.next_cursor.as_ref(), 5)?;
    assert_eq!(ids(&p1), vec![tid(9), tid(8), tid(7), tid(6), tid(5)]);
    assert_eq!(ids(&p2), vec![tid(3), tid(2), tid(1), tid(0)]);
    assert_eq!(p2.next_cursor, None);
    Ok(())
}

/// An LLM call of `t` under `parent`, priced.
fn call(
    t: TraceId,
    id: agentrace_core::SpanId,
    parent: Option<agentrace_core::SpanId>,
    start: u64,
    duration: u64,
) -> agentrace_core::SpanRecord {
    let mut s = llm(
        t,
        id,
        "gpt-4o",
        start,
        duration,
        TokenUsage::new(1_000, 100),
        Some(5_000),
    );
    s.parent_span_id = parent;
    s
}

#[test]
fn an_outline_is_the_tree_without_attributes_and_events_but_the_repair_marks() -> TestResult {
    let (_dir, store) = common::open()?;
    let t = tid(40);
    let mut root = span(t, sid(1), None, "root", T0, 100 * MS);
    root.attributes.insert("gen_ai.input.messages", "[...]");
    root.events.push(agentrace_core::SpanEvent {
        name: "exception".into(),
        time_unix_nano: T0 + MS,
        attributes: Default::default(),
    });
    let mut call = call(t, sid(2), Some(sid(1)), T0 + MS, 10 * MS);
    call.attributes.insert("agentrace.reattached", true);
    call.attributes.insert("http.status_code", 200);
    store.write_spans(&[root.clone(), call.clone()])?;

    let full = store.trace(t)?.ok_or("trace missing")?;
    let outline = store.trace_outline(t)?.ok_or("trace missing")?;
    assert_eq!(outline.summary, full.summary);
    assert_eq!(outline.nodes.len(), 2);
    for (o, f) in outline.nodes.iter().zip(&full.nodes) {
        assert_eq!(
            (o.depth, o.parent, &o.children, o.subtree),
            (f.depth, f.parent, &f.children, f.subtree)
        );
        assert_eq!(o.reattached, f.reattached);
        assert_eq!(
            (o.span.span_id, &o.span.name, o.span.usage, o.span.cost),
            (f.span.span_id, &f.span.name, f.span.usage, f.span.cost)
        );
        assert!(o.span.events.is_empty());
    }
    assert!(outline.nodes[0].span.attributes.is_empty());
    assert!(outline.nodes[1].reattached, "the repair mark is kept");
    assert_eq!(outline.nodes[1].span.attributes.len(), 1);
    assert!(
        full.nodes[0]
            .span
            .attributes
            .get("gen_ai.input.messages")
            .is_some()
    );
    Ok(())
}

#[test]
fn a_turn_is_read_from_the_root_and_the_first_and_last_model_calls() -> TestResult {
    let (_dir, store) = common::open()?;
    let t = tid(41);
    let root = span(t, sid(1), None, "root", T0, 100 * MS);
    let first = call(t, sid(2), Some(sid(1)), T0 + MS, 10 * MS);
    let middle = call(t, sid(3), Some(sid(1)), T0 + 20 * MS, 10 * MS);
    let last = call(t, sid(4), Some(sid(1)), T0 + 30 * MS, 60 * MS);
    let tool = span(t, sid(5), Some(sid(1)), "tool", T0 + 95 * MS, MS);
    store.write_spans(&[last.clone(), tool, middle, first.clone(), root.clone()])?;
    let ids: Vec<_> = store.turn_spans(t)?.iter().map(|s| s.span_id).collect();
    assert_eq!(ids, [root.span_id, first.span_id, last.span_id]);

    let single = tid(42);
    let only = call(single, sid(1), None, T0, MS);
    store.write_spans(std::slice::from_ref(&only))?;
    let ids: Vec<_> = store
        .turn_spans(single)?
        .iter()
        .map(|s| s.span_id)
        .collect();
    assert_eq!(ids, [only.span_id], "each span once");
    assert!(store.turn_spans(tid(43))?.is_empty());
    Ok(())
}

#[test]
fn the_last_llm_call_before_a_time_under_a_parent_is_found() -> TestResult {
    let (_dir, store) = common::open()?;
    let trace = tid(40);
    let agent = span(trace, sid(1), None, "invoke_agent a", T0, 60 * SEC);
    let call = |id, start| {
        let mut c = llm(
            trace,
            sid(id),
            "gpt-4o",
            start,
            SEC,
            TokenUsage::new(1, 1),
            None,
        );
        c.parent_span_id = Some(sid(1));
        c
    };
    let mut elsewhere = call(5, T0 + 3 * SEC);
    elsewhere.parent_span_id = Some(sid(9));
    let tool = span(
        trace,
        sid(6),
        Some(sid(1)),
        "get_weather",
        T0 + 4 * SEC,
        SEC,
    );
    store.write_spans(&[
        agent,
        call(2, T0 + SEC),
        call(3, T0 + 2 * SEC),
        elsewhere,
        tool,
        call(4, T0 + 10 * SEC),
    ])?;
    let found = |before| store.last_llm_call_before(trace, sid(1), before);
    // Calls end at T0+2s, T0+3s, T0+11s; the one under another parent and the tool do not count.
    assert_eq!(found(T0 + 5 * SEC)?.map(|s| s.span_id), Some(sid(3)));
    assert_eq!(found(T0 + 2 * SEC)?.map(|s| s.span_id), Some(sid(2)));
    assert_eq!(found(T0 + SEC)?, None, "none had ended");
    assert_eq!(
        store.last_llm_call_before(tid(41), sid(1), T0 + 60 * SEC)?,
        None,
        "another trace"
    );
    Ok(())
}

#[test]
fn a_trace_whose_head_is_filled_in_late_keeps_one_row() -> TestResult {
    let (_dir, store) = common::open()?;
    let t = tid(6);
    // A call arrives first; its row is indexed by a write a second later.
    store.write_spans(&[span(t, sid(2), Some(sid(1)), "call", T0 + SEC, SEC)])?;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    store.write_spans(&[span(tid(7), sid(1), None, "other", T0, SEC)])?;
    // Its agent arrives, itself under a span that never does, and starting later (a skewed
    // clock): the call stays the trace's head, takes the agent's name, and the row is rebuilt.
    let mut agent = span(t, sid(1), Some(sid(9)), "agent", T0 + 2 * SEC, 10 * SEC);
    agent.agent_name = Some("planner".into());
    store.write_spans(&[agent])?;
    // A later call of the same trace finds that row.
    store.write_spans(&[span(t, sid(3), Some(sid(1)), "call", T0 + 3 * SEC, SEC)])?;
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    let rows: Vec<_> = page.traces.iter().filter(|r| r.trace_id == t).collect();
    assert_eq!(rows.len(), 1, "one row for the trace: {rows:?}");
    assert_eq!(rows[0].span_count, 3);
    assert_eq!(rows[0].agent_name.as_deref(), Some("planner"));
    Ok(())
}

#[test]
fn trace_ids_move_through_the_index_levels_and_every_trace_stays_found() -> TestResult {
    let (dir, store) = common::open()?;
    let raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
    let count =
        |sql: &str| -> Result<i64, rusqlite::Error> { raw.query_row(sql, [], |r| r.get(0)) };
    let n: u64 = 40_000;
    for start in (0..n).step_by(2_000) {
        store.write_spans(&traces(start..start + 2_000))?;
    }
    // A write a second later indexes the pending rows: the recent level now holds more than a
    // merge needs (32,768 ids at least), and each write after it moves a chunk of the merge.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for i in n..n + 12 {
        store.write_spans(&traces(i..i + 1))?;
    }
    let main = count("SELECT count(*) FROM trace_ids")?;
    let recent = count("SELECT count(*) FROM trace_ids_recent")?;
    let pending = count("SELECT count(*) FROM pending_traces")?;
    assert!(
        main >= 32_768 && recent < 100,
        "main {main}, recent {recent}"
    );
    assert_eq!(main + recent + pending, 40_012, "each trace's id once");
    // Every trace is found, and a late span joins its trace's row.
    for i in (0..n + 12).step_by(997) {
        assert!(store.trace(tid(i))?.is_some(), "trace {i}");
    }
    store.write_spans(&[span(
        tid(5),
        sid(99),
        Some(sid(5)),
        "late",
        T0 + 5 * SEC,
        MS,
    )])?;
    assert_eq!(store.trace(tid(5))?.map(|t| t.nodes.len()), Some(2));
    assert_eq!(
        count("SELECT count(*) FROM traces WHERE trace_id = x'aa000000000000000000000000000005'")?,
        1
    );
    // Deleted traces leave no id behind, and their ids make new traces.
    store.delete_before(agentrace_sqlite::RecordKind::Spans, T0 + 20_000 * SEC)?;
    let ids =
        count("SELECT (SELECT count(*) FROM trace_ids) + (SELECT count(*) FROM trace_ids_recent)")?;
    let indexed = count(
        "SELECT count(*) FROM traces WHERE trace_no NOT IN (SELECT trace_no FROM pending_traces)",
    )?;
    assert_eq!(ids, indexed);
    assert!(store.trace(tid(5))?.is_none());
    store.write_spans(&traces(5..6))?;
    assert_eq!(store.trace(tid(5))?.map(|t| t.nodes.len()), Some(1));
    Ok(())
}
