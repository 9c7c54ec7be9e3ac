"""The outbox's delivery worker: claims due messages from the store and sends them, many lanes at a time.

One worker runs per server process (``outbox_worker``); any number of them, on any host, share one outbox.
The loop claims at most as many messages as it has free slots (``outbox_concurrency``), starts one task per
message, and otherwise sleeps until the next message is due, a message is enqueued in this process, a task
ends, or ``outbox_poll_interval`` passed (other processes' enqueues are seen then). Store errors (the store
briefly unreachable) are logged and the loop carries on; a delivery whose acknowledgement could not be
written is sent again once its lease runs out (at least once). See :mod:`gateway.push.outbox` for the design.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import msgspec
from redis.exceptions import RedisError

from gateway.push.client import PartnerCallError
from gateway.push.delivery import Verdict, backoff_delay, judge

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from gateway.push.client import PartnerClient, PartnerReply
    from gateway.settings import Settings
    from gateway.store.base import OutboxClaim, OutboxMessage, Store

    DeliveredHook = Callable[[OutboxMessage, PartnerReply], Awaitable[None]]

__all__ = ("OutboxConfig", "OutboxWorker")

log = logging.getLogger("gateway.outbox")

_STORE_ERRORS = (OSError, sqlite3.Error, RedisError)
"""What a store raises while it is unreachable or busy: the loop waits and tries again."""


class OutboxConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The delivery settings (the ``outbox_*`` settings and ``partner_timeout``)."""

    max_attempts: int = 50
    backoff_base: float = 1.0
    backoff_cap: float = 1800.0
    concurrency: int = 32
    lease: float = 60.0
    """Seconds a claim holds; longer than ``timeout``, so a live worker never loses one mid-call."""
    poll_interval: float = 1.0
    timeout: float = 10.0
    """Seconds to wait for a partner's answer."""

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxConfig:
        """The outbox part of the gateway's settings."""
        return cls(
            max_attempts=settings.outbox_max_attempts,
            backoff_base=settings.outbox_backoff_base,
            backoff_cap=settings.outbox_backoff_cap,
            concurrency=settings.outbox_concurrency,
            lease=settings.outbox_lease,
            poll_interval=settings.outbox_poll_interval,
            timeout=settings.partner_timeout,
        )


def _now() -> datetime:
    return datetime.now(UTC)


