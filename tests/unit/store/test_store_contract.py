"""The Store contract, run against every backend through the parametrized ``store`` fixture."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from gateway.store._codec import MAX_MICROS, to_micros
from gateway.store.base import ObjectKey, OwnerObjects, Partner, PartnerRole, Store, StoredObject

if TYPE_CHECKING:
    from collections.abc import Callable

BASE = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EXPIRY_WAIT_SECONDS = 10.0
PLUS_TWO = timezone(timedelta(hours=2))


def at(seconds: float) -> datetime:
    """A timestamp ``seconds`` after BASE (microsecond-exact)."""
    return BASE + timedelta(microseconds=round(seconds * 1_000_000))


def make_partner(partner_id: str = "p1", *, token: str = "token-1", created: float = 0.0, **changes: object) -> Partner:
    """A registered partner record with the given id, inbound token and creation time."""
    fields: dict[str, object] = {
        "id": partner_id,
        "roles": (PartnerRole(country_code="NL", party_id=partner_id[:3].upper(), role="EMSP"),),
        "state": "REGISTERED",
        "token_in": token,
        "token_out": f"out-{partner_id}",
        "versions_url": f"https://{partner_id}.example/versions",
        "version": "2.2.1",
        "created": at(created),
        "last_updated": at(created),
    }
    fields.update(changes)
    return Partner(**fields)  # type: ignore[arg-type]


def make_object(object_id: str, seconds: float = 0.0, *, owner: tuple[str, str] = ("NL", "ABC")) -> StoredObject:
    """An object of ``owner`` whose data names its key and time, so a stale copy is recognisable."""
    data = f'{{"id":"{object_id}","owner":"{owner[0]}-{owner[1]}","t":{seconds}}}'.encode()
    return StoredObject(key=ObjectKey(owner[0], owner[1], object_id), last_updated=at(seconds), data=data)


def keys(objects: list[StoredObject]) -> list[tuple[str, str, str]]:
    """The (country code, party id, id) of each object, in order."""
    return [(o.key.country_code, o.key.party_id, o.key.id) for o in objects]


def test_store_satisfies_protocol(store: Store) -> None:
    assert isinstance(store, Store)


async def test_store_open_is_idempotent(store: Store) -> None:
    await store.open()
    assert await store.put_object("tokens", make_object("a")) is True
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "a")) == make_object("a")


# -- partners ------------------------------------------------------------------------------------


async def test_partner_add_then_get_round_trips(store: Store) -> None:
    partner = make_partner()
    await store.add_partner(partner)
    assert await store.get_partner("p1") == partner
    assert await store.get_partner("nobody") is None


async def test_partner_add_duplicate_id_raises(store: Store) -> None:
    await store.add_partner(make_partner(token="t1"))
    with pytest.raises(ValueError, match="p1"):
        await store.add_partner(make_partner(token="t2"))
    assert (await store.get_partner("p1")).token_in == "t1"  # type: ignore[union-attr]


async def test_partner_add_duplicate_token_raises(store: Store) -> None:
    await store.add_partner(make_partner("p1", token="shared"))
    with pytest.raises(ValueError, match="token_in"):
        await store.add_partner(make_partner("p2", token="shared"))
    assert await store.get_partner("p2") is None


async def test_partner_find_by_token(store: Store) -> None:
    partner = make_partner(token="secret-token")
    await store.add_partner(partner)
    assert await store.find_partner_by_token("secret-token") == partner
    assert await store.find_partner_by_token("secret-tokem") is None
    assert await store.find_partner_by_token("") is None


async def test_partner_save_reindexes_token(store: Store) -> None:
    await store.add_partner(make_partner(token="token-a"))
    updated = make_partner(token="token-c", state="REGISTERED", version="2.1.1")
    await store.save_partner(updated)
    assert await store.find_partner_by_token("token-a") is None
    assert await store.find_partner_by_token("token-c") == updated
    assert await store.get_partner("p1") == updated


async def test_partner_save_same_token_keeps_index(store: Store) -> None:
    await store.add_partner(make_partner(token="token-a"))
    updated = make_partner(token="token-a", version="2.1.1")
    await store.save_partner(updated)
    assert await store.find_partner_by_token("token-a") == updated


async def test_partner_save_unknown_raises_key_error(store: Store) -> None:
    with pytest.raises(KeyError):
        await store.save_partner(make_partner("ghost"))
    assert await store.get_partner("ghost") is None
    assert await store.find_partner_by_token("token-1") is None


async def test_partner_save_with_token_of_another_raises(store: Store) -> None:
    await store.add_partner(make_partner("p1", token="t1"))
    await store.add_partner(make_partner("p2", token="t2", created=1))
    with pytest.raises(ValueError, match="token_in"):
        await store.save_partner(make_partner("p2", token="t1", created=1))
    assert (await store.find_partner_by_token("t1")).id == "p1"  # type: ignore[union-attr]
    assert (await store.find_partner_by_token("t2")).id == "p2"  # type: ignore[union-attr]


async def test_partner_list_is_oldest_first(store: Store) -> None:
    for partner_id, created in [("c", 5), ("a", 9), ("b", 1), ("d", 5)]:
        await store.add_partner(make_partner(partner_id, token=f"t-{partner_id}", created=created))
    assert [p.id for p in await store.list_partners()] == ["b", "c", "d", "a"]


async def test_partner_remove(store: Store) -> None:
    await store.add_partner(make_partner(token="t1"))
    assert await store.remove_partner("p1") is True
    assert await store.remove_partner("p1") is False
    assert await store.get_partner("p1") is None
    assert await store.find_partner_by_token("t1") is None
    assert await store.list_partners() == []
    await store.add_partner(make_partner("p9", token="t1"))  # the token is free again
    assert (await store.find_partner_by_token("t1")).id == "p9"  # type: ignore[union-attr]


# -- objects -------------------------------------------------------------------------------------


async def test_object_put_reports_created_then_replaced(store: Store) -> None:
    assert await store.put_object("tokens", make_object("a", 1)) is True
    assert await store.put_object("tokens", make_object("a", 2)) is False
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "a")) == make_object("a", 2)
    page = await store.list_objects("tokens")
    assert page.total == 1
    assert page.items == [make_object("a", 2)]


async def test_object_get_missing_is_none(store: Store) -> None:
    await store.put_object("tokens", make_object("a"))
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "b")) is None
    assert await store.get_object("tokens", ObjectKey("NL", "XYZ", "a")) is None
    assert await store.get_object("tariffs", ObjectKey("NL", "ABC", "a")) is None


async def test_object_delete(store: Store) -> None:
    await store.put_object("tokens", make_object("a"))
    await store.put_object("tokens", make_object("b"))
    assert await store.delete_object("tokens", ObjectKey("NL", "ABC", "a")) is True
    assert await store.delete_object("tokens", ObjectKey("NL", "ABC", "a")) is False
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "a")) is None
    page = await store.list_objects("tokens")
    assert (page.total, keys(page.items)) == (1, [("NL", "ABC", "b")])
    assert await store.count_objects("tokens", owner=("NL", "ABC")) == 1


async def test_object_list_orders_ties_by_owner_then_id(store: Store) -> None:
    objects = [
        make_object("b", 5, owner=("NL", "ABC")),
        make_object("a", 5, owner=("NL", "ABD")),
        make_object("z", 1, owner=("NL", "ZZZ")),
        make_object("a", 5, owner=("DE", "ABC")),
        make_object("a", 5, owner=("NL", "ABC")),
        make_object("a", 9, owner=("AT", "AAA")),
    ]
    for obj in objects:
        await store.put_object("tokens", obj)
    page = await store.list_objects("tokens")
    assert keys(page.items) == [
        ("NL", "ZZZ", "z"),
        ("DE", "ABC", "a"),
        ("NL", "ABC", "a"),
        ("NL", "ABC", "b"),
        ("NL", "ABD", "a"),
        ("AT", "AAA", "a"),
    ]


async def test_object_list_orders_ids_bytewise(store: Store) -> None:
    ids = ["b", "B", "a1", "a", "a\x00", "\u00e9", "Z", "a b"]
    await store.put_objects("tokens", [make_object(i, 3) for i in ids])
    page = await store.list_objects("tokens")
    assert [o.key.id for o in page.items] == sorted(ids, key=str.encode)


async def test_object_list_replacement_moves_to_new_time(store: Store) -> None:
    await store.put_objects("tokens", [make_object("a", 1), make_object("b", 2)])
    await store.put_object("tokens", make_object("a", 3))
    page = await store.list_objects("tokens")
    assert page.items == [make_object("b", 2), make_object("a", 3)]


async def test_object_list_date_from_inclusive_date_to_exclusive(store: Store) -> None:
    await store.put_objects("tokens", [make_object(f"o{t}", t) for t in range(10)])
    page = await store.list_objects("tokens", date_from=at(3), date_to=at(7))
    assert [o.key.id for o in page.items] == ["o3", "o4", "o5", "o6"]
    assert page.total == 4
    assert (await store.list_objects("tokens", date_from=at(8))).total == 2
    assert (await store.list_objects("tokens", date_to=at(2))).total == 2
    assert (await store.list_objects("tokens", date_from=at(5), date_to=at(5))).total == 0


async def test_object_list_dates_are_microsecond_exact(store: Store) -> None:
    await store.put_objects(
        "tokens", [make_object("early", 4.999999), make_object("on", 5), make_object("late", 5.000001)]
    )
    page = await store.list_objects("tokens", date_from=at(5), date_to=at(5.000001))
    assert [o.key.id for o in page.items] == ["on"]
    # Filters compare instants, not wall clock times.
    assert (await store.list_objects("tokens", date_from=at(5).astimezone(PLUS_TWO))).total == 2


async def test_object_list_owner_filter(store: Store) -> None:
    await store.put_objects(
        "tokens",
        [
            make_object("a", 1, owner=("NL", "ABC")),
            make_object("b", 2, owner=("NL", "XYZ")),
            make_object("c", 3, owner=("NL", "ABC")),
            make_object("d", 0, owner=("DE", "ABC")),
        ],
    )
    page = await store.list_objects("tokens", owner=("NL", "ABC"))
    assert (page.total, [o.key.id for o in page.items]) == (2, ["a", "c"])
    page = await store.list_objects("tokens", owner=("NL", "ABC"), date_from=at(2), offset=0, limit=5)
    assert (page.total, [o.key.id for o in page.items]) == (1, ["c"])
    assert (await store.list_objects("tokens", owner=("FR", "ABC"))).total == 0


async def test_object_list_total_ignores_offset_and_limit(store: Store) -> None:
    await store.put_objects("tokens", [make_object(f"o{t:02}", t) for t in range(25)])
    page = await store.list_objects("tokens", offset=10, limit=5)
    assert page.total == 25
    assert [o.key.id for o in page.items] == [f"o{t:02}" for t in range(10, 15)]
    empty = await store.list_objects("tokens", offset=3, limit=0)
    assert (empty.total, empty.items) == (25, [])


async def test_object_list_offset_beyond_end_is_empty(store: Store) -> None:
    await store.put_objects("tokens", [make_object(f"o{t}", t) for t in range(5)])
    for offset in (5, 6, 1000):
        page = await store.list_objects("tokens", offset=offset, limit=10)
        assert (page.total, page.items) == (5, [])
    tail = await store.list_objects("tokens", offset=3, limit=10)
    assert [o.key.id for o in tail.items] == ["o3", "o4"]


async def test_object_list_rejects_negative_paging(store: Store) -> None:
    with pytest.raises(ValueError, match="offset"):
        await store.list_objects("tokens", offset=-1)
    with pytest.raises(ValueError, match="limit"):
        await store.list_objects("tokens", limit=-1)


async def test_object_crawl_visits_every_object_once(store: Store) -> None:
    owners = [("NL", "ABC"), ("DE", "XYZ"), ("BE", "AAA")]
    objects = [
        make_object(f"id{n:03}", n % 7, owner=owners[n % 3])  # many ties in last_updated
        for n in range(103)
    ]
    await store.put_objects("tokens", objects)
    seen: list[tuple[str, str, str]] = []
    for offset in itertools.count(0, 10):
        page = await store.list_objects("tokens", offset=offset, limit=10)
        assert page.total == 103
        if not page.items:
            break
        seen.extend(keys(page.items))
    assert sorted(seen) == sorted(keys(objects))
    assert len(seen) == len(set(seen))


async def test_object_put_objects_counts_new_ones(store: Store) -> None:
    assert await store.put_objects("tokens", []) == 0
    assert await store.put_objects("tokens", [make_object("a", 1), make_object("b", 1)]) == 2
    batch = [make_object("b", 2), make_object("c", 2), make_object("d", 2), make_object("c", 3)]
    assert await store.put_objects("tokens", batch) == 2
    assert await store.count_objects("tokens") == 4
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "b")) == make_object("b", 2)
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "c")) == make_object("c", 3)  # last one wins
    page = await store.list_objects("tokens")
    assert [o.key.id for o in page.items] == ["a", "b", "d", "c"]


async def test_object_put_objects_large_batch(store: Store) -> None:
    objects = [make_object(f"t{n:05}", n // 100, owner=("NL", f"P{n % 4}")) for n in range(5000)]
    assert await store.put_objects("tokens", objects) == 5000
    assert await store.put_objects("tokens", objects[:1000]) == 0
    assert await store.count_objects("tokens") == 5000
    assert await store.count_objects("tokens", owner=("NL", "P1")) == 1250
    page = await store.list_objects("tokens", offset=4990, limit=100)
    assert (page.total, len(page.items)) == (5000, 10)


def owner_objects(objects: list[StoredObject]) -> list[OwnerObjects]:
    """The same objects column by column, one entry per owner in order of first appearance."""
    owners: dict[tuple[str, str], OwnerObjects] = {}
    for obj in objects:
        owner = (obj.key.country_code, obj.key.party_id)
        columns = owners.setdefault(owner, OwnerObjects(country_code=owner[0], party_id=owner[1], ids=[], micros=[],
                                                        data=[]))
        columns.ids.append(obj.key.id)
        columns.micros.append(to_micros(obj.last_updated))
        columns.data.append(obj.data)
    return list(owners.values())


async def test_object_put_owner_objects_writes_what_put_objects_writes(
    store: Store, make_store: Callable[[], Store]
) -> None:
    objects = [make_object(f"t{n:03}", n // 7, owner=("NL", f"P{n % 3}")) for n in range(60)]
    objects.append(make_object("t\x00\u00e9", 3, owner=("DE", "ABC")))
    assert await store.put_owner_objects("tokens", owner_objects(objects)) == 61
    assert await store.put_owner_objects("tokens", []) == 0
    assert await store.count_objects("tokens", owner=("NL", "P1")) == 20
    written = await store.list_objects("tokens", limit=100)
    for obj in objects:
        assert await store.get_object("tokens", obj.key) == obj
    await store.put_objects("other", objects)
    assert [(o.key, o.last_updated, o.data) for o in written.items] == [
        (o.key, o.last_updated, o.data) for o in (await store.list_objects("other", limit=100)).items
    ]
    page = await store.list_objects("tokens", owner=("NL", "P2"), date_from=at(3), limit=3)
    assert (page.total, [o.key.id for o in page.items]) == (13, ["t023", "t026", "t029"])


async def test_object_put_owner_objects_counts_new_ones_and_the_last_of_a_key_wins(store: Store) -> None:
    await store.put_objects("tokens", [make_object("a", 1), make_object("b", 1)])
    batch = [make_object("b", 2), make_object("c", 2), make_object("x", 2, owner=("DE", "XYZ")), make_object("c", 3)]
    assert await store.put_owner_objects("tokens", owner_objects(batch)) == 2
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "c")) == make_object("c", 3)
    assert await store.count_objects("tokens") == 4
    assert [o.key.id for o in (await store.list_objects("tokens")).items] == ["a", "x", "b", "c"]


async def test_object_put_owner_objects_publishes_one_entry_with_the_write(store: Store) -> None:
    cursor = await store.published_cursor("tokens")
    batch = owner_objects([make_object("a", 1), make_object("b", 1, owner=("DE", "ABC"))])
    assert await store.put_owner_objects("tokens", batch, publish=("tokens", b"a\nb")) == 2
    assert [payload for _, payload in (await store.read_published("tokens", cursor)).entries] == [b"a\nb"]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"ids": ["a", "b"], "micros": [0], "data": [b"{}", b"{}"]}, "differ in length"),
        ({"ids": ["a", "b"], "micros": [0, MAX_MICROS + 1], "data": [b"{}", b"{}"]}, "out of the supported range"),
        ({"ids": ["a"], "micros": [-MAX_MICROS - 1], "data": [b"{}"]}, "out of the supported range"),
    ],
)
async def test_object_put_owner_objects_refuses_bad_columns_and_writes_nothing(
    store: Store, columns: dict[str, list[object]], message: str
) -> None:
    good = OwnerObjects(country_code="DE", party_id="ABC", ids=["g"], micros=[0], data=[b"{}"])
    bad = OwnerObjects(country_code="NL", party_id="ABC", **columns)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        await store.put_owner_objects("tokens", [good, bad], publish=("tokens", b"x"))
    assert await store.count_objects("tokens") == 0
    assert await store.published_cursor("tokens") == "0"


async def test_object_count(store: Store) -> None:
    assert await store.count_objects("tokens") == 0
    await store.put_objects("tokens", [make_object("a"), make_object("b"), make_object("c", owner=("DE", "ABC"))])
    await store.put_object("tariffs", make_object("a"))
    assert await store.count_objects("tokens") == 3
    assert await store.count_objects("tokens", owner=("NL", "ABC")) == 2
    assert await store.count_objects("tokens", owner=("DE", "ABC")) == 1
    assert await store.count_objects("tokens", owner=("DE", "XYZ")) == 0
    assert await store.count_objects("tariffs") == 1


async def test_object_kinds_are_separate(store: Store) -> None:
    await store.put_object("tokens", make_object("a", 1))
    await store.put_object("tariffs", make_object("a", 2))
    assert (await store.get_object("tokens", ObjectKey("NL", "ABC", "a"))) == make_object("a", 1)
    assert await store.delete_object("tariffs", ObjectKey("NL", "ABC", "a")) is True
    assert await store.get_object("tokens", ObjectKey("NL", "ABC", "a")) == make_object("a", 1)
    assert (await store.list_objects("tariffs")).total == 0


async def test_object_rejects_naive_timestamp(store: Store) -> None:
    naive = StoredObject(key=ObjectKey("NL", "ABC", "a"), last_updated=datetime(2024, 1, 1), data=b"{}")
    with pytest.raises(ValueError, match="timezone"):
        await store.put_object("tokens", naive)
    assert await store.count_objects("tokens") == 0


# -- expiring values -----------------------------------------------------------------------------


async def test_expiring_put_then_get(store: Store) -> None:
    await store.put_expiring("auth", "ref-1", b"value-1", ttl_seconds=60)
    assert await store.get_expiring("auth", "ref-1") == b"value-1"
    assert await store.get_expiring("auth", "ref-2") is None
    assert await store.get_expiring("other", "ref-1") is None
    await store.put_expiring("auth", "ref-1", b"value-2", ttl_seconds=60)
    assert await store.get_expiring("auth", "ref-1") == b"value-2"


async def test_expiring_value_expires(store: Store) -> None:
    await store.put_expiring("auth", "short", b"gone soon", ttl_seconds=0.05)
    await store.put_expiring("auth", "long", b"stays", ttl_seconds=600)
    deadline = asyncio.get_running_loop().time() + EXPIRY_WAIT_SECONDS
    while await store.get_expiring("auth", "short") is not None:
        assert asyncio.get_running_loop().time() < deadline, "the value never expired"
        await asyncio.sleep(0.02)
    assert await store.get_expiring("auth", "long") == b"stays"


# -- durability and sharing ----------------------------------------------------------------------


async def test_data_survives_reopen(store: Store, make_store: Callable[[], Store]) -> None:
    partner = make_partner(token="durable")
    await store.add_partner(partner)
    await store.put_objects("tokens", [make_object("a", 1), make_object("b", 2)])
    await store.put_expiring("auth", "ref", b"v", ttl_seconds=600)
    await store.close()
    await store.close()  # idempotent
    reopened = make_store()
    await reopened.open()
    try:
        assert await reopened.find_partner_by_token("durable") == partner
        assert (await reopened.list_objects("tokens")).items == [make_object("a", 1), make_object("b", 2)]
        assert await reopened.get_expiring("auth", "ref") == b"v"
    finally:
        await reopened.close()
    await store.open()  # the fixture's store can be opened again
    assert await store.count_objects("tokens") == 2


async def test_two_instances_see_each_others_writes(store: Store, make_store: Callable[[], Store]) -> None:
    other = make_store()
    await other.open()
    try:
        await store.put_object("tokens", make_object("a", 1))
        assert await other.get_object("tokens", ObjectKey("NL", "ABC", "a")) == make_object("a", 1)
        await other.put_object("tokens", make_object("a", 2))
        await other.add_partner(make_partner(token="from-other"))
        assert await store.get_object("tokens", ObjectKey("NL", "ABC", "a")) == make_object("a", 2)
        assert (await store.find_partner_by_token("from-other")).id == "p1"  # type: ignore[union-attr]
        page = await store.list_objects("tokens")
        assert page.items == [make_object("a", 2)]
    finally:
        await other.close()


async def test_object_list_deep_pages_match_a_sorted_model(store: Store) -> None:
    """Thousands of objects (ties, two owners), then moves and deletes: every page, total and count agrees
    with the list sorted in Python. Large enough for the SQLite store to split and fold its counted blocks."""
    owners = [("NL", "ABC"), ("DE", "XYZ")]
    model = {
        (owner, f"id{n:05}"): n // 3  # three objects per instant: ties ordered by owner, then id
        for n in range(3000)
        for owner in [owners[n % 2]]
    }
    await store.put_objects("tokens", [make_object(i, t, owner=o) for (o, i), t in model.items()])
    moved = list(model)[::3][:700]
    await store.put_objects("tokens", [make_object(i, 5000 + n, owner=o) for n, (o, i) in enumerate(moved)])
    model.update({key: 5000 + n for n, key in enumerate(moved)})
    for o, i in list(model)[1::2][:900]:
        assert await store.delete_object("tokens", ObjectKey(o[0], o[1], i))
        del model[(o, i)]

    def expected(owner: tuple[str, str] | None, low: float, high: float) -> list[tuple[str, str, str]]:
        chosen = [(t, o, i) for (o, i), t in model.items() if owner in (None, o) and low <= t < high]
        return [(o[0], o[1], i) for _, o, i in sorted(chosen, key=lambda c: (c[0], c[1], c[2].encode()))]

    assert await store.count_objects("tokens") == len(model)
    for owner in (None, *owners):
        assert await store.count_objects("tokens", owner=owner) == len(expected(owner, 0, 10_000))
        for low, high in ((0, 10_000), (100, 5400), (333.5, 900), (5100, 5100)):
            dates = {"date_from": at(low) if low else None, "date_to": at(high) if high < 10_000 else None}
            want = expected(owner, low, high)
            for offset in {0, 1, 511, 1024, len(want) // 2, max(0, len(want) - 7), len(want)}:
                page = await store.list_objects("tokens", owner=owner, offset=offset, limit=10, **dates)
                assert (page.total, keys(page.items)) == (len(want), want[offset : offset + 10]), (owner, low, offset)
