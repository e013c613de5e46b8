//! Durations in configuration files, written as people write them: `90s`, `5m`, `1h 30m`,
//! `250ms` (humantime). For serde: `#[serde(with = "agentrace_core::serde_duration")]`, and
//! [`option`] for an optional one. A duration is written back ([`text`]) in the same units
//! (`28d`, `3d 6h`), so that what a file says is what the API, the alerts and the pages say.
//!
//! ```
//! use std::time::Duration;
//!
//! #[derive(serde::Deserialize)]
//! struct Rule {
//!     #[serde(with = "agentrace_core::serde_duration")]
//!     window: Duration,
//! }
//!
//! let rule: Rule = toml::from_str(r#"window = "1h 30m""#)?;
//! assert_eq!(rule.window, Duration::from_secs(5_400));
//! assert!(toml::from_str::<Rule>(r#"window = "soon""#).is_err());
//! # Ok::<(), toml::de::Error>(())
//! ```

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Writes `d` as [`text`] does (`1h 30m`).
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&text(*d))
}

/// `d` in the units a configuration file uses: days, hours, minutes, seconds, then ms, us and
/// ns, largest first, each that is not zero (`28d`, `3d 6h`, `1m 30s`, `250ms`; `0s`). The
/// text reads back as `d` ([`deserialize`]).
///
/// ```
/// use std::time::Duration;
/// use agentrace_core::serde_duration::text;
///
/// assert_eq!(text(Duration::from_secs(28 * 86_400)), "28d");
/// assert_eq!(text(Duration::from_secs(3 * 86_400 + 6 * 3_600)), "3d 6h");
/// assert_eq!(text(Duration::from_millis(90_250)), "1m 30s 250ms");
/// ```
pub fn text(d: Duration) -> String {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3_600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
        (u64::from(nanos / 1_000_000), "ms"),
        (u64::from(nanos / 1_000 % 1_000), "us"),
        (u64::from(nanos % 1_000), "ns"),
    ];
    let written: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if written.is_empty() {
        "0s".to_owned()
    } else {
        written.join(" ")
    }
}

/// Reads a duration written as people write them, or says what is expected.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "{text:?} is not a duration ({e}); write e.g. 90s, 5m, 1h"
        ))
    })
}

/// The same for an `Option<Duration>` (with `#[serde(default)]`: absent is `None`; `null`, as
/// JSON writes `None`, is `None` too).
pub mod option {
    use super::{Deserialize, Deserializer, Duration, Serializer};

    /// Writes `Some` as a duration, `None` as nothing.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    /// Reads a duration, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        /// A duration inside an `Option`, read as the outer module reads one.
        #[derive(serde::Deserialize)]
        struct Written(#[serde(with = "super")] Duration);
        Ok(Option::<Written>::deserialize(d)?.map(|Written(d)| d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_reads_back_as_the_duration() {
        for d in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_micros(1_500),
            Duration::from_secs(59),
            Duration::from_secs(3_600),
            Duration::from_secs(365 * 86_400 + 2 * 86_400 + 4 * 3_600 + 13 * 60),
            Duration::new(86_399, 999_999_999),
        ] {
            let written = text(d);
            assert_eq!(humantime::parse_duration(&written), Ok(d), "{written}");
        }
        assert_eq!(text(Duration::from_secs(367 * 86_400)), "367d");
    }
}
