"""Bulk writes for the Redis store in the Redis protocol (RESP2), without redis-py's per-argument packing.

Commands are written a list operation per column (``map`` over the arguments, no Python loop per
object), and transactions go through a :class:`BulkLine`: one connection on which each transaction is
sent as soon as it is called and its replies are read once every earlier one has read its own. So
transactions apply in the order they were called, and the server can execute one while the client
prepares the next.
"""

from __future__ import annotations

import asyncio
from itertools import repeat
from operator import add
from typing import TYPE_CHECKING, Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from redis.asyncio.connection import AbstractConnection, ConnectionPool

__all__ = ("EXEC", "MULTI", "BulkLine", "bulk", "command", "head", "rows")

_BULK = b"$%d\r\n%b\r\n".__mod__
_HEAD = b"$%d\r\n".__mod__
_HEADS = [_HEAD(length) for length in range(4096)]
"""The length lines of arguments shorter than 4 KiB, looked up instead of formatted."""
_CRLF = b"\r\n"

Part = bytes | list[bytes]
"""A piece of an argument: the same bytes in every row, or one per row."""


def bulk(arg: bytes) -> bytes:
    """One argument, framed."""
    return _BULK((len(arg), arg))


def command(*args: bytes) -> bytes:
    """A command of a few arguments."""
    return b"*%d\r\n" % len(args) + b"".join(map(bulk, args))


def head(name: bytes, arguments: int) -> bytes:
    """The start of a command of ``arguments`` arguments after its name; the arguments follow, framed."""
    return b"*%d\r\n" % (arguments + 1) + bulk(name)


def rows(count: int, *args: tuple[Part, ...]) -> bytes:
    """``count`` rows of arguments, framed; each argument is the concatenation of its parts.

    ``rows(2, (b"k:", [b"a", b"b"]), ([b"1", b"2"],))`` frames ``k:a 1 k:b 2``. No argument is built as
    an object of its own: the parts go straight into one join, a column at a time (slice assignment),
    so a row costs no Python bytecode.
    """
    width = sum(len(parts) + 2 for parts in args)
    out: list[bytes] = [_CRLF] * (width * count)
    at = 0
    for parts in args:
        fixed = sum(len(part) for part in parts if isinstance(part, bytes))
        lengths: Iterator[int] = repeat(fixed, count)
        for part in parts:
            if not isinstance(part, bytes):
                lengths = map(add, lengths, map(len, part))
        sizes = list(lengths)
        out[at::width] = map(_HEADS.__getitem__ if max(sizes, default=0) < len(_HEADS) else _HEAD, sizes)
        for offset, part in enumerate(parts, start=1):
            out[at + offset :: width] = repeat(part, count) if isinstance(part, bytes) else part
        at += len(parts) + 2  # its length line, its parts, and the CRLF already in place
    return b"".join(out)


MULTI = command(b"MULTI")
EXEC = command(b"EXEC")


class BulkLine:
    """Transactions pipelined on one connection of a pool, applied in the order they were called.

    The connection is taken from the pool by the first transaction of a burst and given back when the
    last one has read its replies, so an idle line holds nothing (and the pool checks the connection
    before it is used again). A failure or a cancellation while a transaction's replies are outstanding
    drops the connection (its replies can no longer be told apart): that transaction and the ones sent
    after it on the same connection fail, whether or not the server applied them.
    """

    def __init__(self, pool: ConnectionPool) -> None:
        """Use connections of ``pool``."""
        self._pool = pool
        self._connection: AbstractConnection | None = None
        self._sending = asyncio.Lock()
        self._last_read: asyncio.Future[None] | None = None

    async def transaction(self, commands: list[bytes]) -> list[Any]:
        """Send ``MULTI``, the commands and ``EXEC`` (all in ``commands``); return ``EXEC``'s replies.

        Like redis-py's pipelines, a transaction whose connection broke (a connection the server closed
        while it sat in the pool, say) is sent once more on a new connection. Transactions retried in a
        burst are sent again in their order.

        Raises:
            ResponseError: The server refused a command (nothing was written) or one failed in ``EXEC``.
            redis.exceptions.ConnectionError: The connection broke twice.
        """
        try:
            return await self._transaction(commands)
        except RedisConnectionError:
            return await self._transaction(commands)

    async def _transaction(self, commands: list[bytes]) -> list[Any]:
        async with self._sending:
            if self._connection is None:
                self._connection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
            connection = self._connection
            earlier, read = self._last_read, asyncio.get_running_loop().create_future()
            self._last_read = read
            try:
                await connection.send_packed_command(commands)
            except BaseException:
                read.set_result(None)
                await self._drop(connection)
                raise
        try:
            if earlier is not None:
                await asyncio.shield(earlier)
            if self._connection is not connection:
                raise RedisConnectionError("An earlier transaction on this connection failed; this one may be lost")
            for _ in range(len(commands) - 1):  # +OK for MULTI, +QUEUED for each command
                await connection.read_response()
            replies: list[Any] = await connection.read_response()
        except BaseException:
            await self._drop(connection)
            raise
        finally:
            read.set_result(None)
            if self._last_read is read and self._connection is connection:  # the last of the burst
                self._connection = None
                await self._pool.release(connection)
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies

    async def _drop(self, connection: AbstractConnection) -> None:
        """Drop ``connection`` if it is still the line's: replies may be left unread on it."""
        if self._connection is not connection:
            return
        self._connection = None
        try:
            await connection.disconnect()
        finally:
            await self._pool.release(connection)

    async def close(self) -> None:
        """Give the connection back to the pool (call when no transaction is running)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._pool.release(connection)
