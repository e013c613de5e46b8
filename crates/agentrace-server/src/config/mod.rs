//! Configuration: defaults, under a TOML file, under the environment (`AGENTRACE_*`), under
//! flags — flags win.
//!
//! Each source is read into a [`ConfigLayer`] (every value optional), the layers are stacked,
//! and [`ServerConfig::resolve`] fills what none of them set with the defaults and checks the
//! result. A value that cannot be used is an error naming where it came from: the file's key
//! (with its line), the environment variable, or the flag.
//!
//! Every key — its TOML name, environment variable, flag, type, default — is declared once, in
//! [`keys`]; docs/server.md shows the same table. [`ServerConfig::resolve`] is where each key
//! is used.
//!
//! The file itself is named by `--config` or `AGENTRACE_CONFIG`. Durations are written like
//! `90s`, `15m`, `12h`, `30d`; sizes like `512KiB`, `64MiB`, `2GB` or a plain number of bytes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use agentrace_core::env::{EnvError, value as env_value};
pub use agentrace_core::env::{Source as EnvSource, process as process_env};
use agentrace_otlp::Protocol;
use serde::Serialize;

/// The default OTLP/HTTP port.
pub const DEFAULT_OTLP_HTTP_PORT: u16 = 4318;
/// The default OTLP/gRPC port.
pub const DEFAULT_OTLP_GRPC_PORT: u16 = 4317;
/// The default port of the app (API, `/metrics`, health).
pub const DEFAULT_APP_PORT: u16 = 4319;
/// The file name of the store inside the data directory.
pub const DB_FILE_NAME: &str = "agentrace.db";

/// The environment variable naming the configuration file (else `--config`).
pub const CONFIG_ENV: &str = "AGENTRACE_CONFIG";

pub mod keys;
mod layer;
mod store;

pub use keys::{Flag, KEYS, Key, KeyValue, TypedKey, Value, markdown_table};
pub use layer::ConfigLayer;
pub use store::{ClickHouseLocation, DEFAULT_HOLD, StoreLocation};

/// The configuration could not be read or is not usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML of the expected shape.
    #[error("configuration file {}: {message}", path.display())]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The parser's message: the key, its line and what is wrong.
        message: String,
    },
    /// An environment variable holds a value that cannot be used.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A flag's value cannot be used.
    #[error("flag --{flag} {value:?} is invalid: {reason}")]
    Flag {
        /// The flag, without its dashes.
        flag: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: String,
    },
    /// A value, wherever it came from, is out of range.
    #[error("configuration key {key} is invalid: {reason}")]
    Invalid {
        /// The key, as written in the TOML file.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// No data directory was given and no per-user one could be found.
    #[error(
        "no data directory: neither XDG_DATA_HOME nor HOME is set; pass --data-dir or set AGENTRACE_DATA_DIR"
    )]
    NoDataDir,
    /// The server would listen beyond this machine without an API token.
    #[error(
        "binding {bind} exposes the server beyond this machine: set an API token (api_token, AGENTRACE_API_TOKEN or --api-token) or bind a loopback address"
    )]
    TokenRequired {
        /// The non-loopback address.
        bind: IpAddr,
    },
}

