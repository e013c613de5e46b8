//! A Python agent (the OpenTelemetry Python SDK, `tests/integration/python/budget_check.py`)
//! asking a real server before each model call: its calls are admitted while their estimates
//! fit the session's budget, then refused; every admitted call's hold is settled by its span;
//! the spend never passes the limit. The script's snippet is docs/budgets.md's example, word
//! for word.

use agentrace_integration::serve::{api, get_json, installed, run_python};
use agentrace_integration::{python_client, workspace_root};
use agentrace_server::{Server, ServerConfig};

const LIMIT_USD: f64 = 0.02;

/// The lines between the snippet markers of the script.
fn snippet() -> String {
    let script =
        std::fs::read_to_string(workspace_root().join("tests/integration/python/budget_check.py"))
            .expect("the script");
    script
        .lines()
        .skip_while(|l| !l.starts_with("# --- snippet"))
        .skip(1)
        .take_while(|l| !l.starts_with("# --- end of snippet"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn docs_budgets_md_shows_the_tested_snippet() {
    let docs = std::fs::read_to_string(workspace_root().join("docs/budgets.md")).expect("the docs");
    let snippet = snippet();
    assert!(
        snippet.contains("def check_budget"),
        "the markers are in place"
    );
    assert!(
        docs.contains(&format!("```python\n{}\n```", snippet.trim_end())),
        "docs/budgets.md must show tests/integration/python/budget_check.py's snippet as is:\n{snippet}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_agent_stops_before_it_spends() {
    let Some(python) = installed(
        python_client(),
        "the OpenTelemetry Python clients (scripts/install-test-deps.sh)",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let budgets = dir.path().join("budgets.toml");
    std::fs::write(
        &budgets,
        format!(
            "[[budget]]\nname = \"per session\"\nscope = \"session\"\nperiod = \"total\"\nlimit_usd = {LIMIT_USD}\n"
        ),
    )
    .expect("the budgets file");
    let mut config = ServerConfig::new(dir.path()).with_any_free_ports();
    config.budgets = Some(budgets);
    let server = Server::start(config).await.expect("the server starts");
    let endpoint = format!("http://{}", server.otlp_http_addr());
    let url = format!("http://{}", server.app_addr());
    let report = run_python(
        &python,
        "budget_check.py",
        &[
            "--endpoint",
            &endpoint,
            "--calls",
            "12",
            "--agentrace-url",
            &url,
        ],
    )
    .await;

    let calls = report["calls"].as_array().cloned().unwrap_or_default();
    assert_eq!(calls.len(), 12, "{report}");
    let allowed: Vec<bool> = calls.iter().map(|c| c["allowed"] == true).collect();
    let first_refused = allowed
        .iter()
        .position(|a| !a)
        .expect("the budget stops the agent");
    assert!(first_refused >= 2, "some calls fit: {report}");
    assert!(
        allowed[first_refused..].iter().all(|a| !a),
        "once over, refused: {report}"
    );
    for refused in &calls[first_refused..] {
        assert_eq!(refused["exceeded"]["budget"], "per session", "{refused}");
    }

    // Every admitted call's span arrived and settled its hold; the spend is the stored cost,
    // and within the limit.
    let (status, accounts) = get_json(&api(&server, "/budgets")).await;
    assert_eq!(status, 200);
    let account = &accounts["budgets"][0];
    assert_eq!(account["scope"], "budget-session", "{accounts}");
    assert_eq!(account["reserved"], 0.0, "{accounts}");
    let spent = account["spent"].as_f64().unwrap_or(f64::NAN);
    assert!(spent <= LIMIT_USD && spent > 0.0, "{accounts}");
    let (status, cost) = get_json(&api(&server, "/cost?group_by=session")).await;
    assert_eq!(status, 200);
    let stored: f64 = cost["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["keys"]["session"] == "budget-session")
        .filter_map(|r| r["cost"].as_f64())
        .sum();
    assert!(
        (stored - spent).abs() < 1e-9,
        "budget {spent} vs stored {stored}: {cost}"
    );
    server.shutdown().await.expect("the server stops");
}
