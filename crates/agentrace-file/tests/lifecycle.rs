//! Opening, flushing, shutting down, and what the files look like.

mod common;

use std::sync::Arc;

use agentrace_core::testing::fixtures::llm_span;
use agentrace_core::{EventSink, ExportError, FlushError, ShutdownError, Sink, SpanSink, TraceId};
use agentrace_file::{JsonlSink, OpenError, Rotation, SCHEMA_VERSION, read_all};
use common::{ManualClock, NOV_21, TestResult, events, messages, names};

#[tokio::test]
async fn advertises_spans_and_events_only() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path()).build()?;
    assert_eq!(sink.name(), "jsonl");
    assert!(sink.as_span_sink().is_some());
    assert!(sink.as_event_sink().is_some());
    assert!(sink.as_metric_sink().is_none());
    Ok(())
}

#[tokio::test]
async fn lines_carry_version_and_type_first() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path())
        .clock(ManualClock::at(NOV_21).clock())
        .build()?;
    sink.export_spans(&[llm_span(TraceId::random(), None, 5)])
        .await?;
    sink.export_events(&events(0..1)).await?;
    sink.flush().await?;
    let text = std::fs::read_to_string(dir.path().join("agentrace-2026-11-21-0000.jsonl"))?;
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with(r#"{"v":1,"type":"span","trace_id":""#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(r#"{"v":1,"type":"event","time_unix_nano":0,"#),
        "{}",
        lines[1]
    );
    assert!(text.ends_with('\n'));
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line)?;
        assert_eq!(value["v"], SCHEMA_VERSION);
    }
    Ok(())
}

#[tokio::test]
async fn nothing_reaches_the_file_before_flush_and_everything_after() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path()).build()?;
    let file = sink.current_file().ok_or("shut down")?;
    sink.export_events(&events(0..10)).await?;
    assert_eq!(std::fs::metadata(&file)?.len(), 0, "buffered");
    sink.flush().await?;
    assert_eq!(std::fs::read_to_string(&file)?.lines().count(), 10);
    Ok(())
}

#[tokio::test]
async fn a_full_buffer_is_written_without_flush() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path()).buffer_size(500).build()?;
    let file = sink.current_file().ok_or("shut down")?;
    sink.export_events(&events(0..10)).await?;
    let on_disk = std::fs::read_to_string(&file)?;
    assert!(on_disk.lines().count() >= 4, "{on_disk}");
    assert!(on_disk.ends_with('\n'), "only whole lines are written");
    Ok(())
}

#[tokio::test]
async fn dropping_the_sink_writes_the_buffer() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path()).build()?;
    sink.export_events(&events(0..3)).await?;
    drop(sink);
    assert_eq!(
        messages(&read_all(dir.path())?.events),
        messages(&events(0..3))
    );
    Ok(())
}

#[tokio::test]
async fn shutdown_then_everything_is_refused_without_panic() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path()).build()?;
    sink.export_events(&events(0..2)).await?;
    sink.shutdown().await?;
    assert_eq!(read_all(dir.path())?.events.len(), 2, "shutdown flushed");
    assert!(matches!(
        sink.export_events(&events(2..3)).await,
        Err(ExportError::ShutDown)
    ));
    assert!(matches!(
        sink.export_spans(&[]).await,
        Err(ExportError::ShutDown)
    ));
    assert!(matches!(sink.flush().await, Err(FlushError::ShutDown)));
    assert!(matches!(
        sink.shutdown().await,
        Err(ShutdownError::AlreadyShutDown)
    ));
    assert_eq!(sink.current_file(), None);
    Ok(())
}

