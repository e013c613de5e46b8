//! Writes: idempotency, atomic batches, reads during writes, shutdown.

mod common;

use agentrace_store::Analytics;
use agentrace_store::RecordWriter;
use agentrace_store::TraceReader;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use agentrace_core::{AttributeValue, EventKind, Level, Sink, SpanSink, TokenUsage};
use agentrace_sqlite::{
    EventFilter, EventQuery, InsertReport, SpanFilter, SpanQuery, TraceFilter, WriteError,
};
use common::{T0, TestResult, event, llm, sid, span, tid};

#[test]
fn a_span_seen_again_is_stored_once_and_counted_as_duplicate() -> TestResult {
    let (_dir, store) = common::open()?;
    let batch: Vec<_> = (0..10)
        .map(|i| {
            llm(
                tid(1),
                sid(i),
                "gpt-4o",
                T0 + i,
                100,
                TokenUsage::new(5, 1),
                Some(10),
            )
        })
        .collect();
    assert_eq!(
        store.write_spans(&batch)?,
        InsertReport {
            inserted: 10,
            duplicates: 0,
            ..InsertReport::default()
        }
    );
    // Half old, half new, and one repeated inside the batch.
    let mut second: Vec<_> = (5..15)
        .map(|i| {
            llm(
                tid(1),
                sid(i),
                "gpt-4o",
                T0 + i,
                100,
                TokenUsage::new(5, 1),
                Some(10),
            )
        })
        .collect();
    second.push(second[9].clone());
    assert_eq!(
        store.write_spans(&second)?,
        InsertReport {
            inserted: 5,
            duplicates: 6,
            ..InsertReport::default()
        }
    );
    assert_eq!(store.spans(&SpanQuery::default())?.spans.len(), 15);
    // The trace summary counted each span once.
    let t = &store.list_traces(&TraceFilter::new(), None, 10)?.traces[0];
    assert_eq!(t.span_count, 15);
    assert_eq!(t.usage.input_tokens, 75);
    assert_eq!(t.cost.map(|c| c.nanos()), Some(150));
    Ok(())
}

#[test]
fn the_first_version_of_a_span_wins() -> TestResult {
    let (_dir, store) = common::open()?;
    let first = span(tid(1), sid(1), None, "first", T0, 10);
    let mut again = first.clone();
    again.name = "second".into();
    store.write_spans(std::slice::from_ref(&first))?;
    store.write_spans(&[again])?;
    assert_eq!(store.spans(&SpanQuery::default())?.spans, vec![first]);
    Ok(())
}

#[test]
fn identical_events_are_stored_once_and_different_ones_all() -> TestResult {
    let (_dir, store) = common::open()?;
    let e = event(T0, Level::Info, EventKind::ToolCall, "call");
    let mut same_time = e.clone();
    same_time.message = "another call".into();
    let mut with_attr = e.clone();
    with_attr.attributes.insert("k", 1i64);
    let report = store.insert_events(&[e.clone(), e.clone(), same_time, with_attr])?;
    assert_eq!(
        report,
        InsertReport {
            inserted: 3,
            duplicates: 1,
            ..InsertReport::default()
        }
    );
    let report = store.insert_events(&[e])?;
    assert_eq!(
        report,
        InsertReport {
            inserted: 0,
            duplicates: 1,
            ..InsertReport::default()
        }
    );
    assert_eq!(
        store
            .events(&EventQuery::new(EventFilter::new()))?
            .events
            .len(),
        3
    );
    Ok(())
}

#[test]
fn reads_see_committed_data_while_another_connection_holds_the_write_lock() -> TestResult {
    let (dir, store) = common::open()?;
    let spans: Vec<_> = (0..100)
        .map(|i| span(tid(i), sid(i), None, "s", T0 + i, 5))
        .collect();
    store.write_spans(&spans)?;
    let mut raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
    let tx = raw.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute("DELETE FROM spans", [])?;
    tx.execute("DELETE FROM traces", [])?;
    // A write is in progress (uncommitted); reads neither wait nor see it.
    let started = std::time::Instant::now();
    assert_eq!(store.spans(&SpanQuery::default())?.spans.len(), 100);
    assert_eq!(
        store
            .list_traces(&TraceFilter::new(), None, 1000)?
            .traces
            .len(),
        100
    );
    assert!(store.trace(tid(7))?.is_some());
    assert_eq!(store.overview_exact(Default::default())?.spans, 100);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "reads waited for the writer"
    );
    tx.rollback()?;
    Ok(())
}

