"""Locations in the store: whole Locations as one JSON document each, and every write as a ``LocationChange``.

Two kinds are kept, both keyed by owner (country code, party id) and Location id, upper-cased (CiString):

- :data:`OWN` (``"locations"``): our own network, written by the CSMS through the back-office API and
  served by the CPO Sender;
- :data:`RECEIVED` (``"received_locations"``): what CPO partners pushed to our eMSP Receiver.

A Location is stored whole, with its EVSEs and Connectors, so that the Sender's list is one read per page
and ``last_updated`` (the store's order and date filter) is the Location's. A write to an EVSE or a
Connector is therefore read-modify-write of its Location. Writes to the same Location are serialised
within a worker (one ``asyncio.Lock`` per Location, dropped when nobody holds it); across workers and
hosts, each write expects the version it read (:class:`~gateway.store.base.Expect`) and, when another
worker wrote in between, reads again and re-applies its change. So simultaneous updates of two EVSEs of
one Location from two workers both survive.

Parent rules (spec, both roles): a Connector change sets its EVSE's and its Location's ``last_updated``
to the Connector's; an EVSE change sets the Location's. Nothing is ever deleted: an EVSE is retired with
status ``REMOVED``.

Every write returns a :class:`LocationChange`: the object path that changed, the method and body a
partner must receive for it (the full object for a PUT, the changed fields for a PATCH), and the new
``last_updated`` values. Writes to our own Locations pass the outbox: the change is then stored in one
transaction with the messages that push it to partners (:mod:`gateway.push.wiring`).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import msgspec

from gateway.modules.locations.models import (
    EVSE,
    Connector,
    ConnectorPatch,
    EVSEPatch,
    Location,
    LocationPatch,
    Status,
    patch_changes,
)
from gateway.modules.tokens.models import ci_key
from gateway.ocpi.status import NotFoundError
from gateway.ocpi.types import format_datetime
from gateway.push.wiring import location_messages
from gateway.store.base import Expect, ObjectKey, Put, StoredObject, retry_conflicts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

    from gateway.push.outbox import Outbox
    from gateway.store.base import Store, WriteOp

__all__ = (
    "OWN",
    "RECEIVED",
    "LocationChange",
    "LocationService",
    "find_connector",
    "find_evse",
    "location_key",
    "service_of",
)

OWN = "locations"
"""Store kind of our own Locations (we are the CPO)."""
RECEIVED = "received_locations"
"""Store kind of the Locations CPO partners pushed to us (we are the eMSP)."""

_encoder = msgspec.json.Encoder()
_location_decoder = msgspec.json.Decoder(Location)
_T = TypeVar("_T", EVSE, Connector)


class LocationChange(msgspec.Struct, frozen=True, kw_only=True):
    """One stored change, as a partner must hear of it."""

    country_code: str
    party_id: str
    location_id: str
    evse_uid: str | None = None
    """Set when the change is to an EVSE or one of its Connectors."""
    connector_id: str | None = None
    """Set when the change is to a Connector."""
    method: Literal["PUT", "PATCH"]
    body: msgspec.Raw
    """What to send to ``{locations_url}{path}``: the whole object for PUT, the changed fields for PATCH."""
    last_updated: datetime
    """The changed object's new ``last_updated``."""
    location_last_updated: datetime
    """The Location's ``last_updated`` after the change (equal to ``last_updated`` for child changes)."""
    created: bool = False
    """The object did not exist before (a PUT of a new Location, EVSE or Connector)."""

    @property
    def path(self) -> str:
        """The object's path below a Receiver's locations URL: ``/CC/PID/LOC[/EVSE[/CONNECTOR]]``."""
        parts = [self.country_code, self.party_id, self.location_id]
        parts += [p for p in (self.evse_uid, self.connector_id) if p is not None]
        return "/" + "/".join(parts)


def location_key(country_code: str, party_id: str, location_id: str) -> ObjectKey:
    """The store key of a Location: every part upper-cased (CiString)."""
    return ObjectKey(ci_key(country_code), ci_key(party_id), ci_key(location_id))


def _index(items: Sequence[Any] | None, attribute: str, wanted: str) -> int | None:
    wanted = ci_key(wanted)
    for position, item in enumerate(items or ()):
        if ci_key(getattr(item, attribute)) == wanted:
            return position
    return None


