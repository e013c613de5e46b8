"""An app instrumented with the Langfuse SDK (v5, on OpenTelemetry) with agentrace as its host:
a trace with a generation (gpt-4o, 100 input and 20 output tokens), scored four ways, and one
score given afterwards by the trace's id. Prints the ids.

Usage: langfuse_app.py --base-url URL --public-key KEY --secret-key KEY (what the SDK reads as
LANGFUSE_BASE_URL, LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY)
"""

import argparse
import json
import os


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--base-url", "--public-key", "--secret-key"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    os.environ["LANGFUSE_BASE_URL"] = args.base_url
    os.environ["LANGFUSE_PUBLIC_KEY"] = args.public_key
    os.environ["LANGFUSE_SECRET_KEY"] = args.secret_key
    from langfuse import get_client, propagate_attributes

    langfuse = get_client()
    with langfuse.start_as_current_observation(as_type="span", name="handle-request",
                                               input={"q": "hi"}) as root:
        with propagate_attributes(trace_name="support-request", user_id="user-1",
                                  session_id="sess-lf-1"):
            with langfuse.start_as_current_observation(
                as_type="generation", name="llm-call", model="gpt-4o",
                input=[{"role": "user", "content": "hi"}],
            ) as generation:
                generation.update(output="hello!", usage_details={"input": 100, "output": 20})
                langfuse.score_current_span(name="relevance", value=0.9, comment="on topic")
                generation.score(name="helpful", value=True, data_type="BOOLEAN")
                observation_id = generation.id
            langfuse.score_current_trace(name="quality", value="good", data_type="CATEGORICAL")
            root.score_trace(name="overall", value=0.8)
        root.update(output={"a": "hello!"})
        trace_id = root.trace_id
    langfuse.create_score(trace_id=trace_id, name="user_feedback", value=1.0,
                          data_type="NUMERIC", comment="thumbs up", metadata={"src": "ui"})
    langfuse.flush()
    langfuse.shutdown()
    print(json.dumps({"trace_id": trace_id, "observation_id": observation_id}))


if __name__ == "__main__":
    main()
