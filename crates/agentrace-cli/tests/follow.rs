//! The commands that follow a running server — `tail`, `status`, `alerts`, `score` — against a
//! real `agentrace serve` (in this process) with an API token.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use agentrace_server::{Server, ServerConfig};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TOKEN: &str = "follow-token";

fn agentrace(app: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentrace"));
    command
        .args(args)
        .args(["--server", app])
        .env("AGENTRACE_API_TOKEN", TOKEN);
    command
}

/// One OTLP/JSON request with an LLM span of agent "planner" and one of agent "other".
fn two_spans() -> String {
    let now = agentrace_core::now_unix_nano();
    let span = |id: &str, agent: &str| {
        format!(
            r#"{{"traceId": "5b8aa5a2d2c872e8321cf37308d69df2", "spanId": "{id}", "name": "chat gpt-4o",
               "kind": 3, "startTimeUnixNano": "{}", "endTimeUnixNano": "{now}",
               "attributes": [
                 {{"key": "gen_ai.operation.name", "value": {{"stringValue": "chat"}}}},
                 {{"key": "gen_ai.request.model", "value": {{"stringValue": "gpt-4o"}}}},
                 {{"key": "gen_ai.agent.name", "value": {{"stringValue": "{agent}"}}}}]}}"#,
            now - 1_000_000_000
        )
    };
    format!(
        r#"{{"resourceSpans": [{{"resource": {{"attributes": [{{"key": "service.name", "value": {{"stringValue": "follow"}}}}]}},
            "scopeSpans": [{{"spans": [{}, {}]}}]}}]}}"#,
        span("051581bf3cb55c13", "planner"),
        span("051581bf3cb55c14", "other")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_status_and_alerts_follow_a_running_server() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut config = ServerConfig::new(dir.path()).with_any_free_ports();
    config.api_token = Some(TOKEN.into());
    let server = Server::start(config).await?;
    let app = format!("http://{}", server.app_addr());

    let mut tail = agentrace(&app, &["tail", "--json", "--agent", "planner"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = tail.stdout.take().ok_or("stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Send until the follower is connected and prints the span (the feed carries only what
    // is committed after it connects).
    let client = reqwest::Client::new();
    let mut line = None;
    for _ in 0..150 {
        let answer = client
            .post(format!("http://{}/v1/traces", server.otlp_http_addr()))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(two_spans())
            .send()
            .await?;
        assert_eq!(answer.status(), 200);
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            line = Some(l);
            break;
        }
    }
    let _ = tail.kill();
    let _ = tail.wait();
    let line = line.ok_or("tail printed nothing")?;
    let span: serde_json::Value = serde_json::from_str(&line)?;
    assert_eq!(span["agent"], "planner", "only planner's spans: {line}");
    assert_eq!(span["name"], "chat gpt-4o");

    let status = agentrace(&app, &["status"]).output()?;
    assert!(status.status.success(), "{status:?}");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("writer         running"), "{text}");
    assert!(text.contains("alerts firing  none"), "{text}");

    let alerts = agentrace(&app, &["alerts", "--json"]).output()?;
    assert!(alerts.status.success(), "{alerts:?}");
    let json: serde_json::Value = serde_json::from_slice(&alerts.stdout)?;
    assert_eq!(json["channels"][0]["kind"], "log");

    let refused = agentrace(&app, &["status"])
        .env("AGENTRACE_API_TOKEN", "wrong")
        .output()?;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("401"),
        "{refused:?}"
    );
    server.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn score_gives_a_running_server_a_score_it_checks() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut config = ServerConfig::new(dir.path()).with_any_free_ports();
    config.api_token = Some(TOKEN.into());
    let server = Server::start(config).await?;
    let app = format!("http://{}", server.app_addr());
    let trace = "5b8aa5a2d2c872e8321cf37308d69df2";

    let given = agentrace(
        &app,
        &[
            "score",
            "helpfulness",
            "--trace",
            trace,
            "--value",
            "0.8",
            "--explanation",
            "answered",
            "--source",
            "annotation",
            "--id",
            "review-1",
        ],
    )
    .output()?;
    assert!(given.status.success(), "{given:?}");
    assert_eq!(
        String::from_utf8_lossy(&given.stdout),
        "score review-1 stored\n"
    );
    let stored: serde_json::Value = reqwest::Client::new()
        .get(format!("{app}/api/v1/scores?trace_id={trace}"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    let score = &stored["scores"][0];
    assert_eq!(
        (
            &score["name"],
            &score["value"],
            &score["source"],
            &score["explanation"]
        ),
        (
            &serde_json::json!("helpfulness"),
            &serde_json::json!(0.8),
            &serde_json::json!("annotation"),
            &serde_json::json!("answered")
        ),
        "{stored}"
    );

    // What the server refuses is said, and the command fails.
    let refused = agentrace(&app, &["score", "helpfulness", "--trace", trace]).output()?;
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("400") && said.contains("score 0"), "{said}");
    server.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_runs_an_evaluator_again_and_follows_it_to_the_end() -> TestResult {
    let dir = tempfile::tempdir()?;
    let evaluators = dir.path().join("evaluators.toml");
    std::fs::write(
        &evaluators,
        "[[evaluator]]\nname = \"is_planner\"\nfilter = { agent = \"planner\" }\ncheck = { type = \"tool_error\" }\n",
    )?;
    let mut config = ServerConfig::new(dir.path()).with_any_free_ports();
    config.api_token = Some(TOKEN.into());
    config.evaluators = Some(evaluators);
    let server = Server::start(config).await?;
    let app = format!("http://{}", server.app_addr());
    let answer = reqwest::Client::new()
        .post(format!("http://{}/v1/traces", server.otlp_http_addr()))
        .header("content-type", "application/json")
        .bearer_auth(TOKEN)
        .body(two_spans())
        .send()
        .await?;
    assert_eq!(answer.status(), 200);

    let ran = agentrace(&app, &["evaluate", "is_planner", "--since", "1h", "--json"]).output()?;
    assert!(ran.status.success(), "{ran:?}");
    let run: serde_json::Value = serde_json::from_slice(&ran.stdout)?;
    assert_eq!(run["state"], "done", "{run}");
    // Planner's span read (the rule's filter narrows the scan) and judged again (the online
    // evaluation judged it first).
    assert_eq!(
        (&run["scanned"], &run["queued"], &run["scored"]),
        (&1.into(), &1.into(), &1.into()),
        "{run}"
    );
    let text = agentrace(&app, &["evaluate", "is_planner"]).output()?;
    assert_eq!(
        String::from_utf8_lossy(&text.stdout),
        "is_planner: 1 scored, 0 not applicable, 0 failed (1 targets among 1 spans)\n"
    );
    let unknown = agentrace(&app, &["evaluate", "nobody"]).output()?;
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no evaluator is named"),
        "{unknown:?}"
    );
    server.shutdown().await?;
    Ok(())
}

