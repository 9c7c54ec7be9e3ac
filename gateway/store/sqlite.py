"""The embedded default store: one SQLite file, shared safely by several processes.

Durability: the file runs in WAL mode with ``synchronous=FULL``, so every commit fsyncs the write-ahead log
before the method returns. An acknowledged write therefore survives a crash of the process and a power
loss (as far as the disk honours fsync). The one exception is :meth:`SqliteStore.put_expiring`: values with
an expiry (authorization references) go through a second write connection with ``synchronous=NORMAL``, which
does not fsync on commit. They survive a crash of the process, but the newest of them may be lost on a power
loss (WAL mode stays consistent either way); they are short-lived by nature and an fsync per value would
otherwise bound every ``/api/authorize`` by the disk. ``busy_timeout`` lets several processes (Granian workers, the CLI
while the server runs) share the file: a writer waits for another writer's transaction instead of failing.

Threads: writes run on one dedicated thread (a ``ThreadPoolExecutor`` with one worker) that owns the write
connection, so an fsync never blocks the event loop and writes of this process never contend with each
other. Group commit: writes that queue up while the thread is busy (concurrent requests) run together in
one transaction, each in a savepoint of its own, with one fsync for all (up to :data:`GROUP_COMMIT_MAX`); each
caller is answered after that commit, so every acknowledged write is still durable, and a write that fails
rolls back alone. Reads take microseconds and run inline on the calling thread, each thread with its own read-only
connection; WAL lets them read while a write is in progress.

Layout: ``partners`` (the partner record as JSON, with a unique SHA-256 of its token), ``objects``
(one row per OCPI object, ``last_updated`` as integer microseconds since the epoch, UTC), ``expiring``
(values with an expiry, deleted lazily), ``changes`` (the change log of every topic, ordered by one
``AUTOINCREMENT`` sequence, so a cursor is never reused), ``change_trims`` (per topic, the newest sequence
number trimmed away: the gap rule), ``outbox`` (one row per outbox message, see below), ``object_blocks``
and ``schema_version``.

Lists: ``object_blocks`` counts ``objects`` in blocks of consecutive objects in the list order, kept exact by
triggers in every write's own transaction (see :mod:`gateway.store._sqlite_pages`). A page and its total
then cost about the same at offset 0 and at offset 290,000 of 300,000: a read of the block counts (one row
per ~700 objects) and a skip inside one block, instead of ``OFFSET`` and ``COUNT(*)`` walking the index.

Change log: an entry is written on the write thread like every other write, in the same transaction as the
object write it announces. Every ``trim_every`` appends to a topic (and on the first one after open), the
appending process deletes that topic's entries older than the newest ``publish_max_len`` and records the
newest deleted sequence number; a reader whose cursor is older than that has missed entries (a gap). Readers
poll: SQLite has no notification across processes, so a blocking read re-reads every
:data:`POLL_INTERVAL_SECONDS` until an entry arrives or the wait ends.

Outbox: a message's ``seq`` (one ``AUTOINCREMENT`` sequence) is its place in its lane (partner id, key). A claim
is one write transaction that picks due pending rows that have no older pending row in their lane, and sets
``claimed_until`` and a fresh ``claim`` token on them: the head of a claimed lane stays pending, so nothing
behind it can be claimed until it is acknowledged (deleted) or released. A lease that ran out
(``claimed_until <= now``) no longer holds the lane. Releases match the token, so a worker whose lease was
taken over changes nothing. Finding heads costs an index probe per due row, fine for outboxes of up to about
10^5 waiting messages.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from gateway.store._codec import (
    check_max_len,
    check_owner_objects,
    check_page,
    check_read,
    decode_partner,
    encode_partner,
    from_micros,
    to_micros,
    token_digest,
    token_matches,
)
from gateway.store._outbox import check_messages, decode_message, encode_message, new_claim_token
from gateway.store._sqlite_pages import SCHEMA as _SCHEMA_V4
from gateway.store._sqlite_pages import count as _count
from gateway.store._sqlite_pages import page as _page
from gateway.store.base import (
    LOG_START,
    PUBLISH_MAX_LEN,
    ObjectKey,
    ObjectPage,
    OutboxClaim,
    OutboxCount,
    OutboxMessage,
    Partner,
    PublishedBatch,
    Put,
    Remove,
    StoredObject,
    WriteConflict,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import datetime

    from gateway.store.base import OwnerObjects, WriteOp

__all__ = ("POLL_INTERVAL_SECONDS", "SCHEMA_VERSION", "SqliteStore")

SCHEMA_VERSION = 4
"""The schema this code writes. Bump it and add a step to ``_MIGRATIONS`` when the schema changes."""

BUSY_TIMEOUT_MS = 10_000
"""How long a connection waits for another process's write lock before giving up."""

