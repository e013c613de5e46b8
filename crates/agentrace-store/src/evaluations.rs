//! Scores from the OpenTelemetry GenAI event `gen_ai.evaluation.result`
//! ([`Evaluation`]), whichever way it came: a log record (an [`Event`] of that kind) or an
//! event of a span.
//!
//! Each result judges what it is attached to: a span event its span; a log record the span
//! (or else the trace, or else the session) it carries; a log record that carries none of
//! them, the span that gave the response it names (`gen_ai.response.id`), looked up in the
//! store among the spans started from [`LOOKUP_BEFORE`] before the result to
//! [`LOOKUP_AFTER`] after it. A result naming a response not stored (yet) is given back
//! ([`EvaluationReport::unmatched`]): a caller that can wait (the server) tries it again as
//! spans arrive.
//!
//! Every store and every route (the server's writer, a store used as the library's sink)
//! makes its scores here, so an evaluation is one score whichever way it came: its id is
//! stable ([`Evaluation::score`]), and a result received twice is one score.
//!
//! ```
//! use agentrace_core::{Evaluation, Event, EventKind, Level, Resource, SpanId, TraceId};
//! use agentrace_store::evaluation_results;
//!
//! let mut event = Event::new(1, Level::Info, EventKind::from_name(Evaluation::EVENT), "",
//!     Resource::new("judge").into());
//! event.trace_id = Some(TraceId::random());
//! event.span_id = Some(SpanId::random());
//! event.attributes = Evaluation::new("relevance").value(0.9).attributes();
//! let found = evaluation_results(&[], &[event]);
//! assert_eq!(found.results.len(), 1);
//! ```

use std::time::Duration;

use agentrace_core::{Evaluation, EvaluationError, Event, Score, ScoreTarget, SpanRecord};

use crate::error::WriteError;
use crate::read::TraceReader;
use crate::scores::{MAX_RESPONSES_A_LOOKUP, Scores};
use crate::time_range::TimeRange;

/// How long before an evaluation result the span it judges by response id may have started.
pub const LOOKUP_BEFORE: Duration = Duration::from_secs(3_600);

/// How long after an evaluation result the span it judges by response id may have started
/// (clocks differ).
pub const LOOKUP_AFTER: Duration = Duration::from_secs(600);

/// What an evaluation result judges.
#[derive(Debug, Clone, PartialEq)]
pub enum Judged {
    /// A span, trace or session it is attached to.
    Target(ScoreTarget),
    /// The span that gave this response (`gen_ai.response.id`), to be looked up.
    Response(String),
}

/// One `gen_ai.evaluation.result` found among records.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationResult {
    /// The evaluation and its outcome.
    pub evaluation: Evaluation,
    /// When it was given.
    pub time_unix_nano: u64,
    /// Who gave it: the instrumentation scope that sent it, if any.
    pub author: Option<String>,
    /// What it judges.
    pub judged: Judged,
}

/// The evaluation results among some records ([`evaluation_results`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FoundEvaluations {
    /// The results that judge something.
    pub results: Vec<EvaluationResult>,
    /// Results that are no evaluation: without a name, an attribute of another type than
    /// the convention's, or attached to nothing and naming no response.
    pub invalid: usize,
    /// Why the last invalid one was.
    pub last_invalid: Option<String>,
}

impl FoundEvaluations {
    fn invalid(&mut self, why: impl ToString) {
        self.invalid += 1;
        self.last_invalid = Some(why.to_string());
    }
}

/// What became of evaluation results ([`store_evaluations`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluationReport {
    /// The scores written.
    pub scored: Vec<Score>,
    /// Evaluations that failed (`error.type`): no score.
    pub failed: usize,
    /// Results whose outcome is no score (no value and no label, a value not finite, …).
    pub invalid: usize,
    /// Why the last invalid one was.
    pub last_invalid: Option<String>,
    /// Results naming a response no stored span gave (yet), given back.
    pub unmatched: Vec<EvaluationResult>,
}

