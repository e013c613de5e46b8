//! Rotation by size and by UTC day, and reopening a directory.

mod common;

use agentrace_core::{EventSink, Sink, SpanSink};
use agentrace_file::{JsonlReader, JsonlSink, Record, Rotation, read_all, read_events};
use common::{DAY, ManualClock, NOV_21, TestResult, events, messages, names, spans};

#[tokio::test]
async fn size_rotation_splits_files_and_keeps_order() -> TestResult {
    let dir = tempfile::tempdir()?;
    let max = 1_000;
    let sink = JsonlSink::builder(dir.path())
        .rotation(Rotation::size(max))
        .clock(ManualClock::at(NOV_21).clock())
        .build()?;
    let sent = events(0..100);
    for batch in sent.chunks(7) {
        sink.export_events(batch).await?;
    }
    sink.flush().await?;

    let files = names(dir.path())?;
    assert!(files.len() > 5, "expected several files, got {files:?}");
    for (i, name) in files.iter().enumerate() {
        assert_eq!(name, &format!("agentrace-2026-11-21-{i:04}.jsonl"));
        let len = std::fs::metadata(dir.path().join(name))?.len();
        assert!(len <= max, "{name} has {len} bytes, over the {max} limit");
        assert!(len > 0, "{name} is empty");
    }
    assert_eq!(messages(&read_events(dir.path())?), messages(&sent));
    Ok(())
}

#[tokio::test]
async fn a_record_larger_than_the_limit_gets_a_file_of_its_own() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path())
        .rotation(Rotation::size(10))
        .build()?;
    sink.export_events(&events(0..3)).await?;
    sink.flush().await?;
    assert_eq!(names(dir.path())?.len(), 3);
    for path in common::paths(dir.path())? {
        assert_eq!(std::fs::read_to_string(path)?.lines().count(), 1);
    }
    Ok(())
}

#[tokio::test]
async fn daily_rotation_follows_the_clock_across_midnight() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at(NOV_21 + DAY - 2); // 23:59:58 on Nov 21
    let sink = JsonlSink::builder(dir.path())
        .rotation(Rotation::daily())
        .clock(clock.clock())
        .build()?;
    sink.export_events(&events(0..3)).await?;
    clock.set(NOV_21 + DAY - 1); // 23:59:59, same day
    sink.export_spans(&spans(0..2)).await?;
    clock.set(NOV_21 + DAY); // midnight UTC
    sink.export_events(&events(3..5)).await?;
    clock.set(NOV_21 + 3 * DAY + 5); // a gap of days
    sink.export_events(&events(5..6)).await?;
    sink.flush().await?;

    assert_eq!(
        names(dir.path())?,
        [
            "agentrace-2026-11-21-0000.jsonl",
            "agentrace-2026-11-22-0000.jsonl",
            "agentrace-2026-11-24-0000.jsonl",
        ]
    );
    let first = read_all(dir.path().join("agentrace-2026-11-21-0000.jsonl"))?;
    assert_eq!(
        (first.events.len(), first.spans.len(), first.errors.len()),
        (3, 2, 0)
    );
    assert_eq!(
        messages(&read_events(dir.path())?),
        messages(&events(0..6)),
        "order across days"
    );
    Ok(())
}

#[tokio::test]
async fn daily_and_size_rotation_combine() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at(NOV_21 + 10);
    let sink = JsonlSink::builder(dir.path())
        .rotation(Rotation::daily().with_max_bytes(400))
        .clock(clock.clock())
        .build()?;
    sink.export_events(&events(0..6)).await?;
    clock.set(NOV_21 + DAY + 10);
    sink.export_events(&events(6..12)).await?;
    sink.flush().await?;
    let files = names(dir.path())?;
    let day1 = files.iter().filter(|n| n.contains("2026-11-21")).count();
    let day2 = files.iter().filter(|n| n.contains("2026-11-22")).count();
    assert!(day1 >= 2 && day2 >= 2, "{files:?}");
    assert!(files.contains(&"agentrace-2026-11-22-0000.jsonl".to_owned()));
    assert_eq!(
        messages(&read_events(dir.path())?),
        messages(&events(0..12))
    );
    Ok(())
}

#[tokio::test]
async fn a_clock_going_back_never_names_a_file_that_sorts_earlier() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at(NOV_21 + DAY);
    let sink = JsonlSink::builder(dir.path())
        .rotation(Rotation::daily().with_max_bytes(1))
        .clock(clock.clock())
        .build()?;
    sink.export_events(&events(0..1)).await?;
    clock.set(NOV_21); // a day back
    sink.export_events(&events(1..3)).await?;
    sink.flush().await?;
    assert_eq!(
        names(dir.path())?,
        [
            "agentrace-2026-11-22-0000.jsonl",
            "agentrace-2026-11-22-0001.jsonl",
            "agentrace-2026-11-22-0002.jsonl",
        ]
    );
    assert_eq!(messages(&read_events(dir.path())?), messages(&events(0..3)));
    Ok(())
}

