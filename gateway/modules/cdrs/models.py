"""OCPI 2.2.1 CDRs objects as msgspec Structs: CDR, CdrLocation, SignedData, SignedValue.

ChargingPeriod, CdrDimension, CdrToken and AuthMethod come from :mod:`gateway.modules.sessions.models`.
Lengths follow the ``release-2.2.1-bugfixes`` errata: CdrLocation ``address`` 255 and ``state`` 45 (as
copied from a Location), SignedValue ``plain_data`` 5000. A CDR's ``id`` is at most 39 characters, and
at most 36 unless it is a credit CDR; ``credit: true`` needs a ``credit_reference_id``.

``tariffs`` are kept as the JSON objects that came (compacted, fields untouched) and checked only for
the Tariff basics (owner, id, currency, elements, last_updated): the Tariffs models live in another
module. Swap in its Tariff Struct once it is merged.

ConnectorType, ConnectorFormat and PowerType belong to the Locations module, which is not merged yet;
they are spelled out here as Literals and should be imported from there once it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from gateway.modules.sessions.models import (
    AuthMethod,
    CdrToken,
    ChargingPeriod,
    CiId,
    CountryCode,
    Currency,
    MeterId,
    PartyId,
)
from gateway.ocpi.types import NO_CONTROL, PRINTABLE_ASCII, GeoLocation, OcpiStruct, Price

__all__ = ("CDR", "CdrLocation", "ConnectorFormat", "ConnectorType", "PowerType", "SignedData", "SignedValue")



def _string(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, Meta(min_length=min_length, max_length=max_length, pattern=NO_CONTROL)]


def _ci_string(max_length: int, min_length: int = 1) -> Any:
    return Annotated[str, Meta(min_length=min_length, max_length=max_length, pattern=PRINTABLE_ASCII)]


CdrId = Annotated[str, Meta(min_length=1, max_length=39, pattern=PRINTABLE_ASCII)]
"""CiString(39): a CDR id, or an invoice reference."""

ConnectorType = Literal[
    "CHADEMO", "CHAOJI",
    "DOMESTIC_A", "DOMESTIC_B", "DOMESTIC_C", "DOMESTIC_D", "DOMESTIC_E", "DOMESTIC_F", "DOMESTIC_G", "DOMESTIC_H",
    "DOMESTIC_I", "DOMESTIC_J", "DOMESTIC_K", "DOMESTIC_L", "DOMESTIC_M", "DOMESTIC_N", "DOMESTIC_O",
    "GBT_AC", "GBT_DC",
    "IEC_60309_2_single_16", "IEC_60309_2_three_16", "IEC_60309_2_three_32", "IEC_60309_2_three_64",
    "IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO", "IEC_62196_T3A", "IEC_62196_T3C",
    "NEMA_5_20", "NEMA_6_30", "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50",
    "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "TESLA_R", "TESLA_S",
]  # fmt: skip
"""The 40 connector standards (locations.md)."""
ConnectorFormat = Literal["SOCKET", "CABLE"]
PowerType = Literal["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"]


class CdrLocation(OcpiStruct, frozen=True, kw_only=True):
    """The Location of a CDR, reduced to the EVSE and connector used, as it was at session start."""

    id: CiId
    name: _string(255) | None = None  # type: ignore[valid-type]
    address: _string(255)  # type: ignore[valid-type]
    """string(45) in d2; the erratum's 255 of Location.address is accepted (values are copied from it)."""
    city: _string(45)  # type: ignore[valid-type]
    postal_code: _string(10) | None = None  # type: ignore[valid-type]
    state: _string(45) | None = None  # type: ignore[valid-type]
    """string(20) in d2; the erratum's 45 is accepted."""
    country: _string(3, 3)  # type: ignore[valid-type]
    """ISO 3166-1 alpha-3."""
    coordinates: GeoLocation
    evse_uid: CiId
    evse_id: _ci_string(48)  # type: ignore[valid-type]
    connector_id: CiId
    connector_standard: ConnectorType
    connector_format: ConnectorFormat
    connector_power_type: PowerType


class SignedValue(OcpiStruct, frozen=True, kw_only=True):
    """One signed meter value (start, end, intermediate)."""

    nature: _ci_string(32)  # type: ignore[valid-type]
    plain_data: _string(5000)  # type: ignore[valid-type]
    """string(512) in d2; the erratum's 5000 is accepted."""
    signed_data: _string(5000)  # type: ignore[valid-type]


class SignedData(OcpiStruct, frozen=True, kw_only=True):
    """Signed meter data for calibration law (e.g. Eichrecht)."""

    encoding_method: _ci_string(36)  # type: ignore[valid-type]
    encoding_method_version: int | None = None
    public_key: _string(512) | None = None  # type: ignore[valid-type]
    signed_values: Annotated[tuple[SignedValue, ...], Meta(min_length=1)]
    url: _string(512) | None = None  # type: ignore[valid-type]


class _TariffBasics(msgspec.Struct, frozen=True, kw_only=True):
    """What a CDR's embedded Tariff must carry at least (its other fields pass through untouched)."""

    country_code: CountryCode
    party_id: PartyId
    id: CiId
    currency: Currency
    elements: Annotated[list[dict[str, Any]], Meta(min_length=1)]
    last_updated: datetime


_tariff_basics = msgspec.json.Decoder(_TariffBasics)
_encode_any = msgspec.json.Encoder().encode
_decode_any = msgspec.json.Decoder().decode


def _checked_tariff(index: int, raw: msgspec.Raw) -> msgspec.Raw:
    try:
        _tariff_basics.decode(raw)
    except msgspec.ValidationError as exc:
        raise ValueError(f"`tariffs[{index}]` is not a Tariff: {exc}") from None
    return msgspec.Raw(_encode_any(_decode_any(raw)))


class CDR(OcpiStruct, frozen=True, kw_only=True):
    """A Charge Detail Record: the sealed billing record of a finished session. Never changed once sent."""

    country_code: CountryCode
    party_id: PartyId
    id: CdrId
    """At most 36 characters unless ``credit`` (39, so a suffix fits)."""
    start_date_time: datetime
    end_date_time: datetime
    session_id: CiId | None = None
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiId | None = None
    cdr_location: CdrLocation
    meter_id: MeterId | None = None
    currency: Currency
    tariffs: tuple[msgspec.Raw, ...] = ()
    """The Tariffs relevant to the session, as JSON objects (see the module docstring)."""
    charging_periods: Annotated[tuple[ChargingPeriod, ...], Meta(min_length=1)]
    signed_data: SignedData | None = None
    total_cost: Price
    total_fixed_cost: Price | None = None
    total_energy: float
    total_energy_cost: Price | None = None
    total_time: float
    total_time_cost: Price | None = None
    total_parking_time: float | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: _string(255) | None = None  # type: ignore[valid-type]
    invoice_reference_id: CdrId | None = None
    credit: bool | None = None
    credit_reference_id: CdrId | None = None
    home_charging_compensation: bool | None = None
    last_updated: datetime

    def __post_init__(self) -> None:
        """Check the rules that span fields, and normalise the embedded tariffs."""
        super().__post_init__()
        if self.credit:
            if not self.credit_reference_id:
                raise ValueError("a credit CDR (`credit: true`) needs `credit_reference_id`")
        elif len(self.id) > 36:
            raise ValueError("`id` of a CDR that is not a credit CDR is at most 36 characters")
        if self.tariffs:
            checked = tuple(_checked_tariff(i, raw) for i, raw in enumerate(self.tariffs))
            msgspec.structs.force_setattr(self, "tariffs", checked)
