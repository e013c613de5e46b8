"""An agent and an MCP server of the official `mcp` Python SDK, in two processes, traced by
OpenTelemetry and exported over OTLP/HTTP to `agentrace serve` (tests/integration/tests/mcp.rs).

    python mcp_app.py agent  --endpoint URL --transport stdio|http [--url MCP_URL]
    python mcp_app.py server --endpoint URL --transport stdio|http [--port N]

The agent (service `mcp-agent`) runs `invoke_agent forecaster` and, under it, calls the server's
tools: `forecast` twice, then `outage`, which fails (a tool error, `isError`), and reads the
resource `weather://alerts`; it prints a JSON report last (its trace id, what it got). Over
stdio it starts the server itself; over streamable HTTP it connects to `--url`. The server
(service `weather-mcp`) answers them.

Which instrumentation traces the SDK depends on its major version, as on PyPI today:
- mcp 2.x has OpenTelemetry built in (client spans `MCP send {method} {target}`, server spans
  `{method} {target}`, `error.type` `tool_error`); `openinference-instrumentation-mcp` carries
  the trace context through the transports as well;
- mcp 1.x has none: `opentelemetry-instrumentation-mcp` (OpenLLMetry) gives the client's
  `{tool}.tool` and `{method}.mcp` spans and carries the trace context in `params._meta`
  (over streamable HTTP it wraps only the client's old name, `streamablehttp_client`).
"""

import argparse
import asyncio
import json
import os
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def sdk_major() -> int:
    from importlib.metadata import version

    return int(version("mcp").split(".")[0])


def tracing(service: str, endpoint: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    trace.set_tracer_provider(provider)
    if sdk_major() >= 2:
        from openinference.instrumentation.mcp import MCPInstrumentor

        MCPInstrumentor().instrument()
    else:
        from opentelemetry.instrumentation.mcp import McpInstrumentor

        McpInstrumentor().instrument()
    return provider


def serve(transport: str, port: int) -> None:
    """The MCP server: `forecast`, `outage` (fails) and the resource `weather://alerts`."""
    if sdk_major() >= 2:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError

        server = MCPServer("weather-mcp")

        def failure(message: str) -> Exception:
            return ToolError(message)

    else:
        from mcp.server.fastmcp import FastMCP

        server = FastMCP("weather-mcp", host="127.0.0.1", port=port)

        def failure(message: str) -> Exception:
            return RuntimeError(message)

    @server.tool()
    def forecast(city: str) -> str:
        """Tomorrow's weather in a city."""
        return f"{city}: sunny, 21 °C"

    @server.tool()
    def outage(city: str) -> str:
        """A tool whose backend is down."""
        raise failure(f"the weather service for {city} is down")

    @server.resource("weather://alerts")
    def alerts() -> str:
        """Weather alerts in force."""
        return "no alerts"

    if transport == "stdio":
        server.run()
    elif sdk_major() >= 2:
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run(transport="streamable-http")


async def calls(session) -> dict:
    await session.initialize()
    forecasts = []
    for city in ["Paris", "Oslo"]:
        result = await session.call_tool("forecast", {"city": city})
        forecasts.append(result.content[0].text)
    result = await session.call_tool("outage", {"city": "Rome"})
    failed = bool(getattr(result, "is_error", None) or getattr(result, "isError", False))
    read = await session.read_resource("weather://alerts")
    return {"forecasts": forecasts, "outage_failed": failed, "alerts": read.contents[0].text}


async def run_agent(transport: str, endpoint: str, url: str | None) -> dict:
    from mcp import ClientSession

    tracer = trace.get_tracer("mcp_app")
    with tracer.start_as_current_span(
        "invoke_agent forecaster",
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "forecaster"},
    ) as root:
        trace_id = format(root.get_span_context().trace_id, "032x")
        if transport == "stdio":
            from mcp import StdioServerParameters
            from mcp.client.stdio import stdio_client

            params = StdioServerParameters(
                command=sys.executable,
                args=[__file__, "server", "--endpoint", endpoint, "--transport", "stdio"],
                env=dict(os.environ),
            )
            async with stdio_client(params) as (read, write):
                async with ClientSession(read, write) as session:
                    got = await calls(session)
        elif sdk_major() >= 2:
            from mcp.client.streamable_http import streamable_http_client

            async with streamable_http_client(url) as (read, write):
                async with ClientSession(read, write) as session:
                    got = await calls(session)
        else:
            # The name OpenLLMetry's instrumentation wraps (it propagates the context there).
            from mcp.client.streamable_http import streamablehttp_client

            async with streamablehttp_client(url) as (read, write, _):
                async with ClientSession(read, write) as session:
                    got = await calls(session)
    return {"trace_id": trace_id, **got}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["agent", "server"])
    parser.add_argument("--endpoint", required=True, help="agentrace serve's OTLP/HTTP base URL")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--url", help="the MCP server's streamable HTTP URL (agent, http)")
    parser.add_argument("--port", type=int, default=8000, help="the port to serve on (server, http)")
    args = parser.parse_args()
    provider = tracing("mcp-agent" if args.role == "agent" else "weather-mcp", args.endpoint)
    try:
        if args.role == "agent":
            report = asyncio.run(run_agent(args.transport, args.endpoint, args.url))
        else:
            serve(args.transport, args.port)
    finally:
        provider.shutdown()
    if args.role == "agent":
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
