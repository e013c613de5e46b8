//! Exact counts for OpenAI models with tiktoken-rs.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;
use tiktoken_rs::tokenizer::{Tokenizer as TiktokenKind, get_tokenizer};

use super::{EstimateTokenizer, TokenCount, Tokenizer, canonical_model};

/// An OpenAI BPE encoding that tiktoken-rs embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// `o200k_base`: GPT-4o, GPT-4.1, GPT-4.5, GPT-5, the o-series, codex-mini.
    O200kBase,
    /// `o200k_harmony`: gpt-oss. The `o200k_base` vocabulary plus the harmony chat-format
    /// tokens, so ordinary text counts the same as with `o200k_base`.
    O200kHarmony,
    /// `cl100k_base`: GPT-4, GPT-3.5 Turbo, `text-embedding-ada-002` and `-3-*`.
    Cl100kBase,
    /// `p50k_base`: legacy Codex and `text-davinci-002`/`-003` (and the edit models, whose
    /// `p50k_edit` differs only in special tokens).
    P50kBase,
    /// `r50k_base` (also called `gpt2`): legacy GPT-3 models.
    R50kBase,
}

impl Encoding {
    /// Every encoding.
    pub const ALL: [Self; 5] = [
        Self::O200kBase,
        Self::O200kHarmony,
        Self::Cl100kBase,
        Self::P50kBase,
        Self::R50kBase,
    ];

    /// The name tiktoken uses, e.g. `o200k_base`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::O200kBase => "o200k_base",
            Self::O200kHarmony => "o200k_harmony",
            Self::Cl100kBase => "cl100k_base",
            Self::P50kBase => "p50k_base",
            Self::R50kBase => "r50k_base",
        }
    }

    /// The encoding with this tiktoken name (`gpt2` is accepted for `r50k_base`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "gpt2" => Some(Self::R50kBase),
            _ => Self::ALL.into_iter().find(|e| e.name() == name),
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::O200kBase => 0,
            Self::O200kHarmony => 1,
            Self::Cl100kBase => 2,
            Self::P50kBase => 3,
            Self::R50kBase => 4,
        }
    }

    const fn from_kind(kind: TiktokenKind) -> Self {
        match kind {
            TiktokenKind::O200kBase => Self::O200kBase,
            TiktokenKind::O200kHarmony => Self::O200kHarmony,
            TiktokenKind::Cl100kBase => Self::Cl100kBase,
            TiktokenKind::P50kBase | TiktokenKind::P50kEdit => Self::P50kBase,
            TiktokenKind::R50kBase | TiktokenKind::Gpt2 => Self::R50kBase,
        }
    }

    /// tiktoken-rs's cached instance, decoded from the embedded table on first use.
    fn bpe(self) -> &'static CoreBPE {
        match self {
            Self::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Self::O200kHarmony => tiktoken_rs::o200k_harmony_singleton(),
            Self::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
            Self::P50kBase => tiktoken_rs::p50k_base_singleton(),
            Self::R50kBase => tiktoken_rs::r50k_base_singleton(),
        }
    }

    /// The special tokens of the encoding, collected once.
    fn special_tokens(self) -> &'static HashSet<&'static str> {
        static SETS: [OnceLock<HashSet<&'static str>>; Encoding::ALL.len()] =
            [const { OnceLock::new() }; Encoding::ALL.len()];
        SETS[self.index()].get_or_init(|| self.bpe().special_tokens())
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Encoding {
    type Err = UnknownEncoding;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or(UnknownEncoding)
    }
}

/// The error of parsing an [`Encoding`] from a name tiktoken does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown tiktoken encoding")]
pub struct UnknownEncoding;

/// The tiktoken encoding of an OpenAI model, or `None` for other models.
///
/// The name is normalized as described in [`tokenizer_for_model`](super::tokenizer_for_model),
/// then looked up with tiktoken-rs's own table (`tiktoken_rs::tokenizer::get_tokenizer`, in
/// sync with Python tiktoken 0.14), which also resolves `ft:` fine-tunes.
pub fn encoding_for_model(model: &str) -> Option<Encoding> {
    get_tokenizer(&canonical_model(model)).map(Encoding::from_kind)
}

/// Exact token counts with one of OpenAI's BPE encodings, through tiktoken-rs.
///
/// Counts are labelled [`Accuracy::Exact`](super::Accuracy::Exact) with the encoding name.
/// The BPE tables are embedded in the binary (no network) and decoded into tiktoken-rs's
/// process-wide cache the first time an encoding is used. That takes a moment and memory
/// (measured: about 49 MB resident for `o200k_base`, 25 MB for `cl100k_base`), once per
/// process; call [`preload`](Self::preload) at startup to pay it before the first count.
///
/// **Special tokens.** By default text that looks like a special token (`<|endoftext|>`) is
/// counted as the ordinary text it is, as OpenAI's API does with message content and as
/// Python tiktoken's `encode(text, disallowed_special=())` does.
/// [`with_special_tokens`](Self::with_special_tokens) counts each such string as the one
/// control token it names instead, like `encode_with_special_tokens`.
///
/// Should tiktoken's pre-tokenizing regex give up on some pathological input (it has a
/// backtracking limit), the count falls back to [`EstimateTokenizer`] and says so in its
/// accuracy; it never panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TiktokenTokenizer {
    encoding: Encoding,
    special_tokens: bool,
}

