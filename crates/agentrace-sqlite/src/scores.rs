//! Scores of traces, spans and sessions (table `scores`, docs/sql-schema.md): one row per
//! score id, replaced when a score with its id is written again.

use agentrace_core::semconv::gen_ai::RESPONSE_ID;
use agentrace_core::{Score, ScoreTarget, SpanId, SpanRecord, TraceId};
use agentrace_store::Scores;
use agentrace_store::{
    MAX_TARGETS_A_LOOKUP, QueryError, RespondingSpan, ScoreCursor, ScoreName, ScorePage, ScorePass,
    ScoreQuery, ScoreTally, StoredScore, TimeRange, WriteError, check_bucket_width,
};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use crate::codec::{ReadCache, SPAN_COLUMNS, bound, from_sql, to_sql};
use crate::deferred_index::{TRACE_NO_OF_ID, trace_no_of_id};
use crate::error::Db;
use crate::past::Touched;
use crate::store::SqliteStore;

/// The columns of a score, in [`read_row`]'s order.
const COLUMNS: &str = "id, time_ns, trace_id, span_id, session_id, name, kind, value, label, \
     explanation, source, annotator, author, metadata";

impl Scores for SqliteStore {
    /// Stores `scores` in one transaction, each replacing the one stored under its id (its
    /// time, and the time of the one it replaces, recorded as changes of the past when old).
    fn write_scores(&self, scores: &[Score]) -> Result<(), WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        let rows = scores
            .iter()
            .map(StoredScore::of)
            .collect::<Result<Vec<_>, _>>()?;
        let writer = self.writer();
        let tx = writer.conn().unchecked_transaction().db()?;
        let mut touched = Touched::default();
        {
            let mut replaced = tx
                .prepare_cached("SELECT time_ns FROM scores WHERE id = ?1")
                .db()?;
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT OR REPLACE INTO scores ({COLUMNS}) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ))
                .db()?;
            for r in rows {
                let time = to_sql(r.time_unix_nano);
                touched.note(time, time);
                if let Some(before) = replaced
                    .query_row([&r.id], |row| row.get::<_, i64>(0))
                    .optional()
                    .db()?
                {
                    touched.note(before, before);
                }
                insert
                    .execute(params![
                        r.id,
                        to_sql(r.time_unix_nano),
                        r.trace_id.map(Vec::from),
                        r.span_id.map(Vec::from),
                        r.session_id,
                        r.name,
                        r.kind,
                        r.value,
                        r.label,
                        r.explanation,
                        r.source,
                        r.annotator,
                        r.author,
                        r.metadata,
                    ])
                    .db()?;
            }
        }
        touched.record(&tx, agentrace_core::now_unix_nano())?;
        tx.commit().db()?;
        Ok(())
    }

    /// The scores `query` asks for, newest first.
    fn scores(&self, query: &ScoreQuery) -> Result<ScorePage, QueryError> {
        let f = &query.filter;
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        let mut when = |condition: &str, value: Option<Value>| {
            if let Some(v) = value {
                conditions.push(condition.to_owned());
                values.push(v);
            }
        };
        when(
            "time_ns >= ?",
            f.range.start_unix_nano.map(|t| Value::Integer(bound(t))),
        );
        when(
            "time_ns < ?",
            f.range.end_unix_nano.map(|t| Value::Integer(bound(t))),
        );
        when(
            "span_id = ?",
            f.span_id.map(|s| Value::Blob(s.to_bytes().to_vec())),
        );
        when("session_id = ?", f.session_id.clone().map(Value::Text));
        when("name = ?", f.name.clone().map(Value::Text));
        when(
            "source = ?",
            f.source.map(|s| Value::Text(s.as_str().to_owned())),
        );
        when("value >= ?", f.min_value.map(Value::Real));
        when("value <= ?", f.max_value.map(Value::Real));
        if let Some(t) = f.trace_id {
            // Its own, and those of its spans, whether they name it or not.
            conditions.push(format!(
                "(trace_id = ? OR (trace_id IS NULL AND span_id IN \
                 (SELECT span_id FROM spans WHERE trace_no = {})))",
                trace_no_of_id("?")
            ));
            let id = Value::Blob(t.to_bytes().to_vec());
            values.extend(std::iter::repeat_n(id, 4));
        }
        let cursor = query.cursor.as_ref().map(ScoreCursor::decode).transpose()?;
        if let Some(c) = cursor {
            conditions.push("(time_ns < ? OR (time_ns = ? AND id < ?))".to_owned());
            values.extend([
                Value::Integer(to_sql(c.time_unix_nano)),
                Value::Integer(to_sql(c.time_unix_nano)),
                Value::Text(c.id),
            ]);
        }
        let condition = if conditions.is_empty() {
            "1".to_owned()
        } else {
            conditions.join(" AND ")
        };
        values.push(Value::Integer(
            i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX),
        ));
        let scores = self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM scores WHERE {condition} \
                     ORDER BY time_ns DESC, id DESC LIMIT ?"
                ))
                .db()?;
            let rows = stmt.query_map(params_from_iter(values), read_row).db()?;
            let rows = rows.collect::<Result<Vec<_>, _>>().db()?;
            rows.into_iter()
                .map(StoredScore::into_score)
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(ScorePage::of(scores, query.limit))
    }

    /// Deletes the score `id`; whether one was stored.
    fn delete_score(&self, id: &str) -> Result<bool, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        let writer = self.writer();
        let tx = writer.conn().unchecked_transaction().db()?;
        let time: Option<i64> = tx
            .prepare_cached("DELETE FROM scores WHERE id = ?1 RETURNING time_ns")
            .db()?
            .query_row([id], |row| row.get(0))
            .optional()
            .db()?;
        if let Some(time) = time {
            let mut touched = Touched::default();
            touched.note(time, time);
            touched.record(&tx, agentrace_core::now_unix_nano())?;
        }
        tx.commit().db()?;
        Ok(time.is_some())
    }

    /// Each score name given in `range`, the kind of its newest score and how many.
    fn score_names(&self, range: TimeRange) -> Result<Vec<ScoreName>, QueryError> {
        self.read(|conn| {
            // SQLite takes a bare column of an aggregate query from the row of its max().
            let mut stmt = conn
                .prepare_cached(
                    "SELECT name, kind, max(time_ns), count(*) FROM scores \
                     WHERE time_ns >= ?1 AND time_ns < ?2 GROUP BY name ORDER BY name",
                )
                .db()?;
            let rows = stmt
                .query_map(
                    [
                        bound(range.start_unix_nano.unwrap_or(0)),
                        bound(range.end_unix_nano.unwrap_or(u64::MAX)),
                    ],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(3)?,
                        ))
                    },
                )
                .db()?;
            let mut names = Vec::new();
            for row in rows {
                let (name, kind, count) = row.db()?;
                names.push(ScoreName {
                    kind: kind.parse().map_err(|e| {
                        QueryError::Failed(format!("the scores of {name:?}: {e}").into())
                    })?,
                    name,
                    count: u64::try_from(count).unwrap_or(0),
                });
            }
            Ok(names)
        })
    }

    /// How many scores named `name` were given in `range` in each bucket of `width_ns` of the
    /// time given, and how many of them `pass` passes: one count over the `scores_name` index.
    fn score_tally_by_bucket(
        &self,
        name: &str,
        range: TimeRange,
        pass: &ScorePass,
        width_ns: u64,
    ) -> Result<Vec<(u64, ScoreTally)>, QueryError> {
        self.score_tallies(name, range, pass, Some(check_bucket_width(width_ns)?))
    }
}
/// The spans that gave the responses `response_ids`, started in `range`: a scan of the
/// range's spans (by the start time index) whose attributes name a response.
pub(crate) fn responding_spans(
    store: &SqliteStore,
    response_ids: &[String],
    range: TimeRange,
) -> Result<Vec<RespondingSpan>, QueryError> {
    RespondingSpan::check_lookup(response_ids)?;
    if response_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; response_ids.len()].join(", ");
    let sql = format!(
        "SELECT response_id, trace_id, span_id FROM (\
            SELECT json_extract(attributes, '$.\"{RESPONSE_ID}\"') AS response_id, \
                   trace_id, span_id, start_ns \
            FROM spans \
            WHERE start_ns >= ? AND start_ns < ? \
              AND instr(attributes, '\"{RESPONSE_ID}\"') > 0) \
         WHERE response_id IN ({marks}) ORDER BY start_ns"
    );
    let mut values = vec![
        Value::Integer(bound(range.start_unix_nano.unwrap_or(0))),
        Value::Integer(bound(range.end_unix_nano.unwrap_or(u64::MAX))),
    ];
    values.extend(response_ids.iter().map(|id| Value::Text(id.clone())));
    let spans = store.read(|conn| {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let rows = stmt
            .query_map(params_from_iter(values), |row| {
                Ok(RespondingSpan {
                    response_id: row.get(0)?,
                    trace_id: TraceId::from_bytes(fixed(row, 1)?.unwrap_or_default()),
                    span_id: SpanId::from_bytes(fixed(row, 2)?.unwrap_or_default()),
                })
            })
            .db()?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>().db()?)
    })?;
    Ok(RespondingSpan::first_of_each(spans))
}

