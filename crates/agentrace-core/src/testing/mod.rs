//! Test support (feature `testing`): an in-memory sink, misbehaving sinks, fixtures, the
//! conformance suite every sink crate runs, and the rule for tests of real components.

pub mod components;
pub mod conformance;
pub mod fixtures;
mod memory;

pub use memory::{Fault, FaultySink, MemorySink};
