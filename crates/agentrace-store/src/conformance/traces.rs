//! The trace list: summaries, filters, orders, pages and cursors, over
//! [`five_traces`].

use crate::{
    Cursor, EventFilter, EventQuery, SpanFilter, SpanQuery, StatusFilter, Store, TimeRange,
    TraceFilter, TraceOrder, TraceSort, TraceSummary,
};
use agentrace_core::{SpanKind, TokenUsage, Usd};

use super::fixtures::{
    MINUTE, SEC, T0, five, five_events, five_traces, span, span_id, trace_id, trace_ids,
};
use super::{CheckResult, ensure, expect_buckets, expect_eq, expect_invalid_cursor, listed};

/// The summary of trace `n` whose head span is `root`, named `name`: a true root of service
/// `svc-a`, nothing counted yet; fill it in with [`SummaryExt`].
pub fn trace_summary(n: u8, root: u16, name: &str) -> TraceSummary {
    TraceSummary {
        trace_id: trace_id(n),
        root_span_id: span_id(root),
        root_name: name.to_owned(),
        has_root: true,
        service_name: "svc-a".to_owned(),
        start_unix_nano: 0,
        end_unix_nano: 0,
        duration_ns: 0,
        span_count: 0,
        error_count: 0,
        usage: TokenUsage::default(),
        cost: None,
        unpriced_count: 0,
        session_id: None,
        agent_name: None,
        user_id: None,
        score_mean: None,
    }
}

/// The expected fields of a trace summary, step by step:
/// `trace_summary(1, R1, "plan").during(T0, 10).spans(2, 0).tokens(1000, 200).cost(2000)`.
pub trait SummaryExt {
    /// Of service `name`.
    #[must_use]
    fn service(self, name: &str) -> Self;
    /// From `start` for `secs` seconds.
    #[must_use]
    fn during(self, start: u64, secs: u64) -> Self;
    /// `count` spans, `errors` of them failed.
    #[must_use]
    fn spans(self, count: u64, errors: u64) -> Self;
    /// Input and output tokens.
    #[must_use]
    fn tokens(self, input: u64, output: u64) -> Self;
    /// A cost of `nanos` nano-dollars.
    #[must_use]
    fn cost(self, nanos: i64) -> Self;
    /// `count` unpriced billable spans.
    #[must_use]
    fn unpriced(self, count: u64) -> Self;
    /// In session `session`, of agent `agent`, for user `user`.
    #[must_use]
    fn of(self, session: &str, agent: Option<&str>, user: &str) -> Self;
}

impl SummaryExt for TraceSummary {
    fn service(mut self, name: &str) -> Self {
        self.service_name = name.to_owned();
        self
    }

    fn during(mut self, start: u64, secs: u64) -> Self {
        self.start_unix_nano = start;
        self.end_unix_nano = start + secs * SEC;
        self.duration_ns = secs * SEC;
        self
    }

    fn spans(mut self, count: u64, errors: u64) -> Self {
        self.span_count = count;
        self.error_count = errors;
        self
    }

    fn tokens(mut self, input: u64, output: u64) -> Self {
        self.usage = TokenUsage::new(input, output);
        self
    }

    fn cost(mut self, nanos: i64) -> Self {
        self.cost = Some(Usd::from_nanos(nanos));
        self
    }

    fn unpriced(mut self, count: u64) -> Self {
        self.unpriced_count = count;
        self
    }

    fn of(mut self, session: &str, agent: Option<&str>, user: &str) -> Self {
        self.session_id = Some(session.to_owned());
        self.agent_name = agent.map(str::to_owned);
        self.user_id = Some(user.to_owned());
        self
    }
}

