"""put_expiring_many: many short-lived values in one write, on both backends."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.store.base import Store


async def test_put_expiring_many_stores_every_value(store: Store) -> None:
    items = [(f"ref-{i}", f"value-{i}".encode()) for i in range(300)]
    await store.put_expiring_many("authorization", items, 60)
    for key, value in items[::37]:
        assert await store.get_expiring("authorization", key) == value
    assert await store.get_expiring("other-namespace", "ref-1") is None


async def test_put_expiring_many_replaces_and_accepts_nothing(store: Store) -> None:
    await store.put_expiring_many("authorization", [], 60)
    await store.put_expiring_many("authorization", [("a", b"1")], 60)
    await store.put_expiring_many("authorization", [("a", b"2"), ("b", b"3")], 60)
    assert await store.get_expiring("authorization", "a") == b"2"
    assert await store.get_expiring("authorization", "b") == b"3"
