//! Writes: batches stored and counted, records delivered again stored once, and attribution
//! completed whatever order a trace's spans arrive in.

use std::collections::BTreeSet;

use crate::{
    AggregateQuery, EventFilter, EventQuery, GroupBy, LateAttribution, RecordKind, SessionSort,
    SpanFilter, Store, TimeRange, TraceFilter,
};
use agentrace_core::{Attribution, SpanRecord, Usd};

use super::fixtures::{
    SEC, T0, attributed, cost, five, five_events, five_traces, five_traces_attributed, span,
    span_id, span_ids, trace_id, trace_ids,
};
use super::{CheckResult, all_spans, ensure, expect_eq, ids_of, key, keyed_counts, listed};

/// The five traces written in one batch: 15 spans inserted, none a duplicate; stored as
/// written (children attributed to their roots), 5 traces listed; the five events likewise.
pub fn writes_are_stored_and_counted(store: &dyn Store) -> CheckResult {
    let report = store.write_spans(&five_traces())?;
    expect_eq("inserted spans", &15, &report.inserted)?;
    expect_eq("duplicate spans", &0, &report.duplicates)?;
    expect_eq(
        "attributed spans of a first write",
        &0,
        &report.attributed.len(),
    )?;
    expect_eq("stored spans", &15, &store.count(RecordKind::Spans)?)?;
    // Stored as written, with the root's agent, session and user on each child.
    let stored = all_spans(store, SpanFilter::new())?;
    expect_eq("the spans read back", &five_traces_attributed(), &stored)?;
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    expect_eq(
        "traces listed",
        &trace_ids(&[5, 4, 3, 2, 1]),
        &listed(&page),
    )?;

    let report = store.insert_events(&five_events())?;
    expect_eq("inserted events", &5, &report.inserted)?;
    expect_eq("duplicate events", &0, &report.duplicates)?;
    expect_eq("stored events", &5, &store.count(RecordKind::Events)?)?;
    let events = store.events(&EventQuery::new(EventFilter::new()))?.events;
    expect_eq("the events read back", &five_events(), &events)?;
    Ok(())
}

/// The five traces written twice: the second write is all duplicates; then a batch mixing a
/// stored span (changed), a new span of a stored trace and a span of another trace with the
/// same span id (a span is its trace and span id) stores the two new ones only; the first
/// version stored wins. Counts, the trace, the list, the aggregate and the rollup see each
/// span once.
pub fn duplicate_spans_are_stored_once(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let again = store.write_spans(&five_traces())?;
    expect_eq("inserted on the second write", &0, &again.inserted)?;
    expect_eq("duplicates on the second write", &15, &again.duplicates)?;

    // L1 delivered again, renamed and repriced, beside a new tool span N of trace 1 and a
    // span of trace 20 with L1's span id.
    let mut changed = five_traces()
        .into_iter()
        .find(|s| s.span_id == span_id(five::L1))
        .ok_or("fixture L1")?;
    changed.name = "renamed".into();
    changed.cost = Some(cost(999_999));
    let new = span(1, 13, "execute_tool kb", T0 + 4 * SEC, T0 + 5 * SEC)
        .parent(five::R1)
        .tool("kb")
        .build();
    let same_id = span(20, five::L1, "same span id", T0 + 300 * SEC, T0 + 301 * SEC).build();
    let mixed = store.write_spans(&[changed, new, same_id])?;
    expect_eq("inserted of the mixed batch", &2, &mixed.inserted)?;
    expect_eq("duplicates of the mixed batch", &1, &mixed.duplicates)?;

    expect_eq("stored spans", &17, &store.count(RecordKind::Spans)?)?;
    let l1 = store
        .span(trace_id(1), span_id(five::L1))?
        .ok_or("L1 is not stored")?;
    expect_eq(
        "L1's name (the first version wins)",
        "chat gpt-4o",
        &*l1.name,
    )?;
    expect_eq(
        "L1's cost (the first version wins)",
        &Some(Usd::from_nanos(2000)),
        &l1.cost.map(|c| c.total),
    )?;
    // Trace 1: R1, L1 and N; its cost L1's 2000.
    let tree = store.trace(trace_id(1))?.ok_or("trace 1 is missing")?;
    expect_eq("spans of trace 1", &3, &tree.nodes.len())?;
    expect_eq("span count of trace 1", &3, &tree.summary.span_count)?;
    expect_eq(
        "cost of trace 1",
        &Some(Usd::from_nanos(2000)),
        &tree.summary.cost,
    )?;
    // All spans: 15 + N + trace 20's; cost 35910 (the five traces' 2000+13000+900+20010), tokens
    // 3280 in (1000+400+200+50+1000+500+50+80), 685 out (200+100+50+10+200+100+25).
    let all = AggregateQuery::new(SpanFilter::new(), []);
    let rows = store.aggregate_exact(&all)?;
    let row = rows.first().ok_or("no aggregate row")?;
    expect_eq("aggregate rows", &1, &rows.len())?;
    expect_eq("aggregate count", &17, &row.count)?;
    expect_eq("aggregate cost", &Some(Usd::from_nanos(35_910)), &row.cost)?;
    expect_eq("aggregate input tokens", &3280, &row.usage.input_tokens)?;
    expect_eq("aggregate output tokens", &685, &row.usage.output_tokens)?;
    let rollup = store.aggregate(&all)?;
    expect_eq("rollup count", &17, &rollup.total.count)?;
    expect_eq(
        "rollup cost",
        &Some(Usd::from_nanos(35_910)),
        &rollup.total.cost,
    )?;
    expect_eq(
        "rollup input tokens",
        &3280,
        &rollup.total.usage.input_tokens,
    )?;
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    expect_eq(
        "traces listed",
        &trace_ids(&[20, 5, 4, 3, 2, 1]),
        &listed(&page),
    )?;
    Ok(())
}

