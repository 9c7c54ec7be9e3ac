"""The exception map: unknown paths, wrong methods, unexpected errors: always an OCPI envelope, never a trace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from litestar import get

from tests.api.conftest import REGISTERED_TOKEN, token_header

if TYPE_CHECKING:
    from litestar.testing import TestClient


@get("/ocpi/2.2.1/cpo/broken")
async def broken() -> None:
    """A handler with a bug."""
    raise RuntimeError("secret internal detail")


@pytest.fixture
def extra_routes() -> list[Any]:
    return [broken]


def test_unknown_path_is_404_envelope(client: TestClient[Any]) -> None:
    response = client.get("/ocpi/2.2.1/cpo/nothing-here", headers=token_header(REGISTERED_TOKEN))
    assert response.status_code == 404
    assert response.json()["status_code"] == 2000


def test_wrong_method_is_405_envelope(client: TestClient[Any]) -> None:
    response = client.delete("/ocpi/versions", headers=token_header(REGISTERED_TOKEN))
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000


def test_unexpected_error_is_3000_without_detail(client: TestClient[Any]) -> None:
    response = client.get("/ocpi/2.2.1/cpo/broken", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 500
    body = response.json()
    assert body["status_code"] == 3000
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-request-id"] == "trace-me"
