//! The command line, declared with clap.

use std::path::PathBuf;

use agentrace_server::config::{Flag, KEYS, Key, Value};
use clap::{Arg, ArgAction, ArgMatches, Args, Parser, Subcommand, ValueEnum};

/// Observability for LLM agents: read what agentrace recorded.
#[derive(Debug, Parser)]
#[command(name = "agentrace", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where the store is.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The store: `sqlite` (the default) or `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE`,
    /// as `agentrace serve` takes it.
    #[arg(long, global = true, env = "AGENTRACE_STORE", value_name = "STORE")]
    pub(crate) store: Option<String>,
    /// The SQLite store (else AGENTRACE_SQLITE_PATH, else ./agentrace-data/agentrace.db if it
    /// exists — the library examples' — else `agentrace serve`'s, in its per-user data dir).
    #[arg(long, global = true, env = "AGENTRACE_SQLITE_PATH")]
    pub(crate) db: Option<PathBuf>,
    /// The project to read or write (else `default`): every project's data is its own.
    #[arg(long, global = true, env = "AGENTRACE_PROJECT", value_name = "NAME")]
    pub(crate) project: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server: OTLP receivers (HTTP 4318, gRPC 4317), the store, the API and /metrics
    /// (4319). Settings: flags, else AGENTRACE_* variables, else the --config file, else defaults.
    Serve(Box<ServeArgs>),
    /// A text dashboard over a time range: requests, errors, latency, tokens, cost by model and agent.
    Summary(SummaryArgs),
    /// List traces, or show one as a tree.
    #[command(subcommand)]
    Traces(TracesCommand),
    /// Search spans with the filter syntax (docs/search.md): words in content, tool arguments
    /// and results, names, errors and attributes, `field:value`, `-`, OR, parentheses.
    Search(SearchArgs),
    /// Export spans or events in a time range as JSON lines or CSV.
    Export(ExportArgs),
    /// Import spans and events from JSON lines (what `export` writes) into the store; records
    /// already stored are skipped, so an interrupted import is run again.
    Import(ImportArgs),
    /// The price book: list prices, show one model's, estimate a call's cost, reprice.
    #[command(subcommand)]
    Prices(PricesCommand),
    /// Cost of LLM calls grouped by model, provider, agent, framework, session, user or day.
    Cost(CostArgs),
    /// Budgets: their spend, from the store.
    #[command(subcommand)]
    Budget(BudgetCommand),
    /// A running server's alerts: each alert's state, the channels, the latest notifications.
    Alerts(AlertsArgs),
    /// Tools: calls, success rate, latency, and each tool's health score with recommendations.
    Tools(ToolsArgs),
    /// Follow a running server's live feed: spans, events and alerts as they are committed.
    Tail(TailArgs),
    /// A running server's health: the writer, its queue, what was stored and refused, alerts.
    Status(StatusArgs),
    /// A running server's audit log: who changed what, when, from where (organization admins;
    /// docs/access.md); `--jsonl` exports every entry of the range.
    Audit(AuditArgs),
    /// GET a URL (a server's /healthz or /readyz) and succeed on a 2xx answer: a container's
    /// health check without curl in the image.
    Probe(ProbeArgs),
    /// Give a trace, span or session a score on a running server (checked against the score's
    /// configuration there; docs/scores.md).
    Score(ScoreArgs),
    /// Run an online evaluator of a running server again on a past time range, following its
    /// progress (docs/scores.md).
    Evaluate(EvaluateArgs),
    /// The alerts file's SLOs as OpenSLO v1 YAML, and OpenSLO SLOs as the alerts file's
    /// `[[slos]]` (docs/slos.md).
    #[command(subcommand)]
    Slo(SloCommand),
    /// A running server's report of a period — SLOs, cost against the period before, top
    /// failures, slowest tools, budget overruns, alerts — as self-contained HTML, Markdown or
    /// JSON (docs/slos.md).
    Report(ReportArgs),
    /// A running server's projects, their keys and settings (docs/projects.md): list, create,
    /// rename and delete projects; list, create and revoke keys (a key's secret is printed
    /// once); show, set and unset a project's settings.
    #[command(subcommand)]
    Projects(ProjectsCommand),
}

