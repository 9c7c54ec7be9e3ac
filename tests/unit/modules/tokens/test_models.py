"""The Tokens module's msgspec models: the spec's examples decode, bad tokens are refused, DateTime is UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from benchmarks.data import tokens_token
from gateway.modules.tokens.models import (
    AllowedType,
    AuthorizationInfo,
    LocationReferences,
    ProfileType,
    Token,
    TokenPatch,
    TokenType,
    WhitelistType,
    ci_key,
)

EXAMPLES = Path(__file__).parent / "examples"
"""The spec's 2.2.1 token examples, verbatim (OCPI tag v2.2.1-d2, copied from the shared digest)."""


def decode_token(token: dict[str, Any]) -> Token:
    return msgspec.json.decode(msgspec.json.encode(token), type=Token)


@pytest.mark.parametrize(
    ("name", "kind", "whitelist"),
    [
        ("token_example_1_app_user.json", TokenType.APP_USER, WhitelistType.ALLOWED),
        ("token_example_2_full_rfid.json", TokenType.RFID, WhitelistType.ALLOWED),
        ("token_put_example.json", TokenType.RFID, WhitelistType.ALWAYS),
    ],
)
def test_token_decodes_spec_example_and_reencodes_it(name: str, kind: TokenType, whitelist: WhitelistType) -> None:
    raw = (EXAMPLES / name).read_bytes()
    token = msgspec.json.decode(raw, type=Token)
    assert (token.type, token.whitelist) == (kind, whitelist)
    assert token.last_updated.tzinfo is UTC
    assert msgspec.json.decode(msgspec.json.encode(token)) == msgspec.json.decode(raw)


def test_token_full_example_keeps_nested_objects() -> None:
    token = msgspec.json.decode((EXAMPLES / "token_example_2_full_rfid.json").read_bytes(), type=Token)
    assert token.default_profile_type is ProfileType.GREEN
    assert token.energy_contract is not None
    assert token.energy_contract.contract_id == "0123456789"


def test_token_patch_example_decodes() -> None:
    patch = msgspec.json.decode((EXAMPLES / "token_patch_example.json").read_bytes(), type=TokenPatch)
    assert patch.valid is False
    assert patch.last_updated == datetime(2019, 6, 19, 2, 11, 11, tzinfo=UTC)
    assert msgspec.json.encode(patch) == b'{"valid":false,"last_updated":"2019-06-19T02:11:11Z"}'


def test_token_in_get_envelopes_decodes() -> None:
    for name in ("transport_and_format_get_token_example.json", "transport_and_format_get_token_list_example.json"):
        path = EXAMPLES / name
        data = msgspec.json.decode(path.read_bytes())["data"]
        for item in data if isinstance(data, list) else [data]:
            decode_token(item)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"country_code": "NLD"}, "country_code"),
        ({"party_id": ""}, "party_id"),
        ({"uid": "x" * 37}, "uid"),
        ({"uid": "caf\u00e9"}, "uid"),
        ({"contract_id": None}, "contract_id"),
        ({"issuer": "x" * 65}, "issuer"),
        ({"visual_number": "a\nb"}, "visual_number"),
        ({"language": "ita"}, "language"),
        ({"group_id": "g" * 37}, "group_id"),
        ({"type": "CARD"}, "type"),
        ({"whitelist": "always"}, "whitelist"),
        ({"default_profile_type": "SLOW"}, "default_profile_type"),
        ({"valid": "yes"}, "valid"),
        ({"last_updated": "2015-06-29T20:39:09+01:00"}, "UTC"),
        ({"energy_contract": {"contract_id": "1"}}, "supplier_name"),
    ],
)
def test_token_refuses_bad_fields(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=fragment):
        decode_token(tokens_token(1, **overrides))


def test_token_ignores_unknown_fields_and_omits_unset_optionals() -> None:
    token = decode_token(tokens_token(1, visual_number=None, group_id=None, surprise={"a": 1}))
    encoded = msgspec.json.encode(token)
    assert b"surprise" not in encoded
    assert b"visual_number" not in encoded
    assert b"null" not in encoded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-06-29T20:39:09Z", "2015-06-29T20:39:09Z"),
        ("2015-06-29T20:39:09", "2015-06-29T20:39:09Z"),
        ("2016-12-29T17:45:09.2Z", "2016-12-29T17:45:09.200000Z"),
        ("2018-01-01T01:08:01.123", "2018-01-01T01:08:01.123000Z"),
    ],
)
def test_token_datetime_is_utc_and_emitted_with_z(text: str, expected: str) -> None:
    token = decode_token(tokens_token(1, last_updated=text))
    assert token.last_updated.utcoffset() is not None
    assert msgspec.json.decode(msgspec.json.encode(token))["last_updated"] == expected


def test_token_patch_requires_last_updated() -> None:
    with pytest.raises(msgspec.ValidationError, match="last_updated"):
        msgspec.json.decode(b'{"valid": false}', type=TokenPatch)


def test_authorization_info_roundtrips_with_location_references() -> None:
    token = decode_token(tokens_token(3))
    info = AuthorizationInfo(
        allowed=AllowedType.ALLOWED,
        token=token,
        location=LocationReferences(location_id="LOC1", evse_uids=("BE*BEC*E041503001",)),
        authorization_reference="ref-1",
    )
    encoded = msgspec.json.encode(info)
    assert msgspec.json.decode(encoded, type=AuthorizationInfo) == info
    assert b'"allowed":"ALLOWED"' in encoded
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(encoded.replace(b'"ALLOWED"', b'"MAYBE"', 1), type=AuthorizationInfo)


def test_ci_key_upper_cases_ascii_only() -> None:
    assert ci_key("nl") == "NL"
    assert ci_key("abCD-12") == "ABCD-12"
    assert ci_key("\u00e9a") == "\u00e9a"
