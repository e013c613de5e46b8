//! `agentrace tail`: a running server's live feed in the terminal — spans, events and alerts as
//! they are committed — or as JSON lines (`--json`) for other tools.
//!
//! Session, service and kind are filtered by the server; agent and minimum event level here.
//! Telemetry text is printed with its control characters escaped.

use agentrace_core::civil::{Precision, rfc3339};
use std::io::Write;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::args::TailArgs;
use crate::client::{ApiClient, encode};
use crate::error::CliError;
use crate::format::{colours, cost, duration, terminal_text};

/// Event levels, least severe first (the feed's names).
const LEVELS: [&str; 7] = [
    "TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL",
];

fn severity(level: &str) -> usize {
    LEVELS
        .iter()
        .position(|l| l.eq_ignore_ascii_case(level))
        .unwrap_or(0)
}

pub(crate) fn run(args: &TailArgs, project: Option<&str>) -> Result<(), CliError> {
    if let Some(level) = &args.level
        && !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level))
    {
        return Err(CliError::Usage(format!(
            "--level {level:?}: one of trace, debug, info, success, warning, error, critical"
        )));
    }
    let client = ApiClient::new(&args.server, project)?;
    let mut query = Vec::new();
    for (name, value) in [
        ("session", &args.session),
        ("service", &args.service),
        ("kind", &args.kind),
    ] {
        if let Some(v) = value {
            query.push(format!("{name}={}", encode(v)));
        }
    }
    let url = client.live_url(&query.join("&"));
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| CliError::Server(format!("{url}: {e}")))?;
    if let Some(token) = client.token() {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| CliError::Usage("the API token is not a valid header value".into()))?;
        request.headers_mut().insert("authorization", value);
    }
    if let Some(project) = client.project() {
        let value = HeaderValue::from_str(project)
            .map_err(|_| CliError::Usage("--project is not a valid header value".into()))?;
        request
            .headers_mut()
            .insert(crate::client::PROJECT_HEADER, value);
    }
    let colour = !args.json && colours();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (mut feed, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| CliError::Server(format!("cannot follow {url}: {e}")))?;
        let mut out = std::io::stdout().lock();
        while let Some(message) = feed.next().await {
            let message =
                message.map_err(|e| CliError::Server(format!("the live feed broke: {e}")))?;
            let Message::Text(text) = message else {
                continue;
            };
            let Ok(m) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            for line in lines(&m, args, colour) {
                writeln!(out, "{line}")?;
            }
            out.flush()?;
        }
        Ok(())
    })
}

fn text(v: &Value) -> String {
    terminal_text(v.as_str().unwrap_or(""))
}

fn paint(s: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_owned()
    }
}

/// The lines one feed message prints, after the client-side filters.
fn lines(m: &Value, args: &TailArgs, colour: bool) -> Vec<String> {
    let items = |key: &str| m[key].as_array().cloned().unwrap_or_default();
    let agent_ok = |v: &Value| {
        args.agent
            .as_deref()
            .is_none_or(|a| v["agent"].as_str() == Some(a))
    };
    match m["type"].as_str() {
        Some("spans") => items("spans")
            .iter()
            .filter(|s| agent_ok(s))
            .map(|s| {
                if args.json {
                    s.to_string()
                } else {
                    span_line(s, colour)
                }
            })
            .collect(),
        Some("events") => items("events")
            .iter()
            .filter(|e| {
                args.agent.is_none()
                    && args.level.as_deref().is_none_or(|min| {
                        severity(e["level"].as_str().unwrap_or("")) >= severity(min)
                    })
            })
            .map(|e| {
                if args.json {
                    e.to_string()
                } else {
                    event_line(e, colour)
                }
            })
            .collect(),
        Some("alerts") => items("alerts")
            .iter()
            .map(|a| {
                if args.json {
                    a.to_string()
                } else {
                    let state = text(&a["state"]);
                    let code = if state == "OK" { "32" } else { "31;1" };
                    format!(
                        "{}  {} {}  {}",
                        rfc3339(
                            a["time_unix_nano"].as_u64().unwrap_or(0),
                            Precision::Seconds
                        ),
                        paint("alert", "35", colour),
                        paint(&state, code, colour),
                        text(&a["summary"])
                    )
                }
            })
            .collect(),
        Some("lagged") if !args.json => vec![format!(
            "! fell behind: {} batches skipped",
            m["missed"].as_u64().unwrap_or(0)
        )],
        _ => Vec::new(),
    }
}

