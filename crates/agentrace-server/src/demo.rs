//! `agentrace serve --demo`: a simulated multi-agent workload, so a first-time user sees data at
//! once.
//!
//! Three services — a LangGraph research assistant, a CrewAI support bot and an OpenAI Agents
//! coder — run agents that call LLMs across providers (OpenAI, Anthropic, Google, Mistral,
//! DeepSeek) with token usage and prompt caching, and tools that sometimes fail, for a handful
//! of users and their sessions. Each run is an OTLP trace in the OTel GenAI conventions plus
//! OTLP log records for its events (`agent.start`, `tool.call`, `tool.result`, `agent.stop`),
//! and goes through the same path as data from a real agent: decoded and normalized by
//! `agentrace-ingest`, priced, counted against budgets, committed, fanned out.
//!
//! On start, an hour of history is back-filled (one run every three minutes); then a new run
//! arrives every second or two until the server stops.

use std::time::Duration;

use agentrace_core::semconv::{agentrace, gen_ai, openinference, otel};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use tokio::sync::watch;

use crate::receive::{Logs, Receiver, Traces};

/// Runs back-filled at start, one every [`BACKFILL_SPACING`].
const BACKFILL_RUNS: u64 = 20;
const BACKFILL_SPACING: Duration = Duration::from_secs(180);
const MS: u64 = 1_000_000;

struct Tool {
    name: &'static str,
    failure_rate: f64,
    error: &'static str,
}

struct Scenario {
    service: &'static str,
    framework: &'static str,
    language: &'static str,
    root: &'static str,
    helpers: &'static [&'static str],
    tools: &'static [Tool],
}

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        service: "research-assistant",
        framework: "langgraph",
        language: "python",
        root: "planner",
        helpers: &["researcher", "writer"],
        tools: &[
            Tool {
                name: "web_search",
                failure_rate: 0.10,
                error: "TimeoutError",
            },
            Tool {
                name: "fetch_url",
                failure_rate: 0.15,
                error: "HTTPError",
            },
            Tool {
                name: "summarize_pdf",
                failure_rate: 0.05,
                error: "ValueError",
            },
        ],
    },
    Scenario {
        service: "support-bot",
        framework: "crewai",
        language: "python",
        root: "triage",
        helpers: &["support_agent"],
        tools: &[
            Tool {
                name: "lookup_order",
                failure_rate: 0.05,
                error: "NotFound",
            },
            Tool {
                name: "issue_refund",
                failure_rate: 0.12,
                error: "PermissionDenied",
            },
            Tool {
                name: "kb_search",
                failure_rate: 0.02,
                error: "TimeoutError",
            },
        ],
    },
    Scenario {
        service: "code-assistant",
        framework: "openai-agents",
        language: "typescript",
        root: "coder",
        helpers: &["reviewer"],
        tools: &[
            Tool {
                name: "run_python",
                failure_rate: 0.20,
                error: "SyntaxError",
            },
            Tool {
                name: "read_file",
                failure_rate: 0.05,
                error: "FileNotFoundError",
            },
            Tool {
                name: "git_commit",
                failure_rate: 0.05,
                error: "CalledProcessError",
            },
        ],
    },
];

/// (provider, model, typical latency in ms, prompt caching)
const MODELS: [(&str, &str, u64, bool); 6] = [
    ("openai", "gpt-4o", 1_800, true),
    ("openai", "gpt-4o-mini", 700, true),
    ("anthropic", "claude-sonnet-4", 2_400, true),
    ("gcp.gemini", "gemini-2.5-flash", 900, false),
    ("mistral_ai", "mistral-large-latest", 1_600, false),
    ("deepseek", "deepseek-chat", 2_000, false),
];

const USERS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];

/// xorshift64*: plenty for a demo, no dependency.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
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

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
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

