//! The `tracing` integration: a [`Layer`] that turns spans and events into records.
//!
//! Instrument with plain `tracing` (`#[instrument]`, `info_span!`, `info!`) or with the helpers
//! in [`crate::spans`] and [`crate::events`]; the layer:
//!
//! - assigns W3C-sized trace and span ids, keeping parent/child links across `.await` points
//!   and threads (through `tracing`'s span context and `Instrument`);
//! - lifts GenAI fields of every dialect into typed fields ([`crate::normalize`]), honours
//!   `otel.name`, `otel.kind` and `otel.status_code`, and infers the span kind;
//! - marks a span failed when an `ERROR` event happens inside it (as `#[instrument(err)]` emits)
//!   or when it records an `error` or `error.type` field;
//! - lets the session, user, correlation id, agent and framework set on an ancestor flow to
//!   descendants and to events;
//! - stamps events inside a span with its trace and span ids;
//! - head-samples traces with a [`Sampler`], always keeping error spans if configured;
//! - hands finished records to the [`Pipeline`] without ever blocking.

mod visit;

use std::any::TypeId;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, PoisonError, RwLock};

use tracing_core::callsite::Identifier;
use tracing_core::span::{Attributes as SpanAttributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event as TracingEvent, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use self::visit::{EventVisitor, SpanVisitor};
use crate::model::{
    AttributeValue, Attribution, Event, EventKind, Level, Resource, SpanId, SpanRecord, SpanStatus,
    StatusCode, Text, TraceId, inherit, lacks_attribution,
};
use crate::normalize::{
    KeyPlan, MCP_MAX_BETWEEN, SpanNormalizer, dialect, is_step, mark_aggregate, mark_mcp_wrapper,
    mcp_client_tool_call, repeats_what_is_below, reports_usage, wraps_mcp_call,
};
use crate::now_unix_nano;
use crate::pipeline::Pipeline;
use crate::sampling::Sampler;

/// What the layer keeps for an open span.
#[derive(Debug)]
pub(crate) struct SpanState {
    pub(crate) record: Box<SpanRecord>,
    normalizer: SpanNormalizer,
    plans: Plans,
    pub(crate) sampled: bool,
    error_event: Option<String>,
    /// What was recorded beneath this span: a step (a span reporting usage, or a model call),
    /// and usage. What [`repeats_what_is_below`] decides aggregates by.
    below: Below,
    /// The tools of the MCP client calls closed beneath it (within [`MCP_MAX_BETWEEN`] spans):
    /// what [`wraps_mcp_call`] decides a framework's wrapping tool span by.
    mcp_calls_below: Vec<Text>,
}

impl SpanState {
    /// Records an attribute the span's callsite may not have declared, as a declared field of
    /// that name would have been recorded (normalized when it is a name agentrace reads).
    pub(crate) fn set_attribute(&mut self, key: &str, value: AttributeValue) {
        if !self.normalizer.offer_value(&mut self.record, key, &value) {
            self.record.attributes.insert(key.to_owned(), value);
        }
    }
}

/// What the layer precomputes once per callsite: the plans of its fields (by field index) and
/// the framework its target names.
#[derive(Debug)]
struct CallsiteInfo {
    plans: Box<[KeyPlan]>,
    framework: Option<&'static str>,
}

type Plans = Arc<CallsiteInfo>;

/// Hashes callsite identifiers (pointers) with one multiply.
#[derive(Default)]
struct PointerHasher(u64);

impl Hasher for PointerHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// Field plans per callsite, computed once: classifying a key is a string match over every
/// known attribute name, too slow to repeat for every field of every span.
#[derive(Default)]
struct CallsitePlans(RwLock<HashMap<Identifier, Plans, BuildHasherDefault<PointerHasher>>>);

impl CallsitePlans {
    fn get(&self, metadata: &'static Metadata<'static>) -> Plans {
        let id = metadata.callsite();
        if let Some(plans) = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return plans.clone();
        }
        let plans = Arc::new(CallsiteInfo {
            plans: metadata
                .fields()
                .iter()
                .map(|f| KeyPlan::of(f.name()))
                .collect(),
            framework: dialect::framework_of_target(metadata.target()),
        });
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, plans.clone());
        plans
    }
}

/// Runs a closure on the state of the span `Id` held by the subscriber behind a `Dispatch`.
pub(crate) type ApplyToState = fn(&Dispatch, &Id, &mut dyn FnMut(&mut SpanState));

/// The inherited fields of the span `Id`, its own or its nearest ancestors'.
pub(crate) type AttributionOf = fn(&Dispatch, &Id) -> Option<Attribution>;

/// Lets [`crate::propagation`] reach the state of a span through a `Dispatch`.
#[derive(Clone, Copy)]
pub(crate) struct WithContext {
    pub(crate) apply: ApplyToState,
    pub(crate) attribution: AttributionOf,
    pub(crate) sampler: Sampler,
}

