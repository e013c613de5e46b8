//! Scores of traces, spans and sessions: kept under their ids, read newest first by target,
//! name, source, value and time, a page at a time; replaced when written again under their
//! id; deleted. The trace list filtered and ordered by score. Evaluator rules kept.

use crate::{
    MAX_RESPONSES_A_LOOKUP, QueryError, RecordKind, RespondingSpan, ScoreFilter, ScorePass,
    ScoreQuery, ScoreTally, Store, TimeRange, WriteError, with_score_ids,
};
use agentrace_core::semconv::gen_ai::RESPONSE_ID;
use agentrace_core::{
    AnnotatorKind, Score, ScoreKind, ScoreSource, ScoreTarget, ScoreValue, TraceId,
};

use super::fixtures::{SEC, T0, span, span_id, trace_id, trace_ids};
use super::traces::pages;
use super::{CheckResult, ensure, expect_buckets, expect_eq, listed};

/// Score `n` (given at T0 + n s) of `target`, named `name`, giving `value`.
fn score(
    n: u64,
    target: ScoreTarget,
    name: &str,
    value: ScoreValue,
) -> Result<Score, agentrace_core::InvalidScore> {
    let mut s = Score::new(target, name, value)?;
    s.time_unix_nano = T0 + n * SEC;
    Ok(s)
}

fn number(value: f64) -> ScoreValue {
    ScoreValue {
        kind: None,
        value: Some(value),
        label: None,
    }
}

/// Six scores of every target and kind, two with an id of their own, the rest given one.
fn six() -> Result<Vec<Score>, agentrace_core::InvalidScore> {
    let trace = ScoreTarget::Trace(trace_id(1));
    let span = ScoreTarget::Span {
        span_id: span_id(12),
        trace_id: Some(trace_id(1)),
    };
    let lone_span = ScoreTarget::Span {
        span_id: span_id(21),
        trace_id: None,
    };
    let session = ScoreTarget::Session("sess-1".into());
    let mut judged = score(3, span, "helpfulness", number(0.25))?;
    judged.source = ScoreSource::Eval;
    judged.annotator = AnnotatorKind::Llm;
    judged.author = Some("judge gpt-4o".into());
    judged.explanation = Some("answers half of the question".into());
    judged
        .metadata
        .insert("judge_trace_id".into(), trace_id(9).to_string().into());
    let mut thumbs = score(
        5,
        session.clone(),
        "thumbs",
        ScoreValue {
            kind: Some(ScoreKind::Boolean),
            value: None,
            label: Some("false".into()),
        },
    )?;
    thumbs.id = Some("thumbs-sess-1".into());
    thumbs.source = ScoreSource::Annotation;
    let mut verdict = score(
        2,
        lone_span,
        "verdict",
        ScoreValue {
            kind: None,
            value: None,
            label: Some("correct".into()),
        },
    )?;
    verdict.id = Some("verdict-21".into());
    Ok(with_score_ids(vec![
        score(1, trace.clone(), "helpfulness", number(0.75))?,
        verdict,
        judged,
        score(4, trace, "latency_ok", number(1.0))?,
        thumbs,
        score(
            6,
            session,
            "note",
            ScoreValue {
                kind: Some(ScoreKind::Text),
                value: None,
                label: Some("asked twice".into()),
            },
        )?,
    ]))
}

/// Every page of `filter`'s scores, `limit` at a time.
fn all_pages(
    store: &dyn Store,
    filter: &ScoreFilter,
    limit: usize,
) -> Result<Vec<Score>, QueryError> {
    let mut query = ScoreQuery::new(filter.clone(), limit);
    let mut scores = Vec::new();
    loop {
        let page = store.scores(&query)?;
        scores.extend(page.scores);
        match page.next_cursor {
            Some(cursor) => query = query.after(Some(cursor)),
            None => return Ok(scores),
        }
    }
}

