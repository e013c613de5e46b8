//! Every setting of the server ([`ServerConfig`] and its parts: the receivers' limits,
//! retention, forwarding) and its default ([`ServerConfig::new`]).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use agentrace_otlp::Protocol;

use super::StoreLocation;

/// The default OTLP/HTTP port.
pub const DEFAULT_OTLP_HTTP_PORT: u16 = 4318;
/// The default OTLP/gRPC port.
pub const DEFAULT_OTLP_GRPC_PORT: u16 = 4317;
/// The default port of the app (API, `/metrics`, health).
pub const DEFAULT_APP_PORT: u16 = 4319;
/// The file name of the store inside the data directory.
pub const DB_FILE_NAME: &str = "agentrace.db";

/// Bounds of what the receivers accept and queue, and of the store's write-ahead log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiveLimits {
    /// Largest request body as sent, compressed or not (HTTP: 413 beyond it; gRPC: the
    /// largest message).
    pub max_body_bytes: usize,
    /// Largest body after gzip decompression (HTTP: 413 beyond it, which stops gzip bombs;
    /// gRPC: the largest decoded message).
    pub max_decompressed_bytes: usize,
    /// Requests waiting for the writer; beyond it requests are refused with a retryable
    /// answer.
    pub queue_requests: usize,
    /// Records waiting for the writer; beyond it requests are refused with a retryable answer
    /// (a single request larger than this is still taken when the queue is empty).
    pub queue_records: usize,
    /// Spans, log records or data points in one request, counted from its bytes before
    /// decoding; beyond it the request is refused for good.
    pub max_records_per_request: u64,
    /// Protobuf messages (records, attributes, values…) decoded and held at once across all
    /// requests, each request counted before decoding and holding its share until answered
    /// (OTLP/JSON bodies: a message per 32 bytes); beyond it requests get the retryable
    /// overload answer, and one larger than it all is refused for good.
    pub decode_budget: u64,
    /// Open connections per listener; beyond it a new one is closed at once.
    pub max_connections: usize,
    /// Requests handled at once per listener; beyond it new ones are refused at once with a
    /// retryable answer, before their body is read.
    pub max_in_flight: usize,
    /// Time for a request's headers to arrive (HTTP/1.1: counted from when the connection
    /// waits for a request, so also the idle time of a keep-alive connection; gRPC: a new
    /// connection's first bytes). Also the grace before [`body_min_rate`](Self::body_min_rate)
    /// applies.
    pub header_timeout: Duration,
    /// Slowest request body accepted, in bytes a second.
    pub body_min_rate: u64,
    /// The store's write-ahead log's ceiling in bytes: the writer lets the log start over at a
    /// quarter of it; at the ceiling (a reader holding an old snapshot), writes wait up to 5 s
    /// for it and then get the retryable answer, never a longer log (see
    /// `agentrace_sqlite::StoreOptions`).
    pub wal_ceiling_bytes: u64,
}

impl Default for ReceiveLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            queue_requests: 256,
            queue_records: 65_536,
            max_records_per_request: 65_536,
            decode_budget: 1_048_576,
            max_connections: 1_024,
            max_in_flight: 64,
            header_timeout: Duration::from_secs(10),
            body_min_rate: 64 << 10,
            wal_ceiling_bytes: agentrace_sqlite::DEFAULT_WAL_CEILING,
        }
    }
}

/// How long one data type is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionRule {
    /// Records older than this are deleted (spans by start time, events by time).
    pub max_age: Option<Duration>,
    /// While the data type's tables and indexes take more than this, the oldest records are
    /// deleted.
    pub max_bytes: Option<u64>,
}

impl RetentionRule {
    /// Whether the rule deletes anything ever.
    pub fn is_set(&self) -> bool {
        self.max_age.is_some() || self.max_bytes.is_some()
    }
}

