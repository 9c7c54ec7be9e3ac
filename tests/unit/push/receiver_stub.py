"""A real HTTP server playing a partner's receiving endpoints, for outbox tests.

It runs in a thread on a free loopback port and records every request in arrival order. What it answers is
scripted: a queue of :class:`Answer` consumed one per request (then ``default``). An answer can carry an
OCPI envelope or none, any HTTP status, extra headers, or ``hang`` until :meth:`ReceiverStub.release` (or the
end of the block). It also tracks how many requests are in flight at once, overall and per path and caller.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.partner_stub import serving

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

__all__ = ("Answer", "Received", "ReceiverStub", "receiver_stub", "wait_until")

HANG_LIMIT_SECONDS = 30.0
"""A hanging request answers after this long at the latest (the test has failed by then)."""


@dataclass(frozen=True)
class Answer:
    """One scripted answer."""

    http: int = 200
    code: int | None = 1000
    """The OCPI status code; ``None`` sends a plain-text body without an envelope."""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    """Wait for :meth:`ReceiverStub.release` before answering."""


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    method: str
    path: str
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        """The body, decoded."""
        return json.loads(self.body)


class ReceiverStub:
    """What the stub answers and what it has seen (thread-safe)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.default = Answer()
        self.received: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.max_in_flight_per_lane = 0
        """The most requests in flight at once for one path from one caller (one ``Authorization``)."""
        self._per_lane: Counter[tuple[str, str]] = Counter()
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()

    def url(self, module: str) -> str:
        """The endpoint URL of a module (with a trailing slash, as some peers publish them)."""
        return f"{self.base}/ocpi/emsp/2.2.1/{module}/"

    def then(self, *answers: Answer) -> None:
        """Answer the next requests with these, in order."""
        with self._lock:
            self._script.extend(answers)

    def fail_next(self, count: int, answer: Answer | None = None) -> None:
        """Answer the next ``count`` requests with ``answer`` (HTTP 503 without a body by default)."""
        self.then(*[answer or Answer(http=503, code=None)] * count)

    def release(self) -> None:
        """Let every hanging request (and every later one that would hang) answer."""
        self._released.set()

    def paths(self) -> list[str]:
        """The paths received, in order."""
        with self._lock:
            return [r.path for r in self.received]

    def count(self) -> int:
        """How many requests arrived so far."""
        with self._lock:
            return len(self.received)

    def _arrive(self, received: Received) -> Answer:
        with self._lock:
            self.received.append(received)
            self.in_flight += 1
            lane = (received.headers.get("authorization", ""), received.path)
            self._per_lane[lane] += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.max_in_flight_per_lane = max(self.max_in_flight_per_lane, self._per_lane[lane])
            return self._script.popleft() if self._script else self.default

    def _leave(self, received: Received) -> None:
        with self._lock:
            self.in_flight -= 1
            self._per_lane[(received.headers.get("authorization", ""), received.path)] -= 1


def _handler(stub: ReceiverStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real partner

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            received = Received(self.command, self.path, body, {k.lower(): v for k, v in self.headers.items()})
            answer = stub._arrive(received)
            try:
                if answer.hang:
                    stub._released.wait(HANG_LIMIT_SECONDS)
                self._answer(answer)
            except OSError:
                pass  # the client gave up (timeout or cancelled): nothing to answer
            finally:
                stub._leave(received)

        do_PUT = do_PATCH = do_POST = do_DELETE = _handle

        def _answer(self, answer: Answer) -> None:
            if answer.code is None:
                payload, content_type = b"not OCPI", "text/plain"
            else:
                envelope = {"status_code": answer.code, "timestamp": "2026-01-01T00:00:00Z"}
                payload, content_type = json.dumps(envelope).encode(), "application/json"
            self.send_response(answer.http)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client dropping its keep-alive connection (a worker killed or stopped) is expected here."""


@contextmanager
def receiver_stub() -> Iterator[ReceiverStub]:
    """Run a receiving partner for the duration of the block."""
    server = _QuietServer(("127.0.0.1", 0), _handler(ReceiverStub(0)))
    stub = ReceiverStub(server.server_address[1])
    server.RequestHandlerClass = _handler(stub)
    with serving(server):
        try:
            yield stub
        finally:
            stub.release()  # answers held back go out before the server shuts down


async def wait_until(condition: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = 15.0) -> None:
    """Poll ``condition`` (plain or async) until it holds; fail when ``timeout`` runs out. No timing is asserted:
    the bound only turns a hang into a failure."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
