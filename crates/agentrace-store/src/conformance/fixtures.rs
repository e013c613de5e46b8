//! The fixed data the checks write, and small builders for it.
//!
//! Times are fixed nanoseconds from [`T0`], a whole hour (so whole minutes too: rollups and
//! the overview widen ranges to minutes, and nothing here straddles one by accident). Ids are
//! fixed: [`trace_id`]`(n)` and [`span_id`]`(n)`, ordered as their numbers.
//!
//! [`five_traces`] is the data set most checks share; its table is what the expectations are
//! computed from (a trace's start in seconds from T0; a span's start and duration in seconds
//! from its trace's start; tokens in/out; cost in nano-dollars, `—` unpriced; services `a` and
//! `b` are `svc-a` and `svc-b`):
//!
//! ```text
//! trace  span  name                    kind   parent start dur model         tokens   cost  svc
//! 1 T0   R1    handle ticket           agent  –        0   10                               a
//!        L1    chat gpt-4o             llm    R1       1    2 gpt-4o       1000/200   2000  a
//! 2 +60  R2    research topic          agent  –        0   40                               a
//!        L2    chat claude-3-5-sonnet  llm    R2       1    4 claude (1)    400/100   9000  a
//!        X2    execute_tool search     tool   R2       6    2                               a
//!        M2    chat claude-3-5-sonnet  llm    R2      10    5 claude (1)    200/50    4000  a
//! 3 +120 L3    chat local-llama        llm    –        0   20 local-llama    50/10       —  b
//! 4 +180 R4    handle ticket           agent  –        0   50                               a
//!        L4    chat gpt-4o-mini        llm    R4       1    2 gpt-4o-mini  1000/200    600  a
//!        X4    execute_tool lookup     tool   R4       4    1                               a
//!        Y4    execute_tool lookup     tool   R4       6    1                               a
//!        M4    chat gpt-4o-mini        llm    R4      10    4 gpt-4o-mini   500/100    300  a
//! 5 +240 R5    research topic          agent  –        0   30                               b
//!        L5    chat gpt-4o             llm    R5       1    5 gpt-4o         50/25   20000  b
//!        E5    embeddings text-emb…    embed. R5       7    1 (2)            80/0       10  b
//! ```
//!
//! (1) asked for `claude-3-5-sonnet`, answered by `claude-3-5-sonnet-20241022` (provider
//! `anthropic`); (2) `text-embedding-3-small`; the other calls' provider is `openai`, L3's
//! `ollama`. Roots: R1 and R4 of agent `support`, R2 and R5 of agent `research`; sessions
//! `s-1` (R1, and L3 of its own), `s-2` (R2), `s-3` (R4), `s-4` (R5); users `u-1` (R1, R4, L3),
//! `u-2` (R2), `u-3` (R5). Failed: X2 (`timeout after 30s`, `error.type` TimeoutError), R4
//! (`gave up`), X4 (`record 4521 not found`, NotFound). X2 calls tool `search`, X4 and Y4
//! tool `lookup`.
//!
//! Children carry no agent, session nor user of their own: they take their root's
//! (attribution). Per trace: spans 2/4/1/5/3, errors 0/1/0/2/0, tokens in+out
//! 1200/750/60/1800/155, cost 2000/13000/—/900/20010, duration 10/40/20/50/30 s.

use std::sync::Arc;

use agentrace_core::semconv::gen_ai;
use agentrace_core::{
    AttributeValue, Cost, Event, EventKind, InstrumentKind, Level, Measurement, Resource, SpanId,
    SpanKind, SpanRecord, SpanStatus, TokenUsage, TraceId, Usd,
};

/// A millisecond, in nanoseconds.
pub const MS: u64 = 1_000_000;
/// A second, in nanoseconds.
pub const SEC: u64 = 1_000_000_000;
/// A minute, in nanoseconds.
pub const MINUTE: u64 = 60 * SEC;
/// An hour, in nanoseconds.
pub const HOUR: u64 = 60 * MINUTE;
/// The fixtures' time origin: 2023-11-14T12:00:00Z, a whole hour.
pub const T0: u64 = 1_699_963_200 * SEC;

/// Trace `n`: `0xa0`, fourteen zero bytes, then `n` (so trace ids order as their numbers).
pub fn trace_id(n: u8) -> TraceId {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xa0;
    bytes[15] = n;
    TraceId::from_bytes(bytes)
}

/// Span `n`: `0x5a`, five zero bytes, then `n` big-endian (so span ids order as their
/// numbers).
pub fn span_id(n: u16) -> SpanId {
    let mut bytes = [0u8; 8];
    bytes[0] = 0x5a;
    bytes[6..].copy_from_slice(&n.to_be_bytes());
    SpanId::from_bytes(bytes)
}

