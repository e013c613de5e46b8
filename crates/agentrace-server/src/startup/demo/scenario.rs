//! The demo's scenario: what its simulated agents are made of — three services and their
//! conversations, agents and tools (some on MCP servers, each failing now and then), the
//! models they call, the users — and the budgets and alert rules it runs with when no file
//! gives any.

use agentrace_alerts::slo::{Indicator, Slo, Target};
use agentrace_alerts::{AlertsConfig, Anomaly, Dimension, Direction, Measure, Rule};
use agentrace_core::Usd;
use agentrace_core::budget::{Budget, Period, Scope};

/// A tool an agent calls.
pub(super) struct Tool {
    pub(super) name: &'static str,
    /// The MCP server the tool is on (its service name and address); `None` for a tool of the
    /// agent's own process.
    pub(super) mcp_server: Option<&'static str>,
    pub(super) failure_rate: f64,
    /// `error.type` of a failure (`tool_error` on an MCP server, as the conventions say).
    pub(super) error: &'static str,
    /// What a call is given and returns (captured content).
    pub(super) arguments: &'static str,
    pub(super) result: &'static str,
}

/// One service's agents, tools and conversations.
pub(super) struct Scenario {
    /// What users ask, and what the run answers (captured content).
    pub(super) conversations: &'static [(&'static str, &'static str)],
    pub(super) service: &'static str,
    pub(super) framework: &'static str,
    pub(super) language: &'static str,
    pub(super) root: &'static str,
    pub(super) helpers: &'static [&'static str],
    pub(super) tools: &'static [Tool],
}

/// The services the demo simulates.
pub(super) const SCENARIOS: [Scenario; 3] = [
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
pub(super) const MODELS: [(&str, &str, u64, bool); 6] = [
    ("openai", "gpt-4o", 1_800, true),
    ("openai", "gpt-4o-mini", 700, true),
    ("anthropic", "claude-sonnet-4", 2_400, true),
    ("gcp.gemini", "gemini-2.5-flash", 900, false),
    ("mistral_ai", "mistral-large-latest", 1_600, false),
    ("deepseek", "deepseek-chat", 2_000, false),
];

/// The end users whose sessions the runs belong to.
pub(super) const USERS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];

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
