//! The library's helpers record message content only when asked
//! (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, or `capture::set_message_content`).

use agentrace_core::testing::MemorySink;
use agentrace_core::{AttributeValue, Telemetry, capture, events};
use tracing_subscriber::prelude::*;

fn tool_call_arguments() -> Option<String> {
    let memory = MemorySink::new();
    let (layer, guard) = Telemetry::builder()
        .with_sink(memory.clone())
        .build()
        .expect("builds");
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        events::tool_call("web_search", r#"{"q": "my private question"}"#);
    });
    guard.flush().expect("flushes");
    let events = memory.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]
            .attributes
            .get("gen_ai.tool.name")
            .and_then(AttributeValue::as_str),
        Some("web_search")
    );
    events[0]
        .attributes
        .get("gen_ai.tool.call.arguments")
        .and_then(AttributeValue::as_str)
        .map(str::to_owned)
}

#[test]
fn tool_arguments_are_recorded_only_when_content_capture_is_on() {
    // The environment of the test run does not set the variable: off by default.
    assert!(std::env::var(capture::CAPTURE_MESSAGE_CONTENT).is_err());
    assert!(!capture::message_content());
    assert_eq!(tool_call_arguments(), None);
    capture::set_message_content(true);
    assert_eq!(
        tool_call_arguments().as_deref(),
        Some(r#"{"q": "my private question"}"#)
    );
    capture::set_message_content(false);
    assert_eq!(tool_call_arguments(), None);
}
