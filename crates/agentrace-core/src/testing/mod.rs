//! Test support (feature `testing`): an in-memory sink, misbehaving sinks, fixtures, and the
//! conformance suite every sink crate runs.

pub mod conformance;
pub mod fixtures;
mod memory;

pub use memory::{Fault, FaultySink, MemorySink};
