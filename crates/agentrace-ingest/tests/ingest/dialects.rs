//! One fixture per dialect: an agent span, LLM spans with usage (cache included), a tool span
//! that failed, session and user. Every typed field is checked, and every raw attribute kept.

use agentrace_core::{AttributeValue, SpanKind, StatusCode, TokenUsage};

use crate::common::{
    Fields, TestResult, assert_raw_attributes_kept, fields, ingest_fixture, named, usage,
};

#[test]
fn otel_genai_current_names() -> TestResult {
    let spans = ingest_fixture("otel_current.json")?;
    assert_eq!(spans.len(), 4);
    let inherited = Fields {
        session_id: Some("conv_42"),
        user_id: Some("user_9"),
        agent_name: Some("researcher"),
        agent_id: Some("asst_7"),
        framework: Some("openai-agents"),
        ..Fields::default()
    };
    assert_eq!(
        fields(named(&spans, "invoke_agent researcher")),
        Fields {
            kind: SpanKind::Agent,
            provider: Some("openai"),
            // The run's totals on the agent span repeat its calls': an aggregate, its numbers
            // kept as attributes, counted nowhere.
            aggregate: true,
            ..inherited.clone()
        }
    );
    assert_eq!(
        named(&spans, "invoke_agent researcher")
            .attributes
            .get("agentrace.aggregate.input_tokens"),
        Some(&AttributeValue::I64(2_400))
    );
    assert_eq!(
        fields(named(&spans, "chat gpt-4o")),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("openai"),
            request_model: Some("gpt-4o"),
            response_model: Some("gpt-4o-2024-08-06"),
            usage: usage(1_200, 340, 1_000, 0, Some(12)),
            billable: true,
            ..inherited.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "execute_tool web_search")),
        Fields {
            kind: SpanKind::Tool,
            // Named by the span name: `execute_tool {gen_ai.tool.name}`.
            tool_name: Some("web_search"),
            tool_call_id: Some("call_1"),
            error: Some("TimeoutError: search timed out after 3s"),
            ..inherited.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "chat claude-sonnet-4-5")),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("anthropic"),
            request_model: Some("claude-sonnet-4-5"),
            response_model: Some("claude-sonnet-4-5-20250929"),
            usage: usage(1_200, 90, 200, 800, None),
            billable: true,
            ..inherited
        }
    );
    let chat = named(&spans, "chat gpt-4o");
    assert_eq!(chat.resource.service_name, "research-agent");
    assert_eq!(
        chat.resource.attributes.get("service.version"),
        Some(&AttributeValue::from("2.3.0"))
    );
    assert!(chat.resource.attributes.get("service.name").is_none());
    // One resource, shared.
    assert!(
        spans
            .iter()
            .all(|s| std::sync::Arc::ptr_eq(&s.resource, &chat.resource))
    );
    assert_eq!(
        chat.scope.as_deref(),
        Some("opentelemetry.instrumentation.openai_agents")
    );
    assert_eq!(chat.operation.as_deref(), Some("chat"));
    assert_eq!(
        chat.parent_span_id.map(|p| p.to_string()).as_deref(),
        Some("eee19b7ec3c1b174")
    );
    assert_eq!(
        chat.trace_id.to_string(),
        "5b8efff798038103d269b633813fc60c"
    );
    assert_eq!(
        (chat.start_time_unix_nano, chat.end_time_unix_nano),
        (1_760_000_000_100_000_000, 1_760_000_002_100_000_000)
    );
    assert_eq!(chat.cost, None, "priced later by the pipeline");
    assert_eq!(chat.attributes.get("otel.kind"), Some(&"client".into()));
    assert_eq!(
        chat.attributes.get("otel.scope.version"),
        Some(&"0.2.0".into())
    );
    let root = named(&spans, "invoke_agent researcher");
    assert_eq!(root.status.code, StatusCode::Ok);
    assert_eq!(root.parent_span_id, None);
    let tool = named(&spans, "execute_tool web_search");
    assert_eq!(tool.events.len(), 1);
    assert_eq!(tool.events[0].name, "exception");
    assert_eq!(tool.events[0].time_unix_nano, 1_760_000_005_200_000_000);
    assert_eq!(
        tool.events[0].attributes.get("exception.type"),
        Some(&"TimeoutError".into())
    );
    // Bytes travel as base64 text.
    assert_eq!(
        named(&spans, "chat claude-sonnet-4-5")
            .attributes
            .get("anthropic.request.metadata"),
        Some(&"AAFvcGFxdWU=".into())
    );
    assert_raw_attributes_kept("otel_current.json", &spans)
}

