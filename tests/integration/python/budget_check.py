"""A Python agent that stops before it spends: it asks `agentrace serve` before each model call.

The part between the snippet markers is the example of docs/budgets.md ("Budgets for remote
agents"), checked to be identical by tests/integration/tests/budget_check.rs, which runs this
script against a real server with a budgets file. The model is simulated (no paid API): each
call reports the usage a real one would, and the OpenTelemetry SDK exports its span.

Prints one JSON report: each call's verdict as the server gave it.
"""

import argparse
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# --- snippet: docs/budgets.md ---
import json
import os
import urllib.request

AGENTRACE = os.environ.get("AGENTRACE_URL", "http://127.0.0.1:4319")
TOKEN = os.environ.get("AGENTRACE_API_TOKEN")


class BudgetExceeded(Exception):
    pass


def check_budget(span, **call):
    """Asks agentrace whether this call fits its budgets. The estimate is held against them
    until `span` arrives at the server, which settles it with the call's actual cost."""
    span_id = format(span.get_span_context().span_id, "016x")
    headers = {"Content-Type": "application/json"}
    if TOKEN:
        headers["Authorization"] = f"Bearer {TOKEN}"
    request = urllib.request.Request(
        f"{AGENTRACE}/api/v1/budgets/check",
        data=json.dumps({**call, "span_id": span_id}).encode(),
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        verdict = json.load(answer)
    if not verdict["allowed"]:
        span.set_attribute("error.type", "budget_exceeded")
        raise BudgetExceeded(verdict["exceeded"])
    return verdict


# In the agent, around each model call:
#
#     with tracer.start_as_current_span("chat gpt-4o") as span:
#         span.set_attribute("gen_ai.operation.name", "chat")
#         span.set_attribute("gen_ai.request.model", "gpt-4o")
#         check_budget(span, session=session_id, agent="planner", model="gpt-4o",
#                      prompt=prompt, max_output_tokens=500)
#         response = client.chat.completions.create(model="gpt-4o", messages=messages)
#         span.set_attribute("gen_ai.usage.input_tokens", response.usage.prompt_tokens)
#         span.set_attribute("gen_ai.usage.output_tokens", response.usage.completion_tokens)
# --- end of snippet ---


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True, help="OTLP/HTTP base URL")
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--session", default="budget-session")
    parser.add_argument("--agentrace-url", help="the server's app URL (else AGENTRACE_URL)")
    args = parser.parse_args()
    if args.agentrace_url:
        global AGENTRACE
        AGENTRACE = args.agentrace_url

    provider = TracerProvider(resource=Resource.create({"service.name": "remote-agent"}))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"{args.endpoint}/v1/traces"), schedule_delay_millis=100
        )
    )
    tracer = provider.get_tracer("budget-check")
    prompt = "Summarize the customer's ticket in three sentences. " * 20
    calls = []
    for i in range(args.calls):
        with tracer.start_as_current_span("chat gpt-4o") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.provider.name", "openai")
            span.set_attribute("gen_ai.request.model", "gpt-4o")
            span.set_attribute("gen_ai.conversation.id", args.session)
            span.set_attribute("gen_ai.agent.name", "planner")
            try:
                verdict = check_budget(
                    span,
                    session=args.session,
                    agent="planner",
                    model="gpt-4o",
                    prompt=prompt,
                    max_output_tokens=500,
                )
            except BudgetExceeded as refused:
                calls.append({"call": i, "allowed": False, "exceeded": refused.args[0]})
                continue
            # The simulated model answers with 300 output tokens (less than the allowance).
            span.set_attribute("gen_ai.usage.input_tokens", verdict["estimate"]["input_tokens"])
            span.set_attribute("gen_ai.usage.output_tokens", 300)
            calls.append(
                {
                    "call": i,
                    "allowed": True,
                    "estimate_usd": verdict["estimate_usd"],
                    "remaining": [b["remaining"] for b in verdict["budgets"]],
                }
            )
        # Let the span reach the server before the next check, as a real call's latency would.
        provider.force_flush()
    provider.shutdown()
    json.dump({"calls": calls}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
