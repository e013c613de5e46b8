//! Spans and events as records, a page at a time, in both orders, with filters.

use std::sync::Arc;

use crate::{
    Cursor, EventFilter, EventQuery, Order, ResourceAttribute, SpanFilter, SpanQuery, StatusFilter,
    Store, TimeRange,
};
use agentrace_core::{
    AttributeValue, Event, Level, Resource, SpanId, SpanKind, SpanRecord, TraceId,
};

use super::fixtures::{
    EVENT_TIMES, MINUTE, SEC, T0, five, five_events, five_traces, five_traces_attributed, span,
    span_id, span_ids, trace_id,
};
use super::{CheckResult, all_spans, ensure, expect_eq, ids_of};

/// Every page of `filter` in `order`, `limit` at a time.
fn read_span_pages(
    store: &dyn Store,
    filter: &SpanFilter,
    order: Order,
    limit: usize,
) -> Result<Vec<Vec<SpanRecord>>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let q = SpanQuery::new(filter.clone())
            .order(order)
            .limit(limit)
            .cursor(cursor.take());
        let page = store.spans(&q)?;
        ensure(
            page.spans.len() <= limit,
            format!(
                "a page of {} spans for a limit of {limit}",
                page.spans.len()
            ),
        )?;
        out.push(page.spans);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
        ensure(out.len() <= 20, "more than 20 pages of spans")?;
    }
}

/// The span ids of pages.
fn page_ids(pages: &[Vec<SpanRecord>]) -> Vec<Vec<SpanId>> {
    pages.iter().map(|p| ids_of(p)).collect()
}

/// The 15 spans of the five traces (all starts distinct) 4 at a time, oldest first then
/// newest first: pages of 4, 4, 4, 3, the last without cursor, every span once, as stored;
/// the LLM calls newest first 2 at a time.
pub fn span_pages(store: &dyn Store) -> CheckResult {
    use five::*;
    store.write_spans(&five_traces())?;
    let stored = five_traces_attributed();
    let oldest = read_span_pages(store, &SpanFilter::new(), Order::Asc, 4)?;
    let expected: Vec<Vec<SpanRecord>> = stored.chunks(4).map(<[SpanRecord]>::to_vec).collect();
    expect_eq("pages of 4, oldest first", &expected, &oldest)?;
    let newest = read_span_pages(store, &SpanFilter::new(), Order::Desc, 4)?;
    let mut reversed = stored;
    reversed.reverse();
    let expected: Vec<Vec<SpanRecord>> = reversed.chunks(4).map(<[SpanRecord]>::to_vec).collect();
    expect_eq("pages of 4, newest first", &expected, &newest)?;
    let llm = SpanFilter::new().kind(SpanKind::Llm);
    let calls = page_ids(&read_span_pages(store, &llm, Order::Desc, 2)?);
    let expected = vec![
        span_ids(&[L5, M4]),
        span_ids(&[L4, L3]),
        span_ids(&[M2, L2]),
        span_ids(&[L1]),
    ];
    expect_eq("LLM calls 2 at a time, newest first", &expected, &calls)?;
    let one_page = store.spans(&SpanQuery::new(SpanFilter::new()).limit(15))?;
    expect_eq(
        "the cursor of a page holding every span",
        &None,
        &one_page.next_cursor,
    )?;
    Ok(())
}

