"""The Tariffs module over HTTP, both roles, on SQLite and Redis: Receiver (eMSP), Sender (CPO) and the
back-office tariff API."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.store import Partner, PartnerRole, create_store
from tests.api.conftest import REGISTERED_TOKEN, dual_role_settings, run, token_header

if TYPE_CHECKING:
    from litestar.testing import TestClient

    from gateway.settings import Settings

EXAMPLES = Path(__file__).parent / "spec_examples" / "tariffs"  # copied from shared/ocpi/examples/tariffs
INVALID_EXAMPLES = {"tariff_put_example.json"}  # marked ⚠ in examples/INDEX.md: lacks last_updated
CPO_TOKEN = "cpo-partner-token"  # partner hosting the CPO DE/ALL (the owner in the spec's examples)
OTHER_CPO_TOKEN = "other-cpo-token"  # partner hosting the CPO NL/OTH
HUB_TOKEN = "hub-token"
RECEIVER = "/ocpi/2.2.1/emsp/tariffs"
SENDER = "/ocpi/2.2.1/cpo/tariffs"
API_KEY = {"Authorization": "Bearer back-office-key"}
LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def _valid_examples() -> list[Path]:
    if not EXAMPLES.is_dir():
        pytest.fail(f"spec examples missing at {EXAMPLES}")
    return sorted(p for p in EXAMPLES.glob("*.json") if p.name not in INVALID_EXAMPLES)


def _tariff(tariff_id: str = "T1", **changes: Any) -> dict[str, Any]:
    """A small valid tariff of DE/ALL; ``changes`` replace top-level fields (``None`` removes one)."""
    tariff: dict[str, Any] = {
        "country_code": "DE",
        "party_id": "ALL",
        "id": tariff_id,
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 10.0, "step_size": 1}]}],
        "last_updated": "2024-05-01T10:00:00Z",
    }
    tariff.update(changes)
    return {k: v for k, v in tariff.items() if v is not None}


def _partner(partner_id: str, token: str, country_code: str, party_id: str, role: str) -> Partner:
    now = datetime.now(UTC)
    return Partner(
        id=partner_id,
        roles=(PartnerRole(country_code=country_code, party_id=party_id, role=role),),
        state="REGISTERED",
        token_in=token,
        created=now,
        last_updated=now,
    )


async def _seed(store_url: str) -> None:
    store = create_store(store_url)
    await store.open()
    try:
        for partner in (
            _partner("emsp", REGISTERED_TOKEN, "DE", "EMS", "EMSP"),
            _partner("cpo", CPO_TOKEN, "DE", "ALL", "CPO"),
            _partner("other", OTHER_CPO_TOKEN, "NL", "OTH", "CPO"),
            _partner("hub", HUB_TOKEN, "EU", "HUB", "HUB"),
        ):
            await store.add_partner(partner)
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A platform that is both CPO and eMSP (NL/GWY), on each store backend."""
    return dual_role_settings(request, tmp_path)


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    run(_seed(settings.store))
    return settings


def _put(client: TestClient[Any], path: str, body: Any, token: str = CPO_TOKEN) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.put(f"{RECEIVER}/{path}", content=content, headers=token_header(token))


def _get(client: TestClient[Any], path: str, token: str = CPO_TOKEN) -> Any:
    return client.get(f"{RECEIVER}/{path}", headers=token_header(token))


# ---- Receiver (eMSP) ----------------------------------------------------------------------------------------


def test_version_details_publish_both_interfaces(client: TestClient[Any]) -> None:
    endpoints = client.get("/ocpi/2.2.1", headers=token_header(CPO_TOKEN)).json()["data"]["endpoints"]
    tariffs = {(e["role"], e["url"]) for e in endpoints if e["identifier"] == "tariffs"}
    assert tariffs == {
        ("SENDER", "http://gateway.test/ocpi/2.2.1/cpo/tariffs/"),
        ("RECEIVER", "http://gateway.test/ocpi/2.2.1/emsp/tariffs/"),
    }


@pytest.mark.parametrize("example", _valid_examples(), ids=lambda p: p.stem)
def test_receiver_spec_examples_round_trip(client: TestClient[Any], example: Path) -> None:
    tariff = json.loads(example.read_bytes())
    path = f"{tariff['country_code']}/{tariff['party_id']}/{tariff['id']}"
    created = _put(client, path, example.read_bytes())
    assert (created.status_code, created.json()["status_code"]) == (201, 1000)
    assert "data" not in created.json()
    got = _get(client, path)
    assert (got.status_code, got.json()["status_code"]) == (200, 1000)
    assert got.json()["data"] == tariff
    replaced = _put(client, path, example.read_bytes())
    assert (replaced.status_code, replaced.json()["status_code"]) == (200, 1000)


