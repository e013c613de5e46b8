//! Golden cost cases: every expected cost was worked out by hand from the listed prices
//! (USD per million tokens, in `src/cost/prices.json`) with the formula of docs/conventions.md, "The cost formula":
//! uncached = input − cache_read − cache_write (input reported without cache: input + cache is the
//! total), cost = uncached·in + cache_read·read + cache_write·write + output·out, each part rounded
//! to the nano-dollar. Costs are compared exactly, in nano-dollars (1e-9 USD).

use agentrace_core::TokenUsage;
use agentrace_core::cost::{PriceBook, PriceTable, compute_cost};

struct Case {
    name: &'static str,
    provider: Option<&'static str>,
    model: &'static str,
    at: u64,
    usage: TokenUsage,
    /// Expected input, cache read, cache write and output parts in nano-dollars; `None` when
    /// the model must stay unpriced.
    parts: Option<[i64; 4]>,
}

const fn u(
    input_tokens: u64,
    output_tokens: u64,
    cache_read_tokens: u64,
    cache_write_tokens: u64,
) -> TokenUsage {
    TokenUsage {
        input_tokens,
        output_tokens,
        cache_read_tokens,
        cache_write_tokens,
        cache_write_1h_tokens: 0,
        reasoning_tokens: None,
    }
}

/// Usage whose last `cache_write_1h_tokens` of the cache writes live one hour.
const fn u1h(
    input_tokens: u64,
    output_tokens: u64,
    cache_write_tokens: u64,
    cache_write_1h_tokens: u64,
) -> TokenUsage {
    TokenUsage {
        input_tokens,
        output_tokens,
        cache_read_tokens: 0,
        cache_write_tokens,
        cache_write_1h_tokens,
        reasoning_tokens: None,
    }
}

