//! `agentrace export prometheus-rules` and `agentrace export grafana-dashboard` against the real
//! tools: the rules pass `promtool check rules`, a real Prometheus loads them while scraping a
//! real `agentrace serve`, and the LLM-error rule fires into a real Alertmanager when calls
//! fail, the quality rule when the scores given are low; every PromQL expression of the Grafana dashboard evaluates on that Prometheus, and the
//! headline ones have data.
//!
//! Needs the `agentrace` binary, Prometheus with promtool, and Alertmanager
//! (`scripts/install-test-deps.sh`); under `CI=true` a missing one fails.

use std::path::Path;
use std::time::{Duration, Instant};

use agentrace_integration::alertmanager::{self, Alertmanager};
use agentrace_integration::load::{llm_calls, post_traces};
use agentrace_integration::process::{ServeProcess, serve_binary};
use agentrace_integration::prometheus::{self, Prometheus, promtool, scrape_config};
use serde_json::Value;

/// How long a condition may take (not a performance bound).
const PATIENCE: Duration = Duration::from_secs(90);

const ALERTS: &str = r#"
interval = "15s"

[[rules]]
name = "llm errors"
measure = "error_rate"
window = "1m"
per = "model"
min_requests = 3
critical = 0.5
description = "LLM calls failing"

[[rules]]
name = "slow calls"
measure = "latency_p95"
window = "5m"
warning = 20.0
critical = 60.0

[[rules]]
name = "spend"
measure = "cost"
window = "1h"
per = "agent"
critical = 100.0

[[rules]]
name = "tools"
measure = "tool_success_rate"
window = "5m"
per = "tool"
min_requests = 5
warning = 0.9

[[rules]]
name = "cost spike"
measure = "cost"
window = "5m"
anomaly = { baseline = "rolling", periods = 12 }
critical = 4.0

[[rules]]
name = "one user's cost"
measure = "cost"
window = "1h"
scope = { user = "u-1" }
critical = 1.0

[[rules]]
name = "answers unhelpful"
measure = "score_mean"
score = "helpfulness"
window = "1m"
min_requests = 2
warning = 0.7
description = "helpfulness is low"

[[slos]]
name = "llm calls succeed"
objective = 0.99
window = "7d"
indicator = { type = "success", of = "llm_calls" }

[[slos]]
name = "llm calls are fast"
objective = 0.9
window = "7d"
indicator = { type = "latency", of = "llm_calls", threshold = "1280ms" }

[[slos]]
name = "gpt-4o serves"
objective = 0.5
window = "7d"
indicator = { type = "ratio", good = { of = "llm_calls", scope = { model = "gpt-4o" } }, total = { of = "llm_calls" } }

[[slos]]
name = "answers are helpful"
objective = 0.9
window = "7d"
indicator = { type = "quality", score = "helpfulness", min = 0.5 }

[[slos]]
name = "planner runs succeed"
objective = 0.9
window = "7d"
scope = { agent = "planner" }
indicator = { type = "success", of = "agent_runs" }
"#;

