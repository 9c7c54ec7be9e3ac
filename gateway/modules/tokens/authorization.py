"""Real-time authorisation for the CPO: the cache decides, the eMSP is asked where the whitelist says so.

Flow of one RFID swipe (``POST /api/authorize``):

1. The Rust TokenCache decides from the whitelist type (tokens.md section 4): answer locally, ask the
   eMSP in real time, or ask it and fall back to the cache when it cannot answer.
2. A real-time ask is ``POST {eMSP tokens SENDER}/{uid}/authorize?type=`` with the LocationReferences,
   over the pooled partner client, with a short timeout (``realtime_timeout``). An eMSP that times
   out, fails, answers 5xx/3xxx or refuses our credentials counts as unreachable: the cache's fallback
   for that whitelist type applies. An eMSP that answers 404/2004 or another client error refuses.
3. Tokens no cache knows are asked at the configured ``default_emsp`` (an eMSP or a hub), else refused.
4. Every answer carries an ``authorization_reference`` (the eMSP's, or ours: a time-ordered UUID, so the
   store appends references to one end of its index) stored with an expiry so the Session and CDR that
   follow can carry it. The driver does not wait for that write: it runs in the background (a swipe is
   never queued behind a burst of token writes), gathered for a few milliseconds so that every swipe of
   that time shares one store write, and this worker answers lookups of a reference whose write is still
   under way from memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import Meta

from gateway.ids import uuid7_hex
from gateway.modules.tokens.models import AuthorizationInfo, LocationReferences, TokenType, ci_key
from gateway.ocpi.status import NotFoundError, OcpiStatus
from gateway.ocpi.types import PRINTABLE_ASCII
from gateway.push.client import PartnerCallError

if TYPE_CHECKING:
    from gateway.modules.tokens.service import TokenService
    from gateway.push.client import PartnerClient, PartnerReply
    from gateway.settings import Settings
    from gateway.store.base import Partner, Store

__all__ = ("AuthorizeAnswer", "AuthorizeRequest", "Authorizer", "StoredAuthorization")

log = logging.getLogger("gateway.tokens.authorize")

_CiId36 = Meta(min_length=1, max_length=36, pattern=PRINTABLE_ASCII)
AUTHORIZATIONS = "authorization"
"""Namespace of the stored authorisation references."""
_PARTNER_TTL = 5.0
_encoder = msgspec.json.Encoder()
_FLUSH_DELAY = 0.01
"""Seconds a new reference waits before its store write, so that the swipes of those milliseconds share one
write: one hop to the SQLite write thread or one Redis round trip per batch instead of per swipe. A batch
costs about 50 us besides its rows on either store, so at most 100 batches a second keep that below 1 us a
swipe at the rates a worker serves."""


class AuthorizeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The CSMS's question: may this token charge (here)?"""

    uid: Annotated[str, _CiId36]
    type: TokenType = TokenType.RFID
    country_code: Annotated[str, Meta(min_length=1, max_length=2, pattern=PRINTABLE_ASCII)] | None = None
    party_id: Annotated[str, Meta(min_length=1, max_length=3, pattern=PRINTABLE_ASCII)] | None = None
    location_id: Annotated[str, _CiId36] | None = None
    evse_uids: list[Annotated[str, _CiId36]] | None = None


class AuthorizeAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An OCPI AuthorizationInfo plus where the decision came from."""

    allowed: str
    token: msgspec.Raw
    authorization_reference: str
    source: Literal["cache", "realtime", "fallback"]
    """``cache``: decided locally; ``realtime``: the eMSP answered; ``fallback``: the eMSP could not answer."""
    auth_method: Literal["WHITELIST", "AUTH_REQUEST"]
    """What the Session and CDR carry as ``auth_method``."""
    location: LocationReferences | None = None
    info: Any = None


class StoredAuthorization(msgspec.Struct, frozen=True, kw_only=True):
    """What an ``authorization_reference`` leads back to."""

    authorization_reference: str
    allowed: str
    auth_method: str
    source: str
    token: msgspec.Raw
    location: LocationReferences | None = None
    created: float


class _Realtime(msgspec.Struct, frozen=True):
    info: AuthorizationInfo | None
    """The eMSP's answer; ``None`` when it refused the token (unknown to it, or another client error)."""


