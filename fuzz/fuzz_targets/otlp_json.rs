//! OTLP/JSON requests (the first byte picks the signal): parsed and ingested; never a panic.
#![no_main]

use agentrace_ingest::{Ingestor, Limits};
use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

const NOW: u64 = 1_763_900_000_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let ingestor = Ingestor::new(Limits::default());
    match which % 3 {
        0 => {
            if let Ok(request) = serde_json::from_slice::<ExportTraceServiceRequest>(bytes) {
                let _ = ingestor.traces(request, NOW);
            }
        }
        1 => {
            if let Ok(request) = serde_json::from_slice::<ExportLogsServiceRequest>(bytes) {
                let _ = ingestor.logs(request, NOW);
            }
        }
        _ => {
            if let Ok(request) = serde_json::from_slice::<ExportMetricsServiceRequest>(bytes) {
                let _ = ingestor.metrics(request, NOW);
            }
        }
    }
});
