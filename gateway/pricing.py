"""Typed pricing API over the Rust tariff engine, and the ``ocpi-gateway price`` command's behaviour.

Money and volumes are ``Decimal`` (decoded from the 4-decimal strings Rust returns), never floats.

Time zone rule: OCPI 2.2.1's CdrLocation has no ``time_zone`` (the Location has). Pass ``tz``; without it a
``cdr_location.time_zone`` sent by the peer is used; failing that, UTC is used only when no restriction of the
tariff depends on local time (``time_zone_source == "default"`` in the result), and otherwise pricing fails
with ``PricingError``: a guessed zone would silently misprice time-of-day tariffs.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec

from gateway.core import CompiledTariff, PricingError, price_cdr_batch
from gateway.core import price_cdr as _price_cdr
from gateway.core import price_session as _price_session

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import TextIO

__all__ = (
    "Price",
    "PricedLine",
    "PricedPeriod",
    "PricingError",
    "PricingResult",
    "compile_tariff",
    "price_cdr",
    "price_cdrs",
    "price_session",
    "run_price_cli",
)

TariffInput = bytes | CompiledTariff | None
"""A tariff as JSON bytes, already compiled, or ``None`` for the tariff embedded in the CDR."""


class Price(msgspec.Struct, frozen=True, kw_only=True):
    """An amount, 4 decimals, rounded half away from zero."""

    excl_vat: Decimal
    incl_vat: Decimal


class PricedLine(msgspec.Struct, frozen=True, kw_only=True):
    """One quantity of a period and what it cost."""

    dimension: Literal["ENERGY", "TIME", "PARKING_TIME", "RESERVATION_TIME", "FLAT"]
    element: int | None
    """Index of the tariff element that priced it; ``None`` = no element applied (free)."""
    volume: Decimal | None
    """Measured volume (kWh or hours); ``None`` for FLAT."""
    billed_volume: Decimal | None
    """Volume billed after step_size (the rounding extra sits on the last priced line)."""
    cost: Price


class PricedPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """A charging period of the breakdown."""

    start_date_time: str
    tariff_id: str | None
    lines: tuple[PricedLine, ...]


class PricingResult(msgspec.Struct, frozen=True, kw_only=True):
    """Totals of a priced CDR or session, and the per-period breakdown."""

    currency: str
    time_zone: str
    time_zone_source: Literal["explicit", "cdr_location", "default"]
    total_cost: Price
    """All costs, clamped by the tariff's ``min_price``/``max_price``."""
    total_energy_cost: Price
    total_time_cost: Price
    total_parking_cost: Price
    """Parking time plus FLAT fees of parking-only elements."""
    total_fixed_cost: Price
    """FLAT fees other than parking and reservation ones."""
    total_reservation_cost: Price
    total_energy: Decimal
    """kWh."""
    total_time: Decimal
    """Hours from start to end, parking included."""
    total_charging_time: Decimal
    total_parking_time: Decimal
    total_reservation_time: Decimal
    billed_energy: Decimal
    """kWh billed after step_size."""
    billed_time: Decimal
    billed_parking_time: Decimal
    billed_reservation_time: Decimal
    min_price_applied: bool
    max_price_applied: bool
    periods: tuple[PricedPeriod, ...]


_decoder = msgspec.json.Decoder(PricingResult)


@functools.lru_cache(maxsize=256)
def compile_tariff(tariff: bytes) -> CompiledTariff:
    """Compile tariff JSON once; repeated bytes hit a small cache.

    Args:
        tariff: An OCPI Tariff as JSON bytes.

    Returns:
        The compiled tariff.

    Raises:
        PricingError: The tariff is invalid; the message names the field.
    """
    return CompiledTariff(tariff)


def _compiled(tariff: TariffInput) -> CompiledTariff | None:
    if tariff is None or isinstance(tariff, CompiledTariff):
        return tariff
    return compile_tariff(bytes(tariff))


