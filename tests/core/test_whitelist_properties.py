"""Properties of the TokenCache: Rust agrees with the Python reference and with the msgspec models.

- the decision for any generated token and situation equals tests/reference/whitelist.py;
- a token the msgspec ``Token`` model accepts, the cache accepts and gives back equal; one the model
  refuses, the cache refuses with ``CoreError``;
- any bytes given to put, patch or load either succeed or raise ``CoreError``, nothing else.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.core import CoreError, TokenCache
from gateway.modules.tokens.models import Token
from tests.reference import whitelist as reference

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKEN = msgspec.json.Decoder(Token)

printable = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
any_text = st.text(max_size=70)
ci = st.one_of(printable, st.sampled_from(["", "NL", "tnm", "é", "a\tb"]))
datetimes = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2)).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["2015-06-29T20:39:09+01:00", "2015-06-29T20:39:09.2", "2015-06-29", "", "x"]),
)
WHITELISTS = ["ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"]
TYPES = ["AD_HOC_USER", "APP_USER", "OTHER", "RFID"]


def owner_upper(token: Token) -> Token:
    """The token as the cache answers it: owner in upper case (CiString), the rest as sent."""
    return msgspec.structs.replace(token, country_code=token.country_code.upper(), party_id=token.party_id.upper())


@st.composite
def tokens(draw: st.DrawFn, *, valid_only: bool = False) -> dict[str, Any]:
    """A Token dict; when not ``valid_only``, fields may be out of range or of the wrong shape."""
    if valid_only:
        ascii36 = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=36)
        token: dict[str, Any] = {
            "country_code": draw(st.sampled_from(["NL", "de", "Fr"])),
            "party_id": draw(st.sampled_from(["TNM", "abc", "X1"])),
            "uid": draw(ascii36),
            "type": draw(st.sampled_from(TYPES)),
            "contract_id": draw(ascii36),
            "issuer": draw(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"]), max_size=64)),
            "valid": draw(st.booleans()),
            "whitelist": draw(st.sampled_from(WHITELISTS)),
            "last_updated": draw(st.datetimes(min_value=datetime(1, 1, 2))).isoformat() + "Z",
        }
        optional = {
            "visual_number": st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"]), max_size=64),
            "group_id": st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=36),
            "language": st.sampled_from(["it", "nl", "é", ""]),
            "default_profile_type": st.sampled_from(["CHEAP", "FAST", "GREEN", "REGULAR"]),
            "energy_contract": st.fixed_dictionaries({"supplier_name": st.text(alphabet="abc ", max_size=5)}),
        }
    else:
        token = {
            "country_code": draw(ci),
            "party_id": draw(ci),
            "uid": draw(ci),
            "type": draw(st.sampled_from([*TYPES, "rfid", "CARD"])),
            "contract_id": draw(ci),
            "issuer": draw(any_text),
            "valid": draw(st.sampled_from([True, False, "true", None])),
            "whitelist": draw(st.sampled_from([*WHITELISTS, "always"])),
            "last_updated": draw(datetimes),
        }
        optional = {
            "visual_number": any_text,
            "group_id": ci,
            "language": any_text,
            "default_profile_type": st.sampled_from(["GREEN", "SLOW", None]),
            "energy_contract": st.one_of(st.none(), st.fixed_dictionaries({"supplier_name": any_text})),
        }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            token[name] = draw(strategy)
    return token


@PROPERTY
@given(
    token=tokens(valid_only=True),
    reachable=st.booleans(),
    policy=st.sampled_from(["LOCAL", "REALTIME", "LOCAL_IF_VALID"]),
)
def test_whitelist_property_rust_decision_equals_reference(token: dict[str, Any], reachable: bool, policy: str) -> None:
    cache = TokenCache(allowed_policy=policy, shards=2)
    cache.put(msgspec.json.encode(token))
    key = (token["country_code"], token["party_id"], token["uid"], token["type"])
    action, allowed, body = cache.authorize(*key, emsp_reachable=reachable)
    assert (action, allowed) == reference.decide(token["whitelist"], token["valid"], reachable, policy)
    assert body is not None
    assert TOKEN.decode(body) == owner_upper(TOKEN.decode(msgspec.json.encode(token)))
    swapped = (key[0].swapcase(), key[1].swapcase(), key[2].swapcase(), key[3])
    assert cache.authorize(*swapped, emsp_reachable=reachable)[:2] == (action, allowed)


@PROPERTY
@given(token=tokens())
def test_whitelist_property_cache_and_model_accept_the_same_tokens(token: dict[str, Any]) -> None:
    body = msgspec.json.encode(token)
    try:
        expected: Token | None = TOKEN.decode(body)
    except msgspec.ValidationError:
        expected = None
    cache = TokenCache(shards=1)
    if expected is None:
        try:
            cache.put(body)
        except CoreError:
            return
        raise AssertionError(f"the cache accepted a token the model refuses: {body!r}")
    cache.put(body)
    stored = cache.get(expected.country_code, expected.party_id, expected.uid, expected.type)
    assert stored is not None
    assert TOKEN.decode(stored) == owner_upper(expected)


@PROPERTY
@given(data=st.one_of(st.binary(max_size=300), st.lists(tokens(), max_size=4).map(msgspec.json.encode)))
def test_whitelist_property_any_bytes_load_or_raise_core_error(data: bytes) -> None:
    cache = TokenCache(shards=2)
    for call in (cache.put, cache.load, lambda b: cache.patch("NL", "TNM", "1", "RFID", b)):
        with contextlib.suppress(CoreError):
            call(data)
    assert len(cache) <= 4


@PROPERTY
@given(data=st.binary(max_size=300))
def test_whitelist_property_a_bad_first_line_loads_nothing(data: bytes) -> None:
    cache = TokenCache(shards=2)
    with pytest.raises(CoreError, match=r"at line 1; nothing was loaded$"):
        cache.load(b'{"uid": 1}\n' + data)
    assert len(cache) == 0
