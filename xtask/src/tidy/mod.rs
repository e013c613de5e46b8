//! Repository rules as tests (after rust-analyzer's `tidy.rs`): the crates' layering and the
//! modules' within each crate, the server's top-level modules as the steps of its walk, links
//! in the docs that point at files that exist, and every `AGENTRACE_*` variable documented.
//! Run by `cargo test -p xtask` (and so by `cargo xtask ci`).

mod module_graph;
mod store_traits;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::{files, root};

/// Which crates of ours each library crate may depend on (its `[dependencies]`, not its
/// dev-dependencies). Core depends on nothing of ours; backends, framework adapters and the
/// ingest on core (the OTLP and Prometheus backends also on `agentrace-otel`, the bridge to the
/// OpenTelemetry SDK they share, and the Jaeger backend on the OTLP one it presets); the adapter
/// kit on core and the fake provider it serves; the server and the CLI assemble them; the
/// facade only re-exports. A new edge is a decision: add it here.
const LAYERS: &[(&str, &[&str])] = &[
    ("agentrace-core", &[]),
    ("agentrace-file", &["agentrace-core"]),
    ("agentrace-store", &["agentrace-core"]),
    ("agentrace-sqlite", &["agentrace-core", "agentrace-store"]),
    (
        "agentrace-clickhouse",
        &["agentrace-core", "agentrace-store"],
    ),
    ("agentrace-ingest", &["agentrace-core"]),
    ("agentrace-otel", &["agentrace-core"]),
    ("agentrace-alerts", &["agentrace-core"]),
    ("agentrace-evaluators", &["agentrace-core"]),
    ("agentrace-otlp", &["agentrace-core", "agentrace-otel"]),
    (
        "agentrace-prometheus",
        &["agentrace-core", "agentrace-otel"],
    ),
    ("agentrace-jaeger", &["agentrace-core", "agentrace-otlp"]),
    ("agentrace-loadgen", &[]),
    ("agentrace-fake-openai", &[]),
    ("agentrace-async-openai", &["agentrace-core"]),
    ("agentrace-genai", &["agentrace-core"]),
    ("agentrace-rig", &["agentrace-core"]),
    ("agentrace-rmcp", &["agentrace-core"]),
    (
        "agentrace-adapter-kit",
        &["agentrace-core", "agentrace-fake-openai"],
    ),
    (
        "agentrace-server",
        &[
            "agentrace-core",
            "agentrace-ingest",
            "agentrace-alerts",
            "agentrace-evaluators",
            "agentrace-store",
            "agentrace-sqlite",
            "agentrace-clickhouse",
            "agentrace-prometheus",
            "agentrace-otlp",
        ],
    ),
    (
        "agentrace-cli",
        &[
            "agentrace-alerts",
            "agentrace-core",
            "agentrace-file",
            "agentrace-otlp",
            "agentrace-server",
            "agentrace-store",
            "agentrace-sqlite",
        ],
    ),
    (
        "agentrace",
        &[
            "agentrace-core",
            "agentrace-file",
            "agentrace-store",
            "agentrace-sqlite",
            "agentrace-clickhouse",
            "agentrace-prometheus",
            "agentrace-otlp",
            "agentrace-jaeger",
            "agentrace-async-openai",
            "agentrace-genai",
            "agentrace-rig",
            "agentrace-rmcp",
            "agentrace-adapter-kit",
        ],
    ),
];

/// The names of our crates among the `[dependencies]` of a `Cargo.toml`.
fn our_dependencies(manifest: &str) -> BTreeSet<String> {
    let mut in_dependencies = false;
    let mut out = BTreeSet::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if in_dependencies
            && line.starts_with("agentrace")
            && let Some(name) = line.split(['=', '.', ' ']).next()
        {
            out.insert(name.to_owned());
        }
    }
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The manifests of the workspace's crates: the facade, `crates/*` and `crates/adapters/*`.
fn manifests() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("agentrace".to_owned(), read(&root().join("Cargo.toml")));
    for dir in crate_dirs() {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        out.insert(name.unwrap_or_default(), read(&dir.join("Cargo.toml")));
    }
    out
}

/// The folders of the crates under `crates/` and `crates/adapters/`.
fn crate_dirs() -> Vec<PathBuf> {
    let crates = root().join("crates");
    [crates.clone(), crates.join("adapters")]
        .iter()
        .flat_map(std::fs::read_dir)
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|dir| dir.join("Cargo.toml").exists())
        .collect()
}

