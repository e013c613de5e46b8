//! Each project's settings (`/api/v1/settings/{kind}`) in force on the walk: its retention,
//! its masking, its prices, its budgets and its forwarding apply to its records only, the
//! budgets file stays the configured project's, and a second node over the same store runs on
//! a change within its poll; the configured project deleted, the one left takes over.

use std::time::{Duration, Instant};

use agentrace_server::{Server, ServerConfig};
use agentrace_store::{AggregateQuery, SpanFilter, TraceReader};
use serde_json::{Value, json};

use crate::common::*;

const DAY: u64 = 86_400 * 1_000_000_000;

/// A span of `model` whose prompt names a person's e-mail address.
fn span_with_email(
    trace: u64,
    start: u64,
    model: &str,
) -> opentelemetry_proto::tonic::trace::v1::Span {
    let mut span = llm_span(trace, trace, start);
    span.attributes.retain(|a| a.key != "gen_ai.request.model");
    span.attributes.push(text("gen_ai.request.model", model));
    span.attributes.push(text(
        "gen_ai.input.messages",
        r#"[{"role":"user","parts":[{"type":"text","content":"mail ada@example.com"}]}]"#,
    ));
    span
}

#[tokio::test]
async fn a_projects_settings_apply_to_its_records_only() -> Result {
    let t = TestServer::start(|c| c.retention.interval = Duration::from_millis(100)).await?;
    let app = t.app_url("");
    create_project(&app, "alpha").await?;
    let put = |kind: &'static str, document: Value| {
        let app = app.clone();
        async move {
            api_in(
                &app,
                reqwest::Method::PUT,
                &format!("/settings/{kind}"),
                "alpha",
                Some(&document),
            )
            .await
        }
    };
    for (kind, document) in [
        ("retention", json!({"spans": {"max_age": "30d"}})),
        ("capture", json!({"redact": true, "capture_content": true})),
        (
            "prices",
            json!({"format": "agentrace.prices/1", "models": [
                {"provider": "openai", "model": "acme-1",
                 "prices": [{"since": "2025-01-01", "input": 1000.0, "output": 1000.0}]}
            ]}),
        ),
        (
            "budgets",
            json!({"budget": [{"name": "alpha daily", "scope": "global", "period": "day", "limit_usd": 100.0}]}),
        ),
    ] {
        let (status, answer) = put(kind, document.clone()).await?;
        assert_eq!(status, 200, "{kind}: {answer}");
        assert_eq!(answer["document"], document, "{kind}");
        assert!(answer["revision"].as_u64().is_some(), "{answer}");
    }
    // The same records into both projects: an old span and a recent one, both priced by
    // `acme-1` (alpha's price only) and naming an e-mail address.
    let spans = || {
        traces(vec![
            span_with_email(1, now() - 40 * DAY, "acme-1"),
            span_with_email(2, now() - 60_000_000_000, "acme-1"),
        ])
    };
    for project in ["alpha", "default"] {
        let answer = post(
            &t.http_url("/v1/traces"),
            PROTOBUF,
            &[("x-agentrace-project", project)],
            protobuf(&spans()),
        )
        .await?;
        assert_eq!(answer.status, 200, "{project}: {}", answer.text());
    }
    let traces_of = |project: &'static str| {
        let app = app.clone();
        async move {
            let (status, list) = api_in(
                &app,
                reqwest::Method::GET,
                "/traces?from=-90d",
                project,
                None,
            )
            .await?;
            assert_eq!(status, 200, "{list}");
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                list["traces"].as_array().map_or(0, Vec::len),
            )
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while traces_of("alpha").await? != 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        traces_of("alpha").await?,
        1,
        "alpha's retention (30 days) deletes its old span"
    );
    assert_eq!(
        traces_of("default").await?,
        2,
        "default keeps what the server keeps: everything"
    );

    let trace = hex(&trace_id(2));
    let span = hex(&span_id(2));
    let (_, alpha_span) = api_in(
        &app,
        reqwest::Method::GET,
        &format!("/traces/{trace}/spans/{span}"),
        "alpha",
        None,
    )
    .await?;
    let (_, default_span) = api_in(
        &app,
        reqwest::Method::GET,
        &format!("/traces/{trace}/spans/{span}"),
        "default",
        None,
    )
    .await?;
    let (alpha_text, default_text) = (alpha_span.to_string(), default_span.to_string());
    assert!(
        !alpha_text.contains("ada@example.com"),
        "alpha redacts personal data: {alpha_text}"
    );
    assert!(
        default_text.contains("ada@example.com"),
        "default masks secrets only: {default_text}"
    );
    // Alpha's own redaction counts what it masked; default masks as the server does.
    let (_, alpha_status) = api_in(&app, reqwest::Method::GET, "/status", "alpha", None).await?;
    assert!(
        alpha_status["capture"]["detections"]["email"]
            .as_u64()
            .is_some_and(|n| n >= 2),
        "{alpha_status}"
    );
    let (_, default_status) =
        api_in(&app, reqwest::Method::GET, "/status", "default", None).await?;
    assert_eq!(default_status["capture"], Value::Null, "{default_status}");
    let cost = |v: &Value| v["span"]["cost"]["total"].as_f64();
    // 1,000 input and 200 output tokens at $1,000 per million each.
    assert_eq!(cost(&alpha_span), Some(1.2), "{alpha_span}");
    assert_eq!(
        cost(&default_span),
        None,
        "acme-1 has no price but alpha's: {default_span}"
    );

    let (_, alpha_budgets) = api_in(&app, reqwest::Method::GET, "/budgets", "alpha", None).await?;
    let (_, default_budgets) =
        api_in(&app, reqwest::Method::GET, "/budgets", "default", None).await?;
    assert_eq!(alpha_budgets["configured"], true, "{alpha_budgets}");
    // Both calls, counted as they arrived.
    assert_eq!(
        alpha_budgets["budgets"][0]["spent"].as_f64(),
        Some(2.4),
        "{alpha_budgets}"
    );
    assert_eq!(default_budgets["configured"], false, "{default_budgets}");

    // Deleted: alpha runs on the server's settings again.
    let (status, _) = api_in(
        &app,
        reqwest::Method::DELETE,
        "/settings/budgets",
        "alpha",
        None,
    )
    .await?;
    assert_eq!(status, 204);
    let (_, alpha_budgets) = api_in(&app, reqwest::Method::GET, "/budgets", "alpha", None).await?;
    assert_eq!(alpha_budgets["configured"], false, "{alpha_budgets}");
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn bad_settings_are_refused_with_the_reason_and_the_budgets_file_wins() -> Result {
    let dir = tempfile::tempdir()?;
    let budgets = dir.path().join("budgets.toml");
    std::fs::write(
        &budgets,
        "[[budget]]\nname = \"file\"\nscope = \"global\"\nperiod = \"day\"\nlimit_usd = 1.0\n",
    )?;
    let t = TestServer::start(|c| c.budgets = Some(budgets.clone())).await?;
    let app = t.app_url("");
    for (kind, body, status, says) in [
        ("budgets", json!({"budget": []}), 409, "budgets.toml"),
        (
            "retention",
            json!({"spans": {"max_age": "soon"}}),
            400,
            "spans.max_age",
        ),
        ("capture", json!({"redact": "yes"}), 400, "invalid type"),
        (
            "alerts",
            json!({"rules": [{"name": "v", "measure": "safety_violations", "window": "5m",
                              "per": "model", "warning": 1.0}]}),
            400,
            "safety_violations takes no `per`",
        ),
        (
            "weather",
            json!({}),
            404,
            "budgets, prices, retention, capture",
        ),
    ] {
        let path = format!("/settings/{kind}");
        let (got, answer) =
            api_in(&app, reqwest::Method::PUT, &path, "default", Some(&body)).await?;
        assert_eq!(got, status, "{kind}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(says),
            "{kind}: {message:?} does not say {says:?}"
        );
    }
    let (status, list) = api_in(&app, reqwest::Method::GET, "/settings", "default", None).await?;
    assert_eq!(status, 200);
    let budgets_setting = &list["settings"][0];
    assert_eq!(budgets_setting["kind"], "budgets");
    assert!(
        budgets_setting["provided_by_file"]
            .as_str()
            .is_some_and(|f| f.ends_with("budgets.toml")),
        "{list}"
    );
    Ok(())
}

