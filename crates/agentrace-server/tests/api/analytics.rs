//! `/cost`, `/tools`, `/overview`: against the exact queries of the store and the data.

use agentrace_core::SpanKind;
use agentrace_sqlite::{AggregateQuery, GroupBy, GroupKey, SpanFilter, TimeRange};
use serde_json::{Value, json};

use crate::support::{Api, MIN, SEC, T0, TestResult};

fn usd(nanos: i64) -> Value {
    json!(nanos as f64 / 1e9)
}

/// Within 1/32 of the exact value (what a rollup percentile promises).
fn close(got: &Value, exact: u64) -> bool {
    got.as_u64()
        .is_some_and(|g| g.abs_diff(exact) as f64 <= exact as f64 / 32.0 + 1.0)
}

#[tokio::test]
async fn cost_by_model_counts_calls_tokens_cost_and_unpriced_calls() -> TestResult {
    let api = Api::start().await?;
    let answer = api.ok("/cost?group_by=model", "CostAnswer").await?;
    assert_eq!(answer["source"], "rollups");
    assert_eq!(answer["group_by"], json!(["model"]));
    let rows = answer["rows"].as_array().ok_or("rows")?;
    let row = |model: &str| {
        rows.iter()
            .find(|r| r["keys"]["model"] == model)
            .cloned()
            .unwrap_or_default()
    };
    // Even runs call gpt-4o, every one priced at 1,000·i + 500 nano-dollars.
    let gpt: Vec<_> = api.runs.iter().filter(|r| r.model == "gpt-4o").collect();
    let g = row("gpt-4o");
    assert_eq!(g["calls"], gpt.len());
    assert_eq!(g["priced"], gpt.len());
    assert_eq!(g["unpriced"], 0);
    assert_eq!(
        g["cost"],
        usd(gpt.iter().map(|r| 1_000 * r.i as i64 + 500).sum())
    );
    assert_eq!(
        g["usage"]["input_tokens"],
        gpt.iter().map(|r| 1_000 + r.i).sum::<u64>()
    );
    assert_eq!(g["usage"]["output_tokens"], 100 * gpt.len());
    let exact_p50 = {
        let mut d: Vec<u64> = gpt.iter().map(|r| (200 + r.i) * 1_000_000).collect();
        d.sort_unstable();
        d[(d.len() / 2).saturating_sub(1)]
    };
    assert!(
        close(&g["latency"]["p50_ns"], exact_p50),
        "{} vs {exact_p50}",
        g["latency"]
    );
    // Odd runs call Claude; every tenth is unpriced: counted, with its tokens, never as $0.
    let claude: Vec<_> = api
        .runs
        .iter()
        .filter(|r| r.model == "claude-sonnet-4")
        .collect();
    let unpriced: Vec<_> = claude.iter().filter(|r| r.i % 10 == 9).collect();
    let c = row("claude-sonnet-4");
    assert_eq!(
        (c["calls"].as_u64(), c["unpriced"].as_u64()),
        (Some(claude.len() as u64), Some(unpriced.len() as u64))
    );
    assert_eq!(
        c["unpriced_usage"]["input_tokens"],
        unpriced.iter().map(|r| 1_000 + r.i).sum::<u64>()
    );
    // The fixtures' calls without a model: unpriced, grouped under null.
    let none = row_with_null(rows, "model").ok_or("a null-model row")?;
    assert_eq!(none["cost"], Value::Null, "unknown, not zero");
    assert!(none["unpriced"].as_u64() >= Some(1));
    // Every row and the total against the exact aggregate of the store.
    let exact = api
        .state
        .configured_store
        .aggregate_exact(&AggregateQuery::new(
            SpanFilter::new().billable(true),
            [GroupBy::Model],
        ))?;
    assert_eq!(rows.len(), exact.len());
    for (r, e) in rows.iter().zip(&exact) {
        let key = match &e.keys[0] {
            GroupKey::Value(v) => json!(v),
            _ => Value::Null,
        };
        assert_eq!(r["keys"]["model"], key);
        assert_eq!(r["calls"], e.count);
        assert_eq!(r["errors"], e.errors);
        assert_eq!(
            r["cost"],
            e.cost.map_or(Value::Null, |c| json!(c.dollars()))
        );
        assert_eq!(r["usage"], serde_json::to_value(e.usage)?);
        assert_eq!(r["unpriced_usage"], serde_json::to_value(e.unpriced_usage)?);
    }
    let calls: u64 = exact.iter().map(|e| e.count).sum();
    assert_eq!(answer["total"]["calls"], calls);
    assert_eq!(answer["total"]["keys"], json!({}));
    Ok(())
}

