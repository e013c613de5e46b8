//! `agentrace serve --demo`: a simulated multi-agent workload, so a first-time user sees data at
//! once.
//!
//! Three services — a LangGraph research assistant, a CrewAI support bot and an OpenAI Agents
//! coder — run agents that call LLMs across providers (OpenAI, Anthropic, Google, Mistral,
//! DeepSeek) with token usage and prompt caching, and tools that sometimes fail, for a handful
//! of users and their sessions. Some tools are on MCP servers (`web-tools-mcp`, `kb-mcp`,
//! `filesystem-mcp`): the agent's `tools/call` client span, and the server's own span in the
//! server's service under it, as the OTel GenAI MCP conventions give them. Each run is an OTLP trace in the OTel GenAI conventions plus
//! OTLP log records for its events (`agent.start`, `tool.call`, `tool.result`, `agent.stop`),
//! and goes through the same path as data from a real agent: decoded and normalized by
//! `agentrace-ingest`, priced, counted against budgets, committed, fanned out.
//!
//! Runs capture their content (the question, the replies, tool arguments and results) as a
//! real instrumentation does with content capture on. On start, a day of history is
//! back-filled (the last hour as dense as the live workload, the rest one run every three
//! minutes); then a new run arrives every few seconds until the server stops. Without a
//! budgets file, the demo sets daily and hourly budgets; without an evaluators file, it judges
//! its runs with a code check and an LLM judge of its own ([`judge`]).

use std::time::Duration;

use agentrace_alerts::slo::{Indicator, Slo, Target};
use agentrace_alerts::{AlertsConfig, Anomaly, Dimension, Direction, Measure, Rule};
use agentrace_core::Usd;
use agentrace_core::budget::{Budget, Period, Scope};
use agentrace_core::semconv::{agentrace, gen_ai, mcp, openinference, otel};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use tokio::sync::watch;

pub(crate) mod judge;

use crate::ingest::receive::{Logs, Receiver, Traces};

/// History back-filled at start: the last hour as dense as the live workload, the rest of the
/// day one run every three minutes.
const BACKFILL: [(Duration, Duration); 2] = [
    (Duration::from_secs(24 * 3_600), Duration::from_secs(180)),
    (Duration::from_secs(3_600), Duration::from_secs(4)),
];
/// The pause between live runs, in milliseconds.
const LIVE_PAUSE_MS: (u64, u64) = (2_000, 6_000);
const MS: u64 = 1_000_000;

struct Tool {
    name: &'static str,
    /// The MCP server the tool is on (its service name and address); `None` for a tool of the
    /// agent's own process.
    mcp_server: Option<&'static str>,
    failure_rate: f64,
    /// `error.type` of a failure (`tool_error` on an MCP server, as the conventions say).
    error: &'static str,
    /// What a call is given and returns (captured content).
    arguments: &'static str,
    result: &'static str,
}

