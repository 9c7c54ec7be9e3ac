"""Our own Sessions and CDRs as each eMSP sees them: a per-recipient index and the lists served from it.

A CPO sends a Session or CDR only to the eMSP that owns its token, and its Sender lists show a caller
only the objects meant for it (cdrs.md section 1, "Targeting"). The store lists objects per owner, so
each own object is written twice: under its own key in the primary kind (``sessions``, ``cdrs``:
owner = our CPO party, id = the object's id), and under the recipient's key in an index kind
(``sessions_by_emsp``, ``cdrs_by_emsp``: owner = the token's eMSP party, id = ``CC/PID/ID`` of our
party and the object). The primary kind answers lookups by id; the index kind answers the lists.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from gateway.modules.tokens.models import ci_key
from gateway.modules.tokens.service import owners_of
from gateway.ocpi.pagination import list_objects_response, paginated_response, parse_page_query
from gateway.store.base import Expect, ObjectKey, ObjectPage, Put, Remove, StoredObject

if TYPE_CHECKING:
    from collections.abc import Sequence

    from litestar import Request, Response

    from gateway.modules.sessions.models import CdrToken
    from gateway.state import GatewayState
    from gateway.store.base import OutboxMessage, Partner, Store, WriteOp

__all__ = ("own_key", "recipient_key", "recipient_list_response", "write_own")


def own_key(country_code: str, party_id: str, object_id: str) -> ObjectKey:
    """The key of one of our objects (or of a received one) under its owner: CiStrings upper-cased."""
    return ObjectKey(ci_key(country_code), ci_key(party_id), ci_key(object_id))


def recipient_key(token: CdrToken, key: ObjectKey) -> ObjectKey:
    """The index key of our object ``key`` for the eMSP that owns ``token``."""
    return ObjectKey(ci_key(token.country_code), ci_key(token.party_id), f"{key.country_code}/{key.party_id}/{key.id}")


async def write_own(
    store: Store,
    kind: str,
    index_kind: str,
    obj: StoredObject,
    recipient: ObjectKey,
    previous: ObjectKey | None,
    *,
    outbox: Sequence[OutboxMessage] = (),
    expected: bytes | None = None,
) -> bool:
    """Write an own object to its primary kind and to the recipient index in one transaction; True when new.

    ``previous`` is the recipient key of the version being replaced: when the token's owner changed, the
    old recipient's index entry is removed (same transaction) so that party no longer sees it. ``outbox``
    messages (the pushes announcing the change) are stored in that transaction too. With ``expected`` (the
    stored bytes the caller read), the write happens only over that version, else raises
    :class:`~gateway.store.base.WriteConflict` (see :func:`~gateway.store.base.retry_conflicts`).
    """
    ops: list[WriteOp] = [
        Put(kind, obj),
        Put(index_kind, StoredObject(key=recipient, last_updated=obj.last_updated, data=obj.data)),
    ]
    if previous is not None and previous != recipient:
        ops.append(Remove(index_kind, previous))
    if expected is not None:
        ops.insert(0, Expect(kind, obj.key, expected))
    flags = await store.write(ops, outbox=outbox)
    return flags[1 if expected is not None else 0]


def _order(item: StoredObject) -> tuple[Any, ...]:
    return (item.last_updated, item.key.country_code, item.key.party_id, item.key.id)


async def recipient_list_response(
    request: Request[Any, Any, Any], state: GatewayState, index_kind: str, caller: Partner
) -> Response[bytes]:
    """The paginated Sender list of the objects meant for one of the caller's parties.

    One party (the usual eMSP) is a single ranged read. For a platform hosting several parties the
    parties' lists are merged in the store's order; each is read from its start up to ``offset + limit``,
    so deep pages of very large multi-party lists cost more.
    """
    parties = sorted(owners_of(caller.roles))
    if len(parties) == 1:
        return await list_objects_response(request, state, index_kind, owner=parties[0])
    settings = state.settings
    query = parse_page_query(request.query_params, settings.max_page_limit)
    total, runs = 0, []
    for party in parties:
        page = await state.store.list_objects(
            index_kind,
            owner=party,
            date_from=query.date_from,
            date_to=query.date_to,
            offset=0,
            limit=query.offset + query.limit,
        )
        total += page.total
        runs.append(page.items)
    merged = list(heapq.merge(*runs, key=_order))[query.offset : query.offset + query.limit]
    return paginated_response(
        request, settings.base_url, query, ObjectPage(total=total, items=merged), settings.max_page_limit
    )