/// A size in bytes, written `512KiB`, `64MiB`, `2GB`, `1.5GiB` or a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("{s:?} is not a size (e.g. 512KiB, 64MiB, 2GB, or bytes)"))?;
        let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1_000,
            "kib" => 1 << 10,
            "m" | "mb" => 1_000_000,
            "mib" => 1 << 20,
            "g" | "gb" => 1_000_000_000,
            "gib" => 1 << 30,
            "t" | "tb" => 1_000_000_000_000,
            "tib" => 1 << 40,
            other => {
                return Err(format!(
                    "unknown size unit {other:?} in {s:?}; use B, KB, KiB, MB, MiB, GB, GiB, TB or TiB"
                ));
            }
        };
        let bytes = number * multiplier as f64;
        if !bytes.is_finite() || bytes < 0.0 || bytes >= u64::MAX as f64 {
            return Err(format!("{s:?} is out of range"));
        }
        Ok(Self(bytes.round() as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 4] = [
            (1 << 40, "TiB"),
            (1 << 30, "GiB"),
            (1 << 20, "MiB"),
            (1 << 10, "KiB"),
        ];
        for (size, unit) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

/// A duration, written like `90s`, `15m`, `12h`, `30d` (humantime syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Age(pub Duration);

impl FromStr for Age {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s.trim())
            .map(Age)
            .map_err(|e| format!("{s:?} is not a duration (e.g. 90s, 15m, 12h, 30d): {e}"))
    }
}

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&agentrace_core::serde_duration::text(self.0))
    }
}

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
    /// Origins allowed by CORS (`*` for any); empty: CORS off. Pages of these origins may also
    /// open the live feed and send state-changing requests.
    pub cors_origins: Vec<String>,
    /// Host names the HTTP listeners answer to besides `localhost` (and names under it) and IP
    /// addresses, against DNS rebinding: checked when `bind` is a loopback address or when
    /// this is not empty. A leading `*.` matches any name under a domain.
    pub allowed_hosts: Vec<String>,
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
            dashboard_dir: None,
            prices: Vec::new(),
            budgets: None,
            alerts: None,
            scores: None,
            evaluators: None,
            limits: ReceiveLimits::default(),
            retention: Retention::default(),
            mask_secrets: true,
            redact: false,
            capture_content: false,
            orphan_grace: agentrace_ingest::orphans::DEFAULT_GRACE,
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

    /// Reads the configuration file (`config`, else `AGENTRACE_CONFIG`, else none), the process
    /// environment and `flags`, and resolves them.
    pub fn load(config: Option<&Path>, flags: ConfigLayer) -> Result<Self, ConfigError> {
        Self::load_with_env(config, flags, &process_env)
    }

    /// [`load`](Self::load) with the environment from `env`.
    pub fn load_with_env(
        config: Option<&Path>,
        flags: ConfigLayer,
        env: EnvSource<'_>,
    ) -> Result<Self, ConfigError> {
        let file_path = config
            .map(Path::to_owned)
            .or_else(|| env_value(env, CONFIG_ENV).map(PathBuf::from));
        let file = match file_path {
            Some(path) => ConfigLayer::from_file(&path)?,
            None => ConfigLayer::default(),
        };
        let layers = flags.over(ConfigLayer::from_env(env)?).over(file);
        Self::resolve(layers, env)
    }

    /// Fills what `layer` leaves unset with the defaults and checks the result. `env` is only
    /// asked for `XDG_DATA_HOME` and `HOME`, to find the default data directory.
    pub fn resolve(layer: ConfigLayer, env: EnvSource<'_>) -> Result<Self, ConfigError> {
        let data_dir = match layer.get(keys::DATA_DIR)? {
            Some(dir) => dir,
            None => default_data_dir(env)?,
        };
        let mut config = Self::new(data_dir);
        layer.read_into(keys::STORE, &mut config.store)?;
        layer.read_into(keys::BIND, &mut config.bind)?;
        layer.read_into(keys::PORTS_OTLP_HTTP, &mut config.otlp_http_port)?;
        layer.read_into(keys::PORTS_OTLP_GRPC, &mut config.otlp_grpc_port)?;
        layer.read_into(keys::PORTS_APP, &mut config.app_port)?;
        config.api_token = layer.get(keys::API_TOKEN)?.filter(|t| !t.is_empty());
        config.read_token = layer.get(keys::READ_TOKEN)?.filter(|t| !t.is_empty());
        layer.read_into(keys::CORS_ORIGINS, &mut config.cors_origins)?;
        layer.read_into(keys::ALLOWED_HOSTS, &mut config.allowed_hosts)?;
        config.dashboard_dir = layer.get(keys::DASHBOARD_DIR)?;
        layer.read_into(keys::PRICES, &mut config.prices)?;
        config.budgets = layer.get(keys::BUDGETS)?;
        config.alerts = layer.get(keys::ALERTS)?;
        config.scores = layer.get(keys::SCORES)?;
        config.evaluators = layer.get(keys::EVALUATORS)?;

        let limits = &mut config.limits;
        let bytes = |b: ByteSize| usize::try_from(b.0).unwrap_or(usize::MAX);
        if let Some(b) = layer.get(keys::LIMITS_MAX_BODY)? {
            limits.max_body_bytes = bytes(b);
        }
        if let Some(b) = layer.get(keys::LIMITS_MAX_DECOMPRESSED_BODY)? {
            limits.max_decompressed_bytes = bytes(b);
        }
        layer.read_into(keys::LIMITS_QUEUE_REQUESTS, &mut limits.queue_requests)?;
        layer.read_into(keys::LIMITS_QUEUE_RECORDS, &mut limits.queue_records)?;
        layer.read_into(
            keys::LIMITS_MAX_RECORDS_PER_REQUEST,
            &mut limits.max_records_per_request,
        )?;
        layer.read_into(keys::LIMITS_DECODE_BUDGET, &mut limits.decode_budget)?;
        layer.read_into(keys::LIMITS_MAX_CONNECTIONS, &mut limits.max_connections)?;
        layer.read_into(keys::LIMITS_MAX_IN_FLIGHT, &mut limits.max_in_flight)?;
        if let Some(t) = layer.get(keys::LIMITS_HEADER_TIMEOUT)? {
            limits.header_timeout = t.0;
        }
        if let Some(r) = layer.get(keys::LIMITS_BODY_MIN_RATE)? {
            limits.body_min_rate = r.0;
        }
        if let Some(c) = layer.get(keys::LIMITS_WAL_CEILING)? {
            limits.wal_ceiling_bytes = c.0;
        }

        let retention = &mut config.retention;
        if let Some(i) = layer.get(keys::RETENTION_INTERVAL)? {
            retention.interval = i.0;
        }
        let rule = |max_age, max_size| -> Result<RetentionRule, ConfigError> {
            Ok(RetentionRule {
                max_age: layer.get(max_age)?.map(|a: Age| a.0),
                max_bytes: layer.get(max_size)?.map(|s: ByteSize| s.0),
            })
        };
        use keys::{
            RETENTION_EVENTS_MAX_AGE, RETENTION_EVENTS_MAX_SIZE, RETENTION_METRICS_MAX_AGE,
            RETENTION_METRICS_MAX_SIZE, RETENTION_SCORES_MAX_AGE, RETENTION_SCORES_MAX_SIZE,
            RETENTION_SPANS_MAX_AGE, RETENTION_SPANS_MAX_SIZE,
        };
        retention.spans = rule(RETENTION_SPANS_MAX_AGE, RETENTION_SPANS_MAX_SIZE)?;
        retention.events = rule(RETENTION_EVENTS_MAX_AGE, RETENTION_EVENTS_MAX_SIZE)?;
        retention.metrics = rule(RETENTION_METRICS_MAX_AGE, RETENTION_METRICS_MAX_SIZE)?;
        retention.scores = rule(RETENTION_SCORES_MAX_AGE, RETENTION_SCORES_MAX_SIZE)?;

        layer.read_into(keys::MASK_SECRETS, &mut config.mask_secrets)?;
        layer.read_into(keys::REDACT, &mut config.redact)?;
        layer.read_into(keys::CAPTURE_CONTENT, &mut config.capture_content)?;
        if let Some(grace) = layer.get(keys::ORPHAN_GRACE)? {
            config.orphan_grace = grace.0;
        }
        let protocol = layer.get(keys::FORWARD_PROTOCOL)?;
        config.forward = match (layer.get(keys::FORWARD_ENDPOINT)?, protocol) {
            (Some(endpoint), protocol) => {
                Some(Forward::new(endpoint, protocol.unwrap_or_default()))
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    key: keys::FORWARD_PROTOCOL.key.name,
                    reason:
                        "a protocol without forward.endpoint (--forward-otlp): set the endpoint too"
                            .into(),
                });
            }
            (None, None) => None,
        };
        layer.read_into(keys::DEMO, &mut config.demo)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and the security rule: a non-loopback `bind` needs an API token.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.limits.max_body_bytes == 0 {
            return invalid("limits.max_body", "must be at least 1 byte");
        }
        if self.limits.max_decompressed_bytes < self.limits.max_body_bytes {
            return invalid(
                "limits.max_decompressed_body",
                "must be at least limits.max_body",
            );
        }
        if self.limits.queue_requests == 0 {
            return invalid("limits.queue_requests", "must be at least 1");
        }
        if self.limits.queue_records == 0 {
            return invalid("limits.queue_records", "must be at least 1");
        }
        if self.limits.max_records_per_request == 0 {
            return invalid("limits.max_records_per_request", "must be at least 1");
        }
        if self.limits.decode_budget == 0 || self.limits.decode_budget > u64::from(u32::MAX) {
            return invalid(
                "limits.decode_budget",
                "must be between 1 and 4,294,967,295",
            );
        }
        if self.limits.max_connections == 0 {
            return invalid("limits.max_connections", "must be at least 1");
        }
        if self.limits.max_in_flight == 0 {
            return invalid("limits.max_in_flight", "must be at least 1");
        }
        if self.limits.header_timeout.is_zero() {
            return invalid("limits.header_timeout", "must be longer than 0");
        }
        if self.limits.body_min_rate == 0 {
            return invalid("limits.body_min_rate", "must be at least 1 byte a second");
        }
        if self.limits.wal_ceiling_bytes < agentrace_sqlite::MIN_WAL_CEILING {
            return invalid("limits.wal_ceiling", "must be at least 4MiB");
        }
        if self.orphan_grace.is_zero() {
            return invalid("orphan_grace", "must be longer than 0");
        }
        if self.retention.interval.is_zero() {
            return invalid("retention.interval", "must be longer than 0");
        }
        for (key, rule) in [
            ("retention.spans", &self.retention.spans),
            ("retention.events", &self.retention.events),
            ("retention.metrics", &self.retention.metrics),
            ("retention.scores", &self.retention.scores),
        ] {
            if rule.max_age.is_some_and(|a| a.is_zero()) || rule.max_bytes == Some(0) {
                return invalid(
                    key,
                    "max_age and max_size must be larger than 0 (leave them out to keep everything)",
                );
            }
        }
        for (key, token) in [
            ("api_token", &self.api_token),
            ("read_token", &self.read_token),
        ] {
            if let Some(token) = token
                && !token.bytes().all(|b| b.is_ascii_graphic())
            {
                return invalid(
                    key,
                    "must be printable ASCII without spaces (it travels in an HTTP header)",
                );
            }
        }
        match (&self.api_token, &self.read_token) {
            (None, Some(_)) => {
                return invalid(
                    "read_token",
                    "needs api_token: without it the server takes no token at all",
                );
            }
            (Some(admin), Some(read)) if admin == read => {
                return invalid("read_token", "must differ from api_token");
            }
            _ => {}
        }
        for origin in &self.cors_origins {
            let ok = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.trim_end_matches('/').contains(['?', '#'])
                    && origin.bytes().all(|b| b.is_ascii_graphic()));
            if !ok {
                return Err(ConfigError::Invalid {
                    key: "cors_origins",
                    reason: format!(
                        "{origin:?} is not an origin; write scheme://host[:port], e.g. http://localhost:3000, or *"
                    ),
                });
            }
        }
        for host in &self.allowed_hosts {
            let name = host.strip_prefix("*.").unwrap_or(host);
            let ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !ok {
                return Err(ConfigError::Invalid {
                    key: "allowed_hosts",
                    reason: format!(
                        "{host:?} is not a host name; write a name such as agentrace.example.com or *.example.com, without scheme or port"
                    ),
                });
            }
        }
        if let Some(forward) = &self.forward
            && !forward.endpoint.starts_with("http://")
        {
            return Err(ConfigError::Invalid {
                key: "forward.endpoint",
                reason: format!(
                    "{:?} must be an http:// URL (this build has no TLS; forward to a local collector)",
                    forward.endpoint
                ),
            });
        }
        if !self.bind.is_loopback() && self.api_token.is_none() {
            return Err(ConfigError::TokenRequired { bind: self.bind });
        }
        Ok(())
    }
}