/// The five events inserted twice: the second insert is all duplicates; then the first
/// event again beside a copy differing in its message only and one differing in an
/// attribute only: two inserted (the copies), one duplicate. Seven events stored.
pub fn duplicate_events_are_stored_once(store: &dyn Store) -> CheckResult {
    let events = five_events();
    store.insert_events(&events)?;
    let again = store.insert_events(&events)?;
    expect_eq("inserted on the second insert", &0, &again.inserted)?;
    expect_eq("duplicates on the second insert", &5, &again.duplicates)?;
    let mut other = events[0].clone();
    other.message = "agent support started again".into();
    let mut third = events[0].clone();
    third.attributes.insert("attempt", 2i64);
    let mixed = store.insert_events(&[events[0].clone(), other.clone(), third.clone()])?;
    expect_eq("inserted of the mixed batch", &2, &mixed.inserted)?;
    expect_eq("duplicates of the mixed batch", &1, &mixed.duplicates)?;
    expect_eq("stored events", &7, &store.count(RecordKind::Events)?)?;
    let stored = store.events(&EventQuery::new(EventFilter::new()))?.events;
    expect_eq("events read back", &7, &stored.len())?;
    let copies = stored.iter().filter(|e| **e == events[0]).count();
    expect_eq("copies of the first event", &1, &copies)?;
    ensure(
        stored.contains(&other),
        "the event differing in its message is missing",
    )?;
    ensure(
        stored.contains(&third),
        "the event differing in an attribute is missing",
    )?;
    Ok(())
}

/// Trace 7's ids: an agent span, its LLM call, the call's tool call.
const AGENT: u16 = 701;
const CALL: u16 = 702;
const TOOL: u16 = 703;

/// Trace 7: agent span `plan` (agent `planner`, session `sess-9`, user `user-9`) → LLM call
/// (gpt-4o, 100/20 tokens, 3000 n$) in a session of its own, `sess-9b` → tool call `search`,
/// which names nothing.
fn agent_trace() -> [SpanRecord; 3] {
    [
        span(7, AGENT, "plan", T0, T0 + 10 * SEC)
            .agent("planner")
            .session("sess-9")
            .user("user-9")
            .build(),
        span(7, CALL, "chat gpt-4o", T0 + SEC, T0 + 4 * SEC)
            .parent(AGENT)
            .llm("openai", "gpt-4o")
            .tokens(100, 20)
            .cost(3000)
            .session("sess-9b")
            .build(),
        span(7, TOOL, "execute_tool search", T0 + 2 * SEC, T0 + 3 * SEC)
            .parent(CALL)
            .tool("search")
            .build(),
    ]
}

/// Trace 7 as stored once complete, by the attribution rule (each field from the nearest
/// ancestor that has it, a span's own value kept): the call keeps its session `sess-9b` and
/// takes the agent and user of the agent span; the tool call takes `sess-9b` from the call,
/// the agent and user from the agent span.
fn agent_trace_attributed() -> [SpanRecord; 3] {
    let [agent, call, tool] = agent_trace();
    let call = attributed(call, &agent);
    let tool = attributed(tool, &call);
    [agent, call, tool]
}

