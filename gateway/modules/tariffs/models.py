"""Wire models of the Tariffs module (OCPI 2.2.1 §11): Tariff and the classes and enums it holds.

Numbers are ``Decimal`` (decoded exactly from the JSON text, never through binary floats), so a tariff
that is stored and sent on again keeps the prices it arrived with. Encode them with
:data:`tariff_encoder`, which writes decimals as JSON numbers. Unknown fields are ignored and ``null``
equals absent (:class:`~gateway.ocpi.types.OcpiStruct`).
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - msgspec needs the type at runtime
from decimal import Decimal  # noqa: TC003 - msgspec needs the type at runtime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from gateway.ocpi.types import URL, DisplayText, OcpiStruct, String

__all__ = (
    "DayOfWeek",
    "EnergyMix",
    "EnergySource",
    "EnergySourceCategory",
    "EnvironmentalImpact",
    "EnvironmentalImpactCategory",
    "Price",
    "PriceComponent",
    "ReservationRestrictionType",
    "Tariff",
    "TariffDimensionType",
    "TariffElement",
    "TariffRestrictions",
    "TariffType",
    "tariff_encoder",
)

TariffDimensionType = Literal["ENERGY", "FLAT", "PARKING_TIME", "TIME"]
TariffType = Literal["AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"]
ReservationRestrictionType = Literal["RESERVATION", "RESERVATION_EXPIRES"]
DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
EnergySourceCategory = Literal["NUCLEAR", "GENERAL_FOSSIL", "COAL", "GAS", "GENERAL_GREEN", "SOLAR", "WIND", "WATER"]
EnvironmentalImpactCategory = Literal["NUCLEAR_WASTE", "CARBON_DIOXIDE"]

Time = Annotated[str, Meta(pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")]
"""``HH:MM``, 24 hours, leading zeros (the spec's regex)."""
Date = Annotated[str, Meta(pattern=r"^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
"""``YYYY-MM-DD`` (the spec's regex; impossible days such as 02-30 are refused by the engine)."""
Currency = Annotated[str, Meta(pattern=r"^[A-Za-z]{3}$")]
"""ISO 4217: three letters."""
StepSize = Annotated[int, Meta(ge=0)]
"""Wh or seconds; 0 is accepted and billed like 1 (the erratum's advice)."""


class Price(OcpiStruct, frozen=True, kw_only=True):
    """An amount excluding and, optionally, including VAT (exact decimals, unlike ``ocpi.types.Price``)."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None


class PriceComponent(OcpiStruct, frozen=True, kw_only=True):
    """How one dimension is priced while its element is the active one for that dimension."""

    type: TariffDimensionType
    price: Decimal
    """Per kWh, per hour or per occurrence, excluding VAT."""
    vat: Decimal | None = None
    """VAT percentage; absent = no VAT applicable (not the same statement as 0 %). The engine refuses < 0."""
    step_size: StepSize


class TariffRestrictions(OcpiStruct, frozen=True, kw_only=True):
    """Conditions under which an element applies; every present one must hold."""

    start_time: Time | None = None
    end_time: Time | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[DayOfWeek] | None = None
    reservation: ReservationRestrictionType | None = None


class TariffElement(OcpiStruct, frozen=True, kw_only=True):
    """Price components and the restrictions under which they apply."""

    price_components: Annotated[list[PriceComponent], Meta(min_length=1)]
    restrictions: TariffRestrictions | None = None


class EnergySource(OcpiStruct, frozen=True, kw_only=True):
    """One energy source and its share of the mix."""

    source: EnergySourceCategory
    percentage: Decimal
    """0 to 100."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.percentage <= 100:  # msgspec reports a ValueError here as a ValidationError
            raise ValueError(f"percentage must be between 0 and 100, not {self.percentage}")


class EnvironmentalImpact(OcpiStruct, frozen=True, kw_only=True):
    """An environmental impact, in g/kWh."""

    category: EnvironmentalImpactCategory
    amount: Decimal


class EnergyMix(OcpiStruct, frozen=True, kw_only=True):
    """The energy supplied under a tariff (class of the Locations module)."""

    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: String(64) | None = None  # type: ignore[valid-type]
    energy_product_name: String(64) | None = None  # type: ignore[valid-type]


class Tariff(OcpiStruct, frozen=True, kw_only=True):
    """An OCPI 2.2.1 Tariff, owned by a CPO."""

    country_code: Annotated[str, Meta(min_length=2, max_length=2, pattern=r"^[\x20-\x7E]*$")]
    party_id: Annotated[str, Meta(min_length=1, max_length=3, pattern=r"^[\x20-\x7E]*$")]
    id: Annotated[str, Meta(min_length=1, max_length=36, pattern=r"^[\x20-\x7E]*$")]
    """CiString(36), unique within the CPO platform."""
    currency: Currency
    type: TariffType | None = None
    """Absent: valid for every session."""
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: URL | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    elements: Annotated[list[TariffElement], Meta(min_length=1)]
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: datetime


tariff_encoder = msgspec.json.Encoder(decimal_format="number")
"""Encodes tariffs with their decimals as JSON numbers, exactly as they were received."""
