//! The simulation of one run of the demo's scenario ([`simulate`]): an agent of a random
//! service answers a user's question with LLM calls across providers (token usage, prompt
//! caching, now and then a rate limit), tool calls that sometimes fail (on MCP servers: the
//! client's `tools/call` span and the server's own span in its service), an input guardrail
//! that now and then blocks, and helper agents — as an OTLP trace in the OTel GenAI conventions
//! and OTLP log records for its events, with its content captured.

use agentrace_core::semconv::{agentrace, gen_ai, mcp, openinference, otel};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use super::scenario::{MODELS, SCENARIOS, Scenario, Tool, USERS};

const MS: u64 = 1_000_000;

/// Runs as OTLP requests: their spans and their events.
pub(super) type Runs = (ExportTraceServiceRequest, ExportLogsServiceRequest);

/// xorshift64*: plenty for a demo, no dependency.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn seeded() -> Self {
        Self(agentrace_core::now_unix_nano() | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    pub(super) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(usize::try_from(self.below(items.len() as u64)).unwrap_or(0))
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let r = self.next().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        out[0] |= 1; // never the all-zero, invalid id
        out
    }
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn text(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.to_owned()))
}

fn int(key: &str, value: u64) -> KeyValue {
    kv(
        key,
        any_value::Value::IntValue(i64::try_from(value).unwrap_or(i64::MAX)),
    )
}

/// A span's status: failed with `error`'s message, else OK.
fn status(error: Option<String>) -> Status {
    match error {
        Some(message) => Status {
            code: StatusCode::Error as i32,
            message,
        },
        None => Status {
            code: StatusCode::Ok as i32,
            message: String::new(),
        },
    }
}

/// One simulated agent run: its spans and log records.
struct Run<'a> {
    rng: &'a mut Rng,
    scenario: &'a Scenario,
    trace_id: [u8; 16],
    session: String,
    user: &'static str,
    spans: Vec<Span>,
    /// The spans of the MCP servers the run's tools are on, by server (its service name).
    server_spans: Vec<(&'static str, Span)>,
    logs: Vec<LogRecord>,
    /// What the user asked, and the answer the run ends with.
    question: &'static str,
    answer: &'static str,
    /// The simulated clock.
    now: u64,
}

