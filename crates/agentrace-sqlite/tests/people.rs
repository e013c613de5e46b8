//! The sessions and users lists read from `trace_rollups` give exactly what grouping every
//! trace row gives, however the trace rows came to be: spans of a trace arriving over several
//! batches (children first, the head naming the session last, starts moving to an earlier
//! minute), retention cutting traces in two and deleting others, and ranges whose ends fall
//! inside a minute, with or without traces outside them there. The overview counts traces from
//! the same rollups.

mod common;

use agentrace_core::{SpanRecord, TokenUsage};
use agentrace_sqlite::{RecordKind, SqliteStore, TimeRange, TraceFilter};
use agentrace_store::{
    Analytics, OverviewQuery, People, RecordWriter, Retention, SessionSort, TraceFigures,
    TraceReader,
};
use common::{SEC, T0, TestResult, failed, llm, sid, tid};

/// An hour-aligned start (`T0` is not).
const H0: u64 = T0 - T0 % (3_600 * SEC);

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `traces` traces over three hours: a head span and up to four children, each trace in one
/// of eight sessions or none and of four users or none; the session named by the head, or
/// (one trace in five) only by a child. Some calls priced, some failed.
fn dataset(traces: u64) -> Vec<SpanRecord> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut spans = Vec::new();
    for t in 0..traces {
        let start = H0 + rng.below(3 * 3_600) * SEC + rng.below(SEC);
        let session = match rng.below(9) {
            8 => None,
            s => Some(format!("session-{s}")),
        };
        let user = match rng.below(5) {
            4 => None,
            u => Some(format!("user-{u}")),
        };
        let on_child = rng.below(5) == 0;
        let head_id = sid(t * 10);
        let mut head = llm(
            tid(t),
            head_id,
            "m",
            start,
            rng.below(200) * SEC,
            TokenUsage::new(rng.below(100), rng.below(50)),
            (rng.below(3) > 0).then(|| rng.below(1_000) as i64),
        );
        if !on_child {
            head.session_id = session.as_deref().map(Into::into);
        }
        head.user_id = user.as_deref().map(Into::into);
        spans.push(head);
        for c in 1..=rng.below(5) {
            // Children start after their head, some in a later minute.
            let mut child = llm(
                tid(t),
                sid(t * 10 + c),
                "m",
                start + rng.below(150) * SEC,
                rng.below(30) * SEC,
                TokenUsage::new(rng.below(100), rng.below(50)),
                (rng.below(2) > 0).then(|| rng.below(1_000) as i64),
            );
            child.parent_span_id = Some(head_id);
            if on_child && c == 1 {
                child.session_id = session.as_deref().map(Into::into);
            }
            if rng.below(6) == 0 {
                child = failed(child);
            }
            spans.push(child);
        }
    }
    spans
}

/// Writes `spans` in `batches` batches, each trace's head in the last batch that holds any of
/// its spans: the children come first.
fn write_children_first(store: &SqliteStore, spans: &[SpanRecord], batches: usize) -> TestResult {
    let (heads, children): (Vec<_>, Vec<_>) = spans
        .iter()
        .cloned()
        .partition(|s| s.parent_span_id.is_none());
    let size = children.len().div_ceil(batches).max(1);
    for chunk in children.chunks(size) {
        store.write_spans(chunk)?;
    }
    for chunk in heads.chunks(heads.len().div_ceil(batches).max(1)) {
        store.write_spans(chunk)?;
    }
    Ok(())
}

/// Sessions and users of `range` grouped from every trace row, as the lists must answer.
fn expected(
    store: &SqliteStore,
    range: TimeRange,
) -> Result<(People, People), Box<dyn std::error::Error>> {
    let mut sessions = People::by_session();
    let mut users = People::by_user();
    let mut cursor = None;
    loop {
        let page = store.list_traces(&TraceFilter::new().range(range), cursor.as_ref(), 500)?;
        for t in &page.traces {
            sessions.add(TraceFigures::from(t));
            users.add(TraceFigures::from(t));
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((sessions, users)),
        }
    }
}

