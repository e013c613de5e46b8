//! The alert rules as Prometheus rules over agentrace's `/metrics` (docs/alerts.md, "Export to
//! Prometheus"): for teams whose alerting lives in Prometheus and Alertmanager already.
//!
//! Each rule becomes a recording rule (`agentrace:rule:<name>`, its measure by its `per`
//! label) and an alerting rule per threshold (`severity` `warning` / `critical`), guarded by
//! its minimum request count; anomaly rules compare the recorded measure with its own
//! history. A fixed group watches the server itself (store failing, queue, refused requests,
//! alert channels, budgets), and one records what the dashboards plot.
//!
//! The series are the Prometheus sink's (docs/backends.md): the LLM call histogram
//! (`gen_ai_client_operation_duration_seconds`) by operation, provider, model and error type;
//! tokens by model; cost by provider, model, agent and framework; tool calls by tool and
//! status; and the server's scores by name and source (`agentrace_score_value`,
//! `agentrace_score_passed_total`; a score rule split by model, agent or service has no
//! Prometheus form). A rule whose scope or `per` names something those series do not carry (a user, a
//! service, an agent for latency), or that measures safety violations, has no Prometheus
//! form: it is left out and said so ([`Export::skipped`]).

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::AlertsConfig;
use crate::rule::Scope;
use crate::rule::{Anomaly, Dimension, Direction, Measure, NoData, Rule};
use crate::slo::{Count, Indicator, Slo, Status, Target};

/// LLM calls: a histogram of their durations, in seconds.
pub const CALLS: &str = "gen_ai_client_operation_duration_seconds";
/// Tokens: a histogram per call.
pub const TOKENS: &str = "gen_ai_client_token_usage";
/// Cost, in US dollars.
pub const COST: &str = "agentrace_cost_usd_total";
/// Tool calls by tool and status.
pub const TOOL_CALLS: &str = "agentrace_tool_calls_total";
/// Agent runs by agent, framework and status.
pub const AGENT_RUNS: &str = "agentrace_agent_runs_total";
/// An SLO's events over one of its alert windows, as the server last counted them (a gauge
/// by `slo` and `window_seconds`, on the node that evaluates alerts).
pub const SLO_EVENTS: &str = "agentrace_slo_events";
/// Of them, the good ones.
pub const SLO_GOOD_EVENTS: &str = "agentrace_slo_good_events";
/// The call histogram's bucket bounds, in seconds (the advised ones the server's `/metrics`
/// keeps): a latency objective's threshold must be one of them to have a Prometheus form.
pub const CALL_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// Scores' values by score name and source: a summary (`_sum`, `_count`) of the numbers.
pub const SCORE_VALUES: &str = "agentrace_score_value";
/// Boolean scores that passed, by score name and source.
pub const SCORES_PASSED: &str = "agentrace_score_passed_total";

/// The rules file and what could not go in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// A Prometheus rules file (YAML).
    pub yaml: String,
    /// Rules left out, each with why.
    pub skipped: Vec<(String, String)>,
}

/// Which series a measure reads, and their label for each dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Calls,
    Tokens,
    Cost,
    Tools,
    Scores,
    /// Agent runs (read by SLOs only).
    Runs,
}

impl Family {
    fn of(measure: Measure) -> Option<Self> {
        Some(match measure {
            Measure::ErrorRate
            | Measure::LatencyP50
            | Measure::LatencyP95
            | Measure::LatencyP99
            | Measure::Requests => Self::Calls,
            Measure::Tokens => Self::Tokens,
            Measure::Cost => Self::Cost,
            Measure::ToolSuccessRate => Self::Tools,
            Measure::ScoreMean | Measure::ScorePassRate => Self::Scores,
            _ => return None,
        })
    }

    fn label(self, d: Dimension) -> Option<&'static str> {
        match (self, d) {
            (Self::Calls | Self::Tokens | Self::Cost, Dimension::Model) => {
                Some("gen_ai_request_model")
            }
            (Self::Calls | Self::Tokens | Self::Cost, Dimension::Provider) => {
                Some("gen_ai_provider_name")
            }
            (Self::Cost | Self::Runs, Dimension::Agent) => Some("gen_ai_agent_name"),
            (Self::Cost | Self::Runs, Dimension::Framework) => Some("agentrace_framework"),
            (Self::Tools, Dimension::Tool) => Some("gen_ai_tool_name"),
            _ => None,
        }
    }
}

/// PromQL's duration: whole minutes as `5m`, hours as `2h`, days as `3d`.
pub fn range(d: Duration) -> String {
    match d.as_secs() {
        s if s > 0 && s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        s if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        s => format!("{}m", s / 60),
    }
}

