//! `agentrace serve`: flags over the environment over the configuration file, then the server
//! until SIGINT or SIGTERM, then a graceful shutdown.

use agentrace_server::{ConfigLayer, RunningServer, Server, ServerConfig, shutdown_signal};
use tracing_subscriber::EnvFilter;

use crate::args::ServeArgs;
use crate::error::CliError;

/// The log filter variable (`tracing` syntax, default `info`).
const LOG_ENV: &str = "AGENTRACE_LOG";

impl ServeArgs {
    /// The flags as a configuration layer.
    fn layer(&self) -> ConfigLayer {
        let mut layer = ConfigLayer::default();
        layer.data_dir = self.data_dir.clone();
        layer.bind = self.bind;
        layer.ports.otlp_http = self.otlp_http_port;
        layer.ports.otlp_grpc = self.otlp_grpc_port;
        layer.ports.app = self.app_port;
        layer.api_token = self.api_token.clone();
        layer.cors_origins = (!self.cors_origins.is_empty()).then(|| self.cors_origins.clone());
        layer.allowed_hosts = (!self.allowed_hosts.is_empty()).then(|| self.allowed_hosts.clone());
        layer.dashboard_dir = self.dashboard_dir.clone();
        layer.prices = (!self.prices.is_empty()).then(|| self.prices.clone());
        layer.budgets = self.budgets.clone();
        layer.limits.max_body = self.max_body;
        layer.limits.max_decompressed_body = self.max_decompressed_body;
        layer.limits.queue_requests = self.queue_requests;
        layer.limits.queue_records = self.queue_records;
        layer.retention.interval = self.retention_interval;
        layer.retention.spans.max_age = self.spans_max_age;
        layer.retention.spans.max_size = self.spans_max_size;
        layer.retention.events.max_age = self.events_max_age;
        layer.retention.events.max_size = self.events_max_size;
        layer.retention.metrics.max_age = self.metrics_max_age;
        layer.retention.metrics.max_size = self.metrics_max_size;
        layer.mask_secrets = self.no_mask_secrets.then_some(false);
        layer.redact = self.redact.then_some(true);
        layer.capture_content = self.capture_content.then_some(true);
        layer.orphan_grace = self.orphan_grace;
        layer.forward.endpoint = self.forward_otlp.clone();
        layer.forward.protocol = self.forward_protocol;
        layer.demo = self.demo.then_some(true);
        layer
    }
}

fn banner(server: &RunningServer, config: &ServerConfig) {
    let http = server.otlp_http_addr();
    let app = server.app_addr();
    println!("agentrace serve");
    println!("  dashboard  http://{app}/");
    println!("  OTLP/HTTP  http://{http}  (/v1/traces, /v1/logs, /v1/metrics)");
    println!("  OTLP/gRPC  http://{}", server.otlp_grpc_addr());
    println!("  API        http://{app}/api/v1");
    println!("  metrics    http://{app}/metrics");
    println!("  store      {}", config.db_path().display());
    if let Some(forward) = &config.forward {
        println!("  forward    {} ({})", forward.endpoint, forward.protocol);
    }
    if config.api_token.is_some() {
        println!(
            "  token      required: Authorization: Bearer <token> (the dashboard asks for it once)"
        );
    }
    if config.demo {
        println!("  demo       a simulated multi-agent workload is flowing in");
    }
    println!("Point an OTLP exporter at it: OTEL_EXPORTER_OTLP_ENDPOINT=http://{http}");
    println!("Ctrl-C to stop.");
}

pub(crate) fn run(args: &ServeArgs) -> Result<(), CliError> {
    let config = ServerConfig::load(args.config.as_deref(), args.layer())?;
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    // A subscriber installed before (none in this binary) keeps its place.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("agentrace-serve")
        .build()?;
    runtime.block_on(async {
        let server = Server::start(config.clone()).await?;
        banner(&server, &config);
        shutdown_signal().await;
        eprintln!(
            "agentrace: stopping: finishing requests in flight, writing what is queued, flushing"
        );
        let stats = server.shutdown().await?;
        eprintln!(
            "agentrace: stopped; this run stored {} spans and {} events",
            stats.spans.stored, stats.events.stored
        );
        Ok(())
    })
}
