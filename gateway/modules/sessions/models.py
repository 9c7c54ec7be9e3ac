"""OCPI 2.2.1 Sessions objects as msgspec Structs, and the classes Sessions shares with CDRs.

ChargingPeriod, CdrDimension, CdrToken and AuthMethod are defined here once; the CDRs module imports
them. Conventions (from :class:`gateway.ocpi.types.OcpiStruct`): unknown fields are ignored, ``null``
equals absent, DateTimes are UTC (no designator = UTC, offsets refused, emitted with ``Z``). Identifiers
are non-empty CiStrings of the spec's length; texts are ``string(n)`` without control characters.

Numbers (``kwh``, dimension volumes, prices) are JSON numbers decoded as floats, like
:class:`gateway.ocpi.types.Price`: nothing here computes with them, and a float re-encodes to the same
number it was decoded from.
"""

from __future__ import annotations

import enum
from datetime import datetime  # noqa: TC003 - msgspec needs the runtime type to decode
from typing import Annotated

from msgspec import Meta

from gateway.modules.tokens.models import ProfileType, TokenType
from gateway.ocpi.types import NO_CONTROL, PRINTABLE_ASCII, OcpiStruct, Price

__all__ = (
    "SESSION_ONLY_DIMENSIONS",
    "AuthMethod",
    "CdrDimension",
    "CdrDimensionType",
    "CdrToken",
    "ChargingPeriod",
    "ChargingPreferences",
    "ChargingPreferencesResponse",
    "CiId",
    "CountryCode",
    "Currency",
    "MeterId",
    "PartyId",
    "ProfileType",
    "Session",
    "SessionPatch",
    "SessionStatus",
)


CountryCode = Annotated[str, Meta(min_length=1, max_length=2, pattern=PRINTABLE_ASCII)]
"""CiString(2): the ISO 3166 alpha-2 country code of a party."""
PartyId = Annotated[str, Meta(min_length=1, max_length=3, pattern=PRINTABLE_ASCII)]
"""CiString(3): a party id."""
CiId = Annotated[str, Meta(min_length=1, max_length=36, pattern=PRINTABLE_ASCII)]
"""A non-empty CiString(36) identifier (ids, uids, references; ``#NA`` where the spec allows it)."""
Currency = Annotated[str, Meta(min_length=3, max_length=3, pattern=NO_CONTROL)]
"""string(3): ISO 4217 currency code."""
MeterId = Annotated[str, Meta(max_length=255, pattern=NO_CONTROL)]
"""string(255): a meter's identification."""


class AuthMethod(enum.StrEnum):
    """How a session was authorised."""

    AUTH_REQUEST = "AUTH_REQUEST"
    COMMAND = "COMMAND"
    WHITELIST = "WHITELIST"


class CdrDimensionType(enum.StrEnum):
    """What a CdrDimension measures (units per period: kWh, hours, A, kW, %)."""

    CURRENT = "CURRENT"
    ENERGY = "ENERGY"
    ENERGY_EXPORT = "ENERGY_EXPORT"
    ENERGY_IMPORT = "ENERGY_IMPORT"
    MAX_CURRENT = "MAX_CURRENT"
    MIN_CURRENT = "MIN_CURRENT"
    MAX_POWER = "MAX_POWER"
    MIN_POWER = "MIN_POWER"
    PARKING_TIME = "PARKING_TIME"
    POWER = "POWER"
    RESERVATION_TIME = "RESERVATION_TIME"
    STATE_OF_CHARGE = "STATE_OF_CHARGE"
    TIME = "TIME"


SESSION_ONLY_DIMENSIONS = frozenset(
    {
        CdrDimensionType.CURRENT,
        CdrDimensionType.ENERGY_EXPORT,
        CdrDimensionType.ENERGY_IMPORT,
        CdrDimensionType.POWER,
        CdrDimensionType.STATE_OF_CHARGE,
    }
)
"""Dimensions allowed in Sessions only: they SHALL NOT appear in CDRs."""


