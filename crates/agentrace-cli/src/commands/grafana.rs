//! `agentrace export grafana-dashboard`: a Grafana dashboard (the classic JSON model, schema
//! version 39) over agentrace's `/metrics` as Prometheus scrapes it — requests, errors,
//! latency percentiles, tokens, cost by model and agent, budgets, tools, and the server's own
//! health; and a row per alerts file's SLOs (attainment over its window, burn rates over its
//! alert windows: docs/slos.md). The data source is a dashboard variable (`datasource`, any
//! Prometheus).

use std::time::Duration;

use agentrace_alerts::promql::{CALLS, COST, TOKENS, TOOL_CALLS, range, slo_bad_share};
use agentrace_alerts::slo::Slo;
use serde_json::{Value, json};

/// One panel: its title, type, unit, and its queries (legend, PromQL).
struct Panel {
    title: String,
    kind: &'static str,
    unit: &'static str,
    queries: Vec<(String, String)>,
}

fn panel(
    title: &str,
    kind: &'static str,
    unit: &'static str,
    queries: Vec<(&str, String)>,
) -> Panel {
    Panel {
        title: title.to_owned(),
        kind,
        unit,
        queries: queries
            .into_iter()
            .map(|(legend, expr)| (legend.to_owned(), expr))
            .collect(),
    }
}

/// The SLOs' row: a heading, then per SLO its attainment over its window and its burn rates
/// over its alerts' long windows; and the SLOs left out, each with why.
fn slo_panels(slos: &[Slo]) -> (Vec<Panel>, Vec<(String, String)>) {
    let mut panels = Vec::new();
    let mut skipped = Vec::new();
    for slo in slos {
        let share = |w: Duration| slo_bad_share(slo, w);
        if slo.calendar.is_some() {
            skipped.push((
                slo.name.clone(),
                "its window is a calendar period: Prometheus ranges roll".to_owned(),
            ));
            continue;
        }
        let whole = match share(slo.window) {
            Ok(whole) => whole,
            Err(why) => {
                skipped.push((slo.name.clone(), why));
                continue;
            }
        };
        let mut windows: Vec<Duration> = slo.burn_alerts.iter().map(|a| a.long).collect();
        windows.sort_unstable();
        windows.dedup();
        let budget = slo.error_budget();
        let burns: Vec<(String, String)> = windows
            .into_iter()
            .filter_map(|w| {
                let expr = share(w).ok()?;
                Some((range(w), format!("{expr} / {budget:.6}")))
            })
            .collect();
        panels.push(panel(
            &format!(
                "{}: attained over {} (objective {})",
                slo.name,
                range(slo.window),
                slo.objective
            ),
            "stat",
            "percentunit",
            vec![("attained", format!("1 - {whole}"))],
        ));
        panels.push(Panel {
            title: format!("{}: burn rate (1 = the budget lasts the window)", slo.name),
            kind: "timeseries",
            unit: "short",
            queries: burns,
        });
    }
    if !panels.is_empty() {
        panels.insert(
            0,
            panel("Service level objectives", "row", "short", Vec::new()),
        );
    }
    (panels, skipped)
}

