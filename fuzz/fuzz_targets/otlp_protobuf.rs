//! OTLP protobuf requests (traces, logs, metrics; the first byte picks which): counted from
//! their bytes (`agentrace_ingest::wire`), decoded by prost and ingested. Never a panic; the
//! count is never stricter than the decoder; a request within the limits is ingested.
#![no_main]

use agentrace_ingest::wire::{self, WireLimits};
use agentrace_ingest::{Ingestor, Limits};
use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

const NOW: u64 = 1_763_900_000_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let limits = WireLimits::default();
    let ingestor = Ingestor::new(Limits::default());
    match which % 3 {
        0 => {
            let counted = wire::count_traces(bytes, &limits);
            if let Ok(request) = ExportTraceServiceRequest::decode(bytes) {
                let counted = counted.expect("the count refused what prost decodes");
                let spans: usize = request
                    .resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .map(|s| s.spans.len())
                    .sum();
                assert_eq!(counted.records, spans as u64);
                let decoded = ingestor.traces(request, NOW);
                assert_eq!(
                    decoded.records.len() as u64 + decoded.rejected,
                    spans as u64
                );
            }
        }
        1 => {
            let counted = wire::count_logs(bytes, &limits);
            if let Ok(request) = ExportLogsServiceRequest::decode(bytes) {
                counted.expect("the count refused what prost decodes");
                let _ = ingestor.logs(request, NOW);
            }
        }
        _ => {
            let counted = wire::count_metrics(bytes, &limits);
            if let Ok(request) = ExportMetricsServiceRequest::decode(bytes) {
                counted.expect("the count refused what prost decodes");
                let _ = ingestor.metrics(request, NOW);
            }
        }
    }
});
