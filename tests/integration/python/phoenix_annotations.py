"""Annotations through Phoenix's own client (arize-phoenix-client) pointed at agentrace: one of
a span (logged twice under one identifier: an upsert), of a trace, of a session, a note, and the
span's annotations read back. Prints what the client returned.

Usage: phoenix_annotations.py --base-url URL --api-key TOKEN --span-id HEX --trace-id HEX
       --session-id ID
"""

import argparse
import json

from phoenix.client import Client


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--base-url", "--api-key", "--span-id", "--trace-id", "--session-id"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    client = Client(base_url=args.base_url, api_key=args.api_key)
    first = client.spans.add_span_annotation(
        span_id=args.span_id, annotation_name="correctness", annotator_kind="LLM",
        label="partly", score=0.5, explanation="misses the second part",
        metadata={"judge": "gpt-4o"}, identifier="judge-run", sync=True,
    )
    second = client.spans.add_span_annotation(
        span_id=args.span_id, annotation_name="correctness", annotator_kind="LLM",
        label="correct", score=1.0, explanation="answers both parts",
        metadata={"judge": "gpt-4o"}, identifier="judge-run", sync=True,
    )
    client.spans.log_span_annotations(span_annotations=[
        {"name": "tone", "annotator_kind": "HUMAN", "span_id": args.span_id,
         "result": {"label": "polite"}},
    ])
    trace = client.traces.add_trace_annotation(
        trace_id=args.trace_id, annotation_name="task_done", annotator_kind="CODE",
        label="yes", score=1, sync=True,
    )
    session = client.sessions.add_session_annotation(
        session_id=args.session_id, annotation_name="helpful", score=1.0, sync=True,
    )
    note = client.spans.add_span_note(span_id=args.span_id, note="reviewed by ana")
    read = client.spans.get_span_annotations(
        span_ids=[args.span_id], project_identifier="default",
    )
    print(json.dumps({
        "first": first, "second": second, "trace": trace, "session": session, "note": note,
        "read": read,
    }, default=str))


if __name__ == "__main__":
    main()
