//! Metrics derived from records: the OTel GenAI client metrics plus agent, tool, error and cost
//! counters, emitted as [`Measurement`]s to every [`MetricSink`](crate::MetricSink).
//!
//! Labels are low-cardinality only — never session, user, trace or span ids — so a metrics
//! backend stays small however many conversations run:
//!
//! | metric | kind, unit | labels |
//! |---|---|---|
//! | `gen_ai.client.token.usage` | histogram, `{token}` | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.token.type` (`input`, `output`) |
//! | `gen_ai.client.operation.duration` | histogram, `s` | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `error.type` (on failure) |
//! | `agentrace.cost` | counter, `USD` | `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.agent.name`, `agentrace.framework` |
//! | `agentrace.agent.runs` | counter, `{run}` | `gen_ai.agent.name`, `agentrace.framework`, `agentrace.status` (`ok`, `error`) |
//! | `agentrace.tool.calls` | counter, `{call}` | `gen_ai.tool.name`, `agentrace.status` |
//! | `agentrace.llm.errors` | counter, `{error}` | `gen_ai.provider.name`, `error.type` |
//! | `agentrace.guardrail.checks` | counter, `{check}` | `agentrace.guardrail` (the guardrail span's name: keep it fixed), `agentrace.status`, `error.type` (blocked ones) |
//!
//! User-defined counters, up-down counters, gauges and histograms take the same path, through a
//! [`Meter`] (`guard.meter()`).
//!
//! Histogram bucket boundaries are the sink's; the advised ones are [`TOKEN_USAGE_BUCKETS`] and
//! [`DURATION_BUCKETS_SECONDS`]. A label whose value a span does not have is left out rather than
//! reported empty; a failure without an `error.type` is labelled `_OTHER`, as OTel advises.

use std::borrow::Cow;

#[cfg(feature = "pipeline")]
mod instruments;

#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub use instruments::{Instrument, Meter};

use crate::model::{InstrumentKind, Labels, Measurement, SpanKind, SpanRecord, StatusCode, Text};
use crate::normalize::is_aggregate;
use crate::processor::{ProcessContext, Processor, Verdict};
use crate::semconv::{agentrace, gen_ai};

/// Advised buckets of `gen_ai.client.token.usage` (OTel GenAI v1.41).
pub const TOKEN_USAGE_BUCKETS: [f64; 14] = [
    1.0,
    4.0,
    16.0,
    64.0,
    256.0,
    1_024.0,
    4_096.0,
    16_384.0,
    65_536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

/// Advised buckets of `gen_ai.client.operation.duration`, in seconds (OTel GenAI v1.41).
pub const DURATION_BUCKETS_SECONDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// Cost in USD.
pub const COST: &str = "agentrace.cost";
/// Agent runs.
pub const AGENT_RUNS: &str = "agentrace.agent.runs";
/// Tool calls.
pub const TOOL_CALLS: &str = "agentrace.tool.calls";
/// Failed LLM calls.
pub const LLM_ERRORS: &str = "agentrace.llm.errors";
/// Guardrail checks (spans of kind guardrail), by name, status and, when blocked, error type.
pub const GUARDRAIL_CHECKS: &str = "agentrace.guardrail.checks";
/// The status label (`ok`, `error`).
pub const STATUS: &str = "agentrace.status";
/// The guardrail label: the guardrail span's name.
pub const GUARDRAIL_NAME: &str = "agentrace.guardrail";

/// Text as Prometheus writes it in a metric name: ASCII letters and digits lower-cased, every
/// other character `_` (`gen_ai.client.token.usage` → `gen_ai_client_token_usage`). The
/// Prometheus backend compares names and units in this form; the alert rules' Prometheus
/// export names its recording rules with it.
///
/// ```
/// assert_eq!(agentrace_core::metrics::prometheus_slug("Tool errors: kb.search"), "tool_errors__kb_search");
/// ```
pub fn prometheus_slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Derives the metrics of the module docs from every span. Put it after the price processor
/// (cost comes from the stamped price).
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsProcessor;

fn push(labels: &mut Labels, key: &'static str, value: Option<&str>) {
    if let Some(v) = value {
        labels.push((Cow::Borrowed(key), Text::new(v)));
    }
}

fn measure(
    name: &'static str,
    kind: InstrumentKind,
    unit: &'static str,
    value: f64,
    labels: Labels,
    at: u64,
) -> Measurement {
    Measurement {
        name: Cow::Borrowed(name),
        kind,
        unit: Some(Cow::Borrowed(unit)),
        value,
        labels,
        time_unix_nano: at,
    }
}

fn status(span: &SpanRecord) -> &'static str {
    if span.status.code == StatusCode::Error {
        "error"
    } else {
        "ok"
    }
}

