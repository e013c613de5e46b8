//! What the examples share: the simulated workflow, a flag reader, and the adapter examples'
//! budget, fake provider and report. Include it with
//! `#[path = "support/mod.rs"] mod support;`.

#![allow(dead_code)] // each example uses what it needs

pub(crate) mod adapters;
pub(crate) mod workflow;

/// Flushes and shuts down `guard`, then prints what each sink exported, failed and dropped: a
/// backend that is down costs the records, never the run.
pub(crate) fn finish(guard: agentrace::TelemetryGuard) {
    if let Err(e) = guard.flush() {
        eprintln!("flush: {e} (is the backend running?)");
    }
    let stats = guard.stats();
    if let Err(e) = guard.shutdown() {
        eprintln!("shutdown: {e}");
    }
    for sink in &stats.sinks {
        println!(
            "sink {}: exported {}, failed {}, dropped {}{}",
            sink.name,
            sink.exported,
            sink.failed,
            sink.dropped,
            sink.last_error
                .as_deref()
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default()
        );
    }
}

/// The value after `--name` on the command line, if given.
pub(crate) fn flag(name: &str) -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg.strip_prefix("--") == Some(name) {
            return args.next();
        }
    }
    None
}
