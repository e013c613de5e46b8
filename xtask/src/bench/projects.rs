//! `cargo xtask bench projects`: what projects cost (issue #53), on one store, in three runs of
//! the load generator against release servers with an organization token:
//!
//! 1. **Ingest against the previous release.** Rounds (`AGENTRACE_BENCH_ROUNDS`, default 4,
//!    each build first in every other one) alternate the release before projects
//!    (`AGENTRACE_BENCH_BASELINE`, a commit, built from a worktree into a target directory of
//!    its own) sending as the organization, and this build sending into a project with the
//!    project's ingest key: the rate of each, side by side in one run, a fresh server each.
//! 2. **A small project beside a large one.** The dashboard's API calls in a project of
//!    `AGENTRACE_BENCH_SMALL_SPANS` (default 100,000) alone on a server, then on a server whose
//!    other project holds `AGENTRACE_BENCH_NEIGHBOUR_SPANS` (default 10,000,000); then the
//!    large project is deleted through the API, timed (its data gone, its keys revoked).
//! 3. **Many projects.** `AGENTRACE_BENCH_PROJECTS` (default 1,000) created with an ingest key
//!    each, the load spread over all of them: the time to create them, the rate, the memory, and
//!    a project's dashboard calls.
//!
//! `AGENTRACE_BENCH_RUNS=ingest,neighbour,many` picks some of the three (all by default).
//! The smoke run (`bench smoke`) makes each step at a size of seconds and compares this build
//! with itself: the previous release is built only when measuring.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::results::{Row, number, thousands};
use super::{BenchServer, BenchStore, Sizes, build_server};
use crate::{cargo, root, step, target_dir};

/// The last commit before projects: the previous release that ingest is compared with.
const PREVIOUS_RELEASE: &str = "8a0ca98";

/// The servers' organization token, which the load generator creates projects and reads with.
const TOKEN: &str = "bench-organization-token";

/// A dashboard call within this of the same call alone is "as fast": the VM's run-to-run noise
/// on a call of a few milliseconds (docs/benchmarks.md).
const AS_FAST: (f64, f64) = (1.25, 2.0);

/// The sizes of the three runs.
struct Plan {
    /// Rounds of both builds, each first in every other round.
    rounds: usize,
    /// The runs to make (`AGENTRACE_BENCH_RUNS`: some of `ingest,neighbour,many`; all by
    /// default).
    only: Option<String>,
    /// Spans of each ingest run and of the many-projects run.
    spans: String,
    small: String,
    neighbour: String,
    projects: String,
    /// The commit of the previous release, or none: this build against itself (smoke).
    previous: Option<String>,
}

impl Plan {
    fn of(sizes: &Sizes) -> Self {
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        if !sizes.release {
            return Self {
                rounds: 1,
                spans: sizes.spans.clone(),
                small: "600".into(),
                neighbour: "3000".into(),
                projects: "20".into(),
                previous: None,
                only: None,
            };
        }
        Self {
            rounds: var("AGENTRACE_BENCH_ROUNDS", "4")
                .parse()
                .unwrap_or(4)
                .max(1),
            spans: sizes.spans.clone(),
            small: var("AGENTRACE_BENCH_SMALL_SPANS", "100000"),
            neighbour: var("AGENTRACE_BENCH_NEIGHBOUR_SPANS", "10000000"),
            projects: var("AGENTRACE_BENCH_PROJECTS", "1000"),
            previous: Some(var("AGENTRACE_BENCH_BASELINE", PREVIOUS_RELEASE)),
            only: std::env::var("AGENTRACE_BENCH_RUNS").ok(),
        }
    }

    /// Whether the run `name` is made.
    fn runs(&self, name: &str) -> bool {
        self.only
            .as_deref()
            .is_none_or(|only| only.split(',').any(|n| n.trim() == name))
    }
}

/// The three runs on `store`; the rows of docs/benchmarks.md they measure.
pub(crate) fn bench_projects(store: BenchStore, sizes: &Sizes) -> Result<Vec<Row>, String> {
    let plan = Plan::of(sizes);
    let previous = match &plan.previous {
        Some(commit) => build_previous_release(commit)?,
        None => sizes.bin("agentrace"),
    };
    // After the previous release: its build leaves its own binary where this build's goes.
    build_server("projects", sizes)?;
    let current = sizes.bin("agentrace");
    if plan.previous.is_some() && same_file(&previous, &current) {
        return Err("the previous release's binary is this build's: nothing to compare".into());
    }
    let mut rows = Vec::new();
    if plan.runs("ingest") {
        rows.push(ingest(store, sizes, &plan, &previous, &current)?);
    }
    if plan.runs("neighbour") {
        rows.extend(neighbour(store, sizes, &plan, &current)?);
    }
    if plan.runs("many") {
        rows.push(many(store, sizes, &plan, &current)?);
    }
    Ok(rows)
}

