//! The store as the rule engine's [`Source`]: each rule's measure from the rollups (or, for a
//! user scope or `per = "user"`, from the spans), safety violations from the events and
//! guardrail spans, received metrics from their minute points, and the server's own health
//! (its queue, memory, store size and CPU) from its counters and `/proc`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use agentrace_alerts::slo::{Counts, Slo};
use agentrace_alerts::{Aggregate, Dimension, Measure, Query, Reading, Rule, Source};
use agentrace_core::{EventKind, SpanKind};
use agentrace_store::{
    AggregateQuery, AggregateRow, EventFilter, EventQuery, GroupBy, MetricQuery, MetricSeries,
    QueryError, ScoreDimension, ScoreStatsQuery, SpanFilter, StatusFilter, TimeRange, score_stats,
};

use crate::jobs::slos::SettledHours;
use crate::store::SharedStore;
use crate::telemetry::stats::ServerStats;

/// Reads rules' measures from the store and the server.
#[derive(Debug)]
pub(crate) struct StoreSource {
    store: SharedStore,
    stats: Arc<ServerStats>,
    /// The SLOs whose burn rates `burn_rate` rules read.
    slos: Vec<Slo>,
    /// The process's CPU seconds at the previous evaluation, and when.
    cpu: Mutex<Option<(Instant, f64)>>,
    /// Each SLO's counts over each window its burn-rate rules last read, and over its whole
    /// window (by name and window in seconds): `/metrics` shows them, for the Prometheus form
    /// of the objectives its counters cannot express (quality, cost).
    slo_counts: Mutex<BTreeMap<(String, u64), Counts>>,
    /// The settled hours of the quality and cost objectives, which the API reads too.
    settled: SettledHours,
}

/// Events read per page when counting safety violations.
const PAGE: usize = 10_000;

/// Why a rule cannot be evaluated on this server.
pub(crate) fn check(rule: &Rule) -> Result<(), String> {
    if let Some(kind) = rule.effective_kind() {
        kind.parse::<SpanKind>()
            .map_err(|e| format!("alert rule {:?}: scope.kind: {e}", rule.name))?;
    }
    if rule.measure == Measure::SafetyViolations && rule.per.is_some() {
        return Err(format!(
            "alert rule {:?}: safety_violations takes no `per`",
            rule.name
        ));
    }
    Ok(())
}

impl Source for StoreSource {
    type Error = QueryError;

    fn read(&self, q: &Query<'_>) -> Result<Vec<Reading>, QueryError> {
        let range = TimeRange::new(q.start_unix_nano, q.end_unix_nano);
        if q.rule.measure.is_server() {
            return Ok(vec![Reading {
                group: None,
                requests: 1,
                value: self.server(q.rule.measure),
            }]);
        }
        if q.rule.measure == Measure::Metric {
            return self.metric(q.rule, range);
        }
        if q.rule.measure == Measure::BurnRate {
            return self.burn_rate(q);
        }
        if q.rule.measure.is_score() {
            return self.score(q.rule, range);
        }
        if q.rule.measure == Measure::SafetyViolations {
            return self.safety_violations(q.rule, range).map(|n| {
                vec![Reading {
                    group: None,
                    requests: n,
                    value: Some(n as f64),
                }]
            });
        }
        let filter = span_filter(q.rule, range);
        let group_by: Vec<GroupBy> = q.rule.per.map(group_by).into_iter().collect();
        let answer = self
            .store
            .aggregate(&AggregateQuery::new(filter, group_by))?;
        Ok(if q.rule.per.is_some() {
            answer
                .rows
                .iter()
                // One alert per MCP server: the calls of no server (the agent's own tools) are
                // no server's.
                .filter(|row| {
                    q.rule.per != Some(Dimension::McpServer)
                        || row.keys.first().is_some_and(|k| k.as_str().is_some())
                })
                .map(|row| {
                    reading(
                        q.rule.measure,
                        row,
                        row.keys.first().and_then(|k| k.as_str()),
                    )
                })
                .collect()
        } else {
            vec![reading(q.rule.measure, &answer.total, None)]
        })
    }
}

