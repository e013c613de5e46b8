//! `cargo xtask bench`: the criterion benches, and the ingest and dashboard benchmarks against
//! a running server (SQLite, or ClickHouse nodes).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{
    cargo, root,
    services::{ChdbFixture, free_port, http_ok},
    step, target_dir,
};

mod content;
mod projects;
mod results;

/// How big a benchmark run is: spans loaded, seconds of the sustained run, the spans of the
/// dashboard's big trace, and the build the servers run.
#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    spans: String,
    seconds: String,
    trace_spans: String,
    release: bool,
}

impl Sizes {
    /// The measured runs: `AGENTRACE_BENCH_SPANS` (default a million),
    /// `AGENTRACE_BENCH_SECONDS` (default 300), a 10,000-span trace, release builds.
    fn measured() -> Self {
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        Self {
            spans: var("AGENTRACE_BENCH_SPANS", "1000000"),
            seconds: var("AGENTRACE_BENCH_SECONDS", "300"),
            trace_spans: "10000".into(),
            release: true,
        }
    }

    /// `ci`'s smoke runs: every step of every benchmark, at a size of seconds, on the debug
    /// build CI has made already; the figures mean nothing, a broken benchmark fails.
    fn smoke() -> Self {
        Self {
            spans: "2000".into(),
            seconds: "3".into(),
            trace_spans: "300".into(),
            release: false,
        }
    }

    /// Where the binaries of this build are.
    fn bin(&self, name: &str) -> PathBuf {
        target_dir()
            .join(if self.release { "release" } else { "debug" })
            .join(name)
    }
}

/// `ci`'s smoke run of every benchmark: the bench targets once each (`cargo test --bench '*'`,
/// debug: only the benches, whose unit tests the tests step ran; each runs at a size of
/// seconds when not given `--bench`), `ingest` and `dashboard` on SQLite at [`Sizes::smoke`].
pub(crate) fn smoke() -> Result<(), String> {
    let mut criterion = cargo();
    // The workspace and features of the tests step, so that its build is reused.
    criterion.args([
        "test",
        "--workspace",
        "--exclude",
        crate::integration::INTEGRATION_CRATE,
        "--all-features",
        "--bench",
        "*",
    ]);
    step("bench smoke: the criterion benches, once each", criterion)?;
    let sizes = Sizes::smoke();
    let mut rows = bench_ingest(&BenchStore::Sqlite, &sizes)?;
    rows.extend(bench_dashboard(BenchStore::Sqlite, &sizes)?);
    rows.extend(projects::bench_projects(BenchStore::Sqlite, &sizes)?);
    rows.extend(content::bench_content(BenchStore::Sqlite, &sizes)?);
    results::print(&rows, true);
    Ok(())
}

pub(crate) fn bench(args: &[String]) -> Result<(), String> {
    if args.first().is_some_and(|a| a == "smoke") {
        return smoke();
    }
    let sizes = Sizes::measured();
    let (store, names) = bench_store(args)?;
    let names: Vec<&str> = if names.is_empty() {
        vec!["layer", "sinks", "cost", "metrics"]
    } else {
        names
    };
    let mut rows = Vec::new();
    let mut criterion = Vec::new();
    for name in names {
        if name == "ingest" {
            rows.extend(bench_ingest(&store, &sizes)?);
            continue;
        }
        if name == "dashboard" {
            rows.extend(bench_dashboard(store, &sizes)?);
            continue;
        }
        if name == "projects" {
            rows.extend(projects::bench_projects(store, &sizes)?);
            continue;
        }
        if name == "content" {
            rows.extend(content::bench_content(store, &sizes)?);
            continue;
        }
        let mut cmd = cargo();
        cmd.args(["bench", "--all-features", "--bench", name]);
        step(&format!("bench {name}"), cmd)?;
        criterion.push(name);
    }
    rows.extend(results::criterion(&criterion)?);
    println!(
        "\nCriterion reports are in target/criterion/; record the figures in docs/benchmark-notebook.md."
    );
    results::print(&rows, false);
    Ok(())
}

