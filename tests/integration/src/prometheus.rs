//! A real Prometheus server (Debian's `prometheus`) on a free loopback port, its data in a
//! temporary directory, read through its HTTP API: for the tests of the Prometheus backend and
//! of the exported rules and dashboard.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::free_port;

/// How long to wait for Prometheus or a condition before failing (not a performance bound).
const PATIENCE: Duration = Duration::from_secs(60);

/// The Prometheus binary (`AGENTRACE_PROMETHEUS_BIN`, else `prometheus` on `PATH`, else
/// `/usr/bin/prometheus`), or `None` after [`require`](crate::require) said it is missing.
pub fn binary() -> Option<PathBuf> {
    let bin = crate::tool_binary("AGENTRACE_PROMETHEUS_BIN", "prometheus");
    if crate::require(
        bin.is_some(),
        "the Prometheus server (AGENTRACE_PROMETHEUS_BIN, `prometheus` on PATH or /usr/bin/prometheus)",
    ) {
        bin
    } else {
        None
    }
}

/// A `promtool` beside the Prometheus binary (Debian ships both), or on `PATH`.
pub fn promtool() -> Option<PathBuf> {
    let bin = crate::tool_binary("AGENTRACE_PROMTOOL_BIN", "promtool");
    if crate::require(bin.is_some(), "promtool (Debian's prometheus package)") {
        bin
    } else {
        None
    }
}

/// A child process killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Running {
    /// What it is, for messages.
    pub name: &'static str,
    /// The process.
    pub child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The configuration scraping `target` every second, evaluating rules every second, with
/// `extra` appended (rule files, Alertmanagers).
pub fn scrape_config(target: SocketAddr, extra: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: agentrace\n    static_configs:\n      - targets: ['{target}']\n{extra}"
    )
}

/// A Prometheus server with `config` (YAML), its data in `dir`.
#[derive(Debug)]
pub struct Prometheus {
    _process: Running,
    base: String,
    log: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus on a free port (retried if the port is taken meanwhile) and waits
    /// until it is ready.
    ///
    /// # Panics
    /// If it does not start.
    pub async fn start(bin: &Path, dir: &Path, config: &str) -> Self {
        let config_path = dir.join("prometheus.yml");
        if let Err(e) = std::fs::write(&config_path, config) {
            panic!("writing {}: {e}", config_path.display());
        }
        let log = dir.join("prometheus.log");
        // The port is free when picked but may be taken before Prometheus binds it: retry.
        for attempt in 1..=3 {
            let port = free_port();
            let base = format!("http://127.0.0.1:{port}");
            let log_file = match std::fs::File::create(&log) {
                Ok(f) => f,
                Err(e) => panic!("creating {}: {e}", log.display()),
            };
            let stderr = match log_file.try_clone() {
                Ok(f) => f,
                Err(e) => panic!("{e}"),
            };
            let child = Command::new(bin)
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join(format!("data-{attempt}")).display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(log_file)
                .stderr(stderr)
                .spawn();
            let mut process = match child {
                Ok(child) => Running {
                    name: "prometheus",
                    child,
                },
                Err(e) => panic!("cannot start {}: {e}", bin.display()),
            };
            if wait_ready(&base, &log, &mut process).await {
                return Self {
                    _process: process,
                    base,
                    log,
                };
            }
            println!("prometheus did not start on port {port} (attempt {attempt}):");
            println!("{}", read_log(&log));
        }
        panic!("prometheus did not start; see the logs above")
    }

    /// Its log.
    pub fn log_text(&self) -> String {
        read_log(&self.log)
    }

    /// `GET path` with `params`, expecting `"status": "success"`.
    ///
    /// # Panics
    /// If the answer is not a success.
    pub async fn get_json(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let url = match reqwest::Url::parse_with_params(&format!("{}{path}", self.base), params) {
            Ok(url) => url,
            Err(e) => panic!("{e}"),
        };
        let body = match reqwest::get(url.clone()).await {
            Ok(r) => r.text().await,
            Err(e) => panic!("GET {url}: {e}"),
        };
        match body.map(|b| serde_json::from_str::<Value>(&b)) {
            Ok(Ok(v)) if v["status"] == "success" => v,
            other => panic!("GET {url}: {other:?}"),
        }
    }

    /// Waits until the one target has been scraped successfully.
    ///
    /// # Panics
    /// If it is not within a minute.
    pub async fn wait_target_up(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let targets = self.get_json("/api/v1/targets", &[]).await;
            let active = &targets["data"]["activeTargets"];
            if active[0]["health"] == "up" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the target was never scraped: {active}\nlog:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Runs an instant query; the result as `labels → value`, keyed by the values of `by`.
    ///
    /// # Panics
    /// If the query fails.
    pub async fn query(&self, promql: &str, by: &[&str]) -> BTreeMap<Vec<String>, f64> {
        let v = self.get_json("/api/v1/query", &[("query", promql)]).await;
        let Some(results) = v["data"]["result"].as_array() else {
            panic!("{promql}: no result in {v}");
        };
        results
            .iter()
            .map(|r| {
                let key = by
                    .iter()
                    .map(|l| r["metric"][*l].as_str().unwrap_or_default().to_owned())
                    .collect();
                let value = r["value"][1]
                    .as_str()
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(f64::NAN);
                (key, value)
            })
            .collect()
    }

    /// Like [`query`](Self::query), retried until it returns something.
    ///
    /// # Panics
    /// If nothing comes within a minute.
    pub async fn query_nonempty(&self, promql: &str, by: &[&str]) -> BTreeMap<Vec<String>, f64> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let result = self.query(promql, by).await;
            if !result.is_empty() {
                return result;
            }
            assert!(Instant::now() < deadline, "{promql}: no data");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

async fn wait_ready(base: &str, log: &Path, process: &mut Running) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if !matches!(process.child.try_wait(), Ok(None)) {
            return false;
        }
        if let Ok(r) = reqwest::get(format!("{base}/-/ready")).await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "{} not ready after {PATIENCE:?}; log:\n{}",
        process.name,
        read_log(log)
    )
}
