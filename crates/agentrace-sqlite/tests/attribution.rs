//! Attribution whatever the arrival order: a span's session, user, agent and framework come
//! from its nearest ancestor that has them, whether that ancestor was stored before, in the
//! same write, later, or after the store was reopened; and everything derived (trace rows,
//! rollups) follows. The reference is the same spans stored parents-first in one write.

mod common;

use agentrace_store::Analytics;
use agentrace_store::RecordWriter;
use agentrace_store::Repairs;
use agentrace_store::TraceReader;
use std::collections::BTreeMap;

use agentrace_core::{Attribution, SpanId, SpanKind, SpanRecord, TokenUsage, TraceId};
use agentrace_sqlite::{
    AggregateQuery, GroupBy, GroupKey, SpanFilter, SpanQuery, SqliteStore, TraceFilter,
};
use common::{SEC, T0, TestResult, llm, sid, span, tid};

/// A deterministic pseudo-random sequence (a 64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) % n
    }
}

/// An agent span: the agent, the session and the user on it.
fn agent(trace: TraceId, id: SpanId, parent: Option<SpanId>, name: &str) -> SpanRecord {
    let mut s = span(
        trace,
        id,
        parent,
        &format!("invoke_agent {name}"),
        T0,
        10 * SEC,
    );
    s.kind = SpanKind::Agent;
    s.agent_name = Some(name.into());
    s
}

fn call(trace: TraceId, id: SpanId, parent: SpanId, cost: i64) -> SpanRecord {
    let mut s = llm(
        trace,
        id,
        "gpt-4o",
        T0 + SEC,
        SEC,
        TokenUsage::new(1_000, 100),
        Some(cost),
    );
    s.parent_span_id = Some(parent);
    s
}

fn tool(trace: TraceId, id: SpanId, parent: SpanId) -> SpanRecord {
    let mut s = span(
        trace,
        id,
        Some(parent),
        "execute_tool search",
        T0 + 2 * SEC,
        SEC,
    );
    s.kind = SpanKind::Tool;
    s.tool_name = Some("search".into());
    s
}

/// Every stored span by (trace, span).
fn all_spans(
    store: &SqliteStore,
) -> Result<BTreeMap<(TraceId, SpanId), SpanRecord>, Box<dyn std::error::Error>> {
    let mut out = BTreeMap::new();
    let mut query = SpanQuery::new(SpanFilter::new()).limit(1_000);
    loop {
        let page = store.spans(&query)?;
        for s in page.spans {
            out.insert((s.trace_id, s.span_id), s);
        }
        match page.next_cursor {
            Some(c) => query = query.cursor(Some(c)),
            None => return Ok(out),
        }
    }
}

/// Span count and cost (nano-dollars) by agent.
type ByAgent = BTreeMap<Option<String>, (u64, Option<i64>)>;

/// Cost and span count by agent, from the rollups and exactly from the spans (which must
/// agree).
fn by_agent(store: &SqliteStore) -> Result<ByAgent, Box<dyn std::error::Error>> {
    let q = AggregateQuery::new(SpanFilter::new(), [GroupBy::Agent]);
    let rollup = store.aggregate(&q)?;
    let exact = store.aggregate_exact(&q)?;
    let rows =
        |rows: &[agentrace_sqlite::AggregateRow]| -> BTreeMap<Option<String>, (u64, Option<i64>)> {
            rows.iter()
                .map(|r| {
                    let key = r.keys.first().and_then(GroupKey::as_str).map(str::to_owned);
                    (key, (r.count, r.cost.map(|c| c.nanos())))
                })
                .collect()
        };
    let from_rollups = rows(&rollup.rows);
    assert_eq!(
        from_rollups,
        rows(&exact),
        "the rollups agree with the spans"
    );
    Ok(from_rollups)
}

