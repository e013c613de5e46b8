//! The Slack channel: an incoming webhook's `{"text": …}`, escaped for Slack's mrkdwn.

use super::{DeliveryError, REQUEST_TIMEOUT, check};
use crate::notification::{Notification, Reason, State};
use crate::report::ReportMessage;

/// POSTs `{"text": text}`.
pub(super) async fn post(
    client: &reqwest::Client,
    url: &str,
    text: &str,
) -> Result<(), DeliveryError> {
    let body = serde_json::json!({ "text": text });
    check(
        client
            .post(url)
            .timeout(REQUEST_TIMEOUT)
            .json(&body)
            .send()
            .await?,
    )
    .await
}

/// A report's message: its title in bold, its lines, and the link to the whole report.
pub(super) fn report_text(r: &ReportMessage) -> String {
    let mut text = format!(":bar_chart: *{}*", escape(&r.title));
    for line in &r.lines {
        text.push_str("\n• ");
        text.push_str(&escape(line));
    }
    if let Some(link) = &r.link {
        text.push_str(&format!("\n<{}|The whole report>", escape(link)));
    }
    text
}

/// The message: an icon, the state, the alert, the summary, the rule's description.
pub(super) fn text(n: &Notification) -> String {
    let icon = match n.state {
        State::Alert => ":red_circle:",
        State::Warning => ":large_orange_circle:",
        State::NoData => ":white_circle:",
        State::Ok => ":large_green_circle:",
    };
    let again = if n.reason == Reason::Reminder {
        " (still)"
    } else {
        ""
    };
    let mut text = format!(
        "{icon} *{}*{again} {}\n{}",
        n.state,
        escape(&n.alert),
        escape(&n.summary)
    );
    if let Some(d) = &n.description {
        text.push('\n');
        text.push_str(&escape(d));
    }
    text
}

/// Slack's three control characters, as its docs ask.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn telemetry_cannot_ping_channels_or_forge_links() {
        assert_eq!(
            escape("<!channel> <http://evil|click> & co"),
            "&lt;!channel&gt; &lt;http://evil|click&gt; &amp; co"
        );
    }
}