/// The summary of trace `n` of the five traces, from the fixture table: the head span is
/// the root (trace 3's only span is its root); sums over the trace's spans; session, agent
/// and user the root's.
pub fn five_summary(n: u8) -> Result<TraceSummary, Box<dyn std::error::Error>> {
    use five::*;
    Ok(match n {
        // R1 + L1.
        1 => trace_summary(1, R1, "handle ticket")
            .during(T0, 10)
            .spans(2, 0)
            .tokens(1000, 200)
            .cost(2000)
            .of("s-1", Some("support"), "u-1"),
        // R2 + L2 + X2 (failed) + M2: 400+200 / 100+50 tokens, 9000+4000 n$.
        2 => trace_summary(2, R2, "research topic")
            .during(T0 + MINUTE, 40)
            .spans(4, 1)
            .tokens(600, 150)
            .cost(13_000)
            .of("s-2", Some("research"), "u-2"),
        // L3 alone, unpriced.
        3 => trace_summary(3, L3, "chat local-llama")
            .service("svc-b")
            .during(T0 + 2 * MINUTE, 20)
            .spans(1, 0)
            .tokens(50, 10)
            .unpriced(1)
            .of("s-1", None, "u-1"),
        // R4 (failed) + L4 + X4 (failed) + Y4 + M4: 1000+500 / 200+100 tokens, 600+300 n$.
        4 => trace_summary(4, R4, "handle ticket")
            .during(T0 + 3 * MINUTE, 50)
            .spans(5, 2)
            .tokens(1500, 300)
            .cost(900)
            .of("s-3", Some("support"), "u-1"),
        // R5 + L5 + E5: 50+80 / 25+0 tokens, 20000+10 n$.
        5 => trace_summary(5, R5, "research topic")
            .service("svc-b")
            .during(T0 + 4 * MINUTE, 30)
            .spans(3, 0)
            .tokens(130, 25)
            .cost(20_010)
            .of("s-4", Some("research"), "u-3"),
        _ => return Err(format!("the five traces have no trace {n}").into()),
    })
}

/// The five traces listed newest first (5 … 1), each summary exactly as the table sums it.
pub fn trace_list_newest_first_with_summaries(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    let expected = [5, 4, 3, 2, 1]
        .into_iter()
        .map(five_summary)
        .collect::<Result<Vec<_>, _>>()?;
    expect_eq("the trace list", &expected, &page.traces)?;
    expect_eq("the cursor after the last page", &None, &page.next_cursor)?;
    Ok(())
}

/// A cost tally's scope: a service, an agent and a user, each where given.
type CostScope<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

/// The query of a cost tally of `of` over `range`, at most `nanos` nano-dollars, in `scope`.
fn cost_query(
    of: crate::CostUnit,
    range: TimeRange,
    nanos: i64,
    (service, agent, user): CostScope<'_>,
) -> crate::CostTallyQuery {
    let mut q = crate::CostTallyQuery::new(of, range, Usd::from_nanos(nanos));
    q.service = service.map(str::to_owned);
    q.agent = agent.map(str::to_owned);
    q.user = user.map(str::to_owned);
    q
}

