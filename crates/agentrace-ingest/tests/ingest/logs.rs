//! Log records → events.

use agentrace_core::{AttributeValue, EventKind, Level};
use agentrace_ingest::{Ingestor, Limits};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

use crate::common::{NOW, T0, TestResult};

const LOGS: &str = r#"{"resourceLogs":[{
  "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"crew"}}]},
  "scopeLogs":[{"scope":{"name":"opentelemetry.instrumentation.crewai"},"logRecords":[
    {"timeUnixNano":"1760000001000000000","severityNumber":9,"severityText":"INFO",
     "eventName":"agent.start","body":{"stringValue":"researcher starts"},
     "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
     "attributes":[{"key":"gen_ai.conversation.id","value":{"stringValue":"conv_42"}},
                   {"key":"gen_ai.agent.id","value":{"stringValue":"asst_7"}},
                   {"key":"agentrace.correlation_id","value":{"stringValue":"req-1"}}]},
    {"observedTimeUnixNano":"1760000002000000000","severityNumber":17,
     "body":{"kvlistValue":{"values":[{"key":"content","value":{"stringValue":"boom"}}]}},
     "attributes":[{"key":"event.name","value":{"stringValue":"gen_ai.choice"}},
                   {"key":"session.id","value":{"stringValue":"s-2"}}]},
    {"severityNumber":10,"severityText":"SUCCESS","body":{"stringValue":"done"},
     "attributes":[{"key":"agentrace.event","value":{"stringValue":"task.complete"}},
                   {"key":"agentrace.framework","value":{"stringValue":"rig"}}]},
    {"timeUnixNano":"1760000003000000000","severityNumber":21},
    {"timeUnixNano":"1760000003000000000","traceId":"0102","body":{"stringValue":"bad id"}},
    {"timeUnixNano":"1","body":{"stringValue":"1970"}}
  ]}]}]}"#;

#[test]
fn log_records_become_events() -> TestResult {
    let request: ExportLogsServiceRequest = serde_json::from_str(LOGS)?;
    let decoded = Ingestor::new(Limits::default()).logs(request, NOW);
    assert_eq!(decoded.rejected, 2, "{:?}", decoded.errors);
    assert!(decoded.errors[0].contains("trace id has 2 bytes, expected 16"));
    assert!(decoded.errors[1].contains("time 1 is"));
    let [start, choice, done, fatal] = decoded.records.as_slice() else {
        panic!("4 events, got {}", decoded.records.len());
    };
    assert_eq!(start.time_unix_nano, T0 + 1_000_000_000);
    assert_eq!(
        (start.level, &start.kind),
        (Level::Info, &EventKind::AgentStart)
    );
    assert_eq!(start.message, "researcher starts");
    assert_eq!(start.resource.service_name, "crew");
    assert_eq!(
        start.trace_id.map(|t| t.to_string()).as_deref(),
        Some("5b8efff798038103d269b633813fc60c")
    );
    assert_eq!(
        start.span_id.map(|s| s.to_string()).as_deref(),
        Some("eee19b7ec3c1b174")
    );
    assert_eq!(start.session_id.as_deref(), Some("conv_42"));
    assert_eq!(start.agent_id.as_deref(), Some("asst_7"));
    assert_eq!(start.correlation_id.as_deref(), Some("req-1"));
    assert_eq!(start.framework.as_deref(), Some("crewai"));
    assert_eq!(
        start.scope.as_deref(),
        Some("opentelemetry.instrumentation.crewai")
    );
    // The raw attributes stay.
    assert_eq!(
        start.attributes.get("gen_ai.agent.id"),
        Some(&AttributeValue::from("asst_7"))
    );
    // No time: the observed time. A structured body: its JSON text. The name from the
    // `event.name` attribute.
    assert_eq!(choice.time_unix_nano, T0 + 2_000_000_000);
    assert_eq!(choice.message, r#"{"content":"boom"}"#);
    assert_eq!(choice.kind, EventKind::Custom("gen_ai.choice".into()));
    assert_eq!((choice.level, choice.trace_id), (Level::Error, None));
    assert_eq!(choice.session_id.as_deref(), Some("s-2"));
    // No time at all: the time of receipt. agentrace's own levels and type attribute.
    assert_eq!(done.time_unix_nano, NOW);
    assert_eq!(
        (done.level, &done.kind),
        (Level::Success, &EventKind::TaskComplete)
    );
    assert_eq!(done.framework.as_deref(), Some("rig"));
    assert_eq!(
        (fatal.level, &fatal.kind, fatal.message.as_str()),
        (Level::Critical, &EventKind::Log, "")
    );
    Ok(())
}
