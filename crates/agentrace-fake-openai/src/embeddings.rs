//! `/v1/embeddings`: one vector per input, as floats or (`encoding_format: "base64"`, what the
//! OpenAI Python client asks for by default) as base64 of little-endian `f32`s.

use base64::Engine as _;
use serde_json::{Value, json};

/// The length of every vector the fake answers.
pub const DIMENSIONS: usize = 8;

pub(crate) fn answer(request: &Value, model: &str, input_tokens: u64) -> Value {
    let inputs = match &request["input"] {
        Value::Array(items) => items.len().max(1),
        _ => 1,
    };
    let base64 = request["encoding_format"].as_str() == Some("base64");
    let data: Vec<Value> = (0..inputs)
        .map(|index| {
            // A fixed, recognizable vector per input: index + k/10.
            let vector: Vec<f32> = (0..DIMENSIONS)
                .map(|k| index as f32 + k as f32 / 10.0)
                .collect();
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::from(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": input_tokens, "total_tokens": input_tokens}
    })
}
