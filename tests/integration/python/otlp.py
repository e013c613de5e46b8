"""The OTLP exporters of the OpenTelemetry Python SDK that the client scripts send with."""

import importlib

CLASSES = {"trace": "OTLPSpanExporter", "metric": "OTLPMetricExporter", "log": "OTLPLogExporter"}
HTTP_PATHS = {"trace": "/v1/traces", "metric": "/v1/metrics", "log": "/v1/logs"}
MODULES = {"trace": "trace_exporter", "metric": "metric_exporter", "log": "_log_exporter"}


def exporter(signal, protocol, endpoint, token=None):
    """The SDK's OTLP exporter of `signal` ("trace", "metric" or "log") over `protocol`,
    sending `token` as a bearer token if given."""
    if protocol == "grpc":
        options = {"endpoint": endpoint, "insecure": True}
        transport = "grpc"
    elif protocol == "http/protobuf":
        options = {"endpoint": endpoint.rstrip("/") + HTTP_PATHS[signal]}
        transport = "http"
    else:
        raise SystemExit(f"unknown protocol {protocol!r}")
    if token:
        options["headers"] = {"authorization": f"Bearer {token}"}
    module = importlib.import_module(f"opentelemetry.exporter.otlp.proto.{transport}.{MODULES[signal]}")
    return getattr(module, CLASSES[signal])(**options)
