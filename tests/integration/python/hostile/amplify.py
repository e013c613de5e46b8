#!/usr/bin/env python3
"""Decompression amplification against `agentrace serve`: N concurrent OTLP/HTTP requests of
M spans with nothing but ids and times (the most spans per byte), gzipped, from threads;
prints the body sizes and the answers by status. Usage: amplify.py URL N M
(docs/benchmark-notebook.md §7.2)."""
import gzip, sys, threading, time, urllib.request, os
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

url, n_requests, spans_per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = time.time_ns()
def body(k):
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    ss = rs.scope_spans.add()
    for i in range(spans_per):
        s = ss.spans.add()
        s.trace_id = (k * 1_000_003 + 7).to_bytes(16, "big")
        s.span_id = (i + 1 + (1 << 62)).to_bytes(8, "big")
        s.start_time_unix_nano = now
        s.end_time_unix_nano = now + 1
    return gzip.compress(req.SerializeToString())
bodies = [body(k) for k in range(n_requests)]
print("gzip body bytes", len(bodies[0]), "raw", len(gzip.decompress(bodies[0])))
codes = []
def send(b):
    r = urllib.request.Request(url, data=b, headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
    try:
        with urllib.request.urlopen(r, timeout=120) as resp:
            codes.append(resp.status)
    except urllib.error.HTTPError as e:
        codes.append(e.code)
ts = [threading.Thread(target=send, args=(b,)) for b in bodies]
[t.start() for t in ts]; [t.join() for t in ts]
from collections import Counter
print("answers", Counter(codes))
