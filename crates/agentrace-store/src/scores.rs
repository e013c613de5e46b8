//! Scores of traces, spans and sessions ([`Score`]): what a store keeps of them and how they
//! are asked for.
//!
//! A store keeps each score under its id (the writer's idempotency key, or one made by
//! [`with_score_ids`]): a score written again with the same id replaces the stored one. Scores are
//! read newest first, a page at a time, by what they target, their name, source, value and
//! time.

use agentrace_core::{Score, ScoreKind, ScoreSource, ScoreTarget, ScoreValue, SpanId, TraceId};
use serde::Serialize;

use crate::error::{QueryError, WriteError};
use crate::model::Cursor;
use crate::tally::{check_bucket_width, whole_tally};
use crate::time_range::TimeRange;

/// What a store keeps of scores.
///
/// # Contract (checked by the conformance suite)
/// A score is kept under its id: written again it replaces the one stored, deleted it is gone
/// from every answer (pages, names, tallies, the trace list by score). Pages are newest first
/// and continue from their cursor without gaps or repeats. Required:
/// [`write_scores`](Self::write_scores), [`scores`](Self::scores) and
/// [`delete_score`](Self::delete_score); names and tallies are provided on top of them (a
/// store that counts in place overrides them).
pub trait Scores {
    /// Stores `scores`, all or none, each under its id (give them ids with [`with_score_ids`]
    /// first): one stored under the same id is replaced. A score without an id is
    /// [`WriteError::Rejected`].
    fn write_scores(&self, scores: &[Score]) -> Result<(), WriteError>;

    /// The scores `query` asks for, newest first (by time, then id).
    fn scores(&self, query: &ScoreQuery) -> Result<ScorePage, QueryError>;

    /// Deletes the score `id`; whether one was stored.
    fn delete_score(&self, id: &str) -> Result<bool, WriteError>;

    /// Each score name given in `range`, with the kind of its newest score and how many were
    /// given, by name.
    ///
    /// Provided: a store that can group in place does better than reading every score.
    fn score_names(&self, range: TimeRange) -> Result<Vec<ScoreName>, QueryError> {
        let mut names: std::collections::BTreeMap<String, (u64, ScoreKind, u64)> =
            std::collections::BTreeMap::new();
        let mut filter = ScoreFilter::new();
        filter.range = range;
        each_score(self, filter, |score| {
            let entry =
                names
                    .entry(score.name.clone())
                    .or_insert((score.time_unix_nano, score.kind, 0));
            if score.time_unix_nano > entry.0 {
                (entry.0, entry.1) = (score.time_unix_nano, score.kind);
            }
            entry.2 += 1;
        })?;
        Ok(names
            .into_iter()
            .map(|(name, (_, kind, count))| ScoreName { name, kind, count })
            .collect())
    }

    /// How many scores named `name` were given in `range`, and how many of them `pass`
    /// passes ([`ScorePass::passes`] says which): a quality objective's good and total events.
    /// Provided: the one bucket of [`score_tally_by_bucket`](Self::score_tally_by_bucket).
    fn score_tally(
        &self,
        name: &str,
        range: TimeRange,
        pass: &ScorePass,
    ) -> Result<ScoreTally, QueryError> {
        Ok(whole_tally(self.score_tally_by_bucket(
            name,
            range,
            pass,
            u64::MAX,
        )?))
    }

    /// [`score_tally`](Self::score_tally) in buckets of `width_ns` (aligned on the epoch, each
    /// keyed by its start) of the time the scores were given, in one read. Oldest first; a
    /// bucket without a score is left out. A width of 0 is [`QueryError::Invalid`].
    fn score_tally_by_bucket(
        &self,
        name: &str,
        range: TimeRange,
        pass: &ScorePass,
        width_ns: u64,
    ) -> Result<Vec<(u64, ScoreTally)>, QueryError> {
        let width = check_bucket_width(width_ns)?;
        let mut buckets: std::collections::BTreeMap<u64, ScoreTally> =
            std::collections::BTreeMap::new();
        let mut filter = ScoreFilter::new();
        filter.range = range;
        filter.name = Some(name.to_owned());
        each_score(self, filter, |score| {
            let tally = buckets
                .entry(score.time_unix_nano / width * width)
                .or_default();
            tally.scored += 1;
            if pass.passes(score.value, score.label.as_deref()) {
                tally.passed += 1;
            }
        })?;
        Ok(buckets.into_iter().collect())
    }
}

/// Scores read a page at a time by the provided methods.
const PAGE: usize = 1_000;

