"""Shared OCPI 2.2.1 data types as msgspec Structs, with the spec's lengths and enums.

Conventions of every OCPI Struct (:class:`OcpiStruct`): unknown fields are ignored (the 2.3.0 rule,
applied to every version), ``null`` equals absent, and datetimes are UTC: a value without designator is
read as UTC, a non-zero offset is refused, and every datetime is emitted with ``Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

__all__ = (
    "NO_CONTROL",
    "PRINTABLE_ASCII",
    "URL",
    "BusinessDetails",
    "CiString",
    "CredentialsRole",
    "DisplayText",
    "GeoLocation",
    "Image",
    "ImageCategory",
    "InterfaceRole",
    "ModuleID",
    "OcpiStruct",
    "Price",
    "Role",
    "String",
    "VersionNumber",
    "format_datetime",
    "utc",
)

PRINTABLE_ASCII = r"^[\x20-\x7E]*$"
"""Pattern of a CiString: printable ASCII only."""
NO_CONTROL = r"^[^\x00-\x1F\x7F]*$"
"""Pattern of an OCPI string: no control characters."""


def CiString(max_length: int) -> Any:
    """OCPI ``CiString(n)``: printable ASCII, at most ``n`` characters, compared without case."""
    return Annotated[str, Meta(max_length=max_length, pattern=PRINTABLE_ASCII)]


def String(max_length: int) -> Any:
    """OCPI ``string(n)``: UTF-8 without control characters, at most ``n`` characters."""
    return Annotated[str, Meta(max_length=max_length, pattern=NO_CONTROL)]


URL = Annotated[str, Meta(max_length=255, pattern=NO_CONTROL)]
Role = Literal["CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP"]
InterfaceRole = Literal["SENDER", "RECEIVER"]
VersionNumber = Literal["2.0", "2.1", "2.1.1", "2.2", "2.2.1", "2.3.0"]
ModuleID = Annotated[str, Meta(max_length=255, pattern=PRINTABLE_ASCII)]
"""A ModuleID: one of the standard modules (``cdrs``, ``locations``, ...) or a bilateral custom one."""
ImageCategory = Literal["CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"]


def utc(value: datetime) -> datetime:
    """A datetime as aware UTC: naive values are UTC by the spec; a non-zero offset is an error.

    Raises:
        ValueError: The value carries an offset other than zero.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if value.utcoffset() != timedelta(0):
        raise ValueError("datetimes must be UTC (with Z or without designator), not with an offset")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """Emit an OCPI DateTime: UTC with ``Z``, fractional seconds only when present."""
    value = utc(value)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class OcpiStruct(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every OCPI object: datetime fields are normalised to aware UTC after decoding."""

    __datetime_fields__: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hints = getattr(cls, "__annotations__", {})
        own = tuple(name for name, hint in hints.items() if "datetime" in str(hint))
        inherited = tuple(name for name in cls.__datetime_fields__ if name not in own)
        cls.__datetime_fields__ = inherited + own

    def __post_init__(self) -> None:
        for name in self.__datetime_fields__:
            value = getattr(self, name, None)
            if isinstance(value, datetime) and (value.tzinfo is not UTC):
                try:
                    msgspec.structs.force_setattr(self, name, utc(value))
                except ValueError as exc:  # msgspec reports it as a ValidationError; name the field
                    raise ValueError(f"`{name}`: {exc}") from None


class DisplayText(OcpiStruct, frozen=True):
    """Text in one language."""

    language: Annotated[str, Meta(min_length=2, max_length=2)]
    text: String(512)  # type: ignore[valid-type]


class Price(OcpiStruct, frozen=True):
    """An amount excluding and, optionally, including VAT."""

    excl_vat: float
    incl_vat: float | None = None


class Image(OcpiStruct, frozen=True):
    """A reference to an image."""

    url: URL
    category: ImageCategory
    type: CiString(4)  # type: ignore[valid-type]
    thumbnail: URL | None = None
    width: Annotated[int, Meta(ge=0, le=99999)] | None = None
    height: Annotated[int, Meta(ge=0, le=99999)] | None = None


class BusinessDetails(OcpiStruct, frozen=True):
    """Name, website and logo of a business."""

    name: String(100)  # type: ignore[valid-type]
    website: URL | None = None
    logo: Image | None = None


class GeoLocation(OcpiStruct, frozen=True):
    """A WGS 84 point, with the spec's decimal-string shape."""

    latitude: Annotated[str, Meta(max_length=10, pattern=r"^-?[0-9]{1,2}\.[0-9]{5,7}$")]
    longitude: Annotated[str, Meta(max_length=11, pattern=r"^-?[0-9]{1,3}\.[0-9]{5,7}$")]


class CredentialsRole(OcpiStruct, frozen=True):
    """One role a platform hosts, as exchanged in Credentials."""

    role: Role
    business_details: BusinessDetails
    party_id: Annotated[str, Meta(min_length=1, max_length=3, pattern=PRINTABLE_ASCII)]
    country_code: Annotated[str, Meta(min_length=2, max_length=2, pattern=PRINTABLE_ASCII)]
