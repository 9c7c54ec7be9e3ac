"""A small, independent pure-Python OCPI 2.2.1 pricer: the oracle the Rust tariff engine is checked against.

Written from tariffs.md §5 and the README's readings, not from the Rust code. ``decimal.Decimal`` for every
number, ``zoneinfo`` for local time. Same readings as the engine: time volumes snap to whole seconds; zero
quantities do not bill; unmeasured power/current fails its restriction; FLAT once per distinct component.
Only the data the engine needs is checked; it does not validate input.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ("price",)

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
HOUR = Decimal(3600)


def _load(data: bytes) -> Any:
    return json.loads(data, parse_float=Decimal, parse_int=Decimal)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)


def _q4(value: Decimal) -> str:
    out = value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return str(out + 0)  # + 0 turns -0.0000 into 0.0000


def _minutes(text: str) -> int:
    return int(text[:2]) * 60 + int(text[3:])


def _holds(r: dict[str, Any], at: dict[str, Any]) -> bool:
    if "start_time" in r or "end_time" in r:
        start = _minutes(r["start_time"]) * 60 if r.get("start_time") else 0
        end = _minutes(r["end_time"]) * 60 if r.get("end_time") else 0
        end = end or 86400
        t = at["second"]
        if start < end and not start <= t < end:
            return False
        if start > end and not (t >= start or t < end):
            return False
    if r.get("start_date") and at["date"] < r["start_date"]:
        return False
    if r.get("end_date") and at["date"] >= r["end_date"]:
        return False
    if r.get("day_of_week") and at["weekday"] not in r["day_of_week"]:
        return False
    checks = [("kwh", at["energy"], at["energy"]), ("duration", at["duration"], at["duration"])]
    for name in ("power", "current"):
        avg, low, high = at[name]
        checks.append((name, avg if avg is not None else low, avg if avg is not None else high))
    for name, low_value, high_value in checks:
        low, high = r.get(f"min_{name}"), r.get(f"max_{name}")
        if low is not None and (low_value is None or low_value < low):
            return False
        if high is not None and (high_value is None or high_value >= high):
            return False
    return True


def _select(tariff: dict[str, Any], kinds: list[str | None], dim: str, at: dict[str, Any]) -> Any:
    for kind in kinds:
        for e, element in enumerate(tariff["elements"]):
            restrictions = element.get("restrictions") or {}
            if restrictions.get("reservation") != kind:
                continue
            for c, component in enumerate(element["price_components"]):
                if component["type"] == dim:
                    if _holds(restrictions, at):
                        return e, c, component, element
                    break
    return None


def _zone(tz: str | None, cdr: dict[str, Any], tariffs: list[dict[str, Any]]) -> ZoneInfo:
    name = tz or (cdr.get("cdr_location") or {}).get("time_zone")
    if name:
        return ZoneInfo(name)
    local = ("start_time", "end_time", "start_date", "end_date", "day_of_week")
    for t in tariffs:
        for element in t["elements"]:
            if any((element.get("restrictions") or {}).get(k) for k in local):
                raise ValueError("time zone required")
    return ZoneInfo("UTC")


def _periods(cdr: dict[str, Any], zone: ZoneInfo) -> list[dict[str, Any]]:
    start = _when(cdr["start_date_time"])
    energy = Decimal(0)
    out = []
    for p in cdr.get("charging_periods") or []:
        t = _when(p["start_date_time"])
        local = t.astimezone(zone)
        vol: dict[str, Decimal] = {}
        for d in p["dimensions"]:
            vol[d["type"]] = vol.get(d["type"], Decimal(0)) + d["volume"]
        secs = {
            k: int((vol.get(k, Decimal(0)) * HOUR).quantize(Decimal(1), ROUND_HALF_UP))
            for k in ("TIME", "PARKING_TIME", "RESERVATION_TIME")
        }
        reserved = "RESERVATION_TIME" in vol
        at = {
            "second": local.hour * 3600 + local.minute * 60 + local.second,
            "date": local.date().isoformat(),
            "weekday": DAYS[local.weekday()],
            "energy": energy,
            "duration": Decimal((t - start) // timedelta(milliseconds=1)) / 1000,
            "power": (vol.get("POWER"), vol.get("MIN_POWER"), vol.get("MAX_POWER")),
            "current": (vol.get("CURRENT"), vol.get("MIN_CURRENT"), vol.get("MAX_CURRENT")),
        }
        in_session = not reserved or any(k in vol for k in ("ENERGY", "TIME", "PARKING_TIME"))
        out.append(
            {
                "at": at,
                "energy": vol.get("ENERGY", Decimal(0)),
                "secs": secs,
                "reserved": reserved,
                "session": in_session,
                "tariff_id": p.get("tariff_id"),
            }
        )
        energy += vol.get("ENERGY", Decimal(0))
    return out


def _round_group(lines: list[dict[str, Any]], kinds: tuple[str, ...], unit: Decimal) -> None:
    priced = [ln for ln in lines if ln["kind"] in kinds and ln["comp"] is not None]
    if not priced:
        return
    last = priced[-1]
    total = sum((ln["qty"] * unit for ln in priced if ln["kind"] == last["kind"]), Decimal(0))
    step = Decimal(last["comp"]["step_size"]) or Decimal(1)
    last["extra"] = ((total / step).to_integral_value(ROUND_CEILING) * step - total) / unit


def _tariff_for(tariffs: list[dict[str, Any]], p: dict[str, Any], explicit: bool, start: datetime) -> dict[str, Any]:
    if not explicit and p["tariff_id"] is not None:
        return next(t for t in tariffs if str(t.get("id", "")).lower() == p["tariff_id"].lower())
    for t in tariffs:
        s, e = t.get("start_date_time"), t.get("end_date_time")
        if (not s or _when(s) <= start) and (not e or start < _when(e)):
            return t
    return tariffs[0]


def _lines(cdr: dict[str, Any], tariffs: list[dict[str, Any]], explicit: bool, zone: ZoneInfo) -> Any:
    periods = _periods(cdr, zone)
    expired = any(p["reserved"] for p in periods) and not any(p["session"] for p in periods)
    res_kinds: list[str | None] = ["RESERVATION_EXPIRES", "RESERVATION"] if expired else ["RESERVATION"]
    lines: list[dict[str, Any]] = []
    seen: set[tuple[int, int, int]] = set()
    chosen = []
    for p in periods:
        tariff = _tariff_for(tariffs, p, explicit, _when(cdr["start_date_time"]))
        chosen.append(tariff)
        ti = next(i for i, t in enumerate(tariffs) if t is tariff)
        phases: list[tuple[list[str | None], str]] = []
        if p["reserved"]:
            phases.append((res_kinds, "reservation"))
            if p["secs"]["RESERVATION_TIME"] > 0:
                hit = _select(tariff, res_kinds, "TIME", p["at"])
                lines.append(
                    {
                        "kind": "RESERVATION",
                        "qty": Decimal(p["secs"]["RESERVATION_TIME"]),
                        "comp": hit[2] if hit else None,
                        "extra": Decimal(0),
                    }
                )
        if p["session"]:
            phases.append(([None], "fixed"))
            for kind, qty in (
                ("ENERGY", p["energy"]),
                ("TIME", Decimal(p["secs"]["TIME"])),
                ("PARKING_TIME", Decimal(p["secs"]["PARKING_TIME"])),
            ):
                if qty > 0:
                    hit = _select(tariff, [None], kind, p["at"])
                    lines.append({"kind": kind, "qty": qty, "comp": hit[2] if hit else None, "extra": Decimal(0)})
        for kinds, category in phases:
            hit = _select(tariff, kinds, "FLAT", p["at"])
            if hit is None or (ti, hit[0], hit[1]) in seen:
                continue
            seen.add((ti, hit[0], hit[1]))
            types = {c["type"] for c in hit[3]["price_components"]}
            if category == "fixed" and "PARKING_TIME" in types and types <= {"PARKING_TIME", "FLAT"}:
                category = "parking"
            lines.append({"kind": "FLAT", "qty": Decimal(1), "comp": hit[2], "extra": Decimal(0), "cat": category})
    return lines, chosen, periods


def _clamp(excl: Decimal, incl: Decimal, tariff: dict[str, Any]) -> tuple[Decimal, Decimal]:
    for name, beyond in (("min_price", lambda v, b: v < b), ("max_price", lambda v, b: v > b)):
        limit = tariff.get(name)
        if not limit:
            continue
        new_excl = limit["excl_vat"] if beyond(excl, limit["excl_vat"]) else excl
        if limit.get("incl_vat") is not None:
            incl = limit["incl_vat"] if beyond(incl, limit["incl_vat"]) else incl
        elif new_excl != excl:
            incl = new_excl if excl == 0 else incl * new_excl / excl
        excl = new_excl
    return excl, incl


def price(tariff: bytes | None, cdr_bytes: bytes, tz: str | None = None) -> dict[str, Any]:
    """Price a CDR; returns the totals as 4-decimal strings (the engine's output shape, without periods)."""
    cdr = _load(cdr_bytes)
    tariffs = [_load(tariff)] if tariff is not None else list(cdr.get("tariffs") or [])
    if not tariffs:
        raise ValueError("no tariff")
    zone = _zone(tz, cdr, tariffs)
    lines, chosen, periods = _lines(cdr, tariffs, tariff is not None, zone)
    _round_group(lines, ("ENERGY",), Decimal(1000))
    _round_group(lines, ("TIME", "PARKING_TIME"), Decimal(1))
    _round_group(lines, ("RESERVATION",), Decimal(1))
    slots = {
        k: [Decimal(0), Decimal(0), Decimal(0), Decimal(0)]
        for k in ("energy", "time", "parking", "fixed", "reservation")
    }
    slot_of = {"ENERGY": "energy", "TIME": "time", "PARKING_TIME": "parking", "RESERVATION": "reservation"}
    for ln in lines:
        if ln["comp"] is None:
            continue
        excl = (ln["qty"] + ln["extra"]) * ln["comp"]["price"]
        vat = ln["comp"].get("vat")
        incl = excl * (100 + vat) / 100 if vat is not None else excl
        slot = slots[ln["cat"] if ln["kind"] == "FLAT" else slot_of[ln["kind"]]]
        offset = 0 if ln["kind"] in ("ENERGY", "FLAT") else 2  # money, or money x seconds
        slot[offset] += excl
        slot[offset + 1] += incl
    totals = {k: (v[0] + v[2] / HOUR, v[1] + v[3] / HOUR) for k, v in slots.items()}
    excl = sum((v[0] for v in totals.values()), Decimal(0))
    incl = sum((v[1] for v in totals.values()), Decimal(0))
    excl, incl = _clamp(excl, incl, chosen[-1] if chosen else tariffs[0])
    out: dict[str, Any] = {"total_cost": {"excl_vat": _q4(excl), "incl_vat": _q4(incl)}}
    for k, (e, i) in totals.items():
        out[f"total_{k}_cost"] = {"excl_vat": _q4(e), "incl_vat": _q4(i)}
    billed = {
        k: sum((ln["qty"] + ln["extra"] for ln in lines if ln["kind"] == k and ln["comp"] is not None), Decimal(0))
        for k in slot_of
    }
    out["total_energy"] = _q4(sum((p["energy"] for p in periods), Decimal(0)))
    out["total_parking_time"] = _q4(sum((Decimal(p["secs"]["PARKING_TIME"]) for p in periods), Decimal(0)) / HOUR)
    out["billed_energy"] = _q4(billed["ENERGY"])
    out["billed_time"] = _q4(billed["TIME"] / HOUR)
    out["billed_parking_time"] = _q4(billed["PARKING_TIME"] / HOUR)
    out["billed_reservation_time"] = _q4(billed["RESERVATION"] / HOUR)
    return out
