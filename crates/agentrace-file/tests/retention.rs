//! Retention by number of files and by age.

mod common;

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use agentrace_core::{EventSink, Sink};
use agentrace_file::{JsonlSink, Rotation, read_events};
use common::{DAY, ManualClock, NOV_21, TestResult, events, messages, names};

fn touch(path: &Path, modified: SystemTime) -> std::io::Result<()> {
    let file = File::options().create(true).append(true).open(path)?;
    file.set_modified(modified)
}

#[tokio::test]
async fn max_files_keeps_the_newest_at_rotation() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path())
        .rotation(Rotation::size(1))
        .max_files(3)
        .clock(ManualClock::at(NOV_21).clock())
        .build()?;
    for i in 0..10 {
        sink.export_events(&events(i..i + 1)).await?;
    }
    sink.flush().await?;
    assert_eq!(
        names(dir.path())?,
        [
            "agentrace-2026-11-21-0007.jsonl",
            "agentrace-2026-11-21-0008.jsonl",
            "agentrace-2026-11-21-0009.jsonl",
        ]
    );
    assert_eq!(
        messages(&read_events(dir.path())?),
        messages(&events(7..10))
    );
    Ok(())
}

#[tokio::test]
async fn max_files_applies_at_build_and_spares_other_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    for day in 10..15 {
        touch(
            &dir.path()
                .join(format!("agentrace-2026-11-{day}-0000.jsonl")),
            SystemTime::now(),
        )?;
    }
    std::fs::write(dir.path().join("notes.txt"), "keep me")?;
    std::fs::write(dir.path().join("other-2026-11-01-0000.jsonl"), "")?;

    let sink = JsonlSink::builder(dir.path())
        .max_files(2)
        .clock(ManualClock::at(NOV_21).clock())
        .build()?;
    // The sink writes a new file for today; with it, two files of the prefix remain.
    assert_eq!(
        names(dir.path())?,
        [
            "agentrace-2026-11-14-0000.jsonl",
            "agentrace-2026-11-21-0000.jsonl",
            "notes.txt",
            "other-2026-11-01-0000.jsonl",
        ]
    );
    let report = sink.enforce_retention()?;
    assert!(report.deleted.is_empty() && report.failed.is_empty());
    Ok(())
}

#[tokio::test]
async fn max_age_deletes_old_files_but_never_the_active_one() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at(NOV_21 + 3_600);
    let now = clock.now();
    let old = now - Duration::from_secs(10 * DAY);
    let recent = now - Duration::from_secs(DAY);
    let p = |name: &str| dir.path().join(name);
    touch(&p("agentrace-2026-11-10-0000.jsonl"), old)?;
    touch(&p("agentrace-2026-11-10-0001.jsonl"), old)?;
    touch(&p("agentrace-2026-11-20-0000.jsonl"), recent)?;
    // The newest file is old too, but it is of today and is appended to: it is kept.
    touch(&p("agentrace-2026-11-21-0000.jsonl"), old)?;

    let sink = JsonlSink::builder(dir.path())
        .rotation(Rotation::daily())
        .max_age(Duration::from_secs(7 * DAY))
        .clock(clock.clock())
        .build()?;
    assert_eq!(
        names(dir.path())?,
        [
            "agentrace-2026-11-20-0000.jsonl",
            "agentrace-2026-11-21-0000.jsonl",
        ]
    );

    // Nine days later the sink rotates, and the file of Nov 20 is now too old; the file of
    // Nov 21, last written a day ago, stays.
    clock.set(NOV_21 + 9 * DAY);
    touch(
        &p("agentrace-2026-11-21-0000.jsonl"),
        clock.now() - Duration::from_secs(DAY),
    )?;
    sink.export_events(&events(0..1)).await?;
    sink.flush().await?;
    assert_eq!(
        names(dir.path())?,
        [
            "agentrace-2026-11-21-0000.jsonl",
            "agentrace-2026-11-30-0000.jsonl",
        ]
    );
    assert_eq!(messages(&read_events(dir.path())?), ["event 0"]);
    Ok(())
}

#[tokio::test]
async fn enforce_retention_on_demand() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at(NOV_21);
    let sink = JsonlSink::builder(dir.path())
        .max_age(Duration::from_secs(DAY))
        .clock(clock.clock())
        .build()?;
    let stale = dir.path().join("agentrace-2026-11-01-0000.jsonl");
    touch(&stale, clock.now() - Duration::from_secs(2 * DAY))?;
    let report = sink.enforce_retention()?;
    assert_eq!(report.deleted, [stale]);
    sink.shutdown().await?;
    assert!(sink.enforce_retention().is_err(), "after shutdown");
    Ok(())
}
