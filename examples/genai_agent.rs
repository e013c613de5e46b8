//! An agent on genai, traced, priced and held to a budget by agentrace: a plain chat, a
//! streamed one with its usage, then a chat whose estimate would burst the agent's budget,
//! refused before genai sends anything.
//!
//! ```text
//! cargo run --example genai_agent --features genai
//! cargo run -p agentrace-cli -- traces list --db agentrace-data/genai-agent.db
//! ```
//!
//! By default it talks to a local fake OpenAI-compatible provider. With `OPENAI_BASE_URL` set
//! it leaves genai's own resolution alone (its API keys from `OPENAI_API_KEY`,
//! `ANTHROPIC_API_KEY`, …; `GENAI_MODEL` picks the model; `https` endpoints need genai's TLS
//! feature in your application).

use agentrace::genai::{Error as TracedError, TracedClient};
use agentrace::spans;
use futures_util::StreamExt;
use genai::chat::{ChatMessage, ChatOptions, ChatRequest, ChatStreamEvent};
use genai::resolver::{AuthData, Endpoint, ServiceTargetResolver};
use genai::{Client, ServiceTarget};
use tracing::Instrument;

#[path = "support/mod.rs"]
mod support;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let example = support::adapters::Example::start("genai-agent").await?;
    let inner = match &example.fake {
        Some(fake) => to_local(&fake.base_url())?,
        None => Client::builder().build()?,
    };
    // The line that turns the adapter on.
    let client = TracedClient::new(inner).budgets(example.budgets.clone());
    let model = std::env::var("GENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".to_owned());

    let agent = spans::agent("travel-planner");
    spans::set_session(&agent, "genai-example");
    run(&client, &model).instrument(agent).await?;

    example.finish().await
}

async fn run(client: &TracedClient, model: &str) -> Result<(), Error> {
    let ask = |prompt: &str| ChatRequest::new(vec![ChatMessage::user(prompt)]);

    let answer = client
        .exec_chat(model, ask("Name three sights in Lisbon."), None)
        .await?;
    println!("plain: {}", answer.content.texts().join(""));

    let with_usage = ChatOptions::default().with_capture_usage(true);
    let mut stream = client
        .exec_chat_stream(model, ask("And what should I pack?"), Some(&with_usage))
        .await?;
    print!("streamed: ");
    while let Some(event) = stream.next().await {
        if let ChatStreamEvent::Chunk(chunk) = event? {
            print!("{}", chunk.content);
        }
    }
    println!();

    // Room for 40,000 output tokens: an estimate the cent cannot cover.
    let long = ChatOptions::default().with_max_tokens(40_000);
    match client
        .exec_chat(model, ask("Write the whole travel guide."), Some(&long))
        .await
    {
        Err(TracedError::BudgetExceeded(refused)) => {
            println!("refused before sending: {refused}");
        }
        Err(error) => return Err(error.into()),
        Ok(_) => println!("the long call was admitted (a model without a price?)"),
    }
    Ok(())
}

/// A genai client that sends every model to the OpenAI-compatible server at `base_url`.
fn to_local(base_url: &str) -> Result<Client, Error> {
    let endpoint = format!("{base_url}/");
    let resolver = ServiceTargetResolver::from_resolver_fn(
        move |target: ServiceTarget| -> Result<ServiceTarget, genai::resolver::Error> {
            Ok(ServiceTarget {
                endpoint: Endpoint::from_owned(endpoint.clone()),
                auth: AuthData::from_single("not-needed"),
                model: target.model,
            })
        },
    );
    Ok(Client::builder()
        .with_service_target_resolver(resolver)
        .build()?)
}
