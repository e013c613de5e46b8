//! agentrace Prometheus backend (being written).