/// The traces' rows: (session, agent, user, span count, cost) by trace.
fn trace_rows(
    store: &SqliteStore,
) -> Result<BTreeMap<TraceId, String>, Box<dyn std::error::Error>> {
    let page = store.list_traces(&TraceFilter::new(), None, 1_000)?;
    Ok(page
        .traces
        .iter()
        .map(|t| {
            (
                t.trace_id,
                format!(
                    "{:?} {:?} {:?} {} {:?} {}",
                    t.session_id, t.agent_name, t.user_id, t.span_count, t.cost, t.root_name
                ),
            )
        })
        .collect())
}

#[test]
fn children_stored_before_their_agent_take_its_agent_session_and_user() -> TestResult {
    let (_dir, store) = common::open()?;
    let trace = tid(1);
    let mut root = agent(trace, sid(1), None, "planner");
    root.session_id = Some("s-1".into());
    root.user_id = Some("lin".into());
    let chat = call(trace, sid(2), sid(1), 5_000);
    let search = tool(trace, sid(3), sid(1));

    let first = store.write_spans(&[chat.clone(), search.clone()])?;
    assert_eq!(first.inserted, 2);
    assert!(first.attributed.is_empty());
    assert_eq!(store.spans_awaiting_parent(), 2);
    assert_eq!(
        by_agent(&store)?,
        BTreeMap::from([(None, (2, Some(5_000)))])
    );

    let second = store.write_spans(std::slice::from_ref(&root))?;
    assert_eq!(second.inserted, 1);
    assert_eq!(second.attributed.len(), 2, "{second:?}");
    let late = second
        .attributed
        .iter()
        .find(|l| l.span_id == chat.span_id)
        .ok_or("the LLM call is reported")?;
    assert_eq!(late.before, Attribution::default());
    assert_eq!(late.after.agent_name.as_deref(), Some("planner"));
    assert_eq!(late.cost.map(|c| c.nanos()), Some(5_000));
    assert_eq!(late.model.as_deref(), Some("gpt-4o"));
    assert_eq!(store.spans_awaiting_parent(), 0);

    let spans = all_spans(&store)?;
    for id in [chat.span_id, search.span_id] {
        let s = &spans[&(trace, id)];
        assert_eq!(s.agent_name.as_deref(), Some("planner"));
        assert_eq!(s.session_id.as_deref(), Some("s-1"));
        assert_eq!(s.user_id.as_deref(), Some("lin"));
    }
    assert_eq!(
        by_agent(&store)?,
        BTreeMap::from([(Some("planner".to_owned()), (3, Some(5_000)))]),
        "the spend moved from no agent to the agent, counted once"
    );
    let summary = store.list_traces(&TraceFilter::new(), None, 10)?;
    assert_eq!(summary.traces[0].agent_name.as_deref(), Some("planner"));
    assert_eq!(summary.traces[0].session_id.as_deref(), Some("s-1"));

    // Sent again, in either order: nothing changes.
    let again = store.write_spans(&[root.clone(), chat.clone(), search.clone()])?;
    assert_eq!((again.inserted, again.duplicates), (0, 3));
    assert!(again.attributed.is_empty());
    assert_eq!(all_spans(&store)?, spans);
    assert_eq!(
        by_agent(&store)?,
        BTreeMap::from([(Some("planner".to_owned()), (3, Some(5_000)))])
    );
    Ok(())
}

