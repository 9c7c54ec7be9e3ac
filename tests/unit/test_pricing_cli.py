"""``run_price_cli``: the behaviour of ``ocpi-gateway price``, in process and through a subprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.pricing import run_price_cli

CASES = Path(__file__).parent.parent / "core" / "pricing_cases"


def _case_line(case_id: object, name: str, tz: str | None = "UTC") -> str:
    tariff = CASES / name / "tariff.json"
    return json.dumps(
        {
            "id": case_id,
            "tariff": json.loads(tariff.read_text()) if tariff.exists() else None,
            "cdr": json.loads((CASES / name / "cdr.json").read_text()),
            "tz": tz,
        }
    )


def _run(
    *, tariff: Path | None = None, cdr: Path | None = None, tz: str | None = None, batch: str | None = None
) -> tuple[int, str]:
    out = io.StringIO()
    code = run_price_cli(tariff, cdr, tz, batch is not None, io.StringIO(batch or ""), out)
    return code, out.getvalue()


def test_price_cli_single_prints_the_result() -> None:
    code, out = _run(
        tariff=CASES / "complex_monday" / "tariff.json", cdr=CASES / "complex_monday" / "cdr.json", tz="UTC"
    )
    assert code == 0
    result = json.loads(out)
    assert result["total_cost"] == {"excl_vat": "9.0000", "incl_vat": "10.3000"}
    assert result["periods"][0]["lines"][0]["element"] == 1


def test_price_cli_single_embedded_tariff() -> None:
    code, out = _run(cdr=CASES / "cdr_example_embedded_tariff" / "cdr.json")
    assert code == 0
    assert json.loads(out)["total_cost"] == {"excl_vat": "4.0000", "incl_vat": "4.4000"}


def test_price_cli_single_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"currency": "EUR", "elements": []}')
    code, out = _run(tariff=bad, cdr=CASES / "complex_monday" / "cdr.json")
    assert code == 1
    assert "`elements`" in json.loads(out)["error"]
    code, out = _run(cdr=tmp_path / "missing.json")
    assert code == 2
    assert "Cannot read" in json.loads(out)["error"]
    assert _run()[0] == 2


def test_price_cli_batch_keeps_ids_and_order_and_continues_after_errors() -> None:
    lines = [
        _case_line("a", "complex_monday"),
        _case_line(2, "cdr_example_embedded_tariff", None),
        json.dumps({"id": "bad", "tariff": None, "cdr": {"start_date_time": "x"}}),
        "not json at all",
        "",
        _case_line({"k": 1}, "max_price_50kwh"),
    ]
    code, out = _run(batch="\n".join(lines) + "\n")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [row["id"] for row in rows] == ["a", 2, "bad", None, {"k": 1}]
    assert rows[0]["total_cost"] == {"excl_vat": "9.0000", "incl_vat": "10.3000"}
    assert rows[1]["total_time_cost"] == {"excl_vat": "4.0000", "incl_vat": "4.4000"}
    assert "error" in rows[2]
    assert "error" in rows[3]
    assert rows[4]["total_cost"] == {"excl_vat": "10.0000", "incl_vat": "11.0000"}
    assert rows[4]["max_price_applied"] is True
    assert set(rows[0]) >= {
        "total_energy_cost", "total_time_cost", "total_parking_cost", "total_fixed_cost", "total_reservation_cost",
        "total_energy", "total_time", "total_parking_time", "billed_energy", "billed_time", "billed_parking_time",
    }  # fmt: skip
    assert "periods" not in rows[0]


def test_price_cli_batch_all_good_returns_zero() -> None:
    names = sorted(p.name for p in CASES.iterdir() if p.is_dir())
    code, out = _run(batch="\n".join(_case_line(n, n) for n in names))
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == names


@pytest.mark.timeout(60)
def test_price_cli_through_a_subprocess() -> None:
    program = (
        "import sys; from gateway.pricing import run_price_cli; "
        "sys.exit(run_price_cli(None, None, None, True, sys.stdin, sys.stdout))"
    )
    stdin = _case_line("x", "complex_saturday") + "\n" + json.dumps({"id": "y", "tariff": None, "cdr": {}}) + "\n"
    done = subprocess.run(
        [sys.executable, "-c", program], input=stdin, capture_output=True, text=True, check=False, timeout=60
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1, done.stderr
    assert rows[0] == {**rows[0], "id": "x", "total_cost": {"excl_vat": "12.3750", "incl_vat": "13.9750"}}
    assert rows[1]["id"] == "y"
    assert "start_date_time" in rows[1]["error"]
