//! Attribute names of the GenAI telemetry dialects agentrace reads and writes.
//!
//! Our own constants: those in `opentelemetry-semantic-conventions` 0.33 are all `#[deprecated]`
//! since the GenAI conventions moved to their own repository. Sources and dates are in
//! docs/conventions.md; the mapping of each onto [`SpanRecord`](crate::SpanRecord) fields is
//! [`crate::normalize`].

/// OpenTelemetry GenAI semantic conventions v1.41 (current names).
pub mod gen_ai {
    /// Operation: `chat`, `generate_content`, `text_completion`, `embeddings`, `retrieval`,
    /// `create_agent`, `invoke_agent`, `execute_tool`, `invoke_workflow`.
    pub const OPERATION_NAME: &str = "gen_ai.operation.name";
    /// Provider (v1.37+), e.g. `openai`, `anthropic`, `gcp.vertex_ai`.
    pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
    /// Model requested.
    pub const REQUEST_MODEL: &str = "gen_ai.request.model";
    /// Model that answered.
    pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
    /// Response id.
    pub const RESPONSE_ID: &str = "gen_ai.response.id";
    /// Finish reasons (string array).
    pub const RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
    /// Seconds from sending a streaming request to its first chunk.
    pub const RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
    /// Input tokens, cache-inclusive.
    pub const USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    /// Output tokens, reasoning-inclusive.
    pub const USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    /// Cache reads (v1.40+), subset of input.
    pub const USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
    /// Cache writes (v1.40+), subset of input.
    pub const USAGE_CACHE_CREATION_INPUT_TOKENS: &str = "gen_ai.usage.cache_creation.input_tokens";
    /// Cache writes, the pending rename of `cache_creation` in semantic-conventions-genai.
    pub const USAGE_CACHE_WRITE_INPUT_TOKENS: &str = "gen_ai.usage.cache_write.input_tokens";
    /// Reasoning tokens (v1.41), subset of output.
    pub const USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
    /// Conversation (session) id.
    pub const CONVERSATION_ID: &str = "gen_ai.conversation.id";
    /// Agent id.
    pub const AGENT_ID: &str = "gen_ai.agent.id";
    /// Agent name.
    pub const AGENT_NAME: &str = "gen_ai.agent.name";
    /// Tool name.
    pub const TOOL_NAME: &str = "gen_ai.tool.name";
    /// Tool call id.
    pub const TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
    /// A tool call's arguments (opt-in content, v1.37).
    pub const TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
    /// A tool call's result (opt-in content, v1.37).
    pub const TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
    /// The messages sent to the model, JSON (opt-in content, v1.37).
    pub const INPUT_MESSAGES: &str = "gen_ai.input.messages";
    /// Only the messages added to the conversation since the model's previous call, JSON like
    /// [`INPUT_MESSAGES`]: what an agent sends instead of its whole history each turn
    /// (agentrace's extension; the history is the previous call's input, then these).
    pub const INPUT_MESSAGES_DELTA: &str = "gen_ai.input.messages_delta";
    /// The messages the model returned, JSON (opt-in content, v1.37).
    pub const OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
    /// System instructions given apart from the messages, JSON (opt-in content, v1.37).
    pub const SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
    /// The tools offered to the model, JSON: `[{type, name, description, parameters}]`
    /// (opt-in content, v1.37).
    pub const TOOL_DEFINITIONS: &str = "gen_ai.tool.definitions";
    /// Workflow name (v1.41).
    pub const WORKFLOW_NAME: &str = "gen_ai.workflow.name";
    /// Low-cardinality error type; set with status ERROR.
    pub const ERROR_TYPE: &str = "error.type";
    /// The event of an evaluation's outcome (v1.38), as a log record or a span event.
    pub const EVALUATION_RESULT: &str = "gen_ai.evaluation.result";
    /// What was evaluated, e.g. `relevance`.
    pub const EVALUATION_NAME: &str = "gen_ai.evaluation.name";
    /// The evaluation's score (a number).
    pub const EVALUATION_SCORE_VALUE: &str = "gen_ai.evaluation.score.value";
    /// The evaluation's label, e.g. `pass`.
    pub const EVALUATION_SCORE_LABEL: &str = "gen_ai.evaluation.score.label";
    /// Why the evaluation came out so.
    pub const EVALUATION_EXPLANATION: &str = "gen_ai.evaluation.explanation";
    /// Token type label of the token usage metric: `input`, `output`.
    pub const TOKEN_TYPE: &str = "gen_ai.token.type";
    /// Token usage histogram.
    pub const CLIENT_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
    /// Operation duration histogram (seconds).
    pub const CLIENT_OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
}

