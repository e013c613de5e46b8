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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{EventKind, Resource, SpanId, Text, TraceId};

    fn span(framework: Option<&str>, duration: u64) -> SpanRecord {
        let mut s = SpanRecord::new(
            TraceId::random(),
            SpanId::random(),
            "s",
            0,
            duration,
            Arc::new(Resource::new("t")),
        );
        s.framework = framework.map(Text::from);
        s
    }

    fn event(level: Level, framework: Option<&str>) -> Event {
        let mut e = Event::new(0, level, EventKind::Log, "m", Arc::new(Resource::new("t")));
        e.framework = framework.map(Text::from);
        e
    }

    #[test]
    fn keeps_only_what_matches_every_condition() {
        let mut cx = ProcessContext::new();
        let f = Filter::new()
            .min_level(Level::Warning)
            .frameworks(["rig"])
            .spans(|s| s.duration_ns() >= 10)
            .events(|e| e.message != "noise");
        assert_eq!(
            f.process_span(&mut span(Some("rig"), 10), &mut cx),
            Verdict::Keep
        );
        assert_eq!(
            f.process_span(&mut span(Some("rig"), 9), &mut cx),
            Verdict::Drop
        );
        assert_eq!(
            f.process_span(&mut span(Some("crewai"), 10), &mut cx),
            Verdict::Drop
        );
        assert_eq!(f.process_span(&mut span(None, 10), &mut cx), Verdict::Drop);
        assert_eq!(
            f.process_event(&mut event(Level::Error, Some("rig")), &mut cx),
            Verdict::Keep
        );
        assert_eq!(
            f.process_event(&mut event(Level::Success, Some("rig")), &mut cx),
            Verdict::Drop
        );
        let mut noisy = event(Level::Critical, Some("rig"));
        noisy.message = "noise".into();
        assert_eq!(f.process_event(&mut noisy, &mut cx), Verdict::Drop);
        // Spans have no level: the level condition is for events only.
        let open = Filter::new().min_level(Level::Critical);
        assert_eq!(
            open.process_span(&mut span(None, 0), &mut cx),
            Verdict::Keep
        );
    }
}
