"""The Redis store, for many workers and hosts sharing one data set (Redis 7.x or Valkey).

Key layout (``P`` is the prefix, ``ocpi`` by default; ``{...}`` is the Redis Cluster hash tag):

- ``P:{CC*PID}:obj:KIND:ID``: one object, a string of 8 bytes of ``last_updated`` (signed big-endian
  microseconds since the epoch, UTC) followed by the object's JSON;
- ``P:{CC*PID}:idx:KIND``: sorted set of one owner's objects, score ``last_updated`` in microseconds,
  member the id (UTF-8). Same-score members sort by bytes, which gives the id order;
- ``P:{all:KIND}:idx``: sorted set of a kind's objects of every owner (its own slot), member the owner and
  id encoded so that byte order is the (country code, party id, id) order (see :func:`_global_member`);
- ``P:{partners}:partner:ID``: a partner record as JSON; ``P:{partners}:token:HEX``: the partner id under
  the SHA-256 of its ``token_in``; ``P:{partners}:order``: partner ids by creation time. All in one slot so
  that a partner and its token index change in one transaction;
- ``P:{exp:NAMESPACE}:KEY``: a value with an expiry (``SET ... PX``), deleted by Redis itself. One slot per
  namespace, so that a batch of them is one script call (:meth:`RedisStore.put_expiring_many`);
- ``P:{chg:TOPIC}:log``: a topic's change log, a stream whose entries hold the payload in field ``p``;
  the entry id is the cursor. ``XADD ... MAXLEN ~ publish_max_len`` trims it in whole stream nodes;
- ``P:{outbox}:...``: the push outbox, all in one slot and changed only by Lua scripts (atomic), laid out
  as :mod:`gateway.store._outbox_redis` describes. Leases are judged by the ``now`` the caller passes, so
  the hosts sharing one server need synchronised clocks (NTP); a skew well below the lease is harmless.

Scores are exact: microsecond timestamps stay below 2**53 (see :data:`gateway.store._codec.MAX_MICROS`),
so a double holds them without rounding. Lists find the rank of ``date_from`` with ``ZCOUNT`` and take the
page with a rank-based ``ZRANGE``, both O(log N), in one server-side script, so deep pages stay fast.

Writes of objects with their two index entries go through one flagged Lua script (``WRITE``, with
:meth:`RedisStore.write`'s compare-and-set checks, the change log's ``XADD`` and the outbox messages):
atomic, one reply, and refused whole when the server is out of memory. Puts of many objects
(:meth:`RedisStore.put_objects`, :meth:`RedisStore.put_owner_objects`) go as ``MULTI``/``EXEC``, a command
per owner rather than per object. That works on a single Redis server (and on Valkey); in a Redis Cluster
the global index and the streams live in other slots, so a cluster deployment would need those writes
split, which this backend does not do yet. Everything is checked before the script or transaction is sent,
because Redis does not roll back a command that fails at run time.

Change log reads: an entry was trimmed away after a cursor when the stream has lost entries
(``entries-added`` > ``length`` in ``XINFO STREAM``, Redis 7) and the cursor is older than the first kept
entry. Redis does not say which id was trimmed last, so a reader exactly at the last trimmed entry gets a
gap it did not strictly have (it reloads once; it never misses an entry). The gap check and the entries come
from one ``MULTI``/``EXEC``. Reads go through a second client with its own connection pool, so a reader
waiting in ``XREAD BLOCK`` never holds a connection the store's other commands need. That client has no
socket timeout (redis-py's default of 5 s would cut a longer ``BLOCK`` short, and its ``asyncio.wait_for``
on sends can swallow a cancellation on Python 3.11); instead each read as a whole is bounded by
``block_seconds + READ_GRACE_SECONDS``.

Durability: a write is acknowledged when the server has applied it, and it is exactly as durable as the
server's persistence setting. Run Redis with ``appendonly yes`` and ``appendfsync always`` for an fsync
before every acknowledgement, or ``appendfsync everysec`` to risk at most about one second of writes on a
power loss. With persistence off, a restart loses everything.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.store import _outbox_redis as outbox_lua
from gateway.store import _resp as resp
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
from gateway.store.base import (
    LANE_SEPARATOR,
    LOG_START,
    PUBLISH_MAX_LEN,
    Expect,
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
    from collections.abc import Awaitable, Callable, Sequence
    from datetime import datetime

    from redis.asyncio.client import Pipeline

    from gateway.store.base import OwnerObjects, WriteOp

__all__ = ("RedisStore",)

PUT_CHUNK = 1000
"""Objects per ``MULTI``/``EXEC`` in :meth:`RedisStore.put_objects`: big enough to amortise round trips,
small enough not to stall the server for long."""

READ_GRACE_SECONDS = 5.0
"""How much longer than its ``block_seconds`` a change log read may take before the server counts as
unresponsive."""

WATCH_RETRIES = 100
"""How often an optimistic partner transaction is retried when another client changed a watched key."""

_PAYLOAD = b"p"
"""The stream field that holds a change log entry's payload."""
_MAX_ID_PART = 2**64 - 1
_TIME = struct.Struct(">q")
_SEPARATOR = b"\x00\x01"
_ESCAPED_NUL = b"\x00\xff"

