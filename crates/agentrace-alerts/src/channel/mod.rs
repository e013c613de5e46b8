//! Where notifications go: the server's log, a signed webhook, a Slack incoming webhook,
//! Prometheus Alertmanager. Each is configured by a [`ChannelConfig`] and sends one
//! [`Delivery`] at a time from the notifier's thread.
//!
//! # Writing a channel
//! A channel turns a [`Delivery`] into one request (or a log line) and says whether it
//! arrived: `Ok(())`, or a [`DeliveryError`] the notifier retries with backoff. It never
//! retries or sleeps itself, and it escapes telemetry text for whatever renders it (Slack's
//! mrkdwn, for one): labels and summaries are attacker-controlled.

mod alertmanager;
mod log;
mod slack;
pub(crate) mod webhook;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::notification::Notification;
use crate::report::ReportMessage;

/// A channel, as written in the alerts file (`[[channels]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChannelConfig {
    /// Unique name; rules route to channels by it.
    pub name: String,
    /// What it is.
    #[serde(flatten)]
    pub kind: ChannelKind,
}

impl ChannelConfig {
    /// A channel named `name`.
    pub fn new(name: impl Into<String>, kind: ChannelKind) -> Self {
        Self {
            name: name.into(),
            kind,
        }
    }
}

/// The kinds of channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChannelKind {
    /// The server's log: a `tracing` warning per firing notification, info per recovery.
    Log,
    /// A JSON `POST` of the [`Notification`], signed with HMAC-SHA256 when a secret is set:
    /// `X-Agentrace-Timestamp: <unix seconds>` and
    /// `X-Agentrace-Signature: sha256=<hex of HMAC(secret, "<timestamp>.<body>")>`.
    Webhook {
        /// Where to `POST`.
        url: String,
        /// The signing secret (else unsigned).
        #[serde(default)]
        secret: Option<String>,
    },
    /// A Slack-compatible incoming webhook (`{"text": …}`; Mattermost and others take it).
    Slack {
        /// The incoming webhook's URL.
        url: String,
    },
    /// Prometheus Alertmanager's v2 API: `POST <url>/api/v2/alerts`, firing alerts sent again
    /// at every evaluation, recoveries with `endsAt`.
    Alertmanager {
        /// Alertmanager's base URL (`http://localhost:9093`).
        url: String,
    },
}

impl ChannelKind {
    /// `log`, `webhook`, `slack`, `alertmanager`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Webhook { .. } => "webhook",
            Self::Slack { .. } => "slack",
            Self::Alertmanager { .. } => "alertmanager",
        }
    }

    /// The URL it sends to, if any.
    pub fn url(&self) -> Option<&str> {
        match self {
            Self::Log => None,
            Self::Webhook { url, .. } | Self::Slack { url } | Self::Alertmanager { url } => {
                Some(url)
            }
        }
    }

    /// Whether it wants every firing alert again at every evaluation (Alertmanager does).
    pub const fn wants_firing(&self) -> bool {
        matches!(self, Self::Alertmanager { .. })
    }
}

/// What a channel sends.
#[derive(Debug, Clone)]
pub(crate) enum Delivery {
    /// A change of state or a reminder.
    Notification(std::sync::Arc<Notification>),
    /// Every alert firing now (channels that [want it](ChannelKind::wants_firing)).
    Firing(Vec<Notification>),
    /// A scheduled report.
    Report(std::sync::Arc<ReportMessage>),
}

/// A delivery did not arrive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The request failed (connection, timeout).
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    /// The receiver answered with an error status.
    #[error("the receiver answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// The payload could not be encoded.
    #[error("cannot encode the payload: {0}")]
    Encode(#[from] serde_json::Error),
}

/// How long one request may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one delivery through the channel `kind`.
pub(crate) async fn deliver(
    client: &reqwest::Client,
    kind: &ChannelKind,
    delivery: &Delivery,
) -> Result<(), DeliveryError> {
    match (kind, delivery) {
        (ChannelKind::Log, Delivery::Notification(n)) => {
            log::deliver(n);
            Ok(())
        }
        (ChannelKind::Webhook { url, secret }, Delivery::Notification(n)) => {
            webhook::post(client, url, secret.as_deref(), serde_json::to_vec(&**n)?).await
        }
        (ChannelKind::Slack { url }, Delivery::Notification(n)) => {
            slack::post(client, url, &slack::text(n)).await
        }
        (ChannelKind::Alertmanager { url }, Delivery::Notification(n)) => {
            alertmanager::deliver(client, url, &alertmanager::of_notification(n)).await
        }
        (ChannelKind::Alertmanager { url }, Delivery::Firing(all)) => {
            let alerts: Vec<_> = all.iter().flat_map(alertmanager::of_notification).collect();
            if alerts.is_empty() {
                return Ok(());
            }
            alertmanager::deliver(client, url, &alerts).await
        }
        (_, Delivery::Firing(_)) => Ok(()),
        (ChannelKind::Log, Delivery::Report(r)) => {
            log::report(r);
            Ok(())
        }
        (ChannelKind::Webhook { url, secret }, Delivery::Report(r)) => {
            webhook::post(client, url, secret.as_deref(), serde_json::to_vec(&**r)?).await
        }
        (ChannelKind::Slack { url }, Delivery::Report(r)) => {
            slack::post(client, url, &slack::report_text(r)).await
        }
        // Alertmanager takes alerts only.
        (ChannelKind::Alertmanager { .. }, Delivery::Report(_)) => Ok(()),
    }
}

/// `Ok` for a 2xx answer, else the status and the start of the body.
async fn check(response: reqwest::Response) -> Result<(), DeliveryError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    Err(DeliveryError::Status {
        status: status.as_u16(),
        body: body.chars().take(200).collect(),
    })
}