/// Six scores written in two calls read back whole, newest first, by every filter (what
/// [`ScoreFilter::matches`] selects), a page at a time as in one; a score without an id is
/// refused; a cursor no page returned is refused.
pub fn scores_are_kept_and_found(store: &dyn Store) -> CheckResult {
    let written = six()?;
    store.write_scores(&written[..2])?;
    store.write_scores(&written[2..])?;
    let mut newest_first = written.clone();
    newest_first.reverse();
    let f = ScoreFilter::new;
    let with = |change: fn(&mut ScoreFilter)| {
        let mut filter = f();
        change(&mut filter);
        filter
    };
    let filters = [
        f(),
        with(|f| f.trace_id = Some(trace_id(1))),
        with(|f| f.span_id = Some(span_id(21))),
        with(|f| f.session_id = Some("sess-1".into())),
        with(|f| f.name = Some("helpfulness".into())),
        with(|f| f.source = Some(ScoreSource::Eval)),
        with(|f| f.min_value = Some(0.5)),
        with(|f| {
            f.min_value = Some(0.0);
            f.max_value = Some(0.5);
        }),
        with(|f| f.range = TimeRange::new(T0 + 2 * SEC, T0 + 5 * SEC)),
        with(|f| f.trace_id = Some(TraceId::from_bytes([7; 16]))),
    ];
    for filter in filters {
        let want: Vec<Score> = newest_first
            .iter()
            .filter(|s| filter.matches(s))
            .cloned()
            .collect();
        expect_eq(
            format!("scores of {filter:?}"),
            &want,
            &all_pages(store, &filter, 100)?,
        )?;
        expect_eq(
            format!("scores of {filter:?}, two a page"),
            &want,
            &all_pages(store, &filter, 2)?,
        )?;
    }
    let mut anonymous = written[0].clone();
    anonymous.id = None;
    ensure(
        matches!(
            store.write_scores(&[anonymous]),
            Err(WriteError::Rejected(_))
        ),
        "a score without an id is refused",
    )?;
    let bogus = ScoreQuery::new(f(), 2).after(Some("nonsense".to_owned().into()));
    ensure(
        matches!(store.scores(&bogus), Err(QueryError::InvalidCursor(_))),
        "a cursor no page returned is refused",
    )
}

/// A score written again under its id replaces the stored one; one deleted is gone (and
/// deleting it again says so); written again, it is back.
pub fn scores_are_replaced_under_their_id_and_deleted(store: &dyn Store) -> CheckResult {
    let written = six()?;
    store.write_scores(&written)?;
    let mut changed = written[4].clone();
    changed.label = Some("true".into());
    changed.value = Some(1.0);
    changed.time_unix_nano += SEC;
    store.write_scores(&[changed.clone()])?;
    let thumbs = |store: &dyn Store| {
        let mut filter = ScoreFilter::new();
        filter.name = Some("thumbs".into());
        store.scores(&ScoreQuery::new(filter, 10)).map(|p| p.scores)
    };
    expect_eq(
        "the thumbs, replaced",
        &vec![changed.clone()],
        &thumbs(store)?,
    )?;
    let all = store.scores(&ScoreQuery::new(ScoreFilter::new(), 100))?;
    expect_eq("scores after the replacement", &6, &all.scores.len())?;

    let id = changed.id.clone().unwrap_or_default();
    expect_eq("deleted", &true, &store.delete_score(&id)?)?;
    expect_eq("the thumbs, deleted", &Vec::<Score>::new(), &thumbs(store)?)?;
    expect_eq("deleted again", &false, &store.delete_score(&id)?)?;
    expect_eq(
        "an id never stored",
        &false,
        &store.delete_score("no-such-score")?,
    )?;
    let all = store.scores(&ScoreQuery::new(ScoreFilter::new(), 100))?;
    expect_eq("scores after the deletion", &5, &all.scores.len())?;
    store.write_scores(&[changed.clone()])?;
    expect_eq("the thumbs, written again", &vec![changed], &thumbs(store)?)
}

/// Ten thousand scores in one write, then all written again with another value: one score
/// each, the new value (a store may look the ids up, but a statement's size is bounded).
pub fn a_large_batch_of_scores_is_written_and_replaced(store: &dyn Store) -> CheckResult {
    let batch = |value: f64| -> Result<Vec<Score>, agentrace_core::InvalidScore> {
        (0..10_000u64)
            .map(|n| {
                let mut s = score(
                    n % 3_600,
                    ScoreTarget::Trace(trace_id(1)),
                    "groundedness",
                    number(value),
                )?;
                s.id = Some(format!("a-score-with-a-long-identifier-{n:08}"));
                Ok(s)
            })
            .collect()
    };
    store.write_scores(&batch(0.5)?)?;
    store.write_scores(&batch(0.9)?)?;
    expect_eq("scores", &10_000, &store.count(RecordKind::Scores)?)?;
    let mut filter = ScoreFilter::new();
    filter.name = Some("groundedness".into());
    let page = store.scores(&ScoreQuery::new(filter, 5))?;
    ensure(
        !page.scores.is_empty() && page.scores.iter().all(|s| s.value == Some(0.9)),
        "every score replaced by its second write",
    )
}