impl StoreSource {
    pub(crate) fn new(store: SharedStore, stats: Arc<ServerStats>, slos: Vec<Slo>) -> Self {
        Self {
            store,
            stats,
            slos,
            cpu: Mutex::new(None),
            slo_counts: Mutex::new(BTreeMap::new()),
            settled: SettledHours::default(),
        }
    }

    /// The settled hours of the quality and cost objectives.
    pub(crate) const fn settled_hours(&self) -> &SettledHours {
        &self.settled
    }

    /// Each SLO's counts over each window its burn-rate rules last read: (name, window in
    /// seconds, counts), by name and window.
    pub(crate) fn slo_counts(&self) -> Vec<(String, u64, Counts)> {
        self.slo_counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|((name, window), counts)| (name.clone(), *window, *counts))
            .collect()
    }

    /// Forgets them (a node that does not evaluate shows none: they would go stale).
    pub(crate) fn forget_slo_counts(&self) {
        self.slo_counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// A `burn_rate` rule's reading: its SLO's burn rate over the rule's window and its short
    /// window (the lower), from the SLO's counts over each (`SettledHours::counts`); the
    /// window's events are its requests.
    fn burn_rate(&self, q: &Query<'_>) -> Result<Vec<Reading>, QueryError> {
        let Some(slo) = self
            .slos
            .iter()
            .find(|s| Some(&s.name) == q.rule.slo.as_ref())
        else {
            // The alerts file names only configured SLOs (checked when it is read).
            return Ok(Vec::new());
        };
        let store = &*self.store;
        let window = |nanos: u64| std::time::Duration::from_nanos(nanos);
        let long = self.settled.counts(
            store,
            slo,
            window(q.end_unix_nano.saturating_sub(q.start_unix_nano)),
            q.end_unix_nano,
        )?;
        let short = match q.rule.short_window {
            Some(short) => self.settled.counts(store, slo, short, q.end_unix_nano)?,
            None => long,
        };
        // Once an evaluation (with the longest of its alerts), the whole window too, so that
        // the Prometheus form can show the attainment of an objective its counters cannot
        // express; a calendar period is no rolling window Prometheus could read.
        let longest = slo.burn_alerts.iter().map(|a| a.long).max();
        let whole = match longest {
            Some(longest) if slo.calendar.is_none() && q.rule.window == longest => Some(
                self.settled
                    .counts(store, slo, slo.window, q.end_unix_nano)?,
            ),
            _ => None,
        };
        {
            let mut kept = self
                .slo_counts
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let seconds = |nanos: u64| nanos / 1_000_000_000;
            let long_window = seconds(q.end_unix_nano.saturating_sub(q.start_unix_nano));
            kept.insert((slo.name.clone(), long_window), long);
            if let Some(w) = q.rule.short_window {
                kept.insert((slo.name.clone(), w.as_secs()), short);
            }
            if let Some(whole) = whole {
                kept.insert((slo.name.clone(), slo.window.as_secs()), whole);
            }
        }
        Ok(vec![Reading {
            group: None,
            requests: long.total,
            value: slo.alert_burn_rate(long, short),
        }])
    }

    /// A score rule's readings: the score's mean (or a boolean's pass rate) over the window,
    /// per the judged span's model, agent or service (`agentrace_store::score_stats`), the
    /// scores counted as its requests.
    fn score(&self, rule: &Rule, range: TimeRange) -> Result<Vec<Reading>, QueryError> {
        let window = range
            .end_unix_nano
            .zip(range.start_unix_nano)
            .map_or(1, |(end, start)| end.saturating_sub(start).max(1));
        let mut query = ScoreStatsQuery::new(rule.score.clone().unwrap_or_default(), range, window);
        query.group_by = match rule.per {
            Some(Dimension::Model) => ScoreDimension::Model,
            Some(Dimension::Agent) => ScoreDimension::Agent,
            Some(Dimension::Service) => ScoreDimension::Service,
            _ => ScoreDimension::None,
        };
        let stats = score_stats(&*self.store, &query)?;
        let readings: Vec<Reading> = stats
            .groups
            .into_iter()
            .filter(|g| rule.per.is_none() || g.key.is_some())
            .map(|g| Reading {
                group: g.key,
                requests: g.count,
                value: match rule.measure {
                    Measure::ScorePassRate => g.pass_rate,
                    _ => g.mean,
                },
            })
            .collect();
        Ok(if readings.is_empty() && rule.per.is_none() {
            // No score in the window: a mean of nothing, as a rate of nothing is.
            vec![Reading {
                group: None,
                requests: 0,
                value: None,
            }]
        } else {
            readings
        })
    }

    /// A measure of the server itself, now; `None` where `/proc` is not there to read.
    #[allow(clippy::cast_precision_loss)] // sizes and counts far below 2^52
    fn server(&self, measure: Measure) -> Option<f64> {
        match measure {
            Measure::ServerQueue => {
                let s = self.stats.snapshot().writer;
                (s.queue_capacity_records > 0)
                    .then(|| s.queued_records as f64 / s.queue_capacity_records as f64)
            }
            Measure::ServerStore => Some(self.store.health().ok()?.disk.total_bytes as f64),
            Measure::ServerMemory => process::resident_bytes().map(|b| b as f64),
            Measure::ServerCpu => {
                let now = (Instant::now(), process::cpu_seconds()?);
                let mut last = self.cpu.lock().unwrap_or_else(PoisonError::into_inner);
                let rate = last.and_then(|(t, cpu)| {
                    let elapsed = now.0.duration_since(t).as_secs_f64();
                    (elapsed > 0.0).then(|| (now.1 - cpu).max(0.0) / elapsed)
                });
                *last = Some(now);
                rate
            }
            _ => None,
        }
    }

    /// A received metric over the range, combined as the rule says, per value of its
    /// `per_label` if it has one.
    fn metric(&self, rule: &Rule, range: TimeRange) -> Result<Vec<Reading>, QueryError> {
        let name = rule.metric.clone().unwrap_or_default();
        let series = self.store.metric(&MetricQuery::new(name).range(range))?;
        let mut groups: BTreeMap<Option<String>, Vec<&MetricSeries>> = BTreeMap::new();
        for s in &series {
            let group = rule.per_label.as_ref().map(|l| {
                s.labels
                    .get(l)
                    .cloned()
                    .unwrap_or_else(|| "(none)".to_owned())
            });
            groups.entry(group).or_default().push(s);
        }
        if groups.is_empty() && rule.per_label.is_none() {
            groups.insert(None, Vec::new());
        }
        Ok(groups
            .into_iter()
            .map(|(group, series)| combine(group, &series, rule.aggregate.unwrap_or_default()))
            .collect())
    }

    /// `safety.violation` events plus failed guardrail spans in the rule's scope.
    fn safety_violations(&self, rule: &Rule, range: TimeRange) -> Result<u64, QueryError> {
        let mut events = EventFilter::new()
            .range(range)
            .kind(EventKind::SafetyViolation.as_str());
        if let Some(service) = &rule.scope.service {
            events = events.service(service.clone());
        }
        let mut query = EventQuery::new(events).limit(PAGE);
        let mut count = 0_u64;
        loop {
            let page = self.store.events(&query)?;
            count += page.events.len() as u64;
            match page.next_cursor {
                Some(cursor) => query = query.cursor(Some(cursor)),
                None => break,
            }
        }
        let guardrails = span_filter(rule, range)
            .kind(SpanKind::Guardrail)
            .status(StatusFilter::Error);
        let failed = self.store.aggregate(&AggregateQuery::new(guardrails, []))?;
        Ok(count + failed.total.count)
    }
}

