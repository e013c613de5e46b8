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

/// Langfuse's secret key may be a project's key: what it sends and scores is that project's.
#[tokio::test]
async fn langfuse_with_a_projects_key_acts_in_that_project() -> Result {
    let t = server().await?;
    let admin = format!("Bearer {TOKEN}");
    let created = post(
        &t.app_url("/api/v1/projects"),
        JSON,
        &[("authorization", &admin)],
        serde_json::to_vec(&json!({"name": "alpha"}))?,
    )
    .await?;
    assert_eq!(created.status, 201, "{}", created.text());
    let key = |scope: &'static str| {
        let (url, admin) = (t.app_url("/api/v1/projects/alpha/keys"), admin.clone());
        async move {
            let answer = post(
                &url,
                JSON,
                &[("authorization", &admin)],
                serde_json::to_vec(&json!({"scope": scope, "name": scope}))?,
            )
            .await?;
            assert_eq!(answer.status, 201, "{}", answer.text());
            Ok::<String, Box<dyn std::error::Error + Send + Sync>>(
                answer.json()?["secret"]
                    .as_str()
                    .ok_or("a secret")?
                    .to_owned(),
            )
        }
    };
    let (write, ingest) = (key("write").await?, key("ingest").await?);
    let answer = post(
        &t.app_url("/api/public/otel/v1/traces"),
        PROTOBUF,
        &[("authorization", &basic("pk-alpha", &ingest))],
        protobuf(&llm_traces(1, 2)),
    )
    .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let store = t.project_store("alpha")?;
    assert!(
        eventually(std::time::Duration::from_secs(5), || Ok(store
            .count(agentrace_store::RecordKind::Spans)?
            == 2))
        .await?,
        "alpha's spans"
    );
    assert_eq!(
        t.stored(agentrace_sqlite::RecordKind::Spans)?,
        0,
        "none in default"
    );

    let score = json!({"traceId": hex(&trace_id(1)), "name": "accuracy", "value": 0.9});
    let answer = post_json(
        &t,
        "/api/public/scores",
        &basic("pk-alpha", &ingest),
        &score,
    )
    .await?;
    assert_eq!(
        answer.status,
        403,
        "an ingest key scores nothing: {}",
        answer.text()
    );
    let answer = post_json(&t, "/api/public/scores", &basic("pk-alpha", &write), &score).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(score_names(&t).await?.is_empty(), "default has no score");
    let alpha = get(
        &t.app_url("/api/v1/scores"),
        &[("authorization", &admin), ("x-agentrace-project", "alpha")],
    )
    .await?
    .json()?;
    assert_eq!(alpha["scores"][0]["name"], "accuracy", "{alpha}");
    // Both attempts are in the audit log, as the API's scores are: who, where, the answer.
    let audit = get(&t.app_url("/api/v1/audit"), &[("authorization", &admin)])
        .await?
        .json()?;
    let scored: Vec<(&Value, &Value, &Value)> = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "POST /api/public/scores")
        .map(|e| (&e["actor"]["name"], &e["project"], &e["status"]))
        .collect();
    assert_eq!(
        scored,
        [
            (&json!("write"), &json!("alpha"), &json!(200)),
            (&json!("ingest"), &json!("alpha"), &json!(403))
        ],
        "{audit}"
    );
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    assert_eq!((version.status, version.text()), (200, "20.8.0".to_owned()));
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

/// Five OTLP/JSON spans of one trace in Phoenix project `travel` (ids 1 to 5, a second apart,
/// 1 the root), and one in no project, with the token.
async fn send_projects(t: &TestServer) -> Result {
    let now = agentrace_core::now_unix_nano() - 60_000_000_000;
    let span = |id: u64, parent: Option<u64>| {
        let start = now + id * 1_000_000_000;
        json!({"traceId": "5b8efff798038103d269b633813fc60c", "spanId": format!("{id:016x}"),
               "parentSpanId": parent.map(|p| format!("{p:016x}")).unwrap_or_default(),
               "name": format!("step-{id}"), "kind": 1,
               "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 1).to_string(),
               "attributes": [{"key": "openinference.span.kind",
                               "value": {"stringValue": if id == 3 { "LLM" } else { "CHAIN" }}}]})
    };
    let resource = |project: Option<&str>| {
        let mut attributes = vec![json!({"key": "service.name", "value": {"stringValue": "px"}})];
        if let Some(p) = project {
            attributes
                .push(json!({"key": "openinference.project.name", "value": {"stringValue": p}}));
        }
        json!({"attributes": attributes})
    };
    let body = json!({"resourceSpans": [
        {"resource": resource(Some("travel")), "scopeSpans": [{"spans":
            (1..=5).map(|id| span(id, (id > 1).then_some(1))).collect::<Vec<_>>()}]},
        {"resource": resource(None), "scopeSpans": [{"spans": [span(9, None)]}]},
    ]});
    let bearer = format!("Bearer {TOKEN}");
    let answer = post(
        &t.http_url("/v1/traces"),
        JSON,
        &[("authorization", &bearer)],
        serde_json::to_vec(&body)?,
    )
    .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    Ok(())
}