def find_evse(location: Location, uid: str) -> EVSE | None:
    """The Location's EVSE with this uid (compared without case), or ``None``."""
    position = _index(location.evses, "uid", uid)
    return None if position is None else location.evses[position]  # type: ignore[index]


def find_connector(evse: EVSE, connector_id: str) -> Connector | None:
    """The EVSE's Connector with this id (compared without case), or ``None``."""
    position = _index(evse.connectors, "id", connector_id)
    return None if position is None else evse.connectors[position]


def _replaced(items: Sequence[_T] | None, attribute: str, item: _T) -> tuple[tuple[_T, ...], bool]:
    """``items`` with ``item`` in place of the one with the same id (or appended); True when appended."""
    current = tuple(items or ())
    position = _index(current, attribute, getattr(item, attribute))
    if position is None:
        return (*current, item), True
    return (*current[:position], item, *current[position + 1 :]), False


def _with_evse(location: Location, evse: EVSE) -> Location:
    """``location`` with ``evse`` in place of its namesake (or added) and the EVSE's ``last_updated``."""
    evses, _ = _replaced(location.evses, "uid", evse)
    return msgspec.structs.replace(location, evses=evses, last_updated=evse.last_updated)


def _struct_edit(
    edit: Callable[[Location], tuple[Location, LocationChange]],
) -> Callable[[StoredObject], tuple[StoredObject, LocationChange]]:
    """An edit of the decoded Location as an edit of the stored object."""

    def on_stored(stored: StoredObject) -> tuple[StoredObject, LocationChange]:
        location, change = edit(_location_decoder.decode(stored.data))
        return _stored(stored.key, location), change

    return on_stored


def _stored(key: ObjectKey, location: Location) -> StoredObject:
    return StoredObject(key=key, last_updated=location.last_updated, data=_encoder.encode(location))


