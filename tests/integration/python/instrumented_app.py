"""An agent on the `openai` client, traced by a real instrumentation from PyPI, as its users set
it up: one run of a travel agent against a local OpenAI-compatible server, exported over
OTLP/HTTP to agentrace serve.

Usage: instrumented_app.py --instrumentation NAME --endpoint URL --openai-base-url URL
                           [--service NAME] [--pricing FILE]

NAME is one of
  openinference  openinference-instrumentation-openai (Arize Phoenix): the session and user
                 through `using_attributes`, the agent and tool spans with OpenInference kinds
  openllmetry    opentelemetry-instrumentation-openai alone: the agent and tool spans with the
                 OTel GenAI attributes (`invoke_agent`, `execute_tool`)
  traceloop      traceloop-sdk: `Traceloop.init`, the session and user as association
                 properties, `@agent` and `@tool`
  openlit        openlit: `openlit.init`, the session and user through `using_attributes`, the
                 agent span with the OTel GenAI attributes, the tool as an `@openlit.trace`
                 function (OpenLIT's only way to mark one)

Each instrumentation runs in a virtualenv of its own (their pins conflict), made by
scripts/install-test-deps.sh from tests/integration/python/instrumentations/NAME.txt.

The run makes these calls, in this order (the test scripts the server's replies to match):
  chat            gpt-4o-mini, cached input tokens
  reasoning       o3-mini, reasoning output tokens
  stream_usage    gpt-4o-mini streamed with stream_options.include_usage
  stream_bare     gpt-4o-mini streamed without it: no usage reported
  tool_request    gpt-4o-mini asks for get_weather
  (the tool)      get_weather runs
  tool_answer     gpt-4o-mini answers with the tool's result
  embeddings      text-embedding-3-small
It prints one JSON object: the service, the trace id, the session, the user and the agent.
"""

import argparse
import json
import os
import sys

AGENT = "travel_agent"
TOOL = "get_weather"
CHAT_MODEL = "gpt-4o-mini"
REASONING_MODEL = "o3-mini"
EMBEDDING_MODEL = "text-embedding-3-small"


def get_weather(city):
    """The tool: what a weather API would answer."""
    return json.dumps({"city": city, "forecast": "sunny", "celsius": 21})


