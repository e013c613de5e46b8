//! Scores from the packages teams already use, against a real `agentrace serve` with an API
//! token: the OpenTelemetry Python SDK's `gen_ai.evaluation.result` (a span event, a log
//! record in a span, a log record naming a response sent before its span), Phoenix's own
//! client (`arize-phoenix-client`) annotating spans, traces and sessions, and the Langfuse SDK
//! (v5) sending its traces and scores with agentrace as its host. Every check reads back
//! through the REST API.

use agentrace_core::SpanKind;
use agentrace_core::cost::{PriceBook, PriceTable, compute_cost};
use agentrace_integration::serve::{installed, python_endpoints, run_python, trace_spans_as};
use agentrace_integration::{eventually, python_client};
use agentrace_server::{RunningServer, Server, ServerConfig};
use serde_json::{Value as Json, json};

const TOKEN: &str = "quality-token";

async fn start(dir: &std::path::Path) -> RunningServer {
    let mut config = ServerConfig::new(dir).with_any_free_ports();
    config.api_token = Some(TOKEN.into());
    Server::start(config).await.expect("the server starts")
}

/// `GET /api/v1{path}` with the token: its JSON.
async fn get(server: &RunningServer, path: &str) -> Json {
    let url = format!("http://{}/api/v1{path}", server.app_addr());
    let answer = reqwest::Client::new()
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the API answers");
    assert_eq!(answer.status(), 200, "{url}");
    answer.json().await.expect("JSON")
}

/// The scores `GET /api/v1/scores?{query}` lists (one page of up to 1,000).
async fn scores(server: &RunningServer, query: &str) -> Vec<Json> {
    get(server, &format!("/scores?limit=1000&{query}")).await["scores"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The one score named `name` among `scores`.
fn named<'a>(scores: &'a [Json], name: &str) -> &'a Json {
    let found: Vec<&Json> = scores.iter().filter(|s| s["name"] == name).collect();
    assert_eq!(found.len(), 1, "one {name} in {scores:?}");
    found[0]
}

