"""``mock-amojo serve``: settings from flags, environment and config file, the server, and the banner it prints.

The banner says where the fake listens, the credentials to use, and the first request to send (signed,
as a curl command); it shows what the fake holds, so a ``--db`` file's changed secret is the one shown.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from . import __version__
from ._cli_commands import curl_command
from .config import Config, ConfigError, load_config
from .serve._gcpolicy import start_policy
from .wire._endpoints import PREFIX
from .wire._signing import format_date, sign_request

if TYPE_CHECKING:
    from .serve._tls import TlsFiles  # loaded only by a start with --tls

__all__ = ["banner", "run_serve"]


def run_serve(args: argparse.Namespace, started: Callable[[], None]) -> int:
    """Serve until stopped (SIGINT, SIGTERM: exit status 0); ``started`` is called just before the server listens."""
    import asyncio

    import uvicorn

    from .http._app import create_app
    from .serve._server import tls_settings, uvicorn_config
    from .serve._terminal import TerminalLog, wants_color
    from .webhooks import choose_client

    overrides: dict[str, Any] = {f.name: getattr(args, f.name) for f in fields(Config)}
    config = load_config(file=args.config or os.environ.get("MOCK_AMOJO_CONFIG"), env=os.environ, overrides=overrides)
    # No test code shares this process: "auto" sends hooks with the lean client here (choose_client says why).
    config = config.replace(webhook_client=choose_client(config.webhook_client, serve=True))

    class Server(uvicorn.Server):
        quiet_collections: asyncio.Task[None] | None = None
        stop_log: Callable[[], None] | None = None

        async def shutdown(self, sockets: Any = None) -> None:
            if self.quiet_collections is not None:
                self.quiet_collections.cancel()
            await super().shutdown(sockets)
            if self.stop_log is not None:
                self.stop_log()

        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.console.end_streams()  # an open console tab must not hold the shutdown
            super().handle_exit(sig, frame)

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.should_exit:
                return
            self.quiet_collections = start_policy(config.gc_policy, lambda: self.server_state.total_requests)
            port = config.port
            for listener in self.servers:
                for sock in listener.sockets:
                    port = sock.getsockname()[1]
            host = f"[{config.host}]" if ":" in config.host else config.host
            scheme = "https" if tls is not None else "http"
            held = _as_held(config, app.state.backend)
            print(banner(held, f"{scheme}://{host}:{port}", app.state.store.replayed if app.state.store else None, tls), flush=True)
            if not config.quiet:
                log = TerminalLog(sys.stdout, app.state.backend, color=wants_color(sys.stdout), json=config.log_format == "json")
                self.stop_log = log.attach(app.state.webhooks)

    tls: TlsFiles | None = None
    if config.tls:
        from .serve._tls import tls_files

        tls = tls_files(config.tls_dir, (config.host,))
    app = create_app(config)
    uvicorn_settings, notice = uvicorn_config(
        app, http=config.http, host=config.host, port=config.port, log_level=config.log_level, **tls_settings(tls)
    )
    if notice is not None:
        print(notice, file=sys.stderr, flush=True)
    server = Server(uvicorn_settings)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler
    # that was there before it: make that a clean exit instead of death by signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if config.gc_policy != "off":
        # What the start built lives as long as the process: out of the collector's sight before it
        # runs again, or its first pass walks all of it (~12 ms, a tenth of the start).
        gc.freeze()
    started()
    try:
        server.run()
    except SystemExit as exit_:
        if exit_.code not in (0, None) and not server.started:
            raise ConfigError(f"could not listen on {config.host}:{config.port} (in use, or not an address of this machine)") from None
        raise
    finally:
        if tls is not None:
            tls.discard()
    if not server.started:
        raise ConfigError(f"could not listen on {config.host}:{config.port} (in use, or not an address of this machine)")
    return 0


def banner(config: Config, base_url: str, restored: int | None = None, tls: TlsFiles | None = None) -> str:
    """What ``serve`` prints once it listens at ``base_url``: credentials, where things are, and a first request."""
    from .http._guard import banner_lines

    lines = [f"mock-amojo {__version__} — fake amojo at {base_url}"]
    if tls is not None:
        from .serve._tls import tls_banner

        lines += tls_banner(tls, urlsplit(base_url).port or 443)
    cacert = str(tls.ca) if tls else None
    if config.demo:
        connect_path = f"{PREFIX}/{config.channel_id}/connect"
        body = f'{{"account_id":"{config.account_id}","title":"Demo","hook_api_version":"v2"}}'
        headers = sign_request(config.channel_secret, "POST", connect_path, body.encode(), date=format_date(time.time()))
        lines += [
            f"  channel id      {config.channel_id}",
            f"  channel secret  {config.channel_secret}",
            f"  account id      {config.account_id}",
            f"  scope id        {config.channel_id}_{config.account_id}  (after connect)",
            f"  webhooks        {config.webhook_url or 'none (set --webhook-url to receive manager replies)'}",
        ]
        next_step = (
            "Connect the demo account (signature valid 15 minutes; `mock-amojo sign --curl POST PATH --body BODY` makes fresh ones):"
        )
        command = curl_command(base_url, "POST", connect_path, body, headers, cacert)
    else:
        # --no-demo registers nothing: the start-up channel's id and secret would be refused, so do not show them.
        lines.append("  channels        none (--no-demo): register one with POST /__mock__/channels")
        next_step = "Register a channel (the answer shows its id and its secret, this once):"
        body = orjson.dumps({"name": config.channel_name, "hook_api_version": config.hook_api_version}).decode()
        auth = {"Authorization": f"Bearer {config.control_token if config.token_generated else 'TOKEN'}"} if config.control_token else {}
        command = curl_command(base_url, "POST", "/__mock__/channels", body, {"Content-Type": "application/json", **auth}, cacert)
    lines += [
        f"  state           {_state_line(config, restored)}",
        f"  fidelity        {_fidelity_line(config)}",
        f"  console         {base_url}/__mock__/ui  (open it in a browser: you are the amoCRM manager)",
        f"  control plane   {base_url}/__mock__/state, /__mock__/journal, /__mock__/openapi.json",
        f"  reply as CRM    POST {base_url}/__mock__/operator/reply; deliveries at {base_url}/__mock__/webhooks",
        *banner_lines(config, base_url),
        "",
        next_step,
        "  " + command,
        "",
    ]
    return "\n".join(lines)


def _as_held(config: Config, backend: Any) -> Config:
    """``config`` with the start-up channel's secret and webhook URL as the fake holds them (a --db file keeps changes made at run time)."""
    channel = backend.find_channel(config.channel_id) if config.demo else None
    if channel is None:
        return config
    try:
        return config.replace(channel_secret=channel.secret, webhook_url=channel.webhook_url)
    except ConfigError:
        return config


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _fidelity_line(config: Config) -> str:
    """Where amoCRM's documents disagree, what this server does (docs/fidelity.md)."""
    chosen = "every stance strict" if config.strict else "default stances (warn where amoCRM's documents disagree)"
    changed = ", ".join(f"{rule}={stance}" for rule, stance in config.stances.items())
    errors = "; bare error bodies" if config.error_bodies == "bare" else ""
    return f"{chosen}{' except ' + changed if config.strict and changed else '; ' + changed if changed else ''}{errors}"


def _state_line(config: Config, restored: int | None) -> str:
    if config.db is None:
        return "in memory (--db FILE keeps it across restarts)"
    return f"{config.db}  ({restored or 0} changes restored, synchronous={config.db_synchronous})"
