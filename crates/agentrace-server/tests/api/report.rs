//! `/report`: every figure equal to what the other routes answer for the same period, the
//! sections one at a time, and the page and the Markdown written from the same figures.

use serde_json::{Value, json};

use crate::support::{Api, MIN, T0, TestResult};

/// The hour the generated runs fall in, and an empty hour before it.
const FROM: u64 = T0;
const TO: u64 = T0 + 60 * MIN;

fn period() -> String {
    format!("from={FROM}&to={TO}")
}

#[tokio::test]
async fn a_report_says_what_the_other_routes_say_for_its_period() -> TestResult {
    let api = Api::start().await?;
    let report = api.ok(&format!("/report?{}", period()), "Report").await?;
    assert_eq!(
        (
            report["from_unix_nano"].as_u64(),
            report["to_unix_nano"].as_u64()
        ),
        (Some(FROM), Some(TO))
    );

    // Totals: the cost of /cost, the calls of /tools, every agent run; nothing before.
    let cost = api
        .ok(&format!("/cost?{}&group_by=model", period()), "CostAnswer")
        .await?;
    let totals = &report["totals"];
    assert_eq!(totals["this"]["cost"], cost["total"]["cost"], "{totals}");
    assert_eq!(totals["this"]["unpriced"], cost["total"]["unpriced"]);
    let tools = api
        .ok(&format!("/tools?{}", period()), "ToolsAnswer")
        .await?;
    let tool_rows = tools["tools"].as_array().ok_or("tools")?;
    let calls: u64 = tool_rows.iter().filter_map(|t| t["calls"].as_u64()).sum();
    assert_eq!(totals["this"]["tool_calls"], calls);
    let runs = api.runs.len() as u64 + api.samples.len() as u64;
    assert!(
        totals["this"]["agent_runs"].as_u64() >= Some(api.runs.len() as u64)
            && totals["this"]["agent_runs"].as_u64() <= Some(runs * 2),
        "{totals}"
    );
    assert_eq!(totals["previous"]["spans"], 0, "the hour before is empty");

    // Cost by model: the rows of /cost, costliest first, nothing the period before.
    let mut by_model: Vec<(Value, Value)> = cost["rows"]
        .as_array()
        .ok_or("rows")?
        .iter()
        .map(|r| (r["keys"]["model"].clone(), r["cost"].clone()))
        .collect();
    // Costliest first, then busiest, then by key (unknown last), as the report ranks them.
    let rows = cost["rows"].as_array().ok_or("rows")?;
    let calls_of = |key: &Value| {
        rows.iter()
            .find(|r| &r["keys"]["model"] == key)
            .map(|r| r["calls"].as_u64())
    };
    by_model.sort_by(|a, b| {
        let cost = |v: &Value| v.as_f64().unwrap_or(-1.0);
        cost(&b.1)
            .total_cmp(&cost(&a.1))
            .then_with(|| calls_of(&b.0).cmp(&calls_of(&a.0)))
    });
    let reported: Vec<(Value, Value)> = report["cost"]["by_model"]
        .as_array()
        .ok_or("by_model")?
        .iter()
        .map(|r| (r["key"].clone(), r["cost"].clone()))
        .collect();
    assert_eq!(reported, by_model);
    assert!(
        report["cost"]["by_model"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|r| r["previous_cost"].is_null())
    );
    let daily: f64 = report["cost"]["daily"]
        .as_array()
        .ok_or("daily")?
        .iter()
        .filter_map(|d| d["cost"].as_f64())
        .sum();
    let total = cost["total"]["cost"].as_f64().unwrap_or_default();
    assert!(
        (daily - total).abs() < 1e-9,
        "the days add up: {daily} against {total}"
    );

    // Failures: every fifth tool call timed out; the counts of /tools, the newest as example.
    let failures = report["failures"].as_array().ok_or("failures")?;
    for tool in tool_rows.iter().filter(|t| t["errors"].as_u64() > Some(0)) {
        let line = failures
            .iter()
            .find(|f| f["kind"] == "tool" && f["name"] == tool["tool"])
            .ok_or(format!("{} among the failures", tool["tool"]))?;
        assert_eq!(line["failures"], tool["errors"]);
        assert_eq!(line["total"], tool["calls"]);
        let newest = api
            .runs
            .iter()
            .filter(|r| r.failed && r.tool == line["name"])
            .max_by_key(|r| r.start)
            .ok_or("a failed run")?;
        assert_eq!(line["example"]["trace_id"], newest.trace_id.to_string());
        assert!(
            line["example"]["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("timeout after")),
            "{line}"
        );
    }

    // The slowest tools: /tools' by p95.
    let mut p95: Vec<(Value, Value)> = tool_rows
        .iter()
        .map(|t| (t["tool"].clone(), t["duration"]["p95_ns"].clone()))
        .collect();
    p95.sort_by_key(|t| std::cmp::Reverse(t.1.as_u64()));
    let slowest: Vec<(Value, Value)> = report["tools"]["slowest"]
        .as_array()
        .ok_or("slowest")?
        .iter()
        .map(|t| (t["tool"].clone(), t["duration"]["p95_ns"].clone()))
        .collect();
    assert_eq!(slowest, p95);
    // The SLO over the period: every tool call in it, a fifth failed; the whole window's
    // budget left at its end as /slos judges it then (nothing before the period).
    let slo = &report["slos"][0];
    let failed: u64 = tool_rows.iter().filter_map(|t| t["errors"].as_u64()).sum();
    assert_eq!(slo["name"], "tools work");
    assert_eq!(
        slo["counts"],
        json!({"good": calls - failed, "total": calls})
    );
    let spent = slo["budget_spent"].as_f64().unwrap_or_default();
    let share_of_window = 1.0 / (28.0 * 24.0);
    let burn = (failed as f64 / calls as f64) / 0.01;
    assert!((spent - burn * share_of_window).abs() < 1e-9, "{slo}");
    assert_eq!(slo["burn_down"].as_array().map(Vec::len), Some(29));
    // Nothing fired: no rule was evaluated.
    assert_eq!(report["alerts"]["alerts"], json!([]));
    Ok(())
}

#[tokio::test]
async fn a_report_comes_a_section_at_a_time_as_a_page_or_as_markdown() -> TestResult {
    let api = Api::start().await?;
    let whole = api.ok(&format!("/report?{}", period()), "Report").await?;
    let cost = api
        .ok(
            &format!("/report?{}&section=cost,totals", period()),
            "Report",
        )
        .await?;
    assert_eq!(cost["cost"], whole["cost"]);
    assert_eq!(cost["totals"], whole["totals"]);
    for absent in ["slos", "failures", "tools", "alerts"] {
        assert!(cost.get(absent).is_none(), "{absent} was not asked for");
    }
    api.fails(
        &format!("/report?{}&section=everything", period()),
        400,
        "bad_parameter",
        "section",
    )
    .await?;
    api.fails(
        &format!("/report?{}&format=pdf", period()),
        400,
        "bad_parameter",
        "format",
    )
    .await?;
    api.fails(
        &format!("/report?from={TO}&to={FROM}"),
        400,
        "bad_parameter",
        "to",
    )
    .await?;
    api.fails("/report?from=-400d", 400, "bad_parameter", "366 days")
        .await?;

    let client = reqwest::Client::new();
    let page = client
        .get(format!("{}/report?{}&format=html", api.base, period()))
        .send()
        .await?;
    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/html"));
    assert!(header("content-security-policy").starts_with("default-src 'none'"));
    let html = page.text().await?;
    assert!(html.starts_with("<!doctype html>") && html.contains("<svg"));
    assert!(
        !html.contains("<script") && !html.contains("src=\"http"),
        "self-contained"
    );
    let runs = whole["totals"]["this"]["agent_runs"]
        .as_u64()
        .unwrap_or_default();
    assert!(
        html.contains(&format!("data-figure=\"Agent runs\">{runs}<")),
        "the page's figure is the JSON's"
    );
    let markdown = client
        .get(format!("{}/report?{}&format=markdown", api.base, period()))
        .send()
        .await?
        .text()
        .await?;
    assert!(markdown.starts_with("# agentrace report"));
    assert!(
        markdown.contains(&format!("| Agent runs | {runs} | 0 |")),
        "{markdown}"
    );
    Ok(())
}
