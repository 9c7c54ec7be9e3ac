"""OCPI 2.2.1 Locations module objects as msgspec Structs: Location, EVSE, Connector, every class and enum.

Conventions (from :class:`gateway.ocpi.types.OcpiStruct`): unknown fields are ignored, ``null`` equals
absent, datetimes are UTC and emitted with ``Z``. Lengths follow the 2.2.1 erratum where it is longer
(``address`` 255, ``state`` 45). Optional lists default to ``None`` rather than ``()`` so that an empty
list a partner sent (``"capabilities": []``) is echoed back as it came; the same holds for optional
booleans with a spec default (``charging_when_closed``: absent means true).

Constraints checked beyond types and lengths: identifiers are non-empty; an EVSE has at least one
connector; GeoLocation and RegularHours strings match the spec's patterns; a PublishTokenType sets at
least one of ``uid``, ``visual_number``, ``group_id``. Not checked, on purpose (peers get them wrong and
nothing here depends on them): ``regular_hours`` vs ``twentyfourseven``, ``period_end`` later than
``period_begin``, energy percentages summing to 100.

The ``*Patch`` Structs carry only optional fields plus the required ``last_updated``: they validate a
PATCH body field by field before it is merged into the stored object.
"""

from __future__ import annotations

import enum
from datetime import datetime  # noqa: TC003 - msgspec resolves annotations at runtime
from typing import Annotated

import msgspec
from msgspec import Meta

from gateway.modules.tokens.models import TokenType  # noqa: TC001 - msgspec resolves annotations at runtime
from gateway.ocpi.types import (
    PRINTABLE_ASCII,
    URL,
    BusinessDetails,
    CiString,
    DisplayText,
    GeoLocation,
    Image,
    OcpiStruct,
    String,
)

__all__ = (
    "EVSE",
    "AdditionalGeoLocation",
    "Capability",
    "Connector",
    "ConnectorFormat",
    "ConnectorPatch",
    "ConnectorType",
    "EVSEPatch",
    "EnergyMix",
    "EnergySource",
    "EnergySourceCategory",
    "EnvironmentalImpact",
    "EnvironmentalImpactCategory",
    "ExceptionalPeriod",
    "Facility",
    "Hours",
    "Location",
    "LocationPatch",
    "ParkingRestriction",
    "ParkingType",
    "PowerType",
    "PublishTokenType",
    "RegularHours",
    "Status",
    "StatusSchedule",
    "patch_changes",
)


CountryCode = Annotated[str, Meta(min_length=1, max_length=2, pattern=PRINTABLE_ASCII)]
"""CiString(2) of the owner CPO."""
PartyId = Annotated[str, Meta(min_length=1, max_length=3, pattern=PRINTABLE_ASCII)]
"""CiString(3) of the owner CPO."""
Id36 = Annotated[str, Meta(min_length=1, max_length=36, pattern=PRINTABLE_ASCII)]
"""A non-empty CiString(36) identifier (Location.id, EVSE.uid, Connector.id, tariff ids)."""
_TIME = r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$"


# -- enums -----------------------------------------------------------------------------------------
class Capability(enum.StrEnum):
    """What an EVSE can do."""

    CHARGING_PROFILE_CAPABLE = "CHARGING_PROFILE_CAPABLE"
    CHARGING_PREFERENCES_CAPABLE = "CHARGING_PREFERENCES_CAPABLE"
    CHIP_CARD_SUPPORT = "CHIP_CARD_SUPPORT"
    CONTACTLESS_CARD_SUPPORT = "CONTACTLESS_CARD_SUPPORT"
    CREDIT_CARD_PAYABLE = "CREDIT_CARD_PAYABLE"
    DEBIT_CARD_PAYABLE = "DEBIT_CARD_PAYABLE"
    PED_TERMINAL = "PED_TERMINAL"
    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE"
    RESERVABLE = "RESERVABLE"
    RFID_READER = "RFID_READER"
    START_SESSION_CONNECTOR_REQUIRED = "START_SESSION_CONNECTOR_REQUIRED"
    TOKEN_GROUP_CAPABLE = "TOKEN_GROUP_CAPABLE"
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE"


class ConnectorFormat(enum.StrEnum):
    """Socket (the driver brings the cable) or attached cable."""

    SOCKET = "SOCKET"
    CABLE = "CABLE"


