//! The server's own metrics in the Prometheus text format, which `/metrics` serves after the
//! span metrics of the Prometheus sink ([`crate::http::app::metrics`]): its health — requests by
//! outcome, records by fate, commits, write errors and whether the store is failing, the
//! writer's queue, repairs — so that an operator can alert on a server that cannot store (see
//! docs/server.md, "The server's own metrics") — and the alerts: how many are in each state,
//! and each channel's deliveries and whether it is failing — and each SLO's counts over its
//! alert windows and its whole window.

use std::fmt::Write as _;

use agentrace_alerts::promql::{SLO_EVENTS, SLO_GOOD_EVENTS};
use agentrace_alerts::slo::Counts;
use agentrace_alerts::{ChannelStatus, Notification, State};
use agentrace_store::{HeldStatus, WalStatus};

use crate::telemetry::exposition::escape;
use crate::telemetry::stats::StatsSnapshot;

/// One metric family: its name, type, help and samples (label pairs, value).
struct Family<'a> {
    name: &'a str,
    kind: &'a str,
    help: &'a str,
    samples: Vec<(Vec<(&'a str, &'a str)>, u64)>,
}

impl Family<'_> {
    fn write_to(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in &self.samples {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            if labels.is_empty() {
                let _ = writeln!(out, "{} {value}", self.name);
            } else {
                let _ = writeln!(out, "{}{{{}}} {value}", self.name, labels.join(","));
            }
        }
    }
}

/// The alerts' metrics: alerts by state, and each channel's deliveries by outcome and whether
/// it is failing. Channel names come from the alerts file (escaped).
pub(crate) fn render_alerts(current: &[Notification], channels: &[ChannelStatus]) -> String {
    let states = [State::Ok, State::Warning, State::Alert, State::NoData];
    let by_channel = |value: fn(&ChannelStatus) -> u64| -> Vec<_> {
        channels
            .iter()
            .map(|c| (vec![("channel", c.name.as_str())], value(c)))
            .collect()
    };
    let mut deliveries = Vec::new();
    for c in channels {
        for (outcome, n) in [
            ("delivered", c.delivered),
            ("failed", c.failed),
            ("dropped", c.dropped),
        ] {
            deliveries.push((vec![("channel", c.name.as_str()), ("outcome", outcome)], n));
        }
    }
    let families = [
        Family {
            name: "agentrace_server_alerts",
            kind: "gauge",
            help: "Alerts by state (docs/alerts.md).",
            samples: states
                .iter()
                .map(|s| {
                    let n = current.iter().filter(|a| a.state == *s).count();
                    (vec![("state", s.name())], n as u64)
                })
                .collect(),
        },
        Family {
            name: "agentrace_server_alert_deliveries_total",
            kind: "counter",
            help: "Notifications per alert channel: delivered, failed after every retry, dropped (queue full).",
            samples: deliveries,
        },
        Family {
            name: "agentrace_server_alert_channel_failing",
            kind: "gauge",
            help: "1 while an alert channel's last deliveries all failed.",
            samples: by_channel(|c| u64::from(c.failing)),
        },
    ];
    let mut out = String::new();
    for family in &families {
        family.write_to(&mut out);
    }
    out
}

/// Each SLO's good and total events over each window its burn-rate alerts last read and over
/// its whole window, by `slo` and `window_seconds` (on the node that evaluates alerts; none
/// elsewhere): the Prometheus form of the objectives the span counters cannot express reads
/// them (`agentrace_alerts::promql`, docs/slos.md).
pub(crate) fn render_slo_counts(counts: &[(String, u64, Counts)]) -> String {
    let windows: Vec<(&str, String, Counts)> = counts
        .iter()
        .map(|(name, window, c)| (name.as_str(), window.to_string(), *c))
        .collect();
    let samples = |value: fn(&Counts) -> u64| {
        windows
            .iter()
            .map(|(name, window, c)| {
                (
                    vec![("slo", *name), ("window_seconds", window.as_str())],
                    value(c),
                )
            })
            .collect()
    };
    let mut out = String::new();
    if windows.is_empty() {
        return out;
    }
    for family in [
        Family {
            name: SLO_EVENTS,
            kind: "gauge",
            help: "An SLO's events over the window ending at its last evaluation (docs/slos.md).",
            samples: samples(|c| c.total),
        },
        Family {
            name: SLO_GOOD_EVENTS,
            kind: "gauge",
            help: "Of them, the good ones.",
            samples: samples(|c| c.good),
        },
    ] {
        family.write_to(&mut out);
    }
    out
}

