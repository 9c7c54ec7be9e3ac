"""The outermost ASGI layer: path normalisation, request and correlation ids, routing headers, access log.

It wraps Litestar's whole handler (router included), so it also sees 404s of unknown paths.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import msgspec

from gateway.ids import serial_uuid_str

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ("EdgeMiddleware", "RoutingHeaders", "normalise_path")

log = logging.getLogger("gateway.access")

_CONFIGURATION_SUFFIXES = ("/versions", "/credentials")


class RoutingHeaders(msgspec.Struct, frozen=True, kw_only=True):
    """The OCPI routing headers of a request, upper-cased; ``None`` where absent."""

    to_country_code: str | None = None
    to_party_id: str | None = None
    from_country_code: str | None = None
    from_party_id: str | None = None

    @property
    def present(self) -> bool:
        """Whether the request carried any routing header."""
        return any((self.to_country_code, self.to_party_id, self.from_country_code, self.from_party_id))


def normalise_path(path: str) -> str:
    """Collapse doubled slashes and drop a trailing one, so ``url/`` + ``/id`` and ``url/`` both route."""
    if "//" in path:
        while "//" in path:
            path = path.replace("//", "/")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


_ROUTING_NAMES = {
    b"ocpi-to-country-code": "to_country_code",
    b"ocpi-to-party-id": "to_party_id",
    b"ocpi-from-country-code": "from_country_code",
    b"ocpi-from-party-id": "from_party_id",
}


class EdgeMiddleware:
    """Pure ASGI middleware around the Litestar app (see module docstring)."""

    def __init__(self, app: ASGIApp, fast_routes: dict[tuple[str, str], ASGIApp] | None = None) -> None:
        self.app = app
        self.fast_routes = fast_routes or {}
        """(method, path) served by a plain ASGI callable instead of the router (the swipe fast path)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = normalise_path(scope["path"])
        if path != scope["path"]:
            scope["path"] = path
            scope["raw_path"] = path.encode()
        request_id = correlation_id = None
        routing: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:255]
            elif name == b"x-correlation-id":
                correlation_id = value.decode("latin-1")[:255]
            elif name in _ROUTING_NAMES:
                routing[_ROUTING_NAMES[name]] = value.decode("latin-1").strip().upper()[:3]
        request_id = request_id or serial_uuid_str()
        correlation_id = correlation_id or serial_uuid_str()
        routing_headers = RoutingHeaders(**routing)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["correlation_id"] = correlation_id
        state["routing"] = routing_headers
        extra = [
            (b"x-request-id", request_id.encode("latin-1")),
            (b"x-correlation-id", correlation_id.encode("latin-1")),
        ]
        if routing_headers.present and not path.endswith(_CONFIGURATION_SUFFIXES):
            extra.extend(_swapped(routing_headers))
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        target = self.fast_routes.get((scope["method"], path), self.app)
        try:
            await target(scope, receive, send_with_headers)
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra=_access_fields(scope, status, request_id, correlation_id, time.perf_counter() - started),
                )


def _swapped(routing: RoutingHeaders) -> list[tuple[bytes, bytes]]:
    """Response routing headers: the request's from becomes to and the other way round."""
    pairs = (
        (b"ocpi-to-country-code", routing.from_country_code),
        (b"ocpi-to-party-id", routing.from_party_id),
        (b"ocpi-from-country-code", routing.to_country_code),
        (b"ocpi-from-party-id", routing.to_party_id),
    )
    return [(name, value.encode("latin-1")) for name, value in pairs if value]


def _access_fields(scope: Scope, status: int, request_id: str, correlation_id: str, seconds: float) -> dict[str, Any]:
    # Never the query string's secrets or any header: only what identifies the call.
    return {
        "method": scope.get("method"),
        "path": scope.get("path"),
        "status": status,
        "request_id": request_id,
        "correlation_id": correlation_id,
        "ms": round(seconds * 1000, 3),
    }
