"""Tokens Sender (we are the eMSP): CPOs pull our tokens and ask us to authorise them in real time.

``GET /ocpi/2.2.1/emsp/tokens`` is the paginated list of our own tokens; ``POST
/ocpi/2.2.1/emsp/tokens/{uid}/authorize[?type=]`` answers an AuthorizationInfo: ALLOWED for a valid
token, BLOCKED for an invalid one; HTTP 404 with 2004 for a token we do not have; 2002 when the
settings require LocationReferences and none came.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, Response, get, post

from gateway.modules.tokens._params import token_type, url_segment
from gateway.modules.tokens.models import LocationReferences, ci_key
from gateway.modules.tokens.service import OWN_TOKENS, token_key
from gateway.ocpi.body import decode_body
from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.pagination import list_objects_response
from gateway.ocpi.status import NotFoundError, OcpiError, OcpiStatus

if TYPE_CHECKING:
    from gateway.state import GatewayState

__all__ = ("TokensSender",)


class _Answer(msgspec.Struct, frozen=True, omit_defaults=True):
    allowed: str
    token: msgspec.Raw
    authorization_reference: str
    location: LocationReferences | None = None


class _Flags(msgspec.Struct):
    valid: bool


class TokensSender(Controller):
    """The eMSP's Tokens Sender interface."""

    path = "/ocpi/2.2.1/emsp/tokens"

    @get()
    async def list_tokens(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Our tokens, paginated, oldest change first."""
        state: GatewayState = request.app.state.gateway
        await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
        return await list_objects_response(request, state, OWN_TOKENS)

    @post("/{uid:str}/authorize", status_code=200)
    async def authorize(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Real-time authorisation of one of our tokens."""
        state: GatewayState = request.app.state.gateway
        await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
        uid = url_segment(request, "uid", 36)
        kind = token_type(request)
        body = (await request.body()).strip()
        location = None
        if body and body != b"null":
            location = decode_body(body, LocationReferences,
                                   validation_http_status=state.settings.validation_http_status)
        token = None
        for own in state.settings.roles:
            if own.role == "EMSP":
                token = await state.tokens.get(token_key(own.country_code, own.party_id, uid, kind), OWN_TOKENS)
                if token is not None:
                    break
        if token is None:
            raise NotFoundError(f"Unknown token {ci_key(uid)} ({kind})", OcpiStatus.UNKNOWN_TOKEN)
        if location is None and state.settings.require_location_references:
            raise OcpiError(OcpiStatus.NOT_ENOUGH_INFORMATION, "LocationReferences are required to authorise")
        valid = msgspec.json.decode(token, type=_Flags).valid
        answer = _Answer(allowed="ALLOWED" if valid else "BLOCKED", token=msgspec.Raw(token),
                         authorization_reference=uuid.uuid4().hex, location=location)
        return ocpi_response(answer)