/// Calls `each` on every score matching `filter`: what the provided methods count.
fn each_score<S: Scores + ?Sized>(
    store: &S,
    filter: ScoreFilter,
    mut each: impl FnMut(&Score),
) -> Result<(), QueryError> {
    let mut cursor = None;
    loop {
        let page = store.scores(&ScoreQuery::new(filter.clone(), PAGE).after(cursor))?;
        page.scores.iter().for_each(&mut each);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}

/// Which scores of a name pass: a value from `min` to `max` (both included; a bound left out
/// does not bound), or a label among `labels`. With no bound and no label nothing passes.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ScorePass {
    /// The lowest passing value.
    pub min: Option<f64>,
    /// The highest passing value.
    pub max: Option<f64>,
    /// The passing labels.
    pub labels: Vec<String>,
}

impl ScorePass {
    /// Values from `min` to `max` pass, and the `labels`.
    pub fn new(min: Option<f64>, max: Option<f64>, labels: Vec<String>) -> Self {
        Self { min, max, labels }
    }

    /// Whether a score of `value` and `label` passes: what a store's count must select.
    pub fn passes(&self, value: Option<f64>, label: Option<&str>) -> bool {
        let by_value = (self.min.is_some() || self.max.is_some())
            && value.is_some_and(|v| {
                self.min.is_none_or(|min| v >= min) && self.max.is_none_or(|max| v <= max)
            });
        by_value || label.is_some_and(|l| self.labels.iter().any(|p| p == l))
    }
}

/// The scores of a name over a range ([`Scores::score_tally`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScoreTally {
    /// Scores given.
    pub scored: u64,
    /// Of them, those that passed.
    pub passed: u64,
}

impl ScoreTally {
    /// `passed` of `scored`.
    pub const fn new(scored: u64, passed: u64) -> Self {
        Self { scored, passed }
    }
}

/// Response ids one [`TraceReader::responding_spans`](crate::TraceReader::responding_spans) looks up at most.
pub const MAX_RESPONSES_A_LOOKUP: usize = 256;

/// A span that gave a response ([`TraceReader::responding_spans`](crate::TraceReader::responding_spans)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RespondingSpan {
    /// The response's id.
    pub response_id: String,
    /// The span's trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
}

impl RespondingSpan {
    /// Refuses more than [`MAX_RESPONSES_A_LOOKUP`] ids, for a store's
    /// [`TraceReader::responding_spans`](crate::TraceReader::responding_spans).
    ///
    /// # Errors
    /// [`QueryError::Invalid`] for too many.
    pub fn check_lookup(response_ids: &[String]) -> Result<(), QueryError> {
        if response_ids.len() > MAX_RESPONSES_A_LOOKUP {
            return Err(QueryError::Invalid(format!(
                "{} response ids in one lookup, at most {MAX_RESPONSES_A_LOOKUP}",
                response_ids.len()
            )));
        }
        Ok(())
    }

    /// The first span of each response id among `spans` (give them earliest first).
    pub fn first_of_each(spans: impl IntoIterator<Item = Self>) -> Vec<Self> {
        let mut seen = std::collections::HashSet::new();
        spans
            .into_iter()
            .filter(|s| seen.insert(s.response_id.clone()))
            .collect()
    }
}

/// `scores`, each with an id: its own, or a new random one (32 hex digits).
pub fn with_score_ids(mut scores: Vec<Score>) -> Vec<Score> {
    for s in &mut scores {
        s.id.get_or_insert_with(|| TraceId::random().to_string());
    }
    scores
}

/// A score as a store keeps it: plain columns, names as text, metadata as JSON text. Made
/// from a score ([`StoredScore::of`]) to write, and back ([`StoredScore::into_score`]),
/// checked as any score is, when read.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredScore {
    /// The id.
    pub id: String,
    /// When it was given.
    pub time_unix_nano: u64,
    /// The trace scored, or the scored span's if named.
    pub trace_id: Option<[u8; 16]>,
    /// The span scored.
    pub span_id: Option<[u8; 8]>,
    /// The session scored.
    pub session_id: Option<String>,
    /// The name.
    pub name: String,
    /// The kind's name.
    pub kind: String,
    /// The value.
    pub value: Option<f64>,
    /// The label.
    pub label: Option<String>,
    /// The explanation.
    pub explanation: Option<String>,
    /// The source's name.
    pub source: String,
    /// The annotator kind's name.
    pub annotator: String,
    /// The author.
    pub author: Option<String>,
    /// The metadata, a JSON object.
    pub metadata: String,
}

