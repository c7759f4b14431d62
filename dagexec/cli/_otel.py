"""``--otel``: send the run's trace out, with the OpenTelemetry SDK set up from the ``OTEL_*`` variables.

The library itself only uses the OpenTelemetry API and whatever tracer provider is
set. The command line is an application, so with ``--otel`` it sets one up as the
SDK documents it: the exporters ``OTEL_TRACES_EXPORTER`` names (``otlp``, the
default, over OTLP/HTTP; ``console``; ``none``), the resource from
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (service ``dagexec`` by
default), and everything else the SDK reads itself (``OTEL_EXPORTER_OTLP_*``,
``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``, ``OTEL_SPAN_*_LIMIT``). The provider is
set as the global one, so the ``mcp`` SDK's spans go with dagexec's, and it is shut
down (its spans flushed) when the command ends, however it ends.

A command gets the flag with :func:`add_otel_flag`; :func:`otel_tracing` around
the command does the rest (``dagexec serve`` is meant to take the same two).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dagexec import DagexecError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

#: The exporters ``OTEL_TRACES_EXPORTER`` may name.
EXPORTERS = ("otlp", "console", "none")


class OtelSetupError(DagexecError):
    """``--otel`` cannot be set up: the extra is missing, or an ``OTEL_*`` variable is unusable."""


def add_otel_flag(parser: argparse.ArgumentParser) -> None:
    """Give a command the ``--otel`` flag."""
    parser.add_argument(
        "--otel",
        action="store_true",
        help="send a trace of each run with OpenTelemetry, set up from the OTEL_* variables "
        "(OTLP/HTTP by default; OTEL_TRACES_EXPORTER=console prints it); needs dagexec[otel]",
    )


@contextmanager
def otel_tracing(enabled: bool) -> Iterator[None]:
    """Set up the SDK as the global tracer provider while the command runs, if ``enabled``.

    Raises:
        OtelSetupError: The ``otel`` extra is not installed, or ``OTEL_TRACES_EXPORTER``
            or the OTLP protocol asks for what it does not hold.
    """
    if not enabled:
        yield
        return
    provider = tracer_provider()
    from opentelemetry import trace

    trace.set_tracer_provider(provider)
    try:
        yield
    finally:
        provider.shutdown()  # flushes what is left to export


def tracer_provider() -> TracerProvider:
    """An SDK tracer provider with the exporters, resource and settings of the ``OTEL_*`` variables.

    Raises:
        OtelSetupError: As for :func:`otel_tracing`.
    """
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError as exc:
        raise OtelSetupError(
            f"--otel needs the otel extra: pip install 'dagexec[otel]' ({exc.name} is missing)"
        ) from None
    names = [name.strip() for name in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if name.strip()]
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            protocol = os.environ.get(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            )
            if protocol != "http/protobuf":
                raise OtelSetupError(f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not supported (http/protobuf is)")
            exporters.append(OTLPSpanExporter())
        elif name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name != "none":
            raise OtelSetupError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console or none)")
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "dagexec"}))
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
