//! The builder, and how its values and the `OTEL_*` environment resolve into a configuration.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use agentrace_core::{AttributeValue, Attributes, Resource};
use opentelemetry_otlp::{
    OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TIMEOUT,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
};

/// Interval between metric exports, milliseconds (OpenTelemetry standard).
pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// The default OTLP/gRPC endpoint.
pub const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
/// The default OTLP/HTTP endpoint (signals at `/v1/traces`, `/v1/logs`, `/v1/metrics`).
pub const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";
/// The default time allowed for one export.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default interval between metric exports.
pub const DEFAULT_METRIC_EXPORT_INTERVAL: Duration = Duration::from_secs(60);

/// The OTLP transport and encoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/gRPC (`grpc`), default port 4317.
    Grpc,
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`), default port 4318. The OTLP default.
    #[default]
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies (`http/json`), default port 4318.
    HttpJson,
}

impl Protocol {
    /// The name used by `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
            Self::HttpJson => "http/json",
        }
    }

    /// Whether this is one of the HTTP protocols.
    pub const fn is_http(self) -> bool {
        !matches!(self, Self::Grpc)
    }

    /// The default endpoint of the protocol.
    pub const fn default_endpoint(self) -> &'static str {
        match self {
            Self::Grpc => DEFAULT_GRPC_ENDPOINT,
            Self::HttpProtobuf | Self::HttpJson => DEFAULT_HTTP_ENDPOINT,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown protocol name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown OTLP protocol {0:?}; expected grpc, http/protobuf or http/json")]
pub struct ParseProtocolError(pub String);

impl FromStr for Protocol {
    type Err = ParseProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "grpc" => Ok(Self::Grpc),
            "http/protobuf" => Ok(Self::HttpProtobuf),
            "http/json" => Ok(Self::HttpJson),
            _ => Err(ParseProtocolError(s.to_owned())),
        }
    }
}

/// Compression of export requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// gzip, for gRPC and HTTP.
    Gzip,
}

/// An OpenTelemetry signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// Spans.
    Traces,
    /// Events, as log records.
    Logs,
    /// Metrics.
    Metrics,
}

impl Signal {
    /// Every signal.
    pub const ALL: [Self; 3] = [Self::Traces, Self::Logs, Self::Metrics];