def test_receiver_refuses_the_spec_put_example_without_last_updated(client: TestClient[Any]) -> None:
    body = (EXAMPLES / "tariff_put_example.json").read_bytes()  # marked not valid in examples/INDEX.md
    response = _put(client, "DE/ALL/12", body)
    assert (response.status_code, response.json()["status_code"]) == (200, 2001)
    assert "last_updated" in response.json()["status_message"]
    assert _get(client, "DE/ALL/12").status_code == 404


def test_receiver_put_replaces_the_whole_tariff(client: TestClient[Any]) -> None:
    _put(client, "DE/ALL/T1", _tariff(type="REGULAR", tariff_alt_url="https://cpo.example/t1"))
    _put(client, "DE/ALL/T1", _tariff(currency="CHF"))
    data = _get(client, "DE/ALL/T1").json()["data"]
    assert data["currency"] == "CHF"
    assert "type" not in data
    assert "tariff_alt_url" not in data


def test_receiver_ids_are_case_insensitive_and_unknown_fields_dropped(client: TestClient[Any]) -> None:
    body = _tariff("abc", country_code="de", party_id="all", colour="green")
    assert _put(client, "de/all/abc", body).status_code == 201
    got = _get(client, "DE/ALL/ABC").json()
    assert got["status_code"] == 1000
    assert got["data"]["id"] == "abc"
    assert "colour" not in got["data"]
    assert _put(client, "DE/ALL/ABC", _tariff("ABC")).status_code == 200


def test_receiver_stores_exact_decimals_and_utc_datetimes(client: TestClient[Any]) -> None:
    body = b'{"country_code": "DE", "party_id": "ALL", "id": "D1", "currency": "EUR", "elements": [{"price_components": [{"type": "TIME", "price": 0.123456789012345678901, "step_size": 60}]}], "last_updated": "2024-05-01T10:00:00"}'  # noqa: E501
    assert _put(client, "DE/ALL/D1", body).status_code == 201
    raw = _get(client, "DE/ALL/D1").content
    assert b'"price":0.123456789012345678901' in raw
    assert b'"last_updated":"2024-05-01T10:00:00Z"' in raw


def test_receiver_delete(client: TestClient[Any]) -> None:
    _put(client, "DE/ALL/T1", _tariff())
    deleted = client.delete(f"{RECEIVER}/DE/ALL/T1", headers=token_header(CPO_TOKEN))
    assert (deleted.status_code, deleted.json()["status_code"]) == (200, 1000)
    assert "data" not in deleted.json()
    assert _get(client, "DE/ALL/T1").status_code == 404
    again = client.delete(f"{RECEIVER}/DE/ALL/T1", headers=token_header(CPO_TOKEN))
    assert (again.status_code, again.json()["status_code"]) == (404, 2001)


def test_receiver_unknown_tariff_is_404(client: TestClient[Any]) -> None:
    response = _get(client, "DE/ALL/NOPE")
    assert (response.status_code, response.json()["status_code"]) == (404, 2001)


@pytest.mark.parametrize(
    ("token", "path"),
    [
        (CPO_TOKEN, "NL/OTH/T1"),  # another CPO's party
        (OTHER_CPO_TOKEN, "DE/ALL/T1"),
        (REGISTERED_TOKEN, "DE/EMS/T1"),  # the caller's own party, but an eMSP owns no tariffs
    ],
)
def test_receiver_refuses_foreign_owners_with_404(client: TestClient[Any], token: str, path: str) -> None:
    cc, pid, tid = path.split("/")
    response = _put(client, path, _tariff(tid, country_code=cc, party_id=pid), token=token)
    assert (response.status_code, response.json()["status_code"]) == (404, 2001)
    assert _get(client, path, token=token).status_code == 404
    assert client.delete(f"{RECEIVER}/{path}", headers=token_header(token)).status_code == 404


def test_receiver_cannot_read_or_delete_another_partners_tariff(client: TestClient[Any]) -> None:
    _put(client, "DE/ALL/T1", _tariff())
    assert _get(client, "DE/ALL/T1", token=OTHER_CPO_TOKEN).status_code == 404
    assert client.delete(f"{RECEIVER}/DE/ALL/T1", headers=token_header(OTHER_CPO_TOKEN)).status_code == 404
    assert _get(client, "DE/ALL/T1").json()["data"]["id"] == "T1"


def test_receiver_accepts_a_hub_pushing_for_a_party(client: TestClient[Any]) -> None:
    assert _put(client, "DE/ALL/T1", _tariff(), token=HUB_TOKEN).status_code == 201
    assert _get(client, "DE/ALL/T1").json()["data"]["id"] == "T1"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("DE/ALL/OTHER", _tariff("T1"), "`id`"),
        ("DE/ALL/T1", _tariff("T1", party_id="XYZ"), "`party_id`"),
        ("DE/ALL/T1", _tariff("T1", country_code="NL"), "`country_code`"),
    ],
)
def test_receiver_url_and_body_must_agree(client: TestClient[Any], path: str, body: Any, field: str) -> None:
    response = _put(client, path, body)
    assert (response.status_code, response.json()["status_code"]) == (200, 2001)
    assert field in response.json()["status_message"]
    assert _get(client, path).status_code == 404


