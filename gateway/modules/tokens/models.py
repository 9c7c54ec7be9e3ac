"""OCPI 2.2.1 Tokens module objects as msgspec Structs: Token, TokenPatch, AuthorizationInfo and friends.

Validation follows the Rust TokenCache (``gateway.core.TokenCache``) so that both accept the same tokens:

- ``CiString(n)``: printable ASCII, at most n characters; identifiers (country_code, party_id, uid,
  contract_id) must not be empty. Case-insensitive: compare with :func:`ci_key`.
- ``string(n)``: at most n characters, no control characters.
- ``DateTime``: UTC. A value without designator is read as UTC; a zero offset (``+00:00``) is read as
  ``Z`` (msgspec cannot tell them apart); any other offset is refused. Encoded with ``Z``.
- Unknown fields are ignored (the OCPI 2.3.0 rule, applied to every version); optional fields that are
  unset are left out when encoding.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated

import msgspec

__all__ = (
    "AllowedType",
    "AuthorizationInfo",
    "DisplayText",
    "EnergyContract",
    "LocationReferences",
    "ProfileType",
    "Token",
    "TokenPatch",
    "TokenType",
    "WhitelistType",
    "ci_key",
)

_PRINTABLE_ASCII = r"^[\x20-\x7e]*$"
_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"

CountryCode = Annotated[str, msgspec.Meta(min_length=1, max_length=2, pattern=_PRINTABLE_ASCII)]
"""CiString(2), ISO-3166 alpha-2 country code of the owner."""
PartyId = Annotated[str, msgspec.Meta(min_length=1, max_length=3, pattern=_PRINTABLE_ASCII)]
"""CiString(3), party id of the owner."""
CiId36 = Annotated[str, msgspec.Meta(min_length=1, max_length=36, pattern=_PRINTABLE_ASCII)]
"""A non-empty CiString(36) identifier."""
CiString36 = Annotated[str, msgspec.Meta(max_length=36, pattern=_PRINTABLE_ASCII)]
"""CiString(36)."""
String2 = Annotated[str, msgspec.Meta(max_length=2, pattern=_NO_CONTROL)]
String64 = Annotated[str, msgspec.Meta(max_length=64, pattern=_NO_CONTROL)]
String512 = Annotated[str, msgspec.Meta(max_length=512, pattern=_NO_CONTROL)]


def ci_key(value: str) -> str:
    """Return the form of a CiString used for comparing and keying: ASCII upper case.

    Args:
        value: a CiString (country code, party id, uid).

    Returns:
        The value with ASCII letters upper-cased, other characters unchanged.
    """
    return value.upper() if value.isascii() else value


class TokenType(enum.StrEnum):
    """How a token is presented."""

    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


class WhitelistType(enum.StrEnum):
    """Whether the CPO may authorise the token from its cache (tokens module section 4)."""

    ALWAYS = "ALWAYS"
    ALLOWED = "ALLOWED"
    ALLOWED_OFFLINE = "ALLOWED_OFFLINE"
    NEVER = "NEVER"


class AllowedType(enum.StrEnum):
    """The answer to an authorisation request."""

    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"


class ProfileType(enum.StrEnum):
    """The charging preference to apply automatically."""

    CHEAP = "CHEAP"
    FAST = "FAST"
    GREEN = "GREEN"
    REGULAR = "REGULAR"


def _utc(value: datetime) -> datetime:
    """Return a DateTime as aware UTC; refuse a non-zero offset (OCPI DateTime is UTC only)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if value.utcoffset():
        raise ValueError("`last_updated` must be UTC, without an offset")
    return value


class _Object(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """The wire convention of OCPI objects: snake_case names as they are, unknown fields ignored."""


class EnergyContract(_Object, kw_only=True, frozen=True):
    """The driver's own energy supplier contract."""

    supplier_name: String64
    """Name of the energy supplier."""
    contract_id: String64 | None = None
    """Contract id at that supplier."""


class Token(_Object, kw_only=True, frozen=True):
    """An OCPI Token, as an eMSP pushes it (PUT) or a CPO pulls it (GET)."""

    country_code: CountryCode
    """Country code of the eMSP that owns the token."""
    party_id: PartyId
    """Party id of the eMSP that owns the token."""
    uid: CiId36
    """The id presented at the charger (RFID UID, or an app user id). Unique with ``type`` per eMSP."""
    type: TokenType
    """The token type."""
    contract_id: CiId36
    """The driver's contract id (eMA ID advised)."""
    visual_number: String64 | None = None
    """The number printed on the card."""
    issuer: String64
    """The company printed on the card."""
    group_id: CiString36 | None = None
    """Groups tokens that act as one (start with one, stop with another)."""
    valid: bool
    """Whether the token is valid."""
    whitelist: WhitelistType
    """How the CPO may authorise the token."""
    language: String2 | None = None
    """ISO 639-1 preferred language of the driver."""
    default_profile_type: ProfileType | None = None
    """Charging preference to apply automatically."""
    energy_contract: EnergyContract | None = None
    """The driver's own energy contract."""
    last_updated: datetime
    """When the token was last changed, UTC."""

    def __post_init__(self) -> None:
        """Read a DateTime without designator as UTC; refuse offsets."""
        msgspec.structs.force_setattr(self, "last_updated", _utc(self.last_updated))


class TokenPatch(_Object, kw_only=True, frozen=True):
    """A Token PATCH body: the fields present replace the stored ones; ``last_updated`` is required.

    Identifiers may be sent and must then name the patched token (checked by the receiver).
    """

    country_code: CountryCode | None = None
    party_id: PartyId | None = None
    uid: CiId36 | None = None
    type: TokenType | None = None
    contract_id: CiId36 | None = None
    visual_number: String64 | None = None
    issuer: String64 | None = None
    group_id: CiString36 | None = None
    valid: bool | None = None
    whitelist: WhitelistType | None = None
    language: String2 | None = None
    default_profile_type: ProfileType | None = None
    energy_contract: EnergyContract | None = None
    last_updated: datetime
    """When the token was changed, UTC. Required in every PATCH."""

    def __post_init__(self) -> None:
        """Read a DateTime without designator as UTC; refuse offsets."""
        msgspec.structs.force_setattr(self, "last_updated", _utc(self.last_updated))


class LocationReferences(_Object, kw_only=True, frozen=True):
    """Where a driver wants to charge, sent with a real-time authorisation request."""

    location_id: CiId36
    """The Location.id."""
    evse_uids: tuple[CiId36, ...] | None = None
    """EVSE.uids at that location (all when absent)."""


class DisplayText(_Object, kw_only=True, frozen=True):
    """A text for the driver in one language."""

    language: String2
    text: String512


class AuthorizationInfo(_Object, kw_only=True, frozen=True):
    """The answer to an authorisation request (real-time from the eMSP, or ours from the cache)."""

    allowed: AllowedType
    """The decision."""
    token: Token
    """The full Token."""
    location: LocationReferences | None = None
    """The location and allowed EVSEs, when the request named a location and charging is allowed there."""
    authorization_reference: CiString36 | None = None
    """Reference to copy into the Session and CDR."""
    info: DisplayText | None = None
    """A message for the driver."""
