//! A spool of held spans an earlier release left in a node's data directory (that release
//! kept them on the node): a node of this release started over it writes its spans once, each
//! into its project, then removes it. On the real engine (the chdb fixture); without the
//! fixture's virtualenv it skips, loudly (under `CI=true` it fails).

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use agentrace_clickhouse::ClickHouseStore;
use agentrace_core::{Resource, SpanId, SpanRecord, TraceId};
use agentrace_store::{Repairs, SpanFilter, SpanQuery, TraceReader};

/// A record as the earlier release appended it: length, CRC-32, then the project's id and
/// the span as MessagePack with its fields named.
fn record(project: u32, span: &SpanRecord) -> Result<Vec<u8>, Box<dyn Error>> {
    let payload = rmp_serde::to_vec_named(&(project, span))?;
    let mut out = u32::try_from(payload.len())?.to_le_bytes().to_vec();
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

#[test]
fn an_earlier_releases_spool_is_written_once_then_removed() -> Result<(), Box<dyn Error>> {
    let Some(python) = agentrace_clickhouse::testing::python() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let server =
        agentrace_clickhouse::testing::ChdbServer::start(&python, &dir.path().join("engine"));
    let spool = dir.path().join("held-spans");
    std::fs::create_dir_all(&spool)?;
    let trace = TraceId::from_bytes([3; 16]);
    let mut call = SpanRecord::new(
        trace,
        SpanId::from_bytes([2; 8]),
        "chat gpt-4o",
        2_000,
        3_000,
        Arc::new(Resource::new("svc")),
    );
    call.parent_span_id = Some(SpanId::from_bytes([1; 8]));
    let mut segment = record(1, &call)?;
    // A torn record after it, as a crash mid-append leaves: not read.
    segment.extend_from_slice(&record(1, &call)?[..10]);
    std::fs::write(spool.join("0000000000000000.spool"), segment)?;

    let store =
        ClickHouseStore::open_blocking(clickhouse::Client::default(), server.url(), "spool")?;
    store.hold_awaiting(Duration::from_secs(3600))?;
    assert_eq!(store.write_spool(&spool)?, 1);
    assert!(!spool.exists(), "the spool is removed once written");
    assert_eq!(store.spans_awaiting_parent(), 0, "written, not held on");
    let mut query = SpanQuery::new(SpanFilter::new());
    query.filter.trace_id = Some(trace);
    let stored = TraceReader::spans(&store, &query)?.spans;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].name, "chat gpt-4o");
    assert_eq!(store.write_spool(&spool)?, 0, "no spool: nothing to write");
    Ok(())
}
