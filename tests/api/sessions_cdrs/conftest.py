"""Fixtures of the Sessions and CDRs HTTP tests: a CPO + eMSP platform (NL/GWY) on both stores, a CPO
partner (NL/STK and BE/BEC, the owners of the spec's examples) beside the seeded eMSP partner DE/EMS,
and factories built from the spec's example files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gateway.store import Partner, PartnerRole, create_store
from tests.api.conftest import dual_role_settings, make_partner, run

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from gateway.settings import Settings
    from gateway.store.base import Store

EXAMPLES = Path(__file__).parents[2] / "unit" / "modules"
"""Holds ``sessions/examples`` and ``cdrs/examples``: the spec's 2.2.1 examples, verbatim (tag v2.2.1-d2)."""
CPO_TOKEN = "cpo-partner-token-321"
HUB_TOKEN = "hub-partner-token-654"
OTHER_TOKEN = "other-emsp-token-987"


def example(name: str) -> dict[str, Any]:
    """One of the spec's example files (sessions/..., cdrs/...) as a dict."""
    module, file = name.split("/")
    loaded: dict[str, Any] = json.loads((EXAMPLES / module / "examples" / file).read_text())
    return loaded


def make_session(session_id: str = "101", **changes: Any) -> dict[str, Any]:
    """A PENDING session of the CPO partner NL/STK for a DE/EMS token (from session_example_1)."""
    session = example("sessions/session_example_1_simple_start.json")
    session["id"] = session_id
    session["cdr_token"].update(country_code="DE", party_id="EMS")
    session.update(copy.deepcopy(changes))
    return session


def make_period(start: str, kwh: float = 1.5) -> dict[str, Any]:
    """A charging period with one ENERGY dimension."""
    return {"start_date_time": start, "dimensions": [{"type": "ENERGY", "volume": kwh}]}


def make_cdr(cdr_id: str = "12345", **changes: Any) -> dict[str, Any]:
    """A CDR of the CPO partner BE/BEC for a DE/EMS token (from cdr_example, coordinates the right way round)."""
    cdr = example("cdrs/cdr_example.json")
    cdr["id"] = cdr_id
    cdr["cdr_token"].update(country_code="DE", party_id="EMS")
    cdr["cdr_location"]["coordinates"] = {"latitude": "51.047599", "longitude": "3.729944"}
    cdr["last_updated"] = "2015-06-29T23:40:00Z"
    cdr.update(copy.deepcopy(changes))
    return cdr


def cpo_partner() -> Partner:
    """A registered CPO partner hosting the example owners NL/STK and BE/BEC."""
    partner = make_partner("cpo", CPO_TOKEN, "REGISTERED")
    return Partner(
        **{
            **{f: getattr(partner, f) for f in partner.__struct_fields__},
            "roles": (
                PartnerRole(country_code="NL", party_id="STK", role="CPO"),
                PartnerRole(country_code="BE", party_id="BEC", role="CPO"),
            ),
        }
    )


def with_roles(partner_id: str, token: str, *parties: str) -> Partner:
    """A registered eMSP partner hosting ``CC/PID`` parties."""
    partner = make_partner(partner_id, token, "REGISTERED")
    roles = tuple(PartnerRole(country_code=p[:2], party_id=p[3:], role="EMSP") for p in parties)
    return Partner(**{**{f: getattr(partner, f) for f in partner.__struct_fields__}, "roles": roles})


@pytest.fixture(params=["sqlite", "redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A platform playing CPO and eMSP (NL/GWY), on each store."""
    return dual_role_settings(request, tmp_path)


@pytest.fixture
def seeded(seeded: Settings) -> Settings:
    """The base partners, plus the CPO partner, a second eMSP (DE/OTH) and a hub hosting DE/EMS and DE/OTH."""

    async def add() -> None:
        store = create_store(seeded.store)
        await store.open()
        try:
            await store.add_partner(cpo_partner())
            await store.add_partner(with_roles("other", OTHER_TOKEN, "DE/OTH"))
            await store.add_partner(with_roles("hub", HUB_TOKEN, "DE/EMS", "DE/OTH"))
        finally:
            await store.close()

    run(add())
    return seeded


@pytest.fixture
def with_store(settings: Settings) -> Callable[[Callable[[Store], Awaitable[Any]]], Any]:
    """Run ``action(store)`` on a store opened on the app's data (the back office's view)."""

    def call(action: Callable[[Store], Awaitable[Any]]) -> Any:
        async def go() -> Any:
            store = create_store(settings.store)
            await store.open()
            try:
                return await action(store)
            finally:
                await store.close()

        return run(go())

    return call
