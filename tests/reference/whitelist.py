"""Pure-Python oracle of the whitelist decision (OCPI 2.2.1 tokens section 4), written from the table.

``allowed`` is the answer to give when no real-time answer is obtained; ``None`` only for UNKNOWN.
"""

from __future__ import annotations

__all__ = ("decide",)


def decide(whitelist: str | None, valid: bool, emsp_reachable: bool, allowed_policy: str) -> tuple[str, str | None]:
    """Return (action, allowed) for a token (``whitelist=None``: not in the cache)."""
    if whitelist is None:
        return ("UNKNOWN", None)
    cached = "ALLOWED" if valid else "BLOCKED"
    if whitelist == "NEVER":
        # Real-time only; without an answer there is no local authorisation.
        return ("ASK_EMSP_REALTIME" if emsp_reachable else "ANSWER_LOCALLY", "NOT_ALLOWED")
    if whitelist == "ALWAYS" or not emsp_reachable:
        return ("ANSWER_LOCALLY", cached)
    if whitelist == "ALLOWED_OFFLINE":
        return ("ASK_EMSP_ELSE_LOCAL", cached)
    # ALLOWED: the CPO's choice.
    if allowed_policy == "LOCAL" or (allowed_policy == "LOCAL_IF_VALID" and valid):
        return ("ANSWER_LOCALLY", cached)
    return ("ASK_EMSP_ELSE_LOCAL", cached)
