//! Budget periods: UTC calendar windows and rolling windows.

use serde::{Deserialize, Serialize};

use crate::civil::{NANOS_PER_DAY, civil_from_days, days_from_civil};

/// How long a budget's spend accumulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Period {
    /// An hour.
    Hour,
    /// A day.
    Day,
    /// A week (calendar weeks start on Monday).
    Week,
    /// A month (rolling months are 30 days).
    Month,
    /// Forever: spend never resets.
    Total,
}

/// Calendar periods reset at UTC boundaries; rolling periods cover the last period's length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// UTC calendar: the hour, day, week (from Monday) or month the call falls in.
    #[default]
    Calendar,
    /// The period's length back from now.
    Rolling,
}

impl Period {
    /// The period's length, for rolling windows (`None` for `Total`).
    pub fn length_ns(self) -> Option<u64> {
        const HOUR: u64 = 3_600 * 1_000_000_000;
        Some(match self {
            Self::Hour => HOUR,
            Self::Day => NANOS_PER_DAY,
            Self::Week => 7 * NANOS_PER_DAY,
            Self::Month => 30 * NANOS_PER_DAY,
            Self::Total => return None,
        })
    }

    /// The start of the calendar period holding `t` (0 for `Total`).
    pub fn calendar_start(self, t: u64) -> u64 {
        let day = t / NANOS_PER_DAY;
        match self {
            Self::Hour => t - t % (3_600 * 1_000_000_000),
            Self::Day => day * NANOS_PER_DAY,
            // 1970-01-01 was a Thursday: day 4 of a Monday-based week.
            Self::Week => (day - (day + 3) % 7) * NANOS_PER_DAY,
            Self::Month => {
                let (y, m, _) = civil_from_days(day as i64);
                u64::try_from(days_from_civil(y, m, 1)).unwrap_or(0) * NANOS_PER_DAY
            }
            Self::Total => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::civil::date_to_unix_nano;

    #[test]
    fn calendar_starts() {
        let t = date_to_unix_nano("2025-11-21").unwrap_or(0) + 13 * 3_600_000_000_000 + 5; // Friday 13:00
        let day = date_to_unix_nano("2025-11-21");
        assert_eq!(Some(Period::Day.calendar_start(t)), day);
        assert_eq!(
            Some(Period::Week.calendar_start(t)),
            date_to_unix_nano("2025-11-17"),
            "Monday"
        );
        assert_eq!(
            Some(Period::Month.calendar_start(t)),
            date_to_unix_nano("2025-11-01")
        );
        assert_eq!(Period::Hour.calendar_start(t), t - 5);
        assert_eq!(Period::Total.calendar_start(t), 0);
    }
}
