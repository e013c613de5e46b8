//! Trace requests: spans decoded, validated, normalized, then the request's spans completed
//! from each other (inherited fields, aggregate marks).

use std::collections::HashMap;
use std::sync::Arc;

use agentrace_core::normalize::{dialect, mark_aggregate};
use agentrace_core::semconv::{agentrace, otel};
use agentrace_core::{
    AttributionNode, Resource, SpanEvent, SpanId, SpanRecord, SpanStatus, StatusCode, TraceId,
    complete_attribution,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};

use crate::reject::{self, Hex, Rejection, Short};
use crate::resource::{self, Scope};
use crate::shape::SpanShape;
use crate::value::Converter;
use crate::{Decoded, Limits, billing, mcp_calls};

pub(crate) fn decode(
    limits: &Limits,
    request: ExportTraceServiceRequest,
    now: u64,
) -> Decoded<SpanRecord> {
    let mut out = Decoded::default();
    for resource_spans in request.resource_spans {
        let resource = match resource::resource(resource_spans.resource, limits) {
            Ok(resource) => resource,
            Err(why) => {
                let spans = resource_spans.scope_spans.iter().map(|s| s.spans.len());
                let count = spans.sum::<usize>();
                out.reject_many(limits, count, format_args!("{count} spans"), &why);
                continue;
            }
        };
        for scope_spans in resource_spans.scope_spans {
            let scope = Scope::new(scope_spans.scope, limits);
            for span in scope_spans.spans {
                match decode_span(limits, span, &resource, &scope, now) {
                    Ok(record) => out.records.push(record),
                    Err((subject, why)) => out.reject(limits, subject, &why),
                }
            }
        }
    }
    complete(&mut out.records);
    out
}

/// One span, or what to call it in a rejection and why.
fn decode_span(
    limits: &Limits,
    span: Span,
    resource: &Arc<Resource>,
    scope: &Scope,
    now: u64,
) -> Result<SpanRecord, (String, Rejection)> {
    let Span {
        trace_id,
        span_id,
        parent_span_id,
        name,
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes,
        events,
        status,
        ..
    } = span;
    let fail = |why| {
        let subject = format!(
            "span {} (trace {}, span {})",
            Short(&name),
            Hex(&trace_id),
            Hex(&span_id)
        );
        (subject, why)
    };
    let checked = (|| {
        let ids = (
            reject::trace_id(&trace_id, "trace id")?,
            reject::span_id(&span_id, "span id")?,
            reject::optional_span_id(&parent_span_id, "parent span id")?,
        );
        reject::time("start time", start, now, limits)?;
        reject::time("end time", end, now, limits)?;
        if end < start {
            return Err(Rejection::EndBeforeStart { start, end });
        }
        if events.len() > limits.max_events_per_span {
            return Err(Rejection::TooManyEvents {
                count: events.len(),
                limit: limits.max_events_per_span,
            });
        }
        Ok(ids)
    })();
    let (trace_id, span_id, parent_span_id) = checked.map_err(fail)?;
    let mut converter = Converter::new(limits);
    let attributes = converter.attributes(attributes, "span").map_err(fail)?;
    let events = events
        .into_iter()
        .map(|event| {
            Ok(SpanEvent {
                name: converter.string(event.name),
                time_unix_nano: event.time_unix_nano,
                attributes: converter.attributes(event.attributes, "span event")?,
            })
        })
        .collect::<Result<Vec<_>, Rejection>>()
        .map_err(fail)?;
    let name = converter.string(name);
    let mut record = SpanRecord::new(trace_id, span_id, name, start, end, resource.clone());
    record.parent_span_id = parent_span_id;
    record.scope.clone_from(&scope.name);
    record.status = match status {
        Some(s) if s.code == status::StatusCode::Error as i32 => SpanStatus {
            code: StatusCode::Error,
            message: (!s.message.is_empty()).then(|| converter.string(s.message)),
        },
        Some(s) if s.code == status::StatusCode::Ok as i32 => SpanStatus {
            code: StatusCode::Ok,
            message: (!s.message.is_empty()).then(|| converter.string(s.message)),
        },
        _ => SpanStatus::default(),
    };
    record.attributes = attributes;
    record.events = events;
    // Beside the raw attributes, never over one of them; before normalizing, whose MCP rule
    // tells a client from a server by it.
    if let Some(kind) = otel_kind(kind)
        && record.attributes.get(otel::KIND).is_none()
    {
        record.attributes.insert(otel::KIND, kind);
    }
    dialect::normalize_span(&mut record, scope.framework);
    if let Some(version) = &scope.version
        && record.attributes.get(otel::SCOPE_VERSION).is_none()
    {
        record
            .attributes
            .insert(otel::SCOPE_VERSION, version.as_str());
    }
    if converter.truncated > 0 {
        record
            .attributes
            .insert(agentrace::INGEST_TRUNCATED, converter.truncated);
    }
    Ok(record)
}

/// The OpenTelemetry span kind as `tracing-opentelemetry` names it in `otel.kind`.
fn otel_kind(kind: i32) -> Option<&'static str> {
    Some(match span::SpanKind::try_from(kind).ok()? {
        span::SpanKind::Unspecified => return None,
        span::SpanKind::Internal => "internal",
        span::SpanKind::Server => "server",
        span::SpanKind::Client => "client",
        span::SpanKind::Producer => "producer",
        span::SpanKind::Consumer => "consumer",
    })
}

/// Completes the accepted spans of one request from each other: fields inherited from
/// ancestors, the client sides of MCP calls from their server sides and the framework spans
/// around them re-kinded ([`mcp_calls`]), and steps
/// with a step beneath them marked as aggregates ([`billing`]).
fn complete(records: &mut [SpanRecord]) {
    mcp_calls::complete(records);
    mcp_calls::unwrap(records);
    let index: HashMap<(TraceId, SpanId), usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.trace_id, r.span_id), i))
        .collect();
    let mut nodes: Vec<AttributionNode> = records.iter().map(AttributionNode::of).collect();
    for i in complete_attribution(&mut nodes).filled {
        nodes[i].values.apply_to(&mut records[i]);
    }
    let mut by_trace: HashMap<TraceId, Vec<usize>> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        by_trace.entry(record.trace_id).or_default().push(i);
    }
    for members in by_trace.values() {
        let shapes: Vec<SpanShape> = members
            .iter()
            .map(|&i| SpanShape::of(&records[i], 0))
            .collect();
        for span in billing::aggregates(&shapes) {
            if let Some(&i) = index.get(&(records[members[0]].trace_id, span)) {
                mark_aggregate(&mut records[i]);
            }
        }
    }
}
