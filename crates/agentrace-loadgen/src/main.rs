//! # agentrace-loadgen
//!
//! Load for `agentrace serve`, from a process of its own: OTLP/HTTP protobuf batches of
//! realistic agent traces (an agent span, three LLM spans with usage, two tool spans) sent by
//! concurrent clients as fast as the server acknowledges them. It reports:
//!
//! - sustained spans/s acknowledged (a 2xx means committed to the store);
//! - visibility: from sending a request to the first trace it completes answering
//!   `GET /api/v1/traces/{id}` (children first: the previous batch's first, whose agent span it
//!   carries; p50, p99), sampled every `--visibility-every` requests;
//! - the server's resident memory (current and peak) and CPU time per span when given
//!   `--server-pid` (several: `--server-pid A,B`, their sum);
//! - the latency of the dashboard's main API calls afterwards (overview, cost by model, the
//!   trace list, sessions, tools; p50, p99 over `--queries` runs);
//! - the write-ahead log: its peak (the server's), its file's largest size (sampled every
//!   second), restarts and writes refused at its ceiling; the database's bytes per span;
//! - the LLM calls `/cost?group_by=agent` attributes to an agent, and those without one (an
//!   error: every call's agent span was sent).
//!
//! `--duration SECONDS` sends for that long instead of `--spans` spans (the sustained run).
//!
//! `--project NAME` sends into that project, as an application with the project's ingest key
//! would: it creates the project and an ingest key (with `--token`, the organization's admin;
//! a `409` for a project that exists already is fine), sends with the key, and reads the API as
//! the organization with the `x-agentrace-project` header. `--projects N` spreads the requests
//! over N projects named `NAME-1` … `NAME-N` (request `k` to project `k mod N`), each with its
//! key; the API is read in the first. It reports how long creating them took.
//!
//! `--then-delete` deletes the load's (first) project at the end, through the API, and reports
//! how long the `DELETE` took: its data gone from the store and its keys revoked.
//!
//! `--endpoint A,B` spreads the requests over several nodes sharing one store: request `k` goes
//! to endpoint `k mod n`, so a children-first trace's two requests reach different nodes.
//!
//! `--order children-first` sends each batch's calls with the previous batch's agent spans (the
//! roots): every trace over two requests, its agent span in the later one, as the OTel SDKs'
//! batch processors export agent runs (the calls end first). The store attributes the calls
//! when their agent arrives.
//!
//! `--shape long-runs --turns N --history whole|delta` sends long agent runs with their content
//! captured instead (`long_runs`: an agent span, then N model calls each carrying the
//! conversation so far, or only its new messages, and N tool calls with their arguments and
//! results; `--traces-per-request` then counts runs, one by default). It reports the content
//! bytes a span carried, the bytes a span took on the wire, and after the load the latency of
//! searches: one run's shipment id, the same among tool calls, a word of every run, and the
//! traces of one run's id.
//!
//! A 429/503 answer is honoured (its `Retry-After`) and the same batch sent again; it is counted
//! as throttled. `cargo xtask bench ingest` builds the server and this in release, starts both
//! and records the figures.
//!
//! ```text
//! agentrace-loadgen --endpoint http://127.0.0.1:4318[,URL…] --api http://127.0.0.1:4319 \
//!     --spans 1000000 --concurrency 4 --traces-per-request 50 [--order children-first] \
//!     [--duration SECONDS] [--server-pid PID[,PID…]] [--token T] [--project NAME [--projects N]]
//!     [--then-delete]
//! ```

mod long_runs;
mod traces;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Mutex;

use crate::long_runs::{History, LongRuns};
use crate::traces::{Body, Requests, SPANS_PER_TRACE, Shapes};

/// Gives up on a trace that does not become visible within this (counted, not an error).
const VISIBILITY_PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
struct Args {
    /// The nodes' OTLP/HTTP endpoints.
    endpoints: Vec<String>,
    api: String,
    spans: u64,
    traces_per_request: usize,
    concurrency: usize,
    server_pids: Vec<u32>,
    queries: usize,
    token: Option<String>,
    visibility_every: u64,
    order: Order,
    /// Send for this long instead of `spans` spans.
    duration: Option<Duration>,
    /// Send into this project (or, with `projects` > 1, into `project-1` … `project-N`).
    project: Option<String>,
    projects: usize,
    /// Delete the (first) project at the end, timed.
    then_delete: bool,
    /// What is sent.
    shape: Shape,
}

