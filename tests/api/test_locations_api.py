"""Locations over HTTP on both stores: the eMSP Receiver (PUT/PATCH/GET of Location, EVSE, Connector), the CPO
Sender (paginated list and single objects) and the back-office /api/locations (upsert and EVSE status)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks.data import locations_connector, locations_evse, locations_location
from gateway.store import Partner, PartnerRole, create_store
from tests.api.conftest import REGISTERED_TOKEN, dual_role_settings, token_header

if TYPE_CHECKING:
    from litestar.testing import TestClient

    from gateway.settings import Settings

RECEIVER = "/ocpi/2.2.1/emsp/locations"
SENDER = "/ocpi/2.2.1/cpo/locations"
API = {"Authorization": "Bearer back-office-key"}
CPO_TOKEN = "cpo-partner-token"
CPO = token_header(CPO_TOKEN)
"""A CPO partner owning the parties of every spec example and DE/CPO."""
PARTIES = (("BE", "BEC"), ("SE", "EVC"), ("NL", "ALF"), ("NL", "ALL"), ("DE", "ALL"), ("DE", "CPO"))
LOCATION_EXAMPLES = (
    "location_example.json",
    "location_example_uc2_destination_charger.json",
    "location_example_uc3_destination_charger_not_published.json",
    "location_example_uc4_limited_visibility.json",
    "location_example_uc5_home_charge_point.json",
    "location_example_parking_garage_opening_hours.json",
)


def _examples() -> Path:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "ocpi" / "examples" / "locations"
        if candidate.is_dir():
            return candidate
    pytest.fail("shared/ocpi/examples/locations not found above the checkout")


def example(name: str) -> dict[str, Any]:
    """A spec example as a dict."""
    return json.loads((_examples() / name).read_bytes())  # type: ignore[no-any-return]


@pytest.fixture(params=["sqlite", "redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    """A platform playing CPO and eMSP (NL/GWY), on each store."""
    return dual_role_settings(request, tmp_path)


async def _add_cpo_partner(store_url: str) -> None:
    store = create_store(store_url)
    await store.open()
    now = datetime.now(UTC)
    try:
        await store.add_partner(
            Partner(
                id="cpo",
                roles=tuple(PartnerRole(country_code=c, party_id=p, role="CPO") for c, p in PARTIES),
                state="REGISTERED",
                token_in=CPO_TOKEN,
                created=now,
                last_updated=now,
            )
        )
    finally:
        await store.close()


@pytest.fixture
def seeded(seeded: Settings) -> Settings:
    """The shared seeding plus a registered CPO partner owning the example parties."""
    asyncio.run(_add_cpo_partner(seeded.store))
    return seeded


def loc_url(location: dict[str, Any], *rest: str) -> str:
    """The Receiver URL of a Location (and of an EVSE/Connector in it)."""
    return "/".join((RECEIVER, location["country_code"], location["party_id"], location["id"], *rest))


def theirs(location_id: str = "LOC1", **changes: Any) -> dict[str, Any]:
    """A Location of the CPO partner's party DE/CPO."""
    return locations_location(location_id, country_code="DE", party_id="CPO", **changes)


def _get(client: TestClient[Any], url: str) -> Any:
    return client.get(url, headers=CPO)


def _data(client: TestClient[Any], url: str) -> Any:
    response = _get(client, url)
    assert response.status_code == 200, response.text
    return response.json()["data"]


# -- eMSP Receiver ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LOCATION_EXAMPLES)
def test_receiver_spec_example_round_trips(client: TestClient[Any], name: str) -> None:
    location = example(name)
    created = client.put(loc_url(location), json=location, headers=CPO)
    assert (created.status_code, created.json()["status_code"]) == (201, 1000)
    assert "data" not in created.json()
    assert _data(client, loc_url(location)) == location
    again = client.put(loc_url(location), json=location, headers=CPO)
    assert (again.status_code, again.json()["status_code"]) == (200, 1000)
    evse = location["evses"][0]
    assert _data(client, loc_url(location, evse["uid"])) == evse
    connector = evse["connectors"][0]
    assert _data(client, loc_url(location, evse["uid"], connector["id"])) == connector


def test_receiver_ids_compare_without_case(client: TestClient[Any]) -> None:
    location = theirs("loc-a")
    assert client.put(f"{RECEIVER}/de/cpo/LOC-A", json=location, headers=CPO).status_code == 201
    assert _data(client, f"{RECEIVER}/DE/CPO/loc-a/LOC-A-1")["uid"] == "loc-a-1"