/// A cost objective's counts over the five traces (costs 2000/13000/—/900/20010 nano-dollars):
/// traces and sessions (s-1 holds traces 1 and 3, so its cost is unknown) at most a
/// threshold (included), those with an unpriced call apart, by head service, agent and user,
/// and by the traces' start.
pub fn cost_tallies_count_cheap_traces_and_sessions(store: &dyn Store) -> CheckResult {
    use crate::{CostTally, CostTallyQuery, CostUnit};
    store.write_spans(&five_traces())?;
    let hour = TimeRange::new(T0, T0 + 60 * MINUTE);
    let tally = |of, range, nanos, scope| store.cost_tally(&cost_query(of, range, nanos, scope));
    let all = (None, None, None);
    for (what, got, expected) in [
        (
            "traces at most 2000 (1 and 4; 3 unpriced)",
            tally(CostUnit::Traces, hour, 2000, all)?,
            CostTally::new(5, 2, 1),
        ),
        (
            "traces at most 13000",
            tally(CostUnit::Traces, hour, 13_000, all)?,
            CostTally::new(5, 3, 1),
        ),
        (
            "traces of svc-a at most 2000",
            tally(CostUnit::Traces, hour, 2000, (Some("svc-a"), None, None))?,
            CostTally::new(3, 2, 0),
        ),
        (
            "traces of agent research at most 20010",
            tally(
                CostUnit::Traces,
                hour,
                20_010,
                (None, Some("research"), None),
            )?,
            CostTally::new(2, 2, 0),
        ),
        (
            "traces of user u-1 at most 1000",
            tally(CostUnit::Traces, hour, 1000, (None, None, Some("u-1")))?,
            CostTally::new(3, 1, 1),
        ),
        (
            "traces starting from T0 + 60 s to T0 + 200 s at most 13000",
            tally(
                CostUnit::Traces,
                TimeRange::new(T0 + 60 * SEC, T0 + 200 * SEC),
                13_000,
                all,
            )?,
            CostTally::new(3, 2, 1),
        ),
        (
            "sessions at most 2000 (s-3; s-1 unknown)",
            tally(CostUnit::Sessions, hour, 2000, all)?,
            CostTally::new(4, 1, 1),
        ),
        (
            "sessions at most 13000",
            tally(CostUnit::Sessions, hour, 13_000, all)?,
            CostTally::new(4, 2, 1),
        ),
        (
            "nothing before T0",
            tally(CostUnit::Traces, TimeRange::new(0, T0), 13_000, all)?,
            CostTally::default(),
        ),
    ] {
        expect_eq(what, &expected, &got)?;
    }
    // By bucket: each bucket (of two minutes, and of 90 s, which cuts the hour unevenly) as a
    // range of its own, a session judged on its traces starting in it.
    for (of, width) in [
        (CostUnit::Traces, 2 * MINUTE),
        (CostUnit::Sessions, 2 * MINUTE),
        (CostUnit::Traces, 90 * SEC),
    ] {
        let q = CostTallyQuery::new(of, hour, Usd::from_nanos(2000));
        expect_buckets(
            format!("{of:?} at most 2000 by buckets of {width} ns"),
            hour,
            width,
            &store.cost_tally_by_bucket(&q, width)?,
            |range| tally(of, range, 2000, all),
        )?;
    }
    ensure(
        store
            .cost_tally_by_bucket(&CostTallyQuery::new(CostUnit::Traces, hour, Usd::ZERO), 0)
            .is_err(),
        "a bucket width of 0 is refused",
    )
}

