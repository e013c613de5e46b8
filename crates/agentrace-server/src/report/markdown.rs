//! The report as Markdown (GitHub's tables): for a wiki, a pull request or a chat message.
//! Every text that came from telemetry is escaped.

use std::fmt::Write as _;

use super::text::{self, change, count, duration, money, percent};
use super::{AlertLine, CostChange, Example, Report};

/// The document. `base`: the dashboard's URL the example traces link to.
pub fn render(report: &Report, base: &str) -> String {
    let mut out = format!(
        "# agentrace report\n\n{} → {}, against the period before. Generated {}.\n",
        text::time(report.from_unix_nano),
        text::time(report.to_unix_nano),
        text::time(report.generated_unix_nano)
    );
    if let Some(t) = &report.totals {
        let _ = write!(
            out,
            "\n| | this period | the period before |\n|---|---:|---:|\n| agent runs | {} | {} |\n| LLM calls | {} | {} |\n| tool calls | {} | {} |\n| failed spans | {} | {} |\n| cost | {} | {} ({}) |\n",
            count(t.this.agent_runs),
            count(t.previous.agent_runs),
            count(t.this.llm_calls),
            count(t.previous.llm_calls),
            count(t.this.tool_calls),
            count(t.previous.tool_calls),
            count(t.this.errors),
            count(t.previous.errors),
            money(t.this.cost),
            money(t.previous.cost),
            change(t.this.cost, t.previous.cost),
        );
    }
    if let Some(slos) = &report.slos {
        out.push_str("\n## Service level objectives\n\n");
        if slos.is_empty() {
            out.push_str("No SLOs are defined.\n");
        } else {
            out.push_str("| SLO | objective | attained | good / total | budget spent in the period | budget left at its end |\n|---|---:|---:|---:|---:|---:|\n");
            for s in slos {
                let _ = writeln!(
                    out,
                    "| {} | {} over {} | {} | {} / {} | {} | {} |",
                    text::markdown(&s.name),
                    percent(Some(s.objective)),
                    humantime::format_duration(s.window),
                    percent(s.attainment),
                    count(s.counts.good),
                    count(s.counts.total),
                    percent(s.budget_spent),
                    percent(s.budget_remaining)
                );
            }
        }
    }
    if let Some(c) = &report.cost {
        out.push_str("\n## Cost\n");
        cost_table(&mut out, "agent", &c.by_agent);
        cost_table(&mut out, "model", &c.by_model);
        cost_table(&mut out, "user", &c.by_user);
    }
    if let Some(failures) = &report.failures {
        out.push_str("\n## Top failures\n\n");
        if failures.is_empty() {
            out.push_str("Nothing failed in the period.\n");
        } else {
            out.push_str("| what | failed | of | latest example |\n|---|---:|---:|---|\n");
            for f in failures {
                let _ = writeln!(
                    out,
                    "| {} {} | {} | {} | {} |",
                    f.kind,
                    name(f.name.as_deref()),
                    count(f.failures),
                    count(f.total),
                    example(f.example.as_ref(), base)
                );
            }
        }
    }
    if let Some(t) = &report.tools {
        out.push_str("\n## Slowest tools\n\n");
        if t.slowest.is_empty() {
            out.push_str("No tool calls in the period.\n");
        } else {
            out.push_str("| tool | calls | p50 | p95 | p99 | a call at the p95 or slower |\n|---|---:|---:|---:|---:|---|\n");
            for s in &t.slowest {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    name(s.tool.as_deref()),
                    count(s.calls),
                    duration(s.duration.p50_ns),
                    duration(s.duration.p95_ns),
                    duration(s.duration.p99_ns),
                    example(s.example.as_ref(), base)
                );
            }
        }
        out.push_str("\n## Tool health changes\n\n");
        if t.health_changes.is_empty() {
            out.push_str("No tool's health changed.\n");
        } else {
            out.push_str("| tool | before | now | what stands out |\n|---|---:|---:|---|\n");
            for c in &t.health_changes {
                let said: Vec<String> = c
                    .recommendations
                    .iter()
                    .map(|r| text::markdown(r))
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    name(c.tool.as_deref()),
                    c.before
                        .map_or_else(|| "not called".to_owned(), |s| s.to_string()),
                    c.now,
                    said.join("; ")
                );
            }
        }
    }
    if let Some(a) = &report.alerts {
        out.push_str("\n## Budget overruns\n\n");
        alert_table(&mut out, &a.budgets, "No budget crossed a threshold.");
        out.push_str("\n## Alerts fired\n\n");
        alert_table(&mut out, &a.alerts, "No alert fired.");
    }
    out
}

fn name(value: Option<&str>) -> String {
    value.map_or_else(|| "(none)".to_owned(), text::markdown)
}

fn example(e: Option<&Example>, base: &str) -> String {
    let Some(e) = e else { return "—".into() };
    let mut cell = format!(
        "[{}]({}/traces/{}?span={}) {}",
        text::markdown(&e.name),
        base.trim_end_matches('/'),
        e.trace_id,
        e.span_id,
        duration(e.duration_ns)
    );
    if let Some(error) = &e.error {
        let _ = write!(cell, ": {}", text::markdown(error));
    }
    cell
}

fn cost_table(out: &mut String, what: &str, rows: &[CostChange]) {
    let _ = write!(out, "\n### By {what}\n\n");
    if rows.is_empty() {
        out.push_str("No billable calls.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| {what} | calls | cost | before | change |\n|---|---:|---:|---:|---:|"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            name(r.key.as_deref()),
            count(r.calls),
            money(r.cost),
            money(r.previous_cost),
            change(r.cost, r.previous_cost)
        );
    }
}

fn alert_table(out: &mut String, lines: &[AlertLine], empty: &str) {
    if lines.is_empty() {
        let _ = writeln!(out, "{empty}");
        return;
    }
    out.push_str("| alert | fired | worst | first | latest |\n|---|---:|---|---|---|\n");
    for l in lines {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            text::markdown(&l.alert),
            count(l.fired),
            text::markdown(&l.worst),
            text::time(l.first_unix_nano),
            text::markdown(&l.summary)
        );
    }
}
