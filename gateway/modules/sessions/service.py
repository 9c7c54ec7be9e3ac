"""Sessions in the store: ours (we are the CPO) and those CPO partners push to us (we are the eMSP).

Store kinds:

- ``sessions``: our own sessions, keyed by our CPO party and the session id (upper-cased CiStrings),
  plus the recipient index ``sessions_by_emsp`` the Sender list reads (see ``_recipients``);
- ``session_charging_preferences``: the last ChargingPreferences an eMSP set on one of our sessions,
  under the session's key (kept apart so the Session objects we serve stay exactly the spec's);
- ``received_sessions``: sessions CPO partners pushed to our eMSP Receiver, keyed by their owner.

The functions taking a ``store`` are the API the back-office flow calls for our own sessions:
:func:`put_own_session`, :func:`patch_own_session`, :func:`get_own_session`.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

import msgspec

from gateway.modules.sessions._recipients import own_key, recipient_key, write_own
from gateway.modules.sessions.models import ChargingPreferences, Session, SessionPatch
from gateway.modules.tokens.models import ci_key
from gateway.store.base import ObjectKey, StoredObject, retry_conflicts

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gateway.store.base import OutboxMessage, Store

__all__ = (
    "RECEIVED_SESSIONS",
    "SESSIONS",
    "SESSIONS_BY_EMSP",
    "SESSION_PREFERENCES",
    "PatchConflictError",
    "UnknownSessionError",
    "get_own_session",
    "key_lock",
    "merge_patch",
    "patch_own_session",
    "put_own_session",
    "put_preferences",
    "session_key",
    "stored_session",
)

SESSIONS = "sessions"
"""Our own sessions (CPO role)."""
SESSIONS_BY_EMSP = "sessions_by_emsp"
"""Our own sessions again, keyed by the eMSP owning the token: what the Sender list shows each partner."""
SESSION_PREFERENCES = "session_charging_preferences"
"""ChargingPreferences set on our sessions, under the session's key."""
RECEIVED_SESSIONS = "received_sessions"
"""Sessions CPO partners pushed to us (eMSP role)."""

_encoder = msgspec.json.Encoder()
_session_decoder = msgspec.json.Decoder(Session)
_locks: weakref.WeakValueDictionary[tuple[str, ObjectKey], asyncio.Lock] = weakref.WeakValueDictionary()


class UnknownSessionError(LookupError):
    """A PATCH named a session that is not stored (a PATCH never creates one)."""


class PatchConflictError(ValueError):
    """A PATCH whose identifiers name another session."""


def session_key(country_code: str, party_id: str, session_id: str) -> ObjectKey:
    """The store key of a session: owner and id upper-cased (CiStrings compare without case)."""
    return own_key(country_code, party_id, session_id)


def key_lock(kind: str, key: ObjectKey) -> asyncio.Lock:
    """A lock serialising read-modify-write of one object within this worker (PATCH appends, CDR inserts).

    Workers do not share it: across workers, each read-modify-write expects the version it read
    (:class:`~gateway.store.base.Expect`) and runs again after a conflict, so no update is lost.
    """
    lock = _locks.get((kind, key))
    if lock is None:
        lock = _locks[(kind, key)] = asyncio.Lock()
    return lock


def stored_session(session: Session) -> StoredObject:
    """A session as the store keeps it."""
    key = session_key(session.country_code, session.party_id, session.id)
    return StoredObject(key=key, last_updated=session.last_updated, data=_encoder.encode(session))


def merge_patch(stored: Session, patch: SessionPatch) -> Session:
    """Apply a PATCH: present fields replace the stored ones; ``charging_periods`` are appended.

    An absent, ``null`` or empty ``charging_periods`` leaves the stored periods unchanged.

    Raises:
        PatchConflictError: ``country_code``, ``party_id`` or ``id`` of the patch name another session.
    """
    for field in ("country_code", "party_id", "id"):
        value = getattr(patch, field)
        if value is not None and ci_key(value) != ci_key(getattr(stored, field)):
            raise PatchConflictError(f"field `{field}` of the PATCH names another session")
    changes = {
        field: getattr(patch, field)
        for field in patch.__struct_fields__
        if field not in ("country_code", "party_id", "id", "charging_periods") and getattr(patch, field) is not None
    }
    if patch.charging_periods:
        changes["charging_periods"] = stored.charging_periods + patch.charging_periods
    merged = msgspec.structs.replace(stored, **changes)
    return _session_decoder.decode(_encoder.encode(merged))  # whole-object validation of the result


async def _previous_recipient(store: Store, key: ObjectKey) -> ObjectKey | None:
    stored = await store.get_object(SESSIONS, key)
    if stored is None:
        return None
    return recipient_key(_session_decoder.decode(stored.data).cdr_token, key)


async def put_own_session(store: Store, session: Session, *, outbox: Sequence[OutboxMessage] = ()) -> bool:
    """Create or replace one of our sessions (a PUT: omitted periods are cleared). True when it was new.

    The session becomes visible in our Sender list to the eMSP owning its ``cdr_token``. The caller builds
    the messages pushing it (``outbox``); they are stored in the same transaction as the session.
    """
    obj = stored_session(session)
    async with key_lock(SESSIONS, obj.key):
        previous = await _previous_recipient(store, obj.key)
        return await write_own(
            store, SESSIONS, SESSIONS_BY_EMSP, obj, recipient_key(session.cdr_token, obj.key), previous, outbox=outbox
        )


async def patch_own_session(
    store: Store, country_code: str, party_id: str, session_id: str, patch: SessionPatch
) -> Session:
    """Apply a PATCH to one of our sessions and return the merged session (what to push to the eMSP).

    Raises:
        UnknownSessionError: No such session of ours.
        PatchConflictError: The patch's identifiers name another session.
        msgspec.ValidationError: The merged session is not a valid Session.
        WriteConflict: Other workers kept writing the session (after several fresh reads).
    """
    key = session_key(country_code, party_id, session_id)

    async def attempt() -> Session:
        stored = await store.get_object(SESSIONS, key)
        if stored is None:
            raise UnknownSessionError(f"Unknown session {key.country_code}/{key.party_id}/{key.id}")
        current = _session_decoder.decode(stored.data)
        merged = merge_patch(current, patch)
        recipient = recipient_key(merged.cdr_token, key)
        previous = recipient_key(current.cdr_token, key)
        obj = stored_session(merged)
        await write_own(store, SESSIONS, SESSIONS_BY_EMSP, obj, recipient, previous, expected=stored.data)
        return merged

    async with key_lock(SESSIONS, key):
        return await retry_conflicts(attempt)


async def get_own_session(store: Store, country_code: str, party_id: str, session_id: str) -> Session | None:
    """One of our sessions, or ``None``."""
    stored = await store.get_object(SESSIONS, session_key(country_code, party_id, session_id))
    return None if stored is None else _session_decoder.decode(stored.data)


async def put_preferences(store: Store, key: ObjectKey, preferences: ChargingPreferences, session: Session) -> None:
    """Keep the ChargingPreferences an eMSP set on our session ``key`` (replacing earlier ones)."""
    await store.put_object(
        SESSION_PREFERENCES,
        StoredObject(key=key, last_updated=session.last_updated, data=_encoder.encode(preferences)),
    )