#[test]
fn batches_are_atomic_and_readable_while_written() -> TestResult {
    let (_dir, store) = common::open()?;
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let store = store.clone();
        let done = done.clone();
        std::thread::spawn(move || -> Result<(), WriteError> {
            let result = (0..20u64).try_for_each(|b| {
                let batch: Vec<_> = (0..1_000u64)
                    .map(|i| span(tid(b * 1_000 + i), sid(i), None, "s", T0 + b * 1_000 + i, 5))
                    .collect();
                store.write_spans(&batch).map(drop)
            });
            done.store(true, Ordering::SeqCst);
            result
        })
    };
    let mut seen = Vec::new();
    loop {
        let finished = done.load(Ordering::SeqCst);
        let summary = store.overview_exact(Default::default())?;
        // A reader sees whole batches only, and spans and trace rows agree.
        assert_eq!(
            summary.spans % 1_000,
            0,
            "partial batch visible: {}",
            summary.spans
        );
        assert_eq!(summary.traces, summary.spans);
        seen.push(summary.spans);
        if finished {
            break;
        }
    }
    writer.join().map_err(|_| "writer panicked")??;
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "counts went backwards: {seen:?}"
    );
    assert_eq!(store.overview_exact(Default::default())?.spans, 20_000);
    Ok(())
}

#[tokio::test]
async fn after_shutdown_writes_fail_and_queries_work() -> TestResult {
    let (_dir, store) = common::open()?;
    store.write_spans(&[span(tid(1), sid(1), None, "kept", T0, 1)])?;
    store.shutdown().await?;
    store.shutdown().await?; // idempotent
    assert!(store.is_shut_down());
    assert!(matches!(
        store.write_spans(&[span(tid(2), sid(2), None, "late", T0, 1)]),
        Err(WriteError::ShutDown)
    ));
    assert!(matches!(
        store
            .export_spans(&[span(tid(2), sid(2), None, "late", T0, 1)])
            .await,
        Err(agentrace_core::ExportError::ShutDown)
    ));
    assert_eq!(store.spans(&SpanQuery::default())?.spans.len(), 1);
    Ok(())
}

#[test]
fn non_finite_attributes_do_not_break_reading() -> TestResult {
    let (_dir, store) = common::open()?;
    let mut s = span(tid(1), sid(1), None, "nan", T0, 1);
    s.attributes.insert("ratio", f64::NAN);
    s.attributes.insert("inf", f64::INFINITY);
    s.attributes.insert("ok", "yes");
    store.write_spans(&[s])?;
    let got = store
        .spans(&SpanQuery::new(SpanFilter::new().trace_id(tid(1))))?
        .spans;
    let attrs = &got[0].attributes;
    assert!(matches!(attrs.get("ratio"), Some(AttributeValue::F64(v)) if v.is_nan()));
    assert_eq!(attrs.get("ok"), Some(&AttributeValue::String("yes".into())));
    Ok(())
}

#[test]
fn absurd_values_round_trip() -> TestResult {
    let (_dir, store) = common::open()?;
    let mut s = span(tid(1), sid(1), None, "", u64::MAX - 5, 5);
    s.usage = TokenUsage {
        input_tokens: u64::MAX,
        output_tokens: i64::MAX as u64 + 1,
        cache_read_tokens: 0,
        cache_write_tokens: 1,
        cache_write_1h_tokens: u64::MAX,
        reasoning_tokens: Some(2),
    };
    s.end_time_unix_nano = 0; // ends before it starts
    store.write_spans(&[s.clone()])?;
    assert_eq!(store.spans(&SpanQuery::default())?.spans, vec![s]);
    // Aggregates over them answer instead of failing.
    store.overview_exact(Default::default())?;
    store.list_traces(&TraceFilter::new(), None, 10)?;
    Ok(())
}

