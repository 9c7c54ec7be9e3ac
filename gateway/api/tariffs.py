"""``/api/tariffs/{tariff_id}``: the CPO's back office publishes, reads and withdraws our own tariffs.

The body of a PUT is an OCPI Tariff whose ``country_code``/``party_id`` is one of our own CPO roles and
whose ``id`` equals the URL's. It is validated like a tariff a partner pushes (schema, then the pricing
engine), stored, and from then on served by the Tariffs Sender list. Errors are OCPI envelopes with HTTP
400 (the back office is not an OCPI partner that expects 200 + 2001).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, MediaType, Request, Response, delete, get, put
from litestar.exceptions import NotFoundException

from gateway.api.auth import require_api_key
from gateway.modules.tariffs.service import OWN_KIND, delete_tariff, get_tariff, parse_tariff, put_tariff, tariff_key
from gateway.ocpi.status import OcpiError, OcpiStatus

if TYPE_CHECKING:
    from gateway.state import GatewayState

__all__ = ("TariffsController",)

_HTTP_STATUS = 400


def _json(data: bytes, status_code: int = 200) -> Response[bytes]:
    return Response(content=data, status_code=status_code, media_type=MediaType.JSON)


class TariffsController(Controller):
    """Our own tariffs."""

    path = "/api/tariffs/{tariff_id:str}"
    guards = [require_api_key]  # noqa: RUF012 - Litestar reads it as a class attribute

    @put()
    async def publish(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Create (201) or replace (200) one of our tariffs; answers with the tariff as stored."""
        state: GatewayState = request.app.state.gateway
        parsed = parse_tariff(await request.body(), validation_http_status=_HTTP_STATUS)
        url_id = request.path_params["tariff_id"]
        if parsed.key.id != url_id.upper():
            raise OcpiError(
                OcpiStatus.INVALID_PARAMETERS,
                f"Invalid request body: field `id` is {parsed.tariff.id!r} but the URL says {url_id!r}",
                http_status=_HTTP_STATUS,
            )
        ours = {(r.country_code, r.party_id) for r in state.settings.roles if r.role == "CPO"}
        if (parsed.key.country_code, parsed.key.party_id) not in ours:
            listed = ", ".join(f"{cc}/{pid}" for cc, pid in sorted(ours)) or "none"
            raise OcpiError(
                OcpiStatus.INVALID_PARAMETERS,
                f"Tariff owner {parsed.key.country_code}/{parsed.key.party_id} is not one of our CPO roles ({listed})",
                http_status=_HTTP_STATUS,
            )
        created = await put_tariff(state.store, OWN_KIND, parsed)
        return _json(parsed.data, 201 if created else 200)

    @get()
    async def read(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """One of our tariffs as stored (the id is looked up without case, under each of our CPO roles)."""
        state, tariff_id = request.app.state.gateway, request.path_params["tariff_id"]
        for role in state.settings.roles:
            if role.role == "CPO":
                data = await get_tariff(state.store, OWN_KIND, tariff_key(role.country_code, role.party_id, tariff_id))
                if data is not None:
                    return _json(data)
        raise NotFoundException(detail=f"No tariff {tariff_id}")

    @delete(status_code=204)
    async def withdraw(self, request: Request[Any, Any, Any]) -> None:
        """Withdraw one of our tariffs: the Sender list no longer shows it."""
        state, tariff_id = request.app.state.gateway, request.path_params["tariff_id"]
        removed = False
        for role in state.settings.roles:
            if role.role == "CPO":
                key = tariff_key(role.country_code, role.party_id, tariff_id)
                removed = await delete_tariff(state.store, OWN_KIND, key) or removed
        if not removed:
            raise NotFoundException(detail=f"No tariff {tariff_id}")
