"""Bulk token ingest: files (``tokens import``), HTTP bodies (``/api/tokens/import``) and pulls from an
eMSP's Sender interface (``tokens sync``).

Every record is validated with the same msgspec model as a PUT; bad records are reported with their
place and skipped, good ones are stored in durable batches that announce themselves to every worker's
cache. Storing is create-or-replace by key, so running an import again adds no duplicates; a file import
also keeps a checkpoint beside the file and resumes after the last committed batch.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from gateway.modules.tokens.models import Token, ci_key
from gateway.modules.tokens.service import OWN_TOKENS, TOKENS, owners_of
from gateway.push.client import PartnerCallError, ensure_success
from gateway.push.wiring import own_token_messages

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from gateway.modules.tokens.service import TokenService
    from gateway.push.client import PartnerClient
    from gateway.push.outbox import Outbox
    from gateway.store.base import Partner
    """Awaited with each stored batch."""

__all__ = ("ImportSummary", "import_bytes", "import_file", "sync_partner", "target_kind_and_owners")

BATCH = 5_000
_decoder = msgspec.json.Decoder(Token)


class ImportSummary(msgspec.Struct, kw_only=True):
    """What an import or sync did."""

    read: int = 0
    """Records read (including bad ones and ones skipped on resume)."""
    added: int = 0
    replaced: int = 0
    rejected: int = 0
    resumed_from: int = 0
    """Records skipped because an earlier, interrupted run had committed them."""
    pages: int = 0
    """Pages pulled (sync only)."""
    errors: list[str] = msgspec.field(default_factory=list)
    """The first problems, with their place (at most 100 are kept)."""

    def reject(self, place: str, problem: str) -> None:
        """Count a bad record and keep its message."""
        self.rejected += 1
        if len(self.errors) < 100:
            self.errors.append(f"{place}: {problem}")


def target_kind_and_owners(partner: Partner | None, own_owners: set[tuple[str, str]]) -> tuple[str, set[tuple[str, str]]]:
    """Where imported tokens go: a partner's namespace (owners = its parties) or our own eMSP tokens."""
    if partner is None:
        return OWN_TOKENS, own_owners
    return TOKENS, owners_of(partner.roles)


def _records(data: bytes) -> Iterator[tuple[str, bytes | Any]]:
    """(place, raw record) for a JSON array or NDJSON."""
    stripped = data.lstrip()
    if stripped.startswith(b"["):
        try:
            items = msgspec.json.decode(stripped, type=list[msgspec.Raw])
        except msgspec.DecodeError as exc:
            yield "array", exc
            return
        for index, item in enumerate(items):
            yield f"index {index}", bytes(item)
        return
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield f"line {number}", line


def _validate(raw: bytes, owners: set[tuple[str, str]]) -> Token | str:
    try:
        token = _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        return str(exc)
    if (ci_key(token.country_code), ci_key(token.party_id)) not in owners:
        return f"owner {token.country_code}/{token.party_id} is not a party of this namespace"
    return token


async def _store(
    service: TokenService, kind: str, tokens: list[Token], summary: ImportSummary, outbox: Outbox | None = None
) -> None:
    """Store one batch; with ``outbox`` (our own tokens), their PUTs to every CPO partner in the same write."""
    messages = await own_token_messages(outbox, tokens) if outbox is not None else []
    added = await service.put_many(tokens, kind, outbox=messages)
    summary.added += added
    summary.replaced += len(tokens) - added
    if outbox is not None:
        outbox.written(messages)


