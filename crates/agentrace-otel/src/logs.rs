//! [`Event`] → OpenTelemetry SDK log record ([`SdkLogRecord`]), with trace context.
//!
//! | event field | log record |
//! |---|---|
//! | `time_unix_nano` | timestamp (the observed timestamp is the time of mapping) |
//! | `level` | severity number ([`severity`]: `SUCCESS` is `INFO2`, `CRITICAL` is `FATAL`) and severity text (`TRACE` … `CRITICAL`) |
//! | `kind` | event name (`agent.start`, …, or the custom name) |
//! | `message` | body (a string) |
//! | `trace_id`, `span_id` | trace context, sampled; an event with a trace but no span carries the invalid (all-zero) span id |
//! | `session_id`, `correlation_id`, `agent_id`, `framework` | `gen_ai.conversation.id`, `agentrace.correlation_id`, `gen_ai.agent.id`, `agentrace.framework` |
//! | `scope` | the record's target, which OTLP exports as the scope name ([`DEFAULT_SCOPE`] when unset) |
//! | `attributes` | every one, after the fields above, each key once; maps and arrays stay structured (log attributes are `AnyValue`s) |
//! | `resource` | not part of the record: the exporter carries it ([`resource`](crate::resource)) |
//!
//! The SDK keeps event names as `&'static str`. Names are interned once each, up to
//! [`MAX_EVENT_NAMES`] distinct names per process; the events of any further custom name carry
//! it in the `agentrace.event` attribute instead, so nothing grows without bound.
//!
//! ```
//! use agentrace_core::testing::fixtures;
//! use agentrace_core::TraceId;
//! use agentrace_otel::logs::LogMapper;
//!
//! let event = &fixtures::sample_events(TraceId::random(), 1_700_000_000_000_000_000)[0];
//! let mapper = LogMapper::new();
//! let record = mapper.log_record(event);
//! assert_eq!(record.event_name(), Some("agent.start"));
//! assert_eq!(record.severity_text(), Some("TRACE"));
//! let batch = [(&record, mapper.scope())];
//! let batch = opentelemetry_sdk::logs::LogBatch::new(&batch); // what a LogExporter exports
//! # drop(batch);
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use agentrace_core::semconv::{agentrace, gen_ai};
use agentrace_core::{AttributeValue, Event, EventKind, Level};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::{InstrumentationScope, Key, StringValue};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};

use crate::trace::{DEFAULT_SCOPE, system_time};

/// Distinct event names interned per process (seed names included).
pub const MAX_EVENT_NAMES: usize = 1_024;

/// Makes SDK log records from events.
///
/// The SDK only creates log records through a logger, so the mapper holds a logger of a
/// provider without processors; nothing is emitted through it.
pub struct LogMapper {
    _provider: SdkLoggerProvider,
    logger: SdkLogger,
    scope: InstrumentationScope,
}

impl fmt::Debug for LogMapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogMapper")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Default for LogMapper {
    fn default() -> Self {
        Self::new()
    }
}

impl LogMapper {
    /// A mapper.
    pub fn new() -> Self {
        let provider = SdkLoggerProvider::builder().build();
        let scope = InstrumentationScope::builder(DEFAULT_SCOPE).build();
        let logger = provider.logger_with_scope(scope.clone());
        Self {
            _provider: provider,
            logger,
            scope,
        }
    }

    /// The instrumentation scope to export records with; each record's target (the event's
    /// scope) overrides its name.
    pub fn scope(&self) -> &InstrumentationScope {
        &self.scope
    }

    /// The log record of an event.
    pub fn log_record(&self, event: &Event) -> SdkLogRecord {
        let mut record = self.logger.create_log_record();
        record.set_timestamp(system_time(event.time_unix_nano));
        record.set_observed_timestamp(SystemTime::now());
        record.set_severity_number(severity(event.level));
        record.set_severity_text(event.level.as_str());
        record.set_body(AnyValue::String(StringValue::from(event.message.clone())));
        let name = event_name(&event.kind);
        match name {
            Some(name) => record.set_event_name(name),
            None => record.add_attribute(agentrace::EVENT, event.kind.to_string()),
        }
        if let Some(scope) = &event.scope {
            record.set_target(scope.clone());
        }
        if let Some(trace_id) = event.trace_id {
            record.set_trace_context(
                TraceId::from_bytes(trace_id.to_bytes()),
                event
                    .span_id
                    .map_or(SpanId::INVALID, |s| SpanId::from_bytes(s.to_bytes())),
                Some(TraceFlags::SAMPLED),
            );
        }
        let mut typed: Vec<&'static str> = Vec::with_capacity(5);
        if name.is_none() {
            typed.push(agentrace::EVENT);
        }
        for (key, text) in [
            (gen_ai::CONVERSATION_ID, &event.session_id),
            (agentrace::CORRELATION_ID, &event.correlation_id),
            (gen_ai::AGENT_ID, &event.agent_id),
            (agentrace::FRAMEWORK, &event.framework),
        ] {
            if let Some(text) = text {
                record.add_attribute(key, text.to_string());
                typed.push(key);
            }
        }
        for (key, value) in event.attributes.iter() {
            if !typed.contains(&key) {
                record.add_attribute(Key::from(key.to_owned()), any_value(value));
            }
        }
        record
    }
}

