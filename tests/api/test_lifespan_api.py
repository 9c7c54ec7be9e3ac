"""The app's lifespan: start-up objects leave the collector's way while serving, and come back at shutdown."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

from litestar.testing import TestClient

from gateway.app import create_app

if TYPE_CHECKING:
    from litestar.types import ControllerRouterHandler

    from gateway.settings import Settings


def test_start_up_objects_are_frozen_while_serving_and_given_back_at_shutdown(
    seeded: Settings, extra_routes: list[ControllerRouterHandler]
) -> None:
    gc.unfreeze()
    client: TestClient[Any]
    with TestClient(create_app(seeded, extra_routes), base_url="http://gateway.test") as client:
        assert client.get("/api/health").status_code == 200
        assert gc.get_freeze_count() > 1000  # the routes, models and clients start-up made
    assert gc.get_freeze_count() == 0
