"""Phoenix's evaluation loop, unchanged, with agentrace as its server: an app traced as
`phoenix.otel.register(project_name=...)` traces it (OpenInference attributes, the project
name as the resource's `openinference.project.name`) sends a run over OTLP/HTTP; then
Phoenix's own client reads the project's spans back (`get_spans`, `get_spans_dataframe`),
judges each LLM call in pandas, and logs the judgements as span annotations.

Spans of another project and of none (Phoenix's `default`) are sent too: a read of the
project must not see them.

Usage: phoenix_spans.py --base-url URL --otlp-endpoint URL --api-key KEY
Prints one JSON object: what each read returned.
"""

import argparse
import json

PROJECT = "travel-evals"


def tracer(otlp_endpoint, api_key, project):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    attributes = {"service.name": "travel-app"}
    if project:
        attributes["openinference.project.name"] = project
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=f"{otlp_endpoint}/v1/traces",
        headers={"authorization": f"Bearer {api_key}"},
    )))
    return provider


def llm_call(tracer, question, answer, prompt_tokens, completion_tokens):
    with tracer.start_as_current_span("ChatCompletion") as span:
        span.set_attributes({
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.token_count.prompt": prompt_tokens,
            "llm.token_count.completion": completion_tokens,
            "llm.token_count.total": prompt_tokens + completion_tokens,
            "input.value": question,
            "output.value": answer,
            "session.id": "sess-px-9",
        })


def send(otlp_endpoint, api_key):
    """The run: an agent, two LLM calls and a tool in the project; one call elsewhere."""
    provider = tracer(otlp_endpoint, api_key, PROJECT)
    t = provider.get_tracer("travel-app")
    with t.start_as_current_span("travel_agent") as agent:
        agent.set_attributes({"openinference.span.kind": "AGENT", "agent.name": "travel_agent",
                              "input.value": "Paris?"})
        llm_call(t, "What is the capital of France?", "Paris.", 120, 8)
        with t.start_as_current_span("get_weather") as tool:
            tool.set_attributes({"openinference.span.kind": "TOOL", "tool.name": "get_weather",
                                 "input.value": '{"city": "Paris"}'})
        llm_call(t, "Where is the Louvre?", "In Lyon.", 95, 6)
        trace_id = format(agent.get_span_context().trace_id, "032x")
    provider.shutdown()
    for project in ["other-team", None]:
        elsewhere = tracer(otlp_endpoint, api_key, project)
        llm_call(elsewhere.get_tracer("x"), "Elsewhere?", "Yes.", 10, 2)
        elsewhere.shutdown()
    return trace_id


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--otlp-endpoint", required=True)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()
    trace_id = send(args.otlp_endpoint, args.api_key)

    import pandas as pd
    from phoenix.client import Client
    from phoenix.client.types.spans import SpanQuery

    px = Client(base_url=args.base_url, api_key=args.api_key)
    spans = px.spans.get_spans(project_identifier=PROJECT, limit=1000)
    llm = px.spans.get_spans(project_identifier=PROJECT, span_kind="LLM", trace_ids=[trace_id])
    roots = px.spans.get_spans(project_identifier=PROJECT, parent_id="null")
    default = px.spans.get_spans(project_identifier="default")

    frame = px.spans.get_spans_dataframe(project_identifier=PROJECT,
                                         query=SpanQuery().where("span_kind == 'LLM'"))
    # The judge: is the answer right? (What an LLM judge would say, in pandas.)
    right = frame["attributes.output.value"].str.contains("Paris")
    judged = pd.DataFrame({
        "label": right.map({True: "correct", False: "incorrect"}),
        "score": right.astype(float),
        "explanation": frame["attributes.input.value"] + " -> " + frame["attributes.output.value"],
    }, index=frame.index)
    px.spans.log_span_annotations_dataframe(dataframe=judged, annotation_name="correctness",
                                            annotator_kind="LLM")
    annotations = px.spans.get_span_annotations_dataframe(spans_dataframe=frame,
                                                          project_identifier=PROJECT)
    print(json.dumps({
        "trace_id": trace_id,
        "spans": [{"name": s["name"], "span_kind": s["span_kind"], "span_id": s["context"]["span_id"],
                   "trace_id": s["context"]["trace_id"], "parent_id": s.get("parent_id"),
                   "attributes": s.get("attributes", {})} for s in spans],
        "llm": [s["context"]["span_id"] for s in llm],
        "roots": [s["name"] for s in roots],
        "default": [s["context"]["trace_id"] for s in default],
        "frame": {
            "index": [str(i) for i in frame.index],
            "index_name": frame.index.name,
            "columns": list(frame.columns),
            "prompt_tokens": frame["attributes.llm.token_count.prompt"].tolist(),
            "start_time_dtype": str(frame["start_time"].dtype),
        },
        "judged": {str(k): v for k, v in judged["label"].items()},
        "annotations": annotations.reset_index()[["span_id", "annotation_name", "result.label"]]
            .to_dict("records") if len(annotations) else [],
    }, default=str))


if __name__ == "__main__":
    main()
