"""CDRs Sender (we are the CPO): ``GET /ocpi/2.2.1/cpo/cdrs[?date_from&date_to&offset&limit]`` is the
paginated list of our CDRs whose token belongs to one of the caller's parties, oldest first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, get

from gateway.modules.cdrs.service import CDRS_BY_EMSP
from gateway.modules.sessions._recipients import recipient_list_response

if TYPE_CHECKING:
    from gateway.state import GatewayState

__all__ = ("CdrsSender",)


class CdrsSender(Controller):
    """The CPO's CDRs Sender interface."""

    path = "/ocpi/2.2.1/cpo/cdrs"

    @get()
    async def list_cdrs(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Our CDRs for the caller's tokens, paginated."""
        state: GatewayState = request.app.state.gateway
        partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
        return await recipient_list_response(request, state, CDRS_BY_EMSP, partner)
