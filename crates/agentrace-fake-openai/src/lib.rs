//! # agentrace-fake-openai
//!
//! A local OpenAI-compatible server for tests, so that real clients (the `openai` Python
//! package and its instrumentations, Rust clients and the adapters built on them) can be run
//! without a paid API. It answers, in the shapes OpenAI's API documents:
//!
//! | route | answers |
//! |---|---|
//! | `POST /v1/chat/completions` | a `chat.completion`; with `stream: true` its chunks as server-sent events, with `stream_options.include_usage` a last chunk carrying the usage |
//! | `POST /v1/embeddings` | one vector of [`DIMENSIONS`] per input, as floats or base64 (`encoding_format`) |
//! | anything else | 404 with OpenAI's error body |
//!
//! Each request takes the next scripted [`Reply`] ([`FakeOpenAi::script`]): a text or tool
//! calls with their [`Usage`] (input, output, cached and reasoning tokens), embeddings, or an
//! error such as a 429. With nothing scripted, chat answers `"ok"` with
//! [`DEFAULT_CHAT_USAGE`] and embeddings report [`DEFAULT_EMBEDDING_TOKENS`]. A scripted reply
//! that does not fit the route (an embedding for a chat request) is answered with a 500 that says
//! so, and the test fails loudly. Every request is recorded ([`FakeOpenAi::requests`]), so a
//! test can assert that a budget stop sent none.
//!
//! It depends on no crate of agentrace's: it stands where the provider stands.
//!
//! ## Example
//!
//! ```
//! use agentrace_fake_openai::{FakeOpenAi, Reply, Usage};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fake = FakeOpenAi::start().await?;
//! fake.script([Reply::text("Paris.", Usage::new(12, 3).with_cache_read(4))]);
//! // Point the client at it: base_url = fake.base_url(), any API key.
//! let client = reqwest::Client::new();
//! let answer = client
//!     .post(format!("{}/chat/completions", fake.base_url()))
//!     .body(r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Capital of France?"}]}"#)
//!     .send()
//!     .await?
//!     .text()
//!     .await?;
//! let answer: serde_json::Value = serde_json::from_str(&answer)?;
//! assert_eq!(answer["choices"][0]["message"]["content"], "Paris.");
//! assert_eq!(answer["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
//! assert_eq!(fake.request_count(), 1);
//! fake.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod chat;
mod embeddings;
mod reply;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use embeddings::DIMENSIONS;
pub use reply::{DEFAULT_CHAT_USAGE, DEFAULT_EMBEDDING_TOKENS, Reply, ToolCall, Usage};

use chat::{Answer, ChatRequest, Completion};
use reply::ReplyBody;

/// A request the fake received.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// The path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The JSON body (`null` if it was not JSON).
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<RecordedRequest>>,
    ids: AtomicU64,
}

impl Shared {
    fn record(&self, path: &str, body: &Value) {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(RecordedRequest {
                path: path.to_owned(),
                body: body.clone(),
            });
    }

    /// The next scripted reply if it fits (`fits`), else the reason it does not.
    fn next(&self, fits: fn(&Reply) -> bool, default: Reply) -> Result<Reply, String> {
        let mut script = self.script.lock().unwrap_or_else(PoisonError::into_inner);
        match script.front() {
            None => Ok(default),
            Some(reply) if fits(reply) => Ok(script.pop_front().unwrap_or(default)),
            Some(reply) => Err(format!(
                "the fake's next scripted reply ({:?}) does not answer this route",
                reply.body
            )),
        }
    }

    fn next_id(&self, prefix: &str) -> String {
        format!("{prefix}-fake{}", self.ids.fetch_add(1, Ordering::Relaxed))
    }
}

/// A running fake; stops when [`shut down`](FakeOpenAi::shutdown) or dropped.
#[derive(Debug)]
pub struct FakeOpenAi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl FakeOpenAi {
    /// Starts the fake on a free port of 127.0.0.1, on the current Tokio runtime.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .route("/v1/embeddings", post(embeddings))
            .fallback(not_found)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = served.await {
                eprintln!("agentrace-fake-openai: the server stopped: {error}");
            }
        });
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients take (`OPENAI_BASE_URL`, `base_url=`): `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues replies; each request takes the next one, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared
            .script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(replies);
    }

    /// How many scripted replies no request has taken yet.
    pub fn unused_replies(&self) -> usize {
        self.shared
            .script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Every request received so far, in order (those to routes it does not serve too).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests it received.
    pub fn request_count(&self) -> usize {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Stops serving and waits until it has.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// OpenAI's error body with `status`.
fn error(status: u16, kind: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": kind}});
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn json_response(body: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The request's JSON, recorded (`null` if it is not JSON).
fn read(shared: &Shared, path: &str, body: &Bytes) -> Result<Value, serde_json::Error> {
    let parsed = serde_json::from_slice::<Value>(body);
    shared.record(path, parsed.as_ref().unwrap_or(&Value::Null));
    parsed
}

/// The 400 OpenAI answers a body that is not JSON with.
fn not_json(e: &serde_json::Error) -> Response {
    error(
        400,
        "invalid_request_error",
        &format!("the body is not JSON: {e}"),
    )
}

async fn chat_completions(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request = match read(&shared, "/v1/chat/completions", &body) {
        Ok(request) => request,
        Err(e) => return not_json(&e),
    };
    let reply = match shared.next(Reply::is_chat, Reply::text("ok", DEFAULT_CHAT_USAGE)) {
        Ok(reply) => reply,
        Err(why) => return error(500, "fake_misuse", &why),
    };
    let asked = ChatRequest::read(&request);
    let answer = match &reply.body {
        ReplyBody::Text(text) => Answer::Text(text),
        ReplyBody::ToolCalls(calls) => Answer::ToolCalls(calls),
        ReplyBody::Error {
            status,
            kind,
            message,
        } => return error(*status, kind, message),
        ReplyBody::Embedding => return error(500, "fake_misuse", "an embedding for a chat"),
    };
    let completion = Completion {
        id: shared.next_id("chatcmpl"),
        created: unix_now(),
        model: reply.response_model.as_deref().unwrap_or(&asked.model),
        answer,
        usage: reply.usage,
    };
    if asked.stream {
        (
            [(header::CONTENT_TYPE, "text/event-stream")],
            completion.stream(asked.include_usage),
        )
            .into_response()
    } else {
        json_response(&completion.whole())
    }
}

async fn embeddings(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request = match read(&shared, "/v1/embeddings", &body) {
        Ok(request) => request,
        Err(e) => return not_json(&e),
    };
    let reply = match shared.next(
        Reply::is_embedding,
        Reply::embedding(DEFAULT_EMBEDDING_TOKENS),
    ) {
        Ok(reply) => reply,
        Err(why) => return error(500, "fake_misuse", &why),
    };
    if let ReplyBody::Error {
        status,
        kind,
        message,
    } = &reply.body
    {
        return error(*status, kind, message);
    }
    let model = reply
        .response_model
        .clone()
        .unwrap_or_else(|| request["model"].as_str().unwrap_or("unknown").to_owned());
    json_response(&embeddings::answer(&request, &model, reply.usage.input))
}

async fn not_found(State(shared): State<Arc<Shared>>, uri: Uri, body: Bytes) -> Response {
    let _ = read(&shared, uri.path(), &body);
    error(
        404,
        "invalid_request_error",
        &format!("the fake OpenAI server has no route {}", uri.path()),
    )
}
