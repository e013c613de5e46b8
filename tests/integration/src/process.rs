//! `agentrace serve` as its own process (the built binary), for what only a process shows: a
//! `kill -9`, its resident memory, a file-size limit, its log.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// How many times [`ServeProcess::start`] starts a server whose port was taken meanwhile.
const PORT_ATTEMPTS: u32 = 3;

/// A free TCP port on loopback (free when asked; the server binds it right after).
///
/// # Panics
/// If no port can be bound at all.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The `agentrace` binary, or `None` after [`require`](crate::require) said it is missing
/// (which fails the test under CI).
pub fn serve_binary() -> Option<PathBuf> {
    let bin = crate::agentrace_binary();
    if crate::require(
        bin.is_some(),
        "the agentrace binary (cargo build -p agentrace-cli)",
    ) {
        bin
    } else {
        None
    }
}

/// A running `agentrace serve` process; killed when dropped.
#[derive(Debug)]
pub struct ServeProcess {
    /// The process.
    pub child: tokio::process::Child,
    /// Its OTLP/HTTP port.
    pub otlp_http: u16,
    /// Its OTLP/gRPC port.
    pub otlp_grpc: u16,
    /// Its app port (API, `/metrics`, health).
    pub app: u16,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Where its standard output and error go.
    pub log: PathBuf,
}

impl ServeProcess {
    /// Starts `bin serve` on free ports over `data_dir` with `args` added, and waits (at most a
    /// minute) until `/readyz` answers 200. With `file_size_limit` (bytes), the server runs
    /// under that soft limit on the size of the files it writes, with `SIGXFSZ` ignored, so a
    /// write past it fails as on a full disk ([`ServeProcess::lift_file_size_limit`] lifts it).
    ///
    /// A free port is found by binding port 0 and letting it go, so another process may take it
    /// before the server binds it: a server that exits saying its address is in use is started
    /// again on other ports (at most three times in all).
    ///
    /// # Panics
    /// If the process cannot start or does not become ready.
    pub async fn start(
        bin: &Path,
        data_dir: &Path,
        args: &[&str],
        file_size_limit: Option<u64>,
    ) -> Self {
        for attempt in 1..=PORT_ATTEMPTS {
            let mut server = Self::spawn(bin, data_dir, args, file_size_limit);
            let started = Instant::now();
            loop {
                if server.get("/readyz").await.0 == 200 {
                    return server;
                }
                if let Ok(Some(status)) = server.child.try_wait() {
                    let log = server.log_text();
                    assert!(
                        log.contains("Address already in use") && attempt < PORT_ATTEMPTS,
                        "the server exited before it was ready ({status}); its log: {log}"
                    );
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "the server gets ready; its log: {}",
                    server.log_text()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        unreachable!("every attempt returns, starts again or fails")
    }

    /// Spawns `bin serve` on free ports (see [`start`](Self::start)).
    fn spawn(bin: &Path, data_dir: &Path, args: &[&str], file_size_limit: Option<u64>) -> Self {
        let (otlp_http, otlp_grpc, app) = (free_port(), free_port(), free_port());
        let log = data_dir.join("server.log");
        let out = std::fs::File::create(&log).expect("the log file");
        let err = out.try_clone().expect("the log file");
        let mut serve = vec![
            bin.as_os_str().to_owned(),
            "serve".into(),
            "--data-dir".into(),
            data_dir.as_os_str().to_owned(),
            "--otlp-http-port".into(),
            otlp_http.to_string().into(),
            "--otlp-grpc-port".into(),
            otlp_grpc.to_string().into(),
            "--app-port".into(),
            app.to_string().into(),
        ];
        serve.extend(args.iter().map(Into::into));
        let mut command = match file_size_limit {
            None => {
                let mut c = tokio::process::Command::new(&serve[0]);
                c.args(&serve[1..]);
                c
            }
            Some(bytes) => {
                // bash's `ulimit -f` counts 1024-byte blocks; `exec "$@"` keeps the pid.
                let mut c = tokio::process::Command::new("bash");
                c.arg("-c")
                    .arg(format!(
                        "trap '' XFSZ; ulimit -S -f {}; exec \"$@\"",
                        bytes / 1024
                    ))
                    .arg("agentrace")
                    .args(&serve);
                c
            }
        };
        let child = command
            .stdout(out)
            .stderr(err)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the server starts");
        Self {
            child,
            otlp_http,
            otlp_grpc,
            app,
            data_dir: data_dir.to_owned(),
            log,
        }
    }

    /// The process id.
    ///
    /// # Panics
    /// If the process has already been reaped.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    /// `http://127.0.0.1:<otlp_http>/v1/traces`.
    pub fn traces_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/traces", self.otlp_http)
    }

    /// `GET path` on the app port: the status and the body (status 0 if the request failed).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let url = format!("http://127.0.0.1:{}{path}", self.app);
        match reqwest::get(&url).await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.text().await.unwrap_or_default())
            }
            Err(_) => (0, String::new()),
        }
    }

    /// `GET /api/v1/status`.
    ///
    /// # Panics
    /// If the server does not answer it with JSON.
    pub async fn status(&self) -> Json {
        let (code, body) = self.get("/api/v1/status").await;
        assert_eq!(code, 200, "/api/v1/status: {body}");
        serde_json::from_str(&body).expect("the status is JSON")
    }

    /// The server's peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Lifts the file-size limit it was started under (`prlimit`).
    ///
    /// # Panics
    /// If `prlimit` fails.
    pub fn lift_file_size_limit(&self) {
        let status = std::process::Command::new("prlimit")
            .arg("--pid")
            .arg(self.pid().to_string())
            .arg("--fsize=unlimited:")
            .status()
            .expect("prlimit runs");
        assert!(status.success(), "prlimit lifts the limit");
    }

    /// What the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The store file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("agentrace.db")
    }

    /// Stops it with SIGTERM (drains, commits, checkpoints) and waits.
    ///
    /// # Panics
    /// If it does not exit cleanly.
    pub async fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let status = self.child.wait().await.expect("the server exits");
        assert!(status.success(), "a clean exit: {}", self.log_text());
    }
}
