"""How an answer is judged under each policy, the backoff bounds, and the outbox settings."""

from __future__ import annotations

import random

import pytest

from gateway.push.client import PartnerReply
from gateway.push.delivery import backoff_delay, judge
from gateway.push.worker import OutboxConfig
from gateway.settings import Settings, SettingsError


def reply(http: int, code: int | None) -> PartnerReply:
    return PartnerReply(http_status=http, ocpi_status=code, message=None, data=None, headers={})


# (http, ocpi, send_once outcome, until_accepted outcome): "ok" delivered, "retry", "dead"
CASES = [
    (200, 1000, "ok", "ok"),
    (201, 1000, "ok", "ok"),
    (500, 1000, "ok", "ok"),  # the envelope decides
    (204, None, "ok", "ok"),
    (200, 2001, "dead", "dead"),
    (404, 2001, "dead", "dead"),
    (200, 3000, "dead", "retry"),
    (500, 3001, "dead", "retry"),
    (200, 4001, "dead", "retry"),
    (200, 4002, "retry", "retry"),
    (200, 4003, "retry", "retry"),
    (503, None, "retry", "retry"),
    (502, None, "retry", "retry"),
    (429, None, "retry", "retry"),
    (500, None, "dead", "retry"),
    (404, None, "dead", "dead"),
    (401, None, "dead", "dead"),
    (307, None, "dead", "dead"),
]


@pytest.mark.parametrize(("http", "code", "send_once", "until_accepted"), CASES)
def test_delivery_judge_table(http: int, code: int | None, send_once: str, until_accepted: str) -> None:
    for policy, expected in (("send_once", send_once), ("until_accepted", until_accepted)):
        verdict = judge(reply(http, code), policy, attempts=2)  # type: ignore[arg-type]
        outcome = "ok" if verdict.delivered else "retry" if verdict.retry else "dead"
        assert outcome == expected, (policy, verdict.reason)
        assert str(http) in verdict.reason


def test_delivery_backoff_stays_within_full_jitter_bounds() -> None:
    rng = random.Random(7)
    for attempts in range(1, 80):
        ceiling = min(30.0, 0.5 * 2 ** (attempts - 1))
        delays = [backoff_delay(attempts, 0.5, 30.0, rng) for _ in range(20)]
        assert all(0.0 <= d <= ceiling for d in delays)
    assert max(backoff_delay(40, 0.5, 30.0, rng) for _ in range(200)) > 15.0  # it does grow to the cap


def test_delivery_settings_from_env_and_checks() -> None:
    settings = Settings.from_env(
        {
            "OCPI_OUTBOX_MAX_ATTEMPTS": "7",
            "OCPI_OUTBOX_BACKOFF_BASE": "0.5",
            "OCPI_OUTBOX_BACKOFF_CAP": "60",
            "OCPI_OUTBOX_CONCURRENCY": "4",
            "OCPI_OUTBOX_LEASE": "45",
            "OCPI_OUTBOX_POLL_INTERVAL": "0.2",
            "OCPI_OUTBOX_WORKER": "off",
        }
    )
    assert OutboxConfig.from_settings(settings) == OutboxConfig(
        max_attempts=7, backoff_base=0.5, backoff_cap=60.0, concurrency=4, lease=45.0, poll_interval=0.2, timeout=10.0
    )
    assert settings.outbox_worker is False
    for bad in (
        {"outbox_max_attempts": 0},
        {"outbox_concurrency": 0},
        {"outbox_backoff_base": 10.0, "outbox_backoff_cap": 5.0},
        {"outbox_poll_interval": 0.0},
        {"outbox_lease": 5.0},
    ):
        with pytest.raises(SettingsError, match="outbox"):
            Settings().with_changes(**bad)


@pytest.mark.parametrize("code", [None, 2001])
def test_delivery_a_first_401_is_retried_once(code: int | None) -> None:
    """Credentials may have rotated while the push was in flight: one more attempt, then final."""
    for policy in ("send_once", "until_accepted"):
        first = judge(reply(401, code), policy, attempts=1)  # type: ignore[arg-type]
        second = judge(reply(401, code), policy, attempts=2)  # type: ignore[arg-type]
        assert (first.retry, first.delivered) == (True, False)
        assert "401" in first.reason
        assert (second.retry, second.delivered) == (False, False)
