"""Typed, documented contract of the Rust extension ``gateway._core``."""

from collections.abc import Sequence
from typing import Literal, final

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

# -- tokens -------------------------------------------------------------------------------------

_Action = Literal["ANSWER_LOCALLY", "ASK_EMSP_REALTIME", "ASK_EMSP_ELSE_LOCAL", "UNKNOWN"]
_Allowed = Literal["ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED"]
_AllowedPolicy = Literal["LOCAL", "REALTIME", "LOCAL_IF_VALID"]

@final
class TokenCache:
    """Every token of every eMSP, compact in memory, with the OCPI whitelist decision. Thread-safe.

    Keys are (country_code, party_id, uid, token_type). country_code, party_id and uid are OCPI
    CiStrings: they match whatever their ASCII case. The cache answers country_code and party_id in
    upper case and the uid as the eMSP last sent it. A token is kept without its JSON: its strings are
    pooled or packed and it is rendered again on demand (fields in the spec's order, DateTime with Z,
    fraction digits only when non-zero, to the microsecond).

    Whitelist decision (OCPI 2.2.1 tokens section 4); ``allowed`` is always the answer to give when no
    real-time answer is obtained, ``None`` only for UNKNOWN:

    - not cached: ``UNKNOWN``.
    - ALWAYS: ``ANSWER_LOCALLY`` with ALLOWED if valid, else BLOCKED.
    - ALLOWED: per ``allowed_policy``: LOCAL answers locally; REALTIME asks the eMSP, falling back to
      the cached answer; LOCAL_IF_VALID answers valid tokens locally and asks about invalid ones.
    - ALLOWED_OFFLINE: ``ASK_EMSP_ELSE_LOCAL`` (fallback ALLOWED if valid, else BLOCKED); when the eMSP
      is unreachable, ``ANSWER_LOCALLY`` with that fallback.
    - NEVER: ``ASK_EMSP_REALTIME`` with fallback NOT_ALLOWED; unreachable: ``ANSWER_LOCALLY`` NOT_ALLOWED.

    ``valid: false`` never skips a real-time check the whitelist type requires.
    """

    def __new__(cls, *, allowed_policy: str = "LOCAL", shards: int = 64) -> TokenCache:
        """Create an empty cache.

        Args:
            allowed_policy: what to do with ``whitelist: ALLOWED`` tokens: ``LOCAL`` (answer from the
                cache), ``REALTIME`` (ask the eMSP, cache as fallback) or ``LOCAL_IF_VALID``.
            shards: number of independently locked shards, rounded up to a power of two (1 to 1024).

        Raises:
            CoreError: ``allowed_policy`` is not one of the names above.
        """

    @property
    def allowed_policy(self) -> _AllowedPolicy:
        """The policy for ``whitelist: ALLOWED`` tokens."""

    def put(self, token: bytes) -> bool:
        """Insert or replace one token from the JSON of an OCPI Token (a PUT body).

        Args:
            token: the Token JSON. Unknown fields are ignored.

        Returns:
            True when the token was new, False when it replaced a cached one.

        Raises:
            CoreError: the JSON is not a valid Token (message names the field).
        """

    def patch(self, country_code: str, party_id: str, uid: str, token_type: str, patch: bytes) -> bool:
        """Apply an OCPI PATCH to a cached token: the fields present replace the cached ones.

        ``null`` on an optional field changes nothing (a PATCH cannot remove optional data).

        Args:
            country_code: owner country code (any case).
            party_id: owner party id (any case).
            uid: token uid (any case).
            token_type: the token type, e.g. ``"RFID"``.
            patch: the PATCH body; ``last_updated`` is required.

        Returns:
            True when the token was patched, False when it is not cached (nothing is created).

        Raises:
            CoreError: bad JSON or field, missing ``last_updated``, a ``null`` required field, a body
                whose country_code/party_id/uid/type names another token, or an unknown token type.
        """

    def load(self, data: bytes) -> tuple[int, int]:
        """Insert or replace many tokens from a JSON array of Tokens or NDJSON (one Token per line).

        All or nothing: every record is validated before any is stored. Readers keep being served
        during a load (tokens are applied shard by shard in small chunks); they see whole tokens, but
        may see part of a load before it returns. A later record with the same key wins. The GIL is
        released.

        Args:
            data: the JSON array (first non-blank byte ``[``) or NDJSON (blank lines are skipped).

        Returns:
            (added, replaced) counts.

        Raises:
            CoreError: a record is bad; the message ends with its place (``at line N``, 1-based, for
                NDJSON; ``at index N``, 0-based, for an array) and nothing was loaded.
        """

    def remove(self, country_code: str, party_id: str, uid: str, token_type: str = "RFID") -> bool:
        """Remove one token.

        Args:
            country_code: owner country code.
            party_id: owner party id.
            uid: token uid.
            token_type: the token type.

        Returns:
            True when the token was cached.

        Raises:
            CoreError: unknown token type.
        """

    def get(self, country_code: str, party_id: str, uid: str, token_type: str = "RFID") -> bytes | None:
        """Return one cached token as OCPI Token JSON.

        Args:
            country_code: owner country code.
            party_id: owner party id.
            uid: token uid.
            token_type: the token type.

        Returns:
            The Token JSON, or None when it is not cached.

        Raises:
            CoreError: unknown token type.
        """

    def authorize(
        self, country_code: str, party_id: str, uid: str, token_type: str = "RFID", emsp_reachable: bool = True
    ) -> tuple[_Action, _Allowed | None, bytes | None]:
        """Decide what to do with an authorisation request for one token (see the class docstring).

        Args:
            country_code: owner country code.
            party_id: owner party id.
            uid: token uid.
            token_type: the token type.
            emsp_reachable: False when a real-time answer from the eMSP cannot be had (known down,
                or a real-time call just timed out or failed).

        Returns:
            (action, allowed, token JSON): ``allowed`` is the answer when no real-time answer is
            obtained; the token JSON (for AuthorizationInfo.token) is None only for UNKNOWN.

        Raises:
            CoreError: unknown token type.
        """

    def lookup_any(
        self, uid: str, token_type: str = "RFID", emsp_reachable: bool = True
    ) -> list[tuple[_Action, _Allowed | None, bytes | None]]:
        """Like :meth:`authorize` for a uid whose owner is not known: every cached token with it.

        Args:
            uid: token uid.
            token_type: the token type.
            emsp_reachable: as in :meth:`authorize`.

        Returns:
            One (action, allowed, token JSON) per owner, ordered by country code then party id; empty
            when no owner has the uid.

        Raises:
            CoreError: unknown token type.
        """

    def authorize_many(self, requests: bytes, emsp_reachable: bool = True) -> bytes:
        """Answer many authorisation requests in one call, without the GIL.

        Args:
            requests: JSON ``[[country_code, party_id, uid, type], ...]``.
            emsp_reachable: as in :meth:`authorize`.

        Returns:
            JSON ``[{"action": ..., "allowed": ... | null, "token": {...} | null}, ...]`` in order.

        Raises:
            CoreError: the requests are not such an array (or name an unknown token type).
        """

    def count(self, country_code: str, party_id: str) -> int:
        """Return how many tokens of one owner are cached.

        Args:
            country_code: owner country code.
            party_id: owner party id.

        Returns:
            The number of cached tokens of that owner.
        """

    def clear(self) -> None:
        """Remove every token and free the memory. The GIL is released."""

    def memory_bytes(self) -> int:
        """Return the bytes the cache holds (tables, per-token blocks, string pools), as counted by it.

        Returns:
            An estimate that counts each heap block with a typical malloc overhead.
        """

    def __len__(self) -> int:
        """Return how many tokens are cached."""

