"""The one workload generator: benchmarks and tests build their data here.

Sections are kept apart by noun; each section's public functions share a prefix (``pricing_`` for tariffs
and CDRs). Everything is deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

__all__ = ("pricing_cases", "pricing_cdr", "pricing_tariffs")


# ==== pricing: OCPI tariffs and CDRs ==========================================================================

_json = msgspec.json.Encoder(decimal_format="number")


def _pc(kind: str, price: str, step: int, vat: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "price": Decimal(price), "step_size": step}
    if vat is not None:
        out["vat"] = Decimal(vat)
    return out


def _tariff(tariff_id: str, elements: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"country_code": "DE", "party_id": "ALL", "id": tariff_id, "currency": "EUR", "elements": elements,
            "last_updated": "2024-01-01T00:00:00Z", **extra}  # fmt: skip


def pricing_tariffs() -> list[dict[str, Any]]:
    """The spec's example tariffs (tariffs.md §8) that realistic CDRs are priced with."""
    weekdays = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
    return [
        _tariff("simple-energy", [{"price_components": [_pc("ENERGY", "0.25", 1, "10")]}]),
        _tariff("start-energy", [{"price_components": [_pc("FLAT", "0.50", 1, "20"), _pc("ENERGY", "0.25", 1, "10")]}]),
        _tariff(
            "parking-start",
            [
                {
                    "price_components": [
                        _pc("FLAT", "0.50", 1, "20"),
                        _pc("ENERGY", "0.25", 1, "10"),
                        _pc("PARKING_TIME", "2.00", 900, "20"),
                    ]
                }
            ],
        ),
        _tariff(
            "max-price",
            [{"price_components": [_pc("FLAT", "0.50", 1, "20"), _pc("ENERGY", "0.25", 1, "10")]}],
            max_price={"excl_vat": Decimal("10.00"), "incl_vat": Decimal("11.00")},
        ),
        _tariff(
            "time-parking",
            [{"price_components": [_pc("TIME", "3.00", 60, "10"), _pc("PARKING_TIME", "5.00", 300, "20")]}],
        ),
        _tariff(
            "complex",
            [
                {"price_components": [_pc("FLAT", "2.50", 1, "15")]},
                {"price_components": [_pc("TIME", "1.00", 900, "20")], "restrictions": {"max_current": 32}},
                {
                    "price_components": [_pc("TIME", "2.00", 600, "20")],
                    "restrictions": {"min_current": 32, "day_of_week": weekdays},
                },
                {
                    "price_components": [_pc("TIME", "1.25", 600, "20")],
                    "restrictions": {"min_current": 32, "day_of_week": ["SATURDAY", "SUNDAY"]},
                },
                {
                    "price_components": [_pc("PARKING_TIME", "5.00", 300, "10")],
                    "restrictions": {"start_time": "09:00", "end_time": "18:00", "day_of_week": weekdays},
                },
                {
                    "price_components": [_pc("PARKING_TIME", "6.00", 300, "10")],
                    "restrictions": {"start_time": "10:00", "end_time": "17:00", "day_of_week": ["SATURDAY"]},
                },
            ],
        ),
        _tariff(
            "step-size",
            [
                {
                    "price_components": [_pc("TIME", "1.20", 1800), _pc("PARKING_TIME", "1.00", 900)],
                    "restrictions": {"start_time": "00:00", "end_time": "17:00"},
                },
                {
                    "price_components": [_pc("TIME", "2.40", 900), _pc("PARKING_TIME", "1.00", 900)],
                    "restrictions": {"start_time": "17:00", "end_time": "20:00"},
                },
                {
                    "price_components": [_pc("TIME", "2.40", 900)],
                    "restrictions": {"start_time": "20:00", "end_time": "00:00"},
                },
            ],
        ),
        _tariff(
            "max-power",
            [
                {"price_components": [_pc("ENERGY", "0.20", 1, "20")], "restrictions": {"max_power": 16}},
                {"price_components": [_pc("ENERGY", "0.35", 1, "20")], "restrictions": {"max_power": 32}},
                {"price_components": [_pc("ENERGY", "0.50", 1, "20")]},
            ],
        ),
    ]


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def pricing_cdr(rng: random.Random, tariff: dict[str, Any] | None = None) -> dict[str, Any]:
    """A realistic CDR: 1-8 charging periods (cut at quarter hours), then maybe parking; volumes in kWh/hours.

    Args:
        rng: The random source.
        tariff: If given, embedded in the CDR's ``tariffs`` with every period's ``tariff_id`` pointing at it.
    """
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(366 * 24 * 60))
    t = start
    periods = []
    power = Decimal(rng.choice([3.7, 7.4, 11, 22, 50, 150])).quantize(Decimal("0.1"))
    for _ in range(rng.randint(1, 8)):
        minutes = rng.randint(1, 90)
        hours = (Decimal(minutes) / 60).quantize(Decimal("0.0001"))
        kw = power * Decimal(rng.randint(50, 100)) / 100
        periods.append((t, [("ENERGY", (kw * hours).quantize(Decimal("0.001"))), ("TIME", hours),
                            ("MAX_POWER", kw.quantize(Decimal("0.1"))),
                            ("MIN_POWER", (kw * Decimal("0.8")).quantize(Decimal("0.1"))),
                            ("MAX_CURRENT", Decimal(rng.choice([16, 32, 48, 63])))]))  # fmt: skip
        t += timedelta(minutes=minutes)
    if rng.random() < 0.5:
        minutes = rng.randint(1, 240)
        periods.append((t, [("PARKING_TIME", (Decimal(minutes) / 60).quantize(Decimal("0.0001")))]))
        t += timedelta(minutes=minutes)
    cdr: dict[str, Any] = {
        "country_code": "DE",
        "party_id": "ALL",
        "id": f"CDR{rng.randrange(10**12):012d}",
        "start_date_time": _stamp(start),
        "end_date_time": _stamp(t),
        "currency": "EUR",
        "cdr_token": {
            "country_code": "NL",
            "party_id": "EMS",
            "uid": "012345678",
            "type": "RFID",
            "contract_id": "NL-EMS-C12345678-X",
        },
        "auth_method": "WHITELIST",
        "cdr_location": {
            "id": "LOC1",
            "address": "Main 1",
            "city": "Berlin",
            "country": "DEU",
            "coordinates": {"latitude": "52.52", "longitude": "13.40"},
            "evse_uid": "E1",
            "evse_id": "DE*ALL*E1",
            "connector_id": "1",
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "charging_periods": [
            {"start_date_time": _stamp(ts), "dimensions": [{"type": k, "volume": v} for k, v in dims]}
            for ts, dims in periods
        ],
        "total_cost": {"excl_vat": 0, "incl_vat": 0},
        "total_energy": 0,
        "total_time": 0,
        "last_updated": _stamp(t),
    }
    if tariff is not None:
        cdr["tariffs"] = [tariff]
        for p in cdr["charging_periods"]:
            p["tariff_id"] = tariff["id"]
    return cdr


def pricing_cases(n: int, seed: int = 1, embedded_share: float = 0.1) -> list[tuple[bytes | None, bytes, str]]:
    """``n`` pricing cases ``(tariff JSON or None for embedded, CDR JSON, time zone)`` over the spec tariffs.

    Args:
        n: How many cases.
        seed: Random seed.
        embedded_share: Fraction of cases whose tariff is embedded in the CDR instead of given.
    """
    rng = random.Random(seed)
    tariffs = pricing_tariffs()
    encoded = [_json.encode(t) for t in tariffs]
    out: list[tuple[bytes | None, bytes, str]] = []
    for _ in range(n):
        i = rng.randrange(len(tariffs))
        if rng.random() < embedded_share:
            out.append((None, _json.encode(pricing_cdr(rng, tariffs[i])), "Europe/Berlin"))
        else:
            out.append((encoded[i], _json.encode(pricing_cdr(rng)), "Europe/Berlin"))
    return out
