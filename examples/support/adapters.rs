//! What the adapter examples share: the budget they run under, the fake provider they talk to
//! by default, and the report they end with.

use std::sync::Arc;

use agentrace::Usd;
use agentrace::budget::{Budget, Budgets, Period, Scope};
use agentrace_fake_openai::{FakeOpenAi, Reply, Usage};

/// A cent a day for each agent.
pub(crate) fn a_cent_per_agent() -> Arc<Budgets> {
    Arc::new(Budgets::new(vec![Budget::new(
        "per-agent",
        Scope::Agent,
        Period::Day,
        Usd::from_dollars(0.01),
    )]))
}

/// A local fake OpenAI-compatible provider with the examples' two replies scripted.
pub(crate) async fn fake_provider() -> Result<FakeOpenAi, Box<dyn std::error::Error>> {
    let fake = FakeOpenAi::start().await?;
    fake.script([
        Reply::text(
            "The Belém Tower, the Alfama and the Gulbenkian.",
            Usage::new(14, 12),
        )
        .responding_as("gpt-4o-mini-2024-07-18"),
        Reply::text(
            "Comfortable shoes, a light jacket, sunscreen.",
            Usage::new(29, 10),
        ),
    ]);
    Ok(fake)
}

/// Prints each budget's spend, and how many requests the fake provider got (then stops it).
pub(crate) async fn report(budgets: &Budgets, fake: Option<FakeOpenAi>) {
    for status in budgets.status() {
        println!(
            "budget {} for {}: {} spent of {}",
            status.budget, status.scope, status.spent, status.limit
        );
    }
    if let Some(fake) = fake {
        println!("requests the provider received: {}", fake.request_count());
        fake.shutdown().await;
    }
}
