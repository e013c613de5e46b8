//! `agentrace score`: gives a trace, span or session a score on a running server
//! (`POST /api/v1/scores`), which checks it whole and against its configuration.

use std::io::Write as _;

use serde_json::{Map, Value};

use crate::args::ScoreArgs;
use crate::client::ApiClient;
use crate::error::CliError;

pub(crate) fn run(args: &ScoreArgs, project: Option<&str>) -> Result<(), CliError> {
    let body = body(args)?;
    let client = ApiClient::new(&args.server, project)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(client.post("/scores", &body))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &answer)?;
        writeln!(out)?;
    } else {
        let id = answer["ids"][0].as_str().unwrap_or("?");
        writeln!(out, "score {id} stored")?;
    }
    Ok(())
}

/// The score as the API takes it: the fields given, no others (the server fills defaults).
fn body(args: &ScoreArgs) -> Result<Value, CliError> {
    let mut score = Map::new();
    score.insert("name".into(), args.name.clone().into());
    let texts = [
        ("trace_id", &args.trace),
        ("span_id", &args.span),
        ("session_id", &args.session),
        ("label", &args.label),
        ("data_type", &args.data_type),
        ("explanation", &args.explanation),
        ("source", &args.source),
        ("annotator_kind", &args.annotator),
        ("author", &args.author),
        ("id", &args.id),
    ];
    for (key, value) in texts {
        if let Some(value) = value {
            score.insert(key.into(), value.clone().into());
        }
    }
    if let Some(value) = args.value {
        let number = serde_json::Number::from_f64(value)
            .ok_or_else(|| CliError::Usage(format!("--value {value}: not a finite number")))?;
        score.insert("value".into(), number.into());
    }
    if let Some(metadata) = &args.metadata {
        let object: Value = serde_json::from_str(metadata)
            .map_err(|e| CliError::Usage(format!("--metadata is not JSON: {e}")))?;
        if !object.is_object() {
            return Err(CliError::Usage("--metadata must be a JSON object".into()));
        }
        score.insert("metadata".into(), object);
    }
    Ok(Value::Object(score))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    fn parse(line: &[&str]) -> Result<ScoreArgs, String> {
        let mut argv = vec!["agentrace", "score"];
        argv.extend_from_slice(line);
        match Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .command
        {
            Command::Score(args) => Ok(args),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn the_body_holds_what_was_given() -> Result<(), String> {
        let args = parse(&[
            "helpfulness",
            "--span",
            "00f067aa0ba902b7",
            "--trace",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "--value",
            "-0.5",
            "--source",
            "annotation",
            "--metadata",
            r#"{"ticket": 7}"#,
        ])?;
        assert_eq!(
            body(&args).map_err(|e| e.to_string())?,
            serde_json::json!({"name": "helpfulness", "span_id": "00f067aa0ba902b7",
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "value": -0.5,
                "source": "annotation", "metadata": {"ticket": 7}})
        );
        Ok(())
    }

    #[test]
    fn a_target_is_needed_and_bad_metadata_is_refused() -> Result<(), String> {
        assert!(parse(&["thumbs", "--value", "1"]).is_err(), "no target");
        assert!(
            parse(&["thumbs", "--session", "s", "--trace", "t"]).is_err(),
            "a session and a trace"
        );
        let args = parse(&["thumbs", "--session", "s-1", "--metadata", "[1]"])?;
        assert!(body(&args).is_err());
        Ok(())
    }
}