/// OpenTelemetry GenAI names of v1.36 and earlier, and OpenLLMetry's pre-0.5 names.
pub mod gen_ai_legacy {
    /// Provider before v1.37 (still emitted by most instrumentors).
    pub const SYSTEM: &str = "gen_ai.system";
    /// Input tokens before v1.27.
    pub const USAGE_PROMPT_TOKENS: &str = "gen_ai.usage.prompt_tokens";
    /// Output tokens before v1.27.
    pub const USAGE_COMPLETION_TOKENS: &str = "gen_ai.usage.completion_tokens";
    /// OpenLLMetry cache reads before 0.5.
    pub const USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read_input_tokens";
    /// OpenLLMetry cache writes before 0.5.
    pub const USAGE_CACHE_CREATION_INPUT_TOKENS: &str = "gen_ai.usage.cache_creation_input_tokens";
    /// OpenLLMetry reasoning tokens (0.5+) and OpenLIT.
    pub const USAGE_REASONING_TOKENS: &str = "gen_ai.usage.reasoning_tokens";
    /// OpenLLMetry reasoning tokens before 0.5.
    pub const LLM_USAGE_REASONING_TOKENS: &str = "llm.usage.reasoning_tokens";
    /// OpenLLMetry / OpenLIT total tokens.
    pub const USAGE_TOTAL_TOKENS: &str = "gen_ai.usage.total_tokens";
}

/// OpenInference (Arize Phoenix).
pub mod openinference {
    /// Span kind: `LLM`, `EMBEDDING`, `CHAIN`, `RETRIEVER`, `RERANKER`, `TOOL`, `AGENT`,
    /// `GUARDRAIL`, `EVALUATOR`, `PROMPT`, `UNKNOWN`.
    pub const SPAN_KIND: &str = "openinference.span.kind";
    /// Model (response if known, else request).
    pub const LLM_MODEL_NAME: &str = "llm.model_name";
    /// Requested model (2026-08).
    pub const LLM_REQUEST_MODEL_NAME: &str = "llm.request.model_name";
    /// Responding model (2026-08).
    pub const LLM_RESPONSE_MODEL_NAME: &str = "llm.response.model_name";
    /// Provider host.
    pub const LLM_PROVIDER: &str = "llm.provider";
    /// Model family.
    pub const LLM_SYSTEM: &str = "llm.system";
    /// Prompt tokens, cache-inclusive.
    pub const TOKEN_COUNT_PROMPT: &str = "llm.token_count.prompt";
    /// Completion tokens.
    pub const TOKEN_COUNT_COMPLETION: &str = "llm.token_count.completion";
    /// Cache reads.
    pub const TOKEN_COUNT_CACHE_READ: &str = "llm.token_count.prompt_details.cache_read";
    /// Cache writes.
    pub const TOKEN_COUNT_CACHE_WRITE: &str = "llm.token_count.prompt_details.cache_write";
    /// Reasoning tokens.
    pub const TOKEN_COUNT_REASONING: &str = "llm.token_count.completion_details.reasoning";
    /// Session id.
    pub const SESSION_ID: &str = "session.id";
    /// User id.
    pub const USER_ID: &str = "user.id";
    /// Agent name.
    pub const AGENT_NAME: &str = "agent.name";
    /// Tool name.
    pub const TOOL_NAME: &str = "tool.name";
    /// Tool call id.
    pub const TOOL_CALL_ID: &str = "tool_call.id";
    /// Model of an embedding span.
    pub const EMBEDDING_MODEL_NAME: &str = "embedding.model_name";
    /// The version of the prompt template a call used.
    pub const PROMPT_TEMPLATE_VERSION: &str = "llm.prompt_template.version";
    /// Free-form metadata, a JSON object as a string (LangChain run metadata, LangGraph's
    /// `langgraph_node`, …).
    pub const METADATA: &str = "metadata";
    /// The id of the span's node in the execution graph (CrewAI: the agent's role).
    pub const GRAPH_NODE_ID: &str = "graph.node.id";
}