/// Whether trace 7 reads as attributed everywhere: the tree, the summary (the head span's
/// session), the span records, span and trace filters, the session list, the aggregate and
/// the rollup by agent, session and user. `reported` is what the writes said they attributed
/// late, in order: nothing, or the call and the tool call, each span's reports filling in
/// values (never overwriting one), one after the other, the last to its values as stored.
fn check_attributed(store: &dyn Store, reported: &[LateAttribution]) -> CheckResult {
    let written = agent_trace();
    let expected = agent_trace_attributed().to_vec();
    let tree = store.trace(trace_id(7))?.ok_or("trace 7 is missing")?;
    let nodes: Vec<SpanRecord> = tree.nodes.iter().map(|n| n.span.clone()).collect();
    expect_eq("the tree's spans (depth first)", &expected, &nodes)?;
    let depths: Vec<usize> = tree.nodes.iter().map(|n| n.depth).collect();
    expect_eq("the tree's depths", &vec![0, 1, 2], &depths)?;
    let s = &tree.summary;
    let head = (s.root_span_id, s.has_root, s.span_count);
    expect_eq(
        "the summary's (head span, has root, spans)",
        &(span_id(AGENT), true, 3),
        &head,
    )?;
    let who = (
        s.session_id.as_deref(),
        s.agent_name.as_deref(),
        s.user_id.as_deref(),
    );
    expect_eq(
        "the summary's (session, agent, user)",
        &(Some("sess-9"), Some("planner"), Some("user-9")),
        &who,
    )?;

    let records = all_spans(store, SpanFilter::new().trace_id(trace_id(7)))?;
    expect_eq("the span records", &expected, &records)?;
    let f = SpanFilter::new;
    for (filter, ids) in [
        (f().agent("planner"), vec![AGENT, CALL, TOOL]),
        (f().user("user-9"), vec![AGENT, CALL, TOOL]),
        (f().session("sess-9"), vec![AGENT]),
        (f().session("sess-9b"), vec![CALL, TOOL]),
    ] {
        let got = ids_of(&all_spans(store, filter.clone())?);
        expect_eq(format!("spans matching {filter:?}"), &span_ids(&ids), &got)?;
    }
    let f = TraceFilter::new;
    for (filter, traces) in [
        (f().agent("planner"), vec![7]),
        (f().user("user-9"), vec![7]),
        (f().session("sess-9"), vec![7]),
        // The trace's session is its head span's.
        (f().session("sess-9b"), vec![]),
    ] {
        let page = store.list_traces(&filter, None, 10)?;
        expect_eq(
            format!("traces matching {filter:?}"),
            &trace_ids(&traces),
            &listed(&page),
        )?;
    }
    let sessions = store.sessions_by(TimeRange::ALL, SessionSort::Recent, 10)?;
    let got: Vec<_> = sessions
        .iter()
        .map(|s| (s.session_id.as_str(), s.traces, s.spans))
        .collect();
    expect_eq(
        "sessions (id, traces, spans)",
        &vec![("sess-9", 1, 3)],
        &got,
    )?;
    for (by, want) in [
        (GroupBy::Agent, vec![("planner", 3)]),
        (GroupBy::Session, vec![("sess-9", 1), ("sess-9b", 2)]),
        (GroupBy::User, vec![("user-9", 3)]),
    ] {
        let want: Vec<_> = want.into_iter().map(|(k, n)| (vec![key(k)], n)).collect();
        let q = AggregateQuery::new(SpanFilter::new(), [by]);
        let aggregate = keyed_counts(&store.aggregate_exact(&q)?);
        expect_eq(format!("aggregate by {by:?}"), &want, &aggregate)?;
        let rollup = keyed_counts(&store.aggregate(&q)?.rows);
        expect_eq(format!("rollup by {by:?}"), &want, &rollup)?;
    }
    expect_eq(
        "spans awaiting their parent",
        &0,
        &store.spans_awaiting_parent(),
    )?;
    if reported.is_empty() {
        return Ok(());
    }

    let got: BTreeSet<_> = reported.iter().map(|r| r.span_id).collect();
    let want = BTreeSet::from([span_id(CALL), span_id(TOOL)]);
    expect_eq("spans reported attributed late", &want, &got)?;
    for (i, id) in [(1, CALL), (2, TOOL)] {
        let reports: Vec<&LateAttribution> = reported
            .iter()
            .filter(|r| r.span_id == span_id(id))
            .collect();
        let what = format!("late attributions of span {id}");
        let last = reports.last().ok_or("no report")?;
        let after = Attribution::of(&expected[i]);
        expect_eq(format!("{what}: the last's after"), &after, &last.after)?;
        for pair in reports.windows(2) {
            if let [a, b] = pair {
                expect_eq(
                    format!("{what}: one's after, the next's before"),
                    &a.after,
                    &b.before,
                )?;
            }
        }
        let (model, cost) = match id {
            CALL => (Some("gpt-4o"), Some(Usd::from_nanos(3000))),
            _ => (None, None),
        };
        for r in reports {
            expect_eq(format!("{what}: trace"), &trace_id(7), &r.trace_id)?;
            ensure(
                r.before != r.after,
                format!("{what}: a report that changes nothing: {r:?}"),
            )?;
            // Values are filled in, never overwritten: what it had, it keeps.
            let mut kept = r.before.clone();
            kept.inherit_from(&r.after);
            expect_eq(
                format!("{what}: before, filled in from after"),
                &r.after,
                &kept,
            )?;
            expect_eq(format!("{what}: model"), &model, &r.model.as_deref())?;
            expect_eq(format!("{what}: cost"), &cost, &r.cost)?;
            let start = written[i].start_time_unix_nano;
            expect_eq(format!("{what}: start"), &start, &r.start_time_unix_nano)?;
        }
    }
    Ok(())
}

