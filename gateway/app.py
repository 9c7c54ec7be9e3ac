"""``create_app(settings)``: the one place the gateway is wired: routes, the exception map, the lifespan.

Every error a partner can cause becomes an OCPI envelope here, and only here. Unexpected errors are
logged with the request id and answered with OCPI 3000 without any detail of the failure.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from litestar import Litestar, MediaType, Request, Response, get
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException

from gateway.api.charging import ChargingFlowController
from gateway.api.fastpath import FAST_ROUTES
from gateway.api.locations import LocationsApiController
from gateway.api.outbox import OutboxController
from gateway.api.partners import PartnersController
from gateway.api.tariffs import TariffsController
from gateway.api.tokens import AuthorizeController, TokenImportController
from gateway.core import CoreError
from gateway.modules import enabled_route_handlers
from gateway.ocpi.envelope import envelope_bytes
from gateway.ocpi.headers import EdgeMiddleware
from gateway.ocpi.status import OcpiError, OcpiStatus
from gateway.ocpi.versions import VersionsController
from gateway.push.client import PartnerClient
from gateway.settings import Settings
from gateway.state import GatewayState
from gateway.store import create_store
from gateway.store.base import WriteConflict

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from litestar.types import ControllerRouterHandler

__all__ = ("configure_logging", "create_app", "create_app_from_env")

log = logging.getLogger("gateway")

_STANDARD_LOG_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record."""
        fields: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_LOG_FIELDS})
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return json.dumps(fields, default=str)


def configure_logging(level: str, *, access_log: bool = False) -> None:
    """Structured logs on stderr for the gateway's loggers; one line per request only with ``access_log``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger("gateway")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    logging.getLogger("gateway.access").setLevel(logging.INFO if access_log else logging.WARNING)


def _envelope(status: int, message: str, http_status: int) -> Response[bytes]:
    return Response(
        content=envelope_bytes(status, message=message),
        status_code=http_status,
        media_type=MediaType.JSON,
    )


def _ocpi_error(_: Request[Any, Any, Any], exc: OcpiError) -> Response[bytes]:
    return _envelope(exc.status, exc.message, exc.http_status)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        return _envelope(OcpiStatus.INVALID_PARAMETERS, _validation_message(exc), 400)
    if isinstance(exc, NotAuthorizedException | PermissionDeniedException):
        return _envelope(OcpiStatus.CLIENT_ERROR, exc.detail, status)
    if status == 404:
        return _envelope(OcpiStatus.CLIENT_ERROR, f"No such endpoint: {request.url.path}", 404)
    if status == 405:
        return _envelope(OcpiStatus.CLIENT_ERROR, f"Method {request.method} is not allowed here", 405)
    if status >= 500:
        return _unexpected(request, exc)
    return _envelope(OcpiStatus.CLIENT_ERROR, exc.detail, status)


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra if isinstance(exc.extra, list) else []
    details = "; ".join(str(item.get("message", item)) if isinstance(item, dict) else str(item) for item in extra)
    return f"Invalid request: {details or exc.detail}"


def _core_error(_: Request[Any, Any, Any], exc: CoreError) -> Response[bytes]:
    return _envelope(OcpiStatus.INVALID_PARAMETERS, str(exc), 400)


def _write_conflict(_: Request[Any, Any, Any], exc: WriteConflict) -> Response[bytes]:
    return _envelope(OcpiStatus.SERVER_ERROR, "The object kept changing concurrently; retry the request", 503)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error(
        "unexpected error",
        exc_info=exc,
        extra={"request_id": request.scope.get("state", {}).get("request_id"), "path": request.url.path},
    )
    return _envelope(OcpiStatus.SERVER_ERROR, "Internal error; the request id identifies it in our logs", 500)


@get("/api/health", include_in_schema=False)
async def health(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Liveness: answers without credentials once the store is open."""
    state: GatewayState = request.app.state.gateway
    return {"status": "ok", "store": state.settings.store.split(":", 1)[0]}


def create_app(
    settings: Settings | None = None, extra_route_handlers: Sequence[ControllerRouterHandler] = ()
) -> Litestar:
    """Build the gateway's ASGI app.

    Args:
        settings: The settings; read from ``OCPI_*`` environment variables when omitted.
        extra_route_handlers: More routes to serve beside the gateway's own (extensions, tests).

    Returns:
        The Litestar app, wrapped by the edge middleware (paths, request ids, routing headers).
    """
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = create_store(settings.store)
        await store.open()
        client = PartnerClient(timeout=settings.partner_timeout)
        state = GatewayState(settings, store, client)
        await state.tokens.start()
        if settings.outbox_worker:
            await state.outbox.start()
        app.state.gateway = state
        # What start-up made (routes, models, clients) lives as long as the worker: move it out of the
        # collector's way, so full collections walk only what requests make (they were the p99 of a
        # token PUT on Redis: 49 to 55 ms, 15 ms frozen). No collection first: in a process with
        # a large heap (a test run) it would cost more than the start-up garbage it frees. Given back
        # at shutdown, so an app started and stopped in a longer process leaves nothing uncollectable.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await state.authorizer.drain()
            await state.outbox.stop()
            await state.tokens.stop()
            await client.aclose()
            await store.close()

    app = Litestar(
        route_handlers=[
            VersionsController,
            *enabled_route_handlers(settings),
            PartnersController,
            AuthorizeController,
            TokenImportController,
            LocationsApiController,
            ChargingFlowController,
            OutboxController,
            TariffsController,
            health,
            *extra_route_handlers,
        ],
        lifespan=[lifespan],
        exception_handlers={
            OcpiError: _ocpi_error,
            HTTPException: _http_error,
            CoreError: _core_error,
            WriteConflict: _write_conflict,
            Exception: _unexpected,
        },
        openapi_config=None,
        debug=False,
    )
    app.asgi_handler = EdgeMiddleware(app.asgi_handler, FAST_ROUTES)
    return app


def create_app_from_env() -> Litestar:
    """Factory for Granian workers: settings from the environment, logging configured."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, access_log=settings.access_log)
    return create_app(settings)
