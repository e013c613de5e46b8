//! A report sent through the channels (the server's scheduled report, docs/slos.md): a title,
//! a few headline lines, a link to the whole report, and the report itself for webhooks.

use serde::Serialize;

/// What a channel sends of a report: the log and Slack its title, lines and link; a webhook
/// all of it as JSON (`{"type": "report", …}`), signed as notifications are.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReportMessage {
    /// `"report"`: tells a webhook's receiver it is not a notification.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// One line: what, whose and which period.
    pub title: String,
    /// The project reported on, if the sender has projects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The period's start (ns since the epoch).
    pub from_unix_nano: u64,
    /// Its end.
    pub to_unix_nano: u64,
    /// The headline figures, one per line, as plain text (channels escape them).
    pub lines: Vec<String>,
    /// The whole report on the dashboard's server, if its URL is configured.
    pub link: Option<String>,
    /// The whole report as Markdown.
    pub markdown: String,
    /// The whole report as the API's JSON.
    pub report: serde_json::Value,
    /// The channels it goes to; empty: every channel. Not part of the JSON.
    #[serde(skip)]
    pub channels: Vec<String>,
}

impl ReportMessage {
    /// A report message of `from..to`.
    pub fn new(title: impl Into<String>, from_unix_nano: u64, to_unix_nano: u64) -> Self {
        Self {
            kind: "report",
            title: title.into(),
            project: None,
            from_unix_nano,
            to_unix_nano,
            lines: Vec::new(),
            link: None,
            markdown: String::new(),
            report: serde_json::Value::Null,
            channels: Vec::new(),
        }
    }

    /// Whether it goes to the channel named `channel`.
    pub fn routed_to(&self, channel: &str) -> bool {
        self.channels.is_empty() || self.channels.iter().any(|c| c == channel)
    }
}
