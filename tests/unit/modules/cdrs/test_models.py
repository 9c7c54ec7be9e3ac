"""The CDR models: the spec's example round-trips, erratum lengths, id and credit rules, embedded tariffs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway.modules.cdrs.models import CDR

EXAMPLES = Path(__file__).parent / "examples"
"""The spec's 2.2.1 CDR example, verbatim (OCPI tag v2.2.1-d2, copied from the shared digest)."""


def _cdr_dict(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "cdr_example.json").read_text())
    data.update(changes)
    return data


def _cdr(**changes: Any) -> CDR:
    return msgspec.json.decode(json.dumps(_cdr_dict(**changes)), type=CDR)


def test_cdr_example_round_trips() -> None:
    raw = (EXAMPLES / "cdr_example.json").read_bytes()
    decoded = msgspec.json.decode(raw, type=CDR)
    assert json.loads(msgspec.json.encode(decoded)) == json.loads(raw)
    assert decoded.cdr_location.connector_standard == "IEC_62196_T2"


def test_cdr_location_accepts_erratum_lengths() -> None:
    location = {**_cdr_dict()["cdr_location"], "address": "a" * 255, "state": "s" * 45}
    assert _cdr(cdr_location=location).cdr_location.address == "a" * 255
    with pytest.raises(msgspec.ValidationError, match="address"):
        _cdr(cdr_location={**location, "address": "a" * 256})


def test_signed_value_plain_data_accepts_5000() -> None:
    signed = {
        "encoding_method": "OCMF",
        "signed_values": [{"nature": "Start", "plain_data": "p" * 5000, "signed_data": "s" * 5000}],
    }
    assert _cdr(signed_data=signed).signed_data is not None
    signed["signed_values"][0]["plain_data"] = "p" * 5001  # type: ignore[index]
    with pytest.raises(msgspec.ValidationError, match="plain_data"):
        _cdr(signed_data=signed)
    with pytest.raises(msgspec.ValidationError, match="signed_values"):
        _cdr(signed_data={"encoding_method": "OCMF", "signed_values": []})


def test_cdr_id_length_depends_on_credit() -> None:
    assert _cdr(id="x" * 36).id == "x" * 36
    with pytest.raises(msgspec.ValidationError, match="36"):
        _cdr(id="x" * 37)
    assert _cdr(id="x" * 39, credit=True, credit_reference_id="12345").credit
    with pytest.raises(msgspec.ValidationError):
        _cdr(id="x" * 40, credit=True, credit_reference_id="12345")
    with pytest.raises(msgspec.ValidationError, match="credit_reference_id"):
        _cdr(id="12345-C", credit=True)


@pytest.mark.parametrize(
    "changes",
    [
        {"charging_periods": []},
        {"total_cost": None},
        {"cdr_location": {"id": "LOC1"}},
        {"tariffs": [{"id": "12"}]},
        {"tariffs": ["12"]},
        {"auth_method": "RFID"},
        {"total_energy": "15"},
        {"remark": "r" * 256},
    ],
)
def test_cdr_bad_fields_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        _cdr(**changes)


def test_cdr_tariffs_pass_through_compacted() -> None:
    tariff = {**_cdr_dict()["tariffs"][0], "tariff_alt_url": "https://x.test/t", "type": "REGULAR"}
    decoded = _cdr(tariffs=[tariff])
    assert json.loads(msgspec.json.encode(decoded))["tariffs"] == [tariff]
    assert bytes(decoded.tariffs[0]) == msgspec.json.encode(json.loads(json.dumps(tariff)))