/// The store `bench ingest` runs on: `--store sqlite` (the default) or `--store clickhouse`
/// (the chdb fixture) with `--nodes N` servers sharing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BenchStore {
    Sqlite,
    ClickHouse { nodes: usize },
}

/// `bench`'s flags (`--store`, `--nodes`) and the benchmarks named.
pub(crate) fn bench_store(args: &[String]) -> Result<(BenchStore, Vec<&str>), String> {
    let (mut store, mut nodes, mut names) = ("sqlite", 1usize, Vec::new());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--store" => store = it.next().ok_or("--store needs sqlite or clickhouse")?,
            "--nodes" => {
                nodes = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n >= 1)
                    .ok_or("--nodes needs a number of servers")?;
            }
            name => names.push(name),
        }
    }
    match (store, nodes) {
        ("sqlite", 1) => Ok((BenchStore::Sqlite, names)),
        ("sqlite", _) => Err("--nodes: several servers share a ClickHouse store only".into()),
        ("clickhouse", nodes) => Ok((BenchStore::ClickHouse { nodes }, names)),
        (other, _) => Err(format!("--store {other}: expected sqlite or clickhouse")),
    }
}

/// Release `agentrace serve` nodes on free ports, over a fresh data directory each and their
/// store: a SQLite file of the one node, or a fresh ClickHouse database on the chdb fixture.
pub(crate) struct BenchServer {
    nodes: Vec<BenchNode>,
    /// The load generator's clients, each with one request in flight.
    clients: usize,
    data: PathBuf,
    /// The load generator of the same build.
    loadgen: PathBuf,
    _clickhouse: Option<ChdbFixture>,
}

/// Builds the server and the load generator (release, unless `sizes` says debug: then the
/// build of `ci`'s integration step, which is reused).
fn build_server(name: &str, sizes: &Sizes) -> Result<(), String> {
    if !sizes.release {
        return crate::integration::build_examples_and_binary();
    }
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "agentrace-cli",
        "-p",
        "agentrace-loadgen",
    ]);
    step(
        &format!("bench {name}: build the server and the load generator"),
        build,
    )
}

/// One node of a [`BenchServer`].
pub(crate) struct BenchNode {
    child: std::process::Child,
    http: u16,
    app: u16,
}

impl Drop for BenchNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BenchServer {
    /// Builds the server and the load generator (release, unless `sizes` says debug), then
    /// [`BenchServer::start_binary`] with this build's server.
    fn start(
        name: &str,
        store: BenchStore,
        sizes: &Sizes,
        serve_args: &[&OsStr],
    ) -> Result<Self, String> {
        build_server(name, sizes)?;
        Self::start_binary(name, store, sizes, &sizes.bin("agentrace"), serve_args)
    }

    /// Starts the nodes of the server binary `server` in `target/bench-<name>` (`serve_args`
    /// added to each command line) and waits until each is ready; the load generator is this
    /// build's.
    fn start_binary(
        name: &str,
        store: BenchStore,
        sizes: &Sizes,
        server: &Path,
        serve_args: &[&OsStr],
    ) -> Result<Self, String> {
        let data = target_dir().join(format!("bench-{name}"));
        let _ = std::fs::remove_dir_all(&data);
        let (clickhouse, nodes) = match store {
            BenchStore::Sqlite => (None, 1),
            BenchStore::ClickHouse { nodes } => {
                let venv = target_dir().join("clickhouse-venv");
                if !venv.join("bin").join("python").is_file() {
                    return Err(format!(
                        "no chdb virtualenv at {}: run scripts/install-test-deps.sh",
                        venv.display()
                    ));
                }
                (Some(ChdbFixture::start(&venv)?), nodes)
            }
        };
        let mut started_nodes = Vec::new();
        for n in 0..nodes {
            let dir = data.join(format!("node-{n}"));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let store = clickhouse
                .as_ref()
                .map(|c| format!("clickhouse://{}/bench", c.url.trim_start_matches("http://")));
            started_nodes.push(BenchNode::start(
                server,
                &dir,
                store.as_deref(),
                serve_args,
            )?);
        }
        Ok(Self {
            nodes: started_nodes,
            clients: match store {
                // Four saturate a SQLite node.
                BenchStore::Sqlite => 4,
                // A node answers once ClickHouse has the rows, tens of milliseconds a write:
                // four requests in flight measure that wait, not the rate. 64 fill the group
                // commits as a fleet of exporters would (two nodes on the fixture: 7.8 k
                // spans/s from 4 clients, 16.7 k from 16, 32.4 k from 64; docs/benchmark-notebook.md §9).
                BenchStore::ClickHouse { .. } => 64,
            },
            data,
            loadgen: sizes.bin("agentrace-loadgen"),
            _clickhouse: clickhouse,
        })
    }