/// The `error.type` of a failed span: its attribute, else `_OTHER` (the OTel fallback).
fn error_type(span: &SpanRecord) -> Option<String> {
    (span.status.code == StatusCode::Error).then(|| {
        span.attributes
            .get(gen_ai::ERROR_TYPE)
            .map_or_else(|| "_OTHER".to_owned(), ToString::to_string)
    })
}

impl Processor for MetricsProcessor {
    fn name(&self) -> &str {
        "metrics"
    }

    fn process_span(&self, span: &mut SpanRecord, cx: &mut ProcessContext) -> Verdict {
        let at = span.end_time_unix_nano;
        match span.kind {
            // A call wrapping a call is not one (its usage was moved out: docs/conventions.md,
            // "Aggregates").
            SpanKind::Llm | SpanKind::Embedding if !is_aggregate(span) => {
                // Sized so that no label list ever grows: one allocation per measurement.
                let mut base = Labels::with_capacity(4);
                push(&mut base, gen_ai::OPERATION_NAME, span.operation.as_deref());
                push(&mut base, gen_ai::PROVIDER_NAME, span.provider.as_deref());
                push(
                    &mut base,
                    gen_ai::REQUEST_MODEL,
                    span.request_model.as_deref().or(span.model()),
                );
                for (token_type, tokens) in [
                    ("input", span.usage.input_tokens),
                    ("output", span.usage.output_tokens),
                ] {
                    if tokens > 0 {
                        let mut labels = Labels::with_capacity(base.len() + 1);
                        labels.extend_from_slice(&base);
                        labels.push((Cow::Borrowed(gen_ai::TOKEN_TYPE), Text::new(token_type)));
                        cx.emit(measure(
                            gen_ai::CLIENT_TOKEN_USAGE,
                            InstrumentKind::Histogram,
                            "{token}",
                            tokens as f64,
                            labels,
                            at,
                        ));
                    }
                }
                let error = error_type(span);
                let mut duration = base;
                push(&mut duration, gen_ai::ERROR_TYPE, error.as_deref());
                let seconds = span.duration_ns() as f64 / 1e9;
                cx.emit(measure(
                    gen_ai::CLIENT_OPERATION_DURATION,
                    InstrumentKind::Histogram,
                    "s",
                    seconds,
                    duration,
                    at,
                ));
                if let Some(cost) = span.cost {
                    let mut labels = Labels::with_capacity(4);
                    push(&mut labels, gen_ai::PROVIDER_NAME, span.provider.as_deref());
                    push(
                        &mut labels,
                        gen_ai::REQUEST_MODEL,
                        span.request_model.as_deref().or(span.model()),
                    );
                    push(&mut labels, gen_ai::AGENT_NAME, span.agent_name.as_deref());
                    push(&mut labels, agentrace::FRAMEWORK, span.framework.as_deref());
                    cx.emit(measure(
                        COST,
                        InstrumentKind::Counter,
                        "USD",
                        cost.total.dollars(),
                        labels,
                        at,
                    ));
                }
                if let Some(error) = error {
                    let mut labels = Labels::new();
                    push(&mut labels, gen_ai::PROVIDER_NAME, span.provider.as_deref());
                    labels.push((Cow::Borrowed(gen_ai::ERROR_TYPE), Text::from(error)));
                    cx.emit(measure(
                        LLM_ERRORS,
                        InstrumentKind::Counter,
                        "{error}",
                        1.0,
                        labels,
                        at,
                    ));
                }
            }
            SpanKind::Agent => {
                let mut labels = Labels::new();
                push(&mut labels, gen_ai::AGENT_NAME, span.agent_name.as_deref());
                push(&mut labels, agentrace::FRAMEWORK, span.framework.as_deref());
                labels.push((Cow::Borrowed(STATUS), Text::new(status(span))));
                cx.emit(measure(
                    AGENT_RUNS,
                    InstrumentKind::Counter,
                    "{run}",
                    1.0,
                    labels,
                    at,
                ));
            }
            SpanKind::Tool => {
                let mut labels = Labels::new();
                push(&mut labels, gen_ai::TOOL_NAME, span.tool_name.as_deref());
                labels.push((Cow::Borrowed(STATUS), Text::new(status(span))));
                cx.emit(measure(
                    TOOL_CALLS,
                    InstrumentKind::Counter,
                    "{call}",
                    1.0,
                    labels,
                    at,
                ));
            }
            SpanKind::Guardrail => {
                let mut labels = Labels::new();
                labels.push((Cow::Borrowed(GUARDRAIL_NAME), span.name.clone()));
                labels.push((Cow::Borrowed(STATUS), Text::new(status(span))));
                push(&mut labels, gen_ai::ERROR_TYPE, error_type(span).as_deref());
                cx.emit(measure(
                    GUARDRAIL_CHECKS,
                    InstrumentKind::Counter,
                    "{check}",
                    1.0,
                    labels,
                    at,
                ));
            }
            _ => {}
        }
        Verdict::Keep
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Cost, Resource, SpanId, SpanStatus, TokenUsage, TraceId, Usd};

