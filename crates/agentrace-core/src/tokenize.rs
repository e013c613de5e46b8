//! Token counting: the `Tokenizer` trait, exact counts for OpenAI encodings, labelled estimates
//! for other providers.
