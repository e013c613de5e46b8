//! Isolation, generated from the OpenAPI document: every documented operation, called with an
//! `admin` key of an empty project `a`, returns nothing of `default` (which holds the
//! fixtures) and changes nothing of it. A record of `default` named in a path answers 404
//! (its existence is not confirmed); a list holds none of its records; a write lands in `a` or
//! is refused. Every operation of the document must have its rule in [`rule`]: an endpoint
//! added without one fails this test.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Api, TestResult};

/// What an operation called with `a`'s key must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// 200, and nothing of `default` in the answer.
    Nothing,
    /// 404: it names a record of `default`.
    NotFound,
    /// Refused (403): organization-level, and `a`'s key is a project's.
    Refused,
    /// Stored in `a` (201), nothing of `default` changed.
    StoredInA,
    /// `a`'s replaced (200), nothing of `default` changed.
    ReplacedInA,
    /// `a`'s deleted (204: written by the walk's `PUT` before), nothing of `default` changed.
    DeletedInA,

    /// Not a project's data: why.
    NoProjectData(&'static str),
}

/// The rule of each documented operation; `None`: none yet (the test fails).
fn rule(method: &str, template: &str) -> Option<Rule> {
    use Rule::{DeletedInA, NoProjectData, NotFound, Nothing, Refused, ReplacedInA, StoredInA};
    let path = template.trim_start_matches("/api/v1");
    Some(match (method, path) {
        (_, p) if p.starts_with("/auth/") => NoProjectData("the login: open, it holds no data"),
        ("get", "/openapi.json") => NoProjectData("the document, the same for everyone"),
        ("get", "/live") => NoProjectData(
            "a WebSocket (426 here); tests/api/live.rs: another project's commits never arrive",
        ),
        (
            "get",
            "/traces" | "/search" | "/sessions" | "/users" | "/events" | "/cost" | "/tools" | "/overview"
            | "/metrics" | "/budgets" | "/alerts" | "/slos" | "/report" | "/guardrails" | "/scores"
            | "/scores/names" | "/scores/stats" | "/evaluators" | "/evaluations/runs" | "/projects"
            // The project's store and forwarder; the server's counters are the organization's.
            | "/status"
            // A metric's series: empty, for any name, in a project without it.
            | "/metrics/{name}"
            // `a`'s settings: none, where `default` has its retention.
            | "/settings" | "/settings/{kind}",
        ) => Nothing,
        (
            "get",
            "/traces/{trace_id}"
            | "/traces/{trace_id}/spans/{span_id}"
            | "/traces/{trace_id}/graph"
            | "/sessions/{session_id}"
            | "/slos/{name}"
            | "/evaluators/{name}"
            | "/evaluations/runs/{id}"
            | "/projects/{name}/keys",
        ) => NotFound,
        ("delete", "/scores/{id}" | "/evaluators/{name}" | "/projects/{name}/keys/{id}") => {
            NotFound
        }
        ("put", "/evaluators/{name}") => NotFound,
        ("post", "/evaluations/runs" | "/projects/{name}/keys") => NotFound,
        ("post", "/scores") => StoredInA,
        ("put", "/settings/{kind}") => ReplacedInA,
        ("delete", "/settings/{kind}") => DeletedInA,
        ("post", "/budgets/check") => Nothing,
        ("post", "/projects" | "/keys") | ("get", "/keys") => Refused,
        ("patch" | "delete", "/projects/{name}") | ("delete", "/keys/{id}") => Refused,
        // The organization's admins': people and the audit log.
        (_, p) if p.starts_with("/people") => Refused,
        ("get", "/audit") => Refused,
        // A person's own: a key has no sessions kept, nor a password.
        ("get", "/me/sessions") => Nothing,
        ("delete", "/me/sessions/{id}") | ("post", "/me/password") => Refused,
        _ => return None,
    })
}

#[tokio::test]
async fn a_projects_key_reaches_nothing_of_another_project_on_any_route() -> TestResult {
    let api = Api::start().await?;
    walk(&api, &api).await
}

/// The same walk on a second node over the same store: `a`'s project and key, made on the
/// first node, are found by the second, and reach nothing of `default` there either.
#[tokio::test]
async fn across_two_nodes_a_projects_key_reaches_nothing_of_another_project() -> TestResult {
    let api = Api::start().await?;
    let node = api.another_node().await?;
    // The second node has read the projects before `a` exists.
    let (status, _) = node
        .call(Method::GET, "/projects", None, None, None)
        .await?;
    assert_eq!(status, 200);
    walk(&api, &node).await
}

