//! Export failures, classified for the pipeline's retries.
//!
//! Transient (retried): no response at all (connection refused or reset, DNS, timeout), HTTP
//! 429, 502, 503 and 504, and the gRPC codes the OTLP specification calls retryable
//! (`UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`, `ABORTED`, `CANCELLED`,
//! `OUT_OF_RANGE`, `DATA_LOSS`). Everything else is permanent: the receiver rejected the data
//! (400, 401, 413, `INVALID_ARGUMENT`, `UNAUTHENTICATED`, …) or it could not be encoded.

use agentrace_core::ExportError;
use opentelemetry_sdk::error::OTelSdkError;

use crate::config::Signal;
use crate::transport::Outcome;

/// Why an export failed, as the source of an [`ExportError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OTLP {signal} export failed: {reason}")]
#[non_exhaustive]
pub struct OtlpExportError {
    /// The signal.
    pub signal: Signal,
    /// What the exporter or the receiver said.
    pub reason: String,
}

/// gRPC codes worth retrying (OTLP specification, "Failures"), as tonic's `Code` debug names.
const RETRYABLE_GRPC_CODES: [&str; 7] = [
    "Unavailable",
    "DeadlineExceeded",
    "ResourceExhausted",
    "Aborted",
    "Cancelled",
    "OutOfRange",
    "DataLoss",
];

/// HTTP statuses worth retrying (OTLP specification, "Failures").
const RETRYABLE_HTTP_STATUSES: [u16; 4] = [429, 502, 503, 504];

/// Classifies an exporter error. `outcome` is how the HTTP request ended (`None` over gRPC).
pub(crate) fn classify(
    signal: Signal,
    error: OTelSdkError,
    outcome: Option<Outcome>,
) -> ExportError {
    let reason = match error {
        OTelSdkError::AlreadyShutdown => return ExportError::ShutDown,
        OTelSdkError::Timeout(d) => return ExportError::Timeout(d),
        OTelSdkError::InternalFailure(reason) => reason,
    };
    let transient = match outcome {
        Some(Outcome::NoResponse) => true,
        Some(Outcome::Status(status)) => RETRYABLE_HTTP_STATUSES.contains(&status),
        Some(Outcome::NotSent) => false,
        None => grpc_code(&reason).is_none_or(|code| RETRYABLE_GRPC_CODES.contains(&code)),
    };
    let error = OtlpExportError { signal, reason };
    if transient {
        ExportError::transient(error)
    } else {
        ExportError::permanent(error)
    }
}

/// The gRPC code opentelemetry-otlp names in its message (`… failed with gRPC code: Unavailable`).
/// Without one (the message format changed) the error counts as transient: a wasted retry costs
/// less than lost data.
fn grpc_code(reason: &str) -> Option<&str> {
    let (_, rest) = reason.split_once("gRPC code: ")?;
    rest.split(|c: char| !c.is_ascii_alphanumeric()).next()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn failure(message: &str) -> OTelSdkError {
        OTelSdkError::InternalFailure(message.to_owned())
    }

    #[test]
    fn http_outcomes() {
        for status in [429, 502, 503, 504] {
            let e = classify(Signal::Traces, failure("x"), Some(Outcome::Status(status)));
            assert!(matches!(e, ExportError::Transient(_)), "{status}");
        }
        for status in [400, 401, 404, 413, 500] {
            let e = classify(Signal::Logs, failure("x"), Some(Outcome::Status(status)));
            assert!(matches!(e, ExportError::Permanent(_)), "{status}");
        }
        let too_large = classify(
            Signal::Traces,
            failure("body too large"),
            Some(Outcome::NotSent),
        );
        assert!(matches!(too_large, ExportError::Permanent(_)));
        let refused = classify(
            Signal::Metrics,
            failure("HTTP export failed: network error"),
            Some(Outcome::NoResponse),
        );
        assert!(matches!(refused, ExportError::Transient(_)));
    }

    #[test]
    fn grpc_codes() {
        let message = |code: &str| {
            failure(&format!(
                "TonicTracesClient export failed with gRPC code: {code}: transport error"
            ))
        };
        for code in RETRYABLE_GRPC_CODES {
            assert!(
                matches!(
                    classify(Signal::Traces, message(code), None),
                    ExportError::Transient(_)
                ),
                "{code}"
            );
        }
        for code in [
            "InvalidArgument",
            "Unauthenticated",
            "PermissionDenied",
            "Unimplemented",
        ] {
            assert!(
                matches!(
                    classify(Signal::Traces, message(code), None),
                    ExportError::Permanent(_)
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn sdk_errors_and_the_message() {
        assert!(matches!(
            classify(Signal::Traces, OTelSdkError::AlreadyShutdown, None),
            ExportError::ShutDown
        ));
        let d = Duration::from_millis(5);
        assert!(matches!(
            classify(Signal::Traces, OTelSdkError::Timeout(d), None),
            ExportError::Timeout(t) if t == d
        ));
        let e = classify(Signal::Logs, failure("boom"), Some(Outcome::Status(400)));
        assert_eq!(
            e.to_string(),
            "export failed: OTLP logs export failed: boom"
        );
    }
}
