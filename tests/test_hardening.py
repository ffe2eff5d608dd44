"""Hardening over real HTTP: bad input at volume, concurrency, secrets.

Every refusal is a documented 4xx with a JSON error body — never a 5xx — and the server
keeps serving; under 64 concurrent clients no acknowledged message is lost or doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from starlette.applications import Starlette

from mock_amojo import Config, create_app, sign_request
from mock_amojo.domain import Backend
from mock_amojo.testing._client import AmojoClient

PREFIX = "/v2/origin/custom"
#: Every error_type the fake documents (mock_amojo/errors.py); a bad request must get one of these.
DOCUMENTED = {
    "INVALID_JSON",
    "SCHEMA_VIOLATION",
    "INVALID_QUERY",
    "DUPLICATE_MSGID",
    "INVALID_REFERENCE",
    "MISSING_SIGNATURE",
    "MISSING_DATE",
    "MISSING_CONTENT_MD5",
    "INVALID_DATE",
    "STALE_DATE",
    "FUTURE_DATE",
    "CONTENT_MD5_MISMATCH",
    "SIGNATURE_MISMATCH",
    "CHANNEL_NOT_FOUND",
    "SCOPE_NOT_FOUND",
    "CHAT_NOT_FOUND",
    "MESSAGE_NOT_FOUND",
    "USER_NOT_FOUND",
    "ROUTE_NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "BODY_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
}


@dataclass
class Served:
    app: Starlette
    config: Config
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def backend(self) -> Backend:
        backend: Backend = self.app.state.backend
        return backend

    @property
    def scope_id(self) -> str:
        return f"{self.config.channel_id}_{self.config.account_id}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    """The fake on a real uvicorn server (httptools, as `mock-amojo serve` runs) on a free port."""
    config = Config(body_limit=64 * 1024)
    app = create_app(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    try:
        yield Served(app, config, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def served(server: Served) -> Served:
    """The module's server, state reset for this test."""
    server.backend.reset()
    return server


@pytest.fixture
def connected(served: Served) -> Served:
    with served.client() as http:
        assert (
            AmojoClient(http, served.config.channel_id, served.config.channel_secret).connect(served.config.account_id).status_code == 200
        )
    return served