def test_receiver_put_evse_replaces_or_adds_and_bumps_location(client: TestClient[Any]) -> None:
    location = theirs()
    client.put(loc_url(location), json=location, headers=CPO)
    replaced = locations_evse("LOC1-1", stamp=100, status="BLOCKED", connectors=1)
    response = client.put(loc_url(location, "LOC1-1"), json=replaced, headers=CPO)
    assert (response.status_code, response.json()["status_code"]) == (200, 1000)
    added = locations_evse("LOC1-9", stamp=200)
    assert client.put(loc_url(location, "LOC1-9"), json=added, headers=CPO).status_code == 201
    stored = _data(client, loc_url(location))
    assert [e["uid"] for e in stored["evses"]] == ["LOC1-1", "LOC1-2", "LOC1-9"]
    assert stored["evses"][0] == replaced
    assert stored["last_updated"] == added["last_updated"] == "2024-01-01T00:03:20Z"


def test_receiver_put_connector_bumps_evse_and_location(client: TestClient[Any]) -> None:
    location = theirs()
    client.put(loc_url(location), json=location, headers=CPO)
    connector = locations_connector("2", stamp=300, max_amperage=16)
    response = client.put(loc_url(location, "LOC1-2", "2"), json=connector, headers=CPO)
    assert response.status_code == 200
    assert (
        client.put(loc_url(location, "LOC1-2", "3"), json=locations_connector("3", stamp=400), headers=CPO).status_code
        == 201
    )
    stored = _data(client, loc_url(location))
    evse = stored["evses"][1]
    assert evse["connectors"][1] == connector
    assert [c["id"] for c in evse["connectors"]] == ["1", "2", "3"]
    assert evse["last_updated"] == stored["last_updated"] == "2024-01-01T00:06:40Z"
    assert stored["evses"][0]["last_updated"] == "2024-01-01T00:00:00Z"


def test_receiver_children_of_unknown_objects_are_404(client: TestClient[Any]) -> None:
    location = theirs()
    evse = client.put(loc_url(location, "LOC1-1"), json=locations_evse("LOC1-1"), headers=CPO)
    assert (evse.status_code, evse.json()["status_code"]) == (404, 2001)
    client.put(loc_url(location), json=location, headers=CPO)
    connector = client.put(loc_url(location, "NOPE", "1"), json=locations_connector("1"), headers=CPO)
    assert (connector.status_code, connector.json()["status_code"]) == (404, 2001)
    for url in (loc_url(theirs("OTHER")), loc_url(location, "NOPE"), loc_url(location, "LOC1-1", "9")):
        response = _get(client, url)
        assert (response.status_code, response.json()["status_code"]) == (404, 2001)
    assert "NOPE" not in json.dumps(_data(client, loc_url(location)))


def test_receiver_patches_with_spec_examples_and_parent_rules(client: TestClient[Any]) -> None:
    location = example("location_example.json")
    client.put(loc_url(location), json=location, headers=CPO)
    name = client.patch(loc_url(location), json=example("location_patch_example_location.json"), headers=CPO)
    assert (name.status_code, name.json()["status_code"]) == (200, 1000)
    assert "data" not in name.json()
    stored = _data(client, loc_url(location))
    assert (stored["name"], stored["last_updated"]) == ("Interparking Gent Zuid", "2019-06-24T12:39:09Z")
    assert stored["evses"] == location["evses"]

    status = example("location_patch_example_status.json") | {"last_updated": "2019-06-25T00:00:00Z"}
    assert client.patch(loc_url(location, "3256"), json=status, headers=CPO).status_code == 200
    stored = _data(client, loc_url(location))
    assert stored["evses"][0]["status"] == "CHARGING"
    assert stored["evses"][0]["last_updated"] == stored["last_updated"] == "2019-06-25T00:00:00Z"
    assert stored["evses"][0]["connectors"] == location["evses"][0]["connectors"]

    tariff = example("location_patch_example_tariff.json") | {"last_updated": "2019-06-26T00:00:00Z"}
    assert client.patch(loc_url(location, "3257", "1"), json=tariff, headers=CPO).status_code == 200
    stored = _data(client, loc_url(location))
    connector = stored["evses"][1]["connectors"][0]
    assert connector == location["evses"][1]["connectors"][0] | tariff
    assert stored["evses"][1]["last_updated"] == stored["last_updated"] == "2019-06-26T00:00:00Z"

    removed = client.patch(
        loc_url(location, "3257"), json=example("location_patch_example_remove_evse.json"), headers=CPO
    )
    assert removed.status_code == 200
    assert _data(client, loc_url(location, "3257"))["status"] == "REMOVED"  # retired, never deleted