/// What the load is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Short agent traces without content (`traces`).
    Agents,
    /// Long runs of `turns` turns with content, the history whole or as deltas (`long_runs`).
    LongRuns { turns: usize, history: History },
}

impl Shape {
    /// Spans in one trace (a run).
    fn spans_per_trace(self) -> usize {
        match self {
            Self::Agents => SPANS_PER_TRACE,
            Self::LongRuns { turns, .. } => LongRuns::spans_per_run(turns),
        }
    }
}

/// One client's requests, of the load's shape.
enum Generator {
    Agents(Requests),
    LongRuns(LongRuns),
}

impl Generator {
    fn next(&mut self, end_ns: u64, first: u64, traces: usize) -> Body {
        match self {
            Self::Agents(r) => r.next(end_ns, first, traces),
            Self::LongRuns(r) => r.next(end_ns, first, traces),
        }
    }

    fn finish(&mut self) -> Option<Body> {
        match self {
            Self::Agents(r) => r.finish(),
            Self::LongRuns(_) => None,
        }
    }
}

/// The order a trace's spans arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Each trace whole in one request.
    Whole,
    /// Each trace's spans over two requests, the agent span (the parent) in the second, as
    /// the OTel SDKs' batch processors export agent runs.
    ChildrenFirst,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        endpoints: vec!["http://127.0.0.1:4318".into()],
        api: "http://127.0.0.1:4319".into(),
        spans: 1_000_000,
        traces_per_request: 50,
        concurrency: 4,
        server_pids: Vec::new(),
        queries: 30,
        token: None,
        visibility_every: 20,
        order: Order::Whole,
        duration: None,
        project: None,
        projects: 1,
        then_delete: false,
        shape: Shape::Agents,
    };
    let mut traces_per_request_given = false;
    let (mut long_runs, mut turns, mut history) = (false, 30usize, History::Whole);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--endpoint" => {
                args.endpoints = value()?.split(',').map(str::to_owned).collect();
            }
            "--api" => args.api = value()?,
            "--spans" => args.spans = number(value()?)?,
            "--traces-per-request" => {
                args.traces_per_request = number(value()?)?.max(1) as usize;
                traces_per_request_given = true;
            }
            "--shape" => {
                long_runs = match value()?.as_str() {
                    "agents" => false,
                    "long-runs" => true,
                    other => {
                        return Err(format!("--shape: {other:?} is not `agents` or `long-runs`"));
                    }
                };
            }
            "--turns" => turns = number(value()?)?.clamp(1, 500) as usize,
            "--history" => {
                history = match value()?.as_str() {
                    "whole" => History::Whole,
                    "delta" => History::Delta,
                    other => return Err(format!("--history: {other:?} is not `whole` or `delta`")),
                };
            }
            "--concurrency" => args.concurrency = number(value()?)?.max(1) as usize,
            "--server-pid" => {
                args.server_pids = value()?
                    .split(',')
                    .map(|pid| pid.parse::<u32>().map_err(|e| format!("{flag}: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--queries" => args.queries = number(value()?)?.max(1) as usize,
            "--token" => args.token = Some(value()?),
            "--project" => args.project = Some(value()?),
            "--projects" => args.projects = number(value()?)?.max(1) as usize,
            "--then-delete" => args.then_delete = true,
            "--visibility-every" => args.visibility_every = number(value()?)?.max(1),
            "--duration" => args.duration = Some(Duration::from_secs(number(value()?)?.max(1))),
            "--order" => {
                args.order = match value()?.as_str() {
                    "whole" => Order::Whole,
                    "children-first" => Order::ChildrenFirst,
                    other => {
                        return Err(format!(
                            "--order: {other:?} is not `whole` or `children-first`"
                        ));
                    }
                };
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if long_runs {
        args.shape = Shape::LongRuns { turns, history };
        if !traces_per_request_given {
            args.traces_per_request = 1;
        }
        if args.order == Order::ChildrenFirst {
            return Err("--shape long-runs: send each run whole".into());
        }
    }
    if args.then_delete && args.project.is_none() {
        return Err("--then-delete: name the project to delete with --project".into());
    }
    if args.projects > 1 && args.order == Order::ChildrenFirst {
        return Err(
            "--projects: children first would split each trace over two projects; send whole"
                .into(),
        );
    }
    Ok(args)
}

#[derive(Debug, Default)]
struct Counters {
    spans_acknowledged: AtomicU64,
    /// Request bytes acknowledged, and the content bytes their spans carried.
    bytes_acknowledged: AtomicU64,
    content_acknowledged: AtomicU64,
    requests: AtomicU64,
    throttled: AtomicU64,
    failed: AtomicU64,
    invisible: AtomicU64,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// An API request as the organization (`--token`), in the first project of the load if any.
fn authorized(request: reqwest::RequestBuilder, args: &Args) -> reqwest::RequestBuilder {
    in_project(
        request,
        args,
        args.project_names().first().map(String::as_str),
    )
}

/// An API request as the organization (`--token`), in `project` if given.
fn in_project(
    request: reqwest::RequestBuilder,
    args: &Args,
    project: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = match &args.token {
        Some(t) => request.bearer_auth(t),
        None => request,
    };
    match project {
        Some(name) => request.header("x-agentrace-project", name),
        None => request,
    }
}

/// Deletes the project `name` (as the organization): how long the API took to answer.
async fn delete_project(
    client: &reqwest::Client,
    args: &Args,
    name: &str,
) -> Result<Duration, String> {
    let url = format!("{}/api/v1/projects/{name}", args.api);
    let started = Instant::now();
    let answer = in_project(client.delete(&url), args, None)
        .send()
        .await
        .map_err(|e| format!("deleting {name}: {e}"))?;
    let took = started.elapsed();
    if !answer.status().is_success() {
        return Err(format!(
            "deleting {name}: {} {}",
            answer.status(),
            answer.text().await.unwrap_or_default()
        ));
    }
    Ok(took)
}

/// A project the load is sent into, and the ingest key it is sent with.
#[derive(Debug)]
struct Project {
    name: String,
    ingest_key: String,
}

impl Args {
    /// The projects the load goes to: none (the server's default), `--project`, or its N.
    fn project_names(&self) -> Vec<String> {
        match (&self.project, self.projects) {
            (None, _) => Vec::new(),
            (Some(name), 1) => vec![name.clone()],
            (Some(name), n) => (1..=n).map(|i| format!("{name}-{i}")).collect(),
        }
    }
}

/// Creates the load's projects (an existing one is kept) and an ingest key in each, in the
/// order of [`Args::project_names`].
async fn create_projects(client: &reqwest::Client, args: &Args) -> Result<Vec<Project>, String> {
    let mut projects = Vec::new();
    for name in args.project_names() {
        let url = format!("{}/api/v1/projects", args.api);
        let json = |url: &str, body: serde_json::Value| {
            client
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string())
        };
        let mut create = json(&url, serde_json::json!({ "name": name }));
        let mut key = json(
            &format!("{url}/{name}/keys"),
            serde_json::json!({ "scope": "ingest", "name": "loadgen" }),
        );
        if let Some(token) = &args.token {
            create = create.bearer_auth(token);
            key = key.bearer_auth(token);
        }
        let created = create.send().await.map_err(|e| format!("{url}: {e}"))?;
        if !created.status().is_success() && created.status() != 409 {
            return Err(format!("creating project {name}: {}", created.status()));
        }
        let answer = key.send().await.map_err(|e| format!("{url}: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!("a key of project {name}: {}", answer.status()));
        }
        let body = answer.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        let body: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))?;
        let secret = body["secret"]
            .as_str()
            .ok_or_else(|| format!("a key of project {name}: no secret in {body}"))?;
        let ingest_key = secret.to_owned();
        projects.push(Project { name, ingest_key });
    }
    Ok(projects)
}

/// Polls the API (in the trace's project) until the trace answers; the time since `sent` is
/// its visibility latency.
async fn watch(
    client: reqwest::Client,
    args: Arc<Args>,
    (project, trace_id): (Option<String>, String),
    sent: Instant,
    latencies: Arc<Mutex<Vec<Duration>>>,
    counters: Arc<Counters>,
) {
    let url = format!("{}/api/v1/traces/{trace_id}", args.api);
    let args = &*args;
    // Backing off keeps the watchers from becoming a load of their own (they share the
    // server's two cores with the ingest being measured).
    let mut pause = Duration::from_millis(1);
    while sent.elapsed() < VISIBILITY_PATIENCE {
        let response = in_project(client.get(&url), args, project.as_deref())
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => {
                latencies.lock().await.push(sent.elapsed());
                return;
            }
            Ok(r) if r.status() != 404 => eprintln!("loadgen: GET {url}: {}", r.status()),
            Ok(_) => {}
            Err(e) => eprintln!("loadgen: GET {url}: {e}"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    counters.invisible.fetch_add(1, Ordering::Relaxed);
}

async fn send_all(
    args: Arc<Args>,
    client: reqwest::Client,
    shapes: Arc<Shapes>,
    projects: Arc<[Project]>,
) -> (Duration, Arc<Counters>, Vec<Duration>) {
    let spans_per_request = (args.traces_per_request * args.shape.spans_per_trace()) as u64;
    let total_requests = match args.duration {
        Some(_) => u64::MAX,
        None => args.spans.div_ceil(spans_per_request),
    };
    let next = Arc::new(AtomicU64::new(0));
    let counters = Arc::new(Counters::default());
    let visibility = Arc::new(Mutex::new(Vec::new()));
    let watchers = Arc::new(Mutex::new(tokio::task::JoinSet::new()));
    let urls: Arc<Vec<String>> = Arc::new(
        args.endpoints
            .iter()
            .map(|e| format!("{}/v1/traces", e.trim_end_matches('/')))
            .collect(),
    );
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..args.concurrency {
        let (args, client, next, counters, visibility, watchers, urls, projects) = (
            args.clone(),
            client.clone(),
            next.clone(),
            counters.clone(),
            visibility.clone(),
            watchers.clone(),
            urls.clone(),
            projects.clone(),
        );
        let url = move |k: u64| urls[(k % urls.len() as u64) as usize].clone();
        // Request k goes to project k mod N, with that project's ingest key.
        let project = move |k: u64| -> Option<(String, String)> {
            let p = projects.get((k % projects.len().max(1) as u64) as usize)?;
            Some((p.name.clone(), p.ingest_key.clone()))
        };
        let seed = now_ns() ^ ((worker as u64) << 48);
        let mut requests = match (args.shape, &shapes) {
            (Shape::LongRuns { turns, history }, _) => {
                Generator::LongRuns(LongRuns::new(turns, history, seed))
            }
            (Shape::Agents, shapes) => Generator::Agents(Requests::new(
                shapes.clone(),
                seed,
                args.order == Order::ChildrenFirst,
            )),
        };
        workers.spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total_requests || args.duration.is_some_and(|d| started.elapsed() >= d) {
                    break;
                }
                let first = k * args.traces_per_request as u64;
                let body = requests.next(now_ns(), first, args.traces_per_request);
                let sent = Instant::now();
                let sample = body.sample;
                let (name, key) = project(k).unzip();
                deliver(&client, &args, &url(k), key, body, k, &counters).await;
                if let Some(sample) = sample.filter(|_| k.is_multiple_of(args.visibility_every)) {
                    watchers.lock().await.spawn(watch(
                        client.clone(),
                        args.clone(),
                        (name, hex(&sample)),
                        sent,
                        visibility.clone(),
                        counters.clone(),
                    ));
                }
            }
            if let Some(last) = requests.finish() {
                let (url, key) = (url(total_requests), project(total_requests).unzip().1);
                deliver(&client, &args, &url, key, last, total_requests, &counters).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let mut watchers = std::mem::take(&mut *watchers.lock().await);
    while watchers.join_next().await.is_some() {}
    let mut latencies = std::mem::take(&mut *visibility.lock().await);
    latencies.sort();
    (elapsed, counters, latencies)
}

/// `/cost?group_by=agent` over everything: the calls with an agent, and those without.
async fn calls_by_agent(client: &reqwest::Client, args: &Args) -> Result<(u64, u64), String> {
    let answer = get_json(client, args, "/api/v1/cost?group_by=agent").await?;
    let mut counts = (0, 0);
    for row in answer["rows"].as_array().into_iter().flatten() {
        let calls = row["calls"].as_u64().unwrap_or(0);
        if row["keys"]["agent"].is_null() {
            counts.1 += calls;
        } else {
            counts.0 += calls;
        }
    }
    Ok(counts)
}

/// Sends one request until it is acknowledged (a 429/503 is retried after its
/// `Retry-After`), counting the outcome; with a project's `ingest_key`, or as the organization.
async fn deliver(
    client: &reqwest::Client,
    args: &Args,
    url: &str,
    ingest_key: Option<String>,
    body: Body,
    k: u64,
    counters: &Counters,
) {
    let spans = body.spans;
    let content = body.content_bytes;
    let bytes = bytes::Bytes::from(body.bytes);
    loop {
        let request = match &ingest_key {
            Some(key) => client.post(url).bearer_auth(key),
            None => authorized(client.post(url), args),
        };
        let response = request
            .header("content-type", "application/x-protobuf")
            .body(bytes.clone())
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => {
                counters
                    .spans_acknowledged
                    .fetch_add(spans, Ordering::Relaxed);
                counters
                    .bytes_acknowledged
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                counters
                    .content_acknowledged
                    .fetch_add(content, Ordering::Relaxed);
                counters.requests.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(r) if r.status() == 429 || r.status() == 503 => {
                counters.throttled.fetch_add(1, Ordering::Relaxed);
                let wait = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .map_or(Duration::from_millis(50), |s| {
                        Duration::from_secs(s).min(Duration::from_millis(200))
                    });
                tokio::time::sleep(wait).await;
            }
            Ok(r) => {
                eprintln!("loadgen: request {k} refused: {}", r.status());
                counters.failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                eprintln!("loadgen: request {k} failed: {e}");
                counters.failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// The server's `/api/v1/status`.
async fn status(client: &reqwest::Client, args: &Args) -> Result<serde_json::Value, String> {
    get_json(client, args, "/api/v1/status").await
}

/// `GET path` of the API, as JSON.
async fn get_json(
    client: &reqwest::Client,
    args: &Args,
    path: &str,
) -> Result<serde_json::Value, String> {
    let url = format!("{}{path}", args.api);
    let response = authorized(client.get(&url), args)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url}: {}", response.status()));
    }
    let body = response.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
}

/// The largest write-ahead log file the server reported, sampled every second until `done`.
async fn wal_file_peak(
    client: reqwest::Client,
    args: Arc<Args>,
    mut done: tokio::sync::watch::Receiver<bool>,
) -> u64 {
    let mut peak = 0;
    loop {
        if let Ok(status) = status(&client, &args).await {
            peak = peak.max(status["writer"]["wal"]["file_bytes"].as_u64().unwrap_or(0));
        }
        tokio::select! {
            _ = done.changed() => return peak,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// CPU time the process has used (user and system), from `/proc/PID/stat`, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command's closing parenthesis: state is field 3, utime 14 and stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Clock ticks a second (`getconf CLK_TCK`; 100 on Linux when it cannot say).
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The servers' CPU time, summed, in ticks (`None` if one cannot be read).
fn servers_cpu(pids: &[u32]) -> Option<u64> {
    pids.iter().map(|pid| cpu_ticks(*pid)).sum()
}

/// Resident memory now and at its peak, in MiB, from `/proc/PID/status`.
fn rss_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The dashboard's main API calls, timed after the load: (name, path).
const DASHBOARD_QUERIES: &[(&str, &str)] = &[
    ("overview", "/api/v1/overview"),
    ("cost by model", "/api/v1/cost?group_by=model"),
    ("trace list", "/api/v1/traces?limit=50"),
    ("sessions", "/api/v1/sessions?limit=50"),
    ("tools", "/api/v1/tools"),
];

async fn query_latency(
    client: &reqwest::Client,
    args: &Args,
    path: &str,
) -> Result<(Duration, Duration), String> {
    let url = format!("{}{path}", args.api);
    let mut times = Vec::with_capacity(args.queries);
    for _ in 0..args.queries {
        let started = Instant::now();
        let response = authorized(client.get(&url), args)
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        let status = response.status();
        let _body = response.bytes().await.map_err(|e| format!("{path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{path}: {status}"));
        }
        times.push(started.elapsed());
    }
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 0.99)))
}

async fn run(args: Args) -> Result<(), String> {
    let args = Arc::new(args);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    let (done, watching) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(wal_file_peak(client.clone(), args.clone(), watching));
    // The short traces' shapes (none are needed for long runs).
    let shapes = Arc::new(match args.shape {
        Shape::Agents => Shapes::new()?,
        Shape::LongRuns { .. } => Shapes::empty(),
    });
    let creating = Instant::now();
    let projects: Arc<[Project]> = create_projects(&client, &args).await?.into();
    let creating = creating.elapsed();
    let cpu_before = servers_cpu(&args.server_pids);
    let (elapsed, counters, visibility) =
        send_all(args.clone(), client.clone(), shapes, projects.clone()).await;
    let cpu_seconds = cpu_before
        .zip(servers_cpu(&args.server_pids))
        .map(|(before, after)| after.saturating_sub(before) as f64 / ticks_per_second());
    let _ = done.send(true);
    let wal_file_peak = sampler.await.unwrap_or(0);
    let store = status(&client, &args).await?;
    let wal = &store["writer"]["wal"];
    let database_bytes = store["store"]["database_bytes"].as_u64().unwrap_or(0);
    let spans = counters.spans_acknowledged.load(Ordering::Relaxed);
    let rate = spans as f64 / elapsed.as_secs_f64().max(1e-9);
    // Summed over the nodes; the peak is the largest node's.
    let rss = args
        .server_pids
        .iter()
        .map(|pid| rss_mib(*pid))
        .collect::<Option<Vec<_>>>()
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.iter()
                .fold((0.0, 0.0f64), |(now, peak), (n, p)| (now + n, peak.max(*p)))
        });
    let mut queries = Vec::new();
    for (name, path) in DASHBOARD_QUERIES {
        queries.push((name.to_string(), query_latency(&client, &args, path).await?));
    }
    if let Shape::LongRuns { .. } = args.shape {
        // A run from the middle of the load.
        let runs = spans / args.shape.spans_per_trace() as u64;
        let rare = long_runs::rare_word(runs / 2);
        for (name, path) in [
            (
                "search one run's id",
                format!("/api/v1/search?q={rare}&limit=50"),
            ),
            (
                "search id among tools",
                format!("/api/v1/search?q=kind:tool%20{rare}&limit=50"),
            ),
            (
                "search a common word",
                "/api/v1/search?q=rotterdam&limit=50".to_owned(),
            ),
            (
                "traces of one run's id",
                format!("/api/v1/traces?q={rare}&limit=50"),
            ),
        ] {
            queries.push((name.to_owned(), query_latency(&client, &args, &path).await?));
        }
    }
    let (attributed, unattributed) = calls_by_agent(&client, &args).await?;
    let deleted = match (args.then_delete, projects.first()) {
        (true, Some(project)) => Some(delete_project(&client, &args, &project.name).await?),
        _ => None,
    };

    println!(
        "acknowledged spans     {spans} in {:.1} s",
        elapsed.as_secs_f64()
    );
    println!("sustained rate         {rate:.0} spans/s");
    if !projects.is_empty() {
        println!(
            "projects               {} (each with an ingest key) created in {:.2} s",
            projects.len(),
            creating.as_secs_f64()
        );
    }
    println!(
        "requests               {} ok, {} throttled (retried), {} failed",
        counters.requests.load(Ordering::Relaxed),
        counters.throttled.load(Ordering::Relaxed),
        counters.failed.load(Ordering::Relaxed)
    );
    println!(
        "visibility             p50 {:.1} ms, p99 {:.1} ms ({} samples, {} never visible)",
        ms(percentile(&visibility, 0.5)),
        ms(percentile(&visibility, 0.99)),
        visibility.len(),
        counters.invisible.load(Ordering::Relaxed)
    );
    if let Some((now, peak)) = rss {
        println!(
            "server RSS             {now:.0} MiB now (all nodes), {peak:.0} MiB peak (the largest node's)"
        );
    }
    if let Some(cpu) = cpu_seconds {
        println!(
            "server CPU             {cpu:.1} s, {:.1} µs a span",
            cpu * 1e6 / spans.max(1) as f64
        );
    }
    for (name, (p50, p99)) in &queries {
        println!(
            "{:<23}p50 {:.1} ms, p99 {:.1} ms",
            format!("{name} query"),
            ms(*p50),
            ms(*p99)
        );
    }
    println!(
        "write-ahead log        peak {:.1} MiB (file {:.1} MiB sampled each second), ceiling {:.0} MiB, {} restarts, {} writes refused",
        mib(wal["peak_bytes"].as_u64().unwrap_or(0)),
        mib(wal_file_peak),
        mib(wal["ceiling_bytes"].as_u64().unwrap_or(0)),
        wal["restarts"].as_u64().unwrap_or(0),
        wal["refused_writes"].as_u64().unwrap_or(0),
    );
    println!(
        "database               {:.1} MiB, {:.0} bytes a span",
        mib(database_bytes),
        database_bytes as f64 / spans.max(1) as f64
    );
    let per_span = |n: &AtomicU64| n.load(Ordering::Relaxed) as f64 / spans.max(1) as f64;
    let (sent_per_span, content_per_span) = (
        per_span(&counters.bytes_acknowledged),
        per_span(&counters.content_acknowledged),
    );
    println!(
        "sent                   {sent_per_span:.0} bytes a span on the wire, {content_per_span:.0} bytes of content a span"
    );
    println!(
        "LLM calls by agent     {attributed} attributed, {unattributed} without an agent ({})",
        match args.order {
            Order::Whole => "traces whole",
            Order::ChildrenFirst => "children first",
        }
    );
    if let Some(took) = deleted {
        println!("project deleted        in {:.1} ms", ms(took));
    }
    let report = serde_json::json!({
        "spans": spans,
        "seconds": elapsed.as_secs_f64(),
        "spans_per_second": rate,
        "throttled": counters.throttled.load(Ordering::Relaxed),
        "failed": counters.failed.load(Ordering::Relaxed),
        "visibility_ms": {"p50": ms(percentile(&visibility, 0.5)), "p99": ms(percentile(&visibility, 0.99)), "samples": visibility.len()},
        "rss_mib": rss.map(|(now, peak)| serde_json::json!({"now": now, "peak": peak})),
        "server_cpu_seconds": cpu_seconds,
        "server_cpu_us_per_span": cpu_seconds.map(|c| c * 1e6 / spans.max(1) as f64),
        "nodes": args.endpoints.len(),
        "projects": projects.len(),
        "projects_created_seconds": creating.as_secs_f64(),
        "queries_ms": queries
            .iter()
            .map(|(name, (p50, p99))| (name.clone(), serde_json::json!({"p50": ms(*p50), "p99": ms(*p99)})))
            .collect::<serde_json::Map<_, _>>(),
        "order": match args.order { Order::Whole => "whole", Order::ChildrenFirst => "children-first" },
        "calls_attributed": attributed,
        "calls_without_agent": unattributed,
        "wal": {
            "peak_bytes": wal["peak_bytes"],
            "file_peak_bytes": wal_file_peak,
            "ceiling_bytes": wal["ceiling_bytes"],
            "restarts": wal["restarts"],
            "refused_writes": wal["refused_writes"],
        },
        "database_bytes": database_bytes,
        "database_bytes_per_span": database_bytes as f64 / spans.max(1) as f64,
        "sent_bytes_per_span": sent_per_span,
        "content_bytes_per_span": content_per_span,
        "shape": match args.shape {
            Shape::Agents => serde_json::json!("agents"),
            Shape::LongRuns { turns, history } => serde_json::json!({
                "long_runs": {"turns": turns, "history": match history { History::Whole => "whole", History::Delta => "delta" }}
            }),
        },
        "project_deleted_ms": deleted.map(ms),
    });
    println!("{report}");
    if counters.failed.load(Ordering::Relaxed) > 0 {
        return Err("some requests failed".into());
    }
    if unattributed > 0 {
        return Err(format!(
            "{unattributed} LLM calls have no agent though every agent span was acknowledged"
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
