//! Token counting: the `Tokenizer` trait, exact counts for OpenAI encodings, labelled estimates
//! for other providers.
//!
//! Providers report the tokens they bill in their responses, and those reported counts are
//! always preferred (docs/conventions.md, "Counting tokens"). This module is for when they are missing: a
//! streamed response without a usage chunk, a prompt about to be sent, a span from an
//! instrumentation that recorded the text but not the usage.
//!
//! Every [`TokenCount`] says how far it can be trusted through its [`Accuracy`]:
//!
//! - [`Accuracy::Exact`]: counted with the model's own public tokenizer, labelled with the
//!   encoding (`o200k_base`, `cl100k_base`, …). Only OpenAI publishes its tokenizers, so this
//!   needs the `tiktoken` feature (on by default; the BPE tables are embedded in the binary
//!   and decoded on first use of each encoding, so no network is needed).
//! - [`Accuracy::Estimate`]: a heuristic, labelled with its method. Anthropic, Google,
//!   Mistral, DeepSeek and most others do not publish a tokenizer for their current models,
//!   so [`EstimateTokenizer`] is all one can do for them without calling the provider.
//!
//! [`tokenizer_for_model`] picks the right one for a model name (see its docs for the routing
//! table). Chat prompts are counted with [`Tokenizer::count_messages`], which adds the framing
//! tokens of the chat format (the OpenAI cookbook rule) to the tokens of each message.
//!
//! ## Example
//!
//! ```
//! use agentrace_core::tokenize::{tokenizer_for_model, ChatMessage, Tokenizer};
//!
//! let prompt = [
//!     ChatMessage::system("You are helpful."),
//!     ChatMessage::user("Hi there"),
//! ];
//!
//! let gpt = tokenizer_for_model("gpt-4o-2024-08-06");
//! let count = gpt.count_messages(&prompt);
//! if cfg!(feature = "tiktoken") {
//!     assert!(count.is_exact());
//!     assert_eq!(count.tokens, 17);
//!     assert_eq!(count.accuracy.label(), "o200k_base");
//! }
//!
//! // No public tokenizer for Claude: an estimate, and it says so.
//! let claude = tokenizer_for_model("claude-sonnet-4-5").count("Hello, world!");
//! assert!(!claude.is_exact());
//! assert_eq!(claude.tokens, 4); // 13 characters at ~4 per token, rounded up
//! println!("{claude}"); // "4 tokens (estimate: chars/4+cjk)"
//! ```
//!
//! ## Adding a tokenizer
//!
//! Implement [`Tokenizer`]; its documentation is the guide.

use std::borrow::Cow;
use std::fmt;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Deserializer, Serialize};

mod estimate;
#[cfg(feature = "tiktoken")]
mod tiktoken;

pub use estimate::EstimateTokenizer;
#[cfg(feature = "tiktoken")]
#[cfg_attr(docsrs, doc(cfg(feature = "tiktoken")))]
pub use tiktoken::{Encoding, TiktokenTokenizer, UnknownEncoding, encoding_for_model};

/// Framing tokens per chat message in the OpenAI cookbook rule (`<|start|>{role}<|message|>` …
/// `<|end|>`, with the role's own tokens counted separately).
pub const TOKENS_PER_MESSAGE: u64 = 3;
/// Extra tokens when a chat message carries a `name`, on top of the name's own tokens.
pub const TOKENS_PER_NAME: u64 = 1;
/// Tokens that prime the reply (`<|start|>assistant<|message|>`), added once per prompt.
pub const REPLY_PRIMER_TOKENS: u64 = 3;

