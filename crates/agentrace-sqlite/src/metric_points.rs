//! Received metrics (OTLP data points, as core [`Measurement`]s) by series and minute.
//!
//! A series is a metric name, instrument kind, unit and label set (`metric_series`); each
//! minute of a series is one row (`metric_points`) with the measurements' count, sum, min, max
//! and the latest value: a counter's increments sum up, a gauge's last value is kept, and a
//! query reads a few rows per series and minute whatever the export interval. A batch sums its
//! measurements per row in memory and adds them with one upsert per row.

use std::collections::{BTreeMap, HashMap};

use agentrace_core::Measurement;
use rusqlite::{Connection, params};

use crate::codec::{bound, json, to_sql};
use crate::error::{Db, DbError};
use crate::fnv::Fnv;
use crate::span_rollups::{MINUTE_NS, floor};
use agentrace_store::{InsertReport, WriteError};

/// Series ids remembered by the writer before the cache is reset.
const MAX_CACHED_SERIES: usize = 100_000;

/// A series: what identifies it, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    name: String,
    kind: String,
    unit: Option<String>,
    /// A JSON object, keys sorted.
    labels: String,
}

impl SeriesKey {
    fn of(m: &Measurement) -> Result<Self, WriteError> {
        let kind = serde_json::to_value(m.kind).map_err(|source| WriteError::Encode {
            what: "instrument kind",
            source,
        })?;
        let labels: BTreeMap<&str, &str> = m
            .labels
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_str()))
            .collect();
        Ok(Self {
            name: m.name.to_string(),
            kind: kind.as_str().unwrap_or("unknown").to_owned(),
            unit: m.unit.as_deref().map(str::to_owned),
            labels: json(&labels, "metric labels")?,
        })
    }

    fn hash(&self) -> i64 {
        let mut h = Fnv::new();
        h.opt(Some(self.name.as_bytes()));
        h.opt(Some(self.kind.as_bytes()));
        h.opt(self.unit.as_deref().map(str::as_bytes));
        h.opt(Some(self.labels.as_bytes()));
        to_sql(h.finish())
    }
}

/// The writer's cache of `metric_series` ids. Rows created by a rolled-back transaction, or
/// deleted by retention, no longer exist: clear it after either.
#[derive(Debug, Default)]
pub(crate) struct SeriesIds(HashMap<SeriesKey, i64>);

impl SeriesIds {
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    fn id(&mut self, conn: &Connection, key: &SeriesKey) -> Result<i64, DbError> {
        if let Some(&id) = self.0.get(key) {
            return Ok(id);
        }
        let hash = key.hash();
        let found: Option<i64> = {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id FROM metric_series WHERE series_hash = ?1 AND name = ?2 \
                     AND kind = ?3 AND unit IS ?4 AND labels = ?5",
                )
                .db()?;
            let mut rows = stmt
                .query(params![hash, key.name, key.kind, key.unit, key.labels])
                .db()?;
            match rows.next().db()? {
                Some(row) => Some(row.get(0).db()?),
                None => None,
            }
        };
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached(
                    "INSERT INTO metric_series (series_hash, name, kind, unit, labels) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .db()?
                .execute(params![hash, key.name, key.kind, key.unit, key.labels])
                .db()?;
                conn.last_insert_rowid()
            }
        };
        if self.0.len() >= MAX_CACHED_SERIES {
            self.0.clear();
        }
        self.0.insert(key.clone(), id);
        Ok(id)
    }
}

/// What the measurements of one series and minute add to its row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Minute {
    pub(crate) count: i64,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) last: f64,
    pub(crate) last_ns: i64,
}

impl Minute {
    fn of(value: f64, at: i64) -> Self {
        Self {
            count: 1,
            sum: value,
            min: value,
            max: value,
            last: value,
            last_ns: at,
        }
    }

    pub(crate) fn add(&mut self, value: f64, at: i64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if at >= self.last_ns {
            self.last = value;
            self.last_ns = at;
        }
    }
}

const UPSERT: &str = "INSERT INTO metric_points (series_id, bucket_ns, count, sum, min, max, \
     last, last_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
     ON CONFLICT (series_id, bucket_ns) DO UPDATE SET count = count + excluded.count, \
     sum = sum + excluded.sum, min = min(min, excluded.min), max = max(max, excluded.max), \
     last = CASE WHEN excluded.last_ns >= last_ns THEN excluded.last ELSE last END, \
     last_ns = max(last_ns, excluded.last_ns)";

/// Adds `measurements` to their rows (in the caller's transaction). A value that is not finite
/// fails the batch (the OTLP receivers reject such points before).
pub(crate) fn insert(
    conn: &Connection,
    ids: &mut SeriesIds,
    measurements: &[Measurement],
) -> Result<InsertReport, WriteError> {
    let mut rows: HashMap<(SeriesKey, i64), Minute> = HashMap::new();
    let mut report = InsertReport::default();
    for m in measurements {
        if !m.value.is_finite() {
            return Err(WriteError::Encode {
                what: "metric value",
                source: serde::ser::Error::custom(format!(
                    "{} of {} is not a finite number",
                    m.value, m.name
                )),
            });
        }
        let at = bound(m.time_unix_nano);
        let minute = to_sql(floor(m.time_unix_nano, MINUTE_NS));
        rows.entry((SeriesKey::of(m)?, minute))
            .and_modify(|row| row.add(m.value, at))
            .or_insert_with(|| Minute::of(m.value, at));
        report.inserted += 1;
    }
    let mut stmt = conn.prepare_cached(UPSERT).db()?;
    for ((key, minute), row) in rows {
        let id = ids.id(conn, &key)?;
        stmt.execute(params![
            id,
            minute,
            row.count,
            row.sum,
            row.min,
            row.max,
            row.last,
            row.last_ns
        ])
        .db()?;
    }
    Ok(report)
}