/// OpenLLMetry / Traceloop.
pub mod traceloop {
    /// Span kind: `workflow`, `task`, `agent`, `tool`, `unknown`.
    pub const SPAN_KIND: &str = "traceloop.span.kind";
    /// Entity name (agent or tool name by span kind).
    pub const ENTITY_NAME: &str = "traceloop.entity.name";
    /// Workflow name.
    pub const WORKFLOW_NAME: &str = "traceloop.workflow.name";
    /// LLM request type in older versions: `chat`, `completion`, `embedding`, `rerank`.
    pub const LLM_REQUEST_TYPE: &str = "llm.request.type";
    /// Session id association property.
    pub const SESSION_ID: &str = "traceloop.association.properties.session_id";
    /// User id association property.
    pub const USER_ID: &str = "traceloop.association.properties.user_id";
}

/// Vercel AI SDK (`ai.*`).
pub mod vercel_ai {
    /// Span type, e.g. `ai.generateText.doGenerate`.
    pub const OPERATION_ID: &str = "ai.operationId";
    /// Model id.
    pub const MODEL_ID: &str = "ai.model.id";
    /// Provider, e.g. `openai.chat`.
    pub const MODEL_PROVIDER: &str = "ai.model.provider";
    /// Responding model.
    pub const RESPONSE_MODEL: &str = "ai.response.model";
    /// Input tokens (v5+).
    pub const USAGE_INPUT_TOKENS: &str = "ai.usage.inputTokens";
    /// Output tokens (v5+).
    pub const USAGE_OUTPUT_TOKENS: &str = "ai.usage.outputTokens";
    /// Input tokens (v4 and earlier).
    pub const USAGE_PROMPT_TOKENS: &str = "ai.usage.promptTokens";
    /// Output tokens (v4 and earlier).
    pub const USAGE_COMPLETION_TOKENS: &str = "ai.usage.completionTokens";
    /// Cached input tokens (v5+).
    pub const USAGE_CACHED_INPUT_TOKENS: &str = "ai.usage.cachedInputTokens";
    /// Cache reads (v6).
    pub const USAGE_CACHE_READ_TOKENS: &str = "ai.usage.inputTokenDetails.cacheReadTokens";
    /// Cache writes (v6).
    pub const USAGE_CACHE_WRITE_TOKENS: &str = "ai.usage.inputTokenDetails.cacheWriteTokens";
    /// Reasoning tokens.
    pub const USAGE_REASONING_TOKENS: &str = "ai.usage.reasoningTokens";
    /// Reasoning tokens (v6).
    pub const USAGE_OUTPUT_REASONING_TOKENS: &str = "ai.usage.outputTokenDetails.reasoningTokens";
    /// Uncached input tokens (v6): input = these + cache reads + cache writes.
    pub const USAGE_NO_CACHE_TOKENS: &str = "ai.usage.inputTokenDetails.noCacheTokens";
    /// Input tokens of an embedding (`ai.embed`, `ai.embedMany` and their `doEmbed`: the
    /// only usage name they carry through v6).
    pub const USAGE_TOKENS: &str = "ai.usage.tokens";
    /// The application's name for the call (`experimental_telemetry.functionId`): the agent
    /// name, as AI SDK 7 itself writes it (`gen_ai.agent.name` on `invoke_agent`).
    pub const FUNCTION_ID: &str = "ai.telemetry.functionId";
    /// Tool name.
    pub const TOOL_CALL_NAME: &str = "ai.toolCall.name";
    /// Tool call id.
    pub const TOOL_CALL_ID: &str = "ai.toolCall.id";
    /// Session id by convention.
    pub const SESSION_ID: &str = "ai.telemetry.metadata.sessionId";
    /// User id by convention.
    pub const USER_ID: &str = "ai.telemetry.metadata.userId";
    /// Session id from AI SDK 7's runtime context (`runtimeContext.sessionId`, exported with
    /// `includeRuntimeContext`).
    pub const CONTEXT_SESSION_ID: &str = "ai.settings.context.sessionId";
    /// User id from AI SDK 7's runtime context.
    pub const CONTEXT_USER_ID: &str = "ai.settings.context.userId";
    /// AI SDK 7's instrumentation scope (`@ai-sdk/otel`), whose spans carry OTel GenAI names.
    pub const SCOPE_V7: &str = "gen_ai";
}

