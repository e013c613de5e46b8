"""An agent built with a real Python agent framework, traced by its OpenInference
instrumentation from PyPI as docs/frameworks.md sets it up: one run of a weather agent with one
tool (`get_weather`) against a local OpenAI-compatible server, exported over OTLP/HTTP to
agentrace serve.

Usage: agent_app.py --framework NAME --endpoint URL --openai-base-url URL [--service NAME]

NAME is one of
  langgraph      a LangGraph StateGraph (a model node with ChatOpenAI, a ToolNode) traced by
                 openinference-instrumentation-langchain
  openai-agents  an OpenAI Agents SDK Agent on the chat completions model, traced by
                 openinference-instrumentation-openai-agents (its processor replaces the SDK's
                 exporter to OpenAI's platform)
  crewai         a CrewAI crew of one agent and one task, traced by
                 openinference-instrumentation-crewai, its model calls by
                 openinference-instrumentation-openai (CrewAI's own telemetry and tracing off)

The session and user are set with OpenInference's `using_session` and `using_user`. Each
framework runs in a virtualenv of its own (their pins conflict), made by
scripts/install-test-deps.sh from tests/integration/python/frameworks/NAME.txt.

The run makes two model calls, both gpt-4o-mini (the test scripts the server's replies):
  tool_request    the model asks for get_weather(city="Paris")
  (the tool)      get_weather runs
  final_answer    the model answers with the tool's result
It prints one JSON object last: the framework, the service, the trace id, the session, the
user, the agent and the final answer.
"""

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile

AGENT = "weather_agent"
TOOL = "get_weather"
MODEL = "gpt-4o-mini"
QUESTION = "What is the weather in Paris?"


def get_weather(city: str) -> str:
    """The weather forecast of a city."""
    return json.dumps({"city": city, "forecast": "sunny", "celsius": 21})


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


def trace_ids(provider):
    """The set of trace ids of the spans the run ends (the frameworks start their own root
    spans, so the run's trace id is read off them)."""
    from opentelemetry.sdk.trace import SpanProcessor

    class TraceIds(SpanProcessor):
        def __init__(self):
            self.ids = set()

        def on_end(self, span):
            self.ids.add(format(span.context.trace_id, "032x"))

    processor = TraceIds()
    provider.add_span_processor(processor)
    return processor.ids


def with_langgraph(args, provider):
    from openinference.instrumentation.langchain import LangChainInstrumentor

    LangChainInstrumentor().instrument(tracer_provider=provider)

    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    weather = tool(get_weather)
    model = ChatOpenAI(
        model=MODEL, base_url=args.openai_base_url, api_key="sk-fake", max_retries=0
    ).bind_tools([weather])

    def call_model(state: MessagesState):
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode([weather]))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    app = graph.compile(name=AGENT)

    result = app.invoke({"messages": [("user", QUESTION)]})
    return result["messages"][-1].content


def with_openai_agents(args, provider):
    from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

    # Replaces the SDK's trace processors (its exporter to OpenAI's platform among them) with
    # OpenInference's: nothing goes to api.openai.com. Do not call
    # agents.set_tracing_disabled(True): it turns the SDK's tracing off, OpenInference's too.
    OpenAIAgentsInstrumentor().instrument(tracer_provider=provider)

    from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=args.openai_base_url, api_key="sk-fake", max_retries=0)
    agent = Agent(
        name=AGENT,
        instructions="Answer questions about the weather with the get_weather tool.",
        model=OpenAIChatCompletionsModel(model=MODEL, openai_client=client),
        tools=[function_tool(get_weather)],
    )
    result = Runner.run_sync(agent, QUESTION)
    return result.final_output


def with_crewai(args, provider):
    # CrewAI's own telemetry (to telemetry.crewai.com) and tracing (to CrewAI AMP) off. Not
    # OTEL_SDK_DISABLED: the OpenTelemetry SDK reads it too and would trace nothing.
    os.environ["CREWAI_DISABLE_TELEMETRY"] = "true"
    os.environ["CREWAI_TRACING_ENABLED"] = "false"
    os.environ["CREWAI_DISABLE_VERSION_CHECK"] = "true"
    # CrewAI keeps state under the home directory (a credentials key, its last task outputs,
    # settings): a throw-away one here, so that a test run leaves nothing behind.
    home = tempfile.mkdtemp(prefix="agentrace-crewai-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["HOME"] = home
    os.environ["XDG_DATA_HOME"] = os.path.join(home, ".local", "share")
    os.environ["XDG_CONFIG_HOME"] = os.path.join(home, ".config")

    from openinference.instrumentation.crewai import CrewAIInstrumentor
    from openinference.instrumentation.openai import OpenAIInstrumentor

    CrewAIInstrumentor().instrument(tracer_provider=provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)

    from crewai import LLM, Agent, Crew, Task
    from crewai.tools import tool

    weather = tool(TOOL)(get_weather)
    llm = LLM(model=MODEL, base_url=args.openai_base_url, api_key="sk-fake", max_retries=0)
    agent = Agent(
        role=AGENT,
        goal="Tell the weather of a city",
        backstory="You read forecasts with the get_weather tool.",
        tools=[weather],
        llm=llm,
        allow_delegation=False,
    )
    task = Task(description=QUESTION, expected_output="The weather in one sentence", agent=agent)
    crew = Crew(name="weather_crew", agents=[agent], tasks=[task], tracing=False)
    return str(crew.kickoff())


SETUPS = {
    "langgraph": with_langgraph,
    "openai-agents": with_openai_agents,
    "crewai": with_crewai,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--framework", required=True, choices=sorted(SETUPS))
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--openai-base-url", required=True)
    parser.add_argument("--service")
    args = parser.parse_args()
    args.service = args.service or f"weather-{args.framework}"
    session, user = f"chat-{args.framework}", f"user-{args.framework}"

    from openinference.instrumentation import using_session, using_user

    provider = sdk_provider(args.service, args.endpoint)
    ids = trace_ids(provider)
    with using_session(session), using_user(user):
        answer = SETUPS[args.framework](args, provider)
    if not provider.force_flush(30_000):
        print("force_flush timed out", file=sys.stderr)
        sys.exit(1)
    provider.shutdown()
    if len(ids) != 1:
        print(f"one trace expected, got {sorted(ids)}", file=sys.stderr)
        sys.exit(1)
    print(
        json.dumps(
            {
                "framework": args.framework,
                "service": args.service,
                "trace_id": ids.pop(),
                "session": session,
                "user": user,
                "agent": AGENT,
                "answer": answer,
            }
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("OTEL_PYTHON_LOG_LEVEL", "warning")
    main()
