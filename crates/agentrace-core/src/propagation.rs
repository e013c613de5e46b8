//! W3C Trace Context (`traceparent`) inject and extract, so a trace continues across processes
//! (an agent calling a tool service, a Python orchestrator calling a Rust agent).
//!
//! ```
//! use agentrace_core::propagation::{self, TraceContext};
//!
//! let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
//! let parent = TraceContext::from_traceparent(incoming)?;
//! let span = tracing::info_span!("handle_request");
//! propagation::set_parent(&span, parent); // before entering the span or creating children
//! let outgoing = propagation::inject(&span); // Some("00-4bf9…-<span id>-01") under the layer
//! # let _ = outgoing;
//! # Ok::<(), agentrace_core::propagation::ParseTraceparentError>(())
//! ```

use std::fmt;

#[cfg(feature = "pipeline")]
use crate::layer::WithContext;
#[cfg(feature = "pipeline")]
use crate::model::Attribution;
use crate::model::{ParseIdError, SpanId, TraceId};

/// The propagated part of a span's context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    /// Trace id.
    pub trace_id: TraceId,
    /// The (remote) parent span id.
    pub span_id: SpanId,
    /// The sampled flag.
    pub sampled: bool,
}

/// A `traceparent` header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseTraceparentError {
    /// Not `version-traceid-spanid-flags`.
    #[error(
        "traceparent must be four '-'-separated fields (version-trace_id-parent_id-flags), got {0:?}"
    )]
    Shape(String),
    /// Version `ff` is forbidden, and version 00 allows nothing after the flags.
    #[error("unsupported traceparent version {0:?}")]
    Version(String),
    /// A bad trace id.
    #[error("bad trace id: {0}")]
    TraceId(ParseIdError),
    /// A bad parent span id.
    #[error("bad parent id: {0}")]
    SpanId(ParseIdError),
    /// Flags are not two hex digits.
    #[error("bad trace flags {0:?}")]
    Flags(String),
}

impl TraceContext {
    /// Parses a W3C `traceparent` header value.
    pub fn from_traceparent(header: &str) -> Result<Self, ParseTraceparentError> {
        let header = header.trim();
        let parts: Vec<&str> = header.split('-').collect();
        if parts.len() < 4 {
            return Err(ParseTraceparentError::Shape(header.to_owned()));
        }
        let version = parts[0];
        let valid_version =
            version.len() == 2 && version.bytes().all(|b| b.is_ascii_hexdigit()) && version != "ff";
        if !valid_version || (version == "00" && parts.len() != 4) {
            return Err(ParseTraceparentError::Version(version.to_owned()));
        }
        let trace_id = TraceId::from_hex(parts[1]).map_err(ParseTraceparentError::TraceId)?;
        let span_id = SpanId::from_hex(parts[2]).map_err(ParseTraceparentError::SpanId)?;
        let flags = (parts[3].len() == 2)
            .then(|| u8::from_str_radix(parts[3], 16).ok())
            .flatten()
            .ok_or_else(|| ParseTraceparentError::Flags(parts[3].to_owned()))?;
        Ok(Self {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    /// The `traceparent` header value (version 00).
    pub fn to_traceparent(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
/// The context of `span`, if it is recorded by an [`AgentraceLayer`](crate::AgentraceLayer).
pub fn context_of(span: &tracing::Span) -> Option<TraceContext> {
    let mut out = None;
    span.with_subscriber(|(id, dispatch)| {
        if let Some(with) = dispatch.downcast_ref::<WithContext>() {
            (with.apply)(dispatch, id, &mut |state| {
                out = Some(TraceContext {
                    trace_id: state.record.trace_id,
                    span_id: state.record.span_id,
                    sampled: state.sampled,
                });
            });
        }
    });
    out
}

#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
/// The inherited fields (agent, session, user, framework, …) of `span`, its own or its nearest
/// ancestors', as its record will have them; `None` if it is not recorded by an
/// [`AgentraceLayer`](crate::AgentraceLayer). What a budget check before a call is made
/// against.
pub fn attribution_of(span: &tracing::Span) -> Option<Attribution> {
    let mut out = None;
    span.with_subscriber(|(id, dispatch)| {
        if let Some(with) = dispatch.downcast_ref::<WithContext>() {
            out = (with.attribution)(dispatch, id);
        }
    });
    out
}

#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
/// The context of the current span.
pub fn current() -> Option<TraceContext> {
    context_of(&tracing::Span::current())
}

#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
/// The `traceparent` header value to send for `span`.
pub fn inject(span: &tracing::Span) -> Option<String> {
    context_of(span).map(|cx| cx.to_traceparent())
}

#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
/// Makes `span` a child of a remote parent: it joins the parent's trace, and its sampling
/// follows the parent's flag when the sampler is parent-based. Call it before entering the span
/// or creating children. Returns `false` if the span is not recorded by an agentrace layer.
pub fn set_parent(span: &tracing::Span, parent: TraceContext) -> bool {
    let mut done = false;
    span.with_subscriber(|(id, dispatch)| {
        if let Some(with) = dispatch.downcast_ref::<WithContext>() {
            let sampler = with.sampler;
            (with.apply)(dispatch, id, &mut |state| {
                state.record.trace_id = parent.trace_id;
                state.record.parent_span_id = Some(parent.span_id);
                state.sampled = sampler.decide(parent.trace_id, Some(parent.sampled));
                done = true;
            });
        }
    });
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_w3c_examples() -> Result<(), ParseTraceparentError> {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let cx = TraceContext::from_traceparent(header)?;
        assert!(cx.sampled);
        assert_eq!(cx.to_traceparent(), header);
        let unsampled = TraceContext::from_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        )?;
        assert!(!unsampled.sampled);
        // A future version may append fields.
        assert!(
            TraceContext::from_traceparent(
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"
            )
            .is_ok()
        );
        Ok(())
    }

    #[test]
    fn rejects_bad_headers() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert!(TraceContext::from_traceparent(bad).is_err(), "{bad:?}");
        }
    }
}
