//! A rig agent, traced, priced and held to a budget by agentrace: an agent run (rig's own
//! `invoke_agent` and `chat` spans), a streamed model call, then an agent whose next call's
//! estimate would burst its budget, refused before rig sends anything.
//!
//! ```text
//! cargo run --example rig_agent --features rig
//! cargo run -p agentrace-cli -- traces list --db agentrace-data/rig-agent.db
//! ```
//!
//! By default it talks to a local fake OpenAI-compatible provider. With `OPENAI_BASE_URL` set
//! it talks to that provider instead (`OPENAI_API_KEY` its key, `RIG_MODEL` the model, default
//! `gpt-4o-mini`), through rig's chat-completions wire.

use agentrace::rig::{Refusal, WithBudgets, traced};
use futures_util::StreamExt;
use rig_agent::AgentBuilder;
use rig_core::completion::CompletionRequest;
use rig_core::providers::openai::OpenAIConfig;

#[path = "support/mod.rs"]
mod support;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let example = support::adapters::Example::start("rig-agent").await?;
    let budgets = example.budgets.clone();
    let config = match &example.fake {
        Some(fake) => OpenAIConfig::new("not-needed").with_base_url(fake.base_url()),
        None => OpenAIConfig::from_env()?,
    };
    let model_name = std::env::var("RIG_MODEL").unwrap_or_else(|_| "gpt-4o-mini".to_owned());
    // The line that turns the adapter on.
    let model = traced(config.client().chat(model_name)).budgets(budgets.clone());

    let planner = AgentBuilder::new(model.clone())
        .name("travel-planner")
        .preamble("You plan short city trips.")
        // Prompts and replies on the spans only if OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true.
        .record_content_telemetry(agentrace::capture::message_content())
        .build();
    let answer = planner.prompt("Name three sights in Lisbon.").await?;
    println!("agent: {}", answer.output());

    let mut stream = model.stream(CompletionRequest::new("And what should I pack?"))?;
    let mut chunks = 0;
    while let Some(item) = stream.next().await {
        item?;
        chunks += 1;
    }
    // rig records the stream's usage on its span when the stream is finished.
    let streamed = stream.finish().await?;
    println!("streamed in {chunks} chunks: {:?}", streamed.choice);

    // Room for 40,000 output tokens: an estimate the agent's cent cannot cover.
    let writer = AgentBuilder::new(model)
        .name("guide-writer")
        .max_tokens(40_000)
        .build();
    match writer.prompt("Write the whole travel guide.").await {
        Err(error) => match error.budget_exceeded() {
            Some(refused) => println!("refused before sending: {refused}"),
            None => return Err(error.into()),
        },
        Ok(_) => println!("the long call was admitted (a model without a price?)"),
    }

    example.finish().await
}
