//! Long agent runs with their content captured, as an agent loop sends them: per run an agent
//! span, then `turns` times a model call and the tool call it asked for. Every model call
//! carries the conversation so far in `gen_ai.input.messages` (the system prompt, the user's
//! question, then each earlier call's tool call and the tool's result) — or, with
//! [`History::Delta`], only what was added since the previous call in
//! `gen_ai.input.messages_delta` — and its answer in `gen_ai.output.messages`; every tool span
//! its arguments and result. The system prompt is the same in every run; questions, arguments
//! and results differ from run to run (English-like text from a fixed vocabulary, so that it
//! compresses as prose does, not as noise or as repetition).
//!
//! Built anew for each request (content cannot be copied from a shape as the short traces'
//! ids are), with the splitmix generator of [`crate::traces::Ids`].

use opentelemetry::KeyValue as ApiKeyValue;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use opentelemetry_proto::transform::common::tonic::Attributes;
use prost::Message;

use crate::traces::{Body, Ids};

/// How a model call carries the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum History {
    /// The whole conversation every time (`gen_ai.input.messages`), as agents do.
    Whole,
    /// Only the messages added since the previous call (`gen_ai.input.messages_delta`).
    Delta,
}

/// The content attributes a span of these runs may carry (what "content bytes" counts).
const CONTENT_KEYS: [&str; 5] = [
    "gen_ai.input.messages",
    "gen_ai.input.messages_delta",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
];

const SYSTEM: &str = "You are the operations assistant of Example Logistics. You help the \
     dispatch team find shipments, explain delays and book carriers. Always look data up with \
     the tools before answering; never guess a tracking number, a price or a date. Quote the \
     shipment id in every answer. When a shipment is late, give the last scan, the reason the \
     carrier gave and the new estimate, then propose one concrete next step. Escalate to a \
     human when a customer asks for compensation above 200 EUR, when hazardous goods are \
     involved, or when two tools disagree. Answer in the customer's language, in at most five \
     sentences, without Markdown tables.";

const WORDS: [&str; 64] = [
    "shipment",
    "carrier",
    "delayed",
    "warehouse",
    "pallet",
    "customs",
    "invoice",
    "route",
    "driver",
    "arrival",
    "scanned",
    "depot",
    "rotterdam",
    "hamburg",
    "lyon",
    "milan",
    "truck",
    "container",
    "weight",
    "kg",
    "tracking",
    "status",
    "estimated",
    "weather",
    "strike",
    "border",
    "inspection",
    "cleared",
    "pending",
    "loaded",
    "unloaded",
    "signature",
    "damaged",
    "refused",
    "rebooked",
    "express",
    "standard",
    "priority",
    "window",
    "morning",
    "evening",
    "monday",
    "friday",
    "contact",
    "phone",
    "email",
    "reference",
    "order",
    "quantity",
    "temperature",
    "reefer",
    "seal",
    "broken",
    "intact",
    "photo",
    "report",
    "claim",
    "approved",
    "declined",
    "the",
    "and",
    "was",
    "at",
    "for",
];

const TOOLS: [&str; 4] = [
    "lookup_shipment",
    "carrier_status",
    "book_carrier",
    "customs_check",
];

/// The runs of one client.
#[derive(Debug)]
pub(crate) struct LongRuns {
    turns: usize,
    history: History,
    ids: Ids,
    resource: Resource,
}

/// `n` words of English-like text drawn from `rng`.
fn prose(rng: &mut Ids, n: usize) -> String {
    let mut out = String::with_capacity(n * 8);
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
    }
    out
}

