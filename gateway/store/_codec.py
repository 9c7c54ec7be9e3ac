"""Encodings both backends share: timestamps as integer microseconds, partner JSON, token digests."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from gateway.store.base import Partner

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gateway.store.base import OwnerObjects

__all__ = (
    "MAX_MICROS",
    "check_max_len",
    "check_owner_objects",
    "check_page",
    "check_read",
    "decode_partner",
    "encode_partner",
    "from_micros",
    "to_micros",
    "token_digest",
    "token_matches",
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)

MAX_MICROS = 2**53
"""Timestamps are kept within +-2**53 microseconds (about +-285 years around 1970), so that a Redis sorted
set score (an IEEE double) holds them exactly. SQLite uses the same bound so both backends accept the same
input."""

_partner_decoder = msgspec.json.Decoder(Partner)


def to_micros(moment: datetime) -> int:
    """Return ``moment`` as exact integer microseconds since the Unix epoch (UTC).

    Raises:
        ValueError: ``moment`` is naive (no timezone) or too far from 1970 for an exact double.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"last_updated must be timezone-aware, got naive {moment.isoformat()}")
    micros = (moment - EPOCH) // _ONE_MICROSECOND
    if not -MAX_MICROS <= micros <= MAX_MICROS:
        raise ValueError(f"Timestamp {moment.isoformat()} is out of the supported range")
    return micros


def from_micros(micros: int) -> datetime:
    """Return the UTC datetime ``micros`` microseconds after the Unix epoch."""
    return EPOCH + timedelta(microseconds=micros)


def encode_partner(partner: Partner) -> bytes:
    """Serialise a partner record to JSON bytes."""
    return msgspec.json.encode(partner)


def decode_partner(data: bytes) -> Partner:
    """Deserialise a partner record written by :func:`encode_partner`."""
    return _partner_decoder.decode(data)


def token_digest(token: str) -> bytes:
    """SHA-256 of a credentials token: what the token indexes are keyed by, so no index holds the token."""
    return hashlib.sha256(token.encode()).digest()


def token_matches(partner: Partner, token: str) -> bool:
    """Compare the presented token with the partner's ``token_in`` in constant time."""
    return hmac.compare_digest(partner.token_in.encode(), token.encode())


def check_page(offset: int, limit: int) -> None:
    """Reject a negative offset or limit.

    Raises:
        ValueError: ``offset`` or ``limit`` is negative.
    """
    if offset < 0 or limit < 0:
        raise ValueError(f"offset and limit must not be negative, got offset={offset} limit={limit}")


def check_owner_objects(owners: Sequence[OwnerObjects]) -> None:
    """Reject columns of different lengths and timestamps a Redis score cannot hold exactly.

    Raises:
        ValueError: An owner's ``ids``, ``micros`` and ``data`` differ in length, or a timestamp is out of range.
    """
    for owner in owners:
        if not len(owner.ids) == len(owner.micros) == len(owner.data):
            raise ValueError(f"Columns of owner {owner.country_code}/{owner.party_id} differ in length")
        if owner.micros and (min(owner.micros) < -MAX_MICROS or max(owner.micros) > MAX_MICROS):
            owner_name = f"{owner.country_code}/{owner.party_id}"
            raise ValueError(f"A timestamp of owner {owner_name} is out of the supported range")


def check_max_len(max_len: int) -> None:
    """Reject a change log length below one.

    Raises:
        ValueError: ``max_len`` is below one.
    """
    if max_len < 1:
        raise ValueError(f"publish_max_len must be at least 1, got {max_len}")


def check_read(limit: int, block_seconds: float) -> None:
    """Reject a change log read with a non-positive ``limit`` or a negative wait.

    Raises:
        ValueError: ``limit`` is below one or ``block_seconds`` is negative.
    """
    if limit < 1 or block_seconds < 0:
        raise ValueError(f"limit must be positive and block_seconds not negative, got {limit} and {block_seconds}")
