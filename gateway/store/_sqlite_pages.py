"""Counted blocks: how the SQLite store reads a page at any offset, and counts a list, without walking it.

SQLite's B-trees keep no subtree counts: ``OFFSET n`` steps over n index entries and ``COUNT(*)`` over every
match, tens of milliseconds each at 300,000 Locations. So ``object_blocks`` cuts each list *scope* (every
object of a kind, and the objects of a kind of one owner) into runs of consecutive objects in the list order
(``last_updated``, country code, party id, id). A row is one run: the key of its first object and ``n``, how
many objects it holds. The first block of a scope starts before every key (``last_updated`` = :data:`FIRST`),
so each object lies in exactly one block of each of its two scopes. In an owner's scope the order is
(``last_updated``, id), and its blocks store ``''`` as their country code and party id.

Writing: triggers on ``objects`` keep every ``n`` exact in the transaction of the write itself, whichever code
writes (an insert counts in, a delete counts out, an update that changes the key or ``last_updated`` does
both). A trigger on ``object_blocks`` keeps runs short: one grown past ``2 * BLOCK`` objects is split at its
``BLOCK``-th object, one shrunk below ``BLOCK // 4`` is folded into the block before it when the two fit in
``2 * BLOCK``. The sizes only bound the cost of a read; the counts are what must be exact. This costs each
object write a few index probes and small updates (measured at 10-20 µs of CPU). The write connections
run with ``recursive_triggers`` on, so an ``INSERT OR REPLACE`` into ``objects`` counts the row it replaces out.

Reading, in one snapshot: the counts of the scope in order (one row per block, about N / 700) give the total
and, summed, the block that holds any position; a page then skips fewer than ``2 * BLOCK`` index entries
inside that block. A date bound becomes a position the same way: the objects of the blocks before the one
holding it, plus a count inside that one.
"""

from __future__ import annotations

import bisect
import itertools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

__all__ = ("BLOCK", "FIRST", "SCHEMA", "count", "page")

BLOCK = 512
"""Objects per block after a split (the trigger SQL bakes it in: changing it needs a schema migration)."""
FIRST = -(2**63)
"""``last_updated`` of the first block of every scope: below any stored time."""

_SMALL = BLOCK // 4
_KEY = "last_updated, country_code, party_id, id"
_LAST_FIRST = "ORDER BY last_updated DESC, country_code DESC, party_id DESC, id DESC LIMIT 1"
_COLUMNS = "kind, owned, owner_cc, owner_pid, last_updated, country_code, party_id, id, n"
_ORDER = "ORDER BY last_updated, country_code, party_id, id"


def _holding(row: str) -> tuple[str, str]:
    """The rowid of the block holding object ``row`` (NEW or OLD) in its kind's scope and in its owner's."""
    kind = (
        f"SELECT rowid FROM object_blocks WHERE kind = {row}.kind AND owned = 0 AND owner_cc = '' AND owner_pid = ''"
        f" AND ({_KEY}) <= ({row}.last_updated, {row}.country_code, {row}.party_id, {row}.id) {_LAST_FIRST}"
    )
    owner = (
        f"SELECT rowid FROM object_blocks WHERE kind = {row}.kind AND owned = 1"
        f" AND owner_cc = {row}.country_code AND owner_pid = {row}.party_id"
        f" AND ({_KEY}) <= ({row}.last_updated, '', '', {row}.id) {_LAST_FIRST}"
    )
    return kind, owner


def _count_in(row: str) -> str:
    """Statements that count object ``row`` into its two scopes, creating their first blocks if needed.

    The first blocks are created with NOT EXISTS, not INSERT OR IGNORE: an ``INSERT OR REPLACE`` into
    ``objects`` would turn every conflict clause inside its triggers into REPLACE.
    """
    kind, owner = _holding(row)
    first = f"last_updated = {FIRST} AND country_code = '' AND party_id = '' AND id = ''"
    return (
        f"INSERT INTO object_blocks ({_COLUMNS})"
        f" SELECT {row}.kind, 0, '', '', {FIRST}, '', '', '', 0 WHERE NOT EXISTS (SELECT 1 FROM object_blocks"
        f" WHERE kind = {row}.kind AND owned = 0 AND owner_cc = '' AND owner_pid = '' AND {first})"
        f" UNION ALL SELECT {row}.kind, 1, {row}.country_code, {row}.party_id, {FIRST}, '', '', '', 0"
        f" WHERE NOT EXISTS (SELECT 1 FROM object_blocks WHERE kind = {row}.kind AND owned = 1"
        f" AND owner_cc = {row}.country_code AND owner_pid = {row}.party_id AND {first});"
        f" UPDATE object_blocks SET n = n + 1 WHERE rowid = ({kind});"
        f" UPDATE object_blocks SET n = n + 1 WHERE rowid = ({owner});"
    )


def _count_out(row: str) -> str:
    kind, owner = _holding(row)
    return (
        f"UPDATE object_blocks SET n = n - 1 WHERE rowid = ({kind});"
        f" UPDATE object_blocks SET n = n - 1 WHERE rowid = ({owner});"
    )