#[test]
fn a_reasoning_count_not_reported_stays_unknown() -> TestResult {
    let (dir, store) = common::open()?;
    let reasoning = [None, Some(0), Some(7)];
    let spans: Vec<_> = (0..3)
        .map(|i| {
            let mut s = span(tid(1), sid(i), None, "chat", T0 + i, 1);
            s.usage = TokenUsage {
                reasoning_tokens: reasoning[i as usize],
                ..TokenUsage::new(10, 9)
            };
            s
        })
        .collect();
    store.write_spans(&spans)?;
    let stored = |store: &agentrace_sqlite::SqliteStore| -> Result<Vec<Option<u64>>, Box<dyn std::error::Error>> {
        let mut got = store.spans(&SpanQuery::default())?.spans;
        got.sort_by_key(|s| s.start_time_unix_nano);
        Ok(got.iter().map(|s| s.usage.reasoning_tokens).collect())
    };
    assert_eq!(stored(&store)?, reasoning);
    drop(store);

    // A file of schema version 9 knew no difference: zero stood for both, and becomes unknown.
    let path = dir.path().join("store.db");
    {
        let raw = rusqlite::Connection::open(&path)?;
        raw.execute_batch(common::BACK_TO_VERSION_15)?;
        raw.execute_batch(
            "ALTER TABLE spans DROP COLUMN reasoning_reported; DROP TABLE scores; DROP TABLE evaluator_rules; \
             ALTER TABLE rollup_keys DROP COLUMN mcp_server; DROP TABLE past_changes;
             DROP TABLE content_nodes; DROP TABLE content_pieces; DROP TABLE content_refs;
             DROP TABLE span_words; DROP TABLE piece_words;
             ALTER TABLE spans DROP COLUMN content;
             PRAGMA user_version = 9;",
        )?;
    }
    let store = agentrace_sqlite::SqliteStore::open(&path)?;
    assert_eq!(stored(&store)?, [None, None, Some(7)]);
    Ok(())
}

#[test]
fn a_version_8_store_counts_its_marked_aggregates_nowhere_when_opened() -> TestResult {
    let (dir, store) = common::open()?;
    // A version-8 writer kept a marked aggregate's usage and cost in its columns.
    let mut run = llm(
        tid(1),
        sid(1),
        "gpt-4o",
        T0,
        100,
        TokenUsage::new(30, 6),
        Some(90),
    );
    run.attributes.insert("agentrace.aggregate", true);
    let mut call = llm(
        tid(1),
        sid(2),
        "gpt-4o",
        T0 + 1,
        50,
        TokenUsage::new(30, 6),
        Some(90),
    );
    call.parent_span_id = Some(sid(1));
    store.write_spans(&[run, call])?;
    drop(store);
    let path = dir.path().join("store.db");
    {
        let raw = rusqlite::Connection::open(&path)?;
        raw.execute_batch(common::BACK_TO_VERSION_15)?;
        raw.execute_batch(
            "UPDATE spans SET input_tokens = 30, output_tokens = 6, cost_input = 30, \
                 cost_cache_read = 0, cost_cache_write = 0, cost_output = 60, cost_total = 90 \
                 WHERE span_id = (SELECT span_id FROM spans WHERE aggregate = 1);
             ALTER TABLE spans DROP COLUMN aggregate;
             ALTER TABLE spans DROP COLUMN reasoning_reported;
             DROP TABLE scores; DROP TABLE evaluator_rules;
             ALTER TABLE rollup_keys DROP COLUMN mcp_server; DROP TABLE past_changes;
             DROP TABLE content_nodes; DROP TABLE content_pieces; DROP TABLE content_refs;
             DROP TABLE span_words; DROP TABLE piece_words;
             ALTER TABLE spans DROP COLUMN content;
             PRAGMA user_version = 8;",
        )?;
    }
    let store = agentrace_sqlite::SqliteStore::open(&path)?;
    let tree = store.trace(tid(1))?.ok_or("the trace")?;
    assert_eq!(tree.summary.usage, TokenUsage::new(30, 6));
    assert_eq!(tree.summary.cost.map(|c| c.nanos()), Some(90));
    let run = &tree
        .nodes
        .iter()
        .find(|n| n.span.span_id == sid(1))
        .ok_or("the run")?
        .span;
    assert!(run.usage.is_empty(), "{run:?}");
    assert_eq!(run.cost, None);
    assert_eq!(
        run.attributes.get("agentrace.aggregate.input_tokens"),
        Some(&AttributeValue::I64(30))
    );
    let billed = store.aggregate(&agentrace_sqlite::AggregateQuery::new(
        SpanFilter::new().billable(true),
        [],
    ))?;
    assert_eq!(billed.total.count, 1, "{billed:?}");
    Ok(())
}

