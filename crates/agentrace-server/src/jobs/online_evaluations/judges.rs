//! What an LLM judge's calls cost, and where they are seen: each judge held to a daily budget
//! of its own (checked before each call, with the call's estimate), and each evaluation's
//! calls stored as a trace of the judge's (service `agentrace-judge`, agent `judge:<name>`),
//! priced like any call: the cost of quality, apart from the application's.

use std::sync::Arc;

use agentrace_core::budget::{
    Budget, BudgetExceeded, Budgets, CallContext, Period, ReservationId, Scope,
};
use agentrace_core::cost::{PriceBook, estimate_text_cost, price_span};
use agentrace_core::semconv::{agentrace, gen_ai};
use agentrace_core::{Resource, SpanId, SpanKind, SpanRecord, SpanStatus, Text, TraceId, Usd};
use agentrace_evaluators::{JUDGE_SERVICE, JudgeClient, ModelCall, PlannedCall, Subject};

/// The agent a judge's spans are attributed to.
pub(crate) fn judge_agent(judge: &str) -> String {
    format!("judge:{judge}")
}

/// The judges' own budgets.
#[derive(Debug)]
pub(crate) struct JudgeBudgets {
    budgets: Arc<Budgets>,
    prices: Arc<dyn PriceBook>,
}

impl JudgeBudgets {
    /// A daily budget for each judge that has one.
    pub(crate) fn new<'a>(
        judges: impl IntoIterator<Item = &'a JudgeClient>,
        prices: Arc<dyn PriceBook>,
    ) -> Self {
        let budgets = judges
            .into_iter()
            .filter_map(|j| {
                let spec = j.spec();
                let limit = spec.daily_budget_usd?;
                Some(
                    Budget::new(
                        format!("judge {}", spec.name),
                        Scope::Agent,
                        Period::Day,
                        Usd::from_dollars(limit),
                    )
                    .only(judge_agent(&spec.name)),
                )
            })
            .collect();
        Self {
            budgets: Arc::new(Budgets::new(budgets)),
            prices,
        }
    }

    /// The budgets, for their spend to be restored from the store at start.
    pub(crate) fn budgets(&self) -> &Budgets {
        &self.budgets
    }

    /// Admits `call` of `judge` (with its estimate), or refuses it with the budget it would
    /// exceed. A model without a price is admitted at no cost (the start refuses a judge
    /// with a budget and no price).
    pub(crate) fn admit(
        &self,
        judge: &str,
        call: &PlannedCall,
    ) -> Result<ReservationId, BudgetExceeded> {
        let estimate = estimate_text_cost(
            &*self.prices,
            Some(&call.provider),
            &call.model,
            &call.prompt,
            call.max_output_tokens,
            agentrace_core::now_unix_nano(),
        )
        .map_or(Usd::ZERO, |e| e.cost.total);
        let agent = judge_agent(judge);
        let cx = CallContext {
            agent: Some(&agent),
            model: Some(&call.model),
            ..CallContext::default()
        };
        self.budgets.reserve(&cx, estimate)
    }

    /// Settles a reservation with what the calls cost.
    pub(crate) fn settle(&self, reservation: ReservationId, cost: Usd) {
        self.budgets.settle(reservation, cost);
    }

    /// Whether a judge of `model` (by `provider`) can be held to a budget: its model is priced.
    pub(crate) fn priced(&self, provider: &str, model: &str) -> bool {
        self.prices
            .price(Some(provider), model, agentrace_core::now_unix_nano())
            .is_some()
    }

    /// The spans of one evaluation's `calls` by `judge` for `rule` on `subject`: a root
    /// (`evaluate <rule>`) and an LLM span per call, priced; and what they cost together.
    pub(crate) fn trace(
        &self,
        judge: &str,
        rule: &str,
        subject: &Subject,
        calls: &[ModelCall],
    ) -> (Vec<SpanRecord>, Usd) {
        let resource = Arc::new(Resource::new(JUDGE_SERVICE));
        let trace_id = TraceId::random();
        let agent: Text = judge_agent(judge).into();
        let start = calls.iter().map(|c| c.start_unix_nano).min().unwrap_or(0);
        let end = calls.iter().map(|c| c.end_unix_nano).max().unwrap_or(start);
        let mut root = SpanRecord::new(
            trace_id,
            SpanId::random(),
            format!("evaluate {rule}"),
            start,
            end,
            resource.clone(),
        );
        root.kind = SpanKind::Task;
        root.agent_name = Some(agent.clone());
        root.framework = Some("agentrace".into());
        root.attributes.insert(agentrace::EVALUATION_RULE, rule);
        root.attributes.insert(agentrace::EVALUATION_JUDGE, judge);
        root.attributes
            .insert(agentrace::EVALUATION_TARGET, subject.target.key());
        let mut spans = vec![];
        let mut total = Usd::ZERO;
        for call in calls {
            let mut span = SpanRecord::new(
                trace_id,
                SpanId::random(),
                format!("chat {}", call.request_model),
                call.start_unix_nano,
                call.end_unix_nano,
                resource.clone(),
            );
            span.parent_span_id = Some(root.span_id);
            span.kind = SpanKind::Llm;
            span.operation = Some("chat".into());
            span.provider = Some(call.provider.as_str().into());
            span.request_model = Some(call.request_model.as_str().into());
            span.response_model = call.response_model.as_deref().map(Into::into);
            span.usage = call.usage;
            span.agent_name = Some(agent.clone());
            span.framework = Some("agentrace".into());
            if let Some(id) = &call.response_id {
                span.attributes.insert(gen_ai::RESPONSE_ID, id.as_str());
            }
            if let Some(error) = &call.error {
                span.status = SpanStatus::error(error.clone());
                root.status = SpanStatus::error(error.clone());
            }
            span.cost = price_span(&*self.prices, &span);
            total += span.cost.map_or(Usd::ZERO, |c| c.total);
            spans.push(span);
        }
        spans.insert(0, root);
        (spans, total)
    }
}