/// PydanticAI's own usage names, beside the OTel GenAI ones it writes: the provider's usage
/// details under `gen_ai.usage.details.*`.
pub mod pydantic_ai {
    /// Reasoning tokens (subset of output).
    pub const USAGE_DETAILS_REASONING_TOKENS: &str = "gen_ai.usage.details.reasoning_tokens";
    /// Cache reads (subset of input).
    pub const USAGE_DETAILS_CACHE_READ_TOKENS: &str = "gen_ai.usage.details.cache_read_tokens";
    /// Cache writes (subset of input).
    pub const USAGE_DETAILS_CACHE_WRITE_TOKENS: &str = "gen_ai.usage.details.cache_write_tokens";
}

/// OpenLIT's scopes and the attributes its rules read (it otherwise writes OTel GenAI names).
pub mod openlit {
    /// Instrumentation scope of OpenLIT's `@openlit.trace` function spans; its instrumentors'
    /// scopes are `openlit.instrumentation.{library}`.
    pub const SCOPE: &str = "openlit";
    /// Scope of OpenLIT's OpenAI instrumentor.
    pub const OPENAI_SCOPE: &str = "openlit.instrumentation.openai";
    /// Whether the request streamed.
    pub const REQUEST_STREAM: &str = "gen_ai.request.stream";
    /// The positional arguments of a function span, as Python's `str(args)`.
    pub const FUNCTION_ARGS: &str = "function.args";
}

/// Langfuse OTLP attributes.
pub mod langfuse {
    /// Observation type: `generation`, `agent`, `tool`, `chain`, `retriever`, `embedding`,
    /// `guardrail`, `evaluator`, `span`, `event`.
    pub const OBSERVATION_TYPE: &str = "langfuse.observation.type";
    /// Model name.
    pub const MODEL_NAME: &str = "langfuse.observation.model.name";
    /// Session id.
    pub const SESSION_ID: &str = "langfuse.session.id";
    /// User id.
    pub const USER_ID: &str = "langfuse.user.id";
    /// Observation level: `DEBUG`, `DEFAULT`, `WARNING`, `ERROR`.
    pub const OBSERVATION_LEVEL: &str = "langfuse.observation.level";
    /// Status message of the observation (the error, at level `ERROR`).
    pub const OBSERVATION_STATUS_MESSAGE: &str = "langfuse.observation.status_message";
    /// Token usage as a JSON object of disjoint parts that Langfuse sums: `input` (uncached),
    /// `input_cached_tokens`, `input_cache_creation`, `output` (without reasoning),
    /// `output_reasoning_tokens`, `total`, …
    pub const USAGE_DETAILS: &str = "langfuse.observation.usage_details";
    /// The cost the integration reported, a JSON object of USD parts (`input`, `output`,
    /// `total`, …).
    pub const COST_DETAILS: &str = "langfuse.observation.cost_details";
    /// The trace's tags, a string array.
    pub const TRACE_TAGS: &str = "langfuse.trace.tags";
    /// The name of the managed prompt a generation used.
    pub const PROMPT_NAME: &str = "langfuse.observation.prompt.name";
    /// Its version (an integer).
    pub const PROMPT_VERSION: &str = "langfuse.observation.prompt.version";
}

