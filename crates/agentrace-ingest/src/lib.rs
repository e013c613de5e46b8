//! agentrace ingest (being written): OTLP decoded into records, dialects normalized, orphans
//! repaired.