/// Something that counts tokens for one model family.
///
/// # Implementing a tokenizer
///
/// To add a tokenizer (for example one backed by the Hugging Face `tokenizers` crate for
/// open-weight models such as Llama or Qwen):
///
/// 1. **`count` never fails and never panics.** It receives arbitrary text: empty strings,
///    megabytes, invalid-looking markup, strings that look like special tokens
///    (`<|endoftext|>`, `<s>`, `[INST]`). Text that looks like a special token is ordinary
///    text unless the API being modelled really turns it into a control token. If the
///    underlying library can fail, fall back to [`EstimateTokenizer`] and return its
///    (estimate-labelled) count rather than an error.
/// 2. **Count the text only.** Do not add begin/end-of-sequence tokens (for Hugging Face:
///    `encode(text, add_special_tokens = false)`); chat framing belongs to
///    [`count_messages`](Tokenizer::count_messages). `count("")` must be 0.
/// 3. **Label honestly.** Return [`Accuracy::Exact`] only when the tokenizer is the one the
///    model uses (same vocabulary and pre-tokenization); a related model's tokenizer, or any
///    heuristic, is an [`Accuracy::Estimate`] whose `method` says which (for example
///    `"llama3-tokenizer-as-proxy"`). Labels are `&'static str`: use constants.
/// 4. **Override `count_messages` only if the chat template differs** materially from the
///    default framing (3 tokens per message, 1 per name, 3 for the reply primer). The
///    default calls `count` on each role, content and name.
/// 5. **Be cheap to share.** Tokenizers are `Send + Sync` and are called from many threads;
///    load vocabularies once (a `OnceLock`/`LazyLock`), not per call.
/// 6. Give it a stable [`name`](Tokenizer::name), and route model names to it where the
///    application chooses tokenizers ([`tokenizer_for_model`] covers only the built-in ones).
///
/// ```
/// use agentrace_core::tokenize::{Accuracy, TokenCount, Tokenizer};
///
/// /// Counts whitespace-separated words: a (poor) estimate.
/// #[derive(Debug)]
/// struct Words;
///
/// impl Tokenizer for Words {
///     fn name(&self) -> &str {
///         "words"
///     }
///     fn count(&self, text: &str) -> TokenCount {
///         TokenCount::estimate(text.split_whitespace().count() as u64, "words")
///     }
/// }
///
/// assert_eq!(Words.count("one two three").tokens, 3);
/// assert_eq!(Words.count("").accuracy, Accuracy::Estimate { method: "words" });
/// ```
pub trait Tokenizer: Send + Sync + fmt::Debug {
    /// A short, stable name: the encoding for tiktoken (`o200k_base`), `estimate` for the
    /// heuristic.
    fn name(&self) -> &str;

    /// The number of tokens in `text`, with how it was obtained. Never panics.
    fn count(&self, text: &str) -> TokenCount;

    /// The number of tokens of a chat prompt, with the OpenAI cookbook rule: for each message
    /// 3 framing tokens plus the tokens of its role and content, plus the tokens of its name
    /// and 1 more when it has one; then 3 tokens priming the reply.
    ///
    /// OpenAI checked this rule against the API for its chat models; it does not cover tool
    /// definitions, tool calls or images, which add tokens it does not count. The result is
    /// as exact as the weakest count that went into it.
    fn count_messages(&self, messages: &[ChatMessage<'_>]) -> TokenCount {
        let mut total = TokenCount {
            tokens: REPLY_PRIMER_TOKENS,
            accuracy: self.count("").accuracy,
        };
        for message in messages {
            total.tokens = total.tokens.saturating_add(TOKENS_PER_MESSAGE);
            total += self.count(message.role);
            total += self.count(message.content);
            if let Some(name) = message.name {
                total.tokens = total.tokens.saturating_add(TOKENS_PER_NAME);
                total += self.count(name);
            }
        }
        total
    }
}

impl<T: Tokenizer + ?Sized> Tokenizer for &T {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn count(&self, text: &str) -> TokenCount {
        (**self).count(text)
    }
    fn count_messages(&self, messages: &[ChatMessage<'_>]) -> TokenCount {
        (**self).count_messages(messages)
    }
}

impl<T: Tokenizer + ?Sized> Tokenizer for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn count(&self, text: &str) -> TokenCount {
        (**self).count(text)
    }
    fn count_messages(&self, messages: &[ChatMessage<'_>]) -> TokenCount {
        (**self).count_messages(messages)
    }
}

impl<T: Tokenizer + ?Sized> Tokenizer for std::sync::Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn count(&self, text: &str) -> TokenCount {
        (**self).count(text)
    }
    fn count_messages(&self, messages: &[ChatMessage<'_>]) -> TokenCount {
        (**self).count_messages(messages)
    }
}

/// A number of tokens and how far to trust it.
///
/// Serialized as `{"tokens": 17, "accuracy": {"kind": "exact", "encoding": "o200k_base"}}`.
/// Adding two counts adds the tokens (saturating) and keeps the weaker accuracy (see
/// [`Accuracy::combine`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenCount {
    /// The number of tokens.
    pub tokens: u64,
    /// Whether `tokens` is exact or an estimate, and how it was obtained.
    pub accuracy: Accuracy,
}

impl TokenCount {
    /// An exact count, obtained with `encoding`.
    pub const fn exact(tokens: u64, encoding: &'static str) -> Self {
        Self {
            tokens,
            accuracy: Accuracy::Exact { encoding },
        }
    }

