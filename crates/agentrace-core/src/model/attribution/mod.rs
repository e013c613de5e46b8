//! What a span is attributed to — its session, user, correlation id, agent and framework — and
//! the one rule by which a span takes what it lacks of them from its ancestors.
//!
//! The rule (docs/conventions.md, "Attribution"): each of these fields flows from the nearest
//! ancestor that has it to every descendant that lacks it; a span's own value is never
//! overwritten. The `tracing` layer applies it as spans close (a span's parent is still open,
//! and complete); every route that holds several spans of a trace at once — OTLP ingest within
//! a request, each store across requests, whatever order the spans arrive in — completes them
//! with [`complete_attribution`] (`tree`).

mod tree;

pub use tree::{AttributionNode, Completion, complete_attribution};

use serde::{Deserialize, Serialize};

use super::span::SpanRecord;
use super::text::Text;

/// A field a span inherits from its ancestors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InheritedField {
    /// `session_id`.
    SessionId,
    /// `user_id`.
    UserId,
    /// `correlation_id`.
    CorrelationId,
    /// `agent_name`.
    AgentName,
    /// `agent_id`.
    AgentId,
    /// `framework`.
    Framework,
}

impl InheritedField {
    /// Every inherited field.
    pub const ALL: [Self; 6] = [
        Self::SessionId,
        Self::UserId,
        Self::CorrelationId,
        Self::AgentName,
        Self::AgentId,
        Self::Framework,
    ];

    /// Its name: the [`SpanRecord`] field, the store's column, the JSON key.
    pub const fn name(self) -> &'static str {
        match self {
            Self::SessionId => "session_id",
            Self::UserId => "user_id",
            Self::CorrelationId => "correlation_id",
            Self::AgentName => "agent_name",
            Self::AgentId => "agent_id",
            Self::Framework => "framework",
        }
    }

    /// Its value on `span`.
    pub fn get(self, span: &SpanRecord) -> Option<&Text> {
        match self {
            Self::SessionId => span.session_id.as_ref(),
            Self::UserId => span.user_id.as_ref(),
            Self::CorrelationId => span.correlation_id.as_ref(),
            Self::AgentName => span.agent_name.as_ref(),
            Self::AgentId => span.agent_id.as_ref(),
            Self::Framework => span.framework.as_ref(),
        }
    }

    fn slot(self, span: &mut SpanRecord) -> &mut Option<Text> {
        match self {
            Self::SessionId => &mut span.session_id,
            Self::UserId => &mut span.user_id,
            Self::CorrelationId => &mut span.correlation_id,
            Self::AgentName => &mut span.agent_name,
            Self::AgentId => &mut span.agent_id,
            Self::Framework => &mut span.framework,
        }
    }
}

/// Whether `span` lacks a value of some inherited field.
pub fn lacks_attribution(span: &SpanRecord) -> bool {
    InheritedField::ALL.iter().any(|f| f.get(span).is_none())
}

/// Fills the inherited fields `span` lacks from `ancestor`'s; returns whether some are still
/// missing (walk on to the next ancestor).
pub fn inherit(span: &mut SpanRecord, ancestor: &SpanRecord) -> bool {
    let mut missing = false;
    for field in InheritedField::ALL {
        let slot = field.slot(span);
        if slot.is_none() {
            slot.clone_from(&field.get(ancestor).cloned());
            missing |= slot.is_none();
        }
    }
    missing
}

/// A span's values of the inherited fields, apart from the span.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attribution {
    /// Session (conversation) id.
    pub session_id: Option<Text>,
    /// End user id.
    pub user_id: Option<Text>,
    /// Correlation id.
    pub correlation_id: Option<Text>,
    /// Agent name.
    pub agent_name: Option<Text>,
    /// Agent id.
    pub agent_id: Option<Text>,
    /// Agent framework.
    pub framework: Option<Text>,
}

impl Attribution {
    /// `span`'s values.
    pub fn of(span: &SpanRecord) -> Self {
        Self {
            session_id: span.session_id.clone(),
            user_id: span.user_id.clone(),
            correlation_id: span.correlation_id.clone(),
            agent_name: span.agent_name.clone(),
            agent_id: span.agent_id.clone(),
            framework: span.framework.clone(),
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: InheritedField) -> Option<&Text> {
        self.slot_ref(field).as_ref()
    }

    fn slot_ref(&self, field: InheritedField) -> &Option<Text> {
        match field {
            InheritedField::SessionId => &self.session_id,
            InheritedField::UserId => &self.user_id,
            InheritedField::CorrelationId => &self.correlation_id,
            InheritedField::AgentName => &self.agent_name,
            InheritedField::AgentId => &self.agent_id,
            InheritedField::Framework => &self.framework,
        }
    }

    /// Sets the value of `field`.
    pub fn set(&mut self, field: InheritedField, value: Option<Text>) {
        *match field {
            InheritedField::SessionId => &mut self.session_id,
            InheritedField::UserId => &mut self.user_id,
            InheritedField::CorrelationId => &mut self.correlation_id,
            InheritedField::AgentName => &mut self.agent_name,
            InheritedField::AgentId => &mut self.agent_id,
            InheritedField::Framework => &mut self.framework,
        } = value;
    }

    /// Whether every field has a value (nothing left to inherit).
    pub fn is_complete(&self) -> bool {
        InheritedField::ALL.iter().all(|&f| self.get(f).is_some())
    }

    /// Fills the fields this lacks from `ancestor`'s; returns whether any changed.
    pub fn inherit_from(&mut self, ancestor: &Self) -> bool {
        let mut changed = false;
        for field in InheritedField::ALL {
            if self.get(field).is_none()
                && let Some(value) = ancestor.get(field)
            {
                self.set(field, Some(value.clone()));
                changed = true;
            }
        }
        changed
    }

    /// Writes these values onto `span`.
    pub fn apply_to(&self, span: &mut SpanRecord) {
        for field in InheritedField::ALL {
            *field.slot(span) = self.get(field).cloned();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Resource, SpanId, TraceId};

    fn span() -> SpanRecord {
        SpanRecord::new(
            TraceId::random(),
            SpanId::random(),
            "s",
            0,
            1,
            Arc::new(Resource::new("svc")),
        )
    }

    #[test]
    fn a_span_keeps_its_own_values_and_takes_the_missing_ones() {
        let mut child = span();
        child.agent_name = Some("researcher".into());
        let mut parent = span();
        parent.agent_name = Some("planner".into());
        parent.session_id = Some("s-1".into());
        let still_missing = inherit(&mut child, &parent);
        assert!(still_missing, "no user, correlation, agent id or framework");
        assert_eq!(child.agent_name.as_deref(), Some("researcher"));
        assert_eq!(child.session_id.as_deref(), Some("s-1"));

        let mut own = Attribution::of(&child);
        own.user_id = Some("lin".into());
        let before = own.clone();
        assert!(!own.inherit_from(&Attribution::default()));
        assert!(
            !own.inherit_from(&Attribution::of(&parent)),
            "the parent's values are all set here"
        );
        assert_eq!(own, before);
        own.apply_to(&mut child);
        assert_eq!(Attribution::of(&child), own);
        assert!(!own.is_complete());
        for field in InheritedField::ALL {
            own.set(field, Some(field.name().into()));
        }
        assert!(own.is_complete());
        own.apply_to(&mut child);
        assert!(!inherit(&mut child, &parent));
        assert_eq!(child.framework.as_deref(), Some("framework"));
    }
}
