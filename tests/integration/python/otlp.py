"""The OTLP exporters of the OpenTelemetry Python SDK that the client scripts send with."""

import importlib

CLASSES = {"trace": "OTLPSpanExporter", "metric": "OTLPMetricExporter"}
HTTP_PATHS = {"trace": "/v1/traces", "metric": "/v1/metrics"}


def exporter(signal, protocol, endpoint):
    """The SDK's OTLP exporter of `signal` ("trace" or "metric") over `protocol`."""
    if protocol == "grpc":
        options = {"endpoint": endpoint, "insecure": True}
        transport = "grpc"
    elif protocol == "http/protobuf":
        options = {"endpoint": endpoint.rstrip("/") + HTTP_PATHS[signal]}
        transport = "http"
    else:
        raise SystemExit(f"unknown protocol {protocol!r}")
    module = importlib.import_module(f"opentelemetry.exporter.otlp.proto.{transport}.{signal}_exporter")
    return getattr(module, CLASSES[signal])(**options)