/// Retention of scores by the time they were given: counted, ranked, the two oldest deleted
/// by a cutoff of T0+3 s (a deleted score neither counted nor ranked); the spans they judge
/// have their own rule.
pub fn retention_deletes_scores(store: &dyn Store) -> CheckResult {
    let written = six()?;
    store.write_scores(&written)?;
    store.delete_score(written[5].id.as_deref().unwrap_or_default())?;
    expect_eq("scores", &5, &store.count(RecordKind::Scores)?)?;
    for (n, expected) in [(0, Some(T0 + SEC)), (4, Some(T0 + 5 * SEC)), (5, None)] {
        expect_eq(
            format!("the {n}-th oldest score"),
            &expected,
            &store.nth_oldest(RecordKind::Scores, n)?,
        )?;
    }
    expect_eq(
        "scores deleted",
        &2,
        &store.delete_before(RecordKind::Scores, T0 + 3 * SEC)?,
    )?;
    expect_eq("scores left", &3, &store.count(RecordKind::Scores)?)?;
    let left = store
        .scores(&ScoreQuery::new(ScoreFilter::new(), 100))?
        .scores;
    let mut want = written[2..5].to_vec();
    want.reverse();
    expect_eq("the scores left", &want, &left)?;
    expect_eq(
        "scores deleted again",
        &0,
        &store.delete_before(RecordKind::Scores, T0 + 3 * SEC)?,
    )
}

/// Spans found by the response they gave (`gen_ai.response.id`), within a time range: each
/// response once (its earliest span), unknown ids and spans out of range not found, too many
/// ids refused.
pub fn responding_spans_are_found_by_response_id(store: &dyn Store) -> CheckResult {
    let call = |trace: u8, id: u16, start: u64, response: &'static str| {
        span(trace, id, "chat gpt-4o", start, start + SEC)
            .llm("openai", "gpt-4o")
            .attribute(RESPONSE_ID, response)
            .build()
    };
    store.write_spans(&[
        call(1, 11, T0, "chatcmpl-a"),
        call(1, 12, T0 + 2 * SEC, "chatcmpl-b"),
        call(2, 21, T0 + SEC, "chatcmpl-a"),
        call(3, 31, T0 + 90 * SEC, "chatcmpl-c"),
        span(4, 41, "tool search", T0, T0 + SEC)
            .tool("search")
            .build(),
    ])?;
    let ids = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let responding = |response: &str, trace: u8, span: u16| RespondingSpan {
        response_id: response.to_owned(),
        trace_id: trace_id(trace),
        span_id: span_id(span),
    };
    let mut found = store.responding_spans(
        &ids(&["chatcmpl-a", "chatcmpl-b", "chatcmpl-c", "chatcmpl-x"]),
        TimeRange::new(T0, T0 + 60 * SEC),
    )?;
    found.sort_by(|a, b| a.response_id.cmp(&b.response_id));
    expect_eq(
        "the spans of a, b (c out of range, x unknown)",
        &vec![
            responding("chatcmpl-a", 1, 11),
            responding("chatcmpl-b", 1, 12),
        ],
        &found,
    )?;
    expect_eq(
        "c, in a range of all time",
        &vec![responding("chatcmpl-c", 3, 31)],
        &store.responding_spans(&ids(&["chatcmpl-c"]), TimeRange::default())?,
    )?;
    expect_eq(
        "no ids",
        &Vec::<RespondingSpan>::new(),
        &store.responding_spans(&[], TimeRange::default())?,
    )?;
    let too_many = vec!["chatcmpl-a".to_owned(); MAX_RESPONSES_A_LOOKUP + 1];
    ensure(
        matches!(
            store.responding_spans(&too_many, TimeRange::default()),
            Err(QueryError::Invalid(_))
        ),
        "too many ids are refused",
    )
}

