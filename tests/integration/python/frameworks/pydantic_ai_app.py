"""An agent built with PydanticAI, traced by PydanticAI's own OpenTelemetry instrumentation as
docs/frameworks.md sets it up, against a local OpenAI-compatible server, exported over OTLP/HTTP
to agentrace serve.

Usage: pydantic_ai_app.py --endpoint URL --openai-base-url URL [--aggregated-usage on|off]
                          [--service NAME]

--aggregated-usage is InstrumentationSettings(use_aggregated_usage_attribute_names=...): on
(PydanticAI's default) puts the run's totals on the agent span as gen_ai.aggregated_usage.*;
off puts them there under the calls' own names, gen_ai.usage.*.

The session is PydanticAI's conversation id (`conversation_id=`, recorded as
gen_ai.conversation.id on the agent's spans); PydanticAI has no user, and its Embedder no
conversation, so the app's own span around the runs carries session.id and user.id. Under that
span (one trace):
  run_sync        the weather agent asks for get_weather(city="Paris"), then answers (two calls)
  run_stream_sync a streamed answer, read to its end (one call)
  embed           an Embedder with the same instrumentation embeds one query (one call)
It prints one JSON object last: the service, the trace id, the agent, the session, the user and
the answers. Runs in its own virtualenv, made by scripts/install-test-deps.sh from
tests/integration/python/frameworks/pydantic_ai.txt.
"""

import argparse
import json
import sys
import uuid

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from pydantic_ai import Agent
from pydantic_ai.capabilities import Instrumentation
from pydantic_ai.embeddings import Embedder
from pydantic_ai.embeddings.openai import OpenAIEmbeddingModel
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

AGENT = "weather_agent"
MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--openai-base-url", required=True)
    parser.add_argument("--aggregated-usage", choices=["on", "off"], default="on")
    parser.add_argument("--service")
    args = parser.parse_args()
    run_id = uuid.uuid4().hex[:8]
    session, user = f"session-{run_id}", f"user-{run_id}"
    service = args.service or f"pydantic-ai-{args.aggregated_usage}-{run_id}"

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=args.endpoint.rstrip("/") + "/v1/traces"))
    )
    instrumentation = InstrumentationSettings(
        tracer_provider=provider,
        use_aggregated_usage_attribute_names=args.aggregated_usage == "on",
    )
    openai = OpenAIProvider(base_url=args.openai_base_url, api_key="test")
    agent = Agent(
        OpenAIChatModel(MODEL, provider=openai),
        name=AGENT,
        instructions="You are a weather assistant.",
        capabilities=[Instrumentation(settings=instrumentation)],
    )

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """The weather forecast of a city."""
        return json.dumps({"city": city, "forecast": "sunny", "celsius": 21})

    embedder = Embedder(OpenAIEmbeddingModel(EMBEDDING_MODEL, provider=openai), instrument=instrumentation)

    answers = {}
    tracer = provider.get_tracer("agentrace-integration")
    with tracer.start_as_current_span("weather-run", attributes={"session.id": session, "user.id": user}) as root:
        trace_id = format(root.get_span_context().trace_id, "032x")
        answers["generate"] = agent.run_sync("What is the weather in Paris?", conversation_id=session).output
        with agent.run_stream_sync("Say hello in French.", conversation_id=session) as stream:
            answers["stream"] = "".join(stream.stream_text(delta=True))
        answers["dimensions"] = len(embedder.embed_query_sync("sunny day in Paris").embeddings[0])
    provider.shutdown()
    print(json.dumps({
        "service": service,
        "trace_id": trace_id,
        "agent": AGENT,
        "session": session,
        "user": user,
        "answers": answers,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
