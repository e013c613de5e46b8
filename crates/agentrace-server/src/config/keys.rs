//! Every configuration key of `agentrace serve`, declared once ([`KEYS`]): its TOML key, its
//! environment variable, its flag, how a text becomes its value, its default and what it does.
//!
//! The environment ([`ConfigLayer::from_env`]) and the flags ([`ConfigLayer::from_flags`]) are
//! read through this table into the shape of the TOML file, so that one deserializer checks
//! the three sources alike; the CLI builds its flags from it, and the table of docs/server.md
//! is [`markdown_table`]'s (a test holds them equal). A new key is a row here and a field of
//! [`ConfigLayer`] (with its resolution in `ServerConfig::resolve`); the tests below fail until
//! both agree.

use agentrace_core::env::{self, EnvError, Source};

use super::{ConfigError, ConfigLayer};

/// One configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

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

const fn key(
    name: &'static str,
    env: &'static str,
    flag: Flag,
    value: Value,
    default: &'static str,
    help: &'static str,
    example: &'static str,
) -> Key {
    Key {
        name,
        env,
        flag,
        value,
        default,
        help,
        example,
    }
}

use Flag::{Repeated, Switch, Value as Flagged};
use Value::{Bool, Integer, List, Text};

/// Every key, in the order of docs/server.md.
pub const KEYS: &[Key] = &[
    key(
        "data_dir",
        "AGENTRACE_DATA_DIR",
        Flagged("data-dir"),
        Text,
        "`$XDG_DATA_HOME/agentrace`, else `~/.local/share/agentrace`; the store is `agentrace.db` inside",
        "Where the store lives",
        "/var/lib/agentrace",
    ),
    key(
        "store",
        "AGENTRACE_STORE",
        Flagged("store"),
        Text,
        "`sqlite`: `agentrace.db` in the data directory",
        "The store: `sqlite`, or a ClickHouse database `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?timeout=DURATION&cluster=NAME&hold=DURATION]` shared by any number of nodes (docs/scale-out.md)",
        "clickhouse://agentrace:s3cret@ch.internal:8123/agentrace?timeout=10s&cluster=agentrace&hold=5s",
    ),
    key(
        "bind",
        "AGENTRACE_BIND",
        Flagged("bind"),
        Text,
        "`127.0.0.1`",
        "The address every listener binds (any but loopback needs --api-token)",
        "0.0.0.0",
    ),
    key(
        "ports.otlp_http",
        "AGENTRACE_OTLP_HTTP_PORT",
        Flagged("otlp-http-port"),
        Integer,
        "4318",
        "OTLP/HTTP port (0: any free port)",
        "14318",
    ),
    key(
        "ports.otlp_grpc",
        "AGENTRACE_OTLP_GRPC_PORT",
        Flagged("otlp-grpc-port"),
        Integer,
        "4317",
        "OTLP/gRPC port (0: any free port)",
        "14317",
    ),
    key(
        "ports.app",
        "AGENTRACE_APP_PORT",
        Flagged("app-port"),
        Integer,
        "4319",
        "Port of the dashboard, the API, /metrics and the health checks (0: any free port)",
        "14319",
    ),
    key(
        "api_token",
        "AGENTRACE_API_TOKEN",
        Flagged("api-token"),
        Text,
        "none (required when `bind` is not loopback)",
        "The bearer token required for ingest, the API and /metrics (prefer AGENTRACE_API_TOKEN: flags show in the process list)",
        "s3cret-token",
    ),
    key(
        "read_token",
        "AGENTRACE_READ_TOKEN",
        Flagged("read-token"),
        Text,
        "none (needs `api_token`)",
        "A read-only token: the dashboard, API reads, the live feed and /metrics; refused on ingest and on routes that write",
        "read-0nly-token",
    ),
    key(
        "cors_origins",
        "AGENTRACE_CORS_ORIGINS",
        Repeated("cors-origin"),
        List,
        "none: CORS off",
        "An origin allowed by CORS (`*` for any); CORS is off without one",
        "http://localhost:3000",
    ),
    key(
        "allowed_hosts",
        "AGENTRACE_ALLOWED_HOSTS",
        Repeated("allowed-host"),
        List,
        "none: on a loopback `bind`, only `localhost` and IP addresses",
        "A host name the server answers to besides localhost and IP addresses (`*.example.com` for any name under a domain), against DNS rebinding",
        "agentrace.example.com",
    ),
    key(
        "dashboard_dir",
        "AGENTRACE_DASHBOARD_DIR",
        Flagged("dashboard-dir"),
        Text,
        "none: the dashboard embedded in the binary (a folder is for working on the dashboard, read at each request)",
        "Serve the dashboard from this folder instead of the embedded copy (for working on it)",
        "crates/agentrace-server/dashboard",
    ),
    key(
        "prices",
        "AGENTRACE_PRICES",
        Repeated("prices"),
        List,
        "the built-in table; files layered over it, first wins ([prices.md](prices.md))",
        "A price file over the built-in table (first wins)",
        "my-prices.toml",
    ),
    key(
        "budgets",
        "AGENTRACE_BUDGETS",
        Flagged("budgets"),
        Text,
        "none ([budgets.md](budgets.md)); spend is restored from the store at start",
        "A budgets file (TOML or JSON; see docs/budgets.md)",
        "budgets.toml",
    ),
    key(
        "alerts",
        "AGENTRACE_ALERTS",
        Flagged("alerts"),
        Text,
        "none: no rules; budget alerts go to the log ([alerts.md](alerts.md))",
        "An alerts file: rules and channels (TOML; see docs/alerts.md)",
        "alerts.toml",
    ),
    key(
        "scores",
        "AGENTRACE_SCORES",
        Flagged("scores"),
        Text,
        "none: a score of any name is taken as it is ([api.md](api.md))",
        "A score configurations file: each name's kind, range or categories (TOML `[[score]]`)",
        "scores.toml",
    ),
    key(
        "evaluators",
        "AGENTRACE_EVALUATORS",
        Flagged("evaluators"),
        Text,
        "none: nothing is judged online ([scores.md](scores.md))",
        "An evaluators file: judges and the rules that score spans and traces online (TOML `[[judge]]`, `[[evaluator]]`)",
        "evaluators.toml",
    ),
    key(
        "limits.max_body",
        "AGENTRACE_MAX_BODY",
        Flagged("max-body"),
        Text,
        "`16MiB`",
        "Largest request body as sent",
        "8MiB",
    ),
    key(
        "limits.max_decompressed_body",
        "AGENTRACE_MAX_DECOMPRESSED_BODY",
        Flagged("max-decompressed-body"),
        Text,
        "`64MiB` (also gRPC's largest message)",
        "Largest request body once un-gzipped",
        "32MiB",
    ),
    key(
        "limits.queue_requests",
        "AGENTRACE_QUEUE_REQUESTS",
        Flagged("queue-requests"),
        Integer,
        "256",
        "Requests waiting for the writer before new ones get a retryable 503",
        "128",
    ),
    key(
        "limits.queue_records",
        "AGENTRACE_QUEUE_RECORDS",
        Flagged("queue-records"),
        Integer,
        "65,536",
        "Records waiting for the writer before new requests get a retryable 503",
        "32768",
    ),
    key(
        "limits.max_records_per_request",
        "AGENTRACE_MAX_RECORDS_PER_REQUEST",
        Flagged("max-records-per-request"),
        Integer,
        "65,536",
        "Spans, log records or data points in one request, counted before decoding (413 / INVALID_ARGUMENT beyond it)",
        "8192",
    ),
    key(
        "limits.decode_budget",
        "AGENTRACE_DECODE_BUDGET",
        Flagged("decode-budget"),
        Integer,
        "1,048,576 messages",
        "Protobuf messages (spans, attributes, values…) decoded and held at once across requests; beyond it a retryable 503",
        "1048576",
    ),
    key(
        "limits.max_connections",
        "AGENTRACE_MAX_CONNECTIONS",
        Flagged("max-connections"),
        Integer,
        "1,024 (each listener)",
        "Open connections per listener; a new one beyond it is closed at once",
        "512",
    ),
    key(
        "limits.max_in_flight",
        "AGENTRACE_MAX_IN_FLIGHT",
        Flagged("max-in-flight"),
        Integer,
        "64 (each listener)",
        "Requests handled at once per listener; more get a retryable 503 (gRPC UNAVAILABLE) before their body is read",
        "32",
    ),
    key(
        "limits.header_timeout",
        "AGENTRACE_HEADER_TIMEOUT",
        Flagged("header-timeout"),
        Text,
        "`10s`",
        "Time for a request's headers (HTTP/1.1: also the idle time of a keep-alive connection; gRPC: a new connection's first bytes)",
        "5s",
    ),
    key(
        "limits.body_min_rate",
        "AGENTRACE_BODY_MIN_RATE",
        Flagged("body-min-rate"),
        Text,
        "`64KiB` a second",
        "Slowest request body accepted, in bytes a second once a header timeout has passed (HTTP 408 below it)",
        "16KiB",
    ),
    key(
        "limits.wal_ceiling",
        "AGENTRACE_WAL_CEILING",
        Flagged("wal-ceiling"),
        Text,
        "`256MiB` (at least `4MiB`)",
        "Ceiling of the store's write-ahead log: it starts over at a quarter of it; at it, writes wait up to 5 s, then get a retryable 503",
        "128MiB",
    ),
    key(
        "retention.interval",
        "AGENTRACE_RETENTION_INTERVAL",
        Flagged("retention-interval"),
        Text,
        "`5m`",
        "How often retention runs",
        "1m",
    ),
    key(
        "retention.spans.max_age",
        "AGENTRACE_RETENTION_SPANS_MAX_AGE",
        Flagged("spans-max-age"),
        Text,
        "keep",
        "Delete spans older than this",
        "30d",
    ),
    key(
        "retention.spans.max_size",
        "AGENTRACE_RETENTION_SPANS_MAX_SIZE",
        Flagged("spans-max-size"),
        Text,
        "no limit",
        "Delete the oldest spans while spans take more than this",
        "2GiB",
    ),
    key(
        "retention.events.max_age",
        "AGENTRACE_RETENTION_EVENTS_MAX_AGE",
        Flagged("events-max-age"),
        Text,
        "keep",
        "Delete events older than this",
        "30d",
    ),
    key(
        "retention.events.max_size",
        "AGENTRACE_RETENTION_EVENTS_MAX_SIZE",
        Flagged("events-max-size"),
        Text,
        "no limit",
        "Delete the oldest events while events take more than this",
        "512MiB",
    ),
    key(
        "retention.metrics.max_age",
        "AGENTRACE_RETENTION_METRICS_MAX_AGE",
        Flagged("metrics-max-age"),
        Text,
        "keep",
        "Delete span metrics (the per-minute and per-hour rollups behind the overview and cost views) older than this; they outlive deleted spans until then",
        "400d",
    ),
    key(
        "retention.metrics.max_size",
        "AGENTRACE_RETENTION_METRICS_MAX_SIZE",
        Flagged("metrics-max-size"),
        Text,
        "no limit",
        "Delete the oldest span metrics while they take more than this",
        "256MiB",
    ),
    key(
        "retention.scores.max_age",
        "AGENTRACE_RETENTION_SCORES_MAX_AGE",
        Flagged("scores-max-age"),
        Text,
        "keep",
        "Delete scores older than this (by the time they were given); they outlive the spans they judge until then",
        "90d",
    ),
    key(
        "retention.scores.max_size",
        "AGENTRACE_RETENTION_SCORES_MAX_SIZE",
        Flagged("scores-max-size"),
        Text,
        "no limit",
        "Delete the oldest scores while scores take more than this",
        "256MiB",
    ),
    key(
        "mask_secrets",
        "AGENTRACE_MASK_SECRETS",
        Switch("no-mask-secrets", false),
        Bool,
        "on: API keys, tokens, private keys, JWTs and card numbers masked",
        "Keep secrets (API keys, bearer tokens, private keys, JWTs, card numbers) as received instead of masking them",
        "false",
    ),
    key(
        "redact",
        "AGENTRACE_REDACT",
        Switch("redact", true),
        Bool,
        "off: with it, personal data masked too and content dropped",
        "Mask personal data (e-mails, phone numbers) too, and drop prompt/response content unless --capture-content",
        "true",
    ),
    key(
        "capture_content",
        "AGENTRACE_CAPTURE_CONTENT",
        Switch("capture-content", true),
        Bool,
        "off: with `redact`, prompts and responses are dropped",
        "With --redact: keep prompt and response content (still masked)",
        "true",
    ),
    key(
        "orphan_grace",
        "AGENTRACE_ORPHAN_GRACE",
        Flagged("orphan-grace"),
        Text,
        "`10m`",
        "How long a span may wait for its parent before it is marked as an orphan",
        "15m",
    ),
    key(
        "forward.endpoint",
        "AGENTRACE_FORWARD_OTLP",
        Flagged("forward-otlp"),
        Text,
        "no forwarding",
        "Also send everything received to this OTLP endpoint (a collector, Jaeger, a vendor)",
        "http://collector:4318",
    ),
    key(
        "forward.protocol",
        "AGENTRACE_FORWARD_PROTOCOL",
        Flagged("forward-protocol"),
        Text,
        "`http/protobuf` (`grpc`, `http/json`)",
        "The forwarding protocol: grpc, http/protobuf or http/json",
        "grpc",
    ),
    key(
        "demo",
        "AGENTRACE_DEMO",
        Switch("demo", true),
        Bool,
        "off",
        "Run a simulated multi-agent workload, to see data at once",
        "true",
    ),
];

