//! Every configuration key of `agentrace serve`, declared once: its TOML key, its environment
//! variable, its flag, the type its value becomes, its default and what it does.
//!
//! A key is one entry of the `config_keys!` list below. The entry makes a typed constant
//! ([`TypedKey`], e.g. [`LIMITS_MAX_BODY`]) that `ServerConfig::resolve` reads the key's value
//! through, and a row of [`KEYS`], through which the environment and the flags are read
//! ([`ConfigLayer`](super::ConfigLayer)), the CLI builds its flags, and the table of
//! docs/server.md is written ([`markdown_table`]; a test holds them equal). How the key's text is
//! written (a string, a number, a switch, a list) follows from its type ([`KeyValue`]).
//!
//! A new key is therefore an entry here and its use in `ServerConfig::resolve`; the tests below
//! fail while a declared key is not used.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use agentrace_otlp::Protocol;

use super::{Age, ByteSize, LogFormat, StoreLocation};

/// One configuration key, as the sources, the CLI and the docs see it. Declared in [`KEYS`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Key {
    /// The TOML key, dotted (`retention.spans.max_age`).
    pub name: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The flag of `agentrace serve`.
    pub flag: Flag,
    /// How a text from the environment or a flag becomes the key's value.
    pub value: Value,
    /// The default, as docs/server.md says it (Markdown).
    pub default: &'static str,
    /// What it does: the flag's help.
    pub help: &'static str,
    /// A valid value, for the tests and the help.
    pub example: &'static str,
    /// Whether a TOML value is one of the key's type, and if not why.
    fits: fn(toml::Value) -> Result<(), String>,
}

/// A key with the type of its value: what `ServerConfig::resolve` reads a layer through
/// ([`ConfigLayer::get`](super::ConfigLayer::get)).
#[derive(Debug)]
pub struct TypedKey<T> {
    /// The key.
    pub key: &'static Key,
    of: std::marker::PhantomData<fn() -> T>,
}

impl<T> Clone for TypedKey<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for TypedKey<T> {}

/// How a key is given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flag {
    /// `--NAME VALUE`.
    Value(&'static str),
    /// `--NAME VALUE`, repeatable; a value may also hold several, comma-separated.
    Repeated(&'static str),
    /// `--NAME` alone sets the key to the value.
    Switch(&'static str, bool),
}

impl Flag {
    /// The flag's name, without the dashes.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Value(name) | Self::Repeated(name) | Self::Switch(name, _) => name,
        }
    }
}

/// The TOML type a key's text becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value {
    /// A string: paths, addresses, tokens, sizes (`64MiB`), durations (`5m`), protocols.
    Text,
    /// A whole number.
    Integer,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Bool,
    /// A list of strings; in the environment comma-separated.
    List,
}

/// A type a key's value can have: how it is written ([`Value`]) and how a TOML value becomes
/// it.
pub trait KeyValue: Sized {
    /// How it is written in the environment and on the command line.
    const VALUE: Value;

    /// The value of `value`, or why it is not one.
    ///
    /// # Errors
    /// A sentence saying what was expected.
    fn from_toml(value: toml::Value) -> Result<Self, String>;
}

/// The string in `value`, parsed.
fn parse_text<T: FromStr<Err: std::fmt::Display>>(value: toml::Value) -> Result<T, String> {
    match value {
        toml::Value::String(text) => text.parse().map_err(|e: T::Err| e.to_string()),
        other => Err(format!("expected a string, not {other}")),
    }
}

/// Types written as a string.
macro_rules! text_values {
    ($($ty:ty),*) => {$(
        impl KeyValue for $ty {
            const VALUE: Value = Value::Text;

            fn from_toml(value: toml::Value) -> Result<Self, String> {
                parse_text(value)
            }
        }
    )*};
}

text_values!(
    String,
    PathBuf,
    IpAddr,
    StoreLocation,
    Protocol,
    Age,
    LogFormat
);

/// Types written as a whole number.
macro_rules! integer_values {
    ($($ty:ty),*) => {$(
        impl KeyValue for $ty {
            const VALUE: Value = Value::Integer;

            fn from_toml(value: toml::Value) -> Result<Self, String> {
                match value {
                    toml::Value::Integer(n) => Self::try_from(n).map_err(|_| {
                        format!("{n} is out of range ({} to {})", Self::MIN, Self::MAX)
                    }),
                    other => Err(format!("expected a whole number, not {other}")),
                }
            }
        }
    )*};
}

