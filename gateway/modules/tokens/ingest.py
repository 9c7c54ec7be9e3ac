"""Bulk token ingest: files (``tokens import``), HTTP bodies (``/api/tokens/import``) and pulls from an
eMSP's Sender interface (``tokens sync``).

Records are validated by :func:`gateway.core.validate_tokens`, the Rust parser of the token cache, which
accepts exactly the tokens the msgspec ``Token`` model of a PUT accepts and writes each one's JSON as that
model encodes it (tests/core holds the two to it). Bad records are reported with their place and skipped;
good ones are stored in durable batches, per owner, that announce themselves to every worker's cache.
Storing is create-or-replace by key, so running an import again adds no duplicates; a file import also
keeps a checkpoint beside the file and resumes after the last committed batch.

NDJSON is taken in pieces of about :data:`BATCH_BYTES` that end at a line end, so a file's size does not
set the memory an import needs. While one piece is stored, the next one is read and validated on a worker
thread (the Rust parser runs without the GIL), so the two overlap.
"""

from __future__ import annotations

import asyncio
import io
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import msgspec

from gateway.core import validate_tokens
from gateway.modules.tokens.models import Token
from gateway.modules.tokens.service import OWN_TOKENS, TOKENS, owners_of, token_key
from gateway.push.client import PartnerCallError, ensure_success
from gateway.push.wiring import own_token_messages
from gateway.store import MAX_MICROS, OwnerObjects, to_micros

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator
    from pathlib import Path

    from gateway.modules.tokens.service import TokenService
    from gateway.push.client import PartnerClient
    from gateway.push.outbox import Outbox
    from gateway.store.base import Partner

__all__ = ("ImportSummary", "import_bytes", "import_file", "sync_partner", "target_kind_and_owners")

BATCH = 5_000
"""Records per batch of a JSON array."""
BATCH_BYTES = 2**21
"""Bytes of NDJSON per batch (about 8,000 tokens): one transaction and one change log entry each."""

_decoder = msgspec.json.Decoder(Token)
_encoder = msgspec.json.Encoder()
_T = TypeVar("_T")


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


def target_kind_and_owners(
    partner: Partner | None, own_owners: set[tuple[str, str]]
) -> tuple[str, set[tuple[str, str]]]:
    """Where imported tokens go: a partner's namespace (owners = its parties) or our own eMSP tokens."""
    if partner is None:
        return OWN_TOKENS, own_owners
    return TOKENS, owners_of(partner.roles)


class _Piece(NamedTuple):
    """A stretch of NDJSON, one record per line."""

    data: bytes
    first: int
    """The number of its first line (for a JSON array: the index of its first element)."""
    place: str
    """What a number names: ``line``, ``index`` or ``page N index``."""
    end: int | None = None
    """Where the input goes on after it: a byte offset into the file, when it comes from one."""


_OwnerTokens = tuple[str, str, list[int], list[str], list[int], list[bytes]]
"""One owner's good tokens as :func:`gateway.core.validate_tokens` gives them: owner, lines, ids, micros, JSON."""


class _Checked(NamedTuple):
    piece: _Piece
    owners: list[_OwnerTokens]
    rejected: list[tuple[int, str]]


def _checked(pieces: Iterator[_Piece]) -> Generator[_Checked, None, None]:
    for piece in pieces:
        yield _Checked(piece, *validate_tokens(piece.data, piece.first))


def _ndjson_pieces(read: Callable[[int], bytes], offset: int, line: int) -> Iterator[_Piece]:
    """Pieces of about :data:`BATCH_BYTES` that end at a line end, read from ``offset`` (which is line ``line``)."""
    rest = b""
    while block := read(BATCH_BYTES):
        data = rest + block
        cut = data.rfind(b"\n") + 1
        if cut == 0:  # a line longer than a piece: read on
            rest = data
            continue
        piece, rest = data[:cut], data[cut:]
        offset += cut
        yield _Piece(piece, line, "line", offset)
        line += piece.count(b"\n")
    if rest:
        yield _Piece(rest, line, "line", offset + len(rest))


def _array_pieces(items: list[msgspec.Raw], skip: int, *, place: str = "index") -> Iterator[_Piece]:
    """Batches of a JSON array's elements, each element compacted onto one line."""
    for start in range(skip, len(items), BATCH):
        lines = [msgspec.json.format(item, indent=-1) for item in items[start : start + BATCH]]
        yield _Piece(b"\n".join(lines), start, place)


def _after_records(data: bytes, skip: int) -> tuple[int, int]:
    """The byte offset and the line number after the first ``skip`` non-blank lines of NDJSON."""
    offset, line = 0, 1
    while skip > 0 and offset < len(data):
        end = data.find(b"\n", offset)
        end = len(data) if end < 0 else end + 1
        if data[offset:end].strip():
            skip -= 1
        offset, line = end, line + 1
    return offset, line