/// Ranges of every shape: open, aligned to hours and minutes, ends inside a minute, a range
/// inside one minute.
fn ranges() -> Vec<TimeRange> {
    let mut ranges = vec![
        TimeRange::ALL,
        TimeRange::since(H0 + 3_600 * SEC),
        TimeRange {
            start_unix_nano: None,
            end_unix_nano: Some(H0 + 7_201 * SEC),
        },
        TimeRange::new(H0, H0 + 3 * 3_600 * SEC),
        TimeRange::new(H0 + 600 * SEC, H0 + 7_260 * SEC),
        TimeRange::new(H0 + 20 * SEC, H0 + 50 * SEC),
    ];
    let mut rng = Rng(7);
    for _ in 0..12 {
        let a = H0 + rng.below(3 * 3_600 * SEC);
        let b = a + rng.below(2 * 3_600 * SEC);
        ranges.push(TimeRange::new(a, b));
    }
    ranges
}

/// Every range's lists, in both orders, against [`expected`]; and the overview's count of
/// traces (over the range widened to whole minutes) against the trace rows'.
fn assert_lists_match_trace_rows(store: &SqliteStore) -> TestResult {
    for range in ranges() {
        let overview = store.overview(&OverviewQuery::new(range))?;
        let widened = overview.summary.range;
        let rows = store.list_traces(&TraceFilter::new().range(widened), None, 100_000)?;
        assert_eq!(
            overview.summary.traces,
            rows.traces.len() as u64,
            "traces of {widened:?}"
        );
        for sort in [SessionSort::Recent, SessionSort::Cost] {
            let (sessions, users) = expected(store, range)?;
            assert_eq!(
                store.sessions_by(range, sort, usize::MAX)?,
                sessions.sessions(sort, usize::MAX),
                "sessions of {range:?} by {sort:?}"
            );
            assert_eq!(
                store.users(range, sort, usize::MAX)?,
                users.users(sort, usize::MAX),
                "users of {range:?} by {sort:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn lists_from_rollups_match_the_trace_rows_as_spans_arrive_and_retention_runs() -> TestResult {
    let (_dir, store) = common::open()?;
    let spans = dataset(400);
    write_children_first(&store, &spans, 4)?;
    let listed = store.sessions_by(TimeRange::ALL, SessionSort::Recent, usize::MAX)?;
    assert_eq!(listed.len(), 8, "every session is listed");
    assert_lists_match_trace_rows(&store)?;

    // The same spans again change nothing.
    store.write_spans(&spans)?;
    assert_eq!(
        store.sessions_by(TimeRange::ALL, SessionSort::Recent, usize::MAX)?,
        listed
    );

    // Retention in the middle of the first hour: traces straddling it lose their early
    // spans (their rows shrink, their starts move later), older ones go.
    store.delete_before(RecordKind::Spans, H0 + 1_234 * SEC + 5)?;
    assert_lists_match_trace_rows(&store)?;
    store.delete_before(RecordKind::Spans, H0 + 2 * 3_600 * SEC + 61 * SEC)?;
    assert_lists_match_trace_rows(&store)?;
    Ok(())
}

#[test]
fn a_store_written_before_trace_rollups_gets_them_when_opened() -> TestResult {
    let (dir, store) = common::open()?;
    write_children_first(&store, &dataset(200), 3)?;
    drop(store);
    let path = dir.path().join("store.db");
    {
        let raw = rusqlite::Connection::open(&path)?;
        raw.execute_batch(common::BACK_TO_VERSION_15)?;
        raw.execute_batch("PRAGMA user_version = 15;")?;
    }
    let store = SqliteStore::open(&path)?;
    assert_eq!(store.schema_version()?, agentrace_sqlite::SCHEMA_VERSION);
    assert_lists_match_trace_rows(&store)
}