class ConnectorType(enum.StrEnum):
    """The plug standard of a connector (40 values; note the lower-case ``single`` of IEC 60309)."""

    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
    DOMESTIC_A = "DOMESTIC_A"
    DOMESTIC_B = "DOMESTIC_B"
    DOMESTIC_C = "DOMESTIC_C"
    DOMESTIC_D = "DOMESTIC_D"
    DOMESTIC_E = "DOMESTIC_E"
    DOMESTIC_F = "DOMESTIC_F"
    DOMESTIC_G = "DOMESTIC_G"
    DOMESTIC_H = "DOMESTIC_H"
    DOMESTIC_I = "DOMESTIC_I"
    DOMESTIC_J = "DOMESTIC_J"
    DOMESTIC_K = "DOMESTIC_K"
    DOMESTIC_L = "DOMESTIC_L"
    DOMESTIC_M = "DOMESTIC_M"
    DOMESTIC_N = "DOMESTIC_N"
    DOMESTIC_O = "DOMESTIC_O"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
    IEC_60309_2_single_16 = "IEC_60309_2_single_16"
    IEC_60309_2_three_16 = "IEC_60309_2_three_16"
    IEC_60309_2_three_32 = "IEC_60309_2_three_32"
    IEC_60309_2_three_64 = "IEC_60309_2_three_64"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    IEC_62196_T3A = "IEC_62196_T3A"
    IEC_62196_T3C = "IEC_62196_T3C"
    NEMA_5_20 = "NEMA_5_20"
    NEMA_6_30 = "NEMA_6_30"
    NEMA_6_50 = "NEMA_6_50"
    NEMA_10_30 = "NEMA_10_30"
    NEMA_10_50 = "NEMA_10_50"
    NEMA_14_30 = "NEMA_14_30"
    NEMA_14_50 = "NEMA_14_50"
    PANTOGRAPH_BOTTOM_UP = "PANTOGRAPH_BOTTOM_UP"
    PANTOGRAPH_TOP_DOWN = "PANTOGRAPH_TOP_DOWN"
    TESLA_R = "TESLA_R"
    TESLA_S = "TESLA_S"


class EnergySourceCategory(enum.StrEnum):
    """Kinds of energy in an EnergyMix."""

    NUCLEAR = "NUCLEAR"
    GENERAL_FOSSIL = "GENERAL_FOSSIL"
    COAL = "COAL"
    GAS = "GAS"
    GENERAL_GREEN = "GENERAL_GREEN"
    SOLAR = "SOLAR"
    WIND = "WIND"
    WATER = "WATER"


class EnvironmentalImpactCategory(enum.StrEnum):
    """What an EnvironmentalImpact amount measures (g/kWh)."""

    NUCLEAR_WASTE = "NUCLEAR_WASTE"
    CARBON_DIOXIDE = "CARBON_DIOXIDE"


class Facility(enum.StrEnum):
    """Facilities a location belongs to or is near."""

    HOTEL = "HOTEL"
    RESTAURANT = "RESTAURANT"
    CAFE = "CAFE"
    MALL = "MALL"
    SUPERMARKET = "SUPERMARKET"
    SPORT = "SPORT"
    RECREATION_AREA = "RECREATION_AREA"
    NATURE = "NATURE"
    MUSEUM = "MUSEUM"
    BIKE_SHARING = "BIKE_SHARING"
    BUS_STOP = "BUS_STOP"
    TAXI_STAND = "TAXI_STAND"
    TRAM_STOP = "TRAM_STOP"
    METRO_STATION = "METRO_STATION"
    TRAIN_STATION = "TRAIN_STATION"
    AIRPORT = "AIRPORT"
    PARKING_LOT = "PARKING_LOT"
    CARPOOL_PARKING = "CARPOOL_PARKING"
    FUEL_STATION = "FUEL_STATION"
    WIFI = "WIFI"


class ParkingRestriction(enum.StrEnum):
    """Who may park at an EVSE."""

    EV_ONLY = "EV_ONLY"
    PLUGGED = "PLUGGED"
    DISABLED = "DISABLED"
    CUSTOMERS = "CUSTOMERS"
    MOTORCYCLES = "MOTORCYCLES"


class ParkingType(enum.StrEnum):
    """The general kind of parking at a location."""

    ALONG_MOTORWAY = "ALONG_MOTORWAY"
    PARKING_GARAGE = "PARKING_GARAGE"
    PARKING_LOT = "PARKING_LOT"
    ON_DRIVEWAY = "ON_DRIVEWAY"
    ON_STREET = "ON_STREET"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE"