_SAME_SCOPE = "kind = NEW.kind AND owned = NEW.owned AND owner_cc = NEW.owner_cc AND owner_pid = NEW.owner_pid"
_BEFORE = (
    f"SELECT rowid FROM object_blocks WHERE {_SAME_SCOPE}"
    f" AND ({_KEY}) < (NEW.last_updated, NEW.country_code, NEW.party_id, NEW.id) {_LAST_FIRST}"
)
"""The rowid of the block before block NEW in its scope."""
_FITS = f"(SELECT n FROM object_blocks WHERE rowid = ({_BEFORE})) + NEW.n <= {2 * BLOCK}"
"""Block NEW fits into the block before it."""

_TRIGGERS = ("objects_count_insert", "objects_count_delete", "objects_count_update", "object_blocks_balance")

SCHEMA = (
    # Blocks are derived from ``objects``: rebuilt from scratch, also in a file rewound to an older version by hand.
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _TRIGGERS),
    "DROP TABLE IF EXISTS object_blocks",
    f"""CREATE TABLE object_blocks (
        kind TEXT NOT NULL,
        owned INTEGER NOT NULL,
        owner_cc TEXT NOT NULL,
        owner_pid TEXT NOT NULL,
        last_updated INTEGER NOT NULL,
        country_code TEXT NOT NULL,
        party_id TEXT NOT NULL,
        id TEXT NOT NULL,
        n INTEGER NOT NULL,
        UNIQUE (kind, owned, owner_cc, owner_pid, {_KEY})
    )""",
    f"""INSERT INTO object_blocks ({_COLUMNS})
        SELECT kind, 0, '', '', CASE WHEN r = 0 THEN {FIRST} ELSE last_updated END,
            CASE WHEN r = 0 THEN '' ELSE country_code END, CASE WHEN r = 0 THEN '' ELSE party_id END,
            CASE WHEN r = 0 THEN '' ELSE id END, min({BLOCK}, total - r)
        FROM (SELECT kind, {_KEY}, row_number() OVER (PARTITION BY kind {_ORDER}) - 1 AS r,
                count(*) OVER (PARTITION BY kind) AS total FROM objects)
        WHERE r % {BLOCK} = 0""",
    f"""INSERT INTO object_blocks ({_COLUMNS})
        SELECT kind, 1, country_code, party_id, CASE WHEN r = 0 THEN {FIRST} ELSE last_updated END, '', '',
            CASE WHEN r = 0 THEN '' ELSE id END, min({BLOCK}, total - r)
        FROM (SELECT kind, {_KEY},
                row_number() OVER (PARTITION BY kind, country_code, party_id ORDER BY last_updated, id) - 1 AS r,
                count(*) OVER (PARTITION BY kind, country_code, party_id) AS total FROM objects)
        WHERE r % {BLOCK} = 0""",
    f"CREATE TRIGGER objects_count_insert AFTER INSERT ON objects BEGIN {_count_in('NEW')} END",
    f"CREATE TRIGGER objects_count_delete AFTER DELETE ON objects BEGIN {_count_out('OLD')} END",
    f"""CREATE TRIGGER objects_count_update AFTER UPDATE OF kind, country_code, party_id, id, last_updated ON objects
        WHEN OLD.last_updated != NEW.last_updated OR OLD.id != NEW.id OR OLD.kind != NEW.kind
            OR OLD.country_code != NEW.country_code OR OLD.party_id != NEW.party_id
        BEGIN {_count_out("OLD")} {_count_in("NEW")} END""",
    # One trigger both splits and folds: each trigger fired costs every count update, even when it does nothing.
    f"""CREATE TRIGGER object_blocks_balance AFTER UPDATE OF n ON object_blocks
        WHEN NEW.n > {2 * BLOCK} OR (NEW.n < {_SMALL} AND NEW.last_updated != {FIRST})
        BEGIN
        INSERT INTO object_blocks ({_COLUMNS})
            SELECT kind, 0, '', '', {_KEY}, NEW.n - {BLOCK} FROM objects
            WHERE NEW.n > {2 * BLOCK} AND NEW.owned = 0 AND kind = NEW.kind
                AND ({_KEY}) >= (NEW.last_updated, NEW.country_code, NEW.party_id, NEW.id)
            {_ORDER} LIMIT 1 OFFSET {BLOCK};
        INSERT INTO object_blocks ({_COLUMNS})
            SELECT kind, 1, country_code, party_id, last_updated, '', '', id, NEW.n - {BLOCK} FROM objects
            WHERE NEW.n > {2 * BLOCK} AND NEW.owned = 1 AND kind = NEW.kind
                AND country_code = NEW.owner_cc AND party_id = NEW.owner_pid
                AND (last_updated, id) >= (NEW.last_updated, NEW.id)
            ORDER BY last_updated, id LIMIT 1 OFFSET {BLOCK};
        UPDATE object_blocks SET n = {BLOCK} WHERE NEW.n > {2 * BLOCK} AND rowid = NEW.rowid;
        DELETE FROM object_blocks WHERE NEW.n < {_SMALL} AND rowid = NEW.rowid AND {_FITS};
        UPDATE object_blocks SET n = n + NEW.n WHERE NEW.n < {_SMALL} AND rowid = ({_BEFORE})
            AND NOT EXISTS (SELECT 1 FROM object_blocks WHERE rowid = NEW.rowid);
        END""",
)
"""Schema version 4: the block table, its blocks for the objects already stored, and the triggers."""

