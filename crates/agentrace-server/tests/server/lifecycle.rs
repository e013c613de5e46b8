//! The app port, the fan-out pipeline (`/metrics`, forwarding), the demo workload.

use agentrace_store::Analytics;
use agentrace_store::TraceReader;
use std::time::Duration;

use agentrace_otlp::Protocol;
use agentrace_server::config::Forward;
use agentrace_sqlite::RecordKind;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};

use crate::common::*;

#[tokio::test]
async fn the_api_serves_what_was_received_and_the_pipeline_status() -> Result {
    let t = TestServer::start(|_| {}).await?;
    t.export(&llm_traces(1, 2)).await?;
    // Acknowledged means queryable: no waiting.
    let traces = get(&t.app_url("/api/v1/traces"), &[]).await?;
    assert_eq!(traces.status, 200, "{}", traces.text());
    let page: serde_json::Value = serde_json::from_slice(&traces.body)?;
    assert_eq!(page["traces"].as_array().map(Vec::len), Some(2), "{page}");
    let status = get(&t.app_url("/api/v1/status"), &[]).await?;
    assert_eq!(status.status, 200, "{}", status.text());
    assert!(status.text().contains("\"stored\":2"), "{}", status.text());
    Ok(())
}

#[tokio::test]
async fn health_and_readiness() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let health = get(&t.app_url("/healthz"), &[]).await?;
    assert_eq!(health.status, 200);
    let ready = get(&t.app_url("/readyz"), &[]).await?;
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert!(ready.text().contains("ready"));
    Ok(())
}

async fn metrics_text(t: &TestServer) -> Result<String> {
    Ok(get(&t.app_url("/metrics"), &[]).await?.text())
}