    /// `traces`, `logs` or `metrics`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::Logs => "logs",
            Self::Metrics => "metrics",
        }
    }

    /// The OTLP/HTTP path of the signal, e.g. `/v1/traces`.
    pub const fn http_path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Logs => "/v1/logs",
            Self::Metrics => "/v1/metrics",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }

    const fn endpoint_var(self) -> &'static str {
        match self {
            Self::Traces => OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            Self::Logs => OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
            Self::Metrics => OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
        }
    }

    const fn protocol_var(self) -> &'static str {
        match self {
            Self::Traces => OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
            Self::Logs => OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
            Self::Metrics => OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
        }
    }

    const fn timeout_var(self) -> &'static str {
        match self {
            Self::Traces => OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
            Self::Logs => OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
            Self::Metrics => OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Building an [`OtlpSink`](crate::OtlpSink) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An environment variable holds a value that cannot be used.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// An endpoint is not a valid `http://` URL.
    #[error("invalid {signal} endpoint {endpoint:?}: {reason}")]
    Endpoint {
        /// The signal it is for.
        signal: Signal,
        /// The endpoint.
        endpoint: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A header name or value cannot be sent.
    #[error("invalid header {name:?}: {reason}")]
    Header {
        /// The header name.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A builder value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Every signal was turned off.
    #[error("no signal to export: traces, logs and metrics are all turned off")]
    NoSignal,
    /// opentelemetry-otlp refused the exporter configuration.
    #[error("could not build the {signal} exporter: {source}")]
    Exporter {
        /// The signal.
        signal: Signal,
        /// Why.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// The HTTP client could not be created.
    #[error("could not create the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The sink's runtime could not be started.
    #[error("could not start the sink's runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

pub(crate) use agentrace_core::env::Source as EnvSource;
use agentrace_core::env::{EnvError, value as env_var};

/// Builds an [`OtlpSink`](crate::OtlpSink). Values set here win over the environment (see the crate docs for
/// the table); anything unset falls back to it, then to the OTLP defaults.
#[derive(Debug, Clone)]
pub struct OtlpSinkBuilder {
    pub(crate) name: String,
    protocol: Option<Protocol>,
    endpoint: Option<String>,
    signal_endpoints: [Option<String>; 3],
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) compression: Option<Compression>,
    timeout: Option<Duration>,
    service_name: Option<String>,
    resource: Attributes,
    signals: [bool; 3],
    metric_export_interval: Option<Duration>,
}

impl Default for OtlpSinkBuilder {
    fn default() -> Self {
        Self {
            name: "otlp".to_owned(),
            protocol: None,
            endpoint: None,
            signal_endpoints: [None, None, None],
            headers: Vec::new(),
            compression: None,
            timeout: None,
            service_name: None,
            resource: Attributes::new(),
            signals: [true; 3],
            metric_export_interval: None,
        }
    }
}

impl OtlpSinkBuilder {
    /// The protocol of every signal (else `OTEL_EXPORTER_OTLP_{SIGNAL}_PROTOCOL`, else
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`).
    #[must_use]
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The base endpoint, e.g. `http://collector:4318`. For HTTP the signal's path
    /// (`/v1/traces`, …) is appended, as for `OTEL_EXPORTER_OTLP_ENDPOINT`; for gRPC it is used
    /// as it is.
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The full endpoint of one signal, used as it is (no path appended), as for
    /// `OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT`. Wins over [`with_endpoint`](Self::with_endpoint).
    #[must_use]
    pub fn with_signal_endpoint(mut self, signal: Signal, endpoint: impl Into<String>) -> Self {
        self.signal_endpoints[signal.index()] = Some(endpoint.into());
        self
    }

    /// Adds a header (gRPC metadata) to every request, e.g. an API key. Builder headers win over
    /// those of `OTEL_EXPORTER_OTLP_HEADERS` with the same name.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds several headers; see [`with_header`](Self::with_header).
    #[must_use]
    pub fn with_headers<K: Into<String>, V: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.headers
            .extend(headers.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Compresses requests (else `OTEL_EXPORTER_OTLP_{SIGNAL}_COMPRESSION`, else
    /// `OTEL_EXPORTER_OTLP_COMPRESSION`, else none).
    #[must_use]
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// Time allowed for one export request (else `OTEL_EXPORTER_OTLP_{SIGNAL}_TIMEOUT`, else
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`, milliseconds, else 10 s). An export that takes longer fails
    /// with [`ExportError::Timeout`](agentrace_core::ExportError::Timeout) and is retried by the
    /// pipeline; keep it below the pipeline's `export_timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets `service.name` on everything exported, over the records' own service name and
    /// `OTEL_SERVICE_NAME`.
    #[must_use]
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Sets a resource attribute on everything exported, over the records' own resource and
    /// `OTEL_RESOURCE_ATTRIBUTES`.
    #[must_use]
    pub fn with_resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<AttributeValue>,
    ) -> Self {
        self.resource.insert(key.into(), value);
        self
    }

    /// Sets the service name (when not empty) and every attribute of `resource`, as
    /// [`with_service_name`](Self::with_service_name) and
    /// [`with_resource_attribute`](Self::with_resource_attribute) do.
    #[must_use]
    pub fn with_resource(mut self, resource: &Resource) -> Self {
        if !resource.service_name.is_empty() {
            self.service_name = Some(resource.service_name.clone());
        }
        for (k, v) in resource.attributes.iter() {
            self.resource.insert(k.to_owned(), v.clone());
        }
        self
    }

    /// Turns a signal on or off (all are on by default). A sink without traces takes no spans
    /// from the pipeline, and so on.
    #[must_use]
    pub fn with_signal(mut self, signal: Signal, enabled: bool) -> Self {
        self.signals[signal.index()] = enabled;
        self
    }

    /// The interval between metric exports (else `OTEL_METRIC_EXPORT_INTERVAL`, milliseconds,
    /// else 60 s). Metrics are also exported at every flush.
    #[must_use]
    pub fn with_metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_export_interval = Some(interval);
        self
    }

    /// The sink's name in the pipeline's stats and errors (default `otlp`).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Resolves builder values over the environment over the defaults.
    pub(crate) fn resolve(&self, env: EnvSource<'_>) -> Result<Config, BuildError> {
        if !self.signals.iter().any(|on| *on) {
            return Err(BuildError::NoSignal);
        }
        let mut signals = [None, None, None];
        for signal in Signal::ALL {
            if self.signals[signal.index()] {
                signals[signal.index()] = Some(self.resolve_signal(signal, env)?);
            }
        }
        let metric_export_interval = match self.metric_export_interval {
            Some(interval) => interval,
            None => env_millis(env, OTEL_METRIC_EXPORT_INTERVAL)?
                .unwrap_or(DEFAULT_METRIC_EXPORT_INTERVAL),
        };
        if metric_export_interval.is_zero() {
            return Err(BuildError::Config(
                "the metric export interval must be positive".into(),
            ));
        }
        let mut resource = Resource::new(self.service_name.clone().unwrap_or_default());
        resource.attributes = self.resource.clone();
        Ok(Config {
            signals,
            metric_export_interval,
            resource,
        })
    }

    fn resolve_signal(
        &self,
        signal: Signal,
        env: EnvSource<'_>,
    ) -> Result<SignalConfig, BuildError> {
        let protocol = match self.protocol {
            Some(p) => p,
            None => match env_parse(env, signal.protocol_var(), Protocol::from_str)? {
                Some(p) => p,
                None => env_parse(env, OTEL_EXPORTER_OTLP_PROTOCOL, Protocol::from_str)?
                    .unwrap_or_default(),
            },
        };
        let with_path = |base: &str| match protocol.is_http() {
            true => format!("{}{}", base.trim_end_matches('/'), signal.http_path()),
            false => base.to_owned(),
        };
        let endpoint = if let Some(e) = &self.signal_endpoints[signal.index()] {
            e.clone()
        } else if let Some(base) = &self.endpoint {
            with_path(base)
        } else if let Some(e) = env_var(env, signal.endpoint_var()) {
            e
        } else if let Some(base) = env_var(env, OTEL_EXPORTER_OTLP_ENDPOINT) {
            with_path(&base)
        } else {
            with_path(protocol.default_endpoint())
        };
        check_endpoint(signal, protocol, &endpoint)?;
        let timeout = match self.timeout {
            Some(t) => t,
            None => match env_millis(env, signal.timeout_var())? {
                Some(t) => t,
                None => env_millis(env, OTEL_EXPORTER_OTLP_TIMEOUT)?.unwrap_or(DEFAULT_TIMEOUT),
            },
        };
        if timeout.is_zero() {
            return Err(BuildError::Config(
                "the export timeout must be positive".into(),
            ));
        }
        Ok(SignalConfig {
            protocol,
            endpoint,
            timeout,
        })
    }
}

/// Endpoints must be `http://` URLs with a host: this build has no TLS, and a typo should fail
/// at start rather than at every export.
fn check_endpoint(signal: Signal, protocol: Protocol, endpoint: &str) -> Result<(), BuildError> {
    let invalid = |reason: &str| BuildError::Endpoint {
        signal,
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(invalid(
                "https is not supported by this build (no TLS); use http:// or a local collector",
            ));
        }
        _ => return Err(invalid("expected an http:// URL")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("the URL has no host"));
    }
    if !protocol.is_http() && uri.path() != "/" && !uri.path().is_empty() {
        return Err(invalid("a gRPC endpoint has no path (gRPC names its own)"));
    }
    Ok(())
}

fn env_parse<T, E: fmt::Display>(
    env: EnvSource<'_>,
    var: &'static str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, BuildError> {
    Ok(agentrace_core::env::parse(env, var, parse)?)
}

fn env_millis(env: EnvSource<'_>, var: &'static str) -> Result<Option<Duration>, BuildError> {
    env_parse(env, var, |v| {
        v.parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| "expected a whole number of milliseconds")
    })
}

/// What one signal exports to, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignalConfig {
    pub(crate) protocol: Protocol,
    pub(crate) endpoint: String,
    pub(crate) timeout: Duration,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    signals: [Option<SignalConfig>; 3],
    pub(crate) metric_export_interval: Duration,
    /// Builder resource values, applied over the records' own.
    pub(crate) resource: Resource,
}