class PowerType(enum.StrEnum):
    """AC with one, two (of three, or split) or three phases, or DC."""

    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class Status(enum.StrEnum):
    """The status of an EVSE; ``REMOVED`` is how an EVSE is deleted."""

    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


# -- classes ---------------------------------------------------------------------------------------
class AdditionalGeoLocation(GeoLocation, frozen=True, kw_only=True):
    """A related point of a location (an entrance, an exit), with an optional name."""

    name: DisplayText | None = None


class EnergySource(OcpiStruct, frozen=True, kw_only=True):
    """One share of an energy mix."""

    source: EnergySourceCategory
    percentage: Annotated[float, Meta(ge=0, le=100)]


class EnvironmentalImpact(OcpiStruct, frozen=True, kw_only=True):
    """An amount (g/kWh) of one environmental impact."""

    category: EnvironmentalImpactCategory
    amount: Annotated[float, Meta(ge=0)]


class EnergyMix(OcpiStruct, frozen=True, kw_only=True):
    """The energy supplied at a location."""

    is_green_energy: bool
    energy_sources: tuple[EnergySource, ...] | None = None
    environ_impact: tuple[EnvironmentalImpact, ...] | None = None
    supplier_name: String(64) | None = None  # type: ignore[valid-type]
    energy_product_name: String(64) | None = None  # type: ignore[valid-type]


class ExceptionalPeriod(OcpiStruct, frozen=True, kw_only=True):
    """A UTC period of exceptional opening or closing."""

    period_begin: datetime
    period_end: datetime


class RegularHours(OcpiStruct, frozen=True, kw_only=True):
    """Regular opening hours of one weekday (1 = Monday), in local ``HH:MM``."""

    weekday: Annotated[int, Meta(ge=1, le=7)]
    period_begin: Annotated[str, Meta(max_length=5, pattern=_TIME)]
    period_end: Annotated[str, Meta(max_length=5, pattern=_TIME)]


class Hours(OcpiStruct, frozen=True, kw_only=True):
    """Opening times: 24/7 or regular hours, plus exceptional openings and closings."""

    twentyfourseven: bool
    regular_hours: tuple[RegularHours, ...] | None = None
    exceptional_openings: tuple[ExceptionalPeriod, ...] | None = None
    exceptional_closings: tuple[ExceptionalPeriod, ...] | None = None


class PublishTokenType(OcpiStruct, frozen=True, kw_only=True):
    """A token (or group) allowed to see an unpublished location; it must match on every field set."""

    uid: CiString(36) | None = None  # type: ignore[valid-type]
    type: TokenType | None = None
    visual_number: String(64) | None = None  # type: ignore[valid-type]
    issuer: String(64) | None = None  # type: ignore[valid-type]
    group_id: CiString(36) | None = None  # type: ignore[valid-type]

    def __post_init__(self) -> None:
        """At least one of ``uid``, ``visual_number``, ``group_id`` must be set."""
        if self.uid is None and self.visual_number is None and self.group_id is None:
            raise ValueError("a PublishTokenType needs at least one of `uid`, `visual_number`, `group_id`")


class StatusSchedule(OcpiStruct, frozen=True, kw_only=True):
    """A planned status of an EVSE (informational; the real change is still pushed)."""

    period_begin: datetime
    period_end: datetime | None = None
    status: Status


# -- objects ---------------------------------------------------------------------------------------
class Connector(OcpiStruct, frozen=True, kw_only=True):
    """One socket or cable of an EVSE."""

    id: Id36
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: tuple[Id36, ...] | None = None
    terms_and_conditions: URL | None = None
    last_updated: datetime


class EVSE(OcpiStruct, frozen=True, kw_only=True):
    """One charging point (serves one EV at a time) with its connectors."""

    uid: Id36
    evse_id: CiString(48) | None = None  # type: ignore[valid-type]
    status: Status
    status_schedule: tuple[StatusSchedule, ...] | None = None
    capabilities: tuple[Capability, ...] | None = None
    connectors: Annotated[tuple[Connector, ...], Meta(min_length=1)]
    floor_level: String(4) | None = None  # type: ignore[valid-type]
    coordinates: GeoLocation | None = None
    physical_reference: String(16) | None = None  # type: ignore[valid-type]
    directions: tuple[DisplayText, ...] | None = None
    parking_restrictions: tuple[ParkingRestriction, ...] | None = None
    images: tuple[Image, ...] | None = None
    last_updated: datetime


