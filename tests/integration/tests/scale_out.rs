//! `agentrace serve` on ClickHouse (the real engine: chdb behind ClickHouse's HTTP interface,
//! `agentrace_clickhouse::testing`) as a team that outgrew one machine runs it.
//!
//! - ClickHouse hung (`SIGSTOP`) and then down (`SIGKILL`, started again over its data): the
//!   node refuses OTLP with the retryable status over HTTP (503) and gRPC (`UNAVAILABLE`),
//!   `/readyz` and `/status` say why, and it recovers by itself; every span it acknowledged is
//!   stored.
//! - Three nodes behind Debian's nginx (OTLP/HTTP and gRPC), children-first traces whose two
//!   requests land on different nodes, the leader killed with `SIGKILL` mid-load and never
//!   started again, its data directory removed (the spans it held awaiting their parent are
//!   in ClickHouse's journal, taken over by the next leader): every
//!   acknowledged span is stored and every call attributed to its agent, another node takes
//!   over within the lease, one notification per change of an alert's state and per budget
//!   threshold; how stale one node's view of the fleet's budget spend is, measured.
//! - Two nodes on one database: an evaluator rule given to one (`PUT /api/v1/evaluators`)
//!   scores what the other receives; removed on the other, it stops on both.
//!
//! Needs the `agentrace` binary, the chdb virtualenv and nginx (`scripts/install-test-deps.sh`);
//! under `CI=true` any missing fails.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use agentrace_clickhouse::testing::{ChdbServer, python};
use agentrace_core::{SpanId, TraceId};
use agentrace_integration::load::{
    FleetLoad, assert_attributed, export, export_grpc, llm_call, llm_calls, post_traces,
    trace_request,
};
use agentrace_integration::nginx::{self, Nginx, Upstream};
use agentrace_integration::process::{ServeProcess, serve_binary};
use agentrace_integration::{PATIENCE, eventually, webhook};
use prost::Message;
use serde_json::Value;

const SECRET: &str = "scale-out-secret";

/// Calls in each trace of the load, under its agent span.
const CALLS: u8 = 3;

/// POSTs an OTLP/HTTP protobuf body to `url`: the status (0 when nothing answered).
async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> u16 {
    let answer = client
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await;
    answer.map_or(0, |r| r.status().as_u16())
}