/// `agentrace projects`: projects and keys, through a running server's API.
#[derive(Debug, Subcommand)]
pub(crate) enum ProjectsCommand {
    /// The projects the credential may see.
    List(ServerArgs),
    /// Create a project.
    Create(ProjectNameArgs),
    /// Rename a project (its id, data and keys stay).
    Rename(ProjectRenameArgs),
    /// Delete a project: its data and its keys.
    Delete(ProjectNameArgs),
    /// The keys of a project, or the organization's (without their secrets).
    Keys(KeysArgs),
    /// Create a key of a project or of the organization; prints its secret, which is never
    /// shown again.
    CreateKey(CreateKeyArgs),
    /// Revoke a key of a project or of the organization.
    RevokeKey(RevokeKeyArgs),
    /// The settings of the project (`--project`, else `default`): each kind, set or not.
    Settings(ServerArgs),
    /// One setting of the project, as its JSON document.
    Setting(SettingArgs),
    /// Set one setting of the project from a file (`.toml`, else JSON) in its kind's shape.
    Set(SetSettingArgs),
    /// Delete one setting of the project: the server's applies again.
    Unset(SettingArgs),
}

/// A setting of the project named.
#[derive(Debug, Args)]
pub(crate) struct SettingArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// The kind: budgets, prices, retention, capture or alerts.
    pub(crate) kind: String,
}

/// `agentrace projects set`.
#[derive(Debug, Args)]
pub(crate) struct SetSettingArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// The kind: budgets, prices, retention, capture or alerts.
    pub(crate) kind: String,
    /// The document: a file in the kind's shape (`.toml`, else JSON; docs/projects.md).
    pub(crate) file: std::path::PathBuf,
}

/// A project named.
#[derive(Debug, Args)]
pub(crate) struct ProjectNameArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// The project's name.
    pub(crate) name: String,
}

/// `agentrace projects rename`.
#[derive(Debug, Args)]
pub(crate) struct ProjectRenameArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// The project's name now.
    pub(crate) name: String,
    /// Its new name.
    pub(crate) new_name: String,
}

/// Whose keys: a project's, or with `--organization` the organization's (for automation:
/// provisioning projects, a gateway sending for many teams).
#[derive(Debug, Args)]
pub(crate) struct KeyOwnerArgs {
    /// The project's name.
    #[arg(required_unless_present = "organization")]
    pub(crate) name: Option<String>,
    /// The organization's keys rather than a project's.
    #[arg(long, conflicts_with = "name")]
    pub(crate) organization: bool,
}

/// `agentrace projects keys`.
#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    #[command(flatten)]
    pub(crate) owner: KeyOwnerArgs,
}

/// `agentrace projects create-key`.
#[derive(Debug, Args)]
pub(crate) struct CreateKeyArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    #[command(flatten)]
    pub(crate) owner: KeyOwnerArgs,
    /// What the key may do: ingest, read, write or admin.
    #[arg(long)]
    pub(crate) scope: String,
    /// What to call it (who uses it).
    #[arg(long = "key-name", default_value = "")]
    pub(crate) key_name: String,
}

/// `agentrace projects revoke-key`.
#[derive(Debug, Args)]
pub(crate) struct RevokeKeyArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    #[command(flatten)]
    pub(crate) owner: KeyOwnerArgs,
    /// The key's id.
    #[arg(long)]
    pub(crate) id: u64,
}

/// `agentrace slo`: SLOs to and from OpenSLO.
#[derive(Debug, Subcommand)]
pub(crate) enum SloCommand {
    /// Write the alerts file's SLOs as OpenSLO v1 documents (YAML).
    Export(SloExportArgs),
    /// Read OpenSLO v1 documents and write the SLOs agentrace can judge as `[[slos]]` (TOML);
    /// what it cannot honour is named on standard error.
    Import(SloImportArgs),
}

/// `agentrace slo export`.
#[derive(Debug, Args)]
pub(crate) struct SloExportArgs {
    /// The alerts file whose `[[slos]]` are written.
    #[arg(long, env = "AGENTRACE_ALERTS")]
    pub(crate) alerts: PathBuf,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `agentrace slo import`.
#[derive(Debug, Args)]
pub(crate) struct SloImportArgs {
    /// An OpenSLO YAML file (one or many documents).
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `agentrace report`: the report of a period, as `GET /api/v1/report` gives it.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// The period (default: the last 7 days).
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// Where to write it (`-`: standard output).
    #[arg(long, short)]
    pub(crate) output: PathBuf,
    /// html, markdown or json (default: from the output's extension, else html).
    #[arg(long, value_enum)]
    pub(crate) format: Option<ReportFormat>,
}

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// One self-contained page.
    Html,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// The API's JSON.
    Json,
}

