"""Tokens Receiver (we are the CPO): eMSPs GET, PUT and PATCH their tokens at
``/ocpi/2.2.1/cpo/tokens/{country_code}/{party_id}/{uid}[?type=]``.

The owner in the URL must be one of the calling partner's parties (a partner cannot read or write
another party's tokens: 404), and must equal the body's owner and uid (2001).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, put

from gateway.modules.tokens._params import token_type, url_segment
from gateway.modules.tokens.models import Token, ci_key
from gateway.modules.tokens.service import owners_of, token_key
from gateway.ocpi.body import decode_body, invalid_content
from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.status import NotFoundError

if TYPE_CHECKING:
    from gateway.state import GatewayState
    from gateway.store.base import ObjectKey

__all__ = ("TokensReceiver",)

_PATH = "/{country_code:str}/{party_id:str}/{uid:str}"


async def _target(request: Request[Any, Any, Any]) -> tuple[GatewayState, ObjectKey, str]:
    """Authenticate, check the owner belongs to the caller, and return the token's key and type."""
    state: GatewayState = request.app.state.gateway
    partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
    country_code = url_segment(request, "country_code", 2)
    party_id = url_segment(request, "party_id", 3)
    uid = url_segment(request, "uid", 36)
    kind = token_type(request)
    if (ci_key(country_code), ci_key(party_id)) not in owners_of(partner.roles):
        raise NotFoundError(f"{country_code}/{party_id} is not one of your parties")
    return state, token_key(country_code, party_id, uid, kind), kind


def _check_identity(token: Token, key: ObjectKey, kind: str, http_status: int) -> None:
    if token_key(token.country_code, token.party_id, token.uid, token.type) != key or token.type != kind:
        raise invalid_content(
            "country_code, party_id, uid and type of the body must match the URL (type defaults to RFID)",
            http_status,
        )


class TokensReceiver(Controller):
    """The CPO's Tokens Receiver interface."""

    path = "/ocpi/2.2.1/cpo/tokens"

    @get(_PATH)
    async def read(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """One token, as we hold it."""
        state, key, _ = await _target(request)
        data = await state.tokens.get(key)
        if data is None:
            raise NotFoundError("Unknown token")
        return ocpi_response(msgspec.Raw(data))

    @put(_PATH)
    async def replace(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Create or replace a token: 201 when new, 200 when replaced; every cache hears of it."""
        state, key, kind = await _target(request)
        status = state.settings.validation_http_status
        token = decode_body(await request.body(), Token, validation_http_status=status)
        _check_identity(token, key, kind, status)
        created = await state.tokens.put(token)
        return ocpi_response(http_status=201 if created else 200)

    @patch(_PATH)
    async def update(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Change some fields of a known token; ``last_updated`` is required."""
        state, key, _ = await _target(request)
        status = state.settings.validation_http_status
        await state.tokens.patch(key, await request.body(), validation_http_status=status)
        return ocpi_response()