impl Key {
    /// The TOML value of `text` (a variable's value, or a flag's).
    fn toml_value(&self, text: &str) -> Result<toml::Value, String> {
        let text = text.trim();
        Ok(match self.value {
            Value::Text => toml::Value::String(text.to_owned()),
            Value::Integer => toml::Value::Integer(
                text.parse()
                    .map_err(|_| format!("expected a whole number, not {text:?}"))?,
            ),
            Value::Bool => toml::Value::Boolean(env::parse_bool(text)?),
            Value::List => toml::Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| toml::Value::String(item.to_owned()))
                    .collect(),
            ),
        })
    }
}

/// Sets `key` to `value` in `table`, creating the tables of its dotted name.
fn insert(table: &mut toml::Table, key: &Key, value: toml::Value) {
    let mut parts: Vec<&str> = key.name.split('.').collect();
    let last = parts.pop().unwrap_or(key.name);
    let mut at = table;
    for part in parts {
        let entry = at
            .entry(part)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let Some(next) = entry.as_table_mut() else {
            return;
        };
        at = next;
    }
    at.insert(last.to_owned(), value);
}

/// A layer holding `key` = `value` alone: whether the value fits the key's field.
fn check(key: &Key, value: &toml::Value) -> Result<(), String> {
    let mut table = toml::Table::new();
    insert(&mut table, key, value.clone());
    ConfigLayer::from_table(table).map(drop)
}

