"""OpenTelemetry tracing through the SDK's ``TracingInterceptor``: off unless ``WHISTLE_TRACING`` turns it on.

With it on, every client call (start, Update, query), every workflow run and every activity is a span, the
workflow's and activity's spans children of the call that caused them (the context travels in Temporal's
headers). The interceptor goes on the client (``whistle/connection.py``), and a worker built on that client
takes it too. ``otlp`` sends spans to the collector the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (and the other
``OTEL_*`` variables, ``OTEL_SERVICE_NAME`` among them) name; ``console`` prints them. The OpenTelemetry SDK and its
exporter are the ``tracing`` extra (``pip install 'whistle[tracing]'``), imported only when tracing is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whistle.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from temporalio.contrib.opentelemetry import TracingInterceptor

SERVICE_NAME = "whistle"
"""The service name spans carry unless ``OTEL_SERVICE_NAME`` names another."""


def tracing_interceptor(settings: Settings, *, exporter: SpanExporter | None = None) -> TracingInterceptor | None:
    """The interceptor for ``settings.tracing``; None when it is ``off``.

    ``exporter``: where spans go instead of the setting's (a test's in-memory exporter); spans are then handed to
    it as each ends rather than in batches.
    """
    if settings.tracing == "off":
        return None
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    from temporalio.contrib.opentelemetry import TracingInterceptor

    resource = Resource.create({"service.name": SERVICE_NAME}).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)  # flushed and shut down at exit
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif settings.tracing == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return TracingInterceptor(provider.get_tracer("whistle"))
