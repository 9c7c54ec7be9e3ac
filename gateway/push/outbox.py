"""The durable push outbox: every change partners must hear about, delivered in order, surviving restarts.

What goes through it: Location/EVSE/Connector PUT and PATCH, Session PUT and PATCH, CDR POST, and Token PUT
when we are the eMSP. A change and the messages announcing it are stored together: the module builds the
messages first with :meth:`Outbox.addressed` (one message per registered partner with the receiving
endpoint, e.g. every partner with a ``locations`` RECEIVER endpoint, or only the eMSP a Session belongs
to), writes the change and the messages in one transaction with :meth:`~gateway.store.base.Store.write`,
then calls :meth:`Outbox.written` to wake the worker. So a crash can never store a change whose pushes are
lost, nor push a change that was never stored. :meth:`Outbox.enqueue` adds messages on their own, for
what needs no object write. Either way the HTTP answer to the CSMS leaves once the messages are durable.

A message (:class:`~gateway.store.base.OutboxMessage`) names the partner, the module and interface role of the
partner endpoint, the method, a path relative to that endpoint's URL, the body bytes, extra headers (OCPI
routing headers), an ordering key (one per object: ``"locations:NL:ABC:LOC1"``), the policy, and the state
the store maintains: attempts, next attempt time, last error, pending or dead. The endpoint URL and the
partner's token are looked up when the message is sent, so a credentials update between enqueue and
delivery is honoured.

Storage (see :class:`~gateway.store.base.Store`, ``outbox_*``): one outbox in the active backend, a SQLite
table or Redis sorted sets with Lua, so that any worker on any host can deliver. Messages to one partner
with one key form a *lane*: the store hands out only a lane's oldest pending message, and only to one
claimer at a time, under a lease (``outbox_lease``). So each object's changes reach each partner strictly in
order and one at a time, while different objects and different partners go concurrently.

Delivery (:class:`~gateway.push.worker.OutboxWorker`): one background worker per server process claims due
messages (at most ``outbox_concurrency`` in flight) and sends them through the shared
:class:`~gateway.push.client.PartnerClient` (pooled keep-alive connections per partner host). A worker that
dies mid-flight leaves its claims to run out; then any worker takes them over. The answer is judged by
:func:`gateway.push.delivery.judge`: delivered, retried after an exponential backoff with full jitter
(``outbox_backoff_base``, ``outbox_backoff_cap``), or dead (a refusal, a final answer under ``send_once``,
or ``outbox_max_attempts`` reached). A message whose partner was removed, is no longer registered, or has no
such endpoint is dead at once. A dead message stops holding up its lane.

Policies, per partner (``ocpi-gateway outbox policy PARTNER_ID ...``; stored as object kind
``outbox_policy``):

- ``send_once``, the spec's advice ("do not queue and retry failed pushes; the receiver re-syncs by GET"):
  what never reached the partner (network errors, timeouts, 502/503/504, hub 4002/4003) is retried, but an
  answer is final.
- ``until_accepted``, store-and-forward as hubs require for CDRs: every failure that is not a refusal (OCPI
  2xxx, HTTP 4xx) is retried until an OCPI 1xxx answer, up to ``outbox_max_attempts``.

A partner's policy wins; without one a message gets the policy its module asked for, else
:data:`MODULE_POLICIES` (``until_accepted`` for ``cdrs``), else ``send_once``.

Delivery guarantee: at least once, in order per lane. A message is removed durably right after the 1xxx
(or 2xx) answer. A crash between that answer and the removal, or a lease that ran out while a frozen worker
still waited for an answer, sends it once more. PUT and PATCH are idempotent by key, and a receiver stores a
CDR by (country code, party id, id), so such a repeated CDR POST is recognisable and answered as a duplicate
(cdrs.md: same body -> success). Retrying a dead message (``outbox retry``) puts it back in its original place
in its lane, ahead of newer pending messages of the same object.

After a CDR POST is accepted, hooks registered with :meth:`Outbox.on_delivered` receive the answer (its
``Location`` header names the stored CDR); they run after the removal, so a crash in between loses the hook
call, never the delivery.

Operating it: ``ocpi-gateway outbox status|retry|drop|policy`` and ``GET /api/outbox`` (counts per partner,
``?dead=true`` lists dead letters).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, get_args

import msgspec

from gateway.push.worker import OutboxConfig, OutboxWorker
from gateway.store.base import ObjectKey, OutboxMessage, OutboxPolicy, StoredObject

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from gateway.push.client import PartnerClient
    from gateway.push.worker import DeliveredHook
    from gateway.settings import OwnRole
    from gateway.store.base import Partner, Store

__all__ = (
    "MODULE_POLICIES",
    "POLICIES",
    "POLICY_KIND",
    "Outbox",
    "OutboxConfig",
    "get_policies",
    "get_policy",
    "new_message",
    "set_policy",
)

log = logging.getLogger("gateway.outbox")

POLICIES: tuple[str, ...] = get_args(OutboxPolicy)

MODULE_POLICIES: Mapping[str, OutboxPolicy] = {"cdrs": "until_accepted"}
"""The policy of a module's messages when neither the partner nor the caller chose one."""