struct Scenario {
    /// What users ask, and what the run answers (captured content).
    conversations: &'static [(&'static str, &'static str)],
    service: &'static str,
    framework: &'static str,
    language: &'static str,
    root: &'static str,
    helpers: &'static [&'static str],
    tools: &'static [Tool],
}

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        conversations: &[
            (
                r#"What do the EU AI Act's rules for general-purpose models require of providers?"#,
                r#"Providers must keep technical documentation, publish a training-data summary, respect EU copyright law and, for models with systemic risk, run evaluations and report serious incidents."#,
            ),
            (
                r#"Summarize the latest research on retrieval-augmented generation evaluation."#,
                r#"Recent work evaluates RAG on faithfulness, answer relevance and context precision; RAGAS and ARES are the common frameworks, and human agreement is highest for faithfulness."#,
            ),
            (
                r#"Compare vector databases for a 50M-document corpus."#,
                r#"For 50M documents: Qdrant and Milvus scale well on one cluster, pgvector suits teams on Postgres below ~10M vectors, and managed options trade cost for operations."#,
            ),
        ],
        service: "research-assistant",
        framework: "langgraph",
        language: "python",
        root: "planner",
        helpers: &["researcher", "writer"],
        tools: &[
            Tool {
                name: "web_search",
                mcp_server: Some("web-tools-mcp"),
                failure_rate: 0.10,
                error: "tool_error",
                arguments: r#"{"query": "EU AI Act obligations for general-purpose models", "top_k": 5}"#,
                result: r#"5 results: eur-lex.europa.eu, artificialintelligenceact.eu, iapp.org, …"#,
            },
            Tool {
                name: "fetch_url",
                mcp_server: Some("web-tools-mcp"),
                failure_rate: 0.15,
                error: "tool_error",
                arguments: r#"{"url": "https://artificialintelligenceact.eu/article/53/"}"#,
                result: r#"Article 53: Obligations for providers of general-purpose AI models … (4,812 characters)"#,
            },
            Tool {
                name: "summarize_pdf",
                mcp_server: None,
                failure_rate: 0.05,
                error: "ValueError",
                arguments: r#"{"path": "reports/q3-ai-policy.pdf", "max_words": 200}"#,
                result: r#"The report finds that 61% of surveyed firms …"#,
            },
        ],
    },
    Scenario {
        conversations: &[
            (
                r#"My order A-10442 arrived damaged, can I get a refund?"#,
                r#"I'm sorry it arrived damaged. I've started a refund of $49.90 for order A-10442; you'll see it within 5 business days."#,
            ),
            (
                r#"Where is my package? It was supposed to arrive yesterday."#,
                r#"Your order shipped with DHL and is now expected on November 25. Here is the tracking link."#,
            ),
            (
                r#"How do I return an item I don't need?"#,
                r#"You can return unused items within 30 days: open your order, choose Return, and print the prepaid label."#,
            ),
        ],
        service: "support-bot",
        framework: "crewai",
        language: "python",
        root: "triage",
        helpers: &["support_agent"],
        tools: &[
            Tool {
                name: "lookup_order",
                mcp_server: None,
                failure_rate: 0.05,
                error: "NotFound",
                arguments: r#"{"order_id": "A-10442"}"#,
                result: r#"{"status": "shipped", "carrier": "DHL", "eta": "2026-11-25"}"#,
            },
            Tool {
                name: "issue_refund",
                mcp_server: None,
                failure_rate: 0.12,
                error: "PermissionDenied",
                arguments: r#"{"order_id": "A-10442", "amount": 49.90, "reason": "damaged"}"#,
                result: r#"{"refund_id": "R-7781", "status": "pending"}"#,
            },
            Tool {
                name: "kb_search",
                mcp_server: Some("kb-mcp"),
                failure_rate: 0.02,
                error: "tool_error",
                arguments: r#"{"query": "return policy damaged items"}"#,
                result: r#"3 articles: Returns within 30 days; Damaged on arrival; Refund timelines"#,
            },
        ],
    },
    Scenario {
        conversations: &[
            (
                r#"Make the parser accept trailing commas in lists."#,
                r#"Done: `parse_list` now allows a comma before the closing bracket, with two new tests. Committed as 4f2a9c1."#,
            ),
            (
                r#"Why does describe() show NaN for the qty column?"#,
                r#"Eight rows have empty `qty` values; `read_csv` reads them as NaN. Fill them with `fillna(0)` or drop those rows first."#,
            ),
            (
                r#"Write a function that deduplicates events by id, keeping the newest."#,
                "```python\ndef dedupe(events):\n    newest = {}\n    for e in events:\n        if e.id not in newest or e.ts > newest[e.id].ts:\n            newest[e.id] = e\n    return list(newest.values())\n```",
            ),
        ],
        service: "code-assistant",
        framework: "openai-agents",
        language: "typescript",
        root: "coder",
        helpers: &["reviewer"],
        tools: &[
            Tool {
                name: "run_python",
                mcp_server: None,
                failure_rate: 0.20,
                error: "SyntaxError",
                arguments: r#"{"code": "import pandas as pd\nprint(pd.read_csv('data.csv').describe())"}"#,
                result: "       price    qty\ncount  120.0  120.0\nmean    18.4    3.1",
            },
            Tool {
                name: "read_file",
                mcp_server: Some("filesystem-mcp"),
                failure_rate: 0.05,
                error: "tool_error",
                arguments: r#"{"path": "src/parser.rs"}"#,
                result: r#"pub fn parse(input: &str) -> Result<Ast, ParseError> { … } (212 lines)"#,
            },
            Tool {
                name: "git_commit",
                mcp_server: None,
                failure_rate: 0.05,
                error: "CalledProcessError",
                arguments: r#"{"message": "parser: accept trailing commas"}"#,
                result: r#"[main 4f2a9c1] parser: accept trailing commas — 2 files changed"#,
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

/// The budgets the demo runs with when no budgets file is configured: a daily limit on all
/// spend, and per agent and per user, so that the cost view has spend ratios to show.
pub(crate) fn budgets() -> Vec<Budget> {
    let dollars = |d: i64| Usd::from_nanos(d * 1_000_000_000);
    vec![
        Budget::new(
            "all agents, daily",
            Scope::Global,
            Period::Day,
            dollars(1_000),
        ),
        Budget::new("per agent, daily", Scope::Agent, Period::Day, dollars(150)),
        Budget::new("per user, hourly", Scope::User, Period::Hour, dollars(8)),
    ]
}

/// The demo's alert rules, so that the Alerts page and `/alerts` have something to show: the
/// demo's tools fail often enough to fire the tool rule.
pub(crate) fn alerts() -> AlertsConfig {
    let minutes = |m: u64| std::time::Duration::from_secs(60 * m);
    let mut config = AlertsConfig::default();
    config.interval = std::time::Duration::from_secs(10);
    config.rules = vec![
        Rule::new("llm errors", Measure::ErrorRate, minutes(5))
            .per(Dimension::Agent)
            .min_requests(10)
            .warning(0.05)
            .critical(0.2),
        Rule::new("slow llm calls", Measure::LatencyP95, minutes(5))
            .per(Dimension::Model)
            .min_requests(10)
            .warning(8.0)
            .critical(20.0),
        Rule::new("tool failures", Measure::ToolSuccessRate, minutes(5))
            .per(Dimension::Tool)
            .min_requests(5)
            .warning(0.95)
            .critical(0.8),
        Rule::new("mcp server failures", Measure::ToolSuccessRate, minutes(5))
            .per(Dimension::McpServer)
            .min_requests(5)
            .warning(0.95)
            .critical(0.8),
        Rule::new("cost spike", Measure::Cost, minutes(5))
            .anomaly(Anomaly::Rolling { periods: 12 })
            .warning(3.0)
            .critical(6.0),
        Rule::new("no traffic", Measure::Requests, minutes(5))
            .direction(Direction::Below)
            .critical(1.0),
    ];
    // Three objectives: the support bot's runs, which mostly hold; every tool call, which the
    // demo's failing tools burn through; and the judge's helpfulness of the answers.
    let days = |d: u64| std::time::Duration::from_secs(d * 86_400);
    let mut support = Slo::new(
        "support runs succeed",
        Indicator::Success {
            of: Target::AgentRuns,
        },
        0.9,
        days(28),
    );
    support.scope.service = Some("support-bot".into());
    support.description = Some("nine support conversations in ten end without an error".into());
    let mut tools = Slo::new(
        "tool calls succeed",
        Indicator::Success {
            of: Target::ToolCalls,
        },
        0.99,
        days(7),
    );
    tools.description = Some("99 % of tool calls work, MCP servers included".into());
    let helpful = Slo::new(
        "answers are helpful",
        Indicator::Quality {
            score: "helpfulness".into(),
            min: Some(0.6),
            max: None,
            labels: Vec::new(),
        },
        0.8,
        days(7),
    );
    config.slos = vec![support, tools, helpful];
    config
}

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
fn simulate(rng: &mut Rng, end_unix_nano: u64) -> Runs {
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

/// Stores `runs`: their spans in one request, their events in another.
async fn send(receiver: &Receiver, runs: Runs) {
    let (traces, logs) = runs;
    if let Err(e) = receiver.export::<Traces>(traces).await {
        tracing::debug!(error = e.message(), "demo: runs were not stored");
    }
    if let Err(e) = receiver.export::<Logs>(logs).await {
        tracing::debug!(error = e.message(), "demo: runs' events were not stored");
    }
}

/// Runs as OTLP requests: their spans and their events.
type Runs = (ExportTraceServiceRequest, ExportLogsServiceRequest);

/// Back-filled runs sent together: the history is stored in a few dozen commits, so that it
/// is in within seconds on any store (a commit to ClickHouse is a round trip; one per run made
/// the day take minutes there).
const BACKFILL_BATCH: usize = 64;

/// Feeds runs until `stop` turns true.
pub(crate) async fn run(receiver: Receiver, mut stop: watch::Receiver<bool>) {
    let mut rng = Rng::seeded();
    let now = agentrace_core::now_unix_nano();
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let mut history: Vec<u64> = Vec::new();
    for (i, (since, spacing)) in BACKFILL.iter().enumerate() {
        // Each stretch ends where the next, denser one begins.
        let end = BACKFILL.get(i + 1).map_or(0, |(next, _)| nanos(*next));
        let mut ago = nanos(*since);
        while ago > end {
            history.push(now.saturating_sub(ago));
            ago = ago.saturating_sub(nanos(*spacing));
        }
    }
    for ends in history.chunks(BACKFILL_BATCH) {
        if *stop.borrow() {
            return;
        }
        let mut batch: Runs = Default::default();
        for &end in ends {
            let (traces, logs) = simulate(&mut rng, end);
            batch.0.resource_spans.extend(traces.resource_spans);
            batch.1.resource_logs.extend(logs.resource_logs);
        }
        send(&receiver, batch).await;
    }
    loop {
        let pause = Duration::from_millis(rng.between(LIVE_PAUSE_MS.0, LIVE_PAUSE_MS.1));
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(pause) => {}
        }
        send(
            &receiver,
            simulate(&mut rng, agentrace_core::now_unix_nano()),
        )
        .await;
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