/// The panels, in reading order: headline numbers first, then series.
fn panels() -> Vec<Panel> {
    let calls = format!("{CALLS}_count");
    let bucket = format!("{CALLS}_bucket");
    let latency = |q: &str| {
        format!(
            "histogram_quantile({q}, sum by (le) (rate({bucket}{{gen_ai_operation_name!=\"embeddings\"}}[$__rate_interval])))"
        )
    };
    vec![
        panel(
            "LLM calls (range)",
            "stat",
            "short",
            vec![("calls", format!("sum(increase({calls}[$__range]))"))],
        ),
        panel(
            "Error rate (range)",
            "stat",
            "percentunit",
            vec![(
                "errors",
                format!(
                    "sum(increase({calls}{{error_type!=\"\"}}[$__range])) / sum(increase({calls}[$__range]))"
                ),
            )],
        ),
        panel(
            "Cost (range)",
            "stat",
            "currencyUSD",
            vec![("cost", format!("sum(increase({COST}[$__range]))"))],
        ),
        panel(
            "Tokens (range)",
            "stat",
            "short",
            vec![("tokens", format!("sum(increase({TOKENS}_sum[$__range]))"))],
        ),
        panel(
            "LLM calls per second by model",
            "timeseries",
            "reqps",
            vec![(
                "{{gen_ai_request_model}}",
                format!("sum by (gen_ai_request_model) (rate({calls}[$__rate_interval]))"),
            )],
        ),
        panel(
            "Errors per second by type",
            "timeseries",
            "reqps",
            vec![(
                "{{error_type}}",
                format!(
                    "sum by (error_type) (rate({calls}{{error_type!=\"\"}}[$__rate_interval]))"
                ),
            )],
        ),
        panel(
            "LLM latency",
            "timeseries",
            "s",
            vec![
                ("p50", latency("0.5")),
                ("p95", latency("0.95")),
                ("p99", latency("0.99")),
            ],
        ),
        panel(
            "Tokens per second by type",
            "timeseries",
            "short",
            vec![(
                "{{gen_ai_token_type}}",
                format!("sum by (gen_ai_token_type) (rate({TOKENS}_sum[$__rate_interval]))"),
            )],
        ),
        panel(
            "Cost per hour by model",
            "timeseries",
            "currencyUSD",
            vec![(
                "{{gen_ai_request_model}}",
                format!("sum by (gen_ai_request_model) (rate({COST}[$__rate_interval])) * 3600"),
            )],
        ),
        panel(
            "Cost per hour by agent",
            "timeseries",
            "currencyUSD",
            vec![(
                "{{gen_ai_agent_name}}",
                format!("sum by (gen_ai_agent_name) (rate({COST}[$__rate_interval])) * 3600"),
            )],
        ),
        panel(
            "Budgets: spent ÷ limit",
            "bargauge",
            "percentunit",
            vec![(
                "{{budget}} {{scope}}",
                "max by (budget, scope) (agentrace_budget_spend_ratio)".to_owned(),
            )],
        ),
        panel(
            "Tool calls per second by tool",
            "timeseries",
            "reqps",
            vec![(
                "{{gen_ai_tool_name}}",
                format!("sum by (gen_ai_tool_name) (rate({TOOL_CALLS}[$__rate_interval]))"),
            )],
        ),
        panel(
            "Tool success rate by tool",
            "timeseries",
            "percentunit",
            vec![(
                "{{gen_ai_tool_name}}",
                format!(
                    "1 - (sum by (gen_ai_tool_name) (rate({TOOL_CALLS}{{agentrace_status=\"error\"}}[$__rate_interval])) or sum by (gen_ai_tool_name) (rate({TOOL_CALLS}[$__rate_interval])) * 0) / sum by (gen_ai_tool_name) (rate({TOOL_CALLS}[$__rate_interval]))"
                ),
            )],
        ),
        panel(
            "Guardrail checks per second by result",
            "timeseries",
            "reqps",
            vec![(
                "{{agentrace_status}} {{error_type}}",
                "sum by (agentrace_status, error_type) (rate(agentrace_guardrail_checks_total[$__rate_interval]))"
                    .to_owned(),
            )],
        ),
        panel(
            "Server: records stored per second",
            "timeseries",
            "short",
            vec![(
                "{{signal}}",
                "sum by (signal) (rate(agentrace_server_records_stored_total[$__rate_interval]))"
                    .to_owned(),
            )],
        ),
        panel(
            "Server: refused requests per second",
            "timeseries",
            "reqps",
            vec![(
                "{{reason}}",
                "sum by (reason) (rate(agentrace_server_requests_refused_total[$__rate_interval]))"
                    .to_owned(),
            )],
        ),
        panel(
            "Server: writer queue",
            "timeseries",
            "short",
            vec![
                (
                    "queued",
                    "agentrace_server_writer_queue_requests".to_owned(),
                ),
                (
                    "capacity",
                    "agentrace_server_writer_queue_capacity_requests".to_owned(),
                ),
            ],
        ),
        panel(
            "Alerts by state",
            "timeseries",
            "short",
            vec![(
                "{{state}}",
                "sum by (state) (agentrace_server_alerts)".to_owned(),
            )],
        ),
    ]
}