/// `GET path` on `node`, as JSON (`Null` when it is not).
async fn get_json(node: &ServeProcess, path: &str) -> (u16, Value) {
    let (code, body) = node.get(path).await;
    (code, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The spans of a stored trace (none when it is not found).
async fn stored_spans(node: &ServeProcess, trace: TraceId) -> Vec<Value> {
    let (_, tree) = get_json(node, &format!("/api/v1/traces/{trace}")).await;
    tree["nodes"]
        .as_array()
        .map(|nodes| nodes.iter().map(|n| n["span"].clone()).collect())
        .unwrap_or_default()
}

/// Sends `body` over HTTP and gRPC to a node whose store fails: both refused with the
/// retryable status, and `/readyz` 503. Returns `/readyz`'s reason.
async fn refused_retryably(node: &ServeProcess, client: &reqwest::Client, body: &[u8]) -> String {
    let http = post(client, &node.traces_url(), body.to_vec()).await;
    assert_eq!(http, 503, "HTTP: retry");
    let grpc = export_grpc(node.otlp_grpc, body, None).await;
    assert_eq!(grpc, tonic::Code::Unavailable, "gRPC: retry");
    let (code, ready) = get_json(node, "/readyz").await;
    assert_eq!(code, 503, "{ready}");
    ready["reason"].as_str().unwrap_or_default().to_owned()
}

/// Once the store is back, `body` sent again (as the exporter retries) is acknowledged, and
/// `/readyz` says ready again.
async fn recovers(node: &ServeProcess, client: &reqwest::Client, body: Vec<u8>) {
    let url = node.traces_url();
    eventually(
        "a retry is acknowledged once ClickHouse answers",
        || {
            let (url, body) = (&url, body.clone());
            async move { post(client, url, body).await == 200 }
        },
        || node.log_text(),
    )
    .await;
    eventually(
        "/readyz is 200 again",
        || async { node.get("/readyz").await.0 == 200 },
        || node.log_text(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_or_down_clickhouse_is_refused_retryably_shown_and_recovered_from() {
    let Some(bin) = serve_binary() else { return };
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let (data, node_dir) = (dir.path().join("clickhouse"), dir.path().join("node"));
    for d in [&data, &node_dir] {
        std::fs::create_dir_all(d).expect("a directory");
    }
    let chdb = ChdbServer::start(&python, &data);
    let port = chdb.port();
    let store = format!("clickhouse://127.0.0.1:{port}/outage?timeout=2s");
    let node = ServeProcess::start(&bin, &node_dir, &["--store", &store], None).await;
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();

    let (trace, body) = trace_request(0, 0, 5, 0);
    assert_eq!(
        post(&client, &node.traces_url(), body).await,
        200,
        "{}",
        node.log_text()
    );
    acknowledged.push(trace);

    // Hung: every call waits until the store's timeout, then the node refuses retryably.
    chdb.signal("STOP");
    let (trace, body) = trace_request(0, 1, 5, 0);
    let reason = refused_retryably(&node, &client, &body).await;
    assert!(
        reason.contains("ClickHouse did not answer within 2000 ms"),
        "{reason}"
    );
    let (_, status) = get_json(&node, "/api/v1/status").await;
    let writer = &status["writer"];
    assert!(writer["failing_since_unix_nano"].is_u64(), "{status}");
    assert!(writer["errors"].as_u64() >= Some(2), "{writer}");

    // Going on: the client's retry is stored, the node is ready again.
    chdb.signal("CONT");
    recovers(&node, &client, body).await;
    acknowledged.push(trace);

    // Down: refused at once; started again over its data, found again.
    chdb.signal("KILL");
    drop(chdb);
    let (trace, body) = trace_request(0, 2, 5, 0);
    refused_retryably(&node, &client, &body).await;
    let _chdb = ChdbServer::start_on(&python, &data, port);
    recovers(&node, &client, body).await;
    acknowledged.push(trace);
    let writer = &node.status().await["writer"];
    assert!(writer["failing_since_unix_nano"].is_null(), "{writer}");

    for trace in acknowledged {
        assert_eq!(stored_spans(&node, trace).await.len(), 5, "trace {trace}");
    }
    node.stop().await;
}

/// Whether the nodes agree on one leader among `alive` nodes: its index.
async fn one_leader(nodes: &[&ServeProcess], alive: u64) -> Option<usize> {
    let mut leaders = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let (code, status) = get_json(node, "/api/v1/status").await;
        let fleet = &status["fleet"];
        if code != 200 || fleet["nodes"].as_u64() != Some(alive) {
            return None;
        }
        if fleet["leader"] == true {
            leaders.push(i);
        }
    }
    match leaders[..] {
        [one] => Some(one),
        _ => None,
    }
}

/// The notifications of `alert`, as (previous, state) in arrival order.
fn changes(received: &webhook::Received, alert: &str) -> Vec<(String, String)> {
    received
        .all()
        .iter()
        .filter(|n| n["alert"] == alert)
        .map(|n| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (text(&n["previous"]), text(&n["state"]))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_behind_nginx_are_one_service_when_one_is_killed() {
    let Some(bin) = serve_binary() else { return };
    let Some(python) = python() else { return };
    let Some(nginx_bin) = nginx::binary() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("clickhouse");
    std::fs::create_dir_all(&data).expect("a directory");
    let chdb = ChdbServer::start(&python, &data);
    let (hook, received) = webhook::receiver(SECRET).await;
    let alerts = dir.path().join("alerts.toml");
    std::fs::write(
        &alerts,
        format!(
            "interval = \"1s\"\n\n[[channels]]\nname = \"hook\"\ntype = \"webhook\"\n\
             url = \"{hook}\"\nsecret = \"{SECRET}\"\n\n[[rules]]\nname = \"llm errors\"\n\
             measure = \"error_rate\"\nwindow = \"1m\"\nper = \"model\"\nmin_requests = 3\n\
             critical = 0.5\n"
        ),
    )
    .expect("the alerts file");
    let budgets = dir.path().join("budgets.toml");
    std::fs::write(
        &budgets,
        "[[budget]]\nname = \"per session\"\nscope = \"session\"\nperiod = \"day\"\n\
         limit_usd = 100.0\n\n[[budget]]\nname = \"biller\"\nscope = \"agent\"\n\
         only = \"biller\"\nperiod = \"day\"\nlimit_usd = 0.01\nthresholds = [50]\n",
    )
    .expect("the budgets file");
    let store = format!("clickhouse://127.0.0.1:{}/fleet", chdb.port());
    let args = [
        "--store",
        &store,
        "--alerts",
        alerts.to_str().expect("UTF-8"),
        "--budgets",
        budgets.to_str().expect("UTF-8"),
    ];
    let mut nodes = Vec::new();
    for i in 0..3 {
        let node_dir = dir.path().join(format!("node-{i}"));
        std::fs::create_dir_all(&node_dir).expect("a directory");
        nodes.push(ServeProcess::start(&bin, &node_dir, &args, None).await);
    }
    let logs = |nodes: &[ServeProcess]| {
        nodes
            .iter()
            .map(ServeProcess::log_text)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let nginx_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx_dir).expect("a directory");
    let upstream: Vec<Upstream> = nodes
        .iter()
        .map(|n| Upstream {
            otlp_http: n.otlp_http,
            otlp_grpc: n.otlp_grpc,
            app: n.app,
        })
        .collect();
    let balancer = Nginx::start(&nginx_bin, &nginx_dir, &upstream);
    let started = Instant::now();
    let leader = loop {
        if let Some(leader) = one_leader(&nodes.iter().collect::<Vec<_>>(), 3).await {
            break leader;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the three nodes agree on a leader; {}",
            logs(&nodes)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Load: children-first traces over HTTP and gRPC through nginx.
    let load = FleetLoad::start(4, (balancer.http_port, balancer.grpc_port), None, CALLS);
    let traces_url = format!("http://127.0.0.1:{}/v1/traces", balancer.http_port);
    let client = reqwest::Client::new();
    let alert = "llm errors{model=gpt-4o}";

    // Three of four calls fail: the leader fires the alert.
    assert_eq!(post(&client, &traces_url, llm_calls(1, 4, 3)).await, 200);
    eventually(
        "the webhook hears the alert",
        || async { !changes(&received, alert).is_empty() },
        || logs(&nodes),
    )
    .await;

    // The balancer spreads the load: every node takes a part of it.
    eventually(
        "every node receives spans through nginx",
        || async {
            for node in &nodes {
                let (_, status) = get_json(node, "/api/v1/status").await;
                if status["spans"]["accepted"].as_u64().unwrap_or(0) == 0 {
                    return false;
                }
            }
            true
        },
        || balancer.log_text(),
    )
    .await;

    // The leader dies mid-load; another takes over.
    let mut killed = nodes.remove(leader);
    killed.child.start_kill().expect("SIGKILL");
    let _ = killed.child.wait().await;
    let killed_at = Instant::now();
    let survivors: Vec<&ServeProcess> = nodes.iter().collect();
    eventually(
        "a surviving node takes over",
        || async { one_leader(&survivors, 2).await.is_some() },
        || logs(&nodes),
    )
    .await;
    let takeover = killed_at.elapsed();

    // Ninety-six good calls: 3 of 100 fail; the new leader sends the recovery.
    assert_eq!(post(&client, &traces_url, llm_calls(100, 96, 0)).await, 200);
    eventually(
        "the webhook hears the recovery",
        || async { changes(&received, alert).len() >= 2 },
        || logs(&nodes),
    )
    .await;

    // Budgets: a call on one node, seen by the other.
    let mut staleness = Vec::new();
    for k in 0..5u8 {
        let session = format!("stale-{k}");
        let trace = TraceId::from_bytes([0xd0, k, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let call = llm_call(
            (trace, SpanId::from_bytes([0xd1, k, 0, 0, 0, 0, 0, 1])),
            None,
            "gpt-4o",
            (Some("biller"), Some(&session)),
            false,
        );
        let (on, seen_by) = (
            nodes[usize::from(k % 2)].traces_url(),
            &nodes[1 - usize::from(k % 2)],
        );
        let sent = Instant::now();
        assert_eq!(
            post(&client, &on, export(vec![call]).encode_to_vec()).await,
            200
        );
        eventually(
            "the other node's budget sees the call",
            || async {
                let (_, budgets) = get_json(seen_by, "/api/v1/budgets").await;
                budgets["budgets"].as_array().is_some_and(|b| {
                    b.iter().any(|account| {
                        account["budget"] == "per session"
                            && account["scope"] == session.as_str()
                            && account["spent"].as_f64() > Some(0.0)
                    })
                })
            },
            || logs(&nodes),
        )
        .await;
        staleness.push(sent.elapsed());
    }

    let (acknowledged, retries) = load.stop().await;
    // A few more evaluations: nothing is notified twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let alert_changes = changes(&received, alert);
    let pairs: Vec<(&str, &str)> = alert_changes
        .iter()
        .map(|(p, s)| (p.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("OK", "ALERT"), ("ALERT", "OK")],
        "{:#?}",
        received.all()
    );
    let mut per_change: BTreeMap<String, usize> = BTreeMap::new();
    for n in received.all() {
        if n["rule"].as_str().is_some_and(|r| r.starts_with("budget:")) {
            *per_change
                .entry(format!("{} {} {}", n["alert"], n["state"], n["threshold"]))
                .or_default() += 1;
        }
    }
    assert!(!per_change.is_empty(), "the biller's budget notified");
    assert!(per_change.values().all(|n| *n == 1), "{per_change:#?}");

    // The killed node never comes back, its data directory gone with it (a pod replaced on
    // an empty disk): what it held awaiting a parent is in ClickHouse's journal, taken over
    // by the new leader.
    std::fs::remove_dir_all(&killed.data_dir).expect("the killed node's directory removed");

    // Every acknowledged span stored, every call attributed to its agent.
    assert!(acknowledged.len() >= 20, "{} traces", acknowledged.len());
    assert_attributed(
        &acknowledged,
        CALLS,
        |trace| stored_spans(&nodes[0], trace),
        || logs(&nodes),
    )
    .await;

    // Every node held the calls that reached it before their agent, and holds none now: each
    // found its agents, wherever they arrived; none was written unheld.
    for node in &nodes {
        let (_, status) = get_json(node, "/api/v1/status").await;
        let held = &status["store"]["held"];
        assert_eq!(
            (
                held["spans"].as_u64(),
                held["over_ceiling"].as_u64(),
                held["journal_failures"].as_u64()
            ),
            (Some(0), Some(0), Some(0)),
            "{status}"
        );
        let (_, metrics) = node.get("/metrics").await;
        assert!(
            metrics
                .lines()
                .any(|l| l == "agentrace_server_held_spans 0"),
            "{metrics}"
        );
    }

    // What the new leader took over of the killed node's held spans (its log says).
    let taken_over: u64 = nodes
        .iter()
        .flat_map(|n| {
            n.log_text()
                .lines()
                .filter(|l| l.contains("took over the spans held by nodes gone"))
                .filter_map(|l| {
                    l.split("spans=")
                        .nth(1)?
                        .split_whitespace()
                        .next()?
                        .parse()
                        .ok()
                })
                .collect::<Vec<u64>>()
        })
        .sum();
    staleness.sort();
    println!(
        "fleet: {} traces acknowledged ({} retries), leader taken over after {} ms ({taken_over} \
         held spans of the killed node taken over), budget spend seen by the other node after \
         {} ms (median) / {} ms (max)",
        acknowledged.len(),
        retries,
        takeover.as_millis(),
        staleness[staleness.len() / 2].as_millis(),
        staleness[staleness.len() - 1].as_millis(),
    );
    drop(balancer);
    for node in nodes {
        node.stop().await;
    }
}

/// Sends `method` `path` with the JSON `body` to `node`'s API: the status.
async fn send_json(node: &ServeProcess, method: reqwest::Method, path: &str, body: &str) -> u16 {
    reqwest::Client::new()
        .request(method, format!("http://127.0.0.1:{}{path}", node.app))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

/// Whether `node` runs the rule `name` given through the API.
async fn runs_rule(node: &ServeProcess, name: &str) -> bool {
    let (_, answer) = get_json(node, "/api/v1/evaluators").await;
    answer["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["name"] == name && r["origin"] == "api")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluator_rule_given_to_one_node_runs_on_every_node() {
    let Some(bin) = serve_binary() else { return };
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("clickhouse");
    std::fs::create_dir_all(&data).expect("a directory");
    let chdb = ChdbServer::start(&python, &data);
    let store = format!("clickhouse://127.0.0.1:{}/rules", chdb.port());
    let mut nodes = Vec::new();
    for i in 0..2 {
        let node_dir = dir.path().join(format!("node-{i}"));
        std::fs::create_dir_all(&node_dir).expect("a directory");
        nodes.push(ServeProcess::start(&bin, &node_dir, &["--store", &store], None).await);
    }
    let (a, b) = (&nodes[0], &nodes[1]);
    let logs = || format!("{}\n----\n{}", a.log_text(), b.log_text());

    // Given to node A: a check every call of a minute or less passes.
    let rule = r#"{"filter": {"kind": "llm"}, "check": {"type": "latency", "max": "60s"}}"#;
    assert_eq!(
        send_json(a, reqwest::Method::PUT, "/api/v1/evaluators/quick", rule).await,
        201,
        "{}",
        logs()
    );
    eventually(
        "node B runs the rule given to node A",
        || runs_rule(b, "quick"),
        logs,
    )
    .await;
    // What node B receives is scored by it.
    post_traces(&b.traces_url(), llm_calls(1, 3, 0)).await;
    eventually(
        "node B scores the calls it received by the rule given to node A",
        || async {
            let (_, scores) = get_json(a, "/api/v1/scores?name=quick").await;
            scores["scores"].as_array().map_or(0, Vec::len) == 3
        },
        logs,
    )
    .await;
    let (_, b_status) = get_json(b, "/api/v1/status").await;
    let rules = b_status["evaluators"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        rules
            .iter()
            .any(|r| r["name"] == "quick" && r["scored"] == 3),
        "node B gave the scores: {rules:?}"
    );

    // Removed on node B: it stops on node A too.
    assert_eq!(
        send_json(b, reqwest::Method::DELETE, "/api/v1/evaluators/quick", "").await,
        204
    );
    eventually(
        "node A stops the rule removed on node B",
        || async { !runs_rule(a, "quick").await },
        logs,
    )
    .await;
    for node in nodes {
        node.stop().await;
    }
}
