"""Tariffs kept by the gateway: validation (schema and pricing engine), and the two kinds in the store.

- ``tariffs``: our own tariffs, as CPO; published by the back office (``/api/tariffs``) and served by the
  Sender list.
- ``received_tariffs``: tariffs partners' CPOs pushed to our eMSP Receiver.

A tariff is stored only once the Rust engine has compiled it, so every stored tariff can be priced.
Store keys are upper-cased (country code, party id and id are CiStrings); the stored JSON keeps the case
the tariff was sent with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.core import CompiledTariff, PricingError
from gateway.modules.tariffs.models import Tariff, tariff_encoder
from gateway.ocpi.body import decode_body
from gateway.ocpi.status import OcpiError, OcpiStatus
from gateway.store.base import ObjectKey, StoredObject

if TYPE_CHECKING:
    from gateway.store.base import Store

__all__ = (
    "OWN_KIND",
    "RECEIVED_KIND",
    "ParsedTariff",
    "delete_tariff",
    "get_tariff",
    "parse_tariff",
    "put_tariff",
    "tariff_key",
)

OWN_KIND = "tariffs"
"""Store kind of our own tariffs (CPO role)."""
RECEIVED_KIND = "received_tariffs"
"""Store kind of the tariffs partners pushed to us (eMSP role)."""


class ParsedTariff:
    """A validated tariff: the Struct, the JSON we store and serve, and its key."""

    __slots__ = ("data", "key", "tariff")

    def __init__(self, tariff: Tariff, data: bytes) -> None:
        self.tariff = tariff
        self.data = data
        self.key = tariff_key(tariff.country_code, tariff.party_id, tariff.id)


def tariff_key(country_code: str, party_id: str, tariff_id: str) -> ObjectKey:
    """The store key of a tariff; CiStrings are compared without case, so the key is upper case."""
    return ObjectKey(country_code.upper(), party_id.upper(), tariff_id.upper())


def _compile(data: bytes, http_status: int) -> None:
    try:
        CompiledTariff(data)
    except PricingError as exc:
        # The engine's message names the field: "Invalid tariff: field `elements[0]...` must be ...".
        raise OcpiError(
            OcpiStatus.INVALID_PARAMETERS, f"Invalid request body: {exc}", http_status=http_status
        ) from None


def parse_tariff(body: bytes, *, validation_http_status: int = 200) -> ParsedTariff:
    """Decode, validate and compile a Tariff from a request body.

    The schema (types, lengths, enums, patterns) is checked by msgspec; then the pricing engine compiles
    both the body as sent (it refuses numbers sent as strings and impossible dates or values) and the JSON
    we will store, so a stored tariff can always be priced.

    Args:
        body: The request body.
        validation_http_status: HTTP status of a 2001 answer to valid JSON with rejected content.

    Returns:
        The tariff and its JSON as stored (unknown fields dropped, datetimes with ``Z``).

    Raises:
        OcpiError: 2001 naming the field; HTTP 400 for a body that is not JSON.
    """
    tariff = decode_body(body, Tariff, validation_http_status=validation_http_status)
    data = tariff_encoder.encode(tariff)
    _compile(body, validation_http_status)
    _compile(data, validation_http_status)
    return ParsedTariff(tariff, data)


async def put_tariff(store: Store, kind: str, parsed: ParsedTariff) -> bool:
    """Create or replace a tariff; ``True`` when it was created."""
    stored = StoredObject(key=parsed.key, last_updated=parsed.tariff.last_updated, data=parsed.data)
    return await store.put_object(kind, stored)


async def get_tariff(store: Store, kind: str, key: ObjectKey) -> bytes | None:
    """The stored JSON of a tariff, or ``None``."""
    found = await store.get_object(kind, key)
    return None if found is None else found.data


async def delete_tariff(store: Store, kind: str, key: ObjectKey) -> bool:
    """Delete a tariff; ``False`` when there was none."""
    return await store.delete_object(kind, key)
