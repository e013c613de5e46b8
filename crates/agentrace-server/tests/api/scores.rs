//! `/scores`: scores written one or many at a time, each checked whole before any is stored;
//! read back by target, name, source and value, a page at a time; replaced under their id;
//! deleted.

use agentrace_core::{ScoreConfig, ScoreConfigs};
use serde_json::{Value, json};

use crate::support::{Api, TestResult};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

/// The names of a `GET /scores` answer's scores, in order.
async fn names(api: &Api, query: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let body = api.ok(&format!("/scores?{query}"), "ScorePage").await?;
    Ok(body["scores"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect())
}

#[tokio::test]
async fn scores_are_written_found_replaced_and_deleted() -> TestResult {
    let api = Api::start().await?;
    let one = json!({"trace_id": TRACE, "name": "helpfulness", "value": 0.75,
                     "time_unix_nano": 1_000});
    let (status, body) = api.post("/scores", &one).await?;
    assert_eq!(status, 201, "{body}");
    let first = body["ids"][0].as_str().ok_or("an id")?.to_owned();
    assert_eq!(first.len(), 32, "an id made for it");
    let many = json!({"scores": [
        {"id": "judge-1", "span_id": SPAN, "trace_id": TRACE, "name": "correct",
         "label": "yes", "source": "eval", "annotator_kind": "llm", "time_unix_nano": 2_000,
         "explanation": "matches the reference", "metadata": {"judge_trace_id": TRACE}},
        {"id": "thumbs-1", "session_id": "sess-1", "name": "thumbs", "value": false,
         "source": "annotation", "time_unix_nano": 3_000}
    ]});
    let (status, body) = api.post("/scores", &many).await?;
    assert_eq!(
        (status, &body["ids"]),
        (201, &json!(["judge-1", "thumbs-1"]))
    );

    assert_eq!(names(&api, "").await?, ["thumbs", "correct", "helpfulness"]);
    assert_eq!(
        names(&api, &format!("trace_id={TRACE}")).await?,
        ["correct", "helpfulness"]
    );
    assert_eq!(names(&api, &format!("span_id={SPAN}")).await?, ["correct"]);
    assert_eq!(names(&api, "session_id=sess-1").await?, ["thumbs"]);
    assert_eq!(names(&api, "source=eval").await?, ["correct"]);
    assert_eq!(names(&api, "min_value=0.5").await?, ["helpfulness"]);
    assert_eq!(names(&api, "max_value=0.5").await?, ["thumbs"]);
    // Two pages of two and one.
    let page = api.ok("/scores?limit=2", "ScorePage").await?;
    let cursor = page["next_cursor"].as_str().ok_or("a cursor")?;
    let rest = api
        .ok(&format!("/scores?limit=2&cursor={cursor}"), "ScorePage")
        .await?;
    assert_eq!(rest["scores"][0]["name"], "helpfulness");
    assert_eq!(rest["next_cursor"], Value::Null);

    let judged = api.ok("/scores?name=correct", "ScorePage").await?;
    let judged = &judged["scores"][0];
    assert_eq!(
        (
            &judged["data_type"],
            &judged["annotator_kind"],
            &judged["explanation"]
        ),
        (
            &json!("categorical"),
            &json!("llm"),
            &json!("matches the reference")
        )
    );
    assert_eq!(judged["metadata"]["judge_trace_id"], TRACE);
    let thumbs = api.ok("/scores?name=thumbs", "ScorePage").await?;
    assert_eq!(
        (&thumbs["scores"][0]["value"], &thumbs["scores"][0]["label"]),
        (&json!(0.0), &json!("false")),
        "a boolean: 0 and false"
    );

    // Written again under its id: replaced.
    let again = json!({"id": "thumbs-1", "session_id": "sess-1", "name": "thumbs",
                       "value": true, "time_unix_nano": 3_000});
    assert_eq!(api.post("/scores", &again).await?.0, 201);
    let thumbs = api.ok("/scores?name=thumbs", "ScorePage").await?;
    assert_eq!(thumbs["scores"].as_array().map(Vec::len), Some(1));
    assert_eq!(thumbs["scores"][0]["label"], "true");

    assert_eq!(api.delete("/scores/thumbs-1").await?.0, 204);
    assert_eq!(names(&api, "").await?, ["correct", "helpfulness"]);
    let (status, body) = api.delete("/scores/thumbs-1").await?;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")));
    assert_eq!(api.delete(&format!("/scores/{first}")).await?.0, 204);
    Ok(())
}

#[tokio::test]
async fn a_score_that_is_not_one_is_refused_and_nothing_of_its_request_is_stored() -> TestResult {
    let api = Api::start().await?;
    let good = json!({"trace_id": TRACE, "name": "ok", "value": 1});
    for (bad, says) in [
        (json!({"name": "q", "value": 1}), "needs a target"),
        (
            json!({"session_id": "s", "trace_id": TRACE, "name": "q", "value": 1}),
            "one thing",
        ),
        (
            json!({"trace_id": TRACE, "name": "q"}),
            "a value or a label",
        ),
        (
            json!({"trace_id": TRACE, "name": "q", "data_type": "boolean", "value": 0.5}),
            "boolean",
        ),
        (
            json!({"trace_id": "nope", "name": "q", "value": 1}),
            "trace_id",
        ),
        (
            json!({"trace_id": TRACE, "name": "q", "value": 1, "source": "robot"}),
            "unknown variant",
        ),
        (
            json!({"trace_id": TRACE, "name": "", "value": 1}),
            "needs a name",
        ),
    ] {
        let (status, body) = api
            .post("/scores", &json!({"scores": [good.clone(), bad.clone()]}))
            .await?;
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!("bad_request")),
            "{bad}"
        );
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("score 1") && message.contains(says),
            "{bad}: {message}"
        );
    }
    let (status, _) = api.post("/scores", &json!({"scores": []})).await?;
    assert_eq!(status, 400, "an empty request");
    assert!(names(&api, "").await?.is_empty(), "nothing stored");
    api.fails("/scores?min_value=inf", 400, "bad_parameter", "finite")
        .await?;
    api.fails("/scores?cursor=nonsense", 400, "bad_parameter", "cursor")
        .await?;
    api.fails("/scores?source=robot", 400, "bad_parameter", "source")
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_score_outside_its_configuration_is_refused_with_the_reason() -> TestResult {
    let configs = ScoreConfigs::new([
        ScoreConfig::numeric("helpfulness", Some(0.0), Some(1.0))?,
        ScoreConfig::categorical("verdict", ["correct", "wrong"])?,
    ])?;
    let api = Api::start_with(|state| {
        state
            .set_configured_score_configs(configs)
            .expect("the projects' settings are read");
    })
    .await?;
    for (bad, says) in [
        (
            json!({"trace_id": TRACE, "name": "helpfulness", "value": 1.5}),
            "helpfulness: 1.5 is outside its configured range [0, 1]",
        ),
        (
            json!({"trace_id": TRACE, "name": "helpfulness", "label": "good"}),
            "helpfulness is configured as a numeric score, not categorical",
        ),
        (
            json!({"trace_id": TRACE, "name": "verdict", "label": "maybe"}),
            "verdict: \"maybe\" is not one of its configured categories",
        ),
    ] {
        let (status, body) = api.post("/scores", &bad).await?;
        assert_eq!(status, 400, "{bad}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{bad}: {message}");
    }
    assert!(
        names(&api, "").await?.is_empty(),
        "none stored, nothing clamped"
    );
    for good in [
        json!({"trace_id": TRACE, "name": "helpfulness", "value": 1}),
        json!({"trace_id": TRACE, "name": "verdict", "label": "wrong"}),
        json!({"trace_id": TRACE, "name": "unconfigured", "value": 42}),
    ] {
        assert_eq!(api.post("/scores", &good).await?.0, 201, "{good}");
    }
    Ok(())
}