/// The log lines written through a subscriber, for reading back.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn a_store_that_cannot_write_is_logged_counted_and_unready_until_a_commit_succeeds() -> Result
{
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The server logs through the subscriber of the thread that starts it.
    let _log = tracing::subscriber::set_default(subscriber);
    let t = TestServer::start(|_| {}).await?;
    assert_eq!(get(&t.app_url("/readyz"), &[]).await?.status, 200);

    // Another process holds the write lock longer than the writer waits (5 s): the commit
    // fails for the store's sake, and the sender is told to try again.
    let lock = WriteLock::take(&t)?;
    let url = t.http_url("/v1/traces");
    let answer = post(&url, PROTOBUF, &[], protobuf(&llm_traces(1, 2))).await?;
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert_eq!(answer.header("retry-after"), Some("1"));

    let ready = get(&t.app_url("/readyz"), &[]).await?;
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(
        ready.text().contains("storing has failed since"),
        "{}",
        ready.text()
    );
    let status: serde_json::Value =
        serde_json::from_slice(&get(&t.app_url("/api/v1/status"), &[]).await?.body)?;
    assert!(
        status["writer"]["failing_since_unix_nano"].is_u64(),
        "{status}"
    );
    assert_eq!(status["writer"]["errors"], 1, "{status}");
    let metrics = metrics_text(&t).await?;
    assert!(
        metrics.contains("agentrace_server_store_failing 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("agentrace_server_write_errors_total 1\n"),
        "{metrics}"
    );
    assert!(
        log.text().contains("storing received records failed"),
        "the failure is logged: {}",
        log.text()
    );

    lock.release()?;
    let answer = post(&url, PROTOBUF, &[], protobuf(&llm_traces(3, 2))).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(get(&t.app_url("/readyz"), &[]).await?.status, 200);
    assert!(
        metrics_text(&t)
            .await?
            .contains("agentrace_server_store_failing 0\n")
    );
    assert!(
        log.text().contains("storing received records works again"),
        "{}",
        log.text()
    );
    // The refused request stored nothing; the sender will send it again.
    assert_eq!(t.stored(RecordKind::Spans)?, 2);
    Ok(())
}

#[tokio::test]
async fn received_metrics_are_stored_and_they_and_span_metrics_reach_slash_metrics() -> Result {
    let t = TestServer::start(|_| {}).await?;
    t.export(&llm_traces(1, 2)).await?;
    let gauge = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "queue.depth".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: now(),
                            value: Some(number_data_point::Value::AsInt(7)),
                            ..NumberDataPoint::default()
                        }],
                    })),
                    ..Metric::default()
                }],
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    };
    let answer = post(&t.http_url("/v1/metrics"), JSON, &[], json(&gauge)?).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(t.server.stats().measurements.accepted, 1);
    // Acknowledged means stored: readable at once, through the store and the API.
    assert_eq!(t.server.stats().measurements.stored, 1);
    let stored = t
        .fresh_store()?
        .metric(&agentrace_sqlite::MetricQuery::new("queue.depth"))?;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].kind.as_str(), stored[0].points[0].last),
        ("gauge", 7.0)
    );
    let api = get(&t.app_url("/api/v1/metrics/queue.depth"), &[]).await?;
    assert_eq!(api.status, 200, "{}", api.text());
    assert!(api.text().contains(r#""last":7.0"#), "{}", api.text());

    let mut text = String::new();
    for _ in 0..200 {
        text = metrics_text(&t).await?;
        if text.contains("gen_ai_client_token_usage") && text.contains("queue_depth") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(text.contains(r#"gen_ai_request_model="gpt-4o""#), "{text}");
    assert!(text.contains("agentrace_cost_usd_total"), "{text}");
    assert!(text.contains("queue_depth"), "{text}");
    Ok(())
}

#[tokio::test]
async fn received_data_is_forwarded_upstream() -> Result {
    let upstream = TestServer::start(|_| {}).await?;
    let endpoint = format!("http://{}", upstream.server.otlp_http_addr());
    let t = TestServer::start(|c| c.forward = Some(Forward::new(endpoint, Protocol::HttpProtobuf)))
        .await?;
    t.export(&llm_traces(1, 3)).await?;
    let answer = post(
        &t.http_url("/v1/logs"),
        PROTOBUF,
        &[],
        protobuf(&logs(&["hello"])),
    )
    .await?;
    assert_eq!(answer.status, 200);
    let arrived = eventually(Duration::from_secs(10), || {
        Ok(upstream.stored(RecordKind::Spans)? == 3 && upstream.stored(RecordKind::Events)? == 1)
    })
    .await?;
    assert!(
        arrived,
        "upstream has {:?} spans",
        upstream.stored(RecordKind::Spans)
    );
    let forwarded = upstream
        .fresh_store()?
        .spans(&agentrace_sqlite::SpanQuery::new(Default::default()))?;
    assert!(
        forwarded.spans.iter().all(|s| s.cost.is_some()),
        "forwarded with their cost"
    );
    Ok(())
}

#[tokio::test]
async fn a_down_upstream_never_blocks_local_storage() -> Result {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let endpoint = format!("http://{closed}");
    let t = TestServer::start(|c| c.forward = Some(Forward::new(endpoint, Protocol::Grpc))).await?;
    for i in 0..5 {
        t.export(&llm_traces(i * 10, 10)).await?;
    }
    assert_eq!(t.stored(RecordKind::Spans)?, 50);
    let stats = t.server.stats();
    let forward = stats.pipeline.ok_or("no pipeline")?;
    assert!(forward.sinks.iter().any(|s| s.name == "forward"));
    Ok(())
}

#[tokio::test]
async fn the_demo_fills_the_store_through_the_same_path() -> Result {
    let t = TestServer::start(|c| c.demo = true).await?;
    let filled = eventually(Duration::from_secs(20), || {
        Ok(t.stored(RecordKind::Spans)? > 20 && t.stored(RecordKind::Events)? > 20)
    })
    .await?;
    assert!(filled);
    // Two projects: `default`, and `staging` with one run in four, its own.
    let organization =
        agentrace_sqlite::SqliteOrganization::open(t.dir.path().join("agentrace.db"))?;
    let staging = agentrace_store::Organization::project_named(&organization, "staging")?
        .ok_or("the demo's second project")?;
    let staging = agentrace_store::Organization::store(&organization, staging.id)?;
    let in_staging = eventually(Duration::from_secs(20), || {
        Ok(staging.count(RecordKind::Spans)? > 0)
    })
    .await?;
    assert!(in_staging, "the demo's second project holds runs");
    let store = t.fresh_store()?;
    let stats = t.server.stats();
    assert!(stats.spans.accepted > 20 && stats.requests.received >= 2);
    assert_eq!(stats.spans.rejected, 0, "the demo's spans are all valid");
    let spans = store
        .spans(&agentrace_sqlite::SpanQuery::new(Default::default()))?
        .spans;
    let providers: std::collections::HashSet<_> =
        spans.iter().filter_map(|s| s.provider.clone()).collect();
    assert!(providers.len() >= 2, "{providers:?}");
    assert!(spans.iter().any(|s| s.tool_name.is_some()));
    assert!(
        spans
            .iter()
            .any(|s| s.session_id.is_some() && s.user_id.is_some())
    );
    assert!(spans.iter().any(|s| s.cost.is_some()));
    // Tools on MCP servers: each server's own span under the agent's call, of the same server
    // (its service name), and the call counted once, under its server.
    let server_of = |s: &agentrace_core::SpanRecord| {
        s.attributes
            .get(agentrace_core::semconv::agentrace::MCP_SERVER)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let served: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == agentrace_core::SpanKind::Mcp)
        .collect();
    assert!(!served.is_empty(), "the MCP servers' own spans");
    for s in served {
        let call = spans
            .iter()
            .find(|c| Some(c.span_id) == s.parent_span_id)
            .ok_or("an MCP server's span without its call")?;
        assert_eq!(call.kind, agentrace_core::SpanKind::Tool);
        assert_eq!(server_of(call), server_of(s));
        assert_eq!(server_of(s).as_deref(), Some(&*s.resource.service_name));
    }
    let tools = store.tools(agentrace_store::TimeRange::ALL, 3, None)?;
    assert!(
        tools.tools.iter().any(|t| t.mcp_server.is_some()),
        "{:?}",
        tools.tools
    );
    // Three objectives, the tools' burning its budget.
    // The demo's history arrives in several requests: on a loaded machine the first ones may
    // be all that is stored yet. Wait until the tools' failures show.
    let mut slos = serde_json::Value::Null;
    for _ in 0..50 {
        slos = get(&t.app_url("/api/v1/slos"), &[]).await?.json()?;
        if slos["slos"][1]["burn_rate"].as_f64() > Some(1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let names: Vec<&str> = slos["slos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["slo"]["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "support runs succeed",
            "tool calls succeed",
            "answers are helpful"
        ]
    );
    let burn = slos["slos"][1]["burn_rate"].as_f64().unwrap_or_default();
    assert!(burn > 1.0, "the demo's tools burn their budget: {slos}");
    // ... and its burn-rate alerts fire through the alert engine (evaluated every 10 s).
    let mut firing = Vec::new();
    for _ in 0..30 {
        let alerts: serde_json::Value = get(&t.app_url("/api/v1/alerts"), &[]).await?.json()?;
        firing = alerts["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| {
                a["rule"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("tool calls succeed burn rate"))
                    && a["state"] != "OK"
            })
            .map(|a| a["rule"].to_string())
            .collect();
        if !firing.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(
        !firing.is_empty(),
        "a burn-rate alert of the tools' SLO fires"
    );
    t.server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn price_files_and_budgets_apply_to_received_spans_and_survive_a_restart() -> Result {
    let dir = tempfile::tempdir()?;
    let prices = dir.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"format":"agentrace.prices/1","models":[{"provider":"house","model":"house-model","prices":[{"since":"2024-01-01","input":1000,"output":1000}]}]}"#,
    )?;
    let budgets = dir.path().join("budgets.toml");
    std::fs::write(
        &budgets,
        "[[budget]]\nname = \"all\"\nscope = \"global\"\nperiod = \"total\"\nlimit_usd = 100.0\n",
    )?;
    let data = dir.path().join("data");
    let mut config = agentrace_server::ServerConfig::new(&data).with_any_free_ports();
    config.prices = vec![prices];
    config.budgets = Some(budgets);
    let server = agentrace_server::Server::start(config.clone()).await?;
    let mut request = llm_traces(1, 1);
    let span = &mut request.resource_spans[0].scope_spans[0].spans[0];
    for kv in &mut span.attributes {
        match kv.key.as_str() {
            "gen_ai.request.model" => *kv = text("gen_ai.request.model", "house-model"),
            "gen_ai.provider.name" => *kv = text("gen_ai.provider.name", "house"),
            _ => {}
        }
    }
    let url = format!("http://{}/v1/traces", server.otlp_http_addr());
    assert_eq!(
        post(&url, PROTOBUF, &[], protobuf(&request)).await?.status,
        200
    );
    // 1,000 input + 200 output tokens at $1,000 per million each: $1.20.
    let spent = |server: &agentrace_server::RunningServer| {
        server
            .state()
            .configured_budgets()
            .and_then(|b| b.status().first().map(|s| s.spent))
    };
    assert_eq!(spent(&server), Some(agentrace_core::Usd::from_dollars(1.2)));
    server.shutdown().await?;

    // A restart restores the spend from the store.
    let server = agentrace_server::Server::start(config).await?;
    assert_eq!(spent(&server), Some(agentrace_core::Usd::from_dollars(1.2)));
    server.shutdown().await?;
    Ok(())
}