/// A setting written on one node is in force on another node over the same store within the
/// poll (`jobs::projects::POLL`, 5 s): the time it took is printed.
#[tokio::test]
async fn a_change_reaches_another_node_within_its_poll() -> Result {
    let a = TestServer::start(|_| {}).await?;
    let mut config = ServerConfig::new(a.dir.path()).with_any_free_ports();
    config.demo = false;
    let b = Server::start(config).await?;
    let (app_a, app_b) = (a.app_url(""), format!("http://{}", b.app_addr()));
    let budgets = json!({"budget": [{"name": "fleet", "scope": "global", "period": "day", "limit_usd": 3.0}]});
    let written = Instant::now();
    let (status, answer) = api_in(
        &app_a,
        reqwest::Method::PUT,
        "/settings/budgets",
        "default",
        Some(&budgets),
    )
    .await?;
    assert_eq!(status, 200, "{answer}");
    let (_, on_a) = api_in(&app_a, reqwest::Method::GET, "/budgets", "default", None).await?;
    assert_eq!(
        on_a["configured"], true,
        "in force on the writing node when answered: {on_a}"
    );
    loop {
        let (_, on_b) = api_in(&app_b, reqwest::Method::GET, "/budgets", "default", None).await?;
        if on_b["configured"] == true {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(8),
            "node b still runs without the budgets: {on_b}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "a setting reached the other node in {:?}",
        written.elapsed()
    );
    b.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_project_forwards_its_records_only_and_its_status_counts_them() -> Result {
    let upstream = TestServer::start(|_| {}).await?;
    let t = TestServer::start(|_| {}).await?;
    let app = t.app_url("");
    create_project(&app, "alpha").await?;
    let forwarding = json!({
        "endpoint": format!("http://{}", upstream.server.otlp_http_addr()),
        "protocol": "http/protobuf",
    });
    let (status, answer) = api_in(
        &app,
        reqwest::Method::PUT,
        "/settings/forwarding",
        "alpha",
        Some(&forwarding),
    )
    .await?;
    assert_eq!(status, 200, "{answer}");
    for (project, first) in [("default", 1), ("alpha", 10)] {
        t.send_to("/v1/traces", project, &llm_traces(first, 3))
            .await?;
    }
    let arrived = eventually(Duration::from_secs(10), || {
        Ok(upstream.stored(agentrace_sqlite::RecordKind::Spans)? >= 3)
    })
    .await?;
    assert!(arrived, "alpha's spans reach its endpoint");
    let forwarded = upstream
        .fresh_store()?
        .spans(&agentrace_sqlite::SpanQuery::new(Default::default()))?;
    let traces: std::collections::BTreeSet<_> =
        forwarded.spans.iter().map(|s| s.trace_id).collect();
    assert_eq!(
        traces.len(),
        3,
        "alpha's three traces and nothing of default's: {traces:?}"
    );
    assert!(
        forwarded.spans.iter().all(|s| s.cost.is_some()),
        "forwarded as stored, priced"
    );
    let (_, alpha_status) = api_in(&app, reqwest::Method::GET, "/status", "alpha", None).await?;
    let sinks = &alpha_status["forwarding"]["sinks"];
    assert_eq!(sinks[0]["name"], "forward", "{alpha_status}");
    assert!(sinks[0]["accepted"].as_u64() >= Some(3), "{alpha_status}");
    let (_, default_status) =
        api_in(&app, reqwest::Method::GET, "/status", "default", None).await?;
    assert!(
        default_status["forwarding"].is_null(),
        "default forwards nothing: {default_status}"
    );
    let (status, refused) = api_in(
        &app,
        reqwest::Method::PUT,
        "/settings/forwarding",
        "alpha",
        Some(&json!({"endpoint": "https://elsewhere:4317"})),
    )
    .await?;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("http:// URL"), "{refused}");
    Ok(())
}

/// The project the configuration's files configure (`default`) can be deleted while another
/// is left: its records go, the server keeps taking telemetry, which the organization's
/// credentials now send to the project left, and a restart gives the files to that one.
#[tokio::test]
async fn the_configured_project_is_deleted_and_the_one_left_takes_over() -> Result {
    let t = TestServer::start(|_| {}).await?;
    create_project(&t.app_url(""), "alpha").await?;
    t.export(&llm_traces(1, 2)).await?;
    let spans_in = |t: &TestServer, project: &str| -> Result<u64> {
        Ok(t.project_store(project)?
            .aggregate_exact(&AggregateQuery::new(SpanFilter::new(), []))?
            .first()
            .map_or(0, |r| r.count))
    };
    assert_eq!(spans_in(&t, "default")?, 2);
    let (status, deleted) = api_in(
        &t.app_url(""),
        reqwest::Method::DELETE,
        "/projects/default",
        "default",
        None,
    )
    .await?;
    assert_eq!(status, 200, "{deleted}");
    assert!(t.project_store("default").is_err(), "gone");

    t.export(&llm_traces(10, 3)).await?;
    assert_eq!(
        spans_in(&t, "alpha")?,
        3,
        "sent without a project: the one left"
    );
    let status = get(&t.app_url("/api/v1/status"), &[]).await?;
    assert_eq!(status.status, 200, "{}", status.text());

    let t = t.restart(|_| {}).await?;
    t.export(&llm_traces(20, 1)).await?;
    assert_eq!(spans_in(&t, "alpha")?, 4);
    let (_, projects) = api_in(
        &t.app_url(""),
        reqwest::Method::GET,
        "/projects",
        "alpha",
        None,
    )
    .await?;
    assert_eq!(
        projects["projects"].as_array().map(Vec::len),
        Some(1),
        "{projects}"
    );
    Ok(())
}

/// Where a project's settings may send (`outbound_hosts`): without a list, anywhere but a
/// link-local address (cloud metadata); with one, the hosts it names only — for each URL of a
/// setting (alert channels, judges, forwarding), refused with 400 naming the host.
#[tokio::test]
async fn a_projects_settings_send_only_where_the_operator_allows() -> Result {
    let put = |app: String, kind: &'static str, document: Value| async move {
        api_in(
            &app,
            reqwest::Method::PUT,
            &format!("/settings/{kind}"),
            "default",
            Some(&document),
        )
        .await
    };
    let open = TestServer::start(|_| {}).await?;
    let metadata = json!({"endpoint": "http://169.254.169.254/latest"});
    let (status, answer) = put(open.app_url(""), "forwarding", metadata).await?;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("link-local")),
        "{answer}"
    );
    let (status, answer) = put(
        open.app_url(""),
        "forwarding",
        json!({"endpoint": "http://collector.internal:4318"}),
    )
    .await?;
    assert_eq!(status, 200, "no list: any other host: {answer}");

    let listed = TestServer::start(|c| {
        c.outbound_hosts = vec!["*.example.com".into(), "127.0.0.0/8".into()];
    })
    .await?;
    let app = listed.app_url("");
    for (kind, document) in [
        (
            "forwarding",
            json!({"endpoint": "http://collector.internal:4318"}),
        ),
        (
            "alerts",
            json!({"channels": [
                {"name": "team", "type": "webhook", "url": "http://hooks.example.com/a"},
                {"name": "inside", "type": "alertmanager", "url": "http://collector.internal:9093"}
            ]}),
        ),
    ] {
        let (status, answer) = put(app.clone(), kind, document).await?;
        assert_eq!(status, 400, "{kind}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("collector.internal is not among")
                && message.contains("outbound_hosts"),
            "{kind}: {answer}"
        );
    }
    let (_, settings) = api_in(&app, reqwest::Method::GET, "/settings", "default", None).await?;
    assert!(
        !settings.to_string().contains("collector.internal"),
        "nothing refused was stored: {settings}"
    );
    for endpoint in ["http://otel.example.com:4318", "http://127.0.0.1:9"] {
        let (status, answer) =
            put(app.clone(), "forwarding", json!({ "endpoint": endpoint })).await?;
        assert_eq!(status, 200, "{endpoint}: {answer}");
    }
    Ok(())
}