#[tokio::test]
async fn clones_share_one_writer_across_threads() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = Arc::new(JsonlSink::builder(dir.path()).buffer_size(4_096).build()?);
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..4u64 {
        let sink = sink.clone();
        tasks.spawn(async move {
            for i in 0..50 {
                let n = t * 1_000 + i;
                sink.export_events(&events(n..n + 1)).await?;
            }
            Ok::<_, ExportError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    sink.flush().await?;
    let all = read_all(dir.path())?;
    assert!(
        all.errors.is_empty(),
        "no interleaved lines: {:?}",
        all.errors
    );
    assert_eq!(all.events.len(), 200);
    // Each task's events stay in its own order.
    for t in 0..4u64 {
        let times: Vec<_> = all
            .events
            .iter()
            .map(|e| e.time_unix_nano)
            .filter(|n| n / 1_000 == t)
            .collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "task {t}: {times:?}");
    }
    Ok(())
}

#[test]
fn builder_errors_are_clear() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("a-file");
    std::fs::write(&file, "")?;

    let error = JsonlSink::builder(&file)
        .build()
        .err()
        .ok_or("built over a file")?;
    assert!(
        matches!(error, OpenError::NotADirectory { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("is not a directory"), "{error}");

    let under_file = file.join("sub");
    let error = JsonlSink::builder(&under_file)
        .build()
        .err()
        .ok_or("built under a file")?;
    assert!(matches!(error, OpenError::CreateDir { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains(&under_file.display().to_string()),
        "{error}"
    );

    for (builder, needle) in [
        (
            JsonlSink::builder(dir.path()).file_prefix("a/b"),
            "path separators",
        ),
        (JsonlSink::builder(dir.path()).file_prefix(""), "empty"),
        (JsonlSink::builder(dir.path()).max_files(0), "max_files"),
        (
            JsonlSink::builder(dir.path()).rotation(Rotation::size(0)),
            "rotation size",
        ),
    ] {
        let error = builder.build().err().ok_or("accepted a bad setting")?;
        assert!(matches!(error, OpenError::InvalidConfig(_)), "{error:?}");
        assert!(error.to_string().contains(needle), "{error}");
    }
    assert!(names(dir.path())? == ["a-file"], "nothing was created");
    Ok(())
}

#[test]
fn build_creates_nested_directories() -> TestResult {
    let dir = tempfile::tempdir()?;
    let nested = dir.path().join("a").join("b");
    let sink = JsonlSink::builder(&nested)
        .clock(ManualClock::at(NOV_21).clock())
        .build()?;
    assert_eq!(sink.dir(), nested);
    assert_eq!(sink.prefix(), "agentrace");
    assert_eq!(names(&nested)?, ["agentrace-2026-11-21-0000.jsonl"]);
    Ok(())
}

/// A full disk: the file is a link to `/dev/full`, where every write fails with `ENOSPC`.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_full_disk_is_a_transient_error_naming_the_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("agentrace-2026-11-21-0000.jsonl");
    std::os::unix::fs::symlink("/dev/full", &path)?;
    let sink = JsonlSink::builder(dir.path())
        .buffer_size(1_000)
        .clock(ManualClock::at(NOV_21).clock())
        .build()?;
    assert_eq!(sink.current_file(), Some(path.clone()));

    for _ in 0..3 {
        let error = sink
            .export_events(&events(0..20))
            .await
            .err()
            .ok_or("a write to /dev/full succeeded")?;
        assert!(error.is_retryable(), "{error:?}");
        let shown = error.to_string();
        assert!(
            shown.contains("No space left on device")
                && shown.contains(&path.display().to_string()),
            "{shown}"
        );
    }
    // Below the buffer size nothing is written yet; the flush fails.
    sink.export_events(&events(0..1)).await?;
    assert!(matches!(sink.flush().await, Err(FlushError::Failed(_))));
    let error = sink
        .shutdown()
        .await
        .err()
        .ok_or("shutdown reported success")?;
    assert!(error.to_string().contains("buffered byte(s)"), "{error}");
    assert!(matches!(
        sink.export_events(&events(0..1)).await,
        Err(ExportError::ShutDown)
    ));
    Ok(())
}
