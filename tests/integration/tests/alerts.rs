//! Alerts from a real `agentrace serve` to a real Prometheus Alertmanager and a signed webhook,
//! with a third channel whose receiver is down.
//!
//! The alerts file has one rule (the LLM error rate per model over the last minute, critical
//! at 50 %) evaluated every second, and three channels. Failing calls over OTLP fire the
//! alert: Alertmanager holds it (labels, severity, the summary as an annotation) and the
//! webhook gets it signed. Successful calls then bring the rate down: the webhook hears the
//! recovery and Alertmanager resolves the alert. All the while the dead receiver's channel
//! retries on its own, delivers nothing, and holds up neither the other channels nor ingest.
//!
//! Needs the `agentrace` binary and Alertmanager (`scripts/install-test-deps.sh`); under
//! `CI=true` either missing fails.

use agentrace_integration::alertmanager::{self, Alertmanager};
use agentrace_integration::load::{llm_calls, post_traces};
use agentrace_integration::process::{ServeProcess, serve_binary};
use agentrace_integration::{eventually, webhook};
use serde_json::Value;

const SECRET: &str = "integration-secret";

fn ours(alert: &Value) -> bool {
    alert["labels"]["alertname"] == "llm errors" && alert["labels"]["model"] == "gpt-4o"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_alertmanager_and_a_signed_webhook_and_recover() {
    let Some(bin) = serve_binary() else { return };
    let Some(am_bin) = alertmanager::binary() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let am = Alertmanager::start(&am_bin, dir.path()).await;
    let (hook, received) = webhook::receiver(SECRET).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        format!("http://{}/hook", l.local_addr().expect("its address"))
    };
    let alerts = dir.path().join("alerts.toml");
    std::fs::write(
        &alerts,
        format!(
            r#"
interval = "1s"

[[channels]]
name = "alertmanager"
type = "alertmanager"
url = "{am}"

[[channels]]
name = "hook"
type = "webhook"
url = "{hook}"
secret = "{SECRET}"

[[channels]]
name = "dead"
type = "webhook"
url = "{dead}"

[[rules]]
name = "llm errors"
measure = "error_rate"
window = "1m"
per = "model"
min_requests = 3
critical = 0.5
"#,
            am = am.url
        ),
    )
    .expect("the alerts file");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("the data directory");
    let server = ServeProcess::start(
        &bin,
        &data,
        &["--alerts", alerts.to_str().expect("a UTF-8 path")],
        None,
    )
    .await;

    // Three of four calls fail: 75 %.
    post_traces(&server.traces_url(), llm_calls(1, 4, 3)).await;
    eventually(
        "Alertmanager holds the alert",
        || async { am.alerts().await.iter().any(ours) },
        || am.log_text(),
    )
    .await;
    let held = am.alerts().await;
    let alert = held.iter().find(|a| ours(a)).expect("found above");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["status"]["state"], "active");
    let summary = alert["annotations"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("error_rate 75.0 % over 1m"), "{summary}");
    eventually(
        "the webhook hears the alert",
        || async { received.all().iter().any(|n| n["state"] == "ALERT") },
        || server.log_text(),
    )
    .await;

    // Ninety-six good calls: 3 of 100 fail, under the threshold.
    post_traces(&server.traces_url(), llm_calls(100, 96, 0)).await;
    eventually(
        "the webhook hears the recovery",
        || async {
            received
                .all()
                .iter()
                .any(|n| n["state"] == "OK" && n["previous"] == "ALERT")
        },
        || server.log_text(),
    )
    .await;
    eventually(
        "Alertmanager resolves the alert",
        || async { !am.alerts().await.iter().any(ours) },
        || am.log_text(),
    )
    .await;

    // The dead receiver's channel tried, delivered nothing, and held up nobody.
    let (code, body) = server.get("/api/v1/alerts").await;
    assert_eq!(code, 200, "{body}");
    let api: Value = serde_json::from_str(&body).expect("JSON");
    let channel = |name: &str| {
        api["channels"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert!(
        channel("alertmanager")["delivered"].as_u64() >= Some(2),
        "{api}"
    );
    assert_eq!(channel("hook")["delivered"], 2, "{api}");
    assert_eq!(channel("dead")["delivered"], 0, "{api}");
    assert!(channel("dead")["retries"].as_u64() >= Some(1), "{api}");
    let history: Vec<(&str, &str)> = api["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter_map(|n| Some((n["previous"].as_str()?, n["state"].as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(history, [("ALERT", "OK"), ("OK", "ALERT")], "newest first");
    server.stop().await;
}
