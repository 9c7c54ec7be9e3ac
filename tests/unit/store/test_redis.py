"""What only the Redis backend promises: its key layout (Cluster hash tags) and exact scores."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from unittest.mock import ANY

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from gateway.store import create_store
from gateway.store._codec import to_micros
from gateway.store.base import ObjectKey, OwnerObjects, Partner, PartnerRole, StoredObject
from gateway.store.redis import RedisStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.redis

MOMENT = datetime(2024, 5, 1, 12, 0, 0, 123457, tzinfo=UTC)


@pytest.fixture
async def redis_store(clean_redis: str) -> AsyncIterator[RedisStore]:
    """An opened RedisStore on an empty database."""
    store = RedisStore.from_url(clean_redis)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def raw(clean_redis: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client on the same database, to look at the keys the store wrote."""
    client = aioredis.Redis.from_url(clean_redis)
    try:
        yield client
    finally:
        await client.aclose()


async def test_redis_object_keys_carry_the_owner_hash_tag(redis_store: RedisStore, raw: aioredis.Redis) -> None:
    obj = StoredObject(key=ObjectKey("NL", "ABC", "RFID:01"), last_updated=MOMENT, data=b"{}")
    await redis_store.put_object("tokens", obj)
    assert set(await raw.keys("*")) == {
        b"ocpi:{NL*ABC}:obj:tokens:RFID:01",
        b"ocpi:{NL*ABC}:idx:tokens",
        b"ocpi:{all:tokens}:idx",
    }


async def test_redis_scores_are_exact_microseconds(redis_store: RedisStore, raw: aioredis.Redis) -> None:
    late = datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    await redis_store.put_objects(
        "tokens",
        [
            StoredObject(key=ObjectKey("NL", "ABC", "a"), last_updated=MOMENT, data=b"{}"),
            StoredObject(key=ObjectKey("NL", "ABC", "b"), last_updated=late, data=b"{}"),
        ],
    )
    assert await raw.zscore("ocpi:{NL*ABC}:idx:tokens", "a") == to_micros(MOMENT)
    assert await raw.zscore("ocpi:{NL*ABC}:idx:tokens", "b") == to_micros(late)
    page = await redis_store.list_objects("tokens", date_from=late)
    assert [o.last_updated for o in page.items] == [late]


