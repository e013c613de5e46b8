//! Admission before decoding: what a request body holds is counted from its bytes
//! (`agentrace_ingest::wire`) and checked against the per-request limit, then it takes its
//! share of one budget of decoded messages shared by every receiver, held until the request is
//! answered. A request that does not fit now is refused with the retryable overload answer; one
//! that could never fit is refused for good. So what decoding makes of bodies is bounded by
//! `limits.decode_budget`, whatever their compression (docs/server.md has the formula).

use std::sync::Arc;

use agentrace_ingest::wire::{Counted, WireError, WireLimits};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{ExportFailure, OtlpSignal};
use crate::config::ReceiveLimits;

/// Bytes of an OTLP/JSON body charged as one decoded message (the smallest JSON key-value
/// pair, `{"key":"k","value":{"intValue":"1"}}`, is 36 bytes; a span is far more).
pub(crate) const JSON_BYTES_PER_MESSAGE: usize = 32;

/// The shared budget and the per-request limits.
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    budget: Arc<Semaphore>,
    total: u32,
    limits: WireLimits,
}

/// A request's share of the budget, given back when dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    _share: OwnedSemaphorePermit,
}

/// How a body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFormat {
    Protobuf,
    Json,
}

impl Admission {
    pub(crate) fn new(limits: &ReceiveLimits) -> Self {
        let total = u32::try_from(limits.decode_budget).unwrap_or(u32::MAX);
        Self {
            budget: Arc::new(Semaphore::new(total as usize)),
            total,
            limits: WireLimits::default().with_max_records(limits.max_records_per_request),
        }
    }

    /// Counts `bytes` (an `S` request) and takes its share of the budget.
    pub(crate) fn admit<S: OtlpSignal>(
        &self,
        bytes: &[u8],
        format: BodyFormat,
    ) -> Result<Admitted, ExportFailure> {
        let messages = match format {
            BodyFormat::Protobuf => S::count(bytes, &self.limits)
                .map_err(|e| match e {
                    WireError::TooMany { what, limit } => ExportFailure::TooLarge(format!(
                        "the request holds more than {limit} {what} ({})",
                        if what == "records" {
                            "limits.max_records_per_request"
                        } else {
                            "a fixed bound of the server"
                        }
                    )),
                    invalid => ExportFailure::Invalid(invalid.to_string()),
                })
                .map(|c: Counted| c.messages)?,
            BodyFormat::Json => (bytes.len() / JSON_BYTES_PER_MESSAGE) as u64 + 1,
        };
        let share = u32::try_from(messages).unwrap_or(u32::MAX);
        if share > self.total {
            return Err(ExportFailure::TooLarge(format!(
                "the request would decode into about {messages} messages, more than \
                 limits.decode_budget ({}) allows at once",
                self.total
            )));
        }
        match self.budget.clone().try_acquire_many_owned(share) {
            Ok(share) => Ok(Admitted { _share: share }),
            Err(_) => Err(ExportFailure::Overloaded(
                "the messages being decoded fill limits.decode_budget",
            )),
        }
    }
}
