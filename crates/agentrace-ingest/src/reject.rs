//! Why an item (a span, a log record, a data point) was rejected, and the checks that say so.

use std::fmt;

use agentrace_core::{SpanId, TraceId};

use crate::Limits;

const DAY_NS: u64 = 86_400 * 1_000_000_000;

/// One reason to reject an item. Its text ends up in OTLP's `partial_success.error_message`,
/// so it says what is wrong and what the bound is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum Rejection {
    #[error("{which} has {len} bytes, expected {expected}")]
    IdLength {
        which: &'static str,
        len: usize,
        expected: usize,
    },
    #[error("{which} is all zeros")]
    IdZero { which: &'static str },
    #[error("{what} is not set")]
    NoTime { what: &'static str },
    #[error("{what} {at} is {days} days before now, more than the limit of {limit_days}")]
    TooOld {
        what: &'static str,
        at: u64,
        days: u64,
        limit_days: u64,
    },
    #[error("{what} {at} is {hours} hours after now, more than the limit of {limit_hours}")]
    TooNew {
        what: &'static str,
        at: u64,
        hours: u64,
        limit_hours: u64,
    },
    #[error("ends ({end}) before it starts ({start})")]
    EndBeforeStart { start: u64, end: u64 },
    #[error("{count} attributes on the {what}, more than the limit of {limit}")]
    TooManyAttributes {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("{count} events, more than the limit of {limit}")]
    TooManyEvents { count: usize, limit: usize },
    #[error("attribute {key:?} nests deeper than the limit of {limit} levels")]
    TooDeep { key: String, limit: usize },
    #[error("attribute values hold more than the limit of {limit} values (at {key:?})")]
    TooManyValues { key: String, limit: usize },
    #[error("an attribute key of {len} bytes, more than the limit of {limit}")]
    KeyTooLong { len: usize, limit: usize },
    #[error("the resource: {0}")]
    Resource(Box<Rejection>),
    #[error("no value")]
    NoValue,
    #[error("value {0} is not a finite number")]
    NotFinite(f64),
    #[error("aggregation temporality unspecified")]
    NoTemporality,
    #[error("negative increment {0} on a monotonic delta sum")]
    NegativeIncrement(f64),
    #[error("more than {limit} cumulative series are tracked; no room for a new one")]
    TooManySeries { limit: usize },
}

/// The trace id of `bytes`.
pub(crate) fn trace_id(bytes: &[u8], which: &'static str) -> Result<TraceId, Rejection> {
    let raw = <[u8; 16]>::try_from(bytes).map_err(|_| Rejection::IdLength {
        which,
        len: bytes.len(),
        expected: 16,
    })?;
    let id = TraceId::from_bytes(raw);
    if id.is_valid() {
        Ok(id)
    } else {
        Err(Rejection::IdZero { which })
    }
}

/// The span id of `bytes`.
pub(crate) fn span_id(bytes: &[u8], which: &'static str) -> Result<SpanId, Rejection> {
    let raw = <[u8; 8]>::try_from(bytes).map_err(|_| Rejection::IdLength {
        which,
        len: bytes.len(),
        expected: 8,
    })?;
    let id = SpanId::from_bytes(raw);
    if id.is_valid() {
        Ok(id)
    } else {
        Err(Rejection::IdZero { which })
    }
}

/// An optional span id: empty (or all zeros, which some SDKs send for a root) is none.
pub(crate) fn optional_span_id(
    bytes: &[u8],
    which: &'static str,
) -> Result<Option<SpanId>, Rejection> {
    match span_id(bytes, which) {
        Ok(id) => Ok(Some(id)),
        Err(Rejection::IdZero { .. }) => Ok(None),
        Err(_) if bytes.is_empty() => Ok(None),
        Err(e) => Err(e),
    }
}

/// An optional trace id: empty or all zeros is none.
pub(crate) fn optional_trace_id(
    bytes: &[u8],
    which: &'static str,
) -> Result<Option<TraceId>, Rejection> {
    match trace_id(bytes, which) {
        Ok(id) => Ok(Some(id)),
        Err(Rejection::IdZero { .. }) => Ok(None),
        Err(_) if bytes.is_empty() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Checks that a timestamp is set and within the limits around `now`.
pub(crate) fn time(
    what: &'static str,
    at: u64,
    now: u64,
    limits: &Limits,
) -> Result<(), Rejection> {
    if at == 0 {
        return Err(Rejection::NoTime { what });
    }
    if at < now.saturating_sub(limits.max_past_ns) {
        return Err(Rejection::TooOld {
            what,
            at,
            days: (now - at) / DAY_NS,
            limit_days: limits.max_past_ns / DAY_NS,
        });
    }
    if at > now.saturating_add(limits.max_future_ns) {
        const HOUR_NS: u64 = 3_600 * 1_000_000_000;
        return Err(Rejection::TooNew {
            what,
            at,
            hours: (at - now) / HOUR_NS,
            limit_hours: limits.max_future_ns / HOUR_NS,
        });
    }
    Ok(())
}

/// Lower-case hex of (at most the first 32) bytes, for messages.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(none)");
        }
        for b in self.0.iter().take(32) {
            write!(f, "{b:02x}")?;
        }
        if self.0.len() > 32 {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// A name shortened for messages.
pub(crate) struct Short<'a>(pub(crate) &'a str);

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 64;
        match self.0.char_indices().nth(MAX) {
            Some((end, _)) => write!(f, "{:?}…", &self.0[..end]),
            None => write!(f, "{:?}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(trace_id(&[1; 16], "trace id").is_ok());
        assert_eq!(
            trace_id(&[1; 15], "trace id").map_err(|e| e.to_string()),
            Err("trace id has 15 bytes, expected 16".to_owned())
        );
        assert_eq!(
            span_id(&[0; 8], "span id"),
            Err(Rejection::IdZero { which: "span id" })
        );
        assert_eq!(optional_span_id(&[], "parent span id"), Ok(None));
        assert_eq!(optional_span_id(&[0; 8], "parent span id"), Ok(None));
        assert!(optional_span_id(&[1; 3], "parent span id").is_err());
        assert_eq!(optional_trace_id(&[0; 16], "trace id"), Ok(None));
        assert!(optional_trace_id(&[1; 17], "trace id").is_err());
    }

    #[test]
    fn times() {
        let limits = Limits::default();
        let now = 1_800_000_000_000_000_000;
        assert!(time("start time", now, now, &limits).is_ok());
        assert_eq!(
            time("start time", 0, now, &limits),
            Err(Rejection::NoTime { what: "start time" })
        );
        let old = time("start time", 1, now, &limits).map_err(|e| e.to_string());
        assert_eq!(
            old,
            Err("start time 1 is 20833 days before now, more than the limit of 366".to_owned())
        );
        assert!(matches!(
            time("end time", now + 30 * DAY_NS, now, &limits),
            Err(Rejection::TooNew { hours: 720, .. })
        ));
        assert_eq!(Hex(&[0xab, 0x01]).to_string(), "ab01");
        assert_eq!(Short("abc").to_string(), "\"abc\"");
        assert!(Short(&"x".repeat(100)).to_string().ends_with('…'));
    }
}
