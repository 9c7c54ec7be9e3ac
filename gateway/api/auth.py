"""The back-office API key check: ``Authorization: Bearer KEY``, compared in constant time."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler

    from gateway.state import GatewayState

__all__ = ("require_api_key",)


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Litestar guard: the request must carry the configured back-office key.

    A coroutine on purpose: Litestar runs a plain-function guard in a worker thread, a thread hop on
    every request for a check that takes a microsecond.

    Raises:
        PermissionDeniedException: No key is configured, so the API is closed (403).
        NotAuthorizedException: The key is missing or wrong (401).
    """
    state: GatewayState = connection.app.state.gateway
    expected = state.settings.api_key
    if not expected:
        raise PermissionDeniedException("The back-office API is closed: set OCPI_API_KEY or --api-key")
    scheme, _sep, given = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise NotAuthorizedException("A valid 'Authorization: Bearer <api key>' header is required")
