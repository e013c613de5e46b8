//! Trace and span identifiers (W3C / OpenTelemetry sized), rendered as lower-case hex.

use std::cell::Cell;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A trace id could not be parsed from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseIdError {
    /// The text does not have the expected number of hex digits.
    #[error("expected {expected} hex digits, found {found} characters")]
    Length {
        /// Hex digits expected.
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// The text holds a character that is not a hex digit.
    #[error("not a hex digit: {0:?}")]
    NotHex(char),
    /// All-zero ids are invalid in W3C trace context and OpenTelemetry.
    #[error("an all-zero id is invalid")]
    Zero,
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $len:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name([u8; $len]);

        impl $name {
            /// The all-zero, invalid id.
            pub const INVALID: Self = Self([0; $len]);

            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub const fn to_bytes(self) -> [u8; $len] {
                self.0
            }

            /// Whether this id is not all zeros.
            pub fn is_valid(self) -> bool {
                self.0 != [0; $len]
            }

            /// A new random, valid id.
            pub fn random() -> Self {
                let mut bytes = [0u8; $len];
                for chunk in bytes.chunks_mut(8) {
                    let r = next_random().to_le_bytes();
                    chunk.copy_from_slice(&r[..chunk.len()]);
                }
                if bytes == [0; $len] {
                    bytes[$len - 1] = 1;
                }
                Self(bytes)
            }

            /// Parses the hex form, as produced by `Display`.
            pub fn from_hex(text: &str) -> Result<Self, ParseIdError> {
                let mut bytes = [0u8; $len];
                decode_hex(text, &mut bytes)?;
                let id = Self(bytes);
                if id.is_valid() { Ok(id) } else { Err(ParseIdError::Zero) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut buf = [0u8; $len * 2];
                f.write_str(encode_hex(&self.0, &mut buf))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_hex(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut buf = [0u8; $len * 2];
                serializer.serialize_str(encode_hex(&self.0, &mut buf))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::from_hex(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

define_id!(
    /// A 16-byte trace id, shared by every span of one trace.
    TraceId,
    16
);
define_id!(
    /// An 8-byte span id, unique within its trace.
    SpanId,
    8
);

fn encode_hex<'a>(bytes: &[u8], buf: &'a mut [u8]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        buf[2 * i] = DIGITS[usize::from(b >> 4)];
        buf[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
    // Only ASCII hex digits were written.
    std::str::from_utf8(buf).unwrap_or_default()
}

fn decode_hex(text: &str, out: &mut [u8]) -> Result<(), ParseIdError> {
    let expected = out.len() * 2;
    if text.len() != expected {
        return Err(ParseIdError::Length {
            expected,
            found: text.chars().count(),
        });
    }
    let digit = |c: u8| -> Result<u8, ParseIdError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(ParseIdError::NotHex(char::from(c))),
        }
    };
    for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Ok(())
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish() | 1
}

/// splitmix64 over a per-thread state: fast, well distributed, not cryptographic
/// (ids need uniqueness, not secrecy, as in OpenTelemetry's default generator).
fn next_random() -> u64 {
    RNG.with(|state| {
        let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let id = TraceId::random();
        assert!(id.is_valid());
        assert_eq!(id.to_string().len(), 32);
        assert_eq!(id.to_string().parse::<TraceId>(), Ok(id));
        assert_eq!(
            "4bf92f3577b34da6a3ce929d0e0e4736"
                .parse::<TraceId>()
                .map(|t| t.to_bytes()[0]),
            Ok(0x4b)
        );
        assert_eq!(
            "00f067aa0ba902b7".parse::<SpanId>().map(|s| s.to_string()),
            Ok("00f067aa0ba902b7".into())
        );
        assert!(matches!(
            "xyz".parse::<SpanId>(),
            Err(ParseIdError::Length { .. })
        ));
        assert!(matches!(
            "00f067aa0ba902bz".parse::<SpanId>(),
            Err(ParseIdError::NotHex('z'))
        ));
        assert_eq!(
            "0000000000000000".parse::<SpanId>(),
            Err(ParseIdError::Zero)
        );
        assert_ne!(SpanId::random(), SpanId::random());
    }

    #[test]
    fn serde_as_hex_string() -> Result<(), serde_json::Error> {
        let id = SpanId::from_bytes([0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
        let json = serde_json::to_string(&id)?;
        assert_eq!(json, "\"00f067aa0ba902b7\"");
        assert_eq!(serde_json::from_str::<SpanId>(&json)?, id);
        assert!(serde_json::from_str::<SpanId>("\"nothex\"").is_err());
        Ok(())
    }
}