/// A PromQL string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The PromQL of one rule: its measure, its request count, and the `by` label.
struct Compiled {
    measure: String,
    requests: String,
    by: Option<&'static str>,
}

fn compile(rule: &Rule) -> Result<Compiled, String> {
    let family = Family::of(rule.measure)
        .ok_or_else(|| format!("{} has no Prometheus series", rule.measure))?;
    let mut matchers = scope_matchers(family, &rule.scope, &rule.measure.to_string())?;
    if let Some(score) = &rule.score {
        matchers.push(format!("score_name={}", quote(score)));
    }
    match (family, rule.effective_kind()) {
        (Family::Calls | Family::Tokens, Some("llm")) => {
            matchers.push("gen_ai_operation_name!=\"embeddings\"".into());
        }
        (Family::Calls | Family::Tokens, Some("embedding")) => {
            matchers.push("gen_ai_operation_name=\"embeddings\"".into());
        }
        (Family::Cost, Some("llm" | "embedding"))
        | (Family::Tools, Some("tool"))
        | (Family::Scores, None) => {}
        (_, kind) => {
            return Err(format!(
                "the series of {} are not kept per span kind {kind:?}",
                rule.measure
            ));
        }
    }
    let by = match rule.per {
        Some(d) => Some(family.label(d).ok_or_else(|| {
            format!("the series of {} carry no {} label", rule.measure, d.name())
        })?),
        None => None,
    };
    let w = range(rule.window);
    let sel = |name: &str, extra: &[&str]| {
        let all: Vec<String> = matchers
            .iter()
            .cloned()
            .chain(extra.iter().map(|e| (*e).to_owned()))
            .collect();
        format!("{name}{{{}}}", all.join(", "))
    };
    let by_clause = by.map_or_else(String::new, |l| format!(" by ({l})"));
    let sum = |inner: String| format!("sum{by_clause} (increase({inner}[{w}]))");
    let calls = sum(sel(&format!("{CALLS}_count"), &[]));
    let measure = match rule.measure {
        Measure::Requests => calls.clone(),
        // Calls without a failure have no error series: `or` counts them as 0.
        Measure::ErrorRate => format!(
            "({} or {calls} * 0) / {calls}",
            sum(sel(&format!("{CALLS}_count"), &["error_type!=\"\""]))
        ),
        Measure::LatencyP50 | Measure::LatencyP95 | Measure::LatencyP99 => {
            let q = match rule.measure {
                Measure::LatencyP50 => "0.5",
                Measure::LatencyP95 => "0.95",
                _ => "0.99",
            };
            let le = by.map_or_else(|| "le".to_owned(), |l| format!("le, {l}"));
            format!(
                "histogram_quantile({q}, sum by ({le}) (rate({}[{w}])))",
                sel(&format!("{CALLS}_bucket"), &[])
            )
        }
        Measure::Tokens => sum(sel(&format!("{TOKENS}_sum"), &[])),
        Measure::Cost => sum(sel(COST, &[])),
        Measure::ToolSuccessRate => {
            let all = sum(sel(TOOL_CALLS, &[]));
            format!(
                "1 - ({} or {all} * 0) / {all}",
                sum(sel(TOOL_CALLS, &["agentrace_status=\"error\""]))
            )
        }
        Measure::ScoreMean => format!(
            "{} / {}",
            sum(sel(&format!("{SCORE_VALUES}_sum"), &[])),
            sum(sel(&format!("{SCORE_VALUES}_count"), &[]))
        ),
        Measure::ScorePassRate => format!(
            "({} or {count} * 0) / {count}",
            sum(sel(SCORES_PASSED, &[])),
            count = sum(sel(&format!("{SCORE_VALUES}_count"), &[]))
        ),
        _ => return Err(format!("{} has no Prometheus series", rule.measure)),
    };
    let requests = match family {
        Family::Tools => sum(sel(TOOL_CALLS, &[])),
        Family::Scores => sum(sel(&format!("{SCORE_VALUES}_count"), &[])),
        _ => calls,
    };
    Ok(Compiled {
        measure,
        requests,
        by,
    })
}

/// The label matchers that select `scope` on `family`'s series (`what` reads them, for the
/// error: a scope naming a label they do not carry).
fn scope_matchers(family: Family, scope: &Scope, what: &str) -> Result<Vec<String>, String> {
    let fields = [
        (Dimension::Model, &scope.model),
        (Dimension::Provider, &scope.provider),
        (Dimension::Agent, &scope.agent),
        (Dimension::Framework, &scope.framework),
        (Dimension::Tool, &scope.tool),
        (Dimension::Service, &scope.service),
        (Dimension::User, &scope.user),
        (Dimension::McpServer, &scope.mcp_server),
    ];
    let mut matchers = Vec::new();
    for (d, value) in fields {
        if let Some(v) = value {
            let label = family
                .label(d)
                .ok_or_else(|| format!("the series of {what} carry no {} label", d.name()))?;
            matchers.push(format!("{label}={}", quote(v)));
        }
    }
    Ok(matchers)
}