/// Each session's cost by bucket over the five traces (s-1 holds trace 1, 2000 nano-dollars,
/// and trace 3, unpriced, of svc-b; s-2 trace 2, 13000; s-3 trace 4, 900; s-4 trace 5, 20010,
/// of svc-b): a session's part of each bucket, within the query's scope; summed by session and
/// judged, the parts of any width give the cost tally of the sessions.
pub fn session_costs_by_bucket_sum_to_the_cost_of_sessions(store: &dyn Store) -> CheckResult {
    use crate::{CostTally, CostUnit, SessionCost};
    store.write_spans(&five_traces())?;
    let hour = TimeRange::new(T0, T0 + 60 * MINUTE);
    let all = (None, None, None);
    let parts = |range, width, scope| {
        store.session_costs_by_bucket(&cost_query(CostUnit::Sessions, range, 0, scope), width)
    };
    let part = |bucket, session: &str, nanos, unpriced| {
        SessionCost::new(bucket, session, Usd::from_nanos(nanos), unpriced)
    };
    let (b0, b2, b4) = (T0, T0 + 2 * MINUTE, T0 + 4 * MINUTE);
    for (what, got, expected) in [
        (
            "every session by two minutes",
            parts(hour, 2 * MINUTE, all)?,
            vec![
                part(b0, "s-1", 2000, 0),
                part(b0, "s-2", 13_000, 0),
                part(b2, "s-1", 0, 1),
                part(b2, "s-3", 900, 0),
                part(b4, "s-4", 20_010, 0),
            ],
        ),
        (
            "every session in one bucket of the hour",
            parts(hour, 60 * MINUTE, all)?,
            vec![
                part(b0, "s-1", 2000, 1),
                part(b0, "s-2", 13_000, 0),
                part(b0, "s-3", 900, 0),
                part(b0, "s-4", 20_010, 0),
            ],
        ),
        (
            "the sessions of svc-b",
            parts(hour, 2 * MINUTE, (Some("svc-b"), None, None))?,
            vec![part(b2, "s-1", 0, 1), part(b4, "s-4", 20_010, 0)],
        ),
        (
            "the traces starting from T0 + 60 s to T0 + 200 s",
            parts(TimeRange::new(T0 + 60 * SEC, T0 + 200 * SEC), MINUTE, all)?,
            vec![
                part(T0 + MINUTE, "s-2", 13_000, 0),
                part(b2, "s-1", 0, 1),
                part(T0 + 3 * MINUTE, "s-3", 900, 0),
            ],
        ),
    ] {
        expect_eq(what, &expected, &got)?;
    }
    // Summed by session and judged, the parts of any width are the tally of the sessions.
    for width in [MINUTE, 90 * SEC, 60 * MINUTE] {
        for nanos in [0, 2000, 13_000] {
            let mut sums: std::collections::BTreeMap<String, (Usd, u64)> = Default::default();
            for p in parts(hour, width, all)? {
                let sum = sums.entry(p.session_id).or_insert((Usd::ZERO, 0));
                *sum = (sum.0 + p.cost, sum.1 + p.unpriced);
            }
            let mut judged = CostTally::default();
            for (cost, unpriced) in sums.into_values() {
                judged.count(cost, unpriced > 0, Usd::from_nanos(nanos));
            }
            let q = cost_query(CostUnit::Sessions, hour, nanos, all);
            expect_eq(
                format!("buckets of {width} ns summed, at most {nanos}"),
                &store.cost_tally(&q)?,
                &judged,
            )?;
        }
    }
    ensure(
        parts(hour, 0, all).is_err(),
        "a bucket width of 0 is refused",
    )
}

/// Three traces of nested agent runs, for [`cost_tallies_count_agent_runs_with_what_is_beneath`]
/// (nano-dollars; `?` an unpriced call):
///
/// ```text
/// trace 21, T0:        planner (u-9) ─ call 300
///                                    └ research (T0 + 70 s) ─ call 500
///                                                           └ tool ─ call 100
/// trace 22, T0 + 3 m:  research ─ call ?
/// trace 23, T0 + 5 m:  planner, svc-b ─ call 50
/// ```
pub fn nested_agent_runs() -> Vec<agentrace_core::SpanRecord> {
    let (t21, t22, t23) = (T0, T0 + 3 * MINUTE, T0 + 5 * MINUTE);
    vec![
        span(21, 1, "invoke_agent planner", t21, t21 + 100 * SEC)
            .agent("planner")
            .user("u-9")
            .build(),
        span(21, 2, "chat gpt-4o", t21 + SEC, t21 + 2 * SEC)
            .parent(1)
            .llm("openai", "gpt-4o")
            .cost(300)
            .build(),
        span(
            21,
            3,
            "invoke_agent research",
            t21 + 70 * SEC,
            t21 + 90 * SEC,
        )
        .parent(1)
        .agent("research")
        .build(),
        span(21, 4, "chat gpt-4o", t21 + 71 * SEC, t21 + 72 * SEC)
            .parent(3)
            .llm("openai", "gpt-4o")
            .cost(500)
            .build(),
        span(21, 5, "execute_tool search", t21 + 73 * SEC, t21 + 80 * SEC)
            .parent(3)
            .tool("search")
            .build(),
        span(21, 6, "chat gpt-4o-mini", t21 + 74 * SEC, t21 + 75 * SEC)
            .parent(5)
            .llm("openai", "gpt-4o-mini")
            .cost(100)
            .build(),
        span(22, 1, "invoke_agent research", t22, t22 + 10 * SEC)
            .agent("research")
            .build(),
        span(22, 2, "chat local-llama", t22 + SEC, t22 + 2 * SEC)
            .parent(1)
            .llm("ollama", "local-llama")
            .tokens(50, 10)
            .build(),
        span(23, 1, "invoke_agent planner", t23, t23 + 10 * SEC)
            .service("svc-b")
            .agent("planner")
            .build(),
        span(23, 2, "chat gpt-4o", t23 + SEC, t23 + 2 * SEC)
            .parent(1)
            .service("svc-b")
            .llm("openai", "gpt-4o")
            .cost(50)
            .build(),
    ]
}