/// The `gen_ai.evaluation.result` events among `spans`' events and `events` (see the
/// module's documentation for what each judges).
pub fn evaluation_results(spans: &[SpanRecord], events: &[Event]) -> FoundEvaluations {
    let mut found = FoundEvaluations::default();
    for span in spans {
        for event in span.events.iter().filter(|e| e.name == Evaluation::EVENT) {
            match Evaluation::from_attributes(&event.attributes) {
                Ok(evaluation) => found.results.push(EvaluationResult {
                    evaluation,
                    time_unix_nano: event.time_unix_nano,
                    author: span.scope.as_deref().map(str::to_owned),
                    judged: Judged::Target(ScoreTarget::Span {
                        span_id: span.span_id,
                        trace_id: Some(span.trace_id),
                    }),
                }),
                Err(e) => found.invalid(e),
            }
        }
    }
    for event in events
        .iter()
        .filter(|e| e.kind.as_str() == Evaluation::EVENT)
    {
        let evaluation = match Evaluation::from_attributes(&event.attributes) {
            Ok(evaluation) => evaluation,
            Err(e) => {
                found.invalid(e);
                continue;
            }
        };
        let judged = match (event.trace_id, event.span_id) {
            (trace_id, Some(span_id)) => Judged::Target(ScoreTarget::Span { span_id, trace_id }),
            (Some(trace_id), None) => Judged::Target(ScoreTarget::Trace(trace_id)),
            (None, None) => match (&evaluation.response_id, &event.session_id) {
                (Some(response), _) => Judged::Response(response.clone()),
                (None, Some(session)) => Judged::Target(ScoreTarget::Session(session.to_string())),
                (None, None) => {
                    found.invalid(format!(
                        "the evaluation {:?} is attached to no span, trace or session and names no response (gen_ai.response.id)",
                        evaluation.name
                    ));
                    continue;
                }
            },
        };
        found.results.push(EvaluationResult {
            evaluation,
            time_unix_nano: event.time_unix_nano,
            author: event.scope.as_deref().map(str::to_owned),
            judged,
        });
    }
    found
}

/// Writes the scores of `results` into `store`: those attached to a target at once, those
/// naming a response once its span is found (the ones not found are given back in
/// [`EvaluationReport::unmatched`]). Failed evaluations and outcomes that make no score are
/// counted, not written.
///
/// # Errors
/// What the store's [`Scores::write_scores`] or lookup fails with.
pub fn store_evaluations(
    store: &(impl Scores + TraceReader + ?Sized),
    results: Vec<EvaluationResult>,
) -> Result<EvaluationReport, WriteError> {
    let mut report = EvaluationReport::default();
    let (mut attached, by_response): (Vec<_>, Vec<_>) = results
        .into_iter()
        .partition(|r| matches!(r.judged, Judged::Target(_)));
    for mut batch in lookup_batches(by_response) {
        let ids: Vec<String> = batch
            .iter()
            .filter_map(|r| match &r.judged {
                Judged::Response(id) => Some(id.clone()),
                Judged::Target(_) => None,
            })
            .collect();
        let range = lookup_range(&batch);
        let found = store.responding_spans(&ids, range)?;
        for result in &mut batch {
            let Judged::Response(id) = &result.judged else {
                continue;
            };
            if let Some(span) = found.iter().find(|s| &s.response_id == id) {
                result.judged = Judged::Target(ScoreTarget::Span {
                    span_id: span.span_id,
                    trace_id: Some(span.trace_id),
                });
            }
        }
        let (now, later): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|r| matches!(r.judged, Judged::Target(_)));
        attached.extend(now);
        report.unmatched.extend(later);
    }
    let mut scores: Vec<Score> = Vec::with_capacity(attached.len());
    for result in attached {
        let Judged::Target(target) = result.judged else {
            continue;
        };
        match result
            .evaluation
            .score(target, result.time_unix_nano, result.author.as_deref())
        {
            Ok(score) => scores.push(score),
            Err(EvaluationError::Failed { .. }) => report.failed += 1,
            Err(e) => {
                report.invalid += 1;
                report.last_invalid = Some(e.to_string());
            }
        }
    }
    if !scores.is_empty() {
        store.write_scores(&scores)?;
    }
    report.scored = scores;
    Ok(report)
}

/// The results naming responses in batches a lookup each: by time, at most
/// [`MAX_RESPONSES_A_LOOKUP`] a batch, a batch's results within [`LOOKUP_BEFORE`] of its
/// first (so that one lookup's range stays short).
fn lookup_batches(mut results: Vec<EvaluationResult>) -> Vec<Vec<EvaluationResult>> {
    results.sort_by_key(|r| r.time_unix_nano);
    let span = duration_ns(LOOKUP_BEFORE);
    let mut batches: Vec<Vec<EvaluationResult>> = Vec::new();
    for result in results {
        match batches.last_mut() {
            Some(batch)
                if batch.len() < MAX_RESPONSES_A_LOOKUP
                    && batch.first().is_some_and(|first| {
                        result.time_unix_nano - first.time_unix_nano <= span
                    }) =>
            {
                batch.push(result);
            }
            _ => batches.push(vec![result]),
        }
    }
    batches
}

