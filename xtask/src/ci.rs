//! `cargo xtask ci`: everything CI runs, in order, and the clippy of each feature alone.

use std::time::Instant;

use crate::{
    cargo,
    dashboard::dashboard,
    demo::demo,
    fuzz::{CI_FUZZ_SECONDS, fuzz},
    has_nextest,
    integration::{
        INTEGRATION_CRATE, clickhouse_venv, install_test_deps_in_background, integration_suite,
    },
    root, step,
};

pub(crate) fn ci() -> Result<(), String> {
    let result = every_step();
    print!("{}", crate::step_times::table());
    result
}

fn every_step() -> Result<(), String> {
    let started = Instant::now();
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    step("format", fmt)?;
    // What the tests run against installs while clippy builds.
    let installing = install_test_deps_in_background()?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    step("clippy", clippy)?;
    each_feature_alone()?;

    let mut tests = cargo();
    if has_nextest() {
        tests.args([
            "nextest",
            "run",
            "--workspace",
            "--exclude",
            INTEGRATION_CRATE,
            "--all-features",
            "--profile",
            "ci",
        ]);
    } else {
        println!("cargo-nextest is not installed; running the tests with cargo test");
        tests.args([
            "test",
            "--workspace",
            "--exclude",
            INTEGRATION_CRATE,
            "--all-features",
            "--lib",
            "--bins",
            "--tests",
            "--examples",
        ]);
    }
    // The ClickHouse crate's own tests run the real engine: its virtualenv comes first.
    installing.finish()?;
    tests.env("AGENTRACE_CLICKHOUSE_VENV", clickhouse_venv());
    step("tests", tests)?;

    let mut doc = cargo();
    doc.args(["test", "--workspace", "--all-features", "--doc"]);
    step("doc tests", doc)?;

    // As docs.rs builds them: every feature, `--cfg docsrs` (each item marked with the
    // features it needs, through the nightly `doc_cfg`, which RUSTC_BOOTSTRAP lets through).
    let mut docs = cargo();
    docs.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "--cfg docsrs -D warnings")
        .env("RUSTC_BOOTSTRAP", "1");
    step(
        "docs as docs.rs builds them (broken links are errors)",
        docs,
    )?;

    dashboard("check")?;
    demo()?;
    fuzz(&["--dev".to_owned(), CI_FUZZ_SECONDS.to_string()])?;
    integration_suite()?;
    crate::bench::smoke()?;
    println!(
        "\nci: all steps passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The packages whose features are built one at a time, and their manifests.
pub(crate) const FEATURE_PACKAGES: [(&str, &str); 2] = [
    ("agentrace", "Cargo.toml"),
    ("agentrace-core", "crates/agentrace-core/Cargo.toml"),
];

/// The features a manifest declares, `default` left out.
pub(crate) fn features_of(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .skip_while(|line| line.trim() != "[features]")
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim()))
        .filter(|name| !name.is_empty() && !name.starts_with('#') && *name != "default")
        .map(str::to_owned)
        .collect()
}

/// Clippy on the facade and the core with no default features, then with each feature alone:
/// what a user who picks features gets must build, warning-free.
pub(crate) fn each_feature_alone() -> Result<(), String> {
    for (package, manifest) in FEATURE_PACKAGES {
        let manifest = std::fs::read_to_string(root().join(manifest))
            .map_err(|e| format!("reading {manifest}: {e}"))?;
        let features = features_of(&manifest);
        if features.is_empty() {
            return Err(format!(
                "{package} declares no features: is its manifest read right?"
            ));
        }
        for feature in std::iter::once(None).chain(features.iter().map(Some)) {
            let mut clippy = cargo();
            clippy.args(["clippy", "-p", package, "--no-default-features"]);
            if let Some(feature) = feature {
                clippy.args(["--features", feature]);
            }
            clippy.args(["--", "-D", "warnings"]);
            let name = format!(
                "clippy {package} with {}",
                feature.map_or("no features".to_owned(), |f| format!("only {f}"))
            );
            step(&name, clippy)?;
        }
    }
    Ok(())
}

#[test]
fn features_of_reads_the_features_table() {
    let manifest = "[package]\nname = \"x\"\n\n[features]\ndefault = [\"a\"]\n## A.\na = [\"dep:y\"]\nb = []\n\n[dependencies]\nc = \"1\"\n";
    assert_eq!(features_of(manifest), ["a", "b"]);
    let facade = std::fs::read_to_string(root().join("Cargo.toml")).unwrap_or_default();
    assert!(features_of(&facade).contains(&"tiktoken".to_owned()));
}