integer_values!(u16, u64, usize);

impl KeyValue for ByteSize {
    const VALUE: Value = Value::Text;

    /// A size as text (`64MiB`), or a plain number of bytes.
    fn from_toml(value: toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::Integer(n) => u64::try_from(n)
                .map(Self)
                .map_err(|_| format!("{n} is not a size")),
            other => parse_text(other),
        }
    }
}

impl KeyValue for bool {
    const VALUE: Value = Value::Bool;

    fn from_toml(value: toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::Boolean(on) => Ok(on),
            other => Err(format!("expected true or false, not {other}")),
        }
    }
}

impl<T: KeyValue> KeyValue for Vec<T> {
    const VALUE: Value = Value::List;

    fn from_toml(value: toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::Array(items) => items.into_iter().map(T::from_toml).collect(),
            other => Err(format!("expected a list, not {other}")),
        }
    }
}

/// Whether `value` is a `T`.
fn fits<T: KeyValue>(value: toml::Value) -> Result<(), String> {
    T::from_toml(value).map(drop)
}

/// Declares the keys: each `CONSTANT: Type { name, env, flag, default, help, example }` makes
/// the constant (a [`TypedKey`] of `Type`) and its row of [`KEYS`], in the order written.
macro_rules! config_keys {
    ($(
        $constant:ident: $ty:ty {
            name: $name:literal,
            env: $env:literal,
            flag: $flag:expr,
            default: $default:literal,
            help: $help:literal,
            example: $example:literal $(,)?
        }
    )*) => {
        $(
            #[doc = concat!("`", $name, "` (`", $env, "`): ", $help, ".")]
            pub const $constant: TypedKey<$ty> = TypedKey {
                key: &Key {
                    name: $name,
                    env: $env,
                    flag: $flag,
                    value: <$ty as KeyValue>::VALUE,
                    default: $default,
                    help: $help,
                    example: $example,
                    fits: fits::<$ty>,
                },
                of: std::marker::PhantomData,
            };
        )*

        /// Every key, in the order of docs/server.md.
        pub const KEYS: &[Key] = &[$(*$constant.key),*];
    };
}

use Flag::{Repeated, Switch, Value as Flagged};