def raw_exchange(port: int, data: bytes | list[bytes], *, timeout: float = 5.0, pause: float = 0.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes (a list: piece by piece, ``pause`` seconds apart), read one HTTP response (status, lower-cased headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        for n, piece in enumerate([data] if isinstance(data, bytes) else data):
            if n:
                time.sleep(pause)
            sock.sendall(piece)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body


def signed_raw(served: Served, method: str, path: str, body: bytes, *, content_type: str = "application/json", extra: str = "") -> bytes:
    headers = sign_request(served.config.channel_secret, method, path, body, content_type=content_type)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()), f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode("latin-1") + body


def assert_documented_refusal(status: int, headers: dict[str, str], body: bytes, expected: int | None = None) -> dict[str, Any]:
    assert 400 <= status < 500, (status, body[:300])
    if expected is not None:
        assert status == expected, (status, body[:300])
    assert headers.get("content-type") == "application/json", headers
    error: dict[str, Any] = json.loads(body)
    assert error["error_code"] == status
    assert error["error_type"] in DOCUMENTED, error
    assert error["error_description"]
    assert error["hint"]
    return error


def assert_still_serving(served: Served) -> None:
    with served.client() as http:
        amojo = AmojoClient(http, served.config.channel_id, served.config.channel_secret)
        assert amojo.connect(served.config.account_id).status_code == 200
    assert served.backend.server_errors == []


# -- bad input ----------------------------------------------------------------------------


def test_oversized_body_is_refused_413_without_being_read(connected: Served) -> None:
    # Declare 1 GiB, send 1 KiB: the answer must come at once, not after the server waits for the rest.
    path = f"{PREFIX}/{connected.scope_id}"
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {1 << 30}\r\n\r\n".encode()
    started = time.monotonic()
    status, headers, body = raw_exchange(connected.port, head + b"{" * 1024, timeout=5)
    assert time.monotonic() - started < 3
    error = assert_documented_refusal(status, headers, body, 413)
    assert error["error_type"] == "BODY_TOO_LARGE"
    assert error["detail"]["content_length"] == 1 << 30
    assert_still_serving(connected)


def test_oversized_chunked_body_is_refused_413(connected: Served) -> None:
    path = f"{PREFIX}/{connected.scope_id}"
    chunk = b"x" * 32 * 1024
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    status, headers, body = raw_exchange(connected.port, head + chunks)
    assert assert_documented_refusal(status, headers, body, 413)["error_type"] == "BODY_TOO_LARGE"
    assert_still_serving(connected)


def test_a_body_sent_in_chunks_is_read_whole(connected: Served) -> None:
    # Most bodies arrive in one ASGI message; one sent in several must be joined, not cut at the first.
    path = f"{PREFIX}/{connected.scope_id}"
    payload = {"timestamp": int(time.time()), "msgid": "chunked-1", "conversation_id": "conv-chunked"}
    payload |= {"sender": {"id": "user-chunked", "name": "Chunked"}, "message": {"type": "text", "text": "x" * 3000}}
    body = orjson.dumps({"event_type": "new_message", "payload": payload})
    headers = sign_request(connected.config.channel_secret, "POST", path, body)
    pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces] + [b"0\r\n\r\n"]
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"POST {path} HTTP/1.1\r\nHost: x\r\n{head}Transfer-Encoding: chunked\r\n\r\n".encode()
    # Sent apart, so the server reads (and the ASGI app receives) the body in several messages.
    status, _, answer = raw_exchange(connected.port, [request, *chunks], pause=0.02)
    assert status == 200, answer
    [message] = [m for m in connected.backend.scope(connected.scope_id).messages.values() if m.msgid == "chunked-1"]
    assert message.content["text"] == "x" * 3000


BAD_BODIES = {
    "truncated JSON": b'{"event_type": "new_message", "payload": {',
    "trailing garbage": b'{"event_type": "new_message"} x',
    "not JSON at all": b"event_type=new_message",
    "empty body": b"",
    "non-UTF-8 bytes": b'{"event_type": "new_message", "payload": {"msgid": "\xff\xfe"}}',
    "lone surrogate escape": b'{"event_type": "new_message", "payload": {"msgid": "\\ud800"}}',
    "NaN": b'{"event_type": "new_message", "payload": NaN}',
    "deep array nesting": b"[" * 5000 + b"]" * 5000,
    "deep object nesting": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "deep nesting inside payload": b'{"event_type": "new_message", "payload": {"message": ' + b"[" * 900 + b"]" * 900 + b"}}",
    "array instead of object": b"[1, 2, 3]",
    "huge number": b'{"event_type": "new_message", "payload": {"timestamp": ' + b"9" * 5000 + b"}}",
    "duplicate keys": b'{"event_type": "new_message", "event_type": "edit_message"}',
    "NUL bytes": b'{"event_type": "new_\x00message"}',
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_malformed_bodies_get_a_documented_400(connected: Served, name: str) -> None:
    path = f"{PREFIX}/{connected.scope_id}"
    status, headers, body = raw_exchange(connected.port, signed_raw(connected, "POST", path, BAD_BODIES[name]))
    error = assert_documented_refusal(status, headers, body, 400)
    assert error["error_type"] in ("INVALID_JSON", "SCHEMA_VIOLATION")
    assert_still_serving(connected)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp", "", "text/json"],
)
def test_wrong_content_types_get_400(connected: Served, content_type: str) -> None:
    path = f"{PREFIX}/{connected.scope_id}/typing"
    body = b'{"conversation_id": "c1", "sender": {"id": "u1"}}'
    status, headers, answer = raw_exchange(connected.port, signed_raw(connected, "POST", path, body, content_type=content_type))
    assert assert_documented_refusal(status, headers, answer, 400)["error_type"] == "UNSUPPORTED_MEDIA_TYPE"


