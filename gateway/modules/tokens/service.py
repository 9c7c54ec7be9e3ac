"""Tokens: the store, every worker's Rust TokenCache, and the change log that keeps them coherent.

Writes go to the store first (durable) and announce themselves on the ``tokens`` change log in the same
transaction; every worker follows that log and loads the announced tokens into its own cache, so a PUT
answered by one worker on one host is seen by the caches of all the others. A worker that falls behind
the log's trimmed start reloads its cache from the store.

Two kinds of tokens are kept: ``tokens`` (pushed or pulled from eMSP partners; we are the CPO) and
``own_tokens`` (ours, when the platform plays eMSP). Keys are CiStrings, compared upper-cased.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import TYPE_CHECKING, Any

import msgspec

from gateway.core import CoreError, TokenCache
from gateway.modules.tokens.models import Token, TokenPatch, ci_key
from gateway.ocpi.body import decode_body, invalid_content
from gateway.ocpi.status import NotFoundError
from gateway.store.base import Expect, ObjectKey, Put, StoredObject, retry_conflicts

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from gateway.store.base import OutboxMessage, OwnerObjects, Store

__all__ = ("OWN_TOKENS", "TOKENS", "TOPIC", "TokenService", "token_key")

log = logging.getLogger("gateway.tokens")

TOKENS = "tokens"
"""Store kind of the tokens eMSP partners gave us."""
OWN_TOKENS = "own_tokens"
"""Store kind of our own tokens, when we play eMSP."""
TOPIC = "tokens"
"""Change-log topic: each entry is NDJSON of tokens to load into the caches."""

_RELOAD_PAGE = 20_000
_encoder = msgspec.json.Encoder()
_TOKEN_FIELDS = frozenset(Token.__struct_fields__)


def token_key(country_code: str, party_id: str, uid: str, token_type: str) -> ObjectKey:
    """The store key of a token: owner upper-cased, id ``TYPE:UID`` with the uid upper-cased (CiString)."""
    # ``+``, not an f-string: formatting a TokenType (a StrEnum) goes through Enum.__format__, which is slow.
    return ObjectKey(ci_key(country_code), ci_key(party_id), token_type + ":" + ci_key(uid))


def _stored(token: Token) -> StoredObject:
    return StoredObject(
        key=token_key(token.country_code, token.party_id, token.uid, token.type),
        last_updated=token.last_updated,
        data=_encoder.encode(token),
    )


class TokenService:
    """Token writes, reads and the per-worker cache for one worker."""

    def __init__(self, store: Store, cache: TokenCache | None) -> None:
        """``cache`` is ``None`` for a process that only writes (the CLI): the server's caches hear of it."""
        self.store = store
        self.cache = cache
        self._cursor: str | None = None
        self._follower: asyncio.Task[None] | None = None
        self._loading = asyncio.Lock()
        """Bulk writes running at once load this worker's cache one at a time, in the order they were stored."""

    # -- cache lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Warm start: fill the cache from the store, then follow the change log in the background."""
        assert self.cache is not None, "a cache-less service does not follow the log"
        self._cursor = await self.store.published_cursor(TOPIC)
        await self.reload()
        self._follower = asyncio.create_task(self._follow(), name="token-cache-follower")

    async def stop(self) -> None:
        """Stop following the change log."""
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None

    async def reload(self) -> int:
        """Refill the cache from every stored partner token; returns how many were loaded."""
        cache = self.cache
        assert cache is not None
        cache.clear()
        loaded, offset = 0, 0
        while True:
            page = await self.store.list_objects(TOKENS, offset=offset, limit=_RELOAD_PAGE)
            if page.items:
                await asyncio.to_thread(cache.load, b"\n".join(item.data for item in page.items))
                loaded += len(page.items)
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return loaded

    async def catch_up(self, block_seconds: float = 0.0) -> int:
        """Apply what the change log holds after our cursor; returns how many entries were applied."""
        assert self._cursor is not None, "start() first"
        batch = await self.store.read_published(TOPIC, self._cursor, block_seconds=block_seconds, limit=100)
        if batch.gap:
            log.warning("token change log was trimmed past this worker's position: reloading the cache")
            self._cursor = await self.store.published_cursor(TOPIC)
            await self.reload()
            return 0
        assert self.cache is not None
        for cursor, payload in batch.entries:
            try:
                self.cache.load(payload)
            except CoreError as exc:  # never let one bad entry stall every later change
                log.error("skipping token change %s the cache refused: %s", cursor, exc)
        self._cursor = batch.cursor
        return len(batch.entries)

    async def _follow(self) -> None:
        while True:
            try:
                await self.catch_up(block_seconds=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following the token change log failed; retrying")
                await asyncio.sleep(1.0)

    # -- writes ----------------------------------------------------------------------------------
    async def put(self, token: Token, kind: str = TOKENS) -> bool:
        """Store one token (and, for partner tokens, announce it to every cache). True when it was new."""
        stored = _stored(token)
        if kind != TOKENS:
            return await self.store.put_object(kind, stored)
        created = await self.store.put_object(kind, stored, publish=(TOPIC, stored.data))
        if self.cache is not None:
            self.cache.put(stored.data)
        return created

    async def put_many(
        self, tokens: Sequence[Token], kind: str = TOKENS, *, outbox: Sequence[OutboxMessage] = ()
    ) -> int:
        """Store many tokens in one durable batch and announce them; returns how many were new.

        ``outbox`` messages (the PUTs of our own tokens, kind ``own_tokens``, to partners) are stored in the same
        transaction.
        """
        if not tokens:
            return 0
        objects = [_stored(token) for token in tokens]
        if kind != TOKENS:
            if outbox:  # a repeated key counts once: its second put replaces
                return sum(await self.store.write([Put(kind, obj) for obj in objects], outbox=outbox))
            return await self.store.put_objects(kind, objects)
        payload = b"\n".join(obj.data for obj in objects)
        created = await self.store.put_objects(kind, objects, publish=(TOPIC, payload))
        if self.cache is not None:
            await asyncio.to_thread(self.cache.load, payload)
        return created

    async def put_owners(self, owners: Sequence[OwnerObjects], kind: str = TOKENS) -> int:
        """Store validated tokens given per owner (ids ``TYPE:UID``, JSON as :func:`_stored` encodes it) in one
        durable batch and announce them, like :meth:`put_many`; returns how many were new.

        A caller may start the next batch before this one returns: the store applies batches in call order,
        and this worker's cache loads them in that order too.
        """
        if not any(owner.ids for owner in owners):
            return 0
        if kind != TOKENS:
            return await self.store.put_owner_objects(kind, owners)
        payload = b"\n".join(itertools.chain.from_iterable(owner.data for owner in owners))
        created = await self.store.put_owner_objects(kind, owners, publish=(TOPIC, payload))
        if self.cache is not None:
            async with self._loading:
                await asyncio.to_thread(self.cache.load, payload)
        return created

    async def patch(self, key: ObjectKey, body: bytes, *, validation_http_status: int, kind: str = TOKENS) -> Token:
        """Apply an OCPI PATCH: present, non-null fields replace the stored ones; ``last_updated`` is required.

        Raises:
            NotFoundError: No such token (nothing is created).
            OcpiError: 2001 for a bad body or one whose identifiers name another token.
            WriteConflict: Other workers kept writing the token (after several fresh reads).
        """
        decode_body(body, TokenPatch, validation_http_status=validation_http_status)
        changes = {k: v for k, v in msgspec.json.decode(body, type=dict[str, Any]).items()
                   if k in _TOKEN_FIELDS and v is not None}

        async def attempt() -> Token:  # over the version read: a PATCH on another worker is never lost
            stored = await self.store.get_object(kind, key)
            if stored is None:
                raise NotFoundError("Unknown token: PATCH cannot create one; PUT the whole token")
            merged = msgspec.json.decode(stored.data, type=dict[str, Any])
            for field in ("country_code", "party_id", "uid"):
                if field in changes and ci_key(str(changes[field])) != ci_key(str(merged[field])):
                    raise invalid_content(f"field `{field}` of the PATCH names another token", validation_http_status)
            if "type" in changes and changes["type"] != merged["type"]:
                raise invalid_content("field `type` of the PATCH names another token", validation_http_status)
            merged.update(changes)
            token = decode_body(_encoder.encode(merged), Token, validation_http_status=validation_http_status)
            updated = _stored(token)
            publish = (TOPIC, updated.data) if kind == TOKENS else None
            await self.store.write([Expect(kind, key, stored.data), Put(kind, updated)], publish=publish)
            if kind == TOKENS and self.cache is not None:
                self.cache.put(updated.data)
            return token

        return await retry_conflicts(attempt)

    # -- reads -----------------------------------------------------------------------------------
    async def get(self, key: ObjectKey, kind: str = TOKENS) -> bytes | None:
        """The stored token JSON, or ``None``."""
        stored = await self.store.get_object(kind, key)
        return None if stored is None else stored.data


def owners_of(roles: Iterable[Any]) -> set[tuple[str, str]]:
    """The (country code, party id) pairs of some roles, upper-cased."""
    return {(ci_key(role.country_code), ci_key(role.party_id)) for role in roles}