#[test]
fn otel_genai_legacy_names() -> TestResult {
    let spans = ingest_fixture("otel_legacy.json")?;
    let inherited = Fields {
        session_id: Some("thread_8"),
        user_id: Some("cust_12"),
        agent_name: Some("planner"),
        ..Fields::default()
    };
    assert_eq!(
        fields(named(&spans, "invoke_agent planner")),
        Fields {
            kind: SpanKind::Agent,
            provider: Some("azure.ai.openai"),
            ..inherited.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "chat gpt-4o-mini")),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("azure.ai.openai"),
            request_model: Some("gpt-4o-mini"),
            response_model: Some("gpt-4o-mini-2024-07-18"),
            usage: usage(500, 80, 0, 0, None),
            billable: true,
            ..inherited.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "chat claude-3-5-haiku")),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("anthropic"),
            request_model: Some("claude-3-5-haiku-20241022"),
            // Input reported without its cache (20 < 3,000 + 400): the cache is added.
            usage: usage(3_420, 60, 3_000, 400, None),
            billable: true,
            ..inherited.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "text_completion gemini-2.5-flash")),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("gcp.vertex_ai"),
            request_model: Some("gemini-2.5-flash"),
            usage: usage(300, 40, 0, 0, None),
            billable: true,
            ..inherited.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "execute_tool lookup_order")),
        Fields {
            kind: SpanKind::Tool,
            tool_name: Some("lookup_order"),
            tool_call_id: Some("call_77"),
            // The status message wins over the exception event.
            error: Some("order 991 not found"),
            ..inherited
        }
    );
    assert_eq!(
        named(&spans, "chat gpt-4o-mini")
            .resource
            .attributes
            .get("service.instance.id"),
        Some(&"pod-3".into())
    );
    assert_raw_attributes_kept("otel_legacy.json", &spans)
}

#[test]
fn openinference() -> TestResult {
    let spans = ingest_fixture("openinference.json")?;
    let session = Fields {
        session_id: Some("th-5"),
        user_id: Some("alice"),
        framework: Some("langgraph"),
        ..Fields::default()
    };
    let in_agent = Fields {
        agent_name: Some("research_agent"),
        ..session.clone()
    };
    assert_eq!(
        fields(named(&spans, "LangGraph")),
        Fields {
            kind: SpanKind::Chain,
            ..session.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "research_agent")),
        Fields {
            kind: SpanKind::Agent,
            ..in_agent.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "ChatAnthropic")),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("anthropic"),
            request_model: Some("claude-sonnet-4-5-20250929"),
            response_model: Some("claude-sonnet-4-5-20250929"),
            usage: usage(1_500, 200, 1_000, 300, Some(50)),
            billable: true,
            ..in_agent.clone()
        }
    );
    // LangChain's span around the OpenAI call reports the same tokens as the OpenAI
    // instrumentor's span beneath it: only the leaf counts; the wrapper keeps its numbers as
    // `agentrace.aggregate.*` attributes, out of every total.
    let openai = Fields {
        kind: SpanKind::Llm,
        provider: Some("openai"),
        request_model: Some("gpt-4o-mini-2024-07-18"),
        response_model: Some("gpt-4o-mini-2024-07-18"),
        usage: usage(800, 100, 512, 0, None),
        ..in_agent.clone()
    };
    assert_eq!(
        fields(named(&spans, "ChatOpenAI")),
        Fields {
            aggregate: true,
            usage: TokenUsage::default(),
            ..openai.clone()
        }
    );
    let wrapper = named(&spans, "ChatOpenAI");
    for (name, n) in [
        ("agentrace.aggregate.input_tokens", 800),
        ("agentrace.aggregate.output_tokens", 100),
        ("agentrace.aggregate.cache_read_tokens", 512),
    ] {
        assert_eq!(
            wrapper.attributes.get(name),
            Some(&AttributeValue::I64(n)),
            "{name}"
        );
    }
    assert_eq!(
        fields(named(&spans, "ChatCompletion")),
        Fields {
            billable: true,
            ..openai
        }
    );
    assert_eq!(
        fields(named(&spans, "tavily_search")),
        Fields {
            kind: SpanKind::Tool,
            tool_name: Some("tavily_search"),
            error: Some("HTTPError: 502 Bad Gateway"),
            ..in_agent
        }
    );
    // A reported cost stays raw: agentrace prices from the tokens.
    let anthropic = named(&spans, "ChatAnthropic");
    assert_eq!(anthropic.cost, None);
    assert_eq!(
        anthropic.attributes.get("llm.cost.total"),
        Some(&AttributeValue::F64(0.0089))
    );
    assert_eq!(
        named(&spans, "ChatCompletion").scope.as_deref(),
        Some("openinference.instrumentation.openai")
    );
    assert_raw_attributes_kept("openinference.json", &spans)
}

