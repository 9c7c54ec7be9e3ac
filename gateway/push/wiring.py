"""What our own changes send to partners: the outbox messages, built before the write that stores them.

Each function returns the messages (nothing is stored yet); the caller passes them to
:meth:`~gateway.store.base.Store.write` together with the change, so that both land in one transaction, then
calls :meth:`~gateway.push.outbox.Outbox.written`. The store appends messages in commit order, and callers
write each object under its lock, so a lane's order is the order of the writes.

- :func:`location_messages`: a back-office Location/EVSE/status write, to every partner with a
  ``locations`` RECEIVER (the :class:`~gateway.modules.locations.service.LocationChange` carries the method,
  path and body), key ``locations:{cc}:{pid}:{location_id}``.
- :func:`session_messages` / :func:`cdr_messages`: a charging-flow step, only to the eMSP owning the
  session's token (the partner whose roles hold the token's country code and party id), all under one key
  ``sessions:{cc}:{pid}:{session_id}`` so that the CDR POST follows the session messages in its lane.
- :func:`own_token_messages`: our own tokens (we are the eMSP), PUT to every partner with a ``tokens``
  RECEIVER at ``/{cc}/{pid}/{uid}?type={type}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec

from gateway.modules.tokens.models import ci_key
from gateway.push.outbox import new_message

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from gateway.modules.cdrs.models import CDR
    from gateway.modules.locations.service import LocationChange
    from gateway.modules.sessions.models import Session
    from gateway.modules.tokens.models import Token
    from gateway.push.outbox import Outbox
    from gateway.store.base import OutboxMessage, Partner

__all__ = (
    "cdr_messages",
    "location_key_of",
    "location_messages",
    "own_token_messages",
    "owning_partners",
    "session_key_of",
    "session_messages",
)

_encoder = msgspec.json.Encoder()


def location_key_of(country_code: str, party_id: str, location_id: str) -> str:
    """The outbox ordering key of one of our Locations (its EVSEs and Connectors share it)."""
    return f"locations:{ci_key(country_code)}:{ci_key(party_id)}:{ci_key(location_id)}"


def session_key_of(country_code: str, party_id: str, session_id: str) -> str:
    """The outbox ordering key of one of our sessions (its CDR shares it, so it comes last)."""
    return f"sessions:{ci_key(country_code)}:{ci_key(party_id)}:{ci_key(session_id)}"


async def location_messages(outbox: Outbox, change: LocationChange) -> list[OutboxMessage]:
    """The change for every partner with a locations RECEIVER."""
    return await outbox.addressed(
        "locations",
        change.method,
        change.path,
        bytes(change.body),
        location_key_of(change.country_code, change.party_id, change.location_id),
    )


def owning_partners(partners: Sequence[Partner], country_code: str, party_id: str) -> set[str]:
    """Ids of the partners hosting the party (eMSP role preferred) that owns a token."""
    wanted = (ci_key(country_code), ci_key(party_id))
    any_role: set[str] = set()
    emsp: set[str] = set()
    for partner in partners:
        for role in partner.roles:
            if (ci_key(role.country_code), ci_key(role.party_id)) == wanted:
                any_role.add(partner.id)
                if role.role == "EMSP":
                    emsp.add(partner.id)
    return emsp or any_role


async def session_messages(
    outbox: Outbox, session: Session, method: str = "PUT", body: dict[str, Any] | None = None
) -> list[OutboxMessage]:
    """A Session PUT (the whole session) or PATCH (``body``) for the eMSP owning its token."""
    partners = await outbox.store.list_partners()  # read once: to find the owner, then to address it
    owners = owning_partners(partners, session.cdr_token.country_code, session.cdr_token.party_id)
    if not owners:
        return []
    payload = _encoder.encode(session if body is None else body)
    return await outbox.addressed(
        "sessions",
        method,
        f"/{session.country_code}/{session.party_id}/{session.id}",
        payload,
        session_key_of(session.country_code, session.party_id, session.id),
        partner_ids=owners,
        partners=partners,
    )


async def cdr_messages(outbox: Outbox, cdr: CDR) -> list[OutboxMessage]:
    """The CDR POST for the eMSP owning its token, in the lane of its session (after its messages)."""
    partners = await outbox.store.list_partners()
    owners = owning_partners(partners, cdr.cdr_token.country_code, cdr.cdr_token.party_id)
    if not owners:
        return []
    return await outbox.addressed(
        "cdrs",
        "POST",
        "",
        _encoder.encode(cdr),
        session_key_of(cdr.country_code, cdr.party_id, cdr.session_id or cdr.id),
        partner_ids=owners,
        partners=partners,
    )


async def own_token_messages(outbox: Outbox, tokens: Iterable[Token]) -> list[OutboxMessage]:
    """A PUT of each of our own tokens for every partner with a tokens RECEIVER."""
    addressees = await outbox.addressees("tokens")
    messages: list[OutboxMessage] = []
    if not addressees:
        return messages
    for token in tokens:
        path = f"/{token.country_code}/{token.party_id}/{quote(token.uid, safe='')}?type={token.type.value}"
        key = f"tokens:{ci_key(token.country_code)}:{ci_key(token.party_id)}:{ci_key(token.uid)}:{token.type.value}"
        body = _encoder.encode(token)
        messages += [
            new_message(partner, "tokens", "PUT", path, body, key, policy=policy, headers=headers)
            for partner, policy, headers in addressees
        ]
    return messages
