//! The canonical records every source produces and every sink receives.

mod attributes;
mod attribution;
mod event;
mod ids;
mod metric;
mod resource;
mod score;
mod span;
mod text;
mod usage;

pub use attributes::{AttributeValue, Attributes, Key};
pub use attribution::{
    Attribution, AttributionNode, Completion, InheritedField, complete_attribution, inherit,
    lacks_attribution,
};
pub use event::{Event, EventKind, Level, ParseLevelError};
pub use ids::{ParseIdError, SpanId, TraceId};
pub(crate) use metric::merge_counters;
pub use metric::{InstrumentKind, Labels, Measurement};
pub use resource::Resource;
pub use score::{
    AnnotatorKind, Evaluation, EvaluationError, InvalidScore, InvalidScoreConfig,
    LoadScoreConfigsError, Score, ScoreConfig, ScoreConfigs, ScoreKind, ScoreSource, ScoreTarget,
    ScoreValue, UnknownName,
};
pub use span::{
    CostEntry, ParseSpanKindError, SpanEvent, SpanKind, SpanRecord, SpanStatus, StatusCode,
};
pub use text::Text;
pub use usage::{Cost, TokenUsage, Usd};