class Location(OcpiStruct, frozen=True, kw_only=True):
    """A place with EVSEs, owned by one CPO party."""

    country_code: CountryCode
    party_id: PartyId
    id: Id36
    publish: bool
    publish_allowed_to: tuple[PublishTokenType, ...] | None = None
    name: String(255) | None = None  # type: ignore[valid-type]
    address: String(255)  # type: ignore[valid-type]
    city: String(45)  # type: ignore[valid-type]
    postal_code: String(10) | None = None  # type: ignore[valid-type]
    state: String(45) | None = None  # type: ignore[valid-type]
    country: Annotated[str, Meta(min_length=3, max_length=3, pattern=PRINTABLE_ASCII)]
    coordinates: GeoLocation
    related_locations: tuple[AdditionalGeoLocation, ...] | None = None
    parking_type: ParkingType | None = None
    evses: tuple[EVSE, ...] | None = None
    directions: tuple[DisplayText, ...] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: tuple[Facility, ...] | None = None
    time_zone: String(255)  # type: ignore[valid-type]
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: tuple[Image, ...] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: datetime


# -- PATCH bodies ----------------------------------------------------------------------------------
class ConnectorPatch(OcpiStruct, frozen=True, kw_only=True):
    """A Connector PATCH: fields present replace the stored ones; ``last_updated`` is required."""

    id: Id36 | None = None
    standard: ConnectorType | None = None
    format: ConnectorFormat | None = None
    power_type: PowerType | None = None
    max_voltage: int | None = None
    max_amperage: int | None = None
    max_electric_power: int | None = None
    tariff_ids: tuple[Id36, ...] | None = None
    terms_and_conditions: URL | None = None
    last_updated: datetime


class EVSEPatch(OcpiStruct, frozen=True, kw_only=True):
    """An EVSE PATCH (most often ``status``); a ``connectors`` list replaces the stored list."""

    uid: Id36 | None = None
    evse_id: CiString(48) | None = None  # type: ignore[valid-type]
    status: Status | None = None
    status_schedule: tuple[StatusSchedule, ...] | None = None
    capabilities: tuple[Capability, ...] | None = None
    connectors: Annotated[tuple[Connector, ...], Meta(min_length=1)] | None = None
    floor_level: String(4) | None = None  # type: ignore[valid-type]
    coordinates: GeoLocation | None = None
    physical_reference: String(16) | None = None  # type: ignore[valid-type]
    directions: tuple[DisplayText, ...] | None = None
    parking_restrictions: tuple[ParkingRestriction, ...] | None = None
    images: tuple[Image, ...] | None = None
    last_updated: datetime


class LocationPatch(OcpiStruct, frozen=True, kw_only=True):
    """A Location PATCH; an ``evses`` list replaces the stored list."""

    country_code: CountryCode | None = None
    party_id: PartyId | None = None
    id: Id36 | None = None
    publish: bool | None = None
    publish_allowed_to: tuple[PublishTokenType, ...] | None = None
    name: String(255) | None = None  # type: ignore[valid-type]
    address: String(255) | None = None  # type: ignore[valid-type]
    city: String(45) | None = None  # type: ignore[valid-type]
    postal_code: String(10) | None = None  # type: ignore[valid-type]
    state: String(45) | None = None  # type: ignore[valid-type]
    country: Annotated[str, Meta(min_length=3, max_length=3, pattern=PRINTABLE_ASCII)] | None = None
    coordinates: GeoLocation | None = None
    related_locations: tuple[AdditionalGeoLocation, ...] | None = None
    parking_type: ParkingType | None = None
    evses: tuple[EVSE, ...] | None = None
    directions: tuple[DisplayText, ...] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: tuple[Facility, ...] | None = None
    time_zone: String(255) | None = None  # type: ignore[valid-type]
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: tuple[Image, ...] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: datetime


def patch_changes(patch: msgspec.Struct) -> dict[str, object]:
    """The fields a PATCH Struct sets (``null`` and absent fields are no change), ``last_updated`` included."""
    return {name: value for name in patch.__struct_fields__ if (value := getattr(patch, name)) is not None}