/// A score of a span that names no trace (as Phoenix's span annotations give them) is found
/// by the trace its span is stored in, beside the trace's own and its spans' that name it;
/// one of a span stored in another trace, or not stored, is not.
pub fn span_scores_are_found_by_their_stored_trace(store: &dyn Store) -> CheckResult {
    store.write_spans(&[
        span(1, 11, "invoke_agent planner", T0, T0 + 9 * SEC).build(),
        span(1, 12, "chat gpt-4o", T0 + SEC, T0 + 2 * SEC)
            .parent(11)
            .build(),
        span(2, 21, "chat gpt-4o", T0, T0 + SEC).build(),
    ])?;
    let lone = |span: u16| ScoreTarget::Span {
        span_id: span_id(span),
        trace_id: None,
    };
    let named = ScoreTarget::Span {
        span_id: span_id(11),
        trace_id: Some(trace_id(1)),
    };
    let written = with_score_ids(vec![
        score(
            1,
            ScoreTarget::Trace(trace_id(1)),
            "of the trace",
            number(1.0),
        )?,
        score(2, named, "of a span naming it", number(1.0))?,
        score(3, lone(12), "of a span naming none", number(1.0))?,
        score(4, lone(21), "of another trace's span", number(1.0))?,
        score(5, lone(99), "of a span not stored", number(1.0))?,
    ]);
    store.write_scores(&written)?;
    let mut filter = ScoreFilter::new();
    filter.trace_id = Some(trace_id(1));
    let mut want = written[..3].to_vec();
    want.reverse();
    expect_eq(
        "the scores of trace 1",
        &want,
        &store.scores(&ScoreQuery::new(filter.clone(), 100))?.scores,
    )?;
    filter.name = Some("of a span naming none".into());
    expect_eq(
        "with another filter too",
        &vec![written[2].clone()],
        &store.scores(&ScoreQuery::new(filter, 100))?.scores,
    )
}

