"""gen_ai.evaluation.result with the OpenTelemetry Python SDK, the three ways the conventions
allow: a span event on the call it judges, a log record (event_name) emitted inside that call's
span, and a log record outside any span naming the response it judges (gen_ai.response.id),
sent before the span that gave the response. Prints the ids the scores must name.

Usage: evaluation_results.py --endpoint URL --protocol grpc|http/protobuf [--token TOKEN]
"""

import argparse
import json
import secrets

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from otlp import exporter

EVENT = "gen_ai.evaluation.result"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--protocol", required=True)
    parser.add_argument("--token")
    args = parser.parse_args()
    resource = Resource.create({"service.name": "evaluated-app"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter("trace", args.protocol, args.endpoint, args.token)))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(exporter("log", args.protocol, args.endpoint, args.token)))
    tracer = tracer_provider.get_tracer("evaluated-app")
    evaluator = logger_provider.get_logger("my-evals")
    response_id = "chatcmpl-eval-" + secrets.token_hex(8)

    # The result naming a response, outside any span: sent (flushed) before the span is.
    evaluator.emit(
        event_name=EVENT,
        severity_number=SeverityNumber.INFO,
        attributes={
            "gen_ai.evaluation.name": "faithfulness",
            "gen_ai.evaluation.score.value": 0.25,
            "gen_ai.evaluation.score.label": "unfaithful",
            "gen_ai.evaluation.explanation": "cites a source it was not given",
            "gen_ai.response.id": response_id,
        },
    )
    logger_provider.force_flush()

    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attributes({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.id": response_id,
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 30,
        })
        span.add_event(EVENT, {
            "gen_ai.evaluation.name": "relevance",
            "gen_ai.evaluation.score.value": 0.9,
            "gen_ai.evaluation.explanation": "answers the question",
        })
        evaluator.emit(
            event_name=EVENT,
            severity_number=SeverityNumber.INFO,
            attributes={
                "gen_ai.evaluation.name": "toxicity",
                "gen_ai.evaluation.score.value": 0,
                "gen_ai.evaluation.score.label": "clean",
                "agentrace.evaluation.annotator_kind": "llm",
            },
        )
        evaluator.emit(
            event_name=EVENT,
            severity_number=SeverityNumber.WARN,
            attributes={"gen_ai.evaluation.name": "groundedness", "error.type": "judge_timeout"},
        )
        context = span.get_span_context()
    tracer_provider.force_flush()
    logger_provider.force_flush()
    tracer_provider.shutdown()
    logger_provider.shutdown()
    print(json.dumps({
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "response_id": response_id,
    }))


if __name__ == "__main__":
    main()