const CASES: &[Case] = &[
    // 1,000 × $3/M + 4,000 one-hour writes × $6/M + 100 × $15/M
    Case {
        name: "claude-sonnet-4-5 1-hour cache write",
        provider: Some("anthropic"),
        model: "claude-sonnet-4-5",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u1h(5000, 100, 4000, 4000),
        parts: Some([3_000_000, 0, 24_000_000, 1_500_000]),
    },
    // 7,000 × $5/M; 2,000 five-minute writes × $6.25/M + 1,000 one-hour writes × $10/M
    Case {
        name: "opus 4.5 five-minute and one-hour writes in one call",
        provider: Some("anthropic"),
        model: "claude-opus-4-5",
        at: 1_764_547_200_000_000_000, /* 2025-12-01 */
        usage: u1h(10000, 0, 3000, 1000),
        parts: Some([35_000_000, 0, 22_500_000, 0]),
    },
    // gpt-4o lists no write rates: writes of any lifetime bill at the input rate.
    Case {
        name: "one-hour writes without a one-hour rate",
        provider: Some("openai"),
        model: "gpt-4o",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u1h(1000, 0, 500, 500),
        parts: Some([1_250_000, 0, 1_250_000, 0]),
    },
    Case {
        name: "gpt-4o plain",
        provider: Some("openai"),
        model: "gpt-4o",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 100, 0, 0),
        parts: Some([2_500_000, 0, 0, 1_000_000]),
    },
    Case {
        name: "gpt-4o cached input",
        provider: Some("openai"),
        model: "gpt-4o",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 100, 400, 0),
        parts: Some([1_500_000, 500_000, 0, 1_000_000]),
    },
    Case {
        name: "gpt-4o dated snapshot",
        provider: Some("openai"),
        model: "gpt-4o-2024-08-06",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 100, 0, 0),
        parts: Some([2_500_000, 0, 0, 1_000_000]),
    },
    Case {
        name: "gpt-4o later snapshot",
        provider: Some("openai"),
        model: "gpt-4o-2024-11-20",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 100, 0, 0),
        parts: Some([2_500_000, 0, 0, 1_000_000]),
    },
    Case {
        name: "gpt-4o before its price change",
        provider: Some("openai"),
        model: "gpt-4o",
        at: 1_722_470_400_000_000_000, /* 2024-08-01 */
        usage: u(1000, 100, 0, 0),
        parts: Some([5_000_000, 0, 0, 1_500_000]),
    },
    Case {
        name: "gpt-4o-2024-05-13 keeps its own price",
        provider: Some("openai"),
        model: "gpt-4o-2024-05-13",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 100, 0, 0),
        parts: Some([5_000_000, 0, 0, 1_500_000]),
    },
    Case {
        name: "gpt-4o-mini cached",
        provider: Some("openai"),
        model: "gpt-4o-mini",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(10000, 500, 2000, 0),
        parts: Some([1_200_000, 150_000, 0, 300_000]),
    },
    Case {
        name: "gpt-4.1",
        provider: Some("openai"),
        model: "gpt-4.1",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(5000, 1000, 0, 0),
        parts: Some([10_000_000, 0, 0, 8_000_000]),
    },
    Case {
        name: "o3 after the June 2025 cut, reasoning inside output",
        provider: Some("openai"),
        model: "o3",
        at: 1_751_328_000_000_000_000, /* 2025-07-01 */
        usage: u(2000, 3000, 0, 0),
        parts: Some([4_000_000, 0, 0, 24_000_000]),
    },
    Case {
        name: "o3 at launch price",
        provider: Some("openai"),
        model: "o3",
        at: 1_746_057_600_000_000_000, /* 2025-05-01 */
        usage: u(2000, 3000, 0, 0),
        parts: Some([20_000_000, 0, 0, 120_000_000]),
    },
    Case {
        name: "o4-mini cached",
        provider: Some("openai"),
        model: "o4-mini",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(4000, 800, 1000, 0),
        parts: Some([3_300_000, 275_000, 0, 3_520_000]),
    },
    Case {
        name: "gpt-5 odd counts",
        provider: Some("openai"),
        model: "gpt-5",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(12345, 678, 0, 0),
        parts: Some([15_431_250, 0, 0, 6_780_000]),
    },
    Case {
        name: "gpt-5-nano one token each",
        provider: Some("openai"),
        model: "gpt-5-nano",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1, 1, 0, 0),
        parts: Some([50, 0, 0, 400]),
    },
    Case {
        name: "gpt-5-mini half cached",
        provider: Some("openai"),
        model: "gpt-5-mini",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(2000, 100, 1000, 0),
        parts: Some([250_000, 25_000, 0, 200_000]),
    },
    Case {
        name: "embeddings, input only",
        provider: Some("openai"),
        model: "text-embedding-3-small",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000000, 0, 0, 0),
        parts: Some([20_000_000, 0, 0, 0]),
    },
    Case {
        name: "claude-sonnet-4-5 plain",
        provider: Some("anthropic"),
        model: "claude-sonnet-4-5",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 500, 0, 0),
        parts: Some([3_000_000, 0, 0, 7_500_000]),
    },
    Case {
        name: "claude-sonnet-4-5 cache read",
        provider: Some("anthropic"),
        model: "claude-sonnet-4-5",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(10000, 200, 8000, 0),
        parts: Some([6_000_000, 2_400_000, 0, 3_000_000]),
    },
    Case {
        name: "claude-sonnet-4-5 5-minute cache write",
        provider: Some("anthropic"),
        model: "claude-sonnet-4-5",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(5000, 100, 0, 4000),
        parts: Some([3_000_000, 0, 15_000_000, 1_500_000]),
    },
    Case {
        name: "input reported without cache (clamp rule)",
        provider: Some("anthropic"),
        model: "claude-sonnet-4-5",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 0, 5000, 2000),
        parts: Some([3_000_000, 1_500_000, 7_500_000, 0]),
    },
    Case {
        name: "long-context tier crossed: whole request at tier rates",
        provider: Some("anthropic"),
        model: "claude-sonnet-4-5",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(250000, 1000, 0, 0),
        parts: Some([1_500_000_000, 0, 0, 22_500_000]),
    },
    Case {
        name: "exactly at the 200k threshold: base rates",
        provider: Some("anthropic"),
        model: "claude-sonnet-4-5",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(200000, 1000, 0, 0),
        parts: Some([600_000_000, 0, 0, 15_000_000]),
    },
    Case {
        name: "tier with cache read",
        provider: Some("anthropic"),
        model: "claude-sonnet-4-5",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(300000, 0, 100000, 0),
        parts: Some([1_200_000_000, 60_000_000, 0, 0]),
    },
    Case {
        name: "gemini-2.5-pro tier",
        provider: Some("gcp.gemini"),
        model: "gemini-2.5-pro",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(210000, 2000, 0, 0),
        parts: Some([525_000_000, 0, 0, 30_000_000]),
    },
    Case {
        name: "gemini-2.5-pro cached, base",
        provider: Some("gcp.gemini"),
        model: "gemini-2.5-pro",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(100000, 5000, 50000, 0),
        parts: Some([62_500_000, 6_250_000, 0, 50_000_000]),
    },
    Case {
        name: "gemini/ prefix",
        provider: Some("gcp.gemini"),
        model: "gemini/gemini-2.5-flash",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 1000, 0, 0),
        parts: Some([300_000, 0, 0, 2_500_000]),
    },
    Case {
        name: "vertex_ai/ prefix",
        provider: Some("gcp.vertex_ai"),
        model: "vertex_ai/gemini-2.5-flash-lite",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 1000, 0, 0),
        parts: Some([100_000, 0, 0, 400_000]),
    },
    Case {
        name: "gemini-3.1-pro-preview long-context tier with cache read",
        provider: Some("gcp.gemini"),
        model: "gemini-3.1-pro-preview",
        at: 1_780_272_000_000_000_000, /* 2026-06-01 */
        usage: u(300000, 1000, 100000, 0),
        parts: Some([800_000_000, 40_000_000, 0, 18_000_000]),
    },
    Case {
        name: "sub-nano rate rounds half up",
        provider: Some("gcp.gemini"),
        model: "gemini-2.0-flash-lite",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1234, 0, 1234, 0),
        parts: Some([0, 23_138, 0, 0]),
    },
    Case {
        name: "OpenRouter routed name with dots",
        provider: None,
        model: "openrouter/anthropic/claude-sonnet-4.5",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 500, 0, 0),
        parts: Some([3_000_000, 0, 0, 7_500_000]),
    },
    Case {
        name: "Bedrock cross-region id",
        provider: Some("aws.bedrock"),
        model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 500, 0, 0),
        parts: Some([3_000_000, 0, 0, 7_500_000]),
    },
    Case {
        name: "Bedrock id",
        provider: Some("aws.bedrock"),
        model: "anthropic.claude-haiku-4-5-20251001-v1:0",
        at: 1_761_955_200_000_000_000, /* 2025-11-01 */
        usage: u(2000, 1000, 0, 0),
        parts: Some([2_000_000, 0, 0, 5_000_000]),
    },
    Case {
        name: "Vertex Claude id",
        provider: Some("gcp.vertex_ai"),
        model: "claude-opus-4-1@20250805",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 100, 0, 0),
        parts: Some([15_000_000, 0, 0, 7_500_000]),
    },
    Case {
        name: "opus 4.5 read and write",
        provider: Some("anthropic"),
        model: "claude-opus-4-5",
        at: 1_764_547_200_000_000_000, /* 2025-12-01 */
        usage: u(10000, 1000, 6000, 3000),
        parts: Some([5_000_000, 3_000_000, 18_750_000, 25_000_000]),
    },
    Case {
        name: "claude-3-haiku cache write only",
        provider: Some("anthropic"),
        model: "claude-3-haiku-20240307",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 0, 0, 1000),
        parts: Some([0, 0, 300_000, 0]),
    },
    Case {
        name: "dotted alias",
        provider: Some("anthropic"),
        model: "claude-haiku-4.5",
        at: 1_761_955_200_000_000_000, /* 2025-11-01 */
        usage: u(100, 100, 0, 0),
        parts: Some([100_000, 0, 0, 500_000]),
    },
    Case {
        name: "mistral large",
        provider: Some("mistral_ai"),
        model: "mistral-large-latest",
        at: 1_768_003_200_000_000_000, /* 2026-01-10 */
        usage: u(1000, 1000, 0, 0),
        parts: Some([500_000, 0, 0, 1_500_000]),
    },
    Case {
        name: "mistral small, Small 3 price",
        provider: Some("mistral_ai"),
        model: "mistral/mistral-small-latest",
        at: 1_748_736_000_000_000_000, /* 2025-06-01 */
        usage: u(1000, 1000, 0, 0),
        parts: Some([100_000, 0, 0, 300_000]),
    },
    Case {
        name: "mistral small, Small 4 price",
        provider: Some("mistral_ai"),
        model: "mistral/mistral-small-latest",
        at: 1_777_593_600_000_000_000, /* 2026-05-01 */
        usage: u(1000, 1000, 0, 0),
        parts: Some([150_000, 0, 0, 600_000]),
    },
    Case {
        name: "deepseek-chat V3",
        provider: Some("deepseek"),
        model: "deepseek-chat",
        at: 1_740_787_200_000_000_000, /* 2025-03-01 */
        usage: u(1000, 1000, 500, 0),
        parts: Some([135_000, 35_000, 0, 1_100_000]),
    },
    Case {
        name: "deepseek-chat V3.2",
        provider: Some("deepseek"),
        model: "deepseek-chat",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 1000, 500, 0),
        parts: Some([140_000, 14_000, 0, 420_000]),
    },
    Case {
        name: "deepseek-reasoner R1",
        provider: Some("deepseek"),
        model: "deepseek/deepseek-reasoner",
        at: 1_740_787_200_000_000_000, /* 2025-03-01 */
        usage: u(1000, 1000, 0, 0),
        parts: Some([550_000, 0, 0, 2_190_000]),
    },
    Case {
        name: "Azure deployment of an OpenAI model",
        provider: Some("azure.ai.openai"),
        model: "gpt-4o",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 100, 0, 0),
        parts: Some([2_500_000, 0, 0, 1_000_000]),
    },
    Case {
        name: "case and spaces",
        provider: Some("openai"),
        model: " GPT-4o ",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 100, 0, 0),
        parts: Some([2_500_000, 0, 0, 1_000_000]),
    },
    Case {
        name: "local model marked local",
        provider: Some("ollama"),
        model: "llama3.1:8b",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(5000, 5000, 0, 0),
        parts: Some([0, 0, 0, 0]),
    },
    Case {
        name: "ollama/ prefix",
        provider: None,
        model: "ollama/qwen2.5-coder",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(5000, 5000, 0, 0),
        parts: Some([0, 0, 0, 0]),
    },
    Case {
        name: "unknown model",
        provider: Some("openai"),
        model: "my-private-model",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 100, 0, 0),
        parts: None,
    },
    Case {
        name: "unknown dated model",
        provider: Some("anthropic"),
        model: "claude-unknown-20250101",
        at: 1_759_276_800_000_000_000, /* 2025-10-01 */
        usage: u(1000, 100, 0, 0),
        parts: None,
    },
];