def test_receiver_patch_lists_replace_stored_lists(client: TestClient[Any]) -> None:
    location = theirs(evses=3, facilities=["CAFE", "WIFI"])
    client.put(loc_url(location), json=location, headers=CPO)
    only = locations_evse("LOC1-2", stamp=50)
    body = {"evses": [only], "facilities": ["HOTEL"], "last_updated": "2024-02-01T00:00:00Z"}
    assert client.patch(loc_url(location), json=body, headers=CPO).status_code == 200
    stored = _data(client, loc_url(location))
    assert (stored["evses"], stored["facilities"]) == ([only], ["HOTEL"])
    connectors = {"connectors": [locations_connector("7")], "last_updated": "2024-02-02T00:00:00Z"}
    assert client.patch(loc_url(location, "LOC1-2"), json=connectors, headers=CPO).status_code == 200
    assert [c["id"] for c in _data(client, loc_url(location, "LOC1-2"))["connectors"]] == ["7"]


def test_receiver_patch_needs_last_updated_and_a_known_object(client: TestClient[Any]) -> None:
    location = theirs()
    unknown = client.patch(loc_url(location), json={"name": "x", "last_updated": "2024-02-01T00:00:00Z"}, headers=CPO)
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2001)
    assert _get(client, loc_url(location)).status_code == 404
    client.put(loc_url(location), json=location, headers=CPO)
    for url in (loc_url(location), loc_url(location, "LOC1-1"), loc_url(location, "LOC1-1", "1")):
        missing = client.patch(url, json={"name": "x", "status": "CHARGING", "max_voltage": 400}, headers=CPO)
        assert missing.json()["status_code"] == 2001
    for url in (loc_url(location, "NOPE"), loc_url(location, "LOC1-1", "NOPE")):
        response = client.patch(url, json={"last_updated": "2024-02-01T00:00:00Z"}, headers=CPO)
        assert (response.status_code, response.json()["status_code"]) == (404, 2001)
    assert _data(client, loc_url(location)) == location


def test_receiver_refuses_other_parties_and_mismatched_ids(client: TestClient[Any]) -> None:
    foreign = locations_location("LOC1", country_code="FR", party_id="XXX")
    assert client.put(loc_url(foreign), json=foreign, headers=CPO).status_code == 404
    registered = token_header(REGISTERED_TOKEN)  # DE/EMS: may not write DE/CPO's locations
    location = theirs()
    assert client.put(loc_url(location), json=location, headers=registered).status_code == 404
    client.put(loc_url(location), json=location, headers=CPO)
    assert client.get(loc_url(location), headers=registered).status_code == 404
    assert (
        client.patch(
            loc_url(location), json={"name": "x", "last_updated": "2024-02-01T00:00:00Z"}, headers=registered
        ).status_code
        == 404
    )
    mismatches = [
        (f"{RECEIVER}/DE/CPO/LOC2", theirs("LOC1")),
        (f"{RECEIVER}/DE/ALL/LOC1", theirs("LOC1")),
        (loc_url(location, "LOC1-2"), locations_evse("LOC1-1")),
        (loc_url(location, "LOC1-1", "2"), locations_connector("1")),
    ]
    for url, body in mismatches:
        response = client.put(url, json=body, headers=CPO)
        assert response.json()["status_code"] == 2001, url
    patch = client.patch(
        loc_url(location, "LOC1-1"), json={"uid": "LOC1-2", "last_updated": "2024-02-01T00:00:00Z"}, headers=CPO
    )
    assert patch.json()["status_code"] == 2001
    assert _get(client, f"{RECEIVER}/DE/CPO/LOC2").status_code == 404
    assert _get(client, f"{RECEIVER}/DE/ALL/LOC1").status_code == 404
    assert _data(client, loc_url(location)) == location
    assert client.get(loc_url(location)).status_code == 401


