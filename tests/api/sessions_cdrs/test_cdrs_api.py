"""CDRs over HTTP, on both stores: the eMSP Receiver (POST with Location, idempotent repeats,
immutability, credit CDRs, owners, bad input, GET at the Location) and the CPO Sender (lists per
recipient with date filters), plus the own-CDR service API."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from gateway.modules.cdrs.models import CDR
from gateway.modules.cdrs.service import RECEIVED_CDRS, CdrConflictError, InvalidCdrError, add_own_cdr, get_own_cdr
from tests.api.conftest import REGISTERED_TOKEN, token_header
from tests.api.sessions_cdrs.conftest import CPO_TOKEN, HUB_TOKEN, OTHER_TOKEN, example, make_cdr

if TYPE_CHECKING:
    from litestar.testing import TestClient

BASE = "/ocpi/2.2.1/emsp/cdrs"
SENDER = "/ocpi/2.2.1/cpo/cdrs"
CPO = token_header(CPO_TOKEN)


def _post(client: TestClient[Any], cdr: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> Any:
    if isinstance(cdr, bytes):
        return client.post(BASE, content=cdr, headers={**(headers or CPO), "Content-Type": "application/json"})
    return client.post(BASE, json=cdr, headers=headers or CPO)


def _location_path(answer: Any) -> str:
    location: str = answer.headers["location"]
    assert location.startswith("http://gateway.test/ocpi/2.2.1/emsp/cdrs/")
    return location.removeprefix("http://gateway.test")


def test_receiver_example_post_then_get_equal(client: TestClient[Any]) -> None:
    cdr = example("cdrs/cdr_example.json")
    answer = _post(client, cdr)
    assert (answer.status_code, answer.json()["status_code"]) == (201, 1000)
    assert "data" not in answer.json()
    assert answer.headers["location"] == "http://gateway.test/ocpi/2.2.1/emsp/cdrs/BE/BEC/12345"
    got = client.get(_location_path(answer), headers=CPO)
    assert (got.status_code, got.json()["data"]) == (200, cdr)


def test_receiver_repeat_is_idempotent_and_a_change_is_refused(client: TestClient[Any]) -> None:
    cdr = make_cdr(id="abc-1")
    first = _post(client, cdr)
    again = _post(client, cdr)
    assert (again.status_code, again.json()["status_code"]) == (200, 1000)
    assert (
        again.headers["location"]
        == first.headers["location"]
        == "http://gateway.test/ocpi/2.2.1/emsp/cdrs/BE/BEC/ABC-1"
    )
    spaced = msgspec.json.encode(cdr).replace(b",", b", ")  # the same CDR, formatted differently
    assert _post(client, spaced).json()["status_code"] == 1000
    changed = _post(client, make_cdr(id="abc-1", total_cost={"excl_vat": 5.0}))
    assert (changed.status_code, changed.json()["status_code"]) == (200, 2001)
    assert "immutable" in changed.json()["status_message"]
    assert "location" not in changed.headers
    assert client.get(_location_path(first), headers=CPO).json()["data"] == cdr
    assert client.get(f"{BASE}/be/bec/abc-1", headers=CPO).json()["data"] == cdr


def test_receiver_credit_cdrs(client: TestClient[Any]) -> None:
    original = make_cdr(id="C100")
    credit = make_cdr(
        id="C100-C", credit=True, credit_reference_id="c100", total_cost={"excl_vat": -4.0, "incl_vat": -4.4}
    )
    unknown = _post(client, credit)
    assert (unknown.json()["status_code"], "credit_reference_id" in unknown.json()["status_message"]) == (2001, True)
    assert _post(client, original).status_code == 201
    assert _post(client, credit).status_code == 201
    assert client.get(f"{BASE}/BE/BEC/C100-C", headers=CPO).json()["data"]["credit"] is True
    no_reference = _post(client, make_cdr(id="C101-C", credit=True))
    assert no_reference.json()["status_code"] == 2001
    self_reference = _post(client, make_cdr(id="C102", credit=True, credit_reference_id="C102"))
    assert self_reference.json()["status_code"] == 2001
    other_owner = _post(
        client, make_cdr(id="C103-C", country_code="NL", party_id="STK", credit=True, credit_reference_id="C100")
    )
    assert other_owner.json()["status_code"] == 2001
    long_credit = _post(client, make_cdr(id="C" * 36 + "-CR", credit=True, credit_reference_id="C100"))
    assert long_credit.status_code == 201
    assert _post(client, make_cdr(id="C" * 37)).json()["status_code"] == 2001


def test_receiver_refuses_other_owners(client: TestClient[Any]) -> None:
    foreign = _post(client, make_cdr(country_code="FR", party_id="EVB"))
    assert (foreign.status_code, foreign.json()["status_code"]) == (200, 2001)
    assert client.get(f"{BASE}/FR/EVB/12345", headers=CPO).status_code == 404
    _post(client, make_cdr())
    stranger = client.get(f"{BASE}/BE/BEC/12345", headers=token_header(REGISTERED_TOKEN))
    assert (stranger.status_code, stranger.json()["status_code"]) == (404, 2001)
    assert client.get(f"{BASE}/BE/BEC/nope", headers=CPO).status_code == 404
    assert client.post(BASE, json=make_cdr()).status_code == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"total_energy": "a lot"},
        {"auth_method": "PIN"},
        {"id": "x" * 40},
        {"currency": None},
        {"charging_periods": []},
        {"last_updated": "2015-06-29T23:40:00+01:00"},
        {"end_date_time": None},
        {"cdr_location": {"id": "LOC1", "address": "a" * 256}},
        {"tariffs": [{"id": "12"}]},
        {"cdr_token": {"country_code": "DE", "party_id": "EMS", "uid": "1", "type": "KEY", "contract_id": "c"}},
        {"signed_data": {"encoding_method": "OCMF", "signed_values": []}},
    ],
)
def test_receiver_bad_cdrs_store_nothing(client: TestClient[Any], changes: dict[str, Any]) -> None:
    answer = _post(client, make_cdr(**changes))
    assert (answer.status_code, answer.json()["status_code"]) == (200, 2001)
    assert "location" not in answer.headers
    assert client.get(f"{BASE}/BE/BEC/12345", headers=CPO).status_code == 404


@pytest.mark.parametrize("body", [b"{", b"", b'{"id": "1",', b"\xff"])
def test_receiver_invalid_json_is_400(client: TestClient[Any], body: bytes) -> None:
    answer = _post(client, body)
    assert (answer.status_code, answer.json()["status_code"]) == (400, 2001)


@pytest.mark.parametrize("body", [b"[]", b"null", b"{}", b"17"])
def test_receiver_json_of_the_wrong_shape_is_2001(client: TestClient[Any], body: bytes) -> None:
    answer = _post(client, body)
    assert answer.json()["status_code"] == 2001
    assert answer.status_code in (200, 400)


def test_receiver_accepts_session_only_dimensions_it_should_not_get(client: TestClient[Any]) -> None:
    period = {
        "start_date_time": "2015-06-29T21:39:09Z",
        "dimensions": [{"type": "TIME", "volume": 1.973}, {"type": "POWER", "volume": 11}],
    }
    assert _post(client, make_cdr(charging_periods=[period])).status_code == 201


def test_receiver_put_patch_delete_are_not_allowed(client: TestClient[Any]) -> None:
    _post(client, make_cdr())
    url = f"{BASE}/BE/BEC/12345"
    for method in ("put", "patch", "delete"):
        kwargs = {"json": make_cdr()} if method != "delete" else {}
        assert getattr(client, method)(url, headers=CPO, **kwargs).status_code == 405


# -- CPO Sender and the own-CDR service ----------------------------------------------------------


def _own(cdr_id: str, minute: int, emsp: str = "EMS", **changes: Any) -> CDR:
    data = make_cdr(
        cdr_id, country_code="NL", party_id="GWY", last_updated=f"2021-01-01T10:{minute:02d}:00Z", **changes
    )
    data["cdr_token"]["party_id"] = emsp
    return msgspec.json.decode(msgspec.json.encode(data), type=CDR)


def test_sender_lists_only_the_callers_cdrs_with_date_filters(client: TestClient[Any], with_store: Any) -> None:
    async def seed(store: Any) -> None:
        for minute in range(5):
            assert await add_own_cdr(store, _own(f"D{minute}", minute))
        await add_own_cdr(store, _own("OTHER", 3, emsp="OTH"))

    with_store(seed)
    mine = client.get(SENDER, headers=token_header(REGISTERED_TOKEN))
    assert [c["id"] for c in mine.json()["data"]] == ["D0", "D1", "D2", "D3", "D4"]
    assert mine.json()["data"][0] == json.loads(msgspec.json.encode(_own("D0", 0)))
    window = client.get(f"{SENDER}?date_from=2021-01-01T10:02:00Z&limit=2", headers=token_header(REGISTERED_TOKEN))
    assert [c["id"] for c in window.json()["data"]] == ["D2", "D3"]
    assert window.headers["x-total-count"] == "3"
    assert "offset=2" in window.headers["link"]
    until = client.get(f"{SENDER}?date_to=2021-01-01T10:02:00Z", headers=token_header(REGISTERED_TOKEN))
    assert [c["id"] for c in until.json()["data"]] == ["D0", "D1"]
    assert [c["id"] for c in client.get(SENDER, headers=token_header(OTHER_TOKEN)).json()["data"]] == ["OTHER"]
    hub = client.get(f"{SENDER}?date_from=2021-01-01T10:03:00Z", headers=token_header(HUB_TOKEN))
    assert [c["id"] for c in hub.json()["data"]] == ["D3", "OTHER", "D4"]
    assert client.get(SENDER, headers=token_header(CPO_TOKEN)).json()["data"] == []


def test_add_own_cdr_is_immutable(with_store: Any) -> None:
    cdr = _own("D1", 1)
    assert with_store(lambda store: add_own_cdr(store, cdr)) is True
    assert with_store(lambda store: add_own_cdr(store, cdr)) is False
    changed = _own("D1", 1, total_cost={"excl_vat": 1.0})
    with pytest.raises(CdrConflictError, match="immutable"):
        with_store(lambda store: add_own_cdr(store, changed))
    assert with_store(lambda store: get_own_cdr(store, "nl", "gwy", "d1")) == cdr
    with pytest.raises(InvalidCdrError, match="credit_reference_id"):
        with_store(lambda store: add_own_cdr(store, _own("D9-C", 2, credit=True, credit_reference_id="D9")))
    credit = _own("D1-C", 2, credit=True, credit_reference_id="D1", total_cost={"excl_vat": -4.0, "incl_vat": -4.4})
    assert with_store(lambda store: add_own_cdr(store, credit)) is True
    power = {"start_date_time": "2015-06-29T21:39:09Z", "dimensions": [{"type": "POWER", "volume": 11}]}
    with pytest.raises(InvalidCdrError, match="POWER"):
        with_store(lambda store: add_own_cdr(store, _own("D2", 2, charging_periods=[power])))
    assert with_store(lambda store: store.count_objects(RECEIVED_CDRS)) == 0


@pytest.mark.parametrize("cdr_id", ["A B", "A/B", "A%B", "A?B#"])
def test_receiver_location_works_for_any_printable_id(client: TestClient[Any], cdr_id: str) -> None:
    answer = client.post(f"{BASE}/", json=make_cdr(cdr_id), headers=CPO)  # the published form ends in /
    assert answer.status_code == 201
    got = client.get(_location_path(answer), headers=CPO)
    assert (got.status_code, got.json()["data"]["id"]) == (200, cdr_id)


def test_modules_are_published_for_our_roles(client: TestClient[Any]) -> None:
    endpoints = client.get("/ocpi/2.2.1", headers=CPO).json()["data"]["endpoints"]
    published = {(e["identifier"], e["role"], e["url"]) for e in endpoints}
    assert {
        ("sessions", "SENDER", "http://gateway.test/ocpi/2.2.1/cpo/sessions/"),
        ("sessions", "RECEIVER", "http://gateway.test/ocpi/2.2.1/emsp/sessions/"),
        ("cdrs", "SENDER", "http://gateway.test/ocpi/2.2.1/cpo/cdrs/"),
        ("cdrs", "RECEIVER", "http://gateway.test/ocpi/2.2.1/emsp/cdrs/"),
    } <= published
