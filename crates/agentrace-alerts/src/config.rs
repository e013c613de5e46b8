//! The alerts file: how often rules are evaluated, the rules, and the channels.
//!
//! ```toml
//! interval = "30s"      # evaluate every rule this often (default 30s)
//! renotify = "4h"       # repeat firing alerts this often (default: never)
//!
//! [[channels]]
//! name = "ops"
//! type = "webhook"
//! url = "https://hooks.example.com/agentrace"
//! secret = "…"
//!
//! [[rules]]
//! name = "llm errors"
//! measure = "error_rate"
//! window = "5m"
//! min_requests = 20
//! warning = 0.05
//! critical = 0.2
//! per = "model"
//! ```
//!
//! Without `[[channels]]`, alerts go to the log. docs/alerts.md lists every field; the
//! service level objectives (`[[slos]]`) are in docs/slos.md.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::channel::{ChannelConfig, ChannelKind};
use crate::rule::{Rule, RuleError};
use crate::slo::Slo;

/// The default evaluation interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// Everything the alerts file says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AlertsConfig {
    /// How often every rule is evaluated.
    #[serde(default = "default_interval", with = "agentrace_core::serde_duration")]
    pub interval: Duration,
    /// How often a firing alert is notified again; `None`: only on changes.
    #[serde(default, with = "agentrace_core::serde_duration::option")]
    pub renotify: Option<Duration>,
    /// The channels; empty: the log.
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// The service level objectives (docs/slos.md).
    #[serde(default)]
    pub slos: Vec<Slo>,
    /// The report sent on a schedule (docs/slos.md, "The report"); none without.
    #[serde(default)]
    pub report: Option<ReportSchedule>,
}

/// The report sent through channels at the end of every period (`[report]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ReportSchedule {
    /// The period each report covers, and how often one is sent (`7d`: weekly, periods
    /// starting Monday 00:00 UTC).
    #[serde(with = "agentrace_core::serde_duration")]
    pub every: Duration,
    /// The channels it goes to; empty: every channel.
    #[serde(default)]
    pub channels: Vec<String>,
    /// The dashboard's URL, for the report's links (`https://agentrace.example.com`).
    #[serde(default)]
    pub link: Option<String>,
}

const fn default_interval() -> Duration {
    DEFAULT_INTERVAL
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            interval: DEFAULT_INTERVAL,
            renotify: None,
            channels: Vec::new(),
            rules: Vec::new(),
            slos: Vec::new(),
            report: None,
        }
    }
}

/// The alerts file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadAlertsError {
    /// It could not be read.
    #[error("cannot read the alerts file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not valid TOML of the expected shape.
    #[error("alerts file {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the key and line.
        message: String,
    },
    /// A rule cannot be used.
    #[error("alerts file {}: {source}", path.display())]
    Rule {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: RuleError,
    },
    /// Something else in it cannot be used.
    #[error("alerts file {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Reads and checks the alerts file at `path`.
pub fn load_alerts(path: &Path) -> Result<AlertsConfig, LoadAlertsError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadAlertsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let config: AlertsConfig = toml::from_str(&text).map_err(|e| LoadAlertsError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    config.validate().map_err(|e| match e {
        Invalid::Rule(source) => LoadAlertsError::Rule {
            path: path.to_owned(),
            source,
        },
        Invalid::Other(reason) => LoadAlertsError::Invalid {
            path: path.to_owned(),
            reason,
        },
    })?;
    Ok(config)
}

/// Reads and checks an alerts document already parsed (the alerts file's shape as JSON, e.g.
/// a project's stored setting); the error says what is wrong.
pub fn alerts_from_value(value: serde_json::Value) -> Result<AlertsConfig, String> {
    let config: AlertsConfig = serde_json::from_value(value).map_err(|e| e.to_string())?;
    config.validate().map_err(|e| match e {
        Invalid::Rule(source) => source.to_string(),
        Invalid::Other(reason) => reason,
    })?;
    Ok(config)
}

