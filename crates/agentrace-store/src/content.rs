//! Captured content cut into pieces that a store keeps once each, by hash.
//!
//! An agent re-sends its whole conversation on every model call: the thirtieth call of a run
//! carries the system prompt and every earlier message again. A store that keeps each piece of
//! content once by its hash, and a span's value as a chain of pieces, keeps each message once
//! per run instead of once per call.
//!
//! [`ContentValues::of`] finds a span's content attributes ([`is_content_key`]) long enough to
//! be worth it ([`STORED_APART_FROM`] bytes) and cuts each value: a JSON array at its elements
//! (each piece an element with the separator before it, the closing bracket and what follows
//! it the *tail*), anything else whole. Joining the pieces and the tail gives back the value
//! byte for byte, whatever the text is: cutting only decides what is shared.
//!
//! The pieces of a value form a chain of *nodes*: node `k` is named by the hash of node `k - 1`
//! and piece `k`, so two histories that begin alike share the nodes of what they share, and a
//! history one message longer than the last call's adds one node. A span keeps, for each value,
//! the hash of its last node; a store keeps nodes (previous node, piece) and pieces (text).
//! Hashes are SHA-256 cut to 128 bits: a sender cannot make two texts share a piece.
//!
//! ```
//! use agentrace_store::content::ContentValues;
//! use agentrace_core::{AttributeValue, Attributes};
//!
//! let history = r#"[{"role":"system","content":"You are a careful assistant for the billing team."},{"role":"user","content":"Why was I charged twice in March?"}]"#;
//! let mut attributes = Attributes::new();
//! attributes.insert("gen_ai.input.messages", history);
//! let values = ContentValues::of(&attributes);
//! let value = &values.values()[0];
//! assert_eq!(value.pieces().len(), 2);
//! assert_eq!(value.join(history), history);
//! ```

use agentrace_core::content::is_content_key;
use agentrace_core::{AttributeValue, Attributes};
use sha2::{Digest, Sha256};

/// Content values shorter than this (in bytes) stay with the span: a reference would not be
/// much shorter.
pub const STORED_APART_FROM: usize = 128;

/// Arrays of more elements than this are kept as one piece: they are data, not a history.
const MOST_PIECES: usize = 4_096;

/// A 128-bit content hash: of a piece's text, or of a node (its previous node and its piece).
pub type ContentHash = [u8; 16];

/// The content values of one span's attributes that a store keeps apart, in attribute order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentValues(Vec<ContentValue>);

/// One attribute's value, cut. Its pieces and tail are byte ranges of the value's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentValue {
    position: usize,
    key: String,
    pieces: Vec<Piece>,
    tail_from: usize,
}

/// One piece of a value: where it ends in the text (it begins where the one before ends), its
/// hash, and the hash of the node that ends with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Byte range of the piece in the value's text.
    pub range: (usize, usize),
    /// The hash of its text.
    pub hash: ContentHash,
    /// The hash of the chain's node that ends with it.
    pub node: ContentHash,
}

impl ContentValues {
    /// The values of `attributes` to keep apart: string content values of at least
    /// [`STORED_APART_FROM`] bytes.
    pub fn of(attributes: &Attributes) -> Self {
        Self(
            attributes
                .iter()
                .enumerate()
                .filter_map(|(position, (key, value))| match value {
                    AttributeValue::String(text)
                        if text.len() >= STORED_APART_FROM && is_content_key(key) =>
                    {
                        Some(ContentValue::cut(position, key, text))
                    }
                    _ => None,
                })
                .collect(),
        )
    }

    /// The values, in attribute order.
    pub fn values(&self) -> &[ContentValue] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `attributes` without the values kept apart.
    pub fn remaining(&self, attributes: &Attributes) -> Attributes {
        let mut rest = attributes.clone();
        for value in &self.0 {
            rest.remove(&value.key);
        }
        rest
    }
}

impl ContentValue {
    fn cut(position: usize, key: &str, text: &str) -> Self {
        let (ends, tail_from) = match array_elements(text) {
            Some((ends, tail_from)) if !ends.is_empty() && ends.len() <= MOST_PIECES => {
                (ends, tail_from)
            }
            _ => (vec![text.len()], text.len()),
        };
        let mut pieces = Vec::with_capacity(ends.len());
        let mut start = 0;
        let mut node: Option<ContentHash> = None;
        for end in ends {
            let piece = piece_hash(text.get(start..end).unwrap_or_default());
            let next = node_hash(node.as_ref(), &piece);
            pieces.push(Piece {
                range: (start, end),
                hash: piece,
                node: next,
            });
            node = Some(next);
            start = end;
        }
        Self {
            position,
            key: key.to_owned(),
            pieces,
            tail_from,
        }
    }