/// Waits until `query` lists `n` scores; returns them.
async fn wait_for_scores(server: &RunningServer, query: &str, n: usize) -> Vec<Json> {
    eventually(
        &format!("{n} scores of {query}"),
        || async { scores(server, query).await.len() >= n },
        String::new,
    )
    .await;
    scores(server, query).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_sdk_evaluation_results_are_scores_of_what_they_judge() {
    let Some(python) = installed(python_client(), "the OpenTelemetry Python SDK") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    for (protocol, endpoint) in python_endpoints(&server) {
        let sent = run_python(
            &python,
            "evaluation_results.py",
            &[
                "--endpoint",
                &endpoint,
                "--protocol",
                protocol,
                "--token",
                TOKEN,
            ],
        )
        .await;
        let trace_id = sent["trace_id"].as_str().expect("a trace id");
        let span_id = sent["span_id"].as_str().expect("a span id");
        // The span event's and the in-span record's at once; the one naming a response once
        // its span arrived (it came first).
        let found = wait_for_scores(&server, &format!("trace_id={trace_id}"), 3).await;
        assert_eq!(found.len(), 3, "{protocol}: {found:?}");
        for score in &found {
            assert_eq!(score["span_id"], span_id, "{protocol}: {score}");
            assert_eq!(score["trace_id"], trace_id, "{protocol}: {score}");
            assert_eq!(score["source"], "eval", "{protocol}: {score}");
        }
        let relevance = named(&found, "relevance");
        assert_eq!(relevance["value"], 0.9);
        assert_eq!(relevance["explanation"], "answers the question");
        let toxicity = named(&found, "toxicity");
        assert_eq!(
            (
                &toxicity["label"],
                &toxicity["annotator_kind"],
                &toxicity["author"]
            ),
            (&json!("clean"), &json!("llm"), &json!("my-evals"))
        );
        let faithfulness = named(&found, "faithfulness");
        assert_eq!(faithfulness["value"], 0.25);
        assert_eq!(
            faithfulness["metadata"]["gen_ai.response.id"],
            sent["response_id"]
        );
    }
    let status = get(&server, "/status").await;
    let results = &status["evaluation_results"];
    assert_eq!(results["scored"], 6, "{status}");
    assert_eq!(
        results["failed"], 2,
        "the judge that timed out, each run: {status}"
    );
    assert_eq!(results["awaiting_response"], 0, "{status}");
    server.shutdown().await.expect("a clean stop");
}

/// One OTLP/JSON span of `trace` (`span`, in session `session`), with the token.
async fn send_span(server: &RunningServer, trace: &str, span: &str, session: &str) {
    let now = agentrace_core::now_unix_nano();
    let body = json!({"resourceSpans": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "annotated"}}]},
        "scopeSpans": [{"spans": [{"traceId": trace, "spanId": span, "name": "chat gpt-4o",
            "kind": 3, "startTimeUnixNano": (now - 1_000_000_000).to_string(),
            "endTimeUnixNano": now.to_string(), "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                {"key": "session.id", "value": {"stringValue": session}}]}]}]}]});
    let answer = reqwest::Client::new()
        .post(format!("http://{}/v1/traces", server.otlp_http_addr()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("the receiver answers");
    assert_eq!(answer.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phoenix_client_annotations_are_scores() {
    let Some(python) = installed(python_client(), "arize-phoenix-client") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    let (trace, span, session) = (
        "6e0c63257de34c92bf9efcd03927272e",
        "7a2190356c3fc94b",
        "sess-px-1",
    );
    send_span(&server, trace, span, session).await;
    let base = format!("http://{}", server.app_addr());
    let said = run_python(
        &python,
        "phoenix_annotations.py",
        &[
            "--base-url",
            &base,
            "--api-key",
            TOKEN,
            "--span-id",
            span,
            "--trace-id",
            trace,
            "--session-id",
            session,
        ],
    )
    .await;
    // Logged twice under one name, span and identifier: one annotation, the second's.
    assert_eq!(said["first"]["id"], said["second"]["id"], "{said}");
    let read = said["read"].as_array().expect("annotations read back");
    let correctness = named(read, "correctness");
    assert_eq!(
        correctness["result"],
        json!({"label": "correct", "score": 1.0, "explanation": "answers both parts"}),
        "{said}"
    );
    assert_eq!(
        (
            &correctness["annotator_kind"],
            &correctness["identifier"],
            &correctness["span_id"]
        ),
        (&json!("LLM"), &json!("judge-run"), &json!(span))
    );
    assert_eq!(correctness["metadata"], json!({"judge": "gpt-4o"}));
    assert_eq!(named(read, "tone")["result"]["label"], "polite");
    assert!(
        read.iter().all(|a| a["name"] != "note"),
        "the client leaves notes out: {said}"
    );

    // In agentrace: the span's (found by its trace, though Phoenix named the span alone), the
    // trace's and the session's, all annotations.
    let of_trace = scores(&server, &format!("trace_id={trace}")).await;
    let mut names: Vec<&str> = of_trace.iter().filter_map(|s| s["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["correctness", "note", "task_done", "tone"],
        "{of_trace:?}"
    );
    assert!(of_trace.iter().all(|s| s["source"] == "annotation"));
    let note = named(&of_trace, "note");
    assert_eq!(
        (&note["data_type"], &note["label"]),
        (&json!("text"), &json!("reviewed by ana"))
    );
    let task = named(&of_trace, "task_done");
    assert_eq!(
        (&task["value"], &task["label"], &task["annotator_kind"]),
        (&json!(1.0), &json!("yes"), &json!("code"))
    );
    let helpful = scores(&server, &format!("session_id={session}")).await;
    assert_eq!(named(&helpful, "helpful")["value"], 1.0);
    server.shutdown().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langfuse_sdk_traces_and_scores_land_normalized_and_priced() {
    let Some(python) = installed(python_client(), "the Langfuse SDK") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    let base = format!("http://{}", server.app_addr());
    let sent = run_python(
        &python,
        "langfuse_app.py",
        &[
            "--base-url",
            &base,
            "--public-key",
            "pk-lf-agentrace",
            "--secret-key",
            TOKEN,
        ],
    )
    .await;
    let trace_id = sent["trace_id"].as_str().expect("a trace id");
    let spans = trace_spans_as(&server, trace_id, Some(TOKEN)).await;
    assert_eq!(spans.len(), 2, "{spans:?}");
    let llm = spans
        .iter()
        .find(|s| s.kind == SpanKind::Llm)
        .expect("the generation");
    assert_eq!(
        llm.span_id.to_string(),
        sent["observation_id"].as_str().unwrap_or_default()
    );
    assert_eq!(llm.model(), Some("gpt-4o"));
    assert_eq!((llm.usage.input_tokens, llm.usage.output_tokens), (100, 20));
    assert_eq!(llm.session_id.as_deref(), Some("sess-lf-1"));
    assert_eq!(llm.user_id.as_deref(), Some("user-1"));
    let price = PriceTable::builtin()
        .price(llm.provider.as_deref(), "gpt-4o", llm.end_time_unix_nano)
        .expect("gpt-4o has a price");
    assert_eq!(
        llm.cost,
        Some(compute_cost(&llm.usage, price.price)),
        "priced by agentrace"
    );

    let found = scores(&server, &format!("trace_id={trace_id}")).await;
    assert_eq!(found.len(), 5, "{found:?}");
    let relevance = named(&found, "relevance");
    assert_eq!(
        (
            &relevance["span_id"],
            &relevance["value"],
            &relevance["explanation"]
        ),
        (&sent["observation_id"], &json!(0.9), &json!("on topic"))
    );
    let helpful = named(&found, "helpful");
    assert_eq!(
        (&helpful["data_type"], &helpful["label"]),
        (&json!("boolean"), &json!("true"))
    );
    let quality = named(&found, "quality");
    assert_eq!(
        (
            &quality["data_type"],
            &quality["label"],
            &quality["span_id"]
        ),
        (&json!("categorical"), &json!("good"), &Json::Null)
    );
    assert_eq!(named(&found, "overall")["value"], 0.8);
    let feedback = named(&found, "user_feedback");
    assert_eq!(
        (&feedback["explanation"], &feedback["metadata"]["src"]),
        (&json!("thumbs up"), &json!("ui"))
    );
    server.shutdown().await.expect("a clean stop");
}
