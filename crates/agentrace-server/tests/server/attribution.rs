//! Attribution whatever the arrival order, end to end: an agent's LLM and tool calls exported
//! in a request before the agent span (as the OTel SDKs' batch processors do), and across a
//! restart. The cost moves to the agent in `/cost`, each span names its agent, the budgets of
//! the agent count the spend, and the live feed tells its clients.

use std::io::Write as _;
use std::time::Duration;

use futures_util::StreamExt as _;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

/// The agent span (ids: trace `n`, span `10n`), an LLM call and a tool call under it.
fn agent_run(n: u64, start: u64) -> (Span, Vec<Span>) {
    let root = Span {
        trace_id: trace_id(n),
        span_id: span_id(10 * n),
        name: "invoke_agent planner".into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 5_000_000_000,
        attributes: vec![
            text("gen_ai.operation.name", "invoke_agent"),
            text("gen_ai.agent.name", "planner"),
            text("user.id", "lin"),
        ],
        ..Span::default()
    };
    let mut chat = llm_span(n, 10 * n + 1, start + 100_000_000);
    chat.parent_span_id = span_id(10 * n);
    let tool = Span {
        trace_id: trace_id(n),
        span_id: span_id(10 * n + 2),
        parent_span_id: span_id(10 * n),
        name: "execute_tool search".into(),
        start_time_unix_nano: start + 2_000_000_000,
        end_time_unix_nano: start + 3_000_000_000,
        attributes: vec![
            text("gen_ai.operation.name", "execute_tool"),
            text("gen_ai.tool.name", "search"),
        ],
        ..Span::default()
    };
    (root, vec![chat, tool])
}

async fn api(t: &TestServer, path: &str) -> Result<Value> {
    let answer = get(&t.app_url(&format!("/api/v1{path}")), &[]).await?;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    Ok(serde_json::from_str(&answer.text())?)
}

/// `/cost?group_by=agent`: (agent, calls, cost) per row.
async fn cost_by_agent(t: &TestServer) -> Result<Vec<(Value, u64, Value)>> {
    let cost = api(t, "/cost?group_by=agent&from=-1h").await?;
    Ok(cost["rows"]
        .as_array()
        .ok_or("rows")?
        .iter()
        .map(|r| {
            (
                r["keys"]["agent"].clone(),
                r["calls"].as_u64().unwrap_or(0),
                r["cost"].clone(),
            )
        })
        .collect())
}

/// Each span of trace `n`: (name, agent, session, user).
async fn spans_of(t: &TestServer, n: u64) -> Result<Vec<(String, Value, Value, Value)>> {
    let id: String = trace_id(n).iter().map(|b| format!("{b:02x}")).collect();
    let tree = api(t, &format!("/traces/{id}")).await?;
    let mut out: Vec<_> = tree["nodes"]
        .as_array()
        .ok_or("nodes")?
        .iter()
        .map(|n| {
            let s = &n["span"];
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["agent_name"].clone(),
                s["session_id"].clone(),
                s["user_id"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn budgets_file(dir: &std::path::Path) -> Result<std::path::PathBuf> {
    let path = dir.join("budgets.toml");
    let mut f = std::fs::File::create(&path)?;
    writeln!(
        f,
        "[[budget]]\nname = \"per agent\"\nscope = \"agent\"\nperiod = \"day\"\nlimit_usd = 100.0"
    )?;
    Ok(path)
}

#[tokio::test]
async fn children_exported_before_their_agent_are_attributed_to_it() -> Result {
    let budgets_dir = tempfile::tempdir()?;
    let budgets = budgets_file(budgets_dir.path())?;
    let t = TestServer::start(|c| c.budgets = Some(budgets)).await?;
    let (mut live, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/live", t.server.app_addr()))
            .await?;
    let (root, children) = agent_run(1, now() - 30_000_000_000);

    t.export(&traces(children)).await?;
    let before = cost_by_agent(&t).await?;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].0, Value::Null, "no agent yet");
    let cost = before[0].2.clone();
    assert!(cost.as_f64().is_some_and(|c| c > 0.0), "the call is priced");
    assert_eq!(t.server.stats().repairs.awaiting_parent, 2);

    t.export(&traces(vec![root.clone()])).await?;
    assert_eq!(
        cost_by_agent(&t).await?,
        vec![(Value::from("planner"), 1, cost.clone())],
        "the spend moved to the agent, counted once"
    );
    let planner = Value::from("planner");
    let lin = Value::from("lin");
    for (name, agent, _, user) in spans_of(&t, 1).await? {
        assert_eq!((&agent, &user), (&planner, &lin), "{name}");
    }
    let stats = t.server.stats();
    assert_eq!(
        (stats.repairs.attributed_late, stats.repairs.awaiting_parent),
        (2, 0)
    );
    let accounts = t
        .server
        .state()
        .configured_budgets()
        .ok_or("budgets configured")?
        .status();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0].scope, "planner");
    assert!((accounts[0].spent.dollars() - cost.as_f64().unwrap_or(0.0)).abs() < 1e-9);

    // The live feed: the spans, then the attribution of the two stored before the agent.
    let mut attributed = Vec::new();
    while attributed.len() < 2 {
        let message = tokio::time::timeout(Duration::from_secs(10), live.next())
            .await?
            .ok_or("the feed ended")??;
        let Message::Text(text) = message else {
            continue;
        };
        let m: Value = serde_json::from_str(&text)?;
        if m["type"] == "attributed" {
            for s in m["spans"].as_array().ok_or("spans")? {
                assert_eq!(s["agent"], planner);
                assert_eq!(s["user"], lin);
                attributed.push(s["span_id"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    attributed.sort();
    let hex = |n: u64| -> String { span_id(n).iter().map(|b| format!("{b:02x}")).collect() };
    assert_eq!(attributed, vec![hex(11), hex(12)]);

    // Sent again: nothing changes.
    let (root, children) = agent_run(1, root.start_time_unix_nano);
    t.export(&traces(children)).await?;
    t.export(&traces(vec![root])).await?;
    assert_eq!(
        cost_by_agent(&t).await?,
        vec![(Value::from("planner"), 1, cost)]
    );
    assert_eq!(t.server.stats().repairs.attributed_late, 2);
    Ok(())
}

#[tokio::test]
async fn an_agent_arriving_after_a_restart_still_attributes_its_calls() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let (root, children) = agent_run(2, now() - 30_000_000_000);
    t.export(&traces(children)).await?;
    let TestServer { server, dir } = t;
    server.shutdown().await?;

    let t = TestServer {
        server: agentrace_server::Server::start(
            agentrace_server::ServerConfig::new(dir.path()).with_any_free_ports(),
        )
        .await?,
        dir,
    };
    assert_eq!(
        t.server.stats().repairs.awaiting_parent,
        2,
        "loaded from the file"
    );
    t.export(&traces(vec![root])).await?;
    let planner = Value::from("planner");
    for (name, agent, session, _) in spans_of(&t, 2).await? {
        assert_eq!(agent, planner, "{name}");
        if name.starts_with("chat") {
            assert_eq!(session, Value::from("session-1"), "its own session kept");
        }
    }
    assert_eq!(t.server.stats().repairs.attributed_late, 2);
    Ok(())
}