/// The ids of spans `ns`, in that order.
pub fn span_ids(ns: &[u16]) -> Vec<SpanId> {
    ns.iter().copied().map(span_id).collect()
}

/// The ids of traces `ns`, in that order.
pub fn trace_ids(ns: &[u8]) -> Vec<TraceId> {
    ns.iter().copied().map(trace_id).collect()
}

/// The service `name`.
pub fn service(name: &str) -> Arc<Resource> {
    Arc::new(Resource::new(name))
}

/// A cost of `nanos` nano-dollars in all, split between input (half, rounded down) and output.
pub fn cost(nanos: i64) -> Cost {
    Cost::from_parts(
        Usd::from_nanos(nanos / 2),
        Usd::ZERO,
        Usd::ZERO,
        Usd::from_nanos(nanos - nanos / 2),
    )
}

/// Builds a [`SpanRecord`] field by field.
#[derive(Debug, Clone)]
pub struct SpanBuilder(SpanRecord);

/// Span `id` of trace `trace`, named `name`, from `start` to `end`, of kind `other`, service
/// `svc-a`, every other field empty.
pub fn span(trace: u8, id: u16, name: &str, start: u64, end: u64) -> SpanBuilder {
    SpanBuilder(SpanRecord::new(
        trace_id(trace),
        span_id(id),
        name,
        start,
        end,
        service("svc-a"),
    ))
}

impl SpanBuilder {
    /// Child of span `parent`.
    #[must_use]
    pub fn parent(mut self, parent: u16) -> Self {
        self.0.parent_span_id = Some(span_id(parent));
        self
    }

    /// Of kind `kind`.
    #[must_use]
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.0.kind = kind;
        self
    }

    /// An agent span of agent `name`.
    #[must_use]
    pub fn agent(mut self, name: &str) -> Self {
        self.0.kind = SpanKind::Agent;
        self.0.operation = Some("invoke_agent".into());
        self.0.agent_name = Some(name.into());
        self
    }

    /// Of agent `name`, whatever its kind.
    #[must_use]
    pub fn agent_name(mut self, name: &str) -> Self {
        self.0.agent_name = Some(name.into());
        self
    }

    /// Of service `name`.
    #[must_use]
    pub fn service(mut self, name: &str) -> Self {
        self.0.resource = service(name);
        self
    }

    /// In session `id`.
    #[must_use]
    pub fn session(mut self, id: &str) -> Self {
        self.0.session_id = Some(id.into());
        self
    }

    /// For end user `id`.
    #[must_use]
    pub fn user(mut self, id: &str) -> Self {
        self.0.user_id = Some(id.into());
        self
    }

    /// A model call (`chat`) to `model` of `provider`, which answered as `model` too.
    #[must_use]
    pub fn llm(mut self, provider: &str, model: &str) -> Self {
        self.0.kind = SpanKind::Llm;
        self.0.operation = Some("chat".into());
        self.0.provider = Some(provider.into());
        self.0.request_model = Some(model.into());
        self.0.response_model = Some(model.into());
        self
    }

    /// An embeddings call to `model` of `provider`.
    #[must_use]
    pub fn embedding(mut self, provider: &str, model: &str) -> Self {
        self.0.kind = SpanKind::Embedding;
        self.0.operation = Some("embeddings".into());
        self.0.provider = Some(provider.into());
        self.0.request_model = Some(model.into());
        self.0.response_model = Some(model.into());
        self
    }

    /// Answered by `model` (the request named another).
    #[must_use]
    pub fn response_model(mut self, model: &str) -> Self {
        self.0.response_model = Some(model.into());
        self
    }

    /// Asked for `model`, the answer naming none.
    #[must_use]
    pub fn request_only(mut self, model: &str) -> Self {
        self.0.request_model = Some(model.into());
        self.0.response_model = None;
        self
    }

    /// Reporting `input` and `output` tokens.
    #[must_use]
    pub fn tokens(mut self, input: u64, output: u64) -> Self {
        self.0.usage = TokenUsage::new(input, output);
        self
    }

    /// Priced at `nanos` nano-dollars ([`cost`]).
    #[must_use]
    pub fn cost(mut self, nanos: i64) -> Self {
        self.0.cost = Some(cost(nanos));
        self
    }

    /// A call of tool `name`.
    #[must_use]
    pub fn tool(mut self, name: &str) -> Self {
        self.0.kind = SpanKind::Tool;
        self.0.operation = Some("execute_tool".into());
        self.0.tool_name = Some(name.into());
        self
    }

    /// Failed with `message`, and `error.type` `error_type` if given.
    #[must_use]
    pub fn error(mut self, message: &str, error_type: Option<&str>) -> Self {
        self.0.status = SpanStatus::error(message);
        if let Some(t) = error_type {
            self.0.attributes.insert(gen_ai::ERROR_TYPE, t.to_owned());
        }
        self
    }

    /// With attribute `key` = `value`.
    #[must_use]
    pub fn attribute(mut self, key: &'static str, value: impl Into<AttributeValue>) -> Self {
        self.0.attributes.insert(key, value);
        self
    }

    /// The span.
    pub fn build(self) -> SpanRecord {
        self.0
    }
}

