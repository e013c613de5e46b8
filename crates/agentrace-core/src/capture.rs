//! Whether agentrace's own helpers record message content — prompts, responses, tool
//! arguments and results — as the OpenTelemetry GenAI instrumentations decide it: from
//! `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, off unless `true`. Content is often
//! personal or secret; recording it is the application's choice, made once.
//!
//! ```
//! use agentrace_core::capture;
//!
//! capture::set_message_content(false);
//! assert!(!capture::message_content());
//! agentrace_core::events::tool_call("web_search", r#"{"q": "a private question"}"#);
//! // The event says which tool was called, not with what.
//! ```

use std::sync::atomic::{AtomicU8, Ordering};

/// The variable the OpenTelemetry GenAI instrumentations read.
pub const CAPTURE_MESSAGE_CONTENT: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

const UNSET: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNSET);

/// Whether helpers record message content: as set by [`set_message_content`], else
/// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` (read once), else no.
pub fn message_content() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => {
            let on = crate::env::value(&crate::env::process, CAPTURE_MESSAGE_CONTENT)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
            // A concurrent `set_message_content` wins over the environment.
            let _ = STATE.compare_exchange(
                UNSET,
                if on { ON } else { OFF },
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            STATE.load(Ordering::Relaxed) == ON
        }
    }
}

/// Overrides the environment for the whole process.
pub fn set_message_content(capture: bool) {
    STATE.store(if capture { ON } else { OFF }, Ordering::Relaxed);
}
