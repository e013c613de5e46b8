//! Debian's nginx as the load balancer in front of several `agentrace serve` nodes, with the
//! configuration the fleet ships (`deploy/compose/fleet/nginx.conf`, one source): OTLP/HTTP
//! and the app proxied round robin, OTLP/gRPC through `grpc_pass` (HTTP/2 without TLS, as OTLP
//! clients speak it). A node that refuses connections (killed) is skipped for the next one:
//! OTLP export requests may be sent twice (a span delivered twice is stored once), so even a
//! request under way is passed on. The file is rendered for a test ([`render`]): its
//! upstreams' servers and its ports are the test's, the rest is as shipped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::process::free_port;
use crate::prometheus::Running;

/// nginx's binary (`AGENTRACE_NGINX_BIN`, else `nginx` on `PATH`, `/usr/bin` or `/usr/sbin`),
/// or `None` after [`require`](crate::require) said it is missing.
pub fn binary() -> Option<PathBuf> {
    let bin = crate::tool_binary("AGENTRACE_NGINX_BIN", "nginx");
    crate::require(
        bin.is_some(),
        "nginx (AGENTRACE_NGINX_BIN, `nginx` on PATH, /usr/bin or /usr/sbin)",
    )
    .then_some(bin)
    .flatten()
}

/// A running nginx, stopped when dropped (its master told to stop, so that its workers do
/// too).
#[derive(Debug)]
pub struct Nginx {
    process: Running,
    /// Where it takes OTLP/HTTP.
    pub http_port: u16,
    /// Where it takes OTLP/gRPC.
    pub grpc_port: u16,
    /// Where it serves the app (dashboard, API).
    pub app_port: u16,
    dir: PathBuf,
}

/// The nodes behind nginx: their OTLP/HTTP, OTLP/gRPC and app ports on loopback, a node each.
#[derive(Debug, Clone, Copy)]
pub struct Upstream {
    /// Its OTLP/HTTP port.
    pub otlp_http: u16,
    /// Its OTLP/gRPC port.
    pub otlp_grpc: u16,
    /// Its app's port (dashboard, API).
    pub app: u16,
}

/// The fleet's nginx configuration as shipped.
pub fn shipped_config() -> PathBuf {
    crate::workspace_root().join("deploy/compose/fleet/nginx.conf")
}

