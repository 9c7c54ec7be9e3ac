"""UUIDs without a system call each: random ones (version 4), time-ordered ones for authorization references
(version 7), and serial ones for request and correlation ids.

``uuid.uuid4()`` reads 16 bytes with ``os.urandom`` on every call; on a loaded virtual machine that system
call alone can cost more than the rest of a small request. These helpers draw the same kind of bytes
(``os.urandom``, so equally unpredictable) 4 KiB at a time and hand them out 16 at a time. A forked child
starts with an empty pool, so two processes never hand out the same bytes.

A serial UUID is a random version-4 prefix drawn once per process followed by a counter: unique like a
random one (74 random bits tell processes apart) at a fraction of the cost, but predictable, so only for ids
that carry no secret. A version-7 UUID starts with the time in milliseconds, so ids made one after the other
sort together: a store indexing them by key appends to one end of its index instead of touching a random
page per id.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

__all__ = ("serial_uuid_str", "uuid4_hex", "uuid4_str", "uuid7_hex")

_POOL_BYTES = 4096
_lock = threading.Lock()
_pool = b""
_offset = 0
_serial_prefix = ""
_serial = itertools.count()
_SERIAL_MASK = (1 << 48) - 1


def _reset_pool() -> None:
    global _pool, _offset, _lock, _serial_prefix, _serial  # the pool is process state by design
    _pool, _offset, _lock = b"", 0, threading.Lock()
    _serial_prefix, _serial = "", itertools.count()


os.register_at_fork(after_in_child=_reset_pool)


def _random16() -> bytearray:
    """16 random bytes from the pool (refilled from ``os.urandom`` when empty)."""
    global _pool, _offset
    with _lock:
        if _offset >= len(_pool):
            _pool, _offset = os.urandom(_POOL_BYTES), 0
        raw = bytearray(_pool[_offset : _offset + 16])
        _offset += 16
    return raw


def uuid4_hex() -> str:
    """A random UUID (version 4, RFC 4122 variant) as 32 lower-case hex digits, like ``uuid.uuid4().hex``."""
    raw = _random16()
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def uuid7_hex() -> str:
    """A time-ordered random UUID (version 7, RFC 9562) as 32 lower-case hex digits.

    The first 48 bits are the Unix time in milliseconds, then 74 random bits (besides version and variant):
    as hard to guess as a version-4 UUID within one millisecond, and ids of later milliseconds sort after
    earlier ones.
    """
    raw = _random16()
    raw[0:6] = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def uuid4_str() -> str:
    """A random UUID (version 4) in its canonical form, like ``str(uuid.uuid4())``."""
    h = uuid4_hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def serial_uuid_str() -> str:
    """A unique id in canonical UUID form (version 4 layout): this process's random prefix, then a counter.

    For request and correlation ids: unique across processes and restarts like a random UUID, but the
    last 12 digits count up, so never use it where an id must not be guessable.
    """
    global _serial_prefix
    if not _serial_prefix:
        _serial_prefix = uuid4_str()[:24]
    return f"{_serial_prefix}{next(_serial) & _SERIAL_MASK:012x}"
