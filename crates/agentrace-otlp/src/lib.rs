//! agentrace OTLP backend (being written).
