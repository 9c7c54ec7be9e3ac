"""The Tariffs Receiver interface (our eMSP role): partners' CPOs push their tariffs to us.

``GET/PUT/DELETE /ocpi/2.2.1/emsp/tariffs/{country_code}/{party_id}/{tariff_id}`` (client-owned URLs,
transport_and_format.md §8):

- the owner in the URL must be a CPO role the calling partner registered (a hub may push for any
  party); otherwise 404, so that partners cannot probe each other's objects;
- the body's ``country_code``/``party_id``/``id`` must equal the URL's (case-insensitive), else 2001;
- PUT answers HTTP 201 when the tariff is new and 200 when it replaced one, without ``data``;
- GET and DELETE of an unknown tariff: 404 + 2001.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, put

from gateway.modules import OCPI_VERSION
from gateway.modules.tariffs.service import (
    RECEIVED_KIND,
    delete_tariff,
    get_tariff,
    parse_tariff,
    put_tariff,
    tariff_key,
)
from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.status import NotFoundError, OcpiError, OcpiStatus

if TYPE_CHECKING:
    from gateway.state import GatewayState
    from gateway.store.base import ObjectKey, Partner

__all__ = ("TariffsReceiverController",)

_OWNER_ROLES = frozenset(("CPO",))
"""Roles that own tariffs; a partner pushes tariffs only under one of its own CPO parties."""


def _owns(partner: Partner, country_code: str, party_id: str) -> bool:
    if any(role.role == "HUB" for role in partner.roles):
        return True  # a hub pushes on behalf of the parties connected to it
    return any(
        role.role in _OWNER_ROLES and role.country_code == country_code and role.party_id == party_id
        for role in partner.roles
    )


async def _target(request: Request[Any, Any, Any]) -> tuple[GatewayState, ObjectKey]:
    """Authenticate the caller and check that the URL's owner is one of its parties."""
    state: GatewayState = request.app.state.gateway
    partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
    params = request.path_params
    key = tariff_key(params["country_code"], params["party_id"], params["tariff_id"])
    if not _owns(partner, key.country_code, key.party_id):
        raise NotFoundError(f"No tariff owner {key.country_code}/{key.party_id} among your CPO roles")
    return state, key


def _mismatch(field: str, url_value: str, body_value: str, http_status: int) -> OcpiError:
    return OcpiError(
        OcpiStatus.INVALID_PARAMETERS,
        f"Invalid request body: field `{field}` is {body_value!r} but the URL says {url_value!r}",
        http_status=http_status,
    )


class TariffsReceiverController(Controller):
    """``/ocpi/2.2.1/emsp/tariffs/{country_code}/{party_id}/{tariff_id}``."""

    path = f"/ocpi/{OCPI_VERSION}/emsp/tariffs/{{country_code:str}}/{{party_id:str}}/{{tariff_id:str}}"

    @get()
    async def read(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Our copy of a partner's tariff (the CPO checks what we hold)."""
        state, key = await _target(request)
        data = await get_tariff(state.store, RECEIVED_KIND, key)
        if data is None:
            raise NotFoundError(f"Unknown tariff {key.country_code}/{key.party_id}/{key.id}")
        return ocpi_response(msgspec.Raw(data))

    @put()
    async def store(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Create or replace a tariff: 201 when created, 200 when replaced."""
        state, key = await _target(request)
        http_status = state.settings.validation_http_status
        parsed = parse_tariff(await request.body(), validation_http_status=http_status)
        for field, url_value, body_value in (
            ("country_code", key.country_code, parsed.key.country_code),
            ("party_id", key.party_id, parsed.key.party_id),
            ("id", key.id, parsed.key.id),
        ):
            if url_value != body_value:
                raise _mismatch(field, url_value, body_value, http_status)
        created = await put_tariff(state.store, RECEIVED_KIND, parsed)
        return ocpi_response(http_status=201 if created else 200)

    @delete(status_code=200)
    async def remove(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Delete a tariff that will not be used again."""
        state, key = await _target(request)
        if not await delete_tariff(state.store, RECEIVED_KIND, key):
            raise NotFoundError(f"Unknown tariff {key.country_code}/{key.party_id}/{key.id}")
        return ocpi_response()