#[test]
fn golden_costs() {
    assert!(CASES.len() >= 40);
    let table = PriceTable::builtin();
    let mut failures = Vec::new();
    for case in CASES {
        let got = table
            .price(case.provider, case.model, case.at)
            .map(|m| compute_cost(&case.usage, m.price))
            .map(|c| {
                [
                    c.input.nanos(),
                    c.cache_read.nanos(),
                    c.cache_write.nanos(),
                    c.output.nanos(),
                ]
            });
        if got != case.parts {
            failures.push(format!(
                "{}: {} expected {:?}, got {:?}",
                case.name, case.model, case.parts, got
            ));
        }
        if let (Some(parts), Some(m)) =
            (case.parts, table.price(case.provider, case.model, case.at))
        {
            assert_eq!(
                compute_cost(&case.usage, m.price).total.nanos(),
                parts.iter().sum::<i64>(),
                "{}",
                case.name
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn reasoning_tokens_are_billed_inside_output() {
    let table = PriceTable::builtin();
    let at = 1_751_328_000_000_000_000; // 2025-07-01
    let price = table
        .price(Some("openai"), "o3", at)
        .map(|m| m.price.clone());
    let mut with_reasoning = u(2_000, 3_000, 0, 0);
    with_reasoning.reasoning_tokens = Some(2_500);
    let plain = u(2_000, 3_000, 0, 0);
    let costs = price.map(|p| (compute_cost(&with_reasoning, &p), compute_cost(&plain, &p)));
    assert!(
        matches!(costs, Some((a, b)) if a == b && a.total.nanos() == 28_000_000),
        "{costs:?}"
    );
}
