//! The fake answers as OpenAI documents: each shape a client or an instrumentation reads.

use agentrace_fake_openai::{DIMENSIONS, FakeOpenAi, Reply, ToolCall, Usage};
use base64::Engine as _;
use serde_json::{Value, json};

async fn post(fake: &FakeOpenAi, route: &str, body: &Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}{route}", fake.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the fake answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

/// The `data:` payloads of an event stream, `[DONE]` last.
fn events(stream: &str) -> Vec<&str> {
    stream
        .split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| event.strip_prefix("data: ").expect("a data line"))
        .collect()
}

fn chat(stream: bool, include_usage: bool) -> Value {
    let mut body = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Capital of France?"}],
        "stream": stream
    });
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

#[tokio::test]
async fn a_whole_completion_reports_every_kind_of_token() {
    let fake = FakeOpenAi::start().await.expect("the fake starts");
    fake.script([Reply::text(
        "Paris.",
        Usage::new(120, 30).with_cache_read(100).with_reasoning(20),
    )
    .responding_as("gpt-4o-mini-2024-07-18")]);
    let (status, body) = post(&fake, "/chat/completions", &chat(false, false)).await;
    assert_eq!(status, 200);
    let answer = json(&body);
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(answer["choices"][0]["message"]["content"], "Paris.");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    let usage = &answer["usage"];
    assert_eq!(usage["prompt_tokens"], 120);
    assert_eq!(usage["completion_tokens"], 30);
    assert_eq!(usage["total_tokens"], 150);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 100);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 20);
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(requests[0].body["model"], "gpt-4o-mini");
}

#[tokio::test]
async fn a_stream_carries_usage_only_when_asked() {
    let fake = FakeOpenAi::start().await.expect("the fake starts");
    fake.script([
        Reply::text("It is Paris.", Usage::new(12, 4)),
        Reply::text("It is Paris.", Usage::new(12, 4)),
    ]);

    let (_, with_usage) = post(&fake, "/chat/completions", &chat(true, true)).await;
    let events_with = events(&with_usage);
    assert_eq!(events_with.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = events_with[..events_with.len() - 1]
        .iter()
        .map(|c| json(c))
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "It is Paris.");
    let usage_chunk = chunks.last().expect("as scripted");
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"]["prompt_tokens"], 12);
    assert_eq!(usage_chunk["usage"]["completion_tokens"], 4);
    // Every other chunk says `usage: null`, as OpenAI's do when usage is asked for.
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c.get("usage") == Some(&Value::Null))
    );
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );

    let (_, without) = post(&fake, "/chat/completions", &chat(true, false)).await;
    let events_without = events(&without);
    assert!(
        events_without[..events_without.len() - 1]
            .iter()
            .all(|c| json(c).get("usage").is_none()),
        "no usage unless stream_options.include_usage: {without}"
    );
}

