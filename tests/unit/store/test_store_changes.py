"""The change log contract (publish / read_published), run against every backend through ``store``/``make_store``.

No timing asserts: blocking reads are bounded by ``WAIT_SECONDS`` and the tests only look at what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.store.base import LOG_START, ObjectKey, PublishedBatch, Store, StoredObject
from tests.unit.store.test_store_contract import make_object

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

WAIT_SECONDS = 10.0
"""Upper bound of a blocking read that must be woken by a publish; the test never waits this long when it passes."""

SHORT_WAIT_SECONDS = 0.2
"""A blocking read that must come back empty."""

SMALL_LOG = 10
"""``publish_max_len`` of the trimming tests. Redis trims approximately, in whole stream nodes (100 entries by
default), so those tests publish well over a node's worth."""

MANY = 250


@contextlib.asynccontextmanager
async def opened(make_store: Callable[[], Store]) -> AsyncIterator[Store]:
    """A second (or third) store instance on the same data, closed afterwards."""
    other = make_store()
    await other.open()
    try:
        yield other
    finally:
        await other.close()


def small_log_store(make_store: Callable[[], Store]) -> Store:
    """An unopened store of the same backend and data as ``make_store``'s, keeping only SMALL_LOG entries."""
    template = make_store()
    from gateway.store.redis import RedisStore
    from gateway.store.sqlite import SqliteStore

    if isinstance(template, SqliteStore):
        return SqliteStore(template.path, publish_max_len=SMALL_LOG)
    assert isinstance(template, RedisStore)
    return RedisStore(template.url, publish_max_len=SMALL_LOG)


async def read_all(store: Store, topic: str, after: str) -> PublishedBatch:
    """Follow the log from ``after`` until it is drained, as one batch (gaps are passed through)."""
    entries: list[tuple[str, bytes]] = []
    cursor = after
    while True:
        batch = await store.read_published(topic, cursor, limit=7)
        if batch.gap:
            return batch
        if not batch.entries:
            return PublishedBatch(entries=entries, cursor=cursor)
        entries.extend(batch.entries)
        cursor = batch.cursor


def payloads(batch: PublishedBatch) -> list[bytes]:
    """The payloads of a batch, in order."""
    return [payload for _, payload in batch.entries]


# -- publish and read ---------------------------------------------------------------------------


async def test_changes_empty_topic_starts_at_log_start(store: Store) -> None:
    assert await store.published_cursor("tokens") == LOG_START
    assert await store.read_published("tokens", LOG_START) == PublishedBatch(entries=[], cursor=LOG_START)


async def test_changes_publish_then_read_in_order_with_cursors(store: Store) -> None:
    cursors = [await store.publish("tokens", f"p{i}".encode()) for i in range(5)]
    assert len(set(cursors)) == 5
    batch = await store.read_published("tokens", LOG_START)
    assert batch == PublishedBatch(entries=[(c, f"p{i}".encode()) for i, c in enumerate(cursors)], cursor=cursors[-1])
    assert await store.published_cursor("tokens") == cursors[-1]


async def test_changes_read_honours_limit_and_resumes_from_cursor(store: Store) -> None:
    cursors = [await store.publish("tokens", bytes([i])) for i in range(5)]
    first = await store.read_published("tokens", LOG_START, limit=2)
    assert first.entries == [(cursors[0], b"\x00"), (cursors[1], b"\x01")]
    assert first.cursor == cursors[1]
    rest = await store.read_published("tokens", first.cursor, limit=100)
    assert [c for c, _ in rest.entries] == cursors[2:]


async def test_changes_topics_are_separate(store: Store) -> None:
    await store.publish("tokens", b"t1")
    await store.publish("tariffs", b"x1")
    await store.publish("tokens", b"t2")
    assert payloads(await store.read_published("tokens", LOG_START)) == [b"t1", b"t2"]
    assert payloads(await store.read_published("tariffs", LOG_START)) == [b"x1"]


async def test_changes_published_cursor_then_read_sees_only_newer(store: Store) -> None:
    await store.publish("tokens", b"old")
    cursor = await store.published_cursor("tokens")
    assert await store.read_published("tokens", cursor) == PublishedBatch(entries=[], cursor=cursor)
    newer = await store.publish("tokens", b"new")
    assert await store.read_published("tokens", cursor) == PublishedBatch(entries=[(newer, b"new")], cursor=newer)


async def test_changes_payloads_are_kept_byte_exact(store: Store) -> None:
    payload = bytes(range(256)) + b"\x00"
    cursor = await store.publish("tokens", payload)
    assert (await store.read_published("tokens", LOG_START)).entries == [(cursor, payload)]


