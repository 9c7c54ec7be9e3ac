"""A small real HTTP server playing a partner's versions and details endpoints, for handshake tests.

It runs in a thread on a free loopback port, answers from payloads the test sets, records the
``Authorization`` headers it saw, and stops when the context manager exits.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("PartnerStub", "partner_stub")


class PartnerStub:
    """What the stub serves and what it has seen."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.versions: Any = [{"version": "2.2.1", "url": f"{self.base}/ocpi/2.2.1"}]
        self.details: Any = {
            "version": "2.2.1",
            "endpoints": [
                {"identifier": "credentials", "role": "SENDER", "url": f"{self.base}/ocpi/2.2.1/credentials"},
                {"identifier": "tokens", "role": "SENDER", "url": f"{self.base}/ocpi/emsp/2.2.1/tokens"},
            ],
        }
        self.authorizations: list[str] = []

    @property
    def versions_url(self) -> str:
        """The URL a partner is given."""
        return f"{self.base}/ocpi/versions"


def _handler(stub: PartnerStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stub.authorizations.append(self.headers.get("Authorization", ""))
            if self.path == "/ocpi/versions":
                self._answer(stub.versions)
            elif self.path == "/ocpi/2.2.1":
                self._answer(stub.details)
            else:
                self._answer(None, http=404, code=2000)

        def _answer(self, data: Any, http: int = 200, code: int = 1000) -> None:
            body = json.dumps({"data": data, "status_code": code, "timestamp": "2026-01-01T00:00:00Z"}).encode()
            self.send_response(http)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    """Serve ``server`` on a thread of its own while the block runs; shut it down and close it after."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def partner_stub() -> Iterator[PartnerStub]:
    """Run a stub partner for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(PartnerStub(0)))
    stub = PartnerStub(server.server_address[1])
    server.RequestHandlerClass = _handler(stub)
    with serving(server):
        yield stub
