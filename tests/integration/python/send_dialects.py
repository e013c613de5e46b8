"""Sends one agent run per GenAI telemetry dialect with the real OpenTelemetry Python SDK.

Usage: send_dialects.py --endpoint URL --protocol grpc|http/protobuf [--service NAME]

Each run is a trace: an agent span, an LLM span carrying the dialect's attribute names
(usage with cache, provider, model, session, user) and a tool span, one of which fails. The
spans go through the SDK's BatchSpanProcessor and OTLP exporter, exactly as an application's
would. On success it prints one JSON object on stdout: for each dialect its trace id and the
values the server should normalize its LLM span to, for the test to compare with the API.
"""

import argparse
import json
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from otlp import exporter

# (dialect, agent span attributes, llm span name, llm attributes, tool attributes, expected)
DIALECTS = [
    (
        "genai_current",
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
        "chat gpt-4o",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 1200,
            "gen_ai.usage.output_tokens": 300,
            "gen_ai.usage.cache_read.input_tokens": 200,
            "gen_ai.conversation.id": "session-genai",
            "user.id": "user-genai",
        },
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "web_search"},
        {
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": 1200,
            "output_tokens": 300,
            "cache_read_tokens": 200,
            "session": "session-genai",
            "user": "user-genai",
            "agent": "planner",
            "tool": "web_search",
        },
    ),
    (
        "genai_legacy",
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "writer"},
        "chat claude-sonnet-4-5",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.prompt_tokens": 2400,
            "gen_ai.usage.completion_tokens": 610,
            "gen_ai.conversation.id": "session-legacy",
        },
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "read_file"},
        {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "input_tokens": 2400,
            "output_tokens": 610,
            "cache_read_tokens": 0,
            "session": "session-legacy",
            "user": None,
            "agent": "writer",
            "tool": "read_file",
        },
    ),
    (
        "openinference",
        {"openinference.span.kind": "AGENT", "agent.name": "researcher"},
        "ChatOpenAI",
        {
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 5200,
            "llm.token_count.completion": 900,
            "llm.token_count.prompt_details.cache_read": 4096,
            "session.id": "session-oi",
            "user.id": "user-oi",
        },
        {"openinference.span.kind": "TOOL", "tool.name": "fetch_url"},
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "input_tokens": 5200,
            "output_tokens": 900,
            "cache_read_tokens": 4096,
            "session": "session-oi",
            "user": "user-oi",
            "agent": "researcher",
            "tool": "fetch_url",
        },
    ),
    (
        "openllmetry",
        {"traceloop.span.kind": "agent", "traceloop.entity.name": "coder"},
        "openai.chat",
        {
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "o4-mini",
            "gen_ai.usage.prompt_tokens": 3100,
            "gen_ai.usage.completion_tokens": 2200,
            "traceloop.association.properties.session_id": "session-tl",
            "traceloop.association.properties.user_id": "user-tl",
        },
        {"traceloop.span.kind": "tool", "traceloop.entity.name": "run_tests"},
        {
            "provider": "openai",
            "model": "o4-mini",
            "input_tokens": 3100,
            "output_tokens": 2200,
            "cache_read_tokens": 0,
            "session": "session-tl",
            "user": "user-tl",
            "agent": "coder",
            "tool": "run_tests",
        },
    ),
]



def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--protocol", required=True, choices=["grpc", "http/protobuf"])
    parser.add_argument("--service", default="python-agents")
    args = parser.parse_args()

    provider = TracerProvider(resource=Resource.create({"service.name": args.service}))
    provider.add_span_processor(BatchSpanProcessor(exporter("trace", args.protocol, args.endpoint)))
    tracer = provider.get_tracer("agentrace-integration")

    sent = {}
    for i, (dialect, agent_attrs, llm_name, llm_attrs, tool_attrs, expected) in enumerate(DIALECTS):
        agent_name = expected["agent"]
        with tracer.start_as_current_span(f"invoke_agent {agent_name}", attributes=agent_attrs) as agent:
            with tracer.start_as_current_span(llm_name, kind=SpanKind.CLIENT, attributes=llm_attrs):
                pass
            with tracer.start_as_current_span(f"execute_tool {expected['tool']}", attributes=tool_attrs) as tool:
                if i % 2 == 1:
                    tool.set_status(Status(StatusCode.ERROR, f"{expected['tool']} failed"))
            sent[dialect] = dict(expected, trace_id=format(agent.get_span_context().trace_id, "032x"),
                                 tool_failed=(i % 2 == 1))

    if not provider.force_flush(30_000):
        print("force_flush timed out", file=sys.stderr)
        sys.exit(1)
    provider.shutdown()
    print(json.dumps(sent))


if __name__ == "__main__":
    main()
