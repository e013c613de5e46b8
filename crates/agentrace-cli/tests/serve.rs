//! `agentrace serve` as a process: refuses what is unsafe or invalid with a clear message, runs
//! the demo workload, and stops gracefully on SIGTERM with everything stored.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agentrace_sqlite::{RecordKind, SqliteStore};
use agentrace_store::Retention;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn serve(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentrace"));
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "--otlp-http-port",
            "0",
            "--otlp-grpc-port",
            "0",
            "--app-port",
            "0",
        ])
        .args(args)
        .env("HOME", data_dir)
        .env_remove("AGENTRACE_CONFIG");
    command
}

#[test]
fn a_public_bind_without_a_token_does_not_start() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = serve(dir.path(), &["--bind", "0.0.0.0"]).output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("API token"), "{stderr}");
    Ok(())
}

#[test]
fn a_bad_setting_names_where_it_came_from() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = serve(dir.path(), &[])
        .env("AGENTRACE_RETENTION_SPANS_MAX_AGE", "forever")
        .output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("AGENTRACE_RETENTION_SPANS_MAX_AGE"),
        "{stderr}"
    );

    let config = dir.path().join("agentrace.toml");
    std::fs::write(&config, "[limits]\nqueue_requests = \"many\"\n")?;
    let out = serve(dir.path(), &["--config"]).arg(&config).output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("queue_requests") && stderr.contains("agentrace.toml"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn the_demo_runs_and_sigterm_stops_gracefully() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut child = serve(dir.path(), &["--demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut banner = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("Ctrl-C") {
            break;
        }
    }
    assert!(banner.contains("OTLP/HTTP  http://127.0.0.1:"), "{banner}");
    assert!(banner.contains("demo"), "{banner}");

    let store = SqliteStore::open(dir.path().join("agentrace.db"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.count(RecordKind::Spans)? == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        store.count(RecordKind::Spans)? > 0,
        "the demo stored nothing"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    assert!(killed.success());
    let out = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.contains("stopped; this run stored"), "{stderr}");
    assert!(store.count(RecordKind::Events)? > 0);
    Ok(())
}

#[test]
fn sighup_reloads_the_budgets_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("budgets.toml");
    let budget = |limit: &str| {
        format!(
            "[[budget]]\nname = \"daily\"\nscope = \"global\"\nperiod = \"day\"\nlimit_usd = {limit}\n"
        )
    };
    std::fs::write(&file, budget("1.0"))?;
    let mut child = serve(dir.path(), &["--budgets", file.to_str().ok_or("UTF-8")?])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    for line in BufReader::new(stdout).lines() {
        if line?.starts_with("Ctrl-C") {
            break;
        }
    }
    // The log, each line with when it came.
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(Instant, String)>::new()));
    let sink = log.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock()
                .map(|mut l| l.push((Instant::now(), line)))
                .unwrap_or(());
        }
    });
    // Replace the file by one with its old modification time, so that only the signal can
    // tell: written beside it, given the old time, then renamed over it, so that no poll sees
    // a new time in between (writing it in place did, once in a loaded CI run).
    let stamp = Command::new("stat")
        .args(["-c", "%y", file.to_str().ok_or("UTF-8")?])
        .output()?;
    let stamp = String::from_utf8(stamp.stdout)?.trim().to_owned();
    let next = dir.path().join("budgets.toml.next");
    std::fs::write(&next, budget("7.5"))?;
    assert!(
        Command::new("touch")
            .args(["-d", &stamp, next.to_str().ok_or("UTF-8")?])
            .status()?
            .success()
    );
    std::fs::rename(&next, &file)?;
    // Two polls of the file: it looks unchanged, nothing is reloaded.
    std::thread::sleep(Duration::from_secs(5));
    let signalled = Instant::now();
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()?;
    assert!(hup.success());
    std::thread::sleep(Duration::from_secs(1));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    assert!(killed.success());
    let status = child.wait()?;
    let _ = reader.join();
    assert!(status.success(), "{status:?}");
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    let reloads: Vec<&(Instant, String)> = log
        .iter()
        .filter(|(_, l)| l.contains("budgets reloaded"))
        .collect();
    assert_eq!(reloads.len(), 1, "one reload: {log:?}");
    assert!(
        reloads[0].0 >= signalled,
        "the reload came with the signal, not before"
    );
    assert!(reloads[0].1.contains(r#""daily""#), "{}", reloads[0].1);
    Ok(())
}

/// The log a container platform reads: no colour codes when it is not a terminal, and with
/// `--log-format json` one JSON object a line.
#[test]
fn the_log_is_plain_off_a_terminal_and_json_on_request() -> TestResult {
    for (format, json) in [("text", false), ("json", true)] {
        let dir = tempfile::tempdir()?;
        let mut child = serve(dir.path(), &["--log-format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        for line in BufReader::new(stdout).lines() {
            if line?.starts_with("Ctrl-C") {
                break;
            }
        }
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        assert!(killed.success());
        let out = child.wait_with_output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains('\u{1b}'),
            "{format}: colour codes: {stderr}"
        );
        let started = stderr
            .lines()
            .find(|l| l.contains("agentrace server started"))
            .ok_or_else(|| format!("{format}: no start logged: {stderr}"))?;
        if json {
            let line: serde_json::Value = serde_json::from_str(started)?;
            assert_eq!(line["level"], "INFO", "{line}");
            assert_eq!(
                line["fields"]["message"], "agentrace server started",
                "{line}"
            );
        } else {
            assert!(started.contains(" INFO "), "{started}");
        }
    }
    Ok(())
}

/// `agentrace probe`: a container's health check — success on a running server's `/healthz`,
/// failure (exit 1, saying why) where nothing answers.
#[test]
fn probe_succeeds_on_a_live_server_only() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut child = serve(dir.path(), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut app = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(url) = line.trim().strip_prefix("dashboard  ") {
            app = url.trim_end_matches('/').to_owned();
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
    }
    let probe = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_agentrace"))
            .args(["probe", url])
            .output()
    };
    let up = probe(&format!("{app}/healthz"))?;
    assert!(up.status.success(), "{up:?}");
    let missing = probe(&format!("{app}/no-such-path"))?;
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    assert!(killed.success());
    child.wait()?;
    let down = probe(&format!("{app}/healthz"))?;
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("/healthz"));
    Ok(())
}
