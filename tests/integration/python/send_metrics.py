"""Sends GenAI client metrics with the real OpenTelemetry Python SDK.

Usage: send_metrics.py --endpoint URL --protocol grpc|http/protobuf --service NAME

Records what an instrumented agent records: the `gen_ai.client.token.usage` histogram (input
and output tokens per model), a counter of tool calls and an up-down counter of runs in
flight, then exports them through the SDK's PeriodicExportingMetricReader and OTLP exporter
(cumulative temporality, the SDK's default) and shuts down, which exports once more. On success
it prints one JSON object on stdout: what the server should hold for each series.
"""

import argparse
import json
import sys

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from otlp import exporter

TOKENS = [("gpt-4o", "input", 1200), ("gpt-4o", "output", 300), ("gpt-4o", "input", 800),
          ("claude-sonnet-4-5", "input", 2400)]
TOOL_CALLS = [("web_search", 3), ("calculator", 1)]



def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--protocol", required=True, choices=["grpc", "http/protobuf"])
    parser.add_argument("--service", required=True)
    args = parser.parse_args()

    # A long interval: the exports are the flush and the shutdown's.
    reader = PeriodicExportingMetricReader(exporter("metric", args.protocol, args.endpoint),
                                           export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource.create({"service.name": args.service}),
                             metric_readers=[reader])
    meter = provider.get_meter("agentrace-integration")
    usage = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    calls = meter.create_counter("agent.tool.calls", unit="{call}")
    running = meter.create_up_down_counter("agent.runs.active", unit="{run}")

    for model, token_type, n in TOKENS:
        usage.record(n, {"gen_ai.request.model": model, "gen_ai.token.type": token_type})
    for tool, n in TOOL_CALLS:
        calls.add(n, {"gen_ai.tool.name": tool})
    running.add(2)
    running.add(-1)

    if not provider.force_flush(30_000):
        print("force_flush timed out", file=sys.stderr)
        sys.exit(1)
    provider.shutdown()

    expected = {"token_sum": {}, "token_count": {}, "tool_calls": dict(TOOL_CALLS), "runs_active": 1}
    for model, token_type, n in TOKENS:
        key = f"{model}/{token_type}"
        expected["token_sum"][key] = expected["token_sum"].get(key, 0) + n
        expected["token_count"][key] = expected["token_count"].get(key, 0) + 1
    print(json.dumps(expected))


if __name__ == "__main__":
    main()
