//! SLOs in the OpenSLO v1 form (<https://github.com/OpenSLO/OpenSLO>), out and back in
//! (`agentrace slo export`, `agentrace slo import`; docs/slos.md, "OpenSLO").
//!
//! An agentrace SLO becomes a `kind: SLO` document with its indicator inline. Its events are
//! read by a metric source of `type: agentrace` whose `spec` is a count as a ratio indicator
//! writes one (`of`, `scope`, `status`):
//!
//! - success: a `ratioMetric` whose `good` is `total` with `status: ok`;
//! - ratio: a `ratioMetric` of its two counts;
//! - latency: a `thresholdMetric` of the runs' durations, the objective `op: lte` and `value`
//!   the threshold in seconds;
//! - cost: a `thresholdMetric` whose source's `spec` says what is counted (`cost_of: traces`,
//!   `sessions` or `agent_runs`) and the SLO's scope, the objective `op: lte` and `value` the
//!   dollars;
//! - quality: a `ratioMetric` of scores, `total` a source whose `spec` names the score
//!   (`score: groundedness`) and `good` one that also says what passes (`min`, `max`,
//!   `labels`).
//!
//! The window is a rolling `timeWindow`, the budgeting `Occurrences`, and each burn-rate alert
//! an inline `AlertPolicy` with one `burnrate` condition (`op: gte`, `threshold` the factor,
//! `lookbackWindow` the long window); OpenSLO has no short window, so it travels as the
//! annotation [`SHORT_WINDOW`].
//!
//! Reading OpenSLO, what agentrace cannot honour is said, per document, in [`Imported::notes`]:
//! a metric source of another type (agentrace judges SLOs on what it stores, not on
//! Prometheus or Datadog queries), calendar windows, time-slice budgeting, composite
//! objectives, references to objects not in the file.
//!
//! ```
//! use std::time::Duration;
//! use agentrace_alerts::openslo;
//! use agentrace_alerts::slo::{Indicator, Slo, Target};
//!
//! let slo = Slo::new(
//!     "tool calls succeed",
//!     Indicator::Success { of: Target::ToolCalls },
//!     0.99,
//!     Duration::from_secs(7 * 86_400),
//! );
//! let yaml = openslo::export(std::slice::from_ref(&slo))?;
//! assert!(yaml.contains("name: tool-calls-succeed"));
//! let back = openslo::import(&yaml)?;
//! assert_eq!(back.slos, vec![slo]);
//! assert!(back.notes.is_empty());
//! # Ok::<(), openslo::OpensloError>(())
//! ```

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use agentrace_core::budget::Period;

use crate::slo::{BurnAlert, CostUnit, Count, Indicator, Severity, Slo, Status};

/// The annotation that carries a burn-rate alert's short window.
pub const SHORT_WINDOW: &str = "agentrace.dev/short-window";

/// The metric source type of agentrace's own counts.
pub const SOURCE_TYPE: &str = "agentrace";

/// An OpenSLO file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpensloError {
    /// It is not YAML, or not of OpenSLO's shape.
    #[error("not an OpenSLO file: {0}")]
    Parse(String),
    /// The YAML could not be written.
    #[error("cannot write OpenSLO YAML: {0}")]
    Write(String),
}

/// The SLOs read from an OpenSLO file, and what of it was not honoured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// The SLOs agentrace can judge, each checked ([`Slo::validate`]).
    pub slos: Vec<Slo>,
    /// One line per thing left out or changed, naming its document.
    pub notes: Vec<String>,
}

/// `slos` as OpenSLO v1 documents, one `kind: SLO` each, separated by `---`.
pub fn export(slos: &[Slo]) -> Result<String, OpensloError> {
    let mut taken: HashMap<String, usize> = HashMap::new();
    let docs: Vec<Value> = slos
        .iter()
        .map(|slo| {
            let base = rfc1123(&slo.name);
            let n = taken.entry(base.clone()).or_default();
            *n += 1;
            let name = if *n == 1 { base } else { suffixed(&base, *n) };
            document(slo, &name)
        })
        .collect();
    serde_saphyr::to_string_multiple(&docs).map_err(|e| OpensloError::Write(e.to_string()))
}

