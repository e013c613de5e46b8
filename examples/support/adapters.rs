//! What the adapter examples share: agentrace turned on with a budget, the provider they talk
//! to (a local fake unless `OPENAI_BASE_URL` names a real one), and the report they end with.

use std::sync::Arc;

use agentrace::budget::{Budget, Budgets, Period, Scope};
use agentrace::{TelemetryGuard, Usd};
use agentrace_fake_openai::{FakeOpenAi, Reply, Usage};

type Error = Box<dyn std::error::Error>;

/// One adapter example's run: its budgets, its telemetry, and the fake provider when used.
pub(crate) struct Example {
    /// A cent a day for each agent (given to the adapter and to the pipeline).
    pub(crate) budgets: Arc<Budgets>,
    /// The fake provider, unless `OPENAI_BASE_URL` is set.
    pub(crate) fake: Option<FakeOpenAi>,
    guard: TelemetryGuard,
    db: String,
}

impl Example {
    /// agentrace on for service `name` into `agentrace-data/{name}.db`, under the budgets, and
    /// the fake provider started unless `OPENAI_BASE_URL` is set.
    pub(crate) async fn start(name: &str) -> Result<Self, Error> {
        let budgets = a_cent_per_agent();
        let db = format!("agentrace-data/{name}.db");
        let guard = agentrace::init()
            .service_name(name)
            .sqlite(&db)
            .budgets(budgets.clone())
            .install()?;
        let fake = match std::env::var_os("OPENAI_BASE_URL") {
            Some(_) => None,
            None => Some(fake_provider().await?),
        };
        Ok(Self {
            budgets,
            fake,
            guard,
            db,
        })
    }

    /// The provider's base URL: the fake's, or `OPENAI_BASE_URL`.
    pub(crate) fn base_url(&self) -> String {
        match &self.fake {
            Some(fake) => fake.base_url(),
            None => std::env::var("OPENAI_BASE_URL").unwrap_or_default(),
        }
    }

    /// Flushes the telemetry, prints each budget's spend and how many requests the fake
    /// provider got (then stops it).
    pub(crate) async fn finish(self) -> Result<(), Error> {
        self.guard.shutdown()?;
        for status in self.budgets.status() {
            println!(
                "budget {} for {}: {} spent of {}",
                status.budget, status.scope, status.spent, status.limit
            );
        }
        if let Some(fake) = self.fake {
            println!("requests the provider received: {}", fake.request_count());
            fake.shutdown().await;
        }
        println!("wrote {}", self.db);
        Ok(())
    }
}

/// A cent a day for each agent.
fn a_cent_per_agent() -> Arc<Budgets> {
    Arc::new(Budgets::new(vec![Budget::new(
        "per-agent",
        Scope::Agent,
        Period::Day,
        Usd::from_dollars(0.01),
    )]))
}

/// A local fake OpenAI-compatible provider with the examples' two replies scripted.
async fn fake_provider() -> Result<FakeOpenAi, Error> {
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
