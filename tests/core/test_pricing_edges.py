"""Edges of the tariff engine: time zones and DST, midnight wraps, weekdays, empty and odd sessions, errors.

Each named reading of /work/shared/ocpi/README.md (ambiguities 11-21) and of gateway/pricing.py has a test
here whose name says which.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from gateway.core import CompiledTariff, CoreError, PricingError
from gateway.pricing import price_cdr, price_cdrs, price_session
from tests.reference import pricing as reference

_json = msgspec.json.Encoder(decimal_format="number")


def _tariff(*elements: dict[str, Any], **extra: Any) -> bytes:
    return _json.encode({"id": "T1", "currency": "EUR", "elements": list(elements), **extra})


def _el(*components: tuple[str, str, int] | tuple[str, str, int, str], **restrictions: Any) -> dict[str, Any]:
    comps = []
    for comp in components:
        c: dict[str, Any] = {"type": comp[0], "price": Decimal(comp[1]), "step_size": comp[2]}
        if len(comp) == 4:
            c["vat"] = Decimal(comp[3])
        comps.append(c)
    out: dict[str, Any] = {"price_components": comps}
    if restrictions:
        out["restrictions"] = restrictions
    return out


def _cdr(start: str, end: str, *periods: tuple[str, dict[str, str]], **extra: Any) -> bytes:
    body = {
        "start_date_time": start,
        "end_date_time": end,
        "currency": "EUR",
        "charging_periods": [
            {"start_date_time": s, "dimensions": [{"type": k, "volume": Decimal(v)} for k, v in dims.items()]}
            for s, dims in periods
        ],
        **extra,
    }
    return _json.encode(body)


def _both(tariff: bytes | None, cdr: bytes, tz: str | None) -> Decimal:
    """Price with Rust and the reference; assert they agree; return total excl VAT."""
    rust = price_cdr(tariff, cdr, tz)
    ref = reference.price(tariff, cdr, tz)
    assert str(rust.total_cost.excl_vat) == ref["total_cost"]["excl_vat"]
    assert str(rust.total_cost.incl_vat) == ref["total_cost"]["incl_vat"]
    return rust.total_cost.excl_vat


NIGHT = _tariff(
    _el(("ENERGY", "0.10", 1), start_time="22:00", end_time="06:00"),
    _el(("ENERGY", "0.30", 1)),
)


def _energy_at(start: str, kwh: str = "10") -> bytes:
    return _cdr(start, start, (start, {"ENERGY": kwh}))


# ---- time zones and DST ------------------------------------------------------------------------------------


def test_pricing_local_time_comes_from_the_zone() -> None:
    # 21:30 UTC in January is 22:30 in Amsterdam (night price) but 21:30 in UTC (day price).
    assert _both(NIGHT, _energy_at("2024-01-15T21:30:00Z"), "Europe/Amsterdam") == Decimal("1.0000")
    assert _both(NIGHT, _energy_at("2024-01-15T21:30:00Z"), "UTC") == Decimal("3.0000")


def test_pricing_dst_spring_forward_shifts_the_window() -> None:
    # Amsterdam: 2024-03-31 01:00 UTC clocks go 02:00 -> 03:00. 04:30 UTC is 06:30 CEST (day), not 05:30 CET.
    assert _both(NIGHT, _energy_at("2024-03-31T04:30:00Z"), "Europe/Amsterdam") == Decimal("3.0000")
    assert _both(NIGHT, _energy_at("2024-03-30T04:30:00Z"), "Europe/Amsterdam") == Decimal("1.0000")


def test_pricing_dst_fall_back_repeated_hour() -> None:
    # 2024-10-27: 00:30 UTC = 02:30 CEST and 01:30 UTC = 02:30 CET; both are inside 22:00-06:00.
    for start in ("2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z"):
        assert _both(NIGHT, _energy_at(start), "Europe/Amsterdam") == Decimal("1.0000")


def test_pricing_zone_source_explicit_then_cdr_location_then_default() -> None:
    cdr = json.loads(_energy_at("2024-01-15T21:30:00Z"))
    cdr["cdr_location"] = {"time_zone": "Europe/Amsterdam"}
    with_zone = json.dumps(cdr).encode()
    located = price_cdr(NIGHT, with_zone)
    assert (located.time_zone, located.time_zone_source) == ("Europe/Amsterdam", "cdr_location")
    assert price_cdr(NIGHT, with_zone, "UTC").time_zone_source == "explicit"
    flat = _tariff(_el(("ENERGY", "0.30", 1)))
    default = price_cdr(flat, _energy_at("2024-01-15T21:30:00Z"))
    assert (default.time_zone, default.time_zone_source) == ("UTC", "default")


def test_pricing_zone_required_when_restrictions_use_local_time() -> None:
    with pytest.raises(PricingError, match="time zone is required"):
        price_cdr(NIGHT, _energy_at("2024-01-15T21:30:00Z"))
    with pytest.raises(PricingError, match="`tz`"):
        price_cdr(NIGHT, _energy_at("2024-01-15T21:30:00Z"), "Europe/Atlantis")


# ---- time windows, dates, weekdays (ambiguities 11, 12) -----------------------------------------------------


@pytest.mark.parametrize(
    ("start", "price"),
    [
        ("2024-01-15T21:59:59Z", "3.0000"),  # just before the wrap window
        ("2024-01-15T22:00:00Z", "1.0000"),  # start inclusive
        ("2024-01-16T00:00:00Z", "1.0000"),  # past midnight
        ("2024-01-16T05:59:59Z", "1.0000"),
        ("2024-01-16T06:00:00Z", "3.0000"),  # end exclusive
    ],
)
def test_pricing_midnight_wrap_bounds_reading_11(start: str, price: str) -> None:
    assert _both(NIGHT, _energy_at(start), "UTC") == Decimal(price)


def test_pricing_end_time_midnight_is_end_of_day_reading_11() -> None:
    evening = _tariff(_el(("ENERGY", "1", 1), start_time="20:00", end_time="00:00"), _el(("ENERGY", "2", 1)))
    assert _both(evening, _energy_at("2024-01-15T23:59:00Z", "1"), "UTC") == Decimal("1.0000")
    assert _both(evening, _energy_at("2024-01-16T00:00:00Z", "1"), "UTC") == Decimal("2.0000")
    same = _tariff(_el(("ENERGY", "1", 1), start_time="08:00", end_time="08:00"), _el(("ENERGY", "2", 1)))
    assert _both(same, _energy_at("2024-01-16T03:00:00Z", "1"), "UTC") == Decimal("1.0000")


def test_pricing_weekday_of_the_instant_with_a_wrapping_window_reading_12() -> None:
    friday_night = _tariff(
        _el(("ENERGY", "1", 1), start_time="22:00", end_time="06:00", day_of_week=["FRIDAY"]), _el(("ENERGY", "2", 1))
    )
    # 2024-01-19 is a Friday. 23:00 Friday matches; 01:00 Saturday does not (weekday of that instant).
    assert _both(friday_night, _energy_at("2024-01-19T23:00:00Z", "1"), "UTC") == Decimal("1.0000")
    assert _both(friday_night, _energy_at("2024-01-20T01:00:00Z", "1"), "UTC") == Decimal("2.0000")


def test_pricing_weekday_changes_mid_session() -> None:
    weekend = _tariff(_el(("TIME", "6", 1), day_of_week=["SATURDAY", "SUNDAY"]), _el(("TIME", "3", 1)))
    cdr = _cdr(
        "2024-01-19T23:00:00Z",
        "2024-01-20T01:00:00Z",
        ("2024-01-19T23:00:00Z", {"TIME": "1"}),
        ("2024-01-20T00:00:00Z", {"TIME": "1"}),
    )
    result = price_cdr(weekend, cdr, "UTC")
    assert [p.lines[0].element for p in result.periods] == [1, 0]
    assert _both(weekend, cdr, "UTC") == Decimal("9.0000")


def test_pricing_date_bounds() -> None:
    promo = _tariff(_el(("ENERGY", "0", 1), start_date="2024-01-15", end_date="2024-01-16"), _el(("ENERGY", "1", 1)))
    assert _both(promo, _energy_at("2024-01-15T00:00:00Z", "1"), "UTC") == Decimal("0.0000")
    assert _both(promo, _energy_at("2024-01-16T00:00:00Z", "1"), "UTC") == Decimal("1.0000")


# ---- power, current, kWh, duration (ambiguity 21 and "unmeasured") -------------------------------------------


def test_pricing_power_average_then_max_then_unmeasured_reading_21() -> None:
    fast = _tariff(_el(("ENERGY", "0.20", 1), max_power=16), _el(("ENERGY", "0.50", 1)))
    start = "2024-01-15T10:00:00Z"
    avg_low = _cdr(start, start, (start, {"ENERGY": "1", "POWER": "10", "MAX_POWER": "20"}))
    max_high = _cdr(start, start, (start, {"ENERGY": "1", "MIN_POWER": "5", "MAX_POWER": "20"}))
    unmeasured = _cdr(start, start, (start, {"ENERGY": "1"}))
    assert _both(fast, avg_low, "UTC") == Decimal("0.2000")
    assert _both(fast, max_high, "UTC") == Decimal("0.5000")
    assert _both(fast, unmeasured, "UTC") == Decimal("0.5000")


def test_pricing_min_kwh_counts_energy_before_the_period() -> None:
    tiers = _tariff(_el(("ENERGY", "0.40", 1), min_kwh=20), _el(("ENERGY", "0.20", 1)))
    cdr = _cdr(
        "2024-01-15T10:00:00Z",
        "2024-01-15T12:00:00Z",
        ("2024-01-15T10:00:00Z", {"ENERGY": "20"}),
        ("2024-01-15T11:00:00Z", {"ENERGY": "5"}),
    )
    assert _both(tiers, cdr, "UTC") == Decimal("6.0000")


# ---- step_size, free stretches, FLAT, reservations (ambiguities 13-16) ---------------------------------------


def test_pricing_session_with_no_priced_dimension_is_free() -> None:
    energy_only = _tariff(_el(("ENERGY", "0.25", 1)))
    cdr = _cdr("2024-01-15T10:00:00Z", "2024-01-15T12:00:00Z", ("2024-01-15T10:00:00Z", {"TIME": "2"}))
    result = price_cdr(energy_only, cdr, "UTC")
    assert result.total_cost.excl_vat == Decimal("0.0000")
    assert result.periods[0].lines[0].element is None
    assert result.billed_time == Decimal("0.0000")


def test_pricing_zero_length_periods_bill_nothing_and_do_not_steer_step_size() -> None:
    t = _tariff(_el(("TIME", "6", 900), end_time="12:00"), _el(("TIME", "6", 60)))
    cdr = _cdr(
        "2024-01-15T11:50:00Z",
        "2024-01-15T12:00:00Z",
        ("2024-01-15T11:50:00Z", {"TIME": "0.1667"}),
        ("2024-01-15T12:00:00Z", {"TIME": "0"}),
    )
    # Last priced interval is the first one: step 900 s -> 10 min billed as 15 min.
    assert _both(t, cdr, "UTC") == Decimal("1.5000")


def test_pricing_flat_billed_once_per_distinct_component_reading_14() -> None:
    two_flats = _tariff(
        _el(("FLAT", "1", 1), ("TIME", "0", 1), end_time="12:00"), _el(("FLAT", "2", 1), ("TIME", "0", 1))
    )
    cdr = _cdr(
        "2024-01-15T11:00:00Z",
        "2024-01-15T13:00:00Z",
        ("2024-01-15T11:00:00Z", {"TIME": "0.5"}),
        ("2024-01-15T11:30:00Z", {"TIME": "0.5"}),
        ("2024-01-15T12:00:00Z", {"TIME": "1"}),
    )
    result = price_cdr(two_flats, cdr, "UTC")
    assert result.total_fixed_cost.excl_vat == Decimal("3.0000")
    assert _both(two_flats, cdr, "UTC") == Decimal("3.0000")


def test_pricing_parking_flat_belongs_to_parking_reading_19() -> None:
    t = _tariff(_el(("FLAT", "1", 1), ("PARKING_TIME", "0", 1)), _el(("FLAT", "0.5", 1), ("ENERGY", "0.2", 1)))
    cdr = _cdr("2024-01-15T10:00:00Z", "2024-01-15T11:00:00Z", ("2024-01-15T10:00:00Z", {"ENERGY": "5"}))
    result = price_cdr(t, cdr, "UTC")
    # FLAT is chosen per dimension like any other: the first element with a FLAT wins, the second never bills.
    assert (result.total_parking_cost.excl_vat, result.total_fixed_cost.excl_vat) == (Decimal(1), Decimal(0))
    assert result.total_cost.excl_vat == Decimal(2)


def test_pricing_reservation_elements_price_only_the_reservation_reading_13() -> None:
    t = _tariff(
        _el(("FLAT", "4", 1, "20"), reservation="RESERVATION_EXPIRES"),
        _el(("TIME", "3", 600, "20"), reservation="RESERVATION"),
        _el(("TIME", "6", 600, "20"), reservation="RESERVATION_EXPIRES"),
        _el(("FLAT", "0.5", 1, "20"), ("ENERGY", "0.25", 1, "10")),
    )
    used = _cdr(
        "2024-01-15T10:00:00Z",
        "2024-01-15T11:22:00Z",
        ("2024-01-15T10:00:00Z", {"RESERVATION_TIME": "0.3667"}),
        ("2024-01-15T10:22:00Z", {"ENERGY": "20", "TIME": "1"}),
    )
    assert _both(t, used, "UTC") == Decimal("7.0000")  # example 18: 1.50 + 0.50 + 5.00
    expired = _cdr(
        "2024-01-15T10:00:00Z", "2024-01-15T11:30:00Z", ("2024-01-15T10:00:00Z", {"RESERVATION_TIME": "1.5"})
    )
    result = price_cdr(t, expired, "UTC")
    assert result.total_cost.excl_vat == Decimal("13.0000")  # expiry FLAT 4 + 90 min at 6/h (expiry TIME wins)
    assert result.total_reservation_cost.incl_vat == Decimal("15.6000")
    assert _both(t, expired, "UTC") == Decimal("13.0000")


def test_pricing_min_price_without_incl_rescales_reading_17() -> None:
    t = _tariff(_el(("ENERGY", "0.25", 1, "10")), min_price={"excl_vat": Decimal("1.00")})
    result = price_cdr(t, _energy_at("2024-01-15T10:00:00Z", "2"), "UTC")
    assert (result.total_cost.excl_vat, result.total_cost.incl_vat) == (Decimal(1), Decimal("1.1"))
    assert result.min_price_applied
    assert result.total_energy_cost.excl_vat == Decimal("0.5")  # per-dimension costs are not adjusted


def test_pricing_missing_vat_means_incl_equals_excl_reading_18() -> None:
    t = _tariff(_el(("ENERGY", "0.25", 1)))
    result = price_cdr(t, _energy_at("2024-01-15T10:00:00Z", "4"), "UTC")
    assert result.total_cost.excl_vat == result.total_cost.incl_vat == Decimal(1)


def test_pricing_very_long_session() -> None:
    t = _tariff(_el(("TIME", "1.5", 1), ("ENERGY", "0.3", 1)), _el(("PARKING_TIME", "1", 900)))
    periods = [
        (f"2024-01-{1 + i // 24:02d}T{i % 24:02d}:00:00Z", {"TIME": "1", "ENERGY": "7.4"}) for i in range(24 * 28)
    ]
    cdr = _cdr("2024-01-01T00:00:00Z", "2024-01-29T00:00:00Z", *periods)
    result = price_cdr(t, cdr, "Europe/Berlin")
    assert result.total_time == Decimal("672.0000")
    assert str(result.total_cost.excl_vat) == reference.price(t, cdr, "Europe/Berlin")["total_cost"]["excl_vat"]


def test_pricing_session_so_far() -> None:
    t = _tariff(_el(("ENERGY", "0.25", 1)))
    session = _cdr("2024-01-15T10:00:00Z", "2024-01-15T10:30:00Z", ("2024-01-15T10:00:00Z", {"ENERGY": "4"}))
    body = json.loads(session)
    del body["end_date_time"]
    body["last_updated"] = "2024-01-15T10:30:00Z"
    result = price_session(t, json.dumps(body).encode())
    assert result.total_cost.excl_vat == Decimal(1)
    assert result.total_time == Decimal("0.5")


# ---- errors name the field ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tariff", "field"),
    [
        (b'{"currency": "EUR"}', "elements"),
        (b'{"currency": "EUR", "elements": []}', "`elements`"),
        (_tariff(_el(("TIME", "1", -5))), "`elements[0].price_components[0].step_size`"),
        (_tariff(_el(("TIME", "1", 1), start_time="7:00")), "`elements[0].restrictions.start_time`"),
        (_tariff(_el(("TIME", "1", 1), day_of_week=["MON"])), "`elements[0].restrictions.day_of_week[0]`"),
        (_tariff(_el(("WATTS", "1", 1))), "`elements[0].price_components[0].type`"),
        (
            b'{"currency": "EUR", "elements": [{"price_components": '
            b'[{"type": "TIME", "price": "1", "step_size": 1}]}]}',
            "`elements[0].price_components[0].price`",
        ),
        (b'{"currency": 5, "elements": []}', "`currency`"),
        (b"not json", "tariff JSON"),
    ],
)
def test_pricing_invalid_tariff_names_the_field(tariff: bytes, field: str) -> None:
    with pytest.raises(PricingError, match=None) as info:
        CompiledTariff(tariff)
    assert field in str(info.value)
    assert isinstance(info.value, CoreError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda c: c.pop("end_date_time"), "`end_date_time`"),
        (lambda c: c.update(start_date_time="2024-01-15 10:00"), "`start_date_time`"),
        (lambda c: c.update(start_date_time="2024-01-15T10:00:00+01:00"), "`start_date_time`"),
        (lambda c: c.update(charging_periods=[]), "`charging_periods`"),
        (
            lambda c: c["charging_periods"][0]["dimensions"][0].update(volume=-1),
            "`charging_periods[0].dimensions[0].volume`",
        ),
        (
            lambda c: c["charging_periods"][0]["dimensions"][0].update(volume="1"),
            "`charging_periods[0].dimensions[0].volume`",
        ),
        (
            lambda c: c["charging_periods"][0]["dimensions"][0].update(type="FOO"),
            "`charging_periods[0].dimensions[0].type`",
        ),
        (lambda c: c.update(currency="USD"), "`currency`"),
        (lambda c: c["charging_periods"][0].update(dimensions=5), "charging_periods[0].dimensions"),
    ],
)
def test_pricing_invalid_cdr_names_the_field(mutate: Any, field: str) -> None:
    cdr = json.loads(_energy_at("2024-01-15T10:00:00Z"))
    mutate(cdr)
    with pytest.raises(PricingError) as info:
        price_cdr(_tariff(_el(("ENERGY", "0.25", 1))), json.dumps(cdr).encode(), "UTC")
    assert field in str(info.value)


def test_pricing_no_tariff_anywhere() -> None:
    with pytest.raises(PricingError, match="No tariff"):
        price_cdr(None, _energy_at("2024-01-15T10:00:00Z"))


def test_pricing_batch_returns_errors_in_place() -> None:
    good = _tariff(_el(("ENERGY", "0.25", 1)))
    results = price_cdrs(
        [
            (good, _energy_at("2024-01-15T10:00:00Z", "4"), None),
            (b"{}", _energy_at("2024-01-15T10:00:00Z"), None),
            (good, b"[]", None),
            (None, _energy_at("2024-01-15T10:00:00Z"), None),
            (good, _energy_at("2024-01-15T10:00:00Z", "8"), "Europe/Paris"),
        ]
    )
    assert [type(r).__name__ for r in results] == [
        "PricingResult",
        "PricingError",
        "PricingError",
        "PricingError",
        "PricingResult",
    ]
    assert results[4].total_cost.excl_vat == Decimal(2)
