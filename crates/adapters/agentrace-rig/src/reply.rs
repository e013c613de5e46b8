//! A reply observed frame by frame as rig reads it: the first frame of a stream sets the time to
//! first chunk, frames that name why the model stopped give the finish reasons, a failure gives
//! the error and its type. rig records usage, ids and the responding model on its span itself.

use std::pin::Pin;
use std::task::{Context, Poll};

use agentrace_core::model_call::{ModelCall, ModelResponse};
use futures_util::Stream;
use rig_core::error::ProviderError;
use rig_core::wasm_compat::WasmBoxedStream;
use rig_core::wire::{Mode, WireFrame};
use serde_json::Value;

/// Keys of a finish reason, by provider: OpenAI chat and its dialects, Anthropic, Gemini.
const FINISH_KEYS: [&str; 3] = ["finish_reason", "stop_reason", "finishReason"];

/// How deep a frame is searched for a finish reason (they sit at depth 1 to 3).
const MAX_DEPTH: usize = 4;

/// A reply's frames, recording onto the call. rig stops reading at the provider's end marker
/// without asking for more, so the call finishes when the frames end, fail, or are dropped.
pub(crate) struct Observed {
    frames: WasmBoxedStream<'static, Result<WireFrame, ProviderError>>,
    call: Option<ModelCall>,
    streaming: bool,
    finish_reasons: Vec<String>,
}

impl Observed {
    pub(crate) fn new(
        frames: WasmBoxedStream<'static, Result<WireFrame, ProviderError>>,
        call: ModelCall,
        mode: Mode,
    ) -> Self {
        Self {
            frames,
            call: Some(call),
            streaming: mode == Mode::Streaming,
            finish_reasons: Vec::new(),
        }
    }

    fn observe(&mut self, frame: &Result<WireFrame, ProviderError>) {
        match frame {
            Ok(frame) => {
                if self.streaming
                    && let Some(call) = &mut self.call
                {
                    call.chunk_received();
                }
                finish_reasons(&frame.as_str(), &mut self.finish_reasons);
            }
            Err(error) => {
                if let Some(call) = self.call.take() {
                    call.fail(&error_type(error), &error.to_string());
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(call) = self.call.take() {
            call.finish(&ModelResponse {
                finish_reasons: self.finish_reasons.iter().map(String::as_str).collect(),
                ..ModelResponse::default()
            });
        }
    }
}

impl Stream for Observed {
    type Item = Result<WireFrame, ProviderError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.frames.as_mut().poll_next(cx);
        match &next {
            Poll::Ready(Some(frame)) => self.observe(frame),
            Poll::Ready(None) => self.finish(),
            Poll::Pending => {}
        }
        next
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Adds the finish reasons `frame` names to `reasons` (once each, in order). Only a frame
/// that mentions one of the keys is parsed.
fn finish_reasons(frame: &str, reasons: &mut Vec<String>) {
    if !FINISH_KEYS.iter().any(|key| frame.contains(key)) {
        return;
    }
    if let Ok(document) = serde_json::from_str::<Value>(frame) {
        collect(&document, reasons, 0);
    }
}

fn collect(value: &Value, reasons: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                match value {
                    Value::String(reason)
                        if FINISH_KEYS.contains(&key.as_str()) && !reasons.contains(reason) =>
                    {
                        reasons.push(reason.clone());
                    }
                    Value::Object(_) | Value::Array(_) => collect(value, reasons, depth + 1),
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, reasons, depth + 1);
            }
        }
        _ => {}
    }
}

/// The `error.type` of a failed call: the HTTP status when the provider answered with one,
/// rig's classification of the failure otherwise (`http` for a transport failure such as a
/// refused connection or a timeout, `response`, `timeout`, …).
pub(crate) fn error_type(error: &ProviderError) -> String {
    match error.provider_response_status() {
        Some(status) => status.as_str().to_owned(),
        None => error.kind().code().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(frames: &[&str]) -> Vec<String> {
        let mut reasons = Vec::new();
        for frame in frames {
            finish_reasons(frame, &mut reasons);
        }
        reasons
    }

    #[test]
    fn finish_reasons_of_each_provider() {
        assert_eq!(
            reasons(&[
                r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}"#,
                r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
                "[DONE]",
            ]),
            ["tool_calls"]
        );
        assert_eq!(
            reasons(&[r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#]),
            ["end_turn"]
        );
        assert_eq!(
            reasons(&[r#"{"candidates":[{"finishReason":"STOP"}]}"#]),
            ["STOP"]
        );
    }

    #[test]
    fn text_that_only_mentions_a_key_is_no_reason() {
        assert!(reasons(&[r#"{"choices":[{"delta":{"content":"finish_reason"}}]}"#]).is_empty());
        assert!(reasons(&["finish_reason: not json"]).is_empty());
    }

    #[test]
    fn errors_are_typed_by_status_or_kind() {
        let limited = ProviderError::from_http_response(
            http_status(429),
            r#"{"error":{"message":"slow down"}}"#,
        );
        assert_eq!(error_type(&limited), "429");
        assert_eq!(error_type(&ProviderError::Truncated), "response");
    }

    fn http_status(code: u16) -> rig_core::http_client::StatusCode {
        rig_core::http_client::StatusCode::from_u16(code).expect("a valid status")
    }
}