impl Run<'_> {
    fn common(&self, agent: &str) -> Vec<KeyValue> {
        vec![
            text(gen_ai::AGENT_NAME, agent),
            text(gen_ai::CONVERSATION_ID, &self.session),
            text(openinference::USER_ID, self.user),
            text(agentrace::FRAMEWORK, self.scenario.framework),
        ]
    }

    fn log(
        &mut self,
        span_id: [u8; 8],
        agent: &str,
        event: &str,
        severity: SeverityNumber,
        message: String,
    ) {
        let mut attributes = self.common(agent);
        attributes.push(text(otel::EVENT_NAME, event));
        self.logs.push(LogRecord {
            time_unix_nano: self.now,
            observed_time_unix_nano: self.now,
            severity_number: severity as i32,
            severity_text: severity
                .as_str_name()
                .trim_start_matches("SEVERITY_NUMBER_")
                .to_owned(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(message)),
            }),
            attributes,
            trace_id: self.trace_id.to_vec(),
            span_id: span_id.to_vec(),
            event_name: event.to_owned(),
            ..LogRecord::default()
        });
    }

    #[expect(clippy::too_many_arguments, reason = "a span has that many parts")]
    fn span(
        &mut self,
        id: [u8; 8],
        parent: Option<[u8; 8]>,
        name: String,
        kind: SpanKind,
        start: u64,
        attributes: Vec<KeyValue>,
        error: Option<String>,
    ) {
        self.spans.push(Span {
            trace_id: self.trace_id.to_vec(),
            span_id: id.to_vec(),
            parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
            name,
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: self.now,
            attributes,
            status: Some(status(error)),
            ..Span::default()
        });
    }

    /// The scenario's tools as offered to the model (`gen_ai.tool.definitions`).
    fn tools_offered(&self) -> KeyValue {
        let tools: Vec<serde_json::Value> = self
            .scenario
            .tools
            .iter()
            .map(|t| {
                serde_json::json!({
                    "type": "function",
                    "name": t.name,
                    "description": match t.mcp_server {
                        Some(server) => format!("{}, on the MCP server {server}", t.name.replace('_', " ")),
                        None => format!("{}, in the agent's process", t.name.replace('_', " ")),
                    },
                    "parameters": {"type": "object"},
                })
            })
            .collect();
        text(
            gen_ai::TOOL_DEFINITIONS,
            &serde_json::Value::Array(tools).to_string(),
        )
    }

    /// The content an LLM call captured: the system prompt and the user's question in, the
    /// reply (text, or a call of a tool) out, as OTel GenAI message attributes.
    fn messages(&self, agent: &str, reply: &Reply<'_>) -> [KeyValue; 2] {
        let system = format!(
            "You are {agent}, an agent of the {} service. Answer precisely.",
            self.scenario.service
        );
        let input = serde_json::json!([
            {"role": "system", "parts": [{"type": "text", "content": system}]},
            {"role": "user", "parts": [{"type": "text", "content": self.question}]},
        ]);
        let output = match reply {
            Reply::Text(t) => serde_json::json!([
                {"role": "assistant", "parts": [{"type": "text", "content": t}], "finish_reason": "stop"}
            ]),
            Reply::Call { tool, id } => serde_json::json!([
                {"role": "assistant", "parts": [
                    {"type": "tool_call", "id": id, "name": tool.name, "arguments": tool.arguments}
                ], "finish_reason": "tool_calls"}
            ]),
        };
        [
            text(gen_ai::INPUT_MESSAGES, &input.to_string()),
            text(gen_ai::OUTPUT_MESSAGES, &output.to_string()),
        ]
    }

    fn llm(&mut self, parent: [u8; 8], agent: &str, reply: &Reply<'_>) {
        let Some(&(provider, model, latency, caching)) = self.rng.pick(&MODELS) else {
            return;
        };
        let id = self.rng.bytes();
        let start = self.now;
        self.now += self.rng.between(latency / 2, latency * 2) * MS;
        let input = self.rng.between(300, 6_000);
        let output = self.rng.between(40, 900);
        let mut attributes = self.common(agent);
        attributes.extend([
            text(gen_ai::OPERATION_NAME, "chat"),
            text(gen_ai::PROVIDER_NAME, provider),
            text(gen_ai::REQUEST_MODEL, model),
            text(gen_ai::RESPONSE_MODEL, model),
            int(gen_ai::USAGE_INPUT_TOKENS, input),
            int(gen_ai::USAGE_OUTPUT_TOKENS, output),
        ]);
        attributes.extend(self.messages(agent, reply));
        attributes.push(self.tools_offered());
        if caching && self.rng.chance(0.5) {
            attributes.push(int(gen_ai::USAGE_CACHE_READ_INPUT_TOKENS, input / 2));
        }
        let error = self
            .rng
            .chance(0.02)
            .then(|| "rate limit exceeded (429)".to_owned());
        if error.is_some() {
            attributes.push(text(gen_ai::ERROR_TYPE, "RateLimitError"));
        }
        self.span(
            id,
            Some(parent),
            format!("chat {model}"),
            SpanKind::Client,
            start,
            attributes,
            error,
        );
        self.now += self.rng.between(5, 60) * MS;
    }

    /// A call of `tool` (requested as `call_id`); `true` if it failed.
    fn tool(&mut self, parent: [u8; 8], agent: &str, tool: &Tool, call_id: &str) -> bool {
        let id = self.rng.bytes();
        self.log(
            id,
            agent,
            "tool.call",
            SeverityNumber::Info,
            format!("{agent} calls {}", tool.name),
        );
        let start = self.now;
        self.now += self.rng.between(20, 1_500) * MS;
        let failed = self.rng.chance(tool.failure_rate);
        let mut attributes = self.common(agent);
        attributes.extend([
            text(gen_ai::OPERATION_NAME, "execute_tool"),
            text(gen_ai::TOOL_NAME, tool.name),
            text(gen_ai::TOOL_CALL_ID, call_id),
            text(gen_ai::TOOL_CALL_ARGUMENTS, tool.arguments),
        ]);
        let error = failed.then(|| {
            attributes.push(text(gen_ai::ERROR_TYPE, tool.error));
            format!("{}: {} failed", tool.error, tool.name)
        });
        if !failed {
            // Now and then a tool hands back a credential: the server masks it before storing.
            let result = if self.rng.chance(0.03) {
                format!(
                    "{} (config: OPENAI_API_KEY=sk-demo{:024x})",
                    tool.result,
                    self.rng.next()
                )
            } else {
                tool.result.to_owned()
            };
            attributes.push(text(gen_ai::TOOL_CALL_RESULT, &result));
        }
        let (severity, message) = match &error {
            Some(e) => (SeverityNumber::Error, e.clone()),
            None => (SeverityNumber::Info, format!("{} returned", tool.name)),
        };
        let (name, kind) = match tool.mcp_server {
            Some(server) => {
                let call = self.mcp_call(id, start, server, tool, error.as_deref());
                attributes.extend(call);
                (format!("tools/call {}", tool.name), SpanKind::Client)
            }
            None => (format!("execute_tool {}", tool.name), SpanKind::Internal),
        };
        self.span(id, Some(parent), name, kind, start, attributes, error);
        self.log(id, agent, "tool.result", severity, message);
        self.now += self.rng.between(2, 30) * MS;
        failed
    }

    /// A tool call on an MCP server, as the OTel GenAI conventions give it: the server's own
    /// span (its service, under the client's call `client`, a little shorter), and the
    /// attributes of the client's span.
    fn mcp_call(
        &mut self,
        client: [u8; 8],
        start: u64,
        server: &'static str,
        tool: &Tool,
        error: Option<&str>,
    ) -> Vec<KeyValue> {
        let request = (self.rng.below(500) + 1).to_string();
        let session = format!("{:016x}", self.rng.next());
        let protocol = [
            text(mcp::METHOD_NAME, mcp::TOOLS_CALL),
            text(mcp::SESSION_ID, &session),
            text(mcp::PROTOCOL_VERSION, "2025-06-18"),
            text(mcp::JSONRPC_REQUEST_ID, &request),
        ];
        let mut served: Vec<KeyValue> = protocol.to_vec();
        served.push(text(gen_ai::TOOL_NAME, tool.name));
        served.push(text(gen_ai::OPERATION_NAME, "execute_tool"));
        if error.is_some() {
            served.push(text(gen_ai::ERROR_TYPE, mcp::TOOL_ERROR));
        }
        let end = self.now.saturating_sub(MS);
        self.server_spans.push((
            server,
            Span {
                trace_id: self.trace_id.to_vec(),
                span_id: self.rng.bytes::<8>().to_vec(),
                parent_span_id: client.to_vec(),
                name: format!("tools/call {}", tool.name),
                kind: SpanKind::Server as i32,
                start_time_unix_nano: (start + 2 * MS).min(end),
                end_time_unix_nano: end,
                attributes: served,
                status: Some(status(error.map(str::to_owned))),
                ..Span::default()
            },
        ));
        let mut attributes = protocol.to_vec();
        attributes.push(text(otel::SERVER_ADDRESS, server));
        attributes
    }

    /// The input guardrail a run starts with: an OpenInference `GUARDRAIL` span that now and
    /// then blocks (prompt injection, personal data, toxicity) and says so with a
    /// `safety.violation` event.
    fn guardrail(&mut self, parent: [u8; 8], agent: &str) {
        const BLOCKS: [&str; 3] = ["prompt_injection", "pii", "toxicity"];
        let id = self.rng.bytes();
        let start = self.now;
        self.now += self.rng.between(5, 80) * MS;
        let mut attributes = self.common(agent);
        attributes.push(text(openinference::SPAN_KIND, "GUARDRAIL"));
        let blocked = self
            .rng
            .chance(0.06)
            .then(|| self.rng.pick(&BLOCKS).copied())
            .flatten();
        let error = blocked.map(|kind| {
            attributes.push(text(gen_ai::ERROR_TYPE, kind));
            format!("input blocked: {kind}")
        });
        if let Some(kind) = blocked {
            self.log(
                id,
                agent,
                "safety.violation",
                SeverityNumber::Warn,
                format!("input_safety flagged {kind}; the run goes on with the input redacted"),
            );
            if let Some(record) = self.logs.last_mut() {
                record.attributes.push(text("rule", "input_safety"));
            }
        }
        self.span(
            id,
            Some(parent),
            "guardrail input_safety".to_owned(),
            SpanKind::Internal,
            start,
            attributes,
            error,
        );
    }

    /// An agent invocation with its LLM and tool calls; `true` if a tool failed.
    fn agent(&mut self, parent: Option<[u8; 8]>, agent: &str, helpers: &[&str]) -> bool {
        let id = self.rng.bytes();
        let start = self.now;
        self.log(
            id,
            agent,
            "agent.start",
            SeverityNumber::Info,
            format!("{agent} started"),
        );
        self.now += self.rng.between(1, 20) * MS;
        if parent.is_none() {
            self.guardrail(id, agent);
        }
        let scenario = self.scenario;
        let calls: Vec<(&Tool, String)> = (0..self.rng.between(0, 2))
            .filter_map(|_| {
                let tool = self.rng.pick(scenario.tools)?;
                Some((tool, format!("call_{:012x}", self.rng.next() >> 16)))
            })
            .collect();
        let first = match calls.first() {
            Some((tool, id)) => Reply::Call { tool, id },
            None if helpers.is_empty() => Reply::Text("Let me work through this step by step."),
            None => Reply::Text("I'll hand parts of this to the other agents."),
        };
        self.llm(id, agent, &first);
        let mut failed = false;
        for (tool, call_id) in &calls {
            if self.tool(id, agent, tool, call_id) {
                failed = true;
                // The agent reads the error and tries again another way.
                self.llm(
                    id,
                    agent,
                    &Reply::Text("That tool failed; trying another way."),
                );
            }
        }
        for helper in helpers {
            failed |= self.agent(Some(id), helper, &[]);
        }
        let answer = if parent.is_none() {
            Reply::Text(self.answer)
        } else {
            Reply::Text("Done: findings attached for the lead agent.")
        };
        self.llm(id, agent, &answer);
        let gave_up = failed && parent.is_none() && self.rng.chance(0.3);
        let mut attributes = self.common(agent);
        attributes.push(text(gen_ai::OPERATION_NAME, "invoke_agent"));
        let error = gave_up.then(|| "the agent gave up after a tool failure".to_owned());
        let (severity, message) = match &error {
            Some(e) => (SeverityNumber::Error, e.clone()),
            None => (SeverityNumber::Info, format!("{agent} finished")),
        };
        self.span(
            id,
            parent,
            format!("invoke_agent {agent}"),
            SpanKind::Internal,
            start,
            attributes,
            error,
        );
        self.log(id, agent, "agent.stop", severity, message);
        failed
    }
}