/// Ids of the spans of [`five_traces`] (the trace is the tens digit).
pub mod five {
    /// Trace 1's agent span.
    pub const R1: u16 = 11;
    /// Trace 1's LLM call.
    pub const L1: u16 = 12;
    /// Trace 2's agent span.
    pub const R2: u16 = 21;
    /// Trace 2's first LLM call.
    pub const L2: u16 = 22;
    /// Trace 2's failed tool call.
    pub const X2: u16 = 23;
    /// Trace 2's second LLM call.
    pub const M2: u16 = 24;
    /// Trace 3's only span, an unpriced LLM call.
    pub const L3: u16 = 31;
    /// Trace 4's failed agent span.
    pub const R4: u16 = 41;
    /// Trace 4's first LLM call.
    pub const L4: u16 = 42;
    /// Trace 4's failed tool call.
    pub const X4: u16 = 43;
    /// Trace 4's good tool call.
    pub const Y4: u16 = 44;
    /// Trace 4's second LLM call.
    pub const M4: u16 = 45;
    /// Trace 5's agent span.
    pub const R5: u16 = 51;
    /// Trace 5's LLM call.
    pub const L5: u16 = 52;
    /// Trace 5's embeddings call.
    pub const E5: u16 = 53;
    /// Every span, by start time.
    pub const ALL: [u16; 15] = [R1, L1, R2, L2, X2, M2, L3, R4, L4, X4, Y4, M4, R5, L5, E5];
}

/// The five traces of the table above, in one list (roots first).
pub fn five_traces() -> Vec<SpanRecord> {
    use five::*;
    let (t1, t2, t3, t4, t5) = (
        T0,
        T0 + MINUTE,
        T0 + 2 * MINUTE,
        T0 + 3 * MINUTE,
        T0 + 4 * MINUTE,
    );
    vec![
        span(1, R1, "handle ticket", t1, t1 + 10 * SEC)
            .agent("support")
            .session("s-1")
            .user("u-1")
            .build(),
        span(1, L1, "chat gpt-4o", t1 + SEC, t1 + 3 * SEC)
            .parent(R1)
            .llm("openai", "gpt-4o")
            .tokens(1000, 200)
            .cost(2000)
            .build(),
        span(2, R2, "research topic", t2, t2 + 40 * SEC)
            .agent("research")
            .session("s-2")
            .user("u-2")
            .build(),
        span(2, L2, "chat claude-3-5-sonnet", t2 + SEC, t2 + 5 * SEC)
            .parent(R2)
            .llm("anthropic", "claude-3-5-sonnet")
            .response_model("claude-3-5-sonnet-20241022")
            .tokens(400, 100)
            .cost(9000)
            .build(),
        span(2, X2, "execute_tool search", t2 + 6 * SEC, t2 + 8 * SEC)
            .parent(R2)
            .tool("search")
            .error("timeout after 30s", Some("TimeoutError"))
            .build(),
        span(
            2,
            M2,
            "chat claude-3-5-sonnet",
            t2 + 10 * SEC,
            t2 + 15 * SEC,
        )
        .parent(R2)
        .llm("anthropic", "claude-3-5-sonnet")
        .response_model("claude-3-5-sonnet-20241022")
        .tokens(200, 50)
        .cost(4000)
        .build(),
        span(3, L3, "chat local-llama", t3, t3 + 20 * SEC)
            .service("svc-b")
            .llm("ollama", "local-llama")
            .request_only("local-llama")
            .tokens(50, 10)
            .session("s-1")
            .user("u-1")
            .build(),
        span(4, R4, "handle ticket", t4, t4 + 50 * SEC)
            .agent("support")
            .session("s-3")
            .user("u-1")
            .error("gave up", None)
            .build(),
        span(4, L4, "chat gpt-4o-mini", t4 + SEC, t4 + 3 * SEC)
            .parent(R4)
            .llm("openai", "gpt-4o-mini")
            .tokens(1000, 200)
            .cost(600)
            .build(),
        span(4, X4, "execute_tool lookup", t4 + 4 * SEC, t4 + 5 * SEC)
            .parent(R4)
            .tool("lookup")
            .error("record 4521 not found", Some("NotFound"))
            .build(),
        span(4, Y4, "execute_tool lookup", t4 + 6 * SEC, t4 + 7 * SEC)
            .parent(R4)
            .tool("lookup")
            .build(),
        span(4, M4, "chat gpt-4o-mini", t4 + 10 * SEC, t4 + 14 * SEC)
            .parent(R4)
            .llm("openai", "gpt-4o-mini")
            .tokens(500, 100)
            .cost(300)
            .build(),
        span(5, R5, "research topic", t5, t5 + 30 * SEC)
            .service("svc-b")
            .agent("research")
            .session("s-4")
            .user("u-3")
            .build(),
        span(5, L5, "chat gpt-4o", t5 + SEC, t5 + 6 * SEC)
            .service("svc-b")
            .parent(R5)
            .llm("openai", "gpt-4o")
            .tokens(50, 25)
            .cost(20_000)
            .build(),
        span(
            5,
            E5,
            "embeddings text-embedding-3-small",
            t5 + 7 * SEC,
            t5 + 8 * SEC,
        )
        .service("svc-b")
        .parent(R5)
        .embedding("openai", "text-embedding-3-small")
        .tokens(80, 0)
        .cost(10)
        .build(),
    ]
}