    /// Where the attribute stood among the span's attributes.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The attribute's name.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The pieces, in order; never empty.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The text after the last piece (an array's closing bracket), from `text`, the value.
    pub fn tail<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.tail_from..).unwrap_or_default()
    }

    /// The hash of the last node: what the span keeps.
    pub fn last_node(&self) -> ContentHash {
        self.pieces.last().map_or([0; 16], |p| p.node)
    }

    /// The pieces and the tail joined again: `text` itself (what the round-trip tests hold).
    pub fn join(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for piece in &self.pieces {
            out.push_str(text.get(piece.range.0..piece.range.1).unwrap_or_default());
        }
        out.push_str(self.tail(text));
        out
    }
}

/// SHA-256 of the parts, cut to 128 bits.
fn hash(parts: &[&[u8]]) -> ContentHash {
    let mut sha = Sha256::new();
    for part in parts {
        sha.update(part);
    }
    let digest = sha.finalize();
    let mut out = [0; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// The hash a store keeps for a piece's text (the same as [`Piece::hash`]).
pub fn piece_hash(text: &str) -> ContentHash {
    hash(&[text.as_bytes()])
}

/// The hash of the node after `previous` (none: the first) ending with the piece `piece`.
pub fn node_hash(previous: Option<&ContentHash>, piece: &ContentHash) -> ContentHash {
    match previous {
        None => hash(&[b"first", piece]),
        Some(previous) => hash(&[b"node", previous, piece]),
    }
}

/// Where a JSON array's top-level elements end (each at the comma after it, the last at the
/// closing bracket), and where the closing bracket is; `None` if `text` is not an array whose
/// brackets and strings close. Not a validator: any text round-trips, this only finds cuts.
fn array_elements(text: &str) -> Option<(Vec<usize>, usize)> {
    let bytes = text.as_bytes();
    let open = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes.get(open) != Some(&b'[') {
        return None;
    }
    let mut ends = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    ends.push(i);
                    return Some((ends, i));
                }
            }
            b',' if depth == 1 => ends.push(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> ContentValue {
        ContentValue::cut(0, "gen_ai.input.messages", text)
    }

    fn pieces<'a>(value: &ContentValue, text: &'a str) -> Vec<&'a str> {
        value
            .pieces()
            .iter()
            .map(|p| &text[p.range.0..p.range.1])
            .collect()
    }

    #[test]
    fn an_array_is_cut_at_its_elements_with_the_separator_before_each() {
        let text = r#"[{"a": "x,]}"}, {"b": [1, 2]} , "s\"]"]  "#;
        let value = cut(text);
        assert_eq!(
            pieces(&value, text),
            [r#"[{"a": "x,]}"}"#, r#", {"b": [1, 2]} "#, r#", "s\"]""#]
        );
        assert_eq!(value.tail(text), "]  ");
        assert_eq!(value.join(text), text);
    }

    #[test]
    fn a_longer_history_shares_the_nodes_of_the_shorter() {
        let short = r#"[{"role":"system"},{"role":"user"}]"#;
        let long = r#"[{"role":"system"},{"role":"user"},{"role":"assistant"}]"#;
        let (s, l) = (cut(short), cut(long));
        assert_eq!(s.pieces()[1].node, l.pieces()[1].node);
        assert_ne!(s.last_node(), l.last_node());
        assert_eq!(
            l.last_node(),
            node_hash(
                Some(&l.pieces()[1].node),
                &piece_hash(r#",{"role":"assistant"}"#)
            )
        );
    }

    #[test]
    fn anything_not_an_array_is_one_piece_and_still_round_trips() {
        for text in [
            "plain text, with ] and [",
            "[unclosed, \"",
            "{\"a\": 1}",
            "[]",
            "][",
        ] {
            let value = cut(text);
            assert_eq!(value.pieces().len(), 1, "{text}");
            assert_eq!(value.join(text), text);
        }
        let trailing = "[1,]";
        assert_eq!(pieces(&cut(trailing), trailing), ["[1", ","]);
        assert_eq!(cut(trailing).join(trailing), trailing);
    }

    #[test]
    fn only_long_string_content_is_kept_apart() {
        let long = "x".repeat(STORED_APART_FROM);
        let mut a = Attributes::new();
        a.insert("gen_ai.request.model", long.as_str());
        a.insert("gen_ai.output.messages", "short");
        a.insert("input.value", long.as_str());
        a.insert("gen_ai.tool.call.result", 7);
        let values = ContentValues::of(&a);
        assert_eq!(values.values().len(), 1);
        assert_eq!(values.values()[0].key(), "input.value");
        assert_eq!(values.values()[0].position(), 2);
        assert_eq!(values.remaining(&a).len(), 3);
    }
}