def test_header_injection_is_never_reflected_into_response_headers(connected: Served) -> None:
    # CR/LF inside JSON strings and header values must not become response headers.
    injected = "c1\r\nX-Injected: yes\r\n\r\n<html>"
    body = orjson.dumps({"conversation_id": injected, "sender": {"id": "u\r\nSet-Cookie: a=b"}})
    path = f"{PREFIX}/{connected.scope_id}/typing"
    status, headers, answer = raw_exchange(connected.port, signed_raw(connected, "POST", path, body))
    assert_documented_refusal(status, headers, answer, 404)
    assert "x-injected" not in headers and "set-cookie" not in headers
    # Header values with odd but legal bytes (obs-text) are refused by the signature check, not by a crash
    # (hmac.compare_digest raised TypeError on non-ASCII text: a 500 before).
    request = signed_raw(connected, "POST", path, body, extra="X-Signature-Extra: \xc3\xa9t\xe9\r\n").replace(
        b"X-Signature: ", b"X-Signature: \xff"
    )
    status, headers, answer = raw_exchange(connected.port, request)
    assert assert_documented_refusal(status, headers, answer, 403)["error_type"] == "SIGNATURE_MISMATCH"
    assert "x-injected" not in headers
    assert_still_serving(connected)


@pytest.mark.parametrize(
    "path",
    [
        "/v2/origin/custom/../../__mock__/reset",
        "/v2/origin/custom/%2e%2e/%2e%2e/__mock__/reset",
        "/v2/origin/custom/..%2F..%2F__mock__%2Freset",
        "/v2/origin/custom/%2F%2F/chats",
        "/v2/origin/custom/{scope}/chats/..%2F..%2F..%2Fetc%2Fpasswd/history",
        "/v2/origin/custom/{scope}/%00/delivery_status",
        "/v2/origin/custom/{scope}/%ff%fe/delivery_status",
        "/v2/origin/custom/{scope}/chats/%ff%fe/history?offset=%ff&limit=%00",
    ],
)
def test_path_traversal_and_odd_bytes_in_ids_stay_inside_the_api(connected: Served, path: str) -> None:
    path = path.replace("{scope}", connected.scope_id)
    method = "GET" if path.split("?")[0].endswith("history") else "POST"
    body = b"" if method == "GET" else b'{"msgid": "m", "delivery_status": 1}'
    request = signed_raw(connected, method, path, body).replace(path.encode(), path.encode("latin-1"))
    before = len(connected.backend.channel_list())
    status, headers, answer = raw_exchange(connected.port, request)
    if status != 204:  # history of a chat that does not exist: amojo answers 204, no body
        assert_documented_refusal(status, headers, answer)
    assert len(connected.backend.channel_list()) == before  # nothing reset
    assert_still_serving(connected)


@pytest.mark.parametrize("length", [1_000, 8_000])
def test_very_long_ids_get_a_documented_4xx(connected: Served, length: int) -> None:
    with connected.client() as http:
        amojo = AmojoClient(http, connected.config.channel_id, connected.config.channel_secret)
        long_id = "x" * length
        answers = [
            amojo.history(long_id, scope_id=connected.scope_id),
            amojo.request("POST", f"{long_id}_{long_id}/typing", {"conversation_id": long_id, "sender": {"id": long_id}}),
            amojo.request("POST", f"{long_id}/connect", {"account_id": long_id}),
            amojo.delivery_status(long_id, 1, scope_id=connected.scope_id),
            amojo.typing(long_id, long_id, scope_id=connected.scope_id),
        ]
    for answer in answers:
        if answer.status_code == 204:
            continue
        assert_documented_refusal(answer.status_code, dict(answer.headers), answer.content)
    assert_still_serving(connected)


