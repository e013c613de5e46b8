//! agentrace