/// Trace 7 in one batch, children before their parent in it: attributed, and nothing
/// reported as attributed late (nothing was stored before).
pub fn attribution_in_one_batch(store: &dyn Store) -> CheckResult {
    let [agent, call, tool] = agent_trace();
    let report = store.write_spans(&[tool, call, agent])?;
    expect_eq("inserted", &3, &report.inserted)?;
    expect_eq(
        "late attributions reported for one batch",
        &Vec::<LateAttribution>::new(),
        &report.attributed,
    )?;
    check_attributed(store, &[])
}

/// Trace 7's call and tool call in a first batch, the agent span in a later one.
pub fn attribution_children_first(store: &dyn Store) -> CheckResult {
    let [agent, call, tool] = agent_trace();
    let mut reported = store.write_spans(&[call, tool])?.attributed;
    reported.extend(store.write_spans(&[agent])?.attributed);
    check_attributed(store, &reported)
}

/// Trace 7's tool call, then its LLM call, then the agent span, each in its own batch.
pub fn attribution_grandchild_first(store: &dyn Store) -> CheckResult {
    let [agent, call, tool] = agent_trace();
    let mut reported = Vec::new();
    for batch in [tool, call, agent] {
        reported.extend(store.write_spans(&[batch])?.attributed);
    }
    check_attributed(store, &reported)
}

/// Traces in one batch: more than a store's statement can name at once in a naive
/// write (ClickHouse refuses a query over 256 KiB: about 6,000 trace ids).
const MANY_TRACES: u32 = 10_000;

/// Trace `n` of `MANY_TRACES`: `0xb0`, eleven zero bytes, then `n` big-endian.
fn many_trace_id(n: u32) -> agentrace_core::TraceId {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xb0;
    bytes[12..].copy_from_slice(&n.to_be_bytes());
    agentrace_core::TraceId::from_bytes(bytes)
}

/// 10,000 traces (`MANY_TRACES`) children first, each batch naming every trace: the calls in one
/// batch, their agent spans in the next. Every span stored, every call attributed to its
/// agent (and reported attributed late, if the store reports it), as for one trace.
pub fn attribution_across_many_traces(store: &dyn Store) -> CheckResult {
    let of_trace = |mut s: SpanRecord, n: u32| {
        s.trace_id = many_trace_id(n);
        s
    };
    let [agent, call, _] = agent_trace();
    let calls: Vec<SpanRecord> = (0..MANY_TRACES)
        .map(|n| of_trace(call.clone(), n))
        .collect();
    let agents: Vec<SpanRecord> = (0..MANY_TRACES)
        .map(|n| of_trace(agent.clone(), n))
        .collect();
    let mut reported = store.write_spans(&calls)?.attributed;
    let report = store.write_spans(&agents)?;
    expect_eq(
        "agent spans inserted",
        &(MANY_TRACES as usize),
        &report.inserted,
    )?;
    reported.extend(report.attributed);
    expect_eq(
        "stored spans",
        &(2 * u64::from(MANY_TRACES)),
        &store.count(RecordKind::Spans)?,
    )?;
    if !reported.is_empty() {
        let late: BTreeSet<_> = reported.iter().map(|r| r.trace_id).collect();
        expect_eq(
            "traces whose call was reported attributed late",
            &(MANY_TRACES as usize),
            &late.len(),
        )?;
    }
    let q = AggregateQuery::new(SpanFilter::new(), [GroupBy::Agent]);
    expect_eq(
        "spans by agent",
        &vec![(vec![key("planner")], 2 * u64::from(MANY_TRACES))],
        &keyed_counts(&store.aggregate_exact(&q)?),
    )?;
    expect_eq(
        "spans awaiting their parent",
        &0,
        &store.spans_awaiting_parent(),
    )
}