fn row_with_null(rows: &[Value], key: &str) -> Option<Value> {
    rows.iter().find(|r| r["keys"][key].is_null()).cloned()
}

#[tokio::test]
async fn cost_groups_by_several_dimensions_filters_and_falls_back_for_sessions() -> TestResult {
    let api = Api::start().await?;
    let by = api
        .ok("/cost?group_by=agent,day&provider=anthropic", "CostAnswer")
        .await?;
    assert_eq!(by["source"], "rollups");
    for row in by["rows"].as_array().ok_or("rows")? {
        assert_eq!(row["keys"]["day"], "2025-11-21T00:00:00Z");
        let agent = row["keys"]["agent"].as_str().ok_or("agent")?;
        let runs = api
            .runs
            .iter()
            .filter(|r| r.agent == agent && r.i % 2 == 1)
            .count();
        assert_eq!(row["calls"], runs, "{agent}");
    }
    assert_eq!(by["rows"].as_array().map(Vec::len), Some(3));

    let hours = api
        .ok(
            "/cost?group_by=hour&from=2025-11-21T08:00:00Z&to=2025-11-21T09:00:00Z",
            "CostAnswer",
        )
        .await?;
    assert_eq!(hours["rows"][0]["keys"]["hour"], "2025-11-21T08:00:00Z");
    assert_eq!(
        hours["range"],
        json!({"start_unix_nano": T0, "end_unix_nano": T0 + 60 * MIN})
    );

    // Sessions and users are not kept in the rollups: answered exactly from the spans.
    let sessions = api
        .ok("/cost?group_by=session,model&user=u-1", "CostAnswer")
        .await?;
    assert_eq!(sessions["source"], "spans");
    let rows = sessions["rows"].as_array().ok_or("rows")?;
    let want = api.runs.iter().filter(|r| r.user == "u-1").count();
    assert_eq!(
        rows.iter().filter_map(|r| r["calls"].as_u64()).sum::<u64>(),
        want as u64
    );
    assert!(
        rows.iter()
            .all(|r| r["keys"]["session"].is_string() && r["keys"]["model"].is_string())
    );

    // A range narrower than a minute is widened to whole minutes, and says so.
    let narrow = format!("/cost?from={}&to={}", T0 + 10 * MIN + 1, T0 + 10 * MIN + 2);
    let widened = api.ok(&narrow, "CostAnswer").await?;
    assert_eq!(
        widened["range"],
        json!({"start_unix_nano": T0 + 10 * MIN, "end_unix_nano": T0 + 11 * MIN})
    );
    assert_eq!(
        widened["total"]["calls"], 9,
        "the runs starting in that minute"
    );

    api.fails("/cost?group_by=color", 400, "bad_parameter", "group_by")
        .await?;
    api.fails(
        "/cost?group_by=model,model",
        400,
        "bad_parameter",
        "group_by",
    )
    .await?;
    api.fails("/cost?colour=red", 400, "unknown_parameter", "colour")
        .await?;
    Ok(())
}

#[tokio::test]
async fn tools_report_calls_success_latency_and_error_patterns() -> TestResult {
    let api = Api::start().await?;
    let answer = api.ok("/tools?top=2", "ToolsAnswer").await?;
    let tools = answer["tools"].as_array().ok_or("tools")?;
    assert_eq!(tools.len(), 2);
    let tool_spans: Vec<_> = api
        .runs
        .iter()
        .flat_map(|r| &r.spans)
        .chain(api.samples.iter().flatten())
        .filter(|s| s.kind == SpanKind::Tool)
        .collect();
    for t in tools {
        let name = t["tool"].as_str().ok_or("tool")?;
        let mine: Vec<_> = tool_spans
            .iter()
            .filter(|s| s.tool_name.as_deref() == Some(name))
            .collect();
        let failed = mine.iter().filter(|s| s.status.message.is_some()).count();
        assert_eq!(
            (t["calls"].as_u64(), t["errors"].as_u64()),
            (Some(mine.len() as u64), Some(failed as u64)),
            "{name}"
        );
        let rate = t["success_rate"].as_f64().ok_or("rate")?;
        assert!((rate - (1.0 - failed as f64 / mine.len() as f64)).abs() < 1e-12);
        let mut durations: Vec<u64> = mine.iter().map(|s| s.duration_ns()).collect();
        durations.sort_unstable();
        let p95 = durations[(95 * durations.len()).div_ceil(100) - 1];
        assert!(
            close(&t["duration"]["p95_ns"], p95),
            "{name}: {} vs {p95}",
            t["duration"]
        );
        if failed > 0 {
            assert_eq!(
                t["error_types"],
                json!([{"error_type": "timeout", "count": failed}])
            );
            assert_eq!(
                t["top_errors"],
                json!([{"error_type": "timeout", "pattern": "timeout after <n>s", "count": failed}])
            );
        } else {
            assert_eq!(t["error_types"], json!([]));
        }
    }
    let web = tools
        .iter()
        .find(|t| t["tool"] == "web_search")
        .ok_or("web_search")?;
    assert!(web["errors"].as_u64() > Some(10));
    api.fails("/tools?top=0", 400, "bad_parameter", "top")
        .await?;
    Ok(())
}

