"""Session PATCHes from several worker processes at once (each with its own store connection and its own
in-process locks) are all kept: each write expects the version it read and retries after a conflict."""

from __future__ import annotations

import multiprocessing
from typing import TYPE_CHECKING

import msgspec

from gateway.modules.sessions.models import Session
from gateway.modules.sessions.service import get_own_session, put_own_session
from tests.api.sessions_cdrs.conftest import make_session
from tests.unit.modules.sessions.patch_worker import PATCHES_EACH, WORKERS, run_worker

if TYPE_CHECKING:
    from collections.abc import Callable

    from gateway.store.base import Store

def _url_of(store: Store) -> str:
    path = getattr(store, "path", None)
    return f"sqlite:///{path}" if path is not None else store.url  # type: ignore[attr-defined]


async def test_appended_periods_from_several_workers_are_all_kept(make_store: Callable[[], Store]) -> None:
    store = make_store()
    await store.open()
    try:
        data = make_session("S1", country_code="NL", party_id="GWY", charging_periods=[])
        await put_own_session(store, msgspec.convert(data, Session, strict=False))
        context = multiprocessing.get_context("spawn")
        start = context.Event()
        workers = [context.Process(target=run_worker, args=(_url_of(store), n, start)) for n in range(WORKERS)]
        for process in workers:
            process.start()
        try:
            start.set()
            for process in workers:
                process.join(60)
        finally:
            for process in workers:
                if process.is_alive():
                    process.kill()
                    process.join(5)
        assert [process.exitcode for process in workers] == [0] * WORKERS
        session = await get_own_session(store, "NL", "GWY", "S1")
        assert session is not None
        starts = sorted(period.start_date_time.minute for period in session.charging_periods or ())
        assert starts == list(range(WORKERS * PATCHES_EACH))
    finally:
        await store.close()