impl ReportFormat {
    /// The format a file name asks for: `.md` Markdown, `.json` JSON, else HTML.
    pub(crate) fn of(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("md" | "markdown") => Self::Markdown,
            Some("json") => Self::Json,
            _ => Self::Html,
        }
    }
}

/// `agentrace evaluate`: a re-run, as `POST /api/v1/evaluations/runs` starts it.
#[derive(Debug, Args)]
pub(crate) struct EvaluateArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// The evaluator (a rule of the server's evaluators file).
    pub(crate) evaluator: String,
    /// The spans started in this range (default: the last hour).
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// Print the finished run as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `agentrace score`: one score, as `POST /api/v1/scores` takes it.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(true).args(["trace", "span", "session"]))]
pub(crate) struct ScoreArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// What is measured, e.g. `helpfulness`.
    pub(crate) name: String,
    /// The trace scored (or the trace of `--span`).
    #[arg(long)]
    pub(crate) trace: Option<String>,
    /// The span scored.
    #[arg(long)]
    pub(crate) span: Option<String>,
    /// The session scored.
    #[arg(long, conflicts_with_all = ["trace", "span"])]
    pub(crate) session: Option<String>,
    /// The number (a boolean's 1 or 0).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) value: Option<f64>,
    /// The category (a boolean's `true` or `false`; a text score's text).
    #[arg(long)]
    pub(crate) label: Option<String>,
    /// numeric, categorical, boolean or text (else taken from what is given).
    #[arg(long)]
    pub(crate) data_type: Option<String>,
    /// Why.
    #[arg(long)]
    pub(crate) explanation: Option<String>,
    /// api, annotation or eval (the server's default: api).
    #[arg(long)]
    pub(crate) source: Option<String>,
    /// human, llm or code (the server's default: human).
    #[arg(long)]
    pub(crate) annotator: Option<String>,
    /// Who gives it.
    #[arg(long)]
    pub(crate) author: Option<String>,
    /// A JSON object of anything else.
    #[arg(long)]
    pub(crate) metadata: Option<String>,
    /// Its id: a score given again under the same id replaces it.
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// Only this session's spans and events.
    #[arg(long)]
    pub(crate) session: Option<String>,
    /// Only this service's spans and events.
    #[arg(long)]
    pub(crate) service: Option<String>,
    /// Only spans of this kind (llm, tool, agent, …; no events then).
    #[arg(long)]
    pub(crate) kind: Option<String>,
    /// Only this agent's spans (no events then).
    #[arg(long)]
    pub(crate) agent: Option<String>,
    /// Events at least this severe (trace, debug, info, success, warning, error, critical).
    #[arg(long)]
    pub(crate) level: Option<String>,
    /// JSON lines: one span, event or alert per line.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// Print the server's answers as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ToolsArgs {
    /// The range (default: the last 24 hours).
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// Split each tool by an attribute: attr:<key> (a span attribute, else its resource's:
    /// attr:customer.id), each value judged on its own.
    #[arg(long, value_parser = attribute_split)]
    pub(crate) by: Option<agentrace_store::AttributeKey>,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// The URL, e.g. http://127.0.0.1:4319/healthz.
    pub(crate) url: String,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// Only entries whose action starts with this (`login`, `PUT /settings`).
    #[arg(long)]
    pub(crate) action: Option<String>,
    /// Only the organization's own entries (projects, people, organization keys, logins), in
    /// no project; without it, `--project` narrows to a project's.
    #[arg(long, conflicts_with = "project_id")]
    pub(crate) organization_only: bool,
    /// Only the entries of the project of this id, a deleted project's included.
    #[arg(long)]
    pub(crate) project_id: Option<u32>,
    /// Entries shown at most (the newest).
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: usize,
    /// Every entry of the range as JSON lines, oldest page last (an export).
    #[arg(long)]
    pub(crate) jsonl: bool,
}

