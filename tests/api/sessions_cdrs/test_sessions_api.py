"""Sessions over HTTP, on both stores: the eMSP Receiver (PUT/PATCH/GET, the charging_periods rules,
owners, bad input) and the CPO Sender (lists per recipient with date filters, charging preferences)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from gateway.modules.sessions.models import Session, SessionPatch
from gateway.modules.sessions.service import (
    SESSION_PREFERENCES,
    UnknownSessionError,
    get_own_session,
    patch_own_session,
    put_own_session,
    session_key,
)
from tests.api.conftest import REGISTERED_TOKEN, token_header
from tests.api.sessions_cdrs.conftest import (
    CPO_TOKEN,
    HUB_TOKEN,
    OTHER_TOKEN,
    example,
    make_period,
    make_session,
)

if TYPE_CHECKING:
    from litestar.testing import TestClient

BASE = "/ocpi/2.2.1/emsp/sessions"
SENDER = "/ocpi/2.2.1/cpo/sessions"
CPO = token_header(CPO_TOKEN)


def _url(session: dict[str, Any]) -> str:
    return f"{BASE}/{session['country_code']}/{session['party_id']}/{session['id']}"


def _put(client: TestClient[Any], session: dict[str, Any], url: str | None = None) -> Any:
    return client.put(url or _url(session), json=session, headers=CPO)


def _get(client: TestClient[Any], url: str) -> Any:
    return client.get(url, headers=CPO)


# -- eMSP Receiver -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["session_example_1_simple_start.json", "session_example_2_short_finished.json"])
def test_receiver_example_put_then_get_equal(client: TestClient[Any], name: str) -> None:
    session = example(f"sessions/{name}")
    first = _put(client, session)
    assert (first.status_code, first.json()["status_code"]) == (201, 1000)
    assert "data" not in first.json()
    assert _get(client, _url(session)).json()["data"] == session
    again = _put(client, session)
    assert (again.status_code, again.json()["status_code"]) == (200, 1000)


def test_receiver_example_patches_apply(client: TestClient[Any]) -> None:
    session = make_session(country_code="NL", party_id="STK", status="ACTIVE")
    _put(client, session)
    for name in ("session_patch_example_total_cost.json", "session_patch_example_charging_period.json"):
        answer = client.patch(_url(session), json=example(f"sessions/{name}"), headers=CPO)
        assert (answer.status_code, answer.json()["status_code"]) == (200, 1000)
    got = _get(client, _url(session)).json()["data"]
    period = example("sessions/session_patch_example_charging_period.json")
    assert got["kwh"] == 15.0
    assert got["total_cost"] == {"excl_vat": 0.80, "incl_vat": 0.88}
    assert got["charging_periods"] == period["charging_periods"]
    assert got["last_updated"] == "2019-06-23T08:16:02Z"


def test_receiver_patch_appends_periods_and_put_clears_them(client: TestClient[Any]) -> None:
    session = make_session(charging_periods=[make_period("2020-03-09T10:17:09Z", 1.0)])
    _put(client, session)
    url = _url(session)
    for i, start in enumerate(["2020-03-09T10:30:00Z", "2020-03-09T10:45:00Z"]):
        patch = {"charging_periods": [make_period(start, 2.0 + i)], "last_updated": start}
        assert client.patch(url, json=patch, headers=CPO).json()["status_code"] == 1000
    unchanged = {"charging_periods": [], "status": "ACTIVE", "last_updated": "2020-03-09T10:50:00Z"}
    assert client.patch(url, json=unchanged, headers=CPO).json()["status_code"] == 1000
    got = _get(client, url).json()["data"]
    assert [p["dimensions"][0]["volume"] for p in got["charging_periods"]] == [1.0, 2.0, 3.0]
    assert got["status"] == "ACTIVE"
    # Other lists do not exist in a Session; a replaced object is the replaced cdr_token (no merging inside).
    token = {**session["cdr_token"], "uid": "OTHERUID"}
    client.patch(url, json={"cdr_token": token, "last_updated": "2020-03-09T10:51:00Z"}, headers=CPO)
    assert _get(client, url).json()["data"]["cdr_token"] == token
    _put(client, make_session())  # no charging_periods: the stored ones are cleared
    assert "charging_periods" not in _get(client, url).json()["data"]


def test_receiver_patch_rules(client: TestClient[Any]) -> None:
    session = make_session()
    _put(client, session)
    url = _url(session)
    missing = client.patch(url, json={"kwh": 2.0}, headers=CPO)
    assert (missing.status_code, missing.json()["status_code"]) == (200, 2001)
    unknown = client.patch(
        f"{BASE}/NL/STK/NOPE", json={"kwh": 2.0, "last_updated": "2020-03-09T10:20:00Z"}, headers=CPO
    )
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2001)
    assert _get(client, f"{BASE}/NL/STK/NOPE").status_code == 404
    other_id = client.patch(url, json={"id": "999", "last_updated": "2020-03-09T10:20:00Z"}, headers=CPO)
    assert other_id.json()["status_code"] == 2001
    case_only = client.patch(
        f"{BASE}/nl/stk/101", json={"party_id": "stk", "kwh": 4.0, "last_updated": "2020-03-09T10:20:00Z"}, headers=CPO
    )
    assert case_only.json()["status_code"] == 1000
    assert _get(client, url).json()["data"]["kwh"] == 4.0


def test_receiver_refuses_other_owners(client: TestClient[Any]) -> None:
    foreign = make_session(country_code="FR", party_id="EVB")
    assert _put(client, foreign).status_code == 404
    assert client.patch(_url(foreign), json={"last_updated": "2020-03-09T10:20:00Z"}, headers=CPO).status_code == 404
    _put(client, make_session())
    stranger = client.get(f"{BASE}/NL/STK/101", headers=token_header(REGISTERED_TOKEN))
    assert (stranger.status_code, stranger.json()["status_code"]) == (404, 2001)
    mismatch = _put(client, make_session("AAA"), f"{BASE}/NL/STK/BBB")
    assert mismatch.json()["status_code"] == 2001
    assert _get(client, f"{BASE}/NL/STK/BBB").status_code == 404
    assert _get(client, f"{BASE}/NL/STK/AAA").status_code == 404
    assert client.get(f"{BASE}/NL/STK/101").status_code == 401


BAD_SESSIONS: list[dict[str, Any]] = [
    {"kwh": "lots"},
    {"status": "RESERVED"},
    {"id": "x" * 37},
    {"currency": "EURO"},
    {"last_updated": None},
    {"start_date_time": "2020-03-09T10:17:09+02:00"},
    {"cdr_token": {"uid": "1"}},
    {"charging_periods": [{"start_date_time": "2020-03-09T10:17:09Z", "dimensions": [{"type": "X", "volume": 1}]}]},
    {"meter_id": "m" * 256},
    {"auth_method": None},
]


@pytest.mark.parametrize("changes", BAD_SESSIONS)
def test_receiver_bad_put_stores_nothing(client: TestClient[Any], changes: dict[str, Any]) -> None:
    session = make_session(**changes) if "id" not in changes else make_session(changes["id"])
    answer = _put(client, session, f"{BASE}/NL/STK/101")
    assert (answer.status_code, answer.json()["status_code"]) == (200, 2001)
    assert _get(client, f"{BASE}/NL/STK/101").status_code == 404


BAD_PATCHES = [c for c in BAD_SESSIONS if None not in c.values()] + [
    {"last_updated": "yesterday"},
    {"country_code": "FR"},
    {"total_cost": {"incl_vat": 1.0}},
]


@pytest.mark.parametrize("changes", BAD_PATCHES)
def test_receiver_bad_patch_changes_nothing(client: TestClient[Any], changes: dict[str, Any]) -> None:
    session = make_session()
    _put(client, session)
    answer = client.patch(_url(session), json={"last_updated": "2020-03-09T11:00:00Z", **changes}, headers=CPO)
    assert (answer.status_code, answer.json()["status_code"]) == (200, 2001)
    assert _get(client, _url(session)).json()["data"] == session


def test_receiver_patch_null_is_absent(client: TestClient[Any]) -> None:
    session = make_session()
    _put(client, session)
    answer = client.patch(
        _url(session), json={"auth_method": None, "last_updated": "2020-03-09T11:00:00Z"}, headers=CPO
    )
    assert answer.json()["status_code"] == 1000
    assert _get(client, _url(session)).json()["data"]["auth_method"] == "WHITELIST"


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("body", [b"{", b"", b"[1, 2", b"\xff\xfe"])
def test_receiver_invalid_json_is_400(client: TestClient[Any], method: str, body: bytes) -> None:
    answer = getattr(client, method)(
        f"{BASE}/NL/STK/101", content=body, headers={**CPO, "Content-Type": "application/json"}
    )
    assert (answer.status_code, answer.json()["status_code"]) == (400, 2001)


@pytest.mark.parametrize("body", [b"[]", b"null", b"42", b'"session"', b"{}"])
def test_receiver_json_of_the_wrong_shape_is_2001(client: TestClient[Any], body: bytes) -> None:
    for method in ("put", "patch"):
        answer = getattr(client, method)(
            f"{BASE}/NL/STK/101", content=body, headers={**CPO, "Content-Type": "application/json"}
        )
        assert answer.json()["status_code"] == 2001
        assert answer.status_code in (200, 400)


def test_receiver_over_long_url_segments_are_refused(client: TestClient[Any]) -> None:
    answer = _get(client, f"{BASE}/NL/STK/{'x' * 37}")
    assert (answer.status_code, answer.json()["status_code"]) == (400, 2001)


# -- CPO Sender ----------------------------------------------------------------------------------


def _own(session_id: str, minute: int, emsp: str = "EMS", **changes: Any) -> Session:
    data = make_session(
        session_id, country_code="NL", party_id="GWY", last_updated=f"2021-01-01T10:{minute:02d}:00Z", **changes
    )
    data["cdr_token"]["party_id"] = emsp
    return msgspec.json.decode(msgspec.json.encode(data), type=Session)


def test_sender_lists_only_the_callers_sessions_with_date_filters(client: TestClient[Any], with_store: Any) -> None:
    async def seed(store: Any) -> None:
        for minute in range(5):
            assert await put_own_session(store, _own(f"S{minute}", minute))
        await put_own_session(store, _own("OTHER", 2, emsp="OTH"))

    with_store(seed)
    mine = client.get(SENDER, headers=token_header(REGISTERED_TOKEN))
    assert [s["id"] for s in mine.json()["data"]] == ["S0", "S1", "S2", "S3", "S4"]
    assert mine.headers["x-total-count"] == "5"
    window = client.get(
        f"{SENDER}?date_from=2021-01-01T10:01:00Z&date_to=2021-01-01T10:04:00Z&limit=2",
        headers=token_header(REGISTERED_TOKEN),
    )
    assert [s["id"] for s in window.json()["data"]] == ["S1", "S2"]
    assert (window.headers["x-total-count"], window.headers["x-limit"]) == ("3", "20")
    link = window.headers["link"]
    assert "date_from=2021-01-01T10%3A01%3A00Z" in link
    assert "offset=2" in link
    next_page = client.get(link.split(";")[0].strip("<>"), headers=token_header(REGISTERED_TOKEN))
    assert [s["id"] for s in next_page.json()["data"]] == ["S3"]
    assert "link" not in next_page.headers
    assert [s["id"] for s in client.get(SENDER, headers=token_header(OTHER_TOKEN)).json()["data"]] == ["OTHER"]
    hub = client.get(f"{SENDER}?offset=1&limit=3", headers=token_header(HUB_TOKEN))
    assert [s["id"] for s in hub.json()["data"]] == ["S1", "S2", "OTHER"]  # ties: by party, as the store orders
    assert hub.headers["x-total-count"] == "6"
    assert client.get(f"{SENDER}?date_from=yesterday", headers=token_header(REGISTERED_TOKEN)).status_code == 400


def test_sender_list_follows_a_token_owner_change(client: TestClient[Any], with_store: Any) -> None:
    with_store(lambda store: put_own_session(store, _own("S1", 1)))
    with_store(lambda store: put_own_session(store, _own("S1", 2, emsp="OTH")))
    assert client.get(SENDER, headers=token_header(REGISTERED_TOKEN)).json()["data"] == []
    assert len(client.get(SENDER, headers=token_header(OTHER_TOKEN)).json()["data"]) == 1


def test_own_session_service_put_patch_get(with_store: Any) -> None:
    assert with_store(lambda store: put_own_session(store, _own("S1", 1))) is True
    assert with_store(lambda store: put_own_session(store, _own("S1", 1))) is False
    patch = msgspec.json.decode(
        msgspec.json.encode(
            {
                "charging_periods": [make_period("2021-01-01T10:05:00Z")],
                "status": "ACTIVE",
                "last_updated": "2021-01-01T10:05:00Z",
            }
        ),
        type=SessionPatch,
    )
    merged = with_store(lambda store: patch_own_session(store, "nl", "gwy", "s1", patch))
    assert (merged.status, len(merged.charging_periods)) == ("ACTIVE", 1)
    with_store(lambda store: patch_own_session(store, "NL", "GWY", "S1", patch))
    got = with_store(lambda store: get_own_session(store, "NL", "GWY", "S1"))
    assert len(got.charging_periods) == 2
    with pytest.raises(UnknownSessionError):
        with_store(lambda store: patch_own_session(store, "NL", "GWY", "NOPE", patch))


PREFS = {"profile_type": "FAST", "departure_time": "2021-01-01T18:00:00Z", "energy_need": 30}


def test_charging_preferences(client: TestClient[Any], with_store: Any) -> None:
    with_store(lambda store: put_own_session(store, _own("S1", 1, status="ACTIVE")))
    with_store(lambda store: put_own_session(store, _own("S2", 1, status="COMPLETED")))
    url = f"{SENDER}/S1/charging_preferences"
    accepted = client.put(url, json=PREFS, headers=token_header(REGISTERED_TOKEN))
    assert (accepted.status_code, accepted.json()["status_code"], accepted.json()["data"]) == (200, 1000, "ACCEPTED")
    stored = with_store(lambda store: store.get_object(SESSION_PREFERENCES, session_key("NL", "GWY", "S1")))
    assert msgspec.json.decode(stored.data)["profile_type"] == "FAST"
    done = client.put(f"{SENDER}/s2/charging_preferences", json=PREFS, headers=token_header(REGISTERED_TOKEN))
    assert done.json()["data"] == "NOT_POSSIBLE"
    unknown = client.put(f"{SENDER}/NOPE/charging_preferences", json=PREFS, headers=token_header(REGISTERED_TOKEN))
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2001)
    not_theirs = client.put(url, json=PREFS, headers=token_header(OTHER_TOKEN))
    assert not_theirs.status_code == 404
    bad = client.put(url, json={"profile_type": "SLOW"}, headers=token_header(REGISTERED_TOKEN))
    assert (bad.status_code, bad.json()["status_code"]) == (200, 2001)
    broken = client.put(
        url, content=b"{", headers={**token_header(REGISTERED_TOKEN), "Content-Type": "application/json"}
    )
    assert (broken.status_code, broken.json()["status_code"]) == (400, 2001)
    assert client.put(f"{SENDER}/S1", json=PREFS, headers=token_header(REGISTERED_TOKEN)).status_code in (404, 405)