def test_receiver_needs_credentials(client: TestClient[Any]) -> None:
    response = client.put(f"{RECEIVER}/DE/ALL/T1", content=json.dumps(_tariff()).encode())
    assert response.status_code == 401


def _components(**changes: Any) -> list[dict[str, Any]]:
    component = {"type": "ENERGY", "price": 0.25, "step_size": 1, **changes}
    return [{"price_components": [component]}]


BAD_BODIES = [
    pytest.param(_tariff(elements="none"), "$.elements", id="wrong-type-list"),
    pytest.param(_tariff(elements=_components(step_size="1")), "step_size", id="wrong-type-int"),
    pytest.param(_tariff(elements=_components(price=True)), "price", id="wrong-type-number"),
    pytest.param(_tariff(elements=_components(price="0.25")), "price", id="number-as-string"),
    pytest.param(_tariff(elements=_components(step_size=-1)), "step_size", id="negative-step"),
    pytest.param(_tariff(elements=_components(vat=-5)), "vat", id="negative-vat"),
    pytest.param(_tariff(elements=_components(type="KWH")), "type", id="unknown-dimension"),
    pytest.param(_tariff(type="CHEAP"), "$.type", id="unknown-tariff-type"),
    pytest.param(_tariff("X" * 37), "$.id", id="id-too-long"),
    pytest.param(_tariff(tariff_alt_url="https://x/" + "a" * 250), "tariff_alt_url", id="url-too-long"),
    pytest.param(_tariff(tariff_alt_text=[{"language": "en", "text": "x" * 513}]), "text", id="text-too-long"),
    pytest.param(_tariff(currency="EURO"), "currency", id="currency"),
    pytest.param(_tariff(elements=[]), "elements", id="no-elements"),
    pytest.param(_tariff(elements=[{"price_components": []}]), "price_components", id="no-components"),
    pytest.param(_tariff(last_updated=None), "last_updated", id="missing-last-updated"),
    pytest.param(_tariff(last_updated="2024-05-01T10:00:00+02:00"), "last_updated", id="datetime-offset"),
    pytest.param(_tariff(end_date_time="2024-05-01T10:00:00+00:00"), "end_date_time", id="datetime-zero-offset"),
    pytest.param(
        _tariff(
            elements=[
                {"price_components": _components()[0]["price_components"], "restrictions": {"start_time": "24:00"}}
            ]
        ),
        "start_time",
        id="bad-time",
    ),
    pytest.param(
        _tariff(
            elements=[
                {"price_components": _components()[0]["price_components"], "restrictions": {"start_date": "2024-02-30"}}
            ]
        ),
        "start_date",
        id="impossible-date",
    ),
    pytest.param(
        _tariff(
            elements=[
                {"price_components": _components()[0]["price_components"], "restrictions": {"day_of_week": ["FUNDAY"]}}
            ]
        ),
        "day_of_week",
        id="unknown-weekday",
    ),
    pytest.param(_tariff(min_price={"excl_vat": 1e12}), "min_price", id="huge-number"),
    pytest.param(
        _tariff(energy_mix={"is_green_energy": True, "energy_sources": [{"source": "SOLAR", "percentage": 120}]}),
        "percentage",
        id="percentage",
    ),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_receiver_refuses_bad_content_with_2001_naming_the_field(
    client: TestClient[Any], body: Any, field: str
) -> None:
    response = _put(client, "DE/ALL/T1", body)
    assert (response.status_code, response.json()["status_code"]) == (200, 2001)
    assert field in response.json()["status_message"]
    assert _get(client, "DE/ALL/T1").status_code == 404


@pytest.mark.parametrize("body", [b"{", b"", b"not json", b'{"id": "T1",}'])
def test_receiver_refuses_invalid_json_with_400(client: TestClient[Any], body: bytes) -> None:
    response = _put(client, "DE/ALL/T1", body)
    assert (response.status_code, response.json()["status_code"]) == (400, 2001)
    assert _get(client, "DE/ALL/T1").status_code == 404


# ---- back office and Sender (CPO) ---------------------------------------------------------------------------


def _own(tariff_id: str, **changes: Any) -> dict[str, Any]:
    return _tariff(tariff_id, country_code="NL", party_id="GWY", **changes)


def _publish(client: TestClient[Any], body: dict[str, Any]) -> Any:
    return client.put(f"/api/tariffs/{body['id']}", content=json.dumps(body).encode(), headers=API_KEY)


def test_back_office_publishes_reads_and_withdraws(client: TestClient[Any]) -> None:
    created = _publish(client, _own("OWN1", colour="x"))
    assert created.status_code == 201
    assert created.json() == _own("OWN1")
    assert _publish(client, _own("OWN1", currency="CHF")).status_code == 200
    assert client.get("/api/tariffs/own1", headers=API_KEY).json()["currency"] == "CHF"
    assert client.delete("/api/tariffs/OWN1", headers=API_KEY).status_code == 204
    assert client.get("/api/tariffs/OWN1", headers=API_KEY).status_code == 404
    assert client.delete("/api/tariffs/OWN1", headers=API_KEY).status_code == 404


def test_back_office_needs_the_key(client: TestClient[Any]) -> None:
    response = client.put("/api/tariffs/OWN1", content=json.dumps(_own("OWN1")).encode())
    assert response.status_code == 401
    assert client.get("/api/tariffs/OWN1").status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("OWN1", _tariff("OWN1"), "not one of our CPO roles"),  # DE/ALL is a partner, not us
        ("OWN2", _own("OWN1"), "`id`"),
        ("OWN1", _own("OWN1", elements=_components(price="1")), "price"),
    ],
)
def test_back_office_refuses_bad_tariffs(client: TestClient[Any], path: str, body: Any, words: str) -> None:
    response = client.put(f"/api/tariffs/{path}", content=json.dumps(body).encode(), headers=API_KEY)
    assert (response.status_code, response.json()["status_code"]) == (400, 2001)
    assert words in response.json()["status_message"]
    assert client.get(f"/api/tariffs/{path}", headers=API_KEY).status_code == 404


