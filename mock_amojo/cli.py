"""The ``mock-amojo`` command: ``serve`` a fake amojo, ``sign`` a request for curl, ``check-receiver`` a webhook endpoint,
show or change a running fake's ``channel``.

Errors in flags, environment or config file print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

import orjson

from . import __version__
from .config import CHANNEL_SECRET, DEMO_CHANNEL_SECRET, FLAGS, Config, ConfigError, help_text, load_config
from .serve._gcpolicy import start_policy
from .wire._endpoints import ENDPOINTS, PREFIX
from .wire._signing import format_date, sign_request

if TYPE_CHECKING:
    from .serve._tls import TlsFiles  # loaded only by a start with --tls

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}{_suggestion(self, message)} (see {self.prog} --help)\n")


def _suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    """ "; did you mean ...?" for a misspelled flag or command (argparse suggests none before Python 3.14)."""
    import difflib  # only when there is an error to word: serving starts without it

    arguments = list(getattr(parser, "arguments", ()))
    words = [arg for arg in arguments if not arg.startswith("-")]
    unknown = re.match(r"unrecognized arguments: (\S+)", message)
    choice = re.match(r"argument \S+: invalid choice: '([^']*)'", message)
    if unknown:
        word, known = unknown.group(1).split("=", 1)[0], _flags(parser, words)
    elif choice:
        word, known = choice.group(1), [c for a in parser._actions if a.choices for c in a.choices]
    elif message.startswith("the following arguments are required"):
        # A required flag misspelled is reported as missing first: suggest for the flag no parser knows.
        known = _flags(parser, words)
        word = next((flag for flag in (a.split("=", 1)[0] for a in arguments if a.startswith("--")) if flag not in known), "")
    else:
        return ""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6) if word else []
    return f"; did you mean {close[0]}?" if close else ""


def _flags(parser: argparse.ArgumentParser, words: list[str]) -> list[str]:
    """Every flag of ``parser`` and of the commands ``words`` choose under it (the root parser reports unknown flags)."""
    flags = [flag for action in parser._actions for flag in action.option_strings]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = next((word for word in words if word in action.choices), None)
            if chosen is not None:
                flags += _flags(action.choices[chosen], words[words.index(chosen) + 1 :])
    return flags


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser`` and every command's parser under it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += _parsers(child)
    return found


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML file with settings (top level, [mock-amojo] or [tool.mock-amojo])")
    defaults = Config()
    for f in fields(Config):
        flag = FLAGS.get(f.name, "--" + f.name.replace("_", "-"))
        kind = str(f.type)
        # The flag's own default is None (unset: the config file and MOCK_AMOJO_* may set it); show the setting's.
        default = getattr(defaults, f.name)
        shown = {True: "on", False: "off", None: "none"}.get(default, default) if isinstance(default, bool | None) else default
        text = f"{help_text(f.name)} (default: {shown}; {f'MOCK_AMOJO_{f.name.upper()}'})".replace("%", "%%")
        if kind == "Mapping[str, str]":
            parser.add_argument(flag, dest=f.name, action="append", default=None, metavar="RULE=STANCE", help=help_text(f.name))
        elif kind == "bool":
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif kind.startswith("tuple"):
            parser.add_argument(flag, dest=f.name, action="append", default=None, metavar="HOST", help=text)
        else:
            parser.add_argument(flag, dest=f.name, default=None, metavar=f.name.upper().split("_")[-1], help=text)


def _parser(argv: Sequence[str] | None = None) -> _Parser:
    """The command line's parser; the ``channel`` command's own flags only when ``argv`` (default: any) may name it."""
    parser = _Parser(prog="mock-amojo", description="A faithful, fast fake of amoCRM's chat API (amojo).")
    parser.add_argument("--version", action="version", version=f"mock-amojo {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser(
        "serve", help="run the fake amojo server", description="Run the fake amojo server (settings also from MOCK_AMOJO_* env vars)."
    )
    _add_config_flags(serve)
    sign = commands.add_parser(
        "sign", help="print the signed headers (or a curl command) for a request", description="Sign a request as an amojo client must."
    )
    sign.add_argument("method", help="HTTP method of an amojo endpoint: GET, POST or DELETE")
    sign.add_argument("path", help="request path, e.g. /v2/origin/custom/{channel_id}/connect")
    sign.add_argument("--body", default="", help="the exact body bytes to send: JSON, as amojo takes (default: empty)")
    sign.add_argument("--not-json", action="store_true", help="sign a --body that is not JSON (to see the fake refuse it)")
    sign.add_argument(
        "--secret",
        default=os.environ.get("MOCK_AMOJO_CHANNEL_SECRET", DEMO_CHANNEL_SECRET),
        help="channel secret, 40 lowercase hex characters (default: the demo channel's, or MOCK_AMOJO_CHANNEL_SECRET)",
    )
    sign.add_argument("--base-url", default="http://127.0.0.1:8080", help="for --curl: where the fake runs")
    sign.add_argument("--curl", action="store_true", help="print a complete curl command instead of headers")
    check = commands.add_parser(
        "check-receiver",
        help="test an integration's webhook endpoint with genuine and forged amojo webhooks",
        description=(
            "Fire amojo's Webhook v2.0 calls at URL: genuine ones (every message type, write first, typing, reactions, "
            "unknown fields, a duplicate) must get 200 within 5 s; forged ones (bad, missing or replayed signature, "
            "altered body) must not. Exit 0: conforms; 1: accepted something forged; 3: mishandled genuine calls."
        ),
    )
    check.add_argument("url", help="the receiver's URL; ':scope_id' in it is replaced by --scope-id, as amojo does")
    check.add_argument("--secret", required=True, help="the channel secret the receiver verifies X-Signature with")
    check.add_argument("--scope-id", default=None, help="scope id the hooks describe ({channel_id}_{account_id}; default: random)")
    check.add_argument("--timeout", type=float, default=5.0, help="seconds to wait per call (amojo: 5)")
    check.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    channel = commands.add_parser(
        "channel",
        help="show or change a channel of a running fake (webhook URL, hook version, write first, accounts, secret)",
        description="Show or change a channel of a fake that is running, through its control plane (/__mock__/channels).",
    )
    if argv is None or "channel" in argv:  # its module loads only for a command line that can run it
        from ._channel_command import channel_parser

        channel_parser(channel)
    return parser


def curl_command(base_url: str, method: str, path: str, body: str, headers: dict[str, str], cacert: str | None = None) -> str:
    """A copy-pastable curl for a signed request (trusting the CA file ``cacert``, for --tls)."""
    parts = [
        "curl",
        "-sS",
        *(("--cacert", shlex.quote(cacert)) if cacert else ()),
        "-X",
        method.upper(),
        shlex.quote(base_url.rstrip("/") + path),
    ]
    for name, value in headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        parts += ["--data-binary", shlex.quote(body)]
    return " ".join(parts)


def _check_receiver(args: argparse.Namespace) -> int:
    from .testing._conformance import check_receiver, report_json

    if args.scope_id is not None and "_" not in args.scope_id:
        raise ConfigError(f"--scope-id {args.scope_id!r}: a scope id is '{{channel_id}}_{{account_id}}'")
    report = check_receiver(args.url, args.secret, scope_id=args.scope_id, timeout=args.timeout)
    if report.unreachable is not None:
        raise ConfigError(report.table())
    print(report_json(report.outcomes).decode() if args.json else report.table())
    return report.exit_code


def _sign(args: argparse.Namespace) -> int:
    from .errors import SchemaViolation
    from .wire._validation import load_schemas

    try:
        # The rules of POST /__mock__/sign's body: a method of letters, a path starting with "/".
        load_schemas().validate("control_sign.request.json", {"method": args.method, "path": args.path})
    except SchemaViolation as err:
        problem = next(e["message"] for e in err.detail["errors"] if e["pointer"] == err.detail["pointer"])
        raise ConfigError(f"{err.detail['pointer'].lstrip('/')}: {problem}") from None
    method = args.method.upper()
    methods = sorted({spec.method for spec in ENDPOINTS})
    if method not in methods:
        import difflib

        close = difflib.get_close_matches(method, methods, n=1)
        guess = f"; did you mean {close[0]}?" if close else ""
        raise ConfigError(f"method: {args.method!r} is not the method of any amojo endpoint ({', '.join(methods)}){guess}")
    if not CHANNEL_SECRET.match(args.secret):
        # A signature made with anything else matches no channel: amoCRM issues 40 lowercase hex characters (amojo-api.md §1).
        raise ConfigError(
            f"--secret: must be 40 lowercase hex characters, as amoCRM issues channel secrets; got {len(args.secret)} characters"
        )
    if args.body and not args.not_json:
        try:
            orjson.loads(args.body)
        except orjson.JSONDecodeError as err:
            raise ConfigError(f"--body: not valid JSON ({err}); amojo takes JSON bodies (--not-json signs it anyway)") from None
    if args.curl and not args.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"--base-url: must start with http:// or https://, got {args.base_url!r}")
    headers = sign_request(args.secret, method, args.path, args.body.encode())
    if args.curl:
        print(curl_command(args.base_url, method, args.path, args.body, headers))
    else:
        for name, value in headers.items():
            print(f"{name}: {value}")
    return 0


def _banner(config: Config, base_url: str, restored: int | None = None, tls: TlsFiles | None = None) -> str:
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


def _serve(args: argparse.Namespace, started: Callable[[], None]) -> int:
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
            print(_banner(held, f"{scheme}://{host}:{port}", app.state.store.replayed if app.state.store else None, tls), flush=True)
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


def _not_text(argv: Sequence[str]) -> str | None:
    """The complaint about the first argument that is not UTF-8 text (raw bytes from the shell), if any."""
    for index, arg in enumerate(argv):
        if arg.isascii():
            continue
        try:
            arg.encode()
        except UnicodeEncodeError:
            if arg.startswith("--"):
                name = arg.split("=", 1)[0]
            elif index and argv[index - 1].startswith("--"):
                name = argv[index - 1]
            else:
                name = f"argument {index + 1}"
            return f"{name}: not valid UTF-8 text, got {arg!r}; amojo requests, secrets and settings are UTF-8"
    return None


def main(argv: Sequence[str] | None = None, *, started: Callable[[], None] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); its exit status.

    ``started`` is called once the command has started — for ``serve``, when the app is built and the
    server about to listen (the entry point turns garbage collection back on there).
    """
    argv = sys.argv[1:] if argv is None else argv
    complaint = _not_text(argv)
    if complaint is not None:
        print(f"mock-amojo: error: {complaint}", file=sys.stderr)
        return 2
    parser = _parser(argv)
    for each in _parsers(parser):
        each.arguments = argv  # type: ignore[attr-defined]  # read by _suggestion
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args, started or (lambda: None))
        if started is not None:
            started()
        if args.command == "sign":
            return _sign(args)
        if args.command == "channel":
            from ._channel_command import run_channel

            return run_channel(args)
        return _check_receiver(args)
    except ConfigError as err:
        print(f"mock-amojo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