fn run(bin: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(bin)
        .args(args)
        .output()
        .expect("the command runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_rules_and_dashboard_work_in_prometheus_and_alertmanager() {
    let Some(bin) = serve_binary() else { return };
    let (Some(prom_bin), Some(promtool), Some(am_bin)) =
        (prometheus::binary(), promtool(), alertmanager::binary())
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let alerts = dir.path().join("alerts.toml");
    std::fs::write(&alerts, ALERTS).expect("the alerts file");
    let rules = dir.path().join("agentrace-rules.yml");
    let exported = run(
        &bin,
        &[
            "export",
            "prometheus-rules",
            "--alerts",
            alerts.to_str().expect("UTF-8"),
            "-o",
            rules.to_str().expect("UTF-8"),
        ],
    );
    let said = String::from_utf8_lossy(&exported.stderr);
    assert!(
        said.contains("\"one user's cost\" left out: the series of cost carry no user label"),
        "{said}"
    );
    run(
        &promtool,
        &["check", "rules", rules.to_str().expect("UTF-8")],
    );

    let dashboard_path = dir.path().join("dashboard.json");
    run(
        &bin,
        &[
            "export",
            "grafana-dashboard",
            "--alerts",
            alerts.to_str().expect("UTF-8"),
            "-o",
            dashboard_path.to_str().expect("UTF-8"),
        ],
    );
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(&dashboard_path).expect("written"))
            .expect("the dashboard is JSON");
    // The classic model's required fields.
    for key in [
        "uid",
        "title",
        "schemaVersion",
        "panels",
        "templating",
        "time",
        "editable",
    ] {
        assert!(!dashboard[key].is_null(), "dashboard.{key}");
    }
    assert!(dashboard["schemaVersion"].as_u64() >= Some(36));
    let titles: Vec<&str> = dashboard["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["title"].as_str())
        .collect();
    assert!(
        titles.contains(&"llm calls succeed: attained over 7d (objective 0.99)"),
        "the SLO row: {titles:?}"
    );

    std::fs::create_dir_all(dir.path().join("am")).expect("a directory");
    let am = Alertmanager::start(&am_bin, &dir.path().join("am")).await;
    let data = dir.path().join("agentrace");
    std::fs::create_dir_all(&data).expect("a directory");
    // With the alerts file: the server counts the quality SLO over its alert windows and its
    // whole window.
    let alerts_arg = alerts.to_str().expect("UTF-8");
    let server = ServeProcess::start(&bin, &data, &["--alerts", alerts_arg], None).await;
    let target = format!("127.0.0.1:{}", server.app)
        .parse()
        .expect("an address");
    let extra = format!(
        "rule_files:\n  - {}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\n",
        rules.display(),
        am.url.trim_start_matches("http://")
    );
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).expect("a directory");
    let prom = Prometheus::start(&prom_bin, &prom_dir, &scrape_config(target, &extra)).await;
    prom.wait_target_up().await;
    let groups = prom.get_json("/api/v1/rules", &[]).await;
    let mut names: Vec<&str> = groups["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "agentrace-dashboards",
            "agentrace-rules",
            "agentrace-server"
        ]
    );

    // Prometheus counts increases between scrapes: a series must exist before the calls
    // that should fire the rule. One call and one failure first…
    post_traces(&server.traces_url(), llm_calls(1, 2, 1)).await;
    prom.query_nonempty(
        "gen_ai_client_operation_duration_seconds_count{error_type!=\"\"}",
        &[],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // …then three of four calls fail.
    post_traces(&server.traces_url(), llm_calls(10, 4, 3)).await;

    let started = Instant::now();
    loop {
        let held = am.alerts().await;
        let fired = held.iter().any(|a| {
            a["labels"]["alertname"] == "llm errors"
                && a["labels"]["severity"] == "critical"
                && a["labels"]["gen_ai_request_model"] == "gpt-4o"
                && a["annotations"]["description"] == "LLM calls failing"
        });
        if fired {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "Alertmanager never got the rule's alert: {held:?}\nPrometheus alerts: {}\nlog: {}",
            prom.get_json("/api/v1/alerts", &[]).await,
            prom.log_text()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The SLO's fastest burn-rate alert: 4 failures of 6 calls burn 67× the 1 % budget, over
    // the hour and its last five minutes.
    let started = Instant::now();
    loop {
        let held = am.alerts().await;
        let fired = held.iter().any(|a| {
            a["labels"]["alertname"] == "llm calls succeed burn rate 1h/5m"
                && a["labels"]["severity"] == "critical"
        });
        if fired {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "Alertmanager never got the SLO's burn-rate alert: {held:?}\nPrometheus alerts: {}",
            prom.get_json("/api/v1/alerts", &[]).await,
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The quality rule, from the score series: one good score first (the series exists),
    // then three bad ones.
    let scores = |value: f64, n: usize| {
        let one = serde_json::json!({"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "name": "helpfulness", "value": value});
        serde_json::json!({"scores": vec![one; n]})
    };
    let client = reqwest::Client::new();
    let scores_url = format!("http://127.0.0.1:{}/api/v1/scores", server.app);
    let post_scores = |body: Value| {
        let (client, url) = (client.clone(), scores_url.clone());
        async move {
            let answer = client
                .post(url)
                .json(&body)
                .send()
                .await
                .expect("the API answers");
            assert_eq!(answer.status(), 201);
        }
    };
    post_scores(scores(0.9, 1)).await;
    prom.query_nonempty(
        "agentrace_score_value_count{score_name=\"helpfulness\"}",
        &[],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    post_scores(scores(0.1, 3)).await;
    let started = Instant::now();
    loop {
        let held = am.alerts().await;
        let fired = held.iter().any(|a| {
            a["labels"]["alertname"] == "answers unhelpful"
                && a["labels"]["severity"] == "warning"
                && a["annotations"]["description"] == "helpfulness is low"
        });
        if fired {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "Alertmanager never got the quality alert: {held:?}\nPrometheus alerts: {}",
            prom.get_json("/api/v1/alerts", &[]).await,
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The quality SLO's burn rate, from the server's counts of its alert windows: one of the
    // four scores passes 0.5, so 75 % are bad against a 10 % budget: 7.5× (once the server has
    // counted after the last scores, and Prometheus recorded it).
    let record = "agentrace:rule:answers_are_helpful_burn_rate_1h_5m";
    let started = Instant::now();
    loop {
        let burn = prom.query(record, &[]).await;
        if burn.values().any(|v| (v - 7.5).abs() < 1e-9) {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{record} = {burn:?}; the counts: {:?}",
            prom.query("agentrace_slo_good_events", &["slo", "window_seconds"])
                .await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The quality SLO's attainment in the Grafana row, from the server's count of its whole
    // window: one score of the four passes.
    let title = "answers are helpful: attained over 7d (objective 0.9)";
    let attained = dashboard["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["title"] == title)
        .and_then(|p| p["targets"][0]["expr"].as_str())
        .unwrap_or_else(|| panic!("no panel {title:?}: {titles:?}"));
    let started = Instant::now();
    loop {
        let result = prom.query(attained, &[]).await;
        if !result.is_empty() && result.values().all(|v| (v - 0.25).abs() < 1e-9) {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{attained} = {result:?}; the counts: {:?}",
            prom.query("agentrace_slo_good_events", &["slo", "window_seconds"])
                .await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Every dashboard query evaluates; the headline ones have data.
    let mut evaluated = 0;
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .expect("an expression")
                .replace("$__rate_interval", "1m")
                .replace("$__range", "10m");
            // A query Prometheus cannot evaluate fails here.
            prom.query(&expr, &[]).await;
            evaluated += 1;
            let title = panel["title"].as_str().unwrap_or_default();
            if [
                "LLM calls (range)",
                "Error rate (range)",
                "Cost (range)",
                "Tokens (range)",
            ]
            .contains(&title)
            {
                let result = prom.query_nonempty(&expr, &[]).await;
                assert!(
                    result.values().all(|v| v.is_finite() && *v > 0.0),
                    "{title}: {expr} = {result:?}"
                );
            }
            // Every call took a second: all within 1.28 s (read from the histogram's bucket
            // `le="1.28"`, which the query must name as /metrics writes it), all of gpt-4o.
            if [
                "llm calls are fast: attained over 7d (objective 0.9)",
                "gpt-4o serves: attained over 7d (objective 0.5)",
            ]
            .contains(&title)
            {
                let result = prom.query_nonempty(&expr, &[]).await;
                assert!(
                    result.values().all(|v| (v - 1.0).abs() < 1e-9),
                    "{title}: {expr} = {result:?}"
                );
            }
        }
    }
    assert!(evaluated >= 29, "{evaluated} expressions");
    server.stop().await;
}