def _pieces_of(data: bytes, skip: int, summary: ImportSummary) -> Iterator[_Piece]:
    """The pieces of a JSON array or NDJSON body after its first ``skip`` records (counted as read)."""
    stripped = data.lstrip()
    if stripped.startswith(b"["):
        try:
            items = msgspec.json.decode(stripped, type=list[msgspec.Raw])
        except msgspec.DecodeError as exc:
            summary.reject("array", f"not a JSON array: {exc}")
            return iter(())
        summary.read += min(skip, len(items))
        return _array_pieces(items, skip)
    offset, line = _after_records(data, skip) if skip else (0, 1)
    summary.read += skip
    body = io.BytesIO(data)  # shares ``data``'s buffer: no copy
    body.seek(offset)
    return _ndjson_pieces(body.read, offset, line)


def _kept(column: list[_T], keep: list[bool]) -> list[_T]:
    return [value for value, kept in zip(column, keep, strict=True) if kept]


def _second_opinion(checked: _Checked, problems: list[tuple[int, str]]) -> list[_OwnerTokens]:
    """The model's word on the lines the Rust parser refused: its own message, or the token after all.

    The parser refuses a few spellings the model takes (a ``+0000`` offset, more than 18 fraction digits,
    a repeated field); the model decides, so an import accepts exactly what a PUT does.
    """
    lines = checked.piece.data.split(b"\n")
    found = []
    for number, _ in checked.rejected:
        try:
            token = _decoder.decode(lines[number - checked.piece.first])
            micros = to_micros(token.last_updated)
        except (msgspec.DecodeError, ValueError) as exc:
            problems.append((number, str(exc)))
            continue
        key = token_key(token.country_code, token.party_id, token.uid, token.type)
        found.append((key.country_code, key.party_id, [number], [key.id], [micros], [_encoder.encode(token)]))
    return found


def _by_owner(found: list[_OwnerTokens]) -> list[_OwnerTokens]:
    """One entry per owner, each in line order (so that a later line with the same key still wins)."""
    merged: dict[tuple[str, str], _OwnerTokens] = {}
    for owner in found:
        earlier = merged.get(owner[:2])
        if earlier is not None:
            rows = sorted(zip(earlier[2] + owner[2], earlier[3] + owner[3], earlier[4] + owner[4],
                              earlier[5] + owner[5], strict=True))
            owner = (*owner[:2], [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])
        merged[owner[:2]] = owner
    return list(merged.values())


def _owner_batches(checked: _Checked, allowed: set[tuple[str, str]], summary: ImportSummary) -> list[OwnerObjects]:
    """The owners' columns to store; counts the piece's records and rejects the bad ones, in line order."""
    problems: list[tuple[int, str]] = []
    found = checked.owners
    if checked.rejected:
        found = _by_owner(found + _second_opinion(checked, problems))
    batches = []
    for country_code, party_id, lines, ids, micros, data in found:
        if (country_code, party_id) not in allowed:
            problem = f"owner {country_code}/{party_id} is not a party of this namespace"
            problems += ((line, problem) for line in lines)
            continue
        if micros and (min(micros) < -MAX_MICROS or max(micros) > MAX_MICROS):  # years before 1685 or after 2255
            fits = [-MAX_MICROS <= value <= MAX_MICROS for value in micros]
            problems += ((line, "Field `last_updated` is out of the supported range")
                         for line, fit in zip(lines, fits, strict=True) if not fit)
            ids, micros, data = _kept(ids, fits), _kept(micros, fits), _kept(data, fits)
        batches.append(OwnerObjects(country_code=country_code, party_id=party_id, ids=ids, micros=micros, data=data))
    summary.read += sum(len(batch.ids) for batch in batches) + len(problems)
    for number, problem in sorted(problems):
        summary.reject(f"{checked.piece.place} {number}", problem)
    return batches


class _Storing(NamedTuple):
    """A piece sent to the store and not yet acknowledged."""

    write: asyncio.Future[None]
    piece: _Piece
    records: int
    """Records read up to the end of the piece."""


async def _store(
    service: TokenService, kind: str, batches: list[OwnerObjects], summary: ImportSummary, outbox: Outbox | None = None
) -> None:
    """Store one batch; with ``outbox`` (our own tokens), their PUTs to every CPO partner in the same write."""
    if not batches:
        return
    if outbox is None:
        added = await service.put_owners(batches, kind)
    else:
        tokens = [_decoder.decode(data) for batch in batches for data in batch.data]
        messages = await own_token_messages(outbox, tokens)
        added = await service.put_many(tokens, kind, outbox=messages)
        outbox.written(messages)
    summary.added += added
    summary.replaced += sum(len(batch.ids) for batch in batches) - added


async def _commit(storing: _Storing, committed: Callable[[_Piece, int], None] | None) -> None:
    """Wait until a piece is stored, then record it as committed."""
    await storing.write
    if committed is not None:
        committed(storing.piece, storing.records)