/// Which running server to ask.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// The server's app address (API and /metrics).
    #[arg(
        long,
        env = "AGENTRACE_SERVER",
        default_value = "http://127.0.0.1:4319"
    )]
    pub(crate) server: String,
    /// Its API token, if it has one.
    #[arg(long, env = "AGENTRACE_API_TOKEN", hide_env_values = true)]
    pub(crate) api_token: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct AlertsArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// Notifications of the history to show, newest first.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub(crate) history: u16,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What `agentrace cost` groups by: a named dimension, or `attr:<key>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CostBy {
    /// A named dimension.
    Named(CostDimension),
    /// A span attribute, else its resource's (`attr:customer.id`).
    Attribute(agentrace_store::AttributeKey),
}

impl std::str::FromStr for CostBy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(key) = s.strip_prefix("attr:") {
            return agentrace_store::AttributeKey::new(key).map(Self::Attribute);
        }
        CostDimension::from_str(s, true).map(Self::Named).map_err(|_| {
            format!(
                "{s:?}: expected model, provider, agent, framework, session, user, day or attr:<key>"
            )
        })
    }
}

impl std::fmt::Display for CostBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Named(d) => write!(f, "{}", format!("{d:?}").to_lowercase()),
            Self::Attribute(key) => write!(f, "attr:{key}"),
        }
    }
}

/// `attr:<key>`, the only way tools are split.
fn attribute_split(s: &str) -> Result<agentrace_store::AttributeKey, String> {
    let key = s
        .strip_prefix("attr:")
        .ok_or_else(|| format!("{s:?}: tools are split by attr:<key> only (attr:customer.id)"))?;
    agentrace_store::AttributeKey::new(key)
}

/// The named dimensions of [`CostBy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CostDimension {
    /// Responding (else requested) model.
    Model,
    /// Provider.
    Provider,
    /// Agent.
    Agent,
    /// Framework.
    Framework,
    /// Session.
    Session,
    /// End user.
    User,
    /// UTC day.
    Day,
}

