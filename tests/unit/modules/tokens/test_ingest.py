"""Bulk ingest on both stores: what an import stores equals what PUTs store, bad records are reported with
their place and skipped, a re-run adds nothing, an interrupted file import resumes without duplicates, and
the change log carries every stored token to the caches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from benchmarks.data import tokens_json, tokens_ndjson, tokens_parties, tokens_token
from gateway.core import TokenCache
from gateway.modules.tokens import ingest
from gateway.modules.tokens.ingest import ImportSummary, import_bytes, import_file
from gateway.modules.tokens.models import Token
from gateway.modules.tokens.service import OWN_TOKENS, TOKENS, TOPIC, TokenService
from gateway.push.client import PartnerClient
from gateway.push.outbox import Outbox
from gateway.settings import parse_roles
from gateway.store.base import LOG_START, Partner, PartnerEndpoint, PartnerRole

if TYPE_CHECKING:
    from pathlib import Path

    from gateway.store.base import Store

OWNERS = set(tokens_parties())
TOKEN = msgspec.json.Decoder(Token)


class Interrupted(Exception):
    """Stands for a crash (or Ctrl-C) after some batches were committed."""


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces of a few kilobytes (a dozen tokens), so small inputs still take many batches."""
    monkeypatch.setattr(ingest, "BATCH_BYTES", 3000)
    monkeypatch.setattr(ingest, "BATCH", 7)


async def stored_by_put(store: Store, lines: list[bytes], kind: str = TOKENS) -> list[tuple[Any, ...]]:
    """Every object of ``kind`` after storing ``lines`` one by one as PUTs do, then clearing them."""
    service = TokenService(store, None)
    for line in lines:
        await service.put(TOKEN.decode(line), kind)
    return await everything(store, kind)


async def everything(store: Store, kind: str = TOKENS) -> list[tuple[Any, ...]]:
    page = await store.list_objects(kind, limit=10_000)
    return [(o.key, o.last_updated, o.data) for o in page.items]


