//! `agentrace evaluate`: runs an online evaluator of a running server again on a past time
//! range (`POST /api/v1/evaluations/runs`) and follows its progress until it is done.

use std::io::Write as _;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::args::EvaluateArgs;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::format::count;
use crate::progress::Progress;

/// How often the run's progress is read.
const POLL: Duration = Duration::from_millis(250);

pub(crate) fn run(args: &EvaluateArgs, project: Option<&str>) -> Result<(), CliError> {
    let client = ApiClient::new(&args.server, project)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let run = runtime.block_on(follow(&client, args))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &run)?;
        writeln!(out)?;
    } else {
        let n = |key: &str| count(run[key].as_u64().unwrap_or(0));
        writeln!(
            out,
            "{}: {} scored, {} not applicable, {} failed ({} targets among {} spans)",
            args.evaluator,
            n("scored"),
            n("not_applicable"),
            n("failed"),
            n("queued"),
            n("scanned"),
        )?;
    }
    if run["state"] == "failed" {
        return Err(CliError::Server(format!(
            "the re-run failed: {}",
            run["error"].as_str().unwrap_or("no reason given")
        )));
    }
    Ok(())
}

/// The request's body: the evaluator and the range as the server reads times.
fn body(args: &EvaluateArgs) -> Value {
    let mut body = Map::new();
    body.insert("evaluator".into(), args.evaluator.clone().into());
    let from = match (&args.range.since, &args.range.from) {
        (Some(since), _) => Some(format!("-{since}")),
        (None, from) => from.clone(),
    };
    if let Some(from) = from {
        body.insert("from".into(), from.into());
    }
    if let Some(to) = &args.range.to {
        body.insert("to".into(), to.clone().into());
    }
    Value::Object(body)
}

/// Starts the run and reads its progress until it is done (or failed); the last reading.
async fn follow(client: &ApiClient, args: &EvaluateArgs) -> Result<Value, CliError> {
    let started = client.post("/evaluations/runs", &body(args)).await?;
    let id = started["id"]
        .as_u64()
        .ok_or_else(|| CliError::Server(format!("no run id in {started}")))?;
    let progress = Progress::new(&format!("evaluating {}", args.evaluator), Some(0));
    loop {
        let run = client.get(&format!("/evaluations/runs/{id}")).await?;
        let n = |key: &str| run[key].as_u64().unwrap_or(0);
        progress.show(n("done"), n("queued"));
        if run["state"] == "done" || run["state"] == "failed" {
            progress.finish();
            return Ok(run);
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    #[test]
    fn the_range_is_sent_as_the_server_reads_times() -> Result<(), String> {
        let parse = |line: &[&str]| -> Result<Value, String> {
            let mut argv = vec!["agentrace", "evaluate", "answer_is_json"];
            argv.extend_from_slice(line);
            match Cli::try_parse_from(argv)
                .map_err(|e| e.to_string())?
                .command
            {
                Command::Evaluate(args) => Ok(body(&args)),
                other => Err(format!("{other:?}")),
            }
        };
        assert_eq!(
            parse(&["--since", "24h"])?,
            serde_json::json!({"evaluator": "answer_is_json", "from": "-24h"})
        );
        assert_eq!(
            parse(&["--from", "2026-11-01", "--to", "2026-11-02"])?,
            serde_json::json!({"evaluator": "answer_is_json", "from": "2026-11-01", "to": "2026-11-02"})
        );
        assert_eq!(
            parse(&[])?,
            serde_json::json!({"evaluator": "answer_is_json"})
        );
        Ok(())
    }
}
