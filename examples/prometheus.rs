//! A simulated support desk with the Prometheus backend, with no network besides `/metrics`:
//! three tickets, each triaged by one agent and answered by another, with model calls (one
//! rate-limited), knowledge-base searches (one timing out) and an escalation. The metrics the
//! pipeline derives — token usage, durations, cost, agent runs, tool calls, errors — are
//! served for Prometheus to scrape.
//!
//! ```text
//! cargo run --example prometheus --features prometheus -- --listen 127.0.0.1:9464 --serve-for 300
//! curl -s http://127.0.0.1:9464/metrics | grep -v '^#'
//! ```
//!
//! Flags: `--listen ADDR` (default `127.0.0.1:9464`; port 0 picks a free one) and
//! `--serve-for SECS` (default: until Ctrl-C). Serving also stops when stdin closes, so a parent
//! process that goes away takes the example along; keep stdin open (a terminal, a pipe).
//!
//! Standard output is line-oriented for scripts (the integration suite reads it):
//! `listening on http://ADDR/metrics`, then one line per model call
//! (`call agent=… provider=… model=… input=… output=… cache_read=… millis=… error=…`), tool
//! call (`tool name=… status=… millis=…`) and agent run (`agent name=… status=…`), then `ready`
//! once everything is exported.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use agentrace::prometheus::{DEFAULT_ADDR, PrometheusSink};
use agentrace::{TokenUsage, spans};
use tracing::Instrument;

#[path = "support/mod.rs"]
mod support;

/// The framework label of every span.
const FRAMEWORK: &str = "support-desk";

/// Prints a line and flushes it at once (stdout is a pipe under a script).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// One model call, recorded and reported.
struct Call {
    provider: &'static str,
    model: &'static str,
    input: u64,
    output: u64,
    cache_read: u64,
    millis: u64,
    /// A failed call reports no usage, only its error type.
    error: Option<&'static str>,
}

impl Call {
    const fn ok(provider: &'static str, model: &'static str, input: u64, output: u64) -> Self {
        Self {
            provider,
            model,
            input,
            output,
            cache_read: 0,
            millis: 20,
            error: None,
        }
    }

    const fn cached(mut self, tokens: u64) -> Self {
        self.cache_read = tokens;
        self
    }

    const fn taking(mut self, millis: u64) -> Self {
        self.millis = millis;
        self
    }

    const fn failing(provider: &'static str, model: &'static str, error: &'static str) -> Self {
        Self {
            error: Some(error),
            millis: 5,
            ..Self::ok(provider, model, 0, 0)
        }
    }

    async fn run(&self, agent: &str) {
        let span = spans::llm(self.provider, self.model);
        async {
            tokio::time::sleep(Duration::from_millis(self.millis)).await;
            let current = tracing::Span::current();
            match self.error {
                Some(error) => spans::set_error(&current, error, "the provider refused the call"),
                None => spans::record_usage(
                    &current,
                    &TokenUsage {
                        input_tokens: self.input,
                        output_tokens: self.output,
                        cache_read_tokens: self.cache_read,
                        ..TokenUsage::default()
                    },
                ),
            }
        }
        .instrument(span)
        .await;
        say(&format!(
            "call agent={agent} provider={} model={} input={} output={} cache_read={} millis={} error={}",
            self.provider,
            self.model,
            self.input,
            self.output,
            self.cache_read,
            self.millis,
            self.error.unwrap_or("-"),
        ));
    }
}

/// A knowledge-base search; `fails` makes it time out.
async fn search(millis: u64, fails: bool) -> bool {
    let span = spans::tool("kb_search");
    async {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        if fails {
            spans::set_error(&tracing::Span::current(), "timeout", "kb_search timed out");
        }
    }
    .instrument(span)
    .await;
    let status = if fails { "error" } else { "ok" };
    say(&format!(
        "tool name=kb_search status={status} millis={millis}"
    ));
    !fails
}

/// An agent run over `calls`, with a search first when `search_fails` is given.
async fn agent(name: &str, calls: &[Call], search_fails: Option<bool>) {
    let span = spans::agent(name);
    spans::set_framework(&span, FRAMEWORK);
    async {
        if let Some(fails) = search_fails
            && !search(15, fails).await
        {
            // Retry once after a timeout.
            search(10, false).await;
        }
        for call in calls {
            call.run(name).await;
        }
    }
    .instrument(span)
    .await;
    say(&format!("agent name={name} status=ok"));
}

async fn workload() {
    // A password reset: cheap triage, a short answer.
    agent(
        "triage",
        &[Call::ok("openai", "gpt-4o-mini", 850, 120)],
        None,
    )
    .await;
    agent(
        "resolver",
        &[Call::ok("anthropic", "claude-sonnet-4-5", 4_200, 640)
            .cached(2_048)
            .taking(40)],
        Some(false),
    )
    .await;

    // A billing dispute: triage is rate-limited once, the search times out once.
    agent(
        "triage",
        &[
            Call::failing("openai", "gpt-4o-mini", "rate_limited"),
            Call::ok("openai", "gpt-4o-mini", 910, 95),
        ],
        None,
    )
    .await;
    agent(
        "resolver",
        &[Call::ok("anthropic", "claude-sonnet-4-5", 6_100, 1_150)
            .cached(4_096)
            .taking(60)],
        Some(true),
    )
    .await;

    // An outage report, escalated: a long summary by a second model.
    agent(
        "triage",
        &[Call::ok("openai", "gpt-4o-mini", 1_020, 150)],
        None,
    )
    .await;
    agent(
        "resolver",
        &[
            Call::ok("anthropic", "claude-sonnet-4-5", 5_400, 980)
                .cached(4_096)
                .taking(50),
            Call::ok("gcp.gemini", "gemini-2.5-flash", 18_000, 2_200).taking(30),
        ],
        Some(false),
    )
    .await;
}

/// `--listen ADDR` (default 127.0.0.1:9464) and `--serve-for SECS` (default: no limit).
fn args() -> Result<(SocketAddr, Option<Duration>), String> {
    let listen = match support::flag("listen") {
        Some(v) => v.parse().map_err(|e| format!("--listen {v}: {e}"))?,
        None => DEFAULT_ADDR,
    };
    let serve_for = match support::flag("serve-for") {
        Some(v) => Some(
            v.parse::<f64>()
                .map_err(|e| e.to_string())
                .and_then(|secs| Duration::try_from_secs_f64(secs).map_err(|e| e.to_string()))
                .map_err(|e| format!("--serve-for {v}: {e}"))?,
        ),
        None => None,
    };
    Ok((listen, serve_for))
}

/// Resolves when stdin reaches its end (or fails).
async fn stdin_closed() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = tx.send(());
    });
    let _ = rx.await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (listen, serve_for) = args()?;
    let sink = PrometheusSink::builder()
        .service_name("support-desk")
        .build()?;
    let guard = agentrace::init()
        .service_name("support-desk")
        .metrics()
        .sink(sink.clone())
        .install()?;
    let server = sink.serve(listen)?;
    say(&format!("listening on {}", server.url()));

    workload().await;
    guard.flush()?;
    say("ready");

    let serve_for = async {
        match serve_for {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = serve_for => {}
        _ = tokio::signal::ctrl_c() => {}
        () = stdin_closed() => {}
    }

    guard.shutdown()?;
    server.stop()?;
    Ok(())
}
