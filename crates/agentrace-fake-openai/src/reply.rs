//! What the fake answers: scripted [`Reply`]s and their [`Usage`].

/// Token usage as OpenAI reports it. `input` includes `cache_read` (OpenAI's
/// `prompt_tokens` includes `prompt_tokens_details.cached_tokens`) and `output` includes
/// `reasoning` (`completion_tokens` includes `completion_tokens_details.reasoning_tokens`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `prompt_tokens`: every input token, cached ones included.
    pub input: u64,
    /// `completion_tokens`: every output token, reasoning ones included.
    pub output: u64,
    /// `prompt_tokens_details.cached_tokens`.
    pub cache_read: u64,
    /// `completion_tokens_details.reasoning_tokens`.
    pub reasoning: u64,
}

impl Usage {
    /// Usage with `input` and `output` tokens, none cached or reasoning.
    pub const fn new(input: u64, output: u64) -> Self {
        Self {
            input,
            output,
            cache_read: 0,
            reasoning: 0,
        }
    }

    /// The same usage with `tokens` of the input read from the prompt cache.
    #[must_use]
    pub const fn with_cache_read(mut self, tokens: u64) -> Self {
        self.cache_read = tokens;
        self
    }

    /// The same usage with `tokens` of the output spent on reasoning.
    #[must_use]
    pub const fn with_reasoning(mut self, tokens: u64) -> Self {
        self.reasoning = tokens;
        self
    }
}

/// A tool call the model asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// The call's id (`call_…`), which the tool's result message refers to.
    pub id: String,
    /// The function's name.
    pub name: String,
    /// The arguments, a JSON text.
    pub arguments: String,
}

/// One scripted answer. Chat replies ([`Reply::text`], [`Reply::tool_calls`]) answer
/// `/v1/chat/completions`, [`Reply::embedding`] answers `/v1/embeddings`, and an error
/// ([`Reply::error`], [`Reply::rate_limited`]) answers either.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub(crate) body: ReplyBody,
    pub(crate) usage: Usage,
    pub(crate) response_model: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ReplyBody {
    Text(String),
    ToolCalls(Vec<ToolCall>),
    Embedding,
    Error {
        status: u16,
        kind: String,
        message: String,
    },
}

impl Reply {
    /// The assistant answers `text`, finishing with `stop`.
    pub fn text(text: impl Into<String>, usage: Usage) -> Self {
        Self::new(ReplyBody::Text(text.into()), usage)
    }

    /// The assistant asks for one tool call, finishing with `tool_calls`.
    pub fn tool_call(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
        usage: Usage,
    ) -> Self {
        Self::tool_calls(
            vec![ToolCall {
                id: id.into(),
                name: name.into(),
                arguments: arguments.into(),
            }],
            usage,
        )
    }

    /// The assistant asks for several tool calls at once.
    pub fn tool_calls(calls: Vec<ToolCall>, usage: Usage) -> Self {
        Self::new(ReplyBody::ToolCalls(calls), usage)
    }

    /// Embeddings of every input, using `input_tokens` in all.
    pub fn embedding(input_tokens: u64) -> Self {
        Self::new(ReplyBody::Embedding, Usage::new(input_tokens, 0))
    }

    /// An error answer with an HTTP `status` and OpenAI's error body (`type` is `kind`).
    pub fn error(status: u16, kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(
            ReplyBody::Error {
                status,
                kind: kind.into(),
                message: message.into(),
            },
            Usage::default(),
        )
    }

    /// HTTP 429, `rate_limit_exceeded`, as OpenAI answers when a rate limit is hit.
    pub fn rate_limited() -> Self {
        Self::error(
            429,
            "rate_limit_exceeded",
            "Rate limit reached for requests (fake)",
        )
    }

    /// The same reply naming `model` as the response model (by default the fake echoes the
    /// requested model, where OpenAI would name a dated snapshot).
    #[must_use]
    pub fn responding_as(mut self, model: impl Into<String>) -> Self {
        self.response_model = Some(model.into());
        self
    }

    /// The usage this reply reports.
    pub const fn usage(&self) -> Usage {
        self.usage
    }

    const fn new(body: ReplyBody, usage: Usage) -> Self {
        Self {
            body,
            usage,
            response_model: None,
        }
    }

    pub(crate) const fn is_chat(&self) -> bool {
        matches!(
            self.body,
            ReplyBody::Text(_) | ReplyBody::ToolCalls(_) | ReplyBody::Error { .. }
        )
    }

    pub(crate) const fn is_embedding(&self) -> bool {
        matches!(self.body, ReplyBody::Embedding | ReplyBody::Error { .. })
    }
}

/// What chat answers when nothing is scripted: `"ok"`, 10 input and 2 output tokens.
pub const DEFAULT_CHAT_USAGE: Usage = Usage::new(10, 2);

/// The input tokens embeddings report when nothing is scripted.
pub const DEFAULT_EMBEDDING_TOKENS: u64 = 8;