/// The spans scores judge, and the statistics of a score by what it judged
/// (`crate::score_stats`, which reads through
/// [`TraceReader::judged_spans`](crate::TraceReader::judged_spans)): by model,
/// agent, service, prompt and attribute (the span's, else its resource's) of the judged span
/// (a trace's: its root's), unknown for a
/// session, a span not stored and one that names no trace; counts, means, ranges, bins and
/// the trend computed by hand from the scores below. And the names given in a range.
pub fn score_statistics_by_what_they_judged(store: &dyn Store) -> CheckResult {
    use crate::{ScoreDimension, ScoreStatsQuery, score_stats};
    use agentrace_core::semconv::langfuse;

    // customer.id: trace 1's spans carry it themselves, trace 2's resource does.
    let mut customer_b = agentrace_core::Resource::new("svc-b");
    customer_b.attributes.insert("customer.id", "globex");
    let customer_b = std::sync::Arc::new(customer_b);
    let mut claude = span(2, 22, "chat claude", T0 + SEC, T0 + 2 * SEC)
        .parent(21)
        .llm("anthropic", "claude-sonnet-4")
        .agent_name("support")
        .attribute(langfuse::PROMPT_NAME, "support-answer")
        .attribute(langfuse::PROMPT_VERSION, 3_i64)
        .build();
    claude.resource = customer_b.clone();
    let mut support = span(2, 21, "invoke_agent support", T0, T0 + 9 * SEC)
        .agent("support")
        .build();
    support.resource = customer_b;
    store.write_spans(&[
        span(1, 11, "invoke_agent planner", T0, T0 + 9 * SEC)
            .agent("planner")
            .attribute("customer.id", "acme")
            .build(),
        span(1, 12, "chat gpt-4o", T0 + SEC, T0 + 2 * SEC)
            .parent(11)
            .llm("openai", "gpt-4o")
            .agent_name("planner")
            .attribute("customer.id", "acme")
            .build(),
        support,
        claude,
    ])?;
    let of_span = |s: u16, t: u8| ScoreTarget::Span {
        span_id: span_id(s),
        trace_id: Some(trace_id(t)),
    };
    // helpfulness: gpt-4o 0.8 (1 s) and 0.6 (2 s), claude 0.4 (3 s), trace 1 (its root:
    // planner, no model) 1.0 (61 s), a session 0.2 (62 s), a span not stored 0.0 (63 s).
    let written = with_score_ids(vec![
        score(1, of_span(12, 1), "helpfulness", number(0.8))?,
        score(2, of_span(12, 1), "helpfulness", number(0.6))?,
        score(3, of_span(22, 2), "helpfulness", number(0.4))?,
        score(
            61,
            ScoreTarget::Trace(trace_id(1)),
            "helpfulness",
            number(1.0),
        )?,
        score(
            62,
            ScoreTarget::Session("s-1".into()),
            "helpfulness",
            number(0.2),
        )?,
        score(63, of_span(99, 9), "helpfulness", number(0.0))?,
        score(
            4,
            of_span(22, 2),
            "grounded",
            ScoreValue {
                kind: Some(ScoreKind::Boolean),
                value: Some(0.0),
                label: None,
            },
        )?,
    ]);
    store.write_scores(&written)?;

    let mut judged = store.judged_spans(&[
        of_span(12, 1),
        ScoreTarget::Trace(trace_id(2)),
        of_span(99, 9),
        ScoreTarget::Session("s-1".into()),
        ScoreTarget::Span {
            span_id: span_id(12),
            trace_id: None,
        },
    ])?;
    judged.sort_by_key(|s| s.span_id);
    expect_eq(
        "the spans judged: span 12, trace 2's root",
        &vec![span_id(12), span_id(21)],
        &judged.iter().map(|s| s.span_id).collect::<Vec<_>>(),
    )?;

    let range = TimeRange::new(T0, T0 + 3_600 * SEC);
    /// A group's key, count and mean (rounded to a millionth).
    type Row = (Option<String>, u64, Option<f64>);
    let stats = |group_by| -> Result<Vec<Row>, QueryError> {
        let mut query = ScoreStatsQuery::new("helpfulness", range, 60 * SEC);
        query.group_by = group_by;
        let stats = score_stats(store, &query)?;
        Ok(stats
            .groups
            .iter()
            .map(|g| {
                (
                    g.key.clone(),
                    g.count,
                    g.mean.map(|m| (m * 1e6).round() / 1e6),
                )
            })
            .collect())
    };
    let key = |k: &str| Some(k.to_owned());
    expect_eq(
        "by model: gpt-4o's two, claude's one, the rest unknown (largest first, unknown last)",
        &vec![
            (key("gpt-4o"), 2, Some(0.7)),
            (key("claude-sonnet-4"), 1, Some(0.4)),
            (None, 3, Some(0.4)),
        ],
        &stats(ScoreDimension::Model)?,
    )?;
    expect_eq(
        "by agent: the trace's root counts for planner",
        &vec![
            (key("planner"), 3, Some(0.8)),
            (key("support"), 1, Some(0.4)),
            (None, 2, Some(0.1)),
        ],
        &stats(ScoreDimension::Agent)?,
    )?;
    expect_eq(
        "by service",
        &vec![
            (key("svc-a"), 3, Some(0.8)),
            (key("svc-b"), 1, Some(0.4)),
            (None, 2, Some(0.1)),
        ],
        &stats(ScoreDimension::Service)?,
    )?;
    expect_eq(
        "by prompt",
        &vec![
            (key("support-answer@3"), 1, Some(0.4)),
            (None, 5, Some(0.52)),
        ],
        &stats(ScoreDimension::Prompt)?,
    )?;
    expect_eq(
        "by attr:customer.id: the span's own, else its resource's",
        &vec![
            (key("acme"), 3, Some(0.8)),
            (key("globex"), 1, Some(0.4)),
            (None, 2, Some(0.1)),
        ],
        &stats(ScoreDimension::Attribute(
            crate::AttributeKey::new("customer.id").map_err(|e| e.to_string())?,
        ))?,
    )?;

    let mut all = ScoreStatsQuery::new("helpfulness", range, 60 * SEC);
    all.group_by = ScoreDimension::None;
    let whole = score_stats(store, &all)?;
    let group = whole.groups.first().ok_or("one group")?;
    expect_eq("scores", &6, &group.count)?;
    expect_eq("range", &(Some(0.0), Some(1.0)), &(group.min, group.max))?;
    expect_eq(
        "ten bins of 0.1 from 0 to 1: 0.0, 0.2, 0.4, 0.6, 0.8 and 1.0 (the last bin closed)",
        &vec![1, 0, 1, 0, 1, 0, 1, 0, 1, 1],
        &group.histogram.iter().map(|b| b.count).collect::<Vec<_>>(),
    )?;
    expect_eq(
        "the trend by minute: three in the first, three in the second",
        &vec![(T0, 3), (T0 + 60 * SEC, 3)],
        &group
            .trend
            .iter()
            .map(|p| (p.start_unix_nano, p.count))
            .collect::<Vec<_>>(),
    )?;
    let boolean = score_stats(store, &ScoreStatsQuery::new("grounded", range, 60 * SEC))?;
    let g = boolean.groups.first().ok_or("one group")?;
    expect_eq("a boolean's pass rate", &Some(0.0), &g.pass_rate)?;
    expect_eq(
        "its labels",
        &vec![("false".to_owned(), 1)],
        &g.labels
            .iter()
            .map(|l| (l.label.clone(), l.count))
            .collect::<Vec<_>>(),
    )?;

    let names = store.score_names(range)?;
    expect_eq(
        "the names given",
        &vec![
            ("grounded".to_owned(), ScoreKind::Boolean, 1),
            ("helpfulness".to_owned(), ScoreKind::Numeric, 6),
        ],
        &names
            .iter()
            .map(|n| (n.name.clone(), n.kind, n.count))
            .collect::<Vec<_>>(),
    )?;
    expect_eq(
        "none before the range",
        &0,
        &store.score_names(TimeRange::new(0, T0))?.len(),
    )
}

