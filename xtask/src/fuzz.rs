//! `cargo xtask fuzz`: the fuzz targets of `fuzz/` with cargo-fuzz and libFuzzer.

use std::process::Command;
use std::sync::Mutex;

use crate::{cargo, root, step, target_dir};

/// Seconds each fuzz target runs in `ci`.
pub(crate) const CI_FUZZ_SECONDS: u32 = 15;

/// The cargo-fuzz this project pins.
pub(crate) const CARGO_FUZZ: &str = "0.13.2";

/// The fuzz targets: every `fuzz/fuzz_targets/*.rs`.
pub(crate) fn fuzz_targets() -> Result<Vec<String>, String> {
    let dir = root().join("fuzz").join("fuzz_targets");
    let mut targets: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    targets.sort();
    Ok(targets)
}

/// `cargo fuzz` in `fuzz/`, built without a sanitizer so that the stable toolchain builds it
/// (`RUSTC_BOOTSTRAP` lets cargo-fuzz's instrumentation flags through), into the shared target
/// directory.
pub(crate) fn cargo_fuzz(args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.arg("fuzz")
        .args(args)
        .current_dir(root().join("fuzz"))
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", target_dir().join("fuzz"));
    cmd
}

/// Each fuzz target (or those named) for `seconds` from its seed corpus, two at a time; new
/// inputs go to a scratch corpus, so the committed one changes only by hand. Built optimized
/// with debug assertions; `--dev` first builds them unoptimized instead (`ci`'s short pass:
/// the release build took 702 s of a fresh-clone CI run, for 15 s of fuzzing per target).
pub(crate) fn fuzz(args: &[String]) -> Result<(), String> {
    let (profile, args): (&[&str], &[String]) = match args.split_first() {
        Some((first, rest)) if first == "--dev" => (&["--dev"], rest),
        _ => (&["-O", "--debug-assertions"], args),
    };
    let seconds: u32 = match args.first() {
        Some(s) => s
            .parse()
            .map_err(|_| format!("fuzz: {s:?} is not a number of seconds"))?,
        None => 60,
    };
    let all = fuzz_targets()?;
    let named: Vec<String> = args.iter().skip(1).cloned().collect();
    if let Some(unknown) = named.iter().find(|t| !all.contains(t)) {
        return Err(format!(
            "fuzz: no target {unknown:?}; the targets: {}",
            all.join(", ")
        ));
    }
    let targets = if named.is_empty() { all } else { named };
    let installed = cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ));
    if !installed {
        let mut install = cargo();
        install.args(["install", "--locked", "cargo-fuzz", "--version", CARGO_FUZZ]);
        step("fuzz: install cargo-fuzz", install)?;
    }
    let build = [&["build", "--sanitizer", "none"], profile].concat();
    step("fuzz: build the targets", cargo_fuzz(&build))?;
    // libFuzzer runs on one core: two targets at a time use both of a CI machine's.
    let queue = Mutex::new(targets.into_iter());
    let next = || queue.lock().ok().and_then(|mut q| q.next());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..FUZZ_WORKERS)
            .map(|_| {
                scope.spawn(|| {
                    while let Some(target) = next() {
                        run_target(&target, profile, seconds)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err("fuzz: a worker panicked".into()))
            })
            .collect::<Result<Vec<()>, String>>()
    })?;
    Ok(())
}

/// How many fuzz targets run at a time.
const FUZZ_WORKERS: usize = 2;

/// Fuzz target `target`, built with `profile`, for `seconds`.
fn run_target(target: &str, profile: &[&str], seconds: u32) -> Result<(), String> {
    let scratch = target_dir().join("fuzz-corpus").join(target);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let seeds = root().join("fuzz").join("corpus").join(target);
    let (scratch, seeds) = (scratch.display().to_string(), seeds.display().to_string());
    let time = format!("-max_total_time={seconds}");
    let run = [
        &["run", "--sanitizer", "none"],
        profile,
        &[
            target,
            &scratch,
            &seeds,
            "--",
            &time,
            "-rss_limit_mb=4096",
            "-print_final_stats=1",
        ],
    ]
    .concat();
    step(&format!("fuzz: {target} for {seconds} s"), cargo_fuzz(&run))
}
