//! `/traces`, `/traces/{id}`, `/sessions`, `/sessions/{id}`, `/events`.

use std::collections::HashSet;

use agentrace_core::Level;
use serde_json::Value;

use crate::support::{Api, EVENTS, MIN, SEC, T0, TRACES, TestResult, all_pages};

fn ids(page: &Value, list: &str) -> Vec<String> {
    page[list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["trace_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_trace_list_pages_newest_first_without_duplicates_or_gaps() -> TestResult {
    let api = Api::start().await?;
    let first = api.ok("/traces", "TracePage").await?;
    assert_eq!(
        first["traces"].as_array().map(Vec::len),
        Some(50),
        "default page"
    );
    let all = all_pages(&api, "/traces?limit=17", "TracePage", "traces").await?;
    let listed: Vec<String> = all
        .iter()
        .filter_map(|t| t["trace_id"].as_str().map(str::to_owned))
        .collect();
    let unique: HashSet<String> = listed.iter().cloned().collect();
    assert_eq!(listed.len(), unique.len(), "no duplicates");
    assert_eq!(unique, api.all_traces(), "no gaps");
    let starts: Vec<u64> = all
        .iter()
        .filter_map(|t| t["start_unix_nano"].as_u64())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(
        listed[0],
        api.runs[TRACES as usize - 1].trace_id.to_string()
    );
    // A trace's numbers.
    let last = &all[0];
    let run = &api.runs[TRACES as usize - 1];
    assert_eq!(last["span_count"], 3);
    assert_eq!(last["root_name"], format!("invoke_agent {}", run.agent));
    assert_eq!(last["session_id"], run.session.as_str());
    assert_eq!(last["usage"]["input_tokens"], 1_000 + run.i);
    Ok(())
}

#[tokio::test]
async fn the_trace_list_filters_on_every_field() -> TestResult {
    let api = Api::start().await?;
    let runs = |keep: &dyn Fn(&crate::support::Run) -> bool| -> HashSet<String> {
        api.runs
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.trace_id.to_string())
            .collect()
    };
    let samples: HashSet<String> = api
        .samples
        .iter()
        .map(|s| s[0].trace_id.to_string())
        .collect();
    let t = |n: u64| (T0 + n).to_string();
    let cases: Vec<(String, HashSet<String>)> = vec![
        ("service=agents".into(), runs(&|_| true)),
        ("service=conformance-service".into(), samples.clone()),
        ("agent=coder".into(), runs(&|r| r.agent == "coder")),
        (
            "model=claude-sonnet-4".into(),
            runs(&|r| r.model == "claude-sonnet-4"),
        ),
        ("session=s-3".into(), runs(&|r| r.session == "s-3")),
        ("user=u-2".into(), runs(&|r| r.user == "u-2")),
        (
            "user=u-2&agent=planner".into(),
            runs(&|r| r.user == "u-2" && r.agent == "planner"),
        ),
        (
            "status=error".into(),
            runs(&|r| r.failed).union(&samples).cloned().collect(),
        ),
        ("status=ok&service=agents".into(), runs(&|r| !r.failed)),
        ("kind=embedding".into(), samples.clone()),
        ("name=calculator".into(), runs(&|r| r.tool == "calculator")),
        (
            "name=CHAT%20GPT".into(),
            runs(&|r| r.model == "gpt-4o")
                .union(&samples)
                .cloned()
                .collect(),
        ),
        // Durations: runs last 3 s; sample traces 10 ms.
        ("min_duration=2s".into(), runs(&|_| true)),
        ("min_duration=1h".into(), HashSet::new()),
        (
            format!("from={}&to={}", t(10 * MIN), t(10 * MIN + 70 * SEC)),
            runs(&|r| r.i < 10),
        ),
        // RFC 3339 with an offset: 09:10+01:00 is 08:10Z, the first run.
        (
            "from=2025-11-21T09:10:00%2B01:00&to=2025-11-21T08:10:01Z".into(),
            runs(&|r| r.i == 0),
        ),
        ("to=2025-11-21T08:05:00Z".into(), samples.clone()),
    ];
    for (query, want) in cases {
        let got: HashSet<String> = all_pages(
            &api,
            &format!("/traces?limit=1000&{query}"),
            "TracePage",
            "traces",
        )
        .await?
        .iter()
        .filter_map(|t| t["trace_id"].as_str().map(str::to_owned))
        .collect();
        assert_eq!(got, want, "{query}");
    }
    Ok(())
}

#[tokio::test]
async fn bad_trace_list_parameters_are_named() -> TestResult {
    let api = Api::start().await?;
    for (query, code, mention) in [
        ("limit=0", "bad_parameter", "limit"),
        ("limit=1001", "bad_parameter", "limit"),
        ("limit=ten", "bad_parameter", "limit"),
        ("kind=robot", "bad_parameter", "kind"),
        ("status=fine", "bad_parameter", "status"),
        ("from=yesterday", "bad_parameter", "from"),
        ("from=-1h&to=-2h", "bad_parameter", "to"),
        ("min_duration=5", "bad_parameter", "min_duration"),
        ("cursor=nonsense", "bad_parameter", "cursor"),
        ("model=", "bad_parameter", "model"),
        ("agent=a&agent=b", "bad_parameter", "agent"),
        ("modle=gpt-4o", "unknown_parameter", "modle"),
        // A NUL would end the text in SQLite, and the filter with it.
        ("name=%00", "bad_parameter", "name"),
        ("session=s%0A1", "bad_parameter", "session"),
    ] {
        api.fails(&format!("/traces?{query}"), 400, code, mention)
            .await?;
    }
    // An unknown parameter lists the ones the endpoint takes.
    api.fails("/traces?x=1", 400, "unknown_parameter", "`min_duration`")
        .await?;
    // A cursor of another kind of page.
    let events = api.ok("/events?limit=1", "EventPage").await?;
    let cursor = events["next_cursor"].as_str().ok_or("no cursor")?;
    api.fails(
        &format!("/traces?cursor={cursor}"),
        400,
        "bad_parameter",
        "cursor",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_trace_is_a_tree_with_timings_and_orphans() -> TestResult {
    let api = Api::start().await?;
    // A generated run: root, then its two children by start.
    let run = &api.runs[7];
    let tree = api
        .ok(&format!("/traces/{}", run.trace_id), "TraceTree")
        .await?;
    let nodes = tree["nodes"].as_array().ok_or("nodes")?;
    assert_eq!(nodes.len(), 3);
    assert_eq!(tree["roots"], serde_json::json!([0]));
    assert_eq!(nodes[0]["span"]["kind"], "agent");
    assert_eq!(nodes[0]["children"], serde_json::json!([1, 2]));
    assert_eq!(nodes[1]["span"]["kind"], "llm");
    assert_eq!(nodes[1]["parent"], 0);
    assert_eq!(nodes[1]["depth"], 1);
    assert_eq!(nodes[1]["offset_ns"], SEC / 10);
    assert_eq!(nodes[1]["duration_ns"], (200 + run.i) * 1_000_000);
    assert_eq!(nodes[1]["span"]["usage"]["input_tokens"], 1_000 + run.i);
    assert_eq!(nodes[1]["span"]["cost"]["total"], (7_000.0 + 500.0) / 1e9);
    assert_eq!(nodes[2]["span"]["tool_name"], run.tool);
    assert_eq!(tree["summary"]["trace_id"], run.trace_id.to_string());

    // The fixture trace: every kind, unpriced call, a failed tool, and an orphan.
    let sample = &api.samples[0];
    let tree = api
        .ok(&format!("/traces/{}", sample[0].trace_id), "TraceTree")
        .await?;
    let nodes = tree["nodes"].as_array().ok_or("nodes")?;
    assert_eq!(nodes.len(), sample.len());
    assert_eq!(
        tree["roots"].as_array().map(Vec::len),
        Some(2),
        "the root and the orphan"
    );
    let orphans: Vec<_> = nodes.iter().filter(|n| n["orphan"] == true).collect();
    assert_eq!(orphans.len(), 1);
    assert_eq!(orphans[0]["span"]["name"], "late child");
    assert_eq!(orphans[0]["depth"], 0);
    let failed: Vec<_> = nodes
        .iter()
        .filter(|n| n["span"]["status"]["code"] == "error")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["span"]["status"]["message"], "timeout after 30s");
    assert!(nodes.iter().any(
        |n| n["span"]["request_model"] == "my-private-model" && n["span"].get("cost").is_none()
    ));
    // The private model, and the fixture's LLM and embedding steps: billable, no price.
    assert_eq!(tree["summary"]["unpriced_count"], 3);

    let unknown = crate::support::trace_id(5_000).to_string();
    api.fails(&format!("/traces/{unknown}"), 404, "not_found", &unknown)
        .await?;
    api.fails("/traces/xyz", 400, "bad_parameter", "trace_id")
        .await?;
    api.fails(
        &format!("/traces/{}?depth=2", run.trace_id),
        400,
        "unknown_parameter",
        "depth",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn sessions_list_and_one_session_with_its_traces() -> TestResult {
    let api = Api::start().await?;
    let list = api.ok("/sessions", "Sessions").await?;
    let sessions = list["sessions"].as_array().ok_or("sessions")?;
    assert_eq!(sessions.len(), 11, "s-0 … s-9 and the fixtures' session-1");
    // Most recently active first: the last run's session.
    assert_eq!(sessions[0]["session_id"], "s-9");
    let s3: Vec<_> = api.runs.iter().filter(|r| r.session == "s-3").collect();
    let row = sessions
        .iter()
        .find(|s| s["session_id"] == "s-3")
        .ok_or("s-3")?;
    assert_eq!(row["traces"], s3.len());
    assert_eq!(row["spans"], 3 * s3.len());
    assert_eq!(row["errors"], s3.iter().filter(|r| r.failed).count());
    assert_eq!(
        api.ok("/sessions?limit=2", "Sessions").await?["sessions"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let late = format!("/sessions?from={}", T0 + 10 * MIN + 115 * 7 * SEC);
    assert_eq!(
        api.ok(&late, "Sessions").await?["sessions"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );

    let one = api.ok("/sessions/s-3?limit=5", "SessionPage").await?;
    assert_eq!(one["session"], *row);
    let first_page = ids(&one, "traces");
    assert_eq!(first_page.len(), 5);
    let all = all_pages(&api, "/sessions/s-3?limit=5", "SessionPage", "traces").await?;
    let want: Vec<String> = s3.iter().rev().map(|r| r.trace_id.to_string()).collect();
    let got: Vec<String> = all
        .iter()
        .filter_map(|t| t["trace_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(got, want);
    // With a filter: every run of s-5 failed a tool call, none of s-3.
    assert!(
        ids(
            &api.ok("/sessions/s-3?status=error", "SessionPage").await?,
            "traces"
        )
        .is_empty()
    );
    let s5: Vec<String> = api
        .runs
        .iter()
        .rev()
        .filter(|r| r.session == "s-5")
        .map(|r| r.trace_id.to_string())
        .collect();
    assert_eq!(
        ids(
            &api.ok("/sessions/s-5?status=error&limit=100", "SessionPage")
                .await?,
            "traces"
        ),
        s5
    );
    api.fails("/sessions/nobody", 404, "not_found", "session")
        .await?;
    api.fails(
        "/sessions/s-3?session=s-4",
        400,
        "unknown_parameter",
        "session",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn events_are_searched_by_level_type_session_trace_and_text() -> TestResult {
    let api = Api::start().await?;
    let all = all_pages(&api, "/events?limit=37", "EventPage", "events").await?;
    assert_eq!(all.len(), api.events.len());
    let times: Vec<u64> = all
        .iter()
        .filter_map(|e| e["time_unix_nano"].as_u64())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let asc = all_pages(&api, "/events?limit=50&order=asc", "EventPage", "events").await?;
    assert_eq!(asc.iter().rev().cloned().collect::<Vec<_>>(), all);

    let count = |keep: &dyn Fn(&agentrace_core::Event) -> bool| {
        api.events.iter().filter(|e| keep(e)).count()
    };
    let cases: Vec<(&str, usize)> = vec![
        ("level=warning", count(&|e| e.level >= Level::Warning)),
        ("level=ERROR", count(&|e| e.level >= Level::Error)),
        ("type=tool.call", count(&|e| e.kind.as_str() == "tool.call")),
        (
            "session=s-4",
            count(&|e| e.session_id.as_deref() == Some("s-4")),
        ),
        (
            "text=TIMEOUT",
            count(&|e| e.message.to_lowercase().contains("timeout")),
        ),
        (
            "agent=agent-1&level=info",
            count(&|e| e.agent_id.as_deref() == Some("agent-1") && e.level >= Level::Info),
        ),
        ("service=agents", EVENTS as usize),
    ];
    for (query, want) in cases {
        let got = all_pages(
            &api,
            &format!("/events?limit=1000&{query}"),
            "EventPage",
            "events",
        )
        .await?;
        assert!(want > 0, "{query}: the case selects something");
        assert_eq!(got.len(), want, "{query}");
    }
    let trace = crate::support::trace_id(1_000);
    let of_trace = api
        .ok(&format!("/events?trace={trace}"), "EventPage")
        .await?;
    let want = count(&|e| e.trace_id == Some(trace));
    assert_eq!(of_trace["events"].as_array().map(Vec::len), Some(want));
    let range = format!(
        "/events?limit=1000&from={}&to={}",
        T0 + 10 * MIN,
        T0 + 10 * MIN + 30 * SEC
    );
    assert_eq!(
        api.ok(&range, "EventPage").await?["events"]
            .as_array()
            .map(Vec::len),
        Some(10)
    );
    api.fails("/events?level=loud", 400, "bad_parameter", "level")
        .await?;
    api.fails("/events?trace=123", 400, "bad_parameter", "trace")
        .await?;
    api.fails("/events?order=up", 400, "bad_parameter", "order")
        .await?;
    api.fails("/events?kind=log", 400, "unknown_parameter", "kind")
        .await?;
    Ok(())
}

#[tokio::test]
async fn search_answers_matching_spans_newest_first_with_snippets() -> TestResult {
    let api = Api::start().await?;
    // Every fifth run's tool call timed out ("timeout after 3Ns").
    let failed: Vec<&crate::support::Run> = api.runs.iter().filter(|r| r.failed).collect();
    let hits = all_pages(
        &api,
        "/search?q=timeout%20kind:tool%20service:agents&limit=7",
        "SearchPage",
        "hits",
    )
    .await?;
    let traces: Vec<String> = hits
        .iter()
        .filter_map(|h| h["trace_id"].as_str().map(str::to_owned))
        .collect();
    let mut expected: Vec<String> = failed.iter().map(|r| r.trace_id.to_string()).collect();
    expected.reverse();
    assert_eq!(traces, expected, "the failed tool calls, newest first");
    let snippet = &hits[0]["snippets"][0];
    assert_eq!(snippet["field"], "status");
    assert!(
        snippet["parts"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["match"] == true && p["text"] == "timeout"),
        "{snippet}"
    );
    // The same query lists their traces.
    let page = api
        .ok(
            "/traces?q=timeout%20kind:tool&service=agents&limit=1000",
            "TracePage",
        )
        .await?;
    assert_eq!(ids(&page, "traces"), expected);
    // Combined with a trace filter.
    let page = api
        .ok(
            "/traces?q=timeout&agent=coder&service=agents&limit=1000",
            "TracePage",
        )
        .await?;
    let coder: Vec<String> = failed
        .iter()
        .rev()
        .filter(|r| r.agent == "coder")
        .map(|r| r.trace_id.to_string())
        .collect();
    assert_eq!(ids(&page, "traces"), coder);
    // A query that cannot be read: the error points at the token.
    let (status, body) = api.get("/search?q=kind:lm%20timeout").await?;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("kind:lm timeout\n     ^^"), "{message:?}");
    api.fails(
        "/search?q=score.helpfulness:<0.5",
        400,
        "bad_parameter",
        "score",
    )
    .await?;
    api.fails("/traces?q=timeout&sort=cost", 400, "bad_parameter", "sort")
        .await?;
    Ok(())
}
