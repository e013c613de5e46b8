//! Realistic agent traces as OTLP: per trace an agent span (naming the agent, the session and
//! the user), three LLM spans with usage (cache reads on some, three providers) and two tool
//! spans under it, one in ten of them failing. As with the OTel GenAI instrumentations, only
//! the agent span names the agent, session and user: the calls take them from it. Session and
//! user ids come from small pools, as in a real deployment.
//!
//! Each shape of trace is encoded once ([`Shapes`]); a request copies the shapes it needs and
//! patches their ids and times in place.

use std::sync::Arc;

use opentelemetry::KeyValue as ApiKeyValue;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span, status};
use opentelemetry_proto::transform::common::tonic::Attributes;

/// Spans in one generated trace.
pub(crate) const SPANS_PER_TRACE: usize = 6;

/// A small, fast, deterministic generator (splitmix64): ids must be unique, not secret.
#[derive(Debug)]
pub(crate) struct Ids(u64);

impl Ids {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn trace_id(&mut self) -> [u8; 16] {
        let mut id = [0; 16];
        id[..8].copy_from_slice(&self.next().to_be_bytes());
        id[8..].copy_from_slice(&(self.next() | 1).to_be_bytes());
        id
    }

    fn span_id(&mut self) -> [u8; 8] {
        (self.next() | 1).to_be_bytes()
    }
}

/// OTLP attributes from API key-values, through opentelemetry-proto's own conversion.
fn otlp(kvs: impl IntoIterator<Item = ApiKeyValue>) -> Vec<KeyValue> {
    Attributes::from(kvs).0
}

const MODELS: [(&str, &str); 3] = [
    ("openai", "gpt-4o"),
    ("anthropic", "claude-sonnet-4-5"),
    ("gcp.gemini", "gemini-2.5-flash"),
];
const AGENTS: [&str; 4] = ["planner", "researcher", "coder", "reviewer"];
const TOOLS: [&str; 4] = ["web_search", "fetch_url", "run_tests", "read_file"];

/// Trace `n`, of [`SPANS_PER_TRACE`] spans ending at `end_ns`, with its trace id. What it
/// takes from `n` repeats every [`SHAPE_PERIOD`] numbers.
fn trace(ids: &mut Ids, end_ns: u64, n: u64) -> ([u8; 16], Vec<Span>) {
    let trace_id = ids.trace_id();
    let root_id = ids.span_id();
    let start = end_ns.saturating_sub(4_000_000_000);
    let agent = AGENTS[(n % 4) as usize];
    let session = format!("session-{}", n % 500);
    let user = format!("user-{}", n % 50);
    let mut spans = Vec::with_capacity(SPANS_PER_TRACE);
    spans.push(Span {
        trace_id: trace_id.to_vec(),
        span_id: root_id.to_vec(),
        name: format!("invoke_agent {agent}"),
        kind: span::SpanKind::Internal as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end_ns,
        attributes: otlp([
            ApiKeyValue::new("gen_ai.operation.name", "invoke_agent".to_owned()),
            ApiKeyValue::new("gen_ai.agent.name", agent.to_owned()),
            ApiKeyValue::new("gen_ai.conversation.id", session.to_owned()),
            ApiKeyValue::new("user.id", user.to_owned()),
        ]),
        ..Span::default()
    });
    for i in 0..3u64 {
        let (provider, model) = MODELS[((n + i) % 3) as usize];
        let input = 800 + ((n * 37 + i * 101) % 4_000) as i64;
        let mut attributes = vec![
            ApiKeyValue::new("gen_ai.operation.name", "chat".to_owned()),
            ApiKeyValue::new("gen_ai.provider.name", provider.to_owned()),
            ApiKeyValue::new("gen_ai.request.model", model.to_owned()),
            ApiKeyValue::new("gen_ai.usage.input_tokens", input),
            ApiKeyValue::new(
                "gen_ai.usage.output_tokens",
                120 + ((n + i * 7) % 600) as i64,
            ),
        ];
        if i == 1 {
            attributes.push(ApiKeyValue::new(
                "gen_ai.usage.cache_read.input_tokens",
                input / 2,
            ));
        }
        let s = start + 100_000_000 + i * 1_000_000_000;
        spans.push(Span {
            trace_id: trace_id.to_vec(),
            span_id: ids.span_id().to_vec(),
            parent_span_id: root_id.to_vec(),
            name: format!("chat {model}"),
            kind: span::SpanKind::Client as i32,
            start_time_unix_nano: s,
            end_time_unix_nano: s + 600_000_000 + (n % 400) * 1_000_000,
            attributes: otlp(attributes),
            ..Span::default()
        });
    }
    for i in 0..2u64 {
        let tool = TOOLS[((n + i) % 4) as usize];
        let fails = (n + i).is_multiple_of(10);
        let s = start + 3_200_000_000 + i * 300_000_000;
        spans.push(Span {
            trace_id: trace_id.to_vec(),
            span_id: ids.span_id().to_vec(),
            parent_span_id: root_id.to_vec(),
            name: format!("execute_tool {tool}"),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: s,
            end_time_unix_nano: s + 50_000_000 + (n % 200) * 1_000_000,
            attributes: otlp([
                ApiKeyValue::new("gen_ai.operation.name", "execute_tool".to_owned()),
                ApiKeyValue::new("gen_ai.tool.name", tool.to_owned()),
            ]),
            status: fails.then(|| Status {
                code: status::StatusCode::Error as i32,
                message: format!("{tool}: upstream returned 502"),
            }),
            ..Span::default()
        });
    }
    (trace_id, spans)
}

