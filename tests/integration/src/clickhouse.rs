//! The ClickHouse engine behind ClickHouse's HTTP interface: `chdb_http.py`
//! (`tests/integration/python/clickhouse`), the real engine in-process (PyPI chdb) served as a
//! ClickHouse server is, started on a free port over a data directory. What it covers and what
//! only a real server shows are in the script's docstring.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::prometheus::Running;
use crate::{from_env_or, require, workspace_root};

/// The Python of the virtualenv with chdb: under `AGENTRACE_CLICKHOUSE_VENV` (set by `cargo
/// xtask integration`), else `target/clickhouse-venv`; `None` after [`require`] said it is
/// missing.
pub fn python() -> Option<PathBuf> {
    let python = from_env_or("AGENTRACE_CLICKHOUSE_VENV", &["target", "clickhouse-venv"])
        .join("bin")
        .join("python");
    let found = python.is_file();
    require(
        found,
        "the chdb virtualenv (scripts/install-test-deps.sh: target/clickhouse-venv)",
    )
    .then_some(python)
}

/// ClickHouse's HTTP interface over the engine, stopped when dropped.
#[derive(Debug)]
pub struct ChdbServer {
    process: Running,
    url: String,
    port: u16,
}

impl ChdbServer {
    /// Serves the engine with its data in `dir` on a free port, once it listens.
    ///
    /// # Panics
    /// If it does not start within a minute (loading the engine takes a few seconds).
    pub fn start(python: &Path, dir: &Path) -> Self {
        Self::start_on(python, dir, 0)
    }

    /// Serves the engine with its data in `dir` on `port` (0: a free one), once it listens: a
    /// server started again where one died finds its data and its clients.
    ///
    /// # Panics
    /// If it does not start within a minute.
    pub fn start_on(python: &Path, dir: &Path, port: u16) -> Self {
        let child = Command::new(python)
            .arg(workspace_root().join("tests/integration/python/clickhouse/chdb_http.py"))
            .arg("--data")
            .arg(dir)
            .arg("--port")
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut process = match child {
            Ok(child) => Running {
                name: "chdb_http.py",
                child,
            },
            Err(e) => panic!("cannot start {}: {e}", python.display()),
        };
        let Some(stdout) = process.child.stdout.take() else {
            panic!("chdb_http.py: no stdout")
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("chdb_http.py did not say where it listens: {e}"));
        let Some(port) = line.trim().strip_prefix("listening on ") else {
            panic!("chdb_http.py: unexpected first line {line:?}")
        };
        let Ok(port) = port.parse() else {
            panic!("chdb_http.py: no port in {line:?}")
        };
        Self {
            process,
            url: format!("http://127.0.0.1:{port}"),
            port,
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends it `signal` (`STOP`: it hangs, answering nothing; `CONT`: it goes on; `KILL`).
    ///
    /// # Panics
    /// If `kill` fails.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.process.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} chdb_http.py");
    }

    /// Its URL, as a ClickHouse server's HTTP interface (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }
}
