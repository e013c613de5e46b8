//! The received metrics read back ([`SqliteStore::metric_names`], [`SqliteStore::metric`]):
//! each series' minute rows (`metric_points`, written by `crate::metric_points`) merged into the
//! query's steps.

use rusqlite::params;

use crate::codec::{bound, count, from_sql, to_sql};
use crate::error::Db;
use crate::metric_points::Minute;
use crate::store::SqliteStore;
use agentrace_store::series::{MINUTE_NS, floor};
use agentrace_store::{MetricInfo, MetricPoint, MetricQuery, MetricSeries, QueryError, TimeRange};

/// The metrics received in `range` (by minute): name, kind, unit and how many series.
pub(super) fn metric_names(
    store: &SqliteStore,
    range: TimeRange,
) -> Result<Vec<MetricInfo>, QueryError> {
    let (start, end) = bounds(&range);
    store.read(|conn| {
        let mut stmt = conn
            .prepare_cached(
                "SELECT s.name, s.kind, s.unit, count(*) FROM metric_series AS s \
                 WHERE EXISTS (SELECT 1 FROM metric_points AS p WHERE p.series_id = s.id \
                 AND p.bucket_ns >= ?1 AND p.bucket_ns < ?2) \
                 GROUP BY s.name, s.kind, s.unit ORDER BY s.name, s.kind, s.unit",
            )
            .db()?;
        let mut rows = stmt.query([start, end]).db()?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().db()? {
            out.push(MetricInfo {
                name: crate::codec::text(row, 0)?,
                kind: crate::codec::text(row, 1)?,
                unit: crate::codec::opt_text(row, 2)?,
                series: count(row, 3)?,
            });
        }
        Ok(out)
    })
}

/// The series of one metric over a range, one point per step (whole minutes, widened so
/// that a series has at most 1,440 points); at most 200 series, the busiest first.
pub(super) fn metric(
    store: &SqliteStore,
    q: &MetricQuery,
) -> Result<Vec<MetricSeries>, QueryError> {
    if q.step_ns
        .is_some_and(|s| s == 0 || !s.is_multiple_of(MINUTE_NS))
    {
        return Err(QueryError::Invalid(
            "step must be a whole number of minutes".into(),
        ));
    }
    let (start, end) = bounds(&q.range);
    store.read(|conn| {
        let mut stmt = conn
            .prepare_cached(
                "SELECT s.id, s.kind, s.unit, s.labels, p.bucket_ns, p.count, p.sum, p.min, \
                 p.max, p.last, p.last_ns \
                 FROM metric_series AS s JOIN metric_points AS p ON p.series_id = s.id \
                 WHERE s.name = ?1 AND p.bucket_ns >= ?2 AND p.bucket_ns < ?3 \
                 ORDER BY s.id, p.bucket_ns",
            )
            .db()?;
        let mut rows = stmt.query(params![q.name, start, end]).db()?;
        let mut raw: Vec<(MetricSeries, Vec<(u64, Minute)>)> = Vec::new();
        let mut current = None;
        while let Some(row) = rows.next().db()? {
            let id: i64 = row.get(0).db()?;
            if current != Some(id) {
                current = Some(id);
                let labels: String = row.get(3).db()?;
                let labels = serde_json::from_str(&labels)
                    .map_err(|e| QueryError::decode("metric labels", e))?;
                raw.push((
                    MetricSeries {
                        kind: crate::codec::text(row, 1)?,
                        unit: crate::codec::opt_text(row, 2)?,
                        labels,
                        points: Vec::new(),
                    },
                    Vec::new(),
                ));
            }
            let minute = Minute {
                count: row.get(5).db()?,
                sum: row.get(6).db()?,
                min: row.get(7).db()?,
                max: row.get(8).db()?,
                last: row.get(9).db()?,
                last_ns: row.get(10).db()?,
            };
            if let Some((_, minutes)) = raw.last_mut() {
                minutes.push((from_sql(row.get(4).db()?), minute));
            }
        }
        let first = raw.iter().filter_map(|(_, m)| m.first().map(|p| p.0)).min();
        let last = raw.iter().filter_map(|(_, m)| m.last().map(|p| p.0)).max();
        let step = q.step_for(first, last);
        raw.sort_by_key(|(_, minutes)| {
            std::cmp::Reverse(minutes.iter().map(|m| m.1.count).sum::<i64>())
        });
        raw.truncate(agentrace_store::MAX_METRIC_SERIES);
        Ok(raw
            .into_iter()
            .map(|(mut series, minutes)| {
                series.points = points(&minutes, step);
                series
            })
            .collect())
    })
}

/// The range's bounds as SQL integers (open ends: everything).
fn bounds(range: &TimeRange) -> (i64, i64) {
    (
        range
            .start_unix_nano
            .map_or(i64::MIN, |s| to_sql(floor(s, MINUTE_NS))),
        range.end_unix_nano.map_or(i64::MAX, bound),
    )
}

/// Minute rows merged into steps.
fn points(minutes: &[(u64, Minute)], step: u64) -> Vec<MetricPoint> {
    let mut out: Vec<(u64, Minute)> = Vec::new();
    for &(minute, m) in minutes {
        let bucket = floor(minute, step);
        match out.last_mut() {
            Some((b, acc)) if *b == bucket => {
                acc.count += m.count;
                acc.sum += m.sum;
                acc.min = acc.min.min(m.min);
                acc.max = acc.max.max(m.max);
                if m.last_ns >= acc.last_ns {
                    acc.last = m.last;
                    acc.last_ns = m.last_ns;
                }
            }
            _ => out.push((bucket, m)),
        }
    }
    out.into_iter()
        .map(|(bucket, m)| MetricPoint {
            bucket_unix_nano: bucket,
            count: u64::try_from(m.count).unwrap_or(0),
            sum: m.sum,
            min: m.min,
            max: m.max,
            last: m.last,
        })
        .collect()
}
