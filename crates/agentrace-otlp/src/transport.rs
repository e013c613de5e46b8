//! opentelemetry-otlp exporters over the sink's own clients: an async `reqwest` client for
//! HTTP that applies the builder's headers and records each request's outcome, a tonic
//! interceptor for gRPC metadata. Retries are off: the pipeline retries.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{
    LogExporter, MetricExporter, RetryPolicy, SpanExporter, WithExportConfig, WithHttpConfig,
    WithTonicConfig,
};
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};

use crate::config::{BuildError, Compression, Protocol, Signal, SignalConfig};

/// How the last HTTP request of an exporter ended, for classifying its error: the exporter
/// reduces every failure to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A response with this status.
    Status(u16),
    /// No response: connection refused or reset, DNS, timeout.
    NoResponse,
    /// No request: the data could not be encoded, or exceeded the size limit.
    NotSent,
}

/// The last outcome of one exporter's requests. Exports of one signal run one at a time, so
/// it belongs to the export that just finished.
pub(crate) type OutcomeSlot = Arc<Mutex<Option<Outcome>>>;

/// Takes the outcome of the export that just finished.
pub(crate) fn take_outcome(slot: &OutcomeSlot) -> Outcome {
    slot.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or(Outcome::NotSent)
}

/// The HTTP client handed to opentelemetry-otlp.
#[derive(Debug)]
struct Client {
    client: reqwest::Client,
    headers: Arc<HeaderMap>,
    outcome: OutcomeSlot,
}

#[async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        apply(&self.headers, request.headers_mut());
        let result = self.client.send_bytes(request).await;
        let outcome = match &result {
            Ok(response) => Outcome::Status(response.status().as_u16()),
            Err(_) => Outcome::NoResponse,
        };
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        result
    }
}

/// Sets the builder's headers over those already on a request (opentelemetry-otlp's, from
/// `OTEL_EXPORTER_OTLP_HEADERS`), so the builder's win.
fn apply(builder: &HeaderMap, request: &mut HeaderMap) {
    for (name, value) in builder {
        request.insert(name, value.clone());
    }
}

/// Sets the builder's metadata on every gRPC request, after opentelemetry-otlp's own (so it
/// wins over `OTEL_EXPORTER_OTLP_HEADERS`).
#[derive(Debug, Clone)]
struct Metadata(Arc<Vec<(AsciiMetadataKey, AsciiMetadataValue)>>);

impl tonic::service::Interceptor for Metadata {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        for (key, value) in self.0.iter() {
            request.metadata_mut().insert(key.clone(), value.clone());
        }
        Ok(request)
    }
}

/// What every exporter of a sink shares.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
    http_headers: Arc<HeaderMap>,
    grpc_metadata: Metadata,
    compression: Option<Compression>,
}

impl Transport {
    pub(crate) fn new(
        headers: &[(String, String)],
        compression: Option<Compression>,
    ) -> Result<Self, BuildError> {
        let invalid = |name: &str, reason: String| BuildError::Header {
            name: name.to_owned(),
            reason,
        };
        let mut http_headers = HeaderMap::new();
        let mut grpc_metadata = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| invalid(name, e.to_string()))?;
            let header_value =
                HeaderValue::from_str(value).map_err(|e| invalid(name, e.to_string()))?;
            let key = AsciiMetadataKey::from_bytes(header_name.as_str().as_bytes())
                .map_err(|e| invalid(name, e.to_string()))?;
            let metadata_value = AsciiMetadataValue::try_from(value.as_str())
                .map_err(|e| invalid(name, e.to_string()))?;
            http_headers.insert(header_name, header_value);
            grpc_metadata.push((key, metadata_value));
        }
        let client = reqwest::Client::builder()
            .build()
            .map_err(BuildError::HttpClient)?;
        Ok(Self {
            client,
            http_headers: Arc::new(http_headers),
            grpc_metadata: Metadata(Arc::new(grpc_metadata)),
            compression,
        })
    }

    fn http_client(&self) -> (Client, OutcomeSlot) {
        let outcome = OutcomeSlot::default();
        let client = Client {
            client: self.client.clone(),
            headers: self.http_headers.clone(),
            outcome: outcome.clone(),
        };
        (client, outcome)
    }
}

