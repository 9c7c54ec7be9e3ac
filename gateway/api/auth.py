"""The back-office API key check: ``Authorization: Bearer KEY``, compared in constant time.

Controllers use :class:`ApiKeyMiddleware` (``middleware = [ApiKeyMiddleware]``). The same check is also
available as a Litestar guard, :func:`require_api_key`, but a guard costs more per request: Litestar copies
the route handler (dozens of attributes) for every guard call, which was a visible share of a
``/api/authorize`` answered from the cache.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import ASGIApp, Receive, Scope, Send

    from gateway.state import GatewayState

__all__ = ("ApiKeyMiddleware", "check_api_key", "require_api_key")


def check_api_key(expected: str | None, header: str) -> None:
    """Check an ``Authorization`` header value against the configured back-office key.

    Raises:
        PermissionDeniedException: No key is configured, so the API is closed (403).
        NotAuthorizedException: The key is missing or wrong (401).
    """
    if not expected:
        raise PermissionDeniedException("The back-office API is closed: set OCPI_API_KEY or --api-key")
    scheme, _sep, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise NotAuthorizedException("A valid 'Authorization: Bearer <api key>' header is required")


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Litestar guard: the request must carry the configured back-office key (see :func:`check_api_key`).

    A coroutine on purpose: Litestar runs a plain-function guard in a worker thread.
    """
    state: GatewayState = connection.app.state.gateway
    check_api_key(state.settings.api_key, connection.headers.get("authorization", ""))


class ApiKeyMiddleware:
    """ASGI middleware for a controller: every request must carry the back-office key (see :func:`check_api_key`).

    Errors are raised like the guard's, so the app's exception handlers answer them (401/403 envelopes).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: GatewayState = scope["app"].state.gateway
        header = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        check_api_key(state.settings.api_key, header)
        await self.app(scope, receive, send)
