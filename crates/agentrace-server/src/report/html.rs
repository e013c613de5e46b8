//! The report as one self-contained HTML page: its style inline, its charts SVG, no script and
//! nothing fetched, so that it opens from a file or a mail attachment. Every text that came
//! from telemetry is escaped.

use std::fmt::Write as _;

use super::text::{self, change, count, duration, money, percent};
use super::{AlertLine, CostChange, Example, Report, svg};

const STYLE: &str = r"
:root { color-scheme: light; --ink: #1f2430; --muted: #667085; --line: #e4e7ec; --good: #039855; --warn: #b54708; --bad: #d92d20; --bar: #7a5af8; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; color: var(--ink); margin: 0 auto; max-width: 980px; padding: 32px 24px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
p.period, .muted { color: var(--muted); }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin-top: 18px; }
.tile { border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; }
.tile .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile .detail { color: var(--muted); font-size: 12px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; white-space: nowrap; }
.good { color: var(--good); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.meter { display: inline-block; width: 90px; height: 8px; border-radius: 4px; background: var(--line); vertical-align: middle; margin-right: 6px; overflow: hidden; }
.meter > span { display: block; height: 100%; background: var(--good); }
.meter.warn > span { background: #f79009; } .meter.bad > span { background: var(--bad); }
svg.chart { width: 100%; height: auto; }
svg .bar { fill: var(--bar); } svg .axis { stroke: var(--line); } svg .tick { fill: var(--muted); font-size: 11px; }
svg.spark { width: 160px; height: 36px; } svg .line { fill: none; stroke: var(--good); stroke-width: 1.5; } svg .zero { stroke: var(--line); stroke-dasharray: 3 3; }
th .muted { font-weight: 400; }
td.when { white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
";

/// The page. `base`: the dashboard's URL the example traces link to (`""`: links relative
/// to wherever the page is served from).
pub fn render(report: &Report, base: &str) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let hours = report.to_unix_nano.saturating_sub(report.from_unix_nano) / 3_600_000_000_000;
    let title = format!(
        "agentrace report · {} → {}",
        text::day(report.from_unix_nano),
        text::day(report.to_unix_nano)
    );
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>agentrace report</h1>\n<p class=\"period\">{} → {}{} · against the period before · generated {}</p>\n</header>\n",
        text::html(&title),
        text::time(report.from_unix_nano),
        text::time(report.to_unix_nano),
        match (hours / 24, hours % 24) {
            (0, 0) => String::new(),
            (0, h) => format!(" ({h} h)"),
            (1, 0) => " (1 day)".to_owned(),
            (d, 0) => format!(" ({d} days)"),
            (d, h) => format!(" ({d} days {h} h)"),
        },
        text::time(report.generated_unix_nano),
    );
    totals(&mut out, report);
    slos(&mut out, report);
    cost(&mut out, report);
    failures(&mut out, report, base);
    tools(&mut out, report, base);
    alerts(&mut out, report);
    out.push_str("<footer>Written by agentrace from its rollups and alert history; figures equal the API's (<code>GET /api/v1/report</code>) for the same period.</footer>\n</body>\n</html>\n");
    out
}

fn tile(out: &mut String, label: &str, value: &str, detail: &str) {
    let _ = write!(
        out,
        "<div class=\"tile\"><div class=\"label\">{}</div><div class=\"value\" data-figure=\"{}\">{}</div><div class=\"detail\">{}</div></div>",
        text::html(label),
        text::html(label),
        text::html(value),
        text::html(detail)
    );
}

fn totals(out: &mut String, report: &Report) {
    let Some(t) = &report.totals else { return };
    out.push_str("<section id=\"totals\"><div class=\"tiles\">");
    let before = |n: u64| format!("{} the period before", count(n));
    tile(
        out,
        "Agent runs",
        &count(t.this.agent_runs),
        &before(t.previous.agent_runs),
    );
    tile(
        out,
        "LLM calls",
        &count(t.this.llm_calls),
        &before(t.previous.llm_calls),
    );
    tile(
        out,
        "Tool calls",
        &count(t.this.tool_calls),
        &before(t.previous.tool_calls),
    );
    tile(
        out,
        "Failed spans",
        &count(t.this.errors),
        &before(t.previous.errors),
    );
    let unpriced = if t.this.unpriced > 0 {
        format!(", {} unpriced calls not included", count(t.this.unpriced))
    } else {
        String::new()
    };
    tile(
        out,
        "Cost",
        &money(t.this.cost),
        &format!(
            "{} ({}){unpriced}",
            money(t.previous.cost),
            change(t.this.cost, t.previous.cost)
        ),
    );
    out.push_str("</div></section>\n");
}

/// A bar of the share `left` of a budget, and the figure.
fn meter(left: Option<f64>) -> String {
    let Some(left) = left else {
        return "<span class=\"muted\">no events</span>".into();
    };
    let tone = if left <= 0.0 {
        "bad"
    } else if left < 0.25 {
        "warn"
    } else {
        "good"
    };
    format!(
        "<span class=\"meter {tone}\"><span style=\"width:{:.0}%\"></span></span><span class=\"{tone}\">{}</span>",
        left.clamp(0.0, 1.0) * 100.0,
        percent(Some(left))
    )
}

fn slos(out: &mut String, report: &Report) {
    let Some(slos) = &report.slos else { return };
    out.push_str("<section id=\"slos\"><h2>Service level objectives</h2>");
    if slos.is_empty() {
        out.push_str("<p class=\"empty\">No SLOs are defined (docs/slos.md).</p></section>\n");
        return;
    }
    out.push_str("<table><thead><tr><th>SLO</th><th class=\"num\">Objective</th><th class=\"num\">Attained</th><th class=\"num\">Budget spent in the period</th><th>Budget left at its end</th><th>Budget over the period</th></tr></thead><tbody>");
    for s in slos {
        let tone = match s.attainment {
            Some(a) if a < s.objective => "bad",
            Some(_) => "good",
            None => "muted",
        };
        let spark = svg::sparkline(
            &format!("{}: budget left over the period", s.name),
            &s.burn_down
                .iter()
                .map(|p| p.budget_remaining)
                .collect::<Vec<_>>(),
        );
        let _ = write!(
            out,
            "<tr data-slo=\"{}\"><th scope=\"row\">{}<div class=\"muted\">{}</div></th><td class=\"num\">{} over {}</td><td class=\"num {tone}\">{}<div class=\"muted\">{} of {}</div></td><td class=\"num\">{}</td><td>{}</td><td>{spark}</td></tr>",
            text::html(&s.name),
            text::html(&s.name),
            text::html(s.description.as_deref().unwrap_or("")),
            percent(Some(s.objective)),
            humantime::format_duration(s.window),
            percent(s.attainment),
            count(s.counts.good),
            count(s.counts.total),
            percent(s.budget_spent),
            meter(s.budget_remaining),
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn cost_table(out: &mut String, title: &str, what: &str, rows: &[CostChange]) {
    let _ = write!(out, "<h3>{}</h3>", text::html(title));
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">No billable calls.</p>");
        return;
    }
    let _ = write!(
        out,
        "<table data-cost=\"{}\"><thead><tr><th>{}</th><th class=\"num\">Calls</th><th class=\"num\">Cost</th><th class=\"num\">Before</th><th class=\"num\">Change</th></tr></thead><tbody>",
        text::html(what),
        text::html(what)
    );
    for r in rows {
        let key = r.key.as_deref().map_or_else(
            || "<span class=\"muted\">(none)</span>".to_owned(),
            text::html,
        );
        let _ = write!(
            out,
            "<tr><td>{key}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            count(r.calls),
            money(r.cost),
            money(r.previous_cost),
            change(r.cost, r.previous_cost)
        );
    }
    out.push_str("</tbody></table>");
}

fn cost(out: &mut String, report: &Report) {
    let Some(c) = &report.cost else { return };
    out.push_str("<section id=\"cost\"><h2>Cost</h2>");
    if c.daily.is_empty() {
        out.push_str("<p class=\"empty\">No billable calls in the period.</p>");
    } else {
        let labels: Vec<String> = c
            .daily
            .iter()
            .map(|d| text::day(d.start_unix_nano)[5..].to_owned())
            .collect();
        let values: Vec<Option<f64>> = c
            .daily
            .iter()
            .map(|d| d.cost.map(|c| c.dollars()))
            .collect();
        out.push_str(&svg::bars("cost by day", &labels, &values, |v| {
            money(Some(agentrace_core::Usd::from_dollars(v)))
        }));
    }
    cost_table(out, "By agent", "agent", &c.by_agent);
    cost_table(out, "By model", "model", &c.by_model);
    cost_table(out, "By user", "user", &c.by_user);
    out.push_str("</section>\n");
}

/// A link to an example's span in the dashboard, with its error.
fn example(e: Option<&Example>, base: &str) -> String {
    let Some(e) = e else {
        return "<span class=\"muted\">—</span>".into();
    };
    let mut cell = format!(
        "<a href=\"{}/traces/{}?span={}\">{}</a> <span class=\"muted\">{} · {}</span>",
        text::html(base.trim_end_matches('/')),
        e.trace_id,
        e.span_id,
        text::html(&e.name),
        text::time(e.start_unix_nano),
        duration(e.duration_ns)
    );
    if let Some(error) = &e.error {
        let _ = write!(cell, "<div class=\"bad\">{}</div>", text::html(error));
    }
    cell
}

fn failures(out: &mut String, report: &Report, base: &str) {
    let Some(failures) = &report.failures else {
        return;
    };
    out.push_str("<section id=\"failures\"><h2>Top failures</h2>");
    if failures.is_empty() {
        out.push_str("<p class=\"empty\">Nothing failed in the period.</p></section>\n");
        return;
    }
    out.push_str("<table><thead><tr><th>What</th><th class=\"num\">Failed</th><th class=\"num\">Of</th><th>Latest example</th></tr></thead><tbody>");
    for f in failures {
        let what = match f.kind.as_str() {
            "agent" => "agent",
            "llm" => "model",
            _ => "tool",
        };
        let _ = write!(
            out,
            "<tr><td>{what} <strong>{}</strong></td><td class=\"num bad\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            f.name
                .as_deref()
                .map_or_else(|| "(none)".to_owned(), text::html),
            count(f.failures),
            count(f.total),
            example(f.example.as_ref(), base)
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn tool_name(tool: Option<&str>, server: Option<&str>) -> String {
    let name = tool.map_or_else(|| "(none)".to_owned(), text::html);
    match server {
        Some(s) => format!("{name} <span class=\"muted\">on {}</span>", text::html(s)),
        None => name,
    }
}

fn tools(out: &mut String, report: &Report, base: &str) {
    let Some(t) = &report.tools else { return };
    out.push_str("<section id=\"tools\"><h2>Slowest tools</h2>");
    if t.slowest.is_empty() {
        out.push_str("<p class=\"empty\">No tool calls in the period.</p>");
    } else {
        out.push_str("<table><thead><tr><th>Tool</th><th class=\"num\">Calls</th><th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">p99</th><th>A call at the p95 or slower</th></tr></thead><tbody>");
        for s in &t.slowest {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                tool_name(s.tool.as_deref(), s.mcp_server.as_deref()),
                count(s.calls),
                duration(s.duration.p50_ns),
                duration(s.duration.p95_ns),
                duration(s.duration.p99_ns),
                example(s.example.as_ref(), base)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("<h2>Tool health changes</h2>");
    if t.health_changes.is_empty() {
        out.push_str("<p class=\"empty\">No tool's health changed.</p>");
    } else {
        out.push_str("<table><thead><tr><th>Tool</th><th class=\"num\">Before</th><th class=\"num\">Now</th><th>What stands out</th></tr></thead><tbody>");
        for c in &t.health_changes {
            let tone = |g: crate::tool_health::Grade| match g {
                crate::tool_health::Grade::Healthy => "good",
                crate::tool_health::Grade::Degraded => "warn",
                crate::tool_health::Grade::Unhealthy => "bad",
            };
            let before = match (c.before, c.grade_before) {
                (Some(s), Some(g)) => format!("<span class=\"{}\">{s}</span>", tone(g)),
                _ => "<span class=\"muted\">not called</span>".into(),
            };
            let said: Vec<String> = c.recommendations.iter().map(|r| text::html(r)).collect();
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"num\">{before}</td><td class=\"num {}\">{}</td><td>{}</td></tr>",
                tool_name(c.tool.as_deref(), c.mcp_server.as_deref()),
                tone(c.grade_now),
                c.now,
                said.join("<br>")
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

fn alert_table(out: &mut String, lines: &[AlertLine], empty: &str) {
    if lines.is_empty() {
        let _ = write!(out, "<p class=\"empty\">{}</p>", text::html(empty));
        return;
    }
    out.push_str("<table><thead><tr><th>Alert</th><th class=\"num\">Fired</th><th>Worst</th><th>First</th><th>Latest</th></tr></thead><tbody>");
    for l in lines {
        let tone = if l.worst == "ALERT" { "bad" } else { "warn" };
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"{tone}\">{}</td><td class=\"when\">{}</td><td>{}</td></tr>",
            text::html(&l.alert),
            count(l.fired),
            text::html(&l.worst),
            text::time(l.first_unix_nano),
            text::html(&l.summary)
        );
    }
    out.push_str("</tbody></table>");
}

fn alerts(out: &mut String, report: &Report) {
    let Some(a) = &report.alerts else { return };
    out.push_str("<section id=\"budgets\"><h2>Budget overruns</h2>");
    alert_table(out, &a.budgets, "No budget crossed a threshold.");
    out.push_str("</section>\n<section id=\"alerts\"><h2>Alerts fired</h2>");
    alert_table(out, &a.alerts, "No alert fired.");
    if a.notifications >= super::MAX_NOTIFICATIONS as u64 {
        let _ = write!(
            out,
            "<p class=\"muted\">The newest {} notifications were read; older ones in the period are not counted.</p>",
            count(a.notifications)
        );
    }
    out.push_str("</section>\n");
}