    /// An estimated count, obtained with `method`.
    pub const fn estimate(tokens: u64, method: &'static str) -> Self {
        Self {
            tokens,
            accuracy: Accuracy::Estimate { method },
        }
    }

    /// Whether the count is exact.
    pub const fn is_exact(&self) -> bool {
        self.accuracy.is_exact()
    }
}

impl Add for TokenCount {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            tokens: self.tokens.saturating_add(other.tokens),
            accuracy: self.accuracy.combine(other.accuracy),
        }
    }
}

impl AddAssign for TokenCount {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

impl fmt::Display for TokenCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} tokens ({})", self.tokens, self.accuracy)
    }
}

/// How a [`TokenCount`] was obtained.
///
/// Serialized internally tagged: `{"kind": "exact", "encoding": "cl100k_base"}` or
/// `{"kind": "estimate", "method": "chars/4+cjk"}`.
///
/// The labels are `&'static str`, so deserializing maps the labels this crate produces (the
/// tiktoken encodings, [`EstimateTokenizer::METHOD`], [`Accuracy::MIXED`]) back to
/// themselves, and any other label to [`Accuracy::UNKNOWN_LABEL`]: the kind (exact or
/// estimate) always survives, a third-party label does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Accuracy {
    /// Counted with the tokenizer the model itself uses.
    Exact {
        /// The encoding, e.g. `o200k_base`.
        encoding: &'static str,
    },
    /// An approximation: a heuristic, or a tokenizer other than the model's.
    Estimate {
        /// How it was estimated, e.g. `chars/4+cjk`.
        method: &'static str,
    },
}

/// Labels that deserialize to themselves.
const KNOWN_LABELS: &[&str] = &[
    "o200k_base",
    "o200k_harmony",
    "cl100k_base",
    "p50k_base",
    "r50k_base",
    EstimateTokenizer::METHOD,
    Accuracy::MIXED,
];

impl Accuracy {
    /// The estimate method of a sum of exact counts from different encodings.
    pub const MIXED: &'static str = "mixed encodings";

    /// The label a deserialized [`Accuracy`] gets when its label is not one this crate knows.
    pub const UNKNOWN_LABEL: &'static str = "unknown";

    /// Whether this is [`Accuracy::Exact`].
    pub const fn is_exact(&self) -> bool {
        matches!(self, Self::Exact { .. })
    }

    /// The encoding or the method.
    pub const fn label(&self) -> &'static str {
        match self {
            Self::Exact { encoding } => encoding,
            Self::Estimate { method } => method,
        }
    }

    /// The accuracy of a sum of two counts: exact only if both are exact with the same
    /// encoding; otherwise the first estimate among the two, or [`Accuracy::MIXED`] when
    /// both are exact with different encodings.
    pub fn combine(self, other: Self) -> Self {
        match (self, other) {
            (a, b) if a == b => a,
            (Self::Estimate { .. }, _) => self,
            (_, Self::Estimate { .. }) => other,
            (Self::Exact { .. }, Self::Exact { .. }) => Self::Estimate {
                method: Self::MIXED,
            },
        }
    }
}

impl fmt::Display for Accuracy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact { encoding } => write!(f, "exact: {encoding}"),
            Self::Estimate { method } => write!(f, "estimate: {method}"),
        }
    }
}

impl<'de> Deserialize<'de> for Accuracy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        enum Repr {
            Exact { encoding: String },
            Estimate { method: String },
        }
        fn intern(label: &str) -> &'static str {
            KNOWN_LABELS
                .iter()
                .copied()
                .find(|known| *known == label)
                .unwrap_or(Accuracy::UNKNOWN_LABEL)
        }
        Ok(match Repr::deserialize(d)? {
            Repr::Exact { encoding } => Self::Exact {
                encoding: intern(&encoding),
            },
            Repr::Estimate { method } => Self::Estimate {
                method: intern(&method),
            },
        })
    }
}

/// One message of a chat prompt, borrowed from wherever the prompt lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChatMessage<'a> {
    /// `system`, `developer`, `user`, `assistant`, `tool`, …
    pub role: &'a str,
    /// The text of the message.
    pub content: &'a str,
    /// The optional author name (OpenAI's `name` field).
    pub name: Option<&'a str>,
}

impl<'a> ChatMessage<'a> {
    /// A message with a role and content, without a name.
    pub const fn new(role: &'a str, content: &'a str) -> Self {
        Self {
            role,
            content,
            name: None,
        }
    }

    /// A `system` message.
    pub const fn system(content: &'a str) -> Self {
        Self::new("system", content)
    }

