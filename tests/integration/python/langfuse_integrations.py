"""The Langfuse integrations that Langfuse users run, pointed at agentrace by LANGFUSE_BASE_URL
alone, the model calls answered by a local OpenAI-compatible server. Prints one JSON object:
the trace id, the user, the session and the tags, and what each integration says of its run.

Usage: langfuse_integrations.py --integration NAME --base-url URL --secret-key KEY
                                [--openai-base-url URL]

NAME is one of
  openai     the `langfuse.openai` drop-in under `@observe(as_type="agent")`, with a tool as
             `@observe(as_type="tool")`. The calls, in this order (the test scripts the
             server's replies to match):
               chat           gpt-4o-mini, sync, cached input tokens
               reasoning      o3-mini, sync, reasoning output tokens
               async_chat     gpt-4o-mini through AsyncOpenAI, cached input tokens
               stream_usage   gpt-4o-mini streamed with stream_options.include_usage
               stream_bare    gpt-4o-mini streamed without it: no usage reported
               tool_request   gpt-4o-mini asks for get_weather
               (the tool)     get_weather runs
               tool_answer    gpt-4o-mini answers with the tool's result
               embeddings     text-embedding-3-small
  manual     no model is called: generations whose usage and cost the app gives itself, as
             `@observe(as_type="generation")` + `update_current_generation` (Anthropic's usage
             shape), `start_as_current_observation(as_type="generation", usage_details=...,
             cost_details=...)` (Langfuse's keys), an `@observe(as_type="embedding")` and a tool,
             under an agent; then `get_prompt(..., fallback=...)` of a prompt agentrace does
             not keep
  langchain  Langfuse's LangChain `CallbackHandler` on a small LangChain chain (a prompt, a
             ChatOpenAI model bound to a tool, the tool, the model again), user, session and
             tags given as LangChain metadata. The calls: tool_request, then tool_answer.
"""

import argparse
import asyncio
import json
import os

USER = "user-lf-7"
SESSION = "sess-lf-7"
TAGS = ["migrated", "travel"]
QUESTION = [{"role": "user", "content": "What should I pack for Paris?"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather forecast of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def forecast(city):
    """What a weather API would answer."""
    return json.dumps({"city": city, "forecast": "sunny", "celsius": 21})


def run_openai(openai_base_url):
    from langfuse import get_client, observe, propagate_attributes
    from langfuse.openai import AsyncOpenAI, OpenAI

    client = OpenAI(base_url=openai_base_url, api_key="sk-fake")
    aclient = AsyncOpenAI(base_url=openai_base_url, api_key="sk-fake")

    @observe(as_type="tool", name="get_weather")
    def get_weather(city):
        return forecast(city)

    async def async_chat():
        await aclient.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)

    @observe(as_type="agent", name="travel_agent")
    def agent():
        client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
        client.chat.completions.create(model="o3-mini", messages=QUESTION)
        asyncio.run(async_chat())
        for _ in client.chat.completions.create(
            model="gpt-4o-mini", messages=QUESTION, stream=True,
            stream_options={"include_usage": True},
        ):
            pass
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True):
            pass
        asked = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, tools=[WEATHER])
        call = asked.choices[0].message.tool_calls[0]
        result = get_weather(**json.loads(call.function.arguments))
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=QUESTION + [
                asked.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": result},
            ],
        )
        client.embeddings.create(model="text-embedding-3-small", input="Paris in spring")
        return get_client().get_current_trace_id()

    with propagate_attributes(user_id=USER, session_id=SESSION, tags=TAGS,
                              trace_name="travel-request"):
        trace_id = agent()
    return {"trace_id": trace_id, "agent": "travel_agent", "tool": "get_weather"}


def run_manual():
    from langfuse import get_client, observe, propagate_attributes

    langfuse = get_client()

    @observe(as_type="generation", name="plan")
    def plan():
        langfuse.update_current_generation(
            model="claude-sonnet-4-5",
            usage_details={"input_tokens": 50, "output_tokens": 30,
                           "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 200},
        )
        return "plan"

    @observe(as_type="tool", name="search_flights")
    def search_flights(city):
        return {"city": city, "flights": 3}

    @observe(as_type="embedding", name="embed-query")
    def embed():
        langfuse.update_current_generation(model="text-embedding-3-small",
                                           usage_details={"input": 42})
        return [0.1, 0.2]

    @observe(as_type="agent", name="trip_planner")
    def agent():
        plan()
        search_flights("Paris")
        with langfuse.start_as_current_observation(
            as_type="generation", name="summarize", model="gpt-4o",
            usage_details={"input": 500, "input_cached_tokens": 1500, "output": 60,
                           "output_reasoning_tokens": 20},
            cost_details={"input": 0.0021, "output": 0.0008, "total": 0.0029},
        ):
            pass
        embed()
        return langfuse.get_current_trace_id()

    with propagate_attributes(user_id=USER, session_id=SESSION, tags=TAGS):
        trace_id = agent()
    # A managed prompt agentrace does not keep: the app's fallback, as with Langfuse.
    prompt = langfuse.get_prompt("support-answer", fallback="Answer {{question}} briefly.")
    return {"trace_id": trace_id, "agent": "trip_planner", "tool": "search_flights",
            "prompt": {"is_fallback": prompt.is_fallback,
                       "text": prompt.compile(question="this")}}


def run_langchain(openai_base_url):
    from langchain_core.messages import HumanMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from langfuse import get_client
    from langfuse.langchain import CallbackHandler

    @tool
    def get_weather(city: str) -> str:
        """The weather forecast of a city."""
        return forecast(city)

    model = ChatOpenAI(model="gpt-4o-mini", base_url=openai_base_url, api_key="sk-fake")
    with_tools = model.bind_tools([get_weather])
    handler = CallbackHandler()
    config = {
        "callbacks": [handler],
        "run_name": "weather_agent",
        "metadata": {"langfuse_user_id": USER, "langfuse_session_id": SESSION,
                     "langfuse_tags": TAGS},
    }

    from langchain_core.runnables import RunnableLambda

    def answer(question):
        messages = [HumanMessage(question)]
        asked = with_tools.invoke(messages)
        messages.append(asked)
        for call in asked.tool_calls:
            messages.append(get_weather.invoke(call))
        return with_tools.invoke(messages).content

    RunnableLambda(answer).invoke(QUESTION[0]["content"], config=config)
    return {"trace_id": handler.last_trace_id, "agent": "weather_agent", "tool": "get_weather"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--integration", required=True, choices=["openai", "manual", "langchain"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--openai-base-url")
    args = parser.parse_args()
    os.environ["LANGFUSE_BASE_URL"] = args.base_url
    os.environ["LANGFUSE_PUBLIC_KEY"] = "pk-lf-migrated"
    os.environ["LANGFUSE_SECRET_KEY"] = args.secret_key
    from langfuse import get_client

    if args.integration == "openai":
        said = run_openai(args.openai_base_url)
    elif args.integration == "manual":
        said = run_manual()
    else:
        said = run_langchain(args.openai_base_url)
    langfuse = get_client()
    langfuse.flush()
    langfuse.shutdown()
    said.update({"user": USER, "session": SESSION, "tags": TAGS})
    print(json.dumps(said))


if __name__ == "__main__":
    main()