fn message(role: &str, parts: &str) -> String {
    format!(r#"{{"role":"{role}","parts":[{parts}]}}"#)
}

fn text_part(text: &str) -> String {
    format!(r#"{{"type":"text","content":{}}}"#, json_string(text))
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

impl LongRuns {
    pub(crate) fn new(turns: usize, history: History, seed: u64) -> Self {
        Self {
            turns: turns.max(1),
            history,
            ids: Ids::new(seed),
            resource: Resource {
                attributes: Attributes::from([ApiKeyValue::new(
                    "service.name",
                    "loadgen-long-runs",
                )])
                .0,
                ..Resource::default()
            },
        }
    }

    /// Spans a run sends: its agent span, a model call and a tool call a turn.
    pub(crate) fn spans_per_run(turns: usize) -> usize {
        1 + 2 * turns.max(1)
    }

    /// Runs `first..first + runs`, each ending at `end_ns`, as one request.
    pub(crate) fn next(&mut self, end_ns: u64, first: u64, runs: usize) -> Body {
        let mut spans = Vec::with_capacity(runs * Self::spans_per_run(self.turns));
        let mut sample = None;
        for n in first..first + runs as u64 {
            let run = self.run(end_ns, n);
            sample.get_or_insert_with(|| {
                let mut id = [0; 16];
                id.copy_from_slice(&run[0].trace_id);
                id
            });
            spans.extend(run);
        }
        let content = spans
            .iter()
            .flat_map(|s| &s.attributes)
            .filter(|kv| CONTENT_KEYS.contains(&kv.key.as_str()))
            .filter_map(|kv| match &kv.value.as_ref()?.value {
                Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s)) => {
                    Some(s.len() as u64)
                }
                _ => None,
            })
            .sum();
        let count = spans.len() as u64;
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "agentrace-loadgen".into(),
                        ..InstrumentationScope::default()
                    }),
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        Body {
            bytes: request.encode_to_vec(),
            spans: count,
            sample,
            content_bytes: content,
        }
    }

    /// Run `n`: its spans, the agent span first.
    fn run(&mut self, end_ns: u64, n: u64) -> Vec<Span> {
        let trace_id = {
            let mut id = [0; 16];
            id[..8].copy_from_slice(&self.ids.next().to_be_bytes());
            id[8..].copy_from_slice(&(self.ids.next() | 1).to_be_bytes());
            id.to_vec()
        };
        let root = (self.ids.next() | 1).to_be_bytes().to_vec();
        let turn_ns = 2_000_000_000u64;
        let start = end_ns.saturating_sub(turn_ns * self.turns as u64 + 1_000_000_000);
        let question = format!(
            "Run {n}: where is shipment SHP-{n:08} ordered by customer CUST-{:05}? {}",
            n % 50_000,
            prose(&mut self.ids, 30)
        );
        let kv = |k: &'static str, v: String| ApiKeyValue::new(k, v);
        let mut spans = vec![Span {
            trace_id: trace_id.clone(),
            span_id: root.clone(),
            name: "invoke_agent dispatcher".into(),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end_ns,
            attributes: otlp([
                kv("gen_ai.operation.name", "invoke_agent".into()),
                kv("gen_ai.agent.name", "dispatcher".into()),
                kv("gen_ai.conversation.id", format!("conversation-{n}")),
                kv("user.id", format!("user-{}", n % 50)),
            ]),
            ..Span::default()
        }];
        // The conversation so far, and what this turn added to it.
        let mut history = vec![
            message("system", &text_part(SYSTEM)),
            message("user", &text_part(&question)),
        ];
        let mut added = history.len();
        for t in 0..self.turns {
            let tool = TOOLS[(n as usize + t) % TOOLS.len()];
            let call_id = format!("call_{n}_{t}");
            let arguments = format!(
                r#"{{"shipment":"SHP-{n:08}","detail":{}}}"#,
                json_string(&prose(&mut self.ids, 6))
            );
            let result = format!(
                "{tool} for SHP-{n:08}, step {t}: {}",
                prose(&mut self.ids, 90)
            );
            let asked = message(
                "assistant",
                &format!(
                    r#"{{"type":"tool_call","id":"{call_id}","name":"{tool}","arguments":{arguments}}}"#
                ),
            );
            let input = match self.history {
                History::Whole => ("gen_ai.input.messages", format!("[{}]", history.join(","))),
                History::Delta => (
                    "gen_ai.input.messages_delta",
                    format!("[{}]", history[history.len() - added..].join(",")),
                ),
            };
            let s = start + 500_000_000 + t as u64 * turn_ns;
            spans.push(Span {
                trace_id: trace_id.clone(),
                span_id: (self.ids.next() | 1).to_be_bytes().to_vec(),
                parent_span_id: root.clone(),
                name: "chat gpt-4o".into(),
                kind: span::SpanKind::Client as i32,
                start_time_unix_nano: s,
                end_time_unix_nano: s + 1_200_000_000,
                attributes: otlp([
                    kv("gen_ai.operation.name", "chat".into()),
                    kv("gen_ai.provider.name", "openai".into()),
                    kv("gen_ai.request.model", "gpt-4o".into()),
                    ApiKeyValue::new("gen_ai.usage.input_tokens", 400 + 220 * t as i64),
                    ApiKeyValue::new("gen_ai.usage.output_tokens", 60i64),
                    kv(input.0, input.1),
                    kv("gen_ai.output.messages", format!("[{asked}]")),
                ]),
                ..Span::default()
            });
            let ts = s + 1_300_000_000;
            spans.push(Span {
                trace_id: trace_id.clone(),
                span_id: (self.ids.next() | 1).to_be_bytes().to_vec(),
                parent_span_id: root.clone(),
                name: format!("execute_tool {tool}"),
                kind: span::SpanKind::Internal as i32,
                start_time_unix_nano: ts,
                end_time_unix_nano: ts + 400_000_000,
                attributes: otlp([
                    kv("gen_ai.operation.name", "execute_tool".into()),
                    kv("gen_ai.tool.name", tool.into()),
                    kv("gen_ai.tool.call.id", call_id.clone()),
                    kv("gen_ai.tool.call.arguments", arguments),
                    kv("gen_ai.tool.call.result", result.clone()),
                ]),
                ..Span::default()
            });
            history.push(asked);
            history.push(message(
                "tool",
                &format!(
                    r#"{{"type":"tool_call_response","id":"{call_id}","response":{}}}"#,
                    json_string(&result)
                ),
            ));
            added = 2;
        }
        spans
    }
}

