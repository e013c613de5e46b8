//! What a rollup row is kept by (its key), and what a span contributes to one (its facts).

use agentrace_core::normalize::is_aggregate;
use agentrace_core::semconv::{agentrace, gen_ai};
use agentrace_core::{SpanKind, SpanRecord, StatusCode, Text, TokenUsage};
use rusqlite::Row;

use crate::codec::{self, from_sql};
use crate::fnv::Fnv;
use agentrace_store::QueryError;

/// Index of each text dimension in [`Key::dims`] and [`DIM_COLUMNS`].
pub(crate) const KIND: usize = 0;
pub(crate) const PROVIDER: usize = 1;
pub(crate) const REQUEST_MODEL: usize = 2;
pub(crate) const RESPONSE_MODEL: usize = 3;
pub(crate) const AGENT: usize = 4;
pub(crate) const FRAMEWORK: usize = 5;
pub(crate) const SERVICE: usize = 6;
pub(crate) const TOOL: usize = 7;
pub(crate) const OPERATION: usize = 8;
/// The MCP server (`agentrace.mcp.server`), from schema version 13: hashed only when set, so
/// that the keys written before keep their hashes.
pub(crate) const MCP_SERVER: usize = 9;
pub(crate) const DIMS: usize = 10;

/// The `rollup_keys` (and `spans`) columns of the text dimensions.
pub(crate) const DIM_COLUMNS: [&str; DIMS] = [
    "kind",
    "provider",
    "request_model",
    "response_model",
    "agent_name",
    "framework",
    "service_name",
    "tool_name",
    "operation",
    "mcp_server",
];

/// The key of a rollup row: what its spans have in common.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key<S> {
    /// Whether the spans are billable (priced, or unpriced).
    pub(crate) billable: bool,
    pub(crate) dims: [Option<S>; DIMS],
}

impl<S: AsRef<str>> Key<S> {
    pub(crate) fn dim(&self, i: usize) -> Option<&str> {
        self.dims.get(i).and_then(|d| d.as_ref()).map(AsRef::as_ref)
    }

    /// The value of `key_hash`.
    pub(crate) fn hash(&self) -> i64 {
        let mut h = Fnv::new();
        h.bytes(&[u8::from(self.billable)]);
        for i in 0..DIMS {
            match self.dim(i) {
                None if i == MCP_SERVER => {}
                d => h.opt(d.map(str::as_bytes)),
            }
        }
        codec::to_sql(h.finish())
    }

    pub(crate) fn same_as<T: AsRef<str>>(&self, other: &Key<T>) -> bool {
        self.billable == other.billable && (0..DIMS).all(|i| self.dim(i) == other.dim(i))
    }
}

/// The columns [`Key::read`] decodes, for `rollup_keys` aliased `k`.
pub(crate) const KEY_COLUMNS: &str = "k.billable, k.kind, k.provider, k.request_model, \
     k.response_model, k.agent_name, k.framework, k.service_name, k.tool_name, k.operation, \
     k.mcp_server";

impl Key<String> {
    /// Decodes [`KEY_COLUMNS`] starting at column `at`.
    pub(crate) fn read(row: &Row<'_>, at: usize) -> Result<Self, QueryError> {
        let mut dims: [Option<String>; DIMS] = Default::default();
        for (i, d) in dims.iter_mut().enumerate() {
            *d = codec::opt_text(row, at + 1 + i)?;
        }
        Ok(Self {
            billable: codec::int(row, at)? != 0,
            dims,
        })
    }
}

/// What one span contributes to rollups.
#[derive(Debug, Clone)]
pub(crate) struct Facts<'a> {
    pub(crate) kind: SpanKind,
    pub(crate) start: u64,
    pub(crate) duration: u64,
    pub(crate) is_error: bool,
    pub(crate) usage: TokenUsage,
    /// Total cost, nano-dollars.
    pub(crate) cost: Option<i64>,
    /// The text dimensions, the kind's name included.
    pub(crate) dims: [Option<&'a str>; DIMS],
    /// `error.type`, for failed spans.
    pub(crate) error_type: Option<&'a str>,
    /// The status message, for failed spans.
    pub(crate) message: Option<&'a str>,
    /// Whether it is an aggregate: it counts as a span, never as a call.
    pub(crate) aggregate: bool,
}

impl<'a> Facts<'a> {
    /// The facts of `s`, whose aggregate mark its caller read ([`is_aggregate`]) once.
    pub(crate) fn of(s: &'a SpanRecord, aggregate: bool) -> Self {
        let mut dims = [None; DIMS];
        dims[KIND] = Some(s.kind.as_str());
        dims[PROVIDER] = s.provider.as_deref();
        dims[REQUEST_MODEL] = s.request_model.as_deref();
        dims[RESPONSE_MODEL] = s.response_model.as_deref();
        dims[AGENT] = s.agent_name.as_deref();
        dims[FRAMEWORK] = s.framework.as_deref();
        dims[SERVICE] = Some(s.resource.service_name.as_str());
        dims[TOOL] = s.tool_name.as_deref();
        dims[OPERATION] = s.operation.as_deref();
        dims[MCP_SERVER] = s
            .attributes
            .get(agentrace::MCP_SERVER)
            .and_then(|v| v.as_str());
        let is_error = s.status.code == StatusCode::Error;
        Self {
            kind: s.kind,
            start: s.start_time_unix_nano,
            duration: s.duration_ns(),
            is_error,
            usage: s.usage,
            cost: s.cost.map(|c| c.total.nanos()),
            dims,
            error_type: is_error
                .then(|| s.attributes.get(gen_ai::ERROR_TYPE)?.as_str())
                .flatten(),
            message: is_error.then_some(s.status.message.as_deref()).flatten(),
            aggregate,
        }
    }

