"""The Store protocol every backend implements, and the records it keeps.

Two kinds of data live in a store:

- partner records (credentials, roles, chosen version, endpoints), looked up by id or by the token a
  partner presents;
- OCPI objects as opaque JSON bytes, grouped by ``kind`` (``"tokens"``, ``"tariffs"``, ...) and keyed
  by their owner (country code, party id) and an id the module composes (a token module may use
  ``"RFID:0102..."``). Every object carries ``last_updated``; lists are paginated in one stable order:
  ``last_updated`` ascending, then country code, party id and id (byte order), so that a crawl with
  ``offset`` sees every object once even while others change.

Plus short-lived values with an expiry (authorisation references), and a change log per topic: an ordered,
bounded list of opaque payloads that lets every worker on every host keep its in-memory caches coherent.
A worker reads :meth:`Store.published_cursor`, loads its cache from the store, then follows the log with
:meth:`Store.read_published` from that cursor; a write that changes cached data passes ``publish=`` so the
entry is appended in the same transaction as the write.

:meth:`Store.write` applies several puts and deletes (an object and its index entries) together with the
outbox messages announcing them, in one transaction: a change is never stored without its pushes, nor
pushed without being stored.

And the push outbox (see :mod:`gateway.push.outbox`): messages to partners, claimed by any worker on any host
with a lease, delivered strictly in order per lane (one partner and one ordering key), dead-lettered after
too many failures. The backends keep the lanes, the leases and the counts; the policy lives in the outbox.

Backends: :mod:`gateway.store.sqlite` (embedded default) and :mod:`gateway.store.redis`. An acknowledged
write is durable in the backend before the method returns. Country codes and party ids are stored as
given: callers normalise them to upper case (CiString) before they reach the store.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol, TypeVar, runtime_checkable

import msgspec

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

__all__ = (
    "CONFLICT_ATTEMPTS",
    "LANE_SEPARATOR",
    "LOG_START",
    "PUBLISH_MAX_LEN",
    "Expect",
    "ObjectKey",
    "ObjectPage",
    "OutboxClaim",
    "OutboxCount",
    "OutboxMessage",
    "OutboxPolicy",
    "OutboxState",
    "OwnerObjects",
    "Partner",
    "PartnerEndpoint",
    "PartnerRole",
    "PartnerState",
    "PublishedBatch",
    "Put",
    "Remove",
    "Store",
    "StoredObject",
    "WriteConflict",
    "WriteOp",
    "retry_conflicts",
)

_T = TypeVar("_T")

LOG_START = "0"
"""The cursor before every entry of any topic: what :meth:`Store.published_cursor` returns for an empty topic.
Every backend accepts it in :meth:`Store.read_published`."""

PUBLISH_MAX_LEN = 10_000
"""Default of how many entries a topic's change log keeps (approximately: backends trim in steps)."""

LANE_SEPARATOR = "\x1f"
"""Joins a message's partner id and ordering key into its lane; neither may contain it."""

OutboxPolicy = Literal["send_once", "until_accepted"]
"""send_once: retry only what never reached the partner (the spec's advice); until_accepted: store and forward,
retrying every failure that is not a refusal until the partner accepts (what hubs require for CDRs)."""

OutboxState = Literal["pending", "dead"]
"""pending: waiting for (or in) delivery; dead: given up, kept for the operator to retry or drop."""

PartnerState = Literal["PENDING", "REGISTERED", "UNREGISTERED"]
"""PENDING: a registration token A was issued and the partner has not registered yet.
REGISTERED: credentials exchanged (or configured from existing credentials).
UNREGISTERED: the partner or we ended the registration; its tokens no longer open anything."""


class PartnerRole(msgspec.Struct, frozen=True, kw_only=True):
    """One role a partner's platform hosts (from its CredentialsRole list)."""

    country_code: str
    party_id: str
    role: str
    business_name: str | None = None


class PartnerEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    """One endpoint from a partner's version details."""

    identifier: str
    role: str
    url: str