/// Builds one signal's exporter: the three exporter builders share their method names, not a
/// trait, hence a macro.
macro_rules! build_exporter {
    ($exporter:ty, $signal:expr, $transport:expr, $config:expr) => {{
        let (transport, config): (&Transport, &SignalConfig) = ($transport, $config);
        let compression = transport.compression.map(|c| match c {
            Compression::Gzip => opentelemetry_otlp::Compression::Gzip,
        });
        let built = match config.protocol {
            Protocol::Grpc => {
                let builder = <$exporter>::builder()
                    .with_tonic()
                    .with_endpoint(config.endpoint.clone())
                    .with_timeout(config.timeout)
                    .with_retry_policy(RetryPolicy::disabled())
                    .with_interceptor(transport.grpc_metadata.clone());
                match compression {
                    Some(c) => builder.with_compression(c),
                    None => builder,
                }
                .build()
                .map(|e| (e, None))
            }
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                let (client, outcome) = transport.http_client();
                let builder = <$exporter>::builder()
                    .with_http()
                    .with_protocol(match config.protocol {
                        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
                        _ => opentelemetry_otlp::Protocol::HttpBinary,
                    })
                    .with_endpoint(config.endpoint.clone())
                    .with_timeout(config.timeout)
                    .with_retry_policy(RetryPolicy::disabled())
                    .with_http_client(client);
                match compression {
                    Some(c) => builder.with_compression(c),
                    None => builder,
                }
                .build()
                .map(|e| (e, Some(outcome)))
            }
        };
        built.map_err(|source| BuildError::Exporter {
            signal: $signal,
            source,
        })
    }};
}

/// An exporter and, over HTTP, the slot its client records outcomes in.
pub(crate) type Built<E> = (E, Option<OutcomeSlot>);

/// The span exporter. Must run inside the sink's runtime (tonic connects lazily from it).
pub(crate) fn span_exporter(
    transport: &Transport,
    config: &SignalConfig,
) -> Result<Built<SpanExporter>, BuildError> {
    build_exporter!(SpanExporter, Signal::Traces, transport, config)
}

/// The log exporter; see [`span_exporter`].
pub(crate) fn log_exporter(
    transport: &Transport,
    config: &SignalConfig,
) -> Result<Built<LogExporter>, BuildError> {
    build_exporter!(LogExporter, Signal::Logs, transport, config)
}

/// The metric exporter (cumulative temporality); see [`span_exporter`].
pub(crate) fn metric_exporter(
    transport: &Transport,
    config: &SignalConfig,
) -> Result<Built<MetricExporter>, BuildError> {
    build_exporter!(MetricExporter, Signal::Metrics, transport, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_headers_win_over_those_already_set() -> Result<(), BuildError> {
        let headers = [
            ("X-Api-Key".to_owned(), "from-builder".to_owned()),
            ("x-tenant".to_owned(), "t1".to_owned()),
        ];
        let transport = Transport::new(&headers, None)?;

        let mut http = HeaderMap::new();
        http.insert("x-api-key", HeaderValue::from_static("from-env"));
        http.insert("x-other", HeaderValue::from_static("kept"));
        apply(&transport.http_headers, &mut http);
        assert_eq!(
            http.get("x-api-key"),
            Some(&HeaderValue::from_static("from-builder"))
        );
        assert_eq!(http.get("x-tenant"), Some(&HeaderValue::from_static("t1")));
        assert_eq!(http.get("x-other"), Some(&HeaderValue::from_static("kept")));

        let mut request = tonic::Request::new(());
        request
            .metadata_mut()
            .insert("x-api-key", AsciiMetadataValue::from_static("from-env"));
        let mut interceptor = transport.grpc_metadata.clone();
        let request = tonic::service::Interceptor::call(&mut interceptor, request)
            .map_err(|e| BuildError::Config(e.to_string()))?;
        let metadata = request.metadata();
        assert_eq!(
            metadata.get("x-api-key").and_then(|v| v.to_str().ok()),
            Some("from-builder")
        );
        assert_eq!(
            metadata.get("x-tenant").and_then(|v| v.to_str().ok()),
            Some("t1")
        );
        Ok(())
    }

    #[test]
    fn headers_must_be_sendable_over_http_and_grpc() {
        assert!(Transport::new(&[("x-api-key".into(), "secret".into())], None).is_ok());
        for (name, value) in [("bad name", "v"), ("x-key", "line\nbreak"), ("", "v")] {
            let result = Transport::new(&[(name.into(), value.into())], None);
            assert!(
                matches!(result, Err(BuildError::Header { .. })),
                "{name:?}: {result:?}"
            );
        }
    }
}