_SCOPE = "kind = ? AND owned = ? AND owner_cc = ? AND owner_pid = ?"
_BLOCK_AT = f"SELECT {_KEY} FROM object_blocks WHERE {_SCOPE} {_ORDER} LIMIT 1 OFFSET ?"


class _Scope:
    """One list scope: how to find its blocks, and how to range over its objects from a block's first key."""

    def __init__(self, kind: str, owner: tuple[str, str] | None) -> None:
        if owner is None:
            self.blocks: tuple[Any, ...] = (kind, 0, "", "")
            self.objects = "kind = ?"
            self.params: tuple[Any, ...] = (kind,)
        else:
            self.blocks = (kind, 1, *owner)
            self.objects = "kind = ? AND country_code = ? AND party_id = ?"
            self.params = (kind, *owner)
        self.owned = owner is not None

    def from_key(self, key: tuple[Any, ...]) -> tuple[str, list[Any]]:
        """The WHERE clause (and parameters) of this scope's objects at or after a block's first key."""
        last_updated, country_code, party_id, object_id = key
        if self.owned:
            return f"{self.objects} AND (last_updated, id) >= (?, ?)", [*self.params, last_updated, object_id]
        return (
            f"{self.objects} AND ({_KEY}) >= (?, ?, ?, ?)",
            [*self.params, last_updated, country_code, party_id, object_id],
        )


def count(conn: sqlite3.Connection, kind: str, owner: tuple[str, str] | None) -> int:
    """How many objects the scope holds: a sum over its blocks."""
    sql = f"SELECT coalesce(sum(n), 0) FROM object_blocks WHERE {_SCOPE}"
    return int(conn.execute(sql, _Scope(kind, owner).blocks).fetchone()[0])


def page(
    conn: sqlite3.Connection,
    select: str,
    kind: str,
    owner: tuple[str, str] | None,
    dates: tuple[int | None, int | None],
    offset: int,
    limit: int,
) -> tuple[int, list[Any]]:
    """The number of matches and one page of rows, inside the caller's read transaction.

    Args:
        conn: A connection inside a read transaction.
        select: ``SELECT <columns> FROM objects``, completed here with the WHERE, ORDER BY and LIMIT.
        kind: The kind listed.
        owner: Only this owner's objects, or every owner's.
        dates: ``date_from`` (inclusive) and ``date_to`` (exclusive) in microseconds, each optional.
        offset: Matches to skip.
        limit: Rows to return at most.
    """
    scope = _Scope(kind, owner)
    sql = f"SELECT n FROM object_blocks WHERE {_SCOPE} {_ORDER}"
    ends = list(itertools.accumulate(n for (n,) in conn.execute(sql, scope.blocks)))
    if not ends:
        return 0, []
    date_from, date_to = dates
    low = 0 if date_from is None else _position(conn, scope, ends, date_from)
    high = ends[-1] if date_to is None else _position(conn, scope, ends, date_to)
    total = max(0, high - low)
    if offset >= total or limit == 0:
        return total, []
    start = low + offset
    block = bisect.bisect_right(ends, start)
    key = conn.execute(_BLOCK_AT, [*scope.blocks, block]).fetchone()
    where, params = scope.from_key(key)
    if date_to is not None:
        where += " AND last_updated < ?"
        params.append(date_to)
    skip = start - (ends[block - 1] if block else 0)
    rows = conn.execute(f"{select} WHERE {where} {_ORDER} LIMIT ? OFFSET ?", [*params, limit, skip]).fetchall()
    return total, rows


def _position(conn: sqlite3.Connection, scope: _Scope, ends: list[int], micros: int) -> int:
    """How many objects of the scope have ``last_updated`` before ``micros``."""
    bound = f"({_KEY}) <= (?, '', '', '')"
    params = [*scope.blocks, micros]
    (blocks,) = conn.execute(f"SELECT count(*) FROM object_blocks WHERE {_SCOPE} AND {bound}", params).fetchone()
    sql = f"SELECT {_KEY} FROM object_blocks WHERE {_SCOPE} AND {bound} {_LAST_FIRST}"
    key = conn.execute(sql, params).fetchone()
    where, where_params = scope.from_key(key)
    sql = f"SELECT count(*) FROM objects WHERE {where} AND last_updated < ?"
    (inside,) = conn.execute(sql, [*where_params, micros]).fetchone()
    return (ends[blocks - 2] if blocks > 1 else 0) + int(inside)
