"""The webhook HTTP client against scripted receivers: every way a receiver may frame (or botch) its answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from mock_amojo.webhooks._hookclient import MAX_BODY, HookClient, HookConnectError, HookProtocolError, split_url

from .conftest import free_port

Read = Callable[[], Awaitable[bytes]]
Script = Callable[[Read, asyncio.StreamWriter], Awaitable[None]]


def run_against(script: Script, calls: int = 1) -> tuple[list[object], list[bytes], int]:
    """POST ``calls`` times to a receiver running ``script`` per connection: (results or errors, requests seen, connections)."""
    seen: list[bytes] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1

        async def read_request() -> bytes:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line[15:]) for line in head.split(b"\r\n") if line[:15].lower() == b"content-length:")
            seen.append(head + await reader.readexactly(length))
            return seen[-1]

        try:
            await script(read_request, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> list[object]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/s1?x=1"
        client = HookClient()
        results: list[object] = []
        async with server:
            for n in range(calls):
                try:
                    results.append(await client.post(url, b'{"n":%d}' % n, {"Content-Type": "application/json", "X-Signature": "ab"}))
                except (HookProtocolError, HookConnectError) as err:
                    results.append(err)
            await client.aclose()
        return results

    return asyncio.run(main()), seen, connections


async def keep_alive_200(read: Read, writer: asyncio.StreamWriter) -> None:
    while True:
        await read()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()


def test_keep_alive_reuses_one_connection_and_sends_the_exact_request() -> None:
    results, seen, connections = run_against(keep_alive_200, calls=5)
    assert [(r.status_code, r.text) for r in results] == [(200, "ok")] * 5  # type: ignore[attr-defined]
    assert connections == 1
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /hooks/s1?x=1 HTTP/1.1"
    assert b"Content-Type: application/json" in lines and b"X-Signature: ab" in lines and b"Content-Length: 7" in lines
    assert body == b'{"n":0}'


@pytest.mark.parametrize(
    ("answer", "status", "text", "reused"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n", 200, "abcde", True),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfail", 500, "fail", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", False),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, "", True),
        (b"HTTP/1.1 202 Accepted\r\ncontent-length: 3\r\n\r\n\xff\xfeA", 202, "\ufffd\ufffdA", True),
    ],
)
def test_answers_framed_every_way(answer: bytes, status: int, text: str, reused: bool) -> None:
    async def script(read: Read, writer: asyncio.StreamWriter) -> None:
        while True:
            await read()
            writer.write(answer)
            await writer.drain()
            if not reused:
                return

    results, _, connections = run_against(script, calls=2)
    assert [(r.status_code, r.text) for r in results] == [(status, text)] * 2  # type: ignore[attr-defined]
    assert connections == (1 if reused else 2)


def test_close_delimited_body() -> None:
    async def script(read: Read, writer: asyncio.StreamWriter) -> None:
        await read()
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        await writer.drain()

    results, _, connections = run_against(script, calls=2)
    assert [r.text for r in results] == ["until the end"] * 2  # type: ignore[attr-defined]
    assert connections == 2


def test_a_huge_answer_is_cut_and_its_connection_dropped() -> None:
    async def script(read: Read, writer: asyncio.StreamWriter) -> None:
        await read()
        size = MAX_BODY * 4
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size)
        await writer.drain()

    results, _, connections = run_against(script, calls=2)
    assert [len(r.body) for r in results] == [MAX_BODY, MAX_BODY]  # type: ignore[attr-defined]
    assert connections == 2


def test_an_idle_connection_the_receiver_closed_is_replaced_not_counted_as_a_failure() -> None:
    async def script(read: Read, writer: asyncio.StreamWriter) -> None:
        await read()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        # keep-alive promised, then the receiver closes anyway (idle timeout)

    results, seen, connections = run_against(script, calls=3)
    assert [r.status_code for r in results] == [200, 200, 200]  # type: ignore[attr-defined]
    assert len(seen) == 3 and connections == 3  # each hook sent exactly once


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "did not answer HTTP/1.x"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "hung up in the middle"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"", "closed the connection without an answer"),
    ],
)
def test_broken_answers_are_protocol_errors(answer: bytes, message: str) -> None:
    async def script(read: Read, writer: asyncio.StreamWriter) -> None:
        await read()
        writer.write(answer)
        await writer.drain()

    results, _, _ = run_against(script)
    assert isinstance(results[0], HookProtocolError) and message in str(results[0])


def test_a_receiver_that_is_down_is_a_connect_error() -> None:
    async def main() -> None:
        await HookClient().post(f"http://127.0.0.1:{free_port()}/x", b"{}", {})

    with pytest.raises(HookConnectError):
        asyncio.run(main())


def test_urls() -> None:
    assert split_url("http://[::1]:8080/a") == ("http", "::1", 8080, "/a")
    assert split_url("http://host") == ("http", "host", 80, "/")
    with pytest.raises(HookConnectError):
        split_url("ftp://host/x")


def test_only_max_body_bytes_of_an_answer_are_kept() -> None:
    async def main() -> list[int]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(2)
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"400\r\n" + b"y" * 1024 + b"\r\n" * 1 + b"0\r\n\r\n")
            writer.write(b"")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with server:
            client = HookClient()
            url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
            sizes = [len((await client.post(url, b"{}", {}, max_body=100)).body)]
            await client.aclose()
        return sizes

    assert asyncio.run(main()) == [100]