/// The spans this node holds for their parent (a ClickHouse store that holds them; nothing
/// otherwise).
pub(crate) fn render_held(held: Option<HeldStatus>) -> String {
    let mut out = String::new();
    let Some(h) = held else { return out };
    for family in [
        Family {
            name: "agentrace_server_held_spans",
            kind: "gauge",
            help: "Spans held for their parent in this node's spool (docs/scale-out.md).",
            samples: vec![(vec![], h.spans)],
        },
        Family {
            name: "agentrace_server_held_bytes",
            kind: "gauge",
            help: "What the held spans are held at, in bytes.",
            samples: vec![(vec![], h.bytes)],
        },
        Family {
            name: "agentrace_server_held_ceiling_bytes",
            kind: "gauge",
            help: "The bound on held bytes: past it, spans awaiting their parent are written at once.",
            samples: vec![(vec![], h.ceiling_bytes)],
        },
        Family {
            name: "agentrace_server_held_written_at_once_total",
            kind: "counter",
            help: "Spans awaiting their parent written at once instead of held: the bound reached, the spool failing.",
            samples: vec![
                (vec![("reason", "ceiling")], h.over_ceiling),
                (vec![("reason", "journal_failed")], h.journal_failures),
            ],
        },
    ] {
        family.write_to(&mut out);
    }
    out
}

