"""Typed, documented contract of the Rust extension ``gateway._core``."""

from collections.abc import Sequence
from typing import final

__version__: str

class CoreError(ValueError):
    """Base error of the Rust core: bad input bytes, invalid tariffs or CDRs. A ``ValueError``."""

def core_version() -> str:
    """Return the version of the Rust core.

    Returns:
        The crate version from ``rust_core/Cargo.toml``.
    """

class PricingError(CoreError):
    """A tariff, CDR or session that cannot be priced; the message names the field and the problem."""

@final
class CompiledTariff:
    """An OCPI 2.2.1 Tariff parsed and validated once, then reused for many pricing calls.

    Args:
        tariff_json: The Tariff object as JSON bytes.

    Raises:
        PricingError: The JSON is not a valid Tariff; the message names the field.
    """

    def __new__(cls, tariff_json: bytes) -> CompiledTariff: ...
    @property
    def id(self) -> str | None:
        """``Tariff.id``, if the JSON had one."""
    @property
    def currency(self) -> str:
        """ISO 4217 currency of the tariff."""

def price_cdr(tariff: CompiledTariff | None, cdr: bytes, tz: str | None = None) -> bytes:
    """Price a CDR's charging periods against a tariff.

    Args:
        tariff: The tariff; ``None`` uses the tariffs embedded in the CDR (``tariffs``), picked per period by
            ``tariff_id``.
        cdr: The CDR as JSON bytes.
        tz: IANA time zone of the Location. Without it, ``cdr_location.time_zone`` (a non-2.2.1 extension) is
            used, else UTC when no restriction depends on local time.

    Returns:
        The result as JSON bytes: totals as ``{"excl_vat", "incl_vat"}`` strings with 4 decimals, volumes in
        kWh and hours, and a per-period breakdown naming the element used (see ``gateway.pricing``).

    Raises:
        PricingError: Invalid CDR or tariff, unknown time zone, no tariff, or a time zone needed but missing.
    """

def price_session(tariff: CompiledTariff, session: bytes, tz: str | None = None) -> bytes:
    """Price an OCPI Session so far (up to ``end_date_time``, else ``last_updated``).

    Args:
        tariff: The tariff of the session.
        session: The Session as JSON bytes (charging periods may be empty).
        tz: IANA time zone of the Location.

    Returns:
        The result as JSON bytes, in the same shape as ``price_cdr``.

    Raises:
        PricingError: Invalid session, unknown time zone, or a time zone needed but missing.
    """

def price_cdr_batch(
    tariffs: Sequence[CompiledTariff],
    cases: Sequence[tuple[int | None, bytes, str | None]],
    *,
    breakdown: bool = True,
) -> list[bytes | str]:
    """Price many CDRs in one call, with the GIL released (spread over the cores from 256 cases on).

    Args:
        tariffs: The tariffs the cases refer to by index.
        cases: ``(tariff index or None for the embedded tariff, CDR JSON bytes, time zone or None)``.
        breakdown: Include the per-period breakdown; ``False`` leaves ``periods`` empty (totals only, faster).

    Returns:
        One item per case, in order: the result JSON bytes (as ``price_cdr``), or the error message.
    """