def test_a_barrage_of_bad_requests_never_gets_a_5xx(connected: Served) -> None:
    """Many bad requests of every kind, concurrently, over keep-alive connections."""
    scope = connected.scope_id
    good = orjson.dumps({"conversation_id": "c1", "sender": {"id": "u1"}})
    secret = connected.config.channel_secret

    def variants(n: int) -> tuple[str, str, dict[str, str], bytes]:
        path = f"{PREFIX}/{scope}/typing"
        signed = sign_request(secret, "POST", path, good)
        kind = n % 10
        if kind == 0:
            return "POST", path, {**signed, "X-Signature": "0" * 40}, good
        if kind == 1:
            return "POST", path, {**signed, "Date": "yesterday"}, good
        if kind == 2:
            return "POST", path, {**signed, "Date": "Mon, 01 Jan 2001 00:00:00 +0000"}, good
        if kind == 3:
            return "POST", path, {**signed, "Content-MD5": "0" * 32}, good
        if kind == 4:
            return "POST", path, {k: v for k, v in signed.items() if k != "Date"}, good
        if kind == 5:
            return "GET", path, signed, b""
        if kind == 6:
            body = b"{" * (n % 300)
            return "POST", path, sign_request(secret, "POST", path, body), body
        if kind == 7:
            body = orjson.dumps({"conversation_id": n, "sender": {}})
            return "POST", path, sign_request(secret, "POST", path, body), body
        if kind == 8:
            bad = f"{PREFIX}/nochannel_x/{n}/delivery_status"
            return "POST", bad, sign_request(secret, "POST", bad, good), good
        return "PUT", f"{PREFIX}/{scope}", signed, good

    async def client(worker: int, statuses: list[int]) -> None:
        async with httpx.AsyncClient(base_url=connected.url, timeout=10) as http:
            for i in range(40):
                method, path, headers, body = variants(worker * 40 + i)
                answer = await http.request(method, path, headers=headers, content=body)
                statuses.append(answer.status_code)
                assert answer.headers["content-type"] == "application/json"
                assert answer.json()["error_type"] in DOCUMENTED

    async def main() -> list[int]:
        statuses: list[int] = []
        await asyncio.gather(*(client(w, statuses) for w in range(16)))
        return statuses

    statuses = asyncio.run(main())
    assert len(statuses) == 640
    assert all(400 <= s < 500 for s in statuses), sorted(set(statuses))
    assert_still_serving(connected)


# -- concurrency --------------------------------------------------------------------------


def test_64_concurrent_clients_lose_and_double_nothing(connected: Served) -> None:
    """64 clients × 25 messages over 32 chats: each acknowledged message in history exactly once, in order."""
    secret, scope = connected.config.channel_secret, connected.scope_id
    path = f"{PREFIX}/{scope}"
    clients, per_client, chats = 64, 25, 32
    acknowledged: dict[str, list[tuple[str, str]]] = {}  # conversation → [(msgid, amojo id)] in ack order per client

    async def client(worker: int) -> list[tuple[str, str, str]]:
        acks = []
        async with httpx.AsyncClient(base_url=connected.url, timeout=30) as http:
            for n in range(per_client):
                conversation = f"conv-{(worker + n) % chats}"
                msgid = f"w{worker}-n{n}"
                body = orjson.dumps(
                    {
                        "event_type": "new_message",
                        "payload": {
                            "timestamp": 1_700_000_000,
                            "msgid": msgid,
                            "conversation_id": conversation,
                            "sender": {"id": f"user-{(worker + n) % chats}", "name": "Client"},
                            "message": {"type": "text", "text": f"{worker}/{n}"},
                        },
                    }
                )
                answer = await http.post(path, content=body, headers=sign_request(secret, "POST", path, body))
                assert answer.status_code == 200, answer.text
                acks.append((conversation, msgid, answer.json()["new_message"]["msgid"]))
        return acks

    async def main() -> list[list[tuple[str, str, str]]]:
        return await asyncio.gather(*(client(w) for w in range(clients)))

    per_worker = asyncio.run(main())
    for acks in per_worker:
        for conversation, msgid, amojo_id in acks:
            acknowledged.setdefault(conversation, []).append((msgid, amojo_id))

    backend = connected.backend
    scope_state = backend.scope(scope)
    total = 0
    for conversation, chat_acks in acknowledged.items():
        chat = scope_state.chats_by_conversation[conversation]
        stored = [(m.msgid or "", m.id) for m in chat.messages]
        assert sorted(stored) == sorted(chat_acks)  # exactly once each
        total += len(stored)
        # Per-chat order: one client's messages to a chat appear in the order it sent them.
        position = {msgid: i for i, (msgid, _) in enumerate(stored)}
        for worker_acks in per_worker:
            mine = [position[m] for c, m, _ in worker_acks if c == conversation]
            assert mine == sorted(mine)
        # History (newest first, 50 a page) returns the same messages in reverse order.
    assert total == clients * per_client
    with connected.client() as http:
        amojo = AmojoClient(http, connected.config.channel_id, secret)
        chat = scope_state.chats_by_conversation["conv-0"]
        pages, offset = [], 0
        while True:
            answer = amojo.history(chat.id, offset=offset, limit=50, scope_id=scope)
            if answer.status_code == 204:
                break
            page = [item["message"]["id"] for item in answer.json()["messages"]]
            pages.extend(page)
            offset += len(page)
        assert pages == [m.id for m in reversed(chat.messages)]
    journal = [e for e in backend.journal.entries() if e["endpoint"] == "send_message"]
    assert len(journal) == total and all(e["status"] == 200 for e in journal)
    assert len({e["seq"] for e in journal}) == total
    assert backend.server_errors == []