def whitelist_decision(
    whitelist: str | None, valid: bool, *, emsp_reachable: bool = True, allowed_policy: str = "LOCAL"
) -> tuple[_Action, _Allowed | None]:
    """The whitelist decision alone, as :meth:`TokenCache.authorize` takes it.

    Args:
        whitelist: the token's whitelist type, or None for a token that is not known.
        valid: the token's ``valid`` flag (ignored for an unknown token).
        emsp_reachable: False when a real-time answer from the eMSP cannot be had.
        allowed_policy: the CPO's policy for ``whitelist: ALLOWED`` tokens.

    Returns:
        (action, allowed), as in :meth:`TokenCache.authorize`.

    Raises:
        CoreError: unknown whitelist type or policy.
    """

_OwnerTokens = tuple[str, str, list[int], list[str], list[int], list[bytes]]

def validate_tokens(data: bytes, first_line: int = 1) -> tuple[list[_OwnerTokens], list[tuple[int, str]]]:
    """Validate NDJSON Tokens like a PUT, for storing them in bulk; bad lines are returned, not raised.

    A line is accepted exactly when the msgspec ``Token`` model accepts it. Each good token's JSON is
    written as msgspec encodes that model: fields in the model's order, absent and ``null`` optionals and
    unknown fields left out, the owner and uid in the case they were sent, ``last_updated`` in UTC with
    ``Z`` (six fraction digits when there are any). The GIL is released while validating.

    Args:
        data: NDJSON, one Token per line; blank lines are skipped.
        first_line: the number of the first line, so that a piece of a larger file reports its own lines.

    Returns:
        ``(owners, rejected)``. ``owners`` holds, per owner in the order owners first appear,
        ``(country_code, party_id, lines, ids, micros, json)``: the owner upper-cased, then one entry per
        good token in line order: its line number, its store id ``TYPE:UID`` (uid upper-cased), its
        ``last_updated`` in microseconds since the Unix epoch, and its JSON. ``rejected`` holds
        ``(line, message)`` per bad line, in line order.
    """