    /// A `user` message.
    pub const fn user(content: &'a str) -> Self {
        Self::new("user", content)
    }

    /// An `assistant` message.
    pub const fn assistant(content: &'a str) -> Self {
        Self::new("assistant", content)
    }

    /// The same message with an author name.
    pub const fn with_name(self, name: &'a str) -> Self {
        Self {
            name: Some(name),
            ..self
        }
    }
}

/// The built-in tokenizer for a model name: exact tiktoken for OpenAI models, the
/// [`EstimateTokenizer`] for everything else.
///
/// The name is matched after trimming whitespace, lowercasing, and dropping provider routing
/// prefixes: everything up to the last `/` (`openai/gpt-4.1`, `azure/gpt-4o`,
/// `openrouter/openai/gpt-4o`) and a leading `openai.` (Bedrock). `ft:` fine-tune names
/// resolve to their base model (`ft:gpt-4o-mini:org::id` → `gpt-4o-mini`). Then, with the
/// `tiktoken` feature (docs/conventions.md, "Counting tokens", following tiktoken-rs's own table):
///
/// | encoding | models |
/// |---|---|
/// | `o200k_base` | `gpt-4o*`, `chatgpt-4o-*`, `gpt-4.1*`, `gpt-4.5-*`, `gpt-5*`, `o1*`, `o3*`, `o4-mini*`, `codex-mini*` |
/// | `o200k_harmony` | `gpt-oss-*` |
/// | `cl100k_base` | `gpt-4`, `gpt-4-*` (`-32k`, `-turbo`, …), `gpt-3.5-turbo*`, `gpt-35-turbo*`, `text-embedding-ada-002`, `text-embedding-3-small`/`-large`, `davinci-002`, `babbage-002` |
/// | `p50k_base`, `r50k_base` | legacy completion, code and embedding models |
/// | estimate | everything else: Claude, Gemini, Mistral, DeepSeek, Llama, unknown names |
///
/// Without the `tiktoken` feature every model gets the estimate. The returned tokenizers are
/// statics: calling this is cheap and allocates only for names with uppercase letters.
pub fn tokenizer_for_model(model: &str) -> &'static dyn Tokenizer {
    #[cfg(feature = "tiktoken")]
    if let Some(encoding) = encoding_for_model(model) {
        return TiktokenTokenizer::for_encoding(encoding);
    }
    #[cfg(not(feature = "tiktoken"))]
    let _ = model;
    &EstimateTokenizer
}

/// The model name as matched: trimmed, without routing prefixes, lowercased.
#[cfg_attr(not(feature = "tiktoken"), allow(dead_code))]
fn canonical_model(model: &str) -> Cow<'_, str> {
    let model = model.trim();
    let model = model.rsplit('/').next().unwrap_or(model);
    let model = match model.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("openai.") => &model[7..],
        _ => model,
    };
    if model.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(model.to_ascii_lowercase())
    } else {
        Cow::Borrowed(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_model_strips_routing_prefixes() {
        assert_eq!(canonical_model("gpt-4o"), "gpt-4o");
        assert_eq!(canonical_model(" openai/gpt-4.1 "), "gpt-4.1");
        assert_eq!(canonical_model("openrouter/openai/GPT-4o"), "gpt-4o");
        assert_eq!(
            canonical_model("OpenAI.gpt-oss-120b-1:0"),
            "gpt-oss-120b-1:0"
        );
        assert_eq!(
            canonical_model("ft:gpt-4o-mini:org::id"),
            "ft:gpt-4o-mini:org::id"
        );
        assert_eq!(canonical_model(""), "");
        assert_eq!(canonical_model("/"), "");
    }

    #[test]
    fn accuracy_combines_to_the_weakest() {
        let o200k = Accuracy::Exact {
            encoding: "o200k_base",
        };
        let cl100k = Accuracy::Exact {
            encoding: "cl100k_base",
        };
        let est = Accuracy::Estimate {
            method: EstimateTokenizer::METHOD,
        };
        assert_eq!(o200k.combine(o200k), o200k);
        assert_eq!(o200k.combine(est), est);
        assert_eq!(est.combine(o200k), est);
        assert_eq!(
            o200k.combine(cl100k),
            Accuracy::Estimate {
                method: Accuracy::MIXED
            }
        );
        let sum = TokenCount::exact(2, "o200k_base") + TokenCount::estimate(u64::MAX, "x");
        assert_eq!(sum, TokenCount::estimate(u64::MAX, "x"));
    }
}
