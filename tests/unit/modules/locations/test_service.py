"""LocationService on both stores: parent last_updated rules, LocationChange contents, no lost updates."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec
import pytest

from benchmarks.data import locations_connector, locations_location
from gateway.modules.locations.models import Connector, EVSEPatch, Location, Status
from gateway.modules.locations.service import OWN, LocationService, find_evse, location_key
from gateway.ocpi.status import NotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable

    from gateway.store.base import Store

KEY = location_key("nl", "gwy", "loc1")
LATER = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def _seeded(store: Store, evses: int = 2) -> LocationService:
    service = LocationService(store)
    await service.put_location(OWN, msgspec.convert(locations_location(evses=evses), Location, strict=False))
    return service


async def test_service_status_update_changes_evse_and_location(store: Store) -> None:
    service = await _seeded(store)
    change = await service.set_evse_status(OWN, KEY, "loc1-2", Status.CHARGING, LATER)
    assert (change.path, change.method) == ("/NL/GWY/LOC1/LOC1-2", "PATCH")
    assert msgspec.json.decode(change.body) == {"status": "CHARGING", "last_updated": "2025-03-01T12:00:00Z"}
    assert change.location_last_updated == LATER
    location = await service.get(OWN, KEY)
    assert location is not None
    evse = find_evse(location, "LOC1-2")
    assert evse is not None
    assert (evse.status, evse.last_updated, location.last_updated) == (Status.CHARGING, LATER, LATER)
    assert find_evse(location, "LOC1-1").status == Status.AVAILABLE  # type: ignore[union-attr]
    page = await store.list_objects(OWN, date_from=LATER)
    assert [item.key for item in page.items] == [KEY]


async def test_service_connector_put_bumps_evse_and_location(store: Store) -> None:
    service = await _seeded(store)
    connector = msgspec.convert(locations_connector("3", last_updated="2025-03-01T12:00:00Z"), Connector, strict=False)
    change = await service.put_connector(OWN, KEY, "LOC1-1", connector)
    assert change.created
    assert change.path == "/NL/GWY/LOC1/LOC1-1/3"
    location = await service.get(OWN, KEY)
    evse = find_evse(location, "LOC1-1")  # type: ignore[arg-type]
    assert [c.id for c in evse.connectors] == ["1", "2", "3"]  # type: ignore[union-attr]
    assert evse.last_updated == location.last_updated == LATER  # type: ignore[union-attr]


async def test_service_unknown_objects_are_not_created(store: Store) -> None:
    service = LocationService(store)
    with pytest.raises(NotFoundError):
        await service.set_evse_status(OWN, KEY, "X", Status.CHARGING)
    with pytest.raises(NotFoundError):
        await service.patch_evse(OWN, KEY, "X", EVSEPatch(status=Status.CHARGING, last_updated=LATER))
    await _seeded(store)
    with pytest.raises(NotFoundError):
        await service.set_evse_status(OWN, KEY, "NOPE", Status.CHARGING)
    assert await store.count_objects(OWN) == 1


async def test_service_concurrent_updates_of_one_location_are_all_kept(store: Store) -> None:
    service = await _seeded(store, evses=20)
    statuses = [Status.CHARGING, Status.BLOCKED, Status.OUTOFORDER, Status.RESERVED]
    await asyncio.gather(
        *(service.set_evse_status(OWN, KEY, f"LOC1-{n + 1}", statuses[n % 4]) for n in range(20)),
        *(
            service.patch_evse(OWN, KEY, f"LOC1-{n + 1}", EVSEPatch(floor_level=str(n), last_updated=LATER))
            for n in range(20)
        ),
    )
    location = await service.get(OWN, KEY)
    assert location is not None
    assert [e.status for e in location.evses or ()] == [statuses[n % 4] for n in range(20)]
    assert [e.floor_level for e in location.evses or ()] == [str(n) for n in range(20)]
    assert len(service.locks) == 0


async def test_service_updates_from_several_workers_are_all_kept(make_store: Callable[[], Store]) -> None:
    """Workers (each its own store connection and locks) writing EVSEs of one Location at once lose nothing."""
    stores = [make_store() for _ in range(3)]
    for opened in stores:
        await opened.open()
    try:
        services = [await _seeded(stores[0], evses=12), *(LocationService(s) for s in stores[1:])]
        statuses = [Status.CHARGING, Status.BLOCKED, Status.OUTOFORDER, Status.RESERVED]
        await asyncio.gather(
            *(services[n % 3].set_evse_status(OWN, KEY, f"LOC1-{n + 1}", statuses[n % 4]) for n in range(12)),
            *(
                services[(n + 1) % 3].patch_evse(
                    OWN, KEY, f"LOC1-{n + 1}", EVSEPatch(floor_level=str(n), last_updated=LATER)
                )
                for n in range(12)
            ),
        )
        location = await services[0].get(OWN, KEY)
        assert location is not None
        assert [e.status for e in location.evses or ()] == [statuses[n % 4] for n in range(12)]
        assert [e.floor_level for e in location.evses or ()] == [str(n) for n in range(12)]
    finally:
        for opened in stores:
            await opened.close()
