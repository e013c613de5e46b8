//! Online evaluations end to end: an evaluators file of code checks and an LLM judge (the
//! fake OpenAI-compatible server), spans received over OTLP, scores stored with their reason,
//! the judge's calls traced as its own and priced, its malformed answers and refusals recorded
//! as evaluation errors, a 429 tried again, its budget kept, its own spans never judged, and a
//! re-run of a rule on past data. Rules given through the API: checked, run at once, kept
//! over a restart, taken from the store when another node wrote them, removed.

use std::time::Duration;

use agentrace_fake_openai::{FakeOpenAi, Reply, Usage};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Value, json};

use crate::common::*;

/// An LLM span answering `output`, with its prompt.
fn answering(trace: u64, span: u64, output: &str) -> Span {
    let mut s = llm_span(trace, span, now() - 2_000_000_000);
    s.attributes.push(text(
        "gen_ai.input.messages",
        &json!([{"role": "user", "parts": [{"type": "text", "content": "Capital of France? Answer in JSON."}]}]).to_string(),
    ));
    s.attributes.push(text(
        "gen_ai.output.messages",
        &json!([{"role": "assistant", "parts": [{"type": "text", "content": output}]}]).to_string(),
    ));
    s
}

fn evaluators_file(
    dir: &std::path::Path,
    fake: &FakeOpenAi,
    budget: f64,
) -> Result<std::path::PathBuf> {
    let path = dir.join("evaluators.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[judge]]
name = "mini"
endpoint = "{}"
model = "gpt-4o-mini"
daily_budget_usd = {budget}

[[evaluator]]
name = "answer_is_json"
filter = {{ kind = "llm" }}
check = {{ type = "json_valid" }}

[[evaluator]]
name = "helpfulness"
filter = {{ kind = "llm", service = "svc" }}
check = {{ type = "llm_judge", judge = "mini", prompt = "Question: {{{{input}}}}\nAnswer: {{{{output}}}}\nHow helpful is the answer?" }}
"#,
            fake.base_url()
        ),
    )?;
    Ok(path)
}

async fn api(t: &TestServer, path: &str) -> Result<Value> {
    let answer = get(&t.app_url(&format!("/api/v1{path}")), &[]).await?;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    answer.json()
}