# -- secrets ------------------------------------------------------------------------------


def test_the_channel_secret_never_leaves_the_server(connected: Served, caplog: pytest.LogCaptureFixture) -> None:
    secret = connected.config.channel_secret
    caplog.set_level(logging.DEBUG)
    seen: list[bytes] = []
    with connected.client() as http:
        amojo = AmojoClient(http, connected.config.channel_id, secret)
        wrong = AmojoClient(http, connected.config.channel_id, "f" * 40)
        amojo.scope_id = wrong.scope_id = connected.scope_id
        payload = {
            "timestamp": 1,
            "msgid": "m1",
            "conversation_id": "c1",
            "sender": {"id": "u1", "name": "U"},
            "message": {"type": "text", "text": "t"},
        }
        answers = [
            amojo.send_message(payload),
            wrong.send_message(payload),  # mismatch: the error shows the canonical string, not the key
            amojo.request("POST", connected.scope_id, payload, headers={"X-Signature": secret.upper()}),
            wrong.connect(connected.config.account_id),
            amojo.request("POST", connected.scope_id, raw=b"{", headers={"X-Signature": secret}),
            amojo.request("POST", connected.scope_id, body={"event_type": secret}),
            http.get("/__mock__/state"),
            http.get("/__mock__/channels"),
            http.get("/__mock__/journal"),
            http.get("/__mock__/journal?refused=1"),
            http.get("/"),
            http.get("/nope"),
            http.post("/__mock__/sign", json={"path": f"{PREFIX}/{connected.scope_id}", "body": "{}"}),
        ]
        seen += [a.content for a in answers]
        seen += [str(dict(a.headers)).encode() for a in answers]
    # The client sent the secret itself as a header value once: the journal must not keep it verbatim either.
    journal = orjson.dumps(connected.backend.journal.entries())
    leaks = [blob for blob in [*seen, journal] if secret.encode() in blob]
    assert len(leaks) == 0, leaks[:1]
    assert all(secret not in record.getMessage() for record in caplog.records)
    sent_the_key = orjson.loads(seen[2])
    assert sent_the_key["error_type"] == "SIGNATURE_MISMATCH"
    assert "channel secret itself" in sent_the_key["hint"]
    assert "<redacted" in sent_the_key["detail"]["received_signature"]


# -- in-process edge cases ----------------------------------------------------------------