/// One load of a fresh server of `binary`: the load generator's report.
fn run(
    name: &str,
    store: BenchStore,
    sizes: &Sizes,
    binary: &Path,
    loads: &[&[&str]],
) -> Result<Vec<Value>, String> {
    let server = BenchServer::start_binary(
        name,
        store,
        sizes,
        binary,
        &[OsStr::new("--api-token"), OsStr::new(TOKEN)],
    )?;
    let mut reports = Vec::new();
    for load in loads {
        let mut args = vec!["--token", TOKEN];
        args.extend_from_slice(load);
        match server.load(name, "whole", &args) {
            Ok(report) => reports.push(report),
            Err(e) => {
                server.stop();
                return Err(e);
            }
        }
    }
    server.stop();
    Ok(reports)
}

/// Run 1: the rounds, and the row comparing their mean rates.
fn ingest(
    store: BenchStore,
    sizes: &Sizes,
    plan: &Plan,
    previous: &Path,
    current: &Path,
) -> Result<Row, String> {
    let spans = plan.spans.as_str();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    // ABBA: each build goes first in every other round, so that the VM's drift over the
    // rounds (its speed varies by tens of percent over minutes) does not favour either.
    for round in 0..plan.rounds {
        for previous_now in [round % 2 == 0, round % 2 == 1] {
            if previous_now {
                let load: &[&str] = &["--spans", spans];
                let report = one(run("projects-previous", store, sizes, previous, &[load])?)?;
                before.push(number(&report, &["spans_per_second"])?);
            } else {
                let load: &[&str] = &["--spans", spans, "--project", "bench"];
                let report = one(run("projects-current", store, sizes, current, &[load])?)?;
                after.push(number(&report, &["spans_per_second"])?);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let change = (mean(&after) / mean(&before) - 1.0) * 100.0;
    let runs = |v: &[f64]| {
        v.iter()
            .map(|r| thousands(*r))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(Row {
        target: format!(
            "ingest into a project with its ingest key ≤ 5 % slower than the previous release ({}, issue #53)",
            store_name(store)
        ),
        figure: format!(
            "{change:+.1} %: mean of {} rounds {} spans/s into a project (runs {}) against {} for {} (runs {}), {spans} spans a run",
            plan.rounds,
            thousands(mean(&after)),
            runs(&after),
            thousands(mean(&before)),
            plan.previous.as_deref().unwrap_or("this build"),
            runs(&before),
        ),
        command: command(store, "projects"),
        met: change >= -5.0,
    })
}

/// Run 2: the small project's dashboard calls alone, then beside the large one; then the
/// large one deleted.
fn neighbour(
    store: BenchStore,
    sizes: &Sizes,
    plan: &Plan,
    current: &Path,
) -> Result<[Row; 2], String> {
    let small: &[&str] = &["--spans", &plan.small, "--project", "small"];
    let large: &[&str] = &["--spans", &plan.neighbour, "--project", "large"];
    // A few more spans into the large project, and it goes.
    let delete: &[&str] = &["--spans", "1000", "--project", "large", "--then-delete"];
    let alone = &one(run("projects-alone", store, sizes, current, &[small])?)?;
    let [_, beside, deleted]: [Value; 3] = run(
        "projects-beside",
        store,
        sizes,
        current,
        &[large, small, delete],
    )?
    .try_into()
    .map_err(|_| "three loads, three reports".to_owned())?;
    let beside = &beside;
    let mut figures = Vec::new();
    let mut met = true;
    for (name, _) in alone["queries_ms"].as_object().into_iter().flatten() {
        let p50 = |r: &Value| number(r, &["queries_ms", name, "p50"]);
        let (a, b) = (p50(alone)?, p50(beside)?);
        met &= b <= (a * AS_FAST.0).max(a + AS_FAST.1);
        figures.push(format!("{name} {a:.1} / {b:.1} ms"));
    }
    let beside_row = Row {
        target: format!(
            "a {}-span project's dashboard calls as fast beside a {}-span project as alone ({}, issue #53)",
            plan.small,
            plan.neighbour,
            store_name(store)
        ),
        figure: format!(
            "p50 alone / beside: {} (as fast: within {} × or {} ms)",
            figures.join(", "),
            AS_FAST.0,
            AS_FAST.1
        ),
        command: command(store, "projects"),
        met,
    };
    let took = number(&deleted, &["project_deleted_ms"])?;
    let deleted_row = Row {
        target: format!(
            "deleting a project removes its data, and says how fast ({}, issue #53)",
            store_name(store)
        ),
        figure: format!(
            "a {}-span project deleted in {:.2} s (the API's answer: data gone, keys revoked)",
            plan.neighbour,
            took / 1e3
        ),
        command: command(store, "projects"),
        met: true,
    };
    Ok([beside_row, deleted_row])
}

/// Run 3: the load spread over many projects, five requests a project at least (the first
/// request with a key reads it from the store: a run of one request a project would measure
/// only that).
fn many(store: BenchStore, sizes: &Sizes, plan: &Plan, current: &Path) -> Result<Row, String> {
    let projects: u64 = plan
        .projects
        .parse()
        .map_err(|e| format!("AGENTRACE_BENCH_PROJECTS: {e}"))?;
    let spans: u64 = plan
        .spans
        .parse()
        .map_err(|e| format!("AGENTRACE_BENCH_SPANS: {e}"))?;
    let spans = spans.max(projects * 5 * 300).to_string();
    let load: &[&str] = &[
        "--spans",
        &spans,
        "--project",
        "many",
        "--projects",
        &plan.projects,
    ];
    let report = &one(run("projects-many", store, sizes, current, &[load])?)?;
    Ok(Row {
        target: format!(
            "{} projects on one node ({}, issue #53)",
            plan.projects,
            store_name(store)
        ),
        figure: format!(
            "created with a key each in {:.1} s; {} spans/s spread over them ({spans} spans); RSS peak {:.0} MiB; a project's overview p50 {:.1} ms, trace list {:.1} ms",
            number(report, &["projects_created_seconds"])?,
            thousands(number(report, &["spans_per_second"])?),
            number(report, &["rss_mib", "peak"])?,
            number(report, &["queries_ms", "overview", "p50"])?,
            number(report, &["queries_ms", "trace list", "p50"])?,
        ),
        command: command(store, "projects"),
        // The load generator fails the run on a refused request.
        met: number(report, &["failed"])? == 0.0,
    })
}

/// Builds the server of `commit` from a worktree in `target/previous-release-src` into a
/// target directory of its own, `target/previous-release`: cargo names a workspace's
/// artifacts by their path within it, so two checkouts sharing one target directory would
/// take each other's libraries for fresh.
fn build_previous_release(commit: &str) -> Result<PathBuf, String> {
    let src = target_dir().join("previous-release-src");
    let head = |dir: &Path, rev: &str| {
        Command::new("git")
            .args(["rev-parse", rev])
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| o.stdout)
    };
    // A checkout of the commit already there is kept: checking it out again would touch every
    // file and have cargo build it all again.
    let wanted = head(&root(), &format!("{commit}^{{commit}}"));
    if wanted.is_none() || head(&src, "HEAD") != wanted {
        checkout(&src, commit)?;
    }
    let target = target_dir().join("previous-release");
    let mut build = cargo();
    build
        .args(["build", "--release", "-p", "agentrace-cli"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&src);
    step(
        &format!("bench projects: build the previous release ({commit})"),
        build,
    )?;
    Ok(target.join("release").join("agentrace"))
}

/// A worktree of `commit` at `src`, replacing whatever is there.
fn checkout(src: &Path, commit: &str) -> Result<(), String> {
    let mut remove = Command::new("git");
    remove
        .args(["worktree", "remove", "--force"])
        .arg(src)
        .current_dir(root());
    // Nothing to remove the first time.
    let _ = remove.output();
    let mut worktree = Command::new("git");
    worktree
        .args(["worktree", "add", "--force", "--detach"])
        .arg(src)
        .arg(commit)
        .current_dir(root());
    step(
        &format!("bench projects: check out the previous release ({commit})"),
        worktree,
    )
}

/// The last report of a run.
fn one(reports: Vec<Value>) -> Result<Value, String> {
    reports
        .into_iter()
        .next_back()
        .ok_or_else(|| "bench projects: a run made no report".into())
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((std::fs::read(a), std::fs::read(b)), (Ok(a), Ok(b)) if a == b)
}

fn store_name(store: BenchStore) -> &'static str {
    match store {
        BenchStore::Sqlite => "SQLite",
        BenchStore::ClickHouse { .. } => "ClickHouse",
    }
}

fn command(store: BenchStore, name: &str) -> String {
    match store {
        BenchStore::Sqlite => format!("cargo xtask bench {name}"),
        BenchStore::ClickHouse { .. } => {
            format!("AGENTRACE_BENCH_SPANS=200000 cargo xtask bench {name} --store clickhouse")
        }
    }
}
