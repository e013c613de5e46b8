//! Durations in configuration files, written as people write them: `90s`, `5m`, `1h 30m`,
//! `250ms` (humantime). For serde: `#[serde(with = "agentrace_core::serde_duration")]`, and
//! [`option`] for an optional one.
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

/// Writes `d` as humantime does (`1h 30m`).
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
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