#[test]
fn a_span_keeps_its_own_values_and_the_nearest_agent_wins() -> TestResult {
    let (_dir, store) = common::open()?;
    let trace = tid(2);
    // planner → researcher (its own agent) → call; planner → call. Leaves first, one by one.
    let mut planner = agent(trace, sid(1), None, "planner");
    planner.session_id = Some("s-2".into());
    planner.framework = Some("langgraph".into());
    let researcher = agent(trace, sid(2), Some(sid(1)), "researcher");
    let deep = call(trace, sid(3), sid(2), 1_000);
    let mut own = call(trace, sid(4), sid(1), 2_000);
    own.session_id = Some("its-own".into());
    for s in [&deep, &own, &researcher, &planner] {
        store.write_spans(std::slice::from_ref(s))?;
    }
    let spans = all_spans(&store)?;
    let deep = &spans[&(trace, sid(3))];
    assert_eq!(
        deep.agent_name.as_deref(),
        Some("researcher"),
        "its nearest agent"
    );
    assert_eq!(deep.session_id.as_deref(), Some("s-2"));
    assert_eq!(deep.framework.as_deref(), Some("langgraph"));
    let own = &spans[&(trace, sid(4))];
    assert_eq!(
        own.session_id.as_deref(),
        Some("its-own"),
        "never overwritten"
    );
    assert_eq!(own.agent_name.as_deref(), Some("planner"));
    Ok(())
}

#[test]
fn a_late_parent_fills_in_after_the_store_is_reopened() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.db");
    let trace = tid(3);
    let chat = call(trace, sid(2), sid(1), 7_000);
    {
        let store = SqliteStore::open(&path)?;
        store.write_spans(std::slice::from_ref(&chat))?;
    }
    let store = SqliteStore::open(&path)?;
    assert_eq!(store.spans_awaiting_parent(), 1, "loaded from the file");
    let report = store.write_spans(&[agent(trace, sid(1), None, "planner")])?;
    assert_eq!(report.attributed.len(), 1);
    assert_eq!(
        all_spans(&store)?[&(trace, chat.span_id)]
            .agent_name
            .as_deref(),
        Some("planner")
    );
    assert_eq!(
        by_agent(&store)?,
        BTreeMap::from([(Some("planner".to_owned()), (2, Some(7_000)))])
    );
    Ok(())
}

#[test]
fn a_detached_root_re_attached_by_a_repair_takes_its_new_ancestors_values() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("store.db"))?;
    let trace = tid(4);
    let mut planner = agent(trace, sid(1), None, "planner");
    planner.session_id = Some("s-1".into());
    planner.user_id = Some("u-1".into());
    // A framework lost the context: its call is a second root, with a tool under it.
    let mut detached = call(trace, sid(2), sid(1), 9_000);
    detached.parent_span_id = None;
    let search = tool(trace, sid(3), sid(2));
    store.write_spans(&[planner, detached.clone(), search.clone()])?;
    assert_eq!(
        by_agent(&store)?,
        BTreeMap::from([
            (None, (2, Some(9_000))),
            (Some("planner".to_owned()), (1, None))
        ])
    );

    let mut reattached = detached.clone();
    reattached.parent_span_id = Some(sid(1));
    let repaired = store.repair_spans(&[reattached])?;
    assert_eq!(repaired.changed, 1);
    let mut filled: Vec<SpanId> = repaired.attributed.iter().map(|l| l.span_id).collect();
    filled.sort();
    assert_eq!(filled, [sid(2), sid(3)], "the call and its subtree");

    let stored = all_spans(&store)?;
    for id in [sid(2), sid(3)] {
        let s = &stored[&(trace, id)];
        assert_eq!(s.agent_name.as_deref(), Some("planner"));
        assert_eq!(s.session_id.as_deref(), Some("s-1"));
        assert_eq!(s.user_id.as_deref(), Some("u-1"));
    }
    assert_eq!(
        by_agent(&store)?,
        BTreeMap::from([(Some("planner".to_owned()), (3, Some(9_000)))]),
        "spend moved from no agent to the agent, counted once"
    );
    assert!(
        store
            .repair_spans(&[stored[&(trace, sid(2))].clone()])?
            .attributed
            .is_empty(),
        "a second repair changes nothing"
    );
    Ok(())
}