    /// The load generator into it: `load` is how much (`--spans N` or `--duration SECONDS`,
    /// and any other flag of `agentrace-loadgen`: a token, projects), each trace whole in a
    /// request or (`children-first`) its agent span in a later request; the requests spread
    /// over the nodes, the API read on the first.
    fn load(&self, name: &str, order: &str, load: &[&str]) -> Result<serde_json::Value, String> {
        warn_if_busy();
        let list = |f: &dyn Fn(&BenchNode) -> String| {
            self.nodes.iter().map(f).collect::<Vec<_>>().join(",")
        };
        let mut cmd = Command::new(&self.loadgen);
        cmd.args([
            "--endpoint",
            &list(&|n| format!("http://127.0.0.1:{}", n.http)),
        ])
        .args(["--api", &format!("http://127.0.0.1:{}", self.nodes[0].app)])
        .args(load)
        .args(["--order", order])
        .args(["--concurrency", &self.clients.to_string()])
        .args(["--server-pid", &list(&|n| n.child.id().to_string())]);
        results::step_with_report(&format!("bench {name}: load, traces {order}"), cmd)
    }

    /// A graceful stop (SIGTERM), as an operator would.
    fn stop(mut self) {
        for node in &mut self.nodes {
            let _ = Command::new("kill")
                .args(["-TERM", &node.child.id().to_string()])
                .status();
            let _ = node.child.wait();
        }
        println!(
            "\nRecord the figures in docs/benchmark-notebook.md (today's in docs/benchmarks.md); the servers' logs are in {}.",
            self.data.display()
        );
    }
}

