"""The outbox contract (outbox_* methods), run against every backend through ``store``/``make_store``.

Time is passed explicitly (``now``), so leases and due times are tested without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import msgspec
import pytest

from gateway.store.base import OutboxClaim, OutboxCount, OutboxMessage, Store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 30.0
_ids = itertools.count()


def at(seconds: float) -> datetime:
    """A moment ``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)


def make_message(
    key: str = "locations:NL:ABC:LOC1", partner_id: str = "p1", *, due: float = 0.0, **changes: object
) -> OutboxMessage:
    """A pending PATCH for ``partner_id`` in lane ``key``, due ``due`` seconds after T0, with a fresh id."""
    number = next(_ids)
    fields: dict[str, object] = {
        "id": f"m{number:05d}",
        "partner_id": partner_id,
        "module": "locations",
        "method": "PATCH",
        "path": f"/NL/ABC/{key.rsplit(':', 1)[-1]}",
        "body": f'{{"n":{number}}}'.encode(),
        "headers": {"OCPI-to-party-id": "EMS"},
        "key": key,
        "created": at(0),
        "next_attempt": at(due),
    }
    fields.update(changes)
    return OutboxMessage(**fields)  # type: ignore[arg-type]


async def claim(store: Store, now: float = 0.0, limit: int = 100) -> list[OutboxClaim]:
    return await store.outbox_claim(now=at(now), lease_seconds=LEASE, limit=limit)


def ids(claims: list[OutboxClaim]) -> list[str]:
    return [c.message.id for c in claims]


@contextlib.asynccontextmanager
async def opened(make_store: Callable[[], Store]) -> AsyncIterator[Store]:
    other = make_store()
    await other.open()
    try:
        yield other
    finally:
        await other.close()


async def test_outbox_add_then_get_keeps_every_field(store: Store) -> None:
    message = make_message(policy="until_accepted", role="RECEIVER", last_error=None)
    assert await store.outbox_add([message]) == 1
    assert await store.outbox_get(message.id) == message
    assert await store.outbox_get("nope") is None


async def test_outbox_add_skips_known_ids(store: Store) -> None:
    message = make_message()
    assert await store.outbox_add([message]) == 1
    assert await store.outbox_add([message, make_message()]) == 1
    assert await store.outbox_add([]) == 0


@pytest.mark.parametrize("field", ["key", "partner_id", "id"])
async def test_outbox_add_rejects_the_lane_separator(store: Store, field: str) -> None:
    with pytest.raises(ValueError, match="x1f"):
        await store.outbox_add([msgspec.structs.replace(make_message(), **{field: "a\x1fb"})])
    assert await store.outbox_counts(now=at(0)) == []


async def test_outbox_claim_gives_one_head_per_lane_in_order(store: Store) -> None:
    a1, a2, b1 = make_message("k:A"), make_message("k:A"), make_message("k:B")
    await store.outbox_add([a1, a2, b1])
    first = await claim(store)
    assert sorted(ids(first)) == sorted([a1.id, b1.id])
    assert all(c.message.attempts == 1 for c in first)
    assert await claim(store) == []  # both lanes are held
    by_id = {c.message.id: c for c in first}
    assert await store.outbox_ack(by_id[a1.id])
    assert ids(await claim(store)) == [a2.id]


async def test_outbox_lanes_are_per_partner(store: Store) -> None:
    one, two = make_message("k:A", "p1"), make_message("k:A", "p2")
    await store.outbox_add([one, two])
    assert sorted(ids(await claim(store))) == sorted([one.id, two.id])


async def test_outbox_claim_respects_due_time_and_limit(store: Store) -> None:
    later = make_message("k:A", due=10)
    now_ones = [make_message(f"k:{n}") for n in range(5)]
    await store.outbox_add([later, *now_ones])
    assert len(await claim(store, limit=3)) == 3
    assert len(await claim(store, limit=3)) == 2
    assert await claim(store, now=9.9) == []
    assert ids(await claim(store, now=10)) == [later.id]
    assert await store.outbox_claim(now=at(10), lease_seconds=LEASE, limit=0) == []