def price_cdr(tariff: TariffInput, cdr: bytes, tz: str | None = None) -> PricingResult:
    """Price a CDR.

    Args:
        tariff: Tariff JSON bytes, a ``CompiledTariff``, or ``None`` to use the CDR's embedded ``tariffs``.
        cdr: The CDR as JSON bytes.
        tz: IANA time zone of the Location (see the module docstring).

    Returns:
        The totals and the per-period breakdown.

    Raises:
        PricingError: The tariff or CDR cannot be priced; the message names the field and the problem.
    """
    return _decoder.decode(_price_cdr(_compiled(tariff), cdr, tz))


def price_session(tariff: bytes | CompiledTariff, session: bytes, tz: str | None = None) -> PricingResult:
    """Price an OCPI Session so far.

    Args:
        tariff: Tariff JSON bytes or a ``CompiledTariff``.
        session: The Session as JSON bytes; priced up to ``end_date_time``, else ``last_updated``.
        tz: IANA time zone of the Location.

    Returns:
        The totals so far and the per-period breakdown.

    Raises:
        PricingError: The tariff or session cannot be priced.
    """
    compiled = _compiled(tariff)
    if compiled is None:  # pragma: no cover - excluded by the type
        raise TypeError("price_session needs a tariff")
    return _decoder.decode(_price_session(compiled, session, tz))


def price_cdrs(
    cases: Iterable[tuple[TariffInput, bytes, str | None]], *, breakdown: bool = True
) -> list[PricingResult | PricingError]:
    """Price many CDRs in one call to Rust, with the GIL released while pricing.

    Args:
        cases: ``(tariff, cdr, tz)`` triples as for ``price_cdr``. Equal tariff bytes are compiled once.
        breakdown: Build the per-period breakdown; ``False`` gives results with empty ``periods`` (faster).

    Returns:
        One item per case, in order: the result, or the ``PricingError`` (returned, not raised) of a case that
        cannot be priced.
    """
    tariffs: list[CompiledTariff] = []
    index: dict[bytes | int, int] = {}
    out: list[PricingResult | PricingError | None] = []
    batch: list[tuple[int | None, bytes, str | None]] = []
    where: list[int] = []
    for tariff, cdr, tz in cases:
        slot: int | None = None
        if tariff is not None:
            key: bytes | int = id(tariff) if isinstance(tariff, CompiledTariff) else bytes(tariff)
            if key not in index:
                try:
                    compiled = tariff if isinstance(tariff, CompiledTariff) else compile_tariff(bytes(tariff))
                except PricingError as err:
                    out.append(err)
                    continue
                index[key] = len(tariffs)
                tariffs.append(compiled)
            slot = index[key]
        where.append(len(out))
        out.append(None)
        batch.append((slot, cdr, tz))
    for position, item in zip(where, price_cdr_batch(tariffs, batch, breakdown=breakdown), strict=True):
        out[position] = _decoder.decode(item) if isinstance(item, bytes) else PricingError(item)
    return [item for item in out if item is not None]


# ---- the `ocpi-gateway price` command ----------------------------------------------------------------------


class _BatchCase(msgspec.Struct, kw_only=True):
    id: msgspec.Raw = msgspec.Raw(b"null")
    tariff: msgspec.Raw = msgspec.Raw(b"null")
    cdr: msgspec.Raw
    tz: str | None = None


class _Totals(msgspec.Struct, kw_only=True, omit_defaults=False):
    """A batch output line: the result without the per-period breakdown."""

    id: msgspec.Raw
    currency: str
    time_zone: str
    time_zone_source: str
    total_cost: Price
    total_energy_cost: Price
    total_time_cost: Price
    total_parking_cost: Price
    total_fixed_cost: Price
    total_reservation_cost: Price
    total_energy: Decimal
    total_time: Decimal
    total_parking_time: Decimal
    total_reservation_time: Decimal
    billed_energy: Decimal
    billed_time: Decimal
    billed_parking_time: Decimal
    billed_reservation_time: Decimal
    min_price_applied: bool
    max_price_applied: bool


