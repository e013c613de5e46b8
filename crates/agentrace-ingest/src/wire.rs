//! What an OTLP protobuf request holds, counted from its wire bytes before it is decoded: its
//! records (spans, log records, data points), key-value pairs and value nesting, so that a
//! receiver can refuse a request too large, or wait for room in a memory budget, *before*
//! decoding makes its many small messages into many structures (a 4 MiB gzip body can hold a
//! million tiny spans). The walk allocates nothing and reads each byte once.
//!
//! ```
//! use agentrace_ingest::wire::{self, WireLimits};
//!
//! // An empty ExportTraceServiceRequest.
//! let counted = wire::count_traces(&[], &WireLimits::default())?;
//! assert_eq!(counted.records, 0);
//! # Ok::<(), wire::WireError>(())
//! ```

/// Bounds on one request, checked while counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WireLimits {
    /// Records (spans, log records, data points). Default 65,536.
    pub max_records: u64,
    /// Key-value pairs anywhere (attributes of resources, scopes, records, events, links,
    /// nested kvlists). Default 2,097,152.
    pub max_key_values: u64,
    /// Nesting of array and kvlist values (a scalar is 0). Default 32: above it the request is
    /// refused whole (prost's own recursion limit is near 50); below it, a record nested deeper
    /// than the ingest's `Limits::max_depth` (16) is rejected on its own.
    pub max_depth: u32,
}

impl Default for WireLimits {
    fn default() -> Self {
        Self {
            max_records: 65_536,
            max_key_values: 2_097_152,
            max_depth: 32,
        }
    }
}

impl WireLimits {
    /// These limits with at most `n` records.
    #[must_use]
    pub fn with_max_records(mut self, n: u64) -> Self {
        self.max_records = n;
        self
    }
}

/// What a request holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counted {
    /// Spans, log records or data points.
    pub records: u64,
    /// Key-value pairs anywhere.
    pub key_values: u64,
    /// Messages of any kind (each becomes a structure when decoded).
    pub messages: u64,
    /// The deepest value nesting.
    pub depth: u32,
}

/// A request that cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Not a protobuf message of the expected shape.
    #[error("the body is not a valid OTLP protobuf message: {0}")]
    Malformed(&'static str),
    /// Over one of the [`WireLimits`].
    #[error("the request holds more than {limit} {what}")]
    TooMany {
        /// What.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// Values nested deeper than [`WireLimits::max_depth`]: a shape no exporter makes, refused
    /// as invalid rather than as too large.
    #[error("the request nests values more than {limit} levels deep")]
    TooDeep {
        /// The limit.
        limit: u32,
    },
}

/// Counts an `ExportTraceServiceRequest`.
pub fn count_traces(bytes: &[u8], limits: &WireLimits) -> Result<Counted, WireError> {
    count(bytes, Message::TraceRequest, limits)
}

/// Counts an `ExportLogsServiceRequest`.
pub fn count_logs(bytes: &[u8], limits: &WireLimits) -> Result<Counted, WireError> {
    count(bytes, Message::LogsRequest, limits)
}

/// Counts an `ExportMetricsServiceRequest`.
pub fn count_metrics(bytes: &[u8], limits: &WireLimits) -> Result<Counted, WireError> {
    count(bytes, Message::MetricsRequest, limits)
}

fn count(bytes: &[u8], root: Message, limits: &WireLimits) -> Result<Counted, WireError> {
    let mut walk = Walk {
        limits,
        counted: Counted::default(),
    };
    walk.message(bytes, root, 0)?;
    Ok(walk.counted)
}

/// The OTLP messages the walk descends into; every other field is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    TraceRequest,
    ResourceSpans,
    ScopeSpans,
    Span,
    SpanEvent,
    SpanLink,
    LogsRequest,
    ResourceLogs,
    ScopeLogs,
    LogRecord,
    MetricsRequest,
    ResourceMetrics,
    ScopeMetrics,
    Metric,
    /// Gauge, Sum, Histogram, ExponentialHistogram, Summary: field 1 holds the points.
    DataPoints(Point),
    DataPoint(Point),
    Exemplar,
    Resource,
    Scope,
    KeyValue,
    AnyValue,
    ArrayValue,
    KeyValueList,
}

