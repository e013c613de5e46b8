//! `agentrace`: the command line over an agentrace store.
//!
//! ```text
//! agentrace serve --demo
//! agentrace summary  --db agentrace-data/agentrace.db --since 24h
//! agentrace traces list --errors --since 1h
//! agentrace traces show 4bf92f3577b34da6a3ce929d0e0e4736
//! agentrace export --what spans --format csv --since 7d --output spans.csv
//! agentrace --store clickhouse://ch.internal/agentrace import spans.jsonl events.jsonl
//! agentrace prices show openrouter/anthropic/claude-sonnet-4.5
//! agentrace prices estimate gpt-4o --text "Summarize this" --output-tokens 300
//! agentrace export prometheus-rules --alerts alerts.toml -o agentrace-rules.yml
//! agentrace export grafana-dashboard --alerts alerts.toml -o agentrace-dashboard.json
//! agentrace alerts --server http://127.0.0.1:4319
//! agentrace tools --since 6h
//! agentrace tail --agent planner
//! agentrace status
//! ```
//!
//! The store is a SQLite file written by the `sqlite` backend (`--db`, else
//! `AGENTRACE_SQLITE_PATH`, else `agentrace-data/agentrace.db` if it exists, else the store of
//! `agentrace serve` in its per-user data dir), or the ClickHouse database of a fleet
//! (`--store clickhouse://HOST:PORT/DATABASE`). This crate reads either through the store
//! traits of `agentrace-store` and writes JSONL in `agentrace-file`'s schema; it holds the
//! presentation only.

mod args;
mod client;
mod commands;
mod error;
mod format;
mod progress;
mod time;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{BudgetCommand, Cli, Command, PricesCommand, SloCommand, TracesCommand};
use crate::error::CliError;

/// mimalloc: the server allocates and frees millions of small strings a second, on one thread
/// and freed on another (received on the receivers, freed after the commit). glibc's allocator
/// spent a third of the receivers' time in `malloc` and `free`; with mimalloc the ingest
/// benchmark runs ~15 % faster (`cargo xtask bench ingest`, docs/benchmark-notebook.md §7).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Transparent huge pages (on by default on many Linux systems) make mimalloc's memory
    // resident 2 MiB at a time: under the ingest benchmark, 155–172 MiB peak RSS instead of
    // 109–117 MiB without them. This process does not need them.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Serve(a) => commands::serve::run(a),
        Command::Summary(a) => commands::summary::run(&cli.store, a),
        Command::Traces(TracesCommand::List(a)) => commands::traces::list(&cli.store, a),
        Command::Traces(TracesCommand::Show(a)) => commands::traces::show(&cli.store, a),
        Command::Search(a) => commands::search::run(&cli.store, a),
        Command::Export(a) => commands::export::run(&cli.store, a),
        Command::Import(a) => commands::import::run(&cli.store, a),
        Command::Prices(PricesCommand::List(a)) => commands::prices::list(a),
        Command::Prices(PricesCommand::Show(a)) => commands::prices::show(a),
        Command::Prices(PricesCommand::Estimate(a)) => commands::prices::estimate(a),
        Command::Prices(PricesCommand::Import(a)) => commands::prices::import(a),
        Command::Prices(PricesCommand::Reprice(a)) => commands::prices::reprice(&cli.store, a),
        Command::Cost(a) => commands::cost::run(&cli.store, a),
        Command::Budget(BudgetCommand::Status(a)) => commands::cost::budget_status(&cli.store, a),
        Command::Alerts(a) => commands::alerts::run(a, cli.store.project.as_deref()),
        Command::Tools(a) => commands::tools::run(&cli.store, a),
        Command::Tail(a) => commands::tail::run(a, cli.store.project.as_deref()),
        Command::Status(a) => commands::status::run(a, cli.store.project.as_deref()),
        Command::Audit(a) => commands::audit::run(a, cli.store.project.as_deref()),
        Command::Probe(a) => commands::probe::run(a),
        Command::Score(a) => commands::score::run(a, cli.store.project.as_deref()),
        Command::Evaluate(a) => commands::evaluate::run(a, cli.store.project.as_deref()),
        Command::Report(a) => commands::report::run(a, cli.store.project.as_deref()),
        Command::Projects(c) => commands::projects::run(c, cli.store.project.as_deref()),
        Command::Slo(SloCommand::Export(a)) => commands::slo::export(a),
        Command::Slo(SloCommand::Import(a)) => commands::slo::import(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `agentrace traces list | head`: the reader went away; not an error.
        Err(CliError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agentrace: {e}");
            ExitCode::FAILURE
        }
    }
}
