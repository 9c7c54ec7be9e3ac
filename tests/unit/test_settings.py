"""Settings from the environment and CLI flags."""

from __future__ import annotations

import pytest

from gateway.cli import build_parser
from gateway.settings import OwnRole, Settings, SettingsError, parse_roles


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.store == "sqlite:///data/ocpi-gateway.sqlite3"
    assert settings.versions_url == "http://127.0.0.1:8000/ocpi/versions"
    assert settings.roles == (OwnRole(country_code="NL", party_id="GWY", role="CPO"),)


def test_environment_overrides() -> None:
    settings = Settings.from_env({
        "OCPI_PORT": "9001", "OCPI_STORE": "redis://127.0.0.1:6379/2", "OCPI_COUNTRY_CODE": "de",
        "OCPI_PARTY_ID": "abc", "OCPI_ROLE": "CPO,EMSP", "OCPI_PUBLIC_URL": "https://ocpi.example.com/",
        "OCPI_ACCESS_LOG": "yes",
    })
    assert settings.port == 9001
    assert settings.store == "redis://127.0.0.1:6379/2"
    roles = [(r.country_code, r.party_id, r.role) for r in settings.roles]
    assert roles == [("DE", "ABC", "CPO"), ("DE", "ABC", "EMSP")]
    assert settings.versions_url == "https://ocpi.example.com/ocpi/versions"
    assert settings.access_log is True


@pytest.mark.parametrize(
    "env",
    [{"OCPI_PORT": "eighty"}, {"OCPI_STORE": "postgres://x"}, {"OCPI_ROLE": "DRIVER"}, {"OCPI_COUNTRY_CODE": "NLD"},
     {"OCPI_PARTY_ID": "AB"}, {"OCPI_WORKERS": "0"}, {"OCPI_PUBLIC_URL": "ftp://x"}, {"OCPI_ACCESS_LOG": "maybe"}],
)
def test_bad_environment_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_roles_pair_by_position() -> None:
    roles = parse_roles(["NL", "BE"], ["ABC", "XYZ"], ["CPO", "EMSP"])
    assert [(r.country_code, r.party_id, r.role) for r in roles] == [("NL", "ABC", "CPO"), ("BE", "XYZ", "EMSP")]
    with pytest.raises(SettingsError):
        parse_roles(["NL", "BE"], ["ABC", "XYZ", "QQQ"], ["CPO"])
    with pytest.raises(SettingsError):
        parse_roles(["NL"], ["ABC"], ["CPO", "CPO"])


def test_cli_identity_flags_repeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCPI_ROLE", raising=False)
    args = build_parser().parse_args(["serve", "--role", "CPO", "--role", "EMSP", "--country-code", "NL",
                                      "--party-id", "ABC", "--port", "9100"])
    assert args.own_role == ["CPO", "EMSP"]
    assert args.port == 9100


def test_cli_options_read_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCPI_STORE", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("OCPI_PARTNER_ROLE", "EMSP")
    args = build_parser().parse_args(["partners", "add", "--country-code", "DE", "--party-id", "EMS"])
    assert args.store == "redis://127.0.0.1:1/0"
    assert args.role == "EMSP"
