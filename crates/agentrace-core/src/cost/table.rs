//! The price table: the built-in data file, user files in the same format, and lookup.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use serde::Deserialize;

use super::resolve::resolve;
use super::{MatchKind, ModelPrice, PriceBook, PriceMatch, Rate, Rates, Tier};
use crate::civil::date_to_unix_nano;
use crate::normalize::canonical_provider;

/// The built-in prices (`src/cost/prices.json`), USD per million tokens.
const BUILTIN: &str = include_str!("prices.json");

/// The format name the table's files carry.
const FORMAT: &str = "agentrace.prices/1";

/// A price file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadPricesError {
    /// The file could not be read.
    #[error("cannot read price file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML.
    #[error("price file is not valid TOML: {0}")]
    Toml(String),
    /// Not JSON of the expected shape.
    #[error("price file is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// A different format or version.
    #[error("unsupported price file format {found:?} (expected {FORMAT:?})")]
    Format {
        /// The `format` field found.
        found: String,
    },
    /// An entry is inconsistent.
    #[error("price of {model}: {reason}")]
    Invalid {
        /// The model.
        model: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
struct FileIn {
    format: String,
    #[serde(default)]
    as_of: String,
    #[serde(default)]
    local_providers: Vec<String>,
    /// Names (an Azure deployment, an internal gateway's model id) priced as another model,
    /// which may be listed in any layer of a [`LayeredPriceBook`](super::LayeredPriceBook).
    #[serde(default)]
    aliases: HashMap<String, String>,
    #[serde(default)]
    models: Vec<EntryIn>,
}

#[derive(Deserialize)]
struct EntryIn {
    provider: String,
    model: String,
    #[serde(default)]
    aliases: Vec<String>,
    prices: Vec<PriceIn>,
}

#[derive(Deserialize)]
struct PriceIn {
    since: String,
    input: f64,
    output: f64,
    cache_read: Option<f64>,
    cache_write: Option<f64>,
    cache_write_1h: Option<f64>,
    #[serde(default)]
    tiers: Vec<TierIn>,
    #[serde(default)]
    batch: Option<BatchIn>,
}

#[derive(Deserialize)]
struct BatchIn {
    input: f64,
    output: f64,
    cache_read: Option<f64>,
    cache_write: Option<f64>,
    cache_write_1h: Option<f64>,
}

#[derive(Deserialize)]
struct TierIn {
    above_input_tokens: u64,
    input: Option<f64>,
    output: Option<f64>,
    cache_read: Option<f64>,
    cache_write: Option<f64>,
    cache_write_1h: Option<f64>,
}

#[derive(Debug, Clone)]
struct Entry {
    provider: String,
    model: String,
    /// Oldest first.
    prices: Vec<ModelPrice>,
}

impl Entry {
    fn price_at(&self, at_unix_nano: u64) -> &ModelPrice {
        self.prices
            .iter()
            .rev()
            .find(|p| p.since_unix_nano <= at_unix_nano)
            .or_else(|| self.prices.first())
            .unwrap_or(&FREE)
    }
}

static FREE: ModelPrice = ModelPrice::FREE;

/// A table of model prices over time: the built-in one, or one loaded from a file in the same
/// format (`agentrace.prices/1`, documented in `docs/prices.md`).
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    as_of: String,
    entries: Vec<Entry>,
    index: HashMap<String, (usize, MatchKind)>,
    local_providers: Vec<String>,
    /// Names priced as another model.
    aliases: HashMap<String, String>,
    /// Names that needed resolving (decorated, routed, dated), by model then provider hint:
    /// resolving allocates, and the same few names arrive on every span.
    resolved: Arc<RwLock<ResolvedNames>>,
}

/// Resolutions by model name, then by provider hint.
type ResolvedNames = HashMap<String, Vec<(Option<String>, Resolution)>>;

/// What a decorated name resolved to.
#[derive(Debug, Clone, Copy)]
enum Resolution {
    Entry(usize, MatchKind),
    Local(usize),
    Unknown,
}