impl TiktokenTokenizer {
    /// A tokenizer for `encoding`, counting special-token text as ordinary text.
    pub const fn new(encoding: Encoding) -> Self {
        Self {
            encoding,
            special_tokens: false,
        }
    }

    /// A shared instance for `encoding` (the one [`tokenizer_for_model`] hands out).
    ///
    /// [`tokenizer_for_model`]: super::tokenizer_for_model
    pub fn for_encoding(encoding: Encoding) -> &'static Self {
        static SHARED: [TiktokenTokenizer; Encoding::ALL.len()] = [
            TiktokenTokenizer::new(Encoding::O200kBase),
            TiktokenTokenizer::new(Encoding::O200kHarmony),
            TiktokenTokenizer::new(Encoding::Cl100kBase),
            TiktokenTokenizer::new(Encoding::P50kBase),
            TiktokenTokenizer::new(Encoding::R50kBase),
        ];
        &SHARED[encoding.index()]
    }

    /// The shared instance for an OpenAI model, or `None` if the model has no known encoding
    /// (see [`encoding_for_model`]).
    pub fn for_model(model: &str) -> Option<&'static Self> {
        encoding_for_model(model).map(Self::for_encoding)
    }

    /// The same tokenizer, counting text that spells a special token of the encoding
    /// (`<|endoftext|>`, …) as that single token.
    pub const fn with_special_tokens(self) -> Self {
        Self {
            special_tokens: true,
            ..self
        }
    }

    /// The encoding.
    pub const fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Decodes the encoding's embedded table now rather than on the first count.
    pub fn preload(&self) {
        let _ = self.encoding.bpe();
        if self.special_tokens {
            let _ = self.encoding.special_tokens();
        }
    }
}

impl Tokenizer for TiktokenTokenizer {
    fn name(&self) -> &str {
        self.encoding.name()
    }

    fn count(&self, text: &str) -> TokenCount {
        if text.is_empty() {
            return TokenCount::exact(0, self.encoding.name());
        }
        let bpe = self.encoding.bpe();
        // `CoreBPE::count` returns the regex failure as an error, where `count_ordinary` and
        // `count_with_special_tokens` would panic. With no allowed special token it counts
        // exactly as `count_ordinary` does.
        let counted = if self.special_tokens {
            bpe.count(text, self.encoding.special_tokens())
        } else {
            bpe.count(text, &HashSet::new())
        };
        match counted {
            Ok(n) => TokenCount::exact(u64::try_from(n).unwrap_or(u64::MAX), self.encoding.name()),
            Err(_) => EstimateTokenizer.count(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for encoding in Encoding::ALL {
            assert_eq!(Encoding::from_name(encoding.name()), Some(encoding));
            assert_eq!(encoding.name().parse::<Encoding>(), Ok(encoding));
            assert_eq!(
                TiktokenTokenizer::for_encoding(encoding).encoding(),
                encoding
            );
        }
        assert_eq!(Encoding::from_name("gpt2"), Some(Encoding::R50kBase));
        assert_eq!("o100k".parse::<Encoding>(), Err(UnknownEncoding));
    }

    #[test]
    fn special_token_text_counts_both_ways() {
        let plain = TiktokenTokenizer::new(Encoding::Cl100kBase);
        let special = plain.with_special_tokens();
        let text = "<|endoftext|>";
        let expected_plain = tiktoken_rs::cl100k_base_singleton().count_ordinary(text);
        assert_eq!(plain.count(text).tokens, expected_plain as u64);
        assert!(expected_plain > 1);
        assert_eq!(special.count(text), TokenCount::exact(1, "cl100k_base"));
    }
}
