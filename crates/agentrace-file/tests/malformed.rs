//! Reading damaged files: every bad line is an error naming file and line, every good line is
//! still read.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use agentrace_core::{EventSink, Sink, SpanSink};
use agentrace_file::{JsonlReader, JsonlSink, ReadError, Record, read_all, read_events};
use common::{ManualClock, NOV_21, TestResult, events, messages, spans};

/// Writes events 0..n with the sink and returns the file and its lines.
async fn written(dir: &Path, n: u64) -> Result<(PathBuf, Vec<String>), Box<dyn std::error::Error>> {
    let sink = JsonlSink::builder(dir)
        .clock(ManualClock::at(NOV_21).clock())
        .build()?;
    sink.export_events(&events(0..n)).await?;
    sink.shutdown().await?;
    let path = dir.join("agentrace-2026-11-21-0000.jsonl");
    let lines = std::fs::read_to_string(&path)?
        .lines()
        .map(str::to_owned)
        .collect();
    Ok((path, lines))
}

fn write_lines(path: &Path, lines: &[Vec<u8>], final_newline: bool) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    for (i, line) in lines.iter().enumerate() {
        file.write_all(line)?;
        if i + 1 < lines.len() || final_newline {
            file.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// The good events read and the errors, in order.
fn read(path: &Path) -> Result<(Vec<String>, Vec<ReadError>), ReadError> {
    let all = read_all(path)?;
    Ok((messages(&all.events), all.errors))
}

fn bytes(lines: &[String]) -> Vec<Vec<u8>> {
    lines.iter().map(|l| l.as_bytes().to_vec()).collect()
}

#[tokio::test]
async fn a_garbage_line_in_the_middle() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, lines) = written(dir.path(), 4).await?;
    let mut damaged = bytes(&lines);
    damaged.insert(2, b"this is not json".to_vec());
    damaged.insert(4, br#"{"v":1,"type":"event","level":"INFO"}"#.to_vec());
    write_lines(&path, &damaged, true)?;

    let (good, errors) = read(&path)?;
    assert_eq!(good, ["event 0", "event 1", "event 2", "event 3"]);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        matches!(
            &errors[0],
            ReadError::Malformed {
                line: 3,
                column: 1,
                ..
            }
        ),
        "{:?}",
        errors[0]
    );
    assert!(matches!(&errors[1], ReadError::Malformed { line: 5, .. }));
    let shown = errors[0].to_string();
    assert!(
        shown.starts_with(&format!(
            "{}:3:1: not a valid record: expected a JSON object, found 't'",
            path.display()
        )),
        "{shown}"
    );
    let shown = errors[1].to_string();
    assert!(
        shown.contains(":5:") && shown.contains("missing field"),
        "{shown}"
    );
    assert_eq!(errors[1].path(), path);
    assert_eq!(errors[1].line(), Some(5));
    Ok(())
}

#[tokio::test]
async fn invalid_utf8() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, lines) = written(dir.path(), 3).await?;
    let mut damaged = bytes(&lines);
    damaged[1] = damaged[1].clone();
    damaged[1][40] = 0xFF;
    write_lines(&path, &damaged, true)?;

    let (good, errors) = read(&path)?;
    assert_eq!(good, ["event 0", "event 2"]);
    assert_eq!(errors.len(), 1);
    assert!(
        matches!(
            &errors[0],
            ReadError::InvalidUtf8 {
                line: 2,
                column: 41,
                ..
            }
        ),
        "{:?}",
        errors[0]
    );
    assert!(errors[0].to_string().contains("not valid UTF-8"));
    Ok(())
}

#[tokio::test]
async fn a_truncated_final_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, lines) = written(dir.path(), 3).await?;
    let mut damaged = bytes(&lines);
    let last = damaged.len() - 1;
    damaged[last].truncate(30);
    write_lines(&path, &damaged, false)?;

    let (good, errors) = read(&path)?;
    assert_eq!(good, ["event 0", "event 1"]);
    assert_eq!(errors.len(), 1);
    assert!(
        matches!(&errors[0], ReadError::Truncated { line: 3, .. }),
        "{:?}",
        errors[0]
    );
    let shown = errors[0].to_string();
    assert!(shown.contains(":3: incomplete last line"), "{shown}");
    Ok(())
}

#[tokio::test]
async fn a_final_line_cut_inside_a_character_is_truncated_not_invalid() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("x.jsonl");
    // "é" is two bytes; keep only the first.
    let line = r#"{"v":1,"type":"event","message":"é"#.as_bytes();
    write_lines(&path, &[line[..line.len() - 1].to_vec()], false)?;
    let (_, errors) = read(&path)?;
    assert!(
        matches!(&errors[..], [ReadError::Truncated { line: 1, .. }]),
        "{errors:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_complete_final_line_without_newline_is_read() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, lines) = written(dir.path(), 2).await?;
    write_lines(&path, &bytes(&lines), false)?;
    let (good, errors) = read(&path)?;
    assert_eq!(good, ["event 0", "event 1"]);
    assert!(errors.is_empty(), "{errors:?}");
    Ok(())
}

