//! The store as the rule engine's [`Source`]: each rule's measure from the rollups (or, for a
//! user scope or `per = "user"`, from the spans), safety violations from the events and
//! guardrail spans.

use agentrace_alerts::{Dimension, Measure, Query, Reading, Rule, Source};
use agentrace_core::{EventKind, SpanKind};
use agentrace_sqlite::{
    AggregateQuery, AggregateRow, EventFilter, EventQuery, GroupBy, QueryError, SpanFilter,
    SqliteStore, StatusFilter, TimeRange,
};

/// Reads rules' measures from the store.
#[derive(Debug, Clone)]
pub(crate) struct StoreSource(pub(crate) SqliteStore);

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
        let answer = self.0.rollup(&AggregateQuery::new(filter, group_by))?;
        Ok(if q.rule.per.is_some() {
            answer
                .rows
                .iter()
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
            let page = self.0.events(&query)?;
            count += page.events.len() as u64;
            match page.next_cursor {
                Some(cursor) => query = query.cursor(Some(cursor)),
                None => break,
            }
        }
        let guardrails = span_filter(rule, range)
            .kind(SpanKind::Guardrail)
            .status(StatusFilter::Error);
        let failed = self.0.rollup(&AggregateQuery::new(guardrails, []))?;
        Ok(count + failed.total.count)
    }
}

fn span_filter(rule: &Rule, range: TimeRange) -> SpanFilter {
    let s = &rule.scope;
    let mut f = SpanFilter::new().range(range);
    f.service.clone_from(&s.service);
    f.model.clone_from(&s.model);
    f.provider.clone_from(&s.provider);
    f.agent.clone_from(&s.agent);
    f.tool.clone_from(&s.tool);
    f.user.clone_from(&s.user);
    f.framework.clone_from(&s.framework);
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
        // A measure added to the alerts crate but not here yet has no value.
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
