//! Each section of a [`Report`] read from the store: rollups wherever they answer (totals,
//! SLOs, cost, failures), the tools' statistics, one span per example, and the alert history.

use std::collections::HashMap;

use agentrace_alerts::Notification;
use agentrace_alerts::slo::Slo;
use agentrace_core::SpanKind;
use agentrace_store::{
    AggregateQuery, AggregateRow, AlertRecord, GroupBy, GroupKey, Order, QueryError, SpanFilter,
    SpanQuery, StatusFilter, Store, TimeRange,
};

use super::{
    Activity, AlertLine, AlertsSection, CostChange, CostSection, DayCost, Example, Failure,
    HEALTH_MOVE, HealthChange, MAX_NOTIFICATIONS, Report, Section, SloLine, SlowTool, TOP,
    ToolsSection, Totals,
};
use crate::jobs::tool_health::tools_with_health;

const DAY_NS: u64 = 86_400 * 1_000_000_000;

/// Points of an SLO's burn-down over the period.
const BURN_DOWN_POINTS: u32 = 28;

/// The `sections` of the report of `from..to`, the SLOs judged on `slos`, stamped `now`.
pub fn gather(
    store: &dyn Store,
    slos: &[Slo],
    (from, to): (u64, u64),
    sections: &[Section],
    now: u64,
) -> Result<Report, QueryError> {
    let mut report = Report {
        from_unix_nano: from,
        to_unix_nano: to,
        generated_unix_nano: now,
        ..Report::default()
    };
    let period = TimeRange::new(from, to);
    let (before_from, before_to) = report.previous();
    let before = TimeRange::new(before_from, before_to);
    for section in sections {
        match section {
            Section::Totals => {
                report.totals = Some(Totals {
                    this: activity(store, period)?,
                    previous: activity(store, before)?,
                });
            }
            Section::Slos => {
                report.slos = Some(
                    slos.iter()
                        .map(|slo| slo_line(store, slo, (from, to)))
                        .collect::<Result<_, _>>()?,
                );
            }
            Section::Cost => report.cost = Some(cost(store, period, before)?),
            Section::Failures => report.failures = Some(failures(store, period)?),
            Section::Tools => report.tools = Some(tools(store, period, before)?),
            Section::Alerts => report.alerts = Some(alerts(store, period)?),
        }
    }
    Ok(report)
}

/// The rollups of `filter` grouped by `by`.
fn rollup(
    store: &dyn Store,
    filter: SpanFilter,
    by: Vec<GroupBy>,
) -> Result<agentrace_store::RollupAnswer, QueryError> {
    store.aggregate(&AggregateQuery::new(filter, by))
}

fn activity(store: &dyn Store, range: TimeRange) -> Result<Activity, QueryError> {
    let answer = rollup(store, SpanFilter::new().range(range), vec![GroupBy::Kind])?;
    let of = |kind: SpanKind| {
        answer
            .rows
            .iter()
            .find(|r| r.keys.first() == Some(&GroupKey::Value(kind.to_string())))
            .map_or(0, |r| r.count)
    };
    Ok(Activity {
        spans: answer.total.count,
        agent_runs: of(SpanKind::Agent),
        llm_calls: of(SpanKind::Llm),
        tool_calls: of(SpanKind::Tool),
        errors: answer.total.errors,
        cost: answer.total.cost,
        unpriced: answer.total.unpriced,
    })
}

fn slo_line(store: &dyn Store, slo: &Slo, (from, to): (u64, u64)) -> Result<SloLine, QueryError> {
    let counts =
        crate::jobs::slos::counts(store, slo, std::time::Duration::from_nanos(to - from), to)?;
    let at_end = crate::jobs::slos::counts(store, slo, slo.elapsed(to), to)?;
    let share_of_window = (to - from) as f64 / slo.span().as_nanos() as f64;
    let point = slo.budget_at(to, counts);
    Ok(SloLine {
        name: slo.name.clone(),
        description: slo.description.clone(),
        objective: slo.objective,
        window: slo.span(),
        counts,
        attainment: point.attainment,
        budget_spent: slo.burn_rate(counts).map(|rate| rate * share_of_window),
        budget_remaining: slo.budget_at(to, at_end).budget_remaining,
        burn_down: crate::jobs::slos::burn_down(store, slo, (from, to), BURN_DOWN_POINTS)?,
    })
}