/// `$XDG_DATA_HOME/agentrace` (when set and absolute), else `$HOME/.local/share/agentrace`.
pub fn default_data_dir(env: EnvSource<'_>) -> Result<PathBuf, ConfigError> {
    if let Some(xdg) = env_value(env, "XDG_DATA_HOME").map(PathBuf::from)
        && xdg.is_absolute()
    {
        return Ok(xdg.join("agentrace"));
    }
    env_value(env, "HOME")
        .map(|home| PathBuf::from(home).join(".local/share/agentrace"))
        .ok_or(ConfigError::NoDataDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |var| pairs.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())
    }

    #[test]
    fn sizes_and_ages_parse() {
        assert_eq!("512KiB".parse(), Ok(ByteSize(512 * 1024)));
        assert_eq!("2GB".parse(), Ok(ByteSize(2_000_000_000)));
        assert_eq!(" 1.5 MiB ".parse(), Ok(ByteSize(1_572_864)));
        assert_eq!("4096".parse(), Ok(ByteSize(4096)));
        assert!("12 parsecs".parse::<ByteSize>().is_err());
        assert!("-3".parse::<ByteSize>().is_err());
        assert_eq!(ByteSize(64 << 20).to_string(), "64MiB");
        assert_eq!("30d".parse(), Ok(Age(Duration::from_secs(30 * 86_400))));
        assert!("soon".parse::<Age>().is_err());
    }

    #[test]
    fn flags_win_over_env_over_file_over_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("agentrace.toml");
        std::fs::write(
            &file,
            r#"
data_dir = "/from/file"
cors_origins = ["http://file.example"]
[ports]
otlp_http = 1111
otlp_grpc = 2222
app = 3333
[retention.spans]
max_age = "30d"
max_size = "1GiB"
[retention.metrics]
max_age = "400d"
max_size = "1GiB"
[retention.scores]
max_age = "90d"
[forward]
endpoint = "http://collector:4317"
protocol = "grpc"
"#,
        )?;
        let env = env_of(&[
            ("AGENTRACE_OTLP_GRPC_PORT", "5555"),
            ("AGENTRACE_APP_PORT", "6666"),
            ("AGENTRACE_RETENTION_SPANS_MAX_AGE", "7d"),
            ("AGENTRACE_RETENTION_METRICS_MAX_SIZE", "256MiB"),
            ("HOME", "/home/someone"),
        ]);
        let flags = ConfigLayer::from_flags([(keys::PORTS_APP.key, vec!["7777".to_owned()])])?;
        let config = ServerConfig::load_with_env(Some(&file), flags, &env)?;
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
        assert_eq!(config.otlp_http_port, 1111, "file");
        assert_eq!(config.otlp_grpc_port, 5555, "env over file");
        assert_eq!(config.app_port, 7777, "flag over env");
        assert_eq!(
            config.retention.spans.max_age,
            Some(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(config.retention.spans.max_bytes, Some(1 << 30));
        assert_eq!(config.retention.events, RetentionRule::default());
        assert_eq!(
            config.retention.metrics,
            RetentionRule {
                max_age: Some(Duration::from_secs(400 * 86_400)),
                max_bytes: Some(256 << 20),
            },
            "each key of a rule from its own layer"
        );
        assert_eq!(
            config.retention.scores.max_age,
            Some(Duration::from_secs(90 * 86_400))
        );
        assert_eq!(
            config.forward,
            Some(Forward::new("http://collector:4317", Protocol::Grpc))
        );
        assert_eq!(config.cors_origins, ["http://file.example"]);
        assert_eq!(config.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        Ok(())
    }

    #[test]
    fn the_default_data_dir_is_per_user() -> Result<(), ConfigError> {
        let xdg = env_of(&[("XDG_DATA_HOME", "/xdg"), ("HOME", "/home/u")]);
        assert_eq!(default_data_dir(&xdg)?, PathBuf::from("/xdg/agentrace"));
        let home = env_of(&[("HOME", "/home/u")]);
        assert_eq!(
            default_data_dir(&home)?,
            PathBuf::from("/home/u/.local/share/agentrace")
        );
        assert!(matches!(
            default_data_dir(&env_of(&[])),
            Err(ConfigError::NoDataDir)
        ));
        Ok(())
    }

    #[test]
    fn bad_values_name_their_key() -> Result<(), Box<dyn std::error::Error>> {
        let env = env_of(&[
            ("AGENTRACE_RETENTION_EVENTS_MAX_SIZE", "lots"),
            ("HOME", "/h"),
        ]);
        let err = ServerConfig::load_with_env(None, ConfigLayer::default(), &env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("AGENTRACE_RETENTION_EVENTS_MAX_SIZE"), "{err}");

        let dir = tempfile::tempdir()?;
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "[retention.spans]\nmax_age = \"forever\"\n")?;
        let err = ServerConfig::load_with_env(
            Some(&file),
            ConfigLayer::default(),
            &env_of(&[("HOME", "/h")]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("max_age") && err.contains("forever"), "{err}");

        std::fs::write(&file, "prots = 3\n")?;
        let err = ServerConfig::load_with_env(
            Some(&file),
            ConfigLayer::default(),
            &env_of(&[("HOME", "/h")]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("prots"), "{err}");

        let flags =
            ConfigLayer::from_flags([(keys::CORS_ORIGINS.key, vec!["localhost:3000".to_owned()])])?;
        let err = ServerConfig::load_with_env(None, flags, &env_of(&[("HOME", "/h")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("cors_origins"), "{err}");
        Ok(())
    }

    #[test]
    fn a_public_bind_needs_a_token() {
        let mut config = ServerConfig::new("/tmp/x");
        config.bind = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        assert!(matches!(
            config.validate(),
            Err(ConfigError::TokenRequired { .. })
        ));
        config.api_token = Some("s3cret-token".into());
        assert!(config.validate().is_ok());
        config.bind = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
        config.api_token = None;
        assert!(config.validate().is_ok(), "::1 is loopback");
    }
}
