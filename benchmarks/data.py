"""The one workload generator: benchmarks and tests build their data here.

Sections are kept apart by noun; each section's public functions share a prefix (``pricing_`` for tariffs
and CDRs). Everything is deterministic for a given seed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

__all__ = ("tokens_array", "tokens_json", "tokens_keys", "tokens_ndjson", "tokens_token")


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
