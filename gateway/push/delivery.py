"""How the outbox judges a partner's answer, and how long it waits before the next attempt.

The answer is read the way :mod:`gateway.push.client` reads every answer: by the OCPI ``status_code``
whenever the body holds an envelope, else by the HTTP status. Three outcomes:

============================================  ==================  ======================================
Answer                                        send_once           until_accepted
============================================  ==================  ======================================
OCPI 1xxx; HTTP 2xx without envelope          delivered           delivered
no answer (network error, timeout); HTTP      retry               retry
408, 429, 502, 503, 504 without envelope;
OCPI 4002/4003 (a hub could not reach the
receiver): it never reached the receiver
OCPI 3xxx, other 4xxx, unknown codes; other   dead (final answer) retry
HTTP 5xx without envelope
OCPI 2xxx; HTTP 3xx/4xx without envelope      dead                dead
(the receiver refuses this message: sending
it again changes nothing)
============================================  ==================  ======================================

One exception: HTTP 401 (with or without envelope) on a message's first attempt is retried once. It is
what a push meets when the partner's credentials changed while it was in flight (a rotation: the next
attempt looks up the new token); a second 401 is final.

Retries wait a random time between zero and ``min(cap, base * 2 ** (attempts - 1))`` ("full jitter"), so
that many messages failing at once do not come back at once.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from gateway.push.client import PartnerReply
    from gateway.store.base import OutboxPolicy

__all__ = ("Verdict", "backoff_delay", "judge")

_NOT_DELIVERED_HTTP = frozenset((408, 429, 502, 503, 504))
_NOT_DELIVERED_OCPI = frozenset((4002, 4003))


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """What one delivery attempt came to."""

    delivered: bool = False
    retry: bool = False
    """Not delivered, and worth another attempt (while attempts remain)."""
    reason: str = ""
    """What happened, for the message's ``last_error`` and the logs."""

    @classmethod
    def unreachable(cls, reason: str) -> Verdict:
        """The message did not reach the partner: retried under every policy."""
        return cls(retry=True, reason=reason)

    @classmethod
    def refused(cls, reason: str) -> Verdict:
        """Sending the message again cannot succeed: dead at once."""
        return cls(reason=reason)


def judge(reply: PartnerReply, policy: OutboxPolicy, attempts: int = 1) -> Verdict:
    """Judge the answer to a message's ``attempts``-th attempt under a policy (see the module docstring)."""
    if reply.http_status == 401 and attempts < 2:
        reason = f"HTTP 401 on the first attempt (credentials may have just changed): {reply.message}"
        return Verdict.unreachable(reason)
    code = reply.ocpi_status
    if code is not None:
        described = f"HTTP {reply.http_status}, OCPI {code}: {reply.message or 'no message'}"
        if 1000 <= code < 2000:
            return Verdict(delivered=True, reason=described)
        if 2000 <= code < 3000:
            return Verdict.refused(described)
        if code in _NOT_DELIVERED_OCPI:
            return Verdict.unreachable(described)
        return Verdict(retry=policy == "until_accepted", reason=described)
    http = reply.http_status
    described = f"HTTP {http} without an OCPI body"
    if 200 <= http < 300:
        return Verdict(delivered=True, reason=described)
    if http in _NOT_DELIVERED_HTTP:
        return Verdict.unreachable(described)
    if http >= 500:
        return Verdict(retry=policy == "until_accepted", reason=described)
    return Verdict.refused(described)


def backoff_delay(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: uniform in ``[0, min(cap, base * 2**(n-1))]``."""
    ceiling = min(cap, base * 2 ** min(max(attempts - 1, 0), 64))
    return (rng or random).uniform(0.0, ceiling)
