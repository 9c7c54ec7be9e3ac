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

__all__ = (
    "locations_connector",
    "locations_evse",
    "locations_location",
    "pricing_cases",
    "pricing_cdr",
    "pricing_tariffs",
    "tokens_array",
    "tokens_json",
    "tokens_keys",
    "tokens_ndjson",
    "tokens_parties",
    "tokens_token",
)


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


# ==== tokens: OCPI Tokens of many eMSPs, for the TokenCache =====================================================
#
# Token ``i`` is a pure function of ``i``: 20 eMSPs, mostly RFID cards (14 hex digit UIDs), some app users;
# whitelist ALLOWED 60 %, ALWAYS 25 %, ALLOWED_OFFLINE 10 %, NEVER 5 % (app users: NEVER), 3 % invalid;
# half the tokens share a group id with one other token, 40 % carry a language, a few an energy contract.
# Built as JSON text directly so that a million tokens take about a second.

_TOKENS_PARTIES = [
    ("NL", "TNM", "TheNewMotion"), ("DE", "ABC", "ABC Mobility"), ("FR", "EVB", "EV Box"),
    ("BE", "ALL", "Allego"), ("DE", "ION", "Ionity"), ("NL", "SHL", "Shell Recharge"),
    ("GB", "BPP", "bp pulse"), ("AT", "SMA", "Smatrics"), ("CH", "MVE", "Move"), ("IT", "ENX", "Enel X"),
    ("ES", "IBD", "Iberdrola"), ("SE", "VAT", "Vattenfall"), ("NO", "FOR", "Fortum"), ("DK", "CLE", "Clever"),
    ("PL", "GRN", "GreenWay"), ("PT", "MOB", "Mobi.E"), ("FI", "KPL", "K-Lataus"), ("IE", "ESB", "ESB"),
    ("LU", "CHA", "Chargy"), ("CZ", "CEZ", "ČEZ \"Elektro\""),
]  # fmt: skip
_TOKENS_LANGUAGES = ["de", "nl", "en", "fr", "it"]
_TOKENS_PROFILES = ["CHEAP", "FAST", "GREEN", "REGULAR"]
_TOKENS_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _tokens_mix(i: int, seed: int) -> int:
    """A well-spread 32-bit number for token ``i`` (Knuth's multiplicative hash)."""
    return ((i + seed * 7919) * 2654435761) & 0xFFFFFFFF


def _tokens_uid(i: int, seed: int) -> str:
    return f"{_tokens_mix(i, seed):08X}{i:06X}"


