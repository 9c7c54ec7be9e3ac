"""Contract tests of ``TokenCache`` and ``whitelist_decision``: tables of input to expected output or error."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest

from benchmarks.data import tokens_array, tokens_json, tokens_keys, tokens_ndjson, tokens_token
from gateway.core import CoreError, TokenCache, whitelist_decision
from gateway.modules.tokens.models import Token
from tests.reference import whitelist as reference

EXAMPLES = Path(__file__).parents[1] / "unit" / "modules" / "tokens" / "examples"

WHITELISTS = ("ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER")
POLICIES = ("LOCAL", "REALTIME", "LOCAL_IF_VALID")
TOKEN = msgspec.json.Decoder(Token)


def encode(token: dict[str, Any]) -> bytes:
    return msgspec.json.encode(token)


def cache_with(*tokens: dict[str, Any], policy: str = "LOCAL") -> TokenCache:
    cache = TokenCache(allowed_policy=policy, shards=4)
    for token in tokens:
        cache.put(encode(token))
    return cache


# -- put / get -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["token_example_1_app_user.json", "token_example_2_full_rfid.json", "token_put_example.json"]
)
def test_token_cache_put_get_returns_the_spec_example(name: str) -> None:
    body = (EXAMPLES / name).read_bytes()
    cache = TokenCache()
    assert cache.put(body) is True
    assert cache.put(body) is False
    token = TOKEN.decode(body)
    stored = cache.get(token.country_code, token.party_id, token.uid, token.type)
    assert stored is not None
    assert TOKEN.decode(stored) == token
    assert stored == msgspec.json.encode(token)


def test_token_cache_put_get_roundtrips_generated_tokens() -> None:
    cache = TokenCache()
    for i in range(300):
        cache.put(tokens_json(i).encode())
    for i in range(300):
        token = TOKEN.decode(tokens_json(i))
        stored = cache.get(token.country_code, token.party_id, token.uid, token.type)
        assert stored is not None
        assert TOKEN.decode(stored) == token


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"country_code": "NLD"}, "Field `country_code` is longer than 2 characters"),
        ({"party_id": ""}, "Field `party_id` is empty"),
        ({"uid": "x" * 37}, "Field `uid` is longer than 36 characters"),
        ({"uid": "caf\u00e9"}, "Field `uid` must be printable ASCII (CiString)"),
        ({"contract_id": "a\tb"}, "Field `contract_id` must be printable ASCII"),
        ({"issuer": "x" * 65}, "Field `issuer` is longer than 64 characters"),
        ({"visual_number": "a\nb"}, "Field `visual_number` contains control characters"),
        ({"language": "ita"}, "Field `language` is longer than 2 characters"),
        ({"group_id": "g" * 37}, "Field `group_id` is longer than 36 characters"),
        ({"type": "CARD"}, "unknown variant `CARD`"),
        ({"whitelist": "always"}, "unknown variant `always`"),
        ({"default_profile_type": "SLOW"}, "unknown variant `SLOW`"),
        ({"valid": "yes"}, "invalid type: string"),
        ({"issuer": None}, "missing field `issuer`"),
        ({"last_updated": "2015-06-29T20:39:09+01:00"}, "Field `last_updated` is not an OCPI DateTime"),
        ({"last_updated": "yesterday"}, "Field `last_updated` is not an OCPI DateTime"),
        ({"energy_contract": {"contract_id": "1"}}, "missing field `supplier_name`"),
    ],
)
def test_token_cache_put_refuses_bad_tokens(overrides: dict[str, Any], message: str) -> None:
    cache = TokenCache()
    with pytest.raises(CoreError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cache.put(encode(tokens_token(1, **overrides)))
    assert len(cache) == 0


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b'"token"', b"\xff\xfe"])
def test_token_cache_put_refuses_what_is_not_a_token_object(body: bytes) -> None:
    with pytest.raises(CoreError, match="Invalid token JSON"):
        TokenCache().put(body)


def test_token_cache_put_ignores_unknown_fields_and_takes_null_optionals() -> None:
    token = tokens_token(2, extra={"nested": [1]}, visual_number=None)
    token["group_id"] = None
    cache = cache_with(token)
    stored = cache.get(token["country_code"], token["party_id"], token["uid"], token["type"])
    assert stored is not None
    assert b"extra" not in stored
    assert b"group_id" not in stored


# -- keys are CiStrings ----------------------------------------------------------------------------


def test_token_cache_keys_match_in_any_case_and_owner_is_upper_case() -> None:
    cache = cache_with(tokens_token(1, country_code="nl", party_id="tNm", uid="abCD12", type="RFID"))
    for key in [("NL", "TNM", "ABCD12"), ("nl", "tnm", "abcd12"), ("Nl", "TnM", "AbCd12")]:
        action, _, token = cache.authorize(*key)
        assert action != "UNKNOWN"
        assert token is not None
        decoded = TOKEN.decode(token)
        assert (decoded.country_code, decoded.party_id, decoded.uid) == ("NL", "TNM", "abCD12")
    assert cache.count("nl", "TNM") == 1
    assert cache.put(encode(tokens_token(1, country_code="NL", party_id="TNM", uid="ABCD12", type="RFID"))) is False
    assert len(cache) == 1


def test_token_cache_same_uid_with_another_type_or_owner_is_another_token() -> None:
    cache = cache_with(
        tokens_token(1, uid="SAME", type="RFID", country_code="NL", party_id="TNM"),
        tokens_token(2, uid="SAME", type="APP_USER", country_code="NL", party_id="TNM"),
        tokens_token(3, uid="same", type="RFID", country_code="DE", party_id="ABC"),
    )
    assert len(cache) == 3
    assert cache.get("NL", "TNM", "SAME", "OTHER") is None
    owners = [TOKEN.decode(t).country_code for _, _, t in cache.lookup_any("Same") if t is not None]
    assert owners == ["DE", "NL"]
    assert len(cache.lookup_any("same", "APP_USER")) == 1
    assert cache.lookup_any("nobody") == []


# -- the whitelist decision ------------------------------------------------------------------------

# (whitelist, valid, emsp_reachable, policy) -> (action, allowed): the rows of tokens.md section 4.
SPEC_ROWS = [
    ("ALWAYS", True, True, "REALTIME", "ANSWER_LOCALLY", "ALLOWED"),
    ("ALWAYS", True, False, "LOCAL", "ANSWER_LOCALLY", "ALLOWED"),
    ("ALWAYS", False, True, "LOCAL", "ANSWER_LOCALLY", "BLOCKED"),
    ("ALLOWED", True, True, "LOCAL", "ANSWER_LOCALLY", "ALLOWED"),
    ("ALLOWED", False, True, "LOCAL", "ANSWER_LOCALLY", "BLOCKED"),
    ("ALLOWED", True, True, "REALTIME", "ASK_EMSP_ELSE_LOCAL", "ALLOWED"),
    ("ALLOWED", False, True, "REALTIME", "ASK_EMSP_ELSE_LOCAL", "BLOCKED"),
    ("ALLOWED", True, False, "REALTIME", "ANSWER_LOCALLY", "ALLOWED"),
    ("ALLOWED", True, True, "LOCAL_IF_VALID", "ANSWER_LOCALLY", "ALLOWED"),
    ("ALLOWED", False, True, "LOCAL_IF_VALID", "ASK_EMSP_ELSE_LOCAL", "BLOCKED"),
    ("ALLOWED", False, False, "LOCAL_IF_VALID", "ANSWER_LOCALLY", "BLOCKED"),
    ("ALLOWED_OFFLINE", True, True, "LOCAL", "ASK_EMSP_ELSE_LOCAL", "ALLOWED"),
    ("ALLOWED_OFFLINE", False, True, "LOCAL", "ASK_EMSP_ELSE_LOCAL", "BLOCKED"),
    ("ALLOWED_OFFLINE", True, False, "LOCAL", "ANSWER_LOCALLY", "ALLOWED"),
    ("ALLOWED_OFFLINE", False, False, "LOCAL", "ANSWER_LOCALLY", "BLOCKED"),
    ("NEVER", True, True, "LOCAL", "ASK_EMSP_REALTIME", "NOT_ALLOWED"),
    ("NEVER", False, True, "LOCAL", "ASK_EMSP_REALTIME", "NOT_ALLOWED"),
    ("NEVER", True, False, "LOCAL", "ANSWER_LOCALLY", "NOT_ALLOWED"),
    ("NEVER", False, False, "REALTIME", "ANSWER_LOCALLY", "NOT_ALLOWED"),
]


@pytest.mark.parametrize(("whitelist", "valid", "reachable", "policy", "action", "allowed"), SPEC_ROWS)
def test_token_cache_authorize_follows_the_whitelist_table(
    whitelist: str, valid: bool, reachable: bool, policy: str, action: str, allowed: str
) -> None:
    token = tokens_token(7, whitelist=whitelist, valid=valid)
    cache = cache_with(token, policy=policy)
    key = (token["country_code"], token["party_id"], token["uid"], token["type"])
    got_action, got_allowed, got_token = cache.authorize(*key, emsp_reachable=reachable)
    assert (got_action, got_allowed) == (action, allowed)
    assert got_token is not None
    assert TOKEN.decode(got_token) == TOKEN.decode(encode(token))
    assert whitelist_decision(whitelist, valid, emsp_reachable=reachable, allowed_policy=policy) == (action, allowed)
    assert reference.decide(whitelist, valid, reachable, policy) == (action, allowed)


@pytest.mark.parametrize(
    ("whitelist", "valid", "reachable", "policy"),
    list(itertools.product((*WHITELISTS, None), (True, False), (True, False), POLICIES)),
)
def test_whitelist_decision_equals_reference_for_every_input(
    whitelist: str | None, valid: bool, reachable: bool, policy: str
) -> None:
    expected = reference.decide(whitelist, valid, reachable, policy)
    assert whitelist_decision(whitelist, valid, emsp_reachable=reachable, allowed_policy=policy) == expected
    if whitelist is not None and valid is False and reachable:
        # valid: false never skips a real-time check the whitelist type requires
        assert whitelist not in ("ALLOWED_OFFLINE", "NEVER") or expected[0] != "ANSWER_LOCALLY"


@pytest.mark.parametrize("reachable", [True, False])
def test_token_cache_authorize_unknown_token(reachable: bool) -> None:
    cache = cache_with(tokens_token(1))
    assert cache.authorize("NL", "TNM", "unknown", emsp_reachable=reachable) == ("UNKNOWN", None, None)
    assert cache.authorize("NLD", "TNM", "x") == ("UNKNOWN", None, None)
    assert cache.authorize("NL", "TNM", "x" * 100) == ("UNKNOWN", None, None)
    assert whitelist_decision(None, True) == ("UNKNOWN", None)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.authorize("NL", "TNM", "1", "rfid"), "Unknown token type `rfid`"),
        (lambda c: c.get("NL", "TNM", "1", "CARD"), "Unknown token type `CARD`"),
        (lambda c: c.remove("NL", "TNM", "1", ""), "Unknown token type ``"),
        (lambda c: c.lookup_any("1", "X"), "Unknown token type `X`"),
        (lambda c: whitelist_decision("SOMETIMES", True), "Unknown whitelist type `SOMETIMES`"),
        (lambda c: whitelist_decision("NEVER", True, allowed_policy="local"), "Unknown ALLOWED policy `local`"),
        (lambda c: TokenCache(allowed_policy="ASK"), "Unknown ALLOWED policy `ASK`"),
    ],
)
def test_token_cache_refuses_unknown_names(call: Any, message: str) -> None:
    with pytest.raises(CoreError, match=message):
        call(cache_with())


# -- patch ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "changed"),
    [
        ({"valid": False}, {"valid": False}),
        ({"whitelist": "NEVER", "language": "nl"}, {"whitelist": "NEVER", "language": "nl"}),
        ({"group_id": "G-1", "visual_number": "V-1"}, {"group_id": "G-1", "visual_number": "V-1"}),
        ({"energy_contract": {"supplier_name": "S"}}, {"energy_contract": {"supplier_name": "S"}}),
        ({"group_id": None, "uid": "UID-P", "type": "RFID", "country_code": "nl"}, {}),
    ],
)
def test_token_cache_patch_replaces_present_fields(patch: dict[str, Any], changed: dict[str, Any]) -> None:
    token = tokens_token(4, country_code="NL", party_id="TNM", uid="UID-P", type="RFID", group_id="G-0", valid=True)
    cache = cache_with(token)
    body = encode({**patch, "last_updated": "2030-01-02T03:04:05Z"})
    assert cache.patch("NL", "TNM", "uid-p", "RFID", body) is True
    stored = cache.get("NL", "TNM", "UID-P")
    assert stored is not None
    expected = TOKEN.decode(encode({**token, **changed, "last_updated": "2030-01-02T03:04:05Z"}))
    assert TOKEN.decode(stored) == expected


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"valid": False}, "missing field `last_updated`"),
        ({"valid": None, "last_updated": "2030-01-01T00:00:00Z"}, "invalid type: null"),
        ({"uid": "OTHER", "last_updated": "2030-01-01T00:00:00Z"}, "Field `uid` of the PATCH body differs"),
        ({"party_id": "ABC", "last_updated": "2030-01-01T00:00:00Z"}, "Field `party_id` of the PATCH body differs"),
        ({"type": "APP_USER", "last_updated": "2030-01-01T00:00:00Z"}, "Field `type` of the PATCH body differs"),
        ({"language": "eng", "last_updated": "2030-01-01T00:00:00Z"}, "Field `language` is longer than 2"),
        ({"last_updated": "2030-01-01T00:00:00+02:00"}, "Field `last_updated` is not an OCPI DateTime"),
    ],
)
def test_token_cache_patch_refuses_bad_bodies_and_changes_nothing(patch: dict[str, Any], message: str) -> None:
    token = tokens_token(4, country_code="NL", party_id="TNM", uid="UID-P", type="RFID")
    cache = cache_with(token)
    with pytest.raises(CoreError, match=message):
        cache.patch("NL", "TNM", "UID-P", "RFID", encode(patch))
    assert cache.get("NL", "TNM", "UID-P") == cache_with(token).get("NL", "TNM", "UID-P")


def test_token_cache_patch_of_unknown_token_creates_nothing() -> None:
    cache = cache_with()
    assert cache.patch("NL", "TNM", "nobody", "RFID", (EXAMPLES / "token_patch_example.json").read_bytes()) is False
    assert len(cache) == 0


# -- bulk load ---------------------------------------------------------------------------------------


def test_token_cache_load_ndjson_and_array_agree_and_count() -> None:
    by_lines, by_array = TokenCache(), TokenCache()
    assert by_lines.load(tokens_ndjson(500)) == (500, 0)
    assert by_array.load(tokens_array(500)) == (500, 0)
    assert by_array.load(tokens_array(100, start=450)) == (50, 50)
    for cc, pid, uid, kind in tokens_keys(500, 200, miss_every=0):
        assert by_lines.get(cc, pid, uid, kind) == by_array.get(cc, pid, uid, kind) is not None
    assert len(by_lines) == 500
    assert (
        sum(by_lines.count(cc, pid) for cc, pid in {(t[0].upper(), t[1].upper()) for t in tokens_keys(500, 500)}) == 500
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\n\n  \r\n", None),
        (b"[]", None),
        (b"", None),
        (tokens_ndjson(3) + b"\n{}", "missing field `country_code` at line 1 column 2 - at line 4; nothing was loaded"),
        (b"\n" + tokens_ndjson(2) + b"\nnot json\n", r"Invalid token JSON: .* - at line 4; nothing was loaded"),
        (b"[" + tokens_json(0).encode() + b",{}]", "missing field `country_code` .* - at index 1; nothing was loaded"),
        (b"[" + tokens_json(0).encode(), "EOF while parsing a list"),
        (b"[] []", "Invalid token list JSON: trailing characters"),
        (b'[{"uid": 1}]', r"Invalid token JSON: invalid type: integer `1`.* - at index 0"),
        (
            tokens_ndjson(2).replace(b'"uid":"', b'"uid":"\xc3\xa9', 1),
            "Field `uid` must be printable ASCII .* at line 1",
        ),
    ],
)
def test_token_cache_load_is_all_or_nothing_and_names_the_bad_record(data: bytes, message: str | None) -> None:
    cache = cache_with(tokens_token(999, country_code="NL", party_id="TNM", uid="KEEP", type="RFID"))
    if message is None:
        assert cache.load(data) == (0, 0)
    else:
        with pytest.raises(CoreError, match=message):
            cache.load(data)
    assert len(cache) == 1
    assert cache.get("NL", "TNM", "KEEP") is not None


def test_token_cache_load_later_duplicate_wins() -> None:
    first = tokens_token(1, valid=True)
    second = tokens_token(1, valid=False)
    cache = TokenCache()
    assert cache.load(encode(first) + b"\n" + encode(second)) == (1, 1)
    stored = cache.get(first["country_code"], first["party_id"], first["uid"], first["type"])
    assert stored is not None
    assert TOKEN.decode(stored).valid is False


# -- remove, len, count, clear, batch, memory -----------------------------------------------------------


def test_token_cache_remove_count_len_clear() -> None:
    cache = TokenCache()
    cache.load(tokens_ndjson(100))
    token = tokens_token(5)
    assert cache.count(token["country_code"], token["party_id"]) == 5
    assert cache.remove(token["country_code"].lower(), token["party_id"], token["uid"].lower(), token["type"]) is True
    assert cache.remove(token["country_code"], token["party_id"], token["uid"], token["type"]) is False
    assert cache.count(token["country_code"], token["party_id"]) == 4
    assert cache.count("XX", "YYY") == 0
    assert cache.count("XXX", "YYY") == 0
    assert len(cache) == 99
    assert "tokens=99" in repr(cache)
    cache.clear()
    assert len(cache) == 0
    assert cache.count(token["country_code"], token["party_id"]) == 0
    assert cache.load(tokens_ndjson(10)) == (10, 0)


def test_token_cache_churn_keeps_answers_and_memory_bounded() -> None:
    """Replacing and removing tokens again and again (records left behind, then compacted) changes no answer."""
    cache = TokenCache(shards=2)
    data = tokens_ndjson(2000)
    cache.load(data)
    baseline = cache.memory_bytes()
    for round_ in range(6):
        assert cache.load(data) == (0, 2000)
        for i in range(round_, 2000, 7):
            token = tokens_token(i)
            assert cache.remove(token["country_code"], token["party_id"], token["uid"], token["type"]) is True
            assert cache.put(encode(token)) is True
    assert len(cache) == 2000
    assert cache.memory_bytes() < 3 * baseline
    for i in range(0, 2000, 13):
        token = tokens_token(i)
        body = cache.get(token["country_code"], token["party_id"], token["uid"], token["type"])
        assert body is not None
        assert TOKEN.decode(body) == TOKEN.decode(tokens_json(i))


@pytest.mark.parametrize(
    "overrides",
    [
        {"uid": 'A"B\\C', "contract_id": 'C"1\\'},
        {"party_id": 'T"\\', "group_id": '"G"'},
        {"issuer": 'The "New" \\ Motion', "visual_number": 'é"\\é'},
        {"energy_contract": {"supplier_name": 'S"\\', "contract_id": 'E"\\'}},
    ],
)
def test_token_cache_renders_quotes_and_backslashes_like_msgspec(overrides: dict[str, Any]) -> None:
    token = tokens_token(1, type="RFID", **overrides)
    cache = cache_with(token)
    _, _, body = cache.authorize(token["country_code"], token["party_id"], token["uid"], "RFID")
    expected = encode(
        TOKEN.decode(
            encode(token | {"country_code": token["country_code"].upper(), "party_id": token["party_id"].upper()})
        )
    )
    assert body == expected


@pytest.mark.parametrize(
    "last_updated",
    [
        "2015-06-29T20:39:09Z",
        "2015-06-29T20:39:09.1Z",
        "2015-06-29T20:39:09.120",
        "2015-06-29T20:39:09.000001Z",
        "2015-06-29T20:39:09.9999994Z",
        "0999-03-01T09:09:09.09Z",
    ],
)
def test_token_cache_renders_dates_with_the_bytes_msgspec_and_the_store_write(last_updated: str) -> None:
    # An authorisation answered from the cache and a GET answered from the store show the same bytes.
    token = tokens_token(1, type="RFID", last_updated=last_updated)
    cache = cache_with(token)
    _, _, body = cache.authorize(token["country_code"], token["party_id"], token["uid"], "RFID")
    assert body == encode(TOKEN.decode(encode(token)))


def test_token_cache_authorize_many_equals_one_by_one() -> None:
    cache = TokenCache(allowed_policy="REALTIME")
    cache.load(tokens_ndjson(300))
    keys = tokens_keys(300, 100)
    for reachable in (True, False):
        batch = msgspec.json.decode(cache.authorize_many(msgspec.json.encode(keys), emsp_reachable=reachable))
        for key, answer in zip(keys, batch, strict=True):
            action, allowed, token = cache.authorize(*key, emsp_reachable=reachable)
            assert (answer["action"], answer["allowed"]) == (action, allowed)
            assert answer["token"] == (msgspec.json.decode(token) if token is not None else None)
    with pytest.raises(CoreError, match="Invalid authorisation request list JSON"):
        cache.authorize_many(b'[["NL","TNM","x"]]')


def test_token_cache_memory_per_token_is_small() -> None:
    cache = TokenCache()
    cache.load(tokens_ndjson(20_000))
    assert cache.memory_bytes() / len(cache) < 200


# -- concurrency -----------------------------------------------------------------------------------------


def test_token_cache_concurrent_readers_never_see_a_torn_token() -> None:
    """A writer flips tokens between two versions (field by field consistent); readers must see one or the other."""
    n = 200
    versions = [
        [
            tokens_token(
                i,
                contract_id=f"V{v}C{i}",
                visual_number=f"V{v}-{i}",
                group_id=f"V{v}G",
                valid=v == 0,
                last_updated=f"203{v}-01-01T00:00:00Z",
            )
            for i in range(n)
        ]
        for v in (0, 1)
    ]
    bodies = [[encode(t) for t in version] for version in versions]
    bulk = [b"\n".join(version) for version in bodies]
    cache = TokenCache(shards=2)
    cache.load(bulk[0])
    keys = [(t["country_code"], t["party_id"], t["uid"], t["type"]) for t in versions[0]]
    stop = threading.Event()
    torn: list[str] = []

    def read() -> None:
        while not stop.is_set():
            for key in keys[::7]:
                _, _, body = cache.authorize(*key)
                token = TOKEN.decode(body) if body is not None else None
                if token is None:
                    torn.append(f"missing {key}")
                    continue
                v = token.contract_id[1]
                consistent = (
                    token.visual_number is not None
                    and token.visual_number.startswith(f"V{v}-")
                    and token.group_id == f"V{v}G"
                    and token.valid == (v == "0")
                    and token.last_updated.year == 2030 + int(v)
                )
                if not consistent:
                    torn.append(str(token))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for round_ in range(30):
            v = (round_ + 1) % 2
            if round_ % 2:
                cache.load(bulk[v])
            else:
                for body in bodies[v]:
                    cache.put(body)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert torn == []
    assert len(cache) == n
