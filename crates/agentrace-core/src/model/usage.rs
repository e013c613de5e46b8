//! Token usage, money, and the per-call usage/cost entry.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Token counts of one LLM call, with OpenTelemetry GenAI semantics:
/// `input_tokens` **includes** cache reads and cache writes, and `output_tokens` **includes**
/// reasoning tokens (see docs/conventions.md, "Dialects"). A zero count means "not reported",
/// except for reasoning, which many models never do: `None` is not reported, `Some(0)` none
/// spent. A sum of usages adds the reasoning counts reported, and is `None` when none was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenUsage {
    /// Prompt tokens, cache-inclusive (`gen_ai.usage.input_tokens`).
    pub input_tokens: u64,
    /// Completion tokens, reasoning-inclusive (`gen_ai.usage.output_tokens`).
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache (subset of input).
    pub cache_read_tokens: u64,
    /// Prompt tokens written to the provider's cache (subset of input).
    pub cache_write_tokens: u64,
    /// Of the cache writes, those with a one-hour lifetime (Anthropic), priced at the one-hour
    /// write rate; the rest are five-minute writes.
    pub cache_write_1h_tokens: u64,
    /// Reasoning tokens (subset of output); `None` when not reported.
    pub reasoning_tokens: Option<u64>,
}

impl TokenUsage {
    /// Usage with input and output counts only.
    pub const fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            cache_write_1h_tokens: 0,
            reasoning_tokens: None,
        }
    }

    /// The reasoning tokens, zero when not reported: for arithmetic (a sum, a bound).
    pub const fn reasoning_or_zero(&self) -> u64 {
        match self.reasoning_tokens {
            Some(n) => n,
            None => 0,
        }
    }

    /// The non-zero counts under their span attribute names: OTel GenAI's, and agentrace's for
    /// one-hour cache writes (which OTel does not name), and a reported reasoning count even
    /// when zero. What spans carry and exporters send.
    pub fn attributes(&self) -> impl Iterator<Item = (&'static str, u64)> + use<> {
        use crate::semconv::{agentrace, gen_ai};
        [
            (gen_ai::USAGE_INPUT_TOKENS, self.input_tokens),
            (gen_ai::USAGE_OUTPUT_TOKENS, self.output_tokens),
            (
                gen_ai::USAGE_CACHE_READ_INPUT_TOKENS,
                self.cache_read_tokens,
            ),
            (
                gen_ai::USAGE_CACHE_CREATION_INPUT_TOKENS,
                self.cache_write_tokens,
            ),
            (
                agentrace::USAGE_CACHE_WRITE_1H_TOKENS,
                self.cache_write_1h_tokens,
            ),
        ]
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .chain(
            self.reasoning_tokens
                .map(|n| (gen_ai::USAGE_REASONING_OUTPUT_TOKENS, n)),
        )
    }

    /// Input plus output.
    pub const fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// Whether nothing was reported.
    pub const fn is_empty(&self) -> bool {
        self.input_tokens == 0
            && self.output_tokens == 0
            && self.cache_read_tokens == 0
            && self.cache_write_tokens == 0
            && self.cache_write_1h_tokens == 0
            && self.reasoning_or_zero() == 0
    }
}

impl AddAssign for TokenUsage {
    fn add_assign(&mut self, o: Self) {
        self.input_tokens = self.input_tokens.saturating_add(o.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(o.output_tokens);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(o.cache_read_tokens);
        self.cache_write_tokens = self.cache_write_tokens.saturating_add(o.cache_write_tokens);
        self.cache_write_1h_tokens = self
            .cache_write_1h_tokens
            .saturating_add(o.cache_write_1h_tokens);
        self.reasoning_tokens = match (self.reasoning_tokens, o.reasoning_tokens) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
        };
    }
}

/// An amount of US dollars, held as integer nano-dollars so that sums over millions of records
/// do not drift. Serialized as a decimal number of dollars.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usd(i64);

impl Usd {
    /// Zero dollars.
    pub const ZERO: Self = Self(0);

    /// From nano-dollars (1e-9 USD).
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    /// Nano-dollars.
    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// From a float number of dollars, rounded to the nearest nano-dollar.
    pub fn from_dollars(dollars: f64) -> Self {
        Self((dollars * 1e9).round() as i64)
    }

    /// As a float number of dollars (for display and JSON).
    pub fn dollars(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl fmt::Debug for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Usd({self})")
    }
}

impl fmt::Display for Usd {
    /// `$0.012345`: six decimals, or more when needed to show a non-zero amount.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, frac) = (abs / 1_000_000_000, abs % 1_000_000_000);
        let digits = format!("{frac:09}");
        let trimmed = digits.trim_end_matches('0');
        let shown = if trimmed.len() <= 6 {
            &digits[..6]
        } else {
            trimmed
        };
        write!(f, "{sign}${whole}.{shown}")
    }
}

impl Add for Usd {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self(self.0.saturating_add(o.0))
    }
}

impl AddAssign for Usd {
    fn add_assign(&mut self, o: Self) {
        self.0 = self.0.saturating_add(o.0);
    }
}

impl Sum for Usd {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Add::add)
    }
}

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.dollars())
    }
}

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(Self::from_dollars)
    }
}

/// The cost of one LLM call, split by token type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cost {
    /// Uncached input tokens.
    pub input: Usd,
    /// Input tokens read from cache.
    pub cache_read: Usd,
    /// Input tokens written to cache.
    pub cache_write: Usd,
    /// Output tokens (reasoning included).
    pub output: Usd,
    /// The sum of the parts.
    pub total: Usd,
}

impl Cost {
    /// A cost from its parts; the total is their sum.
    pub fn from_parts(input: Usd, cache_read: Usd, cache_write: Usd, output: Usd) -> Self {
        Self {
            input,
            cache_read,
            cache_write,
            output,
            total: input + cache_read + cache_write + output,
        }
    }
}

impl AddAssign for Cost {
    fn add_assign(&mut self, o: Self) {
        self.input += o.input;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
        self.output += o.output;
        self.total += o.total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_is_exact_and_displays() -> Result<(), serde_json::Error> {
        let sum: Usd = std::iter::repeat_n(Usd::from_dollars(0.000_000_1), 10_000_000).sum();
        assert_eq!(sum, Usd::from_dollars(1.0));
        assert_eq!(Usd::from_nanos(12_345_678).to_string(), "$0.012345678");
        assert_eq!(Usd::from_dollars(2.5).to_string(), "$2.500000");
        assert_eq!(Usd::from_nanos(-1_500_000_000).to_string(), "-$1.500000");
        let json = serde_json::to_string(&Usd::from_nanos(1_234))?;
        assert_eq!(serde_json::from_str::<Usd>(&json)?, Usd::from_nanos(1_234));
        Ok(())
    }

    #[test]
    fn cost_total_is_sum() {
        let c = Cost::from_parts(
            Usd::from_nanos(1),
            Usd::from_nanos(2),
            Usd::from_nanos(3),
            Usd::from_nanos(4),
        );
        assert_eq!(c.total, Usd::from_nanos(10));
    }
}