fn key(row: &AggregateRow) -> Option<String> {
    match row.keys.first() {
        Some(GroupKey::Value(v)) => Some(v.clone()),
        _ => None,
    }
}

fn cost(
    store: &dyn Store,
    period: TimeRange,
    before: TimeRange,
) -> Result<CostSection, QueryError> {
    let billable = |range| SpanFilter::new().range(range).billable(true);
    let by = |dimension: GroupBy| -> Result<Vec<CostChange>, QueryError> {
        let mut now = rollup(store, billable(period), vec![dimension])?.rows;
        let then = rollup(store, billable(before), vec![dimension])?.rows;
        AggregateRow::sort_by_cost(&mut now);
        Ok(now
            .iter()
            .take(TOP)
            .map(|row| CostChange {
                key: key(row),
                calls: row.count,
                cost: row.cost,
                previous_cost: then
                    .iter()
                    .find(|r| r.keys == row.keys)
                    .and_then(|r| r.cost),
                unpriced: row.unpriced,
            })
            .collect())
    };
    let daily = rollup(
        store,
        billable(period),
        vec![GroupBy::TimeBucket { width_ns: DAY_NS }],
    )?
    .rows
    .iter()
    .filter_map(|row| match row.keys.first() {
        Some(GroupKey::Bucket(start)) => Some(DayCost {
            start_unix_nano: *start,
            calls: row.count,
            cost: row.cost,
        }),
        _ => None,
    })
    .collect();
    Ok(CostSection {
        by_agent: by(GroupBy::Agent)?,
        by_model: by(GroupBy::Model)?,
        by_user: by(GroupBy::User)?,
        daily,
    })
}

/// The newest span of `filter`, as an example.
fn example(store: &dyn Store, filter: SpanFilter) -> Result<Option<Example>, QueryError> {
    let page = store.spans(&SpanQuery::new(filter).order(Order::Desc).limit(1))?;
    Ok(page.spans.into_iter().next().map(|s| Example {
        trace_id: s.trace_id,
        span_id: s.span_id,
        name: s.name.to_string(),
        start_unix_nano: s.start_time_unix_nano,
        duration_ns: s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano),
        error: s.status.message,
    }))
}

fn failures(store: &dyn Store, period: TimeRange) -> Result<Vec<Failure>, QueryError> {
    let mut found = Vec::new();
    for (kind, by) in [
        (SpanKind::Agent, GroupBy::Agent),
        (SpanKind::Llm, GroupBy::Model),
        (SpanKind::Tool, GroupBy::Tool),
    ] {
        let rows = rollup(store, SpanFilter::new().range(period).kind(kind), vec![by])?.rows;
        found.extend(
            rows.iter()
                .filter(|r| r.errors > 0)
                .map(|r| (kind, key(r), r.errors, r.count)),
        );
    }
    found.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    found
        .into_iter()
        .take(TOP)
        .map(|(kind, name, failures, total)| {
            let mut filter = SpanFilter::new()
                .range(period)
                .kind(kind)
                .status(StatusFilter::Error);
            match kind {
                SpanKind::Agent => filter.agent.clone_from(&name),
                SpanKind::Llm => filter.model.clone_from(&name),
                _ => filter.tool.clone_from(&name),
            }
            // Spans without the dimension are not one filter: no example for them.
            let example = match name {
                Some(_) => example(store, filter)?,
                None => None,
            };
            Ok(Failure {
                kind: kind.to_string(),
                name,
                failures,
                total,
                example,
            })
        })
        .collect()
}