impl StoredScore {
    /// The columns of `score`, which has an id ([`WriteError::Rejected`] otherwise).
    pub fn of(score: &Score) -> Result<Self, WriteError> {
        let id = score
            .id
            .clone()
            .ok_or_else(|| WriteError::Rejected("a score to store needs an id".into()))?;
        let (trace_id, span_id, session_id) = match &score.target {
            ScoreTarget::Trace(t) => (Some(t.to_bytes()), None, None),
            ScoreTarget::Span { span_id, trace_id } => (
                trace_id.map(TraceId::to_bytes),
                Some(span_id.to_bytes()),
                None,
            ),
            ScoreTarget::Session(s) => (None, None, Some(s.clone())),
        };
        Ok(Self {
            id,
            time_unix_nano: score.time_unix_nano,
            trace_id,
            span_id,
            session_id,
            name: score.name.clone(),
            kind: score.kind.as_str().to_owned(),
            value: score.value,
            label: score.label.clone(),
            explanation: score.explanation.clone(),
            source: score.source.as_str().to_owned(),
            annotator: score.annotator.as_str().to_owned(),
            author: score.author.clone(),
            metadata: serde_json::Value::Object(score.metadata.clone()).to_string(),
        })
    }

    /// The score these columns hold, or [`QueryError::Failed`] saying what in them is not
    /// one.
    pub fn into_score(self) -> Result<Score, QueryError> {
        let id = self.id;
        let corrupt =
            |what: String| QueryError::Failed(format!("stored score {id:?}: {what}").into());
        let target = match (self.session_id, self.span_id, self.trace_id) {
            (Some(s), ..) => ScoreTarget::Session(s),
            (None, Some(span), trace) => ScoreTarget::Span {
                span_id: SpanId::from_bytes(span),
                trace_id: trace.map(TraceId::from_bytes),
            },
            (None, None, Some(t)) => ScoreTarget::Trace(TraceId::from_bytes(t)),
            (None, None, None) => return Err(corrupt("no target".into())),
        };
        let value = ScoreValue {
            kind: Some(self.kind.parse().map_err(|e| corrupt(format!("{e}")))?),
            value: self.value,
            label: self.label,
        };
        let mut score = Score::new(target, self.name, value).map_err(|e| corrupt(e.to_string()))?;
        score.time_unix_nano = self.time_unix_nano;
        score.explanation = self.explanation;
        score.source = self.source.parse().map_err(|e| corrupt(format!("{e}")))?;
        score.annotator = self
            .annotator
            .parse()
            .map_err(|e| corrupt(format!("{e}")))?;
        score.author = self.author;
        score.metadata =
            serde_json::from_str(&self.metadata).map_err(|e| corrupt(format!("metadata: {e}")))?;
        score.check().map_err(|e| corrupt(e.to_string()))?;
        score.id = Some(id);
        Ok(score)
    }
}

/// Which scores. Every field that is set must match; the default matches all.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ScoreFilter {
    /// Given within this range.
    pub range: TimeRange,
    /// Of this trace: the trace's own, and its spans' (those that name it, and those that
    /// name no trace and whose span is stored in it).
    pub trace_id: Option<TraceId>,
    /// Of this span.
    pub span_id: Option<SpanId>,
    /// Of this session.
    pub session_id: Option<String>,
    /// Named so.
    pub name: Option<String>,
    /// Come in so.
    pub source: Option<ScoreSource>,
    /// With a value at least this.
    pub min_value: Option<f64>,
    /// With a value at most this.
    pub max_value: Option<f64>,
}

impl ScoreFilter {
    /// Every score.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `score` matches (what a store's query must select), as far as the score alone
    /// tells: a score of a span that names no trace is of the trace the span is stored in,
    /// which a store knows and this does not (it matches no trace here).
    pub fn matches(&self, score: &Score) -> bool {
        let (trace, span, session) = match &score.target {
            ScoreTarget::Trace(t) => (Some(*t), None, None),
            ScoreTarget::Span { span_id, trace_id } => (*trace_id, Some(*span_id), None),
            ScoreTarget::Session(s) => (None, None, Some(s.as_str())),
        };
        let value = |bound: Option<f64>, ok: fn(f64, f64) -> bool| {
            bound.is_none_or(|b| score.value.is_some_and(|v| ok(v, b)))
        };
        self.range.contains(score.time_unix_nano)
            && self.trace_id.is_none_or(|t| trace == Some(t))
            && self.span_id.is_none_or(|s| span == Some(s))
            && self
                .session_id
                .as_deref()
                .is_none_or(|s| session == Some(s))
            && self.name.as_deref().is_none_or(|n| score.name == n)
            && self.source.is_none_or(|s| score.source == s)
            && value(self.min_value, |v, b| v >= b)
            && value(self.max_value, |v, b| v <= b)
    }
}