config_keys! {
    DATA_DIR: PathBuf {
        name: "data_dir",
        env: "AGENTRACE_DATA_DIR",
        flag: Flagged("data-dir"),
        default: "`$XDG_DATA_HOME/agentrace`, else `~/.local/share/agentrace`; the store is `agentrace.db` inside",
        help: "Where the store lives",
        example: "/var/lib/agentrace",
    }
    STORE: StoreLocation {
        name: "store",
        env: "AGENTRACE_STORE",
        flag: Flagged("store"),
        default: "`sqlite`: `agentrace.db` in the data directory",
        help: "The store: `sqlite`, or a ClickHouse database `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?timeout=DURATION&cluster=NAME&hold=DURATION]` shared by any number of nodes (docs/scale-out.md)",
        example: "clickhouse://agentrace:s3cret@ch.internal:8123/agentrace?timeout=10s&cluster=agentrace&hold=5s",
    }
    BIND: IpAddr {
        name: "bind",
        env: "AGENTRACE_BIND",
        flag: Flagged("bind"),
        default: "`127.0.0.1`",
        help: "The address every listener binds (any but loopback needs --api-token)",
        example: "0.0.0.0",
    }
    PORTS_OTLP_HTTP: u16 {
        name: "ports.otlp_http",
        env: "AGENTRACE_OTLP_HTTP_PORT",
        flag: Flagged("otlp-http-port"),
        default: "4318",
        help: "OTLP/HTTP port (0: any free port)",
        example: "14318",
    }
    PORTS_OTLP_GRPC: u16 {
        name: "ports.otlp_grpc",
        env: "AGENTRACE_OTLP_GRPC_PORT",
        flag: Flagged("otlp-grpc-port"),
        default: "4317",
        help: "OTLP/gRPC port (0: any free port)",
        example: "14317",
    }
    PORTS_APP: u16 {
        name: "ports.app",
        env: "AGENTRACE_APP_PORT",
        flag: Flagged("app-port"),
        default: "4319",
        help: "Port of the dashboard, the API, /metrics and the health checks (0: any free port)",
        example: "14319",
    }
    API_TOKEN: String {
        name: "api_token",
        env: "AGENTRACE_API_TOKEN",
        flag: Flagged("api-token"),
        default: "none (required when `bind` is not loopback)",
        help: "The bearer token required for ingest, the API and /metrics (prefer AGENTRACE_API_TOKEN: flags show in the process list)",
        example: "s3cret-token",
    }
    READ_TOKEN: String {
        name: "read_token",
        env: "AGENTRACE_READ_TOKEN",
        flag: Flagged("read-token"),
        default: "none (needs `api_token`)",
        help: "A read-only token: the dashboard, API reads, the live feed and /metrics; refused on ingest and on routes that write",
        example: "read-0nly-token",
    }
    ADMIN_EMAIL: String {
        name: "admin_email",
        env: "AGENTRACE_ADMIN_EMAIL",
        flag: Flagged("admin-email"),
        default: "none: no people until one is created (then the server needs a login)",
        help: "The first owner's e-mail address, created at start (with admin_password) if the store has no user yet; with it the server needs a login",
        example: "ada@example.com",
    }
    ADMIN_PASSWORD: String {
        name: "admin_password",
        env: "AGENTRACE_ADMIN_PASSWORD",
        flag: Flagged("admin-password"),
        default: "none (needs `admin_email`)",
        help: "The first owner's password, 12 characters at least (prefer AGENTRACE_ADMIN_PASSWORD: flags show in the process list); used only when the owner is created",
        example: "correct-horse-battery",
    }
    SSO: PathBuf {
        name: "sso",
        env: "AGENTRACE_SSO",
        flag: Flagged("sso"),
        default: "none: no single sign-on",
        help: "A single sign-on file: the OpenID provider, this server's client, and the groups that give roles (TOML; see docs/access.md); with it the server needs a login",
        example: "sso.toml",
    }
    PASSWORD_LOGIN: bool {
        name: "password_login",
        env: "AGENTRACE_PASSWORD_LOGIN",
        flag: Switch("no-password-login", false),
        default: "on",
        help: "Whether people may log in with a password (turn it off when single sign-on is the only way in)",
        example: "false",
    }
    CORS_ORIGINS: Vec<String> {
        name: "cors_origins",
        env: "AGENTRACE_CORS_ORIGINS",
        flag: Repeated("cors-origin"),
        default: "none: CORS off",
        help: "An origin allowed by CORS (`*` for any); CORS is off without one",
        example: "http://localhost:3000",
    }
    ALLOWED_HOSTS: Vec<String> {
        name: "allowed_hosts",
        env: "AGENTRACE_ALLOWED_HOSTS",
        flag: Repeated("allowed-host"),
        default: "none: on a loopback `bind`, only `localhost` and IP addresses",
        help: "A host name the server answers to besides localhost and IP addresses (`*.example.com` for any name under a domain), against DNS rebinding",
        example: "agentrace.example.com",
    }
    TRUSTED_PROXIES: Vec<String> {
        name: "trusted_proxies",
        env: "AGENTRACE_TRUSTED_PROXIES",
        flag: Repeated("trusted-proxy"),
        default: "none: a request's address is its connection's",
        help: "A proxy in front of the server (an address or a network, `10.0.0.0/8`) whose `X-Forwarded-For` gives the client's address, for the audit log and login throttling",
        example: "10.0.0.0/8",
    }
    OUTBOUND_HOSTS: Vec<String> {
        name: "outbound_hosts",
        env: "AGENTRACE_OUTBOUND_HOSTS",
        flag: Repeated("outbound-host"),
        default: "none: any host but link-local addresses (cloud metadata)",
        help: "A host a project's settings written through the API may send to (alert channels, judges, forwarding): a name, `*.example.com`, an address or a network (`10.0.0.0/8`); with one, only those listed",
        example: "*.slack.com",
    }
    DASHBOARD_DIR: PathBuf {
        name: "dashboard_dir",
        env: "AGENTRACE_DASHBOARD_DIR",
        flag: Flagged("dashboard-dir"),
        default: "none: the dashboard embedded in the binary (a folder is for working on the dashboard, read at each request)",
        help: "Serve the dashboard from this folder instead of the embedded copy (for working on it)",
        example: "crates/agentrace-server/dashboard",
    }
    PRICES: Vec<PathBuf> {
        name: "prices",
        env: "AGENTRACE_PRICES",
        flag: Repeated("prices"),
        default: "the built-in table; files layered over it, first wins ([prices.md](prices.md))",
        help: "A price file over the built-in table (first wins)",
        example: "my-prices.toml",
    }
    BUDGETS: PathBuf {
        name: "budgets",
        env: "AGENTRACE_BUDGETS",
        flag: Flagged("budgets"),
        default: "none ([budgets.md](budgets.md)); spend is restored from the store at start",
        help: "A budgets file (TOML or JSON; see docs/budgets.md)",
        example: "budgets.toml",
    }
    ALERTS: PathBuf {
        name: "alerts",
        env: "AGENTRACE_ALERTS",
        flag: Flagged("alerts"),
        default: "none: no rules; budget alerts go to the log ([alerts.md](alerts.md))",
        help: "An alerts file: rules and channels (TOML; see docs/alerts.md)",
        example: "alerts.toml",
    }
    SCORES: PathBuf {
        name: "scores",
        env: "AGENTRACE_SCORES",
        flag: Flagged("scores"),
        default: "none: a score of any name is taken as it is ([api.md](api.md))",
        help: "A score configurations file: each name's kind, range or categories (TOML `[[score]]`)",
        example: "scores.toml",
    }
    EVALUATORS: PathBuf {
        name: "evaluators",
        env: "AGENTRACE_EVALUATORS",
        flag: Flagged("evaluators"),
        default: "none: nothing is judged online ([scores.md](scores.md))",
        help: "An evaluators file: judges and the rules that score spans and traces online (TOML `[[judge]]`, `[[evaluator]]`)",
        example: "evaluators.toml",
    }
    PROVISIONING: PathBuf {
        name: "provisioning",
        env: "AGENTRACE_PROVISIONING",
        flag: Flagged("provisioning"),
        default: "none: projects are configured through the API and the dashboard ([projects.md](projects.md))",
        help: "A folder of projects' settings applied at start: `<project>/<kind>.toml` or `.json` (docs/projects.md)",
        example: "projects",
    }
    LIMITS_MAX_BODY: ByteSize {
        name: "limits.max_body",
        env: "AGENTRACE_MAX_BODY",
        flag: Flagged("max-body"),
        default: "`16MiB`",
        help: "Largest request body as sent",
        example: "8MiB",
    }
    LIMITS_MAX_DECOMPRESSED_BODY: ByteSize {
        name: "limits.max_decompressed_body",
        env: "AGENTRACE_MAX_DECOMPRESSED_BODY",
        flag: Flagged("max-decompressed-body"),
        default: "`64MiB` (also gRPC's largest message)",
        help: "Largest request body once un-gzipped",
        example: "32MiB",
    }
    LIMITS_QUEUE_REQUESTS: usize {
        name: "limits.queue_requests",
        env: "AGENTRACE_QUEUE_REQUESTS",
        flag: Flagged("queue-requests"),
        default: "256",
        help: "Requests waiting for the writer before new ones get a retryable 503",
        example: "128",
    }
    LIMITS_QUEUE_RECORDS: usize {
        name: "limits.queue_records",
        env: "AGENTRACE_QUEUE_RECORDS",
        flag: Flagged("queue-records"),
        default: "65,536",
        help: "Records waiting for the writer before new requests get a retryable 503",
        example: "32768",
    }
    LIMITS_MAX_RECORDS_PER_REQUEST: u64 {
        name: "limits.max_records_per_request",
        env: "AGENTRACE_MAX_RECORDS_PER_REQUEST",
        flag: Flagged("max-records-per-request"),
        default: "65,536",
        help: "Spans, log records or data points in one request, counted before decoding (413 / INVALID_ARGUMENT beyond it)",
        example: "8192",
    }
    LIMITS_DECODE_BUDGET: u64 {
        name: "limits.decode_budget",
        env: "AGENTRACE_DECODE_BUDGET",
        flag: Flagged("decode-budget"),
        default: "1,048,576 messages",
        help: "Protobuf messages (spans, attributes, values…) decoded and held at once across requests; beyond it a retryable 503",
        example: "524288",
    }
    LIMITS_MAX_CONNECTIONS: usize {
        name: "limits.max_connections",
        env: "AGENTRACE_MAX_CONNECTIONS",
        flag: Flagged("max-connections"),
        default: "1,024 (each listener)",
        help: "Open connections per listener; a new one beyond it is closed at once",
        example: "512",
    }
    LIMITS_MAX_IN_FLIGHT: usize {
        name: "limits.max_in_flight",
        env: "AGENTRACE_MAX_IN_FLIGHT",
        flag: Flagged("max-in-flight"),
        default: "64 (each listener)",
        help: "Requests handled at once per listener; more get a retryable 503 (gRPC UNAVAILABLE) before their body is read",
        example: "32",
    }
    LIMITS_HEADER_TIMEOUT: Age {
        name: "limits.header_timeout",
        env: "AGENTRACE_HEADER_TIMEOUT",
        flag: Flagged("header-timeout"),
        default: "`10s`",
        help: "Time for a request's headers (HTTP/1.1: also the idle time of a keep-alive connection; gRPC: a new connection's first bytes)",
        example: "5s",
    }
    LIMITS_BODY_MIN_RATE: ByteSize {
        name: "limits.body_min_rate",
        env: "AGENTRACE_BODY_MIN_RATE",
        flag: Flagged("body-min-rate"),
        default: "`64KiB` a second",
        help: "Slowest request body accepted, in bytes a second once a header timeout has passed (HTTP 408 below it)",
        example: "16KiB",
    }
    LIMITS_WAL_CEILING: ByteSize {
        name: "limits.wal_ceiling",
        env: "AGENTRACE_WAL_CEILING",
        flag: Flagged("wal-ceiling"),
        default: "`256MiB` (at least `4MiB`)",
        help: "Ceiling of the store's write-ahead log: it starts over at a quarter of it; at it, writes wait up to 5 s, then get a retryable 503",
        example: "128MiB",
    }
    RETENTION_INTERVAL: Age {
        name: "retention.interval",
        env: "AGENTRACE_RETENTION_INTERVAL",
        flag: Flagged("retention-interval"),
        default: "`5m`",
        help: "How often retention runs",
        example: "1m",
    }
    RETENTION_SPANS_MAX_AGE: Age {
        name: "retention.spans.max_age",
        env: "AGENTRACE_RETENTION_SPANS_MAX_AGE",
        flag: Flagged("spans-max-age"),
        default: "keep",
        help: "Delete spans older than this",
        example: "30d",
    }
    RETENTION_SPANS_MAX_SIZE: ByteSize {
        name: "retention.spans.max_size",
        env: "AGENTRACE_RETENTION_SPANS_MAX_SIZE",
        flag: Flagged("spans-max-size"),
        default: "no limit",
        help: "Delete the oldest spans while spans take more than this",
        example: "2GiB",
    }
    RETENTION_EVENTS_MAX_AGE: Age {
        name: "retention.events.max_age",
        env: "AGENTRACE_RETENTION_EVENTS_MAX_AGE",
        flag: Flagged("events-max-age"),
        default: "keep",
        help: "Delete events older than this",
        example: "30d",
    }
    RETENTION_EVENTS_MAX_SIZE: ByteSize {
        name: "retention.events.max_size",
        env: "AGENTRACE_RETENTION_EVENTS_MAX_SIZE",
        flag: Flagged("events-max-size"),
        default: "no limit",
        help: "Delete the oldest events while events take more than this",
        example: "512MiB",
    }
    RETENTION_METRICS_MAX_AGE: Age {
        name: "retention.metrics.max_age",
        env: "AGENTRACE_RETENTION_METRICS_MAX_AGE",
        flag: Flagged("metrics-max-age"),
        default: "keep",
        help: "Delete span metrics (the per-minute and per-hour rollups behind the overview and cost views) older than this; they outlive deleted spans until then",
        example: "400d",
    }
    RETENTION_METRICS_MAX_SIZE: ByteSize {
        name: "retention.metrics.max_size",
        env: "AGENTRACE_RETENTION_METRICS_MAX_SIZE",
        flag: Flagged("metrics-max-size"),
        default: "no limit",
        help: "Delete the oldest span metrics while they take more than this",
        example: "256MiB",
    }
    RETENTION_SCORES_MAX_AGE: Age {
        name: "retention.scores.max_age",
        env: "AGENTRACE_RETENTION_SCORES_MAX_AGE",
        flag: Flagged("scores-max-age"),
        default: "keep",
        help: "Delete scores older than this (by the time they were given); they outlive the spans they judge until then",
        example: "90d",
    }
    RETENTION_SCORES_MAX_SIZE: ByteSize {
        name: "retention.scores.max_size",
        env: "AGENTRACE_RETENTION_SCORES_MAX_SIZE",
        flag: Flagged("scores-max-size"),
        default: "no limit",
        help: "Delete the oldest scores while scores take more than this",
        example: "256MiB",
    }
    MASK_SECRETS: bool {
        name: "mask_secrets",
        env: "AGENTRACE_MASK_SECRETS",
        flag: Switch("no-mask-secrets", false),
        default: "on: API keys, tokens, private keys, JWTs and card numbers masked",
        help: "Keep secrets (API keys, bearer tokens, private keys, JWTs, card numbers) as received instead of masking them",
        example: "false",
    }
    REDACT: bool {
        name: "redact",
        env: "AGENTRACE_REDACT",
        flag: Switch("redact", true),
        default: "off: with it, personal data masked too and content dropped",
        help: "Mask personal data (e-mails, phone numbers) too, and drop prompt/response content unless --capture-content",
        example: "true",
    }
    CAPTURE_CONTENT: bool {
        name: "capture_content",
        env: "AGENTRACE_CAPTURE_CONTENT",
        flag: Switch("capture-content", true),
        default: "off: with `redact`, prompts and responses are dropped",
        help: "With --redact: keep prompt and response content (still masked)",
        example: "true",
    }
    AUDIT_RETENTION: Age {
        name: "audit_retention",
        env: "AGENTRACE_AUDIT_RETENTION",
        flag: Flagged("audit-retention"),
        default: "`400d`: a year and a month",
        help: "How long the audit log keeps an entry (its own rule, apart from the records' retention)",
        example: "730d",
    }
    ORPHAN_GRACE: Age {
        name: "orphan_grace",
        env: "AGENTRACE_ORPHAN_GRACE",
        flag: Flagged("orphan-grace"),
        default: "`10m`",
        help: "How long a span may wait for its parent before it is marked as an orphan",
        example: "15m",
    }
    FORWARD_ENDPOINT: String {
        name: "forward.endpoint",
        env: "AGENTRACE_FORWARD_OTLP",
        flag: Flagged("forward-otlp"),
        default: "no forwarding",
        help: "Also send everything received to this OTLP endpoint (a collector, Jaeger, a vendor)",
        example: "http://collector:4318",
    }
    FORWARD_PROTOCOL: Protocol {
        name: "forward.protocol",
        env: "AGENTRACE_FORWARD_PROTOCOL",
        flag: Flagged("forward-protocol"),
        default: "`http/protobuf` (`grpc`, `http/json`)",
        help: "The forwarding protocol: grpc, http/protobuf or http/json",
        example: "grpc",
    }
    LOG_FORMAT: LogFormat {
        name: "log_format",
        env: "AGENTRACE_LOG_FORMAT",
        flag: Flagged("log-format"),
        default: "`text` (colours only at a terminal)",
        help: "How the log is written: text, or json (one object a line, for a container platform)",
        example: "json",
    }
    DEMO: bool {
        name: "demo",
        env: "AGENTRACE_DEMO",
        flag: Switch("demo", true),
        default: "off",
        help: "Run a simulated multi-agent workload, to see data at once",
        example: "true",
    }
}