/// `agentrace:rule:<name>`, the name made a metric name.
fn record_name(rule: &Rule) -> String {
    let slug = agentrace_core::metrics::prometheus_slug(&rule.name);
    format!("agentrace:rule:{}", slug.trim_matches('_'))
}

/// The z-score of `record` against its anomaly baseline, with the deviation floored at 5 %
/// of the mean as the server's engine does.
fn z_score(record: &str, anomaly: Anomaly, window: Duration) -> String {
    let (mean, stddev) = match anomaly {
        Anomaly::Rolling { periods } => {
            let span = range(window * periods);
            let w = range(window);
            (
                format!("avg_over_time({record}[{span}] offset {w})"),
                format!("stddev_over_time({record}[{span}] offset {w})"),
            )
        }
        Anomaly::SameTimeOfDay { days } => {
            let back: Vec<String> = (1..=days)
                .map(|d| format!("{record} offset {d}d"))
                .collect();
            let mean = format!("(({}) / {days})", back.join(" + "));
            let squares: Vec<String> = back.iter().map(|b| format!("({b} - {mean}) ^ 2")).collect();
            (
                mean.clone(),
                format!("sqrt(({}) / {days})", squares.join(" + ")),
            )
        }
    };
    let floor = format!("(0.05 * abs({mean}) + 1e-9)");
    format!("({record} - {mean}) / (({stddev} > {floor}) or {floor})")
}

fn severity_rules(rule: &Rule, c: &Compiled, out: &mut String) {
    let record = record_name(rule);
    let (subject, direction) = match rule.anomaly {
        Some(anomaly) => {
            let z = z_score(&record, anomaly, rule.window);
            let z = match rule.effective_direction() {
                Direction::Above => z,
                Direction::Below => format!("-({z})"),
            };
            (z, Direction::Above)
        }
        None => (record.clone(), rule.effective_direction()),
    };
    let op = match direction {
        Direction::Above => ">=",
        Direction::Below => "<=",
    };
    let not_yet = match direction {
        Direction::Above => "<",
        Direction::Below => ">",
    };
    let guard = if rule.min_requests > 0 {
        let on =
            c.by.map_or_else(|| "on ()".to_owned(), |l| format!("on ({l})"));
        format!(" and {on} ({} >= {})", c.requests, rule.min_requests)
    } else {
        String::new()
    };
    for (severity, threshold, below) in [
        ("warning", rule.warning, rule.critical),
        ("critical", rule.critical, None),
    ] {
        let Some(t) = threshold else { continue };
        let upper = below.map_or_else(String::new, |c| format!(" {not_yet} {c}"));
        let expr = format!("(({subject}) {op} {t}{upper}){guard}");
        alert(
            out,
            rule,
            severity,
            &expr,
            &format!("{} is past its {severity} threshold {t}", rule.measure),
        );
    }
    let absent = match rule.no_data {
        NoData::Ok => None,
        NoData::NoData => Some("info"),
        NoData::Alert => Some("critical"),
    };
    if let Some(severity) = absent
        && !rule.measure.defined_when_empty()
    {
        let expr = format!("absent({record})");
        alert(
            out,
            rule,
            severity,
            &expr,
            &format!("no {} data", rule.measure),
        );
    }
}

/// The bad share of `slo`'s events over `window`, in PromQL: from the counters of `/metrics`
/// where they express it (`counters_bad_share`), else — quality, cost, a latency of tool calls
/// or agent runs or between bucket bounds, a scope the counters carry no label for — from the
/// server's own counts of each alert window and of the SLO's rolling window ([`SLO_EVENTS`],
/// [`SLO_GOOD_EVENTS`]), which exist for those windows only (why not, for another window).
pub fn slo_bad_share(slo: &Slo, window: Duration) -> Result<String, String> {
    counters_bad_share(slo, window).or_else(|why| {
        let counted = slo
            .burn_alerts
            .iter()
            .any(|a| a.long == window || a.short == window)
            || (window == slo.window && slo.calendar.is_none() && !slo.burn_alerts.is_empty());
        if !counted {
            return Err(format!(
                "{why}, and the server counts it over its alert windows and its rolling window only, not {}",
                range(window)
            ));
        }
        let gauge = |name: &str| {
            format!(
                "max({name}{{slo={}, window_seconds=\"{}\"}})",
                quote(&slo.name),
                window.as_secs()
            )
        };
        Ok(format!(
            "(1 - {} / {})",
            gauge(SLO_GOOD_EVENTS),
            gauge(SLO_EVENTS)
        ))
    })
}