BAD_LOCATIONS = {
    "wrong-type": {"publish": "yes"},
    "over-long": {"city": "c" * 46},
    "unknown-enum": {"parking_type": "ROOFTOP"},
    "missing-required": {"coordinates": None},
    "offset-datetime": {"last_updated": "2024-01-01T00:00:00+01:00"},
    "bad-connector": {"evses": [locations_evse("E", connectors=1) | {"connectors": [{"id": "1"}]}]},
    "no-connectors": {"evses": [locations_evse("E") | {"connectors": []}]},
    "bad-status": {"evses": [locations_evse("E") | {"status": "ON_FIRE"}]},
    "not-an-object": None,
}


@pytest.mark.parametrize("changes", BAD_LOCATIONS.values(), ids=BAD_LOCATIONS.keys())
def test_receiver_bad_bodies_store_nothing(client: TestClient[Any], changes: dict[str, Any] | None) -> None:
    location = theirs()
    body: Any = [location] if changes is None else location | changes
    response = client.put(loc_url(location), json=body, headers=CPO)
    assert (response.status_code, response.json()["status_code"]) == (200, 2001), response.text
    assert _get(client, loc_url(location)).status_code == 404


def test_receiver_bad_child_bodies_change_nothing(client: TestClient[Any]) -> None:
    location = theirs()
    client.put(loc_url(location), json=location, headers=CPO)
    attempts = [
        ("put", loc_url(location, "LOC1-1"), locations_evse("LOC1-1", status="BROKEN")),
        ("put", loc_url(location, "LOC1-1"), locations_evse("LOC1-1", floor_level="12345")),
        ("put", loc_url(location, "LOC1-1", "1"), locations_connector("1", max_voltage="230")),
        ("put", loc_url(location, "LOC1-1", "1"), locations_connector("1", standard="SCHUKO")),
        ("patch", loc_url(location), {"name": "n" * 256, "last_updated": "2024-02-01T00:00:00Z"}),
        ("patch", loc_url(location), {"evses": [], "publish": 1, "last_updated": "2024-02-01T00:00:00Z"}),
        ("patch", loc_url(location, "LOC1-1"), {"status": "PARKED", "last_updated": "2024-02-01T00:00:00Z"}),
        ("patch", loc_url(location, "LOC1-1"), {"connectors": [], "last_updated": "2024-02-01T00:00:00Z"}),
        ("patch", loc_url(location, "LOC1-1", "1"), {"tariff_ids": ["t" * 37], "last_updated": "2024-02-01"}),
    ]
    for method, url, body in attempts:
        response = client.request(method.upper(), url, json=body, headers=CPO)
        assert (response.status_code, response.json()["status_code"]) == (200, 2001), (url, body)
    assert _data(client, loc_url(location)) == location


def test_receiver_invalid_json_is_400(client: TestClient[Any]) -> None:
    location = theirs()
    client.put(loc_url(location), json=location, headers=CPO)
    headers = {**CPO, "Content-Type": "application/json"}
    for method, url in (
        ("PUT", loc_url(theirs("LOC2"))),
        ("PATCH", loc_url(location)),
        ("PUT", loc_url(location, "LOC1-1")),
        ("PATCH", loc_url(location, "LOC1-1", "1")),
    ):
        response = client.request(method, url, content=b'{"id": ', headers=headers)
        assert (response.status_code, response.json()["status_code"]) == (400, 2001)
    assert _data(client, loc_url(location)) == location


def test_receiver_validation_status_can_be_400(seeded: Settings) -> None:
    from litestar.testing import TestClient

    from gateway.app import create_app

    app = create_app(seeded.with_changes(validation_http_status=400))
    with TestClient(app, base_url="http://gateway.test") as client:
        location = theirs(publish="yes")
        response = client.put(loc_url(location), json=location, headers=CPO)
        assert (response.status_code, response.json()["status_code"]) == (400, 2001)


# -- back-office API and CPO Sender -------------------------------------------------------------------------------
def _api_put(client: TestClient[Any], location: dict[str, Any]) -> Any:
    return client.put(f"/api/locations/{location['id']}", json=location, headers=API)


