"""Sessions Receiver (we are the eMSP): CPOs GET, PUT and PATCH their sessions at
``/ocpi/2.2.1/emsp/sessions/{country_code}/{party_id}/{session_id}``.

The owner in the URL must be one of the calling partner's parties (404 otherwise), and must equal the
body's owner and id (2001). PUT replaces the whole session (201 when new, 200 when replaced); omitted
``charging_periods`` clear the stored ones. PATCH needs ``last_updated``, changes the fields present and
appends ``charging_periods``; a PATCH of an unknown session is 404 + 2001 and creates nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, put

from gateway.modules.sessions.models import Session, SessionPatch
from gateway.modules.sessions.service import (
    RECEIVED_SESSIONS,
    PatchConflictError,
    key_lock,
    merge_patch,
    session_key,
    stored_session,
)
from gateway.modules.tokens._params import url_segment
from gateway.modules.tokens.service import owners_of
from gateway.ocpi.body import decode_body, invalid_content
from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.status import NotFoundError
from gateway.store.base import Expect, Put, retry_conflicts

if TYPE_CHECKING:
    from gateway.state import GatewayState
    from gateway.store.base import ObjectKey

__all__ = ("SessionsReceiver",)

_PATH = "/{country_code:str}/{party_id:str}/{session_id:str}"
_decode_session = msgspec.json.Decoder(Session)


async def _target(request: Request[Any, Any, Any]) -> tuple[GatewayState, ObjectKey]:
    """Authenticate, check the owner belongs to the caller, and return the session's key."""
    state: GatewayState = request.app.state.gateway
    partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
    key = session_key(
        url_segment(request, "country_code", 2),
        url_segment(request, "party_id", 3),
        url_segment(request, "session_id", 36),
    )
    if (key.country_code, key.party_id) not in owners_of(partner.roles):
        raise NotFoundError(f"{key.country_code}/{key.party_id} is not one of your parties")
    return state, key


class SessionsReceiver(Controller):
    """The eMSP's Sessions Receiver interface."""

    path = "/ocpi/2.2.1/emsp/sessions"

    @get(_PATH)
    async def read(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """One session, as we hold it."""
        state, key = await _target(request)
        stored = await state.store.get_object(RECEIVED_SESSIONS, key)
        if stored is None:
            raise NotFoundError("Unknown session")
        return ocpi_response(msgspec.Raw(stored.data))

    @put(_PATH)
    async def replace(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Create or replace a session: 201 when new, 200 when replaced."""
        state, key = await _target(request)
        status = state.settings.validation_http_status
        session = decode_body(await request.body(), Session, validation_http_status=status)
        obj = stored_session(session)
        if obj.key != key:
            raise invalid_content("country_code, party_id and id of the body must match the URL", status)
        async with key_lock(RECEIVED_SESSIONS, key):
            created = await state.store.put_object(RECEIVED_SESSIONS, obj)
        return ocpi_response(http_status=201 if created else 200)

    @patch(_PATH)
    async def update(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Change some fields of a known session and append its new charging periods."""
        state, key = await _target(request)
        status = state.settings.validation_http_status
        changes = decode_body(await request.body(), SessionPatch, validation_http_status=status)

        async def attempt() -> None:  # over the version read: a PATCH on another worker is never lost
            stored = await state.store.get_object(RECEIVED_SESSIONS, key)
            if stored is None:
                raise NotFoundError("Unknown session: PATCH cannot create one; PUT the whole session")
            try:
                merged = merge_patch(_decode_session.decode(stored.data), changes)
            except (PatchConflictError, msgspec.ValidationError) as exc:
                raise invalid_content(str(exc), status) from None
            ops = [Expect(RECEIVED_SESSIONS, key, stored.data), Put(RECEIVED_SESSIONS, stored_session(merged))]
            await state.store.write(ops)

        async with key_lock(RECEIVED_SESSIONS, key):
            await retry_conflicts(attempt)
        return ocpi_response()