#[tokio::test]
async fn tool_calls_whole_and_streamed() {
    let fake = FakeOpenAi::start().await.expect("the fake starts");
    let call = || {
        Reply::tool_call(
            "call_1",
            "get_weather",
            r#"{"city":"Paris"}"#,
            Usage::new(50, 9),
        )
    };
    fake.script([call(), call()]);
    let (_, whole) = post(&fake, "/chat/completions", &chat(false, false)).await;
    let whole = json(&whole);
    assert_eq!(whole["choices"][0]["finish_reason"], "tool_calls");
    let calls = &whole["choices"][0]["message"]["tool_calls"];
    assert_eq!(calls[0]["id"], "call_1");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert_eq!(calls[0]["function"]["arguments"], r#"{"city":"Paris"}"#);

    let (_, streamed) = post(&fake, "/chat/completions", &chat(true, true)).await;
    let events = events(&streamed);
    let arguments: String = events[..events.len() - 1]
        .iter()
        .map(|c| json(c))
        .filter_map(|c| {
            c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(arguments, r#"{"city":"Paris"}"#);
    assert!(streamed.contains(r#""finish_reason":"tool_calls""#));
    assert!(streamed.contains(r#""name":"get_weather""#));
}

#[tokio::test]
async fn several_tool_calls_at_once() {
    let fake = FakeOpenAi::start().await.expect("the fake starts");
    let calls = ["a", "b"].map(|name| ToolCall {
        id: format!("call_{name}"),
        name: name.to_owned(),
        arguments: "{}".to_owned(),
    });
    fake.script([Reply::tool_calls(calls.to_vec(), Usage::new(5, 5))]);
    let (_, whole) = post(&fake, "/chat/completions", &chat(false, false)).await;
    let names: Vec<Value> = json(&whole)["choices"][0]["message"]["tool_calls"]
        .as_array()
        .expect("as scripted")
        .iter()
        .map(|c| c["function"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("a"), json!("b")]);
}

#[tokio::test]
async fn embeddings_as_floats_or_base64() {
    let fake = FakeOpenAi::start().await.expect("the fake starts");
    fake.script([Reply::embedding(7), Reply::embedding(3)]);
    let (_, floats) = post(
        &fake,
        "/embeddings",
        &json!({"model": "text-embedding-3-small", "input": ["a", "b"]}),
    )
    .await;
    let floats = json(&floats);
    assert_eq!(floats["data"].as_array().expect("as scripted").len(), 2);
    assert_eq!(
        floats["data"][1]["embedding"]
            .as_array()
            .expect("as scripted")
            .len(),
        DIMENSIONS
    );
    assert_eq!(floats["usage"]["prompt_tokens"], 7);

    let (_, packed) = post(
        &fake,
        "/embeddings",
        &json!({"model": "text-embedding-3-small", "input": "a", "encoding_format": "base64"}),
    )
    .await;
    let packed = json(&packed);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(
            packed["data"][0]["embedding"]
                .as_str()
                .expect("as scripted"),
        )
        .expect("as scripted");
    assert_eq!(bytes.len(), DIMENSIONS * 4);
    assert_eq!(packed["usage"]["total_tokens"], 3);
    assert_eq!(packed["model"], "text-embedding-3-small");
}

#[tokio::test]
async fn errors_and_misuse_answer_as_errors() {
    let fake = FakeOpenAi::start().await.expect("the fake starts");
    fake.script([Reply::rate_limited(), Reply::embedding(1)]);
    let (status, body) = post(&fake, "/chat/completions", &chat(false, false)).await;
    assert_eq!(status, 429);
    assert_eq!(json(&body)["error"]["type"], "rate_limit_exceeded");

    // An embedding scripted where a chat comes: a 500 that says so, and the reply stays queued.
    let (status, body) = post(&fake, "/chat/completions", &chat(false, false)).await;
    assert_eq!(status, 500);
    assert!(body.contains("does not answer this route"), "{body}");
    assert_eq!(fake.unused_replies(), 1);

    let (status, _) = post(&fake, "/responses", &json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(fake.requests()[2].path, "/v1/responses");

    let response = reqwest::Client::new()
        .post(format!("{}/chat/completions", fake.base_url()))
        .body("not json")
        .send()
        .await
        .expect("as scripted");
    assert_eq!(response.status().as_u16(), 400);
    // Every request is recorded, the unparsable one as null.
    assert_eq!(fake.request_count(), 4);
    assert_eq!(fake.requests()[3].body, Value::Null);
}

#[tokio::test]
async fn unscripted_requests_get_the_defaults_and_shutdown_stops_serving() {
    let fake = FakeOpenAi::start().await.expect("the fake starts");
    let (_, body) = post(&fake, "/chat/completions", &chat(false, false)).await;
    let answer = json(&body);
    assert_eq!(answer["choices"][0]["message"]["content"], "ok");
    assert_eq!(answer["usage"]["prompt_tokens"], 10);
    let addr = fake.addr();
    fake.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