/// A count as the agentrace metric source's `spec` (no empty scope fields).
fn source(count: &Count) -> Value {
    let mut spec = strip_nulls(serde_json::to_value(count).unwrap_or(Value::Null));
    if let Some(o) = spec.as_object_mut()
        && o.get("scope")
            .is_some_and(|s| s.as_object().is_some_and(Map::is_empty))
    {
        o.remove("scope");
    }
    metric_source(spec)
}

/// The agentrace metric source of `spec`.
fn metric_source(spec: Value) -> Value {
    json!({ "metricSource": { "type": SOURCE_TYPE, "spec": spec } })
}

/// The scores a quality indicator counts, as its metric source's `spec`: the score's name,
/// and for the good ones what passes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreCount {
    score: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    labels: Vec<String>,
}

/// The traces or sessions a cost indicator counts, as its metric source's `spec`: what
/// (`cost_of`) and the SLO's scope.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CostCount {
    cost_of: CostUnit,
    #[serde(default, skip_serializing_if = "is_everything")]
    scope: crate::Scope,
}

fn is_everything(scope: &crate::Scope) -> bool {
    *scope == crate::Scope::default()
}

/// A threshold metric's cost spec, if its source counts traces or sessions.
fn cost_count(metric: &Value) -> Result<Option<CostCount>, String> {
    match metric.pointer("/metricSource/spec") {
        Some(spec) if spec.get("cost_of").is_some() => serde_json::from_value(spec.clone())
            .map(Some)
            .map_err(|e| format!("its {SOURCE_TYPE} metric source's cost spec: {e}")),
        _ => Ok(None),
    }
}

impl ScoreCount {
    fn source(&self) -> Value {
        metric_source(serde_json::to_value(self).unwrap_or(Value::Null))
    }

    /// Whether it says what passes (a good count) or not (a total).
    fn passes_some(&self) -> bool {
        self.min.is_some() || self.max.is_some() || !self.labels.is_empty()
    }
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

fn document(slo: &Slo, name: &str) -> Value {
    let within = |count: &Count| Count {
        scope: slo
            .scope
            .and(&count.scope)
            .unwrap_or_else(|| slo.scope.clone()),
        ..count.clone()
    };
    let mut objective = json!({ "displayName": slo.name, "target": slo.objective });
    let indicator = match &slo.indicator {
        Indicator::Latency { of, threshold } => {
            objective["op"] = json!("lte");
            objective["value"] = json!(threshold.as_secs_f64());
            json!({ "thresholdMetric": source(&within(&Count::of(*of))) })
        }
        Indicator::Ratio { good, total } => json!({ "ratioMetric": {
            "counter": true,
            "good": source(&within(good)),
            "total": source(&within(total)),
        }}),
        Indicator::Quality {
            score,
            min,
            max,
            labels,
        } => {
            let good = ScoreCount {
                score: score.clone(),
                min: *min,
                max: *max,
                labels: labels.clone(),
            };
            let total = ScoreCount {
                score: score.clone(),
                min: None,
                max: None,
                labels: Vec::new(),
            };
            json!({ "ratioMetric": {
                "counter": true,
                "good": good.source(),
                "total": total.source(),
            }})
        }
        Indicator::Cost { of, max_usd } => {
            objective["op"] = json!("lte");
            objective["value"] = json!(max_usd);
            let spec = CostCount {
                cost_of: *of,
                scope: slo.scope.clone(),
            };
            json!({ "thresholdMetric": metric_source(strip_nulls(
                serde_json::to_value(&spec).unwrap_or(Value::Null)
            )) })
        }
        Indicator::Success { of } => {
            let total = within(&Count::of(*of));
            let good = Count {
                status: Some(Status::Ok),
                ..total.clone()
            };
            json!({ "ratioMetric": {
                "counter": true,
                "good": source(&good),
                "total": source(&total),
            }})
        }
    };
    let policies: Vec<Value> = slo
        .burn_alerts
        .iter()
        .map(|a| {
            let policy = suffixed(
                name,
                format!("burn-{}-{}", shorthand(a.long), shorthand(a.short)),
            );
            json!({
                "kind": "AlertPolicy",
                "metadata": {
                    "name": policy,
                    "annotations": { SHORT_WINDOW: shorthand(a.short) },
                },
                "spec": {
                    "alertWhenBreaching": true,
                    "alertWhenResolved": true,
                    "alertWhenNoData": false,
                    "conditions": [{
                        "kind": "AlertCondition",
                        "metadata": { "name": policy },
                        "spec": {
                            "severity": match a.severity {
                                Severity::Critical => "critical",
                                Severity::Warning => "warning",
                            },
                            "condition": {
                                "kind": "burnrate",
                                "op": "gte",
                                "threshold": a.factor,
                                "lookbackWindow": shorthand(a.long),
                                "alertAfter": "0m",
                            },
                        },
                    }],
                    "notificationTargets": [],
                },
            })
        })
        .collect();
    let mut spec = json!({
        "service": slo.scope.service.as_deref().map_or_else(|| "agentrace".to_owned(), rfc1123),
        "indicator": {
            "metadata": { "name": suffixed(name, "sli") },
            "spec": indicator,
        },
        "timeWindow": [time_window(slo)],
        "budgetingMethod": "Occurrences",
        "objectives": [objective],
        "alertPolicies": policies,
    });
    if let Some(d) = &slo.description {
        spec["description"] = json!(d);
    }
    json!({
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": { "name": name, "displayName": slo.name },
        "spec": spec,
    })
}

/// The SLO's window: rolling, or a UTC calendar day, week or month (from a start that is a
/// Monday and the first of a month).
fn time_window(slo: &Slo) -> Value {
    let calendar = |duration: &str| {
        json!({
            "duration": duration,
            "calendar": { "startTime": "2024-01-01 00:00:00", "timeZone": "UTC" },
            "isRolling": false,
        })
    };
    match slo.calendar {
        Some(Period::Day) => calendar("1d"),
        Some(Period::Week) => calendar("1w"),
        Some(Period::Month) => calendar("1M"),
        _ => json!({ "duration": shorthand(slo.window), "isRolling": true }),
    }
}

/// A name as OpenSLO requires (RFC 1123: at most 63 of `a-z0-9-`, alphanumeric at both ends).
fn rfc1123(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.truncate(63);
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "slo".into() } else { out }
}

