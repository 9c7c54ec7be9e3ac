"""gateway.ids: pooled random UUIDs, version 4 for request ids, version 7 (time-ordered) for references."""

from __future__ import annotations

import os
import time
import uuid

from gateway.ids import serial_uuid_str, uuid4_hex, uuid4_str, uuid7_hex


def test_uuid4_hex_is_a_version_4_uuid() -> None:
    value = uuid.UUID(hex=uuid4_hex())
    assert (value.version, value.variant) == (4, uuid.RFC_4122)


def test_uuid4_str_is_canonical() -> None:
    text = uuid4_str()
    assert str(uuid.UUID(text)) == text


def test_uuid7_hex_is_a_version_7_uuid_carrying_the_time() -> None:
    before = time.time_ns() // 1_000_000
    text = uuid7_hex()
    after = time.time_ns() // 1_000_000
    value = uuid.UUID(hex=text)
    assert len(text) == 32
    assert text == text.lower()
    assert (value.version, value.variant) == (7, uuid.RFC_4122)
    assert before <= int(text[:12], 16) <= after


def test_uuid7_hex_values_are_unique_and_sort_by_millisecond() -> None:
    values = [uuid7_hex() for _ in range(5000)]
    assert len(set(values)) == len(values)
    stamps = [value[:12] for value in values]
    assert stamps == sorted(stamps)


def test_serial_uuid_str_is_canonical_and_unique() -> None:
    values = [serial_uuid_str() for _ in range(5000)]
    assert len(set(values)) == len(values)
    for text in values[::997]:
        value = uuid.UUID(text)
        assert str(value) == text
        assert (value.version, value.variant) == (4, uuid.RFC_4122)


def test_serial_uuid_str_differs_in_a_forked_child() -> None:
    ours = serial_uuid_str()  # the parent's prefix exists before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its first id and leave at once
        os.write(write, serial_uuid_str().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read().decode()
    assert uuid.UUID(child).version == 4
    assert child[:24] != ours[:24]