BASE = datetime(2024, 1, 1, tzinfo=UTC)
COUNT = 25


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def published(client: TestClient[Any]) -> TestClient[Any]:
    """25 of our tariffs, each changed a minute after the previous one, published in reverse order."""
    for i in reversed(range(COUNT)):
        assert (
            _publish(client, _own(f"OWN{i:02d}", last_updated=_stamp(BASE + timedelta(minutes=i)))).status_code == 201
        )
    return client


def _next_url(link: str) -> str:
    match = LINK.match(link)
    assert match is not None, link
    return match.group("url")


def _list(client: TestClient[Any], url: str, **headers: str) -> Any:
    return client.get(url, headers={**token_header(REGISTERED_TOKEN), **headers})


def test_sender_lists_our_tariffs_page_by_page(published: TestClient[Any]) -> None:
    seen: list[str] = []
    url: str | None = f"{SENDER}?limit=10"
    pages = 0
    while url is not None and pages < 10:
        response = _list(published, url)
        assert response.json()["status_code"] == 1000
        assert response.headers["x-total-count"] == str(COUNT)
        assert response.headers["x-limit"] == "20"
        seen += [t["id"] for t in response.json()["data"]]
        link = response.headers.get("link")
        url = _next_url(link) if link else None
        pages += 1
    assert seen == [f"OWN{i:02d}" for i in range(COUNT)]
    assert pages == 3


def test_sender_list_filters_by_date_and_caps_the_limit(published: TestClient[Any]) -> None:
    response = _list(published, f"{SENDER}/?date_from={_stamp(BASE + timedelta(minutes=5))}&limit=500")
    body = response.json()["data"]
    assert [t["id"] for t in body] == [f"OWN{i:02d}" for i in range(5, COUNT)]
    assert response.headers["x-total-count"] == str(COUNT - 5)
    assert "link" not in response.headers
    assert body[0] == _own("OWN05", last_updated=_stamp(BASE + timedelta(minutes=5)))
    response = _list(published, f"{SENDER}?limit=1000")
    assert len(response.json()["data"]) == 20
    query = parse_qs(urlsplit(_next_url(response.headers["link"])).query)
    assert query == {"offset": ["20"], "limit": ["20"]}


def test_sender_list_follows_the_routing_headers(published: TestClient[Any]) -> None:
    mine = _list(published, SENDER, **{"OCPI-to-country-code": "NL", "OCPI-to-party-id": "GWY"})
    assert mine.headers["x-total-count"] == str(COUNT)
    other = _list(published, SENDER, **{"OCPI-to-country-code": "NL", "OCPI-to-party-id": "XXX"})
    assert (other.json()["data"], other.headers["x-total-count"]) == ([], "0")


def test_sender_list_does_not_show_received_tariffs(client: TestClient[Any]) -> None:
    _put(client, "DE/ALL/T1", _tariff())
    response = _list(client, SENDER)
    assert (response.json()["data"], response.headers["x-total-count"]) == ([], "0")


def test_sender_list_needs_a_registered_partner(client: TestClient[Any]) -> None:
    assert client.get(SENDER).status_code == 401
