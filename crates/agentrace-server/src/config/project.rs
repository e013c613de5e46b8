//! A project's settings: the kinds a project is configured by (`/api/v1/settings/{kind}`, the
//! provisioning folder), and what each kind's document says, checked before it is stored.
//!
//! Every document is JSON (a provisioning file may be TOML: it is read into the same shape).
//! Where a project has no setting of a kind, the server's configuration applies: its price
//! files, its retention, its masking; budgets are a project's own (the budgets file is the
//! configured project's, see `crate::jobs::projects`).
//!
//! | kind | document | example |
//! |---|---|---|
//! | `budgets` | the budgets file's shape | `{"budget": [{"name": "daily", "scope": "global", "period": "day", "limit_usd": 20}]}` |
//! | `prices` | a price file, `agentrace.prices/1`, over the server's prices | `{"format": "agentrace.prices/1", "models": [...]}` |
//! | `retention` | each data type's `max_age` and `max_size`, each one set over the server's | `{"spans": {"max_age": "7d"}, "events": {"max_size": "1GiB"}}` |
//! | `capture` | `mask_secrets`, `redact`, `capture_content`, over the server's | `{"redact": true}` |
//! | `evaluators` | the evaluators file's shape: judges and rules; a judge's `api_key_env` may name only an `AGENTRACE_JUDGE_*` variable | `{"evaluator": [{"name": "answer_is_json", "filter": {"kind": "llm"}, "check": {"type": "json_valid"}}]}` |
//! | `scores` | the score configurations file's shape | `{"score": [{"name": "helpfulness", "kind": "numeric", "min": 0, "max": 1}]}` |
//! | `alerts` | the alerts file's shape: rules, SLOs, channels, the report | `{"slos": [{"name": "tools work", "objective": 0.99, "window": "28d", "indicator": {"type": "success", "of": "tool_calls"}}]}` |
//! | `forwarding` | where the project's records go besides its store: an `http://` endpoint and its protocol (`grpc`, `http/protobuf`, `http/json`; default `http/protobuf`) | `{"endpoint": "http://collector:4317", "protocol": "grpc"}` |

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use agentrace_alerts::{AlertsConfig, alerts_from_value};
use agentrace_core::ScoreConfigs;
use agentrace_core::budget::{Budget, budgets_from_value};
use agentrace_core::cost::PriceTable;
use agentrace_core::redact::{Redactor, RuleError};
use agentrace_evaluators::{Evaluators, EvaluatorsConfig};
use serde::Deserialize;

use agentrace_otlp::Protocol;

use super::{Age, ByteSize, Forward, Retention, RetentionRule, ServerConfig};

/// The largest document a setting may be, in bytes (a price file of every model fits).
pub const MAX_SETTING_BYTES: usize = 4 << 20;

/// What a project is configured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SettingKind {
    /// Its budgets.
    Budgets,
    /// Its prices, over the server's.
    Prices,
    /// How long its data is kept.
    Retention,
    /// What of its records is masked or dropped.
    Capture,
    /// Its alert rules, SLOs, channels and report.
    Alerts,
    /// Its online evaluations: judges and rules.
    Evaluators,
    /// What its scores of each configured name must fit.
    Scores,
    /// Where its records are forwarded besides its store.
    Forwarding,
}

/// The prefix of the environment variables a project's judge may read its key from: the
/// server's operator decides which keys projects may use, and a project cannot read any other
/// variable of the server (its token, its store's password).
pub const JUDGE_KEY_PREFIX: &str = "AGENTRACE_JUDGE_";

/// The server's environment as a project's judges may read it: `AGENTRACE_JUDGE_*` only.
pub fn judge_env(name: &str) -> Option<String> {
    name.starts_with(JUDGE_KEY_PREFIX)
        .then(|| agentrace_core::env::process(name))
        .flatten()
}

impl SettingKind {
    /// Every kind, in the order they are listed.
    pub const ALL: [Self; 8] = [
        Self::Budgets,
        Self::Prices,
        Self::Retention,
        Self::Capture,
        Self::Alerts,
        Self::Evaluators,
        Self::Scores,
        Self::Forwarding,
    ];