def _tokens_stamp(i: int) -> str:
    """``last_updated`` of token ``i``: one second apart from 2024-01-01T00:00:00Z."""
    day, second = divmod(i, 86400)
    date = _TOKENS_DATES.get(day)
    if date is None:
        date = _TOKENS_DATES[day] = (_TOKENS_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
    return f"{date}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"


_TOKENS_DATES: dict[int, str] = {}


_TOKENS_ISSUERS = [msgspec.json.encode(issuer).decode() for _, _, issuer in _TOKENS_PARTIES]


def tokens_parties() -> list[tuple[str, str]]:
    """The (country code, party id) of the eMSPs that own the tokens: token ``i`` belongs to party ``i % 20``."""
    return [(cc, pid) for cc, pid, _ in _TOKENS_PARTIES]


def tokens_json(i: int, *, seed: int = 0) -> str:
    """Token number ``i`` as compact JSON text (fields in the spec's order)."""
    h = _tokens_mix(i, seed)
    party = i % len(_TOKENS_PARTIES)
    cc, pid, _ = _TOKENS_PARTIES[party]
    bucket = h % 100
    kind = "RFID" if bucket < 90 else "APP_USER" if bucket < 97 else "AD_HOC_USER" if bucket < 99 else "OTHER"
    wl_bucket = (h >> 8) % 100
    whitelist = (
        "NEVER" if kind != "RFID" or wl_bucket < 5 else
        "ALLOWED_OFFLINE" if wl_bucket < 15 else "ALWAYS" if wl_bucket < 40 else "ALLOWED"
    )  # fmt: skip
    visual = f',"visual_number":"{pid}-{i:09d}-{h % 7}"' if kind == "RFID" else ""
    group = f',"group_id":"{pid}G{i // 2:08d}"' if (h >> 16) % 2 == 0 else ""
    language = f',"language":"{_TOKENS_LANGUAGES[h % 5]}"' if (h >> 12) % 10 < 4 else ""
    profile = f',"default_profile_type":"{_TOKENS_PROFILES[(h >> 3) % 4]}"' if (h >> 20) % 10 == 0 else ""
    energy = (
        f',"energy_contract":{{"supplier_name":"Greenpeace Energy eG","contract_id":"GP{i:010d}"}}'
        if (h >> 24) % 50 == 0 else ""
    )  # fmt: skip
    return (
        f'{{"country_code":"{cc}","party_id":"{pid}","uid":"{h:08X}{i:06X}","type":"{kind}",'
        f'"contract_id":"{cc}{pid}C{i:08d}{h % 10}"{visual},"issuer":{_TOKENS_ISSUERS[party]}{group},'
        f'"valid":{"false" if (h >> 4) % 100 < 3 else "true"},"whitelist":"{whitelist}"{language}{profile}{energy},'
        f'"last_updated":"{_tokens_stamp(i)}"}}'
    )


def tokens_token(i: int, *, seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """Token number ``i`` as a dict, with ``overrides`` replacing fields (``None`` removes a field)."""
    token: dict[str, Any] = msgspec.json.decode(tokens_json(i, seed=seed))
    for name, value in overrides.items():
        if value is None:
            token.pop(name, None)
        else:
            token[name] = value
    return token


def tokens_ndjson(n: int, *, seed: int = 0, start: int = 0) -> bytes:
    """Tokens ``start`` to ``start + n - 1`` as NDJSON bytes (one Token per line)."""
    return "\n".join([tokens_json(i, seed=seed) for i in range(start, start + n)]).encode()


def tokens_array(n: int, *, seed: int = 0, start: int = 0) -> bytes:
    """The same tokens as :func:`tokens_ndjson`, as one JSON array."""
    return ("[" + ",".join([tokens_json(i, seed=seed) for i in range(start, start + n)]) + "]").encode()


def tokens_keys(n: int, count: int, *, seed: int = 0, miss_every: int = 10) -> list[tuple[str, str, str, str]]:
    """``count`` lookup keys (country_code, party_id, uid, type) into the first ``n`` tokens.

    Every ``miss_every``-th key names a token that is not among them; keys of real tokens come in
    mixed case some of the time (CiString matching).
    """
    keys = []
    for j in range(count):
        i = _tokens_mix(j, seed + 1) % max(n, 1)
        h = _tokens_mix(i, seed)
        cc, pid, _ = _TOKENS_PARTIES[i % len(_TOKENS_PARTIES)]
        bucket = h % 100
        kind = "RFID" if bucket < 90 else "APP_USER" if bucket < 97 else "AD_HOC_USER" if bucket < 99 else "OTHER"
        uid = _tokens_uid(i, seed)
        if miss_every and j % miss_every == miss_every - 1:
            uid = f"MISS{j:010d}"
        elif j % 3 == 0:
            cc, pid, uid = cc.lower(), pid.lower(), uid.lower()
        keys.append((cc, pid, uid, kind))
    return keys


# ==== locations: OCPI Locations, EVSEs and Connectors ==========================================================

_LOCATIONS_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _locations_stamp(i: int) -> str:
    return (_LOCATIONS_EPOCH + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def locations_connector(connector_id: str = "1", *, stamp: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid Connector (Type 2 socket, 3-phase 230 V 32 A); ``stamp`` seconds after 2024-01-01 as last_updated."""
    connector: dict[str, Any] = {
        "id": connector_id, "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
        "max_voltage": 230, "max_amperage": 32, "tariff_ids": ["T1"], "last_updated": _locations_stamp(stamp),
    }
    connector.update(overrides)
    return connector


def locations_evse(uid: str = "EVSE1", *, stamp: int = 0, connectors: int = 2, **overrides: Any) -> dict[str, Any]:
    """A valid AVAILABLE EVSE with ``connectors`` connectors (ids ``1``..``n``)."""
    evse: dict[str, Any] = {
        "uid": uid, "evse_id": f"NL*GWY*E{uid}"[:48], "status": "AVAILABLE", "capabilities": ["RFID_READER"],
        "connectors": [locations_connector(str(n + 1), stamp=stamp) for n in range(connectors)],
        "last_updated": _locations_stamp(stamp),
    }
    evse.update(overrides)
    return evse


def locations_location(
    location_id: str = "LOC1", *, country_code: str = "NL", party_id: str = "GWY", stamp: int = 0, evses: int = 2,
    **overrides: Any,
) -> dict[str, Any]:
    """A valid public Location with ``evses`` EVSEs (uids ``{id}-1``..), all stamped ``stamp`` seconds after 2024."""
    location: dict[str, Any] = {
        "country_code": country_code, "party_id": party_id, "id": location_id, "publish": True,
        "name": f"Site {location_id}", "address": "Stationsplein 1", "city": "Utrecht", "postal_code": "3511 ED",
        "country": "NLD", "coordinates": {"latitude": "52.089400", "longitude": "5.110300"},
        "parking_type": "ON_STREET",
        "evses": [locations_evse(f"{location_id}-{n + 1}", stamp=stamp) for n in range(evses)],
        "time_zone": "Europe/Amsterdam", "last_updated": _locations_stamp(stamp),
    }
    location.update(overrides)
    return location