/// `/scores/stats` splits a score by what it judged (here the model of each run's LLM call),
/// and `/scores/names` lists what was given; both as documented.
#[tokio::test]
async fn statistics_split_a_score_by_the_model_it_judged() -> TestResult {
    let api = Api::start().await?;
    // Runs 0–3: even runs call one model, odd ones the other (support.rs).
    let scores: Vec<Value> = (0..4)
        .map(|i| {
            let llm = &api.runs[i].spans[0];
            json!({"trace_id": llm.trace_id.to_string(), "span_id": llm.span_id.to_string(),
                   "name": "correct", "value": if i % 2 == 0 { 1.0 } else { 0.0 },
                   "data_type": "boolean", "time_unix_nano": crate::support::T0 + i as u64})
        })
        .collect();
    let (status, body) = api.post("/scores", &json!({"scores": scores})).await?;
    assert_eq!(status, 201, "{body}");
    let models: Vec<&str> = (0..2).map(|i| api.runs[i].model).collect();
    let range = "from=2025-11-21T07:00:00Z&to=2025-11-21T10:00:00Z";
    let stats = api
        .ok(
            &format!("/scores/stats?name=correct&group_by=model&bucket=1h&{range}"),
            "ScoreStats",
        )
        .await?;
    let groups: Vec<(Value, Value, Value)> = stats["groups"]
        .as_array()
        .ok_or("groups")?
        .iter()
        .map(|g| (g["key"].clone(), g["count"].clone(), g["pass_rate"].clone()))
        .collect();
    let mut want = vec![
        (json!(models[0]), json!(2), json!(1.0)),
        (json!(models[1]), json!(2), json!(0.0)),
    ];
    want.sort_by_key(|(k, ..)| k.to_string());
    let mut got = groups;
    got.sort_by_key(|(k, ..)| k.to_string());
    assert_eq!(got, want, "{stats}");
    let names = api.ok(&format!("/scores/names?{range}"), "ScoreName").await;
    assert!(names.is_err(), "an answer is not one name");
    let (status, names) = api.get(&format!("/scores/names?{range}")).await?;
    assert_eq!(status, 200);
    assert_eq!(
        names["names"],
        json!([{"name": "correct", "kind": "boolean", "count": 4}])
    );
    let (status, body) = api.get("/scores/stats?group_by=model").await?;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("bad_parameter")),
        "no name"
    );
    let (status, _) = api
        .get("/scores/stats?name=correct&group_by=colour")
        .await?;
    assert_eq!(status, 400);
    Ok(())
}

