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

A collector that cannot be reached, or takes a connection and never answers,
never holds the command's end: ``--otel-timeout`` (2 s by default) bounds each
export of the OTLP exporter (unless ``OTEL_EXPORTER_OTLP_TIMEOUT`` or
``OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`` says otherwise) and the shutdown, after
which the spans not yet sent are dropped. The OTLP exporter is imported only
when ``OTEL_TRACES_EXPORTER`` names it: the console exporter needs only the SDK.

A command gets the flag with :func:`add_otel_flag`; :func:`otel_tracing` around
the command does the rest (``dagexec serve`` is meant to take the same two).
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dagexec import DagexecError

from ._options import positive

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

#: Seconds the exporters have, by default, to send what is left when the command ends (``--otel-timeout``).
DEFAULT_TIMEOUT = 2.0

#: The variables that set the OTLP exporter's own timeout, which ``--otel-timeout`` leaves alone.
_OTLP_TIMEOUTS = ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")

logger = logging.getLogger("dagexec.otel")


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
    parser.add_argument(
        "--otel-timeout",
        type=positive,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="with --otel: the most the end of the command waits for the spans left to export, "
        "and each OTLP export's timeout (default %(default)s)",
    )


@contextmanager
def otel_tracing(enabled: bool, *, timeout: float = DEFAULT_TIMEOUT) -> Iterator[None]:
    """Set up the SDK as the global tracer provider while the command runs, if ``enabled``.

    Args:
        enabled: Whether to (``--otel``).
        timeout: The most the end waits for the spans left to export, in seconds
            (``--otel-timeout``), and each OTLP export's timeout.

    Raises:
        OtelSetupError: The ``otel`` extra is not installed, or ``OTEL_TRACES_EXPORTER``
            or the OTLP protocol asks for what it does not hold.
    """
    if not enabled:
        yield
        return
    provider = tracer_provider(timeout=timeout)
    from opentelemetry import trace

    trace.set_tracer_provider(provider)
    try:
        yield
    finally:
        shut_down(provider, timeout)  # flushes what is left to export, for at most ``timeout``


def shut_down(provider: TracerProvider, timeout: float) -> bool:
    """Shut the provider down (its exporters send the spans left), waiting for it ``timeout`` seconds at most.

    The SDK's ``TracerProvider.shutdown`` takes no timeout: its batch processor
    waits up to 30 s for the exporter, whose export retries for its own timeout
    (10 s by default), so a dead collector would hold the command's end that
    long. Here the shutdown runs in a daemon thread of its own, and the command
    stops waiting for it after ``timeout``: what is not sent by then is dropped,
    with a warning.

    Returns:
        Whether the shutdown ended within ``timeout``.
    """
    thread = threading.Thread(target=provider.shutdown, name="dagexec-otel-shutdown", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        logger.warning("the spans left to export were not sent within %g s (--otel-timeout); they are dropped", timeout)
        return False
    return True


def _missing(exc: ImportError) -> OtelSetupError:
    return OtelSetupError(f"--otel needs the otel extra: pip install 'dagexec[otel]' ({exc.name} is missing)")


def tracer_provider(*, timeout: float = DEFAULT_TIMEOUT) -> TracerProvider:
    """An SDK tracer provider with the exporters, resource and settings of the ``OTEL_*`` variables.

    Args:
        timeout: The OTLP exporter's timeout for each export, in seconds, unless
            ``OTEL_EXPORTER_OTLP_TIMEOUT`` or ``OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`` is set.

    Raises:
        OtelSetupError: As for :func:`otel_tracing`.
    """
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError as exc:
        raise _missing(exc) from None
    names = [name.strip() for name in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if name.strip()]
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            protocol = os.environ.get(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            )
            if protocol != "http/protobuf":
                raise OtelSetupError(f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not supported (http/protobuf is)")
            try:  # only when named: the console exporter needs only the SDK
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            except ImportError as exc:
                raise _missing(exc) from None
            own_timeout = any(os.environ.get(name) for name in _OTLP_TIMEOUTS)
            exporters.append(OTLPSpanExporter(timeout=None if own_timeout else timeout))
        elif name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name != "none":
            raise OtelSetupError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console or none)")
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "dagexec"}))
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)  # shut down by :func:`shut_down`
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