/// The Model Context Protocol's spans (OTel GenAI conventions, `mcp.client` and `mcp.server`;
/// docs/conventions.md, "MCP").
pub mod mcp {
    /// The JSON-RPC method: `tools/call`, `resources/read`, `prompts/get`, `tools/list`, …
    pub const METHOD_NAME: &str = "mcp.method.name";
    /// The session (a `Mcp-Session-Id`; none from the 2026-07-28 revision on).
    pub const SESSION_ID: &str = "mcp.session.id";
    /// The protocol revision, e.g. `2025-06-18`, `2026-07-28`.
    pub const PROTOCOL_VERSION: &str = "mcp.protocol.version";
    /// The resource a `resources/read` reads.
    pub const RESOURCE_URI: &str = "mcp.resource.uri";
    /// The prompt a `prompts/get` gets.
    pub const PROMPT_NAME: &str = "gen_ai.prompt.name";
    /// The JSON-RPC request id, as a string.
    pub const JSONRPC_REQUEST_ID: &str = "jsonrpc.request.id";
    /// The JSON-RPC error code of the answer, as a string (`-32602`).
    pub const RPC_RESPONSE_STATUS_CODE: &str = "rpc.response.status_code";
    /// `error.type` of a tool call whose result says `isError`: the tool failed, the protocol
    /// did not.
    pub const TOOL_ERROR: &str = "tool_error";
    /// The method of a tool call.
    pub const TOOLS_CALL: &str = "tools/call";
    /// Instrumentation scope of OpenLLMetry's MCP instrumentation
    /// (`opentelemetry-instrumentation-mcp`), or the start of it (`….instrumentation`).
    pub const TRACELOOP_SCOPE: &str = "opentelemetry.instrumentation.mcp";
    /// OpenLLMetry's span of a message written by an MCP transport.
    pub const TRACELOOP_WRITER: &str = "ResponseStreamWriter";
    /// On it: the result a server's transport wrote (JSON), which makes it the server's side.
    pub const TRACELOOP_RESPONSE: &str = "mcp.response.value";
    /// The MCP Python SDK's (2.x) own client spans are named `MCP send {method} {target}`.
    pub const SDK_CLIENT_PREFIX: &str = "MCP send ";
}

/// General OpenTelemetry names and the `tracing-opentelemetry` field conventions.
pub mod otel {
    /// Overrides the span name (`tracing` span names are static).
    pub const NAME: &str = "otel.name";
    /// OpenTelemetry span kind: `client`, `server`, `internal`, `producer`, `consumer`.
    pub const KIND: &str = "otel.kind";
    /// Status code: `OK` or `ERROR`.
    pub const STATUS_CODE: &str = "otel.status_code";
    /// Status message.
    pub const STATUS_MESSAGE: &str = "otel.status_message";
    /// End-user id (general OTel).
    pub const ENDUSER_ID: &str = "enduser.id";
    /// Service name resource attribute.
    pub const SERVICE_NAME: &str = "service.name";
    /// Service instance resource attribute.
    pub const SERVICE_INSTANCE_ID: &str = "service.instance.id";
    /// Version of the instrumentation scope, on records of formats without scopes.
    pub const SCOPE_VERSION: &str = "otel.scope.version";
    /// Event name of a log record, before log records had a field for it.
    pub const EVENT_NAME: &str = "event.name";
    /// Name of the span event recording an exception.
    pub const EXCEPTION_EVENT: &str = "exception";
    /// Exception type, on an exception event.
    pub const EXCEPTION_TYPE: &str = "exception.type";
    /// Exception message, on an exception event.
    pub const EXCEPTION_MESSAGE: &str = "exception.message";
    /// The server a client called (host name or address).
    pub const SERVER_ADDRESS: &str = "server.address";
    /// Its port.
    pub const SERVER_PORT: &str = "server.port";
}

