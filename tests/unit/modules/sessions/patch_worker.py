"""A worker process of test_concurrent_patches: its own store, its own locks, a burst of Session PATCHes.

In a module of its own so that a spawned interpreter can import it (pytest's importlib mode gives test
modules names no other process can import).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import msgspec

from gateway.modules.sessions.models import SessionPatch
from gateway.modules.sessions.service import patch_own_session
from gateway.store import create_store
from tests.api.sessions_cdrs.conftest import make_period

if TYPE_CHECKING:
    import multiprocessing.synchronize

WORKERS = 3
PATCHES_EACH = 8


def _patches(worker: int) -> list[SessionPatch]:
    minutes = [worker * PATCHES_EACH + n for n in range(PATCHES_EACH)]
    return [
        msgspec.convert(
            {
                "charging_periods": [make_period(f"2020-03-09T11:{m:02d}:00Z", float(m))],
                "last_updated": f"2020-03-09T11:{m:02d}:00Z",
            },
            SessionPatch,
            strict=False,
        )
        for m in minutes
    ]


def run_worker(url: str, worker: int, start: multiprocessing.synchronize.Event) -> None:
    async def run() -> None:
        store = create_store(url)
        await store.open()
        try:
            start.wait(30)
            await asyncio.gather(*(patch_own_session(store, "NL", "GWY", "S1", p) for p in _patches(worker)))
        finally:
            await store.close()

    asyncio.run(run())