/// How many decorated names are remembered; past that, names are resolved every time.
const RESOLVED_CAPACITY: usize = 4_096;

fn rate(usd: f64, model: &str) -> Result<Rate, LoadPricesError> {
    if usd.is_finite() && usd >= 0.0 {
        Ok(Rate::from_usd_per_million(usd))
    } else {
        Err(LoadPricesError::Invalid {
            model: model.to_owned(),
            reason: format!("price {usd} is not a non-negative number"),
        })
    }
}

fn opt_rate(usd: Option<f64>, model: &str) -> Result<Option<Rate>, LoadPricesError> {
    usd.map(|u| rate(u, model)).transpose()
}

impl PriceTable {
    /// The built-in table, parsed once.
    pub fn builtin() -> &'static Self {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        // The built-in file is checked by this crate's tests; were it broken, an empty table
        // (everything unpriced, nothing mispriced) is the safe fallback.
        TABLE.get_or_init(|| Self::from_json(BUILTIN).unwrap_or_default())
    }

    /// Loads a table from JSON in the `agentrace.prices/1` format.
    pub fn from_json(text: &str) -> Result<Self, LoadPricesError> {
        Self::from_file(serde_json::from_str(text)?)
    }

    fn from_file(file: FileIn) -> Result<Self, LoadPricesError> {
        if file.format != FORMAT {
            return Err(LoadPricesError::Format { found: file.format });
        }
        let mut table = Self {
            as_of: file.as_of,
            aliases: file
                .aliases
                .into_iter()
                .map(|(from, to)| {
                    (
                        from.trim().to_ascii_lowercase(),
                        to.trim().to_ascii_lowercase(),
                    )
                })
                .collect(),
            local_providers: file
                .local_providers
                .iter()
                .map(|p| canonical_provider(p).to_string())
                .collect(),
            ..Self::default()
        };
        for entry in file.models {
            table.add(entry)?;
        }
        Ok(table)
    }

    fn add(&mut self, entry: EntryIn) -> Result<(), LoadPricesError> {
        let model = entry.model.trim().to_ascii_lowercase();
        let invalid = |reason: &str| LoadPricesError::Invalid {
            model: model.clone(),
            reason: reason.to_owned(),
        };
        if entry.prices.is_empty() {
            return Err(invalid("no prices"));
        }
        let mut prices = Vec::with_capacity(entry.prices.len());
        for p in entry.prices {
            let since = date_to_unix_nano(&p.since)
                .ok_or_else(|| invalid(&format!("invalid date {:?} (YYYY-MM-DD)", p.since)))?;
            let rates = Rates {
                input: rate(p.input, &model)?,
                cache_read: opt_rate(p.cache_read, &model)?,
                cache_write: opt_rate(p.cache_write, &model)?,
                cache_write_1h: opt_rate(p.cache_write_1h, &model)?,
                output: rate(p.output, &model)?,
            };
            let mut tiers = Vec::with_capacity(p.tiers.len());
            for t in p.tiers {
                // Rates a tier does not give are the base rates.
                tiers.push(Tier {
                    above_input_tokens: t.above_input_tokens,
                    rates: Rates {
                        input: opt_rate(t.input, &model)?.unwrap_or(rates.input),
                        cache_read: opt_rate(t.cache_read, &model)?.or(rates.cache_read),
                        cache_write: opt_rate(t.cache_write, &model)?.or(rates.cache_write),
                        cache_write_1h: opt_rate(t.cache_write_1h, &model)?
                            .or(rates.cache_write_1h),
                        output: opt_rate(t.output, &model)?.unwrap_or(rates.output),
                    },
                });
            }
            if tiers
                .windows(2)
                .any(|w| w[0].above_input_tokens >= w[1].above_input_tokens)
            {
                return Err(invalid("tiers must be listed by increasing threshold"));
            }
            let batch = match p.batch {
                None => None,
                Some(b) => Some(Rates {
                    input: rate(b.input, &model)?,
                    cache_read: opt_rate(b.cache_read, &model)?,
                    cache_write: opt_rate(b.cache_write, &model)?,
                    cache_write_1h: opt_rate(b.cache_write_1h, &model)?,
                    output: rate(b.output, &model)?,
                }),
            };
            prices.push(ModelPrice {
                since_unix_nano: since,
                rates,
                tiers,
                batch,
            });
        }
        if prices
            .windows(2)
            .any(|w| w[0].since_unix_nano >= w[1].since_unix_nano)
        {
            return Err(invalid("prices must be listed by increasing date"));
        }
        self.insert(&entry.provider, model, &entry.aliases, prices);
        Ok(())
    }

    /// Adds a model; a name or alias already present keeps its first entry.
    pub(super) fn insert(
        &mut self,
        provider: &str,
        model: String,
        aliases: &[String],
        prices: Vec<ModelPrice>,
    ) {
        // Names resolved before may resolve differently now.
        self.resolved = Arc::default();
        let index = self.entries.len();
        self.index
            .entry(model.clone())
            .or_insert((index, MatchKind::Exact));
        for alias in aliases {
            self.index
                .entry(alias.trim().to_ascii_lowercase())
                .or_insert((index, MatchKind::Alias));
        }
        self.entries.push(Entry {
            provider: canonical_provider(provider).to_string(),
            model,
            prices,
        });
    }

    /// Loads a price file: this crate's format as JSON or TOML (by extension `.toml`), or a
    /// LiteLLM price map (JSON without a `format` field).
    pub fn load(path: &std::path::Path) -> Result<Self, LoadPricesError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadPricesError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
        {
            let value: serde_json::Value =
                toml::from_str(&text).map_err(|e| LoadPricesError::Toml(e.to_string()))?;
            return Self::from_value(value);
        }
        let value: serde_json::Value = serde_json::from_str(&text)?;
        if value.get("format").is_some() {
            Self::from_value(value)
        } else {
            Self::from_litellm_json(&text).map(|(table, _)| table)
        }
    }

    fn from_value(value: serde_json::Value) -> Result<Self, LoadPricesError> {
        Self::from_file(serde_json::from_value(value)?)
    }

    /// The table in the `agentrace.prices/1` format (JSON), e.g. to save an imported LiteLLM
    /// map as a file of your own.
    pub fn to_json(&self) -> String {
        use serde_json::{Map, Value, json};
        let usd = |r: Rate| Value::from(r.nanos_per_million() as f64 / 1e9);
        let rates = |r: &Rates, out: &mut Map<String, Value>| {
            out.insert("input".into(), usd(r.input));
            out.insert("output".into(), usd(r.output));
            for (name, rate) in [
                ("cache_read", r.cache_read),
                ("cache_write", r.cache_write),
                ("cache_write_1h", r.cache_write_1h),
            ] {
                if let Some(rate) = rate {
                    out.insert(name.into(), usd(rate));
                }
            }
        };
        let date = |ns: u64| {
            let (y, m, d) =
                crate::civil::civil_from_days((ns / crate::civil::NANOS_PER_DAY) as i64);
            format!("{y:04}-{m:02}-{d:02}")
        };
        let models: Vec<Value> = self
            .entries
            .iter()
            .map(|e| {
                let prices: Vec<Value> = e
                    .prices
                    .iter()
                    .map(|p| {
                        let mut out = Map::new();
                        out.insert("since".into(), Value::from(date(p.since_unix_nano)));
                        rates(&p.rates, &mut out);
                        if !p.tiers.is_empty() {
                            let tiers: Vec<Value> = p
                                .tiers
                                .iter()
                                .map(|t| {
                                    let mut tier = Map::new();
                                    tier.insert(
                                        "above_input_tokens".into(),
                                        Value::from(t.above_input_tokens),
                                    );
                                    rates(&t.rates, &mut tier);
                                    Value::Object(tier)
                                })
                                .collect();
                            out.insert("tiers".into(), Value::from(tiers));
                        }
                        if let Some(batch) = &p.batch {
                            let mut b = Map::new();
                            rates(batch, &mut b);
                            out.insert("batch".into(), Value::Object(b));
                        }
                        Value::Object(out)
                    })
                    .collect();
                json!({"provider": e.provider, "model": e.model, "prices": prices})
            })
            .collect();
        let mut aliases: Vec<_> = self.aliases.iter().collect();
        aliases.sort();
        let file = json!({
            "format": FORMAT,
            "as_of": self.as_of,
            "local_providers": self.local_providers,
            "aliases": aliases.into_iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect::<Map<_, _>>(),
            "models": models,
        });
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    /// The model `model` is priced as, if this table aliases it.
    pub fn alias_of(&self, model: &str) -> Option<&str> {
        self.aliases
            .get(model.trim().to_ascii_lowercase().as_str())
            .map(String::as_str)
    }

    /// The date the table's prices were checked.
    pub fn as_of(&self) -> &str {
        &self.as_of
    }

    /// Every model: provider, canonical name, and its prices oldest first.
    pub fn models(&self) -> impl Iterator<Item = (&str, &str, &[ModelPrice])> {
        self.entries
            .iter()
            .map(|e| (e.provider.as_str(), e.model.as_str(), e.prices.as_slice()))
    }

    /// Number of models.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl PriceBook for PriceTable {
    fn alias_of(&self, model: &str) -> Option<&str> {
        PriceTable::alias_of(self, model)
    }

    fn price(
        &self,
        provider: Option<&str>,
        model: &str,
        at_unix_nano: u64,
    ) -> Option<PriceMatch<'_>> {
        // One level of aliases: an alias never leads to another alias.
        self.lookup(provider, model, at_unix_nano)
            .or_else(|| self.lookup(provider, PriceTable::alias_of(self, model)?, at_unix_nano))
    }
}

