"""A lean HTTP/1.1 client for webhook POSTs on asyncio streams, with keep-alive connections per origin.

Webhooks are one shape of request — POST a small JSON body, read the status and a little
of the answer — sent by the thousand. A general client (httpx) spends far more CPU on each
and slows down with many lanes in flight; this one lets a served fake keep amojo's pace on
one core (bench/webhooks.py, bench/webhook_load.py). It understands what receivers
answer: ``Content-Length``, ``chunked`` and close-delimited bodies, ``Connection: close``,
HTTP/1.0, and https. No proxies, no redirects (amojo follows none), no retries — except
that a request on a reused keep-alive connection which the receiver had already closed is
sent once more on a fresh one, as every HTTP client does (the receiver never saw it).

The caller bounds each call with its own timeout (``asyncio.timeout``); a cancelled call
closes its connection instead of returning it to the pool.

>>> split_url("https://hooks.example.com/amojo/scope?x=1")
('https', 'hooks.example.com', 443, '/amojo/scope?x=1')
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from urllib.parse import urlsplit

import msgspec

__all__ = ["HookClient", "HookConnectError", "HookProtocolError", "HookResponse", "split_url"]

#: Default most of an answer read; a larger body is not drained, its connection is closed instead.
MAX_BODY = 64 * 1024
_MAX_HEAD = 64 * 1024
_USER_AGENT = b"mock-amojo-webhooks"

Origin = tuple[str, str, int]
_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HookConnectError(ConnectionError):
    """The receiver could not be reached (refused, unresolvable, TLS failed)."""


class HookProtocolError(ConnectionError):
    """The receiver answered something that is not HTTP/1.x, or hung up mid-answer."""


class HookResponse(msgspec.Struct, frozen=True):
    status_code: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def split_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path-with-query)`` of an http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:  # a port out of range, a broken IPv6 literal
        raise HookConnectError(f"not a usable http(s) URL: {url!r} ({err})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise HookConnectError(f"not an http(s) URL: {url!r}")
    port = port or (443 if scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port, target


class HookClient:
    """POST bodies to http(s) URLs over pooled keep-alive connections (one event loop only)."""

    def __init__(self, *, max_idle_per_origin: int = 100) -> None:
        self._idle: defaultdict[Origin, list[_Connection]] = defaultdict(list)
        self._max_idle = max_idle_per_origin
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str], *, max_body: int = MAX_BODY) -> HookResponse:
        """POST ``body``; the answer's body is read up to ``max_body`` bytes (a longer one costs its connection)."""
        scheme, host, port, target = split_url(url)
        origin = (scheme, host, port)
        request = _request_bytes(host, port, scheme, target, body, headers)
        while self._idle[origin]:
            connection = self._idle[origin].pop()
            if connection[0].at_eof() or connection[1].is_closing():
                _close(connection)
                continue
            try:
                return await self._exchange(origin, connection, request, reused=True, max_body=max_body)
            except _StaleConnection:
                continue  # the receiver closed this idle connection before our request: it never saw it
        return await self._exchange(origin, await self._open(origin), request, reused=False, max_body=max_body)

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                _close(connection)
        self._idle.clear()

    async def _open(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        try:
            return await asyncio.open_connection(host, port, ssl=tls, server_hostname=host if tls else None)
        except (OSError, ssl.SSLError) as err:
            raise HookConnectError(f"{err.strerror or err}" if isinstance(err, OSError) else str(err)) from None

    async def _exchange(self, origin: Origin, connection: _Connection, request: bytes, *, reused: bool, max_body: int) -> HookResponse:
        reader, writer = connection
        keep = False
        try:
            try:
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError) as err:
                if reused and (not isinstance(err, asyncio.IncompleteReadError) or not err.partial):
                    raise _StaleConnection from None
                raise HookProtocolError(f"the receiver closed the connection without an answer ({type(err).__name__})") from None
            except asyncio.LimitOverrunError:
                raise HookProtocolError("the receiver's answer headers are too large") from None
            response, keep = await _read_response(reader, head, max_body)
            return response
        finally:
            if keep and len(self._idle[origin]) < self._max_idle:
                self._idle[origin].append(connection)
            else:
                _close(connection)


class _StaleConnection(Exception):
    pass


def _close(connection: _Connection) -> None:
    connection[1].close()


def _request_bytes(host: str, port: int, scheme: str, target: str, body: bytes, headers: dict[str, str]) -> bytes:
    default_port = 443 if scheme == "https" else 80
    authority = host if port == default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        authority = f"[{host}]" if port == default_port else f"[{host}]:{port}"
    lines = [f"POST {target} HTTP/1.1", f"Host: {authority}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines).encode("latin-1") + b"\r\nUser-Agent: " + _USER_AGENT + b"\r\n\r\n"
    return head + body


async def _read_response(reader: asyncio.StreamReader, head: bytes, max_body: int) -> tuple[HookResponse, bool]:
    """Parse the status and headers in ``head``, read the body; also says whether the connection can be reused."""
    if len(head) > _MAX_HEAD:
        raise HookProtocolError("the receiver's answer headers are too large")
    lines = head[:-4].split(b"\r\n")
    status_line = lines[0].split(None, 2)
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1.") or not status_line[1].isdigit():
        raise HookProtocolError(f"the receiver did not answer HTTP/1.x: {lines[0][:80]!r}")
    status = int(status_line[1])
    fields: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    keep = status_line[0] == b"HTTP/1.1" and fields.get(b"connection", b"").lower() != b"close"
    if status in (204, 304) or 100 <= status < 200:
        return HookResponse(status, b""), keep
    try:
        if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            body, complete = await _read_chunked(reader, max_body)
            return HookResponse(status, body), keep and complete
        length = fields.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                raise HookProtocolError(f"bad Content-Length in the receiver's answer: {length[:40]!r}")
            size = int(length)
            return HookResponse(status, await reader.readexactly(min(size, max_body))), keep and size <= max_body
        # No length: the body runs until the receiver closes the connection.
        rest = bytearray()
        while len(rest) < max_body:
            part = await reader.read(max_body - len(rest))
            if not part:
                break
            rest += part
        return HookResponse(status, bytes(rest)), False
    except asyncio.IncompleteReadError:
        raise HookProtocolError("the receiver hung up in the middle of its answer") from None


async def _read_chunked(reader: asyncio.StreamReader, max_body: int) -> tuple[bytes, bool]:
    body = bytearray()
    while True:
        size_line = await reader.readline()
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HookProtocolError(f"bad chunk size in the receiver's answer: {size_line[:40]!r}") from None
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(body), True
        if len(body) + size > max_body:
            body += await reader.readexactly(max_body - len(body))
            return bytes(body), False  # enough read; the connection is not reused
        body += await reader.readexactly(size)
        await reader.readexactly(2)
