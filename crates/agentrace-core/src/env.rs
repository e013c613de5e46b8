//! Environment variables: the names agentrace reads, and the one way every crate of agentrace
//! reads them — from a [`Source`] (the process, or a map in tests), a blank value counting as
//! unset, a value that cannot be used a clear [`EnvError`] naming the variable.
//!
//! ```
//! use agentrace_core::env;
//!
//! let source = |var: &str| (var == "AGENTRACE_SAMPLE_RATIO").then(|| " 0.25 ".to_owned());
//! let ratio = env::parse(&source, env::AGENTRACE_SAMPLE_RATIO, str::parse::<f64>);
//! assert_eq!(ratio, Ok(Some(0.25)));
//! assert_eq!(env::value(&source, env::AGENTRACE_LEVEL), None);
//! let bad = env::parse(&source, env::AGENTRACE_SAMPLE_RATIO, |_| Err::<f64, _>("no"));
//! assert_eq!(bad.map_err(|e| e.to_string()),
//!     Err("environment variable AGENTRACE_SAMPLE_RATIO=\" 0.25 \" is invalid: no".to_owned()));
//! ```

use std::fmt;
use std::path::PathBuf;

// Read by `TelemetryBuilder`; builder settings win over them.
/// Service name (OpenTelemetry standard).
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// Minimum event level: `TRACE` … `CRITICAL` (default `INFO`).
pub const AGENTRACE_LEVEL: &str = "AGENTRACE_LEVEL";
/// Which spans and events reach agentrace, in `tracing` `EnvFilter` syntax
/// (default: the event level, at most `info`, for every target).
pub const AGENTRACE_FILTER: &str = "AGENTRACE_FILTER";
/// Trace sampling ratio, 0.0–1.0 (default 1.0).
pub const AGENTRACE_SAMPLE_RATIO: &str = "AGENTRACE_SAMPLE_RATIO";
/// Price files layered over the built-in table, comma-separated, first wins (JSON or TOML in
/// agentrace's format, or LiteLLM maps).
pub const AGENTRACE_PRICES: &str = "AGENTRACE_PRICES";
/// `false` turns off the default masking of secrets (API keys, bearer tokens, private
/// keys, JWTs, card numbers) in every record (default `true`).
pub const AGENTRACE_MASK_SECRETS: &str = "AGENTRACE_MASK_SECRETS";

/// Where environment variables come from: the process ([`process`]), or a map in tests.
pub type Source<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as a [`Source`] (a value that is not UTF-8 counts as unset).
pub fn process(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// A path from the process environment, as the OS gives it (it need not be UTF-8); `None`
/// when unset or empty.
pub fn process_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `var`'s value when it is set and not blank.
pub fn value(source: Source<'_>, var: &str) -> Option<String> {
    source(var).filter(|v| !v.trim().is_empty())
}

/// `var`'s value split at commas, items trimmed, empty ones left out.
pub fn list(source: Source<'_>, var: &str) -> Option<Vec<String>> {
    value(source, var).map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// `var`'s value, trimmed, read by `parse`; `None` when unset or blank.
///
/// # Errors
/// When `parse` refuses the value: an [`EnvError`] with the variable, the value and why.
pub fn parse<T, E: fmt::Display>(
    source: Source<'_>,
    var: &'static str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, EnvError> {
    match value(source, var) {
        None => Ok(None),
        Some(value) => parse(value.trim()).map(Some).map_err(|e| EnvError {
            var,
            reason: e.to_string(),
            value,
        }),
    }
}

/// A yes or no: `true`, `1`, `yes`, `on` or `false`, `0`, `no`, `off`, in any case.
///
/// # Errors
/// On anything else.
pub fn parse_bool(value: &str) -> Result<bool, &'static str> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false"),
    }
}

/// An environment variable holds a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {var}={value:?} is invalid: {reason}")]
#[non_exhaustive]
pub struct EnvError {
    /// The variable.
    pub var: &'static str,
    /// Its value.
    pub value: String,
    /// Why it cannot be used.
    pub reason: String,
}

impl EnvError {
    /// The error of `var` holding `value`, unusable for `reason`.
    pub fn new(var: &'static str, value: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self {
            var,
            value: value.into(),
            reason: reason.to_string(),
        }
    }
}