/// Each span filter, oldest first (which spans match, from the fixture table; children
/// attributed to their root).
pub fn span_filters(store: &dyn Store) -> CheckResult {
    use five::*;
    store.write_spans(&five_traces())?;
    let f = SpanFilter::new;
    let cases: Vec<(SpanFilter, Vec<u16>)> = vec![
        (f().trace_id(trace_id(4)), vec![R4, L4, X4, Y4, M4]),
        (f().trace_id(trace_id(200)), vec![]),
        (f().service("svc-b"), vec![L3, R5, L5, E5]),
        (f().kind(SpanKind::Tool), vec![X2, X4, Y4]),
        (f().model("gpt-4o"), vec![L1, L5]),
        (f().model("claude-3-5-sonnet"), vec![L2, M2]),
        (f().model("claude-3-5-sonnet-20241022"), vec![L2, M2]),
        (f().provider("anthropic"), vec![L2, M2]),
        (f().agent("research"), vec![R2, L2, X2, M2, R5, L5, E5]),
        (f().session("s-1"), vec![R1, L1, L3]),
        (f().user("u-1"), vec![R1, L1, L3, R4, L4, X4, Y4, M4]),
        (f().framework("rig"), vec![]),
        (f().tool("lookup"), vec![X4, Y4]),
        (f().status(StatusFilter::Error), vec![X2, R4, X4]),
        (
            f().status(StatusFilter::Ok),
            vec![R1, L1, R2, L2, M2, L3, L4, Y4, M4, R5, L5, E5],
        ),
        // Durations: R2 40 s, L3 20 s, R4 50 s, R5 30 s; every other span under 20 s.
        (f().min_duration_ns(20 * SEC), vec![R2, L3, R4, R5]),
        (f().name_contains("CHAT GPT"), vec![L1, L4, M4, L5]),
        (f().name_contains("_tool"), vec![X2, X4, Y4]),
        // Priced, or an LLM/embedding call, or reporting tokens.
        (f().billable(true), vec![L1, L2, M2, L3, L4, M4, L5, E5]),
        (f().billable(false), vec![R1, R2, X2, R4, X4, Y4, R5]),
        (
            f().range(TimeRange::new(T0 + MINUTE, T0 + 2 * MINUTE)),
            vec![R2, L2, X2, M2],
        ),
        (f().agent("support").kind(SpanKind::Llm), vec![L1, L4, M4]),
        (f().user("u-1").status(StatusFilter::Error), vec![R4, X4]),
    ];
    for (filter, expected) in cases {
        let got = ids_of(&all_spans(store, filter.clone())?);
        expect_eq(
            format!("spans matching {filter:?}"),
            &span_ids(&expected),
            &got,
        )?;
    }
    Ok(())
}

/// Spans by an attribute of their resource, as Phoenix's projects select them: a string value
/// compared whole (a dotted key is one key), a number never equal to its text, and the spans
/// naming no project in the `default` one when absence is asked for.
pub fn spans_by_resource_attribute(store: &dyn Store) -> CheckResult {
    const PROJECT: &str = "openinference.project.name";
    let with = |attributes: &[(&str, AttributeValue)]| {
        let mut resource = Resource::new("svc-p");
        for (k, v) in attributes {
            resource.attributes.insert((*k).to_owned(), v.clone());
        }
        Arc::new(resource)
    };
    let text = |s: &str| AttributeValue::String(s.into());
    let resources = [
        with(&[(PROJECT, text("travel"))]),
        with(&[
            (PROJECT, text("travel")),
            ("deployment.environment", text("prod")),
        ]),
        with(&[(PROJECT, text("support"))]),
        with(&[]),
        with(&[(PROJECT, AttributeValue::I64(7))]),
        with(&[("openinference", text("x"))]),
    ];
    let spans: Vec<SpanRecord> = resources
        .iter()
        .enumerate()
        .map(|(i, resource)| {
            let n = u16::try_from(i).unwrap_or_default() + 1;
            let mut s = span(30, n, "p", T0 + u64::from(n) * SEC, T0 + 100 * SEC).build();
            s.resource = Arc::clone(resource);
            s
        })
        .collect();
    store.write_spans(&spans)?;
    let f =
        |value: &str| SpanFilter::new().resource_attribute(ResourceAttribute::new(PROJECT, value));
    let cases: Vec<(SpanFilter, Vec<u16>)> = vec![
        (f("travel"), vec![1, 2]),
        (f("support"), vec![3]),
        (f("default"), vec![]),
        (
            f("default").resource_attribute(ResourceAttribute::new(PROJECT, "default").or_absent()),
            vec![4, 6],
        ),
        (f("7"), vec![]),
        (f("trav"), vec![]),
        (
            SpanFilter::new().resource_attribute(ResourceAttribute::new("openinference", "x")),
            vec![6],
        ),
        (
            SpanFilter::new().resource_attribute(ResourceAttribute::new("project.name", "travel")),
            vec![],
        ),
        (
            f("travel").name_contains("P").kind(SpanKind::Other),
            vec![1, 2],
        ),
        (
            f("travel").range(TimeRange::new(T0 + 2 * SEC, T0 + 9 * SEC)),
            vec![2],
        ),
    ];
    for (filter, expected) in cases {
        let got: Vec<SpanId> = ids_of(&all_spans(store, filter.clone())?);
        let expected: Vec<SpanId> = expected.into_iter().map(span_id).collect();
        expect_eq(format!("spans matching {filter:?}"), &expected, &got)?;
    }
    Ok(())
}

