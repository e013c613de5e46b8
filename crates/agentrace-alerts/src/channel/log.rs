//! The log channel: a `tracing` event per notification (`agentrace.event = "alert.state"`),
//! a warning while firing, info on recovery.

use crate::notification::{Notification, State};
use agentrace_core::civil::{Precision, rfc3339};

pub(super) fn deliver(n: &Notification) {
    let value = n.value.map_or_else(|| "none".to_owned(), |v| v.to_string());
    if n.state == State::Ok {
        tracing::info!(
            agentrace.event = "alert.state",
            alert = %n.alert,
            state = n.state.name(),
            previous = n.previous.name(),
            value = %value,
            "{}",
            n.summary
        );
    } else {
        tracing::warn!(
            agentrace.event = "alert.state",
            alert = %n.alert,
            state = n.state.name(),
            previous = n.previous.name(),
            value = %value,
            "{}",
            n.summary
        );
    }
}

/// A report: its title and lines at info (`agentrace.event = "report"`).
pub(super) fn report(r: &crate::report::ReportMessage) {
    tracing::info!(
        agentrace.event = "report",
        from = %rfc3339(r.from_unix_nano, Precision::Millis),
        to = %rfc3339(r.to_unix_nano, Precision::Millis),
        "{}: {}",
        r.title,
        r.lines.join("; ")
    );
}
