"""Whatever JSON a partner sends to a Sessions or CDRs Receiver, the answer is an OCPI envelope with a
4-digit code and never a 500; and JSON that is not a valid object stores nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import token_header
from tests.api.sessions_cdrs.conftest import CPO_TOKEN, make_cdr, make_session

if TYPE_CHECKING:
    from litestar.testing import TestClient

CPO = {**token_header(CPO_TOKEN), "Content-Type": "application/json"}
SESSION_URL = "/ocpi/2.2.1/emsp/sessions/NL/STK/101"

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _mutated(base: dict[str, Any], field: str, value: Any) -> bytes:
    return msgspec.json.encode({**base, field: value})


_session_fields = st.sampled_from(sorted(make_session()))
_cdr_fields = st.sampled_from(sorted(make_cdr()))
_garbage = st.binary(max_size=30)


def _check(answer: Any) -> int:
    assert answer.status_code < 500
    code: int = answer.json()["status_code"]
    assert code in (1000, 2001)
    return code


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(field=_session_fields, value=_json, raw=_garbage)
def test_session_receiver_never_fails(client: TestClient[Any], field: str, value: Any, raw: bytes) -> None:
    body = _mutated(make_session(), field, value)
    for method in ("put", "patch"):
        for content in (body, raw):
            _check(getattr(client, method)(SESSION_URL, content=content, headers=CPO))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(field=_cdr_fields, value=_json, raw=_garbage)
def test_cdr_receiver_never_fails(client: TestClient[Any], field: str, value: Any, raw: bytes) -> None:
    cdr = make_cdr(f"H{abs(hash((field, repr(value)))) % 10**9}")
    for content in (_mutated(cdr, field, value), raw):
        answer = client.post("/ocpi/2.2.1/emsp/cdrs", content=content, headers=CPO)
        if _check(answer) == 1000:
            assert answer.status_code in (200, 201)
            assert answer.headers["location"]
