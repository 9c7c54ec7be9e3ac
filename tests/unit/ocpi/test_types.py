"""Shared OCPI types: UTC datetimes, lengths, enums, unknown fields."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from gateway.ocpi.types import BusinessDetails, CredentialsRole, DisplayText, GeoLocation, Image, OcpiStruct, Price


class Stamped(OcpiStruct, frozen=True):
    last_updated: datetime
    optional: datetime | None = None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2015-06-29T20:39:09Z", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2015-06-29T20:39:09", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2016-12-29T17:45:09.2Z", datetime(2016, 12, 29, 17, 45, 9, 200000, tzinfo=UTC)),
        ("2018-01-01T01:08:01.123", datetime(2018, 1, 1, 1, 8, 1, 123000, tzinfo=UTC)),
    ],
)
def test_datetime_shapes_decode_as_utc(raw: str, expected: datetime) -> None:
    value = msgspec.json.decode(msgspec.json.encode({"last_updated": raw}), type=Stamped)
    assert value.last_updated == expected
    assert value.last_updated.tzinfo is UTC


def test_datetime_with_offset_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="UTC"):
        msgspec.json.decode(b'{"last_updated": "2015-06-29T20:39:09+02:00"}', type=Stamped)


def test_datetimes_are_emitted_with_z() -> None:
    value = msgspec.json.decode(b'{"last_updated": "2015-06-29T20:39:09", "optional": null}', type=Stamped)
    assert msgspec.json.encode(value) == b'{"last_updated":"2015-06-29T20:39:09Z"}'


def test_unknown_fields_are_ignored_and_null_is_absent() -> None:
    raw = b'{"name": "ACME", "website": null, "color": "green"}'
    assert msgspec.json.decode(raw, type=BusinessDetails) == BusinessDetails(name="ACME")


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (DisplayText, {"language": "eng", "text": "x"}),
        (DisplayText, {"language": "en", "text": "x" * 513}),
        (DisplayText, {"language": "en", "text": "bell\x07"}),
        (BusinessDetails, {"name": "n" * 101}),
        (Image, {"url": "http://x/i.png", "category": "SELFIE", "type": "png"}),
        (Image, {"url": "http://x/i.png", "category": "OWNER", "type": "jpeg2"}),
        (GeoLocation, {"latitude": "52.1", "longitude": "4.12345"}),
        (CredentialsRole, {"role": "EMSP", "party_id": "ABCD", "country_code": "NL",
                           "business_details": {"name": "x"}}),
        (Price, {"excl_vat": "1.00"}),
    ],
)
def test_invalid_values_are_refused(kind: type, raw: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(raw), type=kind)


def test_spec_display_text_example_decodes() -> None:
    from pathlib import Path

    relative = Path("shared") / "ocpi" / "examples" / "types" / "type_displaytext_example.json"
    candidates = [parent / relative for parent in Path(__file__).resolve().parents]
    example = next((c for c in candidates if c.exists()), None)
    if example is None:
        pytest.fail(f"spec example {relative} not found beside any parent of this checkout")
    decoded = msgspec.json.decode(example.read_bytes(), type=list[DisplayText] | DisplayText)
    assert decoded
