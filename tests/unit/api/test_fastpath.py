"""The swipe fast path: body reading (no wait for Granian's empty last message) and the quicker body decoding."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.api.fastpath import _decode_request, _read_body, _UncheckedRequest
from gateway.modules.tokens.authorization import AuthorizeRequest
from gateway.ocpi.body import decode_body
from gateway.ocpi.status import OcpiError

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar.types import HTTPRequestEvent, Receive, ReceiveMessage


def _receiver(messages: list[HTTPRequestEvent]) -> tuple[Receive, list[ReceiveMessage]]:
    """An ASGI receive that hands out ``messages`` in order and fails when asked for more."""
    handed: list[ReceiveMessage] = []

    async def receive() -> ReceiveMessage:
        if len(handed) == len(messages):
            raise AssertionError("read past the last message")
        handed.append(messages[len(handed)])
        return handed[-1]

    return receive, handed


def _chunk(body: bytes, *, more: bool) -> HTTPRequestEvent:
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


# -- decoding: the unchecked twin must answer exactly like decode_body(body, AuthorizeRequest) ---------------

_TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.text(st.sampled_from('AZaz09 -_~\x7f\\"\n\x00é'))
_VALUE = st.none() | st.integers() | _TEXT | st.lists(_TEXT, max_size=3)
_FIELDS = st.dictionaries(
    st.sampled_from(["uid", "type", "country_code", "party_id", "location_id", "evse_uids", "other"]),
    _VALUE | st.sampled_from(["RFID", "APP_USER", "AD_HOC_USER", "OTHER", "rfid"]),
    max_size=6,
)


def _outcome(decode: Callable[[], AuthorizeRequest]) -> object:
    try:
        return decode()
    except OcpiError as exc:
        return (exc.status, exc.message, exc.http_status)


def _same_as_checked(body: bytes) -> None:
    checked = _outcome(lambda: decode_body(body, AuthorizeRequest, validation_http_status=400))
    assert _outcome(lambda: _decode_request(body)) == checked


@given(_FIELDS)
def test_decode_request_answers_like_the_checked_decoder(fields: dict[str, object]) -> None:
    _same_as_checked(json.dumps(fields, ensure_ascii=False).encode())
    _same_as_checked(json.dumps(fields, ensure_ascii=True).encode())


@given(st.binary(max_size=60))
def test_decode_request_answers_like_the_checked_decoder_on_any_bytes(body: bytes) -> None:
    _same_as_checked(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"uid":"ABC","type":"RFID","country_code":"DE","party_id":"ION","location_id":"L1","evse_uids":["E1"]}',
        b'{"uid":"A\x7fB"}',
        b'{"uid":"A\\u0001B"}',
        b'{"uid":"A\\u0041B"}',
        b'{"uid":"\xc3\xa9"}',
        b'{"uid":""}',
        b'{"uid":"' + b"x" * 37 + b'"}',
        b'{"uid":"ABC","evse_uids":["ok","bad\\n"]}',
        b'{"type":"RFID"}',
        b"",
        b"[",
    ],
)
def test_decode_request_edge_cases(body: bytes) -> None:
    _same_as_checked(body)


def test_unchecked_request_has_the_fields_of_authorize_request() -> None:
    assert _UncheckedRequest.__struct_fields__ == AuthorizeRequest.__struct_fields__
    assert _UncheckedRequest.__struct_defaults__ == AuthorizeRequest.__struct_defaults__