/// A quality objective's counts: the scores of a name in a range, and those a [`ScorePass`]
/// passes — by value (a lower bound, an upper one, both, bounds included), by label, or
/// either — each equal to [`ScorePass::passes`] over what was written; a score written again
/// under its id counts once, as it now is; a deleted one not at all; other names and times
/// never.
pub fn score_tallies_count_what_passes(store: &dyn Store) -> CheckResult {
    let trace = ScoreTarget::Trace(trace_id(1));
    let labelled = |n: u64, label: &str| {
        score(
            n,
            trace.clone(),
            "verdict",
            ScoreValue {
                kind: None,
                value: None,
                label: Some(label.into()),
            },
        )
    };
    let mut written = Vec::new();
    for (n, value) in [0.25, 0.5, 0.75, 1.0, 0.7].into_iter().enumerate() {
        written.push(score(
            n as u64 + 1,
            trace.clone(),
            "groundedness",
            number(value),
        )?);
    }
    written.push(labelled(6, "correct")?);
    written.push(labelled(7, "wrong")?);
    written.push(labelled(8, "correct")?);
    let mut both = score(9, trace.clone(), "verdict", number(0.9))?;
    both.label = Some("unsure".into());
    written.push(both);
    written.push(score(10, trace.clone(), "other", number(1.0))?);
    written.push(score(100, trace.clone(), "groundedness", number(1.0))?);
    let mut written = with_score_ids(written);
    store.write_scores(&written)?;
    // 0.25 becomes 0.95 under its id; 0.5 is deleted.
    written[0].value = Some(0.95);
    store.write_scores(&written[..1])?;
    let deleted = written.remove(1);
    store.delete_score(deleted.id.as_deref().unwrap_or_default())?;

    let range = TimeRange::new(T0, T0 + 50 * SEC);
    let check = |name: &str, pass: ScorePass| -> CheckResult {
        let expected = written
            .iter()
            .filter(|s| s.name == name && range.contains(s.time_unix_nano))
            .fold(ScoreTally::default(), |t, s| {
                let passed = u64::from(pass.passes(s.value, s.label.as_deref()));
                ScoreTally::new(t.scored + 1, t.passed + passed)
            });
        ensure(expected.scored > 0, "the check reads scores")?;
        expect_eq(
            format!("{name} passing {pass:?}"),
            &expected,
            &store.score_tally(name, range, &pass)?,
        )
    };
    check("groundedness", ScorePass::new(Some(0.7), None, Vec::new()))?;
    check("groundedness", ScorePass::new(None, Some(0.75), Vec::new()))?;
    check(
        "groundedness",
        ScorePass::new(Some(0.7), Some(0.75), Vec::new()),
    )?;
    check(
        "verdict",
        ScorePass::new(None, None, vec!["correct".into()]),
    )?;
    check(
        "verdict",
        ScorePass::new(Some(0.8), None, vec!["wrong".into(), "correct".into()]),
    )?;
    check("verdict", ScorePass::new(None, None, Vec::new()))?;
    for (name, width) in [("groundedness", 7 * SEC), ("verdict", 20 * SEC)] {
        let pass = ScorePass::new(Some(0.7), None, vec!["correct".into()]);
        expect_buckets(
            format!("{name} by buckets of {width} ns"),
            range,
            width,
            &store.score_tally_by_bucket(name, range, &pass, width)?,
            |part| store.score_tally(name, part, &pass),
        )?;
    }
    expect_eq(
        "0.95 (replaced), 0.75, 1.0 and 0.7 pass; 0.5 is deleted; T0 + 100 s is outside",
        &ScoreTally::new(4, 4),
        &store.score_tally(
            "groundedness",
            range,
            &ScorePass::new(Some(0.7), None, Vec::new()),
        )?,
    )?;
    expect_eq(
        "a name never given",
        &ScoreTally::default(),
        &store.score_tally(
            "nothing",
            range,
            &ScorePass::new(Some(0.0), None, Vec::new()),
        )?,
    )
}