async def _ingest(
    service: TokenService, kind: str, allowed: set[tuple[str, str]], pieces: Iterator[_Piece],
    summary: ImportSummary, committed: Callable[[_Piece, int], None] | None = None, outbox: Outbox | None = None,
) -> None:
    """Validate and store every piece, in order, keeping the reader, the client and the store busy at once.

    While a piece is being stored, the next one is read and validated on a thread, then sent before the
    first is acknowledged (the store applies :meth:`~gateway.store.base.Store.put_owner_objects` calls in
    order). A piece is committed, and ``committed`` called for it, once the store has acknowledged it.
    With ``outbox``, each piece is stored before the next is sent: those writes carry outbox messages
    whose order matters per lane, and the store does not order concurrent ones.
    """
    checked = _checked(pieces)
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, checked, None))
    storing: _Storing | None = None
    try:
        while (current := await upcoming) is not None:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, checked, None))
            batches = _owner_batches(current, allowed, summary)
            write = asyncio.ensure_future(_store(service, kind, batches, summary, outbox))
            previous, storing = storing, _Storing(write, current.piece, summary.read)
            if previous is not None:
                await _commit(previous, committed)
            if outbox is not None:
                last, storing = storing, None
                await _commit(last, committed)
        if storing is not None:
            last, storing = storing, None
            await _commit(last, committed)
    finally:
        await _settle(upcoming, None if storing is None else storing.write)
        checked.close()


async def _settle(*futures: asyncio.Future[Any] | None) -> None:
    """After a failure: let the reader thread and a write already sent finish (neither can be called back),
    so that nothing changes the store once the import has raised. The write is not committed."""
    running = [future for future in futures if future is not None]
    if running:
        await asyncio.wait(running)
    for future in running:
        if not future.cancelled():
            future.exception()  # retrieved: it is not news once the first error is raised


async def import_bytes(
    service: TokenService, data: bytes, kind: str, owners: set[tuple[str, str]], *, skip: int = 0,
    on_batch: Callable[[ImportSummary], None] | None = None, outbox: Outbox | None = None,
) -> ImportSummary:
    """Validate and store every token of a JSON array or NDJSON body, in batches.

    With ``outbox`` (our own tokens), each batch is stored together with its PUTs to every CPO partner.
    """
    summary = ImportSummary(resumed_from=skip)
    pieces = _pieces_of(data, skip, summary)
    await _ingest(service, kind, owners, pieces, summary,
                  None if on_batch is None else lambda _piece, _records: on_batch(summary), outbox)
    if on_batch is not None:
        on_batch(summary)
    return summary


class _Checkpoint(msgspec.Struct):
    size: int
    mtime_ns: int
    records: int
    offset: int | None = None
    """NDJSON: the byte offset after the last committed record (absent in checkpoints of older versions)."""
    line: int = 1
    """NDJSON: the number of the line at ``offset``."""


def _checkpoint_path(path: Path) -> Path:
    return path.with_name(path.name + ".import-checkpoint")


def _saved_checkpoint(marker: Path, stat: os.stat_result) -> _Checkpoint | None:
    """The checkpoint an interrupted import of the same, unchanged file left, if any."""
    if not marker.exists():
        return None
    try:
        saved = msgspec.json.decode(marker.read_bytes(), type=_Checkpoint)
    except msgspec.DecodeError:
        return None
    return saved if (saved.size, saved.mtime_ns) == (stat.st_size, stat.st_mtime_ns) else None


def _is_array(path: Path) -> bool:
    with path.open("rb") as file:
        while block := file.read(4096):
            if stripped := block.lstrip():
                return stripped.startswith(b"[")
    return False


async def import_file(
    service: TokenService, path: Path, kind: str, owners: set[tuple[str, str]],
    progress: Callable[[ImportSummary], None] | None = None, outbox: Outbox | None = None,
) -> ImportSummary:
    """Import a file, resuming after the last batch an interrupted run committed (same file, unchanged).

    NDJSON is streamed; a JSON array is read whole.
    """
    stat = os.stat(path)
    marker = _checkpoint_path(path)
    saved = _saved_checkpoint(marker, stat)
    summary = ImportSummary(resumed_from=saved.records if saved else 0)

    def committed(piece: _Piece, records: int) -> None:
        checkpoint = _Checkpoint(size=stat.st_size, mtime_ns=stat.st_mtime_ns, records=records)
        if piece.end is not None:
            checkpoint.offset, checkpoint.line = piece.end, piece.first + piece.data.count(b"\n")
        marker.write_bytes(msgspec.json.encode(checkpoint))
        if progress is not None:
            progress(summary)

    if _is_array(path) or (saved is not None and saved.offset is None):
        pieces = _pieces_of(path.read_bytes(), saved.records if saved else 0, summary)
        await _ingest(service, kind, owners, pieces, summary, committed, outbox)
    else:
        offset, line = (saved.offset or 0, saved.line) if saved else (0, 1)
        summary.read = summary.resumed_from
        with path.open("rb") as file:
            file.seek(offset)
            await _ingest(service, kind, owners, _ndjson_pieces(file.read, offset, line), summary, committed,
                          outbox)
    if progress is not None:
        progress(summary)
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
        items = msgspec.json.decode(reply.data or b"[]", type=list[msgspec.Raw])
        await _ingest(service, TOKENS, owners, _array_pieces(items, 0, place=f"page {summary.pages} index"), summary)
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
