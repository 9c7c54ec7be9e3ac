"""CDRs Receiver (we are the eMSP): CPOs post their CDRs to ``/ocpi/2.2.1/emsp/cdrs`` and may read them
back at the URL our answer names.

``POST`` takes one CDR whose ``country_code``/``party_id`` is one of the caller's parties (else 2001).
A new CDR is stored and answered with HTTP 201 and ``Location: {base_url}/ocpi/2.2.1/emsp/cdrs/{CC}/{PID}/{ID}``
(owner and id upper-cased, each URL-quoted: the same URL however the CPO spells their case). Posting the
identical CDR again answers HTTP 200 with the same ``Location`` and stores nothing; a different CDR
under a stored id is refused with 2001 (CDRs are immutable; send a credit CDR). A credit CDR must name
a stored CDR of the same owner in ``credit_reference_id`` (2001 otherwise).

``GET {Location}`` returns the stored CDR to a caller owning it (404 otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, post

from gateway.modules.cdrs.models import CDR
from gateway.modules.cdrs.service import RECEIVED_CDRS, InvalidCdrError, cdr_key, store_received_cdr
from gateway.modules.tokens._params import url_segment
from gateway.modules.tokens.service import owners_of
from gateway.ocpi.body import decode_body, invalid_content
from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.status import NotFoundError

if TYPE_CHECKING:
    from gateway.state import GatewayState
    from gateway.store.base import ObjectKey

__all__ = ("CdrsReceiver", "cdr_location")

_PATH = "/ocpi/2.2.1/emsp/cdrs"


def cdr_location(base_url: str, key: ObjectKey) -> str:
    """The URL at which we serve a received CDR (the POST's ``Location`` header)."""
    segments = "/".join(quote(part, safe="") for part in (key.country_code, key.party_id, key.id))
    return f"{base_url.rstrip('/')}{_PATH}/{segments}"


class CdrsReceiver(Controller):
    """The eMSP's CDRs Receiver interface."""

    path = _PATH

    @post(status_code=201)
    async def receive(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Keep a CDR (once) and say where it can be read."""
        state: GatewayState = request.app.state.gateway
        partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
        status = state.settings.validation_http_status
        cdr = decode_body(await request.body(), CDR, validation_http_status=status)
        key = cdr_key(cdr.country_code, cdr.party_id, cdr.id)
        if (key.country_code, key.party_id) not in owners_of(partner.roles):
            raise invalid_content(
                f"the CDR's owner {key.country_code}/{key.party_id} is not one of your parties", status
            )
        try:
            created = await store_received_cdr(state.store, cdr)
        except InvalidCdrError as exc:
            raise invalid_content(str(exc), status) from None
        return ocpi_response(
            http_status=201 if created else 200, headers={"Location": cdr_location(state.settings.base_url, key)}
        )

    @get("/{country_code:str}/{party_id:str}/{cdr_id:path}")
    async def read(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """One received CDR, to a caller owning it (the id may hold a quoted ``/``, hence a path parameter)."""
        state: GatewayState = request.app.state.gateway
        partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
        request.path_params["cdr_id"] = request.path_params["cdr_id"].removeprefix("/")
        key = cdr_key(
            url_segment(request, "country_code", 2),
            url_segment(request, "party_id", 3),
            url_segment(request, "cdr_id", 39),
        )
        if (key.country_code, key.party_id) not in owners_of(partner.roles):
            raise NotFoundError(f"{key.country_code}/{key.party_id} is not one of your parties")
        stored = await state.store.get_object(RECEIVED_CDRS, key)
        if stored is None:
            raise NotFoundError("Unknown CDR")
        return ocpi_response(msgspec.Raw(stored.data))
