//! The Alertmanager channel: its v2 API (`POST /api/v2/alerts`).
//!
//! An alert is identified by its labels: `alertname` (the rule), the rule's scope and
//! per-dimension value, and `severity` (`warning`, `critical`, or `info` for no data). A
//! firing alert is sent again at every evaluation (Alertmanager resolves an alert it has not
//! heard of for its `resolve_timeout`); a change of severity resolves the alert of the old
//! severity; a recovery sends `endsAt`.

use agentrace_core::civil::{Precision, rfc3339};
use std::collections::BTreeMap;

use serde::Serialize;

use super::{DeliveryError, REQUEST_TIMEOUT, check};
use crate::notification::{Notification, State};

/// One alert of the v2 API's `postableAlerts`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PostableAlert {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
}

/// The alerts a notification sends: the current state's if firing, and the previous state's
/// resolved if it was firing under another severity.
pub(super) fn of_notification(n: &Notification) -> Vec<PostableAlert> {
    let mut out = Vec::with_capacity(2);
    if n.state.is_firing() {
        out.push(alert(n, n.state, None));
    }
    if n.previous.is_firing() && n.previous != n.state {
        out.push(alert(
            n,
            n.previous,
            Some(rfc3339(n.time_unix_nano, Precision::Millis)),
        ));
    }
    out
}

fn alert(n: &Notification, state: State, ends_at: Option<String>) -> PostableAlert {
    let mut labels = BTreeMap::new();
    for (k, v) in &n.labels {
        labels.insert(k.clone(), v.clone());
    }
    labels.insert("alertname".to_owned(), n.rule.clone());
    labels.insert("severity".to_owned(), state.severity().to_owned());
    labels.insert("source".to_owned(), "agentrace".to_owned());
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_owned(), n.summary.clone());
    annotations.insert("state".to_owned(), n.state.name().to_owned());
    annotations.insert("measure".to_owned(), n.measure.clone());
    if let Some(v) = n.value {
        annotations.insert("value".to_owned(), v.to_string());
    }
    if let Some(d) = &n.description {
        annotations.insert("description".to_owned(), d.clone());
    }
    if let Some(b) = &n.baseline {
        annotations.insert(
            "baseline".to_owned(),
            format!(
                "mean {} (σ {}, {} windows: {}), z {:+.2}",
                b.mean, b.stddev, b.points, b.source, b.z
            ),
        );
    }
    PostableAlert {
        labels,
        annotations,
        starts_at: rfc3339(n.since_unix_nano, Precision::Millis),
        ends_at,
    }
}

pub(super) async fn deliver(
    client: &reqwest::Client,
    url: &str,
    alerts: &[PostableAlert],
) -> Result<(), DeliveryError> {
    let endpoint = format!("{}/api/v2/alerts", url.trim_end_matches('/'));
    check(
        client
            .post(endpoint)
            .timeout(REQUEST_TIMEOUT)
            .json(alerts)
            .send()
            .await?,
    )
    .await
}