def run(client, tool):
    """The agent's calls; `tool(city)` runs the tool inside whatever span its
    instrumentation wraps it in."""
    question = [{"role": "user", "content": "What should I pack for Paris?"}]
    client.chat.completions.create(model=CHAT_MODEL, messages=question)
    client.chat.completions.create(model=REASONING_MODEL, messages=question)
    for chunk in client.chat.completions.create(
        model=CHAT_MODEL, messages=question, stream=True, stream_options={"include_usage": True}
    ):
        pass
    for chunk in client.chat.completions.create(model=CHAT_MODEL, messages=question, stream=True):
        pass
    tools = [
        {
            "type": "function",
            "function": {
                "name": TOOL,
                "description": "The weather forecast of a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    asked = client.chat.completions.create(model=CHAT_MODEL, messages=question, tools=tools)
    call = asked.choices[0].message.tool_calls[0]
    result = tool(**json.loads(call.function.arguments))
    client.chat.completions.create(
        model=CHAT_MODEL,
        messages=question
        + [
            {"role": "assistant", "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": result},
        ],
    )
    client.embeddings.create(model=EMBEDDING_MODEL, input=["Paris in spring"])


def current_trace_id():
    from opentelemetry import trace

    return format(trace.get_current_span().get_span_context().trace_id, "032x")


def sdk_provider(service, endpoint):
    """The OpenTelemetry SDK's provider with the default BatchSpanProcessor, set as global."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")))
    trace.set_tracer_provider(provider)
    return provider


def otel_agent_span(tracer, session=None, user=None):
    """An agent span with the OTel GenAI attributes, as an application writes it."""
    attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": AGENT}
    if session is not None:
        attributes["gen_ai.conversation.id"] = session
    if user is not None:
        attributes["user.id"] = user
    return tracer.start_as_current_span(f"invoke_agent {AGENT}", attributes=attributes)


def otel_tool(tracer):
    def tool(city):
        attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": TOOL}
        with tracer.start_as_current_span(f"execute_tool {TOOL}", attributes=attributes):
            return get_weather(city)

    return tool


def with_openinference(args, client_factory, session, user):
    from openinference.instrumentation import using_attributes
    from openinference.instrumentation.openai import OpenAIInstrumentor

    provider = sdk_provider(args.service, args.endpoint)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    tracer = provider.get_tracer("travel-agent")

    def tool(city):
        attributes = {"openinference.span.kind": "TOOL", "tool.name": TOOL}
        with tracer.start_as_current_span(TOOL, attributes=attributes):
            return get_weather(city)

    with using_attributes(session_id=session, user_id=user):
        with tracer.start_as_current_span(AGENT, attributes={"openinference.span.kind": "AGENT"}):
            trace_id = current_trace_id()
            run(client_factory(), tool)
    return provider, trace_id


def with_openllmetry(args, client_factory, session, user):
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    provider = sdk_provider(args.service, args.endpoint)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    tracer = provider.get_tracer("travel-agent")
    with otel_agent_span(tracer, session, user):
        trace_id = current_trace_id()
        run(client_factory(), otel_tool(tracer))
    return provider, trace_id


def with_traceloop(args, client_factory, session, user):
    from opentelemetry import trace
    from traceloop.sdk import Traceloop
    from traceloop.sdk.decorators import agent, tool
    from traceloop.sdk.instruments import Instruments

    Traceloop.init(
        app_name=args.service,
        api_endpoint=args.endpoint,
        telemetry_enabled=False,
        instruments={Instruments.OPENAI},
    )
    Traceloop.set_association_properties({"session_id": session, "user_id": user})

    @tool(name=TOOL)
    def traced_tool(city):
        return get_weather(city)

    @agent(name=AGENT)
    def travel_agent():
        run(client_factory(), traced_tool)
        return current_trace_id()

    trace_id = travel_agent()
    return trace.get_tracer_provider(), trace_id


def with_openlit(args, client_factory, session, user):
    import openlit
    from opentelemetry import trace

    openlit.init(
        application_name=args.service,
        otlp_endpoint=args.endpoint,
        pricing_json=args.pricing,
        disable_metrics=True,
    )
    tracer = trace.get_tracer("travel-agent")

    # OpenLIT names a function's span after the function: `get_weather`, the tool's name.
    traced = openlit.trace(get_weather)

    with openlit.using_attributes({"session.id": session, "user.id": user}):
        with otel_agent_span(tracer):
            trace_id = current_trace_id()
            run(client_factory(), traced)
    return trace.get_tracer_provider(), trace_id


SETUPS = {
    "openinference": with_openinference,
    "openllmetry": with_openllmetry,
    "traceloop": with_traceloop,
    "openlit": with_openlit,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instrumentation", required=True, choices=sorted(SETUPS))
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--openai-base-url", required=True)
    parser.add_argument("--service")
    parser.add_argument("--pricing", help="OpenLIT's price file (it fetches one from GitHub otherwise)")
    args = parser.parse_args()
    args.service = args.service or f"travel-{args.instrumentation}"
    session, user = f"trip-{args.instrumentation}", f"traveller-{args.instrumentation}"

    def client_factory():
        # Imported after the instrumentation was set up, as the packages' guides do.
        from openai import OpenAI

        return OpenAI(base_url=args.openai_base_url, api_key="sk-fake", max_retries=0)

    provider, trace_id = SETUPS[args.instrumentation](args, client_factory, session, user)
    if not provider.force_flush(30_000):
        print("force_flush timed out", file=sys.stderr)
        sys.exit(1)
    provider.shutdown()
    print(
        json.dumps(
            {
                "service": args.service,
                "trace_id": trace_id,
                "session": session,
                "user": user,
                "agent": AGENT,
            }
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("OTEL_PYTHON_LOG_LEVEL", "warning")
    main()
