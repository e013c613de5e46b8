//! Prices and cost: the [`PriceBook`] trait, the built-in [`PriceTable`], exact cost
//! arithmetic ([`compute_cost`]) and the [`PriceProcessor`] that stamps cost on LLM spans.
//!
//! Money is integer: a [`Rate`] is nano-dollars per million tokens, a cost is [`Usd`]
//! (nano-dollars), so sums over millions of records do not drift.
//!
//! The cost formula (docs/conventions.md, "The cost formula"), for usage whose `input_tokens` include cache reads
//! and writes:
//!
//! ```text
//! uncached = input − cache_read − cache_write
//! cost     = uncached·input_rate + cache_read·cache_read_rate + cache_write·cache_write_rate
//!          + output·output_rate                       (reasoning tokens are inside output)
//! ```
//!
//! - Emitters that report input **without** cache are recognised when `input < cache_read +
//!   cache_write`: the total input is then `input + cache_read + cache_write` (the clamp rule).
//! - A long-context tier applies to the **whole request** when the total input exceeds its
//!   threshold; rates a tier does not give are the base rates.
//! - A model without a cache rate bills cached tokens at its input rate.
//! - Cache writes of a one-hour lifetime (`cache_write_1h_tokens`, a subset of the writes) are
//!   billed at the one-hour write rate where the model has one, the others at the five-minute
//!   rate.
//! - Each part is rounded to the nearest nano-dollar (half up); the total is the sum of the
//!   parts.
//!
//! ```
//! use agentrace_core::cost::{compute_cost, PriceBook, PriceTable};
//! use agentrace_core::TokenUsage;
//!
//! let table = PriceTable::builtin();
//! let at = 1_760_000_000_000_000_000; // 2025-10-09
//! let found = table.price(Some("openai"), "gpt-4o-2024-08-06", at).expect("priced");
//! assert_eq!(found.model, "gpt-4o");
//! let usage = TokenUsage { input_tokens: 1_000, output_tokens: 100, cache_read_tokens: 400, ..TokenUsage::default() };
//! // 600 × $2.50/M + 400 × $1.25/M + 100 × $10/M = $0.0015 + $0.0005 + $0.001
//! assert_eq!(compute_cost(&usage, found.price).total.nanos(), 3_000_000);
//! ```

mod estimate;
mod layered;
mod litellm;
mod processor;
mod resolve;
mod table;

use serde::{Deserialize, Serialize};

pub use estimate::{CostEstimate, estimate_cost, estimate_text_cost};
pub use layered::{LayeredPriceBook, load_price_files};
pub use litellm::LiteLlmImport;
pub use processor::{PriceProcessor, UNPRICED_METRIC, UNPRICED_REASON, is_billable, price_span};
pub use table::{LoadPricesError, PriceTable};

use crate::model::{Cost, TokenUsage, Usd};

/// A price in nano-dollars per million tokens ($2.50 per million = 2,500,000,000).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Rate(i64);

impl Rate {
    /// Free.
    pub const ZERO: Self = Self(0);

    /// From nano-dollars per million tokens.
    pub const fn from_nanos_per_million(nanos: i64) -> Self {
        Self(nanos)
    }

    /// From US dollars per million tokens, rounded to the nearest nano-dollar.
    pub fn from_usd_per_million(usd: f64) -> Self {
        Self((usd * 1e9).round() as i64)
    }

    /// Nano-dollars per million tokens.
    pub const fn nanos_per_million(self) -> i64 {
        self.0
    }

    /// The cost of `tokens` at this rate, rounded to the nearest nano-dollar (half up).
    pub fn cost(self, tokens: u64) -> Usd {
        if tokens == 0 {
            return Usd::ZERO;
        }
        // 64-bit when the product fits (any realistic call), 128-bit otherwise.
        if let Some(exact) = i64::try_from(tokens)
            .ok()
            .and_then(|t| t.checked_mul(self.0))
            .and_then(|e| e.checked_add(500_000))
        {
            return Usd::from_nanos(exact.div_euclid(1_000_000));
        }
        let exact = i128::from(tokens) * i128::from(self.0);
        let nanos = (exact + 500_000).div_euclid(1_000_000);
        Usd::from_nanos(i64::try_from(nanos).unwrap_or(i64::MAX))
    }
}

/// The rates of one price period (or of one long-context tier).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rates {
    /// Uncached input.
    pub input: Rate,
    /// Input read from cache; `None` bills it at the input rate.
    pub cache_read: Option<Rate>,
    /// Input written to cache (Anthropic's 5-minute write); `None` bills it at the input rate.
    pub cache_write: Option<Rate>,
    /// One-hour cache writes (Anthropic), where they differ.
    pub cache_write_1h: Option<Rate>,
    /// Output, reasoning included.
    pub output: Rate,
}

/// A long-context tier: above `above_input_tokens` of input (cache included), the whole
/// request moves to `rates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    /// The threshold; the tier applies when the input is strictly greater.
    pub above_input_tokens: u64,
    /// The rates of the whole request in this tier.
    pub rates: Rates,
}

/// A model's price during one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// When this price took effect, nanoseconds since the Unix epoch.
    pub since_unix_nano: u64,
    /// Base rates.
    pub rates: Rates,
    /// Long-context tiers, lowest threshold first.
    pub tiers: Vec<Tier>,
    /// Batch API rates, where the provider has them (spans marked `agentrace.batch = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Rates>,
}

impl ModelPrice {
    /// A price of zero (local models).
    pub const FREE: Self = Self {
        since_unix_nano: 0,
        rates: Rates {
            input: Rate::ZERO,
            cache_read: None,
            cache_write: None,
            cache_write_1h: None,
            output: Rate::ZERO,
        },
        tiers: Vec::new(),
        batch: None,
    };

