//! What the examples share: the simulated workflow, a flag reader, and the adapter examples'
//! budget, fake provider and report. Include it with
//! `#[path = "support/mod.rs"] mod support;`.

#![allow(dead_code)] // each example uses what it needs

pub(crate) mod adapters;
pub(crate) mod workflow;

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