async def test_outbox_release_delays_the_lane_and_keeps_its_order(store: Store) -> None:
    first, second = make_message("k:A"), make_message("k:A")
    await store.outbox_add([first, second])
    (held,) = await claim(store)
    assert await store.outbox_release(held, next_attempt=at(5), error="HTTP 503")
    assert await claim(store, now=4) == []  # the second one waits behind the first
    (again,) = await claim(store, now=5)
    assert again.message.id == first.id
    assert again.message.attempts == 2
    assert again.message.last_error == "HTTP 503"
    assert again.message.next_attempt == at(5)


async def test_outbox_release_dead_frees_the_lane(store: Store) -> None:
    first, second = make_message("k:A"), make_message("k:A")
    await store.outbox_add([first, second])
    (held,) = await claim(store)
    assert await store.outbox_release(held, next_attempt=at(0), error="OCPI 2001", dead=True)
    assert ids(await claim(store)) == [second.id]
    (dead,) = await store.outbox_dead()
    assert (dead.id, dead.state, dead.last_error, dead.attempts) == (first.id, "dead", "OCPI 2001", 1)


async def test_outbox_expired_lease_is_claimed_again_and_the_old_token_loses(store: Store) -> None:
    message, behind = make_message("k:A"), make_message("k:A")
    await store.outbox_add([message, behind])
    (old,) = await claim(store, now=0)
    assert await claim(store, now=LEASE - 1) == []
    (new,) = await claim(store, now=LEASE)
    assert new.message.id == message.id
    assert new.message.attempts == 2
    assert new.token != old.token
    assert not await store.outbox_release(old, next_attempt=at(100), error="late")
    assert await claim(store, now=LEASE + 1) == []  # the new claim still holds the lane
    assert await store.outbox_ack(new)
    assert ids(await claim(store, now=LEASE + 1)) == [behind.id]


async def test_outbox_ack_after_a_lost_lease_still_removes_the_message(store: Store) -> None:
    message = make_message()
    await store.outbox_add([message])
    (old,) = await claim(store, now=0)
    (new,) = await claim(store, now=LEASE)
    assert await store.outbox_ack(old)  # delivered is delivered
    assert not await store.outbox_ack(new)
    assert not await store.outbox_release(new, next_attempt=at(0), error="x")
    assert await store.outbox_counts(now=at(LEASE)) == []
    assert await store.outbox_next_due() is None


async def test_outbox_counts_by_partner_and_state(store: Store) -> None:
    await store.outbox_add([make_message("k:A", "p1"), make_message("k:A", "p1"), make_message("k:B", "p1")])
    await store.outbox_add([make_message("k:A", "p2", due=50)])
    held = await claim(store, now=0)
    assert len(held) == 2
    dead_claim = next(c for c in held if c.message.key == "k:B")
    await store.outbox_release(dead_claim, next_attempt=at(0), error="refused", dead=True)
    assert await store.outbox_counts(now=at(1)) == [
        OutboxCount(partner_id="p1", pending=1, in_flight=1, dead=1),
        OutboxCount(partner_id="p2", pending=1, in_flight=0, dead=0),
    ]
    # once the lease ran out, the claimed message counts as pending again
    assert (await store.outbox_counts(now=at(LEASE + 1)))[0] == OutboxCount(partner_id="p1", pending=2, dead=1)


async def test_outbox_retry_puts_dead_messages_back_in_their_place(store: Store) -> None:
    first, second, third = make_message("k:A"), make_message("k:A"), make_message("k:A")
    await store.outbox_add([first, second, third])
    (held,) = await claim(store)
    await store.outbox_release(held, next_attempt=at(0), error="no", dead=True)
    (now_second,) = await claim(store)
    assert now_second.message.id == second.id
    await store.outbox_release(now_second, next_attempt=at(100), error="later")
    assert await store.outbox_retry(now=at(1)) == 1  # every dead one: just the first
    (again,) = await claim(store, now=1)
    assert (again.message.id, again.message.attempts, again.message.state) == (first.id, 1, "pending")
    await store.outbox_ack(again)
    assert await claim(store, now=1) == []  # the second is still waiting for its retry time
    assert await store.outbox_retry(now=at(2), ids=[second.id]) == 1  # a pending one: due now
    assert ids(await claim(store, now=2)) == [second.id]


