"""A webhook receiver for the contract suite: a real HTTP server on 127.0.0.1 that records every hook.

It stands where an integration's endpoint stands, so the suite sees exactly the bytes and
headers amojo (or the fake) sent. Paths decide the answer: ``/fail/...`` answers 500,
everything else 200 — enough to check that a failed hook is not retried.

>>> with Receiver() as receiver:
...     receiver.url("/hooks/:scope_id").startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import orjson

__all__ = ["Hook", "Receiver"]


@dataclass(frozen=True)
class Hook:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    raw: bytes

    def json(self) -> Any:
        return orjson.loads(self.raw)


class Receiver:
    """Records hooks; :meth:`wait_for` blocks (on a condition, not a sleep) until a matching one arrives."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.hooks: list[Hook] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                hook = Hook(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
                # Record before answering: once the sender has its answer, the hook is visible.
                with receiver._changed:
                    receiver.hooks.append(hook)
                    receiver._changed.notify_all()
                self.send_response(500 if self.path.startswith("/fail/") else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="contract-receiver", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def wait_for(self, path_prefix: str, count: int = 1, timeout: float = 10.0) -> list[Hook]:
        """The first ``count`` hooks whose path starts with ``path_prefix`` (AssertionError on timeout)."""

        def matching() -> list[Hook]:
            return [h for h in self.hooks if h.path.startswith(path_prefix)]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} hook(s) under {path_prefix} within {timeout} s, got {len(matching())}")
            return matching()[:count]

    def received(self, path_prefix: str) -> list[Hook]:
        with self._changed:
            return [h for h in self.hooks if h.path.startswith(path_prefix)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