#[tokio::test]
async fn reopening_appends_to_the_newest_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at(NOV_21 + 60);
    let build = || JsonlSink::builder(dir.path()).clock(clock.clock()).build();
    let sink = build()?;
    sink.export_events(&events(0..3)).await?;
    sink.shutdown().await?;

    let sink = build()?;
    sink.export_events(&events(3..5)).await?;
    sink.shutdown().await?;

    assert_eq!(names(dir.path())?, ["agentrace-2026-11-21-0000.jsonl"]);
    assert_eq!(messages(&read_events(dir.path())?), messages(&events(0..5)));
    Ok(())
}

#[tokio::test]
async fn reopening_continues_the_sequence() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at(NOV_21 + 60);
    let build = |max| {
        JsonlSink::builder(dir.path())
            .rotation(Rotation::daily().with_max_bytes(max))
            .clock(clock.clock())
            .build()
    };
    let sink = build(300)?;
    sink.export_events(&events(0..5)).await?;
    sink.shutdown().await?;
    let before = names(dir.path())?;
    assert!(before.len() >= 3, "{before:?}");
    let last = before.len() - 1;

    // The newest file is full for this limit: a new file continues the sequence.
    let sink = build(1)?;
    let current = sink.current_file().ok_or("shut down")?;
    assert_eq!(
        current.file_name().and_then(|n| n.to_str()),
        Some(format!("agentrace-2026-11-21-{:04}.jsonl", last + 1).as_str())
    );
    sink.export_events(&events(5..6)).await?;
    sink.shutdown().await?;

    // A new day starts at sequence 0 of that day.
    clock.set(NOV_21 + DAY + 60);
    let sink = build(1_000_000)?;
    sink.export_events(&events(6..7)).await?;
    sink.shutdown().await?;

    let after = names(dir.path())?;
    assert_eq!(after.len(), before.len() + 2);
    assert_eq!(after[..before.len()], before[..]);
    assert_eq!(after[after.len() - 1], "agentrace-2026-11-22-0000.jsonl");
    assert_eq!(messages(&read_events(dir.path())?), messages(&events(0..7)));
    Ok(())
}

#[tokio::test]
async fn reopening_after_a_torn_write_keeps_new_lines_intact() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at(NOV_21);
    let build = || JsonlSink::builder(dir.path()).clock(clock.clock()).build();
    let sink = build()?;
    sink.export_events(&events(0..2)).await?;
    sink.shutdown().await?;
    // A crash cut the last line short.
    let path = dir.path().join("agentrace-2026-11-21-0000.jsonl");
    let text = std::fs::read_to_string(&path)?;
    std::fs::write(&path, &text[..text.len() - 20])?;

    let sink = build()?;
    sink.export_events(&events(2..4)).await?;
    sink.shutdown().await?;

    let records: Vec<_> = JsonlReader::open(&path)?.collect();
    assert_eq!(records.len(), 4);
    assert!(matches!(&records[0], Ok(Record::Event(e)) if e.message == "event 0"));
    let torn = records[1]
        .as_ref()
        .err()
        .ok_or("the torn line must be an error")?;
    assert_eq!(torn.line(), Some(2));
    assert!(matches!(&records[2], Ok(Record::Event(e)) if e.message == "event 2"));
    assert!(matches!(&records[3], Ok(Record::Event(e)) if e.message == "event 3"));
    Ok(())
}

#[tokio::test]
async fn other_prefixes_are_left_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at(NOV_21);
    let a = JsonlSink::builder(dir.path())
        .file_prefix("a")
        .clock(clock.clock())
        .build()?;
    let b = JsonlSink::builder(dir.path())
        .file_prefix("a-b")
        .clock(clock.clock())
        .build()?;
    a.export_events(&events(0..1)).await?;
    b.export_events(&events(1..2)).await?;
    a.shutdown().await?;
    b.shutdown().await?;
    assert_eq!(
        names(dir.path())?,
        ["a-2026-11-21-0000.jsonl", "a-b-2026-11-21-0000.jsonl"]
    );
    let only_a: Vec<_> = JsonlReader::open_dir(dir.path(), "a")?
        .events()
        .collect::<Result<_, _>>()?;
    assert_eq!(messages(&only_a), ["event 0"]);
    Ok(())
}