/// Spans starting at the same time come by trace id, then span id (both ways), and pages of
/// 1 through them see each once: (trace 8, span 5), (9, 1), (9, 2) at T0, then (8, 1) at
/// T0 + 1 s.
pub fn spans_with_equal_starts(store: &dyn Store) -> CheckResult {
    let at = |trace, id, start| span(trace, id, "same start", start, start + SEC).build();
    store.write_spans(&[at(9, 2, T0), at(8, 5, T0), at(8, 1, T0 + SEC), at(9, 1, T0)])?;
    let key = |s: &SpanRecord| (s.trace_id, s.span_id);
    let expected: Vec<(TraceId, SpanId)> = vec![
        (trace_id(8), span_id(5)),
        (trace_id(9), span_id(1)),
        (trace_id(9), span_id(2)),
        (trace_id(8), span_id(1)),
    ];
    let asc: Vec<_> = read_span_pages(store, &SpanFilter::new(), Order::Asc, 1)?
        .concat()
        .iter()
        .map(key)
        .collect();
    expect_eq("pages of 1, oldest first", &expected, &asc)?;
    let desc: Vec<_> = read_span_pages(store, &SpanFilter::new(), Order::Desc, 1)?
        .concat()
        .iter()
        .map(key)
        .collect();
    let mut reversed = expected;
    reversed.reverse();
    expect_eq("pages of 1, newest first", &reversed, &desc)?;
    Ok(())
}

/// Every page of events matching `filter` in `order`, `limit` at a time.
fn event_pages(
    store: &dyn Store,
    filter: &EventFilter,
    order: Order,
    limit: usize,
) -> Result<Vec<Vec<Event>>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let q = EventQuery::new(filter.clone())
            .order(order)
            .limit(limit)
            .cursor(cursor.take());
        let page = store.events(&q)?;
        ensure(
            page.events.len() <= limit,
            format!(
                "a page of {} events for a limit of {limit}",
                page.events.len()
            ),
        )?;
        out.push(page.events);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
        ensure(out.len() <= 20, "more than 20 pages of events")?;
    }
}

/// The five events 2 at a time both ways (pages 2, 2, 1, as written), and each event filter
/// (which events match, from the events' table).
pub fn event_pages_and_filters(store: &dyn Store) -> CheckResult {
    store.insert_events(&five_events())?;
    let events = five_events();
    let oldest = event_pages(store, &EventFilter::new(), Order::Asc, 2)?;
    let expected: Vec<Vec<Event>> = events.chunks(2).map(<[Event]>::to_vec).collect();
    expect_eq("events 2 at a time, oldest first", &expected, &oldest)?;
    let mut reversed = events.clone();
    reversed.reverse();
    let newest = event_pages(store, &EventFilter::new(), Order::Desc, 2)?;
    let expected: Vec<Vec<Event>> = reversed.chunks(2).map(<[Event]>::to_vec).collect();
    expect_eq("events 2 at a time, newest first", &expected, &newest)?;

    let f = EventFilter::new;
    let cases: Vec<(EventFilter, Vec<usize>)> = vec![
        (f().kind("tool.call"), vec![2]),
        (f().kind("billing.alert"), vec![4]),
        (f().min_level(Level::Warning), vec![2, 3, 4]),
        (f().min_level(Level::Trace), vec![0, 1, 2, 3, 4]),
        (f().service("svc-b"), vec![3, 4]),
        (f().session("s-1"), vec![0, 1, 3]),
        (f().agent_id("research-1"), vec![2]),
        (f().message_contains("TIMED OUT"), vec![2]),
        (f().trace_id(trace_id(1)), vec![0, 1]),
        (f().span_id(span_id(five::X2)), vec![2]),
        (
            f().range(TimeRange::new(EVENT_TIMES[1], EVENT_TIMES[3])),
            vec![1, 2],
        ),
        (f().session("s-1").min_level(Level::Info), vec![0, 3]),
    ];
    for (filter, expected) in cases {
        let got = event_pages(store, &filter, Order::Asc, 10)?.concat();
        let want: Vec<Event> = expected
            .iter()
            .filter_map(|&i| events.get(i).cloned())
            .collect();
        expect_eq(format!("events matching {filter:?}"), &want, &got)?;
    }
    Ok(())
}
