//! Which project telemetry goes to (docs/projects.md "Sending to a project"), on a running
//! server: an organization key made through the API provisions projects and their keys, and
//! a collector holding an organization key sends each resource to the project it names
//! (`agentrace.project`), else to the one its request names (`x-agentrace-project`, as an
//! HTTP header or gRPC metadata); a resource naming a project that does not exist, or one its
//! key may not write to, is refused in the answer's partial success with its records only.

use agentrace_store::RecordKind;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use prost::Message;
use serde_json::{Value, json};

use crate::common::*;

const TOKEN: &str = "routing-admin-token-0123";

/// `method` on the API's `path` with `bearer`, acting on `project` when named.
async fn api(
    t: &TestServer,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    project: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value)> {
    let authorization = format!("Bearer {bearer}");
    let mut headers = vec![
        ("authorization", authorization.as_str()),
        ("content-type", JSON),
    ];
    if let Some(project) = project {
        headers.push(("x-agentrace-project", project));
    }
    let answer = send(
        method,
        &t.app_url(&format!("/api/v1{path}")),
        &headers,
        body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
    )
    .await?;
    let value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    Ok((answer.status, value))
}

/// A key made with `bearer` at `path` (`/keys`, `/projects/{name}/keys`): its id and secret.
async fn make_key(t: &TestServer, bearer: &str, path: &str, scope: &str) -> Result<(u64, String)> {
    let (status, key) = api(
        t,
        reqwest::Method::POST,
        path,
        bearer,
        None,
        Some(&json!({"scope": scope, "name": format!("{scope} at {path}")})),
    )
    .await?;
    assert_eq!(status, 201, "{path}: {key}");
    Ok((
        key["id"].as_u64().ok_or("an id")?,
        key["secret"].as_str().ok_or("a secret")?.to_owned(),
    ))
}

/// One resource's spans: `n` LLM spans from `first`, the resource naming `project` if given.
fn resource(project: Option<&str>, first: u64, n: u64) -> ResourceSpans {
    let start = now() - 60_000_000_000;
    let mut attributes = vec![text("service.name", "collector")];
    attributes.extend(project.map(|p| text("agentrace.project", p)));
    ResourceSpans {
        resource: Some(Resource {
            attributes,
            ..Resource::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans: (first..first + n)
                .map(|i| llm_span(i, i, start + i))
                .collect(),
            ..ScopeSpans::default()
        }],
        ..ResourceSpans::default()
    }
}

/// Sends `resources` over OTLP/HTTP with `key`, naming `project` in the header if given: the
/// partial success (rejected spans, message).
async fn export(
    t: &TestServer,
    key: &str,
    project: Option<&str>,
    resources: Vec<ResourceSpans>,
) -> Result<(i64, String)> {
    let request = ExportTraceServiceRequest {
        resource_spans: resources,
    };
    let authorization = format!("Bearer {key}");
    let mut headers = vec![("authorization", authorization.as_str())];
    headers.extend(project.map(|p| ("x-agentrace-project", p)));
    let answer = post(
        &t.http_url("/v1/traces"),
        PROTOBUF,
        &headers,
        protobuf(&request),
    )
    .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let partial = ExportTraceServiceResponse::decode(answer.body.as_slice())?
        .partial_success
        .unwrap_or_default();
    Ok((partial.rejected_spans, partial.error_message))
}

/// The spans stored in project `name` (after the writer's commit).
async fn spans_in(t: &TestServer, name: &str, expected: u64) -> Result<u64> {
    let store = t.project_store(name)?;
    eventually(std::time::Duration::from_secs(5), || {
        Ok(store.count(RecordKind::Spans)? >= expected)
    })
    .await?;
    Ok(store.count(RecordKind::Spans)?)
}

