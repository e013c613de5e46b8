//! How the layers of configuration become a [`ServerConfig`]: the file (named by `--config` or
//! [`CONFIG_ENV`]), under the environment, under the flags ([`ServerConfig::load`]); what none
//! of them sets, the defaults ([`ServerConfig::resolve`], where each key of [`keys`] is used);
//! then the checks ([`ServerConfig::validate`]).

use std::path::{Path, PathBuf};

use agentrace_core::env::value as env_value;

use super::keys;
use super::{
    Age, ByteSize, ConfigError, ConfigLayer, EnvSource, Forward, RetentionRule, ServerConfig,
    process_env,
};

/// The environment variable naming the configuration file (else `--config`).
pub const CONFIG_ENV: &str = "AGENTRACE_CONFIG";

impl ServerConfig {
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
        config.admin_email = layer.get(keys::ADMIN_EMAIL)?.filter(|t| !t.is_empty());
        config.admin_password = layer.get(keys::ADMIN_PASSWORD)?.filter(|t| !t.is_empty());
        layer.read_into(keys::PASSWORD_LOGIN, &mut config.password_login)?;
        config.sso = layer.get(keys::SSO)?;
        layer.read_into(keys::CORS_ORIGINS, &mut config.cors_origins)?;
        layer.read_into(keys::ALLOWED_HOSTS, &mut config.allowed_hosts)?;
        layer.read_into(keys::OUTBOUND_HOSTS, &mut config.outbound_hosts)?;
        layer.read_into(keys::TRUSTED_PROXIES, &mut config.trusted_proxies)?;
        config.dashboard_dir = layer.get(keys::DASHBOARD_DIR)?;
        layer.read_into(keys::PRICES, &mut config.prices)?;
        config.budgets = layer.get(keys::BUDGETS)?;
        config.alerts = layer.get(keys::ALERTS)?;
        config.provisioning = layer.get(keys::PROVISIONING)?;
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
        layer.read_into(keys::LOG_FORMAT, &mut config.log_format)?;
        if let Some(age) = layer.get(keys::AUDIT_RETENTION)? {
            config.audit_retention = age.0;
        }
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
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use agentrace_otlp::Protocol;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |var| pairs.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())
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
    fn the_first_owner_and_password_login_come_from_the_file_or_the_environment()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("agentrace.toml");
        std::fs::write(
            &file,
            "admin_email = \"ada@example.com\"\nadmin_password = \"correct horse battery\"\npassword_login = false\n",
        )?;
        let home = env_of(&[("HOME", "/h")]);
        let config = ServerConfig::load_with_env(Some(&file), ConfigLayer::default(), &home)?;
        assert_eq!(config.admin_email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            config.admin_password.as_deref(),
            Some("correct horse battery")
        );
        assert!(!config.password_login);
        let env = env_of(&[
            ("HOME", "/h"),
            ("AGENTRACE_ADMIN_EMAIL", "bob@example.com"),
            ("AGENTRACE_ADMIN_PASSWORD", "another long password"),
        ]);
        let config = ServerConfig::load_with_env(Some(&file), ConfigLayer::default(), &env)?;
        assert_eq!(
            config.admin_email.as_deref(),
            Some("bob@example.com"),
            "the environment over the file"
        );
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
}
