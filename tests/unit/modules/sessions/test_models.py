"""The Sessions models: the spec's examples round-trip, bad sessions are refused, PATCH merging rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway.modules.sessions.models import (
    ChargingPreferences,
    ProfileType,
    Session,
    SessionPatch,
    SessionStatus,
)
from gateway.modules.sessions.service import PatchConflictError, merge_patch

EXAMPLES = Path(__file__).parent / "examples"
"""The spec's 2.2.1 session examples, verbatim (OCPI tag v2.2.1-d2, copied from the shared digest)."""


def _example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def _session(**changes: Any) -> Session:
    data = json.loads(_example("session_example_1_simple_start.json"))
    data.update(changes)
    return msgspec.json.decode(json.dumps(data), type=Session)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("session_example_1_simple_start.json", Session),
        ("session_example_2_short_finished.json", Session),
        ("session_patch_example_total_cost.json", SessionPatch),
        ("session_patch_example_charging_period.json", SessionPatch),
    ],
)
def test_session_examples_round_trip(name: str, kind: type[Any]) -> None:
    raw = _example(name)
    decoded = msgspec.json.decode(raw, type=kind)
    assert json.loads(msgspec.json.encode(decoded)) == json.loads(raw)


def test_session_status_uses_reservation() -> None:
    assert _session(status="RESERVATION").status is SessionStatus.RESERVATION
    with pytest.raises(msgspec.ValidationError, match="status"):
        _session(status="RESERVED")


@pytest.mark.parametrize(
    "changes",
    [
        {"id": "x" * 37},
        {"id": ""},
        {"country_code": "NLD"},
        {"currency": "EURO"},
        {"kwh": "1.0"},
        {"auth_method": "PIN"},
        {"last_updated": "2020-03-09T10:17:09+01:00"},
        {"last_updated": None},
        {"charging_periods": [{"start_date_time": "2020-03-09T10:17:09Z", "dimensions": []}]},
        {
            "charging_periods": [
                {"start_date_time": "2020-03-09T10:17:09Z", "dimensions": [{"type": "FLAT", "volume": 1}]}
            ]
        },
        {"cdr_token": {"country_code": "NL", "party_id": "TST", "uid": "1", "type": "CARD", "contract_id": "C"}},
        {"meter_id": "\x00"},
    ],
)
def test_session_bad_fields_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        _session(**changes)


def test_session_datetime_without_designator_is_utc() -> None:
    session = _session(start_date_time="2020-03-09T10:17:09")
    assert session.start_date_time == datetime(2020, 3, 9, 10, 17, 9, tzinfo=UTC)
    assert b'"start_date_time":"2020-03-09T10:17:09Z"' in msgspec.json.encode(session)


def test_session_patch_needs_last_updated() -> None:
    with pytest.raises(msgspec.ValidationError, match="last_updated"):
        msgspec.json.decode(b'{"kwh": 1}', type=SessionPatch)


def _patch(**fields: Any) -> SessionPatch:
    return msgspec.json.decode(json.dumps({"last_updated": "2020-03-09T11:00:00Z", **fields}), type=SessionPatch)


def test_merge_patch_appends_periods_and_replaces_the_rest() -> None:
    first = {"start_date_time": "2020-03-09T10:17:09Z", "dimensions": [{"type": "ENERGY", "volume": 1}]}
    second = {"start_date_time": "2020-03-09T10:47:09Z", "dimensions": [{"type": "ENERGY", "volume": 2}]}
    stored = _session(charging_periods=[first])
    merged = merge_patch(stored, _patch(charging_periods=[second], kwh=3.0, status="ACTIVE"))
    assert [p.dimensions[0].volume for p in merged.charging_periods] == [1, 2]
    assert (merged.kwh, merged.status) == (3.0, SessionStatus.ACTIVE)
    assert merged.last_updated == datetime(2020, 3, 9, 11, tzinfo=UTC)
    assert merge_patch(merged, _patch(charging_periods=[])).charging_periods == merged.charging_periods
    assert merge_patch(merged, _patch(charging_periods=None)).charging_periods == merged.charging_periods
    assert merged.cdr_token == stored.cdr_token


def test_merge_patch_refuses_other_identifiers_but_ignores_case() -> None:
    stored = _session()
    assert merge_patch(stored, _patch(country_code="nl", party_id="stk", id="101")).id == "101"
    with pytest.raises(PatchConflictError, match="id"):
        merge_patch(stored, _patch(id="102"))


def test_charging_preferences_decode() -> None:
    prefs = msgspec.json.decode(b'{"profile_type": "FAST", "energy_need": 20.5}', type=ChargingPreferences)
    assert (prefs.profile_type, prefs.energy_need, prefs.discharge_allowed) == (ProfileType.FAST, 20.5, None)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"profile_type": "SLOW"}', type=ChargingPreferences)