/// The bad share of `slo`'s events over `window` from the counters of `/metrics`: LLM calls
/// from the call histogram (failures by `error_type`, a latency threshold by its bucket), tool
/// calls and agent runs from their counters by status; why not.
fn counters_bad_share(slo: &Slo, window: Duration) -> Result<String, String> {
    let count = |c: &Count, le: Option<f64>| slo_count(slo, c, window, le);
    let share = |part: String, total: String| format!("({part} or {total} * 0) / {total}");
    match &slo.indicator {
        Indicator::Success { of } => {
            let total = Count::of(*of);
            let failed = Count {
                status: Some(Status::Error),
                ..total.clone()
            };
            Ok(format!(
                "({})",
                share(count(&failed, None)?, count(&total, None)?)
            ))
        }
        Indicator::Ratio { good, total } => Ok(format!(
            "(1 - {})",
            share(count(good, None)?, count(total, None)?)
        )),
        Indicator::Latency {
            of: Target::LlmCalls,
            threshold,
        } => {
            let seconds = threshold.as_secs_f64();
            let bound = CALL_BUCKETS
                .into_iter()
                .find(|b| (b - seconds).abs() < 1e-9)
                .ok_or_else(|| {
                    format!(
                        "the call histogram has no bucket at {seconds} s (its bounds: 0.01, 0.02 … 81.92 s)"
                    )
                })?;
            let total = Count::of(Target::LlmCalls);
            Ok(format!(
                "(1 - {})",
                share(count(&total, Some(bound))?, count(&total, None)?)
            ))
        }
        Indicator::Latency { .. } => Err("/metrics keeps the durations of LLM calls only".into()),
        Indicator::Quality { .. } => {
            Err("/metrics keeps no distribution of a score's values".into())
        }
        _ => Err("/metrics keeps no per-trace cost".into()),
    }
}

/// `count`'s events over `window` within `slo`'s scope, in PromQL; with `le`, only the LLM
/// calls that took at most that many seconds (a bucket bound of the call histogram).
fn slo_count(
    slo: &Slo,
    count: &Count,
    window: Duration,
    le: Option<f64>,
) -> Result<String, String> {
    let scope = slo
        .scope
        .and(&count.scope)
        .ok_or("a count whose scope names another value than the SLO's")?;
    let (family, series) = match (count.of, le) {
        (Target::LlmCalls, None) => (Family::Calls, format!("{CALLS}_count")),
        (Target::LlmCalls, Some(_)) => (Family::Calls, format!("{CALLS}_bucket")),
        (Target::ToolCalls, _) => (Family::Tools, TOOL_CALLS.to_owned()),
        (_, _) => (Family::Runs, AGENT_RUNS.to_owned()),
    };
    let mut matchers = scope_matchers(family, &scope, &series)?;
    if family == Family::Calls {
        matchers.push("gen_ai_operation_name!=\"embeddings\"".into());
    }
    match (family, count.status) {
        (_, None) => {}
        (Family::Calls, Some(Status::Ok)) => matchers.push("error_type=\"\"".into()),
        (Family::Calls, Some(Status::Error)) => matchers.push("error_type!=\"\"".into()),
        (_, Some(Status::Ok)) => matchers.push("agentrace_status=\"ok\"".into()),
        (_, Some(Status::Error)) => matchers.push("agentrace_status=\"error\"".into()),
    }
    if let Some(le) = le {
        matchers.push(format!("le={}", quote(&le.to_string())));
    }
    Ok(format!(
        "sum (increase({series}{{{}}}[{}]))",
        matchers.join(", "),
        range(window)
    ))
}

