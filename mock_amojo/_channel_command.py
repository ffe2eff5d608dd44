"""``mock-amojo channel``: read or change a channel of a fake that is running, through its control plane.

``channel show`` prints a channel (``GET /__mock__/channels/{id}``); ``channel set`` changes the
settings it is given (``PATCH /__mock__/channels/{id}``) and prints the channel as it is now. The
server checks every value, by the rules registering a channel follows; a refusal is one line.

>>> args = channel_parser(argparse.ArgumentParser()).parse_args(["set", "--webhook-url", "none", "--no-write-first"])
>>> changes(args)
{'webhook_url': None, 'write_first': False}
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import orjson

from .config import DEMO_CHANNEL_ID, ConfigError

__all__ = ["changes", "channel_parser", "run_channel"]

#: Where ``mock-amojo serve`` listens unless told otherwise.
DEFAULT_URL = "http://127.0.0.1:8080"


def channel_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The ``show`` and ``set`` commands and their flags, added to ``parser``."""
    actions = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
    show = actions.add_parser("show", help="print a channel as the fake holds it (its secret as a hint)")
    change = actions.add_parser(
        "set",
        help="change a channel's settings (the others keep their value)",
        description="Change a channel of a running fake: the settings given change from the next request on, the others "
        "keep their value. Prints the channel as it is now.",
    )
    for command in (show, change):
        command.add_argument("--url", default=DEFAULT_URL, help="where the fake runs (default: %(default)s)")
        command.add_argument(
            "--channel-id",
            default=os.environ.get("MOCK_AMOJO_CHANNEL_ID", DEMO_CHANNEL_ID),
            help="the channel (default: the start-up channel, %(default)s)",
        )
    change.add_argument(
        "--webhook-url", metavar="URL", help="where manager replies are POSTed (':scope_id' is replaced); none: send no hooks"
    )
    change.add_argument("--hook-api-version", choices=("v1", "v2"), help="webhook format of the next connects that name none")
    change.add_argument("--write-first", action=argparse.BooleanOptionalAction, default=None, help="let managers write first")
    change.add_argument(
        "--strict", action=argparse.BooleanOptionalAction, default=None, help="private channel: connect only --allowed-accounts"
    )
    change.add_argument(
        "--allowed-accounts", metavar="ID,ID", help="the accounts a private channel connects (comma-separated; '' for none)"
    )
    change.add_argument("--name", help="the channel's name (connect's default title)")
    secret = change.add_mutually_exclusive_group()
    secret.add_argument("--secret", help="a new secret, 40 lowercase hex characters")
    secret.add_argument("--rotate-secret", action="store_true", help="draw a new secret (printed this once)")
    return parser


def changes(args: argparse.Namespace) -> dict[str, Any]:
    """The PATCH body the ``set`` flags make: only the settings given."""
    body: dict[str, Any] = {}
    if args.webhook_url is not None:
        body["webhook_url"] = None if args.webhook_url.strip().lower() in ("", "none", "null") else args.webhook_url
    for name in ("hook_api_version", "write_first", "strict", "name", "secret"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.allowed_accounts is not None:
        body["allowed_accounts"] = [account.strip() for account in args.allowed_accounts.split(",") if account.strip()]
    if args.rotate_secret:
        body["secret"] = None
    return body


def run_channel(args: argparse.Namespace) -> int:
    """``channel show`` or ``channel set``: prints the channel as JSON; a refusal or an unreachable fake is a :class:`ConfigError`."""
    import httpx  # not at import: `mock-amojo serve` starts faster without it

    from .testing._client import connection_problem

    if not args.url.startswith(("http://", "https://")):
        raise ConfigError(f"--url: must start with http:// or https://, got {args.url!r}")
    path = f"/__mock__/channels/{args.channel_id}"
    if args.action == "set":
        body = changes(args)
        if not body:
            raise ConfigError("channel set: nothing to change; give at least one setting (see mock-amojo channel set --help)")
        request = httpx.Request(
            "PATCH", args.url.rstrip("/") + path, content=orjson.dumps(body), headers={"Content-Type": "application/json"}
        )
    else:
        request = httpx.Request("GET", args.url.rstrip("/") + path)
    try:
        with httpx.Client(timeout=10.0, trust_env=False) as http:
            response = http.send(request)
    except httpx.ConnectError as err:
        raise ConfigError(
            f"no fake answers at {args.url} ({connection_problem(err)}); is `mock-amojo serve` running there? (--url)"
        ) from None
    except httpx.HTTPError as err:
        raise ConfigError(f"{request.method} {request.url}: {type(err).__name__}: {err}") from None
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise ConfigError(f"{args.url} answered {response.status_code} without JSON: is it a mock-amojo fake? (--url)") from None
    if response.status_code >= 400:
        problem = answer.get("error_description", "") if isinstance(answer, dict) else ""
        hint = answer.get("hint", "") if isinstance(answer, dict) else ""
        raise ConfigError(f"{response.status_code} {problem} {hint}".strip())
    print(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode())
    return 0
