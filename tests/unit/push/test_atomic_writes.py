"""A change and the outbox messages pushing it are stored in one transaction: both land, or neither does.

The failures are real ones of each backend: on SQLite a trigger aborts the outbox insert inside the write's
transaction (as a full disk would); on Redis the server refuses writes at its memory limit, which aborts the
whole ``MULTI``/``EXEC``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec
import pytest
import redis

from benchmarks.data import locations_location
from gateway.modules.locations.models import Location, Status
from gateway.modules.locations.service import OWN, LocationService, find_evse, location_key
from gateway.push.wiring import location_key_of
from gateway.store.redis import RedisStore
from gateway.store.sqlite import SqliteStore
from tests.unit.push.conftest import partner_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from gateway.push.outbox import Outbox
    from gateway.store.base import Store
    from tests.unit.push.receiver_stub import ReceiverStub

KEY = location_key("nl", "gwy", "loc1")
LATER = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def _pending(store: Store) -> int:
    return sum(count.pending for count in await store.outbox_counts(now=datetime.now(UTC)))


@contextlib.contextmanager
def _failing_writes(store: Store) -> Iterator[type[Exception]]:
    """Make the store's next writes fail inside their transaction; yields the exception type to expect."""
    if isinstance(store, SqliteStore):
        conn = sqlite3.connect(store.path)
        try:
            conn.execute(
                "CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
            conn.commit()
            yield sqlite3.DatabaseError
        finally:
            conn.execute("DROP TRIGGER fail_outbox")
            conn.commit()
            conn.close()
        return
    assert isinstance(store, RedisStore)
    client = redis.Redis.from_url(store.url)
    try:
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", 1)
        yield redis.RedisError
    finally:
        client.config_set("maxmemory", 0)
        client.close()


async def test_a_status_update_and_its_push_land_together(store: Store, outbox: Outbox, stub: ReceiverStub) -> None:
    await store.add_partner(partner_of(stub))
    service = LocationService(store)
    location = msgspec.convert(locations_location(evses=2), Location, strict=False)

    await service.put_location(OWN, location, outbox=outbox)
    change = await service.set_evse_status(OWN, KEY, "loc1-2", Status.CHARGING, LATER, outbox=outbox)

    claims = await store.outbox_claim(now=datetime.now(UTC), lease_seconds=30, limit=10)
    assert [(c.message.method, c.message.path) for c in claims] == [("PUT", "/NL/GWY/LOC1")]  # the lane's head
    assert claims[0].message.key == location_key_of("NL", "GWY", "LOC1")
    assert await store.outbox_ack(claims[0])
    (status,) = await store.outbox_claim(now=datetime.now(UTC), lease_seconds=30, limit=10)
    assert (status.message.method, status.message.path, status.message.body) == (
        "PATCH",
        change.path,
        bytes(change.body),
    )


async def test_a_failed_write_stores_neither_the_change_nor_its_push(
    store: Store, outbox: Outbox, stub: ReceiverStub
) -> None:
    await store.add_partner(partner_of(stub))
    service = LocationService(store)
    await service.put_location(OWN, msgspec.convert(locations_location(evses=2), Location, strict=False))

    with _failing_writes(store) as expected, pytest.raises(expected):
        await service.set_evse_status(OWN, KEY, "loc1-2", Status.CHARGING, LATER, outbox=outbox)

    stored = await service.get(OWN, KEY)
    assert stored is not None
    assert find_evse(stored, "loc1-2").status == Status.AVAILABLE  # type: ignore[union-attr]
    assert await _pending(store) == 0
    # The same update goes through once the store accepts writes again, with its push.
    await service.set_evse_status(OWN, KEY, "loc1-2", Status.CHARGING, LATER, outbox=outbox)
    assert await _pending(store) == 1
