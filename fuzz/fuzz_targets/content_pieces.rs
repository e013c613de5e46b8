//! Content kept once (`agentrace_store::content`): any text a span's content attribute holds
//! is cut into pieces that join back to it byte for byte, never a panic; and a search's
//! snippets of it (`agentrace_store::search::snippets`) are parts of the text, whatever words
//! are asked.
#![no_main]

use std::sync::Arc;

use agentrace_core::search::Query;
use agentrace_core::{Attributes, Resource, SpanId, SpanRecord, TraceId};
use agentrace_store::content::ContentValues;
use agentrace_store::search::{SearchHit, words};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (text, query) = input;
    let mut attributes = Attributes::new();
    attributes.insert("gen_ai.input.messages", text);
    let values = ContentValues::of(&attributes);
    for value in values.values() {
        assert_eq!(value.join(text), text, "the pieces join back");
        let mut end = 0;
        for piece in value.pieces() {
            assert_eq!(piece.range.0, end, "pieces follow each other");
            end = piece.range.1;
        }
    }
    if let Ok(query) = Query::parse(query) {
        let mut span = SpanRecord::new(
            TraceId::from_bytes([1; 16]),
            SpanId::from_bytes([2; 8]),
            "chat",
            0,
            1,
            Arc::new(Resource::new("svc")),
        );
        span.attributes = attributes;
        let hit = SearchHit::of(&span, &query);
        let _ = words(&query);
        for snippet in &hit.snippets {
            let shown: String = snippet.parts.iter().map(|p| p.text.as_str()).collect();
            let inner = shown.trim_start_matches('…').trim_end_matches('…');
            assert!(
                text.contains(inner) || snippet.field != "attributes.gen_ai.input.messages",
                "a snippet of the text is a part of it"
            );
        }
    }
});