POLICY_KIND = "outbox_policy"
"""Object kind of the per-partner policy overrides (one object per partner, data the policy as JSON)."""
_POLICY_OWNER = ("--", "---")

_EMSP_MODULES = frozenset(("tokens",))
"""Modules whose pushes we send as eMSP; every other push goes out as CPO."""


def _now() -> datetime:
    return datetime.now(UTC)


def new_message(
    partner: Partner | str,
    module: str,
    method: str,
    path: str,
    body: bytes | None,
    key: str,
    *,
    role: str = "RECEIVER",
    policy: OutboxPolicy | None = None,
    headers: Mapping[str, str] | None = None,
) -> OutboxMessage:
    """Build one message, due now, with a fresh id.

    Args:
        partner: The partner (or its id) to call.
        module: Module identifier of the partner endpoint (``"cdrs"``).
        method: ``PUT``, ``PATCH``, ``POST`` or ``DELETE``.
        path: Appended to the endpoint URL: ``"/NL/ABC/LOC1"``, or ``""`` for a CDR POST.
        body: The JSON body as bytes, or ``None``.
        key: The ordering key of the object the message changes.
        role: Interface role of the partner endpoint.
        policy: The policy; :data:`MODULE_POLICIES` or ``send_once`` when omitted.
        headers: Extra request headers (routing headers).
    """
    now = _now()
    return OutboxMessage(
        id=uuid.uuid4().hex,
        partner_id=partner if isinstance(partner, str) else partner.id,
        module=module,
        role=role,
        method=method.upper(),
        path=path,
        body=body,
        headers=dict(headers or {}),
        key=key,
        policy=policy or MODULE_POLICIES.get(module, "send_once"),
        created=now,
        next_attempt=now,
    )


async def get_policy(store: Store, partner_id: str) -> OutboxPolicy | None:
    """The partner's policy override, or ``None`` when it has none."""
    stored = await store.get_object(POLICY_KIND, ObjectKey(*_POLICY_OWNER, partner_id))
    if stored is None:
        return None
    value = msgspec.json.decode(stored.data)
    return value if value in POLICIES else None


async def get_policies(store: Store) -> dict[str, OutboxPolicy]:
    """Every partner's policy override, by partner id: one read per 1,000 partners, not one per partner."""
    found: dict[str, OutboxPolicy] = {}
    offset = 0
    while True:
        page = await store.list_objects(POLICY_KIND, owner=_POLICY_OWNER, offset=offset, limit=1000)
        for item in page.items:
            value = msgspec.json.decode(item.data)
            if value in POLICIES:
                found[item.key.id] = value
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return found


