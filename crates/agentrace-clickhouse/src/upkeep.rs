//! Alert history, metric reads, retention, repairs and health.

use std::collections::{BTreeMap, HashMap};

use agentrace_core::normalize::is_aggregate;
use agentrace_core::{SpanId, SpanRecord, TraceId, now_unix_nano};
use agentrace_store::series::{MINUTE_NS, floor};
use agentrace_store::{
    AlertRecord, CostUpdate, DiskUsage, MAX_METRIC_SERIES, MetricInfo, MetricPoint, MetricQuery,
    MetricSeries, QueryError, Repaired, TimeRange, WriteError,
};
use clickhouse::Row;
use serde::Deserialize;

use crate::error;
use crate::row::SpanRow;
use crate::sql::{self, Param};
use crate::store::ClickHouseStore;
use crate::write::AlertRow;

/// A series: its kind, unit and labels (JSON).
type SeriesKey = (String, Option<String>, String);

/// A metric's series and steps: what `metric` reads.
#[derive(Debug, Row, Deserialize)]
struct PointRow {
    kind: String,
    unit: Option<String>,
    labels: String,
    step_start: i64,
    n: u64,
    total: f64,
    low: f64,
    high: f64,
    latest: f64,
}

#[derive(Debug, Row, Deserialize)]
struct MetricInfoRow {
    name: String,
    kind: String,
    unit: Option<String>,
    series: u64,
}

