"""Run one or several services in this process until a signal stops them.

`serve` is what `Service.run` and ``svckit run`` use: it configures logging, serves the
health endpoints, installs one SIGTERM/SIGINT handler for all the services, and starts
them side by side, each in its own task whose log lines carry its name. The first signal
asks every service to shut down gracefully (one still starting, waiting for a broker say,
has its start-up cancelled and closes what it opened); a second one forces exit at once.
When one service fails, the others are stopped gracefully and the failure is raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING

import structlog

from svckit.core.health_server import HealthServer
from svckit.core.logging import configure_logging, get_logger

if TYPE_CHECKING:
    from collections.abc import Sequence

    from svckit.core.service import Service

__all__ = ["serve"]

_log = get_logger("svckit.runner")


async def serve(
    services: Sequence[Service],
    *,
    handle_signals: bool = True,
    serve_health: bool = True,
) -> None:
    """Run ``services`` until a stop is requested or a signal arrives.

    Args:
        services: The services; they share the process (and its embedded broker).
        handle_signals: Install SIGTERM and SIGINT handlers on the running loop.
        serve_health: Serve ``/livez`` and ``/readyz`` for all of them on the first
            service's ``health_port`` (when it is set).
    """
    if not services:
        raise ValueError("nothing to serve")
    settings = services[0].settings
    configure_logging(settings)
    loop = asyncio.get_running_loop()
    received = 0

    def on_signal(sig: signal.Signals) -> None:
        nonlocal received
        received += 1
        if received > 1:
            _log.warning("second signal, forcing exit", signal=sig.name)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + sig.value)
        _log.info("signal received, shutting down", signal=sig.name)
        for service in services:
            service.request_stop(f"signal {sig.name}")

    installed: list[signal.Signals] = []
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
    health: contextlib.AbstractAsyncContextManager[object] = contextlib.nullcontext()
    if serve_health and settings.health_port is not None:
        health = HealthServer(services, host=settings.health_host, port=settings.health_port)
    try:
        async with health:
            await _run_all(services)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _run_all(services: Sequence[Service]) -> None:
    tasks = [
        asyncio.create_task(_run_one(service), name=f"svckit:{service.name}")
        for service in services
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        # One failed (or we were cancelled): the others shut down gracefully.
        for service in services:
            service.request_stop("another service in the process stopped")
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _run_one(service: Service) -> None:
    # Each task runs in a copy of the context: what it binds is seen by every line logged
    # in it and in the tasks it starts (its connections, its consumers), and by no other.
    structlog.contextvars.bind_contextvars(service=service.name)
    try:
        await service.run_until_stopped()
    except Exception as exc:
        exc.add_note(f"service {service.name!r}")
        raise