/// A sample per item, labelled `label` with the item's name.
fn labelled<'a, T>(
    label: &'a str,
    items: &[(&'a str, &T)],
    value: impl Fn(&T) -> u64,
) -> Vec<(Vec<(&'a str, &'a str)>, u64)> {
    items
        .iter()
        .map(|(name, item)| (vec![(label, *name)], value(item)))
        .collect()
}

/// The server's own metrics, `agentrace_server_*`, in the Prometheus text format. Label values
/// are fixed words of ours, never received text.
pub(crate) fn render(s: &StatsSnapshot) -> String {
    let r = &s.requests;
    let w = &s.writer;
    let e = &s.evaluation_results;
    let signals = [
        ("spans", &s.spans),
        ("events", &s.events),
        ("measurements", &s.measurements),
    ];
    let by_signal =
        |f: fn(&crate::telemetry::stats::SignalStats) -> u64| labelled("signal", &signals, f);
    let by_listener = [
        ("otlp_http", &s.listeners.otlp_http),
        ("otlp_grpc", &s.listeners.otlp_grpc),
        ("app", &s.listeners.app),
    ];
    let listeners = |f: fn(&crate::telemetry::stats::ListenerSnapshot) -> u64| {
        labelled("listener", &by_listener, f)
    };
    let families = [
        Family {
            name: "agentrace_server_requests_total",
            kind: "counter",
            help: "OTLP export requests received.",
            samples: vec![(vec![], r.received)],
        },
        Family {
            name: "agentrace_server_requests_refused_total",
            kind: "counter",
            help: "OTLP export requests not stored, by reason (overloaded and failed may be retried).",
            samples: labelled(
                "reason",
                &[
                    ("invalid", &r.invalid),
                    ("unauthorized", &r.unauthorized),
                    ("forbidden", &r.forbidden),
                    ("overloaded", &r.overloaded),
                    ("failed", &r.failed),
                ],
                |n| *n,
            ),
        },
        Family {
            name: "agentrace_server_audit_failed_total",
            kind: "counter",
            help: "API requests and logins whose audit entry could not be stored (the action was taken).",
            samples: vec![(vec![], r.audit_failed)],
        },
        Family {
            name: "agentrace_server_records_accepted_total",
            kind: "counter",
            help: "Records decoded and handed to the writer.",
            samples: by_signal(|s| s.accepted),
        },
        Family {
            name: "agentrace_server_records_rejected_total",
            kind: "counter",
            help: "Invalid records refused (a partial success to the sender).",
            samples: by_signal(|s| s.rejected),
        },
        Family {
            name: "agentrace_server_records_stored_total",
            kind: "counter",
            help: "Records committed to the store.",
            samples: by_signal(|s| s.stored),
        },
        Family {
            name: "agentrace_server_records_duplicate_total",
            kind: "counter",
            help: "Records already stored, kept once.",
            samples: by_signal(|s| s.duplicates),
        },
        Family {
            name: "agentrace_server_commits_total",
            kind: "counter",
            help: "Group commits to the store.",
            samples: vec![(vec![], w.commits)],
        },
        Family {
            name: "agentrace_server_write_errors_total",
            kind: "counter",
            help: "Failed writes to the store.",
            samples: vec![(vec![], w.errors)],
        },
        Family {
            name: "agentrace_server_writer_groups_split_total",
            kind: "counter",
            help: "Groups that could not be written together for a reason that will not pass, written one request at a time.",
            samples: vec![(vec![], w.groups_split)],
        },
        Family {
            name: "agentrace_server_store_failing",
            kind: "gauge",
            help: "1 while commits fail because the store cannot write (full disk, I/O error, busy or read-only file).",
            samples: vec![(vec![], u64::from(w.failing_since_unix_nano.is_some()))],
        },
        Family {
            name: "agentrace_server_wal_bytes",
            kind: "gauge",
            help: "Bytes in the store's write-ahead log since it last started over.",
            samples: wal_sample(w.wal, |l| l.bytes),
        },
        Family {
            name: "agentrace_server_wal_file_bytes",
            kind: "gauge",
            help: "Size of the write-ahead log's file on disk.",
            samples: wal_sample(w.wal, |l| l.file_bytes),
        },
        Family {
            name: "agentrace_server_wal_ceiling_bytes",
            kind: "gauge",
            help: "The write-ahead log's ceiling (limits.wal_ceiling).",
            samples: wal_sample(w.wal, |l| l.ceiling_bytes),
        },
        Family {
            name: "agentrace_server_wal_restarts_total",
            kind: "counter",
            help: "Times the write-ahead log started over from its beginning.",
            samples: wal_sample(w.wal, |l| l.restarts),
        },
        Family {
            name: "agentrace_server_wal_refused_writes_total",
            kind: "counter",
            help: "Writes refused (retryable) because the write-ahead log was at its ceiling and could not start over.",
            samples: wal_sample(w.wal, |l| l.refused_writes),
        },
        Family {
            name: "agentrace_server_writer_queue_requests",
            kind: "gauge",
            help: "Requests waiting for the writer.",
            samples: vec![(vec![], w.queued_requests as u64)],
        },
        Family {
            name: "agentrace_server_writer_queue_capacity_requests",
            kind: "gauge",
            help: "The writer queue's bound in requests.",
            samples: vec![(vec![], w.queue_capacity_requests as u64)],
        },
        Family {
            name: "agentrace_server_connections_refused_total",
            kind: "counter",
            help: "Connections closed at once because limits.max_connections were open.",
            samples: listeners(|l| l.connections_refused),
        },
        Family {
            name: "agentrace_server_requests_shed_total",
            kind: "counter",
            help: "Requests refused at once because limits.max_in_flight were being handled.",
            samples: listeners(|l| l.requests_shed),
        },
        Family {
            name: "agentrace_server_evaluation_results_total",
            kind: "counter",
            help: "gen_ai.evaluation.result events received, by outcome: a score made, the evaluation failed, no score in it, its response's span not found.",
            samples: labelled(
                "outcome",
                &[
                    ("scored", &e.scored),
                    ("failed", &e.failed),
                    ("invalid", &e.invalid),
                    ("unmatched", &e.unmatched),
                ],
                |n| *n,
            ),
        },
        Family {
            name: "agentrace_server_evaluation_results_awaiting_response",
            kind: "gauge",
            help: "gen_ai.evaluation.result events waiting for the span of the response they name.",
            samples: vec![(vec![], e.awaiting_response as u64)],
        },
        Family {
            name: "agentrace_server_spans_awaiting_parent",
            kind: "gauge",
            help: "Stored spans lacking attribution whose parent has not arrived.",
            samples: vec![(vec![], s.repairs.awaiting_parent as u64)],
        },
    ];
    let mut out = String::new();
    for family in &families {
        family.write_to(&mut out);
    }
    if let Some(online) = &s.evaluators {
        render_online(online, &mut out);
    }
    if let Some(r) = &s.redaction {
        Family {
            name: "agentrace_server_redactions_total",
            kind: "counter",
            help: "Secrets and personal data masked in received records, by kind.",
            samples: r
                .detections
                .iter()
                .map(|(kind, n)| (vec![("type", kind.as_str())], *n))
                .collect(),
        }
        .write_to(&mut out);
    }
    out
}

/// The online evaluations' metrics: each rule's evaluations by outcome, its passes and
/// retries, the backlog, the judges' calls and spend. The `evaluator` label is a rule's name
/// from the evaluators file (the operator's words, a few of them).
fn render_online(o: &crate::telemetry::stats::OnlineStats, out: &mut String) {
    let by_rule =
        |f: fn(&crate::telemetry::stats::RuleStats) -> u64| -> Vec<(Vec<(&str, &str)>, u64)> {
            o.rules
                .iter()
                .map(|r| (vec![("evaluator", r.name.as_str())], f(r)))
                .collect()
        };
    let outcomes: Vec<(Vec<(&str, &str)>, u64)> = o
        .rules
        .iter()
        .flat_map(|r| {
            [
                ("scored", r.scored),
                ("not_applicable", r.not_applicable),
                ("error", r.errors),
                ("dropped", r.dropped),
            ]
            .map(|(outcome, n)| {
                (
                    vec![("evaluator", r.name.as_str()), ("outcome", outcome)],
                    n,
                )
            })
        })
        .collect();
    for family in [
        Family {
            name: "agentrace_server_evaluations_total",
            kind: "counter",
            help: "Online evaluations by rule and outcome: scored, not applicable (nothing to read), error, dropped (the queue was full).",
            samples: outcomes,
        },
        Family {
            name: "agentrace_server_evaluations_passed_total",
            kind: "counter",
            help: "Scored code checks that passed (a judge's scores are not counted here).",
            samples: by_rule(|r| r.passed),
        },
        Family {
            name: "agentrace_server_evaluation_retries_total",
            kind: "counter",
            help: "Online evaluations tried again after their judge was unavailable.",
            samples: by_rule(|r| r.retries),
        },
        Family {
            name: "agentrace_server_evaluation_backlog",
            kind: "gauge",
            help: "Online evaluations waiting (due or delayed).",
            samples: vec![(vec![], o.backlog as u64)],
        },
        Family {
            name: "agentrace_server_evaluation_backlog_capacity",
            kind: "gauge",
            help: "The bound on waiting online evaluations: past it, new ones are dropped.",
            samples: vec![(vec![], o.capacity as u64)],
        },
        Family {
            name: "agentrace_server_judge_calls_total",
            kind: "counter",
            help: "LLM judges' calls, by outcome.",
            samples: vec![
                (
                    vec![("outcome", "ok")],
                    o.judge_calls.saturating_sub(o.judge_call_errors),
                ),
                (vec![("outcome", "failed")], o.judge_call_errors),
            ],
        },
    ] {
        family.write_to(out);
    }
    let _ = writeln!(
        out,
        "# HELP agentrace_server_judge_spend_usd_total What the LLM judges' calls cost since the start, in US dollars.\n\
         # TYPE agentrace_server_judge_spend_usd_total counter\n\
         agentrace_server_judge_spend_usd_total {}",
        o.judge_spend.dollars()
    );
}

/// A write-ahead log figure, if the store keeps a log (none for ClickHouse).
fn wal_sample(
    wal: Option<WalStatus>,
    figure: fn(&WalStatus) -> u64,
) -> Vec<(Vec<(&'static str, &'static str)>, u64)> {
    wal.map(|l| vec![(vec![], figure(&l))]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::stats::ServerStats;

    #[test]
    fn held_spans_are_shown_for_a_store_that_holds_them() {
        assert!(render_held(None).is_empty());
        let held = HeldStatus {
            spans: 4,
            bytes: 900,
            ceiling_bytes: 1_000,
            over_ceiling: 2,
            journal_failures: 3,
        };
        // The count taken at the last commit gives way to the held spans now.
        let stats = ServerStats::new(None);
        stats
            .awaiting_parent
            .store(9, std::sync::atomic::Ordering::Relaxed);
        let gauge = "agentrace_server_spans_awaiting_parent";
        for (snapshot, want) in [
            (stats.snapshot(), 9),
            (stats.snapshot().with_held(None), 9),
            (stats.snapshot().with_held(Some(held)), 4),
        ] {
            let line = format!("{gauge} {want}");
            let text = render(&snapshot);
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        let text = render_held(Some(held));
        for line in [
            "agentrace_server_held_spans 4",
            "agentrace_server_held_bytes 900",
            "agentrace_server_held_ceiling_bytes 1000",
            "agentrace_server_held_written_at_once_total{reason=\"ceiling\"} 2",
            "agentrace_server_held_written_at_once_total{reason=\"journal_failed\"} 3",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
    }

    #[test]
    fn an_slos_counts_are_shown_by_window_with_its_name_escaped() {
        assert!(render_slo_counts(&[]).is_empty(), "no SLO, no family");
        let counts = |good, total| Counts { good, total };
        let text = render_slo_counts(&[
            ("answers \"grounded\"".to_owned(), 3_600, counts(9, 10)),
            ("answers \"grounded\"".to_owned(), 300, counts(0, 0)),
        ]);
        for line in [
            "# TYPE agentrace_slo_events gauge",
            "agentrace_slo_events{slo=\"answers \\\"grounded\\\"\",window_seconds=\"3600\"} 10",
            "agentrace_slo_good_events{slo=\"answers \\\"grounded\\\"\",window_seconds=\"3600\"} 9",
            "agentrace_slo_events{slo=\"answers \\\"grounded\\\"\",window_seconds=\"300\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
    }

    #[test]
    fn every_family_is_declared_once_with_its_samples() {
        let stats = ServerStats::new(None);
        stats
            .requests_overloaded
            .store(3, std::sync::atomic::Ordering::Relaxed);
        stats
            .spans
            .stored
            .store(7, std::sync::atomic::Ordering::Relaxed);
        stats
            .store_failing_since_unix_nano
            .store(1, std::sync::atomic::Ordering::Relaxed);
        let text = render(&stats.snapshot());
        assert!(
            text.contains("agentrace_server_requests_refused_total{reason=\"overloaded\"} 3\n")
        );
        assert!(text.contains("agentrace_server_records_stored_total{signal=\"spans\"} 7\n"));
        assert!(text.contains("agentrace_server_store_failing 1\n"));
        let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE")).collect();
        let names: std::collections::HashSet<&str> =
            types.iter().filter_map(|l| l.split(' ').nth(2)).collect();
        assert_eq!(names.len(), types.len(), "one TYPE line per family");
        assert!(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .all(|l| l.starts_with("agentrace_server_")),
            "{text}"
        );
    }

    #[test]
    fn alerts_are_counted_by_state_and_channel_names_escaped() {
        let text = render_alerts(&[], &[]);
        assert!(
            text.contains("agentrace_server_alerts{state=\"ALERT\"} 0\n"),
            "{text}"
        );
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