/// A cost objective of agent runs over [`nested_agent_runs`]: each agent span costs what is
/// beneath it, a sub-agent's run counted on its own and in its caller's (planner 900,
/// research 600 inside it, research ? alone, planner 50); an unpriced call leaves its runs'
/// cost unknown; the scope is the agent span's own (its user inherited from its caller), and
/// the range its start's.
pub fn cost_tallies_count_agent_runs_with_what_is_beneath(store: &dyn Store) -> CheckResult {
    use crate::{CostTally, CostTallyQuery, CostUnit};
    store.write_spans(&nested_agent_runs())?;
    let hour = TimeRange::new(T0, T0 + 60 * MINUTE);
    let tally = |range, nanos, scope| {
        store.cost_tally(&cost_query(CostUnit::AgentRuns, range, nanos, scope))
    };
    let all = (None, None, None);
    for (what, got, expected) in [
        (
            "runs at most 600 (research in the planner's, planner alone; research alone unknown)",
            tally(hour, 600, all)?,
            CostTally::new(4, 2, 1),
        ),
        (
            "runs at most 900",
            tally(hour, 900, all)?,
            CostTally::new(4, 3, 1),
        ),
        (
            "runs at most 599",
            tally(hour, 599, all)?,
            CostTally::new(4, 1, 1),
        ),
        (
            "runs of agent research at most 600",
            tally(hour, 600, (None, Some("research"), None))?,
            CostTally::new(2, 1, 1),
        ),
        (
            "runs of svc-b",
            tally(hour, 600, (Some("svc-b"), None, None))?,
            CostTally::new(1, 1, 0),
        ),
        (
            "runs for user u-9 (the research run inherits it)",
            tally(hour, 600, (None, None, Some("u-9")))?,
            CostTally::new(2, 1, 0),
        ),
        (
            "runs starting from T0 + 60 s to T0 + 4 m: the planner's call outside counts nothing",
            tally(TimeRange::new(T0 + 60 * SEC, T0 + 4 * MINUTE), 600, all)?,
            CostTally::new(2, 1, 1),
        ),
        (
            "nothing before T0",
            tally(TimeRange::new(0, T0), 600, all)?,
            CostTally::default(),
        ),
    ] {
        expect_eq(what, &expected, &got)?;
    }
    for width in [2 * MINUTE, 90 * SEC] {
        let q = CostTallyQuery::new(CostUnit::AgentRuns, hour, Usd::from_nanos(600));
        expect_buckets(
            format!("agent runs at most 600 by buckets of {width} ns"),
            hour,
            width,
            &store.cost_tally_by_bucket(&q, width)?,
            |range| tally(range, 600, all),
        )?;
    }
    Ok(())
}

