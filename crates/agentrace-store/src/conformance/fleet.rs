//! What one node of a store knows of the fleet: itself alive from its heartbeat on, and no
//! arrivals of its own (they are the other nodes' records). A store of one node has no id,
//! sees no nodes and no arrivals.

use agentrace_core::now_unix_nano;

use crate::{Store, Wanted};

use super::fixtures::{SEC, five_traces};
use super::{CheckResult, ensure, expect_eq};

/// A node's heartbeat makes it alive since then, not after; what it wrote itself never comes
/// back as another node's arrival.
pub fn a_node_is_alive_from_its_heartbeat_and_never_its_own_arrival(
    store: &dyn Store,
) -> CheckResult {
    let now = now_unix_nano();
    store.heartbeat(now)?;
    let node = store.node().map(str::to_owned);
    expect_eq(
        "the nodes alive since its heartbeat",
        &node.clone().into_iter().collect::<Vec<_>>(),
        &store.nodes_since(now)?,
    )?;
    if node.is_some() {
        expect_eq(
            "the nodes alive since an hour after its heartbeat",
            &Vec::<String>::new(),
            &store.nodes_since(now + 3_600 * SEC)?,
        )?;
    }
    let since = now.saturating_sub(3_600 * SEC);
    store.write_spans(&five_traces())?;
    for wanted in [Wanted::Priced, Wanted::Everything] {
        let arrivals = store.arrivals(since, wanted, 1_000)?;
        ensure(
            arrivals.spans.is_empty() && arrivals.events.is_empty(),
            format!(
                "its own {} spans and {} events returned as another node's ({wanted:?})",
                arrivals.spans.len(),
                arrivals.events.len()
            ),
        )?;
        ensure(
            arrivals.until_unix_nano >= since,
            format!(
                "arrivals until {}, before the {since} asked from",
                arrivals.until_unix_nano
            ),
        )?;
    }
    Ok(())
}
