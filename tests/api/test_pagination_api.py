"""Pagination through a real list endpoint: Link, X-Total-Count, X-Limit, date filters, limits, order."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
from litestar import Request, Response, get

from gateway.ocpi.pagination import list_objects_response
from gateway.store import ObjectKey, StoredObject, create_store
from tests.api.conftest import REGISTERED_TOKEN, run, token_header

if TYPE_CHECKING:
    from litestar.testing import TestClient

    from gateway.settings import Settings

BASE = datetime(2026, 1, 1, tzinfo=UTC)
COUNT = 45
LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


@get("/ocpi/2.2.1/cpo/things")
async def things(request: Request[Any, Any, Any]) -> Response[bytes]:
    """A Sender list endpoint over the store's ``things`` objects, as every module's GET list is built."""
    state = request.app.state.gateway
    await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
    return await list_objects_response(request, state, "things")


@pytest.fixture
def extra_routes() -> list[Any]:
    return [things]


async def _fill(store_url: str) -> None:
    store = create_store(store_url)
    await store.open()
    objects = []
    for i in range(COUNT):
        # Every 5 objects share a timestamp: the key decides their order.
        when = BASE + timedelta(minutes=i // 5)
        data = msgspec.json.encode({"id": f"T{i:03d}", "last_updated": when})
        objects.append(StoredObject(key=ObjectKey("NL", "GWY", f"T{i:03d}"), last_updated=when, data=data))
    await store.put_objects("things", objects[::-1])
    await store.close()


@pytest.fixture
def filled(seeded: Settings) -> Settings:
    run(_fill(seeded.store))
    return seeded


def _get(client: TestClient[Any], url: str) -> Any:
    return client.get(url, headers=token_header(REGISTERED_TOKEN))


def test_first_page_headers(filled: Settings, client: TestClient[Any]) -> None:
    response = _get(client, "/ocpi/2.2.1/cpo/things?limit=10")
    body = response.json()
    assert [o["id"] for o in body["data"]] == [f"T{i:03d}" for i in range(10)]
    assert response.headers["x-total-count"] == str(COUNT)
    assert response.headers["x-limit"] == "20"
    url = LINK.match(response.headers["link"]).group("url")
    assert url.startswith("http://gateway.test/ocpi/2.2.1/cpo/things?")
    assert parse_qs(urlsplit(url).query) == {"offset": ["10"], "limit": ["10"]}


def test_following_links_visits_every_object_once(filled: Settings, client: TestClient[Any]) -> None:
    seen: list[str] = []
    url: str | None = "/ocpi/2.2.1/cpo/things?limit=7"
    pages = 0
    while url is not None and pages < 20:
        response = _get(client, url)
        seen += [o["id"] for o in response.json()["data"]]
        link = response.headers.get("link")
        url = LINK.match(link).group("url") if link else None
        pages += 1
    assert seen == [f"T{i:03d}" for i in range(COUNT)]
    assert pages == 7


def test_limit_over_the_maximum_is_capped(filled: Settings, client: TestClient[Any]) -> None:
    response = _get(client, "/ocpi/2.2.1/cpo/things?limit=1000")
    assert len(response.json()["data"]) == 20
    assert response.headers["x-limit"] == "20"
    assert "limit=20" in response.headers["link"]


def test_no_limit_uses_the_maximum_and_last_page_has_no_link(filled: Settings, client: TestClient[Any]) -> None:
    response = _get(client, "/ocpi/2.2.1/cpo/things?offset=40")
    assert [o["id"] for o in response.json()["data"]] == [f"T{i:03d}" for i in range(40, 45)]
    assert "link" not in response.headers
    assert response.headers["x-total-count"] == str(COUNT)


def test_date_filters_are_repeated_in_link(filled: Settings, client: TestClient[Any]) -> None:
    # Minutes 2..5 (inclusive from, exclusive to): objects 10..29.
    url = "/ocpi/2.2.1/cpo/things?date_from=2026-01-01T00:02:00Z&date_to=2026-01-01T00:06:00&limit=15"
    response = _get(client, url)
    assert [o["id"] for o in response.json()["data"]] == [f"T{i:03d}" for i in range(10, 25)]
    assert response.headers["x-total-count"] == "20"
    query = parse_qs(urlsplit(LINK.match(response.headers["link"]).group("url")).query)
    assert query == {
        "date_from": ["2026-01-01T00:02:00Z"],
        "date_to": ["2026-01-01T00:06:00"],
        "offset": ["15"],
        "limit": ["15"],
    }


def test_offset_past_the_end(filled: Settings, client: TestClient[Any]) -> None:
    response = _get(client, "/ocpi/2.2.1/cpo/things?offset=100")
    assert response.json()["data"] == []
    assert response.headers["x-total-count"] == str(COUNT)
    assert "link" not in response.headers


@pytest.mark.parametrize(
    "query",
    ["offset=-1", "limit=ten", "date_from=yesterday", "date_from=2026-01-01T00:00:00%2B02:00",
     "date_from=2026-01-02T00:00:00Z&date_to=2026-01-01T00:00:00Z"],
)
def test_bad_paging_parameters_are_2001(filled: Settings, client: TestClient[Any], query: str) -> None:
    response = _get(client, f"/ocpi/2.2.1/cpo/things?{query}")
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001