    fn span(kind: SpanKind) -> SpanRecord {
        let mut s = SpanRecord::new(
            TraceId::random(),
            SpanId::random(),
            "s",
            0,
            1_500_000_000,
            Arc::new(Resource::new("t")),
        );
        s.kind = kind;
        s.session_id = Some("session-never-a-label".into());
        s.user_id = Some("user-never-a-label".into());
        s
    }

    fn label<'a>(m: &'a Measurement, key: &str) -> Option<&'a str> {
        m.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn llm_spans_give_tokens_duration_cost_and_errors() {
        let mut s = span(SpanKind::Llm);
        s.operation = Some("chat".into());
        s.provider = Some("openai".into());
        s.request_model = Some("gpt-4o".into());
        s.agent_name = Some("researcher".into());
        s.usage = TokenUsage::new(1_200, 300);
        s.cost = Some(Cost::from_parts(
            Usd::from_dollars(0.002),
            Usd::ZERO,
            Usd::ZERO,
            Usd::from_dollars(0.001),
        ));
        s.status = SpanStatus::error("rate limited");
        s.attributes.insert("error.type", "429");
        let mut cx = ProcessContext::new();
        let _ = MetricsProcessor.process_span(&mut s, &mut cx);
        let m = cx.take_measurements();
        let names: Vec<_> = m.iter().map(|m| m.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "gen_ai.client.token.usage",
                "gen_ai.client.token.usage",
                "gen_ai.client.operation.duration",
                "agentrace.cost",
                "agentrace.llm.errors"
            ]
        );
        assert_eq!(
            (m[0].value, label(&m[0], "gen_ai.token.type")),
            (1_200.0, Some("input"))
        );
        assert_eq!(
            (m[1].value, label(&m[1], "gen_ai.token.type")),
            (300.0, Some("output"))
        );
        assert_eq!((m[2].value, label(&m[2], "error.type")), (1.5, Some("429")));
        assert_eq!(
            (m[3].value, label(&m[3], "gen_ai.agent.name")),
            (0.003, Some("researcher"))
        );
        assert_eq!(label(&m[4], "error.type"), Some("429"));
        for measurement in &m {
            assert!(
                measurement
                    .labels
                    .iter()
                    .all(|(_, v)| !v.contains("never-a-label")),
                "{measurement:?}"
            );
        }
    }

    #[test]
    fn agents_and_tools_are_counted_with_status() {
        let mut agent = span(SpanKind::Agent);
        agent.agent_name = Some("planner".into());
        let mut tool = span(SpanKind::Tool);
        tool.tool_name = Some("web_search".into());
        tool.status = SpanStatus::error("timeout");
        let mut chain = span(SpanKind::Chain);
        let mut cx = ProcessContext::new();
        for s in [&mut agent, &mut tool, &mut chain] {
            let _ = MetricsProcessor.process_span(s, &mut cx);
        }
        let m = cx.take_measurements();
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].name.as_ref(), label(&m[0], "agentrace.status")),
            ("agentrace.agent.runs", Some("ok"))
        );
        assert_eq!(
            (
                m[1].name.as_ref(),
                label(&m[1], "gen_ai.tool.name"),
                label(&m[1], "agentrace.status")
            ),
            ("agentrace.tool.calls", Some("web_search"), Some("error"))
        );
    }

    #[test]
    fn guardrail_checks_are_counted_with_their_block() {
        let mut passed = span(SpanKind::Guardrail);
        passed.name = "input_safety".into();
        let mut blocked = span(SpanKind::Guardrail);
        blocked.name = "input_safety".into();
        blocked.status = SpanStatus::error("blocked");
        blocked
            .attributes
            .insert(gen_ai::ERROR_TYPE, "prompt_injection");
        let mut cx = ProcessContext::new();
        for s in [&mut passed, &mut blocked] {
            let _ = MetricsProcessor.process_span(s, &mut cx);
        }
        let m = cx.take_measurements();
        let seen: Vec<_> = m
            .iter()
            .map(|m| {
                (
                    m.name.as_ref(),
                    label(m, "agentrace.guardrail"),
                    label(m, "agentrace.status"),
                    label(m, "error.type"),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "agentrace.guardrail.checks",
                    Some("input_safety"),
                    Some("ok"),
                    None
                ),
                (
                    "agentrace.guardrail.checks",
                    Some("input_safety"),
                    Some("error"),
                    Some("prompt_injection")
                ),
            ]
        );
    }
}
