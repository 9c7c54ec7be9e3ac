"""Contract of ``validate_tokens``: the bulk validator accepts what the msgspec ``Token`` model accepts and
writes each token's JSON, key and timestamp exactly as a PUT through the model stores them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.data import tokens_json, tokens_ndjson, tokens_token
from gateway.core import validate_tokens
from gateway.modules.tokens.models import Token, ci_key
from gateway.modules.tokens.service import token_key
from gateway.store._codec import to_micros
from tests.core.test_whitelist_properties import PROPERTY, tokens

EXAMPLES = Path(__file__).parents[1] / "unit" / "modules" / "tokens" / "examples"
TOKEN = msgspec.json.Decoder(Token)


def as_stored(line: bytes) -> tuple[str, str, str, int, bytes]:
    """What a PUT through the msgspec model stores for ``line``: owner, id, micros and JSON."""
    token = TOKEN.decode(line)
    key = token_key(token.country_code, token.party_id, token.uid, token.type)
    return key.country_code, key.party_id, key.id, to_micros(token.last_updated), msgspec.json.encode(token)


def flattened(data: bytes, first_line: int = 1) -> tuple[dict[int, tuple[str, str, str, int, bytes]], dict[int, str]]:
    """The result by line: the good tokens as (owner, id, micros, JSON), the bad lines' messages."""
    owners, rejected = validate_tokens(data, first_line)
    good = {}
    for country_code, party_id, lines, ids, micros, json in owners:
        assert len(lines) == len(ids) == len(micros) == len(json)
        for line, object_id, stamp, body in zip(lines, ids, micros, json, strict=True):
            good[line] = (country_code, party_id, object_id, stamp, body)
    return good, dict(rejected)


@pytest.mark.parametrize(
    "name", ["token_example_1_app_user.json", "token_example_2_full_rfid.json", "token_put_example.json"]
)
def test_validate_tokens_stores_the_spec_examples_like_the_model(name: str) -> None:
    line = msgspec.json.format((EXAMPLES / name).read_bytes(), indent=-1)
    good, rejected = flattened(line)
    assert (good, rejected) == ({1: as_stored(line)}, {})


def test_validate_tokens_groups_by_owner_in_line_order_and_numbers_lines_from_first_line() -> None:
    data = tokens_ndjson(45)
    owners, rejected = validate_tokens(data, 101)
    assert rejected == []
    assert [(cc, pid) for cc, pid, *_ in owners] == [(ci_key(t["country_code"]), ci_key(t["party_id"]))
                                                    for t in map(tokens_token, range(20))]
    assert owners[0][2] == [101, 121, 141]
    good, _ = flattened(data, 101)
    assert good == {101 + i: as_stored(tokens_json(i).encode()) for i in range(45)}


def test_validate_tokens_skips_blank_lines_and_reports_bad_ones_with_their_number() -> None:
    lines = [
        tokens_json(0),
        "",
        "   \r",
        msgspec.json.encode(tokens_token(1, uid="")).decode(),
        "{not json",
        tokens_json(2) + "\r",
        msgspec.json.encode(tokens_token(3, last_updated="2015-06-29T20:39:09+01:00")).decode(),
        msgspec.json.encode(tokens_token(4, uid=None)).decode(),
    ]
    good, rejected = flattened("\n".join(lines).encode())
    assert sorted(good) == [1, 6]
    assert rejected[4] == "Field `uid` is empty"
    assert rejected[5].startswith("Invalid token JSON")
    assert "Field `last_updated` is not an OCPI DateTime" in rejected[7]
    assert rejected[8].startswith("Invalid token JSON: missing field `uid`")
    assert validate_tokens(b"") == ([], [])


@pytest.mark.parametrize(
    ("overrides", "stored_json_has"),
    [
        ({"country_code": "de", "party_id": "aBc", "uid": "x-1"}, b'"country_code":"de","party_id":"aBc","uid":"x-1"'),
        ({"issuer": 'The "New" \\ Motion', "visual_number": 'é"\\é'}, b'"issuer":"The \\"New\\" \\\\ Motion"'),
        ({"last_updated": "2024-01-02 03:04:05.5+00:00"}, b'"last_updated":"2024-01-02T03:04:05.500000Z"'),
        ({"last_updated": "2024-01-02t03:04:05.1234565"}, b'"last_updated":"2024-01-02T03:04:05.123457Z"'),
        ({"group_id": None, "extra": {"nested": [1, None]}}, b'"valid":'),
    ],
)
def test_validate_tokens_writes_json_as_the_model_encodes_it(overrides: dict[str, Any], stored_json_has: bytes) -> None:
    token = tokens_token(7)
    token.update(overrides)
    line = msgspec.json.encode(token)
    good, rejected = flattened(line)
    assert (good, rejected) == ({1: as_stored(line)}, {})
    assert stored_json_has in good[1][4]


@PROPERTY
@given(token=tokens())
def test_validate_tokens_property_accepts_and_writes_what_the_model_does(token: dict[str, Any]) -> None:
    line = msgspec.json.encode(token)
    good, rejected = flattened(b"\n" + line, 5)
    try:
        expected = as_stored(line)
    except msgspec.ValidationError:
        assert (good, list(rejected)) == ({}, [6])
        return
    assert (good, rejected) == ({6: expected}, {})


@PROPERTY
@given(data=st.lists(st.one_of(st.binary(max_size=80), tokens().map(msgspec.json.encode)), max_size=6))
def test_validate_tokens_property_any_bytes_give_each_line_one_answer(data: list[bytes]) -> None:
    joined = b"\n".join(line.replace(b"\n", b" ") for line in data)
    good, rejected = flattened(joined)
    numbered = [number for number, line in enumerate(joined.split(b"\n"), start=1) if line.strip()]
    assert sorted([*good, *rejected]) == numbered
