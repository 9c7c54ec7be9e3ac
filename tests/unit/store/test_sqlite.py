"""What only the SQLite backend promises: URLs, the file's durability settings and the schema version."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from gateway.store import create_store
from gateway.store.base import ObjectKey, StoredObject
from gateway.store.sqlite import SCHEMA_VERSION, SqliteStore
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
