"""The floor every HTTP benchmark is compared with: a bare Litestar handler returning fixed bytes.

It does what a minimal Litestar app must do and nothing the gateway adds (no auth, no store, no
envelope building, no edge middleware), served by Granian exactly like the gateway.
"""

from __future__ import annotations

import os

from litestar import Litestar, MediaType, Response, get, post

__all__ = ("create_app",)

BODY = os.environ.get("BARE_BODY", '{"status_code":1000}').encode()


@get("/{path:path}", media_type=MediaType.JSON)
async def fixed_get() -> Response[bytes]:
    """Answer every GET with the same bytes."""
    return Response(content=BODY, media_type=MediaType.JSON)


@post("/{path:path}", media_type=MediaType.JSON, status_code=200)
async def fixed_post() -> Response[bytes]:
    """Answer every POST with the same bytes."""
    return Response(content=BODY, media_type=MediaType.JSON)


def create_app() -> Litestar:
    """The bare app (Granian factory)."""
    return Litestar(route_handlers=[fixed_get, fixed_post], openapi_config=None)
