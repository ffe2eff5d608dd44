"""The served fake over real sockets: the inline protocol answers byte for byte what uvicorn's own does.

A corpus of raw requests is replayed on 127.0.0.1 through two servers of the same fake (same clock,
same ids, same requests in the same order): one on the inline protocol, one on uvicorn's httptools
protocol (``--http stock``). Each case runs on its own connection and ends with the server closing
it, so everything either server wrote is compared — status lines, headers in order, bodies — with
only the ``date`` header's value set aside.
"""

from __future__ import annotations

import asyncio
import gc
import re
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from mock_amojo import Config, create_app
from mock_amojo.cli import main
from mock_amojo.config import ConfigError, load_config
from mock_amojo.domain._clock import ManualClock, SequentialIds
from mock_amojo.serve._gcpolicy import FreezingCollector
from mock_amojo.serve._server import ServerThread, inline_supported
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._sandbox import SandboxHost
from mock_amojo.wire._signing import format_date, sign_request

NOW = 1_764_460_800.0
CONFIG = Config(body_limit=1024)
CHANNEL = f"/v2/origin/custom/{CONFIG.channel_id}"
SCOPE = f"/v2/origin/custom/{CONFIG.channel_id}_{CONFIG.account_id}"
#: The chat the session creates (SequentialIds: the connect takes the first ids).
CHAT_ID = "00000000-0000-4000-8000-000000000004"
_STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ")  # not after a line break: a body runs into the next answer
_DATE = re.compile(rb"\r\ndate: [^\r]*")


