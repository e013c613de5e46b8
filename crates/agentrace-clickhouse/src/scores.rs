//! Scores of traces, spans and sessions (table `scores`, a `ReplacingMergeTree` on the score's
//! id): a score written again is a newer version of its row, a deleted one a newer version
//! marked `deleted`; reads take the newest version (`FINAL`) and skip the deleted.

use agentrace_core::semconv::gen_ai::RESPONSE_ID;
use std::collections::{BTreeMap, HashSet};

use agentrace_core::{Score, ScoreTarget, SpanId, SpanRecord, TraceId, now_unix_nano};
use agentrace_store::{
    MAX_TARGETS_A_LOOKUP, QueryError, RespondingSpan, ScoreCursor, ScoreName, ScorePage, ScorePass,
    ScoreQuery, ScoreTally, StoredScore, TimeRange, WriteError, check_bucket_width,
};
use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::error;
use crate::sql::{self, Param};
use crate::store::ClickHouseStore;
use crate::write::ns;

/// A score name, as [`ClickHouseStore::score_names`] reads it.
#[derive(Debug, Row, Deserialize)]
struct NameRow {
    name: String,
    kind: String,
    count: u64,
}

/// The scores of a name and those that passed, as [`ClickHouseStore::score_tally`] reads them.
#[derive(Debug, Row, Deserialize)]
struct TallyRow {
    bucket: u64,
    scored: u64,
    passed: u64,
}

/// A span that gave a response, as read (the id JSON-quoted, as attribute values are stored).
#[derive(Debug, Row, Deserialize)]
struct ResponseRow {
    response_id: String,
    trace_id: [u8; 16],
    span_id: [u8; 8],
}

/// A row of `scores`.
#[derive(Debug, Row, Serialize, Deserialize)]
struct ScoreRow {
    project: u32,
    id: String,
    time: i64,
    trace_id: Option<[u8; 16]>,
    span_id: Option<[u8; 8]>,
    session_id: Option<String>,
    name: String,
    kind: String,
    value: Option<f64>,
    label: Option<String>,
    explanation: Option<String>,
    source: String,
    annotator: String,
    author: Option<String>,
    metadata: String,
    version: u64,
    deleted: u8,
}

impl ScoreRow {
    /// The row of `project`'s `s` at `version`.
    fn of(project: u32, s: StoredScore, version: u64) -> Self {
        Self {
            project,
            id: s.id,
            time: ns(s.time_unix_nano),
            trace_id: s.trace_id,
            span_id: s.span_id,
            session_id: s.session_id,
            name: s.name,
            kind: s.kind,
            value: s.value,
            label: s.label,
            explanation: s.explanation,
            source: s.source,
            annotator: s.annotator,
            author: s.author,
            metadata: s.metadata,
            version,
            deleted: 0,
        }
    }

    fn stored(self) -> StoredScore {
        StoredScore {
            id: self.id,
            time_unix_nano: u64::try_from(self.time).unwrap_or(0),
            trace_id: self.trace_id,
            span_id: self.span_id,
            session_id: self.session_id,
            name: self.name,
            kind: self.kind,
            value: self.value,
            label: self.label,
            explanation: self.explanation,
            source: self.source,
            annotator: self.annotator,
            author: self.author,
            metadata: self.metadata,
        }
    }
}

impl ClickHouseStore {
    /// Stores `scores` in one insert, each a newer version of the row of its id.
    pub(crate) async fn write_scores(&self, scores: &[Score]) -> Result<(), WriteError> {
        if self.shut_down() {
            return Err(WriteError::ShutDown);
        }
        let version = now_unix_nano();
        let rows = scores
            .iter()
            .map(|s| StoredScore::of(s).map(|s| ScoreRow::of(self.project().0, s, version)))
            .collect::<Result<Vec<_>, _>>()?;
        // A score written again with another time changes its old time's counts too, which the
        // view of changes of the past does not see (it sees the new row): recorded here, the
        // ids looked up a thousand at a time (a statement's size is bounded), by the primary
        // key without `FINAL` (an older version or a deleted one reported too is a re-read,
        // never a miss).
        let mut replaced: Option<(u64, u64)> = None;
        for ids in rows.chunks(1_000) {
            let ids: Vec<&str> = ids.iter().map(|r| r.id.as_str()).collect();
            let (from, to): (Option<u64>, Option<u64>) = self
                .client()
                .query(&format!(
                    "SELECT toUInt64(toUnixTimestamp64Nano(minOrNull(time))), \
                     toUInt64(toUnixTimestamp64Nano(maxOrNull(time))) FROM scores \
                     WHERE {} AND id IN ? AND time < now64(9) - INTERVAL {} SECOND",
                    self.scope(),
                    agentrace_store::PAST.as_secs()
                ))
                .bind(ids)
                .fetch_one()
                .await
                .map_err(error::write)?;
            if let (Some(from), Some(to)) = (from, to) {
                replaced = Some(replaced.map_or((from, to), |(f, t)| (f.min(from), t.max(to))));
            }
        }
        if let Some((from, to)) = replaced {
            self.record_past_change(from, to)
                .await
                .map_err(error::write)?;
        }
        self.insert_rows("scores", rows.iter()).await
    }