async def import_bytes(
    service: TokenService, data: bytes, kind: str, owners: set[tuple[str, str]], *, skip: int = 0,
    on_batch: Callable[[ImportSummary], None] | None = None, outbox: Outbox | None = None,
) -> ImportSummary:
    """Validate and store every token of a JSON array or NDJSON body, in batches.

    With ``outbox`` (our own tokens), each batch is stored together with its PUTs to every CPO partner.
    """
    summary = ImportSummary(resumed_from=skip)
    batch: list[Token] = []
    for place, raw in _records(data):
        if isinstance(raw, Exception):
            summary.reject(place, f"not a JSON array: {raw}")
            break
        summary.read += 1
        if summary.read <= skip:
            continue
        checked = _validate(raw, owners)
        if isinstance(checked, str):
            summary.reject(place, checked)
            continue
        batch.append(checked)
        if len(batch) >= BATCH:
            await _store(service, kind, batch, summary, outbox)
            batch = []
            if on_batch is not None:
                on_batch(summary)
    if batch:
        await _store(service, kind, batch, summary, outbox)
    if on_batch is not None:
        on_batch(summary)
    return summary


class _Checkpoint(msgspec.Struct):
    size: int
    mtime_ns: int
    records: int


def _checkpoint_path(path: Path) -> Path:
    return path.with_name(path.name + ".import-checkpoint")


async def import_file(
    service: TokenService, path: Path, kind: str, owners: set[tuple[str, str]],
    progress: Callable[[ImportSummary], None] | None = None, outbox: Outbox | None = None,
) -> ImportSummary:
    """Import a file, resuming after the last batch an interrupted run committed (same file, unchanged)."""
    stat = os.stat(path)
    marker = _checkpoint_path(path)
    skip = 0
    if marker.exists():
        try:
            saved = msgspec.json.decode(marker.read_bytes(), type=_Checkpoint)
        except msgspec.DecodeError:
            saved = None
        if saved is not None and (saved.size, saved.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            skip = saved.records

    def committed(summary: ImportSummary) -> None:
        done = summary.read
        marker.write_bytes(msgspec.json.encode(_Checkpoint(size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                                                           records=done)))
        if progress is not None:
            progress(summary)

    summary = await import_bytes(service, path.read_bytes(), kind, owners, skip=skip, on_batch=committed,
                                 outbox=outbox)
    marker.unlink(missing_ok=True)
    return summary


async def sync_partner(
    service: TokenService, client: PartnerClient, partner: Partner, *, since: datetime | None = None,
    page_limit: int = 1000, progress: Callable[[ImportSummary], None] | None = None, max_pages: int = 100_000,
) -> tuple[ImportSummary, datetime]:
    """Pull an eMSP's tokens, following ``Link`` headers (delta with ``date_from`` when ``since`` is given).

    Returns the summary and the time the pull started (the next delta's ``since``).

    Raises:
        PartnerCallError: The partner has no tokens Sender endpoint, or a page could not be fetched.
    """
    base = partner.endpoint("tokens", "SENDER")
    if base is None or not partner.token_out:
        raise PartnerCallError(f"partner {partner.id} offers no tokens SENDER endpoint")
    started = datetime.now(UTC)
    owners = owners_of(partner.roles)
    summary = ImportSummary()
    params: dict[str, str] | None = {"limit": str(page_limit)}
    if since is not None and params is not None:
        params["date_from"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    url: str | None = base
    while url is not None and summary.pages < max_pages:
        reply = await client.call("GET", url, partner.token_out, plain=partner.plain_auth, params=params)
        ensure_success(reply, f"GET {url}")
        summary.pages += 1
        tokens: list[Token] = []
        for index, raw in enumerate(msgspec.json.decode(reply.data or b"[]", type=list[msgspec.Raw])):
            summary.read += 1
            checked = _validate(bytes(raw), owners)
            if isinstance(checked, str):
                summary.reject(f"page {summary.pages} index {index}", checked)
            else:
                tokens.append(checked)
        if tokens:
            await _store(service, TOKENS, tokens, summary)
        if progress is not None:
            progress(summary)
        url, params = _next_link(reply.headers.get("link")), None
    return summary, started


def _next_link(header: str | None) -> str | None:
    """The URL of ``rel="next"`` in a Link header, if it looks usable."""
    if not header:
        return None
    for part in header.split(","):
        if 'rel="next"' in part and "<" in part and ">" in part:
            url = part[part.index("<") + 1 : part.index(">")].strip()
            if url.startswith(("http://", "https://")) and "{" not in url:
                return url
    return None
