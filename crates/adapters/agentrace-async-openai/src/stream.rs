//! A streamed reply observed as it passes: its server-sent events are read for the time to the
//! first chunk, the chunks' model, finish reasons and text, and the usage of the final chunk;
//! the bytes reach async-openai unchanged and unbuffered.

use std::pin::Pin;
use std::task::{Context, Poll};

use agentrace_core::model_call::ModelCall;
use futures_util::Stream;
use http_body_util::BodyDataStream;
use http_body_util::BodyExt;
use reqwest::Body;
use serde_json::Value;

use crate::response::Reply;

/// The body of a streamed reply, recording onto its call. The call ends at `data: [DONE]`,
/// at the end of the body, on an error (`stream_error`), or when async-openai drops the stream
/// (a consumer that stopped reading): with what arrived until then.
pub(crate) struct Observed {
    body: Pin<Box<BodyDataStream<Body>>>,
    call: Option<ModelCall>,
    /// An event line not yet complete.
    line: Vec<u8>,
    reply: Reply,
}

impl Observed {
    pub(crate) fn new(body: Body, call: ModelCall) -> Self {
        Self {
            body: Box::pin(body.into_data_stream()),
            call: Some(call),
            line: Vec::new(),
            reply: Reply::default(),
        }
    }

    /// Reads the complete lines of `bytes`.
    fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.event_line(&line);
            } else {
                self.line.push(byte);
            }
        }
    }

    fn event_line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let data = data.trim_ascii();
        if data == b"[DONE]" {
            self.finish();
            return;
        }
        let Ok(chunk) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        if let Some(call) = &mut self.call {
            call.chunk_received();
        }
        self.reply.add(&chunk, "delta");
    }

    fn finish(&mut self) {
        if let Some(call) = self.call.take() {
            call.finish(&self.reply.as_model_response());
        }
    }
}

impl Stream for Observed {
    type Item = Result<bytes::Bytes, reqwest::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.body.as_mut().poll_next(cx);
        match &next {
            Poll::Ready(Some(Ok(bytes))) => self.feed(bytes),
            Poll::Ready(Some(Err(error))) => {
                if let Some(call) = self.call.take() {
                    call.fail("stream_error", &error.to_string());
                }
            }
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
