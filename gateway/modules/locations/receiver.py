"""Locations Receiver (we are the eMSP): CPOs GET, PUT and PATCH their Locations, EVSEs and Connectors at
``/ocpi/2.2.1/emsp/locations/{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]``.

The owner in the URL must be one of the calling partner's parties (else 404, so partners stay apart);
ids in the body must equal the URL's (2001). PUT answers 201 for a new object and 200 for a replaced
one; a PUT or PATCH of a child of an unknown Location, and a PATCH of any unknown object, is 404 with
2001 and stores nothing. Answers carry no ``data``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, put

from gateway.modules.locations._params import owners_of, segment
from gateway.modules.locations.models import EVSE, Connector, ConnectorPatch, EVSEPatch, Location, LocationPatch
from gateway.modules.locations.service import (
    RECEIVED,
    LocationService,
    find_connector,
    find_evse,
    location_key,
    service_of,
)
from gateway.modules.tokens.models import ci_key
from gateway.ocpi.body import decode_body, invalid_content
from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.status import NotFoundError
from gateway.store.base import ObjectKey

if TYPE_CHECKING:
    from gateway.modules.locations.service import LocationChange

__all__ = ("LocationsReceiver",)

_LOCATION = "/{country_code:str}/{party_id:str}/{location_id:str}"
_EVSE = _LOCATION + "/{evse_uid:str}"
_CONNECTOR = _EVSE + "/{connector_id:str}"
_PATHS = [_LOCATION, _EVSE, _CONNECTOR]


class _Target(msgspec.Struct, frozen=True):
    """What a Receiver URL names, after authentication and the owner check."""

    service: LocationService
    key: ObjectKey
    location_id: str
    evse_uid: str | None
    connector_id: str | None
    validation_http_status: int


async def _target(request: Request[Any, Any, Any]) -> _Target:
    """Authenticate, check the owner belongs to the caller, read the URL's ids."""
    state = request.app.state.gateway
    partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
    country_code = segment(request, "country_code", 2)
    party_id = segment(request, "party_id", 3)
    location_id = segment(request, "location_id")
    assert country_code is not None  # routed segments are always present
    assert party_id is not None
    assert location_id is not None
    if (ci_key(country_code), ci_key(party_id)) not in owners_of(partner.roles):
        raise NotFoundError(f"{country_code}/{party_id} is not one of your parties")
    return _Target(
        service=service_of(request.app.state, state.store),
        key=location_key(country_code, party_id, location_id),
        location_id=location_id,
        evse_uid=segment(request, "evse_uid"),
        connector_id=segment(request, "connector_id"),
        validation_http_status=state.settings.validation_http_status,
    )


def _same(given: str | None, expected: str) -> bool:
    return given is None or ci_key(given) == ci_key(expected)


def _check_ids(target: _Target, body: msgspec.Struct, http_status: int) -> None:
    """Identifiers in a body (when present) must name the object of the URL."""
    key = target.key
    checks: tuple[tuple[str, str], ...]
    if target.connector_id is not None:
        checks = (("id", target.connector_id),)
    elif target.evse_uid is not None:
        checks = (("uid", target.evse_uid),)
    else:
        checks = (("country_code", key.country_code), ("party_id", key.party_id), ("id", target.location_id))
    for field, expected in checks:
        if not _same(getattr(body, field), expected):
            raise invalid_content(f"field `{field}` of the body must equal the URL's ({expected})", http_status)


def _answer(change: LocationChange) -> Response[bytes]:
    return ocpi_response(http_status=201 if change.created else 200)


class LocationsReceiver(Controller):
    """The eMSP's Locations Receiver interface."""

    path = "/ocpi/2.2.1/emsp/locations"

    @get(_PATHS)
    async def read(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """A Location, EVSE or Connector as we hold it."""
        target = await _target(request)
        if target.evse_uid is None:
            data = await target.service.get_raw(RECEIVED, target.key)
            if data is None:
                raise NotFoundError(f"Unknown location {target.location_id}")
            return ocpi_response(msgspec.Raw(data))
        location = await target.service.get(RECEIVED, target.key)
        evse = None if location is None else find_evse(location, target.evse_uid)
        if evse is None:
            raise NotFoundError(f"Unknown EVSE {target.location_id}/{target.evse_uid}")
        if target.connector_id is None:
            return ocpi_response(evse)
        connector = find_connector(evse, target.connector_id)
        if connector is None:
            raise NotFoundError(f"Unknown connector {target.location_id}/{target.evse_uid}/{target.connector_id}")
        return ocpi_response(connector)

    @put(_PATHS)
    async def replace(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Create or replace a Location, an EVSE (of a known Location) or a Connector (of a known EVSE)."""
        target = await _target(request)
        body, status, service, key = await request.body(), target.validation_http_status, target.service, target.key
        if target.evse_uid is None:
            location = decode_body(body, Location, validation_http_status=status)
            _check_ids(target, location, status)
            return _answer(await service.put_location(RECEIVED, location))
        if target.connector_id is None:
            evse = decode_body(body, EVSE, validation_http_status=status)
            _check_ids(target, evse, status)
            return _answer(await service.put_evse(RECEIVED, key, evse))
        connector = decode_body(body, Connector, validation_http_status=status)
        _check_ids(target, connector, status)
        return _answer(await service.put_connector(RECEIVED, key, target.evse_uid, connector))

    @patch(_PATHS)
    async def update(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Change some fields of a known object; ``last_updated`` is required; lists replace stored lists."""
        target = await _target(request)
        body, status, service, key = await request.body(), target.validation_http_status, target.service, target.key
        if target.evse_uid is None:
            location = decode_body(body, LocationPatch, validation_http_status=status)
            _check_ids(target, location, status)
            await service.patch_location(RECEIVED, key, location)
        elif target.connector_id is None:
            evse = decode_body(body, EVSEPatch, validation_http_status=status)
            _check_ids(target, evse, status)
            await service.patch_evse(RECEIVED, key, target.evse_uid, evse)
        else:
            connector = decode_body(body, ConnectorPatch, validation_http_status=status)
            _check_ids(target, connector, status)
            await service.patch_connector(RECEIVED, key, target.evse_uid, target.connector_id, connector)
        return ocpi_response()