/// Each filter of the trace list, newest first (which traces match, from the table).
pub fn trace_list_filters(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let f = TraceFilter::new;
    let cases: Vec<(TraceFilter, Vec<u8>)> = vec![
        // L1 and L5 call gpt-4o; gpt-4o-mini is another model.
        (f().model("gpt-4o"), vec![5, 1]),
        (f().model("gpt-4o-mini"), vec![4]),
        (f().model("gpt"), vec![]),
        // Trace 2 asked for claude-3-5-sonnet and was answered by …-20241022.
        (f().model("claude-3-5-sonnet"), vec![2]),
        (f().model("claude-3-5-sonnet-20241022"), vec![2]),
        (f().agent("support"), vec![4, 1]),
        (f().agent("research"), vec![5, 2]),
        (f().agent("nobody"), vec![]),
        (f().session("s-1"), vec![3, 1]),
        (f().session("s-3"), vec![4]),
        (f().user("u-1"), vec![4, 3, 1]),
        (f().user("u-3"), vec![5]),
        (f().status(StatusFilter::Error), vec![4, 2]),
        (f().status(StatusFilter::Ok), vec![5, 3, 1]),
        // Durations 10, 40, 20, 50, 30 s; at least 30 s, inclusive.
        (f().min_duration_ns(30 * SEC), vec![5, 4, 2]),
        (f().min_duration_ns(30 * SEC + 1), vec![4, 2]),
        // Case-insensitive: "handle ticket" is in traces 1 and 4.
        (f().name_contains("TICKET"), vec![4, 1]),
        (f().name_contains("Lookup"), vec![4]),
        (f().name_contains("%"), vec![]),
        (f().service("svc-b"), vec![5, 3]),
        (f().service("svc-a"), vec![4, 2, 1]),
        (f().kind(SpanKind::Embedding), vec![5]),
        (f().kind(SpanKind::Tool), vec![4, 2]),
        (f().kind(SpanKind::Llm), vec![5, 4, 3, 2, 1]),
        (f().kind(SpanKind::Retriever), vec![]),
        // Trace starts T0 + 0, 1, 2, 3, 4 min; the end is exclusive.
        (
            f().range(TimeRange::new(T0 + MINUTE, T0 + 3 * MINUTE)),
            vec![3, 2],
        ),
        (f().range(TimeRange::since(T0 + 3 * MINUTE)), vec![5, 4]),
        (f().range(TimeRange::until(T0 + 1)), vec![1]),
        (f().agent("support").status(StatusFilter::Error), vec![4]),
        (f().user("u-1").service("svc-b"), vec![3]),
        (f().model("gpt-4o").agent("support"), vec![1]),
        // One trace by its id; an id not stored, none; the id with what it fails, none.
        (f().trace_id(trace_id(3)), vec![3]),
        (f().trace_id(trace_id(9)), vec![]),
        (
            f().trace_id(trace_id(3)).status(StatusFilter::Error),
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        let page = store.list_traces(&filter, None, 10)?;
        expect_eq(
            format!("traces matching {filter:?}"),
            &trace_ids(&expected),
            &listed(&page),
        )?;
    }
    Ok(())
}

/// Each order of the trace list, both ways (from the table: durations 10/40/20/50/30 s,
/// costs 2000/13000/—/900/20010 with unpriced below zero, tokens 1200/750/60/1800/155,
/// spans 2/4/1/5/3; errors 1 and 2 among the failed traces 2 and 4).
pub fn trace_list_orders(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let cases: [(TraceSort, Vec<u8>); 5] = [
        (TraceSort::Start, vec![5, 4, 3, 2, 1]),
        (TraceSort::Duration, vec![4, 2, 5, 3, 1]),
        (TraceSort::Cost, vec![5, 2, 1, 4, 3]),
        (TraceSort::Tokens, vec![4, 1, 2, 5, 3]),
        (TraceSort::Spans, vec![4, 2, 5, 1, 3]),
    ];
    for (by, largest_first) in cases {
        for ascending in [false, true] {
            let mut expected = largest_first.clone();
            if ascending {
                expected.reverse();
            }
            let order = TraceOrder { by, ascending };
            let page = store.list_traces_by(&TraceFilter::new(), order, None, 10)?;
            expect_eq(
                format!("traces by {order:?}"),
                &trace_ids(&expected),
                &listed(&page),
            )?;
        }
    }
    let failed = TraceFilter::new().status(StatusFilter::Error);
    for (ascending, expected) in [(false, [4, 2]), (true, [2, 4])] {
        let order = TraceOrder {
            by: TraceSort::Errors,
            ascending,
        };
        let page = store.list_traces_by(&failed, order, None, 10)?;
        expect_eq(
            format!("failed traces by {order:?}"),
            &trace_ids(&expected),
            &listed(&page),
        )?;
    }
    Ok(())
}

/// Reads the pages of `filter` in `order`, `limit` at a time, until one comes without a
/// cursor: each page's trace numbers.
pub fn pages(
    store: &dyn Store,
    filter: &TraceFilter,
    order: TraceOrder,
    limit: usize,
) -> Result<Vec<Vec<u8>>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = store.list_traces_by(filter, order, cursor.as_ref(), limit)?;
        ensure(
            page.traces.len() <= limit,
            format!(
                "a page of {} traces for a limit of {limit}",
                page.traces.len()
            ),
        )?;
        out.push(
            page.traces
                .iter()
                .map(|t| t.trace_id.to_bytes()[15])
                .collect(),
        );
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
        ensure(out.len() <= 10, "more than 10 pages of at most 6 traces")?;
    }
}