#[tokio::test]
async fn the_trace_list_filters_and_orders_by_score() -> TestResult {
    let api = Api::start().await?;
    let mut traces: Vec<String> = api.all_traces().into_iter().collect();
    traces.sort();
    let [a, b, c] = [traces[0].as_str(), traces[1].as_str(), traces[2].as_str()];
    let scores = json!({"scores": [
        {"trace_id": a, "name": "quality", "value": 0.9},
        {"trace_id": b, "name": "quality", "value": 0.2},
        {"trace_id": b, "name": "quality", "value": 0.6},
        {"trace_id": c, "name": "quality", "value": 0.5},
        {"trace_id": c, "name": "other", "value": 0.0},
    ]});
    assert_eq!(api.post("/scores", &scores).await?.0, 201);
    let listed = |query: &'static str| {
        let api = &api;
        async move {
            let page = api.ok(&format!("/traces?{query}"), "TracePage").await?;
            Ok::<_, Box<dyn std::error::Error>>(
                page["traces"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["trace_id"].as_str().map(str::to_owned))
                    .collect::<Vec<_>>(),
            )
        }
    };
    // Means 0.9, 0.4 and 0.5, each listed with its trace.
    assert_eq!(listed("score=quality&sort=score").await?, [a, c, b]);
    let page = api
        .ok("/traces?score=quality&sort=score", "TracePage")
        .await?;
    let means: Vec<f64> = page["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["score_mean"].as_f64())
        .collect();
    assert_eq!(means.len(), 3, "{page}");
    for (got, want) in means.iter().zip([0.9, 0.5, 0.4]) {
        assert!((got - want).abs() < 1e-9, "{means:?}");
    }
    let unfiltered = api.ok("/traces", "TracePage").await?;
    assert!(
        unfiltered["traces"][0].get("score_mean").is_none(),
        "no mean without a score filter"
    );
    assert_eq!(
        listed("score=quality&sort=score&order=asc").await?,
        [b, c, a]
    );
    assert_eq!(
        listed("score=quality&score_min=0.55&sort=score").await?,
        [a, b],
        "a score of 0.55 or more: b's 0.6 (its mean is 0.4)"
    );
    assert_eq!(listed("score=quality&score_max=0.3").await?, [b]);
    assert_eq!(listed("score=other").await?, [c]);
    assert_eq!(listed("score=unheard").await?, Vec::<String>::new());

    api.fails("/traces?sort=score", 400, "bad_parameter", "sort")
        .await?;
    api.fails("/traces?score_min=0.5", 400, "bad_parameter", "score_min")
        .await?;
    api.fails(
        "/traces?score=quality&score_max=NaN",
        400,
        "bad_parameter",
        "score_max",
    )
    .await?;
    Ok(())
}