impl SqliteStore {
    /// The tallies by bucket of `width_ns` (all in one, keyed 0, without).
    fn score_tallies(
        &self,
        name: &str,
        range: TimeRange,
        pass: &ScorePass,
        width_ns: Option<u64>,
    ) -> Result<Vec<(u64, ScoreTally)>, QueryError> {
        let labels = serde_json::Value::from(pass.labels.clone()).to_string();
        let by_value = pass.min.is_some() || pass.max.is_some();
        let width = width_ns.map(|w| i64::try_from(w).unwrap_or(i64::MAX));
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT CASE WHEN ?8 IS NULL THEN 0 ELSE time_ns / ?8 * ?8 END AS bucket, \
                     count(*), coalesce(sum( \
                         (?4 AND value IS NOT NULL AND (?5 IS NULL OR value >= ?5) \
                             AND (?6 IS NULL OR value <= ?6)) \
                         OR (label IS NOT NULL AND label IN (SELECT value FROM json_each(?7))) \
                     ), 0) FROM scores WHERE name = ?1 AND time_ns >= ?2 AND time_ns < ?3 \
                     GROUP BY bucket ORDER BY bucket",
                )
                .db()?;
            let rows = stmt
                .query_map(
                    params![
                        name,
                        bound(range.start_unix_nano.unwrap_or(0)),
                        bound(range.end_unix_nano.unwrap_or(u64::MAX)),
                        by_value,
                        pass.min,
                        pass.max,
                        labels,
                        width,
                    ],
                    |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, i64>(2)?,
                        ))
                    },
                )
                .db()?;
            let count = |n: i64| u64::try_from(n).unwrap_or(0);
            rows.map(|row| {
                let (bucket, scored, passed) = row.db()?;
                Ok((count(bucket), ScoreTally::new(count(scored), count(passed))))
            })
            .collect()
        })
    }
}