#[test]
fn crates_depend_only_on_the_layers_below_them() {
    let layers: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (name, manifest) in manifests() {
        let Some(allowed) = layers.get(name.as_str()) else {
            wrong.push(format!(
                "{name}: not in the tidy test's LAYERS; give it its place"
            ));
            continue;
        };
        for dependency in our_dependencies(&manifest) {
            if !allowed.contains(&dependency.as_str()) {
                wrong.push(format!("{name} depends on {dependency}"));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

/// The dependencies of a `Cargo.toml` (every `*dependencies` table) that name a version of
/// their own: neither `workspace = true` nor a `path`.
fn versioned_here(manifest: &str) -> Vec<String> {
    let mut in_dependencies = false;
    let mut out = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line.trim_matches(['[', ']']).ends_with("dependencies");
            continue;
        }
        if in_dependencies
            && !line.starts_with('#')
            && line.contains('=')
            && !line.contains("workspace")
            && !line.contains("path")
        {
            out.push(line.to_owned());
        }
    }
    out
}

#[test]
fn every_dependency_is_declared_once_in_the_workspace() {
    let mut manifests = manifests();
    for dir in ["xtask", "tests/integration", "examples"] {
        let path = root().join(dir).join("Cargo.toml");
        if path.exists() {
            manifests.insert(dir.to_owned(), read(&path));
        }
    }
    let wrong: Vec<String> = manifests
        .iter()
        .flat_map(|(name, manifest)| {
            // The facade's own [workspace.dependencies] are the declarations.
            let manifest = match name.as_str() {
                "agentrace" => manifest
                    .split("[workspace.dependencies]")
                    .next()
                    .unwrap_or_default(),
                _ => manifest.as_str(),
            };
            versioned_here(manifest)
                .into_iter()
                .map(move |line| format!("{name}: {line}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "declare these in [workspace.dependencies] and write `name.workspace = true`:\n{}",
        wrong.join("\n")
    );
}

/// The source folders of the workspace's crates.
fn source_folders() -> Vec<PathBuf> {
    let others = ["src", "xtask/src", "tests/integration/src"].map(|p| root().join(p));
    others
        .into_iter()
        .chain(crate_dirs().into_iter().map(|dir| dir.join("src")))
        .collect()
}

/// Within a crate, the arrows between sibling modules run one way: a module's children form
/// no circle (a child may use its parent and the parent its children; siblings one way only).
/// Such a circle means no module of it can be read, tested or moved without the others.
#[test]
fn modules_refer_to_their_siblings_one_way() {
    let mut report = String::new();
    for src in source_folders() {
        let folder = src
            .parent()
            .and_then(|p| p.strip_prefix(root()).ok())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        for circle in module_graph::ModuleGraph::read(&src).circles() {
            let parent = circle.parent.join("::");
            report.push_str(&format!(
                "{folder}: the modules under `{}` refer round a circle:\n",
                if parent.is_empty() { "crate" } else { &parent }
            ));
            for (from, to, written, file) in &circle.arrows {
                let file = file.strip_prefix(root()).unwrap_or(file).display();
                report.push_str(&format!("  {from} -> {to} ({written} in {file})\n"));
            }
        }
    }
    assert!(report.is_empty(), "{report}");
}

/// The top-level modules of `agentrace serve` (`crates/agentrace-server/src`), each with why
/// it is one: the steps of the data's walk, on the two foundations every step stands on, in
/// the order they refer to each other (the table "The walk" of the crate's docs). A module that
/// belongs to a step goes into that step's folder; a new step, or a new foundation, is a
/// decision: add it here with its reason.
const SERVER_WALK: &[(&str, &str)] = &[
    (
        "config",
        "every setting, its layers and its checks: what every step is told",
    ),
    (
        "store",
        "the store the configuration names, opened: where every step reads or writes",
    ),
    (
        "telemetry",
        "the server's own figures, which every step counts into",
    ),
    (
        "ingest",
        "the walk itself: receive, process, write, publish",
    ),
    (
        "jobs",
        "what runs beside the walk: retention, repairs, alerting, reports, evaluations",
    ),
    (
        "http",
        "where the stored data is read: the API, the dashboard, and the listeners' guards",
    ),
    (
        "startup",
        "Server::start wiring every step and job, the stop, the demo",
    ),
];

/// The modules a crate root declares (`mod x;`, `pub mod x;`, `mod x { … }`), leaving out
/// those under `#[cfg(test)]`.
fn mod_declarations(root_module: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut test_only = false;
    for line in root_module.lines().map(str::trim) {
        if line.starts_with("#[") {
            test_only |= line == "#[cfg(test)]";
            continue;
        }
        let item = line
            .strip_prefix("pub ")
            .or_else(|| line.strip_prefix("pub(crate) "))
            .unwrap_or(line);
        if let Some(declared) = item.strip_prefix("mod ")
            && !test_only
        {
            let name = declared.split([';', ' ', '{']).next().unwrap_or_default();
            names.insert(name.to_owned());
        }
        if !line.is_empty() {
            test_only = false;
        }
    }
    names
}

#[test]
fn the_servers_top_level_modules_are_the_steps_of_its_walk() {
    let src = root().join("crates/agentrace-server/src");
    let root_module = read(&src.join("lib.rs"));
    let mut found: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for name in mod_declarations(&root_module) {
        found.entry(name).or_default().push("a `mod` of lib.rs");
    }
    for entry in std::fs::read_dir(&src).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "lib.rs" {
            let module = name.strip_suffix(".rs").unwrap_or(&name).to_owned();
            found.entry(module).or_default().push("an entry of src/");
        }
    }
    let listed: BTreeMap<&str, &str> = SERVER_WALK.iter().copied().collect();
    let mut wrong = Vec::new();
    for (module, seen) in &found {
        if !listed.contains_key(module.as_str()) {
            wrong.push(format!(
                "{module} ({}): not a step of the walk. Put it in the folder of the step it \
                 belongs to (ingest/, jobs/, http/, …), or, if it is a step of its own, add it \
                 to SERVER_WALK in xtask/src/tidy/mod.rs with its reason and to the table of \
                 the crate's docs",
                seen.join(", ")
            ));
        }
    }
    for (module, reason) in &listed {
        let declared = found.get(*module).is_some_and(|seen| seen.len() == 2);
        if !declared {
            wrong.push(format!(
                "{module} ({reason}): listed in SERVER_WALK, but not both declared in lib.rs \
                 and in src/; remove it from the list, or restore it"
            ));
        }
        let documented = [format!("`{module}/`"), format!("`{module}.rs`")]
            .iter()
            .any(|name| root_module.contains(&format!("//! | {name} |")));
        if !documented {
            wrong.push(format!(
                "{module}: missing from the table \"The walk\" of agentrace-server's lib.rs"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "agentrace-server's top-level modules are the steps of its walk:\n{}",
        wrong.join("\n")
    );
}

/// Relative link targets of Markdown text: `](target)`, without an anchor or a title.
fn markdown_links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split([' ', '#']).next().unwrap_or_default();
        if !target.is_empty()
            && !target.contains("://")
            && !target.starts_with("mailto:")
            && !target.starts_with('<')
        {
            out.push(target.to_owned());
        }
        rest = &rest[end..];
    }
    out
}

#[test]
fn links_in_the_docs_name_files_that_exist() {
    let mut markdown = Vec::new();
    files(&root(), ".md", &mut markdown);
    let mut broken = Vec::new();
    for file in &markdown {
        let dir = file.parent().unwrap_or(Path::new("."));
        for target in markdown_links(&read(file)) {
            if !dir.join(&target).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to missing files:\n{}",
        broken.join("\n")
    );
}

#[test]
fn docs_named_in_the_code_exist() {
    let mut sources = Vec::new();
    files(&root().join("crates"), ".rs", &mut sources);
    files(&root().join("xtask"), ".rs", &mut sources);
    files(&root().join("tests"), ".rs", &mut sources);
    let mut missing = Vec::new();
    for file in &sources {
        let text = read(file);
        let mut rest = text.as_str();
        while let Some(at) = rest.find("docs/") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || "/-_.".contains(c)))
                .unwrap_or(tail.len());
            let name = tail[..end].trim_end_matches('.');
            if name.ends_with(".md") && !root().join(name).exists() {
                missing.push(format!("{}: {name}", file.display()));
            }
            rest = &tail[end..];
        }
    }
    assert!(
        missing.is_empty(),
        "docs named but missing:\n{}",
        missing.join("\n")
    );
}

/// `AGENTRACE_*` names in `text`.
fn variables(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("AGENTRACE_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].trim_end_matches('_');
        if name.len() > "AGENTRACE_".len() {
            out.insert(name.to_owned());
        }
        rest = &tail[end..];
    }
    out
}

#[test]
fn every_agentrace_variable_is_documented() {
    let mut sources = Vec::new();
    files(&root().join("crates"), ".rs", &mut sources);
    files(&root().join("src"), ".rs", &mut sources);
    let used: BTreeSet<String> = sources.iter().flat_map(|f| variables(&read(f))).collect();
    let mut docs = Vec::new();
    files(&root().join("docs"), ".md", &mut docs);
    docs.push(root().join("README.md"));
    let documented: BTreeSet<String> = docs.iter().flat_map(|f| variables(&read(f))).collect();
    let undocumented: Vec<_> = used.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "variables read by the code but not in docs/ or the README: {undocumented:?}"
    );
}

/// The one module that reads the process environment for the library and the server.
const ENV_READER: &str = "crates/agentrace-core/src/env.rs";

#[test]
fn the_environment_is_read_in_one_place() {
    let mut sources = Vec::new();
    files(&root().join("crates"), ".rs", &mut sources);
    files(&root().join("src"), ".rs", &mut sources);
    let readers: Vec<String> = sources
        .iter()
        // Library and server code; benches, examples and tests set up their own runs.
        .filter(|f| f.components().any(|c| c.as_os_str() == "src") && !f.ends_with(ENV_READER))
        .filter(|f| {
            let text = read(f);
            text.contains("env::var(") || text.contains("env::var_os(")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        readers.is_empty(),
        "read environment variables through agentrace_core::env ({ENV_READER}), not in {readers:?}"
    );
}

/// The names a crate root makes public: its `pub mod`s and what its `pub use`s name (the last
/// segment of each path; `*` when it re-exports a glob).
fn public_names(root_module: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = root_module;
    while let Some(at) = rest.find("pub ") {
        let tail = &rest[at + 4..];
        let end = tail.find(';').unwrap_or(tail.len());
        let item = &tail[..end];
        if let Some(module) = item.strip_prefix("mod ") {
            let name = module.split(|c: char| c.is_whitespace() || c == '{').next();
            names.insert(name.unwrap_or_default().to_owned());
        } else if let Some(path) = item.strip_prefix("use ") {
            let list = path.rsplit_once('{').map_or(path, |(_, list)| list);
            for name in list.split(',') {
                let name = name.trim().trim_end_matches('}').trim();
                let name = name.rsplit_once(" as ").map_or(name, |(_, alias)| alias);
                let name = name.rsplit("::").next().unwrap_or(name).trim();
                if !name.is_empty() {
                    names.insert(name.to_owned());
                }
            }
        }
        rest = &tail[end.min(tail.len())..];
    }
    names
}

#[test]
fn the_facade_reexports_the_core_by_name() {
    let core = public_names(&read(&root().join("crates/agentrace-core/src/lib.rs")));
    let facade = public_names(&read(&root().join("src/lib.rs")));
    assert!(
        !core.contains("*") && !facade.contains("*"),
        "re-export by name, not by glob: core {core:?}, facade {facade:?}"
    );
    let missing: Vec<_> = core.difference(&facade).collect();
    assert!(
        missing.is_empty(),
        "public in agentrace-core but not re-exported by the facade: {missing:?}"
    );
}

#[test]
fn the_scanners_find_what_they_look_for() {
    assert_eq!(
        our_dependencies(
            "[dependencies]\nagentrace-core.workspace = true\nagentrace-otel = { workspace = true }\n\
             serde = \"1\"\n[dev-dependencies]\nagentrace-file.workspace = true\n"
        ),
        BTreeSet::from(["agentrace-core".to_owned(), "agentrace-otel".to_owned()])
    );
    assert_eq!(
        markdown_links("see [a](a.md#x), [b](https://x.org) and [c](../c.md \"t\")"),
        vec!["a.md", "../c.md"]
    );
    assert_eq!(
        public_names("pub mod a;\npub use b::{C, d::E as F};\npub use g::*;\npub fn h() {}"),
        BTreeSet::from(["a", "C", "F", "*"].map(str::to_owned))
    );
    assert_eq!(
        mod_declarations(
            "//! mod doc;\npub mod a;\nmod b;\npub(crate) mod c { }\n#[cfg(test)]\nmod tests;\nuse d;\n"
        ),
        BTreeSet::from(["a", "b", "c"].map(str::to_owned))
    );
    assert_eq!(
        variables("env AGENTRACE_DB_PATH and `AGENTRACE_`"),
        BTreeSet::from(["AGENTRACE_DB_PATH".to_owned()])
    );
    assert_eq!(
        versioned_here(
            "[dependencies]\na = \"1\"\nb.workspace = true\nc = { path = \"x\" }\n# d = \"1\"\n\
             [target.'cfg(unix)'.dev-dependencies]\ne = { version = \"2\" }\n[features]\nx = []\n"
        ),
        ["a = \"1\"", "e = { version = \"2\" }"]
    );
}
