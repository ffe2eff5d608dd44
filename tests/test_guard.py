"""Nobody but the developer drives a served fake: each attack of issue #19 refused, each everyday use admitted.

Real uvicorn servers on 127.0.0.1; a browser's or an attacker's requests are imitated by the headers
they send (Host, Origin, Sec-Fetch-Site, Content-Type), as a web page would send them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mock_amojo import Config, create_app
from mock_amojo._cli_serve import banner as _banner
from mock_amojo.serve._server import ServerThread
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport

TOKEN = "s3cret-token-for-tests-0123456789"
EVIL = "http://evil.example"
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - only printed in a banner here, never bound


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    config = Config(allowed_hosts=("mock-amojo", ".ngrok.app", "tunnel.example"), demo=False)
    with ServerThread(create_app(config)) as thread:
        yield thread


@pytest.fixture(scope="module")
def locked() -> Iterator[ServerThread]:
    with ServerThread(create_app(Config(control_token=TOKEN))) as thread:
        yield thread


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as client:
        client.post("/__mock__/reset")
        yield client


def _channels(http: httpx.Client) -> list[str]:
    return [c["name"] for c in http.get("/__mock__/channels").json()["channels"]]


def _add_channel(http: httpx.Client, name: str = "mine") -> None:
    assert http.post("/__mock__/channels", json={"name": name}).status_code == 201


# -- DNS rebinding: a foreign Host ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/__mock__/state", "/__mock__/journal", "/__mock__/ui", "/__mock__/ui/events", "/"])
def test_a_rebound_host_reads_nothing(http: httpx.Client, server: ServerThread, path: str) -> None:
    answer = http.get(path, headers={"Host": f"evil.example:{server.port}"})
    assert answer.status_code == 403
    body = answer.json()
    assert body["error_type"] == "HOST_NOT_ALLOWED"
    assert "--allowed-hosts evil.example" in body["hint"]
    assert body["detail"]["host"] == f"evil.example:{server.port}"


def test_a_rebound_host_changes_nothing(http: httpx.Client, server: ServerThread) -> None:
    _add_channel(http)
    answer = http.post("/__mock__/reset", headers={"Host": f"evil.example:{server.port}"})
    assert answer.status_code == 403
    assert _channels(http) == ["mine"]


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "LOCALHOST.",
        "app.localhost",
        "[::1]",
        "127.0.0.2",
        "192.168.1.20",
        "[fe80::1]",
        "amojo.amocrm.com",  # only amoCRM can point its names anywhere: a --tls fake is reached under them
        "amojo.kommo.com",
        "mock-amojo",
        "abc.ngrok.app",
        "tunnel.example",
    ],
)
def test_local_names_addresses_and_allowed_hosts_are_served(http: httpx.Client, server: ServerThread, host: str) -> None:
    assert http.get("/__mock__/health", headers={"Host": f"{host}:{server.port}"}).status_code == 200


def test_any_host_with_star() -> None:
    with ServerThread(create_app(Config(allowed_hosts=("*",)))) as open_server:
        answer = httpx.get(f"{open_server.url}/__mock__/state", headers={"Host": "evil.example"}, trust_env=False)
    assert answer.status_code == 200


def test_amojo_api_answers_under_amojo_hostnames_and_any_host(locked: ServerThread) -> None:
    config = locked.app.state.config
    for host in ("amojo.amocrm.com", "amojo.amocrm.ru", "amojo.kommo.com", "evil.example"):
        with httpx.Client(base_url=locked.url, headers={"Host": host}, timeout=10, trust_env=False) as http:
            # No token, a Host the control plane refuses: the API is guarded by its signature, not by these checks.
            answer = AmojoClient(http, config.channel_id, config.channel_secret).connect(config.account_id, hook_api_version="v2")
            assert answer.status_code == 200, answer.text
            unsigned = http.post(f"/v2/origin/custom/{config.channel_id}/connect", json={"account_id": config.account_id})
            assert unsigned.status_code == 403
            assert unsigned.json()["error_type"] != "HOST_NOT_ALLOWED"


# -- cross-site writes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("text/plain", b'{"name": "evil", "webhook_url": "http://127.0.0.1:9/hooks"}'),
        ("text/plain;charset=UTF-8", b"{}"),
        ("application/x-www-form-urlencoded", b"name=evil"),
        ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nevil\r\n--x--\r\n'),
    ],
)
@pytest.mark.parametrize("path", ["/__mock__/reset", "/__mock__/channels", "/__mock__/operator/reply", "/__mock__/faults"])
def test_simple_cross_site_posts_are_refused(http: httpx.Client, path: str, kind: str, body: bytes) -> None:
    _add_channel(http)
    # What a page's <form> or no-cors fetch sends: a "simple" request, no preflight; refused with its Origin (403) and without (415).
    with_origin = http.post(path, content=body, headers={"Content-Type": kind, "Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert with_origin.status_code == 403
    assert with_origin.json()["error_type"] == "CROSS_ORIGIN_REFUSED"
    without_origin = http.post(path, content=body, headers={"Content-Type": kind})
    assert without_origin.status_code == 415
    refusal = without_origin.json()
    assert refusal["error_type"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "application/json" in refusal["error_description"]
    assert _channels(http) == ["mine"]
    assert http.get("/__mock__/webhooks").json()["count"] == 0


def test_a_body_without_content_type_is_refused(http: httpx.Client) -> None:
    answer = http.post("/__mock__/channels", content=b'{"name": "x"}')
    assert answer.status_code == 415
    assert "without Content-Type" in answer.json()["error_description"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Origin": "http://localhost:3000"},  # same site, another origin: another dev server on this machine
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:3000"},
        {"Origin": "https://anyone.ngrok.app"},  # '.ngrok.app' admits the Host, not every page published under it
        {"Origin": "https://tunnel.example", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_foreign_origin_cannot_write_even_as_json(http: httpx.Client, headers: dict[str, str]) -> None:
    _add_channel(http)
    answer = http.post("/__mock__/reset", headers={"Content-Type": "application/json", **headers})
    assert answer.status_code == 403
    assert answer.json()["error_type"] == "CROSS_ORIGIN_REFUSED"
    added = http.post("/__mock__/channels", json={"name": "evil"}, headers=headers)
    assert added.status_code == 403
    assert _channels(http) == ["mine"]


def test_a_foreign_origin_may_still_read_nothing_it_can_see(http: httpx.Client) -> None:
    # GETs change nothing and a page of another origin cannot read the answer (no CORS headers): they are served.
    answer = http.get("/__mock__/health", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, httpx, test code: no Origin
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "https://tunnel.example"},  # an older browser on the console through a tunnel that rewrites Host
    ],
)
def test_own_pages_and_clients_without_origin_write(http: httpx.Client, server: ServerThread, headers: dict[str, str]) -> None:
    assert http.post("/__mock__/channels", json={"name": "ok"}, headers=headers).status_code == 201
    assert http.put("/__mock__/faults", json={"faults": {"duplicate": True}}, headers=headers).status_code == 200
    assert http.delete("/__mock__/faults", headers=headers).status_code == 200
    assert http.post("/__mock__/reset", headers=headers).status_code == 200  # no body, no Content-Type: curl -X POST


def test_same_origin_by_origin_header_alone(http: httpx.Client, server: ServerThread) -> None:
    # A browser older than Sec-Fetch-Site sends only Origin: it matches the Host.
    own = {"Origin": f"http://127.0.0.1:{server.port}"}
    assert http.post("/__mock__/channels", json={"name": "ok"}, headers=own).status_code == 201
    assert (
        http.post("/__mock__/channels", json={"name": "no"}, headers={"Origin": f"http://127.0.0.1:{server.port + 1}"}).status_code == 403
    )


# -- the control token ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/__mock__/state"), ("POST", "/__mock__/reset"), ("GET", "/__mock__/ui/events"), ("GET", "/")]
)
def test_without_the_token_nothing_is_served(locked: ServerThread, method: str, path: str) -> None:
    answer = httpx.request(method, locked.url + path, trust_env=False)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["error_type"] == "CONTROL_TOKEN_MISSING"
    assert "--control-token" in answer.json()["hint"]


@pytest.mark.parametrize("authorization", ["Bearer wrong-token-wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"])
def test_a_wrong_token_is_refused_and_never_echoed(locked: ServerThread, authorization: str) -> None:
    answer = httpx.get(locked.url + "/__mock__/state", headers={"Authorization": authorization}, trust_env=False)
    assert answer.status_code == 401
    assert answer.json()["error_type"] == "CONTROL_TOKEN_INVALID"
    assert "wrong-token" not in answer.text
    assert TOKEN not in answer.text


def test_the_token_admits_and_stays_out_of_answers_and_the_journal(locked: ServerThread) -> None:
    config = locked.app.state.config
    with httpx.Client(base_url=locked.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10, trust_env=False) as http:
        assert http.post("/__mock__/channels", json={"name": "token holder"}).status_code == 201
        AmojoClient(http, config.channel_id, config.channel_secret).connect(config.account_id, hook_api_version="v2")
        http.post("/v2/origin/custom/nope/connect", content=b"{}")
        seen = [http.get(p).text for p in ("/__mock__/journal", "/__mock__/state", "/__mock__/openapi.json", "/__mock__/ui")]
    assert all(TOKEN not in text for text in seen)


def test_the_event_stream_needs_the_token(locked: ServerThread) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.stream("GET", locked.url + "/__mock__/ui/events", headers=headers, timeout=10, trust_env=False) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert next(stream.iter_text()).startswith("retry:")


def test_a_browser_hands_the_token_over_once_and_keeps_a_session(locked: ServerThread) -> None:
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    with httpx.Client(base_url=locked.url, headers=html, timeout=10, trust_env=False) as browser:
        login = browser.get("/__mock__/ui?chat=c-1")
        assert login.status_code == 401
        assert 'name="token"' in login.text and 'name="chat" value="c-1"' in login.text
        wrong = browser.get("/__mock__/ui", params={"token": "not-the-token-at-all"})
        assert wrong.status_code == 401 and "not this fake" in wrong.text and "not-the-token" not in wrong.text
        handed = browser.get("/__mock__/ui", params={"chat": "c-1", "token": TOKEN})
        assert handed.status_code == 303
        assert handed.headers["location"] == "/__mock__/ui?chat=c-1"  # the token leaves the address bar
        cookie = handed.headers["set-cookie"]
        # Named after the port: browsers share cookies across ports, and another fake on this machine keeps its own.
        assert cookie.startswith(f"mock_amojo_session_{locked.port}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
        assert browser.get("/__mock__/ui").status_code == 200
        with browser.stream("GET", "/__mock__/ui/events") as stream:
            assert stream.status_code == 200
        own = {"Content-Type": "application/json", "Origin": locked.url, "Sec-Fetch-Site": "same-origin"}
        assert browser.post("/__mock__/reset", headers=own).status_code == 200


def test_in_process_transports_are_not_guarded() -> None:
    # No socket: no web page and no other machine can reach them, and their host names are the test's choice.
    app = create_app(Config(control_token=TOKEN))
    with httpx.Client(transport=SyncASGITransport(app), base_url="https://evil.example") as http:
        assert http.post("/__mock__/channels", content=b'{"name": "x"}', headers={"Origin": EVIL}).status_code == 201
    app.state.webhooks.close()


def test_the_sandbox_carries_the_token_of_its_host() -> None:
    from mock_amojo.testing._sandbox import SandboxHost, SandboxSettings

    host = SandboxHost(Config(control_token=TOKEN))
    try:
        with host.open(SandboxSettings(served=True)) as sandbox:
            assert sandbox.http.get("/__mock__/state").status_code == 200
            assert sandbox.connect()["scope_id"] == sandbox.scope_id
    finally:
        host.close()


# -- the banner -----------------------------------------------------------------------------


def test_an_exposed_server_without_a_token_warns_in_the_banner() -> None:
    banner = _banner(Config(host=EVERY_INTERFACE), "http://0.0.0.0:8080")
    warning = next(line for line in banner.splitlines() if "WARNING" in line)
    assert "0.0.0.0 without --control-token" in warning and "--control-token auto" in warning
    for local in ("127.0.0.1", "localhost", "::1"):
        assert "WARNING" not in _banner(Config(host=local), "http://127.0.0.1:8080")
    assert "WARNING" not in _banner(Config(host=EVERY_INTERFACE, control_token=TOKEN), "http://0.0.0.0:8080")


def test_the_banner_shows_a_generated_token_and_hides_a_chosen_one() -> None:
    generated = Config(control_token="auto")
    assert generated.control_token is not None and len(generated.control_token) >= 32
    assert generated.control_token in _banner(generated, "http://127.0.0.1:8080")
    assert generated.replace(port=9).control_token == generated.control_token
    chosen = _banner(Config(control_token=TOKEN, demo=False), "http://127.0.0.1:8080")
    assert TOKEN not in chosen
    assert "Authorization: Bearer TOKEN" in chosen
    assert TOKEN not in repr(Config(control_token=TOKEN))


def _served_banner(*args: str) -> tuple[Any, str, str]:
    from .serve_process import start as _start

    served = _start(*args)
    return served, served.base_url, served.banner


def test_serve_with_a_generated_token_works_end_to_end() -> None:
    served, base_url, banner = _served_banner("--control-token", "auto", "--no-demo")
    try:
        token = next(line.split()[-1] for line in banner.splitlines() if line.strip().startswith("control token"))
        assert httpx.get(f"{base_url}/__mock__/state", trust_env=False).status_code == 401
        answer = httpx.get(f"{base_url}/__mock__/state", headers={"Authorization": f"Bearer {token}"}, trust_env=False)
        assert answer.status_code == 200
    finally:
        served.process.terminate()
        assert served.process.wait(timeout=10) == 0
        for stream in (served.process.stdout, served.process.stderr):
            if stream is not None:
                stream.close()


# -- settings -------------------------------------------------------------------------------


def test_allowed_hosts_and_token_from_flags_env_and_file(tmp_path: Any) -> None:
    from mock_amojo.config import load_config

    env = {"MOCK_AMOJO_ALLOWED_HOSTS": "Mock-Amojo, *.ngrok.app", "MOCK_AMOJO_CONTROL_TOKEN": TOKEN}
    assert load_config(env=env).allowed_hosts == ("mock-amojo", ".ngrok.app")
    assert load_config(env=env).control_token == TOKEN
    assert load_config(env={"MOCK_AMOJO_CONTROL_TOKEN": ""}).control_token is None
    file = tmp_path / "mock-amojo.toml"
    file.write_text('allowed-hosts = ["tunnel.example", "10.0.0.5"]\ncontrol-token = "auto"\n')
    from_file = load_config(file=file)
    assert from_file.allowed_hosts == ("tunnel.example", "10.0.0.5")
    assert from_file.token_generated
    flags = load_config(file=file, env=env, overrides={"allowed_hosts": ["a", "b,c"]})
    assert flags.allowed_hosts == ("a", "b", "c")  # later sources win, as for every setting


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--allowed-hosts", "evil example"], "allowed_hosts: 'evil example' is not a host name"),
        (["--allowed-hosts", "host:8080"], "no port"),
        (["--control-token", "short"], "control_token: 16 to 256 visible ASCII characters"),
        (["--control-token", "with space in the token"], "control_token"),
    ],
)
def test_bad_guard_settings_are_one_line_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from mock_amojo.cli import main

    assert main(["serve", *args]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert "with space in the token" not in error


def test_the_openapi_document_lists_the_guard_answers(http: httpx.Client) -> None:
    document = http.get("/__mock__/openapi.json").json()
    reset = document["paths"]["/__mock__/reset"]["post"]
    assert {"401", "403", "415"} <= set(reset["responses"])
    assert {"controlToken": []} in reset["security"] and {} in reset["security"]
    state = document["paths"]["/__mock__/state"]["get"]
    assert {"401", "403"} <= set(state["responses"]) and "415" not in state["responses"]
    assert document["components"]["securitySchemes"]["controlToken"]["scheme"] == "bearer"


def test_rest_and_oauth_answer_for_themselves(http: httpx.Client, server: ServerThread) -> None:
    # amoCRM's REST API and OAuth endpoint have their own bearer tokens: the guard lets them through after its prefix check.
    foreign = {"Host": f"evil.example:{server.port}", "Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    form = {**foreign, "Content-Type": "application/x-www-form-urlencoded"}
    token = http.post("/oauth2/access_token", content=b"grant_type=authorization_code&client_id=x", headers=form)
    account = http.get("/api/v4/account", headers=foreign)
    for answer in (token, account):
        assert answer.status_code not in (403, 415), answer.text
        assert "HOST_NOT_ALLOWED" not in answer.text and "CROSS_ORIGIN_REFUSED" not in answer.text