/// A page of scores.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ScoreQuery {
    /// Which scores.
    pub filter: ScoreFilter,
    /// At most this many.
    pub limit: usize,
    /// After the page that returned this.
    pub cursor: Option<Cursor>,
}

impl ScoreQuery {
    /// The first `limit` scores `filter` matches.
    pub fn new(filter: ScoreFilter, limit: usize) -> Self {
        Self {
            filter,
            limit,
            cursor: None,
        }
    }

    /// The page after the one that returned `cursor`.
    #[must_use]
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

/// Scores, newest first, and where to continue.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ScorePage {
    /// The scores, each with its id.
    pub scores: Vec<Score>,
    /// Where the next page begins; `None` after the last.
    pub next_cursor: Option<Cursor>,
}

impl ScorePage {
    /// The page of `limit` from `scores` (newest first, one more than `limit` read if more
    /// follow): the first `limit`, and the cursor after the last of them if more follow.
    pub fn of(mut scores: Vec<Score>, limit: usize) -> Self {
        let more = scores.len() > limit;
        scores.truncate(limit);
        let next_cursor = scores
            .last()
            .filter(|_| more)
            .map(|s| ScoreCursor::after(s).encode());
        Self {
            scores,
            next_cursor,
        }
    }
}

/// Where a page of scores ends: the last score's time and id (the order's key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreCursor {
    /// The last score's time.
    pub time_unix_nano: u64,
    /// Its id.
    pub id: String,
}

impl ScoreCursor {
    /// The cursor after `score` (which has an id).
    fn after(score: &Score) -> Self {
        Self {
            time_unix_nano: score.time_unix_nano,
            id: score.id.clone().unwrap_or_default(),
        }
    }

    fn encode(&self) -> Cursor {
        Cursor::from(format!("c{}:{}", self.time_unix_nano, self.id))
    }

    /// The position `cursor` names, or [`QueryError::InvalidCursor`] if no page of scores
    /// returned it.
    pub fn decode(cursor: &Cursor) -> Result<Self, QueryError> {
        let invalid = || QueryError::InvalidCursor(cursor.to_string());
        let (time, id) = cursor
            .as_str()
            .strip_prefix('c')
            .and_then(|rest| rest.split_once(':'))
            .ok_or_else(invalid)?;
        Ok(Self {
            time_unix_nano: time.parse().map_err(|_| invalid())?,
            id: id.to_owned(),
        })
    }
}

/// A score's name, its kind and how many were given in a range
/// ([`Scores::score_names`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoreName {
    /// The name.
    pub name: String,
    /// The kind of its newest score.
    pub kind: ScoreKind,
    /// How many.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use agentrace_core::ScoreValue;

    use super::*;

    fn score(id: Option<&str>, time: u64) -> Result<Score, agentrace_core::InvalidScore> {
        let value = ScoreValue {
            kind: None,
            value: Some(1.0),
            label: None,
        };
        let mut s = Score::new(ScoreTarget::Session("s".into()), "q", value)?;
        s.id = id.map(str::to_owned);
        s.time_unix_nano = time;
        Ok(s)
    }

    #[test]
    fn a_page_ends_with_a_cursor_that_names_its_last_score()
    -> Result<(), Box<dyn std::error::Error>> {
        let scores = vec![
            score(Some("b"), 9)?,
            score(Some("a:1"), 7)?,
            score(Some("z"), 5)?,
        ];
        let page = ScorePage::of(scores.clone(), 2);
        assert_eq!(page.scores.len(), 2);
        let cursor = page.next_cursor.ok_or("a cursor")?;
        let at = ScoreCursor::decode(&cursor)?;
        assert_eq!((at.time_unix_nano, at.id.as_str()), (7, "a:1"));
        assert_eq!(ScorePage::of(scores, 3).next_cursor, None, "the last page");
        for bad in ["", "c", "c12", "cx:1", "t1:2"] {
            assert!(matches!(
                ScoreCursor::decode(&Cursor::from(bad.to_owned())),
                Err(QueryError::InvalidCursor(_))
            ));
        }
        Ok(())
    }

    #[test]
    fn scores_without_an_id_are_given_one_and_refused_without()
    -> Result<(), Box<dyn std::error::Error>> {
        let scores = vec![score(None, 1)?, score(Some("k"), 2)?];
        assert!(StoredScore::of(&scores[0]).is_err());
        let given = with_score_ids(scores.clone());
        let ids = given
            .iter()
            .map(|s| StoredScore::of(s).map(|stored| stored.id))
            .collect::<Result<Vec<_>, _>>()?;
        assert_eq!(ids[1], "k");
        assert_eq!(ids[0].len(), 32);
        assert_ne!(with_score_ids(scores)[0].id, given[0].id, "random");
        Ok(())
    }
}
