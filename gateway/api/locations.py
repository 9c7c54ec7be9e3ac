"""``/api/locations``: the CSMS keeps our own network (the Locations the CPO Sender serves) up to date.

- ``PUT /api/locations/{location_id}``: create or replace a whole Location. Its ``country_code`` and
  ``party_id`` must be one of our CPO roles and its ``id`` the URL's.
- ``GET /api/locations/{location_id}``: the Location as stored.
- ``PUT /api/locations/{location_id}/evses/{evse_uid}``: create or replace one EVSE of a known Location.
- ``POST /api/locations/{location_id}/evses/{evse_uid}/status``: ``{"status": "CHARGING", "last_updated"?}``,
  the frequent one: sets the EVSE's status and the EVSE's and Location's ``last_updated``.

``last_updated`` may be left out everywhere in this API (unlike OCPI): the gateway then stamps the object
(and any EVSE or Connector inside it without one) with the time the request arrived. A CSMS that knows when
a change happened should send it. Answers are plain JSON (no OCPI envelope): the :class:`LocationChange`
that was stored, 201 when a PUT created the object, 200 otherwise. Errors are OCPI envelopes (2001 with
HTTP 400 for a bad body, 404 for unknown objects) like the rest of ``/api``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post, put

from gateway.api.auth import require_api_key
from gateway.modules.locations._params import our_cpo_parties, segment
from gateway.modules.locations.models import EVSE, Location, Status
from gateway.modules.locations.service import OWN, service_of
from gateway.modules.tokens.models import ci_key
from gateway.ocpi.body import decode_body, invalid_content, invalid_json
from gateway.ocpi.status import NotFoundError
from gateway.ocpi.types import OcpiStruct, format_datetime

if TYPE_CHECKING:

    from gateway.modules.locations.service import LocationChange, LocationService
    from gateway.state import GatewayState

__all__ = ("LocationsApiController", "StatusUpdate")

_encoder = msgspec.json.Encoder()
_HTTP = 400
"""HTTP status of a rejected body on the back-office API."""


class StatusUpdate(OcpiStruct, frozen=True, kw_only=True):
    """Body of the EVSE status update."""

    status: Status
    last_updated: datetime | None = None
    """When the status changed, UTC; the time of the request when omitted."""


def _json(value: Any, status: int = 200) -> Response[bytes]:
    return Response(content=_encoder.encode(value), media_type=MediaType.JSON, status_code=status)


def _changed(change: LocationChange, *, put_answer: bool = False) -> Response[bytes]:
    return _json(change, 201 if put_answer and change.created else 200)


def _stamped(body: bytes, children: tuple[str, ...]) -> bytes:
    """The body with ``last_updated`` set to now wherever an object (or a listed child) lacks it."""
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise invalid_json(str(exc)) from None
    if not isinstance(document, dict):
        return body  # let the typed decode explain what is wrong
    now = format_datetime(datetime.now(UTC))
    _stamp(document, children, now)
    return _encoder.encode(document)


def _stamp(document: dict[str, Any], children: tuple[str, ...], now: str) -> None:
    if document.get("last_updated") is None:
        document["last_updated"] = now
    if children:
        for child in document.get(children[0]) or ():
            if isinstance(child, dict):
                _stamp(child, children[1:], now)


def _context(request: Request[Any, Any, Any]) -> tuple[GatewayState, LocationService, str]:
    state: GatewayState = request.app.state.gateway
    location_id = segment(request, "location_id")
    assert location_id is not None  # a routed segment
    return state, service_of(request.app.state, state.store), location_id


class LocationsApiController(Controller):
    """Our own Locations, from the CSMS."""

    path = "/api/locations"
    guards = [require_api_key]  # noqa: RUF012 - Litestar reads it as a class attribute

    @put("/{location_id:str}")
    async def put_location(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Create or replace one of our Locations."""
        state, service, location_id = _context(request)
        body = _stamped(await request.body(), ("evses", "connectors"))
        location = decode_body(body, Location, validation_http_status=_HTTP)
        if (ci_key(location.country_code), ci_key(location.party_id)) not in our_cpo_parties(state.settings):
            raise invalid_content(f"{location.country_code}/{location.party_id} is not one of our CPO roles", _HTTP)
        if ci_key(location.id) != ci_key(location_id):
            raise invalid_content("field `id` of the body must equal the URL's", _HTTP)
        return _changed(await service.put_location(OWN, location, outbox=state.outbox), put_answer=True)

    @get("/{location_id:str}")
    async def get_location(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """One of our Locations as stored (and as the CPO Sender serves it)."""
        state, service, location_id = _context(request)
        found = await service.get_own_raw(our_cpo_parties(state.settings), location_id)
        if found is None:
            raise NotFoundError(f"Unknown location {location_id}")
        return Response(content=found[1], media_type=MediaType.JSON)

    @put("/{location_id:str}/evses/{evse_uid:str}")
    async def put_evse(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Create or replace one EVSE of one of our Locations; the Location's ``last_updated`` follows."""
        state, service, location_id = _context(request)
        evse_uid = segment(request, "evse_uid")
        assert evse_uid is not None
        evse = decode_body(_stamped(await request.body(), ("connectors",)), EVSE, validation_http_status=_HTTP)
        if ci_key(evse.uid) != ci_key(evse_uid):
            raise invalid_content("field `uid` of the body must equal the URL's", _HTTP)
        key = await service.own_key(our_cpo_parties(state.settings), location_id)
        if key is None:
            raise NotFoundError(f"Unknown location {location_id}")
        return _changed(await service.put_evse(OWN, key, evse, outbox=state.outbox), put_answer=True)

    @post("/{location_id:str}/evses/{evse_uid:str}/status", status_code=200)
    async def set_status(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Set one EVSE's status: one read and one write of its Location."""
        state, service, location_id = _context(request)
        evse_uid = segment(request, "evse_uid")
        assert evse_uid is not None
        update = decode_body(await request.body(), StatusUpdate, validation_http_status=_HTTP)
        key = await service.own_key(our_cpo_parties(state.settings), location_id)
        if key is None:
            raise NotFoundError(f"Unknown location {location_id}")
        change = await service.set_evse_status(
            OWN, key, evse_uid, update.status, update.last_updated, outbox=state.outbox
        )
        return _changed(change)