/// Series' points over a window, combined.
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn combine(group: Option<String>, series: &[&MetricSeries], aggregate: Aggregate) -> Reading {
    let points = || series.iter().flat_map(|s| s.points.iter());
    let count: u64 = points().map(|p| p.count).sum();
    let value = (count > 0).then(|| match aggregate {
        Aggregate::Avg => points().map(|p| p.sum).sum::<f64>() / count as f64,
        Aggregate::Sum => points().map(|p| p.sum).sum(),
        Aggregate::Max => points().map(|p| p.max).fold(f64::NEG_INFINITY, f64::max),
        Aggregate::Min => points().map(|p| p.min).fold(f64::INFINITY, f64::min),
        Aggregate::Last => series
            .iter()
            .filter_map(|s| s.points.last().map(|p| p.last))
            .sum(),
    });
    Reading {
        group,
        requests: count,
        value,
    }
}

/// The process's own figures, from `/proc` (Linux).
mod process {
    /// Resident memory (`VmRSS`), in bytes.
    pub(super) fn resident_bytes() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// CPU time used by every thread so far (user + system), in seconds: fields 14 and 15 of
    /// `/proc/self/stat`, in clock ticks of 1/100 s (Linux's `USER_HZ`).
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn cpu_seconds() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The name (field 2) may hold spaces: count from the parenthesis that ends it.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some((utime + stime) as f64 / 100.0)
    }
}