_SCHEMA_V1 = (
    """CREATE TABLE partners (
        id TEXT PRIMARY KEY,
        token_digest BLOB NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        data BLOB NOT NULL
    )""",
    "CREATE INDEX partners_created ON partners (created, id)",
    """CREATE TABLE objects (
        kind TEXT NOT NULL,
        country_code TEXT NOT NULL,
        party_id TEXT NOT NULL,
        id TEXT NOT NULL,
        last_updated INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (kind, country_code, party_id, id)
    )""",
    "CREATE INDEX objects_order ON objects (kind, last_updated, country_code, party_id, id)",
    "CREATE INDEX objects_owner ON objects (kind, country_code, party_id, last_updated, id)",
    """CREATE TABLE expiring (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (namespace, key)
    )""",
    "CREATE INDEX expiring_expires_at ON expiring (expires_at)",
)

_SCHEMA_V2 = (
    """CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        created INTEGER NOT NULL
    )""",
    "CREATE INDEX changes_topic ON changes (topic, seq)",
    """CREATE TABLE change_trims (
        topic TEXT PRIMARY KEY,
        through INTEGER NOT NULL
    )""",
)

_SCHEMA_V3 = (  # IF NOT EXISTS: a file rewound to an older version by hand may still hold the table
    """CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        partner_id TEXT NOT NULL,
        key TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt INTEGER NOT NULL,
        claimed_until INTEGER NOT NULL DEFAULT 0,
        claim TEXT,
        last_error TEXT,
        data BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_lane ON outbox (partner_id, key, state, seq)",
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt)",
)

_MIGRATIONS: dict[int, tuple[str, ...]] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3, 4: _SCHEMA_V4}
"""Statements that take the schema from version ``n - 1`` to version ``n``."""

_UPSERT_NEW = (
    "INSERT INTO objects (kind, country_code, party_id, id, last_updated, data) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (kind, country_code, party_id, id) DO NOTHING"
)
_UPDATE_EXISTING = (
    "UPDATE objects SET last_updated = ?5, data = ?6"
    " WHERE kind = ?1 AND country_code = ?2 AND party_id = ?3 AND id = ?4"
)
_DELETE_OBJECT = "DELETE FROM objects WHERE kind = ? AND country_code = ? AND party_id = ? AND id = ?"
_SELECT_DATA = "SELECT data FROM objects WHERE kind = ? AND country_code = ? AND party_id = ? AND id = ?"

POLL_INTERVAL_SECONDS = 0.05
"""How often a blocking :meth:`SqliteStore.read_published` looks for new entries."""

_NEWEST_SEQ = "SELECT max(seq) FROM changes WHERE topic = ?"
_TRIMMED_THROUGH = "SELECT through FROM change_trims WHERE topic = ?"

_OUTBOX_HEAD = (
    "NOT EXISTS (SELECT 1 FROM outbox AS older WHERE older.partner_id = o.partner_id AND older.key = o.key"
    " AND older.state = 'pending' AND older.seq < o.seq)"
)
"""True for a pending row ``o`` that is the oldest pending message of its lane."""
_OUTBOX_COLUMNS = "data, state, attempts, next_attempt, last_error"
_OUTBOX_DUE = (
    "SELECT seq FROM outbox AS o WHERE o.state = 'pending' AND o.next_attempt <= ?1 AND o.claimed_until <= ?1"
    f" AND {_OUTBOX_HEAD} ORDER BY o.next_attempt, o.seq LIMIT ?2"
)
_OUTBOX_INSERT = (
    "INSERT INTO outbox (id, partner_id, key, state, attempts, next_attempt, last_error, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
_OutboxRow = tuple[bytes, str, int, int, str | None]


def _outbox_rows(messages: Sequence[OutboxMessage]) -> list[tuple[Any, ...]]:
    """The outbox rows of checked messages (raises ``ValueError`` before anything is written)."""
    return [
        (m.id, m.partner_id, m.key, m.state, m.attempts, next_micros, m.last_error, encode_message(m))
        for m, next_micros in check_messages(messages)
    ]


def _outbox_message(row: _OutboxRow) -> OutboxMessage:
    data, state, attempts, next_attempt, last_error = row
    return decode_message(
        bytes(data),
        state="dead" if state == "dead" else "pending",
        attempts=attempts,
        next_attempt_micros=next_attempt,
        last_error=last_error,
    )


def _selection(ids: Sequence[str] | None, partner_id: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause of a retry or drop: the given ids, or every dead message; of one partner if given."""
    if ids is None:
        clauses, params = ["state = 'dead'"], []
    else:
        clauses, params = [f"id IN ({', '.join('?' * len(ids))})"], list(ids)
    if partner_id is not None:
        clauses.append("partner_id = ?")
        params.append(partner_id)
    return " AND ".join(clauses), params


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _now_micros() -> int:
    return time.time_ns() // 1000


def _connect(path: Path, *, read_only: bool, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open a connection in autocommit mode (transactions are explicit) with the shared pragmas."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA recursive_triggers = ON")  # an INSERT OR REPLACE counts the replaced row out
    return conn


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """Run a block in one transaction: commit when it ends, roll back when it raises.

    Writes begin IMMEDIATE so the write lock is taken up front (waiting up to ``busy_timeout``) rather than
    failing half-way when another process writes. Inside a group commit (the connection is already in a
    transaction) the block is a savepoint: it still succeeds or fails as a whole, and commits with its group.
    """
    if conn.in_transaction:  # one write of a group commit: a savepoint inside the group's transaction
        conn.execute("SAVEPOINT one_write")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK TO one_write")
            conn.execute("RELEASE one_write")
            raise
        conn.execute("RELEASE one_write")
        return
    conn.execute(begin)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _object_row(kind: str, obj: StoredObject) -> tuple[str, str, str, str, int, bytes]:
    key = obj.key
    return (kind, key.country_code, key.party_id, key.id, to_micros(obj.last_updated), obj.data)


def _stored_object(row: tuple[str, str, str, int, bytes]) -> StoredObject:
    country_code, party_id, object_id, micros, data = row
    return StoredObject(key=ObjectKey(country_code, party_id, object_id), last_updated=from_micros(micros), data=data)


def _parse_cursor(cursor: str) -> int:
    """The sequence number a SQLite cursor stands for.

    Raises:
        ValueError: ``cursor`` is not a non-negative decimal integer.
    """
    if not cursor.isascii() or not cursor.isdecimal():
        raise ValueError(f"Invalid change log cursor {cursor!r}")
    return int(cursor)


GROUP_COMMIT_MAX = 256
"""Most writes one group commit takes from the queue."""


class _Job(Generic[_T]):
    """One queued write: the call, and the future of the event loop that waits for it."""

    __slots__ = ("alone", "call", "future", "loop")

    def __init__(
        self, call: Callable[[], _T], loop: asyncio.AbstractEventLoop, future: asyncio.Future[_T], alone: bool
    ) -> None:
        self.call, self.loop, self.future, self.alone = call, loop, future, alone

    def attempt(self) -> tuple[_T | None, BaseException | None]:
        try:
            return self.call(), None
        except Exception as exc:  # noqa: BLE001 - handed to the waiting task, never lost on this thread
            return None, exc

    def run(self) -> None:
        self.answer(*self.attempt())

    def answer(self, result: _T | None, error: BaseException | None) -> None:
        def settle() -> None:
            if self.future.cancelled():  # the waiter was cancelled; the write happened (or failed) anyway
                return
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)  # type: ignore[arg-type]

        with contextlib.suppress(RuntimeError):  # the waiting loop was closed meanwhile
            self.loop.call_soon_threadsafe(settle)


