//! Binding, the API token and CORS.

use agentrace_store::Analytics;
use agentrace_store::TraceReader;
use std::net::{IpAddr, Ipv4Addr};

use agentrace_server::{ConfigError, Server, ServerConfig, StartError};
use agentrace_sqlite::RecordKind;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

use crate::common::*;

const TOKEN: &str = "s3cret-token";

#[tokio::test]
async fn a_non_loopback_bind_without_a_token_is_refused() -> Result {
    let dir = tempfile::tempdir()?;
    let mut config = ServerConfig::new(dir.path()).with_any_free_ports();
    config.bind = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let refused = Server::start(config.clone()).await.err().ok_or("started")?;
    assert!(
        matches!(
            refused,
            StartError::Config(ConfigError::TokenRequired { .. })
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("API token"), "{refused}");

    config.api_token = Some(TOKEN.into());
    let server = Server::start(config).await?;
    assert!(server.otlp_grpc_addr().ip().is_unspecified());
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn every_listener_binds_the_configured_address() -> Result {
    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let t = TestServer::start(|c| c.bind = ip).await?;
    let addrs = [
        t.server.otlp_http_addr(),
        t.server.otlp_grpc_addr(),
        t.server.app_addr(),
    ];
    assert!(addrs.iter().all(|a| a.ip() == ip), "{addrs:?}");
    // Not reachable on another loopback address.
    for addr in addrs {
        let other = std::net::SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port());
        assert!(
            tokio::net::TcpStream::connect(other).await.is_err(),
            "{other} answers"
        );
    }
    let answer = post(
        &t.http_url("/v1/traces"),
        PROTOBUF,
        &[],
        protobuf(&llm_traces(1, 1)),
    )
    .await?;
    assert_eq!(answer.status, 200);
    Ok(())
}

#[tokio::test]
async fn a_configured_token_is_required_for_ingest_api_and_metrics() -> Result {
    let t = TestServer::start(|c| c.api_token = Some(TOKEN.into())).await?;
    let url = t.http_url("/v1/traces");
    let body = protobuf(&llm_traces(1, 1));
    let answer = post(&url, PROTOBUF, &[], body.clone()).await?;
    assert_eq!(answer.status, 401);
    assert!(answer.header("www-authenticate").is_some());
    assert_eq!(
        answer.json()?["code"],
        16,
        "an OTLP Status: {}",
        answer.text()
    );
    let answer = post(
        &url,
        PROTOBUF,
        &[("authorization", "Bearer wrong")],
        body.clone(),
    )
    .await?;
    assert_eq!(answer.status, 401);
    let bearer = format!("Bearer {TOKEN}");
    let answer = post(&url, PROTOBUF, &[("authorization", &bearer)], body).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());

    // gRPC
    let mut client = TraceServiceClient::connect(t.grpc_url()).await?;
    let err = client
        .export(llm_traces(2, 1))
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let mut request = tonic::Request::new(llm_traces(2, 1));
    request
        .metadata_mut()
        .insert("authorization", bearer.parse()?);
    client.export(request).await?;
    assert_eq!(t.stored(RecordKind::Spans)?, 2);

    // The app: the API and /metrics need it, the health checks do not.
    let refused = get(&t.app_url("/api/v1/traces"), &[]).await?;
    assert_eq!(refused.status, 401);
    assert!(refused.header("www-authenticate").is_some());
    assert_eq!(
        refused.json()?["error"]["code"],
        "unauthorized",
        "the API's error body: {}",
        refused.text()
    );
    let traces = get(&t.app_url("/api/v1/traces"), &[("authorization", &bearer)]).await?;
    assert_eq!(traces.status, 200, "{}", traces.text());
    assert_eq!(get(&t.app_url("/metrics"), &[]).await?.status, 401);
    assert_eq!(
        get(&t.app_url("/metrics"), &[("authorization", &bearer)])
            .await?
            .status,
        200
    );
    assert_eq!(get(&t.app_url("/healthz"), &[]).await?.status, 200);
    assert_eq!(get(&t.app_url("/readyz"), &[]).await?.status, 200);
    assert_eq!(t.server.stats().requests.unauthorized, 5);
    Ok(())
}