/// A data point's kind: where its attributes and exemplars are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    Number,
    Histogram,
    Exponential,
    Summary,
}

impl Message {
    /// The message a length-delimited field of this one holds, if the walk descends into it.
    fn child(self, field: u32) -> Option<Message> {
        use Message as M;
        Some(match (self, field) {
            (M::TraceRequest, 1) => M::ResourceSpans,
            (M::ResourceSpans, 1) | (M::ResourceLogs, 1) | (M::ResourceMetrics, 1) => M::Resource,
            (M::ResourceSpans, 2) => M::ScopeSpans,
            (M::ScopeSpans, 1) | (M::ScopeLogs, 1) | (M::ScopeMetrics, 1) => M::Scope,
            (M::ScopeSpans, 2) => M::Span,
            (M::Span, 9) | (M::SpanEvent, 3) | (M::SpanLink, 4) => M::KeyValue,
            (M::Span, 11) => M::SpanEvent,
            (M::Span, 13) => M::SpanLink,
            (M::LogsRequest, 1) => M::ResourceLogs,
            (M::ResourceLogs, 2) => M::ScopeLogs,
            (M::ScopeLogs, 2) => M::LogRecord,
            (M::LogRecord, 5) => M::AnyValue,
            (M::LogRecord, 6) => M::KeyValue,
            (M::MetricsRequest, 1) => M::ResourceMetrics,
            (M::ResourceMetrics, 2) => M::ScopeMetrics,
            (M::ScopeMetrics, 2) => M::Metric,
            (M::Metric, 12) => M::KeyValue,
            (M::Metric, 5 | 7) => M::DataPoints(Point::Number),
            (M::Metric, 9) => M::DataPoints(Point::Histogram),
            (M::Metric, 10) => M::DataPoints(Point::Exponential),
            (M::Metric, 11) => M::DataPoints(Point::Summary),
            (M::DataPoints(p), 1) => M::DataPoint(p),
            (M::DataPoint(Point::Number | Point::Summary), 7)
            | (M::DataPoint(Point::Histogram), 9)
            | (M::DataPoint(Point::Exponential), 1)
            | (M::Exemplar, 7) => M::KeyValue,
            (M::DataPoint(Point::Number), 5)
            | (M::DataPoint(Point::Histogram), 8)
            | (M::DataPoint(Point::Exponential), 11) => M::Exemplar,
            (M::Resource, 1) | (M::Scope, 3) | (M::KeyValueList, 1) => M::KeyValue,
            (M::KeyValue, 2) | (M::ArrayValue, 1) => M::AnyValue,
            (M::AnyValue, 5) => M::ArrayValue,
            (M::AnyValue, 6) => M::KeyValueList,
            _ => return None,
        })
    }

    fn is_record(self) -> bool {
        matches!(self, Self::Span | Self::LogRecord | Self::DataPoint(_))
    }
}

struct Walk<'a> {
    limits: &'a WireLimits,
    counted: Counted,
}

