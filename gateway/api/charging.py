"""``/api/sessions``: the CSMS reports a charging session (start, meter readings, stop) and gets a priced CDR.

- ``POST /api/sessions``: ``{id?, authorization_reference | token, location_id, evse_uid, connector_id,
  start_date_time?, tariff_id?, kwh?, meter_id?}`` opens an ACTIVE Session (201, the Session).
- ``POST /api/sessions/{session_id}/progress``: ``{timestamp, kwh, power_kw?, current_a?, status?}`` adds
  the period since the previous reading and the running ``total_cost`` (200, the Session).
- ``POST /api/sessions/{session_id}/stop``: ``{timestamp, kwh, ...}`` completes the session and stores its
  CDR once (201 with the CDR; 200 with the stored CDR when the session was already stopped).

Answers are plain JSON like the rest of ``/api``; errors are OCPI envelopes (2001 with HTTP 400 for a bad
body, 404 for unknown objects, 409 for a session that is not running). See
:mod:`gateway.modules.sessions.flow` for how periods and totals are built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, post

from gateway.api.auth import ApiKeyMiddleware
from gateway.modules.locations._params import segment
from gateway.modules.sessions.flow import MeterReading, StartRequest, flow_of
from gateway.ocpi.body import decode_body

if TYPE_CHECKING:
    from gateway.modules.sessions.flow import ChargingFlow
    from gateway.state import GatewayState

__all__ = ("ChargingFlowController",)

_encoder = msgspec.json.Encoder()
_HTTP = 400


def _json(value: Any, status: int = 200) -> Response[bytes]:
    return Response(content=_encoder.encode(value), media_type=MediaType.JSON, status_code=status)


def _flow(request: Request[Any, Any, Any]) -> ChargingFlow:
    state: GatewayState = request.app.state.gateway
    flow = flow_of(request.app.state, state.settings, state.store, state.authorizer)
    flow.outbox = state.outbox
    return flow


def _session_id(request: Request[Any, Any, Any]) -> str:
    value = segment(request, "session_id")
    assert value is not None  # a routed segment
    return value


class ChargingFlowController(Controller):
    """Our own sessions, from the CSMS."""

    path = "/api/sessions"
    middleware = [ApiKeyMiddleware]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/", status_code=201)
    async def start(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Start a session from an authorisation (or a token) on one of our connectors."""
        body = decode_body(await request.body(), StartRequest, validation_http_status=_HTTP)
        return _json(await _flow(request).start(body), 201)

    @post("/{session_id:str}/progress", status_code=200)
    async def progress(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """A meter reading of a running session."""
        session_id = _session_id(request)
        body = decode_body(await request.body(), MeterReading, validation_http_status=_HTTP)
        return _json(await _flow(request).progress(session_id, body))

    @post("/{session_id:str}/stop", status_code=200)
    async def stop(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Stop a session; the answer is its CDR (the stored one when it was stopped before)."""
        session_id = _session_id(request)
        body = decode_body(await request.body(), MeterReading, validation_http_status=_HTTP)
        cdr, created = await _flow(request).stop(session_id, body)
        return _json(cdr, 201 if created else 200)
