//! agentrace integration suite support (being written).
