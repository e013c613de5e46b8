//! How the JSON bodies agentrace takes read two kinds of field the same everywhere: a field
//! given with a value or left out (`null` refused), and a whole number as JSON Schema counts
//! one (`145` or `145.0`).
//!
//! ```
//! use agentrace_core::json_fields::{present, whole_number};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Body {
//!     #[serde(default, deserialize_with = "present")]
//!     name: Option<String>,
//! }
//! assert!(serde_json::from_str::<Body>(r#"{"name": null}"#).is_err());
//! assert_eq!(serde_json::from_str::<Body>("{}")?.name, None);
//! assert_eq!(whole_number(&serde_json::Number::from_f64(145.0).ok_or("a number")?), Some(145));
//!
//! #[derive(Deserialize)]
//! struct Limits {
//!     #[serde(default, deserialize_with = "agentrace_core::json_fields::whole")]
//!     tokens: Option<u64>,
//! }
//! assert_eq!(serde_json::from_str::<Limits>(r#"{"tokens": 145.0}"#)?.tokens, Some(145));
//! assert!(serde_json::from_str::<Limits>(r#"{"tokens": 1.5}"#).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Deserializer};

/// A field given with a value (`null` is not one): `#[serde(default, deserialize_with =
/// "present")]` on an `Option`.
///
/// # Errors
/// The deserializer's, for `null` or a value of another type.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `n` as a whole number of 0 to 2⁶⁴ − 1, written `145` or `145.0` (JSON Schema's integers);
/// `None` for a fraction, a negative number or one too large.
pub fn whole_number(n: &serde_json::Number) -> Option<u64> {
    n.as_u64().or_else(|| {
        let f = n.as_f64()?;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked just before
        (f.fract() == 0.0 && (0.0..1.8e19).contains(&f)).then_some(f as u64)
    })
}

/// A whole number ≥ 0 given with a value, written `145` or `145.0` (JSON Schema's integers):
/// `#[serde(default, deserialize_with = "whole")]` on an `Option<u64>` (`null` refused).
///
/// # Errors
/// The deserializer's, for `null`, a value of another type, a fraction, a negative number or
/// one too large.
pub fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    checked_whole(&n).map(Some)
}

/// As [`whole`], with `null` read as left out: `#[serde(default, deserialize_with =
/// "whole_or_null")]`.
///
/// # Errors
/// The deserializer's, for a value of another type, a fraction, a negative number or one too
/// large.
pub fn whole_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(|n| checked_whole(&n))
        .transpose()
}

fn checked_whole<E: serde::de::Error>(n: &serde_json::Number) -> Result<u64, E> {
    whole_number(n).ok_or_else(|| E::custom(format!("{n} is not a whole number ≥ 0")))
}
