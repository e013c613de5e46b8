//! The history of alerts: stored, read newest first, each alert's latest after reopening.

use agentrace_sqlite::{AlertRecord, SqliteStore};
use agentrace_store::AlertHistory;

type Error = Box<dyn std::error::Error>;

fn record(time: u64, alert: &str, state: &str, previous: &str) -> AlertRecord {
    AlertRecord::new(
        time,
        alert,
        alert.split('{').next().unwrap_or(alert),
        state,
        previous,
        "change",
        format!(r#"{{"alert":"{alert}","state":"{state}"}}"#),
    )
}

#[test]
fn alert_history_reads_newest_first_and_resumes_after_reopening() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("a.db");
    {
        let store = SqliteStore::open(&path)?;
        store.insert_alert_records(&[
            record(10, "errors{model=a}", "WARNING", "OK"),
            record(20, "errors{model=b}", "ALERT", "OK"),
        ])?;
        store.insert_alert_records(&[record(30, "errors{model=a}", "OK", "WARNING")])?;
        let all = store.alert_records(None, None, 10)?;
        let times: Vec<u64> = all.iter().map(|r| r.time_unix_nano).collect();
        assert_eq!(times, [30, 20, 10]);
        let one = store.alert_records(Some("errors{model=a}"), Some(30), 10)?;
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].state, "WARNING");
        assert_eq!(store.alert_records(None, None, 1)?.len(), 1);
    }
    let store = SqliteStore::open(&path)?;
    let latest = store.latest_alert_records()?;
    let states: Vec<(&str, &str)> = latest
        .iter()
        .map(|r| (r.alert.as_str(), r.state.as_str()))
        .collect();
    assert_eq!(
        states,
        [("errors{model=a}", "OK"), ("errors{model=b}", "ALERT")]
    );
    assert!(latest[1].body.contains(r#""state":"ALERT""#));
    assert_eq!(latest[1].rule, "errors");
    Ok(())
}
