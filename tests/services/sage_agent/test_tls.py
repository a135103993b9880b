"""The agent serves TLS by default with the self-signed certificate made at install, and the
connector trusts it by pinned fingerprint only."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from mlc_core.sage.agent import pinned_tls
from sage_agent.main import AgentSettings, run
from sage_agent.tls import fingerprint, main, write
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.services.sage_agent.servers import serve

WRONG = "sha256:" + ":".join(["AB"] * 32)


async def hello(request: object) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def test_pinned_fingerprint_is_the_only_trust(tmp_path: Path) -> None:
    pin = write(tmp_path, ["127.0.0.1", "localhost"])
    cert = tmp_path / "agent.pem"
    assert pin == fingerprint(cert.read_bytes()) and len(pin.split(":")) == 32
    assert (tmp_path / "agent.key").stat().st_mode & 0o077 == 0  # only its owner reads the key
    app = Starlette(routes=[Route("/", hello)])
    with serve(app, ssl_certfile=str(cert), ssl_keyfile=str(tmp_path / "agent.key")) as url:
        async with httpx.AsyncClient(verify=pinned_tls(f"sha256:{pin}")) as pinned:
            assert (await pinned.get(url)).text == "hello"
        async with httpx.AsyncClient(verify=pinned_tls(WRONG)) as other:
            with pytest.raises(httpx.ConnectError, match="pinned"):
                await other.get(url)
        async with httpx.AsyncClient() as default:  # a self-signed certificate is no CA's
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await default.get(url)
    with pytest.raises(ValueError, match="32 bytes"):
        pinned_tls("sha256:abcd")
    assert ssl.PEM_cert_to_DER_cert(cert.read_text())  # a well-formed PEM certificate


def test_blocking_clients_are_pinned_too(tmp_path: Path) -> None:
    pin = write(tmp_path, ["127.0.0.1"])
    tls = {"ssl_certfile": str(tmp_path / "agent.pem"), "ssl_keyfile": str(tmp_path / "agent.key")}
    with serve(Starlette(routes=[Route("/", hello)]), **tls) as url:
        with httpx.Client(verify=pinned_tls(pin.lower())) as blocking:
            assert blocking.get(url).text == "hello"
        with httpx.Client(verify=pinned_tls(WRONG)) as other, pytest.raises(httpx.ConnectError):
            other.get(url)


def test_tls_command_writes_once_and_prints_the_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--name", "sage-agent.acme.local", "--dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    pin = fingerprint((tmp_path / "agent.pem").read_bytes())
    assert f"sha256:{pin}" in printed and "MLC_AGENT_TLS_KEY=" in printed
    assert main(["--name", "x", "--dir", str(tmp_path)]) == 1  # never overwrites silently
    assert "--force" in capsys.readouterr().err


def test_the_agent_will_not_serve_plain_http_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"TOKEN": "t0ken", "COMPANIES": "ABC", "BOI": "emulator"}.items():
        monkeypatch.setenv(f"MLC_AGENT_{name}", value)
    monkeypatch.delenv("MLC_AGENT_TLS_CERT", raising=False)
    monkeypatch.delenv("MLC_AGENT_PLAIN_HTTP", raising=False)
    with pytest.raises(SystemExit, match="no TLS certificate"):
        run()
    monkeypatch.setenv("MLC_AGENT_TOKEN", "")
    with pytest.raises(SystemExit, match="MLC_AGENT_TOKEN is empty"):
        run()
    assert AgentSettings(token="t", companies="ABC").plain_http is False  # type: ignore[arg-type]
