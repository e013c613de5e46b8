//! Spans whose attribution was completed after they were stored — a late ancestor committed
//! (the store fills its stored descendants), or a repair re-attached them
//! ([`crate::jobs::repair`]): their cost moves to the budgets they now belong to, and live
//! clients hear of them ([`Committed::Attributed`]).

use std::sync::Arc;

use agentrace_core::Attribution;
use agentrace_core::budget::CallContext;
use agentrace_store::{LateAttribution, ProjectId};
use tokio::sync::broadcast;

use crate::ingest::committed::{Committed, Published};
use crate::ingest::processors::ProjectChains;

/// Where spans completed by a late ancestor (or given one by a repair) are made known: their
/// cost counts for the budgets they now belong to, and live clients hear of them. Used by the
/// publisher thread and the background repairs.
#[derive(Clone)]
pub(crate) struct Attributions {
    /// Each project's budgets.
    chains: Arc<dyn ProjectChains>,
    live: broadcast::Sender<Published>,
}

impl Attributions {
    /// Moving cost between the budgets `chains` give each project.
    pub(crate) fn new(chains: Arc<dyn ProjectChains>, live: broadcast::Sender<Published>) -> Self {
        Self { chains, live }
    }

    /// Spans of `project` whose attribution was completed after they were stored.
    pub(crate) fn publish(&self, project: ProjectId, late: Vec<LateAttribution>) {
        if let Some(budgets) = self.chains.budgets(project) {
            for l in &late {
                let Some(cost) = l.cost else { continue };
                let model = l.model.as_deref();
                budgets.record_late_attribution(
                    &context(&l.before, model),
                    &context(&l.after, model),
                    cost,
                );
            }
        }
        if self.live.receiver_count() > 0 {
            let _ = self
                .live
                .send(Published::new(project, Committed::Attributed(late.into())));
        }
    }
}

/// The budget context of a span with these values.
fn context<'a>(a: &'a Attribution, model: Option<&'a str>) -> CallContext<'a> {
    CallContext {
        session: a.session_id.as_deref(),
        agent: a.agent_name.as_deref(),
        framework: a.framework.as_deref(),
        model,
        user: a.user_id.as_deref(),
    }
}