/// `span` as a store keeps it once its trace is complete: with its root's agent, session and
/// user where it had none (the attribution rule).
pub fn attributed(mut span: SpanRecord, root: &SpanRecord) -> SpanRecord {
    agentrace_core::inherit(&mut span, root);
    span
}

/// [`five_traces`] as stored: every child attributed to its root.
pub fn five_traces_attributed() -> Vec<SpanRecord> {
    let spans = five_traces();
    spans
        .iter()
        .map(|s| {
            let root = spans
                .iter()
                .find(|r| r.trace_id == s.trace_id && r.parent_span_id.is_none());
            match root {
                Some(root) => attributed(s.clone(), root),
                None => s.clone(),
            }
        })
        .collect()
}

/// The times of the five events of [`five_events`], in order.
pub const EVENT_TIMES: [u64; 5] = [
    T0 + SEC,
    T0 + 2 * SEC,
    T0 + 66 * SEC,
    T0 + 120 * SEC,
    T0 + 185 * SEC,
];

/// Five events, by time (`—`: none):
///
/// ```text
/// #  time      level     kind           message                     svc trace session agent id
/// 0  T0+1 s    INFO      agent.start    agent support started       a   1/R1  s-1     support-1
/// 1  T0+2 s    DEBUG     log            prompt built                a   1/L1  s-1     —
/// 2  T0+66 s   WARNING   tool.call      search timed out after 30s  a   2/X2  s-2     research-1
/// 3  T0+120 s  ERROR     system.error   local model unreachable     b   3/L3  s-1     —
/// 4  T0+185 s  CRITICAL  billing.alert  spend over budget (1)       b   —     —       —
/// ```
///
/// `trace`: its trace and span; (1) with attribute `amount` = 12.
pub fn five_events() -> Vec<Event> {
    let event = |i: usize, level, kind, message: &str, svc: &str| {
        Event::new(EVENT_TIMES[i], level, kind, message, service(svc))
    };
    let in_span = |mut e: Event, trace: u8, span: u16, session: &str| {
        e.trace_id = Some(trace_id(trace));
        e.span_id = Some(span_id(span));
        e.session_id = Some(session.into());
        e
    };
    let mut e0 = in_span(
        event(
            0,
            Level::Info,
            EventKind::AgentStart,
            "agent support started",
            "svc-a",
        ),
        1,
        five::R1,
        "s-1",
    );
    e0.agent_id = Some("support-1".into());
    let e1 = in_span(
        event(1, Level::Debug, EventKind::Log, "prompt built", "svc-a"),
        1,
        five::L1,
        "s-1",
    );
    let mut e2 = in_span(
        event(
            2,
            Level::Warning,
            EventKind::ToolCall,
            "search timed out after 30s",
            "svc-a",
        ),
        2,
        five::X2,
        "s-2",
    );
    e2.agent_id = Some("research-1".into());
    let e3 = in_span(
        event(
            3,
            Level::Error,
            EventKind::SystemError,
            "local model unreachable",
            "svc-b",
        ),
        3,
        five::L3,
        "s-1",
    );
    let mut e4 = event(
        4,
        Level::Critical,
        EventKind::Custom("billing.alert".into()),
        "spend over budget",
        "svc-b",
    );
    e4.attributes.insert("amount", 12i64);
    vec![e0, e1, e2, e3, e4]
}

/// A measurement of `name` at `time`.
pub fn measurement(
    name: &'static str,
    kind: InstrumentKind,
    unit: Option<&'static str>,
    labels: &[(&'static str, &str)],
    value: f64,
    time: u64,
) -> Measurement {
    let mut m = Measurement::new(name, kind, value);
    m.unit = unit.map(Into::into);
    for (k, v) in labels {
        m = m.with_label(*k, *v);
    }
    m.time_unix_nano = time;
    m
}