async def test_outbox_retry_and_drop_select_by_partner_and_ids(store: Store) -> None:
    messages = [make_message(f"k:{n}", partner) for n, partner in enumerate(["p1", "p1", "p2"])]
    await store.outbox_add(messages)
    for held in await claim(store):
        await store.outbox_release(held, next_attempt=at(0), error="no", dead=True)
    assert await store.outbox_retry(now=at(0), partner_id="p2") == 1
    assert [m.partner_id for m in await store.outbox_dead()] == ["p1", "p1"]
    assert [m.id for m in await store.outbox_dead(partner_id="p1", limit=1)] == [messages[0].id]
    assert await store.outbox_drop(ids=[messages[0].id], partner_id="p2") == 0
    assert await store.outbox_drop(ids=[messages[0].id, "unknown"]) == 1
    assert await store.outbox_drop(partner_id="p1") == 1
    assert await store.outbox_drop(ids=[]) == 0
    assert await store.outbox_retry(now=at(0), ids=[]) == 0
    assert await store.outbox_counts(now=at(0)) == [OutboxCount(partner_id="p2", pending=1)]
    assert await store.outbox_drop() == 0  # only dead ones without ids: p2's is pending


async def test_outbox_drop_of_a_claimed_message_frees_the_lane(store: Store) -> None:
    first, second = make_message("k:A"), make_message("k:A")
    await store.outbox_add([first, second])
    (held,) = await claim(store)
    assert await store.outbox_drop(ids=[first.id]) == 1
    assert not await store.outbox_release(held, next_attempt=at(0), error="x")
    assert ids(await claim(store)) == [second.id]


async def test_outbox_next_due(store: Store) -> None:
    assert await store.outbox_next_due() is None
    await store.outbox_add([make_message("k:A", due=7), make_message("k:A", due=1), make_message("k:B", due=3)])
    assert await store.outbox_next_due() == at(3)  # k:A's head is the one due at 7
    (held,) = await claim(store, now=3)
    assert await store.outbox_next_due() == at(7)
    await store.outbox_release(held, next_attempt=at(5), error="x")
    assert await store.outbox_next_due() == at(5)


async def test_outbox_survives_reopening(make_store: Callable[[], Store]) -> None:
    message = make_message()
    async with opened(make_store) as first:
        await first.outbox_add([message])
    async with opened(make_store) as second:
        assert await second.outbox_get(message.id) == message
        assert ids(await claim(second)) == [message.id]


async def test_outbox_concurrent_claims_from_two_instances_never_share_a_lane(make_store: Callable[[], Store]) -> None:
    messages = [make_message(f"k:{n % 7}") for n in range(60)]
    delivered: list[str] = []
    async with opened(make_store) as one, opened(make_store) as two:
        await one.outbox_add(messages)

        async def drain(store: Store) -> None:
            for _ in range(200):
                claims = await claim(store, limit=3)
                if not claims and len(delivered) == len(messages):
                    return
                for held in claims:
                    delivered.append(held.message.id)
                    await asyncio.sleep(0)
                    assert await store.outbox_ack(held)

        await asyncio.gather(drain(one), drain(two), drain(one))
    assert sorted(delivered) == sorted(m.id for m in messages)
    for lane in range(7):
        expected = [m.id for m in messages if m.key == f"k:{lane}"]
        assert [i for i in delivered if i in expected] == expected


async def test_outbox_sqlite_migrates_a_version_2_file(tmp_path: Path) -> None:
    import sqlite3

    from gateway.store.sqlite import SqliteStore

    path = tmp_path / "gw.sqlite3"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    conn = sqlite3.connect(path)  # turn the file back into what version 2 wrote
    with conn:
        conn.execute("DROP TABLE outbox")
        conn.execute("DELETE FROM schema_version WHERE version > 2")
    conn.close()
    await store.open()
    try:
        message = make_message()
        assert await store.outbox_add([message]) == 1
        assert await store.outbox_get(message.id) == message
    finally:
        await store.close()