#[test]
fn many_resources_are_each_stored_once() -> TestResult {
    let (dir, store) = common::open()?;
    let spans: Vec<_> = (0..300u64)
        .map(|i| {
            let mut s = span(tid(i), sid(i), None, "s", T0 + i, 1);
            s.resource = Arc::new(agentrace_core::Resource::new(format!("svc-{}", i % 3)));
            s
        })
        .collect();
    store.write_spans(&spans)?;
    store.write_spans(&spans)?;
    let raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
    let n: i64 = raw.query_row("SELECT count(*) FROM resources", [], |r| r.get(0))?;
    assert_eq!(n, 3);
    let got = store.spans(&SpanQuery::default())?.spans;
    assert_eq!(got.len(), 300);
    assert!(
        got.iter()
            .all(|s| s.resource.service_name.starts_with("svc-"))
    );
    Ok(())
}

#[test]
fn two_stores_on_one_file_write_the_same_traces_concurrently() -> TestResult {
    // As the server and a CLI process would: each has its own writer connection.
    let (dir, first) = common::open()?;
    let second = agentrace_sqlite::SqliteStore::open(dir.path().join("store.db"))?;
    let batches = |offset: u64| -> Vec<Vec<agentrace_core::SpanRecord>> {
        (0..20u64)
            .map(|b| {
                (0..200u64)
                    .map(|i| {
                        let n = b * 200 + i;
                        // Both stores write spans of the same 100 traces.
                        span(tid(n % 100), sid(offset + n), None, "s", T0 + n, 1)
                    })
                    .collect()
            })
            .collect()
    };
    let (a, b) = (batches(0), batches(1_000_000));
    let handle = {
        let first = first.clone();
        std::thread::spawn(move || {
            a.iter()
                .try_for_each(|batch| first.write_spans(batch).map(drop))
        })
    };
    for batch in &b {
        second.write_spans(batch)?;
    }
    handle.join().map_err(|_| "writer panicked")??;
    let traces = first.list_traces(&TraceFilter::new(), None, 1_000)?.traces;
    assert_eq!(traces.len(), 100, "one row per trace, whoever created it");
    assert!(traces.iter().all(|t| t.span_count == 80));
    assert_eq!(second.overview_exact(Default::default())?.spans, 8_000);
    Ok(())
}

/// The writer never checkpoints in its commits (`wal_autocheckpoint = 0`); the store's own
/// thread moves committed pages into the main file in the background.
#[test]
fn the_wal_is_checkpointed_in_the_background() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("agentrace.db");
    let store = agentrace_sqlite::SqliteStore::open(&path).expect("opens");
    let before = std::fs::metadata(&path).expect("the file").len();
    for n in 0..200u64 {
        let spans = agentrace_core::testing::fixtures::sample_spans(
            agentrace_core::TraceId::random(),
            1_700_000_000_000_000_000 + n * 1_000_000_000,
        );
        store.write_spans(&spans).expect("stored");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::metadata(&path).expect("the file").len() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint moved the committed pages into {}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(store);
}
