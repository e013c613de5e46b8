//! One-line helpers for the seed event types. Each emits a `tracing` event with the
//! `agentrace.event` field set, at a level that fits (`SUCCESS` and `CRITICAL` ride on the
//! `agentrace.level` field), so it shows in any `tracing` output and becomes an
//! [`Event`](crate::Event) under the agentrace layer, stamped with the current span's ids.
//!
//! ```
//! use agentrace_core::events;
//!
//! events::agent_start("planner", "planning the release");
//! events::tool_call("web_search", r#"{"q":"rust otel"}"#);
//! events::task_fail("t-7", "the build failed");
//! ```

use crate::model::Level;

/// `agent.start` (INFO).
pub fn agent_start(agent_id: &str, message: &str) {
    tracing::info!(
        agentrace.event = "agent.start",
        gen_ai.agent.id = agent_id,
        "{message}"
    );
}

/// `agent.stop` (INFO).
pub fn agent_stop(agent_id: &str, message: &str) {
    tracing::info!(
        agentrace.event = "agent.stop",
        gen_ai.agent.id = agent_id,
        "{message}"
    );
}

/// `task.start` (INFO).
pub fn task_start(task_id: &str, message: &str) {
    tracing::info!(
        agentrace.event = "task.start",
        task.id = task_id,
        "{message}"
    );
}

/// `task.complete` (SUCCESS).
pub fn task_complete(task_id: &str, message: &str) {
    tracing::info!(
        agentrace.event = "task.complete",
        agentrace.level = "SUCCESS",
        task.id = task_id,
        "{message}"
    );
}

/// `task.fail` (ERROR). Inside a span, marks it failed.
pub fn task_fail(task_id: &str, error: &str) {
    tracing::error!(agentrace.event = "task.fail", task.id = task_id, "{error}");
}

/// `tool.call` (INFO), with the call's arguments when message content is captured
/// ([`crate::capture::message_content`], off by default).
pub fn tool_call(tool: &str, arguments: &str) {
    if crate::capture::message_content() {
        tracing::info!(
            agentrace.event = "tool.call",
            gen_ai.tool.name = tool,
            gen_ai.tool.call.arguments = arguments,
            "calling {tool}"
        );
    } else {
        tracing::info!(
            agentrace.event = "tool.call",
            gen_ai.tool.name = tool,
            "calling {tool}"
        );
    }
}

/// `tool.result` (INFO on success, WARNING on failure).
pub fn tool_result(tool: &str, success: bool, message: &str) {
    if success {
        tracing::info!(
            agentrace.event = "tool.result",
            gen_ai.tool.name = tool,
            success,
            "{message}"
        );
    } else {
        tracing::warn!(
            agentrace.event = "tool.result",
            gen_ai.tool.name = tool,
            success,
            "{message}"
        );
    }
}

/// `safety.violation` at `severity` (WARNING, ERROR or CRITICAL; lower levels are raised to
/// WARNING).
pub fn safety_violation(rule: &str, severity: Level, message: &str) {
    match severity {
        Level::Critical => {
            tracing::error!(
                agentrace.event = "safety.violation",
                agentrace.level = "CRITICAL",
                rule,
                "{message}"
            );
        }
        Level::Error => tracing::error!(agentrace.event = "safety.violation", rule, "{message}"),
        _ => tracing::warn!(agentrace.event = "safety.violation", rule, "{message}"),
    }
}

/// `budget.exceeded` (WARNING): a call to `model` was refused before it was sent.
pub fn budget_exceeded(refused: &crate::budget::BudgetExceeded, model: &str) {
    tracing::warn!(
        agentrace.event = "budget.exceeded",
        budget = refused.budget.as_str(),
        scope = refused.scope.as_str(),
        gen_ai.request.model = model,
        "{refused}"
    );
}

/// `llm.request` (DEBUG).
pub fn llm_request(provider: &str, model: &str, message: &str) {
    tracing::debug!(
        agentrace.event = "llm.request",
        gen_ai.provider.name = provider,
        gen_ai.request.model = model,
        "{message}"
    );
}

/// `llm.response` (DEBUG) with token counts.
pub fn llm_response(
    provider: &str,
    model: &str,
    input_tokens: u64,
    output_tokens: u64,
    message: &str,
) {
    tracing::debug!(
        agentrace.event = "llm.response",
        gen_ai.provider.name = provider,
        gen_ai.response.model = model,
        gen_ai.usage.input_tokens = input_tokens,
        gen_ai.usage.output_tokens = output_tokens,
        "{message}"
    );
}

/// `vcs.commit` (INFO).
pub fn vcs_commit(repository: &str, revision: &str, message: &str) {
    tracing::info!(
        agentrace.event = "vcs.commit",
        vcs.repository = repository,
        vcs.revision = revision,
        "{message}"
    );
}

/// `performance.metric` (INFO): a named value with its unit.
pub fn performance_metric(name: &str, value: f64, unit: &str) {
    tracing::info!(
        agentrace.event = "performance.metric",
        metric.name = name,
        metric.value = value,
        metric.unit = unit,
        "{name} = {value} {unit}"
    );
}

/// `system.error` (ERROR, or CRITICAL when `critical`). Inside a span, marks it failed.
pub fn system_error(component: &str, error: &str, critical: bool) {
    if critical {
        tracing::error!(
            agentrace.event = "system.error",
            agentrace.level = "CRITICAL",
            component,
            "{error}"
        );
    } else {
        tracing::error!(agentrace.event = "system.error", component, "{error}");
    }
}

/// `gen_ai.evaluation.result` (INFO; WARNING for a failed evaluation): how an evaluation of
/// the current span came out. `agentrace serve` makes it a score of the span (docs/scores.md),
/// so an agent scores its own work in one line:
///
/// ```
/// use agentrace_core::{Evaluation, events};
///
/// events::evaluation(&Evaluation::new("answer_relevance").value(0.92).explanation("on topic"));
/// events::evaluation(&Evaluation::new("json_valid").label("fail").value(0.0));
/// ```
pub fn evaluation(result: &crate::Evaluation) {
    let annotator = result.annotator.as_str();
    match &result.error_type {
        None => tracing::info!(
            agentrace.event = crate::Evaluation::EVENT,
            gen_ai.evaluation.name = result.name.as_str(),
            gen_ai.evaluation.score.value = result.value,
            gen_ai.evaluation.score.label = result.label.as_deref(),
            gen_ai.evaluation.explanation = result.explanation.as_deref(),
            gen_ai.response.id = result.response_id.as_deref(),
            agentrace.evaluation.annotator_kind = annotator,
            "{} evaluated",
            result.name
        ),
        Some(error_type) => tracing::warn!(
            agentrace.event = crate::Evaluation::EVENT,
            gen_ai.evaluation.name = result.name.as_str(),
            error.r#type = error_type.as_str(),
            gen_ai.response.id = result.response_id.as_deref(),
            agentrace.evaluation.annotator_kind = annotator,
            "{} failed: {error_type}",
            result.name
        ),
    }
}

/// A custom event type (a dotted name of your choosing) at INFO.
pub fn custom(kind: &str, message: &str) {
    tracing::info!(agentrace.event = kind, "{message}");
}