/// The least common multiple of every pool and cycle [`trace`] draws from `n` (agents 4,
/// sessions 500, users 50, models 3, input tokens 4,000, output tokens 600, durations 400 and
/// 200, failures 10): traces `n` and `n + SHAPE_PERIOD` differ only in ids and times.
const SHAPE_PERIOD: u64 = 12_000;

/// The end time the shapes are encoded with; a copy moves every time by its distance to this.
const SHAPE_END_NS: u64 = 1 << 40;

/// Keys of `Span`'s fields that a copy patches: `trace_id` (1, 16 bytes), `span_id` (2, 8
/// bytes), `parent_span_id` (4, 8 bytes) with their lengths; `start_time_unix_nano` (7) and
/// `end_time_unix_nano` (8), fixed64.
const TRACE_ID_KEY: [u8; 2] = [(1 << 3) | 2, 16];
const SPAN_ID_KEY: [u8; 2] = [(2 << 3) | 2, 8];
const PARENT_ID_KEY: [u8; 2] = [(4 << 3) | 2, 8];
const START_KEY: [u8; 1] = [(7 << 3) | 1];
const END_KEY: [u8; 1] = [(8 << 3) | 1];

/// Where `needle` starts in `haystack`, if it occurs there exactly once.
fn find_once(haystack: &[u8], needle: &[u8]) -> Result<usize, String> {
    let mut at = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle);
    match (at.next(), at.next()) {
        (Some((i, _)), None) => Ok(i),
        _ => Err(format!(
            "{needle:02x?} is not in the encoded span exactly once"
        )),
    }
}

/// One trace encoded as `ScopeSpans.spans` fields (key, length, span), its root's first, and
/// where its ids and times sit in them, so that a copy only patches those.
#[derive(Debug)]
struct EncodedTrace {
    bytes: Vec<u8>,
    /// Where the root's field ends and the children's begin.
    root_end: usize,
    /// Each span's trace id (16 bytes).
    trace_ids: Vec<usize>,
    /// Each span's own id (8 bytes), the root's first.
    span_ids: Vec<usize>,
    /// Each child's parent id (8 bytes), with the index in `span_ids` of the span it names.
    parent_ids: Vec<(usize, usize)>,
    /// Each span's start and end times (8 bytes, little-endian).
    times: Vec<usize>,
}