async fn scores(t: &TestServer, query: &str) -> Result<Vec<Value>> {
    Ok(api(t, &format!("/scores?{query}")).await?["scores"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// Waits until the rule `rule` has settled `n` evaluations (scored, not applicable or failed).
async fn settled(t: &TestServer, rule: &str, n: u64) -> Result<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = api(t, "/status").await?;
        let rules = status["evaluators"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if let Some(r) = rules.iter().find(|r| r["name"] == rule) {
            let done = ["scored", "not_applicable", "errors"]
                .iter()
                .map(|k| r[*k].as_u64().unwrap_or(0))
                .sum::<u64>();
            if done >= n {
                return Ok(r.clone());
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{rule}: {n} evaluations: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_score_spans_and_the_judge_is_traced_priced_and_guarded() -> Result {
    let fake = FakeOpenAi::start().await?;
    let dir = tempfile::tempdir()?;
    let file = evaluators_file(dir.path(), &fake, 5.0)?;
    let t = TestServer::start(|c| c.evaluators = Some(file)).await?;

    // A good verdict.
    fake.script([Reply::text(
        r#"{"score": 0.9, "label": "helpful", "explanation": "answers the question"}"#,
        Usage::new(150, 25),
    )]);
    t.export(&traces(vec![answering(1, 1, r#"{"capital": "Paris"}"#)]))
        .await?;
    settled(&t, "helpfulness", 1).await?;
    settled(&t, "answer_is_json", 1).await?;
    let of_span = scores(&t, &format!("span_id={}", hex(&span_id(1)))).await?;
    let json_check = of_span
        .iter()
        .find(|s| s["name"] == "answer_is_json")
        .ok_or("the check's score")?;
    assert_eq!(
        (
            &json_check["value"],
            &json_check["data_type"],
            &json_check["explanation"]
        ),
        (&json!(1.0), &json!("boolean"), &json!("valid JSON"))
    );
    assert_eq!(
        (&json_check["source"], &json_check["annotator_kind"]),
        (&json!("eval"), &json!("code"))
    );
    let judged = of_span
        .iter()
        .find(|s| s["name"] == "helpfulness")
        .ok_or("the judge's score")?;
    assert_eq!(
        (
            &judged["value"],
            &judged["label"],
            &judged["annotator_kind"]
        ),
        (&json!(0.9), &json!("helpful"), &json!("llm"))
    );
    assert_eq!(judged["explanation"], "answers the question");

    // The judge's call: a trace of its own, priced, the judge's agent; never judged itself.
    let judge_trace = judged["metadata"]["judge_trace_id"]
        .as_str()
        .ok_or("a judge trace")?;
    let tree = api(&t, &format!("/traces/{judge_trace}")).await?;
    let nodes = tree["nodes"].as_array().ok_or("nodes")?;
    assert_eq!(nodes.len(), 2, "{tree}");
    let call = &nodes
        .iter()
        .find(|n| n["span"]["kind"] == "llm")
        .ok_or("the judge's call")?["span"];
    assert_eq!(
        (&call["resource"]["service_name"], &call["agent_name"]),
        (&json!("agentrace-judge"), &json!("judge:mini")),
        "{call}"
    );
    assert!(
        call["cost"]["total"].as_f64().is_some_and(|c| c > 0.0),
        "priced: {call}"
    );
    assert_eq!(
        scores(&t, &format!("trace_id={judge_trace}")).await?.len(),
        0,
        "the judge is not judged"
    );
    let sent = fake.requests();
    let prompt = sent[0].body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(
        prompt.contains("Capital of France?") && prompt.contains("Paris"),
        "{prompt}"
    );

    // A malformed answer: an evaluation error on the span, no score.
    fake.script([Reply::text("Quite helpful I'd say", Usage::new(150, 6))]);
    t.export(&traces(vec![answering(2, 2, "not json at all")]))
        .await?;
    let rule = settled(&t, "helpfulness", 2).await?;
    assert_eq!(rule["errors"], 1, "{rule}");
    assert!(
        rule["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("malformed")),
        "{rule}"
    );
    settled(&t, "answer_is_json", 2).await?;
    let of_two = scores(&t, &format!("span_id={}", hex(&span_id(2)))).await?;
    assert_eq!(of_two.len(), 1, "only the check's: {of_two:?}");
    assert_eq!(of_two[0]["value"], 0.0);
    let events = api(
        &t,
        &format!(
            "/events?type=gen_ai.evaluation.result&span={}",
            hex(&span_id(2))
        ),
    )
    .await?;
    let recorded = &events["events"][0];
    assert_eq!(
        recorded["attributes"]["error.type"], "malformed_answer",
        "{events}"
    );
    assert_eq!(
        recorded["attributes"]["gen_ai.evaluation.name"],
        "helpfulness"
    );

    // A 429, then a verdict: tried again.
    fake.script([
        Reply::rate_limited(),
        Reply::text(
            r#"{"score": 0.4, "explanation": "partly"}"#,
            Usage::new(150, 10),
        ),
    ]);
    t.export(&traces(vec![answering(3, 3, "{}")])).await?;
    let rule = settled(&t, "helpfulness", 3).await?;
    assert_eq!(
        (&rule["scored"], &rule["retries"]),
        (&json!(2), &json!(1)),
        "{rule}"
    );

    let status = api(&t, "/status").await?;
    let online = &status["evaluators"];
    assert_eq!(online["judge_calls"], 4, "{online}");
    assert_eq!(online["judge_call_errors"], 1, "{online}");
    assert!(
        online["judge_spend"].as_f64().is_some_and(|s| s > 0.0),
        "{online}"
    );
    let metrics = get(&t.app_url("/metrics"), &[]).await?.text();
    for line in [
        "agentrace_server_evaluations_total{evaluator=\"helpfulness\",outcome=\"scored\"} 2",
        "agentrace_server_evaluations_total{evaluator=\"helpfulness\",outcome=\"error\"} 1",
        "agentrace_server_evaluations_passed_total{evaluator=\"answer_is_json\"} 2",
        "agentrace_server_evaluation_retries_total{evaluator=\"helpfulness\"} 1",
        "agentrace_server_judge_calls_total{outcome=\"failed\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    let listed = api(&t, "/evaluators").await?;
    assert_eq!(
        listed["rules"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    assert_eq!(listed["budgets"][0]["budget"], "judge mini", "{listed}");

    // A re-run of the check on the last hour: every LLM span of the app again (the judge's
    // are not its targets), the same scores replaced.
    let started = post(
        &t.app_url("/api/v1/evaluations/runs"),
        JSON,
        &[],
        serde_json::to_vec(&json!({"evaluator": "answer_is_json", "from": "-1h"}))?,
    )
    .await?;
    assert_eq!(started.status, 202, "{}", started.text());
    let id = started.json()?["id"].as_u64().ok_or("a run id")?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let run = loop {
        let run = api(&t, &format!("/evaluations/runs/{id}")).await?;
        if run["state"] == "done" {
            break run;
        }
        assert!(std::time::Instant::now() < deadline, "{run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (&run["queued"], &run["scored"], &run["failed"]),
        (&json!(3), &json!(3), &json!(0)),
        "{run}"
    );
    assert_eq!(
        scores(&t, "name=answer_is_json").await?.len(),
        3,
        "replaced, not added"
    );
    fake.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_judge_budget_stops_the_call() -> Result {
    let fake = FakeOpenAi::start().await?;
    let dir = tempfile::tempdir()?;
    let file = evaluators_file(dir.path(), &fake, 0.000_001)?;
    let t = TestServer::start(|c| c.evaluators = Some(file)).await?;
    t.export(&traces(vec![answering(1, 1, "{}")])).await?;
    let rule = settled(&t, "helpfulness", 1).await?;
    assert_eq!(rule["errors"], 1, "{rule}");
    assert!(
        rule["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("budget")),
        "{rule}"
    );
    assert_eq!(fake.request_count(), 0, "no call made");
    let events = api(&t, "/events?type=gen_ai.evaluation.result").await?;
    assert_eq!(
        events["events"][0]["attributes"]["error.type"],
        "judge_budget_exceeded"
    );
    fake.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_bad_evaluators_file_stops_the_start_with_the_reason() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("evaluators.toml");
    std::fs::write(
        &path,
        "[[evaluator]]\nname = \"x\"\ncheck = { type = \"llm_judge\", judge = \"nobody\", prompt = \"{{output}}\" }\n",
    )?;
    let failed = TestServer::start(|c| c.evaluators = Some(path.clone())).await;
    let why = failed.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(why.contains("no judge is named \"nobody\""), "{why}");
    std::fs::write(
        &path,
        "[[judge]]\nname = \"j\"\nendpoint = \"http://127.0.0.1:9\"\nmodel = \"model-with-no-price\"\ndaily_budget_usd = 1.0\n",
    )?;
    let failed = TestServer::start(|c| c.evaluators = Some(path)).await;
    let why = failed.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(why.contains("has no price"), "{why}");
    Ok(())
}

/// `method` `path` (under `/api/v1`) with a JSON `body`: status and JSON answer (`Null` when
/// empty).
async fn call(
    t: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Result<(u16, Value)> {
    let answer = send(
        method,
        &t.app_url(&format!("/api/v1{path}")),
        &[("content-type", "application/json")],
        body.to_string().into_bytes(),
    )
    .await?;
    let json = if answer.body.is_empty() {
        Value::Null
    } else {
        answer.json()?
    };
    Ok((answer.status, json))
}

/// The names and origins of the rules `GET /evaluators` lists.
async fn rules_listed(t: &TestServer) -> Result<Vec<(String, String)>> {
    Ok(api(t, "/evaluators").await?["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_owned(),
                r["origin"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

/// Whether `GET /evaluators` answers what `holds` wants within 15 s.
async fn evaluators_within(t: &TestServer, holds: impl Fn(&Value) -> bool) -> Result<bool> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if holds(&api(t, "/evaluators").await?) {
            return Ok(true);
        }
        if std::time::Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether the rule `name`, given through the API, is listed (`want`) or not within 15 s.
async fn listed_within(t: &TestServer, name: &str, want: bool) -> Result<bool> {
    evaluators_within(t, |answer| {
        let listed = answer["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["name"] == name && r["origin"] == "api");
        listed == want
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_given_through_the_api_run_at_once_outlive_a_restart_and_follow_the_store() -> Result
{
    let fake = FakeOpenAi::start().await?;
    let dir = tempfile::tempdir()?;
    let file = evaluators_file(dir.path(), &fake, 5.0)?;
    let with_file = |c: &mut agentrace_server::ServerConfig| c.evaluators = Some(file.clone());
    let t = TestServer::start(with_file).await?;
    use reqwest::Method;

    // Refused, with the reason: a rule of the file, a judge not there, a check that does not
    // compile, a name that is not the path's, not a rule at all.
    for (path, body, status, says) in [
        (
            "/evaluators/answer_is_json",
            json!({"check": {"type": "json_valid"}}),
            409,
            "evaluators file",
        ),
        (
            "/evaluators/judged",
            json!({"check": {"type": "llm_judge", "judge": "nobody", "prompt": "{{output}}"}}),
            400,
            "no judge is named \"nobody\"",
        ),
        (
            "/evaluators/pattern",
            json!({"check": {"type": "regex", "pattern": "(unclosed"}}),
            400,
            "pattern",
        ),
        (
            "/evaluators/short",
            json!({"name": "long", "check": {"type": "json_valid"}}),
            400,
            "names the rule",
        ),
        (
            "/evaluators/short",
            json!({"check": {"type": "no_such_check"}}),
            400,
            "not a rule",
        ),
        (
            "/evaluators/short",
            json!({"sample": 2.0, "check": {"type": "json_valid"}}),
            400,
            "sample",
        ),
        (
            "/evaluators/short",
            json!({"filter": {"query": "kind:llm cost:>cheap"}, "check": {"type": "json_valid"}}),
            400,
            "filter.query: kind:llm cost:>cheap\n              ^^^^^^\n`cost` compares numbers",
        ),
    ] {
        let (got, answer) = call(&t, Method::PUT, path, body).await?;
        assert_eq!(got, status, "{path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{path}: {message}");
    }
    assert_eq!(rules_listed(&t).await?.len(), 2, "nothing refused was kept");

    // Created, then replaced: at most 10 characters of output.
    let short =
        |max: u64| json!({"filter": {"kind": "llm"}, "check": {"type": "length", "max": max}});
    let (status, created) = call(&t, Method::PUT, "/evaluators/short", short(100)).await?;
    assert_eq!(
        (status, &created["origin"]),
        (201, &json!("api")),
        "{created}"
    );
    let (status, replaced) = call(&t, Method::PUT, "/evaluators/short", short(10)).await?;
    assert_eq!(
        (status, &replaced["check"]["max"]),
        (200, &json!(10)),
        "{replaced}"
    );
    assert_eq!(
        rules_listed(&t).await?,
        [
            ("answer_is_json", "file"),
            ("helpfulness", "file"),
            ("short", "api")
        ]
        .map(|(n, o)| (n.to_owned(), o.to_owned()))
    );
    // It runs at once: a 21-character answer fails it.
    fake.script([Reply::text(r#"{"score": 1}"#, Usage::new(10, 5))]);
    t.export(&traces(vec![answering(1, 1, r#"{"capital": "Paris"}"#)]))
        .await?;
    let rule = settled(&t, "short", 1).await?;
    assert_eq!(
        (&rule["scored"], &rule["origin"]),
        (&json!(1), &json!("api")),
        "{rule}"
    );
    let given = scores(&t, "name=short").await?;
    assert_eq!(given.len(), 1);
    assert_eq!(given[0]["value"], 0.0, "{}", given[0]);

    // Over a restart: loaded from the store before the first span.
    let t = t.restart(with_file).await?;
    assert!(
        rules_listed(&t)
            .await?
            .contains(&("short".into(), "api".into()))
    );
    fake.script([Reply::text(r#"{"score": 1}"#, Usage::new(10, 5))]);
    t.export(&traces(vec![answering(2, 2, "{}")])).await?;
    settled(&t, "short", 1).await?;
    assert_eq!(scores(&t, "name=short").await?.len(), 2);

    // Written by another node (another handle on the store): taken within the sync interval;
    // removed there: stopped here.
    let elsewhere = t.fresh_store()?;
    let rule = agentrace_store::StoredRule::new(
        "from_elsewhere",
        json!({"name": "from_elsewhere", "check": {"type": "json_valid"}}).to_string(),
        now(),
    );
    agentrace_store::EvaluatorRules::put_evaluator_rule(&elsewhere, &rule)?;
    assert!(
        listed_within(&t, "from_elsewhere", true).await?,
        "a rule stored by another node runs here"
    );
    assert!(agentrace_store::EvaluatorRules::delete_evaluator_rule(
        &elsewhere,
        "from_elsewhere"
    )?);
    // One this node cannot run (its judge is not here): kept out, and said why.
    let orphan = agentrace_store::StoredRule::new(
        "orphan",
        json!({"name": "orphan", "check": {"type": "llm_judge", "judge": "elsewhere", "prompt": "{{output}}"}})
            .to_string(),
        now(),
    );
    agentrace_store::EvaluatorRules::put_evaluator_rule(&elsewhere, &orphan)?;
    assert!(
        evaluators_within(&t, |answer| {
            answer["stats"]["not_loaded"][0]["name"] == "orphan"
                && answer["stats"]["not_loaded"][0]["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("no judge is named \"elsewhere\""))
        })
        .await?,
        "a rule this node cannot run is shown with why"
    );
    assert!(
        !rules_listed(&t)
            .await?
            .iter()
            .any(|(name, _)| name == "orphan"),
        "and not run"
    );
    assert!(
        listed_within(&t, "from_elsewhere", false).await?,
        "a rule removed by another node stops here"
    );

    // Removed: 204, then 404; the file's cannot be.
    assert_eq!(
        call(&t, Method::DELETE, "/evaluators/short", Value::Null)
            .await?
            .0,
        204
    );
    assert_eq!(
        call(&t, Method::DELETE, "/evaluators/short", Value::Null)
            .await?
            .0,
        404
    );
    assert_eq!(
        call(&t, Method::GET, "/evaluators/short", Value::Null)
            .await?
            .0,
        404
    );
    assert_eq!(
        call(
            &t,
            Method::DELETE,
            "/evaluators/answer_is_json",
            Value::Null
        )
        .await?
        .0,
        409
    );
    fake.script([Reply::text(r#"{"score": 1}"#, Usage::new(10, 5))]);
    t.export(&traces(vec![answering(3, 3, "{}")])).await?;
    settled(&t, "answer_is_json", 2).await?;
    assert_eq!(
        scores(&t, "name=short").await?.len(),
        2,
        "no score of a removed rule"
    );
    fake.shutdown().await;
    Ok(())
}

/// A project's `evaluators` setting runs online evaluations of its own: its rules judge its
/// spans only (another project's answers are never read), its judge's calls and its scores are
/// stored in it, its `scores` setting is what its scores must fit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projects_evaluators_judge_its_spans_only() -> Result {
    let fake = FakeOpenAi::start().await?;
    let t = TestServer::start(|_| {}).await?;
    let app = t.app_url("");
    create_project(&app, "alpha").await?;
    let evaluators = json!({
        "judge": [{"name": "mini", "endpoint": fake.base_url(), "model": "gpt-4o-mini"}],
        "evaluator": [
            {"name": "answer_is_json", "filter": {"kind": "llm"}, "check": {"type": "json_valid"}},
            {"name": "helpfulness", "filter": {"kind": "llm"},
             "check": {"type": "llm_judge", "judge": "mini", "prompt": "Answer: {{output}}\nHow helpful?"}}
        ]
    });
    let (status, body) = api_in(
        &app,
        reqwest::Method::PUT,
        "/settings/scores",
        "alpha",
        Some(&json!({"score": [{"name": "helpfulness", "kind": "numeric", "min": 0, "max": 1}]})),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api_in(
        &app,
        reqwest::Method::PUT,
        "/settings/evaluators",
        "alpha",
        Some(&evaluators),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    // Without a setting, another project runs none: its rules cannot be given either.
    let (status, body) = api_in(&app, reqwest::Method::GET, "/evaluators", "default", None).await?;
    assert_eq!((status, &body["rules"]), (200, &json!([])), "{body}");

    fake.script([Reply::text(
        r#"{"score": 0.7, "label": "fine", "explanation": "it answers"}"#,
        Usage::new(100, 20),
    )]);
    for (project, n) in [("default", 1), ("alpha", 2)] {
        let answer = post(
            &t.http_url("/v1/traces"),
            PROTOBUF,
            &[("x-agentrace-project", project)],
            protobuf(&traces(vec![answering(n, n, "not json")])),
        )
        .await?;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let scores_of = |project: &'static str| {
        let app = &app;
        async move {
            let (status, body) =
                api_in(app, reqwest::Method::GET, "/scores?from=-1h", project, None).await?;
            assert_eq!(status, 200, "{body}");
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                body["scores"].as_array().cloned().unwrap_or_default(),
            )
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut alpha = scores_of("alpha").await?;
    while alpha.len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        alpha = scores_of("alpha").await?;
    }
    let named = |name: &str| alpha.iter().find(|s| s["name"] == name).cloned();
    let checked = named("answer_is_json").ok_or("alpha's json check")?;
    assert_eq!(
        (&checked["value"], &checked["span_id"]),
        (&json!(0.0), &json!(hex(&span_id(2)))),
        "{checked}"
    );
    let Some(judged) = named("helpfulness") else {
        let (_, figures) = api_in(&app, reqwest::Method::GET, "/evaluators", "alpha", None).await?;
        return Err(format!(
            "no judge score of alpha's; its evaluators: {figures}; scores {alpha:?}"
        )
        .into());
    };
    assert_eq!(judged["value"], 0.7, "{judged}");
    // The judge's call is a trace of alpha's.
    let judge_trace = judged["metadata"]["judge_trace_id"]
        .as_str()
        .ok_or("a judge trace")?;
    let (status, _) = api_in(
        &app,
        reqwest::Method::GET,
        &format!("/traces/{judge_trace}"),
        "alpha",
        None,
    )
    .await?;
    assert_eq!(status, 200);
    let (status, _) = api_in(
        &app,
        reqwest::Method::GET,
        &format!("/traces/{judge_trace}"),
        "default",
        None,
    )
    .await?;
    assert_eq!(status, 404, "the judge's trace is alpha's only");
    assert_eq!(
        fake.requests().len(),
        1,
        "the judge read default's answer too"
    );
    assert_eq!(
        scores_of("default").await?,
        Vec::<Value>::new(),
        "default judged by alpha's rules"
    );
    Ok(())
}
