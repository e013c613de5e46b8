//! agentrace Jaeger backend (being written).