impl EncodedTrace {
    fn new(n: u64) -> Result<Self, String> {
        // Any ids do for the template: they are replaced in every copy.
        let (trace_id, spans) = trace(&mut Ids::new(n), SHAPE_END_NS, n);
        let mut encoded = Self {
            bytes: Vec::new(),
            root_end: 0,
            trace_ids: Vec::new(),
            span_ids: Vec::new(),
            parent_ids: Vec::new(),
            times: Vec::new(),
        };
        for span in &spans {
            let begin = encoded.bytes.len();
            prost::encoding::message::encode(2, span, &mut encoded.bytes);
            let field = &encoded.bytes[begin..];
            // Where a field with this key and value is, and so where its value begins.
            let at = |key: &[u8], value: &[u8]| {
                find_once(field, &[key, value].concat()).map(|i| begin + i + key.len())
            };
            encoded.trace_ids.push(at(&TRACE_ID_KEY, &trace_id)?);
            encoded.span_ids.push(at(&SPAN_ID_KEY, &span.span_id)?);
            if !span.parent_span_id.is_empty() {
                let parent = spans
                    .iter()
                    .position(|s| s.span_id == span.parent_span_id)
                    .ok_or("a child's parent is not in its trace")?;
                encoded
                    .parent_ids
                    .push((at(&PARENT_ID_KEY, &span.parent_span_id)?, parent));
            }
            encoded
                .times
                .push(at(&START_KEY, &span.start_time_unix_nano.to_le_bytes())?);
            encoded
                .times
                .push(at(&END_KEY, &span.end_time_unix_nano.to_le_bytes())?);
            if span.parent_span_id.is_empty() {
                encoded.root_end = encoded.bytes.len();
            }
        }
        Ok(encoded)
    }

    /// A copy into `out` with fresh ids (drawn as [`trace`] draws them) and every time moved
    /// so that the trace ends at `end_ns`; returns its trace id.
    fn copy_into(&self, ids: &mut Ids, end_ns: u64, out: &mut Vec<u8>) -> [u8; 16] {
        let base = out.len();
        out.extend_from_slice(&self.bytes);
        let spans = &mut out[base..];
        let trace_id = ids.trace_id();
        for &at in &self.trace_ids {
            spans[at..at + 16].copy_from_slice(&trace_id);
        }
        let span_ids: [[u8; 8]; SPANS_PER_TRACE] = std::array::from_fn(|_| ids.span_id());
        for (&at, id) in self.span_ids.iter().zip(&span_ids) {
            spans[at..at + 8].copy_from_slice(id);
        }
        for &(at, parent) in &self.parent_ids {
            spans[at..at + 8].copy_from_slice(&span_ids[parent]);
        }
        for &at in &self.times {
            let mut time = [0; 8];
            time.copy_from_slice(&spans[at..at + 8]);
            let moved = u64::from_le_bytes(time)
                .wrapping_sub(SHAPE_END_NS)
                .wrapping_add(end_ns);
            spans[at..at + 8].copy_from_slice(&moved.to_le_bytes());
        }
        trace_id
    }
}

/// Every trace shape, encoded once (about 25 MiB), shared by the clients: building a request is
/// then a copy and a few patches, so that the load generator takes little of the CPU it shares
/// with the server it measures (building each request's messages anew took a ninth of it).
#[derive(Debug)]
pub(crate) struct Shapes {
    traces: Vec<EncodedTrace>,
    /// `ResourceSpans.resource` and `ScopeSpans.scope`, encoded as fields.
    resource: Vec<u8>,
    scope: Vec<u8>,
}