/// `group_by=attr:<key>` on a score's statistics: by an attribute of the judged span, within
/// the bound `/cost` keeps (a key of more values is refused with it).
#[tokio::test]
async fn statistics_split_a_score_by_an_attribute_within_a_bound() -> TestResult {
    let api = Api::start().await?;
    let judged = |n: u64, customer: &str| {
        let mut span = api.runs[0].spans[0].clone();
        span.trace_id = crate::support::trace_id(80_000 + n);
        span.span_id =
            agentrace_core::SpanId::from_bytes((0x7600_0000_0000_0000 | n).to_be_bytes());
        span.parent_span_id = None;
        span.attributes.insert("customer.id", customer);
        span
    };
    let score = |span: &agentrace_core::SpanRecord, value: f64| {
        json!({"trace_id": span.trace_id.to_string(), "span_id": span.span_id.to_string(),
               "name": "helpful", "value": value, "data_type": "numeric",
               "time_unix_nano": crate::support::T0})
    };
    let spans = [judged(1, "acme"), judged(2, "acme"), judged(3, "globex")];
    api.state.configured_store.write_spans(&spans)?;
    let scores: Vec<Value> = spans
        .iter()
        .zip([1.0, 0.5, 0.0])
        .map(|(s, v)| score(s, v))
        .collect();
    let (status, body) = api.post("/scores", &json!({"scores": scores})).await?;
    assert_eq!(status, 201, "{body}");
    let path = "/scores/stats?name=helpful&group_by=attr:customer.id&bucket=1h\
                &from=2025-11-21T07:00:00Z&to=2025-11-21T10:00:00Z";
    let stats = api.ok(path, "ScoreStats").await?;
    assert_eq!(stats["group_by"], "attr:customer.id");
    let groups: Vec<(Value, Value, Value)> = stats["groups"]
        .as_array()
        .ok_or("groups")?
        .iter()
        .map(|g| (g["key"].clone(), g["count"].clone(), g["mean"].clone()))
        .collect();
    assert_eq!(
        groups,
        vec![
            (json!("acme"), json!(2), json!(0.75)),
            (json!("globex"), json!(1), json!(0.0)),
        ],
        "{stats}"
    );
    api.fails(
        "/scores/stats?name=helpful&group_by=attr:customer%20id",
        400,
        "bad_parameter",
        "not an attribute key",
    )
    .await?;
    let many: Vec<_> = (0..1_001)
        .map(|n| judged(1_000 + n, &format!("c-{n}")))
        .collect();
    api.state.configured_store.write_spans(&many)?;
    // A request writes at most 1,000 scores.
    for chunk in many.chunks(500) {
        let scores: Vec<Value> = chunk.iter().map(|s| score(s, 1.0)).collect();
        let (status, body) = api.post("/scores", &json!({"scores": scores})).await?;
        assert_eq!(status, 201, "{body}");
    }
    api.fails(path, 400, "bad_parameter", "more than the 1000")
        .await?;
    Ok(())
}
