//! The real ClickHouse engine for tests (feature `testing`): `testing/chdb_http.py` in this
//! crate serves the engine in-process (PyPI chdb) behind ClickHouse's HTTP interface, on a
//! free port over a data directory, as a ClickHouse server does. What it covers and what only
//! a real server shows are in the script's docstring. This crate's own tests run the store
//! conformance suite on it; the integration suite runs fleets and crashes on it.
//!
//! ```no_run
//! use agentrace_clickhouse::testing::{ChdbServer, python};
//!
//! # fn main() -> std::io::Result<()> {
//! let Some(python) = python() else { return Ok(()) }; // missing: skipped (failed under CI=true)
//! let dir = tempfile::tempdir()?;
//! let server = ChdbServer::start(&python, dir.path());
//! println!("ClickHouse's HTTP interface on {}", server.url());
//! # Ok(())
//! # }
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use agentrace_core::testing::components::require;

/// The Python of the virtualenv with chdb: under `AGENTRACE_CLICKHOUSE_VENV` (set by `cargo
/// xtask ci`), else the workspace's `target/clickhouse-venv`; `None` after
/// [`require`] said it is missing (under `CI=true` it panics instead).
pub fn python() -> Option<PathBuf> {
    let venv = agentrace_core::env::process_path("AGENTRACE_CLICKHOUSE_VENV")
        .unwrap_or_else(|| workspace_root().join("target").join("clickhouse-venv"));
    let python = venv.join("bin").join("python");
    let found = python.is_file();
    require(
        found,
        "the chdb virtualenv (scripts/install-test-deps.sh: target/clickhouse-venv)",
    )
    .then_some(python)
}

/// The workspace this crate is built in.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// ClickHouse's HTTP interface over the engine, stopped when dropped.
#[derive(Debug)]
pub struct ChdbServer {
    child: Child,
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
        Self::start_at(python, dir, ("127.0.0.1", port))
    }

    /// Serves the engine with its data in `dir` at `(host, port)` (`0.0.0.0`: every address of
    /// the machine, for clients in containers; port 0: a free one), once it listens. Its
    /// [`url`](Self::url) is still loopback's.
    ///
    /// # Panics
    /// If it does not start within a minute.
    pub fn start_at(python: &Path, dir: &Path, (host, port): (&str, u16)) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testing")
            .join("chdb_http.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg("--data")
            .arg(dir)
            .arg("--host")
            .arg(host)
            .arg("--port")
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let Some(stdout) = child.stdout.take() else {
            panic!("chdb_http.py: no stdout")
        };
        // Owned by the server from here: dropped (killed) if it never says where it listens.
        let mut server = Self {
            child,
            url: String::new(),
            port: 0,
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
        server.port = port;
        server.url = format!("http://127.0.0.1:{port}");
        server
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends it `signal` (`STOP`: it hangs, answering nothing; `CONT`: it goes on; `KILL`).
    ///
    /// # Panics
    /// If `kill` cannot run or fails.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap_or_else(|e| panic!("kill -{signal}: {e}"));
        assert!(status.success(), "kill -{signal} chdb_http.py");
    }

    /// Its URL, as a ClickHouse server's HTTP interface (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ChdbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
