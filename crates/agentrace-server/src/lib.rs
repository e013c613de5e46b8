//! # agentrace-server
//!
//! `agentrace serve` as a library: one process that any agent in any language points its OTLP
//! exporter at. It receives OTLP over HTTP (4318; protobuf and JSON, gzip) and gRPC (4317),
//! runs every record through the same processors as in-process records (normalize, then mask
//! secrets when on → price → budget → derive metrics), stores spans and events in its store
//! (a SQLite file by default, or a ClickHouse database a fleet of nodes shares) **before** it
//! acknowledges them, and serves the web dashboard at `/`, the REST API under `/api/v1` with a
//! WebSocket live feed, `/metrics`, `/healthz` and `/readyz` on the app port (4319). It can
//! forward everything upstream over OTLP, enforces retention in the background, and can run a
//! simulated multi-agent workload (`--demo`).
//!
//! The dashboard is the `dashboard/` folder of this crate — plain ES modules, embedded in the
//! binary at compile time and served under versioned URLs (see its README and
//! `docs/dashboard.md`); it reads only the public API.
//!
//! | piece | what it is |
//! |---|---|
//! | [`Server::start`] → [`RunningServer`] | start everything from a [`ServerConfig`]; addresses, counters, graceful [`shutdown`](RunningServer::shutdown) |
//! | [`ServerConfig`], [`config`] | every setting, from a TOML file, `AGENTRACE_*` variables and flags (flags win) |
//! | [`AppState`], [`ServerStats`] | what the routes share; the counters behind the pipeline-status endpoint |
//! | [`shutdown_signal`] | resolves on SIGINT / SIGTERM |
//!
//! ## The walk
//!
//! The source is laid out as the data's path through the server, on two foundations every
//! step stands on; each folder refers only to those above it in this table (xtask's tidy holds
//! the list and the one-way references):
//!
//! | folder | its role |
//! |---|---|
//! | `config/` | every setting: its key, its layers (file, environment, flags), its checks |
//! | `store.rs` | the store the configuration names, opened with its projects ([`SharedOrganization`], each project's [`SharedStore`]: SQLite or ClickHouse) |
//! | `telemetry/` | the server's own figures, beneath every step: the counters ([`ServerStats`]), the node's fleet membership, `/status`' snapshot, `/metrics`' text |
//! | `ingest/` | the walk: **receive** (the listeners' limits, OTLP over HTTP and gRPC) → **process** (the processor chain, rows encoded) → **write** (the writer's group commit) → **publish** (the commit's watchers, the live feed, the fan-out pipeline) |
//! | `jobs/` | what runs beside it: retention, repairs, alerting and SLOs, reports, online evaluations, the fleet's beat, the budgets' reload |
//! | `http/` | where the stored data is read: the REST API and its live feed, the dashboard, the compat APIs, `/metrics`, the health checks; the `Host`, `Origin` and token guards of every listener |
//! | `startup/` | [`Server::start`], which wires it all step by step, and the graceful stop; the demo |
//!
//! ## Durability and overload
//!
//! The threads that receive a request run the processors on its records (many requests at
//! once) and encode each span's row, then hand the batch to one writer thread through a bounded
//! queue. The writer takes every batch waiting, inserts the spans in one transaction and the
//! events in another (group commit), and only then answers each request: a 200 (gRPC `OK`) means the
//! records are committed to the write-ahead log, and a crash of the process right after loses
//! nothing. Inserts are idempotent: a span sent again (same trace and span id) is stored once
//! and counted as a duplicate. When the queue is full the receivers answer at once with a
//! retryable status — HTTP 503 with `Retry-After`, gRPC `RESOURCE_EXHAUSTED` with `RetryInfo`
//! — instead of queueing without bound. After the commit, records go to the live feed and to a
//! non-blocking pipeline feeding `/metrics` and the optional forwarder, which drops and counts
//! rather than slowing ingest.
//!
//! ## Security
//!
//! Every listener binds `127.0.0.1` unless configured otherwise. Binding any other address
//! requires an API token, and the server refuses to start without one; with a token, ingest
//! (HTTP and gRPC), the API and `/metrics` need `Authorization: Bearer <token>`; the dashboard
//! logs in once with the token and keeps an `HttpOnly`, `SameSite=Strict` session cookie. CORS is
//! off unless origins are configured. Against the user's own browser: on a loopback bind the HTTP
//! listeners answer only `localhost`, IP addresses and `allowed_hosts` (DNS rebinding), and the
//! live feed, `POST`s and cookie-authenticated requests from pages of other origins are refused.
//! The dashboard shows telemetry as text only, under a strict Content-Security-Policy.
//!
//! ## Example
//!
//! ```
//! use agentrace_server::{Server, ServerConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let runtime = tokio::runtime::Runtime::new()?;
//! # runtime.block_on(async {
//! let dir = tempfile::tempdir()?;
//! // Port 0: any free port (the defaults are 4318, 4317 and 4319).
//! let server = Server::start(ServerConfig::new(dir.path()).with_any_free_ports()).await?;
//! println!("OTLP/HTTP on http://{}/v1/traces", server.otlp_http_addr());
//! println!("OTLP/gRPC on http://{}", server.otlp_grpc_addr());
//! println!("API and /metrics on http://{}", server.app_addr());
//!
//! // … point OTLP exporters at it; stored spans are in `server.state().store` …
//!
//! let stats = server.shutdown().await?; // drains, flushes, checkpoints
//! assert_eq!(stats.writer.queued_requests, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```

pub mod config;
pub mod http;
mod ingest;
pub mod jobs;
mod startup;
pub mod store;
pub mod telemetry;

pub use config::{ConfigError, ConfigLayer, ServerConfig};
pub use http::state::AppState;
pub use ingest::committed::{Committed, LIVE_CAPACITY, Published};
pub use startup::error::{StartError, StopError};
pub use startup::running::{RunningServer, shutdown_signal};
pub use startup::server::Server;
pub use store::{OpenStoreError, SharedOrganization, SharedStore};
pub use telemetry::stats::{ServerStats, StatsSnapshot};