def test_a_client_that_leaves_mid_body_is_not_a_server_error() -> None:
    app = create_app(Config())
    path = f"{PREFIX}/{Config().channel_id}_{Config().account_id}"
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": []}
    scope |= {"asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http", "server": ("x", 80), "client": ("127.0.0.1", 1)}
    events: Iterator[dict[str, Any]] = iter([{"type": "http.request", "body": b'{"event', "more_body": True}, {"type": "http.disconnect"}])
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(events)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent == []  # nobody to answer
    assert app.state.backend.server_errors == []


@contextlib.contextmanager
def _connected(config: Config) -> Iterator[tuple[Any, AmojoClient]]:
    """A fresh in-process fake for ``config`` and a signed client, its account connected."""
    from mock_amojo.testing._inprocess import SyncASGITransport

    app = create_app(config)
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        amojo = AmojoClient(http, config.channel_id, config.channel_secret)
        amojo.connect(config.account_id)
        yield app, amojo


def test_the_journal_keeps_big_answers_truncated() -> None:
    """A history page can be tens of KiB; 10k of them must not make the journal hundreds of MiB."""
    with _connected(Config()) as (app, amojo):
        text = "x" * 1000
        for n in range(30):
            payload = {"timestamp": 1, "msgid": f"m{n}", "conversation_id": "c", "sender": {"id": "u", "name": "U"}}
            amojo.send_message({**payload, "message": {"type": "text", "text": text}})
        chat_id = app.state.backend.scope(amojo.scope_id).chats_by_conversation["c"].id
        journal = app.state.backend.journal
        before = journal.kept_bytes
        page = amojo.history(chat_id)
        kept = journal.kept_bytes - before
        small = amojo.history(chat_id, limit=1)
    assert len(page.json()["messages"]) == 30
    entries = journal.entries()
    big, one = entries[-2]["response"], entries[-1]["response"]
    assert big["truncated"] is True and big["size"] == len(page.content)
    assert len(big["text"]) <= 16 * 1024 and page.text.startswith(big["text"])
    assert one == small.json()
    # What the entry keeps of the page is what it shows, and that is what counts against journal_bytes.
    assert len(page.content) > 24 * 1024 and kept < 20 * 1024


def test_the_journal_keeps_at_most_journal_bytes_of_bodies_dropping_the_oldest() -> None:
    with _connected(Config(journal_bytes=64 * 1024)) as (app, amojo):
        for n in range(40):  # 8 KiB bodies the schema refuses: each is journaled with its body all the same
            assert amojo.request("POST", amojo.scope_id or "", raw=b'{"n": %d, "pad": "%s"}' % (n, b"p" * 8000)).status_code == 400
    journal = app.state.backend.journal
    entries = journal.entries()
    assert journal.kept_bytes <= 64 * 1024
    assert 4 <= len(entries) < 40
    assert entries[-1]["request"]["body"].startswith('{"n": 39,')  # the newest stay, the oldest went
    assert [e["seq"] for e in entries] == list(range(entries[0]["seq"], entries[-1]["seq"] + 1))


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        (b'{"conversation_id": "c1", "sender": {"id": "u1"}, "duration_ms": 5000}', True),
        (b'{"conversation_id": "c1", "sender": {"id": "u1"}, "duration_ms": 5000.0}', False),
        (b'{"conversation_id": "c1", "sender": {"id": "u1"}, "duration_ms": 5e3}', False),
        (b'{"conversation_id": "v1.5", "sender": {"id": "u1"}, "duration_ms": 5000}', True),
        (b'{"conversation_id": "v1.5", "sender": {"id": "u1"}, "duration_ms": 5000.0}', False),
    ],
)
def test_the_float_free_fast_path_gives_the_strict_verdict(raw: bytes, valid: bool) -> None:
    from mock_amojo.errors import SchemaViolation
    from mock_amojo.wire._validation import load_schemas

    schemas = load_schemas()
    for given in (raw, None):
        if valid:
            schemas.validate("typing.request.json", orjson.loads(raw), raw=given)
        else:
            with pytest.raises(SchemaViolation):
                schemas.validate("typing.request.json", orjson.loads(raw), raw=given)
