"""Sends agent runs as an application instrumented with OTel GenAI does, through the real
OpenTelemetry Python SDK's BatchSpanProcessor with a short schedule delay: the LLM and tool
calls end, and are exported, in earlier requests than the agent span that names the agent,
the session and the user.

Usage: send_agent_runs.py --endpoint URL --protocol grpc|http/protobuf [--service NAME]

Each run: `invoke_agent planner` (agent, conversation id, user id) with a chat call, a tool
call, and a delegation to `invoke_agent researcher` (its own agent name only) with a chat call
and a failing tool call; then a last chat call of the planner. Only the agent spans carry the
agent, session and user, as with the OTel GenAI instrumentations. On success it prints one
JSON object: the service, and for each call span its trace id and the agent, session and user
the server should attribute it to.
"""

import argparse
import json
import sys
import time

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from otlp import exporter

# Long enough for the batch processor (50 ms schedule delay) to export what ended before.
PAUSE = 0.15


def chat(tracer, model, tokens):
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": tokens,
        "gen_ai.usage.output_tokens": tokens // 10,
    }
    with tracer.start_as_current_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes) as span:
        pass
    time.sleep(PAUSE)
    return span


def tool(tracer, name, fails=False):
    attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
    with tracer.start_as_current_span(f"execute_tool {name}", attributes=attributes) as span:
        if fails:
            span.set_status(Status(StatusCode.ERROR, f"{name} timed out"))
    time.sleep(PAUSE)
    return span


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--protocol", required=True)
    parser.add_argument("--service", default="python-agents")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    provider = TracerProvider(resource=Resource.create({"service.name": args.service}))
    # The default BatchSpanProcessor, with a short schedule delay so that a run spans several
    # exports (the default, 5 s, would do the same for runs longer than 5 s).
    provider.add_span_processor(
        BatchSpanProcessor(exporter("trace", args.protocol, args.endpoint), schedule_delay_millis=50)
    )
    tracer = provider.get_tracer("agentrace-integration-agents")

    calls = []
    for run in range(args.runs):
        session, user = f"conversation-{run}", f"user-{run % 2}"
        planner_attrs = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "planner",
            "gen_ai.conversation.id": session,
            "user.id": user,
        }
        with tracer.start_as_current_span("invoke_agent planner", attributes=planner_attrs) as planner:
            trace_id = format(planner.get_span_context().trace_id, "032x")
            mine = [chat(tracer, "gpt-4o", 1000 + run), tool(tracer, "web_search")]
            researcher_attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "researcher"}
            with tracer.start_as_current_span("invoke_agent researcher", attributes=researcher_attrs):
                theirs = [chat(tracer, "gpt-4o-mini", 2000 + run), tool(tracer, "fetch_url", fails=True)]
            time.sleep(PAUSE)
            mine.append(chat(tracer, "gpt-4o", 3000 + run))
        for agent, spans in (("planner", mine), ("researcher", theirs)):
            for span in spans:
                calls.append(
                    {
                        "trace_id": trace_id,
                        "span_id": format(span.get_span_context().span_id, "016x"),
                        "name": span.name,
                        "agent": agent,
                        "session": session,
                        "user": user,
                    }
                )

    if not provider.force_flush(30_000):
        print("force_flush timed out", file=sys.stderr)
        sys.exit(1)
    provider.shutdown()
    print(json.dumps({"service": args.service, "calls": calls}))


if __name__ == "__main__":
    main()
