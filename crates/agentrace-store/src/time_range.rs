//! The time range every query and rollup is asked over.

use serde::{Deserialize, Serialize};

/// A half-open time range `[start, end)` in nanoseconds since the Unix epoch; a missing bound
/// is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeRange {
    /// Inclusive start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_unix_nano: Option<u64>,
    /// Exclusive end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_unix_nano: Option<u64>,
}

impl TimeRange {
    /// All of time.
    pub const ALL: Self = Self {
        start_unix_nano: None,
        end_unix_nano: None,
    };

    /// `[start, end)`.
    pub const fn new(start_unix_nano: u64, end_unix_nano: u64) -> Self {
        Self {
            start_unix_nano: Some(start_unix_nano),
            end_unix_nano: Some(end_unix_nano),
        }
    }

    /// From `start` on.
    pub const fn since(start_unix_nano: u64) -> Self {
        Self {
            start_unix_nano: Some(start_unix_nano),
            end_unix_nano: None,
        }
    }

    /// Before `end`.
    pub const fn until(end_unix_nano: u64) -> Self {
        Self {
            start_unix_nano: None,
            end_unix_nano: Some(end_unix_nano),
        }
    }

    /// Whether `t` falls in the range.
    pub fn contains(&self, t: u64) -> bool {
        self.start_unix_nano.is_none_or(|s| t >= s) && self.end_unix_nano.is_none_or(|e| t < e)
    }
}