async def test_redis_partner_keys_share_one_slot_and_hide_the_token(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    partner = Partner(
        id="p1",
        roles=(PartnerRole(country_code="NL", party_id="ABC", role="EMSP"),),
        state="REGISTERED",
        token_in="very-secret",
        created=MOMENT,
        last_updated=MOMENT,
    )
    await redis_store.add_partner(partner)
    names = [name.decode() for name in await raw.keys("*")]
    assert len(names) == 3
    assert all(name.startswith("ocpi:{partners}:") for name in names)
    assert not any("very-secret" in name for name in names)


async def test_redis_partner_list_is_one_call_in_order_past_a_thousand_and_skips_lost_records(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    for n in range(1002):
        await redis_store.add_partner(
            Partner(id=f"p{n:04d}", roles=(PartnerRole(country_code="NL", party_id="ABC", role="EMSP"),),
                    state="REGISTERED", token_in=f"token-{n}", created=MOMENT + timedelta(seconds=n),
                    last_updated=MOMENT)
        )  # fmt: skip
    await raw.delete("ocpi:{partners}:partner:p0500")  # a record gone, its order entry left behind
    ids = [partner.id for partner in await redis_store.list_partners()]
    assert ids == [f"p{n:04d}" for n in range(1002) if n != 500]


async def test_redis_rejects_names_that_would_break_the_key_layout(redis_store: RedisStore) -> None:
    obj = StoredObject(key=ObjectKey("NL", "A*B", "x"), last_updated=MOMENT, data=b"{}")
    with pytest.raises(ValueError, match="Party id"):
        await redis_store.put_object("tokens", obj)
    with pytest.raises(ValueError, match="Kind"):
        await redis_store.count_objects("to:kens")


def test_redis_from_url_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="redis://"):
        RedisStore.from_url("http://127.0.0.1:6379/0")


async def test_redis_change_log_is_one_stream_per_topic_in_its_own_slot(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    cursor = await redis_store.publish("tokens", b"p1")
    await redis_store.put_object(
        "tokens",
        StoredObject(key=ObjectKey("NL", "ABC", "a"), last_updated=MOMENT, data=b"{}"),
        publish=("tokens", b"p2"),
    )
    assert await raw.type("ocpi:{chg:tokens}:log") == b"stream"
    assert await raw.xrange("ocpi:{chg:tokens}:log", count=1) == [(cursor.encode(), {b"p": b"p1"})]
    assert await raw.xrevrange("ocpi:{chg:tokens}:log", count=1) == [(ANY, {b"p": b"p2"})]
    assert await raw.xlen("ocpi:{chg:tokens}:log") == 2


async def test_redis_rejects_topics_that_would_break_the_hash_tag(redis_store: RedisStore) -> None:
    with pytest.raises(ValueError, match="Topic"):
        await redis_store.publish("to}kens", b"p")


def test_redis_from_url_passes_the_log_length() -> None:
    assert create_store("redis://127.0.0.1:6379/0", publish_max_len=5).publish_max_len == 5  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="publish_max_len"):
        RedisStore.from_url("redis://127.0.0.1:6379/0", publish_max_len=0)


def _one(object_id: str, micros: int, data: bytes, owner: tuple[str, str] = ("NL", "ABC")) -> list[OwnerObjects]:
    return [OwnerObjects(country_code=owner[0], party_id=owner[1], ids=[object_id], micros=[micros], data=[data])]


async def test_redis_owner_objects_write_the_same_keys_and_values_as_put_object(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    await redis_store.put_object("tokens", StoredObject(key=ObjectKey("NL", "ABC", "RFID:01"), last_updated=MOMENT,
                                                        data=b"{}"))
    by_put = {key: await raw.dump(key) for key in await raw.keys("*")}
    await raw.flushdb()
    await redis_store.put_owner_objects("tokens", _one("RFID:01", to_micros(MOMENT), b"{}"))
    assert {key: await raw.dump(key) for key in await raw.keys("*")} == by_put


async def test_redis_one_object_put_is_all_or_nothing_at_the_memory_limit(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    # A one-object put is one script call; at maxmemory the server refuses it before it writes anything:
    # no object, no index entry, no change-log entry.
    obj = StoredObject(key=ObjectKey("NL", "ABC", "RFID:01"), last_updated=MOMENT, data=b"{}")
    await raw.config_set("maxmemory-policy", "noeviction")
    await raw.config_set("maxmemory", 1)
    try:
        with pytest.raises(ResponseError, match="maxmemory"):
            await redis_store.put_object("tokens", obj, publish=("tokens", b"{}"))
    finally:
        await raw.config_set("maxmemory", 0)
    assert await raw.keys("*") == []
    assert await redis_store.put_object("tokens", obj, publish=("tokens", b"{}")) is True
    assert await redis_store.put_object("tokens", obj, publish=("tokens", b"{}")) is False
    assert len((await redis_store.read_published("tokens", "0", limit=10)).entries) == 2


async def test_redis_owner_objects_calls_in_flight_apply_in_call_order(redis_store: RedisStore) -> None:
    writes = [redis_store.put_owner_objects("tokens", _one("RFID:01", n, b"%d" % n)) for n in range(30)]
    assert await asyncio.gather(*writes) == [1] + [0] * 29
    stored = await redis_store.get_object("tokens", ObjectKey("NL", "ABC", "RFID:01"))
    assert stored is not None
    assert stored.data == b"29"


async def test_redis_owner_objects_a_refused_transaction_raises_and_the_next_one_works(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    await raw.set("ocpi:{NL*BAD}:idx:tokens", b"not a sorted set")
    bad = redis_store.put_owner_objects("tokens", _one("RFID:01", 1, b"{}", owner=("NL", "BAD")))
    good = redis_store.put_owner_objects("tokens", _one("RFID:02", 1, b"{}"))
    results = await asyncio.gather(bad, good, return_exceptions=True)
    assert isinstance(results[0], ResponseError)
    assert "WRONGTYPE" in str(results[0])
    assert results[1] == 1
    assert await redis_store.put_owner_objects("tokens", _one("RFID:03", 1, b"{}")) == 1
    assert await redis_store.count_objects("tokens", owner=("NL", "ABC")) == 2


async def test_redis_owner_objects_cancelled_while_in_flight_leave_the_store_usable(redis_store: RedisStore) -> None:
    tasks = [asyncio.ensure_future(redis_store.put_owner_objects("tokens", _one(f"RFID:{n}", n, b"{}")))
             for n in range(20)]
    await asyncio.sleep(0)
    tasks[3].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert await redis_store.put_owner_objects("tokens", _one("RFID:last", 1, b"{}")) == 1
    assert await redis_store.get_object("tokens", ObjectKey("NL", "ABC", "RFID:last")) is not None


async def test_redis_owner_objects_survive_the_server_dropping_idle_connections(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    assert await redis_store.put_owner_objects("tokens", _one("RFID:01", 1, b"{}")) == 1
    await raw.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")  # an idle timeout, say
    assert await redis_store.put_owner_objects("tokens", _one("RFID:02", 1, b"{}")) == 1
    assert await redis_store.count_objects("tokens") == 2
