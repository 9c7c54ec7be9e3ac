"""``/api/authorizations/{ref}`` (``/api/authorize`` itself is the fast path in gateway/api/fastpath.py) and
``/api/tokens/import`` (bulk ingest over HTTP), all behind the back-office key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post

from gateway.api.auth import ApiKeyMiddleware
from gateway.modules.tokens.ingest import import_bytes, target_kind_and_owners
from gateway.modules.tokens.models import ci_key
from gateway.ocpi.status import NotFoundError, OcpiError, OcpiStatus

if TYPE_CHECKING:
    from gateway.state import GatewayState

__all__ = ("AuthorizeController", "TokenImportController")

_encoder = msgspec.json.Encoder()


def _json(value: Any, status: int = 200) -> Response[bytes]:
    return Response(content=_encoder.encode(value), media_type=MediaType.JSON, status_code=status)


class AuthorizeController(Controller):
    """Authorisation for the operator's own systems."""

    path = "/api"
    middleware = [ApiKeyMiddleware]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/authorizations/{reference:str}")
    async def authorization(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """An earlier answer by its ``authorization_reference``, until it expires."""
        state: GatewayState = request.app.state.gateway
        found = await state.authorizer.lookup(request.path_params["reference"])
        if found is None:
            raise NotFoundError("Unknown or expired authorization_reference")
        return _json(found)


class TokenImportController(Controller):
    """Bulk token ingest over HTTP."""

    path = "/api/tokens"
    middleware = [ApiKeyMiddleware]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/import", status_code=200)
    async def import_tokens(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """A JSON array or NDJSON of Tokens into a partner's namespace (``?partner=ID``) or ours (``?own=true``)."""
        state: GatewayState = request.app.state.gateway
        partner_id = request.query_params.get("partner")
        own = request.query_params.get("own") in ("1", "true", "yes")
        if bool(partner_id) == own:
            raise OcpiError(OcpiStatus.INVALID_PARAMETERS, "give exactly one of ?partner=ID or ?own=true",
                            http_status=400)
        partner = await state.store.get_partner(partner_id) if partner_id else None
        if partner_id and partner is None:
            raise NotFoundError(f"No partner {partner_id}")
        own_owners = {(ci_key(r.country_code), ci_key(r.party_id)) for r in state.settings.roles if r.role == "EMSP"}
        kind, owners = target_kind_and_owners(partner, own_owners)
        # our own tokens go to every CPO partner, their PUTs stored with them
        summary = await import_bytes(state.tokens, await request.body(), kind, owners,
                                     outbox=state.outbox if partner is None else None)
        return _json(summary)
