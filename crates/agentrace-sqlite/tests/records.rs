//! Spans and events as records: filters, order, cursors.

mod common;

use agentrace_core::{EventKind, Level, SpanKind, TokenUsage};
use agentrace_sqlite::{
    Cursor, EventFilter, EventQuery, Order, QueryError, SpanFilter, SpanQuery, StatusFilter,
    TimeRange,
};
use agentrace_store::RecordWriter;
use agentrace_store::TraceReader;
use common::{MS, SEC, T0, TestResult, event, failed, llm, sid, span, tid};

#[test]
fn span_pages_cover_everything_once_in_both_orders() -> TestResult {
    let (_dir, store) = common::open()?;
    // Many spans share a start time, so the cursor must break ties.
    let spans: Vec<_> = (0..95u64)
        .map(|i| span(tid(i % 7), sid(i), None, "s", T0 + (i / 10) * SEC, 1))
        .collect();
    store.write_spans(&spans)?;
    for order in [Order::Asc, Order::Desc] {
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = store.spans(
                &SpanQuery::new(SpanFilter::new())
                    .order(order)
                    .limit(10)
                    .cursor(cursor),
            )?;
            pages += 1;
            seen.extend(
                page.spans
                    .iter()
                    .map(|s| (s.start_time_unix_nano, s.trace_id, s.span_id)),
            );
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(pages, 10);
        let mut expected: Vec<_> = spans
            .iter()
            .map(|s| (s.start_time_unix_nano, s.trace_id, s.span_id))
            .collect();
        expected.sort();
        if order == Order::Desc {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{order:?}");
    }
    Ok(())
}

#[test]
fn span_filters() -> TestResult {
    let (_dir, store) = common::open()?;
    let mut a = llm(
        tid(1),
        sid(1),
        "gpt-4o",
        T0,
        5 * MS,
        TokenUsage::new(1, 1),
        Some(1),
    );
    a.provider = Some("openai".into());
    a.framework = Some("rig".into());
    a.session_id = Some("s".into());
    a.user_id = Some("u".into());
    a.agent_name = Some("writer".into());
    let mut b = failed(span(
        tid(1),
        sid(2),
        Some(sid(1)),
        "web_search",
        T0 + SEC,
        50 * MS,
    ));
    b.kind = SpanKind::Tool;
    b.tool_name = Some("web_search".into());
    let c = span(tid(2), sid(3), None, "other", T0 + 2 * SEC, MS);
    store.write_spans(&[a, b, c])?;
    let names = |f: SpanFilter| -> Result<Vec<String>, QueryError> {
        Ok(store
            .spans(&SpanQuery::new(f))?
            .spans
            .into_iter()
            .map(|s| s.name.to_string())
            .collect())
    };
    assert_eq!(names(SpanFilter::new().trace_id(tid(2)))?, ["other"]);
    assert_eq!(
        names(SpanFilter::new().kind(SpanKind::Tool))?,
        ["web_search"]
    );
    assert_eq!(names(SpanFilter::new().tool("web_search"))?, ["web_search"]);
    assert_eq!(names(SpanFilter::new().model("gpt-4o"))?, ["chat gpt-4o"]);
    assert_eq!(
        names(SpanFilter::new().provider("openai"))?,
        ["chat gpt-4o"]
    );
    // The tool call, a child of the LLM call, inherits its framework, session, user and agent.
    assert_eq!(
        names(SpanFilter::new().framework("rig"))?,
        ["chat gpt-4o", "web_search"]
    );
    assert_eq!(
        names(SpanFilter::new().session("s").user("u").agent("writer"))?,
        ["chat gpt-4o", "web_search"]
    );
    assert_eq!(names(SpanFilter::new().service("svc"))?.len(), 3);
    assert_eq!(names(SpanFilter::new().service("nope"))?.len(), 0);
    assert_eq!(
        names(SpanFilter::new().status(StatusFilter::Error))?,
        ["web_search"]
    );
    assert_eq!(
        names(SpanFilter::new().status(StatusFilter::Ok))?,
        ["chat gpt-4o", "other"]
    );
    assert_eq!(
        names(SpanFilter::new().min_duration_ns(5 * MS))?,
        ["chat gpt-4o", "web_search"]
    );
    assert_eq!(
        names(SpanFilter::new().name_contains("SEARCH"))?,
        ["web_search"]
    );
    assert_eq!(
        names(SpanFilter::new().range(TimeRange::new(T0 + SEC, T0 + 2 * SEC)))?,
        ["web_search"]
    );
    Ok(())
}

#[test]
fn event_filters_order_and_cursors() -> TestResult {
    let (_dir, store) = common::open()?;
    let mut events = Vec::new();
    for i in 0..30u64 {
        let level = Level::ALL[(i % 7) as usize];
        let kind = if i % 3 == 0 {
            EventKind::ToolCall
        } else {
            EventKind::Log
        };
        let mut e = event(T0 + i * MS, level, kind, &format!("message {i}"));
        if i % 2 == 0 {
            e.trace_id = Some(tid(1));
            e.span_id = Some(sid(i % 4));
            e.session_id = Some("s".into());
            e.agent_id = Some("a-1".into());
        }
        events.push(e);
    }
    // Two events at the same instant.
    events.push(event(T0 + 29 * MS, Level::Info, EventKind::Log, "twin"));
    store.insert_events(&events)?;
    let count = |f: EventFilter| -> Result<usize, QueryError> {
        Ok(store.events(&EventQuery::new(f))?.events.len())
    };
    assert_eq!(count(EventFilter::new())?, 31);
    assert_eq!(count(EventFilter::new().trace_id(tid(1)))?, 15);
    assert_eq!(
        count(EventFilter::new().trace_id(tid(1)).span_id(sid(0)))?,
        8
    );
    assert_eq!(count(EventFilter::new().kind("tool.call"))?, 10);
    assert_eq!(count(EventFilter::new().min_level(Level::Error))?, 8);
    assert_eq!(count(EventFilter::new().session("s").agent_id("a-1"))?, 15);
    assert_eq!(count(EventFilter::new().service("svc"))?, 31);
    assert_eq!(count(EventFilter::new().message_contains("MESSAGE 2"))?, 11);
    assert_eq!(
        count(EventFilter::new().range(TimeRange::new(T0 + 10 * MS, T0 + 20 * MS)))?,
        10
    );
    // Newest first, in pages of 4.
    let mut cursor = None;
    let mut times = Vec::new();
    loop {
        let page = store.events(
            &EventQuery::new(EventFilter::new())
                .order(Order::Desc)
                .limit(4)
                .cursor(cursor),
        )?;
        times.extend(page.events.iter().map(|e| e.time_unix_nano));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(times.len(), 31);
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    // A span cursor is not an event cursor.
    let span_page = store.spans(&SpanQuery::default().limit(0))?;
    assert!(span_page.next_cursor.is_none());
    let err = store.events(&EventQuery::default().cursor(Some(Cursor::from("s00".to_owned()))));
    assert!(matches!(err, Err(QueryError::InvalidCursor(_))));
    Ok(())
}