/// Random agent trees: agents nest (some with their own session or user), calls and tools
/// under them, some spans deep below plain steps.
fn forest(rng: &mut Lcg, traces: u64) -> Vec<SpanRecord> {
    let mut spans = Vec::new();
    let mut next = 0;
    for t in 0..traces {
        let trace = tid(100 + t);
        let mut id = || {
            next += 1;
            sid(next)
        };
        let root_id = id();
        let mut root = agent(
            trace,
            root_id,
            None,
            ["planner", "coder"][rng.next(2) as usize],
        );
        root.session_id = Some(format!("s-{}", t % 3).into());
        root.user_id = Some(format!("u-{}", t % 2).into());
        root.framework = Some("crewai".into());
        spans.push(root);
        let mut parents = vec![root_id];
        for _ in 0..(3 + rng.next(25)) {
            let parent = parents[rng.next(parents.len() as u64) as usize];
            let me = id();
            let s = match rng.next(5) {
                0 => {
                    let mut a = agent(
                        trace,
                        me,
                        Some(parent),
                        ["researcher", "critic"][rng.next(2) as usize],
                    );
                    if rng.next(3) == 0 {
                        a.user_id = Some("delegate".into());
                    }
                    parents.push(me);
                    a
                }
                1 => {
                    parents.push(me);
                    span(trace, me, Some(parent), "step", T0 + SEC, SEC)
                }
                2 => tool(trace, me, parent),
                _ => call(trace, me, parent, 1_000 + rng.next(9_000) as i64),
            };
            spans.push(s);
        }
    }
    spans
}

#[test]
fn any_order_any_split_and_duplicates_give_the_parents_first_record() -> TestResult {
    let mut rng = Lcg(11);
    let spans = forest(&mut rng, 40);

    let (_a, reference) = common::open()?;
    reference.write_spans(&spans)?;
    assert_eq!(reference.spans_awaiting_parent(), 0);

    // The same spans children-first (reversed: every parent after its children), then
    // shuffled, over many writes of random size, a third of them sent twice, the store
    // reopened halfway.
    for order in ["children first", "shuffled"] {
        let mut sent = spans.clone();
        sent.reverse();
        if order == "shuffled" {
            for i in (1..sent.len()).rev() {
                sent.swap(i, rng.next(i as u64 + 1) as usize);
            }
        }
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("store.db");
        let mut store = SqliteStore::open(&path)?;
        let mut at = 0;
        let mut writes = 0;
        while at < sent.len() {
            let n = (1 + rng.next(12) as usize).min(sent.len() - at);
            let chunk = &sent[at..at + n];
            store.write_spans(chunk)?;
            if rng.next(3) == 0 {
                let again = store.write_spans(chunk)?;
                assert_eq!(again.inserted, 0);
                assert!(
                    again.attributed.is_empty(),
                    "{order}: a resent write fills nothing"
                );
            }
            at += n;
            writes += 1;
            if writes == 20 {
                drop(store);
                store = SqliteStore::open(&path)?;
            }
        }
        assert_eq!(
            all_spans(&store)?,
            all_spans(&reference)?,
            "{order}: the spans"
        );
        assert_eq!(
            by_agent(&store)?,
            by_agent(&reference)?,
            "{order}: by agent"
        );
        assert_eq!(
            trace_rows(&store)?,
            trace_rows(&reference)?,
            "{order}: the trace rows"
        );
        assert_eq!(store.spans_awaiting_parent(), 0, "{order}");
    }
    Ok(())
}

#[test]
fn a_deep_chain_sent_leaf_first_takes_the_root_s_values() -> TestResult {
    let (_dir, store) = common::open()?;
    let trace = tid(4);
    let depth = 500;
    let mut chain: Vec<SpanRecord> = (1..=depth)
        .map(|i| span(trace, sid(i), (i > 1).then(|| sid(i - 1)), "step", T0, SEC))
        .collect();
    chain[0].agent_name = Some("planner".into());
    for s in chain.iter().rev() {
        store.write_spans(std::slice::from_ref(s))?;
    }
    let spans = all_spans(&store)?;
    assert_eq!(spans.len(), depth as usize);
    assert!(
        spans
            .values()
            .all(|s| s.agent_name.as_deref() == Some("planner"))
    );
    Ok(())
}
