//! Several price books in order of precedence.

use std::path::Path;
use std::sync::Arc;

use super::{LoadPricesError, PriceBook, PriceMatch, PriceTable};

/// Price books consulted in order; the first that knows a model prices it.
///
/// The precedence agentrace uses: the user's own files first (their negotiated prices, Azure
/// deployment names, models not yet in any table), then an imported LiteLLM map if configured,
/// then the built-in table.
///
/// ```
/// use std::sync::Arc;
/// use agentrace_core::cost::{LayeredPriceBook, PriceBook, PriceTable};
///
/// // A negotiated price for one model, and an Azure deployment priced as gpt-4o.
/// let mine = PriceTable::from_json(r#"{"format":"agentrace.prices/1",
///   "aliases": {"prod-gpt4o": "gpt-4o"},
///   "models":[{"provider":"openai","model":"gpt-4.1","prices":[{"since":"2025-01-01","input":1.5,"output":6.0}]}]}"#)?;
/// let book = LayeredPriceBook::new().with(Arc::new(mine)).with(Arc::new(PriceTable::builtin()));
/// let at = 1_760_000_000_000_000_000;
/// let input_rate = |model| book.price(None, model, at).map(|m| m.price.rates.input.nanos_per_million());
/// assert_eq!(input_rate("gpt-4.1"), Some(1_500_000_000)); // the user's layer wins
/// assert_eq!(input_rate("prod-gpt4o"), Some(2_500_000_000)); // alias, priced by the built-in table
/// assert_eq!(input_rate("gpt-4o-mini"), Some(150_000_000)); // the built-in table
/// # Ok::<(), agentrace_core::cost::LoadPricesError>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct LayeredPriceBook {
    layers: Vec<Arc<dyn PriceBook>>,
}

impl LayeredPriceBook {
    /// No layers yet (knows no model).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a layer below the existing ones.
    #[must_use]
    pub fn with(mut self, book: Arc<dyn PriceBook>) -> Self {
        self.layers.push(book);
        self
    }

    /// The user's price tables, the first winning, over the built-in table: how the library
    /// (`AGENTRACE_PRICES`), `agentrace serve` (`prices`) and the CLI (`--prices`) all layer
    /// prices.
    pub fn over_builtin(tables: impl IntoIterator<Item = PriceTable>) -> Self {
        tables
            .into_iter()
            .fold(Self::new(), |book, table| book.with(Arc::new(table)))
            .with(Arc::new(PriceTable::builtin()))
    }
}

/// Loads price files (agentrace's JSON or TOML, or LiteLLM maps), in order.
pub fn load_price_files<P: AsRef<Path>>(
    paths: impl IntoIterator<Item = P>,
) -> Result<Vec<PriceTable>, LoadPricesError> {
    paths
        .into_iter()
        .map(|p| PriceTable::load(p.as_ref()))
        .collect()
}

impl PriceBook for LayeredPriceBook {
    fn price(
        &self,
        provider: Option<&str>,
        model: &str,
        at_unix_nano: u64,
    ) -> Option<PriceMatch<'_>> {
        self.layers
            .iter()
            .find_map(|l| l.price(provider, model, at_unix_nano))
            .or_else(|| {
                let target = self.alias_of(model)?;
                self.layers
                    .iter()
                    .find_map(|l| l.price(provider, target, at_unix_nano))
            })
    }

    fn alias_of(&self, model: &str) -> Option<&str> {
        self.layers.iter().find_map(|l| l.alias_of(model))
    }
}
