"""Hypothesis properties of the tariff engine.

1. On generated tariffs and sessions, Rust and the pure-Python reference (tests/reference/pricing.py) agree on
   every total to 4 decimals. No deliberate differences: both implement the same readings (whole-second time
   volumes, unmeasured power fails, FLAT once per distinct component, min/max of the last period's tariff).
2. Any bytes either price or raise ``CoreError`` (never another exception, never a crash).

``HYPOTHESIS_PROFILE=slow`` runs many more examples.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.core import CompiledTariff, CoreError
from gateway.core import price_cdr as raw_price_cdr
from gateway.pricing import price_cdr
from tests.reference import pricing as reference

SLOW = os.environ.get("HYPOTHESIS_PROFILE") == "slow"
EXAMPLES = 3000 if SLOW else 200
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_json = msgspec.json.Encoder(decimal_format="number")
ZONES = ("UTC", "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

money = st.decimals(min_value=0, max_value=20, places=2, allow_nan=False, allow_infinity=False)
hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 59]))


@st.composite
def restrictions(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["start_time"] = draw(hhmm)
    if draw(st.booleans()):
        out["end_time"] = draw(hhmm)
    if draw(st.integers(0, 4)) == 0:
        out["day_of_week"] = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=4, unique=True))
    if draw(st.integers(0, 5)) == 0:
        out["start_date"] = draw(st.sampled_from(["2024-03-01", "2024-06-15", "2024-10-27"]))
    for name, values in (
        ("min_kwh", [5, 20]),
        ("max_kwh", [10, 30]),
        ("min_power", [11, 22]),
        ("max_power", [16, 50]),
        ("min_current", [16, 32]),
        ("max_current", [32, 63]),
        ("min_duration", [1800, 3600]),
        ("max_duration", [1800, 7200]),
    ):
        if draw(st.integers(0, 5)) == 0:
            out[name] = draw(st.sampled_from(values))
    if draw(st.integers(0, 6)) == 0:
        out["reservation"] = draw(st.sampled_from(["RESERVATION", "RESERVATION_EXPIRES"]))
    return out


@st.composite
def component(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": draw(st.sampled_from(["ENERGY", "TIME", "PARKING_TIME", "FLAT"])),
        "price": draw(money),
        "step_size": draw(st.sampled_from([0, 1, 25, 60, 300, 500, 900])),
    }
    vat = draw(st.sampled_from([None, Decimal(0), Decimal("5.2"), Decimal(10), Decimal(20)]))
    if vat is not None:
        out["vat"] = vat
    return out


@st.composite
def tariffs(draw: st.DrawFn) -> dict[str, Any]:
    elements = []
    for _ in range(draw(st.integers(1, 5))):
        element: dict[str, Any] = {"price_components": draw(st.lists(component(), min_size=1, max_size=3))}
        if draw(st.booleans()):
            element["restrictions"] = draw(restrictions())
        elements.append(element)
    out: dict[str, Any] = {"id": "T", "currency": "EUR", "elements": elements}
    for name in ("min_price", "max_price"):
        if draw(st.integers(0, 4)) == 0:
            price = {"excl_vat": draw(money)}
            if draw(st.booleans()):
                price["incl_vat"] = price["excl_vat"] * Decimal("1.2")
            out[name] = price
    return out


@st.composite
def cdrs(draw: st.DrawFn) -> dict[str, Any]:
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 366 * 24 * 60)))
    t = start
    periods = []
    if draw(st.integers(0, 4)) == 0:  # a reservation first
        minutes = draw(st.integers(1, 120))
        periods.append((t, {"RESERVATION_TIME": Decimal(minutes) / 60}))
        t += timedelta(minutes=minutes)
        if draw(st.integers(0, 2)) == 0:  # expired: nothing else
            return _cdr(start, t, periods)
    for _ in range(draw(st.integers(1, 6))):
        minutes = draw(st.integers(0, 240))
        hours = (Decimal(minutes) / 60).quantize(Decimal("0.0001"))
        if draw(st.integers(0, 3)) == 0:
            dims = {"PARKING_TIME": hours}
        else:
            dims = {"TIME": hours, "ENERGY": draw(st.decimals(0, 60, places=3))}
            for name in ("MAX_POWER", "MIN_POWER", "POWER", "MAX_CURRENT", "MIN_CURRENT", "CURRENT"):
                if draw(st.integers(0, 3)) == 0:
                    dims[name] = Decimal(draw(st.integers(0, 80)))
        periods.append((t, dims))
        t += timedelta(minutes=minutes)
    return _cdr(start, t, periods)


def _cdr(start: datetime, end: datetime, periods: list[tuple[datetime, dict[str, Decimal]]]) -> dict[str, Any]:
    def stamp(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "start_date_time": stamp(start),
        "end_date_time": stamp(end),
        "currency": "EUR",
        "charging_periods": [
            {"start_date_time": stamp(t), "dimensions": [{"type": k, "volume": v} for k, v in dims.items()]}
            for t, dims in periods
        ],
    }


@PROPERTY
@given(tariff=tariffs(), cdr=cdrs(), tz=st.sampled_from(ZONES))
def test_pricing_rust_agrees_with_reference(tariff: dict[str, Any], cdr: dict[str, Any], tz: str) -> None:
    tariff_bytes, cdr_bytes = _json.encode(tariff), _json.encode(cdr)
    rust = price_cdr(tariff_bytes, cdr_bytes, tz)
    ref = reference.price(tariff_bytes, cdr_bytes, tz)
    for field, value in ref.items():
        got = getattr(rust, field)
        if isinstance(value, dict):
            assert {"excl_vat": str(got.excl_vat), "incl_vat": str(got.incl_vat)} == value, field
        else:
            assert str(got) == value, field


@PROPERTY
@given(tariff=tariffs(), cdr=cdrs())
def test_pricing_embedded_tariff_equals_explicit(tariff: dict[str, Any], cdr: dict[str, Any]) -> None:
    explicit = price_cdr(_json.encode(tariff), _json.encode(cdr), "UTC")
    embedded = price_cdr(None, _json.encode({**cdr, "tariffs": [tariff]}), "UTC")
    assert explicit.total_cost == embedded.total_cost


@PROPERTY
@given(tariff=tariffs(), cdr=cdrs(), tz=st.sampled_from(ZONES))
def test_pricing_totals_add_up_before_clamping(tariff: dict[str, Any], cdr: dict[str, Any], tz: str) -> None:
    r = price_cdr(_json.encode(tariff), _json.encode(cdr), tz)
    parts = (r.total_energy_cost, r.total_time_cost, r.total_parking_cost, r.total_fixed_cost, r.total_reservation_cost)
    if not (r.min_price_applied or r.max_price_applied):
        # Each part is rounded on its own, so the sum may differ from the total by half a unit per part.
        assert abs(sum(p.excl_vat for p in parts) - r.total_cost.excl_vat) <= Decimal("0.0003")
    priced = [ln for p in r.periods for ln in p.lines if ln.dimension == "ENERGY" and ln.element is not None]
    assert r.billed_energy >= sum((ln.volume or 0 for ln in priced), Decimal(0))  # step_size only rounds up


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)

VALID_TARIFF = CompiledTariff(
    b'{"currency": "EUR", "elements": [{"price_components": [{"type": "TIME", "price": 1, "step_size": 1}]}]}'
)


@PROPERTY
@given(data=st.binary(max_size=200) | json_values.map(lambda v: msgspec.json.encode(v)))
def test_pricing_any_bytes_price_or_raise_core_error(data: bytes) -> None:
    for call in (
        lambda: CompiledTariff(data),
        lambda: raw_price_cdr(VALID_TARIFF, data, None),
        lambda: raw_price_cdr(None, data, "UTC"),
    ):
        with contextlib.suppress(CoreError):
            call()


@PROPERTY
@given(cdr=cdrs(), cut=st.integers(0, 400), byte=st.integers(0, 255))
def test_pricing_corrupted_cdrs_price_or_raise_core_error(cdr: dict[str, Any], cut: int, byte: int) -> None:
    data = bytearray(_json.encode(cdr))
    if data:
        data[cut % len(data)] = byte
    with contextlib.suppress(CoreError):
        raw_price_cdr(VALID_TARIFF, bytes(data), "UTC")