/// What an LLM call returned.
enum Reply<'a> {
    Text(&'a str),
    Call { tool: &'a Tool, id: &'a str },
}

/// One run of a random scenario that ends around `end_unix_nano`.
pub(super) fn simulate(rng: &mut Rng, end_unix_nano: u64) -> Runs {
    let scenario = rng.pick(&SCENARIOS).unwrap_or(&SCENARIOS[0]);
    let user = rng.pick(&USERS).copied().unwrap_or("alice");
    // A session per user and hour-ish slot: several runs share one.
    let session = format!(
        "{}-{user}-{}",
        scenario.service,
        end_unix_nano / (1_200 * 1_000 * MS)
    );
    // The conversation moves on with the clock, so a session's turns differ.
    let turn = usize::try_from(end_unix_nano / (30_000 * MS)).unwrap_or(0);
    let (question, answer) = scenario
        .conversations
        .get(turn % scenario.conversations.len().max(1))
        .copied()
        .unwrap_or(("Hello", "Hello!"));
    let mut run = Run {
        question,
        answer,
        trace_id: rng.bytes(),
        rng,
        scenario,
        session,
        user,
        spans: Vec::new(),
        server_spans: Vec::new(),
        logs: Vec::new(),
        now: end_unix_nano.saturating_sub(30_000 * MS),
    };
    run.agent(None, scenario.root, scenario.helpers);
    // Shift the run so that it ends at `end_unix_nano` (never in the future).
    let shift = end_unix_nano.saturating_sub(run.now);
    for span in run
        .spans
        .iter_mut()
        .chain(run.server_spans.iter_mut().map(|(_, s)| s))
    {
        span.start_time_unix_nano += shift;
        span.end_time_unix_nano += shift;
    }
    for log in &mut run.logs {
        log.time_unix_nano += shift;
        log.observed_time_unix_nano += shift;
    }
    let service = |name: &str, language: &str| {
        Some(Resource {
            attributes: vec![
                text(otel::SERVICE_NAME, name),
                text("telemetry.sdk.language", language),
                text("deployment.environment.name", "demo"),
            ],
            ..Resource::default()
        })
    };
    let resource = service(scenario.service, scenario.language);
    let scope = Some(InstrumentationScope {
        name: "agentrace.demo".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..InstrumentationScope::default()
    });
    let resource_spans = |resource: Option<Resource>, spans: Vec<Span>| ResourceSpans {
        resource,
        scope_spans: vec![ScopeSpans {
            scope: scope.clone(),
            spans,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    };
    let mut by_server: Vec<(&str, Vec<Span>)> = Vec::new();
    for (server, span) in run.server_spans {
        match by_server.iter_mut().find(|(s, _)| *s == server) {
            Some((_, spans)) => spans.push(span),
            None => by_server.push((server, vec![span])),
        }
    }
    // The MCP servers run in processes of their own: a resource each (Python, as most are).
    let traces = ExportTraceServiceRequest {
        resource_spans: std::iter::once(resource_spans(resource.clone(), run.spans))
            .chain(
                by_server
                    .into_iter()
                    .map(|(server, spans)| resource_spans(service(server, "python"), spans)),
            )
            .collect(),
    };
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource,
            scope_logs: vec![ScopeLogs {
                scope,
                log_records: run.logs,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    (traces, logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_one_well_formed_trace() {
        let mut rng = Rng(42);
        let end = 1_800_000_000 * 1_000 * MS;
        for _ in 0..50 {
            let (traces, logs) = simulate(&mut rng, end);
            let spans: Vec<&Span> = traces
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .collect();
            assert!(spans.len() >= 3, "an agent, LLM calls and more");
            let roots: Vec<_> = spans
                .iter()
                .filter(|s| s.parent_span_id.is_empty())
                .collect();
            assert_eq!(roots.len(), 1);
            assert!(spans.iter().all(|s| s.trace_id == spans[0].trace_id));
            assert!(
                spans
                    .iter()
                    .all(|s| s.start_time_unix_nano <= s.end_time_unix_nano)
            );
            assert!(spans.iter().all(|s| s.end_time_unix_nano <= end));
            let ids: std::collections::HashSet<_> = spans.iter().map(|s| &s.span_id).collect();
            assert!(
                spans
                    .iter()
                    .all(|s| s.parent_span_id.is_empty() || ids.contains(&s.parent_span_id))
            );
            assert!(spans.iter().any(|s| s.name.starts_with("chat ")));
            assert_eq!(
                spans
                    .iter()
                    .filter(|s| s.name == "guardrail input_safety")
                    .count(),
                1,
                "one input guardrail per run"
            );
            let records = &logs.resource_logs[0].scope_logs[0].log_records;
            assert!(records.iter().any(|l| l.event_name == "agent.start"));
            assert!(records.iter().any(|l| l.event_name == "agent.stop"));
        }
    }
}