    /// Billable but without a price (see [`codec::is_unpriced`]).
    pub(crate) fn is_unpriced(&self) -> bool {
        codec::is_unpriced(self.kind, &self.usage, self.cost.is_some(), self.aggregate)
    }

    pub(crate) fn is_billable(&self) -> bool {
        self.cost.is_some() || self.is_unpriced()
    }

    /// The span's key.
    pub(crate) fn key(&self) -> Key<&'a str> {
        Key {
            billable: self.is_billable(),
            dims: self.dims,
        }
    }
}

/// The columns of a stored span that [`OwnedFacts::read`] decodes (`spans` unaliased, as in a
/// `RETURNING` clause).
pub(crate) const FACT_COLUMNS: &str = "start_ns, duration_ns, status_code, input_tokens, \
     output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, \
     reasoning_tokens, cost_total, kind, provider, request_model, response_model, agent_name, \
     framework, service_name, tool_name, operation, \
     CASE WHEN json_type(attributes, '$.\"agentrace.mcp.server\"') = 'text' \
     THEN json_extract(attributes, '$.\"agentrace.mcp.server\"') END, \
     CASE WHEN status_code = 2 THEN json_extract(attributes, '$.\"error.type\"') END, \
     CASE WHEN status_code = 2 THEN status_message END, aggregate";

/// [`Facts`] read from a stored span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnedFacts {
    kind: SpanKind,
    pub(crate) start: u64,
    duration: u64,
    is_error: bool,
    usage: TokenUsage,
    pub(crate) cost: Option<i64>,
    /// The text dimensions but the kind (`Text`: short ones, most, without an allocation).
    dims: [Option<Text>; DIMS],
    error_type: Option<Text>,
    message: Option<Text>,
    aggregate: bool,
}

impl OwnedFacts {
    /// What `span` contributes, owned.
    pub(crate) fn of(span: &SpanRecord) -> Self {
        let f = Facts::of(span, is_aggregate(span));
        let mut dims = f.dims.map(|d| d.map(Text::new));
        dims[KIND] = None;
        Self {
            kind: f.kind,
            start: f.start,
            duration: f.duration,
            is_error: f.is_error,
            usage: f.usage,
            cost: f.cost,
            dims,
            error_type: f.error_type.map(Text::new),
            message: f.message.map(Text::new),
            aggregate: f.aggregate,
        }
    }

    /// Decodes [`FACT_COLUMNS`] starting at column `at`.
    pub(crate) fn read(row: &Row<'_>, at: usize) -> Result<Self, QueryError> {
        let n = |i: usize| -> Result<u64, QueryError> { Ok(from_sql(codec::int(row, at + i)?)) };
        let kind = codec::text(row, at + 10)?
            .parse()
            .map_err(|e| QueryError::decode("span kind", e))?;
        let mut dims: [Option<Text>; DIMS] = Default::default();
        for (i, d) in dims.iter_mut().enumerate().skip(KIND + 1) {
            *d = codec::opt_text(row, at + 10 + i)?.map(Text::from);
        }
        // `error.type` may be stored as another JSON type; only text is a type name.
        let error_type = match row.get_ref(at + 10 + DIMS).map_err(crate::error::DbError)? {
            rusqlite::types::ValueRef::Text(_) => {
                codec::opt_text(row, at + 10 + DIMS)?.map(Text::from)
            }
            _ => None,
        };
        Ok(Self {
            kind,
            start: n(0)?,
            duration: n(1)?,
            is_error: codec::int(row, at + 2)? == codec::STATUS_ERROR,
            usage: TokenUsage {
                input_tokens: n(3)?,
                output_tokens: n(4)?,
                cache_read_tokens: n(5)?,
                cache_write_tokens: n(6)?,
                cache_write_1h_tokens: n(7)?,
                reasoning_tokens: codec::total_reasoning(n(8)?),
            },
            cost: codec::opt_int(row, at + 9)?,
            dims,
            error_type,
            message: codec::opt_text(row, at + 11 + DIMS)?.map(Text::from),
            aggregate: codec::int(row, at + 12 + DIMS)? != 0,
        })
    }

    /// The same facts with what a repair rewrites taken from `span`: its kind, its counts
    /// (token usage, total cost, the aggregate mark `aggregate`), its outcome (failed or not,
    /// `error.type`, message) and its MCP server (an attribute).
    pub(crate) fn repaired(&self, span: &SpanRecord, aggregate: bool) -> Self {
        let f = Facts::of(span, aggregate);
        let mut dims = self.dims.clone();
        dims[MCP_SERVER] = f.dims[MCP_SERVER].map(Text::new);
        Self {
            kind: f.kind,
            usage: f.usage,
            cost: f.cost,
            aggregate,
            is_error: f.is_error,
            error_type: f.error_type.map(Text::new),
            message: f.message.map(Text::new),
            dims,
            ..self.clone()
        }
    }

    /// Replaces a text dimension (not the kind).
    pub(crate) fn set_dim(&mut self, i: usize, value: Option<Text>) {
        if i != KIND
            && let Some(d) = self.dims.get_mut(i)
        {
            *d = value;
        }
    }

    pub(crate) fn facts(&self) -> Facts<'_> {
        let mut dims = [None; DIMS];
        for (d, o) in dims.iter_mut().zip(&self.dims) {
            *d = o.as_deref();
        }
        dims[KIND] = Some(self.kind.as_str());
        Facts {
            kind: self.kind,
            start: self.start,
            duration: self.duration,
            is_error: self.is_error,
            usage: self.usage,
            cost: self.cost,
            dims,
            error_type: self.error_type.as_deref(),
            message: self.message.as_deref(),
            aggregate: self.aggregate,
        }
    }
}
