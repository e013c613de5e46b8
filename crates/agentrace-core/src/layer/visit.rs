//! Field visitors: `tracing` fields into span and event records.

use std::fmt;

use tracing_core::field::{Field, Visit};

use crate::model::{AttributeValue, Event, EventKind, Level, SpanRecord, Text};
use crate::normalize::{KeyPlan, SpanNormalizer};
use crate::semconv::{agentrace, gen_ai, openinference, otel, traceloop, vercel_ai};

/// Visits the fields of a span (at creation and on `Span::record`).
pub(super) struct SpanVisitor<'a> {
    pub(super) record: &'a mut SpanRecord,
    pub(super) normalizer: &'a mut SpanNormalizer,
    /// The plans of the callsite's fields, by field index.
    pub(super) plans: &'a [KeyPlan],
}

impl SpanVisitor<'_> {
    fn keep(&mut self, field: &Field, value: AttributeValue) {
        self.record.attributes.insert(field.name(), value);
    }

    fn plan(&self, field: &Field) -> KeyPlan {
        self.plans
            .get(field.index())
            .copied()
            .unwrap_or_else(|| KeyPlan::of(field.name()))
    }
}

impl Visit for SpanVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "error" {
            self.record.status = crate::SpanStatus::error(value);
        } else if !self
            .normalizer
            .offer_str_planned(self.record, self.plan(field), value)
        {
            self.keep(field, value.into());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if !self
            .normalizer
            .offer_i64_planned(self.record, self.plan(field), value)
        {
            self.keep(field, value.into());
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_i64(field, i64::try_from(value).unwrap_or(i64::MAX));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.keep(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.keep(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_str(field, &value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// Visits the fields of an event.
pub(super) struct EventVisitor<'a> {
    pub(super) event: &'a mut Event,
    /// A message from an `error` field, when there is no `message`.
    pub(super) error: Option<String>,
}

impl Visit for EventVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let event = &mut *self.event;
        match field.name() {
            agentrace::MESSAGE => event.message = value.to_owned(),
            agentrace::EVENT => event.kind = EventKind::from_name(value),
            agentrace::LEVEL => {
                if let Ok(level) = value.parse::<Level>() {
                    event.level = level;
                }
            }
            agentrace::SESSION_ID
            | gen_ai::CONVERSATION_ID
            | openinference::SESSION_ID
            | traceloop::SESSION_ID
            | vercel_ai::SESSION_ID => event.session_id = Some(Text::new(value)),
            agentrace::CORRELATION_ID => event.correlation_id = Some(Text::new(value)),
            gen_ai::AGENT_ID | "agent.id" => event.agent_id = Some(Text::new(value)),
            agentrace::FRAMEWORK => event.framework = Some(Text::new(value)),
            "error" | "exception.message" => {
                self.error = Some(value.to_owned());
                event.attributes.insert(field.name(), value);
            }
            otel::STATUS_CODE => {}
            name => event.attributes.insert(name, value),
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match field.name() {
            agentrace::MESSAGE
            | agentrace::SESSION_ID
            | gen_ai::CONVERSATION_ID
            | openinference::SESSION_ID
            | gen_ai::AGENT_ID => {
                self.record_str(field, &value.to_string());
            }
            name => self.event.attributes.insert(name, value),
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.record_i64(field, v),
            Err(_) => self.record_str(field, &value.to_string()),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.event.attributes.insert(field.name(), value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.event.attributes.insert(field.name(), value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_str(field, &value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}