async def test_ingest_import_file_stores_what_puts_store(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "tokens.ndjson"
    path.write_bytes(tokens_ndjson(150) + b"\n")
    summary = await import_file(TokenService(store, None), path, TOKENS, OWNERS)
    assert summary == ImportSummary(read=150, added=150)
    imported = await everything(store)
    assert await stored_by_put(store, [tokens_json(i).encode() for i in range(150)], "by_put") == imported
    assert await store.count_objects(TOKENS, owner=("DE", "ABC")) == 8
    page = await store.list_objects(TOKENS, owner=("NL", "TNM"), offset=3, limit=2)
    assert [o.key.id for o in page.items] == [f"{key.id}" for key, *_ in imported if key.party_id == "TNM"][3:5]
    assert not (tmp_path / "tokens.ndjson.import-checkpoint").exists()


async def test_ingest_reports_bad_records_with_their_line_and_stores_none_of_them(store: Store) -> None:
    lines = [tokens_json(i).encode() for i in range(30)]
    lines[4] = msgspec.json.encode(tokens_token(4, uid=""))
    lines[11] = b"{not json"
    lines[12] = b""
    lines[20] = msgspec.json.encode(tokens_token(20, country_code="XX"))
    lines[25] = msgspec.json.encode(tokens_token(25, last_updated="2300-01-01T00:00:00Z"))
    summary = await import_bytes(TokenService(store, None), b"\n".join(lines), TOKENS, OWNERS)
    assert (summary.read, summary.added, summary.rejected) == (29, 25, 4)
    assert [error.split(":")[0] for error in summary.errors] == ["line 5", "line 12", "line 21", "line 26"]
    assert "`$.uid`" in summary.errors[0]  # the model's own message
    assert "owner XX/TNM is not a party of this namespace" in summary.errors[2]
    assert "out of the supported range" in summary.errors[3]
    good = [line for n, line in enumerate(lines) if n not in (4, 11, 12, 20, 25)]
    assert await everything(store) == await stored_by_put(store, good, "by_put")


async def test_ingest_takes_what_the_model_takes_and_stores_it_as_the_model_writes_it(store: Store) -> None:
    tokens = [tokens_token(i) for i in range(3)]
    tokens[0]["last_updated"] = "2024-01-01T00:00:00+0000"  # the Rust parser refuses this spelling; the model not
    tokens[1] |= {"uid": "lower-case", "extra": [1, {"a": None}], "group_id": None}
    tokens[2] = tokens[0] | {"issuer": "later line wins"}
    lines = [msgspec.json.encode(token) for token in tokens]
    summary = await import_bytes(TokenService(store, None), b"\n".join(lines), TOKENS, OWNERS)
    assert (summary.read, summary.added, summary.replaced, summary.rejected) == (3, 2, 1, 0)
    assert await everything(store) == await stored_by_put(store, lines, "by_put")


async def test_ingest_runs_again_without_duplicates(store: Store) -> None:
    service = TokenService(store, None)
    data = tokens_ndjson(60)
    assert (await import_bytes(service, data, TOKENS, OWNERS)).added == 60
    again = await import_bytes(service, data, TOKENS, OWNERS)
    assert (again.read, again.added, again.replaced) == (60, 0, 60)
    assert await store.count_objects(TOKENS) == 60


@pytest.mark.parametrize("array", [False, True], ids=["ndjson", "array"])
async def test_ingest_import_file_resumes_after_an_interruption_without_duplicates(
    store: Store, tmp_path: Path, array: bool
) -> None:
    path = tmp_path / "tokens.json"
    lines = [tokens_json(i) for i in range(100)]
    lines[70] = "{broken"
    path.write_text("[" + ",\n".join(lines).replace("{broken", "7") + "]" if array else "\n".join(lines))
    batches = 0

    def crash_after_three(summary: ImportSummary) -> None:
        nonlocal batches
        batches += 1
        if batches == 3:
            raise Interrupted

    service = TokenService(store, None)
    with pytest.raises(Interrupted):
        await import_file(service, path, TOKENS, OWNERS, progress=crash_after_three)
    stored = await store.count_objects(TOKENS)
    assert 0 < stored < 99
    resumed = await import_file(service, path, TOKENS, OWNERS)
    # Resumed after the last acknowledged batch; the one sent after it may have been stored too: it is replaced.
    assert 0 < resumed.resumed_from <= stored
    assert (resumed.read, resumed.added, resumed.rejected) == (100, 99 - stored, 1)
    assert resumed.replaced == stored - resumed.resumed_from
    assert resumed.errors[0].startswith("index 70: " if array else "line 71: ")
    assert await store.count_objects(TOKENS) == 99
    assert not (tmp_path / "tokens.json.import-checkpoint").exists()


async def test_ingest_import_file_starts_over_when_the_file_changed_or_the_checkpoint_is_old(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.ndjson"
    path.write_bytes(tokens_ndjson(40))
    marker = tmp_path / "tokens.ndjson.import-checkpoint"
    stat = path.stat()
    old = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "records": 25}  # written by earlier versions
    marker.write_bytes(msgspec.json.encode(old))
    resumed = await import_file(TokenService(store, None), path, TOKENS, OWNERS)
    assert (resumed.resumed_from, resumed.read, resumed.added) == (25, 40, 15)
    marker.write_bytes(msgspec.json.encode(old | {"size": 1}))
    again = await import_file(TokenService(store, None), path, TOKENS, OWNERS)
    assert (again.resumed_from, again.read, again.added, again.replaced) == (0, 40, 25, 15)


async def test_ingest_reads_lines_longer_than_a_piece(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "tokens.ndjson"
    long_line = msgspec.json.encode(tokens_token(1, padding="x" * 10_000))
    path.write_bytes(b"\n".join([tokens_json(0).encode(), long_line, tokens_json(2).encode()]))
    summary = await import_file(TokenService(store, None), path, TOKENS, OWNERS)
    assert (summary.read, summary.added) == (3, 3)


async def test_ingest_announces_every_stored_token_on_the_change_log(store: Store) -> None:
    cursor = await store.published_cursor(TOPIC)
    service = TokenService(store, None)
    await import_bytes(service, tokens_ndjson(80), TOKENS, OWNERS)
    await import_bytes(service, tokens_ndjson(5), OWN_TOKENS, OWNERS)  # our own tokens feed no cache
    entries = (await store.read_published(TOPIC, cursor, limit=100)).entries
    assert cursor == LOG_START
    assert len(entries) > 1
    follower, reference = TokenCache(), TokenCache()
    for _, payload in entries:
        follower.load(payload)
    reference.load(tokens_ndjson(80))
    assert len(follower) == 80
    for i in range(80):
        token = tokens_token(i)
        key = (token["country_code"], token["party_id"], token["uid"], token["type"])
        assert follower.get(*key) == reference.get(*key)


async def test_ingest_stores_own_tokens_with_their_pushes_to_every_cpo(store: Store) -> None:
    now = datetime.now(UTC)
    await store.add_partner(Partner(
        id="cpo", roles=(PartnerRole(country_code="DE", party_id="CPO", role="CPO"),), state="REGISTERED",
        token_in="in", token_out="out", version="2.2.1", created=now, last_updated=now,
        endpoints=(PartnerEndpoint(identifier="tokens", role="RECEIVER", url="https://cpo.test/tokens"),),
    ))
    client = PartnerClient()
    try:
        outbox = Outbox(store, client, own_roles=parse_roles(["NL"], ["TNM"], ["EMSP"]))
        body = msgspec.json.encode([tokens_token(i) for i in range(20)])
        summary = await import_bytes(TokenService(store, None), body, OWN_TOKENS, OWNERS, outbox=outbox)
    finally:
        await client.aclose()
    assert (summary.added, await store.count_objects(OWN_TOKENS)) == (20, 20)
    [count] = await store.outbox_counts(now=now)
    assert (count.partner_id, count.pending) == ("cpo", 20)
    broken = await import_bytes(TokenService(store, None), b"[1, 2", OWN_TOKENS, OWNERS)
    assert (broken.read, broken.rejected, broken.errors[0][:24]) == (0, 1, "array: not a JSON array:")