@pytest.mark.parametrize(("after", "limit", "block"), [("not a cursor", 1, 0.0), ("0", 0, 0.0), ("0", 1, -1.0)])
async def test_changes_read_rejects_bad_arguments(store: Store, after: str, limit: int, block: float) -> None:
    with pytest.raises(ValueError, match=r"cursor|limit"):
        await store.read_published("tokens", after, limit=limit, block_seconds=block)


# -- writes that publish ------------------------------------------------------------------------


async def test_changes_put_object_with_publish_writes_both(store: Store) -> None:
    assert await store.put_object("tokens", make_object("a"), publish=("tokens", b"a")) is True
    assert await store.put_object("tokens", make_object("a", 1), publish=("tokens", b"a2")) is False
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "a")) == make_object("a", 1)
    assert payloads(await store.read_published("tokens", LOG_START)) == [b"a", b"a2"]


async def test_changes_put_objects_with_publish_appends_one_entry(store: Store) -> None:
    created = await store.put_objects("tokens", [make_object(i) for i in "abc"], publish=("tokens", b"batch"))
    assert created == 3
    assert await store.count_objects("tokens") == 3
    assert payloads(await store.read_published("tokens", LOG_START)) == [b"batch"]


async def test_changes_put_objects_empty_with_publish_still_announces(store: Store) -> None:
    assert await store.put_objects("tokens", [], publish=("tokens", b"nothing")) == 0
    assert payloads(await store.read_published("tokens", LOG_START)) == [b"nothing"]


async def test_changes_delete_object_with_publish_writes_both(store: Store) -> None:
    await store.put_object("tokens", make_object("a"))
    assert await store.delete_object("tokens", ObjectKey("NL", "ABC", "a"), publish=("tokens", b"gone")) is True
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "a")) is None
    assert await store.delete_object("tokens", ObjectKey("NL", "ABC", "a"), publish=("tokens", b"again")) is False
    assert payloads(await store.read_published("tokens", LOG_START)) == [b"gone", b"again"]


async def test_changes_writes_without_publish_append_nothing(store: Store) -> None:
    await store.put_object("tokens", make_object("a"))
    await store.put_objects("tokens", [make_object("b"), make_object("c")])
    await store.delete_object("tokens", ObjectKey("NL", "ABC", "a"))
    assert await store.published_cursor("tokens") == LOG_START
    assert (await store.read_published("tokens", LOG_START)).entries == []


async def test_changes_failed_write_appends_nothing(store: Store) -> None:
    naive = StoredObject(key=ObjectKey("NL", "ABC", "bad"), last_updated=datetime(2024, 5, 1), data=b"{}")
    with pytest.raises(ValueError, match="naive"):
        await store.put_objects("tokens", [make_object("good"), naive], publish=("tokens", b"batch"))
    with pytest.raises(ValueError, match="naive"):
        await store.put_object("tokens", naive, publish=("tokens", b"one"))
    assert await store.count_objects("tokens") == 0
    assert (await store.read_published("tokens", LOG_START)).entries == []


# -- waiting ------------------------------------------------------------------------------------


async def test_changes_blocking_read_wakes_on_publish_from_another_instance(
    store: Store, make_store: Callable[[], Store]
) -> None:
    start = await store.published_cursor("tokens")
    async with opened(make_store) as other:
        reader = asyncio.create_task(store.read_published("tokens", start, block_seconds=WAIT_SECONDS))
        await asyncio.sleep(0)  # let the read start before the entry exists
        cursor = await other.publish("tokens", b"hello")
        batch = await reader
    assert batch == PublishedBatch(entries=[(cursor, b"hello")], cursor=cursor)


async def test_changes_blocking_read_wakes_on_write_with_publish(store: Store, make_store: Callable[[], Store]) -> None:
    async with opened(make_store) as other:
        reader = asyncio.create_task(store.read_published("tokens", LOG_START, block_seconds=WAIT_SECONDS))
        await asyncio.sleep(0)
        await other.put_object("tokens", make_object("a"), publish=("tokens", b"a"))
        batch = await reader
    assert payloads(batch) == [b"a"]
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "a")) == make_object("a")


async def test_changes_blocking_read_times_out_with_empty_batch(store: Store) -> None:
    cursor = await store.publish("tokens", b"seen")
    batch = await store.read_published("tokens", cursor, block_seconds=SHORT_WAIT_SECONDS)
    assert batch == PublishedBatch(entries=[], cursor=cursor)


async def test_changes_blocking_read_does_not_stall_other_calls(store: Store) -> None:
    reader = asyncio.create_task(store.read_published("tokens", LOG_START, block_seconds=WAIT_SECONDS))
    await asyncio.sleep(0)
    assert await store.put_object("tokens", make_object("a")) is True
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "a")) == make_object("a")
    await store.publish("tokens", b"done")
    assert payloads(await reader) == [b"done"]


