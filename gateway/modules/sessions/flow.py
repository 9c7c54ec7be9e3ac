"""The back-office charging flow: a session started, metered and stopped by our CSMS, ending in one priced CDR.

Steps (``gateway/api/charging.py`` exposes them under ``/api/sessions``):

- :meth:`ChargingFlow.start`: an authorisation (``authorization_reference`` from ``/api/authorize``, or a
  token given directly) and a connector of one of our Locations become an ACTIVE Session. What the CDR
  needs later and must not drift while the session runs is snapshotted once, in a *flow context*
  (kind :data:`FLOW_CONTEXTS`, under the session's key): the tariff JSON in force at the start, the
  Location's time zone and the CdrLocation (the Location "as it was at session start", cdrs.md).
- :meth:`ChargingFlow.progress`: a meter reading (total kWh since the start at ``timestamp``) closes the
  interval since the previous reading as one ChargingPeriod: ``ENERGY`` = the kWh delta, and ``TIME``
  (energy flowed, or ``status: CHARGING``) or ``PARKING_TIME`` (no energy, or ``status: PARKING``) = the
  interval in hours; ``POWER``/``CURRENT`` when given (Session-only dimensions, dropped from the CDR).
  ``kwh``, ``last_updated`` (= the reading's time, so the next interval starts there) and the running
  ``total_cost`` priced by the tariff engine are updated. One session read, one price call, one write
  (the flow context is kept in memory per worker after its first read).
- :meth:`ChargingFlow.stop`: the final interval, ``COMPLETED`` and ``end_date_time``; the CDR (id = the
  session id) with totals from :func:`gateway.pricing.price_cdr` for that very CDR. Everything is built
  and priced before anything is written: a refused stop stores nothing. The session is written first,
  then the CDR with :func:`add_own_cdr`; a repeated stop answers the stored CDR (and stores it, from the
  completed session, if an earlier stop died between the two writes).

Each write stores the messages that push its change to the token's eMSP in the same transaction (the
Session PUT or PATCH, then the CDR POST, all in the session's outbox lane): a crash never leaves a stored
step unpushed, nor pushes a step that was not stored.

Steps on one session are serialised within a worker by a lock of their own; sessions are stored with the
sessions service's key and recipient index (see ``_recipients``) so that our Sender lists show them.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import Meta

from gateway.ids import uuid4_hex
from gateway.modules.cdrs.models import CDR, CdrLocation
from gateway.modules.cdrs.service import CdrConflictError, add_own_cdr, get_own_cdr
from gateway.modules.locations._params import our_cpo_parties
from gateway.modules.locations.service import OWN as OWN_LOCATIONS
from gateway.modules.locations.service import LocationService, find_connector, find_evse, location_key
from gateway.modules.sessions._recipients import recipient_key, write_own
from gateway.modules.sessions.models import (
    SESSION_ONLY_DIMENSIONS,
    AuthMethod,
    CdrDimension,
    CdrDimensionType,
    CdrToken,
    ChargingPeriod,
    CiId,
    Session,
    SessionStatus,
)
from gateway.modules.sessions.service import (
    SESSIONS,
    SESSIONS_BY_EMSP,
    key_lock,
    put_own_session,
    session_key,
    stored_session,
)
from gateway.modules.tokens.models import TokenType, ci_key
from gateway.ocpi.status import NotFoundError, OcpiError, OcpiStatus
from gateway.ocpi.types import OcpiStruct, Price
from gateway.pricing import PricingError, PricingResult, compile_tariff, price_cdr, price_session
from gateway.push.wiring import cdr_messages, session_messages
from gateway.store.base import ObjectKey, StoredObject, retry_conflicts

if TYPE_CHECKING:
    from gateway.modules.locations.models import Location
    from gateway.modules.tokens.authorization import Authorizer
    from gateway.push.outbox import Outbox
    from gateway.settings import Settings
    from gateway.store.base import OutboxMessage, Store

__all__ = (
    "FLOW_CONTEXTS",
    "TARIFFS",
    "ChargingFlow",
    "FlowContext",
    "MeterReading",
    "StartRequest",
    "flow_of",
)

TARIFFS = "tariffs"
"""Store kind of our own Tariffs (keyed by our CPO party and the tariff id, upper-cased)."""
FLOW_CONTEXTS = "charging_flow_contexts"
"""Store kind of the per-session snapshot taken at start (tariff, time zone, CdrLocation)."""
_HTTP = 400
_CONTEXT_CACHE = 10_000
"""Flow contexts kept in memory per worker (the running sessions' ones are the ones read)."""
_DIGITS = 6
"""Decimals kept of kWh and hour volumes: a second is 0.000278 h, so whole seconds survive."""

_encoder = msgspec.json.Encoder()
_session_decoder = msgspec.json.Decoder(Session)
_cdr_decoder = msgspec.json.Decoder(CDR)


class ReadingStatus(enum.StrEnum):
    """What the car did during the interval a reading closes (default: by whether energy flowed)."""

    CHARGING = "CHARGING"
    PARKING = "PARKING"


class StartToken(OcpiStruct, frozen=True, kw_only=True):
    """A token given directly instead of an ``authorization_reference`` (a Token or CdrToken's fields)."""

    country_code: Annotated[str, Meta(min_length=1, max_length=2)]
    party_id: Annotated[str, Meta(min_length=1, max_length=3)]
    uid: CiId
    type: TokenType = TokenType.RFID
    contract_id: CiId


class StartRequest(OcpiStruct, frozen=True, kw_only=True):
    """Body of ``POST /api/sessions``."""

    id: CiId | None = None
    """The session id; a random one when omitted."""
    authorization_reference: CiId | None = None
    token: StartToken | None = None
    auth_method: AuthMethod | None = None
    """Only with ``token``: how it was authorised (default WHITELIST)."""
    location_id: CiId
    evse_uid: CiId
    connector_id: CiId
    start_date_time: datetime | None = None
    tariff_id: CiId | None = None
    """The tariff to apply; default the connector's first ``tariff_ids``."""
    kwh: Annotated[float, Meta(ge=0)] = 0.0
    """Energy already charged when the start is reported, kWh (normally 0); readings continue from it."""
    meter_id: Annotated[str, Meta(max_length=255)] | None = None


class MeterReading(OcpiStruct, frozen=True, kw_only=True):
    """Body of ``progress`` and ``stop``: the meter at ``timestamp``."""

    timestamp: datetime
    kwh: Annotated[float, Meta(ge=0)]
    """Energy charged since the session start, kWh (a total, not a delta)."""
    power_kw: Annotated[float, Meta(ge=0)] | None = None
    current_a: Annotated[float, Meta(ge=0)] | None = None
    status: ReadingStatus | None = None


class FlowContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a session's CDR is built from, fixed at the start."""

    tariff: msgspec.Raw
    tariff_id: str
    time_zone: str
    cdr_location: CdrLocation


_context_decoder = msgspec.json.Decoder(FlowContext)


def _bad(message: str) -> OcpiError:
    return OcpiError(OcpiStatus.INVALID_PARAMETERS, message, http_status=_HTTP)


def _stopped(session: Session) -> OcpiError:
    return OcpiError(
        OcpiStatus.INVALID_PARAMETERS,
        f"Session {session.id} is {session.status.value}: it takes no more readings",
        http_status=409,
    )


def _price(value: Any) -> Price:
    return Price(excl_vat=float(value.excl_vat), incl_vat=float(value.incl_vat))


def _hours(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 3600, _DIGITS)


def _period(session: Session, reading: MeterReading, tariff_id: str) -> ChargingPeriod | None:
    """The period from the previous reading (``last_updated``) to this one; ``None`` if nothing happened.

    Raises:
        OcpiError: 2001 for a reading before the previous one or a meter that ran backwards.
    """
    since = session.last_updated
    if reading.timestamp < since:
        raise _bad(f"`timestamp` {reading.timestamp.isoformat()} is before the previous reading ({since.isoformat()})")
    if reading.kwh < session.kwh:
        raise _bad(f"`kwh` {reading.kwh} is below the previous reading ({session.kwh}): it is a total since the start")
    energy = round(reading.kwh - session.kwh, _DIGITS)
    hours = _hours(since, reading.timestamp)
    if hours == 0 and energy == 0:
        return None
    charging = reading.status == ReadingStatus.CHARGING if reading.status is not None else energy > 0
    dimensions = [
        CdrDimension(type=CdrDimensionType.ENERGY, volume=energy),
        CdrDimension(type=CdrDimensionType.TIME if charging else CdrDimensionType.PARKING_TIME, volume=hours),
    ]
    if reading.power_kw is not None:
        dimensions.append(CdrDimension(type=CdrDimensionType.POWER, volume=reading.power_kw))
    if reading.current_a is not None:
        dimensions.append(CdrDimension(type=CdrDimensionType.CURRENT, volume=reading.current_a))
    return ChargingPeriod(start_date_time=since, dimensions=tuple(dimensions), tariff_id=tariff_id)


def _validated(session: Session) -> Session:
    """Whole-object validation (a replaced Struct is not checked by msgspec)."""
    try:
        return _session_decoder.decode(_encoder.encode(session))
    except msgspec.ValidationError as exc:
        raise _bad(f"The resulting session is not valid: {exc}") from None


def _cdr_location(location: Location, evse_uid: str, connector_id: str) -> CdrLocation:
    evse = find_evse(location, evse_uid)
    if evse is None:
        raise NotFoundError(f"Unknown EVSE {evse_uid} at location {location.id}", OcpiStatus.UNKNOWN_LOCATION)
    connector = find_connector(evse, connector_id)
    if connector is None:
        raise NotFoundError(
            f"Unknown connector {connector_id} of EVSE {evse_uid} at location {location.id}",
            OcpiStatus.UNKNOWN_LOCATION,
        )
    if not evse.evse_id:
        raise _bad(f"EVSE {evse.uid} has no `evse_id`: a CDR cannot name it")
    return CdrLocation(
        id=location.id,
        name=location.name,
        address=location.address,
        city=location.city,
        postal_code=location.postal_code,
        state=location.state,
        country=location.country,
        coordinates=location.coordinates,
        evse_uid=evse.uid,
        evse_id=evse.evse_id,
        connector_id=connector.id,
        connector_standard=connector.standard.value,
        connector_format=connector.format.value,
        connector_power_type=connector.power_type.value,
    )


class ChargingFlow:
    """The charging flow of one worker: the store, our CPO parties, and the flow contexts read so far."""

    def __init__(self, settings: Settings, store: Store, authorizer: Authorizer) -> None:
        self.store = store
        self.authorizer = authorizer
        self.parties = our_cpo_parties(settings)
        self._contexts: OrderedDict[ObjectKey, FlowContext] = OrderedDict()
        self.outbox: Outbox | None = None
        """Where each step's change for the token's eMSP goes: its messages are stored with the step's write."""

    # -- lookups -----------------------------------------------------------------------------------
    async def _location(self, location_id: str) -> Location:
        for country_code, party_id in self.parties:
            stored = await self.store.get_object(OWN_LOCATIONS, location_key(country_code, party_id, location_id))
            if stored is not None:
                return LocationService.decode(stored.data)
        raise NotFoundError(f"Unknown location {location_id}", OcpiStatus.UNKNOWN_LOCATION)

    async def _tariff(self, location: Location, tariff_id: str | None, connector_tariffs: tuple[str, ...]) -> bytes:
        wanted = tariff_id or (connector_tariffs[0] if connector_tariffs else None)
        if wanted is None:
            raise _bad("No tariff: give `tariff_id` or set `tariff_ids` on the connector (the CDR must be priced)")
        stored = await self.store.get_object(
            TARIFFS, ObjectKey(ci_key(location.country_code), ci_key(location.party_id), ci_key(wanted))
        )
        if stored is None:
            raise NotFoundError(f"Unknown tariff {wanted} of {location.country_code}/{location.party_id}")
        try:
            compile_tariff(bytes(stored.data))
        except PricingError as exc:
            raise _bad(f"Tariff {wanted} cannot be priced: {exc}") from None
        return bytes(stored.data)

    async def _session_read(self, session_id: str) -> tuple[Session, bytes]:
        """One of our sessions and its stored bytes (what a write of the next step expects to replace)."""
        for country_code, party_id in self.parties:
            stored = await self.store.get_object(SESSIONS, session_key(country_code, party_id, session_id))
            if stored is not None:
                return _session_decoder.decode(stored.data), stored.data
        raise NotFoundError(f"Unknown session {session_id}")

    async def _context(self, session: Session) -> FlowContext:
        key = session_key(session.country_code, session.party_id, session.id)
        context = self._contexts.get(key)
        if context is None:
            stored = await self.store.get_object(FLOW_CONTEXTS, key)
            if stored is None:
                raise OcpiError(
                    OcpiStatus.INVALID_PARAMETERS,
                    f"Session {session.id} was not started through /api/sessions",
                    http_status=409,
                )
            context = _context_decoder.decode(stored.data)
            self._remember(key, context)
        return context

    def _remember(self, key: ObjectKey, context: FlowContext) -> None:
        self._contexts[key] = context
        self._contexts.move_to_end(key)
        while len(self._contexts) > _CONTEXT_CACHE:
            self._contexts.popitem(last=False)

    async def _authorized(self, request: StartRequest) -> tuple[CdrToken, AuthMethod, str | None]:
        if request.authorization_reference is None:
            if request.token is None:
                raise _bad("Give `authorization_reference` (from /api/authorize) or a `token`")
            token = request.token
            try:
                cdr_token = CdrToken(
                    country_code=token.country_code,
                    party_id=token.party_id,
                    uid=token.uid,
                    type=token.type,
                    contract_id=token.contract_id,
                )
                cdr_token = msgspec.json.decode(_encoder.encode(cdr_token), type=CdrToken)
            except msgspec.ValidationError as exc:
                raise _bad(f"Invalid `token`: {exc}") from None
            return cdr_token, request.auth_method or AuthMethod.WHITELIST, None
        found = await self.authorizer.lookup(request.authorization_reference)
        if found is None:
            raise NotFoundError(f"Unknown or expired authorization_reference {request.authorization_reference}")
        if found.allowed != "ALLOWED":
            raise OcpiError(
                OcpiStatus.INVALID_PARAMETERS,
                f"Authorization {found.authorization_reference} did not allow charging ({found.allowed})",
                http_status=403,
            )
        try:
            cdr_token = msgspec.json.decode(found.token, type=CdrToken)
        except msgspec.ValidationError as exc:
            raise _bad(f"The authorised token cannot be carried by a session: {exc}") from None
        return cdr_token, AuthMethod(found.auth_method), found.authorization_reference

    # -- steps -------------------------------------------------------------------------------------
    async def start(self, request: StartRequest) -> Session:
        """Open an ACTIVE session; nothing is stored when a check fails.

        Raises:
            OcpiError: 404 for an unknown authorisation, location, EVSE, connector or tariff; 403 for a refused
                authorisation; 409 for a session id in use; 400 (2001) for anything else wrong.
        """
        cdr_token, auth_method, reference = await self._authorized(request)
        location = await self._location(request.location_id)
        cdr_location = _cdr_location(location, request.evse_uid, request.connector_id)
        evse = find_evse(location, request.evse_uid)
        assert evse is not None
        connector = find_connector(evse, request.connector_id)
        assert connector is not None
        tariff = await self._tariff(location, request.tariff_id, tuple(connector.tariff_ids or ()))
        tariff_head = msgspec.json.decode(tariff, type=dict[str, Any])
        session_id = request.id or uuid4_hex()
        key = session_key(location.country_code, location.party_id, session_id)
        now = datetime.now(UTC).replace(microsecond=0)
        start = request.start_date_time or now
        session = _validated(
            Session(
                country_code=location.country_code,
                party_id=location.party_id,
                id=session_id,
                start_date_time=start,
                kwh=request.kwh,
                cdr_token=cdr_token,
                auth_method=auth_method,
                authorization_reference=reference,
                location_id=location.id,
                evse_uid=evse.uid,
                connector_id=connector.id,
                meter_id=request.meter_id,
                currency=str(tariff_head.get("currency") or "EUR"),
                total_cost=Price(excl_vat=0.0, incl_vat=0.0),
                status=SessionStatus.ACTIVE,
                last_updated=start,
            )
        )
        context = FlowContext(
            tariff=msgspec.Raw(tariff),
            tariff_id=str(tariff_head["id"]),
            time_zone=location.time_zone,
            cdr_location=cdr_location,
        )
        async with key_lock(FLOW_CONTEXTS, _step_key(session_id)):
            if await self.store.get_object(SESSIONS, key) is not None:
                raise OcpiError(OcpiStatus.INVALID_PARAMETERS, f"Session {session_id} exists already", http_status=409)
            # The running total at the start (a start fee shows at once); also proves the session prices.
            priced = self._price_session(context, session)
            session = msgspec.structs.replace(session, total_cost=_price(priced.total_cost))
            await self.store.put_object(
                FLOW_CONTEXTS, StoredObject(key=key, last_updated=now, data=_encoder.encode(context))
            )
            messages = await self._session_messages(session)
            await put_own_session(self.store, session, outbox=messages)
            self._written(messages)
            self._remember(key, context)
        return session

    async def progress(self, session_id: str, reading: MeterReading) -> Session:
        """Add the interval since the previous reading and the running total.

        Raises:
            OcpiError: 404 unknown session; 409 a stopped session; 400 (2001) a reading out of order.
        """
        async with key_lock(FLOW_CONTEXTS, _step_key(session_id)):
            return await retry_conflicts(lambda: self._progress_once(session_id, reading))

    async def _progress_once(self, session_id: str, reading: MeterReading) -> Session:
        session, seen = await self._session_read(session_id)
        key = session_key(session.country_code, session.party_id, session.id)
        if session.status != SessionStatus.ACTIVE:
            raise _stopped(session)
        context = await self._context(session)
        updated = self._advanced(session, reading, context)
        priced = self._price_session(context, updated)
        updated = msgspec.structs.replace(updated, total_cost=_price(priced.total_cost))
        messages = await self._session_messages(updated, "PATCH", _progress_patch(session, updated))
        await self._write_session(key, updated, messages, expected=seen)
        return updated

    async def stop(self, session_id: str, reading: MeterReading) -> tuple[CDR, bool]:
        """Close the session and store its CDR once; ``(cdr, created)``. A repeated stop answers the stored CDR.

        Raises:
            OcpiError: 404 unknown session; 409 a session that is neither ACTIVE nor completed here; 400 (2001)
                a reading out of order or a CDR that cannot be priced.
        """
        async with key_lock(FLOW_CONTEXTS, _step_key(session_id)):
            return await retry_conflicts(lambda: self._stop_once(session_id, reading))

    async def _stop_once(self, session_id: str, reading: MeterReading) -> tuple[CDR, bool]:
        session, seen = await self._session_read(session_id)
        key = session_key(session.country_code, session.party_id, session.id)
        if session.status == SessionStatus.COMPLETED:
            existing = await get_own_cdr(self.store, session.country_code, session.party_id, session.id)
            if existing is not None:
                return existing, False
            # An earlier stop stored the session but not the CDR: finish its work.
            context = await self._context(session)
            return await self._pushed_cdr(self._cdr(context, session))
        if session.status != SessionStatus.ACTIVE:
            raise _stopped(session)
        context = await self._context(session)
        advanced = self._advanced(session, reading, context)
        if not advanced.charging_periods:  # a CDR needs one period: an empty one at the start
            empty = ChargingPeriod(
                start_date_time=session.start_date_time,
                tariff_id=context.tariff_id,
                dimensions=(CdrDimension(type=CdrDimensionType.ENERGY, volume=0.0),),
            )
            advanced = msgspec.structs.replace(advanced, charging_periods=(empty,))
        completed = _validated(
            msgspec.structs.replace(
                advanced,
                status=SessionStatus.COMPLETED,
                end_date_time=advanced.last_updated,
            )
        )
        cdr = self._cdr(context, completed)  # built and priced before anything is written
        completed = msgspec.structs.replace(completed, total_cost=cdr.total_cost)
        await self._write_session(key, completed, await self._session_messages(completed), expected=seen)
        self._contexts.pop(key, None)
        return await self._pushed_cdr(cdr)

    # -- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _advanced(session: Session, reading: MeterReading, context: FlowContext) -> Session:
        period = _period(session, reading, context.tariff_id)
        periods = session.charging_periods + ((period,) if period is not None else ())
        now = max(reading.timestamp, session.last_updated)
        return msgspec.structs.replace(session, kwh=reading.kwh, charging_periods=periods, last_updated=now)

    @staticmethod
    def _price_session(context: FlowContext, session: Session) -> PricingResult:
        try:
            return price_session(compile_tariff(bytes(context.tariff)), _encoder.encode(session), context.time_zone)
        except PricingError as exc:
            raise _bad(f"The session cannot be priced: {exc}") from None

    async def _write_session(
        self, key: ObjectKey, session: Session, messages: list[OutboxMessage], *, expected: bytes
    ) -> None:
        """Replace the session read as ``expected`` (token unchanged, so its recipient index entry is replaced in
        place) and store the ``messages`` pushing the change in the same transaction.

        Raises:
            WriteConflict: Another worker wrote the session since it was read (the step is then run again).
        """
        recipient = recipient_key(session.cdr_token, key)
        async with key_lock(SESSIONS, key):
            await write_own(
                self.store,
                SESSIONS,
                SESSIONS_BY_EMSP,
                stored_session(session),
                recipient,
                None,
                outbox=messages,
                expected=expected,
            )
        self._written(messages)

    async def _session_messages(
        self, session: Session, method: str = "PUT", body: dict[str, Any] | None = None
    ) -> list[OutboxMessage]:
        return [] if self.outbox is None else await session_messages(self.outbox, session, method, body)

    def _written(self, messages: list[OutboxMessage]) -> None:
        if self.outbox is not None:
            self.outbox.written(messages)

    @staticmethod
    def _cdr(context: FlowContext, session: Session) -> CDR:
        """The CDR of a completed session, with the totals the pricing engine gives for this very CDR."""
        assert session.end_date_time is not None
        periods = tuple(
            msgspec.structs.replace(period, dimensions=kept)
            for period in session.charging_periods
            if (kept := tuple(d for d in period.dimensions if d.type not in SESSION_ONLY_DIMENSIONS))
        )
        zero = Price(excl_vat=0.0, incl_vat=0.0)
        draft = CDR(
            country_code=session.country_code,
            party_id=session.party_id,
            id=session.id,
            start_date_time=session.start_date_time,
            end_date_time=session.end_date_time,
            session_id=session.id,
            cdr_token=session.cdr_token,
            auth_method=session.auth_method,
            authorization_reference=session.authorization_reference,
            cdr_location=context.cdr_location,
            meter_id=session.meter_id,
            currency=session.currency,
            tariffs=(context.tariff,),
            charging_periods=periods,
            total_cost=zero,
            total_energy=0.0,
            total_time=0.0,
            last_updated=datetime.now(UTC).replace(microsecond=0),
        )
        try:
            priced = price_cdr(compile_tariff(bytes(context.tariff)), _encoder.encode(draft), context.time_zone)
        except PricingError as exc:
            raise _bad(f"The CDR cannot be priced: {exc}") from None
        cdr = msgspec.structs.replace(
            draft,
            total_cost=_price(priced.total_cost),
            total_fixed_cost=_price(priced.total_fixed_cost),
            total_energy=float(priced.total_energy),
            total_energy_cost=_price(priced.total_energy_cost),
            total_time=float(priced.total_time),
            total_time_cost=_price(priced.total_time_cost),
            total_parking_time=float(priced.total_parking_time),
            total_parking_cost=_price(priced.total_parking_cost),
            total_reservation_cost=_price(priced.total_reservation_cost) if priced.total_reservation_time else None,
        )
        try:
            return _cdr_decoder.decode(_encoder.encode(cdr))
        except msgspec.ValidationError as exc:
            raise _bad(f"The CDR is not valid: {exc}") from None

    async def _pushed_cdr(self, cdr: CDR) -> tuple[CDR, bool]:
        """Store the CDR with its POST to the eMSP (in its session's lane, after the session's messages)."""
        messages = [] if self.outbox is None else await cdr_messages(self.outbox, cdr)
        stored, created = await self._store_cdr(cdr, messages)
        if created:
            self._written(messages)
        return stored, created

    async def _store_cdr(self, cdr: CDR, messages: list[OutboxMessage]) -> tuple[CDR, bool]:
        try:
            return cdr, await add_own_cdr(self.store, cdr, outbox=messages)
        except CdrConflictError:  # another worker's stop stored it first: that one stands
            stored = await get_own_cdr(self.store, cdr.country_code, cdr.party_id, cdr.id)
            assert stored is not None
            return stored, False


def _progress_patch(before: Session, after: Session) -> dict[str, Any]:
    """The Session PATCH of a reading: the new period(s) (a receiver appends them) and the running figures."""
    patch: dict[str, Any] = {
        "kwh": after.kwh,
        "total_cost": after.total_cost,
        "last_updated": after.last_updated,
    }
    added = after.charging_periods[len(before.charging_periods) :]
    if added:
        patch["charging_periods"] = added
    return patch


def _step_key(session_id: str) -> ObjectKey:
    """What serialises the steps of one session id in a worker (known before the session is read)."""
    return ObjectKey("", "", ci_key(session_id))


def flow_of(holder: Any, settings: Settings, store: Store, authorizer: Authorizer) -> ChargingFlow:
    """The worker's ChargingFlow, created on first use and kept on ``holder`` (the app's state)."""
    flow = getattr(holder, "charging_flow", None)
    if flow is None or flow.store is not store:
        flow = ChargingFlow(settings, store, authorizer)
        holder.charging_flow = flow
    return flow