    /// Its name in paths and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Budgets => "budgets",
            Self::Prices => "prices",
            Self::Retention => "retention",
            Self::Capture => "capture",
            Self::Alerts => "alerts",
            Self::Evaluators => "evaluators",
            Self::Scores => "scores",
            Self::Forwarding => "forwarding",
        }
    }

    /// Whether its document may hold secrets (a channel's webhook URL): only scope `admin`
    /// reads it.
    pub fn holds_secrets(self) -> bool {
        matches!(self, Self::Alerts)
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Every kind's name, for errors.
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl fmt::Display for SettingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A project's retention: the ages and sizes it sets for each data type (each one it leaves
/// unset is the server's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionSetting {
    /// Spans.
    pub spans: RetentionRule,
    /// Events.
    pub events: RetentionRule,
    /// Span metrics (the rollups) and received metrics.
    pub metrics: RetentionRule,
    /// Scores.
    pub scores: RetentionRule,
}

impl RetentionSetting {
    /// `server`'s retention with each value this setting sets over it.
    pub fn over(&self, server: &Retention) -> Retention {
        let over = |mine: RetentionRule, theirs: RetentionRule| {
            let mut rule = theirs;
            rule.max_age = mine.max_age.or(theirs.max_age);
            rule.max_bytes = mine.max_bytes.or(theirs.max_bytes);
            rule
        };
        Retention {
            spans: over(self.spans, server.spans),
            events: over(self.events, server.events),
            metrics: over(self.metrics, server.metrics),
            scores: over(self.scores, server.scores),
            interval: server.interval,
        }
    }
}

/// What of a project's records is masked or dropped before anything else sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capture {
    /// Mask secrets (`mask_secrets`).
    pub mask_secrets: bool,
    /// Mask personal data too, and drop content unless `capture_content` (`redact`).
    pub redact: bool,
    /// With `redact`, keep content, masked (`capture_content`).
    pub capture_content: bool,
}

impl Capture {
    /// The server's: `mask_secrets`, `redact`, `capture_content` of its configuration.
    pub fn of(config: &ServerConfig) -> Self {
        Self {
            mask_secrets: config.mask_secrets,
            redact: config.redact,
            capture_content: config.capture_content,
        }
    }

    /// The redactor it asks for (none with everything off).
    ///
    /// # Errors
    /// A redaction rule does not compile.
    pub fn redactor(self) -> Result<Option<Arc<Redactor>>, RuleError> {
        if self.redact {
            return Ok(Some(Arc::new(
                Redactor::builder()
                    .capture_content(self.capture_content)
                    .build()?,
            )));
        }
        Ok(self
            .mask_secrets
            .then(|| Arc::new(Redactor::secrets_only())))
    }
}

/// A setting's document, read.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Setting {
    /// `budgets`.
    Budgets(Vec<Budget>),
    /// `prices`.
    Prices(Arc<PriceTable>),
    /// `retention`.
    Retention(RetentionSetting),
    /// `capture`: each switch it sets (else the server's).
    Capture(CaptureSetting),
    /// `alerts`.
    Alerts(Box<AlertsConfig>),
    /// `evaluators`.
    Evaluators(Box<EvaluatorsConfig>),
    /// `scores`.
    Scores(Arc<ScoreConfigs>),
    /// `forwarding`.
    Forwarding(Forward),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForwardingIn {
    endpoint: String,
    protocol: Option<String>,
}

/// A project's `capture` document: the switches it sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSetting {
    /// `mask_secrets`.
    pub mask_secrets: Option<bool>,
    /// `redact`.
    pub redact: Option<bool>,
    /// `capture_content`.
    pub capture_content: Option<bool>,
}

