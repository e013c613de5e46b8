//! Structured events (logs) with agent semantics.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Attributes, Resource, SpanId, Text, TraceId};

/// Event severity. `SUCCESS` and `CRITICAL` extend `tracing`'s levels; they are carried on
/// `tracing` events by the `agentrace.level` field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Finest detail.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    #[default]
    Info,
    /// A step completed successfully.
    Success,
    /// Something unexpected that did not fail.
    Warning,
    /// A failure.
    Error,
    /// A failure that needs attention now.
    Critical,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Self; 7] = [
        Self::Trace,
        Self::Debug,
        Self::Info,
        Self::Success,
        Self::Warning,
        Self::Error,
        Self::Critical,
    ];

    /// Upper-case name: `TRACE` … `CRITICAL`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Success => "SUCCESS",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
            Self::Critical => "CRITICAL",
        }
    }

    /// The OpenTelemetry log severity number (1–24) for this level.
    pub const fn severity_number(self) -> u8 {
        match self {
            Self::Trace => 1,
            Self::Debug => 5,
            Self::Info => 9,
            Self::Success => 10,
            Self::Warning => 13,
            Self::Error => 17,
            Self::Critical => 21,
        }
    }
}

impl From<tracing_core::Level> for Level {
    fn from(level: tracing_core::Level) -> Self {
        match level {
            tracing_core::Level::TRACE => Self::Trace,
            tracing_core::Level::DEBUG => Self::Debug,
            tracing_core::Level::INFO => Self::Info,
            tracing_core::Level::WARN => Self::Warning,
            _ => Self::Error,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown level name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level {0:?}; expected TRACE, DEBUG, INFO, SUCCESS, WARNING, ERROR or CRITICAL")]
pub struct ParseLevelError(pub String);

impl FromStr for Level {
    type Err = ParseLevelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("warn") {
            return Ok(Self::Warning);
        }
        Self::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseLevelError(s.to_owned()))
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What an event reports. The seed types have fixed names; anything else is `Custom`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// `agent.start`
    AgentStart,
    /// `agent.stop`
    AgentStop,
    /// `task.start`
    TaskStart,
    /// `task.complete`
    TaskComplete,
    /// `task.fail`
    TaskFail,
    /// `tool.call`
    ToolCall,
    /// `tool.result`
    ToolResult,
    /// `safety.violation`
    SafetyViolation,
    /// `llm.request`
    LlmRequest,
    /// `llm.response`
    LlmResponse,
    /// `vcs.commit`
    VcsCommit,
    /// `performance.metric`
    PerformanceMetric,
    /// `system.error`
    SystemError,
    /// `log`: a plain `tracing` event with no agentrace type.
    Log,
    /// Any other dotted name chosen by the user.
    Custom(String),
}

impl EventKind {
    /// The seed types, in the order of the design.
    pub const SEED: [Self; 13] = [
        Self::AgentStart,
        Self::AgentStop,
        Self::TaskStart,
        Self::TaskComplete,
        Self::TaskFail,
        Self::ToolCall,
        Self::ToolResult,
        Self::SafetyViolation,
        Self::LlmRequest,
        Self::LlmResponse,
        Self::VcsCommit,
        Self::PerformanceMetric,
        Self::SystemError,
    ];

    /// The wire name, e.g. `agent.start`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AgentStart => "agent.start",
            Self::AgentStop => "agent.stop",
            Self::TaskStart => "task.start",
            Self::TaskComplete => "task.complete",
            Self::TaskFail => "task.fail",
            Self::ToolCall => "tool.call",
            Self::ToolResult => "tool.result",
            Self::SafetyViolation => "safety.violation",
            Self::LlmRequest => "llm.request",
            Self::LlmResponse => "llm.response",
            Self::VcsCommit => "vcs.commit",
            Self::PerformanceMetric => "performance.metric",
            Self::SystemError => "system.error",
            Self::Log => "log",
            Self::Custom(name) => name,
        }
    }

    /// The kind for a wire name: a seed type, `log`, or `Custom`.
    pub fn from_name(name: &str) -> Self {
        if name == "log" {
            return Self::Log;
        }
        Self::SEED
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or_else(|| Self::Custom(name.to_owned()))
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <Cow<'de, str>>::deserialize(d)?;
        Ok(Self::from_name(&s))
    }
}

/// A structured event: a log record with agent semantics, stamped with the span it happened in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened, nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// Severity.
    pub level: Level,
    /// Type.
    pub kind: EventKind,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// The service that emitted it.
    pub resource: Arc<Resource>,
    /// The trace it happened in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<TraceId>,
    /// The span it happened in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<SpanId>,
    /// Session id (inherited from the enclosing spans when not set on the event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Text>,
    /// Correlation id (inherited like the session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Text>,
    /// Agent id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Text>,
    /// Agent framework.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<Text>,
    /// Instrumentation scope (the `tracing` target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Cow<'static, str>>,
    /// Every other field.
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
}

impl Event {
    /// An event with the given type, level and message; every other field empty.
    pub fn new(
        time_unix_nano: u64,
        level: Level,
        kind: EventKind,
        message: impl Into<String>,
        resource: Arc<Resource>,
    ) -> Self {
        Self {
            time_unix_nano,
            level,
            kind,
            message: message.into(),
            resource,
            trace_id: None,
            span_id: None,
            session_id: None,
            correlation_id: None,
            agent_id: None,
            framework: None,
            scope: None,
            attributes: Attributes::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_levels_round_trip() {
        for kind in EventKind::SEED {
            assert_eq!(EventKind::from_name(kind.as_str()), kind);
        }
        assert_eq!(
            EventKind::from_name("deploy.finished"),
            EventKind::Custom("deploy.finished".into())
        );
        for level in Level::ALL {
            assert_eq!(level.as_str().parse::<Level>(), Ok(level));
        }
        assert_eq!("warn".parse::<Level>(), Ok(Level::Warning));
        assert!("loud".parse::<Level>().is_err());
        assert!(Level::Success > Level::Info && Level::Critical > Level::Error);
    }
}