async def set_policy(store: Store, partner_id: str, policy: OutboxPolicy | None) -> None:
    """Set (or with ``None`` remove) the partner's policy override; it applies to messages enqueued from now on.

    Raises:
        ValueError: ``policy`` is not one of :data:`POLICIES`.
    """
    key = ObjectKey(*_POLICY_OWNER, partner_id)
    if policy is None:
        await store.delete_object(POLICY_KIND, key)
        return
    if policy not in POLICIES:
        raise ValueError(f"Policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    await store.put_object(POLICY_KIND, StoredObject(key=key, last_updated=_now(), data=msgspec.json.encode(policy)))


class Outbox:
    """The outbox of one process: enqueueing, policies, and the delivery worker."""

    def __init__(
        self,
        store: Store,
        client: PartnerClient,
        config: OutboxConfig | None = None,
        *,
        own_roles: Sequence[OwnRole] = (),
    ) -> None:
        """Prepare the outbox; nothing runs until :meth:`start`.

        Args:
            store: The open store holding the outbox.
            client: The shared partner client.
            config: Delivery settings (:meth:`OutboxConfig.from_settings`); defaults when omitted.
            own_roles: Our parties, for the ``OCPI-from-*`` routing headers of :meth:`addressed`.
        """
        self.store = store
        self.config = config or OutboxConfig()
        self.own_roles = tuple(own_roles)
        self._hooks: dict[str, list[DeliveredHook]] = defaultdict(list)
        self.worker = OutboxWorker(store, client, self.config, hooks=self._hooks)

    # -- enqueueing ------------------------------------------------------------------------------
    async def enqueue(self, messages: Iterable[OutboxMessage]) -> int:
        """Store messages durably (one batch), then wake this process's worker. Returns how many were new.

        Raises:
            ValueError: A partner id or key holds ``\\x1f``, or a time is naive.
        """
        batch = list(messages)
        added = await self.store.outbox_add(batch)
        if added:
            self.worker.wake()
        return added

    def written(self, messages: Collection[OutboxMessage]) -> None:
        """Messages were stored with :meth:`Store.write` (with the change they announce): wake the worker."""
        if messages:
            self.worker.wake()

    async def addressed(
        self,
        module: str,
        method: str,
        path: str,
        body: bytes | None,
        key: str,
        *,
        role: str = "RECEIVER",
        partner_ids: Collection[str] | None = None,
        policy: OutboxPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        partners: Sequence[Partner] | None = None,
    ) -> list[OutboxMessage]:
        """One message per registered partner that has the ``module`` endpoint in ``role``; nothing stored yet.

        Pass them to :meth:`Store.write` with the change they announce (then call :meth:`written`), so that
        the change and its pushes are stored together.

        Each message carries routing headers: ``OCPI-to-*`` the partner's first party, ``OCPI-from-*`` our
        first party in the pushing role (eMSP for ``tokens``, CPO otherwise), then ``headers`` on top. The
        policy is the partner's override, else ``policy``, else the module's default.

        Args:
            module: Module identifier (``"locations"``).
            method: ``PUT`` or ``PATCH`` (or ``POST``).
            path: Appended to each partner's endpoint URL.
            body: The JSON body as bytes.
            key: The ordering key of the object.
            role: Interface role of the endpoint to call.
            partner_ids: Only these partners (e.g. the eMSP a Session belongs to); every partner when omitted.
            policy: The policy where the partner has no override.
            headers: Extra headers, over the routing headers.
            partners: The partner list, when the caller has just read it (else it is read here).

        Returns:
            The messages (none when no partner has the endpoint).
        """
        return [
            new_message(partner, module, method, path, body, key, role=role, policy=chosen, headers=sent_headers)
            for partner, chosen, sent_headers in await self.addressees(
                module, role=role, partner_ids=partner_ids, policy=policy, headers=headers, partners=partners
            )
        ]

    async def addressees(
        self,
        module: str,
        *,
        role: str = "RECEIVER",
        partner_ids: Collection[str] | None = None,
        policy: OutboxPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        partners: Sequence[Partner] | None = None,
    ) -> list[tuple[Partner, OutboxPolicy | None, dict[str, str]]]:
        """Who :meth:`addressed` writes to: each partner with its policy and headers (read once for a batch).

        ``partners`` is the partner list when the caller has just read it; it is read from the store otherwise.
        """
        wanted = [
            partner
            for partner in (partners if partners is not None else await self.store.list_partners())
            if partner.state == "REGISTERED"
            and partner.endpoint(module, role) is not None
            and (partner_ids is None or partner.id in partner_ids)
        ]
        overrides = await get_policies(self.store) if wanted else {}
        extra = headers or {}
        return [
            (partner, overrides.get(partner.id) or policy, {**self._routing_headers(partner, module), **extra})
            for partner in wanted
        ]

    def _routing_headers(self, partner: Partner, module: str) -> dict[str, str]:
        headers = {}
        if partner.roles:
            headers["OCPI-to-country-code"] = partner.roles[0].country_code
            headers["OCPI-to-party-id"] = partner.roles[0].party_id
        ours = "EMSP" if module in _EMSP_MODULES else "CPO"
        own = next((r for r in self.own_roles if r.role == ours), self.own_roles[0] if self.own_roles else None)
        if own is not None:
            headers["OCPI-from-country-code"] = own.country_code
            headers["OCPI-from-party-id"] = own.party_id
        return headers

    # -- delivery --------------------------------------------------------------------------------
    def on_delivered(self, module: str, hook: DeliveredHook) -> None:
        """Call ``hook(message, reply)`` after each accepted message of ``module`` was removed from the outbox."""
        self._hooks[module].append(hook)

    async def start(self) -> None:
        """Start delivering in the background."""
        await self.worker.start()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop delivering: wait up to ``grace`` seconds for messages in flight, then hand the rest back."""
        await self.worker.stop(grace)
