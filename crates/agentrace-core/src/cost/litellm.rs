//! Import of LiteLLM's `model_prices_and_context_window.json`, the community's price map.
//!
//! Prices there are USD per token; each model key becomes an entry (`gpt-4o`,
//! `gemini/gemini-2.5-pro`, `bedrock/…`), valid at any time (the map has no history). Imported:
//! `input_cost_per_token`, `output_cost_per_token`, `cache_read_input_token_cost`,
//! `cache_creation_input_token_cost` (5-minute write), `cache_creation_input_token_cost_above_1hr`
//! (1-hour write), the long-context tiers `*_above_{128,200,272}k_tokens`, and Batch API rates
//! (`*_batches`). Other service tiers (`_priority`, `_flex`) are not imported; entries whose `mode` is not a
//! text model (image, audio, video, rerank…) are skipped and reported.

use serde_json::{Map, Value};

use super::table::{LoadPricesError, PriceTable};
use super::{ModelPrice, Rate, Rates, Tier};

/// What an import took and what it left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiteLlmImport {
    /// Models imported.
    pub imported: usize,
    /// Models skipped, with the reason.
    pub skipped: Vec<(String, &'static str)>,
}

/// Text-model modes that are priced per token.
const MODES: &[&str] = &["chat", "completion", "responses", "embedding"];

/// Long-context thresholds that appear in the map.
const TIERS: &[u64] = &[128_000, 200_000, 272_000];

fn per_token(v: &Map<String, Value>, key: &str) -> Option<Rate> {
    v.get(key)
        .and_then(Value::as_f64)
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(|x| Rate::from_usd_per_million(x * 1e6))
}

fn rates(v: &Map<String, Value>, suffix: &str, base: Option<&Rates>) -> Option<Rates> {
    let input = per_token(v, &format!("input_cost_per_token{suffix}")).or(base.map(|b| b.input))?;
    Some(Rates {
        input,
        cache_read: per_token(v, &format!("cache_read_input_token_cost{suffix}"))
            .or(base.and_then(|b| b.cache_read)),
        cache_write: per_token(v, &format!("cache_creation_input_token_cost{suffix}"))
            .or(base.and_then(|b| b.cache_write)),
        cache_write_1h: per_token(
            v,
            &format!("cache_creation_input_token_cost_above_1hr{suffix}"),
        )
        .or(base.and_then(|b| b.cache_write_1h)),
        output: per_token(v, &format!("output_cost_per_token{suffix}"))
            .or(base.map(|b| b.output))
            .unwrap_or(Rate::ZERO),
    })
}

impl PriceTable {
    /// Imports a LiteLLM price map (see the module docs for what is taken).
    pub fn from_litellm_json(text: &str) -> Result<(Self, LiteLlmImport), LoadPricesError> {
        let map: Map<String, Value> = serde_json::from_str(text)?;
        let mut table = Self::default();
        let mut report = LiteLlmImport::default();
        for (key, value) in map {
            if key == "sample_spec" {
                continue;
            }
            let Some(v) = value.as_object() else {
                report.skipped.push((key, "not an object"));
                continue;
            };
            if let Some(mode) = v.get("mode").and_then(Value::as_str)
                && !MODES.contains(&mode)
            {
                report.skipped.push((key, "not a text model"));
                continue;
            }
            let Some(base) = rates(v, "", None) else {
                report.skipped.push((key, "no input price"));
                continue;
            };
            let tiers = TIERS
                .iter()
                .filter_map(|&t| {
                    let suffix = format!("_above_{}k_tokens", t / 1_000);
                    v.contains_key(&format!("input_cost_per_token{suffix}"))
                        .then(|| rates(v, &suffix, Some(&base)))
                        .flatten()
                        .map(|r| Tier {
                            above_input_tokens: t,
                            rates: r,
                        })
                })
                .collect();
            // `vertex_ai-anthropic_models`, `vertex_ai-language-models`: the provider is the head.
            let provider = v
                .get("litellm_provider")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .split('-')
                .next()
                .unwrap_or_default();
            let batch = per_token(v, "input_cost_per_token_batches").map(|input| Rates {
                input,
                cache_read: per_token(v, "cache_read_input_token_cost_batches"),
                cache_write: per_token(v, "cache_creation_input_token_cost_batches"),
                cache_write_1h: None,
                output: per_token(v, "output_cost_per_token_batches").unwrap_or(Rate::ZERO),
            });
            let price = ModelPrice {
                since_unix_nano: 0,
                rates: base,
                tiers,
                batch,
            };
            table.insert(provider, key.trim().to_ascii_lowercase(), &[], vec![price]);
            report.imported += 1;
        }
        Ok((table, report))
    }
}
