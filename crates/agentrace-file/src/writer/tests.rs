//! Serialization failures and I/O failures in the middle of batches.

use std::time::{Duration, UNIX_EPOCH};

use serde::ser::Error as _;

use super::*;
use crate::config::Rotation;

/// Serializes as `{"n":…}`, or fails for odd numbers.
struct Picky(u32);

impl Serialize for Picky {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        if self.0 % 2 == 1 {
            return Err(S::Error::custom(format!("{} is odd", self.0)));
        }
        let mut st = s.serialize_struct("Picky", 1)?;
        st.serialize_field("n", &self.0)?;
        st.end()
    }
}

fn writer(dir: &Path, rotation: Rotation, buffer_size: usize) -> Result<Writer, OpenError> {
    Writer::open(Arc::new(Config {
        dir: dir.to_path_buf(),
        prefix: "t".into(),
        rotation,
        max_files: None,
        max_age: None,
        buffer_size,
        clock: Arc::new(|| UNIX_EPOCH + Duration::from_secs(1_795_219_200)),
    }))
}

#[test]
fn unserializable_records_are_skipped_and_the_rest_kept() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let mut w = writer(dir.path(), Rotation::never(), 1 << 20)?;
    let result = w.write_batch("span", &[Picky(0), Picky(1), Picky(2), Picky(3)]);
    match result {
        Err(BatchError::Serialize { skipped: 2, first }) => {
            assert_eq!(first.to_string(), "1 is odd");
        }
        other => return Err(format!("expected two skipped records, got {other:?}").into()),
    }
    w.flush()?;
    let text = fs::read_to_string(dir.path().join("t-2026-11-21-0000.jsonl"))?;
    assert_eq!(
        text,
        "{\"v\":1,\"type\":\"span\",\"n\":0}\n{\"v\":1,\"type\":\"span\",\"n\":2}\n"
    );
    Ok(())
}

/// Every write to `/dev/full` fails with `ENOSPC` having written nothing.
#[cfg(target_os = "linux")]
#[test]
fn a_failed_batch_is_taken_back_and_earlier_ones_kept() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::os::unix::fs::symlink("/dev/full", dir.path().join("t-2026-11-21-0000.jsonl"))?;
    let mut w = writer(dir.path(), Rotation::never(), 100)?;
    w.write_batch("span", &[Picky(0)])?;
    let accepted = w.buffered();
    assert!(accepted > 0 && accepted < 100);
    for _ in 0..3 {
        let result = w.write_batch("span", &[Picky(2), Picky(4), Picky(6), Picky(8)]);
        assert!(matches!(result, Err(BatchError::Io(_))), "{result:?}");
        assert_eq!(
            w.buffered(),
            accepted,
            "the failed batch is taken back, the first kept"
        );
    }
    assert!(w.flush().is_err());
    assert_eq!(w.buffered(), accepted);
    Ok(())
}