def test_api_put_location_then_sender_serves_it(client: TestClient[Any]) -> None:
    location = locations_location()
    created = _api_put(client, location)
    assert created.status_code == 201
    change = created.json()
    assert (change["method"], change["location_id"], change["created"]) == ("PUT", "LOC1", True)
    assert change["body"] == location
    assert _api_put(client, location).status_code == 200
    assert client.get("/api/locations/loc1", headers=API).json() == location
    assert _data(client, f"{SENDER}/LOC1") == location
    assert _data(client, f"{SENDER}/LOC1/LOC1-2") == location["evses"][1]
    assert _data(client, f"{SENDER}/LOC1/LOC1-2/2") == location["evses"][1]["connectors"][1]
    for url in (f"{SENDER}/NOPE", f"{SENDER}/LOC1/NOPE", f"{SENDER}/LOC1/LOC1-2/9"):
        response = _get(client, url)
        assert (response.status_code, response.json()["status_code"]) == (404, 2001)
    assert client.get(f"{SENDER}/LOC1").status_code == 401


def test_api_put_location_stamps_missing_last_updated(client: TestClient[Any]) -> None:
    location = locations_location()
    del (
        location["last_updated"],
        location["evses"][0]["last_updated"],
        location["evses"][0]["connectors"][0]["last_updated"],
    )
    before = datetime.now(UTC).replace(microsecond=0)
    assert _api_put(client, location).status_code == 201
    stored = client.get("/api/locations/LOC1", headers=API).json()
    stamp = datetime.fromisoformat(stored["last_updated"])
    assert stamp >= before
    assert (
        stored["evses"][0]["last_updated"]
        == stored["evses"][0]["connectors"][0]["last_updated"]
        == stored["last_updated"]
    )
    assert stored["evses"][1]["last_updated"] == "2024-01-01T00:00:00Z"


def test_api_refuses_foreign_owner_bad_bodies_and_missing_key(client: TestClient[Any]) -> None:
    foreign = locations_location(country_code="DE", party_id="CPO")
    assert (_api_put(client, foreign).status_code, _api_put(client, foreign).json()["status_code"]) == (400, 2001)
    mismatch = client.put("/api/locations/OTHER", json=locations_location(), headers=API)
    assert mismatch.json()["status_code"] == 2001
    bad = _api_put(client, locations_location(parking_type="ROOFTOP"))
    assert (bad.status_code, bad.json()["status_code"]) == (400, 2001)
    broken = client.put("/api/locations/LOC1", content=b"{", headers={**API, "Content-Type": "application/json"})
    assert (broken.status_code, broken.json()["status_code"]) == (400, 2001)
    assert client.get("/api/locations/LOC1", headers=API).status_code == 404
    assert client.put("/api/locations/LOC1", json=locations_location()).status_code == 401
    assert client.post("/api/locations/LOC1/evses/LOC1-1/status", json={"status": "CHARGING"}).status_code == 401


def test_api_status_update_shows_in_sender(client: TestClient[Any]) -> None:
    _api_put(client, locations_location(evses=3))
    url = "/api/locations/LOC1/evses/loc1-2/status"
    response = client.post(url, json={"status": "CHARGING", "last_updated": "2025-03-01T12:00:00Z"}, headers=API)
    assert response.status_code == 200
    change = response.json()
    assert (change["method"], change["evse_uid"], change.get("connector_id")) == ("PATCH", "LOC1-2", None)
    assert change["body"] == {"status": "CHARGING", "last_updated": "2025-03-01T12:00:00Z"}
    assert change["location_last_updated"] == "2025-03-01T12:00:00Z"
    location = _data(client, f"{SENDER}/LOC1")
    assert location["evses"][1]["status"] == "CHARGING"
    assert location["evses"][1]["last_updated"] == location["last_updated"] == "2025-03-01T12:00:00Z"
    assert location["evses"][0]["status"] == "AVAILABLE"
    assert _data(client, f"{SENDER}/LOC1/LOC1-2")["status"] == "CHARGING"
    page = client.get(SENDER, params={"date_from": "2025-03-01T12:00:00Z"}, headers=CPO)
    assert [loc["id"] for loc in page.json()["data"]] == ["LOC1"]
    stamped = client.post(url, json={"status": "AVAILABLE"}, headers=API).json()
    assert stamped["last_updated"] > "2025-03-01T12:00:00Z"
    assert _data(client, f"{SENDER}/LOC1")["last_updated"] == stamped["last_updated"]