/// OTLP attributes from API key-values, through opentelemetry-proto's own conversion.
fn otlp(kvs: impl IntoIterator<Item = ApiKeyValue>) -> Vec<KeyValue> {
    Attributes::from(kvs).0
}

/// A word only run `n`'s question holds (its shipment id), what a search for one run asks.
pub(crate) fn rare_word(n: u64) -> String {
    format!("SHP-{n:08}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;

    fn text(span: &Span, key: &str) -> Option<String> {
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
    }

    #[test]
    fn each_call_carries_the_history_so_far_or_only_what_it_added() {
        let whole = LongRuns::new(4, History::Whole, 1).run(1 << 50, 7);
        assert_eq!(whole.len(), LongRuns::spans_per_run(4));
        let histories: Vec<serde_json::Value> = whole
            .iter()
            .filter_map(|s| text(s, "gen_ai.input.messages"))
            .map(|h| serde_json::from_str(&h).expect("JSON"))
            .collect();
        let lengths: Vec<usize> = histories
            .iter()
            .map(|h| h.as_array().map_or(0, Vec::len))
            .collect();
        assert_eq!(lengths, [2, 4, 6, 8]);
        assert!(histories[3].to_string().contains(&rare_word(7)));
        let delta = LongRuns::new(4, History::Delta, 1).run(1 << 50, 7);
        let deltas: Vec<usize> = delta
            .iter()
            .filter_map(|s| text(s, "gen_ai.input.messages_delta"))
            .map(|h| {
                serde_json::from_str::<Vec<serde_json::Value>>(&h)
                    .expect("JSON")
                    .len()
            })
            .collect();
        assert_eq!(deltas, [2, 2, 2, 2]);
        // The same generator, so the same messages: the deltas rebuild the whole histories.
        let rebuilt: Vec<serde_json::Value> = delta
            .iter()
            .filter_map(|s| text(s, "gen_ai.input.messages_delta"))
            .flat_map(|h| serde_json::from_str::<Vec<serde_json::Value>>(&h).expect("JSON"))
            .collect();
        assert_eq!(serde_json::Value::Array(rebuilt), histories[3]);
    }

    #[test]
    fn a_request_counts_its_spans_and_content() {
        let body = LongRuns::new(3, History::Whole, 9).next(1 << 50, 0, 2);
        assert_eq!(body.spans, 2 * 7);
        assert!(body.content_bytes > 2 * 3 * 1_000, "{}", body.content_bytes);
        assert!(body.bytes.len() as u64 > body.content_bytes);
    }
}
