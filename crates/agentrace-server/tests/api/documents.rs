//! `/openapi.json` against the running API, `/budgets`, `/status`, and routing errors.

use std::sync::Arc;

use agentrace_core::Usd;
use agentrace_core::budget::{Budget, Budgets, Period, Scope};
use serde_json::Value;

use crate::support::{Api, T0, TestResult, on_clickhouse};

/// Every documented operation, called with every documented parameter (their examples; path
/// parameters naming stored records), is served: 200 and an answer valid against the
/// documented schema (the live feed: 426 without a WebSocket upgrade, after accepting them).
#[tokio::test]
async fn every_documented_route_and_parameter_is_served_as_documented() -> TestResult {
    let api = Api::start().await?;
    let doc = api.doc().clone();
    let paths = doc["paths"].as_object().ok_or("paths")?;
    assert_eq!(paths.len(), 55);
    let trace = api.runs[3].trace_id.to_string();
    let span = api.runs[3].spans[0].span_id.to_string();
    let operations = paths.iter().flat_map(|(template, item)| {
        let methods = item.as_object().into_iter().flatten();
        methods.map(move |(method, op)| (template, method.as_str(), op))
    });
    // POSTs and PUTs first, DELETEs last: the scores and rules they write are read, then
    // deleted.
    let mut operations: Vec<_> = operations.collect();
    operations.sort_by_key(|(_, method, _)| match *method {
        "post" | "put" => 0,
        "delete" => 2,
        _ => 1,
    });
    for (template, method, op) in operations {
        if template.starts_with("/api/v1/auth/") {
            // The login routes belong to the app around the API: tests/server/security.rs
            // calls them on a running server.
            continue;
        }
        let people = ["/api/v1/people", "/api/v1/me/", "/api/v1/audit"];
        if template.starts_with("/api/v1/projects")
            || template.starts_with("/api/v1/keys")
            || people.iter().any(|p| template.starts_with(p))
        {
            // Projects, keys and people change who may call the rest: tests/api/projects.rs
            // and tests/server/people.rs walk them, against the same documented schemas.
            continue;
        }
        let path = template.trim_start_matches("/api/v1");
        if matches!(method, "post" | "put") {
            // Its documented example body is taken and answered as documented.
            let example = &op["requestBody"]["content"]["application/json"]["example"];
            let (status, body) = if method == "put" {
                let name = op["parameters"][0]["example"]
                    .as_str()
                    .ok_or("a name example")?;
                let path = path.replace("{name}", name).replace("{kind}", name);
                api.put(&path, example).await?
            } else {
                api.post(path, example).await?
            };
            // The greatest success documented: a PUT of a new rule creates it (201, not 200).
            let (code, answer) = op["responses"]
                .as_object()
                .and_then(|r| {
                    r.iter()
                        .filter(|(code, _)| code.starts_with('2'))
                        .max_by_key(|(code, _)| code.as_str())
                })
                .ok_or("a success answer")?;
            assert_eq!(status.to_string(), *code, "{path}: {body}");
            let schema = &answer["content"]["application/json"]["schema"];
            crate::support::validate(&doc, &body, schema, "$")
                .map_err(|e| format!("{path}: {e}"))?;
            continue;
        }
        if method == "delete" {
            // The record the example names (written by the POST above) is deleted, once.
            let id = op["parameters"][0]["example"]
                .as_str()
                .ok_or("an id example")?;
            let path = path
                .replace("{id}", id)
                .replace("{name}", id)
                .replace("{kind}", id);
            assert_eq!(api.delete(&path).await?.0, 204, "{path}");
            let (status, body) = api.delete(&path).await?;
            assert_eq!(
                (status, &body["error"]["code"]),
                (404, &Value::from("not_found"))
            );
            continue;
        }
        assert_eq!(method, "get", "{template}: a {method}");
        let mut path = template.trim_start_matches("/api/v1").to_owned();
        let query = crate::support::example_query(&doc, op)?;
        for p in op["parameters"].as_array().into_iter().flatten() {
            let p = crate::support::parameter(&doc, p);
            let name = p["name"].as_str().ok_or("parameter name")?;
            match (p["in"].as_str(), name) {
                (Some("path"), "trace_id") => path = path.replace("{trace_id}", &trace),
                (Some("path"), "session_id") => path = path.replace("{session_id}", "s-3"),
                (Some("path"), "span_id") => path = path.replace("{span_id}", &span),
                // The re-run the POST above started.
                (Some("path"), "id") => path = path.replace("{id}", &p["example"].to_string()),
                (Some("path"), "kind") => {
                    let example = p["example"].as_str().ok_or("a setting kind example")?;
                    path = path.replace("{kind}", example);
                }
                (Some("path"), "name") => {
                    let example = p["example"].as_str().ok_or("a metric name example")?;
                    path = path.replace("{name}", example);
                }
                (Some("query"), _) => {}
                other => return Err(format!("{template}: parameter {other:?}").into()),
            }
        }
        let url = format!("{path}?{}", query.join("&"));
        let (status, body) = api.get(&url).await?;
        if template.ends_with("/live") {
            assert_eq!(status, 426, "{url}: {body}");
            assert_eq!(body["error"]["code"], "upgrade_required");
            continue;
        }
        assert_eq!(status, 200, "{url}: {body}");
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        crate::support::validate(&doc, &body, schema, "$").map_err(|e| format!("{url}: {e}"))?;
        // And nothing undocumented is taken.
        let (status, body) = api.get(&format!("{path}?undocumented=1")).await?;
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &Value::from("unknown_parameter")),
            "{path}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn routing_errors_are_json_too() -> TestResult {
    let api = Api::start().await?;
    api.fails("/nothing-here", 404, "not_found", "openapi.json")
        .await?;
    let response = reqwest::Client::new()
        .post(format!("{}/traces", api.base))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = serde_json::from_str(&response.text().await?)?;
    assert_eq!(body["error"]["code"], "method_not_allowed");
    // Bytes that are not UTF-8 decode lossily, then fail as a value.
    api.fails("/traces?limit=%ff", 400, "bad_parameter", "limit")
        .await?;
    Ok(())
}