#[tokio::test]
async fn the_overview_matches_the_exact_summary_and_has_a_series() -> TestResult {
    let api = Api::start().await?;
    let all = api.ok("/overview", "Overview").await?;
    let exact = api.state.configured_store.overview_exact(TimeRange::ALL)?;
    assert_eq!(all["requests"], exact.requests);
    assert_eq!(all["errors"], exact.errors);
    assert_eq!(all["spans"], exact.spans);
    assert_eq!(all["span_errors"], exact.span_errors);
    assert_eq!(all["traces"], exact.traces);
    assert_eq!(
        all["cost"],
        exact.cost.map_or(Value::Null, |c| json!(c.dollars()))
    );
    assert_eq!(all["usage"], serde_json::to_value(exact.usage)?);
    assert_eq!(all["unpriced"], exact.unpriced);
    let latency = exact.latency.ok_or("latency")?;
    assert!(close(&all["latency"]["p99_ns"], latency.p99_ns));
    // Costliest first: the fixtures' calls (5.15 m$ each) beat the runs'.
    assert_eq!(
        all["by_model"][0]["keys"],
        json!({"model": "gpt-4o-2024-08-06"})
    );
    assert_eq!(all["by_model"][1]["keys"], json!({"model": "gpt-4o"}));
    let agents: Vec<&Value> = all["by_agent"]
        .as_array()
        .ok_or("by_agent")?
        .iter()
        .map(|r| &r["keys"]["agent"])
        .collect();
    assert_eq!(agents.len(), exact.by_agent.len());
    for a in ["planner", "coder", "critic", "researcher"] {
        assert!(agents.contains(&&json!(a)), "{a}");
    }
    // All time: 1-minute buckets from the first span's minute to the last's, adding up.
    assert_eq!(all["bucket_ns"], MIN);
    let series = all["series"].as_array().ok_or("series")?;
    assert_eq!(series[0]["start_unix_nano"], T0);
    let sum = |field: &str| series.iter().filter_map(|p| p[field].as_u64()).sum::<u64>();
    assert_eq!(sum("requests"), exact.requests);
    assert_eq!(sum("spans"), exact.spans);
    let last_run = api.runs.last().ok_or("runs")?.start;
    assert_eq!(series.len() as u64, (last_run - T0) / MIN + 1);

    // A day in hours.
    let day = api
        .ok(
            "/overview?from=2025-11-21&to=2025-11-22&bucket=1h",
            "Overview",
        )
        .await?;
    assert_eq!(day["series"].as_array().map(Vec::len), Some(24));
    assert_eq!(day["series"][8]["requests"], exact.requests);
    assert_eq!(day["series"][7]["requests"], 0);
    assert_eq!(day["series"][7]["latency"], Value::Null);
    // Nothing in range: zeros.
    let empty = api
        .ok("/overview?from=2030-01-01T00:00:00Z", "Overview")
        .await?;
    assert_eq!(
        (empty["spans"].as_u64(), empty["cost"].clone()),
        (Some(0), Value::Null)
    );
    assert_eq!(empty["error_rate"], 0.0);

    api.fails("/overview?bucket=90s", 400, "bad_parameter", "bucket")
        .await?;
    api.fails(
        "/overview?bucket=1m&from=1970-01-01",
        400,
        "bad_parameter",
        "bucket",
    )
    .await?;
    api.fails(
        &format!("/overview?from={}&to={}", T0 + SEC, T0),
        400,
        "bad_parameter",
        "to",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn received_metrics_are_listed_and_read_as_series() -> TestResult {
    let api = Api::start().await?;
    let range = format!("from={T0}&to={}", T0 + 10 * MIN);
    let list = api
        .ok(&format!("/metrics?{range}"), "MetricsAnswer")
        .await?;
    let names: Vec<_> = list["metrics"]
        .as_array()
        .ok_or("metrics")?
        .iter()
        .map(|m| (m["name"].clone(), m["kind"].clone(), m["series"].clone()))
        .collect();
    assert_eq!(
        names,
        [
            (json!("agent.queue.depth"), json!("gauge"), json!(1)),
            (
                json!("gen_ai.client.token.usage.sum"),
                json!("counter"),
                json!(2)
            ),
        ]
    );
    // Per minute, then in one step of 5 minutes.
    let path = format!("/metrics/gen_ai.client.token.usage.sum?{range}");
    let answer = api.ok(&path, "MetricAnswer").await?;
    let series = answer["series"].as_array().ok_or("series")?;
    let gpt = series
        .iter()
        .find(|s| s["labels"]["gen_ai.request.model"] == "gpt-4o")
        .ok_or("the gpt-4o series")?;
    let sums: Vec<_> = gpt["points"]
        .as_array()
        .ok_or("points")?
        .iter()
        .map(|p| p["sum"].clone())
        .collect();
    assert_eq!(sums, [json!(100.0), json!(100.0), json!(100.0)]);
    assert_eq!(gpt["unit"], "{token}");
    let five = api.ok(&format!("{path}&step=5m"), "MetricAnswer").await?;
    let points = &five["series"][0]["points"];
    assert_eq!(points.as_array().map(Vec::len), Some(1));
    assert_eq!(points[0]["count"], 3);
    let gauge = api
        .ok(
            &format!("/metrics/agent.queue.depth?{range}&step=5m"),
            "MetricAnswer",
        )
        .await?;
    assert_eq!(
        gauge["series"][0]["points"][0]["last"], 2.0,
        "the latest value"
    );
    api.fails(&format!("{path}&step=30s"), 400, "bad_parameter", "step")
        .await?;
    let none = api
        .ok(&format!("/metrics/nothing?{range}"), "MetricAnswer")
        .await?;
    assert_eq!(none["series"], json!([]));
    Ok(())
}

#[tokio::test]
async fn an_slo_of_tool_calls_is_judged_as_the_document_says() -> TestResult {
    use agentrace_alerts::slo::{Indicator, Slo, Target};
    let api = Api::start().await?;
    let slo = Slo::new(
        "tools work",
        Indicator::Success {
            of: Target::ToolCalls,
        },
        0.99,
        std::time::Duration::from_secs(28 * 86_400),
    );
    let end = api.runs.iter().map(|r| r.start).max().unwrap_or(T0) + 10 * MIN;
    let judged = agentrace_server::jobs::slos::statuses(&*api.state.configured_store, &[slo], end)?;
    let status = serde_json::to_value(&judged[0])?;
    // The same counts read span by span, as the exact aggregate does.
    let exact = api
        .state
        .configured_store
        .aggregate_exact(&AggregateQuery::new(
            SpanFilter::new()
                .kind(SpanKind::Tool)
                .range(TimeRange::until(end)),
            Vec::new(),
        ))?;
    let (total, failed) = exact.first().map_or((0, 0), |r| (r.count, r.errors));
    assert!(
        failed > 0 && failed < total,
        "{total} calls, {failed} failed"
    );
    assert_eq!(
        status["counts"],
        json!({"good": total - failed, "total": total})
    );
    crate::support::validate(
        api.doc(),
        &status,
        &json!({"$ref": "#/components/schemas/SloStatus"}),
        "SloStatus",
    )?;
    Ok(())
}

#[tokio::test]
async fn a_quality_slo_counts_the_scores_of_its_name_that_pass() -> TestResult {
    use agentrace_alerts::slo::{Indicator, Slo};
    use agentrace_core::{Score, ScoreTarget, ScoreValue};
    use agentrace_store::{ScorePass, with_score_ids};
    let api = Api::start().await?;
    let trace = ScoreTarget::Trace(api.runs[0].trace_id);
    let given = |n: u64, name: &str, value: Option<f64>, label: Option<&str>| {
        let mut s = Score::new(
            trace.clone(),
            name,
            ScoreValue {
                kind: None,
                value,
                label: label.map(str::to_owned),
            },
        )?;
        s.time_unix_nano = T0 + n * MIN;
        Ok::<_, agentrace_core::InvalidScore>(s)
    };
    let mut scores = Vec::new();
    for (n, v) in [0.9, 0.4, 0.75, 0.7, 0.65, 1.0].into_iter().enumerate() {
        scores.push(given(n as u64, "groundedness", Some(v), None)?);
    }
    scores.push(given(7, "groundedness", None, Some("grounded"))?);
    scores.push(given(8, "groundedness", None, Some("made up"))?);
    scores.push(given(9, "helpfulness", Some(0.1), None)?);
    let scores = with_score_ids(scores);
    api.state.configured_store.write_scores(&scores)?;
    let mut slo = Slo::new(
        "answers are grounded",
        Indicator::Quality {
            score: "groundedness".into(),
            min: Some(0.7),
            max: None,
            labels: vec!["grounded".into()],
        },
        0.9,
        std::time::Duration::from_secs(86_400),
    );
    slo.burn_alerts.truncate(2);
    slo.validate()?;
    let end = T0 + 30 * MIN;
    let judged = agentrace_server::jobs::slos::status(&*api.state.configured_store, &slo, end)?;
    let pass = ScorePass::new(Some(0.7), None, vec!["grounded".into()]);
    let of_name: Vec<_> = scores.iter().filter(|s| s.name == "groundedness").collect();
    let passed = of_name
        .iter()
        .filter(|s| pass.passes(s.value, s.label.as_deref()))
        .count() as u64;
    assert_eq!((passed, of_name.len()), (5, 8), "the fixture");
    assert_eq!((judged.counts.good, judged.counts.total), (5, 8));
    // The last five minutes (T0 + 25 to 30 min) hold none of them.
    let short = agentrace_server::jobs::slos::counts(
        &*api.state.configured_store,
        &slo,
        std::time::Duration::from_secs(300),
        end,
    )?;
    assert_eq!((short.good, short.total), (0, 0));
    let status = serde_json::to_value(&judged)?;
    assert_eq!(status["slo"]["indicator"]["type"], "quality");
    api.check(&status, "SloStatus")?;
    Ok(())
}

#[tokio::test]
async fn a_cost_slo_counts_the_traces_sessions_and_agent_runs_the_trace_list_and_view_show_cheap()
-> TestResult {
    use agentrace_alerts::slo::{CostUnit, Indicator, Slo};
    use agentrace_core::Usd;
    use agentrace_sqlite::TraceFilter;
    let api = Api::start().await?;
    let end = api.runs.iter().map(|r| r.start).max().unwrap_or(T0) + 10 * MIN;
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = api.state.configured_store.list_traces(
            &TraceFilter::new().range(TimeRange::until(end)),
            cursor.as_ref(),
            500,
        )?;
        listed.extend(page.traces);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // A threshold between the cheapest and the dearest trace of known cost.
    let mut known: Vec<Usd> = listed
        .iter()
        .filter(|t| t.unpriced_count == 0)
        .map(|t| t.cost.unwrap_or(Usd::ZERO))
        .collect();
    known.sort();
    let threshold = known
        .get(known.len() / 2)
        .copied()
        .ok_or("no trace of known cost")?;
    let cheap = known.iter().filter(|c| **c <= threshold).count() as u64;
    assert!(cheap > 0 && cheap < known.len() as u64, "{known:?}");
    let mut slo = Slo::new(
        "cheap runs",
        Indicator::Cost {
            of: CostUnit::Traces,
            max_usd: threshold.dollars(),
        },
        0.5,
        std::time::Duration::from_secs(28 * 86_400),
    );
    slo.validate()?;
    let judged = agentrace_server::jobs::slos::status(&*api.state.configured_store, &slo, end)?;
    assert_eq!(
        (judged.counts.good, judged.counts.total),
        (cheap, known.len() as u64),
        "as the trace list prices them"
    );
    // Sessions: each session's traces summed; one with an unpriced call left out.
    let mut sessions: std::collections::BTreeMap<&str, (Usd, u64)> = Default::default();
    for t in &listed {
        if let Some(s) = &t.session_id {
            let e = sessions.entry(s).or_insert((Usd::ZERO, 0));
            e.0 += t.cost.unwrap_or(Usd::ZERO);
            e.1 += t.unpriced_count;
        }
    }
    let known_sessions: Vec<Usd> = sessions
        .values()
        .filter(|(_, unpriced)| *unpriced == 0)
        .map(|(cost, _)| *cost)
        .collect();
    slo.indicator = Indicator::Cost {
        of: CostUnit::Sessions,
        max_usd: threshold.dollars(),
    };
    let judged = agentrace_server::jobs::slos::status(&*api.state.configured_store, &slo, end)?;
    assert_eq!(
        (judged.counts.good, judged.counts.total),
        (
            known_sessions.iter().filter(|c| **c <= threshold).count() as u64,
            known_sessions.len() as u64
        )
    );
    assert!(judged.counts.total > 0);
    let status = serde_json::to_value(&judged)?;
    assert_eq!(status["slo"]["indicator"]["type"], "cost");
    api.check(&status, "SloStatus")?;
    // Agent runs: each agent span as the trace view totals it, everything beneath included.
    let mut runs = Vec::new();
    for t in &listed {
        let tree = api
            .state
            .configured_store
            .trace(t.trace_id)?
            .ok_or("a listed trace")?;
        runs.extend(
            tree.nodes
                .iter()
                .filter(|n| n.span.kind == agentrace_core::SpanKind::Agent)
                .filter(|n| n.subtree.unpriced == 0)
                .map(|n| n.subtree.cost.unwrap_or(Usd::ZERO)),
        );
    }
    slo.indicator = Indicator::Cost {
        of: CostUnit::AgentRuns,
        max_usd: threshold.dollars(),
    };
    let judged = agentrace_server::jobs::slos::status(&*api.state.configured_store, &slo, end)?;
    assert_eq!(
        (judged.counts.good, judged.counts.total),
        (
            runs.iter().filter(|c| **c <= threshold).count() as u64,
            runs.len() as u64
        ),
        "as the trace view totals them"
    );
    assert!(
        judged.counts.total > known.len() as u64,
        "sub-agents' runs count too"
    );
    api.check(&serde_json::to_value(&judged)?, "SloStatus")?;
    // Kept by the hour (the runs' hour settled, or cut by a window's first hour), each unit
    // counts what a whole read does.
    let settled = agentrace_server::jobs::slos::SettledHours::default();
    let day = std::time::Duration::from_secs(86_400);
    for of in [CostUnit::Traces, CostUnit::Sessions, CostUnit::AgentRuns] {
        slo.indicator = Indicator::Cost {
            of,
            max_usd: threshold.dollars(),
        };
        for (window, end) in [
            (slo.window, end),
            (day, T0 + 3 * 60 * MIN),
            (day, T0 + 24 * 60 * MIN + 9 * MIN + 13 * SEC),
        ] {
            let whole = agentrace_server::jobs::slos::counts(
                &*api.state.configured_store,
                &slo,
                window,
                end,
            )?;
            assert!(whole.total > 0, "{of:?} ending at {end}");
            assert_eq!(
                settled.counts(&*api.state.configured_store, &slo, window, end)?,
                whole,
                "{of:?} over {window:?} ending at {end}"
            );
        }
    }
    // A cheap call of a new session arrives late, in an hour kept: the store reports it as a
    // change of the past, and the next count (a second on) reads that hour again.
    slo.indicator = Indicator::Cost {
        of: CostUnit::Sessions,
        max_usd: threshold.dollars(),
    };
    let (window, at) = (day, T0 + 3 * 60 * MIN);
    let before =
        agentrace_server::jobs::slos::counts(&*api.state.configured_store, &slo, window, at)?;
    assert_eq!(
        settled.counts(&*api.state.configured_store, &slo, window, at)?,
        before
    );
    let mut late = agentrace_core::SpanRecord::new(
        agentrace_core::TraceId::random(),
        agentrace_core::SpanId::random(),
        "chat gpt-4o",
        T0 + 20 * MIN,
        T0 + 20 * MIN + SEC,
        std::sync::Arc::new(agentrace_core::Resource::new("agents")),
    );
    late.kind = SpanKind::Llm;
    late.session_id = Some("s-late".into());
    late.cost = Some(agentrace_core::Cost::from_parts(
        Usd::ZERO,
        Usd::ZERO,
        Usd::ZERO,
        Usd::ZERO,
    ));
    api.state.configured_store.write_spans(&[late])?;
    let after =
        agentrace_server::jobs::slos::counts(&*api.state.configured_store, &slo, window, at)?;
    assert_eq!(
        (after.good, after.total),
        (before.good + 1, before.total + 1),
        "the late session counts"
    );
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    assert_eq!(
        settled.counts(&*api.state.configured_store, &slo, window, at)?,
        after,
        "seen at once"
    );
    Ok(())
}

#[tokio::test]
async fn a_burn_down_read_as_one_series_equals_each_windows_own_counts() -> TestResult {
    use agentrace_alerts::slo::{CostUnit, Count, Indicator, Slo, Status, Target};
    use agentrace_core::{Score, ScoreTarget, ScoreValue};
    use std::time::Duration;
    let api = Api::start().await?;
    let store = &*api.state.configured_store;
    // A score every two minutes, one in three failing.
    let mut scores = Vec::new();
    for n in 0..13 {
        let mut s = Score::new(
            ScoreTarget::Trace(api.runs[0].trace_id),
            "groundedness",
            ScoreValue {
                kind: None,
                value: Some(if n % 3 == 0 { 0.2 } else { 0.9 }),
                label: None,
            },
        )?;
        s.time_unix_nano = T0 + n * 2 * MIN;
        scores.push(s);
    }
    store.write_scores(&agentrace_store::with_score_ids(scores))?;
    let hour = Duration::from_secs(3_600);
    let mut ok_tools = Count::of(Target::ToolCalls);
    ok_tools.status = Some(Status::Ok);
    let mut small = Count::of(Target::LlmCalls);
    small.scope.model = Some("gpt-4o-mini".into());
    let indicators = [
        Indicator::Success {
            of: Target::ToolCalls,
        },
        Indicator::Latency {
            of: Target::AgentRuns,
            threshold: Duration::from_secs(2),
        },
        Indicator::Ratio {
            good: Box::new(ok_tools),
            total: Box::new(Count::of(Target::ToolCalls)),
        },
        Indicator::Ratio {
            good: Box::new(small),
            total: Box::new(Count::of(Target::LlmCalls)),
        },
        Indicator::Quality {
            score: "groundedness".into(),
            min: Some(0.7),
            max: None,
            labels: Vec::new(),
        },
        Indicator::Cost {
            of: CostUnit::Traces,
            max_usd: 0.001,
        },
        Indicator::Cost {
            of: CostUnit::AgentRuns,
            max_usd: 0.001,
        },
    ];
    // An end between the step's boundaries, while the runs arrive and after.
    for indicator in indicators {
        let mut seen = 0;
        for end in [T0 + 7 * MIN + 13 * SEC, T0 + 25 * MIN + 1] {
            let mut slo = Slo::new("series", indicator.clone(), 0.9, hour);
            slo.burn_alerts.truncate(1);
            // Twelve steps of five minutes over the hour.
            let points =
                agentrace_server::jobs::slos::burn_down(store, &slo, (end - 60 * MIN, end), 12)?;
            assert_eq!(points.len(), 13);
            assert_eq!(points.last().map(|p| p.time_unix_nano), Some(end));
            let aligned = &points[..12];
            assert!(aligned.iter().all(|p| p.time_unix_nano % (5 * MIN) == 0));
            assert!(
                aligned
                    .windows(2)
                    .all(|w| w[1].time_unix_nano - w[0].time_unix_nano == 5 * MIN)
            );
            for p in &points {
                let own =
                    agentrace_server::jobs::slos::counts(store, &slo, hour, p.time_unix_nano)?;
                assert_eq!(p.counts, own, "{:?} at {}", slo.indicator, p.time_unix_nano);
                seen += own.total;
            }
        }
        assert!(seen > 0, "the windows of {indicator:?} hold the runs");
    }
    Ok(())
}

#[tokio::test]
async fn a_calendar_slo_is_judged_over_its_period_so_far() -> TestResult {
    use agentrace_alerts::slo::{Indicator, Slo, Target};
    use agentrace_core::budget::Period;
    let api = Api::start().await?;
    let mut slo = Slo::new(
        "tools work today",
        Indicator::Success {
            of: Target::ToolCalls,
        },
        0.99,
        std::time::Duration::ZERO,
    )
    .calendar(Period::Day);
    // A day is shorter than the workbook's 3-day alert: its two shorter pairs.
    slo.burn_alerts.truncate(2);
    slo.validate()?;
    // Half-way through the generated runs: the day so far holds the first half of them.
    let end = T0 + 10 * MIN + 60 * 7 * SEC;
    let judged = agentrace_server::jobs::slos::status(&*api.state.configured_store, &slo, end)?;
    let day_start = T0 - T0 % (86_400 * SEC);
    assert_eq!(judged.since_unix_nano, day_start);
    let exact = api
        .state
        .configured_store
        .aggregate_exact(&AggregateQuery::new(
            SpanFilter::new()
                .kind(SpanKind::Tool)
                .range(TimeRange::new(day_start, end)),
            Vec::new(),
        ))?;
    let (total, failed) = exact.first().map_or((0, 0), |r| (r.count, r.errors));
    assert!(total > 0 && total < 130, "{total}");
    assert_eq!(
        (judged.counts.good, judged.counts.total),
        (total - failed, total)
    );
    let status = serde_json::to_value(&judged)?;
    assert_eq!(status["slo"]["calendar"], "day");
    assert!(status["slo"].get("window").is_none(), "{status}");
    api.check(&status, "SloStatus")?;
    Ok(())
}

/// `group_by=attr:<key>`: cost per value of a span attribute, else the resource's, spans with
/// neither in the `null` group; a key of more than the bound's values is refused with the
/// bound, and a key that is no attribute name with the rule.
#[tokio::test]
async fn cost_groups_by_an_attribute_of_the_span_or_its_resource_within_a_bound() -> TestResult {
    let api = Api::start().await?;
    let llm = |n: u64, customer: Option<&str>| {
        let mut span = api.runs[0].spans[0].clone();
        span.trace_id = crate::support::trace_id(90_000 + n);
        span.span_id =
            agentrace_core::SpanId::from_bytes((0x7700_0000_0000_0000 | n).to_be_bytes());
        span.parent_span_id = None;
        if let Some(c) = customer {
            span.attributes.insert("customer.id", c);
        }
        span
    };
    let store = api.state.configured_store.clone();
    store.write_spans(&[
        llm(1, Some("acme")),
        llm(2, Some("acme")),
        llm(3, Some("globex")),
    ])?;
    let path = "/cost?group_by=attr:customer.id&from=2025-11-21T00:00:00Z&to=2025-11-22T00:00:00Z";
    let cost = api.ok(path, "CostAnswer").await?;
    assert_eq!(cost["group_by"], json!(["attr:customer.id"]));
    let calls = |value: Value| {
        cost["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["keys"]["attr:customer.id"] == value)
            .map(|r| r["calls"].clone())
    };
    assert_eq!(calls(json!("acme")), Some(json!(2)), "{cost}");
    assert_eq!(calls(json!("globex")), Some(json!(1)), "{cost}");
    // The generated runs' calls (and the fixtures') carry no customer.
    let without = calls(Value::Null)
        .and_then(|c| c.as_u64())
        .unwrap_or_default();
    assert!(without >= crate::support::TRACES, "{cost}");

    api.fails(
        "/cost?group_by=attr:customer%20id",
        400,
        "bad_parameter",
        "not an attribute key",
    )
    .await?;
    let many: Vec<_> = (0..1_001)
        .map(|n| llm(1_000 + n, Some(&format!("c-{n}"))))
        .collect();
    store.write_spans(&many)?;
    api.fails(path, 400, "bad_parameter", "more than the 1000")
        .await?;
    Ok(())
}

/// `/tools?group_by=attr:<key>`: each tool once per value of the attribute, naming it, with
/// its own calls and health; any other split is refused (tools are always by tool), and so is
/// a key of more than the bound's values.
#[tokio::test]
async fn tools_split_by_an_attribute_within_a_bound() -> TestResult {
    let api = Api::start().await?;
    let Some(template) = api.runs[0]
        .spans
        .iter()
        .find(|s| s.kind == SpanKind::Tool)
        .cloned()
    else {
        return Err("the generated runs have a tool call".into());
    };
    let call = |n: u64, customer: &str, failed: bool| {
        let mut span = template.clone();
        span.trace_id = crate::support::trace_id(95_000 + n);
        span.span_id =
            agentrace_core::SpanId::from_bytes((0x7800_0000_0000_0000 | n).to_be_bytes());
        span.parent_span_id = None;
        span.tool_name = Some("lookup_customer".into());
        span.attributes.insert("customer.id", customer);
        span.attributes.remove("error.type");
        span.status = if failed {
            agentrace_core::SpanStatus::error("quota exceeded")
        } else {
            agentrace_core::SpanStatus::default()
        };
        span
    };
    let store = api.state.configured_store.clone();
    store.write_spans(&[
        call(1, "acme", false),
        call(2, "acme", true),
        call(3, "globex", false),
    ])?;
    let path = "/tools?group_by=attr:customer.id&from=2025-11-21T00:00:00Z&to=2025-11-22T00:00:00Z";
    let tools = api.ok(path, "ToolsAnswer").await?;
    let split: Vec<_> = tools["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["tool"] == "lookup_customer")
        .map(|t| {
            (
                t["attribute"]["key"].clone(),
                t["attribute"]["value"].clone(),
                t["calls"].clone(),
                t["errors"].clone(),
                t["health"]["score"].is_u64(),
            )
        })
        .collect();
    assert_eq!(
        split,
        vec![
            (
                json!("customer.id"),
                json!("acme"),
                json!(2),
                json!(1),
                true
            ),
            (
                json!("customer.id"),
                json!("globex"),
                json!(1),
                json!(0),
                true
            ),
        ],
        "{tools}"
    );
    // The generated runs' tools carry no customer: their rows name the key, value null.
    assert!(
        tools["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["tool"] != "lookup_customer" && t["attribute"]["value"].is_null()),
        "{tools}"
    );
    api.fails(
        "/tools?group_by=model",
        400,
        "bad_parameter",
        "attr:<key> only",
    )
    .await?;
    let many: Vec<_> = (0..1_001)
        .map(|n| call(1_000 + n, &format!("c-{n}"), false))
        .collect();
    store.write_spans(&many)?;
    api.fails(path, 400, "bad_parameter", "more than the 1000")
        .await?;
    Ok(())
}
