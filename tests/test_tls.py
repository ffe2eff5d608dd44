"""``--tls``: HTTPS with a local test CA that curl, httpx and requests verify; kept in ``--tls-dir`` across restarts."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests

from mock_amojo import create_app
from mock_amojo.config import ConfigError, load_config
from mock_amojo.serve import _httpproto
from mock_amojo.serve._server import ServerThread
from mock_amojo.serve._tls import TLS_NAMES, TlsFiles, tls_files
from mock_amojo.wire._endpoints import AMOJO_HOSTS

from . import serve_process
from .serve_process import Served, run
from .test_pytest_plugin import STRICT_INI

pytest.importorskip("trustme", reason="--tls needs mock-amojo[tls]")


def start(*args: str) -> Served:
    return serve_process.start("--tls", *args)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with start("--tls-dir", str(tmp_path / "tls")) as server:
        yield server


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed on this machine")
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=20, check=False)


# -- the server, as a user runs it ------------------------------------------------------------


def test_the_banner_says_how_to_trust_the_ca_and_reach_a_hard_coded_host(served: Served) -> None:
    port = served.base_url.rsplit(":", 1)[1]
    assert served.base_url.startswith("https://127.0.0.1:")
    for variable in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        assert f"{variable}={served.ca}" in served.banner
    assert f"127.0.0.1 {' '.join(AMOJO_HOSTS)}" in served.banner
    assert f"--resolve amojo.amocrm.com:{port}:127.0.0.1" in served.banner


def test_curl_with_the_ca_verifies_the_certificate_for_localhost_and_amojos_hosts(served: Served) -> None:
    port = served.base_url.rsplit(":", 1)[1]
    assert '"ok"' in curl("--cacert", served.ca, f"https://localhost:{port}/__mock__/health").stdout
    for host in AMOJO_HOSTS:
        result = curl("--cacert", served.ca, "--resolve", f"{host}:{port}:127.0.0.1", f"https://{host}:{port}/__mock__/health")
        assert '"ok"' in result.stdout, result.stderr
    # The banner's own signed curl (with --cacert) connects the demo account.
    command = next(line.strip() for line in served.banner.splitlines() if line.startswith("  curl "))
    assert '"scope_id"' in subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=20, check=False).stdout


def test_httpx_and_requests_verify_the_certificate(served: Served) -> None:
    with httpx.Client(verify=ssl.create_default_context(cafile=served.ca)) as client:
        assert client.get(f"{served.base_url}/__mock__/health").json()["status"] == "ok"
    assert requests.get(f"{served.base_url}/__mock__/health", verify=served.ca, timeout=10).json()["status"] == "ok"


def test_a_client_without_the_ca_refuses_the_handshake(served: Served) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{served.base_url}/__mock__/health")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{served.base_url}/__mock__/health", timeout=10)
    result = curl(f"{served.base_url}/__mock__/health")
    assert result.returncode == 60, result  # curl: "Peer certificate cannot be authenticated with known CA certificates"


def test_tls_dir_keeps_the_ca_across_restarts(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    with start("--tls-dir", str(directory)) as first:
        ca = Path(first.ca).read_bytes()
    with start("--tls-dir", str(directory)) as second:
        assert Path(second.ca).read_bytes() == ca
        assert "reused" in second.banner
        # A client that trusted the first run's CA trusts the second run too.
        assert requests.get(f"{second.base_url}/__mock__/health", verify=second.ca, timeout=10).status_code == 200


def test_without_tls_dir_the_ca_is_temporary_and_removed_at_exit() -> None:
    with start() as server:
        assert "temporary" in server.banner
        assert Path(server.ca).exists()
    assert not Path(server.ca).exists()


def test_tls_dir_without_tls_is_a_one_line_error() -> None:
    result = run("serve", "--tls-dir", "certs")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "mock-amojo: error: tls_dir: 'certs' is set but TLS is off; add --tls (MOCK_AMOJO_TLS=true, tls = true)"
    )


def test_tls_comes_from_the_environment_and_toml_like_every_setting(tmp_path: Path) -> None:
    assert load_config(env={"MOCK_AMOJO_TLS": "true", "MOCK_AMOJO_TLS_DIR": "/x"}).tls_dir == "/x"
    (tmp_path / "m.toml").write_text('[mock-amojo]\ntls = true\ntls-dir = "certs"\n')
    config = load_config(file=tmp_path / "m.toml")
    assert (config.tls, config.tls_dir) == (True, "certs")
    with pytest.raises(ConfigError, match="MOCK_AMOJO_TLS: expected true or false"):
        load_config(env={"MOCK_AMOJO_TLS": "maybe"})


# -- the files -----------------------------------------------------------------------------------


def test_kept_files_are_reused_only_while_they_fit(tmp_path: Path) -> None:
    first = tls_files(tmp_path)
    assert not first.reused and not first.temporary
    assert first.key.stat().st_mode & 0o077 == 0  # the key is private
    assert tls_files(tmp_path).reused
    # Another name to cover: a new certificate (and CA).
    wider = tls_files(tmp_path, ("fake.amojo.test",))
    assert not wider.reused and "fake.amojo.test" in wider.names
    # A damaged or mismatched file: made anew.
    other_key = tls_files(tmp_path / "other").key.read_bytes()
    for damage in ("ca", "key"):
        if damage == "ca":
            wider.ca.write_text("not a certificate")
        else:
            wider.key.write_bytes(other_key)
        again = tls_files(tmp_path, ("fake.amojo.test",))
        assert not again.reused
        assert tls_files(tmp_path, ("fake.amojo.test",)).reused


def test_a_wildcard_bind_address_is_not_named(tmp_path: Path) -> None:
    assert tls_files(tmp_path, ("0.0.0.0", "::")).names == TLS_NAMES  # noqa: S104


def test_without_trustme_tls_is_a_config_error_saying_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trustme", None)  # what an environment without mock-amojo[tls] imports
    with pytest.raises(ConfigError, match=re.escape("tls: needs trustme to make its certificates; pip install 'mock-amojo[tls]'")):
        tls_files(tmp_path / "tls")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with pytest.raises(ConfigError):
        tls_files()
    assert list(scratch.iterdir()) == []  # its temporary directory is not left behind


def test_an_unwritable_tls_dir_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="tls_dir: cannot write the certificates"):
        tls_files(blocker / "tls")


# -- both HTTP protocols serve TLS -----------------------------------------------------------------


@pytest.fixture(scope="module")
def files() -> Iterator[TlsFiles]:
    made = tls_files()
    yield made
    made.discard()


@pytest.mark.parametrize("http", ["inline", "stock"])
def test_both_http_protocols_serve_https(files: TlsFiles, http: str, monkeypatch: pytest.MonkeyPatch) -> None:
    claimed: list[str] = []
    claim = _httpproto.InlineHttpProtocol._claim

    def counting(self: _httpproto.InlineHttpProtocol, fast_route: object) -> bool:
        taken = claim(self, fast_route)
        if taken:
            claimed.append(str(self.scheme))
        return taken

    monkeypatch.setattr(_httpproto.InlineHttpProtocol, "_claim", counting)
    with (
        ServerThread(create_app(), http=http, tls=files) as server,
        httpx.Client(verify=ssl.create_default_context(cafile=str(files.ca))) as client,
    ):
        assert server.url.startswith("https://")
        response = client.post(f"{server.url}/v2/origin/custom/nope/connect", content=b"{}")
        assert response.status_code in (400, 403, 404)
        assert client.get(f"{server.url}/__mock__/health").json()["status"] == "ok"
    # The inline protocol answers amojo's endpoints over TLS too (no fallback to stock needed).
    assert claimed == (["https"] if http == "inline" else [])


# -- the pytest plugin's served mode ------------------------------------------------------------------


def test_the_served_pytest_mode_over_https(pytester: pytest.Pytester) -> None:
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(
        """
import pytest, requests

@pytest.mark.amojo(served=True, tls=True)
def test_https(amojo):
    assert amojo.base_url.startswith("https://127.0.0.1:")
    assert requests.get(amojo.base_url + "/__mock__/health", verify=amojo.ca_bundle).json()["status"] == "ok"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(amojo.base_url + "/__mock__/health")
    amojo.connect()
    assert amojo.client.create_chat("c-1", {"id": "u-1", "name": "Ann"}).status_code == 200
    assert [c["conversation_id"] for c in amojo.chats] == ["c-1"]

@pytest.mark.amojo(served=True)
def test_plain(amojo):
    assert amojo.base_url.startswith("http://") and amojo.ca_bundle is None

@pytest.mark.amojo(tls=True)
def test_tls_needs_served(amojo):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*tls: HTTPS is the served mode's; add served=True*"])
