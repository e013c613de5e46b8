//! What a request sends, read from the JSON body rig encoded: the text of its messages (for the
//! budget estimate) and its output cap. Provider-neutral: the chat shapes of OpenAI and its
//! dialects, Anthropic's messages, OpenAI's Responses and Gemini's contents all keep their text
//! under `content`, `text`, `input`, `instructions` or `system`, in objects that may name a
//! `role`.

use serde_json::Value;

/// Keys whose string values are text sent to the model.
const TEXT_KEYS: [&str; 5] = ["content", "text", "input", "instructions", "system"];

/// Keys of an output cap, by provider: OpenAI chat (old and new), Anthropic, Responses, Gemini.
const CAP_KEYS: [&str; 4] = [
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "maxOutputTokens",
];

/// Nesting followed at most: a request's text is never deeper; a deeper body is not read
/// further (the estimate then counts less, never fails).
const MAX_DEPTH: usize = 16;

/// The parts of a request the budget check needs.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Sent {
    /// The model the body names, if it names one (Gemini names it in the path).
    pub(crate) model: Option<String>,
    /// `(role, text)` of every text sent.
    pub(crate) texts: Vec<(String, String)>,
    /// The output cap, if the request sets one.
    pub(crate) max_output_tokens: Option<u64>,
}

impl Sent {
    /// Reads a JSON request body; an empty or non-JSON body (a multipart upload) sends no text
    /// this can count.
    pub(crate) fn read(body: &[u8]) -> Self {
        let Ok(document) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let mut sent = Self {
            model: document
                .get("model")
                .and_then(Value::as_str)
                .map(str::to_owned),
            ..Self::default()
        };
        sent.walk(&document, "user", 0);
        sent
    }

    fn walk(&mut self, value: &Value, role: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(object) => {
                let role = object.get("role").and_then(Value::as_str).unwrap_or(role);
                for (key, value) in object {
                    if let Some(cap) = CAP_KEYS
                        .contains(&key.as_str())
                        .then(|| value.as_u64())
                        .flatten()
                    {
                        self.max_output_tokens.get_or_insert(cap);
                    }
                    match value {
                        Value::String(text) if TEXT_KEYS.contains(&key.as_str()) => {
                            self.texts.push((role_of(key, role), text.clone()));
                        }
                        // Embeddings' `input`: a list of texts.
                        Value::Array(items)
                            if TEXT_KEYS.contains(&key.as_str())
                                && items.iter().all(Value::is_string) =>
                        {
                            let texts = items.iter().filter_map(Value::as_str);
                            self.texts
                                .extend(texts.map(|text| (role_of(key, role), text.to_owned())));
                        }
                        Value::Object(_) | Value::Array(_) => self.walk(value, role, depth + 1),
                        _ => {}
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item, role, depth + 1);
                }
            }
            _ => {}
        }
    }
}

/// The role of a text under `key` in an object of `role`.
fn role_of(key: &str, role: &str) -> String {
    if key == "instructions" || key == "system" {
        "system".to_owned()
    } else {
        role.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts read, sorted (a JSON object's order depends on serde_json's features).
    fn texts(sent: &Sent) -> Vec<(&str, &str)> {
        let mut texts: Vec<_> = sent
            .texts
            .iter()
            .map(|(role, text)| (role.as_str(), text.as_str()))
            .collect();
        texts.sort_unstable();
        texts
    }

    #[test]
    fn reads_an_openai_chat_request() {
        let body = br#"{"model":"gpt-4o-mini","max_completion_tokens":64,"messages":[
            {"role":"system","content":"Be brief."},
            {"role":"user","content":[{"type":"text","text":"Pack for Lisbon?"}]}],
            "tools":[{"type":"function","function":{"name":"weather","parameters":{}}}]}"#;
        let sent = Sent::read(body);
        assert_eq!(sent.model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(sent.max_output_tokens, Some(64));
        assert_eq!(
            texts(&sent),
            [("system", "Be brief."), ("user", "Pack for Lisbon?")]
        );
    }

    #[test]
    fn reads_anthropic_and_gemini_shapes() {
        let anthropic = br#"{"model":"claude-sonnet-4-5","max_tokens":100,"system":"Be brief.",
            "messages":[{"role":"user","content":"Hi"}]}"#;
        let sent = Sent::read(anthropic);
        assert_eq!(sent.max_output_tokens, Some(100));
        assert_eq!(texts(&sent), [("system", "Be brief."), ("user", "Hi")]);

        let gemini = br#"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],
            "generationConfig":{"maxOutputTokens":20}}"#;
        let sent = Sent::read(gemini);
        assert_eq!(sent.model, None);
        assert_eq!(sent.max_output_tokens, Some(20));
        assert_eq!(texts(&sent), [("user", "Hi")]);
    }

    #[test]
    fn reads_embeddings_inputs() {
        let sent = Sent::read(br#"{"model":"text-embedding-3-small","input":["a","b"]}"#);
        assert_eq!(texts(&sent), [("user", "a"), ("user", "b")]);
        let sent = Sent::read(br#"{"model":"text-embedding-3-small","input":"one"}"#);
        assert_eq!(texts(&sent), [("user", "one")]);
    }

    #[test]
    fn a_body_that_is_not_json_sends_nothing_countable() {
        assert_eq!(Sent::read(b"\xff--boundary"), Sent::default());
        assert_eq!(Sent::read(b""), Sent::default());
    }

    #[test]
    fn deep_nesting_is_not_followed_without_end() {
        let deep = format!("{}\"x\"{}", "[".repeat(10_000), "]".repeat(10_000));
        // serde_json refuses past its own recursion limit; a body it accepts is walked to
        // MAX_DEPTH only.
        let _ = Sent::read(deep.as_bytes());
        let shallow = format!(
            "{{\"content\":\"top\",\"a\":{}{{\"content\":\"deep\"}}{}}}",
            "[".repeat(40),
            "]".repeat(40)
        );
        assert_eq!(texts(&Sent::read(shallow.as_bytes())), [("user", "top")]);
    }
}