impl Config {
    /// The configuration of a signal, `None` when it is off.
    pub(crate) fn signal(&self, signal: Signal) -> Option<&SignalConfig> {
        self.signals[signal.index()].as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn resolve(
        builder: OtlpSinkBuilder,
        pairs: &'static [(&'static str, &'static str)],
    ) -> Result<Config, BuildError> {
        builder.resolve(&env_of(pairs))
    }

    fn signal(config: &Config, signal: Signal) -> SignalConfig {
        config
            .signal(signal)
            .cloned()
            .unwrap_or_else(|| panic!("{signal} is off"))
    }

    #[test]
    fn defaults_are_otlp_http_protobuf_on_localhost() -> Result<(), BuildError> {
        let config = resolve(OtlpSinkBuilder::default(), &[])?;
        for s in Signal::ALL {
            let c = signal(&config, s);
            assert_eq!(c.protocol, Protocol::HttpProtobuf);
            assert_eq!(c.endpoint, format!("http://localhost:4318/v1/{s}"));
            assert_eq!(c.timeout, DEFAULT_TIMEOUT);
        }
        assert_eq!(
            config.metric_export_interval,
            DEFAULT_METRIC_EXPORT_INTERVAL
        );
        let grpc = resolve(
            OtlpSinkBuilder::default().with_protocol(Protocol::Grpc),
            &[],
        )?;
        assert_eq!(
            signal(&grpc, Signal::Logs).endpoint,
            "http://localhost:4317"
        );
        Ok(())
    }

    #[test]
    fn environment_fills_what_the_builder_leaves_unset() -> Result<(), BuildError> {
        let env = &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://logs:9999/custom",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4317"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
        ];
        let config = resolve(OtlpSinkBuilder::default(), env)?;
        let traces = signal(&config, Signal::Traces);
        assert_eq!(traces.protocol, Protocol::HttpJson);
        assert_eq!(traces.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(traces.timeout, Duration::from_millis(700));
        let logs = signal(&config, Signal::Logs);
        assert_eq!(
            logs.endpoint, "http://logs:9999/custom",
            "signal endpoints as they are"
        );
        assert_eq!(logs.timeout, Duration::from_millis(2500));
        let metrics = signal(&config, Signal::Metrics);
        assert_eq!(metrics.protocol, Protocol::Grpc);
        assert_eq!(metrics.endpoint, "http://metrics:4317");
        assert_eq!(config.metric_export_interval, Duration::from_millis(1500));
        Ok(())
    }

    #[test]
    fn builder_values_win_over_the_environment() -> Result<(), BuildError> {
        let env = &[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://env:1/v1/traces",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
        ];
        let builder = OtlpSinkBuilder::default()
            .with_protocol(Protocol::Grpc)
            .with_endpoint("http://builder:4317")
            .with_signal_endpoint(Signal::Logs, "http://builder-logs:4317")
            .with_timeout(Duration::from_secs(3))
            .with_metric_export_interval(Duration::from_secs(5));
        let config = resolve(builder, env)?;
        let traces = signal(&config, Signal::Traces);
        assert_eq!(traces.protocol, Protocol::Grpc);
        assert_eq!(traces.endpoint, "http://builder:4317");
        assert_eq!(traces.timeout, Duration::from_secs(3));
        assert_eq!(
            signal(&config, Signal::Logs).endpoint,
            "http://builder-logs:4317"
        );
        assert_eq!(config.metric_export_interval, Duration::from_secs(5));
        Ok(())
    }

    #[test]
    fn bad_values_are_errors_that_name_them() {
        let bad_env: &[(&[(&str, &str)], &str)] = &[
            (
                &[("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")],
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")],
                "OTEL_EXPORTER_OTLP_TIMEOUT",
            ),
            (
                &[("OTEL_METRIC_EXPORT_INTERVAL", "-1")],
                "OTEL_METRIC_EXPORT_INTERVAL",
            ),
        ];
        for (pairs, name) in bad_env {
            let env = |var: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| (*v).to_owned())
            };
            match OtlpSinkBuilder::default().resolve(&env) {
                Err(BuildError::Env(e)) => assert_eq!(e.var, *name),
                other => panic!("{name}: {other:?}"),
            }
        }
        for endpoint in [
            "https://secure:4318",
            "ftp://x",
            "not a url",
            "localhost:4318",
        ] {
            let result = resolve(OtlpSinkBuilder::default().with_endpoint(endpoint), &[]);
            assert!(
                matches!(result, Err(BuildError::Endpoint { .. })),
                "{endpoint}: {result:?}"
            );
        }
        let grpc_path = OtlpSinkBuilder::default()
            .with_protocol(Protocol::Grpc)
            .with_endpoint("http://collector:4317/v1/traces");
        assert!(matches!(
            resolve(grpc_path, &[]),
            Err(BuildError::Endpoint { .. })
        ));
        let none = Signal::ALL
            .into_iter()
            .fold(OtlpSinkBuilder::default(), |b, s| b.with_signal(s, false));
        assert!(matches!(resolve(none, &[]), Err(BuildError::NoSignal)));
        let zero = OtlpSinkBuilder::default().with_timeout(Duration::ZERO);
        assert!(matches!(resolve(zero, &[]), Err(BuildError::Config(_))));
    }

    #[test]
    fn signals_can_be_turned_off() -> Result<(), BuildError> {
        let config = resolve(
            OtlpSinkBuilder::default()
                .with_signal(Signal::Logs, false)
                .with_signal(Signal::Metrics, false),
            &[],
        )?;
        assert!(config.signal(Signal::Traces).is_some());
        assert!(config.signal(Signal::Logs).is_none());
        assert!(config.signal(Signal::Metrics).is_none());
        Ok(())
    }

    #[test]
    fn protocol_names() {
        for p in [Protocol::Grpc, Protocol::HttpProtobuf, Protocol::HttpJson] {
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(p));
        }
        assert_eq!(
            "HTTP/PROTOBUF".parse::<Protocol>(),
            Ok(Protocol::HttpProtobuf)
        );
        assert!("http".parse::<Protocol>().is_err());
    }
}