impl CaptureSetting {
    /// `server`'s capture with this setting's switches over it.
    pub fn over(self, server: Capture) -> Capture {
        Capture {
            mask_secrets: self.mask_secrets.unwrap_or(server.mask_secrets),
            redact: self.redact.unwrap_or(server.redact),
            capture_content: self.capture_content.unwrap_or(server.capture_content),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionIn {
    spans: Option<RuleIn>,
    events: Option<RuleIn>,
    metrics: Option<RuleIn>,
    scores: Option<RuleIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleIn {
    max_age: Option<String>,
    max_size: Option<String>,
}

impl RuleIn {
    fn rule(self, of: &str) -> Result<RetentionRule, String> {
        let max_age = self
            .max_age
            .map(|a| {
                Age::from_str(&a)
                    .map(|a| a.0)
                    .map_err(|e| format!("{of}.max_age {a:?}: {e}"))
            })
            .transpose()?;
        let max_bytes = self
            .max_size
            .map(|s| {
                ByteSize::from_str(&s)
                    .map(|s| s.0)
                    .map_err(|e| format!("{of}.max_size {s:?}: {e}"))
            })
            .transpose()?;
        Ok(RetentionRule { max_age, max_bytes })
    }
}

impl Setting {
    /// Reads the document of `kind`; the error says what is wrong with it. A document is a
    /// JSON object, whatever its kind (serde would read some structures from an array too).
    pub fn read(kind: SettingKind, document: serde_json::Value) -> Result<Self, String> {
        if !document.is_object() {
            return Err(format!(
                "a setting's document is a JSON object, not {}",
                match document {
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::Bool(_) => "a boolean",
                    _ => "null",
                }
            ));
        }
        match kind {
            SettingKind::Budgets => budgets_from_value(document).map(Self::Budgets),
            SettingKind::Prices => PriceTable::from_json(&document.to_string())
                .map(|t| Self::Prices(Arc::new(t)))
                .map_err(|e| e.to_string()),
            SettingKind::Retention => {
                let r: RetentionIn = serde_json::from_value(document).map_err(|e| e.to_string())?;
                let rule = |r: Option<RuleIn>, of: &str| {
                    r.map_or(Ok(RetentionRule::default()), |r| r.rule(of))
                };
                Ok(Self::Retention(RetentionSetting {
                    spans: rule(r.spans, "spans")?,
                    events: rule(r.events, "events")?,
                    metrics: rule(r.metrics, "metrics")?,
                    scores: rule(r.scores, "scores")?,
                }))
            }
            SettingKind::Capture => serde_json::from_value(document)
                .map(Self::Capture)
                .map_err(|e| e.to_string()),
            SettingKind::Alerts => alerts_from_value(document).map(|a| Self::Alerts(Box::new(a))),
            SettingKind::Evaluators => {
                let config: EvaluatorsConfig =
                    serde_json::from_value(document).map_err(|e| e.to_string())?;
                if let Some(judge) = config.judges.iter().find(|j| {
                    j.api_key_env
                        .as_deref()
                        .is_some_and(|v| !v.starts_with(JUDGE_KEY_PREFIX))
                }) {
                    return Err(format!(
                        "judge {:?}: a project's judge reads its key from an {JUDGE_KEY_PREFIX}* variable only",
                        judge.name
                    ));
                }
                // Checked whole, as the server will run it.
                Evaluators::new(config.clone(), &judge_env)?;
                Ok(Self::Evaluators(Box::new(config)))
            }
            SettingKind::Scores => {
                ScoreConfigs::from_value(document).map(|c| Self::Scores(Arc::new(c)))
            }
            SettingKind::Forwarding => {
                let f: ForwardingIn =
                    serde_json::from_value(document).map_err(|e| e.to_string())?;
                let protocol = match f.protocol {
                    Some(p) => p.parse::<Protocol>().map_err(|_| {
                        format!("protocol {p:?}: expected grpc, http/protobuf or http/json")
                    })?,
                    None => Protocol::default(),
                };
                let forward = Forward::new(f.endpoint, protocol);
                forward.check()?;
                Ok(Self::Forwarding(forward))
            }
        }
    }

    /// The URLs it sends to: its alert channels', its judges' endpoints, its forwarding
    /// endpoint (what `outbound_hosts` admits or refuses).
    pub fn destinations(&self) -> Vec<&str> {
        match self {
            Self::Alerts(config) => config
                .channels
                .iter()
                .filter_map(|c| c.kind.url())
                .collect(),
            Self::Evaluators(config) => config.judges.iter().map(|j| j.endpoint.as_str()).collect(),
            Self::Forwarding(forward) => vec![forward.endpoint.as_str()],
            Self::Budgets(_)
            | Self::Prices(_)
            | Self::Retention(_)
            | Self::Capture(_)
            | Self::Scores(_) => Vec::new(),
        }
    }

    /// Reads a stored document of `kind` (JSON text).
    pub fn read_text(kind: SettingKind, document: &str) -> Result<Self, String> {
        let value = serde_json::from_str(document).map_err(|e| e.to_string())?;
        Self::read(kind, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_reads_its_example_and_names_what_is_wrong() {
        let read = |kind, v| Setting::read(kind, v);
        assert!(matches!(
            read(
                SettingKind::Budgets,
                json!({"budget": [{"name": "daily", "scope": "global", "period": "day", "limit_usd": 20}]})
            ),
            Ok(Setting::Budgets(b)) if b.len() == 1
        ));
        let Ok(Setting::Retention(r)) = read(
            SettingKind::Retention,
            json!({"spans": {"max_age": "7d"}, "events": {"max_size": "1KiB"}}),
        ) else {
            panic!("a retention document was refused")
        };
        let mut server = Retention::default();
        server.spans.max_bytes = Some(5);
        server.events.max_age = Some(std::time::Duration::from_secs(60));
        let r = r.over(&server);
        assert_eq!(
            (r.spans.max_age, r.spans.max_bytes),
            (Some(std::time::Duration::from_secs(7 * 86_400)), Some(5)),
            "each value set replaces the server's, the others stay"
        );
        assert_eq!(
            (r.events.max_age, r.events.max_bytes),
            (Some(std::time::Duration::from_secs(60)), Some(1024))
        );
        assert!(!r.metrics.is_set());
        let server = Capture {
            mask_secrets: true,
            redact: false,
            capture_content: false,
        };
        let Ok(Setting::Forwarding(f)) = read(
            SettingKind::Forwarding,
            json!({"endpoint": "http://collector:4317", "protocol": "grpc"}),
        ) else {
            panic!("a forwarding document was refused")
        };
        assert_eq!(f, Forward::new("http://collector:4317", Protocol::Grpc));
        let Ok(Setting::Capture(c)) = read(SettingKind::Capture, json!({"redact": true})) else {
            panic!("a capture document was refused")
        };
        assert_eq!(
            c.over(server),
            Capture {
                mask_secrets: true,
                redact: true,
                capture_content: false
            }
        );
        for (kind, bad, says) in [
            (
                SettingKind::Budgets,
                json!({"budget": [{"name": "x"}]}),
                "missing field",
            ),
            (
                SettingKind::Budgets,
                json!({"budget": [{"name": "x", "scope": "global", "period": "day", "limit_usd": -1}]}),
                "non-negative",
            ),
            (
                SettingKind::Retention,
                json!({"spans": {"max_age": "soon"}}),
                "spans.max_age",
            ),
            (SettingKind::Retention, json!({"span": {}}), "unknown field"),
            (
                SettingKind::Capture,
                json!({"redact": "yes"}),
                "invalid type",
            ),
            (SettingKind::Prices, json!({"format": "other"}), "format"),
            (
                SettingKind::Alerts,
                json!({"interval": "1ms"}),
                "at least 1s",
            ),
            (
                SettingKind::Forwarding,
                json!({"endpoint": "https://collector:4317"}),
                "http:// URL",
            ),
            (
                SettingKind::Forwarding,
                json!({"endpoint": "http://c:4317", "protocol": "thrift"}),
                "expected grpc",
            ),
            (
                SettingKind::Forwarding,
                json!({}),
                "missing field `endpoint`",
            ),
            // Found by Schemathesis: an array read as the structure of `scores`.
            (
                SettingKind::Scores,
                json!([]),
                "a JSON object, not an array",
            ),
            (
                SettingKind::Retention,
                json!("7d"),
                "a JSON object, not a string",
            ),
        ] {
            let e = read(kind, bad).err().unwrap_or_default();
            assert!(e.contains(says), "{kind}: {e:?} does not say {says:?}");
        }
    }

    #[test]
    fn kinds_are_named_and_found_by_name() {
        for kind in SettingKind::ALL {
            assert_eq!(SettingKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SettingKind::parse("budget"), None);
        assert_eq!(
            SettingKind::names(),
            "budgets, prices, retention, capture, alerts, evaluators, scores, forwarding"
        );
    }
}
