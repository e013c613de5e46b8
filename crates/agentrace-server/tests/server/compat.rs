//! The APIs of other products agentrace speaks, at their edges (their own clients are run in
//! the integration suite): Langfuse's v3/v4 ingestion batches and its Basic credentials,
//! Phoenix's refusals and version.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::*;

const TOKEN: &str = "compat-token";

async fn server() -> Result<TestServer> {
    TestServer::start(|c| c.api_token = Some(TOKEN.into())).await
}

fn basic(public: &str, secret: &str) -> String {
    let pair = format!("{public}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn post_json(t: &TestServer, path: &str, auth: &str, body: &Value) -> Result<Answer> {
    post(
        &t.app_url(path),
        JSON,
        &[("authorization", auth)],
        serde_json::to_vec(body)?,
    )
    .await
}

async fn score_names(t: &TestServer) -> Result<Vec<String>> {
    let bearer = format!("Bearer {TOKEN}");
    let page = get(&t.app_url("/api/v1/scores"), &[("authorization", &bearer)])
        .await?
        .json()?;
    Ok(page["scores"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect())
}

#[tokio::test]
async fn langfuse_ingestion_batches_score_each_score_create_and_refuse_the_rest() -> Result {
    let t = server().await?;
    let batch = json!({"batch": [
        {"id": "e1", "type": "score-create", "timestamp": "2026-11-25T10:00:00.000Z",
         "body": {"id": "s1", "traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "name": "accuracy",
                  "value": 0.5, "dataType": "NUMERIC"}},
        {"id": "e2", "type": "trace-create", "timestamp": "2026-11-25T10:00:00.000Z",
         "body": {"id": "t1"}},
        {"id": "e3", "type": "score-create", "timestamp": "2026-11-25T10:00:00.000Z",
         "body": {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "name": "accuracy"}}
    ], "metadata": {"sdk_name": "python", "sdk_version": "4.18.0"}});
    let answer = post_json(&t, "/api/public/ingestion", &basic("pk", TOKEN), &batch).await?;
    assert_eq!(answer.status, 207, "{}", answer.text());
    let body = answer.json()?;
    assert_eq!(body["successes"], json!([{"id": "e1", "status": 201}]));
    let errors = body["errors"].as_array().ok_or("errors")?;
    assert_eq!(
        errors.iter().map(|e| e["id"].clone()).collect::<Vec<_>>(),
        [json!("e2"), json!("e3")]
    );
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("OpenTelemetry"))
    );
    assert!(
        errors[1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("value"))
    );
    assert_eq!(score_names(&t).await?, ["accuracy"]);

    // One score, as Langfuse's REST API takes it.
    let one = json!({"sessionId": "s-9", "name": "csat", "value": "happy"});
    let answer = post_json(&t, "/api/public/scores", &basic("pk", TOKEN), &one).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.json()?["id"].is_string());
    Ok(())
}

#[tokio::test]
async fn langfuse_needs_the_token_as_its_secret_key() -> Result {
    let t = server().await?;
    let score = json!([{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "name": "x", "value": 1}]);
    for auth in [
        basic("pk", "wrong"),
        format!("Bearer {TOKEN}x"),
        "Basic %%%".into(),
    ] {
        let answer = post_json(&t, "/api/public/scores", &auth, &score).await?;
        assert_eq!(answer.status, 401, "{auth}: {}", answer.text());
    }
    let answer = post(
        &t.app_url("/api/public/otel/v1/traces"),
        PROTOBUF,
        &[("authorization", &basic("pk", "wrong"))],
        protobuf(&llm_traces(1, 1)),
    )
    .await?;
    assert_eq!(answer.status, 401);
    assert!(score_names(&t).await?.is_empty());
    let answer = post(
        &t.app_url("/api/public/otel/v1/traces"),
        PROTOBUF,
        &[("authorization", &basic("pk", TOKEN))],
        protobuf(&llm_traces(1, 1)),
    )
    .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(t.stored(agentrace_sqlite::RecordKind::Spans)?, 1);
    let answer = post_json(&t, "/api/public/scores", &basic("pk", TOKEN), &score).await?;
    assert_eq!(answer.status, 202, "{}", answer.text());
    assert_eq!(answer.json()?, json!({"message": "Accepted"}));
    Ok(())
}

#[tokio::test]
async fn langfuse_routes_not_served_answer_as_langfuse_does_for_a_missing_thing() -> Result {
    let t = server().await?;
    let auth = basic("pk", TOKEN);
    for path in [
        "/api/public/v2/prompts/support-answer?label=production",
        "/api/public/datasets/eval-set",
        "/api/public/traces/4bf92f3577b34da6a3ce929d0e0e4736",
    ] {
        let answer = get(&t.app_url(path), &[("authorization", &auth)]).await?;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text());
        let body = answer.json()?;
        assert_eq!(body["error"], "LangfuseNotFoundError", "{path}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(path.split('?').next().unwrap_or_default())
                && message.contains("otel"),
            "{path}: {message}"
        );
    }
    let answer = post_json(&t, "/api/public/v2/prompts", &auth, &json!({"name": "p"})).await?;
    assert_eq!(answer.status, 404, "{}", answer.text());
    // Still behind the token, and the routes served are still served.
    let answer = get(
        &t.app_url("/api/public/v2/prompts/p"),
        &[("authorization", &basic("pk", "wrong"))],
    )
    .await?;
    assert_eq!(answer.status, 401);
    let answer = get(
        &t.app_url("/api/public/projects"),
        &[("authorization", &auth)],
    )
    .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    Ok(())
}

#[tokio::test]
async fn phoenix_refuses_what_it_cannot_take_whole() -> Result {
    let t = server().await?;
    let bearer = format!("Bearer {TOKEN}");
    let version = get(
        &t.app_url("/arize_phoenix_version"),
        &[("authorization", &bearer)],
    )
    .await?;
    assert_eq!((version.status, version.text()), (200, "12.0.0".to_owned()));
    let good = json!({"name": "ok", "annotator_kind": "HUMAN", "span_id": "00f067aa0ba902b7",
                      "result": {"score": 1}});
    let bad = json!({"name": "ok", "annotator_kind": "HUMAN", "span_id": "not-hex",
                     "result": {"score": 1}});
    let answer = post_json(
        &t,
        "/v1/span_annotations?sync=true",
        &bearer,
        &json!({"data": [good, bad]}),
    )
    .await?;
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert!(answer.text().contains("annotation 1"), "{}", answer.text());
    assert!(score_names(&t).await?.is_empty(), "nothing of it stored");
    let answer = post_json(
        &t,
        "/v1/document_annotations",
        &bearer,
        &json!({"data": [{"name": "rel", "annotator_kind": "HUMAN", "span_id": "00f067aa0ba902b7",
                          "document_position": 0, "result": {"label": "r"}}]}),
    )
    .await?;
    assert_eq!(answer.status, 400, "{}", answer.text());
    let answer = post_json(
        &t,
        "/v1/span_annotations",
        "Bearer nope",
        &json!({"data": []}),
    )
    .await?;
    assert_eq!(answer.status, 401);
    Ok(())
}