impl Shapes {
    pub(crate) fn new() -> Result<Self, String> {
        let mut resource = Vec::new();
        prost::encoding::message::encode(
            1,
            &Resource {
                attributes: otlp([ApiKeyValue::new("service.name", "loadgen-agents")]),
                ..Resource::default()
            },
            &mut resource,
        );
        let mut scope = Vec::new();
        prost::encoding::message::encode(
            1,
            &InstrumentationScope {
                name: "agentrace-loadgen".into(),
                ..InstrumentationScope::default()
            },
            &mut scope,
        );
        Ok(Self {
            traces: (0..SHAPE_PERIOD)
                .map(EncodedTrace::new)
                .collect::<Result<_, _>>()?,
            resource,
            scope,
        })
    }

    /// No shape: what a load of another kind passes around.
    pub(crate) fn empty() -> Self {
        Self {
            traces: Vec::new(),
            resource: Vec::new(),
            scope: Vec::new(),
        }
    }

    /// An `ExportTraceServiceRequest` of one resource and scope around `spans` (encoded
    /// `ScopeSpans.spans` fields).
    fn request(&self, spans: &[u8]) -> Vec<u8> {
        use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};
        let scope_spans = self.scope.len() + spans.len();
        let resource_spans =
            self.resource.len() + 1 + encoded_len_varint(scope_spans as u64) + scope_spans;
        let mut body = Vec::with_capacity(resource_spans + 1 + 10);
        encode_key(1, WireType::LengthDelimited, &mut body);
        encode_varint(resource_spans as u64, &mut body);
        body.extend_from_slice(&self.resource);
        encode_key(2, WireType::LengthDelimited, &mut body);
        encode_varint(scope_spans as u64, &mut body);
        body.extend_from_slice(&self.scope);
        body.extend_from_slice(spans);
        body
    }
}

/// An encoded OTLP/HTTP protobuf body.
#[derive(Debug)]
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    pub(crate) spans: u64,
    /// The id of one trace it completes (its first; children first, the first of the
    /// previous batch, whose agent span it carries), to watch for visibility.
    pub(crate) sample: Option<[u8; 16]>,
    /// Bytes of captured content (prompts, responses, tool input and output) its spans carry.
    pub(crate) content_bytes: u64,
}

/// One client's requests, in the order its traces' spans are sent.
#[derive(Debug)]
pub(crate) struct Requests {
    shapes: Arc<Shapes>,
    ids: Ids,
    children_first: bool,
    /// Children first: the previous batch's roots, sent with the next batch.
    carried: Vec<u8>,
    carried_spans: u64,
    /// Children first: the first trace of the previous batch.
    carried_sample: Option<[u8; 16]>,
    scratch: Vec<u8>,
}

impl Requests {
    pub(crate) fn new(shapes: Arc<Shapes>, seed: u64, children_first: bool) -> Self {
        Self {
            shapes,
            ids: Ids::new(seed),
            children_first,
            carried: Vec::new(),
            carried_spans: 0,
            carried_sample: None,
            scratch: Vec::new(),
        }
    }

    /// Traces `first..first + traces`, ending at `end_ns`. Whole: each trace in it. Children
    /// first: their calls and tools, with the previous batch's agent spans (the roots).
    pub(crate) fn next(&mut self, end_ns: u64, first: u64, traces: usize) -> Body {
        let mut spans = Vec::with_capacity(traces * self.shapes.traces[0].bytes.len());
        let mut roots = Vec::new();
        let mut sample = None;
        for n in first..first + traces as u64 {
            let shape = &self.shapes.traces[(n % SHAPE_PERIOD) as usize];
            self.scratch.clear();
            let trace_id = shape.copy_into(&mut self.ids, end_ns, &mut self.scratch);
            sample.get_or_insert(trace_id);
            if self.children_first {
                roots.extend_from_slice(&self.scratch[..shape.root_end]);
                spans.extend_from_slice(&self.scratch[shape.root_end..]);
            } else {
                spans.extend_from_slice(&self.scratch);
            }
        }
        let mut count = traces as u64 * SPANS_PER_TRACE as u64;
        if self.children_first {
            count = count - traces as u64 + self.carried_spans;
            spans.append(&mut std::mem::replace(&mut self.carried, roots));
            self.carried_spans = traces as u64;
            sample = std::mem::replace(&mut self.carried_sample, sample);
        }
        Body {
            bytes: self.shapes.request(&spans),
            spans: count,
            sample,
            content_bytes: 0,
        }
    }