    /// The scores `query` asks for, newest first.
    pub(crate) async fn read_scores(&self, query: &ScoreQuery) -> Result<ScorePage, QueryError> {
        let f = &query.filter;
        let mut w = self.scoped();
        w.push("deleted = 0", []);
        w.range("time", &f.range);
        if let Some(t) = f.trace_id {
            // Its own, and those of its spans, whether they name it or not.
            let t = sql::trace_id(t);
            w.push(
                format!(
                    "(trace_id = {t} OR (trace_id IS NULL AND span_id IN \
                     (SELECT span_id FROM spans WHERE {} AND trace_id = {t})))",
                    self.scope()
                ),
                [],
            );
        }
        if let Some(s) = f.span_id {
            w.push(format!("span_id = {}", sql::span_id(s)), []);
        }
        for (column, value) in [
            ("session_id", f.session_id.clone()),
            ("name", f.name.clone()),
            ("source", f.source.map(|s| s.as_str().to_owned())),
        ] {
            if let Some(v) = value {
                w.push(format!("{column} = ?"), [Param::Text(v)]);
            }
        }
        for (condition, bound) in [
            ("value >= toFloat64(?)", f.min_value),
            ("value <= toFloat64(?)", f.max_value),
        ] {
            if let Some(b) = bound {
                w.push(condition, [Param::Text(b.to_string())]);
            }
        }
        if let Some(c) = query.cursor.as_ref().map(ScoreCursor::decode).transpose()? {
            let at = sql::time(c.time_unix_nano);
            w.push(
                format!("(time < {at} OR (time = {at} AND id < ?))"),
                [Param::Text(c.id)],
            );
        }
        let rows: Vec<ScoreRow> = w
            .bind(self.client().query(&format!(
                "SELECT ?fields FROM scores FINAL WHERE {} ORDER BY time DESC, id DESC LIMIT {}",
                w.sql(),
                query.limit.saturating_add(1)
            )))
            .fetch_all()
            .await
            .map_err(error::query)?;
        let scores = rows
            .into_iter()
            .map(|r| r.stored().into_score())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ScorePage::of(scores, query.limit))
    }

    /// The spans that gave the responses `response_ids`, started in `range` (attribute values
    /// are JSON in the map: the ids are looked up JSON-quoted).
    pub(crate) async fn responding_spans(
        &self,
        response_ids: &[String],
        range: TimeRange,
    ) -> Result<Vec<RespondingSpan>, QueryError> {
        RespondingSpan::check_lookup(response_ids)?;
        if response_ids.is_empty() {
            return Ok(Vec::new());
        }
        let quoted = response_ids
            .iter()
            .map(|id| serde_json::Value::from(id.as_str()).to_string())
            .collect::<Vec<_>>();
        let mut w = self.scoped();
        w.range("start", &range);
        w.push(format!("has(?, attributes['{RESPONSE_ID}'])"), []);
        let rows: Vec<ResponseRow> = w
            .bind(self.client().query(&format!(
                "SELECT attributes['{RESPONSE_ID}'] AS response_id, trace_id, span_id FROM spans \
                 WHERE {} ORDER BY start",
                w.sql()
            )))
            .bind(quoted)
            .fetch_all()
            .await
            .map_err(error::query)?;
        let spans = rows.into_iter().filter_map(|row| {
            Some(RespondingSpan {
                response_id: serde_json::from_str(&row.response_id).ok()?,
                trace_id: TraceId::from_bytes(row.trace_id),
                span_id: SpanId::from_bytes(row.span_id),
            })
        });
        Ok(RespondingSpan::first_of_each(spans))
    }

    /// The spans scores of `targets` judge (`agentrace_store::TraceReader::judged_spans`): the
    /// spans named, read by trace and span id, and the roots of the traces named.
    pub(crate) async fn judged_spans(
        &self,
        targets: &[ScoreTarget],
    ) -> Result<Vec<SpanRecord>, QueryError> {
        if targets.len() > MAX_TARGETS_A_LOOKUP {
            return Err(QueryError::Invalid(format!(
                "{} targets in one lookup, at most {MAX_TARGETS_A_LOOKUP}",
                targets.len()
            )));
        }
        let mut pairs = HashSet::new();
        let mut traces = HashSet::new();
        for target in targets {
            match target {
                ScoreTarget::Span {
                    span_id,
                    trace_id: Some(trace_id),
                } => {
                    pairs.insert((*trace_id, *span_id));
                }
                ScoreTarget::Trace(trace_id) => {
                    traces.insert(*trace_id);
                }
                _ => {}
            }
        }
        let mut found = Vec::new();
        if !pairs.is_empty() {
            let condition = format!(
                "trace_id IN ({}) AND span_id IN ({})",
                sql::trace_ids(pairs.iter().map(|(t, _)| t)),
                pairs
                    .iter()
                    .map(|(_, s)| sql::span_id(*s))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let spans = self.span_rows(&condition, "").await?;
            found.extend(
                spans
                    .into_iter()
                    .filter(|s| pairs.contains(&(s.trace_id, s.span_id))),
            );
        }
        if !traces.is_empty() {
            let condition = format!(
                "trace_id IN ({}) AND parent_span_id IS NULL",
                sql::trace_ids(traces.iter())
            );
            let mut roots: BTreeMap<TraceId, SpanRecord> = BTreeMap::new();
            for span in self.span_rows(&condition, "").await? {
                match roots.get(&span.trace_id) {
                    Some(kept)
                        if (kept.start_time_unix_nano, kept.span_id)
                            <= (span.start_time_unix_nano, span.span_id) => {}
                    _ => {
                        roots.insert(span.trace_id, span);
                    }
                }
            }
            found.extend(roots.into_values());
        }
        Ok(found)
    }

    /// Each score name given in `range`, the kind of its newest score and how many.
    pub(crate) async fn score_names(&self, range: TimeRange) -> Result<Vec<ScoreName>, QueryError> {
        let mut w = self.scoped();
        w.push("deleted = 0", []);
        w.range("time", &range);
        let rows: Vec<NameRow> = w
            .bind(self.client().query(&format!(
                "SELECT name, argMax(kind, time) AS kind, count() AS count FROM scores FINAL \
                 WHERE {} GROUP BY name ORDER BY name",
                w.sql()
            )))
            .fetch_all()
            .await
            .map_err(error::query)?;
        rows.into_iter()
            .map(|r| {
                Ok(ScoreName {
                    kind: r.kind.parse().map_err(|e| {
                        QueryError::Failed(format!("the scores of {:?}: {e}", r.name).into())
                    })?,
                    name: r.name,
                    count: r.count,
                })
            })
            .collect()
    }

    /// How many scores named `name` were given in `range` in each bucket of `width_ns` of the
    /// time given, and how many of them `pass` passes.
    pub(crate) async fn score_tally_by_bucket(
        &self,
        name: &str,
        range: TimeRange,
        pass: &ScorePass,
        width_ns: u64,
    ) -> Result<Vec<(u64, ScoreTally)>, QueryError> {
        self.score_tallies(name, range, pass, Some(check_bucket_width(width_ns)?))
            .await
    }

    /// The tallies by bucket of `width_ns` (all in one, keyed 0, without).
    async fn score_tallies(
        &self,
        name: &str,
        range: TimeRange,
        pass: &ScorePass,
        width_ns: Option<u64>,
    ) -> Result<Vec<(u64, ScoreTally)>, QueryError> {
        // The bounds are numbers the caller checked (written as Rust writes them: `0.7`,
        // `1e100`, which ClickHouse reads as Float64); a bound that is not finite passes nothing.
        let bound = |b: Option<f64>, op: &str| match b {
            Some(b) if b.is_finite() => format!(" AND value {op} {b:?}"),
            Some(_) => " AND 0".to_owned(),
            None => String::new(),
        };
        let by_value = if pass.min.is_some() || pass.max.is_some() {
            format!(
                "(value IS NOT NULL{}{})",
                bound(pass.min, ">="),
                bound(pass.max, "<=")
            )
        } else {
            "0".to_owned()
        };
        let bucket = width_ns.map_or_else(
            || "toUInt64(0)".to_owned(),
            |width| format!("intDiv(toUInt64(toUnixTimestamp64Nano(time)), {width}) * {width}"),
        );
        let mut w = self.scoped();
        w.push("deleted = 0", []);
        w.push("name = ?", [Param::Text(name.to_owned())]);
        w.range("time", &range);
        let query = self
            .client()
            .query(&format!(
                "SELECT {bucket} AS bucket, count() AS scored, \
                 countIf({by_value} OR (label IS NOT NULL AND has(?, assumeNotNull(label)))) \
                 AS passed FROM scores FINAL WHERE {} GROUP BY bucket ORDER BY bucket",
                w.sql()
            ))
            .bind(&pass.labels);
        let rows: Vec<TallyRow> = w.bind(query).fetch_all().await.map_err(error::query)?;
        Ok(rows
            .into_iter()
            .map(|row| (row.bucket, ScoreTally::new(row.scored, row.passed)))
            .collect())
    }

    /// Deletes the score `id` (a newer version of its row, marked deleted); whether one was
    /// stored.
    pub(crate) async fn delete_score(&self, id: &str) -> Result<bool, WriteError> {
        if self.shut_down() {
            return Err(WriteError::ShutDown);
        }
        let rows: Vec<ScoreRow> = self
            .client()
            .query(&format!(
                "SELECT ?fields FROM scores FINAL WHERE {} AND id = ? AND deleted = 0",
                self.scope()
            ))
            .bind(id)
            .fetch_all()
            .await
            .map_err(error::write)?;
        let Some(mut row) = rows.into_iter().next() else {
            return Ok(false);
        };
        row.version = now_unix_nano().max(row.version.saturating_add(1));
        row.deleted = 1;
        self.insert_rows("scores", std::iter::once(&row)).await?;
        Ok(true)
    }
}
