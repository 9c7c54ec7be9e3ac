"""Fresh credentials tokens: long, URL-safe, distinct, and usable as a command-line argument."""

from __future__ import annotations

import re

from gateway.modules.credentials.service import new_token


def test_new_tokens_are_url_safe_distinct_and_never_start_with_a_dash() -> None:
    tokens = [new_token() for _ in range(5000)]  # about 80 would start with "-" if nothing prevented it
    assert len(set(tokens)) == len(tokens)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in tokens)
    assert not any(token.startswith("-") for token in tokens)
