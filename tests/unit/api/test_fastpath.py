"""The swipe fast path's body reading: complete bodies without waiting for Granian's empty last message."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gateway.api.fastpath import _read_body
from gateway.ocpi.status import OcpiError

if TYPE_CHECKING:
    from litestar.types import Message, Receive


def _receiver(messages: list[Message]) -> tuple[Receive, list[Message]]:
    """An ASGI receive that hands out ``messages`` in order and fails when asked for more."""
    handed: list[Message] = []

    async def receive() -> Message:
        if len(handed) == len(messages):
            raise AssertionError("read past the last message")
        handed.append(messages[len(handed)])
        return handed[-1]

    return receive, handed


def _chunk(body: bytes, *, more: bool) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_read_body_stops_once_the_announced_length_is_in() -> None:
    body = b'{"uid":"ABC"}'
    receive, handed = _receiver([_chunk(body, more=True), _chunk(b"", more=False)])
    assert await _read_body(receive, len(body)) == body
    assert len(handed) == 1


async def test_read_body_joins_chunks_up_to_the_announced_length() -> None:
    receive, handed = _receiver([_chunk(b'{"uid":', more=True), _chunk(b'"ABC"}', more=True), _chunk(b"", more=False)])
    assert await _read_body(receive, 13) == b'{"uid":"ABC"}'
    assert len(handed) == 2


async def test_read_body_without_a_length_reads_to_the_last_message() -> None:
    receive, handed = _receiver([_chunk(b"{}", more=True), _chunk(b"", more=False)])
    assert await _read_body(receive, None) == b"{}"
    assert len(handed) == 2


async def test_read_body_of_length_zero_is_empty() -> None:
    receive, handed = _receiver([_chunk(b"", more=True), _chunk(b"", more=False)])
    assert await _read_body(receive, 0) == b""
    assert len(handed) == 1


async def test_read_body_refuses_a_body_over_the_limit() -> None:
    receive, _ = _receiver([_chunk(b"x" * 40_000, more=True), _chunk(b"x" * 40_000, more=False)])
    with pytest.raises(OcpiError) as raised:
        await _read_body(receive, None)
    assert raised.value.http_status == 413