fn span_line(s: &Value, colour: bool) -> String {
    let failed = s["status"] == "error";
    let mut line = format!(
        "{}  {} {:<9} {}  {}  {}",
        rfc3339(
            s["start_unix_nano"].as_u64().unwrap_or(0),
            Precision::Seconds
        ),
        paint("span", "36", colour),
        text(&s["kind"]),
        text(&s["name"]),
        duration(s["duration_ns"].as_u64().unwrap_or(0)),
        if failed {
            paint("error", "31", colour)
        } else {
            paint("ok", "32", colour)
        },
    );
    for key in ["service", "agent", "session", "model", "tool"] {
        if s[key].is_string() {
            line.push_str(&format!("  {key}={}", text(&s[key])));
        }
    }
    if let Some(c) = s["cost"].as_f64() {
        line.push_str(&format!(
            "  {}",
            cost(Some(agentrace_core::Usd::from_dollars(c)))
        ));
    }
    if failed && s["error"].is_string() {
        line.push_str(&format!("  {}", paint(&text(&s["error"]), "31", colour)));
    }
    line
}

fn event_line(e: &Value, colour: bool) -> String {
    let level = text(&e["level"]);
    let code = match severity(&level) {
        6 | 5 => "31",
        4 => "33",
        _ => "2",
    };
    format!(
        "{}  {} {:<8} {}  {}  service={}",
        rfc3339(
            e["time_unix_nano"].as_u64().unwrap_or(0),
            Precision::Seconds
        ),
        paint("event", "34", colour),
        paint(&level, code, colour),
        text(&e["type"]),
        text(&e["message"]),
        text(&e["service"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{ServerArgs, TailArgs};

    fn args() -> TailArgs {
        TailArgs {
            server: ServerArgs {
                server: String::new(),
                api_token: None,
            },
            session: None,
            service: None,
            kind: None,
            agent: Some("planner".into()),
            level: None,
            json: false,
        }
    }

    #[test]
    fn spans_events_and_alerts_become_lines_with_telemetry_made_harmless() {
        let m = serde_json::json!({"type": "spans", "spans": [
            {"kind": "llm", "name": "chat \u{1b}[2Jgpt-4o", "start_unix_nano": 0, "duration_ns": 1_500_000_000,
             "status": "error", "error": "429", "agent": "planner", "model": "gpt-4o", "cost": 0.0123},
            {"kind": "tool", "name": "search", "start_unix_nano": 0, "duration_ns": 5, "status": "ok", "agent": "other"}
        ]});
        let got = lines(&m, &args(), false);
        assert_eq!(
            got.len(),
            1,
            "the other agent's span is filtered out: {got:?}"
        );
        assert!(
            got[0].contains(
                "span llm       chat \\u{1b}[2Jgpt-4o  1.50 s  error  agent=planner  model=gpt-4o"
            ),
            "{}",
            got[0]
        );
        assert!(!got[0].contains('\u{1b}'));
        let mut json = args();
        json.json = true;
        json.agent = None;
        assert_eq!(lines(&m, &json, false).len(), 2);
        let alert = serde_json::json!({"type": "alerts", "alerts": [{"state": "ALERT", "summary": "llm errors is ALERT", "time_unix_nano": 0}]});
        assert!(lines(&alert, &json, false)[0].starts_with('{'));
        let mut quiet = args();
        quiet.agent = None;
        quiet.level = Some("warning".into());
        let events = serde_json::json!({"type": "events", "events": [
            {"level": "INFO", "type": "log", "message": "fine", "service": "s", "time_unix_nano": 0},
            {"level": "ERROR", "type": "log", "message": "broken", "service": "s", "time_unix_nano": 0}
        ]});
        let shown = lines(&events, &quiet, false);
        assert_eq!(shown.len(), 1);
        assert!(shown[0].contains("ERROR") && shown[0].contains("broken"));
    }
}