def test_api_status_update_refusals(client: TestClient[Any]) -> None:
    _api_put(client, locations_location())
    for url in ("/api/locations/NOPE/evses/LOC1-1/status", "/api/locations/LOC1/evses/NOPE/status"):
        response = client.post(url, json={"status": "CHARGING"}, headers=API)
        assert (response.status_code, response.json()["status_code"]) == (404, 2001)
    for body in ({"status": "ON_FIRE"}, {}, {"status": "CHARGING", "last_updated": "yesterday"}):
        response = client.post("/api/locations/LOC1/evses/LOC1-1/status", json=body, headers=API)
        assert (response.status_code, response.json()["status_code"]) == (400, 2001)
    assert client.get("/api/locations/LOC1", headers=API).json() == locations_location()


def test_api_put_evse_upserts_and_bumps_location(client: TestClient[Any]) -> None:
    missing = client.put("/api/locations/LOC1/evses/E9", json=locations_evse("E9"), headers=API)
    assert missing.status_code == 404
    _api_put(client, locations_location())
    evse = locations_evse("E9", stamp=500)
    created = client.put("/api/locations/LOC1/evses/E9", json=evse, headers=API)
    assert (created.status_code, created.json()["created"]) == (201, True)
    assert created.json()["location_last_updated"] == evse["last_updated"]
    replaced = client.put("/api/locations/LOC1/evses/e9", json=evse | {"status": "PLANNED"}, headers=API)
    assert replaced.status_code == 200
    location = _data(client, f"{SENDER}/LOC1")
    assert [e["uid"] for e in location["evses"]] == ["LOC1-1", "LOC1-2", "E9"]
    assert (location["evses"][2]["status"], location["last_updated"]) == ("PLANNED", evse["last_updated"])
    mismatch = client.put("/api/locations/LOC1/evses/E8", json=evse, headers=API)
    assert (mismatch.status_code, mismatch.json()["status_code"]) == (400, 2001)


def test_sender_paginates_with_date_filters(client: TestClient[Any]) -> None:
    for n in range(25):
        _api_put(client, locations_location(f"LOC{n:02}", stamp=n, evses=1))
    first = client.get(SENDER, headers=CPO)
    assert first.status_code == 200
    assert (first.headers["X-Total-Count"], first.headers["X-Limit"]) == ("25", "20")
    assert [loc["id"] for loc in first.json()["data"]] == [f"LOC{n:02}" for n in range(20)]
    assert first.headers["Link"] == f'<http://gateway.test{SENDER}?offset=20&limit=20>; rel="next"'
    second = client.get(f"{SENDER}?offset=20&limit=20", headers=CPO)
    assert [loc["id"] for loc in second.json()["data"]] == [f"LOC{n:02}" for n in range(20, 25)]
    assert "Link" not in second.headers
    window = client.get(
        SENDER,
        params={"date_from": "2024-01-01T00:00:05Z", "date_to": "2024-01-01T00:00:10Z", "limit": "3"},
        headers=CPO,
    )
    assert window.headers["X-Total-Count"] == "5"
    assert [loc["id"] for loc in window.json()["data"]] == ["LOC05", "LOC06", "LOC07"]
    assert "date_from=2024-01-01T00%3A00%3A05Z" in window.headers["Link"]
    client.post("/api/locations/LOC03/evses/LOC03-1/status", json={"status": "CHARGING"}, headers=API)
    last = client.get(f"{SENDER}?offset=24", headers=CPO).json()["data"]
    assert [loc["id"] for loc in last] == ["LOC03"]  # a changed location moves to the end of the order
    assert client.get(f"{SENDER}?offset=-1", headers=CPO).json()["status_code"] == 2001


def test_locations_published_in_version_details_and_slash_forms_route(client: TestClient[Any]) -> None:
    endpoints = client.get("/ocpi/2.2.1", headers=CPO).json()["data"]["endpoints"]
    assert {"identifier": "locations", "role": "SENDER", "url": f"http://gateway.test{SENDER}/"} in endpoints
    assert {"identifier": "locations", "role": "RECEIVER", "url": f"http://gateway.test{RECEIVER}/"} in endpoints
    _api_put(client, locations_location())
    assert _get(client, f"{SENDER}/").json()["data"][0]["id"] == "LOC1"
    assert _get(client, f"{SENDER}/LOC1/").json()["data"]["id"] == "LOC1"
    location = theirs()
    assert client.put(f"{RECEIVER}//DE/CPO/LOC1", json=location, headers=CPO).status_code == 201
