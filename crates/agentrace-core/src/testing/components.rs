//! Tests against real components (a database engine, Prometheus, a browser): under CI
//! (`CI=true`) a missing one fails the test; elsewhere the test says loudly that it skipped.

/// Whether the tests run under CI (`CI=true` or `1`), where a missing component is a failure.
pub fn in_ci() -> bool {
    crate::env::process("CI").is_some_and(|v| v == "true" || v == "1")
}

/// Reports a missing component: panics under CI (the test fails), else prints a loud notice.
/// Returns `available`, so a test can `if !require(...) { return; }`.
///
/// # Panics
/// Under `CI=true` when `available` is false: a missing real component must fail CI.
pub fn require(available: bool, what: &str) -> bool {
    if available {
        return true;
    }
    assert!(
        !in_ci(),
        "{what} is missing and CI=true: run scripts/install-test-deps.sh (cargo xtask ci does)"
    );
    eprintln!(
        "\n!!! SKIPPED: {what} is missing; run scripts/install-test-deps.sh to test it !!!\n"
    );
    false
}
