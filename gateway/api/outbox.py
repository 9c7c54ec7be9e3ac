"""``/api/outbox``: how many messages wait for each partner, are in flight and are dead; and the dead letters.

The CLI's ``ocpi-gateway outbox status|retry|drop`` acts on the same store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, get
from litestar.exceptions import ClientException

from gateway.api.auth import require_api_key
from gateway.store.base import OutboxCount, OutboxMessage

if TYPE_CHECKING:
    from gateway.state import GatewayState
    from gateway.store.base import Store

__all__ = ("DeadLetter", "OutboxController", "OutboxStatus", "dead_letter", "outbox_status")

MAX_DEAD_LISTED = 1000


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A dead message without its body."""

    id: str
    partner_id: str
    module: str
    method: str
    path: str
    key: str
    policy: str
    attempts: int
    created: datetime
    last_error: str | None


class OutboxStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Counts per partner and in total, and (when asked for) the dead letters, oldest first."""

    partners: list[OutboxCount]
    total: OutboxCount
    dead_letters: list[DeadLetter] | None = None


def dead_letter(message: OutboxMessage) -> DeadLetter:
    """The listing view of a dead message."""
    return DeadLetter(
        id=message.id,
        partner_id=message.partner_id,
        module=message.module,
        method=message.method,
        path=message.path,
        key=message.key,
        policy=message.policy,
        attempts=message.attempts,
        created=message.created,
        last_error=message.last_error,
    )


async def outbox_status(
    store: Store, *, dead: bool = False, partner_id: str | None = None, limit: int = 100
) -> OutboxStatus:
    """Counts per partner (one partner's with ``partner_id``) and, with ``dead``, up to ``limit`` dead letters."""
    counts = [c for c in await store.outbox_counts(now=datetime.now(UTC)) if partner_id in (None, c.partner_id)]
    total = OutboxCount(
        partner_id="*",
        pending=sum(c.pending for c in counts),
        in_flight=sum(c.in_flight for c in counts),
        dead=sum(c.dead for c in counts),
    )
    letters = None
    if dead:
        letters = [dead_letter(m) for m in await store.outbox_dead(partner_id=partner_id, limit=limit)]
    return OutboxStatus(partners=counts, total=total, dead_letters=letters)


class OutboxController(Controller):
    """The outbox, seen from the back office."""

    path = "/api/outbox"
    guards = [require_api_key]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get()
    async def status(self, request: Request[Any, Any, Any]) -> OutboxStatus:
        """Counts per partner; ``?dead=true`` adds the dead letters (``&partner=ID``, ``&limit=N``, at most 1000)."""
        state: GatewayState = request.app.state.gateway
        params = request.query_params
        raw_limit = params.get("limit") or "100"
        if not raw_limit.isdecimal():
            raise ClientException(detail=f"limit must be a non-negative integer, got {raw_limit!r}")
        return await outbox_status(
            state.store,
            dead=params.get("dead", "").lower() in ("1", "true", "yes"),
            partner_id=params.get("partner") or None,
            limit=min(int(raw_limit), MAX_DEAD_LISTED),
        )