impl PriceTable {
    /// Looks a name up, without aliases.
    fn lookup(
        &self,
        provider: Option<&str>,
        model: &str,
        at_unix_nano: u64,
    ) -> Option<PriceMatch<'_>> {
        // Fast path, no allocation: a name listed as it is, from a provider that is not local
        // (the common case on every LLM span).
        let local = |p: &str| self.local_providers.iter().any(|l| l == p);
        if !provider.is_some_and(local)
            && let Some(&(index, kind)) = self.index.get(model)
            && let Some(entry) = self.entries.get(index)
        {
            return Some(PriceMatch {
                provider: &entry.provider,
                model: &entry.model,
                price: entry.price_at(at_unix_nano),
                matched: kind,
            });
        }
        let cached = self
            .resolved
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
            .and_then(|hints| {
                hints
                    .iter()
                    .find(|(p, _)| p.as_deref() == provider)
                    .map(|(_, r)| *r)
            });
        let resolution = match cached {
            Some(r) => r,
            None => {
                let r = self.resolve_name(provider, model);
                let mut cache = self
                    .resolved
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                if cache.len() < RESOLVED_CAPACITY {
                    cache
                        .entry(model.to_owned())
                        .or_default()
                        .push((provider.map(str::to_owned), r));
                }
                r
            }
        };
        match resolution {
            Resolution::Entry(index, matched) => self.entries.get(index).map(|entry| PriceMatch {
                provider: &entry.provider,
                model: &entry.model,
                price: entry.price_at(at_unix_nano),
                matched,
            }),
            Resolution::Local(i) => self.local_providers.get(i).map(|local| PriceMatch {
                provider: local,
                model: "*",
                price: &FREE,
                matched: MatchKind::Local,
            }),
            Resolution::Unknown => None,
        }
    }
}