class Authorizer:
    """Answers authorisation requests for one worker."""

    def __init__(self, settings: Settings, store: Store, client: PartnerClient, tokens: TokenService) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.tokens = tokens
        self._tasks: set[asyncio.Task[None]] = set()
        self._writing: dict[str, bytes] = {}
        """References whose store write is under way, readable meanwhile."""
        self._queue: list[tuple[str, bytes]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._owners: dict[tuple[str, str], Partner] = {}
        self._owners_until = 0.0

    async def authorize_json(self, request: AuthorizeRequest) -> bytes:
        """Decide, asking the eMSP where needed; store the answer and return it as the JSON of an
        :class:`AuthorizeAnswer` (what ``/api/authorize`` sends), encoded once for the caller and the record.

        Raises:
            NotFoundError: 2004 when no cache knows the token and no eMSP could be asked or knew it.
        """
        cache = self.tokens.cache
        uid, kind = request.uid, request.type.value
        location = None
        if request.location_id:
            evses = tuple(request.evse_uids) if request.evse_uids else None
            location = LocationReferences(location_id=request.location_id, evse_uids=evses)
        if request.country_code and request.party_id:
            action, allowed, token = cache.authorize(request.country_code, request.party_id, uid, kind)
        else:
            found = cache.lookup_any(uid, kind)
            action, allowed, token = found[0] if found else ("UNKNOWN", None, None)
        if action == "ANSWER_LOCALLY":
            return self._answer(allowed or "NOT_ALLOWED", token, location, "cache", "WHITELIST")
        if action == "UNKNOWN":
            return await self._ask_unknown(uid, kind, location)
        assert token is not None
        # Only a real-time ask needs the owner (reading it from the token JSON is not free).
        if request.country_code and request.party_id:
            owner = (ci_key(request.country_code), ci_key(request.party_id))
        else:
            owner = _owner_of(token)
        partner = await self._partner_of(owner)
        answer = await self._realtime(partner, uid, kind, location) if partner is not None else None
        if answer is not None:
            return self._from_realtime(answer, token, location)
        # Unreachable eMSP: the whitelist's fallback, decided again by the cache.
        _, fallback, _ = cache.authorize(owner[0], owner[1], uid, kind, emsp_reachable=False)
        return self._answer(fallback or "NOT_ALLOWED", token, location, "fallback", "WHITELIST")

    async def lookup(self, reference: str) -> StoredAuthorization | None:
        """An earlier answer by its reference, while it has not expired."""
        raw = self._writing.get(reference) or await self.store.get_expiring(AUTHORIZATIONS, reference)
        return None if raw is None else msgspec.json.decode(raw, type=StoredAuthorization)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for every reference write still under way, at shutdown."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def _remember(self, reference: str, record: bytes) -> None:
        """Queue a reference for the store; the swipes of a few milliseconds share one write (one round trip)."""
        self._writing[reference] = record
        self._queue.append((reference, record))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
            self._tasks.add(self._flusher)
            self._flusher.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        while self._queue:
            await asyncio.sleep(_FLUSH_DELAY)
            batch, self._queue = self._queue, []
            try:
                await self.store.put_expiring_many(AUTHORIZATIONS, batch, self.settings.authorization_ttl)
            except Exception:  # a lost reference must not take the worker down; it is logged
                log.exception("could not store %d authorization references", len(batch))
            finally:
                for reference, _ in batch:
                    self._writing.pop(reference, None)

    async def _ask_unknown(
        self, uid: str, kind: str, location: LocationReferences | None
    ) -> bytes:
        partner = await self.store.get_partner(self.settings.default_emsp) if self.settings.default_emsp else None
        if partner is None or partner.state != "REGISTERED":
            raise NotFoundError(f"Unknown token {uid} ({kind}) and no eMSP to ask", OcpiStatus.UNKNOWN_TOKEN)
        answer = await self._realtime(partner, uid, kind, location)
        if answer is None or answer.info is None:
            raise NotFoundError(f"Unknown token {uid} ({kind}): the eMSP does not know it", OcpiStatus.UNKNOWN_TOKEN)
        return self._from_realtime(answer, None, location)

    def _from_realtime(self, answer: _Realtime, cached: bytes | None, location: Any) -> bytes:
        info = answer.info
        if info is None:  # the eMSP refused the token outright
            assert cached is not None
            return self._answer("NOT_ALLOWED", cached, location, "realtime", "AUTH_REQUEST")
        token = msgspec.json.encode(info.token)
        return self._answer(info.allowed.value, token, info.location or location, "realtime", "AUTH_REQUEST",
                            reference=info.authorization_reference, info=info.info)

    async def _realtime(
        self, partner: Partner, uid: str, kind: str, location: LocationReferences | None
    ) -> _Realtime | None:
        """Ask the eMSP; ``None`` when it cannot answer (timeout, network, 5xx, 3xxx, credentials)."""
        base = partner.endpoint("tokens", "SENDER")
        if base is None or not partner.token_out:
            return None
        url = f"{base.rstrip('/')}/{uid}/authorize"
        try:
            reply = await self.client.call(
                "POST", url, partner.token_out, plain=partner.plain_auth, body=location,
                params={"type": kind}, timeout=self.settings.realtime_timeout,
            )
        except PartnerCallError as exc:
            log.warning("real-time authorisation at %s failed: %s", partner.id, exc)
            return None
        return _read_realtime(reply)

    def _answer(
        self, allowed: str, token: bytes | None, location: Any, source: str, method: str, *,
        reference: str | None = None, info: Any = None,
    ) -> bytes:
        """The answer's JSON, its record queued for the store."""
        reference = reference or uuid7_hex()
        answer = AuthorizeAnswer(
            allowed=allowed, token=msgspec.Raw(token or b"null"), authorization_reference=reference,
            source=source, auth_method=method, location=location, info=info,  # type: ignore[arg-type]
        )
        encoded = _encoder.encode(answer)
        # The record is the answer's JSON plus `created`: every field of StoredAuthorization is in it under its
        # own name (decoding ignores `info`), so one encoding serves both.
        self._remember(reference, b"%b,\"created\":%b}" % (encoded[:-1], _encoder.encode(time.time())))
        return encoded

    async def _partner_of(self, owner: tuple[str, str]) -> Partner | None:
        """The registered partner hosting an eMSP party (directory cached for a few seconds)."""
        now = time.monotonic()
        if now >= self._owners_until:
            owners: dict[tuple[str, str], Partner] = {}
            for partner in await self.store.list_partners():
                if partner.state == "REGISTERED":
                    for role in partner.roles:
                        owners[(ci_key(role.country_code), ci_key(role.party_id))] = partner
            self._owners, self._owners_until = owners, now + _PARTNER_TTL
        return self._owners.get(owner)


def _owner_of(token: bytes) -> tuple[str, str]:
    parsed = msgspec.json.decode(token, type=dict[str, Any])
    return ci_key(parsed["country_code"]), ci_key(parsed["party_id"])


def _read_realtime(reply: PartnerReply) -> _Realtime | None:
    """Classify an eMSP's answer (interop: decide by the OCPI code when there is one, else by HTTP)."""
    code, http = reply.ocpi_status, reply.http_status
    if code is not None and 1000 <= code < 2000 and reply.data is not None:
        try:
            info = msgspec.json.decode(reply.data, type=AuthorizationInfo)
        except msgspec.ValidationError:
            try:
                [info] = msgspec.json.decode(reply.data, type=list[AuthorizationInfo])
            except (msgspec.ValidationError, ValueError):
                return None
        return _Realtime(info)
    if http in (401, 403) or http >= 500 or (code is not None and code >= 3000):
        return None
    return _Realtime(None)