class SqliteStore:
    """The :class:`~gateway.store.base.Store` on one SQLite file (created with its directory on open)."""

    def __init__(self, path: str | Path, *, publish_max_len: int = PUBLISH_MAX_LEN) -> None:
        """Prepare a store on ``path``; nothing is opened until :meth:`open`.

        Args:
            path: The database file.
            publish_max_len: How many entries each topic's change log keeps, approximately.

        Raises:
            ValueError: ``publish_max_len`` is below one.
        """
        check_max_len(publish_max_len)
        self.path = Path(path)
        self.publish_max_len = publish_max_len
        self.trim_every = max(1, publish_max_len // 10)
        """Appends to one topic between two trims by this process: the log holds at most about
        ``publish_max_len + trim_every`` entries per writing process."""
        self._appends: dict[str, int] = {}  # appends per topic since this process last trimmed it
        self._writer: ThreadPoolExecutor | None = None
        self._write_conn: sqlite3.Connection | None = None
        self._expiring_conn: sqlite3.Connection | None = None  # synchronous=NORMAL, see put_expiring
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._pending: collections.deque[_Job[Any]] = collections.deque()  # writes waiting for the write thread
        self._pending_lock = threading.Lock()
        self._draining = False  # a drain of _pending is scheduled or running on the write thread
        self.grouped_writes = 0
        """Writes this process committed together with others (one fsync for a group), since it was created."""

    @classmethod
    def from_url(cls, url: str, *, publish_max_len: int = PUBLISH_MAX_LEN) -> SqliteStore:
        """Build a store from ``sqlite:///relative/path`` or ``sqlite:////absolute/path``.

        Raises:
            ValueError: The URL is not a ``sqlite:///`` URL with a path.
        """
        prefix = "sqlite:///"
        if not url.startswith(prefix) or len(url) == len(prefix):
            raise ValueError(f"SQLite store URL must look like sqlite:///PATH, got {url!r}")
        return cls(url[len(prefix) :], publish_max_len=publish_max_len)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        """Create the directory, the file and the schema (or migrate it), and start the write thread."""
        if self._writer is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store-writer")
        try:
            await self._write_alone(self._open_writer)
        except BaseException:
            self._writer.shutdown(wait=True)
            self._writer = None
            raise

    async def close(self) -> None:
        """Close every connection and stop the write thread. The store can be opened again."""
        writer = self._writer
        if writer is None:
            return
        try:
            await self._write_alone(self._close_writer)
        finally:
            self._writer = None
            writer.shutdown(wait=True)
            with self._readers_lock:
                readers, self._readers = self._readers, []
            for conn in readers:
                conn.close()
            self._local = threading.local()

    # -- partners --------------------------------------------------------------------------------
    async def add_partner(self, partner: Partner) -> None:
        """Store a new partner. Raises ``ValueError`` when its id or its ``token_in`` is already used."""
        await self._write(self._add_partner, partner)

    async def save_partner(self, partner: Partner) -> None:
        """Replace a stored partner and re-index its token (``KeyError`` unknown, ``ValueError`` token taken)."""
        await self._write(self._save_partner, partner)

    async def get_partner(self, partner_id: str) -> Partner | None:
        """Return the partner with this id, or ``None``."""
        row = self._reader().execute("SELECT data FROM partners WHERE id = ?", (partner_id,)).fetchone()
        return None if row is None else decode_partner(row[0])

    async def find_partner_by_token(self, token: str) -> Partner | None:
        """Return the partner whose ``token_in`` equals ``token`` (compared in constant time), or ``None``."""
        sql = "SELECT data FROM partners WHERE token_digest = ?"
        row = self._reader().execute(sql, (token_digest(token),)).fetchone()
        if row is None:
            return None
        partner = decode_partner(row[0])
        return partner if token_matches(partner, token) else None

    async def list_partners(self) -> list[Partner]:
        """Every partner, oldest first (ties by id)."""
        rows = self._reader().execute("SELECT data FROM partners ORDER BY created, id").fetchall()
        return [decode_partner(data) for (data,) in rows]

    async def remove_partner(self, partner_id: str) -> bool:
        """Delete a partner record; ``False`` when it did not exist."""
        return await self._write(self._update, "DELETE FROM partners WHERE id = ?", (partner_id,)) > 0

    # -- OCPI objects ----------------------------------------------------------------------------
    async def put_object(self, kind: str, obj: StoredObject, *, publish: tuple[str, bytes] | None = None) -> bool:
        """Create or replace one object (and append ``publish`` in the same transaction); ``True`` when new."""
        return await self._write(self._put_objects, [_object_row(kind, obj)], publish) == 1

    async def put_objects(
        self, kind: str, objects: Sequence[StoredObject], *, publish: tuple[str, bytes] | None = None
    ) -> int:
        """Create or replace many objects in one transaction (with one ``publish`` entry); returns how many were new."""
        rows = [_object_row(kind, obj) for obj in objects]
        if not rows and publish is None:
            return 0
        return await self._write(self._put_objects, rows, publish)

    async def put_owner_objects(
        self, kind: str, owners: Sequence[OwnerObjects], *, publish: tuple[str, bytes] | None = None
    ) -> int:
        """Create or replace many objects given per owner in one transaction (with one ``publish`` entry).

        Calls are applied in call order: the one write thread takes them first come, first served.
        """
        check_owner_objects(owners)
        rows = [
            (kind, owner.country_code, owner.party_id, object_id, micros, data)
            for owner in owners
            for object_id, micros, data in zip(owner.ids, owner.micros, owner.data, strict=True)
        ]
        if not rows and publish is None:
            return 0
        return await self._write(self._put_objects, rows, publish)

    async def get_object(self, kind: str, key: ObjectKey) -> StoredObject | None:
        """Return one object, or ``None``."""
        sql = (
            "SELECT country_code, party_id, id, last_updated, data FROM objects"
            " WHERE kind = ? AND country_code = ? AND party_id = ? AND id = ?"
        )
        row = self._reader().execute(sql, (kind, key.country_code, key.party_id, key.id)).fetchone()
        return None if row is None else _stored_object(row)

    async def delete_object(self, kind: str, key: ObjectKey, *, publish: tuple[str, bytes] | None = None) -> bool:
        """Delete one object (and append ``publish`` in the same transaction); ``False`` when it did not exist."""
        (deleted,) = await self.write([Remove(kind, key)], publish=publish)
        return deleted

    async def write(
        self,
        ops: Sequence[WriteOp],
        *,
        outbox: Sequence[OutboxMessage] = (),
        publish: tuple[str, bytes] | None = None,
    ) -> list[bool]:
        """Apply puts and deletes, add outbox messages and append ``publish`` in one transaction (see the protocol)."""
        steps: list[tuple[str, tuple[Any, ...]]] = []
        for op in ops:
            if isinstance(op, Put):
                steps.append(("put", _object_row(op.kind, op.obj)))
            else:
                where = (op.kind, op.key.country_code, op.key.party_id, op.key.id)
                steps.append(("remove", where) if isinstance(op, Remove) else ("expect", (*where, op.data)))
        rows = _outbox_rows(outbox)
        if not steps and not rows and publish is None:
            return []
        return await self._write(self._write_steps, steps, rows, publish)

    async def list_objects(
        self,
        kind: str,
        *,
        owner: tuple[str, str] | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> ObjectPage:
        """One page in the stable order; ``total`` and ``items`` come from one consistent snapshot.

        The total and the page's place come from the block counts (module docstring), at any offset.

        Raises:
            ValueError: ``offset`` or ``limit`` is negative, or a date is naive.
        """
        check_page(offset, limit)
        dates = (
            None if date_from is None else to_micros(date_from),
            None if date_to is None else to_micros(date_to),
        )
        select = "SELECT country_code, party_id, id, last_updated, data FROM objects"
        conn = self._reader()
        with _transaction(conn, "BEGIN DEFERRED"):
            total, rows = _page(conn, select, kind, owner, dates, offset, limit)
        return ObjectPage(total=total, items=[_stored_object(row) for row in rows])

    async def count_objects(self, kind: str, *, owner: tuple[str, str] | None = None) -> int:
        """How many objects of a kind (of one owner) are stored: a sum of block counts."""
        return _count(self._reader(), kind, owner)

    # -- short-lived values ----------------------------------------------------------------------
    async def put_expiring(self, namespace: str, key: str, value: bytes, ttl_seconds: float) -> None:
        """Store a value that disappears after ``ttl_seconds``; expired values are purged on the way.

        Less durable than the other writes, on purpose: it commits on a second write connection with
        ``synchronous=NORMAL`` (no fsync per commit; still on the write thread, so it never contends with
        this process's other writes). A value survives a crash of the process but may be lost on a power
        loss shortly after it was written: fine for short-lived values such as authorization references,
        and it keeps an fsync off every ``/api/authorize``.
        """
        expires_at = _now_micros() + round(ttl_seconds * 1_000_000)
        await self._write_alone(self._put_expiring, namespace, key, value, expires_at)

    async def put_expiring_many(
        self, namespace: str, items: Sequence[tuple[str, bytes]], ttl_seconds: float
    ) -> None:
        """Store many expiring values in one transaction (same durability as :meth:`put_expiring`)."""
        if items:
            expires_at = _now_micros() + round(ttl_seconds * 1_000_000)
            await self._write_alone(self._put_expiring_many, namespace, list(items), expires_at)

    async def get_expiring(self, namespace: str, key: str) -> bytes | None:
        """Return a value stored with :meth:`put_expiring` that has not expired, or ``None``."""
        sql = "SELECT value FROM expiring WHERE namespace = ? AND key = ? AND expires_at > ?"
        row = self._reader().execute(sql, (namespace, key, _now_micros())).fetchone()
        return None if row is None else bytes(row[0])

    # -- change log ------------------------------------------------------------------------------
    async def publish(self, topic: str, payload: bytes) -> str:
        """Append an entry to the topic's change log; returns its cursor."""
        return str(await self._write(self._publish, topic, payload))

    async def published_cursor(self, topic: str) -> str:
        """The cursor of the topic's newest entry, or :data:`~gateway.store.base.LOG_START`."""
        conn = self._reader()
        with _transaction(conn, "BEGIN DEFERRED"):
            return str(self._newest(conn, topic))

    async def read_published(
        self, topic: str, after: str, *, block_seconds: float = 0.0, limit: int = 100
    ) -> PublishedBatch:
        """Entries after ``after``, polling every :data:`POLL_INTERVAL_SECONDS` for up to ``block_seconds``.

        Raises:
            ValueError: ``after`` is not a SQLite cursor, or ``limit`` or ``block_seconds`` is out of range.
        """
        check_read(limit, block_seconds)
        seq = _parse_cursor(after)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block_seconds
        while True:
            batch = self._read_now(topic, after, seq, limit)
            remaining = deadline - loop.time()
            if batch.entries or batch.gap or remaining <= 0:
                return batch
            await asyncio.sleep(min(POLL_INTERVAL_SECONDS, remaining))

    def _read_now(self, topic: str, after: str, seq: int, limit: int) -> PublishedBatch:
        """One look at the log: the gap check and the entries come from one snapshot."""
        conn = self._reader()
        with _transaction(conn, "BEGIN DEFERRED"):
            trimmed = conn.execute(_TRIMMED_THROUGH, (topic,)).fetchone()
            if trimmed is not None and seq < trimmed[0]:
                return PublishedBatch(entries=[], cursor=str(self._newest(conn, topic)), gap=True)
            sql = "SELECT seq, payload FROM changes WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?"
            rows = conn.execute(sql, (topic, seq, limit)).fetchall()
        if not rows:
            return PublishedBatch(entries=[], cursor=after)
        entries = [(str(row_seq), bytes(payload)) for row_seq, payload in rows]
        return PublishedBatch(entries=entries, cursor=entries[-1][0])

    @staticmethod
    def _newest(conn: sqlite3.Connection, topic: str) -> int | str:
        """The topic's newest sequence number (or the newest trimmed one, or LOG_START), inside a transaction."""
        (newest,) = conn.execute(_NEWEST_SEQ, (topic,)).fetchone()
        if newest is not None:
            return int(newest)
        trimmed = conn.execute(_TRIMMED_THROUGH, (topic,)).fetchone()
        return LOG_START if trimmed is None else int(trimmed[0])

    # -- outbox ----------------------------------------------------------------------------------
    async def outbox_add(self, messages: Sequence[OutboxMessage]) -> int:
        """Add messages in one transaction, skipping ids already there; returns how many were added."""
        rows = _outbox_rows(messages)
        return await self._write(self._outbox_add, rows) if rows else 0

    async def outbox_claim(self, *, now: datetime, lease_seconds: float, limit: int) -> list[OutboxClaim]:
        """Claim up to ``limit`` due lane heads in one transaction (see the module docstring)."""
        if limit < 1:
            return []
        now_micros = to_micros(now)
        until = now_micros + max(1, round(lease_seconds * 1_000_000))
        token = new_claim_token()
        rows = await self._write(self._outbox_claim, now_micros, until, limit, token)
        return [OutboxClaim(message=_outbox_message(row), token=token) for row in rows]

    async def outbox_ack(self, claim: OutboxClaim) -> bool:
        """Delete the delivered message; ``False`` when it was already gone."""
        return await self._write(self._update, "DELETE FROM outbox WHERE id = ?", (claim.message.id,)) > 0

    async def outbox_release(
        self, claim: OutboxClaim, *, next_attempt: datetime, error: str, dead: bool = False
    ) -> bool:
        """Record the failure and free the lane, if the claim is still this token's."""
        sql = (
            "UPDATE outbox SET state = ?, next_attempt = ?, last_error = ?, claimed_until = 0, claim = NULL"
            " WHERE id = ? AND claim = ?"
        )
        params = ("dead" if dead else "pending", to_micros(next_attempt), error, claim.message.id, claim.token)
        return await self._write(self._update, sql, params) > 0

    async def outbox_get(self, message_id: str) -> OutboxMessage | None:
        """Return one message, or ``None``."""
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id = ?"
        row = self._reader().execute(sql, (message_id,)).fetchone()
        return None if row is None else _outbox_message(row)

    async def outbox_counts(self, *, now: datetime) -> list[OutboxCount]:
        """Pending, in flight and dead per partner, from one query."""
        sql = (
            "SELECT partner_id, sum(state = 'pending' AND claimed_until <= ?1),"
            " sum(state = 'pending' AND claimed_until > ?1), sum(state = 'dead')"
            " FROM outbox GROUP BY partner_id ORDER BY partner_id"
        )
        rows = self._reader().execute(sql, (to_micros(now),)).fetchall()
        return [
            OutboxCount(partner_id=p, pending=waiting, in_flight=flying, dead=dead) for p, waiting, flying, dead in rows
        ]

    async def outbox_dead(self, *, partner_id: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        """Dead messages, oldest added first."""
        where, params = _selection(None, partner_id)
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE {where} ORDER BY seq LIMIT ?"
        return [_outbox_message(row) for row in self._reader().execute(sql, [*params, max(0, limit)]).fetchall()]

    async def outbox_retry(
        self, *, now: datetime, ids: Sequence[str] | None = None, partner_id: str | None = None
    ) -> int:
        """Make the selected messages pending and due at ``now`` with no attempts counted."""
        if ids is not None and not ids:
            return 0
        where, params = _selection(ids, partner_id)
        sql = f"UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = ? WHERE {where}"
        return await self._write(self._update, sql, (to_micros(now), *params))

    async def outbox_drop(self, *, ids: Sequence[str] | None = None, partner_id: str | None = None) -> int:
        """Delete the selected messages."""
        if ids is not None and not ids:
            return 0
        where, params = _selection(ids, partner_id)
        return await self._write(self._update, f"DELETE FROM outbox WHERE {where}", tuple(params))

    async def outbox_next_due(self) -> datetime | None:
        """The earliest ``max(next_attempt, claimed_until)`` of any lane head."""
        sql = (
            "SELECT min(max(o.next_attempt, o.claimed_until)) FROM outbox AS o"
            f" WHERE o.state = 'pending' AND {_OUTBOX_HEAD}"
        )
        (due,) = self._reader().execute(sql).fetchone()
        return None if due is None else from_micros(int(due))

    # -- plumbing --------------------------------------------------------------------------------
    async def _write(self, func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run ``func`` on the write thread, in a group commit with the writes queued beside it, and wait for
        it without blocking the event loop.

        ``func`` must do its writing inside ``_transaction(self._conn())``. If the awaiting task is cancelled,
        the write still completes (or fails) on its thread.
        """
        return await self._queue(functools.partial(func, *args, **kwargs), alone=False)

    async def _write_alone(self, func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Like :meth:`_write`, outside any group: for opening and closing, and the expiring connection."""
        return await self._queue(functools.partial(func, *args, **kwargs), alone=True)

    async def _queue(self, call: Callable[[], _T], *, alone: bool) -> _T:
        if self._writer is None:
            raise RuntimeError(f"{self!r} is not open: call `await store.open()` first")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        with self._pending_lock:
            self._pending.append(_Job(call, loop, future, alone))
            start = not self._draining
            self._draining = True
        if start:
            self._writer.submit(self._drain)
        return await future

    def _drain(self) -> None:
        """On the write thread: run queued writes until none is left, each run of groupable ones in one commit."""
        while True:
            with self._pending_lock:
                if not self._pending:
                    self._draining = False
                    return
                if self._pending[0].alone:
                    jobs = [self._pending.popleft()]
                else:
                    jobs = []
                    while self._pending and not self._pending[0].alone and len(jobs) < GROUP_COMMIT_MAX:
                        jobs.append(self._pending.popleft())
            if len(jobs) == 1:
                jobs[0].run()
            else:
                self._commit_group(jobs)

    def _commit_group(self, jobs: list[_Job[Any]]) -> None:
        """Run several writes in one transaction (each in a savepoint) and one fsync, then answer each.

        A write that fails rolls back its savepoint alone and gets its error; a failed BEGIN or COMMIT fails
        every write of the group (nothing of it was stored).
        """
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except Exception as exc:  # noqa: BLE001 - every write of the group gets it
            for job in jobs:
                job.answer(None, exc)
            return
        outcomes = [job.attempt() for job in jobs]
        self.grouped_writes += len(jobs)
        try:
            conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - every write of the group gets it
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            outcomes = [(None, exc)] * len(jobs)
        for job, (result, error) in zip(jobs, outcomes, strict=True):
            job.answer(result, error)

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection, opened on first use (connections never cross threads)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._writer is None:
                raise RuntimeError(f"{self!r} is not open: call `await store.open()` first")
            conn = _connect(self.path, read_only=True)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        """The write connection; only ever called on the write thread."""
        if self._write_conn is None:
            raise RuntimeError(f"{self!r} is not open")
        return self._write_conn

    def _open_writer(self) -> None:
        conn = _connect(self.path, read_only=False)
        try:
            with _transaction(conn):
                self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._write_conn = conn
        self._expiring_conn = _connect(self.path, read_only=False, synchronous="NORMAL")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the schema to :data:`SCHEMA_VERSION`, inside the caller's transaction."""
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        current = row[0] or 0
        if current > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} has schema version {current}, newer than this gateway's {SCHEMA_VERSION}: upgrade it"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def _close_writer(self) -> None:
        if self._expiring_conn is not None:
            self._expiring_conn.close()
            self._expiring_conn = None
        if self._write_conn is not None:
            self._write_conn.close()
            self._write_conn = None

    def _add_partner(self, partner: Partner) -> None:
        conn = self._conn()
        with _transaction(conn):
            if conn.execute("SELECT 1 FROM partners WHERE id = ?", (partner.id,)).fetchone():
                raise ValueError(f"Partner `{partner.id}` already exists")
            self._check_token_free(conn, partner)
            conn.execute(
                "INSERT INTO partners (id, token_digest, created, data) VALUES (?, ?, ?, ?)",
                (partner.id, token_digest(partner.token_in), to_micros(partner.created), encode_partner(partner)),
            )

    def _save_partner(self, partner: Partner) -> None:
        conn = self._conn()
        with _transaction(conn):
            if not conn.execute("SELECT 1 FROM partners WHERE id = ?", (partner.id,)).fetchone():
                raise KeyError(partner.id)
            self._check_token_free(conn, partner)
            conn.execute(
                "UPDATE partners SET token_digest = ?, created = ?, data = ? WHERE id = ?",
                (token_digest(partner.token_in), to_micros(partner.created), encode_partner(partner), partner.id),
            )

    @staticmethod
    def _check_token_free(conn: sqlite3.Connection, partner: Partner) -> None:
        sql = "SELECT 1 FROM partners WHERE token_digest = ? AND id != ?"
        if conn.execute(sql, (token_digest(partner.token_in), partner.id)).fetchone():
            raise ValueError(f"The token_in of partner `{partner.id}` is already used by another partner")

    def _update(self, sql: str, params: tuple[Any, ...]) -> int:
        conn = self._conn()
        with _transaction(conn):
            return int(conn.execute(sql, params).rowcount)

    def _outbox_add(self, rows: list[tuple[Any, ...]]) -> int:
        conn = self._conn()
        with _transaction(conn):
            return int(conn.executemany(_OUTBOX_INSERT, rows).rowcount)

    def _write_steps(
        self, steps: list[tuple[str, tuple[Any, ...]]], rows: list[tuple[Any, ...]], publish: tuple[str, bytes] | None
    ) -> list[bool]:
        conn = self._conn()
        done = []
        with _transaction(conn):
            for step, params in steps:
                if step == "put":
                    created = conn.execute(_UPSERT_NEW, params).rowcount > 0
                    if not created:
                        conn.execute(_UPDATE_EXISTING, params)
                    done.append(created)
                elif step == "remove":
                    done.append(conn.execute(_DELETE_OBJECT, params).rowcount > 0)
                else:  # BEGIN IMMEDIATE holds the write lock: nobody changes the row before the commit
                    row = conn.execute(_SELECT_DATA, params[:4]).fetchone()
                    if (None if row is None else bytes(row[0])) != params[4]:
                        raise WriteConflict(f"{params[0]} {'/'.join(params[1:4])} changed since it was read")
                    done.append(True)
            if rows:
                conn.executemany(_OUTBOX_INSERT, rows)
            if publish is not None:
                self._append(conn, *publish)
        return done

    def _outbox_claim(self, now: int, until: int, limit: int, token: str) -> list[_OutboxRow]:
        conn = self._conn()
        with _transaction(conn):
            seqs = [seq for (seq,) in conn.execute(_OUTBOX_DUE, (now, limit)).fetchall()]
            if not seqs:
                return []
            marks = ", ".join("?" * len(seqs))
            conn.execute(
                f"UPDATE outbox SET attempts = attempts + 1, claimed_until = ?, claim = ? WHERE seq IN ({marks})",
                (until, token, *seqs),
            )
            sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE seq IN ({marks}) ORDER BY next_attempt, seq"
            return list(conn.execute(sql, seqs).fetchall())

    def _publish(self, topic: str, payload: bytes) -> int:
        conn = self._conn()
        with _transaction(conn):
            return self._append(conn, topic, payload)

    def _append(self, conn: sqlite3.Connection, topic: str, payload: bytes) -> int:
        """Append an entry inside the caller's transaction, trimming the topic now and then; returns its seq."""
        sql = "INSERT INTO changes (topic, payload, created) VALUES (?, ?, ?)"
        seq = conn.execute(sql, (topic, bytes(payload), _now_micros())).lastrowid
        assert seq is not None  # an INSERT into a rowid table always sets it
        appends = self._appends.get(topic, self.trim_every - 1) + 1
        if appends >= self.trim_every:
            self._trim(conn, topic)
            appends = 0
        self._appends[topic] = appends
        return seq

    def _trim(self, conn: sqlite3.Connection, topic: str) -> None:
        """Delete the topic's entries older than the newest ``publish_max_len`` and record how far it went."""
        sql = "SELECT seq FROM changes WHERE topic = ? ORDER BY seq DESC LIMIT 1 OFFSET ?"
        row = conn.execute(sql, (topic, self.publish_max_len)).fetchone()
        if row is None:
            return
        (through,) = row
        conn.execute("DELETE FROM changes WHERE topic = ? AND seq <= ?", (topic, through))
        conn.execute(
            "INSERT INTO change_trims (topic, through) VALUES (?, ?)"
            " ON CONFLICT (topic) DO UPDATE SET through = max(through, excluded.through)",
            (topic, through),
        )

    def _put_objects(
        self, rows: list[tuple[str, str, str, str, int, bytes]], publish: tuple[str, bytes] | None = None
    ) -> int:
        """Insert the new rows, then update the others if any existed; returns how many were new.

        A key repeated in ``rows`` counts once, and its last occurrence wins.
        """
        conn = self._conn()
        with _transaction(conn):
            created = conn.executemany(_UPSERT_NEW, rows).rowcount if rows else 0
            if created < len(rows):
                conn.executemany(_UPDATE_EXISTING, rows)
            if publish is not None:
                self._append(conn, *publish)
        return created

    def _put_expiring_many(self, namespace: str, items: list[tuple[str, bytes]], expires_at: int) -> None:
        conn = self._expiring_conn
        if conn is None:
            raise RuntimeError(f"{self!r} is not open")
        with _transaction(conn):
            conn.execute("DELETE FROM expiring WHERE expires_at <= ?", (_now_micros(),))
            conn.executemany(
                "INSERT OR REPLACE INTO expiring (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)",
                [(namespace, key, value, expires_at) for key, value in items],
            )

    def _put_expiring(self, namespace: str, key: str, value: bytes, expires_at: int) -> None:
        conn = self._expiring_conn
        if conn is None:
            raise RuntimeError(f"{self!r} is not open")
        with _transaction(conn):
            conn.execute("DELETE FROM expiring WHERE expires_at <= ?", (_now_micros(),))
            conn.execute(
                "INSERT OR REPLACE INTO expiring (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)",
                (namespace, key, value, expires_at),
            )
