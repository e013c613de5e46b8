//! Scores of traces, spans and sessions: kept under their ids, read newest first by target,
//! name, source, value and time, a page at a time; replaced when written again under their
//! id; deleted.

use agentrace_core::semconv::gen_ai::RESPONSE_ID;
use agentrace_core::{
    AnnotatorKind, Score, ScoreKind, ScoreSource, ScoreTarget, ScoreValue, TraceId,
};
use agentrace_store::{
    MAX_RESPONSES_A_LOOKUP, QueryError, RespondingSpan, ScoreFilter, ScoreQuery, Signal, Store,
    TimeRange, WriteError, with_score_ids,
};

use super::fixtures::{SEC, T0, span, span_id, trace_id};
use super::{CheckResult, ensure, expect_eq};

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

/// Retention of scores by the time they were given: counted, ranked, the two oldest deleted
/// by a cutoff of T0+3 s (a deleted score neither counted nor ranked); the spans they judge
/// have their own rule.
pub fn retention_deletes_scores(store: &dyn Store) -> CheckResult {
    let written = six()?;
    store.write_scores(&written)?;
    store.delete_score(written[5].id.as_deref().unwrap_or_default())?;
    expect_eq("scores", &5, &store.count(Signal::Scores)?)?;
    for (n, expected) in [(0, Some(T0 + SEC)), (4, Some(T0 + 5 * SEC)), (5, None)] {
        expect_eq(
            format!("the {n}-th oldest score"),
            &expected,
            &store.nth_oldest(Signal::Scores, n)?,
        )?;
    }
    expect_eq(
        "scores deleted",
        &2,
        &store.delete_before(Signal::Scores, T0 + 3 * SEC)?,
    )?;
    expect_eq("scores left", &3, &store.count(Signal::Scores)?)?;
    let left = store
        .scores(&ScoreQuery::new(ScoreFilter::new(), 100))?
        .scores;
    let mut want = written[2..5].to_vec();
    want.reverse();
    expect_eq("the scores left", &want, &left)?;
    expect_eq(
        "scores deleted again",
        &0,
        &store.delete_before(Signal::Scores, T0 + 3 * SEC)?,
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