#[tokio::test]
async fn phoenix_span_pages_and_filters_hold_to_the_project() -> Result {
    let t = server().await?;
    send_projects(&t).await?;
    let bearer = format!("Bearer {TOKEN}");
    let read = |query: String| {
        let url = t.app_url(&format!("/v1/projects/travel/spans?{query}"));
        let bearer = bearer.clone();
        async move { get(&url, &[("authorization", &bearer)]).await }
    };
    // Pages of 2, newest first, each span once, the last without a cursor.
    let mut names = Vec::new();
    let mut cursor = String::new();
    for page in 0.. {
        assert!(page < 5, "too many pages");
        let answer = read(format!("limit=2{cursor}")).await?;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let body = answer.json()?;
        names.extend(
            body["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["name"].as_str().map(str::to_owned)),
        );
        match body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(names, ["step-5", "step-4", "step-3", "step-2", "step-1"]);
    let only = |query: &'static str, want: &'static [&'static str]| {
        let read = &read;
        async move {
            let body = read(query.to_owned()).await?.json()?;
            let got: Vec<String> = body["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["name"].as_str().map(str::to_owned))
                .collect();
            assert_eq!(got, want, "{query}: {body}");
            Result::Ok(())
        }
    };
    only("span_kind=llm", &["step-3"]).await?;
    only("parent_id=null", &["step-1"]).await?;
    only("name=step-2&name=step-4", &["step-4", "step-2"]).await?;
    only(
        "span_id=0000000000000005&trace_id=5b8efff798038103d269b633813fc60c",
        &["step-5"],
    )
    .await?;
    only("attribute=openinference.span.kind:LLM", &["step-3"]).await?;
    only("attribute=llm.token_count.total:1", &[]).await?;
    let default = get(
        &t.app_url("/v1/projects/default/spans"),
        &[("authorization", &bearer)],
    )
    .await?
    .json()?;
    assert_eq!(
        default["data"].as_array().map(Vec::len),
        Some(1),
        "{default}"
    );
    assert_eq!(default["data"][0]["name"], "step-9");
    for bad in [
        "limit=0",
        "limit=1001",
        "cursor=%%%",
        "span_kind=FOO",
        "status_code=MAYBE",
        "attribute=novalue",
        "start_time=yesterday",
    ] {
        let answer = read(bad.to_owned()).await?;
        assert_eq!(answer.status, 422, "{bad}: {}", answer.text());
    }
    // The frame: a condition read, one refused.
    let frame = post_json(&t, "/v1/spans?project_name=travel", &bearer,
        &json!({"queries": [{"filter": {"condition": "span_kind == 'CHAIN' and parent_id is not None"}}], "limit": 10})).await?;
    assert_eq!(frame.status, 200, "{}", frame.text());
    let text = frame.text();
    assert!(text.contains("Content-Type: application/json"), "{text}");
    assert_eq!(
        text.matches("\"step-").count(),
        3,
        "steps 2, 4 and 5: {text}"
    );
    let refused = post_json(
        &t,
        "/v1/spans?project_name=travel",
        &bearer,
        &json!({"queries": [{"filter": {"condition": "span_kind == 'LLM' or name == 'x'"}}]}),
    )
    .await?;
    assert_eq!(refused.status, 422, "{}", refused.text());
    Ok(())
}

/// Phoenix's project `travel` is the agentrace project `travel` when there is one: OTLP naming
/// it is routed there, and `/v1/projects/travel/spans` reads it (its spans of no Phoenix project
/// too); a key of another project reads its own project only.
#[tokio::test]
async fn phoenix_projects_are_agentrace_projects_of_that_name() -> Result {
    let t = server().await?;
    let bearer = format!("Bearer {TOKEN}");
    let admin = [("authorization", bearer.as_str()), ("content-type", JSON)];
    let created = send(
        reqwest::Method::POST,
        &t.app_url("/api/v1/projects"),
        &admin,
        serde_json::to_vec(&json!({"name": "travel"}))?,
    )
    .await?;
    assert_eq!(created.status, 201, "{}", created.text());
    send_projects(&t).await?;
    let names = |answer: &Answer| -> Result<Vec<String>> {
        Ok(answer.json()?["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["name"].as_str().map(str::to_owned))
            .collect())
    };
    let travel = get(
        &t.app_url("/v1/projects/travel/spans"),
        &[("authorization", &bearer)],
    )
    .await?;
    assert_eq!(travel.status, 200, "{}", travel.text());
    assert_eq!(
        names(&travel)?,
        ["step-5", "step-4", "step-3", "step-2", "step-1"]
    );
    // What went to `default` (the span of no Phoenix project) is not travel's.
    let default = get(
        &t.app_url("/v1/projects/default/spans"),
        &[("authorization", &bearer)],
    )
    .await?;
    assert_eq!(names(&default)?, ["step-9"]);
    // A key of `default` asking for travel reads default's spans of Phoenix project travel:
    // none (they are in agentrace's travel).
    let key = send(
        reqwest::Method::POST,
        &t.app_url("/api/v1/projects/default/keys"),
        &admin,
        serde_json::to_vec(&json!({"scope": "read", "name": "px"}))?,
    )
    .await?
    .json()?;
    let default_key = format!("Bearer {}", key["secret"].as_str().ok_or("a secret")?);
    let refused = get(
        &t.app_url("/v1/projects/travel/spans"),
        &[("authorization", &default_key)],
    )
    .await?;
    assert_eq!(refused.status, 200, "{}", refused.text());
    assert_eq!(names(&refused)?, Vec::<String>::new());
    Ok(())
}