fn span_filter(rule: &Rule, range: TimeRange) -> SpanFilter {
    let mut f = crate::jobs::slos::scope_filter(&rule.scope, range);
    f.kind = rule.effective_kind().and_then(|k| k.parse().ok());
    f
}

fn group_by(d: Dimension) -> GroupBy {
    match d {
        Dimension::Service => GroupBy::Service,
        Dimension::Model => GroupBy::Model,
        Dimension::Provider => GroupBy::Provider,
        Dimension::Agent => GroupBy::Agent,
        Dimension::Tool => GroupBy::Tool,
        Dimension::User => GroupBy::User,
        Dimension::Framework => GroupBy::Framework,
        Dimension::McpServer => GroupBy::McpServer,
        // A dimension added to the alerts crate but not here yet groups nothing.
        _ => GroupBy::Kind,
    }
}

#[allow(clippy::cast_precision_loss)] // counts and nanoseconds far below 2^52
fn reading(measure: Measure, row: &AggregateRow, group: Option<&str>) -> Reading {
    let n = row.count;
    let rate = |x: u64| (n > 0).then(|| x as f64 / n as f64);
    let seconds = |ns: u64| (n > 0).then(|| ns as f64 / 1e9);
    let value = match measure {
        Measure::ErrorRate => rate(row.errors),
        Measure::ToolSuccessRate => rate(n.saturating_sub(row.errors)),
        Measure::LatencyP50 => seconds(row.duration.p50_ns),
        Measure::LatencyP95 => seconds(row.duration.p95_ns),
        Measure::LatencyP99 => seconds(row.duration.p99_ns),
        Measure::Cost => Some(row.cost.map_or(0.0, |c| c.dollars())),
        Measure::Tokens => Some(row.usage.total_tokens() as f64),
        Measure::Requests | Measure::SafetyViolations => Some(n as f64),
        // Measures read elsewhere (metrics, the server) have no value from spans.
        _ => None,
    };
    Reading {
        group: group.map(str::to_owned),
        requests: n,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_points_combine_as_the_rule_says() {
        let series = |host: &str, points: &[(u64, f64, f64, f64, f64)]| -> MetricSeries {
            serde_json::from_value(serde_json::json!({
                "kind": "gauge", "unit": null, "labels": {"host.name": host},
                "points": points.iter().map(|(count, sum, min, max, last)| serde_json::json!({
                    "bucket_unix_nano": 0, "count": count, "sum": sum, "min": min, "max": max, "last": last
                })).collect::<Vec<_>>(),
            }))
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let a = series("a", &[(2, 1.0, 0.4, 0.6, 0.6), (2, 1.6, 0.7, 0.9, 0.9)]);
        let b = series("b", &[(1, 0.2, 0.2, 0.2, 0.2)]);
        let both = [&a, &b];
        let value = |agg| {
            combine(None, &both, agg)
                .value
                .map(|v| (v * 1e9).round() / 1e9)
        };
        assert_eq!(value(Aggregate::Avg), Some(0.56));
        assert_eq!(value(Aggregate::Max), Some(0.9));
        assert_eq!(value(Aggregate::Min), Some(0.2));
        assert_eq!(value(Aggregate::Sum), Some(2.8));
        assert_eq!(value(Aggregate::Last), Some(1.1));
        assert_eq!(
            combine(None, &[], Aggregate::Avg).value,
            None,
            "no points: no data"
        );
        assert!(process::resident_bytes().is_some_and(|b| b > 0));
        assert!(process::cpu_seconds().is_some());
    }

    #[test]
    fn a_tool_rule_reads_one_group_per_mcp_server_or_the_servers_scope()
    -> Result<(), Box<dyn std::error::Error>> {
        use agentrace_core::semconv::agentrace::MCP_SERVER;
        use agentrace_core::{Resource, SpanId, SpanKind, SpanRecord, SpanStatus, TraceId};
        let dir = tempfile::tempdir()?;
        let store: SharedStore = Arc::new(agentrace_sqlite::SqliteStore::open(
            dir.path().join("a.db"),
        )?);
        let resource = Arc::new(Resource::new("agent"));
        let t0 = 1_700_000_000_000_000_000u64;
        let calls: Vec<SpanRecord> = [
            (Some("docs"), true),
            (Some("docs"), false),
            (Some("web"), false),
            (None, true),
        ]
        .into_iter()
        .map(|(server, failed)| {
            let mut s = SpanRecord::new(
                TraceId::random(),
                SpanId::random(),
                "tools/call search",
                t0,
                t0 + 1_000,
                resource.clone(),
            );
            s.kind = SpanKind::Tool;
            s.tool_name = Some("search".into());
            if let Some(server) = server {
                s.attributes.insert(MCP_SERVER, server);
            }
            if failed {
                s.status = SpanStatus::error("down");
            }
            s
        })
        .collect();
        store.write_spans(&calls)?;
        let source = StoreSource::new(store, Arc::new(ServerStats::new(None)), Vec::new());
        let window = std::time::Duration::from_secs(60);
        let read = |rule: &Rule| {
            source.read(&Query {
                rule,
                start_unix_nano: t0 - 60_000_000_000,
                end_unix_nano: t0 + 60_000_000_000,
            })
        };
        let per_server =
            Rule::new("mcp", Measure::ToolSuccessRate, window).per(Dimension::McpServer);
        let got: Vec<_> = read(&per_server)?
            .into_iter()
            .map(|r| (r.group, r.requests, r.value))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("docs".to_owned()), 2, Some(0.5)),
                (Some("web".to_owned()), 1, Some(1.0))
            ],
            "the agent's own tool is no server's"
        );
        let mut on_web = Rule::new("web", Measure::ToolSuccessRate, window);
        on_web.scope.mcp_server = Some("web".into());
        let got: Vec<_> = read(&on_web)?.into_iter().map(|r| r.requests).collect();
        assert_eq!(got, vec![1]);
        Ok(())
    }

    #[test]
    fn unknown_kinds_and_per_on_safety_are_refused() {
        let mut rule = Rule::new("r", Measure::Requests, std::time::Duration::from_secs(60));
        assert_eq!(check(&rule), Ok(()));
        rule.scope.kind = Some("lm".into());
        assert!(check(&rule).is_err_and(|e| e.contains("scope.kind")));
        let safety = Rule::new(
            "s",
            Measure::SafetyViolations,
            std::time::Duration::from_secs(60),
        )
        .per(Dimension::Agent);
        assert!(check(&safety).is_err());
    }
}
