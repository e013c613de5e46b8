//! `agentrace serve`: flags over the environment over the configuration file, then the server
//! until SIGINT or SIGTERM, then a graceful shutdown.

use agentrace_server::config::{LogFormat, StoreLocation};
use agentrace_server::{ConfigLayer, RunningServer, Server, ServerConfig, shutdown_signal};
use tracing_subscriber::EnvFilter;

use crate::args::ServeArgs;
use crate::error::CliError;

/// The log filter variable (`tracing` syntax, default `info`).
const LOG_ENV: &str = "AGENTRACE_LOG";

fn banner(server: &RunningServer, config: &ServerConfig) {
    let http = server.otlp_http_addr();
    let app = server.app_addr();
    println!("agentrace serve");
    println!("  dashboard  http://{app}/");
    println!("  OTLP/HTTP  http://{http}  (/v1/traces, /v1/logs, /v1/metrics)");
    println!("  OTLP/gRPC  http://{}", server.otlp_grpc_addr());
    println!("  API        http://{app}/api/v1");
    println!("  metrics    http://{app}/metrics");
    match &config.store {
        StoreLocation::Sqlite => println!("  store      {}", config.db_path().display()),
        // Without the password; held spans are spooled in the data directory.
        clickhouse => println!(
            "  store      {clickhouse} (data directory {})",
            config.data_dir.display()
        ),
    }
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
    let flags = ConfigLayer::from_flags(
        args.keys
            .0
            .iter()
            .map(|(key, values)| (*key, values.clone())),
    )?;
    let config = ServerConfig::load(args.config.as_deref(), flags)?;
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal; a container platform reads plain lines, or one
    // JSON object a line. A subscriber installed before (none in this binary) keeps its place.
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match config.log_format {
        LogFormat::Text => log.try_init(),
        LogFormat::Json => log.json().try_init(),
    };
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
