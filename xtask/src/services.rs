//! The local servers tasks start: the ClickHouse HTTP fixture over chdb, and free ports.

use std::path::Path;
use std::process::Command;

use crate::{root, target_dir};

/// The chdb fixture (`crates/agentrace-clickhouse/testing/chdb_http.py`) serving ClickHouse's
/// HTTP interface on a free port, over a data directory in the target dir; stopped on drop.
pub(crate) struct ChdbFixture {
    child: std::process::Child,
    pub(crate) url: String,
}

impl ChdbFixture {
    pub(crate) fn start(venv: &Path) -> Result<Self, String> {
        use std::io::{BufRead, BufReader};
        let data = target_dir().join("chdb-fixture-data");
        let _ = std::fs::remove_dir_all(&data);
        let mut child = Command::new(venv.join("bin").join("python"))
            .arg(root().join("crates/agentrace-clickhouse/testing/chdb_http.py"))
            .arg("--data")
            .arg(&data)
            .args(["--port", "0"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the chdb fixture: {e}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the chdb fixture has no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("the chdb fixture did not start: {e}"))?;
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("the chdb fixture did not start: {line:?}"))?
            .to_owned();
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for ChdbFixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound, read, released).
pub(crate) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Whether `GET path` on the loopback port answers 200 (plain HTTP/1.0, no dependencies).
pub(crate) fn http_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    if write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}