#[tokio::test]
async fn a_future_version() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, lines) = written(dir.path(), 3).await?;
    let mut damaged = bytes(&lines);
    damaged[1] = lines[1].replacen(r#""v":1"#, r#""v":2"#, 1).into_bytes();
    damaged.push(br#"{"v":0,"type":"event"}"#.to_vec());
    write_lines(&path, &damaged, true)?;

    let (good, errors) = read(&path)?;
    assert_eq!(good, ["event 0", "event 2"]);
    assert_eq!(errors.len(), 2);
    assert!(matches!(
        &errors[0],
        ReadError::UnsupportedVersion {
            line: 2,
            found: 2,
            supported: 1,
            ..
        }
    ));
    let shown = errors[0].to_string();
    assert!(
        shown.contains(":2: schema version 2 is not supported")
            && shown.contains("written by a newer agentrace"),
        "{shown}"
    );
    assert!(matches!(
        &errors[1],
        ReadError::UnsupportedVersion {
            line: 4,
            found: 0,
            ..
        }
    ));
    assert!(!errors[1].to_string().contains("newer"));
    Ok(())
}

#[tokio::test]
async fn unknown_types_blank_lines_and_crlf() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, lines) = written(dir.path(), 2).await?;
    let damaged = vec![
        format!("{}\r", lines[0]).into_bytes(),
        Vec::new(),
        b"   ".to_vec(),
        br#"{"v":1,"type":"metric","name":"x"}"#.to_vec(),
        br#"{"type":"event"}"#.to_vec(),
        b"[1,2]".to_vec(),
        lines[1].clone().into_bytes(),
    ];
    write_lines(&path, &damaged, true)?;

    let (good, errors) = read(&path)?;
    assert_eq!(good, ["event 0", "event 1"]);
    let lines: Vec<_> = errors.iter().map(ReadError::line).collect();
    assert_eq!(lines, [Some(4), Some(5), Some(6)]);
    assert!(matches!(&errors[0], ReadError::UnknownType { found, .. } if found == "metric"));
    assert!(
        errors[1].to_string().contains("missing field `v`"),
        "{}",
        errors[1]
    );
    assert!(matches!(&errors[2], ReadError::Malformed { column: 1, .. }));
    Ok(())
}

#[tokio::test]
async fn an_overlong_line_is_skipped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, lines) = written(dir.path(), 3).await?;
    let mut damaged = bytes(&lines);
    damaged[1] = vec![b'x'; 10_000];
    write_lines(&path, &damaged, true)?;
    let mut good = Vec::new();
    let mut errors = Vec::new();
    for r in JsonlReader::open(&path)?.max_line_bytes(1_000) {
        match r {
            Ok(Record::Event(e)) => good.push(e.message),
            Ok(other) => return Err(format!("unexpected {other:?}").into()),
            Err(e) => errors.push(e),
        }
    }
    assert_eq!(good, ["event 0", "event 2"]);
    assert!(matches!(
        &errors[..],
        [ReadError::LineTooLong {
            line: 2,
            max: 1_000,
            ..
        }]
    ));
    Ok(())
}

#[tokio::test]
async fn nul_filled_tail_after_a_crash() -> TestResult {
    // A filesystem may leave a zero-filled block after a crash.
    let dir = tempfile::tempdir()?;
    let (path, lines) = written(dir.path(), 2).await?;
    let mut damaged = bytes(&lines);
    damaged.push(vec![0u8; 4096]);
    write_lines(&path, &damaged, false)?;
    let (good, errors) = read(&path)?;
    assert_eq!(good, ["event 0", "event 1"]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line(), Some(3));
    Ok(())
}

#[tokio::test]
async fn errors_in_one_file_do_not_stop_the_directory() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at(NOV_21);
    let sink = JsonlSink::builder(dir.path())
        .rotation(agentrace_file::Rotation::size(1))
        .clock(clock.clock())
        .build()?;
    sink.export_events(&events(0..3)).await?;
    sink.export_spans(&spans(0..1)).await?;
    sink.shutdown().await?;
    let middle = dir.path().join("agentrace-2026-11-21-0001.jsonl");
    std::fs::write(&middle, "garbage\n")?;

    let all = read_all(dir.path())?;
    assert_eq!(messages(&all.events), ["event 0", "event 2"]);
    assert_eq!(all.spans.len(), 1);
    assert_eq!(all.errors.len(), 1);
    assert_eq!(all.errors[0].path(), middle);
    assert_eq!(all.errors[0].line(), Some(1));

    // The strict reader stops at the same line.
    let strict = read_events(dir.path());
    assert!(matches!(strict, Err(ReadError::Malformed { line: 1, .. })));
    Ok(())
}

#[test]
fn missing_paths_are_clear_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("nope");
    let error = JsonlReader::open(&missing)
        .err()
        .ok_or("opened a missing path")?;
    assert!(matches!(error, ReadError::Open { .. }));
    assert!(
        error
            .to_string()
            .starts_with(&missing.display().to_string())
    );
    assert_eq!(error.line(), None);
    let listed = JsonlReader::open_dir(&missing, "agentrace").err();
    assert!(matches!(listed, Some(ReadError::ListDir { .. })));
    // An empty directory holds no records.
    assert_eq!(JsonlReader::open(dir.path())?.count(), 0);
    Ok(())
}

#[test]
fn streams_are_read_like_files() -> TestResult {
    let input = concat!(
        r#"{"v":1,"type":"event","time_unix_nano":1,"level":"WARNING","kind":"custom.kind","message":"m","resource":{"service_name":"s"}}"#,
        "\nnope\n"
    );
    let records: Vec<_> = JsonlReader::from_reader("<stdin>", input.as_bytes()).collect();
    assert_eq!(records.len(), 2);
    assert!(matches!(&records[0], Ok(Record::Event(e)) if e.message == "m"));
    let error = records[1].as_ref().err().ok_or("line 2 is garbage")?;
    assert!(error.to_string().starts_with("<stdin>:2:1:"), "{error}");
    Ok(())
}
