"""Every knob of the gateway: a frozen Struct built from ``OCPI_*`` environment variables and CLI flags.

Precedence: a CLI flag beats its environment variable, which beats the default.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

import msgspec

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ("DEFAULT_STORE", "OwnRole", "Settings", "SettingsError", "parse_roles")

DEFAULT_STORE = "sqlite:///data/ocpi-gateway.sqlite3"

PlatformRole = Literal["CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP"]
_ROLES: frozenset[str] = frozenset(("CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP"))


class SettingsError(ValueError):
    """A setting has a value the gateway cannot use."""


class OwnRole(msgspec.Struct, frozen=True, kw_only=True):
    """One role this platform plays: a party (country code + party id) in a role."""

    country_code: str
    """ISO 3166-1 alpha-2 country code of the party, upper case."""
    party_id: str
    """ISO 15118 party id (three characters), upper case."""
    role: PlatformRole
    """The OCPI role this party plays."""
    business_name: str = "OCPI Gateway"
    """Name shown to partners in the credentials' BusinessDetails."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The gateway's settings. Build with :meth:`Settings.from_env` and :meth:`Settings.replace`."""

    host: str = "127.0.0.1"
    """Interface Granian binds to."""
    port: int = 8000
    """TCP port Granian binds to."""
    workers: int = 1
    """Granian worker processes."""
    store: str = DEFAULT_STORE
    """``sqlite:///PATH`` (embedded default) or ``redis://HOST:PORT/DB``."""
    roles: tuple[OwnRole, ...] = (OwnRole(country_code="NL", party_id="GWY", role="CPO"),)
    """Our own identity: every (country code, party id, role) this platform hosts."""
    public_url: str | None = None
    """Base URL partners reach us at (``http://HOST:PORT`` when unset); versions live at ``{url}/ocpi/versions``."""
    api_key: str | None = None
    """Key of the back-office API (``/api/...``, ``Authorization: Bearer KEY``); the API is closed without one."""
    max_page_limit: int = 1000
    """Largest page any paginated list returns (sent as ``X-Limit``)."""
    partner_timeout: float = 10.0
    """Seconds to wait for a partner during the credentials handshake and other configuration calls."""
    log_level: str = "INFO"
    """Python logging level name."""
    allowed_policy: Literal["LOCAL", "REALTIME", "LOCAL_IF_VALID"] = "LOCAL"
    """What to do with ``whitelist: ALLOWED`` tokens: answer from the cache, ask the eMSP, or ask only for
    invalid ones."""
    realtime_timeout: float = 1.5
    """Seconds to wait for an eMSP's real-time authorisation before falling back as the whitelist
    prescribes."""
    default_emsp: str | None = None
    """Partner id (an eMSP or a hub) asked in real time about tokens no cache knows; without one, unknown
    tokens are refused."""
    authorization_ttl: float = 86400.0
    """Seconds an ``authorization_reference`` stays retrievable for the Session and CDR that follow."""
    require_location_references: bool = False
    """As eMSP: answer 2002 to a real-time authorisation that carries no LocationReferences."""
    access_log: bool = False
    """Log one structured line per request (method, path, status, ids, duration; never headers or bodies)."""
    validation_http_status: int = 200
    """HTTP status of an OCPI 2001 answer to valid JSON with rejected content: 200 as the spec says, or 400."""
    outbox_worker: bool = True
    """Run an outbox delivery worker in every server process (off: only other hosts deliver)."""
    outbox_max_attempts: int = 50
    """Delivery attempts of one outbox message before it goes to the dead letters."""
    outbox_backoff_base: float = 1.0
    """Seconds: the first retry waits up to this long; each further one up to twice as long as the one before."""
    outbox_backoff_cap: float = 1800.0
    """Seconds: the longest wait between two attempts (before jitter)."""
    outbox_concurrency: int = 32
    """Outbox messages one worker process delivers at the same time (each to a different object or partner)."""
    outbox_lease: float = 60.0
    """Seconds a claimed message stays reserved for its worker; after a crash another worker takes it over then.
    Must be longer than ``partner_timeout``."""
    outbox_poll_interval: float = 1.0
    """Seconds between two looks for due messages when the worker is idle (messages enqueued in the same
    process wake it at once)."""

    @property
    def base_url(self) -> str:
        """The base URL partners reach us at, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def versions_url(self) -> str:
        """Our version information endpoint, as partners see it."""
        return f"{self.base_url}/ocpi/versions"

    def with_changes(self, **changes: Any) -> Settings:
        """Return a copy with the given fields replaced; ``None`` values are ignored (an unset CLI flag)."""
        given = {key: value for key, value in changes.items() if value is not None}
        return msgspec.structs.replace(self, **given)._validated()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``OCPI_*`` variables; unset variables keep their defaults.

        Args:
            environ: The environment to read; ``os.environ`` when omitted.

        Returns:
            The settings.

        Raises:
            SettingsError: A variable holds a value that cannot be used.
        """
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for name, kind in (
            ("host", str),
            ("port", int),
            ("workers", int),
            ("store", str),
            ("public_url", str),
            ("api_key", str),
            ("max_page_limit", int),
            ("partner_timeout", float),
            ("log_level", str),
            ("validation_http_status", int),
            ("access_log", _flag),
            ("allowed_policy", str),
            ("realtime_timeout", float),
            ("default_emsp", str),
            ("authorization_ttl", float),
            ("require_location_references", _flag),
            ("outbox_worker", _flag),
            ("outbox_max_attempts", int),
            ("outbox_backoff_base", float),
            ("outbox_backoff_cap", float),
            ("outbox_concurrency", int),
            ("outbox_lease", float),
            ("outbox_poll_interval", float),
        ):
            raw = env.get(f"OCPI_{name.upper()}")
            if raw is None or raw == "":
                continue
            try:
                changes[name] = kind(raw)
            except ValueError as exc:
                raise SettingsError(f"OCPI_{name.upper()} must be a {kind.__name__}, got {raw!r}") from exc
        if any(env.get(f"OCPI_{key}") for key in ("COUNTRY_CODE", "PARTY_ID", "ROLE")):
            changes["roles"] = parse_roles(
                _split(env.get("OCPI_COUNTRY_CODE")),
                _split(env.get("OCPI_PARTY_ID")),
                _split(env.get("OCPI_ROLE")),
                env.get("OCPI_BUSINESS_NAME") or None,
            )
        return cls().with_changes(**changes)

    def _validated(self) -> Settings:
        if not self.store.startswith(("sqlite://", "redis://", "rediss://", "unix://")):
            raise SettingsError(f"store must be sqlite:///PATH or redis://HOST:PORT/DB, got {self.store!r}")
        if not self.roles:
            raise SettingsError("at least one role is needed")
        if self.allowed_policy not in ("LOCAL", "REALTIME", "LOCAL_IF_VALID"):
            raise SettingsError("allowed_policy must be LOCAL, REALTIME or LOCAL_IF_VALID")
        if self.realtime_timeout <= 0 or self.authorization_ttl <= 0:
            raise SettingsError("realtime_timeout and authorization_ttl must be positive")
        if self.max_page_limit < 1:
            raise SettingsError("max_page_limit must be at least 1")
        if self.workers < 1:
            raise SettingsError("workers must be at least 1")
        if self.validation_http_status not in (200, 400, 422):
            raise SettingsError("validation_http_status must be 200, 400 or 422")
        self._validate_outbox()
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise SettingsError(f"public_url must be an http(s) URL, got {self.public_url!r}")
        return self

    def _validate_outbox(self) -> None:
        if self.outbox_max_attempts < 1 or self.outbox_concurrency < 1:
            raise SettingsError("outbox_max_attempts and outbox_concurrency must be at least 1")
        if not 0 < self.outbox_backoff_base <= self.outbox_backoff_cap:
            raise SettingsError("outbox_backoff_base must be positive and at most outbox_backoff_cap")
        if self.outbox_poll_interval <= 0:
            raise SettingsError("outbox_poll_interval must be positive")
        if self.outbox_lease <= self.partner_timeout:
            raise SettingsError("outbox_lease must be longer than partner_timeout")