/// One simulated agent run: its spans and log records.
struct Run<'a> {
    rng: &'a mut Rng,
    scenario: &'a Scenario,
    trace_id: [u8; 16],
    session: String,
    user: &'static str,
    spans: Vec<Span>,
    logs: Vec<LogRecord>,
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
            status: Some(match error {
                Some(message) => Status {
                    code: StatusCode::Error as i32,
                    message,
                },
                None => Status {
                    code: StatusCode::Ok as i32,
                    message: String::new(),
                },
            }),
            ..Span::default()
        });
    }

    fn llm(&mut self, parent: [u8; 8], agent: &str) {
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

    /// A tool call; `true` if it failed.
    fn tool(&mut self, parent: [u8; 8], agent: &str) -> bool {
        let Some(tool) = self.rng.pick(self.scenario.tools) else {
            return false;
        };
        let id = self.rng.bytes();
        let call_id = format!("call_{:012x}", self.rng.next() >> 16);
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
            text(gen_ai::TOOL_CALL_ID, &call_id),
        ]);
        let error = failed.then(|| {
            attributes.push(text(gen_ai::ERROR_TYPE, tool.error));
            format!("{}: {} failed", tool.error, tool.name)
        });
        let (severity, message) = match &error {
            Some(e) => (SeverityNumber::Error, e.clone()),
            None => (SeverityNumber::Info, format!("{} returned", tool.name)),
        };
        self.span(
            id,
            Some(parent),
            format!("execute_tool {}", tool.name),
            SpanKind::Internal,
            start,
            attributes,
            error,
        );
        self.log(id, agent, "tool.result", severity, message);
        self.now += self.rng.between(2, 30) * MS;
        failed
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
        self.llm(id, agent);
        let mut failed = false;
        for _ in 0..self.rng.between(0, 2) {
            if self.tool(id, agent) {
                failed = true;
                self.llm(id, agent); // the agent reads the error and tries again
            }
        }
        for helper in helpers {
            failed |= self.agent(Some(id), helper, &[]);
        }
        self.llm(id, agent);
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

/// One run of a random scenario that ends around `end_unix_nano`.
fn simulate(
    rng: &mut Rng,
    end_unix_nano: u64,
) -> (ExportTraceServiceRequest, ExportLogsServiceRequest) {
    let scenario = rng.pick(&SCENARIOS).unwrap_or(&SCENARIOS[0]);
    let user = rng.pick(&USERS).copied().unwrap_or("alice");
    // A session per user and hour-ish slot: several runs share one.
    let session = format!(
        "{}-{user}-{}",
        scenario.service,
        end_unix_nano / (1_200 * 1_000 * MS)
    );
    let mut run = Run {
        trace_id: rng.bytes(),
        rng,
        scenario,
        session,
        user,
        spans: Vec::new(),
        logs: Vec::new(),
        now: end_unix_nano.saturating_sub(30_000 * MS),
    };
    run.agent(None, scenario.root, scenario.helpers);
    // Shift the run so that it ends at `end_unix_nano` (never in the future).
    let shift = end_unix_nano.saturating_sub(run.now);
    for span in &mut run.spans {
        span.start_time_unix_nano += shift;
        span.end_time_unix_nano += shift;
    }
    for log in &mut run.logs {
        log.time_unix_nano += shift;
        log.observed_time_unix_nano += shift;
    }
    let resource = Some(Resource {
        attributes: vec![
            text(otel::SERVICE_NAME, scenario.service),
            text("telemetry.sdk.language", scenario.language),
            text("deployment.environment.name", "demo"),
        ],
        ..Resource::default()
    });
    let scope = Some(InstrumentationScope {
        name: "agentrace.demo".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..InstrumentationScope::default()
    });
    let traces = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource.clone(),
            scope_spans: vec![ScopeSpans {
                scope: scope.clone(),
                spans: run.spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
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

async fn send(receiver: &Receiver, rng: &mut Rng, end_unix_nano: u64) {
    let (traces, logs) = simulate(rng, end_unix_nano);
    if let Err(e) = receiver.export::<Traces>(traces).await {
        tracing::debug!(error = e.message(), "demo: a run was not stored");
    }
    if let Err(e) = receiver.export::<Logs>(logs).await {
        tracing::debug!(error = e.message(), "demo: a run's events were not stored");
    }
}

/// Feeds runs until `stop` turns true.
pub(crate) async fn run(receiver: Receiver, mut stop: watch::Receiver<bool>) {
    let mut rng = Rng::seeded();
    let now = agentrace_core::now_unix_nano();
    let spacing = u64::try_from(BACKFILL_SPACING.as_nanos()).unwrap_or(u64::MAX);
    for i in (1..=BACKFILL_RUNS).rev() {
        if *stop.borrow() {
            return;
        }
        send(&receiver, &mut rng, now.saturating_sub(i * spacing)).await;
    }
    loop {
        let pause = Duration::from_millis(rng.between(800, 2_200));
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(pause) => {}
        }
        send(&receiver, &mut rng, agentrace_core::now_unix_nano()).await;
    }
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
            let records = &logs.resource_logs[0].scope_logs[0].log_records;
            assert!(records.iter().any(|l| l.event_name == "agent.start"));
            assert!(records.iter().any(|l| l.event_name == "agent.stop"));
        }
    }
}
