"""gateway.ids: pooled random UUIDs, version 4 for request ids, version 7 (time-ordered) for references."""

from __future__ import annotations

import time
import uuid

from gateway.ids import uuid4_hex, uuid4_str, uuid7_hex


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