/// Retention of every data type. The metrics kept are the span metrics (the rollups by
/// minute and hour behind the overview, cost and tool queries): they outlive the spans they sum
/// until their own rule deletes them; the same rule deletes the metrics received over OTLP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retention {
    /// Spans.
    pub spans: RetentionRule,
    /// Events.
    pub events: RetentionRule,
    /// Span metrics (the rollups).
    pub metrics: RetentionRule,
    /// Scores: they outlive the spans they judge until their own rule deletes them.
    pub scores: RetentionRule,
    /// How often retention runs (default 5 minutes).
    pub interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            spans: RetentionRule::default(),
            events: RetentionRule::default(),
            metrics: RetentionRule::default(),
            scores: RetentionRule::default(),
            interval: Duration::from_secs(300),
        }
    }
}

/// How the server's log is written (`log_format`): for a person at a terminal, or for a
/// container platform that reads one JSON object a line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Lines of text (colours only when the output is a terminal).
    #[default]
    Text,
    /// One JSON object a line: `timestamp`, `level`, `fields`, `target`.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("{other:?}: expected text or json")),
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// Where received data is forwarded besides being stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Forward {
    /// The upstream endpoint: the base URL for HTTP (`/v1/traces` & co. are appended), the
    /// server URL for gRPC.
    pub endpoint: String,
    /// The protocol.
    pub protocol: Protocol,
}

impl Forward {
    /// Forwarding to `endpoint` with `protocol`.
    pub fn new(endpoint: impl Into<String>, protocol: Protocol) -> Self {
        Self {
            endpoint: endpoint.into(),
            protocol,
        }
    }

    /// Whether this build can forward there: an `http://` URL with a host (this build has no
    /// TLS); the error says why not.
    pub fn check(&self) -> Result<(), String> {
        match self.endpoint.strip_prefix("http://") {
            Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
            _ => Err(format!(
                "{:?} must be an http:// URL with a host (this build has no TLS; forward to a local collector)",
                self.endpoint
            )),
        }
    }
}