class Partner(msgspec.Struct, frozen=True, kw_only=True):
    """Everything we keep about one partner platform."""

    id: str
    """Our stable id of the partner (used by the CLI and the back-office API)."""
    roles: tuple[PartnerRole, ...]
    """The parties the partner hosts; the first one names it."""
    state: PartnerState
    token_in: str
    """The credentials token the partner presents to us (token A while PENDING, then token C)."""
    token_out: str | None = None
    """The credentials token we present to the partner (their token B)."""
    versions_url: str | None = None
    """The partner's version information endpoint."""
    version: str | None = None
    """The OCPI version both sides agreed on."""
    endpoints: tuple[PartnerEndpoint, ...] = ()
    """The partner's endpoints for the agreed version."""
    plain_auth: bool = False
    """Send our token to this partner without Base64 (OCPI 2.1.1 style); inbound accepts both."""
    created: datetime
    last_updated: datetime

    def endpoint(self, identifier: str, role: str) -> str | None:
        """Return the partner's URL for a module and interface role, if it has one."""
        for endpoint in self.endpoints:
            if endpoint.identifier == identifier and endpoint.role == role:
                return endpoint.url
        return None

    @property
    def name(self) -> str:
        """A short human name: the first party as ``CC-PID (ROLE)``."""
        first = self.roles[0]
        return f"{first.country_code}-{first.party_id} ({first.role})"


class ObjectKey(msgspec.Struct, frozen=True, array_like=True):
    """Where an object lives: its owner party and its id within that owner."""

    country_code: str
    party_id: str
    id: str


class StoredObject(msgspec.Struct, frozen=True, kw_only=True):
    """An OCPI object as the store keeps it: opaque JSON bytes plus what lists are sorted and filtered by."""

    key: ObjectKey
    last_updated: datetime
    """Timezone-aware UTC datetime; the list order and the date filters use it."""
    data: bytes
    """The object's JSON, as the module encoded it."""



class Put(NamedTuple):
    """One step of :meth:`Store.write`: create or replace ``obj`` in ``kind``."""

    kind: str
    obj: StoredObject


class Expect(NamedTuple):
    """A condition of :meth:`Store.write`: the object ``key`` of ``kind`` holds ``data`` right now (``None``: it
    does not exist). Otherwise the write raises :class:`WriteConflict` and stores nothing: the optimistic
    check of a read-modify-write (another worker changed the object since it was read)."""

    kind: str
    key: ObjectKey
    data: bytes | None


class WriteConflict(Exception):
    """An :class:`Expect` of :meth:`Store.write` did not hold; nothing was written. Read again and retry."""


CONFLICT_ATTEMPTS = 50
"""How often :func:`retry_conflicts` tries a read-modify-write that keeps meeting other workers' writes."""


async def retry_conflicts(attempt: Callable[[], Awaitable[_T]], *, attempts: int = CONFLICT_ATTEMPTS) -> _T:
    """Run a read-modify-write (read, change, :meth:`Store.write` with an :class:`Expect` of what was read)
    again after each :class:`WriteConflict`, pausing a little longer (with jitter) each time.

    Raises:
        WriteConflict: Still conflicting after ``attempts`` tries.
    """
    for tried in range(1, attempts + 1):
        try:
            return await attempt()
        except WriteConflict:
            if tried == attempts:
                raise
            await asyncio.sleep(random.uniform(0, 0.001 * min(tried, 20)))
    raise AssertionError("unreachable")  # attempts < 1


class Remove(NamedTuple):
    """One step of :meth:`Store.write`: delete the object ``key`` of ``kind`` (nothing when it does not exist)."""

    kind: str
    key: ObjectKey


WriteOp = Put | Remove | Expect
"""A step of :meth:`Store.write`."""


class OwnerObjects(msgspec.Struct, frozen=True, kw_only=True):
    """Many objects of one owner, column by column: object ``i`` is ``ids[i]``, ``micros[i]`` and ``data[i]``.

    What bulk writes take (:meth:`Store.put_owner_objects`): no per-object record to build, so a million
    objects cost a few list operations instead of a million Structs and datetimes.
    """

    country_code: str
    party_id: str
    ids: list[str]
    """Each object's id within its owner."""
    micros: list[int]
    """Each object's ``last_updated`` in microseconds since the Unix epoch, UTC (within
    ``+-gateway.store._codec.MAX_MICROS``)."""
    data: list[bytes]
    """Each object's JSON, as the module encoded it."""


class ObjectPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a list: the items and how many objects match the filters, ignoring offset and limit."""

    total: int
    items: list[StoredObject]


class PublishedBatch(msgspec.Struct, frozen=True, kw_only=True):
    """What one :meth:`Store.read_published` returns."""

    entries: list[tuple[str, bytes]]
    """The entries after the cursor that was passed, oldest first, as (cursor, payload)."""
    cursor: str
    """The cursor to pass next time: the last entry's, the one passed when there were none, or the newest one
    when ``gap`` is set."""
    gap: bool = False
    """Entries after the passed cursor were already trimmed away. ``entries`` is then empty: the reader must
    reload everything it caches from the store and continue from ``cursor``."""


class OutboxMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One call to a partner, waiting in the outbox. The store keeps it until it is delivered or dropped."""

    id: str
    """Unique id (the CLI and the API name messages by it); adding an id that exists is a no-op."""
    partner_id: str
    """The partner to call."""
    module: str
    """OCPI module identifier of the partner endpoint to call (``"locations"``, ``"cdrs"``, ...)."""
    role: str = "RECEIVER"
    """Interface role of that endpoint."""
    method: str
    """HTTP method: ``PUT``, ``PATCH``, ``POST`` or ``DELETE``."""
    path: str = ""
    """Appended to the endpoint URL (its trailing ``/`` stripped): ``"/NL/ABC/LOC1/EVSE1"``, or ``""``."""
    body: bytes | None = None
    """The JSON body, as sent."""
    headers: dict[str, str] = {}
    """Extra request headers (OCPI routing headers)."""
    key: str
    """Ordering key, one per object (``"locations:NL:ABC:LOC1"``): a partner gets one key's messages strictly in
    the order they were added, one at a time."""
    policy: OutboxPolicy = "send_once"
    """What counts as final; see :data:`OutboxPolicy`."""
    created: datetime
    state: OutboxState = "pending"
    attempts: int = 0
    """Deliveries started so far (counted when claimed, so an attempt cut short by a crash counts too)."""
    next_attempt: datetime
    """Not claimed before this moment."""
    last_error: str | None = None
    """Why the last attempt failed."""

    @property
    def lane(self) -> str:
        """Partner id and ordering key: the unit of ordering and of mutual exclusion."""
        return f"{self.partner_id}{LANE_SEPARATOR}{self.key}"


class OutboxClaim(msgspec.Struct, frozen=True, kw_only=True):
    """A message a worker claimed (its ``attempts`` already counts this delivery), and the claim's token."""

    message: OutboxMessage
    token: str
    """Proves the claim: a release with another token (the lease expired and someone else claimed) does nothing."""


class OutboxCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many messages of one partner are waiting, being delivered, and dead."""

    partner_id: str
    pending: int = 0
    """Waiting for a worker (due now or later), not in flight."""
    in_flight: int = 0
    """Claimed under a lease that has not run out."""
    dead: int = 0


@runtime_checkable
class Store(Protocol):
    """The persistence contract. Every method is a coroutine; every write is durable when it returns."""

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect and create what is missing (tables, indexes). Idempotent."""
        ...

    async def close(self) -> None:
        """Release connections. The store may be opened again."""
        ...

    # -- partners --------------------------------------------------------------------------------
    async def add_partner(self, partner: Partner) -> None:
        """Store a new partner. Raises ``ValueError`` when its id or its ``token_in`` is already used."""
        ...

    async def save_partner(self, partner: Partner) -> None:
        """Replace a stored partner (same id), re-indexing its token. Raises ``KeyError`` when unknown,
        ``ValueError`` when its new ``token_in`` belongs to another partner."""
        ...

    async def get_partner(self, partner_id: str) -> Partner | None:
        """Return the partner with this id, or ``None``."""
        ...

    async def find_partner_by_token(self, token: str) -> Partner | None:
        """Return the partner whose ``token_in`` equals ``token`` (compared in constant time), or ``None``."""
        ...

    async def list_partners(self) -> list[Partner]:
        """Every partner, oldest first."""
        ...

    async def remove_partner(self, partner_id: str) -> bool:
        """Delete a partner record; ``False`` when it did not exist."""
        ...

    # -- OCPI objects ----------------------------------------------------------------------------
    async def put_object(self, kind: str, obj: StoredObject, *, publish: tuple[str, bytes] | None = None) -> bool:
        """Create or replace one object. Returns ``True`` when it was created, ``False`` when replaced.

        With ``publish=(topic, payload)``, the payload is appended to the topic's change log in the same
        transaction as the write: the change is never stored without being announced, nor announced without
        being stored.
        """
        ...

    async def put_objects(
        self, kind: str, objects: Sequence[StoredObject], *, publish: tuple[str, bytes] | None = None
    ) -> int:
        """Create or replace many objects in one durable batch. Returns how many were new.

        With ``publish=(topic, payload)``, one entry for the whole call is appended in the same transaction
        as every object of the batch (also when ``objects`` is empty).
        """
        ...

    async def put_owner_objects(
        self, kind: str, owners: Sequence[OwnerObjects], *, publish: tuple[str, bytes] | None = None
    ) -> int:
        """Create or replace many objects, given column by column per owner, in one transaction (with one
        ``publish`` entry). Returns how many were new; a key repeated counts once and its last occurrence wins.

        The same write as :meth:`put_objects`, for bulk imports. Calls made while earlier ones still run are
        applied in the order they were made, so an importer may send its next batch before the previous one
        is acknowledged. Raises ``ValueError`` (and writes nothing) when the columns of an owner differ in
        length or a timestamp is out of range.
        """
        ...

    async def get_object(self, kind: str, key: ObjectKey) -> StoredObject | None:
        """Return one object, or ``None``."""
        ...

    async def delete_object(self, kind: str, key: ObjectKey, *, publish: tuple[str, bytes] | None = None) -> bool:
        """Delete one object; ``False`` when it did not exist.

        With ``publish=(topic, payload)``, the entry is appended in the same transaction as the delete, also
        when the object did not exist (an extra announcement is harmless; a missing one is not).
        """
        ...

    async def write(
        self,
        ops: Sequence[WriteOp],
        *,
        outbox: Sequence[OutboxMessage] = (),
        publish: tuple[str, bytes] | None = None,
    ) -> list[bool]:
        """Apply ``ops`` in order, add the ``outbox`` messages and append ``publish``, all in one transaction.

        Everything is checked before anything is written, and either all of it is stored or none of it: an
        object is never stored without the messages that announce it, nor announced without being stored.
        Returns one flag per op: a :class:`Put` created its object, a :class:`Remove` found one, an
        :class:`Expect` held (always ``True``). Outbox messages whose id is already there are skipped, as in
        :meth:`outbox_add`.

        Raises:
            ValueError: An object, key or message the backend refuses (nothing is written).
            WriteConflict: An :class:`Expect` did not hold (nothing is written).
        """
        ...

    async def list_objects(
        self,
        kind: str,
        *,
        owner: tuple[str, str] | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> ObjectPage:
        """One page of objects in the stable order, optionally of one owner (country code, party id).

        ``date_from`` is inclusive and ``date_to`` exclusive on ``last_updated``. ``total`` counts every
        object matching owner and dates, ignoring offset and limit.
        """
        ...

    async def count_objects(self, kind: str, *, owner: tuple[str, str] | None = None) -> int:
        """How many objects of a kind (of one owner) are stored."""
        ...

    # -- short-lived values ----------------------------------------------------------------------
    async def put_expiring(self, namespace: str, key: str, value: bytes, ttl_seconds: float) -> None:
        """Store a value that disappears after ``ttl_seconds``."""
        ...

    async def put_expiring_many(
        self, namespace: str, items: Sequence[tuple[str, bytes]], ttl_seconds: float
    ) -> None:
        """Store many expiring values (key, value) in one round trip or transaction."""
        ...

    async def get_expiring(self, namespace: str, key: str) -> bytes | None:
        """Return a value stored with :meth:`put_expiring` that has not expired, or ``None``."""
        ...

    # -- change log ------------------------------------------------------------------------------
    async def publish(self, topic: str, payload: bytes) -> str:
        """Append ``payload`` to the topic's change log on its own and return the new entry's cursor.

        Cursors are opaque strings, ordered per topic by append order (do not compare them as strings). The
        log keeps about the newest ``publish_max_len`` entries of each topic (a constructor parameter);
        trimming older ones is what makes a reader that fell behind see a gap.
        """
        ...

    async def published_cursor(self, topic: str) -> str:
        """The cursor of the topic's newest entry, or :data:`LOG_START` when it has none.

        Used at warm start: take this cursor, load the cache from the store, then follow the log from it.
        """
        ...

    async def read_published(
        self, topic: str, after: str, *, block_seconds: float = 0.0, limit: int = 100
    ) -> PublishedBatch:
        """Up to ``limit`` entries published after the cursor ``after``, oldest first.

        When there are none yet, wait up to ``block_seconds`` for one to arrive (``0`` does not wait) and
        return an empty batch with ``cursor == after`` after the wait. When entries after ``after`` were
        already trimmed, return at once with ``gap=True`` (see :class:`PublishedBatch`).

        Raises:
            ValueError: ``after`` is not a cursor of this backend, or ``limit`` is not positive.
        """
        ...

    # -- outbox ----------------------------------------------------------------------------------
    async def outbox_add(self, messages: Sequence[OutboxMessage]) -> int:
        """Add messages (``state``, ``attempts`` and ``last_error`` are taken as given) in one durable batch.

        A message's place in its lane is the order of addition. Ids already in the outbox are skipped.
        Returns how many were added.

        Raises:
            ValueError: A partner id or key contains :data:`LANE_SEPARATOR`, or a time is naive.
        """
        ...

    async def outbox_claim(self, *, now: datetime, lease_seconds: float, limit: int) -> list[OutboxClaim]:
        """Claim up to ``limit`` due messages, each the oldest pending one of its lane, for ``lease_seconds``.

        A message is due when ``next_attempt <= now``. A lane whose head is claimed under a lease that runs
        past ``now`` gives nothing; a lease that ran out is as if there were none (the worker crashed). Each
        claim counts one attempt and has a fresh token.
        """
        ...

    async def outbox_ack(self, claim: OutboxClaim) -> bool:
        """The message was delivered: remove it for good (even when the lease was lost: delivered is delivered)
        and free its lane. ``False`` when it was already gone."""
        ...

    async def outbox_release(
        self, claim: OutboxClaim, *, next_attempt: datetime, error: str, dead: bool = False
    ) -> bool:
        """Delivery failed: record ``error`` and free the lane; the message waits until ``next_attempt``, or
        with ``dead`` moves to the dead letters (and stops holding up its lane).

        ``False`` and nothing changed when the claim is no longer this token's or the message is gone.
        """
        ...

    async def outbox_get(self, message_id: str) -> OutboxMessage | None:
        """Return one message (pending or dead), or ``None``."""
        ...

    async def outbox_counts(self, *, now: datetime) -> list[OutboxCount]:
        """Per partner (by id) with any message: how many pending, in flight at ``now``, and dead."""
        ...

    async def outbox_dead(self, *, partner_id: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        """Dead messages (of one partner), oldest added first."""
        ...

    async def outbox_retry(
        self, *, now: datetime, ids: Sequence[str] | None = None, partner_id: str | None = None
    ) -> int:
        """Make messages due at ``now`` with their attempts reset; dead ones become pending again, in their
        original place in the lane. ``ids=None`` means every dead message. Only messages of ``partner_id``
        when given. Returns how many changed."""
        ...

    async def outbox_drop(self, *, ids: Sequence[str] | None = None, partner_id: str | None = None) -> int:
        """Remove messages for good (pending or dead); ``ids=None`` means every dead message. Only messages
        of ``partner_id`` when given. Returns how many were removed."""
        ...

    async def outbox_next_due(self) -> datetime | None:
        """The earliest moment a message may become claimable (now or past when one is), or ``None`` when
        the outbox has no pending message."""
        ...