enum Invalid {
    Rule(RuleError),
    Other(String),
}

impl AlertsConfig {
    /// The channels to start: those configured, or the log.
    pub fn channels_or_log(&self) -> Vec<ChannelConfig> {
        if self.channels.is_empty() {
            vec![ChannelConfig::new("log", ChannelKind::Log)]
        } else {
            self.channels.clone()
        }
    }

    fn validate(&self) -> Result<(), Invalid> {
        if self.interval < Duration::from_secs(1) {
            return Err(Invalid::Other("`interval` must be at least 1s".into()));
        }
        let mut names = HashSet::new();
        for channel in &self.channels {
            if !names.insert(channel.name.as_str()) {
                return Err(Invalid::Other(format!(
                    "two channels are named {:?}",
                    channel.name
                )));
            }
            if let Some(url) = channel.kind.url() {
                let parsed = reqwest::Url::parse(url).map_err(|e| {
                    Invalid::Other(format!("channel {:?}: url {url:?}: {e}", channel.name))
                })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(Invalid::Other(format!(
                        "channel {:?}: url {url:?} is not http or https",
                        channel.name
                    )));
                }
            }
        }
        let mut slos = HashSet::new();
        for slo in &self.slos {
            slo.validate().map_err(Invalid::Rule)?;
            if !slos.insert(slo.name.as_str()) {
                return Err(Invalid::Other(format!("two SLOs are named {:?}", slo.name)));
            }
        }
        if let Some(report) = &self.report {
            let every = report.every;
            if every < Duration::from_secs(60)
                || !every.as_secs().is_multiple_of(60)
                || every.subsec_nanos() != 0
            {
                return Err(Invalid::Other(
                    "`report.every` is a whole number of minutes (7d for a weekly report)".into(),
                ));
            }
            for wanted in &report.channels {
                if !(names.contains(wanted.as_str())
                    || (self.channels.is_empty() && wanted == "log"))
                {
                    return Err(Invalid::Other(format!(
                        "the report goes to channel {wanted:?}, which is not configured"
                    )));
                }
            }
        }
        let all = self.all_rules();
        let mut rules = HashSet::new();
        for rule in &all {
            rule.validate().map_err(Invalid::Rule)?;
            if !rules.insert(rule.name.as_str()) {
                return Err(Invalid::Other(format!(
                    "two rules are named {:?} (an SLO's burn-rate rules are named \"<slo> burn rate <long>/<short>\")",
                    rule.name
                )));
            }
            if let Some(slo) = rule.slo.as_deref().filter(|s| !slos.contains(s)) {
                return Err(Invalid::Other(format!(
                    "rule {:?} measures the burn rate of SLO {slo:?}, which is not configured",
                    rule.name
                )));
            }
            for wanted in rule.channels.iter().flatten() {
                let known = names.contains(wanted.as_str())
                    || (self.channels.is_empty() && wanted == "log");
                if !known {
                    return Err(Invalid::Other(format!(
                        "rule {:?} sends to channel {wanted:?}, which is not configured",
                        rule.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// The rules the engine runs: those written, then each SLO's burn-rate alerts
    /// ([`Slo::burn_rules`]).
    pub fn all_rules(&self) -> Vec<Rule> {
        self.rules
            .iter()
            .cloned()
            .chain(self.slos.iter().flat_map(Slo::burn_rules))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<AlertsConfig, LoadAlertsError> {
        let dir = tempfile::tempdir().map_err(|source| LoadAlertsError::Read {
            path: PathBuf::new(),
            source,
        })?;
        let path = dir.path().join("alerts.toml");
        std::fs::write(&path, text).map_err(|source| LoadAlertsError::Read {
            path: path.clone(),
            source,
        })?;
        load_alerts(&path)
    }

    #[test]
    fn a_scope_in_the_filter_syntax_is_read_and_its_error_points_at_the_token() {
        let rule = |scope: &str| {
            format!(
                "[[rules]]\nname = \"support errors\"\nmeasure = \"error_rate\"\nwindow = \"5m\"\nwarning = 0.1\nscope = {scope}\n"
            )
        };
        let config = load(&rule("\"agent:support kind:tool\"")).expect("a scope as a query");
        assert_eq!(
            config.rules[0].scope.pairs(),
            [("agent", "support"), ("kind", "tool")]
        );
        let message = load(&rule("\"agent:support timeout\""))
            .expect_err("words are not in rollups")
            .to_string();
        assert!(
            message.contains(
                "scope: agent:support timeout\n              ^^^^^^^\na scope is measured over \
                 rollups, which keep no text"
            ),
            "{message}"
        );
    }

    #[test]
    fn the_documented_example_loads() -> Result<(), LoadAlertsError> {
        let example = include_str!("config.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start_matches(' '))
            .collect::<Vec<_>>()
            .join("\n");
        let config = load(&example)?;
        assert_eq!(config.interval, Duration::from_secs(30));
        assert_eq!(config.renotify, Some(Duration::from_secs(4 * 3600)));
        assert_eq!(config.rules.len(), 1);
        assert_eq!(config.channels[0].kind.name(), "webhook");
        Ok(())
    }

    #[test]
    fn the_example_of_docs_alerts_md_loads() -> Result<(), LoadAlertsError> {
        let docs = include_str!("../../../docs/alerts.md");
        let example: String = docs
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap_or_default()
            .to_owned();
        let config = load(&example)?;
        assert_eq!(config.rules.len(), 5);
        assert_eq!(config.channels.len(), 2);
        Ok(())
    }

    #[test]
    fn each_slo_brings_its_burn_rate_rules() -> Result<(), LoadAlertsError> {
        let config = load(
            "[[rules]]\nname='cost'\nmeasure='cost'\nwindow='1h'\ncritical=5.0\n\
             [[rules]]\nname='runs burning'\nmeasure='burn_rate'\nslo='runs'\nwindow='2h'\nshort_window='10m'\nwarning=3.0\n\
             [[slos]]\nname='runs'\nobjective=0.99\nwindow='28d'\nindicator={type='success',of='agent_runs'}",
        )?;
        let names: Vec<String> = config.all_rules().into_iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "cost",
                "runs burning",
                "runs burn rate 1h/5m",
                "runs burn rate 6h/30m",
                "runs burn rate 3d/6h"
            ]
        );
        Ok(())
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("interval = 'soon'", "not a duration"),
            (
                "[[channels]]\nname='a'\ntype='webhook'\nurl='ftp://x'",
                "not http or https",
            ),
            (
                "[[channels]]\nname='a'\ntype='log'\n[[channels]]\nname='a'\ntype='log'",
                "two channels",
            ),
            (
                "[[rules]]\nname='r'\nmeasure='cost'\nwindow='1m'\ncritical=1.0\nchannels=['pager']",
                "not configured",
            ),
            (
                "[[rules]]\nname='r'\nmeasure='cost'\nwindow='1m'",
                "set `warning`",
            ),
            (
                "[[rules]]\nname='r'\nmeasure='costs'\nwindow='1m'",
                "unknown variant",
            ),
            (
                "[[rules]]\nname='r'\nmeasure='burn_rate'\nslo='gone'\nwindow='1h'\nshort_window='5m'\ncritical=14.4",
                "SLO \"gone\", which is not configured",
            ),
            (
                "[[rules]]\nname='runs burn rate 1h/5m'\nmeasure='cost'\nwindow='1m'\ncritical=1.0\n\
                 [[slos]]\nname='runs'\nobjective=0.99\nwindow='28d'\nindicator={type='success',of='agent_runs'}",
                "two rules are named",
            ),
        ];
        for (text, expected) in cases {
            let error = load(text).map(|_| ()).map_err(|e| e.to_string());
            assert!(
                error.as_ref().is_err_and(|e| e.contains(expected)),
                "{text}: {error:?}"
            );
        }
    }
}