/// The starts of the spans a batch's results may judge (sorted by time).
fn lookup_range(batch: &[EvaluationResult]) -> TimeRange {
    let first = batch.first().map_or(0, |r| r.time_unix_nano);
    let last = batch.last().map_or(0, |r| r.time_unix_nano);
    TimeRange::new(
        first.saturating_sub(duration_ns(LOOKUP_BEFORE)),
        last.saturating_add(duration_ns(LOOKUP_AFTER)),
    )
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use agentrace_core::{EventKind, Level, Resource, SpanEvent, SpanId, TraceId};

    use super::*;

    fn event(evaluation: &Evaluation) -> Event {
        let mut e = Event::new(
            7,
            Level::Info,
            EventKind::from_name(Evaluation::EVENT),
            "",
            Arc::new(Resource::new("app")),
        );
        e.attributes = evaluation.attributes();
        e.scope = Some("my-evals".into());
        e
    }

    #[test]
    fn each_result_judges_what_it_is_attached_to() {
        let (trace, span) = (TraceId::from_bytes([1; 16]), SpanId::from_bytes([2; 8]));
        let relevance = Evaluation::new("relevance").value(0.5);
        let mut on_span = event(&relevance);
        (on_span.trace_id, on_span.span_id) = (Some(trace), Some(span));
        let mut on_trace = event(&relevance);
        on_trace.trace_id = Some(trace);
        let mut on_session = event(&relevance);
        on_session.session_id = Some("s-1".into());
        let by_response = event(&relevance.clone().response_id("chatcmpl-1"));
        let lost = event(&relevance);
        let mut other = event(&relevance);
        other.kind = EventKind::from_name("tool.call");
        let mut unnamed = event(&relevance);
        unnamed.attributes = Default::default();
        let mut carrier = agentrace_core::testing::fixtures::llm_span(trace, None, 3);
        carrier.span_id = span;
        carrier.events.push(SpanEvent {
            name: Evaluation::EVENT.to_owned(),
            time_unix_nano: 9,
            attributes: relevance.attributes(),
        });
        let found = evaluation_results(
            &[carrier],
            &[
                on_span,
                on_trace,
                on_session,
                by_response,
                lost,
                other,
                unnamed,
            ],
        );
        let judged: Vec<_> = found.results.iter().map(|r| r.judged.clone()).collect();
        let on = ScoreTarget::Span {
            span_id: span,
            trace_id: Some(trace),
        };
        assert_eq!(
            judged,
            vec![
                Judged::Target(on.clone()),
                Judged::Target(on),
                Judged::Target(ScoreTarget::Trace(trace)),
                Judged::Target(ScoreTarget::Session("s-1".into())),
                Judged::Response("chatcmpl-1".into()),
            ]
        );
        assert_eq!(found.results[1].author.as_deref(), Some("my-evals"));
        assert_eq!(found.invalid, 2, "attached to nothing, and without a name");
    }

    #[test]
    fn lookups_are_batched_by_time() {
        let result = |t: u64| EvaluationResult {
            evaluation: Evaluation::new("x"),
            time_unix_nano: t,
            author: None,
            judged: Judged::Response(format!("r{t}")),
        };
        let hour = duration_ns(LOOKUP_BEFORE);
        let batches = lookup_batches(vec![result(3 * hour), result(0), result(hour), result(1)]);
        let times: Vec<Vec<u64>> = batches
            .iter()
            .map(|b| b.iter().map(|r| r.time_unix_nano).collect())
            .collect();
        assert_eq!(times, vec![vec![0, 1, hour], vec![3 * hour]]);
        assert_eq!(
            lookup_range(&batches[0]),
            TimeRange::new(0, hour + duration_ns(LOOKUP_AFTER))
        );
        let many: Vec<_> = (0..MAX_RESPONSES_A_LOOKUP as u64 + 1).map(result).collect();
        assert_eq!(lookup_batches(many).len(), 2);
    }
}