impl ClickHouseStore {
    pub(crate) async fn alert_records(
        &self,
        alert: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, QueryError> {
        let mut w = self.scoped();
        if let Some(a) = alert {
            w.push("alert = ?", [Param::Text(a.to_owned())]);
        }
        if let Some(b) = before {
            w.push(format!("time < {}", sql::time(b)), []);
        }
        let rows: Vec<AlertRow> = w
            .bind(self.client().query(&format!(
                "SELECT ?fields FROM alert_notifications WHERE {} \
                 ORDER BY time DESC, alert DESC LIMIT {limit}",
                w.sql()
            )))
            .fetch_all()
            .await
            .map_err(error::query)?;
        Ok(rows.into_iter().map(record).collect())
    }

    pub(crate) async fn latest_alert_records(&self) -> Result<Vec<AlertRecord>, QueryError> {
        let rows: Vec<AlertRow> = self
            .client()
            .query(&format!(
                "SELECT ?fields FROM alert_notifications WHERE {} \
                 ORDER BY time DESC LIMIT 1 BY alert",
                self.scope()
            ))
            .fetch_all()
            .await
            .map_err(error::query)?;
        Ok(rows.into_iter().map(record).collect())
    }

    pub(crate) async fn metric_names(
        &self,
        range: TimeRange,
    ) -> Result<Vec<MetricInfo>, QueryError> {
        let mut w = self.scoped();
        w.range("bucket", &minutes(range));
        let rows: Vec<MetricInfoRow> = self
            .client()
            .query(&format!(
                "SELECT name, kind, unit, uniqExact(labels) AS series FROM metric_points \
                 WHERE {} GROUP BY name, kind, unit ORDER BY name, kind, unit",
                w.sql()
            ))
            .fetch_all()
            .await
            .map_err(error::query)?;
        Ok(rows
            .into_iter()
            .map(|r| MetricInfo {
                name: r.name,
                kind: r.kind,
                unit: r.unit,
                series: r.series,
            })
            .collect())
    }

    pub(crate) async fn metric(&self, q: &MetricQuery) -> Result<Vec<MetricSeries>, QueryError> {
        if q.step_ns
            .is_some_and(|s| s == 0 || !s.is_multiple_of(MINUTE_NS))
        {
            return Err(QueryError::Invalid(
                "step must be a whole number of minutes".into(),
            ));
        }
        let mut w = self.scoped();
        w.push("name = ?", [Param::Text(q.name.clone())]);
        w.range("bucket", &minutes(q.range));
        let (n, first, last): (u64, i64, i64) = w
            .bind(self.client().query(&format!(
                "SELECT count(), toUnixTimestamp64Nano(min(bucket)), \
                 toUnixTimestamp64Nano(max(bucket)) FROM metric_points WHERE {}",
                w.sql()
            )))
            .fetch_one()
            .await
            .map_err(error::query)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let step = q.step_for(u64::try_from(first).ok(), u64::try_from(last).ok());
        let rows: Vec<PointRow> = w
            .bind(self.client().query(&format!(
                "SELECT kind, unit, labels, \
                 toInt64(intDiv(toUInt64(toUnixTimestamp64Nano(bucket)), {step}) * {step}) \
                    AS step_start, \
                 sum(count) AS n, sum(sum) AS total, min(min) AS low, max(max) AS high, \
                 argMax(last, last_time) AS latest \
                 FROM metric_points WHERE {} GROUP BY kind, unit, labels, step_start \
                 ORDER BY kind, unit, labels, step_start",
                w.sql()
            )))
            .fetch_all()
            .await
            .map_err(error::query)?;
        let mut series: BTreeMap<SeriesKey, (u64, Vec<MetricPoint>)> = BTreeMap::new();
        for r in rows {
            let entry = series.entry((r.kind, r.unit, r.labels)).or_default();
            entry.0 += r.n;
            entry.1.push(MetricPoint {
                bucket_unix_nano: u64::try_from(r.step_start).unwrap_or(0),
                count: r.n,
                sum: r.total,
                min: r.low,
                max: r.high,
                last: r.latest,
            });
        }
        let mut out: Vec<(u64, MetricSeries)> = series
            .into_iter()
            .map(|((kind, unit, labels), (count, points))| {
                let labels = serde_json::from_str(&labels)
                    .map_err(|e| QueryError::decode("metric labels", e))?;
                Ok((
                    count,
                    MetricSeries {
                        kind,
                        unit,
                        labels,
                        points,
                    },
                ))
            })
            .collect::<Result<_, QueryError>>()?;
        out.sort_by_key(|(count, _)| std::cmp::Reverse(*count));
        out.truncate(MAX_METRIC_SERIES);
        Ok(out.into_iter().map(|(_, s)| s).collect())
    }

    pub(crate) async fn disk_usage(&self) -> Result<DiskUsage, QueryError> {
        let (data, total): (u64, u64) = self
            .client()
            .query(&format!(
                "SELECT toUInt64(sum(data_compressed_bytes)), toUInt64(sum(bytes_on_disk)) \
                 FROM {} WHERE database = '{}' AND active AND table IN ({})",
                self.layout().parts(),
                self.database(),
                crate::retention::tables(None, self.layout())
            ))
            .fetch_one()
            .await
            .map_err(error::query)?;
        Ok(DiskUsage {
            data_bytes: data,
            total_bytes: total,
        })
    }

    pub(crate) async fn schema_version(&self) -> Result<i64, QueryError> {
        let v: u32 = self
            .client()
            .query("SELECT max(version) FROM agentrace_migrations")
            .fetch_one()
            .await
            .map_err(error::query)?;
        Ok(i64::from(v))
    }

    pub(crate) async fn update_costs(&self, updates: &[CostUpdate]) -> Result<usize, WriteError> {
        if self.shut_down() {
            return Err(WriteError::ShutDown);
        }
        if updates.is_empty() {
            return Ok(0);
        }
        let rows = self
            .stored_spans(updates.iter().map(|u| (u.trace_id, u.span_id)))
            .await?;
        let new: HashMap<(TraceId, SpanId), _> = updates
            .iter()
            .map(|u| ((u.trace_id, u.span_id), u.cost))
            .collect();
        let now = now_unix_nano();
        let mut out = Vec::new();
        for row in rows {
            let (aggregate, stamp, cancel) =
                (row.is_aggregate(), row.restamp(now), row.cancelling());
            let mut span = row
                .into_record()
                .map_err(|e| WriteError::Rejected(Box::new(e)))?;
            let Some(cost) = new.get(&(span.trace_id, span.span_id)) else {
                continue;
            };
            if span.cost == *cost {
                continue;
            }
            span.cost = *cost;
            out.push(cancel);
            out.push(SpanRow::new(&span, aggregate, stamp));
        }
        self.insert_rows("spans", out.iter()).await?;
        Ok(out.len() / 2)
    }

    pub(crate) async fn repair_spans(&self, spans: &[SpanRecord]) -> Result<Repaired, WriteError> {
        if self.shut_down() {
            return Err(WriteError::ShutDown);
        }
        let mut repaired = Repaired::default();
        if spans.is_empty() {
            return Ok(repaired);
        }
        let rows = self
            .stored_spans(spans.iter().map(|s| (s.trace_id, s.span_id)))
            .await?;
        let given: HashMap<(TraceId, SpanId), &SpanRecord> =
            spans.iter().map(|s| ((s.trace_id, s.span_id), s)).collect();
        let now = now_unix_nano();
        let mut out = Vec::new();
        for row in rows {
            let (stamp, cancel) = (row.restamp(now), row.cancelling());
            let mut span = row
                .into_record()
                .map_err(|e| WriteError::Rejected(Box::new(e)))?;
            let Some(new) = given.get(&(span.trace_id, span.span_id)) else {
                continue;
            };
            let before = span.clone();
            span.parent_span_id = new.parent_span_id;
            span.kind = new.kind;
            span.attributes = new.attributes.clone();
            span.status = new.status.clone();
            span.usage = new.usage;
            span.cost = new.cost;
            if span == before {
                continue;
            }
            out.push(cancel);
            out.push(SpanRow::new(&span, is_aggregate(&span), stamp));
        }
        repaired.changed = out.len() / 2;
        self.insert_rows("spans", out.iter()).await?;
        // Spans given a parent take, with their subtrees, what their new ancestors bring.
        let traces: Vec<TraceId> = {
            let mut t: Vec<TraceId> = spans.iter().map(|s| s.trace_id).collect();
            t.sort_unstable();
            t.dedup();
            t
        };
        let nodes: Vec<NodeRow> = self.spans_of_traces(traces.iter()).await?;
        let stored: Vec<&NodeRow> = nodes.iter().collect();
        let completed = crate::write::complete::<SpanRecord>(&stored, &mut []).completed;
        if !completed.is_empty() {
            let rewritten = self
                .rewrite_attribution(&completed, now_unix_nano())
                .await?;
            let mut rows = Vec::with_capacity(2 * rewritten.len());
            for (cancel, row, late) in rewritten {
                rows.push(cancel);
                rows.push(row);
                repaired.attributed.push(late);
            }
            self.insert_rows("spans", rows.iter()).await?;
        }
        Ok(repaired)
    }
}

/// What repairs read of a stored span (as a write does).
pub(crate) use crate::write::StoredRow as NodeRow;

fn record(r: AlertRow) -> AlertRecord {
    AlertRecord::new(
        u64::try_from(r.time).unwrap_or(0),
        r.alert,
        r.rule,
        r.state,
        r.previous,
        r.reason,
        r.body,
    )
}

/// `range` with its start at the beginning of its minute (metric rows are whole minutes).
fn minutes(range: TimeRange) -> TimeRange {
    TimeRange {
        start_unix_nano: range.start_unix_nano.map(|s| floor(s, MINUTE_NS)),
        end_unix_nano: range.end_unix_nano,
    }
}
