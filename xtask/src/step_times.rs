//! Every step's time, kept as the steps run and printed as one table at the end of
//! `cargo xtask ci` (whether it passed or not), so that each run shows where CI's time goes.

use std::sync::Mutex;

/// A step that ran: its name, how long it took, whether it passed, whether it ran in the
/// background of other steps (its time is then theirs too, and not added to the total).
struct Step {
    name: String,
    seconds: f64,
    passed: bool,
    background: bool,
}

static STEPS: Mutex<Vec<Step>> = Mutex::new(Vec::new());

/// Records a step that ran.
pub(crate) fn record(name: &str, seconds: f64, passed: bool) {
    push(name, seconds, passed, false);
}

/// Records a step that ran in the background of others.
pub(crate) fn record_background(name: &str, seconds: f64, passed: bool) {
    push(name, seconds, passed, true);
}

fn push(name: &str, seconds: f64, passed: bool, background: bool) {
    if let Ok(mut steps) = STEPS.lock() {
        steps.push(Step {
            name: name.to_owned(),
            seconds,
            passed,
            background,
        });
    }
}

/// The table of the steps recorded so far, in the order they ran, with their share of the
/// total.
pub(crate) fn table() -> String {
    let Ok(steps) = STEPS.lock() else {
        return String::new();
    };
    render(&steps)
}

fn render(steps: &[Step]) -> String {
    let total: f64 = steps
        .iter()
        .filter(|s| !s.background)
        .map(|s| s.seconds)
        .sum();
    let mut out = String::from("\nstep times:\n");
    for step in steps {
        let share = if step.background {
            "   - ".to_owned()
        } else if total > 0.0 {
            format!("{:>5.1}", 100.0 * step.seconds / total)
        } else {
            format!("{:>5.1}", 0.0)
        };
        out.push_str(&format!(
            "{:>8.1}s {share}%  {}{}{}\n",
            step.seconds,
            step.name,
            if step.background {
                "  (in the background)"
            } else {
                ""
            },
            if step.passed { "" } else { "  (failed)" }
        ));
    }
    out.push_str(&format!(
        "{total:>8.1}s in {} steps (those in the background not added)\n",
        steps.len()
    ));
    out
}

#[test]
fn the_table_gives_each_step_its_time_and_share() {
    let table = render(&[
        Step {
            name: "clippy".into(),
            seconds: 30.0,
            passed: true,
            background: false,
        },
        Step {
            name: "install".into(),
            seconds: 40.0,
            passed: true,
            background: true,
        },
        Step {
            name: "tests".into(),
            seconds: 90.0,
            passed: false,
            background: false,
        },
    ]);
    assert!(table.contains("    30.0s  25.0%  clippy\n"), "{table}");
    assert!(
        table.contains("    90.0s  75.0%  tests  (failed)\n"),
        "{table}"
    );
    assert!(
        table.contains("    40.0s    - %  install  (in the background)\n"),
        "{table}"
    );
    assert!(
        table.ends_with("   120.0s in 3 steps (those in the background not added)\n"),
        "{table}"
    );
}
