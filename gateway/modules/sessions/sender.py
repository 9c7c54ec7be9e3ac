"""Sessions Sender (we are the CPO): eMSPs pull our sessions and set charging preferences.

``GET /ocpi/2.2.1/cpo/sessions[?date_from&date_to&offset&limit]`` is the paginated list of our sessions
whose token belongs to one of the caller's parties (``date_from`` is optional, though the spec marks it
required here). ``PUT /ocpi/2.2.1/cpo/sessions/{session_id}/charging_preferences`` stores the
preferences with the session and answers a ChargingPreferencesResponse: ACCEPTED while the session is
PENDING or ACTIVE, NOT_POSSIBLE otherwise. A session we do not have, or whose token is not the
caller's, is 404 + 2001; so is an EVSE that is not ``CHARGING_PREFERENCES_CAPABLE``
(:func:`evse_accepts_charging_preferences`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, Response, get, put

from gateway.modules.sessions._recipients import recipient_list_response
from gateway.modules.sessions.models import ChargingPreferences, ChargingPreferencesResponse, Session, SessionStatus
from gateway.modules.sessions.service import SESSIONS, SESSIONS_BY_EMSP, put_preferences, session_key
from gateway.modules.tokens._params import url_segment
from gateway.modules.tokens.models import ci_key
from gateway.modules.tokens.service import owners_of
from gateway.ocpi.body import decode_body
from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.status import NotFoundError

if TYPE_CHECKING:
    from gateway.state import GatewayState
    from gateway.store.base import ObjectKey, Partner

__all__ = ("SessionsSender", "evse_accepts_charging_preferences")

_decode_session = msgspec.json.Decoder(Session)
_OPEN = frozenset((SessionStatus.PENDING, SessionStatus.ACTIVE))


async def evse_accepts_charging_preferences(state: GatewayState, session: Session) -> bool:
    """Whether the session's EVSE has the capability ``CHARGING_PREFERENCES_CAPABLE``.

    An EVSE we do not hold (a Location the back office never published) cannot be judged: the
    preferences are then accepted, as the session itself is ours.
    """
    from gateway.modules.locations.models import Location
    from gateway.modules.locations.service import OWN, find_evse, location_key

    stored = await state.store.get_object(OWN, location_key(session.country_code, session.party_id,
                                                            session.location_id))
    if stored is None:
        return True
    evse = find_evse(msgspec.json.decode(stored.data, type=Location), session.evse_uid)
    if evse is None:
        return True
    return "CHARGING_PREFERENCES_CAPABLE" in (evse.capabilities or ())


async def _our_session(state: GatewayState, partner: Partner, session_id: str) -> tuple[ObjectKey, Session]:
    """Our session with this id under one of our CPO parties, if its token is the caller's."""
    for own in state.settings.roles:
        if own.role != "CPO":
            continue
        key = session_key(own.country_code, own.party_id, session_id)
        stored = await state.store.get_object(SESSIONS, key)
        if stored is None:
            continue
        session = _decode_session.decode(stored.data)
        token = session.cdr_token
        if (ci_key(token.country_code), ci_key(token.party_id)) in owners_of(partner.roles):
            return key, session
    raise NotFoundError(f"Unknown session {ci_key(session_id)}")


class SessionsSender(Controller):
    """The CPO's Sessions Sender interface."""

    path = "/ocpi/2.2.1/cpo/sessions"

    @get()
    async def list_sessions(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Our sessions for the caller's tokens, paginated, oldest change first."""
        state: GatewayState = request.app.state.gateway
        partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
        return await recipient_list_response(request, state, SESSIONS_BY_EMSP, partner)

    @put("/{session_id:str}/charging_preferences")
    async def set_charging_preferences(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Keep the driver's preferences for a running session and say whether we will try."""
        state: GatewayState = request.app.state.gateway
        partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
        session_id = url_segment(request, "session_id", 36)
        key, session = await _our_session(state, partner, session_id)
        preferences = decode_body(
            await request.body(), ChargingPreferences, validation_http_status=state.settings.validation_http_status
        )
        if not await evse_accepts_charging_preferences(state, session):
            raise NotFoundError("The session's EVSE does not accept charging preferences")
        if session.status not in _OPEN:
            return ocpi_response(ChargingPreferencesResponse.NOT_POSSIBLE)
        await put_preferences(state.store, key, preferences, session)
        return ocpi_response(ChargingPreferencesResponse.ACCEPTED)