#[derive(Debug, Args)]
pub(crate) struct CostArgs {
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// What to group by: model, provider, agent, framework, session, user, day, or
    /// attr:<key> (a span attribute, else its resource's: attr:customer.id).
    #[arg(long, default_value = "model")]
    pub(crate) by: CostBy,
    /// Print the rows as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BudgetCommand {
    /// Each budget's spend in its current period, restored from the store.
    Status(BudgetStatusArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BudgetStatusArgs {
    /// The budgets file (TOML or JSON; see `docs/budgets.md`).
    #[arg(long, env = "AGENTRACE_BUDGETS")]
    pub(crate) budgets: PathBuf,
    /// Print the status as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PricesCommand {
    /// Every model with its current price (USD per million tokens).
    List(PricesListArgs),
    /// How a model name resolves, and its price history.
    Show(PricesShowArgs),
    /// The cost of a prompt before sending it.
    Estimate(PricesEstimateArgs),
    /// Convert a price file (a LiteLLM map, or agentrace JSON/TOML) into an agentrace price
    /// file to use with --prices.
    Import(PricesImportArgs),
    /// Recompute the cost of stored spans (after a price change, or a new price file) and
    /// report what changed.
    Reprice(PricesRepriceArgs),
}

#[derive(Debug, Args)]
pub(crate) struct PricesImportArgs {
    /// The file to import.
    pub(crate) file: PathBuf,
    /// Where to write the agentrace price file (JSON).
    #[arg(long, short)]
    pub(crate) output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct PricesRepriceArgs {
    #[command(flatten)]
    pub(crate) files: PriceFiles,
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// Report what would change without writing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// Price files layered over the built-in table.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct PriceFiles {
    /// A price file (agentrace JSON/TOML or a LiteLLM map) over the built-in table; repeatable,
    /// first wins.
    #[arg(long = "prices", env = "AGENTRACE_PRICES", value_delimiter = ',')]
    pub(crate) files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PricesListArgs {
    #[command(flatten)]
    pub(crate) files: PriceFiles,
    /// Only models of this provider (`openai`, `anthropic`, `gcp.gemini`, …).
    #[arg(long)]
    pub(crate) provider: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PricesShowArgs {
    #[command(flatten)]
    pub(crate) files: PriceFiles,
    /// The model name as an emitter sends it (`gpt-4o-2024-08-06`, `openrouter/…`, a Bedrock id).
    pub(crate) model: String,
    /// The provider, if known.
    #[arg(long)]
    pub(crate) provider: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PricesEstimateArgs {
    #[command(flatten)]
    pub(crate) files: PriceFiles,
    /// The model.
    pub(crate) model: String,
    /// The prompt text (else read from --file or standard input).
    #[arg(long, conflicts_with = "file")]
    pub(crate) text: Option<String>,
    /// A file holding the prompt.
    #[arg(long)]
    pub(crate) file: Option<PathBuf>,
    /// Output tokens to assume.
    #[arg(long, default_value_t = 500)]
    pub(crate) output_tokens: u64,
    /// The provider, if known.
    #[arg(long)]
    pub(crate) provider: Option<String>,
}

/// A time range: `--since` a duration ago, or `--from`/`--to` timestamps.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct RangeArgs {
    /// How far back, e.g. `15m`, `24h`, `7d`.
    #[arg(long, conflicts_with = "from")]
    pub(crate) since: Option<String>,
    /// Start, RFC 3339 (`2026-11-21T00:00:00Z`) or a date (`2026-11-21`).
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// End, RFC 3339 or a date (exclusive).
    #[arg(long)]
    pub(crate) to: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SummaryArgs {
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// The query, e.g. `kind:tool timeout`, `"rate limit" -agent:planner` (one argument:
    /// quote it in the shell).
    pub(crate) query: String,
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// How many spans (default 20).
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: usize,
    /// Continue after this cursor (printed at the end of the previous page).
    #[arg(long)]
    pub(crate) cursor: Option<String>,
    /// List the traces holding a match instead, by their newest one.
    #[arg(long)]
    pub(crate) traces: bool,
    /// Print the page as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
#[expect(clippy::large_enum_variant, reason = "parsed once per run")]
pub(crate) enum TracesCommand {
    /// Traces, newest first.
    List(ListArgs),
    /// One trace as an indented tree with durations.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// Traces containing spans of this kind (agent, llm, tool, …).
    #[arg(long)]
    pub(crate) kind: Option<String>,
    /// Traces calling this model.
    #[arg(long)]
    pub(crate) model: Option<String>,
    /// Traces of this agent.
    #[arg(long)]
    pub(crate) agent: Option<String>,
    /// Traces of this session.
    #[arg(long)]
    pub(crate) session: Option<String>,
    /// Traces of this end user.
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// Only traces with a failed span.
    #[arg(long)]
    pub(crate) errors: bool,
    /// Only traces lasting at least this long, e.g. `500ms`, `2s`.
    #[arg(long)]
    pub(crate) min_duration: Option<String>,
    /// Only traces whose root name contains this text.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// How many traces (default 20).
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: usize,
    /// Continue after this cursor (printed at the end of the previous page).
    #[arg(long)]
    pub(crate) cursor: Option<String>,
    /// Print the page as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The trace id (32 hex digits).
    pub(crate) trace_id: String,
    /// Print the tree as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum What {
    /// Spans.
    Spans,
    /// Events.
    Events,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// JSON lines in the agentrace JSONL schema (readable by agentrace-file's reader).
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ExportArgs {
    /// Export configuration for another stack instead of records.
    #[command(subcommand)]
    pub(crate) to: Option<ExportTo>,
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// What to export.
    #[arg(long, value_enum, default_value = "spans")]
    pub(crate) what: What,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub(crate) format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// JSONL files of spans and events (`-`: standard input).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ExportTo {
    /// The alerts file's rules as Prometheus alerting rules over agentrace's /metrics, with the
    /// server's own rules and recording rules for dashboards (YAML).
    PrometheusRules(FromAlertsArgs),
    /// A Grafana dashboard over agentrace's /metrics as Prometheus scrapes it, with a row of the
    /// alerts file's SLOs (JSON).
    GrafanaDashboard(FromAlertsArgs),
}

/// An export of the alerts file's rules and SLOs (to Prometheus, to Grafana).
#[derive(Debug, Args)]
pub(crate) struct FromAlertsArgs {
    /// The alerts file (docs/alerts.md); without it, only what needs none (the server's
    /// rules, the dashboards' records and panels).
    #[arg(long, env = "AGENTRACE_ALERTS")]
    pub(crate) alerts: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub(crate) output: Option<PathBuf>,
}

/// `agentrace serve`: each flag overrides the environment and the configuration file (see
/// `docs/server.md` for every key).
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// A TOML configuration file (else AGENTRACE_CONFIG).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) keys: ConfigFlags,
}

/// The configuration key whose flag is the global `--store`.
const GLOBAL_STORE: &str = "store";

/// The flag of every configuration key, built from the server's declaration of its keys
/// ([`KEYS`]): what was given, each with its values as typed.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigFlags(pub(crate) Vec<(&'static Key, Vec<String>)>);

impl clap::FromArgMatches for ConfigFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for key in KEYS {
            match key.flag {
                Flag::Switch(..) => {
                    if matches.get_flag(key.name) {
                        given.push((key, Vec::new()));
                    }
                }
                _ => {
                    if let Some(values) = matches.get_many::<String>(key.name) {
                        given.push((key, values.cloned().collect()));
                    }
                }
            }
        }
        Ok(Self(given))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for ConfigFlags {
    fn augment_args(command: clap::Command) -> clap::Command {
        // `store` is the global `--store` (every store command takes it): serve reads it from
        // there, under the same name.
        KEYS.iter()
            .filter(|key| key.name != GLOBAL_STORE)
            .fold(command, |command, key| {
                let value_name = match key.value {
                    Value::Integer => "N",
                    Value::List => "ITEM",
                    _ => "VALUE",
                };
                let arg = Arg::new(key.name)
                    .long(key.flag.name())
                    .value_name(value_name);
                let arg = match key.flag {
                    Flag::Switch(..) => arg.help(key.help).action(ArgAction::SetTrue),
                    Flag::Repeated(_) => arg
                        .help(format!("{} (repeatable; e.g. {})", key.help, key.example))
                        .action(ArgAction::Append)
                        .value_delimiter(','),
                    _ => arg
                        .help(format!("{} (e.g. {})", key.help, key.example))
                        .action(ArgAction::Set),
                };
                command.arg(arg)
            })
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

#[cfg(test)]
mod tests {
    use agentrace_server::ConfigLayer;
    use agentrace_server::config::keys;
    use clap::Parser;

    use super::{Cli, Command};

    #[test]
    fn serve_flags_come_from_the_declared_keys() -> Result<(), Box<dyn std::error::Error>> {
        let cli = Cli::try_parse_from([
            "agentrace",
            "serve",
            "--app-port",
            "7777",
            "--cors-origin",
            "http://a.example",
            "--cors-origin",
            "http://b.example,http://c.example",
            "--spans-max-age",
            "30d",
            "--no-mask-secrets",
            "--demo",
        ])?;
        let Command::Serve(serve) = cli.command else {
            return Err("not the serve command".into());
        };
        let layer = ConfigLayer::from_flags(
            serve
                .keys
                .0
                .iter()
                .map(|(key, values)| (*key, values.clone())),
        )?;
        assert_eq!(layer.get(keys::PORTS_APP)?, Some(7777));
        assert_eq!(
            layer.get(keys::CORS_ORIGINS)?,
            Some(vec![
                "http://a.example".to_owned(),
                "http://b.example".to_owned(),
                "http://c.example".to_owned()
            ])
        );
        assert!(layer.get(keys::RETENTION_SPANS_MAX_AGE)?.is_some());
        assert_eq!(layer.get(keys::MASK_SECRETS)?, Some(false));
        assert_eq!(layer.get(keys::DEMO)?, Some(true));
        assert_eq!(
            layer.get(keys::REDACT)?,
            None,
            "a switch not given is not set"
        );

        let bad = Cli::try_parse_from(["agentrace", "serve", "--app-port", "lots"])?;
        let Command::Serve(serve) = bad.command else {
            return Err("not the serve command".into());
        };
        let err = ConfigLayer::from_flags(serve.keys.0.iter().map(|(k, v)| (*k, v.clone())))
            .map_err(|e| e.to_string());
        assert!(
            matches!(&err, Err(m) if m.contains("--app-port")),
            "{err:?}"
        );
        Ok(())
    }
}
