"""What only the SQLite backend promises: URLs, the file's durability settings, the schema version and its
counted blocks."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from gateway.store import create_store
from gateway.store._sqlite_pages import BLOCK, FIRST
from gateway.store.base import ObjectKey, StoredObject
from gateway.store.sqlite import SCHEMA_VERSION, SqliteStore, _transaction
from tests.unit.store.test_store_contract import make_partner

if TYPE_CHECKING:
    from pathlib import Path


def test_sqlite_from_url_relative_and_absolute() -> None:
    assert str(SqliteStore.from_url("sqlite:///data/gw.sqlite3").path) == "data/gw.sqlite3"
    assert str(SqliteStore.from_url("sqlite:////var/lib/gw.sqlite3").path) == "/var/lib/gw.sqlite3"
    assert isinstance(create_store("sqlite:///x.sqlite3"), SqliteStore)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://host/x"])
def test_sqlite_from_url_rejects_urls_without_a_path(url: str) -> None:
    with pytest.raises(ValueError, match="sqlite:///PATH"):
        SqliteStore.from_url(url)


async def test_sqlite_open_creates_directory_wal_file_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "gw.sqlite3"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        conn.close()


async def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite3"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        await store.open()
    with pytest.raises(RuntimeError, match="not open"):
        await store.count_objects("tokens")


async def test_sqlite_methods_need_open(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "gw.sqlite3")
    with pytest.raises(RuntimeError, match="not open"):
        await store.get_partner("p1")
    with pytest.raises(RuntimeError, match="not open"):
        await store.put_expiring("ns", "k", b"v", 1)


async def test_sqlite_writes_fsync_on_commit(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "gw.sqlite3")
    await store.open()
    try:
        # The durability promise lives on the write connection, which only the write thread touches.
        mode = await store._write(lambda: store._conn().execute("PRAGMA synchronous").fetchone())
        assert mode == (2,)  # FULL
    finally:
        await store.close()


async def test_sqlite_migrates_a_version_1_file_to_the_change_log(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite3"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    conn = sqlite3.connect(path)  # turn the file back into what version 1 wrote
    with conn:
        conn.execute("DROP TABLE changes")
        conn.execute("DROP TABLE change_trims")
        conn.execute("DELETE FROM schema_version WHERE version > 1")
    conn.close()
    await store.open()
    try:
        cursor = await store.publish("tokens", b"p")
        assert (await store.read_published("tokens", "0")).entries == [(cursor, b"p")]
    finally:
        await store.close()


def test_sqlite_rejects_a_log_length_below_one(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="publish_max_len"):
        SqliteStore(tmp_path / "gw.sqlite3", publish_max_len=0)


async def test_sqlite_concurrent_writes_commit_in_groups_and_fail_alone(tmp_path: Path) -> None:
    """Writes queued together share one commit; one that fails leaves the others of its group stored."""
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    store = SqliteStore(tmp_path / "group.sqlite3")
    await store.open()
    try:
        await store.add_partner(make_partner("p1", token="t1"))
        puts = [
            store.put_object("things", StoredObject(key=ObjectKey("NL", "ABC", f"o{n}"), last_updated=t0, data=b"{}"))
            for n in range(100)
        ]
        duplicate = store.add_partner(make_partner("p1", token="t2"))
        results = await asyncio.gather(*puts[:50], duplicate, *puts[50:], return_exceptions=True)

        assert isinstance(results[50], ValueError)
        assert results[:50] + results[51:] == [True] * 100
        assert store.grouped_writes > 0
        assert (await store.list_objects("things", limit=1000)).total == 100
        assert [p.id for p in await store.list_partners()] == ["p1"]
    finally:
        await store.close()
    reopened = SqliteStore(tmp_path / "group.sqlite3")  # and it is all on disk
    await reopened.open()
    try:
        assert (await reopened.list_objects("things", limit=1000)).total == 100
    finally:
        await reopened.close()


def _check_blocks(path: Path) -> int:
    """Assert that every counted block holds exactly its ``n`` objects and is within its size bounds.

    Returns:
        How many blocks there are.
    """
    conn = sqlite3.connect(path)
    try:
        blocks = conn.execute(
            "SELECT kind, owned, owner_cc, owner_pid, last_updated, country_code, party_id, id, n FROM object_blocks"
            " ORDER BY kind, owned, owner_cc, owner_pid, last_updated, country_code, party_id, id"
        ).fetchall()
        objects = conn.execute("SELECT kind, country_code, party_id, id, last_updated FROM objects").fetchall()
    finally:
        conn.close()
    scopes: dict[tuple[str, int, str, str], list[tuple[int, str, str, str]]] = {}
    for kind, cc, pid, object_id, micros in objects:
        scopes.setdefault((kind, 0, "", ""), []).append((micros, cc, pid, object_id))
        scopes.setdefault((kind, 1, cc, pid), []).append((micros, "", "", object_id))
    for scope, members in scopes.items():
        starts = [(block[4:8], block[8]) for block in blocks if block[:4] == scope]
        assert starts, scope
        assert starts[0][0][0] == FIRST
        for index, (start, n) in enumerate(starts):
            end = starts[index + 1][0] if index + 1 < len(starts) else None
            inside = [m for m in members if m >= start and (end is None or m < end)]
            assert len(inside) == n, (scope, start)
            assert n <= 2 * BLOCK
            assert index == 0 or n > 0
    assert {block[:4] for block in blocks} >= set(scopes)
    return len(blocks)


def _object(object_id: str, seconds: int, owner: tuple[str, str] = ("NL", "ABC")) -> StoredObject:
    when = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    return StoredObject(key=ObjectKey(*owner, object_id), last_updated=when, data=b"{}")


async def test_sqlite_block_counts_stay_exact_through_splits_and_folds(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite3"
    store = SqliteStore(path)
    await store.open()
    try:
        owners = [("NL", "ABC"), ("DE", "XYZ"), ("BE", "AAA")]
        await store.put_objects("tokens", [_object(f"t{n:05}", n // 4, owners[n % 3]) for n in range(4000)])
        grown = _check_blocks(path)
        await store.put_objects("tokens", [_object(f"t{n:05}", 9000 + n, owners[n % 3]) for n in range(0, 4000, 2)])
        for n in range(1, 3000, 2):
            await store.delete_object("tokens", ObjectKey(*owners[n % 3], f"t{n:05}"))
        assert _check_blocks(path) < grown  # folded as blocks emptied
        assert await store.count_objects("tokens") == 2500
    finally:
        await store.close()


async def test_sqlite_insert_or_replace_keeps_block_counts(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite3"
    store = SqliteStore(path)
    await store.open()
    try:
        await store.put_objects("tokens", [_object("a", 1), _object("b", 2)])

        def replace() -> None:  # a writer that bypasses the store's own statements
            with _transaction(store._conn()) as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO objects (kind, country_code, party_id, id, last_updated, data)"
                    " VALUES ('tokens', 'NL', 'ABC', 'a', 99, x'7b7d')"
                )

        await store._write(replace)
        assert await store.count_objects("tokens") == 2
        _check_blocks(path)
    finally:
        await store.close()


async def test_sqlite_write_failing_in_its_group_leaves_block_counts_exact(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite3"
    store = SqliteStore(path)
    await store.open()
    try:

        def fail_after_a_put() -> None:
            with _transaction(store._conn()) as conn:
                conn.execute(
                    "INSERT INTO objects (kind, country_code, party_id, id, last_updated, data)"
                    " VALUES ('tokens', 'NL', 'ABC', 'lost', 5, x'7b7d')"
                )
                raise RuntimeError("fails after its insert")

        puts = [store.put_object("tokens", _object(f"o{n:03}", n)) for n in range(60)]
        results = await asyncio.gather(*puts[:30], store._write(fail_after_a_put), *puts[30:], return_exceptions=True)
        assert isinstance(results[30], RuntimeError)
        assert store.grouped_writes > 0
        assert await store.count_objects("tokens") == 60
        assert await store.count_objects("tokens", owner=("NL", "ABC")) == 60
    finally:
        await store.close()
    _check_blocks(path)


async def test_sqlite_migrates_a_version_3_file_to_counted_blocks(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite3"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    conn = sqlite3.connect(path)  # turn the file back into what version 3 wrote, then store objects there
    with conn:
        for trigger in ("objects_count_insert", "objects_count_delete", "objects_count_update"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE object_blocks")
        conn.execute("DELETE FROM schema_version WHERE version > 3")
        conn.executemany(
            "INSERT INTO objects (kind, country_code, party_id, id, last_updated, data) VALUES (?, ?, ?, ?, ?, ?)",
            [("tokens", "NL", f"P{n % 2}", f"t{n:05}", n * 1_000_000, b"{}") for n in range(3000)],
        )
    conn.close()
    await store.open()
    try:
        assert _check_blocks(path) > 4
        page = await store.list_objects("tokens", offset=2990, limit=20)
        assert (page.total, [o.key.id for o in page.items]) == (3000, [f"t{n:05}" for n in range(2990, 3000)])
        assert await store.count_objects("tokens", owner=("NL", "P1")) == 1500
        await store.put_object("tokens", _object("new", 0, ("NL", "P1")))
        assert await store.count_objects("tokens", owner=("NL", "P1")) == 1501
    finally:
        await store.close()
    _check_blocks(path)