/// The spans scores of `targets` judge (`agentrace_store::TraceReader::judged_spans`): each by
/// its key, in one read.
pub(crate) fn judged_spans(
    store: &SqliteStore,
    targets: &[ScoreTarget],
) -> Result<Vec<SpanRecord>, QueryError> {
    if targets.len() > MAX_TARGETS_A_LOOKUP {
        return Err(QueryError::Invalid(format!(
            "{} targets in one lookup, at most {MAX_TARGETS_A_LOOKUP}",
            targets.len()
        )));
    }
    store.read(|conn| {
        let mut span = conn
            .prepare_cached(&format!(
                "SELECT {SPAN_COLUMNS} FROM spans AS s \
                 WHERE s.trace_no = {} AND s.span_id = ?2",
                *TRACE_NO_OF_ID
            ))
            .db()?;
        let mut root = conn
            .prepare_cached(&format!(
                "SELECT {SPAN_COLUMNS} FROM spans AS s \
                 WHERE s.trace_no = {} AND s.parent_span_id IS NULL \
                 ORDER BY s.start_ns, s.span_id LIMIT 1",
                *TRACE_NO_OF_ID
            ))
            .db()?;
        let mut cache = ReadCache::default();
        let mut found = Vec::new();
        for target in targets {
            let mut rows = match target {
                ScoreTarget::Span {
                    span_id,
                    trace_id: Some(trace_id),
                } => span.query((trace_id.to_bytes(), span_id.to_bytes())).db()?,
                ScoreTarget::Trace(trace_id) => root.query([trace_id.to_bytes()]).db()?,
                _ => continue,
            };
            if let Some(row) = rows.next().db()? {
                found.push(crate::codec::span(row, conn, &mut cache)?);
            }
        }
        Ok(found)
    })
}

/// A row of `scores` (its columns in [`COLUMNS`]' order).
fn read_row(row: &Row<'_>) -> rusqlite::Result<StoredScore> {
    Ok(StoredScore {
        id: row.get(0)?,
        time_unix_nano: from_sql(row.get(1)?),
        trace_id: fixed(row, 2)?,
        span_id: fixed(row, 3)?,
        session_id: row.get(4)?,
        name: row.get(5)?,
        kind: row.get(6)?,
        value: row.get(7)?,
        label: row.get(8)?,
        explanation: row.get(9)?,
        source: row.get(10)?,
        annotator: row.get(11)?,
        author: row.get(12)?,
        metadata: row.get(13)?,
    })
}

/// An id column (`i`) as its bytes, `N` of them.
fn fixed<const N: usize>(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<[u8; N]>> {
    let bytes: Option<Vec<u8>> = row.get(i)?;
    bytes
        .map(|b| {
            b.try_into().map_err(|_| {
                rusqlite::Error::InvalidColumnType(i, "id".into(), rusqlite::types::Type::Blob)
            })
        })
        .transpose()
}
