"""``/api/partners``: list, add and remove partners from the back office (the CLI does the same on the store)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.exceptions import ClientException, NotFoundException

from gateway.api.auth import ApiKeyMiddleware
from gateway.modules.credentials.partners import PartnerCreate, PartnerView, create_partner, partner_view
from gateway.ocpi.body import decode_body

if TYPE_CHECKING:
    from gateway.state import GatewayState

__all__ = ("PartnersController",)


class PartnerCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an add: the partner, and token A when one was generated (shown once)."""

    partner: PartnerView
    token_a: str | None = None


class PartnersController(Controller):
    """Partner records."""

    path = "/api/partners"
    middleware = [ApiKeyMiddleware]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get()
    async def list_partners(self, request: Request[Any, Any, Any]) -> list[PartnerView]:
        """Every partner, oldest first. Tokens are never shown."""
        state: GatewayState = request.app.state.gateway
        return [partner_view(p) for p in await state.store.list_partners()]

    @post()
    async def add_partner(self, request: Request[Any, Any, Any]) -> PartnerCreated:
        """Add a partner from existing credentials, or generate a registration token A for it."""
        state: GatewayState = request.app.state.gateway
        data = decode_body(await request.body(), PartnerCreate, validation_http_status=400)
        try:
            partner, token_a = await create_partner(state.store, data)
        except ValueError as exc:
            raise ClientException(detail=str(exc)) from exc
        return PartnerCreated(partner=partner_view(partner), token_a=token_a)

    @delete("/{partner_id:str}", status_code=204)
    async def remove_partner(self, request: Request[Any, Any, Any]) -> None:
        """Remove a partner record; its token stops working."""
        partner_id = request.path_params["partner_id"]
        state: GatewayState = request.app.state.gateway
        if not await state.store.remove_partner(partner_id):
            raise NotFoundException(detail=f"No partner {partner_id}")
        state.partners.clear()
