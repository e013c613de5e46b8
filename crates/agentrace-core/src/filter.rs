//! Filters by level, framework, or any predicate.

use std::fmt;
use std::sync::Arc;

use crate::model::{Event, Level, SpanRecord};
use crate::processor::{ProcessContext, Processor, Verdict};

type SpanPredicate = Arc<dyn Fn(&SpanRecord) -> bool + Send + Sync>;
type EventPredicate = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

/// A processor that keeps only what matches all of its conditions.
///
/// ```
/// use agentrace_core::{Filter, Level};
/// let filter = Filter::new()
///     .min_level(Level::Info)
///     .frameworks(["rig", "langgraph"])
///     .spans(|s| s.duration_ns() > 1_000);
/// # let _ = filter;
/// ```
#[derive(Clone, Default)]
pub struct Filter {
    min_level: Option<Level>,
    frameworks: Option<Vec<String>>,
    spans: Option<SpanPredicate>,
    events: Option<EventPredicate>,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("min_level", &self.min_level)
            .field("frameworks", &self.frameworks)
            .field("spans", &self.spans.is_some())
            .field("events", &self.events.is_some())
            .finish()
    }
}

impl Filter {
    /// A filter that keeps everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops events below `level`.
    #[must_use]
    pub fn min_level(mut self, level: Level) -> Self {
        self.min_level = Some(level);
        self
    }

    /// Keeps only records of these frameworks (records with no framework are dropped).
    #[must_use]
    pub fn frameworks<I: IntoIterator<Item = S>, S: Into<String>>(mut self, frameworks: I) -> Self {
        self.frameworks = Some(frameworks.into_iter().map(Into::into).collect());
        self
    }

    /// Keeps only spans for which `predicate` is true.
    #[must_use]
    pub fn spans(
        mut self,
        predicate: impl Fn(&SpanRecord) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.spans = Some(Arc::new(predicate));
        self
    }

    /// Keeps only events for which `predicate` is true.
    #[must_use]
    pub fn events(mut self, predicate: impl Fn(&Event) -> bool + Send + Sync + 'static) -> Self {
        self.events = Some(Arc::new(predicate));
        self
    }

    fn framework_ok(&self, framework: Option<&str>) -> bool {
        match (&self.frameworks, framework) {
            (None, _) => true,
            (Some(allowed), Some(f)) => allowed.iter().any(|a| a == f),
            (Some(_), None) => false,
        }
    }
}

fn verdict(keep: bool) -> Verdict {
    if keep { Verdict::Keep } else { Verdict::Drop }
}

impl Processor for Filter {
    fn name(&self) -> &str {
        "filter"
    }

    fn process_span(&self, span: &mut SpanRecord, _: &mut ProcessContext) -> Verdict {
        verdict(
            self.framework_ok(span.framework.as_deref())
                && self.spans.as_ref().is_none_or(|p| p(span)),
        )
    }

    fn process_event(&self, event: &mut Event, _: &mut ProcessContext) -> Verdict {
        verdict(
            self.min_level.is_none_or(|min| event.level >= min)
                && self.framework_ok(event.framework.as_deref())
                && self.events.as_ref().is_none_or(|p| p(event)),
        )
    }
}