fn tools(
    store: &dyn Store,
    period: TimeRange,
    before: TimeRange,
) -> Result<ToolsSection, QueryError> {
    let now = tools_with_health(store, period, 0, None, None)?.tools;
    let then = tools_with_health(store, before, 0, None, None)?.tools;
    let mut by_p95: Vec<_> = now.iter().collect();
    by_p95.sort_by_key(|t| std::cmp::Reverse(t.stats.duration.p95_ns));
    let slowest = by_p95
        .into_iter()
        .take(TOP)
        .map(|t| {
            let mut filter = SpanFilter::new()
                .range(period)
                .kind(SpanKind::Tool)
                .min_duration_ns(t.stats.duration.p95_ns);
            filter.tool.clone_from(&t.stats.tool);
            filter.mcp_server.clone_from(&t.stats.mcp_server);
            Ok(SlowTool {
                tool: t.stats.tool.clone(),
                mcp_server: t.stats.mcp_server.clone(),
                calls: t.stats.calls,
                errors: t.stats.errors,
                duration: t.stats.duration,
                example: match t.stats.tool {
                    Some(_) => example(store, filter)?,
                    None => None,
                },
            })
        })
        .collect::<Result<_, QueryError>>()?;
    let mut health_changes: Vec<HealthChange> = now
        .iter()
        .filter_map(|t| {
            let was = then
                .iter()
                .find(|b| b.stats.tool == t.stats.tool && b.stats.mcp_server == t.stats.mcp_server)
                .map(|b| &b.health);
            let moved = was.is_none_or(|b| {
                b.grade != t.health.grade || b.score.abs_diff(t.health.score) >= HEALTH_MOVE
            });
            // A tool new in the period is a change only when it is not healthy.
            let worth = match was {
                Some(_) => moved,
                None => t.health.grade != crate::jobs::tool_health::Grade::Healthy,
            };
            worth.then(|| HealthChange {
                tool: t.stats.tool.clone(),
                mcp_server: t.stats.mcp_server.clone(),
                before: was.map(|b| b.score),
                grade_before: was.map(|b| b.grade),
                now: t.health.score,
                grade_now: t.health.grade,
                recommendations: t.health.recommendations.clone(),
            })
        })
        .collect();
    health_changes.sort_by_key(|c| i16::from(c.now) - i16::from(c.before.unwrap_or(100)));
    Ok(ToolsSection {
        slowest,
        health_changes,
    })
}

fn alerts(store: &dyn Store, period: TimeRange) -> Result<AlertsSection, QueryError> {
    let from = period.start_unix_nano.unwrap_or(0);
    let mut lines: Vec<AlertLine> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut read = 0_u64;
    for record in history(store, period)? {
        if record.time_unix_nano < from {
            break;
        }
        read += 1;
        let firing = matches!(record.state.as_str(), "ALERT" | "WARNING");
        if !firing || record.reason != "change" {
            continue;
        }
        let Ok(n) = serde_json::from_str::<Notification>(&record.body) else {
            continue;
        };
        // Newest first: the first seen is the latest; each older one moves `first` back.
        if let Some(&i) = index.get(&record.alert) {
            let line = &mut lines[i];
            line.fired += 1;
            line.first_unix_nano = record.time_unix_nano;
            if record.state == "ALERT" {
                line.worst = record.state;
            }
        } else {
            index.insert(record.alert.clone(), lines.len());
            lines.push(AlertLine {
                alert: record.alert,
                measure: n.measure,
                fired: 1,
                worst: record.state,
                first_unix_nano: record.time_unix_nano,
                summary: n.summary,
            });
        }
    }
    lines.sort_by(|a, b| b.fired.cmp(&a.fired).then_with(|| a.alert.cmp(&b.alert)));
    let (budgets, alerts) = lines
        .into_iter()
        .partition(|l| l.measure == agentrace_alerts::BUDGET_MEASURE);
    Ok(AlertsSection {
        budgets,
        alerts,
        notifications: read,
    })
}

/// The notifications up to the end of `period`, newest first, at most [`MAX_NOTIFICATIONS`],
/// reading pages back in time until one reaches before the period. One evaluation stores many
/// notifications at the same time: a page ends before the time its last one has, and the next
/// page starts at that time, so that none is read twice or skipped.
fn history(store: &dyn Store, period: TimeRange) -> Result<Vec<AlertRecord>, QueryError> {
    const PAGE: usize = 1_000;
    let from = period.start_unix_nano.unwrap_or(0);
    let mut before = period.end_unix_nano;
    let mut out: Vec<AlertRecord> = Vec::new();
    while out.len() < MAX_NOTIFICATIONS {
        let mut page = store.alert_records(None, before, PAGE)?;
        let full = page.len() == PAGE;
        let oldest = page.last().map(|r| r.time_unix_nano);
        match oldest {
            // A page of one time only: take it whole (a longer run of one time is cut).
            Some(t) if full && page.first().is_some_and(|r| r.time_unix_nano > t) => {
                page.retain(|r| r.time_unix_nano > t);
                before = Some(t + 1);
            }
            Some(t) => before = Some(t),
            None => break,
        }
        out.extend(page);
        if !full || oldest.is_some_and(|t| t < from) {
            break;
        }
    }
    out.truncate(MAX_NOTIFICATIONS);
    Ok(out)
}
