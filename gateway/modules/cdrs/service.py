"""CDRs in the store: ours (we are the CPO) and those CPO partners post to us (we are the eMSP).

A CDR is immutable: once stored under its owner and id it is never replaced. Storing the very same CDR
again is a success that changes nothing (a retried push is not stored twice); a different CDR under a
stored id is refused. Corrections are credit CDRs (``credit: true``, ``credit_reference_id`` naming a
stored CDR of the same owner) followed by a new CDR.

Store kinds: ``cdrs`` (ours, keyed by our CPO party and the id, upper-cased) with the recipient index
``cdrs_by_emsp`` that our Sender list reads; ``received_cdrs`` (keyed by the posting CPO party and id).

:func:`add_own_cdr` is the API the back-office flow calls when a session has been priced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from gateway.modules.cdrs.models import CDR
from gateway.modules.sessions._recipients import own_key, recipient_key, write_own
from gateway.modules.sessions.models import SESSION_ONLY_DIMENSIONS
from gateway.modules.sessions.service import key_lock
from gateway.store.base import ObjectKey, StoredObject

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gateway.store.base import OutboxMessage, Store

__all__ = (
    "CDRS",
    "CDRS_BY_EMSP",
    "RECEIVED_CDRS",
    "CdrConflictError",
    "InvalidCdrError",
    "add_own_cdr",
    "cdr_key",
    "get_own_cdr",
    "store_received_cdr",
)

CDRS = "cdrs"
"""Our own CDRs (CPO role)."""
CDRS_BY_EMSP = "cdrs_by_emsp"
"""Our own CDRs again, keyed by the eMSP owning the token: what the Sender list shows each partner."""
RECEIVED_CDRS = "received_cdrs"
"""CDRs CPO partners posted to us (eMSP role)."""

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(CDR)


class InvalidCdrError(ValueError):
    """A CDR that breaks a rule of the module (credit reference unknown, session-only dimension)."""


class CdrConflictError(InvalidCdrError):
    """A different CDR is already stored under this owner and id: CDRs are immutable."""


def cdr_key(country_code: str, party_id: str, cdr_id: str) -> ObjectKey:
    """The store key of a CDR: owner and id upper-cased (CiStrings compare without case)."""
    return own_key(country_code, party_id, cdr_id)


def _stored(cdr: CDR) -> StoredObject:
    return StoredObject(
        key=cdr_key(cdr.country_code, cdr.party_id, cdr.id), last_updated=cdr.last_updated, data=_encoder.encode(cdr)
    )


async def _check_new(store: Store, kind: str, obj: StoredObject, cdr: CDR) -> bool:
    """True when ``obj`` is not stored yet, False when the identical CDR is; refuse anything else."""
    existing = await store.get_object(kind, obj.key)
    if existing is not None:
        if existing.data == obj.data:
            return False
        raise CdrConflictError("CDRs are immutable; send a credit CDR")
    if cdr.credit:
        assert cdr.credit_reference_id is not None  # the model requires it with `credit`
        reference = cdr_key(cdr.country_code, cdr.party_id, cdr.credit_reference_id)
        if reference == obj.key:
            raise InvalidCdrError("a credit CDR needs an id of its own, not the credited CDR's")
        if await store.get_object(kind, reference) is None:
            raise InvalidCdrError(
                f"`credit_reference_id` {reference.id} names no CDR of {reference.country_code}/{reference.party_id}"
            )
    return True


async def store_received_cdr(store: Store, cdr: CDR) -> bool:
    """Keep a CDR a CPO partner posted; True when new, False when this very CDR was already stored.

    Raises:
        CdrConflictError: Another CDR is stored under the same owner and id.
        InvalidCdrError: A credit CDR whose ``credit_reference_id`` names no stored CDR of the owner.
    """
    obj = _stored(cdr)
    async with key_lock(RECEIVED_CDRS, obj.key):
        if not await _check_new(store, RECEIVED_CDRS, obj, cdr):
            return False
        await store.put_object(RECEIVED_CDRS, obj)
        return True


async def add_own_cdr(store: Store, cdr: CDR, *, outbox: Sequence[OutboxMessage] = ()) -> bool:
    """Store one of our CDRs for the eMSP owning its token; True when new, False when already stored as is.

    What we send is held to the spec strictly: session-only dimensions (CURRENT, POWER, ENERGY_IMPORT,
    ENERGY_EXPORT, STATE_OF_CHARGE) are refused. The caller builds the messages pushing it (``outbox``);
    they are stored in the same transaction as a new CDR, and dropped when the CDR was already stored.

    Raises:
        CdrConflictError: A different CDR of ours has this id (never replaced: issue a credit CDR).
        InvalidCdrError: A session-only dimension, or a credit CDR naming no CDR of ours.
    """
    for period in cdr.charging_periods:
        for dimension in period.dimensions:
            if dimension.type in SESSION_ONLY_DIMENSIONS:
                raise InvalidCdrError(f"dimension {dimension.type} is for Sessions only, not for CDRs")
    obj = _stored(cdr)
    recipient = recipient_key(cdr.cdr_token, obj.key)
    async with key_lock(CDRS, obj.key):
        if await _check_new(store, CDRS, obj, cdr):
            return await write_own(store, CDRS, CDRS_BY_EMSP, obj, recipient, None, outbox=outbox)
        # Already stored: write the index entry again, in case an earlier call failed between the two writes.
        await store.put_object(CDRS_BY_EMSP, StoredObject(key=recipient, last_updated=obj.last_updated, data=obj.data))
        return False


async def get_own_cdr(store: Store, country_code: str, party_id: str, cdr_id: str) -> CDR | None:
    """One of our CDRs, or ``None``."""
    stored = await store.get_object(CDRS, cdr_key(country_code, party_id, cdr_id))
    return None if stored is None else _decoder.decode(stored.data)
