//! `agentrace alerts`: a running server's alerts — every alert's state, the channels, the
//! latest notifications.

use agentrace_core::civil::{Precision, rfc3339};
use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::Value;

use crate::args::AlertsArgs;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::format::{Table, colours, count, terminal_text};

pub(crate) fn run(args: &AlertsArgs, project: Option<&str>) -> Result<(), CliError> {
    let client = ApiClient::new(&args.server, project)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(client.get(&format!("/alerts?limit={}", args.history)))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &answer)?;
        writeln!(out)?;
        return Ok(());
    }
    let colour = colours();
    out.write_all(render(&answer, colour).as_bytes())?;
    Ok(())
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn text(v: &Value) -> String {
    terminal_text(v.as_str().unwrap_or(""))
}

/// A state, coloured on a terminal: red, yellow, green, grey.
fn state(v: &Value, colour: bool) -> String {
    let name = v.as_str().unwrap_or("?");
    let code = match name {
        "ALERT" => "31",
        "WARNING" => "33",
        "OK" => "32",
        _ => "90",
    };
    if colour {
        format!("\x1b[{code}m{name}\x1b[0m")
    } else {
        name.to_owned()
    }
}

fn render(answer: &Value, colour: bool) -> String {
    let mut s = String::new();
    let rules = list(&answer["rules"]).len();
    let alerts = list(&answer["alerts"]);
    let firing = alerts
        .iter()
        .filter(|a| matches!(a["state"].as_str(), Some("ALERT" | "WARNING" | "NO_DATA")))
        .count();
    let _ = writeln!(
        s,
        "{} rules, evaluated every {} s; {} alerts, {firing} firing",
        rules,
        answer["interval_seconds"].as_u64().unwrap_or(0),
        alerts.len()
    );
    if !alerts.is_empty() {
        let mut table = Table::new(&["alert", "state", "since", "summary"]);
        for a in alerts {
            table.row(vec![
                text(&a["alert"]),
                // Plain in the table: colour codes would upset its column widths.
                text(&a["state"]),
                rfc3339(
                    a["since_unix_nano"].as_u64().unwrap_or(0),
                    Precision::Seconds,
                ),
                text(&a["summary"]),
            ]);
        }
        let _ = write!(s, "\n{}", table.render(""));
    }
    let channels = list(&answer["channels"]);
    if !channels.is_empty() {
        let mut table = Table::new(&[
            "channel",
            "kind",
            "delivered",
            "failed",
            "retries",
            "dropped",
            "status",
        ]);
        for c in channels {
            let status = if c["failing"] == true {
                format!("FAILING: {}", text(&c["last_error"]))
            } else {
                "ok".to_owned()
            };
            let n = |k: &str| count(c[k].as_u64().unwrap_or(0));
            table.row(vec![
                text(&c["name"]),
                text(&c["kind"]),
                n("delivered"),
                n("failed"),
                n("retries"),
                n("dropped"),
                status,
            ]);
        }
        let _ = write!(s, "\n{}", table.render(""));
    }
    let history = list(&answer["history"]);
    if !history.is_empty() {
        let _ = writeln!(s, "\nlatest notifications, newest first:");
        for n in history {
            let _ = writeln!(
                s,
                "  {}  {} -> {}  {}",
                rfc3339(
                    n["time_unix_nano"].as_u64().unwrap_or(0),
                    Precision::Seconds
                ),
                state(&n["previous"], colour),
                state(&n["state"], colour),
                text(&n["summary"])
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_states_channels_and_history_with_telemetry_made_harmless() {
        let answer = serde_json::json!({
            "interval_seconds": 30,
            "rules": [{"name": "llm errors"}],
            "alerts": [{"alert": "llm errors{model=gpt-4o}", "state": "ALERT",
                        "since_unix_nano": 1_795_420_800_000_000_000_u64,
                        "summary": "bad \u{1b}]0;owned\u{7} title"}],
            "channels": [{"name": "ops", "kind": "webhook", "delivered": 2, "failed": 3,
                          "retries": 8, "dropped": 0, "failing": true,
                          "last_error": "request failed"}],
            "history": [{"time_unix_nano": 1_795_420_800_000_000_000_u64, "previous": "OK",
                         "state": "ALERT", "summary": "llm errors is ALERT"}]
        });
        let plain = render(&answer, false);
        assert!(
            plain.starts_with("1 rules, evaluated every 30 s; 1 alerts, 1 firing"),
            "{plain}"
        );
        assert!(plain.contains("llm errors{model=gpt-4o}"));
        assert!(plain.contains("FAILING: request failed"));
        assert!(plain.contains("OK -> ALERT  llm errors is ALERT"));
        assert!(
            !plain.contains('\u{1b}'),
            "a terminal escape from telemetry: {plain:?}"
        );
        let coloured = render(&answer, true);
        assert!(coloured.contains("OK\x1b[0m -> \x1b[31mALERT\x1b[0m"));
    }
}