class _Failure(msgspec.Struct, kw_only=True):
    id: msgspec.Raw
    error: str


_CHUNK = 4096
_encoder = msgspec.json.Encoder(decimal_format="string")
_case_decoder = msgspec.json.Decoder(_BatchCase)
_NULL = b"null"


def _totals(case_id: msgspec.Raw, result: PricingResult) -> _Totals:
    fields = {name: getattr(result, name) for name in _Totals.__struct_fields__ if name != "id"}
    return _Totals(id=case_id, **fields)


def _chunks(lines: Iterable[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        if line.strip():
            chunk.append(line)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _price_chunk(lines: list[str]) -> tuple[list[bytes], bool]:
    ids: list[msgspec.Raw] = []
    cases: list[tuple[TariffInput, bytes, str | None]] = []
    rows: list[bytes | None] = []
    for line in lines:
        try:
            case = _case_decoder.decode(line)
        except msgspec.DecodeError as err:
            rows.append(_encoder.encode(_Failure(id=msgspec.Raw(_NULL), error=f"Invalid case line: {err}")))
            continue
        tariff = bytes(case.tariff)
        ids.append(case.id)
        cases.append((None if tariff == _NULL else tariff, bytes(case.cdr), case.tz))
        rows.append(None)
    results = iter(zip(ids, price_cdrs(cases, breakdown=False), strict=True))  # batch lines print totals only
    failed = any(row is not None for row in rows)
    out: list[bytes] = []
    for row in rows:
        if row is not None:
            out.append(row)
            continue
        case_id, result = next(results)
        if isinstance(result, PricingError):
            failed = True
            out.append(_encoder.encode(_Failure(id=case_id, error=str(result))))
        else:
            out.append(_encoder.encode(_totals(case_id, result)))
    return out, failed


def run_price_cli(
    tariff_path: str | Path | None,
    cdr_path: str | Path | None,
    tz: str | None,
    batch: bool,
    stdin: TextIO,
    stdout: TextIO,
) -> int:
    """Behaviour of ``ocpi-gateway price``.

    ``price --tariff T.json --cdr C.json [--tz ZONE]`` prints the result as one JSON document; without
    ``--tariff`` the CDR's embedded tariff is used. ``price --batch`` reads JSON Lines
    ``{"id", "tariff", "cdr", "tz"}`` from ``stdin`` (``tariff`` null = embedded) and writes one line per case,
    in order, with the same ``id``: the totals (money as ``{"excl_vat": "1.2345", "incl_vat": "1.4938"}``), or
    ``{"id", "error"}`` for a case that cannot be priced; the rest go on.

    Args:
        tariff_path: Tariff JSON file (single mode), or ``None``.
        cdr_path: CDR JSON file (single mode).
        tz: IANA time zone (single mode).
        batch: Read cases from ``stdin`` instead.
        stdin: Where batch cases come from.
        stdout: Where results go.

    Returns:
        0 when everything was priced, 1 when a CDR (or a batch case) could not be priced, 2 on usage errors
        (missing ``--cdr``, unreadable file).
    """
    if batch:
        status = 0
        for chunk in _chunks(stdin):
            rows, failed = _price_chunk(chunk)
            stdout.write("".join(row.decode() + "\n" for row in rows))
            status = 1 if failed else status
        return status
    if cdr_path is None:
        stdout.write(_encoder.encode({"error": "--cdr is required unless --batch is given"}).decode() + "\n")
        return 2
    try:
        tariff = Path(tariff_path).read_bytes() if tariff_path is not None else None
        cdr = Path(cdr_path).read_bytes()
    except OSError as err:
        stdout.write(_encoder.encode({"error": f"Cannot read input: {err}"}).decode() + "\n")
        return 2
    try:
        result = price_cdr(tariff, cdr, tz)
    except PricingError as err:
        stdout.write(_encoder.encode({"error": str(err)}).decode() + "\n")
        return 1
    stdout.write(_encoder.encode(result).decode() + "\n")
    return 0
