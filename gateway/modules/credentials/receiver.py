"""The credentials endpoint we serve: GET, POST (register), PUT (update and rotate), DELETE (unregister).

Registration tokens (state PENDING) may GET and POST; registered partners may GET, PUT and DELETE.
The wrong verb in the wrong state is answered with HTTP 405.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, delete, get, post, put

from gateway.modules import OCPI_VERSION
from gateway.modules.credentials.models import Credentials
from gateway.modules.credentials.service import accept_credentials, our_credentials, unregister
from gateway.ocpi.body import decode_body
from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.status import MethodNotAllowedError

if TYPE_CHECKING:
    from gateway.state import GatewayState
    from gateway.store.base import Partner

__all__ = ("CredentialsController",)


async def _caller(request: Request[Any, Any, Any]) -> tuple[GatewayState, Partner]:
    state: GatewayState = request.app.state.gateway
    partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=True)
    return state, partner


class CredentialsController(Controller):
    """``/ocpi/2.2.1/credentials``."""

    path = f"/ocpi/{OCPI_VERSION}/credentials"

    @get()
    async def read(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Our credentials for this partner: the token it uses now, our versions URL, our roles."""
        state, partner = await _caller(request)
        return ocpi_response(our_credentials(state.settings, partner.token_in))

    @post(status_code=200)
    async def register(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Registration with token A: fetch the partner with its token B, answer with token C."""
        state, partner = await _caller(request)
        if partner.state != "PENDING":
            raise MethodNotAllowedError("Already registered: use PUT to update, or DELETE first")
        return await self._accept(request, state, partner)

    @put()
    async def update(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Update: re-fetch the partner's versions and details, keep its new token, rotate ours."""
        state, partner = await _caller(request)
        if partner.state != "REGISTERED":
            raise MethodNotAllowedError("Not registered: use POST to register")
        return await self._accept(request, state, partner)

    @delete(status_code=200)
    async def remove(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Unregister: the partner's token stops opening anything."""
        state, partner = await _caller(request)
        if partner.state != "REGISTERED":
            raise MethodNotAllowedError("Not registered")
        await unregister(state.store, partner)
        state.partners.clear()
        return ocpi_response()

    @staticmethod
    async def _accept(request: Request[Any, Any, Any], state: GatewayState, partner: Partner) -> Response[bytes]:
        body = decode_body(
            await request.body(), Credentials, validation_http_status=state.settings.validation_http_status
        )
        credentials = await accept_credentials(state.settings, state.store, state.client, partner, body)
        state.partners.clear()
        return ocpi_response(credentials)