class SessionStatus(enum.StrEnum):
    """The state of a session. ``RESERVATION`` is the enum value (the spec's text once says RESERVED)."""

    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"
    RESERVATION = "RESERVATION"


class ChargingPreferencesResponse(enum.StrEnum):
    """The CPO's answer to charging preferences."""

    ACCEPTED = "ACCEPTED"
    DEPARTURE_REQUIRED = "DEPARTURE_REQUIRED"
    ENERGY_NEED_REQUIRED = "ENERGY_NEED_REQUIRED"
    NOT_POSSIBLE = "NOT_POSSIBLE"
    PROFILE_TYPE_NOT_SUPPORTED = "PROFILE_TYPE_NOT_SUPPORTED"


class CdrToken(OcpiStruct, frozen=True, kw_only=True):
    """The token that started a session, as Sessions and CDRs carry it."""

    country_code: CountryCode
    """Country code of the eMSP that owns the token."""
    party_id: PartyId
    """Party id of the eMSP that owns the token."""
    uid: CiId
    """Token.uid."""
    type: TokenType
    """Token.type."""
    contract_id: CiId
    """The driver's contract id."""


class CdrDimension(OcpiStruct, frozen=True, kw_only=True):
    """One measured quantity of a charging period."""

    type: CdrDimensionType
    volume: float
    """The quantity, in the unit of ``type``."""


class ChargingPeriod(OcpiStruct, frozen=True, kw_only=True):
    """A stretch of a session from ``start_date_time`` to the next period's start (or the session end)."""

    start_date_time: datetime
    dimensions: Annotated[tuple[CdrDimension, ...], Meta(min_length=1)]
    """At least one dimension."""
    tariff_id: CiId | None = None
    """The Tariff relevant in this period, if any."""


class Session(OcpiStruct, frozen=True, kw_only=True):
    """A charging session, owned by the CPO (``country_code``/``party_id``)."""

    country_code: CountryCode
    party_id: PartyId
    id: CiId
    start_date_time: datetime
    end_date_time: datetime | None = None
    kwh: float
    """Energy charged so far, kWh."""
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiId | None = None
    location_id: CiId
    evse_uid: CiId
    """EVSE.uid; ``#NA`` while a reservation has no EVSE yet."""
    connector_id: CiId
    """Connector.id; ``#NA`` while a reservation has no connector yet."""
    meter_id: MeterId | None = None
    currency: Currency
    charging_periods: tuple[ChargingPeriod, ...] = ()
    """Left out (or empty) means no periods: a PUT without them clears the stored ones."""
    total_cost: Price | None = None
    """Cost so far; absent means unknown (not free)."""
    status: SessionStatus
    last_updated: datetime


class SessionPatch(OcpiStruct, frozen=True, kw_only=True):
    """A Session PATCH body: every field optional except ``last_updated``.

    Present fields replace the stored ones, except ``charging_periods``, which are appended. Identifiers
    may be sent and must then name the patched session (checked when merging).
    """

    country_code: CountryCode | None = None
    party_id: PartyId | None = None
    id: CiId | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    kwh: float | None = None
    cdr_token: CdrToken | None = None
    auth_method: AuthMethod | None = None
    authorization_reference: CiId | None = None
    location_id: CiId | None = None
    evse_uid: CiId | None = None
    connector_id: CiId | None = None
    meter_id: MeterId | None = None
    currency: Currency | None = None
    charging_periods: tuple[ChargingPeriod, ...] | None = None
    """Appended to the stored periods (empty or absent: unchanged)."""
    total_cost: Price | None = None
    status: SessionStatus | None = None
    last_updated: datetime
    """Required in every PATCH."""


class ChargingPreferences(OcpiStruct, frozen=True, kw_only=True):
    """What a driver wants from the running session (smart charging)."""

    profile_type: ProfileType
    departure_time: datetime | None = None
    energy_need: Annotated[float, Meta(ge=0)] | None = None
    """kWh the driver wants."""
    discharge_allowed: bool | None = None
    """Whether V2G discharging is allowed; absent means false."""