class _KeyedLocks:
    """One ``asyncio.Lock`` per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, ObjectKey], tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: tuple[str, ObjectKey]) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class LocationService:
    """Reads and writes of Locations, EVSEs and Connectors for one worker."""

    def __init__(self, store: Store) -> None:
        """Serve ``store``; the per-Location locks live as long as this object."""
        self.store = store
        self.locks = _KeyedLocks()

    # -- reads -----------------------------------------------------------------------------------
    async def get_raw(self, kind: str, key: ObjectKey) -> bytes | None:
        """The stored Location JSON, or ``None``."""
        stored = await self.store.get_object(kind, key)
        return None if stored is None else stored.data

    async def get(self, kind: str, key: ObjectKey) -> Location | None:
        """The stored Location, or ``None``."""
        data = await self.get_raw(kind, key)
        return None if data is None else _location_decoder.decode(data)

    @staticmethod
    def decode(data: bytes) -> Location:
        """A stored Location document as a Location."""
        return _location_decoder.decode(data)

    async def get_own_raw(self, parties: Sequence[tuple[str, str]], location_id: str) -> tuple[ObjectKey, bytes] | None:
        """One of our own Locations (kind :data:`OWN`), looked up under each of our CPO ``parties`` in turn."""
        for country_code, party_id in parties:
            key = location_key(country_code, party_id, location_id)
            data = await self.get_raw(OWN, key)
            if data is not None:
                return key, data
        return None

    async def own_key(self, parties: Sequence[tuple[str, str]], location_id: str) -> ObjectKey | None:
        """The key of one of our own Locations; with a single CPO party, without reading the store."""
        if len(parties) == 1:
            return location_key(*parties[0], location_id)
        found = await self.get_own_raw(parties, location_id)
        return None if found is None else found[0]

    @staticmethod
    def _require_evse(location: Location, uid: str) -> EVSE:
        evse = find_evse(location, uid)
        if evse is None:
            raise NotFoundError(f"Unknown EVSE {uid} in location {location.id}")
        return evse

    # -- writes ----------------------------------------------------------------------------------
    # With ``outbox`` (our own Locations), each write stores the change together with the messages that push
    # it to every partner with a locations RECEIVER (one transaction), then wakes the outbox worker.

    async def put_location(self, kind: str, location: Location, *, outbox: Outbox | None = None) -> LocationChange:
        """Create or replace a whole Location (its identity comes from the object)."""
        key = location_key(location.country_code, location.party_id, location.id)
        async with self.locks.hold((kind, key)):
            change = self._change(location, "PUT", location, location.last_updated)
            created = await self._commit(kind, _stored(key, location), change, outbox)
        return msgspec.structs.replace(change, created=created)

    async def put_evse(self, kind: str, key: ObjectKey, evse: EVSE, *, outbox: Outbox | None = None) -> LocationChange:
        """Add or replace one EVSE (with its connectors) of a known Location.

        Raises:
            NotFoundError: The Location is unknown (an EVSE is never stored without one).
        """

        def edit(location: Location) -> tuple[Location, LocationChange]:
            created = find_evse(location, evse.uid) is None
            location = _with_evse(location, evse)
            return location, self._change(location, "PUT", evse, evse.last_updated, evse=evse, created=created)

        return await self._update(kind, key, _struct_edit(edit), outbox)

    async def put_connector(
        self, kind: str, key: ObjectKey, evse_uid: str, connector: Connector, *, outbox: Outbox | None = None
    ) -> LocationChange:
        """Add or replace one Connector of a known EVSE.

        Raises:
            NotFoundError: The Location or the EVSE is unknown.
        """

        def edit(location: Location) -> tuple[Location, LocationChange]:
            evse = self._require_evse(location, evse_uid)
            connectors, created = _replaced(evse.connectors, "id", connector)
            evse = msgspec.structs.replace(evse, connectors=connectors, last_updated=connector.last_updated)
            location = _with_evse(location, evse)
            change = self._change(
                location, "PUT", connector, connector.last_updated, evse=evse, connector=connector, created=created
            )
            return location, change

        return await self._update(kind, key, _struct_edit(edit), outbox)

    async def patch_location(
        self, kind: str, key: ObjectKey, patch: LocationPatch, *, outbox: Outbox | None = None
    ) -> LocationChange:
        """Apply a Location PATCH: fields present replace the stored ones (an ``evses`` list replaces the list).

        Raises:
            NotFoundError: The Location is unknown (a PATCH never creates anything).
        """

        def edit(location: Location) -> tuple[Location, LocationChange]:
            location = msgspec.structs.replace(location, **patch_changes(patch))
            return location, self._change(location, "PATCH", patch, patch.last_updated)

        return await self._update(kind, key, _struct_edit(edit), outbox)

    async def patch_evse(
        self, kind: str, key: ObjectKey, evse_uid: str, patch: EVSEPatch, *, outbox: Outbox | None = None
    ) -> LocationChange:
        """Apply an EVSE PATCH and set the Location's ``last_updated`` to the EVSE's.

        Raises:
            NotFoundError: The Location or the EVSE is unknown.
        """

        def edit(location: Location) -> tuple[Location, LocationChange]:
            evse = msgspec.structs.replace(self._require_evse(location, evse_uid), **patch_changes(patch))
            location = _with_evse(location, evse)
            return location, self._change(location, "PATCH", patch, patch.last_updated, evse=evse)

        return await self._update(kind, key, _struct_edit(edit), outbox)

    async def patch_connector(
        self,
        kind: str,
        key: ObjectKey,
        evse_uid: str,
        connector_id: str,
        patch: ConnectorPatch,
        *,
        outbox: Outbox | None = None,
    ) -> LocationChange:
        """Apply a Connector PATCH and set its EVSE's and Location's ``last_updated`` to the Connector's.

        Raises:
            NotFoundError: The Location, the EVSE or the Connector is unknown.
        """

        def edit(location: Location) -> tuple[Location, LocationChange]:
            evse = self._require_evse(location, evse_uid)
            connector = find_connector(evse, connector_id)
            if connector is None:
                raise NotFoundError(f"Unknown connector {connector_id} of EVSE {evse.uid}")
            connector = msgspec.structs.replace(connector, **patch_changes(patch))
            connectors, _ = _replaced(evse.connectors, "id", connector)
            evse = msgspec.structs.replace(evse, connectors=connectors, last_updated=patch.last_updated)
            location = _with_evse(location, evse)
            return location, self._change(location, "PATCH", patch, patch.last_updated, evse=evse, connector=connector)

        return await self._update(kind, key, _struct_edit(edit), outbox)

    async def set_evse_status(
        self,
        kind: str,
        key: ObjectKey,
        evse_uid: str,
        status: Status,
        last_updated: datetime | None = None,
        *,
        outbox: Outbox | None = None,
    ) -> LocationChange:
        """The frequent update: one EVSE's status, its and its Location's ``last_updated`` (now when omitted).

        One read and one write; the stored document is edited as plain JSON (it was validated when it was
        written), so nothing but the two changed values is checked.

        Raises:
            NotFoundError: The Location or the EVSE is unknown.
        """
        when = datetime.now(UTC) if last_updated is None else last_updated
        stamp = format_datetime(when)
        body = msgspec.Raw(b'{"status":"%s","last_updated":"%s"}' % (status.value.encode(), stamp.encode()))

        def edit(stored: StoredObject) -> tuple[StoredObject, LocationChange]:
            document = msgspec.json.decode(stored.data)
            wanted = ci_key(evse_uid)
            evse = next((e for e in document.get("evses") or () if ci_key(e["uid"]) == wanted), None)
            if evse is None:
                raise NotFoundError(f"Unknown EVSE {evse_uid} in location {key.id}")
            evse["status"] = status.value
            evse["last_updated"] = document["last_updated"] = stamp
            change = LocationChange(
                country_code=document["country_code"],
                party_id=document["party_id"],
                location_id=document["id"],
                evse_uid=evse["uid"],
                method="PATCH",
                body=body,
                last_updated=when,
                location_last_updated=when,
            )
            return StoredObject(key=key, last_updated=when, data=_encoder.encode(document)), change

        return await self._update(kind, key, edit, outbox)

    # -- helpers ---------------------------------------------------------------------------------
    async def _update(
        self,
        kind: str,
        key: ObjectKey,
        edit: Callable[[StoredObject], tuple[StoredObject, LocationChange]],
        outbox: Outbox | None,
    ) -> LocationChange:
        """Read-modify-write of a stored Location, safe across workers: the write expects the version read,
        and a conflict (another worker wrote in between) reads again and re-applies ``edit``.

        Raises:
            NotFoundError: The Location is unknown (or what ``edit`` looks for in it).
            WriteConflict: Still conflicting after :data:`~gateway.store.base.CONFLICT_ATTEMPTS` tries (the API
                answers it 503 + 3000, to be retried).
        """

        async def attempt() -> LocationChange:
            stored = await self.store.get_object(kind, key)
            if stored is None:
                raise NotFoundError(f"Unknown location {key.country_code}/{key.party_id}/{key.id}")
            updated, change = edit(stored)
            await self._commit(kind, updated, change, outbox, expected=stored.data)
            return change

        async with self.locks.hold((kind, key)):
            return await retry_conflicts(attempt)

    async def _commit(
        self,
        kind: str,
        obj: StoredObject,
        change: LocationChange,
        outbox: Outbox | None,
        *,
        expected: bytes | None = None,
    ) -> bool:
        """Store the Location (only over the ``expected`` version, when given) and, with ``outbox``, the change's
        pushes, in one write; True when it was new."""
        ops: list[WriteOp] = [Put(kind, obj)]
        if expected is not None:
            ops.insert(0, Expect(kind, obj.key, expected))
        messages = [] if outbox is None else await location_messages(outbox, change)
        created = (await self.store.write(ops, outbox=messages))[-1]
        if outbox is not None:
            outbox.written(messages)
        return created

    @staticmethod
    def _change(
        location: Location,
        method: Literal["PUT", "PATCH"],
        body: msgspec.Struct,
        last_updated: datetime,
        *,
        evse: EVSE | None = None,
        connector: Connector | None = None,
        created: bool = False,
    ) -> LocationChange:
        return LocationChange(
            country_code=location.country_code,
            party_id=location.party_id,
            location_id=location.id,
            evse_uid=None if evse is None else evse.uid,
            connector_id=None if connector is None else connector.id,
            method=method,
            body=msgspec.Raw(_encoder.encode(body)),
            last_updated=last_updated,
            location_last_updated=location.last_updated,
            created=created,
        )


def service_of(holder: Any, store: Store) -> LocationService:
    """The worker's LocationService, created on first use and kept on ``holder`` (the app's state)."""
    service = getattr(holder, "locations_service", None)
    if service is None or service.store is not store:
        service = LocationService(store)
        holder.locations_service = service
    return service