    /// The rates for a request with `total_input` tokens of input (cache included).
    pub fn rates_for(&self, total_input: u64) -> &Rates {
        self.tiers
            .iter()
            .rev()
            .find(|t| total_input > t.above_input_tokens)
            .map_or(&self.rates, |t| &t.rates)
    }
}

/// How a model name was matched in a price book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MatchKind {
    /// The name as given (after trimming and lower-casing).
    Exact,
    /// A declared alias.
    Alias,
    /// After removing a routing or provider prefix, a Bedrock or Vertex decoration, or a dated
    /// snapshot suffix.
    Normalized,
    /// A local model (Ollama, vLLM, …): free.
    Local,
}

/// A price found for a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceMatch<'a> {
    /// The provider the price belongs to.
    pub provider: &'a str,
    /// The canonical model name the price is listed under (`*` for local models).
    pub model: &'a str,
    /// The price in force at the time asked.
    pub price: &'a ModelPrice,
    /// How the name was matched.
    pub matched: MatchKind,
}

/// Prices of models over time.
///
/// # Implementing a price book
/// Return the price in force at `at_unix_nano` (a record keeps the price of its own time, so
/// repricing old records after a price change gives their original cost). Return `None` for a
/// model you do not know: agentrace records the cost as unknown, never as zero. `provider` is a
/// hint (canonical OTel names such as `openai`, `anthropic`, `gcp.vertex_ai`); model names may
/// arrive decorated (`openrouter/anthropic/claude-sonnet-4.5`, Bedrock ids, dated snapshots).
pub trait PriceBook: Send + Sync + std::fmt::Debug {
    /// The price of `model` (served by `provider`, if known) at a point in time.
    fn price(
        &self,
        provider: Option<&str>,
        model: &str,
        at_unix_nano: u64,
    ) -> Option<PriceMatch<'_>>;

    /// The model `model` is priced as (an Azure deployment name, a gateway's model id), when
    /// this book declares such an alias; a [`LayeredPriceBook`] looks the target up in every
    /// layer.
    fn alias_of(&self, model: &str) -> Option<&str> {
        let _ = model;
        None
    }
}

/// The cost of one Batch API call with `usage` at `price`'s batch rates (no long-context
/// tiers apply); `None` when the model has no batch price.
pub fn compute_batch_cost(usage: &TokenUsage, price: &ModelPrice) -> Option<Cost> {
    let batch = ModelPrice {
        since_unix_nano: price.since_unix_nano,
        rates: price.batch?,
        tiers: Vec::new(),
        batch: None,
    };
    Some(compute_cost(usage, &batch))
}

impl<T: PriceBook + ?Sized> PriceBook for &T {
    fn price(
        &self,
        provider: Option<&str>,
        model: &str,
        at_unix_nano: u64,
    ) -> Option<PriceMatch<'_>> {
        (**self).price(provider, model, at_unix_nano)
    }

    fn alias_of(&self, model: &str) -> Option<&str> {
        (**self).alias_of(model)
    }
}

/// The cost of one call with `usage` at `price`; see the module docs for the formula.
pub fn compute_cost(usage: &TokenUsage, price: &ModelPrice) -> Cost {
    let cache_read = usage.cache_read_tokens;
    let cache_write = usage.cache_write_tokens;
    let cached = cache_read.saturating_add(cache_write);
    // The clamp rule: input smaller than its own cached part means the emitter left cache out.
    let total_input = if usage.input_tokens < cached {
        usage.input_tokens.saturating_add(cached)
    } else {
        usage.input_tokens
    };
    let uncached = total_input.saturating_sub(cached);
    let rates = price.rates_for(total_input);
    // One-hour writes are a subset of the writes; the rest live five minutes.
    let write_1h = usage.cache_write_1h_tokens.min(cache_write);
    let write_rate = rates.cache_write.unwrap_or(rates.input);
    let write_1h_rate = rates.cache_write_1h.unwrap_or(write_rate);
    Cost::from_parts(
        rates.input.cost(uncached),
        rates.cache_read.unwrap_or(rates.input).cost(cache_read),
        write_rate.cost(cache_write - write_1h) + write_1h_rate.cost(write_1h),
        rates.output.cost(usage.output_tokens),
    )
}

/// What a cost is counted over: a trace (one run of an agent, end to end, its sub-agents' and
/// tools' calls included), a session (a conversation's traces together) or an agent run (an
/// agent span with everything beneath it: a sub-agent's run counts on its own, and in the run
/// that called it). What a cost SLO promises of (`agentrace-alerts`) and what a store tallies
/// (`agentrace-store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CostUnit {
    /// Each trace, by its start.
    Traces,
    /// Each session: its traces starting in the range, summed.
    Sessions,
    /// Each agent span, by its start: its own cost and that of every span beneath it.
    AgentRuns,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_half_up_to_the_nano_dollar() {
        let r = Rate::from_usd_per_million(0.01875);
        assert_eq!(r.nanos_per_million(), 18_750_000);
        assert_eq!(r.cost(1).nanos(), 19); // 18.75 n$
        assert_eq!(r.cost(1_234).nanos(), 23_138); // 23,137.5 n$
        assert_eq!(
            Rate::from_usd_per_million(2.5).cost(1_000_000).nanos(),
            2_500_000_000
        );
        assert_eq!(
            Rate::from_usd_per_million(120.0).cost(u64::MAX).nanos(),
            i64::MAX,
            "saturates"
        );
    }
}