async fn preflight(url: &str, origin: &str) -> Result<Answer> {
    send(
        reqwest::Method::OPTIONS,
        url,
        &[
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        Vec::new(),
    )
    .await
}

#[tokio::test]
async fn cors_is_off_unless_origins_are_configured() -> Result {
    let t = TestServer::start(|_| {}).await?;
    for url in [t.http_url("/v1/traces"), t.app_url("/metrics")] {
        let answer = preflight(&url, "http://evil.example").await?;
        assert_eq!(answer.header("access-control-allow-origin"), None, "{url}");
    }
    let answer = get(&t.app_url("/healthz"), &[("origin", "http://evil.example")]).await?;
    assert_eq!(answer.header("access-control-allow-origin"), None);

    let t = TestServer::start(|c| c.cors_origins = vec!["http://localhost:3000".into()]).await?;
    let answer = preflight(&t.http_url("/v1/traces"), "http://localhost:3000").await?;
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let answer = preflight(&t.app_url("/metrics"), "http://evil.example").await?;
    assert_eq!(answer.header("access-control-allow-origin"), None);
    Ok(())
}

/// Secrets are masked in what is stored unless turned off; personal data is kept (an option).
#[tokio::test]
async fn secrets_are_masked_by_default_and_kept_when_turned_off() -> Result {
    for mask in [true, false] {
        let t = TestServer::start(|c| c.mask_secrets = mask).await?;
        let mut span = llm_span(7, 7, now() - 10_000_000_000);
        span.attributes.push(text(
            "gen_ai.input.messages",
            "my key is sk-proj-abcdefghijklmnopqrstuvwx, mail ann@example.com",
        ));
        let answer = post(
            &t.http_url("/v1/traces"),
            PROTOBUF,
            &[],
            protobuf(&traces(vec![span])),
        )
        .await?;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let stored = t.fresh_store()?.spans(&agentrace_sqlite::SpanQuery::new(
            agentrace_sqlite::SpanFilter::new(),
        ))?;
        let content = stored.spans[0]
            .attributes
            .get("gen_ai.input.messages")
            .and_then(agentrace_core::AttributeValue::as_str)
            .map(str::to_owned);
        let expected = if mask {
            "my key is [REDACTED:api_key], mail ann@example.com"
        } else {
            "my key is sk-proj-abcdefghijklmnopqrstuvwx, mail ann@example.com"
        };
        assert_eq!(content.as_deref(), Some(expected), "mask_secrets = {mask}");
        let redacted = t.server.stats().redaction.map(|r| r.values_redacted);
        assert_eq!(redacted, mask.then_some(1));
        if !mask {
            continue;
        }
        // Detections by kind: in the status, on /metrics, and stored over time.
        let kinds = t
            .server
            .stats()
            .redaction
            .map(|r| r.detections)
            .unwrap_or_default();
        assert_eq!(kinds.get("api_key"), Some(&1));
        assert_eq!(kinds.get("card"), Some(&0));
        let metrics = get(&t.app_url("/metrics"), &[]).await?.text();
        assert!(
            metrics.contains("agentrace_server_redactions_total{type=\"api_key\"} 1\n"),
            "{metrics}"
        );
        let TestServer { server, dir } = t;
        server.shutdown().await?;
        let store = agentrace_sqlite::SqliteStore::open(dir.path().join("agentrace.db"))?;
        let series = store.metric(&agentrace_sqlite::MetricQuery::new("agentrace.redactions"))?;
        let stored: Vec<(Option<&String>, f64)> = series
            .iter()
            .map(|s| (s.labels.get("type"), s.points.iter().map(|p| p.sum).sum()))
            .collect();
        assert_eq!(stored, [(Some(&"api_key".to_owned()), 1.0)]);
    }
    Ok(())
}

const READ_TOKEN: &str = "read-only-token";

/// Every route of the OpenAPI document, with a made-up value in each path parameter.
async fn documented_routes(t: &TestServer, bearer: &str) -> Result<Vec<Route>> {
    let doc = get(
        &t.app_url("/api/v1/openapi.json"),
        &[("authorization", bearer)],
    )
    .await?
    .json()?;
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().ok_or("paths")? {
        let concrete = path
            .replace("{trace_id}", "4bf92f3577b34da6a3ce929d0e0e4736")
            .replace("{span_id}", "00f067aa0ba902b7")
            .replace("{session_id}", "s-1")
            .replace("{name}", "gen_ai.client.token.usage");
        for (method, op) in item.as_object().ok_or("an item")? {
            // A path's other parameters (a score's id): their examples.
            let mut concrete = concrete.clone();
            for p in op["parameters"].as_array().into_iter().flatten() {
                if let (Some("path"), Some(name), Some(example)) =
                    (p["in"].as_str(), p["name"].as_str(), p["example"].as_str())
                {
                    concrete = concrete.replace(&format!("{{{name}}}"), example);
                }
            }
            // The greatest success documented: a PUT of a new rule creates it (201, not 200).
            let success = op["responses"]
                .as_object()
                .and_then(|r| r.keys().filter(|code| code.starts_with('2')).max())
                .and_then(|code| code.parse().ok())
                .unwrap_or(200);
            let body = op["requestBody"]["content"]["application/json"]["example"].to_string();
            routes.push(Route {
                method: method.to_uppercase().parse()?,
                path: concrete,
                body: body.into_bytes(),
                success,
            });
        }
    }
    Ok(routes)
}

/// A documented operation: its method, a concrete path, its example body (`null` without one)
/// and the status of its success.
#[derive(Debug)]
struct Route {
    method: reqwest::Method,
    path: String,
    body: Vec<u8>,
    success: u16,
}

#[tokio::test]
async fn the_read_token_reads_every_route_and_writes_none() -> Result {
    // An evaluator, so that a re-run (a POST) can be started.
    let files = tempfile::tempdir()?;
    let evaluators = files.path().join("evaluators.toml");
    std::fs::write(
        &evaluators,
        "[[evaluator]]\nname = \"answer_is_json\"\ncheck = { type = \"json_valid\" }\n",
    )?;
    let t = TestServer::start(|c| {
        c.api_token = Some(TOKEN.into());
        c.read_token = Some(READ_TOKEN.into());
        c.evaluators = Some(evaluators);
    })
    .await?;
    let admin = format!("Bearer {TOKEN}");
    let reader = format!("Bearer {READ_TOKEN}");
    let routes = documented_routes(&t, &admin).await?;
    assert!(routes.len() >= 20, "{routes:?}");
    // The POSTs and PUTs first, the DELETEs last: what they write (a score, a rule) is what
    // the DELETEs delete.
    let mut routes = routes;
    routes.sort_by_key(|r| match r.method {
        reqwest::Method::POST | reqwest::Method::PUT => 0,
        reqwest::Method::DELETE => 2,
        _ => 1,
    });
    for Route {
        method,
        path,
        body,
        success,
    } in &routes
    {
        if path.starts_with("/api/v1/auth/") {
            continue; // the login routes are open: they are how a browser gets a session
        }
        let url = t.app_url(path);
        let call = |token: Option<String>| {
            let (method, url, body) = (method.clone(), url.clone(), body.clone());
            async move {
                let mut headers = vec![("content-type", JSON)];
                if let Some(t) = &token {
                    headers.push(("authorization", t.as_str()));
                }
                send(method, &url, &headers, body).await
            }
        };
        let as_reader = call(Some(reader.clone())).await?;
        let as_nobody = call(None).await?;
        assert_eq!(as_nobody.status, 401, "{method} {path} without a token");
        // A person's own (tests/server/people.rs): a token has neither sessions nor a password.
        if path.starts_with("/api/v1/me/") {
            let refused = *method != reqwest::Method::GET;
            assert_eq!(
                ![200, 204].contains(&as_reader.status),
                refused,
                "{method} {path} with the read token: {} {}",
                as_reader.status,
                as_reader.text()
            );
            continue;
        }
        // Keys, people and the audit log are the organization's admins': even reading them
        // needs `admin`. (What an admin gets from them is tests/api/projects.rs's and
        // tests/server/people.rs's.)
        let configuration = path.starts_with("/api/v1/keys")
            || path.starts_with("/api/v1/projects/")
            || path.starts_with("/api/v1/people")
            || path == "/api/v1/audit";
        if configuration {
            assert_eq!(
                as_reader.status,
                403,
                "{method} {path}: {}",
                as_reader.text()
            );
            continue;
        }
        if *method == reqwest::Method::GET {
            assert!(
                ![401, 403].contains(&as_reader.status),
                "{method} {path} with the read token: {} {}",
                as_reader.status,
                as_reader.text()
            );
        } else {
            assert_eq!(
                as_reader.status,
                403,
                "{method} {path}: {}",
                as_reader.text()
            );
            assert_eq!(as_reader.json()?["error"]["code"], "forbidden");
            let as_admin = call(Some(admin.clone())).await?;
            assert_eq!(
                as_admin.status,
                *success,
                "{method} {path}: {}",
                as_admin.text()
            );
        }
    }
    assert_eq!(
        get(&t.app_url("/metrics"), &[("authorization", &reader)])
            .await?
            .status,
        200
    );
    // The dashboard offers writing (annotations) to the API token's role only.
    for (who, can_write) in [(&reader, false), (&admin, true)] {
        let session = get(
            &t.app_url("/api/v1/auth/session"),
            &[("authorization", who)],
        )
        .await?
        .json()?;
        assert_eq!(session["can_write"], can_write, "{session}");
    }

    // No telemetry with the read token, over HTTP or gRPC.
    let body = protobuf(&llm_traces(1, 1));
    let refused = post(
        &t.http_url("/v1/traces"),
        PROTOBUF,
        &[("authorization", &reader)],
        body,
    )
    .await?;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json()?["code"],
        7,
        "an OTLP Status: {}",
        refused.text()
    );
    let mut client = TraceServiceClient::connect(t.grpc_url()).await?;
    let mut request = tonic::Request::new(llm_traces(2, 1));
    request
        .metadata_mut()
        .insert("authorization", reader.parse()?);
    let err = client.export(request).await.err().ok_or("accepted")?;
    // Known, but not allowed to send: as OTLP/HTTP's 403.
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert!(err.message().contains("`ingest`"), "{}", err.message());
    assert_eq!(t.stored(RecordKind::Spans)?, 0);

    // A session logged in with the read token reads, and writes nothing.
    let login = post(
        &t.app_url("/api/v1/auth/login"),
        JSON,
        &[("origin", &t.app_url(""))],
        format!(r#"{{"token": "{READ_TOKEN}"}}"#).into_bytes(),
    )
    .await?;
    assert_eq!(login.status, 204, "{}", login.text());
    let cookie = login
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .ok_or("a cookie")?
        .to_owned();
    let same_origin = [
        ("cookie", cookie.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    assert_eq!(
        get(&t.app_url("/api/v1/traces"), &same_origin)
            .await?
            .status,
        200
    );
    let write = post(
        &t.app_url("/api/v1/budgets/check"),
        JSON,
        &same_origin,
        br#"{"session": "s-1", "estimate_usd": 0.01}"#.to_vec(),
    )
    .await?;
    assert_eq!(write.status, 403, "{}", write.text());
    Ok(())
}

#[tokio::test]
async fn a_read_token_needs_an_api_token_and_must_differ_from_it() {
    for (api, read, expected) in [
        (None, Some("r-token"), "needs api_token"),
        (Some("same"), Some("same"), "must differ"),
    ] {
        let result = TestServer::start(|c| {
            c.api_token = api.map(Into::into);
            c.read_token = read.map(Into::into);
        })
        .await;
        let error = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains(expected), "{error}");
    }
}
