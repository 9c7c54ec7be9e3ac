"""Location models: every valid spec example decodes and re-encodes to an equal JSON value; bad values are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from benchmarks.data import locations_location
from gateway.modules.locations.models import EVSE, ConnectorPatch, EnergyMix, EVSEPatch, Hours, Location, LocationPatch


def examples_dir() -> Path:
    """The spec's location examples (shared/ocpi/examples/locations above this checkout)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "ocpi" / "examples" / "locations"
        if candidate.is_dir():
            return candidate
    pytest.fail("shared/ocpi/examples/locations not found above the checkout")


class _OpeningTimes(msgspec.Struct):
    opening_times: Hours


class _EnergyMixFragment(msgspec.Struct):
    energy_mix: EnergyMix


VALID = {
    "location_example.json": Location,
    "location_example_uc2_destination_charger.json": Location,
    "location_example_uc3_destination_charger_not_published.json": Location,
    "location_example_uc4_limited_visibility.json": Location,
    "location_example_uc5_home_charge_point.json": Location,
    "location_example_parking_garage_opening_hours.json": Location,
    "location_hours_247_open_exception_closing.json": Hours,
    "location_hours_opening_hours_with_exceptional_closing.json": Hours,
    "location_hours_opening_hours_with_exceptional_opening.json": Hours,
    "location_regularhours_example.json": _OpeningTimes,
    "location_energymix_example_simple.json": _EnergyMixFragment,
    "location_energymix_example_energy_provider.json": _EnergyMixFragment,
    "location_energymix_example_complete.json": _EnergyMixFragment,
    "location_patch_example_status.json": EVSEPatch,
    "location_patch_example_location.json": LocationPatch,
    "location_patch_example_tariff.json": ConnectorPatch,
    "location_patch_example_remove_evse.json": EVSEPatch,
}
"""Every file INDEX.md does not flag, with the object it holds."""


def test_every_example_file_is_classified() -> None:
    files = {path.name for path in examples_dir().glob("*.json")}
    assert files == set(VALID) | {"location_put_example_add_evse.json"}


@pytest.mark.parametrize(("name", "kind"), sorted(VALID.items()), ids=sorted(VALID))
def test_models_round_trip_spec_example(name: str, kind: type[Any]) -> None:
    raw = (examples_dir() / name).read_bytes()
    decoded = msgspec.json.decode(raw, type=kind)
    assert json.loads(msgspec.json.encode(decoded)) == json.loads(raw)


def test_models_refuse_flagged_put_example() -> None:
    with pytest.raises(msgspec.ValidationError, match="power_type"):
        msgspec.json.decode((examples_dir() / "location_put_example_add_evse.json").read_bytes(), type=EVSE)


def test_models_accept_erratum_lengths_and_ignore_unknown_fields() -> None:
    body = locations_location(address="a" * 255, state="s" * 45, surprise={"x": 1})
    location = msgspec.convert(body, Location)
    assert len(location.address) == 255
    assert "surprise" not in json.loads(msgspec.json.encode(location))


def test_models_emit_utc_with_z_and_read_naive_as_utc() -> None:
    location = msgspec.json.decode(
        msgspec.json.encode(locations_location(last_updated="2024-05-01T10:00:00")), type=Location
    )
    assert json.loads(msgspec.json.encode(location))["last_updated"] == "2024-05-01T10:00:00Z"


@pytest.mark.parametrize(
    "changes",
    [
        {"address": "a" * 256},
        {"state": "s" * 46},
        {"id": "x" * 37},
        {"id": ""},
        {"country": "NLDX"},
        {"publish": "yes"},
        {"parking_type": "ROOFTOP"},
        {"coordinates": {"latitude": "52.1", "longitude": "5.110300"}},
        {"facilities": ["CASINO"]},
        {"publish": False, "publish_allowed_to": [{"issuer": "ACME"}]},
        {
            "opening_times": {
                "twentyfourseven": False,
                "regular_hours": [{"weekday": 8, "period_begin": "08:00", "period_end": "20:00"}],
            }
        },
        {
            "opening_times": {
                "twentyfourseven": False,
                "regular_hours": [{"weekday": 1, "period_begin": "24:00", "period_end": "20:00"}],
            }
        },
        {"last_updated": "2024-05-01T10:00:00+02:00"},
        {"time_zone": None},
    ],
    ids=[
        "address",
        "state",
        "id-long",
        "id-empty",
        "country",
        "publish-type",
        "parking-enum",
        "coordinates",
        "facility-enum",
        "publish-token-empty",
        "weekday",
        "period-time",
        "offset",
        "missing-time-zone",
    ],
)
def test_models_refuse_bad_location(changes: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(locations_location(**changes)), type=Location)


@pytest.mark.parametrize(
    "changes",
    [
        {"connectors": []},
        {"status": "BROKEN"},
        {"capabilities": ["FLYING"]},
        {"floor_level": "12345"},
        {"physical_reference": "x" * 17},
        {"evse_id": "E" * 49},
    ],
    ids=["no-connectors", "status", "capability", "floor", "physical-reference", "evse-id"],
)
def test_models_refuse_bad_evse(changes: dict[str, Any]) -> None:
    evse = locations_location()["evses"][0]
    evse.update(changes)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(evse), type=EVSE)


def test_models_patch_requires_last_updated() -> None:
    with pytest.raises(msgspec.ValidationError, match="last_updated"):
        msgspec.json.decode(b'{"status": "CHARGING"}', type=EVSEPatch)