fn apply_to_state<S>(dispatch: &Dispatch, id: &Id, f: &mut dyn FnMut(&mut SpanState))
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(subscriber) = dispatch.downcast_ref::<S>() else {
        return;
    };
    let Some(span) = subscriber.span(id) else {
        return;
    };
    let mut extensions = span.extensions_mut();
    if let Some(state) = extensions.get_mut::<SpanState>() {
        f(state);
    }
}

fn attribution_of<S>(dispatch: &Dispatch, id: &Id) -> Option<Attribution>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let span = dispatch.downcast_ref::<S>()?.span(id)?;
    let mut attribution = Attribution::default();
    walk_ancestors(Some(span), |ancestor| {
        attribution.inherit_from(&Attribution::of(ancestor));
        attribution.is_complete()
    });
    Some(attribution)
}

/// A `tracing_subscriber` layer that records agent telemetry into a [`Pipeline`].
///
/// ```
/// use agentrace_core::{AgentraceLayer, Pipeline, Resource};
/// use tracing_subscriber::prelude::*;
///
/// let pipeline = Pipeline::builder().build()?;
/// let layer = AgentraceLayer::new(pipeline.clone(), Resource::new("my-agent"));
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     let _span = agentrace_core::spans::llm("openai", "gpt-4o").entered();
/// });
/// pipeline.shutdown()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AgentraceLayer {
    pipeline: Pipeline,
    resource: Arc<Resource>,
    sampler: Sampler,
    event_level: Level,
    with_context: Option<WithContext>,
    callsites: Arc<CallsitePlans>,
}

impl std::fmt::Debug for AgentraceLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentraceLayer")
            .field("resource", &self.resource)
            .field("sampler", &self.sampler)
            .field("event_level", &self.event_level)
            .finish_non_exhaustive()
    }
}

impl AgentraceLayer {
    /// A layer feeding `pipeline`, stamping records with `resource`; samples everything and
    /// records events at `INFO` and above.
    pub fn new(pipeline: Pipeline, resource: Resource) -> Self {
        Self {
            pipeline,
            resource: Arc::new(resource),
            sampler: Sampler::always(),
            event_level: Level::Info,
            with_context: None,
            callsites: Arc::default(),
        }
    }

    /// Sets the sampler.
    #[must_use]
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = sampler;
        self
    }

    /// Records events at `level` and above (default `INFO`).
    #[must_use]
    pub fn with_event_level(mut self, level: Level) -> Self {
        self.event_level = level;
        self
    }

    /// The pipeline this layer feeds.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
}

/// Visits the records of `start` and its ancestors, nearest first, until `visit` says done.
fn walk_ancestors<S>(start: Option<SpanRef<'_, S>>, mut visit: impl FnMut(&SpanRecord) -> bool)
where
    S: for<'a> LookupSpan<'a>,
{
    let mut current = start;
    while let Some(s) = current {
        if let Some(state) = s.extensions().get::<SpanState>()
            && visit(&state.record)
        {
            return;
        }
        current = s.parent();
    }
}

/// What was recorded beneath an open span.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Below {
    step: bool,
    usage: bool,
}