/// The trace list by score: the traces with a score of a name (their own, their spans'
/// naming them, and their spans' naming no trace), within bounds; ordered by the mean of
/// their scores of the name (a trace whose scores have no value last, or first ascending),
/// a page at a time; the order by score without a name to filter by is refused.
pub fn traces_filtered_and_ordered_by_score(store: &dyn Store) -> CheckResult {
    use crate::{ScoreCondition, TraceFilter, TraceOrder, TraceSort};

    let mut spans = Vec::new();
    for t in 1..=5u8 {
        let start = T0 + u64::from(t) * SEC;
        let root = u16::from(t) * 10 + 1;
        spans.push(span(t, root, "invoke_agent", start, start + SEC).build());
        spans.push(
            span(t, root + 1, "chat gpt-4o", start, start + SEC)
                .parent(root)
                .build(),
        );
    }
    store.write_spans(&spans)?;
    let of_span = |span: u16, trace: Option<u8>| ScoreTarget::Span {
        span_id: span_id(span),
        trace_id: trace.map(trace_id),
    };
    let mut deleted = score(
        6,
        ScoreTarget::Trace(trace_id(4)),
        "helpfulness",
        number(0.0),
    )?;
    deleted.id = Some("deleted".into());
    let label_only = ScoreValue {
        kind: None,
        value: None,
        label: Some("good".into()),
    };
    store.write_scores(&with_score_ids(vec![
        // Trace 1: 0.9 of its own.
        score(
            1,
            ScoreTarget::Trace(trace_id(1)),
            "helpfulness",
            number(0.9),
        )?,
        // Trace 2: 0.2 of its own and 0.4 of a span naming it (a mean of 0.3).
        score(
            2,
            ScoreTarget::Trace(trace_id(2)),
            "helpfulness",
            number(0.2),
        )?,
        score(3, of_span(22, Some(2)), "helpfulness", number(0.4))?,
        // Trace 3: 0.6 of a span naming no trace.
        score(4, of_span(32, None), "helpfulness", number(0.6))?,
        // Trace 4: another name only (its score of the name is deleted below).
        score(
            5,
            ScoreTarget::Trace(trace_id(4)),
            "latency_ok",
            number(0.1),
        )?,
        deleted,
        // Trace 5: a label without a value.
        score(
            7,
            ScoreTarget::Trace(trace_id(5)),
            "helpfulness",
            label_only,
        )?,
        // Of a span not stored: no trace.
        score(8, of_span(99, None), "helpfulness", number(0.5))?,
    ]))?;
    ensure(
        store.delete_score("deleted")?,
        "the score to delete is deleted",
    )?;
    let by = |min: Option<f64>, max: Option<f64>| {
        TraceFilter::new().score(ScoreCondition::named("helpfulness").within(min, max))
    };
    for (what, filter, newest_first) in [
        ("any score", by(None, None), vec![5, 3, 2, 1]),
        ("a score of 0.5 or more", by(Some(0.5), None), vec![3, 1]),
        ("a score of 0.3 or less", by(None, Some(0.3)), vec![2]),
        ("a score from 0.3 to 0.5", by(Some(0.3), Some(0.5)), vec![2]),
        ("a score above any", by(Some(2.0), None), vec![]),
        (
            "another name",
            TraceFilter::new().score(ScoreCondition::named("latency_ok")),
            vec![4],
        ),
    ] {
        let page = store.list_traces(&filter, None, 10)?;
        expect_eq(
            format!("the traces with {what}"),
            &trace_ids(&newest_first),
            &listed(&page),
        )?;
        if what == "any score" {
            expect_means(what, &page, &[None, Some(0.6), Some(0.3), Some(0.9)])?;
        }
    }
    for ascending in [false, true] {
        let order = TraceOrder {
            by: TraceSort::Score,
            ascending,
        };
        // Means 0.9, 0.6 and 0.3; trace 5's scores have no value.
        let mut expected = vec![1, 3, 2, 5];
        if ascending {
            expected.reverse();
        }
        expect_eq(
            format!("the traces by score, ascending {ascending}"),
            &vec![expected.clone()],
            &pages(store, &by(None, None), order, 10)?,
        )?;
        // Each with its mean, in any order.
        let page = store.list_traces_by(&by(Some(0.5), None), order, None, 10)?;
        let mut want = vec![Some(0.9), Some(0.6)];
        if ascending {
            want.reverse();
        }
        expect_means("traces with a score of 0.5 or more", &page, &want)?;
        expect_eq(
            format!("the traces by score a page of one at a time, ascending {ascending}"),
            &expected.iter().map(|t| vec![*t]).collect::<Vec<_>>(),
            &pages(store, &by(None, None), order, 1)?,
        )?;
    }
    let unnamed = store.list_traces_by(
        &TraceFilter::new(),
        TraceOrder {
            by: TraceSort::Score,
            ascending: false,
        },
        None,
        10,
    );
    ensure(
        matches!(unnamed, Err(QueryError::Invalid(_))),
        format!("the order by score without a name is refused, not {unnamed:?}"),
    )
}

