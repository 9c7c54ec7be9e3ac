"""The installed command line, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CASE = Path(__file__).parents[1] / "core" / "pricing_cases" / "simple_2hour_2_5h"


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True,
                          input=stdin, timeout=60, check=False)


def test_cli_price_prints_totals() -> None:
    result = _cli("price", "--tariff", str(CASE / "tariff.json"), "--cdr", str(CASE / "cdr.json"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total_cost"] == {"excl_vat": "5.0000", "incl_vat": "5.5000"}


def test_cli_version_and_help() -> None:
    assert "OCPI 2.2.1" in _cli("version").stdout
    for args in (["--help"], ["serve", "--help"], ["partners", "add", "--help"], ["price", "--help"]):
        assert _cli(*args).returncode == 0


def test_cli_partners_add_list_remove(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/cli.sqlite3"
    added = _cli("partners", "add", "--country-code", "de", "--party-id", "ems", "--role", "EMSP", "--store", store)
    assert added.returncode == 0, added.stderr
    token_a = added.stdout.strip()
    [partner] = json.loads(_cli("partners", "list", "--json", "--store", store).stdout)
    assert partner["state"] == "PENDING"
    assert partner["roles"][0]["party_id"] == "EMS"
    assert token_a not in _cli("partners", "list", "--json", "--store", store).stdout
    assert _cli("partners", "remove", partner["id"], "--store", store).returncode == 0
    assert json.loads(_cli("partners", "list", "--json", "--store", store).stdout) == []
    assert _cli("partners", "remove", partner["id"], "--store", store).returncode == 1


def test_cli_refuses_bad_input_clearly(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/cli.sqlite3"
    bad = _cli("partners", "add", "--country-code", "DEU", "--party-id", "EMS", "--role", "EMSP", "--store", store)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "country_code" in bad.stderr
