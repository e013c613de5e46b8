//! Time ranges from `--since`, `--from` and `--to`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentrace_store::TimeRange;

use crate::args::RangeArgs;
use crate::error::CliError;

/// Parses a duration such as `15m`, `24h`, `7d`, `1h30m`, `500ms`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, CliError> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        CliError::Usage(format!(
            "invalid duration {text:?}: {e} (examples: 15m, 24h, 7d, 500ms)"
        ))
    })
}

/// Parses an RFC 3339 timestamp, or a bare date meaning its midnight UTC.
pub(crate) fn parse_time(text: &str) -> Result<SystemTime, CliError> {
    let text = text.trim();
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    humantime::parse_rfc3339_weak(&full).map_err(|e| {
        CliError::Usage(format!(
            "invalid time {text:?}: {e} (examples: 2026-11-21, 2026-11-21T08:00:00Z)"
        ))
    })
}

pub(crate) fn unix_nano(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The range the arguments name; everything when none is given.
pub(crate) fn range(args: &RangeArgs, now: SystemTime) -> Result<TimeRange, CliError> {
    let start = match (&args.since, &args.from) {
        (Some(since), _) => Some(unix_nano(
            now.checked_sub(parse_duration(since)?)
                .unwrap_or(UNIX_EPOCH),
        )),
        (None, Some(from)) => Some(unix_nano(parse_time(from)?)),
        (None, None) => None,
    };
    let end = args
        .to
        .as_deref()
        .map(parse_time)
        .transpose()?
        .map(unix_nano);
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        return Err(CliError::Usage(
            "the range is empty: --to must be after the start".into(),
        ));
    }
    Ok(TimeRange {
        start_unix_nano: start,
        end_unix_nano: end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() -> Result<(), CliError> {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let r = range(
            &RangeArgs {
                since: Some("1h".into()),
                ..RangeArgs::default()
            },
            now,
        )?;
        assert_eq!(r.start_unix_nano, Some((1_000_000 - 3_600) * 1_000_000_000));
        assert_eq!(r.end_unix_nano, None);
        let r = range(
            &RangeArgs {
                from: Some("2026-11-21".into()),
                to: Some("2026-11-22T00:00:00Z".into()),
                ..RangeArgs::default()
            },
            now,
        )?;
        assert_eq!(
            r.end_unix_nano.zip(r.start_unix_nano).map(|(e, s)| e - s),
            Some(86_400_000_000_000)
        );
        assert!(
            range(
                &RangeArgs {
                    since: Some("yesterday".into()),
                    ..RangeArgs::default()
                },
                now
            )
            .is_err()
        );
        assert!(
            range(
                &RangeArgs {
                    from: Some("2026-13-01".into()),
                    ..RangeArgs::default()
                },
                now
            )
            .is_err()
        );
        assert!(
            range(
                &RangeArgs {
                    from: Some("2026-11-22".into()),
                    to: Some("2026-11-21".into()),
                    ..RangeArgs::default()
                },
                now
            )
            .is_err()
        );
        Ok(())
    }
}