#[tokio::test]
async fn internal_errors_are_500_without_their_cause() -> TestResult {
    let api = Api::start().await?;
    let run = &api.runs[0];
    // A row edited by hand: a span kind no build knows.
    match &api.clickhouse {
        Some(client) => {
            client
                .query(&format!(
                    "INSERT INTO spans SELECT * REPLACE ('secret-robot' AS kind, \
                     version + 1 AS version) FROM spans FINAL \
                     WHERE hex(trace_id) = upper('{}')",
                    run.trace_id
                ))
                .execute()
                .await?;
        }
        None => {
            rusqlite::Connection::open(api.state.config.db_path())?.execute(
                "UPDATE spans SET kind = 'secret-robot' WHERE trace_id = ?1",
                [run.trace_id.to_bytes()],
            )?;
        }
    }
    let (status, body) = api.get(&format!("/traces/{}", run.trace_id)).await?;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["code"], "internal");
    assert!(!body.to_string().contains("secret-robot"), "{body}");
    // The rest of the API keeps answering.
    api.ok(&format!("/traces/{}", api.runs[1].trace_id), "TraceTree")
        .await?;
    Ok(())
}

#[tokio::test]
async fn budgets_list_every_account_or_none() -> TestResult {
    let api = Api::start().await?;
    let none = api.ok("/budgets", "Budgets").await?;
    assert_eq!(
        none,
        serde_json::json!({"configured": false, "budgets": []})
    );

    let budgets = Arc::new(
        Budgets::new(vec![
            Budget::new("daily", Scope::Global, Period::Day, Usd::from_dollars(10.0)),
            Budget::new(
                "per agent",
                Scope::Agent,
                Period::Total,
                Usd::from_dollars(1.0),
            ),
        ])
        .with_clock(|| T0 + 3_600_000_000_000),
    );
    let api = Api::start_with(|state| {
        state
            .set_configured_budgets(budgets.clone())
            .expect("the projects' settings are read");
    })
    .await?;
    for run in &api.runs {
        for span in &run.spans {
            budgets.record_span(span);
        }
    }
    let answer = api.ok("/budgets", "Budgets").await?;
    assert_eq!(answer["configured"], true);
    let accounts = answer["budgets"].as_array().ok_or("budgets")?;
    let spent: i64 = api
        .runs
        .iter()
        .filter(|r| r.i % 10 != 9)
        .map(|r| 1_000 * r.i as i64 + 500)
        .sum();
    let daily = accounts
        .iter()
        .find(|a| a["budget"] == "daily")
        .ok_or("daily")?;
    assert_eq!(daily["spent"], spent as f64 / 1e9);
    assert_eq!(daily["limit"], 10.0);
    let per_agent: Vec<_> = accounts
        .iter()
        .filter(|a| a["budget"] == "per agent")
        .collect();
    assert_eq!(per_agent.len(), 3, "one account per agent");
    Ok(())
}

#[tokio::test]
async fn status_reports_the_pipeline_counters_and_the_store() -> TestResult {
    let api = Api::start().await?;
    let status = api.ok("/status", "Status").await?;
    let (schema, least_bytes) = if on_clickhouse() {
        (i64::from(agentrace_clickhouse::SCHEMA_VERSION), 1)
    } else {
        (agentrace_sqlite::SCHEMA_VERSION, 100_000)
    };
    assert_eq!(status["store"]["schema_version"], schema);
    assert!(status["store"]["file_bytes"].as_u64() >= Some(least_bytes));
    for signal in ["spans", "events", "measurements"] {
        api.check(&status[signal], "SignalStats")?;
    }
    assert_eq!(
        status["spans"]["stored"], 0,
        "this state's writer stored nothing"
    );
    assert_eq!(
        status["pipeline"],
        Value::Null,
        "no fan-out pipeline in this state"
    );
    Ok(())
}
