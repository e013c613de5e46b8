//! The scheduled report (`[report]` in the alerts file): at the end of every period, the node
//! that evaluates the fleet's alerts gathers the period's report and sends it through the
//! channels. Periods are aligned on Monday 1970-01-05 00:00 UTC, so that `every = "7d"` covers
//! Monday to Monday and `"1d"` midnight to midnight, UTC.
//!
//! Each report sent is kept in the alert history (alert [`HISTORY_ALERT`], state `SENT`, its
//! period in the body), so that a restart or another node taking over sends a period once: a
//! period that ended while no node ran is sent when one starts; a server that never sent one
//! starts with the period that ends after it started.

use std::time::Duration;

use agentrace_alerts::slo::Slo;
use agentrace_alerts::{ReportMessage, ReportSchedule};
use agentrace_store::{AlertRecord, QueryError, Store};
use serde::{Deserialize, Serialize};

use super::text::{change, count, money, percent};
use super::{Report, Section};

/// The alert name the history keeps sent reports under.
pub const HISTORY_ALERT: &str = "agentrace report";

/// The Monday periods are aligned on (ns since the epoch).
const ANCHOR_NS: u64 = 4 * 86_400 * 1_000_000_000;

/// A sent report, as the history keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Sent {
    from_unix_nano: u64,
    to_unix_nano: u64,
}

/// The period to report at `now` — the last one that ended — if it ended after `last_end`
/// (the end of the last period sent, or when the server started).
pub fn due(every: Duration, now: u64, last_end: u64) -> Option<(u64, u64)> {
    let width = u64::try_from(every.as_nanos()).ok().filter(|w| *w > 0)?;
    let end = ANCHOR_NS + now.checked_sub(ANCHOR_NS)? / width * width;
    (end > last_end).then(|| (end.saturating_sub(width), end))
}

/// The end of the last period a report was sent for, if one was.
pub fn last_sent(store: &dyn Store) -> Result<Option<u64>, QueryError> {
    Ok(store
        .alert_records(Some(HISTORY_ALERT), None, 1)?
        .first()
        .and_then(|r| serde_json::from_str::<Sent>(&r.body).ok())
        .map(|s| s.to_unix_nano))
}

/// The history's record of a report of `from..to` sent at `now`.
pub fn record((from, to): (u64, u64), now: u64) -> AlertRecord {
    let body = serde_json::to_string(&Sent {
        from_unix_nano: from,
        to_unix_nano: to,
    })
    .unwrap_or_default();
    AlertRecord::new(
        now,
        HISTORY_ALERT.to_owned(),
        HISTORY_ALERT.to_owned(),
        "SENT",
        "SENT",
        "report",
        body,
    )
}

/// The report of `project`'s `period` as the channels send it: the title and the link name
/// the project (a team that receives several knows whose, and the link opens that one's).
pub fn message(
    store: &dyn Store,
    (slos, schedule): (&[Slo], &ReportSchedule),
    project: &str,
    period: (u64, u64),
    now: u64,
) -> Result<ReportMessage, QueryError> {
    let report = super::gather(store, slos, period, &Section::ALL, now)?;
    let base = schedule.link.as_deref().unwrap_or("");
    let mut m = ReportMessage::new(
        format!(
            "agentrace report, project {project}, {} → {}",
            super::text::time(period.0),
            super::text::time(period.1)
        ),
        period.0,
        period.1,
    );
    m.project = Some(project.to_owned());
    m.lines = headlines(&report);
    m.link = schedule.link.as_ref().map(|l| {
        format!(
            "{}/api/v1/report?project={}&from={}&to={}&format=html",
            l.trim_end_matches('/'),
            percent_encoding::utf8_percent_encode(project, percent_encoding::NON_ALPHANUMERIC),
            period.0,
            period.1
        )
    });
    m.markdown = super::markdown::render(&report, base);
    m.report = serde_json::to_value(&report).unwrap_or_default();
    m.channels.clone_from(&schedule.channels);
    Ok(m)
}

/// The few lines a chat message carries: activity and cost, the SLOs, what fired.
fn headlines(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(t) = &report.totals {
        lines.push(format!(
            "{} agent runs, {} LLM calls, {} tool calls, {} failed spans",
            count(t.this.agent_runs),
            count(t.this.llm_calls),
            count(t.this.tool_calls),
            count(t.this.errors)
        ));
        lines.push(format!(
            "cost {} ({} against the period before)",
            money(t.this.cost),
            change(t.this.cost, t.previous.cost)
        ));
    }
    for s in report.slos.iter().flatten() {
        let met = match s.attainment {
            Some(a) if a >= s.objective => "met",
            Some(_) => "missed",
            None => "no events",
        };
        lines.push(format!(
            "SLO {}: {} of {} ({met}), {} of the budget spent",
            s.name,
            percent(s.attainment),
            percent(Some(s.objective)),
            percent(s.budget_spent)
        ));
    }
    if let Some(a) = &report.alerts {
        lines.push(format!(
            "{} alerts fired, {} budgets crossed a threshold",
            count(a.alerts.len() as u64),
            count(a.budgets.len() as u64)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrace_core::civil::{Precision, rfc3339};

    const DAY: u64 = 86_400 * 1_000_000_000;

    #[test]
    fn weekly_periods_run_monday_to_monday_and_each_is_due_once() {
        let week = Duration::from_secs(7 * 86_400);
        // 2026-11-26 (a Thursday) 12:00 UTC: the last week ended Monday 2026-11-23.
        let now = 1_795_651_200 * 1_000_000_000 + 12 * 3_600 * 1_000_000_000;
        let monday = 1_795_392_000 * 1_000_000_000;
        assert_eq!(rfc3339(monday, Precision::Seconds), "2026-11-23T00:00:00Z");
        assert_eq!(due(week, now, 0), Some((monday - 7 * DAY, monday)));
        assert_eq!(due(week, now, monday), None, "sent already");
        assert_eq!(due(week, now, monday + DAY), None, "started after it ended");
        assert_eq!(
            due(week, monday + 7 * DAY, monday),
            Some((monday, monday + 7 * DAY)),
            "the next Monday"
        );
        assert_eq!(due(Duration::ZERO, now, 0), None);
    }
}
