//! `agentrace status`: a running server's health — ready or not, the writer and its queue,
//! what was stored, dropped and refused, the store's size, the alerts firing.

use agentrace_core::civil::{Precision, rfc3339};
use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::Value;

use crate::args::StatusArgs;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::format::{Facts, count};

pub(crate) fn run(args: &StatusArgs, project: Option<&str>) -> Result<(), CliError> {
    let client = ApiClient::new(&args.server, project)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, alerts) = runtime.block_on(async {
        let status = client.get("/status").await?;
        let alerts = client.get("/alerts?limit=1").await?;
        Ok::<_, CliError>((status, alerts))
    })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({"status": status, "alerts": alerts["alerts"]}),
        )?;
        writeln!(out)?;
        return Ok(());
    }
    out.write_all(render(&status, &alerts).as_bytes())?;
    Ok(())
}

fn n(v: &Value) -> String {
    count(v.as_u64().unwrap_or(0))
}

fn render(s: &Value, alerts: &Value) -> String {
    let firing: Vec<String> = alerts["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| matches!(a["state"].as_str(), Some("ALERT" | "WARNING" | "NO_DATA")))
        .map(|a| crate::format::terminal_text(a["alert"].as_str().unwrap_or("")))
        .collect();
    let mut facts = Facts::default();
    if s["writer"].is_object() {
        server_counters(s, &mut facts);
    } else {
        facts.add(
            "server",
            "its counters count every project: shown to the organization's admins".to_owned(),
        );
    }
    facts.add(
        "store",
        format!("{} bytes on disk", n(&s["store"]["file_bytes"])),
    );
    facts.add(
        "alerts firing",
        if firing.is_empty() {
            "none".to_owned()
        } else {
            firing.join(", ")
        },
    );
    let mut text = String::new();
    let _ = write!(text, "{}", facts.render());
    text
}

/// The server's own counters, which `/status` gives a caller speaking for the organization.
fn server_counters(s: &Value, facts: &mut Facts) {
    let w = &s["writer"];
    facts.add(
        "up since",
        rfc3339(
            s["started_unix_nano"].as_u64().unwrap_or(0),
            Precision::Seconds,
        ),
    );
    facts.add(
        "writer",
        format!(
            "{}, {} commits, {} write errors",
            if w["alive"] == true {
                "running"
            } else {
                "STOPPED"
            },
            n(&w["commits"]),
            n(&w["errors"])
        ),
    );
    facts.add(
        "queue",
        format!(
            "{} of {} records, {} of {} requests",
            n(&w["queued_records"]),
            n(&w["queue_capacity_records"]),
            n(&w["queued_requests"]),
            n(&w["queue_capacity_requests"])
        ),
    );
    for signal in ["spans", "events", "measurements"] {
        let x = &s[signal];
        facts.add(
            signal,
            format!(
                "{} stored, {} duplicates, {} rejected, {} dropped",
                n(&x["stored"]),
                n(&x["duplicates"]),
                n(&x["rejected"]),
                n(&x["dropped"])
            ),
        );
    }
    let r = &s["requests"];
    facts.add(
        "requests",
        format!(
            "{} received, {} unauthorized, {} overloaded, {} failed",
            n(&r["received"]),
            n(&r["unauthorized"]),
            n(&r["overloaded"]),
            n(&r["failed"])
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_reads_as_lines() {
        let status = serde_json::json!({
            "started_unix_nano": 0,
            "writer": {"alive": true, "commits": 1200, "errors": 0, "queued_records": 0,
                       "queue_capacity_records": 100000, "queued_requests": 0, "queue_capacity_requests": 1024},
            "spans": {"stored": 5000, "duplicates": 2, "rejected": 0, "dropped": 0},
            "events": {}, "measurements": {},
            "requests": {"received": 300},
            "store": {"file_bytes": 4096}
        });
        let alerts = serde_json::json!({"alerts": [{"alert": "llm errors", "state": "ALERT"}, {"alert": "x", "state": "OK"}]});
        let text = render(&status, &alerts);
        assert!(
            text.contains("writer         running, 1,200 commits, 0 write errors"),
            "{text}"
        );
        assert!(
            text.contains("spans          5,000 stored, 2 duplicates"),
            "{text}"
        );
        assert!(text.contains("alerts firing  llm errors\n"), "{text}");
    }

    #[test]
    fn a_projects_caller_reads_its_store_and_not_the_servers_counters() {
        let status = serde_json::json!({"store": {"file_bytes": 8192}, "forwarding": null});
        let text = render(&status, &serde_json::json!({"alerts": []}));
        assert!(
            text.contains("store          8,192 bytes on disk"),
            "{text}"
        );
        assert!(!text.contains("writer"), "{text}");
        assert!(text.contains("organization's admins"), "{text}");
    }
}
