//! UTC calendar arithmetic on Unix nanoseconds (no time-zone database needed), and the one
//! place Unix nanoseconds are written as RFC 3339.
//!
//! ```
//! use agentrace_core::civil::{Precision, civil_from_days, rfc3339};
//!
//! let t = 1_764_115_200_123_000_000; // 2025-11-26T00:00:00.123Z
//! assert_eq!(rfc3339(t, Precision::Seconds), "2025-11-26T00:00:00Z");
//! assert_eq!(rfc3339(t, Precision::Millis), "2025-11-26T00:00:00.123Z");
//! assert_eq!(civil_from_days(20_418), (2025, 11, 26));
//! ```

use std::time::{Duration, UNIX_EPOCH};

/// Nanoseconds in a day.
pub const NANOS_PER_DAY: u64 = 86_400 * 1_000_000_000;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD` (UTC midnight) to nanoseconds since the epoch.
pub fn date_to_unix_nano(date: &str) -> Option<u64> {
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    u64::try_from(days_from_civil(y, m, d))
        .ok()
        .map(|days| days * NANOS_PER_DAY)
}

/// How finely [`rfc3339`] writes the seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Precision {
    /// Whole seconds: `2026-11-21T08:00:00Z` (time-bucket keys, reports).
    Seconds,
    /// Milliseconds: `2026-11-21T08:00:00.123Z` (notifications).
    Millis,
    /// Nanoseconds: `2026-11-21T08:00:00.123456789Z` (exports, nothing lost).
    Nanos,
}

/// `unix_nano` in RFC 3339, UTC, at `precision` (truncated, never rounded up).
pub fn rfc3339(unix_nano: u64, precision: Precision) -> String {
    let time = UNIX_EPOCH + Duration::from_nanos(unix_nano);
    match precision {
        Precision::Seconds => humantime::format_rfc3339_seconds(time).to_string(),
        Precision::Millis => humantime::format_rfc3339_millis(time).to_string(),
        Precision::Nanos => humantime::format_rfc3339_nanos(time).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_days() {
        for z in [-1, 0, 1, 19_000, 20_000, 20_413, 100_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_413), (2025, 11, 21));
    }
}