#[test]
fn openllmetry_traceloop() -> TestResult {
    let spans = ingest_fixture("traceloop.json")?;
    let session = Fields {
        session_id: Some("s-77"),
        user_id: Some("u-77"),
        ..Fields::default()
    };
    let in_agent = Fields {
        agent_name: Some("triage"),
        ..session.clone()
    };
    assert_eq!(
        fields(named(&spans, "support_flow.workflow")),
        Fields {
            kind: SpanKind::Workflow,
            ..session.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "triage.agent")),
        Fields {
            kind: SpanKind::Agent,
            ..in_agent.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "openai.chat")),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("openai"),
            request_model: Some("gpt-4.1"),
            response_model: Some("gpt-4.1-2025-04-14"),
            usage: usage(2_000, 150, 1_500, 0, None),
            billable: true,
            ..in_agent.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "anthropic.chat")),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("anthropic"),
            request_model: Some("claude-3-7-sonnet-20250219"),
            // Pre-0.5 names; the input already includes the cache, so it is kept.
            usage: usage(4_625, 300, 4_000, 600, None),
            billable: true,
            ..in_agent.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "lookup_order.tool")),
        Fields {
            kind: SpanKind::Tool,
            // No entity name: the `{entity}.tool` span name names it.
            tool_name: Some("lookup_order"),
            error: Some("ConnectionError: orders db unreachable"),
            ..in_agent
        }
    );
    assert_raw_attributes_kept("traceloop.json", &spans)
}

#[test]
fn vercel_ai_sdk() -> TestResult {
    let spans = ingest_fixture("vercel.json")?;
    let session = Fields {
        session_id: Some("chat-123"),
        user_id: Some("user-5"),
        // `ai.telemetry.functionId` names the agent (AI SDK 7 writes it as `gen_ai.agent.name`).
        agent_name: Some("support-agent"),
        framework: Some("vercel-ai"),
        ..Fields::default()
    };
    assert_eq!(
        fields(named(&spans, "ai.generateText")),
        Fields {
            // The enclosing run of model calls and tools: an agent (as AI SDK 7 calls it),
            // its usage totals an aggregate's, counted nowhere.
            kind: SpanKind::Agent,
            provider: Some("openai"),
            request_model: Some("gpt-4o"),
            aggregate: true,
            ..session.clone()
        }
    );
    let calls: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "ai.generateText.doGenerate")
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        fields(calls[0]),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("openai"),
            request_model: Some("gpt-4o"),
            response_model: Some("gpt-4o-2024-08-06"),
            usage: usage(1_800, 250, 1_024, 0, None),
            billable: true,
            ..session.clone()
        }
    );
    assert_eq!(
        fields(calls[1]),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("anthropic"),
            request_model: Some("claude-haiku-4-5"),
            // AI SDK 6 details: input = no-cache 200 + reads 900 + writes 100.
            usage: usage(1_200, 150, 900, 100, Some(40)),
            billable: true,
            ..session.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "ai.toolCall")),
        Fields {
            kind: SpanKind::Tool,
            tool_name: Some("getWeather"),
            tool_call_id: Some("call_abc"),
            error: Some("weather API rate limited"),
            ..session
        }
    );
    assert_raw_attributes_kept("vercel.json", &spans)
}

#[test]
fn langfuse() -> TestResult {
    let spans = ingest_fixture("langfuse.json")?;
    let in_agent = Fields {
        session_id: Some("lf-sess-1"),
        user_id: Some("lf-user-1"),
        agent_name: Some("support-agent"),
        ..Fields::default()
    };
    assert_eq!(
        fields(named(&spans, "support-agent")),
        Fields {
            kind: SpanKind::Agent,
            ..in_agent.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "answer")),
        Fields {
            kind: SpanKind::Llm,
            request_model: Some("gpt-4o"),
            // usage_details are disjoint parts: input 300 + cached 700, output 120 + reasoning 30.
            usage: usage(1_000, 150, 700, 0, Some(30)),
            billable: true,
            ..in_agent.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "kb_search")),
        Fields {
            kind: SpanKind::Tool,
            tool_name: Some("kb_search"),
            // Level ERROR makes the error.
            error: Some("index unavailable"),
            ..in_agent.clone()
        }
    );
    assert_eq!(
        fields(named(&spans, "summarize")),
        Fields {
            kind: SpanKind::Llm,
            provider: Some("openai"),
            // Every other dialect outranks Langfuse: the OTel model and usage win.
            request_model: Some("gpt-4o-mini"),
            usage: usage(500, 50, 0, 0, None),
            billable: true,
            ..in_agent
        }
    );
    assert_raw_attributes_kept("langfuse.json", &spans)
}