/// Everything [`Server::start`](crate::Server::start) needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The data directory; the SQLite store is `agentrace.db` inside it.
    pub data_dir: PathBuf,
    /// Which store.
    pub store: StoreLocation,
    /// The address every listener binds (OTLP/HTTP, OTLP/gRPC, app).
    pub bind: IpAddr,
    /// OTLP/HTTP port (0: any free port).
    pub otlp_http_port: u16,
    /// OTLP/gRPC port (0: any free port).
    pub otlp_grpc_port: u16,
    /// App port: `/api/v1`, `/metrics`, `/healthz`, `/readyz` (0: any free port).
    pub app_port: u16,
    /// The bearer token required for ingest, the API and `/metrics`; required when `bind` is
    /// not a loopback address.
    pub api_token: Option<String>,
    /// A read-only token (needs `api_token`): the dashboard, API reads, the live feed and
    /// `/metrics`; refused on ingest and on every route that writes.
    pub read_token: Option<String>,
    /// The first owner's e-mail address, created at start if the store has no user.
    pub admin_email: Option<String>,
    /// The first owner's password (needs `admin_email`).
    pub admin_password: Option<String>,
    /// Whether people may log in with a password.
    pub password_login: bool,
    /// A single sign-on file (docs/access.md).
    pub sso: Option<PathBuf>,
    /// Origins allowed by CORS (`*` for any); empty: CORS off. Pages of these origins may also
    /// open the live feed and send state-changing requests.
    pub cors_origins: Vec<String>,
    /// Host names the HTTP listeners answer to besides `localhost` (and names under it) and IP
    /// addresses, against DNS rebinding: checked when `bind` is a loopback address or when
    /// this is not empty. A leading `*.` matches any name under a domain.
    pub allowed_hosts: Vec<String>,
    /// The hosts a project's settings written through the API may send to
    /// ([`OutboundHosts`](super::OutboundHosts)); empty: any but link-local addresses.
    pub outbound_hosts: Vec<String>,
    /// Proxies whose `X-Forwarded-For` gives a request's address (networks or addresses).
    pub trusted_proxies: Vec<String>,
    /// Serve the dashboard's files from this folder, read at each request, instead of the
    /// copy embedded in the binary (for working on the dashboard).
    pub dashboard_dir: Option<PathBuf>,
    /// Price files layered over the built-in table, first wins.
    pub prices: Vec<PathBuf>,
    /// A budgets file (TOML or JSON).
    pub budgets: Option<PathBuf>,
    /// An alerts file: rules and channels (docs/alerts.md).
    pub alerts: Option<PathBuf>,
    /// A score configurations file: what a score of each configured name must fit
    /// (`agentrace_core::ScoreConfigs::load`).
    pub scores: Option<PathBuf>,
    /// An evaluators file: the judges and the rules that score spans and traces online
    /// (`agentrace_evaluators::Evaluators::load`, docs/scores.md).
    pub evaluators: Option<PathBuf>,
    /// A folder of projects' settings, applied at start: a folder per project (created if
    /// missing) holding a file per kind, `<kind>.toml` or `<kind>.json` (docs/projects.md).
    pub provisioning: Option<PathBuf>,
    /// Receiver bounds.
    pub limits: ReceiveLimits,
    /// Retention.
    pub retention: Retention,
    /// Mask secrets (API keys, bearer tokens, private keys, JWTs, card numbers) in every
    /// received record before it is priced, stored or forwarded, prompt and response content
    /// kept (`agentrace_core::redact::Redactor::secrets_only`); on by default.
    pub mask_secrets: bool,
    /// Mask personal data (e-mails, phone numbers) too, and drop prompt and response content
    /// unless `capture_content` (see `agentrace_core::redact`); off by default.
    pub redact: bool,
    /// With `redact`: keep prompt and response content (masked by the rules) instead of
    /// dropping it.
    pub capture_content: bool,
    /// How long a span may wait for its parent before it is marked as an orphan, and a
    /// detached root before it is re-attached (default 10 minutes).
    pub orphan_grace: Duration,
    /// How long the audit log keeps an entry.
    pub audit_retention: Duration,
    /// How `agentrace serve` writes its log.
    pub log_format: LogFormat,
    /// Forwarding upstream.
    pub forward: Option<Forward>,
    /// Run the built-in demo workload.
    pub demo: bool,
}

impl ServerConfig {
    /// The defaults, with the store in `data_dir`: loopback, ports 4318/4317/4319, no token,
    /// CORS off, built-in prices, no budgets, no retention, no forwarding.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            store: StoreLocation::Sqlite,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            otlp_http_port: DEFAULT_OTLP_HTTP_PORT,
            otlp_grpc_port: DEFAULT_OTLP_GRPC_PORT,
            app_port: DEFAULT_APP_PORT,
            api_token: None,
            read_token: None,
            cors_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            outbound_hosts: Vec::new(),
            admin_email: None,
            admin_password: None,
            password_login: true,
            sso: None,
            trusted_proxies: Vec::new(),
            dashboard_dir: None,
            prices: Vec::new(),
            budgets: None,
            alerts: None,
            scores: None,
            evaluators: None,
            provisioning: None,
            limits: ReceiveLimits::default(),
            retention: Retention::default(),
            mask_secrets: true,
            redact: false,
            capture_content: false,
            orphan_grace: agentrace_ingest::orphans::DEFAULT_GRACE,
            audit_retention: Duration::from_secs(400 * 86_400),
            log_format: LogFormat::Text,
            forward: None,
            demo: false,
        }
    }

    /// Every port 0: each listener takes any free port (for tests and side-by-side servers).
    #[must_use]
    pub fn with_any_free_ports(mut self) -> Self {
        self.otlp_http_port = 0;
        self.otlp_grpc_port = 0;
        self.app_port = 0;
        self
    }

    /// The store's file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join(DB_FILE_NAME)
    }
}