/// A burn-rate rule of `slo` (`measure = "burn_rate"`): the burn rate over its window
/// recorded (`agentrace:rule:<name>`), and an alert when it and the short window's both reach
/// the threshold.
fn burn_rate_rules(rule: &Rule, slo: &Slo) -> Result<String, String> {
    // 1 − 0.99 is 0.010000000000000009 in binary floating point: written as people would.
    let budget = (slo.error_budget() * 1e12).round() / 1e12;
    let short = rule.short_window.unwrap_or(rule.window);
    let long_rate = format!("{} / {budget}", slo_bad_share(slo, rule.window)?);
    let short_rate = format!("{} / {budget}", slo_bad_share(slo, short)?);
    let mut out = String::new();
    let name = record_name(rule);
    record(&mut out, &name, &long_rate);
    for (severity, threshold) in [("warning", rule.warning), ("critical", rule.critical)] {
        let Some(t) = threshold else { continue };
        let expr = format!("{name} >= {t} and ({short_rate}) >= {t}");
        alert(
            &mut out,
            rule,
            severity,
            &expr,
            &format!(
                "SLO {:?} burns its error budget at {t}× or more over {} and {}",
                slo.name,
                range(rule.window),
                range(short)
            ),
        );
    }
    Ok(out)
}

fn alert(out: &mut String, rule: &Rule, severity: &str, expr: &str, what: &str) {
    let _ = writeln!(out, "      - alert: {}", json(&rule.name));
    let _ = writeln!(out, "        expr: {}", json(expr));
    let _ = writeln!(out, "        labels:");
    let _ = writeln!(out, "          severity: {severity}");
    let _ = writeln!(out, "          source: agentrace");
    let _ = writeln!(out, "        annotations:");
    let summary = format!("{}: {what} over {}", rule.name, range(rule.window));
    let _ = writeln!(out, "          summary: {}", json(&summary));
    if let Some(d) = &rule.description {
        let _ = writeln!(out, "          description: {}", json(d));
    }
}

/// A YAML scalar: a JSON string (YAML reads JSON strings as they are).
fn json(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn record(out: &mut String, name: &str, expr: &str) {
    let _ = writeln!(out, "      - record: {name}");
    let _ = writeln!(out, "        expr: {}", json(expr));
}

/// Rules watching the server itself, and the budgets.
const SERVER_ALERTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "AgentraceStoreFailing",
        "agentrace_server_store_failing == 1",
        "1m",
        "critical",
        "the server cannot write to its store: it refuses telemetry",
    ),
    (
        "AgentraceWriterQueueFilling",
        "agentrace_server_writer_queue_requests / agentrace_server_writer_queue_capacity_requests > 0.8",
        "5m",
        "warning",
        "the writer's queue is over 80 % full",
    ),
    (
        "AgentraceRefusingTelemetry",
        "increase(agentrace_server_requests_refused_total{reason=\"overloaded\"}[5m]) > 0",
        "5m",
        "warning",
        "the server answered 503 to exporters (overloaded): they retry, but it is at capacity",
    ),
    (
        "AgentraceAlertChannelFailing",
        "agentrace_server_alert_channel_failing == 1",
        "10m",
        "warning",
        "an alert channel's deliveries keep failing",
    ),
    (
        "AgentracePipelineDropping",
        "increase(agentrace_pipeline_dropped_total[5m]) > 0",
        "5m",
        "warning",
        "records dropped by the fan-out pipeline (/metrics, forwarding)",
    ),
    (
        "AgentraceBudgetNearlySpent",
        "agentrace_budget_spend_ratio >= 0.9 < 1",
        "0m",
        "warning",
        "a budget is over 90 % spent",
    ),
    (
        "AgentraceBudgetSpent",
        "agentrace_budget_spend_ratio >= 1",
        "0m",
        "critical",
        "a budget is spent: calls checked against it are refused",
    ),
];

/// What the dashboards plot, recorded.
pub const DASHBOARD_RECORDS: &[(&str, &str)] = &[
    (
        "agentrace:llm_calls:rate5m",
        "sum by (gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_count[5m]))",
    ),
    (
        "agentrace:llm_errors:ratio_rate5m",
        "sum by (gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_count{error_type!=\"\"}[5m])) / sum by (gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_count[5m]))",
    ),
    (
        "agentrace:llm_latency_seconds:p95_5m",
        "histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_bucket[5m])))",
    ),
    (
        "agentrace:cost_usd:increase1h",
        "sum by (gen_ai_request_model, gen_ai_agent_name) (increase(agentrace_cost_usd_total[1h]))",
    ),
    (
        "agentrace:tool_errors:ratio_rate5m",
        "sum by (gen_ai_tool_name) (rate(agentrace_tool_calls_total{agentrace_status=\"error\"}[5m])) / sum by (gen_ai_tool_name) (rate(agentrace_tool_calls_total[5m]))",
    ),
];