/// The OpenTelemetry severity of a level; its number is [`Level::severity_number`].
pub fn severity(level: Level) -> Severity {
    match level {
        Level::Trace => Severity::Trace,
        Level::Debug => Severity::Debug,
        Level::Info => Severity::Info,
        Level::Success => Severity::Info2,
        Level::Warning => Severity::Warn,
        Level::Error => Severity::Error,
        Level::Critical => Severity::Fatal,
    }
}

/// An attribute value as a log `AnyValue`: every shape is kept.
pub fn any_value(value: &AttributeValue) -> AnyValue {
    match value {
        AttributeValue::Bool(v) => AnyValue::Boolean(*v),
        AttributeValue::I64(v) => AnyValue::Int(*v),
        AttributeValue::F64(v) => AnyValue::Double(*v),
        AttributeValue::String(v) => AnyValue::String(StringValue::from(v.clone())),
        AttributeValue::Array(items) => {
            AnyValue::ListAny(Box::new(items.iter().map(any_value).collect()))
        }
        AttributeValue::Map(map) => AnyValue::Map(Box::new(
            map.iter()
                .map(|(k, v)| (Key::from(k.clone()), any_value(v)))
                .collect::<HashMap<_, _>>(),
        )),
    }
}

/// The interned name of an event kind, `None` once [`MAX_EVENT_NAMES`] names are interned and
/// this one is not among them.
pub fn event_name(kind: &EventKind) -> Option<&'static str> {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let name = kind.as_str();
    if let Some(interned) = names.get(name) {
        return Some(interned);
    }
    if names.len() >= MAX_EVENT_NAMES {
        return None;
    }
    let interned: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(interned);
    Some(interned)
}

#[cfg(test)]
mod tests {
    use agentrace_core::testing::fixtures::sample_events;
    use agentrace_core::{Text, TraceId};

    use super::*;

    fn attr<'a>(record: &'a SdkLogRecord, key: &str) -> Option<&'a AnyValue> {
        record
            .attributes_iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    fn text(t: &Option<Text>) -> Option<AnyValue> {
        t.as_ref().map(|t| AnyValue::String(t.to_string().into()))
    }

    #[test]
    fn every_field_of_every_fixture_is_present() {
        let mapper = LogMapper::new();
        let events = sample_events(TraceId::random(), 1_700_000_000_000_000_000);
        assert!(events.len() > 10);
        for event in &events {
            let record = mapper.log_record(event);
            let what = event.kind.as_str();
            assert_eq!(
                record.timestamp(),
                Some(system_time(event.time_unix_nano)),
                "{what}"
            );
            assert!(record.observed_timestamp().is_some());
            assert_eq!(
                record.severity_number().map(|s| s as u8),
                Some(event.level.severity_number())
            );
            assert_eq!(record.severity_text(), Some(event.level.as_str()));
            assert_eq!(record.event_name(), Some(what));
            assert_eq!(
                record.body(),
                Some(&AnyValue::String(event.message.clone().into()))
            );
            assert_eq!(record.target().map(|t| t.as_ref()), event.scope.as_deref());
            let context = record.trace_context();
            assert_eq!(
                context.map(|c| c.trace_id.to_bytes()),
                event.trace_id.map(|t| t.to_bytes())
            );
            let span = context.map(|c| c.span_id).filter(|s| *s != SpanId::INVALID);
            assert_eq!(
                span.map(|s| s.to_bytes()),
                event.span_id.map(|s| s.to_bytes())
            );
            assert_eq!(
                attr(&record, "gen_ai.conversation.id").cloned(),
                text(&event.session_id)
            );
            assert_eq!(
                attr(&record, "agentrace.correlation_id").cloned(),
                text(&event.correlation_id)
            );
            assert_eq!(
                attr(&record, "gen_ai.agent.id").cloned(),
                text(&event.agent_id)
            );
            assert_eq!(
                attr(&record, "agentrace.framework").cloned(),
                text(&event.framework)
            );
            for (k, v) in event.attributes.iter() {
                assert_eq!(attr(&record, k), Some(&any_value(v)), "{what}: {k}");
            }
            let typed = [
                &event.session_id,
                &event.correlation_id,
                &event.agent_id,
                &event.framework,
            ]
            .iter()
            .filter(|t| t.is_some())
            .count();
            assert_eq!(
                record.attributes_iter().count(),
                typed + event.attributes.len(),
                "{what}: no other attributes"
            );
        }
    }

    #[test]
    fn structured_values_stay_structured() {
        let nested = AttributeValue::Map(
            [(
                "inner".to_owned(),
                AttributeValue::Array(vec![1i64.into(), "x".into()]),
            )]
            .into_iter()
            .collect(),
        );
        let AnyValue::Map(map) = any_value(&nested) else {
            panic!("a map");
        };
        assert_eq!(
            map.get(&Key::from_static_str("inner")),
            Some(&AnyValue::ListAny(Box::new(vec![
                AnyValue::Int(1),
                AnyValue::String("x".into())
            ])))
        );
    }

    #[test]
    fn levels_keep_their_numbers() {
        for level in Level::ALL {
            assert_eq!(severity(level) as u8, level.severity_number(), "{level}");
        }
    }

    #[test]
    fn event_names_are_interned_once() {
        let kind = EventKind::Custom("deploy.finished".into());
        let a = event_name(&kind);
        let b = event_name(&kind);
        assert_eq!(a, Some("deploy.finished"));
        assert!(a.zip(b).is_some_and(|(a, b)| std::ptr::eq(a, b)));
    }
}
