//! The simulated multi-agent workflow the examples share, with no network: a planner, a
//! researcher and a coder, each calling models and tools, across two sessions; one tool fails.
//! Run [`two_sessions`] inside a Tokio runtime with agentrace installed.

use std::time::Duration;

use agentrace::{Level, TokenUsage, events, spans};
use tracing::Instrument;

/// Runs two sessions at once (alice's with the coder, bob's without) and waits for both. Under
/// a current span (an incoming request) both belong to its trace; else each is a trace.
///
/// # Errors
/// When a session's task panicked.
pub(crate) async fn two_sessions() -> Result<(), tokio::task::JoinError> {
    let alpha = tokio::spawn(
        session(
            "session-alpha",
            "alice",
            "add retries to the exporter",
            true,
            ("openai", "gpt-4o"),
        )
        .in_current_span(),
    );
    let beta = tokio::spawn(
        session(
            "session-beta",
            "bob",
            "compare tracing backends",
            false,
            ("gcp.gemini", "gemini-2.5-flash"),
        )
        .in_current_span(),
    );
    alpha.await?;
    beta.await
}

/// A simulated model call: a `chat {model}` span with usage, after a pause. Providers answer
/// with a dated snapshot of the model asked for.
async fn call_model(provider: &str, model: &str, usage: TokenUsage, millis: u64) {
    let snapshot = match model {
        "gpt-4o" => "gpt-4o-2024-08-06",
        "claude-sonnet-4-5" => "claude-sonnet-4-5-20250929",
        other => other,
    };
    let span = spans::llm(provider, model);
    async {
        events::llm_request(provider, model, "sending prompt");
        tokio::time::sleep(Duration::from_millis(millis)).await;
        spans::record_usage_on_current(&usage);
        spans::record_response_model(&tracing::Span::current(), snapshot);
        events::llm_response(
            provider,
            model,
            usage.input_tokens,
            usage.output_tokens,
            "got completion",
        );
    }
    .instrument(span)
    .await;
}

/// A simulated tool call; `fails` makes it return an error.
async fn call_tool(
    name: &str,
    arguments: &str,
    millis: u64,
    fails: bool,
) -> Result<String, String> {
    let span = spans::tool(name);
    async {
        events::tool_call(name, arguments);
        tokio::time::sleep(Duration::from_millis(millis)).await;
        if fails {
            let message = format!("{name}: 3 tests failed (exit status 101)");
            spans::set_error(&tracing::Span::current(), "tool_error", &message);
            events::tool_result(name, false, &message);
            Err(message)
        } else {
            events::tool_result(name, true, "ok");
            Ok(format!("{name} result"))
        }
    }
    .instrument(span)
    .await
}

fn usage(input: u64, output: u64, cache_read: u64, reasoning: u64) -> TokenUsage {
    TokenUsage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cache_read,
        cache_write_tokens: 0,
        cache_write_1h_tokens: 0,
        reasoning_tokens: Some(reasoning),
    }
}

async fn planner(task: &str) {
    let agent = spans::agent("planner");
    async {
        events::agent_start("planner", &format!("planning: {task}"));
        call_model(
            "anthropic",
            "claude-sonnet-4-5",
            usage(2_400, 610, 1_800, 0),
            40,
        )
        .await;
        events::agent_stop("planner", "plan ready: research, then code");
    }
    .instrument(agent)
    .await;
}

async fn researcher(provider: &str, model: &str) {
    let agent = spans::agent("researcher");
    async {
        events::agent_start("researcher", "collecting sources");
        // Two tools at once, on separate tasks: their spans still belong to this agent.
        let search = tokio::spawn(
            call_tool("web_search", r#"{"q":"rust llm observability"}"#, 30, false)
                .in_current_span(),
        );
        let fetch = tokio::spawn(
            call_tool(
                "fetch_url",
                r#"{"url":"https://example.invalid/otel"}"#,
                45,
                false,
            )
            .in_current_span(),
        );
        let _ = (search.await, fetch.await);
        call_model(provider, model, usage(5_200, 900, 4_096, 0), 60).await;
        events::agent_stop("researcher", "summary written");
    }
    .instrument(agent)
    .await;
}

async fn coder() {
    let agent = spans::agent("coder");
    async {
        events::agent_start("coder", "implementing the plan");
        events::task_start("implement", "writing code");
        call_model("openai", "o4-mini", usage(3_100, 2_200, 0, 1_500), 80).await;
        match call_tool("run_tests", r#"{"cmd":"cargo test"}"#, 50, true).await {
            Ok(_) => events::task_complete("implement", "tests pass"),
            Err(e) => {
                tracing::warn!(error = %e, "tests failed; retrying with a fix");
                call_model("openai", "o4-mini", usage(3_900, 700, 2_048, 300), 50).await;
                let _ = call_tool("run_tests", r#"{"cmd":"cargo test"}"#, 40, false).await;
                events::task_complete("implement", "tests pass after the fix");
                events::vcs_commit("agentrace-demo", "4f2a9c1", "fix: handle empty input");
            }
        }
        events::agent_stop("coder", "done");
    }
    .instrument(agent)
    .await;
}

async fn session(id: &str, user: &str, task: &str, with_coder: bool, research: (&str, &str)) {
    let root = tracing::info_span!(
        "workflow",
        otel.name = %format_args!("invoke_workflow {task}"),
        gen_ai.operation.name = "invoke_workflow",
        gen_ai.conversation.id = id,
        user.id = user,
        agentrace.framework = "agentrace-demo",
    );
    async {
        planner(task).await;
        researcher(research.0, research.1).await;
        if with_coder {
            coder().await;
        } else {
            events::safety_violation(
                "pii",
                Level::Warning,
                "an e-mail address in the prompt was redacted",
            );
        }
        events::performance_metric(
            "workflow.steps",
            if with_coder { 9.0 } else { 5.0 },
            "{step}",
        );
    }
    .instrument(root)
    .await;
}