/// `Ok` if the page's traces have the score means `want`, within a float's rounding.
fn expect_means(what: &str, page: &crate::TracePage, want: &[Option<f64>]) -> CheckResult {
    let means: Vec<Option<f64>> = page.traces.iter().map(|t| t.score_mean).collect();
    let same = means.len() == want.len()
        && means.iter().zip(want).all(|(got, want)| match (got, want) {
            (Some(g), Some(w)) => (g - w).abs() < 1e-9,
            (g, w) => g == w,
        });
    ensure(
        same,
        format!("the score means of {what}: {means:?}, not {want:?}"),
    )
}

/// Evaluator rules given through the API: kept by name, read back by name, replaced when
/// stored again (the newest definition read, whatever the clock said), deleted once.
pub fn evaluator_rules_are_kept_replaced_and_deleted(store: &dyn Store) -> CheckResult {
    use crate::StoredRule;

    expect_eq("no rule at first", &Vec::new(), &store.evaluator_rules()?)?;
    let concise = StoredRule::new("concise", r#"{"check":{"type":"length","max":180}}"#, T0);
    let json = StoredRule::new("json", r#"{"check":{"type":"json_valid"}}"#, T0 + SEC);
    store.put_evaluator_rule(&json)?;
    store.put_evaluator_rule(&concise)?;
    expect_eq(
        "two rules, by name",
        &vec![concise.clone(), json.clone()],
        &store.evaluator_rules()?,
    )?;
    let shorter = StoredRule::new(
        "concise",
        r#"{"check":{"type":"length","max":80}}"#,
        T0 + 2 * SEC,
    );
    store.put_evaluator_rule(&shorter)?;
    expect_eq(
        "a rule stored again is replaced",
        &vec![shorter, json.clone()],
        &store.evaluator_rules()?,
    )?;
    ensure(
        store.delete_evaluator_rule("concise")?,
        "a stored rule is deleted",
    )?;
    ensure(
        !store.delete_evaluator_rule("concise")?,
        "a deleted rule is not deleted again",
    )?;
    expect_eq("what is left", &vec![json], &store.evaluator_rules()?)?;
    // A rule deleted then stored again is back.
    let back = StoredRule::new(
        "concise",
        r#"{"check":{"type":"json_valid"}}"#,
        T0 + 3 * SEC,
    );
    store.put_evaluator_rule(&back)?;
    ensure(
        store.evaluator_rules()?.contains(&back),
        "a rule stored again after its deletion is back",
    )
}