impl PriceTable {
    /// Resolves a decorated name: routing and provider prefixes, Bedrock and Vertex ids, dated
    /// snapshots, local providers.
    fn resolve_name(&self, provider: Option<&str>, model: &str) -> Resolution {
        let resolved = resolve(model);
        let provider = resolved
            .provider
            .clone()
            .or_else(|| provider.map(|p| canonical_provider(p).to_string()));
        if let Some(i) = provider
            .as_deref()
            .and_then(|p| self.local_providers.iter().position(|l| l == p))
        {
            return Resolution::Local(i);
        }
        resolved
            .names
            .iter()
            .enumerate()
            .find_map(|(i, name)| {
                let &(index, kind) = self.index.get(name)?;
                Some(Resolution::Entry(
                    index,
                    if i == 0 { kind } else { MatchKind::Normalized },
                ))
            })
            .unwrap_or(Resolution::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_loads_every_entry() -> Result<(), LoadPricesError> {
        let table = PriceTable::from_json(BUILTIN)?;
        assert!(table.len() >= 45, "{}", table.len());
        assert_eq!(PriceTable::builtin().len(), table.len());
        assert_eq!(table.as_of(), "2026-11-21");
        Ok(())
    }

    #[test]
    fn tier_rates_not_given_are_the_base_rates() -> Result<(), LoadPricesError> {
        let table = PriceTable::from_json(
            r#"{"format":"agentrace.prices/1","models":[{"provider":"x","model":"m","prices":[
                {"since":"2025-01-01","input":2,"cache_read":0.2,"output":12,
                 "tiers":[{"above_input_tokens":1000,"input":4,"output":18}]}]}]}"#,
        )?;
        let tier = table
            .price(None, "m", 0)
            .and_then(|m| m.price.tiers.first().copied());
        let nanos = tier.map(|t| {
            (
                t.rates.input.nanos_per_million(),
                t.rates.cache_read.map(|r| r.nanos_per_million()),
            )
        });
        assert_eq!(nanos, Some((4_000_000_000, Some(200_000_000))));
        Ok(())
    }

    #[test]
    fn the_json_form_reloads_identically() -> Result<(), LoadPricesError> {
        let builtin = PriceTable::builtin();
        let again = PriceTable::from_json(&builtin.to_json())?;
        assert_eq!(again.len(), builtin.len());
        for ((p1, m1, a), (p2, m2, b)) in builtin.models().zip(again.models()) {
            assert_eq!((p1, m1, a), (p2, m2, b));
        }
        Ok(())
    }

    #[test]
    fn dates() {
        assert_eq!(date_to_unix_nano("1970-01-01"), Some(0));
        assert_eq!(
            date_to_unix_nano("2024-10-02"),
            Some(1_727_827_200_000_000_000)
        );
        assert_eq!(date_to_unix_nano("2024-13-02"), None);
        assert_eq!(date_to_unix_nano("2024-1-02"), None);
        assert_eq!(date_to_unix_nano("yesterday"), None);
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let bad = [
            (
                r#"{"format":"other/9","models":[]}"#,
                "unsupported price file format",
            ),
            (
                r#"{"format":"agentrace.prices/1","models":[{"provider":"x","model":"m","prices":[]}]}"#,
                "no prices",
            ),
            (
                r#"{"format":"agentrace.prices/1","models":[{"provider":"x","model":"m","prices":[{"since":"2025-01-01","input":-1,"output":1}]}]}"#,
                "not a non-negative number",
            ),
            (
                r#"{"format":"agentrace.prices/1","models":[{"provider":"x","model":"m","prices":[{"since":"2025-02-01","input":1,"output":1},{"since":"2025-01-01","input":1,"output":1}]}]}"#,
                "increasing date",
            ),
            (
                r#"{"format":"agentrace.prices/1","models":[{"provider":"x","model":"m","prices":[{"since":"soon","input":1,"output":1}]}]}"#,
                "invalid date",
            ),
            ("not json", "not valid"),
        ];
        for (text, expected) in bad {
            let message = PriceTable::from_json(text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
