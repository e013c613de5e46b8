//! The command line, declared with clap.

use std::net::IpAddr;
use std::path::PathBuf;

use agentrace_otlp::Protocol;
use agentrace_server::config::{Age, ByteSize};
use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// The SQLite store (else AGENTRACE_SQLITE_PATH, else ./agentrace-data/agentrace.db if it
    /// exists — the library examples' — else `agentrace serve`'s, in its per-user data dir).
    #[arg(long, global = true, env = "AGENTRACE_SQLITE_PATH")]
    pub(crate) db: Option<PathBuf>,
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
    /// Export spans or events in a time range as JSON lines or CSV.
    Export(ExportArgs),
    /// The price book: list prices, show one model's, estimate a call's cost, reprice.
    #[command(subcommand)]
    Prices(PricesCommand),
    /// Cost of LLM calls grouped by model, provider, agent, framework, session, user or day.
    Cost(CostArgs),
    /// Budgets: their spend, from the store.
    #[command(subcommand)]
    Budget(BudgetCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CostBy {
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
    /// What to group by.
    #[arg(long, value_enum, default_value = "model")]
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
pub(crate) struct ExportArgs {
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

/// `agentrace serve`: each flag overrides the environment and the configuration file (see
/// `docs/server.md` for every key).
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// A TOML configuration file (else AGENTRACE_CONFIG).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Where the store lives (default $XDG_DATA_HOME/agentrace, else ~/.local/share/agentrace).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// The address every listener binds (default 127.0.0.1; any other needs --api-token).
    #[arg(long)]
    pub(crate) bind: Option<IpAddr>,
    /// OTLP/HTTP port (default 4318; 0: any free port).
    #[arg(long)]
    pub(crate) otlp_http_port: Option<u16>,
    /// OTLP/gRPC port (default 4317; 0: any free port).
    #[arg(long)]
    pub(crate) otlp_grpc_port: Option<u16>,
    /// Port of the API, /metrics and the health checks (default 4319; 0: any free port).
    #[arg(long)]
    pub(crate) app_port: Option<u16>,
    /// The bearer token required for ingest, the API and /metrics (prefer AGENTRACE_API_TOKEN:
    /// flags show in the process list).
    #[arg(long)]
    pub(crate) api_token: Option<String>,
    /// An origin allowed by CORS (repeatable; `*` for any). CORS is off without one.
    #[arg(long = "cors-origin")]
    pub(crate) cors_origins: Vec<String>,
    /// A host name the server answers to besides localhost and IP addresses (repeatable;
    /// `*.example.com` for any name under a domain), against DNS rebinding.
    #[arg(long = "allowed-host")]
    pub(crate) allowed_hosts: Vec<String>,
    /// Serve the dashboard from this folder instead of the embedded copy (for working on it).
    #[arg(long)]
    pub(crate) dashboard_dir: Option<PathBuf>,
    /// A price file over the built-in table (repeatable, first wins).
    #[arg(long = "prices", value_delimiter = ',')]
    pub(crate) prices: Vec<PathBuf>,
    /// A budgets file (TOML or JSON; see docs/budgets.md).
    #[arg(long)]
    pub(crate) budgets: Option<PathBuf>,
    /// Largest request body as sent, e.g. 16MiB.
    #[arg(long)]
    pub(crate) max_body: Option<ByteSize>,
    /// Largest request body once un-gzipped, e.g. 64MiB.
    #[arg(long)]
    pub(crate) max_decompressed_body: Option<ByteSize>,
    /// Requests waiting for the writer before new ones get a retryable 503.
    #[arg(long)]
    pub(crate) queue_requests: Option<usize>,
    /// Records waiting for the writer before new requests get a retryable 503.
    #[arg(long)]
    pub(crate) queue_records: Option<usize>,
    /// How often retention runs, e.g. 5m.
    #[arg(long)]
    pub(crate) retention_interval: Option<Age>,
    /// Delete spans older than this, e.g. 30d.
    #[arg(long)]
    pub(crate) spans_max_age: Option<Age>,
    /// Delete the oldest spans while spans take more than this, e.g. 2GiB.
    #[arg(long)]
    pub(crate) spans_max_size: Option<ByteSize>,
    /// Delete events older than this, e.g. 30d.
    #[arg(long)]
    pub(crate) events_max_age: Option<Age>,
    /// Delete the oldest events while events take more than this, e.g. 512MiB.
    #[arg(long)]
    pub(crate) events_max_size: Option<ByteSize>,
    /// Delete span metrics (the per-minute and per-hour rollups behind the overview and cost
    /// views) older than this, e.g. 400d. They outlive deleted spans until then.
    #[arg(long)]
    pub(crate) metrics_max_age: Option<Age>,
    /// Delete the oldest span metrics while they take more than this, e.g. 256MiB.
    #[arg(long)]
    pub(crate) metrics_max_size: Option<ByteSize>,
    /// Keep secrets (API keys, bearer tokens, private keys, JWTs, card numbers) as received
    /// instead of masking them (masked by default).
    #[arg(long)]
    pub(crate) no_mask_secrets: bool,
    /// Mask personal data (e-mails, phone numbers) too, and drop prompt/response content
    /// unless --capture-content.
    #[arg(long)]
    pub(crate) redact: bool,
    /// With --redact: keep prompt and response content (still masked).
    #[arg(long)]
    pub(crate) capture_content: bool,
    /// How long a span may wait for its parent before it is marked as an orphan, e.g. 10m.
    #[arg(long)]
    pub(crate) orphan_grace: Option<Age>,
    /// Also send everything received to this OTLP endpoint (a collector, Jaeger, a vendor).
    #[arg(long, value_name = "URL")]
    pub(crate) forward_otlp: Option<String>,
    /// The forwarding protocol: grpc, http/protobuf (default) or http/json.
    #[arg(long)]
    pub(crate) forward_protocol: Option<Protocol>,
    /// Run a simulated multi-agent workload, to see data at once.
    #[arg(long)]
    pub(crate) demo: bool,
}
