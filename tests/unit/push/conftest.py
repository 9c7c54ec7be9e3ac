"""Fixtures of the outbox tests: a receiving partner over real HTTP, partners pointing at it, outboxes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import pytest

from gateway.push.client import PartnerClient
from gateway.push.outbox import Outbox, OutboxConfig
from gateway.settings import OwnRole
from gateway.store.base import PartnerEndpoint, PartnerRole
from tests.unit.push.receiver_stub import ReceiverStub, receiver_stub
from tests.unit.store.test_store_contract import make_partner

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from gateway.store.base import Partner, Store

FAST = OutboxConfig(backoff_base=0.01, backoff_cap=0.05, poll_interval=0.05, lease=30.0, timeout=5.0, concurrency=8)
"""Short waits so retries happen quickly; the tests never assert on time."""

OWN_ROLES = (OwnRole(country_code="NL", party_id="CPO", role="CPO"),)


@pytest.fixture
def stub() -> Iterator[ReceiverStub]:
    """A receiving partner on a free loopback port."""
    with receiver_stub() as running:
        yield running


def partner_of(
    stub: ReceiverStub,
    partner_id: str = "emsp1",
    *,
    modules: tuple[str, ...] = ("locations", "cdrs"),
    **changes: object,
) -> Partner:
    """A registered eMSP partner whose receiving endpoints are the stub's."""
    endpoints = tuple(PartnerEndpoint(identifier=m, role="RECEIVER", url=stub.url(m)) for m in modules)
    roles = (PartnerRole(country_code="DE", party_id=partner_id[-3:].upper(), role="EMSP"),)
    partner = make_partner(partner_id, token=f"in-{partner_id}", endpoints=endpoints, roles=roles)
    return msgspec.structs.replace(partner, **changes)


@pytest.fixture
async def client() -> AsyncIterator[PartnerClient]:
    """The shared partner client."""
    shared = PartnerClient(timeout=5.0)
    try:
        yield shared
    finally:
        await shared.aclose()


@pytest.fixture
async def outbox(store: Store, client: PartnerClient) -> AsyncIterator[Outbox]:
    """An outbox on the test's store with fast retries; its worker is stopped afterwards (start it in the test)."""
    box = Outbox(store, client, FAST, own_roles=OWN_ROLES)
    try:
        yield box
    finally:
        await box.worker.abort()