impl Key {
    /// The TOML value of `text` (a variable's value, or a flag's), checked against the key's
    /// type.
    pub(super) fn toml_value(&self, text: &str) -> Result<toml::Value, String> {
        let text = text.trim();
        let value = match self.value {
            Value::Text => toml::Value::String(text.to_owned()),
            Value::Integer => toml::Value::Integer(
                text.parse()
                    .map_err(|_| format!("expected a whole number, not {text:?}"))?,
            ),
            Value::Bool => toml::Value::Boolean(agentrace_core::env::parse_bool(text)?),
            Value::List => toml::Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| toml::Value::String(item.to_owned()))
                    .collect(),
            ),
        };
        self.check(&value)?;
        Ok(value)
    }

    /// Whether `value` is one of the key's type, and if not why.
    pub(super) fn check(&self, value: &toml::Value) -> Result<(), String> {
        (self.fits)(value.clone())
    }
}

/// The table of docs/server.md, "Configuration": one row per key.
pub fn markdown_table() -> String {
    let mut table =
        String::from("| key (TOML) | environment | flag | default |\n|---|---|---|---|\n");
    for key in KEYS {
        let env_note = match key.value {
            Value::List => " (comma-separated)",
            Value::Bool => " (`true`/`false`)",
            Value::Text | Value::Integer => "",
        };
        let flag_note = match key.flag {
            Flag::Repeated(_) => " (repeatable)",
            Flag::Value(_) | Flag::Switch(..) => "",
        };
        table.push_str(&format!(
            "| `{}` | `{}`{env_note} | `--{}`{flag_note} | {} |\n",
            key.name,
            key.env,
            key.flag.name(),
            key.default
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::config::{ConfigError, ConfigLayer, ServerConfig};

    #[test]
    fn docs_server_md_shows_the_declared_keys() -> Result<(), std::io::Error> {
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/server.md"),
        )?;
        let table = markdown_table();
        assert!(
            docs.contains(&table),
            "docs/server.md's configuration table differs from KEYS; it should read:\n{table}"
        );
        Ok(())
    }

    #[test]
    fn names_variables_and_flags_are_unique() {
        for (what, of) in [
            ("name", KEYS.iter().map(|k| k.name).collect::<Vec<_>>()),
            ("variable", KEYS.iter().map(|k| k.env).collect()),
            ("flag", KEYS.iter().map(|k| k.flag.name()).collect()),
        ] {
            let unique: HashSet<&str> = of.iter().copied().collect();
            assert_eq!(unique.len(), of.len(), "a {what} twice: {of:?}");
        }
    }

    /// Each key's example reads alike from the environment, its flag and the file.
    #[test]
    fn every_key_reads_alike_from_each_source() -> Result<(), ConfigError> {
        for key in KEYS {
            let source = |var: &str| (var == key.env).then(|| key.example.to_owned());
            let from_env = ConfigLayer::from_env(&source)?;
            let flag_values = match key.flag {
                Flag::Switch(..) => Vec::new(),
                Flag::Value(_) | Flag::Repeated(_) => vec![key.example.to_owned()],
            };
            let from_flag = ConfigLayer::from_flags([(key, flag_values)])?;
            assert!(!from_env.is_empty(), "{}: sets nothing", key.name);
            assert_eq!(from_env, from_flag, "{}: env and flag differ", key.name);
            let value = key
                .toml_value(key.example)
                .map_err(|reason| ConfigError::Invalid {
                    key: key.name,
                    reason,
                })?;
            let file = tempfile::NamedTempFile::new().map_err(|source| ConfigError::ReadFile {
                path: "a temporary file".into(),
                source,
            })?;
            std::fs::write(file.path(), format!("{} = {value}", key.name)).map_err(|source| {
                ConfigError::ReadFile {
                    path: file.path().to_owned(),
                    source,
                }
            })?;
            let from_file = ConfigLayer::from_file(file.path())?;
            assert_eq!(from_env, from_file, "{}: env and file differ", key.name);
        }
        Ok(())
    }

    /// Every key is used: with every key set to its example, leaving out any one of them
    /// changes the configuration resolved. (A key declared but not read in
    /// `ServerConfig::resolve` fails here, as does an example that is the default.)
    #[test]
    fn every_key_changes_the_configuration() -> Result<(), ConfigError> {
        let home = |var: &str| (var == "HOME").then(|| "/home/someone".to_owned());
        let given = |left_out: Option<&str>| {
            ConfigLayer::from_flags(
                KEYS.iter()
                    .filter(|key| Some(key.name) != left_out)
                    .map(|key| (key, vec![key.example.to_owned()])),
            )
        };
        let all = ServerConfig::resolve(given(None)?, &home)?;
        for key in KEYS {
            let without = ServerConfig::resolve(given(Some(key.name))?, &home);
            assert!(
                without.as_ref().map_or(true, |without| *without != all),
                "{}: its example {:?} changes nothing; is it read in ServerConfig::resolve?",
                key.name,
                key.example
            );
        }
        Ok(())
    }

    #[test]
    fn bad_values_name_their_variable_or_flag() {
        let port = KEYS.iter().find(|k| k.name == "ports.app");
        let Some(port) = port else {
            panic!("ports.app is declared");
        };
        let source = |var: &str| (var == port.env).then(|| "lots".to_owned());
        let err = ConfigLayer::from_env(&source).map_err(|e| e.to_string());
        assert!(
            matches!(&err, Err(m) if m.contains("AGENTRACE_APP_PORT")),
            "{err:?}"
        );
        let err =
            ConfigLayer::from_flags([(port, vec!["70000".to_owned()])]).map_err(|e| e.to_string());
        assert!(
            matches!(&err, Err(m) if m.contains("--app-port")),
            "{err:?}"
        );
    }
}