# One page of an index, atomically: KEYS[1] the sorted set; ARGV: min score, max score, exclusive upper
# bound of the scores below the range ("" when the range starts at -inf), offset, limit.
# Returns {total, member...}.
_PAGE_SCRIPT = """
local total = redis.call('ZCOUNT', KEYS[1], ARGV[1], ARGV[2])
local offset = tonumber(ARGV[4])
local count = math.min(tonumber(ARGV[5]), total - offset)
if count <= 0 then return {total} end
local below = 0
if ARGV[3] ~= '' then below = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[3]) end
local start = below + offset
local page = redis.call('ZRANGE', KEYS[1], start, start + count - 1)
table.insert(page, 1, total)
return page
"""

# Many expiring values in one call (one slot): KEYS the keys; ARGV[1] milliseconds to live, ARGV[i + 1] the
# value of KEYS[i]. Returns how many were set. One reply instead of one per value: redis-py spends several
# microseconds on each reply of a pipeline, more than the server spends on the SET.
_SET_EXPIRING_SCRIPT = """
local ms = ARGV[1]
for i = 1, #KEYS do
    redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ms)
end
return #KEYS
"""

_PARTNERS_SCRIPT = """#!lua flags=no-writes
-- Every partner record in the order set's order, in one round trip (the order set, then MGETs of at most
-- 1,000 records; the records share the order set's hash tag, so one slot). Missing records come back nil.
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local records = {}
for first = 1, #ids, 1000 do
    local keys = {}
    for i = first, math.min(first + 999, #ids) do
        keys[#keys + 1] = ARGV[1] .. ids[i]
    end
    local values = redis.call('MGET', unpack(keys))
    for i = 1, #keys do
        records[#records + 1] = values[i]
    end
end
return records
"""

_SET_EXPIRING_CHUNK = 1000
"""Values per script call of :meth:`RedisStore.put_expiring_many` (bounds the size of one command)."""


def _escape(part: str) -> bytes:
    return part.encode().replace(b"\x00", _ESCAPED_NUL)


def _global_member(key: ObjectKey) -> bytes:
    """Encode an object's owner and id so that byte order equals (country code, party id, id) order.

    The parts are joined by ``00 01`` after each ``00`` inside a part became ``00 ff``: a shorter part then
    sorts before any longer part it is a prefix of, just like tuples of strings compare.
    """
    return _SEPARATOR.join((_escape(key.country_code), _escape(key.party_id), _escape(key.id)))


def _escape_bytes(part: bytes) -> bytes:
    return part.replace(b"\x00", _ESCAPED_NUL)


def _parse_global_member(member: bytes) -> ObjectKey:
    country_code, party_id, object_id = (
        part.replace(_ESCAPED_NUL, b"\x00").decode() for part in member.split(_SEPARATOR)
    )
    return ObjectKey(country_code, party_id, object_id)


def _check_name(value: str, forbidden: str, what: str) -> None:
    if any(char in value for char in forbidden):
        raise ValueError(f"{what} {value!r} must not contain any of {forbidden!r}")


def _encode_value(obj: StoredObject) -> tuple[int, bytes]:
    micros = to_micros(obj.last_updated)
    return micros, _TIME.pack(micros) + obj.data


def _decode_value(key: ObjectKey, value: bytes) -> StoredObject:
    (micros,) = _TIME.unpack_from(value)
    return StoredObject(key=key, last_updated=from_micros(micros), data=value[_TIME.size :])


def _parse_stream_id(cursor: str) -> tuple[int, int]:
    """The (milliseconds, sequence) of a stream id cursor (``MS-SEQ``, or ``MS`` for ``MS-0``).

    Raises:
        ValueError: ``cursor`` is not a stream id.
    """
    parts = cursor.split("-")
    if len(parts) > 2 or not all(part.isascii() and part.isdecimal() for part in parts):
        raise ValueError(f"Invalid change log cursor {cursor!r}")
    numbers = [int(part) for part in parts]
    if max(numbers) > _MAX_ID_PART:
        raise ValueError(f"Invalid change log cursor {cursor!r}")
    return numbers[0], numbers[1] if len(numbers) == 2 else 0


def _text(value: bytes | str) -> str:
    """A reply as text (the client returns bytes; redis-py's types also allow str)."""
    return value.decode() if isinstance(value, bytes) else value


def _trimmed_after(info: dict[str, Any], after: tuple[int, int]) -> bool:
    """Whether entries after ``after`` were trimmed away, from ``XINFO STREAM``'s reply."""
    length = int(info["length"])
    if int(info["entries-added"]) <= length:
        return False  # nothing was ever trimmed
    edge = info["first-entry"][0] if length else info["last-generated-id"]
    return after < _parse_stream_id(_text(edge))