/// The dashboard's JSON, with a row for `slos`; the SLOs left out of it, each with why.
pub(crate) fn dashboard(slos: &[Slo]) -> (Value, Vec<(String, String)>) {
    let datasource = json!({"type": "prometheus", "uid": "${datasource}"});
    let mut x = 0;
    let mut y = 0;
    let mut row_height = 0;
    let (slo_panels, skipped) = slo_panels(slos);
    let panels: Vec<Value> = panels()
        .into_iter()
        .chain(slo_panels)
        .enumerate()
        .map(|(i, p)| {
            let (w, h) = match p.kind {
                "stat" => (6, 4),
                "row" => (24, 1),
                _ => (12, 8),
            };
            if x + w > 24 || p.kind == "row" {
                x = 0;
                y += row_height;
                row_height = 0;
            }
            let grid = json!({"x": x, "y": y, "w": w, "h": h});
            x += w;
            row_height = row_height.max(h);
            let targets: Vec<Value> = p
                .queries
                .iter()
                .enumerate()
                .map(|(j, (legend, expr))| {
                    json!({
                        "refId": char::from(b'A' + u8::try_from(j).unwrap_or(0)).to_string(),
                        "datasource": datasource,
                        "expr": expr,
                        "legendFormat": legend,
                        "range": p.kind != "stat",
                        "instant": p.kind == "stat",
                    })
                })
                .collect();
            let mut panel = json!({
                "id": i + 1,
                "type": p.kind,
                "title": p.title,
                "datasource": datasource,
                "gridPos": grid,
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "options": {},
                "targets": targets,
            });
            if p.kind == "row" {
                panel["collapsed"] = json!(false);
                panel["panels"] = json!([]);
            }
            panel
        })
        .collect();
    let dashboard = json!({
        "uid": "agentrace-overview",
        "title": "agentrace: LLM agents",
        "description": "LLM calls, errors, latency, tokens, cost, budgets and tools from agentrace's /metrics (generated by `agentrace export grafana-dashboard`; see docs/alerts.md).",
        "tags": ["agentrace", "llm", "genai"],
        "timezone": "browser",
        "editable": true,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": [{
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
        }]},
        "panels": panels,
    });
    (dashboard, skipped)
}

/// Every PromQL expression of the dashboard, for checks.
#[cfg(test)]
pub(crate) fn expressions() -> Vec<String> {
    panels()
        .into_iter()
        .flat_map(|p| p.queries.into_iter().map(|(_, e)| e))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn panels_tile_without_overlap_and_have_unique_ids_and_queries() {
        let slo = |name: &str, of| {
            Slo::new(
                name,
                agentrace_alerts::slo::Indicator::Success { of },
                0.99,
                Duration::from_secs(7 * 86_400),
            )
        };
        let mut cheap = slo("cheap runs", agentrace_alerts::slo::Target::AgentRuns);
        cheap.indicator = agentrace_alerts::slo::Indicator::Cost {
            of: agentrace_alerts::slo::CostUnit::Traces,
            max_usd: 0.4,
        };
        let mut monthly = slo("monthly", agentrace_alerts::slo::Target::LlmCalls);
        monthly.calendar = Some(agentrace_core::budget::Period::Month);
        let (d, skipped) = dashboard(&[
            slo("calls work", agentrace_alerts::slo::Target::LlmCalls),
            cheap,
            monthly,
        ]);
        assert_eq!(
            skipped,
            [(
                "monthly".to_owned(),
                "its window is a calendar period: Prometheus ranges roll".to_owned()
            )]
        );
        let panels = d["panels"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            panels.len(),
            super::panels().len() + 5,
            "a row, two panels each"
        );
        let titles: Vec<&str> = panels[panels.len() - 5..]
            .iter()
            .filter_map(|p| p["title"].as_str())
            .collect();
        assert_eq!(
            titles,
            [
                "Service level objectives",
                "calls work: attained over 7d (objective 0.99)",
                "calls work: burn rate (1 = the budget lasts the window)",
                "cheap runs: attained over 7d (objective 0.99)",
                "cheap runs: burn rate (1 = the budget lasts the window)"
            ]
        );
        // A cost objective's attainment: the server's count of its whole window.
        let attained = &panels[panels.len() - 2]["targets"][0]["expr"];
        assert!(
            attained
                .as_str()
                .is_some_and(|q| q.contains("window_seconds=\"604800\"")),
            "{attained}"
        );
        let burns = &panels[panels.len() - 1]["targets"];
        let legends: Vec<&str> = burns
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["legendFormat"].as_str())
            .collect();
        assert_eq!(legends, ["1h", "6h", "3d"]);
        let mut cells = HashSet::new();
        for p in &panels {
            for key in ["id", "type", "title", "datasource", "gridPos", "targets"] {
                assert!(!p[key].is_null(), "{key} in {p}");
            }
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64(),
                g["y"].as_u64(),
                g["w"].as_u64(),
                g["h"].as_u64(),
            );
            let (Some(x), Some(y), Some(w), Some(h)) = (x, y, w, h) else {
                panic!("gridPos {g}");
            };
            assert!(x + w <= 24, "{g}");
            for cx in x..x + w {
                for cy in y..y + h {
                    assert!(cells.insert((cx, cy)), "panels overlap at {cx},{cy}");
                }
            }
        }
        let ids: HashSet<u64> = panels.iter().filter_map(|p| p["id"].as_u64()).collect();
        assert_eq!(ids.len(), panels.len());
        assert!(expressions().iter().all(|e| !e.is_empty()));
    }
}