/// The configured rules, the server's own and the dashboards' as a Prometheus rules file.
pub fn prometheus_rules(config: &AlertsConfig) -> Export {
    let mut out = String::from(
        "# agentrace's alert rules as Prometheus rules over agentrace's /metrics.\n\
         # Generated by `agentrace export prometheus-rules`; see docs/alerts.md.\n\
         groups:\n",
    );
    let interval = format!("{}s", config.interval.as_secs().max(1));
    let mut skipped = Vec::new();
    let mut rules = String::new();
    for rule in &config.all_rules() {
        if rule.measure == Measure::BurnRate {
            let slo = config
                .slos
                .iter()
                .find(|s| Some(&s.name) == rule.slo.as_ref());
            match slo.map(|slo| burn_rate_rules(rule, slo)) {
                Some(Ok(compiled)) => rules.push_str(&compiled),
                Some(Err(why)) => skipped.push((rule.name.clone(), why)),
                None => skipped.push((rule.name.clone(), "its SLO is not configured".into())),
            }
            continue;
        }
        match compile(rule) {
            Ok(c) => {
                record(&mut rules, &record_name(rule), &c.measure);
                severity_rules(rule, &c, &mut rules);
            }
            Err(why) => skipped.push((rule.name.clone(), why)),
        }
    }
    if !rules.is_empty() {
        let _ = writeln!(
            out,
            "  - name: agentrace-rules\n    interval: {interval}\n    rules:"
        );
        out.push_str(&rules);
    }
    let _ = writeln!(out, "  - name: agentrace-server\n    rules:");
    for (name, expr, for_, severity, summary) in SERVER_ALERTS {
        let _ = writeln!(out, "      - alert: {name}");
        let _ = writeln!(out, "        expr: {}", json(expr));
        let _ = writeln!(out, "        for: {for_}");
        let _ = writeln!(
            out,
            "        labels:\n          severity: {severity}\n          source: agentrace"
        );
        let _ = writeln!(
            out,
            "        annotations:\n          summary: {}",
            json(summary)
        );
    }
    let _ = writeln!(out, "  - name: agentrace-dashboards\n    rules:");
    for (name, expr) in DASHBOARD_RECORDS {
        record(&mut out, name, expr);
    }
    for (name, why) in &skipped {
        let _ = writeln!(out, "# left out: {name:?}: {why}");
    }
    Export { yaml: out, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Scope;

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(60 * m)
    }

    #[test]
    fn a_rule_becomes_a_record_and_an_alert_per_threshold() {
        let rule = Rule::new("llm errors", Measure::ErrorRate, minutes(5))
            .per(Dimension::Model)
            .min_requests(20)
            .warning(0.05)
            .critical(0.2);
        let config = AlertsConfig {
            rules: vec![rule],
            ..AlertsConfig::default()
        };
        let e = prometheus_rules(&config);
        assert!(e.skipped.is_empty());
        let y = &e.yaml;
        assert!(y.contains("- record: agentrace:rule:llm_errors\n        expr: \"(sum by (gen_ai_request_model) (increase(gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name!=\\\"embeddings\\\", error_type!=\\\"\\\"}[5m])) or sum by (gen_ai_request_model) (increase(gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name!=\\\"embeddings\\\"}[5m])) * 0) / sum by (gen_ai_request_model) (increase(gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name!=\\\"embeddings\\\"}[5m]))\""), "{y}");
        assert!(y.contains("expr: \"((agentrace:rule:llm_errors) >= 0.05 < 0.2) and on (gen_ai_request_model) (sum by (gen_ai_request_model) (increase(gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name!=\\\"embeddings\\\"}[5m])) >= 20)\""), "{y}");
        assert!(y.contains("severity: critical"));
        assert!(y.contains("expr: \"absent(agentrace:rule:llm_errors)\""));
    }

    #[test]
    fn an_slos_burn_rate_alerts_read_both_windows_and_what_has_no_series_is_said() {
        let days = |d: u64| Duration::from_secs(d * 86_400);
        let mut tools = Slo::new(
            "tools work",
            Indicator::Success {
                of: Target::ToolCalls,
            },
            0.99,
            days(28),
        );
        tools.scope.tool = Some("search".into());
        let runs = Slo::new(
            "runs work",
            Indicator::Latency {
                of: Target::AgentRuns,
                threshold: Duration::from_secs(60),
            },
            0.9,
            days(28),
        );
        let config = AlertsConfig {
            slos: vec![tools, runs],
            ..AlertsConfig::default()
        };
        let e = prometheus_rules(&config);
        let tool_calls = |w: &str, extra: &str| {
            format!(
                "sum (increase(agentrace_tool_calls_total{{gen_ai_tool_name=\\\"search\\\"{extra}}}[{w}]))"
            )
        };
        let share = |w: &str| {
            format!(
                "(({} or {} * 0) / {})",
                tool_calls(w, ", agentrace_status=\\\"error\\\""),
                tool_calls(w, ""),
                tool_calls(w, "")
            )
        };
        let y = &e.yaml;
        let recorded = format!(
            "- record: agentrace:rule:tools_work_burn_rate_1h_5m\n        expr: \"{} / 0.01\"",
            share("1h")
        );
        assert!(y.contains(&recorded), "{recorded}\n{y}");
        let fires = format!(
            "expr: \"agentrace:rule:tools_work_burn_rate_1h_5m >= 14.4 and ({} / 0.01) >= 14.4\"",
            share("5m")
        );
        assert!(y.contains(&fires), "{fires}\n{y}");
        assert!(y.contains("alert: \"tools work burn rate 3d/6h\"\n        expr: \"agentrace:rule:tools_work_burn_rate_3d_6h >= 1 and"));
        // A latency of agent runs: no counter keeps it, the server's counts of each window do.
        assert_eq!(e.skipped, Vec::new());
        let recorded = "- record: agentrace:rule:runs_work_burn_rate_1h_5m\n        expr: \"(1 - max(agentrace_slo_good_events{slo=\\\"runs work\\\", window_seconds=\\\"3600\\\"}) / max(agentrace_slo_events{slo=\\\"runs work\\\", window_seconds=\\\"3600\\\"})) / 0.1\"";
        assert!(y.contains(recorded), "{recorded}\n{y}");
        // Its whole window too (the attainment), and no other.
        assert!(
            slo_bad_share(&config.slos[1], days(28))
                .is_ok_and(|q| q.contains("window_seconds=\"2419200\""))
        );
        assert_eq!(
            slo_bad_share(&config.slos[1], days(14)),
            Err("/metrics keeps the durations of LLM calls only, and the server counts it over its alert windows and its rolling window only, not 14d".into())
        );
    }

    #[test]
    fn every_span_objective_reads_its_counter_and_what_has_no_series_is_said() {
        let days = |d: u64| Duration::from_secs(d * 86_400);
        let hour = Duration::from_secs(3_600);
        let slo = |indicator| Slo::new("s", indicator, 0.9, days(7));
        let calls = "gen_ai_client_operation_duration_seconds";
        // Agent runs, by their counter's status.
        let mut runs = slo(Indicator::Success {
            of: Target::AgentRuns,
        });
        runs.scope.agent = Some("planner".into());
        let count = |extra: &str| {
            format!(
                "sum (increase(agentrace_agent_runs_total{{gen_ai_agent_name=\"planner\"{extra}}}[1h]))"
            )
        };
        assert_eq!(
            slo_bad_share(&runs, hour),
            Ok(format!(
                "(({} or {} * 0) / {})",
                count(", agentrace_status=\"error\""),
                count(""),
                count("")
            ))
        );
        // A latency of LLM calls at a bucket bound: the calls within it, from the bucket.
        let fast = slo(Indicator::Latency {
            of: Target::LlmCalls,
            threshold: Duration::from_millis(1_280),
        });
        let all =
            format!("sum (increase({calls}_count{{gen_ai_operation_name!=\"embeddings\"}}[1h]))");
        let within = format!(
            "sum (increase({calls}_bucket{{gen_ai_operation_name!=\"embeddings\", le=\"1.28\"}}[1h]))"
        );
        assert_eq!(
            slo_bad_share(&fast, hour),
            Ok(format!("(1 - ({within} or {all} * 0) / {all})"))
        );
        let between = slo(Indicator::Latency {
            of: Target::LlmCalls,
            threshold: Duration::from_secs(1),
        });
        assert!(slo_bad_share(&between, days(14)).is_err_and(|e| e.contains("no bucket at 1 s")));
        // A ratio: good among total, each within the SLO's scope, statuses by error type.
        let mut small = Count::of(Target::LlmCalls);
        small.scope.model = Some("gpt-4o-mini".into());
        small.status = Some(Status::Ok);
        let ratio = slo(Indicator::Ratio {
            good: Box::new(small),
            total: Box::new(Count::of(Target::LlmCalls)),
        });
        let good = format!(
            "sum (increase({calls}_count{{gen_ai_request_model=\"gpt-4o-mini\", gen_ai_operation_name!=\"embeddings\", error_type=\"\"}}[1h]))"
        );
        assert_eq!(
            slo_bad_share(&ratio, hour),
            Ok(format!("(1 - ({good} or {all} * 0) / {all})"))
        );
        // What the series do not carry.
        let mut by_service = runs.clone();
        by_service.scope.service = Some("support".into());
        assert!(
            slo_bad_share(&by_service, days(14)).is_err_and(|e| e.contains("no service label"))
        );
        let quality = slo(Indicator::Quality {
            score: "g".into(),
            min: Some(0.5),
            max: None,
            labels: Vec::new(),
        });
        // Quality and cost: the server's counts of the alert windows and the whole, no other.
        let gauge =
            |name: &str, w: u64| format!("max({name}{{slo=\"s\", window_seconds=\"{w}\"}})");
        assert_eq!(
            slo_bad_share(&quality, hour),
            Ok(format!(
                "(1 - {} / {})",
                gauge(SLO_GOOD_EVENTS, 3_600),
                gauge(SLO_EVENTS, 3_600)
            ))
        );
        let cost = slo(Indicator::Cost {
            of: crate::slo::CostUnit::Traces,
            max_usd: 0.4,
        });
        assert!(
            slo_bad_share(&cost, Duration::from_secs(300))
                .is_ok_and(|q| q.contains("window_seconds=\"300\""))
        );
        assert!(
            slo_bad_share(&cost, days(7)).is_ok_and(|q| q.contains("window_seconds=\"604800\""))
        );
        assert!(
            slo_bad_share(&cost, days(14))
                .is_err_and(|e| e.contains("its rolling window only, not 14d"))
        );
        let mut calendar = cost.clone();
        calendar.calendar = Some(agentrace_core::budget::Period::Month);
        assert!(slo_bad_share(&calendar, days(7)).is_err());
    }

    #[test]
    fn what_the_series_do_not_carry_is_left_out_and_said() {
        let mut by_user = Rule::new("user cost", Measure::Cost, minutes(60)).critical(5.0);
        by_user.scope = Scope {
            user: Some("u-1".into()),
            ..Scope::default()
        };
        let config = AlertsConfig {
            rules: vec![
                by_user,
                Rule::new("slow agent", Measure::LatencyP95, minutes(5))
                    .per(Dimension::Agent)
                    .critical(10.0),
                Rule::new("safety", Measure::SafetyViolations, minutes(5)).critical(1.0),
            ],
            ..AlertsConfig::default()
        };
        let e = prometheus_rules(&config);
        let why: Vec<&str> = e.skipped.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(
            why,
            [
                "the series of cost carry no user label",
                "the series of latency_p95 carry no agent label",
                "safety_violations has no Prometheus series",
            ]
        );
        assert!(e.yaml.contains("# left out: \"safety\""));
        assert!(
            !e.yaml.contains("agentrace-rules"),
            "no rule group without rules"
        );
    }

    #[test]
    fn score_rules_read_the_score_series() {
        let config = AlertsConfig {
            rules: vec![
                Rule::new("helpful", Measure::ScoreMean, minutes(15))
                    .score("helpfulness")
                    .min_requests(20)
                    .warning(0.7),
                Rule::new("json", Measure::ScorePassRate, minutes(15))
                    .score("answer_is_json")
                    .critical(0.9),
                Rule::new("helpful by model", Measure::ScoreMean, minutes(15))
                    .score("helpfulness")
                    .per(Dimension::Model)
                    .warning(0.7),
            ],
            ..AlertsConfig::default()
        };
        let e = prometheus_rules(&config);
        let y = &e.yaml;
        assert!(y.contains("expr: \"sum (increase(agentrace_score_value_sum{score_name=\\\"helpfulness\\\"}[15m])) / sum (increase(agentrace_score_value_count{score_name=\\\"helpfulness\\\"}[15m]))\""), "{y}");
        assert!(y.contains("expr: \"(sum (increase(agentrace_score_passed_total{score_name=\\\"answer_is_json\\\"}[15m])) or sum (increase(agentrace_score_value_count{score_name=\\\"answer_is_json\\\"}[15m])) * 0) / sum (increase(agentrace_score_value_count{score_name=\\\"answer_is_json\\\"}[15m]))\""), "{y}");
        assert!(
            y.contains(">= 20"),
            "the minimum sample count guards it: {y}"
        );
        assert_eq!(
            e.skipped,
            [(
                "helpful by model".to_owned(),
                "the series of score_mean carry no model label".to_owned()
            )]
        );
    }

    #[test]
    fn anomalies_compare_the_record_with_its_history() {
        let z = z_score("r", Anomaly::Rolling { periods: 12 }, minutes(5));
        assert!(
            z.starts_with(
                "(r - avg_over_time(r[1h] offset 5m)) / ((stddev_over_time(r[1h] offset 5m) > "
            ),
            "{z}"
        );
        let z = z_score("r", Anomaly::SameTimeOfDay { days: 3 }, minutes(60));
        assert!(
            z.contains("((r offset 1d + r offset 2d + r offset 3d) / 3)"),
            "{z}"
        );
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