impl ConfigLayer {
    fn from_table(table: toml::Table) -> Result<Self, String> {
        serde::Deserialize::deserialize(toml::Value::Table(table)).map_err(|e| e.to_string())
    }

    /// Reads every key's variable ([`KEYS`]); blank ones count as unset.
    ///
    /// # Errors
    /// [`ConfigError::Env`] naming the first variable whose value cannot be used.
    pub fn from_env(source: Source<'_>) -> Result<Self, ConfigError> {
        let mut table = toml::Table::new();
        for key in KEYS {
            let Some(text) = env::value(source, key.env) else {
                continue;
            };
            let value = key
                .toml_value(&text)
                .and_then(|value| check(key, &value).map(|()| value))
                .map_err(|reason| EnvError::new(key.env, text.clone(), reason))?;
            insert(&mut table, key, value);
        }
        Self::from_table(table).map_err(|reason| ConfigError::Invalid {
            key: "environment",
            reason,
        })
    }

    /// Reads the flags given, each with its values as typed: one for [`Flag::Value`], one or
    /// more for [`Flag::Repeated`] (each may hold several, comma-separated), none for
    /// [`Flag::Switch`].
    ///
    /// # Errors
    /// [`ConfigError::Flag`] naming the first flag whose value cannot be used.
    pub fn from_flags<'a>(
        given: impl IntoIterator<Item = (&'a Key, Vec<String>)>,
    ) -> Result<Self, ConfigError> {
        let mut table = toml::Table::new();
        for (key, values) in given {
            let text = values.join(",");
            let value = match key.flag {
                Flag::Switch(_, on) => Ok(toml::Value::Boolean(on)),
                Flag::Value(_) | Flag::Repeated(_) => key.toml_value(&text),
            };
            let value = value
                .and_then(|value| check(key, &value).map(|()| value))
                .map_err(|reason| ConfigError::Flag {
                    flag: key.flag.name(),
                    value: text.clone(),
                    reason,
                })?;
            insert(&mut table, key, value);
        }
        Self::from_table(table).map_err(|reason| ConfigError::Invalid {
            key: "flags",
            reason,
        })
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

    /// Each key's example, from the environment and from its flag, sets the same field of the
    /// layer, a field no other key sets; all keys together set every field.
    #[test]
    fn every_key_sets_its_own_field_from_each_source() -> Result<(), ConfigError> {
        let mut layers = Vec::new();
        for key in KEYS {
            let source = |var: &str| (var == key.env).then(|| key.example.to_owned());
            let from_env = ConfigLayer::from_env(&source)?;
            let flag_values = match key.flag {
                Flag::Switch(..) => Vec::new(),
                Flag::Value(_) | Flag::Repeated(_) => vec![key.example.to_owned()],
            };
            let from_flag = ConfigLayer::from_flags([(key, flag_values)])?;
            assert_ne!(
                from_env,
                ConfigLayer::default(),
                "{}: sets nothing",
                key.name
            );
            assert_eq!(from_env, from_flag, "{}: env and flag differ", key.name);
            let file: toml::Table = toml::from_str(&format!(
                "{} = {}",
                key.name,
                key.toml_value(key.example)
                    .map_err(|reason| ConfigError::Invalid {
                        key: key.name,
                        reason
                    })?
            ))
            .map_err(|e| ConfigError::Invalid {
                key: key.name,
                reason: e.to_string(),
            })?;
            let from_file =
                ConfigLayer::from_table(file).map_err(|reason| ConfigError::Invalid {
                    key: key.name,
                    reason,
                })?;
            assert_eq!(from_env, from_file, "{}: env and file differ", key.name);
            layers.push((key.name, from_env));
        }
        for (i, (a, layer_a)) in layers.iter().enumerate() {
            for (b, layer_b) in &layers[i + 1..] {
                let merged = layer_a.clone().over(layer_b.clone());
                assert_ne!(&merged, layer_a, "{a} and {b} set the same field");
            }
        }
        let all = layers
            .into_iter()
            .fold(ConfigLayer::default(), |all, (_, layer)| layer.over(all));
        let shown = format!("{all:?}");
        assert!(!shown.contains("None"), "a field no key sets: {shown}");
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