/// agentrace's own field names, for what no convention covers.
pub mod agentrace {
    /// Explicit span kind (`agent`, `llm`, `tool`, …); wins over inference.
    pub const KIND: &str = "agentrace.kind";
    /// Event type on a `tracing` event (`agent.start`, …, or a custom dotted name).
    pub const EVENT: &str = "agentrace.event";
    /// Event level beyond `tracing`'s: `SUCCESS`, `CRITICAL`.
    pub const LEVEL: &str = "agentrace.level";
    /// Agent framework (`rig`, `langgraph`, `crewai`, …).
    pub const FRAMEWORK: &str = "agentrace.framework";
    /// Who judged a `gen_ai.evaluation.result` (`llm`, `code`, `human`), which the convention
    /// does not say.
    pub const EVALUATION_ANNOTATOR_KIND: &str = "agentrace.evaluation.annotator_kind";
    /// The prompt a call used, by name (and version: `support-answer@3`), where no dialect of
    /// the instrumentation names it.
    pub const PROMPT: &str = "agentrace.prompt";
    /// On a judge's spans: the evaluator rule it judged for.
    pub const EVALUATION_RULE: &str = "agentrace.evaluation.rule";
    /// On a judge's spans: the judge (a `[[judge]]` of the evaluators file).
    pub const EVALUATION_JUDGE: &str = "agentrace.evaluation.judge";
    /// On a judge's spans: what it judged (`t<trace id>`, `s<span id><trace id>`).
    pub const EVALUATION_TARGET: &str = "agentrace.evaluation.target";
    /// Correlation id, inherited by descendants and events.
    pub const CORRELATION_ID: &str = "agentrace.correlation_id";
    /// Session id (same meaning as `session.id`).
    pub const SESSION_ID: &str = "agentrace.session_id";
    /// `true` on a span of a Batch API call: it is priced at the model's batch rates.
    pub const BATCH: &str = "agentrace.batch";
    /// Cache writes with a one-hour lifetime (subset of the cache writes; Anthropic's
    /// `cache_creation.ephemeral_1h_input_tokens`).
    pub const USAGE_CACHE_WRITE_1H_TOKENS: &str = "agentrace.usage.cache_write_1h.input_tokens";
    /// Total cost of the call in USD, on exported spans (OpenLIT's `gen_ai.usage.cost`, which
    /// Langfuse and OpenLIT read).
    pub const COST_TOTAL: &str = "gen_ai.usage.cost";
    /// The cost in USD the instrumentation itself reported for the call (Langfuse's
    /// `cost_details`), kept beside agentrace's own price and never added to it.
    pub const COST_REPORTED: &str = "agentrace.cost.reported";
    /// Cost of the uncached input tokens, USD.
    pub const COST_INPUT: &str = "agentrace.cost.input";
    /// Cost of the input tokens read from cache, USD.
    pub const COST_CACHE_READ: &str = "agentrace.cost.cache_read";
    /// Cost of the input tokens written to cache, USD.
    pub const COST_CACHE_WRITE: &str = "agentrace.cost.cache_write";
    /// Cost of the output tokens (reasoning included), USD.
    pub const COST_OUTPUT: &str = "agentrace.cost.output";
    /// The `tracing` field holding an event's message.
    pub const MESSAGE: &str = "message";
    /// `true` on a span that repeats what is reported beneath it: usage summing its steps'
    /// (an AI SDK `ai.generateText`, an `invoke_agent` with run totals) or a call wrapping a
    /// call (a framework's LLM span around an instrumented client's). It counts in no total,
    /// call count, rollup, metric or budget; its own counts are kept as
    /// `agentrace.aggregate.*_tokens`. See [`crate::normalize::mark_aggregate`].
    pub const AGGREGATE: &str = "agentrace.aggregate";
    /// How many string values of an ingested record were truncated at the ingest limit.
    pub const INGEST_TRUNCATED: &str = "agentrace.ingest.truncated";
    /// `true` on a span whose parent was still missing when the server's grace period ended.
    pub const ORPHAN: &str = "agentrace.orphan";
    /// On an MCP span: which side reported it, `client` (the caller) or `server` (the MCP
    /// server's handler). See docs/conventions.md, "MCP".
    pub const MCP_SIDE: &str = "agentrace.mcp.side";
    /// On an MCP span: the MCP server it went to (the server side: its service; the client
    /// side: the server's address when it has one).
    pub const MCP_SERVER: &str = "agentrace.mcp.server";
    /// `true` on a framework's tool span around an MCP client's call of the same tool: the
    /// same call, counted once as the client's (the span became a `chain`).
    pub const MCP_WRAPPER: &str = "agentrace.mcp.wrapper";
    /// `true` on a detached root that the server re-attached to the span containing it in time
    /// (the emitter did not report that link).
    pub const REATTACHED: &str = "agentrace.reattached";
}