#[tokio::test]
async fn an_organization_key_provisions_projects_and_routes_each_resource() -> Result {
    let t = TestServer::start(|c| c.api_token = Some(TOKEN.into())).await?;
    // Automation's key: made once with the token, then it provisions everything.
    let (_, provisioning) = make_key(&t, TOKEN, "/keys", "admin").await?;
    for name in ["alpha", "beta", "doomed"] {
        let (status, body) = api(
            &t,
            reqwest::Method::POST,
            "/projects",
            &provisioning,
            None,
            Some(&json!({ "name": name })),
        )
        .await?;
        assert_eq!(status, 201, "{name}: {body}");
    }
    let (status, renamed) = api(
        &t,
        reqwest::Method::PATCH,
        "/projects/beta",
        &provisioning,
        None,
        Some(&json!({"name": "beta-team"})),
    )
    .await?;
    assert_eq!(status, 200, "{renamed}");
    let (status, _) = api(
        &t,
        reqwest::Method::DELETE,
        "/projects/doomed",
        &provisioning,
        None,
        None,
    )
    .await?;
    assert_eq!(status, 200);
    let (alpha_key_id, alpha_ingest) =
        make_key(&t, &provisioning, "/projects/alpha/keys", "ingest").await?;
    let (_, collector) = make_key(&t, &provisioning, "/keys", "ingest").await?;
    // An organization key of scope ingest sends, and reads nothing.
    let (status, _) = api(&t, reqwest::Method::GET, "/traces", &collector, None, None).await?;
    assert_eq!(status, 403);

    // One request, four resources: alpha's, one naming no project that exists, one naming
    // none (the header's beta-team), and one naming the deleted project.
    let (rejected, message) = export(
        &t,
        &collector,
        Some("beta-team"),
        vec![
            resource(Some("alpha"), 1, 2),
            resource(Some("nope"), 10, 3),
            resource(None, 20, 1),
            resource(Some("doomed"), 30, 1),
        ],
    )
    .await?;
    assert_eq!(rejected, 4, "{message}");
    assert!(
        message.contains("3 refused: no project named \"nope\"")
            && message.contains("1 refused: no project named \"doomed\""),
        "{message}"
    );
    assert_eq!(spans_in(&t, "alpha", 2).await?, 2);
    assert_eq!(spans_in(&t, "beta-team", 1).await?, 1);
    assert_eq!(
        spans_in(&t, "default", 0).await?,
        0,
        "nothing fell to default"
    );

    // Over gRPC the project is named in the metadata.
    let mut grpc = t.grpc().await?;
    let mut request = tonic::Request::new(ExportTraceServiceRequest {
        resource_spans: vec![resource(None, 40, 2)],
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {collector}").parse()?);
    request
        .metadata_mut()
        .insert("x-agentrace-project", "beta-team".parse()?);
    let answer = grpc.export(request).await?.into_inner();
    assert_eq!(answer.partial_success.unwrap_or_default().rejected_spans, 0);
    assert_eq!(spans_in(&t, "beta-team", 3).await?, 3);

    // A project's key writes to its own project only, whatever its resources name.
    let (rejected, message) = export(
        &t,
        &alpha_ingest,
        None,
        vec![resource(None, 50, 1), resource(Some("beta-team"), 60, 2)],
    )
    .await?;
    assert_eq!(rejected, 2, "{message}");
    assert!(
        message.contains("2 refused: this key belongs to project \"alpha\""),
        "{message}"
    );
    assert_eq!(spans_in(&t, "alpha", 3).await?, 3);
    assert_eq!(spans_in(&t, "beta-team", 3).await?, 3);

    // Default takes what names no project; renamed, it keeps it.
    export(&t, &collector, None, vec![resource(None, 70, 1)]).await?;
    let (status, main) = api(
        &t,
        reqwest::Method::PATCH,
        "/projects/default",
        &provisioning,
        None,
        Some(&json!({"name": "main"})),
    )
    .await?;
    assert_eq!(status, 200, "{main}");
    assert_eq!(
        spans_in(&t, "main", 1).await?,
        1,
        "default's spans, renamed"
    );
    let (status, page) = api(
        &t,
        reqwest::Method::GET,
        "/traces",
        TOKEN,
        Some("main"),
        None,
    )
    .await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["traces"].as_array().map(Vec::len), Some(1), "{page}");

    // Revoked through the organization's key: the project's key is refused at once.
    let (status, _) = api(
        &t,
        reqwest::Method::DELETE,
        &format!("/projects/alpha/keys/{alpha_key_id}"),
        &provisioning,
        None,
        None,
    )
    .await?;
    assert_eq!(status, 204);
    let refused = post(
        &t.http_url("/v1/traces"),
        PROTOBUF,
        &[("authorization", &format!("Bearer {alpha_ingest}"))],
        protobuf(&ExportTraceServiceRequest {
            resource_spans: vec![resource(None, 80, 1)],
        }),
    )
    .await?;
    assert_eq!(refused.status, 401);

    // When each key was last used is kept across nodes and restarts: noted every 10 s and
    // at shutdown, and listed.
    let t = t.restart(|c| c.api_token = Some(TOKEN.into())).await?;
    let (_, keys) = api(&t, reqwest::Method::GET, "/keys", TOKEN, None, None).await?;
    let used = |name: &str| {
        keys["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|k| k["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .map(|k| k["last_used_unix_nano"].clone())
    };
    assert!(
        used("ingest at /keys").is_some_and(|at| at.as_u64().is_some_and(|at| at <= now())),
        "the collector's key: {keys}"
    );
    Ok(())
}
