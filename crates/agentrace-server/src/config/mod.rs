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
//!
//! The settings and their defaults are [`ServerConfig`] and its parts (`settings`); the sizes
//! and durations they are written in, [`ByteSize`] and [`Age`] (`units`); how the layers
//! become a configuration, [`ServerConfig::load`] and [`ServerConfig::resolve`] (`resolve`),
//! which ends with [`ServerConfig::validate`] (`validate`); which store, [`StoreLocation`].

use std::net::IpAddr;
use std::path::PathBuf;

use agentrace_core::env::EnvError;
pub use agentrace_core::env::{Source as EnvSource, process as process_env};

pub(crate) mod hosts;
pub mod keys;
mod layer;
mod outbound;
pub mod project;
mod resolve;
mod settings;
pub mod sso;
mod store;
mod units;
mod validate;

pub use keys::{Flag, KEYS, Key, KeyValue, TypedKey, Value, markdown_table};
pub use layer::ConfigLayer;
pub use outbound::OutboundHosts;
pub use resolve::{CONFIG_ENV, default_data_dir};
pub use settings::{
    DB_FILE_NAME, DEFAULT_APP_PORT, DEFAULT_OTLP_GRPC_PORT, DEFAULT_OTLP_HTTP_PORT, Forward,
    LogFormat, ReceiveLimits, Retention, RetentionRule, ServerConfig,
};
pub use store::{ClickHouseLocation, DEFAULT_HOLD, StoreLocation};
pub use units::{Age, ByteSize};

/// The shortest password a person may have (`admin_password`, a person's own).
pub const MIN_PASSWORD_CHARS: usize = 12;

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
        "binding {bind} exposes the server beyond this machine: set an API token (api_token, AGENTRACE_API_TOKEN or --api-token), a first owner (admin_email and admin_password) or single sign-on (sso), or bind a loopback address"
    )]
    TokenRequired {
        /// The non-loopback address.
        bind: IpAddr,
    },
}