/// Pages of the trace list: 2 at a time over the five traces, every trace once, in order;
/// in another order and with a filter too; a full last page has no cursor. Paging while
/// spans arrive, by list time (the earliest start of the first batch that brought a trace,
/// fixed from then on): trace 6, newer than the first page, is not in the pages continuing
/// it; trace 9, first seen after the first page but older, is, at the place of its first
/// batch even though a later batch brought an earlier span; traces 1, 2 and 3 keep their
/// places when late spans of them arrive.
pub fn trace_list_pages(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let newest = TraceOrder::default();
    let all = TraceFilter::new();
    expect_eq(
        "pages of 2",
        &vec![vec![5, 4], vec![3, 2], vec![1]],
        &pages(store, &all, newest, 2)?,
    )?;
    expect_eq(
        "pages of 5",
        &vec![vec![5, 4, 3, 2, 1]],
        &pages(store, &all, newest, 5)?,
    )?;
    let by_cost = TraceOrder {
        by: TraceSort::Cost,
        ascending: false,
    };
    expect_eq(
        "pages of 2 by cost",
        &vec![vec![5, 2], vec![1, 4], vec![3]],
        &pages(store, &all, by_cost, 2)?,
    )?;
    let cheapest = TraceOrder {
        by: TraceSort::Cost,
        ascending: true,
    };
    expect_eq(
        "pages of 2 by cost, ascending",
        &vec![vec![3, 4], vec![1, 2], vec![5]],
        &pages(store, &all, cheapest, 2)?,
    )?;
    let u1 = TraceFilter::new().user("u-1");
    expect_eq(
        "pages of 1 of user u-1",
        &vec![vec![4], vec![3], vec![1]],
        &pages(store, &u1, newest, 1)?,
    )?;

    // The first page, then spans arriving: trace 6 (new, the newest), a late span of trace 1,
    // and trace 9 whose first batch starts at T0 + 150 s.
    let first = store.list_traces(&all, None, 2)?;
    expect_eq("the first page", &trace_ids(&[5, 4]), &listed(&first))?;
    let cursor = first.next_cursor.ok_or("no cursor after the first page")?;
    store.write_spans(&[
        span(6, 601, "new trace", T0 + 5 * MINUTE, T0 + 5 * MINUTE + SEC).build(),
        span(1, 13, "execute_tool late", T0 + 200 * SEC, T0 + 201 * SEC)
            .parent(five::R1)
            .tool("late")
            .build(),
        span(9, 901, "late trace", T0 + 150 * SEC, T0 + 151 * SEC).build(),
    ])?;
    // Trace 9's earlier span, in a later batch: its list time stays T0 + 150 s.
    store.write_spans(&[span(9, 902, "earlier", T0 + 30 * SEC, T0 + 31 * SEC)
        .parent(901)
        .build()])?;
    let second = store.list_traces(&all, Some(&cursor), 2)?;
    expect_eq("the second page", &trace_ids(&[9, 3]), &listed(&second))?;
    let cursor = second
        .next_cursor
        .ok_or("no cursor after the second page")?;
    let third = store.list_traces(&all, Some(&cursor), 2)?;
    expect_eq("the third page", &trace_ids(&[2, 1]), &listed(&third))?;
    expect_eq("the cursor after the third page", &None, &third.next_cursor)?;
    let fresh = store.list_traces(&all, None, 10)?;
    expect_eq(
        "a fresh list",
        &trace_ids(&[6, 5, 4, 9, 3, 2, 1]),
        &listed(&fresh),
    )?;
    let t1 = fresh.traces.last().ok_or("no trace 1")?;
    expect_eq(
        "trace 1's span count with its late span",
        &3,
        &t1.span_count,
    )?;
    expect_eq(
        "trace 1's end with its late span",
        &(T0 + 201 * SEC),
        &t1.end_unix_nano,
    )?;
    let t9 = fresh.traces.get(3).ok_or("no trace 9")?;
    expect_eq(
        "trace 9's start (its earliest span)",
        &(T0 + 30 * SEC),
        &t9.start_unix_nano,
    )?;
    // Late spans of traces 2 and 3 in one batch, later than trace 4's list time: both keep
    // their places, and every page holds the traces it did.
    store.write_spans(&[
        span(2, 25, "execute_tool late", T0 + 210 * SEC, T0 + 211 * SEC)
            .parent(five::R2)
            .build(),
        span(3, 32, "execute_tool late", T0 + 220 * SEC, T0 + 221 * SEC)
            .parent(five::L3)
            .build(),
    ])?;
    expect_eq(
        "pages of 3 after late spans",
        &vec![vec![6, 5, 4], vec![9, 3, 2], vec![1]],
        &pages(store, &all, newest, 3)?,
    )?;
    // Since T0 + 90 s: not trace 9, listed at T0 + 150 s but starting at T0 + 30 s.
    let since = TraceFilter::new().range(TimeRange {
        start_unix_nano: Some(T0 + 90 * SEC),
        end_unix_nano: None,
    });
    expect_eq(
        "pages of 2 of the traces starting since T0 + 90 s",
        &vec![vec![6, 5], vec![4, 3]],
        &pages(store, &since, newest, 2)?,
    )?;
    Ok(())
}

