//! A labelled character-class estimate for models without a public tokenizer.

use super::{TokenCount, Tokenizer};

/// An estimate of the token count from the characters of the text, for models whose
/// tokenizer is not public: Anthropic Claude, Google Gemini, Mistral, DeepSeek, xAI, Cohere,
/// and any name [`tokenizer_for_model`](super::tokenizer_for_model) does not recognize.
///
/// **Prefer the counts the provider reports** (`gen_ai.usage.*`), or its token-counting
/// endpoint; use this only where neither exists, and keep the
/// [`Accuracy::Estimate`](super::Accuracy::Estimate) label with the number.
///
/// # Method (`chars/4+cjk`)
///
/// Characters are weighted by class, summed, and rounded up:
///
/// | characters | tokens each | why |
/// |---|---|---|
/// | ASCII, Latin-1 and Latin Extended letters | ¼ | the usual ~4 characters per token of English and other Latin-script text |
/// | CJK ideographs, kana, Hangul, CJK and full-width punctuation | 1 | modern BPE vocabularies spend about one token per character on these |
/// | characters outside the Basic Multilingual Plane (emoji, rare symbols) | 1 | they take 4 UTF-8 bytes, usually one or more tokens |
/// | everything else (Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, …) | ½ | fewer characters per token than Latin script in most vocabularies |
///
/// Empty text is 0 tokens, any other text at least 1. Against OpenAI's encodings this lands
/// within about ±30% on ordinary prose; code, numbers, long runs of whitespace or punctuation
/// and unusual scripts can be further off, in either direction. It is linear in the length of
/// the text and allocates nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EstimateTokenizer;

impl EstimateTokenizer {
    /// The method label of its counts.
    pub const METHOD: &'static str = "chars/4+cjk";

    /// The estimated token count of `text` (what [`Tokenizer::count`] labels).
    pub fn estimate(text: &str) -> u64 {
        // In quarter tokens.
        let mut quarters: u64 = 0;
        for c in text.chars() {
            quarters = quarters.saturating_add(weight(c));
        }
        quarters.div_ceil(4)
    }
}

/// Quarter tokens per character.
fn weight(c: char) -> u64 {
    match u32::from(c) {
        // ASCII, Latin-1 Supplement, Latin Extended-A/B, IPA, Latin Extended Additional.
        0x0000..=0x02AF | 0x1E00..=0x1EFF => 1,
        // Hangul Jamo, CJK punctuation, kana, Bopomofo, Hangul compatibility Jamo, CJK
        // strokes, enclosed CJK, CJK Extension A, CJK Unified Ideographs, Yi, Hangul
        // syllables, CJK compatibility ideographs, full-width and half-width forms.
        0x1100..=0x11FF
        | 0x2E80..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFFEF => 4,
        // Outside the Basic Multilingual Plane: emoji, CJK Extensions B+, historic scripts.
        0x1_0000.. => 4,
        _ => 2,
    }
}

impl Tokenizer for EstimateTokenizer {
    fn name(&self) -> &str {
        "estimate"
    }

    fn count(&self, text: &str) -> TokenCount {
        TokenCount::estimate(Self::estimate(text), Self::METHOD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_by_character_class() {
        assert_eq!(EstimateTokenizer::estimate(""), 0);
        assert_eq!(EstimateTokenizer::estimate("a"), 1);
        assert_eq!(EstimateTokenizer::estimate("abcd"), 1);
        assert_eq!(EstimateTokenizer::estimate("abcde"), 2);
        assert_eq!(EstimateTokenizer::estimate("café"), 1);
        assert_eq!(EstimateTokenizer::estimate("你好世界"), 4);
        assert_eq!(EstimateTokenizer::estimate("こんにちは"), 5);
        assert_eq!(EstimateTokenizer::estimate("안녕"), 2);
        assert_eq!(EstimateTokenizer::estimate("привет"), 3);
        assert_eq!(EstimateTokenizer::estimate("🙂🙂"), 2);
    }
}
