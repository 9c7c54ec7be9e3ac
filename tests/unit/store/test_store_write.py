"""``Store.write``: puts, deletes, outbox messages and a change-log entry in one transaction, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from gateway.store.base import Expect, ObjectKey, Put, Remove, Store, StoredObject, WriteConflict
from tests.unit.store.test_store_outbox import at, claim, ids, make_message

if TYPE_CHECKING:
    from collections.abc import Callable

T = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
KEY = ObjectKey("NL", "ABC", "LOC1")
INDEX = ObjectKey("DE", "EMS", "NL/ABC/LOC1")


def obj(key: ObjectKey, data: bytes = b'{"v":1}', seconds: int = 0) -> StoredObject:
    return StoredObject(key=key, last_updated=T + timedelta(seconds=seconds), data=data)


async def test_puts_deletes_and_messages_land_together(store: Store) -> None:
    await store.put_object("index", obj(ObjectKey("DE", "OLD", "NL/ABC/LOC1")))
    message = make_message()

    flags = await store.write(
        [
            Put("things", obj(KEY)),
            Put("index", obj(INDEX)),
            Remove("index", ObjectKey("DE", "OLD", "NL/ABC/LOC1")),
            Remove("index", ObjectKey("DE", "NONE", "x")),
        ],
        outbox=[message],
    )

    assert flags == [True, True, True, False]
    assert (await store.get_object("things", KEY)) == obj(KEY)
    assert (await store.get_object("index", INDEX)) == obj(INDEX)
    assert await store.get_object("index", ObjectKey("DE", "OLD", "NL/ABC/LOC1")) is None
    page = await store.list_objects("index")
    assert [o.key for o in page.items] == [INDEX]
    assert ids(await claim(store)) == [message.id]


async def test_a_replace_reports_false_and_is_listed_once(store: Store) -> None:
    await store.write([Put("things", obj(KEY))])
    flags = await store.write([Put("things", obj(KEY, b'{"v":2}', seconds=5))])

    assert flags == [False]
    page = await store.list_objects("things")
    assert [(o.key, o.data) for o in page.items] == [(KEY, b'{"v":2}')]
    assert page.total == 1


async def test_a_refused_message_stores_nothing(store: Store) -> None:
    bad = make_message(partner_id="p\x1f1")

    with pytest.raises(ValueError, match="x1f"):
        await store.write([Put("things", obj(KEY))], outbox=[make_message(), bad])

    assert await store.get_object("things", KEY) is None
    assert await claim(store) == []
    assert await store.outbox_counts(now=at(0)) == []


async def test_a_refused_object_enqueues_nothing(store: Store) -> None:
    naive = StoredObject(key=KEY, last_updated=datetime(2025, 3, 1, 12, 0), data=b"{}")

    with pytest.raises(ValueError, match=r"naive|timezone"):
        await store.write(
            [Put("things", obj(ObjectKey("NL", "ABC", "OK"))), Put("things", naive)], outbox=[make_message()]
        )

    assert await store.get_object("things", ObjectKey("NL", "ABC", "OK")) is None
    assert await claim(store) == []


async def test_messages_keep_the_order_of_the_writes_in_their_lane(store: Store) -> None:
    first, second = make_message(), make_message()
    await store.write([Put("things", obj(KEY))], outbox=[first])
    await store.write([Put("things", obj(KEY, b'{"v":2}', seconds=1))], outbox=[second])

    claimed = await claim(store)
    assert ids(claimed) == [first.id]  # one lane: only its head is handed out
    assert await store.outbox_ack(claimed[0])
    assert ids(await claim(store)) == [second.id]


async def test_a_repeated_message_id_is_added_once(store: Store) -> None:
    message = make_message()
    await store.write([Put("things", obj(KEY))], outbox=[message])
    await store.write([Put("things", obj(KEY, b'{"v":2}', seconds=1))], outbox=[message])

    counts = await store.outbox_counts(now=at(0))
    assert [(c.partner_id, c.pending) for c in counts] == [("p1", 1)]


async def test_publish_rides_in_the_same_write(store: Store) -> None:
    cursor = await store.published_cursor("things")

    await store.write([Put("things", obj(KEY))], publish=("things", b"changed"))

    batch = await store.read_published("things", cursor, block_seconds=0, limit=10)
    assert [payload for _, payload in batch.entries] == [b"changed"]


async def test_an_empty_write_does_nothing(store: Store) -> None:
    assert await store.write([]) == []
    assert (await store.list_objects("things")).total == 0


async def test_an_expectation_that_holds_lets_the_write_through(store: Store) -> None:
    await store.put_object("things", obj(KEY))

    flags = await store.write(
        [Expect("things", KEY, b'{"v":1}'), Expect("things", INDEX, None), Put("things", obj(KEY, b'{"v":2}', 1))],
        outbox=[make_message()],
    )

    assert flags == [True, True, False]
    stored = await store.get_object("things", KEY)
    assert stored is not None
    assert stored.data == b'{"v":2}'


@pytest.mark.parametrize("expected", [b'{"v":0}', None])
async def test_an_expectation_that_fails_stores_nothing(store: Store, expected: bytes | None) -> None:
    await store.put_object("things", obj(KEY))

    with pytest.raises(WriteConflict):
        await store.write(
            [Put("index", obj(INDEX)), Expect("things", KEY, expected), Put("things", obj(KEY, b'{"v":2}', 1))],
            outbox=[make_message()],
            publish=("things", b"changed"),
        )

    assert (await store.get_object("things", KEY)) == obj(KEY)
    assert await store.get_object("index", INDEX) is None
    assert await claim(store) == []


async def test_an_absent_object_fails_an_expectation_of_data(store: Store) -> None:
    with pytest.raises(WriteConflict):
        await store.write([Expect("things", KEY, b'{"v":1}'), Put("things", obj(KEY))])
    assert await store.get_object("things", KEY) is None


async def test_a_change_by_another_client_between_read_and_write_is_a_conflict(make_store: Callable[[], Store]) -> None:
    """Two workers read the same version; the second to write is refused instead of overwriting the first."""
    first, second = make_store(), make_store()
    await first.open()
    await second.open()
    try:
        await first.put_object("things", obj(KEY))
        read_a = await first.get_object("things", KEY)
        read_b = await second.get_object("things", KEY)
        assert read_a is not None
        assert read_b is not None

        await first.write([Expect("things", KEY, read_a.data), Put("things", obj(KEY, b'{"a":1}', 1))])
        with pytest.raises(WriteConflict):
            await second.write([Expect("things", KEY, read_b.data), Put("things", obj(KEY, b'{"b":1}', 2))])

        stored = await second.get_object("things", KEY)
        assert stored is not None
        assert stored.data == b'{"a":1}'
    finally:
        await first.close()
        await second.close()
