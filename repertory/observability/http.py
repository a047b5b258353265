"""The observability endpoint: ``/metrics``, ``/healthz`` and ``/readyz`` on one port.

A small HTTP/1.1 server on ``asyncio.start_server`` in the engine's own event loop: one request
per connection (``Connection: close``), GET and HEAD only. Living in the engine's loop is the
point of ``/healthz`` — a loop that is blocked or dead stops answering, and the orchestrator
restarts the process — and lets ``/readyz`` await the engine's readiness checks directly.

- ``/metrics``: the registry in the text format Prometheus asked for (``Accept`` negotiation
  by prometheus-client), rendered in a thread so a large registry never stalls the loop.
- ``/healthz``: 200 ``ok`` while the loop answers.
- ``/readyz``: 200 ``ready`` when every registered check passes (or none is registered);
  otherwise 503 naming each failing check, e.g. ``not ready: journal (timed out after 2.0 s)``.
  ``drain()`` makes it 503 ``draining`` for good, so a stopping worker leaves the load balancer
  first.

Usage::

    server = ObservabilityServer(host="127.0.0.1", port=worker_metrics_port(9400))
    server.add_readiness_check("journal", journal.ping)
    async with server:
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder

from repertory.observability._logging import get_logger

__all__ = ["ObservabilityServer", "ReadinessCheck"]

ReadinessCheck = Callable[[], Awaitable[bool]]
"""An async callable: True when ready; False or an exception when not."""

_MAX_REQUEST_HEAD = 8192
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_TEXT = "text/plain; charset=utf-8"


class ObservabilityServer:
    """Serves metrics and health on ``host:port`` from the running event loop.

    Args:
        host: the address to bind; ``127.0.0.1`` keeps it on the machine, ``0.0.0.0`` for a
            container whose port is scraped from outside.
        port: the TCP port; 0 picks a free one (see ``port`` after ``start()``).
        registry: what ``/metrics`` serves; default prometheus-client's global registry.
        check_timeout: seconds each readiness check may take before it counts as failed.
        request_timeout: seconds a client has to send its request head.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        registry: CollectorRegistry = REGISTRY,
        check_timeout: float = 2.0,
        request_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.registry = registry
        self.check_timeout = check_timeout
        self.request_timeout = request_timeout
        self._checks: dict[str, ReadinessCheck] = {}
        self._draining = False
        self._server: asyncio.Server | None = None
        self._log = get_logger("repertory.observability.http")

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        if self._server is not None and self._server.sockets:
            port: int = self._server.sockets[0].getsockname()[1]
            return port
        return self._requested_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        """Register ``check`` under ``name`` (the name a failing ``/readyz`` reports).

        Raises:
            ValueError: a check of that name is already registered.
        """
        if name in self._checks:
            raise ValueError(f"readiness check [{name}] is already registered")
        self._checks[name] = check

    def remove_readiness_check(self, name: str) -> None:
        self._checks.pop(name, None)

    def drain(self) -> None:
        """From now on ``/readyz`` answers 503 ``draining`` (the worker is stopping)."""
        self._draining = True

    async def start(self) -> None:
        """Bind and start serving. Raises ``OSError`` when the port cannot be bound."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve,
            self.host,
            self._requested_port,
            reuse_address=True,
            limit=_MAX_REQUEST_HEAD,
        )
        self._log.info("observability endpoint serving", address=self.url)

    async def aclose(self) -> None:
        """Stop accepting and close the listening socket (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> ObservabilityServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def readiness(self) -> list[tuple[str, str]]:
        """Run every check concurrently; the failing ones as ``(name, why)``, in name order."""
        if self._draining:
            return [("draining", "the worker is stopping")]
        names = sorted(self._checks)
        results = await asyncio.gather(*(self._run_check(name) for name in names))
        return [(name, why) for name, why in zip(names, results, strict=True) if why is not None]

    async def _run_check(self, name: str) -> str | None:
        try:
            async with asyncio.timeout(self.check_timeout):
                ok = await self._checks[name]()
        except TimeoutError:
            return f"timed out after {self.check_timeout} s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if ok else "check returned false"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.request_timeout):
                head = await reader.readuntil(b"\r\n\r\n")
            status, content_type, body, head_only = await self._respond(head)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            status, content_type, body, head_only = 400, _TEXT, b"bad request\n", False
        except ConnectionError:
            writer.close()
            return
        except Exception:
            # A collector or check that breaks must not take the endpoint down with it.
            self._log.exception("observability request failed")
            status, content_type, body, head_only = 500, _TEXT, b"internal error\n", False
        try:
            writer.write(_response_head(status, content_type, len(body)))
            if not head_only:
                writer.write(body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _respond(self, head: bytes) -> tuple[int, str, bytes, bool]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return 400, _TEXT, b"bad request line\n", False
        method, target = parts[0], parts[1]
        if method not in ("GET", "HEAD"):
            return 405, _TEXT, b"only GET and HEAD\n", False
        head_only = method == "HEAD"
        path = target.split("?", 1)[0]
        if path == "/metrics":
            accept = _header(lines[1:], "accept")
            content_type, body = await asyncio.to_thread(self._render_metrics, accept)
            return 200, content_type, body, head_only
        if path == "/healthz":
            return 200, _TEXT, b"ok\n", head_only
        if path == "/readyz":
            failing = await self.readiness()
            if not failing:
                return 200, _TEXT, b"ready\n", head_only
            text = "not ready: " + "; ".join(f"{name} ({why})" for name, why in failing)
            return 503, _TEXT, (text + "\n").encode(), head_only
        return 404, _TEXT, b"not found: try /metrics, /healthz, /readyz\n", head_only

    def _render_metrics(self, accept: str) -> tuple[str, bytes]:
        encoder, content_type = choose_encoder(accept)
        return content_type, encoder(self.registry)

    def __repr__(self) -> str:
        state = "serving" if self._server is not None else "stopped"
        return (
            f"<ObservabilityServer {state} {self.host}:{self.port} checks={sorted(self._checks)}"
            f" draining={self._draining}>"
        )


def _header(lines: list[str], name: str) -> str:
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name:
            return value.strip()
    return ""


def _response_head(status: int, content_type: str, length: int) -> bytes:
    return (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n"
        "Connection: close\r\n"
        "Cache-Control: no-store\r\n"
        "\r\n"
    ).encode("latin-1")
