//! Insert throughput and query latency (placeholder).

fn main() {}
