//! A streamed answer observed as it passes: the first chunk sets the time to first chunk, the
//! end carries the usage (when asked for) and the finish reason.

use std::pin::Pin;
use std::task::{Context, Poll};

use agentrace_core::model_call::{ModelCall, ModelResponse};
use futures_util::Stream;
use genai::chat::{ChatStream, ChatStreamEvent};

use crate::response;

/// genai's chat stream, recording onto its call. The call ends at the stream's `End` event, at
/// the end of the stream, on an error (`stream_error`), or when the stream is dropped.
pub struct TracedChatStream {
    inner: ChatStream,
    call: Option<ModelCall>,
}

impl std::fmt::Debug for TracedChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedChatStream")
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

impl TracedChatStream {
    pub(crate) fn new(inner: ChatStream, call: ModelCall) -> Self {
        Self {
            inner,
            call: Some(call),
        }
    }

    fn observe(&mut self, event: &genai::Result<ChatStreamEvent>) {
        let Some(call) = &mut self.call else {
            return;
        };
        match event {
            Ok(
                ChatStreamEvent::Chunk(_)
                | ChatStreamEvent::ReasoningChunk(_)
                | ChatStreamEvent::ToolCallChunk(_),
            ) => call.chunk_received(),
            Ok(ChatStreamEvent::End(end)) => {
                if let Some(call) = self.call.take() {
                    let text = end.captured_content.as_ref().map(|c| c.texts().join(""));
                    call.finish(&ModelResponse {
                        id: end.captured_response_id.as_deref(),
                        usage: end.captured_usage.as_ref().and_then(response::usage),
                        finish_reasons: end.captured_stop_reason.iter().map(|r| r.raw()).collect(),
                        text: text.as_deref(),
                        ..ModelResponse::default()
                    });
                }
            }
            Err(error) => {
                if let Some(call) = self.call.take() {
                    call.fail("stream_error", &error.to_string());
                }
            }
            Ok(_) => {}
        }
    }
}

impl Stream for TracedChatStream {
    type Item = genai::Result<ChatStreamEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        match &next {
            Poll::Ready(Some(event)) => self.observe(event),
            Poll::Ready(None) => {
                if let Some(call) = self.call.take() {
                    call.finish(&ModelResponse::default());
                }
            }
            Poll::Pending => {}
        }
        next
    }
}