_OWNER_TAGS_MAX = 10_000
"""Owner key prefixes remembered by :meth:`RedisStore._owner_tag` before it starts over."""


def _outbox_message(message_id: str, fields: list[Any]) -> OutboxMessage:
    """A message from its hash fields ``m``, ``state``, ``attempts``, ``next``, ``err``."""
    data, state, attempts, next_micros, error = fields
    return decode_message(
        bytes(data),
        state="dead" if state == b"dead" else "pending",
        attempts=int(attempts),
        next_attempt_micros=int(next_micros),
        last_error=error.decode() if error else None,
    )


_Encoded = tuple[tuple[str, str], str, str, int, bytes, bytes]
"""An object ready to write: owner, its key, its id, ``last_updated`` micros, value and global index member."""


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class RedisStore:
    """The :class:`~gateway.store.base.Store` on a Redis server, through redis-py's asyncio client."""

    def __init__(self, url: str, *, prefix: str = "ocpi", publish_max_len: int = PUBLISH_MAX_LEN) -> None:
        """Prepare a store on the server ``url`` names; nothing connects until :meth:`open`.

        Args:
            url: The server, as ``redis://HOST:PORT/DB``, ``rediss://...`` or ``unix://PATH?db=N``.
            prefix: The first part of every key.
            publish_max_len: How many entries each topic's change log keeps, approximately.

        Raises:
            ValueError: ``publish_max_len`` is below one.
        """
        check_max_len(publish_max_len)
        self.url = url
        self.prefix = prefix
        self.publish_max_len = publish_max_len
        self._client: aioredis.Redis | None = None
        self._log_client: aioredis.Redis | None = None
        self._page: Any = None
        self._set_expiring: Any = None
        self._owner_tags: dict[tuple[str, str], str] = {}

        self._outbox_scripts: dict[str, Any] = {}
        self._bulk: resp.BulkLine | None = None

    @classmethod
    def from_url(cls, url: str, *, publish_max_len: int = PUBLISH_MAX_LEN) -> RedisStore:
        """Build a store from ``redis://HOST:PORT/DB``, ``rediss://...`` or ``unix://PATH?db=N``."""
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"Redis store URL must look like redis://HOST:PORT/DB, got {url!r}")
        return cls(url, publish_max_len=publish_max_len)

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r})"

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect and check that the server answers. Idempotent."""
        if self._client is not None:
            return
        client = aioredis.Redis.from_url(self.url, decode_responses=False)
        try:
            await client.ping()
        except BaseException:
            await client.aclose()
            raise
        self._client = client
        self._page = client.register_script(_PAGE_SCRIPT)
        self._set_expiring = client.register_script(_SET_EXPIRING_SCRIPT)
        self._partners = client.register_script(_PARTNERS_SCRIPT)
        self._outbox_scripts = {name: client.register_script(getattr(outbox_lua, name)) for name in outbox_lua.__all__}
        self._bulk = resp.BulkLine(client.connection_pool)
        # Only change log reads use this one (see the module docstring); it connects on first use.
        self._log_client = aioredis.Redis.from_url(self.url, decode_responses=False, socket_timeout=None)

    async def close(self) -> None:
        """Close the connection pools. The store can be opened again."""
        client, self._client, self._page = self._client, None, None
        log_client, self._log_client = self._log_client, None
        bulk_line, self._bulk = self._bulk, None
        try:
            if bulk_line is not None:
                await bulk_line.close()
            if client is not None:
                await client.aclose()
        finally:
            if log_client is not None:
                await log_client.aclose()

    # -- keys ------------------------------------------------------------------------------------
    def _owner_tag(self, country_code: str, party_id: str) -> str:
        # Memoised: a bulk write names the same few owners for every object it checks and keys.
        tag = self._owner_tags.get((country_code, party_id))
        if tag is None:
            _check_name(country_code, "*{}", "Country code")
            _check_name(party_id, "*{}", "Party id")
            tag = f"{self.prefix}:{{{country_code}*{party_id}}}"
            if len(self._owner_tags) >= _OWNER_TAGS_MAX:
                self._owner_tags.clear()
            self._owner_tags[(country_code, party_id)] = tag
        return tag

    def _object_key(self, kind: str, key: ObjectKey) -> str:
        return f"{self._owner_tag(key.country_code, key.party_id)}:obj:{kind}:{key.id}"

    def _owner_index(self, kind: str, country_code: str, party_id: str) -> str:
        return f"{self._owner_tag(country_code, party_id)}:idx:{kind}"

    def _global_index(self, kind: str) -> str:
        _check_name(kind, ":{}", "Kind")
        return f"{self.prefix}:{{all:{kind}}}:idx"

    def _partner_key(self, partner_id: str) -> str:
        return f"{self.prefix}:{{partners}}:partner:{partner_id}"

    def _token_key(self, token: str) -> str:
        return f"{self.prefix}:{{partners}}:token:{token_digest(token).hex()}"

    def _partner_order(self) -> str:
        return f"{self.prefix}:{{partners}}:order"

    def _log_key(self, topic: str) -> str:
        _check_name(topic, "{}", "Topic")
        return f"{self.prefix}:{{chg:{topic}}}:log"

    def _expiring_key(self, namespace: str, key: str) -> str:
        return self._expiring_tag(namespace) + key

    def _expiring_tag(self, namespace: str) -> str:
        _check_name(namespace, ":{}", "Namespace")
        return f"{self.prefix}:{{exp:{namespace}}}:"

    @property
    def _bulk_line(self) -> resp.BulkLine:
        if self._bulk is None:
            raise RuntimeError(f"{self!r} is not open: call `await store.open()` first")
        return self._bulk

    @property
    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError(f"{self!r} is not open: call `await store.open()` first")
        return self._client

    # -- partners --------------------------------------------------------------------------------
    async def add_partner(self, partner: Partner) -> None:
        """Store a new partner and index its token in one transaction.

        Raises:
            ValueError: The id or the ``token_in`` is already used.
        """
        partner_key, token_key = self._partner_key(partner.id), self._token_key(partner.token_in)

        async def write(pipe: Pipeline) -> bool:
            if await pipe.exists(partner_key):
                raise ValueError(f"Partner `{partner.id}` already exists")
            if await pipe.exists(token_key):
                raise ValueError(f"The token_in of partner `{partner.id}` is already used by another partner")
            pipe.multi()
            self._queue_partner(pipe, partner)
            return True

        await self._watched((partner_key, token_key), write)

    async def save_partner(self, partner: Partner) -> None:
        """Replace a stored partner and move its token index entry, in one transaction.

        Raises:
            KeyError: No partner has this id.
            ValueError: The new ``token_in`` belongs to another partner.
        """
        partner_key, token_key = self._partner_key(partner.id), self._token_key(partner.token_in)

        async def write(pipe: Pipeline) -> bool:
            old_data = await pipe.get(partner_key)
            if old_data is None:
                raise KeyError(partner.id)
            holder = await pipe.get(token_key)
            if holder is not None and holder.decode() != partner.id:
                raise ValueError(f"The token_in of partner `{partner.id}` is already used by another partner")
            old_token_key = self._token_key(decode_partner(old_data).token_in)
            pipe.multi()
            if old_token_key != token_key:
                pipe.delete(old_token_key)
            self._queue_partner(pipe, partner)
            return True

        await self._watched((partner_key, token_key), write)

    async def get_partner(self, partner_id: str) -> Partner | None:
        """Return the partner with this id, or ``None``."""
        data = await self._redis.get(self._partner_key(partner_id))
        return None if data is None else decode_partner(data)

    async def find_partner_by_token(self, token: str) -> Partner | None:
        """Return the partner whose ``token_in`` equals ``token`` (compared in constant time), or ``None``."""
        partner_id = await self._redis.get(self._token_key(token))
        if partner_id is None:
            return None
        partner = await self.get_partner(partner_id.decode())
        return partner if partner is not None and token_matches(partner, token) else None

    async def list_partners(self) -> list[Partner]:
        """Every partner, oldest first (ties by id)."""
        records = await self._partners(keys=[self._partner_order()], args=[self._partner_key("")])
        return [decode_partner(data) for data in records if data]

    async def remove_partner(self, partner_id: str) -> bool:
        """Delete a partner record and its token index entry; ``False`` when it did not exist."""
        partner_key = self._partner_key(partner_id)
        removed = False

        async def write(pipe: Pipeline) -> bool:
            nonlocal removed
            data = await pipe.get(partner_key)
            removed = data is not None
            if data is None:
                return False
            pipe.multi()
            pipe.delete(partner_key, self._token_key(decode_partner(data).token_in))
            pipe.zrem(self._partner_order(), partner_id)
            return True

        await self._watched((partner_key,), write)
        return removed

    def _queue_partner(self, pipe: Pipeline, partner: Partner) -> None:
        pipe.set(self._partner_key(partner.id), encode_partner(partner))
        pipe.set(self._token_key(partner.token_in), partner.id)
        pipe.zadd(self._partner_order(), {partner.id: to_micros(partner.created)})

    async def _watched(self, keys: Sequence[str], write: Callable[[Pipeline], Awaitable[bool]]) -> None:
        """Run an optimistic transaction: ``write`` reads under WATCH, calls ``multi()`` and queues writes.

        ``write`` returns ``False`` when there is nothing to write. It runs again when another client
        changed a watched key before ``EXEC``.
        """
        for _ in range(WATCH_RETRIES):
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.watch(*keys)
                if not await write(pipe):
                    return
                try:
                    await pipe.execute()
                except WatchError:
                    continue
                return
        raise RuntimeError(f"Partner keys {list(keys)} kept changing during {WATCH_RETRIES} attempts")

    # -- OCPI objects ----------------------------------------------------------------------------
    async def put_object(self, kind: str, obj: StoredObject, *, publish: tuple[str, bytes] | None = None) -> bool:
        """Create or replace one object with its index entries (and ``publish``); ``True`` when it was created."""
        return await self.put_objects(kind, [obj], publish=publish) == 1

    async def put_objects(
        self, kind: str, objects: Sequence[StoredObject], *, publish: tuple[str, bytes] | None = None
    ) -> int:
        """Create or replace many objects; returns how many were new.

        A key repeated in ``objects`` counts once, and its last occurrence wins. Every object is checked
        before anything is written. Without ``publish`` the objects go ``PUT_CHUNK`` per transaction, and a
        failure part-way (a lost connection) leaves the earlier chunks stored, each one complete with its
        index entries. With ``publish`` the whole call is one transaction ending with the entry, so that
        no object is stored unannounced: keep such batches moderate.
        """
        latest = {obj.key: obj for obj in objects}
        if len(latest) == 1:  # a PUT of one object: the write script, one reply (a pipeline reads six)
            return sum(await self.write([Put(kind, obj) for obj in latest.values()], publish=publish))
        encoded = [self._encode(kind, obj) for obj in latest.values()]
        if publish is not None:
            return await self._put_chunk(kind, encoded, publish)
        created = 0
        for chunk in _chunks(encoded, PUT_CHUNK):
            created += await self._put_chunk(kind, chunk)
        return created

    def _encode(self, kind: str, obj: StoredObject) -> _Encoded:
        """Check an object and turn it into what a write needs (raises ``ValueError`` on bad input)."""
        micros, value = _encode_value(obj)
        owner = (obj.key.country_code, obj.key.party_id)
        return owner, self._object_key(kind, obj.key), obj.key.id, micros, value, _global_member(obj.key)

    async def _put_chunk(self, kind: str, chunk: list[_Encoded], publish: tuple[str, bytes] | None = None) -> int:
        values: dict[tuple[str, str], dict[str, bytes]] = defaultdict(dict)
        scores: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        everyone: dict[bytes, int] = {}
        for owner, object_key, object_id, micros, value, member in chunk:
            values[owner][object_key] = value
            scores[owner][object_id] = micros
            everyone[member] = micros
        async with self._redis.pipeline(transaction=True) as pipe:
            for owner, owner_values in values.items():
                pipe.mset(owner_values)
                pipe.zadd(self._owner_index(kind, *owner), scores[owner])
            if everyone:
                pipe.zadd(self._global_index(kind), everyone)
            if publish is not None:
                self._queue_publish(pipe, *publish)
            replies = await pipe.execute()
        return sum(replies[1 : 2 * len(values) : 2])  # the owners' ZADD replies: members that were new

    async def put_owner_objects(
        self, kind: str, owners: Sequence[OwnerObjects], *, publish: tuple[str, bytes] | None = None
    ) -> int:
        """The same keys and index entries as :meth:`put_objects`, in one ``MULTI``/``EXEC``, for bulk imports.

        The commands are written in the Redis protocol here, a list operation per column rather than a
        redis-py call per argument, and pipelined on one connection (:class:`gateway.store._resp.BulkLine`):
        calls made while earlier ones are still waiting for the server are applied in call order.
        """
        check_owner_objects(owners)
        owners = [owner for owner in owners if owner.ids]
        if not owners and publish is None:
            return 0
        commands = [resp.MULTI]
        everyone: list[bytes] = []
        for owner in owners:
            count, ids = len(owner.ids), list(map(str.encode, owner.ids))
            scores = list(map(b"%d".__mod__, owner.micros))
            times = list(map(_TIME.pack, owner.micros))  # each value is 8 bytes of time, then the JSON
            tag = self._owner_tag(owner.country_code, owner.party_id)
            keys = (f"{tag}:obj:{kind}:".encode(), ids)
            commands.append(resp.head(b"MSET", 2 * count) + resp.rows(count, keys, (times, owner.data)))
            index = resp.bulk(f"{tag}:idx:{kind}".encode())
            commands.append(resp.head(b"ZADD", 1 + 2 * count) + index + resp.rows(count, (scores,), (ids,)))
            owner_member = _global_member(ObjectKey(owner.country_code, owner.party_id, ""))
            everyone.append(resp.rows(count, (scores,), (owner_member, list(map(_escape_bytes, ids)))))
        if everyone:
            total = sum(len(owner.ids) for owner in owners)
            index = resp.bulk(self._global_index(kind).encode())
            commands.append(b"".join([resp.head(b"ZADD", 1 + 2 * total), index, *everyone]))
        if publish is not None:
            commands.append(self._resp_publish(*publish))
        commands.append(resp.EXEC)
        replies = await self._bulk_line.transaction(commands)
        return sum(replies[1 : 2 * len(owners) : 2])  # the owners' ZADD replies: members that were new

    def _resp_publish(self, topic: str, payload: bytes) -> bytes:
        trim = (b"MAXLEN", b"~", b"%d" % self.publish_max_len)
        return resp.command(b"XADD", self._log_key(topic).encode(), *trim, b"*", _PAYLOAD, payload)

    async def get_object(self, kind: str, key: ObjectKey) -> StoredObject | None:
        """Return one object, or ``None``."""
        value = await self._redis.get(self._object_key(kind, key))
        return None if value is None else _decode_value(key, value)

    async def delete_object(self, kind: str, key: ObjectKey, *, publish: tuple[str, bytes] | None = None) -> bool:
        """Delete one object with its index entries (and append ``publish``); ``False`` when it did not exist."""
        (deleted,) = await self.write([Remove(kind, key)], publish=publish)
        return deleted

    async def write(
        self,
        ops: Sequence[WriteOp],
        *,
        outbox: Sequence[OutboxMessage] = (),
        publish: tuple[str, bytes] | None = None,
    ) -> list[bool]:
        """Apply puts and deletes, add outbox messages and append ``publish`` in one script call.

        The script checks each :class:`Expect` against the stored object first and writes nothing when one
        fails (then this raises :class:`WriteConflict`), so a compare-and-set costs no ``WATCH`` round trips.
        Every object and message is checked here before anything is sent.
        """
        args: list[Any] = []
        expects = changes = 0
        for op in ops:
            if isinstance(op, Expect):
                args += [self._object_key(op.kind, op.key), 0 if op.data is None else 1, op.data or b""]
                expects += 1
        places: list[int | None] = []  # per op, the flag that reports it (None: an Expect, which held)
        for op in ops:
            if isinstance(op, Put):
                owner, object_key, object_id, micros, value, member = self._encode(op.kind, op.obj)
                args += [b"P", object_key, self._owner_index(op.kind, *owner), self._global_index(op.kind), value,
                         micros, object_id, member]  # fmt: skip
            elif isinstance(op, Remove):
                key = op.key
                args += [b"R", self._object_key(op.kind, key), self._owner_index(op.kind, key.country_code,
                         key.party_id), self._global_index(op.kind), key.id, _global_member(key)]  # fmt: skip
            else:
                places.append(None)
                continue
            changes += 1
            places.append(changes)
        if publish is not None:
            topic, payload = publish
            args += [self._log_key(topic), self.publish_max_len, _PAYLOAD, payload]
        messages = self._outbox_args(outbox)
        if not changes and not messages and publish is None and not expects:
            return [True] * len(places)
        reply = await self._outbox_run("WRITE", expects, changes, 0 if publish is None else 1, *args, *messages)
        if int(reply[0]) == 0:
            op = [op for op in ops if isinstance(op, Expect)][int(reply[1]) - 1]
            raise WriteConflict(f"{op.kind} {op.key.country_code}/{op.key.party_id}/{op.key.id} changed")
        return [True if place is None else bool(int(reply[place])) for place in places]

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
        """One page in the stable order, found by rank in the owner's or the kind's sorted set.

        ``total`` and the page's keys come from one atomic script. An object deleted between that and
        the fetch of its value is left out of the page.

        Raises:
            ValueError: ``offset`` or ``limit`` is negative, or a date is naive.
        """
        check_page(offset, limit)
        index = self._global_index(kind) if owner is None else self._owner_index(kind, *owner)
        low = "-inf" if date_from is None else str(to_micros(date_from))
        high = "+inf" if date_to is None else f"({to_micros(date_to)}"
        below = "" if date_from is None else f"({to_micros(date_from)}"
        reply = await self._page(keys=[index], args=[low, high, below, offset, limit])
        total, members = int(reply[0]), reply[1:]
        if owner is None:
            keys = [_parse_global_member(member) for member in members]
        else:
            keys = [ObjectKey(owner[0], owner[1], member.decode()) for member in members]
        return ObjectPage(total=total, items=await self._fetch(kind, keys))

    async def _fetch(self, kind: str, keys: list[ObjectKey]) -> list[StoredObject]:
        """The objects under ``keys``, in that order, skipping any that vanished meanwhile."""
        if not keys:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(self._object_key(kind, key))
            values = await pipe.execute()
        return [_decode_value(key, value) for key, value in zip(keys, values, strict=True) if value is not None]

    async def count_objects(self, kind: str, *, owner: tuple[str, str] | None = None) -> int:
        """How many objects of a kind (of one owner) are stored."""
        index = self._global_index(kind) if owner is None else self._owner_index(kind, *owner)
        return int(await self._redis.zcard(index))

    # -- short-lived values ----------------------------------------------------------------------
    async def put_expiring(self, namespace: str, key: str, value: bytes, ttl_seconds: float) -> None:
        """Store a value that Redis deletes after ``ttl_seconds`` (rounded up to a millisecond)."""
        redis_key = self._expiring_key(namespace, key)
        if ttl_seconds <= 0:
            await self._redis.delete(redis_key)
            return
        # The raw command: redis-py's ``set()`` spends more on its keyword handling than on the round trip.
        await self._redis.execute_command("SET", redis_key, value, "PX", max(1, math.ceil(ttl_seconds * 1000)))

    async def put_expiring_many(self, namespace: str, items: Sequence[tuple[str, bytes]], ttl_seconds: float) -> None:
        """Store many expiring values with one script call (per 1,000), so one round trip and one reply."""
        tag = self._expiring_tag(namespace)
        milliseconds = max(1, math.ceil(ttl_seconds * 1000))
        for start in range(0, len(items), _SET_EXPIRING_CHUNK):
            chunk = items[start : start + _SET_EXPIRING_CHUNK]
            await self._set_expiring(keys=[tag + key for key, _ in chunk], args=[milliseconds, *(v for _, v in chunk)])

    async def get_expiring(self, namespace: str, key: str) -> bytes | None:
        """Return a value stored with :meth:`put_expiring` that has not expired, or ``None``."""
        value: bytes | None = await self._redis.get(self._expiring_key(namespace, key))
        return value

    # -- change log ------------------------------------------------------------------------------
    async def publish(self, topic: str, payload: bytes) -> str:
        """Append an entry to the topic's stream (trimmed to about ``publish_max_len``); returns its id."""
        entry_id = await self._redis.xadd(
            self._log_key(topic), {_PAYLOAD: payload}, maxlen=self.publish_max_len, approximate=True
        )
        assert entry_id is not None  # only XADD NOMKSTREAM answers nil
        return _text(entry_id)

    async def published_cursor(self, topic: str) -> str:
        """The id of the topic's newest entry, or :data:`~gateway.store.base.LOG_START`."""
        newest = await self._redis.xrevrange(self._log_key(topic), count=1)
        entry_id = newest[0][0] if newest else None
        return LOG_START if entry_id is None else _text(entry_id)

    async def read_published(
        self, topic: str, after: str, *, block_seconds: float = 0.0, limit: int = 100
    ) -> PublishedBatch:
        """Entries after ``after``; when there are none, wait with ``XREAD BLOCK`` up to ``block_seconds``.

        Raises:
            ValueError: ``after`` is not a stream id, or ``limit`` or ``block_seconds`` is out of range.
        """
        check_read(limit, block_seconds)
        after_id = _parse_stream_id(after)
        key = self._log_key(topic)
        client = self._log_client
        if client is None:
            raise RuntimeError(f"{self!r} is not open: call `await store.open()` first")
        try:
            async with asyncio.timeout(block_seconds + READ_GRACE_SECONDS):
                batch = await self._read_now(client, key, after, after_id, limit)
                if batch.entries or batch.gap or block_seconds <= 0:
                    return batch
                # Only a wake-up: the entries are read again below, together with the gap check.
                await client.xread({key: after}, count=1, block=max(1, math.ceil(block_seconds * 1000)))
                return await self._read_now(client, key, after, after_id, limit)
        except TimeoutError as err:
            raise RedisTimeoutError(
                f"{self!r} did not answer a change log read within {block_seconds + READ_GRACE_SECONDS} s"
            ) from err

    @staticmethod
    async def _read_now(
        client: aioredis.Redis, key: str, after: str, after_id: tuple[int, int], limit: int
    ) -> PublishedBatch:
        """One look at the stream: the gap check and the entries come from one transaction."""
        async with client.pipeline(transaction=True) as pipe:
            pipe.xinfo_stream(key)
            pipe.xrange(key, min=f"({after}", count=limit)
            info, rows = await pipe.execute(raise_on_error=False)
        if isinstance(rows, ResponseError):
            raise rows
        if isinstance(info, ResponseError):
            if "no such key" not in str(info):
                raise info
            return PublishedBatch(entries=[], cursor=after)  # never published
        if _trimmed_after(info, after_id):
            return PublishedBatch(entries=[], cursor=_text(info["last-generated-id"]), gap=True)
        if not rows:
            return PublishedBatch(entries=[], cursor=after)
        entries = [(_text(entry_id), bytes(fields[_PAYLOAD])) for entry_id, fields in rows]
        return PublishedBatch(entries=entries, cursor=entries[-1][0])

    def _queue_publish(self, pipe: Pipeline, topic: str, payload: bytes) -> None:
        pipe.xadd(self._log_key(topic), {_PAYLOAD: payload}, maxlen=self.publish_max_len, approximate=True)

    # -- outbox ----------------------------------------------------------------------------------
    @property
    def _outbox_tag(self) -> str:
        return f"{self.prefix}:{{outbox}}"

    async def _outbox_run(self, name: str, *args: Any) -> Any:
        if self._client is None:
            raise RuntimeError(f"{self!r} is not open: call `await store.open()` first")
        return await self._outbox_scripts[name](keys=[f"{self._outbox_tag}:seq"], args=[self._outbox_tag, *args])

    async def outbox_add(self, messages: Sequence[OutboxMessage]) -> int:
        """Add messages in one script (atomic), skipping ids already there; returns how many were added."""
        args = self._outbox_args(messages)
        return int(await self._outbox_run("ADD", *args)) if args else 0

    @staticmethod
    def _outbox_args(messages: Sequence[OutboxMessage]) -> list[Any]:
        """The ``ADD`` script's arguments for checked messages (raises ``ValueError`` before anything is sent)."""
        args: list[Any] = []
        for m, next_micros in check_messages(messages):
            args += [m.id, m.lane, m.partner_id, m.state, m.attempts, next_micros, m.last_error or ""]
            args.append(encode_message(m))
        return args

    async def outbox_claim(self, *, now: datetime, lease_seconds: float, limit: int) -> list[OutboxClaim]:
        """Return expired leases to the ready lanes, then claim up to ``limit`` due lane heads, in one script."""
        if limit < 1:
            return []
        now_micros = to_micros(now)
        until = now_micros + max(1, round(lease_seconds * 1_000_000))
        token = new_claim_token()
        rows = await self._outbox_run("CLAIM", now_micros, until, limit, token)
        return [OutboxClaim(message=_outbox_message(_text(row[0]), row[1:]), token=token) for row in rows]

    async def outbox_ack(self, claim: OutboxClaim) -> bool:
        """Delete the delivered message and free its lane; ``False`` when it was already gone."""
        message = claim.message
        return bool(await self._outbox_run("ACK", message.id, message.lane, claim.token))

    async def outbox_release(
        self, claim: OutboxClaim, *, next_attempt: datetime, error: str, dead: bool = False
    ) -> bool:
        """Record the failure and free the lane, if the lane is still claimed with this token."""
        message = claim.message
        args = (message.id, message.lane, claim.token, "1" if dead else "0", to_micros(next_attempt), error)
        return bool(await self._outbox_run("RELEASE", *args))

    async def outbox_get(self, message_id: str) -> OutboxMessage | None:
        """Return one message, or ``None``."""
        fields = await self._redis.hmget(
            f"{self._outbox_tag}:msg:{message_id}", "m", "state", "attempts", "next", "err"
        )
        return None if fields[0] is None else _outbox_message(message_id, fields)

    async def outbox_counts(self, *, now: datetime) -> list[OutboxCount]:
        """Pending, in flight and dead per partner, from one script."""
        flat, flying_lanes = await self._outbox_scripts["COUNTS"](
            keys=[f"{self._outbox_tag}:seq"], args=[self._outbox_tag, to_micros(now)]
        )
        totals: dict[str, dict[str, int]] = defaultdict(lambda: {"pending": 0, "in_flight": 0, "dead": 0})
        for field, value in zip(flat[::2], flat[1::2], strict=True):
            partner_id, _, state = _text(field).rpartition(LANE_SEPARATOR)
            totals[partner_id][state] = int(value)
        for lane in flying_lanes:
            totals[_text(lane).partition(LANE_SEPARATOR)[0]]["in_flight"] += 1
        return [
            OutboxCount(
                partner_id=partner_id,
                pending=max(0, numbers["pending"] - numbers["in_flight"]),
                in_flight=numbers["in_flight"],
                dead=numbers["dead"],
            )
            for partner_id, numbers in sorted(totals.items())
        ]

    async def outbox_dead(self, *, partner_id: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        """Dead messages, oldest added first."""
        members: list[Any] = await self._redis.zrange(f"{self._outbox_tag}:dead", 0, -1)
        ids = [_text(member) for member in members]
        found: list[OutboxMessage] = []
        for chunk in _chunks(ids, PUT_CHUNK):
            async with self._redis.pipeline(transaction=False) as pipe:
                for message_id in chunk:
                    pipe.hmget(f"{self._outbox_tag}:msg:{message_id}", "m", "state", "attempts", "next", "err")
                replies = await pipe.execute()
            for message_id, fields in zip(chunk, replies, strict=True):
                if fields[0] is None:
                    continue
                message = _outbox_message(message_id, fields)
                if partner_id is None or message.partner_id == partner_id:
                    found.append(message)
                if len(found) >= limit:
                    return found
        return found

    async def outbox_retry(
        self, *, now: datetime, ids: Sequence[str] | None = None, partner_id: str | None = None
    ) -> int:
        """Make the selected messages pending and due at ``now`` with no attempts counted."""
        if ids is not None and not ids:
            return 0
        return int(await self._outbox_run("RETRY", partner_id or "", to_micros(now), *(ids or ())))

    async def outbox_drop(self, *, ids: Sequence[str] | None = None, partner_id: str | None = None) -> int:
        """Delete the selected messages."""
        if ids is not None and not ids:
            return 0
        return int(await self._outbox_run("DROP", partner_id or "", "", *(ids or ())))

    async def outbox_next_due(self) -> datetime | None:
        """The earliest head due time of a ready lane, or lease end of a claimed one."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrange(f"{self._outbox_tag}:ready", 0, 0, withscores=True)
            pipe.zrange(f"{self._outbox_tag}:leased", 0, 0, withscores=True)
            replies = await pipe.execute()
        scores = [int(reply[0][1]) for reply in replies if reply]
        return from_micros(min(scores)) if scores else None