async def test_changes_blocking_read_can_be_cancelled(store: Store) -> None:
    reader = asyncio.create_task(store.read_published("tokens", LOG_START, block_seconds=WAIT_SECONDS))
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    cursor = await store.publish("tokens", b"after")
    assert (await store.read_published("tokens", LOG_START)).entries == [(cursor, b"after")]


# -- several instances and trimming -------------------------------------------------------------


async def test_changes_instances_on_the_same_data_see_each_other(make_store: Callable[[], Store]) -> None:
    async with opened(make_store) as one, opened(make_store) as two:
        first = await one.publish("tokens", b"from one")
        second = await two.publish("tokens", b"from two")
        expected = PublishedBatch(entries=[(first, b"from one"), (second, b"from two")], cursor=second)
        assert await one.read_published("tokens", LOG_START) == expected
        assert await two.read_published("tokens", LOG_START) == expected
        assert await one.published_cursor("tokens") == await two.published_cursor("tokens") == second


async def test_changes_trimming_makes_a_gap_only_for_readers_that_fell_behind(
    make_store: Callable[[], Store],
) -> None:
    store = small_log_store(make_store)
    await store.open()
    try:
        behind = await store.published_cursor("tokens")
        keeping_up = behind
        for i in range(MANY):
            await store.publish("tokens", str(i).encode())
            batch = await store.read_published("tokens", keeping_up)
            assert not batch.gap
            assert payloads(batch) == [str(i).encode()]
            keeping_up = batch.cursor
        newest = await store.published_cursor("tokens")
        assert newest == keeping_up

        gap = await store.read_published("tokens", behind, block_seconds=SHORT_WAIT_SECONDS)
        assert gap == PublishedBatch(entries=[], cursor=newest, gap=True)
        assert await store.read_published("tokens", keeping_up) == PublishedBatch(entries=[], cursor=keeping_up)
        # After the gap the reader reloads and continues from the cursor it was given.
        after = await store.publish("tokens", b"after the gap")
        assert await store.read_published("tokens", gap.cursor) == PublishedBatch(
            entries=[(after, b"after the gap")], cursor=after
        )
    finally:
        await store.close()


async def test_changes_trimmed_log_keeps_the_newest_entries(make_store: Callable[[], Store]) -> None:
    store = small_log_store(make_store)
    await store.open()
    try:
        cursors = [await store.publish("tokens", str(i).encode()) for i in range(MANY)]
        # A reader that saw entry k resumes without a gap as long as entry k+1 is kept.
        kept = [i for i, cursor in enumerate(cursors[:-1]) if not (await store.read_published("tokens", cursor)).gap]
        assert kept  # the newest ones at least
        assert SMALL_LOG - 1 <= len(kept) < MANY - 1
        first_kept = kept[0]
        assert kept == list(range(first_kept, MANY - 1))
        tail = await read_all(store, "tokens", cursors[first_kept])
        assert payloads(tail) == [str(i).encode() for i in range(first_kept + 1, MANY)]
    finally:
        await store.close()


# -- property: publishes and reads equal a list model -------------------------------------------

_ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("publish"), st.sampled_from(["a", "b"]), st.binary(max_size=8)),
        st.tuples(st.just("read"), st.sampled_from(["a", "b"]), st.integers(min_value=1, max_value=4)),
    ),
    max_size=20,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=_ACTIONS)
async def test_changes_follow_a_list_model(
    make_store: Callable[[], Store], actions: list[tuple[str, str, object]]
) -> None:
    async with opened(make_store) as store:
        run = uuid.uuid4().hex  # the data outlives one example: fresh topics for each
        topics = {topic: f"{topic}-{run}" for topic in "ab"}
        start = {topic: await store.published_cursor(name) for topic, name in topics.items()}
        model: dict[str, list[bytes]] = {"a": [], "b": []}
        seen: dict[str, int] = {"a": 0, "b": 0}
        cursor = dict(start)
        for action, topic, arg in actions:
            if action == "publish":
                assert isinstance(arg, bytes)
                await store.publish(topics[topic], arg)
                model[topic].append(arg)
                continue
            assert isinstance(arg, int)
            batch = await store.read_published(topics[topic], cursor[topic], limit=arg)
            assert not batch.gap
            assert payloads(batch) == model[topic][seen[topic] : seen[topic] + arg]
            seen[topic] += len(batch.entries)
            cursor[topic] = batch.cursor
        for topic, name in topics.items():
            assert payloads(await read_all(store, name, start[topic])) == model[topic]
