"""The Tariffs Sender interface (our CPO role): the paginated list of our own tariffs.

``GET /ocpi/2.2.1/cpo/tariffs?date_from&date_to&offset&limit``. With both ``OCPI-to-country-code`` and
``OCPI-to-party-id`` given (a platform hosting several CPOs, or a hub), only that party's tariffs are
listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, get

from gateway.modules import OCPI_VERSION
from gateway.modules.tariffs.service import OWN_KIND
from gateway.ocpi.pagination import list_objects_response

if TYPE_CHECKING:
    from gateway.ocpi.headers import RoutingHeaders
    from gateway.state import GatewayState

__all__ = ("TariffsSenderController",)


class TariffsSenderController(Controller):
    """``/ocpi/2.2.1/cpo/tariffs``."""

    path = f"/ocpi/{OCPI_VERSION}/cpo/tariffs"

    @get()
    async def list_tariffs(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """One page of our tariffs, oldest change first, with the pagination headers."""
        state: GatewayState = request.app.state.gateway
        await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
        routing: RoutingHeaders | None = request.scope.get("state", {}).get("routing")
        owner = None
        if routing is not None and routing.to_country_code and routing.to_party_id:
            owner = (routing.to_country_code, routing.to_party_id)
        return await list_objects_response(request, state, OWN_KIND, owner=owner)
