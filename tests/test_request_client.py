"""The Bot API's HTTP layer on aiohttp: what a failure says about whether the request can
have reached Telegram, the pool's limit and timeout, and what is sent."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import certifi
import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.telegram.request import (
    AiohttpRequest,
    ConnectFailed,
    NeverLeft,
    PoolTimedOut,
    tls_context,
)


class Server:
    """A local HTTP server whose answers the test controls."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.delay_s = 0.0
        self.release = asyncio.Event()
        self.release.set()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.received.append(
            {k: (v.file.read() if isinstance(v, web.FileField) else v) for k, v in form.items()}
        )
        await self.release.wait()
        await asyncio.sleep(self.delay_s)
        return web.json_response({"ok": True, "result": True})


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    app = web.Application()
    app.router.add_post("/{method}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    state.release.set()
    await runner.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _data(**params: object) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in params.items()])


async def test_a_form_request_is_sent_and_its_answer_returned(server: Server) -> None:
    request = AiohttpRequest()
    await request.initialize()
    try:
        status, body = await request.do_request(
            f"{server.url}/sendMessage", "POST", _data(chat_id=5, text="مرحبا")
        )
    finally:
        await request.shutdown()
    assert status == 200 and b'"ok": true' in body
    assert server.received == [{"chat_id": "5", "text": "مرحبا"}]


async def test_a_file_is_sent_as_a_multipart_part_with_the_other_fields(server: Server) -> None:
    request = AiohttpRequest()
    document = InputFile(b"a,b\n1,2\n", filename="export.csv")
    try:
        await request.do_request(
            f"{server.url}/sendDocument", "POST", _data(chat_id=7, document=document)
        )
    finally:
        await request.shutdown()
    [received] = server.received
    assert received["chat_id"] == "7"
    assert b"a,b\n1,2\n" in [v for v in received.values() if isinstance(v, bytes)]


async def test_a_refused_connection_is_a_network_error_that_never_left() -> None:
    request = AiohttpRequest(connect_timeout=2)
    try:
        with pytest.raises(NetworkError) as raised:
            await request.do_request(f"http://127.0.0.1:{_free_port()}/getMe", "POST")
    finally:
        await request.shutdown()
    assert isinstance(raised.value.__cause__, ConnectFailed)


async def test_a_full_pool_times_out_without_sending_and_frees_nothing_it_did_not_take(
    server: Server,
) -> None:
    request = AiohttpRequest(connection_pool_size=1, pool_timeout=0.2)
    server.release.clear()  # the first request holds the only connection
    first = asyncio.create_task(request.do_request(f"{server.url}/sendMessage", "POST"))
    try:
        while not server.received:
            await asyncio.sleep(0.01)
        with pytest.raises(TimedOut) as raised:
            await request.do_request(f"{server.url}/sendMessage", "POST", _data(text="2nd"))
        assert isinstance(raised.value.__cause__, PoolTimedOut)
        assert len(server.received) == 1  # the second was never sent
        server.release.set()
        assert (await first)[0] == 200
        # the pool's one connection is free again (the timed-out wait took none)
        await request.do_request(f"{server.url}/sendMessage", "POST", _data(text="3rd"))
        assert [r.get("text") for r in server.received] == [None, "3rd"]
    finally:
        server.release.set()
        await request.shutdown()


async def test_no_answer_in_time_is_a_timeout_that_may_have_reached_telegram(
    server: Server,
) -> None:
    request = AiohttpRequest(read_timeout=0.2)
    server.delay_s = 2.0
    try:
        with pytest.raises(TimedOut) as raised:
            await request.do_request(f"{server.url}/sendMessage", "POST", _data(text="x"))
    finally:
        await request.shutdown()
    assert not isinstance(raised.value.__cause__, NeverLeft)
    assert len(server.received) == 1


async def test_a_request_after_shutdown_is_refused(server: Server) -> None:
    request = AiohttpRequest()
    await request.initialize()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        await request.do_request(f"{server.url}/getMe", "POST")
    await request.initialize()  # PTB may start an application again
    try:
        assert (await request.do_request(f"{server.url}/getMe", "POST"))[0] == 200
    finally:
        await request.shutdown()


def test_the_proxy_comes_from_the_environment_once_per_host_and_no_proxy_exempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    request = AiohttpRequest()
    assert request._proxy_for("http://api.invalid/bot1:A/getMe") == "http://proxy.invalid:3128"
    assert request._proxy_for("http://127.0.0.1:8081/bot1:A/getMe") is None
    monkeypatch.delenv("HTTP_PROXY")  # read once per host: the next requests keep it
    assert request._proxy_for("http://api.invalid/bot1:A/sendMessage") == (
        "http://proxy.invalid:3128"
    )


def test_every_client_shares_one_tls_context_with_certifis_authorities() -> None:
    context = tls_context()
    assert tls_context() is context
    with open(certifi.where(), encoding="ascii") as bundle:
        authorities = bundle.read().count("BEGIN CERTIFICATE")
    assert context.cert_store_stats()["x509_ca"] == authorities
