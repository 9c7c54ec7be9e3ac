"""Locations Sender (we are the CPO): partners pull our Locations.

``GET /ocpi/2.2.1/cpo/locations`` is the paginated list (``date_from``, ``date_to``, ``offset``,
``limit``; ``X-Total-Count``, ``X-Limit``, ``Link``), oldest change first. ``GET .../{location_id}
[/{evse_uid}[/{connector_id}]]`` returns one object of one of our CPO parties; unknown ones are 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, Response, get

from gateway.modules.locations._params import our_cpo_parties, segment
from gateway.modules.locations.service import OWN, find_connector, find_evse, service_of
from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.pagination import list_objects_response
from gateway.ocpi.status import NotFoundError

if TYPE_CHECKING:
    from gateway.state import GatewayState

__all__ = ("LocationsSender",)

_LOCATION = "/{location_id:str}"
_EVSE = _LOCATION + "/{evse_uid:str}"
_CONNECTOR = _EVSE + "/{connector_id:str}"


class LocationsSender(Controller):
    """The CPO's Locations Sender interface."""

    path = "/ocpi/2.2.1/cpo/locations"

    @get()
    async def list_locations(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Our Locations, paginated, oldest change first."""
        state: GatewayState = request.app.state.gateway
        await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
        return await list_objects_response(request, state, OWN)

    @get([_LOCATION, _EVSE, _CONNECTOR])
    async def read(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """One of our Locations, EVSEs or Connectors."""
        state: GatewayState = request.app.state.gateway
        await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
        location_id, evse_uid = segment(request, "location_id"), segment(request, "evse_uid")
        connector_id = segment(request, "connector_id")
        assert location_id is not None  # a routed segment
        service = service_of(request.app.state, state.store)
        found = await service.get_own_raw(our_cpo_parties(state.settings), location_id)
        if found is None:
            raise NotFoundError(f"Unknown location {location_id}")
        if evse_uid is None:
            return ocpi_response(msgspec.Raw(found[1]))
        evse = find_evse(service.decode(found[1]), evse_uid)
        if evse is None:
            raise NotFoundError(f"Unknown EVSE {location_id}/{evse_uid}")
        if connector_id is None:
            return ocpi_response(evse)
        connector = find_connector(evse, connector_id)
        if connector is None:
            raise NotFoundError(f"Unknown connector {location_id}/{evse_uid}/{connector_id}")
        return ocpi_response(connector)