impl Walk<'_> {
    /// Walks the fields of one `message` encoded in `bytes`, at value nesting `depth`.
    fn message(&mut self, mut bytes: &[u8], message: Message, depth: u32) -> Result<(), WireError> {
        self.counted.messages += 1;
        if message.is_record() {
            self.counted.records += 1;
            self.check(self.counted.records, self.limits.max_records, "records")?;
        }
        if message == Message::KeyValue {
            self.counted.key_values += 1;
            self.check(
                self.counted.key_values,
                self.limits.max_key_values,
                "key-value pairs",
            )?;
        }
        // Arrays and kvlists nest values one level deeper.
        let depth = match message {
            Message::ArrayValue | Message::KeyValueList => {
                let depth = depth + 1;
                if depth > self.limits.max_depth {
                    return Err(WireError::TooDeep {
                        limit: self.limits.max_depth,
                    });
                }
                self.counted.depth = self.counted.depth.max(depth);
                depth
            }
            _ => depth,
        };
        while !bytes.is_empty() {
            let (field, wire_type) = key(&mut bytes)?;
            if field == 0 {
                return Err(WireError::Malformed("field number 0"));
            }
            match wire_type {
                2 => {
                    let inner = length_delimited(&mut bytes)?;
                    if let Some(child) = message.child(field) {
                        self.message(inner, child, depth)?;
                    }
                }
                3 => bytes = skip_group(bytes, field)?,
                _ => skip_scalar(&mut bytes, wire_type)?,
            }
        }
        Ok(())
    }

    fn check(&self, n: u64, limit: u64, what: &'static str) -> Result<(), WireError> {
        if n > limit {
            return Err(WireError::TooMany { what, limit });
        }
        Ok(())
    }
}

/// prost's recursion limit (private to it): how deep messages and the groups in them nest
/// before it refuses a request. Groups are refused only past it, so that the count never
/// refuses what prost decodes.
const PROST_RECURSION_LIMIT: usize = 100;

/// Skips a (deprecated) group of field `field`, up to its end tag, as prost skips unknown
/// groups; groups nested in it are skipped along.
fn skip_group(mut bytes: &[u8], field: u32) -> Result<&[u8], WireError> {
    let mut open = vec![field];
    while let Some(&innermost) = open.last() {
        if open.len() > PROST_RECURSION_LIMIT {
            return Err(WireError::Malformed("groups nested too deep"));
        }
        let (number, wire_type) = key(&mut bytes)?;
        match wire_type {
            2 => {
                length_delimited(&mut bytes)?;
            }
            3 => open.push(number),
            4 if number == innermost => {
                open.pop();
            }
            4 => return Err(WireError::Malformed("a group that does not end")),
            _ => skip_scalar(&mut bytes, wire_type)?,
        }
    }
    Ok(bytes)
}

/// Reads a field's key: its number and wire type.
fn key(bytes: &mut &[u8]) -> Result<(u32, u64), WireError> {
    let key = varint(bytes)?;
    let field =
        u32::try_from(key >> 3).map_err(|_| WireError::Malformed("a field number out of range"))?;
    Ok((field, key & 7))
}

/// Reads a length-delimited field's bytes.
fn length_delimited<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], WireError> {
    let len = usize::try_from(varint(bytes)?)
        .map_err(|_| WireError::Malformed("a length out of range"))?;
    if len > bytes.len() {
        return Err(WireError::Malformed("a field longer than the message"));
    }
    let (inner, rest) = bytes.split_at(len);
    *bytes = rest;
    Ok(inner)
}

/// Skips a varint, fixed64 or fixed32 value (wire types 0, 1, 5); any other type is malformed.
fn skip_scalar(bytes: &mut &[u8], wire_type: u64) -> Result<(), WireError> {
    let size = match wire_type {
        0 => {
            varint(bytes)?;
            return Ok(());
        }
        1 => 8,
        5 => 4,
        _ => return Err(WireError::Malformed("an unknown wire type")),
    };
    *bytes = bytes
        .get(size..)
        .ok_or(WireError::Malformed("a fixed-size field cut short"))?;
    Ok(())
}

/// Reads a base-128 varint (at most 10 bytes).
fn varint(bytes: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some((&b, rest)) = bytes.split_first() else {
            return Err(WireError::Malformed("a varint cut short"));
        };
        *bytes = rest;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(WireError::Malformed("a varint longer than 10 bytes"))
}

#[cfg(test)]
mod tests;
