//! Alerts end to end: an alerts file with a rule and a signed webhook, failing LLM calls over
//! OTLP, a budget crossing its thresholds; the webhook hears both, `/api/v1/alerts` and the
//! live feed show them, and a restart does not notify again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrace_alerts::webhook;
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post as route_post;
use futures_util::StreamExt;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{
    PROTOBUF, Result, TestServer, api_in, create_project, get, llm_span, llm_traces, now, post,
    protobuf, span_id, text, trace_id, traces,
};

const SECRET: &str = "webhook-secret";

type Received = Arc<Mutex<Vec<Value>>>;

/// A webhook receiver that keeps the notifications whose signature checks out.
async fn receiver() -> Result<(String, Received)> {
    let received: Received = Arc::default();
    let seen = Arc::clone(&received);
    let app = Router::new().route(
        "/hook",
        route_post(move |headers: HeaderMap, body: Bytes| {
            let seen = Arc::clone(&seen);
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let timestamp = header(webhook::TIMESTAMP_HEADER).and_then(|t| t.parse().ok());
                let signature = header(webhook::SIGNATURE_HEADER);
                let valid = matches!((timestamp, signature), (Some(t), Some(s)) if s == webhook::sign(SECRET, t, &body));
                if !valid {
                    return StatusCode::UNAUTHORIZED;
                }
                match serde_json::from_slice(&body) {
                    Ok(json) => {
                        seen.lock().unwrap_or_else(|e| e.into_inner()).push(json);
                        StatusCode::OK
                    }
                    Err(_) => StatusCode::BAD_REQUEST,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, received))
}

/// The alerts file's head: evaluated every second, one channel, the signed webhook at `hook`.
fn alerts_head(hook: &str) -> String {
    format!(
        "interval = \"1s\"\n\n[[channels]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"{hook}\"\nsecret = \"{SECRET}\"\n"
    )
}

/// An alerts file in `dir`: the webhook channel to `hook` (every second), then `rest`.
fn alerts_file(dir: &std::path::Path, hook: &str, rest: &str) -> Result<std::path::PathBuf> {
    let path = dir.join("alerts.toml");
    std::fs::write(&path, format!("{}\n{rest}", alerts_head(hook)))?;
    Ok(path)
}

fn files(dir: &std::path::Path, hook: &str) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let alerts = dir.join("alerts.toml");
    std::fs::write(
        &alerts,
        format!(
            r#"{}

[[rules]]
name = "llm errors"
measure = "error_rate"
window = "5m"
per = "model"
min_requests = 3
warning = 0.2
critical = 0.5
description = "LLM calls failing"
"#,
            alerts_head(hook)
        ),
    )?;
    let budgets = dir.join("budgets.toml");
    std::fs::write(
        &budgets,
        "[[budget]]\nname = \"tiny\"\nscope = \"global\"\nperiod = \"day\"\nlimit_usd = 0.001\n",
    )?;
    Ok((alerts, budgets))
}

fn failed(mut span: Span) -> Span {
    span.status = Some(Status {
        code: 2,
        message: "rate limited".into(),
    });
    span
}

async fn wait_for(received: &Received, what: &str, found: impl Fn(&[Value]) -> bool) -> Result {
    for _ in 0..300 {
        if found(&received.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!(
        "no {what}; the webhook got {:?}",
        received.lock().unwrap_or_else(|e| e.into_inner())
    )
    .into())
}

async fn alerts_api(t: &TestServer) -> Result<Value> {
    Ok(reqwest::get(t.app_url("/api/v1/alerts"))
        .await?
        .json()
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_calls_and_a_budget_alert_through_the_webhook_once() -> Result {
    let (hook, received) = receiver().await?;
    let config_dir = tempfile::tempdir()?;
    let (alerts, budgets) = files(config_dir.path(), &hook)?;
    let t = TestServer::start(|c| {
        c.alerts = Some(alerts.clone());
        c.budgets = Some(budgets.clone());
    })
    .await?;
    let (mut live, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/live", t.server.app_addr()))
            .await?;

    // Four calls to gpt-4o a minute ago, three failed: 75 %.
    let start = now() - 60_000_000_000;
    let spans = (1..=4)
        .map(|i| {
            let span = llm_span(i, i, start + i);
            if i == 1 { span } else { failed(span) }
        })
        .collect();
    t.export(&traces(spans)).await?;

    wait_for(&received, "ALERT for gpt-4o", |got| {
        got.iter()
            .any(|n| n["alert"] == "llm errors{model=gpt-4o}" && n["state"] == "ALERT")
    })
    .await?;
    wait_for(&received, "budget threshold", |got| {
        got.iter().any(|n| n["rule"] == "budget:tiny")
    })
    .await?;
    let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let alert = got
        .iter()
        .find(|n| n["rule"] == "llm errors")
        .ok_or("the rule's notification")?;
    assert_eq!(alert["previous"], "OK");
    assert_eq!(alert["value"], 0.75);
    assert_eq!(alert["requests"], 4);
    assert_eq!(alert["labels"]["model"], "gpt-4o");
    assert_eq!(alert["description"], "LLM calls failing");
    assert!(
        alert["summary"]
            .as_str()
            .is_some_and(|s| s.contains("error_rate 75.0 % over 5m")),
        "{alert}"
    );

    let api = alerts_api(&t).await?;
    assert_eq!(api["interval_seconds"], 1);
    assert_eq!(api["rules"][0]["name"], "llm errors");
    assert_eq!(api["alerts"][0]["state"], "ALERT");
    let history: Vec<&str> = api["history"]
        .as_array()
        .ok_or("history")?
        .iter()
        .filter_map(|n| n["rule"].as_str())
        .collect();
    assert!(history.contains(&"llm errors") && history.iter().any(|r| r.starts_with("budget:")));
    assert_eq!(api["channels"][0]["name"], "ops");
    assert!(api["channels"][0]["delivered"].as_u64() >= Some(2), "{api}");
    assert_eq!(api["channels"][0]["failing"], false);

    // The live feed carried them.
    let mut seen_on_feed = false;
    while !seen_on_feed {
        let message = tokio::time::timeout(Duration::from_secs(10), live.next())
            .await?
            .ok_or("the feed ended")??;
        if let Message::Text(text) = message {
            let m: Value = serde_json::from_str(&text)?;
            seen_on_feed = m["type"] == "alerts"
                && m["alerts"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|n| n["rule"] == "llm errors"));
        }
    }

    // A restart resumes the alert: no second notification for the same state.
    let rule_notifications =
        |got: &[Value]| got.iter().filter(|n| n["rule"] == "llm errors").count();
    let before = rule_notifications(&received.lock().unwrap_or_else(|e| e.into_inner()));
    assert_eq!(before, 1);
    let TestServer { server, dir } = t;
    server.shutdown().await?;
    let t = TestServer {
        server: agentrace_server::Server::start({
            let mut c = agentrace_server::ServerConfig::new(dir.path()).with_any_free_ports();
            c.alerts = Some(alerts);
            c
        })
        .await?,
        dir,
    };
    // Three evaluations.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let after = rule_notifications(&received.lock().unwrap_or_else(|e| e.into_inner()));
    assert_eq!(after, 1, "notified again after the restart");
    let api = alerts_api(&t).await?;
    assert_eq!(api["alerts"][0]["state"], "ALERT");
    Ok(())
}

/// An OTLP/JSON metrics request: the gauge `process.cpu.utilization` of two hosts.
fn cpu_gauges(a: f64, b: f64) -> String {
    let now = now();
    let point = |host: &str, value: f64| {
        format!(
            r#"{{"asDouble": {value}, "timeUnixNano": "{now}",
                "attributes": [{{"key": "host.name", "value": {{"stringValue": "{host}"}}}}]}}"#
        )
    };
    format!(
        r#"{{"resourceMetrics": [{{"resource": {{"attributes": [{{"key": "service.name", "value": {{"stringValue": "agents"}}}}]}},
            "scopeMetrics": [{{"metrics": [{{"name": "process.cpu.utilization", "unit": "1",
              "gauge": {{"dataPoints": [{}, {}]}}}}]}}]}}]}}"#,
        point("a", a),
        point("b", b)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_metrics_and_the_server_itself_alert_too() -> Result {
    let (hook, received) = receiver().await?;
    let config_dir = tempfile::tempdir()?;
    let alerts = config_dir.path().join("alerts.toml");
    std::fs::write(
        &alerts,
        format!(
            r#"{}

[[rules]]
name = "host cpu"
measure = "metric"
metric = "process.cpu.utilization"
aggregate = "max"
per_label = "host.name"
window = "5m"
critical = 0.9

[[rules]]
name = "store size"
measure = "server_store"
window = "1m"
critical = 1024

[[rules]]
name = "memory"
measure = "server_memory"
window = "1m"
critical = 1e15
"#,
            alerts_head(&hook)
        ),
    )?;
    let t = TestServer::start(|c| c.alerts = Some(alerts.clone())).await?;
    let answer = post(
        &t.http_url("/v1/metrics"),
        crate::common::JSON,
        &[],
        cpu_gauges(0.95, 0.2).into_bytes(),
    )
    .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    wait_for(&received, "ALERT for host a and for the store", |got| {
        got.iter()
            .any(|n| n["alert"] == "host cpu{host.name=a}" && n["state"] == "ALERT")
            && got
                .iter()
                .any(|n| n["alert"] == "store size" && n["state"] == "ALERT")
    })
    .await?;
    let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let host_a = got
        .iter()
        .find(|n| n["alert"] == "host cpu{host.name=a}")
        .ok_or("host a")?;
    assert_eq!(host_a["value"], 0.95);
    assert_eq!(host_a["labels"]["metric"], "process.cpu.utilization");
    assert!(
        !got.iter().any(|n| n["alert"] == "host cpu{host.name=b}"),
        "host b is fine and starts OK: nothing to say"
    );
    assert!(
        !got.iter().any(|n| n["rule"] == "memory"),
        "the server's memory is measured and under its limit"
    );
    let api = alerts_api(&t).await?;
    let memory = api["alerts"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["rule"] == "memory"))
        .cloned()
        .ok_or("the memory alert is judged")?;
    assert_eq!(memory["state"], "OK");
    assert!(
        memory["value"].as_f64().is_some_and(|v| v > 1e6),
        "{memory}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quality_below_its_floor_alerts_per_model_with_enough_scores() -> Result {
    let (hook, received) = receiver().await?;
    let config_dir = tempfile::tempdir()?;
    let alerts = config_dir.path().join("alerts.toml");
    std::fs::write(
        &alerts,
        format!(
            r#"{}

[[rules]]
name = "unhelpful"
measure = "score_mean"
score = "helpfulness"
per = "model"
window = "5m"
min_requests = 3
warning = 0.7
critical = 0.4

[[rules]]
name = "json"
measure = "score_pass_rate"
score = "answer_is_json"
window = "5m"
critical = 0.5
"#,
            alerts_head(&hook)
        ),
    )?;
    let t = TestServer::start(|c| c.alerts = Some(alerts.clone())).await?;
    // Calls of two models; the judge scores gpt-4o low three times, another model low once
    // (fewer than min_requests: not judged), and half the answers are not JSON.
    let start = now() - 60_000_000_000;
    let mut spans = Vec::new();
    for i in 1..=4 {
        let mut span = llm_span(i, i, start);
        if i == 4 {
            span.attributes
                .retain(|kv| kv.key != "gen_ai.request.model");
            span.attributes
                .push(text("gen_ai.request.model", "gpt-4o-mini"));
        }
        spans.push(span);
    }
    t.export(&traces(spans)).await?;
    let hexed = |bytes: Vec<u8>| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let scores: Vec<Value> = (1..=4u64)
        .flat_map(|i| {
            let (trace, span) = (hexed(trace_id(i)), hexed(span_id(i)));
            [
                serde_json::json!({"trace_id": trace, "span_id": span, "name": "helpfulness", "value": 0.3}),
                serde_json::json!({"trace_id": trace, "span_id": span, "name": "answer_is_json",
                                   "data_type": "boolean", "value": i % 2}),
            ]
        })
        .collect();
    let answer = post(
        &t.app_url("/api/v1/scores"),
        crate::common::JSON,
        &[],
        serde_json::to_vec(&serde_json::json!({"scores": scores}))?,
    )
    .await?;
    assert_eq!(answer.status, 201, "{}", answer.text());
    wait_for(&received, "the quality alerts", |got| {
        got.iter()
            .any(|n| n["alert"] == "unhelpful{model=gpt-4o}" && n["state"] == "ALERT")
            && got
                .iter()
                .any(|n| n["alert"] == "json" && n["state"] == "ALERT")
    })
    .await?;
    let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let low = got
        .iter()
        .find(|n| n["alert"] == "unhelpful{model=gpt-4o}")
        .ok_or("gpt-4o's alert")?;
    assert_eq!(low["value"], 0.3, "{low}");
    let json = got.iter().find(|n| n["alert"] == "json").ok_or("json")?;
    assert_eq!(json["value"], 0.5, "{json}");
    assert!(
        !got.iter()
            .any(|n| n["alert"] == "unhelpful{model=gpt-4o-mini}"),
        "one score is below min_requests: not judged"
    );
    // And the scores are series on /metrics.
    let metrics = get(&t.app_url("/metrics"), &[]).await?.text();
    for line in [
        "agentrace_scores_total{score_name=\"helpfulness\",score_source=\"api\"} 4",
        "agentrace_score_value_sum{score_name=\"helpfulness\",score_source=\"api\"} 1.2",
        "agentrace_score_passed_total{score_name=\"answer_is_json\",score_source=\"api\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_slo_of_agent_runs_is_judged_on_the_rollups_with_its_budget_and_burn() -> Result {
    let (hook, received) = receiver().await?;
    let config_dir = tempfile::tempdir()?;
    let alerts = alerts_file(
        config_dir.path(),
        &hook,
        r#"
[[slos]]
name = "runs succeed"
objective = 0.9
window = "28d"
indicator = { type = "success", of = "agent_runs" }
# A scope in the filter syntax (docs/search.md): the same as `{ service = "svc" }`.
scope = "service:svc"

[[slos]]
name = "runs are fast"
objective = 0.4
window = "7d"
indicator = { type = "latency", of = "agent_runs", threshold = "5s" }

[[slos]]
name = "helper runs succeed among all"
objective = 0.5
window = "7d"
indicator = { type = "ratio", good = { of = "agent_runs", scope = "agent:helper", status = "ok" }, total = { of = "agent_runs" } }
"#,
    )?;
    let t = TestServer::start(|c| c.alerts = Some(alerts.clone())).await?;
    // Ten agent runs in the last minutes, three failed: 30 % bad against a 10 % budget. Run
    // i lasts i seconds: five within 5 s.
    let start = now() - 120_000_000_000;
    let runs: Vec<_> = (1..=10u64)
        .map(|i| {
            let mut s = llm_span(i, i, start);
            s.end_time_unix_nano = start + i * 1_000_000_000;
            s.name = "invoke_agent helper".into();
            s.attributes = vec![
                text("gen_ai.operation.name", "invoke_agent"),
                text("gen_ai.agent.name", "helper"),
            ];
            if i <= 3 {
                s.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
                    code: 2,
                    message: "gave up".into(),
                });
            }
            s
        })
        .collect();
    t.export(&traces(runs)).await?;
    let slos: Value = get(&t.app_url("/api/v1/slos"), &[]).await?.json()?;
    let status = &slos["slos"][0];
    assert_eq!(status["slo"]["name"], "runs succeed", "{slos}");
    assert_eq!(
        status["counts"],
        serde_json::json!({"good": 7, "total": 10})
    );
    assert_eq!(status["attainment"], 0.7);
    let left = status["budget_remaining"].as_f64().ok_or("a budget")?;
    assert!((left - -2.0).abs() < 1e-9, "overspent twice over: {left}");
    let hour = status["burn_rates"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["window"] == "1h"))
        .ok_or("the hour's burn rate")?;
    assert!(
        (hour["burn_rate"].as_f64().unwrap_or_default() - 3.0).abs() < 1e-9,
        "{hour}"
    );
    let firing: Vec<&Value> = status["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["firing"] == true)
        .collect();
    assert_eq!(
        firing.len(),
        1,
        "3× burns past the 3-day pair's 1×: {status}"
    );
    assert_eq!(firing[0]["severity"], "warning");
    let fast = &slos["slos"][1];
    assert_eq!(fast["slo"]["name"], "runs are fast", "{slos}");
    assert_eq!(fast["counts"], serde_json::json!({"good": 5, "total": 10}));
    assert_eq!(
        fast["slo"]["indicator"],
        serde_json::json!({"type": "latency", "of": "agent_runs", "threshold": "5s"})
    );
    let ratio = &slos["slos"][2];
    assert_eq!(
        ratio["counts"],
        serde_json::json!({"good": 7, "total": 10}),
        "{ratio}"
    );

    // One SLO: its burn-down over the window and the runs that spent its budget.
    let one: Value = get(&t.app_url("/api/v1/slos/runs%20succeed?points=4"), &[])
        .await?
        .json()?;
    assert_eq!(one["counts"], status["counts"], "{one}");
    let points = one["burn_down"].as_array().ok_or("a burn-down")?;
    assert_eq!(points.len(), 5, "{one}");
    assert_eq!(
        points[0]["counts"],
        serde_json::json!({"good": 0, "total": 0})
    );
    assert_eq!(
        points[0]["budget_remaining"],
        Value::Null,
        "no run 28 days ago"
    );
    assert_eq!(
        points[4]["counts"],
        serde_json::json!({"good": 7, "total": 10})
    );
    assert_eq!(points[4]["budget_remaining"], status["budget_remaining"]);
    let bad = one["bad_events"].as_array().ok_or("bad events")?;
    assert_eq!(bad.len(), 3, "the three failed runs: {one}");
    assert!(
        bad.iter()
            .all(|e| e["error"] == "gave up" && e["name"] == "invoke_agent helper"),
        "{one}"
    );
    let slow: Value = get(&t.app_url("/api/v1/slos/runs%20are%20fast?limit=100"), &[])
        .await?
        .json()?;
    let mut slow: Vec<u64> = slow["bad_events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["duration_ns"].as_u64())
        .collect();
    slow.sort_unstable();
    assert_eq!(
        slow,
        (6..=10).map(|s| s * 1_000_000_000).collect::<Vec<_>>(),
        "the runs longer than 5 s"
    );
    let ratio_one: Value = get(
        &t.app_url("/api/v1/slos/helper%20runs%20succeed%20among%20all"),
        &[],
    )
    .await?
    .json()?;
    assert_eq!(
        ratio_one["bad_events"],
        Value::Null,
        "a ratio narrowed by scope has no one filter of bad events"
    );
    assert_eq!(
        get(&t.app_url("/api/v1/slos/nothing"), &[]).await?.status,
        404
    );
    assert_eq!(
        get(&t.app_url("/api/v1/slos/runs%20succeed?points=0"), &[])
            .await?
            .status,
        400
    );

    // The same alert through the engine: its state, its notification, its channel.
    wait_for(&received, "the 3-day burn-rate WARNING", |got| {
        got.iter()
            .any(|n| n["rule"] == "runs succeed burn rate 3d/6h" && n["state"] == "WARNING")
    })
    .await?;
    let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let rules: Vec<&Value> = got.iter().map(|n| &n["rule"]).collect();
    assert_eq!(
        rules.len(),
        1,
        "the 1 h and 6 h pairs burn at 3×, below 14.4× and 6×: {rules:?}"
    );
    let value = got[0]["value"].as_f64().unwrap_or_default();
    assert!((value - 3.0).abs() < 1e-9, "{}", got[0]);
    assert_eq!(got[0]["requests"], 10);
    assert!(
        got[0]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("burn_rate 3.0× over 3d and 6h (warning at 1.0×")),
        "{}",
        got[0]
    );
    let api = alerts_api(&t).await?;
    let names: Vec<&Value> = api["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| &r["name"])
        .collect();
    assert_eq!(
        names,
        [
            "runs succeed burn rate 1h/5m",
            "runs succeed burn rate 6h/30m",
            "runs succeed burn rate 3d/6h",
            "runs are fast burn rate 1h/5m",
            "runs are fast burn rate 6h/30m",
            "runs are fast burn rate 3d/6h",
            "helper runs succeed among all burn rate 1h/5m",
            "helper runs succeed among all burn rate 6h/30m",
            "helper runs succeed among all burn rate 3d/6h"
        ]
    );
    assert_eq!(api["rules"][2]["slo"], "runs succeed");
    assert_eq!(api["rules"][2]["short_window"], "6h");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_goes_out_at_the_end_of_each_period_once_across_a_restart() -> Result {
    let (hook, received) = receiver().await?;
    let config_dir = tempfile::tempdir()?;
    let alerts = alerts_file(
        config_dir.path(),
        &hook,
        r#"
[[slos]]
name = "runs succeed"
objective = 0.9
window = "28d"
indicator = { type = "success", of = "agent_runs" }

[report]
every = "1m"
link = "https://agentrace.example.com/"
"#,
    )?;
    let t = TestServer::start(|c| c.alerts = Some(alerts.clone())).await?;
    t.export(&llm_traces(1, 3)).await?;
    // Another project reports on its own, through its alerts setting.
    let app = t.app_url("");
    create_project(&app, "alpha").await?;
    let setting = serde_json::json!({
        "interval": "1s",
        "channels": [{"name": "ops", "type": "webhook", "url": hook, "secret": SECRET}],
        "report": {"every": "1m", "link": "https://agentrace.example.com/"}
    });
    let (status, body) = api_in(
        &app,
        reqwest::Method::PUT,
        "/settings/alerts",
        "alpha",
        Some(&setting),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    // Five calls in this minute and five in the next: alpha's first period, ending after its
    // alerting started, holds five whichever it is.
    let at = now();
    let alpha_calls = traces(
        (0..10)
            .map(|i| llm_span(100 + i, 100 + i, at + (i / 5) * 60_000_000_000 + i))
            .collect(),
    );
    t.send_to("/v1/traces", "alpha", &alpha_calls).await?;
    // The first period to report is the one that ends after the start: within a minute.
    let reports_of = |project: &'static str| {
        let received = Arc::clone(&received);
        move || -> Vec<Value> {
            received
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|n| n["type"] == "report" && n["project"] == project)
                .cloned()
                .collect()
        }
    };
    let reports = reports_of("default");
    let alpha_reports = reports_of("alpha");
    for _ in 0..1_600 {
        if !reports().is_empty() && !alpha_reports().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = reports().into_iter().next().ok_or("no report in 80 s")?;
    let alpha = alpha_reports()
        .into_iter()
        .next()
        .ok_or("no report of alpha in 80 s")?;
    let llm_calls = |r: &Value| r["report"]["totals"]["this"]["llm_calls"].as_u64();
    assert_eq!(llm_calls(&alpha), Some(5), "{alpha}");
    assert!(
        llm_calls(&first).is_some_and(|n| n <= 3),
        "default's report counts its own calls only: {first}"
    );
    assert!(
        alpha["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("agentrace report, project alpha, ")),
        "{alpha}"
    );
    assert!(
        alpha["link"]
            .as_str()
            .is_some_and(|l| l.contains("/api/v1/report?project=alpha&from=")),
        "{alpha}"
    );
    let (from, to) = (
        first["from_unix_nano"].as_u64().unwrap_or_default(),
        first["to_unix_nano"].as_u64().unwrap_or_default(),
    );
    assert_eq!(to - from, 60_000_000_000, "{first}");
    assert_eq!(to % 60_000_000_000, 0, "aligned on the minute");
    assert!(
        first["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("agentrace report, project default, ")),
        "{first}"
    );
    assert_eq!(
        first["link"],
        format!(
            "https://agentrace.example.com/api/v1/report?project=default&from={from}&to={to}&format=html"
        )
    );
    let lines: Vec<&str> = first["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with("SLO runs succeed: ")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("cost ")), "{lines:?}");
    assert!(
        first["markdown"]
            .as_str()
            .is_some_and(|m| m.starts_with("# agentrace report")),
        "{first}"
    );
    assert_eq!(first["report"]["from_unix_nano"], from);
    assert!(first["report"]["slos"].is_array() && first["report"]["cost"].is_object());

    // A restart within the next period sends nothing again: the history says it went out.
    let t = t.restart(|c| c.alerts = Some(alerts.clone())).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again: Vec<Value> = reports()
        .into_iter()
        .filter(|r| r["to_unix_nano"] == to)
        .collect();
    assert_eq!(
        again.len(),
        1,
        "the period of {to} was sent once: {again:?}"
    );
    drop(t);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_or_a_restart_is_not_an_outage() -> Result {
    let (hook, received) = receiver().await?;
    let config_dir = tempfile::tempdir()?;
    let alerts = alerts_file(
        config_dir.path(),
        &hook,
        r#"
[[rules]]
name = "no traffic"
measure = "requests"
direction = "below"
window = "5m"
critical = 1
"#,
    )?;
    let t = TestServer::start(|c| c.alerts = Some(alerts.clone())).await?;
    // Evaluated every second: three evaluations on a window reaching back before the start.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let t = t.restart(|c| c.alerts = Some(alerts.clone())).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let said = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(
        said,
        Vec::<Value>::new(),
        "no notification at start or restart"
    );
    let api = alerts_api(&t).await?;
    assert_eq!(api["rules"][0]["name"], "no traffic", "{api}");
    assert_eq!(
        api["alerts"],
        serde_json::json!([]),
        "not judged yet: {api}"
    );
    Ok(())
}

/// A project's alerts (its `alerts` setting) judge its records only: another project's
/// failing calls leave them quiet, its own fire them; its budgets' thresholds go through its
/// channels; `/alerts` and `/metrics` of each project show its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projects_rules_judge_its_records_only() -> Result {
    let (hook, received) = receiver().await?;
    let t = TestServer::start(|_| {}).await?;
    let app = t.app_url("");
    create_project(&app, "alpha").await?;
    let alerts = serde_json::json!({
        "interval": "1s",
        "channels": [{"name": "ops", "type": "webhook", "url": hook, "secret": SECRET}],
        "rules": [{"name": "llm errors", "measure": "error_rate", "window": "5m", "per": "model",
                   "min_requests": 3, "warning": 0.2, "critical": 0.5}]
    });
    let (status, body) = api_in(
        &app,
        reqwest::Method::PUT,
        "/settings/alerts",
        "alpha",
        Some(&alerts),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let budgets = serde_json::json!({"budget": [{"name": "tiny", "scope": "global", "period": "day", "limit_usd": 0.001}]});
    let (status, body) = api_in(
        &app,
        reqwest::Method::PUT,
        "/settings/budgets",
        "alpha",
        Some(&budgets),
    )
    .await?;
    assert_eq!(status, 200, "{body}");

    // Four calls a minute ago, three failed: into `default` first.
    let start = now() - 60_000_000_000;
    let failing = |first: u64| {
        traces(
            (first..first + 4)
                .map(|i| {
                    let span = llm_span(i, i, start + i);
                    if i == first { span } else { failed(span) }
                })
                .collect(),
        )
    };
    for (project, first) in [("default", 1), ("alpha", 11)] {
        let answer = post(
            &t.http_url("/v1/traces"),
            PROTOBUF,
            &[("x-agentrace-project", project)],
            protobuf(&failing(first)),
        )
        .await?;
        assert_eq!(answer.status, 200, "{}", answer.text());
        if project == "default" {
            // Three evaluations of alpha's rule pass over default's failures.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
            assert!(got.is_empty(), "alpha notified of default's calls: {got:?}");
        }
    }
    wait_for(&received, "alpha's ALERT", |got| {
        got.iter()
            .any(|n| n["alert"] == "llm errors{model=gpt-4o}" && n["state"] == "ALERT")
    })
    .await?;
    wait_for(&received, "alpha's budget threshold", |got| {
        got.iter().any(|n| n["rule"] == "budget:tiny")
    })
    .await?;

    let (_, default_alerts) =
        api_in(&app, reqwest::Method::GET, "/alerts", "default", None).await?;
    assert_eq!(
        default_alerts["rules"],
        serde_json::json!([]),
        "{default_alerts}"
    );
    assert_eq!(
        default_alerts["history"],
        serde_json::json!([]),
        "{default_alerts}"
    );
    let (_, alpha_alerts) = api_in(&app, reqwest::Method::GET, "/alerts", "alpha", None).await?;
    assert_eq!(
        alpha_alerts["rules"][0]["name"], "llm errors",
        "{alpha_alerts}"
    );

    // /metrics with alpha's own read key: its alert and its calls, nothing of the server's.
    let (status, key) = api_in(
        &app,
        reqwest::Method::POST,
        "/projects/alpha/keys",
        "default",
        Some(&serde_json::json!({"scope": "read", "name": "scraper"})),
    )
    .await?;
    assert_eq!(status, 201, "{key}");
    let bearer = format!("Bearer {}", key["secret"].as_str().ok_or("a secret")?);
    let scrape = get(&t.app_url("/metrics"), &[("authorization", &bearer)]).await?;
    assert_eq!(scrape.status, 200, "{}", scrape.text());
    let text = scrape.text();
    assert!(
        text.contains("agentrace_server_alerts{state=\"ALERT\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("gen_ai_client_operation_duration"),
        "alpha's calls: {text}"
    );
    assert!(
        !text.contains("agentrace_server_records_stored_total"),
        "the server's own counters: {text}"
    );
    let whole = get(&t.app_url("/metrics"), &[]).await?.text();
    assert!(
        whole.contains("agentrace_server_records_stored_total"),
        "the organization's scrape has the server's own: {whole}"
    );
    assert!(
        whole.contains("agentrace_server_alerts{state=\"ALERT\"} 0"),
        "default's: {whole}"
    );
    Ok(())
}
