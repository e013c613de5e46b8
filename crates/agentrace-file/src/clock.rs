//! The injectable clock, and UTC calendar dates computed from Unix time.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use agentrace_core::civil::civil_from_days;

/// Where the sink reads the time: the UTC date names files and triggers daily rotation, and
/// `now - max_age` decides which files retention deletes.
///
/// [`SystemClock`] is the default. Any `Fn() -> SystemTime + Send + Sync + 'static` is a clock,
/// so tests can drive rotation across midnight without waiting for it:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
///
/// let secs = Arc::new(AtomicU64::new(1_700_000_000));
/// let handle = secs.clone();
/// let clock = move || UNIX_EPOCH + Duration::from_secs(handle.load(Ordering::SeqCst));
/// # fn takes_clock(_: impl agentrace_file::Clock) {}
/// takes_clock(clock);
/// secs.fetch_add(86_400, Ordering::SeqCst); // one day later, for the sink
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock, [`SystemTime::now`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

impl<F> Clock for F
where
    F: Fn() -> SystemTime + Send + Sync + 'static,
{
    fn now(&self) -> SystemTime {
        self()
    }
}

/// A proleptic Gregorian date in UTC. Ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct UtcDate {
    pub(crate) year: u16,
    pub(crate) month: u8,
    pub(crate) day: u8,
}

impl UtcDate {
    /// The UTC date of `time`, clamped to years 0000–9999 (file names have four-digit years).
    pub(crate) fn of(time: SystemTime) -> Self {
        let secs: i64 = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(before) => {
                i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| s.saturating_neg())
            }
        };
        Self::from_days(secs.div_euclid(86_400))
    }

    /// The date `days` days after 1970-01-01 (core's [`civil_from_days`]), clamped to years 0–9999.
    pub(crate) fn from_days(days: i64) -> Self {
        // Outside years 0–9999 the date is clamped; keeps the arithmetic far from overflow.
        const MIN_DAYS: i64 = -719_528; // 0000-01-01
        const MAX_DAYS: i64 = 2_932_896; // 9999-12-31
        if days < MIN_DAYS {
            return Self {
                year: 0,
                month: 1,
                day: 1,
            };
        }
        if days > MAX_DAYS {
            return Self {
                year: 9999,
                month: 12,
                day: 31,
            };
        }
        let (year, month, day) = civil_from_days(days);
        // In range by the clamp above: year 0–9999, month 1–12, day 1–31.
        Self {
            year: u16::try_from(year).unwrap_or(0),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }
}

impl fmt::Display for UtcDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn matches_rfc3339_dates() {
        // Every day over ~60 years plus leap-day edges, checked against humantime.
        let mut secs: u64 = 0;
        while secs < 2_000_000_000 {
            for offset in [0, 86_399] {
                let t = UNIX_EPOCH + Duration::from_secs(secs + offset);
                let rfc = humantime::format_rfc3339_seconds(t).to_string();
                assert_eq!(
                    UtcDate::of(t).to_string(),
                    rfc[..10],
                    "at {}",
                    secs + offset
                );
            }
            secs += 86_400;
        }
    }

    #[test]
    fn known_dates_and_clamps() {
        assert_eq!(UtcDate::of(UNIX_EPOCH).to_string(), "1970-01-01");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29T00:00:00Z
        assert_eq!(UtcDate::of(leap).to_string(), "2000-02-29");
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(UtcDate::of(before).to_string(), "1969-12-31");
        assert_eq!(UtcDate::from_days(i64::MIN).to_string(), "0000-01-01");
        assert_eq!(UtcDate::from_days(i64::MAX).to_string(), "9999-12-31");
        assert_eq!(UtcDate::from_days(-719_528).to_string(), "0000-01-01");
        assert_eq!(UtcDate::from_days(2_932_896).to_string(), "9999-12-31");
        assert!(UtcDate::from_days(10) < UtcDate::from_days(11));
    }
}