/// Cursors that no query of the kind made: text that is no cursor, and cursors of the other
/// kinds of pages (spans, events, traces), each refused with `InvalidCursor`.
pub fn invalid_cursors_are_refused(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    store.insert_events(&five_events())?;
    let all = TraceFilter::new();
    let garbage = Cursor::from("not a cursor".to_owned());
    let span_cursor = store
        .spans(&SpanQuery::new(SpanFilter::new()).limit(1))?
        .next_cursor
        .ok_or("no cursor after a page of 1 span of 15")?;
    let event_cursor = store
        .events(&EventQuery::new(EventFilter::new()).limit(1))?
        .next_cursor
        .ok_or("no cursor after a page of 1 event of 5")?;
    let trace_cursor = store
        .list_traces(&all, None, 1)?
        .next_cursor
        .ok_or("no cursor after a page of 1 trace of 5")?;
    expect_invalid_cursor(
        "the trace list with garbage",
        store.list_traces(&all, Some(&garbage), 2),
    )?;
    expect_invalid_cursor(
        "the trace list with a span cursor",
        store.list_traces(&all, Some(&span_cursor), 2),
    )?;
    expect_invalid_cursor(
        "the trace list with an event cursor",
        store.list_traces(&all, Some(&event_cursor), 2),
    )?;
    let spans = |c: &Cursor| {
        store.spans(
            &SpanQuery::new(SpanFilter::new())
                .limit(2)
                .cursor(Some(c.clone())),
        )
    };
    expect_invalid_cursor("spans with garbage", spans(&garbage))?;
    expect_invalid_cursor("spans with a trace cursor", spans(&trace_cursor))?;
    expect_invalid_cursor("spans with an event cursor", spans(&event_cursor))?;
    let events = |c: &Cursor| {
        store.events(
            &EventQuery::new(EventFilter::new())
                .limit(2)
                .cursor(Some(c.clone())),
        )
    };
    expect_invalid_cursor("events with garbage", events(&garbage))?;
    expect_invalid_cursor("events with a trace cursor", events(&trace_cursor))?;
    expect_invalid_cursor("events with a span cursor", events(&span_cursor))?;
    Ok(())
}