/// `name-suffix`, cut so that it stays a name.
fn suffixed(name: &str, suffix: impl std::fmt::Display) -> String {
    let suffix = format!("-{suffix}");
    let keep = 63usize.saturating_sub(suffix.len());
    let head: String = name.chars().take(keep).collect();
    format!("{}{suffix}", head.trim_end_matches('-'))
}

/// A whole number of minutes as OpenSLO's shorthand: `28d`, `6h`, `5m`.
fn shorthand(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    if minutes > 0 && minutes.is_multiple_of(1_440) {
        format!("{}d", minutes / 1_440)
    } else if minutes > 0 && minutes.is_multiple_of(60) {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

/// OpenSLO's shorthand as a duration; months, quarters and years as 30, 91 and 365 days (said
/// in `notes`).
fn parse_shorthand(text: &str, notes: &mut Vec<String>, at: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let minutes = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 1_440,
        "w" => 7 * 1_440,
        "M" | "Q" | "Y" => {
            let days = match unit {
                "M" => 30,
                "Q" => 91,
                _ => 365,
            };
            notes.push(format!(
                "{at}: {text} taken as {} days (a rolling window has no calendar months)",
                n * days
            ));
            days * 1_440
        }
        _ => return None,
    };
    Some(Duration::from_secs(
        n.checked_mul(minutes)?.checked_mul(60)?,
    ))
}

/// `slos` as the alerts file writes them (`[[slos]]` tables), to add to one.
pub fn alerts_toml(slos: &[Slo]) -> Result<String, OpensloError> {
    #[derive(serde::Serialize)]
    struct File<'a> {
        slos: &'a [Slo],
    }
    toml::to_string(&File { slos }).map_err(|e| OpensloError::Write(e.to_string()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    spec: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// Reads the OpenSLO documents of `yaml` (one or many, `---` between them): its `kind: SLO`
/// documents that agentrace can judge become SLOs; the rest is said in the notes.
pub fn import(yaml: &str) -> Result<Imported, OpensloError> {
    let values: Vec<Value> =
        serde_saphyr::from_multiple(yaml).map_err(|e| OpensloError::Parse(e.to_string()))?;
    let docs: Vec<Document> = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v)
                .map_err(|e| OpensloError::Parse(format!("document {}: {e}", i + 1)))
        })
        .collect::<Result<_, _>>()?;
    let slis: HashMap<&str, &Value> = docs
        .iter()
        .filter(|d| d.kind == "SLI")
        .map(|d| (d.metadata.name.as_str(), &d.spec))
        .collect();
    let mut out = Imported::default();
    for doc in &docs {
        let at = format!("{} {:?}", doc.kind, doc.metadata.name);
        if doc.api_version != "openslo/v1" {
            out.notes.push(format!(
                "{at}: apiVersion {:?} left out (openslo/v1 is read)",
                doc.api_version
            ));
            continue;
        }
        match doc.kind.as_str() {
            "SLO" => match slo_of(doc, &slis, &at, &mut out.notes) {
                Ok(slo) => match slo.validate() {
                    Ok(()) => out.slos.push(slo),
                    Err(e) => out.notes.push(format!("{at}: left out: {}", e.reason)),
                },
                Err(why) => out.notes.push(format!("{at}: left out: {why}")),
            },
            "SLI" => {}
            other => out.notes.push(format!(
                "{at}: a {other} is not used (agentrace reads SLOs, their SLIs and their inline alert policies)"
            )),
        }
    }
    Ok(out)
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn slo_of(
    doc: &Document,
    slis: &HashMap<&str, &Value>,
    at: &str,
    notes: &mut Vec<String>,
) -> Result<Slo, String> {
    let spec = &doc.spec;
    let method = text(spec, "budgetingMethod").unwrap_or("Occurrences");
    if method != "Occurrences" {
        return Err(format!(
            "budgetingMethod {method} (agentrace counts occurrences: good events ÷ all events)"
        ));
    }
    let windows = spec.get("timeWindow").and_then(Value::as_array);
    let (window, calendar) = match windows.map(Vec::as_slice) {
        Some([w]) => {
            let duration = text(w, "duration").ok_or("a timeWindow without a duration")?;
            if w.get("calendar").is_some() || w.get("isRolling") == Some(&Value::Bool(false)) {
                (Duration::ZERO, Some(calendar_of(w, duration)?))
            } else {
                let rolling = parse_shorthand(duration, notes, at).ok_or_else(|| {
                    format!("timeWindow duration {duration:?} is not a shorthand")
                })?;
                (rolling, None)
            }
        }
        _ => return Err("not exactly one timeWindow".into()),
    };
    let objectives = spec
        .get("objectives")
        .and_then(Value::as_array)
        .filter(|o| !o.is_empty())
        .ok_or("no objectives")?;
    if objectives.len() > 1 {
        notes.push(format!(
            "{at}: {} objectives; the first is taken (agentrace has no composite SLOs)",
            objectives.len()
        ));
    }
    let objective = &objectives[0];
    let target = match (
        objective.get("target").and_then(Value::as_f64),
        objective.get("targetPercent").and_then(Value::as_f64),
    ) {
        (Some(t), _) => t,
        (None, Some(p)) => p / 100.0,
        (None, None) => return Err("an objective without target".into()),
    };
    let sli = match (spec.get("indicator"), text(spec, "indicatorRef")) {
        (Some(inline), _) => inline.get("spec").unwrap_or(&Value::Null),
        (None, Some(name)) => *slis
            .get(name)
            .ok_or_else(|| format!("indicatorRef {name:?} names no SLI of the file"))?,
        (None, None) => return Err("no indicator".into()),
    };
    let indicator = indicator_of(sli, objective)?;
    // The SLO's scope: what its total counts (a ratio's counts keep theirs within it).
    let (indicator, scope) = match indicator {
        Indicator::Ratio { good, total }
            if good.of == total.of
                && good.scope == total.scope
                && good.status == Some(Status::Ok)
                && total.status.is_none() =>
        {
            (Indicator::Success { of: total.of }, total.scope)
        }
        Indicator::Ratio { good, total } => {
            let scope = total.scope.clone();
            (Indicator::Ratio { good, total }, scope)
        }
        other => {
            let scope = count_scope(sli)?.unwrap_or_default();
            (other, scope)
        }
    };
    let mut slo = Slo::new(
        doc.metadata
            .display_name
            .clone()
            .unwrap_or_else(|| doc.metadata.name.clone()),
        indicator,
        target,
        window,
    );
    slo.scope = scope;
    slo.calendar = calendar;
    slo.description = text(spec, "description").map(str::to_owned);
    slo.burn_alerts = burn_alerts(spec, at, notes);
    Ok(slo)
}

/// A calendar-aligned window agentrace keeps: a UTC day, week or month.
fn calendar_of(window: &Value, duration: &str) -> Result<Period, String> {
    let zone = window
        .pointer("/calendar/timeZone")
        .and_then(Value::as_str)
        .unwrap_or("UTC");
    if !matches!(zone, "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT") {
        return Err(format!(
            "a calendar window in time zone {zone:?} (agentrace's calendar windows are UTC)"
        ));
    }
    match duration {
        "1d" => Ok(Period::Day),
        "1w" => Ok(Period::Week),
        "1M" => Ok(Period::Month),
        other => Err(format!(
            "a calendar window of {other} (agentrace's are a day, a week from Monday, or a month)"
        )),
    }
}

/// An agentrace metric source's count, or why the source is not one.
fn count_of(holder: &Value) -> Result<Count, String> {
    let source = holder
        .get("metricSource")
        .ok_or("a metric without metricSource")?;
    if let Some(r) = text(source, "metricSourceRef") {
        return Err(format!(
            "metricSourceRef {r:?} (a DataSource agentrace does not read; write `type: {SOURCE_TYPE}` with a count)"
        ));
    }
    match text(source, "type") {
        Some(SOURCE_TYPE) => {
            serde_json::from_value(source.get("spec").cloned().unwrap_or(Value::Null))
                .map_err(|e| format!("its {SOURCE_TYPE} metric source's spec: {e}"))
        }
        Some(other) => Err(format!(
            "its metric source is of type {other:?}: agentrace judges SLOs on the spans it stores, not on {other} queries (docs/slos.md, \"OpenSLO\")"
        )),
        None => Err("a metric source without a type".into()),
    }
}

/// A quality indicator, when the ratio's metric sources count scores: `good` the scores of a
/// name that pass, `total` all of them.
fn quality_of(good: &Value, total: &Value) -> Result<Option<Indicator>, String> {
    let spec = |holder: &Value| {
        holder
            .pointer("/metricSource/spec/score")
            .is_some()
            .then(|| {
                serde_json::from_value::<ScoreCount>(
                    holder
                        .pointer("/metricSource/spec")
                        .cloned()
                        .unwrap_or(Value::Null),
                )
                .map_err(|e| format!("its {SOURCE_TYPE} metric source's score spec: {e}"))
            })
            .transpose()
    };
    match (spec(good)?, spec(total)?) {
        (None, None) => Ok(None),
        (Some(good), Some(total))
            if good.score == total.score && good.passes_some() && !total.passes_some() =>
        {
            Ok(Some(Indicator::Quality {
                score: good.score,
                min: good.min,
                max: good.max,
                labels: good.labels,
            }))
        }
        _ => Err(
            "a ratio of scores whose `good` is not the `total`'s score with what passes \
             (min, max, labels) and whose `total` is not all of them"
                .into(),
        ),
    }
}

/// The scope of a threshold indicator's count (or cost spec).
fn count_scope(sli: &Value) -> Result<Option<crate::Scope>, String> {
    match sli.get("thresholdMetric") {
        Some(m) => match cost_count(m)? {
            Some(cost) => Ok(Some(cost.scope)),
            None => Ok(Some(count_of(m)?.scope)),
        },
        None => Ok(None),
    }
}

fn indicator_of(sli: &Value, objective: &Value) -> Result<Indicator, String> {
    if let Some(ratio) = sli.get("ratioMetric") {
        if ratio.get("raw").is_some() || ratio.get("bad").is_some() {
            return Err("a ratioMetric of `raw` or `bad` (agentrace counts good and total)".into());
        }
        let good = ratio.get("good").ok_or("a ratioMetric without good")?;
        let total = ratio.get("total").ok_or("a ratioMetric without total")?;
        if let Some(quality) = quality_of(good, total)? {
            return Ok(quality);
        }
        let good = count_of(good)?;
        let total = count_of(total)?;
        return Ok(Indicator::Ratio {
            good: Box::new(good),
            total: Box::new(total),
        });
    }
    let metric = sli
        .get("thresholdMetric")
        .ok_or("an indicator without ratioMetric or thresholdMetric")?;
    if let Some(cost) = cost_count(metric)? {
        return match (
            text(objective, "op"),
            objective.get("value").and_then(Value::as_f64),
        ) {
            (Some("lte" | "lt"), Some(usd)) if usd.is_finite() && usd >= 0.0 => {
                Ok(Indicator::Cost {
                    of: cost.cost_of,
                    max_usd: usd,
                })
            }
            _ => Err("a cost objective other than `op: lte` and a `value` in dollars".into()),
        };
    }
    let count = count_of(metric)?;
    match (text(objective, "op"), objective.get("value").and_then(Value::as_f64)) {
        (Some("lte" | "lt"), Some(seconds)) if seconds.is_finite() && seconds > 0.0 => {
            Ok(Indicator::Latency {
                of: count.of,
                threshold: Duration::from_secs_f64(seconds),
            })
        }
        _ => Err("a thresholdMetric objective other than `op: lte` and a `value` in seconds (a latency objective)".into()),
    }
}

fn burn_alerts(spec: &Value, at: &str, notes: &mut Vec<String>) -> Vec<BurnAlert> {
    let Some(policies) = spec.get("alertPolicies").and_then(Value::as_array) else {
        notes.push(format!(
            "{at}: no alertPolicies; the SRE workbook's burn-rate alerts are taken"
        ));
        return BurnAlert::workbook();
    };
    let mut alerts = Vec::new();
    for policy in policies {
        if let Some(r) = text(policy, "alertPolicyRef") {
            notes.push(format!(
                "{at}: alertPolicyRef {r:?} not followed (inline policies are read)"
            ));
            continue;
        }
        let short = policy
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(SHORT_WINDOW))
            .and_then(Value::as_str)
            .map(str::to_owned);
        for condition in policy
            .pointer("/spec/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(c) = condition.pointer("/spec/condition") else {
                notes.push(format!(
                    "{at}: an alert condition by reference not followed"
                ));
                continue;
            };
            let long = text(c, "lookbackWindow").and_then(|w| parse_shorthand(w, notes, at));
            let factor = c.get("threshold").and_then(Value::as_f64);
            let op = text(c, "op");
            let (Some(long), Some(factor), Some("gte" | "gt")) = (long, factor, op) else {
                notes.push(format!(
                    "{at}: an alert condition other than a burn rate at or above a threshold over a lookbackWindow"
                ));
                continue;
            };
            let short = match short.as_deref().and_then(|s| parse_shorthand(s, notes, at)) {
                Some(s) => s,
                None => {
                    let s = Duration::from_secs((long.as_secs() / 12 / 60).max(1) * 60);
                    notes.push(format!(
                        "{at}: the {} burn-rate alert has no short window ({SHORT_WINDOW}); {} (a twelfth, as the SRE workbook pairs them)",
                        shorthand(long),
                        shorthand(s)
                    ));
                    s
                }
            };
            let severity = match condition.pointer("/spec/severity").and_then(Value::as_str) {
                Some("warning" | "ticket" | "info" | "low") => Severity::Warning,
                _ => Severity::Critical,
            };
            alerts.push(BurnAlert {
                long,
                short,
                factor,
                severity,
            });
        }
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;
    use crate::slo::Target;

    fn slos() -> Vec<Slo> {
        let days = |n: u64| Duration::from_secs(n * 86_400);
        let mut support = Slo::new(
            "support runs succeed",
            Indicator::Success {
                of: Target::AgentRuns,
            },
            0.9,
            days(28),
        );
        support.scope.service = Some("support-bot".into());
        support.description = Some("nine in ten".into());
        let mut fast = Slo::new(
            "research runs finish within a minute",
            Indicator::Latency {
                of: Target::AgentRuns,
                threshold: Duration::from_secs(60),
            },
            0.95,
            days(28),
        );
        fast.scope.agent = Some("researcher".into());
        let small = Slo::new(
            "the small model serves",
            Indicator::Ratio {
                good: Box::new(Count {
                    scope: Scope {
                        model: Some("gpt-4o-mini".into()),
                        ..Scope::default()
                    },
                    ..Count::of(Target::LlmCalls)
                }),
                total: Box::new(Count::of(Target::LlmCalls)),
            },
            0.8,
            days(7),
        );
        let weekly = Slo::new(
            "tools work this week",
            Indicator::Success {
                of: Target::ToolCalls,
            },
            0.99,
            days(7),
        )
        .calendar(Period::Week);
        let grounded = Slo::new(
            "answers are grounded",
            Indicator::Quality {
                score: "groundedness".into(),
                min: Some(0.7),
                max: None,
                labels: vec!["grounded".into()],
            },
            0.9,
            days(7),
        );
        let mut cheap = Slo::new(
            "a ticket costs under 40 cents",
            Indicator::Cost {
                of: CostUnit::Traces,
                max_usd: 0.4,
            },
            0.95,
            days(28),
        );
        cheap.scope.service = Some("support-bot".into());
        let mut cheap_runs = Slo::new(
            "a research run costs under 10 cents",
            Indicator::Cost {
                of: CostUnit::AgentRuns,
                max_usd: 0.1,
            },
            0.9,
            days(28),
        );
        cheap_runs.scope.agent = Some("research".into());
        vec![support, fast, small, weekly, grounded, cheap, cheap_runs]
    }

    #[test]
    fn every_indicator_goes_out_and_comes_back_the_same() -> Result<(), OpensloError> {
        let yaml = export(&slos())?;
        assert_eq!(yaml.matches("apiVersion: openslo/v1").count(), 7, "{yaml}");
        assert!(yaml.contains("timeZone: UTC"), "{yaml}");
        assert!(yaml.contains("budgetingMethod: Occurrences"));
        assert!(yaml.contains("lookbackWindow: 3d"), "{yaml}");
        assert!(yaml.contains("agentrace.dev/short-window: 6h"), "{yaml}");
        assert!(!yaml.contains("null"), "no empty fields: {yaml}");
        let back = import(&yaml)?;
        assert_eq!(back.notes, Vec::<String>::new());
        assert_eq!(back.slos, slos());
        // And as the alerts file writes them: read back by the alerts file's own reader.
        let toml = alerts_toml(&back.slos)?;
        let config: crate::AlertsConfig =
            toml::from_str(&toml).map_err(|e| OpensloError::Parse(format!("{e}: {toml}")))?;
        assert_eq!(config.slos, slos());
        Ok(())
    }

    #[test]
    fn names_become_rfc_1123_and_stay_unique() {
        assert_eq!(rfc1123("Support Runs: succeed!"), "support-runs-succeed");
        assert_eq!(rfc1123("§§§"), "slo");
        assert_eq!(rfc1123(&"x".repeat(80)).len(), 63);
        assert_eq!(suffixed(&"a".repeat(63), "sli").len(), 63);
        let twice = vec![slos()[0].clone(), slos()[0].clone()];
        let yaml = export(&twice).unwrap_or_default();
        assert!(
            yaml.contains("name: support-runs-succeed\n")
                && yaml.contains("name: support-runs-succeed-2\n"),
            "{yaml}"
        );
    }

    #[test]
    fn what_cannot_be_honoured_is_said_and_the_rest_is_read() -> Result<(), OpensloError> {
        let yaml = r#"
apiVersion: openslo/v1
kind: SLO
metadata:
  name: prom-availability
spec:
  service: web
  indicator:
    metadata: { name: prom }
    spec:
      ratioMetric:
        counter: true
        good: { metricSource: { type: Prometheus, spec: { query: 'sum(ok)' } } }
        total: { metricSource: { type: Prometheus, spec: { query: 'sum(all)' } } }
  timeWindow: [{ duration: 1M, calendar: { startTime: '2020-01-01 00:00:00', timeZone: UTC } }]
  budgetingMethod: Occurrences
  objectives: [{ target: 0.99 }]
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: sliced
spec:
  service: web
  indicatorRef: tools
  timeWindow: [{ duration: 4w, isRolling: true }]
  budgetingMethod: Timeslices
  objectives: [{ target: 0.9, timeSliceTarget: 0.9, timeSliceWindow: 5m }]
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: tools
spec:
  ratioMetric:
    counter: true
    good: { metricSource: { type: agentrace, spec: { of: tool_calls, status: ok } } }
    total: { metricSource: { type: agentrace, spec: { of: tool_calls } } }
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: tools-work
  displayName: tools work
spec:
  service: agents
  indicatorRef: tools
  timeWindow: [{ duration: 1M, isRolling: true }]
  budgetingMethod: Occurrences
  objectives: [{ targetPercent: 99.5 }, { target: 0.9 }]
  alertPolicies:
    - kind: AlertPolicy
      metadata: { name: fast-burn }
      spec:
        conditions:
          - kind: AlertCondition
            metadata: { name: fast-burn }
            spec: { severity: page, condition: { kind: burnrate, op: gte, threshold: 14.4, lookbackWindow: 1h, alertAfter: 5m } }
        notificationTargets: []
    - alertPolicyRef: elsewhere
---
apiVersion: openslo/v1
kind: Service
metadata:
  name: web
spec: {}
"#;
        let got = import(yaml)?;
        assert_eq!(got.slos.len(), 1, "{:?}", got.notes);
        let slo = &got.slos[0];
        assert_eq!(slo.name, "tools work");
        assert_eq!(
            slo.indicator,
            Indicator::Success {
                of: Target::ToolCalls
            }
        );
        assert!((slo.objective - 0.995).abs() < 1e-12);
        assert_eq!(slo.window, Duration::from_secs(30 * 86_400));
        assert_eq!(
            slo.burn_alerts,
            vec![BurnAlert {
                long: Duration::from_secs(3_600),
                short: Duration::from_secs(300),
                factor: 14.4,
                severity: Severity::Critical,
            }]
        );
        let said = got.notes.join("\n");
        for expected in [
            "SLO \"prom-availability\": left out: its metric source is of type \"Prometheus\": agentrace judges SLOs on the spans it stores",
            "SLO \"sliced\": left out: budgetingMethod Timeslices",
            "SLO \"tools-work\": 1M taken as 30 days",
            "SLO \"tools-work\": 2 objectives; the first is taken",
            "SLO \"tools-work\": the 1h burn-rate alert has no short window",
            "SLO \"tools-work\": alertPolicyRef \"elsewhere\" not followed",
            "Service \"web\": a Service is not used",
        ] {
            assert!(said.contains(expected), "{expected:?} in:\n{said}");
        }
        // A calendar month of another time zone: said as such.
        let zoned = yaml.replace("timeZone: UTC", "timeZone: America/New_York");
        let got = import(&zoned)?;
        assert!(
            got.notes.iter().any(|n| n.contains(
                "left out: a calendar window in time zone \"America/New_York\" (agentrace's calendar windows are UTC)"
            )),
            "{:?}",
            got.notes
        );
        assert!(matches!(
            import("kind: [unclosed"),
            Err(OpensloError::Parse(_))
        ));
        Ok(())
    }

    #[test]
    fn a_ratio_of_two_scores_is_not_a_quality_objective() -> Result<(), OpensloError> {
        let yaml = export(&slos()[4..5])?;
        let other = yaml.replacen("score: groundedness", "score: helpfulness", 1);
        assert_ne!(other, yaml);
        let got = import(&other)?;
        assert!(got.slos.is_empty());
        assert!(
            got.notes.iter().any(|n| n
                .contains("left out: a ratio of scores whose `good` is not the `total`'s score")),
            "{:?}",
            got.notes
        );
        Ok(())
    }
}