def _flag(raw: str) -> bool:
    """A boolean environment variable: 1/true/yes/on or 0/false/no/off."""
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def parse_roles(
    country_codes: list[str],
    party_ids: list[str],
    roles: list[str],
    business_name: str | None = None,
) -> tuple[OwnRole, ...]:
    """Pair repeated ``--country-code/--party-id/--role`` values into our roles.

    The lists are paired by position; a list with a single value applies to every role, so
    ``--country-code NL --party-id ABC --role CPO --role EMSP`` declares one party in two roles.

    Raises:
        SettingsError: The lists cannot be paired, or a value is malformed.
    """
    count = max(len(country_codes), len(party_ids), len(roles), 1)
    defaults = Settings().roles[0]

    def pick(values: list[str], index: int, default: str) -> str:
        if not values:
            return default
        if len(values) == 1:
            return values[0]
        if len(values) != count:
            raise SettingsError("--country-code, --party-id and --role must be given once or the same number of times")
        return values[index]

    result = []
    for index in range(count):
        country_code = pick(country_codes, index, defaults.country_code).upper()
        party_id = pick(party_ids, index, defaults.party_id).upper()
        role = pick(roles, index, defaults.role).upper()
        if len(country_code) != 2 or not country_code.isascii() or not country_code.isalpha():
            raise SettingsError(f"country code must be two letters, got {country_code!r}")
        if len(party_id) != 3 or not party_id.isascii() or not party_id.isalnum():
            raise SettingsError(f"party id must be three letters or digits, got {party_id!r}")
        if role not in _ROLES:
            raise SettingsError(f"role must be one of {', '.join(sorted(_ROLES))}, got {role!r}")
        own = OwnRole(country_code=country_code, party_id=party_id, role=role)  # type: ignore[arg-type]
        if business_name:
            own = msgspec.structs.replace(own, business_name=business_name)
        if own in result:
            raise SettingsError(f"role {role} {country_code}/{party_id} is given twice")
        result.append(own)
    return tuple(result)