impl BenchNode {
    /// `agentrace serve` (the binary `bin`) over `dir` (its log in `dir/server.log`) and
    /// `store` if given, once ready.
    fn start(
        bin: &Path,
        dir: &Path,
        store: Option<&str>,
        serve_args: &[&OsStr],
    ) -> Result<Self, String> {
        let (http, grpc, app) = (free_port()?, free_port()?, free_port()?);
        let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut serve = Command::new(bin);
        serve
            .arg("serve")
            .arg("--data-dir")
            .arg(dir)
            .args(["--otlp-http-port", &http.to_string()])
            .args(["--otlp-grpc-port", &grpc.to_string()])
            .args(["--app-port", &app.to_string()]);
        if let Some(store) = store {
            serve.args(["--store", store]);
        }
        serve.args(serve_args);
        let child = serve
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let mut node = Self { child, http, app };
        let started = Instant::now();
        while !http_ok(app, "/readyz") {
            if started.elapsed() > std::time::Duration::from_secs(60)
                || matches!(node.child.try_wait(), Ok(Some(_)))
            {
                return Err(format!(
                    "the server did not become ready; see {}",
                    dir.join("server.log").display()
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Ok(node)
    }
}

/// Warns when something else keeps the CPUs busy while the server waits for its load: on this
/// 2-vCPU VM even processes at `nice 19` (a fuzzer) took a quarter of the ingest rate, so
/// figures measured beside them are not comparable.
pub(crate) fn warn_if_busy() {
    fn ticks() -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
        let total: u64 = fields.iter().take(8).sum();
        let idle = fields.get(3)? + fields.get(4)?;
        Some((total, idle))
    }
    let Some((total0, idle0)) = ticks() else {
        return;
    };
    std::thread::sleep(std::time::Duration::from_secs(1));
    let Some((total1, idle1)) = ticks() else {
        return;
    };
    let total = total1.saturating_sub(total0).max(1);
    let busy = total.saturating_sub(idle1.saturating_sub(idle0)) as f64 / total as f64;
    if busy > 0.1 {
        println!(
            "warning: the CPUs were {:.0} % busy before the load (other processes); \
             these figures are not comparable with an idle machine's",
            busy * 100.0
        );
    }
}

/// `agentrace serve` (release, SQLite in a fresh directory) under the load generator, three
/// times, each on a fresh server: `AGENTRACE_BENCH_SPANS` spans (default a million) with each
/// trace whole in one request; as many with each trace's agent span after its calls, in a later
/// request; and traces whole for `AGENTRACE_BENCH_SECONDS` (default 300) at the maximum rate,
/// the sustained run that shows the write-ahead log's peak and the database's bytes per span.
/// On ClickHouse (`--store clickhouse [--nodes N]`, N nodes on the chdb fixture) the first two
/// (a ClickHouse store has no write-ahead log of agentrace's), and after the first the bytes a
/// span of its spans under other column codecs (`benches/clickhouse_codecs.py`).
pub(crate) fn bench_ingest(store: &BenchStore, sizes: &Sizes) -> Result<Vec<results::Row>, String> {
    let (spans, seconds) = (sizes.spans.as_str(), sizes.seconds.as_str());
    let mut reports = Vec::new();
    for (name, order, load) in [
        ("ingest", "whole", ["--spans", spans]),
        (
            "ingest-children-first",
            "children-first",
            ["--spans", spans],
        ),
        ("ingest-sustained", "whole", ["--duration", seconds]),
    ] {
        if name == "ingest-sustained" && *store != BenchStore::Sqlite {
            continue;
        }
        let server = BenchServer::start(name, *store, sizes, &[])?;
        let result = server.load(name, order, &load);
        server.stop();
        reports.push(result?);
        if name == "ingest" && *store != BenchStore::Sqlite {
            // The spans just stored, under each codec the schema's were chosen over.
            let mut codecs = Command::new(target_dir().join("clickhouse-venv/bin/python"));
            codecs
                .arg(root().join("benches/clickhouse_codecs.py"))
                .arg(target_dir().join("chdb-fixture-data"));
            step("bench ingest: the spans table's column codecs", codecs)?;
        }
    }
    match reports.as_slice() {
        [whole, children_first, rest @ ..] => {
            results::ingest(*store, whole, children_first, rest.first())
        }
        _ => Err("bench ingest: a run made no report".into()),
    }
}

/// The dashboard in headless Chromium over a release server holding the load generator's
/// million spans and a 10,000-span trace (`tests/browser/bench/dashboard.mjs`), on the store
/// `store` names.
pub(crate) fn bench_dashboard(
    store: BenchStore,
    sizes: &Sizes,
) -> Result<Vec<results::Row>, String> {
    let mut install = Command::new("bash");
    install
        .arg(root().join("scripts").join("install-test-deps.sh"))
        .env("AGENTRACE_VENV", target_dir().join("integration-venv"))
        .current_dir(root());
    step(
        "bench dashboard: install Chromium and the browser suite",
        install,
    )?;
    // Alert rules, as a team runs them: the Alerts page has alerts to show.
    let alerts = root().join("benches").join("dashboard-alerts.toml");
    let server = BenchServer::start(
        "dashboard",
        store,
        sizes,
        &[OsStr::new("--alerts"), alerts.as_os_str()],
    )?;
    let result = server
        .load("dashboard", "whole", &["--spans", sizes.spans.as_str()])
        .and_then(|_| {
            let mut measure = Command::new("node");
            measure
                .arg("bench/dashboard.mjs")
                .args([
                    "--app",
                    &format!("http://127.0.0.1:{}", server.nodes[0].app),
                ])
                .args([
                    "--otlp",
                    &format!("http://127.0.0.1:{}", server.nodes[0].http),
                ])
                .args(["--spans", sizes.trace_spans.as_str()])
                .current_dir(root().join("tests").join("browser"));
            results::step_with_report("bench dashboard: every view in headless Chromium", measure)
        });
    server.stop();
    results::dashboard(&result?)
}
