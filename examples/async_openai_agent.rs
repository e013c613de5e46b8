//! An agent on async-openai, traced, priced and held to a budget by agentrace: a plain call, a
//! streamed one (usage from its final chunk, time to first chunk), then a call whose estimate
//! would burst the agent's budget, refused before it is sent.
//!
//! ```text
//! cargo run --example async_openai_agent --features async-openai
//! cargo run -p agentrace-cli -- traces list --db agentrace-data/async-openai-agent.db
//! ```
//!
//! By default it talks to a local fake OpenAI-compatible provider. With `OPENAI_BASE_URL` (and
//! `OPENAI_API_KEY`, `OPENAI_MODEL`) it talks to that provider instead (an `https` URL needs
//! async-openai's TLS feature, e.g. `rustls`, in your application).

use agentrace::spans;
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, ChatCompletionStreamOptions, CreateChatCompletionRequest,
};
use futures_util::StreamExt;
use tracing::Instrument;

#[path = "support/mod.rs"]
mod support;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let example = support::adapters::Example::start("async-openai-agent").await?;
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".to_owned());
    let api_key = std::env::var("OPENAI_API_KEY").unwrap_or_else(|_| "not-needed".to_owned());

    // The three lines that turn the adapter on.
    let http =
        agentrace::async_openai::traced(reqwest::Client::new()).budgets(example.budgets.clone());
    let config = OpenAIConfig::new()
        .with_api_base(example.base_url())
        .with_api_key(api_key);
    let client = Client::with_config(config).with_http_service(http);

    let agent = spans::agent("travel-planner");
    spans::set_session(&agent, "async-openai-example");
    run(&client, &model).instrument(agent).await?;

    example.finish().await
}

async fn run(client: &Client<OpenAIConfig>, model: &str) -> Result<(), Error> {
    let ask = |prompt: &str| CreateChatCompletionRequest {
        model: model.to_owned(),
        messages: vec![ChatCompletionRequestUserMessage::from(prompt).into()],
        ..CreateChatCompletionRequest::default()
    };

    let answer = client
        .chat()
        .create(ask("Name three sights in Lisbon."))
        .await?;
    let text = answer
        .choices
        .first()
        .and_then(|c| c.message.content.clone());
    println!("plain: {}", text.unwrap_or_default());

    let mut streamed = ask("And what should I pack?");
    streamed.stream_options = Some(ChatCompletionStreamOptions {
        include_usage: Some(true),
        ..ChatCompletionStreamOptions::default()
    });
    let mut stream = client.chat().create_stream(streamed).await?;
    print!("streamed: ");
    while let Some(chunk) = stream.next().await {
        for choice in chunk?.choices {
            print!("{}", choice.delta.content.unwrap_or_default());
        }
    }
    println!();

    // Room for 40,000 output tokens: an estimate the cent cannot cover.
    let mut long = ask("Write the whole travel guide.");
    long.max_completion_tokens = Some(40_000);
    match client.chat().create(long).await {
        Err(error) => match agentrace::async_openai::budget_exceeded(&error) {
            Some(refused) => println!("refused before sending: {refused}"),
            None => return Err(error.into()),
        },
        Ok(_) => println!("the long call was admitted (a provider without prices?)"),
    }
    Ok(())
}
