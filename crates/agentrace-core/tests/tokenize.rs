//! Token counting: known counts, model routing, estimate behaviour, accuracy labels, and no
//! panics on any input.

use agentrace_core::tokenize::{
    Accuracy, ChatMessage, EstimateTokenizer, TokenCount, Tokenizer, tokenizer_for_model,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PROMPT: [ChatMessage<'static>; 2] = [
    ChatMessage::system("You are helpful."),
    ChatMessage::user("Hi there"),
];

const PROSE: &str = "Observability for LLM agents means recording every model call, tool \
    invocation and retrieval step as a span, with its inputs, outputs, latency and cost, so \
    that a failing run can be replayed and understood. Token counts matter because providers \
    bill by the token, and because context windows are measured in tokens rather than in \
    characters or words. When a provider does not report usage, for example on a stream that \
    was cut short, the count has to be reconstructed from the text itself.";

fn estimate(tokens: u64) -> TokenCount {
    TokenCount::estimate(tokens, EstimateTokenizer::METHOD)
}

// ---------------------------------------------------------------------------------------------
// Estimates (with or without the tiktoken feature)
// ---------------------------------------------------------------------------------------------

#[test]
fn estimate_of_empty_text_is_zero() {
    assert_eq!(EstimateTokenizer.count(""), estimate(0));
}

#[test]
fn estimate_counts_about_four_ascii_characters_per_token() {
    assert_eq!(EstimateTokenizer.count("a"), estimate(1));
    assert_eq!(EstimateTokenizer.count("Hello, world!"), estimate(4)); // 13 chars
    assert_eq!(EstimateTokenizer.count(&"x".repeat(400)), estimate(100));
    assert_eq!(EstimateTokenizer.count(&"x".repeat(401)), estimate(101));
}

#[test]
fn estimate_counts_cjk_characters_about_one_token_each() {
    assert_eq!(EstimateTokenizer.count("你好世界"), estimate(4));
    assert_eq!(EstimateTokenizer.count("こんにちは世界"), estimate(7));
    assert_eq!(EstimateTokenizer.count("안녕하세요"), estimate(5));
    // Mixed: 8 ASCII characters (2 tokens) and 2 ideographs (2 tokens).
    assert_eq!(EstimateTokenizer.count("Beijing 北京"), estimate(4));
}

#[test]
fn estimate_is_labelled_as_an_estimate() {
    let count = EstimateTokenizer.count("anything");
    assert!(!count.is_exact());
    assert_eq!(
        count.accuracy,
        Accuracy::Estimate {
            method: "chars/4+cjk"
        }
    );
    assert_eq!(count.accuracy.label(), EstimateTokenizer::METHOD);
    assert_eq!(EstimateTokenizer.name(), "estimate");
    assert_eq!(count.to_string(), "2 tokens (estimate: chars/4+cjk)");
}

#[test]
fn estimate_counts_chat_messages_with_the_cookbook_framing() {
    // Roles "system" (2) and "user" (1), contents 16 chars (4) and 8 chars (2), 3 per
    // message, 3 for the reply primer.
    assert_eq!(
        EstimateTokenizer.count_messages(&PROMPT),
        estimate(2 + 4 + 3 + 1 + 2 + 3 + 3)
    );
    // A name adds its tokens and 1.
    let named = [ChatMessage::user("Hi there").with_name("alice")];
    assert_eq!(
        EstimateTokenizer.count_messages(&named),
        estimate(3 + 1 + 2 + 2 + 1 + 3)
    );
    assert_eq!(EstimateTokenizer.count_messages(&[]), estimate(3));
}

#[test]
fn models_without_a_public_tokenizer_get_the_estimate() {
    for model in [
        "claude-sonnet-4-5",
        "anthropic/claude-opus-4-1",
        "gemini-2.5-pro",
        "mistral-large-latest",
        "deepseek-chat",
        "llama-3.3-70b-versatile",
        "grok-4",
        "o4", // not a model tiktoken knows; o4-mini is
        "",
        "   ",
        "/",
        "ft:",
        "ft:unknown-model:org::id",
    ] {
        let tokenizer = tokenizer_for_model(model);
        assert_eq!(tokenizer.name(), "estimate", "{model:?}");
        assert_eq!(tokenizer.count("Hello, world!"), estimate(4), "{model:?}");
    }
}

#[cfg(not(feature = "tiktoken"))]
#[test]
fn without_tiktoken_every_model_gets_the_estimate() {
    for model in ["gpt-4o", "gpt-4", "text-embedding-3-small"] {
        assert_eq!(tokenizer_for_model(model).name(), "estimate", "{model}");
    }
}

// ---------------------------------------------------------------------------------------------
// Serialization of counts
// ---------------------------------------------------------------------------------------------

#[test]
fn counts_serialize_with_their_accuracy() -> TestResult {
    let exact = TokenCount::exact(17, "o200k_base");
    let json = serde_json::to_string(&exact)?;
    assert_eq!(
        json,
        r#"{"tokens":17,"accuracy":{"kind":"exact","encoding":"o200k_base"}}"#
    );
    assert_eq!(serde_json::from_str::<TokenCount>(&json)?, exact);

    let est = estimate(4);
    let json = serde_json::to_string(&est)?;
    assert_eq!(
        json,
        r#"{"tokens":4,"accuracy":{"kind":"estimate","method":"chars/4+cjk"}}"#
    );
    assert_eq!(serde_json::from_str::<TokenCount>(&json)?, est);
    Ok(())
}

#[test]
fn unknown_labels_deserialize_as_unknown_but_keep_their_kind() -> TestResult {
    let json = r#"{"tokens":5,"accuracy":{"kind":"exact","encoding":"hf:llama-3"}}"#;
    assert_eq!(
        serde_json::from_str::<TokenCount>(json)?,
        TokenCount::exact(5, Accuracy::UNKNOWN_LABEL)
    );
    let json = r#"{"tokens":5,"accuracy":{"kind":"estimate","method":"words"}}"#;
    assert_eq!(
        serde_json::from_str::<TokenCount>(json)?,
        TokenCount::estimate(5, Accuracy::UNKNOWN_LABEL)
    );
    assert!(serde_json::from_str::<Accuracy>(r#"{"kind":"guess","method":"x"}"#).is_err());
    Ok(())
}

#[test]
fn sums_keep_the_weakest_accuracy() {
    let sum = TokenCount::exact(10, "o200k_base") + TokenCount::exact(7, "o200k_base");
    assert_eq!(sum, TokenCount::exact(17, "o200k_base"));
    let sum = TokenCount::exact(10, "o200k_base") + estimate(7);
    assert_eq!(sum, estimate(17));
    let sum = TokenCount::exact(10, "o200k_base") + TokenCount::exact(7, "cl100k_base");
    assert_eq!(sum, TokenCount::estimate(17, Accuracy::MIXED));
}

// ---------------------------------------------------------------------------------------------
// No panics, whatever the input
// ---------------------------------------------------------------------------------------------

fn hostile_inputs() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        "\0".into(),
        "<|endoftext|>".into(),
        "<|endoftext|><|fim_prefix|><|fim_middle|><|fim_suffix|><|endofprompt|>".into(),
        "<|im_start|>system<|im_sep|>hi<|im_end|><|start|><|message|><|end|><|return|>".into(),
        "<|reserved_200050|> <|constrain|> <|channel|> <|call|> <| <|> |> <|endoftext".into(),
        "\u{FEFF}\u{200B}\u{202E}reversed\u{0301}\u{0301}\u{0301}".into(),
        "🙂".repeat(2_000),
        "a".repeat(50_000),
        " ".repeat(50_000),
        format!("{}x", " ".repeat(20_000)),
        "\n".repeat(20_000),
        " \n".repeat(10_000),
        "1".repeat(20_000),
        "!?".repeat(10_000),
        "<|endoftext|>".repeat(2_000),
        "ab 你好 🙂 привет\t\r\n".repeat(1_000),
    ]
}

#[test]
fn estimate_never_panics() {
    for text in hostile_inputs() {
        let count = EstimateTokenizer.count(&text);
        assert_eq!(count.tokens == 0, text.is_empty());
    }
}

#[test]
fn every_routed_tokenizer_counts_hostile_input_without_panicking() {
    for model in [
        "gpt-4o",
        "gpt-4",
        "gpt-oss-20b",
        "text-davinci-003",
        "davinci",
        "claude-sonnet-4-5",
    ] {
        let tokenizer = tokenizer_for_model(model);
        for text in hostile_inputs() {
            let count = tokenizer.count(&text);
            assert_eq!(count.tokens == 0, text.is_empty(), "{model} {:.20?}", text);
            let messages = [ChatMessage::user(&text).with_name("n")];
            assert!(tokenizer.count_messages(&messages).tokens >= count.tokens);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Exact counts with tiktoken
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "tiktoken")]
mod tiktoken {
    use super::*;
    use agentrace_core::tokenize::{Encoding, TiktokenTokenizer, encoding_for_model};

    fn exact(tokens: u64, encoding: &'static str) -> TokenCount {
        TokenCount::exact(tokens, encoding)
    }

    fn o200k(text: &str) -> u64 {
        tiktoken_rs::o200k_base_singleton().count_ordinary(text) as u64
    }

    fn cl100k(text: &str) -> u64 {
        tiktoken_rs::cl100k_base_singleton().count_ordinary(text) as u64
    }

    #[test]
    fn known_chat_prompt_counts_17_on_gpt_4o_and_gpt_4() {
        assert_eq!(
            tokenizer_for_model("gpt-4o").count_messages(&PROMPT),
            exact(17, "o200k_base")
        );
        assert_eq!(
            tokenizer_for_model("gpt-4").count_messages(&PROMPT),
            exact(17, "cl100k_base")
        );
    }

    #[test]
    fn chat_counts_agree_with_tiktoken_rs() -> TestResult {
        let prompts: [&[ChatMessage<'_>]; 3] = [
            &PROMPT,
            &[
                ChatMessage::system("You translate English to French."),
                ChatMessage::user("The weather is lovely today.").with_name("alice"),
                ChatMessage::assistant("Il fait un temps magnifique aujourd'hui."),
                ChatMessage::user("你好，世界！今天天气很好。"),
            ],
            &[],
        ];
        for model in ["gpt-4o", "gpt-4", "gpt-4.1-mini", "gpt-3.5-turbo"] {
            for prompt in prompts {
                let theirs: Vec<_> = prompt
                    .iter()
                    .map(|m| tiktoken_rs::ChatCompletionRequestMessage {
                        role: m.role.to_owned(),
                        content: Some(m.content.to_owned()),
                        name: m.name.map(str::to_owned),
                        ..Default::default()
                    })
                    .collect();
                let expected = tiktoken_rs::num_tokens_from_messages(model, &theirs)?;
                let ours = tokenizer_for_model(model).count_messages(prompt);
                assert!(ours.is_exact());
                assert_eq!(ours.tokens, expected as u64, "{model} {prompt:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn known_single_string_counts() {
        let o = tokenizer_for_model("gpt-4o");
        let c = tokenizer_for_model("gpt-4");
        // English is 10 tokens with both encodings…
        let english = "The quick brown fox jumps over the lazy dog.";
        assert_eq!(o.count(english), exact(10, "o200k_base"));
        assert_eq!(c.count(english), exact(10, "cl100k_base"));
        // …other scripts are much cheaper with o200k.
        for (text, with_o200k, with_cl100k) in [
            ("你好，世界！今天天气很好。", 9, 16),
            ("Привет, как дела?", 6, 8),
            ("नमस्ते दुनिया", 5, 13),
            ("こんにちは世界", 2, 4),
        ] {
            assert_eq!(o.count(text), exact(with_o200k, "o200k_base"), "{text}");
            assert_eq!(c.count(text), exact(with_cl100k, "cl100k_base"), "{text}");
            assert_eq!(o200k(text), with_o200k, "{text}");
            assert_eq!(cl100k(text), with_cl100k, "{text}");
        }
        // The legacy encodings, for the routing below.
        let p50k = TiktokenTokenizer::new(Encoding::P50kBase);
        let r50k = TiktokenTokenizer::new(Encoding::R50kBase);
        assert_eq!(p50k.count("    indented code();\n"), exact(6, "p50k_base"));
        assert_eq!(r50k.count("    indented code();\n"), exact(8, "r50k_base"));
    }

    #[test]
    fn counts_agree_with_tiktoken_rs_on_prose_and_hostile_input() {
        let o = TiktokenTokenizer::new(Encoding::O200kBase);
        let c = TiktokenTokenizer::new(Encoding::Cl100kBase);
        let mut texts = hostile_inputs();
        texts.push(PROSE.to_owned());
        for text in &texts {
            assert_eq!(o.count(text).tokens, o200k(text), "{:.20?}", text);
            assert_eq!(c.count(text).tokens, cl100k(text), "{:.20?}", text);
            assert!(o.count(text).is_exact());
        }
    }

    /// Model, expected encoding (`None`: the estimate).
    const ROUTES: &[(&str, Option<&str>)] = &[
        ("gpt-4o", Some("o200k_base")),
        ("gpt-4o-2024-08-06", Some("o200k_base")),
        ("gpt-4o-mini", Some("o200k_base")),
        ("ft:gpt-4o-mini:org::id", Some("o200k_base")),
        ("ft:gpt-4o-2024-08-06:acme:support:9abc", Some("o200k_base")),
        ("chatgpt-4o-latest", Some("o200k_base")),
        ("openai/gpt-4.1", Some("o200k_base")),
        ("gpt-4.1-nano", Some("o200k_base")),
        ("gpt-4.5-preview", Some("o200k_base")),
        ("gpt-5", Some("o200k_base")),
        ("gpt-5.1-codex-mini", Some("o200k_base")),
        ("azure/gpt-5-mini", Some("o200k_base")),
        ("openrouter/openai/gpt-5-nano", Some("o200k_base")),
        ("GPT-4o", Some("o200k_base")),
        (" gpt-4o ", Some("o200k_base")),
        ("o1", Some("o200k_base")),
        ("o1-preview", Some("o200k_base")),
        ("o3", Some("o200k_base")),
        ("o3-mini-2025-01-31", Some("o200k_base")),
        ("o4-mini", Some("o200k_base")),
        ("o4-mini-2025-04-16", Some("o200k_base")),
        ("codex-mini-latest", Some("o200k_base")),
        ("gpt-oss-120b", Some("o200k_harmony")),
        ("openai.gpt-oss-20b-1:0", Some("o200k_harmony")),
        ("gpt-4", Some("cl100k_base")),
        ("gpt-4-32k", Some("cl100k_base")),
        ("gpt-4-turbo", Some("cl100k_base")),
        ("gpt-4-0613", Some("cl100k_base")),
        ("gpt-3.5-turbo", Some("cl100k_base")),
        ("gpt-3.5-turbo-0125", Some("cl100k_base")),
        ("ft:gpt-3.5-turbo-0125:org::abc", Some("cl100k_base")),
        ("gpt-35-turbo", Some("cl100k_base")),
        ("azure/gpt-35-turbo-16k", Some("cl100k_base")),
        ("text-embedding-ada-002", Some("cl100k_base")),
        ("text-embedding-3-small", Some("cl100k_base")),
        ("text-embedding-3-large", Some("cl100k_base")),
        ("davinci-002", Some("cl100k_base")),
        ("text-davinci-003", Some("p50k_base")),
        ("text-davinci-edit-001", Some("p50k_base")),
        ("code-davinci-002", Some("p50k_base")),
        ("davinci", Some("r50k_base")),
        ("text-ada-001", Some("r50k_base")),
        ("gpt2", Some("r50k_base")),
        ("claude-sonnet-4-5", None),
        ("claude-3-5-haiku-20241022", None),
        ("gemini-2.5-pro", None),
        ("vertex_ai/gemini-2.0-flash", None),
        ("mistral-large-latest", None),
        ("deepseek-reasoner", None),
        ("gpt-realtime", None),
        ("o4", None),
        ("gpt-6", None),
        ("", None),
    ];

    #[test]
    fn model_routing_table() {
        for &(model, expected) in ROUTES {
            let tokenizer = tokenizer_for_model(model);
            let count = tokenizer.count("Hello, world!");
            match expected {
                Some(encoding) => {
                    assert_eq!(tokenizer.name(), encoding, "{model}");
                    assert_eq!(count.accuracy, Accuracy::Exact { encoding }, "{model}");
                    assert_eq!(
                        encoding_for_model(model).map(Encoding::name),
                        Some(encoding),
                        "{model}"
                    );
                    assert_eq!(
                        TiktokenTokenizer::for_model(model).map(|t| t.encoding().name()),
                        Some(encoding),
                        "{model}"
                    );
                }
                None => {
                    assert_eq!(tokenizer.name(), "estimate", "{model}");
                    assert_eq!(count, estimate(4), "{model}");
                    assert_eq!(encoding_for_model(model), None, "{model}");
                }
            }
        }
    }

    #[test]
    fn special_token_text_is_ordinary_text_unless_asked() {
        let plain = TiktokenTokenizer::new(Encoding::O200kBase);
        let special = plain.with_special_tokens();
        let text = "Ignore this: <|endoftext|> and go on.";
        let ordinary = o200k(text);
        assert_eq!(plain.count(text), exact(ordinary, "o200k_base"));
        // As ordinary text "<|endoftext|>" takes several tokens; as a special token, one.
        let with_special = tiktoken_rs::o200k_base_singleton().count_with_special_tokens(text);
        assert_eq!(
            special.count(text),
            exact(with_special as u64, "o200k_base")
        );
        assert!(
            special.count(text).tokens + 4 <= ordinary,
            "{with_special} vs {ordinary}"
        );
        // Strings that only look like special tokens stay ordinary text either way.
        let fake = "<|end_of_text|> <|im_start|>";
        assert_eq!(special.count(fake), plain.count(fake));
    }

    #[test]
    fn a_regex_failure_in_tiktoken_falls_back_to_a_labelled_estimate() {
        // A million spaces before a word exhaust the backtracking stack of tiktoken's
        // pre-tokenizing regex (`\s+(?!\S)`, fancy-regex). tiktoken-rs's `count_ordinary`
        // panics on it; our count must not.
        let text = format!("{}x", " ".repeat(1_000_000));
        let bpe = tiktoken_rs::o200k_base_singleton();
        assert!(bpe.count(&text, &Default::default()).is_err());
        for model in ["gpt-4o", "gpt-4"] {
            let count = tokenizer_for_model(model).count(&text);
            assert_eq!(
                count,
                estimate(EstimateTokenizer::estimate(&text)),
                "{model}"
            );
            let messages = [ChatMessage::system("Be brief."), ChatMessage::user(&text)];
            let total = tokenizer_for_model(model).count_messages(&messages);
            assert!(!total.is_exact(), "{model}");
            assert!(total.tokens > count.tokens, "{model}");
        }
    }

    #[test]
    fn empty_text_is_zero_exact_tokens() {
        for encoding in Encoding::ALL {
            let tokenizer = TiktokenTokenizer::new(encoding);
            assert_eq!(tokenizer.count(""), exact(0, encoding.name()));
            assert_eq!(
                tokenizer.with_special_tokens().count(""),
                exact(0, encoding.name())
            );
            assert_eq!(
                tokenizer.count_messages(&[]),
                exact(3, encoding.name()),
                "only the reply primer"
            );
        }
    }

    #[test]
    fn estimate_is_within_30_percent_of_openai_encodings_on_prose() {
        let est = EstimateTokenizer::estimate(PROSE) as f64;
        for actual in [o200k(PROSE), cl100k(PROSE)] {
            let ratio = est / actual as f64;
            assert!((0.7..=1.3).contains(&ratio), "{est} vs {actual}");
        }
    }
}