/// `agentrace projects`: a project created, a key of it made (its secret printed once), and
/// telemetry sent with that key lands in that project only, as the store-reading commands
/// show with `--project`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_and_their_keys_through_the_cli() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut config = ServerConfig::new(dir.path()).with_any_free_ports();
    config.api_token = Some(TOKEN.into());
    let db = config.db_path();
    let server = Server::start(config).await?;
    let app = format!("http://{}", server.app_addr());
    let run = |args: &[&str]| -> Result<String, Box<dyn std::error::Error>> {
        let output = agentrace(&app, args).output()?;
        if !output.status.success() {
            return Err(format!("{args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        Ok(String::from_utf8(output.stdout)?)
    };
    assert!(run(&["projects", "create", "alpha"])?.contains("created project alpha"));
    let refused = agentrace(&app, &["projects", "create", "Not A Slug"]).output()?;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("lowercase letters"));
    let listed = run(&["projects", "list"])?;
    assert!(
        listed.contains("\tdefault\n") && listed.contains("\talpha\n"),
        "{listed}"
    );

    let created = run(&[
        "projects",
        "create-key",
        "alpha",
        "--scope",
        "ingest",
        "--key-name",
        "app",
    ])?;
    let secret = created.lines().last().ok_or("a secret")?.to_owned();
    assert!(secret.starts_with("agt_"), "{created}");
    let keys = run(&["projects", "keys", "alpha"])?;
    assert!(
        keys.contains("\tingest\tapp\t") && !keys.contains(&secret),
        "{keys}"
    );

    let answer = reqwest::Client::new()
        .post(format!("http://{}/v1/traces", server.otlp_http_addr()))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {secret}"))
        .body(two_spans())
        .send()
        .await?;
    assert_eq!(answer.status(), 200);
    let db = db.to_string_lossy().into_owned();
    // A command reading the store directly, in `project`: its output.
    let in_store = |project: &str, args: &[&str]| -> Result<String, Box<dyn std::error::Error>> {
        let output = Command::new(env!("CARGO_BIN_EXE_agentrace"))
            .args(["--db", &db, "--project", project])
            .args(args)
            .output()?;
        assert!(output.status.success(), "{output:?}");
        Ok(String::from_utf8(output.stdout)?)
    };
    let traces = |project: &str| in_store(project, &["traces", "list", "--json"]);
    assert!(traces("alpha")?.contains("5b8aa5a2d2c872e8321cf37308d69df2"));
    assert!(!traces("default")?.contains("5b8aa5a2d2c872e8321cf37308d69df2"));
    // An export of a project holds its records only.
    let export = |project: &str| in_store(project, &["export", "--since", "30d"]);
    let alpha = export("alpha")?;
    assert_eq!(alpha.lines().count(), 2, "alpha's two spans: {alpha}");
    assert!(
        alpha.contains("5b8aa5a2d2c872e8321cf37308d69df2"),
        "{alpha}"
    );
    assert!(
        !export("default")?.contains("5b8aa5a2d2c872e8321cf37308d69df2"),
        "default's export holds nothing of alpha"
    );
    // An export made outside the server is in the audit log all the same.
    let audit: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{app}/api/v1/audit?action=cli%20export&project=alpha"
        ))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    let entry = &audit["entries"][0];
    assert_eq!(
        (&entry["actor"]["kind"], &entry["status"], &entry["target"]),
        (
            &serde_json::json!("cli"),
            &serde_json::json!(200),
            &serde_json::json!("spans as jsonl to standard output")
        ),
        "{audit}"
    );
    let unknown = Command::new(env!("CARGO_BIN_EXE_agentrace"))
        .args(["--db", &db, "--project", "nope", "traces", "list"])
        .output()?;
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no project named \"nope\""));

    let id = keys.split('\t').next().ok_or("an id")?.trim().to_owned();
    assert!(run(&["projects", "revoke-key", "alpha", "--id", &id])?.contains("revoked"));

    // The organization's keys, for automation: made, listed, revoked.
    let made = run(&[
        "projects",
        "create-key",
        "--organization",
        "--scope",
        "admin",
        "--key-name",
        "provisioning",
    ])?;
    assert!(made.contains("(admin of the organization)"), "{made}");
    let org_keys = run(&["projects", "keys", "--organization"])?;
    assert!(org_keys.contains("\tadmin\tprovisioning\t"), "{org_keys}");
    assert!(
        !org_keys.contains("\tingest\tapp\t"),
        "a project's key is not the organization's"
    );
    let org_id = org_keys
        .split('\t')
        .next()
        .ok_or("an id")?
        .trim()
        .to_owned();
    let revoked = run(&["projects", "revoke-key", "--organization", "--id", &org_id])?;
    assert_eq!(
        revoked,
        format!("revoked key {org_id} of the organization\n")
    );
    assert_eq!(run(&["projects", "keys", "--organization"])?, "");
    let both = agentrace(&app, &["projects", "keys", "alpha", "--organization"]).output()?;
    assert!(
        !both.status.success(),
        "a project's keys or the organization's, not both"
    );

    // alpha's settings: set from a TOML file, listed, shown, unset; default's untouched.
    let retention = dir.path().join("retention.toml");
    std::fs::write(&retention, "[spans]\nmax_age = \"7d\"\n")?;
    let file = retention.to_string_lossy().into_owned();
    let set = run(&["--project", "alpha", "projects", "set", "retention", &file])?;
    assert!(set.starts_with("set retention (revision "), "{set}");
    let listed = run(&["--project", "alpha", "projects", "settings"])?;
    assert!(
        listed.contains("retention\tset by organization token"),
        "{listed}"
    );
    assert!(listed.contains("budgets\tthe server's"), "{listed}");
    let shown = run(&["--project", "alpha", "projects", "setting", "retention"])?;
    assert!(shown.contains("\"max_age\": \"7d\""), "{shown}");
    let default = run(&["projects", "setting", "retention"])?;
    assert!(default.contains("not set"), "{default}");
    std::fs::write(&retention, "[spans]\nmax_age = \"soon\"\n")?;
    let refused = agentrace(
        &app,
        &["--project", "alpha", "projects", "set", "retention", &file],
    )
    .output()?;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("spans.max_age"));
    assert!(run(&["--project", "alpha", "projects", "unset", "retention"])?.contains("unset"));

    // Everything above, in the audit log: as a table, one project's, and exported whole.
    let audit = run(&["audit"])?;
    assert!(
        audit.contains("POST /projects") && audit.contains("token api_token"),
        "{audit}"
    );
    let alpha = run(&["--project", "alpha", "audit", "--limit", "100"])?;
    assert!(
        alpha.contains("PUT /settings/{kind}") && !alpha.contains("POST /projects "),
        "{alpha}"
    );
    let lines = run(&["audit", "--jsonl"])?;
    let entries: Vec<serde_json::Value> = lines
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let setting = entries
        .iter()
        .find(|e| e["action"] == "PUT /settings/{kind}" && e["status"] == 200)
        .ok_or("the setting's change")?;
    assert_eq!(setting["project"], "alpha");
    assert!(
        setting["after"].as_str().is_some_and(|a| a.contains("7d")),
        "{setting}"
    );
    server.shutdown().await?;
    Ok(())
}