def _head(method: str, path: str, body: bytes, *extra: str, secret: str | None = None, pad: str = "", version: str = "1.1") -> bytes:
    """The request line and headers of a signed request; ``pad`` goes around every signed header's value."""
    signed = sign_request(secret or CONFIG.channel_secret, method, path.split("?", 1)[0], body, date=format_date(NOW))
    lines = [f"{method} {path} HTTP/{version}", "Host: amojo", *(f"{k}:{pad}{v}{pad}" for k, v in signed.items()), *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _signed(method: str, path: str, body: bytes = b"", *extra: str, **options: Any) -> bytes:
    length = [f"Content-Length: {len(body)}"] if body or method not in ("GET", "HEAD") else []
    return _head(method, path, body, *length, *extra, **options) + body


def _close(method: str, path: str, body: bytes = b"", *extra: str, **options: Any) -> bytes:
    return _signed(method, path, body, *extra, "Connection: close", **options)


def _message(msgid: str, text: str = "hello") -> bytes:
    payload = {
        "timestamp": int(NOW),
        "msgid": msgid,
        "conversation_id": "conv-1",
        "sender": {"id": "client-1", "name": "Ann"},
        "message": {"type": "text", "text": text},
    }
    return orjson.dumps({"event_type": "new_message", "payload": payload})


def _chunked(body: bytes, *sizes: int) -> bytes:
    chunks, rest = [], body
    for size in (*sizes, len(body)):
        if rest:
            chunks.append(b"%x\r\n%s\r\n" % (len(rest[:size]), rest[:size]))
            rest = rest[size:]
    return b"".join(chunks) + b"0\r\n\r\n"


def _percent_encoded(path: str) -> str:
    return path.replace("-", "%2D", 1)


@dataclass(frozen=True)
class Case:
    """Requests on one connection: each step's bytes are sent once ``wait`` answers in all have arrived."""

    name: str
    steps: tuple[tuple[bytes, int], ...]
    statuses: tuple[int, ...] | None


def _one_by_one(name: str, *requests: bytes, statuses: tuple[int, ...] | None) -> Case:
    return Case(name, tuple((request, n) for n, request in enumerate(requests)), statuses)


def _pipelined(name: str, *requests: bytes, statuses: tuple[int, ...]) -> Case:
    return Case(name, ((b"".join(requests), 0),), statuses)


_big = b'{"x":"' + b"a" * 2000 + b'"}'
_expect = _head(
    "POST", SCOPE, _message("m-expect"), f"Content-Length: {len(_message('m-expect'))}", "Expect: 100-continue", "Connection: close"
)
_chunked_message = _message("m-chunked", "sent in chunks")

CORPUS = (
    _one_by_one(
        "an amojo session on a keep-alive connection",
        _signed("POST", CHANNEL + "/connect", orjson.dumps({"account_id": CONFIG.account_id, "hook_api_version": "v2", "title": "T"})),
        _signed("POST", SCOPE + "/chats", orjson.dumps({"conversation_id": "conv-1", "user": {"id": "client-1", "name": "Ann"}})),
        _signed("POST", SCOPE, _message("m-1")),
        _signed("POST", SCOPE + "/typing", orjson.dumps({"action": "typing", "sender": {"id": "client-1"}, "conversation_id": "conv-1"})),
        _signed("GET", SCOPE + f"/chats/{CHAT_ID}/history?offset=0&limit=5"),
        _close("GET", SCOPE + f"/chats/{CHAT_ID}/history?limit=1"),
        statuses=(200, 200, 200, 204, 200, 200),
    ),
    _pipelined(
        "pipelined amojo calls with a control-plane request among them",
        _signed("POST", SCOPE, _message("m-2")),
        b"GET /__mock__/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        _signed("POST", SCOPE, _message("m-3")),
        _signed("POST", SCOPE, b"{not json"),
        _close("POST", SCOPE, _message("m-4")),
        statuses=(200, 200, 200, 400, 200),
    ),
    Case(
        "a chunked body",
        (
            (
                _head("POST", SCOPE, _chunked_message, "Transfer-Encoding: chunked", "Connection: close")
                + _chunked(_chunked_message, 7, 50),
                0,
            ),
        ),
        (200,),
    ),
    Case("Expect: 100-continue", ((_expect, 0), (_message("m-expect"), 1)), (100, 200)),
    _one_by_one(
        "HEAD requests",
        b"HEAD /__mock__/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        _signed("HEAD", SCOPE + f"/chats/{CHAT_ID}/history"),
        _close("HEAD", SCOPE),
        statuses=(200, 200, 405),
    ),
    _one_by_one("HTTP/1.0", _signed("POST", SCOPE, _message("m-old"), version="1.0"), statuses=(200,)),
    _one_by_one(
        "HTTP/1.0 asking for keep-alive",
        _signed("POST", SCOPE, _message("m-old-2"), "Connection: keep-alive", version="1.0"),
        statuses=(200,),
    ),
    _one_by_one(
        "header values with surrounding whitespace",
        _signed("POST", SCOPE, _message("m-padded"), pad="   "),
        _signed("POST", SCOPE, _message("m-tabs"), pad="\t \t"),
        _signed(
            "POST",
            SCOPE + "/chats",
            orjson.dumps({"conversation_id": "conv-2", "user": {"id": "client-2", "name": "Bob"}}),
            "X-Extra:  kept  ",
        ),
        _head("POST", SCOPE, _message("m-len"), f"Content-Length: {len(_message('m-len'))}   ") + _message("m-len"),
        _close("GET", SCOPE + f"/chats/{CHAT_ID}/history", pad=" "),
        # uvicorn 0.55 strips the trailing whitespace (the signatures verify: 200s), earlier releases keep it
        # (403s): both protocols answer what the installed uvicorn makes of it.
        statuses=None,
    ),
    _one_by_one(
        "percent-encoded paths",
        _signed("POST", _percent_encoded(SCOPE), _message("m-percent")),
        _signed("GET", _percent_encoded(SCOPE) + f"/chats/{CHAT_ID}/history?limit=2"),
        _close("POST", _percent_encoded(SCOPE) + "%2Fextra", _message("m-nowhere")),
        statuses=(200, 200, 404),
    ),
    _one_by_one(
        "oversized bodies",
        _signed("POST", SCOPE, _big),
        _head("POST", SCOPE, _big, "Transfer-Encoding: chunked") + _chunked(_big, 600, 600),
        _close("POST", SCOPE, _message("m-after-413")),
        statuses=(413, 413, 200),
    ),
    _one_by_one(
        "refused amojo calls",
        _signed("POST", SCOPE, _message("m-forged"), secret="0" * 40),
        _signed("POST", SCOPE, orjson.dumps({"event_type": "new_message", "payload": {}})),
        _signed("POST", "/v2/origin/custom/no-such-channel/connect", b"{}"),
        _signed("GET", SCOPE + "/chats/no-such-chat/history"),
        _signed("GET", SCOPE),
        _signed("POST", SCOPE + "/no-such-endpoint", b"{}"),
        _signed("POST", SCOPE + "/", _message("m-slash")),
        _close("POST", SCOPE, b""),
        statuses=(403, 400, 404, 204, 405, 404, 404, 400),
    ),
    _one_by_one(
        "closing the connection in the ways clients ask",
        _signed("POST", SCOPE, _message("m-close-1"), "Connection: keep-alive"),
        _signed("POST", SCOPE, _message("m-close-2"), "Connection: Close"),
        statuses=(200, 200),
    ),
    _one_by_one(
        "Connection: keep-alive, close", _signed("POST", SCOPE, _message("m-close-3"), "Connection: keep-alive, close"), statuses=(200,)
    ),
    _one_by_one(
        "a request uvicorn's parser refuses, after an answered one",
        _signed("POST", SCOPE, _message("m-before-garbage")),
        b"NOT HTTP AT ALL\r\n\r\n",
        statuses=(200, 400),
    ),
    _one_by_one(
        "disconnect",
        _close("DELETE", CHANNEL + "/disconnect", orjson.dumps({"account_id": CONFIG.account_id})),
        statuses=(200,),
    ),
)


def _answers(received: bytes) -> int:
    return len(_STATUS_LINE.findall(received))


def _replay(port: int, case: Case) -> bytes:
    """Everything the server wrote on one connection for ``case``, until it closed the connection."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for data, wait in case.steps:
            while _answers(received) < wait:
                chunk = sock.recv(65536)
                assert chunk, f"{case.name}: closed after {received!r}"
                received += chunk
            sock.sendall(data)
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise AssertionError(f"{case.name}: the server did not close the connection; got {received!r}") from None
            if not chunk:
                return received
            received += chunk


class _Fake:
    """A served fake counting the requests its inline route answered."""

    def __init__(self, http: str, monkeypatch: pytest.MonkeyPatch, config: Config = CONFIG) -> None:
        self.app = create_app(config, clock=ManualClock(NOW), ids=SequentialIds())
        self.inline_answers = 0
        fast_route = self.app.fast_route

        def counting(method: str, path: str) -> Any:
            found = fast_route(method, path)
            if found is None:
                return None
            route, params = found
            fake = self

            class Counted:
                body_limit = route.body_limit

                def answer(self, scope: dict[str, Any], body: bytes) -> Any:
                    fake.inline_answers += 1
                    return route.answer(scope, body)

            return Counted(), params

        monkeypatch.setattr(self.app, "fast_route", counting)
        self.server = ServerThread(self.app, http=http)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[_Fake, _Fake]]:
    inline, stock = _Fake("inline", monkeypatch), _Fake("stock", monkeypatch)
    with inline.server, stock.server:
        yield inline, stock


@pytest.mark.skipif(
    not inline_supported(uvicorn.__version__), reason=f"uvicorn {uvicorn.__version__}: the inline protocol is not served on it"
)
def test_the_inline_protocol_answers_the_corpus_byte_for_byte_as_uvicorn_does(fakes: tuple[_Fake, _Fake]) -> None:
    inline, stock = fakes
    for case in CORPUS:
        ours = _replay(inline.server.port, case)
        theirs = _replay(stock.server.port, case)
        assert _DATE.sub(b"\r\ndate: -", ours) == _DATE.sub(b"\r\ndate: -", theirs), case.name
        if case.statuses is not None:
            assert tuple(int(s) for s in _STATUS_LINE.findall(ours)) == case.statuses, case.name
    # The comparison means something only if the inline path answered; the stock server never does.
    assert inline.inline_answers >= 20 and stock.inline_answers == 0


def _with_msec(msgid: str) -> bytes:
    body = orjson.loads(_message(msgid))
    body["payload"]["msec_timestamp"] = int(NOW * 1000)
    return orjson.dumps(body)


_BARE_CORPUS = (
    _one_by_one(
        "warnings and bare errors on a keep-alive connection",
        _signed("POST", CHANNEL + "/connect", orjson.dumps({"account_id": CONFIG.account_id, "hook_api_version": "v2"})),
        _signed("POST", SCOPE, _with_msec("m-1")),  # nothing to warn about
        _signed("POST", SCOPE, _message("m-2")),  # no msec_timestamp: X-Mock-Amojo-Warning
        _signed("POST", SCOPE, b"{not json"),  # 400 {} + X-Mock-Amojo-Explain
        _signed("POST", SCOPE + "/no-such-message/delivery_status", orjson.dumps({"delivery_status": 1})),  # 404, empty text/plain
        _close("POST", SCOPE, _message("m-3"), secret="0" * 40),  # 403, empty text/plain
        statuses=(200, 200, 200, 400, 404, 403),
    ),
)


@pytest.mark.skipif(
    not inline_supported(uvicorn.__version__), reason=f"uvicorn {uvicorn.__version__}: the inline protocol is not served on it"
)
def test_the_inline_protocol_sends_warnings_and_bare_errors_as_uvicorn_does(monkeypatch: pytest.MonkeyPatch) -> None:
    config = CONFIG.replace(error_bodies="bare")
    inline, stock = _Fake("inline", monkeypatch, config), _Fake("stock", monkeypatch, config)
    with inline.server, stock.server:
        (case,) = _BARE_CORPUS
        ours, theirs = _replay(inline.server.port, case), _replay(stock.server.port, case)
    assert _DATE.sub(b"\r\ndate: -", ours) == _DATE.sub(b"\r\ndate: -", theirs)
    assert tuple(int(s) for s in _STATUS_LINE.findall(ours)) == case.statuses
    assert ours.count(b"x-mock-amojo-warning: msec_timestamp_absent: ") == 1
    assert ours.count(b"x-mock-amojo-explain: ") == 3 and b"content-type: text/plain\r\n" in ours
    assert inline.inline_answers == len(case.steps)


# -- switching to uvicorn's own protocol ------------------------------------------------------


def _session(base_url: str) -> list[int]:
    """A small amojo session over HTTP; the statuses it got."""
    config = Config()
    with httpx.Client(base_url=base_url) as http:
        amojo = AmojoClient(http, config.channel_id, config.channel_secret)
        connected = amojo.connect(config.account_id, hook_api_version="v2")
        chat = amojo.create_chat("conv-1", {"id": "client-1", "name": "Ann"})
        sent = amojo.send_message(
            {
                "timestamp": 1,
                "msgid": "m-1",
                "conversation_id": "conv-1",
                "sender": {"id": "client-1", "name": "Ann"},
                "message": {"type": "text", "text": "hi"},
            }
        )
        history = amojo.history(chat.json()["id"])
        forged = AmojoClient(http, config.channel_id, "0" * 40).send_message({}, scope_id=amojo.scope_id)
        assert history.json()["messages"][0]["message"]["text"] == "hi"
        return [r.status_code for r in (connected, chat, sent, history, forged)]


def _protocols(server: uvicorn.Server) -> set[str]:
    """The classes of the protocols serving the server's open connections."""
    return {type(connection).__name__ for connection in server.server_state.connections}


def _served_protocols(thread: ServerThread) -> set[str]:
    with httpx.Client(base_url=thread.url) as http:  # kept open: its connection is in the server's set
        assert http.get("/__mock__/health").status_code == 200
        return _protocols(thread._server)


def test_stock_serves_an_amojo_session_on_uvicorns_own_protocol() -> None:
    with ServerThread(create_app(), http="stock") as server:
        assert _session(server.url) == [200, 200, 200, 200, 403]
        assert _served_protocols(server) == {"HttpToolsProtocol"}


def test_served_pytest_mode_takes_its_protocol_from_MOCK_AMOJO_HTTP(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_AMOJO_HTTP", "stock")
    host = SandboxHost()
    try:
        assert _served_protocols(host.serve()) == {"HttpToolsProtocol"}
    finally:
        host.close()
    monkeypatch.setenv("MOCK_AMOJO_HTTP", "fast")
    with pytest.raises(ConfigError, match="http: inline or stock, got 'fast'"):
        ServerThread(create_app())


@pytest.mark.skipif(
    not inline_supported(uvicorn.__version__), reason=f"uvicorn {uvicorn.__version__}: the inline protocol is not served on it"
)
def test_inline_is_the_default_on_the_uvicorn_releases_it_is_tested_with(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOCK_AMOJO_HTTP", raising=False)
    with ServerThread(create_app()) as server:
        assert _served_protocols(server) == {"InlineHttpProtocol"}
    assert capsys.readouterr().err == ""


def test_outside_the_tested_uvicorn_releases_inline_falls_back_to_stock_with_a_one_line_notice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(uvicorn, "__version__", "0.99.0")
    with ServerThread(create_app(), http="inline") as server:
        notice = capsys.readouterr().err
        assert _session(server.url) == [200, 200, 200, 200, 403]
        assert _served_protocols(server) == {"HttpToolsProtocol"}
    assert notice.startswith("mock-amojo: the inline HTTP protocol is tested on uvicorn 0.") and "not 0.99.0" in notice
    assert "--http stock" in notice and notice.count("\n") == 1
    with ServerThread(create_app(), http="stock"):
        pass
    assert capsys.readouterr().err == ""  # asking for stock: nothing to say


# -- mock-amojo serve --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "protocol", "collector"),
    [([], "InlineHttpProtocol", True), (["--http", "stock", "--gc-policy", "off"], "HttpToolsProtocol", False)],
)
def test_serve_serves_on_the_protocol_and_gc_policy_asked_for(
    flags: list[str], protocol: str, collector: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if protocol == "InlineHttpProtocol" and not inline_supported(uvicorn.__version__):
        pytest.skip(f"uvicorn {uvicorn.__version__}: the inline protocol is not served on it")
    seen: dict[str, Any] = {}
    for name in ("MOCK_AMOJO_HTTP", "MOCK_AMOJO_GC_POLICY"):
        monkeypatch.delenv(name, raising=False)

    async def main_loop(server: Any) -> None:  # instead of waiting for a signal: a session, then shut down
        port = next(iter(server.servers)).sockets[0].getsockname()[1]
        seen["statuses"] = await asyncio.to_thread(_session, f"http://127.0.0.1:{port}")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            await asyncio.to_thread(http.get, "/__mock__/health")
            seen["protocols"] = _protocols(server)
        seen["collector"] = server.quiet_collections is not None and any(
            getattr(callback, "__self__", None).__class__ is FreezingCollector for callback in gc.callbacks
        )

    monkeypatch.setattr(uvicorn.Server, "main_loop", main_loop)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # the test process keeps its own handlers
    try:
        assert main(["serve", "--port", "0", "--log-level", "warning", *flags]) == 0
    finally:
        gc.unfreeze()
    assert seen == {"statuses": [200, 200, 200, 200, 403], "protocols": {protocol}, "collector": collector}
    assert capsys.readouterr().err == ""


def test_serving_settings_come_from_flags_env_and_config_files_and_are_checked(tmp_path: Path) -> None:
    assert (Config().http, Config().gc_policy) == ("inline", "freeze")
    assert load_config(env={"MOCK_AMOJO_HTTP": "stock", "MOCK_AMOJO_GC_POLICY": "off"}).replace(port=1) == Config(
        port=1, http="stock", gc_policy="off"
    )
    toml = tmp_path / "amojo.toml"
    toml.write_text('http = "stock"\ngc-policy = "off"\n')
    assert (load_config(file=toml).http, load_config(file=toml).gc_policy) == ("stock", "off")
    with pytest.raises(ConfigError, match="gc_policy: freeze or off, got 'never'"):
        load_config(overrides={"gc_policy": "never"})