    /// Children first: the roots still held back, as a last request.
    pub(crate) fn finish(&mut self) -> Option<Body> {
        (self.carried_spans > 0).then(|| Body {
            bytes: self.shapes.request(&std::mem::take(&mut self.carried)),
            spans: std::mem::take(&mut self.carried_spans),
            sample: self.carried_sample.take(),
            content_bytes: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;

    use super::*;

    /// The same request built as messages, the way the encoded shapes stand in for.
    fn built(ids: &mut Ids, end_ns: u64, first: u64, traces: usize) -> Vec<Span> {
        (first..first + traces as u64)
            .flat_map(|n| trace(ids, end_ns, n).1)
            .collect()
    }

    fn spans_of(body: &Body) -> Vec<Span> {
        let request = ExportTraceServiceRequest::decode(body.bytes.as_slice()).expect("decodes");
        assert_eq!(request.resource_spans.len(), 1);
        let resource_spans = &request.resource_spans[0];
        let resource = resource_spans.resource.as_ref().expect("a resource");
        assert_eq!(resource.attributes[0].key, "service.name");
        assert_eq!(resource_spans.scope_spans.len(), 1);
        let scope_spans = &resource_spans.scope_spans[0];
        let scope = scope_spans.scope.as_ref().expect("a scope");
        assert_eq!(scope.name, "agentrace-loadgen");
        assert_eq!(scope_spans.spans.len() as u64, body.spans);
        scope_spans.spans.clone()
    }

    #[test]
    fn a_copied_request_is_the_request_built_as_messages_beyond_the_period() {
        let shapes = Arc::new(Shapes::new().expect("shapes"));
        let end_ns = 1_790_000_000_123_456_789;
        // Past the period and across its wrap: the period must be right for these to agree.
        let first = 3 * SHAPE_PERIOD - 20;
        let mut requests = Requests::new(shapes, 42, false);
        let body = requests.next(end_ns, first, 50);
        let expected = built(&mut Ids::new(42), end_ns, first, 50);
        assert_eq!(spans_of(&body), expected);
        assert_eq!(
            body.sample.map(|id| id.to_vec()),
            Some(expected[0].trace_id.clone())
        );
    }

    #[test]
    fn children_first_sends_each_batch_s_roots_with_the_next_batch() {
        let shapes = Arc::new(Shapes::new().expect("shapes"));
        let end_ns = 1_790_000_000_000_000_000;
        let mut requests = Requests::new(shapes, 7, true);
        let mut ids = Ids::new(7);
        let first_batch = built(&mut ids, end_ns, 0, 10);
        let second_batch = built(&mut ids, end_ns + 1, 10, 10);
        let (roots_1, children_1): (Vec<Span>, Vec<Span>) = first_batch
            .into_iter()
            .partition(|s| s.parent_span_id.is_empty());
        let (roots_2, children_2): (Vec<Span>, Vec<Span>) = second_batch
            .into_iter()
            .partition(|s| s.parent_span_id.is_empty());

        let first = requests.next(end_ns, 0, 10);
        assert_eq!(spans_of(&first), children_1);
        assert_eq!(first.sample, None, "it completes no trace");
        let second = requests.next(end_ns + 1, 10, 10);
        assert_eq!(
            second.sample.map(|id| id.to_vec()),
            Some(roots_1[0].trace_id.clone()),
            "the first trace it completes"
        );
        assert_eq!(spans_of(&second), [children_2, roots_1].concat());
        let last = requests.finish().expect("the last roots");
        assert_eq!(
            last.sample.map(|id| id.to_vec()),
            Some(roots_2[0].trace_id.clone())
        );
        assert_eq!(spans_of(&last), roots_2);
        assert!(requests.finish().is_none());
    }
}