/// Makes `default`'s own records and project `a` with its admin key through `api`, then walks
/// every documented operation on `node` with `a`'s key.
async fn walk(api: &Api, node: &Api) -> TestResult {
    // `default`'s own: a score and an evaluation run (the fixtures hold the rest).
    let (status, _) = api
        .post(
            "/scores",
            &json!({"id": "default-score", "trace_id": api.runs[3].trace_id.to_string(),
                    "name": "isolation", "value": 1.0}),
        )
        .await?;
    assert_eq!(status, 201);
    let (status, started) = api
        .post(
            "/evaluations/runs",
            &json!({"evaluator": "answer_is_json", "from": "-1h"}),
        )
        .await?;
    assert_eq!(status, 202, "{started}");
    let run = started["id"].to_string();
    let (status, set) = api
        .put(
            "/settings/retention",
            &json!({"spans": {"max_age": "4242d"}}),
        )
        .await?;
    assert_eq!(status, 200, "{set}");
    api.create_project("a").await?;
    let (status, key) = api
        .call(
            Method::POST,
            "/projects/a/keys",
            None,
            None,
            Some(&json!({"scope": "admin", "name": "a's admin"})),
        )
        .await?;
    assert_eq!(status, 201);
    let a = key["secret"].as_str().ok_or("a secret")?.to_owned();
    let before = every_answer_of_default(api).await?;

    // What of `default` must never show: its traces, spans, sessions, users, its score, its
    // rule, its SLO, its metric.
    let mut marks: Vec<String> = api
        .runs
        .iter()
        .flat_map(|r| [r.trace_id.to_string(), r.spans[0].span_id.to_string()])
        .collect();
    marks.extend(api.samples.iter().map(|s| s[0].trace_id.to_string()));
    marks.extend(
        [
            "default-score",
            "answer_is_json",
            "tools work",
            "invoke_agent",
            "4242d",
        ]
        .map(String::from),
    );
    marks.extend(["\"s-3\"", "\"u-1\""].map(String::from));

    let doc = api.doc().clone();
    let names = |template: &str| {
        template
            .replace("{trace_id}", &api.runs[3].trace_id.to_string())
            .replace("{span_id}", &api.runs[3].spans[0].span_id.to_string())
            .replace("{session_id}", &api.runs[3].session)
            .replace("/metrics/{name}", "/metrics/gen_ai.client.token.usage")
            .replace("/slos/{name}", "/slos/tools%20work")
            .replace("/evaluators/{name}", "/evaluators/answer_is_json")
            .replace(
                "/evaluations/runs/{id}",
                &format!("/evaluations/runs/{run}"),
            )
            .replace("/scores/{id}", "/scores/default-score")
            .replace("/projects/{name}", "/projects/default")
            .replace("/keys/{id}", "/keys/1")
            .replace("/settings/{kind}", "/settings/retention")
    };
    let mut unruled = Vec::new();
    // Writes first, then reads, deletes last, whatever order the document's objects keep:
    // what `a` writes is read, then deleted.
    let mut operations = Vec::new();
    for (template, item) in doc["paths"].as_object().ok_or("paths")? {
        for (method, op) in item.as_object().ok_or("an item")? {
            operations.push((template, method, op));
        }
    }
    operations.sort_by_key(|(template, method, _)| {
        let order = match method.as_str() {
            "post" | "put" | "patch" => 0,
            "delete" => 2,
            _ => 1,
        };
        (order, (*template).clone(), (*method).clone())
    });
    for (template, method, op) in operations {
        let Some(rule) = rule(method, template) else {
            unruled.push(format!("{method} {template}"));
            continue;
        };
        if let Rule::NoProjectData(_) = rule {
            continue;
        }
        let path = names(template.trim_start_matches("/api/v1"));
        let query = crate::support::example_query(&doc, op)?;
        let url = if query.is_empty() || method != "get" {
            path.clone()
        } else {
            format!("{path}?{}", query.join("&"))
        };
        let body = &op["requestBody"]["content"]["application/json"]["example"];
        let body = (!body.is_null()).then_some(body);
        let (status, answer) = node
            .call(method.to_uppercase().parse()?, &url, Some(&a), None, body)
            .await?;
        let what = format!("{method} {url} with a's key: {status} {answer}");
        match rule {
            Rule::Nothing => {
                assert_eq!(status, 200, "{what}");
                let text = answer.to_string();
                if let Some(mark) = marks.iter().find(|m| text.contains(m.as_str())) {
                    panic!("{what}: holds {mark:?} of default");
                }
            }
            Rule::NotFound => assert_eq!(status, 404, "{what}"),
            Rule::Refused => assert_eq!(status, 403, "{what}"),
            Rule::StoredInA => assert_eq!(status, 201, "{what}"),
            Rule::ReplacedInA => assert_eq!(status, 200, "{what}"),
            Rule::DeletedInA => assert_eq!(status, 204, "{what}"),
            Rule::NoProjectData(_) => {}
        }
    }
    assert!(
        unruled.is_empty(),
        "operations without an isolation rule: {unruled:?}"
    );
    assert_eq!(
        every_answer_of_default(api).await?,
        before,
        "default changed while a's key walked the API"
    );
    Ok(())
}

/// What `default` answers to its reads (through the organization's credential): the same
/// before and after another project's key walked every route.
async fn every_answer_of_default(api: &Api) -> Result<Vec<Value>, crate::support::Error> {
    let mut answers = Vec::new();
    for path in [
        "/traces?limit=200",
        "/scores?limit=100",
        "/evaluators",
        "/projects",
        "/projects/default/keys",
        "/keys",
        "/sessions",
        "/settings",
    ] {
        let (status, mut body) = api.call(Method::GET, path, None, None, None).await?;
        assert_eq!(status, 200, "{path}: {body}");
        // Keys' last use moves as they are used; what they are does not.
        for key in body["keys"].as_array_mut().into_iter().flatten() {
            key["last_used_unix_nano"] = Value::Null;
        }
        answers.push(body);
    }
    Ok(answers)
}
