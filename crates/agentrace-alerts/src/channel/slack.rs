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
    use super::{escape, report_text};
    use crate::report::ReportMessage;

    #[test]
    fn a_report_is_its_title_its_lines_and_a_link_with_telemetry_escaped() {
        let mut r = ReportMessage::new("agentrace report, 2026-11-16 → 2026-11-23", 0, 1);
        r.lines = vec!["SLO <!here> runs: 97.00 % of 95.00 % (met)".into()];
        r.link = Some("https://agentrace.example.com/api/v1/report?from=0&to=1&format=html".into());
        assert_eq!(
            report_text(&r),
            ":bar_chart: *agentrace report, 2026-11-16 → 2026-11-23*\n\
             • SLO &lt;!here&gt; runs: 97.00 % of 95.00 % (met)\n\
             <https://agentrace.example.com/api/v1/report?from=0&amp;to=1&amp;format=html|The whole report>"
        );
    }

    #[test]
    fn telemetry_cannot_ping_channels_or_forge_links() {
        assert_eq!(
            escape("<!channel> <http://evil|click> & co"),
            "&lt;!channel&gt; &lt;http://evil|click&gt; &amp; co"
        );
    }
}