/// `shipped` (the text of [`shipped_config`]) for nginx run by a test from `dir`: each
/// upstream's servers the `nodes`' ports on loopback, each server listening on loopback at
/// `ports` (OTLP/HTTP, OTLP/gRPC, app), one worker, its files in its directory (`user root`
/// when `root`: the workers could not use them as `nobody`); everything else as shipped.
///
/// # Panics
/// If `shipped` lacks an upstream, a listener or the `http` block the test needs.
pub fn render(shipped: &str, nodes: &[Upstream], ports: (u16, u16, u16), root: bool) -> String {
    let mut out = String::new();
    if root {
        out.push_str("user root;\n");
    }
    out.push_str("daemon off;\npid nginx.pid;\n");
    let mut upstream: Option<fn(&Upstream) -> u16> = None;
    let mut found = [false; 4];
    for line in shipped.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["worker_processes", ..] => out.push_str("worker_processes 1;\n"),
            ["error_log", ..] => out.push_str("error_log error.log warn;\n"),
            ["http", "{"] => {
                out.push_str(line);
                out.push_str(
                    "\n    client_body_temp_path body;\n    proxy_temp_path proxy;\n    \
                     fastcgi_temp_path fastcgi;\n    uwsgi_temp_path uwsgi;\n    \
                     scgi_temp_path scgi;\n",
                );
                found[0] = true;
            }
            ["upstream", name, "{"] => {
                upstream = Some(match *name {
                    "agentrace_otlp_http" => |n: &Upstream| n.otlp_http,
                    "agentrace_otlp_grpc" => |n: &Upstream| n.otlp_grpc,
                    "agentrace_app" => |n: &Upstream| n.app,
                    other => panic!("an upstream the test does not know: {other}"),
                });
                out.push_str(line);
                out.push('\n');
                for node in nodes {
                    let port = upstream.map_or(0, |p| p(node));
                    out.push_str(&format!("        server 127.0.0.1:{port};\n"));
                }
            }
            ["server", _] if upstream.is_some() => {}
            ["}"] => {
                upstream = None;
                out.push_str(line);
                out.push('\n');
            }
            ["listen", port, rest @ ..] => {
                let (i, ours) = match *port {
                    "4318" | "4318;" => (1, ports.0),
                    "4317" | "4317;" => (2, ports.1),
                    "4319" | "4319;" => (3, ports.2),
                    other => panic!("a listener the test does not know: {other}"),
                };
                found[i] = true;
                let rest = if rest.is_empty() {
                    ";".to_owned()
                } else {
                    format!(" {}", rest.join(" "))
                };
                out.push_str(&format!("        listen 127.0.0.1:{ours}{rest}\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    assert!(
        found.iter().all(|f| *f),
        "the shipped configuration has the http block and the three listeners"
    );
    out
}

impl Nginx {
    /// Starts nginx with its files in `dir` and the fleet's configuration
    /// ([`shipped_config`], [`render`]ed), balancing over `nodes` on loopback, once it
    /// accepts connections.
    ///
    /// # Panics
    /// If it does not start within a minute.
    pub fn start(bin: &Path, dir: &Path, nodes: &[Upstream]) -> Self {
        let (http_port, grpc_port, app_port) = (free_port(), free_port(), free_port());
        let shipped = std::fs::read_to_string(shipped_config()).expect("the fleet's nginx.conf");
        let config = render(&shipped, nodes, (http_port, grpc_port, app_port), is_root());
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config).expect("nginx.conf");
        let child = std::process::Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let nginx = Self {
            process: Running {
                name: "nginx",
                child,
            },
            http_port,
            grpc_port,
            app_port,
            dir: dir.to_owned(),
        };
        let started = Instant::now();
        while [http_port, grpc_port, app_port]
            .iter()
            .any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err())
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "nginx listens; its log: {}",
                nginx.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    /// What nginx logged (warnings and errors).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: a fast shutdown, workers included (a SIGKILL would orphan them).
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.process.child.id().to_string())
            .status();
        let _ = self.process.child.wait();
    }
}

/// Whether this process runs as root.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Uid:"))?;
            line.split_whitespace().nth(1).map(|uid| uid == "0")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configuration_is_rendered_with_the_tests_nodes_and_ports() {
        let shipped = std::fs::read_to_string(shipped_config()).expect("the fleet's nginx.conf");
        let nodes = [
            Upstream {
                otlp_http: 1001,
                otlp_grpc: 1002,
                app: 1003,
            },
            Upstream {
                otlp_http: 2001,
                otlp_grpc: 2002,
                app: 2003,
            },
        ];
        let rendered = render(&shipped, &nodes, (9001, 9002, 9003), false);
        assert!(!rendered.contains("agentrace-1"), "{rendered}");
        for port in [1001, 1002, 1003, 2001, 2002, 2003] {
            assert_eq!(
                rendered
                    .matches(&format!("server 127.0.0.1:{port};"))
                    .count(),
                1,
                "{rendered}"
            );
        }
        for listen in [
            "listen 127.0.0.1:9001;",
            "listen 127.0.0.1:9002 http2;",
            "listen 127.0.0.1:9003;",
        ] {
            assert!(rendered.contains(listen), "{listen}: {rendered}");
        }
        // What makes a fleet work behind it is kept as shipped.
        for kept in [
            "proxy_set_header Host $http_host;",
            "grpc_set_header Host $http_host;",
            "proxy_next_upstream error timeout non_idempotent;",
        ] {
            assert!(rendered.contains(kept), "{kept}: {rendered}");
        }
    }
}