/// Tells every open ancestor what a closed step brings beneath it (up to the first that knows
/// already).
fn tell_ancestors<S>(start: Option<SpanRef<'_, S>>, brought: Below)
where
    S: for<'a> LookupSpan<'a>,
{
    let mut current = start;
    while let Some(ancestor) = current {
        if let Some(state) = ancestor.extensions_mut().get_mut::<SpanState>() {
            let known = state.below;
            state.below.step |= brought.step;
            state.below.usage |= brought.usage;
            if state.below == known {
                return;
            }
        }
        current = ancestor.parent();
    }
}

/// Fills the listed fields that are unset on an event from the nearest span that has them.
macro_rules! inherit_fields {
    ($record:expr, $start:expr, $($field:ident),*) => {
        if $($record.$field.is_none())||* {
            walk_ancestors($start, |ancestor| {
                $(if $record.$field.is_none() {
                    $record.$field.clone_from(&ancestor.$field);
                })*
                !($($record.$field.is_none())||*)
            });
        }
    };
}

impl<S> Layer<S> for AgentraceLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_layer(&mut self, _subscriber: &mut S) {
        self.with_context = Some(WithContext {
            apply: apply_to_state::<S>,
            attribution: attribution_of::<S>,
            sampler: self.sampler,
        });
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_span() {
            self.callsites.get(metadata);
        }
        Interest::always()
    }

    fn on_new_span(&self, attrs: &SpanAttributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let parent = span.parent();
        let (trace_id, parent_span_id, parent_sampled) = match parent.as_ref().and_then(|p| {
            p.extensions()
                .get::<SpanState>()
                .map(|s| (s.record.trace_id, s.record.span_id, s.sampled))
        }) {
            Some((trace, parent_id, sampled)) => (trace, Some(parent_id), Some(sampled)),
            None => (TraceId::random(), None, None),
        };
        let metadata = attrs.metadata();
        // The name is set on close unless `otel.name` sets it first: no allocation for nothing.
        let mut record = Box::new(SpanRecord::new(
            trace_id,
            SpanId::random(),
            String::new(),
            now_unix_nano(),
            0,
            self.resource.clone(),
        ));
        record.parent_span_id = parent_span_id;
        record.scope = Some(std::borrow::Cow::Borrowed(metadata.target()));
        let mut normalizer = SpanNormalizer::new();
        let plans = self.callsites.get(metadata);
        attrs.record(&mut SpanVisitor {
            record: &mut record,
            normalizer: &mut normalizer,
            plans: &plans.plans,
        });
        let state = SpanState {
            sampled: self.sampler.decide(trace_id, parent_sampled),
            record,
            normalizer,
            plans,
            error_event: None,
            below: Below::default(),
            mcp_calls_below: Vec::new(),
        };
        span.extensions_mut().insert(state);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(state) = extensions.get_mut::<SpanState>() {
            values.record(&mut SpanVisitor {
                record: &mut state.record,
                normalizer: &mut state.normalizer,
                plans: &state.plans.plans,
            });
        }
    }

    fn on_event(&self, event: &TracingEvent<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let tracing_level = *metadata.level();
        let span = ctx.event_span(event);
        let is_error = tracing_level == tracing_core::Level::ERROR;
        // Fast exit: below the event level and not an error that marks its span.
        let candidate = Level::from(tracing_level) >= self.event_level
            || metadata
                .fields()
                .field(crate::semconv::agentrace::LEVEL)
                .is_some();
        if !candidate && !is_error {
            return;
        }
        let mut record = Event::new(
            now_unix_nano(),
            tracing_level.into(),
            EventKind::Log,
            String::new(),
            self.resource.clone(),
        );
        let mut visitor = EventVisitor {
            event: &mut record,
            error: None,
        };
        event.record(&mut visitor);
        let error = visitor.error.take();
        if is_error
            && let Some(span) = &span
            && let Some(state) = span.extensions_mut().get_mut::<SpanState>()
        {
            let message = error.clone().unwrap_or_else(|| record.message.clone());
            state.error_event.get_or_insert(message);
        }
        if record.level < self.event_level {
            return;
        }
        if record.message.is_empty()
            && let Some(error) = error
        {
            record.message = error;
        }
        record.scope = Some(std::borrow::Cow::Borrowed(metadata.target()));
        if let Some(span) = &span
            && let Some(state) = span.extensions().get::<SpanState>()
        {
            record.trace_id = Some(state.record.trace_id);
            record.span_id = Some(state.record.span_id);
        }
        inherit_fields!(
            record,
            span,
            session_id,
            correlation_id,
            agent_id,
            framework
        );
        self.pipeline.submit_event(record);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(state) = span.extensions_mut().remove::<SpanState>() else {
            return;
        };
        let SpanState {
            mut record,
            normalizer,
            sampled,
            error_event,
            plans,
            below,
            mcp_calls_below,
        } = state;
        record.end_time_unix_nano = now_unix_nano();
        if record.name.is_empty() {
            record.name = Text::new(span.metadata().name());
        }
        let marks = normalizer.finish(&mut record);
        dialect::complete(&mut record, &marks, plans.framework);
        if record.status.code == StatusCode::Unset
            && let Some(message) = error_event
        {
            record.status = SpanStatus::error(message);
        }
        let reports = reports_usage(&record);
        let step = is_step(&record);
        if repeats_what_is_below(reports, step, below.usage, below.step) {
            mark_aggregate(&mut record);
        }
        if mcp_calls_below
            .iter()
            .any(|tool| wraps_mcp_call(&record, tool))
        {
            mark_mcp_wrapper(&mut record);
        }
        let keep = sampled || (self.sampler.keeps_errors() && record.is_error());
        if !keep {
            return;
        }
        if let Some(tool) = mcp_client_tool_call(&record) {
            let tool = Text::new(tool);
            let mut ancestor = span.parent();
            for _ in 0..=MCP_MAX_BETWEEN {
                let Some(a) = ancestor else { break };
                if let Some(state) = a.extensions_mut().get_mut::<SpanState>() {
                    state.mcp_calls_below.push(tool.clone());
                }
                ancestor = a.parent();
            }
        }
        if step {
            tell_ancestors(
                span.parent(),
                Below {
                    step,
                    usage: reports,
                },
            );
        }
        if lacks_attribution(&record) {
            walk_ancestors(span.parent(), |ancestor| !inherit(&mut record, ancestor));
        }
        self.pipeline.submit_boxed_span(record);
    }

    #[allow(unsafe_code)]
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        // SAFETY: the pointers returned point to values of exactly the type asked for, which
        // live as long as `self`; this is the pattern `tracing-subscriber` documents for
        // `downcast_raw`.
        if id == TypeId::of::<Self>() {
            Some(self as *const Self as *const ())
        } else if id == TypeId::of::<WithContext>() {
            self.with_context
                .as_ref()
                .map(|w| w as *const WithContext as *const ())
        } else {
            None
        }
    }
}