class OutboxWorker:
    """Claims and delivers outbox messages in the background of one process."""

    def __init__(
        self,
        store: Store,
        client: PartnerClient,
        config: OutboxConfig,
        *,
        hooks: Mapping[str, Sequence[DeliveredHook]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Prepare a worker; :meth:`start` runs it."""
        self.store = store
        self.client = client
        self.config = config
        self._hooks = hooks if hooks is not None else {}
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._tasks: dict[asyncio.Task[None], OutboxClaim] = {}
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        """Whether the loop runs."""
        return self._runner is not None and not self._runner.done()

    def wake(self) -> None:
        """Look for due messages now (called after an enqueue in this process)."""
        self._wake.set()

    async def start(self) -> None:
        """Start the loop in a background task. Idempotent."""
        if self.running:
            return
        self._stopping = False
        self._runner = asyncio.create_task(self._run(), name="outbox-worker")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming, give messages in flight ``grace`` seconds, then cancel them and hand their claims back
        (due at once, for any other worker)."""
        self._stopping = True
        self._wake.set()
        if self._runner is not None:
            await self._runner
            self._runner = None
        if not self._tasks:
            return
        _, late = await asyncio.wait(list(self._tasks), timeout=grace)
        claims = [self._tasks[task] for task in late]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        for claim in claims:
            with contextlib.suppress(*_STORE_ERRORS):
                await self.store.outbox_release(claim, next_attempt=_now(), error="worker stopped during delivery")

    async def abort(self) -> None:
        """Stop at once without handing anything back, as a crash would: claims wait for their lease to end."""
        self._stopping = True
        tasks = [*self._tasks, *([self._runner] if self._runner is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runner = None

    # -- the loop --------------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before claiming: a wake-up during the claim is not lost
            free = self.config.concurrency - len(self._tasks)
            claimed = await self._claim(free) if free > 0 else 0
            if self._stopping or (free > 0 and claimed == free):
                continue  # there may be more due right now
            await self._idle(full=free <= 0)

    async def _claim(self, limit: int) -> int:
        try:
            claims = await self.store.outbox_claim(now=_now(), lease_seconds=self.config.lease, limit=limit)
        except _STORE_ERRORS as exc:
            log.warning("outbox claim failed: %s", exc)
            return 0
        for claim in claims:
            task = asyncio.create_task(self._deliver(claim), name=f"outbox-{claim.message.id}")
            self._tasks[task] = claim
            task.add_done_callback(self._finished)
        return len(claims)

    async def _idle(self, *, full: bool) -> None:
        timeout = self.config.poll_interval
        if not full:
            try:
                due = await self.store.outbox_next_due()
            except _STORE_ERRORS as exc:
                log.warning("outbox look-up failed: %s", exc)
                due = None
            if due is not None:
                timeout = min(timeout, max((due - _now()).total_seconds(), 0.0))
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation (abort would hang)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(timeout, 0.005)):
                await self._wake.wait()

    def _finished(self, task: asyncio.Task[None]) -> None:
        claim = self._tasks.pop(task, None)
        self._wake.set()
        if task.cancelled() or claim is None:
            return
        error = task.exception()
        if error is not None:
            log.error(
                "outbox delivery task failed; an unacknowledged message is retried when its lease ends",
                exc_info=error,
                extra={"message_id": claim.message.id, "partner_id": claim.message.partner_id},
            )

    # -- one delivery ----------------------------------------------------------------------------
    async def _deliver(self, claim: OutboxClaim) -> None:
        message = claim.message
        verdict, reply = await self._attempt(message)
        if verdict.delivered:
            await self.store.outbox_ack(claim)
            _log(logging.DEBUG, "outbox message delivered", message, verdict)
            if reply is not None:
                for hook in self._hooks.get(message.module, ()):
                    await hook(message, reply)
            return
        dead = not verdict.retry or message.attempts >= self.config.max_attempts
        delay = (
            0.0
            if dead
            else backoff_delay(message.attempts, self.config.backoff_base, self.config.backoff_cap, self._rng)
        )
        next_attempt = _now() + timedelta(seconds=delay)
        if await self.store.outbox_release(claim, next_attempt=next_attempt, error=verdict.reason, dead=dead):
            _log(
                logging.WARNING if dead else logging.INFO,
                "outbox message dead" if dead else "outbox retry",
                message,
                verdict,
            )

    async def _attempt(self, message: OutboxMessage) -> tuple[Verdict, PartnerReply | None]:
        """Send the message once; the verdict, and the answer if one came."""
        partner = await self.store.get_partner(message.partner_id)
        if partner is None:
            return Verdict.refused(f"partner {message.partner_id} is unknown"), None
        if partner.state != "REGISTERED" or not partner.token_out:
            return Verdict.refused(f"partner {message.partner_id} is not registered"), None
        url = partner.endpoint(message.module, message.role)
        if url is None:
            return Verdict.refused(f"partner has no {message.module} {message.role} endpoint"), None
        try:
            reply = await self.client.call(
                message.method,
                url.rstrip("/") + message.path,
                partner.token_out,
                plain=partner.plain_auth,
                body=None if message.body is None else msgspec.Raw(message.body),
                timeout=self.config.timeout,
                headers=message.headers,
            )
        except PartnerCallError as exc:
            return Verdict.unreachable(str(exc)), None
        except httpx.InvalidURL as exc:
            return Verdict.refused(f"invalid endpoint URL: {exc}"), None
        return judge(reply, message.policy, message.attempts), reply


def _log(level: int, text: str, message: OutboxMessage, verdict: Verdict) -> None:
    log.log(
        level,
        text,
        extra={
            "message_id": message.id,
            "partner_id": message.partner_id,
            "ocpi_module": message.module,
            "method": message.method,
            "key": message.key,
            "attempts": message.attempts,
            "reason": verdict.reason,
        },
    )
