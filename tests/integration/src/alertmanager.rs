//! A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) on a free loopback
//! port, clustering off, routing everything to a receiver that sends nothing: what agentrace
//! posts is read back through Alertmanager's v2 API.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::process::free_port;

/// How long Alertmanager may take to get ready (not a performance bound).
const PATIENCE: Duration = Duration::from_secs(60);

/// Alertmanager's binary (`AGENTRACE_ALERTMANAGER_BIN`, else `prometheus-alertmanager` on
/// `PATH`, else `/usr/bin/prometheus-alertmanager`), or `None` after
/// [`require`](crate::require) said it is missing (a failure under CI).
pub fn binary() -> Option<PathBuf> {
    let bin = crate::tool_binary("AGENTRACE_ALERTMANAGER_BIN", "prometheus-alertmanager");
    if crate::require(
        bin.is_some(),
        "Prometheus Alertmanager (Debian's prometheus-alertmanager)",
    ) {
        bin
    } else {
        None
    }
}

/// A running Alertmanager; killed when dropped.
#[derive(Debug)]
pub struct Alertmanager {
    _child: tokio::process::Child,
    /// Its base URL (`http://127.0.0.1:<port>`).
    pub url: String,
    log: PathBuf,
}

impl Alertmanager {
    /// Starts `bin` with its configuration and data in `dir`, and waits until `/-/ready`
    /// answers 200.
    ///
    /// # Panics
    /// If it cannot start or does not get ready.
    pub async fn start(bin: &Path, dir: &Path) -> Self {
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: quiet\n  group_wait: 1s\nreceivers:\n  - name: quiet\n",
        )
        .expect("the Alertmanager configuration");
        let port = free_port();
        let log = dir.join("alertmanager.log");
        let out = std::fs::File::create(&log).expect("the log file");
        let err = out.try_clone().expect("the log file");
        let child = tokio::process::Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // No gossip: it would bind 9094 on every interface.
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .expect("Alertmanager starts");
        let am = Self {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let started = Instant::now();
        loop {
            let ready = reqwest::get(format!("{}/-/ready", am.url))
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return am;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "Alertmanager gets ready; its log: {}",
                am.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The alerts it holds (`GET /api/v2/alerts`: active, silenced and inhibited ones;
    /// resolved alerts are gone).
    ///
    /// # Panics
    /// If the API does not answer JSON.
    pub async fn alerts(&self) -> Vec<Json> {
        let answer = reqwest::get(format!("{}/api/v2/alerts", self.url))
            .await
            .expect("Alertmanager answers");
        let text = answer.text().await.expect("Alertmanager answers");
        let json: Json = serde_json::from_str(&text).expect("Alertmanager answers JSON");
        json.as_array().cloned().unwrap_or_default()
    }

    /// Its log.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
