//! Debian's nginx as the load balancer in front of several `agentrace serve` nodes: OTLP/HTTP
//! proxied round robin, OTLP/gRPC through `grpc_pass` (HTTP/2 without TLS, as OTLP clients
//! speak it). A node that refuses connections (killed) is skipped for the next one, as a load
//! balancer in front of stateless nodes is set up: OTLP export requests may be sent twice (a
//! span delivered twice is stored once), so even a request under way is passed on.

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
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx with its files in `dir`, balancing OTLP/HTTP over the `http` ports and
    /// OTLP/gRPC over the `grpc` ports of loopback, once it accepts connections.
    ///
    /// # Panics
    /// If it does not start within a minute.
    pub fn start(bin: &Path, dir: &Path, http: &[u16], grpc: &[u16]) -> Self {
        let (http_port, grpc_port) = (free_port(), free_port());
        let servers = |ports: &[u16]| {
            ports
                .iter()
                .map(|p| format!("        server 127.0.0.1:{p};\n"))
                .collect::<String>()
        };
        // As root, the workers would run as `nobody` and could not use the temporary
        // directories made here.
        let user = if is_root() { "user root;\n" } else { "" };
        let config = format!(
            "{user}worker_processes 1;\ndaemon off;\npid nginx.pid;\nerror_log error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
             \x20   access_log off;\n\
             \x20   client_body_temp_path body;\n    proxy_temp_path proxy;\n\
             \x20   fastcgi_temp_path fastcgi;\n    uwsgi_temp_path uwsgi;\n    scgi_temp_path scgi;\n\
             \x20   client_max_body_size 16m;\n\
             \x20   upstream otlp_http {{\n{http_servers}        keepalive 16;\n    }}\n\
             \x20   upstream otlp_grpc {{\n{grpc_servers}        keepalive 16;\n    }}\n\
             \x20   server {{\n        listen 127.0.0.1:{http_port};\n        location / {{\n\
             \x20           proxy_pass http://otlp_http;\n            proxy_http_version 1.1;\n\
             \x20           proxy_set_header Connection \"\";\n\
             \x20           proxy_set_header Host $http_host;\n\
             \x20           proxy_next_upstream error timeout non_idempotent;\n        }}\n    }}\n\
             \x20   server {{\n        listen 127.0.0.1:{grpc_port} http2;\n        location / {{\n\
             \x20           grpc_pass grpc://otlp_grpc;\n\
             \x20           grpc_set_header Host $http_host;\n\
             \x20           grpc_next_upstream error timeout non_idempotent;\n        }}\n    }}\n\
             }}\n",
            http_servers = servers(http),
            grpc_servers = servers(grpc),
        );
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
            dir: dir.to_owned(),
        };
        let started = Instant::now();
        while [http_port, grpc_port]
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
