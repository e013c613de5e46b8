//! Log requests: each log record becomes an [`Event`].

use std::sync::Arc;

use agentrace_core::semconv::{agentrace, gen_ai, langfuse, openinference, otel, traceloop};
use agentrace_core::{AttributeValue, Event, EventKind, Level, Resource, Text};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;

use crate::reject::{self, Hex, Rejection, Short};
use crate::resource::{self, Scope};
use crate::value::Converter;
use crate::{Decoded, Limits};

/// Session id keys of log attributes, first match wins (the span precedence).
const SESSION_KEYS: [&str; 5] = [
    agentrace::SESSION_ID,
    gen_ai::CONVERSATION_ID,
    openinference::SESSION_ID,
    traceloop::SESSION_ID,
    langfuse::SESSION_ID,
];

pub(crate) fn decode(
    limits: &Limits,
    request: ExportLogsServiceRequest,
    now: u64,
) -> Decoded<Event> {
    let mut out = Decoded::default();
    for resource_logs in request.resource_logs {
        let resource = match resource::resource(resource_logs.resource, limits) {
            Ok(resource) => resource,
            Err(why) => {
                let logs = resource_logs.scope_logs.iter().map(|s| s.log_records.len());
                let count = logs.sum::<usize>();
                out.reject_many(limits, count, format_args!("{count} log records"), &why);
                continue;
            }
        };
        for scope_logs in resource_logs.scope_logs {
            let scope = Scope::new(scope_logs.scope, limits);
            for log in scope_logs.log_records {
                match decode_log(limits, log, &resource, &scope, now) {
                    Ok(event) => out.records.push(event),
                    Err((subject, why)) => out.reject(limits, subject, &why),
                }
            }
        }
    }
    out
}

fn decode_log(
    limits: &Limits,
    log: LogRecord,
    resource: &Arc<Resource>,
    scope: &Scope,
    now: u64,
) -> Result<Event, (String, Rejection)> {
    let LogRecord {
        time_unix_nano,
        observed_time_unix_nano,
        severity_number,
        severity_text,
        body,
        attributes,
        trace_id,
        span_id,
        event_name,
        ..
    } = log;
    let fail = |why| {
        let what = if event_name.is_empty() {
            format!("log record {}", Short(&severity_text))
        } else {
            format!("log record {}", Short(&event_name))
        };
        (
            format!("{what} (trace {}, span {})", Hex(&trace_id), Hex(&span_id)),
            why,
        )
    };
    // OTLP: without a time, the observed time; without either, the time of receipt.
    let time = [time_unix_nano, observed_time_unix_nano, now]
        .into_iter()
        .find(|t| *t != 0)
        .unwrap_or(now);
    let checked = (|| {
        reject::time("time", time, now, limits)?;
        Ok((
            reject::optional_trace_id(&trace_id, "trace id")?,
            reject::optional_span_id(&span_id, "span id")?,
        ))
    })();
    let (trace, span) = checked.map_err(fail)?;
    let mut converter = Converter::new(limits);
    let attributes = converter
        .attributes(attributes, "log record")
        .map_err(fail)?;
    let message = match converter.value(body, "body", 0).map_err(fail)? {
        Some(AttributeValue::String(s)) => s,
        Some(other) => converter.string(other.to_string()),
        None => String::new(),
    };
    let level = level(&severity_text, severity_number);
    let kind = if event_name.is_empty() {
        [otel::EVENT_NAME, agentrace::EVENT]
            .into_iter()
            .find_map(|k| attributes.get(k).and_then(AttributeValue::as_str))
            .map_or(EventKind::Log, EventKind::from_name)
    } else {
        EventKind::from_name(&converter.string(event_name))
    };
    let mut event = Event::new(time, level, kind, message, resource.clone());
    event.trace_id = trace;
    event.span_id = span.filter(|_| trace.is_some());
    event.scope.clone_from(&scope.name);
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| attributes.get(k))
            .map(|v| Text::from(v.to_string()))
    };
    event.session_id = text(&SESSION_KEYS);
    event.correlation_id = text(&[agentrace::CORRELATION_ID]);
    event.agent_id = text(&[gen_ai::AGENT_ID]);
    event.framework = text(&[agentrace::FRAMEWORK]).or_else(|| scope.framework.map(Text::from));
    event.attributes = attributes;
    if converter.truncated > 0 {
        event
            .attributes
            .insert(agentrace::INGEST_TRUNCATED, converter.truncated);
    }
    Ok(event)
}

/// The level of a log record: its severity text when it names a level (agentrace's
/// `SUCCESS` and `CRITICAL` included), else its severity number (OTel ranges: 1–4 TRACE,
/// 5–8 DEBUG, 9–12 INFO, 13–16 WARN, 17–20 ERROR, 21–24 FATAL → CRITICAL), else INFO.
fn level(text: &str, number: i32) -> Level {
    if let Ok(level) = text.parse() {
        return level;
    }
    match number {
        1..=4 => Level::Trace,
        5..=8 => Level::Debug,
        13..=16 => Level::Warning,
        17..=20 => Level::Error,
        21..=24 => Level::Critical,
        _ => match text.trim().to_ascii_uppercase().as_str() {
            "FATAL" | "CRIT" => Level::Critical,
            "ERR" => Level::Error,
            _ => Level::Info,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(level("SUCCESS", 10), Level::Success);
        assert_eq!(level("CRITICAL", 21), Level::Critical);
        assert_eq!(level("warn", 0), Level::Warning);
        assert_eq!(level("", 3), Level::Trace);
        assert_eq!(level("", 7), Level::Debug);
        assert_eq!(level("", 10), Level::Info);
        assert_eq!(level("", 14), Level::Warning);
        assert_eq!(level("", 18), Level::Error);
        assert_eq!(level("", 24), Level::Critical);
        assert_eq!(level("FATAL", 0), Level::Critical);
        assert_eq!(level("", 0), Level::Info);
        assert_eq!(level("", 99), Level::Info);
    }
}
