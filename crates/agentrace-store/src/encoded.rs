//! Spans with the JSON columns of their rows encoded ahead of the write.
//!
//! Encoding a span's attributes and events is a good part of the cost of storing it and needs
//! nothing from the store. A server that receives spans on many threads encodes them there
//! ([`EncodedSpans::push`]), so that the thread that writes only binds and sends
//! ([`RecordWriter::insert_spans`](crate::RecordWriter::insert_spans)). Every store keeps
//! attributes and span events as JSON: an object of the attributes, an array of the events;
//! long content values are cut here too, to be kept once each ([`crate::content`]).

use agentrace_core::normalize::is_aggregate;
use agentrace_core::{SpanEvent, SpanRecord};

use agentrace_core::Attributes;

use crate::content::ContentValues;
use crate::error::WriteError;

/// `value` as JSON text; `what` names it in the error.
pub fn json<T: serde::Serialize + ?Sized>(
    value: &T,
    what: &'static str,
) -> Result<String, WriteError> {
    serde_json::to_string(value).map_err(|source| WriteError::Encode { what, source })
}

/// Attributes as a JSON object, `None` when there are none.
pub fn attributes_json(attributes: &Attributes) -> Result<Option<String>, WriteError> {
    (!attributes.is_empty())
        .then(|| json(attributes, "attributes"))
        .transpose()
}

/// Spans and the JSON columns of their rows (attributes, span events), encoded. Built with
/// [`push`](Self::push); written with
/// [`RecordWriter::insert_spans`](crate::RecordWriter::insert_spans).
#[derive(Debug, Default, Clone)]
pub struct EncodedSpans {
    spans: Vec<SpanRecord>,
    json: Vec<SpanJson>,
}

/// The JSON of one span: `None` where there is nothing to encode.
#[derive(Debug, Clone)]
pub struct SpanJson {
    /// Its attributes, as a JSON object: those [`content`](Self::content) keeps apart left out.
    pub attributes: Option<String>,
    /// Its content values kept apart, cut into pieces to store once each (see
    /// [`crate::content`]).
    pub content: ContentValues,
    /// The span's text a text index keeps ([`crate::search::indexed_text`]).
    pub search_text: String,
    /// Its span events, as a JSON array.
    pub events: Option<String>,
    /// Whether the span is an aggregate (read off its attributes here, off the writer's
    /// thread).
    pub aggregate: bool,
}

impl SpanJson {
    /// Encodes `span`.
    pub fn of(span: &SpanRecord) -> Result<Self, WriteError> {
        let content = ContentValues::of(&span.attributes);
        let attributes = if content.is_empty() {
            attributes_json(&span.attributes)?
        } else {
            attributes_json(&content.remaining(&span.attributes))?
        };
        Ok(Self {
            attributes,
            search_text: crate::search::indexed_text(span, &content),
            content,
            events: (!span.events.is_empty())
                .then(|| json::<[SpanEvent]>(&span.events, "span events"))
                .transpose()?,
            aggregate: is_aggregate(span),
        })
    }
}

impl EncodedSpans {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` spans.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            spans: Vec::with_capacity(n),
            json: Vec::with_capacity(n),
        }
    }

    /// Encodes `span` and adds it. On error the span is not added.
    pub fn push(&mut self, span: SpanRecord) -> Result<(), WriteError> {
        let json = SpanJson::of(&span)?;
        self.spans.push(span);
        self.json.push(json);
        Ok(())
    }

    /// Moves every span of `other` to the end of this one.
    pub fn append(&mut self, other: &mut Self) {
        self.spans.append(&mut other.spans);
        self.json.append(&mut other.json);
    }

    /// Splits off the spans from `at` on (all of them if `at` is 0, none if it is past the
    /// end).
    pub fn split_off(&mut self, at: usize) -> Self {
        let at = at.min(self.len());
        Self {
            spans: self.spans.split_off(at),
            json: self.json.split_off(at),
        }
    }

    /// How many spans.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The spans.
    pub fn spans(&self) -> &[SpanRecord] {
        &self.spans
    }

    /// The spans, their encodings dropped.
    pub fn into_spans(self) -> Vec<SpanRecord> {
        self.spans
    }

    /// All the spans, to write.
    pub fn rows(&self) -> SpanRows<'_> {
        SpanRows {
            spans: &self.spans,
            json: &self.json,
        }
    }
}

/// Some of the spans of an [`EncodedSpans`], to write.
#[derive(Debug, Clone, Copy)]
pub struct SpanRows<'a> {
    spans: &'a [SpanRecord],
    json: &'a [SpanJson],
}

impl<'a> SpanRows<'a> {
    /// Spans and their JSON, one for one.
    ///
    /// # Panics
    /// If the two differ in length (a bug of the caller).
    pub fn new(spans: &'a [SpanRecord], json: &'a [SpanJson]) -> Self {
        assert_eq!(spans.len(), json.len(), "one JSON per span");
        Self { spans, json }
    }

    /// The spans.
    pub fn spans(&self) -> &'a [SpanRecord] {
        self.spans
    }

    /// Their JSON, in the same order.
    pub fn json(&self) -> &'a [SpanJson] {
        self.json
    }

    /// How many spans.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}
